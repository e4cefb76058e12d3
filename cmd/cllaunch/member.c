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
	    launch_recv(&L->sub, &f, REPLY_MS) != 1)
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

	while ((rc = launch_recv(&L->sub, &f, 0)) == 1) {
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

static void
member_node(struct view *v, const struct frame *f, uint8_t *members)
{
	const char	*m;
	uint64_t	 id;

	if (frame_getu64(f, "id", &id) == -1 || id > CONF_NODEID_MAX ||
	    (m = frame_get(f, "member")) == NULL)
		return;
	if (strcmp(m, "leaving") == 0)
		v->leaving[id] = 1;
	if (members[id] && strcmp(m, "joined") == 0)
		v->avail[id] = 1;
}

/* The view, from clmemberd's status: who may run services now. */
int
member_view(struct view *v)
{
	struct frame	 req, f;
	uint8_t		 members[CONF_NODEID_MAX + 1];
	const char	*s;
	uint64_t	 n;
	size_t		 len;
	int		 timeout = REPLY_MS;

	memset(v, 0, sizeof(*v));
	memset(members, 0, sizeof(members));
	if (!L->up)
		return -1;
	frame_init(&req, "status", ++L->txid);
	if (ctl_send(&L->db, &req) == -1)
		goto broken;
	for (;;) {
		if (launch_recv(&L->db, &f, timeout) != 1)
			goto broken;
		if (f.txid != req.txid)
			continue;
		if (strcmp(f.op, "end") == 0)
			break;
		if (strcmp(f.op, "view") == 0) {
			v->quorum = (s = frame_get(&f, "quorum")) != NULL &&
			    strcmp(s, "yes") == 0;
			(void)frame_getu64(&f, "epoch", &v->epoch);
			for (s = frame_get(&f, "members"); s != NULL &&
			    *s != '\0'; s += len + (s[len] == ',')) {
				len = strcspn(s, ",");
				if (wire_parse_u64(s, len, CONF_NODEID_MAX,
				    &n) == 0)
					members[n] = 1;
			}
		} else if (strcmp(f.op, "node") == 0)
			member_node(v, &f, members);
	}
	if (!v->quorum)
		memset(v->avail, 0, sizeof(v->avail));
	return 0;
 broken:
	log_warnx("clmemberd: %s", strerror(errno));
	launch_lost();
	return -1;
}
