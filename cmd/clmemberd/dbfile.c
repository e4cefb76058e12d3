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
 * The cluster database on disk: STATEDIR/clmemberd.db, a text log.
 *
 *	s EPOCH SEQ			a snapshot begins: forget what came before
 *	r VER KEY VALUE			a record of the snapshot
 *	u EPOCH SEQ set KEY VALUE	an update
 *	u EPOCH SEQ del KEY
 *
 * Each update is appended and synced before it is acknowledged.  When
 * the log has grown to several times the records it holds, it is
 * replaced by a snapshot (written aside, synced, renamed).  A last line
 * cut short by a crash is ignored: its update was never acknowledged.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clmemberd.h"
#include "log.h"

static char	 path[PATH_MAX];
static int	 fd = -1;
static size_t	 nlines;

static int
write_all(int f, const char *s, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(f, s, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One line, without its newline; -1 if it is not one of ours. */
static int
replay_line(char *l, const struct dbfile_ops *ops)
{
	unsigned long long e, s, v;
	char	*key, *val, *op;
	int	 n = 0;

	if (sscanf(l, "s %llu %llu%n", &e, &s, &n) == 2 && l[n] == '\0')
		return ops->snap(e, s);
	if (sscanf(l, "r %llu %n", &v, &n) == 1 && n > 0) {
		key = l + n;
		if ((val = strchr(key, ' ')) == NULL)
			return -1;
		*val++ = '\0';
		return ops->rec(v, key, val);
	}
	if (sscanf(l, "u %llu %llu %n", &e, &s, &n) == 2 && n > 0) {
		op = l + n;
		if ((key = strchr(op, ' ')) == NULL)
			return -1;
		*key++ = '\0';
		val = strchr(key, ' ');
		if (val != NULL)
			*val++ = '\0';
		if (strcmp(op, "set") == 0 && val != NULL)
			return ops->upd(e, s, key, val);
		if (strcmp(op, "del") == 0 && val == NULL)
			return ops->upd(e, s, key, NULL);
	}
	return -1;
}

/* Read the log, if there is one, and keep it open for appending. */
int
dbfile_open(const char *dir, const struct dbfile_ops *ops)
{
	FILE	*fp;
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 n;
	int	 rc = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/clmemberd.db", dir) >=
	    sizeof(path)) {
		log_warnx("%s/clmemberd.db: path too long", dir);
		return -1;
	}
	if ((fp = fopen(path, "re")) == NULL && errno != ENOENT) {
		log_warn("%s", path);
		return -1;
	}
	nlines = 0;
	while (fp != NULL && (n = getline(&line, &cap, fp)) != -1) {
		nlines++;
		if (line[n - 1] != '\n') {
			log_warnx("%s:%zu: last line cut short, ignored", path,
			    nlines);
			break;
		}
		line[n - 1] = '\0';
		if (replay_line(line, ops) == -1) {
			log_warnx("%s:%zu: not a cluster database line", path,
			    nlines);
			rc = -1;
			break;
		}
	}
	free(line);
	if (fp != NULL)
		(void)fclose(fp);
	if (rc == -1)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd == -1) {
		log_warn("%s", path);
		return -1;
	}
	return 0;
}

/* Append one update and sync it: only then may it be acknowledged. */
int
dbfile_append(uint64_t epoch, uint64_t seq, const char *key,
    const char *val)
{
	char	 b[DB_KEY_MAX + DB_VAL_MAX + 96];
	int	 n;

	if (val != NULL)
		n = snprintf(b, sizeof(b), "u %llu %llu set %s %s\n",
		    (unsigned long long)epoch, (unsigned long long)seq, key,
		    val);
	else
		n = snprintf(b, sizeof(b), "u %llu %llu del %s\n",
		    (unsigned long long)epoch, (unsigned long long)seq, key);
	if (n < 0 || (size_t)n >= sizeof(b) || fd == -1 ||
	    write_all(fd, b, (size_t)n) == -1 || fsync(fd) == -1) {
		log_warn("%s: cannot record update %llu", path,
		    (unsigned long long)seq);
		return -1;
	}
	nlines++;
	return 0;
}

/* Is the log worth replacing by a snapshot of nrec records? */
int
dbfile_bloated(size_t nrec)
{
	return nlines > 4 * nrec + 256;
}

/*
 * Replace the log by a snapshot: written aside and synced, then renamed
 * over it, so a crash leaves the old log or the new one, whole.
 */
int
dbfile_rewrite(uint64_t epoch, uint64_t seq, const struct buf *recs,
    size_t nrec)
{
	char	 tmp[PATH_MAX + 8], head[64];
	int	 t, n;

	(void)snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	n = snprintf(head, sizeof(head), "s %llu %llu\n",
	    (unsigned long long)epoch, (unsigned long long)seq);
	if ((t = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		goto fail;
	if (write_all(t, head, (size_t)n) == -1 ||
	    write_all(t, (const char *)buf_ptr(recs), buf_avail(recs)) == -1 ||
	    fsync(t) == -1) {
		(void)close(t);
		goto fail;
	}
	if (close(t) == -1 || rename(tmp, path) == -1 ||
	    statefile_syncdir(path) == -1)
		goto fail;
	if (fd != -1)
		(void)close(fd);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd == -1)
		goto fail;
	nlines = nrec + 1;
	return 0;
fail:
	log_warn("%s: cannot write a snapshot", path);
	(void)unlink(tmp);
	return -1;
}

void
dbfile_close(void)
{
	if (fd != -1)
		(void)close(fd);
	fd = -1;
}
