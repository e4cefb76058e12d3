/*
 * Copyright (c) 2026 The cl developers
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

/*
 * Cached block lists, one per file (seed 002 L740: a data-transfer
 * server with the block list cached does not ask the admin again;
 * L426-L427: the cache lives as long as the lease, and a recall, the
 * lock break, ends it).  A list is used only until half its lease is
 * left, so a write never starts into blocks clmetad may have taken back.
 * One map per file is in flight at a time; requests that need it wait.
 */

#include <sys/types.h>
#include <sys/tree.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cliod.h"
#include "log.h"

#define INODES_MAX	65536		/* files with state kept */
#define IDLE_MS		1000		/* ms: then a write lease goes back */
#define MAP_TRUST_MAX	256		/* extents: an answer may be cut */

RB_HEAD(inotree, inode);

static int
ino_cmp(struct inode *a, struct inode *b)
{
	if (a->v != b->v)
		return a->v < b->v ? -1 : 1;
	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	return a->dm - b->dm;
}

RB_GENERATE_INTERNAL(inotree, inode, entry, ino_cmp,
    __attribute__((__unused__)) static)

static struct inotree	 inodes = RB_INITIALIZER(&inodes);
static int		 ninodes;
static struct timer	 sweept;

int
mc_count(void)
{
	return ninodes;
}

static void
ino_free(struct inode *in)
{
	RB_REMOVE(inotree, &inodes, in);
	ninodes--;
	free(in->ext);
	free(in);
}

static void	 sweep(void *);

/*
 * The state of a file, held until mc_put.  A DM application's invisible
 * I/O (dm: it has a token) keeps a list of its own, leased under its
 * token: a user's map, refused while the token holds an access right,
 * must never be the one the DM application waits for.
 */
struct inode *
mc_get(struct fsvol *v, uint32_t ino, uint32_t gen, int dm)
{
	struct inode	 k, *in;

	k.v = v;
	k.ino = ino;
	k.dm = dm;
	if ((in = RB_FIND(inotree, &inodes, &k)) != NULL) {
		/* Another file under the same number: forget the old list. */
		if (in->gen != gen)
			mc_drop(in);
		in->gen = gen;
		in->refs++;
		return in;
	}
	if (ninodes >= INODES_MAX || (in = calloc(1, sizeof(*in))) == NULL)
		return NULL;
	in->v = v;
	in->ino = ino;
	in->gen = gen;
	in->dm = dm;
	TAILQ_INIT(&in->mapwait);
	TAILQ_INIT(&in->writes);
	TAILQ_INIT(&in->wwait);
	in->refs = 1;
	RB_INSERT(inotree, &inodes, in);
	ninodes++;
	if (!sweept.armed) {
		timer_setup(&sweept, sweep, NULL);
		timer_in(&sweept, IDLE_MS);
	}
	return in;
}

static void	 release(struct inode *);

void
mc_put(struct inode *in)
{
	in->refs--;
	if (in->refs == 0 && in->giveback && !in->mapping &&
	    TAILQ_EMPTY(&in->writes))
		release(in);
	if (in->refs == 0 && !in->valid && !in->mapping)
		ino_free(in);
}

void
mc_drop(struct inode *in)
{
	in->valid = 0;
	in->wlease = 0;
	in->next = 0;
}

static void
nop(void *arg, int err, const struct frame *f)
{
	(void)arg;
	(void)err;
	(void)f;
}

/* Give a write lease back: clmetad trims what was preallocated. */
static void
release(struct inode *in)
{
	struct frame	 f;

	frame_init(&f, "release", 0);
	frame_add(&f, "fs", "%s", in->v->name);
	frame_add(&f, "lease", "%" PRIu64, in->lease);
	if (!f.err && meta_call(in->v, &f, nop, NULL) == -1)
		log_warnx("%s: release of lease %" PRIu64 ": no memory",
		    in->v->name, in->lease);
	mc_drop(in);
	in->giveback = 0;
	in->lease = 0;
}

/* Idle files lose their lists when the lease runs out; write leases go back. */
static void
sweep(void *arg)
{
	struct inode	*in, *next;
	uint64_t	 now = loop_now();

	(void)arg;
	RB_FOREACH_SAFE(in, inotree, &inodes, next) {
		if (in->refs > 0 || in->mapping)
			continue;
		if (in->valid && in->wlease && now < in->expires)
			release(in);
		if (!in->valid || now >= in->expires)
			ino_free(in);
	}
	if (ninodes > 0)
		timer_in(&sweept, IDLE_MS);
}

/* At exit: every write lease goes back. */
void
mc_release_all(void)
{
	struct inode	*in;

	RB_FOREACH(in, inotree, &inodes)
		if (in->valid && in->wlease)
			release(in);
}

/*
 * recall from clmetad (seed 002 L426-L427: the lock break).  The lease
 * goes back as soon as no request uses the list, not when it runs out:
 * a DM access right (clmetad right.c) waits for it.
 */
void
mc_recall(struct fsvol *v, uint32_t ino)
{
	struct inode	 k, *in;

	k.v = v;
	k.ino = ino;
	for (k.dm = 0; k.dm < 2; k.dm++) {
		if ((in = RB_FIND(inotree, &inodes, &k)) == NULL)
			continue;
		log_debug("%s: recall of inode %u", v->name, ino);
		if (in->lease == 0)
			continue;
		if (in->refs == 0 && !in->mapping && TAILQ_EMPTY(&in->writes))
			release(in);
		else {
			mc_drop(in);
			in->giveback = 1;
		}
	}
}

/* Does the cached list cover [off, off + len) (for a write: with a write lease)? */
int
mc_covers(const struct inode *in, uint64_t off, uint64_t len, int write)
{
	if (!in->valid || loop_now() >= in->expires || (write && !in->wlease))
		return 0;
	return in->mstart <= off && off + len <= in->mend;
}

static int
store(struct inode *in, const struct frame *f, uint64_t off, uint64_t len,
    int write)
{
	struct fs_extent *ext;
	uint64_t	 lease, exp, size, bsize;
	size_t		 n;

	if (frame_getu64(f, "lease", &lease) == -1 ||
	    frame_getu64(f, "expiry_ms", &exp) == -1 ||
	    frame_getu64(f, "size", &size) == -1)
		return -1;
	if (frame_getu64(f, "bsize", &bsize) == 0 && bsize != in->v->bsize)
		log_warnx("%s: map bsize %" PRIu64 " but the volume has %u",
		    in->v->name, bsize, in->v->bsize);
	if ((ext = calloc(FS_MAP_EXTENTS_MAX, sizeof(*ext))) == NULL)
		return -1;
	if (fs_extents_parse(f->payload, f->len, ext, FS_MAP_EXTENTS_MAX,
	    &n) == -1) {
		free(ext);
		return -1;
	}
	free(in->ext);
	in->ext = ext;
	in->next = n;
	in->extcap = FS_MAP_EXTENTS_MAX;
	in->lease = lease;
	/* A lease counted from now, half of it kept as a margin. */
	if (exp > (uint64_t)conf.lease_ms)
		exp = (uint64_t)conf.lease_ms;
	in->expires = loop_now() + exp / 2;
	in->size = size;
	in->wlease = write;
	in->mstart = off;
	in->mend = off + len;
	if (frame_get(f, "regions") == NULL)
		memset(in->rg, 0, sizeof(in->rg));
	else if (fs_regions_parse(frame_get(f, "regions"), in->rg) == -1) {
		free(in->ext);
		in->ext = NULL;
		in->next = 0;
		return -1;
	}
	/*
	 * A long answer may have been cut short (clmetad keeps it under the
	 * router's payload bound): trust it only up to its last extent.
	 */
	if (n >= MAP_TRUST_MAX && ext[n - 1].off + ext[n - 1].len <
	    in->mend)
		in->mend = ext[n - 1].off + ext[n - 1].len;
	in->valid = 1;
	return 0;
}

struct mapping {
	struct inode	*in;
	uint64_t	 off, len;
	int		 write;
};

static void
wake(struct inode *in, int err)
{
	struct reqq	 q;
	struct req	*r;

	TAILQ_INIT(&q);
	TAILQ_CONCAT(&q, &in->mapwait, entry);
	while ((r = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, r, entry);
		if (strcmp(r->op, "write") == 0)
			write_ready(r, err);
		else
			read_ready(r, err);
	}
}

static void
mapped(void *arg, int err, const struct frame *f)
{
	struct mapping	*mp = arg;
	struct inode	*in = mp->in;

	in->mapping = 0;
	in->v->st.maps++;
	if (err == 0 && (err = fs_answer_errno(f)) == 0 &&
	    store(in, f, mp->off, mp->len, mp->write) == -1) {
		log_warnx("%s: inode %u: a map answer I cannot read",
		    in->v->name, in->ino);
		err = EPROTO;
	}
	if (err != 0)
		mc_drop(in);
	free(mp);
	in->refs++;
	wake(in, err);
	mc_put(in);
}

/*
 * Ask for the block list of [off, off + len) (write: allocating holes)
 * for r, which is called back through write_ready or read_ready.  A map
 * already in flight is waited for; the caller then looks again.
 */
void
mc_map(struct inode *in, struct req *r, uint64_t off, uint64_t len,
    int write)
{
	struct mapping	*mp;
	struct frame	 f;

	TAILQ_INSERT_TAIL(&in->mapwait, r, entry);
	r->mapper = !in->mapping;
	if (in->mapping)
		return;
	r->maps++;
	if ((mp = calloc(1, sizeof(*mp))) == NULL)
		goto fail;
	mp->in = in;
	mp->off = off;
	mp->len = len;
	mp->write = write;
	frame_init(&f, "map", 0);
	frame_add(&f, "fs", "%s", in->v->name);
	frame_add(&f, "ino", "%u", in->ino);
	frame_add(&f, "gen", "%u", in->gen);
	frame_add(&f, "off", "%" PRIu64, off);
	frame_add(&f, "count", "%" PRIu64, len);
	if (write)
		frame_add(&f, "write", "1");
	if (in->dm && r->token[0] != '\0')
		frame_add(&f, "token", "%s", r->token);
	req_add_ids(r, &f);
	if (f.err || meta_call(in->v, &f, mapped, mp) == -1) {
		free(mp);
		goto fail;
	}
	in->mapping = 1;
	return;
fail:
	TAILQ_REMOVE(&in->mapwait, r, entry);
	if (write)
		write_ready(r, ENOMEM);
	else
		read_ready(r, ENOMEM);
}

/* After a commit: the runs are written now, and the file is this big. */
void
mc_written(struct inode *in, const struct fs_extent *runs, size_t nruns,
    uint64_t size)
{
	struct fs_extent *e, piece[3];
	size_t		 i, j, k, np;
	uint64_t	 s, t;

	if (!in->valid)
		return;
	if (size > in->size)
		in->size = size;
	for (i = 0; i < nruns; i++) {
		for (j = 0; j < in->next; j++) {
			e = &in->ext[j];
			if (e->written || runs[i].off >= e->off + e->len ||
			    runs[i].off + runs[i].len <= e->off)
				continue;
			s = runs[i].off > e->off ? runs[i].off : e->off;
			t = runs[i].off + runs[i].len < e->off + e->len ?
			    runs[i].off + runs[i].len : e->off + e->len;
			np = 0;
			if (s > e->off)
				piece[np++] = (struct fs_extent){ e->off,
				    s - e->off, e->dev, 0 };
			piece[np++] = (struct fs_extent){ s, t - s,
			    e->dev + (s - e->off), 1 };
			if (t < e->off + e->len)
				piece[np++] = (struct fs_extent){ t,
				    e->off + e->len - t, e->dev + (t - e->off),
				    0 };
			if (in->next + np - 1 > in->extcap) {
				/* No room to split: ask again next time. */
				mc_drop(in);
				return;
			}
			memmove(&in->ext[j + np], &in->ext[j + 1],
			    (in->next - j - 1) * sizeof(*e));
			for (k = 0; k < np; k++)
				in->ext[j + k] = piece[k];
			in->next += np - 1;
			j += np - 1;
		}
	}
}
