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
 * The tools' side of a daemon's control socket: blocking, one frame at a
 * time, every wait bounded by a timeout.
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "loop.h"
#include "sock.h"

#define CTL_CHUNK	(64 * 1024)		/* bytes per read(2) */

int
ctl_open(struct ctl *c, const char *rundir, const char *daemon)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if ((size_t)snprintf(c->path, sizeof(c->path), "%s/%s.sock", rundir,
	    daemon) >= sizeof(c->path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	buf_init(&c->in, WIRE_HDR_MAX + WIRE_PAYLOAD_MAX);
	wire_parser_init(&c->wp, WIRE_PAYLOAD_MAX);
	if ((c->fd = sock_unix_connect(c->path)) == -1)
		return -1;
	return 0;
}

int
ctl_send(struct ctl *c, const struct frame *f)
{
	struct buf	 b;
	ssize_t		 n;
	size_t		 off = 0;

	buf_init(&b, WIRE_HDR_MAX + WIRE_PAYLOAD_MAX);
	if (wire_encode(&b, f) == -1) {
		buf_free(&b);
		errno = EMSGSIZE;
		return -1;
	}
	while (off < buf_avail(&b)) {
		n = write(c->fd, buf_ptr(&b) + off, buf_avail(&b) - off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			buf_free(&b);
			return -1;
		}
		off += (size_t)n;
	}
	buf_free(&b);
	return 0;
}

/*
 * The next frame, valid until the next call.  Returns 1, 0 at end of
 * stream, or -1 with errno (ETIMEDOUT after timeout ms; -1 waits until
 * EINTR) or with c->reason set for a malformed frame.  A timeout of 0
 * reads what has arrived, without waiting.
 */
int
ctl_recv(struct ctl *c, struct frame *f, int timeout)
{
	struct pollfd	 pfd;
	enum wire_result r;
	uint64_t	 deadline, now;
	size_t		 want;
	ssize_t		 n;
	int		 wait, polled = 0;

	buf_consume(&c->in, c->last);
	c->last = 0;
	wire_parser_reset(&c->wp);
	deadline = clock_ms() + (uint64_t)(timeout < 0 ? 0 : timeout);
	for (;;) {
		r = wire_parse(&c->wp, buf_ptr(&c->in), buf_avail(&c->in), f);
		if (r == WIRE_FRAME) {
			c->last = wire_framelen(&c->wp);
			return 1;
		}
		if (r == WIRE_ERROR) {
			c->reason = c->wp.reason;
			errno = EPROTO;
			return -1;
		}
		wait = -1;
		if (timeout >= 0) {
			/* Past the deadline, look once more without waiting. */
			if ((now = clock_ms()) >= deadline && polled) {
				errno = ETIMEDOUT;
				return -1;
			}
			wait = now >= deadline ? 0 : (int)(deadline - now);
		}
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		polled = 1;
		if (poll(&pfd, 1, wait) == -1)
			return -1;
		if (pfd.revents == 0)
			continue;
		want = CTL_CHUNK;
		/* A big frame's header is in: ask for all of the rest. */
		if (c->wp.hdrlen > 0 && c->wp.hdrlen + c->wp.len >
		    buf_avail(&c->in) + want)
			want = c->wp.hdrlen + c->wp.len - buf_avail(&c->in);
		if (buf_reserve(&c->in, want) == -1)
			return -1;
		n = read(c->fd, c->in.data + c->in.len, want);
		if (n == 0)
			return 0;
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		c->in.len += (size_t)n;
	}
}

/*
 * ctl_recv, for a program whose signal handlers must not cut its waits
 * short (SIGCHLD in cllaunch): a signal in poll(2) waits on, for what is
 * left of the timeout; what was read stays in the buffer.
 */
int
ctl_wait(struct ctl *c, struct frame *f, int timeout)
{
	uint64_t	 end = clock_ms() + (uint64_t)(timeout < 0 ? 0 : timeout);
	uint64_t	 now;
	int		 rc;

	for (;;) {
		rc = ctl_recv(c, f, timeout);
		if (rc != -1 || errno != EINTR)
			return rc;
		if (timeout > 0) {
			now = clock_ms();
			timeout = now >= end ? 0 : (int)(end - now);
		}
	}
}

void
ctl_close(struct ctl *c)
{
	if (c->fd != -1)
		(void)close(c->fd);
	c->fd = -1;
	buf_free(&c->in);
}
