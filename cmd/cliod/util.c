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
 * Client load rebalancing, the server's half (seed 002 FIG 7A-D,
 * L677-L737; the load-balance driver 168, L446).
 *
 * Utilization: the share of the last util_ms during which this cliod had
 * a read or write of its own in service (waiting for its block list,
 * its disk I/O, its sync, or its turn under the test-only slow switch):
 * "I/O activity as a percent of total I/O capacity" (L675), measured as
 * iostat(1) measures a disk's %util.
 *
 * The utilization table: every util_ms each cliod writes its record
 * util/N = "util=P inflight=I clients=C interval=MS ts=UNIXMS" to the
 * cluster database (seed 002 L675: "the cluster node database 120A is
 * maintained by periodic updates from each of the nodes"; claims 34-36:
 * the update interval recorded with it), only when P changed or every
 * UTIL_REPUBLISH intervals, and reads everyone's back from its local
 * copy (db ls util/, no message leaves the node).  The database is
 * replicated to every member, so those records are the cluster-wide
 * table that DESIGN.md has clrebalance keep, and every node holds it
 * (the node database "resident in the memory in each of the nodes",
 * L703-L704).
 *
 * Redirect (FIG 7A, L677-L686): while this cliod is over util_high and
 * at least two clients are using it, it answers the reads and writes of
 * one aware client (aware=1, L678-L679) per interval with a redirect
 * (status EAGAIN, redirect=1) before doing any of them, naming the least
 * utilized other node that can reach the volume (path=M, 700B) if that
 * one is under util_high and UTIL_MARGIN points under this one (claims
 * 4-5, 29-30: the first server overutilized, the second less so).  With
 * no record of any such node it redirects without a path (FIG 7C: the
 * client chooses); with records that show none less utilized, it keeps
 * serving: a move would not help.  One client at a time, because the
 * effect of a move shows only in the next interval's figure, and only
 * while two clients share the node: moving the only one moves the whole
 * load, relieving nobody.  Normal clients are never redirected (L678).
 *
 * The slow switch (tests only): `slow delay_ms=N` makes this cliod take
 * its reads and writes one at a time, N ms each, before their I/O: a
 * slow disk.  A request still waiting for its turn has done nothing, so
 * an aware one may still be redirected.
 */

#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cliod.h"
#include "log.h"
/* libcl's client.h: the record's parser, shared with the clients. */
#include <client.h>

#define UTIL_MARGIN		10	/* points: a target this much lower */
#define UTIL_REPUBLISH		10	/* intervals: write at least this often */
#define UTIL_FRESH		11	/* intervals: a record older is stale */
#define UTIL_SLACK_MS		1000	/* ms more, for clocks and the db */
#define UTIL_SEEN_MAX		64	/* clients counted per interval */
#define SLOW_MAX_MS		60000	/* ms: the slow switch's limit */

/* One node's record, from the database. */
struct unode {
	int		 known;
	int		 util;		/* % */
	int		 clients;	/* reading or writing here */
	uint64_t	 interval;	/* ms */
	uint64_t	 ts;		/* ms since the epoch */
};

static struct {
	struct unode	 table[CONF_NODEID_MAX + 1];
	struct timer	 tick;
	uint64_t	 lasttick;	/* ms */
	int		 nbusy;		/* reads and writes in service here */
	uint64_t	 busy_start;	/* ms: since when nbusy > 0 */
	uint64_t	 busy_acc;	/* ms busy in this interval */
	int		 util;		/* % in the last interval */
	int		 published;	/* the util last written, -1 none */
	int		 since_pub;	/* intervals since */
	int		 over;		/* redirect aware clients now */
	char		 victim[UTIL_CKEY_MAX];	/* the client being moved */
	char		 seen[UTIL_SEEN_MAX][UTIL_CKEY_MAX];
	int		 nseen;
	int		 active;	/* clients in the last interval */
	uint64_t	 lstx, settx;	/* database requests in flight */
	int		 fresh;		/* the next ls answer replaces all */
	/* The slow switch. */
	int		 slow_ms;
	struct reqq	 slowq;
	struct timer	 slowt;
	uint64_t	 redirects;
} U;

static uint64_t
wall_ms(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
util_now(void)
{
	return U.util;
}

int
util_active(void)
{
	return U.active;
}

int
util_slow_ms(void)
{
	return U.slow_ms;
}

uint64_t
util_redirects(void)
{
	return U.redirects;
}

/* ---- the utilization table in the cluster database ---- */

static void
publish(void)
{
	struct frame	 f;

	if (U.settx != 0 || (U.published == U.util &&
	    U.since_pub < UTIL_REPUBLISH))
		return;
	frame_init(&f, "db", 0);
	if (frame_add(&f, "cmd", "set") == -1 ||
	    frame_add(&f, "key", "util/%u", meta_self()) == -1 ||
	    frame_add(&f, "value", "util=%d inflight=%" PRIu64 " clients=%d "
	    "interval=%d ts=%" PRIu64, U.util, stats_total()->inflight,
	    U.active, conf.util_ms, wall_ms()) == -1 || meta_local(&f) == -1)
		return;
	U.settx = f.txid;
	U.published = U.util;
	U.since_pub = 0;
}

static void
ask_table(void)
{
	struct frame	 f;

	if (U.lstx != 0)
		return;
	frame_init(&f, "db", 0);
	if (frame_add(&f, "cmd", "ls") == -1 ||
	    frame_add(&f, "prefix", "util/") == -1 || meta_local(&f) == -1)
		return;
	U.lstx = f.txid;
	U.fresh = 1;
}

/* "util=P inflight=I interval=MS ts=T" of util/N into the table. */
static void
table_set(const char *key, const char *val)
{
	struct unode	 n;
	unsigned long	 id;
	char		*end;

	memset(&n, 0, sizeof(n));
	id = strtoul(key + 5, &end, 10);
	if (*end != '\0' || id == 0 || id > CONF_NODEID_MAX)
		return;
	if (clp_util_parse(val, &n.util, &n.clients, &n.interval, &n.ts) ==
	    -1) {
		log_debug("util: %s = %s: not understood", key, val);
		return;
	}
	n.known = 1;
	U.table[id] = n;
}

/* A frame from clmemberd without from=: 1 if it answers us. */
int
util_local(const struct frame *f)
{
	const char	*key, *val;

	if (f->txid == 0)
		return 0;
	if (f->txid == U.settx) {
		U.settx = 0;
		if (strcmp(f->op, "error") == 0) {
			/* No quorum, say: try again next interval. */
			log_debug("util: database write refused: %s",
			    frame_get(f, "reason") != NULL ?
			    frame_get(f, "reason") : "?");
			U.published = -1;
		}
		return 1;
	}
	if (f->txid != U.lstx)
		return 0;
	if (U.fresh) {
		memset(U.table, 0, sizeof(U.table));
		U.fresh = 0;
	}
	if (strcmp(f->op, "dbrec") == 0) {
		if ((key = frame_get(f, "key")) != NULL &&
		    (val = frame_get(f, "value")) != NULL &&
		    strncmp(key, "util/", 5) == 0)
			table_set(key, val);
	} else if (strcmp(f->op, "end") == 0 || strcmp(f->op, "error") == 0)
		U.lstx = 0;
	return 1;
}

/* A record young enough to go by: written within UTIL_FRESH intervals. */
static const struct unode *
record(uint32_t node)
{
	const struct unode *n;
	uint64_t	 now = wall_ms();

	if (node == 0 || node > CONF_NODEID_MAX)
		return NULL;
	n = &U.table[node];
	if (!n->known || (n->ts < now && now - n->ts > UTIL_FRESH *
	    n->interval + UTIL_SLACK_MS))
		return NULL;
	return n;
}

/* Node n and volume v share a domain, or either has none (L633, L712). */
static int
same_domain(const struct cl_node *n, const struct cl_volume *v)
{
	int	 i, j;

	if (n->domains.n == 0 || v->domains.n == 0)
		return 1;
	for (i = 0; i < n->domains.n; i++)
		for (j = 0; j < v->domains.n; j++)
			if (strcmp(n->domains.name[i], v->domains.name[j]) ==
			    0)
				return 1;
	return 0;
}

/*
 * Where to send an aware client of v (FIG 7A: "which among the remaining
 * nodes has access to the file system"): a node that can reach v, shares
 * a domain with it, runs cliod and is less utilized by UTIL_MARGIN and
 * under util_high; 0 for "somewhere else, you choose" when no such node
 * has a fresh record; UTIL_NOWHERE when the records say none would help.
 */
#define UTIL_NOWHERE	((uint32_t)-1)

static uint32_t
target(const struct fsvol *v)
{
	const struct cl_node *n;
	const struct unode *u;
	uint32_t	 best = 0;
	int		 i, bestu = 101, unknown = 0;

	for (i = 0; i < conf.nnodes; i++) {
		n = &conf.nodes[i];
		if (n->id == meta_self() ||
		    conf_volume_path(&conf, v->cv, n->id) == NULL ||
		    !same_domain(n, v->cv) || !meta_cliod_on(n->id))
			continue;
		if ((u = record(n->id)) == NULL) {
			unknown = 1;
			continue;
		}
		if (u->util < bestu) {
			bestu = u->util;
			best = n->id;
		}
	}
	if (best != 0 && bestu < conf.util_high &&
	    bestu + UTIL_MARGIN <= U.util)
		return best;
	if (best == 0 && unknown)
		return 0;
	return UTIL_NOWHERE;
}

/*
 * status=EAGAIN redirect=1 node=SELF [path=M]: nothing was done; send it
 * again through M (or another path).
 */
static void
redirect(struct req *r, uint32_t to)
{
	struct frame	 f;

	(void)fs_error(&f, r->txid, EAGAIN, "node %u is %d%% utilized, over "
	    "util_high %d%%: redirected%s", meta_self(), U.util,
	    conf.util_high, to != 0 ? "" : " (no path: choose one)");
	frame_add(&f, "redirect", "1");
	frame_add(&f, "node", "%u", meta_self());
	if (to != 0)
		frame_add(&f, "path", "%u", to);
	r->v->st.redirects++;
	U.redirects++;
	log_debug("%s of %s from %s: redirect to %u", r->op, r->v->name,
	    r->ckey, to);
	req_answer(r, &f);
}

/* A read or write that this node serves (its own I/O), not forwards. */
static int
served_here(const struct req *r)
{
	return r->v != NULL && r->v->local &&
	    (r->via == 0 || r->via == meta_self());
}

/* Remember r's client as one of this interval's. */
static void
note(const struct req *r)
{
	int	 i;

	for (i = 0; i < U.nseen; i++)
		if (strcmp(U.seen[i], r->ckey) == 0)
			return;
	if (U.nseen < UTIL_SEEN_MAX)
		(void)strlcpy(U.seen[U.nseen++], r->ckey, sizeof(U.seen[0]));
}

/*
 * A new read or write, before anything is done for it: 1 if it was
 * answered with a redirect.
 */
int
util_check(struct req *r)
{
	uint32_t	 to;

	if (!served_here(r))
		return 0;
	note(r);
	if (!r->aware || r->token[0] != '\0' || !U.over)
		return 0;
	if (U.victim[0] == '\0')
		(void)strlcpy(U.victim, r->ckey, sizeof(U.victim));
	else if (strcmp(U.victim, r->ckey) != 0)
		return 0;
	if ((to = target(r->v)) == UTIL_NOWHERE)
		return 0;
	redirect(r, to);
	return 1;
}

/* The victim's requests still waiting for their turn go elsewhere too. */
static void
redirect_queued(void)
{
	struct req	*r, *next;
	uint32_t	 to;

	TAILQ_FOREACH(r, &U.slowq, entry)
		if (r->aware && r->token[0] == '\0')
			break;
	if (r == NULL)
		return;
	(void)strlcpy(U.victim, r->ckey, sizeof(U.victim));
	for (r = TAILQ_FIRST(&U.slowq); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (!r->aware || r->token[0] != '\0' ||
		    strcmp(r->ckey, U.victim) != 0 ||
		    (to = target(r->v)) == UTIL_NOWHERE)
			continue;
		TAILQ_REMOVE(&U.slowq, r, entry);
		redirect(r, to);
	}
}

static void
tick(void *arg)
{
	uint64_t	 now = loop_now(), dt = now - U.lasttick;

	(void)arg;
	if (dt == 0)
		dt = 1;
	if (U.nbusy > 0) {
		U.busy_acc += now - U.busy_start;
		U.busy_start = now;
	}
	U.util = U.busy_acc >= dt ? 100 : (int)(U.busy_acc * 100 / dt);
	U.busy_acc = 0;
	U.lasttick = now;
	U.active = U.nseen;
	U.nseen = 0;
	U.victim[0] = '\0';
	U.over = U.util > conf.util_high && U.active >= 2;
	U.since_pub++;
	if (U.over)
		redirect_queued();
	publish();
	ask_table();
	timer_in(&U.tick, (uint64_t)conf.util_ms);
}

/* ---- service: busy time and the slow switch ---- */

static void
run(struct req *r)
{
	if (strcmp(r->op, "write") == 0)
		write_start(r);
	else
		read_start(r);
}

static void
slow_turn(void *arg)
{
	struct req	*r;

	(void)arg;
	while ((r = TAILQ_FIRST(&U.slowq)) != NULL) {
		TAILQ_REMOVE(&U.slowq, r, entry);
		run(r);
		if (U.slow_ms > 0)
			break;
	}
	if (!TAILQ_EMPTY(&U.slowq))
		timer_in(&U.slowt, (uint64_t)U.slow_ms);
}

/* A read or write this node does itself: counted busy until done. */
void
util_serve(struct req *r)
{
	r->busy = 1;
	if (U.nbusy++ == 0)
		U.busy_start = loop_now();
	note(r);
	if (U.slow_ms == 0 && TAILQ_EMPTY(&U.slowq)) {
		run(r);
		return;
	}
	TAILQ_INSERT_TAIL(&U.slowq, r, entry);
	if (!U.slowt.armed)
		timer_in(&U.slowt, (uint64_t)U.slow_ms);
}

void
util_done(struct req *r)
{
	uint64_t	 now;

	if (!r->busy)
		return;
	r->busy = 0;
	if (--U.nbusy == 0) {
		now = loop_now();
		U.busy_acc += now - U.busy_start;
	}
}

/*
 * slow delay_ms=N (tests only): from a local client with the privilege
 * of cliod's own user or root.
 */
void
util_slow(struct req *r, const struct frame *f)
{
	struct frame	 a;
	uint64_t	 ms;

	if (r->cl == NULL || (r->uid != 0 && r->uid != (uint32_t)geteuid())) {
		req_fail(r, EPERM, "slow: for root or cliod's user only");
		return;
	}
	if (frame_getu64(f, "delay_ms", &ms) == -1 || ms > SLOW_MAX_MS) {
		req_fail(r, EINVAL, "slow: delay_ms=0..%d", SLOW_MAX_MS);
		return;
	}
	if ((int)ms != U.slow_ms)
		log_info("slow switch: %d ms per read or write%s", (int)ms,
		    ms == 0 ? " (off)" : " (tests only)");
	U.slow_ms = (int)ms;
	if (U.slow_ms == 0 && !TAILQ_EMPTY(&U.slowq))
		timer_in(&U.slowt, 0);
	frame_init(&a, "ok", r->txid);
	frame_add(&a, "delay_ms", "%d", U.slow_ms);
	req_answer(r, &a);
}

/* (Re)connected to clmemberd: answers to the old connection never come. */
void
util_connected(void)
{
	U.settx = U.lstx = 0;
	U.published = -1;
}

void
util_init(void)
{
	TAILQ_INIT(&U.slowq);
	U.published = -1;
	U.lasttick = loop_now();
	timer_setup(&U.tick, tick, NULL);
	timer_setup(&U.slowt, slow_turn, NULL);
	timer_in(&U.tick, (uint64_t)conf.util_ms);
}
