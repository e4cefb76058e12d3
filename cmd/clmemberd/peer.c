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
 * The authenticated TCP mesh: one connection per pair of nodes, dialed
 * by the lower id, heartbeats on it, and failure detection (DESIGN.md,
 * Membership): a peer is suspected after fail_ms of silence, and at once
 * when its connection closes.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clmemberd.h"
#include "log.h"

#define HANDSHAKE_MS	3000		/* a handshake must finish within */
#define LOGQUIET_MS	10000		/* repeat a refusal from one address */
#define LOGSLOTS	16

/* A connection until its handshake is done. */
struct hs {
	struct conn	*conn;
	struct auth	*auth;
	struct peer	*peer;		/* set when we dialed */
	struct timer	 timer;
	char		 addr[SOCK_ADDRSTRLEN];
	int		 attached;
};

static struct {
	char		 addr[SOCK_ADDRSTRLEN];
	uint64_t	 last;
	unsigned	 quiet;
} logslots[LOGSLOTS];

static void	 dial(struct peer *);
static void	 redial(struct peer *);

/*
 * Refusals are logged with the address, but a misconfigured node that
 * retries ten times a second must not flood the log: one line per
 * address per LOGQUIET_MS, with a count of what was left out.
 */
static void
log_refusal(const char *addr, const char *fmt, ...)
	__attribute__((__format__ (printf, 2, 3)));

static void
log_refusal(const char *addr, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[512], host[SOCK_ADDRSTRLEN], *colon;
	uint64_t now = loop_now();
	int	 i, slot = 0;

	(void)strlcpy(host, addr, sizeof(host));
	if ((colon = strrchr(host, ':')) != NULL)
		*colon = '\0';
	for (i = 0; i < LOGSLOTS; i++) {
		if (strcmp(logslots[i].addr, host) == 0) {
			slot = i;
			break;
		}
		if (logslots[i].last < logslots[slot].last)
			slot = i;
	}
	if (strcmp(logslots[slot].addr, host) == 0 &&
	    now - logslots[slot].last < LOGQUIET_MS) {
		logslots[slot].quiet++;
		return;
	}
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (strcmp(logslots[slot].addr, host) == 0 && logslots[slot].quiet)
		log_warnx("%s (%u more from %s)", msg, logslots[slot].quiet,
		    host);
	else
		log_warnx("%s", msg);
	(void)strlcpy(logslots[slot].addr, host, sizeof(logslots[slot].addr));
	logslots[slot].last = now;
	logslots[slot].quiet = 0;
}

struct peer *
peer_get(uint32_t id)
{
	if (id < 1 || id > NODEID_MAX)
		return NULL;
	return D->peers[id];
}

static void
set_reach(struct peer *p, enum reach r)
{
	if (p->reach == r)
		return;
	p->reach = r;
	p->reach_since = loop_now();
}

/* Self, and every peer heard from within fail_ms. */
void
peer_alive(struct nodeset *s)
{
	struct peer	*p;
	uint32_t	 id;

	ns_clear(s);
	ns_add(s, D->self);
	for (id = 1; id <= NODEID_MAX; id++) {
		if ((p = D->peers[id]) == NULL || p->conn == NULL ||
		    !p->hb_seen || p->reach != REACH_UP)
			continue;
		ns_add(s, id);
	}
}

int
peer_send(struct peer *p, const struct frame *f)
{
	if (p == NULL || p->conn == NULL)
		return -1;
	if (conn_send(p->conn, f) == -1) {
		if (errno == ENOBUFS && p->conn != NULL)
			conn_close(p->conn, "send queue full, peer not reading");
		return -1;
	}
	return 0;
}

/* To p, or to every connected peer if p is NULL. */
void
peer_tell(struct peer *p, const struct frame *f)
{
	if (p != NULL)
		(void)peer_send(p, f);
	else
		peer_broadcast(f, NULL);
}

/* To every connected peer, or to those in set. */
void
peer_broadcast(const struct frame *f, const struct nodeset *set)
{
	struct peer	*p;
	uint32_t	 id;

	for (id = 1; id <= NODEID_MAX; id++) {
		if ((p = D->peers[id]) == NULL || p->conn == NULL)
			continue;
		if (set != NULL && !ns_has(set, id))
			continue;
		(void)peer_send(p, f);
	}
}

/* An authenticated frame from a peer. */
static int
peer_frame(struct conn *c, struct frame *f, void *arg)
{
	struct peer	*p = arg;

	(void)c;
	p->last_heard = loop_now();
	if (p->reach != REACH_UP && p->hb_seen) {
		set_reach(p, REACH_UP);
		kick();
	}
	if (strcmp(f->op, "hb") == 0) {
		view_take_hb(p, f);
		return 0;
	}
	/* A routed frame (to=) may be an "error" answer between services. */
	if (strcmp(f->op, "error") == 0 && frame_get(f, "to") == NULL) {
		log_warnx("node %u (%s): reports error: %s", p->id, p->addr,
		    frame_get(f, "reason") ? frame_get(f, "reason") : "?");
		return 0;
	}
	if (route_peer_frame(p, f) || db_peer_frame(p, f))
		return 0;
	return view_frame(p, f);
}

static void
peer_closed(struct conn *c, const char *why, void *arg)
{
	struct peer	*p = arg;

	if (p->conn == NULL)
		return;
	/* c->name has the address this connection came from. */
	log_info("%s: connection lost: %s", c->name, why);
	p->conn = NULL;
	auth_free(p->auth);
	free(p->auth);
	p->auth = NULL;
	p->hb_seen = 0;
	ns_clear(&p->alive);
	set_reach(p, D->inview && ns_has(&D->cs.members, p->id) ?
	    REACH_SUSPECT : REACH_DOWN);
	view_peer_down(p);
	route_peer_down(p);
	db_peer_down(p);
	redial(p);
	kick();
}

static void
hs_free(struct hs *h)
{
	timer_stop(&h->timer);
	if (h->auth != NULL) {
		auth_free(h->auth);
		free(h->auth);
	}
	if (!h->peer)
		D->npending--;
	free(h);
}

/* The handshake is done: the connection now belongs to its peer. */
static void
attach(struct hs *h)
{
	struct peer	*p = D->peers[h->auth->peer];
	struct conn	*c = h->conn;
	int		 same;

	/*
	 * A new connection from the same incarnation (the old one broke,
	 * the process lives on) keeps the peer alive: no view change for a
	 * TCP hiccup.  A new incarnation is a restart, and the old one is
	 * forced out.
	 */
	same = p->conn != NULL && p->inc == h->auth->peer_inc &&
	    p->reach == REACH_UP;
	if (p->conn != NULL)
		conn_close(p->conn, "replaced by a new connection");
	p->conn = c;
	p->auth = h->auth;
	p->inc = h->auth->peer_inc;
	p->last_heard = loop_now();
	p->hb_seen = same;
	if (same)
		set_reach(p, REACH_UP);
	p->backoff = 0;
	h->auth = NULL;
	h->attached = 1;
	c->on_frame = peer_frame;
	c->on_close = peer_closed;
	c->arg = p;
	conn_set_maxpayload(c, D->conf.max_payload);
	conn_set_stall(c, (uint64_t)D->conf.fail_ms);
	(void)snprintf(c->name, sizeof(c->name), "node %u (%s)", p->id,
	    h->addr);
	log_info("node %u (%s): connected, incarnation %llu", p->id, h->addr,
	    (unsigned long long)p->inc);
	hs_free(h);
	D->hb_dirty = 1;
	view_peer_up(p);
	route_peer_up(p);
	kick();
}

static int
hs_fail(struct hs *h, const char *what)
{
	if (h->peer != NULL)
		log_refusal(h->addr, "node %u (%s): handshake failed: %s",
		    h->peer->id, h->addr, what);
	else if (h->auth->peer != 0)
		log_refusal(h->addr, "connection from %s (claims node %u) "
		    "refused: %s", h->addr, h->auth->peer, what);
	else
		log_refusal(h->addr, "connection from %s refused: %s",
		    h->addr, what);
	return -1;
}

static int
hs_server(struct hs *h, struct frame *f)
{
	struct frame	 out;

	if (h->auth->state == AUTH_SERVER_WAIT) {
		if (auth_server_hello(h->auth, f, &out) == -1)
			return hs_fail(h, h->auth->err);
		if (D->peers[h->auth->peer] == NULL)
			return hs_fail(h, "unknown node id");
		return conn_send_plain(h->conn, &out);
	}
	if (auth_server_finish(h->auth, f, &out) == -1)
		return hs_fail(h, h->auth->err);
	if (conn_send_plain(h->conn, &out) == -1)
		return -1;
	conn_set_auth(h->conn, h->auth);
	attach(h);
	return 0;
}

static int
hs_client(struct hs *h, struct frame *f)
{
	struct frame	 out;

	if (h->auth->state == AUTH_CLIENT_WAIT) {
		if (auth_client_prove(h->auth, f, &out) == -1)
			return hs_fail(h, h->auth->err);
		if (h->auth->peer != h->peer->id)
			return hs_fail(h, "answered as another node id");
		return conn_send_plain(h->conn, &out);
	}
	if (auth_client_finish(h->auth, f) == -1)
		return hs_fail(h, h->auth->err);
	conn_set_auth(h->conn, h->auth);
	attach(h);
	return 0;
}

static int
hs_frame(struct conn *c, struct frame *f, void *arg)
{
	struct hs	*h = arg;

	(void)c;
	if (strcmp(f->op, "error") == 0) {
		(void)hs_fail(h, frame_get(f, "reason") ?
		    frame_get(f, "reason") : "error from peer");
		return -1;
	}
	return h->peer != NULL ? hs_client(h, f) : hs_server(h, f);
}

static void
hs_closed(struct conn *c, const char *why, void *arg)
{
	struct hs	*h = arg;
	struct peer	*p = h->peer;

	(void)c;
	if (h->attached)
		return;
	if (strcmp(why, "closed by handler") != 0 &&
	    h->auth->state != AUTH_FAILED)
		(void)hs_fail(h, why);
	hs_free(h);
	if (p != NULL)
		redial(p);
}

static void
hs_timeout(void *arg)
{
	struct hs	*h = arg;

	conn_close(h->conn, "handshake not finished in time");
}

static struct hs *
hs_new(int fd, struct peer *p, const char *addr)
{
	struct hs	*h;

	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->auth = malloc(sizeof(*h->auth))) == NULL) {
		free(h);
		return NULL;
	}
	auth_new(h->auth, &D->aconf, p != NULL);
	h->peer = p;
	(void)strlcpy(h->addr, addr, sizeof(h->addr));
	h->conn = conn_new(fd, HELLO_PAYLOAD, PEER_OUTMAX, hs_frame, hs_closed,
	    h);
	if (h->conn == NULL) {
		auth_free(h->auth);
		free(h->auth);
		free(h);
		return NULL;
	}
	(void)snprintf(h->conn->name, sizeof(h->conn->name), "%s", addr);
	conn_set_stall(h->conn, HANDSHAKE_MS);
	timer_setup(&h->timer, hs_timeout, h);
	timer_in(&h->timer, HANDSHAKE_MS);
	if (p == NULL)
		D->npending++;
	return h;
}

static void
accept_peer(int fd, short ev, void *arg)
{
	struct sockaddr_storage ss;
	socklen_t	 len = sizeof(ss);
	char		 addr[SOCK_ADDRSTRLEN];
	int		 s;

	(void)ev;
	(void)arg;
	if ((s = accept(fd, (struct sockaddr *)&ss, &len)) == -1) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	sock_addrstr((struct sockaddr *)&ss, addr, sizeof(addr));
	if (D->npending >= PENDING_MAX) {
		log_refusal(addr, "connection from %s refused: too many "
		    "unauthenticated connections", addr);
		(void)close(s);
		return;
	}
	if (sock_nonblock(s) == -1) {
		(void)close(s);
		return;
	}
	sock_tcp_tune(s);
	if (hs_new(s, NULL, addr) == NULL) {
		log_warn("connection from %s", addr);
		(void)close(s);
	}
}

static void
dial_timeout(void *arg)
{
	struct peer	*p = arg;

	if (p->dialfd == -1) {
		dial(p);
		return;
	}
	loop_fd_del(p->dialfd);
	(void)close(p->dialfd);
	p->dialfd = -1;
	log_debug("node %u (%s): connect timed out", p->id, p->addr);
	redial(p);
}

static void
dial_done(int fd, short ev, void *arg)
{
	struct peer	*p = arg;
	struct frame	 f;
	struct hs	*h;

	(void)ev;
	timer_stop(&p->dialt);
	loop_fd_del(fd);
	p->dialfd = -1;
	if (sock_connected(fd) == -1) {
		log_debug("node %u (%s): connect: %s", p->id, p->addr,
		    strerror(errno));
		(void)close(fd);
		redial(p);
		return;
	}
	if ((h = hs_new(fd, p, p->addr)) == NULL) {
		log_warn("node %u (%s)", p->id, p->addr);
		(void)close(fd);
		redial(p);
		return;
	}
	if (auth_client_hello(h->auth, &f) == -1)
		conn_close(h->conn, "cannot build hello");
	else
		(void)conn_send_plain(h->conn, &f);
}

/* The lower id dials, so each pair has one connection. */
static void
dial(struct peer *p)
{
	int	 fd;

	if (p->id < D->self || p->conn != NULL || p->dialfd != -1 ||
	    D->exiting)
		return;
	if ((fd = sock_tcp_connect((struct sockaddr *)&p->sa, p->salen)) ==
	    -1) {
		log_debug("node %u (%s): connect: %s", p->id, p->addr,
		    strerror(errno));
		redial(p);
		return;
	}
	if (loop_fd_add(fd, POLLOUT, dial_done, p) == -1) {
		(void)close(fd);
		redial(p);
		return;
	}
	p->dialfd = fd;
	timer_in(&p->dialt, (uint64_t)D->conf.fail_ms);
}

/* Try again after heartbeat_ms, backing off to fail_ms. */
static void
redial(struct peer *p)
{
	if (p->id < D->self || D->exiting)
		return;
	if (p->backoff == 0)
		p->backoff = (uint64_t)D->conf.heartbeat_ms;
	else if (p->backoff < (uint64_t)D->conf.fail_ms)
		p->backoff *= 2;
	if (p->backoff > (uint64_t)D->conf.fail_ms)
		p->backoff = (uint64_t)D->conf.fail_ms;
	timer_in(&p->dialt, p->backoff);
}

/*
 * Every heartbeat_ms: drop peers silent for fail_ms, send the heartbeat
 * to the rest.
 */
void
peer_heartbeat(void)
{
	struct peer	*p;
	struct frame	 f;
	uint64_t	 now = loop_now();
	uint32_t	 id;
	char		 why[64];

	frame_init(&f, "hb", ++D->hbseq);
	view_hb_fields(&f);
	for (id = 1; id <= NODEID_MAX; id++) {
		if ((p = D->peers[id]) == NULL || p->conn == NULL)
			continue;
		if (now - p->last_heard > (uint64_t)D->conf.fail_ms) {
			(void)snprintf(why, sizeof(why), "no heartbeat for "
			    "%llu ms", (unsigned long long)(now -
			    p->last_heard));
			conn_close(p->conn, why);
			continue;
		}
		(void)peer_send(p, &f);
	}
	D->hb_dirty = 0;
}

int
peer_init(void)
{
	const struct cl_node	*n;
	struct peer		*p;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 i, rc;

	for (i = 0; i < D->conf.nnodes; i++) {
		n = &D->conf.nodes[i];
		if ((rc = sock_resolve(n->host, n->port, &ss, &len)) != 0) {
			log_warnx("node %u: %s: %s", n->id, n->host,
			    gai_strerror(rc));
			return -1;
		}
		if (n->id == D->self) {
			if ((D->tcpfd = sock_tcp_listen((struct sockaddr *)&ss,
			    len)) == -1) {
				log_warn("listen on %s:%s", n->host, n->port);
				return -1;
			}
			continue;
		}
		if ((p = calloc(1, sizeof(*p))) == NULL)
			return -1;
		p->cn = n;
		p->id = n->id;
		memcpy(&p->sa, &ss, len);
		p->salen = len;
		sock_addrstr((struct sockaddr *)&ss, p->addr, sizeof(p->addr));
		p->dialfd = -1;
		p->reach = REACH_DOWN;
		p->reach_since = loop_now();
		timer_setup(&p->dialt, dial_timeout, p);
		D->peers[n->id] = p;
	}
	if (loop_fd_add(D->tcpfd, POLLIN, accept_peer, NULL) == -1)
		return -1;
	for (i = 1; i <= NODEID_MAX; i++)
		if (D->peers[i] != NULL)
			dial(D->peers[i]);
	return 0;
}

/* Before exit: give queued frames (a commit, a last heartbeat) a chance. */
void
peer_flush_all(void)
{
	struct pollfd	 pfd;
	struct peer	*p;
	uint64_t	 deadline = clock_ms() + 200;
	uint32_t	 id;
	ssize_t		 n;
	int		 left;

	do {
		left = 0;
		for (id = 1; id <= NODEID_MAX; id++) {
			if ((p = D->peers[id]) == NULL || p->conn == NULL ||
			    buf_avail(&p->conn->out) == 0)
				continue;
			n = write(p->conn->fd, buf_ptr(&p->conn->out),
			    buf_avail(&p->conn->out));
			if (n > 0)
				buf_consume(&p->conn->out, (size_t)n);
			if (buf_avail(&p->conn->out) > 0) {
				left = 1;
				pfd.fd = p->conn->fd;
				pfd.events = POLLOUT;
				(void)poll(&pfd, 1, 10);
			}
		}
	} while (left && clock_ms() < deadline);
}

void
peer_shutdown(void)
{
	struct peer	*p;
	uint32_t	 id;

	peer_flush_all();
	for (id = 1; id <= NODEID_MAX; id++) {
		if ((p = D->peers[id]) == NULL)
			continue;
		timer_stop(&p->dialt);
		if (p->conn != NULL) {
			p->conn->on_close = NULL;
			conn_close(p->conn, "shutting down");
			auth_free(p->auth);
			free(p->auth);
		}
		if (p->dialfd != -1)
			(void)close(p->dialfd);
		free(p);
		D->peers[id] = NULL;
	}
}
