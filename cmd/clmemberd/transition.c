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
 * Layered transitions, seed 004 (004_c7c3514904d14f4a.txt).
 *
 * Each node's local subsystems register with a layer number (lower =
 * closer to membership, L167).  A transition of one node is told to one
 * layer at a time, on every member at once, and the next layer is told
 * only when that layer has acknowledged on every member (L171, L173).
 * The order depends on the kind of transition (L169):
 *
 *	join		bottom-up	lower layers first
 *	leave		top-down	higher layers first, so lower ones
 *					stay up while the higher shut down
 *	forced leave	bottom-up	errors propagate upward before
 *					recovery at the next level
 *
 * A layer may ask for several barriers per kind (L201): every member
 * acknowledges barrier b before any is told b+1.  A forced leave that
 * interrupts a join climbs only as high as the join had reached (L197).
 * A leave asked for during a join turns the join around only between
 * layers (L185).  Transitions of different nodes run concurrently, each
 * in its own order (L171).
 *
 * The coordinator (lowest member) holds the progress of every
 * transition in the replicated cluster state, collects acknowledgements
 * ("tack") and publishes each step; every member notifies its own
 * subsystems of the steps it takes part in, and acknowledges once they
 * all have.  Acknowledgements are idempotent: after a change of
 * coordinator, members send them again.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clmemberd.h"
#include "log.h"

#define TID_PER_EPOCH	100000ULL	/* tids are unique per epoch */

static void	 local_next(struct lstep *);

static int
direction_up(enum ttype t)
{
	return t != T_LEAVE;
}

/* The distinct layers node id reports, ascending. */
int
layers_of(uint32_t id, struct layerinfo *out, int max)
{
	struct peer	*p;
	struct sub	*s;
	int		 i, j, k, n = 0;

	if (id != D->self) {
		if ((p = peer_get(id)) == NULL || p->conn == NULL)
			return 0;
		n = p->nlayers < max ? p->nlayers : max;
		memcpy(out, p->layers, (size_t)n * sizeof(*out));
		return n;
	}
	for (i = 0; i < SUBS_MAX; i++) {
		if (!(D->subs_used & (1U << i)))
			continue;
		s = &D->subs[i];
		for (j = 0; j < n && out[j].layer < s->layer; j++)
			;
		if (j < n && out[j].layer == s->layer)
			continue;
		if (n == max)
			break;
		memmove(&out[j + 1], &out[j], (size_t)(n - j) * sizeof(*out));
		out[j].layer = s->layer;
		for (k = 0; k < T_NTYPES; k++)
			out[j].barriers[k] = s->barriers[k];
		n++;
	}
	return n;
}

/* The barriers t's kind asks for at layer: the most any participant
 * declared (registration keeps them equal, L201). */
static int
barriers_at(const struct trans *t, int layer)
{
	struct layerinfo li[LAYERS_MAX];
	uint32_t	 id;
	int		 i, n, b = 1;

	NS_FOREACH(id, &t->parts) {
		n = layers_of(id, li, LAYERS_MAX);
		for (i = 0; i < n; i++)
			if (li[i].layer == layer && li[i].barriers[t->type] > b)
				b = li[i].barriers[t->type];
	}
	return b;
}

/*
 * The next layer after cur in t's direction among its participants'
 * layers, or 0.  cur = 0 asks for the first.
 */
static int
next_layer(const struct trans *t, int cur)
{
	struct layerinfo li[LAYERS_MAX];
	uint32_t	 id;
	int		 i, n, best = 0, up = direction_up(t->type);

	NS_FOREACH(id, &t->parts) {
		n = layers_of(id, li, LAYERS_MAX);
		for (i = 0; i < n; i++) {
			if (t->type == T_FORCED && li[i].layer > t->top)
				continue;
			if (cur != 0 && (up ? li[i].layer <= cur :
			    li[i].layer >= cur))
				continue;
			if (best == 0 || (up ? li[i].layer < best :
			    li[i].layer > best))
				best = li[i].layer;
		}
	}
	return best;
}

static void
complete(struct cstate *n, struct trans *t)
{
	/* Table 1 (L205-214): Joining -> Joined, Leaving -> Inactive,
	 * Forced-Leaving -> Inactive, once every member has acknowledged. */
	n->ms[t->node] = t->type == T_JOIN ? MS_JOINED : MS_INACTIVE;
	log_info("%s of node %u done", ttype_desc(t->type), t->node);
	cstate_drop_trans(n, t);
}

static void
set_step(struct trans *t, int layer, int barrier, int barriers)
{
	t->layer = layer;
	t->barrier = barrier;
	t->barriers = barriers;
	ns_clear(&t->acked);
	t->step_start = loop_now();
	t->warned = 0;
	if (t->type == T_JOIN && layer > t->reached)
		t->reached = layer;
}

/* Move t on after every participant acknowledged its step.  Returns 1 if
 * t was completed and removed. */
static int
advance(struct cstate *n, struct trans *t)
{
	int	 next;

	if (t->type == T_JOIN && t->leave_pending) {
		/* L185: the join is reversed only between levels; the layers
		 * that took the join, this one the highest, now take the
		 * leave, top-down. */
		t->type = T_LEAVE;
		t->leave_pending = 0;
		n->ms[t->node] = MS_LEAVING;
		set_step(t, t->layer, 0, barriers_at(t, t->layer));
		return 0;
	}
	if (t->barrier + 1 < t->barriers) {
		set_step(t, t->layer, t->barrier + 1, t->barriers);
		return 0;
	}
	if ((next = next_layer(t, t->layer)) == 0) {
		complete(n, t);
		return 1;
	}
	set_step(t, next, 0, barriers_at(t, next));
	return 0;
}

static void
start(struct cstate *n, struct trans *t)
{
	int	 first;

	if ((first = next_layer(t, 0)) == 0) {
		complete(n, t);
		return;
	}
	set_step(t, first, 0, barriers_at(t, first));
}

static struct trans *
new_trans(struct cstate *n, uint32_t node, uint64_t inc, enum ttype type,
    const struct nodeset *parts)
{
	struct trans	*t;

	if (n->ntrans == TRANS_MAX)
		fatalx("transition table full");
	t = &n->trans[n->ntrans++];
	memset(t, 0, sizeof(*t));
	t->tid = n->next_tid++;
	t->node = node;
	t->inc = inc;
	t->type = type;
	t->top = LAYER_MAX;
	t->parts = *parts;
	if (type == T_FORCED)
		ns_del(&t->parts, node);
	log_info("%s of node %u begins (transition %llu)", ttype_desc(type),
	    node, (unsigned long long)t->tid);
	return t;
}

static uint64_t
inc_of(uint32_t id)
{
	struct peer	*p;

	if (id == D->self)
		return D->inc;
	return (p = peer_get(id)) != NULL ? p->inc : 0;
}

/* Node id was a member and is gone: its forced leave (L191-197). */
static void
force_out(struct cstate *n, uint32_t id, const struct nodeset *final)
{
	struct trans	*t;
	int		 top = LAYER_MAX;

	if ((t = cstate_trans_of(n, id)) != NULL) {
		/* L197: only as high as an interrupted join had reached. */
		if (t->type == T_JOIN)
			top = t->reached;
		log_info("%s of node %u aborted", ttype_desc(t->type), id);
		cstate_drop_trans(n, t);
	}
	n->ms[id] = MS_FORCED;
	t = new_trans(n, id, n->inc[id], T_FORCED, final);
	t->top = top;
	if (top == 0)
		complete(n, t);
	else
		start(n, t);
}

/*
 * The state of a new view: the members that acknowledged it, the forced
 * leave of every member that is gone, the join of every new one.  A node
 * whose earlier incarnation is still being forced out waits (L197).
 */
void
trans_derive(struct cstate *n, const struct cstate *base,
    const struct nodeset *acked, uint64_t epoch)
{
	struct nodeset	 final = *acked, gone;
	uint32_t	 id;
	int		 i;

	*n = *base;
	n->epoch = epoch;
	n->ver = 0;
	if (n->next_tid < epoch * TID_PER_EPOCH)
		n->next_tid = epoch * TID_PER_EPOCH;
	ns_clear(&gone);
	NS_FOREACH(id, &base->members) {
		if (ns_has(&final, id) && base->inc[id] == inc_of(id) &&
		    base->ms[id] != MS_INACTIVE)
			continue;
		ns_del(&final, id);
		if (base->ms[id] != MS_INACTIVE)
			ns_add(&gone, id);
	}
	NS_FOREACH(id, &final)
		if (!ns_has(&base->members, id) &&
		    cstate_trans_of(n, id) != NULL)
			ns_del(&final, id);
	n->members = final;
	for (i = 0; i < n->ntrans; i++) {
		ns_and(&n->trans[i].parts, &final);
		ns_clear(&n->trans[i].acked);
		n->trans[i].step_start = loop_now();
	}
	NS_FOREACH(id, &gone)
		force_out(n, id, &final);
	NS_FOREACH(id, &final) {
		if (ns_has(&base->members, id))
			continue;
		n->ms[id] = MS_JOINING;
		n->inc[id] = inc_of(id);
		start(n, new_trans(n, id, n->inc[id], T_JOIN, &final));
	}
}

/* A member asked to leave; returns 1 if the state changed. */
int
trans_leave_request(struct cstate *n, uint32_t id)
{
	struct trans	*t;

	if (n->ms[id] != MS_JOINED && n->ms[id] != MS_JOINING)
		return 0;
	if ((t = cstate_trans_of(n, id)) != NULL) {
		if (t->type != T_JOIN || t->leave_pending)
			return 0;
		t->leave_pending = 1;
		log_info("node %u asks to leave while joining: the join turns "
		    "at the end of layer %d", id, t->layer);
		return 1;
	}
	n->ms[id] = MS_LEAVING;
	start(n, new_trans(n, id, n->inc[id], T_LEAVE, &n->members));
	return 1;
}

static int
wants_leave(uint32_t id)
{
	struct peer	*p;

	if (id == D->self)
		return D->leaving;
	return (p = peer_get(id)) != NULL && p->leave;
}

/* The coordinator's turn: take leave requests, move transitions on. */
void
trans_coordinate(void)
{
	struct cstate	*n;
	struct trans	*t;
	uint32_t	 id;
	int		 i, changed = 0;

	if (view_coordinator() != D->self)
		return;
	if ((n = malloc(sizeof(*n))) == NULL)
		fatal("trans_coordinate");
	*n = D->cs;
	NS_FOREACH(id, &n->members)
		if (wants_leave(id))
			changed |= trans_leave_request(n, id);
	for (i = 0; i < n->ntrans; i++) {
		t = &n->trans[i];
		if (t->layer == 0 || !ns_subset(&t->parts, &t->acked))
			continue;
		changed = 1;
		if (advance(n, t))
			i--;
	}
	if (changed)
		view_publish(n);
	free(n);
}

void
trans_ack(uint32_t from, uint64_t tid, int layer, int barrier)
{
	struct trans	*t;

	if ((t = cstate_trans(&D->cs, tid)) == NULL || t->layer != layer ||
	    t->barrier != barrier || ns_has(&t->acked, from))
		return;
	ns_add(&t->acked, from);
	if (ns_subset(&t->parts, &t->acked))
		kick();
}

/* Table 1 asks that notifications carry every node's state. */
void
states_fmt(const struct cstate *cs, char *out, size_t len)
{
	const struct cl_node *n;
	enum mstate	 ms;
	size_t		 off = 0;
	int		 i;

	out[0] = '\0';
	for (i = 0; i < D->conf.nnodes && off < len; i++) {
		n = &D->conf.nodes[i];
		ms = cs->ms[n->id];
		if (n->id == D->self && D->panicking)
			ms = MS_FORCED;
		off += (size_t)snprintf(out + off, len - off, "%s%u:%s",
		    off ? "," : "", n->id, mstate_name(ms));
	}
}

/* Local steps. */

static struct lstep *
find_step(uint64_t tid, int layer, int barrier, int local)
{
	int	 i;

	for (i = 0; i < D->nsteps; i++)
		if (D->steps[i].tid == tid && D->steps[i].layer == layer &&
		    D->steps[i].barrier == barrier && D->steps[i].local == local)
			return &D->steps[i];
	return NULL;
}

static void
drop_step(struct lstep *ls)
{
	int	 i = (int)(ls - D->steps);

	memmove(&D->steps[i], &D->steps[i + 1],
	    (size_t)(D->nsteps - i - 1) * sizeof(*ls));
	D->nsteps--;
}

static void
send_tack(struct lstep *ls)
{
	struct frame	 f;
	uint32_t	 coord = view_coordinator();

	if (coord == 0 || ls->acked_epoch == D->cs.epoch)
		return;
	ls->acked_epoch = D->cs.epoch;
	if (coord == D->self) {
		trans_ack(D->self, ls->tid, ls->layer, ls->barrier);
		return;
	}
	frame_init(&f, "tack", ++D->txid);
	frame_add(&f, "epoch", "%llu", (unsigned long long)D->cs.epoch);
	frame_add(&f, "tid", "%llu", (unsigned long long)ls->tid);
	frame_add(&f, "layer", "%d", ls->layer);
	frame_add(&f, "barrier", "%d", ls->barrier);
	if (peer_send(peer_get(coord), &f) == -1)
		ls->acked_epoch = 0;	/* again with the next state */
}

static void
step_done(struct lstep *ls)
{
	ls->done = 1;
	ls->done_at = loop_now();
	if (ls->local)
		local_next(ls);
	else
		send_tack(ls);
}

static int
notify_sub(struct lstep *ls, struct sub *s, int barriers)
{
	struct frame	 f;
	char		 states[1024];

	frame_init(&f, "notify", ++D->txid);
	frame_add(&f, "node", "%u", ls->node);
	frame_add(&f, "trans", "%s", ttype_name(ls->type));
	frame_add(&f, "layer", "%d", ls->layer);
	frame_add(&f, "barrier", "%d", ls->barrier);
	frame_add(&f, "barriers", "%d", barriers);
	frame_add(&f, "tid", "%llu", (unsigned long long)ls->tid);
	frame_add(&f, "epoch", "%llu", (unsigned long long)D->cs.epoch);
	if (ls->local)
		frame_add(&f, "local", "1");
	states_fmt(&D->cs, states, sizeof(states));
	frame_add(&f, "states", "%s", states);
	if (control_notify(s, &f) == -1)
		return -1;
	ls->txid[s->slot] = f.txid;
	ls->pending |= 1U << s->slot;
	return 0;
}

static void
begin_step(struct lstep *ls, int barriers)
{
	int	 i;

	ls->start = loop_now();
	for (i = 0; i < SUBS_MAX; i++)
		if ((D->subs_used & (1U << i)) &&
		    D->subs[i].layer == ls->layer)
			(void)notify_sub(ls, &D->subs[i], barriers);
	if (ls->pending == 0)
		step_done(ls);
}

static struct lstep *
add_step(uint64_t tid, uint32_t node, enum ttype type, int layer,
    int barrier, int local)
{
	struct lstep	*ls;

	if (D->nsteps == (int)(sizeof(D->steps) / sizeof(D->steps[0])))
		fatalx("local step table full");
	ls = &D->steps[D->nsteps++];
	memset(ls, 0, sizeof(*ls));
	ls->tid = tid;
	ls->node = node;
	ls->type = type;
	ls->layer = layer;
	ls->barrier = barrier;
	ls->local = local;
	return ls;
}

static const struct trans *
find_tid(const struct cstate *cs, uint64_t tid)
{
	int	 i;

	for (i = 0; i < cs->ntrans; i++)
		if (cs->trans[i].tid == tid)
			return &cs->trans[i];
	return NULL;
}

static void
emit_events(const struct cstate *old)
{
	const struct trans *t, *o;
	const struct cstate *cs = &D->cs;
	int		 i;

	for (i = 0; i < old->ntrans; i++) {
		o = &old->trans[i];
		if (find_tid(cs, o->tid) == NULL)
			control_event("done tid=%llu node=%u trans=%s "
			    "epoch=%llu state=%s", (unsigned long long)o->tid,
			    o->node, ttype_name(o->type),
			    (unsigned long long)cs->epoch,
			    mstate_name(cs->ms[o->node]));
	}
	for (i = 0; i < cs->ntrans; i++) {
		t = &cs->trans[i];
		o = find_tid(old, t->tid);
		if (o != NULL && o->layer == t->layer &&
		    o->barrier == t->barrier && o->type == t->type)
			continue;
		control_event("step tid=%llu node=%u trans=%s layer=%d "
		    "barrier=%d epoch=%llu", (unsigned long long)t->tid,
		    t->node, ttype_name(t->type), t->layer, t->barrier,
		    (unsigned long long)cs->epoch);
	}
}

/*
 * The cluster state changed: notify our subsystems of every step we take
 * part in, acknowledge the steps already done, forget finished ones.
 */
void
trans_install(const struct cstate *old)
{
	struct trans	*t;
	struct lstep	*ls;
	int		 i;

	emit_events(old);
	for (i = 0; i < D->nsteps; i++) {
		ls = &D->steps[i];
		if (ls->local)
			continue;
		t = cstate_trans(&D->cs, ls->tid);
		if (D->inview && t != NULL && t->layer == ls->layer &&
		    t->barrier == ls->barrier)
			continue;
		drop_step(ls);
		i--;
	}
	if (!D->inview)
		return;
	for (i = 0; i < D->cs.ntrans; i++) {
		t = &D->cs.trans[i];
		if (t->layer == 0 || !ns_has(&t->parts, D->self))
			continue;
		/*
		 * seed 003 L132: a node that rejoins resyncs from the shared
		 * database before it serves; its layers hear of its join
		 * only once its copy matches the coordinator's (db_tick
		 * calls us again then).
		 */
		if (t->type == T_JOIN && t->node == D->self && !db_synced())
			continue;
		if ((ls = find_step(t->tid, t->layer, t->barrier, 0)) != NULL) {
			if (ls->done)
				send_tack(ls);
			continue;
		}
		ls = add_step(t->tid, t->node, t->type, t->layer, t->barrier, 0);
		begin_step(ls, t->barriers);
	}
}

/* Our own forced leave runs through our layers alone, bottom-up. */
static int
local_barriers(int layer)
{
	int	 i, n = 1;

	for (i = 0; i < SUBS_MAX; i++)
		if ((D->subs_used & (1U << i)) && D->subs[i].layer == layer &&
		    D->subs[i].barriers[T_FORCED] > n)
			n = D->subs[i].barriers[T_FORCED];
	return n;
}

static void
local_begin(int layer, int barrier)
{
	struct lstep	*ls;

	ls = add_step(0, D->self, T_FORCED, layer, barrier, 1);
	begin_step(ls, local_barriers(layer));
}

static void
local_finish(void)
{
	D->panicking = 0;
	D->hb_dirty = 1;
	log_info("own forced leave processed; ready to rejoin");
	control_event("done tid=0 node=%u trans=forced local=1", D->self);
	kick();
}

static void
local_next(struct lstep *ls)
{
	struct layerinfo li[LAYERS_MAX];
	int		 i, n, layer = ls->layer, barrier = ls->barrier;

	drop_step(ls);
	if (barrier + 1 < local_barriers(layer)) {
		local_begin(layer, barrier + 1);
		return;
	}
	n = layers_of(D->self, li, LAYERS_MAX);
	for (i = 0; i < n; i++)
		if (li[i].layer > layer) {
			local_begin(li[i].layer, 0);
			return;
		}
	local_finish();
}

void
trans_panic(void)
{
	struct layerinfo li[LAYERS_MAX];
	int		 i;

	for (i = 0; i < D->nsteps; i++)
		if (!D->steps[i].local)
			drop_step(&D->steps[i--]);
	if (D->panicking)
		return;
	D->panicking = 1;
	if (layers_of(D->self, li, LAYERS_MAX) == 0) {
		local_finish();
		return;
	}
	local_begin(li[0].layer, 0);
}

/* Subsystem s acknowledged the notification txid. */
int
trans_sub_ack(struct sub *s, uint64_t txid)
{
	struct lstep	*ls;
	uint32_t	 bit = 1U << s->slot;
	int		 i;

	for (i = 0; i < D->nsteps; i++) {
		ls = &D->steps[i];
		if (!(ls->pending & bit) || ls->txid[s->slot] != txid)
			continue;
		ls->pending &= ~bit;
		if (ls->pending == 0)
			step_done(ls);
		return 0;
	}
	return -1;
}

/* Seed 004 L179, L183: a subsystem that registers while a step of its
 * layer is under way is told at once. */
void
trans_sub_added(struct sub *s)
{
	struct lstep	*ls;
	struct trans	*t;
	int		 i;

	for (i = 0; i < D->nsteps; i++) {
		ls = &D->steps[i];
		if (ls->done || ls->layer != s->layer)
			continue;
		t = ls->local ? NULL : cstate_trans(&D->cs, ls->tid);
		(void)notify_sub(ls, s, t != NULL ? t->barriers :
		    local_barriers(ls->layer));
	}
	D->hb_dirty = 1;
	kick();
}

void
trans_sub_gone(struct sub *s)
{
	struct lstep	*ls;
	uint32_t	 bit = 1U << s->slot;
	int		 i;

	for (i = 0; i < D->nsteps; i++) {
		ls = &D->steps[i];
		if (!(ls->pending & bit))
			continue;
		ls->pending &= ~bit;
		if (ls->pending == 0) {
			step_done(ls);
			/* step_done may have dropped or added steps. */
			i = -1;
		}
	}
	D->hb_dirty = 1;
	kick();
}

/* Report what waits longer than transition_ms, once per step. */
void
trans_check_stuck(void)
{
	uint64_t	 now = loop_now(), lim = (uint64_t)D->conf.transition_ms;
	struct nodeset	 waiting;
	struct lstep	*ls;
	struct trans	*t;
	char		 m[1024];
	int		 i, j;

	for (i = 0; i < D->nsteps; i++) {
		ls = &D->steps[i];
		if (ls->done || ls->warned || now - ls->start < lim)
			continue;
		ls->warned = 1;
		for (j = 0; j < SUBS_MAX; j++)
			if (ls->pending & (1U << j)) {
				log_warnx("subsystem %s (layer %d) has not "
				    "acknowledged the %s of node %u after %llu ms",
				    D->subs[j].name, ls->layer,
				    ttype_desc(ls->type), ls->node,
				    (unsigned long long)(now - ls->start));
				control_event("stuck sub=%s layer=%d node=%u "
				    "trans=%s", D->subs[j].name, ls->layer,
				    ls->node, ttype_name(ls->type));
			}
	}
	if (view_coordinator() != D->self)
		return;
	for (i = 0; i < D->cs.ntrans; i++) {
		t = &D->cs.trans[i];
		if (t->warned || t->layer == 0 || now - t->step_start < lim)
			continue;
		t->warned = 1;
		waiting = t->parts;
		for (j = 1; j <= NODEID_MAX; j++)
			if (ns_has(&t->acked, (uint32_t)j))
				ns_del(&waiting, (uint32_t)j);
		log_warnx("%s of node %u: layer %d barrier %d waits for nodes "
		    "%s after %llu ms", ttype_desc(t->type), t->node, t->layer,
		    t->barrier, ns_fmt(&waiting, m, sizeof(m)),
		    (unsigned long long)(now - t->step_start));
	}
}

/*
 * A connection that breaks and comes back from the same process causes
 * no view change, and may lose a state or an acknowledgement in flight.
 * Both are idempotent, so every heartbeat: members send again the acks
 * of steps still waiting, the coordinator sends its state again while a
 * step waits for someone.
 */
void
trans_resync(void)
{
	uint64_t	 now = loop_now(), lag = 2 * (uint64_t)D->conf.heartbeat_ms;
	struct lstep	*ls;
	struct trans	*t;
	int		 i, waiting = 0;

	for (i = 0; i < D->nsteps; i++) {
		ls = &D->steps[i];
		if (ls->local || !ls->done || now - ls->done_at < lag)
			continue;
		t = cstate_trans(&D->cs, ls->tid);
		if (t == NULL || t->layer != ls->layer ||
		    t->barrier != ls->barrier)
			continue;
		ls->acked_epoch = 0;
		ls->done_at = now;
		send_tack(ls);
	}
	if (view_coordinator() != D->self)
		return;
	for (i = 0; i < D->cs.ntrans; i++) {
		t = &D->cs.trans[i];
		if (t->layer != 0 && now - t->step_start >= lag &&
		    !ns_subset(&t->parts, &t->acked))
			waiting = 1;
	}
	if (waiting)
		view_resend();
}
