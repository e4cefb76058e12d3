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

#ifndef CLREBALANCE_H
#define CLREBALANCE_H

#include <stdint.h>
#include <stdio.h>

#include "conf.h"
#include "dbclient.h"

#define RB_LOCK		"rebalance"		/* seed 002's lock 120D */
#define RB_KEY		"rebalance/assign"	/* the committed version */
#define RB_LAYER	800	/* below cllaunch (900): it follows our result */
#define RB_LOCK_MS	5000	/* longest wait for the lock */
#define RB_RETRY_MS	50

/* What may move in a round (seed 002 L751-L752: its triggers). */
enum rb_mode {
	RB_ORPHANS,	/* a node left: only what it administered moves */
	RB_JOIN,	/* a node joined: volumes with failback may go to it */
	RB_ACTIVE	/* clrebalance now: any volume, past the hysteresis */
};

/* The committed assignment: rebalance/assign. */
struct rb_assign {
	uint64_t	 ver;		/* of the assignment, 0: none yet */
	uint64_t	 dbver;		/* of the record, for compare-and-set */
	uint64_t	 epoch;
	uint32_t	 master;
	uint32_t	 node[CONF_VOLUMES_MAX];	/* by conf volume index */
};

struct rb_result {
	int		 moved;
	uint32_t	 node[CONF_VOLUMES_MAX];
	double		 ideal[CONF_NODEID_MAX + 1];
	double		 remaining[CONF_NODEID_MAX + 1];
	double		 spread_before, spread_after;
};

/* round.c */
int	 rb_read(struct dbc *, const struct cl_conf *, struct rb_assign *);
int	 rb_compute(const struct cl_conf *, const struct dbc_view *,
	    const struct rb_assign *, enum rb_mode, uint32_t,
	    struct rb_result *);
int	 rb_round(struct dbc *, const struct cl_conf *, enum rb_mode,
	    uint32_t, struct rb_result *, uint32_t *);

/* tool.c */
int	 rb_tool(const struct cl_conf *, const char *, int, char **);

#endif /* CLREBALANCE_H */
