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
 * clhsm: a hierarchical storage manager for a cl file system, the data
 * migration DM application of seed 000 (claims 13, 30, 47).  clhsm run
 * is the application (run.c); migrate, recall and status ask it over
 * RUNDIR/clhsm.FS.sock.  See clhsm(1).
 */

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "clhsm.h"
#include "log.h"

#define CLIENT_MS	(3600 * 1000)	/* ms: one migrate or recall */
#define STATUS_MS	30000		/* ms: a status answer */

static struct hsm	 hsm;
static int		 debug, verbose;

/* snprintf for error texts that may be cut short (paths are long). */
void
hsm_errf(char *buf, size_t n, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, n, fmt, ap);
	va_end(ap);
}

static __attribute__((__noreturn__)) void
usage(void)
{
	(void)fprintf(stderr,
	    "usage: clhsm [-dv] [-f file] command [argument ...]\n"
	    "\trun --fs FS --archive DIR [--high PCT] [--low PCT] "
	    "[--min-age SECONDS] [--interval MS]\n"
	    "\tmigrate FS:/path ...\n"
	    "\trecall FS:/path ...\n"
	    "\tstatus [--archive DIR] [FS ...]\n");
	exit(2);
}

static long long
num_arg(const char *opt, const char *s, long long lo, long long hi)
{
	const char	*e;
	long long	 v;

	v = strtonum(s, lo, hi, &e);
	if (e != NULL)
		errx(2, "%s %s: %s (%lld to %lld)", opt, s, e, lo, hi);
	return v;
}

static void
check_fs(const char *fs)
{
	if (conf_volume(&hsm.conf, fs) == NULL)
		errx(1, "%s: no file system %s in %s", fs, fs, hsm.conf.path);
}

static int
cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "fs",		required_argument,	NULL, 'F' },
		{ "archive",	required_argument,	NULL, 'a' },
		{ "high",	required_argument,	NULL, 'H' },
		{ "low",	required_argument,	NULL, 'L' },
		{ "min-age",	required_argument,	NULL, 'm' },
		{ "interval",	required_argument,	NULL, 'i' },
		{ NULL,		0,			NULL, 0 }
	};
	struct hsm	*h = &hsm;
	int		 ch;

	h->high = 90;
	h->low = 70;
	h->interval_ms = 1000;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'F':
			h->fs = optarg;
			break;
		case 'a':
			h->archive = optarg;
			break;
		case 'H':
			h->high = (int)num_arg("--high", optarg, 1, 100);
			break;
		case 'L':
			h->low = (int)num_arg("--low", optarg, 0, 99);
			break;
		case 'm':
			h->min_age = num_arg("--min-age", optarg, 0,
			    INT64_MAX / 1000000000);
			break;
		case 'i':
			h->interval_ms = (int)num_arg("--interval", optarg, 10,
			    3600 * 1000);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || h->fs == NULL || h->archive == NULL)
		usage();
	if (h->low >= h->high)
		errx(2, "--low %d must be under --high %d", h->low, h->high);
	check_fs(h->fs);
	if (sodium_init() == -1)
		errx(1, "libsodium cannot start");
	/* Standard error until it serves: start-up errors are the user's. */
	log_init("clhsm", 1, LOG_DAEMON);
	log_setverbose(debug + verbose);
	h->debug = debug;
	return run_main(h);
}

/* FS:/path into fs and path; exit 2 on a malformed one. */
static void
fsname(const char *arg, char *fs, size_t fslen, char *path, size_t plen)
{
	int	 e;

	if ((e = fs_name_split(arg, fs, fslen, path, plen)) != 0)
		errx(2, "%s: %s", arg, e == EINVAL && strchr(arg, ':') == NULL ?
		    "not FS:/path" : strerror(e));
	check_fs(fs);
}

/* The control socket of the clhsm run serving fs on this node. */
static void
connect_run(struct ctl *c, const char *fs)
{
	char	 name[CONF_NAME_MAX + 16];

	(void)snprintf(name, sizeof(name), "clhsm.%s", fs);
	if (ctl_open(c, hsm.conf.rundir, name) == -1)
		errx(1, "%s: no clhsm run serves %s on this node (%s)", c->path,
		    fs, strerror(errno));
}

static int
recv_answer(struct ctl *c, struct frame *a, uint64_t txid, int ms)
{
	int	 rc;

	do {
		if ((rc = ctl_recv(c, a, ms)) != 1) {
			warnx("%s: %s", c->path, rc == 0 ? "clhsm closed the "
			    "connection" : errno == EPROTO ? c->reason :
			    strerror(errno));
			return -1;
		}
	} while (a->txid != txid);
	return 0;
}

/* migrate or recall, one FS:/path after the other. */
static int
cmd_hand(int argc, char **argv)
{
	struct ctl	 c;
	struct frame	 req, a;
	char		 fs[CONF_NAME_MAX], cur[CONF_NAME_MAX] = "";
	char		 path[FS_PATH_MAX];
	const char	*r;
	int		 i, rc = 0, open = 0;

	if (argc < 2)
		usage();
	for (i = 1; i < argc; i++)
		fsname(argv[i], fs, sizeof(fs), path, sizeof(path));
	for (i = 1; i < argc; i++) {
		fsname(argv[i], fs, sizeof(fs), path, sizeof(path));
		if (!open || strcmp(fs, cur) != 0) {
			if (open)
				ctl_close(&c);
			connect_run(&c, fs);
			(void)strlcpy(cur, fs, sizeof(cur));
			open = 1;
		}
		frame_init(&req, argv[0], (uint64_t)i);
		(void)frame_add(&req, "fs", "%s", fs);
		(void)frame_add(&req, "path", "%s", path);
		if (ctl_send(&c, &req) == -1)
			err(1, "%s", c.path);
		if (recv_answer(&c, &a, (uint64_t)i, CLIENT_MS) == -1)
			exit(1);
		r = frame_get(&a, strcmp(a.op, "ok") == 0 ? "note" : "reason");
		if (strcmp(a.op, "ok") != 0) {
			warnx("%s: %s", argv[i], r != NULL ? (*r == '/' &&
			    strncmp(r, path, strlen(path)) == 0 ? r +
			    strlen(path) + (r[strlen(path)] == ':' ? 2 : 0) :
			    r) : "failed");
			rc = 1;
		} else if (r != NULL && verbose)
			(void)fprintf(stderr, "clhsm: %s: %s\n", argv[i], r);
	}
	if (open)
		ctl_close(&c);
	return rc;
}

static void
print_file(FILE *fp, const struct frame *f)
{
	int	 i;

	for (i = 0; i < f->nkv; i++)
		(void)fprintf(fp, "%s%s=%s", i > 0 ? " " : "", f->kv[i].key,
		    f->kv[i].val);
	(void)fprintf(fp, "\n");
}

static int
status_of(const char *fs, int quiet)
{
	struct ctl	 c;
	struct frame	 req, a;
	char		 name[CONF_NAME_MAX + 16];

	(void)snprintf(name, sizeof(name), "clhsm.%s", fs);
	if (ctl_open(&c, hsm.conf.rundir, name) == -1) {
		if (quiet)
			return 0;
		warnx("%s: no clhsm run serves %s on this node (%s)", c.path,
		    fs, strerror(errno));
		return 1;
	}
	frame_init(&req, "status", 1);
	for (;;) {
		if (ctl_send(&c, &req) == -1)
			err(1, "%s", c.path);
		do {
			if (recv_answer(&c, &a, req.txid, STATUS_MS) == -1)
				exit(1);
			if (strcmp(a.op, "file") == 0)
				print_file(stdout, &a);
			else if (strcmp(a.op, "end") != 0)
				errx(1, "%s: %s", c.path,
				    frame_get(&a, "reason") != NULL ?
				    frame_get(&a, "reason") : a.op);
		} while (strcmp(a.op, "end") != 0);
		/* A page at a time, from after the last one. */
		if (frame_get(&a, "next") == NULL ||
		    frame_get(&a, "ino") == NULL ||
		    frame_get(&a, "gen") == NULL)
			break;
		frame_init(&req, "status", req.txid + 1);
		(void)frame_add(&req, "ino", "%s", frame_get(&a, "ino"));
		(void)frame_add(&req, "gen", "%s", frame_get(&a, "gen"));
	}
	if (verbose) {
		(void)fprintf(stderr, "%s: ", fs);
		frame_del(&a, "next");
		frame_del(&a, "ino");
		frame_del(&a, "gen");
		print_file(stderr, &a);
	}
	ctl_close(&c);
	return 0;
}

/* status --archive DIR FS: the index itself, no clhsm needed. */
static int
status_archive(const char *dir, const char *fs)
{
	struct index	 x;
	struct entry	*e;
	char		 hex[HSM_SHA_HEX];

	if (idx_open(&x, dir, fs, 1) == -1)
		errx(1, "%s", x.error);
	RB_FOREACH(e, entries, &x.ents) {
		idx_hex(e->sha, hex);
		(void)printf("fs=%s ino=%" PRIu32 " gen=%" PRIu32 " state=%s "
		    "size=%" PRIu64 " valid=%" PRIu64 " when=%" PRId64
		    " sha256=%s path=%s\n", fs, e->ino, e->gen,
		    e->state == ENT_MIGRATED ? "migrated" : "archived",
		    e->size, e->valid, e->when, hex, e->path);
	}
	idx_close(&x);
	return 0;
}

static int
cmd_status(int argc, char **argv)
{
	const char	*dir = NULL;
	int		 i, rc = 0;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--archive") == 0 && i + 1 < argc)
			dir = argv[++i];
		else
			usage();
	}
	argc -= i;
	argv += i;
	for (i = 0; i < argc; i++)
		check_fs(argv[i]);
	if (dir != NULL) {
		if (argc != 1)
			errx(2, "status --archive DIR needs the one FS");
		return status_archive(dir, argv[0]);
	}
	if (argc == 0) {
		for (i = 0; i < hsm.conf.nvolumes; i++)
			(void)status_of(hsm.conf.volumes[i].name, 1);
		return 0;
	}
	for (i = 0; i < argc; i++)
		rc |= status_of(argv[i], 0);
	return rc;
}

static const struct command {
	const char	*name;
	int		(*fn)(int, char **);
} commands[] = {
	{ "run",	cmd_run },
	{ "migrate",	cmd_hand },
	{ "recall",	cmd_hand },
	{ "status",	cmd_status },
};

int
main(int argc, char *argv[])
{
	const struct command *c = NULL;
	const char	*path = NULL;
	size_t		 i;
	int		 ch;

	while ((ch = getopt(argc, argv, "+df:v")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			path = optarg;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			c = &commands[i];
	if (c == NULL) {
		warnx("unknown command %s (run, migrate, recall, status)",
		    argv[0]);
		usage();
	}
	(void)signal(SIGPIPE, SIG_IGN);
	if (conf_load(&hsm.conf, conf_path(path)) == -1)
		exit(1);
	return c->fn(argc, argv);
}
