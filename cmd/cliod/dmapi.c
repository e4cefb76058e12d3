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
 * DMAPI event source (seed 000; DESIGN.md DMAPI): the node where a
 * user's file operation happens turns it into an event for the session
 * that a disposition names, sent to <session node>.clsessiond.  The
 * dispositions (dm/disp/FS/EVENT[/NODE]) and sessions (dm/session/ID)
 * of the cluster database are copied here: listed when cliod registers
 * and kept current by a database watch on dm/ over the same connection
 * to clmemberd.  A synchronous event holds the one request (not cliod)
 * until the session answers continue or abort with an errno; no answer
 * within event_timeout_ms fails it with EIO.  No session node or service
 * is waited out: when dm/session/ID names another node (clsession
 * assume, seed 001), every held event of that session is sent there
 * again with its token, and the clock restarts.  See cliod(8), DMAPI.
 */

#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cliod.h"
#include "log.h"

#define DM_PREFIX	"dm/"
#define DM_KEY_MAX	128
#define DM_EV_MAX	16
#define DM_TIMEOUT_MS	30000	/* without event_timeout_ms in cl.conf */

struct dmrec {
	int		 used;
	int		 disp;		/* 1: a disposition, 0: a session */
	char		 key[DM_KEY_MAX + 1];
	char		 fs[CONF_NAME_MAX];
	char		 ev[DM_EV_MAX];
	uint32_t	 node;		/* disp: 0 all nodes; session: its node */
	uint64_t	 session;
	int		 sync;
};

/*
 * A request held for the answer to its synchronous event.  Sent again,
 * same token, when its session moves to another node (gen counts the
 * sends: an answer to an older one is ignored).
 */
struct dmhold {
	LIST_ENTRY(dmhold) entry;
	uint64_t	 hid;
	unsigned int	 gen;
	int		 waiting;	/* no call out: wait for a move */
	struct timer	 t;		/* event_timeout_ms */
	struct req	*r;
	dm_go		 go;
	char		 token[48];
	char		 type[DM_EV_MAX];
	uint64_t	 session;
	uint32_t	 node;
};

static struct dmrec	 recs[DM_RECS_MAX];
static int		 nrecs, ndisp;
static uint64_t		 watchtx, lstx;
static int		 fresh;		/* the next ls answer replaces all */
static uint64_t		 seq;
static int		 nheld;
static uint64_t		 hids;
static LIST_HEAD(, dmhold) holds = LIST_HEAD_INITIALIZER(holds);

/* One send of a held event: answered() finds its hold by hid. */
struct dmtry {
	uint64_t	 hid;
	unsigned int	 gen;
};

static void	session_moved(uint64_t, uint32_t);
static void	mounted(void);
static const struct dmrec *disp_find(const char *, const char *, uint32_t);
static void	async(const struct req *, const struct dmrec *, const char *);
static struct dmstats	 st;

const struct dmstats *
dm_stats(void)
{
	return &st;
}

static void
clear(void)
{
	memset(recs, 0, sizeof(recs));
	nrecs = ndisp = 0;
}

static struct dmrec *
rec_find(const char *key)
{
	int	 i;

	for (i = 0; i < nrecs; i++)
		if (recs[i].used && strcmp(recs[i].key, key) == 0)
			return &recs[i];
	return NULL;
}

static void
rec_del(const char *key)
{
	struct dmrec	*d;

	if ((d = rec_find(key)) == NULL)
		return;
	if (d->disp)
		ndisp--;
	d->used = 0;
	while (nrecs > 0 && !recs[nrecs - 1].used)
		nrecs--;
}

/* The number after "name=" in a space-separated value: 0, or -1. */
static int
val_u64(const char *val, const char *name, uint64_t *out)
{
	const char	*p = val;
	size_t		 n = strlen(name);
	char		*end;

	while (p != NULL && *p != '\0') {
		while (*p == ' ')
			p++;
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			errno = 0;
			*out = strtoull(p + n + 1, &end, 10);
			if (errno != 0 || end == p + n + 1 ||
			    (*end != ' ' && *end != '\0'))
				return -1;
			return 0;
		}
		p = strchr(p, ' ');
	}
	return -1;
}

/* dm/disp/FS/EVENT[/NODE] or dm/session/ID set to val. */
static void
rec_set(const char *key, const char *val)
{
	struct dmrec	 n, *d;
	const char	*p, *s1, *s2;
	uint64_t	 u;
	char		*end;
	int		 i;

	memset(&n, 0, sizeof(n));
	if (strlen(key) > DM_KEY_MAX)
		return;
	(void)strlcpy(n.key, key, sizeof(n.key));
	if (strncmp(key, "dm/disp/", 8) == 0) {
		p = key + 8;
		if ((s1 = strchr(p, '/')) == NULL ||
		    (size_t)(s1 - p) >= sizeof(n.fs) || s1 == p)
			goto bad;
		memcpy(n.fs, p, (size_t)(s1 - p));
		s2 = strchr(s1 + 1, '/');
		if ((size_t)((s2 != NULL ? s2 : s1 + 1 + strlen(s1 + 1)) -
		    (s1 + 1)) >= sizeof(n.ev))
			goto bad;
		memcpy(n.ev, s1 + 1, (size_t)((s2 != NULL ? s2 :
		    s1 + 1 + strlen(s1 + 1)) - (s1 + 1)));
		if (s2 != NULL) {
			errno = 0;
			u = strtoull(s2 + 1, &end, 10);
			if (errno != 0 || *end != '\0' || u == 0 ||
			    u > UINT32_MAX)
				goto bad;
			n.node = (uint32_t)u;
		}
		if (val_u64(val, "session", &n.session) == -1)
			goto bad;
		n.sync = strstr(val, "mode=sync") != NULL;
		n.disp = 1;
	} else if (strncmp(key, "dm/session/", 11) == 0) {
		errno = 0;
		n.session = strtoull(key + 11, &end, 10);
		if (errno != 0 || *end != '\0' || n.session == 0 ||
		    val_u64(val, "node", &u) == -1 || u == 0 ||
		    u > UINT32_MAX)
			goto bad;
		n.node = (uint32_t)u;
	} else
		return;		/* dm/nextid, dm/manager, ... */
	n.used = 1;
	if ((d = rec_find(key)) != NULL) {
		if (d->disp)
			ndisp--;
	} else {
		for (i = 0; i < nrecs && recs[i].used; i++)
			;
		if (i >= DM_RECS_MAX) {
			log_warnx("dmapi: more than %d records under %s; %s "
			    "ignored", DM_RECS_MAX, DM_PREFIX, key);
			return;
		}
		d = &recs[i];
		if (i == nrecs)
			nrecs++;
	}
	*d = n;
	if (d->disp)
		ndisp++;
	log_debug("dmapi: %s = %s", key, val);
	if (!d->disp)
		session_moved(d->session, d->node);
	return;
bad:
	log_warnx("dmapi: %s = %s: not understood, ignored", key, val);
	rec_del(key);
}

static void
ask_list(void)
{
	struct frame	 f;

	frame_init(&f, "db", 0);
	if (frame_add(&f, "cmd", "ls") == -1 ||
	    frame_add(&f, "prefix", DM_PREFIX) == -1 || meta_local(&f) == -1) {
		lstx = 0;
		return;
	}
	lstx = f.txid;
	fresh = 1;
}

/*
 * The first time the dispositions are known: a mount event for every
 * file system this cliod serves that has a mount disposition.  cliod
 * serving a file system on a node is what mounting it is here; nothing
 * waits for the answer, whatever the disposition's mode.
 */
static void
mounted(void)
{
	static int	 done;
	const struct dmrec *d;
	struct req	 r;
	int		 i;

	if (done)
		return;
	done = 1;
	for (i = 0; i < nvols; i++) {
		if ((d = disp_find(vols[i].name, "mount", meta_self())) ==
		    NULL)
			continue;
		memset(&r, 0, sizeof(r));
		(void)strlcpy(r.op, "mount", sizeof(r.op));
		r.v = &vols[i];
		r.uid = (uint32_t)geteuid();
		async(&r, d, "mount");
	}
}

/* Registered with clmemberd: watch dm/, then read it all. */
void
dm_connected(void)
{
	struct frame	 f;

	if (seq == 0)
		seq = (uint64_t)time(NULL) << 20;
	frame_init(&f, "db", 0);
	if (frame_add(&f, "cmd", "watch") == -1 ||
	    frame_add(&f, "prefix", DM_PREFIX) == -1 || meta_local(&f) == -1) {
		log_warnx("dmapi: cannot watch the cluster database; no "
		    "events until cliod reconnects");
		return;
	}
	watchtx = f.txid;
	ask_list();
}

/* A frame from clmemberd itself: 1 if it was the database's, for us. */
int
dm_local(const struct frame *f)
{
	const char	*op, *key, *val;

	if (strcmp(f->op, "dbev") == 0) {
		if ((op = frame_get(f, "op")) == NULL)
			return 1;
		key = frame_get(f, "key");
		val = frame_get(f, "value");
		if (strcmp(op, "resync") == 0)
			ask_list();
		else if (key != NULL && strcmp(op, "set") == 0 && val != NULL)
			rec_set(key, val);
		else if (key != NULL && strcmp(op, "del") == 0)
			rec_del(key);
		return 1;
	}
	if (f->txid == 0)
		return 0;
	if (f->txid == watchtx) {
		if (strcmp(f->op, "error") == 0)
			log_warnx("dmapi: database watch refused: %s",
			    frame_get(f, "reason") != NULL ?
			    frame_get(f, "reason") : "?");
		return 1;
	}
	if (f->txid != lstx)
		return 0;
	if (fresh) {
		clear();
		fresh = 0;
	}
	if (strcmp(f->op, "dbrec") == 0) {
		if ((key = frame_get(f, "key")) != NULL &&
		    (val = frame_get(f, "value")) != NULL)
			rec_set(key, val);
	} else if (strcmp(f->op, "end") == 0) {
		log_info("dmapi: %d dispositions, %d sessions", ndisp,
		    nrecs > 0 ? nrecs - ndisp : 0);
		lstx = 0;
		mounted();
	} else if (strcmp(f->op, "error") == 0) {
		log_warnx("dmapi: database list refused: %s",
		    frame_get(f, "reason") != NULL ?
		    frame_get(f, "reason") : "?");
		lstx = 0;
	}
	return 1;
}

/* The disposition of fs's event ev for node: node's own first. */
static const struct dmrec *
disp_find(const char *fs, const char *ev, uint32_t node)
{
	const struct dmrec *all = NULL;
	int		 i;

	for (i = 0; i < nrecs; i++) {
		if (!recs[i].used || !recs[i].disp ||
		    strcmp(recs[i].ev, ev) != 0 || strcmp(recs[i].fs, fs) != 0)
			continue;
		if (recs[i].node == node)
			return &recs[i];
		if (recs[i].node == 0)
			all = &recs[i];
	}
	return all;
}

static uint32_t
session_node(uint64_t id)
{
	int	 i;

	for (i = 0; i < nrecs; i++)
		if (recs[i].used && !recs[i].disp && recs[i].session == id)
			return recs[i].node;
	return 0;
}

/*
 * The node where r's user is: this one, or for a read or write another
 * cliod sent (its node has no path to the volume), that node.
 */
static uint32_t
src_node(const struct req *r)
{
	unsigned long	 n;
	char		*end;

	if (r->cl != NULL)
		return meta_self();
	n = strtoul(r->from, &end, 10);
	return *end == '.' && n > 0 && n <= UINT32_MAX ? (uint32_t)n :
	    meta_self();
}

/*
 * The event type of r before it starts, or NULL.  Reads and writes raise
 * events only where they touch a managed region (XDSM), which the block
 * list tells: dm_region().  A truncate raises one whatever the regions.
 */
static const char *
event_type(const struct req *r)
{
	const char	*op = r->op;

	if (strcmp(op, "create") == 0 || strcmp(op, "mkdir") == 0)
		return "create";
	if (strcmp(op, "unlink") == 0 || strcmp(op, "rmdir") == 0)
		return "remove";
	if (strcmp(op, "rename") == 0)
		return "rename";
	if (strcmp(op, "setattr") == 0)
		return r->fwd != NULL && frame_get(r->fwd, "size") != NULL ?
		    "truncate" : "attribute";
	return NULL;
}

static int
event_frame(struct frame *f, const struct req *r, const char *type,
    uint64_t session, const char *token, int sync)
{
	const char	*path, *np, *size;

	frame_init(f, "event", 0);
	frame_add(f, "session", "%" PRIu64, session);
	frame_add(f, "token", "%s", token);
	frame_add(f, "type", "%s", type);
	frame_add(f, "fs", "%s", r->v->name);
	path = r->fwd != NULL ? frame_get(r->fwd, "path") : NULL;
	/* A path too long for one value goes without it (ino= is 0). */
	if (path != NULL && strlen(path) < WIRE_VAL_MAX)
		frame_add(f, "path", "%s", path);
	np = r->fwd != NULL ? frame_get(r->fwd, "newpath") : NULL;
	if (np != NULL && strlen(np) < WIRE_VAL_MAX)
		frame_add(f, "newpath", "%s", np);
	size = r->fwd != NULL ? frame_get(r->fwd, "size") : NULL;
	frame_add(f, "ino", "%" PRIu32, r->ino);
	/* truncate: off= is the new size. */
	if (size != NULL)
		frame_add(f, "off", "%s", size);
	else
		frame_add(f, "off", "%" PRIu64, r->off);
	frame_add(f, "count", "%" PRIu64, r->len);
	frame_add(f, "uid", "%" PRIu32, r->uid);
	frame_add(f, "src", "%" PRIu32, src_node(r));
	frame_add(f, "sync", "%d", sync);
	return f->err ? -1 : 0;
}

static int
timeout_ms(void)
{
	return conf.event_timeout_ms > 0 ? conf.event_timeout_ms :
	    DM_TIMEOUT_MS;
}

static void
hold_done(struct dmhold *h)
{
	LIST_REMOVE(h, entry);
	timer_stop(&h->t);
	nheld--;
}

static void
answered(void *arg, int err, const struct frame *resp)
{
	struct dmtry	*t = arg;
	struct dmhold	*h;
	struct req	*r;
	const char	*reply;
	unsigned int	 gen = t->gen;
	int		 e;

	LIST_FOREACH(h, &holds, entry)
		if (h->hid == t->hid)
			break;
	free(t);
	if (h == NULL || h->gen != gen)
		return;		/* an answer to an older send */
	r = h->r;
	if (err != 0 && err != ETIMEDOUT) {
		/* No node or service: the session may move (assume). */
		h->waiting = 1;
		log_warnx("dmapi: %s event %s: session %" PRIu64 " on node "
		    "%u: %s; %s waits for the session to move", h->type,
		    h->token, h->session, h->node, strerror(err), r->op);
		return;
	}
	hold_done(h);
	if (err != 0) {
		st.timedout++;
		log_warnx("dmapi: %s event %s: no answer from session "
		    "%" PRIu64 " on node %u in %d ms; %s fails with "
		    "EIO", h->type, h->token, h->session, h->node,
		    timeout_ms(), r->op);
		req_fail(r, EIO, "%s: DM session %" PRIu64 " did not answer "
		    "event %s", r->op, h->session, h->token);
		free(h);
		return;
	}
	reply = frame_get(resp, "reply");
	if (fs_answer_errno(resp) == 0 && reply != NULL &&
	    strcmp(reply, "continue") == 0) {
		st.answered++;
		h->go(r);
	} else if (fs_answer_errno(resp) == 0 && reply != NULL &&
	    strcmp(reply, "abort") == 0) {
		st.answered++;
		st.aborted++;
		if ((e = fs_errnum(frame_get(resp, "errno"))) == 0)
			e = EIO;
		req_fail(r, e, "%s: aborted by DM session %" PRIu64
		    " (event %s)", r->op, h->session, h->token);
	} else {
		st.failed++;
		log_warnx("dmapi: %s event %s: session %" PRIu64 " answered "
		    "%s%s%s; %s fails with EIO", h->type, h->token, h->session,
		    resp->op, frame_get(resp, "reason") != NULL ? ": " : "",
		    frame_get(resp, "reason") != NULL ?
		    frame_get(resp, "reason") : "", r->op);
		req_fail(r, EIO, "%s: DM session %" PRIu64 " refused event %s",
		    r->op, h->session, h->token);
	}
	free(h);
}

/* event_timeout_ms since the last send: the request fails with EIO. */
static void
hold_expire(void *arg)
{
	struct dmhold	*h = arg;
	struct req	*r = h->r;

	hold_done(h);
	st.timedout++;
	log_warnx("dmapi: %s event %s: no answer from session %" PRIu64
	    " on node %u in %d ms; %s fails with EIO", h->type, h->token,
	    h->session, h->node, timeout_ms(), r->op);
	req_fail(r, EIO, "%s: DM session %" PRIu64 " did not answer event %s",
	    r->op, h->session, h->token);
	free(h);
}

/* Send (again) h's event to its session's node, clock restarted. */
static int
hold_send(struct dmhold *h)
{
	struct frame	 f;
	struct dmtry	*t;
	int		 tmo = timeout_ms();

	h->gen++;
	/* Set up again only when stopped: it is in the loop's tree. */
	timer_stop(&h->t);
	timer_setup(&h->t, hold_expire, h);
	timer_in(&h->t, (uint64_t)tmo);
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	t->hid = h->hid;
	t->gen = h->gen;
	h->waiting = 0;
	/* The call's own timeout is later: hold_expire decides. */
	if (event_frame(&f, h->r, h->type, h->session, h->token, 1) == -1 ||
	    svc_call(h->node, "clsessiond", &f, tmo + 1000, answered,
	    t) == -1) {
		free(t);
		return -1;
	}
	return 0;
}

/* dm/session/ID now on node: its held events go there, same tokens. */
static void
session_moved(uint64_t id, uint32_t node)
{
	struct dmhold	*h, *next;

	for (h = LIST_FIRST(&holds); h != NULL; h = next) {
		next = LIST_NEXT(h, entry);
		if (h->session != id || h->node == node)
			continue;
		log_info("dmapi: session %" PRIu64 " moved from node %u to "
		    "node %u: %s event %s sent again", id, h->node, node,
		    h->type, h->token);
		h->node = node;
		if (hold_send(h) == -1) {
			h->waiting = 1;
			log_warnx("dmapi: %s event %s for session %" PRIu64
			    " on node %u not sent; waiting", h->type,
			    h->token, id, node);
		}
	}
}

/* Send an asynchronous event: nothing waits for it. */
static void
send_async(const struct req *r, const char *type, uint64_t session,
    uint32_t node)
{
	struct frame	 f;
	char		 token[48];

	(void)snprintf(token, sizeof(token), "%u.%" PRIu64, meta_self(),
	    ++seq);
	if (event_frame(&f, r, type, session, token, 0) == -1 ||
	    frame_add(&f, "to", "%u.clsessiond", node) == -1 ||
	    meta_send(&f) == -1) {
		st.failed++;
		log_warnx("dmapi: %s event %s for session %" PRIu64
		    " not sent", type, token, session);
		return;
	}
	st.sent++;
}

/* Hold r for a synchronous event of d's session: 1 (held or failed). */
static int
hold_start(struct req *r, const struct dmrec *d, const char *type, dm_go go)
{
	struct dmhold	*h;
	uint32_t	 node = session_node(d->session);

	if (node == 0) {
		st.failed++;
		log_warnx("dmapi: %s on %s: session %" PRIu64 " unknown; %s "
		    "fails with EIO", type, r->v->name, d->session, r->op);
		req_fail(r, EIO, "%s: DM session %" PRIu64 " unknown", r->op,
		    d->session);
		return 1;
	}
	if (nheld >= DM_HELD_MAX || (h = calloc(1, sizeof(*h))) == NULL) {
		st.failed++;
		req_fail(r, EIO, "%s: too many requests wait for DM sessions",
		    r->op);
		return 1;
	}
	h->hid = ++hids;
	h->r = r;
	h->go = go;
	h->session = d->session;
	h->node = node;
	(void)strlcpy(h->type, type, sizeof(h->type));
	(void)snprintf(h->token, sizeof(h->token), "%u.%" PRIu64,
	    meta_self(), ++seq);
	LIST_INSERT_HEAD(&holds, h, entry);
	nheld++;
	if (hold_send(h) == -1) {
		hold_done(h);
		st.failed++;
		log_warnx("dmapi: %s event %s for session %" PRIu64 " on node "
		    "%u not sent; %s fails with EIO", type, h->token,
		    d->session, node, r->op);
		req_fail(r, EIO, "%s: cannot reach DM session %" PRIu64,
		    r->op, d->session);
		free(h);
		return 1;
	}
	st.sent++;
	return 1;
}

/* An asynchronous event of d's session, if it has a node. */
static void
async(const struct req *r, const struct dmrec *d, const char *type)
{
	uint32_t	 node = session_node(d->session);

	if (node != 0) {
		send_async(r, type, d->session, node);
		return;
	}
	st.failed++;
	log_warnx("dmapi: %s on %s: session %" PRIu64 " unknown; event "
	    "dropped", type, r->v->name, d->session);
}

/*
 * Before r (a client's request) starts: 0 when it goes on now, 1 when it
 * is held for a synchronous event (go(r) runs on continue) or has been
 * failed.
 */
int
dm_hold(struct req *r, dm_go go)
{
	const struct dmrec *d;
	const char	*type;

	if (ndisp == 0 || r->cl == NULL || r->v == NULL ||
	    (type = event_type(r)) == NULL ||
	    (d = disp_find(r->v->name, type, meta_self())) == NULL)
		return 0;
	if (d->sync)
		return hold_start(r, d, type, go);
	async(r, d, type);
	return 0;
}

/* The disposition r's read or write raises an event of, or NULL. */
static const struct dmrec *
region_disp(const struct req *r, const char **type)
{
	uint32_t	 want;

	if (r->dmdone || r->token[0] != '\0' || ndisp == 0 || r->in == NULL)
		return NULL;
	want = strcmp(r->op, "write") == 0 ? VOL_RG_WRITE : VOL_RG_READ;
	*type = want == VOL_RG_WRITE ? "write" : "read";
	if (!vol_region_hit(r->in->rg, r->off, r->len, want))
		return NULL;
	return disp_find(r->v->name, *type, src_node(r));
}

/*
 * A read or write whose block list is at hand (with the file's managed
 * regions): 1 if it touches a region whose event has a synchronous
 * disposition (the caller lets go of the file, then dm_region_wait), 0
 * if it goes on (an asynchronous event sent, or none).
 */
int
dm_region(struct req *r)
{
	const struct dmrec *d;
	const char	*type;

	if ((d = region_disp(r, &type)) == NULL)
		return 0;
	if (d->sync)
		return 1;
	async(r, d, type);
	r->dmdone = 1;
	return 0;
}

/* After dm_region: hold r; on continue go(r) starts it again, no event. */
void
dm_region_wait(struct req *r, dm_go go)
{
	const struct dmrec *d;
	const char	*type;

	type = strcmp(r->op, "write") == 0 ? "write" : "read";
	d = disp_find(r->v->name, type, src_node(r));
	r->dmdone = 1;
	r->maps = r->mapper = 0;
	if (d == NULL || !d->sync)
		go(r);
	else
		(void)hold_start(r, d, type, go);
}

/*
 * After r: the last link of a file gone is a destroy event, a write that
 * found no space a nospace event; both asynchronous (XDSM: nothing can
 * be undone by then).
 */
void
dm_after(struct req *r)
{
	const struct dmrec *d;
	uint32_t	 node;

	if (ndisp > 0 && r->cl != NULL && r->v != NULL && r->destroyed != 0 &&
	    r->err == 0 &&
	    (d = disp_find(r->v->name, "destroy", meta_self())) != NULL) {
		r->ino = r->destroyed;
		async(r, d, "destroy");
	}
	if (ndisp == 0 || r->cl == NULL || r->v == NULL ||
	    r->err != ENOSPC || (strcmp(r->op, "write") != 0 &&
	    strcmp(r->op, "create") != 0 && strcmp(r->op, "mkdir") != 0) ||
	    (d = disp_find(r->v->name, "nospace", meta_self())) == NULL)
		return;
	if ((node = session_node(d->session)) != 0)
		send_async(r, "nospace", d->session, node);
}
