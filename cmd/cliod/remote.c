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
 *
 * A client may name the node (via=N, client load rebalancing, util.c).
 * An aware client's chunks carry aware=1 and client=ID, and are not
 * retried as a normal client's are (seed 002 L511-L517: a normal client
 * retries; an aware one takes another path, L583): a node that is not
 * there or does not answer in CALL_DEADLINE_MS fails the request with
 * pathfail=1 (mesh_call_aware).  A chunk answered with a redirect did nothing (util.c
 * redirects before any I/O): when every chunk was, the client gets the
 * redirect and sends the request again elsewhere; when only some were
 * (the node went over util_high between them), those go to the named
 * path, or again to the same node as a normal client's, and the answer
 * carries the redirect as a hint for the client's next requests.  Either
 * way every byte is written once.
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
	TAILQ_ENTRY(chunk) entry;	/* a read waiting for its turn */
	struct req	*r;
	int		 i;
	uint32_t	 node;
	int		 aware;
	int		 counted;	/* in reads_out */
};

/*
 * Read chunks in flight, all requests together.  Their answers carry
 * the bytes, and an answer that finds this cliod's queue at clmemberd
 * full (1 MiB) is dropped without a receipt (cl-wire(5), ROUTING): a
 * 1 MiB get with 16 requests in flight would have 16 MiB coming back at
 * once, and lost chunks cost an attempt's timeout each.  So at most this
 * many, the rest in line.
 */
#define REMOTE_READS_MAX	12
static TAILQ_HEAD(, chunk) readq = TAILQ_HEAD_INITIALIZER(readq);
static int		 reads_out;
static int		 pumping;

struct rctx {
	struct chunk	 c[CHUNKS_MAX];
	size_t		 got[CHUNKS_MAX];	/* read: bytes per chunk */
	int		 eof[CHUNKS_MAX];
	int		 redir[CHUNKS_MAX];	/* answered with a redirect */
	int		 n;
	int		 err;
	int		 pathfail;	/* err: no answer from node */
	uint32_t	 node;
	uint32_t	 path;		/* a redirect's path=, 0 none */
	uint32_t	 redirector;	/* the node that redirected */
	uint32_t	 moved;		/* where redirected chunks went */
	char		 reason[256];
};

static int	 send_chunk(struct req *, int, uint32_t, int);
static void	 reads_pump(void);

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
		if (x->pathfail) {
			(void)fs_error(&f, r->txid, x->err, "%s via node %u: %s",
			    r->op, x->node, strerror(x->err));
			frame_add(&f, "pathfail", "1");
			frame_add(&f, "node", "%u", x->node);
			r->err = x->err;
			req_answer(r, &f);
			return;
		}
		req_fail(r, x->err, "%s via node %u: %s", r->op, x->node,
		    x->reason[0] != '\0' ? x->reason : strerror(x->err));
		return;
	}
	for (i = 0; i < x->n; i++)
		if (x->redir[i])
			n++;
	if (n == (size_t)x->n && x->moved == 0) {
		/* Nothing was done: the client sends it again elsewhere. */
		(void)fs_error(&f, r->txid, EAGAIN, "%s", x->reason);
		frame_add(&f, "redirect", "1");
		frame_add(&f, "node", "%u", x->redirector);
		if (x->path != 0)
			frame_add(&f, "path", "%u", x->path);
		req_answer(r, &f);
		return;
	}
	if (n > 0) {
		/* Some were done: the rest where the redirect said. */
		x->moved = x->path != 0 && x->path != meta_self() ? x->path :
		    x->node;
		log_debug("%s of %s: %zu of %d chunks redirected by node %u: "
		    "to node %u", r->op, r->v->name, n, x->n, x->redirector,
		    x->moved);
		x->node = x->moved;
		r->pending = 1;
		for (i = 0; i < x->n; i++) {
			if (!x->redir[i])
				continue;
			x->redir[i] = 0;
			r->pending++;
			if (send_chunk(r, i, x->moved, 0) == -1) {
				r->pending--;
				x->err = ENOMEM;
				break;
			}
		}
		if (--r->pending == 0)
			done(r);
		return;
	}
	n = 0;
	frame_init(&f, "ok", r->txid);
	if (x->moved != 0) {
		/* For the client's next requests: passive, path given. */
		frame_add(&f, "redirect", "1");
		frame_add(&f, "node", "%u", x->redirector);
		frame_add(&f, "path", "%u", x->moved);
	}
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
	uint32_t	 path;

	if (c->counted) {
		c->counted = 0;
		reads_out--;
	}
	if (err != 0) {
		/* No answer: the node is gone, or hangs. */
		if (x->err == 0) {
			x->err = err;
			x->pathfail = 1;
		}
	} else if ((err = fs_answer_errno(f)) == EAGAIN &&
	    frame_get(f, "redirect") != NULL) {
		x->redir[c->i] = 1;
		x->redirector = x->node;
		if (frame_getu64(f, "path", &size) == 0 && size > 0 &&
		    size <= CONF_NODEID_MAX && (path = (uint32_t)size) !=
		    x->node)
			x->path = path;
		if (frame_get(f, "reason") != NULL)
			(void)strlcpy(x->reason, frame_get(f, "reason"),
			    sizeof(x->reason));
	} else if (err != 0) {
		if (frame_get(f, "reason") != NULL)
			(void)strlcpy(x->reason, frame_get(f, "reason"),
			    sizeof(x->reason));
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
	reads_pump();
}

/* The call for chunk c: 0, or -1. */
static int
chunk_call(struct chunk *c)
{
	struct req	*r = c->r;
	struct frame	 f;
	uint64_t	 off = (uint64_t)c->i * REMOTE_CHUNK;
	size_t		 len = chunk_len(r, c->i);
	uint32_t	 node = c->node;
	int		 aware = c->aware;

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
	if (aware) {
		frame_add(&f, "aware", "1");
		frame_add(&f, "client", "%llu", (unsigned long long)r->cid);
	}
	if (f.err)
		return -1;
	if (aware)
		return mesh_call_aware(node, &f, chunk_done, c);
	return mesh_call(node, &f, chunk_done, c);
}

/* Send the reads in line while there is room; a failure ends its chunk. */
static void
reads_pump(void)
{
	struct chunk	*c;
	struct req	*r;

	while (reads_out < REMOTE_READS_MAX &&
	    (c = TAILQ_FIRST(&readq)) != NULL) {
		TAILQ_REMOVE(&readq, c, entry);
		c->counted = 1;
		reads_out++;
		if (chunk_call(c) == 0)
			continue;
		c->counted = 0;
		reads_out--;
		r = c->r;
		((struct rctx *)r->rctx)->err = ENOMEM;
		if (--r->pending == 0)
			done(r);
	}
}

/* Chunk i of r to node: now, or for a read, in line. */
static int
send_chunk(struct req *r, int i, uint32_t node, int aware)
{
	struct rctx	*x = r->rctx;
	struct chunk	*c = &x->c[i];

	c->r = r;
	c->i = i;
	c->node = node;
	c->aware = aware;
	c->counted = 0;
	if (strcmp(r->op, "write") == 0)
		return chunk_call(c);
	TAILQ_INSERT_TAIL(&readq, c, entry);
	if (reads_out < REMOTE_READS_MAX && !pumping) {
		pumping = 1;
		reads_pump();
		pumping = 0;
	}
	return 0;
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
		r->pending++;
		if (send_chunk(r, i, x->node, r->aware) == -1) {
			r->pending--;
			x->err = ENOMEM;
			break;
		}
	}
	if (--r->pending == 0)
		done(r);
}

static void
look(void *arg)
{
	struct req	*r = arg;
	struct rctx	*x = r->rctx;

	if (r->via != 0) {
		x->node = r->via;
		go(r);
		return;
	}
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
