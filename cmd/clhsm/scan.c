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
 * The scan behind a migration campaign: a walk of the whole file system
 * through cliod (readdir, then a stat of every regular file), one
 * directory page or HSM_SCAN_STATS stats per step.  It keeps the
 * HSM_CANDS_MAX least recently used files (atime, else mtime) that are
 * older than --min-age, have blocks and no managed region, oldest first.
 * On the way it brings the index's paths up to date (renames it was not
 * told of).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clhsm.h"
#include "log.h"
#include "loop.h"

static void
free_names(struct scan *s)
{
	size_t	 i;

	for (i = 0; i < s->nnames; i++)
		free(s->names[i]);
	free(s->names);
	s->names = NULL;
	s->nnames = s->inames = 0;
}

void
scan_free(struct scan *s)
{
	size_t	 i;

	free_names(s);
	for (i = 0; i < s->ndirs; i++)
		free(s->dirs[i]);
	free(s->dirs);
	free(s->dir);
	for (i = 0; i < s->nc; i++)
		free(s->c[i].path);
	free(s->c);
	memset(s, 0, sizeof(*s));
}

static int
push_dir(struct scan *s, const char *path)
{
	char	**d, *p;

	if (s->ndirs >= HSM_DIRS_MAX)
		return -1;
	if ((p = strdup(path)) == NULL)
		return -1;
	if ((d = reallocarray(s->dirs, s->ndirs + 1, sizeof(*d))) == NULL) {
		free(p);
		return -1;
	}
	s->dirs = d;
	s->dirs[s->ndirs++] = p;
	return 0;
}

void
scan_start(struct scan *s)
{
	static uint64_t	 serials;

	scan_free(s);
	s->serial = ++serials;
	s->active = 1;
	s->now_ns = (int64_t)wallclock_us() * 1000;
	if (push_dir(s, "/") == -1) {
		log_warn("scan");
		s->done = 1;
	}
}

static int
cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->used_ns != y->used_ns)
		return x->used_ns < y->used_ns ? -1 : 1;
	/* Of files used at once, the bigger frees more. */
	if (x->blocks != y->blocks)
		return x->blocks > y->blocks ? -1 : 1;
	return 0;
}

/* Keep the HSM_CANDS_MAX oldest. */
static void
trim(struct scan *s)
{
	size_t	 i;

	qsort(s->c, s->nc, sizeof(*s->c), cand_cmp);
	for (i = HSM_CANDS_MAX; i < s->nc; i++)
		free(s->c[i].path);
	if (s->nc > HSM_CANDS_MAX)
		s->nc = HSM_CANDS_MAX;
}

static void
add_cand(struct scan *s, const char *path, const struct fs_attr *a)
{
	struct cand	*c;

	if (s->nc >= 2 * HSM_CANDS_MAX)
		trim(s);
	if (s->c == NULL && (s->c = calloc(2 * HSM_CANDS_MAX,
	    sizeof(*s->c))) == NULL)
		return;
	c = &s->c[s->nc];
	if ((c->path = strdup(path)) == NULL)
		return;
	c->ino = a->ino;
	c->gen = a->gen;
	c->used_ns = a->atime_ns > 0 ? a->atime_ns : a->mtime_ns;
	c->blocks = a->blocks;
	s->nc++;
}

static int
join(char *out, size_t n, const char *dir, const char *name)
{
	return (size_t)snprintf(out, n, "%s%s%s", dir, strcmp(dir, "/") == 0 ?
	    "" : "/", name) >= n ? -1 : 0;
}

static void
look_at(struct hsm *h, struct scan *s, const char *path)
{
	struct fs_attr	 a;
	struct entry	*e;
	int		 rc;

	if ((rc = fio_stat(&h->fio, path, &a)) != 0) {
		if (rc != ENOENT)
			log_debug("scan: %s: %s", path, h->fio.error);
		return;
	}
	if (a.type == 'd') {
		if (push_dir(s, path) == -1)
			log_warnx("scan: %s left out (%d directories wait)",
			    path, HSM_DIRS_MAX);
		return;
	}
	s->files++;
	if ((e = idx_find(&h->idx, a.ino, a.gen)) != NULL) {
		/* Ours: renamed while we did not look? */
		if ((e->path == NULL || strcmp(e->path, path) != 0) &&
		    !e->busy && idx_path(&h->idx, e, path) == -1)
			log_warnx("%s", h->idx.error);
		e->seen = s->serial;
		/* Migrated without a region: compare, drop the copy if same. */
		if (e->state == ENT_MIGRATED && !e->busy &&
		    !fio_has_regions(&a))
			run_check(h, e);
		return;
	}
	if (fio_has_regions(&a) || a.size == 0 || a.blocks == 0)
		return;
	if ((s->now_ns - (a.atime_ns > 0 ? a.atime_ns : a.mtime_ns)) /
	    1000000000 < h->min_age)
		return;
	add_cand(s, path, &a);
}

/* The names of one readdir page: "<name>\t<ino>\t<type>\n" each. */
static int
read_page(struct hsm *h, struct scan *s)
{
	struct frame	 ans;
	const char	*p, *end, *nl, *tab;
	char		**n;
	uint64_t	 next;
	int		 rc;

	if ((rc = fio_readdir(&h->fio, s->dir, s->cookie, &ans)) != 0) {
		log_warnx("scan: %s: %s", s->dir, h->fio.error);
		s->dir_eof = 1;
		return rc == -1 ? -1 : 0;
	}
	p = (const char *)ans.payload;
	end = p + ans.len;
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
		    (tab = memchr(p, '\t', (size_t)(nl - p))) == NULL)
			break;
		if ((n = reallocarray(s->names, s->nnames + 1,
		    sizeof(*n))) == NULL)
			break;
		s->names = n;
		if ((s->names[s->nnames] = strndup(p, (size_t)(tab - p))) ==
		    NULL)
			break;
		s->nnames++;
	}
	if (frame_get(&ans, "eof") != NULL ||
	    frame_getu64(&ans, "next", &next) == -1 || next == 0)
		s->dir_eof = 1;
	else
		s->cookie = next;
	return 0;
}

/* One step: 0 while there is more, 1 when the candidates are ready. */
int
scan_step(struct hsm *h, struct scan *s)
{
	struct entry	*e;
	char		 path[FS_PATH_MAX];
	int		 i;

	if (s->done)
		return 1;
	if (s->inames < s->nnames) {
		for (i = 0; i < HSM_SCAN_STATS && s->inames < s->nnames; i++) {
			if (join(path, sizeof(path), s->dir,
			    s->names[s->inames++]) == 0)
				look_at(h, s, path);
		}
		if (s->inames == s->nnames)
			free_names(s);
		return 0;
	}
	if (s->dir != NULL && !s->dir_eof) {
		if (read_page(h, s) == -1)
			goto stop;
		return 0;
	}
	free(s->dir);
	s->dir = NULL;
	if (s->ndirs > 0) {
		s->dir = s->dirs[--s->ndirs];
		s->cookie = 0;
		s->dir_eof = 0;
		return 0;
	}
	/*
	 * A whole walk did not meet these: removed while clhsm was not
	 * running, most likely.  Their handles tell (run.c, probe).
	 */
	RB_FOREACH(e, entries, &h->idx.ents)
		if (e->seen != s->serial && !e->busy && e->gone_ms == 0)
			e->gone_ms = clock_ms();
 stop:
	trim(s);
	s->next = 0;
	s->done = 1;
	log_debug("scan: %" PRIu64 " files, %zu candidates", s->files, s->nc);
	return 1;
}
