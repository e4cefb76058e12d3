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
 * Calls through clmemberd's router: to clmetad.FS wherever it runs (the
 * disk reader asking the metadata supplier for a block list, seed 002
 * L436-L438), and to another node's cliod (remote I/O).  Every call asks
 * for a response and a receipt; many are in flight at once, matched by
 * txid, so independent metadata calls are never serialized.  A call that
 * finds no service, a node down, a full queue, or clmetad answering
 * EAGAIN or EBUSY is sent again after a backoff, up to CALL_DEADLINE_MS
 * (clmetad may be restarting or in its grace period; seed 002
 * L1516-L1520: retry, then return an error).
 */

#include <sys/types.h>
#include <sys/tree.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cliod.h"
#include "log.h"

struct call {
	RB_ENTRY(call)	 entry;		/* by txid, while sent */
	TAILQ_ENTRY(call) qentry;	/* waiting to be sent */
	uint64_t	 txid;
	struct fsvol	*v;		/* clmetad.FS, or NULL */
	uint32_t	 node;		/* mesh_call's target */
	char		 svc[WIRE_KEY_MAX + 1];	/* node's service, or "" */
	int		 once;		/* one attempt until deadline */
	int		 failfast;	/* no such node, no answer: fail */
	struct frame	 f;
	uint8_t		*payload;
	size_t		 len;
	call_cb		 cb;
	void		*arg;
	uint64_t	 deadline;	/* ms */
	uint64_t	 backoff;	/* ms */
	struct timer	 t;		/* retry, or an attempt's timeout */
	int		 sent;
	int		 waiting;	/* in M.backoff, its timer set */
	int		 lasterr;
};

RB_HEAD(calltree, call);

static int
call_cmp(struct call *a, struct call *b)
{
	return a->txid < b->txid ? -1 : a->txid > b->txid;
}

RB_GENERATE_INTERNAL(calltree, call, entry, call_cmp,
    __attribute__((__unused__)) static)

/* A service seen in clmemberd's list. */
struct svcent {
	uint32_t	 node;
	char		 name[WIRE_KEY_MAX + 1];
};
#define SVCS_MAX	512

static struct {
	struct msg	 m;
	int		 open;
	struct calltree	 calls;
	TAILQ_HEAD(, call) queue;	/* over CALLS_MAX, or no target yet */
	TAILQ_HEAD(, call) backoff;	/* waiting to be sent again */
	int		 ncalls;	/* in the tree */
	int		 nall;
	struct timer	 kick;		/* send what waits: outside callbacks */
	struct timer	 reconnect;
	struct svcent	 svcs[SVCS_MAX];
	int		 nsvcs;
	uint64_t	 svcs_at;	/* ms, when the list was read */
	int		 svcs_stale;
	int		 indispatch;	/* a frame of m is in use */
} M;

static void	 msg_io(int, short, void *);
static void	 call_finish(struct call *, int, const struct frame *);

uint32_t
meta_self(void)
{
	return M.m.node;
}

int
meta_calls(void)
{
	return M.nall;
}

/* The services list, read again at most every 100 ms. */
static void
services_refresh(void)
{
	struct frame	 f;
	const char	*p, *end, *nl;
	char		 line[256];
	unsigned	 node;
	size_t		 n;

	/* msg_services would reuse the buffer a frame being handled is in. */
	if (!M.open || M.indispatch || (!M.svcs_stale && M.nsvcs > 0) ||
	    loop_now() < M.svcs_at + 100)
		return;
	M.svcs_at = loop_now();
	/*
	 * msg_services keeps the frames that come before its answer; the
	 * socket has nothing left to wake the loop for them, so kick reads
	 * them at once (an answer to a held DM event sat there until the
	 * event timed out).
	 */
	if (!M.kick.armed)
		timer_in(&M.kick, 0);
	if (msg_services(&M.m, &f, 2000) == -1) {
		log_warnx("services: %s", M.m.error);
		return;
	}
	M.nsvcs = 0;
	M.svcs_stale = 0;
	p = (const char *)f.payload;
	end = p + f.len;
	for (; p < end && M.nsvcs < SVCS_MAX; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		if (n >= sizeof(line))
			continue;
		memcpy(line, p, n);
		line[n] = '\0';
		if (sscanf(line, "service node=%u name=%32s", &node,
		    M.svcs[M.nsvcs].name) != 2)
			continue;
		M.svcs[M.nsvcs++].node = node;
	}
	/* Frames that came meanwhile are kept: read them soon. */
	timer_in(&M.kick, 0);
}

static uint32_t
service_node(const char *name)
{
	int	 i;

	for (i = 0; i < M.nsvcs; i++)
		if (strcmp(M.svcs[i].name, name) == 0)
			return M.svcs[i].node;
	return 0;
}

static int
service_on(uint32_t node, const char *name)
{
	int	 i;

	for (i = 0; i < M.nsvcs; i++)
		if (M.svcs[i].node == node && strcmp(M.svcs[i].name, name) == 0)
			return 1;
	return 0;
}

/*
 * A node whose cliod can reach v's volume, for forwarding: clmetad's
 * node first (its cache is warm), then any other.
 */
uint32_t
meta_pick_peer(struct fsvol *v)
{
	char		 svc[CONF_NAME_MAX + 16];
	uint32_t	 n;
	int		 i;

	services_refresh();
	(void)snprintf(svc, sizeof(svc), "clmetad.%s", v->name);
	n = service_node(svc);
	if (n != 0 && n != M.m.node && service_on(n, "cliod") &&
	    conf_volume_path(&conf, v->cv, n) != NULL)
		return n;
	for (i = 0; i < M.nsvcs; i++) {
		n = M.svcs[i].node;
		if (n != M.m.node && strcmp(M.svcs[i].name, "cliod") == 0 &&
		    conf_volume_path(&conf, v->cv, n) != NULL)
			return n;
	}
	M.svcs_stale = 1;
	return 0;
}

/* Node runs cliod, as far as clmemberd's list says. */
int
meta_cliod_on(uint32_t node)
{
	services_refresh();
	return service_on(node, "cliod");
}

/* The keys a routed frame gets on its way, which an answer must not carry. */
static int
routing_key(const char *k)
{
	static const char *keys[] = { "to", "from", "orig", "re", "resp",
	    "rcpt", "rcpt_max", "self", "seq", "mac", NULL };
	int	 i;

	for (i = 0; keys[i] != NULL; i++)
		if (strcmp(k, keys[i]) == 0)
			return 1;
	return 0;
}

static int
copy_keys(struct frame *to, const struct frame *from)
{
	int	 i;

	for (i = 0; i < from->nkv; i++)
		if (!routing_key(from->kv[i].key) &&
		    frame_add(to, from->kv[i].key, "%s", from->kv[i].val) == -1)
			return -1;
	return 0;
}

/* The target of a call, or 0 when it is not known yet. */
static uint32_t
target(struct call *c, char *svc, size_t n)
{
	if (c->v == NULL) {
		(void)strlcpy(svc, c->svc[0] != '\0' ? c->svc : "cliod", n);
		return c->node;
	}
	(void)snprintf(svc, n, "clmetad.%s", c->v->name);
	return service_node(svc);
}

static void
call_timeout(void *arg);

/* Send c now; 0, or -1 if it must wait (no target, no room). */
static int
call_send(struct call *c)
{
	struct frame	 f;
	char		 svc[CONF_NAME_MAX + 16];
	uint32_t	 node;

	if (!M.open || M.ncalls >= CALLS_MAX)
		return -1;
	if ((node = target(c, svc, sizeof(svc))) == 0) {
		M.svcs_stale = 1;
		return -1;
	}
	frame_init(&f, c->f.op, 0);
	if (copy_keys(&f, &c->f) == -1 ||
	    frame_add(&f, "to", "%u.%s", node, svc) == -1 ||
	    frame_add(&f, "resp", "1") == -1 ||
	    frame_add(&f, "rcpt", "fail") == -1) {
		call_finish(c, EINVAL, NULL);
		return 0;
	}
	frame_payload(&f, c->payload, c->len);
	if (msg_send(&M.m, &f) == -1) {
		log_warnx("send %s to %s: %s", f.op, frame_get(&f, "to"),
		    M.m.error);
		/* A frame clmemberd can never take: no point in retrying. */
		if (errno == EMSGSIZE || errno == EINVAL) {
			call_finish(c, errno, NULL);
			return 0;
		}
		return -1;
	}
	c->txid = f.txid;
	if (RB_INSERT(calltree, &M.calls, c) != NULL) {
		call_finish(c, EIO, NULL);
		return 0;
	}
	c->sent = 1;
	M.ncalls++;
	timer_stop(&c->t);
	timer_setup(&c->t, call_timeout, c);
	timer_in(&c->t, c->failfast ? CALL_DEADLINE_MS : !c->once ?
	    CALL_TRY_MS : loop_now() < c->deadline ? c->deadline - loop_now() :
	    0);
	return 0;
}

/* Send what waits, in order, as far as it goes. */
static void
kick(void *arg)
{
	struct call	*c, *next;

	(void)arg;
	if (M.open && msg_pending(&M.m))
		msg_io(msg_fd(&M.m), POLLIN, NULL);
	if (TAILQ_EMPTY(&M.queue))
		return;
	services_refresh();
	TAILQ_FOREACH_SAFE(c, &M.queue, qentry, next) {
		if (M.ncalls >= CALLS_MAX)
			break;
		TAILQ_REMOVE(&M.queue, c, qentry);
		if (call_send(c) == -1) {
			TAILQ_INSERT_HEAD(&M.queue, c, qentry);
			if (!M.open || M.ncalls >= CALLS_MAX)
				break;
			/* No target yet: try again shortly. */
			if (loop_now() >= c->deadline) {
				TAILQ_REMOVE(&M.queue, c, qentry);
				call_finish(c, c->lasterr ? c->lasterr :
				    EHOSTUNREACH, NULL);
				continue;
			}
			timer_in(&M.kick, 100);
			break;
		}
	}
}

static void
enqueue(struct call *c)
{
	TAILQ_INSERT_TAIL(&M.queue, c, qentry);
	if (!M.kick.armed)
		timer_in(&M.kick, 0);
}

static void
unwait(struct call *c)
{
	if (!c->waiting)
		return;
	TAILQ_REMOVE(&M.backoff, c, qentry);
	c->waiting = 0;
	timer_stop(&c->t);
}

static void
call_free(struct call *c)
{
	unwait(c);
	timer_stop(&c->t);
	free(c->payload);
	free(c);
	M.nall--;
}

static void
call_finish(struct call *c, int err, const struct frame *resp)
{
	if (c->sent) {
		RB_REMOVE(calltree, &M.calls, c);
		M.ncalls--;
		c->sent = 0;
		if (!TAILQ_EMPTY(&M.queue) && !M.kick.armed)
			timer_in(&M.kick, 0);
	}
	c->cb(c->arg, err, resp);
	call_free(c);
}

static void
retry_now(void *arg)
{
	struct call	*c = arg;

	unwait(c);
	enqueue(c);
}

/* Try again after a backoff, or give up with err at the deadline. */
static void
call_retry(struct call *c, int err)
{
	if (c->sent) {
		RB_REMOVE(calltree, &M.calls, c);
		M.ncalls--;
		c->sent = 0;
	}
	c->lasterr = err;
	timer_stop(&c->t);
	if (c->once || exiting || loop_now() + c->backoff >= c->deadline) {
		c->cb(c->arg, err, NULL);
		call_free(c);
		return;
	}
	timer_setup(&c->t, retry_now, c);
	timer_in(&c->t, c->backoff);
	TAILQ_INSERT_TAIL(&M.backoff, c, qentry);
	c->waiting = 1;
	c->backoff = c->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
	    c->backoff * 2;
}

/*
 * A clmetad announced that it serves fs (it took over, or came back):
 * the calls waiting out a backoff for it go now, not up to
 * BACKOFF_MAX_MS later.  This is how the clients of a moved service
 * learn where it went (seed 004 L115-L117, the event manager moving
 * client services).
 */
static void
serving(const struct frame *f)
{
	struct call	*c, *n;
	const char	*fs = frame_get(f, "fs");

	if (fs == NULL)
		return;
	log_info("clmetad.%s serves on node %s", fs, frame_get(f, "node") !=
	    NULL ? frame_get(f, "node") : "?");
	M.svcs_stale = 1;
	M.svcs_at = 0;
	for (c = TAILQ_FIRST(&M.backoff); c != NULL; c = n) {
		n = TAILQ_NEXT(c, qentry);
		if (c->v == NULL || strcmp(c->v->name, fs) != 0)
			continue;
		unwait(c);
		c->backoff = BACKOFF_MIN_MS;
		enqueue(c);
	}
}

static void
call_timeout(void *arg)
{
	struct call	*c = arg;

	log_debug("%s txid %llu: no answer in time", c->f.op,
	    (unsigned long long)c->txid);
	M.svcs_stale = 1;
	if (c->failfast) {
		call_finish(c, ETIMEDOUT, NULL);
		return;
	}
	call_retry(c, ETIMEDOUT);
}

static struct call *
call_new(struct frame *req, call_cb cb, void *arg)
{
	struct call	*c;

	if (M.nall >= CALLS_MAX * 8 || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	frame_init(&c->f, req->op, 0);
	if (copy_keys(&c->f, req) == -1)
		goto fail;
	if (req->len > 0) {
		if ((c->payload = malloc(req->len)) == NULL)
			goto fail;
		memcpy(c->payload, req->payload, req->len);
		c->len = req->len;
	}
	c->cb = cb;
	c->arg = arg;
	c->deadline = loop_now() + CALL_DEADLINE_MS;
	c->backoff = BACKOFF_MIN_MS;
	timer_setup(&c->t, retry_now, c);
	M.nall++;
	return c;
fail:
	free(c);
	return NULL;
}

/*
 * Call clmetad.FS with req (its keys and payload are copied); cb gets
 * the answer or an errno.  The callback always comes later, never from
 * inside this function.
 */
int
meta_call(struct fsvol *v, struct frame *req, call_cb cb, void *arg)
{
	struct call	*c;

	if ((c = call_new(req, cb, arg)) == NULL)
		return -1;
	c->v = v;
	enqueue(c);
	return 0;
}

/* Call the cliod of node. */
int
mesh_call(uint32_t node, struct frame *req, call_cb cb, void *arg)
{
	struct call	*c;

	if ((c = call_new(req, cb, arg)) == NULL)
		return -1;
	c->node = node;
	enqueue(c);
	return 0;
}

/*
 * Call the cliod of node for an aware client (client load rebalancing):
 * as mesh_call, but a node that is not there (no-service, node-down) or
 * gives no answer in CALL_DEADLINE_MS fails the call at once
 * (EHOSTUNREACH, ETIMEDOUT), for the client to take another path; a full
 * queue is waited out, and a redirect is the answer.
 */
int
mesh_call_aware(uint32_t node, struct frame *req, call_cb cb, void *arg)
{
	struct call	*c;

	if ((c = call_new(req, cb, arg)) == NULL)
		return -1;
	c->node = node;
	c->failfast = 1;
	enqueue(c);
	return 0;
}

/*
 * Call service svc of node once: no retry, cb gets ETIMEDOUT when no
 * answer came within timeout ms, EHOSTUNREACH when the node or the
 * service is not there.  -1 when clmemberd is not reachable now.
 */
int
svc_call(uint32_t node, const char *svc, struct frame *req, int timeout,
    call_cb cb, void *arg)
{
	struct call	*c;

	if (!M.open || node == 0 || (c = call_new(req, cb, arg)) == NULL)
		return -1;
	c->node = node;
	(void)strlcpy(c->svc, svc, sizeof(c->svc));
	c->once = 1;
	c->deadline = loop_now() + (uint64_t)(timeout > 0 ? timeout : 1);
	enqueue(c);
	return 0;
}

/*
 * A request to clmemberd itself (no to=: its database), with a fresh
 * txid written back to f: 0, or -1.
 */
int
meta_local(struct frame *f)
{
	if (!M.open)
		return -1;
	if (++M.m.txid == 0)
		M.m.txid = 1;
	f->txid = M.m.txid;
	/* Frames deferred this turn go first: order on the socket holds. */
	if (msg_flush(&M.m) == -1 || ctl_send(&M.m.ctl, f) == -1) {
		log_warn("clmemberd: %s", f->op);
		return -1;
	}
	return 0;
}

/* A frame to its to=, fire and forget (answers to the mesh). */
int
meta_send(struct frame *f)
{
	if (!M.open)
		return -1;
	if (msg_send(&M.m, f) == -1) {
		log_warnx("send %s to %s: %s", f->op, frame_get(f, "to"),
		    M.m.error);
		return -1;
	}
	return 0;
}

static struct call *
find(uint64_t txid)
{
	struct call	 k;

	k.txid = txid;
	return RB_FIND(calltree, &M.calls, &k);
}

/* A receipt: retry when no target got the request. */
static void
on_receipt(struct call *c, const struct frame *f)
{
	const char	*st = frame_get(f, "status");
	int		 i, full = 0;

	if (st != NULL && strcmp(st, "ok") == 0)
		return;
	for (i = 0; i < f->nkv; i++) {
		if (strncmp(f->kv[i].key, "node.", 5) != 0)
			continue;
		if (strcmp(f->kv[i].val, "delivered") == 0)
			return;
		if (strcmp(f->kv[i].val, "queue-full") == 0)
			full = 1;
		log_debug("%s txid %llu: %s %s", c->f.op,
		    (unsigned long long)c->txid, f->kv[i].key, f->kv[i].val);
	}
	M.svcs_stale = 1;
	if (c->failfast && !full) {
		call_finish(c, EHOSTUNREACH, NULL);
		return;
	}
	call_retry(c, full ? EAGAIN : EHOSTUNREACH);
}

static void
on_response(struct call *c, const struct frame *f)
{
	int	 e = fs_answer_errno(f);

	/* clmetad busy (a lease of another node, its grace period). */
	if (!c->once && (e == EAGAIN || e == EBUSY) &&
	    frame_get(f, "redirect") == NULL) {
		call_retry(c, e);
		return;
	}
	call_finish(c, 0, f);
}

static void
dispatch(const struct frame *f)
{
	struct call	*c;
	const char	*re = frame_get(f, "re");

	if (frame_get(f, "from") == NULL) {
		/* The database's answers and changes: utilization, DMAPI. */
		if (util_local(f) || dm_local(f))
			return;
		/* The router's own: a receipt, or its refusal. */
		if ((c = find(f->txid)) == NULL)
			return;
		if (strcmp(f->op, "receipt") == 0)
			on_receipt(c, f);
		else if (strcmp(f->op, "error") == 0) {
			log_debug("router refused %s: %s", c->f.op,
			    frame_get(f, "reason") ? frame_get(f, "reason") :
			    "?");
			call_retry(c, EAGAIN);
		}
		return;
	}
	if (re != NULL && strcmp(re, "0") != 0) {
		if ((c = find(f->txid)) != NULL)
			on_response(c, f);
		return;
	}
	if (strcmp(f->op, "serving") == 0) {
		serving(f);
		return;
	}
	req_mesh(f);
}

static void	 lost(void);

static void
msg_io(int fd, short ev, void *arg)
{
	struct frame	 f;
	int		 rc, n = 0;

	(void)fd;
	(void)ev;
	(void)arg;
	/* Bounded, so one busy peer cannot hold the loop. */
	while (M.open && n++ < 4096) {
		if ((rc = msg_recv(&M.m, &f, 0)) == 1) {
			M.indispatch = 1;
			dispatch(&f);
			M.indispatch = 0;
			continue;
		}
		if (rc == -1 && errno == ETIMEDOUT)
			return;
		if (rc == 0)
			log_warnx("clmemberd closed the connection");
		else
			log_warnx("clmemberd: %s", M.m.error);
		lost();
		return;
	}
	if (M.open)
		timer_in(&M.kick, 0);
}

static void
connect_cb(void *arg)
{
	(void)arg;
	if (M.open)
		return;
	if (msg_open(&M.m, conf.rundir) == -1 ||
	    msg_register(&M.m, "cliod", 5000) == -1) {
		log_warnx("%s; trying again", M.m.error);
		msg_close(&M.m);
		timer_in(&M.reconnect, 1000);
		return;
	}
	if (loop_fd_add(msg_fd(&M.m), POLLIN, msg_io, NULL) == -1) {
		log_warn("event loop");
		msg_close(&M.m);
		timer_in(&M.reconnect, 1000);
		return;
	}
	M.open = 1;
	M.svcs_stale = 1;
	/* The frames of one loop turn go to clmemberd in one write. */
	msg_defer(&M.m);
	log_info("registered as service cliod on node %u", M.m.node);
	dm_connected();
	util_connected();
	timer_in(&M.kick, 0);
}

/* clmemberd went away: every call in flight is sent again later. */
static void
lost(void)
{
	struct call	*c, *next;

	loop_fd_del(msg_fd(&M.m));
	msg_close(&M.m);
	M.open = 0;
	M.nsvcs = 0;
	RB_FOREACH_SAFE(c, calltree, &M.calls, next)
		call_retry(c, EHOSTUNREACH);
	timer_in(&M.reconnect, 500);
}

int
meta_init(void)
{
	RB_INIT(&M.calls);
	TAILQ_INIT(&M.queue);
	TAILQ_INIT(&M.backoff);
	timer_setup(&M.kick, kick, NULL);
	timer_setup(&M.reconnect, connect_cb, NULL);
	connect_cb(NULL);
	return 0;
}

void
meta_shutdown(void)
{
	struct call	*c, *next;

	RB_FOREACH_SAFE(c, calltree, &M.calls, next) {
		RB_REMOVE(calltree, &M.calls, c);
		c->sent = 0;
		call_free(c);
	}
	while ((c = TAILQ_FIRST(&M.queue)) != NULL) {
		TAILQ_REMOVE(&M.queue, c, qentry);
		call_free(c);
	}
	if (M.open) {
		loop_fd_del(msg_fd(&M.m));
		msg_close(&M.m);
		M.open = 0;
	}
}
