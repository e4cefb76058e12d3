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
 * fsbench: small-file creates and stats through the local cliod(8)
 * (tests/bench/io, tests/fs-crash.bats).
 *
 *	fsbench -f node.conf -F FS [-n N] [-w W] [-d DIR] [-l LOG]
 *	fsbench -L LOCALDIR [-n N]
 *
 * Makes DIR (default /fsbench.<pid>; an existing one is fine), then
 * creates DIR/f<i> for i in 0..N-1 (mode 0644, no excl: cliod may
 * resend a create to a restarted clmetad) and stats each one once its
 * create is acknowledged, with at most W requests (default 64) in
 * flight on one connection.  With -l, the name of every acknowledged
 * create is appended to LOG with write(2) as its answer comes, so that
 * a crash test knows which creates clmetad acknowledged before it died.
 * -L does the same in a local directory (open O_CREAT|O_EXCL, close,
 * stat), for a baseline on tmpfs.  Prints
 *
 *	fsbench files=N errors=E elapsed_ms=T files_per_s=R create_p50_us=A
 *	    create_p99_us=B create_mean_us=C create_max_us=D
 *
 * on one line (a file is one create and one stat; the create_ figures
 * are the time of each successful create, from its request written to
 * its answer read, in microseconds with one decimal, over all files:
 * tests/bench/dmapi subtracts them to get the latency a DM event adds).  The first error answer is
 * printed as "fsbench: PATH: op: ERRNO_NAME reason"; the run goes on
 * unless -x.  Exit status: 0 all done, 1 an error, 2 usage.
 */

#include <sys/stat.h>

#include <time.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "fsproto.h"
#include "loop.h"
#include "wire.h"

#define REPLY_MS	60000		/* cliod retries clmetad for 30 s */
#define WINDOW_MAX	4096

struct req {
	uint64_t	 txid;		/* 0: free */
	uint32_t	 i;		/* file number */
	int		 stat;		/* 1: the stat, 0: the create */
	uint64_t	 t0;		/* ns, when the create was sent */
};

static struct ctl	 ctl;
static const char	*fsname, *dir;
static char		 dirbuf[64];
static int		 logfd = -1, stop_on_error;
static uint64_t		 txid;
static struct req	*reqs;
static int		 window = 64, inflight;
static uint32_t		 nfiles = 1000, errors;
static uint64_t		*lat;		/* ns per successful create */
static uint32_t		 nlat;

static uint64_t
now_ns(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void __attribute__((__noreturn__))
usage(void)
{
	(void)fprintf(stderr, "usage: fsbench -f node.conf -F fs [-n count] "
	    "[-w window] [-d dir] [-l log] [-x]\n"
	    "       fsbench -L localdir [-n count]\n");
	exit(2);
}

static uint64_t
send_op(const char *op, uint32_t i, const char *mode)
{
	struct frame	 f;

	frame_init(&f, op, ++txid);
	(void)frame_add(&f, "fs", "%s", fsname);
	if (i == UINT32_MAX)
		(void)frame_add(&f, "path", "%s", dir);
	else
		(void)frame_add(&f, "path", "%s/f%" PRIu32, dir, i);
	if (mode != NULL)
		(void)frame_add(&f, "mode", "%s", mode);
	if (ctl_send(&ctl, &f) == -1)
		err(1, "%s", ctl.path);
	return txid;
}

static void
recv_ans(struct frame *f)
{
	int	 rc;

	if ((rc = ctl_recv(&ctl, f, REPLY_MS)) == 1)
		return;
	if (rc == 0)
		errx(1, "%s: cliod closed the connection", ctl.path);
	if (errno == EPROTO)
		errx(1, "%s: malformed answer: %s", ctl.path, ctl.reason);
	err(1, "%s", ctl.path);
}

static void
make_dir(void)
{
	struct frame	 f;
	int		 e;

	(void)send_op("mkdir", UINT32_MAX, "0755");
	recv_ans(&f);
	if ((e = fs_answer_errno(&f)) != 0 && e != EEXIST)
		errx(1, "%s:%s: mkdir: %s", fsname, dir, strerror(e));
}

static struct req *
req_free(void)
{
	int	 i;

	for (i = 0; i < window; i++)
		if (reqs[i].txid == 0)
			return &reqs[i];
	return NULL;
}

static void
log_ack(uint32_t i)
{
	char	 line[64];
	int	 n;

	if (logfd == -1)
		return;
	n = snprintf(line, sizeof(line), "f%" PRIu32 "\n", i);
	if (write(logfd, line, (size_t)n) != n)
		err(1, "log");
}

/* One answer: a create's is followed by the stat of the same file. */
static void
answer(void)
{
	struct frame	 f;
	struct req	*r = NULL;
	const char	*reason;
	int		 i, e;

	recv_ans(&f);
	for (i = 0; i < window; i++)
		if (reqs[i].txid == f.txid)
			r = &reqs[i];
	if (r == NULL)
		errx(1, "%s: answer to unknown txid %" PRIu64, ctl.path,
		    f.txid);
	if ((e = fs_answer_errno(&f)) != 0) {
		reason = frame_get(&f, "reason");
		if (errors++ == 0)
			warnx("%s/f%" PRIu32 ": %s: %s %s", dir, r->i,
			    r->stat ? "stat" : "create", fs_errname(e),
			    reason != NULL ? reason : "");
		if (stop_on_error)
			exit(1);
		r->txid = 0;
		inflight--;
		return;
	}
	if (r->stat) {
		r->txid = 0;
		inflight--;
		return;
	}
	if (nlat < nfiles)
		lat[nlat++] = now_ns() - r->t0;
	log_ack(r->i);
	r->stat = 1;
	r->txid = send_op("stat", r->i, NULL);
}

static void
run_cliod(void)
{
	struct req	*r;
	uint32_t	 next = 0;

	make_dir();
	if ((reqs = calloc((size_t)window, sizeof(*reqs))) == NULL ||
	    (lat = calloc(nfiles, sizeof(*lat))) == NULL)
		err(1, NULL);
	while (next < nfiles || inflight > 0) {
		if (next < nfiles && (r = req_free()) != NULL) {
			r->i = next++;
			r->stat = 0;
			r->t0 = now_ns();
			r->txid = send_op("create", r->i, "0644");
			inflight++;
			continue;
		}
		answer();
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile of the sorted create times, nearest rank, in us. */
static double
quantile_us(double q)
{
	uint32_t	 k;

	if (nlat == 0)
		return 0;
	k = (uint32_t)(q * nlat + 0.999999);
	if (k < 1)
		k = 1;
	if (k > nlat)
		k = nlat;
	return (double)lat[k - 1] / 1000.0;
}

static void
run_local(void)
{
	struct stat	 st;
	char		 path[PATH_MAX];
	uint32_t	 i;
	int		 fd;

	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		err(1, "%s", dir);
	for (i = 0; i < nfiles; i++) {
		(void)snprintf(path, sizeof(path), "%s/f%" PRIu32, dir, i);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644)) == -1)
			err(1, "%s", path);
		if (close(fd) == -1)
			err(1, "%s", path);
		if (stat(path, &st) == -1)
			err(1, "%s", path);
	}
}

int
main(int argc, char *argv[])
{
	struct cl_conf	 conf;
	const char	*cpath = NULL, *errstr, *local = NULL;
	uint64_t	 t0, ms, sum = 0;
	uint32_t	 i;
	int		 ch;

	while ((ch = getopt(argc, argv, "d:f:F:l:L:n:w:x")) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'f':
			cpath = optarg;
			break;
		case 'F':
			fsname = optarg;
			break;
		case 'l':
			if ((logfd = open(optarg, O_WRONLY | O_CREAT | O_APPEND,
			    0644)) == -1)
				err(1, "%s", optarg);
			break;
		case 'L':
			local = optarg;
			break;
		case 'n':
			nfiles = (uint32_t)strtonum(optarg, 1, 100000000,
			    &errstr);
			if (errstr != NULL)
				errx(2, "-n %s: %s", optarg, errstr);
			break;
		case 'w':
			window = (int)strtonum(optarg, 1, WINDOW_MAX, &errstr);
			if (errstr != NULL)
				errx(2, "-w %s: %s", optarg, errstr);
			break;
		case 'x':
			stop_on_error = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (local == NULL && fsname == NULL))
		usage();
	if (dir == NULL) {
		(void)snprintf(dirbuf, sizeof(dirbuf), "/fsbench.%ld",
		    (long)getpid());
		dir = dirbuf;
	}
	t0 = clock_us();
	if (local != NULL) {
		dir = local;
		run_local();
	} else {
		if (conf_load(&conf, conf_path(cpath)) == -1)
			exit(1);
		if (ctl_open(&ctl, conf.rundir, "cliod") == -1)
			err(1, "cannot reach cliod at %s/" FS_SOCK,
			    conf.rundir);
		run_cliod();
	}
	ms = (clock_us() - t0) / 1000;
	if (nlat > 0)
		qsort(lat, nlat, sizeof(*lat), cmp_u64);
	for (i = 0; i < nlat; i++)
		sum += lat[i];
	(void)printf("fsbench files=%" PRIu32 " errors=%" PRIu32
	    " elapsed_ms=%" PRIu64 " files_per_s=%.0f create_p50_us=%.1f"
	    " create_p99_us=%.1f create_mean_us=%.1f create_max_us=%.1f\n",
	    nfiles, errors, ms, ms > 0 ? nfiles * 1000.0 / (double)ms : 0.0,
	    quantile_us(0.50), quantile_us(0.99),
	    nlat > 0 ? (double)sum / nlat / 1000.0 : 0.0, quantile_us(1.0));
	return errors > 0 ? 1 : 0;
}
