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
 * Transactions, group commit, checkpoints and fencing.
 *
 * Every mutating request of a loop turn changes in-memory state and the
 * images of the blocks it touches (the current transaction).  At the end
 * of the turn the transaction goes to the journal as one record, one
 * fdatasync covers every request of the turn, and only then are the
 * blocks written in place and the answers sent: an answer is never ahead
 * of its metadata on stable storage.  One record per transaction keeps a
 * transaction atomic: a torn record fails its checksum and is not
 * replayed.
 *
 * Records are laid out from journal block 1 on and never wrap: when the
 * next one would not fit, or the journal is half full, a checkpoint
 * (fdatasync of the in-place writes, then a header naming block 1 as the
 * tail) empties it.
 *
 * Fencing: a newer clmetad bumps the superblock's epoch.  This one reads
 * block 0 before each journal write and after its fdatasync, and exits
 * when the epoch is no longer its own, so two admins never write the
 * journal at once (seed 002 L303, one admin per volume).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clmetad.h"
#include "log.h"

#define TX_HASH		1024		/* buckets */
#define JBUF_MAX	(4 * 1024 * 1024)	/* bytes of one record */

static struct txblk	*pool;		/* spare images, linked by hnext */

int
tx_init(void)
{
	uint32_t	 cap;

	cap = vol_jdesc_cap(M->bs);
	if (cap > (M->sb.journal_blocks - 1) / 2 - 1)
		cap = (uint32_t)((M->sb.journal_blocks - 1) / 2 - 1);
	if (cap > JBUF_MAX / M->bs - 1)
		cap = JBUF_MAX / M->bs - 1;
	if (cap < 8) {
		log_warnx("%s: journal of %llu blocks is too small", M->path,
		    (unsigned long long)M->sb.journal_blocks);
		return -1;
	}
	M->jcap = cap;
	M->txhsize = TX_HASH;
	if ((M->txh = calloc(TX_HASH, sizeof(*M->txh))) == NULL ||
	    (M->txl = calloc((size_t)cap * 2 + 64, sizeof(*M->txl))) == NULL ||
	    (M->jbuf = malloc(((size_t)cap + 1) * M->bs)) == NULL) {
		log_warn("transaction buffers");
		return -1;
	}
	TAILQ_INIT(&M->answers);
	return 0;
}

int
tx_empty(void)
{
	return M->txn == 0;
}

static struct txblk *
tx_find(uint64_t pblk)
{
	struct txblk	*t;

	for (t = M->txh[pblk % M->txhsize]; t != NULL; t = t->hnext)
		if (t->pblk == pblk)
			return t;
	return NULL;
}

/* A new image slot; a transaction past twice its cap is a bug. */
static struct txblk *
tx_alloc(uint64_t pblk)
{
	struct txblk	*t;
	size_t		 h = pblk % M->txhsize;

	if (M->txn >= M->jcap * 2 + 64)
		fatalx("transaction of %u blocks: over its bound", M->txn);
	if ((t = pool) != NULL)
		pool = t->hnext;
	else if ((t = malloc(sizeof(*t))) == NULL ||
	    (t->img = malloc(M->bs)) == NULL)
		fatal("transaction image");
	t->pblk = pblk;
	t->hnext = M->txh[h];
	M->txh[h] = t;
	M->txl[M->txn++] = t;
	return t;
}

/* The image of block pblk in this transaction, read in if need be. */
uint8_t *
tx_block(uint64_t pblk)
{
	struct txblk	*t;

	if ((t = tx_find(pblk)) != NULL)
		return t->img;
	t = tx_alloc(pblk);
	if (vol_read(M->fd, &M->sb, pblk, t->img) == -1)
		fatal("%s: read block %llu", M->path,
		    (unsigned long long)pblk);
	return t->img;
}

/* A block newly allocated: its image starts as zeros. */
uint8_t *
tx_block_new(uint64_t pblk)
{
	struct txblk	*t;

	if ((t = tx_find(pblk)) == NULL)
		t = tx_alloc(pblk);
	memset(t->img, 0, M->bs);
	return t->img;
}

/* Inode ino changed: encoded into its table block at commit. */
void
tx_inode(uint32_t ino)
{
	struct minode	*mi = M->ino[ino];
	uint64_t	 blk;
	size_t		 off;
	uint32_t	*n;

	vol_inode_pos(&M->sb, ino, &blk, &off);
	(void)tx_block(blk);
	if (mi != NULL && mi->dirty)
		return;
	if (mi != NULL)
		mi->dirty = 1;
	if (M->ntxino == M->txinocap) {
		if ((n = reallocarray(M->txino, M->txinocap + 256,
		    sizeof(*n))) == NULL)
			fatal("transaction inodes");
		M->txino = n;
		M->txinocap += 256;
	}
	M->txino[M->ntxino++] = ino;
}

/* Bitmap bit b changed. */
void
tx_bitmap(uint64_t b)
{
	uint64_t	 i = b / ((uint64_t)M->bs * 8);

	if (!M->bmdirty[i]) {
		M->bmdirty[i] = 1;
		(void)tx_block_new(M->sb.bitmap_start + i);
	}
}

/*
 * Room for an operation that touches up to est more blocks: commit what
 * is there first if need be.  -1 if no record could ever hold it.
 */
int
tx_room(uint32_t est)
{
	if (est > M->jcap)
		return -1;
	if (M->txn + est > M->jcap)
		tx_commit();
	return 0;
}

static void
pwrite_all(const uint8_t *p, size_t n, off_t off)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = pwrite(M->fd, p, n, off)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("%s: journal write", M->path);
		}
		p += w;
		n -= (size_t)w;
		off += w;
	}
}

static void
sync_volume(void)
{
	if (fdatasync(M->fd) == -1)
		fatal("%s: fdatasync", M->path);
}

/* A newer clmetad took over: stop before writing anything more. */
void
fence_check(void)
{
	struct vol_super s;
	char		 e[256];

	if (vol_read_super(M->fd, &s, e, sizeof(e)) == -1)
		fatalx("%s: cannot read the superblock: %s", M->path, e);
	if (s.epoch != M->sb.epoch)
		meta_fenced(s.epoch, s.admin);
}

/* Start sequence step 2: our own epoch, durable before anything else. */
int
fence_bump(void)
{
	char	 e[256];

	if (vol_read_super(M->fd, &M->sb, e, sizeof(e)) == -1) {
		log_warnx("%s: %s", M->path, e);
		return -1;
	}
	M->sb.epoch++;
	M->sb.admin = M->self;
	if (vol_write_super(M->fd, &M->sb) == -1 || fdatasync(M->fd) == -1) {
		log_warn("%s: superblock", M->path);
		return -1;
	}
	return 0;
}

/* Everything in place is durable: the journal starts over at block 1. */
void
journal_checkpoint(void)
{
	struct vol_jhdr	 h;

	sync_volume();
	memset(&h, 0, sizeof(h));
	h.seq = M->jseq;
	h.tail = 1;
	h.epoch = M->sb.epoch;
	memset(M->jbuf, 0, M->bs);
	vol_jhdr_encode(&h, M->jbuf, M->bs);
	fence_check();
	pwrite_all(M->jbuf, M->bs, (off_t)(M->sb.journal_start * M->bs));
	sync_volume();
	M->jhead = 1;
}

/* After replay: a clean journal in our epoch. */
int
journal_open(void)
{
	struct vol_jhdr	 h;
	uint64_t	 n = 0;
	char		 e[256];

	if (vol_journal_replay(M->fd, &M->sb, &h, &n, e, sizeof(e)) == -1) {
		log_warnx("%s: journal replay: %s", M->path, e);
		return -1;
	}
	if (n > 0)
		log_info("%s: replayed %llu journal records", M->name,
		    (unsigned long long)n);
	M->jseq = h.seq + 1;
	journal_checkpoint();
	return 0;
}

static void
tx_reset(void)
{
	struct txblk	*t;
	uint32_t	 i;

	for (i = 0; i < M->txn; i++) {
		t = M->txl[i];
		M->txh[t->pblk % M->txhsize] = NULL;
		t->hnext = pool;
		pool = t;
	}
	M->txn = 0;
	M->ntxino = 0;
	memset(M->bmdirty, 0, M->sb.bitmap_blocks);
}

/* Refresh the images of inodes and bitmap blocks from memory. */
static void
tx_finish_images(void)
{
	uint64_t	 i;
	uint32_t	 k;

	for (k = 0; k < M->ntxino; k++)
		inode_encode_into(M->txino[k]);
	for (i = 0; i < M->sb.bitmap_blocks; i++)
		if (M->bmdirty[i])
			memcpy(tx_block(M->sb.bitmap_start + i),
			    M->bitmap + i * M->bs, M->bs);
}

/*
 * Group commit: one record, one fdatasync, the blocks in place, then the
 * answers of every request the record covers.
 */
void
tx_commit(void)
{
	uint64_t	 targets[M->jcap > 0 ? M->jcap : 1];
	uint32_t	 i, n;

	if (M->txn == 0) {
		meta_send_answers();
		return;
	}
	tx_finish_images();
	if ((n = M->txn) > M->jcap)
		fatalx("transaction of %u blocks, a record holds %u", n,
		    M->jcap);
	if (M->jhead + 1 + n > M->sb.journal_blocks)
		journal_checkpoint();
	for (i = 0; i < n; i++) {
		targets[i] = M->txl[i]->pblk;
		memcpy(M->jbuf + (size_t)(i + 1) * M->bs, M->txl[i]->img,
		    M->bs);
	}
	vol_jdesc_encode(M->jbuf, M->bs, M->jseq, M->sb.epoch, targets, n,
	    M->jbuf + M->bs);
	fence_check();
	pwrite_all(M->jbuf, ((size_t)n + 1) * M->bs,
	    (off_t)((M->sb.journal_start + M->jhead) * M->bs));
	sync_volume();
	fence_check();
	for (i = 0; i < n; i++)
		if (vol_write(M->fd, &M->sb, targets[i],
		    M->jbuf + (size_t)(i + 1) * M->bs) == -1)
			fatal("%s: write block %llu", M->path,
			    (unsigned long long)targets[i]);
	M->jhead += 1 + n;
	M->jseq++;
	tx_reset();
	if (M->jhead > M->sb.journal_blocks / 2)
		journal_checkpoint();
	meta_send_answers();
}
