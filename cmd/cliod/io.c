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
 * Disk I/O on a small pool of worker threads (seed 002 L456-L462: the
 * store-and-forward and storage drivers).  The event loop never waits on
 * the disk: it queues jobs, a worker runs pwritev, pread or fdatasync,
 * and the finished job comes back through a pipe the loop polls.  Only
 * the job queues are shared, under one mutex; every callback runs in the
 * loop.
 */

#define _GNU_SOURCE	/* splice */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cliod.h"
#include "log.h"
#include "sock.h"

#define JOB_IOV		8		/* iovecs per write job */

enum jobkind { J_WRITE, J_READ, J_SYNC, J_SPLICE };

struct iojob {
	STAILQ_ENTRY(iojob) entry;
	enum jobkind	 kind;
	int		 fd;
	struct iovec	 iov[JOB_IOV];
	int		 iovcnt;
	off_t		 off;
	int		 pfd;		/* splice: the pipe's write end */
	const struct rseg *segs;		/* splice: what goes into it */
	size_t		 nsegs;
	int		 err;
	io_cb		 cb;
	void		*arg;
};
STAILQ_HEAD(jobq, iojob);

static struct {
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cv;
	struct jobq	 todo, done;
	int		 ntodo;
	int		 quit;
	int		 pipe[2];
	int		 nthreads;
	pthread_t	 threads[16];
} IO = { .pipe = { -1, -1 } };

/* Every byte of iov at off, through short transfers and EINTR. */
static int
do_write(struct iojob *j)
{
	struct iovec	*iov = j->iov;
	int		 cnt = j->iovcnt;
	off_t		 off = j->off;
	ssize_t		 n;

	while (cnt > 0) {
		if (iov->iov_len == 0) {
			iov++, cnt--;
			continue;
		}
		if ((n = pwritev(j->fd, iov, cnt, off)) == -1) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		off += n;
		while (cnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++, cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* A short read means the volume is smaller than its block list says. */
static int
do_read(struct iojob *j)
{
	uint8_t		*p = j->iov[0].iov_base;
	size_t		 left = j->iov[0].iov_len;
	off_t		 off = j->off;
	ssize_t		 n;

	while (left > 0) {
		if ((n = pread(j->fd, p, left, off)) == -1) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0)
			return EIO;
		p += n;
		off += n;
		left -= (size_t)n;
	}
	return 0;
}

/*
 * Fill a pipe as large as the whole answer: the written extents spliced
 * from the volume (page references, not copies; a cold page is read
 * here, not in the loop), zeros for the rest.
 */
static int
do_splice(struct iojob *j)
{
	static const uint8_t zeros[64 * 1024];
	const struct rseg *s;
	size_t		 i, left;
	loff_t		 off;
	ssize_t		 n;

	for (i = 0; i < j->nsegs; i++) {
		s = &j->segs[i];
		off = (loff_t)s->dev;
		for (left = s->len; left > 0; left -= (size_t)n) {
			if (s->zero)
				n = write(j->pfd, zeros, left < sizeof(zeros) ?
				    left : sizeof(zeros));
			else
				n = splice(j->fd, &off, j->pfd, NULL, left, 0);
			if (n == -1) {
				if (errno == EINTR) {
					n = 0;
					continue;
				}
				return errno;
			}
			if (n == 0)
				return EIO;
		}
	}
	return 0;
}

static void
run(struct iojob *j)
{
	switch (j->kind) {
	case J_WRITE:
		j->err = do_write(j);
		break;
	case J_READ:
		j->err = do_read(j);
		break;
	case J_SYNC:
		j->err = fdatasync(j->fd) == -1 ? errno : 0;
		break;
	case J_SPLICE:
		j->err = do_splice(j);
		break;
	}
}

static void *
worker(void *arg)
{
	struct iojob	*j;

	(void)arg;
	for (;;) {
		if (pthread_mutex_lock(&IO.mtx) != 0)
			abort();
		while (STAILQ_EMPTY(&IO.todo) && !IO.quit)
			(void)pthread_cond_wait(&IO.cv, &IO.mtx);
		if (IO.quit) {
			(void)pthread_mutex_unlock(&IO.mtx);
			return NULL;
		}
		j = STAILQ_FIRST(&IO.todo);
		STAILQ_REMOVE_HEAD(&IO.todo, entry);
		(void)pthread_mutex_unlock(&IO.mtx);
		run(j);
		(void)pthread_mutex_lock(&IO.mtx);
		STAILQ_INSERT_TAIL(&IO.done, j, entry);
		(void)pthread_mutex_unlock(&IO.mtx);
		/* A full pipe already holds a wakeup: nothing is lost. */
		(void)write(IO.pipe[1], "", 1);
	}
}

/* Finished jobs, in the loop. */
static void
completions(int fd, short ev, void *arg)
{
	struct jobq	 q;
	struct iojob	*j;
	char		 b[256];

	(void)ev;
	(void)arg;
	while (read(fd, b, sizeof(b)) > 0)
		;
	STAILQ_INIT(&q);
	(void)pthread_mutex_lock(&IO.mtx);
	STAILQ_CONCAT(&q, &IO.done);
	(void)pthread_mutex_unlock(&IO.mtx);
	while ((j = STAILQ_FIRST(&q)) != NULL) {
		STAILQ_REMOVE_HEAD(&q, entry);
		IO.ntodo--;
		j->cb(j);
		free(j);
	}
}

int
io_init(int n)
{
	int	 i;

	STAILQ_INIT(&IO.todo);
	STAILQ_INIT(&IO.done);
	if (pthread_mutex_init(&IO.mtx, NULL) != 0 ||
	    pthread_cond_init(&IO.cv, NULL) != 0)
		return -1;
	if (pipe(IO.pipe) == -1 || sock_nonblock(IO.pipe[0]) == -1 ||
	    sock_nonblock(IO.pipe[1]) == -1)
		return -1;
	if (loop_fd_add(IO.pipe[0], POLLIN, completions, NULL) == -1)
		return -1;
	if (n > (int)(sizeof(IO.threads) / sizeof(IO.threads[0])))
		n = (int)(sizeof(IO.threads) / sizeof(IO.threads[0]));
	for (i = 0; i < n; i++) {
		if ((errno = pthread_create(&IO.threads[i], NULL, worker,
		    NULL)) != 0)
			return -1;
		IO.nthreads++;
	}
	return 0;
}

void
io_shutdown(void)
{
	int	 i;

	(void)pthread_mutex_lock(&IO.mtx);
	IO.quit = 1;
	(void)pthread_cond_broadcast(&IO.cv);
	(void)pthread_mutex_unlock(&IO.mtx);
	for (i = 0; i < IO.nthreads; i++)
		(void)pthread_join(IO.threads[i], NULL);
	IO.nthreads = 0;
}

static int
submit(struct iojob *j)
{
	if (pthread_mutex_lock(&IO.mtx) != 0) {
		free(j);
		errno = EIO;
		return -1;
	}
	STAILQ_INSERT_TAIL(&IO.todo, j, entry);
	IO.ntodo++;
	(void)pthread_cond_signal(&IO.cv);
	(void)pthread_mutex_unlock(&IO.mtx);
	return 0;
}

static struct iojob *
job(enum jobkind kind, int fd, off_t off, io_cb cb, void *arg)
{
	struct iojob	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->kind = kind;
	j->fd = fd;
	j->off = off;
	j->cb = cb;
	j->arg = arg;
	return j;
}

/* The iovecs are copied; the buffers they point at must stay. */
int
io_pwritev(int fd, const struct iovec *iov, int cnt, off_t off, io_cb cb,
    void *arg)
{
	struct iojob	*j;

	if (cnt > JOB_IOV) {
		errno = EINVAL;
		return -1;
	}
	if ((j = job(J_WRITE, fd, off, cb, arg)) == NULL)
		return -1;
	memcpy(j->iov, iov, (size_t)cnt * sizeof(*iov));
	j->iovcnt = cnt;
	return submit(j);
}

int
io_pread(int fd, void *p, size_t n, off_t off, io_cb cb, void *arg)
{
	struct iojob	*j;

	if ((j = job(J_READ, fd, off, cb, arg)) == NULL)
		return -1;
	j->iov[0].iov_base = p;
	j->iov[0].iov_len = n;
	j->iovcnt = 1;
	return submit(j);
}

/* The segments must stay until the callback. */
int
io_splice(int fd, int pfd, const struct rseg *segs, size_t nsegs, io_cb cb,
    void *arg)
{
	struct iojob	*j;

	if ((j = job(J_SPLICE, fd, 0, cb, arg)) == NULL)
		return -1;
	j->pfd = pfd;
	j->segs = segs;
	j->nsegs = nsegs;
	return submit(j);
}

void *
io_arg(const struct iojob *j)
{
	return j->arg;
}

int
io_error(const struct iojob *j)
{
	return j->err;
}

int
io_queued(void)
{
	return IO.ntodo;
}

static void	 sync_start(struct fsvol *);

static void
sync_done(struct iojob *j)
{
	struct fsvol	*v = j->arg;
	struct syncq	 q;
	struct syncw	*w;

	v->insync = 0;
	v->st.fsyncs++;
	if (j->err != 0)
		log_warnx("%s: fdatasync: %s", v->name, strerror(j->err));
	TAILQ_INIT(&q);
	TAILQ_CONCAT(&q, &v->syncing, entry);
	io_sync_kick(v);
	while ((w = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, w, entry);
		w->done(w, j->err);
	}
}

static void
sync_start(struct fsvol *v)
{
	struct iojob	*j;
	struct syncw	*w;

	TAILQ_CONCAT(&v->syncing, &v->syncwait, entry);
	v->nsyncwait = 0;
	v->insync = 1;
	if ((j = job(J_SYNC, v->fd, 0, sync_done, v)) != NULL &&
	    submit(j) == 0)
		return;
	v->insync = 0;
	while ((w = TAILQ_FIRST(&v->syncing)) != NULL) {
		TAILQ_REMOVE(&v->syncing, w, entry);
		w->done(w, ENOMEM);
	}
}

/*
 * Start a sync if one is due: none runs, someone waits, and either no
 * pwrite of the volume is still going (it would be covered by the next
 * sync anyway) or enough writes wait.  Fewer, larger fdatasyncs cost
 * the disk far less than one per write.
 */
void
io_sync_kick(struct fsvol *v)
{
	if (v->insync || TAILQ_EMPTY(&v->syncwait))
		return;
	if (v->writing == 0 || v->nsyncwait >= SYNC_BATCH)
		sync_start(v);
}

/*
 * Durability for data already written: one fdatasync covers every write
 * that finished before it began, so a write whose data came back while a
 * sync runs waits for the next one, which then covers all such writes
 * at once.  No write is acknowledged before its sync returns.
 */
void
io_sync(struct fsvol *v, struct syncw *w)
{
	TAILQ_INSERT_TAIL(&v->syncwait, w, entry);
	v->nsyncwait++;
	io_sync_kick(v);
}
