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
 * Utilization, for `status` (seed 002 L446: the load-balance driver
 * keeps counters and computes utilization from I/O usage over time):
 * requests in flight, disk queue depth, bytes per second as an
 * exponentially weighted moving average over one-second ticks, totals.
 */

#include <sys/types.h>

#include <inttypes.h>
#include <string.h>

#include "cliod.h"

#define TICK_MS		1000		/* ms between rate samples */
#define EWMA_ALPHA	0.3		/* weight of the newest sample */

static struct stats	 total;		/* inflight only; the rest summed */
static struct timer	 tickt;
static uint64_t		 lasttick;

struct stats *
stats_total(void)
{
	return &total;
}

static double
ewma(double old, uint64_t now, uint64_t *last, uint64_t dt)
{
	double	 rate = (double)(now - *last) * 1000.0 / (double)dt;

	*last = now;
	return old + EWMA_ALPHA * (rate - old);
}

static void
tick(void *arg)
{
	uint64_t	 now = loop_now(), dt = now - lasttick;
	int		 i;

	(void)arg;
	if (dt == 0)
		dt = 1;
	for (i = 0; i < nvols; i++) {
		vols[i].st.rbps = ewma(vols[i].st.rbps, vols[i].st.rbytes,
		    &vols[i].st.rlast, dt);
		vols[i].st.wbps = ewma(vols[i].st.wbps, vols[i].st.wbytes,
		    &vols[i].st.wlast, dt);
	}
	lasttick = now;
	timer_in(&tickt, TICK_MS);
}

void
stats_init(void)
{
	lasttick = loop_now();
	timer_setup(&tickt, tick, NULL);
	timer_in(&tickt, TICK_MS);
}

static void
add(struct stats *to, const struct stats *s)
{
	to->reads += s->reads;
	to->writes += s->writes;
	to->meta += s->meta;
	to->errors += s->errors;
	to->rbytes += s->rbytes;
	to->wbytes += s->wbytes;
	to->maps += s->maps;
	to->maphits += s->maphits;
	to->commits += s->commits;
	to->fsyncs += s->fsyncs;
	to->remote += s->remote;
	to->redirects += s->redirects;
	to->rbps += s->rbps;
	to->wbps += s->wbps;
}

/* status [fs=NAME]: the node's totals, or one file system's. */
void
stats_answer(struct req *r)
{
	struct stats	 s;
	struct frame	 f;
	int		 i;

	memset(&s, 0, sizeof(s));
	if (r->v != NULL) {
		add(&s, &r->v->st);
		s.inflight = r->v->st.inflight - 1;	/* not this one */
	} else {
		for (i = 0; i < nvols; i++)
			add(&s, &vols[i].st);
		s.inflight = total.inflight - 1;
	}
	frame_init(&f, "ok", r->txid);
	frame_add(&f, "node", "%u", meta_self());
	if (r->v != NULL) {
		frame_add(&f, "fs", "%s", r->v->name);
		frame_add(&f, "local", "%d", r->v->local);
	} else
		frame_add(&f, "filesystems", "%d", nvols);
	frame_add(&f, "util", "%d", util_now());
	frame_add(&f, "active", "%d", util_active());
	frame_add(&f, "slow_ms", "%d", util_slow_ms());
	frame_add(&f, "inflight", "%" PRIu64, s.inflight);
	frame_add(&f, "queue", "%d", io_queued());
	frame_add(&f, "calls", "%d", meta_calls());
	frame_add(&f, "clients", "%d", client_count());
	frame_add(&f, "inodes", "%d", mc_count());
	frame_add(&f, "read_bps", "%.0f", s.rbps);
	frame_add(&f, "write_bps", "%.0f", s.wbps);
	frame_add(&f, "reads", "%" PRIu64, s.reads);
	frame_add(&f, "writes", "%" PRIu64, s.writes);
	frame_add(&f, "read_bytes", "%" PRIu64, s.rbytes);
	frame_add(&f, "write_bytes", "%" PRIu64, s.wbytes);
	frame_add(&f, "meta", "%" PRIu64, s.meta);
	frame_add(&f, "maps", "%" PRIu64, s.maps);
	frame_add(&f, "map_hits", "%" PRIu64, s.maphits);
	frame_add(&f, "commits", "%" PRIu64, s.commits);
	frame_add(&f, "fsyncs", "%" PRIu64, s.fsyncs);
	frame_add(&f, "remote", "%" PRIu64, s.remote);
	frame_add(&f, "redirects", "%" PRIu64, s.redirects);
	frame_add(&f, "errors", "%" PRIu64, s.errors);
	frame_add(&f, "dm_sent", "%" PRIu64, dm_stats()->sent);
	frame_add(&f, "dm_answered", "%" PRIu64, dm_stats()->answered);
	frame_add(&f, "dm_aborted", "%" PRIu64, dm_stats()->aborted);
	frame_add(&f, "dm_timedout", "%" PRIu64, dm_stats()->timedout);
	frame_add(&f, "dm_failed", "%" PRIu64, dm_stats()->failed);
	req_answer(r, &f);
}
