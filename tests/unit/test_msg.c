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
 * The router's client library (libcl/msg.c) against a fake clmemberd: a
 * forked child that accepts on RUNDIR/clmemberd.sock and plays a script.
 * The child checks what it is sent and exits non-zero at the first
 * surprise, naming it in a "# server:" line; the parent checks what it
 * gets back and, last, the child's exit status.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "ctl.h"
#include "loop.h"
#include "msg.h"
#include "sock.h"
#include "wire.h"
#include "unit.h"

#define SRV_WAIT	10000		/* ms the fake server waits for a frame */
#define WAIT		3000		/* ms the client waits in a passing test */
#define FLOOD		300		/* frames before an answer */
#define BIGLEN		8000		/* bytes of payload per large frame */
#define BIGN		200		/* large frames before an answer */

typedef int	(*script)(struct ctl *);

static char	 rundir[64];
static char	 sockpath[128];
static struct frame f, resp, rcpt, big1;	/* 10 KiB each: not on the stack */
static char	 big[2 * 1024 * 1024];

/* In the child: give up on the script, saying where. */
#define EXPECT(c) do {							\
	if (!(c)) {							\
		unit_diag("server: %s:%d: %s", __FILE__, __LINE__, #c);	\
		return 1;						\
	}								\
} while (0)

/* Run a fake clmemberd that plays fn on the first connection. */
static pid_t
serve(script fn)
{
	struct pollfd	 pfd;
	struct ctl	 c;
	pid_t		 pid;
	int		 lfd, fd;

	(void)unlink(sockpath);
	if ((lfd = sock_unix_listen(sockpath, 0600, (gid_t)-1)) == -1) {
		perror(sockpath);
		exit(1);
	}
	if ((pid = fork()) == -1) {
		perror("fork");
		exit(1);
	}
	if (pid > 0) {
		(void)close(lfd);
		return pid;
	}
	pfd.fd = lfd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, SRV_WAIT) != 1 ||
	    (fd = accept(lfd, NULL, NULL)) == -1 ||
	    fcntl(fd, F_SETFL, 0) == -1)
		_exit(99);
	(void)close(lfd);
	memset(&c, 0, sizeof(c));
	c.fd = fd;
	buf_init(&c.in, WIRE_HDR_MAX + WIRE_PAYLOAD_MAX);
	wire_parser_init(&c.wp, WIRE_PAYLOAD_MAX);
	(void)strlcpy(c.path, "client", sizeof(c.path));
	_exit(fn(&c));
}

/* The fake server's exit status. */
static int
finish(pid_t pid)
{
	int	 status;

	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	(void)unlink(sockpath);
	if (!WIFEXITED(status))
		return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return WEXITSTATUS(status);
}

static int
srv_recv(struct ctl *c, struct frame *fr)
{
	return ctl_recv(c, fr, SRV_WAIT) == 1 ? 0 : -1;
}

/* Answer a service request with ok, as node 1. */
static int
srv_register(struct ctl *c, const char *name)
{
	struct frame	 r;

	if (srv_recv(c, &f) == -1 || strcmp(f.op, "service") != 0 ||
	    frame_get(&f, "name") == NULL ||
	    strcmp(frame_get(&f, "name"), name) != 0 || f.txid == 0)
		return -1;
	frame_init(&r, "ok", f.txid);
	frame_add(&r, "node", "1");
	frame_add(&r, "name", "%s", name);
	return ctl_send(c, &r);
}

/* Wait for the client to close; 0 if it does. */
static int
srv_eof(struct ctl *c)
{
	return ctl_recv(c, &f, SRV_WAIT) == 0 ? 0 : 1;
}

/* A routed frame from "from" (NULL: one of the router's own). */
static int
srv_send(struct ctl *c, const char *op, uint64_t txid, const char *from,
    const char *k, const char *v, const char *payload)
{
	struct frame	 r;

	frame_init(&r, op, txid);
	if (from != NULL)
		frame_add(&r, "from", "%s", from);
	if (k != NULL)
		frame_add(&r, k, "%s", v);
	if (payload != NULL)
		frame_payload(&r, payload, strlen(payload));
	return ctl_send(c, &r);
}

static int
srv_receipt(struct ctl *c, uint64_t txid, const char *status,
    const char *results)
{
	struct frame	 r;
	char		 k[32], v[32];
	const char	*p;
	int		 n, nodes = 0;

	frame_init(&r, "receipt", txid);
	frame_add(&r, "to", "2.svc");
	frame_add(&r, "status", "%s", status);
	/* results: "2=delivered 3=node-down" */
	for (p = results; sscanf(p, "%31[0-9]=%31s%n", k, v, &n) == 2;
	    p += n) {
		char	 key[40];

		(void)snprintf(key, sizeof(key), "node.%s", k);
		frame_add(&r, key, "%s", v);
		nodes++;
		while (p[n] == ' ')
			n++;
	}
	frame_add(&r, "nodes", "%d", nodes);
	return ctl_send(c, &r);
}

static int
open_reg(struct msg *m, const char *name)
{
	if (msg_open(m, rundir) == -1) {
		unit_diag("%s", m->error);
		return -1;
	}
	if (msg_register(m, name, WAIT) == -1) {
		unit_diag("%s", m->error);
		return -1;
	}
	return 0;
}

static int
has(const char *s, const char *part)
{
	return s != NULL && strstr(s, part) != NULL;
}

static int
is(const struct frame *fr, const char *key, const char *val)
{
	const char	*v = frame_get(fr, key);

	return v != NULL && strcmp(v, val) == 0;
}

static int
paylen(const struct frame *fr, const char *s)
{
	return fr->len == strlen(s) && memcmp(fr->payload, s, fr->len) == 0;
}

/* Registration. */

static int
s_register_ok(struct ctl *c)
{
	EXPECT(srv_register(c, "t.1") == 0);
	return srv_eof(c);
}

static int
s_register_exists(struct ctl *c)
{
	struct frame	 r;

	EXPECT(srv_recv(c, &f) == 0);
	EXPECT(strcmp(f.op, "service") == 0 && is(&f, "name", "t.1"));
	frame_init(&r, "error", f.txid);
	frame_add(&r, "status", "exists");
	frame_add(&r, "reason", "service t.1 exists on node 1");
	EXPECT(ctl_send(c, &r) == 0);
	return srv_eof(c);
}

static void
test_register(void)
{
	struct msg	 m;
	uint64_t	 seed;
	pid_t		 pid;

	pid = serve(s_register_ok);
	CHECK(msg_open(&m, rundir) == 0, "open: connects to "
	    "RUNDIR/clmemberd.sock");
	seed = m.txid;
	CHECK(msg_register(&m, "t.1", WAIT) == 0, "register: ok");
	CHECK(m.node == 1, "register: ok's node= is m.node");
	CHECK_STR(m.name, "t.1", "register: the name is m.name");
	errno = 0;
	CHECK(msg_register(&m, "t.2", WAIT) == -1 && errno == EINVAL &&
	    has(m.error, "already registered as t.1"),
	    "register twice: EINVAL, already registered");
	msg_close(&m);
	CHECK(finish(pid) == 0, "register ok: the server saw what it "
	    "expected");

	pid = serve(s_register_exists);
	CHECK(msg_open(&m, rundir) == 0, "open");
	CHECK(m.txid != seed, "two connections start their txids at "
	    "different random points");
	errno = 0;
	CHECK(msg_register(&m, "Bad Name", WAIT) == -1 && errno == EINVAL &&
	    has(m.error, "\"Bad Name\""),
	    "register a bad name: EINVAL, not sent");
	errno = 0;
	CHECK(msg_register(&m, "t.1", WAIT) == -1 && errno == EEXIST,
	    "register a taken name: EEXIST");
	CHECK(has(m.error, "service t.1 exists on node 1"),
	    "register a taken name: the router's reason");
	unit_diag("%s", m.error);
	CHECK(m.name[0] == '\0', "register failed: no name");
	msg_close(&m);
	CHECK(finish(pid) == 0, "register exists: the server saw what it "
	    "expected");

	errno = 0;
	CHECK(msg_open(&m, "/nonexistent/cl") == -1 && errno == ENOENT &&
	    has(m.error, "/nonexistent/cl/clmemberd.sock"),
	    "open without a daemon: ENOENT, the socket's path");
	msg_close(&m);
}

/* Sending. */

static int
s_send(struct ctl *c)
{
	struct frame	 r;
	uint64_t	 t[4];
	int		 i;

	EXPECT(srv_register(c, "t.1") == 0);
	for (i = 0; i < 4; i++) {
		EXPECT(srv_recv(c, &f) == 0);
		EXPECT(strcmp(f.op, "note") == 0);
		t[i] = f.txid;
		if (i < 3)
			EXPECT(is(&f, "to", "2.svc"));
		else
			EXPECT(is(&f, "to", "*.svc"));
	}
	frame_init(&r, "seen", 1);
	for (i = 0; i < 4; i++) {
		char	 k[16];

		(void)snprintf(k, sizeof(k), "t%d", i);
		frame_add(&r, k, "%llu", (unsigned long long)t[i]);
	}
	EXPECT(ctl_send(c, &r) == 0);
	return srv_eof(c);
}

static void
test_send(void)
{
	struct msg	 m;
	struct frame	 n[4];
	char		 want[32];
	pid_t		 pid;
	int		 i;

	pid = serve(s_send);
	CHECK(msg_open(&m, rundir) == 0, "open");
	for (i = 0; i < 4; i++)
		frame_init(&n[i], "note", 0);
	frame_add(&n[0], "to", "2.svc");
	errno = 0;
	CHECK(msg_send(&m, &n[0]) == -1 && errno == EINVAL &&
	    has(m.error, "not registered"),
	    "send before register: EINVAL, not registered");
	CHECK(msg_register(&m, "t.1", WAIT) == 0, "register");
	errno = 0;
	CHECK(msg_send(&m, &n[1]) == -1 && errno == EINVAL &&
	    has(m.error, "without to="), "send without to=: EINVAL");
	frame_add(&n[1], "to", "2.svc");
	frame_add(&n[2], "to", "2.svc");
	n[2].txid = 77;
	CHECK(msg_send(&m, &n[0]) == 0 && n[0].txid != 0,
	    "send: txid 0 gets a fresh txid");
	CHECK(msg_send(&m, &n[1]) == 0 && n[1].txid == n[0].txid + 1,
	    "send: the next txid is the next number");
	CHECK(msg_send(&m, &n[2]) == 0 && n[2].txid == 77,
	    "send: a txid the caller set stays");
	frame_init(&big1, "note", 0);
	frame_add(&big1, "to", "2.svc");
	frame_payload(&big1, big, MSG_PAYLOAD_MAX + 1);
	errno = 0;
	CHECK(msg_send(&m, &big1) == -1 && errno == EMSGSIZE &&
	    has(m.error, "at most 65536") && big1.txid == 0,
	    "send over clmemberd's client payload limit: EMSGSIZE, not sent");
	errno = 0;
	CHECK(msg_broadcast(&m, "Bad", &n[3]) == -1 && errno == EINVAL,
	    "broadcast to a bad service name: EINVAL");
	CHECK(msg_broadcast(&m, "svc", &n[3]) == 0 &&
	    is(&n[3], "to", "*.svc") && n[3].txid == n[1].txid + 1,
	    "broadcast: to=*.svc, a fresh txid");
	CHECK(msg_recv(&m, &f, WAIT) == 1 && strcmp(f.op, "seen") == 0,
	    "recv the server's list of txids");
	for (i = 0; i < 4; i++) {
		char	 k[16];

		(void)snprintf(k, sizeof(k), "t%d", i);
		(void)snprintf(want, sizeof(want), "%llu",
		    (unsigned long long)n[i].txid);
		CHECKF(is(&f, k, want), "send: frame %d went out with txid "
		    "%s", i, want);
	}
	msg_close(&m);
	CHECK(finish(pid) == 0, "send: the server saw what it expected");
}

/* Calls. */

static int
s_call(struct ctl *c)
{
	uint64_t	 t;

	EXPECT(srv_register(c, "t.1") == 0);
	EXPECT(srv_recv(c, &f) == 0);
	EXPECT(strcmp(f.op, "ask") == 0 && is(&f, "to", "2.svc"));
	EXPECT(is(&f, "resp", "1") && is(&f, "rcpt", "1"));
	EXPECT(paylen(&f, "question"));
	t = f.txid;
	EXPECT(srv_send(c, "note", 5, "2.other", "i", "1", NULL) == 0);
	/* Another service's request that has our txid: not the answer. */
	EXPECT(srv_send(c, "ask", t, "3.peer", NULL, NULL, NULL) == 0);
	EXPECT(srv_send(c, "answer", t + 1000, "2.svc", "re", "1",
	    "stale") == 0);
	EXPECT(srv_receipt(c, t, "ok", "2=delivered") == 0);
	EXPECT(srv_send(c, "note", 6, "2.other", "i", "2", NULL) == 0);
	EXPECT(srv_send(c, "answer", t, "2.svc", "re", "1", "hello") == 0);
	return srv_eof(c);
}

static void
test_call(void)
{
	struct msg	 m;
	struct frame	 req;
	uint64_t	 t;
	pid_t		 pid;

	pid = serve(s_call);
	CHECK(open_reg(&m, "t.1") == 0, "open and register");
	frame_init(&req, "ask", 0);
	frame_add(&req, "to", "2.svc");
	frame_payload(&req, "question", 8);
	errno = 0;
	CHECK(msg_call(&m, &req, NULL, NULL, WAIT) == -1 && errno == EINVAL,
	    "call that waits for nothing: EINVAL");
	CHECK(msg_call(&m, &req, &resp, &rcpt, WAIT) == 1,
	    "call: the response comes");
	t = req.txid;
	CHECK(t != 0 && is(&req, "resp", "1") && is(&req, "rcpt", "1"),
	    "call: the request got a txid, resp=1 and rcpt=1");
	CHECK(strcmp(resp.op, "answer") == 0 && resp.txid == t &&
	    paylen(&resp, "hello") && is(&resp, "from", "2.svc"),
	    "call: the response is the one with re=1 and the txid");
	CHECK(strcmp(rcpt.op, "receipt") == 0 && rcpt.txid == t &&
	    is(&rcpt, "status", "ok") && is(&rcpt, "node.2", "delivered"),
	    "call: the receipt is in the out-parameter, still valid");
	CHECK(m.nkept == 4 && m.dropped == 0 && msg_pending(&m),
	    "call: the four other frames are kept");
	CHECK(msg_recv(&m, &f, WAIT) == 1 && strcmp(f.op, "note") == 0 &&
	    f.txid == 5, "recv: the first kept frame first");
	CHECK(msg_recv(&m, &f, WAIT) == 1 && strcmp(f.op, "ask") == 0 &&
	    f.txid == t && is(&f, "from", "3.peer"),
	    "recv: a request with our txid is not taken for the answer");
	CHECK(msg_recv(&m, &f, WAIT) == 1 && strcmp(f.op, "answer") == 0 &&
	    f.txid == t + 1000 && paylen(&f, "stale"),
	    "recv: a response to another txid is kept");
	CHECK(msg_recv(&m, &f, WAIT) == 1 && strcmp(f.op, "note") == 0 &&
	    f.txid == 6 && is(&f, "i", "2"), "recv: the last kept frame");
	CHECK(!msg_pending(&m), "nothing pending");
	errno = 0;
	CHECK(msg_recv(&m, &f, 100) == -1 && errno == ETIMEDOUT,
	    "recv with nothing there: ETIMEDOUT");
	msg_close(&m);
	CHECK(finish(pid) == 0, "call: the server saw what it expected");
}

static int
s_call_more(struct ctl *c)
{
	struct frame	 r;
	uint64_t	 t;

	EXPECT(srv_register(c, "t.1") == 0);
	/* 1: the response before the receipt the caller asked for. */
	EXPECT(srv_recv(c, &f) == 0 && is(&f, "rcpt", "1"));
	t = f.txid;
	EXPECT(srv_send(c, "answer", t, "2.svc", "re", "1", "one") == 0);
	EXPECT(srv_receipt(c, t, "ok", "2=delivered") == 0);
	/* 2: not delivered. */
	EXPECT(srv_recv(c, &f) == 0);
	EXPECT(srv_receipt(c, f.txid, "failed", "2=no-service") == 0);
	/* 3: refused by the router. */
	EXPECT(srv_recv(c, &f) == 0);
	frame_init(&r, "error", f.txid);
	frame_add(&r, "status", "invalid");
	frame_add(&r, "reason", "to=9.svc: no node 9");
	EXPECT(ctl_send(c, &r) == 0);
	/* 4: a receipt alone, no response asked. */
	EXPECT(srv_recv(c, &f) == 0);
	EXPECT(is(&f, "rcpt", "1") && frame_get(&f, "resp") == NULL);
	EXPECT(srv_receipt(c, f.txid, "ok", "2=delivered") == 0);
	/* 5: a broadcast call, one node down, two responses. */
	EXPECT(srv_recv(c, &f) == 0 && is(&f, "to", "*.svc"));
	t = f.txid;
	EXPECT(srv_receipt(c, t, "failed",
	    "2=delivered 3=delivered 4=node-down") == 0);
	EXPECT(srv_send(c, "answer", t, "2.svc", "re", "1", "two") == 0);
	EXPECT(srv_send(c, "answer", t, "3.svc", "re", "1", "three") == 0);
	/* 6: a receipt alone that is not all delivered. */
	EXPECT(srv_recv(c, &f) == 0);
	EXPECT(srv_receipt(c, f.txid, "failed",
	    "2=delivered 3=timeout") == 0);
	/* 7: a broadcast too large for rcpt_max. */
	EXPECT(srv_recv(c, &f) == 0 && is(&f, "rcpt_max", "1"));
	frame_init(&r, "receipt", f.txid);
	frame_add(&r, "to", "*.svc");
	frame_add(&r, "status", "size-needed");
	frame_add(&r, "need", "3");
	EXPECT(ctl_send(c, &r) == 0);
	return srv_eof(c);
}

static void
test_call_more(void)
{
	struct msg	 m;
	struct frame	 req;
	pid_t		 pid;

	pid = serve(s_call_more);
	CHECK(open_reg(&m, "t.1") == 0, "open and register");

	frame_init(&req, "ask", 0);
	frame_add(&req, "to", "2.svc");
	frame_add(&req, "rcpt", "1");
	CHECK(msg_call(&m, &req, &resp, NULL, WAIT) == 1 &&
	    paylen(&resp, "one"), "call with rcpt=1, no out-parameter: "
	    "the response");
	CHECK(m.nkept == 0, "call: a good receipt after the response is "
	    "awaited and dropped, not kept");

	frame_init(&req, "ask", 0);
	frame_add(&req, "to", "2.svc");
	CHECK(msg_call(&m, &req, &resp, &rcpt, WAIT) == 0,
	    "call not delivered: 0");
	CHECK(is(&rcpt, "status", "failed") &&
	    is(&rcpt, "node.2", "no-service"),
	    "call not delivered: the receipt says why");
	CHECK(has(m.error, "not delivered to 2.svc") &&
	    has(m.error, "node.2=no-service"),
	    "call not delivered: m.error names the node and result");
	unit_diag("%s", m.error);

	frame_init(&req, "ask", 0);
	frame_add(&req, "to", "9.svc");
	errno = 0;
	CHECK(msg_call(&m, &req, &resp, NULL, WAIT) == -1 && errno == EINVAL,
	    "call refused by the router: EINVAL");
	CHECK(has(m.error, "no node 9"),
	    "call refused: m.error has the router's reason");
	unit_diag("%s", m.error);

	frame_init(&req, "note", 0);
	frame_add(&req, "to", "2.svc");
	CHECK(msg_call(&m, &req, NULL, &rcpt, WAIT) == 1 &&
	    is(&rcpt, "status", "ok") && frame_get(&req, "resp") == NULL,
	    "receipt only: 1, no resp= asked");

	frame_init(&req, "ask", 0);
	frame_add(&req, "to", "*.svc");
	CHECK(msg_call(&m, &req, &resp, &rcpt, WAIT) == 1 &&
	    paylen(&resp, "two") && is(&rcpt, "node.4", "node-down"),
	    "broadcast call, a node down: the first response");
	CHECK(msg_recv(&m, &f, WAIT) == 1 && paylen(&f, "three") &&
	    f.txid == req.txid && is(&f, "re", "1"),
	    "broadcast call: the next response through recv");

	frame_init(&req, "note", 0);
	frame_add(&req, "to", "*.svc");
	CHECK(msg_call(&m, &req, NULL, &rcpt, WAIT) == 0 &&
	    has(m.error, "node.3=timeout") && !has(m.error, "node.2"),
	    "receipt only, a target timed out: 0, m.error names it");

	frame_init(&req, "note", 0);
	frame_add(&req, "to", "*.svc");
	frame_add(&req, "rcpt_max", "1");
	CHECK(msg_call(&m, &req, NULL, &rcpt, WAIT) == 0 &&
	    is(&rcpt, "need", "3") && has(m.error, "size-needed need=3"),
	    "receipt size-needed: 0, m.error says how many");
	msg_close(&m);
	CHECK(finish(pid) == 0, "call: the server saw what it expected");
}

/* Silence, and a server that goes away. */

/* Take a request and never answer it. */
static int
s_mute(struct ctl *c)
{
	EXPECT(srv_register(c, "t.1") == 0);
	EXPECT(srv_recv(c, &f) == 0 && strcmp(f.op, "ask") == 0);
	return srv_eof(c);
}

/* Never answer the registration. */
static int
s_deaf(struct ctl *c)
{
	EXPECT(srv_recv(c, &f) == 0 && strcmp(f.op, "service") == 0);
	return srv_eof(c);
}

static int
s_close(struct ctl *c)
{
	EXPECT(srv_register(c, "t.1") == 0);
	EXPECT(srv_recv(c, &f) == 0);
	EXPECT(srv_send(c, "note", 5, "2.other", NULL, NULL, NULL) == 0);
	return 0;
}

static void
test_failures(void)
{
	struct msg	 m;
	struct frame	 req;
	uint64_t	 t0, dt;
	pid_t		 pid;

	pid = serve(s_mute);
	CHECK(open_reg(&m, "t.1") == 0, "open and register");
	frame_init(&req, "ask", 0);
	frame_add(&req, "to", "2.svc");
	t0 = clock_ms();
	errno = 0;
	CHECK(msg_call(&m, &req, &resp, NULL, 300) == -1 &&
	    errno == ETIMEDOUT, "call, no answer: ETIMEDOUT");
	dt = clock_ms() - t0;
	CHECKF(dt >= 300 && dt < 2000, "call timeout: after 300 ms (%llu)",
	    (unsigned long long)dt);
	CHECK(has(m.error, "no response from 2.svc in 300 ms"),
	    "call timeout: m.error says so");
	unit_diag("%s", m.error);
	errno = 0;
	CHECK(msg_recv(&m, &f, 0) == -1 && errno == ETIMEDOUT,
	    "recv with timeout 0 and nothing there: ETIMEDOUT");
	msg_close(&m);
	CHECK(finish(pid) == 0, "mute: the server saw what it expected");

	pid = serve(s_deaf);
	CHECK(msg_open(&m, rundir) == 0, "open");
	errno = 0;
	CHECK(msg_register(&m, "t.2", 200) == -1 && errno == ETIMEDOUT &&
	    has(m.error, "no reply from clmemberd"),
	    "register, no answer: ETIMEDOUT");
	CHECK(m.name[0] == '\0', "register timed out: no name");
	msg_close(&m);
	CHECK(finish(pid) == 0, "deaf: the server saw what it expected");

	pid = serve(s_close);
	CHECK(open_reg(&m, "t.1") == 0, "open and register");
	frame_init(&req, "ask", 0);
	frame_add(&req, "to", "2.svc");
	errno = 0;
	CHECK(msg_call(&m, &req, &resp, NULL, WAIT) == -1 &&
	    errno == ECONNRESET && has(m.error, "closed the connection"),
	    "call, server closes: ECONNRESET, closed the connection");
	CHECK(msg_recv(&m, &f, WAIT) == 1 && f.txid == 5,
	    "recv after close: the frame that came first");
	CHECK(msg_recv(&m, &f, WAIT) == 0, "recv after close: then 0");
	CHECK(msg_recv(&m, &f, WAIT) == 0, "recv after close: 0 again");
	errno = 0;
	CHECK(msg_call(&m, &req, &resp, NULL, WAIT) == -1 &&
	    (errno == EPIPE || errno == ECONNRESET),
	    "call after close: EPIPE or ECONNRESET");
	msg_close(&m);
	CHECK(finish(pid) == 0, "close: the server saw what it expected");
}

/* The bounds of the kept queue. */

static int
s_flood(struct ctl *c)
{
	struct buf	 b;
	struct frame	 r;
	uint64_t	 t;
	int		 i;

	EXPECT(srv_register(c, "t.1") == 0);
	EXPECT(srv_recv(c, &f) == 0);
	t = f.txid;
	buf_init(&b, 1024 * 1024);
	for (i = 0; i < FLOOD; i++) {
		frame_init(&r, "note", (uint64_t)i + 1);
		frame_add(&r, "from", "2.other");
		frame_add(&r, "i", "%d", i);
		EXPECT(wire_encode(&b, &r) == 0);
	}
	frame_init(&r, "answer", t);
	frame_add(&r, "from", "2.svc");
	frame_add(&r, "re", "1");
	EXPECT(wire_encode(&b, &r) == 0);
	EXPECT(write(c->fd, buf_ptr(&b), buf_avail(&b)) ==
	    (ssize_t)buf_avail(&b));
	buf_free(&b);
	return srv_eof(c);
}

static int
s_flood_bytes(struct ctl *c)
{
	struct frame	 r;
	uint64_t	 t;
	int		 i;

	EXPECT(srv_register(c, "t.1") == 0);
	EXPECT(srv_recv(c, &f) == 0);
	t = f.txid;
	memset(big, 'x', sizeof(big));
	for (i = 0; i < BIGN; i++) {
		frame_init(&r, "note", (uint64_t)i + 1);
		frame_add(&r, "from", "2.other");
		frame_add(&r, "i", "%d", i);
		frame_payload(&r, big, BIGLEN);
		EXPECT(ctl_send(c, &r) == 0);
	}
	/* One frame larger than the whole bound. */
	frame_init(&r, "note", 9999);
	frame_add(&r, "from", "2.other");
	frame_payload(&r, big, MSG_QUEUE_BYTES + 1);
	EXPECT(ctl_send(c, &r) == 0);
	EXPECT(srv_send(c, "answer", t, "2.svc", "re", "1", "done") == 0);
	return srv_eof(c);
}

static void
test_bounds(void)
{
	struct msg	 m;
	struct frame	 req;
	size_t		 kept;
	uint64_t	 first = 0, last = 0, n = 0, dropped;
	pid_t		 pid;

	pid = serve(s_flood);
	CHECK(open_reg(&m, "t.1") == 0, "open and register");
	frame_init(&req, "ask", 0);
	frame_add(&req, "to", "2.svc");
	CHECK(msg_call(&m, &req, &resp, NULL, WAIT) == 1,
	    "call under a flood: the response");
	CHECKF(m.nkept == MSG_QUEUE_FRAMES && m.dropped ==
	    FLOOD - MSG_QUEUE_FRAMES, "flood: %d kept, %d dropped (%zu, "
	    "%llu)", MSG_QUEUE_FRAMES, FLOOD - MSG_QUEUE_FRAMES, m.nkept,
	    (unsigned long long)m.dropped);
	while (msg_recv(&m, &f, 0) == 1) {
		if (n++ == 0)
			first = f.txid;
		last = f.txid;
	}
	CHECKF(n == MSG_QUEUE_FRAMES && first == FLOOD - MSG_QUEUE_FRAMES +
	    1 && last == FLOOD, "flood: the newest are kept, in order "
	    "(%llu from %llu to %llu)", (unsigned long long)n,
	    (unsigned long long)first, (unsigned long long)last);
	CHECK(m.keptbytes == 0, "flood: all returned, no bytes kept");
	msg_close(&m);
	CHECK(finish(pid) == 0, "flood: the server saw what it expected");

	pid = serve(s_flood_bytes);
	CHECK(open_reg(&m, "t.1") == 0, "open and register");
	frame_init(&req, "ask", 0);
	frame_add(&req, "to", "2.svc");
	CHECK(msg_call(&m, &req, &resp, NULL, WAIT) == 1 &&
	    paylen(&resp, "done"), "call under large frames: the response");
	kept = m.nkept;
	dropped = m.dropped;
	CHECKF(m.keptbytes <= MSG_QUEUE_BYTES && m.keptbytes >
	    MSG_QUEUE_BYTES - BIGLEN - 100, "large frames: about 1 MiB kept "
	    "(%zu bytes)", m.keptbytes);
	CHECKF(dropped == BIGN - kept + 1, "large frames: the rest and "
	    "the one over the bound dropped (%zu kept, %llu dropped)", kept,
	    (unsigned long long)dropped);
	n = 0;
	while (msg_recv(&m, &f, 0) == 1) {
		if (n++ == 0)
			first = f.txid;
		last = f.txid;
		if (f.len != BIGLEN)
			break;
	}
	CHECKF(n == kept && first == BIGN - kept + 1 && last == BIGN,
	    "large frames: the newest are kept (%llu from %llu to %llu)",
	    (unsigned long long)n, (unsigned long long)first,
	    (unsigned long long)last);
	msg_close(&m);
	CHECK(finish(pid) == 0, "large frames: the server saw what it "
	    "expected");
}

/* recv without waiting, replies, services. */

static int
s_burst(struct ctl *c)
{
	struct buf	 b;
	struct frame	 r;
	int		 i;

	EXPECT(srv_register(c, "t.1") == 0);
	EXPECT(srv_recv(c, &f) == 0 && strcmp(f.op, "go") == 0);
	buf_init(&b, 64 * 1024);
	for (i = 0; i < 3; i++) {
		frame_init(&r, "note", (uint64_t)i + 1);
		frame_add(&r, "from", "2.other");
		EXPECT(wire_encode(&b, &r) == 0);
	}
	EXPECT(write(c->fd, buf_ptr(&b), buf_avail(&b)) ==
	    (ssize_t)buf_avail(&b));
	buf_free(&b);
	return srv_eof(c);
}

static int
s_reply(struct ctl *c)
{
	EXPECT(srv_register(c, "t.1") == 0);
	EXPECT(srv_send(c, "ask", 0, "2.a", "resp", "1", NULL) == 0);
	EXPECT(srv_send(c, "ask", 9, "2.a", "orig", "3.b", NULL) == 0);
	EXPECT(srv_recv(c, &f) == 0);
	EXPECT(strcmp(f.op, "answer") == 0 && f.txid == 0);
	EXPECT(is(&f, "to", "2.a") && is(&f, "re", "1"));
	EXPECT(srv_recv(c, &f) == 0);
	EXPECT(strcmp(f.op, "answer") == 0 && f.txid == 9);
	EXPECT(is(&f, "to", "3.b") && is(&f, "re", "1"));
	EXPECT(srv_send(c, "done", 1, "2.a", NULL, NULL, NULL) == 0);
	return srv_eof(c);
}

static int
s_services(struct ctl *c)
{
	struct frame	 r;

	EXPECT(srv_recv(c, &f) == 0);
	EXPECT(strcmp(f.op, "services") == 0 && f.nkv == 0);
	/* A reply to some other txid first: kept. */
	frame_init(&r, "services", f.txid + 1);
	EXPECT(ctl_send(c, &r) == 0);
	EXPECT(srv_send(c, "services", f.txid, NULL, NULL, NULL,
	    "service node=1 name=a\nservice node=2 name=b\n") == 0);
	return srv_eof(c);
}

static void
test_misc(void)
{
	struct msg	 m;
	struct frame	 req, ans;
	struct pollfd	 pfd;
	pid_t		 pid;
	int		 i, ok;

	pid = serve(s_burst);
	CHECK(open_reg(&m, "t.1") == 0, "open and register");
	frame_init(&req, "go", 0);
	frame_add(&req, "to", "1.x");
	CHECK(msg_send(&m, &req) == 0, "send");
	pfd.fd = msg_fd(&m);
	pfd.events = POLLIN;
	CHECK(poll(&pfd, 1, WAIT) == 1, "poll on msg_fd: readable");
	usleep(100 * 1000);		/* all three frames are there */
	ok = 1;
	for (i = 0; i < 3; i++)
		if (msg_recv(&m, &f, 0) != 1 || f.txid != (uint64_t)i + 1)
			ok = 0;
	CHECK(ok, "recv with timeout 0: reads the frames that are there");
	CHECK(!msg_pending(&m), "then nothing pending");
	errno = 0;
	CHECK(msg_recv(&m, &f, 0) == -1 && errno == ETIMEDOUT,
	    "then recv with timeout 0: ETIMEDOUT");
	msg_close(&m);
	CHECK(finish(pid) == 0, "burst: the server saw what it expected");

	pid = serve(s_reply);
	CHECK(open_reg(&m, "t.1") == 0, "open and register");
	CHECK(msg_recv(&m, &f, WAIT) == 1 && f.txid == 0, "recv a request "
	    "with txid 0");
	frame_init(&ans, "answer", 0);
	CHECK(msg_reply(&m, &f, &ans) == 0 && ans.txid == 0 &&
	    is(&ans, "to", "2.a"), "reply: to its from=, txid 0 kept");
	CHECK(strcmp(f.op, "ask") == 0 && is(&f, "from", "2.a"),
	    "reply leaves the received frame valid");
	CHECK(msg_recv(&m, &f, WAIT) == 1 && f.txid == 9, "recv a request "
	    "with orig=");
	frame_init(&ans, "answer", 0);
	CHECK(msg_reply(&m, &f, &ans) == 0 && is(&ans, "to", "3.b"),
	    "reply: to its orig=");
	CHECK(msg_recv(&m, &f, WAIT) == 1 && strcmp(f.op, "done") == 0,
	    "the server took both replies");
	msg_close(&m);
	CHECK(finish(pid) == 0, "reply: the server saw what it expected");

	pid = serve(s_services);
	CHECK(msg_open(&m, rundir) == 0, "open");
	CHECK(msg_services(&m, &f, WAIT) == 0 && paylen(&f,
	    "service node=1 name=a\nservice node=2 name=b\n"),
	    "services, unregistered: the payload lists them");
	CHECK(m.nkept == 1, "services: a reply to another txid is kept");
	msg_close(&m);
	CHECK(finish(pid) == 0, "services: the server saw what it expected");
}

int
main(void)
{
	(void)strlcpy(rundir, "/tmp/test_msg.XXXXXX", sizeof(rundir));
	if (mkdtemp(rundir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	(void)snprintf(sockpath, sizeof(sockpath), "%s/clmemberd.sock",
	    rundir);
	(void)signal(SIGPIPE, SIG_IGN);	/* a write to a closed server */
	test_register();
	test_send();
	test_call();
	test_call_more();
	test_failures();
	test_bounds();
	test_misc();
	(void)unlink(sockpath);
	(void)rmdir(rundir);
	return unit_done();
}
