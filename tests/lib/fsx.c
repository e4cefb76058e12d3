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
 * fsx: random operations on one file, every result checked against an
 * in-memory model of what the file must hold (after the BSD fsx of
 * Avadis Tevanian and the one in xfstests, without mmap).  Operations:
 * pwrite at any offset (holes included), ftruncate up and down, pread
 * of any range, fstat of the size, fsync, close and reopen (O_TRUNC now
 * and then), and O_APPEND writes.
 *
 *	fsx [-n ops] [-s seed] [-m maxsize] [-w maxwrite] [-o model] file
 *
 * Exit 0 when every read and size matched; 1 with the first mismatch
 * and the last operations; -o writes the model at the end, for a cmp
 * against the file as another node sees it.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_KEEP	32	/* operations shown on a mismatch */

enum op { OP_WRITE, OP_APPEND, OP_READ, OP_TRUNC, OP_STAT, OP_FSYNC,
	OP_REOPEN, OP_NOPS };

static const char *opname[OP_NOPS] = { "write", "append", "read",
	"truncate", "stat", "fsync", "reopen" };

struct entry {
	uint64_t	 n;
	enum op		 op;
	uint64_t	 off, len;
};

static struct entry	 oplog[LOG_KEEP];
static uint64_t		 nops;
static uint8_t		*model, *buf;
static uint64_t		 msize;		/* the model's file size */
static uint64_t		 rng;
static const char	*path;

static void __attribute__((__noreturn__))
usage(void)
{
	(void)fprintf(stderr, "usage: fsx [-n ops] [-s seed] [-m maxsize] "
	    "[-w maxwrite] [-o model] file\n");
	exit(2);
}

/* xorshift64*: the same seed gives the same run. */
static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static uint64_t
below(uint64_t n)
{
	return n == 0 ? 0 : rnd() % n;
}

static void
logop(enum op op, uint64_t off, uint64_t len)
{
	struct entry	*e = &oplog[nops % LOG_KEEP];

	e->n = nops;
	e->op = op;
	e->off = off;
	e->len = len;
}

static void __attribute__((__noreturn__))
fail(const char *fmt, ...)
{
	va_list		 ap;
	uint64_t	 i, first;
	struct entry	*e;

	va_start(ap, fmt);
	(void)fprintf(stderr, "fsx: %s: operation %" PRIu64 ": ", path, nops);
	(void)vfprintf(stderr, fmt, ap);
	(void)fputc('\n', stderr);
	va_end(ap);
	first = nops >= LOG_KEEP ? nops - LOG_KEEP + 1 : 0;
	for (i = first; i <= nops; i++) {
		e = &oplog[i % LOG_KEEP];
		(void)fprintf(stderr, "  %" PRIu64 " %s off=%" PRIu64
		    " len=%" PRIu64 "\n", e->n, opname[e->op], e->off, e->len);
	}
	exit(1);
}

static int
reopen(int fd, int trunc)
{
	if (fd != -1 && close(fd) == -1)
		fail("close: %s", strerror(errno));
	if ((fd = open(path, O_RDWR | O_CREAT | (trunc ? O_TRUNC : 0),
	    0644)) == -1)
		fail("open: %s", strerror(errno));
	if (trunc)
		msize = 0;
	return fd;
}

static void
do_write(int fd, uint64_t off, uint64_t len)
{
	uint64_t	 i;
	ssize_t		 w;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(nops * 7 + i % 251 + 1);
	if ((w = pwrite(fd, buf, len, (off_t)off)) == -1)
		fail("pwrite: %s", strerror(errno));
	if ((uint64_t)w != len)
		fail("pwrite: %zd of %" PRIu64 " bytes", w, len);
	if (off > msize)
		memset(model + msize, 0, off - msize);
	memcpy(model + off, buf, len);
	if (off + len > msize)
		msize = off + len;
}

static void
do_append(uint64_t len, uint64_t max)
{
	uint64_t	 i;
	ssize_t		 w;
	int		 fd;

	if (msize + len > max)
		len = max - msize;
	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(nops * 13 + i % 241 + 1);
	if ((fd = open(path, O_WRONLY | O_APPEND)) == -1)
		fail("open O_APPEND: %s", strerror(errno));
	if ((w = write(fd, buf, len)) == -1)
		fail("append: %s", strerror(errno));
	if ((uint64_t)w != len)
		fail("append: %zd of %" PRIu64 " bytes", w, len);
	if (close(fd) == -1)
		fail("close after append: %s", strerror(errno));
	memcpy(model + msize, buf, len);
	msize += len;
}

static void
do_read(int fd, uint64_t off, uint64_t len)
{
	uint64_t	 want, i;
	ssize_t		 r;

	want = off >= msize ? 0 : (off + len > msize ? msize - off : len);
	if ((r = pread(fd, buf, len, (off_t)off)) == -1)
		fail("pread: %s", strerror(errno));
	if ((uint64_t)r != want)
		fail("pread at %" PRIu64 " of %" PRIu64 ": %zd bytes, the "
		    "model has %" PRIu64 " (size %" PRIu64 ")", off, len, r,
		    want, msize);
	if (memcmp(buf, model + off, want) == 0)
		return;
	for (i = 0; i < want && buf[i] == model[off + i]; i++)
		;
	fail("pread at %" PRIu64 " of %" PRIu64 ": byte %" PRIu64
	    " is 0x%02x, the model has 0x%02x", off, len, off + i, buf[i],
	    model[off + i]);
}

static void
do_trunc(int fd, uint64_t size)
{
	if (ftruncate(fd, (off_t)size) == -1)
		fail("ftruncate %" PRIu64 ": %s", size, strerror(errno));
	if (size > msize)
		memset(model + msize, 0, size - msize);
	msize = size;
}

static void
do_stat(int fd)
{
	struct stat	 st;

	if (fstat(fd, &st) == -1)
		fail("fstat: %s", strerror(errno));
	if ((uint64_t)st.st_size != msize)
		fail("fstat: size %jd, the model has %" PRIu64,
		    (intmax_t)st.st_size, msize);
}

int
main(int argc, char *argv[])
{
	const char	*out = NULL, *e;
	uint64_t	 n = 10000, max = 4 << 20, wmax = 256 << 10, off, len;
	uint64_t	 seed = 1, r;
	FILE		*fp;
	int		 ch, fd;

	while ((ch = getopt(argc, argv, "m:n:o:s:w:")) != -1) {
		switch (ch) {
		case 'm':
			max = strtoull(optarg, NULL, 10);
			break;
		case 'n':
			n = strtoull(optarg, NULL, 10);
			break;
		case 'o':
			out = optarg;
			break;
		case 's':
			seed = strtoull(optarg, NULL, 10);
			break;
		case 'w':
			wmax = strtoull(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1 || max == 0 || wmax == 0 || max > (1ULL << 30))
		usage();
	if (wmax > max)
		wmax = max;
	path = argv[0];
	rng = seed * 2654435761ULL + 88172645463325252ULL;
	if ((model = calloc(1, max)) == NULL ||
	    (buf = malloc(max)) == NULL)
		err(1, NULL);
	fd = reopen(-1, 1);
	for (nops = 0; nops < n; nops++) {
		r = below(100);
		if (r < 35) {
			len = 1 + below(wmax);
			off = below(max - len + 1);
			logop(OP_WRITE, off, len);
			do_write(fd, off, len);
		} else if (r < 38) {
			len = 1 + below(wmax / 4 + 1);
			logop(OP_APPEND, msize, len);
			do_append(len, max);
		} else if (r < 73) {
			len = 1 + below(wmax);
			off = below(msize + msize / 8 + 1);
			logop(OP_READ, off, len);
			do_read(fd, off, len);
		} else if (r < 83) {
			/* Down more often than up: the file stays mid-sized. */
			off = below(3) == 0 ? below(max + 1) : below(msize + 1);
			logop(OP_TRUNC, off, 0);
			do_trunc(fd, off);
		} else if (r < 92) {
			logop(OP_STAT, 0, msize);
			do_stat(fd);
		} else if (r < 96) {
			logop(OP_FSYNC, 0, 0);
			if (fsync(fd) == -1)
				fail("fsync: %s", strerror(errno));
		} else {
			off = below(20) == 0;
			logop(OP_REOPEN, 0, off);
			fd = reopen(fd, (int)off);
		}
	}
	nops--;
	logop(OP_READ, 0, msize);
	do_read(fd, 0, msize + 1);
	if (close(fd) == -1)
		fail("close: %s", strerror(errno));
	if (out != NULL) {
		if ((fp = fopen(out, "w")) == NULL)
			err(1, "%s", out);
		if (fwrite(model, 1, msize, fp) != msize || fclose(fp) == EOF)
			err(1, "%s", out);
	}
	e = getenv("FSX_QUIET");
	if (e == NULL || *e == '\0')
		(void)printf("fsx: %s: %" PRIu64 " operations, seed %" PRIu64
		    ", final size %" PRIu64 ": no mismatch\n", path, n, seed,
		    msize);
	return 0;
}
