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
 * Requests: every metadata operation goes to the admin server (seed 002
 * L1535-L1541: create, delete, getattr, setattr, directory services ...),
 * which checks the caller's access first (L305, L566) and refuses a block
 * list without it (L1494-L1495).  Each operation checks everything it can
 * fail on before it changes anything, so an error, ENOSPC included,
 * leaves nothing half-done.
 */

#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clmetad.h"
#include "log.h"
#include "ops.h"

int
fail(struct req *r, int e, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return e;
}

static int
in_group(const struct cred *c, uint32_t gid)
{
	int	 i;

	if (c->gid == gid)
		return 1;
	for (i = 0; i < c->ngroups; i++)
		if (c->groups[i] == gid)
			return 1;
	return 0;
}

/* POSIX permission bits; uid 0 may do anything. */
int
may(const struct minode *mi, const struct cred *c, unsigned want)
{
	unsigned	 bits;

	if (c->uid == 0)
		return 1;
	if (c->uid == mi->d.uid)
		bits = (mi->d.mode >> 6) & 7;
	else if (in_group(c, mi->d.gid))
		bits = (mi->d.mode >> 3) & 7;
	else
		bits = mi->d.mode & 7;
	return (bits & want) == want;
}

/* Without uid= and gid= a caller is nobody. */
static void
parse_cred(const struct frame *f, struct cred *c)
{
	const char	*s, *p;
	char		*end;
	unsigned long	 v;
	uint64_t	 n;

	memset(c, 0, sizeof(*c));
	c->uid = c->gid = 65534;
	if (fs_getnum(f, "uid", 10, UINT32_MAX, &n) == 1)
		c->uid = (uint32_t)n;
	if (fs_getnum(f, "gid", 10, UINT32_MAX, &n) == 1)
		c->gid = (uint32_t)n;
	if ((s = frame_get(f, "groups")) == NULL)
		return;
	for (p = s; *p != '\0' && c->ngroups < META_GROUPS_MAX; p = end) {
		if (*p == ',')
			p++;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (end == p || errno != 0 || v > UINT32_MAX)
			break;
		c->groups[c->ngroups++] = (uint32_t)v;
	}
}

/*
 * Walk path: search (x) permission on every directory on the way.  The
 * last component need not exist.  "/" is the root, with an empty name.
 */
int
resolve(struct req *r, const char *key, struct walk *w)
{
	const char	*p = frame_get(r->f, key), *c, *slash;
	struct minode	*cur;
	struct dent	*d;
	size_t		 n;
	int		 e;

	if (p == NULL)
		return fail(r, EINVAL, "no %s=", key);
	if ((e = fs_path_check(p)) != 0)
		return fail(r, e, "%s: bad path", p);
	memset(w, 0, sizeof(*w));
	w->parent = w->ino = VOL_ROOT_INO;
	w->name = "";
	for (c = p + 1; *c != '\0'; c = slash + 1) {
		if ((slash = strchr(c, '/')) == NULL)
			slash = c + strlen(c);
		if ((n = (size_t)(slash - c)) == 0)
			break;
		if (w->ino == 0)
			return fail(r, ENOENT, "%s: no such directory", p);
		cur = M->ino[w->ino];
		if (!S_ISDIR(cur->d.mode))
			return fail(r, ENOTDIR, "%s: not a directory", p);
		if (!may(cur, &r->c, X_OK_))
			return fail(r, EACCES, "%s: search permission denied",
			    p);
		w->parent = w->ino;
		w->name = c;
		w->len = n;
		d = dir_lookup(w->parent, c, n);
		w->d = d;
		w->ino = d != NULL ? d->ino : 0;
		if (*slash == '\0')
			break;
	}
	return 0;
}

int
exists(struct req *r, const struct walk *w)
{
	if (w->ino == 0)
		return fail(r, ENOENT, "%s: no such file or directory",
		    frame_get(r->f, "path"));
	return 0;
}

/* w+x on the directory an entry is added to or removed from. */
static int
may_change(struct req *r, uint32_t dir)
{
	if (!may(M->ino[dir], &r->c, W_OK_ | X_OK_))
		return fail(r, EACCES, "no write permission in the directory");
	return 0;
}

/* Sticky directories: only the owner of the entry or of the directory. */
static int
sticky_ok(struct req *r, uint32_t dir, uint32_t ino)
{
	const struct minode *d = M->ino[dir], *t = M->ino[ino];

	if (!(d->d.mode & S_ISVTX) || r->c.uid == 0 ||
	    r->c.uid == d->d.uid || r->c.uid == t->d.uid)
		return 0;
	return fail(r, EPERM, "sticky directory: not the owner");
}

int
answer_attr(struct req *r, uint32_t ino)
{
	struct fs_attr	 a;

	inode_attr(ino, &a);
	if (fs_attr_put(r->out, &a) == -1)
		return fail(r, EIO, "cannot build the answer");
	return 0;
}

/* Blocks an operation on these directories may touch in a record. */
uint32_t
est(uint32_t a, uint32_t b)
{
	uint64_t	 n = 8 + M->sb.bitmap_blocks;

	if (a != 0 && M->ino[a] != NULL)
		n += M->ino[a]->novf + 1;
	if (b != 0 && M->ino[b] != NULL)
		n += M->ino[b]->novf + 1;
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

int
room(struct req *r, uint32_t n)
{
	if (tx_room(n) == -1)
		return fail(r, EFBIG, "too large for one journal record");
	return 0;
}

static int
op_stat(struct req *r)
{
	struct walk	 w;
	int		 e;

	if ((e = resolve(r, "path", &w)) != 0 || (e = exists(r, &w)) != 0)
		return e;
	return answer_attr(r, w.ino);
}

static int
get_mode(struct req *r, uint32_t *mode, uint64_t v)
{
	if (fs_getnum(r->f, "mode", 8, 07777, &v) == -1)
		return fail(r, EINVAL, "bad mode=");
	*mode = (uint32_t)v;
	return 0;
}

/* A new inode named w->name in w->parent. */
static int
make_node(struct req *r, const struct walk *w, uint32_t mode, uint32_t *out)
{
	struct minode	*mi, *pi = M->ino[w->parent];
	uint32_t	 ino;
	int		 isdir = S_ISDIR(mode);

	if (isdir && pi->d.nlink == UINT32_MAX)
		return fail(r, EMLINK, "too many links");
	if (M->ifree == 0)
		return fail(r, ENOSPC, "no free inode");
	if (dir_need_block(w->parent) == -1)
		return fail(r, ENOSPC, "no space for the directory entry");
	if ((ino = alloc_inode()) == 0)
		return fail(r, ENOSPC, "no free inode");
	mi = M->ino[ino];
	mi->d.mode = mode;
	mi->d.uid = r->c.uid;
	mi->d.gid = (pi->d.mode & S_ISGID) ? pi->d.gid : r->c.gid;
	if (isdir && (pi->d.mode & S_ISGID))
		mi->d.mode |= S_ISGID;
	mi->d.nlink = isdir ? 2 : 1;
	mi->d.parent = isdir ? w->parent : 0;
	inode_touch(mi, 0);
	mi->d.atime_ns = mi->d.mtime_ns;
	if ((isdir && dir_init(ino) == -1) ||
	    dir_add(w->parent, w->name, w->len, ino,
	    isdir ? VOL_DT_DIR : VOL_DT_REG) == -1)
		fatal("out of memory");
	if (isdir)
		pi->d.nlink++;
	inode_touch(pi, 0);
	tx_inode(w->parent);
	*out = ino;
	return 0;
}

static int truncate_to(struct req *, uint32_t, uint64_t);

static int
op_create(struct req *r)
{
	struct walk	 w;
	uint32_t	 mode = 0, ino;
	int		 e;

	if ((e = resolve(r, "path", &w)) != 0 ||
	    (e = get_mode(r, &mode, 0644)) != 0)
		return e;
	if (w.len == 0)
		return fail(r, EISDIR, "/: is a directory");
	if (w.ino != 0) {
		if (frame_get(r->f, "excl") != NULL &&
		    strcmp(frame_get(r->f, "excl"), "0") != 0)
			return fail(r, EEXIST, "%s: file exists",
			    frame_get(r->f, "path"));
		if (S_ISDIR(M->ino[w.ino]->d.mode))
			return fail(r, EISDIR, "%s: is a directory",
			    frame_get(r->f, "path"));
		if (frame_get(r->f, "trunc") != NULL &&
		    strcmp(frame_get(r->f, "trunc"), "0") != 0) {
			if (!may(M->ino[w.ino], &r->c, W_OK_))
				return fail(r, EACCES, "%s: permission denied",
				    frame_get(r->f, "path"));
			if ((e = right_check(r, w.ino, 1)) != 0 ||
			    (e = truncate_to(r, w.ino, 0)) != 0)
				return e;
		}
		return answer_attr(r, w.ino);
	}
	if ((e = may_change(r, w.parent)) != 0 ||
	    (e = room(r, est(w.parent, 0))) != 0 ||
	    (e = make_node(r, &w, S_IFREG | mode, &ino)) != 0)
		return e;
	return answer_attr(r, ino);
}

static int
op_mkdir(struct req *r)
{
	struct walk	 w;
	uint32_t	 mode = 0, ino;
	int		 e;

	if ((e = resolve(r, "path", &w)) != 0 ||
	    (e = get_mode(r, &mode, 0755)) != 0)
		return e;
	if (w.ino != 0)
		return fail(r, EEXIST, "%s: file exists",
		    frame_get(r->f, "path"));
	if ((e = may_change(r, w.parent)) != 0 ||
	    (e = room(r, est(w.parent, 0))) != 0 ||
	    (e = make_node(r, &w, S_IFDIR | mode, &ino)) != 0)
		return e;
	return answer_attr(r, ino);
}

/*
 * One link less; the last one frees the inode and its blocks, and the
 * answer says destroyed=INO (cliod raises the DMAPI destroy event).
 */
static void
drop_link(struct req *r, uint32_t ino)
{
	struct minode	*mi = M->ino[ino];

	if (S_ISDIR(mi->d.mode) || --mi->d.nlink == 0) {
		frame_add(r->out, "destroyed", "%u", ino);
		lease_recall(ino, 0, 0);
		right_drop(ino, NULL);
		dir_free(ino);
		if (inode_punch(ino, 0, 0) == -1)
			fatalx("inode %u: cannot free its blocks", ino);
		alloc_free_inode(ino);
		return;
	}
	inode_touch(mi, 1);
	tx_inode(ino);
}

static int
op_unlink(struct req *r)
{
	struct walk	 w;
	int		 e;

	if ((e = resolve(r, "path", &w)) != 0 || (e = exists(r, &w)) != 0)
		return e;
	if (S_ISDIR(M->ino[w.ino]->d.mode))
		return fail(r, EISDIR, "%s: is a directory",
		    frame_get(r->f, "path"));
	if ((e = right_check(r, w.ino, 1)) != 0 ||
	    (e = may_change(r, w.parent)) != 0 ||
	    (e = sticky_ok(r, w.parent, w.ino)) != 0 ||
	    (e = room(r, est(w.parent, w.ino))) != 0)
		return e;
	dir_remove(w.d);
	drop_link(r, w.ino);
	inode_touch(M->ino[w.parent], 0);
	tx_inode(w.parent);
	return 0;
}

static int
op_rmdir(struct req *r)
{
	struct walk	 w;
	struct minode	*mi;
	int		 e;

	if ((e = resolve(r, "path", &w)) != 0 || (e = exists(r, &w)) != 0)
		return e;
	mi = M->ino[w.ino];
	if (w.len == 0)
		return fail(r, EBUSY, "/: the root");
	if (!S_ISDIR(mi->d.mode))
		return fail(r, ENOTDIR, "%s: not a directory",
		    frame_get(r->f, "path"));
	if (mi->dir->nent > 0)
		return fail(r, ENOTEMPTY, "%s: directory not empty",
		    frame_get(r->f, "path"));
	if ((e = may_change(r, w.parent)) != 0 ||
	    (e = sticky_ok(r, w.parent, w.ino)) != 0 ||
	    (e = room(r, est(w.parent, w.ino))) != 0)
		return e;
	dir_remove(w.d);
	drop_link(r, w.ino);
	M->ino[w.parent]->d.nlink--;
	inode_touch(M->ino[w.parent], 0);
	tx_inode(w.parent);
	return 0;
}

/* Is dir ino at or under directory top? */
static int
under(uint32_t ino, uint32_t top)
{
	uint32_t	 n;

	for (n = 0; n <= M->sb.ninodes; n++) {
		if (ino == top)
			return 1;
		if (ino == VOL_ROOT_INO || M->ino[ino] == NULL)
			return 0;
		ino = M->ino[ino]->d.parent;
	}
	return 1;		/* a loop: refuse */
}

static int
rename_check(struct req *r, const struct walk *s, const struct walk *d)
{
	struct minode	*si, *di;
	int		 e;

	if ((e = exists(r, s)) != 0)
		return e;
	if (s->len == 0 || d->len == 0)
		return fail(r, EBUSY, "cannot rename the root");
	si = M->ino[s->ino];
	if (S_ISDIR(si->d.mode) && under(d->parent, s->ino))
		return fail(r, EINVAL, "cannot move a directory into itself");
	if (d->ino == 0 || d->ino == s->ino)
		return 0;
	di = M->ino[d->ino];
	if (S_ISDIR(si->d.mode) && !S_ISDIR(di->d.mode))
		return fail(r, ENOTDIR, "%s: not a directory",
		    frame_get(r->f, "newpath"));
	if (!S_ISDIR(si->d.mode) && S_ISDIR(di->d.mode))
		return fail(r, EISDIR, "%s: is a directory",
		    frame_get(r->f, "newpath"));
	if (S_ISDIR(di->d.mode) && di->dir->nent > 0)
		return fail(r, ENOTEMPTY, "%s: directory not empty",
		    frame_get(r->f, "newpath"));
	return sticky_ok(r, d->parent, d->ino);
}

static int
op_rename(struct req *r)
{
	struct walk	 s, d;
	struct minode	*si;
	uint32_t	 ino;
	uint8_t		 type;
	int		 e, isdir;

	/*
	 * The new name is newpath=: to= is the router's (cl-wire(5)), so a
	 * routed frame cannot carry a path under that key.
	 */
	if ((e = resolve(r, "path", &s)) != 0 ||
	    (e = resolve(r, "newpath", &d)) != 0 ||
	    (e = rename_check(r, &s, &d)) != 0)
		return e;
	if (d.ino == s.ino)
		return 0;
	if ((e = right_check(r, s.ino, 1)) != 0 ||
	    (d.ino != 0 && (e = right_check(r, d.ino, 1)) != 0) ||
	    (e = may_change(r, s.parent)) != 0 ||
	    (e = may_change(r, d.parent)) != 0 ||
	    (e = sticky_ok(r, s.parent, s.ino)) != 0 ||
	    (e = room(r, est(s.parent, d.parent) + est(s.ino, d.ino))) != 0)
		return e;
	if (d.ino == 0 && dir_need_block(d.parent) == -1)
		return fail(r, ENOSPC, "no space for the directory entry");
	si = M->ino[s.ino];
	isdir = S_ISDIR(si->d.mode);
	ino = s.ino;
	type = s.d->type;
	if (d.ino != 0) {
		dir_remove(d.d);
		if (S_ISDIR(M->ino[d.ino]->d.mode))
			M->ino[d.parent]->d.nlink--;
		drop_link(r, d.ino);
	}
	dir_remove(s.d);
	if (dir_add(d.parent, d.name, d.len, ino, type) == -1)
		fatal("out of memory");
	if (isdir && s.parent != d.parent) {
		si->d.parent = d.parent;
		M->ino[s.parent]->d.nlink--;
		M->ino[d.parent]->d.nlink++;
	}
	inode_touch(si, 1);
	inode_touch(M->ino[s.parent], 0);
	inode_touch(M->ino[d.parent], 0);
	tx_inode(ino);
	tx_inode(s.parent);
	tx_inode(d.parent);
	return 0;
}

/* "<name>\t<ino>\t<type>\n" lines from cookie on, up to FS_READDIR_MAX. */
static int
op_readdir(struct req *r)
{
	struct walk	 w;
	struct minode	*mi;
	struct dent	*d;
	uint64_t	 cookie = 0;
	uint32_t	 pos;
	size_t		 n = 0;
	int		 e, k;

	if ((e = resolve(r, "path", &w)) != 0 || (e = exists(r, &w)) != 0)
		return e;
	mi = M->ino[w.ino];
	if (!S_ISDIR(mi->d.mode))
		return fail(r, ENOTDIR, "%s: not a directory",
		    frame_get(r->f, "path"));
	if (!may(mi, &r->c, R_OK_))
		return fail(r, EACCES, "%s: permission denied",
		    frame_get(r->f, "path"));
	if (fs_getnum(r->f, "cookie", 10, UINT32_MAX, &cookie) == -1)
		return fail(r, EINVAL, "bad cookie=");
	if ((r->payload = malloc(FS_READDIR_MAX)) == NULL)
		return fail(r, ENOMEM, "out of memory");
	for (pos = (uint32_t)cookie; pos < mi->dir->nslot; pos++) {
		if ((d = mi->dir->slot[pos]) == NULL)
			continue;
		k = snprintf((char *)r->payload + n, FS_READDIR_MAX - n,
		    "%s\t%u\t%c\n", d->name, d->ino,
		    d->type == VOL_DT_DIR ? 'd' : 'f');
		if (k < 0 || (size_t)k >= FS_READDIR_MAX - n)
			break;
		n += (size_t)k;
	}
	r->plen = n;
	if (pos < mi->dir->nslot)
		frame_add(r->out, "next", "%u", pos);
	else
		frame_add(r->out, "eof", "1");
	return 0;
}

/*
 * Truncate down: cached block lists are recalled, the blocks past the
 * end released (quarantined while leased), and the tail of a written
 * last block zeroed on the volume before the record that shortens the
 * file, so bytes past EOF in written blocks always read as zeros.
 */
static int
truncate_to(struct req *r, uint32_t ino, uint64_t size)
{
	struct minode	*mi = M->ino[ino];
	uint64_t	 keep, pb, tail;
	uint32_t	 i;
	uint8_t		*z;
	int		 e;

	if (size > META_FILE_MAX)
		return fail(r, EFBIG, "file too large");
	if ((e = room(r, est(ino, 0))) != 0)
		return e;
	if (size < mi->d.size) {
		lease_recall(ino, 0, 0);
		keep = (size + M->bs - 1) / M->bs;
		tail = size % M->bs;
		if (tail != 0 && ext_lookup(&mi->x, size / M->bs, &i) &&
		    !(mi->x.e[i].flags & VOL_EXT_UNWRITTEN)) {
			pb = ext_pblk(mi, size / M->bs);
			if ((z = calloc(1, M->bs - tail)) == NULL)
				return fail(r, ENOMEM, "out of memory");
			if (pwrite(M->fd, z, M->bs - tail,
			    (off_t)(pb * M->bs + tail)) != (ssize_t)(M->bs -
			    tail) || fdatasync(M->fd) == -1) {
				free(z);
				return fail(r, EIO, "zeroing the last block: "
				    "%s", strerror(errno));
			}
			free(z);
		}
		if (inode_punch(ino, keep, 0) == -1)
			return fail(r, EFBIG, "too many extents");
	}
	mi->d.size = size;
	inode_touch(mi, 0);
	tx_inode(ino);
	return 0;
}

static int
setattr_check(struct req *r, const struct minode *mi, const uint64_t *v,
    const int *has)
{
	int	 owner = r->c.uid == 0 || r->c.uid == mi->d.uid;

	if ((has[0] || has[4]) && !owner)
		return fail(r, EPERM, "not the owner");
	if (has[1] && v[1] != mi->d.uid && r->c.uid != 0)
		return fail(r, EPERM, "only root may change the owner");
	if (has[2] && v[2] != mi->d.gid && r->c.uid != 0 &&
	    (!owner || !in_group(&r->c, (uint32_t)v[2])))
		return fail(r, EPERM, "cannot change the group");
	if (has[3] && S_ISDIR(mi->d.mode))
		return fail(r, EISDIR, "is a directory");
	if (has[3] && !may(mi, &r->c, W_OK_))
		return fail(r, EACCES, "permission denied");
	return 0;
}

/*
 * The new owner and group are owner= and group=: uid= and gid= are the
 * caller's, as cliod sets them.
 */
static int
op_setattr(struct req *r)
{
	static const struct {
		const char	*key;
		int		 base;
		uint64_t	 max;
	} keys[] = {
		{ "mode", 8, 07777 }, { "owner", 10, UINT32_MAX },
		{ "group", 10, UINT32_MAX }, { "size", 10, INT64_MAX },
		{ "mtime", 10, INT64_MAX },
	};
	struct walk	 w;
	struct minode	*mi;
	uint64_t	 v[5] = { 0 };
	int		 has[5], e, i;

	if ((e = resolve(r, "path", &w)) != 0 || (e = exists(r, &w)) != 0)
		return e;
	for (i = 0; i < 5; i++)
		if ((has[i] = fs_getnum(r->f, keys[i].key, keys[i].base,
		    keys[i].max, &v[i])) == -1)
			return fail(r, EINVAL, "bad %s=", keys[i].key);
	mi = M->ino[w.ino];
	if (has[3] && (e = right_check(r, w.ino, 1)) != 0)
		return e;
	if ((e = setattr_check(r, mi, v, has)) != 0 ||
	    (e = room(r, est(w.ino, 0))) != 0)
		return e;
	if (has[3] && (e = truncate_to(r, w.ino, v[3])) != 0)
		return e;
	if (has[0])
		mi->d.mode = (mi->d.mode & S_IFMT) | (uint32_t)v[0];
	if (has[1])
		mi->d.uid = (uint32_t)v[1];
	if (has[2])
		mi->d.gid = (uint32_t)v[2];
	inode_touch(mi, 1);
	if (has[4])
		mi->d.mtime_ns = (int64_t)v[4];
	tx_inode(w.ino);
	return answer_attr(r, w.ino);
}

static int
op_statfs(struct req *r)
{
	frame_add(r->out, "bsize", "%u", M->bs);
	frame_add(r->out, "blocks", "%llu",
	    (unsigned long long)(M->sb.nblocks - M->sb.data_start));
	frame_add(r->out, "bfree", "%llu", (unsigned long long)M->bfree);
	frame_add(r->out, "files", "%u", M->sb.ninodes);
	frame_add(r->out, "ffree", "%u", M->ifree);
	frame_add(r->out, "epoch", "%llu", (unsigned long long)M->sb.epoch);
	frame_add(r->out, "admin", "%u", M->self);
	frame_add(r->out, "label", "%s", M->sb.label);
	return 0;
}

/* The file named by ino= and gen=, a regular one. */
int
by_ino(struct req *r, uint32_t *ino)
{
	struct minode	*mi;
	uint64_t	 i = 0, g = 0;

	if (fs_getnum(r->f, "ino", 10, UINT32_MAX, &i) != 1 ||
	    fs_getnum(r->f, "gen", 10, UINT32_MAX, &g) != 1)
		return fail(r, EINVAL, "want ino= and gen=");
	if ((mi = inode_get((uint32_t)i)) == NULL || mi->d.gen != g)
		return fail(r, ESTALE, "inode %llu gen %llu: no such file",
		    (unsigned long long)i, (unsigned long long)g);
	if (S_ISDIR(mi->d.mode))
		return fail(r, EISDIR, "inode %llu: a directory",
		    (unsigned long long)i);
	*ino = (uint32_t)i;
	return 0;
}

/* Undo the runs a failed allocation took. */
static void
unalloc(struct vol_extent *runs, uint32_t n)
{
	while (n-- > 0)
		alloc_unfree_run(runs[n].pblk, runs[n].count);
}

/*
 * The holes of [b0, b1) become unwritten extents, near the block before
 * each hole: ENOSPC with nothing changed if they do not all fit (seed
 * 002 L305, L3084-L3090: the admin allocates; the data mover zeroes).
 */
static int
fill_holes(struct req *r, uint32_t ino, uint64_t b0, uint64_t b1)
{
	struct minode	*mi = M->ino[ino];
	struct extlist	 x;
	struct vol_extent *runs = NULL, e;
	uint64_t	 l, end, got, goal, holes = 0;
	uint32_t	 i, nruns = 0;
	int		 in;

	for (l = b0; l < b1; l = end) {
		in = ext_lookup(&mi->x, l, &i);
		end = in ? mi->x.e[i].lblk + mi->x.e[i].count :
		    i < mi->x.n && mi->x.e[i].lblk < b1 ? mi->x.e[i].lblk : b1;
		if (!in)
			holes += (end > b1 ? b1 : end) - l;
	}
	if (holes == 0)
		return 0;
	if (holes + alloc_ovf_need(mi->x.n + (uint32_t)holes) > M->bfree)
		return fail(r, ENOSPC, "no space left on the volume");
	if (room(r, (uint32_t)(8 + M->sb.bitmap_blocks + mi->novf +
	    alloc_ovf_need(mi->x.n + 2 * (uint32_t)holes))) != 0)
		return EFBIG;
	if (ext_copy(&x, &mi->x) == -1 ||
	    (runs = calloc(holes, sizeof(*runs))) == NULL) {
		ext_free(&x);
		return fail(r, ENOMEM, "out of memory");
	}
	for (l = b0; l < b1; ) {
		in = ext_lookup(&x, l, &i);
		if (in) {
			l = x.e[i].lblk + x.e[i].count;
			continue;
		}
		goal = i > 0 ? x.e[i - 1].pblk + x.e[i - 1].count : 0;
		end = i < x.n && x.e[i].lblk < b1 ? x.e[i].lblk : b1;
		memset(&e, 0, sizeof(e));
		e.lblk = l;
		e.flags = VOL_EXT_UNWRITTEN;
		if ((e.pblk = alloc_run(goal, end - l, &got)) == 0)
			goto nospace;
		e.count = (uint32_t)got;
		runs[nruns++] = e;
		if (ext_add(&x, &e) == -1)
			goto nospace;
		l += got;
	}
	ext_normalize(&x);
	if (inode_set_extents(ino, &x) == -1)
		goto nospace;
	free(runs);
	return 0;
 nospace:
	unalloc(runs, nruns);
	free(runs);
	ext_free(&x);
	return fail(r, ENOSPC, "no space left on the volume");
}

/*
 * A read updates atime the way Linux's relatime does: when it is not
 * newer than mtime, or a day old.  So a read costs a journal write once
 * a day at most, and an HSM still sees which files nobody reads.
 */
static void
read_atime(uint32_t ino)
{
	struct minode	*mi = M->ino[ino];
	int64_t		 t = now_ns();

	if ((mi->d.atime_ns > mi->d.mtime_ns &&
	    t - mi->d.atime_ns < META_ATIME_NS) || tx_room(est(ino, 0)) == -1)
		return;
	mi->d.atime_ns = t;
	tx_inode(ino);
}

/* The managed regions go with the block list: cliod checks its I/O. */
static int
map_regions(struct req *r, const struct minode *mi)
{
	char	 s[FS_REGIONS_TEXT];

	if (mi->d.rg[0].flags == 0 && mi->d.rg[1].flags == 0)
		return 0;
	if (fs_regions_fmt(mi->d.rg, s, sizeof(s)) == -1)
		return fail(r, EIO, "cannot build the answer");
	frame_add(r->out, "regions", "%s", s);
	return 0;
}

/* Extent lines for [b0, b1), clipped, at most META_MAP_EXTENTS. */
static int
map_answer(struct req *r, const struct minode *mi, uint64_t b0, uint64_t b1)
{
	struct buf	 b;
	struct fs_extent fe;
	const struct vol_extent *e;
	uint64_t	 s, t;
	uint32_t	 i, n = 0;

	buf_init(&b, MSG_PAYLOAD_MAX / 2);
	(void)ext_lookup(&mi->x, b0, &i);
	for (; i < mi->x.n && n < META_MAP_EXTENTS; i++) {
		e = &mi->x.e[i];
		if (e->lblk >= b1)
			break;
		s = e->lblk > b0 ? e->lblk : b0;
		t = e->lblk + e->count < b1 ? e->lblk + e->count : b1;
		fe.off = s * M->bs;
		fe.len = (t - s) * M->bs;
		fe.dev = (e->pblk + (s - e->lblk)) * M->bs;
		fe.written = !(e->flags & VOL_EXT_UNWRITTEN);
		if (fs_extent_put(&b, &fe) == -1)
			break;
		n++;
	}
	r->payload = b.data;
	r->plen = b.len;
	return 0;
}

static int
op_map(struct req *r)
{
	struct minode	*mi;
	uint64_t	 off = 0, len = 0, id, left, b0, b1;
	uint32_t	 ino;
	int		 e, wr;

	if ((e = by_ino(r, &ino)) != 0)
		return e;
	mi = M->ino[ino];
	wr = frame_get(r->f, "write") != NULL &&
	    strcmp(frame_get(r->f, "write"), "0") != 0;
	/* The length is count=: len= is the wire format's own key. */
	if (fs_getnum(r->f, "off", 10, META_FILE_MAX, &off) == -1 ||
	    fs_getnum(r->f, "count", 10, META_FILE_MAX, &len) == -1)
		return fail(r, EINVAL, "bad off= or count=");
	if (off + len > META_FILE_MAX)
		return fail(r, EFBIG, "file too large");
	if (!may(mi, &r->c, wr ? W_OK_ : R_OK_))
		return fail(r, EACCES, "permission denied");
	if ((e = right_check(r, ino, wr)) != 0)
		return e;
	if (wr && len > META_MAP_ALLOC_MAX)
		len = META_MAP_ALLOC_MAX;
	b0 = off / M->bs;
	b1 = (off + len + M->bs - 1) / M->bs;
	if (wr && lease_busy(ino, r->node))
		return fail(r, EBUSY, "another node writes inode %u", ino);
	if (wr && (e = fill_holes(r, ino, b0, b1)) != 0)
		return e;
	if ((e = lease_get(ino, mi->d.gen, r->node, wr, &id, &left)) != 0)
		return fail(r, e, "no lease");
	if (!wr)
		read_atime(ino);
	if ((e = map_regions(r, mi)) != 0)
		return e;
	frame_add(r->out, "lease", "%llu", (unsigned long long)id);
	frame_add(r->out, "expiry_ms", "%llu", (unsigned long long)left);
	frame_add(r->out, "size", "%llu", (unsigned long long)mi->d.size);
	frame_add(r->out, "bsize", "%u", M->bs);
	return map_answer(r, mi, b0, b1);
}

/* Does [l, l + n) map to pblk.. in one piece? */
static int
mapped_as(const struct extlist *x, uint64_t l, uint64_t n, uint64_t pblk)
{
	uint64_t	 take;
	uint32_t	 i;

	while (n > 0) {
		if (!ext_lookup(x, l, &i) ||
		    x->e[i].pblk + (l - x->e[i].lblk) != pblk)
			return 0;
		take = x->e[i].lblk + x->e[i].count - l;
		if (take > n)
			take = n;
		l += take;
		pblk += take;
		n -= take;
	}
	return 1;
}

/* Mark the extents written in x (a copy of the file's). */
static int
mark_written(struct req *r, struct extlist *x, const struct fs_extent *fe,
    size_t n)
{
	uint64_t	 l, cnt;
	uint32_t	 i;
	size_t		 k;

	for (k = 0; k < n; k++) {
		if (fe[k].off % M->bs || fe[k].len % M->bs ||
		    fe[k].dev % M->bs)
			return fail(r, EINVAL, "extent not block-aligned");
		l = fe[k].off / M->bs;
		cnt = fe[k].len / M->bs;
		if (!mapped_as(x, l, cnt, fe[k].dev / M->bs))
			return fail(r, ESTALE, "extent %" PRIu64 ":%" PRIu64
			    " no longer maps there", fe[k].off, fe[k].len);
		if (ext_split_at(x, l) == -1 || ext_split_at(x, l + cnt) == -1)
			return fail(r, ENOMEM, "out of memory");
		for (ext_lookup(x, l, &i); i < x->n &&
		    x->e[i].lblk < l + cnt; i++)
			x->e[i].flags &= ~VOL_EXT_UNWRITTEN;
	}
	ext_normalize(x);
	return 0;
}

static int
op_commit(struct req *r)
{
	struct fs_extent *fe;
	struct minode	*mi;
	struct extlist	 x;
	struct lease	*l;
	uint64_t	 size = 0, id = 0;
	uint32_t	 ino;
	size_t		 n;
	int		 e;

	if ((e = by_ino(r, &ino)) != 0)
		return e;
	mi = M->ino[ino];
	if (fs_getnum(r->f, "size", 10, META_FILE_MAX, &size) == -1 ||
	    fs_getnum(r->f, "lease", 10, UINT64_MAX, &id) == -1)
		return fail(r, EINVAL, "bad size= or lease=");
	if (!may(mi, &r->c, W_OK_))
		return fail(r, EACCES, "permission denied");
	if ((fe = calloc(FS_MAP_EXTENTS_MAX, sizeof(*fe))) == NULL)
		return fail(r, ENOMEM, "out of memory");
	if (fs_extents_parse(r->f->payload, r->f->len, fe, FS_MAP_EXTENTS_MAX,
	    &n) == -1) {
		free(fe);
		return fail(r, EINVAL, "bad extent lines");
	}
	if ((e = room(r, (uint32_t)(8 + mi->novf +
	    alloc_ovf_need(mi->x.n + 2 * (uint32_t)n)))) != 0 ||
	    ext_copy(&x, &mi->x) == -1) {
		free(fe);
		return e != 0 ? e : fail(r, ENOMEM, "out of memory");
	}
	e = mark_written(r, &x, fe, n);
	free(fe);
	if (e == 0 && inode_set_extents(ino, &x) == -1)
		e = fail(r, ENOSPC, "no space for the extent list");
	if (e != 0) {
		ext_free(&x);
		return e;
	}
	if (size > mi->d.size)
		mi->d.size = size;
	/* A DM application's invisible write leaves the times (XDSM). */
	if (frame_get(r->f, "token") == NULL || r->c.uid != 0)
		inode_touch(mi, 0);
	tx_inode(ino);
	if (n > 0)
		lease_recall(ino, r->node, 0);
	if (frame_get(r->f, "release") != NULL &&
	    strcmp(frame_get(r->f, "release"), "0") != 0 &&
	    (l = lease_find(id)) != NULL && l->ino == ino)
		lease_drop(id);
	return answer_attr(r, ino);
}

static int
op_release(struct req *r)
{
	uint64_t	 id = 0;

	if (fs_getnum(r->f, "lease", 10, UINT64_MAX, &id) != 1)
		return fail(r, EINVAL, "want lease=");
	lease_drop(id);
	return 0;
}

static const struct {
	const char	*op;
	int		(*fn)(struct req *);
} ops[] = {
	{ "stat", op_stat }, { "create", op_create }, { "mkdir", op_mkdir },
	{ "unlink", op_unlink }, { "rmdir", op_rmdir },
	{ "rename", op_rename }, { "readdir", op_readdir },
	{ "setattr", op_setattr }, { "statfs", op_statfs },
	{ "map", op_map }, { "commit", op_commit },
	{ "release", op_release }, { "region", op_region },
	{ "punch", op_punch }, { "right", op_right },
};

static uint32_t
from_node(const struct frame *f)
{
	const char	*s = frame_get(f, "orig");
	unsigned long	 v;

	if (s == NULL)
		s = frame_get(f, "from");
	if (s == NULL)
		return 0;
	v = strtoul(s, NULL, 10);
	return v > UINT32_MAX ? 0 : (uint32_t)v;
}

/* One request: its answer waits for the transaction it is part of. */
void
ops_request(const struct frame *f)
{
	struct answer	*a;
	struct req	 r;
	const char	*fs;
	size_t		 i;
	int		 e = ENOSYS;

	if (frame_get(f, "from") == NULL || frame_get(f, "re") != NULL)
		return;		/* router errors and answers: nothing to do */
	if ((a = meta_answer(f)) == NULL)
		return;
	memset(&r, 0, sizeof(r));
	r.f = f;
	r.out = &a->f;
	r.node = from_node(f);
	parse_cred(f, &r.c);
	(void)snprintf(r.why, sizeof(r.why), "unknown request %s", f->op);
	fs = frame_get(f, "fs");
	/* Seed 002 L1489-L1496: only for a file system it administers. */
	if (fs != NULL && strcmp(fs, M->name) != 0)
		e = fail(&r, ENOENT, "%s: not the administrator of this file "
		    "system (%s)", fs, M->name);
	else
		for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			if (strcmp(f->op, ops[i].op) == 0) {
				e = ops[i].fn(&r);
				break;
			}
	if (e != 0) {
		free(r.payload);
		r.payload = NULL;
		r.plen = 0;
		(void)fs_error(&a->f, f->txid, e, "%s", r.why);
	}
	a->payload = r.payload;
	if (r.payload != NULL)
		frame_payload(&a->f, r.payload, r.plen);
	meta_queue(a);
}
