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
 * The archive directory (clhsm(1), ARCHIVE):
 *
 *	DIR/lock		flock(2)ed by the clhsm that uses DIR
 *	DIR/index		the index: a log of one-line records
 *	DIR/data/INO.GEN	the archived bytes of file (INO, GEN)
 *	DIR/tmp/INO.GEN		a copy being made
 *
 * Every record is appended with one write(2) and made durable with
 * fdatasync(2) before the step it allows is taken: "put" (the copy in
 * data/ is durable and verified) comes before the file's region is set
 * and its blocks punched, "del" before its archive file is removed, and
 * "tok" before the token holds a right.  A line cut short by a crash is
 * dropped when the log is read; the log is rewritten (compacted: a new
 * file, fsync, rename, fsync of DIR) whenever clhsm opens it.
 */

#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clhsm.h"

#define IDX_MAGIC	"clhsm-index 1"
#define IDX_LINE_MAX	(FS_PATH_MAX + 512)	/* bytes of one record */

static int
ent_cmp(struct entry *a, struct entry *b)
{
	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	if (a->gen != b->gen)
		return a->gen < b->gen ? -1 : 1;
	return 0;
}

RB_GENERATE(entries, entry, node, ent_cmp)

static char	 opentok[IDX_TOKENS_MAX][HSM_TOKEN_MAX];
static int	 nopentok;

static int
fail(struct index *x, const char *fmt, ...)
    __attribute__((__format__ (printf, 2, 3)));

static int
fail(struct index *x, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(x->error, sizeof(x->error), fmt, ap);
	va_end(ap);
	return -1;
}

void
idx_hex(const uint8_t *sha, char *out)
{
	(void)sodium_bin2hex(out, HSM_SHA_HEX, sha, crypto_hash_sha256_BYTES);
}

void
idx_data(const struct index *x, uint32_t ino, uint32_t gen, char *p,
    size_t n)
{
	(void)snprintf(p, n, "%s/data/%" PRIu32 ".%" PRIu32, x->dir, ino, gen);
}

void
idx_tmp(const struct index *x, uint32_t ino, uint32_t gen, char *p, size_t n)
{
	(void)snprintf(p, n, "%s/tmp/%" PRIu32 ".%" PRIu32, x->dir, ino, gen);
}

static int
fsync_dir(const char *path)
{
	int	 fd, rc;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	(void)close(fd);
	return rc;
}

static struct entry *
ent_new(struct index *x, uint32_t ino, uint32_t gen)
{
	struct entry	*e, key;

	key.ino = ino;
	key.gen = gen;
	if ((e = RB_FIND(entries, &x->ents, &key)) != NULL)
		return e;
	if (x->n >= HSM_INDEX_MAX) {
		errno = ENOSPC;
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->ino = ino;
	e->gen = gen;
	(void)RB_INSERT(entries, &x->ents, e);
	x->n++;
	return e;
}

static void
ent_free(struct index *x, struct entry *e)
{
	(void)RB_REMOVE(entries, &x->ents, e);
	x->n--;
	free(e->path);
	free(e->oldpath);
	free(e);
}

static int
set_path(char **where, const char *p)
{
	char	*s;

	if (p == NULL) {
		free(*where);
		*where = NULL;
		return 0;
	}
	if ((s = strdup(p)) == NULL)
		return -1;
	free(*where);
	*where = s;
	return 0;
}

/* key=value words of a record; path= takes the rest of the line. */
struct rec {
	const char	*type;
	uint64_t	 ino, gen, size, valid, n;
	int64_t		 mtime, when;
	const char	*sha, *path, *token;
};

static int
rec_parse(char *line, struct rec *r)
{
	char		*w, *v;
	uint64_t	*u;

	memset(r, 0, sizeof(*r));
	if ((r->type = strsep(&line, " ")) == NULL || *r->type == '\0')
		return -1;
	while (line != NULL && *line != '\0') {
		if (strncmp(line, "path=", 5) == 0) {
			r->path = line + 5;
			break;
		}
		w = strsep(&line, " ");
		if ((v = strchr(w, '=')) == NULL)
			return -1;
		*v++ = '\0';
		u = NULL;
		if (strcmp(w, "ino") == 0)
			u = &r->ino;
		else if (strcmp(w, "gen") == 0)
			u = &r->gen;
		else if (strcmp(w, "size") == 0)
			u = &r->size;
		else if (strcmp(w, "valid") == 0)
			u = &r->valid;
		else if (strcmp(w, "n") == 0)
			u = &r->n;
		else if (strcmp(w, "mtime") == 0)
			u = (uint64_t *)&r->mtime;
		else if (strcmp(w, "when") == 0)
			u = (uint64_t *)&r->when;
		else if (strcmp(w, "sha256") == 0)
			r->sha = v;
		else if (strcmp(w, "token") == 0)
			r->token = v;
		/* Unknown keys: a later version's; ignored. */
		if (u != NULL && wire_parse_u64(v, strlen(v), UINT64_MAX, u) !=
		    0)
			return -1;
	}
	if (r->ino > UINT32_MAX || r->gen > UINT32_MAX)
		return -1;
	return 0;
}

static void
tok_open(const char *t)
{
	if (nopentok == IDX_TOKENS_MAX) {
		memmove(opentok[0], opentok[1], sizeof(opentok[0]) *
		    (IDX_TOKENS_MAX - 1));
		nopentok--;
	}
	(void)strlcpy(opentok[nopentok++], t, HSM_TOKEN_MAX);
}

static void
tok_close(const char *t)
{
	int	 i;

	for (i = 0; i < nopentok; i++)
		if (strcmp(opentok[i], t) == 0) {
			memmove(opentok[i], opentok[i + 1], sizeof(opentok[0]) *
			    (size_t)(nopentok - i - 1));
			nopentok--;
			return;
		}
}

/* Apply one record to the tables; -1 if it makes no sense. */
static int
rec_apply(struct index *x, const struct rec *r)
{
	struct entry	*e = NULL, key;

	if (strcmp(r->type, "tok") == 0 || strcmp(r->type, "tokend") == 0) {
		if (r->token == NULL || strlen(r->token) >= HSM_TOKEN_MAX)
			return -1;
		if (r->type[3] == '\0')
			tok_open(r->token);
		else
			tok_close(r->token);
		return 0;
	}
	key.ino = (uint32_t)r->ino;
	key.gen = (uint32_t)r->gen;
	if (strcmp(r->type, "put") == 0) {
		if (r->sha == NULL || r->path == NULL || r->valid > r->size ||
		    (e = ent_new(x, key.ino, key.gen)) == NULL)
			return -1;
		if (sodium_hex2bin(e->sha, sizeof(e->sha), r->sha,
		    strlen(r->sha), NULL, NULL, NULL) != 0 ||
		    set_path(&e->path, r->path) == -1) {
			ent_free(x, e);
			return -1;
		}
		e->state = ENT_ARCHIVED;
		e->size = r->size;
		e->valid = r->valid;
		e->mtime_ns = r->mtime;
		e->when = r->when;
		return 0;
	}
	if ((e = RB_FIND(entries, &x->ents, &key)) == NULL)
		return -1;
	if (strcmp(r->type, "mig") == 0)
		e->state = ENT_MIGRATED;
	else if (strcmp(r->type, "valid") == 0)
		e->valid = r->n < e->valid ? r->n : e->valid;
	else if (strcmp(r->type, "path") == 0) {
		if (r->path == NULL || set_path(&e->path, r->path) == -1)
			return -1;
	} else if (strcmp(r->type, "del") == 0)
		ent_free(x, e);
	else
		return -1;
	return 0;
}

static int
load(struct index *x, const char *path)
{
	FILE	*fp;
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 len;
	struct rec r;
	char	 want[CONF_NAME_MAX + 32];
	int	 first = 1, bad = 0, rc = 0;
	long	 lineno = 0;

	if ((fp = fopen(path, "re")) == NULL)
		return fail(x, "%s: %s", path, strerror(errno));
	(void)snprintf(want, sizeof(want), IDX_MAGIC " fs=%s", x->fs);
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if (len == 0 || line[len - 1] != '\n')
			break;	/* cut short by a crash: dropped */
		line[--len] = '\0';
		if (first) {
			first = 0;
			if (strncmp(line, IDX_MAGIC " ", strlen(IDX_MAGIC) + 1)
			    != 0) {
				rc = fail(x, "%s: not a clhsm index", path);
				break;
			}
			if (strcmp(line, want) != 0) {
				rc = fail(x, "%s: the archive of file system "
				    "%s, not %s", x->dir, line +
				    strlen(IDX_MAGIC " fs="), x->fs);
				break;
			}
			continue;
		}
		x->records++;
		if (len > IDX_LINE_MAX || rec_parse(line, &r) == -1 ||
		    rec_apply(x, &r) == -1) {
			if (bad++ == 0)
				(void)fprintf(stderr, "clhsm: %s:%ld: record "
				    "ignored\n", path, lineno);
		}
	}
	if (rc == 0 && ferror(fp))
		rc = fail(x, "%s: %s", path, strerror(errno));
	if (rc == 0 && first)
		rc = fail(x, "%s: empty", path);
	free(line);
	(void)fclose(fp);
	return rc;
}

static int
put_line(FILE *fp, const struct entry *e)
{
	char	 hex[HSM_SHA_HEX];

	idx_hex(e->sha, hex);
	if (fprintf(fp, "put ino=%" PRIu32 " gen=%" PRIu32 " size=%" PRIu64
	    " valid=%" PRIu64 " mtime=%" PRId64 " when=%" PRId64 " sha256=%s "
	    "path=%s\n", e->ino, e->gen, e->size, e->valid, e->mtime_ns,
	    e->when, hex, e->path) < 0)
		return -1;
	if (e->state == ENT_MIGRATED && fprintf(fp, "mig ino=%" PRIu32
	    " gen=%" PRIu32 "\n", e->ino, e->gen) < 0)
		return -1;
	return 0;
}

/* Rewrite the log as the tables stand: new file, fsync, rename, fsync. */
int
idx_compact(struct index *x)
{
	struct entry	*e;
	char		 path[PATH_MAX + 16], tmp[PATH_MAX + 16];
	FILE		*fp;
	int		 fd, i;

	(void)snprintf(path, sizeof(path), "%s/index", x->dir);
	(void)snprintf(tmp, sizeof(tmp), "%s/index.new", x->dir);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) ==
	    -1)
		return fail(x, "%s: %s", tmp, strerror(errno));
	if ((fp = fdopen(fd, "w")) == NULL) {
		(void)close(fd);
		return fail(x, "%s: %s", tmp, strerror(errno));
	}
	if (fprintf(fp, IDX_MAGIC " fs=%s\n", x->fs) < 0)
		goto bad;
	x->records = 0;
	RB_FOREACH(e, entries, &x->ents) {
		if (put_line(fp, e) == -1)
			goto bad;
		x->records += e->state == ENT_MIGRATED ? 2 : 1;
	}
	for (i = 0; i < nopentok; i++) {
		if (fprintf(fp, "tok token=%s\n", opentok[i]) < 0)
			goto bad;
		x->records++;
	}
	if (fflush(fp) == EOF || fsync(fd) == -1)
		goto bad;
	if (fclose(fp) == EOF) {
		fp = NULL;
		goto bad;
	}
	fp = NULL;
	if (rename(tmp, path) == -1 || fsync_dir(x->dir) == -1)
		goto bad;
	if (x->fd != -1)
		(void)close(x->fd);
	if ((x->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)) == -1)
		return fail(x, "%s: %s", path, strerror(errno));
	return 0;
 bad:
	(void)fail(x, "%s: %s", tmp, strerror(errno));
	if (fp != NULL)
		(void)fclose(fp);
	(void)unlink(tmp);
	return -1;
}

/*
 * Open the archive DIR of file system fs.  Read-only (status): no lock,
 * nothing written.  Otherwise DIR must exist; its lock is taken (one
 * clhsm per archive), data/ and tmp/ are made, the index is read (or
 * started) and compacted.
 */
int
idx_open(struct index *x, const char *dir, const char *fs, int readonly)
{
	struct stat	 st;
	char		 path[PATH_MAX + 16];
	int		 fd;

	memset(x, 0, sizeof(*x));
	RB_INIT(&x->ents);
	x->lockfd = x->fd = -1;
	x->readonly = readonly;
	nopentok = 0;
	if (strlcpy(x->dir, dir, sizeof(x->dir)) >= sizeof(x->dir) ||
	    strlcpy(x->fs, fs, sizeof(x->fs)) >= sizeof(x->fs))
		return fail(x, "%s: %s", dir, strerror(ENAMETOOLONG));
	if (stat(dir, &st) == -1)
		return fail(x, "archive %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail(x, "archive %s: %s", dir, strerror(ENOTDIR));
	(void)snprintf(path, sizeof(path), "%s/index", dir);
	if (readonly) {
		if (access(path, F_OK) == -1)
			return fail(x, "archive %s: no clhsm index (%s)", dir,
			    strerror(errno));
		return load(x, path);
	}
	(void)snprintf(path, sizeof(path), "%s/lock", dir);
	if ((x->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return fail(x, "%s: %s", path, strerror(errno));
	if (flock(x->lockfd, LOCK_EX | LOCK_NB) == -1)
		return fail(x, "archive %s: %s", dir, errno == EWOULDBLOCK ?
		    "in use by another clhsm" : strerror(errno));
	(void)snprintf(path, sizeof(path), "%s/data", dir);
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return fail(x, "%s: %s", path, strerror(errno));
	(void)snprintf(path, sizeof(path), "%s/tmp", dir);
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return fail(x, "%s: %s", path, strerror(errno));
	(void)snprintf(path, sizeof(path), "%s/index", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			return fail(x, "%s: %s", path, strerror(errno));
		/* A new archive: compact writes the first index. */
	} else {
		(void)close(fd);
		if (load(x, path) == -1)
			return -1;
	}
	return idx_compact(x);
}

void
idx_close(struct index *x)
{
	struct entry	*e, *next;

	RB_FOREACH_SAFE(e, entries, &x->ents, next)
		ent_free(x, e);
	if (x->fd != -1)
		(void)close(x->fd);
	if (x->lockfd != -1)
		(void)close(x->lockfd);
	x->fd = x->lockfd = -1;
}

/* The tokens that were open when the index was read. */
int
idx_tokens(struct index *x, char tok[][HSM_TOKEN_MAX], int max)
{
	int	 i;

	(void)x;
	for (i = 0; i < nopentok && i < max; i++)
		(void)strlcpy(tok[i], opentok[i], HSM_TOKEN_MAX);
	return i;
}

/* Append one record and make it durable. */
static int
append(struct index *x, const char *fmt, ...)
    __attribute__((__format__ (printf, 2, 3)));

static int
append(struct index *x, const char *fmt, ...)
{
	char	 line[IDX_LINE_MAX + 2];
	va_list	 ap;
	ssize_t	 w;
	int	 n;

	if (x->readonly || x->fd == -1)
		return fail(x, "index not open for writing");
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return fail(x, "index record too long");
	if ((w = write(x->fd, line, (size_t)n)) != n) {
		/* A partial line would join the next one: cut it off. */
		if (w > 0 && ftruncate(x->fd, lseek(x->fd, 0, SEEK_END) - w) ==
		    -1)
			return fail(x, "%s/index: %s (and the partial record "
			    "stays)", x->dir, strerror(errno));
		return fail(x, "%s/index: %s", x->dir, w == -1 ?
		    strerror(errno) : "short write");
	}
	if (fdatasync(x->fd) == -1)
		return fail(x, "%s/index: %s", x->dir, strerror(errno));
	x->records++;
	return 0;
}

/* e (new, path set) is archived: durable before anything is punched. */
int
idx_put(struct index *x, struct entry *e)
{
	struct entry	*n;
	char		 hex[HSM_SHA_HEX];

	idx_hex(e->sha, hex);
	if (append(x, "put ino=%" PRIu32 " gen=%" PRIu32 " size=%" PRIu64
	    " valid=%" PRIu64 " mtime=%" PRId64 " when=%" PRId64 " sha256=%s "
	    "path=%s\n", e->ino, e->gen, e->size, e->valid, e->mtime_ns,
	    e->when, hex, e->path) == -1)
		return -1;
	if ((n = ent_new(x, e->ino, e->gen)) == NULL)
		return fail(x, "index: %s", strerror(errno));
	n->state = ENT_ARCHIVED;
	n->size = e->size;
	n->valid = e->valid;
	n->mtime_ns = e->mtime_ns;
	n->when = e->when;
	memcpy(n->sha, e->sha, sizeof(n->sha));
	if (set_path(&n->path, e->path) == -1)
		return fail(x, "index: %s", strerror(errno));
	return 0;
}

int
idx_migrated(struct index *x, struct entry *e)
{
	if (append(x, "mig ino=%" PRIu32 " gen=%" PRIu32 "\n", e->ino,
	    e->gen) == -1)
		return -1;
	e->state = ENT_MIGRATED;
	return 0;
}

/* The file was truncated to n: only [0, n) of the copy is still its. */
int
idx_valid(struct index *x, struct entry *e, uint64_t n)
{
	if (n >= e->valid)
		return 0;
	if (append(x, "valid ino=%" PRIu32 " gen=%" PRIu32 " n=%" PRIu64 "\n",
	    e->ino, e->gen, n) == -1)
		return -1;
	e->valid = n;
	return 0;
}

int
idx_path(struct index *x, struct entry *e, const char *path)
{
	if (e->path != NULL && strcmp(e->path, path) == 0)
		return 0;
	if (append(x, "path ino=%" PRIu32 " gen=%" PRIu32 " path=%s\n",
	    e->ino, e->gen, path) == -1)
		return -1;
	if (set_path(&e->path, path) == -1)
		return fail(x, "index: %s", strerror(errno));
	(void)set_path(&e->oldpath, NULL);
	return 0;
}

/* Forget e; then its archive file goes (a crash between: swept). */
int
idx_del(struct index *x, struct entry *e)
{
	char	 data[PATH_MAX + 64];

	if (append(x, "del ino=%" PRIu32 " gen=%" PRIu32 "\n", e->ino,
	    e->gen) == -1)
		return -1;
	idx_data(x, e->ino, e->gen, data, sizeof(data));
	ent_free(x, e);
	if (unlink(data) == -1 && errno != ENOENT)
		return fail(x, "%s: %s", data, strerror(errno));
	return 0;
}

/* A token opens (before it may hold a right) or is answered. */
int
idx_tok(struct index *x, const char *tok, int open)
{
	if (append(x, "%s token=%s\n", open ? "tok" : "tokend", tok) == -1)
		return -1;
	/* Kept for idx_compact, which writes the open ones again. */
	if (open)
		tok_open(tok);
	else
		tok_close(tok);
	return 0;
}

struct entry *
idx_find(struct index *x, uint32_t ino, uint32_t gen)
{
	struct entry	 key;

	key.ino = ino;
	key.gen = gen;
	return RB_FIND(entries, &x->ents, &key);
}

/* The entries of ino, any gen: the first after prev (NULL: the first). */
struct entry *
idx_find_ino(struct index *x, uint32_t ino, struct entry *prev)
{
	struct entry	 key, *e;

	if (prev != NULL)
		e = RB_NEXT(entries, &x->ents, prev);
	else {
		key.ino = ino;
		key.gen = 0;
		e = RB_NFIND(entries, &x->ents, &key);
	}
	return e != NULL && e->ino == ino ? e : NULL;
}

/* The entries whose path or old path is p, or under directory p. */
struct entry *
idx_find_path(struct index *x, const char *p, struct entry *prev)
{
	struct entry	*e;
	size_t		 n = strlen(p);

	e = prev != NULL ? RB_NEXT(entries, &x->ents, prev) :
	    RB_MIN(entries, &x->ents);
	for (; e != NULL; e = RB_NEXT(entries, &x->ents, e)) {
		if (e->path != NULL && strncmp(e->path, p, n) == 0 &&
		    (e->path[n] == '\0' || e->path[n] == '/'))
			return e;
		if (e->oldpath != NULL && strncmp(e->oldpath, p, n) == 0 &&
		    (e->oldpath[n] == '\0' || e->oldpath[n] == '/'))
			return e;
	}
	return NULL;
}

static int
name_handle(const char *name, uint32_t *ino, uint32_t *gen)
{
	const char	*dot;
	uint64_t	 a, b;

	if ((dot = strchr(name, '.')) == NULL ||
	    wire_parse_u64(name, (size_t)(dot - name), UINT32_MAX, &a) != 0 ||
	    wire_parse_u64(dot + 1, strlen(dot + 1), UINT32_MAX, &b) != 0)
		return -1;
	*ino = (uint32_t)a;
	*gen = (uint32_t)b;
	return 0;
}

/*
 * After a crash: copies in tmp/ are unfinished, and files in data/ that
 * the index does not name were being removed.  Both go.
 */
int
idx_sweep(struct index *x)
{
	static const char *const sub[] = { "tmp", "data" };
	struct dirent	*d;
	DIR		*dp;
	char		 path[PATH_MAX + 16], f[PATH_MAX + 300];
	uint32_t	 ino, gen;
	size_t		 i;
	int		 n = 0;

	for (i = 0; i < 2; i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", x->dir, sub[i]);
		if ((dp = opendir(path)) == NULL)
			return fail(x, "%s: %s", path, strerror(errno));
		while ((d = readdir(dp)) != NULL) {
			if (d->d_name[0] == '.')
				continue;
			if (i == 1 && name_handle(d->d_name, &ino, &gen) == 0 &&
			    idx_find(x, ino, gen) != NULL)
				continue;
			(void)snprintf(f, sizeof(f), "%s/%s", path, d->d_name);
			if (unlink(f) == 0)
				n++;
		}
		(void)closedir(dp);
	}
	return n;
}
