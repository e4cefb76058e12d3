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
 * cllaunch(8): seed 004's registration and launch service, one per node.
 * The services of cl.conf are registered on a node (reg.c, place.c),
 * launched and supervised there (child.c), and moved when their node
 * leaves (member.c).  This file: start-up, signals, the connections to
 * clmemberd, and the tool forms `cllaunch status` and `cllaunch restart`.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cllaunch.h"
#include "log.h"

struct launch	*L;

static void	 work(void *);

static void
usage(void)
{
	(void)fprintf(stderr, "usage: cllaunch [-dnv] [-f file]\n"
	    "       cllaunch [-f file] status\n"
	    "       cllaunch [-f file] restart name [node]\n");
	exit(2);
}

/* Something changed: reconcile at the end of this turn. */
void
launch_changed(void)
{
	if (!L->workt.armed)
		timer_in(&L->workt, 0);
}

static void
on_sub(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	member_read();
}

static void
on_watch(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	reg_watch_read();
}

/* clmemberd went away (or never answered): close, try again later. */
void
launch_lost(void)
{
	if (!L->up)
		return;
	loop_fd_del(L->sub.fd);
	loop_fd_del(L->watch.fd);
	ctl_close(&L->sub);
	dbc_close(&L->db);
	ctl_close(&L->watch);
	L->up = 0;
	memset(&L->view, 0, sizeof(L->view));
	log_warnx("lost clmemberd: one-instance services stop here");
	reg_reconcile();
	timer_in(&L->connt, LAUNCH_CONNECT_MS);
}

static int
watch_open(void)
{
	struct frame	 req, f;

	if (ctl_open(&L->watch, L->conf->rundir, "clmemberd") == -1)
		return -1;
	frame_init(&req, "db", ++L->txid);
	/* launch/ and rebalance/assign: every change, filtered on arrival. */
	frame_add(&req, "cmd", "watch");
	if (ctl_send(&L->watch, &req) == -1 ||
	    ctl_wait(&L->watch, &f, 5000) != 1 || strcmp(f.op, "ok") != 0) {
		ctl_close(&L->watch);
		return -1;
	}
	return 0;
}

static void
on_connect(void *arg)
{
	static int	 logged;

	(void)arg;
	if (L->up || L->exiting)
		return;
	if (dbc_open(&L->db, L->conf) == -1)
		goto retry;
	if (watch_open() == -1) {
		dbc_close(&L->db);
		goto retry;
	}
	if (member_open() == -1) {
		dbc_close(&L->db);
		ctl_close(&L->watch);
		goto retry;
	}
	if (loop_fd_add(L->sub.fd, POLLIN, on_sub, NULL) == -1 ||
	    loop_fd_add(L->watch.fd, POLLIN, on_watch, NULL) == -1)
		fatal("event loop");
	L->up = 1;
	L->resync = 1;
	logged = 0;
	log_info("registered with clmemberd as cllaunch, layer %d",
	    LAUNCH_LAYER);
	launch_changed();
	return;
 retry:
	if (!logged)
		log_warn("clmemberd at %s/clmemberd.sock; retrying",
		    L->conf->rundir);
	logged = 1;
	timer_in(&L->connt, LAUNCH_CONNECT_MS);
}

/*
 * Leaving or exiting: once the higher layers' services are gone, the
 * lower ones are stopped; once all are gone, what was registered here
 * is handed on, and the leave acknowledged or the daemon ends.
 */
void
launch_maybe_exit(void)
{
	if (!L->leaving && !L->exiting)
		return;
	if (child_running() > 0) {
		child_stop_all();
		return;
	}
	reg_release_all();
	if (L->leave_txid != 0) {
		member_ack(L->leave_txid);
		L->leave_txid = 0;
		log_info("services stopped: leave acknowledged");
	}
	if (L->exiting)
		loop_exit();
}

static void
work(void *arg)
{
	(void)arg;
	if (!L->up)
		return;
	if (L->resync) {
		L->resync = 0;
		(void)reg_load();
	}
	if (member_view(&L->view) == -1)
		return;
	reg_decide();
	reg_reconcile();
	launch_maybe_exit();
}

static void
on_tick(void *arg)
{
	(void)arg;
	launch_changed();
	if (L->hot > 0)
		L->hot--;
	timer_in(&L->tick, L->hot > 0 ? 100 : LAUNCH_TICK_MS);
}

static void
on_decide(void *arg)
{
	(void)arg;
	launch_changed();
}

static void
on_chld(int sig, void *arg)
{
	pid_t	 pid;
	int	 status;

	(void)sig;
	(void)arg;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		child_reaped(pid, status);
	launch_changed();
}

static void
on_exitt(void *arg)
{
	(void)arg;
	log_warnx("children still there after every stop_ms: exiting");
	loop_exit();
}

static void
on_term(int sig, void *arg)
{
	int	 i, ms = 0;

	(void)arg;
	if (L->exiting)
		return;
	log_info("signal %d: stopping every service", sig);
	L->exiting = 1;
	for (i = 0; i < L->nchild; i++)
		ms += L->child[i].sv.stop_ms;
	timer_in(&L->exitt, (uint64_t)ms + 1000);
	child_stop_all();
	launch_maybe_exit();
}

/* SIGHUP: services added start, removed ones stop, others change on restart. */
static void
on_hup(int sig, void *arg)
{
	struct cl_conf	*nc;
	struct child	*c;
	int		 i, j;

	(void)sig;
	(void)arg;
	if ((nc = calloc(1, sizeof(*nc))) == NULL) {
		log_warn("SIGHUP");
		return;
	}
	if (conf_load(nc, L->confpath) == -1 || nc->self != L->self) {
		log_warnx("SIGHUP: %s not reloaded", L->confpath);
		free(nc);
		return;
	}
	for (i = 0; i < L->nchild; i++) {
		c = &L->child[i];
		if (conf_service(nc, c->sv.name) == NULL && !c->gone) {
			log_info("%s: no longer in %s: stopping", c->sv.name,
			    L->confpath);
			c->gone = 1;
		}
	}
	for (j = 0; j < nc->nservices; j++) {
		for (i = 0; i < L->nchild; i++)
			if (strcmp(L->child[i].sv.name,
			    nc->services[j].name) == 0)
				break;
		if (i < L->nchild) {
			L->child[i].sv = nc->services[j];
			L->child[i].gone = 0;
			continue;
		}
		if (L->nchild == CHILD_MAX) {
			log_warnx("%s: more than %d services: not started",
			    nc->services[j].name, CHILD_MAX);
			continue;
		}
		child_init(&L->child[L->nchild], &nc->services[j]);
		memset(&L->reg[L->nchild], 0, sizeof(L->reg[0]));
		L->nchild++;
	}
	free(L->conf);
	L->conf = nc;
	L->resync = 1;
	log_info("SIGHUP: %s reloaded, %d services", L->confpath,
	    nc->nservices);
	launch_changed();
}

static void
find_bindir(const char *argv0)
{
	char	 path[PATH_MAX], *d;
	ssize_t	 n;

	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n > 0)
		path[n] = '\0';
	else if (strchr(argv0, '/') == NULL || realpath(argv0, path) == NULL)
		return;
	d = dirname(path);
	(void)strlcpy(L->bindir, d, sizeof(L->bindir));
}

static void
daemon_main(int debug, int verbose)
{
	int	 i;

	log_init("cllaunch", debug, LOG_DAEMON);
	log_setverbose(debug + verbose);
	if (loop_init() == -1)
		fatal("event loop");
	(void)signal(SIGPIPE, SIG_IGN);
	if (loop_signal(SIGTERM, on_term, NULL) == -1 ||
	    loop_signal(SIGINT, on_term, NULL) == -1 ||
	    loop_signal(SIGHUP, on_hup, NULL) == -1 ||
	    loop_signal(SIGCHLD, on_chld, NULL) == -1)
		fatal("signals");
	for (i = 0; i < L->conf->nservices; i++)
		child_init(&L->child[i], &L->conf->services[i]);
	L->nchild = L->conf->nservices;
	timer_setup(&L->workt, work, NULL);
	timer_setup(&L->tick, on_tick, NULL);
	timer_setup(&L->connt, on_connect, NULL);
	timer_setup(&L->decidet, on_decide, NULL);
	timer_setup(&L->exitt, on_exitt, NULL);
	timer_in(&L->connt, 0);
	timer_in(&L->tick, LAUNCH_TICK_MS);
	log_info("node %u, %d services", L->self, L->nchild);
	if (loop_run() == -1)
		fatal("event loop");
	log_info("terminating");
}

int
main(int argc, char *argv[])
{
	const char *argv0 = argv[0];
	int	 ch, debug = 0, noaction = 0, verbose = 0;

	if ((L = calloc(1, sizeof(*L))) == NULL ||
	    (L->conf = calloc(1, sizeof(*L->conf))) == NULL)
		err(1, NULL);
	while ((ch = getopt(argc, argv, "df:nv")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			L->confpath = optarg;
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
	argc -= optind;
	argv += optind;
	L->confpath = conf_path(L->confpath);
	if (conf_load(L->conf, L->confpath) == -1)
		exit(1);
	L->self = L->conf->self;
	if (argc > 0)
		return launch_tool(argc, argv);
	if (noaction) {
		(void)fprintf(stderr, "configuration OK\n");
		return 0;
	}
	find_bindir(argv0);
	daemon_main(debug, verbose);
	return 0;
}
