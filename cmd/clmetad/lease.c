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
 * Leases on block lists.  A cliod caches the block list clmetad gave it
 * (seed 002 L740: a data-transfer server with the block list cached does
 * not ask again) for as long as its lease runs; clmetad recalls leases
 * when it changes a mapping under them (seed 002 L426-L427: lock breaks
 * end cached block lists), and keeps freed blocks out of use until every
 * lease on the file has been released or has expired.  A write lease is
 * exclusive between nodes: a data set is written under one lock holder
 * (seed 002 L3067-L3074).
 *
 * Leases live in memory only: a new admin waits lease_ms (the grace
 * period) before it serves, so every lease of the old one is void.
 */

#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clmetad.h"
#include "log.h"

static uint64_t
lease_ms(void)
{
	return (uint64_t)(M->conf.lease_ms > 0 ? M->conf.lease_ms : 5000);
}

/* Leases left on ino (any node, any generation). */
uint32_t
lease_count(uint32_t ino, int write)
{
	uint32_t	 n = 0;
	size_t		 i;

	for (i = 0; i < M->nleases; i++)
		if (M->leases[i].ino == ino && (!write || M->leases[i].write))
			n++;
	return n;
}

struct lease *
lease_find(uint64_t id)
{
	size_t	 i;

	for (i = 0; i < M->nleases; i++)
		if (M->leases[i].id == id)
			return &M->leases[i];
	return NULL;
}

/* Another node writes ino: a write map from node has to wait. */
int
lease_busy(uint32_t ino, uint32_t node)
{
	uint64_t	 now = loop_now();
	size_t		 i;

	for (i = 0; i < M->nleases; i++)
		if (M->leases[i].ino == ino && M->leases[i].write &&
		    M->leases[i].node != node && M->leases[i].expiry > now)
			return 1;
	return 0;
}

/*
 * A lease for (ino, node, read or write), renewed if node has one: 0,
 * EBUSY (another node writes ino) or EAGAIN (the table is full).
 */
int
lease_get(uint32_t ino, uint32_t gen, uint32_t node, int write,
    uint64_t *id, uint64_t *left)
{
	struct lease	*l = NULL;
	size_t		 i;

	if (write && lease_busy(ino, node))
		return EBUSY;
	for (i = 0; i < M->nleases; i++)
		if (M->leases[i].ino == ino && M->leases[i].gen == gen &&
		    M->leases[i].node == node && M->leases[i].write == write)
			l = &M->leases[i];
	if (l == NULL) {
		if (M->leases == NULL && (M->leases = calloc(META_LEASES_MAX,
		    sizeof(*M->leases))) == NULL)
			return ENOMEM;
		if (M->nleases == META_LEASES_MAX)
			return EAGAIN;
		l = &M->leases[M->nleases++];
		l->id = M->lease_next++;
		l->ino = ino;
		l->gen = gen;
		l->node = node;
		l->write = write;
	}
	l->expiry = loop_now() + lease_ms();
	*id = l->id;
	*left = lease_ms();
	return 0;
}

/*
 * The last write lease gone: preallocated (unwritten) blocks go.  The last
 * lease of any kind gone: quarantined blocks are free.
 */
void
lease_changed(uint32_t ino)
{
	struct minode	*mi = inode_get(ino);

	if (mi != NULL && !S_ISDIR(mi->d.mode) && lease_count(ino, 1) == 0)
		(void)inode_punch(ino, 0, 1);
	if (lease_count(ino, 0) == 0)
		alloc_quar_drain(ino);
}

void
lease_drop(uint64_t id)
{
	struct lease	*l;
	uint32_t	 ino;

	if ((l = lease_find(id)) == NULL)
		return;
	ino = l->ino;
	*l = M->leases[--M->nleases];
	lease_changed(ino);
}

/*
 * Shutting down: every lease ends, so no preallocation or quarantined
 * block outlives this instance.  The next admin's grace period (lease_ms)
 * covers a cliod still holding one of them.
 */
void
lease_end_all(void)
{
	uint32_t	 ino;

	while (M->nleases > 0) {
		ino = M->leases[--M->nleases].ino;
		lease_changed(ino);
	}
}

/* Tell the holders of leases on ino (but node) their block list is gone. */
void
lease_recall(uint32_t ino, uint32_t node, int write_only)
{
	struct frame	 f;
	struct lease	*l;
	size_t		 i;

	for (i = 0; i < M->nleases; i++) {
		l = &M->leases[i];
		if (l->ino != ino || l->node == node ||
		    (write_only && !l->write))
			continue;
		frame_init(&f, "recall", 0);
		frame_add(&f, "to", "%u.cliod", l->node);
		frame_add(&f, "fs", "%s", M->name);
		frame_add(&f, "ino", "%u", ino);
		frame_add(&f, "lease", "%llu", (unsigned long long)l->id);
		if (msg_send(&M->msg, &f) == -1)
			log_debug("recall lease %llu of node %u: %s",
			    (unsigned long long)l->id, l->node, M->msg.error);
	}
}

/* Expired leases end as if released; then again in a quarter lease. */
void
lease_tick(void *arg)
{
	uint64_t	 now = loop_now();
	size_t		 i;
	uint32_t	 ino;

	(void)arg;
	for (i = 0; i < M->nleases; ) {
		if (M->leases[i].expiry > now) {
			i++;
			continue;
		}
		ino = M->leases[i].ino;
		log_debug("lease %llu of node %u on inode %u expired",
		    (unsigned long long)M->leases[i].id, M->leases[i].node,
		    ino);
		M->leases[i] = M->leases[--M->nleases];
		lease_changed(ino);
	}
	timer_in(&M->leaset, lease_ms() / 4 > 0 ? lease_ms() / 4 : 1);
}
