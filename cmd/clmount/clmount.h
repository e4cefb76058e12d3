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

#ifndef CLMOUNT_H
#define CLMOUNT_H

#define FUSE_USE_VERSION 312	/* fuse_loop_cfg_set_max_threads */

#include <sys/types.h>

#include <fuse.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>

#include "conf.h"
#include "ctl.h"
#include "fsproto.h"
#include "wire.h"

#define CM_IDLE_MAX	32	/* idle connections kept (each keeps its
				   read buffer, up to 1 MiB) */
#define CM_TIMEOUT_MIN	60000	/* ms: cliod retries clmetad for 30 s */
#define CM_ATTR_MAX	1.0	/* s: attribute and entry cache, at most */
#define CM_THREADS	16	/* FUSE workers, at most */
#define CM_WINDOW	16	/* writes of one file in flight */
#define CM_READAHEAD_KB	4096	/* kernel read-ahead: 4 reads in flight */

/*
 * One connection to the local cliod(8), opened with one caller's uid and
 * gid (cliod takes them from SO_PEERCRED): used by one FUSE worker at a
 * time, one request at a time, then put back for the next caller of the
 * same identity.
 */
struct cm_conn {
	struct ctl	 ctl;
	uid_t		 uid;
	gid_t		 gid;
	uint64_t	 txid;
	struct cm_conn	*next;
};

/*
 * An open file: the inode it named at open time, and its writes in
 * flight (write.c).
 */
struct cm_file {
	uint32_t	 ino;
	uint32_t	 gen;
	int		 flags;		/* open(2) flags */
	pthread_mutex_t	 lock;		/* of what follows */
	struct cm_conn	*wc;		/* writes go here while some are out */
	int		 nout;		/* writes sent, not answered */
	int		 error;		/* first failed write, not yet told */
	int		 refs;		/* open, plus drains in progress */
	struct cm_file	*next;		/* cm.files */
};

struct cm_mount {
	struct cl_conf	 conf;
	const char	*fs;		/* the file system's name */
	const char	*mountpoint;
	int		 asroot;	/* may take each caller's identity */
	int		 verbose;
	int		 timeout;	/* ms for one answer */
	double		 attr_timeout;	/* s */
	uint32_t	 bsize;		/* of the file system, for st_blocks */
	pthread_mutex_t	 lock;		/* of idle */
	struct cm_conn	*idle;
	int		 nidle;
	pthread_mutex_t	 flock;		/* of files, nfiles, refs */
	struct cm_file	*files;		/* open for writing */
	int		 nfiles;
	int		 npending;	/* files with writes out (hint) */
};

extern struct cm_mount	 cm;

/* pool.c */
struct cm_conn	*pool_get(uid_t, gid_t, int *);
void		 pool_put(struct cm_conn *);
void		 pool_drop(struct cm_conn *);
void		 pool_flush(void);
int		 pool_send(struct cm_conn *, struct frame *);
int		 pool_call(struct frame *, struct frame *, struct cm_conn **);
int		 pool_call_as(uid_t, gid_t, struct frame *, struct frame *,
		    struct cm_conn **);

/* write.c */
struct cm_file	*file_new(uint32_t, uint32_t, int);
void		 file_release(struct cm_file *);
int		 wb_write(struct cm_file *, const char *, size_t, uint64_t);
int		 wb_drain(struct cm_file *);
void		 wb_drain_all(void);

/* ops.c */
extern const struct fuse_operations cm_ops;

#endif /* CLMOUNT_H */
