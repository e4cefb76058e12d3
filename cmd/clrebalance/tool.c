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
 * clrebalance now | plan | status.  now is seed 002's active rebalance
 * on demand: this tool becomes the temporary master itself (round.c),
 * waiting in line while another holds the lock (FIG 10B: a node that
 * finds the lock held is queued).  plan computes and writes nothing.
 */

#include <err.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clrebalance.h"
#include "loop.h"

static void
node_str(uint32_t n, char *buf, size_t len)
{
	if (n == 0)
		(void)strlcpy(buf, "-", len);
	else
		(void)snprintf(buf, len, "%u", n);
}

static int
status(struct dbc *d, const struct cl_conf *c)
{
	struct rb_assign a;
	char		 v[1100], admin[16], as[16];
	unsigned int	 n;
	unsigned long long e;
	int		 i, rc;

	if (rb_read(d, c, &a) == -1)
		errx(1, "%s", d->error);
	(void)printf("assignment ver=%llu epoch=%llu master=%u\n",
	    (unsigned long long)a.ver, (unsigned long long)a.epoch, a.master);
	for (i = 0; i < c->nvolumes; i++) {
		(void)snprintf(v, sizeof(v), "fs/%s", c->volumes[i].name);
		rc = dbc_get(d, v, v, sizeof(v), NULL);
		(void)strlcpy(admin, "-", sizeof(admin));
		e = 0;
		if (rc == 1 && sscanf(v, "node=%u epoch=%llu", &n, &e) >= 1)
			node_str(n, admin, sizeof(admin));
		node_str(a.node[i], as, sizeof(as));
		(void)printf("fs name=%s assigned=%s admin=%s epoch=%llu "
		    "weight=%g\n", c->volumes[i].name, as, admin, e,
		    c->volumes[i].weight);
	}
	return 0;
}

static int
plan(struct dbc *d, const struct cl_conf *c)
{
	struct dbc_view	 v;
	struct rb_assign a;
	struct rb_result r;
	char		 from[16], to[16];
	int		 i;

	if (dbc_view(d, &v) == -1 || rb_read(d, c, &a) == -1)
		errx(1, "%s", d->error);
	(void)rb_compute(c, &v, &a, RB_ACTIVE, 0, &r);
	for (i = 0; i < c->nnodes; i++)
		if (v.joined[c->nodes[i].id])
			(void)printf("node id=%u weight=%g ideal=%.2f "
			    "remaining=%.2f\n", c->nodes[i].id,
			    c->nodes[i].weight, r.ideal[c->nodes[i].id],
			    r.remaining[c->nodes[i].id]);
	for (i = 0; i < c->nvolumes; i++) {
		node_str(a.node[i], from, sizeof(from));
		node_str(r.node[i], to, sizeof(to));
		(void)printf("%s name=%s from=%s to=%s\n", a.node[i] ==
		    r.node[i] ? "stay" : "move", c->volumes[i].name, from, to);
	}
	(void)printf("plan moves=%d spread=%.2f\n", r.moved, r.spread_after);
	return 0;
}

static int
now(struct dbc *d, const struct cl_conf *c)
{
	struct rb_assign a;
	struct rb_result r;
	uint64_t	 end = clock_ms() + RB_LOCK_MS;
	uint32_t	 held = 0;
	int		 rc, i;

	while ((rc = rb_round(d, c, RB_ACTIVE, 0, &r, &held)) == 0 &&
	    clock_ms() < end)
		clock_sleep_ms(RB_RETRY_MS);
	if (rc == 0)
		errx(1, "lock %s held by node %u for %d ms", RB_LOCK, held,
		    RB_LOCK_MS);
	if (rc == -1)
		errx(1, "%s", d->error);
	if (rb_read(d, c, &a) == -1)
		errx(1, "%s", d->error);
	for (i = 0; i < c->nvolumes; i++)
		(void)printf("assign name=%s node=%u\n", c->volumes[i].name,
		    a.node[i]);
	(void)printf("%s ver=%llu moved=%d\n", r.moved > 0 ? "committed" :
	    "unchanged", (unsigned long long)a.ver, r.moved);
	return 0;
}

int
rb_tool(const struct cl_conf *c, const char *path, int argc, char **argv)
{
	struct dbc	 d;
	int		 rc;

	(void)path;
	if (argc != 1 || (strcmp(argv[0], "now") != 0 &&
	    strcmp(argv[0], "plan") != 0 && strcmp(argv[0], "status") != 0)) {
		(void)fprintf(stderr, "usage: clrebalance [-f file] "
		    "now | plan | status\n");
		return 2;
	}
	if (dbc_open(&d, c) == -1)
		errx(1, "%s", d.error);
	if (strcmp(argv[0], "status") == 0)
		rc = status(&d, c);
	else if (strcmp(argv[0], "plan") == 0)
		rc = plan(&d, c);
	else
		rc = now(&d, c);
	dbc_close(&d);
	return rc;
}
