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
 * The client side of clmemberd's message router (cl-wire(5), ROUTING), on the
 * control socket code of ctl.c.  Frames the router sends on its own (a
 * reply to service or services, a receipt, an error) carry no from=;
 * routed frames always do, as the router stamps them.  That tells a
 * receipt or error for one of our txids from a request another service
 * happens to send with the same txid: txids are unique per originator
 * only.
 */

#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "msg.h"

#define FOREVER		UINT64_MAX	/* a deadline that never comes */

/* A frame kept for msg_recv: its bytes as they came. */
struct msg_kept {
	STAILQ_ENTRY(msg_kept) entry;
	size_t		 len;
	uint8_t		 data[];
};

static int	 unqueue(struct msg *);

/* What a wait is for. */
enum want {
	W_REGISTER,		/* ok or error */
	W_SERVICES,		/* services or error */
	W_CALL			/* a response, a receipt or an error */
};

static int
fail(struct msg *m, int e, const char *fmt, ...)
	__attribute__((__format__ (printf, 3, 4)));

static int
fail(struct msg *m, int e, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(m->error, sizeof(m->error), fmt, ap);
	va_end(ap);
	errno = e;
	return -1;
}

/* A key that is there and not "0". */
static int
flag(const struct frame *f, const char *key)
{
	const char	*v;

	return (v = frame_get(f, key)) != NULL && strcmp(v, "0") != 0;
}

/*
 * Fresh txids.  The counter starts at a random point, so that a service
 * started again under the same name does not reuse txids the receiving
 * routers still remember and would drop as duplicates.
 */
static uint64_t
next_txid(struct msg *m)
{
	if (++m->txid == 0)
		m->txid = 1;
	return m->txid;
}

/* Parse a frame's own bytes, p[0..n), into f; f points into p. */
static int
reparse(const uint8_t *p, size_t n, struct frame *f)
{
	struct wire_parser wp;

	wire_parser_init(&wp, WIRE_PAYLOAD_MAX);
	if (wire_parse(&wp, p, n, f) != WIRE_FRAME || wire_framelen(&wp) != n) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

static void
release(struct msg *m)
{
	free(m->held[0]);
	free(m->held[1]);
	m->held[0] = m->held[1] = NULL;
}

/* Copy f into slot, to outlive the next read, and point *to at the copy. */
static int
hold(struct msg *m, int slot, const struct frame *f, struct frame *to)
{
	size_t	 n = f->hdrlen + f->len;

	free(m->held[slot]);
	if ((m->held[slot] = malloc(n)) == NULL)
		return fail(m, ENOMEM, "out of memory for a %zu-byte frame",
		    n);
	memcpy(m->held[slot], f->raw, n);
	if (reparse(m->held[slot], n, to) == -1)
		return fail(m, EPROTO, "cannot parse a copy of a frame");
	return 0;
}

/*
 * Keep f for msg_recv.  Past MSG_QUEUE_FRAMES or MSG_QUEUE_BYTES the
 * oldest frames go, and a frame larger than the whole bound is not kept;
 * m->dropped counts both.
 */
static void
keep(struct msg *m, const struct frame *f)
{
	struct msg_kept	*k;
	size_t		 n = f->hdrlen + f->len;

	if (n > MSG_QUEUE_BYTES) {
		m->dropped++;
		return;
	}
	while (m->nkept > 0 && (m->nkept >= MSG_QUEUE_FRAMES ||
	    m->keptbytes + n > MSG_QUEUE_BYTES)) {
		k = STAILQ_FIRST(&m->kept);
		STAILQ_REMOVE_HEAD(&m->kept, entry);
		m->nkept--;
		m->keptbytes -= k->len;
		free(k);
		m->dropped++;
	}
	if ((k = malloc(sizeof(*k) + n)) == NULL) {
		m->dropped++;
		return;
	}
	k->len = n;
	memcpy(k->data, f->raw, n);
	STAILQ_INSERT_TAIL(&m->kept, k, entry);
	m->nkept++;
	m->keptbytes += n;
}

/* The oldest kept frame into f, held until the next call. */
static int
unkeep(struct msg *m, struct frame *f)
{
	struct msg_kept	*k;
	size_t		 n;

	k = STAILQ_FIRST(&m->kept);
	STAILQ_REMOVE_HEAD(&m->kept, entry);
	m->nkept--;
	m->keptbytes -= n = k->len;
	/* The entry becomes the held copy: f points into its data. */
	memmove(k, k->data, n);
	free(m->held[0]);
	m->held[0] = (uint8_t *)k;
	if (reparse(m->held[0], n, f) == -1)
		return fail(m, EPROTO, "cannot parse a kept frame");
	return 1;
}

/*
 * The next frame from the socket, valid until the next read: 1, 0 at
 * end of stream, -1 on error (ETIMEDOUT once deadline has passed).
 */
static int
readframe(struct msg *m, struct frame *f, uint64_t deadline)
{
	uint64_t	 now;
	int		 rc, timeout = -1;

	if (m->eof)
		return 0;
	if (deadline != FOREVER) {
		now = clock_ms();
		timeout = now >= deadline ? 0 : deadline - now > INT_MAX ?
		    INT_MAX : (int)(deadline - now);
	}
	rc = ctl_recv(&m->ctl, f, timeout);
	if (rc == 0) {
		m->eof = 1;
		return 0;
	}
	if (rc == -1) {
		if (errno == EPROTO)
			return fail(m, EPROTO, "%s: malformed frame: %s",
			    m->ctl.path, m->ctl.reason);
		if (errno == ETIMEDOUT)
			return fail(m, ETIMEDOUT, "timed out");
		return fail(m, errno, "%s: %s", m->ctl.path, strerror(errno));
	}
	return 1;
}

static uint64_t
deadline_of(int timeout)
{
	return timeout < 0 ? FOREVER : clock_ms() + (uint64_t)timeout;
}

/* Is f what a wait of this kind for txid looks for? */
static int
wanted(const struct frame *f, enum want w, uint64_t txid)
{
	int	 local = frame_get(f, "from") == NULL;

	if (f->txid != txid)
		return 0;
	if (local && strcmp(f->op, "error") == 0)
		return 1;
	switch (w) {
	case W_REGISTER:
		return local && strcmp(f->op, "ok") == 0;
	case W_SERVICES:
		return local && strcmp(f->op, "services") == 0;
	case W_CALL:
		return local ? strcmp(f->op, "receipt") == 0 : flag(f, "re");
	}
	return 0;
}

/*
 * Read until the frame a wait is for; keep the others.  Returns 1 with f
 * valid until the next read, or -1 (ETIMEDOUT, ECONNRESET, ...).
 */
static int
await(struct msg *m, struct frame *f, enum want w, uint64_t txid,
    uint64_t deadline)
{
	int	 rc;

	if (unqueue(m) == -1)
		return -1;
	for (;;) {
		if ((rc = readframe(m, f, deadline)) == -1)
			return -1;
		if (rc == 0)
			return fail(m, ECONNRESET,
			    "clmemberd closed the connection");
		if (wanted(f, w, txid))
			return 1;
		keep(m, f);
	}
}

/* The router refused a request: its reason, and an errno to match. */
static int
refused(struct msg *m, const struct frame *f, const char *fmt, ...)
	__attribute__((__format__ (printf, 3, 4)));

static int
refused(struct msg *m, const struct frame *f, const char *fmt, ...)
{
	va_list		 ap;
	const char	*status, *reason;
	char		 what[128];
	int		 e = EPROTO;

	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if ((status = frame_get(f, "status")) == NULL)
		status = "error";
	if ((reason = frame_get(f, "reason")) == NULL)
		reason = status;
	if (strcmp(status, "exists") == 0)
		e = EEXIST;
	else if (strcmp(status, "denied") == 0)
		e = EACCES;
	else if (strcmp(status, "invalid") == 0)
		e = EINVAL;
	else if (strcmp(status, "full") == 0)
		e = ENOBUFS;
	return fail(m, e, "clmemberd refused %s: %s", what, reason);
}

int
msg_open(struct msg *m, const char *rundir)
{
	memset(m, 0, sizeof(*m));
	STAILQ_INIT(&m->kept);
	arc4random_buf(&m->txid, sizeof(m->txid));
	m->txid >>= 1;			/* far from wrapping around */
	if (ctl_open(&m->ctl, rundir, "clmemberd") == -1)
		return fail(m, errno, "cannot reach clmemberd at "
		    "%s/clmemberd.sock (is it running?): %s", rundir,
		    strerror(errno));
	return 0;
}

/*
 * clmemberd closes the connection of a client that sends a payload over
 * its limit: refuse one here, with the reason.
 */
static int
toolong(struct msg *m, const struct frame *f)
{
	if (f->len <= MSG_PAYLOAD_MAX)
		return 0;
	(void)fail(m, EMSGSIZE, "a %s frame with %zu bytes of payload: "
	    "clmemberd takes at most %d from a client", f->op, f->len,
	    MSG_PAYLOAD_MAX);
	return 1;
}

/* Write the queued frames: 0, or -1 (the connection is broken). */
int
msg_flush(struct msg *m)
{
	ssize_t	 n;

	while (buf_avail(&m->out) > 0) {
		n = write(m->ctl.fd, buf_ptr(&m->out), buf_avail(&m->out));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			/* Nothing more can go: the reader sees why. */
			buf_consume(&m->out, buf_avail(&m->out));
			return fail(m, errno, "%s: %s", m->ctl.path,
			    strerror(errno));
		}
		buf_consume(&m->out, (size_t)n);
	}
	return 0;
}

static void
flush_cb(void *arg)
{
	(void)msg_flush(arg);
}

/* From now on, sends are queued until the loop's turn ends. */
void
msg_defer(struct msg *m)
{
	if (m->defer)
		return;
	buf_init(&m->out, MSG_DEFER_BYTES + WIRE_HDR_MAX + MSG_PAYLOAD_MAX);
	timer_setup(&m->flusht, flush_cb, m);
	m->defer = 1;
}

/* Queue f behind the others; write them all once there are enough. */
static int
queue(struct msg *m, const struct frame *f)
{
	if (wire_encode(&m->out, f) == -1) {
		/* Too big for what is left: the queue first, then f. */
		if (msg_flush(m) == -1)
			return -1;
		if (wire_encode(&m->out, f) == -1)
			return fail(m, EMSGSIZE, "cannot encode a %s frame: "
			    "a bad key or value, or over a size limit", f->op);
	}
	if (buf_avail(&m->out) >= MSG_DEFER_BYTES)
		return msg_flush(m);
	if (!m->flusht.armed)
		timer_in(&m->flusht, 0);
	return 0;
}

/* Before a wait: what is queued must be out, or nothing answers it. */
static int
unqueue(struct msg *m)
{
	if (!m->defer || buf_avail(&m->out) == 0)
		return 0;
	return msg_flush(m);
}

/* Write f as it is (queue it, with msg_defer). */
static int
put(struct msg *m, const struct frame *f)
{
	if (toolong(m, f))
		return -1;
	if (m->defer)
		return queue(m, f);
	if (ctl_send(&m->ctl, f) == -1) {
		if (errno == EMSGSIZE)
			return fail(m, EMSGSIZE, "cannot encode a %s frame: "
			    "a bad key or value, or over a size limit", f->op);
		if (errno == EPIPE || errno == ECONNRESET)
			return fail(m, errno, "clmemberd closed the "
			    "connection (%s)", strerror(errno));
		return fail(m, errno, "%s: %s", m->ctl.path, strerror(errno));
	}
	return 0;
}

/*
 * Register this connection as service name on the node.  On success
 * m->name is the name and m->node the node's id.
 */
int
msg_register(struct msg *m, const char *name, int timeout)
{
	struct frame	 req, f;
	const char	*node;
	uint64_t	 id;

	release(m);
	if (!wire_valid_name(name, strlen(name)))
		return fail(m, EINVAL, "service name \"%s\": want 1 to %d of "
		    "a-z 0-9 _ . -", name, WIRE_KEY_MAX);
	if (m->name[0] != '\0')
		return fail(m, EINVAL, "already registered as %s", m->name);
	frame_init(&req, "service", next_txid(m));
	if (frame_add(&req, "name", "%s", name) == -1)
		return fail(m, EINVAL, "service name %s: too long", name);
	if (put(m, &req) == -1)
		return -1;
	if (await(m, &f, W_REGISTER, req.txid, deadline_of(timeout)) == -1) {
		if (errno == ETIMEDOUT)
			return fail(m, ETIMEDOUT, "no reply from clmemberd to "
			    "service %s in %d ms", name, timeout);
		return -1;
	}
	if (strcmp(f.op, "error") == 0)
		return refused(m, &f, "service %s", name);
	if ((node = frame_get(&f, "node")) == NULL ||
	    wire_parse_u64(node, strlen(node), UINT32_MAX, &id) != 0)
		return fail(m, EPROTO, "service %s: clmemberd's ok has no "
		    "node=", name);
	m->node = (uint32_t)id;
	(void)strlcpy(m->name, name, sizeof(m->name));
	return 0;
}

/*
 * Send f to its to=, fire and forget; a txid of 0 gets a fresh one,
 * written back to f.  A refusal comes later, as an error frame with f's
 * txid that msg_recv returns.
 */
int
msg_send(struct msg *m, struct frame *f)
{
	if (m->name[0] == '\0')
		return fail(m, EINVAL, "not registered as a service");
	if (frame_get(f, "to") == NULL)
		return fail(m, EINVAL, "a %s frame without to=", f->op);
	if (toolong(m, f))
		return -1;
	if (f->txid == 0)
		f->txid = next_txid(m);
	return put(m, f);
}

/* Send f to service on every other node (self=1 in f: this one too). */
int
msg_broadcast(struct msg *m, const char *service, struct frame *f)
{
	if (!wire_valid_name(service, strlen(service)))
		return fail(m, EINVAL, "service name \"%s\" not valid",
		    service);
	if (frame_get(f, "to") != NULL)
		return fail(m, EINVAL, "a broadcast %s frame with to=", f->op);
	if (frame_add(f, "to", "*.%s", service) == -1)
		return fail(m, EINVAL, "a %s frame with no room for to=",
		    f->op);
	return msg_send(m, f);
}

/*
 * Answer req with resp: resp goes to req's orig= or else its from=, with
 * re=1 and req's txid (even 0).
 */
int
msg_reply(struct msg *m, const struct frame *req, struct frame *resp)
{
	const char	*to;

	if (m->name[0] == '\0')
		return fail(m, EINVAL, "not registered as a service");
	if ((to = frame_get(req, "orig")) == NULL &&
	    (to = frame_get(req, "from")) == NULL)
		return fail(m, EINVAL, "a %s request without from=", req->op);
	if ((frame_get(resp, "to") == NULL &&
	    frame_add(resp, "to", "%s", to) == -1) ||
	    (frame_get(resp, "re") == NULL &&
	    frame_add(resp, "re", "1") == -1))
		return fail(m, EINVAL, "a %s response with no room for its "
		    "keys", resp->op);
	resp->txid = req->txid;
	return put(m, resp);
}

/* A receipt's verdict: some target got the frame. */
static int
reached(const struct frame *r)
{
	const char	*status;
	int		 i;

	if ((status = frame_get(r, "status")) == NULL)
		return 0;
	if (strcmp(status, "ok") == 0)
		return 1;
	for (i = 0; i < r->nkv; i++)
		if (strncmp(r->kv[i].key, "node.", 5) == 0 &&
		    strcmp(r->kv[i].val, "delivered") == 0)
			return 1;
	return 0;
}

/* Why a receipt is not all "delivered", into m->error. */
static void
undelivered(struct msg *m, const struct frame *r, const char *to)
{
	const char	*status, *need;
	size_t		 n;
	int		 i;

	status = frame_get(r, "status");
	if (status != NULL && strcmp(status, "size-needed") == 0) {
		need = frame_get(r, "need");
		(void)fail(m, EMSGSIZE, "not sent to %s: size-needed need=%s",
		    to, need != NULL ? need : "?");
		return;
	}
	n = (size_t)snprintf(m->error, sizeof(m->error), "not delivered to "
	    "%s: status=%s", to, status != NULL ? status : "none");
	for (i = 0; i < r->nkv && n < sizeof(m->error); i++) {
		if (strncmp(r->kv[i].key, "node.", 5) != 0 ||
		    strcmp(r->kv[i].val, "delivered") == 0)
			continue;
		n += (size_t)snprintf(m->error + n, sizeof(m->error) - n,
		    " %s=%s", r->kv[i].key, r->kv[i].val);
	}
	errno = EHOSTUNREACH;
}

/*
 * Send req and wait.  With resp, req asks for a response (resp=1 is
 * added) and the first frame with re=1 and req's txid is the answer.
 * With rcpt, req asks for a receipt (rcpt=1 is added) and gets it in
 * *rcpt; rcpt->op is "" if none came in time after the response did.
 * A receipt req asked for itself is awaited too, and a good one dropped.
 * Frames that come meanwhile are kept for msg_recv, as are the further
 * responses to a broadcast.
 *
 * Returns 1: the response came (without resp: the receipt says every
 * target got req); 0: the receipt says no target got it (without resp:
 * some target did not), m->error says why; -1: an error, ETIMEDOUT when
 * nothing came in timeout ms.  A response that comes too late arrives
 * through msg_recv.
 */
int
msg_call(struct msg *m, struct frame *req, struct frame *resp,
    struct frame *rcpt, int timeout)
{
	struct frame	 f;
	const char	*to;
	uint64_t	 deadline;
	int		 gotresp, gotrcpt, ok;

	release(m);
	if (resp == NULL && rcpt == NULL)
		return fail(m, EINVAL, "a call that waits for nothing");
	if (rcpt != NULL) {
		rcpt->op[0] = '\0';
		if (!flag(req, "rcpt") && frame_add(req, "rcpt", "1") == -1)
			return fail(m, EINVAL, "a %s frame with no room for "
			    "rcpt=", req->op);
	}
	if (resp != NULL && !flag(req, "resp") &&
	    frame_add(req, "resp", "1") == -1)
		return fail(m, EINVAL, "a %s frame with no room for resp=",
		    req->op);
	if (msg_send(m, req) == -1)
		return -1;
	to = frame_get(req, "to");
	deadline = deadline_of(timeout);
	gotresp = resp == NULL;
	gotrcpt = !flag(req, "rcpt");
	while (!gotresp || !gotrcpt) {
		if (await(m, &f, W_CALL, req->txid, deadline) == -1) {
			if (errno != ETIMEDOUT)
				return -1;
			if (resp != NULL && gotresp)
				return 1;	/* the receipt is late */
			return fail(m, ETIMEDOUT, "no %s from %s in %d ms",
			    resp != NULL ? "response" : "receipt", to,
			    timeout);
		}
		if (frame_get(&f, "from") != NULL) {
			if (gotresp)		/* another, to a broadcast */
				keep(m, &f);
			else if (hold(m, 0, &f, resp) == -1)
				return -1;
			gotresp = 1;
			continue;
		}
		if (strcmp(f.op, "error") == 0)
			return refused(m, &f, "%s to %s", req->op, to);
		gotrcpt = 1;
		ok = resp != NULL ? reached(&f) :
		    frame_get(&f, "status") != NULL &&
		    strcmp(frame_get(&f, "status"), "ok") == 0;
		if (!ok)
			undelivered(m, &f, to);
		if (rcpt != NULL && hold(m, 1, &f, rcpt) == -1)
			return -1;
		if (!ok && (resp == NULL || !gotresp))
			return 0;
	}
	return 1;
}

/*
 * The next frame: a kept one, else one from the socket.  Returns 1, 0
 * once clmemberd has closed the connection and every kept frame has been
 * returned, -1 on error (ETIMEDOUT after timeout ms; 0 reads only what
 * has arrived).
 */
int
msg_recv(struct msg *m, struct frame *f, int timeout)
{
	int	 rc;

	release(m);
	if (!STAILQ_EMPTY(&m->kept))
		return unkeep(m, f);
	if (timeout != 0 && unqueue(m) == -1)
		return -1;
	if ((rc = readframe(m, f, deadline_of(timeout))) == -1 &&
	    errno == ETIMEDOUT)
		return fail(m, ETIMEDOUT, "no frame in %d ms", timeout);
	return rc;
}

/*
 * The services of every node this one is connected to, one line each in
 * f's payload: "service node=<id> name=<service>".  Needs no service.
 */
int
msg_services(struct msg *m, struct frame *f, int timeout)
{
	struct frame	 req;

	release(m);
	frame_init(&req, "services", next_txid(m));
	if (put(m, &req) == -1)
		return -1;
	if (await(m, f, W_SERVICES, req.txid, deadline_of(timeout)) == -1) {
		if (errno == ETIMEDOUT)
			return fail(m, ETIMEDOUT, "no reply from clmemberd to "
			    "services in %d ms", timeout);
		return -1;
	}
	if (strcmp(f->op, "error") == 0)
		return refused(m, f, "%s", "services");
	return 0;
}

/*
 * For a poll loop: when it is readable, call msg_recv(m, f, 0) until it
 * fails with ETIMEDOUT.  One read may bring several frames, and frames
 * kept during a wait do not make the descriptor readable: poll with a
 * zero timeout while msg_pending() says so.
 */
int
msg_fd(const struct msg *m)
{
	return m->ctl.fd;
}

/* Frames kept or bytes read but not yet returned. */
int
msg_pending(const struct msg *m)
{
	return m->nkept > 0 || buf_avail(&m->ctl.in) > m->ctl.last;
}

void
msg_close(struct msg *m)
{
	struct msg_kept	*k;

	while ((k = STAILQ_FIRST(&m->kept)) != NULL) {
		STAILQ_REMOVE_HEAD(&m->kept, entry);
		free(k);
	}
	m->nkept = m->keptbytes = 0;
	release(m);
	if (m->defer) {
		(void)msg_flush(m);
		timer_stop(&m->flusht);
		buf_free(&m->out);
		m->defer = 0;
	}
	ctl_close(&m->ctl);
	m->name[0] = '\0';
}
