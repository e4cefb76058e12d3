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
 * Directories (seed 002 L639-L648: directory records on the volume, kept
 * by the admin server alone, L303).  On the volume a directory's blocks
 * hold fixed-size entries; in memory every entry is in one hash table
 * keyed by (directory, name), so a lookup costs the same in a directory
 * of ten entries or of a million, and each directory keeps its slots in
 * order for readdir and for finding a free one.
 */

#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>

#include "clmetad.h"
#include "log.h"

#define HASH_MIN	4096		/* buckets at first */

static uint64_t
hash(uint32_t dir, const char *name, size_t len)
{
	uint64_t	 h = 1469598103934665603ULL ^ dir;
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static int
grow_hash(void)
{
	struct dent	**n, *d, *next;
	size_t		 size, i, h;

	size = M->hsize == 0 ? HASH_MIN : M->hsize * 2;
	if ((n = calloc(size, sizeof(*n))) == NULL)
		return -1;
	for (i = 0; i < M->hsize; i++)
		for (d = M->htab[i]; d != NULL; d = next) {
			next = d->hnext;
			h = hash(d->dir, d->name, d->namelen) & (size - 1);
			d->hnext = n[h];
			n[h] = d;
		}
	free(M->htab);
	M->htab = n;
	M->hsize = size;
	return 0;
}

struct dent *
dir_lookup(uint32_t dir, const char *name, size_t len)
{
	struct dent	*d;

	if (M->hsize == 0)
		return NULL;
	for (d = M->htab[hash(dir, name, len) & (M->hsize - 1)]; d != NULL;
	    d = d->hnext)
		if (d->dir == dir && d->namelen == len &&
		    memcmp(d->name, name, len) == 0)
			return d;
	return NULL;
}

static int
index_add(uint32_t dir, const char *name, size_t len, uint32_t ino,
    uint8_t type, uint32_t pos)
{
	struct dir	*dp = M->ino[dir]->dir;
	struct dent	*d;
	size_t		 h;

	if (M->hcount >= M->hsize && grow_hash() == -1)
		return -1;
	if ((d = malloc(sizeof(*d) + len + 1)) == NULL)
		return -1;
	d->dir = dir;
	d->ino = ino;
	d->pos = pos;
	d->type = type;
	d->namelen = (uint8_t)len;
	memcpy(d->name, name, len);
	d->name[len] = '\0';
	h = hash(dir, name, len) & (M->hsize - 1);
	d->hnext = M->htab[h];
	M->htab[h] = d;
	M->hcount++;
	dp->slot[pos] = d;
	dp->nent++;
	return 0;
}

static int
grow_slots(struct dir *dp, uint32_t nslot)
{
	struct dent	**s;

	if (nslot <= dp->nslot)
		return 0;
	if ((s = reallocarray(dp->slot, nslot, sizeof(*s))) == NULL)
		return -1;
	memset(s + dp->nslot, 0, (nslot - dp->nslot) * sizeof(*s));
	dp->slot = s;
	dp->nslot = nslot;
	return 0;
}

/* An empty index for directory ino, slots for its mapped blocks. */
int
dir_init(uint32_t ino)
{
	struct minode	*mi = M->ino[ino];
	uint64_t	 nblk = 0;

	if ((mi->dir = calloc(1, sizeof(*mi->dir))) == NULL)
		return -1;
	if (mi->x.n > 0)
		nblk = mi->x.e[mi->x.n - 1].lblk + mi->x.e[mi->x.n - 1].count;
	if (nblk > UINT32_MAX / M->per_dirblk)
		return -1;
	return grow_slots(mi->dir, (uint32_t)nblk * M->per_dirblk);
}

void
dir_free(uint32_t ino)
{
	struct minode	*mi = M->ino[ino];

	if (mi == NULL || mi->dir == NULL)
		return;
	free(mi->dir->slot);
	free(mi->dir);
	mi->dir = NULL;
}

/* The entries of one block of directory ino. */
static int
load_block(uint32_t ino, uint64_t lblk, uint64_t pblk, uint8_t *buf)
{
	struct vol_dirent de;
	struct minode	*t;
	uint32_t	 s, pos;
	char		 e[256];

	if (vol_read(M->fd, &M->sb, pblk, buf) == -1) {
		log_warn("%s: directory %u block %llu", M->path, ino,
		    (unsigned long long)pblk);
		return -1;
	}
	for (s = 0; s < M->per_dirblk; s++) {
		if (vol_dirent_decode(&M->sb, buf + s * VOL_DIRENT_SIZE, &de,
		    e, sizeof(e)) == -1) {
			log_warnx("%s: directory %u: %s; entry ignored",
			    M->path, ino, e);
			continue;
		}
		if (de.ino == 0)
			continue;
		pos = (uint32_t)lblk * M->per_dirblk + s;
		if ((t = inode_get(de.ino)) == NULL ||
		    (de.type == VOL_DT_DIR) != S_ISDIR(t->d.mode) ||
		    dir_lookup(ino, de.name, de.namelen) != NULL) {
			log_warnx("%s: directory %u: bad entry %s -> %u; "
			    "ignored (run clfs fsck)", M->path, ino, de.name,
			    de.ino);
			continue;
		}
		if (index_add(ino, de.name, de.namelen, de.ino, de.type,
		    pos) == -1)
			return -1;
	}
	return 0;
}

int
dir_load(void)
{
	struct minode	*mi;
	struct vol_extent *x;
	uint8_t		*buf;
	uint32_t	 ino, i, k;

	M->per_dirblk = M->bs / VOL_DIRENT_SIZE;
	if (grow_hash() == -1 || (buf = malloc(M->bs)) == NULL)
		return -1;
	for (ino = 1; ino <= M->sb.ninodes; ino++)
		if ((mi = M->ino[ino]) != NULL && S_ISDIR(mi->d.mode) &&
		    dir_init(ino) == -1)
			goto fail;
	for (ino = 1; ino <= M->sb.ninodes; ino++) {
		if ((mi = M->ino[ino]) == NULL || !S_ISDIR(mi->d.mode))
			continue;
		for (i = 0; i < mi->x.n; i++) {
			x = &mi->x.e[i];
			for (k = 0; k < x->count; k++)
				if (load_block(ino, x->lblk + k, x->pblk + k,
				    buf) == -1)
					goto fail;
		}
	}
	free(buf);
	return 0;
 fail:
	free(buf);
	log_warnx("%s: cannot load the directories", M->path);
	return -1;
}

/* Slot pos of dir: its block, 0 if that block is a hole. */
static uint64_t
slot_pblk(const struct minode *mi, uint32_t pos)
{
	return ext_pblk(mi, pos / M->per_dirblk);
}

static int
free_slot(uint32_t dir, uint32_t *pos)
{
	struct minode	*mi = M->ino[dir];
	struct dir	*dp = mi->dir;
	uint32_t	 p;

	for (p = dp->hint; p < dp->nslot; p++)
		if (dp->slot[p] == NULL && slot_pblk(mi, p) != 0) {
			dp->hint = p;
			*pos = p;
			return 1;
		}
	dp->hint = dp->nslot;
	return 0;
}

/*
 * Make sure directory dir has a free slot, adding a block if need be:
 * -1 (ENOSPC or ENOMEM) with nothing changed.
 */
int
dir_need_block(uint32_t dir)
{
	struct minode	*mi = M->ino[dir];
	struct extlist	 x;
	struct vol_extent e;
	uint64_t	 lblk, got, goal;
	uint32_t	 pos;

	if (free_slot(dir, &pos))
		return 0;
	lblk = mi->dir->nslot / M->per_dirblk;
	if ((uint64_t)(lblk + 1) * M->per_dirblk > UINT32_MAX)
		return -1;
	if (M->bfree < 1 + alloc_ovf_need(mi->x.n + 1))
		return -1;
	goal = mi->x.n > 0 ? mi->x.e[mi->x.n - 1].pblk +
	    mi->x.e[mi->x.n - 1].count : 0;
	memset(&e, 0, sizeof(e));
	e.lblk = lblk;
	e.count = 1;
	if ((e.pblk = alloc_run(goal, 1, &got)) == 0 || got != 1)
		return -1;
	if (ext_copy(&x, &mi->x) == -1 || ext_add(&x, &e) == -1 ||
	    grow_slots(mi->dir, (uint32_t)(lblk + 1) * M->per_dirblk) == -1) {
		ext_free(&x);
		alloc_unfree_run(e.pblk, 1);
		return -1;
	}
	ext_normalize(&x);
	if (inode_set_extents(dir, &x) == -1) {
		ext_free(&x);
		alloc_unfree_run(e.pblk, 1);
		return -1;
	}
	(void)tx_block_new(e.pblk);
	mi->d.size = (lblk + 1) * M->bs;
	return 0;
}

static void
write_slot(uint32_t dir, uint32_t pos, const struct vol_dirent *de)
{
	uint8_t	*img;

	img = tx_block(slot_pblk(M->ino[dir], pos));
	vol_dirent_encode(de, img + (pos % M->per_dirblk) * VOL_DIRENT_SIZE);
}

/* Add name -> ino to dir; dir_need_block() made room.  -1: ENOMEM. */
int
dir_add(uint32_t dir, const char *name, size_t len, uint32_t ino,
    uint8_t type)
{
	struct vol_dirent de;
	uint32_t	 pos;

	if (!free_slot(dir, &pos))
		fatalx("directory %u: no free slot after dir_need_block", dir);
	if (index_add(dir, name, len, ino, type, pos) == -1)
		return -1;
	memset(&de, 0, sizeof(de));
	de.ino = ino;
	de.type = type;
	de.namelen = (uint8_t)len;
	memcpy(de.name, name, len);
	write_slot(dir, pos, &de);
	M->ino[dir]->dir->hint = pos + 1;
	return 0;
}

void
dir_remove(struct dent *d)
{
	struct dir	*dp = M->ino[d->dir]->dir;
	struct dent	**pp;
	struct vol_dirent de;

	memset(&de, 0, sizeof(de));
	write_slot(d->dir, d->pos, &de);
	dp->slot[d->pos] = NULL;
	dp->nent--;
	if (d->pos < dp->hint)
		dp->hint = d->pos;
	for (pp = &M->htab[hash(d->dir, d->name, d->namelen) &
	    (M->hsize - 1)]; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == d) {
			*pp = d->hnext;
			break;
		}
	M->hcount--;
	free(d);
}
