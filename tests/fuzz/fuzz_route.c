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
 * libFuzzer target for clmemberd's router (cmd/clmemberd/route.c).  The
 * input is a run of frames; each frame's txid picks what it is on node
 * 1 of a 3-node cluster: a service registration, a message from one of
 * three local clients, a frame from peer 2 or 3, a peer going down or
 * up, or a client going away.  The transport is stubbed: sends are
 * encoded (so a frame the router builds must be encodable) and may fail
 * as a full queue would.  At the end everything is torn down, so
 * LeakSanitizer sees any receipt or service the router lost track of.
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clmemberd.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct clmemberd	*D;
static struct clmemberd	 d;
static struct peer	 peers[2];
static struct conn	 conns[5];
static struct client	 clients[3];
static struct buf	 out;
static unsigned		 failmask;	/* which sends fail, from the input */
static unsigned		 nsends;

/* Stubs for what route.c calls in peer.c, control.c and conn.c. */
static int
encode(const struct frame *f)
{
	buf_truncate(&out, 0);
	if (f->err || wire_encode(&out, f) == -1)
		abort();	/* the router built a frame it cannot send */
	return (failmask >> (nsends++ % 32)) & 1 ? -1 : 0;
}

int
peer_send(struct peer *p, const struct frame *f)
{
	if (p == NULL || p->conn == NULL)
		return -1;
	return encode(f);
}

void
peer_broadcast(const struct frame *f, const struct nodeset *set)
{
	(void)set;
	(void)encode(f);
}

void
peer_tell(struct peer *p, const struct frame *f)
{
	if (p != NULL)
		(void)peer_send(p, f);
	else
		peer_broadcast(f, NULL);
}

int
conn_send(struct conn *c, const struct frame *f)
{
	(void)c;
	return encode(f);
}

int
control_send(struct client *cl, const struct frame *f)
{
	(void)cl;
	return encode(f);
}

int
control_error(struct client *cl, uint64_t txid, const char *status,
    const char *fmt, ...)
{
	struct frame	 f;
	va_list		 ap;

	if (cl == NULL)
		return 0;
	va_start(ap, fmt);
	frame_verror(&f, txid, status, fmt, ap);
	va_end(ap);
	return encode(&f);
}

size_t
conn_queued(const struct conn *c)
{
	(void)c;
	return (failmask & 1) ? ROUTE_PEER_MAX : 0;
}

static void
setup(void)
{
	struct cl_node	*n;
	int		 i;

	D = &d;
	if (loop_init() == -1)
		abort();
	d.self = 1;
	d.conf.nnodes = 3;
	d.conf.msg_timeout_ms = 1000;
	for (i = 0; i < 3; i++) {
		n = &d.conf.nodes[i];
		n->id = (uint32_t)i + 1;
		(void)strlcpy(n->host, "127.0.0.1", sizeof(n->host));
		(void)snprintf(n->port, sizeof(n->port), "%d", 7001 + i);
	}
	for (i = 0; i < 2; i++) {
		peers[i].id = (uint32_t)i + 2;
		peers[i].reach = REACH_UP;
		peers[i].conn = &conns[3 + i];
		d.peers[i + 2] = &peers[i];
	}
	for (i = 0; i < 3; i++) {
		clients[i].conn = &conns[i];
		(void)strlcpy(conns[i].name, "client", sizeof(conns[i].name));
	}
	buf_init(&out, 1024 * 1024);
	route_init();
}

static void
act(struct frame *f)
{
	struct client	*cl = &clients[f->txid % 3];
	struct peer	*p = &peers[f->txid % 2];
	struct buf	 b;
	const char	*why;

	switch ((f->txid / 3) % 6) {
	case 0:
		(void)route_register(cl, frame_get(f, "name"), &why);
		break;
	case 1:
		if (frame_get(f, "to") != NULL)
			(void)route_client_frame(cl, f);
		break;
	case 2:
		(void)route_peer_frame(p, f);
		break;
	case 3:
		route_peer_down(p);
		route_peer_up(p);
		break;
	case 4:
		route_client_gone(cl);
		break;
	case 5:
		buf_init(&b, 64 * 1024);
		(void)route_services(&b);
		buf_free(&b);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct frame	 f;
	struct wire_parser	 wp;
	size_t			 off = 0;
	int			 i;

	if (D == NULL)
		setup();
	if (size < 4)
		return 0;
	memcpy(&failmask, data, 4);
	off = 4;
	nsends = 0;
	while (off < size) {
		wire_parser_init(&wp, 64 * 1024);
		if (wire_parse(&wp, data + off, size - off, &f) != WIRE_FRAME)
			break;
		off += wire_framelen(&wp);
		act(&f);
	}
	for (i = 0; i < 3; i++)
		route_client_gone(&clients[i]);
	for (i = 0; i < 2; i++)
		route_peer_down(&peers[i]);
	return 0;
}

/* Quiet logging: libcl/log.c is not linked in. */
void
log_warn(const char *fmt, ...)
{
	(void)fmt;
}

void
log_warnx(const char *fmt, ...)
{
	(void)fmt;
}

void
log_info(const char *fmt, ...)
{
	(void)fmt;
}

void
log_debug(const char *fmt, ...)
{
	(void)fmt;
}

void
fatal(const char *fmt, ...)
{
	(void)fmt;
	abort();
}
