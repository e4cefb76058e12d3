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
 * dmresp: a DM application that answers every event of one session with
 * continue, as fast as it can (tests/dmapi-parallel.bats,
 * tests/bench/dmapi).
 *
 *	dmresp -f node.conf -s ID [-l LOG]
 *
 * Connects to RUNDIR/clsessiond.sock of the node, asks for the events of
 * session ID with follow=1 (as clsession events ID --follow does) and,
 * on the same connection, sends respond token=T reply=continue quiet=1
 * for each sync event as soon as it is read, without waiting for the
 * answer (clsessiond answers only a failed respond, with an error that
 * is counted, and those come interleaved with the events).  The responds to the events that have arrived together go
 * out in one write(2), as a DM application that reads its events in
 * batches would send them.  With -l, every event is appended to LOG as the line
 * clsession(1) prints ("event key=value ...").  Prints "following" on
 * stdout once the events request is sent; on SIGTERM or SIGINT prints
 *
 *	responded=N events=E errors=X
 *
 * and exits 0.  Exit status 1: the connection failed or closed.
 */

#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "ctl.h"
#include "wire.h"

#define BATCH_MAX	1024		/* frames read before answering */

static volatile sig_atomic_t	 quit;
static uint64_t			 responded, nevents, errors;
static struct ctl		 ctl;
static struct buf		 out;		/* the batch's responds */
static FILE			*evlog;
static uint64_t			 txid = 1;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void __attribute__((__noreturn__))
usage(void)
{
	(void)fprintf(stderr, "usage: dmresp -f node.conf -s id [-l log]\n");
	exit(2);
}

static void
report(void)
{
	(void)printf("responded=%" PRIu64 " events=%" PRIu64 " errors=%"
	    PRIu64 "\n", responded, nevents, errors);
	(void)fflush(stdout);
}

/* One frame from clsessiond: an event is answered into the batch. */
static void
one(const struct frame *f)
{
	struct frame	 req;
	const char	*tok, *sy, *r;
	int		 i;

	if (strcmp(f->op, "error") == 0) {
		errors++;
		r = frame_get(f, "reason");
		warnx("%s", r != NULL ? r : "error");
		/* The events request itself failed: give up. */
		if (f->txid == 1) {
			report();
			exit(1);
		}
		return;
	}
	if (strcmp(f->op, "event") != 0)
		return;		/* "ok" for a respond */
	nevents++;
	if (evlog != NULL) {
		(void)fprintf(evlog, "event");
		for (i = 0; i < f->nkv; i++)
			(void)fprintf(evlog, " %s=%s", f->kv[i].key,
			    f->kv[i].val);
		(void)fprintf(evlog, "\n");
		(void)fflush(evlog);
	}
	tok = frame_get(f, "token");
	sy = frame_get(f, "sync");
	if (tok == NULL || (sy != NULL && strcmp(sy, "1") != 0))
		return;
	frame_init(&req, "respond", txid++);
	frame_add(&req, "token", "%s", tok);
	frame_add(&req, "reply", "continue");
	frame_add(&req, "quiet", "1");
	if (wire_encode(&out, &req) == -1) {
		report();
		errx(1, "cannot encode a respond for %s", tok);
	}
	responded++;
}

/* Write the batch's responds. */
static int
flush(void)
{
	ssize_t	 n;

	while (buf_avail(&out) > 0) {
		n = write(ctl.fd, buf_ptr(&out), buf_avail(&out));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf_consume(&out, (size_t)n);
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct cl_conf		 conf;
	struct frame		 req, f;
	struct sigaction	 sa;
	const char		*path = NULL, *id = NULL, *logpath = NULL;
	int			 ch, n, rc;

	while ((ch = getopt(argc, argv, "f:s:l:")) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			break;
		case 's':
			id = optarg;
			break;
		case 'l':
			logpath = optarg;
			break;
		default:
			usage();
		}
	}
	if (id == NULL || optind != argc)
		usage();
	if (conf_load(&conf, conf_path(path)) == -1)
		exit(1);
	if (logpath != NULL && (evlog = fopen(logpath, "a")) == NULL)
		err(1, "%s", logpath);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	(void)sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: poll(2) returns EINTR */
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		err(1, "sigaction");
	(void)signal(SIGPIPE, SIG_IGN);
	buf_init(&out, (size_t)BATCH_MAX * 256);

	if (ctl_open(&ctl, conf.rundir, "clsessiond") == -1)
		err(1, "%s (is clsessiond running?)", ctl.path);
	frame_init(&req, "events", txid++);
	frame_add(&req, "id", "%s", id);
	frame_add(&req, "follow", "1");
	if (ctl_send(&ctl, &req) == -1)
		err(1, "%s", ctl.path);
	(void)printf("following\n");
	(void)fflush(stdout);

	while (!quit) {
		/* Wait for one frame, then take what has come with it. */
		for (n = 0; n < BATCH_MAX && !quit; n++) {
			/*
			 * Not forever: a SIGTERM that comes between the test
			 * of quit and poll(2) must still end us.
			 */
			rc = ctl_recv(&ctl, &f, n == 0 ? 200 : 0);
			if (rc == -1 && (errno == EINTR || errno == ETIMEDOUT))
				break;
			if (rc == 0) {
				report();
				errx(1, "%s: clsessiond closed the connection",
				    ctl.path);
			}
			if (rc == -1) {
				report();
				err(1, "%s%s%s", ctl.path, ctl.reason != NULL ?
				    ": " : "", ctl.reason != NULL ?
				    ctl.reason : "");
			}
			one(&f);
		}
		if (flush() == -1) {
			report();
			err(1, "%s", ctl.path);
		}
	}
	report();
	return 0;
}
