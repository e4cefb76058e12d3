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
 * clrebalance(8): seed 002's resource rebalancing, one per node.  It is
 * a subsystem of clmemberd at layer 800, below cllaunch: when a node
 * joins, leaves or fails it is told before cllaunch, becomes the
 * temporary master under the configuration-database lock and commits a
 * new assignment of administrative servers (round.c), and acknowledges;
 * cllaunch, told next, moves each file system's clmetad to match.  The
 * tool forms (tool.c) do the same on demand.
 */

#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "clrebalance.h"
#include "ctl.h"
#include "log.h"
#include "loop.h"

#define ACKS_MAX	32
#define ROUND_MAX_MS	3000	/* a transition waits no longer for us */

static struct {
	struct cl_conf	*conf;
	const char	*confpath;
	struct dbc	 d;
	struct ctl	 sub;
	int		 up;
	uint64_t	 txid;
	/* The round to run, and the notifications that wait for it. */
	int		 want;
	enum rb_mode	 mode;
	uint32_t	 joiner;
	uint64_t	 since;
	uint64_t	 acks[ACKS_MAX];
	int		 nacks;
	struct timer	 roundt, connt, periodt;
} R;

static void
usage(void)
{
	(void)fprintf(stderr, "usage: clrebalance [-dnv] [-f file]\n"
	    "       clrebalance [-f file] now | plan | status\n");
	exit(2);
}

static void
send_ack(uint64_t txid)
{
	struct frame	 f;

	frame_init(&f, "ack", txid);
	if (R.up && ctl_send(&R.sub, &f) == -1)
		log_warn("ack to clmemberd");
}

static void
ack_all(void)
{
	int	 i;

	for (i = 0; i < R.nacks; i++)
		send_ack(R.acks[i]);
	R.nacks = 0;
}

static void
lost(void)
{
	if (!R.up)
		return;
	loop_fd_del(R.sub.fd);
	ctl_close(&R.sub);
	dbc_close(&R.d);
	R.up = 0;
	R.nacks = 0;
	timer_in(&R.connt, 500);
}

static void
log_result(const struct rb_result *r)
{
	char	 buf[512];
	size_t	 o = 0;
	int	 i;

	for (i = 0; i < R.conf->nvolumes && o < sizeof(buf); i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, " %s=%u",
		    R.conf->volumes[i].name, r->node[i]);
	log_info("assignment committed:%s (%d moved)", buf, r->moved);
}

/* Run the wanted round; the lock held elsewhere: again shortly. */
static void
on_round(void *arg)
{
	struct rb_result r;
	uint32_t	 held;
	int		 rc;

	(void)arg;
	if (!R.up || !R.want)
		return;
	rc = rb_round(&R.d, R.conf, R.mode, R.joiner, &r, &held);
	if (rc == 0 && clock_ms() - R.since < ROUND_MAX_MS) {
		log_debug("lock %s held by node %u: waiting", RB_LOCK, held);
		timer_in(&R.roundt, RB_RETRY_MS);
		return;
	}
	if (rc == 1 && r.moved > 0)
		log_result(&r);
	else if (rc == -1)
		log_warnx("rebalance: %s", R.d.error);
	else if (rc == 0)
		log_warnx("rebalance: lock %s still held by node %u after %d "
		    "ms; it rebalances", RB_LOCK, held, ROUND_MAX_MS);
	if (rc == -1 && !R.d.open)
		lost();
	R.want = 0;
	R.joiner = 0;
	ack_all();
}

/* Ask for a round; a stronger mode wins over a weaker pending one. */
static void
want(enum rb_mode m, uint32_t joiner)
{
	if (!R.want || m > R.mode)
		R.mode = m;
	if (joiner != 0)
		R.joiner = joiner;
	if (!R.want)
		R.since = clock_ms();
	R.want = 1;
	if (!R.roundt.armed)
		timer_in(&R.roundt, 0);
}

static void
notified(const struct frame *f)
{
	const char	*trans = frame_get(f, "trans");
	uint64_t	 node;

	/* Our own steps: the other members rebalance for us. */
	if (trans == NULL || frame_getu64(f, "node", &node) == -1 ||
	    node == R.conf->self) {
		send_ack(f->txid);
		return;
	}
	if (R.nacks < ACKS_MAX)
		R.acks[R.nacks++] = f->txid;
	else
		send_ack(f->txid);
	if (strcmp(trans, "join") == 0)
		want(RB_JOIN, (uint32_t)node);
	else
		want(RB_ORPHANS, 0);
}

static void
on_sub(int fd, short ev, void *arg)
{
	struct frame	 f;
	int		 rc;

	(void)fd;
	(void)ev;
	(void)arg;
	while ((rc = ctl_recv(&R.sub, &f, 0)) == 1)
		if (strcmp(f.op, "notify") == 0)
			notified(&f);
	if (rc == 0 || (errno != ETIMEDOUT && errno != EINTR)) {
		log_warnx("clmemberd closed the subsystem connection");
		lost();
	}
}

static int
subscribe(void)
{
	struct frame	 req, f;

	if (ctl_open(&R.sub, R.conf->rundir, "clmemberd") == -1)
		return -1;
	frame_init(&req, "register", ++R.txid);
	frame_add(&req, "name", "clrebalance");
	frame_add(&req, "layer", "%d", RB_LAYER);
	if (ctl_send(&R.sub, &req) == -1 || ctl_recv(&R.sub, &f, 5000) != 1 ||
	    strcmp(f.op, "ok") != 0) {
		ctl_close(&R.sub);
		return -1;
	}
	return 0;
}

static void
on_connect(void *arg)
{
	static int	 logged;

	(void)arg;
	if (R.up)
		return;
	if (dbc_open(&R.d, R.conf) == -1 || subscribe() == -1) {
		dbc_close(&R.d);
		if (!logged)
			log_warnx("clmemberd at %s/clmemberd.sock: %s; "
			    "retrying", R.conf->rundir, strerror(errno));
		logged = 1;
		timer_in(&R.connt, 500);
		return;
	}
	if (loop_fd_add(R.sub.fd, POLLIN, on_sub, NULL) == -1)
		fatal("event loop");
	R.up = 1;
	logged = 0;
	log_info("registered with clmemberd as clrebalance, layer %d",
	    RB_LAYER);
	/* What no node administers yet (a first start) is placed now. */
	want(RB_ORPHANS, 0);
}

/*
 * Every rebalance_ms, the lowest member checks the spread: volumes with
 * failback may move back to nodes that returned (passive, seed 002
 * L1126-L1128: at administratively defined times).
 */
static void
on_period(void *arg)
{
	struct dbc_view	 v;
	uint32_t	 id;

	(void)arg;
	timer_in(&R.periodt, (uint64_t)R.conf->rebalance_ms);
	if (!R.up || R.want || dbc_view(&R.d, &v) == -1)
		return;
	for (id = 1; id <= CONF_NODEID_MAX && !v.joined[id]; id++)
		;
	if (id == R.conf->self)
		want(RB_JOIN, 0);
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
	struct cl_conf	*nc;

	(void)sig;
	(void)arg;
	if ((nc = calloc(1, sizeof(*nc))) == NULL ||
	    conf_load(nc, R.confpath) == -1 || nc->self != R.conf->self) {
		log_warnx("SIGHUP: %s not reloaded", R.confpath);
		free(nc);
		return;
	}
	free(R.conf);
	R.conf = nc;
	log_info("SIGHUP: %s reloaded: %d volumes", R.confpath,
	    nc->nvolumes);
	want(RB_ORPHANS, 0);
}

static void
daemon_main(int debug, int verbose)
{
	log_init("clrebalance", debug, LOG_DAEMON);
	log_setverbose(debug + verbose);
	if (loop_init() == -1)
		fatal("event loop");
	(void)signal(SIGPIPE, SIG_IGN);
	if (loop_signal(SIGTERM, on_term, NULL) == -1 ||
	    loop_signal(SIGINT, on_term, NULL) == -1 ||
	    loop_signal(SIGHUP, on_hup, NULL) == -1)
		fatal("signals");
	timer_setup(&R.roundt, on_round, NULL);
	timer_setup(&R.connt, on_connect, NULL);
	timer_setup(&R.periodt, on_period, NULL);
	timer_in(&R.connt, 0);
	timer_in(&R.periodt, (uint64_t)R.conf->rebalance_ms);
	log_info("node %u, %d volumes", R.conf->self, R.conf->nvolumes);
	if (loop_run() == -1)
		fatal("event loop");
	log_info("terminating");
}

int
main(int argc, char *argv[])
{
	int	 ch, debug = 0, noaction = 0, verbose = 0;

	if ((R.conf = calloc(1, sizeof(*R.conf))) == NULL)
		err(1, NULL);
	while ((ch = getopt(argc, argv, "df:nv")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			R.confpath = optarg;
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
	R.confpath = conf_path(R.confpath);
	if (conf_load(R.conf, R.confpath) == -1)
		exit(1);
	if (argc > 0)
		return rb_tool(R.conf, R.confpath, argc, argv);
	if (noaction) {
		(void)fprintf(stderr, "configuration OK\n");
		return 0;
	}
	daemon_main(debug, verbose);
	return 0;
}
