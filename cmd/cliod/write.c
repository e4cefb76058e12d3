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
 * The write pipeline: block list (map write=1, which allocates holes as
 * unwritten extents), pwrite, fdatasync, commit, answer.
 *
 * Deferred zeroing (seed 002 L305-L309, claims 107 and 121): clmetad
 * only marks new blocks allocated; cliod writes them.  A block of an
 * unwritten extent is written whole, the client's bytes with zeros
 * around them, so what a deleted file left there is never readable.
 *
 * Durability: the commit that marks blocks written goes to clmetad only
 * after the fdatasync covering their data returned, and the client hears
 * "ok" only after the commit is durable.  A cliod killed in between
 * leaves the blocks unwritten: they read as zeros, never as old data.
 *
 * Writes touching a common block of a file run one after the other, so
 * two partial writes into one new block cannot zero each other's bytes.
 */

#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cliod.h"
#include "log.h"
#include "vol.h"

static uint8_t	 zeros[VOL_BSIZE_MAX];

static void	 plan(struct req *);
static void	 finish(struct req *, int, const char *);

static uint64_t
first_block(const struct req *r)
{
	return r->off / r->v->bsize;
}

static uint64_t
last_block(const struct req *r)
{
	return (r->off + (r->len > 0 ? r->len - 1 : 0)) / r->v->bsize;
}

static int
overlaps(const struct req *a, const struct req *b)
{
	return first_block(a) <= last_block(b) &&
	    first_block(b) <= last_block(a);
}

/* Must r wait behind a write in progress or one that waits before it? */
static int
blocked(const struct req *r)
{
	const struct req *o;

	TAILQ_FOREACH(o, &r->in->writes, wentry)
		if (overlaps(o, r))
			return 1;
	TAILQ_FOREACH(o, &r->in->wwait, wentry) {
		if (o == r)
			break;
		if (overlaps(o, r))
			return 1;
	}
	return 0;
}

void
write_start(struct req *r)
{
	if (r->len == 0) {
		finish(r, 0, NULL);
		return;
	}
	if ((r->in = mc_get(r->v, r->ino, r->gen, r->token[0] != '\0')) == NULL) {
		req_fail(r, ENOMEM, "write: too many files in use");
		return;
	}
	if (blocked(r)) {
		TAILQ_INSERT_TAIL(&r->in->wwait, r, wentry);
		return;
	}
	TAILQ_INSERT_TAIL(&r->in->writes, r, wentry);
	plan(r);
}

/* r is over: let the writes that waited for its blocks go. */
static void
unblock(struct inode *in, struct req *r)
{
	struct req	*o, *next;

	TAILQ_REMOVE(&in->writes, r, wentry);
	TAILQ_FOREACH_SAFE(o, &in->wwait, wentry, next) {
		if (blocked(o))
			continue;
		TAILQ_REMOVE(&in->wwait, o, wentry);
		TAILQ_INSERT_TAIL(&in->writes, o, wentry);
		plan(o);
	}
}

static void
finish(struct req *r, int e, const char *why)
{
	struct inode	*in = r->in;
	struct frame	 f;

	if (in != NULL) {
		in->refs++;	/* r goes away below */
		unblock(in, r);
	}
	if (e != 0) {
		req_fail(r, e, "write: inode %u: %s", r->ino,
		    why != NULL ? why : strerror(e));
	} else {
		r->v->st.writes++;
		r->v->st.wbytes += r->len;
		frame_init(&f, "ok", r->txid);
		if (r->size > 0)
			frame_add(&f, "size", "%" PRIu64, r->size);
		req_answer(r, &f);
	}
	if (in != NULL)
		mc_put(in);
}

static void
committed(void *arg, int err, const struct frame *f)
{
	struct req	*r = arg;
	struct fs_attr	 a;

	if (err == 0)
		err = fs_answer_errno(f);
	if (err == ESTALE && ++r->tries < WRITE_TRIES) {
		/* The lease was recalled or ran out: map again, write again. */
		mc_drop(r->in);
		plan(r);
		return;
	}
	if (err != 0) {
		finish(r, err, f != NULL && frame_get(f, "reason") != NULL ?
		    frame_get(f, "reason") : NULL);
		return;
	}
	r->v->st.commits++;
	r->size = fs_attr_get(f, &a) == 0 ? a.size : r->off + r->len;
	mc_written(r->in, r->runs, r->nruns, r->size);
	finish(r, 0, NULL);
}

/* The data is durable: now the metadata may say so. */
static void
synced(struct syncw *w, int err)
{
	struct req	*r = w->arg;
	struct frame	 f;
	struct buf	 b;
	size_t		 i;

	if (err != 0) {
		finish(r, EIO, "fdatasync failed");
		return;
	}
	buf_init(&b, MSG_PAYLOAD_MAX);
	for (i = 0; i < r->nruns; i++)
		if (fs_extent_put(&b, &r->runs[i]) == -1) {
			buf_free(&b);
			finish(r, EIO, "commit too large");
			return;
		}
	frame_init(&f, "commit", 0);
	frame_add(&f, "fs", "%s", r->v->name);
	frame_add(&f, "ino", "%u", r->ino);
	frame_add(&f, "gen", "%u", r->gen);
	frame_add(&f, "lease", "%" PRIu64, r->lease);
	frame_add(&f, "size", "%" PRIu64, r->off + r->len);
	if (r->token[0] != '\0')
		frame_add(&f, "token", "%s", r->token);
	req_add_ids(r, &f);
	frame_payload(&f, buf_ptr(&b), buf_avail(&b));
	if (f.err || meta_call(r->v, &f, committed, r) == -1)
		finish(r, ENOMEM, "cannot send the commit");
	buf_free(&b);
}

static void
written(struct iojob *j)
{
	struct req	*r = io_arg(j);

	r->v->writing--;
	if (io_error(j) != 0 && r->err == 0)
		r->err = io_error(j);
	if (--r->pending > 0) {
		io_sync_kick(r->v);
		return;
	}
	if (r->err != 0) {
		io_sync_kick(r->v);
		log_warnx("%s: write of inode %u: %s", r->v->name, r->ino,
		    strerror(r->err));
		finish(r, EIO, strerror(r->err));
		return;
	}
	r->sw.done = synced;
	r->sw.arg = r;
	io_sync(r->v, &r->sw);
}

/* The extent holding file offset pos, or NULL (a hole). */
static const struct fs_extent *
lookup(const struct inode *in, uint64_t pos)
{
	size_t	 i;

	for (i = 0; i < in->next; i++)
		if (in->ext[i].off <= pos && pos < in->ext[i].off +
		    in->ext[i].len)
			return &in->ext[i];
	return NULL;
}

struct seg {
	struct iovec	 iov[3];
	int		 cnt;
	uint64_t	 dev;
};

/* One extent's part of the write: -1 if it needs more runs than fit. */
static int
segment(struct req *r, const struct fs_extent *e, uint64_t pos,
    uint64_t end, struct seg *s)
{
	uint64_t	 bs = r->v->bsize, b0, b1;

	s->cnt = 0;
	if (e->written) {
		s->iov[s->cnt].iov_base = r->data + (pos - r->off);
		s->iov[s->cnt++].iov_len = end - pos;
		s->dev = e->dev + (pos - e->off);
		return 0;
	}
	/* Whole blocks: zeros where the client wrote nothing. */
	b0 = pos / bs * bs;
	b1 = (end + bs - 1) / bs * bs;
	if (b0 < e->off)
		b0 = e->off;
	if (b1 > e->off + e->len)
		b1 = e->off + e->len;
	if (r->nruns == RUNS_MAX)
		return -1;
	if (pos > b0) {
		s->iov[s->cnt].iov_base = zeros;
		s->iov[s->cnt++].iov_len = pos - b0;
	}
	s->iov[s->cnt].iov_base = r->data + (pos - r->off);
	s->iov[s->cnt++].iov_len = end - pos;
	if (b1 > end) {
		s->iov[s->cnt].iov_base = zeros;
		s->iov[s->cnt++].iov_len = b1 - end;
	}
	s->dev = e->dev + (b0 - e->off);
	r->runs[r->nruns++] = (struct fs_extent){ b0, b1 - b0, s->dev, 0 };
	return 0;
}

/*
 * Cut the write along the cached block list: 1 with the segments, 0 if
 * part of it is a hole (map again), -1 if it is too fragmented.
 */
static int
cut(struct req *r, struct seg *segs, int *nsegs)
{
	const struct fs_extent *e;
	uint64_t	 pos = r->off, end = r->off + r->len, segend;

	*nsegs = 0;
	r->nruns = 0;
	while (pos < end) {
		if ((e = lookup(r->in, pos)) == NULL)
			return 0;
		segend = e->off + e->len < end ? e->off + e->len : end;
		if (*nsegs == SEGS_MAX || segment(r, e, pos, segend,
		    &segs[*nsegs]) == -1)
			return -1;
		(*nsegs)++;
		pos = segend;
	}
	return 1;
}

static void
map_again(struct req *r)
{
	uint64_t	 bs = r->v->bsize, off, len, ahead;

	/* Woken by another request's map: no count, just look again. */
	if (r->mapper && r->maps > WRITE_TRIES) {
		finish(r, EIO, "no block list covers the write");
		return;
	}
	/*
	 * Map ahead, so that sequential writes need no map of their own:
	 * as far again as the file already reaches, up to WRITE_PREALLOC
	 * (XFS's speculative preallocation grows with the file the same
	 * way).  A small file then takes no more than it writes, and many
	 * of them at once do not fill the volume with preallocation until
	 * their leases go back.
	 */
	off = r->off / bs * bs;
	len = r->off + r->len - off;
	ahead = r->off < WRITE_PREALLOC ? r->off : WRITE_PREALLOC;
	if (!r->noahead && len < ahead)
		len = ahead;
	len = (len + bs - 1) / bs * bs;
	mc_map(r->in, r, off, len, 1);
}

static void
plan(struct req *r)
{
	struct seg	 segs[SEGS_MAX];
	int		 i, n, rc;

	if (!mc_covers(r->in, r->off, r->len, 1) ||
	    (rc = cut(r, segs, &n)) == 0) {
		map_again(r);
		return;
	}
	if (rc == -1) {
		finish(r, EIO, "the write spans too many extents");
		return;
	}
	if (r->maps == 0)
		r->v->st.maphits++;
	/*
	 * A managed region: the write waits for the DM application, out of
	 * the file's writes (it may recall the file and write it first).
	 */
	if (dm_region(r)) {
		unblock(r->in, r);
		mc_put(r->in);
		r->in = NULL;
		r->maps = r->mapper = 0;
		dm_region_wait(r, write_start);
		return;
	}
	r->lease = r->in->lease;
	r->pending = n;
	r->err = 0;
	for (i = 0; i < n; i++) {
		if (io_pwritev(r->v->fd, segs[i].iov, segs[i].cnt,
		    (off_t)segs[i].dev, written, r) == -1) {
			/* The jobs already queued finish first. */
			r->err = errno;
			r->pending -= n - i - 1;
			if (--r->pending == 0)
				finish(r, EIO, "cannot queue the write");
			return;
		}
		r->v->writing++;
	}
}

/* The map r waited for came (err) or another's did: look again. */
void
write_ready(struct req *r, int err)
{
	if (err == ENOSPC && !r->noahead) {
		/* The map ahead may not fit where the write itself does. */
		r->noahead = 1;
		r->mapper = 0;
		map_again(r);
		return;
	}
	if (err != 0) {
		finish(r, err, NULL);
		return;
	}
	plan(r);
}
