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

#ifndef CL_CLIENT_H
#define CL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "ctl.h"
#include "wire.h"

/*
 * The aware client's path table (seed 002 FIG 6, update table 600,
 * L662-L668), for a program that reads and writes a file system through
 * the local cliod(8): which node's cliod does each request (via=N), and
 * when to move.  The program sends; this decides.
 *
 *	clp_init	the table of one file system: every node with a path
 *			to its volume in the configuration and a common
 *			domain (L712), and the first path
 *	clp_begin	a new request: the node for its via= (0: none) and
 *			whether it says aware=1; clp_frame adds them
 *	clp_answer	its answer: CLP_DONE, or CLP_RESEND when the request
 *			is to be sent again (with clp_frame, to t->node):
 *			the server redirected it (it did nothing), or the
 *			path failed (no answer: a write at a fixed offset
 *			writes the same bytes again, which is harmless)
 *	clp_window	how many requests may be in flight: CLP_PROBE_WINDOW
 *			on a path on trial (one left for load, taken
 *			again) until CLP_STRIKES round trips through it
 *			are good, so that a node still slow does not take
 *			a whole window each time it is tried
 *
 * An unaware client (a normal one, L511-L519) gets no via= unless pinned
 * to a node, and is never moved.
 */

#define CLP_STRIKES		3	/* answers in a row over rtt_high_ms */
#define CLP_TRIAL_SLACK_MS	5	/* on trial: at most 2 x the old srtt + this */
#define CLP_MARGIN		10	/* points: clearly less utilized */
#define CLP_HOLD		3	/* util_ms: a path left for load waits */
#define CLP_HOLD_MIN_MS		1000	/* ms: ... at least this */
#define CLP_HOLD_SHIFT_MAX	2	/* ... up to 4 times as long */
#define CLP_PROBE_MS		2000	/* ms: a failed path is tried again */
#define CLP_PROBE_MAX_MS	30000	/* ms: ... doubling up to this */
#define CLP_TRIES_MAX		8	/* sends of one request, then unaware */
#define CLP_PROBE_WINDOW	2	/* requests in flight on a path on trial */
#define CLP_DB_MS		2000	/* ms: clmemberd's answer to db ls */

/* One path: a node whose cliod can do the I/O (FIG 6: 604, 602). */
struct clp_path {
	uint32_t	 node;
	int		 util;		/* %, from util/N; -1 unknown */
	uint64_t	 used;		/* ms: last answered through it (602) */
	uint64_t	 left;		/* ms: last moved away for load */
	uint64_t	 hold;		/* ms: not taken for load before */
	int		 penalty;	/* hold shift: bad again soon after */
	int		 failed;	/* no answer: not valid until retry */
	uint64_t	 retry;		/* ms: probe it again then */
	uint64_t	 probe;		/* ms: the wait before the next probe */
	uint64_t	 failed_wall;	/* ms since the epoch, when it failed */
	uint64_t	 srtt;		/* ms, smoothed round trip through it */
};

struct clp {
	const struct cl_conf *conf;
	char		 fs[CONF_NAME_MAX];
	int		 aware;
	uint32_t	 pin;		/* unaware: always via this node */
	struct clp_path	 p[CONF_NODES_MAX];
	int		 n;
	int		 cur;		/* index of the path in use, -1 none */
	int		 home;		/* the first path, to go back to */
	uint64_t	 home_at;	/* ms: looked at going back */
	int		 strikes;	/* round trips over rtt_high_ms */
	int		 good;		/* round trips under it, since taken */
	uint64_t	 from_srtt;	/* ms: the path we came from, its srtt */
	uint64_t	 since;		/* ms: cur in use since */
	uint64_t	 lastans;	/* ms: the last answer, for round trips */
	uint64_t	 unaware_until;	/* ms: stayed after a redirect */
	uint64_t	 util_at;	/* ms: util/ last read */
	struct ctl	 db;		/* to clmemberd, for util/ */
	int		 dbopen;
	uint64_t	 dbretry;	/* ms */
	uint64_t	 dbtxid;
	uint64_t	 moves, redirects, failures, resends;
	void		(*log)(void *, const char *);
	void		*logarg;
};

/* One request's sends. */
struct clp_try {
	uint32_t	 node;		/* via=, 0 none */
	int		 aware;		/* aware=1 */
	uint64_t	 sent;		/* ms */
	int		 tries;
};

enum { CLP_DONE, CLP_RESEND };

int		 clp_init(struct clp *, const struct cl_conf *, const char *,
		    uint32_t, int, char *, size_t);
void		 clp_close(struct clp *);
void		 clp_begin(struct clp *, struct clp_try *);
int		 clp_frame(const struct clp_try *, struct frame *);
int		 clp_answer(struct clp *, struct clp_try *,
		    const struct frame *);
uint32_t	 clp_current(const struct clp *);
int		 clp_window(const struct clp *, int);
int		 clp_util_parse(const char *, int *, int *, uint64_t *,
		    uint64_t *);

#endif /* CL_CLIENT_H */
