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

#ifndef CLSESSIOND_H
#define CLSESSIOND_H

#include <sys/types.h>
#include <sys/queue.h>

#include <stdint.h>

#include "conf.h"
#include "conn.h"
#include "ctl.h"
#include "fsproto.h"
#include "log.h"
#include "loop.h"
#include "msg.h"
#include "sock.h"
#include "wire.h"

#define EVQ_MAX		4096	/* events queued per session */
#define NAME_MAX_LEN	64	/* bytes of a session name */

/* An event queued for a session, until answered (sync) or sent. */
struct ev {
	TAILQ_ENTRY(ev)	 entry;
	char		 token[64];
	int		 sync;
	char		 to[WIRE_VAL_MAX + 1];	/* the source, to answer */
	uint64_t	 txid;
	struct frame	*f;		/* the event as clients see it */
};

/* A session of this node and its event queue. */
struct sess {
	LIST_ENTRY(sess) entry;
	uint64_t	 id;
	TAILQ_HEAD(, ev) evs;
	int		 nev;
};

/* A connection on clsessiond.sock. */
struct client {
	LIST_ENTRY(client) entry;
	struct conn	*conn;
	uid_t		 uid;
	gid_t		 gid;
	uint64_t	 follow;	/* session followed, 0 if none */
	int		 priv;		/* privileged(): 1, 0, -1 not asked */
};

/* A list request being answered, one frame per record. */
struct lsarg {
	struct client	*cl;
	uint64_t	 txid;
};

/* clsessiond.c */
extern struct cl_conf	 conf;
extern struct msg	 M;		/* to clmemberd: messages */
extern uint32_t		 self;
extern uint64_t		 txids;
extern struct timer	 readt;		/* read messages (after a call) */
void		 fail(struct frame *, uint64_t, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));

/* db.c */
int		 db_call(struct frame *, struct frame *);
int		 db_get(const char *, char *, size_t, uint64_t *);
int		 db_write(const char *, const char *, const char *, int64_t,
		    char *, size_t);
int		 db_ls(const char *, void (*)(const char *, const char *,
		    void *), void *);
int		 db_field(const char *, const char *, char *, size_t);
int		 sess_parseid(const char *, uint64_t *);
int		 sess_node(uint64_t, uint32_t *, char *, size_t);
void		 sess_copy_start(void);
void		 sess_copy_frame(const struct frame *);
int		 sess_here(uint64_t, uint32_t *);

/* event.c */
struct sess	*sess_find(uint64_t, int);
void		 ev_answer(struct ev *, const char *, const char *);
void		 ev_free(struct sess *, struct ev *);
int		 ev_send(struct client *, const struct ev *);
int		 ev_routerkey(const char *);
void		 ev_recv(const struct frame *);
void		 ev_list(struct client *, const struct frame *, struct frame *);
void		 ev_respond(const struct frame *, struct frame *);
int		 ev_pending(uint64_t);
int		 ev_token_live(const char *);
void		 ev_finish(void);

/* disp.c */
const char	*disp_event(const char *);
void		 disp_drop(uint64_t);
void		 disp_set(const struct frame *, uint64_t, struct frame *);
int		 disp_list(struct lsarg *);

/* manager.c */
extern int	 ismgr;
void		 mgr_init(void);
void		 mgr_release(void);
void		 mgr_request(const struct frame *, uint64_t, uint32_t,
		    struct frame *);
uint32_t	 mgr_node(void);
void		 mgr_forward(const struct frame *, struct frame *);
int		 mgr_hasservice(uint32_t);
void		 mgr_trylock(void);

/* right.c */
void		 right_token(struct client *, const struct frame *,
		    struct frame *);
void		 right_request(struct client *, const struct frame *,
		    struct frame *);
void		 right_token_end(const char *);
int		 right_respond(const char *);
void		 right_client_gone(struct client *);

/* client.c */
void		 client_init(void);
void		 client_shutdown(void);
int		 client_follow(uint64_t, const struct ev *);

#endif
