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
 * The on-volume format (vol.h, cl-vol(5)): byte layouts of the
 * superblock, inodes, extent-overflow blocks, directory entries and the
 * journal, their checks, and the few operations that touch the device
 * directly (mkfs, journal replay).  Every decoder reads only inside the
 * buffer it is given and refuses, with the field named, anything a
 * correct writer cannot have produced: a volume is shared by many nodes
 * and any of them, or the disk, may have damaged it.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/fs.h>
#endif

#include <sodium.h>

#include "vol.h"

/* Superblock byte offsets (cl-vol(5)). */
#define SB_MAGIC	0
#define SB_VERSION	8
#define SB_BSIZE	12
#define SB_NBLOCKS	16
#define SB_UUID		24
#define SB_EPOCH	40
#define SB_ADMIN	48
#define SB_NINODES	52
#define SB_BITMAP	56
#define SB_BITMAPN	64
#define SB_ITABLE	72
#define SB_ITABLEN	80
#define SB_JOURNAL	88
#define SB_JOURNALN	96
#define SB_DATA		104
#define SB_CTIME	112
#define SB_LABEL	120
#define SB_END		152		/* reserved, zero, up to the crc */
#define SB_CRC		(VOL_SUPER_SIZE - 4)

/* Inode byte offsets: 64 bytes of fields, then 8 extents of 24. */
#define IN_MODE		0
#define IN_UID		4
#define IN_GID		8
#define IN_NLINK	12
#define IN_SIZE		16
#define IN_MTIME	24
#define IN_CTIME	32
#define IN_GEN		40
#define IN_PARENT	44
#define IN_NEXTENTS	48
#define IN_CRC		52
#define IN_EXTBLK	56
#define IN_EXT		64
#define IN_ATIME	(IN_EXT + VOL_EXT_INLINE * VOL_EXTENT_SIZE)
#define IN_RG		(IN_ATIME + 8)

/* Extent-overflow block header. */
#define XB_MAGIC	0
#define XB_OWNER	4
#define XB_COUNT	8
#define XB_CRC		12
#define XB_NEXT		16		/* 24..31 reserved, zero */

/* Directory entry. */
#define DE_INO		0
#define DE_TYPE		4
#define DE_NAMELEN	5
#define DE_NAME		6

/* Journal header and descriptor. */
#define JH_SEQ		8
#define JH_TAIL		16
#define JH_EPOCH	24
#define JH_CRC		32
#define JH_END		36
#define JD_SEQ		8
#define JD_EPOCH	16
#define JD_N		24
#define JD_CRC		28

#define INODES_PER_BYTES	16384	/* default: one inode per 16 KiB */
#define INODES_MIN		64
#define JOURNAL_MAX		8192	/* blocks */

static int	 verr(char *, size_t, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));

/* Fill err and return -1, so decoders can "return verr(...)". */
static int
verr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, v & 0xffffffff);
	put32(p + 4, v >> 32);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static int
allzero(const uint8_t *p, size_t n)
{
	while (n-- > 0)
		if (*p++ != 0)
			return 0;
	return 1;
}

/*
 * CRC-32C, reflected polynomial 0x82f63b78, table built on first use.
 * The table is a pure function of the polynomial, so a race between two
 * threads building it writes the same values.
 */
static uint32_t	 crctab[256];
static volatile int crctab_ok;

uint32_t
vol_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	uint32_t	 c;
	int		 i, k;

	if (!crctab_ok) {
		for (i = 0; i < 256; i++) {
			c = i;
			for (k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
			crctab[i] = c;
		}
		crctab_ok = 1;
	}
	crc = ~crc;
	while (len-- > 0)
		crc = crctab[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* CRC of a structure whose own crc field, at off, counts as zero. */
static uint32_t
crc_skip(const uint8_t *buf, size_t len, size_t off)
{
	static const uint8_t	 zero[4];
	uint32_t		 crc;

	crc = vol_crc32c(0, buf, off);
	crc = vol_crc32c(crc, zero, 4);
	return vol_crc32c(crc, buf + off + 4, len - off - 4);
}

static int
bsize_ok(uint32_t bsize)
{
	return bsize >= VOL_BSIZE_MIN && bsize <= VOL_BSIZE_MAX &&
	    (bsize & (bsize - 1)) == 0;
}

static uint64_t
howmany64(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

static uint32_t
default_inodes(uint64_t nblocks, uint32_t bsize)
{
	uint64_t	 n;

	n = nblocks / (INODES_PER_BYTES / VOL_BSIZE_MIN) * (bsize /
	    VOL_BSIZE_MIN);
	if (n < INODES_MIN)
		n = INODES_MIN;
	if (n > UINT32_MAX - 1)
		n = UINT32_MAX - 1;
	return n;
}

static uint64_t
journal_blocks(uint64_t nblocks)
{
	uint64_t	 n;

	n = nblocks / 128;
	if (n > JOURNAL_MAX)
		n = JOURNAL_MAX;
	if (n < VOL_JOURNAL_MIN)
		n = VOL_JOURNAL_MIN;
	return n;
}

/* Metadata blocks, block 0 included, for nblocks, or 0 if they overflow. */
static uint64_t
meta_blocks(struct vol_super *sb, uint64_t nblocks, uint32_t bsize,
    uint32_t ninodes)
{
	memset(sb, 0, sizeof(*sb));
	sb->version = VOL_VERSION;
	sb->bsize = bsize;
	sb->nblocks = nblocks;
	sb->ninodes = ninodes != 0 ? ninodes : default_inodes(nblocks, bsize);
	sb->bitmap_start = 1;
	sb->bitmap_blocks = howmany64(nblocks, (uint64_t)bsize * 8);
	sb->itable_start = sb->bitmap_start + sb->bitmap_blocks;
	sb->itable_blocks = howmany64((uint64_t)sb->ninodes * VOL_INODE_SIZE,
	    bsize);
	sb->journal_start = sb->itable_start + sb->itable_blocks;
	sb->journal_blocks = journal_blocks(nblocks);
	sb->data_start = sb->journal_start + sb->journal_blocks;
	return sb->data_start;
}

uint64_t
vol_min_bytes(uint32_t bsize, uint32_t ninodes)
{
	struct vol_super	 sb;
	uint64_t		 n, need;

	if (bsize == 0)
		bsize = VOL_BSIZE_DEFAULT;
	if (!bsize_ok(bsize))
		return 0;
	/* The metadata grows with the size: iterate to the fixed point. */
	for (n = 1;; n = need) {
		need = meta_blocks(&sb, n, bsize, ninodes) + VOL_DATA_MIN;
		if (need <= n)
			return n * bsize;
	}
}

int
vol_layout(struct vol_super *sb, uint64_t bytes, uint32_t bsize,
    uint32_t ninodes, char *err, size_t errlen)
{
	uint64_t	 nblocks, min;

	if (bsize == 0)
		bsize = VOL_BSIZE_DEFAULT;
	if (!bsize_ok(bsize))
		return verr(err, errlen, "block size %" PRIu32 ": not a power "
		    "of two from %d to %d", bsize, VOL_BSIZE_MIN,
		    VOL_BSIZE_MAX);
	if (ninodes != 0 && ninodes < INODES_MIN)
		return verr(err, errlen, "%" PRIu32 " inodes: at least %d "
		    "needed", ninodes, INODES_MIN);
	if (ninodes == UINT32_MAX)
		return verr(err, errlen, "%" PRIu32 " inodes: too many",
		    ninodes);
	if (bytes > (uint64_t)INT64_MAX)
		bytes = INT64_MAX;
	nblocks = bytes / bsize;
	min = vol_min_bytes(bsize, ninodes);
	if (meta_blocks(sb, nblocks, bsize, ninodes) + VOL_DATA_MIN >
	    nblocks || bytes < min)
		return verr(err, errlen, "volume too small: %" PRIu64
		    " bytes; at least %" PRIu64 " needed", bytes,
		    bytes < min ? min : (sb->data_start + VOL_DATA_MIN) *
		    bsize);
	return 0;
}

void
vol_super_encode(const struct vol_super *sb, uint8_t *buf)
{
	memset(buf, 0, VOL_SUPER_SIZE);
	memcpy(buf + SB_MAGIC, VOL_MAGIC, 8);
	put32(buf + SB_VERSION, sb->version);
	put32(buf + SB_BSIZE, sb->bsize);
	put64(buf + SB_NBLOCKS, sb->nblocks);
	memcpy(buf + SB_UUID, sb->uuid, 16);
	put64(buf + SB_EPOCH, sb->epoch);
	put32(buf + SB_ADMIN, sb->admin);
	put32(buf + SB_NINODES, sb->ninodes);
	put64(buf + SB_BITMAP, sb->bitmap_start);
	put64(buf + SB_BITMAPN, sb->bitmap_blocks);
	put64(buf + SB_ITABLE, sb->itable_start);
	put64(buf + SB_ITABLEN, sb->itable_blocks);
	put64(buf + SB_JOURNAL, sb->journal_start);
	put64(buf + SB_JOURNALN, sb->journal_blocks);
	put64(buf + SB_DATA, sb->data_start);
	put64(buf + SB_CTIME, (uint64_t)sb->ctime);
	memcpy(buf + SB_LABEL, sb->label, strnlen(sb->label, VOL_LABEL_MAX));
	put32(buf + SB_CRC, crc_skip(buf, VOL_SUPER_SIZE, SB_CRC));
}

/* A label: printable ASCII, NUL-padded. */
static int
label_decode(const uint8_t *p, char *label)
{
	size_t	 i, n;

	n = strnlen((const char *)p, VOL_LABEL_MAX);
	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return -1;
	if (!allzero(p + n, VOL_LABEL_MAX - n))
		return -1;
	memcpy(label, p, n);
	label[n] = '\0';
	return 0;
}

/* The areas must be exactly where vol_layout puts them, in order. */
static int
super_areas(const struct vol_super *sb, char *err, size_t errlen)
{
	if (sb->bitmap_start != 1)
		return verr(err, errlen, "superblock: bitmap_start %" PRIu64
		    ": not 1", sb->bitmap_start);
	if (sb->bitmap_blocks != howmany64(sb->nblocks, (uint64_t)sb->bsize *
	    8))
		return verr(err, errlen, "superblock: bitmap_blocks %" PRIu64
		    ": %" PRIu64 " blocks need %" PRIu64, sb->bitmap_blocks,
		    sb->nblocks, howmany64(sb->nblocks, (uint64_t)sb->bsize *
		    8));
	if (sb->itable_start != sb->bitmap_start + sb->bitmap_blocks)
		return verr(err, errlen, "superblock: itable_start %" PRIu64
		    ": not after the bitmap", sb->itable_start);
	if (sb->itable_blocks != howmany64((uint64_t)sb->ninodes *
	    VOL_INODE_SIZE, sb->bsize))
		return verr(err, errlen, "superblock: itable_blocks %" PRIu64
		    ": wrong for %" PRIu32 " inodes", sb->itable_blocks,
		    sb->ninodes);
	if (sb->journal_start != sb->itable_start + sb->itable_blocks)
		return verr(err, errlen, "superblock: journal_start %" PRIu64
		    ": not after the inode table", sb->journal_start);
	if (sb->journal_blocks < VOL_JOURNAL_MIN ||
	    sb->journal_blocks > sb->nblocks)
		return verr(err, errlen, "superblock: journal_blocks %" PRIu64
		    ": out of range", sb->journal_blocks);
	if (sb->data_start != sb->journal_start + sb->journal_blocks)
		return verr(err, errlen, "superblock: data_start %" PRIu64
		    ": not after the journal", sb->data_start);
	if (sb->data_start > sb->nblocks ||
	    sb->nblocks - sb->data_start < VOL_DATA_MIN)
		return verr(err, errlen, "superblock: data_start %" PRIu64
		    ": fewer than %d data blocks before nblocks %" PRIu64,
		    sb->data_start, VOL_DATA_MIN, sb->nblocks);
	return 0;
}

int
vol_super_decode(const uint8_t *buf, size_t len, struct vol_super *sb,
    char *err, size_t errlen)
{
	uint32_t	 crc;

	memset(sb, 0, sizeof(*sb));
	if (len < VOL_SUPER_SIZE)
		return verr(err, errlen, "superblock: %zu bytes, %d needed",
		    len, VOL_SUPER_SIZE);
	if (memcmp(buf + SB_MAGIC, VOL_MAGIC, 8) != 0)
		return verr(err, errlen, "superblock: bad magic: not a cl "
		    "file system");
	crc = get32(buf + SB_CRC);
	if (crc != crc_skip(buf, VOL_SUPER_SIZE, SB_CRC))
		return verr(err, errlen, "superblock: crc %08" PRIx32
		    " does not match its contents", crc);
	sb->version = get32(buf + SB_VERSION);
	if (sb->version != VOL_VERSION)
		return verr(err, errlen, "superblock: version %" PRIu32
		    " not supported (%d is)", sb->version, VOL_VERSION);
	sb->bsize = get32(buf + SB_BSIZE);
	if (!bsize_ok(sb->bsize))
		return verr(err, errlen, "superblock: bsize %" PRIu32 ": not "
		    "a power of two from %d to %d", sb->bsize, VOL_BSIZE_MIN,
		    VOL_BSIZE_MAX);
	sb->nblocks = get64(buf + SB_NBLOCKS);
	if (sb->nblocks > (uint64_t)INT64_MAX / sb->bsize)
		return verr(err, errlen, "superblock: nblocks %" PRIu64
		    ": too large", sb->nblocks);
	memcpy(sb->uuid, buf + SB_UUID, 16);
	sb->epoch = get64(buf + SB_EPOCH);
	sb->admin = get32(buf + SB_ADMIN);
	sb->ninodes = get32(buf + SB_NINODES);
	if (sb->ninodes < 1 || sb->ninodes == UINT32_MAX)
		return verr(err, errlen, "superblock: ninodes %" PRIu32
		    ": out of range", sb->ninodes);
	sb->bitmap_start = get64(buf + SB_BITMAP);
	sb->bitmap_blocks = get64(buf + SB_BITMAPN);
	sb->itable_start = get64(buf + SB_ITABLE);
	sb->itable_blocks = get64(buf + SB_ITABLEN);
	sb->journal_start = get64(buf + SB_JOURNAL);
	sb->journal_blocks = get64(buf + SB_JOURNALN);
	sb->data_start = get64(buf + SB_DATA);
	if (super_areas(sb, err, errlen) == -1)
		return -1;
	sb->ctime = (int64_t)get64(buf + SB_CTIME);
	if (label_decode(buf + SB_LABEL, sb->label) == -1)
		return verr(err, errlen, "superblock: label: not printable "
		    "ASCII padded with NULs");
	if (!allzero(buf + SB_END, SB_CRC - SB_END))
		return verr(err, errlen, "superblock: reserved bytes not "
		    "zero");
	return 0;
}

void
vol_inode_pos(const struct vol_super *sb, uint32_t ino, uint64_t *blk,
    size_t *off)
{
	uint64_t	 byte;

	byte = (uint64_t)(ino - 1) * VOL_INODE_SIZE;
	*blk = sb->itable_start + byte / sb->bsize;
	*off = byte % sb->bsize;
}

static void
extent_encode(const struct vol_extent *e, uint8_t *p)
{
	put64(p, e->lblk);
	put64(p + 8, e->pblk);
	put32(p + 16, e->count);
	put32(p + 20, e->flags);
}

static void
extent_decode(const uint8_t *p, struct vol_extent *e)
{
	e->lblk = get64(p);
	e->pblk = get64(p + 8);
	e->count = get32(p + 16);
	e->flags = get32(p + 20);
}

void
vol_inode_encode(const struct vol_inode *in, uint8_t *buf)
{
	uint32_t	 i, n;

	memset(buf, 0, VOL_INODE_SIZE);
	put32(buf + IN_MODE, in->mode);
	put32(buf + IN_UID, in->uid);
	put32(buf + IN_GID, in->gid);
	put32(buf + IN_NLINK, in->nlink);
	put64(buf + IN_SIZE, in->size);
	put64(buf + IN_MTIME, (uint64_t)in->mtime_ns);
	put64(buf + IN_CTIME, (uint64_t)in->ctime_ns);
	put32(buf + IN_GEN, in->gen);
	put32(buf + IN_PARENT, in->parent);
	put32(buf + IN_NEXTENTS, in->nextents);
	put64(buf + IN_EXTBLK, in->ext_block);
	n = in->nextents < VOL_EXT_INLINE ? in->nextents : VOL_EXT_INLINE;
	for (i = 0; i < n; i++)
		extent_encode(&in->ext[i], buf + IN_EXT + i * VOL_EXTENT_SIZE);
	put64(buf + IN_ATIME, (uint64_t)in->atime_ns);
	for (i = 0; i < VOL_REGIONS; i++) {
		if (in->rg[i].flags == 0)
			continue;
		put64(buf + IN_RG + i * VOL_REGION_SIZE, in->rg[i].off);
		put64(buf + IN_RG + i * VOL_REGION_SIZE + 8, in->rg[i].len);
		put32(buf + IN_RG + i * VOL_REGION_SIZE + 16, in->rg[i].flags);
	}
	put32(buf + IN_CRC, crc_skip(buf, VOL_INODE_SIZE, IN_CRC));
}

int
vol_extent_check(const struct vol_super *sb, const struct vol_extent *e,
    char *err, size_t errlen)
{
	if (e->count == 0)
		return verr(err, errlen, "count 0");
	if (e->flags & ~VOL_EXT_UNWRITTEN)
		return verr(err, errlen, "flags %#" PRIx32 " unknown",
		    e->flags);
	if (e->pblk < sb->data_start || e->pblk >= sb->nblocks ||
	    e->count > sb->nblocks - e->pblk)
		return verr(err, errlen, "blocks %" PRIu64 "+%" PRIu32
		    " outside the data area %" PRIu64 "-%" PRIu64, e->pblk,
		    e->count, sb->data_start, sb->nblocks - 1);
	if (e->lblk >= VOL_LBLK_LIMIT(sb->bsize) ||
	    e->count > VOL_LBLK_LIMIT(sb->bsize) - e->lblk)
		return verr(err, errlen, "file block %" PRIu64 "+%" PRIu32
		    " past the largest file", e->lblk, e->count);
	return 0;
}

/* Check extents, sorted by file block and not overlapping there. */
static int
extents_check(const struct vol_super *sb, const char *what,
    const struct vol_extent *e, uint32_t n, char *err, size_t errlen)
{
	char		 why[128];
	uint32_t	 i;

	for (i = 0; i < n; i++) {
		if (vol_extent_check(sb, &e[i], why, sizeof(why)) == -1)
			return verr(err, errlen, "%s: extent %" PRIu32 ": %s",
			    what, i, why);
		if (i > 0 && e[i].lblk < e[i - 1].lblk + e[i - 1].count)
			return verr(err, errlen, "%s: extent %" PRIu32 ": file "
			    "block %" PRIu64 " overlaps or precedes the one "
			    "before", what, i, e[i].lblk);
	}
	return 0;
}

static int
inode_free_check(const uint8_t *buf, struct vol_inode *in, uint32_t ino,
    char *err, size_t errlen)
{
	/* All but mode, gen and crc must be zero in a free inode. */
	if (!allzero(buf + IN_UID, IN_GEN - IN_UID) ||
	    !allzero(buf + IN_PARENT, IN_CRC - IN_PARENT) ||
	    !allzero(buf + IN_EXTBLK, VOL_INODE_SIZE - IN_EXTBLK))
		return verr(err, errlen, "inode %" PRIu32 ": free (mode 0) "
		    "but fields are set", ino);
	memset(in, 0, sizeof(*in));
	in->gen = get32(buf + IN_GEN);
	return 0;
}

static int
inode_fields(const struct vol_super *sb, uint32_t ino,
    const struct vol_inode *in, char *err, size_t errlen)
{
	uint32_t	 type = in->mode & 0170000;

	if (type != 0100000 && type != 0040000)
		return verr(err, errlen, "inode %" PRIu32 ": mode %#" PRIo32
		    ": not a regular file or directory", ino, in->mode);
	if (in->mode & ~(0170000 | 07777))
		return verr(err, errlen, "inode %" PRIu32 ": mode %#" PRIo32
		    ": unknown bits", ino, in->mode);
	if (in->size > (uint64_t)INT64_MAX)
		return verr(err, errlen, "inode %" PRIu32 ": size %" PRIu64
		    ": too large", ino, in->size);
	if (type == 0040000 && (in->parent < 1 || in->parent > sb->ninodes))
		return verr(err, errlen, "inode %" PRIu32 ": parent %" PRIu32
		    ": out of range", ino, in->parent);
	if (type == 0100000 && in->parent != 0)
		return verr(err, errlen, "inode %" PRIu32 ": parent %" PRIu32
		    " set in a regular file", ino, in->parent);
	if (in->nextents > sb->nblocks - sb->data_start)
		return verr(err, errlen, "inode %" PRIu32 ": nextents %" PRIu32
		    ": more than data blocks", ino, in->nextents);
	if ((in->nextents > VOL_EXT_INLINE) != (in->ext_block != 0))
		return verr(err, errlen, "inode %" PRIu32 ": nextents %" PRIu32
		    " with ext_block %" PRIu64, ino, in->nextents,
		    in->ext_block);
	if (in->ext_block != 0 && (in->ext_block < sb->data_start ||
	    in->ext_block >= sb->nblocks))
		return verr(err, errlen, "inode %" PRIu32 ": ext_block %"
		    PRIu64 ": outside the data area", ino, in->ext_block);
	return 0;
}

int
vol_region_check(const struct vol_region *rg, char *err, size_t errlen)
{
	if (rg->flags & ~VOL_RG_ALL)
		return verr(err, errlen, "flags %#" PRIx32 " unknown",
		    rg->flags);
	if (rg->off > (uint64_t)INT64_MAX ||
	    rg->len > (uint64_t)INT64_MAX - rg->off)
		return verr(err, errlen, "%" PRIu64 "+%" PRIu64 " past the "
		    "largest file", rg->off, rg->len);
	return 0;
}

/* Managed regions: empty slots all zero, none in a directory. */
static int
regions_decode(const uint8_t *buf, uint32_t ino, struct vol_inode *in,
    char *err, size_t errlen)
{
	struct vol_region *rg;
	const uint8_t	*p;
	char		 why[96];
	int		 i;

	for (i = 0; i < VOL_REGIONS; i++) {
		p = buf + IN_RG + i * VOL_REGION_SIZE;
		rg = &in->rg[i];
		rg->off = get64(p);
		rg->len = get64(p + 8);
		rg->flags = get32(p + 16);
		if (rg->flags == 0) {
			if (!allzero(p, VOL_REGION_SIZE))
				return verr(err, errlen, "inode %" PRIu32
				    ": empty region %d not zero", ino, i);
			continue;
		}
		if ((in->mode & 0170000) != 0100000)
			return verr(err, errlen, "inode %" PRIu32 ": a "
			    "managed region on a directory", ino);
		if (vol_region_check(rg, why, sizeof(why)) == -1)
			return verr(err, errlen, "inode %" PRIu32 ": region "
			    "%d: %s", ino, i, why);
	}
	return 0;
}

int
vol_inode_decode(const struct vol_super *sb, uint32_t ino,
    const uint8_t *buf, struct vol_inode *in, char *err, size_t errlen)
{
	char		 what[32];
	uint32_t	 crc, i, n;

	memset(in, 0, sizeof(*in));
	if (ino < 1 || ino > sb->ninodes)
		return verr(err, errlen, "inode %" PRIu32 ": out of range 1-%"
		    PRIu32, ino, sb->ninodes);
	if (allzero(buf, VOL_INODE_SIZE))
		return 0;		/* never used since mkfs */
	crc = get32(buf + IN_CRC);
	if (crc != crc_skip(buf, VOL_INODE_SIZE, IN_CRC))
		return verr(err, errlen, "inode %" PRIu32 ": crc %08" PRIx32
		    " does not match its contents", ino, crc);
	in->mode = get32(buf + IN_MODE);
	if (in->mode == 0)
		return inode_free_check(buf, in, ino, err, errlen);
	in->uid = get32(buf + IN_UID);
	in->gid = get32(buf + IN_GID);
	in->nlink = get32(buf + IN_NLINK);
	in->size = get64(buf + IN_SIZE);
	in->mtime_ns = (int64_t)get64(buf + IN_MTIME);
	in->ctime_ns = (int64_t)get64(buf + IN_CTIME);
	in->gen = get32(buf + IN_GEN);
	in->parent = get32(buf + IN_PARENT);
	in->nextents = get32(buf + IN_NEXTENTS);
	in->ext_block = get64(buf + IN_EXTBLK);
	if (inode_fields(sb, ino, in, err, errlen) == -1)
		return -1;
	in->atime_ns = (int64_t)get64(buf + IN_ATIME);
	if (regions_decode(buf, ino, in, err, errlen) == -1)
		return -1;
	n = in->nextents < VOL_EXT_INLINE ? in->nextents : VOL_EXT_INLINE;
	for (i = 0; i < n; i++)
		extent_decode(buf + IN_EXT + i * VOL_EXTENT_SIZE, &in->ext[i]);
	if (!allzero(buf + IN_EXT + n * VOL_EXTENT_SIZE,
	    (VOL_EXT_INLINE - n) * VOL_EXTENT_SIZE))
		return verr(err, errlen, "inode %" PRIu32 ": extent slots "
		    "past nextents %" PRIu32 " not zero", ino, in->nextents);
	(void)snprintf(what, sizeof(what), "inode %" PRIu32, ino);
	return extents_check(sb, what, in->ext, n, err, errlen);
}

uint32_t
vol_extblk_cap(uint32_t bsize)
{
	return (bsize - VOL_EXTBLK_HDR) / VOL_EXTENT_SIZE;
}

void
vol_extblk_encode(const struct vol_super *sb, uint32_t owner,
    const struct vol_extent *e, uint32_t n, uint64_t next, uint8_t *buf)
{
	uint32_t	 i;

	memset(buf, 0, sb->bsize);
	put32(buf + XB_MAGIC, VOL_EXTBLK_MAGIC);
	put32(buf + XB_OWNER, owner);
	put32(buf + XB_COUNT, n);
	put64(buf + XB_NEXT, next);
	for (i = 0; i < n && i < vol_extblk_cap(sb->bsize); i++)
		extent_encode(&e[i], buf + VOL_EXTBLK_HDR +
		    i * VOL_EXTENT_SIZE);
	put32(buf + XB_CRC, crc_skip(buf, sb->bsize, XB_CRC));
}

int
vol_extblk_decode(const struct vol_super *sb, uint32_t owner,
    const uint8_t *buf, struct vol_extent *e, uint32_t *np, uint64_t *next,
    char *err, size_t errlen)
{
	char		 what[64];
	uint32_t	 crc, n, i, cap = vol_extblk_cap(sb->bsize);

	*np = 0;
	*next = 0;
	if (get32(buf + XB_MAGIC) != VOL_EXTBLK_MAGIC)
		return verr(err, errlen, "inode %" PRIu32 ": extent block: "
		    "bad magic", owner);
	crc = get32(buf + XB_CRC);
	if (crc != crc_skip(buf, sb->bsize, XB_CRC))
		return verr(err, errlen, "inode %" PRIu32 ": extent block: crc "
		    "%08" PRIx32 " does not match its contents", owner, crc);
	if (get32(buf + XB_OWNER) != owner)
		return verr(err, errlen, "inode %" PRIu32 ": extent block: "
		    "owner %" PRIu32 ", not this inode", owner,
		    get32(buf + XB_OWNER));
	n = get32(buf + XB_COUNT);
	if (n < 1 || n > cap)
		return verr(err, errlen, "inode %" PRIu32 ": extent block: "
		    "count %" PRIu32 ": out of range 1-%" PRIu32, owner, n,
		    cap);
	*next = get64(buf + XB_NEXT);
	if (*next != 0 && (*next < sb->data_start || *next >= sb->nblocks))
		return verr(err, errlen, "inode %" PRIu32 ": extent block: "
		    "next %" PRIu64 ": outside the data area", owner, *next);
	if (!allzero(buf + XB_NEXT + 8, VOL_EXTBLK_HDR - XB_NEXT - 8) ||
	    !allzero(buf + VOL_EXTBLK_HDR + n * VOL_EXTENT_SIZE,
	    sb->bsize - VOL_EXTBLK_HDR - n * VOL_EXTENT_SIZE))
		return verr(err, errlen, "inode %" PRIu32 ": extent block: "
		    "unused bytes not zero", owner);
	for (i = 0; i < n; i++)
		extent_decode(buf + VOL_EXTBLK_HDR + i * VOL_EXTENT_SIZE,
		    &e[i]);
	(void)snprintf(what, sizeof(what), "inode %" PRIu32 ": extent block",
	    owner);
	if (extents_check(sb, what, e, n, err, errlen) == -1)
		return -1;
	*np = n;
	return 0;
}

int
vol_name_check(const char *name, size_t len)
{
	if (len > VOL_NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (len == 0 || memchr(name, '/', len) != NULL ||
	    memchr(name, '\0', len) != NULL ||
	    (len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.')) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

void
vol_dirent_encode(const struct vol_dirent *d, uint8_t *buf)
{
	size_t	 n;

	memset(buf, 0, VOL_DIRENT_SIZE);
	if (d->ino == 0)
		return;
	n = d->namelen <= VOL_NAME_MAX ? d->namelen : VOL_NAME_MAX;
	put32(buf + DE_INO, d->ino);
	buf[DE_TYPE] = d->type;
	buf[DE_NAMELEN] = n;
	memcpy(buf + DE_NAME, d->name, n);
}

int
vol_dirent_decode(const struct vol_super *sb, const uint8_t *buf,
    struct vol_dirent *d, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	d->ino = get32(buf + DE_INO);
	if (d->ino == 0) {
		if (!allzero(buf, VOL_DIRENT_SIZE))
			return verr(err, errlen, "free dirent not zero");
		return 0;
	}
	if (d->ino > sb->ninodes)
		return verr(err, errlen, "dirent: inode %" PRIu32 ": out of "
		    "range 1-%" PRIu32, d->ino, sb->ninodes);
	d->type = buf[DE_TYPE];
	if (d->type != VOL_DT_REG && d->type != VOL_DT_DIR)
		return verr(err, errlen, "dirent: inode %" PRIu32 ": type %u "
		    "unknown", d->ino, d->type);
	d->namelen = buf[DE_NAMELEN];
	if (d->namelen > VOL_NAME_MAX)
		return verr(err, errlen, "dirent: inode %" PRIu32 ": namelen %u"
		    " over %d", d->ino, d->namelen, VOL_NAME_MAX);
	memcpy(d->name, buf + DE_NAME, d->namelen);
	d->name[d->namelen] = '\0';
	if (vol_name_check(d->name, d->namelen) == -1)
		return verr(err, errlen, "dirent: inode %" PRIu32 ": invalid "
		    "name", d->ino);
	if (!allzero(buf + DE_NAME + d->namelen, VOL_NAME_MAX - d->namelen))
		return verr(err, errlen, "dirent: inode %" PRIu32 ": bytes "
		    "after the name not zero", d->ino);
	return 0;
}

int
vol_bit_get(const uint8_t *map, uint64_t b)
{
	return (map[b / 8] >> (b % 8)) & 1;
}

void
vol_bit_set(uint8_t *map, uint64_t b)
{
	map[b / 8] |= 1 << (b % 8);
}

void
vol_bit_clr(uint8_t *map, uint64_t b)
{
	map[b / 8] &= ~(1 << (b % 8));
}

uint32_t
vol_jdesc_cap(uint32_t bsize)
{
	return (bsize - VOL_JDESC_HDR) / 8;
}

void
vol_jhdr_encode(const struct vol_jhdr *h, uint8_t *buf, uint32_t bsize)
{
	memset(buf, 0, bsize);
	memcpy(buf, VOL_JHDR_MAGIC, 8);
	put64(buf + JH_SEQ, h->seq);
	put64(buf + JH_TAIL, h->tail);
	put64(buf + JH_EPOCH, h->epoch);
	put32(buf + JH_CRC, crc_skip(buf, JH_END, JH_CRC));
}

int
vol_jhdr_decode(const struct vol_super *sb, const uint8_t *buf,
    struct vol_jhdr *h, char *err, size_t errlen)
{
	uint32_t	 crc;

	memset(h, 0, sizeof(*h));
	if (memcmp(buf, VOL_JHDR_MAGIC, 8) != 0)
		return verr(err, errlen, "journal header (block %" PRIu64 "): "
		    "bad magic", sb->journal_start);
	crc = get32(buf + JH_CRC);
	if (crc != crc_skip(buf, JH_END, JH_CRC))
		return verr(err, errlen, "journal header (block %" PRIu64 "): "
		    "crc %08" PRIx32 " does not match its contents",
		    sb->journal_start, crc);
	h->seq = get64(buf + JH_SEQ);
	h->tail = get64(buf + JH_TAIL);
	h->epoch = get64(buf + JH_EPOCH);
	if (h->tail < 1 || h->tail >= sb->journal_blocks)
		return verr(err, errlen, "journal header (block %" PRIu64 "): "
		    "tail %" PRIu64 ": out of range 1-%" PRIu64,
		    sb->journal_start, h->tail, sb->journal_blocks - 1);
	if (h->epoch > sb->epoch)
		return verr(err, errlen, "journal header (block %" PRIu64 "): "
		    "epoch %" PRIu64 " after the superblock's %" PRIu64,
		    sb->journal_start, h->epoch, sb->epoch);
	if (!allzero(buf + JH_END, sb->bsize - JH_END))
		return verr(err, errlen, "journal header (block %" PRIu64 "): "
		    "unused bytes not zero", sb->journal_start);
	return 0;
}

int
vol_journal_target_ok(const struct vol_super *sb, uint64_t b)
{
	return (b >= sb->bitmap_start && b < sb->journal_start) ||
	    (b >= sb->data_start && b < sb->nblocks);
}

void
vol_jdesc_encode(uint8_t *buf, uint32_t bsize, uint64_t seq, uint64_t epoch,
    const uint64_t *target, uint32_t n, const uint8_t *images)
{
	uint32_t	 i, crc;

	memset(buf, 0, bsize);
	memcpy(buf, VOL_JDESC_MAGIC, 8);
	put64(buf + JD_SEQ, seq);
	put64(buf + JD_EPOCH, epoch);
	put32(buf + JD_N, n);
	for (i = 0; i < n && i < vol_jdesc_cap(bsize); i++)
		put64(buf + VOL_JDESC_HDR + 8 * i, target[i]);
	crc = crc_skip(buf, bsize, JD_CRC);
	for (i = 0; i < n; i++)
		crc = vol_crc32c(crc, images + (size_t)i * bsize, bsize);
	put32(buf + JD_CRC, crc);
}

int
vol_jdesc_decode(const struct vol_super *sb, const uint8_t *buf,
    struct vol_jdesc *d, char *err, size_t errlen)
{
	uint32_t	 i, cap = vol_jdesc_cap(sb->bsize);

	if (memcmp(buf, VOL_JDESC_MAGIC, 8) != 0)
		return verr(err, errlen, "journal descriptor: bad magic");
	d->seq = get64(buf + JD_SEQ);
	d->epoch = get64(buf + JD_EPOCH);
	d->n = get32(buf + JD_N);
	d->crc = get32(buf + JD_CRC);
	/* The record and the header block must fit in the journal. */
	if (d->n < 1 || d->n > cap || d->n > sb->journal_blocks - 2)
		return verr(err, errlen, "journal descriptor %" PRIu64 ": n %"
		    PRIu32 ": out of range", d->seq, d->n);
	if (d->epoch > sb->epoch)
		return verr(err, errlen, "journal descriptor %" PRIu64 ": "
		    "epoch %" PRIu64 " after the superblock's %" PRIu64,
		    d->seq, d->epoch, sb->epoch);
	for (i = 0; i < d->n; i++) {
		d->target[i] = get64(buf + VOL_JDESC_HDR + 8 * i);
		if (!vol_journal_target_ok(sb, d->target[i]))
			return verr(err, errlen, "journal descriptor %" PRIu64
			    ": target %" PRIu32 ": block %" PRIu64 " not in "
			    "the bitmap, inode table or data area", d->seq, i,
			    d->target[i]);
	}
	if (!allzero(buf + VOL_JDESC_HDR + 8 * d->n,
	    sb->bsize - VOL_JDESC_HDR - 8 * d->n))
		return verr(err, errlen, "journal descriptor %" PRIu64 ": "
		    "unused bytes not zero", d->seq);
	return 0;
}

int
vol_read(int fd, const struct vol_super *sb, uint64_t b, void *buf)
{
	uint8_t	*p = buf;
	size_t	 done = 0;
	ssize_t	 r;

	if (b >= sb->nblocks) {
		errno = EINVAL;
		return -1;
	}
	while (done < sb->bsize) {
		r = pread(fd, p + done, sb->bsize - done,
		    (off_t)(b * sb->bsize + done));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0) {
			errno = EIO;	/* the device is shorter than nblocks */
			return -1;
		}
		done += r;
	}
	return 0;
}

static int
pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t	*p = buf;
	size_t		 done = 0;
	ssize_t		 r;

	while (done < len) {
		r = pwrite(fd, p + done, len - done, off + (off_t)done);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0) {
			errno = EIO;
			return -1;
		}
		done += r;
	}
	return 0;
}

int
vol_write(int fd, const struct vol_super *sb, uint64_t b, const void *buf)
{
	if (b >= sb->nblocks) {
		errno = EINVAL;
		return -1;
	}
	return pwrite_all(fd, buf, sb->bsize, (off_t)(b * sb->bsize));
}

int
vol_dev_size(int fd, uint64_t *bytes)
{
	struct stat	 st;

	if (fstat(fd, &st) == -1)
		return -1;
	if (S_ISREG(st.st_mode)) {
		*bytes = st.st_size;
		return 0;
	}
#ifdef BLKGETSIZE64
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, bytes) == -1 ? -1 : 0;
#endif
	errno = ENOTBLK;
	return -1;
}

int
vol_read_super(int fd, struct vol_super *sb, char *err, size_t errlen)
{
	uint8_t		 buf[VOL_SUPER_SIZE];
	uint64_t	 bytes;
	size_t		 done = 0;
	ssize_t		 r;

	while (done < sizeof(buf)) {
		r = pread(fd, buf + done, sizeof(buf) - done, (off_t)done);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return verr(err, errlen, "superblock: read: %s",
			    strerror(errno));
		if (r == 0)
			return verr(err, errlen, "superblock: volume shorter "
			    "than %d bytes", VOL_SUPER_SIZE);
		done += r;
	}
	if (vol_super_decode(buf, sizeof(buf), sb, err, errlen) == -1)
		return -1;
	if (vol_dev_size(fd, &bytes) == -1)
		return verr(err, errlen, "volume size: %s", strerror(errno));
	if (bytes / sb->bsize < sb->nblocks)
		return verr(err, errlen, "superblock: nblocks %" PRIu64 " of %"
		    PRIu32 " bytes, but the volume has %" PRIu64 " bytes",
		    sb->nblocks, sb->bsize, bytes);
	return 0;
}

int
vol_write_super(int fd, const struct vol_super *sb)
{
	uint8_t	 buf[VOL_SUPER_SIZE];

	vol_super_encode(sb, buf);
	if (pwrite_all(fd, buf, sizeof(buf), 0) == -1)
		return -1;
	return fdatasync(fd);
}

/*
 * Walk the records from the header's tail.  A record is valid if its
 * descriptor decodes, has the expected seq and an epoch no older than the
 * record before it, fits before the end of the journal, and its crc
 * covers the images as read.  A record never wraps: the writer starts it
 * at journal block 1 when it does not fit before the end, so a record
 * that is not where expected is looked for at block 1 too.  A torn
 * record or a stale one (older seq, left from before the last wrap) ends
 * the walk.
 */
struct jscan {
	int			 fd;
	const struct vol_super	*sb;
	struct vol_jdesc	*d;
	uint8_t			*buf;		/* one block */
};

/* Read and check the record at journal block pos: 1 valid, 0 not, -1. */
static int
jrecord(struct jscan *js, uint64_t pos, uint64_t seq, uint64_t epoch,
    char *err, size_t errlen)
{
	const struct vol_super	*sb = js->sb;
	uint32_t		 crc, i;

	if (pos + 1 >= sb->journal_blocks)
		return 0;
	if (vol_read(js->fd, sb, sb->journal_start + pos, js->buf) == -1)
		return verr(err, errlen, "journal block %" PRIu64 ": read: %s",
		    sb->journal_start + pos, strerror(errno));
	if (vol_jdesc_decode(sb, js->buf, js->d, NULL, 0) == -1)
		return 0;
	if (js->d->seq != seq || js->d->epoch < epoch ||
	    pos + 1 + js->d->n > sb->journal_blocks)
		return 0;
	crc = crc_skip(js->buf, sb->bsize, JD_CRC);
	for (i = 0; i < js->d->n; i++) {
		if (vol_read(js->fd, sb, sb->journal_start + pos + 1 + i,
		    js->buf) == -1)
			return verr(err, errlen, "journal block %" PRIu64
			    ": read: %s", sb->journal_start + pos + 1 + i,
			    strerror(errno));
		crc = vol_crc32c(crc, js->buf, sb->bsize);
	}
	return crc == js->d->crc;
}

static int
jvisit(struct jscan *js, uint64_t pos, vol_jscan_cb cb, void *arg,
    char *err, size_t errlen)
{
	const struct vol_super	*sb = js->sb;
	uint32_t		 i;

	for (i = 0; i < js->d->n; i++) {
		if (vol_read(js->fd, sb, sb->journal_start + pos + 1 + i,
		    js->buf) == -1)
			return verr(err, errlen, "journal block %" PRIu64
			    ": read: %s", sb->journal_start + pos + 1 + i,
			    strerror(errno));
		if (cb(js->d->target[i], js->buf, arg) != 0)
			return verr(err, errlen, "journal record %" PRIu64
			    ": block %" PRIu64 " not applied", js->d->seq,
			    js->d->target[i]);
	}
	return 0;
}

static int
jscan(int fd, const struct vol_super *sb, struct vol_jhdr *h,
    vol_jscan_cb cb, void *arg, uint64_t *head, uint64_t *lastepoch,
    char *err, size_t errlen)
{
	struct jscan	 js;
	uint64_t	 pos, seq, epoch;
	int		 n = 0, r;

	js.fd = fd;
	js.sb = sb;
	js.buf = malloc(sb->bsize);
	js.d = malloc(sizeof(*js.d) + sizeof(uint64_t) *
	    vol_jdesc_cap(sb->bsize));
	if (js.buf == NULL || js.d == NULL) {
		free(js.buf);
		free(js.d);
		return verr(err, errlen, "journal: %s", strerror(errno));
	}
	if (vol_read(fd, sb, sb->journal_start, js.buf) == -1) {
		r = verr(err, errlen, "journal header (block %" PRIu64 "): "
		    "read: %s", sb->journal_start, strerror(errno));
		goto out;
	}
	if ((r = vol_jhdr_decode(sb, js.buf, h, err, errlen)) == -1)
		goto out;
	pos = h->tail;
	seq = h->seq;
	epoch = h->epoch;
	for (;;) {
		if ((r = jrecord(&js, pos, seq, epoch, err, errlen)) == 0 &&
		    pos != 1 &&
		    (r = jrecord(&js, 1, seq, epoch, err, errlen)) == 1)
			pos = 1;
		if (r != 1)
			break;
		if (cb != NULL &&
		    (r = jvisit(&js, pos, cb, arg, err, errlen)) == -1)
			goto out;
		pos += 1 + js.d->n;
		if (pos + 1 >= sb->journal_blocks)
			pos = 1;
		seq++;
		epoch = js.d->epoch;
		/* Each record holds a block; the journal cannot hold more. */
		if (++n >= INT32_MAX || (uint64_t)n >= sb->journal_blocks)
			break;
	}
	if (r == -1)
		goto out;
	*head = pos;
	if (lastepoch != NULL)
		*lastepoch = epoch;
	r = n;
 out:
	free(js.buf);
	free(js.d);
	return r;
}

int
vol_journal_scan(int fd, const struct vol_super *sb, struct vol_jhdr *h,
    vol_jscan_cb cb, void *arg, uint64_t *head, char *err, size_t errlen)
{
	return jscan(fd, sb, h, cb, arg, head, NULL, err, errlen);
}

struct jreplay {
	int			 fd;
	const struct vol_super	*sb;
};

static int
jreplay_write(uint64_t target, const uint8_t *image, void *arg)
{
	struct jreplay	*jr = arg;

	return vol_write(jr->fd, jr->sb, target, image);
}

int
vol_journal_replay(int fd, const struct vol_super *sb, struct vol_jhdr *h,
    uint64_t *head, char *err, size_t errlen)
{
	struct jreplay	 jr;
	uint8_t		*buf;
	uint64_t	 epoch;
	int		 n;

	jr.fd = fd;
	jr.sb = sb;
	n = jscan(fd, sb, h, jreplay_write, &jr, head, &epoch, err, errlen);
	if (n <= 0)
		return n;
	if (fdatasync(fd) == -1)
		return verr(err, errlen, "journal replay: fdatasync: %s",
		    strerror(errno));
	/* Only once the images are durable may the header forget them. */
	h->seq += n;
	h->tail = *head;
	h->epoch = epoch;
	if ((buf = malloc(sb->bsize)) == NULL)
		return verr(err, errlen, "journal replay: %s",
		    strerror(errno));
	vol_jhdr_encode(h, buf, sb->bsize);
	if (vol_write(fd, sb, sb->journal_start, buf) == -1 ||
	    fdatasync(fd) == -1) {
		free(buf);
		return verr(err, errlen, "journal header (block %" PRIu64 "): "
		    "write: %s", sb->journal_start, strerror(errno));
	}
	free(buf);
	return n;
}

static int
mkfs_zero(int fd, const struct vol_super *sb, uint64_t from, uint64_t n,
    const uint8_t *zero, char *err, size_t errlen)
{
	uint64_t	 b;

	for (b = from; b < from + n; b++)
		if (vol_write(fd, sb, b, zero) == -1)
			return verr(err, errlen, "block %" PRIu64 ": write: %s",
			    b, strerror(errno));
	return 0;
}

static int
mkfs_bitmap(int fd, const struct vol_super *sb, uint8_t *buf, char *err,
    size_t errlen)
{
	uint64_t	 i, b, bits = (uint64_t)sb->bsize * 8;

	for (i = 0; i < sb->bitmap_blocks; i++) {
		memset(buf, 0, sb->bsize);
		for (b = i * bits; b < (i + 1) * bits; b++)
			/* Metadata used; bits past nblocks too: never free. */
			if (b < sb->data_start || b >= sb->nblocks)
				vol_bit_set(buf, b - i * bits);
		if (vol_write(fd, sb, sb->bitmap_start + i, buf) == -1)
			return verr(err, errlen, "bitmap block %" PRIu64
			    ": write: %s", sb->bitmap_start + i,
			    strerror(errno));
	}
	return 0;
}

static int
mkfs_root(int fd, const struct vol_super *sb, uint8_t *buf, char *err,
    size_t errlen)
{
	struct vol_inode	 root;
	struct timespec		 ts;
	uint64_t		 blk;
	size_t			 off;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return verr(err, errlen, "clock_gettime: %s", strerror(errno));
	memset(&root, 0, sizeof(root));
	root.mode = 0040000 | 0755;
	root.nlink = 2;
	root.mtime_ns = root.ctime_ns = (int64_t)ts.tv_sec * 1000000000 +
	    ts.tv_nsec;
	root.gen = 1;
	root.parent = VOL_ROOT_INO;
	vol_inode_pos(sb, VOL_ROOT_INO, &blk, &off);
	memset(buf, 0, sb->bsize);
	vol_inode_encode(&root, buf + off);
	if (vol_write(fd, sb, blk, buf) == -1)
		return verr(err, errlen, "inode table block %" PRIu64
		    ": write: %s", blk, strerror(errno));
	return 0;
}

static int
mkfs_journal(int fd, const struct vol_super *sb, uint8_t *buf, char *err,
    size_t errlen)
{
	struct vol_jhdr	 h;

	/*
	 * A random first seq: records left by an earlier file system on
	 * this volume can never have the seq the walk expects.
	 */
	randombytes_buf(&h.seq, sizeof(h.seq));
	h.seq >>= 16;
	h.tail = 1;
	h.epoch = sb->epoch;
	vol_jhdr_encode(&h, buf, sb->bsize);
	if (vol_write(fd, sb, sb->journal_start, buf) == -1)
		return verr(err, errlen, "journal header (block %" PRIu64 "): "
		    "write: %s", sb->journal_start, strerror(errno));
	memset(buf, 0, sb->bsize);
	return mkfs_zero(fd, sb, sb->journal_start + 1, 1, buf, err, errlen);
}

int
vol_mkfs(int fd, uint64_t bytes, uint32_t bsize, uint32_t ninodes,
    const char *label, struct vol_super *sb, char *err, size_t errlen)
{
	uint8_t	*buf;
	size_t	 i;
	int	 r;

	if (label != NULL && strlen(label) > VOL_LABEL_MAX)
		return verr(err, errlen, "label longer than %d bytes",
		    VOL_LABEL_MAX);
	for (i = 0; label != NULL && label[i] != '\0'; i++)
		if (label[i] < 0x20 || label[i] > 0x7e)
			return verr(err, errlen, "label: not printable ASCII");
	if (vol_layout(sb, bytes, bsize, ninodes, err, errlen) == -1)
		return -1;
	if (sodium_init() == -1)
		return verr(err, errlen, "sodium_init failed");
	randombytes_buf(sb->uuid, sizeof(sb->uuid));
	sb->ctime = time(NULL);
	if (label != NULL)
		(void)strlcpy(sb->label, label, sizeof(sb->label));
	if ((buf = calloc(1, sb->bsize)) == NULL)
		return verr(err, errlen, "mkfs: %s", strerror(errno));
	/* Block 0 last: a volume is not a file system until all is there. */
	if ((r = mkfs_bitmap(fd, sb, buf, err, errlen)) == -1)
		goto out;
	memset(buf, 0, sb->bsize);
	if ((r = mkfs_zero(fd, sb, sb->itable_start, sb->itable_blocks, buf,
	    err, errlen)) == -1)
		goto out;
	if ((r = mkfs_root(fd, sb, buf, err, errlen)) == -1 ||
	    (r = mkfs_journal(fd, sb, buf, err, errlen)) == -1)
		goto out;
	memset(buf, 0, sb->bsize);
	vol_super_encode(sb, buf);
	if (fdatasync(fd) == -1 || vol_write(fd, sb, 0, buf) == -1 ||
	    fdatasync(fd) == -1)
		r = verr(err, errlen, "superblock: write: %s", strerror(errno));
 out:
	free(buf);
	return r;
}

int
vol_region_hit(const struct vol_region *rg, uint64_t off, uint64_t len,
    uint32_t want)
{
	uint64_t	 end = len > UINT64_MAX - off ? UINT64_MAX : off + len;
	int		 i;

	if (len == 0)
		end = off + 1 > off ? off + 1 : off;
	for (i = 0; i < VOL_REGIONS; i++) {
		if ((rg[i].flags & want) == 0)
			continue;
		if (end > rg[i].off &&
		    (rg[i].len == 0 || off < rg[i].off + rg[i].len))
			return 1;
	}
	return 0;
}
