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

#ifndef CLHSM_H
#define CLHSM_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <limits.h>
#include <stdint.h>
#include <time.h>

#include <sodium.h>

#include "conf.h"
#include "conn.h"
#include "ctl.h"
#include "fsproto.h"
#include "wire.h"

#define HSM_CHUNK	FS_IO_MAX	/* bytes per read or write step */
#define HSM_CALL_MS	60000		/* ms: an answer to a request */
#define HSM_RIGHT_SLACK_MS 5000		/* ms: right get, more */
#define HSM_TOKEN_MAX	64		/* bytes of a token */
#define HSM_EVTOK_MAX	32		/* events one recall answers */
#define HSM_RECALLS_MAX	1024		/* recalls waiting */
#define HSM_CANDS_MAX	4096		/* candidates per scan */
#define HSM_DIRS_MAX	65536		/* directories to read */
#define HSM_SCAN_STATS	64		/* stats per scan step */
#define HSM_INDEX_MAX	1000000		/* files in one archive */
#define HSM_CLIENTS_MAX	32		/* control connections */
#define HSM_ERR_MAX	(FS_PATH_MAX + 512) /* bytes of an error */
#define HSM_SHA_HEX	(crypto_hash_sha256_BYTES * 2 + 1)
#define HSM_SESSION_FMT	"clhsm.%s"	/* session name, per fs */
#define HSM_SOCK_FMT	"%s/clhsm.%s.sock"	/* rundir, fs */

/* ---- clhsm.c ---- */

void	 hsm_errf(char *, size_t, const char *, ...)
	    __attribute__((__format__ (printf, 3, 4)));

/* ---- fsio.c: the local cliod(8), RUNDIR/cliod.sock ---- */

struct fio {
	const struct cl_conf *conf;
	struct ctl	 ctl;
	int		 open;
	char		 fs[CONF_NAME_MAX];
	char		 error[HSM_ERR_MAX];	/* the last failure */
};

int	 fio_open(struct fio *, const struct cl_conf *, const char *);
void	 fio_close(struct fio *);
int	 fio_call(struct fio *, struct frame *, struct frame *, int);
int	 fio_stat(struct fio *, const char *, struct fs_attr *);
int	 fio_statfs(struct fio *, uint64_t *, uint64_t *);
int	 fio_readdir(struct fio *, const char *, uint64_t, struct frame *);
int	 fio_read(struct fio *, uint32_t, uint32_t, uint64_t, size_t,
	    const char *, uint8_t *, size_t *);
int	 fio_write(struct fio *, uint32_t, uint32_t, uint64_t,
	    const uint8_t *, size_t, const char *);
int	 fio_punch(struct fio *, uint32_t, uint32_t, uint64_t, const char *);
int	 fio_region(struct fio *, const char *, const char *,
	    const char *);
int	 fio_mtime(struct fio *, const char *, int64_t, const char *);
int	 fio_has_regions(const struct fs_attr *);

/* ---- dm.c: the local clsessiond(8), RUNDIR/clsessiond.sock ---- */

struct dm {
	const struct cl_conf *conf;
	struct ctl	 ctl;
	int		 open;
	struct conn	*ev;		/* the events of the session */
	char		 error[HSM_ERR_MAX];
};

int	 dm_open(struct dm *, const struct cl_conf *);
void	 dm_close(struct dm *);
int	 dm_session(struct dm *, const char *, uint64_t *);
int	 dm_destroy(struct dm *, uint64_t);
int	 dm_disp(struct dm *, const char *, const char *, uint64_t, int);
int	 dm_token(struct dm *, uint64_t, char *, size_t);
int	 dm_right(struct dm *, int, const char *, const char *,
	    const char *);
int	 dm_right_send(struct dm *, struct ctl *, const char *, const char *,
	    const char *);
int	 dm_right_poll(struct dm *, struct ctl *);
int	 dm_respond(struct dm *, const char *, int);
int	 dm_follow(struct dm *, uint64_t, conn_frame_cb, conn_close_cb,
	    void *);

/* ---- index.c: the archive directory and its index ---- */

enum ent_state {
	ENT_ARCHIVED,		/* copy durable; file not yet punched */
	ENT_MIGRATED		/* region set, blocks punched */
};

struct entry {
	RB_ENTRY(entry)	 node;
	uint32_t	 ino, gen;
	enum ent_state	 state;
	uint64_t	 size;		/* bytes archived */
	uint64_t	 valid;		/* bytes still the file's */
	int64_t		 mtime_ns;	/* the file's, when archived */
	int64_t		 when;		/* migrated, s since the epoch */
	uint8_t		 sha[crypto_hash_sha256_BYTES];
	char		*path;		/* last known */
	char		*oldpath;	/* before a rename, or NULL */
	uint64_t	 gone_ms;	/* a remove event: probe after this */
	int		 probes;	/* found still there so often */
	uint64_t	 seen;		/* the last scan that met it */
	int		 busy;		/* a job works on it */
};

RB_HEAD(entries, entry);
RB_PROTOTYPE(entries, entry, node, ent_cmp)

struct index {
	char		 dir[PATH_MAX];
	char		 fs[CONF_NAME_MAX];
	int		 lockfd;
	int		 fd;		/* the log, O_APPEND */
	struct entries	 ents;
	size_t		 n;
	size_t		 records;	/* lines in the log */
	int		 readonly;
	char		 error[HSM_ERR_MAX];
};

#define IDX_TOKENS_MAX	64		/* tokens open at a stop */

int	 idx_open(struct index *, const char *, const char *, int);
void	 idx_close(struct index *);
int	 idx_tokens(struct index *, char [][HSM_TOKEN_MAX], int);
int	 idx_put(struct index *, struct entry *);
int	 idx_migrated(struct index *, struct entry *);
int	 idx_valid(struct index *, struct entry *, uint64_t);
int	 idx_path(struct index *, struct entry *, const char *);
int	 idx_del(struct index *, struct entry *);
int	 idx_tok(struct index *, const char *, int);
struct entry *idx_find(struct index *, uint32_t, uint32_t);
struct entry *idx_find_ino(struct index *, uint32_t, struct entry *);
struct entry *idx_find_path(struct index *, const char *, struct entry *);
void	 idx_data(const struct index *, uint32_t, uint32_t, char *, size_t);
void	 idx_tmp(const struct index *, uint32_t, uint32_t, char *, size_t);
int	 idx_sweep(struct index *);
void	 idx_hex(const uint8_t *, char *);
int	 idx_compact(struct index *);

/* ---- job.c: migrate and recall, a bounded step at a time ---- */

enum job_kind {
	JOB_MIGRATE,
	JOB_RECALL,
	JOB_FINISH		/* an archived file of a crash: punch it */
};

struct job {
	TAILQ_ENTRY(job) link;
	enum job_kind	 kind;
	int		 state;
	int		 hand;		/* by hand: no age limit */
	char		 path[FS_PATH_MAX];
	uint32_t	 ino, gen;
	struct fs_attr	 attr;
	struct entry	*e;
	char		 token[HSM_TOKEN_MAX];	/* holds the right */
	int		 owntoken;	/* ours: answer it at the end */
	int		 right;		/* the right is held */
	struct ctl	 rctl;		/* a right get in flight */
	int		 rpending;
	uint64_t	 rdeadline;	/* ms: then it is given up */
	char		 evtok[HSM_EVTOK_MAX][HSM_TOKEN_MAX];
	int		 nevtok;	/* events answered when done */
	int		 fd;		/* the archive file */
	uint64_t	 off, end;
	crypto_hash_sha256_state h;
	uint8_t		 psha[crypto_hash_sha256_BYTES]; /* [0, end) */
	int		 psha_set;
	int		 err;		/* for the events; 0: continue */
	char		 why[HSM_ERR_MAX];
	void		*waiter;	/* control client to answer */
	uint64_t	 wtxid;
	uint64_t	 retry_ms;	/* EBUSY: try again then */
	int		 tries;
	int		 scanned;	/* looked for its path by a scan */
	int		 did;		/* migrated or recalled */
	int		 noregion;	/* recall: no region, compare */
};

struct hsm;

struct job *job_new(enum job_kind, const char *);
void	 job_free(struct job *);
int	 job_step(struct hsm *, struct job *);
void	 job_abort(struct hsm *, struct job *, int, const char *);

/* ---- scan.c: the file system's files, least recently used first ---- */

struct cand {
	char		*path;
	uint32_t	 ino, gen;
	int64_t		 used_ns;	/* atime, else mtime */
	uint64_t	 blocks;
};

struct scan {
	int		 active;
	int		 done;
	char		**dirs;		/* directories to read */
	size_t		 ndirs;
	char		*dir;		/* the one being read */
	uint64_t	 cookie;
	int		 dir_eof;
	char		**names;	/* a readdir page's names */
	size_t		 nnames, inames;
	struct cand	*c;
	size_t		 nc;
	size_t		 next;		/* the next to migrate */
	int64_t		 now_ns;
	uint64_t	 files;
	uint64_t	 serial;	/* entries met get it as seen */
};

void	 scan_start(struct scan *);
int	 scan_step(struct hsm *, struct scan *);
void	 scan_free(struct scan *);

/* ---- run.c: clhsm run, the DM application ---- */

struct hsm {
	struct cl_conf	 conf;
	const char	*fs;
	const char	*archive;
	int		 high, low;	/* percent used */
	int64_t		 min_age;	/* seconds */
	int		 interval_ms;
	int		 debug;		/* -d: log to stderr */
	uint64_t	 session;
	struct fio	 fio;
	struct dm	 dm;
	struct index	 idx;
	struct job	*mig;		/* the migration under way */
	TAILQ_HEAD(, job) recalls;	/* recall jobs, first is under way */
	int		 nrecalls;
	TAILQ_HEAD(, job) hands;	/* migrations asked for by hand */
	int		 nhands;
	struct scan	 scan;
	struct scan	 find;		/* for paths the index lost */
	int		 need_find;
	int		 campaign;	/* migrating until under low */
	uint64_t	 freed;		/* files migrated this round */
	uint64_t	 used0;		/* blocks used when it started */
	uint64_t	 punched;	/* blocks punched since */
	uint64_t	 backoff_ms;	/* no campaign before this */
	int		 stopping;
	uint64_t	 migrated, recalled, failed;	/* counters */
};

int	 run_main(struct hsm *);
void	 run_kick(struct hsm *);
void	 run_check(struct hsm *, struct entry *);
int	 hsm_right_ms(const struct hsm *);
int	 hsm_usage(struct hsm *, uint64_t *, uint64_t *);
void	 hsm_answer(struct hsm *, struct job *);

#endif /* CLHSM_H */
