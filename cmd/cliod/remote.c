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
 * A node that cannot reach a volume (its path is "" in cl.conf) sends
 * reads and writes to the cliod of a node that can, clmetad's first
 * (seed 002 L283, L564: a server without the path forwards the I/O).
 * clmemberd takes at most MSG_PAYLOAD_MAX bytes of payload from a
 * service, so a request goes as chunks of REMOTE_CHUNK bytes, all in
 * flight at once.  A write is answered when every chunk is durable on
 * the other node; a read stops at the first short chunk.
 */

#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cliod.h"
#include "log.h"

#define CHUNKS_MAX	((FS_IO_MAX + REMOTE_CHUNK - 1) / REMOTE_CHUNK)
#define PEER_WAIT_MS	200		/* ms between looks for a peer */

struct chunk {
	struct req	*r;
	int		 i;
};

struct rctx {
	struct chunk	 c[CHUNKS_MAX];
	size_t		 got[CHUNKS_MAX];	/* read: bytes per chunk */
	int		 eof[CHUNKS_MAX];
	int		 n;
	int		 err;
	uint32_t	 node;
	char		 reason[256];
};

/* Bytes chunk i of r asks for. */
static size_t
chunk_len(const struct req *r, int i)
{
	uint64_t	 off = (uint64_t)i * REMOTE_CHUNK;

	return r->len - off < REMOTE_CHUNK ? (size_t)(r->len - off) :
	    REMOTE_CHUNK;
}

static void
done(struct req *r)
{
	struct rctx	*x = r->rctx;
	struct frame	 f;
	size_t		 n = 0;
	int		 i;

	if (x->err != 0) {
		req_fail(r, x->err, "%s via node %u: %s", r->op, x->node,
		    x->reason[0] != '\0' ? x->reason : strerror(x->err));
		return;
	}
	frame_init(&f, "ok", r->txid);
	if (strcmp(r->op, "write") == 0) {
		r->v->st.writes++;
		r->v->st.wbytes += r->len;
		frame_add(&f, "size", "%" PRIu64, r->size);
		req_answer(r, &f);
		return;
	}
	/* The bytes up to the first short chunk: the file ends there. */
	for (i = 0; i < x->n; i++) {
		n += x->got[i];
		if (x->eof[i] || x->got[i] < chunk_len(r, i)) {
			frame_add(&f, "eof", "1");
			break;
		}
	}
	r->datalen = n;
	r->v->st.reads++;
	r->v->st.rbytes += n;
	frame_payload(&f, r->data, n);
	req_answer(r, &f);
}

static void
chunk_done(void *arg, int err, const struct frame *f)
{
	struct chunk	*c = arg;
	struct req	*r = c->r;
	struct rctx	*x = r->rctx;
	uint64_t	 size;

	if (err == 0 && (err = fs_answer_errno(f)) != 0 &&
	    frame_get(f, "reason") != NULL)
		(void)strlcpy(x->reason, frame_get(f, "reason"),
		    sizeof(x->reason));
	if (err != 0) {
		if (x->err == 0)
			x->err = err;
	} else if (strcmp(r->op, "write") == 0) {
		if (frame_getu64(f, "size", &size) == 0 && size > r->size)
			r->size = size;
	} else {
		if (f->len > chunk_len(r, c->i)) {
			x->err = EPROTO;
		} else {
			memcpy(r->data + (size_t)c->i * REMOTE_CHUNK,
			    f->payload, f->len);
			x->got[c->i] = f->len;
			x->eof[c->i] = frame_get(f, "eof") != NULL;
		}
	}
	if (--r->pending == 0)
		done(r);
}

static int
send_chunk(struct req *r, int i)
{
	struct rctx	*x = r->rctx;
	struct frame	 f;
	uint64_t	 off = (uint64_t)i * REMOTE_CHUNK;
	size_t		 len = chunk_len(r, i);

	x->c[i].r = r;
	x->c[i].i = i;
	frame_init(&f, r->op, 0);
	frame_add(&f, "fs", "%s", r->v->name);
	frame_add(&f, "ino", "%u", r->ino);
	frame_add(&f, "gen", "%u", r->gen);
	frame_add(&f, "off", "%" PRIu64, r->off + off);
	req_add_ids(r, &f);
	if (r->token[0] != '\0')
		frame_add(&f, "token", "%s", r->token);
	if (strcmp(r->op, "write") == 0)
		frame_payload(&f, r->data + off, len);
	else
		frame_add(&f, "count", "%zu", len);
	if (f.err)
		return -1;
	return mesh_call(x->node, &f, chunk_done, &x->c[i]);
}

static void
go(struct req *r)
{
	struct rctx	*x = r->rctx;
	int		 i;

	x->n = r->len == 0 ? 1 : (int)((r->len + REMOTE_CHUNK - 1) /
	    REMOTE_CHUNK);
	r->pending = 1;
	for (i = 0; i < x->n; i++) {
		if (send_chunk(r, i) == -1) {
			x->err = ENOMEM;
			break;
		}
		r->pending++;
	}
	if (--r->pending == 0)
		done(r);
}

static void
look(void *arg)
{
	struct req	*r = arg;
	struct rctx	*x = r->rctx;

	if ((x->node = meta_pick_peer(r->v)) != 0) {
		go(r);
		return;
	}
	if (loop_now() - r->started >= CALL_DEADLINE_MS) {
		req_fail(r, EHOSTUNREACH, "%s: no node that can reach "
		    "volume %s runs cliod", r->op, r->v->name);
		return;
	}
	timer_setup(&r->t, look, r);
	timer_in(&r->t, PEER_WAIT_MS);
}

void
remote_start(struct req *r)
{
	r->v->st.remote++;
	if ((r->rctx = calloc(1, sizeof(struct rctx))) == NULL ||
	    (strcmp(r->op, "read") == 0 && r->len > 0 &&
	    (r->data = malloc(r->len)) == NULL)) {
		req_fail(r, ENOMEM, "%s: out of memory", r->op);
		return;
	}
	/* From a timer: the peer list may need clmemberd, not now. */
	timer_setup(&r->t, look, r);
	timer_in(&r->t, 0);
}
