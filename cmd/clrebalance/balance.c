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
 * Which node administers each volume: seed 002's balance-metadata
 * subroutine (FIG 10D; text L900-L1128, pseudo-code L1130-L1469), a
 * pure function of the node and volume records.  Every node that
 * computes it from the same records gets the same answer: the inputs
 * are sorted first (nodes by id, volumes by group, weight, name: full
 * keys, so the caller's order never shows), every later sort is a
 * deterministic insertion sort from that order, and capacities are
 * equal within a small epsilon.
 *
 * The steps, in the seed's numbers:
 *
 * 1132-1138  The active servers are the nodes given (the members), not
 *            the seed's "current admins plus the master" (L905,
 *            L1144-L1145): the membership service knows who is up.
 *            Active volumes are those sharing a domain with some active
 *            node (L914, L1155-L1158).
 * 1140       Sort active volumes by group ascending, weight descending
 *            (L916, L1162); then by name, which the seed leaves open.
 * 1142-1150  ideal = node weight / total node weight x total active
 *            volume weight (L810, L926, L1189-L1195); remaining = ideal.
 * 1152       Parent match (L928-L932, L1197-L1204), with the volume
 *            limit of L810-L816 ("When the limit is reached, generally
 *            no further volumes will be assigned to that server"): a
 *            node takes the volumes that prefer it while its remaining
 *            capacity is above 0.  The pseudo-code checks no capacity
 *            here; the seed's examples (Tables 5 and 7, L843-L851,
 *            L979-L1002) come out the same either way, and without it a
 *            node preferred by every volume would take them all.  Step
 *            1166 never moves a volume matched here (L1098, L1324-L1328:
 *            "not matched with its parent"); one that reaches its parent
 *            by a later step, the parent being full, may move.
 * 1158       Group priority with capacity (L1010-L1014, L1206-L1220):
 *            nodes by remaining capacity descending; each in turn walks
 *            its group list in priority order and takes the remaining
 *            volumes of each group while its capacity is above 0.  This
 *            is the pseudo-code's per-node order, which Table 8
 *            (L1016-L1030) follows (CFN8 takes s1 before CFN3, whose
 *            first group is sal), not the text's layer by layer
 *            (L1013-L1014).  Table 8 also shows a1, a3, a4 on CFN6,
 *            which neither reading gives (CFN8 sorts first, lists act).
 * 1160       Exhaust group matches (L1032, L1222-L1256), capacity
 *            ignored: for each priority level i, the nodes whose i-th
 *            group is g (sorted by g, then remaining capacity
 *            descending, L1249-L1250) take g's remaining volumes,
 *            heaviest first, round robin.  Table 9 (L1036-L1050)
 *            follows this (o4 to CFN8, o5 to CFN3).
 * 1162       Exhaust capacity (L1052-L1054, L1258-L1272): volumes that
 *            may not leave their group stay unassigned; nodes by
 *            remaining capacity descending take remaining volumes while
 *            above 0 (Table 10, L1058-L1074).
 * 1164       Increase balance (L1076, L1274-L1284): nodes by remaining
 *            capacity descending, each remaining volume to the next node
 *            in turn that may take it (Table 11, L1078-L1092: m6 to
 *            CFN10, past the ga-only CFN5, CFN7, CFN9).
 * 1166       Balance overloaded servers (L1094-L1104, L1291-L1457),
 *            below.
 *
 * Eligibility everywhere (L627, L633-L637, L764, L1010, L1054, L1076,
 * L1334-L1346): a node may administer a volume only if they share a
 * domain (an empty list on either side matches all) and the node lists
 * the volume's group, or the volume may migrate, or it has no group.
 * The seed's parent step checks neither; cl checks both there too (a
 * preferred node that cannot reach the volume is no use).
 *
 * Ties in remaining capacity go to the higher node id: it is the order
 * Table 4 needs (L820-L832: at t=1 CFN1 and CFN2 both have 1.5 left
 * and Finance goes to CFN2) and Table 11 (CFN4, CFN6, CFN10 at -0.56:
 * m6 goes to CFN10).  A stable sort from the seed's list order would
 * give CFN1 and CFN4.  (Table 12, L1108-L1122, which the seed notes
 * find unreliable, would suit the lower id.)
 *
 * Hysteresis (not in the seed; issue 8): see balance() below.
 */

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"

#define CYCLES_MAX	1000	/* step 1166 rounds; each lowers the spread */
#define RATIO_EPS	1e-9	/* zero-balance ratios are in [0, 1] */
#define TURNS_MAX	64	/* balance()'s runs on its own result */

struct ctx {
	struct bnode	**n;		/* the active nodes, by id */
	int		  nn;
	struct bvol	**all;		/* every volume, by name */
	struct bvol	**v;		/* the active volumes (step 1140) */
	int		  nv;
	unsigned char	 *elig;		/* [k * nn + j]: may n[j] take v[k] */
	int		 *parent;	/* v[k]'s eligible parent, or -1 */
	int		 *kept;		/* v[k]'s eligible current admin, -1 */
	double		 *ideal;	/* 420H */
	double		  tvol;		/* total active volume weight */
	double		  eps;
	int		 *order;	/* scratch: node indices */
	int		 *sub;		/* scratch: step 1166's volume subset */
	int		 *cls;		/* scratch: its priority classes */
	double		 *rcsave;	/* step 1166's previous state */
	int		 *atsave;
};

/* One assignment: remaining capacities and each volume's node. */
struct run {
	double		 *rc;		/* 420I by node index */
	int		 *at;		/* node index by volume, -1 none */
	const int	 *pin;		/* node index it must stay on, -1 */
	int		 *fixed;	/* pinned or matched with its parent */
};

#define ELIG(c, k, j) \
	((c)->elig[(size_t)(k) * (size_t)(c)->nn + (size_t)(j)])

static int
nnames(const struct cl_names *l)
{
	if (l == NULL || l->n < 0)
		return 0;
	return l->n > CONF_GROUPS_MAX ? CONF_GROUPS_MAX : l->n;
}

static int
names_has(const struct cl_names *l, const char *s)
{
	int	 i;

	for (i = 0; i < nnames(l); i++)
		if (strcmp(l->name[i], s) == 0)
			return 1;
	return 0;
}

/* Do a node's and a volume's domains overlap (L622-L627, L764)? */
static int
domains_meet(const struct cl_names *a, const struct cl_names *b)
{
	int	 i;

	if (nnames(a) == 0 || nnames(b) == 0)
		return 1;
	for (i = 0; i < nnames(a); i++)
		if (names_has(b, a->name[i]))
			return 1;
	return 0;
}

static const char *
vgroup(const struct bvol *v)
{
	return v->group != NULL ? v->group : "";
}

/* Is v in group g (a volume with no group is in none)? */
static int
in_group(const struct bvol *v, const char *g)
{
	return vgroup(v)[0] != '\0' && strcmp(vgroup(v), g) == 0;
}

int
balance_eligible(const struct bnode *n, const struct bvol *v)
{
	if (!domains_meet(n->domains, v->domains))
		return 0;
	if (v->migrate || vgroup(v)[0] == '\0')
		return 1;
	return names_has(n->groups, vgroup(v));
}

static int
nodecmp(const void *a, const void *b)
{
	const struct bnode *x = *(struct bnode *const *)a;
	const struct bnode *y = *(struct bnode *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int
namecmp(const void *a, const void *b)
{
	const struct bvol *x = *(struct bvol *const *)a;
	const struct bvol *y = *(struct bvol *const *)b;

	return strcmp(x->name, y->name);
}

/* Step 1140 (L1162): group ascending, weight descending; then name. */
static int
volcmp(const void *a, const void *b)
{
	const struct bvol *x = *(struct bvol *const *)a;
	const struct bvol *y = *(struct bvol *const *)b;
	int		 d;

	if ((d = strcmp(vgroup(x), vgroup(y))) != 0)
		return d;
	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Does node a sort before b: more remaining capacity, then higher id? */
static int
ahead(const struct ctx *c, const double *rc, int a, int b)
{
	if (rc[a] > rc[b] + c->eps)
		return 1;
	if (rc[b] > rc[a] + c->eps)
		return 0;
	return c->n[a]->id > c->n[b]->id;
}

/* Step 1160's order (L1236): the level's group, then as ahead(). */
static int
ahead_group(const struct ctx *c, const double *rc, int lvl, int a, int b)
{
	int	 d;

	d = strcmp(c->n[a]->groups->name[lvl], c->n[b]->groups->name[lvl]);
	if (d != 0)
		return d < 0;
	return ahead(c, rc, a, b);
}

/* Insertion sort of o[0..m) by ahead() (lvl < 0) or ahead_group(). */
static void
sort_nodes(const struct ctx *c, const double *rc, int lvl, int *o, int m)
{
	int	 i, x, y;

	for (i = 1; i < m; i++) {
		x = o[i];
		for (y = i; y > 0; y--) {
			if (lvl < 0 ? !ahead(c, rc, x, o[y - 1]) :
			    !ahead_group(c, rc, lvl, x, o[y - 1]))
				break;
			o[y] = o[y - 1];
		}
		o[y] = x;
	}
}

/* Every node, in step order: remaining capacity descending. */
static void
order_all(struct ctx *c, const struct run *r)
{
	int	 j;

	for (j = 0; j < c->nn; j++)
		c->order[j] = j;
	sort_nodes(c, r->rc, -1, c->order, c->nn);
}

static double
spread(const struct ctx *c, const double *rc)
{
	double	 s = 0;
	int	 j;

	for (j = 0; j < c->nn; j++)
		s += fabs(rc[j]);
	return s;
}

static int
full(const struct ctx *c, const struct run *r, int j)
{
	return r->rc[j] <= c->eps;
}

static void
assign(const struct ctx *c, struct run *r, int k, int j)
{
	r->at[k] = j;
	r->rc[j] -= c->v[k]->weight;
}

/* Step 1152 (L928-L932, L1197-L1204, L810-L816): to their parent. */
static void
step_parent(struct ctx *c, struct run *r)
{
	int	 j, k;

	for (j = 0; j < c->nn; j++)
		for (k = 0; k < c->nv; k++) {
			if (r->at[k] != -1 || c->parent[k] != j)
				continue;
			if (full(c, r, j))
				break;
			assign(c, r, k, j);
			r->fixed[k] = 1;
		}
}

/* Step 1158 (L1010-L1014, L1206-L1220): group priorities, capacity. */
static void
step_groups(struct ctx *c, struct run *r)
{
	const struct cl_names *g;
	int	 x, i, j, k;

	order_all(c, r);
	for (x = 0; x < c->nn; x++) {
		j = c->order[x];
		g = c->n[j]->groups;
		for (i = 0; i < nnames(g); i++)
			for (k = 0; k < c->nv; k++) {
				if (r->at[k] != -1 ||
				    !in_group(c->v[k], g->name[i]))
					continue;
				if (full(c, r, j))
					goto next;
				if (ELIG(c, k, j))
					assign(c, r, k, j);
			}
next:		;
	}
}

/* Step 1160 (L1032, L1222-L1256): exhaust group matches, round robin. */
static void
step_group_levels(struct ctx *c, struct run *r)
{
	const char *g;
	int	 lvl, levels, m, a, b, p, t, j, k;

	levels = 0;
	for (j = 0; j < c->nn; j++)
		if (nnames(c->n[j]->groups) > levels)
			levels = nnames(c->n[j]->groups);
	for (lvl = 0; lvl < levels; lvl++) {
		m = 0;
		for (j = 0; j < c->nn; j++)
			if (nnames(c->n[j]->groups) > lvl)
				c->order[m++] = j;
		sort_nodes(c, r->rc, lvl, c->order, m);
		for (a = 0; a < m; a = b) {
			g = c->n[c->order[a]]->groups->name[lvl];
			for (b = a + 1; b < m && strcmp(g,
			    c->n[c->order[b]]->groups->name[lvl]) == 0; b++)
				;
			p = 0;
			for (k = 0; k < c->nv; k++) {
				if (r->at[k] != -1 || !in_group(c->v[k], g))
					continue;
				for (t = 0; t < b - a; t++) {
					j = c->order[a + (p + t) % (b - a)];
					if (ELIG(c, k, j)) {
						assign(c, r, k, j);
						p = (p + t + 1) % (b - a);
						break;
					}
				}
			}
		}
	}
}

/*
 * Step 1162 (L1052-L1054, L1258-L1272): exhaust capacity.  The seed
 * first drops the volumes that may not migrate (L1262): by now those
 * have no eligible node (step 1160 gave every grouped volume to a node
 * of its group that it shares a domain with), so the eligibility test
 * drops them here.
 */
static void
step_capacity(struct ctx *c, struct run *r)
{
	int	 x, j, k;

	order_all(c, r);
	for (x = 0; x < c->nn; x++) {
		j = c->order[x];
		for (k = 0; k < c->nv; k++) {
			if (r->at[k] != -1)
				continue;
			if (full(c, r, j))
				break;
			if (ELIG(c, k, j))
				assign(c, r, k, j);
		}
	}
}

/* Step 1164 (L1076, L1274-L1284): the rest round robin, any capacity. */
static void
step_round_robin(struct ctx *c, struct run *r)
{
	int	 p, t, j, k;

	order_all(c, r);
	p = 0;
	for (k = 0; k < c->nv; k++) {
		if (r->at[k] != -1)
			continue;
		for (t = 0; t < c->nn; t++) {
			j = c->order[(p + t) % c->nn];
			if (ELIG(c, k, j)) {
				assign(c, r, k, j);
				p = (p + t + 1) % c->nn;
				break;
			}
		}
	}
}

/*
 * Step 1166's candidates for a move from node in to node out
 * (L1098, L1324-L1392): volumes on in that were not matched with their
 * parent (step 1152) nor pinned, and are eligible for out; first those
 * whose group in does not list, then in's groups from the lowest
 * priority to the highest, each by weight ascending (then name).  The
 * count, in c->sub.
 */
static int
subset(struct ctx *c, const struct run *r, int in, int out)
{
	const struct cl_names *g = c->n[in]->groups;
	const struct bvol *x, *y;
	int	 m, k, i, idx, s, u, cx;

	m = 0;
	for (k = 0; k < c->nv; k++) {
		if (r->at[k] != in || r->fixed[k] || !ELIG(c, k, out))
			continue;
		idx = -1;
		for (i = 0; i < nnames(g); i++)
			if (in_group(c->v[k], g->name[i]))
				idx = i;
		c->cls[k] = idx < 0 ? 0 : nnames(g) - idx;
		c->sub[m++] = k;
	}
	for (s = 1; s < m; s++) {
		k = c->sub[s];
		x = c->v[k];
		cx = c->cls[k];
		for (u = s; u > 0; u--) {
			y = c->v[c->sub[u - 1]];
			if (cx > c->cls[c->sub[u - 1]] ||
			    (cx == c->cls[c->sub[u - 1]] &&
			    (x->weight > y->weight || (x->weight == y->weight &&
			    strcmp(x->name, y->name) > 0))))
				break;
			c->sub[u] = c->sub[u - 1];
		}
		c->sub[u] = k;
	}
	return m;
}

/* |1 - min/max| (L1102, L1412-L1419); 0 when both are 0. */
static double
zero_balance(double p, double q)
{
	double	 lo = p < q ? p : q, hi = p < q ? q : p;

	return hi > 0 ? fabs(1 - lo / hi) : 0;
}

/*
 * Does moving weight w from in (remaining a) to out (remaining b) help
 * (L1102, L1399-L1422)?  Yes if the sum of their |remaining| drops; if it stays
 * the same, yes if the two end up closer to each other.
 */
static int
better(const struct ctx *c, double a, double b, double w)
{
	double	 before, after;

	before = fabs(a) + fabs(b);
	after = fabs(a + w) + fabs(b - w);
	if (after < before - c->eps)
		return 1;
	if (after > before + c->eps)
		return 0;
	return zero_balance(fabs(a + w), fabs(b - w)) <
	    zero_balance(fabs(a), fabs(b)) - RATIO_EPS;
}

/* Step 1166's inner loop: out pulls what evens it with in. */
static void
pull(struct ctx *c, struct run *r, int in, int out)
{
	double	 w;
	int	 m, s, k;

	if (fabs(r->rc[in] - r->rc[out]) <= c->eps)
		return;		/* the same node, or balanced (L1315-L1322) */
	m = subset(c, r, in, out);
	for (s = 0; s < m; s++) {
		k = c->sub[s];
		w = c->v[k]->weight;
		if (!better(c, r->rc[in], r->rc[out], w))
			continue;
		r->rc[out] -= w;
		r->rc[in] += w;
		r->at[k] = out;
		if (fabs(r->rc[in] - r->rc[out]) <= c->eps)
			return;
	}
}

/*
 * Step 1166 (L1094-L1104, L1291-L1457): every node (outer) against
 * every other (inner) pulls volumes from inner while that evens them
 * out; a whole round is kept only if it lowers the sum of |remaining
 * capacity|, else undone, and that ends it (L1448-L1455).  The
 * pseudo-code goes on to the next inner node at the first volume that
 * does not move (L1441-L1443); the text has "each volume in the volume
 * subset" evaluated (L1098) and moves on after a move "until there are
 * no more volumes in the volume subset" (L1102): cl does that.
 */
static void
step_hill_climb(struct ctx *c, struct run *r)
{
	size_t	 rcsz = (size_t)c->nn * sizeof(*r->rc);
	size_t	 atsz = (size_t)c->nv * sizeof(*r->at);
	double	 prev, now;
	int	 cycle, x, y;

	prev = spread(c, r->rc);
	for (cycle = 0; cycle < CYCLES_MAX; cycle++) {
		memcpy(c->rcsave, r->rc, rcsz);
		memcpy(c->atsave, r->at, atsz);
		order_all(c, r);
		for (x = 0; x < c->nn; x++)
			for (y = 0; y < c->nn; y++)
				pull(c, r, c->order[y], c->order[x]);
		now = spread(c, r->rc);
		if (prev <= now + c->eps) {
			memcpy(r->rc, c->rcsave, rcsz);
			memcpy(r->at, c->atsave, atsz);
			return;
		}
		prev = now;
	}
}

/* Steps 1150-1166 with the pinned volumes on their nodes first. */
static void
run(struct ctx *c, struct run *r)
{
	int	 j, k;

	for (j = 0; j < c->nn; j++)
		r->rc[j] = c->ideal[j];
	for (k = 0; k < c->nv; k++) {
		r->at[k] = -1;
		r->fixed[k] = r->pin[k] != -1;
		if (r->fixed[k])
			assign(c, r, k, r->pin[k]);
	}
	step_parent(c, r);
	step_groups(c, r);
	step_group_levels(c, r);
	step_capacity(c, r);
	step_round_robin(c, r);
	step_hill_climb(c, r);
}

/*
 * A run's remaining capacities from its assignment alone, the same way
 * whatever the steps did (ideal less the weights in step 1140's order).
 */
static void
settle(const struct ctx *c, struct run *r)
{
	int	 j, k;

	for (j = 0; j < c->nn; j++)
		r->rc[j] = c->ideal[j];
	for (k = 0; k < c->nv; k++)
		if (r->at[k] != -1)
			r->rc[r->at[k]] -= c->v[k]->weight;
}

/* Is full's spread lower than keep's by more than h x total weight? */
static int
gain(const struct ctx *c, const struct run *keep, const struct run *full,
    double h)
{
	return spread(c, keep->rc) - spread(c, full->rc) >
	    h * c->tvol + c->eps;
}

static int
find_node(const struct ctx *c, uint32_t id)
{
	int	 lo = 0, hi = c->nn - 1, mid;

	while (lo <= hi) {
		mid = lo + (hi - lo) / 2;
		if (c->n[mid]->id == id)
			return mid;
		if (c->n[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static int
bad_weight(double w)
{
	return !isfinite(w) || w < 0;
}

/*
 * Hysteresis (issue 8; the seed has none: it detaches every volume and
 * starts over, L924, L1181-L1183).  A volume is kept when its current
 * admin is active and eligible: always if it is not movable (it is
 * pinned in both runs below); if it is, two runs are compared: the full
 * one (only the unmovable volumes pinned) and the one that keeps every
 * kept volume and places only the rest (its orphans) on the capacity
 * left.  The full one wins only if its sum of |remaining capacity| is
 * lower by more than hysteresis x the total volume weight.  Then the
 * same again on the result until nothing moves, so that balance() on
 * its own result moves nothing.
 */
int
balance(struct bnode *nodes, int nn, struct bvol *vols, int nvols,
    double hysteresis)
{
	struct ctx	 c;
	struct run	 ra, rb, *r, *o, *t;
	int		*ints = NULL, *pina, *pinb;
	double		*dbls = NULL, tw;
	int		 j, k, moved, differ, turn, rv = -1;

	memset(&c, 0, sizeof(c));
	if (nn < 0 || nvols < 0 || (nn > 0 && nodes == NULL) ||
	    (nvols > 0 && vols == NULL)) {
		errno = EINVAL;
		return -1;
	}
	for (j = 0; j < nn; j++)
		nodes[j].ideal = nodes[j].remaining = 0;
	for (k = 0; k < nvols; k++)
		vols[k].assigned = vols[k].current;

	c.nn = nn;
	if ((c.n = calloc((size_t)nn + 1, sizeof(*c.n))) == NULL ||
	    (c.all = calloc((size_t)nvols + 1, sizeof(*c.all))) == NULL ||
	    (c.v = calloc((size_t)nvols + 1, sizeof(*c.v))) == NULL ||
	    (c.elig = calloc((size_t)nvols + 1, (size_t)nn + 1)) == NULL ||
	    (ints = calloc((size_t)nvols + 1, 11 * sizeof(int))) == NULL ||
	    (c.order = calloc((size_t)nn + 1, sizeof(*c.order))) == NULL ||
	    (dbls = calloc((size_t)nn + 1, 4 * sizeof(double))) == NULL) {
		errno = ENOMEM;
		goto out;
	}
	c.parent = ints;
	c.kept = c.parent + nvols;
	pina = c.kept + nvols;
	pinb = pina + nvols;
	ra.at = pinb + nvols;
	rb.at = ra.at + nvols;
	c.atsave = rb.at + nvols;
	c.sub = c.atsave + nvols;
	c.cls = c.sub + nvols;
	ra.fixed = c.cls + nvols;
	rb.fixed = ra.fixed + nvols;
	c.ideal = dbls;
	ra.rc = c.ideal + nn;
	rb.rc = ra.rc + nn;
	c.rcsave = rb.rc + nn;

	/* The inputs in a canonical order; ids and names unique. */
	for (j = 0; j < nn; j++) {
		c.n[j] = &nodes[j];
		if (nodes[j].id == 0 || bad_weight(nodes[j].weight))
			goto inval;
	}
	qsort(c.n, (size_t)nn, sizeof(*c.n), nodecmp);
	for (j = 1; j < nn; j++)
		if (c.n[j]->id == c.n[j - 1]->id)
			goto inval;
	for (k = 0; k < nvols; k++) {
		c.all[k] = &vols[k];
		if (vols[k].name == NULL || bad_weight(vols[k].weight))
			goto inval;
	}
	qsort(c.all, (size_t)nvols, sizeof(*c.all), namecmp);
	for (k = 1; k < nvols; k++)
		if (strcmp(c.all[k]->name, c.all[k - 1]->name) == 0)
			goto inval;
	if (isnan(hysteresis) || hysteresis < 0)
		hysteresis = 0;

	/* Steps 1136-1140: the active volumes, in step order. */
	for (k = 0; k < nvols; k++)
		for (j = 0; j < nn; j++)
			if (domains_meet(c.n[j]->domains, c.all[k]->domains)) {
				c.v[c.nv++] = c.all[k];
				break;
			}
	qsort(c.v, (size_t)c.nv, sizeof(*c.v), volcmp);

	/* Steps 1142-1150: total weights, ideal capacities (L810). */
	c.tvol = 0;
	for (k = 0; k < c.nv; k++)
		c.tvol += c.v[k]->weight;
	tw = 0;
	for (j = 0; j < nn; j++)
		tw += c.n[j]->weight;
	for (j = 0; j < nn; j++)
		c.ideal[j] = tw > 0 ? c.n[j]->weight / tw * c.tvol : 0;
	c.eps = 1e-9 * (1 + c.tvol);

	differ = 0;
	for (k = 0; k < c.nv; k++) {
		for (j = 0; j < nn; j++)
			ELIG(&c, k, j) = (unsigned char)
			    balance_eligible(c.n[j], c.v[k]);
		c.parent[k] = find_node(&c, c.v[k]->parent);
		if (c.parent[k] != -1 && !ELIG(&c, k, c.parent[k]))
			c.parent[k] = -1;
		c.kept[k] = c.v[k]->current != 0 ?
		    find_node(&c, c.v[k]->current) : -1;
		if (c.kept[k] != -1 && !ELIG(&c, k, c.kept[k]))
			c.kept[k] = -1;
		pinb[k] = c.kept[k];
		pina[k] = c.v[k]->movable ? -1 : c.kept[k];
		if (pina[k] != pinb[k])
			differ = 1;
	}

	ra.pin = pina;
	run(&c, &ra);
	settle(&c, &ra);
	r = &ra;
	o = &rb;
	if (differ) {
		rb.pin = pinb;
		run(&c, &rb);
		settle(&c, &rb);
		if (!gain(&c, &rb, &ra, hysteresis)) {
			r = &rb;
			o = &ra;
		}
	}

	/*
	 * Idempotence: run again on the result until a run would move
	 * nothing.  The result's volumes are all kept now, so the keep run
	 * is the result itself; the full one pins only the unmovable ones,
	 * among them the orphans just placed, which can change it.  Each
	 * turn lowers the spread by more than the hysteresis.
	 */
	for (turn = 0; turn < TURNS_MAX; turn++) {
		differ = 0;
		for (k = 0; k < c.nv; k++) {
			pina[k] = c.v[k]->movable ? -1 : r->at[k];
			if (pina[k] != r->at[k])
				differ = 1;
		}
		if (!differ)
			break;
		o->pin = pina;
		run(&c, o);
		settle(&c, o);
		if (!gain(&c, r, o, hysteresis))
			break;
		t = r;
		r = o;
		o = t;
	}

	for (j = 0; j < nn; j++) {
		c.n[j]->ideal = c.ideal[j];
		c.n[j]->remaining = r->rc[j];
	}
	for (k = 0; k < nvols; k++)
		vols[k].assigned = 0;
	for (k = 0; k < c.nv; k++)
		if (r->at[k] != -1)
			c.v[k]->assigned = c.n[r->at[k]]->id;
	moved = 0;
	for (k = 0; k < nvols; k++)
		if (vols[k].assigned != vols[k].current)
			moved++;
	rv = moved;
	goto out;
inval:
	errno = EINVAL;
out:
	if (rv == -1) {
		for (j = 0; j < nn; j++)
			nodes[j].ideal = nodes[j].remaining = 0;
		for (k = 0; k < nvols; k++)
			vols[k].assigned = vols[k].current;
	}
	free(c.n);
	free(c.all);
	free(c.v);
	free(c.elig);
	free(ints);
	free(c.order);
	free(dbls);
	return rv;
}

double
balance_spread(const struct bnode *nodes, int n)
{
	double	 s = 0;
	uint32_t last = 0, next;
	int	 i, any;

	/* In id order, so that the caller's order never shows. */
	for (;;) {
		any = 0;
		next = 0;
		for (i = 0; i < n; i++) {
			if (nodes[i].id <= last || (any && nodes[i].id >= next))
				continue;
			next = nodes[i].id;
			any = 1;
		}
		if (!any)
			return s;
		for (i = 0; i < n; i++)
			if (nodes[i].id == next)
				s += fabs(nodes[i].remaining);
		last = next;
	}
}
