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
 * clrebalance's assignment (cmd/clrebalance/balance.c), seed 002 FIG
 * 10D, linked alone.  Checks are named for the seed 002 behaviour they
 * cover (../shared/seed-notes/002.md, section 5) where one fits; the
 * hysteresis, determinism and idempotence checks are issue 8's.
 */

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "balance.h"
#include "unit.h"

#define FX_MAX	64

/* A cluster: node and volume records, and the names they point to. */
struct fx {
	int		 nn, nv;
	struct bnode	 n[FX_MAX];
	struct cl_names	 ng[FX_MAX], nd[FX_MAX];
	struct bvol	 v[FX_MAX];
	char		 vname[FX_MAX][16], vgroup[FX_MAX][16];
	struct cl_names	 vd[FX_MAX];
};

/* "a,b,c" into l ("" none). */
static void
names(struct cl_names *l, const char *csv)
{
	const char	*p = csv, *e;
	size_t		 len;

	memset(l, 0, sizeof(*l));
	while (*p != '\0' && l->n < CONF_GROUPS_MAX) {
		e = strchr(p, ',');
		len = e != NULL ? (size_t)(e - p) : strlen(p);
		if (len >= CONF_NAME_MAX)
			len = CONF_NAME_MAX - 1;
		memcpy(l->name[l->n], p, len);
		l->name[l->n++][len] = '\0';
		if (e == NULL)
			break;
		p = e + 1;
	}
}

static void
fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
}

static void
fx_node(struct fx *f, uint32_t id, double w, const char *groups,
    const char *domains)
{
	int	 i = f->nn++;

	names(&f->ng[i], groups);
	names(&f->nd[i], domains);
	f->n[i].id = id;
	f->n[i].weight = w;
	f->n[i].groups = &f->ng[i];
	f->n[i].domains = &f->nd[i];
}

static struct bvol *
fx_vol(struct fx *f, const char *name, double w, const char *group,
    uint32_t parent, int migrate, const char *domains)
{
	int	 i = f->nv++;

	(void)snprintf(f->vname[i], sizeof(f->vname[i]), "%s", name);
	(void)snprintf(f->vgroup[i], sizeof(f->vgroup[i]), "%s", group);
	names(&f->vd[i], domains);
	f->v[i].name = f->vname[i];
	f->v[i].weight = w;
	f->v[i].group = f->vgroup[i];
	f->v[i].parent = parent;
	f->v[i].migrate = migrate;
	f->v[i].domains = &f->vd[i];
	return &f->v[i];
}

static struct bvol *
vol(struct fx *f, const char *name)
{
	int	 i;

	for (i = 0; i < f->nv; i++)
		if (strcmp(f->v[i].name, name) == 0)
			return &f->v[i];
	return NULL;
}

static struct bnode *
node(struct fx *f, uint32_t id)
{
	int	 i;

	for (i = 0; i < f->nn; i++)
		if (f->n[i].id == id)
			return &f->n[i];
	return NULL;
}

static uint32_t
admin(struct fx *f, const char *name)
{
	struct bvol	*v = vol(f, name);

	return v != NULL ? v->assigned : UINT32_MAX;
}

/* The next round starts from this one's result. */
static void
commit(struct fx *f)
{
	int	 i;

	for (i = 0; i < f->nv; i++)
		f->v[i].current = f->v[i].assigned;
}

static void
movable(struct fx *f, int m)
{
	int	 i;

	for (i = 0; i < f->nv; i++)
		f->v[i].movable = m;
}

/* Sum of the weights node id administers. */
static double
load(struct fx *f, uint32_t id)
{
	double	 s = 0;
	int	 i;

	for (i = 0; i < f->nv; i++)
		if (f->v[i].assigned == id)
			s += f->v[i].weight;
	return s;
}

static int
near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

static void
show(struct fx *f)
{
	int	 i;

	for (i = 0; i < f->nn; i++)
		unit_diag("node %u ideal %g remaining %g", f->n[i].id,
		    f->n[i].ideal, f->n[i].remaining);
	for (i = 0; i < f->nv; i++)
		unit_diag("vol %s current %u assigned %u", f->v[i].name,
		    f->v[i].current, f->v[i].assigned);
}

/* Every assigned volume is on a node given and eligible there. */
static int
all_eligible(struct fx *f)
{
	struct bnode	*n;
	int		 i;

	for (i = 0; i < f->nv; i++) {
		if (f->v[i].assigned == 0)
			continue;
		if ((n = node(f, f->v[i].assigned)) == NULL ||
		    !balance_eligible(n, &f->v[i]))
			return 0;
	}
	return 1;
}

/*
 * Seed 002 Tables 3-5 (L784-L853): four volumes, all migrate, domain
 * ALL; CFN1 (weight 1, Eng) alone at t=0, CFN2 (1, Sales) joins at
 * t=1, CFN3 (4, Acct) at t=2.  Table 5 shows Backups in group "Eng."
 * where Tables 3-4 say "Any"; the group does not change the result
 * (its parent CFN3 takes it), so it stays "Any" here.
 */
static void
tables_3_5(void)
{
	static struct fx f;
	int		 rv;

	fx_init(&f);
	fx_node(&f, 1, 1, "Eng.", "ALL");
	fx_vol(&f, "Source Code", 2, "Eng.", 1, 1, "ALL");
	fx_vol(&f, "Finance", 2, "Acct.", 3, 1, "ALL");
	fx_vol(&f, "Contacts", 2, "Sales", 2, 1, "ALL");
	fx_vol(&f, "Backups", 1, "Any", 3, 1, "ALL");
	movable(&f, 1);

	/* t=0, Table 3: CFN1 administers everything. */
	rv = balance(f.n, f.nn, f.v, f.nv, 0.2);
	CHECK(rv == 4 && admin(&f, "Source Code") == 1 &&
	    admin(&f, "Finance") == 1 && admin(&f, "Contacts") == 1 &&
	    admin(&f, "Backups") == 1,
	    "seed002#36: Table 3 (t=0): CFN1 alone administers all four");
	CHECK(near(f.n[0].ideal, 7) && near(f.n[0].remaining, 0),
	    "seed002#32: t=0: CFN1's ideal capacity is the total, 7");
	commit(&f);

	/* t=1, Table 4. */
	fx_node(&f, 2, 1, "Sales", "ALL");
	rv = balance(f.n, f.nn, f.v, f.nv, 0.2);
	CHECK(near(node(&f, 1)->ideal, 3.5) && near(node(&f, 2)->ideal, 3.5),
	    "seed002#32: t=1: ideal capacity 3.5 each (L832)");
	CHECK(admin(&f, "Source Code") == 1 && admin(&f, "Finance") == 2 &&
	    admin(&f, "Contacts") == 2 && admin(&f, "Backups") == 1,
	    "seed002#36: Table 4 (t=1): CFN1 {Source Code, Backups}, "
	    "CFN2 {Finance, Contacts}");
	CHECK(rv == 2 && near(load(&f, 1), 3) && near(load(&f, 2), 4),
	    "seed002#36: t=1: 3 (42%) and 4 (57%), two volumes moved");
	if (!(rv == 2 && admin(&f, "Finance") == 2 &&
	    admin(&f, "Backups") == 1))
		show(&f);
	commit(&f);

	/* t=2, Table 5: parent preference beats the weights. */
	fx_node(&f, 3, 4, "Acct.", "ALL");
	rv = balance(f.n, f.nn, f.v, f.nv, 0.2);
	CHECK(near(node(&f, 1)->ideal, 7.0 / 6) &&
	    near(node(&f, 2)->ideal, 7.0 / 6) &&
	    near(node(&f, 3)->ideal, 28.0 / 6),
	    "seed002#32: t=2: ideal capacities 7/6, 7/6, 28/6");
	CHECK(admin(&f, "Source Code") == 1 && admin(&f, "Finance") == 3 &&
	    admin(&f, "Contacts") == 2 && admin(&f, "Backups") == 3,
	    "seed002#36: Table 5 (t=2): CFN1 {Source Code}, CFN2 "
	    "{Contacts}, CFN3 {Finance, Backups}");
	CHECK(rv == 2 && near(load(&f, 1), 2) && near(load(&f, 2), 2) &&
	    near(load(&f, 3), 3),
	    "seed002#36: t=2: 2 (28%), 2 (28%), 3 (42%), two moved");
	CHECK(near(balance_spread(f.n, f.nn), 2 * (2 - 7.0 / 6) +
	    (28.0 / 6 - 3)),
	    "seed002#31: t=2: CFN1 and CFN2 over their ideal, on parents");
	if (rv != 2)
		show(&f);

	/* Each table again from scratch (nobody current): the same. */
	movable(&f, 0);
	commit(&f);
	f.v[0].current = f.v[1].current = f.v[2].current =
	    f.v[3].current = 0;
	rv = balance(f.n, f.nn, f.v, f.nv, 0.2);
	CHECK(rv == 4 && admin(&f, "Source Code") == 1 &&
	    admin(&f, "Finance") == 3 && admin(&f, "Contacts") == 2 &&
	    admin(&f, "Backups") == 3,
	    "seed002#36: Table 5 from no assignment: the same");
	f.nn = 2;
	commit(&f);
	f.v[0].current = f.v[1].current = f.v[2].current =
	    f.v[3].current = 0;
	rv = balance(f.n, f.nn, f.v, f.nv, 0.2);
	CHECK(rv == 4 && admin(&f, "Source Code") == 1 &&
	    admin(&f, "Finance") == 2 && admin(&f, "Contacts") == 2 &&
	    admin(&f, "Backups") == 1,
	    "seed002#36: Table 4 from no assignment: the same");
}

/* Seed 002 Tables 6-7 (L937-L995): 31 volumes, CFN1-10 active. */
static void
tables_6_7(struct fx *f)
{
	static const struct {
		const char	*name;
		double		 w;
		const char	*grp, *dom;
		uint32_t	 parent;
		int		 migrate;
	} t6[] = {
		{ "e1", 5, "eng", "ca", 1, 1 },
		{ "e2", 5, "eng", "ca", 11, 1 },
		{ "e3", 2, "eng", "ca", 11, 1 },
		{ "e4", 2, "eng", "ca", 12, 1 },
		{ "e5", 1, "eng", "tx", 12, 1 },
		{ "e6", 1, "eng", "ga", 13, 1 },
		{ "e7", 1, "eng", "mi", 13, 1 },
		{ "e8", 1, "eng", "ca", 13, 1 },
		{ "a1", 3, "act", "ca", 14, 1 },
		{ "a2", 2, "act", "ca", 2, 1 },
		{ "a3", 1, "act", "ca", 14, 1 },
		{ "a4", 1, "act", "tx", 15, 1 },
		{ "s1", 7, "sal", "tx", 15, 1 },
		{ "s2", 7, "sal", "ca", 3, 1 },
		{ "s3", 6, "sal", "ca", 16, 1 },
		{ "s4", 3, "sal", "ga", 16, 1 },
		{ "o1", 19, "ops", "ga", 17, 1 },
		{ "o2", 19, "ops", "ca", 17, 1 },
		{ "o3", 19, "ops", "ny", 18, 1 },
		{ "o4", 7, "ops", "ga", 19, 1 },
		{ "o5", 3, "ops", "ga", 19, 1 },
		{ "g1", 3, "g&a", "ny", 19, 1 },
		{ "g2", 3, "g&a", "ny", 19, 1 },
		{ "g3", 2, "g&a", "ca", 4, 1 },
		{ "g4", 1, "g&a", "mi", 19, 1 },
		{ "m1", 10, "mkt", "ca", 19, 1 },
		{ "m2", 9, "mkt", "tx", 19, 1 },
		{ "m3", 5, "mkt", "ny", 19, 1 },
		{ "m4", 1, "mkt", "mi", 20, 1 },
		{ "m5", 3, "mkt", "ca", 20, 0 },
		{ "m6", 2, "mkt", "ca", 20, 1 },
	};
	size_t	 i;

	fx_init(f);
	fx_node(f, 1, 2, "eng,sal,ops", "ca,ny");
	fx_node(f, 2, 1, "act,sal", "ca,tx,ga,ny");
	fx_node(f, 3, 1, "sal,eng,ops", "ca,tx,ga,ny");
	fx_node(f, 4, 1, "g&a,eng", "ca,tx,ga,ny");
	fx_node(f, 5, 3, "act", "ga");
	fx_node(f, 6, 1, "act", "ca,tx,ga,ny");
	fx_node(f, 7, 2, "act", "ga");
	fx_node(f, 8, 2, "act,sal,ops", "ca,tx,ga,ny");
	fx_node(f, 9, 2, "act", "ga");
	fx_node(f, 10, 1, "act", "ca,tx,ga,ny");
	for (i = 0; i < sizeof(t6) / sizeof(t6[0]); i++)
		fx_vol(f, t6[i].name, t6[i].w, t6[i].grp, t6[i].parent,
		    t6[i].migrate, t6[i].dom);
}

static void
tables_6_12(void)
{
	static struct fx f;
	double		 before, after;
	int		 i, ok, rv;

	tables_6_7(&f);
	rv = balance(f.n, f.nn, f.v, f.nv, 0.2);
	CHECK(rv >= 0, "Tables 6-12: balance runs");
	ok = 1;
	for (i = 0; i < f.nn; i++)
		if (!near(f.n[i].ideal, 151.0 / 16 * f.n[i].weight))
			ok = 0;
	CHECK(ok, "seed002#32: Table 7: ideal capacity 151/16 = 9.44 per "
	    "unit of node weight (MI volumes are not active)");
	CHECK(admin(&f, "e7") == 0 && admin(&f, "g4") == 0 &&
	    admin(&f, "m4") == 0,
	    "seed002#29: e7, g4, m4 (domain mi, no active node) unassigned");
	CHECK(admin(&f, "m5") == 0,
	    "seed002#30: m5 (mkt, may not migrate, no node lists mkt) "
	    "unassigned");
	CHECK(admin(&f, "e1") == 1 && admin(&f, "a2") == 2 &&
	    admin(&f, "s2") == 3 && admin(&f, "g3") == 4,
	    "seed002#31: Table 7: e1, a2, s2, g3 on their parents "
	    "CFN1-CFN4");
	CHECK(all_eligible(&f),
	    "seed002#29: every volume on a node it shares a domain with");
	ok = 1;
	for (i = 0; i < f.nv; i++)
		if (f.v[i].assigned == 0 && strcmp(f.v[i].name, "e7") != 0 &&
		    strcmp(f.v[i].name, "g4") != 0 &&
		    strcmp(f.v[i].name, "m4") != 0 &&
		    strcmp(f.v[i].name, "m5") != 0)
			ok = 0;
	CHECK(ok, "seed002#1: every other volume has one admin, an active "
	    "node");
	/*
	 * Sum |RC| is 129.13 in Table 11 (before step 1166) and 74.88 in
	 * Table 12 (after one round of it); Tables 8-12 are not exactly
	 * reproducible (seed-notes/002.md), but cl's result is no worse.
	 */
	after = balance_spread(f.n, f.nn);
	CHECKF(after < 74.88, "seed002#33: the spread ends below Table "
	    "12's 74.88 (%.2f)", after);
	if (!ok || after >= 74.88)
		show(&f);

	/* The group-priority steps: the ga-only act nodes get ga volumes. */
	before = 0;
	for (i = 0; i < f.nv; i++)
		if (f.v[i].assigned == 5 || f.v[i].assigned == 7 ||
		    f.v[i].assigned == 9)
			before += f.v[i].weight;
	CHECKF(before > 0, "seed002#34: CFN5/7/9 (ga only) take ga volumes "
	    "in step 1166 (%g)", before);
}

/* Issue 8: 3 nodes, 3 file systems, node 1 preferred for all. */
static void
spread_even(void)
{
	static struct fx f;
	int		 rv;

	fx_init(&f);
	fx_node(&f, 1, 1, "", "");
	fx_node(&f, 2, 1, "", "");
	fx_node(&f, 3, 1, "", "");
	fx_vol(&f, "fs1", 1, "", 1, 1, "");
	fx_vol(&f, "fs2", 1, "", 1, 1, "");
	fx_vol(&f, "fs3", 1, "", 1, 1, "");
	rv = balance(f.n, f.nn, f.v, f.nv, 0.2);
	CHECK(rv == 3 && near(load(&f, 1), 1) && near(load(&f, 2), 1) &&
	    near(load(&f, 3), 1),
	    "seed002#32: equal weights, node 1 preferred by all three: one "
	    "each (the volume limit, L810-L816)");
	CHECK(admin(&f, "fs1") == 1,
	    "seed002#31: node 1 takes the first that prefers it");
	CHECK(near(balance_spread(f.n, f.nn), 0), "spread 0");
	if (rv != 3)
		show(&f);

	/* Weights 2:1: a 2:1 split of six equal volumes. */
	fx_init(&f);
	fx_node(&f, 1, 2, "", "");
	fx_node(&f, 2, 1, "", "");
	fx_vol(&f, "a", 1, "", 0, 1, "");
	fx_vol(&f, "b", 1, "", 0, 1, "");
	fx_vol(&f, "c", 1, "", 0, 1, "");
	fx_vol(&f, "d", 1, "", 0, 1, "");
	fx_vol(&f, "e", 1, "", 0, 1, "");
	fx_vol(&f, "f", 1, "", 0, 1, "");
	(void)balance(f.n, f.nn, f.v, f.nv, 0.2);
	CHECK(near(node(&f, 1)->ideal, 4) && near(node(&f, 2)->ideal, 2) &&
	    near(load(&f, 1), 4) && near(load(&f, 2), 2),
	    "seed002#32: node weights 2:1: six volumes split 4:2");

	/* Weights 2:1:1 and volumes 3,1,1,1,1,1 (total 8): 4, 2, 2. */
	fx_init(&f);
	fx_node(&f, 1, 2, "", "");
	fx_node(&f, 2, 1, "", "");
	fx_node(&f, 3, 1, "", "");
	fx_vol(&f, "big", 3, "", 2, 1, "");
	fx_vol(&f, "v1", 1, "", 0, 1, "");
	fx_vol(&f, "v2", 1, "", 0, 1, "");
	fx_vol(&f, "v3", 1, "", 0, 1, "");
	fx_vol(&f, "v4", 1, "", 0, 1, "");
	fx_vol(&f, "v5", 1, "", 0, 1, "");
	(void)balance(f.n, f.nn, f.v, f.nv, 0.2);
	CHECK(admin(&f, "big") == 2 && near(load(&f, 1), 4) &&
	    near(load(&f, 2), 3) && near(load(&f, 3), 1),
	    "seed002#31: a weight-3 volume stays on its parent, which is "
	    "over its ideal 2; node 1 gets 4");
	if (!(near(load(&f, 1), 4) && near(load(&f, 3), 1)))
		show(&f);
}

/* Step 1166 moves light volumes off an overloaded node (L1387-L1422). */
static void
hill_climb(void)
{
	static struct fx f;

	/*
	 * Only node 1 lists group g, so steps 1158-1160 give it all four
	 * (7 against an ideal of 3.5); step 1166 moves the light ones,
	 * lightest first, to node 2 while |rc1| + |rc2| drops.
	 */
	fx_init(&f);
	fx_node(&f, 1, 1, "g", "");
	fx_node(&f, 2, 1, "", "");
	fx_vol(&f, "a", 4, "g", 0, 1, "");
	fx_vol(&f, "b", 1, "g", 0, 1, "");
	fx_vol(&f, "c", 1, "g", 0, 1, "");
	fx_vol(&f, "d", 1, "g", 0, 1, "");
	(void)balance(f.n, f.nn, f.v, f.nv, 0);
	CHECK(admin(&f, "a") == 1 && admin(&f, "b") == 2 &&
	    admin(&f, "c") == 2 && admin(&f, "d") == 2,
	    "seed002#34: step 1166 moves b, c, d (1 each) to the idle node");
	CHECK(near(node(&f, 1)->remaining, -0.5) &&
	    near(node(&f, 2)->remaining, 0.5),
	    "seed002#33: remaining capacities -0.5 and 0.5 (spread 1)");

	/*
	 * a, c, d prefer node 1 (ideal 2): the parent step gives it a and
	 * c, then it is full; b (may not migrate) and d reach it by step
	 * 1160.  Step 1166 moves d, not matched with its parent by step
	 * 1152, and never b, which node 2 may not take.
	 */
	fx_init(&f);
	fx_node(&f, 1, 1, "g", "");
	fx_node(&f, 2, 1, "", "");
	fx_vol(&f, "a", 1, "g", 1, 1, "");
	fx_vol(&f, "b", 1, "g", 0, 0, "");
	fx_vol(&f, "c", 1, "g", 1, 1, "");
	fx_vol(&f, "d", 1, "g", 1, 1, "");
	(void)balance(f.n, f.nn, f.v, f.nv, 0);
	CHECK(admin(&f, "a") == 1 && admin(&f, "c") == 1,
	    "seed002#31: the parent takes what prefers it up to its ideal");
	CHECK(admin(&f, "b") == 1,
	    "seed002#30: step 1166 never moves a volume out of its group "
	    "when it may not migrate");
	CHECK(admin(&f, "d") == 2,
	    "seed002#34: d, on its parent only by step 1160, moves");
}

/* Eligibility: domains and groups (L633-L637). */
static void
eligibility(void)
{
	static struct fx f;
	struct bvol	*v;

	fx_init(&f);
	fx_node(&f, 1, 1, "eng", "la");
	fx_node(&f, 2, 1, "sales", "ny");
	fx_node(&f, 3, 1, "", "");			/* every domain */
	fx_vol(&f, "la1", 1, "", 2, 1, "la");		/* parent 2: no */
	fx_vol(&f, "la2", 1, "", 0, 1, "la");
	fx_vol(&f, "ny1", 1, "", 0, 1, "ny");
	fx_vol(&f, "sf", 1, "", 2, 1, "sf");		/* only node 3 */
	fx_vol(&f, "eng", 5, "eng", 3, 0, "ny");	/* no node: eng+ny */
	fx_vol(&f, "sal", 5, "sales", 0, 0, "");
	fx_vol(&f, "any", 1, "", 0, 0, "la,ny");
	(void)balance(f.n, f.nn, f.v, f.nv, 0);
	CHECK(admin(&f, "la1") != 2 && admin(&f, "la2") != 2 &&
	    admin(&f, "ny1") != 1 && admin(&f, "sf") == 3,
	    "seed002#29: never on a node without a shared domain (a "
	    "parent that is not one is passed over)");
	CHECK(admin(&f, "eng") == 0,
	    "seed002#30: a volume that may not migrate, with no node of "
	    "its group in its domain, stays unassigned");
	CHECK(admin(&f, "sal") == 2,
	    "seed002#30: sal (may not migrate) goes to the node of its "
	    "group, sales");
	CHECK(admin(&f, "any") != 0,
	    "a volume with no group is not held by migrate = false");
	CHECK(all_eligible(&f), "seed002#29: every assignment eligible");

	/* An empty domain list on the volume: every node. */
	fx_init(&f);
	fx_node(&f, 1, 1, "", "la");
	fx_node(&f, 2, 1, "", "ny");
	v = fx_vol(&f, "x", 1, "", 2, 1, "");
	(void)balance(f.n, f.nn, f.v, f.nv, 0);
	CHECK(v->assigned == 2,
	    "empty volume domains match every node (its parent takes it)");
	fx_init(&f);
	fx_node(&f, 1, 1, "", "la");
	v = fx_vol(&f, "x", 1, "", 0, 1, "ny");
	v->current = 1;
	CHECK(balance(f.n, f.nn, f.v, f.nv, 0) == 1 && v->assigned == 0 &&
	    near(f.n[0].ideal, 0),
	    "seed002#29: a volume no node shares a domain with is not "
	    "active: unassigned, not in the total");
}

/* Node removal and return, with hysteresis. */
static void
hysteresis(void)
{
	static struct fx f;
	uint32_t	 before[FX_MAX];
	int		 i, rv, others;

	fx_init(&f);
	fx_node(&f, 1, 1, "", "");
	fx_node(&f, 2, 1, "", "");
	fx_node(&f, 3, 1, "", "");
	fx_vol(&f, "a", 1, "", 0, 1, "");
	fx_vol(&f, "b", 2, "", 0, 1, "");
	fx_vol(&f, "c", 1, "", 0, 1, "");
	fx_vol(&f, "d", 3, "", 0, 1, "");
	fx_vol(&f, "e", 1, "", 0, 1, "");
	fx_vol(&f, "f", 1, "", 0, 1, "");
	(void)balance(f.n, f.nn, f.v, f.nv, 0.2);
	commit(&f);
	for (i = 0; i < f.nv; i++)
		before[i] = f.v[i].current;

	/* Node 2 leaves: only what it had moves (movable 0). */
	f.n[1] = f.n[2];
	f.nn = 2;
	for (i = 0; i < f.nv; i++)
		if (f.v[i].current == 2)
			f.v[i].current = 0;	/* the caller's view */
	movable(&f, 0);
	rv = balance(f.n, f.nn, f.v, f.nv, 0.2);
	others = 0;
	for (i = 0; i < f.nv; i++) {
		if (before[i] != 2 && f.v[i].assigned != before[i])
			others++;
		if (before[i] == 2 && f.v[i].assigned == 0)
			others++;
	}
	CHECKF(others == 0 && rv > 0,
	    "hysteresis: node 2 leaves: only its %d volume(s) move", rv);
	CHECK(all_eligible(&f), "hysteresis: orphans placed on survivors");

	/* Movable, but the gain is under the threshold: still only those. */
	for (i = 0; i < f.nv; i++)
		f.v[i].current = before[i] == 2 ? 0 : before[i];
	movable(&f, 1);
	(void)balance(f.n, f.nn, f.v, f.nv, 10);
	others = 0;
	for (i = 0; i < f.nv; i++)
		if (before[i] != 2 && f.v[i].assigned != before[i])
			others++;
	CHECK(others == 0,
	    "hysteresis: movable, gain below hysteresis x total: orphans only");

	/* Node 2 returns: nothing moves unless movable. */
	commit(&f);
	fx_node(&f, 2, 1, "", "");
	movable(&f, 0);
	rv = balance(f.n, f.nn, f.v, f.nv, 0.2);
	CHECK(rv == 0 && near(load(&f, 2), 0),
	    "hysteresis: node 2 returns, nothing movable: nothing moves");
	movable(&f, 1);
	rv = balance(f.n, f.nn, f.v, f.nv, 0.2);
	CHECKF(rv > 0 && load(&f, 2) > 0,
	    "hysteresis: node 2 returns, movable, the gain is above 0.2 x "
	    "total: %d move to it", rv);
	CHECK(balance_spread(f.n, f.nn) < 1e-9 + 3,
	    "hysteresis: the moves lower the spread");

	/* A gain under the threshold: keep. */
	fx_init(&f);
	fx_node(&f, 1, 1, "", "");
	fx_node(&f, 2, 1, "", "");
	fx_vol(&f, "a", 5, "", 0, 1, "")->current = 1;
	fx_vol(&f, "b", 4, "", 0, 1, "")->current = 2;
	fx_vol(&f, "c", 1, "", 0, 1, "")->current = 2;
	fx_vol(&f, "d", 2, "", 0, 1, "")->current = 1;
	/* Now 7 : 5 (spread 2); 6 : 6 is possible (a+c, b+d). */
	movable(&f, 1);
	rv = balance(f.n, f.nn, f.v, f.nv, 0.2);
	CHECK(rv == 0, "hysteresis: spread 2 -> 0 is under 0.2 x 12: "
	    "nothing moves");
	rv = balance(f.n, f.nn, f.v, f.nv, 0.1);
	CHECKF(rv > 0 && near(balance_spread(f.n, f.nn), 0),
	    "hysteresis 0.1 (1.2 < 2): %d move, spread 0", rv);
}

/* xorshift32: the same shuffles on every libc. */
static uint32_t	 rng = 2463534242u;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng % n;
}

static void
shuffle(struct fx *f)
{
	struct bnode	 tn;
	struct bvol	 tv;
	int		 i, j;

	for (i = f->nn - 1; i > 0; i--) {
		j = (int)rnd((uint32_t)i + 1);
		tn = f->n[i];
		f->n[i] = f->n[j];
		f->n[j] = tn;
	}
	for (i = f->nv - 1; i > 0; i--) {
		j = (int)rnd((uint32_t)i + 1);
		tv = f->v[i];
		f->v[i] = f->v[j];
		f->v[j] = tv;
	}
}

/* Does g give every node and volume what f does (bit for bit)? */
static int
same(struct fx *f, struct fx *g)
{
	struct bnode	*n;
	struct bvol	*v;
	int		 i;

	for (i = 0; i < f->nn; i++)
		if ((n = node(g, f->n[i].id)) == NULL ||
		    memcmp(&n->ideal, &f->n[i].ideal, sizeof(double)) != 0 ||
		    memcmp(&n->remaining, &f->n[i].remaining,
		    sizeof(double)) != 0)
			return 0;
	for (i = 0; i < f->nv; i++)
		if ((v = vol(g, f->v[i].name)) == NULL ||
		    v->assigned != f->v[i].assigned)
			return 0;
	return 1;
}

/* A random cluster: groups, domains, weights, parents, currents. */
static void
random_fx(struct fx *f, int mov)
{
	static const char *grp[] = { "", "a", "b", "c" };
	static const char *gl[] = { "", "a", "b", "a,b", "b,c,a", "c" };
	static const char *dl[] = { "", "x", "y", "x,y", "z" };
	static const double wt[] = { 0.5, 1, 1, 2, 3, 0.1 };
	char		 name[16];
	int		 i, nn, nv;

	fx_init(f);
	nn = 1 + (int)rnd(8);
	nv = 1 + (int)rnd(16);
	for (i = 0; i < nn; i++)
		fx_node(f, 1 + (uint32_t)i * 3 + rnd(3), wt[rnd(6)],
		    gl[rnd(6)], dl[rnd(5)]);
	for (i = 0; i < nv; i++) {
		(void)snprintf(name, sizeof(name), "fs%d", i);
		fx_vol(f, name, wt[rnd(6)], grp[rnd(4)], rnd(3 * 8 + 4),
		    rnd(4) != 0, dl[rnd(5)]);
		f->v[i].current = rnd(3 * 8 + 4);
		f->v[i].movable = mov < 0 ? (int)rnd(2) : mov;
	}
}

static void
determinism(void)
{
	static struct fx f, g;
	int		 c, i, ok, bad;

	bad = 0;
	tables_6_7(&f);
	for (i = 0; i < f.nv; i++)
		f.v[i].current = 1 + (uint32_t)i % 12;
	(void)balance(f.n, f.nn, f.v, f.nv, 0.2);
	for (i = 0; i < 100; i++) {
		g = f;
		shuffle(&g);
		(void)balance(g.n, g.nn, g.v, g.nv, 0.2);
		if (!same(&f, &g))
			bad++;
	}
	CHECKF(bad == 0, "determinism: Tables 6-7 shuffled 100 times: the "
	    "same result (%d differ)", bad);

	ok = 1;
	for (c = 0; c < 200 && ok; c++) {
		random_fx(&f, -1);
		(void)balance(f.n, f.nn, f.v, f.nv, 0.2);
		for (i = 0; i < 100; i++) {
			g = f;
			shuffle(&g);
			(void)balance(g.n, g.nn, g.v, g.nv, 0.2);
			if (!same(&f, &g)) {
				ok = 0;
				unit_diag("random cluster %d differs", c);
				break;
			}
		}
		if (!all_eligible(&f)) {
			ok = 0;
			unit_diag("random cluster %d: ineligible", c);
		}
	}
	CHECK(ok, "determinism: 200 random clusters, each shuffled 100 "
	    "times: the same result; every assignment eligible");
}

static void
idempotence(void)
{
	static struct fx f;
	int		 c, m, rv, bad;
	double		 h;

	tables_6_7(&f);
	movable(&f, 1);
	(void)balance(f.n, f.nn, f.v, f.nv, 0.2);
	commit(&f);
	rv = balance(f.n, f.nn, f.v, f.nv, 0.2);
	CHECK(rv == 0, "idempotence: Tables 6-7 balanced again: nothing "
	    "moves");
	rv = balance(f.n, f.nn, f.v, f.nv, 0);
	CHECK(rv == 0, "idempotence: and with hysteresis 0");

	for (m = -1; m <= 1; m++) {
		bad = 0;
		for (c = 0; c < 500; c++) {
			h = c % 2 == 0 ? 0.2 : 0;
			random_fx(&f, m);
			(void)balance(f.n, f.nn, f.v, f.nv, h);
			commit(&f);
			if ((rv = balance(f.n, f.nn, f.v, f.nv, h)) != 0)
				bad++;
		}
		CHECKF(bad == 0, "idempotence: 500 random clusters, movable "
		    "%s: a second run moves nothing (%d did)",
		    m < 0 ? "mixed" : m ? "1" : "0", bad);
	}
}

static void
errors(void)
{
	static struct fx f;

	fx_init(&f);
	fx_node(&f, 1, 1, "", "");
	fx_node(&f, 1, 1, "", "");
	fx_vol(&f, "a", 1, "", 0, 1, "")->current = 1;
	errno = 0;
	CHECK(balance(f.n, f.nn, f.v, f.nv, 0) == -1 && errno == EINVAL &&
	    f.v[0].assigned == 1, "a node id twice: EINVAL, nothing moves");
	fx_init(&f);
	fx_node(&f, 1, 1, "", "");
	fx_vol(&f, "a", 1, "", 0, 1, "");
	fx_vol(&f, "a", 1, "", 0, 1, "");
	CHECK(balance(f.n, f.nn, f.v, f.nv, 0) == -1 && errno == EINVAL,
	    "a volume name twice: EINVAL");
	fx_init(&f);
	fx_node(&f, 1, NAN, "", "");
	CHECK(balance(f.n, f.nn, f.v, f.nv, 0) == -1 && errno == EINVAL,
	    "a weight that is not a number: EINVAL");
	fx_init(&f);
	fx_vol(&f, "a", 1, "", 0, 1, "")->current = 3;
	CHECK(balance(f.n, 0, f.v, f.nv, 0) == 1 && f.v[0].assigned == 0,
	    "no nodes: every volume unassigned");
	CHECK(balance(NULL, 0, NULL, 0, 0) == 0, "nothing at all: 0");
}

int
main(void)
{
	tables_3_5();
	tables_6_12();
	spread_even();
	hill_climb();
	eligibility();
	hysteresis();
	determinism();
	idempotence();
	errors();
	return unit_done();
}
