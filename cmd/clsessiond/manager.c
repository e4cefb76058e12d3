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
 * The session manager (seed 001): the clsessiond holding the DB lock
 * clsessiond.manager creates, destroys and moves sessions (ids from
 * dm/nextid by compare-and-set, never reused) and sets dispositions.
 * Requests from other nodes come to it as messages; a holder whose node
 * runs no clsessiond loses the lock.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clsessiond.h"

#define LOCK_NAME	"clsessiond.manager"
#define LOCK_KEY	"lock/" LOCK_NAME
#define LOCK_RETRY_MS	1000		/* ms */
#define TAKEOVER_MISSES	2	/* checks without the holder's service */

int			 ismgr;
static uint32_t		 mgr_logged;
static int		 misses;
static struct timer	 lockt;

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

/* Pending events of session id on node (-1: unknown). */
static int
pending_of(uint64_t id, uint32_t node)
{
	struct frame	 req, resp, rcpt;
	uint64_t	 n;

	if (node == self)
		return ev_pending(id);
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
	char		 key[64], why[512];
	uint32_t	 node;
	int		 rc, n;

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
	disp_drop(id);
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
	if (db_field(val, "node", nd, sizeof(nd)) == -1 ||
	    wire_parse_u64(nd, strlen(nd), UINT32_MAX, &v) == -1 ||
	    db_field(val, "name", name, sizeof(name)) == -1) {
		fail(a, txid, "%s: not understood: %s", key, val);
		return;
	}
	if ((uint32_t)v != node && !force) {
		if ((rc = mgr_hasservice((uint32_t)v)) == -1) {
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

void
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
		if (sess_parseid(frame_get(f, "id"), &id) == -1)
			fail(a, txid, "destroy: id= missing or not a number");
		else
			mgr_destroy(id, txid, a);
	} else if (strcmp(f->op, "assume") == 0) {
		if (sess_parseid(frame_get(f, "id"), &id) == -1)
			fail(a, txid, "assume: id= missing or not a number");
		else
			mgr_assume(id, from, frame_get(f, "force") != NULL,
			    txid, a);
	} else if (strcmp(f->op, "dispset") == 0)
		disp_set(f, txid, a);
	else
		fail(a, txid, "%s: not a manager request", f->op);
}

/* The manager's node: from the lock record; 0 if none. */
uint32_t
mgr_node(void)
{
	char	 val[WIRE_VAL_MAX + 1], nd[16];
	uint64_t n;

	if (db_get(LOCK_KEY, val, sizeof(val), NULL) != 1 ||
	    db_field(val, "node", nd, sizeof(nd)) == -1 ||
	    wire_parse_u64(nd, strlen(nd), UINT32_MAX, &n) == -1)
		return 0;
	return (uint32_t)n;
}

/* A request for the manager, from this node's client: here or there. */
void
mgr_forward(const struct frame *f, struct frame *a)
{
	struct frame	 req, resp, rcpt;
	uint32_t	 mgr;
	int		 i, rc, tries;

	for (tries = 0; tries < 3; tries++) {
		if (!ismgr && (mgr = mgr_node()) == self)
			mgr_trylock();
		if (ismgr) {
			mgr_request(f, f->txid, self, a);
			return;
		}
		if ((mgr = mgr_node()) == 0) {
			mgr_trylock();
			continue;
		}
		frame_init(&req, f->op, ++txids);
		for (i = 0; i < f->nkv; i++)
			if (!ev_routerkey(f->kv[i].key))
				frame_add(&req, f->kv[i].key, "%s",
				    f->kv[i].val);
		frame_add(&req, "to", "%u.clsessiond", mgr);
		rc = msg_call(&M, &req, &resp, &rcpt,
		    2 * conf.msg_timeout_ms);
		timer_in(&readt, 0);
		if (rc == 1) {
			frame_init(a, resp.op, f->txid);
			for (i = 0; i < resp.nkv; i++)
				if (!ev_routerkey(resp.kv[i].key))
					frame_add(a, resp.kv[i].key, "%s",
					    resp.kv[i].val);
			return;
		}
		log_warnx("session manager on node %u: %s", mgr, M.error);
		/* Its clsessiond is gone: take over if we may. */
		misses = TAKEOVER_MISSES;
		mgr_trylock();
	}
	fail(a, f->txid, "no session manager answers (is clsessiond "
	    "running, and the cluster in quorum?)");
}

/* Does node run clsessiond (1), not (0), unknown (-1)? */
int
mgr_hasservice(uint32_t node)
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
void
mgr_trylock(void)
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
	if ((rc = mgr_hasservice((uint32_t)who)) != 0) {
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
	mgr_trylock();
}

static void
on_lockt(void *arg)
{
	(void)arg;
	mgr_trylock();
	timer_in(&lockt, LOCK_RETRY_MS);
}

void
mgr_init(void)
{
	timer_setup(&lockt, on_lockt, NULL);
	timer_in(&lockt, 0);
}

/* On exit: the manager lets the lock go for another node to take. */
void
mgr_release(void)
{
	struct frame	 req, f;

	if (!ismgr)
		return;
	frame_init(&req, "db", ++txids);
	frame_add(&req, "cmd", "unlock");
	frame_add(&req, "name", LOCK_NAME);
	if (db_call(&req, &f) != 1)
		log_warnx("cannot release the lock %s", LOCK_NAME);
}
