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

#ifndef CLMEMBERD_H
#define CLMEMBERD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <stdint.h>

#include "auth.h"
#include "conf.h"
#include "conn.h"
#include "loop.h"
#include "sock.h"
#include "wire.h"

#define NODEID_MAX	CONF_NODEID_MAX
#define LAYER_MIN	1
#define LAYER_MAX	999
#define BARRIERS_MAX	8		/* per layer and transition type */
#define SUBS_MAX	32		/* local subsystems */
#define TRANS_MAX	(2 * CONF_NODES_MAX)
#define LAYERS_MAX	SUBS_MAX	/* distinct layers a node reports */
#define CLIENTS_MAX	128		/* control socket connections */
#define PENDING_MAX	(2 * CONF_NODES_MAX)	/* unauthenticated peers */
#define PEER_OUTMAX	(4 * 1024 * 1024)	/* bytes queued to a peer */
#define CLIENT_OUTMAX	(1024 * 1024)		/* bytes queued to a client */
#define HELLO_PAYLOAD	4096		/* bytes, before authentication */
#define SVCS_MAX	64		/* services per node */
#define RCPT_PER_CLIENT	1024		/* receipts a client awaits */
#define ROUTE_PEER_MAX	(2 * 1024 * 1024) /* routed bytes queued to a peer */
#define DB_KEY_MAX	128		/* bytes */
#define DB_VAL_MAX	WIRE_VAL_MAX	/* bytes */
#define DB_RECORDS_MAX	4096
#define DB_BYTES_MAX	(2 * 1024 * 1024) /* keys and values, all records */

/* A set of node ids, 1 to NODEID_MAX. */
struct nodeset {
	uint64_t	 w[4];
};

void		 ns_clear(struct nodeset *);
void		 ns_add(struct nodeset *, uint32_t);
void		 ns_del(struct nodeset *, uint32_t);
int		 ns_has(const struct nodeset *, uint32_t);
int		 ns_count(const struct nodeset *);
int		 ns_eq(const struct nodeset *, const struct nodeset *);
int		 ns_subset(const struct nodeset *, const struct nodeset *);
uint32_t	 ns_min(const struct nodeset *);
uint32_t	 ns_next(const struct nodeset *, uint32_t);
void		 ns_and(struct nodeset *, const struct nodeset *);
char		*ns_fmt(const struct nodeset *, char *, size_t);
int		 ns_parse(const char *, struct nodeset *);

#define NS_FOREACH(id, set) \
	for ((id) = ns_next((set), 0); (id) != 0; (id) = ns_next((set), (id)))

/* Node states, seed 004 L153-163. */
enum mstate {
	MS_INACTIVE,
	MS_JOINING,
	MS_JOINED,
	MS_LEAVING,
	MS_FORCED
};

/* Transition types; the order of their layers is in transition.c. */
enum ttype {
	T_JOIN,
	T_LEAVE,
	T_FORCED,
	T_NTYPES
};

/* A layer some node's subsystems registered, and its barrier counts. */
struct layerinfo {
	int		 layer;
	int		 barriers[T_NTYPES];
};

/* One node's transition, as the coordinator drives it (seed 004 L169-203). */
struct trans {
	uint64_t	 tid;
	uint32_t	 node;
	uint64_t	 inc;		/* incarnation of the node */
	enum ttype	 type;
	int		 layer;		/* current layer, 0 before the first */
	int		 barrier;
	int		 barriers;	/* of the current layer */
	int		 top;		/* forced leave climbs no higher */
	int		 reached;	/* highest layer a join was told */
	int		 leave_pending;	/* seed 004 L185 */
	struct nodeset	 parts;		/* members that take part */
	/* Coordinator only, not replicated. */
	struct nodeset	 acked;
	uint64_t	 step_start;	/* ms */
	int		 warned;
};

/* The replicated cluster state: a committed view and its transitions. */
struct cstate {
	uint64_t	 epoch;
	uint64_t	 ver;		/* changes within the epoch */
	uint64_t	 next_tid;
	struct nodeset	 members;
	uint64_t	 inc[NODEID_MAX + 1];
	enum mstate	 ms[NODEID_MAX + 1];
	int		 ntrans;
	struct trans	 trans[TRANS_MAX];
};

enum reach {
	REACH_DOWN,
	REACH_SUSPECT,
	REACH_UP
};

struct peer {
	const struct cl_node	*cn;
	uint32_t		 id;
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	char			 addr[SOCK_ADDRSTRLEN];
	struct conn		*conn;	/* authenticated connection */
	struct auth		*auth;
	int			 dialfd;
	struct timer		 dialt;
	uint64_t		 backoff;	/* ms */
	uint64_t		 inc;
	uint64_t		 last_heard;	/* ms */
	enum reach		 reach;
	uint64_t		 reach_since;	/* ms */
	/* From its latest heartbeat. */
	int			 hb_seen;
	struct nodeset		 alive;
	uint64_t		 epoch;
	uint64_t		 seen;		/* newest committed epoch */
	uint64_t		 promised;
	int			 inview;
	int			 ready;
	int			 leave;
	int			 nlayers;
	struct layerinfo	 layers[LAYERS_MAX];
	/* Flap damping. */
	double			 penalty;
	uint64_t		 penalty_at;	/* ms */
	int			 damped;
	/* Its cluster database, from its latest heartbeat. */
	uint64_t		 dbe;		/* epoch of its last update */
	uint64_t		 dbs;		/* and its sequence number */
	int			 dbready;	/* coordinator: takes writes */
	/* Its services, from its latest svcs frame. */
	int			 nsvcs;
	char			 svcs[SVCS_MAX][WIRE_KEY_MAX + 1];
};

/* A local subsystem registered on the control socket. */
struct sub {
	int			 slot;
	char			 name[WIRE_KEY_MAX + 1];
	int			 layer;
	int			 barriers[T_NTYPES];
	struct client		*client;
};

struct svc;

struct client {
	TAILQ_ENTRY(client)	 entry;
	struct conn		*conn;
	uid_t			 uid;
	gid_t			 gid;
	pid_t			 pid;
	int			 priv;
	int			 watching;
	int			 doomed;	/* close at the next turn */
	struct sub		*sub;
	struct svc		*svc;		/* its routing service */
	char			 dbwatch[DB_KEY_MAX + 1]; /* prefix watched */
	int			 dbwatching;
	int			 nrcpts;	/* receipts it awaits */
};

/* A step a local layer works on: seed 004's notification and its acks. */
struct lstep {
	uint64_t		 tid;
	uint32_t		 node;
	enum ttype		 type;
	int			 layer;
	int			 barrier;
	int			 local;		/* our own forced leave */
	uint32_t		 pending;	/* sub slots yet to ack */
	uint64_t		 txid[SUBS_MAX];
	int			 done;
	uint64_t		 done_at;	/* ms */
	uint64_t		 acked_epoch;	/* ack sent under this view */
	uint64_t		 start;		/* ms */
	int			 warned;
};

struct clmemberd {
	struct cl_conf		 conf;
	const char		*confpath;
	struct auth_conf	 aconf;
	uint32_t		 self;
	uint64_t		 inc;
	int			 quorum_size;
	int			 debug;
	uint64_t		 started;	/* ms */
	gid_t			 ctlgid;
	int			 tcpfd;
	int			 ctlfd;
	char			 ctlpath[PATH_MAX];
	char			 statepath[PATH_MAX];
	struct peer		*peers[NODEID_MAX + 1];
	int			 npending;
	/* The view. */
	struct cstate		 cs;	/* installed, or last seen if !inview */
	int			 inview;
	int			 quorum;
	uint64_t		 promised;
	uint64_t		 max_epoch;	/* highest seen anywhere */
	uint64_t		 view_since;	/* ms */
	/* A proposal of ours in flight. */
	int			 proposing;
	uint64_t		 p_epoch;
	struct nodeset		 p_members;
	struct nodeset		 p_acked;
	struct cstate		 p_best;
	struct timer		 p_timer;
	uint64_t		 p_retry_at;	/* ms */
	/* Local state the heartbeat tells. */
	int			 held;		/* -j: wait for clmember join */
	int			 leaving;	/* graceful leave asked */
	int			 exiting;	/* exit once the leave is done */
	int			 panicking;	/* our forced leave runs locally */
	/* Local subsystems and steps. */
	struct sub		 subs[SUBS_MAX];
	uint32_t		 subs_used;
	int			 nsteps;
	struct lstep		 steps[TRANS_MAX + 1];
	TAILQ_HEAD(, client)	 clients;
	int			 nclients;
	/* Deferred work. */
	struct timer		 workt;
	struct timer		 hbt;
	struct timer		 exitt;
	int			 hb_dirty;
	int			 state_dirty;
	uint64_t		 hbseq;
	uint64_t		 txid;
};

extern struct clmemberd	*D;

/* clmemberd.c */
void		 kick(void);
void		 request_exit(const char *);

/* peer.c */
int		 peer_init(void);
void		 peer_heartbeat(void);
int		 peer_send(struct peer *, const struct frame *);
void		 peer_broadcast(const struct frame *, const struct nodeset *);
void		 peer_tell(struct peer *, const struct frame *);
void		 peer_alive(struct nodeset *);
struct peer	*peer_get(uint32_t);
void		 peer_flush_all(void);
void		 peer_shutdown(void);

/* view.c */
void		 view_init(void);
void		 view_evaluate(void);
int		 view_frame(struct peer *, struct frame *);
void		 view_peer_down(struct peer *);
void		 view_peer_up(struct peer *);
void		 view_hb_fields(struct frame *);
void		 view_take_hb(struct peer *, const struct frame *);
void		 view_install(const struct cstate *);
void		 view_publish(struct cstate *);
void		 view_resend(void);
void		 view_leave(int);
void		 view_join(void);
uint32_t	 view_coordinator(void);
const char	*mstate_name(enum mstate);

/* transition.c */
void		 trans_derive(struct cstate *, const struct cstate *,
		    const struct nodeset *, uint64_t);
void		 trans_coordinate(void);
void		 trans_ack(uint32_t, uint64_t, int, int);
int		 trans_leave_request(struct cstate *, uint32_t);
void		 trans_install(const struct cstate *);
void		 trans_panic(void);
void		 trans_sub_gone(struct sub *);
void		 trans_sub_added(struct sub *);
int		 trans_sub_ack(struct sub *, uint64_t);
void		 trans_check_stuck(void);
void		 trans_resync(void);
int		 layers_of(uint32_t, struct layerinfo *, int);
const char	*ttype_name(enum ttype);
const char	*ttype_desc(enum ttype);
void		 states_fmt(const struct cstate *, char *, size_t);

/* cstate.c */
int		 cstate_encode(const struct cstate *, struct buf *);
int		 cstate_decode(const uint8_t *, size_t, struct cstate *,
		    const char **);
int		 cstate_newer(const struct cstate *, const struct cstate *);
struct trans	*cstate_trans(struct cstate *, uint64_t);
struct trans	*cstate_trans_of(struct cstate *, uint32_t);
void		 cstate_drop_trans(struct cstate *, struct trans *);

/* control.c */
int		 control_init(void);
void		 control_event(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));
int		 control_notify(struct sub *, struct frame *);
int		 control_send(struct client *, const struct frame *);
int		 control_error(struct client *, uint64_t, const char *,
		    const char *, ...)
		    __attribute__((__format__ (printf, 4, 5)));
void		 control_shutdown(void);

/* route.c */
void		 route_init(void);
int		 route_client_frame(struct client *, struct frame *);
int		 route_register(struct client *, const char *, const char **);
void		 route_client_gone(struct client *);
int		 route_peer_frame(struct peer *, struct frame *);
void		 route_peer_up(struct peer *);
void		 route_peer_down(struct peer *);
int		 route_services(struct buf *);

/* db.c */
int		 db_init(void);
void		 db_hb_fields(struct frame *);
void		 db_take_hb(struct peer *, const struct frame *);
void		 db_view_changed(void);
void		 db_node_left(uint32_t, uint64_t);
void		 db_tick(void);
void		 db_check_synced(void);
void		 db_peer_down(struct peer *);
int		 db_synced(void);
int		 db_peer_frame(struct peer *, struct frame *);
int		 db_client(struct client *, struct frame *);
void		 db_client_gone(struct client *);

/* dbfile.c */
struct dbfile_ops {
	int	(*snap)(uint64_t, uint64_t);
	int	(*rec)(uint64_t, const char *, const char *);
	int	(*upd)(uint64_t, uint64_t, const char *, const char *);
};
int		 dbfile_open(const char *, const struct dbfile_ops *);
int		 dbfile_append(uint64_t, uint64_t, const char *, const char *);
int		 dbfile_bloated(size_t);
int		 dbfile_rewrite(uint64_t, uint64_t, const struct buf *, size_t);
void		 dbfile_close(void);

/* statefile.c */
int		 statefile_load(void);
int		 statefile_promise(uint64_t);
int		 statefile_syncdir(const char *);

/* nodeset.c is above; damping lives in view.c. */

#endif /* CLMEMBERD_H */
