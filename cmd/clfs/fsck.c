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
 * clfs fsck: check a file system offline (no clmetad running on it).
 *
 * Without -y nothing is written: the journal's records are overlaid on
 * the blocks read, so the check sees what clmetad would see after its
 * replay.  With -y the journal is replayed first and every repair is
 * written in place.  Both modes report the same problems: each one is
 * what -y repairs, and what it repairs is decided in the checking passes,
 * so a later pass sees the file system as the repair leaves it.
 *
 * Passes: (1) inodes: fields, extents, overflow chains (seed 002
 * L639-L648: a block list with an overflow pointer to the next portion),
 * blocks claimed twice, unwritten extents past EOF; (2) directories, from
 * the root: dirents, their targets and types, one entry per directory;
 * (3) inodes no directory reaches, link counts, parents; (4) the bitmap
 * against the blocks referenced.
 */

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clfs.h"
#include "vol.h"
#include "volume.h"

enum istate { I_FREE, I_OK, I_BAD };

struct overlay {
	uint64_t	 blk;
	uint8_t		*img;
};

struct fsck {
	const char		*name;
	int			 fd;
	int			 yes;
	struct vol_super	 sb;
	uint8_t			*bitmap;	/* as on the volume */
	uint8_t			*itable;
	uint8_t			*idirty;	/* itable blocks to write */
	uint32_t		*owner;		/* ino per block, 0 free */
	uint8_t			*state;		/* enum istate per ino */
	uint32_t		*links;		/* dirents naming ino */
	uint32_t		*subdirs;
	uint32_t		*dirparent;	/* dir that names ino */
	struct overlay		*ov;
	size_t			 nov;
	uint8_t			*blk;		/* scratch block */
	uint64_t		 problems, fixed;
	int			 ioerr;
};

static void	 problem(struct fsck *, const char *, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));

/* One line per problem; with -y, what was done about it. */
static void
problem(struct fsck *f, const char *fix, const char *fmt, ...)
{
	va_list	 ap;

	f->problems++;
	(void)printf("fsck: %s: ", f->name);
	va_start(ap, fmt);
	(void)vprintf(fmt, ap);
	va_end(ap);
	if (f->yes && fix != NULL) {
		(void)printf(" (fixed: %s)", fix);
		f->fixed++;
	}
	(void)printf("\n");
}

static int
ovl_add(uint64_t blk, const uint8_t *img, void *arg)
{
	struct fsck		*f = arg;
	const struct vol_super	*sb = &f->sb;
	struct overlay		*nov;
	size_t			 i;

	if (blk >= sb->bitmap_start && blk < sb->itable_start) {
		memcpy(f->bitmap + (blk - sb->bitmap_start) * sb->bsize, img,
		    sb->bsize);
		return 0;
	}
	if (blk >= sb->itable_start && blk < sb->journal_start) {
		memcpy(f->itable + (blk - sb->itable_start) * sb->bsize, img,
		    sb->bsize);
		return 0;
	}
	for (i = 0; i < f->nov; i++)
		if (f->ov[i].blk == blk) {
			memcpy(f->ov[i].img, img, sb->bsize);
			return 0;
		}
	if ((nov = reallocarray(f->ov, f->nov + 1, sizeof(*nov))) == NULL)
		return -1;
	f->ov = nov;
	if ((nov[f->nov].img = malloc(sb->bsize)) == NULL)
		return -1;
	nov[f->nov].blk = blk;
	memcpy(nov[f->nov].img, img, sb->bsize);
	f->nov++;
	return 0;
}

/* A data-area block as clmetad would see it: the journal's image first. */
static int
rd(struct fsck *f, uint64_t blk, uint8_t *buf)
{
	size_t	 i;

	for (i = 0; i < f->nov; i++)
		if (f->ov[i].blk == blk) {
			memcpy(buf, f->ov[i].img, f->sb.bsize);
			return 0;
		}
	if (vol_read(f->fd, &f->sb, blk, buf) == -1) {
		warn("%s: block %" PRIu64, f->name, blk);
		f->ioerr = 1;
		return -1;
	}
	return 0;
}

static int
wr(struct fsck *f, uint64_t blk, const uint8_t *buf)
{
	if (!f->yes)
		return 0;
	if (vol_write(f->fd, &f->sb, blk, buf) == -1) {
		warn("%s: block %" PRIu64, f->name, blk);
		f->ioerr = 1;
		return -1;
	}
	return 0;
}

static uint8_t *
islot(struct fsck *f, uint32_t ino)
{
	uint64_t	 blk;
	size_t		 off;

	vol_inode_pos(&f->sb, ino, &blk, &off);
	return f->itable + (blk - f->sb.itable_start) * f->sb.bsize + off;
}

static void
iput(struct fsck *f, uint32_t ino, const struct vol_inode *in)
{
	uint64_t	 blk;
	size_t		 off;

	vol_inode_encode(in, islot(f, ino));
	vol_inode_pos(&f->sb, ino, &blk, &off);
	f->idirty[blk - f->sb.itable_start] = 1;
}

/* Clear an inode: free, its gen kept if readable, bumped. */
static void
iclear(struct fsck *f, uint32_t ino)
{
	struct vol_inode	 in;
	uint32_t		 gen;

	gen = islot(f, ino)[40] | islot(f, ino)[41] << 8 |
	    islot(f, ino)[42] << 16 | (uint32_t)islot(f, ino)[43] << 24;
	memset(&in, 0, sizeof(in));
	in.gen = gen + 1;
	iput(f, ino, &in);
	f->state[ino] = I_BAD;
}

/*
 * A journal header that does not decode: its records cannot be found,
 * so they are lost; a fresh header (a random seq, so no old record
 * matches it) lets clmetad start.
 */
static int
fsck_jreset(struct fsck *f, const char *why)
{
	struct vol_jhdr	 h;

	problem(f, "journal emptied", "%s", why);
	if (!f->yes)
		return 0;
	h.seq = ((uint64_t)arc4random() << 16) ^ arc4random();
	h.tail = 1;
	h.epoch = f->sb.epoch;
	vol_jhdr_encode(&h, f->blk, f->sb.bsize);
	return wr(f, f->sb.journal_start, f->blk);
}

static int
fsck_load(struct fsck *f)
{
	struct vol_super	*sb = &f->sb;
	struct vol_jhdr		 h;
	char			 why[256];
	uint64_t		 b, head;
	int			 n;

	if (vol_read_super(f->fd, sb, why, sizeof(why)) == -1) {
		warnx("%s: %s", f->name, why);
		return -1;
	}
	f->bitmap = calloc(sb->bitmap_blocks, sb->bsize);
	f->itable = calloc(sb->itable_blocks, sb->bsize);
	f->idirty = calloc(sb->itable_blocks, 1);
	f->owner = calloc(sb->nblocks, sizeof(*f->owner));
	f->state = calloc((size_t)sb->ninodes + 1, 1);
	f->links = calloc((size_t)sb->ninodes + 1, sizeof(*f->links));
	f->subdirs = calloc((size_t)sb->ninodes + 1, sizeof(*f->subdirs));
	f->dirparent = calloc((size_t)sb->ninodes + 1, sizeof(uint32_t));
	f->blk = malloc(sb->bsize);
	if (f->bitmap == NULL || f->itable == NULL || f->idirty == NULL ||
	    f->owner == NULL || f->state == NULL || f->links == NULL ||
	    f->subdirs == NULL || f->dirparent == NULL || f->blk == NULL) {
		warn("%s", f->name);
		return -1;
	}
	for (b = 0; b < sb->bitmap_blocks; b++)
		if (vol_read(f->fd, sb, sb->bitmap_start + b,
		    f->bitmap + b * sb->bsize) == -1)
			goto ioerr;
	for (b = 0; b < sb->itable_blocks; b++)
		if (vol_read(f->fd, sb, sb->itable_start + b,
		    f->itable + b * sb->bsize) == -1)
			goto ioerr;
	if (f->yes)
		n = vol_journal_replay(f->fd, sb, &h, &head, why, sizeof(why));
	else
		n = vol_journal_scan(f->fd, sb, &h, ovl_add, f, &head, why,
		    sizeof(why));
	if (n == -1 && strstr(why, "read:") != NULL) {
		warnx("%s: %s", f->name, why);
		return -1;
	}
	if (n == -1)
		return fsck_jreset(f, why);
	if (n > 0 && f->yes) {
		(void)printf("fsck: %s: journal: %d records replayed\n",
		    f->name, n);
		/* The replay wrote in place: read what it wrote. */
		for (b = 0; b < sb->bitmap_blocks; b++)
			if (vol_read(f->fd, sb, sb->bitmap_start + b,
			    f->bitmap + b * sb->bsize) == -1)
				goto ioerr;
		for (b = 0; b < sb->itable_blocks; b++)
			if (vol_read(f->fd, sb, sb->itable_start + b,
			    f->itable + b * sb->bsize) == -1)
				goto ioerr;
	} else if (n > 0)
		(void)printf("fsck: %s: journal: %d records not yet applied "
		    "(checked as if replayed)\n", f->name, n);
	return 0;
 ioerr:
	warn("%s: read", f->name);
	return -1;
}

/* An inode's extents, inline then overflow, and its overflow blocks. */
struct iext {
	struct vol_extent	*e;
	uint32_t		 n;
	uint64_t		*chain;
	uint32_t		 nchain;
};

static void
iext_free(struct iext *x)
{
	free(x->e);
	free(x->chain);
	memset(x, 0, sizeof(*x));
}

static int
iext_get(struct fsck *f, uint32_t ino, const struct vol_inode *in,
    struct iext *x, char *why, size_t whylen)
{
	const struct vol_super	*sb = &f->sb;
	uint32_t		 cap = vol_extblk_cap(sb->bsize), n, i;
	uint64_t		 next;

	memset(x, 0, sizeof(*x));
	if ((x->e = calloc((size_t)in->nextents + cap, sizeof(*x->e))) ==
	    NULL) {
		(void)snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	x->n = in->nextents < VOL_EXT_INLINE ? in->nextents : VOL_EXT_INLINE;
	memcpy(x->e, in->ext, x->n * sizeof(*x->e));
	next = in->ext_block;
	while (next != 0) {
		if (x->n >= in->nextents) {
			(void)snprintf(why, whylen, "inode %" PRIu32 ": "
			    "overflow chain longer than nextents %" PRIu32,
			    ino, in->nextents);
			return -1;
		}
		if ((x->chain = reallocarray(x->chain, x->nchain + 1,
		    sizeof(*x->chain))) == NULL) {
			(void)snprintf(why, whylen, "%s", strerror(errno));
			return -1;
		}
		x->chain[x->nchain++] = next;
		if (rd(f, next, f->blk) == -1) {
			(void)snprintf(why, whylen, "inode %" PRIu32 ": "
			    "extent block %" PRIu64 ": unreadable", ino, next);
			return -1;
		}
		if (vol_extblk_decode(sb, ino, f->blk, x->e + x->n, &n, &next,
		    why, whylen) == -1)
			return -1;
		if (n > in->nextents - x->n) {
			(void)snprintf(why, whylen, "inode %" PRIu32 ": "
			    "overflow chain holds more than nextents %" PRIu32,
			    ino, in->nextents);
			return -1;
		}
		x->n += n;
	}
	if (x->n != in->nextents) {
		(void)snprintf(why, whylen, "inode %" PRIu32 ": %" PRIu32
		    " extents found, nextents %" PRIu32, ino, x->n,
		    in->nextents);
		return -1;
	}
	for (i = 1; i < x->n; i++)
		if (x->e[i].lblk < x->e[i - 1].lblk + x->e[i - 1].count) {
			(void)snprintf(why, whylen, "inode %" PRIu32 ": extent "
			    "%" PRIu32 ": file block %" PRIu64 " overlaps or "
			    "precedes the one before", ino, i, x->e[i].lblk);
			return -1;
		}
	return 0;
}

static void
claim_undo(struct fsck *f, uint32_t ino, const struct iext *x)
{
	uint64_t	 b;
	uint32_t	 i;

	for (i = 0; i < x->nchain; i++)
		if (f->owner[x->chain[i]] == ino)
			f->owner[x->chain[i]] = 0;
	for (i = 0; i < x->n; i++)
		for (b = x->e[i].pblk; b < x->e[i].pblk + x->e[i].count; b++)
			if (f->owner[b] == ino)
				f->owner[b] = 0;
}

/* Claim every block for ino; a block another inode holds is refused. */
static int
claim(struct fsck *f, uint32_t ino, const struct iext *x, uint64_t *dup,
    uint32_t *other)
{
	uint64_t	 b;
	uint32_t	 i;

	for (i = 0; i < x->nchain; i++) {
		b = x->chain[i];
		if (f->owner[b] != 0)
			goto twice;
		f->owner[b] = ino;
	}
	for (i = 0; i < x->n; i++)
		for (b = x->e[i].pblk; b < x->e[i].pblk + x->e[i].count; b++) {
			if (f->owner[b] != 0)
				goto twice;
			f->owner[b] = ino;
		}
	return 0;
 twice:
	*dup = b;
	*other = f->owner[b];
	claim_undo(f, ino, x);
	return -1;
}

/*
 * Write the extent list back: inline, then the overflow blocks the inode
 * already has (a trimmed list never needs more); the rest are released.
 */
static void
iext_put(struct fsck *f, uint32_t ino, struct vol_inode *in, struct iext *x)
{
	uint32_t	 cap = vol_extblk_cap(f->sb.bsize), need, i, k, n;

	need = x->n <= VOL_EXT_INLINE ? 0 :
	    (x->n - VOL_EXT_INLINE + cap - 1) / cap;
	memset(in->ext, 0, sizeof(in->ext));
	n = x->n < VOL_EXT_INLINE ? x->n : VOL_EXT_INLINE;
	memcpy(in->ext, x->e, n * sizeof(*x->e));
	in->nextents = x->n;
	in->ext_block = need > 0 ? x->chain[0] : 0;
	for (i = 0, k = n; i < need; i++, k += n) {
		n = x->n - k < cap ? x->n - k : cap;
		vol_extblk_encode(&f->sb, ino, x->e + k, n,
		    i + 1 < need ? x->chain[i + 1] : 0, f->blk);
		(void)wr(f, x->chain[i], f->blk);
	}
	for (i = need; i < x->nchain; i++)
		f->owner[x->chain[i]] = 0;
	iput(f, ino, in);
}

/* Unwritten extents past EOF: blocks preallocated by a lost writer. */
static void
check_prealloc(struct fsck *f, uint32_t ino, struct vol_inode *in,
    struct iext *x)
{
	uint64_t	 eofblk, keep, b;
	uint32_t	 i, j, trimmed = 0;

	eofblk = in->size / f->sb.bsize + (in->size % f->sb.bsize != 0);
	for (i = j = 0; i < x->n; i++) {
		x->e[j] = x->e[i];
		if ((x->e[i].flags & VOL_EXT_UNWRITTEN) &&
		    x->e[i].lblk + x->e[i].count > eofblk) {
			keep = x->e[i].lblk >= eofblk ? 0 :
			    eofblk - x->e[i].lblk;
			problem(f, "released", "inode %" PRIu32 ": unwritten "
			    "blocks %" PRIu64 "+%" PRIu64 " past EOF "
			    "(preallocation leak)", ino, x->e[i].pblk + keep,
			    x->e[i].count - keep);
			for (b = x->e[i].pblk + keep;
			    b < x->e[i].pblk + x->e[i].count; b++)
				f->owner[b] = 0;
			trimmed = 1;
			if (keep == 0)
				continue;
			x->e[j].count = keep;
		}
		j++;
	}
	x->n = j;
	if (trimmed)
		iext_put(f, ino, in, x);
}

static void
pass_inodes(struct fsck *f)
{
	struct vol_inode	 in;
	struct iext		 x;
	char			 why[256];
	uint64_t		 dup;
	uint32_t		 ino, other;

	for (ino = 1; ino <= f->sb.ninodes; ino++) {
		if (vol_inode_decode(&f->sb, ino, islot(f, ino), &in, why,
		    sizeof(why)) == -1) {
			problem(f, "cleared", "%s", why);
			iclear(f, ino);
			continue;
		}
		if (in.mode == 0)
			continue;
		if (iext_get(f, ino, &in, &x, why, sizeof(why)) == -1) {
			problem(f, "cleared", "%s", why);
			iext_free(&x);
			iclear(f, ino);
			continue;
		}
		if (claim(f, ino, &x, &dup, &other) == -1) {
			problem(f, "cleared", "inode %" PRIu32 ": block %"
			    PRIu64 " already in use by inode %" PRIu32, ino,
			    dup, other);
			iext_free(&x);
			iclear(f, ino);
			continue;
		}
		f->state[ino] = I_OK;
		if ((in.mode & 0170000) == 0100000)
			check_prealloc(f, ino, &in, &x);
		iext_free(&x);
	}
}

static int
iget(struct fsck *f, uint32_t ino, struct vol_inode *in)
{
	return vol_inode_decode(&f->sb, ino, islot(f, ino), in, NULL, 0);
}

/* The root must be a directory; a new empty one if it is not. */
static void
check_root(struct fsck *f)
{
	struct vol_inode	 in;

	if (f->state[VOL_ROOT_INO] == I_OK &&
	    iget(f, VOL_ROOT_INO, &in) == 0 && (in.mode & 0170000) == 0040000)
		return;
	problem(f, "made an empty root directory", "inode %d: the root "
	    "directory is missing or not a directory", VOL_ROOT_INO);
	if (f->state[VOL_ROOT_INO] == I_OK && iget(f, VOL_ROOT_INO,
	    &in) == 0) {
		struct iext	 x;
		char		 why[64];

		if (iext_get(f, VOL_ROOT_INO, &in, &x, why, sizeof(why)) == 0)
			claim_undo(f, VOL_ROOT_INO, &x);
		iext_free(&x);
	}
	memset(&in, 0, sizeof(in));
	in.mode = 0040755;
	in.nlink = 2;
	in.gen = 1;
	in.parent = VOL_ROOT_INO;
	iput(f, VOL_ROOT_INO, &in);
	f->state[VOL_ROOT_INO] = I_OK;
}

/* One dirent of directory dir; 1 if the slot was changed. */
static int
check_dirent(struct fsck *f, uint32_t dir, uint64_t blk, uint32_t slot,
    uint8_t *p, uint32_t *queue, uint32_t *nq)
{
	struct vol_dirent	 d;
	struct vol_inode	 in;
	char			 why[256];
	int			 isdir;

	if (vol_dirent_decode(&f->sb, p, &d, why, sizeof(why)) == -1) {
		problem(f, "entry cleared", "inode %" PRIu32 ": block %" PRIu64
		    " slot %" PRIu32 ": %s", dir, blk, slot, why);
		memset(p, 0, VOL_DIRENT_SIZE);
		return 1;
	}
	if (d.ino == 0)
		return 0;
	if (f->state[d.ino] != I_OK || iget(f, d.ino, &in) == -1) {
		problem(f, "entry cleared", "inode %" PRIu32 ": entry \"%s\": "
		    "inode %" PRIu32 " is not in use", dir, d.name, d.ino);
		memset(p, 0, VOL_DIRENT_SIZE);
		return 1;
	}
	isdir = (in.mode & 0170000) == 0040000;
	if (isdir && (d.ino == VOL_ROOT_INO || f->dirparent[d.ino] != 0)) {
		problem(f, "entry cleared", "inode %" PRIu32 ": entry \"%s\": "
		    "a second entry for directory %" PRIu32, dir, d.name,
		    d.ino);
		memset(p, 0, VOL_DIRENT_SIZE);
		return 1;
	}
	f->links[d.ino]++;
	if (isdir) {
		f->dirparent[d.ino] = dir;
		f->subdirs[dir]++;
		queue[(*nq)++] = d.ino;
	}
	if (d.type != (isdir ? VOL_DT_DIR : VOL_DT_REG)) {
		problem(f, "type set", "inode %" PRIu32 ": entry \"%s\": type "
		    "%u but inode %" PRIu32 " is a %s", dir, d.name, d.type,
		    d.ino, isdir ? "directory" : "regular file");
		d.type = isdir ? VOL_DT_DIR : VOL_DT_REG;
		vol_dirent_encode(&d, p);
		return 1;
	}
	return 0;
}

static void
check_dir(struct fsck *f, uint32_t dir, uint32_t *queue, uint32_t *nq)
{
	struct vol_inode	 in;
	struct iext		 x;
	char			 why[256];
	uint64_t		 b;
	uint32_t		 i, s, per = f->sb.bsize / VOL_DIRENT_SIZE;
	int			 dirty;

	if (iget(f, dir, &in) == -1 ||
	    iext_get(f, dir, &in, &x, why, sizeof(why)) == -1) {
		iext_free(&x);
		return;		/* pass 1 cleared it already */
	}
	for (i = 0; i < x.n; i++) {
		if (x.e[i].flags & VOL_EXT_UNWRITTEN)
			continue;	/* reads as zeros: free slots */
		for (b = x.e[i].pblk; b < x.e[i].pblk + x.e[i].count; b++) {
			if (rd(f, b, f->blk) == -1)
				continue;
			dirty = 0;
			for (s = 0; s < per; s++)
				dirty |= check_dirent(f, dir, b, s,
				    f->blk + s * VOL_DIRENT_SIZE, queue, nq);
			if (dirty)
				(void)wr(f, b, f->blk);
		}
	}
	iext_free(&x);
}

/* Walk the tree from the root, breadth first. */
static int
pass_dirs(struct fsck *f)
{
	uint32_t	*queue, nq = 0, i;

	check_root(f);
	if ((queue = calloc((size_t)f->sb.ninodes + 1, sizeof(*queue))) ==
	    NULL) {
		warn("%s", f->name);
		return -1;
	}
	queue[nq++] = VOL_ROOT_INO;
	for (i = 0; i < nq; i++)
		check_dir(f, queue[i], queue, &nq);
	free(queue);
	return 0;
}

/* Inodes no directory reaches, link counts, directories' parents. */
static void
pass_links(struct fsck *f)
{
	struct vol_inode	 in;
	struct iext		 x;
	char			 why[64];
	uint32_t		 ino, want;
	int			 isdir;

	for (ino = 1; ino <= f->sb.ninodes; ino++) {
		if (f->state[ino] != I_OK || iget(f, ino, &in) == -1)
			continue;
		isdir = (in.mode & 0170000) == 0040000;
		if (ino != VOL_ROOT_INO && f->links[ino] == 0) {
			problem(f, "freed", "inode %" PRIu32 ": %s of %" PRIu64
			    " bytes in no directory (orphan)", ino, isdir ?
			    "directory" : "file", in.size);
			if (iext_get(f, ino, &in, &x, why, sizeof(why)) == 0)
				claim_undo(f, ino, &x);
			iext_free(&x);
			iclear(f, ino);
			continue;
		}
		want = isdir ? 2 + f->subdirs[ino] : f->links[ino];
		if (in.nlink != want) {
			problem(f, "set", "inode %" PRIu32 ": nlink %" PRIu32
			    ", %" PRIu32 " found", ino, in.nlink, want);
			in.nlink = want;
			iput(f, ino, &in);
		}
		want = ino == VOL_ROOT_INO ? VOL_ROOT_INO : f->dirparent[ino];
		if (isdir && in.parent != want) {
			problem(f, "set", "inode %" PRIu32 ": parent %" PRIu32
			    ", but directory %" PRIu32 " holds it", ino,
			    in.parent, want);
			in.parent = want;
			iput(f, ino, &in);
		}
	}
}

/* Block b should be in use: metadata, past the end, or referenced. */
static int
want_used(const struct fsck *f, uint64_t b)
{
	return b < f->sb.data_start || b >= f->sb.nblocks || f->owner[b] != 0;
}

/* How block b differs from the bitmap: 0 not, else a kind of problem. */
static int
bit_kind(const struct fsck *f, uint64_t b)
{
	int	 want = want_used(f, b), have = vol_bit_get(f->bitmap, b);

	if (want == have)
		return 0;
	if (!want)
		return 1;			/* leaked */
	if (b < f->sb.data_start)
		return 2;
	if (b >= f->sb.nblocks)
		return 3;
	return 4;
}

static void
bit_report(struct fsck *f, int kind, uint64_t from, uint64_t to)
{
	static const char *const what[] = { "", "used in the bitmap but "
	    "referenced by nothing (leaked)", "metadata but free in the "
	    "bitmap", "past the end of the volume but free in the bitmap",
	    "in use but free in the bitmap" };
	char	 range[64];

	if (from == to)
		(void)snprintf(range, sizeof(range), "block %" PRIu64, from);
	else
		(void)snprintf(range, sizeof(range), "blocks %" PRIu64 "-%"
		    PRIu64, from, to);
	if (kind == 4 && from == to)
		problem(f, "marked used", "%s: in use by inode %" PRIu32
		    " but free in the bitmap", range, f->owner[from]);
	else
		problem(f, kind == 1 ? "marked free" : "marked used", "%s: %s",
		    range, what[kind]);
}

/* The bitmap against the references: one line per run of a kind. */
static void
pass_bitmap(struct fsck *f, uint64_t *used)
{
	const struct vol_super	*sb = &f->sb;
	uint64_t		 b, nbits, from = 0;
	int			 k, run = 0;

	nbits = sb->bitmap_blocks * sb->bsize * 8;
	*used = 0;
	for (b = 0; b <= nbits; b++) {
		k = b < nbits ? bit_kind(f, b) : 0;
		if (k != run || (k == 4 && f->owner[b] != f->owner[from])) {
			if (run != 0)
				bit_report(f, run, from, b - 1);
			run = k;
			from = b;
		}
		if (b == nbits)
			break;
		if (want_used(f, b)) {
			*used += b < sb->nblocks;
			vol_bit_set(f->bitmap, b);
		} else
			vol_bit_clr(f->bitmap, b);
	}
}

/* Write what the passes changed: the bitmap and the inode table. */
static int
fsck_flush(struct fsck *f, const uint8_t *ondisk)
{
	const struct vol_super	*sb = &f->sb;
	uint64_t		 b;

	if (!f->yes)
		return 0;
	for (b = 0; b < sb->bitmap_blocks; b++)
		if (memcmp(ondisk + b * sb->bsize, f->bitmap + b * sb->bsize,
		    sb->bsize) != 0 && wr(f, sb->bitmap_start + b,
		    f->bitmap + b * sb->bsize) == -1)
			return -1;
	for (b = 0; b < sb->itable_blocks; b++)
		if (f->idirty[b] && wr(f, sb->itable_start + b,
		    f->itable + b * sb->bsize) == -1)
			return -1;
	if (fdatasync(f->fd) == -1) {
		warn("%s: fdatasync", f->name);
		return -1;
	}
	return 0;
}

static void
fsck_free(struct fsck *f)
{
	size_t	 i;

	for (i = 0; i < f->nov; i++)
		free(f->ov[i].img);
	free(f->ov);
	free(f->bitmap);
	free(f->itable);
	free(f->idirty);
	free(f->owner);
	free(f->state);
	free(f->links);
	free(f->subdirs);
	free(f->dirparent);
	free(f->blk);
	if (f->fd != -1)
		(void)close(f->fd);
}

static int
fsck_usage(void)
{
	(void)fprintf(stderr, "usage: clfs fsck [-n | -y] volume\n");
	return FSCK_USAGE;
}

static int
fsck_run(struct fsck *f)
{
	uint8_t		*ondisk;
	uint64_t	 used;
	uint32_t	 ino, ninodes = 0;

	if (fsck_load(f) == -1)
		return FSCK_USAGE;
	if ((ondisk = malloc(f->sb.bitmap_blocks * f->sb.bsize)) == NULL) {
		warn("%s", f->name);
		return FSCK_USAGE;
	}
	memcpy(ondisk, f->bitmap, f->sb.bitmap_blocks * f->sb.bsize);
	pass_inodes(f);
	if (pass_dirs(f) == -1) {
		free(ondisk);
		return FSCK_USAGE;
	}
	pass_links(f);
	pass_bitmap(f, &used);
	if (fsck_flush(f, ondisk) == -1 || f->ioerr) {
		free(ondisk);
		return FSCK_USAGE;
	}
	free(ondisk);
	for (ino = 1; ino <= f->sb.ninodes; ino++)
		ninodes += f->state[ino] == I_OK;
	(void)printf("fsck: %s: %" PRIu32 " inodes, %" PRIu64 " blocks used "
	    "of %" PRIu64 ", %" PRIu64 " problems (%" PRIu64 " fixed)\n",
	    f->name, ninodes, used, f->sb.nblocks, f->problems, f->fixed);
	if (f->problems == 0)
		return FSCK_CLEAN;
	return f->fixed == f->problems ? FSCK_FIXED : FSCK_LEFT;
}

int
clfs_fsck(const char *confpath, int argc, char **argv)
{
	struct fsck	 f;
	char		 path[PATH_MAX];
	int		 ch, no = 0, rc;

	memset(&f, 0, sizeof(f));
	f.fd = -1;
	optind = 1;
	while ((ch = getopt(argc, argv, "ny")) != -1) {
		switch (ch) {
		case 'n':
			no = 1;
			break;
		case 'y':
			f.yes = 1;
			break;
		default:
			return fsck_usage();
		}
	}
	if (argc - optind != 1 || (no && f.yes))
		return fsck_usage();
	f.name = argv[optind];
	if ((f.fd = clfs_volume_open(confpath, f.name, f.yes ? O_RDWR :
	    O_RDONLY, path, sizeof(path))) == -1)
		return FSCK_USAGE;
	(void)fflush(stdout);
	rc = fsck_run(&f);
	fsck_free(&f);
	return rc;
}
