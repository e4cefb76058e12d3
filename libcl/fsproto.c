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

/* The file-system protocol's shared pieces: attributes, extents, errors. */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsproto.h"
#include "vol.h"

static int	field(const char **, const char *, char, uint64_t *);

/* errno values cross the wire by name: numbers differ between systems. */
static const struct {
	int		 num;
	const char	*name;
} errnames[] = {
	{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EIO, "EIO" },
	{ EBADF, "EBADF" }, { EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" },
	{ EACCES, "EACCES" }, { EBUSY, "EBUSY" }, { EEXIST, "EEXIST" },
	{ EXDEV, "EXDEV" }, { ENOTDIR, "ENOTDIR" }, { EISDIR, "EISDIR" },
	{ EINVAL, "EINVAL" }, { EFBIG, "EFBIG" }, { ENOSPC, "ENOSPC" },
	{ EROFS, "EROFS" }, { EMLINK, "EMLINK" },
	{ ENAMETOOLONG, "ENAMETOOLONG" }, { ENOTEMPTY, "ENOTEMPTY" },
	{ ESTALE, "ESTALE" }, { ETIMEDOUT, "ETIMEDOUT" },
	{ EHOSTUNREACH, "EHOSTUNREACH" }, { ENOSYS, "ENOSYS" },
	{ EOVERFLOW, "EOVERFLOW" }, { EPROTO, "EPROTO" },
	{ ECONNRESET, "ECONNRESET" }, { EDQUOT, "EDQUOT" },
};

const char *
fs_errname(int e)
{
	size_t	 i;

	for (i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (errnames[i].num == e)
			return errnames[i].name;
	return "EIO";
}

/* An unknown name is EIO: the caller learns something failed. */
int
fs_errnum(const char *name)
{
	size_t	 i;

	if (name == NULL)
		return EIO;
	for (i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (strcmp(errnames[i].name, name) == 0)
			return errnames[i].num;
	return EIO;
}

/* An "error" answer with status=<errno name> and reason=<text>. */
int
fs_error(struct frame *f, uint64_t txid, int e, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	frame_verror(f, txid, fs_errname(e), fmt, ap);
	va_end(ap);
	return f->err ? -1 : 0;
}

/* 0 for "ok", else the errno an "error" answer names. */
int
fs_answer_errno(const struct frame *f)
{
	if (strcmp(f->op, "ok") == 0)
		return 0;
	if (strcmp(f->op, "error") == 0)
		return fs_errnum(frame_get(f, "status"));
	return EPROTO;
}

int
fs_attr_put(struct frame *f, const struct fs_attr *a)
{
	frame_add(f, "ino", "%" PRIu32, a->ino);
	frame_add(f, "gen", "%" PRIu32, a->gen);
	frame_add(f, "type", "%c", a->type);
	frame_add(f, "mode", "%04" PRIo32, a->mode & 07777);
	frame_add(f, "uid", "%" PRIu32, a->uid);
	frame_add(f, "gid", "%" PRIu32, a->gid);
	frame_add(f, "nlink", "%" PRIu32, a->nlink);
	frame_add(f, "size", "%" PRIu64, a->size);
	frame_add(f, "blocks", "%" PRIu64, a->blocks);
	frame_add(f, "mtime", "%" PRId64, a->mtime_ns);
	frame_add(f, "ctime", "%" PRId64, a->ctime_ns);
	frame_add(f, "atime", "%" PRId64, a->atime_ns);
	if (a->rg[0].flags != 0 || a->rg[1].flags != 0) {
		char	 rg[FS_REGIONS_TEXT];

		if (fs_regions_fmt(a->rg, rg, sizeof(rg)) == -1)
			return -1;
		frame_add(f, "regions", "%s", rg);
	}
	return f->err ? -1 : 0;
}

/*
 * Key of f as a number in base, at most max: 1, or 0 if f has no such
 * key, or -1 if its value is not all digits or out of range.
 */
int
fs_getnum(const struct frame *f, const char *key, int base, uint64_t max,
    uint64_t *v)
{
	const char	*s;
	char		*end;
	unsigned long long n;

	if ((s = frame_get(f, key)) == NULL)
		return 0;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoull(s, &end, base);
	if (errno != 0 || *end != '\0' || n > max)
		return -1;
	*v = n;
	return 1;
}

static int
getsnum(const struct frame *f, const char *key, int64_t *v)
{
	const char	*s;
	char		*end;
	long long	 n;

	if ((s = frame_get(f, key)) == NULL || *s == '\0')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*v = n;
	return 0;
}

/* -1 if any attribute is missing or malformed. */
int
fs_attr_get(const struct frame *f, struct fs_attr *a)
{
	const char	*t;
	uint64_t	 v[8];

	memset(a, 0, sizeof(*a));
	if (fs_getnum(f, "ino", 10, UINT32_MAX, &v[0]) != 1 ||
	    fs_getnum(f, "gen", 10, UINT32_MAX, &v[1]) != 1 ||
	    fs_getnum(f, "mode", 8, 07777, &v[2]) != 1 ||
	    fs_getnum(f, "uid", 10, UINT32_MAX, &v[3]) != 1 ||
	    fs_getnum(f, "gid", 10, UINT32_MAX, &v[4]) != 1 ||
	    fs_getnum(f, "nlink", 10, UINT32_MAX, &v[5]) != 1 ||
	    fs_getnum(f, "size", 10, INT64_MAX, &v[6]) != 1 ||
	    fs_getnum(f, "blocks", 10, INT64_MAX, &v[7]) != 1 ||
	    getsnum(f, "mtime", &a->mtime_ns) == -1 ||
	    getsnum(f, "ctime", &a->ctime_ns) == -1)
		return -1;
	if ((t = frame_get(f, "type")) == NULL || (strcmp(t, "f") != 0 &&
	    strcmp(t, "d") != 0))
		return -1;
	a->ino = (uint32_t)v[0];
	a->gen = (uint32_t)v[1];
	a->type = t[0];
	a->mode = (uint32_t)v[2];
	a->uid = (uint32_t)v[3];
	a->gid = (uint32_t)v[4];
	a->nlink = (uint32_t)v[5];
	a->size = v[6];
	a->blocks = v[7];
	/* Optional: older answers have neither. */
	if (frame_get(f, "atime") != NULL &&
	    getsnum(f, "atime", &a->atime_ns) == -1)
		return -1;
	if ((t = frame_get(f, "regions")) != NULL &&
	    fs_regions_parse(t, a->rg) == -1)
		return -1;
	return 0;
}

static const char rgflag[] = "rwt";	/* VOL_RG_READ, _WRITE, _TRUNCATE */

int
fs_regions_fmt(const struct vol_region *rg, char *s, size_t n)
{
	size_t	 len = 0;
	int	 i, j, k;
	char	 fl[4];

	s[0] = '\0';
	for (i = 0; i < VOL_REGIONS; i++) {
		if (rg[i].flags == 0)
			continue;
		for (j = k = 0; j < 3; j++)
			if (rg[i].flags & (1U << j))
				fl[k++] = rgflag[j];
		fl[k] = '\0';
		k = snprintf(s + len, n - len, "%s%" PRIu64 ":%" PRIu64 ":%s",
		    len > 0 ? "," : "", rg[i].off, rg[i].len, fl);
		if (k < 0 || (size_t)k >= n - len)
			return -1;
		len += (size_t)k;
	}
	if (len == 0 && strlcpy(s, "none", n) >= n)
		return -1;
	return 0;
}

/* One "OFF:LEN:FLAGS" of a region list. */
static int
region_parse(const char *p, const char *end, struct vol_region *rg)
{
	const char	*f;
	uint64_t	 v[2];
	int		 i;

	for (i = 0; i < 2; i++)
		if (field(&p, end, ':', &v[i]) == -1)
			return -1;
	rg->off = v[0];
	rg->len = v[1];
	rg->flags = 0;
	if (p >= end)
		return -1;
	for (; p < end; p++) {
		if ((f = strchr(rgflag, *p)) == NULL || *p == '\0' ||
		    (rg->flags & (1U << (f - rgflag))))
			return -1;
		rg->flags |= 1U << (f - rgflag);
	}
	return vol_region_check(rg, NULL, 0) == -1 ? -1 : 0;
}

/* 0, or -1 with errno EINVAL (malformed) or E2BIG (too many regions). */
int
fs_regions_parse(const char *s, struct vol_region *rg)
{
	const char	*p, *c;
	int		 n = 0;

	memset(rg, 0, VOL_REGIONS * sizeof(*rg));
	if (strcmp(s, "none") == 0)
		return 0;
	for (p = s; ; p = c + 1) {
		c = strchr(p, ',');
		if (c == NULL)
			c = p + strlen(p);
		if (n == VOL_REGIONS) {
			errno = E2BIG;
			return -1;
		}
		if (region_parse(p, c, &rg[n++]) == -1) {
			memset(rg, 0, VOL_REGIONS * sizeof(*rg));
			errno = EINVAL;
			return -1;
		}
		if (*c == '\0')
			return 0;
	}
}

int
fs_extent_put(struct buf *b, const struct fs_extent *e)
{
	return buf_printf(b, "extent=%" PRIu64 ":%" PRIu64 ":%" PRIu64 ":%s\n",
	    e->off, e->len, e->dev, e->written ? "written" : "unwritten");
}

static int
field(const char **p, const char *end, char sep, uint64_t *v)
{
	uint64_t	 n = 0;
	const char	*s = *p;

	if (s == end || *s < '0' || *s > '9')
		return -1;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	if (s == end || *s != sep)
		return -1;
	*v = n;
	*p = s + 1;
	return 0;
}

/* One "extent=<off>:<len>:<dev>:<written|unwritten>" line, no newline. */
int
fs_extent_parse(const char *s, size_t n, struct fs_extent *e)
{
	const char	*end = s + n;
	size_t		 rest;

	if (n < 7 || memcmp(s, "extent=", 7) != 0)
		return -1;
	s += 7;
	if (field(&s, end, ':', &e->off) == -1 ||
	    field(&s, end, ':', &e->len) == -1 ||
	    field(&s, end, ':', &e->dev) == -1)
		return -1;
	rest = (size_t)(end - s);
	if (rest == 7 && memcmp(s, "written", 7) == 0)
		e->written = 1;
	else if (rest == 9 && memcmp(s, "unwritten", 9) == 0)
		e->written = 0;
	else
		return -1;
	if (e->len == 0 || e->off > INT64_MAX - e->len ||
	    e->dev > INT64_MAX - e->len)
		return -1;
	return 0;
}

/* Every line of a payload; -1 on a malformed line or more than max. */
int
fs_extents_parse(const uint8_t *p, size_t n, struct fs_extent *out,
    size_t max, size_t *count)
{
	const char	*s = (const char *)p, *end = s + n, *nl;

	*count = 0;
	while (s < end) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			return -1;
		if (*count == max)
			return -1;
		if (fs_extent_parse(s, (size_t)(nl - s), &out[*count]) == -1)
			return -1;
		(*count)++;
		s = nl + 1;
	}
	return 0;
}

/*
 * An absolute path of components no longer than VOL_NAME_MAX, without
 * empty, "." or ".." components: 0, or the errno to answer.
 */
int
fs_path_check(const char *p)
{
	const char	*c, *slash;
	size_t		 n;

	if (p == NULL || p[0] != '/')
		return EINVAL;
	if (strlen(p) >= FS_PATH_MAX)
		return ENAMETOOLONG;
	for (c = p + 1; *c != '\0'; c = slash + 1) {
		if ((slash = strchr(c, '/')) == NULL)
			slash = c + strlen(c);
		n = (size_t)(slash - c);
		if (n == 0 && *slash == '\0')
			break;		/* a trailing slash */
		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return EINVAL;
		if (n > VOL_NAME_MAX)
			return ENAMETOOLONG;
		if (*slash == '\0')
			break;
	}
	return 0;
}

int
fs_name_split(const char *arg, char *fs, size_t fslen, char *path,
    size_t pathlen)
{
	const char	*colon;
	size_t		 len;

	if ((colon = strchr(arg, ':')) == NULL || colon == arg)
		return EINVAL;
	if ((size_t)(colon - arg) >= fslen)
		return ENAMETOOLONG;
	memcpy(fs, arg, (size_t)(colon - arg));
	fs[colon - arg] = '\0';
	if ((size_t)snprintf(path, pathlen, "%s%s", colon[1] == '/' ? "" : "/",
	    colon + 1) >= pathlen)
		return ENAMETOOLONG;
	while ((len = strlen(path)) > 1 && path[len - 1] == '/')
		path[len - 1] = '\0';
	return fs_path_check(path);
}
