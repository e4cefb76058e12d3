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
 * A non-blocking framed stream: reads into a bounded buffer, hands each
 * whole frame to its owner, queues writes in a bounded buffer and writes
 * through when it can.  A malformed frame, a failed MAC, a full output
 * queue or a frame left half-sent for too long ends the connection, with
 * a reason the owner logs.  Nothing here can block or grow without bound.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"

static struct frame	 scratch;	/* the frame being handed over */
static TAILQ_HEAD(, conn) dirty = TAILQ_HEAD_INITIALIZER(dirty);

#define FLUSH_NOW	(64 * 1024)	/* bytes: write without waiting */

static void	 conn_io(int, short, void *);
static void	 conn_stalled(void *);
static void	 write_out(struct conn *);

static void
undirty(struct conn *c)
{
	if (c->queued) {
		TAILQ_REMOVE(&dirty, c, dirty);
		c->queued = 0;
	}
}

/*
 * Before the loop waits: write what every connection queued during the
 * turn.  A burst of frames to one peer goes out in one write.
 */
static void
flush_dirty(void)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&dirty)) != NULL) {
		undirty(c);
		if (!c->dead)
			write_out(c);
	}
}

struct conn *
conn_new(int fd, size_t maxpayload, size_t outmax, conn_frame_cb on_frame,
    conn_close_cb on_close, void *arg)
{
	struct conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	loop_prepare(flush_dirty);
	c->fd = fd;
	buf_init(&c->in, WIRE_HDR_MAX + maxpayload);
	buf_init(&c->out, outmax);
	wire_parser_init(&c->wp, maxpayload);
	c->on_frame = on_frame;
	c->on_close = on_close;
	c->arg = arg;
	c->stall_ms = 10 * 1000;
	timer_setup(&c->stall, conn_stalled, c);
	(void)strlcpy(c->name, "?", sizeof(c->name));
	if (loop_fd_add(fd, POLLIN, conn_io, c) == -1) {
		free(c);
		return NULL;
	}
	return c;
}

void
conn_set_auth(struct conn *c, struct auth *a)
{
	c->auth = a;
}

/*
 * The largest payload a frame may carry.  On an encrypted connection a
 * frame travels whole inside a sealed frame, so the sealed frame's own
 * limit is the inner frame's largest header and payload plus the tag.
 * Call after conn_set_auth.
 */
void
conn_set_maxpayload(struct conn *c, size_t n)
{
	if (c->auth != NULL && c->auth->conf->encrypt)
		n += AUTH_SEAL_OVERHEAD;
	c->wp.maxpayload = n;
	c->in.max = WIRE_HDR_MAX + n;
}

void
conn_set_stall(struct conn *c, uint64_t ms)
{
	c->stall_ms = ms;
}

size_t
conn_queued(const struct conn *c)
{
	return buf_avail(&c->out);
}

static void
conn_free(struct conn *c)
{
	undirty(c);
	timer_stop(&c->stall);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

void
conn_close(struct conn *c, const char *why)
{
	if (c->dead)
		return;
	/* why may live in what on_close frees (the auth's error). */
	if (why != c->why)
		(void)strlcpy(c->why, why, sizeof(c->why));
	c->dead = 1;
	timer_stop(&c->stall);
	loop_fd_del(c->fd);
	(void)close(c->fd);
	c->fd = -1;
	if (c->on_close != NULL)
		c->on_close(c, c->why, c->arg);
	if (!c->busy)
		conn_free(c);
}

static void
conn_stalled(void *arg)
{
	struct conn	*c = arg;

	conn_close(c, c->draining ? c->why : "incomplete frame, peer too slow");
}

static void
want_write(struct conn *c, int on)
{
	loop_fd_events(c->fd, on ? POLLIN | POLLOUT : POLLIN);
}

/* Write what the socket takes now; -1 if the connection failed. */
static int
flush(struct conn *c)
{
	ssize_t	 n;

	while (buf_avail(&c->out) > 0) {
		n = write(c->fd, buf_ptr(&c->out), buf_avail(&c->out));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		buf_consume(&c->out, (size_t)n);
	}
	want_write(c, buf_avail(&c->out) > 0);
	return 0;
}

/* Write what we can; close on error, or once an error reply is out. */
static void
write_out(struct conn *c)
{
	if (flush(c) == -1)
		conn_close(c, strerror(errno));
	else if (c->draining && buf_avail(&c->out) == 0)
		conn_close(c, c->why);
}

static int
sent(struct conn *c, int rc)
{
	if (rc == -1) {
		errno = ENOBUFS;
		return -1;
	}
	c->frames_out++;
	if (buf_avail(&c->out) < FLUSH_NOW) {
		if (!c->queued) {
			TAILQ_INSERT_TAIL(&dirty, c, dirty);
			c->queued = 1;
		}
		return 0;
	}
	if (flush(c) == -1) {
		conn_close(c, strerror(errno));
		errno = EPIPE;
		return -1;
	}
	return 0;
}

/*
 * Queue f, MAC'd or sealed once the handshake is done.  Fails with
 * ENOBUFS when the peer is not reading and the queue is full: the caller
 * decides whether that ends the connection.
 */
int
conn_send(struct conn *c, const struct frame *f)
{
	if (c->dead || c->draining) {
		errno = EPIPE;
		return -1;
	}
	if (c->auth != NULL)
		return sent(c, auth_seal(c->auth, &c->out, f));
	return sent(c, wire_encode(&c->out, f));
}

/* Handshake frames, which go before there are keys. */
int
conn_send_plain(struct conn *c, const struct frame *f)
{
	if (c->dead || c->draining) {
		errno = EPIPE;
		return -1;
	}
	return sent(c, wire_encode(&c->out, f));
}

/*
 * Tell the peer why it is being dropped (DESIGN.md: "CL1 error" with
 * status and reason), then close once that is written.
 */
int
conn_error(struct conn *c, uint64_t txid, const char *status,
    const char *reason)
{
	struct frame	 f;
	int		 rc;

	frame_init(&f, "error", txid);
	frame_add(&f, "status", "%s", status);
	frame_add(&f, "reason", "%s", reason);
	if (c->auth != NULL && c->auth->state != AUTH_OPEN)
		rc = conn_send_plain(c, &f);
	else
		rc = conn_send(c, &f);
	if (rc == -1 || buf_avail(&c->out) == 0) {
		conn_close(c, reason);
		return -1;
	}
	/* The close, when the reply is out, names the fault. */
	(void)snprintf(c->why, sizeof(c->why), "%s: %s", status, reason);
	c->draining = 1;
	timer_in(&c->stall, 1000);
	return 0;
}

/* Hand over every whole frame in the input buffer. */
static void
parse(struct conn *c)
{
	enum wire_result r;
	struct frame	*f = &scratch;
	size_t		 n;

	while (!c->dead && !c->draining && buf_avail(&c->in) > 0) {
		r = wire_parse(&c->wp, buf_ptr(&c->in), buf_avail(&c->in), f);
		if (r == WIRE_MORE)
			break;
		if (r == WIRE_ERROR) {
			(void)conn_error(c, 0, "malformed", c->wp.reason);
			return;
		}
		n = wire_framelen(&c->wp);
		if (c->auth != NULL && c->auth->state == AUTH_OPEN &&
		    auth_open(c->auth, f) == -1) {
			conn_close(c, c->auth->err);
			return;
		}
		c->frames_in++;
		if (c->on_frame(c, f, c->arg) == -1) {
			conn_close(c, "closed by handler");
			return;
		}
		buf_consume(&c->in, n);
		wire_parser_reset(&c->wp);
	}
	if (c->dead || c->draining)
		return;
	if (buf_avail(&c->in) == 0)
		timer_stop(&c->stall);
	else if (!c->stall.armed)
		timer_in(&c->stall, c->stall_ms);
}

static int
fill(struct conn *c)
{
	size_t	 budget = CONN_READ_BUDGET, want;
	ssize_t	 n;

	while (budget > 0) {
		want = CONN_READ_CHUNK;
		if (buf_reserve(&c->in, want) == -1) {
			/*
			 * Near the bound, which one legal frame never passes:
			 * read only up to it, and parse what is there.
			 */
			want = c->in.max - buf_avail(&c->in);
			if (want == 0)
				return 0;
			if (buf_reserve(&c->in, want) == -1) {
				conn_close(c, strerror(errno));
				return -1;
			}
		}
		n = read(c->fd, c->in.data + c->in.len, want);
		if (n == 0) {
			conn_close(c, "connection closed by peer");
			return -1;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			conn_close(c, strerror(errno));
			return -1;
		}
		c->in.len += (size_t)n;
		budget -= (size_t)n < budget ? (size_t)n : budget;
		if ((size_t)n < want)
			return 0;
	}
	return 0;
}

static void
conn_io(int fd, short ev, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	c->busy++;
	if (ev & (POLLOUT | POLLERR | POLLHUP))
		write_out(c);
	if (!c->dead && !c->draining && (ev & (POLLIN | POLLERR | POLLHUP)) &&
	    fill(c) == 0)
		parse(c);
	if (!c->dead && !c->draining && (ev & POLLNVAL))
		conn_close(c, "descriptor invalid");
	c->busy--;
	if (c->dead && c->busy == 0)
		conn_free(c);
}
