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
 * clhsm's side of the file-system protocol (fsproto.h, cl-wire(5)): one
 * blocking connection to the local cliod(8), one request at a time, every
 * wait bounded.  A broken or timed-out connection is closed and opened
 * again on the next call, so a late answer can never be taken for the
 * answer to a later request.
 *
 * The DM calls (token I/O, punch, region) need uid 0: clhsm runs as root.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "clhsm.h"

int
fio_open(struct fio *f, const struct cl_conf *conf, const char *fs)
{
	memset(f, 0, sizeof(*f));
	f->conf = conf;
	(void)strlcpy(f->fs, fs, sizeof(f->fs));
	f->ctl.fd = -1;
	if (ctl_open(&f->ctl, conf->rundir, "cliod") == -1) {
		hsm_errf(f->error, sizeof(f->error), "cannot reach cliod "
		    "at %s/" FS_SOCK " (is it running?): %s", conf->rundir,
		    strerror(errno));
		ctl_close(&f->ctl);
		return -1;
	}
	f->open = 1;
	return 0;
}

void
fio_close(struct fio *f)
{
	if (f->open)
		ctl_close(&f->ctl);
	f->open = 0;
}

/*
 * The errno says it for a missing file and the like; cliod's reason
 * helps when it is as vague as EIO (clfs(1) does the same).
 */
static void
fio_why(struct fio *f, int e, const struct frame *ans)
{
	const char	*r = frame_get(ans, "reason");

	if (r != NULL && *r != '\0' && (e == EIO || e == EPROTO ||
	    e == EINVAL || e == ETIMEDOUT || e == EHOSTUNREACH || e == EBUSY ||
	    e == EPERM))
		hsm_errf(f->error, sizeof(f->error), "%s (%s)", strerror(e),
		    r);
	else
		hsm_errf(f->error, sizeof(f->error), "%s", strerror(e));
}

/*
 * One request and its answer: the answer's errno (0 for "ok"), or -1
 * with f->error set when cliod cannot be reached or does not answer in
 * ms.  The answer is valid until the next call.
 */
int
fio_call(struct fio *f, struct frame *req, struct frame *ans, int ms)
{
	static uint64_t	 txids;
	uint64_t	 txid;
	int		 rc;

	if (!f->open) {
		if (ctl_open(&f->ctl, f->conf->rundir, "cliod") == -1) {
			hsm_errf(f->error, sizeof(f->error), "cannot "
			    "reach cliod at %s: %s", f->ctl.path,
			    strerror(errno));
			ctl_close(&f->ctl);
			return -1;
		}
		f->open = 1;
	}
	if (req->err) {
		hsm_errf(f->error, sizeof(f->error), "%s: request too "
		    "large", req->op);
		return -1;
	}
	txid = req->txid = ++txids;
	if (ctl_send(&f->ctl, req) == -1) {
		hsm_errf(f->error, sizeof(f->error), "%s: %s",
		    f->ctl.path, strerror(errno));
		fio_close(f);
		return -1;
	}
	for (;;) {
		if ((rc = ctl_recv(&f->ctl, ans, ms)) != 1) {
			hsm_errf(f->error, sizeof(f->error), "%s: %s",
			    f->ctl.path, rc == 0 ? "cliod closed the "
			    "connection" : errno == ETIMEDOUT ? "no answer in "
			    "time" : errno == EPROTO ? f->ctl.reason :
			    strerror(errno));
			fio_close(f);
			return -1;
		}
		if (ans->txid == txid)
			break;
	}
	if (strcmp(ans->op, "ok") != 0 && strcmp(ans->op, "error") != 0) {
		hsm_errf(f->error, sizeof(f->error), "%s: unexpected "
		    "answer %s", f->ctl.path, ans->op);
		fio_close(f);
		return -1;
	}
	if ((rc = fs_answer_errno(ans)) != 0)
		fio_why(f, rc, ans);
	return rc;
}

static void
req_path(struct frame *req, const char *op, const char *fs, const char *path)
{
	frame_init(req, op, 0);
	(void)frame_add(req, "fs", "%s", fs);
	(void)frame_add(req, "path", "%s", path);
}

static void
req_handle(struct frame *req, const char *op, const char *fs, uint32_t ino,
    uint32_t gen, const char *token)
{
	frame_init(req, op, 0);
	(void)frame_add(req, "fs", "%s", fs);
	(void)frame_add(req, "ino", "%" PRIu32, ino);
	(void)frame_add(req, "gen", "%" PRIu32, gen);
	if (token != NULL)
		(void)frame_add(req, "token", "%s", token);
}

/* stat: 0, an errno, or -1 (see fio_call). */
int
fio_stat(struct fio *f, const char *path, struct fs_attr *a)
{
	struct frame	 req, ans;
	int		 rc;

	req_path(&req, "stat", f->fs, path);
	if ((rc = fio_call(f, &req, &ans, HSM_CALL_MS)) != 0)
		return rc;
	memset(a, 0, sizeof(*a));
	if (fs_attr_get(&ans, a) == -1) {
		hsm_errf(f->error, sizeof(f->error), "%s: malformed "
		    "attributes from cliod", path);
		return EPROTO;
	}
	return 0;
}

int
fio_statfs(struct fio *f, uint64_t *blocks, uint64_t *bfree)
{
	struct frame	 req, ans;
	int		 rc;

	frame_init(&req, "statfs", 0);
	(void)frame_add(&req, "fs", "%s", f->fs);
	if ((rc = fio_call(f, &req, &ans, HSM_CALL_MS)) != 0)
		return rc;
	if (frame_getu64(&ans, "blocks", blocks) == -1 ||
	    frame_getu64(&ans, "bfree", bfree) == -1 || *bfree > *blocks ||
	    *blocks == 0) {
		hsm_errf(f->error, sizeof(f->error), "malformed statfs "
		    "answer from cliod");
		return EPROTO;
	}
	return 0;
}

/* A page of a directory from cookie (0: the start); ans has the payload. */
int
fio_readdir(struct fio *f, const char *path, uint64_t cookie,
    struct frame *ans)
{
	struct frame	 req;

	req_path(&req, "readdir", f->fs, path);
	if (cookie != 0)
		(void)frame_add(&req, "cookie", "%" PRIu64, cookie);
	return fio_call(f, &req, ans, HSM_CALL_MS);
}

/*
 * Up to count bytes at off into buf (*got: short at the end of the file).
 * With a token: invisible I/O (XDSM dm_read_invis), no DM event.
 */
int
fio_read(struct fio *f, uint32_t ino, uint32_t gen, uint64_t off,
    size_t count, const char *token, uint8_t *buf, size_t *got)
{
	struct frame	 req, ans;
	int		 rc;

	req_handle(&req, "read", f->fs, ino, gen, token);
	(void)frame_add(&req, "off", "%" PRIu64, off);
	(void)frame_add(&req, "count", "%zu", count);
	if ((rc = fio_call(f, &req, &ans, HSM_CALL_MS)) != 0)
		return rc;
	if (ans.len > count) {
		hsm_errf(f->error, sizeof(f->error), "read: %zu bytes "
		    "for %zu asked", ans.len, count);
		return EPROTO;
	}
	memcpy(buf, ans.payload, ans.len);
	*got = ans.len;
	return 0;
}

/* n bytes at off; with a token, invisible (XDSM dm_write_invis). */
int
fio_write(struct fio *f, uint32_t ino, uint32_t gen, uint64_t off,
    const uint8_t *buf, size_t n, const char *token)
{
	struct frame	 req, ans;

	req_handle(&req, "write", f->fs, ino, gen, token);
	(void)frame_add(&req, "off", "%" PRIu64, off);
	frame_payload(&req, buf, n);
	return fio_call(f, &req, &ans, HSM_CALL_MS);
}

/* Free every block from off to the end; the size stays. */
int
fio_punch(struct fio *f, uint32_t ino, uint32_t gen, uint64_t off,
    const char *token)
{
	struct frame	 req, ans;

	req_handle(&req, "punch", f->fs, ino, gen, token);
	(void)frame_add(&req, "off", "%" PRIu64, off);
	return fio_call(f, &req, &ans, HSM_CALL_MS);
}

/*
 * Set the managed regions of path to spec ("none" clears them), through
 * the right token holds (XDSM dm_set_region).
 */
int
fio_region(struct fio *f, const char *path, const char *spec,
    const char *token)
{
	struct frame	 req, ans;
	const char	*got;
	int		 rc;

	req_path(&req, "region", f->fs, path);
	(void)frame_add(&req, "set", "%s", spec);
	if (token != NULL)
		(void)frame_add(&req, "token", "%s", token);
	if ((rc = fio_call(f, &req, &ans, HSM_CALL_MS)) != 0)
		return rc;
	/* An answer names no regions when there are none. */
	if ((got = frame_get(&ans, "regions")) == NULL)
		got = "none";
	if (strcmp(got, spec) != 0) {
		hsm_errf(f->error, sizeof(f->error), "%s: regions %s "
		    "after setting %s", path, got, spec);
		return EPROTO;
	}
	return 0;
}

/*
 * Put path's mtime back (ns): token writes touch it, and a recall must
 * not look like a change to the file's users (make(1), backups).
 */
int
fio_mtime(struct fio *f, const char *path, int64_t mtime_ns,
    const char *token)
{
	struct frame	 req, ans;

	req_path(&req, "setattr", f->fs, path);
	(void)frame_add(&req, "mtime", "%" PRId64, mtime_ns);
	if (token != NULL)
		(void)frame_add(&req, "token", "%s", token);
	return fio_call(f, &req, &ans, HSM_CALL_MS);
}

int
fio_has_regions(const struct fs_attr *a)
{
	int	 i;

	for (i = 0; i < VOL_REGIONS; i++)
		if (a->rg[i].flags != 0)
			return 1;
	return 0;
}
