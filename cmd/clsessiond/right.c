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
 * DM access rights and user tokens (seed 000: the DM application takes
 * rights on files through its tokens; DESIGN.md DMAPI: honoured by
 * clmetad; XDSM dm_request_right, dm_release_right, dm_create_userevent).
 *
 * A right is held by a token of a session of this node: the token of a
 * synchronous event waiting here, or a user token made by `token`.
 * clsessiond asks the file system's clmetad for it through the local
 * cliod (cliod.sock, as root), which retries while clmetad answers EBUSY
 * (another right, or block-list leases being recalled), for up to 30 s.
 * clmetad lets a right run out after 4 lease_ms unless asked again, so
 * clsessiond asks again every lease_ms / 2 while the token lives; a
 * right ends at release, when its token is answered (respond), or when
 * its session leaves this node.  If clsessiond dies, the rights run out.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clsessiond.h"

#define RIGHTS_MAX	1024	/* rights held through this node */
#define UTOKENS_MAX	1024	/* user tokens alive */
#define PENDING_MAX	256	/* right requests in flight to cliod */

struct utoken {
	LIST_ENTRY(utoken) entry;
	char		 token[64];
	uint64_t	 session;
};

struct held {
	LIST_ENTRY(held) entry;
	char		 token[64];
	char		 fs[CONF_NAME_MAX];
	char		*path;
	int		 excl;
	int		 granted;
};

/* A right request sent to cliod; cl NULL when nobody waits for it. */
struct rpend {
	TAILQ_ENTRY(rpend) entry;
	uint64_t	 txid;		/* to cliod */
	struct client	*cl;
	uint64_t	 ctxid;		/* the client's */
	struct held	*h;		/* a get: the right, until answered */
};

static LIST_HEAD(, utoken) utokens = LIST_HEAD_INITIALIZER(utokens);
static LIST_HEAD(, held) helds = LIST_HEAD_INITIALIZER(helds);
static TAILQ_HEAD(, rpend) pends = TAILQ_HEAD_INITIALIZER(pends);
static int		 nutokens, nhelds, npends;
static uint64_t		 useq, iotx = 1;
static struct conn	*io;		/* to cliod.sock */
static struct timer	 renewt;

static void	 renew(void *);

static int
renew_ms(void)
{
	return (conf.lease_ms > 0 ? conf.lease_ms : 5000) / 2;
}

static struct utoken *
utoken_find(const char *tok)
{
	struct utoken	*u;

	LIST_FOREACH(u, &utokens, entry)
		if (strcmp(u->token, tok) == 0)
			return u;
	return NULL;
}

/* Is tok a live token of this node: a sync event's, or a user token? */
static int
live(const char *tok)
{
	return utoken_find(tok) != NULL || ev_token_live(tok);
}

static void
held_free(struct held *h)
{
	struct rpend	*p;

	TAILQ_FOREACH(p, &pends, entry)
		if (p->h == h)
			p->h = NULL;
	LIST_REMOVE(h, entry);
	nhelds--;
	free(h->path);
	free(h);
}

static void
io_closed(struct conn *c, const char *why, void *arg)
{
	struct rpend	*p;
	struct frame	 a;

	(void)c;
	(void)arg;
	log_warnx("cliod.sock: %s", why);
	io = NULL;
	while ((p = TAILQ_FIRST(&pends)) != NULL) {
		TAILQ_REMOVE(&pends, p, entry);
		npends--;
		if (p->h != NULL && !p->h->granted)
			held_free(p->h);
		if (p->cl != NULL && p->cl->conn != NULL) {
			fail(&a, p->ctxid, "cliod went away: %s", why);
			(void)conn_send(p->cl->conn, &a);
		}
		free(p);
	}
}

/* cliod's answer to a right request. */
static int
io_frame(struct conn *c, struct frame *f, void *arg)
{
	struct rpend	*p;
	struct frame	 a;
	int		 i, ok = strcmp(f->op, "ok") == 0;

	(void)c;
	(void)arg;
	TAILQ_FOREACH(p, &pends, entry)
		if (p->txid == f->txid)
			break;
	if (p == NULL)
		return 0;
	TAILQ_REMOVE(&pends, p, entry);
	npends--;
	if (p->h != NULL) {
		if (ok)
			p->h->granted = 1;
		else if (!p->h->granted)
			held_free(p->h);
		else
			log_warnx("right of token %s on %s:%s not renewed: %s",
			    p->h->token, p->h->fs, p->h->path,
			    frame_get(f, "reason") != NULL ?
			    frame_get(f, "reason") : f->op);
	}
	if (p->cl != NULL && p->cl->conn != NULL) {
		frame_init(&a, f->op, p->ctxid);
		for (i = 0; i < f->nkv; i++)
			frame_add(&a, f->kv[i].key, "%s", f->kv[i].val);
		(void)conn_send(p->cl->conn, &a);
	}
	free(p);
	return 0;
}

static int
io_open(void)
{
	char	 path[300];
	int	 fd;

	if (io != NULL)
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", conf.rundir,
	    FS_SOCK) >= sizeof(path))
		return -1;
	if ((fd = sock_unix_connect(path)) == -1)
		return -1;
	if (sock_nonblock(fd) == -1 || (io = conn_new(fd, 64 * 1024,
	    1024 * 1024, io_frame, io_closed, NULL)) == NULL) {
		(void)close(fd);
		return -1;
	}
	(void)strlcpy(io->name, path, sizeof(io->name));
	return 0;
}

/* Ask cliod: right cmd=... for h (get) or for a release. */
static int
io_send(const char *cmd, const char *tok, const char *fs, const char *path,
    int excl, struct held *h, struct client *cl, uint64_t ctxid)
{
	struct rpend	*p;
	struct frame	 f;

	if (npends >= PENDING_MAX) {
		errno = EAGAIN;
		return -1;
	}
	if (io_open() == -1)
		return -1;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	p->txid = iotx++;
	frame_init(&f, "right", p->txid);
	frame_add(&f, "fs", "%s", fs);
	frame_add(&f, "path", "%s", path);
	frame_add(&f, "cmd", "%s", cmd);
	frame_add(&f, "token", "%s", tok);
	if (strcmp(cmd, "get") == 0)
		frame_add(&f, "mode", "%s", excl ? "exclusive" : "shared");
	if (f.err || conn_send(io, &f) == -1) {
		free(p);
		errno = EIO;
		return -1;
	}
	p->h = h;
	p->cl = cl;
	p->ctxid = ctxid;
	TAILQ_INSERT_TAIL(&pends, p, entry);
	npends++;
	return 0;
}

/* token session=ID: a user token of a session of this node. */
void
right_token(struct client *cl, const struct frame *f, struct frame *a)
{
	struct utoken	*u;
	uint64_t	 id;
	uint32_t	 node;
	int		 rc;

	(void)cl;
	if (sess_parseid(frame_get(f, "session"), &id) == -1) {
		fail(a, f->txid, "token: want session=ID");
		return;
	}
	if ((rc = sess_node(id, &node, NULL, 0)) == -1) {
		fail(a, f->txid, "the cluster database cannot be reached");
		return;
	}
	if (rc == 0 || node != self) {
		fail(a, f->txid, "session %" PRIu64 ": %s; a token is made on "
		    "the session's node", id, rc == 0 ? "no such session" :
		    "on another node");
		return;
	}
	if (nutokens >= UTOKENS_MAX || (u = calloc(1, sizeof(*u))) == NULL) {
		fail(a, f->txid, "too many user tokens (%d)", UTOKENS_MAX);
		return;
	}
	if (useq == 0)
		useq = (uint64_t)time(NULL) << 20;
	(void)snprintf(u->token, sizeof(u->token), "%u.u%" PRIu64, self,
	    ++useq);
	u->session = id;
	LIST_INSERT_HEAD(&utokens, u, entry);
	nutokens++;
	if (!renewt.armed) {
		timer_setup(&renewt, renew, NULL);
		timer_in(&renewt, (uint64_t)renew_ms());
	}
	frame_init(a, "ok", f->txid);
	frame_add(a, "token", "%s", u->token);
}

/* right cmd=get|release token= fs= path= [mode=shared|exclusive] */
void
right_request(struct client *cl, const struct frame *f, struct frame *a)
{
	const char	*cmd = frame_get(f, "cmd"), *tok = frame_get(f, "token");
	const char	*fs = frame_get(f, "fs"), *path = frame_get(f, "path");
	const char	*mode = frame_get(f, "mode");
	struct held	*h;
	int		 get, excl = 0;

	if (cmd == NULL || tok == NULL || fs == NULL || path == NULL ||
	    (strcmp(cmd, "get") != 0 && strcmp(cmd, "release") != 0)) {
		fail(a, f->txid, "right: want cmd=get|release token= fs= "
		    "path=");
		return;
	}
	get = cmd[0] == 'g';
	if (get && (mode == NULL || (strcmp(mode, "shared") != 0 &&
	    strcmp(mode, "exclusive") != 0))) {
		fail(a, f->txid, "right get: want mode=shared|exclusive");
		return;
	}
	excl = get && mode[0] == 'e';
	if (conf_volume(&conf, fs) == NULL) {
		fail(a, f->txid, "right: no file system %s in the "
		    "configuration", fs);
		return;
	}
	if (!live(tok)) {
		fail(a, f->txid, "token %s: no such token on node %u (unknown, "
		    "answered, or its session is on another node)", tok, self);
		return;
	}
	LIST_FOREACH(h, &helds, entry)
		if (strcmp(h->token, tok) == 0 && strcmp(h->fs, fs) == 0 &&
		    strcmp(h->path, path) == 0)
			break;
	if (!get) {
		if (h != NULL)
			held_free(h);
		if (io_send("release", tok, fs, path, 0, NULL, cl,
		    f->txid) == -1)
			fail(a, f->txid, "right release: cliod: %s",
			    strerror(errno));
		return;
	}
	if (h == NULL) {
		if (nhelds >= RIGHTS_MAX ||
		    (h = calloc(1, sizeof(*h))) == NULL ||
		    (h->path = strdup(path)) == NULL) {
			free(h);
			fail(a, f->txid, "too many rights (%d)", RIGHTS_MAX);
			return;
		}
		(void)strlcpy(h->token, tok, sizeof(h->token));
		(void)strlcpy(h->fs, fs, sizeof(h->fs));
		LIST_INSERT_HEAD(&helds, h, entry);
		nhelds++;
	}
	h->excl = excl;
	if (io_send("get", tok, fs, path, excl, h, cl, f->txid) == -1) {
		if (!h->granted)
			held_free(h);
		fail(a, f->txid, "right get: cliod: %s", strerror(errno));
		return;
	}
	if (!renewt.armed) {
		timer_setup(&renewt, renew, NULL);
		timer_in(&renewt, (uint64_t)renew_ms());
	}
}

/* tok is answered or gone: its rights end, and a user token with them. */
void
right_token_end(const char *tok)
{
	struct held	*h, *next;
	struct utoken	*u;

	for (h = LIST_FIRST(&helds); h != NULL; h = next) {
		next = LIST_NEXT(h, entry);
		if (strcmp(h->token, tok) != 0)
			continue;
		if (io_send("release", h->token, h->fs, h->path, 0, NULL, NULL,
		    0) == -1)
			log_warnx("right of token %s on %s:%s: release not "
			    "sent (%s); it runs out", tok, h->fs, h->path,
			    strerror(errno));
		held_free(h);
	}
	if ((u = utoken_find(tok)) != NULL) {
		LIST_REMOVE(u, entry);
		nutokens--;
		free(u);
	}
}

/* respond on a user token ends it: 0, or -1 if tok is not one. */
int
right_respond(const char *tok)
{
	if (utoken_find(tok) == NULL)
		return -1;
	right_token_end(tok);
	return 0;
}

/* Ask again for every right held; end the tokens of departed sessions. */
static void
renew(void *arg)
{
	struct utoken	*u, *unext;
	struct held	*h, *next;
	uint32_t	 node;

	(void)arg;
	for (u = LIST_FIRST(&utokens); u != NULL; u = unext) {
		unext = LIST_NEXT(u, entry);
		if (sess_node(u->session, &node, NULL, 0) == 0 ||
		    (node != 0 && node != self)) {
			log_info("user token %s: session %" PRIu64 " is gone "
			    "from node %u; its rights end", u->token,
			    u->session, self);
			right_token_end(u->token);
		}
	}
	for (h = LIST_FIRST(&helds); h != NULL; h = next) {
		next = LIST_NEXT(h, entry);
		if (!live(h->token)) {
			right_token_end(h->token);
			continue;
		}
		if (h->granted && io_send("get", h->token, h->fs, h->path,
		    h->excl, h, NULL, 0) == -1)
			log_warnx("right of token %s on %s:%s: renewal not "
			    "sent: %s", h->token, h->fs, h->path,
			    strerror(errno));
	}
	if (!LIST_EMPTY(&helds) || !LIST_EMPTY(&utokens))
		timer_in(&renewt, (uint64_t)renew_ms());
}

/* A client went away: nobody waits for its requests' answers. */
void
right_client_gone(struct client *cl)
{
	struct rpend	*p;

	TAILQ_FOREACH(p, &pends, entry)
		if (p->cl == cl)
			p->cl = NULL;
}
