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
 * Connections to the local cliod(8), one per caller identity in use.
 *
 * cliod takes the caller's uid and gid from the kernel (SO_PEERCRED, at
 * connect time) and drops any a client writes (cliod(8), "Socket and
 * permissions"), so a clmount running as root that serves many users
 * connects once per (uid, gid) with that identity: the worker thread
 * switches its own effective ids with the raw system calls (glibc's
 * wrappers would switch every thread of the process), connects, and
 * switches back.  Its file-system uid stays 0 meanwhile, so that the
 * path to the socket is searchable whatever the caller's rights.
 *
 * A connection carries one request at a time: the worker that took it
 * sends, waits for the answer, and puts it back.  Many workers use many
 * connections at once; nothing but the short list operations is locked,
 * so I/O is never serialized here.
 */

#include <sys/types.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "clmount.h"
#include "log.h"

/* This thread's effective ids only; 0 on success. */
static int
thread_ids(uid_t uid, gid_t gid)
{
	if (syscall(SYS_setresgid, (gid_t)-1, gid, (gid_t)-1) == -1 ||
	    syscall(SYS_setresuid, (uid_t)-1, uid, (uid_t)-1) == -1)
		return -1;
	return 0;
}

static struct cm_conn *
conn_open(uid_t uid, gid_t gid, int *err)
{
	struct cm_conn	*c;
	int		 rc, saved, other = cm.asroot && (uid != 0 || gid != 0);

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		*err = ENOMEM;
		return NULL;
	}
	c->uid = uid;
	c->gid = gid;
	if (other) {
		if (thread_ids(uid, gid) == -1) {
			*err = errno;
			/* Never go on as someone else. */
			if (thread_ids(0, 0) == -1)
				abort();
			free(c);
			return NULL;
		}
		(void)syscall(SYS_setfsuid, (uid_t)0);
	}
	rc = ctl_open(&c->ctl, cm.conf.rundir, "cliod");
	saved = errno;
	if (other && (thread_ids(0, 0) == -1 || geteuid() != 0))
		abort();
	if (rc == -1) {
		log_warnx("cannot reach cliod at %s/" FS_SOCK ": %s",
		    cm.conf.rundir, strerror(saved));
		ctl_close(&c->ctl);
		free(c);
		*err = ENOTCONN;
		return NULL;
	}
	return c;
}

/* An idle connection of this identity, or a new one (NULL, *err). */
struct cm_conn *
pool_get(uid_t uid, gid_t gid, int *err)
{
	struct cm_conn	*c, **pp;

	if (!cm.asroot) {
		uid = geteuid();
		gid = getegid();
	}
	if (pthread_mutex_lock(&cm.lock) != 0)
		abort();
	for (pp = &cm.idle; (c = *pp) != NULL; pp = &c->next)
		if (c->uid == uid && c->gid == gid) {
			*pp = c->next;
			cm.nidle--;
			break;
		}
	(void)pthread_mutex_unlock(&cm.lock);
	if (c != NULL)
		return c;
	return conn_open(uid, gid, err);
}

void
pool_drop(struct cm_conn *c)
{
	if (c == NULL)
		return;
	ctl_close(&c->ctl);
	free(c);
}

/* Back to the idle list; past CM_IDLE_MAX the oldest is closed. */
void
pool_put(struct cm_conn *c)
{
	struct cm_conn	*old = NULL, **pp;

	if (c == NULL)
		return;
	if (pthread_mutex_lock(&cm.lock) != 0)
		abort();
	c->next = cm.idle;
	cm.idle = c;
	if (++cm.nidle > CM_IDLE_MAX) {
		for (pp = &cm.idle; (*pp)->next != NULL; pp = &(*pp)->next)
			;
		old = *pp;
		*pp = NULL;
		cm.nidle--;
	}
	(void)pthread_mutex_unlock(&cm.lock);
	pool_drop(old);
}

void
pool_flush(void)
{
	struct cm_conn	*c;

	if (pthread_mutex_lock(&cm.lock) != 0)
		abort();
	while ((c = cm.idle) != NULL) {
		cm.idle = c->next;
		pool_drop(c);
	}
	cm.nidle = 0;
	(void)pthread_mutex_unlock(&cm.lock);
}

/* f with the connection's next txid, its payload straight from memory. */
int
pool_send(struct cm_conn *c, struct frame *f)
{
	struct buf	 b;
	struct iovec	 iov[2], *v = iov;
	ssize_t		 w;
	int		 n, rc = 0;

	f->txid = ++c->txid;
	buf_init(&b, WIRE_HDR_MAX);
	if (f->err || wire_encode_head(&b, f) == -1 ||
	    buf_printf(&b, "len=%zu\n\n", f->len) == -1) {
		buf_free(&b);
		errno = ENAMETOOLONG;	/* a value past WIRE_VAL_MAX */
		return -1;
	}
	iov[0].iov_base = buf_ptr(&b);
	iov[0].iov_len = buf_avail(&b);
	iov[1].iov_base = (void *)(uintptr_t)f->payload;
	iov[1].iov_len = f->len;
	n = f->len > 0 ? 2 : 1;
	while (n > 0) {
		if ((w = writev(c->ctl.fd, v, n)) == -1) {
			if (errno == EINTR)
				continue;
			rc = -1;
			break;
		}
		while (n > 0 && (size_t)w >= v->iov_len) {
			w -= (ssize_t)v->iov_len;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (char *)v->iov_base + w;
			v->iov_len -= (size_t)w;
		}
	}
	buf_free(&b);
	return rc;
}

/*
 * One request as this identity: 0 and the answer in *ans, or an errno
 * (cliod's answer's, or ENOTCONN/EIO when cliod is gone).  The answer's
 * payload lives in the connection: *cp is handed back with it, and the
 * caller gives it back with pool_put() once done (NULL on a transport
 * failure).  A connection cliod closed while idle is replaced once.
 */
int
pool_call_as(uid_t uid, gid_t gid, struct frame *req, struct frame *ans,
    struct cm_conn **cp)
{
	struct cm_conn	*c;
	int		 e, tries, rc;

	*cp = NULL;
	for (tries = 0; tries < 2; tries++) {
		if ((c = pool_get(uid, gid, &e)) == NULL)
			return e;
		if (pool_send(c, req) == -1) {
			e = errno;
			pool_drop(c);
			if (e == ENAMETOOLONG)
				return e;
			continue;	/* cliod restarted since: reconnect */
		}
		rc = ctl_recv(&c->ctl, ans, cm.timeout);
		if (rc == 1 && ans->txid == req->txid) {
			*cp = c;
			if ((e = fs_answer_errno(ans)) == EPROTO)
				e = EIO;
			return e;
		}
		if (rc == 1)
			log_warnx("cliod answered txid %llu, not %llu",
			    (unsigned long long)ans->txid,
			    (unsigned long long)req->txid);
		else if (rc == 0)
			log_warnx("%s: cliod closed the connection", req->op);
		else if (errno == ETIMEDOUT)
			log_warnx("%s: no answer from cliod in %d ms", req->op,
			    cm.timeout);
		else
			log_warnx("%s: from cliod: %s", req->op,
			    errno == EPROTO ? c->ctl.reason : strerror(errno));
		pool_drop(c);
		return EIO;
	}
	return ENOTCONN;
}

/* As the caller of the current FUSE request. */
int
pool_call(struct frame *req, struct frame *ans, struct cm_conn **cp)
{
	struct fuse_context *ctx = fuse_get_context();

	if (ctx == NULL)
		return pool_call_as(0, 0, req, ans, cp);
	return pool_call_as(ctx->uid, ctx->gid, req, ans, cp);
}
