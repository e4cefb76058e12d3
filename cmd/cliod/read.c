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
 * A large answer to a local client goes through a pipe instead: spliced
 * from the volume on a worker, spliced to the socket in the loop.
 */

#define _GNU_SOURCE	/* F_SETPIPE_SZ */

#include <sys/types.h>
#include <sys/ioctl.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cliod.h"
#include "log.h"

static void	 plan(struct req *);

/*
 * Pipes, each as large as the largest read, kept for reuse: a large
 * answer to a local client goes volume to pipe (on a worker) and pipe to
 * socket (in the loop) by page reference, never through a buffer here.
 */
static int	 pipes[PIPES_MAX][2];
static int	 npipes;		/* free, in pipes[] */
static int	 pipes_open;		/* free or in use */
static long	 pipe_pages;		/* each pipe's capacity */

static int
pipe_get(struct req *r)
{
	int	 p[2];

	if (npipes > 0) {
		npipes--;
		r->pipe[0] = pipes[npipes][0];
		r->pipe[1] = pipes[npipes][1];
		return 0;
	}
	if (pipes_open >= PIPES_MAX || pipe2(p, O_CLOEXEC) == -1)
		return -1;
	/* Never a worker blocked on a full pipe: an error rather. */
	if (fcntl(p[0], F_SETPIPE_SZ, FS_IO_MAX) < FS_IO_MAX ||
	    fcntl(p[1], F_SETFL, O_NONBLOCK) == -1) {
		(void)close(p[0]);
		(void)close(p[1]);
		return -1;
	}
	pipes_open++;
	r->pipe[0] = p[0];
	r->pipe[1] = p[1];
	return 0;
}

/* Back to the pool if empty, else closed. */
void
read_pipe_put(struct req *r)
{
	int	 n;

	if (r->pipe[0] == -1)
		return;
	if (ioctl(r->pipe[0], FIONREAD, &n) == 0 && n == 0) {
		pipes[npipes][0] = r->pipe[0];
		pipes[npipes][1] = r->pipe[1];
		npipes++;
	} else {
		(void)close(r->pipe[0]);
		(void)close(r->pipe[1]);
		pipes_open--;
	}
	r->pipe[0] = r->pipe[1] = -1;
}

void
read_start(struct req *r)
{
	if ((r->in = mc_get(r->v, r->ino, r->gen, r->token[0] != '\0')) == NULL) {
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
	if (r->pipe[0] != -1) {
		frame_payload(&f, NULL, r->datalen);
		req_answer_pipe(r, &f);
		return;
	}
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

/* The pieces of the answer, for a pipe: 0, or -1 if too many. */
static int
segments(struct req *r, uint64_t n)
{
	const struct fs_extent *e;
	uint64_t	 pos = r->off, end = r->off + n, to;
	struct rseg	*s;

	r->nsegs = 0;
	while (pos < end) {
		if (r->nsegs == SEGS_MAX)
			return -1;
		s = &r->segs[r->nsegs++];
		e = next_extent(r->in, pos);
		if (e == NULL || e->off >= end)
			to = end;
		else if (e->off > pos)
			to = e->off;
		else
			to = e->off + e->len < end ? e->off + e->len : end;
		s->zero = e == NULL || e->off > pos || !e->written;
		s->dev = s->zero ? 0 : e->dev + (pos - e->off);
		s->len = to - pos;
		pos = to;
	}
	return 0;
}

/*
 * The pipe's slots (a page each) the answer may take: every page a
 * spliced piece touches, and a slot more per run of zeros.
 */
static int
fits(const struct req *r)
{
	uint64_t	 pages = 0, pg;
	size_t		 i;

	if (pipe_pages == 0 && (pipe_pages = sysconf(_SC_PAGESIZE)) > 0)
		pipe_pages = FS_IO_MAX / pipe_pages;
	if (pipe_pages <= 0)
		return 0;
	pg = FS_IO_MAX / (uint64_t)pipe_pages;
	for (i = 0; i < r->nsegs; i++)
		pages += (r->segs[i].dev % pg + r->segs[i].len + pg - 1) / pg +
		    (r->segs[i].zero ? 1 : 0);
	return pages <= (uint64_t)pipe_pages;
}

/* A large answer to a local client: through a pipe, if one is free. */
static int
spliced(struct req *r, uint64_t n)
{
	if (r->cl == NULL || n < SPLICE_MIN || n > FS_IO_MAX ||
	    segments(r, n) == -1 || !fits(r) || pipe_get(r) == -1)
		return 0;
	r->datalen = n;
	r->pending = 1;
	if (io_splice(r->v->fd, r->pipe[1], r->segs, r->nsegs, got, r) ==
	    -1) {
		r->pending = 0;
		read_pipe_put(r);
		return 0;
	}
	return 1;
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
	/* A managed region: the read waits for the DM application. */
	if (dm_region(r)) {
		mc_put(r->in);
		r->in = NULL;
		dm_region_wait(r, read_start);
		return;
	}
	/* Nothing past the end of the file. */
	n = r->off >= r->in->size ? 0 : r->in->size - r->off;
	if (n > r->len)
		n = r->len;
	r->eof = r->off + n >= r->in->size;
	if (n == 0) {
		answer(r);
		return;
	}
	if (spliced(r, n))
		return;
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
