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
 * Write-behind.  cliod answers a write only once its data and commit are
 * durable (an fdatasync and a clmetad round trip), so one write(2) at a
 * time would run at the speed of that chain.  Instead, as NFS does with
 * unstable writes, a write(2) returns once its frame is sent on the
 * file's write connection; up to CM_WINDOW are in flight, and cliod
 * folds their fdatasyncs together.  The answers are taken when the
 * window is full, and all of them before anything that must see the
 * writes: a read, a stat or a setattr (cp -a sets the mtime before it
 * closes: a commit after it would move the mtime again), fsync, and
 * close (flush).  A failed write (ENOSPC, EIO) is told by the next write,
 * fsync or close of that file.  Close-to-open across nodes holds: close
 * returns only when every write is durable and committed.
 */

#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "clmount.h"
#include "log.h"

struct cm_file *
file_new(uint32_t ino, uint32_t gen, int flags)
{
	struct cm_file	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	if (pthread_mutex_init(&f->lock, NULL) != 0) {
		free(f);
		return NULL;
	}
	f->ino = ino;
	f->gen = gen;
	f->flags = flags;
	f->refs = 1;
	if (pthread_mutex_lock(&cm.flock) != 0)
		abort();
	f->next = cm.files;
	cm.files = f;
	cm.nfiles++;
	(void)pthread_mutex_unlock(&cm.flock);
	return f;
}

static void
file_unref(struct cm_file *f)
{
	int	 last;

	if (pthread_mutex_lock(&cm.flock) != 0)
		abort();
	last = --f->refs == 0;
	(void)pthread_mutex_unlock(&cm.flock);
	if (last) {
		(void)pthread_mutex_destroy(&f->lock);
		free(f);
	}
}

/* One answer to a write in flight; -1 when the connection is lost. */
static int
take_answer(struct cm_file *f)
{
	struct frame	 ans;
	int		 rc, e;

	rc = ctl_recv(&f->wc->ctl, &ans, cm.timeout);
	if (rc != 1) {
		log_warnx("write to inode %" PRIu32 ": %s", f->ino, rc == 0 ?
		    "cliod closed the connection" : errno == EPROTO ?
		    f->wc->ctl.reason : strerror(errno));
		pool_drop(f->wc);
		f->wc = NULL;
		f->nout = 0;
		if (f->error == 0)
			f->error = EIO;
		e = -1;
	} else {
		if ((e = fs_answer_errno(&ans)) == EPROTO)
			e = EIO;
		if (e != 0 && f->error == 0)
			f->error = e;
		f->nout--;
		e = 0;
	}
	if (f->nout == 0) {
		pool_put(f->wc);
		f->wc = NULL;
		if (pthread_mutex_lock(&cm.flock) != 0)
			abort();
		cm.npending--;
		(void)pthread_mutex_unlock(&cm.flock);
	}
	return e;
}

/*
 * Every answer of f's writes in flight.  With clear, the first failure
 * (or 0) is returned and forgotten, as fsync and close report it.
 */
static int
drain(struct cm_file *f, int clear)
{
	int	 e = 0;

	if (pthread_mutex_lock(&f->lock) != 0)
		abort();
	while (f->nout > 0)
		(void)take_answer(f);
	if (clear) {
		e = f->error;
		f->error = 0;
	}
	(void)pthread_mutex_unlock(&f->lock);
	return e;
}

int
wb_drain(struct cm_file *f)
{
	return drain(f, 1);
}

/* Whatever any open file has in flight: before a stat, read, setattr. */
void
wb_drain_all(void)
{
	struct cm_file	**v, *f;
	int		 i, n = 0;

	if (pthread_mutex_lock(&cm.flock) != 0)
		abort();
	if (cm.npending == 0 ||
	    (v = calloc((size_t)cm.nfiles, sizeof(*v))) == NULL) {
		(void)pthread_mutex_unlock(&cm.flock);
		return;
	}
	for (f = cm.files; f != NULL && n < cm.nfiles; f = f->next) {
		f->refs++;
		v[n++] = f;
	}
	(void)pthread_mutex_unlock(&cm.flock);
	for (i = 0; i < n; i++) {
		(void)drain(v[i], 0);
		file_unref(v[i]);
	}
	free(v);
}

/* The last close: its writes were drained by flush; forget the file. */
void
file_release(struct cm_file *f)
{
	struct cm_file	**pp;

	(void)drain(f, 1);
	if (pthread_mutex_lock(&cm.flock) != 0)
		abort();
	for (pp = &cm.files; *pp != NULL; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			cm.nfiles--;
			break;
		}
	(void)pthread_mutex_unlock(&cm.flock);
	file_unref(f);
}

/*
 * Send one write of at most FS_IO_MAX bytes: 0 once it is on its way,
 * or the errno of an earlier write of this file that failed.
 */
int
wb_write(struct cm_file *f, const char *buf, size_t n, uint64_t off)
{
	struct fuse_context *ctx = fuse_get_context();
	struct frame	 req;
	int		 e = 0;

	if (pthread_mutex_lock(&f->lock) != 0)
		abort();
	if (f->error != 0)
		goto fail;
	while (f->nout >= CM_WINDOW)
		if (take_answer(f) == -1)
			goto fail;
	if (f->wc == NULL && (f->wc = pool_get(ctx != NULL ? ctx->uid : 0,
	    ctx != NULL ? ctx->gid : 0, &e)) == NULL)
		goto out;
	frame_init(&req, "write", 0);
	(void)frame_add(&req, "fs", "%s", cm.fs);
	(void)frame_add(&req, "ino", "%" PRIu32, f->ino);
	(void)frame_add(&req, "gen", "%" PRIu32, f->gen);
	(void)frame_add(&req, "off", "%" PRIu64, off);
	frame_payload(&req, buf, n);
	if (pool_send(f->wc, &req) == -1) {
		log_warnx("write to inode %" PRIu32 ": %s", f->ino,
		    strerror(errno));
		/* Those in flight are lost with the connection. */
		pool_drop(f->wc);
		f->wc = NULL;
		if (f->nout > 0) {
			f->nout = 0;
			if (pthread_mutex_lock(&cm.flock) != 0)
				abort();
			cm.npending--;
			(void)pthread_mutex_unlock(&cm.flock);
		}
		e = EIO;
		goto out;
	}
	if (f->nout++ == 0) {
		if (pthread_mutex_lock(&cm.flock) != 0)
			abort();
		cm.npending++;
		(void)pthread_mutex_unlock(&cm.flock);
	}
	goto out;
fail:
	e = f->error;
	f->error = 0;
out:
	(void)pthread_mutex_unlock(&f->lock);
	return e;
}
