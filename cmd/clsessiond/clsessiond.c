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
 * clsessiond: DMAPI sessions, dispositions and events.  See clsessiond(8).
 * One per node.  The one holding the DB lock clsessiond.manager is the
 * session manager (seed 001): it creates and destroys sessions and sets
 * dispositions, all kept in the cluster DB (dm/...).  Each node keeps the
 * event queues of its own sessions and serves them on its socket.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <err.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "conn.h"
#include "ctl.h"
#include "fsproto.h"
#include "log.h"
#include "loop.h"
#include "msg.h"
#include "sock.h"
#include "wire.h"

#define REGISTER_MS	5000
#define LOCK_NAME	"clsessiond.manager"
#define LOCK_KEY	"lock/" LOCK_NAME
#define LOCK_RETRY_MS	1000
#define TAKEOVER_MISSES	2	/* checks without the holder's service */
#define EVQ_MAX		4096	/* events queued per session */
#define CLIENTS_MAX	256
#define NAME_MAX_LEN	64

static const char *events[] = { "create", "remove", "rename", "read",
    "write", "truncate", "attribute", "nospace", "mount", "destroy" };

struct ev {
	TAILQ_ENTRY(ev)	 entry;
	char		 token[64];
	int		 sync;
	char		 to[WIRE_VAL_MAX + 1];	/* the source, to answer */
	uint64_t	 txid;
	struct frame	*f;		/* the event as clients see it */
};

struct sess {
	LIST_ENTRY(sess) entry;
	uint64_t	 id;
	TAILQ_HEAD(, ev) evs;
	int		 nev;
};

struct client {
	LIST_ENTRY(client) entry;
	struct conn	*conn;
	uid_t		 uid;
	gid_t		 gid;
	uint64_t	 follow;	/* session followed, 0 if none */
};

static struct cl_conf	 conf;
static const char	*confpath;
static struct msg	 M;
static struct ctl	 db;
static int		 db_open;
static uint32_t		 self;
static int		 ismgr;
static uint32_t		 mgr_logged;
static int		 misses;
static uint64_t		 txids = 1000;
static struct timer	 lockt, readt;
static char		 sockpath[300];
static int		 lfd = -1;
static LIST_HEAD(, sess) sessions = LIST_HEAD_INITIALIZER(sessions);
static LIST_HEAD(, client) clients = LIST_HEAD_INITIALIZER(clients);
static int		 nclients;

static void	read_msgs(void);

static void
usage(void)
{
	(void)fprintf(stderr, "usage: clsessiond [-dnv] [-f file]\n");
	exit(2);
}

static void
fail(struct frame *a, uint64_t txid, const char *fmt, ...)
	__attribute__((__format__ (printf, 3, 4)));

/* a = "error" with reason= the message. */
static void
fail(struct frame *a, uint64_t txid, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	frame_verror(a, txid, "invalid", fmt, ap);
	va_end(ap);
}

/* One request on the DB connection: 1 ok, 0 refused (*f says), -1. */
static int
db_call(struct frame *req, struct frame *f)
{
	int	 timeout = 2 * conf.msg_timeout_ms + 1000;

	if (!db_open) {
		if (ctl_open(&db, conf.rundir, "clmemberd") == -1)
			return -1;
		db_open = 1;
	}
	if (ctl_send(&db, req) == -1)
		goto broken;
	do {
		if (ctl_recv(&db, f, timeout) != 1)
			goto broken;
	} while (f->txid != req->txid);
	return strcmp(f->op, "ok") == 0 || strcmp(f->op, "dbrec") == 0;
 broken:
	ctl_close(&db);
	db_open = 0;
	return -1;
}

/* Record key: 1 with its value and version, 0 if none, -1. */
static int
db_get(const char *key, char *val, size_t n, uint64_t *ver)
{
	struct frame	 req, f;
	const char	*v;
	int		 rc;

	frame_init(&req, "db", ++txids);
	frame_add(&req, "cmd", "get");
	frame_add(&req, "key", "%s", key);
	if ((rc = db_call(&req, &f)) == -1)
		return -1;
	if (rc == 0) {
		v = frame_get(&f, "status");
		return v != NULL && strcmp(v, "nokey") == 0 ? 0 : -1;
	}
	v = frame_get(&f, "value");
	(void)strlcpy(val, v != NULL ? v : "", n);
	if (ver != NULL && frame_getu64(&f, "ver", ver) == -1)
		*ver = 0;
	return 1;
}

/* Write key (ver: -1 any, 0 create only, else compare): 1, 0 refused. */
static int
db_write(const char *cmd, const char *key, const char *val, int64_t ver,
    char *why, size_t n)
{
	struct frame	 req, f;
	const char	*r;
	int		 rc;

	frame_init(&req, "db", ++txids);
	frame_add(&req, "cmd", "%s", cmd);
	frame_add(&req, "key", "%s", key);
	if (val != NULL)
		frame_add(&req, "value", "%s", val);
	if (ver >= 0)
		frame_add(&req, "ver", "%lld", (long long)ver);
	if ((rc = db_call(&req, &f)) == -1) {
		(void)snprintf(why, n, "clmemberd: %s", strerror(errno));
		return -1;
	}
	if (rc == 0) {
		r = frame_get(&f, "reason");
		(void)snprintf(why, n, "%s", r != NULL ? r :
		    frame_get(&f, "status") != NULL ? frame_get(&f, "status") :
		    f.op);
	}
	return rc;
}

/* Records under prefix: cb(key, value, arg) each; 0, or -1. */
static int
db_ls(const char *prefix, void (*cb)(const char *, const char *, void *),
    void *arg)
{
	struct frame	 req, f;
	int		 timeout = 2 * conf.msg_timeout_ms + 1000;

	if (!db_open) {
		if (ctl_open(&db, conf.rundir, "clmemberd") == -1)
			return -1;
		db_open = 1;
	}
	frame_init(&req, "db", ++txids);
	frame_add(&req, "cmd", "ls");
	frame_add(&req, "prefix", "%s", prefix);
	if (ctl_send(&db, &req) == -1)
		goto broken;
	for (;;) {
		if (ctl_recv(&db, &f, timeout) != 1)
			goto broken;
		if (f.txid != req.txid)
			continue;
		if (strcmp(f.op, "end") == 0)
			return 0;
		if (strcmp(f.op, "dbrec") != 0)
			return -1;
		if (frame_get(&f, "key") != NULL)
			cb(frame_get(&f, "key"), frame_get(&f, "value") != NULL ?
			    frame_get(&f, "value") : "", arg);
	}
 broken:
	ctl_close(&db);
	db_open = 0;
	return -1;
}

/* The value of word key= in a record's value, into out. */
static int
field(const char *val, const char *key, char *out, size_t n)
{
	size_t	 kl = strlen(key), l;
	const char *p = val;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		l = strcspn(p, " ");
		if (l > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
			if (l - kl - 1 >= n)
				return -1;
			memcpy(out, p + kl + 1, l - kl - 1);
			out[l - kl - 1] = '\0';
			return 0;
		}
		p += l;
	}
	return -1;
}

static int
parse_id(const char *s, uint64_t *id)
{
	if (s == NULL || wire_parse_u64(s, strlen(s), UINT64_MAX, id) == -1 ||
	    *id == 0)
		return -1;
	return 0;
}

/* Session id: 1 with its node, 0 no such session, -1. */
static int
sess_node(uint64_t id, uint32_t *node, char *name, size_t n)
{
	char	 key[64], val[WIRE_VAL_MAX + 1], nd[16];
	uint64_t v;
	int	 rc;

	(void)snprintf(key, sizeof(key), "dm/session/%llu",
	    (unsigned long long)id);
	if ((rc = db_get(key, val, sizeof(val), NULL)) != 1)
		return rc;
	if (field(val, "node", nd, sizeof(nd)) == -1 ||
	    wire_parse_u64(nd, strlen(nd), UINT32_MAX, &v) == -1)
		return -1;
	*node = (uint32_t)v;
	if (name != NULL && field(val, "name", name, n) == -1)
		name[0] = '\0';
	return 1;
}

static struct sess *
sess_find(uint64_t id, int create)
{
	struct sess	*s;

	LIST_FOREACH(s, &sessions, entry)
		if (s->id == id)
			return s;
	if (!create || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->id = id;
	TAILQ_INIT(&s->evs);
	LIST_INSERT_HEAD(&sessions, s, entry);
	return s;
}

/* Answer an event's source: continue, or abort with errno name. */
static void
ev_answer(struct ev *e, const char *reply, const char *eno)
{
	struct frame	 rq, a;

	if (!e->sync)
		return;
	frame_init(&rq, "req", e->txid);
	frame_add(&rq, "from", "%s", e->to);
	frame_init(&a, "ok", e->txid);
	frame_add(&a, "reply", "%s", reply);
	if (eno != NULL)
		frame_add(&a, "errno", "%s", eno);
	frame_add(&a, "token", "%s", e->token);
	if (msg_reply(&M, &rq, &a) == -1)
		log_warnx("answer to %s for %s: %s", e->to, e->token, M.error);
}

static void
ev_free(struct sess *s, struct ev *e)
{
	TAILQ_REMOVE(&s->evs, e, entry);
	s->nev--;
	free(e->f);
	free(e);
}

/* Send event e to a following client; 0, or -1 if the client is gone. */
static int
ev_send(struct client *cl, const struct ev *e)
{
	if (conn_send(cl->conn, e->f) == -1) {
		conn_close(cl->conn, "cannot send");
		return -1;
	}
	return 0;
}

/* Router keys are not the event's. */
static int
router_key(const char *k)
{
	return strcmp(k, "to") == 0 || strcmp(k, "from") == 0 ||
	    strcmp(k, "orig") == 0 || strcmp(k, "resp") == 0 ||
	    strcmp(k, "rcpt") == 0 || strcmp(k, "re") == 0 ||
	    strcmp(k, "self") == 0;
}

/* CL1 event from a source (cliod): queue it for the session's node. */
static void
on_event(const struct frame *f)
{
	struct sess	*s;
	struct ev	*e, *o;
	struct client	*cl, *next;
	const char	*from, *tok, *sy;
	uint64_t	 id;
	uint32_t	 node;
	int		 i, rc;

	if ((from = frame_get(f, "orig")) == NULL &&
	    (from = frame_get(f, "from")) == NULL)
		return;
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->f = malloc(sizeof(*e->f))) == NULL) {
		log_warn("event");
		free(e);
		return;
	}
	(void)strlcpy(e->to, from, sizeof(e->to));
	e->txid = f->txid;
	sy = frame_get(f, "sync");
	e->sync = sy != NULL ? strcmp(sy, "1") == 0 :
	    frame_get(f, "resp") != NULL;
	tok = frame_get(f, "token");
	(void)strlcpy(e->token, tok != NULL ? tok : "", sizeof(e->token));
	frame_init(e->f, "event", 0);
	for (i = 0; i < f->nkv; i++)
		if (!router_key(f->kv[i].key) &&
		    strcmp(f->kv[i].key, "len") != 0)
			frame_add(e->f, f->kv[i].key, "%s", f->kv[i].val);
	if (tok == NULL || parse_id(frame_get(f, "session"), &id) == -1) {
		log_warnx("event from %s without token= or session=", from);
		ev_answer(e, "abort", "EINVAL");
		goto drop;
	}
	/* The frame is copied: the DB may be asked now. */
	if ((rc = sess_node(id, &node, NULL, 0)) != 1 || node != self) {
		log_warnx("event %s from %s: session %llu %s", e->token, from,
		    (unsigned long long)id, rc == 1 ? "is not on this node" :
		    rc == 0 ? "does not exist" : "unknown (no database)");
		ev_answer(e, "abort", "EIO");
		goto drop;
	}
	if ((s = sess_find(id, 1)) == NULL) {
		log_warn("session");
		ev_answer(e, "abort", "EAGAIN");
		goto drop;
	}
	/* A resend (the session moved here): same token, queued once. */
	TAILQ_FOREACH(o, &s->evs, entry)
		if (strcmp(o->token, e->token) == 0) {
			(void)strlcpy(o->to, e->to, sizeof(o->to));
			o->txid = e->txid;
			o->sync = e->sync;
			log_debug("session %llu: event %s from %s again",
			    (unsigned long long)id, e->token, from);
			goto drop;
		}
	if (s->nev >= EVQ_MAX) {
		log_warnx("session %llu: %d events queued; event %s from %s "
		    "refused", (unsigned long long)id, s->nev, e->token, from);
		ev_answer(e, "abort", "EAGAIN");
		goto drop;
	}
	TAILQ_INSERT_TAIL(&s->evs, e, entry);
	s->nev++;
	log_debug("session %llu: event %s from %s", (unsigned long long)id,
	    e->token, from);
	i = 0;
	for (cl = LIST_FIRST(&clients); cl != NULL; cl = next) {
		next = LIST_NEXT(cl, entry);
		if (cl->follow == id && ev_send(cl, e) == 0)
			i++;
	}
	if (i > 0 && !e->sync)
		ev_free(s, e);
	return;
 drop:
	free(e->f);
	free(e);
}

static const char *
valid_event(const char *ev)
{
	size_t	 i;

	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (ev != NULL && strcmp(ev, events[i]) == 0)
			return events[i];
	return NULL;
}

/* Manager: a new session. */
static void
mgr_create(const char *name, uint32_t node, uint64_t txid, struct frame *a)
{
	char	 val[WIRE_VAL_MAX + 1], key[64], why[512];
	uint64_t ver, last, id;
	int	 i, rc;

	for (i = 0; i < 20; i++) {
		if ((rc = db_get("dm/nextid", val, sizeof(val), &ver)) == -1)
			goto nodb;
		last = 0;
		if (rc == 1 && wire_parse_u64(val, strlen(val), UINT64_MAX,
		    &last) == -1) {
			fail(a, txid, "dm/nextid: not a number: %s", val);
			return;
		}
		id = last + 1;
		(void)snprintf(val, sizeof(val), "%llu",
		    (unsigned long long)id);
		rc = db_write("set", "dm/nextid", val, rc == 1 ?
		    (int64_t)ver : 0, why, sizeof(why));
		if (rc == -1)
			goto nodb;
		if (rc == 0)
			continue;	/* someone else took it: again */
		(void)snprintf(key, sizeof(key), "dm/session/%llu",
		    (unsigned long long)id);
		(void)snprintf(val, sizeof(val), "name=%s node=%u", name, node);
		if (db_write("set", key, val, 0, why, sizeof(why)) != 1) {
			fail(a, txid, "cannot write %s: %s", key, why);
			return;
		}
		log_info("session %llu (%s) created for node %u",
		    (unsigned long long)id, name, node);
		frame_init(a, "ok", txid);
		frame_add(a, "id", "%llu", (unsigned long long)id);
		return;
	}
	fail(a, txid, "dm/nextid keeps changing; try again");
	return;
 nodb:
	fail(a, txid, "the cluster database cannot be reached");
}

struct dispdel {
	uint64_t	 id;
	char		 keys[64][160];
	int		 n;
};

static void
disp_match(const char *key, const char *val, void *arg)
{
	struct dispdel	*d = arg;
	char		 s[32];
	uint64_t	 id;

	if (field(val, "session", s, sizeof(s)) == 0 &&
	    parse_id(s, &id) == 0 && id == d->id &&
	    d->n < (int)(sizeof(d->keys) / sizeof(d->keys[0])))
		(void)strlcpy(d->keys[d->n++], key, sizeof(d->keys[0]));
}

/* Pending events of session id on node (-1: unknown). */
static int
pending_of(uint64_t id, uint32_t node)
{
	struct sess	*s;
	struct frame	 req, resp, rcpt;
	uint64_t	 n;

	if (node == self)
		return (s = sess_find(id, 0)) != NULL ? s->nev : 0;
	frame_init(&req, "pending", ++txids);
	frame_add(&req, "to", "%u.clsessiond", node);
	frame_add(&req, "id", "%llu", (unsigned long long)id);
	if (msg_call(&M, &req, &resp, &rcpt, conf.msg_timeout_ms) != 1 ||
	    frame_getu64(&resp, "pending", &n) == -1) {
		timer_in(&readt, 0);
		return -1;
	}
	timer_in(&readt, 0);
	return (int)n;
}

/* Manager: destroy a session without pending events. */
static void
mgr_destroy(uint64_t id, uint64_t txid, struct frame *a)
{
	struct dispdel	*d;
	char		 key[64], why[512];
	uint32_t	 node;
	int		 rc, n, i;

	if ((rc = sess_node(id, &node, NULL, 0)) == -1) {
		fail(a, txid, "the cluster database cannot be reached");
		return;
	}
	if (rc == 0) {
		fail(a, txid, "no session %llu", (unsigned long long)id);
		return;
	}
	if ((n = pending_of(id, node)) > 0) {
		fail(a, txid, "session %llu has %d pending events on node %u: "
		    "respond to them first", (unsigned long long)id, n, node);
		return;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		fail(a, txid, "out of memory");
		return;
	}
	d->id = id;
	if (db_ls("dm/disp/", disp_match, d) == 0)
		for (i = 0; i < d->n; i++)
			if (db_write("del", d->keys[i], NULL, -1, why,
			    sizeof(why)) != 1)
				log_warnx("del %s: %s", d->keys[i], why);
	free(d);
	(void)snprintf(key, sizeof(key), "dm/session/%llu",
	    (unsigned long long)id);
	if (db_write("del", key, NULL, -1, why, sizeof(why)) != 1) {
		fail(a, txid, "cannot delete %s: %s", key, why);
		return;
	}
	log_info("session %llu destroyed", (unsigned long long)id);
	frame_init(a, "ok", txid);
	frame_add(a, "id", "%llu", (unsigned long long)id);
}

static int	has_service(uint32_t);

/*
 * Manager: session id moves to node (clsession assume), only if its
 * node left the view or runs no clsessiond, or with force.
 */
static void
mgr_assume(uint64_t id, uint32_t node, int force, uint64_t txid,
    struct frame *a)
{
	char	 key[64], val[WIRE_VAL_MAX + 1], name[NAME_MAX_LEN + 1];
	char	 nd[16], why[512];
	uint64_t ver, v;
	int	 rc;

	(void)snprintf(key, sizeof(key), "dm/session/%llu",
	    (unsigned long long)id);
	if ((rc = db_get(key, val, sizeof(val), &ver)) == -1) {
		fail(a, txid, "the cluster database cannot be reached");
		return;
	}
	if (rc == 0) {
		fail(a, txid, "no session %llu", (unsigned long long)id);
		return;
	}
	if (field(val, "node", nd, sizeof(nd)) == -1 ||
	    wire_parse_u64(nd, strlen(nd), UINT32_MAX, &v) == -1 ||
	    field(val, "name", name, sizeof(name)) == -1) {
		fail(a, txid, "%s: not understood: %s", key, val);
		return;
	}
	if ((uint32_t)v != node && !force) {
		if ((rc = has_service((uint32_t)v)) == -1) {
			fail(a, txid, "cannot list the services of the "
			    "cluster");
			return;
		}
		if (rc == 1) {
			fail(a, txid, "session %llu: node %llu is in the view "
			    "and runs clsessiond (use --force)",
			    (unsigned long long)id, (unsigned long long)v);
			return;
		}
	}
	if ((uint32_t)v != node) {
		(void)snprintf(val, sizeof(val), "name=%s node=%u", name,
		    node);
		if ((rc = db_write("set", key, val, (int64_t)ver, why,
		    sizeof(why))) != 1) {
			if (rc == 0)
				fail(a, txid, "session %llu changed meanwhile; "
				    "try again", (unsigned long long)id);
			else
				fail(a, txid, "cannot write %s: %s", key, why);
			return;
		}
		log_info("session %llu (%s) moved from node %llu to node %u",
		    (unsigned long long)id, name, (unsigned long long)v, node);
	}
	frame_init(a, "ok", txid);
	frame_add(a, "id", "%llu", (unsigned long long)id);
	frame_add(a, "node", "%u", node);
}

/* Manager: disposition of (fs, event[, node]) to session. */
static void
mgr_dispset(const struct frame *f, uint64_t txid, struct frame *a)
{
	const char	*fs = frame_get(f, "fs"), *ev, *mode, *nd;
	char		 key[256], val[WIRE_VAL_MAX + 1], cur[32], why[512];
	uint64_t	 id, n = 0, cid;
	uint32_t	 node;
	int		 rc;

	ev = valid_event(frame_get(f, "event"));
	mode = frame_get(f, "mode") != NULL ? frame_get(f, "mode") : "sync";
	nd = frame_get(f, "node");
	if (fs == NULL || conf_volume(&conf, fs) == NULL) {
		fail(a, txid, "%s: not a file system (a volume in %s)",
		    fs != NULL ? fs : "(none)", conf.path);
		return;
	}
	if (ev == NULL) {
		fail(a, txid, "%s: not an event (create remove rename read "
		    "write truncate attribute nospace mount destroy)",
		    frame_get(f, "event") != NULL ? frame_get(f, "event") :
		    "(none)");
		return;
	}
	if (strcmp(mode, "sync") != 0 && strcmp(mode, "async") != 0) {
		fail(a, txid, "mode %s: sync or async", mode);
		return;
	}
	if (nd != NULL && (wire_parse_u64(nd, strlen(nd), UINT32_MAX, &n) ==
	    -1 || conf_node(&conf, (uint32_t)n) == NULL)) {
		fail(a, txid, "node %s: not a node in %s", nd, conf.path);
		return;
	}
	if (parse_id(frame_get(f, "session"), &id) == -1) {
		fail(a, txid, "session %s: not a session id",
		    frame_get(f, "session") != NULL ? frame_get(f, "session") :
		    "(none)");
		return;
	}
	if ((rc = sess_node(id, &node, NULL, 0)) != 1) {
		fail(a, txid, rc == 0 ? "no session %llu" : "session %llu: the "
		    "cluster database cannot be reached",
		    (unsigned long long)id);
		return;
	}
	if (nd != NULL)
		(void)snprintf(key, sizeof(key), "dm/disp/%s/%s/%llu", fs, ev,
		    (unsigned long long)n);
	else
		(void)snprintf(key, sizeof(key), "dm/disp/%s/%s", fs, ev);
	if ((rc = db_get(key, val, sizeof(val), NULL)) == -1) {
		fail(a, txid, "the cluster database cannot be reached");
		return;
	}
	if (rc == 1 && field(val, "session", cur, sizeof(cur)) == 0 &&
	    parse_id(cur, &cid) == 0 && cid != id &&
	    sess_node(cid, &node, NULL, 0) == 1) {
		fail(a, txid, "%s %s%s%s already goes to session %llu: one "
		    "session per file system, event and node", fs, ev,
		    nd != NULL ? " on node " : "", nd != NULL ? nd : "",
		    (unsigned long long)cid);
		return;
	}
	(void)snprintf(val, sizeof(val), "session=%llu mode=%s",
	    (unsigned long long)id, mode);
	if (db_write("set", key, val, -1, why, sizeof(why)) != 1) {
		fail(a, txid, "cannot write %s: %s", key, why);
		return;
	}
	log_info("%s = %s", key, val);
	frame_init(a, "ok", txid);
	frame_add(a, "key", "%s", key);
}

static void
mgr_request(const struct frame *f, uint64_t txid, uint32_t from,
    struct frame *a)
{
	uint64_t	 id;
	const char	*name;

	if (strcmp(f->op, "create") == 0) {
		name = frame_get(f, "name");
		if (name == NULL || *name == '\0' ||
		    strlen(name) > NAME_MAX_LEN ||
		    name[strcspn(name, " =\t")] != '\0') {
			fail(a, txid, "session name: 1 to %d characters, no "
			    "blanks or =", NAME_MAX_LEN);
			return;
		}
		mgr_create(name, from, txid, a);
	} else if (strcmp(f->op, "destroy") == 0) {
		if (parse_id(frame_get(f, "id"), &id) == -1)
			fail(a, txid, "destroy: id= missing or not a number");
		else
			mgr_destroy(id, txid, a);
	} else if (strcmp(f->op, "assume") == 0) {
		if (parse_id(frame_get(f, "id"), &id) == -1)
			fail(a, txid, "assume: id= missing or not a number");
		else
			mgr_assume(id, from, frame_get(f, "force") != NULL,
			    txid, a);
	} else if (strcmp(f->op, "dispset") == 0)
		mgr_dispset(f, txid, a);
	else
		fail(a, txid, "%s: not a manager request", f->op);
}

/* The manager's node: from the lock record; 0 if none. */
static uint32_t
manager(void)
{
	char	 val[WIRE_VAL_MAX + 1], nd[16];
	uint64_t n;

	if (db_get(LOCK_KEY, val, sizeof(val), NULL) != 1 ||
	    field(val, "node", nd, sizeof(nd)) == -1 ||
	    wire_parse_u64(nd, strlen(nd), UINT32_MAX, &n) == -1)
		return 0;
	return (uint32_t)n;
}

static void	try_lock(void);

/* A request for the manager, from this node's client: here or there. */
static void
to_manager(const struct frame *f, struct frame *a)
{
	struct frame	 req, resp, rcpt;
	uint32_t	 mgr;
	int		 i, rc, tries;

	for (tries = 0; tries < 3; tries++) {
		if (!ismgr && (mgr = manager()) == self)
			try_lock();
		if (ismgr) {
			mgr_request(f, f->txid, self, a);
			return;
		}
		if ((mgr = manager()) == 0) {
			try_lock();
			continue;
		}
		frame_init(&req, f->op, ++txids);
		for (i = 0; i < f->nkv; i++)
			if (!router_key(f->kv[i].key))
				frame_add(&req, f->kv[i].key, "%s",
				    f->kv[i].val);
		frame_add(&req, "to", "%u.clsessiond", mgr);
		rc = msg_call(&M, &req, &resp, &rcpt,
		    2 * conf.msg_timeout_ms);
		timer_in(&readt, 0);
		if (rc == 1) {
			frame_init(a, resp.op, f->txid);
			for (i = 0; i < resp.nkv; i++)
				if (!router_key(resp.kv[i].key))
					frame_add(a, resp.kv[i].key, "%s",
					    resp.kv[i].val);
			return;
		}
		log_warnx("session manager on node %u: %s", mgr, M.error);
		/* Its clsessiond is gone: take over if we may. */
		misses = TAKEOVER_MISSES;
		try_lock();
	}
	fail(a, f->txid, "no session manager answers (is clsessiond "
	    "running, and the cluster in quorum?)");
}

/* Does node run clsessiond (1), not (0), unknown (-1)? */
static int
has_service(uint32_t node)
{
	struct frame	 f;
	char		 want[64];
	const char	*p, *end;

	if (msg_services(&M, &f, conf.msg_timeout_ms) == -1)
		return -1;
	timer_in(&readt, 0);
	(void)snprintf(want, sizeof(want), "node=%u name=clsessiond", node);
	p = (const char *)f.payload;
	end = p + f.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		if (l >= strlen(want) &&
		    memcmp(p + l - strlen(want), want, strlen(want)) == 0)
			return 1;
		p += l + 1;
	}
	return 0;
}

/* The lock clsessiond.manager; a holder without clsessiond loses it. */
static void
try_lock(void)
{
	struct frame	 req, f;
	char		 why[512], val[WIRE_VAL_MAX + 1];
	uint64_t	 who = 0, ver;
	const char	*node;
	int		 rc;

	frame_init(&req, "db", ++txids);
	frame_add(&req, "cmd", "lock");
	frame_add(&req, "name", LOCK_NAME);
	if ((rc = db_call(&req, &f)) == 1) {
		if (!ismgr)
			log_info("holding the lock %s: session manager",
			    LOCK_NAME);
		ismgr = 1;
		misses = 0;
		return;
	}
	if (ismgr)
		log_warnx("lost the lock %s", LOCK_NAME);
	ismgr = 0;
	if (rc == 0 && (node = frame_get(&f, "node")) != NULL)
		(void)wire_parse_u64(node, strlen(node), UINT32_MAX, &who);
	if (who != mgr_logged) {
		if (who != 0)
			log_info("session manager: node %llu",
			    (unsigned long long)who);
		mgr_logged = (uint32_t)who;
	}
	if (who == 0 || who == self)
		return;
	/* Its node is a member, but is its clsessiond alive? */
	if ((rc = has_service((uint32_t)who)) != 0) {
		if (rc == 1)
			misses = 0;
		return;
	}
	if (++misses < TAKEOVER_MISSES)
		return;
	if (db_get(LOCK_KEY, val, sizeof(val), &ver) != 1)
		return;
	log_warnx("node %llu holds %s but runs no clsessiond: taking over",
	    (unsigned long long)who, LOCK_NAME);
	if (db_write("del", LOCK_KEY, NULL, (int64_t)ver, why,
	    sizeof(why)) != 1) {
		log_warnx("cannot release %s: %s", LOCK_NAME, why);
		return;
	}
	misses = 0;
	try_lock();
}

static void
on_lockt(void *arg)
{
	(void)arg;
	try_lock();
	timer_in(&lockt, LOCK_RETRY_MS);
}

/* A message from another service. */
static void
on_msg_frame(struct frame *f)
{
	struct frame	 rq, a;
	const char	*from;
	struct sess	*s;
	uint64_t	 id, v;
	uint32_t	 fromnode = 0;
	int		 resp;

	if (strcmp(f->op, "event") == 0) {
		on_event(f);
		return;
	}
	if ((from = frame_get(f, "orig")) == NULL &&
	    (from = frame_get(f, "from")) == NULL)
		return;
	if (frame_get(f, "re") != NULL)
		return;		/* a late answer */
	if (wire_parse_u64(from, strcspn(from, "."), UINT32_MAX, &v) == 0)
		fromnode = (uint32_t)v;
	/* mgr_request may call another node: f is not valid after it. */
	resp = frame_get(f, "resp") != NULL;
	frame_init(&rq, "req", f->txid);
	frame_add(&rq, "from", "%s", from);
	if (strcmp(f->op, "pending") == 0) {
		frame_init(&a, "ok", f->txid);
		s = parse_id(frame_get(f, "id"), &id) == 0 ?
		    sess_find(id, 0) : NULL;
		frame_add(&a, "pending", "%d", s != NULL ? s->nev : 0);
	} else if (!ismgr)
		fail(&a, f->txid, "node %u is not the session manager", self);
	else
		mgr_request(f, f->txid, fromnode, &a);
	if (resp && msg_reply(&M, &rq, &a) == -1)
		log_warnx("answer to %s: %s", frame_get(&rq, "from"), M.error);
}

static void
read_msgs(void)
{
	struct frame	 f;
	int		 i, rc;

	for (i = 0; i < 64; i++) {
		if ((rc = msg_recv(&M, &f, 0)) == 1) {
			on_msg_frame(&f);
			continue;
		}
		if (rc == 0)
			fatalx("clmemberd closed the connection");
		if (errno == ETIMEDOUT)
			return;
		fatalx("clmemberd: %s", M.error);
	}
	if (msg_pending(&M))
		timer_in(&readt, 0);
}

static void
on_msg(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	read_msgs();
}

static void
on_readt(void *arg)
{
	(void)arg;
	read_msgs();
}

/* May this client change sessions?  Root, our user, or cl.conf group. */
static int
privileged(const struct client *cl)
{
	struct group	*gr;
	struct passwd	*pw;
	char		**m;

	if (cl->uid == 0 || cl->uid == geteuid())
		return 1;
	if (conf.group[0] == '\0' || (gr = getgrnam(conf.group)) == NULL)
		return 0;
	if (cl->gid == gr->gr_gid)
		return 1;
	if ((pw = getpwuid(cl->uid)) == NULL)
		return 0;
	for (m = gr->gr_mem; *m != NULL; m++)
		if (strcmp(*m, pw->pw_name) == 0)
			return 1;
	return 0;
}

struct lsarg {
	struct client	*cl;
	uint64_t	 txid;
};

static void
list_one(const char *key, const char *val, void *arg)
{
	struct lsarg	*la = arg;
	struct frame	 f;
	struct sess	*s;
	char		 name[NAME_MAX_LEN + 1], nd[16];
	uint64_t	 id, node;

	if (parse_id(key + strlen("dm/session/"), &id) == -1 ||
	    field(val, "node", nd, sizeof(nd)) == -1 ||
	    wire_parse_u64(nd, strlen(nd), UINT32_MAX, &node) == -1)
		return;
	if (field(val, "name", name, sizeof(name)) == -1)
		(void)strlcpy(name, "-", sizeof(name));
	frame_init(&f, "session", la->txid);
	frame_add(&f, "id", "%llu", (unsigned long long)id);
	frame_add(&f, "name", "%s", name);
	frame_add(&f, "node", "%llu", (unsigned long long)node);
	if (node == self)
		frame_add(&f, "pending", "%d", (s = sess_find(id, 0)) != NULL ?
		    s->nev : 0);
	else
		frame_add(&f, "pending", "-");
	(void)conn_send(la->cl->conn, &f);
}

static void
disp_one(const char *key, const char *val, void *arg)
{
	struct lsarg	*la = arg;
	struct frame	 f;
	char		 k[256], sess[32], mode[16], *p, *q;

	(void)strlcpy(k, key + strlen("dm/disp/"), sizeof(k));
	frame_init(&f, "disp", la->txid);
	p = k;
	q = strsep(&p, "/");
	frame_add(&f, "fs", "%s", q);
	q = p != NULL ? strsep(&p, "/") : NULL;
	frame_add(&f, "event", "%s", q != NULL ? q : "-");
	frame_add(&f, "node", "%s", p != NULL ? p : "all");
	if (field(val, "session", sess, sizeof(sess)) == -1)
		(void)strlcpy(sess, "-", sizeof(sess));
	if (field(val, "mode", mode, sizeof(mode)) == -1)
		(void)strlcpy(mode, "-", sizeof(mode));
	frame_add(&f, "session", "%s", sess);
	frame_add(&f, "mode", "%s", mode);
	(void)conn_send(la->cl->conn, &f);
}

/* events ID [follow=1]: the session must be this node's. */
static void
client_events(struct client *cl, const struct frame *f, struct frame *a)
{
	struct sess	*s;
	struct ev	*e, *next;
	struct frame	 end;
	uint64_t	 id;
	uint32_t	 node;
	int		 rc, follow;

	if (parse_id(frame_get(f, "id"), &id) == -1) {
		fail(a, f->txid, "events: id= missing or not a number");
		return;
	}
	if ((rc = sess_node(id, &node, NULL, 0)) != 1) {
		fail(a, f->txid, rc == 0 ? "no session %llu" : "session %llu: "
		    "the cluster database cannot be reached",
		    (unsigned long long)id);
		return;
	}
	if (node != self) {
		fail(a, f->txid, "session %llu is on node %u, not node %u: "
		    "its events are served there", (unsigned long long)id,
		    node, self);
		return;
	}
	follow = frame_get(f, "follow") != NULL &&
	    strcmp(frame_get(f, "follow"), "1") == 0;
	if ((s = sess_find(id, 1)) == NULL) {
		fail(a, f->txid, "out of memory");
		return;
	}
	for (e = TAILQ_FIRST(&s->evs); e != NULL; e = next) {
		next = TAILQ_NEXT(e, entry);
		if (ev_send(cl, e) == -1)
			return;
		if (!e->sync)
			ev_free(s, e);
	}
	if (follow) {
		cl->follow = id;
		a->op[0] = '\0';
		return;
	}
	frame_init(&end, "end", f->txid);
	*a = end;
}

/* respond TOKEN continue|abort ERRNO */
static void
client_respond(const struct frame *f, struct frame *a)
{
	struct sess	*s;
	struct ev	*e;
	const char	*tok = frame_get(f, "token"), *r = frame_get(f, "reply");
	const char	*en = frame_get(f, "errno");

	if (tok == NULL || r == NULL) {
		fail(a, f->txid, "respond: token= and reply= needed");
		return;
	}
	if (strcmp(r, "continue") == 0)
		en = NULL;
	else if (strcmp(r, "abort") != 0) {
		fail(a, f->txid, "respond: %s: continue or abort", r);
		return;
	} else if (en == NULL || strcmp(fs_errname(fs_errnum(en)), en) != 0) {
		fail(a, f->txid, "respond: abort needs an errno name such as "
		    "EPERM, not %s", en != NULL ? en : "nothing");
		return;
	}
	LIST_FOREACH(s, &sessions, entry)
		TAILQ_FOREACH(e, &s->evs, entry)
			if (e->sync && strcmp(e->token, tok) == 0) {
				ev_answer(e, r, en);
				log_debug("event %s: %s %s", tok, r,
				    en != NULL ? en : "");
				ev_free(s, e);
				frame_init(a, "ok", f->txid);
				frame_add(a, "token", "%s", tok);
				return;
			}
	fail(a, f->txid, "token %s: no event waits for an answer on node %u "
	    "(unknown, already answered, or its session is on another node)",
	    tok, self);
}

static int
client_frame(struct conn *c, struct frame *f, void *arg)
{
	struct client	*cl = arg;
	struct frame	 a;
	struct lsarg	 la;
	int		 priv;

	(void)c;
	priv = privileged(cl);
	frame_init(&a, "", f->txid);
	la.cl = cl;
	la.txid = f->txid;
	if (strcmp(f->op, "list") == 0) {
		if (db_ls("dm/session/", list_one, &la) == -1)
			fail(&a, f->txid, "the cluster database cannot be "
			    "reached");
		else
			frame_init(&a, "end", f->txid);
	} else if (strcmp(f->op, "displs") == 0) {
		if (db_ls("dm/disp/", disp_one, &la) == -1)
			fail(&a, f->txid, "the cluster database cannot be "
			    "reached");
		else
			frame_init(&a, "end", f->txid);
	} else if (!priv)
		fail(&a, f->txid, "%s: permission denied (root or group %s "
		    "only)", f->op, conf.group[0] != '\0' ? conf.group : "-");
	else if (strcmp(f->op, "create") == 0 ||
	    strcmp(f->op, "destroy") == 0 || strcmp(f->op, "dispset") == 0 ||
	    strcmp(f->op, "assume") == 0) {
		to_manager(f, &a);
	} else if (strcmp(f->op, "events") == 0)
		client_events(cl, f, &a);
	else if (strcmp(f->op, "respond") == 0)
		client_respond(f, &a);
	else
		fail(&a, f->txid, "%s: unknown request", f->op);
	if (cl->conn == NULL || cl->conn->dead)
		return -1;
	if (a.op[0] != '\0' && conn_send(cl->conn, &a) == -1) {
		conn_close(cl->conn, "cannot send");
		return -1;
	}
	return 0;
}

static void
client_closed(struct conn *c, const char *why, void *arg)
{
	struct client	*cl = arg;

	(void)c;
	log_debug("client uid %ld: %s", (long)cl->uid, why);
	LIST_REMOVE(cl, entry);
	nclients--;
	free(cl);
}

static void
accept_client(int fd, short ev, void *arg)
{
	struct client	*cl;
	int		 s;

	(void)ev;
	(void)arg;
	if ((s = accept(fd, NULL, NULL)) == -1) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("accept on %s", sockpath);
		return;
	}
	if (nclients >= CLIENTS_MAX || sock_nonblock(s) == -1 ||
	    (cl = calloc(1, sizeof(*cl))) == NULL) {
		log_warnx("client refused: %d clients", nclients);
		(void)close(s);
		return;
	}
	if (sock_peercred(s, &cl->uid, &cl->gid) == -1) {
		cl->uid = (uid_t)65534;
		cl->gid = (gid_t)65534;
	}
	cl->conn = conn_new(s, 64 * 1024, 16 * 1024 * 1024, client_frame,
	    client_closed, cl);
	if (cl->conn == NULL) {
		log_warn("client");
		(void)close(s);
		free(cl);
		return;
	}
	(void)snprintf(cl->conn->name, sizeof(cl->conn->name), "uid %ld",
	    (long)cl->uid);
	LIST_INSERT_HEAD(&clients, cl, entry);
	nclients++;
}

static void
on_term(int sig, void *arg)
{
	(void)arg;
	log_info("signal %d: exiting", sig);
	loop_exit();
}

static void
on_hup(int sig, void *arg)
{
	(void)sig;
	(void)arg;
	log_info("SIGHUP: clsessiond has nothing to reload");
}

/* Events waiting for an answer get abort EIO: nobody will answer them. */
static void
finish(void)
{
	struct sess	*s;
	struct ev	*e;
	struct frame	 req, f;

	LIST_FOREACH(s, &sessions, entry)
		while ((e = TAILQ_FIRST(&s->evs)) != NULL) {
			ev_answer(e, "abort", "EIO");
			ev_free(s, e);
		}
	if (ismgr) {
		frame_init(&req, "db", ++txids);
		frame_add(&req, "cmd", "unlock");
		frame_add(&req, "name", LOCK_NAME);
		if (db_call(&req, &f) != 1)
			log_warnx("cannot release the lock %s", LOCK_NAME);
	}
	if (lfd != -1) {
		(void)close(lfd);
		(void)unlink(sockpath);
	}
	msg_close(&M);
	log_info("terminating");
}

int
main(int argc, char *argv[])
{
	int	 ch, debug = 0, noaction = 0, verbose = 0;

	while ((ch = getopt(argc, argv, "df:nv")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			confpath = optarg;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	confpath = conf_path(confpath);
	log_init("clsessiond", 1, LOG_DAEMON);
	if (conf_load(&conf, confpath) == -1)
		exit(1);
	self = conf.self;
	if (noaction) {
		(void)fprintf(stderr, "configuration OK\n");
		exit(0);
	}
	log_init("clsessiond", debug, LOG_DAEMON);
	log_setverbose(debug + verbose);
	if (loop_init() == -1)
		fatal("event loop");
	(void)signal(SIGPIPE, SIG_IGN);
	if (loop_signal(SIGTERM, on_term, NULL) == -1 ||
	    loop_signal(SIGINT, on_term, NULL) == -1 ||
	    loop_signal(SIGHUP, on_hup, NULL) == -1)
		fatal("signals");
	if ((size_t)snprintf(sockpath, sizeof(sockpath), "%s/clsessiond.sock",
	    conf.rundir) >= sizeof(sockpath))
		fatalx("%s: path too long", conf.rundir);
	if ((lfd = sock_unix_listen(sockpath, 0666, (gid_t)-1)) == -1) {
		if (errno == EADDRINUSE)
			fatalx("%s: another clsessiond is running", sockpath);
		fatal("%s", sockpath);
	}
	if (loop_fd_add(lfd, POLLIN, accept_client, NULL) == -1)
		fatal("event loop");
	if (msg_open(&M, conf.rundir) == -1)
		fatalx("%s", M.error);
	if (msg_register(&M, "clsessiond", REGISTER_MS) == -1)
		fatalx("%s", M.error);
	if (loop_fd_add(msg_fd(&M), POLLIN, on_msg, NULL) == -1)
		fatal("event loop");
	timer_setup(&lockt, on_lockt, NULL);
	timer_setup(&readt, on_readt, NULL);
	timer_in(&lockt, 0);
	log_info("node %u: serving %s", self, sockpath);
	if (loop_run() == -1)
		fatal("event loop");
	finish();
	return 0;
}
