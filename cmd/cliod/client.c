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
 * Local clients on RUNDIR/cliod.sock, and requests from other nodes'
 * cliods (seed 002 L386: command receipt, each I/O tagged with its
 * source).  The socket is open to every local user (mode 0666): the
 * caller's uid and gid come from the kernel (SO_PEERCRED), replace
 * whatever the client wrote, and clmetad checks access with them.
 * Requests are pipelined: answers go out as each finishes, matched by
 * txid.  A client with too many bytes or requests in flight is not read
 * until some finish.
 */

#define _GNU_SOURCE	/* struct ucred */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "cliod.h"
#include "log.h"
#include "sock.h"

#define DIRECT_MIN	(64 * 1024)	/* bytes: answers sent with writev */

struct client {
	TAILQ_ENTRY(client) entry;
	struct conn	*conn;		/* NULL once closed */
	uid_t		 uid;
	gid_t		 gid;
	pid_t		 pid;
	char		 groups[WIRE_VAL_MAX];
	size_t		 inflight;	/* bytes */
	int		 nreqs;
	struct reqq	 parked;	/* read but not started: over a bound */
	struct reqq	 piped;		/* answers waiting in pipes, in order */
	struct buf	 held;		/* answers while a piped one is part out */
	int		 wfd;		/* the socket again: POLLOUT for piped */
	size_t		 parkedbytes;
	int		 refs;
	uint64_t	 id;		/* for redirects: which client */
};

static int	 piping(const struct client *);

static TAILQ_HEAD(, client) clients = TAILQ_HEAD_INITIALIZER(clients);
static int		 nclients;
static int		 lfd = -1;
static char		 sockpath[PATH_MAX];
static size_t		 global_inflight;
static struct timer	 resumet;
static uint64_t		 nextid;

int
client_count(void)
{
	return nclients;
}

struct req *
req_new(void)
{
	struct req	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->started = loop_now();
	r->pipe[0] = r->pipe[1] = -1;
	timer_setup(&r->t, NULL, NULL);
	return r;
}

static void
client_unref(struct client *cl)
{
	if (--cl->refs == 0)
		free(cl);
}

static int
over(const struct client *cl, size_t cost)
{
	return cl->nreqs >= CONN_REQS_MAX ||
	    (cl->inflight > 0 && cl->inflight + cost +
	    conn_queued(cl->conn) > CONN_INFLIGHT_MAX) ||
	    (global_inflight > 0 && global_inflight + cost >
	    GLOBAL_INFLIGHT_MAX);
}

/* Stop reading the client; conn re-enables reading when it flushes. */
static void
pause_client(struct client *cl)
{
	loop_fd_events(cl->conn->fd, conn_queued(cl->conn) > 0 ? POLLOUT : 0);
}

void
req_done(struct req *r)
{
	struct stats	*t = stats_total();

	dm_after(r);
	util_done(r);
	if (r->v != NULL) {
		r->v->st.inflight--;
		if (r->err != 0)
			r->v->st.errors++;
	}
	t->inflight--;
	if (r->in != NULL)
		mc_put(r->in);
	if (r->cl != NULL) {
		r->cl->inflight -= r->cost;
		r->cl->nreqs--;
		global_inflight -= r->cost;
		if (!TAILQ_EMPTY(&r->cl->parked) && !resumet.armed)
			timer_in(&resumet, 0);
		client_unref(r->cl);
	}
	timer_stop(&r->t);
	read_pipe_put(r);
	free(r->fwd);
	free(r->data);
	free(r->rctx);
	free(r);
}

/* Queue the bytes of a frame the socket did not take: 0 or -1. */
static int
queue_rest(struct client *cl, const struct buf *h, const struct frame *f,
    size_t sent)
{
	struct conn	*c = cl->conn;
	size_t		 hl = buf_avail(h);

	if (sent < hl && buf_append(&c->out, buf_ptr(h) + sent, hl - sent) ==
	    -1)
		return -1;
	if (buf_append(&c->out, f->payload + (sent > hl ? sent - hl : 0),
	    f->len - (sent > hl ? sent - hl : 0)) == -1)
		return -1;
	loop_fd_events(c->fd, TAILQ_EMPTY(&cl->parked) && !exiting ?
	    POLLIN | POLLOUT : POLLOUT);
	return 0;
}

/*
 * A large answer with nothing queued before it goes out in one writev
 * from the request's own buffer, not copied into the connection's queue
 * first; what the socket does not take now is queued as usual.
 */
static int
send_answer(struct client *cl, const struct frame *f)
{
	struct conn	*c = cl->conn;
	struct iovec	 iov[2];
	struct buf	 h;
	ssize_t		 n;
	int		 rc = 0;

	if (piping(cl)) {
		if (wire_encode(&cl->held, f) == -1) {
			conn_close(c, "output queue full");
			return -1;
		}
		c->frames_out++;
		return 0;
	}
	if (f->len < DIRECT_MIN || c->auth != NULL || c->dead ||
	    c->draining || conn_queued(c) > 0)
		return conn_send(c, f);
	buf_init(&h, WIRE_HDR_MAX);
	if (wire_encode_head(&h, f) == -1 ||
	    buf_printf(&h, "len=%zu\n\n", f->len) == -1) {
		buf_free(&h);
		return conn_send(c, f);
	}
	iov[0].iov_base = buf_ptr(&h);
	iov[0].iov_len = buf_avail(&h);
	iov[1].iov_base = (void *)(uintptr_t)f->payload;
	iov[1].iov_len = f->len;
	while ((n = writev(c->fd, iov, 2)) == -1 && errno == EINTR)
		;
	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK) {
		conn_close(c, strerror(errno));
		rc = -1;
	} else {
		c->frames_out++;
		if ((size_t)(n == -1 ? 0 : n) < iov[0].iov_len + f->len &&
		    queue_rest(cl, &h, f, n == -1 ? 0 : (size_t)n) == -1) {
			conn_close(c, "output queue full");
			rc = -1;
		}
	}
	buf_free(&h);
	return rc;
}

/* The first piped answer is part out: nothing else may be written. */
static int
piping(const struct client *cl)
{
	const struct req *r = TAILQ_FIRST(&cl->piped);

	return r != NULL && (r->hsent > 0 || r->left < r->datalen);
}

/* Queue encoded answers in c->out, to be written after what is there. */
static int
queue_out(struct client *cl, const void *p, size_t n)
{
	struct conn	*c = cl->conn;

	if (buf_append(&c->out, p, n) == -1)
		return -1;
	loop_fd_events(c->fd, TAILQ_EMPTY(&cl->parked) && !exiting ?
	    POLLIN | POLLOUT : POLLOUT);
	return 0;
}

/*
 * Send the piped answers, oldest first, each once the connection's own
 * queue is empty: its header, then its pipe spliced to the socket (page
 * references, no copy).  What the socket does not take waits in the
 * pipe for POLLOUT on wfd; answers made meanwhile wait in held.
 */
static void
pump(struct client *cl)
{
	struct conn	*c = cl->conn;
	struct req	*r;
	ssize_t		 n;

	while (c != NULL && (r = TAILQ_FIRST(&cl->piped)) != NULL) {
		if (!piping(cl) && conn_queued(c) > 0)
			goto wait;
		while (r->hsent < r->hlen) {
			n = write(c->fd, r->data + r->hsent, r->hlen - r->hsent);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
				goto wait;
			if (n == -1)
				goto fail;
			r->hsent += (size_t)n;
		}
		while (r->left > 0) {
			n = splice(r->pipe[0], NULL, c->fd, NULL, r->left,
			    SPLICE_F_NONBLOCK);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
				goto wait;
			if (n <= 0) {
				if (n == 0)
					errno = EIO;
				goto fail;
			}
			r->left -= (size_t)n;
		}
		TAILQ_REMOVE(&cl->piped, r, entry);
		c->frames_out++;
		req_done(r);
		if (buf_avail(&cl->held) > 0) {
			if (queue_out(cl, buf_ptr(&cl->held),
			    buf_avail(&cl->held)) == -1) {
				errno = ENOBUFS;
				goto fail;
			}
			buf_consume(&cl->held, buf_avail(&cl->held));
		}
	}
	if (cl->wfd != -1)
		loop_fd_events(cl->wfd, 0);
	return;
wait:
	loop_fd_events(cl->wfd, POLLOUT);
	return;
fail:
	conn_close(c, strerror(errno));
}

static void
writable(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	pump(arg);
}

/* Move n bytes from a pipe to the end of b: 0, or -1 and errno. */
static int
drain(int pfd, struct buf *b, size_t n)
{
	ssize_t	 got;

	if (buf_reserve(b, n) == -1)
		return -1;
	while (n > 0) {
		if ((got = read(pfd, b->data + b->len, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (got == 0) {
			errno = EIO;
			return -1;
		}
		b->len += (size_t)got;
		n -= (size_t)got;
	}
	return 0;
}

/* req_answer for a payload in r's pipe. */
void
req_answer_pipe(struct req *r, struct frame *f)
{
	struct client	*cl = r->cl;
	struct conn	*c;
	struct buf	 h;

	f->txid = r->txid;
	if (cl == NULL || (c = cl->conn) == NULL || c->dead) {
		req_done(r);
		return;
	}
	buf_init(&h, WIRE_HDR_MAX);
	if (wire_encode_head(&h, f) == -1 ||
	    buf_printf(&h, "len=%zu\n\n", f->len) == -1) {
		buf_free(&h);
		conn_close(c, "cannot encode an answer");
		req_done(r);
		return;
	}
	if (c->auth != NULL || c->draining || cl->wfd == -1) {
		/* Copied into the queue, as any other answer. */
		if (piping(cl)) {
			if (buf_append(&cl->held, buf_ptr(&h), buf_avail(&h)) ==
			    -1 || drain(r->pipe[0], &cl->held, f->len) == -1)
				conn_close(c, "output queue full");
		} else if (buf_append(&c->out, buf_ptr(&h), buf_avail(&h)) ==
		    -1 || drain(r->pipe[0], &c->out, f->len) == -1)
			conn_close(c, "output queue full");
		else
			c->frames_out++;
		if (c->dead == 0 && !piping(cl))
			loop_fd_events(c->fd, POLLIN | POLLOUT);
		buf_free(&h);
		req_done(r);
		return;
	}
	/* The header moves to r->data, free for a piped read. */
	r->hlen = buf_avail(&h);
	r->hsent = 0;
	r->left = f->len;
	if ((r->data = malloc(r->hlen)) == NULL) {
		buf_free(&h);
		conn_close(c, "out of memory");
		req_done(r);
		return;
	}
	memcpy(r->data, buf_ptr(&h), r->hlen);
	buf_free(&h);
	TAILQ_INSERT_TAIL(&cl->piped, r, entry);
	pump(cl);
}

/* Answer r with f (its txid is set here) and be done with it. */
void
req_answer(struct req *r, struct frame *f)
{
	f->txid = r->txid;
	if (r->cl != NULL) {
		if (r->cl->conn != NULL && send_answer(r->cl, f) == -1 &&
		    r->cl->conn != NULL)
			conn_close(r->cl->conn, "output queue full");
	} else if (frame_add(f, "to", "%s", r->from) == -1 ||
	    frame_add(f, "re", "1") == -1 || meta_send(f) == -1)
		log_warnx("cannot answer %s to %s", r->op, r->from);
	req_done(r);
}

void
req_fail(struct req *r, int e, const char *fmt, ...)
{
	struct frame	 f;
	va_list		 ap;
	char		 why[512];

	va_start(ap, fmt);
	(void)vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	r->err = e;
	(void)fs_error(&f, r->txid, e, "%s", why);
	req_answer(r, &f);
}

/* The caller's identity, for clmetad's access checks. */
void
req_add_ids(const struct req *r, struct frame *f)
{
	frame_add(f, "uid", "%u", r->uid);
	frame_add(f, "gid", "%u", r->gid);
	if (r->groups[0] != '\0')
		frame_add(f, "groups", "%s", r->groups);
}

/* Keys a client may not set: its identity, and the router's. */
static int
dropped_key(const char *k)
{
	static const char *keys[] = { "uid", "gid", "groups", "to", "from",
	    "orig", "re", "resp", "rcpt", "rcpt_max", "self", NULL };
	int	 i;

	for (i = 0; keys[i] != NULL; i++)
		if (strcmp(k, keys[i]) == 0)
			return 1;
	return 0;
}

static int
getu32(const struct frame *f, const char *k, uint32_t *v)
{
	uint64_t	 n;

	if (frame_getu64(f, k, &n) == -1 || n > UINT32_MAX)
		return -1;
	*v = (uint32_t)n;
	return 0;
}

static void
forwarded(void *arg, int err, const struct frame *resp)
{
	struct req	*r = arg;
	struct frame	 f;
	uint32_t	 ino;
	int		 i;

	if (err != 0) {
		req_fail(r, err, "%s: clmetad.%s: %s", r->op, r->v->name,
		    strerror(err));
		return;
	}
	frame_init(&f, resp->op, r->txid);
	for (i = 0; i < resp->nkv; i++)
		if (!dropped_key(resp->kv[i].key) ||
		    strcmp(resp->kv[i].key, "uid") == 0 ||
		    strcmp(resp->kv[i].key, "gid") == 0)
			frame_add(&f, resp->kv[i].key, "%s", resp->kv[i].val);
	frame_payload(&f, resp->payload, resp->len);
	if (f.err) {
		req_fail(r, EIO, "%s: an answer too large to pass on", r->op);
		return;
	}
	if (getu32(resp, "destroyed", &ino) == 0)
		r->destroyed = ino;
	if (fs_answer_errno(resp) != 0)
		r->err = fs_answer_errno(resp);
	else if ((strcmp(r->op, "setattr") == 0 ||
	    strcmp(r->op, "create") == 0 || strcmp(r->op, "region") == 0 ||
	    strcmp(r->op, "punch") == 0) && getu32(resp, "ino", &ino) == 0)
		mc_recall(r->v, ino);	/* the size may have changed */
	req_answer(r, &f);
}

/* Namespace requests go to clmetad as they are, with the caller's ids. */
static int
prepare_forward(struct req *r, const struct frame *f)
{
	int	 i;

	if ((r->fwd = malloc(sizeof(*r->fwd))) == NULL)
		return ENOMEM;
	frame_init(r->fwd, f->op, 0);
	for (i = 0; i < f->nkv; i++)
		if (!dropped_key(f->kv[i].key))
			frame_add(r->fwd, f->kv[i].key, "%s", f->kv[i].val);
	req_add_ids(r, r->fwd);
	if (f->len > 0) {
		if ((r->data = malloc(f->len)) == NULL)
			return ENOMEM;
		memcpy(r->data, f->payload, f->len);
		r->datalen = f->len;
	}
	frame_payload(r->fwd, r->data, r->datalen);
	return r->fwd->err ? EINVAL : 0;
}

static int
is_meta(const char *op)
{
	static const char *ops[] = { "stat", "create", "mkdir", "unlink",
	    "rmdir", "rename", "readdir", "setattr", "statfs", "region",
	    "punch", "right", NULL };
	int	 i;

	for (i = 0; ops[i] != NULL; i++)
		if (strcmp(op, ops[i]) == 0)
			return 1;
	return 0;
}

static void	 go(struct req *);

static void
start(struct req *r)
{
	struct stats	*t = stats_total();

	t->inflight++;
	if (r->v != NULL)
		r->v->st.inflight++;
	if (strcmp(r->op, "status") == 0) {
		stats_answer(r);
		return;
	}
	if (strcmp(r->op, "slow") == 0) {
		util_slow(r, r->fwd);
		return;
	}
	/* Over util_high: an aware client's read or write goes elsewhere. */
	if (r->fwd == NULL && util_check(r))
		return;
	/* A DMAPI disposition may hold it for its session's answer. */
	if (dm_hold(r, go))
		return;
	go(r);
}

static void
go(struct req *r)
{
	if (r->fwd != NULL) {
		r->v->st.meta++;
		if (meta_call(r->v, r->fwd, forwarded, r) == -1)
			req_fail(r, ENOMEM, "%s: out of memory", r->op);
		return;
	}
	/* via=N: through node N's cliod, as for a node without the volume. */
	if (!r->v->local || (r->via != 0 && r->via != meta_self())) {
		remote_start(r);
		return;
	}
	if (vol_ready(r->v) == -1) {
		req_fail(r, EIO, "%s: volume %s cannot be opened", r->op,
		    r->v->name);
		return;
	}
	util_serve(r);
}

/*
 * via=N aware=1 client=C (cl-wire(5), FILE SYSTEM): the node whose cliod
 * is to do a read or write (a client's only), whether the client is
 * aware, and for a request another cliod forwards, which of its clients
 * sent it.
 */
static int
parse_lb(struct req *r, const struct frame *f)
{
	const char	*a, *c;
	uint32_t	 via;

	if ((a = frame_get(f, "aware")) != NULL)
		r->aware = strcmp(a, "1") == 0;
	if (r->cl != NULL) {
		(void)snprintf(r->ckey, sizeof(r->ckey), "local/%llu",
		    (unsigned long long)r->cid);
		if (frame_get(f, "via") == NULL)
			return 0;
		if (getu32(f, "via", &via) == -1 || via == 0 ||
		    conf_node(&conf, via) == NULL ||
		    conf_volume_path(&conf, r->v->cv, via) == NULL)
			return EINVAL;
		r->via = via;
		return 0;
	}
	c = frame_get(f, "client");
	(void)snprintf(r->ckey, sizeof(r->ckey), "%.40s/%.20s", r->from,
	    c != NULL ? c : "-");
	return 0;
}

/*
 * Fill r from f: 0, or the errno to answer.  maxio bounds read and write
 * lengths (FS_IO_MAX from clients, one chunk from the mesh).
 */
static int
parse(struct req *r, const struct frame *f, size_t maxio)
{
	const char	*fs;

	r->txid = f->txid;
	(void)strlcpy(r->op, f->op, sizeof(r->op));
	if (strcmp(f->op, "status") == 0) {
		if ((fs = frame_get(f, "fs")) != NULL &&
		    (r->v = vol_find(fs)) == NULL)
			return ENOENT;
		return 0;
	}
	if (strcmp(f->op, "slow") == 0) {
		/* util_slow reads its keys from the frame, kept here. */
		if (r->cl == NULL)
			return EPERM;
		if ((r->fwd = malloc(sizeof(*r->fwd))) == NULL)
			return ENOMEM;
		frame_init(r->fwd, f->op, 0);
		if (frame_get(f, "delay_ms") != NULL)
			frame_add(r->fwd, "delay_ms", "%s",
			    frame_get(f, "delay_ms"));
		return 0;
	}
	if (strcmp(f->op, "map") == 0 || strcmp(f->op, "commit") == 0 ||
	    strcmp(f->op, "release") == 0 || strcmp(f->op, "recall") == 0)
		return EPERM;	/* block lists are cliod's, not a client's */
	if (!is_meta(f->op) && strcmp(f->op, "read") != 0 &&
	    strcmp(f->op, "write") != 0)
		return ENOSYS;
	if ((fs = frame_get(f, "fs")) == NULL)
		return EINVAL;
	if ((r->v = vol_find(fs)) == NULL)
		return ENOENT;
	if (is_meta(f->op))
		return prepare_forward(r, f);
	if (getu32(f, "ino", &r->ino) == -1 || getu32(f, "gen", &r->gen) ==
	    -1 || frame_getu64(f, "off", &r->off) == -1 ||
	    r->off > INT64_MAX - FS_IO_MAX)
		return EINVAL;
	if (parse_lb(r, f) != 0)
		return EINVAL;
	/*
	 * token=: a DM application's invisible I/O (XDSM dm_read_invis):
	 * no events, and through the access right its token holds.  DMAPI
	 * is for root only.
	 */
	if (frame_get(f, "token") != NULL) {
		if (r->uid != 0)
			return EPERM;
		if (strlcpy(r->token, frame_get(f, "token"),
		    sizeof(r->token)) >= sizeof(r->token))
			return EINVAL;
	}
	if (strcmp(f->op, "read") == 0) {
		if (frame_getu64(f, "count", &r->len) == -1)
			return EINVAL;
		if (r->len > maxio)
			return EFBIG;
		r->cost = r->len;
		return 0;
	}
	if (f->len > maxio)
		return EFBIG;
	r->len = f->len;
	if (f->len > 0) {
		if ((r->data = malloc(f->len)) == NULL)
			return ENOMEM;
		memcpy(r->data, f->payload, f->len);
	}
	r->datalen = r->cost = f->len;
	return 0;
}

/* Start what waited, while the bounds allow. */
static void
resume(void *arg)
{
	struct client	*cl, *next;
	struct req	*r;

	(void)arg;
	TAILQ_FOREACH_SAFE(cl, &clients, entry, next) {
		while ((r = TAILQ_FIRST(&cl->parked)) != NULL &&
		    !over(cl, r->cost)) {
			TAILQ_REMOVE(&cl->parked, r, entry);
			cl->parkedbytes -= r->cost;
			cl->inflight += r->cost;
			global_inflight += r->cost;
			cl->nreqs++;
			start(r);
		}
		if (TAILQ_EMPTY(&cl->parked) && cl->conn != NULL && !exiting)
			loop_fd_events(cl->conn->fd, conn_queued(cl->conn) >
			    0 ? POLLIN | POLLOUT : POLLIN);
	}
}

static int
client_frame(struct conn *c, struct frame *f, void *arg)
{
	struct client	*cl = arg;
	struct req	*r;
	int		 e;

	if ((r = req_new()) == NULL) {
		conn_close(c, "out of memory");
		return -1;
	}
	r->cl = cl;
	r->cid = cl->id;
	cl->refs++;
	r->uid = cl->uid;
	r->gid = cl->gid;
	(void)strlcpy(r->groups, cl->groups, sizeof(r->groups));
	if ((e = parse(r, f, FS_IO_MAX)) != 0) {
		r->v = NULL;
		cl->nreqs++;
		stats_total()->inflight++;
		req_fail(r, e, "%s: %s", f->op, strerror(e));
		return 0;
	}
	if (exiting || !TAILQ_EMPTY(&cl->parked) || over(cl, r->cost)) {
		TAILQ_INSERT_TAIL(&cl->parked, r, entry);
		cl->parkedbytes += r->cost;
		pause_client(cl);
		if (cl->parkedbytes > CONN_PARKED_MAX) {
			conn_close(c, "too many requests queued");
			return -1;
		}
		return 0;
	}
	cl->inflight += r->cost;
	global_inflight += r->cost;
	cl->nreqs++;
	start(r);
	return 0;
}

static void
client_closed(struct conn *c, const char *why, void *arg)
{
	struct client	*cl = arg;
	struct req	*r;

	(void)c;
	log_debug("client %s: %s", cl->conn->name, why);
	cl->conn = NULL;
	while ((r = TAILQ_FIRST(&cl->parked)) != NULL) {
		TAILQ_REMOVE(&cl->parked, r, entry);
		free(r->fwd);
		free(r->data);
		free(r);
		cl->refs--;
	}
	cl->parkedbytes = 0;
	while ((r = TAILQ_FIRST(&cl->piped)) != NULL) {
		TAILQ_REMOVE(&cl->piped, r, entry);
		req_done(r);
	}
	buf_free(&cl->held);
	if (cl->wfd != -1) {
		loop_fd_del(cl->wfd);
		(void)close(cl->wfd);
		cl->wfd = -1;
	}
	TAILQ_REMOVE(&clients, cl, entry);
	nclients--;
	client_unref(cl);
}

/* Supplementary groups, from /proc: SO_PEERCRED has only the primary. */
static void
peer_groups(pid_t pid, char *out, size_t n)
{
	FILE	*fp;
	char	 path[64], line[1024], *tok, *save;
	size_t	 len = 0;

	out[0] = '\0';
	(void)snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if (pid <= 0 || (fp = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		for (tok = strtok_r(line + 7, " \t\n", &save); tok != NULL;
		    tok = strtok_r(NULL, " \t\n", &save)) {
			if (len + strlen(tok) + 2 >= n)
				break;
			len += (size_t)snprintf(out + len, n - len, "%s%s",
			    len > 0 ? "," : "", tok);
		}
		break;
	}
	(void)fclose(fp);
}

static void
credentials(int fd, struct client *cl)
{
#ifdef SO_PEERCRED
	struct ucred	 uc;
	socklen_t	 len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0) {
		cl->uid = uc.uid;
		cl->gid = uc.gid;
		cl->pid = uc.pid;
		peer_groups(cl->pid, cl->groups, sizeof(cl->groups));
		return;
	}
#endif
	if (sock_peercred(fd, &cl->uid, &cl->gid) == -1) {
		/* Nobody: clmetad grants what "other" may do, no more. */
		cl->uid = (uid_t)65534;
		cl->gid = (gid_t)65534;
	}
}

/*
 * Socket buffers that hold a few 1 MiB frames: fewer wakeups, and the
 * connection's own buffers rarely hold (and move down) megabytes.  The
 * kernel caps the sizes (net.core.wmem_max); a refusal is harmless.
 */
static void
tune(int s)
{
	int	 n = SOCK_BUF;

	(void)setsockopt(s, SOL_SOCKET, SO_SNDBUF, &n, sizeof(n));
	(void)setsockopt(s, SOL_SOCKET, SO_RCVBUF, &n, sizeof(n));
}

static void
accept_client(int fd, short ev, void *arg)
{
	struct client	*cl;
	int		 s;

	(void)ev;
	(void)arg;
	if ((s = accept(fd, NULL, NULL)) == -1) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("accept on %s", sockpath);
		return;
	}
	if (nclients >= CLIENTS_MAX || sock_nonblock(s) == -1 ||
	    (cl = calloc(1, sizeof(*cl))) == NULL) {
		log_warnx("client refused: %d clients", nclients);
		(void)close(s);
		return;
	}
	credentials(s, cl);
	tune(s);
	TAILQ_INIT(&cl->parked);
	TAILQ_INIT(&cl->piped);
	buf_init(&cl->held, 2 * CONN_INFLIGHT_MAX + FS_IO_MAX);
	/* Without it, piped answers are copied like any other. */
	if ((cl->wfd = fcntl(s, F_DUPFD_CLOEXEC, 0)) != -1 &&
	    loop_fd_add(cl->wfd, 0, writable, cl) == -1) {
		(void)close(cl->wfd);
		cl->wfd = -1;
	}
	cl->conn = conn_new(s, FS_IO_MAX, 2 * CONN_INFLIGHT_MAX + FS_IO_MAX,
	    client_frame, client_closed, cl);
	if (cl->conn == NULL) {
		log_warn("client");
		if (cl->wfd != -1) {
			loop_fd_del(cl->wfd);
			(void)close(cl->wfd);
		}
		buf_free(&cl->held);
		(void)close(s);
		free(cl);
		return;
	}
	cl->refs = 1;
	cl->id = ++nextid;
	(void)snprintf(cl->conn->name, sizeof(cl->conn->name),
	    "uid %ld pid %ld", (long)cl->uid, (long)cl->pid);
	TAILQ_INSERT_TAIL(&clients, cl, entry);
	nclients++;
}

/* A read or write from another node's cliod, or a recall from clmetad. */
void
req_mesh(const struct frame *f)
{
	struct req	*r;
	const char	*from, *fs;
	struct fsvol	*v;
	uint32_t	 ino;
	int		 e;

	if (strcmp(f->op, "recall") == 0) {
		if ((fs = frame_get(f, "fs")) != NULL &&
		    (v = vol_find(fs)) != NULL && getu32(f, "ino", &ino) == 0)
			mc_recall(v, ino);
		return;
	}
	if ((from = frame_get(f, "orig")) == NULL &&
	    (from = frame_get(f, "from")) == NULL)
		return;
	if ((r = req_new()) == NULL)
		return;
	(void)strlcpy(r->from, from, sizeof(r->from));
	stats_total()->inflight++;
	/* The mesh is authenticated: its uid and gid are the caller's. */
	if (getu32(f, "uid", &r->uid) == -1 || getu32(f, "gid", &r->gid) == -1)
		r->uid = r->gid = 65534;
	if (frame_get(f, "groups") != NULL)
		(void)strlcpy(r->groups, frame_get(f, "groups"),
		    sizeof(r->groups));
	e = parse(r, f, MSG_PAYLOAD_MAX);
	if (e == 0 && r->fwd != NULL)
		e = EPERM;	/* namespace requests go to clmetad */
	if (e == 0 && r->v != NULL && !r->v->local)
		e = EHOSTUNREACH;	/* no forwarding loops */
	if (e != 0) {
		r->v = NULL;
		req_fail(r, e, "%s: %s", f->op, strerror(e));
		return;
	}
	stats_total()->inflight--;
	start(r);
}

int
client_init(void)
{
	if ((size_t)snprintf(sockpath, sizeof(sockpath), "%s/%s", conf.rundir,
	    FS_SOCK) >= sizeof(sockpath)) {
		log_warnx("%s: path too long", conf.rundir);
		return -1;
	}
	/* Anyone may connect: clmetad checks each request's uid and gid. */
	if ((lfd = sock_unix_listen(sockpath, 0666, (gid_t)-1)) == -1) {
		if (errno == EADDRINUSE)
			log_warnx("%s: another cliod is running", sockpath);
		else
			log_warn("%s", sockpath);
		return -1;
	}
	timer_setup(&resumet, resume, NULL);
	return loop_fd_add(lfd, POLLIN, accept_client, NULL);
}

/* SIGTERM: no new clients, no new requests; what runs finishes. */
void
client_shutdown(void)
{
	struct client	*cl;

	if (lfd != -1) {
		loop_fd_del(lfd);
		(void)close(lfd);
		(void)unlink(sockpath);
		lfd = -1;
	}
	TAILQ_FOREACH(cl, &clients, entry)
		if (cl->conn != NULL)
			pause_client(cl);
}
