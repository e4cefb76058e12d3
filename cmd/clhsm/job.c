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
 * Migrate and recall (seed 000 claims 13 and 30: a data migration
 * application frees storage space), as state machines that take one
 * bounded step at a time (one HSM_CHUNK of I/O at most), so that the
 * event loop serves events between steps.
 *
 * Migrate, all under an exclusive DM access right of a user token of the
 * session (XDSM dm_create_userevent, dm_request_right), so that no user
 * I/O sees the file between the copy and the punch without an event:
 *	START	stat; token ("tok" in the index first); right
 *	OPEN	stat again under the right; open DIR/tmp/INO.GEN
 *	COPY	token (invisible) reads into it, sha256 on the way
 *	SYNC	fsync; drop its cached pages
 *	VERIFY	read it back from the disk: the same sha256?  rename
 *		into DIR/data/, fsync DIR/data
 *	COMMIT	"put" in the index (durable); managed region 0:0:rwt
 *		(the whole file and past its end); punch every block;
 *		"mig"
 *	DONE	release the right, answer the token, "tokend"
 * A failure before the region is set leaves the file as it was; after
 * it, the file is as good as migrated (a read recalls it).
 *
 * Recall, for a read/write event on a migrated file (the event's token
 * gets the right: its user waits for our answer anyway), or by hand:
 *	START	the index entry and the file's path; right
 *	CHECK	stat under the right: a region still there?
 *	VERIFY	the archive copy's sha256, whole and of the part still
 *		the file's (a truncate shortens it, see idx_valid)
 *	WRITE	token writes of that part (all-zero chunks skipped: the
 *		punched file reads zeros there already)
 *	READBACK token reads: the same sha256?
 *	CLEAR	no region; "del" in the index; the copy goes
 *	DONE	release; answer every event waiting for this file
 * On a failure the events are answered abort (EIO, or ENOSPC when the
 * bytes do not fit): a user never reads the hole's zeros.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clhsm.h"
#include "log.h"
#include "loop.h"

#define ZERO_RUN	4096		/* bytes: unit of hole-skipping */
#define RIGHT_TRIES	3		/* recall: EBUSY answers taken */
#define RETRY_MS	200		/* between them */
#define RIGHT_POLL_MS	10		/* ms: look for a right again */

enum {
	MIG_START, MIG_RIGHT, MIG_OPEN, MIG_COPY, MIG_SYNC, MIG_VERIFY,
	MIG_COMMIT, MIG_DONE
};

enum {
	RC_START, RC_RIGHT, RC_CHECK, RC_VERIFY, RC_WRITE, RC_READBACK,
	RC_CLEAR, RC_DONE
};

enum {
	JOB_MORE,		/* call again */
	JOB_FINISHED
};

static uint8_t	*iobuf;

#define RECENT_MAX	64		/* inodes recalled lately */
static uint32_t	 recent[RECENT_MAX];
static int	 nrecent;

static void
recent_add(uint32_t ino)
{
	recent[nrecent++ % RECENT_MAX] = ino;
}

static int
recent_has(uint32_t ino)
{
	int	 i;

	for (i = 0; i < RECENT_MAX && i < nrecent; i++)
		if (recent[i] == ino)
			return 1;
	return 0;
}

/*
 * Tests only (tests/hsm.bats): CLHSM_TEST_CRASH=NAME kills clhsm with
 * SIGKILL at the crash point NAME, to show that a crash anywhere loses
 * nothing.  Points: copy, put, region, punch, write, clear.
 */
static void
crash_point(const char *name)
{
	const char	*s = getenv("CLHSM_TEST_CRASH");

	if (s != NULL && strcmp(s, name) == 0) {
		log_warnx("CLHSM_TEST_CRASH=%s: killed here", name);
		(void)raise(SIGKILL);
	}
}

struct job *
job_new(enum job_kind kind, const char *path)
{
	struct job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->kind = kind;
	j->fd = -1;
	if (path != NULL)
		(void)strlcpy(j->path, path, sizeof(j->path));
	return j;
}

void
job_free(struct job *j)
{
	if (j->rpending)
		ctl_close(&j->rctl);
	if (j->fd != -1)
		(void)close(j->fd);
	if (j->e != NULL)
		j->e->busy = 0;
	free(j);
}

static const char *
kind_name(const struct job *j)
{
	switch (j->kind) {
	case JOB_MIGRATE:
		return "migrate";
	case JOB_RECALL:
		return "recall";
	default:
		return "finish";
	}
}

/* Fail j with errno e: the why is logged and told to a waiting client. */
static int
failed(struct job *j, int e, const char *fmt, ...)
    __attribute__((__format__ (printf, 3, 4)));

static int
failed(struct job *j, int e, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(j->why, sizeof(j->why), fmt, ap);
	va_end(ap);
	j->err = e != 0 ? e : EIO;
	return -1;
}

static int
is_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static int
pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = pwrite(fd, p, n, (off_t)off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* n bytes at off, the all-zero ZERO_RUNs left as holes. */
static int
write_sparse(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	size_t	 i, run;

	for (i = 0; i < n; i += run) {
		run = n - i < ZERO_RUN ? n - i : ZERO_RUN;
		if (!is_zero(p + i, run) && pwrite_all(fd, p + i, run,
		    off + i) == -1)
			return -1;
	}
	return 0;
}

static int
pread_full(int fd, uint8_t *p, size_t n, uint64_t off)
{
	ssize_t	 r;
	size_t	 got = 0;

	while (got < n) {
		if ((r = pread(fd, p + got, n - got, (off_t)(off + got))) ==
		    -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EIO;	/* shorter than the index says */
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

static int
buf_ready(struct job *j)
{
	if (iobuf == NULL && (iobuf = malloc(HSM_CHUNK)) == NULL)
		return failed(j, ENOMEM, "%s", strerror(ENOMEM));
	return 0;
}

/* A DM call's result as a job failure: 0 stays 0. */
static int
dm_failed(struct hsm *h, struct job *j, int rc, const char *what)
{
	if (rc == 0)
		return 0;
	if (strcmp(what, j->path) == 0)
		return failed(j, rc == -1 ? EIO : rc, "%s: %s", what,
		    h->dm.error);
	return failed(j, rc == -1 ? EIO : rc, "%s: %s: %s", j->path, what,
	    h->dm.error);
}

static int
fio_failed(struct hsm *h, struct job *j, int rc, const char *what)
{
	if (rc == 0)
		return 0;
	if (strcmp(what, j->path) == 0)
		return failed(j, rc == -1 ? EIO : rc, "%s: %s", what,
		    h->fio.error);
	return failed(j, rc == -1 ? EIO : rc, "%s: %s: %s", j->path, what,
	    h->fio.error);
}

/* A user token of our session, in the index before it holds anything. */
static int
own_token(struct hsm *h, struct job *j)
{
	int	 rc;

	if ((rc = dm_token(&h->dm, h->session, j->token, sizeof(j->token))) !=
	    0)
		return dm_failed(h, j, rc, "token");
	if (idx_tok(&h->idx, j->token, 1) == -1) {
		(void)dm_respond(&h->dm, j->token, 0);
		j->token[0] = '\0';
		return failed(j, EIO, "%s: %s", j->path, h->idx.error);
	}
	j->owntoken = 1;
	return 0;
}

/* The exclusive right, now (start-up only: the loop waits). */
static int
get_right_now(struct hsm *h, struct job *j)
{
	int	 rc;

	rc = dm_right(&h->dm, 1, j->token, h->fs, j->path);
	if (rc == 0) {
		j->right = 1;
		return 0;
	}
	return dm_failed(h, j, rc, "right");
}

/*
 * The exclusive right, asked for without holding up the loop: 0 held, 1
 * not yet (j->retry_ms says when to look again), -1 failed.
 */
static int
get_right(struct hsm *h, struct job *j)
{
	uint64_t	 now = clock_ms();
	int		 rc;

	if (!j->rpending) {
		if (dm_right_send(&h->dm, &j->rctl, j->token, h->fs,
		    j->path) == -1)
			return dm_failed(h, j, -1, "right");
		j->rpending = 1;
		j->rdeadline = now + (uint64_t)hsm_right_ms(h);
	}
	if ((rc = dm_right_poll(&h->dm, &j->rctl)) == EINPROGRESS) {
		if (now < j->rdeadline) {
			j->retry_ms = now + RIGHT_POLL_MS;
			return 1;
		}
		ctl_close(&j->rctl);
		j->rpending = 0;
		return failed(j, ETIMEDOUT, "%s: right: no answer from "
		    "clsessiond in %d ms", j->path, hsm_right_ms(h));
	}
	j->rpending = 0;
	if (rc == 0) {
		j->right = 1;
		return 0;
	}
	return dm_failed(h, j, rc, "right");
}

/*
 * Give up the right and the token; answer the events with j->err (0:
 * continue), unless answer is 0: then they stay queued in clsessiond.
 */
static void
let_go(struct hsm *h, struct job *j, int answer)
{
	int	 i;

	if (j->right && dm_right(&h->dm, 0, j->token, h->fs, j->path) != 0)
		log_warnx("%s: release the right of token %s: %s", j->path,
		    j->token, h->dm.error);
	j->right = 0;
	if (j->owntoken) {
		if (dm_respond(&h->dm, j->token, 0) != 0)
			log_warnx("token %s: %s", j->token, h->dm.error);
		else if (idx_tok(&h->idx, j->token, 0) == -1)
			log_warnx("%s", h->idx.error);
		j->owntoken = 0;
	}
	/* A read of a file we could not bring back fails, never zeros. */
	for (i = 0; answer && i < j->nevtok; i++)
		if (dm_respond(&h->dm, j->evtok[i], j->err) != 0)
			log_warnx("event %s: %s", j->evtok[i], h->dm.error);
	j->nevtok = 0;
}

/* The file of e under its known path, else its path before a rename. */
static int
resolve(struct hsm *h, struct job *j, struct entry *e)
{
	const char	*try[2];
	int		 i, rc;

	try[0] = e->path;
	try[1] = e->oldpath;
	for (i = 0; i < 2; i++) {
		if (try[i] == NULL)
			continue;
		rc = fio_stat(&h->fio, try[i], &j->attr);
		if (rc == 0 && j->attr.ino == e->ino && j->attr.gen == e->gen) {
			(void)strlcpy(j->path, try[i], sizeof(j->path));
			if (i == 1 && idx_path(&h->idx, e, try[i]) == -1)
				log_warnx("%s", h->idx.error);
			return 0;
		}
		if (rc == -1)
			return fio_failed(h, j, rc, "stat");
	}
	return failed(j, ENOENT, "ino %" PRIu32 " gen %" PRIu32 ": no longer "
	    "at %s", e->ino, e->gen, e->path);
}

/* ---- migrate ---- */

static int
mig_start(struct hsm *h, struct job *j)
{
	struct fs_attr	*a = &j->attr;
	int64_t		 used;
	int		 rc;

	if ((rc = fio_stat(&h->fio, j->path, a)) != 0)
		return fio_failed(h, j, rc, j->path);
	if (a->type != 'f')
		return failed(j, EINVAL, "%s: not a regular file", j->path);
	if (fio_has_regions(a) || idx_find(&h->idx, a->ino, a->gen) != NULL) {
		hsm_errf(j->why, sizeof(j->why), "%s: already migrated",
		    j->path);
		return 1;
	}
	if (a->size == 0 || a->blocks == 0) {
		hsm_errf(j->why, sizeof(j->why), "%s: no blocks to free",
		    j->path);
		return 1;
	}
	used = a->atime_ns > 0 ? a->atime_ns : a->mtime_ns;
	if (!j->hand && (int64_t)(wallclock_us() / 1000000) - used /
	    1000000000 < h->min_age) {
		hsm_errf(j->why, sizeof(j->why), "%s: used too recently",
		    j->path);
		return 1;
	}
	j->ino = a->ino;
	j->gen = a->gen;
	if (own_token(h, j) == -1)
		return -1;
	j->state = MIG_RIGHT;
	return 0;
}

static int
mig_right(struct hsm *h, struct job *j)
{
	int	 rc;

	if ((rc = get_right(h, j)) != 0)
		return rc == 1 ? 0 : -1;
	j->state = MIG_OPEN;
	return 0;
}

static int
mig_open(struct hsm *h, struct job *j)
{
	char	 tmp[PATH_MAX + 64];
	int	 rc;

	if ((rc = fio_stat(&h->fio, j->path, &j->attr)) != 0)
		return fio_failed(h, j, rc, j->path);
	if (j->attr.ino != j->ino || j->attr.gen != j->gen ||
	    j->attr.type != 'f')
		return failed(j, ESTALE, "%s: replaced while the right was "
		    "asked for", j->path);
	if (fio_has_regions(&j->attr))
		return failed(j, EBUSY, "%s: has managed regions", j->path);
	idx_tmp(&h->idx, j->ino, j->gen, tmp, sizeof(tmp));
	if ((j->fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		return failed(j, errno, "%s: %s", tmp, strerror(errno));
	(void)crypto_hash_sha256_init(&j->h);
	j->off = 0;
	j->end = j->attr.size;
	j->state = MIG_COPY;
	return 0;
}

static int
mig_copy(struct hsm *h, struct job *j)
{
	size_t	 want, got;
	int	 rc;

	if (buf_ready(j) == -1)
		return -1;
	want = j->end - j->off < HSM_CHUNK ? (size_t)(j->end - j->off) :
	    HSM_CHUNK;
	if (want > 0) {
		rc = fio_read(&h->fio, j->ino, j->gen, j->off, want, j->token,
		    iobuf, &got);
		if (rc != 0)
			return fio_failed(h, j, rc, "read");
		if (got != want)
			return failed(j, EIO, "%s: %zu bytes read at %" PRIu64
			    ", %zu wanted", j->path, got, j->off, want);
		(void)crypto_hash_sha256_update(&j->h, iobuf, got);
		if (write_sparse(j->fd, iobuf, got, j->off) == -1)
			return failed(j, errno, "%s: archive: %s",
			    j->path, strerror(errno));
		j->off += got;
		crash_point("copy");
	}
	if (j->off == j->end) {
		(void)crypto_hash_sha256_final(&j->h, j->psha);
		j->state = MIG_SYNC;
	}
	return 0;
}

static int
mig_sync(struct hsm *h, struct job *j)
{
	(void)h;
	if (ftruncate(j->fd, (off_t)j->end) == -1 || fsync(j->fd) == -1)
		return failed(j, errno, "%s: archive: %s", j->path,
		    strerror(errno));
	/* The check reads what the disk has, not the page cache. */
	(void)posix_fadvise(j->fd, 0, 0, POSIX_FADV_DONTNEED);
	(void)crypto_hash_sha256_init(&j->h);
	j->off = 0;
	j->state = MIG_VERIFY;
	return 0;
}

static int
mig_verify(struct hsm *h, struct job *j)
{
	uint8_t	 sha[crypto_hash_sha256_BYTES];
	char	 tmp[PATH_MAX + 64], data[PATH_MAX + 64];
	char	 dir[PATH_MAX + 16];
	size_t	 want;
	int	 fd;

	if (buf_ready(j) == -1)
		return -1;
	want = j->end - j->off < HSM_CHUNK ? (size_t)(j->end - j->off) :
	    HSM_CHUNK;
	if (want > 0) {
		if (pread_full(j->fd, iobuf, want, j->off) == -1)
			return failed(j, EIO, "%s: archive: %s", j->path,
			    strerror(errno));
		(void)crypto_hash_sha256_update(&j->h, iobuf, want);
		j->off += want;
	}
	if (j->off < j->end)
		return 0;
	(void)crypto_hash_sha256_final(&j->h, sha);
	if (sodium_memcmp(sha, j->psha, sizeof(sha)) != 0)
		return failed(j, EIO, "%s: the archive copy reads back "
		    "different", j->path);
	idx_tmp(&h->idx, j->ino, j->gen, tmp, sizeof(tmp));
	idx_data(&h->idx, j->ino, j->gen, data, sizeof(data));
	(void)snprintf(dir, sizeof(dir), "%s/data", h->idx.dir);
	if (rename(tmp, data) == -1)
		return failed(j, errno, "%s: %s", data, strerror(errno));
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1) {
		if (fd != -1)
			(void)close(fd);
		(void)unlink(data);
		return failed(j, errno, "%s: %s", dir, strerror(errno));
	}
	(void)close(fd);
	j->state = MIG_COMMIT;
	return 0;
}

static int
mig_commit(struct hsm *h, struct job *j)
{
	struct entry	 n;
	char		 data[PATH_MAX + 64];
	int		 rc;

	memset(&n, 0, sizeof(n));
	n.ino = j->ino;
	n.gen = j->gen;
	n.size = n.valid = j->end;
	n.mtime_ns = j->attr.mtime_ns;
	n.when = (int64_t)(wallclock_us() / 1000000);
	memcpy(n.sha, j->psha, sizeof(n.sha));
	n.path = j->path;
	if (idx_put(&h->idx, &n) == -1) {
		idx_data(&h->idx, j->ino, j->gen, data, sizeof(data));
		(void)unlink(data);
		return failed(j, EIO, "%s: %s", j->path, h->idx.error);
	}
	j->e = idx_find(&h->idx, j->ino, j->gen);
	j->e->busy = 1;
	crash_point("put");
	if ((rc = fio_region(&h->fio, j->path, "0:0:rwt", j->token)) != 0) {
		(void)fio_failed(h, j, rc, "region");
		if (idx_del(&h->idx, j->e) == -1)
			log_warnx("%s", h->idx.error);
		j->e = NULL;
		return -1;
	}
	crash_point("region");
	if ((rc = fio_punch(&h->fio, j->ino, j->gen, 0, j->token)) != 0) {
		(void)fio_failed(h, j, rc, "punch");
		/* The copy is good and the region set: a read recalls. */
		if (fio_region(&h->fio, j->path, "none", j->token) == 0 &&
		    idx_del(&h->idx, j->e) == 0)
			j->e = NULL;
		return -1;
	}
	crash_point("punch");
	if (idx_migrated(&h->idx, j->e) == -1)
		log_warnx("%s (migrated all the same)", h->idx.error);
	h->punched += j->attr.blocks;
	j->state = MIG_DONE;
	return 0;
}

static int
mig_step(struct hsm *h, struct job *j)
{
	switch (j->state) {
	case MIG_START:
		return mig_start(h, j);
	case MIG_RIGHT:
		return mig_right(h, j);
	case MIG_OPEN:
		return mig_open(h, j);
	case MIG_COPY:
		return mig_copy(h, j);
	case MIG_SYNC:
		return mig_sync(h, j);
	case MIG_VERIFY:
		return mig_verify(h, j);
	case MIG_COMMIT:
		return mig_commit(h, j);
	default:
		return 1;
	}
}

/* ---- recall ---- */

/* The entry of the event's ino (or the hand-named path) and its path. */
static int
rc_find(struct hsm *h, struct job *j)
{
	struct entry	*e;
	int		 rc;

	if (j->hand) {
		if ((rc = fio_stat(&h->fio, j->path, &j->attr)) != 0)
			return fio_failed(h, j, rc, j->path);
		if (j->attr.type != 'f')
			return failed(j, EINVAL, "%s: not a regular file",
			    j->path);
		j->ino = j->attr.ino;
		j->gen = j->attr.gen;
		if ((e = idx_find(&h->idx, j->ino, j->gen)) == NULL) {
			hsm_errf(j->why, sizeof(j->why), "%s: not "
			    "migrated", j->path);
			return 1;
		}
		j->e = e;
		return 0;
	}
	for (e = idx_find_ino(&h->idx, j->ino, NULL); e != NULL;
	    e = idx_find_ino(&h->idx, j->ino, e)) {
		if (e->busy) {
			/* Another job has the file: after it, look again. */
			j->retry_ms = clock_ms() + RETRY_MS;
			return 2;
		}
		j->err = 0;
		if (resolve(h, j, e) == 0) {
			j->gen = e->gen;
			j->e = e;
			return 0;
		}
		if (j->err != ENOENT)
			return -1;
	}
	if (j->err == ENOENT && !j->scanned) {
		/* Renamed while we did not look: a scan finds it. */
		j->scanned = 1;
		j->err = 0;
		h->need_find = 1;
		return 2;	/* after the scan, look again */
	}
	if (j->err == ENOENT)
		return -1;
	/*
	 * Recalled a moment ago: the event was raised before the region
	 * went.  Otherwise a region we know nothing of (an index lost, a
	 * region set by hand): the punched blocks may be behind it, so the
	 * I/O fails rather than read zeros.
	 */
	if (recent_has(j->ino)) {
		hsm_errf(j->why, sizeof(j->why), "ino %" PRIu32 ": recalled "
		    "already", j->ino);
		return 1;
	}
	return failed(j, EIO, "ino %" PRIu32 ": a managed region, and no "
	    "copy in the archive %s (clear the region by hand once the file "
	    "is right: clsession region set)", j->ino, h->idx.dir);
}

static int
rc_start(struct hsm *h, struct job *j)
{
	int	 rc;

	if (j->e == NULL) {
		if ((rc = rc_find(h, j)) == 2)
			return 0;	/* rc_find again after the scan */
		if (rc != 0)
			return rc;
		j->e->busy = 1;
	}
	if (j->token[0] == '\0') {
		if (j->nevtok > 0)
			(void)strlcpy(j->token, j->evtok[0], sizeof(j->token));
		else if (own_token(h, j) == -1)
			return -1;
	}
	j->state = RC_RIGHT;
	return 0;
}

static int
rc_right(struct hsm *h, struct job *j)
{
	int	 rc;

	if ((rc = get_right(h, j)) == 1)
		return 0;
	if (rc == -1) {
		if (j->err == EBUSY && ++j->tries < RIGHT_TRIES) {
			j->err = 0;
			j->retry_ms = clock_ms() + RETRY_MS;
			return 0;
		}
		return -1;
	}
	j->state = RC_CHECK;
	return 0;
}

static int
rc_check(struct hsm *h, struct job *j)
{
	char	 data[PATH_MAX + 64];
	int	 rc;

	if ((rc = fio_stat(&h->fio, j->path, &j->attr)) != 0)
		return fio_failed(h, j, rc, j->path);
	if (j->attr.ino != j->e->ino || j->attr.gen != j->e->gen)
		return failed(j, ESTALE, "%s: replaced meanwhile", j->path);
	/*
	 * No region: recalled by someone else, or a recall that stopped
	 * between clearing it and forgetting the copy.  Users see the file
	 * as it is: the copy goes only if the file still has its bytes.
	 */
	j->noregion = !fio_has_regions(&j->attr);
	idx_data(&h->idx, j->e->ino, j->e->gen, data, sizeof(data));
	if ((j->fd = open(data, O_RDONLY | O_CLOEXEC)) == -1)
		return failed(j, EIO, "%s: %s", data, strerror(errno));
	/* What is still the file's: a truncate may have cut it. */
	j->end = j->e->valid < j->attr.size ? j->e->valid : j->attr.size;
	(void)crypto_hash_sha256_init(&j->h);
	j->off = 0;
	j->state = RC_VERIFY;
	return 0;
}

/* The whole copy's sha256, and of [0, end) on the way. */
static int
rc_verify(struct hsm *h, struct job *j)
{
	crypto_hash_sha256_state part;
	uint8_t		 sha[crypto_hash_sha256_BYTES];
	uint64_t	 size = j->e->size;
	size_t		 want;

	if (buf_ready(j) == -1)
		return -1;
	/* The prefix's hash, when the reading is at end (0 included). */
	if (j->off == j->end && !j->psha_set) {
		part = j->h;
		(void)crypto_hash_sha256_final(&part, j->psha);
		j->psha_set = 1;
	}
	want = size - j->off < HSM_CHUNK ? (size_t)(size - j->off) : HSM_CHUNK;
	/* Stop at end once, to take the prefix's hash there. */
	if (j->off < j->end && j->off + want > j->end)
		want = (size_t)(j->end - j->off);
	if (want > 0) {
		if (pread_full(j->fd, iobuf, want, j->off) == -1)
			return failed(j, EIO, "archive copy of %s: %s",
			    j->path, strerror(errno));
		(void)crypto_hash_sha256_update(&j->h, iobuf, want);
		j->off += want;
	}
	if (j->off == j->end && !j->psha_set) {
		part = j->h;
		(void)crypto_hash_sha256_final(&part, j->psha);
		j->psha_set = 1;
	}
	if (j->off < size)
		return 0;
	(void)crypto_hash_sha256_final(&j->h, sha);
	if (sodium_memcmp(sha, j->e->sha, sizeof(sha)) != 0)
		return failed(j, EIO, "%s: the archive copy %s/data/%" PRIu32
		    ".%" PRIu32 " is damaged (sha256 differs)", j->path,
		    h->idx.dir, j->e->ino, j->e->gen);
	j->off = 0;
	j->state = RC_WRITE;
	if (j->noregion) {
		(void)crypto_hash_sha256_init(&j->h);
		j->state = RC_READBACK;
	}
	return 0;
}

static int
rc_write(struct hsm *h, struct job *j)
{
	size_t	 want;
	int	 rc;

	if (buf_ready(j) == -1)
		return -1;
	want = j->end - j->off < HSM_CHUNK ? (size_t)(j->end - j->off) :
	    HSM_CHUNK;
	if (want > 0) {
		if (pread_full(j->fd, iobuf, want, j->off) == -1)
			return failed(j, EIO, "archive copy of %s: %s",
			    j->path, strerror(errno));
		if (!is_zero(iobuf, want) && (rc = fio_write(&h->fio,
		    j->e->ino, j->e->gen, j->off, iobuf, want, j->token)) != 0)
			return fio_failed(h, j, rc, "write");
		j->off += want;
		crash_point("write");
	}
	if (j->off == j->end) {
		(void)crypto_hash_sha256_init(&j->h);
		j->off = 0;
		j->state = RC_READBACK;
	}
	return 0;
}

static int
rc_readback(struct hsm *h, struct job *j)
{
	uint8_t	 sha[crypto_hash_sha256_BYTES];
	size_t	 want, got;
	int	 rc;

	if (buf_ready(j) == -1)
		return -1;
	want = j->end - j->off < HSM_CHUNK ? (size_t)(j->end - j->off) :
	    HSM_CHUNK;
	if (want > 0) {
		if ((rc = fio_read(&h->fio, j->e->ino, j->e->gen, j->off, want,
		    j->token, iobuf, &got)) != 0)
			return fio_failed(h, j, rc, "read");
		if (got != want)
			return failed(j, EIO, "%s: short read back", j->path);
		(void)crypto_hash_sha256_update(&j->h, iobuf, got);
		j->off += got;
	}
	if (j->off < j->end)
		return 0;
	(void)crypto_hash_sha256_final(&j->h, sha);
	if (sodium_memcmp(sha, j->psha, sizeof(sha)) != 0) {
		if (!j->noregion)
			return failed(j, EIO, "%s: recalled bytes read back "
			    "different", j->path);
		/* Changed since, with no region to tell us: keep the copy. */
		log_warnx("%s: no managed region and not the archived bytes; "
		    "the archive copy stays", j->path);
		return 1;
	}
	j->state = RC_CLEAR;
	return 0;
}

static int
rc_clear(struct hsm *h, struct job *j)
{
	struct fs_attr	 a;
	int		 rc;

	if (!j->noregion) {
		/* A cliod whose token writes still touch mtime: undo it. */
		if (fio_stat(&h->fio, j->path, &a) == 0 &&
		    a.mtime_ns != j->attr.mtime_ns &&
		    (rc = fio_mtime(&h->fio, j->path, j->attr.mtime_ns,
		    j->token)) != 0)
			log_warnx("%s: mtime not put back: %s", j->path,
			    h->fio.error);
		if ((rc = fio_region(&h->fio, j->path, "none", j->token)) != 0)
			return fio_failed(h, j, rc, "region");
	}
	crash_point("clear");
	if (idx_del(&h->idx, j->e) == -1)
		log_warnx("%s", h->idx.error);
	j->e = NULL;
	h->recalled++;
	recent_add(j->ino);
	j->state = RC_DONE;
	return 0;
}

static int
rc_step(struct hsm *h, struct job *j)
{
	switch (j->state) {
	case RC_START:
		return rc_start(h, j);
	case RC_RIGHT:
		return rc_right(h, j);
	case RC_CHECK:
		return rc_check(h, j);
	case RC_VERIFY:
		return rc_verify(h, j);
	case RC_WRITE:
		return rc_write(h, j);
	case RC_READBACK:
		return rc_readback(h, j);
	case RC_CLEAR:
		return rc_clear(h, j);
	default:
		return 1;
	}
}

/* ---- finish: an archived, unpunched file found at start-up ---- */

static int
fin_step(struct hsm *h, struct job *j)
{
	struct entry	*e = j->e;
	int		 rc;

	if (resolve(h, j, e) == -1) {
		if (j->err != ENOENT)
			return -1;
		/* Gone, or renamed while clhsm was down: the scan says. */
		return 1;
	}
	if (!fio_has_regions(&j->attr)) {
		/* The crash came before the region: the file is whole. */
		if (idx_del(&h->idx, e) == -1)
			return failed(j, EIO, "%s: %s", j->path, h->idx.error);
		j->e = NULL;
		log_info("%s: unfinished migration undone", j->path);
		return 1;
	}
	if (own_token(h, j) == -1 || get_right_now(h, j) == -1)
		return -1;
	if ((rc = fio_punch(&h->fio, e->ino, e->gen, 0, j->token)) != 0)
		return fio_failed(h, j, rc, "punch");
	if (idx_migrated(&h->idx, e) == -1)
		return failed(j, EIO, "%s: %s", j->path, h->idx.error);
	log_info("%s: unfinished migration finished", j->path);
	return 1;
}

/*
 * One step of j: JOB_MORE (0) or JOB_FINISHED (1).  A finished job has
 * let go of its right and token and answered its events (err 0:
 * continue); j->why says what happened when it did nothing or failed.
 */
int
job_step(struct hsm *h, struct job *j)
{
	int	 rc;

	if (j->retry_ms != 0) {
		if (clock_ms() < j->retry_ms)
			return JOB_MORE;
		j->retry_ms = 0;
	}
	switch (j->kind) {
	case JOB_MIGRATE:
		rc = mig_step(h, j);
		if (rc == 0 && j->state == MIG_DONE) {
			h->migrated++;
			j->did = 1;
			log_info("%s: migrated (%" PRIu64 " bytes)", j->path,
			    j->end);
			rc = 1;
		}
		break;
	case JOB_RECALL:
		rc = rc_step(h, j);
		if (rc == 0 && j->state == RC_DONE) {
			j->did = 1;
			log_info("%s: recalled (%" PRIu64 " bytes)", j->path,
			    j->end);
			rc = 1;
		}
		break;
	default:
		rc = fin_step(h, j);
		break;
	}
	if (rc == 0)
		return JOB_MORE;
	if (rc == -1) {
		h->failed++;
		log_warnx("%s: %s", kind_name(j), j->why);
		job_abort(h, j, j->err, NULL);
	} else
		let_go(h, j, 1);
	return JOB_FINISHED;
}

/*
 * Stop j where it is, safely: an unfinished copy is removed, the file
 * keeps its blocks (or, migrated, its region); the right and token go,
 * its events are answered with errno e (0: continue; -1: not at all, so
 * that they wait in clsessiond for the next clhsm: a shutdown).
 */
void
job_abort(struct hsm *h, struct job *j, int e, const char *why)
{
	char	 tmp[PATH_MAX + 64];

	if (why != NULL)
		(void)strlcpy(j->why, why, sizeof(j->why));
	j->err = e == -1 ? EIO : e;
	if (j->kind == JOB_MIGRATE && j->state < MIG_COMMIT && j->ino != 0) {
		idx_tmp(&h->idx, j->ino, j->gen, tmp, sizeof(tmp));
		(void)unlink(tmp);
	}
	if (j->fd != -1)
		(void)close(j->fd);
	j->fd = -1;
	/* A get still in flight may be granted yet: the token's end ends it. */
	if (j->rpending)
		ctl_close(&j->rctl);
	j->rpending = 0;
	let_go(h, j, e != -1);
}
