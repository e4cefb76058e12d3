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
 * clsessiond: DMAPI sessions, dispositions and events.  See clsessiond(8).
 * One per node.  The one holding the DB lock clsessiond.manager is the
 * session manager (seed 001, manager.c): it creates and destroys sessions
 * and sets dispositions (disp.c), all kept in the cluster DB (dm/..., db.c).
 * Each node keeps the event queues of its own sessions (event.c) and
 * serves them on its socket (client.c).  This file: main, signals, and
 * the messages from other services through clmemberd.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "clsessiond.h"

#define REGISTER_MS	5000		/* ms */

struct cl_conf		 conf;
struct msg		 M;
uint32_t		 self;
uint64_t		 txids = 1000;
struct timer		 readt;
static const char	*confpath;

static void
usage(void)
{
	(void)fprintf(stderr, "usage: clsessiond [-dnv] [-f file]\n");
	exit(2);
}

/* a = "error" with reason= the message. */
void
fail(struct frame *a, uint64_t txid, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	frame_verror(a, txid, "invalid", fmt, ap);
	va_end(ap);
}

/* A message from another service. */
static void
on_msg_frame(struct frame *f)
{
	struct frame	 rq, a;
	const char	*from;
	uint64_t	 id, v;
	uint32_t	 fromnode = 0;
	int		 resp;

	if (strcmp(f->op, "event") == 0) {
		ev_recv(f);
		return;
	}
	if ((from = frame_get(f, "orig")) == NULL &&
	    (from = frame_get(f, "from")) == NULL) {
		sess_copy_frame(f);	/* clmemberd's own: the DB's */
		return;
	}
	if (frame_get(f, "re") != NULL)
		return;		/* a late answer */
	if (wire_parse_u64(from, strcspn(from, "."), UINT32_MAX, &v) == 0)
		fromnode = (uint32_t)v;
	/* mgr_request may call another node: f is not valid after it. */
	resp = frame_get(f, "resp") != NULL;
	frame_init(&rq, "req", f->txid);
	frame_add(&rq, "from", "%s", from);
	if (strcmp(f->op, "pending") == 0) {
		frame_init(&a, "ok", f->txid);
		frame_add(&a, "pending", "%d", sess_parseid(frame_get(f, "id"),
		    &id) == 0 ? ev_pending(id) : 0);
	} else if (!ismgr)
		fail(&a, f->txid, "node %u is not the session manager", self);
	else
		mgr_request(f, f->txid, fromnode, &a);
	if (resp && msg_reply(&M, &rq, &a) == -1)
		log_warnx("answer to %s: %s", frame_get(&rq, "from"), M.error);
}

static void
read_msgs(void)
{
	struct frame	 f;
	int		 i, rc;

	for (i = 0; i < 64; i++) {
		if ((rc = msg_recv(&M, &f, 0)) == 1) {
			on_msg_frame(&f);
			continue;
		}
		if (rc == 0)
			fatalx("clmemberd closed the connection");
		if (errno == ETIMEDOUT)
			return;
		fatalx("clmemberd: %s", M.error);
	}
	if (msg_pending(&M))
		timer_in(&readt, 0);
}

static void
on_msg(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	read_msgs();
}

static void
on_readt(void *arg)
{
	(void)arg;
	read_msgs();
}

static void
on_term(int sig, void *arg)
{
	(void)arg;
	log_info("signal %d: exiting", sig);
	loop_exit();
}

static void
on_hup(int sig, void *arg)
{
	(void)sig;
	(void)arg;
	log_info("SIGHUP: clsessiond has nothing to reload");
}

static void
finish(void)
{
	ev_finish();
	mgr_release();
	client_shutdown();
	msg_close(&M);
	log_info("terminating");
}

int
main(int argc, char *argv[])
{
	int	 ch, debug = 0, noaction = 0, verbose = 0;

	while ((ch = getopt(argc, argv, "df:nv")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			confpath = optarg;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	confpath = conf_path(confpath);
	log_init("clsessiond", 1, LOG_DAEMON);
	if (conf_load(&conf, confpath) == -1)
		exit(1);
	self = conf.self;
	if (noaction) {
		(void)fprintf(stderr, "configuration OK\n");
		exit(0);
	}
	log_init("clsessiond", debug, LOG_DAEMON);
	log_setverbose(debug + verbose);
	if (loop_init() == -1)
		fatal("event loop");
	(void)signal(SIGPIPE, SIG_IGN);
	if (loop_signal(SIGTERM, on_term, NULL) == -1 ||
	    loop_signal(SIGINT, on_term, NULL) == -1 ||
	    loop_signal(SIGHUP, on_hup, NULL) == -1)
		fatal("signals");
	client_init();
	if (msg_open(&M, conf.rundir) == -1)
		fatalx("%s", M.error);
	if (msg_register(&M, "clsessiond", REGISTER_MS) == -1)
		fatalx("%s", M.error);
	if (loop_fd_add(msg_fd(&M), POLLIN, on_msg, NULL) == -1)
		fatal("event loop");
	/* Answers to events go out together, once per loop turn. */
	msg_defer(&M);
	sess_copy_start();
	timer_setup(&readt, on_readt, NULL);
	mgr_init();
	if (loop_run() == -1)
		fatal("event loop");
	finish();
	return 0;
}
