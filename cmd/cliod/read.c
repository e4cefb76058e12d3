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
 * The read pipeline: block list (cached, seed 002 L740), pread of the
 * written extents straight into the answer's buffer, zeros for holes and
 * unwritten extents (seed 002 L305-L309: never-written blocks read as
 * zeros, not as what was there before), nothing past the file's size.
 */

#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cliod.h"
#include "log.h"

static void	 plan(struct req *);

void
read_start(struct req *r)
{
	if ((r->in = mc_get(r->v, r->ino, r->gen)) == NULL) {
		req_fail(r, ENOMEM, "read: too many files in use");
		return;
	}
	plan(r);
}

static void
answer(struct req *r)
{
	struct frame	 f;

	r->v->st.reads++;
	r->v->st.rbytes += r->datalen;
	frame_init(&f, "ok", r->txid);
	if (r->eof)
		frame_add(&f, "eof", "1");
	frame_payload(&f, r->data, r->datalen);
	req_answer(r, &f);
}

static void
got(struct iojob *j)
{
	struct req	*r = io_arg(j);

	if (io_error(j) != 0 && r->err == 0)
		r->err = io_error(j);
	if (--r->pending > 0)
		return;
	if (r->err != 0) {
		log_warnx("%s: read of inode %u: %s", r->v->name, r->ino,
		    strerror(r->err));
		req_fail(r, EIO, "read: inode %u: %s", r->ino,
		    strerror(r->err));
		return;
	}
	answer(r);
}

/* The first extent that ends after pos, or NULL. */
static const struct fs_extent *
next_extent(const struct inode *in, uint64_t pos)
{
	const struct fs_extent *best = NULL;
	size_t	 i;

	for (i = 0; i < in->next; i++)
		if (in->ext[i].off + in->ext[i].len > pos &&
		    (best == NULL || in->ext[i].off < best->off))
			best = &in->ext[i];
	return best;
}

/* Queue the preads, zero the rest: 0, or -1 and errno. */
static int
issue(struct req *r, uint64_t n)
{
	const struct fs_extent *e;
	uint64_t	 pos = r->off, end = r->off + n, to;
	uint8_t		*p;

	r->pending = 1;		/* held until every job is queued */
	while (pos < end) {
		p = r->data + (pos - r->off);
		e = next_extent(r->in, pos);
		if (e == NULL || e->off >= end) {
			memset(p, 0, end - pos);
			break;
		}
		if (e->off > pos) {
			memset(p, 0, e->off - pos);
			pos = e->off;
			continue;
		}
		to = e->off + e->len < end ? e->off + e->len : end;
		if (!e->written)
			memset(p, 0, to - pos);
		else {
			r->pending++;
			if (io_pread(r->v->fd, p, to - pos,
			    (off_t)(e->dev + (pos - e->off)), got, r) == -1) {
				r->pending--;
				return -1;
			}
		}
		pos = to;
	}
	return 0;
}

static void
plan(struct req *r)
{
	uint64_t	 bs = r->v->bsize, off, len, n;

	if (!mc_covers(r->in, r->off, r->len > 0 ? r->len : 1, 0)) {
		/* Woken by another request's map: no count, look again. */
		if (r->mapper && r->maps > WRITE_TRIES) {
			req_fail(r, EIO, "read: no block list for inode %u",
			    r->ino);
			return;
		}
		/* Map ahead: the next reads of a stream need no map. */
		off = r->off / bs * bs;
		len = r->len < READ_MAPAHEAD ? READ_MAPAHEAD : r->len;
		mc_map(r->in, r, off, (len + bs - 1) / bs * bs, 0);
		return;
	}
	if (r->maps == 0)
		r->v->st.maphits++;
	/* Nothing past the end of the file. */
	n = r->off >= r->in->size ? 0 : r->in->size - r->off;
	if (n > r->len)
		n = r->len;
	r->eof = r->off + n >= r->in->size;
	if (n == 0) {
		answer(r);
		return;
	}
	if ((r->data = malloc(n)) == NULL) {
		req_fail(r, ENOMEM, "read: out of memory");
		return;
	}
	r->datalen = n;
	if (issue(r, n) == -1)
		r->err = errno;
	/* Drop the hold: the jobs may all be done, or there were none. */
	if (--r->pending > 0)
		return;
	if (r->err != 0)
		req_fail(r, EIO, "read: cannot queue the I/O");
	else
		answer(r);
}

void
read_ready(struct req *r, int err)
{
	if (err != 0) {
		req_fail(r, err, "read: inode %u: %s", r->ino, strerror(err));
		return;
	}
	plan(r);
}
