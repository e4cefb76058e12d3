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
 * Dispositions (fs, event[, node]) -> session, kept in the cluster DB
 * under dm/disp/ by the session manager (seed 001).
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clsessiond.h"

static const char *events[] = { "create", "remove", "rename", "read",
    "write", "truncate", "attribute", "nospace", "mount", "destroy" };

const char *
disp_event(const char *ev)
{
	size_t	 i;

	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (ev != NULL && strcmp(ev, events[i]) == 0)
			return events[i];
	return NULL;
}

struct dispdel {
	uint64_t	 id;
	char		 keys[64][160];
	int		 n;
};

static void
disp_match(const char *key, const char *val, void *arg)
{
	struct dispdel	*d = arg;
	char		 s[32];
	uint64_t	 id;

	if (db_field(val, "session", s, sizeof(s)) == 0 &&
	    sess_parseid(s, &id) == 0 && id == d->id &&
	    d->n < (int)(sizeof(d->keys) / sizeof(d->keys[0])))
		(void)strlcpy(d->keys[d->n++], key, sizeof(d->keys[0]));
}

/* Delete the dispositions to session id. */
void
disp_drop(uint64_t id)
{
	struct dispdel	*d;
	char		 why[512];
	int		 i;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		log_warn("dispositions of session %llu",
		    (unsigned long long)id);
		return;
	}
	d->id = id;
	if (db_ls("dm/disp/", disp_match, d) == 0)
		for (i = 0; i < d->n; i++)
			if (db_write("del", d->keys[i], NULL, -1, why,
			    sizeof(why)) != 1)
				log_warnx("del %s: %s", d->keys[i], why);
	free(d);
}

/* Manager: disposition of (fs, event[, node]) to session. */
void
disp_set(const struct frame *f, uint64_t txid, struct frame *a)
{
	const char	*fs = frame_get(f, "fs"), *ev, *mode, *nd;
	char		 key[256], val[WIRE_VAL_MAX + 1], cur[32], why[512];
	uint64_t	 id, n = 0, cid;
	uint32_t	 node;
	int		 rc;

	ev = disp_event(frame_get(f, "event"));
	mode = frame_get(f, "mode") != NULL ? frame_get(f, "mode") : "sync";
	nd = frame_get(f, "node");
	if (fs == NULL || conf_volume(&conf, fs) == NULL) {
		fail(a, txid, "%s: not a file system (a volume in %s)",
		    fs != NULL ? fs : "(none)", conf.path);
		return;
	}
	if (ev == NULL) {
		fail(a, txid, "%s: not an event (create remove rename read "
		    "write truncate attribute nospace mount destroy)",
		    frame_get(f, "event") != NULL ? frame_get(f, "event") :
		    "(none)");
		return;
	}
	if (strcmp(mode, "sync") != 0 && strcmp(mode, "async") != 0) {
		fail(a, txid, "mode %s: sync or async", mode);
		return;
	}
	if (nd != NULL && (wire_parse_u64(nd, strlen(nd), UINT32_MAX, &n) ==
	    -1 || conf_node(&conf, (uint32_t)n) == NULL)) {
		fail(a, txid, "node %s: not a node in %s", nd, conf.path);
		return;
	}
	if (sess_parseid(frame_get(f, "session"), &id) == -1) {
		fail(a, txid, "session %s: not a session id",
		    frame_get(f, "session") != NULL ? frame_get(f, "session") :
		    "(none)");
		return;
	}
	if ((rc = sess_node(id, &node, NULL, 0)) != 1) {
		fail(a, txid, rc == 0 ? "no session %llu" : "session %llu: the "
		    "cluster database cannot be reached",
		    (unsigned long long)id);
		return;
	}
	if (nd != NULL)
		(void)snprintf(key, sizeof(key), "dm/disp/%s/%s/%llu", fs, ev,
		    (unsigned long long)n);
	else
		(void)snprintf(key, sizeof(key), "dm/disp/%s/%s", fs, ev);
	if ((rc = db_get(key, val, sizeof(val), NULL)) == -1) {
		fail(a, txid, "the cluster database cannot be reached");
		return;
	}
	if (rc == 1 && db_field(val, "session", cur, sizeof(cur)) == 0 &&
	    sess_parseid(cur, &cid) == 0 && cid != id &&
	    sess_node(cid, &node, NULL, 0) == 1) {
		fail(a, txid, "%s %s%s%s already goes to session %llu: one "
		    "session per file system, event and node", fs, ev,
		    nd != NULL ? " on node " : "", nd != NULL ? nd : "",
		    (unsigned long long)cid);
		return;
	}
	(void)snprintf(val, sizeof(val), "session=%llu mode=%s",
	    (unsigned long long)id, mode);
	if (db_write("set", key, val, -1, why, sizeof(why)) != 1) {
		fail(a, txid, "cannot write %s: %s", key, why);
		return;
	}
	log_info("%s = %s", key, val);
	frame_init(a, "ok", txid);
	frame_add(a, "key", "%s", key);
}

static void
disp_one(const char *key, const char *val, void *arg)
{
	struct lsarg	*la = arg;
	struct frame	 f;
	char		 k[256], sess[32], mode[16], *p, *q;

	(void)strlcpy(k, key + strlen("dm/disp/"), sizeof(k));
	frame_init(&f, "disp", la->txid);
	p = k;
	q = strsep(&p, "/");
	frame_add(&f, "fs", "%s", q);
	q = p != NULL ? strsep(&p, "/") : NULL;
	frame_add(&f, "event", "%s", q != NULL ? q : "-");
	frame_add(&f, "node", "%s", p != NULL ? p : "all");
	if (db_field(val, "session", sess, sizeof(sess)) == -1)
		(void)strlcpy(sess, "-", sizeof(sess));
	if (db_field(val, "mode", mode, sizeof(mode)) == -1)
		(void)strlcpy(mode, "-", sizeof(mode));
	frame_add(&f, "session", "%s", sess);
	frame_add(&f, "mode", "%s", mode);
	(void)conn_send(la->cl->conn, &f);
}

/* displs: one disp frame per disposition to la's client; 0, or -1. */
int
disp_list(struct lsarg *la)
{
	return db_ls("dm/disp/", disp_one, la);
}
