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
 * The replicated cluster database: seed 003's shared database, from
 * which a node that rejoins resyncs (seeds/003_0bef661ef59685d0.txt
 * L132), kept by clmemberd on every member.
 *
 * Every write goes to the coordinator of the view, which gives it the
 * next sequence number, applies it, sends it to the members, and answers
 * once every member it hears has applied it (and at least a majority of
 * the configured nodes).  Updates carry (epoch, seq): the epoch of the
 * view whose coordinator made them.  A new coordinator first takes the
 * database of the member with the highest (epoch, seq), which holds every
 * write ever acknowledged (an acknowledgement needed a majority, and the
 * new view holds a majority); members that differ from the coordinator
 * then take its snapshot.  Only a view with quorum takes writes.
 *
 * Locks are records lock/NAME naming their holder; the coordinator drops
 * those whose holder is no longer a member.
 */

#include <sys/types.h>
#include <sys/tree.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clmemberd.h"
#include "log.h"

#define DB_PENDING_MAX	256		/* writes awaiting an answer */
#define LOCK_PREFIX	"lock/"
#define SNAP_LINE	32		/* bytes a snapshot line adds, at most */
#define SNAP_BUF_MAX	(DB_BYTES_MAX + (size_t)DB_RECORDS_MAX * SNAP_LINE)

struct rec {
	RB_ENTRY(rec)	 entry;
	uint64_t	 ver;
	char		 key[DB_KEY_MAX + 1];
	char		*val;
};

/*
 * A write awaiting its answer.  On the coordinator: which members have
 * applied it.  On the node that asked: the local client to answer.
 */
struct pending {
	int		 used;
	uint64_t	 id;		/* seq (coordinator) or request id */
	struct client	*client;	/* NULL: a peer asked, or gone */
	uint64_t	 txid;		/* the client's, or the peer's rid */
	uint32_t	 node;		/* the peer that asked; 0: local */
	struct nodeset	 need;
	struct nodeset	 acked;
	char		 cmd[8];	/* what the answer says */
	char		 key[DB_KEY_MAX + 1];
	struct timer	 timer;
};

static int	rec_cmp(struct rec *, struct rec *);

/* __unused is undefined in libbsd on Linux: see libcl/loop.c. */
RB_HEAD(rectree, rec);
RB_GENERATE_INTERNAL(rectree, rec, entry, rec_cmp,
    __attribute__((__unused__)) static)

static struct rectree	 recs = RB_INITIALIZER(&recs);
static size_t		 nrec, nbytes;
static uint64_t		 dbe, dbs;	/* (epoch, seq) of the last update */
static int		 ready;		/* coordinator: may take writes */
static uint64_t		 next_rid = 1;
static uint64_t		 pull_at;	/* ms: the last pull we asked for */
static int		 mismatch;	/* heartbeats we were behind it */
static int		 fresh;		/* first heartbeat of a view */
static struct pending	 coord[DB_PENDING_MAX], asked[DB_PENDING_MAX];

static int
rec_cmp(struct rec *a, struct rec *b)
{
	return strcmp(a->key, b->key);
}

static struct rec *
rec_find(const char *key)
{
	struct rec	 k;

	if (strlcpy(k.key, key, sizeof(k.key)) >= sizeof(k.key))
		return NULL;
	return RB_FIND(rectree, &recs, &k);
}

static int
valid_key(const char *k)
{
	size_t	 n;

	if (k == NULL || (n = strlen(k)) == 0 || n > DB_KEY_MAX)
		return 0;
	return strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_./:-") == n;
}

/* Values are frame values: printable, no newline, at most 1024 bytes. */
static int
valid_val(const char *v)
{
	return v != NULL && strlen(v) <= DB_VAL_MAX;
}

/* Tell local watchers of a change (key NULL: the whole database). */
static void
notify(const char *key, uint64_t ver, const char *val)
{
	struct client	*cl;
	struct frame	 f;

	TAILQ_FOREACH(cl, &D->clients, entry) {
		if (!cl->dbwatching || cl->doomed)
			continue;
		if (key != NULL && strncmp(key, cl->dbwatch,
		    strlen(cl->dbwatch)) != 0)
			continue;
		frame_init(&f, "dbev", 0);
		if (key == NULL)
			frame_add(&f, "op", "resync");
		else {
			frame_add(&f, "op", "%s", val != NULL ? "set" : "del");
			frame_add(&f, "key", "%s", key);
			frame_add(&f, "ver", "%llu", (unsigned long long)ver);
			if (val != NULL)
				frame_add(&f, "value", "%s", val);
		}
		(void)control_send(cl, &f);
	}
}

static void
rec_del(struct rec *r)
{
	RB_REMOVE(rectree, &recs, r);
	nrec--;
	nbytes -= strlen(r->key) + strlen(r->val);
	free(r->val);
	free(r);
}

/* Apply in memory: val NULL deletes. */
static int
mem_apply(uint64_t ver, const char *key, const char *val)
{
	struct rec	*r;
	char		*v;

	r = rec_find(key);
	if (val == NULL) {
		if (r != NULL)
			rec_del(r);
		return 0;
	}
	if ((v = strdup(val)) == NULL)
		return -1;
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL) {
			free(v);
			return -1;
		}
		(void)strlcpy(r->key, key, sizeof(r->key));
		RB_INSERT(rectree, &recs, r);
		nrec++;
		nbytes += strlen(key);
	} else {
		nbytes -= strlen(r->val);
		free(r->val);
	}
	r->val = v;
	r->ver = ver;
	nbytes += strlen(v);
	return 0;
}

static void
mem_clear(void)
{
	struct rec	*r, *next;

	RB_FOREACH_SAFE(r, rectree, &recs, next)
		rec_del(r);
}

/* The records as snapshot lines, "r VER KEY VALUE". */
static int
snapshot(struct buf *b)
{
	struct rec	*r;

	RB_FOREACH(r, rectree, &recs)
		if (buf_printf(b, "r %llu %s %s\n",
		    (unsigned long long)r->ver, r->key, r->val) == -1)
			return -1;
	return 0;
}

/* Replace the log on disk by a snapshot of what we hold. */
static void
rewrite_log(void)
{
	struct buf	 b;

	buf_init(&b, SNAP_BUF_MAX);
	if (snapshot(&b) == 0)
		(void)dbfile_rewrite(dbe, dbs, &b, nrec);
	buf_free(&b);
}

static void
compact(void)
{
	if (dbfile_bloated(nrec))
		rewrite_log();
}

/* Apply update (epoch, seq): synced to disk first, then in memory. */
static int
apply(uint64_t epoch, uint64_t seq, const char *key, const char *val)
{
	if (dbfile_append(epoch, seq, key, val) == -1)
		return -1;
	if (mem_apply(seq, key, val) == -1)
		fatal("cluster database update %llu", (unsigned long long)seq);
	dbe = epoch;
	dbs = seq;
	D->hb_dirty = 1;
	notify(key, seq, val);
	compact();
	return 0;
}

/* Replaying the file at startup. */
static int
load_snap(uint64_t e, uint64_t s)
{
	mem_clear();
	dbe = e;
	dbs = s;
	return 0;
}

static int
load_rec(uint64_t v, const char *k, const char *val)
{
	return valid_key(k) ? mem_apply(v, k, val) : -1;
}

static int
load_upd(uint64_t e, uint64_t s, const char *k, const char *val)
{
	if (!valid_key(k))
		return -1;
	dbe = e;
	dbs = s;
	return mem_apply(s, k, val);
}

int
db_init(void)
{
	static const struct dbfile_ops ops = { load_snap, load_rec, load_upd };

	if (dbfile_open(D->conf.statedir, &ops) == -1)
		return -1;
	if (nrec > 0 || dbs > 0)
		log_info("cluster database: %zu records, at update %llu of "
		    "epoch %llu", nrec, (unsigned long long)dbs,
		    (unsigned long long)dbe);
	return 0;
}

/* (e1, s1) before (e2, s2)? */
static int
older(uint64_t e1, uint64_t s1, uint64_t e2, uint64_t s2)
{
	return e1 < e2 || (e1 == e2 && s1 < s2);
}

static int
coordinating(void)
{
	return D->inview && D->quorum && view_coordinator() == D->self;
}

static struct peer *
coordinator_peer(void)
{
	uint32_t	 c;

	if (!D->inview || (c = view_coordinator()) == D->self || c == 0)
		return NULL;
	return D->peers[c];
}

void
db_hb_fields(struct frame *f)
{
	frame_add(f, "dbe", "%llu", (unsigned long long)dbe);
	frame_add(f, "dbs", "%llu", (unsigned long long)dbs);
	frame_add(f, "dbready", "%d", coordinating() && ready);
}

void
db_take_hb(struct peer *p, const struct frame *f)
{
	uint64_t	 r = 0;

	if (frame_getu64(f, "dbe", &p->dbe) == -1 ||
	    frame_getu64(f, "dbs", &p->dbs) == -1)
		p->dbe = p->dbs = 0;
	(void)frame_getu64(f, "dbready", &r);
	p->dbready = r == 1;
	kick();			/* we may be in sync now: see work() */
}

/* Synced with the coordinator: our layers may hear that we joined. */
int
db_synced(void)
{
	struct peer	*c;

	if (!D->inview)
		return 0;
	if (view_coordinator() == D->self)
		return ready;
	/*
	 * At least where the coordinator was when it sent its heartbeat:
	 * the updates after that come in order.  Not equal to it: while
	 * services write every second, the two are seldom equal at the
	 * moment a heartbeat lands, and a rejoining node's join, held
	 * until it is synced, waited for a quiet moment (10 s seen).
	 */
	c = coordinator_peer();
	return c != NULL && c->dbready && c->dbe == dbe && dbs >= c->dbs;
}

static void
send_pull(struct peer *p)
{
	struct frame	 f;

	if (p == NULL || loop_now() < pull_at + (uint64_t)D->conf.heartbeat_ms)
		return;
	pull_at = loop_now();
	frame_init(&f, "dbpull", ++D->txid);
	(void)peer_send(p, &f);
	log_debug("cluster database: asking node %u for its snapshot", p->id);
}

static void
send_snap(struct peer *p, uint64_t txid)
{
	struct frame	 f;
	struct buf	 b;

	buf_init(&b, SNAP_BUF_MAX);
	if (snapshot(&b) == 0) {
		frame_init(&f, "dbsnap", txid);
		frame_add(&f, "dbe", "%llu", (unsigned long long)dbe);
		frame_add(&f, "dbs", "%llu", (unsigned long long)dbs);
		frame_payload(&f, buf_ptr(&b), buf_avail(&b));
		(void)peer_send(p, &f);
	}
	buf_free(&b);
}

/* Parse "r VER KEY VALUE" lines into the database, replacing it. */
static int
take_snap(const struct frame *f)
{
	const char	*p = (const char *)f->payload, *end = p + f->len, *nl;
	char		 line[DB_KEY_MAX + DB_VAL_MAX + 64], *key, *val;
	unsigned long long v;
	uint64_t	 e, s;
	int		 n;

	if (frame_getu64(f, "dbe", &e) == -1 ||
	    frame_getu64(f, "dbs", &s) == -1)
		return -1;
	mem_clear();
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
		    (size_t)(nl - p) >= sizeof(line))
			break;
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = '\0';
		n = 0;
		if (sscanf(line, "r %llu %n", &v, &n) != 1 || n == 0)
			continue;
		key = line + n;
		if ((val = strchr(key, ' ')) == NULL)
			continue;
		*val++ = '\0';
		if (valid_key(key) && nrec < DB_RECORDS_MAX)
			(void)mem_apply(v, key, val);
	}
	dbe = e;
	dbs = s;
	rewrite_log();
	D->hb_dirty = 1;
	notify(NULL, 0, NULL);
	log_info("cluster database: took a snapshot, %zu records, at update "
	    "%llu of epoch %llu", nrec, (unsigned long long)dbs,
	    (unsigned long long)dbe);
	return 0;
}

/* The node a lock record names as its holder, 0 if none. */
static uint32_t
holder(const struct rec *r)
{
	unsigned int	 n;

	if (r == NULL || sscanf(r->val, "node=%u", &n) != 1)
		return 0;
	return n;
}

static struct pending *
slot_new(struct pending *tab)
{
	int	 i;

	for (i = 0; i < DB_PENDING_MAX; i++)
		if (!tab[i].used) {
			memset(&tab[i], 0, sizeof(tab[i]));
			tab[i].used = 1;
			return &tab[i];
		}
	return NULL;
}

static struct pending *
slot_find(struct pending *tab, uint64_t id)
{
	int	 i;

	for (i = 0; i < DB_PENDING_MAX; i++)
		if (tab[i].used && tab[i].id == id)
			return &tab[i];
	return NULL;
}

static void
slot_free(struct pending *pw)
{
	timer_stop(&pw->timer);
	pw->used = 0;
}

/*
 * Send an answer (op "ok" or "error") to whoever asked: a local client,
 * or, wrapped as dbres, the peer that forwarded the request.
 */
static int
answer(struct client *cl, uint32_t node, uint64_t txid, struct frame *a)
{
	struct frame	 w;
	int		 i;

	if (node == 0) {
		a->txid = txid;
		if (cl != NULL)
			(void)control_send(cl, a);
		return 0;
	}
	frame_init(&w, "dbres", txid);
	frame_add(&w, "res", "%s", a->op);
	for (i = 0; i < a->nkv; i++)
		frame_add(&w, a->kv[i].key, "%s", a->kv[i].val);
	(void)peer_send(D->peers[node], &w);
	return 0;
}

static int
fail(struct client *cl, uint32_t node, uint64_t txid, const char *status,
    const char *fmt, ...)
	__attribute__((__format__ (printf, 5, 6)));

static int
fail(struct client *cl, uint32_t node, uint64_t txid, const char *status,
    const char *fmt, ...)
{
	struct frame	 f;
	va_list		 ap;

	va_start(ap, fmt);
	frame_verror(&f, txid, status, fmt, ap);
	va_end(ap);
	return answer(cl, node, txid, &f);
}

/* "ok" for a write, with what the client tools print. */
static void
ok_frame(struct frame *f, const char *cmd, const char *key, uint64_t ver,
    uint32_t node)
{
	frame_init(f, "ok", 0);
	if (strncmp(key, LOCK_PREFIX, strlen(LOCK_PREFIX)) == 0 &&
	    (strcmp(cmd, "lock") == 0 || strcmp(cmd, "unlock") == 0)) {
		frame_add(f, "name", "%s", key + strlen(LOCK_PREFIX));
		if (strcmp(cmd, "lock") == 0)
			frame_add(f, "node", "%u", node);
	} else
		frame_add(f, "key", "%s", key);
	frame_add(f, "ver", "%llu", (unsigned long long)ver);
}

static void
coord_done(struct pending *pw, int ok)
{
	struct frame	 f;

	if (ok) {
		ok_frame(&f, pw->cmd, pw->key, pw->id, pw->node != 0 ?
		    pw->node : D->self);
		answer(pw->client, pw->node, pw->txid, &f);
	} else
		fail(pw->client, pw->node, pw->txid, "timeout", "update %llu "
		    "not confirmed by a majority in %d ms",
		    (unsigned long long)pw->id, D->conf.msg_timeout_ms);
	slot_free(pw);
}

static void
coord_timeout(void *arg)
{
	struct pending	*pw = arg;

	coord_done(pw, 1 + ns_count(&pw->acked) >= D->quorum_size);
}

/* Members we hear, but us: they must apply an update. */
static void
listeners(struct nodeset *s)
{
	struct peer	*p;
	uint32_t	 id;

	ns_clear(s);
	NS_FOREACH(id, &D->cs.members) {
		if (id == D->self || (p = D->peers[id]) == NULL ||
		    p->conn == NULL || p->reach != REACH_UP)
			continue;
		ns_add(s, id);
	}
}

/*
 * Make update (next seq) on the coordinator and send it to the members.
 * With cmd, the asker gets its answer once the members have it.
 */
static int
publish(const char *key, const char *val, struct client *cl, uint32_t node,
    uint64_t txid, const char *cmd)
{
	struct pending	*pw = NULL;
	struct nodeset	 need;
	struct frame	 u;
	uint64_t	 pe = dbe, ps = dbs, seq = dbs + 1;

	if (cmd != NULL && (pw = slot_new(coord)) == NULL) {
		fail(cl, node, txid, "full", "%d updates in flight",
		    DB_PENDING_MAX);
		return -1;
	}
	if (apply(D->cs.epoch, seq, key, val) == -1) {
		if (pw != NULL)
			slot_free(pw);
		fail(cl, node, txid, "io", "cannot record the update on the "
		    "coordinator's disk");
		return -1;
	}
	frame_init(&u, "dbup", seq);
	frame_add(&u, "dbe", "%llu", (unsigned long long)D->cs.epoch);
	frame_add(&u, "pe", "%llu", (unsigned long long)pe);
	frame_add(&u, "ps", "%llu", (unsigned long long)ps);
	frame_add(&u, "key", "%s", key);
	if (val != NULL)
		frame_add(&u, "value", "%s", val);
	listeners(&need);
	peer_broadcast(&u, &need);
	if (pw == NULL)
		return 0;
	pw->id = seq;
	pw->client = cl;
	pw->node = node;
	pw->txid = txid;
	pw->need = need;
	(void)strlcpy(pw->cmd, cmd, sizeof(pw->cmd));
	(void)strlcpy(pw->key, key, sizeof(pw->key));
	if (ns_count(&need) == 0) {
		coord_done(pw, 1);
		return 0;
	}
	timer_setup(&pw->timer, coord_timeout, pw);
	timer_in(&pw->timer, (uint64_t)D->conf.msg_timeout_ms);
	return 0;
}

/*
 * When each node last left the view (ms), and the first view it was
 * missing from: every member notes it as it installs views
 * (db_node_left), so a coordinator knows of departures it did not lead,
 * however short (a node forced out that rejoins within milliseconds).
 */
static uint64_t	 gone_at[NODEID_MAX + 1];
static uint64_t	 gone_epoch[NODEID_MAX + 1];

void
db_node_left(uint32_t id, uint64_t epoch)
{
	if (id == 0 || id > NODEID_MAX)
		return;
	gone_at[id] = loop_now();
	gone_epoch[id] = epoch;
}

/* The view epoch a lock record was taken in. */
static uint64_t
lock_epoch(const struct rec *r)
{
	const char		*e;
	unsigned long long	 v;

	if (r == NULL || (e = strstr(r->val, "epoch=")) == NULL ||
	    sscanf(e, "epoch=%llu", &v) != 1)
		return 0;
	return v;
}

/*
 * Has the holder left the view since it took the lock?  Then the lock is
 * no longer its own, even if it is back: it holds a lock only in the
 * views it stayed a member of (cl-wire(5), DATABASE).
 */
static int
lock_stale(const struct rec *r)
{
	uint32_t	 h = holder(r);

	if (h == 0)
		return 0;
	if (!ns_has(&D->cs.members, h) && gone_epoch[h] <= lock_epoch(r))
		db_node_left(h, D->cs.epoch);	/* gone before we looked */
	return gone_epoch[h] > lock_epoch(r);
}

/*
 * May a lock be given to another node?  Not while its holder stayed in
 * the view, and not until fail_ms after it left: it may have been cut
 * off rather than dead, and it goes on believing it holds the lock until
 * it notices it lost quorum.  It notices after fail_ms of silence, at
 * most 2 heartbeats after the majority dropped it (its last heartbeat
 * reached them at most one heartbeat before the cut), so fail_ms, at
 * least twice heartbeat_ms (cl.conf), is enough.
 */
static int
lock_free(const struct rec *r)
{
	uint32_t	 h = holder(r);

	if (h == 0)
		return 1;
	if (!lock_stale(r))
		return 0;
	return loop_now() >= gone_at[h] + (uint64_t)D->conf.fail_ms;
}

/* The snapshot a rejoining node takes must fit in one frame. */
static size_t
snap_max(void)
{
	size_t	 m = D->conf.max_payload;

	return m < DB_BYTES_MAX ? m : DB_BYTES_MAX;
}

static size_t
snap_size(void)
{
	return nbytes + nrec * SNAP_LINE;
}

/* A version check: ver= absent, 0 (must not exist) or the current one. */
static int
version_ok(const struct frame *rq, const struct rec *r, const char *key,
    struct client *cl, uint32_t node)
{
	uint64_t	 want;

	if (frame_get(rq, "ver") == NULL)
		return 1;
	if (frame_getu64(rq, "ver", &want) == -1) {
		fail(cl, node, rq->txid, "invalid", "ver=%s: not a version",
		    frame_get(rq, "ver"));
		return 0;
	}
	if (want == 0 && r != NULL) {
		fail(cl, node, rq->txid, "mismatch", "version mismatch: %s "
		    "exists, at version %llu", key,
		    (unsigned long long)r->ver);
		return 0;
	}
	if (want != 0 && (r == NULL || r->ver != want)) {
		if (r == NULL)
			fail(cl, node, rq->txid, "mismatch", "version "
			    "mismatch: %s does not exist, not at version %llu",
			    key, (unsigned long long)want);
		else
			fail(cl, node, rq->txid, "mismatch", "version "
			    "mismatch: %s is at version %llu, not %llu", key,
			    (unsigned long long)r->ver,
			    (unsigned long long)want);
		return 0;
	}
	return 1;
}

/*
 * A write on the coordinator, asked by a local client (node 0) or by
 * node `node` on behalf of one of its clients.
 */
static int
coord_write(const struct frame *rq, struct client *cl, uint32_t node)
{
	const char	*cmd = frame_get(rq, "cmd"), *k, *val = NULL;
	char		 key[DB_KEY_MAX + 1], lv[64];
	struct rec	*r;
	struct frame	 f;
	uint32_t	 who = node != 0 ? node : D->self, h;

	if (strcmp(cmd, "lock") == 0 || strcmp(cmd, "unlock") == 0) {
		k = frame_get(rq, "name");
		if (k == NULL || snprintf(key, sizeof(key), "%s%s",
		    LOCK_PREFIX, k) >= (int)sizeof(key) || !valid_key(key))
			return fail(cl, node, rq->txid, "invalid", "name=: "
			    "1 to %zu of A-Z a-z 0-9 _ . / : -",
			    DB_KEY_MAX - strlen(LOCK_PREFIX));
	} else if (!valid_key(k = frame_get(rq, "key")))
		return fail(cl, node, rq->txid, "invalid", "key=: 1 to %d "
		    "of A-Z a-z 0-9 _ . / : -", DB_KEY_MAX);
	else
		(void)strlcpy(key, k, sizeof(key));
	r = rec_find(key);
	if (strcmp(cmd, "set") == 0) {
		if (!valid_val(val = frame_get(rq, "value")))
			return fail(cl, node, rq->txid, "invalid", "value=: "
			    "at most %d bytes", DB_VAL_MAX);
		if ((r == NULL && nrec >= DB_RECORDS_MAX) ||
		    snap_size() + strlen(key) + strlen(val) + SNAP_LINE >
		    snap_max())
			return fail(cl, node, rq->txid, "full", "the cluster "
			    "database is full (%d records, %zu bytes as a "
			    "snapshot)", DB_RECORDS_MAX, snap_max());
		if (!version_ok(rq, r, key, cl, node))
			return 0;
	} else if (strcmp(cmd, "del") == 0) {
		if (r == NULL)
			return fail(cl, node, rq->txid, "nokey", "%s: no such "
			    "key", key);
		if (!version_ok(rq, r, key, cl, node))
			return 0;
	} else if (strcmp(cmd, "lock") == 0) {
		h = holder(r);
		/* Its own, unless it left the view since: then taken anew. */
		if (h == who && !lock_stale(r)) {
			ok_frame(&f, "lock", key, r->ver, who);
			return answer(cl, node, rq->txid, &f);
		}
		/* A holder that left the view holds nothing, after grace. */
		if (h != 0 && h != who && !lock_free(r)) {
			frame_init(&f, "error", rq->txid);
			frame_add(&f, "status", "held");
			frame_add(&f, "node", "%u", h);
			frame_add(&f, "reason", "lock %s is held by node %u%s",
			    key + strlen(LOCK_PREFIX), h,
			    !lock_stale(r) ? "" : ", which left the "
			    "view: released when it has surely noticed");
			return answer(cl, node, rq->txid, &f);
		}
		if (h != 0 && h != who)
			log_info("lock %s of node %u, which left the view, "
			    "given to node %u", key + strlen(LOCK_PREFIX), h,
			    who);
		(void)snprintf(lv, sizeof(lv), "node=%u epoch=%llu", who,
		    (unsigned long long)D->cs.epoch);
		val = lv;
	} else if (strcmp(cmd, "unlock") == 0) {
		if (holder(r) != who)
			return fail(cl, node, rq->txid, "notheld", "lock %s is "
			    "not held by node %u", key + strlen(LOCK_PREFIX),
			    who);
	} else
		return fail(cl, node, rq->txid, "invalid", "cmd=%s: not a "
		    "write", cmd);
	(void)publish(key, val, cl, node, rq->txid, cmd);
	return 0;
}

/* Locks of nodes that left: released once lock_free says so. */
static void
drop_stale_locks(void)
{
	struct rec	*r, *next, k;
	char		 key[DB_KEY_MAX + 1];
	uint32_t	 h;

	/* Every heartbeat: visit the lock records only, in key order. */
	(void)strlcpy(k.key, LOCK_PREFIX, sizeof(k.key));
	for (r = RB_NFIND(rectree, &recs, &k); r != NULL &&
	    strncmp(r->key, LOCK_PREFIX, strlen(LOCK_PREFIX)) == 0; r = next) {
		next = RB_NEXT(rectree, &recs, r);
		h = holder(r);
		if (h != 0 && !lock_free(r))
			continue;
		(void)strlcpy(key, r->key, sizeof(key));
		log_info("lock %s released: node %u left the view",
		    key + strlen(LOCK_PREFIX), h);
		(void)publish(key, NULL, NULL, 0, 0, NULL);
	}
}

static void
become_ready(void)
{
	ready = 1;
	D->hb_dirty = 1;
	log_debug("cluster database: coordinator ready at update %llu of "
	    "epoch %llu", (unsigned long long)dbs, (unsigned long long)dbe);
	drop_stale_locks();
}

/*
 * As coordinator of a new view: take the newest database among the
 * members first (it holds every acknowledged write), then take writes.
 */
static void
coord_prepare(void)
{
	struct peer	*p, *best = NULL;
	uint64_t	 be = dbe, bs = dbs;
	uint32_t	 id;

	NS_FOREACH(id, &D->cs.members) {
		if (id == D->self || (p = D->peers[id]) == NULL ||
		    p->conn == NULL || !p->hb_seen)
			continue;
		if (older(be, bs, p->dbe, p->dbs)) {
			best = p;
			be = p->dbe;
			bs = p->dbs;
		}
	}
	if (best == NULL)
		become_ready();
	else
		send_pull(best);
}

/* A write the coordinator could not answer before it stopped being one. */
static void
coord_abort_all(void)
{
	int	 i;

	for (i = 0; i < DB_PENDING_MAX; i++)
		if (coord[i].used) {
			fail(coord[i].client, coord[i].node, coord[i].txid,
			    "timeout", "the coordinator changed before update "
			    "%llu was confirmed", (unsigned long long)coord[i].id);
			slot_free(&coord[i]);
		}
}

void
db_view_changed(void)
{
	ready = 0;
	mismatch = 0;
	pull_at = 0;
	fresh = 1;
	if (coordinating())
		coord_prepare();
	else
		coord_abort_all();
	D->hb_dirty = 1;
}

static int	 was_synced;

/* Newly in sync with the coordinator: a join held for it may go on. */
void
db_check_synced(void)
{
	int	 s;

	s = db_synced();
	if (s && !was_synced)
		trans_install(&D->cs);
	was_synced = s;
}

/*
 * Every heartbeat: finish getting ready, or catch up with the
 * coordinator.  Its heartbeat may lag the updates it sends, so only a
 * copy behind it counts, and only if it is still behind on the next
 * heartbeat (at once on the first heartbeat of a view).
 */
void
db_tick(void)
{
	struct peer	*c;

	if (coordinating() && !ready)
		coord_prepare();
	else if (coordinating())
		drop_stale_locks();
	else if ((c = coordinator_peer()) != NULL && c->dbready &&
	    (older(dbe, dbs, c->dbe, c->dbs) ||
	    (dbs == c->dbs && dbe != c->dbe))) {
		if (++mismatch >= 2 || fresh)
			send_pull(c);
	} else
		mismatch = 0;
	fresh = 0;
	db_check_synced();
}

/* A member gone: the coordinator's writes stop waiting for it. */
void
db_peer_down(struct peer *p)
{
	int	 i;

	for (i = 0; i < DB_PENDING_MAX; i++) {
		if (!coord[i].used || !ns_has(&coord[i].need, p->id))
			continue;
		ns_del(&coord[i].need, p->id);
		if (ns_subset(&coord[i].need, &coord[i].acked))
			coord_done(&coord[i],
			    1 + ns_count(&coord[i].acked) >= D->quorum_size);
	}
}

/* An update from the coordinator, applied only on top of its base. */
static void
peer_dbup(struct peer *p, const struct frame *f)
{
	struct frame	 a;
	uint64_t	 e, pe, ps;
	const char	*key = frame_get(f, "key");

	if (p != coordinator_peer() || frame_getu64(f, "dbe", &e) == -1 ||
	    frame_getu64(f, "pe", &pe) == -1 ||
	    frame_getu64(f, "ps", &ps) == -1 || !valid_key(key))
		return;
	if (dbe == e && dbs == f->txid)
		goto ack;			/* we have it already */
	if (dbe != pe || dbs != ps) {
		send_pull(p);			/* another history: resync */
		return;
	}
	if (apply(e, f->txid, key, frame_get(f, "value")) == -1)
		return;
ack:
	frame_init(&a, "dback", f->txid);
	(void)peer_send(p, &a);
}

static void
peer_dback(struct peer *p, const struct frame *f)
{
	struct pending	*pw;

	if ((pw = slot_find(coord, f->txid)) == NULL)
		return;
	ns_add(&pw->acked, p->id);
	if (ns_subset(&pw->need, &pw->acked))
		coord_done(pw, 1);
}

/* The coordinator's answer to a write we forwarded. */
static void
peer_dbres(const struct frame *f)
{
	struct pending	*pw;
	struct frame	 a;
	const char	*res = frame_get(f, "res");
	int		 i;

	if ((pw = slot_find(asked, f->txid)) == NULL || res == NULL)
		return;
	frame_init(&a, strcmp(res, "ok") == 0 ? "ok" : "error", pw->txid);
	for (i = 0; i < f->nkv; i++)
		if (strcmp(f->kv[i].key, "res") != 0 &&
		    strcmp(f->kv[i].key, "seq") != 0 &&
		    strcmp(f->kv[i].key, "mac") != 0)
			frame_add(&a, f->kv[i].key, "%s", f->kv[i].val);
	(void)answer(pw->client, 0, pw->txid, &a);
	slot_free(pw);
}

/* Database traffic between clmemberds: 1 if f was ours. */
int
db_peer_frame(struct peer *p, struct frame *f)
{
	if (strcmp(f->op, "dbup") == 0)
		peer_dbup(p, f);
	else if (strcmp(f->op, "dback") == 0)
		peer_dback(p, f);
	else if (strcmp(f->op, "dbreq") == 0) {
		if (!coordinating() || !ready)
			(void)fail(NULL, p->id, f->txid, "busy", "node %u is "
			    "not the ready coordinator; retry", D->self);
		else
			(void)coord_write(f, NULL, p->id);
	} else if (strcmp(f->op, "dbres") == 0)
		peer_dbres(f);
	else if (strcmp(f->op, "dbpull") == 0)
		send_snap(p, f->txid);
	else if (strcmp(f->op, "dbsnap") == 0) {
		/* Only from the coordinator, or, preparing, from anyone. */
		if (p != coordinator_peer() && !(coordinating() && !ready))
			return 1;
		if (take_snap(f) == 0 && coordinating() && !ready)
			become_ready();
		db_tick();
	} else
		return 0;
	return 1;
}

static void
asked_timeout(void *arg)
{
	struct pending	*pw = arg;

	(void)fail(pw->client, 0, pw->txid, "timeout", "no answer from the "
	    "coordinator in %d ms", 2 * D->conf.msg_timeout_ms);
	slot_free(pw);
}

/* A local client's write: done here as coordinator, or forwarded. */
static int
client_write(struct client *cl, struct frame *f)
{
	struct pending	*pw;
	struct peer	*c;
	struct frame	 q;
	int		 i;

	if (!cl->priv)
		return fail(cl, 0, f->txid, "denied", "database writes need "
		    "root or group %s", D->conf.group);
	if (!D->inview || !D->quorum)
		return fail(cl, 0, f->txid, "noquorum", "node %u is not in a "
		    "view with quorum: the cluster database takes no writes",
		    D->self);
	if (coordinating())
		return ready ? coord_write(f, cl, 0) : fail(cl, 0, f->txid,
		    "busy", "the coordinator is resyncing the database; "
		    "retry");
	if ((c = coordinator_peer()) == NULL || c->conn == NULL)
		return fail(cl, 0, f->txid, "busy", "no coordinator; retry");
	if ((pw = slot_new(asked)) == NULL)
		return fail(cl, 0, f->txid, "full", "%d writes in flight",
		    DB_PENDING_MAX);
	pw->id = next_rid++;
	pw->client = cl;
	pw->txid = f->txid;
	frame_init(&q, "dbreq", pw->id);
	for (i = 0; i < f->nkv; i++)
		frame_add(&q, f->kv[i].key, "%s", f->kv[i].val);
	(void)peer_send(c, &q);
	timer_setup(&pw->timer, asked_timeout, pw);
	timer_in(&pw->timer, 2 * (uint64_t)D->conf.msg_timeout_ms);
	return 0;
}

static int
send_rec(struct client *cl, uint64_t txid, const struct rec *r)
{
	struct frame	 f;

	frame_init(&f, "dbrec", txid);
	frame_add(&f, "key", "%s", r->key);
	frame_add(&f, "ver", "%llu", (unsigned long long)r->ver);
	frame_add(&f, "value", "%s", r->val);
	return control_send(cl, &f);
}

/* CL1 db with cmd=get|ls|watch|set|del|lock|unlock, from the control socket. */
int
db_client(struct client *cl, struct frame *f)
{
	const char	*cmd = frame_get(f, "cmd"), *pfx;
	struct rec	*r, k;
	struct frame	 e;
	size_t		 n;

	if (cmd == NULL)
		return fail(cl, 0, f->txid, "invalid", "cmd= missing (get, "
		    "ls, watch, set, del, lock, unlock)");
	if (strcmp(cmd, "get") == 0) {
		if ((r = rec_find(frame_get(f, "key") != NULL ?
		    frame_get(f, "key") : "")) == NULL)
			return fail(cl, 0, f->txid, "nokey", "%s: no such key",
			    frame_get(f, "key") != NULL ? frame_get(f, "key") :
			    "(no key=)");
		return send_rec(cl, f->txid, r);
	}
	pfx = frame_get(f, "prefix") != NULL ? frame_get(f, "prefix") : "";
	if (strlen(pfx) > DB_KEY_MAX)
		return fail(cl, 0, f->txid, "invalid", "prefix too long");
	if (strcmp(cmd, "ls") == 0) {
		n = strlen(pfx);
		(void)strlcpy(k.key, pfx, sizeof(k.key));
		for (r = RB_NFIND(rectree, &recs, &k);
		    r != NULL && strncmp(r->key, pfx, n) == 0;
		    r = RB_NEXT(rectree, &recs, r))
			if (send_rec(cl, f->txid, r) == -1)
				return 0;	/* too slow: dropped */
		frame_init(&e, "end", f->txid);
		return control_send(cl, &e);
	}
	if (strcmp(cmd, "watch") == 0) {
		(void)strlcpy(cl->dbwatch, pfx, sizeof(cl->dbwatch));
		cl->dbwatching = 1;
		frame_init(&e, "ok", f->txid);
		return control_send(cl, &e);
	}
	return client_write(cl, f);
}

void
db_client_gone(struct client *cl)
{
	int	 i;

	for (i = 0; i < DB_PENDING_MAX; i++) {
		if (asked[i].used && asked[i].client == cl)
			asked[i].client = NULL;
		if (coord[i].used && coord[i].client == cl)
			coord[i].client = NULL;
	}
}
