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

#ifndef CLLAUNCH_H
#define CLLAUNCH_H

#include <sys/types.h>

#include <stdint.h>

#include "conf.h"
#include "ctl.h"
#include "dbclient.h"
#include "loop.h"
#include "wire.h"

#define LAUNCH_LAYER		900	/* the event manager: the top layer */
#define LAUNCH_LOCK		"cllaunch"
#define LAUNCH_PREFIX		"launch/"
#define ASSIGN_KEY		"rebalance/assign"	/* clrebalance(8) */
#define LAUNCH_TICK_MS		1000	/* placement and state re-checked */
#define LAUNCH_RETRY_MS		200	/* lock held elsewhere, db busy */
#define LAUNCH_CONNECT_MS	500	/* clmemberd away: connect again */
#define CHILD_MAX		(2 * CONF_SERVICES_MAX)	/* SIGHUP keeps removed ones until they stop */

/* A local instance of a service (seed 004 L268: its states). */
enum child_state {
	CH_STOPPED,
	CH_RECOVERING,		/* the recovery command runs */
	CH_RUNNING,
	CH_BACKOFF,		/* died; restarted when the timer fires */
	CH_STOPPING,		/* SIGTERM sent; SIGKILL at the timer */
	CH_FAILED		/* gave up: too many starts in burst_ms */
};

struct child {
	struct cl_service sv;		/* a copy: SIGHUP replaces conf */
	int		 want;		/* should run on this node */
	enum child_state state;
	pid_t		 pid;		/* the service, or its recovery */
	int		 restarts;	/* since it was placed here */
	int		 lastexit;	/* wait(2) status of the last exit */
	uint64_t	 started;	/* ms, of the running process */
	uint64_t	 backoff;	/* next restart delay, ms */
	uint64_t	*starts;	/* ring of start times, burst + 1 */
	int		 nstarts;
	uint64_t	 since;		/* wall clock s, of the last change */
	uint64_t	 gen;		/* the registration it runs for */
	uint64_t	 recovered;	/* the gen whose recovery ran */
	uint64_t	 notified;	/* the gen whose notify ran */
	pid_t		 npid;		/* the notify command */
	int		 dirty;		/* status record to write */
	int		 gone;		/* removed from the config */
	struct timer	 t;
};

/* The registration of a one-instance service: the record launch/NAME. */
enum reg_state {
	REG_NONE,		/* no record */
	REG_STARTING,
	REG_REGISTERED,
	REG_STOPPING,		/* transfer intent: to= starts after */
	REG_RECOVERING,
	REG_FAILED,
	REG_UNPLACED		/* no allowable node is up */
};

struct reg {
	enum reg_state	 state;
	uint32_t	 node;
	uint32_t	 to;		/* REG_STOPPING: the next node */
	uint64_t	 gen;
	uint64_t	 ver;		/* of the record, for compare-and-set */
	uint8_t		 failed[CONF_NODEID_MAX + 1];
};

/* What clmemberd says of the cluster. */
struct view {
	int		 quorum;
	uint64_t	 epoch;
	uint8_t		 avail[CONF_NODEID_MAX + 1];	/* joined members */
	uint8_t		 leaving[CONF_NODEID_MAX + 1];
};

struct launch {
	struct cl_conf	*conf;
	const char	*confpath;
	char		 bindir[1024];
	uint32_t	 self;
	int		 nchild;
	struct child	 child[CHILD_MAX];	/* by service */
	struct reg	 reg[CHILD_MAX];	/* same index */
	uint32_t	 assign[CHILD_MAX];	/* clrebalance's node, or 0 */
	struct view	 view;
	int		 forced;	/* this node was forced out */
	int		 leaving;	/* this node leaves: run nothing */
	uint64_t	 leave_txid;	/* notify to ack once all stopped */
	int		 exiting;
	struct ctl	 sub;		/* the subsystem registration */
	struct dbc	 db;		/* requests */
	struct ctl	 watch;		/* launch/ changes */
	int		 up;		/* the three are open */
	int		 resync;	/* read launch/ again */
	int		 hot;		/* ticks left at 100 ms */
	uint64_t	 txid;
	struct timer	 workt;
	struct timer	 tick;
	struct timer	 connt;
	struct timer	 decidet;
	struct timer	 exitt;
};

extern struct launch *L;

/* cllaunch.c */
void		 launch_changed(void);
void		 launch_lost(void);
void		 launch_maybe_exit(void);

/* tool.c */
int		 launch_tool(int, char **);

/* child.c */
void		 child_init(struct child *, const struct cl_service *);
void		 child_want(struct child *, int);
void		 child_reaped(pid_t, int);
void		 child_stop_all(void);
int		 child_running(void);
const char	*child_state_name(enum child_state);
void		 child_restart(struct child *);
void		 child_notify(struct child *, uint32_t, uint64_t);

/* place.c */
uint32_t	 place_pick(const struct cl_service *, const struct view *,
		    const struct reg *, uint32_t);
int		 place_decide(const struct cl_service *, const struct view *,
		    const struct reg *, struct reg *);

/* reg.c */
int		 reg_parse(const char *, struct reg *);
void		 reg_format(const struct reg *, char *, size_t);
const char	*reg_state_name(enum reg_state);
int		 reg_load(void);
void		 reg_watch_read(void);
void		 reg_reconcile(void);
void		 reg_take_assign(const char *);
void		 reg_decide(void);
void		 reg_release_all(void);
void		 reg_write_status(struct child *);
int		 db_call(struct frame *, struct frame *);

/* member.c */
int		 member_open(void);
void		 member_close(void);
void		 member_read(void);
int		 member_view(struct view *);
void		 member_ack(uint64_t);

#endif /* CLLAUNCH_H */
