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
 * clhsm's side of clsessiond(8) (the requests clsession(1) sends): one
 * blocking connection for requests, every wait bounded, and one
 * non-blocking connection in the event loop that follows the session's
 * events.  The session outlives clhsm (XDSM): a restarted clhsm takes
 * the session of its name back and gets the events still unanswered.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clhsm.h"
#include "sock.h"

#define DM_SESSIONS_MAX	4096		/* list answers read */

int
dm_open(struct dm *d, const struct cl_conf *conf)
{
	memset(d, 0, sizeof(*d));
	d->conf = conf;
	if (ctl_open(&d->ctl, conf->rundir, "clsessiond") == -1) {
		hsm_errf(d->error, sizeof(d->error), "cannot reach "
		    "clsessiond at %s (is it running?): %s", d->ctl.path,
		    strerror(errno));
		ctl_close(&d->ctl);
		return -1;
	}
	d->open = 1;
	return 0;
}

void
dm_close(struct dm *d)
{
	if (d->open)
		ctl_close(&d->ctl);
	d->open = 0;
	if (d->ev != NULL)
		conn_close(d->ev, "clhsm stops");
	d->ev = NULL;
}

/* An error answer's errno: its status if an errno name, else EINVAL. */
static int
answer_errno(const struct frame *a)
{
	const char	*s = frame_get(a, "status");

	if (s != NULL && strcmp(fs_errname(fs_errnum(s)), s) == 0)
		return fs_errnum(s);
	return EINVAL;
}

static int
dm_send(struct dm *d, struct frame *req)
{
	static uint64_t	 txids;

	if (!d->open) {
		if (ctl_open(&d->ctl, d->conf->rundir, "clsessiond") == -1) {
			hsm_errf(d->error, sizeof(d->error), "cannot "
			    "reach clsessiond at %s: %s", d->ctl.path,
			    strerror(errno));
			ctl_close(&d->ctl);
			return -1;
		}
		d->open = 1;
	}
	req->txid = ++txids;
	if (req->err || ctl_send(&d->ctl, req) == -1) {
		hsm_errf(d->error, sizeof(d->error), "%s: %s",
		    d->ctl.path, req->err ? "request too large" :
		    strerror(errno));
		dm_close(d);
		return -1;
	}
	return 0;
}

static int
dm_recv(struct dm *d, struct frame *a, int ms)
{
	int	 rc;

	if ((rc = ctl_recv(&d->ctl, a, ms)) == 1)
		return 0;
	hsm_errf(d->error, sizeof(d->error), "%s: %s", d->ctl.path,
	    rc == 0 ? "clsessiond closed the connection" :
	    errno == ETIMEDOUT ? "no answer in time" : errno == EPROTO ?
	    d->ctl.reason : strerror(errno));
	ctl_close(&d->ctl);
	d->open = 0;
	return -1;
}

/*
 * One request, one answer: 0 for ok, an errno for an error answer
 * (d->error has its reason), -1 when clsessiond cannot be reached.
 */
static int
dm_call(struct dm *d, struct frame *req, struct frame *a, int ms)
{
	uint64_t	 txid;
	const char	*r;

	if (dm_send(d, req) == -1)
		return -1;
	txid = req->txid;
	do {
		if (dm_recv(d, a, ms) == -1)
			return -1;
	} while (a->txid != txid);
	if (strcmp(a->op, "ok") == 0)
		return 0;
	r = frame_get(a, "reason");
	hsm_errf(d->error, sizeof(d->error), "%s", r != NULL ? r :
	    a->op);
	return strcmp(a->op, "error") == 0 ? answer_errno(a) : EPROTO;
}

/*
 * The session called name on this node: found (a list answer with a
 * pending count is this node's), taken over from a failed node (assume,
 * seed 001), or created.  0 and *id, or -1 with d->error.
 */
int
dm_session(struct dm *d, const char *name, uint64_t *id)
{
	struct frame	 req, a;
	const char	*n, *p, *s;
	uint64_t	 here = 0, there = 0, v, elsewhere = 0;
	int		 i, rc;

	frame_init(&req, "list", 0);
	if (dm_send(d, &req) == -1)
		return -1;
	for (i = 0; ; i++) {
		if (dm_recv(d, &a, HSM_CALL_MS) == -1)
			return -1;
		if (strcmp(a.op, "end") == 0)
			break;
		if (strcmp(a.op, "error") == 0) {
			hsm_errf(d->error, sizeof(d->error), "list: %s",
			    frame_get(&a, "reason") != NULL ?
			    frame_get(&a, "reason") : "error");
			return -1;
		}
		if (i >= DM_SESSIONS_MAX)
			continue;
		n = frame_get(&a, "name");
		p = frame_get(&a, "pending");
		if (n == NULL || p == NULL || strcmp(n, name) != 0 ||
		    frame_getu64(&a, "id", &v) == -1)
			continue;
		if (strcmp(p, "-") != 0) {
			if (here == 0)
				here = v;
		} else if (there == 0) {
			there = v;
			s = frame_get(&a, "node");
			if (s == NULL || wire_parse_u64(s, strlen(s),
			    UINT32_MAX, &elsewhere) != 0)
				elsewhere = 0;
		}
	}
	if (here != 0) {
		*id = here;
		return 0;
	}
	if (there != 0) {
		/* Its node failed?  Then the session moves here. */
		frame_init(&req, "assume", 0);
		(void)frame_add(&req, "id", "%" PRIu64, there);
		if ((rc = dm_call(d, &req, &a, HSM_CALL_MS)) != 0) {
			if (rc > 0) {
				char	 why[HSM_ERR_MAX];

				(void)strlcpy(why, d->error, sizeof(why));
				hsm_errf(d->error, sizeof(d->error),
				    "session %s (%" PRIu64 ") is on node %"
				    PRIu64 " and cannot move here: %s", name,
				    there, elsewhere, why);
			}
			return -1;
		}
		*id = there;
		return 0;
	}
	frame_init(&req, "create", 0);
	(void)frame_add(&req, "name", "%s", name);
	if ((rc = dm_call(d, &req, &a, HSM_CALL_MS)) != 0)
		return -1;
	if (frame_getu64(&a, "id", id) == -1) {
		hsm_errf(d->error, sizeof(d->error), "create: no id in "
		    "the answer");
		return -1;
	}
	return 0;
}

int
dm_destroy(struct dm *d, uint64_t id)
{
	struct frame	 req, a;

	frame_init(&req, "destroy", 0);
	(void)frame_add(&req, "id", "%" PRIu64, id);
	return dm_call(d, &req, &a, HSM_CALL_MS);
}

int
dm_disp(struct dm *d, const char *fs, const char *event, uint64_t id,
    int sync)
{
	struct frame	 req, a;

	frame_init(&req, "dispset", 0);
	(void)frame_add(&req, "fs", "%s", fs);
	(void)frame_add(&req, "event", "%s", event);
	(void)frame_add(&req, "session", "%" PRIu64, id);
	(void)frame_add(&req, "mode", "%s", sync ? "sync" : "async");
	return dm_call(d, &req, &a, HSM_CALL_MS);
}

/* A user token of session id (XDSM dm_create_userevent). */
int
dm_token(struct dm *d, uint64_t id, char *tok, size_t n)
{
	struct frame	 req, a;
	const char	*t;
	int		 rc;

	frame_init(&req, "token", 0);
	(void)frame_add(&req, "session", "%" PRIu64, id);
	if ((rc = dm_call(d, &req, &a, HSM_CALL_MS)) != 0)
		return rc;
	if ((t = frame_get(&a, "token")) == NULL || *t == '\0' ||
	    strlcpy(tok, t, n) >= n) {
		hsm_errf(d->error, sizeof(d->error), "token: no usable "
		    "token in the answer");
		return EPROTO;
	}
	return 0;
}

/*
 * get (1) or release (0) the exclusive DM access right of token on path.
 * A get waits up to event_timeout_ms in clsessiond, then EBUSY.
 */
int
dm_right(struct dm *d, int get, const char *tok, const char *fs,
    const char *path)
{
	struct frame	 req, a;
	int		 ms;

	ms = (d->conf->event_timeout_ms > 0 ? d->conf->event_timeout_ms :
	    30000) + HSM_RIGHT_SLACK_MS;
	frame_init(&req, "right", 0);
	(void)frame_add(&req, "cmd", "%s", get ? "get" : "release");
	(void)frame_add(&req, "token", "%s", tok);
	(void)frame_add(&req, "fs", "%s", fs);
	(void)frame_add(&req, "path", "%s", path);
	(void)frame_add(&req, "mode", "exclusive");
	return dm_call(d, &req, &a, ms);
}

/*
 * The same get, without waiting for the answer: on a connection of its
 * own, c, so that the event loop goes on (a get may take until
 * event_timeout_ms while block-list leases come back).  0, or -1.
 */
int
dm_right_send(struct dm *d, struct ctl *c, const char *tok, const char *fs,
    const char *path)
{
	struct frame	 req;

	if (ctl_open(c, d->conf->rundir, "clsessiond") == -1) {
		hsm_errf(d->error, sizeof(d->error), "%s: %s", c->path,
		    strerror(errno));
		ctl_close(c);
		return -1;
	}
	frame_init(&req, "right", 1);
	(void)frame_add(&req, "cmd", "get");
	(void)frame_add(&req, "token", "%s", tok);
	(void)frame_add(&req, "fs", "%s", fs);
	(void)frame_add(&req, "path", "%s", path);
	(void)frame_add(&req, "mode", "exclusive");
	if (req.err || ctl_send(c, &req) == -1) {
		hsm_errf(d->error, sizeof(d->error), "%s: %s", c->path,
		    req.err ? "request too large" : strerror(errno));
		ctl_close(c);
		return -1;
	}
	return 0;
}

/*
 * The answer to dm_right_send, if in: 0 (granted), an errno (d->error
 * says why), -1 (clsessiond went away), or EINPROGRESS (not yet).  c is
 * closed unless EINPROGRESS.
 */
int
dm_right_poll(struct dm *d, struct ctl *c)
{
	struct frame	 a;
	const char	*r;
	int		 rc;

	if ((rc = ctl_recv(c, &a, 0)) != 1) {
		if (rc == -1 && errno == ETIMEDOUT)
			return EINPROGRESS;
		hsm_errf(d->error, sizeof(d->error), "%s: %s", c->path,
		    rc == 0 ? "clsessiond closed the connection" :
		    errno == EPROTO ? c->reason : strerror(errno));
		ctl_close(c);
		return -1;
	}
	if (strcmp(a.op, "ok") == 0)
		rc = 0;
	else {
		r = frame_get(&a, "reason");
		hsm_errf(d->error, sizeof(d->error), "%s", r != NULL ? r :
		    a.op);
		rc = strcmp(a.op, "error") == 0 ? answer_errno(&a) : EPROTO;
	}
	ctl_close(c);
	return rc;
}

/* continue (e == 0), or abort with errno e. */
int
dm_respond(struct dm *d, const char *tok, int e)
{
	struct frame	 req, a;

	frame_init(&req, "respond", 0);
	(void)frame_add(&req, "token", "%s", tok);
	if (e == 0)
		(void)frame_add(&req, "reply", "continue");
	else {
		(void)frame_add(&req, "reply", "abort");
		(void)frame_add(&req, "errno", "%s", fs_errname(e));
	}
	return dm_call(d, &req, &a, HSM_CALL_MS);
}

/*
 * Follow session id's events on a connection of their own, in the event
 * loop: the unanswered ones first, then each as it comes (clsessiond(8)).
 */
int
dm_follow(struct dm *d, uint64_t id, conn_frame_cb on_frame,
    conn_close_cb on_close, void *arg)
{
	struct frame	 req;
	char		 path[PATH_MAX + 32];
	int		 fd;

	(void)snprintf(path, sizeof(path), "%s/clsessiond.sock",
	    d->conf->rundir);
	if ((fd = sock_unix_connect(path)) == -1) {
		hsm_errf(d->error, sizeof(d->error), "%s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (sock_nonblock(fd) == -1 || (d->ev = conn_new(fd,
	    WIRE_PAYLOAD_MAX, 1024 * 1024, on_frame, on_close, arg)) == NULL) {
		hsm_errf(d->error, sizeof(d->error), "%s: %s", path,
		    strerror(errno));
		(void)close(fd);
		return -1;
	}
	(void)snprintf(d->ev->name, sizeof(d->ev->name), "clsessiond events");
	frame_init(&req, "events", 1);
	(void)frame_add(&req, "id", "%" PRIu64, id);
	(void)frame_add(&req, "follow", "1");
	if (conn_send(d->ev, &req) == -1) {
		hsm_errf(d->error, sizeof(d->error), "%s: %s", path,
		    strerror(errno));
		conn_close(d->ev, "cannot send");
		d->ev = NULL;
		return -1;
	}
	return 0;
}
