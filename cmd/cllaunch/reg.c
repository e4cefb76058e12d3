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
 * Registrations in the cluster database (seed 004 L224-L270): the record
 * launch/NAME says on which node a one-instance service is registered and
 * in which state; every node watches launch/ and runs what is registered
 * to it.  Placement is decided by one node at a time, the holder of the
 * database lock "cllaunch" (L226, L242: one decision-making node under a
 * cluster-wide lock), and written with compare-and-set, so a decision
 * made on a stale copy is refused rather than applied.  The lock is
 * valid in the current view only: a holder that dies loses it with its
 * membership.  Each node also writes launch/NAME/NODE, the state of its
 * own instance, for `cllaunch status` anywhere.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cllaunch.h"
#include "log.h"

static const char *reg_names[] = { "none", "starting", "registered",
    "stopping", "recovering", "failed", "unplaced" };

const char *
reg_state_name(enum reg_state s)
{
	return reg_names[s];
}

/* One request on the database connection: 1 ok, 0 refused (*f says), -1. */
int
db_call(struct frame *req, struct frame *f)
{
	int	 rc;

	if (!L->up)
		return -1;
	if ((rc = dbc_call(&L->db, req, f)) == -1) {
		log_warnx("%s", L->db.error);
		if (!L->db.open)
			launch_lost();
	}
	return rc;
}

static int
parse_nodes(const char *s, uint8_t *set)
{
	uint64_t	 n;
	size_t		 len;

	while (*s != '\0') {
		len = strcspn(s, ",");
		if (wire_parse_u64(s, len, CONF_NODEID_MAX, &n) != 0 || n == 0)
			return -1;
		set[n] = 1;
		s += len;
		if (*s == ',')
			s++;
	}
	return 0;
}

/* "node=N state=S gen=G [to=M] [failed=A,B]" */
int
reg_parse(const char *v, struct reg *r)
{
	char		 buf[1100], *p, *tok, *eq;
	uint64_t	 n;
	int		 i, seen = 0;

	memset(r, 0, sizeof(*r));
	if (strlcpy(buf, v, sizeof(buf)) >= sizeof(buf))
		return -1;
	for (p = buf; (tok = strsep(&p, " ")) != NULL;) {
		if (*tok == '\0' || (eq = strchr(tok, '=')) == NULL)
			continue;
		*eq++ = '\0';
		if (strcmp(tok, "state") == 0) {
			for (i = 1; i <= REG_UNPLACED; i++)
				if (strcmp(eq, reg_names[i]) == 0)
					r->state = (enum reg_state)i;
			seen |= r->state != REG_NONE;
		} else if (strcmp(tok, "failed") == 0) {
			if (parse_nodes(eq, r->failed) == -1)
				return -1;
		} else if (strcmp(tok, "node") == 0 || strcmp(tok, "to") == 0) {
			if (wire_parse_u64(eq, strlen(eq), CONF_NODEID_MAX,
			    &n) != 0)
				return -1;
			*(tok[0] == 'n' ? &r->node : &r->to) = (uint32_t)n;
		} else if (strcmp(tok, "gen") == 0 &&
		    wire_parse_u64(eq, strlen(eq), UINT64_MAX, &r->gen) != 0)
			return -1;
	}
	return seen ? 0 : -1;
}

void
reg_format(const struct reg *r, char *buf, size_t n)
{
	size_t	 o;
	int	 i, first = 1;

	o = (size_t)snprintf(buf, n, "node=%u state=%s gen=%llu", r->node,
	    reg_names[r->state], (unsigned long long)r->gen);
	if (r->to != 0 && o < n)
		o += (size_t)snprintf(buf + o, n - o, " to=%u", r->to);
	for (i = 1; i <= CONF_NODEID_MAX && o < n; i++)
		if (r->failed[i]) {
			o += (size_t)snprintf(buf + o, n - o, "%s%d",
			    first ? " failed=" : ",", i);
			first = 0;
		}
}

static int
service_index(const char *key)
{
	const char	*name;
	int		 i;

	if (strncmp(key, LAUNCH_PREFIX, strlen(LAUNCH_PREFIX)) != 0)
		return -1;
	name = key + strlen(LAUNCH_PREFIX);
	for (i = 0; i < L->nchild; i++)
		if (strcmp(L->child[i].sv.name, name) == 0)
			return i;
	return -1;
}

static void
take(int i, const char *value, uint64_t ver)
{
	struct reg	 r;

	if (value == NULL) {
		memset(&L->reg[i], 0, sizeof(L->reg[i]));
		return;
	}
	if (reg_parse(value, &r) == -1) {
		log_warnx("%s%s: cannot read \"%s\"", LAUNCH_PREFIX,
		    L->child[i].sv.name, value);
		return;
	}
	r.ver = ver;
	L->reg[i] = r;
}

static void
load_one(const char *key, const char *value, uint64_t ver, void *arg)
{
	int	 i;

	(void)arg;
	if ((i = service_index(key)) != -1)
		take(i, value, ver);
}

/* Every registration, from this node's copy of the database. */
int
reg_load(void)
{
	char	 v[1100];
	int	 i, rc;

	if (!L->up)
		return -1;
	for (i = 0; i < L->nchild; i++)
		memset(&L->reg[i], 0, sizeof(L->reg[i]));
	if (dbc_ls(&L->db, LAUNCH_PREFIX, load_one, NULL) == -1 ||
	    (rc = dbc_get(&L->db, ASSIGN_KEY, v, sizeof(v), NULL)) == -1) {
		log_warnx("%s", L->db.error);
		if (!L->db.open)
			launch_lost();
		return -1;
	}
	reg_take_assign(rc == 1 ? v : NULL);
	return 0;
}

/* launch/NAME/SELF set to "state=restart" by `cllaunch restart`. */
static void
restart_asked(const struct frame *f)
{
	const char	*key = frame_get(f, "key"), *v = frame_get(f, "value");
	char		 want[256];
	int		 i;

	if (key == NULL || v == NULL || strcmp(v, "state=restart") != 0)
		return;
	for (i = 0; i < L->nchild; i++) {
		(void)snprintf(want, sizeof(want), "%s%s/%u", LAUNCH_PREFIX,
		    L->child[i].sv.name, L->self);
		if (strcmp(key, want) != 0)
			continue;
		log_info("%s: restart asked for", L->child[i].sv.name);
		child_restart(&L->child[i]);
		L->child[i].dirty = 1;
	}
}

/* The watch on the database: keep our copy current. */
void
reg_watch_read(void)
{
	struct frame	 f;
	const char	*op;
	const char	*key;
	uint64_t	 ver;
	int		 rc, i, changed = 0;

	while ((rc = ctl_wait(&L->watch, &f, 0)) == 1) {
		if (strcmp(f.op, "dbev") != 0 || (op = frame_get(&f, "op")) ==
		    NULL)
			continue;
		if (strcmp(op, "resync") == 0) {
			L->resync = changed = 1;
			continue;
		}
		/* The watch sees every key: only ours wake us. */
		if ((key = frame_get(&f, "key")) == NULL ||
		    (strncmp(key, LAUNCH_PREFIX, strlen(LAUNCH_PREFIX)) != 0 &&
		    strcmp(key, ASSIGN_KEY) != 0))
			continue;
		changed = 1;
		if (strcmp(key, ASSIGN_KEY) == 0) {
			reg_take_assign(strcmp(op, "del") == 0 ? NULL :
			    frame_get(&f, "value"));
			continue;
		}
		if ((i = service_index(frame_get(&f, "key"))) == -1) {
			restart_asked(&f);
			continue;
		}
		if (strcmp(op, "del") == 0)
			take(i, NULL, 0);
		else if (frame_getu64(&f, "ver", &ver) == 0)
			take(i, frame_get(&f, "value"), ver);
	}
	if (rc == 0 || errno != ETIMEDOUT) {
		log_warnx("clmemberd closed the watch connection");
		launch_lost();
		return;
	}
	if (changed)
		launch_changed();
}

/* Replace registration i by r, if it is still at the version we read. */
static int
reg_set(int i, struct reg *r)
{
	struct frame	 req, f;
	char		 val[1024];
	uint64_t	 ver;
	int		 rc;

	reg_format(r, val, sizeof(val));
	frame_init(&req, "db", 0);
	frame_add(&req, "cmd", "set");
	frame_add(&req, "key", "%s%s", LAUNCH_PREFIX, L->child[i].sv.name);
	frame_add(&req, "value", "%s", val);
	frame_add(&req, "ver", "%llu", (unsigned long long)L->reg[i].ver);
	if ((rc = db_call(&req, &f)) == 1) {
		log_info("%s: %s", L->child[i].sv.name, val);
		if (frame_getu64(&f, "ver", &ver) == 0)
			r->ver = ver;
		L->reg[i] = *r;
		return 0;
	}
	if (rc == 0)
		log_info("%s: not registered as %s: %s", L->child[i].sv.name,
		    val, frame_get(&f, "reason") != NULL ?
		    frame_get(&f, "reason") : f.op);
	L->resync = 1;
	return -1;
}

static int
lock(int take)
{
	struct frame	 req, f;
	int		 rc;

	frame_init(&req, "db", 0);
	frame_add(&req, "cmd", take ? "lock" : "unlock");
	frame_add(&req, "name", LAUNCH_LOCK);
	if ((rc = db_call(&req, &f)) == 0 && take)
		log_debug("lock %s: %s", LAUNCH_LOCK,
		    frame_get(&f, "reason") != NULL ? frame_get(&f, "reason") :
		    f.op);
	return rc;
}

/*
 * The service as placement sees it: a file system's clmetad goes where
 * clrebalance(8) assigned it (rebalance/assign), when its nodes allow
 * that node, and moves there when the assignment changes.
 */
static const struct cl_service *
effective(int i, struct cl_service *eff)
{
	uint32_t	 n = L->assign[i];

	if (n == 0 || !conf_service_allows(&L->child[i].sv, n))
		return &L->child[i].sv;
	*eff = L->child[i].sv;
	eff->preferred = n;
	eff->failback = 1;
	return eff;
}

/*
 * rebalance/assign: "ver=V epoch=E master=N fs1=2 fs2=1 ...": the
 * administrator of each file system, for the services clmetad.FS.
 */
void
reg_take_assign(const char *v)
{
	char		 buf[1100], *p, *tok, *eq, name[CONF_SVCNAME_MAX + 1];
	uint64_t	 n;
	int		 i;

	memset(L->assign, 0, sizeof(L->assign));
	if (v == NULL || strlcpy(buf, v, sizeof(buf)) >= sizeof(buf))
		return;
	for (p = buf; (tok = strsep(&p, " ")) != NULL;) {
		if ((eq = strchr(tok, '=')) == NULL)
			continue;
		*eq++ = '\0';
		if (strcmp(tok, "ver") == 0 || strcmp(tok, "epoch") == 0 ||
		    strcmp(tok, "master") == 0 ||
		    wire_parse_u64(eq, strlen(eq), CONF_NODEID_MAX, &n) != 0)
			continue;
		(void)snprintf(name, sizeof(name), "clmetad.%s", tok);
		for (i = 0; i < L->nchild; i++)
			if (strcmp(L->child[i].sv.name, name) == 0)
				L->assign[i] = (uint32_t)n;
	}
}

/* Would a decision change anything? */
static int
needed(void)
{
	struct cl_service eff;
	struct reg	 out;
	int		 i;

	for (i = 0; i < L->nchild; i++)
		if (!L->child[i].sv.all && place_decide(effective(i, &eff),
		    &L->view, &L->reg[i], &out))
			return 1;
	return 0;
}

/*
 * One round of placement: under the lock, from a fresh copy, write what
 * place_decide says for every one-instance service.  Lock held by
 * another node: try again shortly (it may have decided for us).
 */
void
reg_decide(void)
{
	struct cl_service eff;
	struct reg	 out;
	int		 i, rc;

	if (!L->up || !L->view.quorum || !L->view.avail[L->self] ||
	    L->leaving || L->exiting || !needed())
		return;
	if ((rc = lock(1)) != 1) {
		if (rc == 0)
			timer_in(&L->decidet, LAUNCH_RETRY_MS);
		return;
	}
	if (reg_load() == 0)
		for (i = 0; i < L->nchild; i++)
			if (!L->child[i].sv.all && place_decide(
			    effective(i, &eff), &L->view, &L->reg[i], &out))
				(void)reg_set(i, &out);
	(void)lock(0);
}

/* Hand on what is registered here: this node leaves, or cllaunch ends. */
void
reg_release_all(void)
{
	struct cl_service eff;
	struct reg	 out, *r;
	uint32_t	 n;
	int		 i;

	if (!L->up || reg_load() == -1)
		return;
	for (i = 0; i < L->nchild; i++) {
		r = &L->reg[i];
		if (L->child[i].sv.all || r->node != L->self ||
		    r->state == REG_FAILED)
			continue;
		n = place_pick(effective(i, &eff), &L->view, r, L->self);
		out = *r;
		out.state = n != 0 ? REG_STARTING : REG_UNPLACED;
		out.node = n;
		out.to = 0;
		out.gen = r->gen + 1;
		(void)reg_set(i, &out);
	}
}

void
reg_write_status(struct child *c)
{
	struct frame	 req, f;

	frame_init(&req, "db", 0);
	frame_add(&req, "cmd", "set");
	frame_add(&req, "key", "%s%s/%u", LAUNCH_PREFIX, c->sv.name, L->self);
	frame_add(&req, "value", "pid=%ld state=%s restarts=%d since=%llu",
	    (long)c->pid, child_state_name(c->state), c->restarts,
	    (unsigned long long)c->since);
	if (db_call(&req, &f) == 1)
		c->dirty = 0;
}

/* A one-instance service: follow its registration. */
static void
follow(int i)
{
	struct child	*c = &L->child[i];
	struct reg	*r = &L->reg[i], out;

	/*
	 * Without clmemberd this node is out of the cluster, which recovers
	 * the service elsewhere: it must not run here too.
	 */
	/*
	 * Only as a joined member: a node that rejoins has its copy of the
	 * database brought up to date before its join is done (it may still
	 * name this node as the one that ran the service).
	 */
	if (!L->up || !L->view.avail[L->self] || r->node != L->self ||
	    L->leaving || L->exiting || L->forced || c->gone) {
		child_want(c, 0);
		if (L->up && r->state == REG_REGISTERED && r->node != L->self &&
		    c->sv.notify[0] != '\0' && c->notified != r->gen &&
		    !c->gone && conf_service_allows(&c->sv, L->self))
			child_notify(c, r->node, r->gen);
		return;
	}
	if (c->gen != r->gen) {
		c->gen = r->gen;
		child_restart(c);
	}
	switch (r->state) {
	case REG_STARTING:
	case REG_REGISTERED:
	case REG_RECOVERING:
		child_want(c, r->state == REG_RECOVERING ? 2 : 1);
		out = *r;
		if (c->state == CH_RUNNING && r->state != REG_REGISTERED) {
			/*
			 * Registration completes once it started (L258); the
			 * nodes it failed on before may be tried again later.
			 */
			out.state = REG_REGISTERED;
			memset(out.failed, 0, sizeof(out.failed));
			(void)reg_set(i, &out);
		} else if (c->state == CH_FAILED) {
			/* Tried on another allowable node next (L258). */
			out.state = REG_FAILED;
			out.failed[L->self] = 1;
			(void)reg_set(i, &out);
		}
		break;
	case REG_STOPPING:
		child_want(c, 0);
		if (c->state == CH_STOPPED) {
			/* Stopped: now it may start on the next node (L268). */
			out = *r;
			out.state = REG_STARTING;
			out.node = r->to;
			out.to = 0;
			out.gen = r->gen + 1;
			(void)reg_set(i, &out);
		}
		break;
	default:
		child_want(c, 0);
		break;
	}
}

/* Make what runs here match the registrations and the view. */
void
reg_reconcile(void)
{
	struct child	*c;
	int		 i, want;

	for (i = 0; i < L->nchild; i++) {
		c = &L->child[i];
		if (c->sv.all) {
			want = !L->leaving && !L->exiting && !c->gone &&
			    conf_service_allows(&c->sv, L->self) &&
			    (L->view.avail[L->self] || c->state != CH_STOPPED);
			child_want(c, want);
		} else
			follow(i);
		/*
		 * Not before this node has joined: its database copy is
		 * being brought up to date then, and a write would hold
		 * the loop (and the ack of its own join) until it timed out.
		 */
		if (c->dirty && L->up && L->view.avail[L->self])
			reg_write_status(c);
	}
}
