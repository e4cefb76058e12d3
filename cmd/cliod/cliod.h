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

#ifndef CLIOD_H
#define CLIOD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>
#include <sys/uio.h>

#include <stdint.h>

#include "conf.h"
#include "conn.h"
#include "fsproto.h"
#include "loop.h"
#include "msg.h"
#include "wire.h"

/*
 * cliod: the data-transfer server of seed 002 (L295-L318, L740-L746):
 * it asks the file system's administrative server (clmetad) for block
 * lists and moves the data to and from the shared volume itself.
 */

#define CONN_INFLIGHT_MAX	(32 * 1024 * 1024)	/* bytes per client */
#define CONN_REQS_MAX		512		/* requests per client */
#define CONN_PARKED_MAX		(64 * 1024 * 1024)	/* bytes: then close */
#define GLOBAL_INFLIGHT_MAX	(256 * 1024 * 1024)	/* bytes, all clients */
#define CLIENTS_MAX		256		/* client connections */
#define SOCK_BUF		(4 * 1024 * 1024)	/* bytes, socket buffers */
#define CALLS_MAX		768		/* calls through clmemberd */
#define CALL_TRY_MS		10000		/* ms: one attempt's answer */
#define CALL_DEADLINE_MS	30000		/* ms: give up retrying */
#define BACKOFF_MIN_MS		20		/* ms */
#define BACKOFF_MAX_MS		1000		/* ms */
#define WRITE_PREALLOC		(8 * 1024 * 1024)	/* bytes mapped ahead */
#define READ_MAPAHEAD		(64 * 1024 * 1024)	/* bytes mapped ahead */
#define REMOTE_CHUNK		(60 * 1024)	/* bytes per forwarded frame */
/*
 * Disk workers.  Buffered pwrites to one file serialize on its inode
 * lock; with 4 workers on a 2-core machine they spent a fifth of their
 * time spinning on it and a 1 GiB put took 3.6 s, with 2 it took 1.3 s,
 * with 1 no faster, and reads were as fast with 2 as with 4.
 */
#define IO_THREADS		2
#define PIPES_MAX		64		/* pipes for spliced read answers */
#define SPLICE_MIN		(64 * 1024)	/* bytes: smaller reads are copied */
#define RUNS_MAX		64		/* unwritten runs per write */
#define SEGS_MAX		64		/* extents one request touches */
#define WRITE_TRIES		3		/* map/commit attempts */
#define SYNC_BATCH		32		/* writes one fdatasync waits for */
#define EXIT_GRACE_MS		10000		/* ms to finish at SIGTERM */
#define DM_RECS_MAX		1024		/* dispositions and sessions */
#define DM_HELD_MAX		4096		/* requests waiting for a DM answer */

struct client;
struct inode;

#define UTIL_CKEY_MAX		64	/* bytes: "1.cliod/7", "local/7" */

/* A piece of a read answer: bytes of the volume at dev, or zeros. */
struct rseg {
	uint64_t	 dev;
	uint64_t	 len;
	int		 zero;
};
struct req;

/* Utilization (seed 002 L446: the load-balance driver's counters). */
struct stats {
	uint64_t	 reads, writes, meta, errors;
	uint64_t	 rbytes, wbytes;
	uint64_t	 maps, maphits, commits, fsyncs, remote;
	uint64_t	 redirects;		/* answered redirect=1 */
	uint64_t	 inflight;
	double		 rbps, wbps;		/* EWMA, bytes per second */
	uint64_t	 rlast, wlast;		/* totals at the last tick */
};

/* A group fdatasync: writes whose data is out, waiting for one sync. */
struct syncw {
	TAILQ_ENTRY(syncw) entry;
	void		(*done)(struct syncw *, int);
	void		*arg;
};
TAILQ_HEAD(syncq, syncw);

/* A file system of the configuration. */
struct fsvol {
	char		 name[CONF_NAME_MAX];
	const struct cl_volume *cv;
	int		 fd;		/* -1: this node cannot reach it */
	int		 local;		/* the volume has a path on this node */
	uint64_t	 tried;		/* ms: the last open that failed */
	uint32_t	 bsize;
	uint64_t	 bytes;
	struct syncq	 syncwait;	/* for the next fdatasync */
	struct syncq	 syncing;	/* covered by the one running */
	int		 insync;
	int		 writing;	/* pwrites queued or running */
	int		 nsyncwait;
	struct stats	 st;
};

/* Where a request came from and where its answer goes. */
struct req {
	TAILQ_ENTRY(req) entry;		/* parked, or waiting for a map */
	TAILQ_ENTRY(req) wentry;	/* writes of a file: running, waiting */
	struct client	*cl;		/* NULL: from the mesh */
	char		 from[WIRE_VAL_MAX];	/* mesh: answer to */
	uint64_t	 txid;
	char		 op[WIRE_KEY_MAX + 1];
	struct fsvol	*v;
	uint32_t	 uid, gid;
	char		 groups[WIRE_VAL_MAX];
	uint32_t	 ino, gen;
	uint64_t	 off, len;
	uint8_t		*data;		/* write payload, read buffer */
	size_t		 datalen;
	int		 pipe[2];	/* read: the answer's bytes, or -1 */
	struct rseg	 segs[SEGS_MAX];	/* read: what fills the pipe */
	size_t		 nsegs;
	size_t		 hlen, hsent;	/* piped: its header, in data */
	size_t		 left;		/* piped: payload bytes not yet sent */
	size_t		 cost;		/* bytes counted against bounds */
	struct inode	*in;
	int		 pending;	/* disk jobs or chunks outstanding */
	int		 err;
	int		 tries;	/* write: commits refused as stale */
	int		 maps;		/* maps this request sent */
	int		 mapper;	/* the map it waits for is its own */
	int		 noahead;	/* write: map no more than it needs */
	int		 eof;
	uint64_t	 size;		/* the answer's size= */
	struct fs_extent runs[RUNS_MAX];	/* unwritten, to commit */
	size_t		 nruns;
	uint64_t	 lease;		/* write: the lease it wrote under */
	struct syncw	 sw;
	struct timer	 t;		/* remote: waiting for a peer */
	struct frame	*fwd;		/* metadata: the frame for clmetad */
	void		*rctx;		/* remote: the chunks */
	uint64_t	 started;	/* ms */
	char		 token[48];	/* DM invisible I/O: no events */
	int		 dmdone;	/* its DM event was answered */
	uint32_t	 destroyed;	/* unlink/rename freed this inode */
	/* Client load rebalancing (util.c). */
	uint32_t	 via;		/* through this node's cliod, 0: any */
	int		 aware;		/* aware=1: may be redirected */
	uint64_t	 cid;		/* the local client's number */
	char		 ckey[UTIL_CKEY_MAX];	/* the client, for redirects */
	int		 busy;		/* counted in the utilization */
};
TAILQ_HEAD(reqq, req);

/* What cliod knows of one file: its cached block list and its writes. */
struct inode {
	RB_ENTRY(inode)	 entry;
	struct fsvol	*v;
	uint32_t	 ino, gen;
	int		 valid;
	int		 wlease;	/* the lease allows writes */
	uint64_t	 lease;
	uint64_t	 expires;	/* ms: stop using the list then */
	uint64_t	 mstart, mend;	/* the bytes the list covers */
	uint64_t	 size;
	struct fs_extent *ext;
	size_t		 next, extcap;
	int		 mapping;	/* a map is in flight */
	struct reqq	 mapwait;	/* requests waiting for it */
	struct reqq	 writes;	/* writes in progress */
	struct reqq	 wwait;		/* writes waiting for a block */
	int		 refs;
	int		 dm;		/* the list of a DM token's I/O */
	int		 giveback;	/* recalled: release when unused */
	struct vol_region rg[VOL_REGIONS];	/* managed, from the map */
};

/* cliod.c */
extern struct cl_conf	 conf;
extern struct fsvol	 vols[CONF_VOLUMES_MAX];
extern int		 nvols;
extern int		 exiting;
struct fsvol	*vol_find(const char *);
int		 vol_ready(struct fsvol *);

/* client.c */
int		 client_init(void);
void		 client_shutdown(void);
int		 client_count(void);
void		 req_answer(struct req *, struct frame *);
void		 req_answer_pipe(struct req *, struct frame *);
void		 req_fail(struct req *, int, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));
void		 req_done(struct req *);
struct req	*req_new(void);
void		 req_mesh(const struct frame *);
void		 req_add_ids(const struct req *, struct frame *);

/* meta.c */
typedef void	(*call_cb)(void *, int, const struct frame *);
int		 meta_init(void);
void		 meta_shutdown(void);
int		 meta_call(struct fsvol *, struct frame *, call_cb, void *);
int		 mesh_call(uint32_t, struct frame *, call_cb, void *);
int		 mesh_call_aware(uint32_t, struct frame *, call_cb, void *);
uint32_t	 meta_pick_peer(struct fsvol *);
int		 meta_cliod_on(uint32_t);
uint32_t	 meta_self(void);
int		 meta_calls(void);
int		 meta_send(struct frame *);
int		 meta_local(struct frame *);
int		 svc_call(uint32_t, const char *, struct frame *, int, call_cb,
		    void *);

/* dmapi.c */
struct dmstats {
	uint64_t	 sent, answered, aborted, timedout, failed;
};
typedef void	(*dm_go)(struct req *);
void		 dm_connected(void);
int		 dm_local(const struct frame *);
int		 dm_hold(struct req *, dm_go);
int		 dm_region(struct req *);
void		 dm_region_wait(struct req *, dm_go);
void		 dm_after(struct req *);
const struct dmstats *dm_stats(void);

/* io.c */
struct iojob;
typedef void	(*io_cb)(struct iojob *);
int		 io_init(int);
void		 io_shutdown(void);
int		 io_pwritev(int, const struct iovec *, int, off_t, io_cb,
		    void *);
int		 io_pread(int, void *, size_t, off_t, io_cb, void *);
int		 io_splice(int, int, const struct rseg *, size_t, io_cb,
		    void *);
void		*io_arg(const struct iojob *);
int		 io_error(const struct iojob *);
void		 io_sync(struct fsvol *, struct syncw *);
void		 io_sync_kick(struct fsvol *);
int		 io_queued(void);

/* mapcache.c */
struct inode	*mc_get(struct fsvol *, uint32_t, uint32_t, int);
void		 mc_put(struct inode *);
int		 mc_covers(const struct inode *, uint64_t, uint64_t, int);
void		 mc_map(struct inode *, struct req *, uint64_t, uint64_t,
		    int);
void		 mc_drop(struct inode *);
void		 mc_recall(struct fsvol *, uint32_t);
void		 mc_written(struct inode *, const struct fs_extent *,
		    size_t, uint64_t);
void		 mc_release_all(void);
int		 mc_count(void);

/* write.c */
void		 write_start(struct req *);
void		 write_ready(struct req *, int);

/* read.c */
void		 read_start(struct req *);
void		 read_ready(struct req *, int);
void		 read_pipe_put(struct req *);

/* remote.c */
void		 remote_start(struct req *);

/* util.c */
void		 util_init(void);
void		 util_connected(void);
int		 util_local(const struct frame *);
int		 util_check(struct req *);
void		 util_serve(struct req *);
void		 util_done(struct req *);
void		 util_slow(struct req *, const struct frame *);
int		 util_now(void);
int		 util_active(void);
int		 util_slow_ms(void);
uint64_t	 util_redirects(void);

/* stats.c */
void		 stats_init(void);
void		 stats_answer(struct req *);
struct stats	*stats_total(void);

#endif /* CLIOD_H */
