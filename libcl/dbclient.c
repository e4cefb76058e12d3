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
 * A blocking client of the cluster database (cl-wire(5), DATABASE):
 * requests on clmemberd's control socket, each answer awaited with a
 * bound, a signal in the wait no failure (ctl_wait).
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dbclient.h"
#include "loop.h"

static int
failed(struct dbc *d, const char *fmt, ...)
    __attribute__((__format__ (printf, 2, 3)));

static int
failed(struct dbc *d, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(d->error, sizeof(d->error), fmt, ap);
	va_end(ap);
	return -1;
}

int
dbc_open(struct dbc *d, const struct cl_conf *c)
{
	memset(d, 0, sizeof(*d));
	d->timeout = 2 * c->msg_timeout_ms + 1000;
	if (ctl_open(&d->ctl, c->rundir, "clmemberd") == -1)
		return failed(d, "%s/clmemberd.sock: %s", c->rundir,
		    strerror(errno));
	d->open = 1;
	return 0;
}

void
dbc_close(struct dbc *d)
{
	if (d->open)
		ctl_close(&d->ctl);
	d->open = 0;
}

/* The next frame answering txid, within the timeout: 1, or -1. */
static int
answer(struct dbc *d, uint64_t txid, struct frame *f)
{
	uint64_t	 end = clock_ms() + (uint64_t)d->timeout, now;
	int		 rc, left = d->timeout;

	for (;;) {
		rc = ctl_wait(&d->ctl, f, left);
		if (rc == 1 && f->txid == txid)
			return 1;
		if (rc == 0) {
			dbc_close(d);
			return failed(d, "clmemberd closed the connection");
		}
		if (rc == -1) {
			if (errno != ETIMEDOUT)
				dbc_close(d);
			return failed(d, "clmemberd: %s", errno == ETIMEDOUT ?
			    "no answer in time" : strerror(errno));
		}
		now = clock_ms();
		left = now >= end ? 0 : (int)(end - now);
	}
}

/* One request: 1 ok (or a record), 0 refused (f says why), -1 (error). */
int
dbc_call(struct dbc *d, struct frame *req, struct frame *f)
{
	if (!d->open)
		return failed(d, "not connected to clmemberd");
	req->txid = ++d->txid;
	if (ctl_send(&d->ctl, req) == -1) {
		dbc_close(d);
		return failed(d, "clmemberd: %s", strerror(errno));
	}
	if (answer(d, req->txid, f) == -1)
		return -1;
	if (strcmp(f->op, "ok") == 0 || strcmp(f->op, "dbrec") == 0)
		return 1;
	(void)snprintf(d->error, sizeof(d->error), "%s",
	    frame_get(f, "reason") != NULL ? frame_get(f, "reason") : f->op);
	return 0;
}

/* key's value into buf and its version: 1, 0 no such key, -1. */
int
dbc_get(struct dbc *d, const char *key, char *buf, size_t n, uint64_t *ver)
{
	struct frame	 req, f;
	const char	*st;
	int		 rc;

	frame_init(&req, "db", 0);
	frame_add(&req, "cmd", "get");
	frame_add(&req, "key", "%s", key);
	if ((rc = dbc_call(d, &req, &f)) != 1) {
		st = rc == 0 ? frame_get(&f, "status") : NULL;
		return st != NULL && strcmp(st, "nokey") == 0 ? 0 : -1;
	}
	if (frame_get(&f, "value") == NULL ||
	    strlcpy(buf, frame_get(&f, "value"), n) >= n)
		return failed(d, "%s: value too long", key);
	if (ver != NULL && frame_getu64(&f, "ver", ver) == -1)
		*ver = 0;
	return 1;
}

/* Every record under prefix, in key order, to cb: 0, or -1. */
int
dbc_ls(struct dbc *d, const char *prefix, dbc_rec_cb cb, void *arg)
{
	struct frame	 req, f;
	uint64_t	 ver;

	if (!d->open)
		return failed(d, "not connected to clmemberd");
	frame_init(&req, "db", ++d->txid);
	frame_add(&req, "cmd", "ls");
	frame_add(&req, "prefix", "%s", prefix);
	if (ctl_send(&d->ctl, &req) == -1) {
		dbc_close(d);
		return failed(d, "clmemberd: %s", strerror(errno));
	}
	for (;;) {
		if (answer(d, req.txid, &f) == -1)
			return -1;
		if (strcmp(f.op, "end") == 0)
			return 0;
		if (strcmp(f.op, "dbrec") != 0)
			return failed(d, "ls %s: %s", prefix,
			    frame_get(&f, "reason") != NULL ?
			    frame_get(&f, "reason") : f.op);
		if (frame_get(&f, "key") == NULL ||
		    frame_get(&f, "value") == NULL)
			continue;
		if (frame_getu64(&f, "ver", &ver) == -1)
			ver = 0;
		cb(frame_get(&f, "key"), frame_get(&f, "value"), ver, arg);
	}
}

/*
 * Set key to value; with check, only if it is at version ver (0: only
 * if there is none).  1, 0 refused (d->error says why), -1.
 */
int
dbc_set(struct dbc *d, const char *key, const char *value, uint64_t ver,
    int check)
{
	struct frame	 req, f;

	frame_init(&req, "db", 0);
	frame_add(&req, "cmd", "set");
	frame_add(&req, "key", "%s", key);
	frame_add(&req, "value", "%s", value);
	if (check)
		frame_add(&req, "ver", "%llu", (unsigned long long)ver);
	return dbc_call(d, &req, &f);
}

/* 1 ours, 0 held by *who (0: refused for another reason), -1. */
int
dbc_lock(struct dbc *d, const char *name, uint32_t *who)
{
	struct frame	 req, f;
	uint64_t	 n;
	int		 rc;

	*who = 0;
	frame_init(&req, "db", 0);
	frame_add(&req, "cmd", "lock");
	frame_add(&req, "name", "%s", name);
	if ((rc = dbc_call(d, &req, &f)) == 0 &&
	    frame_getu64(&f, "node", &n) == 0 && n <= CONF_NODEID_MAX)
		*who = (uint32_t)n;
	return rc;
}

int
dbc_unlock(struct dbc *d, const char *name)
{
	struct frame	 req, f;

	frame_init(&req, "db", 0);
	frame_add(&req, "cmd", "unlock");
	frame_add(&req, "name", "%s", name);
	return dbc_call(d, &req, &f);
}

static void
view_members(struct dbc_view *v, const char *s)
{
	uint64_t	 n;
	size_t		 len;

	for (; s != NULL && *s != '\0'; s += len + (s[len] == ',')) {
		len = strcspn(s, ",");
		if (wire_parse_u64(s, len, CONF_NODEID_MAX, &n) == 0)
			v->member[n] = 1;
	}
}

/* clmemberd's status: quorum, members, and which of them have joined. */
int
dbc_view(struct dbc *d, struct dbc_view *v)
{
	struct frame	 req, f;
	const char	*s;
	uint64_t	 id;

	memset(v, 0, sizeof(*v));
	if (!d->open)
		return failed(d, "not connected to clmemberd");
	frame_init(&req, "status", ++d->txid);
	if (ctl_send(&d->ctl, &req) == -1) {
		dbc_close(d);
		return failed(d, "clmemberd: %s", strerror(errno));
	}
	for (;;) {
		if (answer(d, req.txid, &f) == -1)
			return -1;
		if (strcmp(f.op, "end") == 0)
			break;
		if (strcmp(f.op, "view") == 0) {
			v->quorum = (s = frame_get(&f, "quorum")) != NULL &&
			    strcmp(s, "yes") == 0;
			(void)frame_getu64(&f, "epoch", &v->epoch);
			view_members(v, frame_get(&f, "members"));
		} else if (strcmp(f.op, "node") == 0 &&
		    frame_getu64(&f, "id", &id) == 0 && id <= CONF_NODEID_MAX &&
		    (s = frame_get(&f, "member")) != NULL) {
			if (strcmp(s, "joined") == 0 && v->member[id])
				v->joined[id] = 1;
			if (strcmp(s, "leaving") == 0)
				v->leaving[id] = 1;
		}
	}
	if (!v->quorum)
		memset(v->joined, 0, sizeof(v->joined));
	return 0;
}
