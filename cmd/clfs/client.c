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
 * clfs's side of the file-system protocol (fsproto.h): one blocking Unix
 * socket to the local cliod(8), requests numbered by txid so that many
 * can be in flight, answers matched by txid (cliod may answer out of
 * order).  Payloads are written from the caller's buffer, not copied.
 */

#include <sys/types.h>
#include <sys/uio.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "sock.h"

int
fsc_open(struct fsc *c, const struct cl_conf *conf)
{
	memset(c, 0, sizeof(*c));
	if (ctl_open(&c->ctl, conf->rundir, "cliod") == -1) {
		(void)snprintf(c->error, sizeof(c->error),
		    "cannot reach cliod at %s/" FS_SOCK " (is it running?): %s",
		    conf->rundir, strerror(errno));
		return -1;
	}
	return 0;
}

void
fsc_connect(struct fsc *c)
{
	if (fsc_open(c, &clfs_conf) == -1)
		errx(1, "%s", c->error);
}

void
fsc_close(struct fsc *c)
{
	ctl_close(&c->ctl);
}

static int
write_all(struct fsc *c, struct iovec *iov, int n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = writev(c->ctl.fd, iov, n)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				(void)snprintf(c->error, sizeof(c->error),
				    "cliod closed the connection");
			else
				(void)snprintf(c->error, sizeof(c->error),
				    "%s: %s", c->ctl.path, strerror(errno));
			return -1;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* Send f with the next txid (returned), its payload straight from memory. */
uint64_t
fsc_send(struct fsc *c, struct frame *f)
{
	struct buf	 b;
	struct iovec	 iov[2];
	int		 rc;

	f->txid = ++c->txid;
	buf_init(&b, WIRE_HDR_MAX);
	if (wire_encode_head(&b, f) == -1 ||
	    buf_printf(&b, "len=%zu\n\n", f->len) == -1) {
		buf_free(&b);
		(void)snprintf(c->error, sizeof(c->error),
		    "%s request too large", f->op);
		return 0;
	}
	iov[0].iov_base = buf_ptr(&b);
	iov[0].iov_len = buf_avail(&b);
	iov[1].iov_base = (void *)(uintptr_t)f->payload;
	iov[1].iov_len = f->len;
	rc = write_all(c, iov, f->len > 0 ? 2 : 1);
	buf_free(&b);
	return rc == -1 ? 0 : f->txid;
}

/* The next answer (1), or -1 with c->error set; valid until the next. */
int
fsc_recv(struct fsc *c, struct frame *f, int timeout)
{
	int	 rc;

	rc = ctl_recv(&c->ctl, f, timeout);
	if (rc == 1)
		return 1;
	if (rc == 0 || (rc == -1 && errno == ECONNRESET))
		(void)snprintf(c->error, sizeof(c->error),
		    "cliod closed the connection");
	else if (errno == EPROTO)
		(void)snprintf(c->error, sizeof(c->error),
		    "%s: malformed answer: %s", c->ctl.path, c->ctl.reason);
	else if (errno == ETIMEDOUT)
		(void)snprintf(c->error, sizeof(c->error),
		    "%s: no answer in %d ms", c->ctl.path, timeout);
	else
		(void)snprintf(c->error, sizeof(c->error), "%s: %s",
		    c->ctl.path, strerror(errno));
	return -1;
}

/*
 * One request, nothing else in flight: the answer's errno (0 for "ok").
 * A broken connection ends the tool: nothing more can be done.
 */
int
fsc_call(struct fsc *c, struct frame *req, struct frame *ans)
{
	uint64_t	 txid;

	if ((txid = fsc_send(c, req)) == 0 ||
	    fsc_recv(c, ans, FSC_REPLY_MS) == -1)
		errx(1, "%s", c->error);
	if (ans->txid != txid)
		errx(1, "%s: answer to txid %llu, not %llu", c->ctl.path,
		    (unsigned long long)ans->txid, (unsigned long long)txid);
	return fs_answer_errno(ans);
}

/* A request naming a file: op fs= path=. */
void
fsc_req(struct frame *f, const char *op, const struct fsname *n)
{
	frame_init(f, op, 0);
	(void)frame_add(f, "fs", "%s", n->fs);
	(void)frame_add(f, "path", "%s", n->path);
}

/*
 * "clfs: fs1:/a/b: No such file or directory"; the daemon's reason too
 * when the errno alone says little.
 */
void
fsc_fail(const struct fsname *n, int e, const struct frame *ans)
{
	const char	*r = ans != NULL ? frame_get(ans, "reason") : NULL;

	if (r != NULL && *r != '\0' && (e == EIO || e == EPROTO ||
	    e == EINVAL || e == ETIMEDOUT || e == EHOSTUNREACH))
		warnx("%s:%s: %s (%s)", n->fs, n->path, strerror(e), r);
	else
		warnx("%s:%s: %s", n->fs, n->path, strerror(e));
}

int
fsc_answer(const struct fsname *n, const struct frame *ans)
{
	int	 e;

	if ((e = fs_answer_errno(ans)) != 0)
		fsc_fail(n, e, ans);
	return e;
}

/* stat: 0 and *a, or the errno (reported unless quiet). */
int
fsc_stat(struct fsc *c, const struct fsname *n, struct fs_attr *a,
    int quiet)
{
	struct frame	 req, ans;
	int		 e;

	fsc_req(&req, "stat", n);
	if ((e = fsc_call(c, &req, &ans)) != 0) {
		if (!quiet)
			fsc_fail(n, e, &ans);
		return e;
	}
	if (fs_attr_get(&ans, a) == -1) {
		warnx("%s:%s: malformed attributes from cliod", n->fs,
		    n->path);
		return EPROTO;
	}
	return 0;
}

/*
 * FS:/path (FS: alone is the root; a path without its leading slash is
 * taken from the root).  FS must be a volume of the config.
 */
int
fsname_parse(struct fsname *n, const char *arg)
{
	int	 e;

	memset(n, 0, sizeof(*n));
	n->arg = arg;
	if ((e = fs_name_split(arg, n->fs, sizeof(n->fs), n->path,
	    sizeof(n->path))) != 0) {
		if (e == EINVAL && (strchr(arg, ':') == NULL || arg[0] == ':'))
			warnx("%s: not FS:/path", arg);
		else
			warnx("%s: %s", arg, strerror(e));
		return -1;
	}
	if (conf_volume(&clfs_conf, n->fs) == NULL) {
		warnx("%s: no file system %s in %s", arg, n->fs,
		    clfs_conf.path);
		return -1;
	}
	return 0;
}

/* dir/name into out. */
int
fsname_join(struct fsname *out, const struct fsname *dir, const char *name)
{
	int	 e;

	*out = *dir;
	if ((size_t)snprintf(out->path, sizeof(out->path), "%s%s%s",
	    dir->path, strcmp(dir->path, "/") == 0 ? "" : "/", name) >=
	    sizeof(out->path)) {
		warnx("%s:%s/%s: %s", dir->fs, dir->path, name,
		    strerror(ENAMETOOLONG));
		return -1;
	}
	if ((e = fs_path_check(out->path)) != 0) {
		warnx("%s:%s: %s", out->fs, out->path, strerror(e));
		return -1;
	}
	return 0;
}

/* The last component of a local or FS path. */
const char *
fsname_base(const char *p)
{
	const char	*s;

	if ((s = strrchr(p, '/')) != NULL && s[1] != '\0')
		return s + 1;
	return p;
}
