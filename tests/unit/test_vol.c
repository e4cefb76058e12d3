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
 * The on-volume format (libcl/vol.c): round trips of every structure,
 * each decoder's refusals of out-of-range fields and bad checksums, the
 * journal walk (torn record, wrap to block 1, stale records, epochs) and
 * replay, and the layout mkfs writes.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsproto.h"
#include "vol.h"
#include "unit.h"

static char	 vpath[512];
static char	 err[256];

/* Recompute a structure's crc32c with its crc field at off counted 0. */
static void
recrc(uint8_t *buf, size_t len, size_t off)
{
	static const uint8_t	 zero[4];
	uint32_t		 c;

	c = vol_crc32c(0, buf, off);
	c = vol_crc32c(c, zero, 4);
	c = vol_crc32c(c, buf + off + 4, len - off - 4);
	buf[off] = c & 0xff;
	buf[off + 1] = (c >> 8) & 0xff;
	buf[off + 2] = (c >> 16) & 0xff;
	buf[off + 3] = c >> 24;
}

static void
put32le(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

static void
put64le(uint8_t *p, uint64_t v)
{
	put32le(p, v & 0xffffffff);
	put32le(p + 4, v >> 32);
}

/* An in-memory superblock of a 64 MiB volume, 4 KiB blocks. */
static void
mksuper(struct vol_super *sb)
{
	if (vol_layout(sb, 64 << 20, 0, 0, err, sizeof(err)) == -1)
		unit_diag("layout: %s", err);
	sb->epoch = 5;
}

static void
test_crc(void)
{
	CHECK(vol_crc32c(0, "123456789", 9) == 0xe3069283,
	    "crc32c of \"123456789\" is e3069283");
	CHECK(vol_crc32c(vol_crc32c(0, "1234", 4), "56789", 5) == 0xe3069283,
	    "crc32c chains");
}

static void
test_layout(void)
{
	struct vol_super	 sb;
	uint64_t		 min;
	char			 want[128];

	CHECK(vol_layout(&sb, 1ULL << 30, 0, 0, err, sizeof(err)) == 0 &&
	    sb.bsize == 4096 && sb.nblocks == 262144,
	    "1 GiB: 262144 blocks of 4096");
	CHECK(sb.ninodes == (1U << 30) / 16384,
	    "default: one inode per 16 KiB");
	CHECK(sb.journal_blocks == 262144 / 128, "journal nblocks/128");
	CHECK(sb.bitmap_start == 1 && sb.itable_start == 1 + sb.bitmap_blocks &&
	    sb.journal_start == sb.itable_start + sb.itable_blocks &&
	    sb.data_start == sb.journal_start + sb.journal_blocks,
	    "areas in order: bitmap, inodes, journal, data");
	CHECK(vol_layout(&sb, 1ULL << 40, 0, 0, err, sizeof(err)) == 0 &&
	    sb.journal_blocks == 8192, "journal at most 8192 blocks");
	min = vol_min_bytes(0, 0);
	CHECK(min > 0 && vol_layout(&sb, min, 0, 0, err, sizeof(err)) == 0 &&
	    sb.ninodes == 64 && sb.journal_blocks == VOL_JOURNAL_MIN &&
	    sb.nblocks - sb.data_start >= VOL_DATA_MIN,
	    "the minimum size holds 64 inodes, 64 journal and 16 data blocks");
	CHECK(vol_layout(&sb, min - 4096, 0, 0, err, sizeof(err)) == -1,
	    "one block less is too small");
	(void)snprintf(want, sizeof(want), "volume too small: %llu bytes; at "
	    "least %llu needed", (unsigned long long)(min - 4096),
	    (unsigned long long)min);
	CHECK_STR(err, want, "the message names the minimum");
	CHECK(vol_layout(&sb, 1 << 30, 3000, 0, err, sizeof(err)) == -1 &&
	    strstr(err, "block size 3000") != NULL,
	    "block size not a power of two refused");
	CHECK(vol_layout(&sb, 1 << 30, 131072, 0, err, sizeof(err)) == -1,
	    "block size over 64 KiB refused");
	CHECK(vol_layout(&sb, 1 << 30, 0, 10, err, sizeof(err)) == -1 &&
	    strstr(err, "at least 64") != NULL, "fewer than 64 inodes refused");
	CHECK(vol_layout(&sb, 1 << 30, 1024, 1000, err, sizeof(err)) == 0 &&
	    sb.ninodes == 1000 && sb.itable_blocks == 250,
	    "explicit inode count and block size");
}

/* Tamper with a superblock field at off, fix the crc, expect refusal. */
static void
super_refuse(const uint8_t *good, size_t off, uint64_t v, int w,
    const char *field)
{
	struct vol_super	 sb;
	uint8_t			 buf[VOL_SUPER_SIZE];

	memcpy(buf, good, sizeof(buf));
	if (w == 8)
		put64le(buf + off, v);
	else if (w == 4)
		put32le(buf + off, v);
	else
		buf[off] = v;
	recrc(buf, sizeof(buf), VOL_SUPER_SIZE - 4);
	err[0] = '\0';
	if (!CHECKF(vol_super_decode(buf, sizeof(buf), &sb, err,
	    sizeof(err)) == -1 && strstr(err, field) != NULL,
	    "superblock: bad %s refused", field))
		unit_diag("err: %s", err);
}

static void
test_super(void)
{
	struct vol_super	 sb, sb2;
	uint8_t			 buf[VOL_SUPER_SIZE];

	mksuper(&sb);
	memset(sb.uuid, 0xab, sizeof(sb.uuid));
	sb.admin = 3;
	sb.ctime = 1700000000;
	(void)strlcpy(sb.label, "scratch volume", sizeof(sb.label));
	vol_super_encode(&sb, buf);
	CHECK(vol_super_decode(buf, sizeof(buf), &sb2, err,
	    sizeof(err)) == 0 && memcmp(&sb, &sb2, sizeof(sb)) == 0,
	    "superblock round trip");
	CHECK(vol_super_decode(buf, 100, &sb2, err, sizeof(err)) == -1,
	    "a short buffer refused");
	buf[200] ^= 1;
	CHECK(vol_super_decode(buf, sizeof(buf), &sb2, err,
	    sizeof(err)) == -1 && strstr(err, "crc") != NULL,
	    "a flipped bit fails the crc");
	vol_super_encode(&sb, buf);
	buf[0] = 'X';
	CHECK(vol_super_decode(buf, sizeof(buf), &sb2, err,
	    sizeof(err)) == -1 && strstr(err, "magic") != NULL,
	    "bad magic refused");
	vol_super_encode(&sb, buf);
	super_refuse(buf, 8, 1, 4, "version");
	super_refuse(buf, 12, 3000, 4, "bsize");
	super_refuse(buf, 12, 512, 4, "bsize");
	super_refuse(buf, 16, UINT64_MAX / 2, 8, "nblocks");
	super_refuse(buf, 16, sb.nblocks * 4, 8, "bitmap_blocks");
	super_refuse(buf, 52, 0, 4, "ninodes");
	super_refuse(buf, 52, sb.ninodes * 2, 4, "itable_blocks");
	super_refuse(buf, 56, 0, 8, "bitmap_start");
	super_refuse(buf, 64, sb.bitmap_blocks + 1, 8, "bitmap_blocks");
	super_refuse(buf, 72, sb.itable_start + 1, 8, "itable_start");
	super_refuse(buf, 80, sb.itable_blocks - 1, 8, "itable_blocks");
	super_refuse(buf, 88, sb.journal_start - 1, 8, "journal_start");
	super_refuse(buf, 96, 10, 8, "journal_blocks");
	super_refuse(buf, 96, sb.nblocks, 8, "data_start");
	super_refuse(buf, 104, sb.data_start + 1, 8, "data_start");
	super_refuse(buf, 120, 7, 1, "label");
	super_refuse(buf, 120 + 20, 'x', 1, "label");
	super_refuse(buf, 300, 1, 1, "reserved");
}

static void
inode_refuse(const struct vol_super *sb, const struct vol_inode *in,
    size_t off, uint64_t v, int w, const char *what)
{
	struct vol_inode	 out;
	uint8_t			 buf[VOL_INODE_SIZE];

	vol_inode_encode(in, buf);
	if (w == 8)
		put64le(buf + off, v);
	else if (w == 4)
		put32le(buf + off, v);
	recrc(buf, sizeof(buf), 52);
	err[0] = '\0';
	if (!CHECKF(vol_inode_decode(sb, 7, buf, &out, err,
	    sizeof(err)) == -1 && strstr(err, "inode 7") != NULL &&
	    strstr(err, what) != NULL, "inode: %s refused", what))
		unit_diag("err: %s", err);
}

static void
mkinode(const struct vol_super *sb, struct vol_inode *in)
{
	memset(in, 0, sizeof(*in));
	in->mode = 0100644;
	in->uid = 1000;
	in->gid = 100;
	in->nlink = 1;
	in->size = 3 * 4096 + 17;
	in->mtime_ns = 1700000000123456789LL;
	in->ctime_ns = -5;
	in->gen = 9;
	in->nextents = 2;
	in->ext[0] = (struct vol_extent){ 0, sb->data_start, 2, 0 };
	in->ext[1] = (struct vol_extent){ 3, sb->data_start + 10, 4,
	    VOL_EXT_UNWRITTEN };
	in->atime_ns = 1700000000987654321LL;
	in->rg[1] = (struct vol_region){ 4096, 0, VOL_RG_READ | VOL_RG_WRITE };
}

static void
test_inode(void)
{
	struct vol_super	 sb;
	struct vol_inode	 in, out;
	uint8_t			 buf[VOL_INODE_SIZE];
	uint64_t		 blk;
	size_t			 off;

	mksuper(&sb);
	mkinode(&sb, &in);
	vol_inode_encode(&in, buf);
	CHECK(vol_inode_decode(&sb, 7, buf, &out, err, sizeof(err)) == 0 &&
	    memcmp(&in, &out, sizeof(in)) == 0, "inode round trip");
	vol_inode_pos(&sb, 1, &blk, &off);
	CHECK(blk == sb.itable_start && off == 0, "inode 1 at the table start");
	vol_inode_pos(&sb, 17, &blk, &off);
	CHECK(blk == sb.itable_start + 1 && off == 0,
	    "inode 17 starts the second block of 4096");
	buf[100] ^= 0x10;
	CHECK(vol_inode_decode(&sb, 7, buf, &out, err, sizeof(err)) == -1 &&
	    strstr(err, "crc") != NULL, "a flipped bit fails the crc");
	memset(buf, 0, sizeof(buf));
	CHECK(vol_inode_decode(&sb, 7, buf, &out, err, sizeof(err)) == 0 &&
	    out.mode == 0, "a zeroed slot is a free inode");
	CHECK(vol_inode_decode(&sb, 0, buf, &out, err, sizeof(err)) == -1 &&
	    vol_inode_decode(&sb, sb.ninodes + 1, buf, &out, err,
	    sizeof(err)) == -1, "inode numbers 0 and past ninodes refused");
	memset(&out, 0, sizeof(out));
	out.gen = 12;
	vol_inode_encode(&out, buf);
	CHECK(vol_inode_decode(&sb, 7, buf, &in, err, sizeof(err)) == 0 &&
	    in.mode == 0 && in.gen == 12, "a freed inode keeps its gen");
	mkinode(&sb, &in);
	inode_refuse(&sb, &in, 0, 0, 4, "free (mode 0) but fields");
	inode_refuse(&sb, &in, 0, 0120777, 4, "not a regular file");
	inode_refuse(&sb, &in, 0, 0300644, 4, "unknown bits");
	inode_refuse(&sb, &in, 44, 1, 4, "parent 1 set in a regular file");
	inode_refuse(&sb, &in, 48, 9, 4, "nextents 9 with ext_block 0");
	inode_refuse(&sb, &in, 48, sb.nblocks, 4, "more than data blocks");
	inode_refuse(&sb, &in, 16, UINT64_MAX, 8, "size");
	inode_refuse(&sb, &in, 64 + 16, 0, 4, "extent 0: count 0");
	inode_refuse(&sb, &in, 64 + 20, 2, 4, "extent 0: flags");
	inode_refuse(&sb, &in, 64 + 8, 1, 8, "outside the data area");
	inode_refuse(&sb, &in, 64 + 8, sb.nblocks - 1, 8,
	    "outside the data area");
	inode_refuse(&sb, &in, 64, UINT64_MAX - 1, 8, "past the largest file");
	inode_refuse(&sb, &in, 64 + 24, 1, 8, "overlaps");
	in.nextents = 1;
	inode_refuse(&sb, &in, 64 + 24, 5, 8, "slots past nextents");
	in.nextents = 9;
	inode_refuse(&sb, &in, 56, 3, 8, "ext_block 3");
	in.mode = 0040755;
	in.nextents = 0;
	in.parent = 1;
	inode_refuse(&sb, &in, 44, 0, 4, "parent 0");
	inode_refuse(&sb, &in, 44, sb.ninodes + 1, 4, "out of range");
}

/* Managed regions (seed 000; XDSM dm_region_t): format v2, 216-255. */
static void
test_regions(void)
{
	struct vol_super	 sb;
	struct vol_inode	 in;
	struct vol_region	 rg[VOL_REGIONS];
	char			 s[FS_REGIONS_TEXT];

	mksuper(&sb);
	mkinode(&sb, &in);
	inode_refuse(&sb, &in, 216 + 20 + 16, 8, 4, "flags 0x8 unknown");
	inode_refuse(&sb, &in, 216 + 20 + 8, UINT64_MAX, 8,
	    "past the largest file");
	inode_refuse(&sb, &in, 216 + 4, 1, 4, "empty region 0 not zero");
	in.mode = 0040755;
	in.nextents = 0;
	in.parent = 1;
	inode_refuse(&sb, &in, 216 + 20 + 16, 1, 4, "on a directory");
	CHECK(VOL_EXT_INLINE * VOL_EXTENT_SIZE + 64 + 8 + VOL_REGIONS *
	    VOL_REGION_SIZE == VOL_INODE_SIZE, "inode v2 fills 256 bytes");

	CHECK(fs_regions_parse("0:0:rw", rg) == 0 && rg[0].off == 0 &&
	    rg[0].len == 0 && rg[0].flags == (VOL_RG_READ | VOL_RG_WRITE) &&
	    rg[1].flags == 0, "regions: 0:0:rw parsed");
	CHECK(fs_regions_parse("10:20:t,4096:8192:wr", rg) == 0 &&
	    fs_regions_fmt(rg, s, sizeof(s)) == 0 &&
	    strcmp(s, "10:20:t,4096:8192:rw") == 0, "regions: two round trip");
	CHECK(fs_regions_parse("none", rg) == 0 && rg[0].flags == 0 &&
	    fs_regions_fmt(rg, s, sizeof(s)) == 0 && strcmp(s, "none") == 0,
	    "regions: none");
	CHECK(fs_regions_parse("1:1:r,2:2:r,3:3:r", rg) == -1 &&
	    errno == E2BIG, "regions: three refused with E2BIG");
	CHECK(fs_regions_parse("1:1:", rg) == -1 && errno == EINVAL &&
	    fs_regions_parse("1:1:x", rg) == -1 &&
	    fs_regions_parse("1:1:rr", rg) == -1 &&
	    fs_regions_parse("1:1", rg) == -1 &&
	    fs_regions_parse("", rg) == -1 &&
	    fs_regions_parse("1:1:r,", rg) == -1 &&
	    fs_regions_parse("-1:1:r", rg) == -1 &&
	    fs_regions_parse("9223372036854775807:1:r", rg) == -1,
	    "regions: malformed refused");

	memset(rg, 0, sizeof(rg));
	rg[0] = (struct vol_region){ 4096, 4096, VOL_RG_READ };
	CHECK(vol_region_hit(rg, 0, 4096, VOL_RG_READ) == 0 &&
	    vol_region_hit(rg, 4095, 2, VOL_RG_READ) == 1 &&
	    vol_region_hit(rg, 8192, 10, VOL_RG_READ) == 0 &&
	    vol_region_hit(rg, 5000, 1, VOL_RG_WRITE) == 0,
	    "regions: hits by range and flag");
	rg[1] = (struct vol_region){ 100000, 0, VOL_RG_WRITE };
	CHECK(vol_region_hit(rg, UINT64_MAX - 5, 5, VOL_RG_WRITE) == 1 &&
	    vol_region_hit(rg, 99999, 0, VOL_RG_WRITE) == 0 &&
	    vol_region_hit(rg, 100000, 0, VOL_RG_WRITE) == 1,
	    "regions: len 0 runs to the end");
}

static void
test_extblk(void)
{
	struct vol_super	 sb;
	struct vol_extent	 e[200], out[200];
	uint8_t			*buf;
	uint64_t		 next;
	uint32_t		 i, n, cap;

	mksuper(&sb);
	cap = vol_extblk_cap(sb.bsize);
	CHECK(cap == (4096 - 32) / 24, "cap: (bsize - 32) / 24 extents");
	buf = malloc(sb.bsize);
	for (i = 0; i < 100; i++)
		e[i] = (struct vol_extent){ i * 10, sb.data_start + i * 20, 5,
		    i & 1 };
	vol_extblk_encode(&sb, 7, e, 100, sb.data_start + 5000, buf);
	CHECK(vol_extblk_decode(&sb, 7, buf, out, &n, &next, err,
	    sizeof(err)) == 0 && n == 100 && next == sb.data_start + 5000 &&
	    memcmp(e, out, 100 * sizeof(e[0])) == 0,
	    "seed002#2: extent block (block list with overflow link) round trip");
	CHECK(vol_extblk_decode(&sb, 8, buf, out, &n, &next, err,
	    sizeof(err)) == -1 && strstr(err, "owner 7") != NULL,
	    "another inode's extent block refused");
	buf[0] ^= 1;
	CHECK(vol_extblk_decode(&sb, 7, buf, out, &n, &next, err,
	    sizeof(err)) == -1 && strstr(err, "magic") != NULL,
	    "bad magic refused");
	vol_extblk_encode(&sb, 7, e, 100, 0, buf);
	buf[1000] ^= 1;
	CHECK(vol_extblk_decode(&sb, 7, buf, out, &n, &next, err,
	    sizeof(err)) == -1 && strstr(err, "crc") != NULL,
	    "a flipped bit fails the crc");
	vol_extblk_encode(&sb, 7, e, 100, 0, buf);
	put32le(buf + 8, 0);
	recrc(buf, sb.bsize, 12);
	CHECK(vol_extblk_decode(&sb, 7, buf, out, &n, &next, err,
	    sizeof(err)) == -1 && strstr(err, "count 0") != NULL,
	    "count 0 refused");
	put32le(buf + 8, cap + 1);
	recrc(buf, sb.bsize, 12);
	CHECK(vol_extblk_decode(&sb, 7, buf, out, &n, &next, err,
	    sizeof(err)) == -1 && strstr(err, "count") != NULL,
	    "count past the capacity refused");
	vol_extblk_encode(&sb, 7, e, 100, 2, buf);
	CHECK(vol_extblk_decode(&sb, 7, buf, out, &n, &next, err,
	    sizeof(err)) == -1 && strstr(err, "next 2") != NULL,
	    "next outside the data area refused");
	e[50].lblk = 0;
	vol_extblk_encode(&sb, 7, e, 100, 0, buf);
	CHECK(vol_extblk_decode(&sb, 7, buf, out, &n, &next, err,
	    sizeof(err)) == -1 && strstr(err, "extent 50") != NULL,
	    "unsorted extents refused, the extent named");
	free(buf);
}

static void
dirent_refuse(const struct vol_super *sb, const uint8_t *good, size_t off,
    uint8_t v, const char *what)
{
	struct vol_dirent	 d;
	uint8_t			 buf[VOL_DIRENT_SIZE];

	memcpy(buf, good, sizeof(buf));
	buf[off] = v;
	err[0] = '\0';
	if (!CHECKF(vol_dirent_decode(sb, buf, &d, err, sizeof(err)) == -1 &&
	    strstr(err, what) != NULL, "dirent: %s refused", what))
		unit_diag("err: %s", err);
}

static void
test_dirent(void)
{
	struct vol_super	 sb;
	struct vol_dirent	 d, out;
	uint8_t			 buf[VOL_DIRENT_SIZE];
	char			 longname[VOL_NAME_MAX + 2];

	mksuper(&sb);
	memset(&d, 0, sizeof(d));
	d.ino = 42;
	d.type = VOL_DT_DIR;
	memset(d.name, 'n', VOL_NAME_MAX);
	d.namelen = VOL_NAME_MAX;
	vol_dirent_encode(&d, buf);
	CHECK(vol_dirent_decode(&sb, buf, &out, err, sizeof(err)) == 0 &&
	    memcmp(&d, &out, sizeof(d)) == 0,
	    "dirent round trip, 250-byte name");
	memset(&d, 0, sizeof(d));
	vol_dirent_encode(&d, buf);
	CHECK(vol_dirent_decode(&sb, buf, &out, err, sizeof(err)) == 0 &&
	    out.ino == 0, "a zero slot is free");
	dirent_refuse(&sb, buf, 100, 1, "free dirent not zero");
	d.ino = 42;
	d.type = VOL_DT_REG;
	d.namelen = 3;
	memcpy(d.name, "abc", 3);
	vol_dirent_encode(&d, buf);
	dirent_refuse(&sb, buf, 4, 3, "type 3");
	dirent_refuse(&sb, buf, 5, 251, "namelen 251");
	dirent_refuse(&sb, buf, 5, 0, "invalid name");
	dirent_refuse(&sb, buf, 7, '/', "invalid name");
	dirent_refuse(&sb, buf, 7, '\0', "invalid name");
	dirent_refuse(&sb, buf, 20, 'x', "after the name");
	dirent_refuse(&sb, buf, 3, 0x7f, "out of range");
	memcpy(d.name, "..", 3);
	d.namelen = 2;
	vol_dirent_encode(&d, buf);
	dirent_refuse(&sb, buf, 20, 0, "invalid name");
	CHECK(vol_name_check("a", 1) == 0 && vol_name_check("...", 3) == 0,
	    "names a and ... are valid");
	CHECK(vol_name_check(".", 1) == -1 && errno == EINVAL &&
	    vol_name_check("..", 2) == -1 && vol_name_check("", 0) == -1 &&
	    vol_name_check("a/b", 3) == -1, ". .. empty a/b: EINVAL");
	memset(longname, 'x', sizeof(longname));
	CHECK(vol_name_check(longname, VOL_NAME_MAX) == 0 &&
	    vol_name_check(longname, VOL_NAME_MAX + 1) == -1 &&
	    errno == ENAMETOOLONG, "251 bytes: ENAMETOOLONG");
}

static void
test_bits(void)
{
	uint8_t	 map[4] = { 0 };

	vol_bit_set(map, 0);
	vol_bit_set(map, 9);
	vol_bit_set(map, 31);
	CHECK(map[0] == 1 && map[1] == 2 && map[3] == 0x80,
	    "bit b is bit b%8 of byte b/8");
	CHECK(vol_bit_get(map, 9) && !vol_bit_get(map, 10), "bit_get");
	vol_bit_clr(map, 9);
	CHECK(map[1] == 0 && vol_bit_get(map, 31), "bit_clr");
}

static void
test_jhdr(void)
{
	struct vol_super	 sb;
	struct vol_jhdr		 h, out;
	uint8_t			*buf;
	struct vol_jdesc	*d;
	uint64_t		 t[3];
	uint8_t			*img;

	mksuper(&sb);
	buf = malloc(sb.bsize);
	img = calloc(3, sb.bsize);
	d = malloc(sizeof(*d) + 8 * vol_jdesc_cap(sb.bsize));
	h = (struct vol_jhdr){ 77, 5, 4 };
	vol_jhdr_encode(&h, buf, sb.bsize);
	CHECK(vol_jhdr_decode(&sb, buf, &out, err, sizeof(err)) == 0 &&
	    out.seq == 77 && out.tail == 5 && out.epoch == 4,
	    "journal header round trip");
	buf[10] ^= 1;
	CHECK(vol_jhdr_decode(&sb, buf, &out, err, sizeof(err)) == -1 &&
	    strstr(err, "crc") != NULL, "journal header: bad crc refused");
	h.tail = 0;
	vol_jhdr_encode(&h, buf, sb.bsize);
	CHECK(vol_jhdr_decode(&sb, buf, &out, err, sizeof(err)) == -1 &&
	    strstr(err, "tail 0") != NULL, "journal header: tail 0 refused");
	h.tail = sb.journal_blocks;
	vol_jhdr_encode(&h, buf, sb.bsize);
	CHECK(vol_jhdr_decode(&sb, buf, &out, err, sizeof(err)) == -1 &&
	    strstr(err, "tail") != NULL,
	    "journal header: tail past the journal refused");
	h.tail = 1;
	h.epoch = 6;
	vol_jhdr_encode(&h, buf, sb.bsize);
	CHECK(vol_jhdr_decode(&sb, buf, &out, err, sizeof(err)) == -1 &&
	    strstr(err, "epoch 6") != NULL,
	    "journal header: epoch after the superblock's refused");

	t[0] = sb.bitmap_start;
	t[1] = sb.itable_start + 3;
	t[2] = sb.data_start;
	vol_jdesc_encode(buf, sb.bsize, 9, 5, t, 3, img);
	CHECK(vol_jdesc_decode(&sb, buf, d, err, sizeof(err)) == 0 &&
	    d->seq == 9 && d->epoch == 5 && d->n == 3 &&
	    d->target[2] == sb.data_start, "descriptor round trip");
	t[1] = 0;
	vol_jdesc_encode(buf, sb.bsize, 9, 5, t, 3, img);
	CHECK(vol_jdesc_decode(&sb, buf, d, err, sizeof(err)) == -1 &&
	    strstr(err, "block 0 not in") != NULL,
	    "descriptor: target block 0 refused");
	t[1] = sb.journal_start + 1;
	vol_jdesc_encode(buf, sb.bsize, 9, 5, t, 3, img);
	CHECK(vol_jdesc_decode(&sb, buf, d, err, sizeof(err)) == -1,
	    "descriptor: a journal block as target refused");
	t[1] = sb.nblocks;
	vol_jdesc_encode(buf, sb.bsize, 9, 5, t, 3, img);
	CHECK(vol_jdesc_decode(&sb, buf, d, err, sizeof(err)) == -1,
	    "descriptor: target past nblocks refused");
	vol_jdesc_encode(buf, sb.bsize, 9, 5, t, 0, img);
	CHECK(vol_jdesc_decode(&sb, buf, d, err, sizeof(err)) == -1 &&
	    strstr(err, "n 0") != NULL, "descriptor: n 0 refused");
	put32le(buf + 24, vol_jdesc_cap(sb.bsize) + 1);
	CHECK(vol_jdesc_decode(&sb, buf, d, err, sizeof(err)) == -1,
	    "descriptor: n past the capacity refused");
	vol_jdesc_encode(buf, sb.bsize, 9, 6, t, 1, img);
	CHECK(vol_jdesc_decode(&sb, buf, d, err, sizeof(err)) == -1 &&
	    strstr(err, "epoch 6") != NULL,
	    "descriptor: epoch after the superblock's refused");
	memcpy(buf, "CLFSJDS2", 8);
	CHECK(vol_jdesc_decode(&sb, buf, d, err, sizeof(err)) == -1 &&
	    strstr(err, "magic") != NULL, "descriptor: bad magic refused");
	free(buf);
	free(img);
	free(d);
}

/* A small volume file: 1 KiB blocks, 4 MiB. */
static int
mkvol(struct vol_super *sb)
{
	int	 fd;

	if ((fd = open(vpath, O_RDWR | O_CREAT | O_TRUNC, 0600)) == -1)
		return -1;
	if (ftruncate(fd, 4 << 20) == -1 ||
	    vol_mkfs(fd, 4 << 20, 1024, 0, "t", sb, err, sizeof(err)) == -1) {
		unit_diag("mkvol: %s", err);
		(void)close(fd);
		return -1;
	}
	return fd;
}

/* Write a record at journal block pos: n images filled with fill+i. */
static int
jput(int fd, const struct vol_super *sb, uint64_t pos, uint64_t seq,
    uint64_t epoch, const uint64_t *t, uint32_t n, int fill, int tear)
{
	uint8_t		*img, *desc;
	uint32_t	 i;
	int		 rc = 0;

	img = malloc((size_t)n * sb->bsize);
	desc = malloc(sb->bsize);
	for (i = 0; i < n; i++)
		memset(img + (size_t)i * sb->bsize, fill + i, sb->bsize);
	vol_jdesc_encode(desc, sb->bsize, seq, epoch, t, n, img);
	if (tear)
		img[(size_t)(n - 1) * sb->bsize + 7] ^= 1;
	if (vol_write(fd, sb, sb->journal_start + pos, desc) == -1)
		rc = -1;
	for (i = 0; i < n && rc == 0; i++)
		rc = vol_write(fd, sb, sb->journal_start + pos + 1 + i,
		    img + (size_t)i * sb->bsize);
	free(img);
	free(desc);
	return rc;
}

static int
sethdr(int fd, const struct vol_super *sb, uint64_t seq, uint64_t tail,
    uint64_t epoch)
{
	struct vol_jhdr	 h = { seq, tail, epoch };
	uint8_t		*buf;
	int		 rc;

	buf = malloc(sb->bsize);
	vol_jhdr_encode(&h, buf, sb->bsize);
	rc = vol_write(fd, sb, sb->journal_start, buf);
	free(buf);
	return rc;
}

static char	 visited[1024];

static int
visit(uint64_t target, const uint8_t *img, void *arg)
{
	const struct vol_super	*sb = arg;

	(void)snprintf(visited + strlen(visited), sizeof(visited) -
	    strlen(visited), "%llu:%u;", (unsigned long long)(target -
	    sb->data_start), img[0]);
	return 0;
}

static int
scan(int fd, const struct vol_super *sb, uint64_t *head)
{
	struct vol_jhdr	 h;

	visited[0] = '\0';
	return vol_journal_scan(fd, sb, &h, visit, (void *)(uintptr_t)sb,
	    head, err, sizeof(err));
}

static void
test_journal(void)
{
	struct vol_super	 sb, *s = &sb;
	struct vol_jhdr		 h;
	uint64_t		 t[4], head, J;
	uint8_t			*buf;
	int			 fd, n;

	if ((fd = mkvol(&sb)) == -1) {
		CHECK(0, "journal: make a volume");
		return;
	}
	J = sb.journal_blocks;
	buf = malloc(sb.bsize);
	t[0] = sb.data_start;
	t[1] = sb.data_start + 1;
	t[2] = sb.data_start + 2;
	t[3] = sb.itable_start;
	CHECK(sethdr(fd, s, 100, 1, 0) == 0 && scan(fd, s, &head) == 0 &&
	    head == 1, "empty journal: no records, head at the tail");
	CHECK(jput(fd, s, 1, 100, 0, t, 2, 10, 0) == 0 &&
	    jput(fd, s, 4, 101, 0, t + 2, 1, 20, 0) == 0 &&
	    scan(fd, s, &head) == 2 && head == 6,
	    "two records scanned, head after them");
	CHECK_STR(visited, "0:10;1:11;2:20;", "every target visited in order");
	CHECK(jput(fd, s, 6, 102, 0, t, 3, 30, 1) == 0 &&
	    scan(fd, s, &head) == 2 && head == 6,
	    "a torn record (bad crc) is not replayed");
	CHECK(jput(fd, s, 6, 99, 0, t, 1, 40, 0) == 0 &&
	    scan(fd, s, &head) == 2, "a stale record of an older seq ignored");
	CHECK(jput(fd, s, 6, 102, 0, t + 3, 1, 50, 0) == 0 &&
	    scan(fd, s, &head) == 3 && head == 8,
	    "a record of an inode table block is valid");
	CHECK(jput(fd, s, 6, 102, 1, t + 3, 1, 50, 0) == 0 &&
	    scan(fd, s, &head) == 2,
	    "a record of an epoch after the superblock's is refused");

	/* Wrap: a record that would not fit at the end starts at block 1. */
	CHECK(sethdr(fd, s, 200, J - 3, 0) == 0 &&
	    jput(fd, s, J - 3, 200, 0, t, 2, 60, 0) == 0 &&
	    jput(fd, s, 1, 201, 0, t, 3, 70, 0) == 0 &&
	    jput(fd, s, 5, 202, 0, t, 1, 80, 0) == 0 &&
	    scan(fd, s, &head) == 3 && head == 7,
	    "a record ending at the journal's end, the next at block 1");
	CHECK_STR(visited, "0:60;1:61;0:70;1:71;2:72;0:80;",
	    "the wrapped records in order");
	CHECK(sethdr(fd, s, 201, J - 2, 0) == 0 && scan(fd, s, &head) == 2 &&
	    head == 7, "a record that did not fit before the end is at 1");
	CHECK(sethdr(fd, s, 300, J - 5, 0) == 0 &&
	    jput(fd, s, J - 5, 300, 0, t, 2, 90, 0) == 0 &&
	    scan(fd, s, &head) == 1 && head == J - 2,
	    "a stale record at block 1 ends the walk; head stays at the end");

	/* Replay: images in place, the header forgets them. */
	CHECK(sethdr(fd, s, 100, 1, 0) == 0 &&
	    jput(fd, s, 1, 100, 0, t, 2, 10, 0) == 0 &&
	    jput(fd, s, 4, 101, 0, t + 2, 1, 20, 0) == 0 &&
	    jput(fd, s, 6, 0, 0, t, 1, 1, 0) == 0, "records to replay");
	n = vol_journal_replay(fd, s, &h, &head, err, sizeof(err));
	CHECK(n == 2 && head == 6 && h.seq == 102 && h.tail == 6,
	    "replay applies two records; header: seq 102, tail 6");
	CHECK(vol_read(fd, s, t[1], buf) == 0 && buf[0] == 11 &&
	    buf[sb.bsize - 1] == 11 && vol_read(fd, s, t[2], buf) == 0 &&
	    buf[0] == 20, "the images are in place");
	CHECK(scan(fd, s, &head) == 0 && head == 6,
	    "after the replay the journal is empty");
	CHECK(vol_journal_replay(fd, s, &h, &head, err, sizeof(err)) == 0,
	    "a second replay applies nothing");
	CHECK(sethdr(fd, s, 100, J, 0) == 0 && scan(fd, s, &head) == -1 &&
	    strstr(err, "tail") != NULL, "a bad header: the scan fails");
	free(buf);
	(void)close(fd);
}

static void
test_mkfs(void)
{
	struct vol_super	 sb, rd;
	struct vol_inode	 in;
	struct vol_jhdr		 h;
	uint8_t			*buf;
	uint64_t		 blk, min;
	size_t			 off;
	uint32_t		 ino;
	int			 fd, ok;

	if ((fd = mkvol(&sb)) == -1) {
		CHECK(0, "mkfs: make a volume");
		return;
	}
	buf = malloc(sb.bsize);
	CHECK(vol_read_super(fd, &rd, err, sizeof(err)) == 0 &&
	    memcmp(&sb, &rd, sizeof(sb)) == 0 && strcmp(rd.label, "t") == 0,
	    "mkfs: the superblock reads back");
	CHECK(rd.nblocks == 4096 && rd.ninodes == 256 && rd.bsize == 1024,
	    "mkfs: 4096 blocks of 1 KiB, 256 inodes");
	ok = vol_read(fd, &sb, sb.bitmap_start, buf) == 0;
	for (blk = 0; ok && blk < sb.nblocks && blk < sb.bsize * 8; blk++)
		ok = vol_bit_get(buf, blk) == (blk < sb.data_start);
	CHECK(ok, "mkfs: metadata blocks used in the bitmap, data free");
	vol_inode_pos(&sb, VOL_ROOT_INO, &blk, &off);
	CHECK(vol_read(fd, &sb, blk, buf) == 0 &&
	    vol_inode_decode(&sb, 1, buf + off, &in, err, sizeof(err)) == 0 &&
	    in.mode == (0040000 | 0755) && in.nlink == 2 && in.uid == 0 &&
	    in.parent == 1 && in.nextents == 0 && in.size == 0,
	    "mkfs: the root directory, 0755, nlink 2, its own parent");
	ok = 1;
	for (ino = 2; ok && ino <= sb.ninodes; ino++) {
		vol_inode_pos(&sb, ino, &blk, &off);
		ok = vol_read(fd, &sb, blk, buf) == 0 &&
		    vol_inode_decode(&sb, ino, buf + off, &in, err,
		    sizeof(err)) == 0 && in.mode == 0;
	}
	CHECK(ok, "mkfs: every other inode free");
	CHECK(vol_journal_scan(fd, &sb, &h, NULL, NULL, &blk, err,
	    sizeof(err)) == 0 && h.tail == 1 && blk == 1,
	    "mkfs: an empty journal");
	(void)close(fd);

	fd = open(vpath, O_RDWR | O_TRUNC);
	min = vol_min_bytes(1024, 0);
	CHECK(fd != -1 && ftruncate(fd, min - 1) == 0 &&
	    vol_mkfs(fd, min - 1, 1024, 0, NULL, &sb, err,
	    sizeof(err)) == -1 && strstr(err, "too small") != NULL,
	    "mkfs: a volume below the minimum is refused");
	CHECK(ftruncate(fd, min) == 0 &&
	    vol_mkfs(fd, min, 1024, 0, NULL, &sb, err, sizeof(err)) == 0 &&
	    vol_read_super(fd, &rd, err, sizeof(err)) == 0,
	    "mkfs: the minimum size works");
	CHECK(ftruncate(fd, min - 1024) == 0 &&
	    vol_read_super(fd, &rd, err, sizeof(err)) == -1 &&
	    strstr(err, "volume has") != NULL,
	    "a volume shorter than nblocks is refused");
	CHECK(vol_mkfs(fd, 1 << 20, 1024, 0, "0123456789012345678901234567"
	    "890123", &sb, err, sizeof(err)) == -1 &&
	    strstr(err, "label") != NULL, "mkfs: a 34-byte label refused");
	(void)close(fd);
	free(buf);
}

int
main(void)
{
	(void)snprintf(vpath, sizeof(vpath), "%s/cl-vol.%ld",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp",
	    (long)getpid());
	test_crc();
	test_layout();
	test_super();
	test_inode();
	test_regions();
	test_extblk();
	test_dirent();
	test_bits();
	test_jhdr();
	test_journal();
	test_mkfs();
	(void)unlink(vpath);
	return unit_done();
}
