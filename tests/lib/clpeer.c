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
 * clpeer: a misbehaving peer for the security tests (tests/security.bats).
 *
 *	clpeer -f node.conf -n ID [-t TARGET] [-k keyfile] [-c count]
 *	    [-s seconds] [-b bytes] [-w ms] [-a] MODE [PATH]
 *
 * It reads a cluster config (cluster name, key file, encrypt, node list),
 * pretends to be node ID, dials node TARGET (default: the config's self)
 * and, for the modes that need one, does a real client handshake with the
 * same calls clmemberd uses.  Then it misbehaves:
 *
 *	hello		a correct handshake and one valid frame, then a clean
 *			close: the control case, and a check that the target
 *			still takes connections
 *	replay		a valid heartbeat-like frame, sealed once, sent twice
 *	tamper		a valid frame, then a sealed frame with one bit flipped
 *	garbage		-b random bytes after the handshake (default 100000)
 *	wrongkey	handshake with a random key instead of the cluster's
 *	unknown		handshake claiming node ID, which the config lacks
 *	oversize	after the handshake, a frame whose len exceeds
 *			max_payload, followed by up to -b payload bytes
 *	half		after the handshake, half of a valid sealed frame, then
 *			silence for -s seconds
 *	slowloris	-c connections (default 1) each sending a hello one
 *			byte per second for -s seconds (default 10); with -a
 *			the handshake is done first and a sealed frame dribbled
 *	flood		-c connections at once (default 300) that send nothing,
 *			held for -s seconds (default 5)
 *	raw-unix PATH	-b random bytes (default 100000) to a Unix socket
 *	half-unix PATH	half a control frame to a Unix socket, then silence
 *			for -s seconds
 *
 * Every connection prints "conn N local=ADDR" (the address the target
 * sees), then what happened: "recv op=... reason=..." for frames the
 * target sent, and "conn N closed by peer after B bytes sent, T ms" or
 * "conn N still open after T ms".  The last line is "result=..." where
 * the value names the outcome (refused, closed, open).  The exit status
 * is 0 if the mode could be carried out, 1 if not (no connection, or a
 * handshake the mode needs failed), 2 for usage errors.
 */

#define _GNU_SOURCE	/* memmem, SOCK_NONBLOCK */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "buf.h"
#include "conf.h"
#include "loop.h"
#include "sock.h"
#include "wire.h"

#define READ_MAX	(WIRE_HDR_MAX + 1024 * 1024)

struct pconn {
	int		 fd;
	int		 n;		/* number, for output */
	char		 local[SOCK_ADDRSTRLEN];
	struct buf	 in;
	struct wire_parser wp;
	struct auth	 a;
	int		 authed;	/* handshake done: frames are sealed */
	size_t		 sent;
	uint64_t	 start;		/* ms */
	uint64_t	 closed;	/* ms since start, when closed */
	int		 eof;		/* closed: a write failed or EOF */
	int		 rdone;		/* nothing more to read */
	uint64_t	 frames;	/* received after the handshake */
};

static struct cl_conf	 conf;
static struct auth_conf	 ac;
static struct sockaddr_storage target_sa;
static socklen_t	 target_salen;
static uint32_t		 target_id;
static uint64_t		 txid;

static void
usage(void)
{
	(void)fprintf(stderr, "usage: clpeer -f node.conf -n ID [-t TARGET] "
	    "[-k keyfile] [-c count] [-s seconds] [-b bytes] [-w ms] [-a] "
	    "MODE [PATH]\n"
	    "modes: hello replay tamper garbage wrongkey unknown oversize half "
	    "slowloris flood raw-unix PATH half-unix PATH\n");
	exit(2);
}

static void
pconn_init(struct pconn *pc, int fd, int n)
{
	struct sockaddr_storage ss;
	socklen_t	 len = sizeof(ss);

	memset(pc, 0, sizeof(*pc));
	pc->fd = fd;
	pc->n = n;
	pc->start = clock_ms();
	buf_init(&pc->in, READ_MAX);
	wire_parser_init(&pc->wp, conf.max_payload);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		sock_addrstr((struct sockaddr *)&ss, pc->local,
		    sizeof(pc->local));
	else
		(void)strlcpy(pc->local, "?", sizeof(pc->local));
	auth_new(&pc->a, &ac, 1);
}

static void
pconn_mark_closed(struct pconn *pc)
{
	if (pc->eof)
		return;
	pc->eof = 1;
	pc->closed = clock_ms() - pc->start;
}

/* A blocking TCP connection to the target; -1 if it cannot be made. */
static int
dial(void)
{
	int	 fd;

	if ((fd = socket(target_sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&target_sa, target_salen) == -1) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

/* Write all of p, or as much as the peer takes before it closes. */
static int
send_bytes(struct pconn *pc, const void *p, size_t n)
{
	const uint8_t	*b = p;
	ssize_t		 w;

	while (n > 0) {
		w = write(pc->fd, b, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET) {
				pconn_mark_closed(pc);
				return -1;
			}
			warn("conn %d: write", pc->n);
			pconn_mark_closed(pc);
			return -1;
		}
		b += w;
		n -= (size_t)w;
		pc->sent += (size_t)w;
	}
	return 0;
}

static int
send_plain(struct pconn *pc, const struct frame *f)
{
	struct buf	 b;
	int		 rc;

	buf_init(&b, WIRE_HDR_MAX + conf.max_payload);
	if (wire_encode(&b, f) == -1)
		errx(1, "cannot encode %s", f->op);
	rc = send_bytes(pc, buf_ptr(&b), buf_avail(&b));
	buf_free(&b);
	return rc;
}

static void
print_frame(struct pconn *pc, const struct frame *f)
{
	const char	*s, *r;

	s = frame_get(f, "status");
	r = frame_get(f, "reason");
	(void)printf("conn %d recv op=%s%s%s%s%s\n", pc->n, f->op,
	    s != NULL ? " status=" : "", s != NULL ? s : "",
	    r != NULL ? " reason=" : "", r != NULL ? r : "");
}

/*
 * Read what the target sends for up to ms (or until one frame arrives
 * when one is set).  Frames after the handshake are checked with
 * auth_open, so a frame we can open proves the channel works.  Returns 1
 * with *f filled when one frame was asked for and came, 0 on timeout, -1
 * when the target closed the connection.
 */
static int
pump(struct pconn *pc, int ms, struct frame *one)
{
	static struct frame scratch;
	struct frame	*f = one != NULL ? one : &scratch;
	struct pollfd	 pfd;
	enum wire_result r;
	uint64_t	 deadline = clock_ms() + (uint64_t)ms, t;
	ssize_t		 n;

	for (;;) {
		while (buf_avail(&pc->in) > 0) {
			r = wire_parse(&pc->wp, buf_ptr(&pc->in),
			    buf_avail(&pc->in), f);
			if (r == WIRE_MORE)
				break;
			if (r == WIRE_ERROR) {
				(void)printf("conn %d: target sent a malformed "
				    "frame: %s\n", pc->n, pc->wp.reason);
				buf_truncate(&pc->in, 0);
				pc->in.off = pc->in.len = 0;
				wire_parser_reset(&pc->wp);
				break;
			}
			if (pc->authed) {
				if (auth_open(&pc->a, f) == -1) {
					(void)printf("conn %d: cannot open a "
					    "frame from the target: %s\n",
					    pc->n, pc->a.err);
					pc->authed = 0;
				} else
					pc->frames++;
			}
			if (one == NULL && (strcmp(f->op, "hb") != 0 ||
			    !pc->authed))
				print_frame(pc, f);
			if (one != NULL) {
				/* The frame points into in: copy it out by
				 * leaving the bytes until the next call. */
				buf_consume(&pc->in, wire_framelen(&pc->wp));
				wire_parser_reset(&pc->wp);
				return 1;
			}
			buf_consume(&pc->in, wire_framelen(&pc->wp));
			wire_parser_reset(&pc->wp);
		}
		if (pc->rdone)
			return -1;
		t = clock_ms();
		if (t >= deadline && !pc->eof)
			return 0;
		pfd.fd = pc->fd;
		pfd.events = POLLIN;
		/* After a failed write, read what the peer left (its error
		 * reply), without waiting for more. */
		if (poll(&pfd, 1, pc->eof ? 0 : (int)(deadline - t)) <= 0) {
			if (pc->eof)
				pc->rdone = 1;
			continue;
		}
		if (buf_reserve(&pc->in, 64 * 1024) == -1) {
			buf_truncate(&pc->in, 0);
			pc->in.off = pc->in.len = 0;
			continue;
		}
		n = read(pc->fd, pc->in.data + pc->in.len, 64 * 1024);
		if (n == 0 || (n == -1 && errno != EINTR && errno != EAGAIN)) {
			pconn_mark_closed(pc);
			pc->rdone = 1;
			continue;
		}
		if (n > 0)
			pc->in.len += (size_t)n;
	}
}

static void
report_close(struct pconn *pc, int wait)
{
	(void)pump(pc, wait, NULL);
	if (pc->eof)
		(void)printf("conn %d closed by peer after %zu bytes sent, "
		    "%llu ms\n", pc->n, pc->sent,
		    (unsigned long long)pc->closed);
	else
		(void)printf("conn %d still open after %llu ms\n", pc->n,
		    (unsigned long long)(clock_ms() - pc->start));
}

/* The client side of the handshake, as clmemberd's dial_done/hs_client. */
static int
handshake(struct pconn *pc)
{
	struct frame	 f, out;
	int		 rc;

	if (auth_client_hello(&pc->a, &out) == -1)
		errx(1, "cannot build hello");
	if (send_plain(pc, &out) == -1)
		goto closed;
	if ((rc = pump(pc, 3000, &f)) != 1)
		goto noanswer;
	if (strcmp(f.op, "error") == 0) {
		print_frame(pc, &f);
		return -1;
	}
	if (auth_client_prove(&pc->a, &f, &out) == -1) {
		(void)printf("conn %d: the target's hello is not acceptable: "
		    "%s\n", pc->n, pc->a.err);
		return -1;
	}
	if (pc->a.peer != target_id) {
		(void)printf("conn %d: target answered as node %u\n", pc->n,
		    pc->a.peer);
		return -1;
	}
	if (send_plain(pc, &out) == -1)
		goto closed;
	if ((rc = pump(pc, 3000, &f)) != 1)
		goto noanswer;
	if (strcmp(f.op, "error") == 0) {
		print_frame(pc, &f);
		return -1;
	}
	if (auth_client_finish(&pc->a, &f) == -1) {
		(void)printf("conn %d: the target's proof is wrong: %s\n",
		    pc->n, pc->a.err);
		return -1;
	}
	pc->authed = 1;
	(void)printf("conn %d handshake ok node=%u as=%u encrypt=%d\n", pc->n,
	    target_id, ac.self, ac.encrypt);
	return 0;
noanswer:
	if (rc == 0) {
		(void)printf("conn %d: no answer to the handshake in 3000 ms\n",
		    pc->n);
		return -1;
	}
closed:
	(void)printf("conn %d handshake refused: closed by peer after %zu "
	    "bytes sent, %llu ms\n", pc->n, pc->sent,
	    (unsigned long long)(clock_ms() - pc->start));
	return -1;
}

/* A heartbeat like clmemberd's (view_hb_fields), from a node that is not
 * ready to join and hears nobody, so it changes no view. */
static void
hb_frame(struct frame *f)
{
	frame_init(f, "hb", ++txid);
	frame_add(f, "inc", "%llu", (unsigned long long)ac.inc);
	frame_add(f, "epoch", "0");
	frame_add(f, "seen", "0");
	frame_add(f, "promised", "0");
	frame_add(f, "inview", "0");
	frame_add(f, "ready", "0");
	frame_add(f, "leave", "0");
	frame_add(f, "alive", "%u", ac.self);
	frame_add(f, "layers", "%s", "");
	if (f->err)
		errx(1, "cannot build a heartbeat");
}

static void
seal(struct pconn *pc, struct buf *b)
{
	struct frame	 f;

	hb_frame(&f);
	buf_init(b, WIRE_HDR_MAX + conf.max_payload + 1024);
	if (auth_seal(&pc->a, b, &f) == -1)
		errx(1, "cannot seal a frame");
}

static int
connect_one(struct pconn *pc, int n)
{
	int	 fd;

	if ((fd = dial()) == -1) {
		warn("connect to node %u", target_id);
		return -1;
	}
	pconn_init(pc, fd, n);
	(void)printf("conn %d local=%s\n", n, pc->local);
	return 0;
}

/* Send a valid frame and check the connection stays up: the channel works
 * and what follows is refused for what it is, not for something else. */
static int
prove_channel(struct pconn *pc)
{
	struct buf	 b;
	int		 rc;

	seal(pc, &b);
	rc = send_bytes(pc, buf_ptr(&b), buf_avail(&b));
	buf_free(&b);
	if (rc == -1 || pump(pc, 500, NULL) == -1) {
		(void)printf("conn %d: a valid frame was refused\n", pc->n);
		return -1;
	}
	(void)printf("conn %d valid frame accepted, %llu frames received\n",
	    pc->n, (unsigned long long)pc->frames);
	return 0;
}

static int
finish(struct pconn *pc, int wait)
{
	report_close(pc, wait);
	(void)printf("result=%s\n", pc->eof ? "closed" : "open");
	return 0;
}

static int
mode_hello(void)
{
	struct pconn	 pc;

	if (connect_one(&pc, 1) == -1 || handshake(&pc) == -1 ||
	    prove_channel(&pc) == -1)
		return 1;
	(void)close(pc.fd);
	(void)printf("result=ok\n");
	return 0;
}

static int
mode_replay(int wait)
{
	struct pconn	 pc;
	struct buf	 b;

	if (connect_one(&pc, 1) == -1 || handshake(&pc) == -1)
		return 1;
	seal(&pc, &b);
	if (send_bytes(&pc, buf_ptr(&b), buf_avail(&b)) == -1 ||
	    pump(&pc, 500, NULL) == -1) {
		(void)printf("conn 1: the first copy was refused\n");
		return 1;
	}
	(void)printf("conn 1 first copy accepted, %llu frames received\n",
	    (unsigned long long)pc.frames);
	(void)send_bytes(&pc, buf_ptr(&b), buf_avail(&b));
	(void)printf("conn 1 second copy sent\n");
	buf_free(&b);
	return finish(&pc, wait);
}

static int
mode_tamper(int wait)
{
	struct pconn	 pc;
	struct buf	 b;
	uint8_t		*p, *q;
	size_t		 at;

	if (connect_one(&pc, 1) == -1 || handshake(&pc) == -1 ||
	    prove_channel(&pc) == -1)
		return 1;
	seal(&pc, &b);
	p = buf_ptr(&b);
	if (ac.encrypt) {
		/* Inside the ciphertext. */
		at = buf_avail(&b) - 1;
	} else {
		/* The low bit of a digit of inc=: still a valid frame, so
		 * only the MAC can tell. */
		q = memmem(p, buf_avail(&b), "\ninc=", 5);
		if (q == NULL)
			errx(1, "no inc in the frame");
		at = (size_t)(q - p) + 5;
	}
	p[at] ^= 1;
	(void)printf("conn 1 flipped bit 0 of byte %zu of %zu\n", at,
	    buf_avail(&b));
	(void)send_bytes(&pc, p, buf_avail(&b));
	buf_free(&b);
	return finish(&pc, wait);
}

static int
send_random(struct pconn *pc, size_t total)
{
	uint8_t	 chunk[4096];
	size_t	 n;

	while (total > 0 && !pc->eof) {
		n = total < sizeof(chunk) ? total : sizeof(chunk);
		randombytes_buf(chunk, n);
		if (send_bytes(pc, chunk, n) == -1)
			break;
		total -= n;
		(void)pump(pc, 0, NULL);
	}
	return 0;
}

static int
mode_garbage(size_t bytes, int wait)
{
	struct pconn	 pc;

	if (connect_one(&pc, 1) == -1 || handshake(&pc) == -1 ||
	    prove_channel(&pc) == -1)
		return 1;
	(void)send_random(&pc, bytes);
	(void)printf("conn 1 sent %zu random bytes\n", pc.sent);
	return finish(&pc, wait);
}

static int
mode_refused(const char *what, int wait)
{
	struct pconn	 pc;

	if (connect_one(&pc, 1) == -1)
		return 1;
	if (handshake(&pc) == 0) {
		(void)printf("conn 1 handshake with %s accepted\n", what);
		report_close(&pc, wait);
		(void)printf("result=accepted\n");
		return 0;
	}
	report_close(&pc, wait);
	(void)printf("result=refused\n");
	return 0;
}

static int
mode_oversize(size_t bytes, int wait)
{
	struct pconn	 pc;
	char		 h[256];
	int		 n;

	if (connect_one(&pc, 1) == -1 || handshake(&pc) == -1 ||
	    prove_channel(&pc) == -1)
		return 1;
	if (ac.encrypt)
		n = snprintf(h, sizeof(h), "CL1 sealed 0\nlen=%zu\n\n",
		    conf.max_payload + 1);
	else
		n = snprintf(h, sizeof(h), "CL1 hb %llu\nseq=%llu\nlen=%zu\n\n",
		    (unsigned long long)++txid,
		    (unsigned long long)pc.a.seqtx, conf.max_payload + 1);
	(void)printf("conn 1 header len=%zu (max_payload %zu)\n",
	    conf.max_payload + 1, conf.max_payload);
	if (send_bytes(&pc, h, (size_t)n) == 0)
		(void)send_random(&pc, bytes);
	(void)printf("conn 1 sent %zu bytes\n", pc.sent);
	return finish(&pc, wait);
}

static int
mode_half(int seconds)
{
	struct pconn	 pc;
	struct buf	 b;

	if (connect_one(&pc, 1) == -1 || handshake(&pc) == -1 ||
	    prove_channel(&pc) == -1)
		return 1;
	seal(&pc, &b);
	(void)send_bytes(&pc, buf_ptr(&b), buf_avail(&b) / 2);
	(void)printf("conn 1 sent %zu of %zu bytes of a frame\n",
	    buf_avail(&b) / 2, buf_avail(&b));
	buf_free(&b);
	return finish(&pc, seconds * 1000);
}

static int
mode_slowloris(int count, int seconds, int after)
{
	struct pconn	*pcs;
	struct buf	*msg;
	struct frame	 f;
	uint64_t	 end;
	size_t		 pos;
	int		 i, open, closed = 0;

	if ((pcs = calloc((size_t)count, sizeof(*pcs))) == NULL ||
	    (msg = calloc((size_t)count, sizeof(*msg))) == NULL)
		err(1, NULL);
	for (i = 0; i < count; i++) {
		if (connect_one(&pcs[i], i + 1) == -1)
			return 1;
		if (after) {
			if (handshake(&pcs[i]) == -1)
				return 1;
			seal(&pcs[i], &msg[i]);
		} else {
			auth_client_hello(&pcs[i].a, &f);
			buf_init(&msg[i], WIRE_HDR_MAX);
			if (wire_encode(&msg[i], &f) == -1)
				errx(1, "cannot encode hello");
		}
	}
	end = clock_ms() + (uint64_t)seconds * 1000;
	for (pos = 0; clock_ms() < end; pos++) {
		open = 0;
		for (i = 0; i < count; i++) {
			if (pcs[i].eof)
				continue;
			/* The frame is never finished: its last byte stays. */
			if (pos + 1 < buf_avail(&msg[i]))
				(void)send_bytes(&pcs[i], buf_ptr(&msg[i]) + pos,
				    1);
			(void)pump(&pcs[i], 0, NULL);
			if (!pcs[i].eof)
				open++;
		}
		if (open == 0)
			break;
		clock_sleep_ms(1000);
	}
	for (i = 0; i < count; i++) {
		report_close(&pcs[i], 0);
		if (pcs[i].eof)
			closed++;
	}
	(void)printf("slowloris connections=%d closed=%d\n", count, closed);
	(void)printf("result=%s\n", closed == count ? "closed" :
	    closed == 0 ? "open" : "partly-closed");
	return 0;
}

static int
mode_flood(int count, int seconds)
{
	struct pconn	*pcs;
	struct pollfd	*pfd;
	uint64_t	 end;
	int		 i, fd, opened = 0, fast = 0, closed = 0;
	char		 c;

	if ((pcs = calloc((size_t)count, sizeof(*pcs))) == NULL ||
	    (pfd = calloc((size_t)count, sizeof(*pfd))) == NULL)
		err(1, NULL);
	for (i = 0; i < count; i++) {
		fd = socket(target_sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
		if (fd == -1) {
			warn("socket %d", i + 1);
			break;
		}
		if (connect(fd, (struct sockaddr *)&target_sa,
		    target_salen) == -1 && errno != EINPROGRESS) {
			warn("connect %d", i + 1);
			(void)close(fd);
			break;
		}
		pconn_init(&pcs[i], fd, i + 1);
		pfd[i].fd = fd;
		pfd[i].events = POLLIN;
		opened++;
	}
	end = clock_ms() + (uint64_t)seconds * 1000;
	while (clock_ms() < end && closed < opened) {
		if (poll(pfd, (nfds_t)opened, 100) <= 0)
			continue;
		for (i = 0; i < opened; i++) {
			if (pfd[i].revents == 0 || pcs[i].eof)
				continue;
			if (read(pfd[i].fd, &c, 1) == 1)
				continue;
			if (errno == EAGAIN)
				continue;
			pconn_mark_closed(&pcs[i]);
			pfd[i].fd = -1;
			closed++;
			if (pcs[i].closed < 1000)
				fast++;
		}
	}
	for (i = 0; i < opened; i++) {
		/* The local address is known once connected. */
		struct sockaddr_storage ss;
		socklen_t	 len = sizeof(ss);

		if (getsockname(pcs[i].fd, (struct sockaddr *)&ss, &len) == 0)
			sock_addrstr((struct sockaddr *)&ss, pcs[i].local,
			    sizeof(pcs[i].local));
		if (pcs[i].eof)
			(void)printf("conn %d local=%s closed by peer after "
			    "%llu ms\n", i + 1, pcs[i].local,
			    (unsigned long long)pcs[i].closed);
		else
			(void)printf("conn %d local=%s still open\n", i + 1,
			    pcs[i].local);
	}
	(void)printf("flood opened=%d closed=%d closed_within_1s=%d "
	    "open=%d\n", opened, closed, fast, opened - closed);
	(void)printf("result=%s\n", opened == count ? "flooded" : "partial");
	return opened > 0 ? 0 : 1;
}

static int
unix_connect(const char *path, struct pconn *pc)
{
	int	 fd;

	if ((fd = sock_unix_connect(path)) == -1) {
		warn("%s", path);
		return -1;
	}
	pconn_init(pc, fd, 1);
	(void)strlcpy(pc->local, path, sizeof(pc->local));
	(void)printf("conn 1 local=%s\n", path);
	return 0;
}

static int
mode_raw_unix(const char *path, size_t bytes, int wait)
{
	struct pconn	 pc;

	if (unix_connect(path, &pc) == -1)
		return 1;
	(void)send_random(&pc, bytes);
	(void)printf("conn 1 sent %zu random bytes\n", pc.sent);
	return finish(&pc, wait);
}

static int
mode_half_unix(const char *path, int seconds)
{
	static const char half[] = "CL1 status 7\nlen=10\n\nabcd";
	struct pconn	 pc;

	if (unix_connect(path, &pc) == -1)
		return 1;
	(void)send_bytes(&pc, half, sizeof(half) - 1);
	(void)printf("conn 1 sent %zu bytes of a frame\n", sizeof(half) - 1);
	return finish(&pc, seconds * 1000);
}

int
main(int argc, char *argv[])
{
	const struct cl_node *tn;
	const char	*cpath = NULL, *keyfile = NULL, *mode, *errstr;
	char		 errbuf[256];
	long long	 bytes = -1;
	int		 ch, rc, count = -1, seconds = -1, wait = 3000;
	int		 after = 0;
	long long	 id = -1, tid = -1;

	while ((ch = getopt(argc, argv, "ab:c:f:k:n:s:t:w:")) != -1) {
		switch (ch) {
		case 'a':
			after = 1;
			break;
		case 'b':
			bytes = strtonum(optarg, 0, 1LL << 32, &errstr);
			if (errstr != NULL)
				errx(2, "-b %s: %s", optarg, errstr);
			break;
		case 'c':
			count = (int)strtonum(optarg, 1, 100000, &errstr);
			if (errstr != NULL)
				errx(2, "-c %s: %s", optarg, errstr);
			break;
		case 'f':
			cpath = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'n':
			id = strtonum(optarg, 1, CONF_NODEID_MAX, &errstr);
			if (errstr != NULL)
				errx(2, "-n %s: %s", optarg, errstr);
			break;
		case 's':
			seconds = (int)strtonum(optarg, 0, 3600, &errstr);
			if (errstr != NULL)
				errx(2, "-s %s: %s", optarg, errstr);
			break;
		case 't':
			tid = strtonum(optarg, 1, CONF_NODEID_MAX, &errstr);
			if (errstr != NULL)
				errx(2, "-t %s: %s", optarg, errstr);
			break;
		case 'w':
			wait = (int)strtonum(optarg, 0, 600000, &errstr);
			if (errstr != NULL)
				errx(2, "-w %s: %s", optarg, errstr);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || cpath == NULL)
		usage();
	mode = argv[0];
	(void)signal(SIGPIPE, SIG_IGN);
	(void)setvbuf(stdout, NULL, _IOLBF, 0);
	if (conf_load(&conf, cpath) == -1)
		exit(1);
	if (auth_init() == -1)
		errx(1, "libsodium cannot start");

	if (strcmp(mode, "raw-unix") == 0 || strcmp(mode, "half-unix") == 0) {
		if (argc != 2)
			usage();
		if (mode[0] == 'r')
			return mode_raw_unix(argv[1], bytes < 0 ? 100000 :
			    (size_t)bytes, wait);
		return mode_half_unix(argv[1], seconds < 0 ? 5 : seconds);
	}
	if (argc != 1 || id == -1)
		usage();

	/* What node id pretends: the config's cluster, key, node list. */
	(void)strlcpy(ac.cluster, conf.cluster, sizeof(ac.cluster));
	if (strcmp(mode, "wrongkey") == 0)
		randombytes_buf(ac.key, sizeof(ac.key));
	else if (auth_loadkey(keyfile != NULL ? keyfile : conf.keyfile,
	    ac.key, errbuf, sizeof(errbuf)) == -1)
		errx(1, "%s", errbuf);
	ac.self = (uint32_t)id;
	do {
		randombytes_buf(&ac.inc, sizeof(ac.inc));
		ac.inc &= 0x7fffffffffffffffULL;
	} while (ac.inc == 0);
	ac.encrypt = conf.encrypt;
	ac.maxpayload = conf.max_payload;
	auth_confid_conf(&conf, ac.confid);

	target_id = tid != -1 ? (uint32_t)tid : conf.self;
	if ((tn = conf_node(&conf, target_id)) == NULL)
		errx(2, "node %u is not in %s", target_id, cpath);
	if ((rc = sock_resolve(tn->host, tn->port, &target_sa,
	    &target_salen)) != 0)
		errx(1, "%s: cannot resolve", tn->host);
	(void)printf("clpeer mode=%s as=%u target=%u addr=%s:%s\n", mode,
	    ac.self, target_id, tn->host, tn->port);

	if (strcmp(mode, "hello") == 0)
		return mode_hello();
	if (strcmp(mode, "replay") == 0)
		return mode_replay(wait);
	if (strcmp(mode, "tamper") == 0)
		return mode_tamper(wait);
	if (strcmp(mode, "garbage") == 0)
		return mode_garbage(bytes < 0 ? 100000 : (size_t)bytes, wait);
	if (strcmp(mode, "wrongkey") == 0)
		return mode_refused("a wrong key", wait);
	if (strcmp(mode, "unknown") == 0) {
		if (conf_node(&conf, ac.self) != NULL)
			errx(2, "unknown: node %u is in the config", ac.self);
		return mode_refused("an unknown node id", wait);
	}
	if (strcmp(mode, "oversize") == 0)
		return mode_oversize(bytes < 0 ? 1024 * 1024 : (size_t)bytes,
		    wait);
	if (strcmp(mode, "half") == 0)
		return mode_half(seconds < 0 ? 5 : seconds);
	if (strcmp(mode, "slowloris") == 0)
		return mode_slowloris(count < 0 ? 1 : count,
		    seconds < 0 ? 10 : seconds, after);
	if (strcmp(mode, "flood") == 0)
		return mode_flood(count < 0 ? 300 : count,
		    seconds < 0 ? 5 : seconds);
	usage();
	return 2;
}
