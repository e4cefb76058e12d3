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
 * msg_defer (libcl/msg.c): queued sends go out in order, and only when
 * msg_flush is called, the loop's turn ends, the queue passes
 * MSG_DEFER_BYTES, something waits on the connection, or it closes.
 * The "clmemberd" is the other end of a socketpair, read directly.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "ctl.h"
#include "loop.h"
#include "msg.h"
#include "wire.h"
#include "unit.h"

static struct msg	 m;
static struct ctl	 peer;		/* the router's end */
static struct frame	 f;		/* 10 KiB: not on the stack */

/* A registered msg on one end of a socketpair, the other in peer. */
static void
setup(void)
{
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1) {
		perror("socketpair");
		exit(1);
	}
	memset(&m, 0, sizeof(m));
	STAILQ_INIT(&m.kept);
	buf_init(&m.ctl.in, WIRE_HDR_MAX + WIRE_PAYLOAD_MAX);
	wire_parser_init(&m.ctl.wp, WIRE_PAYLOAD_MAX);
	m.ctl.fd = sv[0];
	(void)strlcpy(m.name, "test", sizeof(m.name));
	m.node = 1;
	memset(&peer, 0, sizeof(peer));
	buf_init(&peer.in, WIRE_HDR_MAX + WIRE_PAYLOAD_MAX);
	wire_parser_init(&peer.wp, WIRE_PAYLOAD_MAX);
	peer.fd = sv[1];
	(void)strlcpy(peer.path, "peer", sizeof(peer.path));
}

static void
teardown(void)
{
	msg_close(&m);
	ctl_close(&peer);
}

/* Bytes waiting at the router's end? */
static int
readable(void)
{
	struct pollfd	 pfd;

	/* Read but not returned yet, or still in the socket. */
	if (buf_avail(&peer.in) > peer.last)
		return 1;
	pfd.fd = peer.fd;
	pfd.events = POLLIN;
	return poll(&pfd, 1, 0) == 1;
}

static int
send_n(int n)
{
	struct frame	 s;

	frame_init(&s, "hello", 0);
	frame_add(&s, "to", "2.svc");
	frame_add(&s, "n", "%d", n);
	return msg_send(&m, &s);
}

/* The next frame at the router's end is hello with n=N. */
static int
got_n(int n)
{
	char	 want[16];

	if (ctl_recv(&peer, &f, 1000) != 1 || strcmp(f.op, "hello") != 0 ||
	    frame_get(&f, "n") == NULL)
		return 0;
	(void)snprintf(want, sizeof(want), "%d", n);
	return strcmp(frame_get(&f, "n"), want) == 0;
}

static void
on_stop(void *arg)
{
	(void)arg;
	loop_exit();
}

static void
test_flush(void)
{
	int	 i, ok;

	setup();
	msg_defer(&m);
	ok = 1;
	for (i = 0; i < 3; i++)
		ok &= send_n(i) == 0;
	CHECK(ok, "defer: msg_send queues and says 0");
	CHECK(!readable(), "defer: nothing written before the flush");
	CHECK(msg_flush(&m) == 0, "msg_flush writes the queue");
	ok = 1;
	for (i = 0; i < 3; i++)
		ok &= got_n(i);
	CHECK(ok, "the queued frames arrive whole and in order");
	CHECK(msg_flush(&m) == 0 && !readable(),
	    "msg_flush with nothing queued writes nothing");
	teardown();
}

static void
test_loop(void)
{
	struct timer	 stop;

	setup();
	msg_defer(&m);
	(void)send_n(7);
	CHECK(!readable(), "loop: queued, not yet written");
	timer_setup(&stop, on_stop, NULL);
	timer_in(&stop, 20);
	(void)loop_run();
	CHECK(got_n(7), "loop: written once the turn ends");
	teardown();
}

static void
test_bound(void)
{
	struct frame	 s;
	static char	 pad[900];
	int		 i, n = 0, ok = 1;

	setup();
	msg_defer(&m);
	memset(pad, 'x', sizeof(pad) - 1);
	/* Under MSG_DEFER_BYTES: held; then one frame more writes all. */
	while (!readable() && n < 200) {
		frame_init(&s, "hello", 0);
		frame_add(&s, "to", "2.svc");
		frame_add(&s, "n", "%d", n);
		frame_add(&s, "pad", "%s", pad);
		ok &= msg_send(&m, &s) == 0;
		n++;
	}
	CHECK(ok && readable() && n > MSG_DEFER_BYTES / 1000 &&
	    n <= MSG_DEFER_BYTES / 900 + 1,
	    "a queue past MSG_DEFER_BYTES is written without a flush");
	for (i = 0; i < n; i++)
		ok &= got_n(i);
	CHECK(ok, "every frame of it, in order");
	teardown();
}

static void
test_wait(void)
{
	int	 rc;

	setup();
	msg_defer(&m);
	(void)send_n(1);
	rc = msg_recv(&m, &f, 0);
	CHECK(rc == -1 && errno == ETIMEDOUT && !readable(),
	    "msg_recv without waiting leaves the queue alone");
	rc = msg_recv(&m, &f, 50);
	CHECK(rc == -1 && errno == ETIMEDOUT && got_n(1),
	    "msg_recv that waits writes the queue first");
	(void)send_n(2);
	msg_close(&m);
	CHECK(got_n(2), "msg_close writes the queue");
	ctl_close(&peer);
}

static void
test_nodefer(void)
{
	setup();
	(void)send_n(3);
	CHECK(got_n(3), "without msg_defer a send is written at once");
	teardown();
}

int
main(void)
{
	if (loop_init() == -1) {
		perror("loop_init");
		return 1;
	}
	test_nodefer();
	test_flush();
	test_loop();
	test_bound();
	test_wait();
	return unit_done();
}
