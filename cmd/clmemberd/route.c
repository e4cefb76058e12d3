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
 * Message routing between the services of the cluster: seed 003,
 * seeds/003_0bef661ef59685d0.txt, with clmemberd in the role of the
 * seed's VKE (kernel extension) and each local service in the role of
 * its Daemon.  A local client registers a service name; a frame from it
 * with to=<node>.<service> or to=*.<service> is sent over the
 * authenticated mesh and handed to the named service on the target
 * nodes.  With rcpt=1 the sender gets one receipt frame holding one
 * result per target node: the seed's cluster return-code array (L178).
 * With rcpt=fail (one target node) it gets a receipt only when the
 * frame did not reach the service: a call that wants a response learns
 * of a delivery from the response, and the receipt of every successful
 * call (a frame back from the target's router, one to the sender: two
 * wakeups of each) is saved.  Its record here waits, silently, for the
 * response, a failure from the target's router or the peer's loss
 * (node-down), and is dropped without a word at msg_timeout_ms.  The
 * protocol is in man/man5/cl-wire.5, ROUTING.
 */

#include <sys/types.h>
#include <sys/tree.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clmemberd.h"
#include "log.h"

#define RCPTS_MAX	8192		/* receipts awaited, all clients */
#define HOLD_MS		2		/* ms a delivered rcpt waits */
#define HOLD_MAX	1024		/* rcpt frames held, all peers */
#define DEDUP_SLOTS	(1 << 17)	/* recently delivered (src, txid) */
#define BUILTIN		"clmemberd"	/* the router's own service */

enum result {
	R_NONE,			/* not a target */
	R_WAIT,			/* sent, no word yet */
	R_DELIVERED,
	R_NOSVC,
	R_DOWN,
	R_TIMEOUT,
	R_FULL
};

static const char *result_names[] = {
	"none", "waiting", "delivered", "no-service", "node-down", "timeout",
	"queue-full"
};

struct svc {
	RB_ENTRY(svc)	 entry;
	char		 name[WIRE_KEY_MAX + 1];
	struct client	*client;
};

/* A receipt being gathered (seed 003 L178: the RC array and its timer). */
struct rcpt {
	RB_ENTRY(rcpt)	 entry;
	struct client	*client;
	uint64_t	 txid;
	char		 to[WIRE_KEY_MAX * 2 + 8];
	struct nodeset	 targets;
	int		 waiting;
	int		 failonly;	/* rcpt=fail: a receipt if failed */
	uint8_t		 result[NODEID_MAX + 1];
	struct timer	 timer;
};

static int	svc_cmp(struct svc *, struct svc *);
static int	rcpt_cmp(struct rcpt *, struct rcpt *);

/* __unused is undefined in libbsd on Linux: see libcl/loop.c. */
RB_HEAD(svctree, svc);
RB_GENERATE_INTERNAL(svctree, svc, entry, svc_cmp,
    __attribute__((__unused__)) static)

RB_HEAD(rcpttree, rcpt);
RB_GENERATE_INTERNAL(rcpttree, rcpt, entry, rcpt_cmp,
    __attribute__((__unused__)) static)

/*
 * A "delivered" rcpt frame for a request that wants a response, held
 * back up to HOLD_MS so that it goes to the sender's router in the
 * same write as the response: that router then reads both at once and
 * gives its client the receipt and the response in one write, instead
 * of waking twice, and the client too.  Nothing changes in what is
 * sent, or in its order: the rcpt still goes first.
 */
struct held {
	TAILQ_ENTRY(held) entry;
	uint32_t	 peer;
	uint64_t	 txid;
	uint64_t	 at;		/* ms, when it was delivered */
	char		 from[WIRE_KEY_MAX * 2 + 8];	/* the sender */
};

static struct svctree	 svcs = RB_INITIALIZER(&svcs);
static TAILQ_HEAD(, held) helds = TAILQ_HEAD_INITIALIZER(helds);
static int		 nhelds;
static struct timer	 heldt;
static struct rcpttree	 rcpts = RB_INITIALIZER(&rcpts);
static int		 nsvcs, nrcpts;
static uint64_t		*dedup;

static int
svc_cmp(struct svc *a, struct svc *b)
{
	return strcmp(a->name, b->name);
}

/* Receipts by (sending service, txid): what a peer's rcpt frame names. */
static int
rcpt_cmp(struct rcpt *a, struct rcpt *b)
{
	int	 c;

	if ((c = strcmp(a->client->svc->name, b->client->svc->name)) != 0)
		return c;
	return a->txid < b->txid ? -1 : a->txid > b->txid;
}

static struct svc *
svc_find(const char *name)
{
	struct svc	 k;

	if (strlcpy(k.name, name, sizeof(k.name)) >= sizeof(k.name))
		return NULL;
	return RB_FIND(svctree, &svcs, &k);
}

/*
 * "<node>.<service>" or "*.<service>": node 0 stands for every node.
 * Returns -1 if the address is malformed or names no configured node.
 */
static int
parse_addr(const char *a, uint32_t *node, const char **svc)
{
	const char	*dot;
	uint64_t	 id;

	if (a == NULL || (dot = strchr(a, '.')) == NULL ||
	    !wire_valid_name(dot + 1, strlen(dot + 1)))
		return -1;
	*svc = dot + 1;
	if (dot - a == 1 && a[0] == '*') {
		*node = 0;
		return 0;
	}
	if (wire_parse_u64(a, (size_t)(dot - a), NODEID_MAX, &id) == -1 ||
	    id == 0 || conf_node(&D->conf, (uint32_t)id) == NULL)
		return -1;
	*node = (uint32_t)id;
	return 0;
}

/*
 * Delivered (src, txid) lately?  A direct-mapped cache of 64-bit
 * digests: bounded, and a false "seen" needs a full digest collision.
 * A frame retransmitted after a reconnect (seed-notes/003.md #22) is
 * dropped; one refused (queue-full) was never delivered, so its retry
 * goes through.
 */
static uint64_t *
dedup_slot(const char *src, uint64_t txid, uint64_t *digest)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;	/* FNV-1a */
	const char	*p;

	for (p = src; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	h ^= txid * 0x9e3779b97f4a7c15ULL;
	h |= 1;				/* 0 marks an empty slot */
	*digest = h;
	return &dedup[(size_t)(h >> 17) & (DEDUP_SLOTS - 1)];
}

/* key=1 (any value but 0 counts as set, as for rcpt=). */
static int
flag(const struct frame *f, const char *key)
{
	const char	*v = frame_get(f, key);

	return v != NULL && strcmp(v, "0") != 0;
}

/* Keys a sender may not set, or that the transport added. */
static void
scrub(struct frame *f)
{
	frame_del(f, "seq");
	frame_del(f, "mac");
}

/*
 * Hand f to the local service it names.  A client that does not read
 * fills its queue: the frame is refused (queue-full) and the client
 * stays, so one slow service cannot stall the node or lose it others'
 * traffic.
 */
static enum result
deliver(struct frame *f, const char *svcname)
{
	struct svc	*s;
	const char	*src;
	uint64_t	*slot, h = 0;

	src = frame_get(f, "orig") != NULL ? frame_get(f, "orig") :
	    frame_get(f, "from");
	if (strcmp(svcname, BUILTIN) == 0)
		return R_DELIVERED;	/* route_builtin answers it */
	if ((s = svc_find(svcname)) == NULL)
		return R_NOSVC;
	slot = NULL;
	if (src != NULL && f->txid != 0 && !flag(f, "re")) {
		slot = dedup_slot(src, f->txid, &h);
		if (*slot == h)
			return R_DELIVERED;
	}
	if (s->client->doomed || conn_send(s->client->conn, f) == -1)
		return R_FULL;
	if (slot != NULL)
		*slot = h;
	return R_DELIVERED;
}

static void	 route_builtin(struct frame *);
static int	 size_needed(struct client *, struct frame *, const char *,
		    int);

static void
send_receipt(struct rcpt *r)
{
	struct frame	 f;
	uint32_t	 id;
	int		 ok = 1;

	frame_init(&f, "receipt", r->txid);
	frame_add(&f, "to", "%s", r->to);
	NS_FOREACH(id, &r->targets)
		if (r->result[id] != R_DELIVERED)
			ok = 0;
	frame_add(&f, "status", "%s", ok ? "ok" : "failed");
	frame_add(&f, "nodes", "%d", ns_count(&r->targets));
	NS_FOREACH(id, &r->targets) {
		char	 k[16];

		(void)snprintf(k, sizeof(k), "node.%u", id);
		frame_add(&f, k, "%s", result_names[r->result[id]]);
	}
	(void)control_send(r->client, &f);
}

static void
rcpt_free(struct rcpt *r)
{
	timer_stop(&r->timer);
	RB_REMOVE(rcpttree, &rcpts, r);
	r->client->nrcpts--;
	nrcpts--;
	free(r);
}

static void
rcpt_done(struct rcpt *r)
{
	uint32_t	 id;
	int		 ok = 1;

	NS_FOREACH(id, &r->targets)
		if (r->result[id] != R_DELIVERED)
			ok = 0;
	if (!r->failonly || !ok)
		send_receipt(r);
	rcpt_free(r);
}

/* seed 003 L178-L180: at the timeout, every silent node is failed. */
static void
rcpt_timeout(void *arg)
{
	struct rcpt	*r = arg;
	uint32_t	 id;

	/* rcpt=fail: no word from its router means it got there. */
	if (r->failonly) {
		rcpt_free(r);
		return;
	}
	NS_FOREACH(id, &r->targets)
		if (r->result[id] == R_WAIT)
			r->result[id] = R_TIMEOUT;
	rcpt_done(r);
}

static void
rcpt_set(struct rcpt *r, uint32_t node, enum result res)
{
	if (!ns_has(&r->targets, node) || r->result[node] != R_WAIT)
		return;
	r->result[node] = res;
	if (--r->waiting == 0)
		rcpt_done(r);
}

/* rcpt=fail: a receipt only if the frame does not get there. */
static int
fail_only(const struct frame *f)
{
	const char	*v = frame_get(f, "rcpt");

	return v != NULL && strcmp(v, "fail") == 0;
}

/*
 * The receipt of a rcpt=fail frame to one node that did not get it,
 * sent at once: nothing is kept for one that did.
 */
static void
receipt_failed(struct client *cl, uint64_t txid, const char *to,
    uint32_t node, enum result res)
{
	struct frame	 f;
	char		 k[16];

	frame_init(&f, "receipt", txid);
	frame_add(&f, "to", "%s", to);
	frame_add(&f, "status", "failed");
	frame_add(&f, "nodes", "1");
	(void)snprintf(k, sizeof(k), "node.%u", node);
	frame_add(&f, k, "%s", result_names[res]);
	(void)control_send(cl, &f);
}

static int
rcpt_to(struct peer *p, uint64_t txid, const char *from, enum result res)
{
	struct frame	 r;

	frame_init(&r, "rcpt", txid);
	frame_add(&r, "from", "%s", from);
	frame_add(&r, "node", "%u", D->self);
	frame_add(&r, "result", "%s", result_names[res]);
	return peer_send(p, &r);
}

static void
held_send(struct held *h)
{
	struct peer	*p = D->peers[h->peer];

	TAILQ_REMOVE(&helds, h, entry);
	nhelds--;
	if (p != NULL && p->conn != NULL)
		(void)rcpt_to(p, h->txid, h->from, R_DELIVERED);
	free(h);
}

/* HOLD_MS gone: the held rcpt frames go without their responses. */
static void
held_timeout(void *arg)
{
	struct held	*h;
	uint64_t	 now = loop_now();

	(void)arg;
	while ((h = TAILQ_FIRST(&helds)) != NULL && h->at + HOLD_MS <= now)
		held_send(h);
	if (h != NULL)
		timer_at(&heldt, h->at + HOLD_MS);
}

/* Hold a delivered rcpt for (from, txid) to p; 0, or -1: send it now. */
static int
held_add(struct peer *p, uint64_t txid, const char *from)
{
	struct held	*h;

	if (nhelds >= HOLD_MAX || (h = calloc(1, sizeof(*h))) == NULL)
		return -1;
	if (strlcpy(h->from, from, sizeof(h->from)) >= sizeof(h->from)) {
		free(h);
		return -1;
	}
	h->peer = p->id;
	h->txid = txid;
	h->at = loop_now();
	TAILQ_INSERT_TAIL(&helds, h, entry);
	if (nhelds++ == 0)
		timer_at(&heldt, h->at + HOLD_MS);
	return 0;
}

/* A response to `to` on node: its request's held rcpt goes first. */
static void
held_release(uint32_t node, uint64_t txid, const char *to)
{
	struct held	*h;

	TAILQ_FOREACH(h, &helds, entry)
		if (h->txid == txid && h->peer == node &&
		    strcmp(h->from, to) == 0) {
			held_send(h);
			return;
		}
}

/* A peer that can take a routed frame of about n bytes now. */
static enum result
peer_ready(struct peer *p, size_t n)
{
	if (p == NULL || p->conn == NULL || p->reach != REACH_UP)
		return R_DOWN;
	if (conn_queued(p->conn) + n > ROUTE_PEER_MAX)
		return R_FULL;
	return R_WAIT;
}

/* The nodes a frame goes to (seed 003 L178: the others, for a broadcast). */
static void
targets_of(uint32_t node, int self, struct nodeset *t)
{
	const struct cl_conf *c = &D->conf;
	int		 i;

	ns_clear(t);
	if (node != 0) {
		ns_add(t, node);
		return;
	}
	for (i = 0; i < c->nnodes; i++)
		if (c->nodes[i].id != D->self || self)
			ns_add(t, c->nodes[i].id);
}

/*
 * Send f, stamped from=<self>.<from>, to its targets; with a receipt
 * wanted, gather it for cl.  cl is NULL for the router's own replies.
 */
static int
route_send(struct client *cl, struct frame *f, const char *from)
{
	struct nodeset	 t;
	struct rcpt	*r = NULL;
	enum result	 res;
	const char	*to, *svc;
	uint64_t	 max;
	uint32_t	 node, id;
	int		 want, isresp, failonly;

	to = frame_get(f, "to");
	if (parse_addr(to, &node, &svc) == -1)
		return control_error(cl, f->txid, "invalid", "to=%s: not "
		    "<node>.<service> or *.<service> with a configured node",
		    to != NULL ? to : "");
	isresp = flag(f, "re");
	/* seed 003 L168: a response never asks for a receipt. */
	want = cl != NULL && !isresp && flag(f, "rcpt");
	/* Broadcasts keep their receipts (what got where). */
	failonly = want && node != 0 && fail_only(f);
	if (want && !failonly && fail_only(f)) {
		frame_del(f, "rcpt");
		(void)frame_add(f, "rcpt", "1");
	}
	targets_of(node, flag(f, "self"), &t);
	scrub(f);
	frame_del(f, "from");
	/* seq= and mac= must still fit: see auth_seal. */
	if (frame_add(f, "from", "%u.%s", D->self, from) == -1 ||
	    f->nkv > WIRE_KEYS_MAX - 2)
		return control_error(cl, f->txid, "invalid", "too many keys (at "
		    "most %d)", WIRE_KEYS_MAX - 3);
	if (failonly) {
		if (node == D->self) {
			res = deliver(f, svc);
			if (res == R_DELIVERED && strcmp(svc, BUILTIN) == 0)
				route_builtin(f);
		} else if ((res = peer_ready(D->peers[node],
		    f->hdrlen + f->len + 256)) == R_WAIT)
			res = peer_send(D->peers[node], f) == -1 ? R_DOWN :
			    R_DELIVERED;
		if (res != R_DELIVERED) {
			receipt_failed(cl, f->txid, to, node, res);
			return 0;
		}
		/*
		 * Sent to a peer: kept until the response or a failure, to
		 * say node-down if the peer is lost first.  Past the bounds,
		 * or a txid already awaited, it goes untracked: a failure
		 * the target's router reports still gets its receipt.
		 */
		if (node == D->self || cl->nrcpts >= RCPT_PER_CLIENT ||
		    nrcpts >= RCPTS_MAX || (r = calloc(1, sizeof(*r))) == NULL)
			return 0;
		r->client = cl;
		r->txid = f->txid;
		r->failonly = 1;
		(void)strlcpy(r->to, to, sizeof(r->to));
		r->targets = t;
		r->result[node] = R_WAIT;
		r->waiting = 1;
		if (RB_INSERT(rcpttree, &rcpts, r) != NULL) {
			free(r);
			return 0;
		}
		cl->nrcpts++;
		nrcpts++;
		timer_setup(&r->timer, rcpt_timeout, r);
		timer_in(&r->timer, (uint64_t)D->conf.msg_timeout_ms);
		return 0;
	}
	if (want) {
		/* seed 003 L182: an RC array too small halts the send. */
		if (frame_getu64(f, "rcpt_max", &max) == 0 &&
		    max < (uint64_t)ns_count(&t))
			return size_needed(cl, f, to, ns_count(&t));
		if (cl->nrcpts >= RCPT_PER_CLIENT || nrcpts >= RCPTS_MAX)
			return control_error(cl, f->txid, "full", "%d receipts "
			    "outstanding", cl->nrcpts);
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return control_error(cl, f->txid, "full", "out of memory");
		r->client = cl;
		r->txid = f->txid;
		(void)strlcpy(r->to, to, sizeof(r->to));
		r->targets = t;
		if (RB_INSERT(rcpttree, &rcpts, r) != NULL) {
			free(r);
			return control_error(cl, f->txid, "invalid", "a receipt "
			    "for txid %llu is already awaited",
			    (unsigned long long)f->txid);
		}
		cl->nrcpts++;
		nrcpts++;
		timer_setup(&r->timer, rcpt_timeout, r);
	}
	NS_FOREACH(id, &t) {
		if (id == D->self) {
			res = deliver(f, svc);
			if (res == R_DELIVERED && strcmp(svc, BUILTIN) == 0)
				route_builtin(f);
		} else {
			if (isresp && nhelds > 0)
				held_release(id, f->txid, to);
			if ((res = peer_ready(D->peers[id],
			    f->hdrlen + f->len + 256)) == R_WAIT &&
			    peer_send(D->peers[id], f) == -1)
				res = R_DOWN;
		}
		if (r != NULL) {
			r->result[id] = (uint8_t)res;
			if (res == R_WAIT)
				r->waiting++;
		}
	}
	if (r == NULL)
		return 0;
	if (r->waiting == 0)
		rcpt_done(r);
	else
		timer_in(&r->timer, (uint64_t)D->conf.msg_timeout_ms);
	return 0;
}

static int
size_needed(struct client *cl, struct frame *f, const char *to, int n)
{
	struct frame	 r;

	frame_init(&r, "receipt", f->txid);
	frame_add(&r, "to", "%s", to);
	frame_add(&r, "status", "size-needed");
	frame_add(&r, "need", "%d", n);
	frame_add(&r, "nodes", "%d", n);
	(void)control_send(cl, &r);
	return 0;
}

/* The router's own service: ping, answered with pong to the caller. */
static void
route_builtin(struct frame *f)
{
	struct frame	 r;
	const char	*to;

	if (strcmp(f->op, "ping") != 0 || flag(f, "re"))
		return;
	to = frame_get(f, "orig") != NULL ? frame_get(f, "orig") :
	    frame_get(f, "from");
	if (to == NULL)
		return;
	frame_init(&r, "pong", f->txid);
	frame_add(&r, "to", "%s", to);
	frame_add(&r, "re", "1");
	frame_add(&r, "node", "%u", D->self);
	(void)route_send(NULL, &r, BUILTIN);
}

/* A frame with to= from a local client. */
int
route_client_frame(struct client *cl, struct frame *f)
{
	if (cl->svc == NULL)
		return control_error(cl, f->txid, "invalid", "register a service "
		    "first (CL1 service with name=)");
	return route_send(cl, f, cl->svc->name);
}

/* Tell every peer (or one) which services run here. */
static void
announce(struct peer *p)
{
	struct frame	 f;
	struct svc	*s;
	struct buf	 b;

	buf_init(&b, SVCS_MAX * (WIRE_KEY_MAX + 1) + 1);
	RB_FOREACH(s, svctree, &svcs)
		(void)buf_printf(&b, "%s\n", s->name);
	frame_init(&f, "svcs", 0);
	frame_payload(&f, buf_ptr(&b), buf_avail(&b));
	peer_tell(p, &f);
	buf_free(&b);
}

int
route_register(struct client *cl, const char *name, const char **why)
{
	struct svc	*s;

	if (name == NULL || !wire_valid_name(name, strlen(name))) {
		*why = "name= must be 1 to 32 of a-z 0-9 _ . -";
		return -1;
	}
	if (cl->svc != NULL) {
		*why = "this connection has a service already";
		return -1;
	}
	if (strcmp(name, BUILTIN) == 0 || svc_find(name) != NULL) {
		*why = "exists";
		return -1;
	}
	if (nsvcs >= SVCS_MAX) {
		*why = "too many services on this node";
		return -1;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		*why = "out of memory";
		return -1;
	}
	(void)strlcpy(s->name, name, sizeof(s->name));
	s->client = cl;
	RB_INSERT(svctree, &svcs, s);
	cl->svc = s;
	nsvcs++;
	log_debug("service %s registered by %s", name, cl->conn->name);
	announce(NULL);
	return 0;
}

void
route_client_gone(struct client *cl)
{
	struct rcpt	*r, *next;

	if (cl->svc == NULL)
		return;
	RB_FOREACH_SAFE(r, rcpttree, &rcpts, next)
		if (r->client == cl)
			rcpt_free(r);
	RB_REMOVE(svctree, &svcs, cl->svc);
	log_debug("service %s gone", cl->svc->name);
	free(cl->svc);
	cl->svc = NULL;
	nsvcs--;
	announce(NULL);
}

/*
 * A response from p's node to local service svc: a rcpt=fail call it
 * answers got there, and its record goes without a receipt.
 */
static void
answered(struct peer *p, const char *svc, uint64_t txid)
{
	struct client	 kc;
	struct svc	 ks;
	struct rcpt	 k, *r;

	if (strlcpy(ks.name, svc, sizeof(ks.name)) >= sizeof(ks.name))
		return;
	kc.svc = &ks;
	k.client = &kc;
	k.txid = txid;
	if ((r = RB_FIND(rcpttree, &rcpts, &k)) != NULL && r->failonly)
		rcpt_set(r, p->id, R_DELIVERED);
}

/* A receiving router's word on a frame we sent: seed 003 L188. */
static int
peer_rcpt(struct peer *p, const struct frame *f)
{
	struct client	 kc;
	struct svc	 ks, *s;
	struct rcpt	 k, *r;
	const char	*from, *res, *svc, *dest;
	char		 to[WIRE_KEY_MAX * 2 + 8];
	uint32_t	 node;
	int		 i;

	from = frame_get(f, "from");
	res = frame_get(f, "result");
	if (parse_addr(from, &node, &svc) == -1 || node != D->self ||
	    res == NULL || strlcpy(ks.name, svc, sizeof(ks.name)) >=
	    sizeof(ks.name))
		return 0;
	for (i = R_DELIVERED; i <= R_FULL; i++)
		if (strcmp(res, result_names[i]) == 0)
			break;
	if (i > R_FULL)
		return 0;
	kc.svc = &ks;
	k.client = &kc;
	k.txid = f->txid;
	if ((r = RB_FIND(rcpttree, &rcpts, &k)) != NULL) {
		rcpt_set(r, p->id, (enum result)i);
		return 0;
	}
	/* rcpt=fail with nothing kept: the sender is told now. */
	if ((dest = frame_get(f, "dest")) != NULL && i != R_DELIVERED &&
	    wire_valid_name(dest, strlen(dest)) &&
	    (s = svc_find(svc)) != NULL && !s->client->doomed) {
		(void)snprintf(to, sizeof(to), "%u.%s", p->id, dest);
		receipt_failed(s->client, f->txid, to, p->id, (enum result)i);
	}
	return 0;	/* else late: the receipt went out already */
}

static int
peer_svcs(struct peer *p, const struct frame *f)
{
	const char	*s = (const char *)f->payload, *end = s + f->len, *nl;
	size_t		 n;

	p->nsvcs = 0;
	for (; s < end && p->nsvcs < SVCS_MAX; s = nl + 1) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			break;
		n = (size_t)(nl - s);
		if (n == 0 || !wire_valid_name(s, n))
			continue;
		memcpy(p->svcs[p->nsvcs], s, n);
		p->svcs[p->nsvcs][n] = '\0';
		p->nsvcs++;
	}
	return 0;
}

/*
 * A frame from a peer router: a routed frame (it has to=), a receipt,
 * or a service list.  Returns 1 if it was routing's, 0 if not.
 */
int
route_peer_frame(struct peer *p, struct frame *f)
{
	struct frame	 r;
	enum result	 res;
	const char	*from, *svc, *fsvc;
	uint32_t	 node, fnode;

	if (frame_get(f, "to") == NULL) {
		if (strcmp(f->op, "rcpt") == 0)
			return peer_rcpt(p, f), 1;
		if (strcmp(f->op, "svcs") == 0)
			return peer_svcs(p, f), 1;
		return 0;
	}
	from = frame_get(f, "from");
	if (parse_addr(frame_get(f, "to"), &node, &svc) == -1 ||
	    (node != 0 && node != D->self) ||
	    parse_addr(from, &fnode, &fsvc) == -1 || fnode != p->id) {
		log_warnx("node %u (%s): dropped a routed frame with to=%s "
		    "from=%s", p->id, p->addr, frame_get(f, "to"),
		    from != NULL ? from : "(none)");
		return 1;
	}
	scrub(f);
	res = deliver(f, svc);
	if (res == R_DELIVERED && nrcpts > 0 && flag(f, "re"))
		answered(p, svc, f->txid);
	/* rcpt=fail: word only of a failure, naming the service. */
	if (flag(f, "rcpt") && !flag(f, "re") && res != R_DELIVERED &&
	    fail_only(f)) {
		frame_init(&r, "rcpt", f->txid);
		frame_add(&r, "from", "%s", from);
		frame_add(&r, "node", "%u", D->self);
		frame_add(&r, "result", "%s", result_names[res]);
		frame_add(&r, "dest", "%s", svc);
		(void)peer_send(p, &r);
	} else if (flag(f, "rcpt") && !flag(f, "re") && !fail_only(f) &&
	    (res != R_DELIVERED || !flag(f, "resp") ||
	    strcmp(svc, BUILTIN) == 0 || held_add(p, f->txid, from) == -1))
		(void)rcpt_to(p, f->txid, from, res);
	if (res == R_DELIVERED && strcmp(svc, BUILTIN) == 0)
		route_builtin(f);
	return 1;
}

void
route_peer_up(struct peer *p)
{
	p->nsvcs = 0;
	announce(p);
}

/* Every receipt waiting on p has its answer: node-down (seed 003 L178). */
void
route_peer_down(struct peer *p)
{
	struct rcpt	*r, *next;
	struct held	*h, *hnext;

	p->nsvcs = 0;
	RB_FOREACH_SAFE(r, rcpttree, &rcpts, next)
		rcpt_set(r, p->id, R_DOWN);
	/* Its router gives up on them itself (node-down). */
	TAILQ_FOREACH_SAFE(h, &helds, entry, hnext)
		if (h->peer == p->id) {
			TAILQ_REMOVE(&helds, h, entry);
			nhelds--;
			free(h);
		}
}

/* "service node=N name=S" for every service this node knows of. */
int
route_services(struct buf *b)
{
	struct svc	*s;
	struct peer	*p;
	uint32_t	 id;
	int		 i;

	if (buf_printf(b, "service node=%u name=%s\n", D->self, BUILTIN) == -1)
		return -1;
	RB_FOREACH(s, svctree, &svcs)
		if (buf_printf(b, "service node=%u name=%s\n", D->self,
		    s->name) == -1)
			return -1;
	for (id = 1; id <= NODEID_MAX; id++) {
		if ((p = D->peers[id]) == NULL || p->conn == NULL)
			continue;
		if (buf_printf(b, "service node=%u name=%s\n", id,
		    BUILTIN) == -1)
			return -1;
		for (i = 0; i < p->nsvcs; i++)
			if (buf_printf(b, "service node=%u name=%s\n", id,
			    p->svcs[i]) == -1)
				return -1;
	}
	return 0;
}

void
route_init(void)
{
	if ((dedup = calloc(DEDUP_SLOTS, sizeof(*dedup))) == NULL)
		fatal("route_init");
	timer_setup(&heldt, held_timeout, NULL);
}
