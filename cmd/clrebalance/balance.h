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

#ifndef BALANCE_H
#define BALANCE_H

#include <stdint.h>

#include "conf.h"

/*
 * The administrative-server assignment of seed 002 FIG 10D, a pure
 * function (balance.c): the active nodes' records (420A-I) and the
 * volume records (440A-L) in, the new current administrative node of
 * every volume (440F-G) out.  Node 420A is id; the groups and domains
 * lists are the configuration's (an empty domain list matches every
 * domain; a volume group "" is no group and never restricts).
 */
struct bnode {
	uint32_t		 id;
	double			 weight;	/* 420B */
	const struct cl_names	*groups;	/* 420F, in priority order */
	const struct cl_names	*domains;	/* 420G */
	double			 ideal, remaining;	/* out: 420H, 420I */
};

struct bvol {
	const char		*name;
	double			 weight;	/* 440H */
	const char		*group;		/* 440B-C, "" none */
	uint32_t		 parent;	/* 440D-E, 0 none */
	int			 migrate;	/* 440I */
	const struct cl_names	*domains;	/* 440J-K */
	uint32_t		 current;	/* 440F-G now (0 none) */
	int			 movable;	/* may leave a live admin */
	uint32_t		 assigned;	/* out: new 440F-G, 0 none */
};

/*
 * nodes: the active nodes (members), any order; vols any order.
 * Seed 002 FIG 10D (seed-notes/002.md "FIG 10D balance-metadata
 * algorithm", seed L900-L1469), deterministic: same inputs in any
 * order -> same output (sort by id / name first).  Hysteresis: a
 * volume whose current admin is active and eligible keeps it when
 * movable == 0, and also when moving would lower sum|remaining| by
 * less than `hysteresis` x total volume weight.  Returns the number
 * of volumes whose assigned != current; -1 (errno EINVAL: a node id 0
 * or twice, a volume name NULL or twice, a weight negative or not a
 * number; ENOMEM) with assigned = current and ideal = remaining = 0.
 * The caller's arrays keep their order; only the out fields change.
 */
int	 balance(struct bnode *, int, struct bvol *, int, double hysteresis);
double	 balance_spread(const struct bnode *, int);  /* sum |remaining| */

/* May node n administer volume v (seed 002 L633-L637)?  1 or 0. */
int	 balance_eligible(const struct bnode *n, const struct bvol *v);

#endif /* BALANCE_H */
