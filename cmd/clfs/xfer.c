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
 * put and get: a file streamed through the local cliod(8) as pipelined
 * requests of FS_IO_MAX bytes, FSC_WINDOW of them in flight, answers
 * matched by txid.  Holes of a local regular file are not sent (the size
 * is set at the end); zero blocks are not written to a local regular
 * file, so a sparse file stays sparse both ways.
 *
 * Each read and write goes through the path the table of libcl/client.c
 * gives (via=N, aware=1: client load rebalancing, seed 002 FIG 6-7), and
 * is sent again when it says so: a redirect (nothing was done) or a path
 * that did not answer.  A write's bytes are kept until it is answered,
 * for that.  --unaware: no via= (or always --via's), never moved.
 */

#define _GNU_SOURCE		/* SEEK_DATA, SEEK_HOLE */

#include <sys/types.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "loop.h"

#define PROGRESS_MIN	(64 * 1024 * 1024)	/* bytes: smaller, no meter */
#define PROGRESS_MS	500		/* between updates of the meter */
#define ZERO_RUN	4096		/* bytes: unit of the zero-block check */
#define MIB		(1024.0 * 1024.0)

struct slot {
	uint64_t	 txid;		/* 0: free */
	uint64_t	 off;
	size_t		 len;
	size_t		 have;		/* bytes in buf, for a get */
	int		 ready;		/* answered, waiting to be written */
	uint8_t		*buf;		/* get: the answer; put: the bytes */
	struct clp_try	 t;		/* its path, its sends */
};

struct xfer {
	struct fsc	*c;
	const struct fsname *name;
	struct fs_attr	 attr;
	struct slot	 slot[FSC_WINDOW];
	int		 inflight;
	int		 error;		/* first errno from cliod */
	uint64_t	 done;		/* bytes acknowledged or written */
	uint64_t	 total;		/* expected, for the meter; 0: unknown */
	uint64_t	 start_ms, shown_ms;
	int		 meter;
	struct clp	 pt;		/* the path table of name->fs */
};

static struct slot *
slot_free(struct xfer *x)
{
	int	 i;

	for (i = 0; i < FSC_WINDOW; i++)
		if (x->slot[i].txid == 0 && !x->slot[i].ready)
			return &x->slot[i];
	return NULL;
}

static struct slot *
slot_of(struct xfer *x, uint64_t txid)
{
	int	 i;

	for (i = 0; i < FSC_WINDOW; i++)
		if (x->slot[i].txid == txid && txid != 0)
			return &x->slot[i];
	return NULL;
}

static void
slots_free(struct xfer *x)
{
	int	 i;

	for (i = 0; i < FSC_WINDOW; i++)
		free(x->slot[i].buf);
}

static void
path_log(void *arg, const char *msg)
{
	(void)arg;
	if (clfs_verbose)
		warnx("%s", msg);
}

static int
path_init(struct xfer *x)
{
	char	 why[256];

	if (clp_init(&x->pt, &clfs_conf, x->name->fs, clfs_via, clfs_aware,
	    why, sizeof(why)) == -1) {
		warnx("%s:%s: %s", x->name->fs, x->name->path, why);
		return -1;
	}
	x->pt.log = path_log;
	if (clfs_verbose && clp_current(&x->pt) != 0)
		warnx("%s: via node %u%s", x->name->fs, clp_current(&x->pt),
		    x->pt.aware ? "" : " (unaware)");
	return 0;
}

static void
path_done(struct xfer *x)
{
	if (clfs_verbose && x->pt.aware)
		warnx("%s: %llu moves, %llu redirects, %llu failures, %llu "
		    "sent again; last via node %u", x->name->fs,
		    (unsigned long long)x->pt.moves,
		    (unsigned long long)x->pt.redirects,
		    (unsigned long long)x->pt.failures,
		    (unsigned long long)x->pt.resends, clp_current(&x->pt));
	clp_close(&x->pt);
}

/* -vv: every answered read or write, and the node it went through. */
static void
path_ack(const struct xfer *x, const char *op, const struct slot *s)
{
	if (clfs_verbose > 1)
		warnx("%s:%s: %s off=%" PRIu64 " len=%zu via=%u",
		    x->name->fs, x->name->path, op, s->off, s->len, s->t.node);
}

static void
meter_start(struct xfer *x, uint64_t total)
{
	x->total = total;
	x->start_ms = x->shown_ms = clock_ms();
	x->meter = isatty(STDERR_FILENO) && total >= PROGRESS_MIN;
}

static void
meter_show(struct xfer *x, int last)
{
	uint64_t	 now = clock_ms();
	double		 secs;

	if (!x->meter || (!last && now - x->shown_ms < PROGRESS_MS))
		return;
	x->shown_ms = now;
	secs = (double)(now - x->start_ms) / 1000.0;
	(void)fprintf(stderr, "\r%s:%s: %3d%% %.0f of %.0f MiB, %.0f MiB/s  ",
	    x->name->fs, x->name->path,
	    (int)(x->total ? x->done * 100 / x->total : 100),
	    (double)x->done / MIB, (double)x->total / MIB,
	    secs > 0 ? (double)x->done / MIB / secs : 0.0);
	if (last)
		(void)fputc('\n', stderr);
}

/* Connection lost mid-transfer: say how far it got; exit 1. */
static void __attribute__((__noreturn__))
xfer_lost(struct xfer *x, const char *what)
{
	meter_show(x, 1);
	errx(1, "%s:%s: %s after %" PRIu64 " bytes %s", x->name->fs,
	    x->name->path, x->c->error, x->done, what);
}

/* ---- put ---- */

static void	 put_write(struct xfer *, struct slot *, const uint8_t *);

/* One answer to a write: free its slot, note the first error. */
static int
put_answer(struct xfer *x, int timeout)
{
	struct frame	 ans;
	struct slot	*s;
	int		 e;

	if (fsc_recv(x->c, &ans, timeout) == -1) {
		if (timeout == 0 && errno == ETIMEDOUT)
			return 0;
		xfer_lost(x, "were acknowledged; the file may be partial");
	}
	if ((s = slot_of(x, ans.txid)) == NULL)
		errx(1, "%s: answer to unknown txid %" PRIu64,
		    x->c->ctl.path, ans.txid);
	if (clp_answer(&x->pt, &s->t, &ans) == CLP_RESEND) {
		put_write(x, s, s->buf);
		return 1;
	}
	if ((e = fs_answer_errno(&ans)) != 0 && x->error == 0) {
		x->error = e;
		fsc_fail(x->name, e, &ans);
	} else if (e == 0) {
		x->done += s->len;
		path_ack(x, "write", s);
	}
	s->txid = 0;
	x->inflight--;
	meter_show(x, 0);
	return 1;
}

/* Send slot s's write (again), its bytes at p, through s->t's path. */
static void
put_write(struct xfer *x, struct slot *s, const uint8_t *p)
{
	struct frame	 req;

	frame_init(&req, "write", 0);
	(void)frame_add(&req, "fs", "%s", x->name->fs);
	(void)frame_add(&req, "ino", "%" PRIu32, x->attr.ino);
	(void)frame_add(&req, "gen", "%" PRIu32, x->attr.gen);
	(void)frame_add(&req, "off", "%" PRIu64, s->off);
	(void)clp_frame(&s->t, &req);
	frame_payload(&req, p, s->len);
	if ((s->txid = fsc_send(x->c, &req)) == 0)
		xfer_lost(x, "were acknowledged; the file may be partial");
}

static int
put_send(struct xfer *x, uint64_t off, const uint8_t *p, size_t n)
{
	struct slot	*s;

	while (x->inflight >= clp_window(&x->pt, FSC_WINDOW) &&
	    x->error == 0)
		(void)put_answer(x, FSC_REPLY_MS);
	if (x->error != 0)
		return -1;
	s = slot_free(x);
	if (x->pt.aware) {
		/* Kept until answered: it may have to go again. */
		if (s->buf == NULL && (s->buf = malloc(FS_IO_MAX)) == NULL)
			err(1, NULL);
		memcpy(s->buf, p, n);
		p = s->buf;
	}
	s->off = off;
	s->len = n;
	clp_begin(&x->pt, &s->t);
	put_write(x, s, p);
	x->inflight++;
	return 0;
}

/* The next run of data at or after *off, at most FS_IO_MAX, 1 MiB-aligned. */
static int
next_data(int fd, uint64_t size, uint64_t *off, size_t *len)
{
	off_t	 d, h;
	uint64_t end;

	if (*off >= size)
		return 0;
	if ((d = lseek(fd, (off_t)*off, SEEK_DATA)) == -1) {
		if (errno == ENXIO)
			return 0;
		d = (off_t)*off;	/* no SEEK_DATA here: all data */
		h = (off_t)size;
	} else if ((h = lseek(fd, d, SEEK_HOLE)) == -1)
		h = (off_t)size;
	if ((uint64_t)h > size)
		h = (off_t)size;
	if ((uint64_t)d >= size)
		return 0;
	end = ((uint64_t)d / FS_IO_MAX + 1) * FS_IO_MAX;
	if (end > (uint64_t)h)
		end = (uint64_t)h;
	*off = (uint64_t)d;
	*len = (size_t)(end - (uint64_t)d);
	return 1;
}

/* A regular file: its data runs only.  Returns the bytes it covers. */
static int
put_regular(struct xfer *x, int fd, const char *local, uint64_t size,
    uint8_t *buf, uint64_t *end)
{
	uint64_t	 off = 0;
	size_t		 len;
	ssize_t		 r;

	*end = 0;
	while (next_data(fd, size, &off, &len)) {
		if ((r = pread(fd, buf, len, (off_t)off)) == -1) {
			warn("%s", local);
			return -1;
		}
		if (r == 0)
			break;		/* shrunk while we read it */
		if (put_send(x, off, buf, (size_t)r) == -1)
			return -1;
		off += (uint64_t)r;
		*end = off;
	}
	*end = size;
	return 0;
}

/*
 * Up to n bytes of a pipe, taking the answers that come while it waits:
 * a slow producer must not leave acknowledgements unread (the count of
 * acknowledged bytes is what a failed put reports).
 */
static ssize_t
read_stream(struct xfer *x, int fd, uint8_t *p, size_t n)
{
	struct pollfd	 pfd[2];
	size_t		 got = 0;
	ssize_t		 r;

	while (got < n) {
		while (x->inflight > 0 && put_answer(x, 0) == 1)
			;
		pfd[0].fd = fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = x->c->ctl.fd;
		pfd[1].events = POLLIN;
		if (poll(pfd, x->inflight > 0 ? 2 : 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (x->inflight > 0 && pfd[1].revents != 0)
			(void)put_answer(x, FSC_REPLY_MS);
		if (pfd[0].revents == 0)
			continue;
		if ((r = read(fd, p + got, n - got)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* A pipe or a device: everything, in order. */
static int
put_stream(struct xfer *x, int fd, const char *local, uint8_t *buf,
    uint64_t *end)
{
	ssize_t		 r;

	*end = 0;
	for (;;) {
		if ((r = read_stream(x, fd, buf, FS_IO_MAX)) == -1) {
			warn("%s", local);
			return -1;
		}
		if (r == 0)
			return 0;
		if (put_send(x, *end, buf, (size_t)r) == -1)
			return -1;
		*end += (uint64_t)r;
	}
}

/* The size past the last data written (a trailing hole): setattr size=. */
static int
put_size(struct xfer *x, uint64_t size)
{
	struct frame	 req, ans;
	int		 e;

	fsc_req(&req, "setattr", x->name);
	(void)frame_add(&req, "size", "%" PRIu64, size);
	if ((e = fsc_call(x->c, &req, &ans)) != 0) {
		fsc_fail(x->name, e, &ans);
		return -1;
	}
	return 0;
}

static int
put_create(struct xfer *x, uint32_t mode)
{
	struct frame	 req, ans;
	int		 e;

	fsc_req(&req, "create", x->name);
	(void)frame_add(&req, "mode", "%04" PRIo32, mode & 07777);
	(void)frame_add(&req, "trunc", "1");
	if ((e = fsc_call(x->c, &req, &ans)) != 0) {
		fsc_fail(x->name, e, &ans);
		return -1;
	}
	if (fs_attr_get(&ans, &x->attr) == -1) {
		warnx("%s:%s: malformed attributes from cliod", x->name->fs,
		    x->name->path);
		return -1;
	}
	return 0;
}

static int
put_file(struct xfer *x, int fd, const char *local, const struct stat *st,
    uint32_t mode)
{
	uint8_t		*buf;
	uint64_t	 end;
	int		 rc;

	if (put_create(x, mode) == -1)
		return -1;
	if ((buf = malloc(FS_IO_MAX)) == NULL)
		err(1, NULL);
	meter_start(x, S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0);
	if (S_ISREG(st->st_mode))
		rc = put_regular(x, fd, local, (uint64_t)st->st_size, buf,
		    &end);
	else
		rc = put_stream(x, fd, local, buf, &end);
	free(buf);
	while (x->inflight > 0)
		(void)put_answer(x, FSC_REPLY_MS);
	meter_show(x, 1);
	if (rc == -1 || x->error != 0)
		return -1;
	/* Writes past the last data set the size; a trailing hole does not. */
	if (end > x->done && put_size(x, end) == -1)
		return -1;
	return 0;
}

/*
 * put LOCAL|- FS:/path: create (truncating), stream, set the size.  An
 * existing directory as the target gets LOCAL's base name in it.  On
 * failure nothing is removed: a partial file may remain.
 */
int
xfer_put(struct fsc *c, const char *local, const struct fsname *dst, int mode)
{
	struct xfer	 x;
	struct fsname	 in;
	struct fs_attr	 a;
	struct stat	 st;
	int		 fd, rc, stdio = strcmp(local, "-") == 0;

	memset(&x, 0, sizeof(x));
	x.c = c;
	x.name = dst;
	if (fsc_stat(c, dst, &a, 1) == 0 && a.type == 'd') {
		if (stdio) {
			fsc_fail(dst, EISDIR, NULL);
			return 1;
		}
		if (fsname_join(&in, dst, fsname_base(local)) == -1)
			return 1;
		x.name = &in;
	}
	if (path_init(&x) == -1)
		return 1;
	if (stdio)
		fd = STDIN_FILENO;
	else if ((fd = open(local, O_RDONLY | O_CLOEXEC)) == -1) {
		warn("%s", local);
		path_done(&x);
		return 1;
	}
	if (fstat(fd, &st) == -1)
		err(1, "%s", local);
	if (S_ISDIR(st.st_mode)) {
		warnx("%s: %s", local, strerror(EISDIR));
		rc = -1;
	} else {
		if (mode == -1) {
			mode_t	 um = umask(0);

			(void)umask(um);
			mode = (int)((S_ISREG(st.st_mode) ?
			    st.st_mode & 0777 : 0666) & ~um);
		}
		rc = put_file(&x, fd, local, &st, (uint32_t)mode);
	}
	if (!stdio)
		(void)close(fd);
	path_done(&x);
	slots_free(&x);
	return rc == -1 ? 1 : 0;
}

/* ---- get ---- */

struct sink {
	int		 fd;
	const char	*name;
	int		 seekable;	/* a regular file: skip zero blocks */
	uint64_t	 off;		/* bytes written (or skipped) so far */
};

static int
write_all(int fd, const uint8_t *p, size_t n, off_t off, int seekable)
{
	ssize_t	 w;

	while (n > 0) {
		w = seekable ? pwrite(fd, p, n, off) : write(fd, p, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

static int
is_zero(const uint8_t *p, size_t n)
{
	return n > 0 && p[0] == 0 && memcmp(p, p + 1, n - 1) == 0;
}

/* Bytes at k->off, in order; zero blocks of a regular file are skipped. */
static int
sink_write(struct sink *k, const uint8_t *p, size_t n)
{
	size_t	 i, run, start;

	if (!k->seekable) {
		if (write_all(k->fd, p, n, 0, 0) == -1)
			return -1;
		k->off += n;
		return 0;
	}
	for (i = 0; i < n; ) {
		for (start = i; i < n; i += run) {
			run = n - i < ZERO_RUN ? n - i : ZERO_RUN;
			if (is_zero(p + i, run))
				break;
		}
		if (i > start && write_all(k->fd, p + start, i - start,
		    (off_t)(k->off + start), 1) == -1)
			return -1;
		for (; i < n; i += run) {
			run = n - i < ZERO_RUN ? n - i : ZERO_RUN;
			if (!is_zero(p + i, run))
				break;
		}
	}
	k->off += n;
	return 0;
}

/* Send slot s's read (again) through s->t's path. */
static void
get_read(struct xfer *x, struct slot *s)
{
	struct frame	 req;

	frame_init(&req, "read", 0);
	(void)frame_add(&req, "fs", "%s", x->name->fs);
	(void)frame_add(&req, "ino", "%" PRIu32, x->attr.ino);
	(void)frame_add(&req, "gen", "%" PRIu32, x->attr.gen);
	(void)frame_add(&req, "off", "%" PRIu64, s->off);
	(void)frame_add(&req, "count", "%zu", s->len);
	(void)clp_frame(&s->t, &req);
	if ((s->txid = fsc_send(x->c, &req)) == 0)
		xfer_lost(x, "were read");
}

static int
get_send(struct xfer *x, uint64_t off, size_t len)
{
	struct slot	*s = slot_free(x);

	s->off = off;
	s->len = len;
	s->have = 0;
	s->ready = 0;
	clp_begin(&x->pt, &s->t);
	get_read(x, s);
	x->inflight++;
	return 0;
}

/* Write the answered slots that are next in order. */
static int
get_flush(struct xfer *x, struct sink *k)
{
	struct slot	*s;
	int		 i, found;

	do {
		found = 0;
		for (i = 0; i < FSC_WINDOW; i++) {
			s = &x->slot[i];
			if (!s->ready || s->off != k->off)
				continue;
			if (sink_write(k, s->buf, s->have) == -1)
				return -1;
			x->done = k->off;
			s->ready = 0;
			found = 1;
		}
	} while (found);
	return 0;
}

/*
 * One answer to a read.  The next bytes in order go straight from the
 * frame to the sink; others wait in their slot.  A short answer is the
 * end of the file (it may have shrunk since the stat): *eof.
 */
static int
get_answer(struct xfer *x, struct sink *k, uint64_t *eof)
{
	struct frame	 ans;
	struct slot	*s;
	int		 e;

	if (fsc_recv(x->c, &ans, FSC_REPLY_MS) == -1)
		xfer_lost(x, "were read");
	if ((s = slot_of(x, ans.txid)) == NULL)
		errx(1, "%s: answer to unknown txid %" PRIu64,
		    x->c->ctl.path, ans.txid);
	if (clp_answer(&x->pt, &s->t, &ans) == CLP_RESEND) {
		get_read(x, s);
		return 0;
	}
	s->txid = 0;
	x->inflight--;
	if (fs_answer_errno(&ans) == 0)
		path_ack(x, "read", s);
	if ((e = fs_answer_errno(&ans)) != 0) {
		if (x->error == 0)
			fsc_fail(x->name, e, &ans);
		x->error = e;
		return -1;
	}
	if (ans.len > s->len)
		ans.len = s->len;
	if (ans.len < s->len && s->off + ans.len < *eof)
		*eof = s->off + ans.len;
	if (s->off >= *eof)
		return 0;		/* past the end: nothing to write */
	if (s->off == k->off) {
		if (sink_write(k, ans.payload, ans.len) == -1)
			return -1;
		x->done = k->off;
	} else {
		if (s->buf == NULL && (s->buf = malloc(FS_IO_MAX)) == NULL)
			err(1, NULL);
		memcpy(s->buf, ans.payload, ans.len);
		s->have = ans.len;
		s->ready = 1;
	}
	meter_show(x, 0);
	return get_flush(x, k);
}

static int
get_stream(struct xfer *x, struct sink *k)
{
	uint64_t	 next = 0, eof = x->attr.size;
	size_t		 len;
	int		 rc = 0;

	meter_start(x, x->attr.size);
	while (rc == 0 && (next < eof || x->inflight > 0)) {
		if (next < eof && slot_free(x) != NULL &&
		    x->inflight < clp_window(&x->pt, FSC_WINDOW)) {
			len = eof - next < FS_IO_MAX ? (size_t)(eof - next) :
			    FS_IO_MAX;
			(void)get_send(x, next, len);
			next += len;
			continue;
		}
		rc = get_answer(x, k, &eof);
	}
	meter_show(x, 1);
	if (rc == -1 && x->error == 0)
		warn("%s", k->name);
	if (rc == 0 && k->seekable && ftruncate(k->fd, (off_t)k->off) == -1) {
		warn("%s", k->name);
		rc = -1;
	}
	return rc;
}

static int
get_open(struct sink *k, const char *local, const struct fsname *src,
    char *path, size_t size)
{
	struct stat	 st;

	k->name = local;
	if (strcmp(local, "-") == 0) {
		k->fd = STDOUT_FILENO;
		k->name = "stdout";
	} else {
		if (stat(local, &st) == 0 && S_ISDIR(st.st_mode)) {
			if ((size_t)snprintf(path, size, "%s/%s", local,
			    fsname_base(src->path)) >= size) {
				warnx("%s: %s", local, strerror(ENAMETOOLONG));
				return -1;
			}
			k->name = path;
		}
		if ((k->fd = open(k->name, O_WRONLY | O_CREAT | O_TRUNC |
		    O_CLOEXEC, 0666)) == -1) {
			warn("%s", k->name);
			return -1;
		}
	}
	if (fstat(k->fd, &st) == -1)
		err(1, "%s", k->name);
	/* Standard output is written in order: it may be shared (cat a b). */
	k->seekable = S_ISREG(st.st_mode) && k->fd != STDOUT_FILENO;
	return 0;
}

/* get FS:/path LOCAL|-: stat, then pipelined reads up to the size. */
int
xfer_get(struct fsc *c, const struct fsname *src, const char *local)
{
	struct xfer	 x;
	struct sink	 k;
	char		 path[4096];
	int		 rc;

	memset(&x, 0, sizeof(x));
	memset(&k, 0, sizeof(k));
	x.c = c;
	x.name = src;
	if (fsc_stat(c, src, &x.attr, 0) != 0)
		return 1;
	if (x.attr.type == 'd') {
		fsc_fail(src, EISDIR, NULL);
		return 1;
	}
	if (get_open(&k, local, src, path, sizeof(path)) == -1)
		return 1;
	if (path_init(&x) == -1) {
		if (k.fd != STDOUT_FILENO)
			(void)close(k.fd);
		return 1;
	}
	rc = get_stream(&x, &k);
	path_done(&x);
	slots_free(&x);
	if (k.fd != STDOUT_FILENO && close(k.fd) == -1 && rc == 0) {
		warn("%s", k.name);
		rc = -1;
	}
	return rc == -1 ? 1 : 0;
}
