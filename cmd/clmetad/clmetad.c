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
 * clmetad: the administrative (metadata) server of one file system.  See
 * clmetad(8).  Start: the cluster DB lock clmetad.NAME (one admin per
 * volume, seed 002 L303, L748), fence the previous admin with a new
 * epoch, wait out its leases, replay the journal, reclaim, register the
 * service clmetad.NAME, publish fs/NAME, serve.
 */

#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "clmetad.h"
#include "log.h"

#define REGISTER_MS	5000		/* clmemberd's answer to service */

struct meta	*M;

static void
usage(void)
{
	(void)fprintf(stderr, "usage: clmetad [-dnv] [-f file] -F name\n");
	exit(2);
}

void
meta_fenced(uint64_t epoch, uint32_t node)
{
	log_warnx("%s: fenced: epoch %llu by node %u", M->name,
	    (unsigned long long)epoch, node);
	exit(1);
}

/* The answer to request f, built by ops and sent after the commit. */
struct answer *
meta_answer(const struct frame *f)
{
	struct answer	*a;
	const char	*to;

	if ((to = frame_get(f, "orig")) == NULL &&
	    (to = frame_get(f, "from")) == NULL)
		return NULL;
	if ((a = malloc(sizeof(*a))) == NULL) {
		log_warn("answer");
		return NULL;
	}
	a->payload = NULL;
	a->txid = f->txid;
	(void)strlcpy(a->to, to, sizeof(a->to));
	frame_init(&a->f, "ok", f->txid);
	return a;
}

void
meta_queue(struct answer *a)
{
	TAILQ_INSERT_TAIL(&M->answers, a, entry);
	M->nanswers++;
}

/* Every answer whose transaction is durable (all of them, by now). */
void
meta_send_answers(void)
{
	struct answer	*a;
	struct frame	 rq;

	while ((a = TAILQ_FIRST(&M->answers)) != NULL) {
		TAILQ_REMOVE(&M->answers, a, entry);
		M->nanswers--;
		frame_init(&rq, "req", a->txid);
		frame_add(&rq, "from", "%s", a->to);
		if (msg_reply(&M->msg, &rq, &a->f) == -1) {
			if (errno == EPIPE || errno == ECONNRESET)
				fatalx("clmemberd went away: %s",
				    M->msg.error);
			log_warnx("answer to %s: %s", a->to, M->msg.error);
		}
		free(a->payload);
		free(a);
	}
}

/* End of a loop turn: one commit for all of the turn's requests. */
static void
prepare(void)
{
	if (M->state == ST_SERVE) {
		tx_commit();
		/* The turn's answers, deferred, go in one write. */
		(void)msg_flush(&M->msg);
	}
}

static void
read_requests(void)
{
	struct frame	 f;
	int		 i, rc;

	for (i = 0; i < META_FRAMES_TURN; i++) {
		if (M->nanswers >= META_ANSWERS_MAX)
			tx_commit();
		if ((rc = msg_recv(&M->msg, &f, 0)) == 1) {
			ops_request(&f);
			continue;
		}
		if (rc == 0) {
			tx_commit();
			fatalx("clmemberd closed the connection");
		}
		if (errno == ETIMEDOUT)
			return;
		fatalx("clmemberd: %s", M->msg.error);
	}
	/* More may be buffered where poll cannot see it: next turn. */
	if (msg_pending(&M->msg))
		timer_in(&M->readt, 0);
}

static void
on_msg(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	read_requests();
}

static void
on_readt(void *arg)
{
	(void)arg;
	read_requests();
}

static void
on_fencet(void *arg)
{
	(void)arg;
	fence_check();
	timer_in(&M->fencet, META_FENCE_MS);
}

/* One request on the DB connection: 1 ok, 0 refused (*f says), -1. */
static int
db_call(struct frame *req, struct frame *f)
{
	int	 timeout = 2 * M->conf.msg_timeout_ms + 1000;

	if (!M->db_open) {
		if (ctl_open(&M->db, M->conf.rundir, "clmemberd") == -1)
			return -1;
		M->db_open = 1;
	}
	if (ctl_send(&M->db, req) == -1)
		goto broken;
	do {
		if (ctl_recv(&M->db, f, timeout) != 1)
			goto broken;
	} while (f->txid != req->txid);
	return strcmp(f->op, "ok") == 0;
 broken:
	ctl_close(&M->db);
	M->db_open = 0;
	return -1;
}

static void
publish(void)
{
	struct frame	 req, f;

	frame_init(&req, "db", 2);
	frame_add(&req, "cmd", "set");
	frame_add(&req, "key", "fs/%s", M->name);
	frame_add(&req, "value", "node=%u epoch=%llu", M->self,
	    (unsigned long long)M->sb.epoch);
	if (db_call(&req, &f) != 1)
		log_warnx("%s: cannot publish fs/%s in the cluster database",
		    M->name, M->name);
}

/*
 * Tell every cliod that this file system is served here now: those
 * waiting out a backoff for it (clmetad moved, seed 004 L115-L117) call
 * again at once.  No receipt: a cliod that misses it retries anyway.
 */
static void
announce(void)
{
	struct frame	 f;

	frame_init(&f, "serving", 0);
	frame_add(&f, "fs", "%s", M->name);
	frame_add(&f, "node", "%u", M->self);
	frame_add(&f, "epoch", "%llu", (unsigned long long)M->sb.epoch);
	frame_add(&f, "self", "1");
	if (msg_broadcast(&M->msg, "cliod", &f) == -1)
		log_warnx("%s: cannot tell the cliods: %s", M->name,
		    M->msg.error);
}

static void
serve(void)
{
	char	 svc[WIRE_KEY_MAX + 1];

	if (msg_open(&M->msg, M->conf.rundir) == -1)
		fatalx("%s", M->msg.error);
	(void)snprintf(svc, sizeof(svc), "clmetad.%s", M->name);
	if (msg_register(&M->msg, svc, REGISTER_MS) == -1)
		fatalx("%s", M->msg.error);
	if (loop_fd_add(msg_fd(&M->msg), POLLIN, on_msg, NULL) == -1)
		fatal("event loop");
	msg_defer(&M->msg);
	publish();
	announce();
	M->state = ST_SERVE;
	timer_in(&M->fencet, META_FENCE_MS);
	lease_tick(NULL);
	loop_prepare(prepare);
	log_info("%s: serving %s as %s, epoch %llu", M->name, M->path, svc,
	    (unsigned long long)M->sb.epoch);
	read_requests();
}

/*
 * Step 4, after the grace period: the old admin has stopped, so its
 * journal can be replayed; then everything into memory, and reclaim.
 */
static void
on_grace(void *arg)
{
	(void)arg;
	fence_check();
	if (tx_init() == -1 || journal_open() == -1 || alloc_load() == -1 ||
	    inode_load() == -1 || dir_load() == -1)
		fatalx("%s: cannot start", M->name);
	M->lease_next = (M->sb.epoch << 32) | 1;
	alloc_reclaim();
	serve();
}

/* Steps 2 and 3: fence the previous admin, then wait out its leases. */
static void
fence_and_wait(void)
{
	if (fence_bump() == -1)
		fatalx("%s: cannot write the superblock", M->name);
	M->bs = M->sb.bsize;
	log_info("%s: epoch %llu; grace period of %d ms", M->name,
	    (unsigned long long)M->sb.epoch, M->conf.lease_ms);
	M->state = ST_GRACE;
	timer_in(&M->gracet, (uint64_t)M->conf.lease_ms);
}

/* Step 1: the DB lock clmetad.NAME; held elsewhere: a standby, retry. */
static void
on_lockt(void *arg)
{
	struct frame	 req, f;
	const char	*node;
	uint64_t	 who = 0;
	int		 rc;

	(void)arg;
	frame_init(&req, "db", 1);
	frame_add(&req, "cmd", "lock");
	frame_add(&req, "name", "clmetad.%s", M->name);
	if ((rc = db_call(&req, &f)) == 1) {
		log_info("%s: holding the lock clmetad.%s", M->name, M->name);
		fence_and_wait();
		return;
	}
	if (rc == 0 && (node = frame_get(&f, "node")) != NULL)
		(void)wire_parse_u64(node, strlen(node), UINT32_MAX, &who);
	if (who != M->lock_logged || rc == -1) {
		if (rc == -1)
			log_warnx("%s: clmemberd: %s", M->name,
			    strerror(errno));
		else if (who != 0)
			log_info("%s: lock clmetad.%s held by node %llu; "
			    "waiting", M->name, M->name,
			    (unsigned long long)who);
		else
			log_info("%s: lock clmetad.%s: %s; retrying",
			    M->name, M->name, frame_get(&f, "reason") != NULL ?
			    frame_get(&f, "reason") : f.op);
		M->lock_logged = who;
	}
	/*
	 * Often at first: cllaunch starts us as the holder's node leaves the
	 * view, and clmemberd frees its lock fail_ms later.  A standby that
	 * has waited longer asks once a second.
	 */
	if (M->lock_since == 0)
		M->lock_since = loop_now();
	timer_in(&M->lockt, loop_now() - M->lock_since < META_LOCK_FAST_MS ?
	    META_LOCK_FIRST_MS : META_LOCK_RETRY_MS);
}

static void
unlock(void)
{
	struct frame	 req, f;

	frame_init(&req, "db", 3);
	frame_add(&req, "cmd", "unlock");
	frame_add(&req, "name", "clmetad.%s", M->name);
	if (db_call(&req, &f) != 1)
		log_warnx("%s: cannot release the lock clmetad.%s", M->name,
		    M->name);
}

static void
on_term(int sig, void *arg)
{
	(void)arg;
	log_info("signal %d: exiting", sig);
	M->exiting = 1;
	loop_exit();
}

static void
on_hup(int sig, void *arg)
{
	(void)sig;
	(void)arg;
	log_info("SIGHUP: clmetad has nothing to reload");
}

/* The volume of file system name, as this node reaches it. */
static void
open_volume(void)
{
	const struct cl_volume *v;
	char		 e[256];

	if ((v = conf_volume(&M->conf, M->name)) == NULL)
		errx(1, "%s: no volume %s", M->confpath, M->name);
	if ((M->path = conf_volume_path(&M->conf, v, M->self)) == NULL)
		errx(1, "%s: node %u cannot reach volume %s", M->confpath,
		    M->self, M->name);
	if ((M->fd = open(M->path, O_RDWR | O_CLOEXEC)) == -1)
		err(1, "%s", M->path);
	if (vol_read_super(M->fd, &M->sb, e, sizeof(e)) == -1)
		errx(1, "%s: %s", M->path, e);
	M->bs = M->sb.bsize;
}

static void
finish(void)
{
	if (M->state == ST_SERVE) {
		lease_end_all();
		tx_commit();
		journal_checkpoint();
		msg_close(&M->msg);
	}
	if (M->state != ST_LOCK)
		unlock();
	log_info("terminating");
}

int
main(int argc, char *argv[])
{
	int	 ch, debug = 0, noaction = 0, verbose = 0;

	if ((M = calloc(1, sizeof(*M))) == NULL)
		err(1, NULL);
	while ((ch = getopt(argc, argv, "dF:f:nv")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'F':
			M->name = optarg;
			break;
		case 'f':
			M->confpath = optarg;
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
	if (argc != optind || M->name == NULL)
		usage();
	M->confpath = conf_path(M->confpath);

	log_init("clmetad", 1, LOG_DAEMON);
	if (conf_load(&M->conf, M->confpath) == -1)
		exit(1);
	M->self = M->conf.self;
	open_volume();
	if (noaction) {
		(void)fprintf(stderr, "configuration OK\n");
		exit(0);
	}
	log_init("clmetad", debug, LOG_DAEMON);
	log_setverbose(debug + verbose);
	if (loop_init() == -1)
		fatal("event loop");
	(void)signal(SIGPIPE, SIG_IGN);
	if (loop_signal(SIGTERM, on_term, NULL) == -1 ||
	    loop_signal(SIGINT, on_term, NULL) == -1 ||
	    loop_signal(SIGHUP, on_hup, NULL) == -1)
		fatal("signals");
	timer_setup(&M->lockt, on_lockt, NULL);
	timer_setup(&M->gracet, on_grace, NULL);
	timer_setup(&M->fencet, on_fencet, NULL);
	timer_setup(&M->leaset, lease_tick, NULL);
	timer_setup(&M->readt, on_readt, NULL);
	M->state = ST_LOCK;
	timer_in(&M->lockt, 0);
	log_info("%s: node %u, volume %s", M->name, M->self, M->path);
	if (loop_run() == -1)
		fatal("event loop");
	finish();
	return 0;
}
