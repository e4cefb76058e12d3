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
 * cllaunch as a subsystem of clmemberd: the event manager, the highest
 * layer (seed 004 L167).  It is told of a graceful leave first (L187)
 * and stops this node's services before the layers below go, handing
 * each one-instance service on to its next node (L268); it is told of
 * joins and forced leaves last, once the layers below have recovered
 * (L169, L195), and then places what the leaving node ran (L264).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cllaunch.h"
#include "log.h"

#define REPLY_MS	5000

int
member_open(void)
{
	struct frame	 req, f;

	if (ctl_open(&L->sub, L->conf->rundir, "clmemberd") == -1)
		return -1;
	frame_init(&req, "register", ++L->txid);
	frame_add(&req, "name", "cllaunch");
	frame_add(&req, "layer", "%d", LAUNCH_LAYER);
	if (ctl_send(&L->sub, &req) == -1 ||
	    ctl_wait(&L->sub, &f, REPLY_MS) != 1)
		goto fail;
	if (strcmp(f.op, "ok") != 0) {
		log_warnx("clmemberd refused the registration: %s",
		    frame_get(&f, "reason") != NULL ? frame_get(&f, "reason") :
		    f.op);
		errno = EPERM;
		goto fail;
	}
	return 0;
 fail:
	ctl_close(&L->sub);
	return -1;
}

void
member_ack(uint64_t txid)
{
	struct frame	 f;

	frame_init(&f, "ack", txid);
	if (ctl_send(&L->sub, &f) == -1)
		log_warn("ack to clmemberd");
}

/* Our own node's steps. */
static void
self_step(const char *trans, uint64_t txid)
{
	if (strcmp(trans, "join") == 0) {
		L->leaving = 0;
		L->forced = 0;
		member_ack(txid);
		return;
	}
	if (strcmp(trans, "forced") == 0) {
		/*
		 * Forced out: the survivors recover what ran here, so stop
		 * it now (L163: touch no shared resource).
		 */
		log_warnx("this node was forced out of the cluster");
		L->forced = 1;
		member_ack(txid);
		return;
	}
	/* A graceful leave: ack once every service here has stopped. */
	log_info("this node leaves: stopping its services");
	L->leaving = 1;
	L->leave_txid = txid;
	child_stop_all();
	launch_maybe_exit();
}

void
member_read(void)
{
	struct frame	 f;
	const char	*trans;
	uint64_t	 node;
	int		 rc;

	while ((rc = ctl_wait(&L->sub, &f, 0)) == 1) {
		if (strcmp(f.op, "notify") != 0)
			continue;
		trans = frame_get(&f, "trans");
		if (trans == NULL || frame_getu64(&f, "node", &node) == -1) {
			member_ack(f.txid);
			continue;
		}
		log_debug("notify node=%llu trans=%s states=%s",
		    (unsigned long long)node, trans,
		    frame_get(&f, "states") != NULL ? frame_get(&f, "states") :
		    "");
		if (node == L->self)
			self_step(trans, f.txid);
		else
			member_ack(f.txid);
		L->hot = 20;
	}
	if (rc == 0 || errno != ETIMEDOUT) {
		log_warnx("clmemberd closed the subsystem connection");
		launch_lost();
		return;
	}
	launch_changed();
}

/* The view, from clmemberd's status: who may run services now. */
int
member_view(struct view *v)
{
	struct dbc_view	 dv;

	memset(v, 0, sizeof(*v));
	if (!L->up)
		return -1;
	if (dbc_view(&L->db, &dv) == -1) {
		log_warnx("%s", L->db.error);
		if (!L->db.open)
			launch_lost();
		return -1;
	}
	v->quorum = dv.quorum;
	v->epoch = dv.epoch;
	memcpy(v->avail, dv.joined, sizeof(v->avail));
	memcpy(v->leaving, dv.leaving, sizeof(v->leaving));
	return 0;
}
