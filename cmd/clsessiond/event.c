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
 * Event queues of this node's sessions: events from sources (cliod) are
 * queued per session with their tokens, sent to following clients, and
 * a sync one is answered to its source on respond.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clsessiond.h"

static LIST_HEAD(, sess) sessions = LIST_HEAD_INITIALIZER(sessions);

struct sess *
sess_find(uint64_t id, int create)
{
	struct sess	*s;

	LIST_FOREACH(s, &sessions, entry)
		if (s->id == id)
			return s;
	if (!create || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->id = id;
	TAILQ_INIT(&s->evs);
	LIST_INSERT_HEAD(&sessions, s, entry);
	return s;
}

/* Answer an event's source: continue, or abort with errno name. */
void
ev_answer(struct ev *e, const char *reply, const char *eno)
{
	struct frame	 rq, a;

	if (!e->sync)
		return;
	frame_init(&rq, "req", e->txid);
	frame_add(&rq, "from", "%s", e->to);
	frame_init(&a, "ok", e->txid);
	frame_add(&a, "reply", "%s", reply);
	if (eno != NULL)
		frame_add(&a, "errno", "%s", eno);
	frame_add(&a, "token", "%s", e->token);
	if (msg_reply(&M, &rq, &a) == -1)
		log_warnx("answer to %s for %s: %s", e->to, e->token, M.error);
}

void
ev_free(struct sess *s, struct ev *e)
{
	TAILQ_REMOVE(&s->evs, e, entry);
	s->nev--;
	free(e->f);
	free(e);
}

/* Send event e to a following client; 0, or -1 if the client is gone. */
int
ev_send(struct client *cl, const struct ev *e)
{
	if (conn_send(cl->conn, e->f) == -1) {
		conn_close(cl->conn, "cannot send");
		return -1;
	}
	return 0;
}

/* Router keys are not the event's. */
int
ev_routerkey(const char *k)
{
	return strcmp(k, "to") == 0 || strcmp(k, "from") == 0 ||
	    strcmp(k, "orig") == 0 || strcmp(k, "resp") == 0 ||
	    strcmp(k, "rcpt") == 0 || strcmp(k, "re") == 0 ||
	    strcmp(k, "self") == 0;
}

/* CL1 event from a source (cliod): queue it for the session's node. */
void
ev_recv(const struct frame *f)
{
	struct sess	*s;
	struct ev	*e, *o;
	const char	*from, *tok, *sy;
	uint64_t	 id;
	uint32_t	 node;
	int		 i, rc;

	if ((from = frame_get(f, "orig")) == NULL &&
	    (from = frame_get(f, "from")) == NULL)
		return;
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->f = malloc(sizeof(*e->f))) == NULL) {
		log_warn("event");
		free(e);
		return;
	}
	(void)strlcpy(e->to, from, sizeof(e->to));
	e->txid = f->txid;
	sy = frame_get(f, "sync");
	e->sync = sy != NULL ? strcmp(sy, "1") == 0 :
	    frame_get(f, "resp") != NULL;
	tok = frame_get(f, "token");
	(void)strlcpy(e->token, tok != NULL ? tok : "", sizeof(e->token));
	frame_init(e->f, "event", 0);
	for (i = 0; i < f->nkv; i++)
		if (!ev_routerkey(f->kv[i].key) &&
		    strcmp(f->kv[i].key, "len") != 0)
			frame_add(e->f, f->kv[i].key, "%s", f->kv[i].val);
	if (tok == NULL || sess_parseid(frame_get(f, "session"), &id) == -1) {
		log_warnx("event from %s without token= or session=", from);
		ev_answer(e, "abort", "EINVAL");
		goto drop;
	}
	/* The frame is copied: the DB may be asked now. */
	if ((rc = sess_here(id, &node)) != 1) {
		log_warnx("event %s from %s: session %llu %s", e->token, from,
		    (unsigned long long)id, rc == 0 && node != 0 ?
		    "is not on this node" : rc == 0 ? "does not exist" :
		    "unknown (no database)");
		ev_answer(e, "abort", "EIO");
		goto drop;
	}
	if ((s = sess_find(id, 1)) == NULL) {
		log_warn("session");
		ev_answer(e, "abort", "EAGAIN");
		goto drop;
	}
	/* A resend (the session moved here): same token, queued once. */
	TAILQ_FOREACH(o, &s->evs, entry)
		if (strcmp(o->token, e->token) == 0) {
			(void)strlcpy(o->to, e->to, sizeof(o->to));
			o->txid = e->txid;
			o->sync = e->sync;
			log_debug("session %llu: event %s from %s again",
			    (unsigned long long)id, e->token, from);
			goto drop;
		}
	if (s->nev >= EVQ_MAX) {
		log_warnx("session %llu: %d events queued; event %s from %s "
		    "refused", (unsigned long long)id, s->nev, e->token, from);
		ev_answer(e, "abort", "EAGAIN");
		goto drop;
	}
	TAILQ_INSERT_TAIL(&s->evs, e, entry);
	s->nev++;
	log_debug("session %llu: event %s from %s", (unsigned long long)id,
	    e->token, from);
	if (client_follow(id, e) > 0 && !e->sync)
		ev_free(s, e);
	return;
 drop:
	free(e->f);
	free(e);
}

/* events ID [follow=1]: the session must be this node's. */
void
ev_list(struct client *cl, const struct frame *f, struct frame *a)
{
	struct sess	*s;
	struct ev	*e, *next;
	struct frame	 end;
	uint64_t	 id;
	uint32_t	 node;
	int		 rc, follow;

	if (sess_parseid(frame_get(f, "id"), &id) == -1) {
		fail(a, f->txid, "events: id= missing or not a number");
		return;
	}
	if ((rc = sess_node(id, &node, NULL, 0)) != 1) {
		fail(a, f->txid, rc == 0 ? "no session %llu" : "session %llu: "
		    "the cluster database cannot be reached",
		    (unsigned long long)id);
		return;
	}
	if (node != self) {
		fail(a, f->txid, "session %llu is on node %u, not node %u: "
		    "its events are served there", (unsigned long long)id,
		    node, self);
		return;
	}
	follow = frame_get(f, "follow") != NULL &&
	    strcmp(frame_get(f, "follow"), "1") == 0;
	if ((s = sess_find(id, 1)) == NULL) {
		fail(a, f->txid, "out of memory");
		return;
	}
	for (e = TAILQ_FIRST(&s->evs); e != NULL; e = next) {
		next = TAILQ_NEXT(e, entry);
		if (ev_send(cl, e) == -1)
			return;
		if (!e->sync)
			ev_free(s, e);
	}
	if (follow) {
		cl->follow = id;
		a->op[0] = '\0';
		return;
	}
	frame_init(&end, "end", f->txid);
	*a = end;
}

/* respond TOKEN continue|abort ERRNO */
void
ev_respond(const struct frame *f, struct frame *a)
{
	struct sess	*s;
	struct ev	*e;
	const char	*tok = frame_get(f, "token"), *r = frame_get(f, "reply");
	const char	*en = frame_get(f, "errno");

	if (tok == NULL || r == NULL) {
		fail(a, f->txid, "respond: token= and reply= needed");
		return;
	}
	if (strcmp(r, "continue") == 0)
		en = NULL;
	else if (strcmp(r, "abort") != 0) {
		fail(a, f->txid, "respond: %s: continue or abort", r);
		return;
	} else if (en == NULL || strcmp(fs_errname(fs_errnum(en)), en) != 0) {
		fail(a, f->txid, "respond: abort needs an errno name such as "
		    "EPERM, not %s", en != NULL ? en : "nothing");
		return;
	}
	LIST_FOREACH(s, &sessions, entry)
		TAILQ_FOREACH(e, &s->evs, entry)
			if (e->sync && strcmp(e->token, tok) == 0) {
				ev_answer(e, r, en);
				log_debug("event %s: %s %s", tok, r,
				    en != NULL ? en : "");
				ev_free(s, e);
				right_token_end(tok);
				frame_init(a, "ok", f->txid);
				frame_add(a, "token", "%s", tok);
				return;
			}
	if (right_respond(tok) == 0) {		/* a user token */
		frame_init(a, "ok", f->txid);
		frame_add(a, "token", "%s", tok);
		return;
	}
	fail(a, f->txid, "token %s: no event waits for an answer on node %u "
	    "(unknown, already answered, or its session is on another node)",
	    tok, self);
}

/* Is tok the token of a sync event waiting here for its answer? */
int
ev_token_live(const char *tok)
{
	struct sess	*s;
	struct ev	*e;

	LIST_FOREACH(s, &sessions, entry)
		TAILQ_FOREACH(e, &s->evs, entry)
			if (e->sync && strcmp(e->token, tok) == 0)
				return 1;
	return 0;
}

/* Events of session id waiting here. */
int
ev_pending(uint64_t id)
{
	struct sess	*s;

	return (s = sess_find(id, 0)) != NULL ? s->nev : 0;
}

/* Events waiting for an answer get abort EIO: nobody will answer them. */
void
ev_finish(void)
{
	struct sess	*s;
	struct ev	*e;

	LIST_FOREACH(s, &sessions, entry)
		while ((e = TAILQ_FIRST(&s->evs)) != NULL) {
			ev_answer(e, "abort", "EIO");
			ev_free(s, e);
		}
}
