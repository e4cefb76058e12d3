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
 * The inode table in memory, and block lists: a file's extents, a
 * physical start and a length each, with an overflow chain for the ones
 * past the inode (seed 002 L639-L648, FIG 5C, the file location record).
 */

#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clmetad.h"
#include "log.h"

int64_t
now_ns(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return 0;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct minode *
inode_get(uint32_t ino)
{
	if (ino == 0 || ino > M->sb.ninodes)
		return NULL;
	return M->ino[ino];
}

void
ext_free(struct extlist *x)
{
	free(x->e);
	x->e = NULL;
	x->n = x->cap = 0;
}

static int
ext_reserve(struct extlist *x, uint32_t n)
{
	struct vol_extent *e;
	uint32_t	 cap;

	if (n <= x->cap)
		return 0;
	cap = x->cap < 8 ? 8 : x->cap;
	while (cap < n)
		cap *= 2;
	if ((e = reallocarray(x->e, cap, sizeof(*e))) == NULL)
		return -1;
	x->e = e;
	x->cap = cap;
	return 0;
}

int
ext_copy(struct extlist *to, const struct extlist *from)
{
	memset(to, 0, sizeof(*to));
	if (ext_reserve(to, from->n + 2) == -1)
		return -1;
	if (from->n > 0)
		memcpy(to->e, from->e, from->n * sizeof(*to->e));
	to->n = from->n;
	return 0;
}

/*
 * 1 with *idx the extent holding lblk, else 0 with *idx the first
 * extent after it.
 */
int
ext_lookup(const struct extlist *x, uint64_t lblk, uint32_t *idx)
{
	uint32_t	 lo = 0, hi = x->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (x->e[mid].lblk + x->e[mid].count <= lblk)
			lo = mid + 1;
		else
			hi = mid;
	}
	*idx = lo;
	return lo < x->n && x->e[lo].lblk <= lblk;
}

/* Insert e where it belongs (it overlaps nothing). */
int
ext_add(struct extlist *x, const struct vol_extent *e)
{
	uint32_t	 i;

	if (ext_reserve(x, x->n + 1) == -1)
		return -1;
	(void)ext_lookup(x, e->lblk, &i);
	memmove(&x->e[i + 1], &x->e[i], (x->n - i) * sizeof(*e));
	x->e[i] = *e;
	x->n++;
	return 0;
}

/* An extent that runs across lblk becomes two that meet there. */
int
ext_split_at(struct extlist *x, uint64_t lblk)
{
	struct vol_extent *e;
	uint32_t	 i, head;

	if (!ext_lookup(x, lblk, &i) || x->e[i].lblk == lblk)
		return 0;
	if (ext_reserve(x, x->n + 1) == -1)
		return -1;
	memmove(&x->e[i + 1], &x->e[i], (x->n - i) * sizeof(*x->e));
	x->n++;
	e = &x->e[i];
	head = (uint32_t)(lblk - e->lblk);
	e[1].lblk = lblk;
	e[1].pblk = e->pblk + head;
	e[1].count = e->count - head;
	e->count = head;
	return 0;
}

/* Neighbours contiguous in the file and on the volume, same kind: one. */
void
ext_normalize(struct extlist *x)
{
	struct vol_extent *a, *b;
	uint32_t	 i, o = 0;

	for (i = 0; i < x->n; i++) {
		if (o > 0) {
			a = &x->e[o - 1];
			b = &x->e[i];
			if (a->lblk + a->count == b->lblk &&
			    a->pblk + a->count == b->pblk &&
			    a->flags == b->flags &&
			    (uint64_t)a->count + b->count <= UINT32_MAX) {
				a->count += b->count;
				continue;
			}
		}
		x->e[o++] = x->e[i];
	}
	x->n = o;
}

uint64_t
ext_pblk(const struct minode *mi, uint64_t lblk)
{
	uint32_t	 i;

	if (!ext_lookup(&mi->x, lblk, &i))
		return 0;
	return mi->x.e[i].pblk + (lblk - mi->x.e[i].lblk);
}

uint64_t
inode_blocks(const struct minode *mi)
{
	uint64_t	 n = mi->novf;
	uint32_t	 i;

	for (i = 0; i < mi->x.n; i++)
		n += mi->x.e[i].count;
	return n;
}

void
inode_touch(struct minode *mi, int ctime_only)
{
	int64_t	 t = now_ns();

	if (!ctime_only)
		mi->d.mtime_ns = t;
	mi->d.ctime_ns = t;
}

void
inode_attr(uint32_t ino, struct fs_attr *a)
{
	const struct minode *mi = M->ino[ino];

	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->gen = mi->d.gen;
	a->type = S_ISDIR(mi->d.mode) ? 'd' : 'f';
	a->mode = mi->d.mode & 07777;
	a->uid = mi->d.uid;
	a->gid = mi->d.gid;
	a->nlink = mi->d.nlink;
	a->size = mi->d.size;
	a->blocks = inode_blocks(mi);
	a->mtime_ns = mi->d.mtime_ns;
	a->ctime_ns = mi->d.ctime_ns;
	a->atime_ns = mi->d.atime_ns;
	memcpy(a->rg, mi->d.rg, sizeof(a->rg));
}

/*
 * Give ino the extents in x (taken over): overflow blocks allocated or
 * freed to fit.  -1 (ENOSPC) with nothing changed and x still the
 * caller's.
 */
int
inode_set_extents(uint32_t ino, struct extlist *x)
{
	struct minode	*mi = M->ino[ino];
	uint64_t	 need, b, got, *ovf;
	uint32_t	 i;

	need = alloc_ovf_need(x->n);
	if (need > mi->novf) {
		if (need - mi->novf > M->bfree)
			return -1;
		if ((ovf = reallocarray(mi->ovf, need, sizeof(*ovf))) == NULL)
			return -1;
		mi->ovf = ovf;
		for (i = mi->novf; i < need; i++) {
			b = alloc_run(i > 0 ? mi->ovf[i - 1] + 1 : 0, 1, &got);
			if (got != 1)
				fatalx("free block count is wrong");
			mi->ovf[i] = b;
		}
	} else
		for (i = (uint32_t)need; i < mi->novf; i++)
			alloc_free_run(mi->ovf[i], 1);
	mi->novf = (uint32_t)need;
	ext_free(&mi->x);
	mi->x = *x;
	memset(x, 0, sizeof(*x));
	tx_inode(ino);
	for (i = 0; i < mi->novf; i++)
		(void)tx_block_new(mi->ovf[i]);
	return 0;
}

/*
 * Drop the mappings of ino from file block from on (trim = 0), or every
 * unwritten one (trim = 1: preallocation nobody committed; it reads as
 * zeros whether it is there or not, so a sparse file does not keep the
 * space a data-transfer server mapped ahead), releasing their blocks.
 * The number of extents never grows, so this cannot run out of space.
 */
int
inode_punch(uint32_t ino, uint64_t from, int trim)
{
	struct minode	*mi = M->ino[ino];
	struct extlist	 x;
	struct vol_extent *e;
	uint64_t	 end, cut;
	uint32_t	 i, o = 0, est;
	int		 changed = 0;

	if (trim)
		from = 0;
	est = (uint32_t)(mi->novf + M->sb.bitmap_blocks + 2);
	if (tx_room(est) == -1)
		return -1;
	if (ext_copy(&x, &mi->x) == -1)
		return -1;
	for (i = 0; i < x.n; i++) {
		e = &x.e[i];
		end = e->lblk + e->count;
		if (end <= from || (trim && !(e->flags & VOL_EXT_UNWRITTEN))) {
			x.e[o++] = *e;
			continue;
		}
		changed = 1;
		cut = e->lblk < from ? from - e->lblk : 0;
		alloc_release(ino, e->pblk + cut, e->count - cut);
		if (cut > 0) {
			e->count = (uint32_t)cut;
			x.e[o++] = *e;
		}
	}
	x.n = o;
	if (!changed) {
		ext_free(&x);
		return 0;
	}
	if (inode_set_extents(ino, &x) == -1)
		fatalx("fewer extents need more space");
	return 0;
}

/* Encode ino and its overflow chain into the transaction's images. */
void
inode_encode_into(uint32_t ino)
{
	struct minode	*mi = M->ino[ino];
	struct vol_inode d;
	uint64_t	 blk;
	size_t		 off;
	uint32_t	 i, cap, first, cnt;

	vol_inode_pos(&M->sb, ino, &blk, &off);
	if (mi == NULL) {
		memset(&d, 0, sizeof(d));
		d.gen = M->gen[ino];
		vol_inode_encode(&d, tx_block(blk) + off);
		return;
	}
	mi->dirty = 0;
	d = mi->d;
	d.nextents = mi->x.n;
	memset(d.ext, 0, sizeof(d.ext));
	for (i = 0; i < mi->x.n && i < VOL_EXT_INLINE; i++)
		d.ext[i] = mi->x.e[i];
	d.ext_block = mi->novf > 0 ? mi->ovf[0] : 0;
	vol_inode_encode(&d, tx_block(blk) + off);
	cap = vol_extblk_cap(M->bs);
	for (i = 0; i < mi->novf; i++) {
		first = VOL_EXT_INLINE + i * cap;
		cnt = mi->x.n - first < cap ? mi->x.n - first : cap;
		vol_extblk_encode(&M->sb, ino, &mi->x.e[first], cnt,
		    i + 1 < mi->novf ? mi->ovf[i + 1] : 0,
		    tx_block_new(mi->ovf[i]));
	}
}

/* The overflow chain of ino into mi. */
static int
load_chain(uint32_t ino, struct minode *mi, uint8_t *buf)
{
	struct vol_extent *tmp;
	uint64_t	 next = mi->d.ext_block, *ovf;
	uint32_t	 cnt, cap = vol_extblk_cap(M->bs);
	char		 e[256];

	if ((tmp = calloc(cap, sizeof(*tmp))) == NULL)
		return -1;
	while (next != 0 && mi->x.n < mi->d.nextents) {
		if ((ovf = reallocarray(mi->ovf, mi->novf + 1,
		    sizeof(*ovf))) == NULL)
			goto fail;
		mi->ovf = ovf;
		mi->ovf[mi->novf++] = next;
		if (vol_read(M->fd, &M->sb, next, buf) == -1 ||
		    vol_extblk_decode(&M->sb, ino, buf, tmp, &cnt, &next, e,
		    sizeof(e)) == -1 || cnt > mi->d.nextents - mi->x.n ||
		    ext_reserve(&mi->x, mi->x.n + cnt) == -1) {
			log_warnx("%s: inode %u: overflow block %llu: %s",
			    M->path, ino, (unsigned long long)mi->ovf[
			    mi->novf - 1], e);
			goto fail;
		}
		memcpy(&mi->x.e[mi->x.n], tmp, cnt * sizeof(*tmp));
		mi->x.n += cnt;
	}
	free(tmp);
	if (mi->x.n != mi->d.nextents) {
		log_warnx("%s: inode %u: %u of %u extents found", M->path, ino,
		    mi->x.n, mi->d.nextents);
		return -1;
	}
	return 0;
 fail:
	free(tmp);
	return -1;
}

static int
load_one(uint32_t ino, const uint8_t *p, uint8_t *buf)
{
	struct vol_inode d;
	struct minode	*mi;
	uint32_t	 i;
	char		 e[256];

	if (vol_inode_decode(&M->sb, ino, p, &d, e, sizeof(e)) == -1) {
		log_warnx("%s: inode %u: %s", M->path, ino, e);
		return -1;
	}
	if (d.mode == 0) {
		M->gen[ino] = d.gen;
		M->ifree++;
		return 0;
	}
	if ((mi = calloc(1, sizeof(*mi))) == NULL)
		return -1;
	mi->d = d;
	M->ino[ino] = mi;
	if (ext_reserve(&mi->x, d.nextents) == -1)
		return -1;
	for (i = 0; i < d.nextents && i < VOL_EXT_INLINE; i++)
		mi->x.e[mi->x.n++] = d.ext[i];
	return load_chain(ino, mi, buf);
}

/* Every inode into memory; a bad one stops us (clfs fsck repairs). */
int
inode_load(void)
{
	uint8_t		*blk, *buf;
	uint64_t	 b, cur = 0;
	size_t		 off;
	uint32_t	 ino;

	if ((M->ino = calloc((size_t)M->sb.ninodes + 1,
	    sizeof(*M->ino))) == NULL ||
	    (M->gen = calloc((size_t)M->sb.ninodes + 1,
	    sizeof(*M->gen))) == NULL ||
	    (blk = malloc(M->bs)) == NULL || (buf = malloc(M->bs)) == NULL) {
		log_warn("inode table");
		return -1;
	}
	for (ino = 1; ino <= M->sb.ninodes; ino++) {
		vol_inode_pos(&M->sb, ino, &b, &off);
		if (b != cur && vol_read(M->fd, &M->sb, b, blk) == -1) {
			log_warn("%s: inode table block %llu", M->path,
			    (unsigned long long)b);
			return -1;
		}
		cur = b;
		if (load_one(ino, blk + off, buf) == -1) {
			log_warnx("%s: run clfs fsck", M->path);
			return -1;
		}
	}
	free(blk);
	free(buf);
	if (M->ino[VOL_ROOT_INO] == NULL ||
	    !S_ISDIR(M->ino[VOL_ROOT_INO]->d.mode)) {
		log_warnx("%s: no root directory; run clfs fsck", M->path);
		return -1;
	}
	return 0;
}
