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

#ifndef CL_VOL_H
#define CL_VOL_H

#include <stddef.h>
#include <stdint.h>

/*
 * The on-volume format of a cl file system (clfs(1) mkfs, clmetad(8),
 * cliod(8); layout in cl-vol(5)).  Every integer is little-endian, every
 * structure is encoded and decoded field by field (never a struct cast),
 * and every decoder checks each field against the superblock's limits, so
 * a corrupt or hostile volume is refused with a message, never trusted.
 *
 * Layout, in blocks of bsize bytes:
 *
 *	0			superblock (first VOL_SUPER_SIZE bytes)
 *	bitmap_start ...	allocation bitmap: bit b set = block b in use
 *				(metadata blocks are marked in use too)
 *	itable_start ...	inode table, VOL_INODE_SIZE bytes per inode,
 *				inode numbers 1 .. ninodes (0 is "none")
 *	journal_start ...	metadata journal: header block, then records
 *	data_start ...		data, directory and extent-overflow blocks
 *
 * Seed 002 (L639-L648, FIG 5C): the directory/access database keeps
 * directory records, file records and block lists (extents: a physical
 * start and a length, with an overflow pointer to the next portion).
 * That is what an inode, a directory entry and an extent are here.
 */

#define VOL_MAGIC		"CLFSVOL1"	/* 8 bytes, no NUL */
#define VOL_VERSION		2		/* 2: atime, managed regions */
#define VOL_SUPER_SIZE		512		/* bytes used in block 0 */
#define VOL_BSIZE_MIN		1024
#define VOL_BSIZE_MAX		65536
#define VOL_BSIZE_DEFAULT	4096
#define VOL_INODE_SIZE		256
#define VOL_DIRENT_SIZE		256
#define VOL_NAME_MAX		250		/* bytes of a file name */
#define VOL_ROOT_INO		1
#define VOL_EXT_INLINE		6		/* extents inside the inode */
#define VOL_REGIONS		2		/* managed regions per inode */
#define VOL_REGION_SIZE		20
#define VOL_EXTENT_SIZE		24
#define VOL_EXTBLK_HDR		32		/* extent-overflow block header */
#define VOL_JOURNAL_MIN		64		/* blocks */
#define VOL_DATA_MIN		16		/* blocks mkfs leaves for data */
#define VOL_LABEL_MAX		32
#define VOL_EXTBLK_MAGIC	0x58534c43	/* "CLSX" little-endian */
#define VOL_JHDR_MAGIC		"CLFSJHD1"	/* journal header */
#define VOL_JDESC_MAGIC		"CLFSJDS1"	/* journal descriptor */
#define VOL_JDESC_HDR		32		/* descriptor header bytes */
/* File blocks lblk + count stay below this: byte offsets fit an off_t. */
#define VOL_LBLK_LIMIT(bsize)	((uint64_t)INT64_MAX / (bsize))

/* Superblock. */
struct vol_super {
	uint32_t	 version;
	uint32_t	 bsize;
	uint64_t	 nblocks;
	uint8_t		 uuid[16];
	uint64_t	 epoch;		/* fencing: bumped by each new clmetad */
	uint32_t	 admin;		/* node of the clmetad that wrote epoch */
	uint32_t	 ninodes;
	uint64_t	 bitmap_start, bitmap_blocks;
	uint64_t	 itable_start, itable_blocks;
	uint64_t	 journal_start, journal_blocks;
	uint64_t	 data_start;
	int64_t		 ctime;		/* seconds, when mkfs ran */
	char		 label[VOL_LABEL_MAX + 1];
};

/* One run of blocks of a file: file blocks lblk.. on device blocks pblk.. */
#define VOL_EXT_UNWRITTEN	0x1	/* allocated, never written: reads 0 */
struct vol_extent {
	uint64_t	 lblk;
	uint64_t	 pblk;
	uint32_t	 count;
	uint32_t	 flags;
};

/*
 * A DMAPI managed region (seed 000; XDSM dm_region_t): I/O touching
 * [off, off + len) raises the events its flags name; len 0 runs to the
 * end of the file and past it.  flags 0: the slot is empty.
 */
#define VOL_RG_READ		0x1
#define VOL_RG_WRITE		0x2
#define VOL_RG_TRUNCATE		0x4
#define VOL_RG_ALL		0x7
struct vol_region {
	uint64_t	 off;
	uint64_t	 len;
	uint32_t	 flags;
};

/* Inode; mode 0 means free.  S_IFREG and S_IFDIR only, for now. */
struct vol_inode {
	uint32_t	 mode;
	uint32_t	 uid, gid;
	uint32_t	 nlink;
	uint64_t	 size;
	int64_t		 mtime_ns, ctime_ns;
	uint32_t	 gen;		/* bumped when the number is reused */
	uint32_t	 parent;	/* directories: the parent's inode */
	uint32_t	 nextents;	/* in all: inline, then overflow */
	uint64_t	 ext_block;	/* first overflow block, 0 if none */
	struct vol_extent ext[VOL_EXT_INLINE];
	int64_t		 atime_ns;
	struct vol_region rg[VOL_REGIONS];	/* regular files only */
};

/* Directory entry; a directory's data blocks are arrays of them. */
struct vol_dirent {
	uint32_t	 ino;		/* 0: free slot */
	uint8_t		 type;		/* VOL_DT_* */
	uint8_t		 namelen;
	char		 name[VOL_NAME_MAX + 1];
};
#define VOL_DT_REG	1
#define VOL_DT_DIR	2

/* Journal header, the first block of the journal area. */
struct vol_jhdr {
	uint64_t	 seq;		/* sequence number of the record at tail */
	uint64_t	 tail;		/* block (relative to journal_start) */
	uint64_t	 epoch;
};

/*
 * A journal record: a descriptor block naming n target blocks, followed
 * by the n block images.  Its checksum covers the descriptor and every
 * image, so a record torn by a crash is not replayed.
 */
struct vol_jdesc {
	uint64_t	 seq;
	uint64_t	 epoch;
	uint32_t	 n;
	uint32_t	 crc;
	uint64_t	 target[];	/* n of them */
};

/*
 * Conventions: a decoder takes the buffer of its structure's size (a
 * whole block for blocks), returns 0 or -1 with a message naming the
 * field and the inode or block in err; encoders fill the whole buffer
 * (unused bytes zeroed).  Free inodes and dirents are all zero apart
 * from an inode's gen (encode a zeroed struct with gen set); a slot of
 * zero bytes, as mkfs leaves it, decodes as free.
 */

/* CRC-32C (Castagnoli), chained like zlib's crc32: start with 0. */
uint32_t	 vol_crc32c(uint32_t, const void *, size_t);

/*
 * Superblock: layout, encode, decode (decode checks every field).
 * vol_min_bytes(bsize, ninodes) and vol_layout(sb, bytes, bsize, ninodes)
 * take 0 for the defaults (VOL_BSIZE_DEFAULT; one inode per 16 KiB,
 * at least 64); vol_layout fills sb for a volume of that many bytes.
 */
uint64_t	 vol_min_bytes(uint32_t, uint32_t);
int		 vol_layout(struct vol_super *, uint64_t, uint32_t, uint32_t,
		    char *, size_t);
void		 vol_super_encode(const struct vol_super *, uint8_t *);
int		 vol_super_decode(const uint8_t *, size_t, struct vol_super *,
		    char *, size_t);

/* Inodes: where they live, encode, decode. */
void		 vol_inode_pos(const struct vol_super *, uint32_t, uint64_t *,
		    size_t *);
void		 vol_inode_encode(const struct vol_inode *, uint8_t *);
int		 vol_inode_decode(const struct vol_super *, uint32_t,
		    const uint8_t *, struct vol_inode *, char *, size_t);

int		 vol_region_check(const struct vol_region *, char *, size_t);
/* 1 if I/O of [off, off + len) touches a region with a flag of want. */
int		 vol_region_hit(const struct vol_region *, uint64_t, uint64_t,
		    uint32_t);

/* Extent-overflow blocks: up to vol_extblk_cap() extents and a next link. */
uint32_t	 vol_extblk_cap(uint32_t);
void		 vol_extblk_encode(const struct vol_super *, uint32_t,
		    const struct vol_extent *, uint32_t, uint64_t, uint8_t *);
int		 vol_extblk_decode(const struct vol_super *, uint32_t,
		    const uint8_t *, struct vol_extent *, uint32_t *,
		    uint64_t *, char *, size_t);
int		 vol_extent_check(const struct vol_super *,
		    const struct vol_extent *, char *, size_t);

/* Directory entries: bsize / VOL_DIRENT_SIZE slots per block. */
void		 vol_dirent_encode(const struct vol_dirent *, uint8_t *);
int		 vol_dirent_decode(const struct vol_super *, const uint8_t *,
		    struct vol_dirent *, char *, size_t);
/* 0 for a valid name; -1 and errno ENAMETOOLONG or EINVAL otherwise. */
int		 vol_name_check(const char *, size_t);

/* Allocation bitmap, on a buffer holding all of it. */
int		 vol_bit_get(const uint8_t *, uint64_t);
void		 vol_bit_set(uint8_t *, uint64_t);
void		 vol_bit_clr(uint8_t *, uint64_t);

/*
 * Journal: header and record encoding, and a scan that replays or reads.
 * vol_jdesc_encode(buf, bsize, seq, epoch, targets, n, images): images
 * are n blocks back to back; the crc covers the descriptor (crc field
 * zero) and then each image.  vol_jdesc_decode checks all but the crc
 * into a struct with room for vol_jdesc_cap(bsize) targets.
 * vol_journal_scan(fd, sb, hdr, cb, arg, head) reads and checks the
 * header into *hdr, calls cb(target, image, arg) for every block of every
 * valid record (cb may be NULL; nonzero from cb stops the scan, -1), and
 * returns the number of records with *head the journal block (relative
 * to journal_start) where the next record goes; the next seq is
 * hdr->seq + that number.  vol_journal_replay does that writing the
 * images in place, fdatasyncs, writes the header {seq: next, tail: head,
 * epoch: the last record's} and fdatasyncs again; *hdr is the new header.
 */
uint32_t	 vol_jdesc_cap(uint32_t);
void		 vol_jhdr_encode(const struct vol_jhdr *, uint8_t *, uint32_t);
int		 vol_jhdr_decode(const struct vol_super *, const uint8_t *,
		    struct vol_jhdr *, char *, size_t);
void		 vol_jdesc_encode(uint8_t *, uint32_t, uint64_t, uint64_t,
		    const uint64_t *, uint32_t, const uint8_t *);
int		 vol_jdesc_decode(const struct vol_super *, const uint8_t *,
		    struct vol_jdesc *, char *, size_t);
typedef int	(*vol_jscan_cb)(uint64_t, const uint8_t *, void *);
int		 vol_journal_scan(int, const struct vol_super *,
		    struct vol_jhdr *, vol_jscan_cb, void *, uint64_t *,
		    char *, size_t);
int		 vol_journal_replay(int, const struct vol_super *,
		    struct vol_jhdr *, uint64_t *, char *, size_t);
int		 vol_journal_target_ok(const struct vol_super *, uint64_t);

/*
 * Whole-block I/O, EINTR and short transfers handled; -1 and errno.
 * vol_read_super also checks the device holds nblocks; vol_write_super
 * writes the first VOL_SUPER_SIZE bytes and fdatasyncs.  vol_mkfs(fd,
 * bytes, bsize, ninodes, label, sb) writes a new file system and
 * fdatasyncs.  vol_dev_size: bytes of a regular file or block device.
 */
int		 vol_dev_size(int, uint64_t *);
int		 vol_read(int, const struct vol_super *, uint64_t, void *);
int		 vol_write(int, const struct vol_super *, uint64_t,
		    const void *);
int		 vol_read_super(int, struct vol_super *, char *, size_t);
int		 vol_write_super(int, const struct vol_super *);
int		 vol_mkfs(int, uint64_t, uint32_t, uint32_t, const char *,
		    struct vol_super *, char *, size_t);

#endif /* CL_VOL_H */
