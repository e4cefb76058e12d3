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
 * clhsm run: the HSM DM application of seed 000 (claims 13, 30, 47).  One
 * process, one event loop: the session's events (clsessiond follow
 * connection), the control socket RUNDIR/clhsm.FS.sock (migrate, recall,
 * status by hand), a tick every --interval (statfs against the
 * watermarks), and a work timer that runs one bounded step of a job per
 * loop turn, so that an event waits at most one step (one HSM_CHUNK of
 * I/O, or one right request) before it is read.
 *
 * Dispositions of the session clhsm.FS: read, write and truncate sync
 * (a recall must come before the I/O; a truncate shortens what a recall
 * writes back), remove, rename and nospace async.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "clhsm.h"
#include "log.h"
#include "loop.h"
#include "sock.h"

#define PROBE_DELAY_MS	500		/* after a remove event */
#define PROBES_MAX	4		/* looks while the file stays */
#define BACKOFF_MIN_MS	10000		/* after a round fell short */
#define EVRETRY_MS	1000		/* clsessiond gone: try again */
#define STATUS_PAGE	1024		/* files per status answer */

struct client {
	LIST_ENTRY(client) entry;
	struct conn	*conn;
	uid_t		 uid;
	gid_t		 gid;
	struct hsm	*h;
};

static const struct {
	const char	*event;
	int		 sync;
} disps[] = {
	{ "read", 1 }, { "write", 1 }, { "truncate", 1 },
	{ "remove", 0 }, { "rename", 0 }, { "nospace", 0 },
};

static LIST_HEAD(, client) clients = LIST_HEAD_INITIALIZER(clients);
static int		 nclients;
static int		 lfd = -1;
static char		 sockpath[PATH_MAX + 64];
static struct timer	 workt, tickt, evt;

static void	 follow(struct hsm *);

int
hsm_right_ms(const struct hsm *h)
{
	return (h->conf.event_timeout_ms > 0 ? h->conf.event_timeout_ms :
	    30000) + HSM_RIGHT_SLACK_MS;
}

/* Blocks used and in all; 0, or -1 (logged). */
int
hsm_usage(struct hsm *h, uint64_t *used, uint64_t *blocks)
{
	uint64_t	 bfree;
	int		 rc;

	if ((rc = fio_statfs(&h->fio, blocks, &bfree)) != 0) {
		log_warnx("statfs %s: %s", h->fs, h->fio.error);
		return -1;
	}
	*used = *blocks - bfree;
	return 0;
}

/* Per mille, for "%u.%u%%" with pm / 10, pm % 10. */
static unsigned int
pm(uint64_t used, uint64_t blocks)
{
	return (unsigned int)(used * 1000 / blocks);
}

/* Work to do: a step on the next loop turn (an armed wait is cut). */
void
run_kick(struct hsm *h)
{
	(void)h;
	timer_in(&workt, 0);
}

/* ---- the control socket ---- */

static struct client *
client_of(struct hsm *h, void *w)
{
	struct client	*cl;

	(void)h;
	LIST_FOREACH(cl, &clients, entry)
		if (cl == w)
			return cl;
	return NULL;
}

/* A hand job is over: tell whoever asked, if still there. */
void
hsm_answer(struct hsm *h, struct job *j)
{
	struct client	*cl;
	struct frame	 a;

	if (j->waiter == NULL || (cl = client_of(h, j->waiter)) == NULL)
		return;
	if (j->err != 0) {
		(void)fs_error(&a, j->wtxid, j->err, "%s", j->why);
	} else {
		frame_init(&a, "ok", j->wtxid);
		if (j->why[0] != '\0')
			(void)frame_add(&a, "note", "%s", j->why);
	}
	if (conn_send(cl->conn, &a) == -1)
		conn_close(cl->conn, "cannot send");
}

static int
privileged(const struct client *cl)
{
	struct group	*gr;
	struct passwd	*pw;
	char		**m;

	if (cl->uid == 0 || cl->uid == geteuid())
		return 1;
	if (cl->h->conf.group[0] == '\0' ||
	    (gr = getgrnam(cl->h->conf.group)) == NULL)
		return 0;
	if (cl->gid == gr->gr_gid)
		return 1;
	if ((pw = getpwuid(cl->uid)) == NULL)
		return 0;
	for (m = gr->gr_mem; *m != NULL; m++)
		if (strcmp(*m, pw->pw_name) == 0)
			return 1;
	return 0;
}

/*
 * status [ino= gen=]: a page of the index after (ino, gen), as "file"
 * frames, then "end" with counters, and next=1 ino= gen= when there is
 * more: the output queue stays bounded however big the archive.
 */
static int
send_status(struct client *cl, const struct frame *q)
{
	struct hsm	*h = cl->h;
	struct entry	*e, key;
	struct frame	 f;
	char		 hex[HSM_SHA_HEX];
	uint64_t	 ino = 0, gen = 0;
	int		 n = 0;

	if (frame_getu64(q, "ino", &ino) == 0 &&
	    frame_getu64(q, "gen", &gen) == 0 && ino <= UINT32_MAX &&
	    gen < UINT32_MAX) {
		key.ino = (uint32_t)ino;
		key.gen = (uint32_t)gen + 1;
		e = RB_NFIND(entries, &h->idx.ents, &key);
	} else
		e = RB_MIN(entries, &h->idx.ents);
	for (; e != NULL && n < STATUS_PAGE;
	    e = RB_NEXT(entries, &h->idx.ents, e), n++) {
		idx_hex(e->sha, hex);
		frame_init(&f, "file", q->txid);
		(void)frame_add(&f, "fs", "%s", h->fs);
		(void)frame_add(&f, "ino", "%" PRIu32, e->ino);
		(void)frame_add(&f, "gen", "%" PRIu32, e->gen);
		(void)frame_add(&f, "state", "%s", e->state == ENT_MIGRATED ?
		    "migrated" : "archived");
		(void)frame_add(&f, "size", "%" PRIu64, e->size);
		(void)frame_add(&f, "valid", "%" PRIu64, e->valid);
		(void)frame_add(&f, "when", "%" PRId64, e->when);
		(void)frame_add(&f, "sha256", "%s", hex);
		(void)frame_add(&f, "path", "%s", e->path != NULL ? e->path :
		    "-");
		if (conn_send(cl->conn, &f) == -1)
			return -1;
		key.ino = e->ino;
		key.gen = e->gen;
	}
	frame_init(&f, "end", q->txid);
	if (e != NULL) {
		(void)frame_add(&f, "next", "1");
		(void)frame_add(&f, "ino", "%" PRIu32, key.ino);
		(void)frame_add(&f, "gen", "%" PRIu32, key.gen);
	}
	(void)frame_add(&f, "files", "%zu", h->idx.n);
	(void)frame_add(&f, "session", "%" PRIu64, h->session);
	(void)frame_add(&f, "migrated", "%" PRIu64, h->migrated);
	(void)frame_add(&f, "recalled", "%" PRIu64, h->recalled);
	(void)frame_add(&f, "failed", "%" PRIu64, h->failed);
	(void)frame_add(&f, "round", "%d", h->campaign);
	return conn_send(cl->conn, &f);
}

static int
client_frame(struct conn *c, struct frame *f, void *arg)
{
	struct client	*cl = arg;
	struct hsm	*h = cl->h;
	struct job	*j;
	struct frame	 a;
	const char	*path = frame_get(f, "path");
	const char	*fs = frame_get(f, "fs");
	int		 e;

	(void)c;
	if (strcmp(f->op, "status") == 0)
		return send_status(cl, f);
	if (strcmp(f->op, "migrate") != 0 && strcmp(f->op, "recall") != 0) {
		(void)fs_error(&a, f->txid, EINVAL, "%s: unknown request "
		    "(migrate, recall, status)", f->op);
		return conn_send(c, &a);
	}
	if (!privileged(cl)) {
		(void)fs_error(&a, f->txid, EPERM, "%s: permission denied",
		    f->op);
		return conn_send(c, &a);
	}
	if (fs == NULL || strcmp(fs, h->fs) != 0 || path == NULL ||
	    (e = fs_path_check(path)) != 0) {
		(void)fs_error(&a, f->txid, EINVAL, "%s: want fs=%s and a path",
		    f->op, h->fs);
		return conn_send(c, &a);
	}
	if (h->stopping || h->nrecalls + h->nhands >= HSM_RECALLS_MAX ||
	    (j = job_new(strcmp(f->op, "migrate") == 0 ? JOB_MIGRATE :
	    JOB_RECALL, path)) == NULL) {
		(void)fs_error(&a, f->txid, EAGAIN, "%s: %s", path,
		    h->stopping ? "clhsm is stopping" : h->nrecalls +
		    h->nhands >= HSM_RECALLS_MAX ? "too many requests wait" :
		    strerror(errno));
		return conn_send(c, &a);
	}
	j->hand = 1;
	j->waiter = cl;
	j->wtxid = f->txid;
	if (j->kind == JOB_MIGRATE) {
		TAILQ_INSERT_TAIL(&h->hands, j, link);
		h->nhands++;
	} else {
		TAILQ_INSERT_TAIL(&h->recalls, j, link);
		h->nrecalls++;
	}
	run_kick(h);
	return 0;
}

static void
client_closed(struct conn *c, const char *why, void *arg)
{
	struct client	*cl = arg;
	struct hsm	*h = cl->h;
	struct job	*j;

	(void)c;
	log_debug("control client uid %ld: %s", (long)cl->uid, why);
	TAILQ_FOREACH(j, &h->hands, link)
		if (j->waiter == cl)
			j->waiter = NULL;
	TAILQ_FOREACH(j, &h->recalls, link)
		if (j->waiter == cl)
			j->waiter = NULL;
	if (h->mig != NULL && h->mig->waiter == cl)
		h->mig->waiter = NULL;
	LIST_REMOVE(cl, entry);
	nclients--;
	free(cl);
}

static void
client_accept(int fd, short ev, void *arg)
{
	struct client	*cl;
	int		 s;

	(void)ev;
	if ((s = accept(fd, NULL, NULL)) == -1) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("accept on %s", sockpath);
		return;
	}
	if (nclients >= HSM_CLIENTS_MAX || sock_nonblock(s) == -1 ||
	    (cl = calloc(1, sizeof(*cl))) == NULL) {
		log_warnx("control client refused (%d connected)", nclients);
		(void)close(s);
		return;
	}
	cl->h = arg;
	if (sock_peercred(s, &cl->uid, &cl->gid) == -1) {
		cl->uid = (uid_t)65534;
		cl->gid = (gid_t)65534;
	}
	if ((cl->conn = conn_new(s, 64 * 1024, 16 * 1024 * 1024, client_frame,
	    client_closed, cl)) == NULL) {
		log_warn("control client");
		(void)close(s);
		free(cl);
		return;
	}
	(void)snprintf(cl->conn->name, sizeof(cl->conn->name), "uid %ld",
	    (long)cl->uid);
	LIST_INSERT_HEAD(&clients, cl, entry);
	nclients++;
}

/* ---- events ---- */

static struct job *
recall_of(struct hsm *h, uint32_t ino)
{
	struct job	*j;

	/* A job on the file already (events, by hand): it answers. */
	TAILQ_FOREACH(j, &h->recalls, link)
		if (j->ino == ino && j->nevtok < HSM_EVTOK_MAX &&
		    j->kind == JOB_RECALL)
			return j;
	return NULL;
}

static void
answer(struct hsm *h, const char *tok, int e)
{
	if (dm_respond(&h->dm, tok, e) != 0)
		log_warnx("event %s: %s", tok, h->dm.error);
}

/* A read or write touched a managed region: recall, then continue. */
static void
ev_io(struct hsm *h, const char *tok, uint64_t ino)
{
	struct job	*j;

	if ((j = recall_of(h, (uint32_t)ino)) != NULL) {
		(void)strlcpy(j->evtok[j->nevtok++], tok, HSM_TOKEN_MAX);
		return;
	}
	if (h->nrecalls >= HSM_RECALLS_MAX ||
	    (j = job_new(JOB_RECALL, NULL)) == NULL) {
		log_warnx("event %s: %d recalls wait; answered EAGAIN", tok,
		    h->nrecalls);
		answer(h, tok, EAGAIN);
		return;
	}
	j->ino = (uint32_t)ino;
	(void)strlcpy(j->evtok[j->nevtok++], tok, HSM_TOKEN_MAX);
	TAILQ_INSERT_TAIL(&h->recalls, j, link);
	h->nrecalls++;
	run_kick(h);
}

/*
 * e is migrated but its file has no region (cleared by hand, or a recall
 * stopped after clearing it): a recall without events compares the file
 * with the copy and drops the copy if they are the same.
 */
void
run_check(struct hsm *h, struct entry *e)
{
	struct job	*j;

	if (h->nrecalls >= HSM_RECALLS_MAX ||
	    (j = job_new(JOB_RECALL, e->path)) == NULL)
		return;
	j->ino = e->ino;
	e->busy = 1;
	j->e = e;
	TAILQ_INSERT_TAIL(&h->recalls, j, link);
	h->nrecalls++;
	run_kick(h);
}

/* A truncate (sync): the copy keeps only what the file still has. */
static void
ev_truncate(struct hsm *h, const char *tok, const char *path, uint64_t size)
{
	struct entry	*e;
	int		 e_ok = 0;

	if (h->mig != NULL && path != NULL && strcmp(h->mig->path, path) == 0) {
		log_info("%s: truncated; its migration is given up", path);
		job_abort(h, h->mig, 0, "truncated meanwhile");
		h->mig->err = EBUSY;
		hsm_answer(h, h->mig);
		job_free(h->mig);
		h->mig = NULL;
	}
	for (e = path != NULL ? idx_find_path(&h->idx, path, NULL) : NULL;
	    e != NULL; e = idx_find_path(&h->idx, path, e)) {
		if (strcmp(e->path, path) != 0 && (e->oldpath == NULL ||
		    strcmp(e->oldpath, path) != 0))
			continue;
		if (idx_valid(&h->idx, e, size) == -1) {
			log_warnx("%s", h->idx.error);
			e_ok = EIO;
		}
	}
	answer(h, tok, e_ok);
}

static void
ev_remove(struct hsm *h, const char *path)
{
	struct entry	*e;

	for (e = idx_find_path(&h->idx, path, NULL); e != NULL;
	    e = idx_find_path(&h->idx, path, e)) {
		if (strcmp(e->path, path) != 0)
			continue;
		e->gone_ms = clock_ms() + PROBE_DELAY_MS;
		e->probes = 0;
	}
}

/* path (a file or a directory) became newpath: remember both. */
static void
ev_rename(struct hsm *h, const char *path, const char *newpath)
{
	struct entry	*e;
	char		 p[FS_PATH_MAX], *old;
	size_t		 n = strlen(path);

	for (e = idx_find_path(&h->idx, path, NULL); e != NULL;
	    e = idx_find_path(&h->idx, path, e)) {
		if (strncmp(e->path, path, n) != 0 || (size_t)snprintf(p,
		    sizeof(p), "%s%s", newpath, e->path + n) >= sizeof(p))
			continue;
		if ((old = strdup(p)) == NULL)
			continue;
		free(e->oldpath);
		e->oldpath = e->path;
		e->path = old;
	}
}

static void
campaign_start(struct hsm *h, const char *why)
{
	uint64_t	 blocks;

	if (h->campaign || clock_ms() < h->backoff_ms ||
	    hsm_usage(h, &h->used0, &blocks) == -1)
		return;
	h->punched = 0;
	log_info("%s: migrating least recently used files", why);
	h->campaign = 1;
	h->freed = 0;
	scan_start(&h->scan);
	run_kick(h);
}

static int
ev_frame(struct conn *c, struct frame *f, void *arg)
{
	struct hsm	*h = arg;
	const char	*type, *tok, *path, *np, *sy;
	uint64_t	 ino = 0, off = 0;
	char		 why[128];

	(void)c;
	if (strcmp(f->op, "error") == 0) {
		log_warnx("session %" PRIu64 " events: %s", h->session,
		    frame_get(f, "reason") != NULL ? frame_get(f, "reason") :
		    "error");
		return 0;
	}
	if (strcmp(f->op, "event") != 0)
		return 0;
	type = frame_get(f, "type");
	tok = frame_get(f, "token");
	path = frame_get(f, "path");
	np = frame_get(f, "newpath");
	sy = frame_get(f, "sync");
	(void)frame_getu64(f, "ino", &ino);
	(void)frame_getu64(f, "off", &off);
	if (type == NULL || tok == NULL || strlen(tok) >= HSM_TOKEN_MAX) {
		log_warnx("malformed event ignored");
		return 0;
	}
	log_debug("event %s %s ino=%" PRIu64 " path=%s", type, tok, ino,
	    path != NULL ? path : "-");
	if (strcmp(type, "read") == 0 || strcmp(type, "write") == 0)
		ev_io(h, tok, ino);
	else if (strcmp(type, "truncate") == 0)
		ev_truncate(h, tok, path, off);
	else {
		if (strcmp(type, "remove") == 0 && path != NULL)
			ev_remove(h, path);
		else if (strcmp(type, "rename") == 0 && path != NULL &&
		    np != NULL)
			ev_rename(h, path, np);
		else if (strcmp(type, "nospace") == 0) {
			(void)snprintf(why, sizeof(why), "%s: nospace event",
			    h->fs);
			campaign_start(h, why);
		}
		if (sy != NULL && strcmp(sy, "1") == 0)
			answer(h, tok, 0);
	}
	return 0;
}

static void
ev_closed(struct conn *c, const char *why, void *arg)
{
	struct hsm	*h = arg;

	(void)c;
	h->dm.ev = NULL;
	if (h->stopping)
		return;
	log_warnx("session %" PRIu64 " events: %s; following again",
	    h->session, why);
	timer_in(&evt, EVRETRY_MS);
}

static void
on_evretry(void *arg)
{
	follow(arg);
}

static void
follow(struct hsm *h)
{
	if (dm_follow(&h->dm, h->session, ev_frame, ev_closed, h) == -1) {
		log_warnx("session %" PRIu64 ": %s", h->session, h->dm.error);
		timer_in(&evt, EVRETRY_MS);
	}
}

/* ---- work: one step of one job per turn ---- */

/* An entry a remove event named: gone from the file system? */
static void
probe(struct hsm *h, struct entry *e)
{
	struct fs_attr	 a;
	char		 tok[HSM_TOKEN_MAX];
	uint8_t		 b;
	size_t		 got;
	int		 rc;

	e->gone_ms = 0;
	if (e->busy) {
		e->gone_ms = clock_ms() + 1000;
		return;
	}
	if (e->probes >= PROBES_MAX) {
		e->probes = 0;
		return;
	}
	/*
	 * Still there: the remove may wait for a right, or fail.  Look
	 * again a few times, further apart (1, 2, 4, 8 s).
	 */
	if (fio_stat(&h->fio, e->path, &a) == 0 && a.ino == e->ino &&
	    a.gen == e->gen) {
		e->gone_ms = clock_ms() + (1000ULL << e->probes++);
		return;
	}
	/* Not under its name: ask by handle (a token read: no event). */
	if (dm_token(&h->dm, h->session, tok, sizeof(tok)) != 0) {
		log_warnx("probe: %s", h->dm.error);
		return;
	}
	rc = fio_read(&h->fio, e->ino, e->gen, 0, 1, tok, &b, &got);
	if (dm_respond(&h->dm, tok, 0) != 0)
		log_warnx("token %s: %s", tok, h->dm.error);
	if (rc != ENOENT && rc != ESTALE) {
		e->probes = 0;
		return;
	}
	log_info("%s: removed; its archive copy goes", e->path);
	if (idx_del(&h->idx, e) == -1)
		log_warnx("%s", h->idx.error);
}

static void
probes(struct hsm *h)
{
	struct entry	*e, *next;
	uint64_t	 now = clock_ms();

	RB_FOREACH_SAFE(e, entries, &h->idx.ents, next)
		if (e->gone_ms != 0 && e->gone_ms <= now)
			probe(h, e);
}

/*
 * Under the low watermark?  Punched blocks may show as free only when
 * the block-list leases on them end (clmetad quarantines them), so the
 * blocks punched since the campaign began count as free already.
 */
static int
under_low(struct hsm *h)
{
	uint64_t	 used, blocks, est;

	if (hsm_usage(h, &used, &blocks) == -1)
		return 0;
	est = h->used0 > h->punched ? h->used0 - h->punched : 0;
	if (est < used)
		used = est;
	if (used * 100 >= (uint64_t)h->low * blocks)
		return 0;
	log_info("%s: %u.%u%% used, under %d%%: %" PRIu64 " files migrated",
	    h->fs, pm(used, blocks) / 10, pm(used, blocks) % 10, h->low,
	    h->freed);
	return 1;
}

static void
campaign_end(struct hsm *h, int short_of)
{
	h->campaign = 0;
	scan_free(&h->scan);
	/* Let the punched blocks come free before statfs is believed. */
	h->backoff_ms = clock_ms() + 2 * (uint64_t)(h->conf.lease_ms > 0 ?
	    h->conf.lease_ms : 5000);
	if (short_of) {
		h->backoff_ms = clock_ms() + (uint64_t)(10 * h->interval_ms >
		    BACKOFF_MIN_MS ? 10 * h->interval_ms : BACKOFF_MIN_MS);
		log_warnx("%s: still over %d%% with no more files to migrate "
		    "(%" PRIu64 " migrated)", h->fs, h->low, h->freed);
	}
}

/* The campaign's next migration, or its end. */
static void
campaign_next(struct hsm *h)
{
	struct cand	*c;

	if (!h->scan.done) {
		(void)scan_step(h, &h->scan);
		return;
	}
	if (under_low(h)) {
		campaign_end(h, 0);
		return;
	}
	while (h->scan.next < h->scan.nc) {
		c = &h->scan.c[h->scan.next++];
		if ((h->mig = job_new(JOB_MIGRATE, c->path)) != NULL)
			return;
		log_warn("migrate %s", c->path);
	}
	campaign_end(h, 1);
}

static void
finish_job(struct hsm *h, struct job *j)
{
	if (j->kind == JOB_MIGRATE && !j->hand && j->did)
		h->freed++;
	hsm_answer(h, j);
	job_free(j);
}

/* Is j waiting (an EBUSY, a right's answer)?  Note when it wakes. */
static int
waiting(const struct job *j, uint64_t now, uint64_t *wake)
{
	if (j->retry_ms == 0 || j->retry_ms <= now)
		return 0;
	if (*wake == 0 || j->retry_ms < *wake)
		*wake = j->retry_ms;
	return 1;
}

/*
 * One step of one job: the first recall that can go (users wait for
 * those), else the migration under way, else the next by hand, else the
 * round's next file.  A recall of the file being migrated waits for the
 * migration to end.
 */
static void
on_work(void *arg)
{
	struct hsm	*h = arg;
	struct job	*r, *j = NULL;
	uint64_t	 now = clock_ms(), wake = 0;

	if (h->stopping)
		return;
	if (h->need_find) {
		/* A recall waits for the path of its file. */
		if (!h->find.active)
			scan_start(&h->find);
		if (scan_step(h, &h->find) == 1) {
			scan_free(&h->find);
			h->need_find = 0;
		}
		run_kick(h);
		return;
	}
	TAILQ_FOREACH(r, &h->recalls, link) {
		if (waiting(r, now, &wake))
			continue;
		if (h->mig != NULL && r->ino != 0 && r->ino == h->mig->ino) {
			if (waiting(h->mig, now, &wake))
				continue;
			j = h->mig;
		} else
			j = r;
		break;
	}
	if (j == NULL && h->mig != NULL && !waiting(h->mig, now, &wake))
		j = h->mig;
	if (j == NULL && h->mig == NULL && !TAILQ_EMPTY(&h->hands)) {
		h->mig = TAILQ_FIRST(&h->hands);
		TAILQ_REMOVE(&h->hands, h->mig, link);
		h->nhands--;
		j = h->mig;
	}
	if (j == NULL && h->mig == NULL && h->campaign) {
		campaign_next(h);
		run_kick(h);
		return;
	}
	if (j == NULL) {
		if (wake != 0)
			timer_at(&workt, wake);
		return;
	}
	if (job_step(h, j) == 1) {
		if (j == h->mig)
			h->mig = NULL;
		else {
			TAILQ_REMOVE(&h->recalls, j, link);
			h->nrecalls--;
		}
		finish_job(h, j);
	}
	run_kick(h);
}

static void
on_tick(void *arg)
{
	struct hsm	*h = arg;
	uint64_t	 used, blocks;
	char		 why[128];

	timer_in(&tickt, (uint64_t)h->interval_ms);
	probes(h);
	/* The log grows by records of files long gone: rewrite it. */
	if (h->idx.records > 4 * (2 * h->idx.n + IDX_TOKENS_MAX) + 4096 &&
	    idx_compact(&h->idx) == -1)
		log_warnx("%s", h->idx.error);
	if (h->campaign || hsm_usage(h, &used, &blocks) == -1)
		return;
	if (used * 100 >= (uint64_t)h->high * blocks) {
		(void)snprintf(why, sizeof(why), "%s: %u.%u%% used, %d%% or "
		    "more", h->fs, pm(used, blocks) / 10, pm(used, blocks) % 10,
		    h->high);
		campaign_start(h, why);
	}
}

static void
on_term(int sig, void *arg)
{
	struct hsm	*h = arg;

	log_info("signal %d: stopping", sig);
	h->stopping = 1;
	loop_exit();
}

static void
on_hup(int sig, void *arg)
{
	(void)sig;
	(void)arg;
	log_info("SIGHUP: clhsm has nothing to reload");
}

/* ---- start and stop ---- */

/* Tokens of an earlier clhsm that died holding them: answer them. */
static void
old_tokens(struct hsm *h)
{
	char	 tok[IDX_TOKENS_MAX][HSM_TOKEN_MAX];
	int	 i, n, rc;

	n = idx_tokens(&h->idx, tok, IDX_TOKENS_MAX);
	for (i = 0; i < n; i++) {
		rc = dm_respond(&h->dm, tok[i], 0);
		if (rc == -1)
			fatalx("%s", h->dm.error);
		if (rc == 0)
			log_info("token %s of an earlier clhsm answered",
			    tok[i]);
		if (idx_tok(&h->idx, tok[i], 0) == -1)
			fatalx("%s", h->idx.error);
	}
}

/* Archived but not punched when clhsm stopped: finish or undo. */
static void
unfinished(struct hsm *h)
{
	struct entry	*e;
	struct job	*j;

	RB_FOREACH(e, entries, &h->idx.ents) {
		if (e->state != ENT_ARCHIVED)
			continue;
		if ((j = job_new(JOB_FINISH, e->path)) == NULL)
			fatal("job");
		j->e = e;
		j->ino = e->ino;
		j->gen = e->gen;
		e->busy = 1;
		TAILQ_INSERT_TAIL(&h->recalls, j, link);
		h->nrecalls++;
	}
}

static void
serve(struct hsm *h)
{
	gid_t		 gid = (gid_t)-1;
	struct group	*gr;

	if ((size_t)snprintf(sockpath, sizeof(sockpath), HSM_SOCK_FMT,
	    h->conf.rundir, h->fs) >= sizeof(sockpath))
		fatalx("%s: path too long", h->conf.rundir);
	if (h->conf.group[0] != '\0' && (gr = getgrnam(h->conf.group)) != NULL)
		gid = gr->gr_gid;
	if ((lfd = sock_unix_listen(sockpath, 0660, gid)) == -1) {
		if (errno == EADDRINUSE)
			fatalx("%s: another clhsm run serves %s on this node",
			    sockpath, h->fs);
		fatal("%s", sockpath);
	}
	if (loop_fd_add(lfd, POLLIN, client_accept, h) == -1)
		fatal("event loop");
}

static void
shutdown_jobs(struct hsm *h)
{
	struct job	*j;

	/* Recall events stay queued in clsessiond for the next clhsm. */
	while ((j = TAILQ_FIRST(&h->recalls)) != NULL) {
		TAILQ_REMOVE(&h->recalls, j, link);
		job_abort(h, j, -1, "clhsm stops");
		j->err = EAGAIN;
		hsm_answer(h, j);
		job_free(j);
	}
	while ((j = TAILQ_FIRST(&h->hands)) != NULL) {
		TAILQ_REMOVE(&h->hands, j, link);
		h->nhands--;
		j->err = EAGAIN;
		(void)strlcpy(j->why, "clhsm stops", sizeof(j->why));
		hsm_answer(h, j);
		job_free(j);
	}
	if (h->mig != NULL) {
		job_abort(h, h->mig, 0, "clhsm stops");
		h->mig->err = EAGAIN;
		hsm_answer(h, h->mig);
		job_free(h->mig);
		h->mig = NULL;
	}
}

int
run_main(struct hsm *h)
{
	uint64_t	 used, blocks;
	size_t		 i;
	int		 n, rc;
	char		 name[CONF_NAME_MAX + 16];

	TAILQ_INIT(&h->recalls);
	TAILQ_INIT(&h->hands);
	if (loop_init() == -1)
		fatal("event loop");
	(void)signal(SIGPIPE, SIG_IGN);
	if (loop_signal(SIGTERM, on_term, h) == -1 ||
	    loop_signal(SIGINT, on_term, h) == -1 ||
	    loop_signal(SIGHUP, on_hup, h) == -1)
		fatal("signals");
	/* First: a second clhsm for fs on this node touches nothing. */
	serve(h);
	if (idx_open(&h->idx, h->archive, h->fs, 0) == -1)
		fatalx("%s", h->idx.error);
	if (fio_open(&h->fio, &h->conf, h->fs) == -1)
		fatalx("%s", h->fio.error);
	if ((rc = fio_statfs(&h->fio, &blocks, &used)) != 0)
		fatalx("%s: %s", h->fs, h->fio.error);
	if (dm_open(&h->dm, &h->conf) == -1)
		fatalx("%s", h->dm.error);
	(void)snprintf(name, sizeof(name), HSM_SESSION_FMT, h->fs);
	if (dm_session(&h->dm, name, &h->session) == -1)
		fatalx("session %s: %s", name, h->dm.error);
	old_tokens(h);
	for (i = 0; i < sizeof(disps) / sizeof(disps[0]); i++)
		if (dm_disp(&h->dm, h->fs, disps[i].event, h->session,
		    disps[i].sync) != 0)
			fatalx("disposition %s %s: %s", h->fs, disps[i].event,
			    h->dm.error);
	if ((n = idx_sweep(&h->idx)) == -1)
		fatalx("%s", h->idx.error);
	if (n > 0)
		log_info("%s: %d unfinished or stale copies removed",
		    h->archive, n);
	timer_setup(&workt, on_work, h);
	timer_setup(&tickt, on_tick, h);
	timer_setup(&evt, on_evretry, h);
	follow(h);
	unfinished(h);
	timer_in(&tickt, 0);
	run_kick(h);
	log_info("serving %s: session %" PRIu64 ", archive %s, %zu files "
	    "migrated, %d%%/%d%%", h->fs, h->session, h->archive, h->idx.n,
	    h->high, h->low);
	if (!h->debug)
		log_init("clhsm", 0, LOG_DAEMON);
	if (loop_run() == -1)
		fatal("event loop");
	shutdown_jobs(h);
	timer_stop(&workt);
	timer_stop(&tickt);
	timer_stop(&evt);
	if (lfd != -1) {
		loop_fd_del(lfd);
		(void)close(lfd);
		(void)unlink(sockpath);
	}
	/*
	 * Migrated files need the session's dispositions (a read of one
	 * must wait for a recall, not see the hole), so the session stays
	 * while there are any: the next clhsm takes it back.
	 */
	if (h->idx.n == 0 && TAILQ_EMPTY(&h->recalls)) {
		if ((rc = dm_destroy(&h->dm, h->session)) != 0)
			log_warnx("session %" PRIu64 " kept: %s", h->session,
			    h->dm.error);
		else
			log_info("session %" PRIu64 " destroyed", h->session);
	} else
		log_info("session %" PRIu64 " kept for %zu migrated files",
		    h->session, h->idx.n);
	dm_close(&h->dm);
	fio_close(&h->fio);
	idx_close(&h->idx);
	log_info("terminating");
	return 0;
}
