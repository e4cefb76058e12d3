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
 * Views (DESIGN.md, Membership).  The coordinator is the lowest node id
 * this node hears from.  When the set of nodes that should be members
 * differs from the view, the coordinator proposes a new epoch; a node
 * accepts only the lowest node it hears from, and only an epoch above
 * any it has promised (recorded on disk before it answers), so two views
 * can never share an epoch.  A view commits with the acceptance of a
 * majority of the configured nodes.  Acceptances carry each node's copy
 * of the cluster state, so a new coordinator continues from the newest.
 *
 * A member that can no longer hear a majority of its view is out: it
 * says quorum=no, runs its own forced leave locally (seed 004 L161-163,
 * the "panic") and then asks to be admitted again.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clmemberd.h"
#include "log.h"

/* Flap damping, as in BGP: each removal adds a penalty that halves
 * every damp_ms; a node over the cut-off is not admitted until its
 * penalty decays below the reuse level. */
#define FLAP_PENALTY	1000.0
#define FLAP_CUTOFF	3000.0
#define FLAP_REUSE	1000.0

static void	 panic(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));
static void	 update_reach(void);
static void	 send_state(struct peer *, const char *, const struct cstate *);

uint32_t
view_coordinator(void)
{
	return D->inview ? ns_min(&D->cs.members) : 0;
}

static int
is_ready(void)
{
	return !D->held && !D->panicking && !D->leaving;
}

static double
penalty_now(struct peer *p)
{
	uint64_t dt;

	if (p->penalty <= 0.0)
		return 0.0;
	dt = loop_now() - p->penalty_at;
	return p->penalty * pow(0.5, (double)dt / (double)D->conf.damp_ms);
}

static void
flap(struct peer *p)
{
	p->penalty = penalty_now(p) + FLAP_PENALTY;
	p->penalty_at = loop_now();
	if (!p->damped && p->penalty >= FLAP_CUTOFF) {
		p->damped = 1;
		log_warnx("node %u is flapping: not admitted again until it "
		    "has been stable for a while", p->id);
		control_event("damped node=%u", p->id);
	}
}

static int
damped(struct peer *p)
{
	if (p->damped && penalty_now(p) < FLAP_REUSE) {
		p->damped = 0;
		log_info("node %u: flap damping lifted", p->id);
		control_event("undamped node=%u", p->id);
	}
	return p->damped;
}

void
view_hb_fields(struct frame *f)
{
	struct nodeset	 alive;
	struct layerinfo li[LAYERS_MAX];
	char		 s[1024];
	size_t		 n = 0;
	int		 i, nl;

	peer_alive(&alive);
	frame_add(f, "inc", "%llu", (unsigned long long)D->inc);
	frame_add(f, "epoch", "%llu",
	    (unsigned long long)(D->inview ? D->cs.epoch : 0));
	frame_add(f, "seen", "%llu", (unsigned long long)D->cs.epoch);
	frame_add(f, "promised", "%llu", (unsigned long long)D->promised);
	frame_add(f, "inview", "%d", D->inview);
	frame_add(f, "ready", "%d", is_ready());
	frame_add(f, "leave", "%d", D->leaving);
	frame_add(f, "alive", "%s", ns_fmt(&alive, s, sizeof(s)));
	nl = layers_of(D->self, li, LAYERS_MAX);
	s[0] = '\0';
	for (i = 0; i < nl && n < sizeof(s); i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, "%s%d:%d:%d:%d",
		    i ? "," : "", li[i].layer, li[i].barriers[T_JOIN],
		    li[i].barriers[T_LEAVE], li[i].barriers[T_FORCED]);
	frame_add(f, "layers", "%s", s);
	db_hb_fields(f);
}

static int
parse_layers(const char *s, struct peer *p)
{
	struct layerinfo *l;
	const char	*q = s;
	int		 n = 0, used;

	if (s == NULL)
		return -1;
	while (*q != '\0') {
		if (n == LAYERS_MAX)
			return -1;
		l = &p->layers[n];
		if (sscanf(q, "%d:%d:%d:%d%n", &l->layer, &l->barriers[T_JOIN],
		    &l->barriers[T_LEAVE], &l->barriers[T_FORCED], &used) != 4)
			return -1;
		if (l->layer < LAYER_MIN || l->layer > LAYER_MAX ||
		    l->barriers[T_JOIN] < 1 || l->barriers[T_JOIN] > BARRIERS_MAX ||
		    l->barriers[T_LEAVE] < 1 ||
		    l->barriers[T_LEAVE] > BARRIERS_MAX ||
		    l->barriers[T_FORCED] < 1 ||
		    l->barriers[T_FORCED] > BARRIERS_MAX)
			return -1;
		n++;
		q += used;
		if (*q == ',')
			q++;
		else if (*q != '\0')
			return -1;
	}
	p->nlayers = n;
	return 0;
}

static int
getflag(const struct frame *f, const char *key)
{
	uint64_t v;

	return frame_getu64(f, key, &v) == 0 && v == 1;
}

void
view_take_hb(struct peer *p, const struct frame *f)
{
	struct nodeset	 alive;
	uint64_t	 inc = 0, epoch = 0, seen = 0, promised = 0;

	if (frame_getu64(f, "inc", &inc) == -1 || inc != p->inc ||
	    frame_getu64(f, "epoch", &epoch) == -1 ||
	    frame_getu64(f, "seen", &seen) == -1 ||
	    frame_getu64(f, "promised", &promised) == -1 ||
	    ns_parse(frame_get(f, "alive"), &alive) == -1 ||
	    parse_layers(frame_get(f, "layers"), p) == -1) {
		log_warnx("node %u (%s): malformed heartbeat ignored", p->id,
		    p->addr);
		return;
	}
	if (!p->hb_seen || p->reach != REACH_UP) {
		p->hb_seen = 1;
		p->reach = REACH_UP;
		p->reach_since = loop_now();
		D->hb_dirty = 1;	/* our alive set changed */
	}
	p->alive = alive;
	db_take_hb(p, f);
	p->epoch = epoch;
	p->promised = promised;
	if (seen > D->max_epoch)
		D->max_epoch = seen;
	if (promised > D->max_epoch)
		D->max_epoch = promised;
	p->seen = seen;
	p->inview = getflag(f, "inview");
	p->ready = getflag(f, "ready");
	p->leave = getflag(f, "leave");
	kick();
}

/*
 * A member takes part in the view unless its leave is done or it says it
 * is out (it has heard of this view and is not in it: it panicked).  A
 * node that has not yet heard of the view still counts: it is joining.
 */
static int
participating(uint32_t id)
{
	struct peer	*p;

	if (!ns_has(&D->cs.members, id) || D->cs.ms[id] == MS_INACTIVE)
		return 0;
	if (id == D->self)
		return D->inview;
	p = D->peers[id];
	return p->inview || p->seen < D->cs.epoch;
}

/* Quorum: in a committed view and hearing a majority of the configured
 * nodes among the members that take part in it. */
static void
update_quorum(const struct nodeset *alive)
{
	struct nodeset	 in;
	char		 m[1024];
	uint32_t	 id;
	int		 q = 0;

	if (D->inview) {
		in = *alive;
		ns_and(&in, &D->cs.members);
		NS_FOREACH(id, alive)
			if (!participating(id))
				ns_del(&in, id);
		q = ns_count(&in) >= D->quorum_size;
		if (!q && !D->leaving) {
			panic("lost quorum: hear %d of the %d nodes needed "
			    "(members %s)", ns_count(&in), D->quorum_size,
			    ns_fmt(&D->cs.members, m, sizeof(m)));
			return;
		}
	}
	if (q != D->quorum) {
		D->quorum = q;
		db_view_changed();
		control_event("quorum quorum=%s", q ? "yes" : "no");
	}
}

/*
 * Who should be in the view: nodes we hear, ready to join, that hear
 * each other; where two of them cannot hear each other, the higher id
 * waits outside (deterministic, so coordinators agree).
 */
static void
compute_target(const struct nodeset *alive, struct nodeset *t)
{
	const struct cstate *cs = &D->cs;
	struct peer	*p, *q;
	uint32_t	 a, b;
	int		 changed;

	*t = *alive;
	NS_FOREACH(a, alive) {
		if (a == D->self) {
			if (ns_has(&cs->members, a) ? (cs->inc[a] != D->inc ||
			    !D->inview || (cs->ms[a] == MS_INACTIVE)) :
			    (!is_ready() || cstate_trans_of(&D->cs, a) != NULL))
				ns_del(t, a);
			continue;
		}
		p = D->peers[a];
		if (!ns_has(&p->alive, D->self)) {
			ns_del(t, a);
			continue;
		}
		if (ns_has(&cs->members, a)) {
			/* Restarted, left on its own, or done leaving. */
			if (cs->inc[a] != p->inc ||
			    (!p->inview && p->seen >= cs->epoch) ||
			    cs->ms[a] == MS_INACTIVE)
				ns_del(t, a);
		} else if (!p->ready || p->leave || damped(p) ||
		    cstate_trans_of(&D->cs, a) != NULL)
			ns_del(t, a);
	}
	do {
		changed = 0;
		NS_FOREACH(a, t) {
			if (a == D->self)
				continue;
			p = D->peers[a];
			for (b = ns_next(t, a); b != 0; b = ns_next(t, b)) {
				q = D->peers[b];
				if (ns_has(&p->alive, b) && ns_has(&q->alive, a))
					continue;
				ns_del(t, b);
				changed = 1;
			}
		}
	} while (changed);
}

static int
need_change(const struct nodeset *t)
{
	const struct cstate *cs = &D->cs;
	uint32_t	 id;

	if (!ns_eq(t, &cs->members))
		return 1;
	NS_FOREACH(id, t) {
		if (id == D->self ? cs->inc[id] != D->inc :
		    cs->inc[id] != D->peers[id]->inc)
			return 1;
	}
	return 0;
}

static void
abort_proposal(uint64_t retry_ms)
{
	D->proposing = 0;
	timer_stop(&D->p_timer);
	D->p_retry_at = loop_now() + retry_ms;
	timer_at(&D->p_timer, D->p_retry_at);
}

static void
commit(const struct nodeset *acked)
{
	struct cstate	*ncs;
	char		 m[1024];

	if ((ncs = malloc(sizeof(*ncs))) == NULL) {
		log_warn("commit");
		abort_proposal((uint64_t)D->conf.heartbeat_ms);
		return;
	}
	trans_derive(ncs, &D->p_best, acked, D->p_epoch);
	if (ns_count(&ncs->members) < D->quorum_size) {
		log_debug("epoch %llu: only %s may join, no quorum",
		    (unsigned long long)D->p_epoch,
		    ns_fmt(&ncs->members, m, sizeof(m)));
		free(ncs);
		abort_proposal((uint64_t)D->conf.heartbeat_ms);
		return;
	}
	D->proposing = 0;
	timer_stop(&D->p_timer);
	send_state(NULL, "commit", ncs);
	view_install(ncs);
	free(ncs);
}

static void
proposal_timeout(void *arg)
{
	(void)arg;
	if (!D->proposing) {
		kick();		/* the retry delay is over */
		return;
	}
	if (ns_count(&D->p_acked) >= D->quorum_size) {
		commit(&D->p_acked);
		return;
	}
	log_debug("epoch %llu: proposal timed out with %d acceptances",
	    (unsigned long long)D->p_epoch, ns_count(&D->p_acked));
	abort_proposal((uint64_t)D->conf.heartbeat_ms);
}

static void
propose(const struct nodeset *t)
{
	struct frame	 f;
	char		 m[1024];
	size_t		 n = 0;
	uint32_t	 id;
	uint64_t	 e;

	e = D->promised > D->cs.epoch ? D->promised : D->cs.epoch;
	if (D->max_epoch > e)
		e = D->max_epoch;
	e++;
	ns_clear(&D->p_acked);
	if (ns_has(t, D->self)) {
		if (statefile_promise(e) == -1)
			return;
		ns_add(&D->p_acked, D->self);
	}
	D->max_epoch = e;
	D->p_epoch = e;
	D->p_members = *t;
	D->p_best = D->cs;
	D->proposing = 1;
	m[0] = '\0';
	NS_FOREACH(id, t)
		n += (size_t)snprintf(m + n, sizeof(m) - n, "%s%u:%llu",
		    n ? "," : "", id, (unsigned long long)(id == D->self ?
		    D->inc : D->peers[id]->inc));
	frame_init(&f, "propose", ++D->txid);
	frame_add(&f, "epoch", "%llu", (unsigned long long)e);
	frame_add(&f, "members", "%s", m);
	NS_FOREACH(id, t)
		if (id != D->self)
			(void)peer_send(D->peers[id], &f);
	log_debug("epoch %llu: proposing %s", (unsigned long long)e,
	    ns_fmt(t, m, sizeof(m)));
	timer_in(&D->p_timer, (uint64_t)D->conf.fail_ms);
	if (ns_eq(&D->p_acked, t))
		commit(&D->p_acked);
}

void
view_evaluate(void)
{
	struct nodeset	 alive, t;

	peer_alive(&alive);
	update_quorum(&alive);
	if (ns_min(&alive) != D->self)
		return;
	if (D->proposing) {
		if (ns_subset(&D->p_members, &alive))
			return;
		abort_proposal(0);
	}
	if (loop_now() < D->p_retry_at) {
		if (!D->p_timer.armed)
			timer_at(&D->p_timer, D->p_retry_at);
		return;
	}
	compute_target(&alive, &t);
	if (ns_count(&t) < D->quorum_size || !need_change(&t))
		return;
	propose(&t);
}

static void
send_nack(struct peer *p, uint64_t epoch, const char *why)
{
	struct frame	 f;

	frame_init(&f, "nack", ++D->txid);
	frame_add(&f, "epoch", "%llu", (unsigned long long)epoch);
	frame_add(&f, "promised", "%llu", (unsigned long long)D->promised);
	frame_add(&f, "reason", "%s", why);
	(void)peer_send(p, &f);
	log_debug("refused epoch %llu from node %u: %s",
	    (unsigned long long)epoch, p->id, why);
}

/* "id:inc,..." holds us with our incarnation. */
static int
proposal_has_us(const char *m)
{
	char	 want[48];
	size_t	 n;
	const char *q;

	n = (size_t)snprintf(want, sizeof(want), "%u:%llu", D->self,
	    (unsigned long long)D->inc);
	for (q = m; q != NULL && *q != '\0'; q = strchr(q, ',')) {
		if (*q == ',')
			q++;
		if (strncmp(q, want, n) == 0 && (q[n] == ',' || q[n] == '\0'))
			return 1;
	}
	return 0;
}

/*
 * A node outside our view (it restarted) proposes a view without a member
 * we still hear: it has not connected to that member yet.  Accepting
 * would force a live node out; a joining node is to negotiate its way
 * into the cluster (seed 004 L181), not re-form it.  It proposes again
 * once it hears everyone.  The id of such a member, or 0.
 */
static uint32_t
drops_live_member(const struct peer *p, const char *m,
    const struct nodeset *alive)
{
	struct nodeset	 prop;
	const char	*q;
	uint64_t	 id;
	uint32_t	 n;
	size_t		 len;

	if (!D->inview || (ns_has(&D->cs.members, p->id) &&
	    D->cs.inc[p->id] == p->inc))
		return 0;
	ns_clear(&prop);
	for (q = m; *q != '\0'; q += len + (q[len] == ',')) {
		len = strcspn(q, ",");
		if (wire_parse_u64(q, strcspn(q, ":,"), NODEID_MAX, &id) == 0)
			ns_add(&prop, (uint32_t)id);
	}
	NS_FOREACH(n, &D->cs.members)
		if (n != D->self && ns_has(alive, n) && !ns_has(&prop, n))
			return n;
	return 0;
}

static int
on_propose(struct peer *p, const struct frame *f)
{
	struct nodeset	 alive;
	struct frame	 r;
	struct buf	 b;
	uint64_t	 e;
	uint32_t	 live;
	char		 why[96];
	const char	*m;

	if (frame_getu64(f, "epoch", &e) == -1 ||
	    (m = frame_get(f, "members")) == NULL)
		return 0;
	if (e > D->max_epoch)
		D->max_epoch = e;
	peer_alive(&alive);
	if (e <= D->promised)
		send_nack(p, e, "epoch already promised");
	else if (!ns_has(&alive, p->id))
		send_nack(p, e, "proposer not heard");
	else if (ns_min(&alive) < p->id)
		send_nack(p, e, "a lower node is alive");
	else if (!proposal_has_us(m))
		send_nack(p, e, "not in the proposal");
	else if ((live = drops_live_member(p, m, &alive)) != 0) {
		(void)snprintf(why, sizeof(why), "drops node %u, a live member "
		    "of view %llu", live, (unsigned long long)D->cs.epoch);
		send_nack(p, e, why);
	}
	else if (!D->inview && !is_ready())
		send_nack(p, e, "not ready to join");
	else if (statefile_promise(e) == -1)
		send_nack(p, e, "cannot record the promise");
	else {
		frame_init(&r, "accept", ++D->txid);
		frame_add(&r, "epoch", "%llu", (unsigned long long)e);
		buf_init(&b, WIRE_PAYLOAD_MAX);
		if (D->cs.epoch > 0 && cstate_encode(&D->cs, &b) == 0)
			frame_payload(&r, buf_ptr(&b), buf_avail(&b));
		(void)peer_send(p, &r);
		buf_free(&b);
		D->hb_dirty = 1;
	}
	return 0;
}

static int
on_accept(struct peer *p, const struct frame *f)
{
	struct cstate	*cs;
	const char	*why;
	uint64_t	 e;

	if (frame_getu64(f, "epoch", &e) == -1 || !D->proposing ||
	    e != D->p_epoch || !ns_has(&D->p_members, p->id))
		return 0;
	if (f->len > 0) {
		if ((cs = malloc(sizeof(*cs))) == NULL)
			return 0;
		if (cstate_decode(f->payload, f->len, cs, &why) == -1)
			log_warnx("node %u (%s): %s", p->id, p->addr, why);
		else if (cstate_newer(cs, &D->p_best))
			D->p_best = *cs;
		free(cs);
	}
	ns_add(&D->p_acked, p->id);
	if (ns_subset(&D->p_members, &D->p_acked))
		commit(&D->p_acked);
	return 0;
}

static int
on_nack(struct peer *p, const struct frame *f)
{
	uint64_t	 e, promised;

	if (frame_getu64(f, "epoch", &e) == -1 ||
	    frame_getu64(f, "promised", &promised) == -1)
		return 0;
	if (promised > D->max_epoch)
		D->max_epoch = promised;
	if (!D->proposing || e != D->p_epoch)
		return 0;
	log_debug("epoch %llu refused by node %u: %s", (unsigned long long)e,
	    p->id, frame_get(f, "reason") ? frame_get(f, "reason") : "?");
	abort_proposal((uint64_t)D->conf.heartbeat_ms / 2);
	return 0;
}

/* A commit or a state update from the coordinator. */
static int
on_state(struct peer *p, const struct frame *f)
{
	struct cstate	*cs;
	const char	*why;

	if ((cs = malloc(sizeof(*cs))) == NULL)
		return 0;
	if (cstate_decode(f->payload, f->len, cs, &why) == -1) {
		log_warnx("node %u (%s): %s", p->id, p->addr, why);
		free(cs);
		return 0;
	}
	if (cs->epoch > D->max_epoch)
		D->max_epoch = cs->epoch;
	if (cstate_newer(cs, &D->cs))
		view_install(cs);
	free(cs);
	return 0;
}

static int
on_tack(struct peer *p, const struct frame *f)
{
	uint64_t	 tid, layer, barrier;

	if (frame_getu64(f, "tid", &tid) == -1 ||
	    frame_getu64(f, "layer", &layer) == -1 || layer > LAYER_MAX ||
	    frame_getu64(f, "barrier", &barrier) == -1 ||
	    barrier > BARRIERS_MAX)
		return 0;
	if (view_coordinator() == D->self)
		trans_ack(p->id, tid, (int)layer, (int)barrier);
	return 0;
}

int
view_frame(struct peer *p, struct frame *f)
{
	static const struct {
		const char	*op;
		int		(*fn)(struct peer *, const struct frame *);
	} ops[] = {
		{ "propose",	on_propose },
		{ "accept",	on_accept },
		{ "nack",	on_nack },
		{ "commit",	on_state },
		{ "state",	on_state },
		{ "tack",	on_tack },
	};
	size_t	 i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(f->op, ops[i].op) == 0)
			return ops[i].fn(p, f);
	log_debug("node %u: unknown op %s ignored", p->id, f->op);
	return 0;
}

void
view_peer_down(struct peer *p)
{
	(void)p;
	kick();
}

/* The current state, to one peer or (p NULL) to all. */
static void
send_state(struct peer *p, const char *op, const struct cstate *cs)
{
	struct frame	 f;
	struct buf	 b;

	buf_init(&b, WIRE_PAYLOAD_MAX);
	if (cstate_encode(cs, &b) == 0) {
		frame_init(&f, op, ++D->txid);
		frame_add(&f, "epoch", "%llu", (unsigned long long)cs->epoch);
		frame_payload(&f, buf_ptr(&b), buf_avail(&b));
		peer_tell(p, &f);
	}
	buf_free(&b);
}

/* A node that connects learns the view from the coordinator at once. */
void
view_peer_up(struct peer *p)
{
	if (view_coordinator() == D->self)
		send_state(p, "state", &D->cs);
}

void
view_resend(void)
{
	send_state(NULL, "state", &D->cs);
}

/* Our own forced leave (seed 004 L163: the forced-out node "panics"). */
static void
panic(const char *fmt, ...)
{
	va_list	 ap;
	char	 why[512];

	va_start(ap, fmt);
	(void)vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warnx("forced out of the cluster: %s", why);
	D->inview = 0;
	D->quorum = 0;
	D->hb_dirty = 1;
	update_reach();
	control_event("quorum quorum=no");
	control_event("forced node=%u reason=\"%s\"", D->self, why);
	trans_panic();
	if (D->exiting)
		request_exit("forced out while leaving");
	kick();
}

static void
note_removed(const struct cstate *old, const struct cstate *ncs)
{
	struct peer	*p;
	uint32_t	 id;

	NS_FOREACH(id, &old->members) {
		if (ns_has(&ncs->members, id) && ncs->inc[id] == old->inc[id])
			continue;
		/* Its locks are no longer its own (db.c, lock_stale). */
		db_node_left(id, ncs->epoch);
		if (id != D->self && (p = D->peers[id]) != NULL)
			flap(p);
	}
}

static void
update_reach(void)
{
	struct peer	*p;
	uint32_t	 id;

	for (id = 1; id <= NODEID_MAX; id++) {
		if ((p = D->peers[id]) == NULL || p->reach == REACH_UP)
			continue;
		p->reach = D->inview && ns_has(&D->cs.members, id) ?
		    REACH_SUSPECT : REACH_DOWN;
	}
}

/* Take a committed view or a newer state of it. */
void
view_install(const struct cstate *ncs)
{
	struct cstate	*old;
	char		 m[1024];
	int		 wasin = D->inview, newepoch;

	if ((old = malloc(sizeof(*old))) == NULL)
		fatal("view_install");
	*old = D->cs;
	newepoch = ncs->epoch != old->epoch;
	if (ncs->epoch > D->max_epoch)
		D->max_epoch = ncs->epoch;
	D->cs = *ncs;
	if (newepoch && old->epoch > 0)
		note_removed(old, ncs);
	/*
	 * Out of the view: not a member, or our leave is done (we go now,
	 * without waiting for the view that drops us: it needs a quorum we
	 * may not leave behind).
	 */
	if (!ns_has(&ncs->members, D->self) || ncs->inc[D->self] != D->inc ||
	    (D->leaving && ncs->ms[D->self] == MS_INACTIVE)) {
		D->inview = 0;
		update_reach();
		if (newepoch)
			control_event("view epoch=%llu coordinator=%u "
			    "quorum=no members=%s", (unsigned long long)ncs->epoch,
			    ns_min(&ncs->members),
			    ns_fmt(&ncs->members, m, sizeof(m)));
		if (wasin && D->leaving) {
			log_info("left the cluster (epoch %llu)",
			    (unsigned long long)ncs->epoch);
			D->leaving = 0;
			D->held = 1;
			D->quorum = 0;
			D->hb_dirty = 1;
			control_event("left node=%u", D->self);
			if (D->exiting)
				request_exit("left the cluster");
		} else if (wasin)
			panic("not a member of view %llu",
			    (unsigned long long)ncs->epoch);
		if (newepoch)
			db_view_changed();
		trans_install(old);
		free(old);
		kick();
		return;
	}
	D->inview = 1;
	if (newepoch) {
		db_view_changed();
		D->view_since = loop_now();
		D->hb_dirty = 1;
		log_info("view %llu: members %s, coordinator %u",
		    (unsigned long long)ncs->epoch,
		    ns_fmt(&ncs->members, m, sizeof(m)), ns_min(&ncs->members));
		control_event("view epoch=%llu coordinator=%u quorum=yes "
		    "members=%s", (unsigned long long)ncs->epoch,
		    ns_min(&ncs->members), ns_fmt(&ncs->members, m, sizeof(m)));
	}
	update_reach();
	trans_install(old);
	free(old);
	kick();
}

/* Publish a change the coordinator made to the state, and take it. */
void
view_publish(struct cstate *ncs)
{
	ncs->ver = D->cs.ver + 1;
	send_state(NULL, "state", ncs);
	view_install(ncs);
}

void
view_leave(int andexit)
{
	if (andexit)
		D->exiting = 1;
	if (!D->inview || !D->quorum) {
		D->held = 1;
		D->hb_dirty = 1;
		if (andexit)
			request_exit("not a member of a view with quorum");
		kick();
		return;
	}
	if (!D->leaving)
		log_info("leaving the cluster");
	D->leaving = 1;
	D->hb_dirty = 1;
	kick();
}

void
view_join(void)
{
	if (D->held)
		log_info("asked to join");
	D->held = 0;
	D->hb_dirty = 1;
	kick();
}

void
view_init(void)
{
	memset(&D->cs, 0, sizeof(D->cs));
	D->inview = 0;
	D->quorum = 0;
	timer_setup(&D->p_timer, proposal_timeout, NULL);
}
