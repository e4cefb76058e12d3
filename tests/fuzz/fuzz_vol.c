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
 * libFuzzer target for the on-volume decoders (libcl/vol.c): the first
 * byte picks one, the rest is its buffer (zero-padded to the structure's
 * size).  What a decoder accepts must encode back to the same bytes, and
 * decode again the same: a decoder that accepts a field its encoder
 * cannot write lets a damaged volume through.  The last choice writes
 * the input over the journal of a small in-memory volume (a memfd made
 * once by vol_mkfs) and walks it with vol_journal_scan.
 */

#define _GNU_SOURCE

#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vol.h"

#define BSIZE		1024		/* small blocks: small inputs */

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct vol_super	 sb;
static int		 volfd = -1;
static size_t		 lastlen;
static uint8_t		 buf[BSIZE], out[BSIZE];
static struct vol_extent ext[BSIZE / VOL_EXTENT_SIZE];
static union {
	struct vol_jdesc d;
	uint8_t		 room[sizeof(struct vol_jdesc) + BSIZE];
} jd;

static void
setup(void)
{
	char	 err[256];
	uint64_t bytes;

	bytes = vol_min_bytes(BSIZE, 0);
	if ((volfd = memfd_create("fuzz_vol", 0)) == -1 ||
	    ftruncate(volfd, (off_t)bytes) == -1 ||
	    vol_mkfs(volfd, bytes, BSIZE, 0, "fuzz", &sb, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "fuzz_vol: setup: %s\n", err);
		abort();
	}
	sb.epoch = 3;		/* records of epochs 0-3 pass */
}

static int
visit(uint64_t target, const uint8_t *img, void *arg)
{
	(void)img;
	(void)arg;
	if (!vol_journal_target_ok(&sb, target))
		abort();
	return 0;
}

static void
fuzz_super(const uint8_t *p, size_t n)
{
	struct vol_super	 a, b;
	uint8_t			 enc[VOL_SUPER_SIZE];

	if (vol_super_decode(p, n, &a, NULL, 0) == -1)
		return;
	vol_super_encode(&a, enc);
	if (memcmp(enc, p, VOL_SUPER_SIZE) != 0 ||
	    vol_super_decode(enc, sizeof(enc), &b, NULL, 0) == -1 ||
	    memcmp(&a, &b, sizeof(a)) != 0)
		abort();
}

static void
fuzz_inode(void)
{
	struct vol_inode	 a, b;

	if (vol_inode_decode(&sb, 2, buf, &a, NULL, 0) == -1)
		return;
	vol_inode_encode(&a, out);
	if (vol_inode_decode(&sb, 2, out, &b, NULL, 0) == -1 ||
	    memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	/* A used inode comes back byte for byte; a free one as encoded. */
	if (a.mode != 0 && memcmp(out, buf, VOL_INODE_SIZE) != 0)
		abort();
}

static void
fuzz_extblk(void)
{
	uint64_t	 next;
	uint32_t	 n;

	if (vol_extblk_decode(&sb, 2, buf, ext, &n, &next, NULL, 0) == -1)
		return;
	vol_extblk_encode(&sb, 2, ext, n, next, out);
	if (memcmp(out, buf, BSIZE) != 0)
		abort();
}

static void
fuzz_dirent(void)
{
	struct vol_dirent	 a;

	if (vol_dirent_decode(&sb, buf, &a, NULL, 0) == -1)
		return;
	vol_dirent_encode(&a, out);
	if (memcmp(out, buf, VOL_DIRENT_SIZE) != 0 ||
	    (a.ino != 0 && vol_name_check(a.name, a.namelen) == -1))
		abort();
}

static void
fuzz_jhdr(void)
{
	struct vol_jhdr	 h;

	if (vol_jhdr_decode(&sb, buf, &h, NULL, 0) == -1)
		return;
	vol_jhdr_encode(&h, out, BSIZE);
	if (memcmp(out, buf, BSIZE) != 0)
		abort();
}

static void
fuzz_jdesc(void)
{
	uint32_t	 i;

	if (vol_jdesc_decode(&sb, buf, &jd.d, NULL, 0) == -1)
		return;
	if (jd.d.n < 1 || jd.d.n > vol_jdesc_cap(BSIZE))
		abort();
	for (i = 0; i < jd.d.n; i++)
		if (!vol_journal_target_ok(&sb, jd.d.target[i]))
			abort();
}

static void
fuzz_scan(const uint8_t *p, size_t n)
{
	static const uint8_t	 zero[BSIZE];
	struct vol_jhdr		 h;
	uint64_t		 head;
	size_t			 max, off;
	int			 r;

	max = sb.journal_blocks * BSIZE;
	if (n > max)
		n = max;
	/* Zero what the last input left past this one. */
	for (off = n; off < lastlen; off += BSIZE)
		if (pwrite(volfd, zero, lastlen - off < BSIZE ? lastlen - off :
		    BSIZE, (off_t)(sb.journal_start * BSIZE + off)) == -1)
			abort();
	if (n > 0 && pwrite(volfd, p, n, (off_t)(sb.journal_start * BSIZE)) !=
	    (ssize_t)n)
		abort();
	lastlen = n;
	r = vol_journal_scan(volfd, &sb, &h, visit, NULL, &head, NULL, 0);
	if (r >= 0 && (head < 1 || head >= sb.journal_blocks))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t	 n;

	if (volfd == -1)
		setup();
	if (size < 1)
		return 0;
	n = size - 1 < BSIZE ? size - 1 : BSIZE;
	memset(buf, 0, sizeof(buf));
	memcpy(buf, data + 1, n);
	switch (data[0] % 7) {
	case 0:
		fuzz_super(data + 1, size - 1);
		break;
	case 1:
		fuzz_inode();
		break;
	case 2:
		fuzz_extblk();
		break;
	case 3:
		fuzz_dirent();
		break;
	case 4:
		fuzz_jhdr();
		break;
	case 5:
		fuzz_jdesc();
		break;
	default:
		fuzz_scan(data + 1, size - 1);
		break;
	}
	return 0;
}
