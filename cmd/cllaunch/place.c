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
 * Where a one-instance service runs: seed 004's choosing parameters
 * (L230-L240).  Pure functions of the service, the view and the current
 * registration, so that every node computes the same answer; the one
 * that writes it holds the cluster database lock (L226, L242).
 */

#include <string.h>

#include "cllaunch.h"

static int
usable(const struct view *v, const struct reg *r, uint32_t n, uint32_t not)
{
	return n != 0 && n != not && v->avail[n] && !v->leaving[n] &&
	    (r == NULL || !r->failed[n]);
}

/*
 * The node for sv: its preferred node if it can run there, else the first
 * of its nodes (in their order of preference, L234) that can; never a
 * node outside them (L232, L236), never one where it failed, never not.
 * 0: none.
 */
uint32_t
place_pick(const struct cl_service *sv, const struct view *v,
    const struct reg *r, uint32_t not)
{
	uint32_t	 n;
	int		 i;

	if (usable(v, r, sv->preferred, not))
		return sv->preferred;
	if (sv->nnodes == 0) {
		for (n = 1; n <= CONF_NODEID_MAX; n++)
			if (usable(v, r, n, not))
				return n;
		return 0;
	}
	for (i = 0; i < sv->nnodes; i++)
		if (usable(v, r, sv->nodes[i], not))
			return sv->nodes[i];
	return 0;
}

static void
next(const struct reg *cur, struct reg *out, enum reg_state st, uint32_t n)
{
	*out = *cur;
	out->state = st;
	out->node = n;
	out->to = 0;
	out->gen = cur->gen + 1;
}

/*
 * The registration that should replace cur, in out: 1, or 0 when cur
 * stands.  A registration on a node that is leaving gracefully is left
 * to that node, which stops the service and then hands it on (the
 * transfer intent, L268); one on a node that is gone is recovered
 * elsewhere (L264).
 */
int
place_decide(const struct cl_service *sv, const struct view *v,
    const struct reg *cur, struct reg *out)
{
	uint32_t	 n, pref;

	pref = sv->preferred != 0 ? sv->preferred : sv->nnodes > 0 ?
	    sv->nodes[0] : 0;
	switch (cur->state) {
	case REG_NONE:
	case REG_UNPLACED:
	case REG_FAILED:
		if ((n = place_pick(sv, v, cur, 0)) == 0) {
			if (cur->state != REG_NONE)
				return 0;
			next(cur, out, REG_UNPLACED, 0);
			return 1;
		}
		next(cur, out, REG_STARTING, n);
		return 1;
	case REG_STOPPING:
		if (v->avail[cur->node] || v->leaving[cur->node])
			return 0;
		break;
	case REG_STARTING:
	case REG_REGISTERED:
	case REG_RECOVERING:
		if (v->leaving[cur->node])
			return 0;
		if (v->avail[cur->node]) {
			/* Free-transfer failback (L266, L296). */
			if (!sv->failback || cur->state != REG_REGISTERED ||
			    cur->node == pref || !usable(v, cur, pref, 0))
				return 0;
			*out = *cur;
			out->state = REG_STOPPING;
			out->to = pref;
			return 1;
		}
		break;
	}
	/* Its node is gone: recover it on a survivor (L264). */
	n = place_pick(sv, v, cur, cur->node);
	next(cur, out, n == 0 ? REG_UNPLACED : sv->recovery[0] != '\0' ?
	    REG_RECOVERING : REG_STARTING, n);
	return 1;
}
