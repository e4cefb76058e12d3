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
 * Client load rebalancing, the aware client's half (seed 002 FIG 1A,
 * 4B-D, 6, 7A-D; L266-L293, L570-L604, L662-L737): the name driver's
 * path table (update table 600, L662-L668), the load balancer's choice
 * of a path and the fail-over module's (FIG 2B, L466-L497).
 *
 * A path is a node whose cliod can reach the file system's volume (its
 * path in cl.conf is not "") and shares a domain with it (L712).  The
 * first path is the one asked for (via), else this node's own when it
 * has the volume and is not over util_high (no forwarding), else the
 * least utilized.  The client moves when
 *
 *   - the server redirects it (FIG 7A, L677-L686): to the path the
 *     redirect names (passive, L591-L594), else to the least utilized
 *     valid path by the util/N records of the cluster database, which
 *     the client reads itself (active, L597-L604; claims 34-36), ties
 *     going to the least recently used (L594-L595, L668);
 *   - its round trips exceed rtt_high_ms CLP_STRIKES times in a row
 *     (L286: overload seen by the client; L733-L734);
 *   - a request fails for want of an answer (FIG 4B, L578-L583): the
 *     path is marked failed and probed again later (after CLP_PROBE_MS,
 *     doubling), or as soon as its node writes a new util/N record.
 *
 * A path left for load (a redirect, slow round trips) is not taken again
 * for load for CLP_HOLD intervals (longer if it goes bad again soon after
 * it was retried): claims 38-40, the path least recently rebalanced
 * first.  A redirect to such a path, or with no other valid path, leaves
 * the client where it is: it sends the request again as a normal client
 * would, for the rest of the server's interval.  A path taken again
 * after it was left for load is on trial: at most CLP_PROBE_WINDOW
 * requests in flight until CLP_STRIKES round trips through it were good.
 *
 * Away from its first path, the client goes back to it once that path
 * is valid, no longer held, and its record shows it under util_high: the
 * first path is the client's own choice (its --via, or the node it runs
 * on, which needs no forwarding), left only for a reason, and failed
 * back when the reason is gone (L583, L668).
 *
 * Nothing is lost or written twice: a request is sent again only when
 * the server answered with a redirect, which it gives before doing
 * anything (cliod(8)), or when no answer came from the path.  In the
 * second case a write may have been done, in whole or in part: sending
 * the same bytes to the same offset again leaves the file as one write
 * would.
 *
 * The round trip of a request is measured from when it was sent, or
 * from the previous answer if that came later: with many requests in
 * flight, the time a request waits behind the client's own earlier ones
 * is not the server's.
 */

#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "fsproto.h"
#include "loop.h"

enum why { WHY_REDIRECT, WHY_RTT, WHY_FAIL, WHY_HOME };

static uint64_t
wall_ms(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void __attribute__((__format__ (printf, 2, 3)))
say(struct clp *pt, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	if (pt->log == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pt->log(pt->logarg, msg);
}

static int
find(const struct clp *pt, uint32_t node)
{
	int	 i;

	for (i = 0; i < pt->n; i++)
		if (pt->p[i].node == node)
			return i;
	return -1;
}

static uint64_t
hold_base(const struct clp *pt)
{
	uint64_t	 ms = (uint64_t)CLP_HOLD * (uint64_t)pt->conf->util_ms;

	return ms < CLP_HOLD_MIN_MS ? CLP_HOLD_MIN_MS : ms;
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

static void
db_close(struct clp *pt)
{
	if (pt->dbopen)
		ctl_close(&pt->db);
	pt->dbopen = 0;
	pt->dbretry = clock_ms() + 10 * (uint64_t)pt->conf->util_ms;
}

/*
 * A util/N record, "util=P inflight=I clients=C interval=MS ts=T" (keys
 * in any order, others ignored, clients= optional): 0, or -1 if util=,
 * interval= or ts= is missing or out of range.
 */
int
clp_util_parse(const char *val, int *util, int *clients, uint64_t *interval,
    uint64_t *ts)
{
	const char	*p = val, *eq, *end;
	uint64_t	 v;
	size_t		 klen;
	int		 got = 0;

	*clients = 0;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if ((end = strchr(p, ' ')) == NULL)
			end = p + strlen(p);
		if ((eq = memchr(p, '=', (size_t)(end - p))) != NULL &&
		    wire_parse_u64(eq + 1, (size_t)(end - eq - 1), UINT64_MAX,
		    &v) == 0) {
			klen = (size_t)(eq - p);
			if (klen == 4 && strncmp(p, "util", 4) == 0 &&
			    v <= 100) {
				*util = (int)v;
				got |= 1;
			} else if (klen == 8 && strncmp(p, "interval", 8) ==
			    0 && v > 0) {
				*interval = v;
				got |= 2;
			} else if (klen == 2 && strncmp(p, "ts", 2) == 0) {
				*ts = v;
				got |= 4;
			} else if (klen == 7 && strncmp(p, "clients", 7) ==
			    0 && v <= 65535)
				*clients = (int)v;
		}
		p = end;
	}
	return got == 7 ? 0 : -1;
}

/* A util/N record into the path of N. */
static void
db_rec(struct clp *pt, const struct frame *f, uint64_t now)
{
	const char	*key = frame_get(f, "key"), *val = frame_get(f, "value");
	struct clp_path	*p;
	unsigned long	 node;
	char		*end;
	uint64_t	 interval, ts;
	int		 util, clients, i;

	if (key == NULL || val == NULL || strncmp(key, "util/", 5) != 0)
		return;
	node = strtoul(key + 5, &end, 10);
	if (*end != '\0' || node == 0 || node > CONF_NODEID_MAX ||
	    (i = find(pt, (uint32_t)node)) == -1)
		return;
	if (clp_util_parse(val, &util, &clients, &interval, &ts) == -1)
		return;
	p = &pt->p[i];
	/* Written since it failed: its cliod is back (failed-back, L583). */
	if (p->failed && ts > p->failed_wall) {
		p->failed = 0;
		say(pt, "%s: node %lu is back", pt->fs, node);
	}
	/* As cliod's: stale after 11 intervals (written every 10 at least). */
	if (ts < now && now - ts > 11 * interval + 1000)
		return;
	p->util = util;
}

/*
 * The utilization table, from clmemberd's copy of the cluster database
 * (FIG 7C-D: the client "accesses the cluster configuration database"),
 * at most once an interval.  Without clmemberd every utilization is
 * unknown and choices go by least recent use.
 */
static void
refresh(struct clp *pt)
{
	struct frame	 f;
	uint64_t	 now = clock_ms(), wall = wall_ms();
	int		 i;

	if (pt->util_at != 0 && now - pt->util_at < (uint64_t)pt->conf->util_ms)
		return;
	pt->util_at = now;
	for (i = 0; i < pt->n; i++)
		pt->p[i].util = -1;
	if (!pt->dbopen) {
		if (now < pt->dbretry || ctl_open(&pt->db, pt->conf->rundir,
		    "clmemberd") == -1) {
			if (now >= pt->dbretry)
				db_close(pt);
			return;
		}
		pt->dbopen = 1;
	}
	frame_init(&f, "db", ++pt->dbtxid);
	if (frame_add(&f, "cmd", "ls") == -1 ||
	    frame_add(&f, "prefix", "util/") == -1 ||
	    ctl_send(&pt->db, &f) == -1) {
		db_close(pt);
		return;
	}
	for (;;) {
		if (ctl_recv(&pt->db, &f, CLP_DB_MS) != 1) {
			db_close(pt);
			return;
		}
		if (f.txid != pt->dbtxid)
			continue;
		if (strcmp(f.op, "dbrec") == 0)
			db_rec(pt, &f, wall);
		else
			return;		/* end, or an error */
	}
}

static int
usable(const struct clp_path *p, uint64_t now)
{
	return !p->failed || now >= p->retry;
}

static int
held(const struct clp_path *p, uint64_t now)
{
	return p->hold > now;
}

/* a before b: not held, less utilized (unknown last), less recently used. */
static int
better(const struct clp_path *a, const struct clp_path *b, uint64_t now)
{
	int	 ua = a->util < 0 ? 101 : a->util;
	int	 ub = b->util < 0 ? 101 : b->util;

	if (held(a, now) != held(b, now))
		return !held(a, now);
	if (ua != ub)
		return ua < ub;
	return a->used < b->used;
}

/*
 * The path to move to from path `from` (-1: none yet): the one a
 * redirect named, if valid and not held; else the best valid one.  A
 * held one only when any will do (a failure); -1 for none.
 */
static int
choose(struct clp *pt, int from, uint32_t hint, int anyheld)
{
	uint64_t	 now = clock_ms();
	int		 i, best = -1;

	refresh(pt);
	if (hint != 0 && (i = find(pt, hint)) != -1 && i != from &&
	    usable(&pt->p[i], now) && !held(&pt->p[i], now))
		return i;
	for (i = 0; i < pt->n; i++) {
		if (i == from || !usable(&pt->p[i], now))
			continue;
		if (best == -1 || better(&pt->p[i], &pt->p[best], now))
			best = i;
	}
	if (best != -1 && held(&pt->p[best], now) && !anyheld)
		return -1;
	return best;
}

static const char *
why_text(enum why why)
{
	switch (why) {
	case WHY_REDIRECT:
		return "redirected";
	case WHY_RTT:
		return "slow round trips";
	case WHY_FAIL:
		return "no answer";
	case WHY_HOME:
		return "back to the first path: under util_high again";
	}
	return "?";
}

/* Move off the current path: 0, or -1 when it stays. */
static int
move(struct clp *pt, enum why why, uint32_t hint, uint32_t by)
{
	struct clp_path	*old = &pt->p[pt->cur];
	uint64_t	 now = clock_ms(), base = hold_base(pt);
	char		 what[64];
	int		 to;

	if (why == WHY_HOME)
		to = pt->home;
	else if ((to = choose(pt, pt->cur, hint, why == WHY_FAIL)) == -1) {
		say(pt, "%s: stays on node %u (%s): no other valid path",
		    pt->fs, old->node, why_text(why));
		return -1;
	}
	if (why == WHY_REDIRECT || why == WHY_RTT) {
		/* Bad again soon after it was retried: wait longer. */
		if (old->left != 0 && now - pt->since < 2 * base) {
			if (old->penalty < CLP_HOLD_SHIFT_MAX)
				old->penalty++;
		} else
			old->penalty = 0;
		old->left = now;
		old->hold = now + (base << old->penalty);
	}
	if (why == WHY_REDIRECT)
		(void)snprintf(what, sizeof(what), "redirected by node %u, "
		    "path %s", by, hint != 0 ? "given" : "chosen");
	else
		(void)strlcpy(what, why_text(why), sizeof(what));
	say(pt, "%s: via node %u (was %u): %s", pt->fs, pt->p[to].node,
	    old->node, what);
	pt->from_srtt = old->srtt;
	pt->cur = to;
	pt->since = now;
	pt->strikes = 0;
	pt->good = 0;
	pt->unaware_until = 0;
	pt->moves++;
	return 0;
}

/* No answer through path i: failed until probed again (L583). */
static void
fail(struct clp *pt, int i, const char *why)
{
	struct clp_path	*p = &pt->p[i];
	uint64_t	 now = clock_ms();

	if (p->failed && now < p->retry)
		return;		/* the other requests in flight */
	p->probe = p->probe == 0 ? CLP_PROBE_MS : p->probe * 2;
	if (p->probe > CLP_PROBE_MAX_MS)
		p->probe = CLP_PROBE_MAX_MS;
	p->failed = 1;
	p->retry = now + p->probe;
	p->failed_wall = wall_ms();
	say(pt, "%s: node %u failed (%s): tried again in %llu ms", pt->fs,
	    p->node, why != NULL ? why : "no answer",
	    (unsigned long long)p->probe);
}

int
clp_init(struct clp *pt, const struct cl_conf *conf, const char *fs,
    uint32_t via, int aware, char *err, size_t errlen)
{
	const struct cl_volume *v;
	const struct cl_node *n;
	uint64_t	 now = clock_ms();
	int		 i, self, best;

	memset(pt, 0, sizeof(*pt));
	pt->conf = conf;
	pt->aware = aware;
	pt->cur = -1;
	(void)strlcpy(pt->fs, fs, sizeof(pt->fs));
	if ((v = conf_volume(conf, fs)) == NULL) {
		(void)snprintf(err, errlen, "no file system %s", fs);
		return -1;
	}
	for (i = 0; i < conf->nnodes; i++) {
		n = &conf->nodes[i];
		if (conf_volume_path(conf, v, n->id) == NULL ||
		    !same_domain(n, v))
			continue;
		pt->p[pt->n].node = n->id;
		pt->p[pt->n].util = -1;
		pt->n++;
	}
	if (via != 0 && (pt->cur = find(pt, via)) == -1) {
		(void)snprintf(err, errlen, "node %u cannot reach %s", via,
		    fs);
		return -1;
	}
	if (!aware) {
		pt->pin = via;
		return 0;
	}
	if (pt->n == 0) {
		/* Nowhere to choose from: as a normal client. */
		pt->aware = 0;
		return 0;
	}
	if (pt->cur == -1) {
		/*
		 * This node's own cliod needs no forwarding: it, unless it
		 * is over util_high and another is clearly less utilized
		 * (as cliod would redirect).
		 */
		refresh(pt);
		best = choose(pt, -1, 0, 1);
		self = find(pt, conf->self);
		if (self != -1 && (pt->p[self].util <= conf->util_high ||
		    best == -1 || pt->p[best].util < 0 ||
		    pt->p[best].util >= conf->util_high ||
		    pt->p[best].util + CLP_MARGIN > pt->p[self].util))
			pt->cur = self;
		else
			pt->cur = best != -1 ? best : 0;
	}
	pt->home = pt->cur;
	pt->since = now;
	return 0;
}

void
clp_close(struct clp *pt)
{
	if (pt->dbopen)
		ctl_close(&pt->db);
	pt->dbopen = 0;
}

uint32_t
clp_current(const struct clp *pt)
{
	if (!pt->aware)
		return pt->pin;
	return pt->cur >= 0 ? pt->p[pt->cur].node : 0;
}

int
clp_window(const struct clp *pt, int window)
{
	const struct clp_path *p;

	if (!pt->aware || pt->cur < 0)
		return window;
	p = &pt->p[pt->cur];
	if (p->left != 0 && pt->good < CLP_STRIKES &&
	    window > CLP_PROBE_WINDOW)
		return CLP_PROBE_WINDOW;
	return window;
}

/*
 * Away from the first path (for load or a failure): back to it once it
 * is valid, its hold is over and its record says it is under util_high
 * again, as a failed path is failed back (L583, L668).  Looked at once an
 * interval.
 */
static void
home(struct clp *pt)
{
	struct clp_path	*h = &pt->p[pt->home];
	uint64_t	 now = clock_ms();

	if (pt->cur == pt->home || now - pt->home_at <
	    (uint64_t)pt->conf->util_ms)
		return;
	pt->home_at = now;
	refresh(pt);
	if (!usable(h, now) || held(h, now))
		return;
	if (h->util >= 0 && h->util < pt->conf->util_high)
		(void)move(pt, WHY_HOME, 0, 0);
}

void
clp_begin(struct clp *pt, struct clp_try *t)
{
	uint64_t	 now = clock_ms();

	memset(t, 0, sizeof(*t));
	t->sent = now;
	if (!pt->aware) {
		t->node = pt->pin;
		return;
	}
	home(pt);
	t->node = pt->p[pt->cur].node;
	t->aware = now >= pt->unaware_until;
}

int
clp_frame(const struct clp_try *t, struct frame *f)
{
	frame_del(f, "via");
	frame_del(f, "aware");
	if (t->node != 0 && frame_add(f, "via", "%u", t->node) == -1)
		return -1;
	if (t->aware && frame_add(f, "aware", "1") == -1)
		return -1;
	return 0;
}

/* Send t again through the current path (or, having stayed, unaware). */
static int
again(struct clp *pt, struct clp_try *t, int i)
{
	t->tries++;
	t->sent = clock_ms();
	t->node = pt->p[pt->cur].node;
	t->aware = pt->cur != i && t->tries < CLP_TRIES_MAX &&
	    t->sent >= pt->unaware_until;
	pt->resends++;
	return CLP_RESEND;
}

int
clp_answer(struct clp *pt, struct clp_try *t, const struct frame *ans)
{
	struct clp_path	*p;
	uint64_t	 now = clock_ms(), v, rtt;
	uint32_t	 hint = 0, by = 0;
	int		 i, e = fs_answer_errno(ans);

	if (!pt->aware || (i = find(pt, t->node)) == -1)
		return CLP_DONE;
	p = &pt->p[i];
	if (frame_getu64(ans, "path", &v) == 0 && v <= CONF_NODEID_MAX)
		hint = (uint32_t)v;
	if (frame_getu64(ans, "node", &v) == 0 && v <= CONF_NODEID_MAX)
		by = (uint32_t)v;
	if (e == EAGAIN && frame_get(ans, "redirect") != NULL) {
		/* Nothing was done (FIG 7A): again, elsewhere. */
		pt->redirects++;
		if (i == pt->cur && move(pt, WHY_REDIRECT, hint, by) == -1)
			pt->unaware_until = now +
			    (uint64_t)pt->conf->util_ms;
		return again(pt, t, i);
	}
	if (e != 0 && frame_get(ans, "pathfail") != NULL) {
		/* No answer through it (FIG 4B): another path, if any. */
		pt->failures++;
		fail(pt, i, frame_get(ans, "reason"));
		if (i == pt->cur && move(pt, WHY_FAIL, 0, 0) == -1)
			return CLP_DONE;	/* L1551-L1555: the error */
		if (pt->cur == i || t->tries >= CLP_TRIES_MAX)
			return CLP_DONE;
		return again(pt, t, i);
	}
	p->used = now;
	if (e != 0)
		return CLP_DONE;
	if (p->failed) {
		p->failed = 0;
		p->probe = 0;
		say(pt, "%s: node %u answers again", pt->fs, p->node);
	}
	rtt = now - (pt->lastans > t->sent ? pt->lastans : t->sent);
	pt->lastans = now;
	if (i != pt->cur)
		return CLP_DONE;
	if (frame_get(ans, "redirect") != NULL && hint != 0) {
		/* Done, partly elsewhere: the next ones go there. */
		pt->redirects++;
		(void)move(pt, WHY_REDIRECT, hint, by);
		return CLP_DONE;
	}
	p->srtt = p->srtt == 0 ? rtt : (7 * p->srtt + rtt) / 8;
	/*
	 * A path on trial (taken again after it was left for load) must
	 * also be about as fast as the one we came from: its utilization
	 * fell because we left it, so the record alone says little, and a
	 * node still slow would draw the client back again and again.
	 */
	if (rtt <= (uint64_t)pt->conf->rtt_high_ms && (p->left == 0 ||
	    pt->good >= CLP_STRIKES || pt->from_srtt == 0 ||
	    rtt <= 2 * pt->from_srtt + CLP_TRIAL_SLACK_MS)) {
		pt->strikes = 0;
		pt->good++;
		return CLP_DONE;
	}
	if (++pt->strikes >= CLP_STRIKES) {
		if (p->left != 0 && pt->good < CLP_STRIKES)
			say(pt, "%s: %d round trips through node %u, on trial, "
			    "slower than the last path's %llu ms (last %llu "
			    "ms)", pt->fs, pt->strikes, p->node,
			    (unsigned long long)pt->from_srtt,
			    (unsigned long long)rtt);
		else
			say(pt, "%s: %d round trips over %d ms through node "
			    "%u (last %llu ms)", pt->fs, pt->strikes,
			    pt->conf->rtt_high_ms, p->node,
			    (unsigned long long)rtt);
		if (move(pt, WHY_RTT, 0, 0) == -1)
			pt->strikes = 0;
	}
	return CLP_DONE;
}
