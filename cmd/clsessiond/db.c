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
 * clsessiond's requests to the cluster DB (dm/...) over its own blocking
 * control connection to clmemberd, and the records' word=value fields.
 * The sessions (dm/session/ID = name=N node=K) are also copied here, read
 * once and kept current by a DB watch on the message connection (as cliod
 * keeps its copy): an event is checked against the copy, not with a DB
 * request per event, which took a round trip to clmemberd each.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clsessiond.h"

/* A session of the copy. */
struct scopy {
	RB_ENTRY(scopy)	 entry;
	uint64_t	 id;
	uint32_t	 node;
};

RB_HEAD(scopytree, scopy);

static int
scopy_cmp(struct scopy *a, struct scopy *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}

RB_GENERATE_INTERNAL(scopytree, scopy, entry, scopy_cmp,
    __attribute__((__unused__)) static)

static struct ctl	 db;
static int		 db_open;
static struct scopytree	 scopies = RB_INITIALIZER(&scopies);
static uint64_t		 watchtx, lstx;	/* requests on M, 0 when done */
static int		 fresh;		/* the next ls answer replaces all */
static int		 copied;	/* the copy is whole and watched */
static uint64_t		 dropped;	/* M.dropped when last looked at */

/* One request on the DB connection: 1 ok, 0 refused (*f says), -1. */
int
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
int
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
int
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
int
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
int
db_field(const char *val, const char *key, char *out, size_t n)
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

int
sess_parseid(const char *s, uint64_t *id)
{
	if (s == NULL || wire_parse_u64(s, strlen(s), UINT64_MAX, id) == -1 ||
	    *id == 0)
		return -1;
	return 0;
}

/* Session id: 1 with its node, 0 no such session, -1. */
int
sess_node(uint64_t id, uint32_t *node, char *name, size_t n)
{
	char	 key[64], val[WIRE_VAL_MAX + 1], nd[16];
	uint64_t v;
	int	 rc;

	(void)snprintf(key, sizeof(key), "dm/session/%llu",
	    (unsigned long long)id);
	if ((rc = db_get(key, val, sizeof(val), NULL)) != 1)
		return rc;
	if (db_field(val, "node", nd, sizeof(nd)) == -1 ||
	    wire_parse_u64(nd, strlen(nd), UINT32_MAX, &v) == -1)
		return -1;
	*node = (uint32_t)v;
	if (name != NULL && db_field(val, "name", name, n) == -1)
		name[0] = '\0';
	return 1;
}

static void
copy_clear(void)
{
	struct scopy	*c, *next;

	RB_FOREACH_SAFE(c, scopytree, &scopies, next) {
		RB_REMOVE(scopytree, &scopies, c);
		free(c);
	}
}

/* dm/session/ID set to val (NULL: deleted). */
static void
copy_set(const char *key, const char *val)
{
	struct scopy	 k, *c;
	char		 nd[16];
	uint64_t	 v;

	if (strncmp(key, "dm/session/", 11) != 0 ||
	    sess_parseid(key + 11, &k.id) == -1)
		return;
	c = RB_FIND(scopytree, &scopies, &k);
	if (val == NULL || db_field(val, "node", nd, sizeof(nd)) == -1 ||
	    wire_parse_u64(nd, strlen(nd), UINT32_MAX, &v) == -1) {
		if (c != NULL) {
			RB_REMOVE(scopytree, &scopies, c);
			free(c);
		}
		return;
	}
	if (c == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			/* Without it, events ask the DB again. */
			log_warn("session copy");
			copied = 0;
			return;
		}
		c->id = k.id;
		RB_INSERT(scopytree, &scopies, c);
	}
	c->node = (uint32_t)v;
}

/* A request to clmemberd's DB on the message connection: its txid. */
static uint64_t
copy_ask(const char *cmd)
{
	struct frame	 f;

	if (++M.txid == 0)
		M.txid = 1;
	frame_init(&f, "db", M.txid);
	frame_add(&f, "cmd", "%s", cmd);
	frame_add(&f, "prefix", "dm/session/");
	/* Behind what msg_defer queued, not before it. */
	if (msg_flush(&M) == -1 || ctl_send(&M.ctl, &f) == -1) {
		log_warn("clmemberd: db %s", cmd);
		return 0;
	}
	return f.txid;
}

/* Once registered: watch dm/session/, then read it all. */
void
sess_copy_start(void)
{
	copied = 0;
	watchtx = copy_ask("watch");
	lstx = copy_ask("ls");
	fresh = 1;
}

/*
 * A frame from clmemberd itself (no from=) on the message connection:
 * the watch's changes and the answers to the ls and watch.
 */
void
sess_copy_frame(const struct frame *f)
{
	const char	*op, *key, *val;

	if (strcmp(f->op, "dbev") == 0) {
		if ((op = frame_get(f, "op")) == NULL)
			return;
		key = frame_get(f, "key");
		val = frame_get(f, "value");
		if (strcmp(op, "resync") == 0) {
			copied = 0;
			lstx = copy_ask("ls");
			fresh = 1;
		} else if (key != NULL && strcmp(op, "set") == 0 &&
		    val != NULL)
			copy_set(key, val);
		else if (key != NULL && strcmp(op, "del") == 0)
			copy_set(key, NULL);
		return;
	}
	if (f->txid == 0)
		return;
	if (f->txid == watchtx) {
		if (strcmp(f->op, "error") == 0) {
			log_warnx("cannot watch dm/session/ in the cluster "
			    "database: %s; every event asks it",
			    frame_get(f, "reason") != NULL ?
			    frame_get(f, "reason") : "?");
			watchtx = lstx = 0;
			copied = 0;
		}
		return;
	}
	if (f->txid != lstx)
		return;
	if (fresh) {
		copy_clear();
		fresh = 0;
	}
	if (strcmp(f->op, "dbrec") == 0) {
		if ((key = frame_get(f, "key")) != NULL &&
		    (val = frame_get(f, "value")) != NULL)
			copy_set(key, val);
	} else if (strcmp(f->op, "end") == 0) {
		lstx = 0;
		copied = watchtx != 0;
	} else if (strcmp(f->op, "error") == 0) {
		log_warnx("cannot list dm/session/ in the cluster database: "
		    "%s; every event asks it", frame_get(f, "reason") != NULL ?
		    frame_get(f, "reason") : "?");
		lstx = 0;
	}
}

/*
 * Is session id on this node?  1 when the copy says so; else (another
 * node, not in the copy, or no copy) the DB is asked, as the copy may be
 * behind it (a session just created, or moved here by assume): 1, 0 with
 * *node (0: no such session), -1 if the DB cannot be reached.
 */
int
sess_here(uint64_t id, uint32_t *node)
{
	struct scopy	 k, *c;
	int		 rc;

	/* Frames kept during a call and then dropped: a change may be lost. */
	if (M.dropped != dropped) {
		dropped = M.dropped;
		if (watchtx != 0) {
			log_warnx("%llu frames from clmemberd dropped: the "
			    "sessions are read again",
			    (unsigned long long)M.dropped);
			copied = 0;
			lstx = copy_ask("ls");
			fresh = 1;
		}
	}
	k.id = id;
	if (copied && (c = RB_FIND(scopytree, &scopies, &k)) != NULL &&
	    c->node == self) {
		*node = self;
		return 1;
	}
	if ((rc = sess_node(id, node, NULL, 0)) != 1) {
		*node = 0;
		return rc;
	}
	return *node == self;
}
