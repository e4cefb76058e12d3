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
 * Free space: the block bitmap held in memory whole, runs of blocks near
 * a goal, inode numbers, and the quarantine of blocks freed while a
 * cliod may still write them.  The admin server owns free space (seed
 * 002 L303, L305: "if the request needs additional free space, allocate
 * it"); zeroing new blocks is deferred to the data mover (L305-L309).
 */

#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>

#include "clmetad.h"
#include "log.h"

int
alloc_load(void)
{
	uint64_t	 b, i;

	M->bmbytes = (size_t)(M->sb.bitmap_blocks * M->bs);
	if ((M->bitmap = malloc(M->bmbytes)) == NULL ||
	    (M->bmdirty = calloc(M->sb.bitmap_blocks, 1)) == NULL) {
		log_warn("bitmap");
		return -1;
	}
	for (i = 0; i < M->sb.bitmap_blocks; i++)
		if (vol_read(M->fd, &M->sb, M->sb.bitmap_start + i,
		    M->bitmap + i * M->bs) == -1) {
			log_warn("%s: bitmap block %llu", M->path,
			    (unsigned long long)i);
			return -1;
		}
	/* Metadata is always in use, whatever the bitmap says. */
	for (b = 0; b < M->sb.data_start; b++)
		vol_bit_set(M->bitmap, b);
	M->bfree = 0;
	for (b = M->sb.data_start; b < M->sb.nblocks; b++)
		if (!vol_bit_get(M->bitmap, b))
			M->bfree++;
	M->bhint = M->sb.data_start;
	return 0;
}

int
alloc_block_used(uint64_t b)
{
	return vol_bit_get(M->bitmap, b);
}

static void
set_used(uint64_t b)
{
	vol_bit_set(M->bitmap, b);
	tx_bitmap(b);
	M->bfree--;
}

/* The first free block at or after b, else nblocks. */
static uint64_t
next_free(uint64_t b)
{
	while (b < M->sb.nblocks) {
		if ((b & 7) == 0 && b + 8 <= M->sb.nblocks &&
		    M->bitmap[b / 8] == 0xff) {
			b += 8;
			continue;
		}
		if (!vol_bit_get(M->bitmap, b))
			return b;
		b++;
	}
	return M->sb.nblocks;
}

/*
 * Up to want free blocks in one run, the first free one at or after goal
 * (wrapping around), marked used: returns its first block and the count
 * in *got, or 0 when nothing is free.
 */
uint64_t
alloc_run(uint64_t goal, uint64_t want, uint64_t *got)
{
	uint64_t	 b, n;

	*got = 0;
	if (M->bfree == 0 || want == 0)
		return 0;
	if (goal < M->sb.data_start || goal >= M->sb.nblocks)
		goal = M->bhint;
	if ((b = next_free(goal)) == M->sb.nblocks &&
	    (b = next_free(M->sb.data_start)) == M->sb.nblocks)
		return 0;
	for (n = 0; n < want && b + n < M->sb.nblocks &&
	    !vol_bit_get(M->bitmap, b + n); n++)
		set_used(b + n);
	M->bhint = b + n;
	*got = n;
	return b;
}

void
alloc_free_run(uint64_t b, uint64_t n)
{
	uint64_t	 i;

	for (i = 0; i < n; i++) {
		if (b + i < M->sb.data_start || b + i >= M->sb.nblocks ||
		    !vol_bit_get(M->bitmap, b + i))
			continue;
		vol_bit_clr(M->bitmap, b + i);
		tx_bitmap(b + i);
		M->bfree++;
	}
}

/* Undo alloc_run within the same operation (ENOSPC on a later step). */
void
alloc_unfree_run(uint64_t b, uint64_t n)
{
	alloc_free_run(b, n);
}

/*
 * Blocks that leave ino: free now, or, while a lease on ino is out,
 * keep them in use until the last one goes, so a cliod still writing
 * never lands in a block given to another file.  With the quarantine
 * full they are freed at once (logged).
 */
void
alloc_release(uint32_t ino, uint64_t b, uint64_t n)
{
	struct quar	*q;

	if (lease_count(ino, 0) == 0 || n == 0 || n > UINT32_MAX) {
		alloc_free_run(b, n);
		return;
	}
	if (M->quar == NULL &&
	    (M->quar = calloc(META_QUAR_MAX, sizeof(*M->quar))) == NULL)
		fatal("quarantine");
	if (M->nquar == META_QUAR_MAX) {
		log_warnx("quarantine full: blocks %llu+%llu of inode %u "
		    "freed while leased", (unsigned long long)b,
		    (unsigned long long)n, ino);
		alloc_free_run(b, n);
		return;
	}
	q = &M->quar[M->nquar++];
	q->ino = ino;
	q->pblk = b;
	q->count = (uint32_t)n;
}

/* No lease left on ino (or it is gone): free its quarantined blocks. */
void
alloc_quar_drain(uint32_t ino)
{
	size_t	 i;

	for (i = 0; i < M->nquar; ) {
		if (M->quar[i].ino != ino) {
			i++;
			continue;
		}
		if (tx_room((uint32_t)M->sb.bitmap_blocks + 1) == -1)
			fatalx("bitmap larger than a journal record");
		alloc_free_run(M->quar[i].pblk, M->quar[i].count);
		M->quar[i] = M->quar[--M->nquar];
	}
}

/* Overflow blocks an inode needs for its extents. */
uint64_t
alloc_ovf_need(uint32_t n)
{
	uint32_t	 cap = vol_extblk_cap(M->bs);

	if (n <= VOL_EXT_INLINE)
		return 0;
	return (n - VOL_EXT_INLINE + cap - 1) / cap;
}

/* A free inode number, its gen bumped; 0 when none is left. */
uint32_t
alloc_inode(void)
{
	struct minode	*mi;
	uint32_t	 i, ino = 0;

	if (M->ifree == 0)
		return 0;
	for (i = 0; i < M->sb.ninodes; i++) {
		ino = (M->ihint + i) % M->sb.ninodes + 1;
		if (M->ino[ino] == NULL)
			break;
	}
	if (ino == 0 || M->ino[ino] != NULL)
		return 0;
	if ((mi = calloc(1, sizeof(*mi))) == NULL)
		return 0;
	mi->d.gen = M->gen[ino] + 1;
	M->ino[ino] = mi;
	M->ifree--;
	M->ihint = ino;
	tx_inode(ino);
	return ino;
}

/* The inode goes (its blocks already released). */
void
alloc_free_inode(uint32_t ino)
{
	struct minode	*mi = M->ino[ino];

	if (mi == NULL)
		return;
	M->gen[ino] = mi->d.gen;
	ext_free(&mi->x);
	free(mi->ovf);
	free(mi->dir);
	free(mi);
	M->ino[ino] = NULL;
	M->ifree++;
	tx_inode(ino);
}

/*
 * Note block b as referenced by ino; a block out of the data area, one
 * referred to twice or one the bitmap says is free is counted in *bad,
 * as allocating around it would hand it out again.
 */
static void
ref_block(uint8_t *ref, uint64_t b, uint32_t ino, uint64_t *bad)
{
	if (b < M->sb.data_start || b >= M->sb.nblocks) {
		if ((*bad)++ < 5)
			log_warnx("%s: inode %u refers to block %llu, outside "
			    "the data area", M->path, ino, (unsigned long long)b);
		return;
	}
	if (vol_bit_get(ref, b)) {
		if ((*bad)++ < 5)
			log_warnx("%s: block %llu is referred to twice (again "
			    "by inode %u)", M->path, (unsigned long long)b, ino);
		return;
	}
	if (!vol_bit_get(M->bitmap, b) && (*bad)++ < 5)
		log_warnx("%s: block %llu of inode %u is free in the bitmap",
		    M->path, (unsigned long long)b, ino);
	vol_bit_set(ref, b);
}

/* Every block a file or directory refers to, and the metadata. */
static uint8_t *
referenced(uint64_t *bad)
{
	struct minode	*mi;
	uint8_t		*ref;
	uint64_t	 b;
	uint32_t	 ino, i, k;

	if ((ref = calloc(1, M->bmbytes)) == NULL)
		fatal("reclaim map");
	for (b = 0; b < M->sb.data_start; b++)
		vol_bit_set(ref, b);
	for (ino = 1; ino <= M->sb.ninodes; ino++) {
		if ((mi = M->ino[ino]) == NULL)
			continue;
		for (i = 0; i < mi->novf; i++)
			ref_block(ref, mi->ovf[i], ino, bad);
		for (i = 0; i < mi->x.n; i++)
			for (k = 0; k < mi->x.e[i].count; k++)
				ref_block(ref, mi->x.e[i].pblk + k, ino, bad);
	}
	return ref;
}

/*
 * Start sequence step 4: all older leases are void, so blocks in use
 * that nothing refers to (quarantined or preallocated by the old admin)
 * are free again, and unwritten extents go (no lease survives a restart).
 */
void
alloc_reclaim(void)
{
	uint8_t		*ref;
	uint64_t	 b, freed = 0, bad = 0;
	uint32_t	 ino;

	/*
	 * Before anything is freed: a damaged map must not be trusted.  The
	 * map serves the sweep below too: punching frees blocks in the
	 * bitmap at once (no lease survives a restart), so the sweep skips
	 * them whether the map still names them or not.
	 */
	ref = referenced(&bad);
	if (bad > 0)
		fatalx("%s: %llu blocks in use by files are free in the bitmap, "
		    "outside the data area or used twice: not serving %s; run "
		    "clfs fsck -y %s", M->path, (unsigned long long)bad,
		    M->name, M->name);
	for (ino = 1; ino <= M->sb.ninodes; ino++)
		if (M->ino[ino] != NULL && S_ISREG(M->ino[ino]->d.mode))
			(void)inode_punch(ino, 0, 1);
	for (b = M->sb.data_start; b < M->sb.nblocks; b++) {
		if (!vol_bit_get(M->bitmap, b) || vol_bit_get(ref, b))
			continue;
		if (tx_room(1) == -1)
			fatalx("journal too small");
		alloc_free_run(b, 1);
		freed++;
	}
	free(ref);
	if (freed > 0)
		log_info("%s: reclaimed %llu blocks nothing refers to",
		    M->name, (unsigned long long)freed);
	tx_commit();
}
