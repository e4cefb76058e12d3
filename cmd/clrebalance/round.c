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
 * One round of resource rebalancing, seed 002 FIG 10B (L865-L885): take
 * the configuration-database lock and so become the temporary master,
 * read the node and volume records and the committed assignment, compute
 * the new one (balance.c, FIG 10D), write it as one record, and release
 * the lock.  The lock is the cluster database's, valid only in the
 * current view, in place of the seed's reserved lock sector (120D1);
 * the new version is published by the database's replication to every
 * member's copy (the seed's RAM-resident copies, FIG 10C), and it is
 * one record, so a master that dies mid-way leaves the last committed
 * version whole.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"
#include "clrebalance.h"

/* "ver=V epoch=E master=N fs1=2 fs2=1" */
static int
parse(const struct cl_conf *c, const char *v, struct rb_assign *a)
{
	char		 buf[1100], *p, *tok, *eq;
	uint64_t	 n;
	int		 i;

	if (strlcpy(buf, v, sizeof(buf)) >= sizeof(buf))
		return -1;
	for (p = buf; (tok = strsep(&p, " ")) != NULL;) {
		if ((eq = strchr(tok, '=')) == NULL)
			continue;
		*eq++ = '\0';
		if (wire_parse_u64(eq, strlen(eq), UINT64_MAX, &n) != 0)
			return -1;
		if (strcmp(tok, "ver") == 0)
			a->ver = n;
		else if (strcmp(tok, "epoch") == 0)
			a->epoch = n;
		else if (strcmp(tok, "master") == 0 && n <= CONF_NODEID_MAX)
			a->master = (uint32_t)n;
		else
			for (i = 0; i < c->nvolumes; i++)
				if (strcmp(c->volumes[i].name, tok) == 0 &&
				    n <= CONF_NODEID_MAX)
					a->node[i] = (uint32_t)n;
	}
	return 0;
}

/* The committed assignment (ver 0: none yet): 0, or -1. */
int
rb_read(struct dbc *d, const struct cl_conf *c, struct rb_assign *a)
{
	char	 v[1100];
	int	 rc;

	memset(a, 0, sizeof(*a));
	if ((rc = dbc_get(d, RB_KEY, v, sizeof(v), &a->dbver)) != 1)
		return rc;
	if (parse(c, v, a) == -1) {
		(void)snprintf(d->error, sizeof(d->error), "%s: cannot read "
		    "\"%.160s\"", RB_KEY, v);
		return -1;
	}
	return 0;
}

/*
 * The assignment balance() gives for the members of v (and joiner,
 * a node whose join is under way), from the committed one a.
 */
int
rb_compute(const struct cl_conf *c, const struct dbc_view *v,
    const struct rb_assign *a, enum rb_mode mode, uint32_t joiner,
    struct rb_result *r)
{
	struct bnode	 nodes[CONF_NODES_MAX];
	struct bvol	 vols[CONF_VOLUMES_MAX];
	uint8_t		 active[CONF_NODEID_MAX + 1];
	const struct cl_volume *cv;
	const struct cl_node *cn;
	int		 i, nn = 0;

	memset(r, 0, sizeof(*r));
	memset(active, 0, sizeof(active));
	for (i = 0; i < c->nnodes; i++) {
		cn = &c->nodes[i];
		if (!v->joined[cn->id] && !(cn->id == joiner &&
		    v->member[cn->id]))
			continue;
		active[cn->id] = 1;
		memset(&nodes[nn], 0, sizeof(nodes[nn]));
		nodes[nn].id = cn->id;
		nodes[nn].weight = cn->weight;
		nodes[nn].groups = &cn->groups;
		nodes[nn].domains = &cn->domains;
		nn++;
	}
	for (i = 0; i < c->nvolumes; i++) {
		cv = &c->volumes[i];
		memset(&vols[i], 0, sizeof(vols[i]));
		vols[i].name = cv->name;
		vols[i].weight = cv->weight;
		vols[i].group = cv->group;
		vols[i].parent = cv->preferred;
		vols[i].migrate = cv->migrate;
		vols[i].domains = &cv->domains;
		vols[i].current = active[a->node[i]] ? a->node[i] : 0;
		vols[i].movable = mode == RB_ACTIVE ||
		    (mode == RB_JOIN && cv->failback);
	}
	if (nn > 0)
		(void)balance(nodes, nn, vols, c->nvolumes, c->imbalance);
	for (i = 0; i < c->nvolumes; i++) {
		r->node[i] = nn > 0 ? vols[i].assigned : 0;
		if (r->node[i] != a->node[i])
			r->moved++;
	}
	for (i = 0; i < nn; i++) {
		r->ideal[nodes[i].id] = nodes[i].ideal;
		r->remaining[nodes[i].id] = nodes[i].remaining;
	}
	r->spread_after = nn > 0 ? balance_spread(nodes, nn) : 0;
	return 0;
}

static void
format(const struct cl_conf *c, const struct rb_assign *a,
    const struct rb_result *r, uint64_t epoch, char *buf, size_t n)
{
	size_t	 o;
	int	 i;

	o = (size_t)snprintf(buf, n, "ver=%llu epoch=%llu master=%u",
	    (unsigned long long)a->ver + 1, (unsigned long long)epoch,
	    c->self);
	for (i = 0; i < c->nvolumes && o < n; i++)
		if (r->node[i] != 0)
			o += (size_t)snprintf(buf + o, n - o, " %s=%u",
			    c->volumes[i].name, r->node[i]);
}

/*
 * A round as the temporary master: 1 done (r says what changed), 0 the
 * lock is held by *held (another master; ask again), -1 (d->error).
 */
int
rb_round(struct dbc *d, const struct cl_conf *c, enum rb_mode mode,
    uint32_t joiner, struct rb_result *r, uint32_t *held)
{
	struct dbc_view	 v;
	struct rb_assign a;
	char		 val[1100];
	int		 rc, ret = -1;

	if ((rc = dbc_lock(d, RB_LOCK, held)) != 1)
		return rc == 0 && *held != 0 ? 0 : -1;
	if (dbc_view(d, &v) == -1 || rb_read(d, c, &a) == -1)
		goto out;
	if (!v.quorum) {
		(void)snprintf(d->error, sizeof(d->error), "no quorum");
		goto out;
	}
	(void)rb_compute(c, &v, &a, mode, joiner, r);
	ret = 1;
	if (r->moved == 0 && a.ver != 0)
		goto out;
	format(c, &a, r, v.epoch, val, sizeof(val));
	if (dbc_set(d, RB_KEY, val, a.dbver, 1) != 1)
		ret = -1;
 out:
	(void)dbc_unlock(d, RB_LOCK);
	return ret;
}
