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

#ifndef CLMETAD_H
#define CLMETAD_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "fsproto.h"
#include "loop.h"
#include "msg.h"
#include "vol.h"
#include "wire.h"

/*
 * clmetad: the administrative server of one file system (seed 002 L303:
 * exactly one admin per volume; it owns access, security, free space and
 * directories, and translates {file, offset, amount} into block lists,
 * L740-L746).  Everything lives in memory; every change goes through the
 * journal before it is answered.
 */

#define META_FRAMES_TURN	256	/* requests taken per loop turn */
#define META_ANSWERS_MAX	1024	/* answers waiting for a commit */
#define META_LEASES_MAX		65536	/* leases at once */
#define META_QUAR_MAX		65536	/* quarantined runs at once */
#define META_MAP_EXTENTS	512	/* extent lines per map answer */
#define META_MAP_ALLOC_MAX	(64ULL * 1024 * 1024)	/* bytes per map */
#define META_FILE_MAX		(1ULL << 48)	/* bytes of a file */
#define META_FENCE_MS		1000	/* epoch poll, ms */
#define META_LOCK_RETRY_MS	1000	/* DB lock retry, ms, at most */
#define META_LOCK_FIRST_MS	50	/* DB lock retry, ms, at first */
#define META_LOCK_FAST_MS	5000	/* how long "at first" lasts */
#define META_GROUPS_MAX		32	/* groups= of a caller */
#define META_RIGHTS_MAX		4096	/* DM access rights at once */
#define META_TOKEN_MAX		48	/* bytes of a DM token, NUL too */
#define META_ATIME_NS		(86400LL * 1000000000)	/* relatime */

/* Who asks: uid/gid as cliod read them from SO_PEERCRED. */
struct cred {
	uint32_t	 uid, gid;
	uint32_t	 groups[META_GROUPS_MAX];
	int		 ngroups;
};

/* A list of extents, sorted by lblk, never overlapping. */
struct extlist {
	struct vol_extent *e;
	uint32_t	 n, cap;
};

struct dent;

/* A directory's slots: position = lblk * per-block + slot. */
struct dir {
	struct dent	**slot;
	uint32_t	 nslot;		/* slots of its mapped blocks */
	uint32_t	 nent;
	uint32_t	 hint;		/* lowest slot that may be free */
};

/* An inode in use. */
struct minode {
	struct vol_inode d;		/* ext/nextents/ext_block: at encode */
	struct extlist	 x;		/* every extent, inline ones first */
	uint64_t	*ovf;		/* overflow chain blocks */
	uint32_t	 novf;
	int		 dirty;
	struct dir	*dir;
};

/* A directory entry in the index. */
struct dent {
	struct dent	*hnext;
	uint32_t	 dir, ino;
	uint32_t	 pos;
	uint8_t		 type;
	uint8_t		 namelen;
	char		 name[];
};

/* An answer waiting for its transaction to be durable. */
struct answer {
	TAILQ_ENTRY(answer) entry;
	uint64_t	 txid;
	char		 to[WIRE_KEY_MAX + 16];
	uint8_t		*payload;
	struct frame	 f;
};

/* A block image in the current transaction. */
struct txblk {
	struct txblk	*hnext;
	uint64_t	 pblk;
	uint8_t		*img;
};

struct lease {
	uint64_t	 id;
	uint32_t	 ino, gen, node;
	int		 write;
	uint64_t	 expiry;	/* ms, CLOCK_MONOTONIC */
};

/* Blocks freed while leases were out: free once none is left. */
struct quar {
	uint32_t	 ino;
	uint64_t	 pblk;
	uint32_t	 count;
};

enum meta_state {
	ST_LOCK,		/* waiting for the cluster DB lock */
	ST_GRACE,		/* fenced the old admin, waiting lease_ms */
	ST_SERVE
};

struct meta {
	struct cl_conf	 conf;
	const char	*confpath;
	const char	*name;		/* the file system */
	const char	*path;		/* its volume */
	uint32_t	 self;
	enum meta_state	 state;
	int		 exiting;
	int		 debug;

	int		 fd;
	struct vol_super sb;
	uint32_t	 bs;
	uint32_t	 per_dirblk;	/* dirents per block */

	/* Allocation. */
	uint8_t		*bitmap;
	size_t		 bmbytes;
	uint64_t	 bfree;
	uint64_t	 bhint;
	uint8_t		*bmdirty;	/* per bitmap block */
	struct minode	**ino;		/* [ninodes + 1], NULL: free */
	uint32_t	*gen;		/* of free inodes */
	uint32_t	 ifree;
	uint32_t	 ihint;
	struct quar	*quar;
	size_t		 nquar;

	/* Directory index: (dir, name) -> entry. */
	struct dent	**htab;
	size_t		 hsize, hcount;

	/* Journal. */
	uint64_t	 jhead;		/* next record, relative block */
	uint64_t	 jseq;
	uint32_t	 jcap;		/* blocks per record */
	uint8_t		*jbuf;

	/* The current transaction. */
	struct txblk	**txh;
	size_t		 txhsize;
	struct txblk	**txl;
	uint32_t	 txn;
	uint32_t	*txino;
	uint32_t	 ntxino, txinocap;
	int		 txbad;		/* something failed: do not commit */
	TAILQ_HEAD(, answer) answers;
	size_t		 nanswers;

	/* Leases. */
	struct lease	*leases;
	size_t		 nleases;
	uint64_t	 lease_next;

	struct msg	 msg;
	int		 msg_open;
	struct ctl	 db;
	int		 db_open;
	struct timer	 lockt, gracet, fencet, leaset, readt;
	uint64_t	 lock_logged;
	uint64_t	 lock_since;	/* ms, first refusal of the lock */
};

extern struct meta *M;

/* clmetad.c */
struct answer	*meta_answer(const struct frame *);
void		 meta_queue(struct answer *);
void		 meta_send_answers(void);
void		 meta_fenced(uint64_t, uint32_t);

/* journal.c */
int		 tx_init(void);
uint8_t		*tx_block(uint64_t);
uint8_t		*tx_block_new(uint64_t);
void		 tx_inode(uint32_t);
void		 tx_bitmap(uint64_t);
int		 tx_room(uint32_t);
void		 tx_commit(void);
int		 tx_empty(void);
void		 journal_checkpoint(void);
int		 journal_open(void);
void		 fence_check(void);
int		 fence_bump(void);

/* alloc.c */
int		 alloc_load(void);
int		 alloc_block_used(uint64_t);
uint64_t	 alloc_run(uint64_t, uint64_t, uint64_t *);
void		 alloc_free_run(uint64_t, uint64_t);
void		 alloc_unfree_run(uint64_t, uint64_t);
void		 alloc_release(uint32_t, uint64_t, uint64_t);
void		 alloc_quar_drain(uint32_t);
uint32_t	 alloc_inode(void);
void		 alloc_free_inode(uint32_t);
void		 alloc_reclaim(void);
uint64_t	 alloc_ovf_need(uint32_t);

/* inode.c */
int		 inode_load(void);
struct minode	*inode_get(uint32_t);
void		 inode_encode_into(uint32_t);
void		 inode_attr(uint32_t, struct fs_attr *);
uint64_t	 inode_blocks(const struct minode *);
int		 ext_lookup(const struct extlist *, uint64_t, uint32_t *);
int		 ext_copy(struct extlist *, const struct extlist *);
void		 ext_free(struct extlist *);
int		 ext_add(struct extlist *, const struct vol_extent *);
void		 ext_normalize(struct extlist *);
int		 ext_split_at(struct extlist *, uint64_t);
int		 inode_set_extents(uint32_t, struct extlist *);
int		 inode_punch(uint32_t, uint64_t, int);
uint64_t	 ext_pblk(const struct minode *, uint64_t);
void		 inode_touch(struct minode *, int);
int64_t		 now_ns(void);

/* dir.c */
int		 dir_load(void);
struct dent	*dir_lookup(uint32_t, const char *, size_t);
int		 dir_add(uint32_t, const char *, size_t, uint32_t, uint8_t);
void		 dir_remove(struct dent *);
int		 dir_need_block(uint32_t);
int		 dir_init(uint32_t);
void		 dir_free(uint32_t);

/* ops.c */
void		 ops_request(const struct frame *);

/* lease.c */
int		 lease_get(uint32_t, uint32_t, uint32_t, int, uint64_t *,
		    uint64_t *);
uint32_t	 lease_count(uint32_t, int);
struct lease	*lease_find(uint64_t);
void		 lease_drop(uint64_t);
int		 lease_busy(uint32_t, uint32_t);
void		 lease_recall(uint32_t, uint32_t, int);
void		 lease_tick(void *);
void		 lease_changed(uint32_t);
void		 lease_end_all(void);

/* right.c */
void		 right_tick(void);
int		 right_conflict(uint32_t, const char *, int, const char **);
int		 right_held(uint32_t, const char *);
int		 right_grant(uint32_t, const char *, int);
void		 right_drop(uint32_t, const char *);

#endif /* CLMETAD_H */
