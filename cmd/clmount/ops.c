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
 * The FUSE operations: each becomes one or a few requests of the
 * file-system protocol (fsproto.h, cl-wire(5) FILE SYSTEM) to the local
 * cliod(8), as clfs(1) sends them.  FUSE's high-level library gives
 * whole paths, which is what the namespace requests take; reads and
 * writes name the inode (ino= gen=) that open found, so an open file
 * stays the same file across renames.  An unlinked open file is renamed
 * to a hidden name by the library and removed at its last close, which
 * gives POSIX's "unlink of an open file" on one node.
 *
 * DM events come from cliod, as for any client: this path raises
 * exactly what clfs would (seed 000: the event source is the node where
 * the user's operation happens).  Writes are sent behind (write.c).
 */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clmount.h"
#include "log.h"
#include "vol.h"

/* A request naming a path: op fs= path=; ENAMETOOLONG past the wire. */
static int
req_path(struct frame *f, const char *op, const char *path)
{
	frame_init(f, op, 0);
	if (strlen(path) >= WIRE_VAL_MAX)
		return ENAMETOOLONG;
	if (frame_add(f, "fs", "%s", cm.fs) == -1 ||
	    frame_add(f, "path", "%s", path) == -1)
		return f->err ? ENAMETOOLONG : EINVAL;
	return 0;
}

/* An answer's attributes as a struct stat. */
static int
attr_stat(const struct frame *ans, struct fs_attr *a, struct stat *st)
{
	struct fs_attr	 tmp;
	uint64_t	 at;

	if (a == NULL)
		a = &tmp;
	if (fs_attr_get(ans, a) == -1) {
		log_warnx("malformed attributes from cliod");
		return EIO;
	}
	if (st == NULL)
		return 0;
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = (a->type == 'd' ? S_IFDIR : S_IFREG) | (a->mode & 07777);
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_size = (off_t)a->size;
	st->st_blocks = (blkcnt_t)(a->blocks * (cm.bsize / 512));
	/* cp(1) and friends size their buffers by it: 1 MiB requests. */
	st->st_blksize = FS_IO_MAX;
	st->st_mtim.tv_sec = (time_t)(a->mtime_ns / 1000000000);
	st->st_mtim.tv_nsec = (long)(a->mtime_ns % 1000000000);
	st->st_ctim.tv_sec = (time_t)(a->ctime_ns / 1000000000);
	st->st_ctim.tv_nsec = (long)(a->ctime_ns % 1000000000);
	st->st_atim = st->st_mtim;
	/* Volume format 2 reports atime=; older cliods do not. */
	if (fs_getnum(ans, "atime", 10, INT64_MAX, &at) == 1) {
		st->st_atim.tv_sec = (time_t)(at / 1000000000);
		st->st_atim.tv_nsec = (long)(at % 1000000000);
	}
	return 0;
}

/*
 * A namespace request of one path, answered with attributes or not.
 * Writes in flight are answered first, whichever open file sent them:
 * a stat must see their size, a truncate or an O_APPEND must come after
 * them, a utimens must not be undone by their commits.
 */
static int
call_path(struct frame *req, struct fs_attr *a, struct stat *st)
{
	struct frame	 ans;
	struct cm_conn	*c;
	int		 e;

	wb_drain_all();
	e = pool_call(req, &ans, &c);
	if (e == 0 && (a != NULL || st != NULL))
		e = attr_stat(&ans, a, st);
	pool_put(c);
	return e;
}

static int
do_stat(const char *path, struct fs_attr *a, struct stat *st)
{
	struct frame	 req;
	int		 e;

	if ((e = req_path(&req, "stat", path)) != 0)
		return e;
	return call_path(&req, a, st);
}

static int
do_setsize(const char *path, uint64_t size, struct fs_attr *a)
{
	struct frame	 req;
	int		 e;

	if ((e = req_path(&req, "setattr", path)) != 0)
		return e;
	(void)frame_add(&req, "size", "%" PRIu64, size);
	return call_path(&req, a, NULL);
}

static void *
cm_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	cfg->use_ino = 1;
	cfg->readdir_ino = 1;
	cfg->entry_timeout = cm.attr_timeout;
	cfg->attr_timeout = cm.attr_timeout;
	cfg->negative_timeout = 0;
	cfg->hard_remove = 0;		/* unlink of an open file: hide it */
	cfg->kernel_cache = 0;		/* close-to-open: drop pages at open */
	cfg->auto_cache = 0;
	cfg->nullpath_ok = 0;
	conn->max_write = FS_IO_MAX;
	conn->max_readahead = CM_READAHEAD_KB * 1024;
	/* Page cache dropped when another node changed the mtime. */
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	log_debug("max_write %u max_readahead %u", conn->max_write,
	    conn->max_readahead);
	return NULL;
}

static int
cm_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	return -do_stat(path, NULL, st);
}

/* "<name>\t<ino>\t<type>\n" lines, every cookie's, all at once. */
static int
cm_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
    struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct frame	 req, ans;
	struct cm_conn	*c;
	struct stat	 st;
	const char	*p, *end, *nl, *t1, *t2;
	char		 name[VOL_NAME_MAX + 1];
	uint64_t	 cookie = 0;
	size_t		 n;
	int		 e, eof = 0;

	(void)off;
	(void)fi;
	(void)flags;
	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFDIR;
	st.st_ino = VOL_ROOT_INO;	/* readdir(3) skips inode 0 */
	if (fill(buf, ".", &st, 0, 0) != 0 || fill(buf, "..", &st, 0, 0) != 0)
		return -ENOMEM;
	while (!eof) {
		if ((e = req_path(&req, "readdir", path)) != 0)
			return -e;
		if (cookie > 0)
			(void)frame_add(&req, "cookie", "%" PRIu64, cookie);
		if ((e = pool_call(&req, &ans, &c)) != 0) {
			pool_put(c);
			return -e;
		}
		eof = frame_get(&ans, "eof") != NULL;
		if (!eof && fs_getnum(&ans, "next", 10, UINT32_MAX,
		    &cookie) != 1) {
			pool_put(c);
			return -EIO;
		}
		p = (const char *)ans.payload;
		end = p + ans.len;
		for (; p < end; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(end - p));
			t1 = nl == NULL ? NULL :
			    memchr(p, '\t', (size_t)(nl - p));
			t2 = t1 == NULL ? NULL :
			    memchr(t1 + 1, '\t', (size_t)(nl - t1 - 1));
			if (t2 == NULL || (n = (size_t)(t1 - p)) == 0 ||
			    n >= sizeof(name)) {
				pool_put(c);
				log_warnx("%s: malformed readdir answer", path);
				return -EIO;
			}
			memcpy(name, p, n);
			name[n] = '\0';
			st.st_ino = (ino_t)strtoul(t1 + 1, NULL, 10);
			st.st_mode = t2[1] == 'd' ? S_IFDIR : S_IFREG;
			if (fill(buf, name, &st, 0, 0) != 0) {
				pool_put(c);
				return -ENOMEM;
			}
		}
		pool_put(c);
	}
	return 0;
}

static int
cm_mkdir(const char *path, mode_t mode)
{
	struct frame	 req;
	int		 e;

	if ((e = req_path(&req, "mkdir", path)) != 0)
		return -e;
	(void)frame_add(&req, "mode", "%04o", (unsigned)(mode & 07777));
	return -call_path(&req, NULL, NULL);
}

static int
cm_unlink(const char *path)
{
	struct frame	 req;
	int		 e;

	if ((e = req_path(&req, "unlink", path)) != 0)
		return -e;
	return -call_path(&req, NULL, NULL);
}

static int
cm_rmdir(const char *path)
{
	struct frame	 req;
	int		 e;

	if ((e = req_path(&req, "rmdir", path)) != 0)
		return -e;
	return -call_path(&req, NULL, NULL);
}

/* RENAME_NOREPLACE and RENAME_EXCHANGE are not atomic here: refused. */
static int
cm_rename(const char *from, const char *to, unsigned int flags)
{
	struct frame	 req;
	int		 e;

	if (flags != 0)
		return -EINVAL;
	if ((e = req_path(&req, "rename", from)) != 0)
		return -e;
	if (strlen(to) >= WIRE_VAL_MAX)
		return -ENAMETOOLONG;
	(void)frame_add(&req, "newpath", "%s", to);
	return -call_path(&req, NULL, NULL);
}

/* The volume format has no links of either kind (cl-vol(5)). */
static int
cm_link(const char *from, const char *to)
{
	(void)from;
	(void)to;
	return -EPERM;
}

static int
cm_symlink(const char *target, const char *path)
{
	(void)target;
	(void)path;
	return -EPERM;
}

static int
cm_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct frame	 req;
	int		 e;

	(void)fi;
	if ((e = req_path(&req, "setattr", path)) != 0)
		return -e;
	(void)frame_add(&req, "mode", "%04o", (unsigned)(mode & 07777));
	return -call_path(&req, NULL, NULL);
}

static int
cm_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	struct frame	 req;
	int		 e;

	(void)fi;
	if (uid == (uid_t)-1 && gid == (gid_t)-1)
		return 0;
	if ((e = req_path(&req, "setattr", path)) != 0)
		return -e;
	if (uid != (uid_t)-1)
		(void)frame_add(&req, "owner", "%u", (unsigned)uid);
	if (gid != (gid_t)-1)
		(void)frame_add(&req, "group", "%u", (unsigned)gid);
	return -call_path(&req, NULL, NULL);
}

static int
cm_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	(void)fi;
	if (size < 0)
		return -EINVAL;
	return -do_setsize(path, (uint64_t)size, NULL);
}

/* Only the mtime is kept by the format's setattr; atime is cliod's. */
static int
cm_utimens(const char *path, const struct timespec tv[2],
    struct fuse_file_info *fi)
{
	struct frame	 req;
	struct timespec	 now;
	int64_t		 ns;
	int		 e;

	(void)fi;
	if (tv != NULL && tv[1].tv_nsec == UTIME_OMIT)
		return 0;
	if (tv == NULL || tv[1].tv_nsec == UTIME_NOW) {
		if (clock_gettime(CLOCK_REALTIME, &now) == -1)
			return -errno;
		ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	} else
		ns = (int64_t)tv[1].tv_sec * 1000000000 + tv[1].tv_nsec;
	if (ns < 0)
		return -EINVAL;
	if ((e = req_path(&req, "setattr", path)) != 0)
		return -e;
	(void)frame_add(&req, "mtime", "%" PRId64, ns);
	return -call_path(&req, NULL, NULL);
}

static int
file_open(const struct fs_attr *a, struct fuse_file_info *fi)
{
	struct cm_file	*f;

	if (a->type == 'd')
		return EISDIR;
	if ((f = file_new(a->ino, a->gen, fi->flags)) == NULL)
		return ENOMEM;
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->keep_cache = 0;
	return 0;
}

static struct cm_file *
file_of(const struct fuse_file_info *fi)
{
	return (struct cm_file *)(uintptr_t)fi->fh;
}

/*
 * Close-to-open: the attributes the kernel holds may be another node's
 * old ones for up to attr_timeout, and it trusts their size for reads
 * and appends; forget them at every open (the pages are dropped anyway,
 * keep_cache is 0).
 */
static void
forget_attr(const char *path)
{
	struct fuse_context *ctx = fuse_get_context();

	if (ctx != NULL && ctx->fuse != NULL)
		(void)fuse_invalidate_path(ctx->fuse, path);
}

static int
cm_open(const char *path, struct fuse_file_info *fi)
{
	struct fs_attr	 a;
	int		 e;

	if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY)
		e = do_setsize(path, 0, &a);
	else
		e = do_stat(path, &a, NULL);
	if (e == 0)
		e = file_open(&a, fi);
	if (e == 0)
		forget_attr(path);
	return -e;
}

static int
cm_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct frame	 req;
	struct fs_attr	 a;
	int		 e;

	if ((e = req_path(&req, "create", path)) != 0)
		return -e;
	(void)frame_add(&req, "mode", "%04o", (unsigned)(mode & 07777));
	if (fi->flags & O_EXCL)
		(void)frame_add(&req, "excl", "1");
	if (fi->flags & O_TRUNC)
		(void)frame_add(&req, "trunc", "1");
	if ((e = call_path(&req, &a, NULL)) == 0)
		e = file_open(&a, fi);
	return -e;
}

/* Only regular files can be made here. */
static int
cm_mknod(const char *path, mode_t mode, dev_t dev)
{
	struct frame	 req;
	int		 e;

	(void)dev;
	if (!S_ISREG(mode))
		return -EPERM;
	if ((e = req_path(&req, "create", path)) != 0)
		return -e;
	(void)frame_add(&req, "mode", "%04o", (unsigned)(mode & 07777));
	(void)frame_add(&req, "excl", "1");
	return -call_path(&req, NULL, NULL);
}

static void
io_req(struct frame *f, const char *op, const struct cm_file *cf,
    uint64_t off)
{
	frame_init(f, op, 0);
	(void)frame_add(f, "fs", "%s", cm.fs);
	(void)frame_add(f, "ino", "%" PRIu32, cf->ino);
	(void)frame_add(f, "gen", "%" PRIu32, cf->gen);
	(void)frame_add(f, "off", "%" PRIu64, off);
}

static int
cm_read(const char *path, char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct cm_file	*cf = file_of(fi);
	struct frame	 req, ans;
	struct cm_conn	*c;
	size_t		 done = 0, n;
	int		 e, eof = 0;

	(void)path;
	if (off < 0)
		return -EINVAL;
	wb_drain_all();
	while (done < size && !eof) {
		n = size - done < FS_IO_MAX ? size - done : FS_IO_MAX;
		io_req(&req, "read", cf, (uint64_t)off + done);
		(void)frame_add(&req, "count", "%zu", n);
		if ((e = pool_call(&req, &ans, &c)) != 0) {
			pool_put(c);
			return done > 0 ? (int)done : -e;
		}
		if (ans.len > n)
			ans.len = n;
		memcpy(buf + done, ans.payload, ans.len);
		eof = ans.len < n || frame_get(&ans, "eof") != NULL;
		done += ans.len;
		pool_put(c);
	}
	return (int)done;
}

/*
 * O_APPEND: the kernel's idea of the end may be old (another node
 * wrote); the write goes where the file ends now.
 */
static int
cm_write(const char *path, const char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct cm_file	*cf = file_of(fi);
	struct fs_attr	 a;
	size_t		 done = 0, n;
	int		 e;

	if (off < 0)
		return -EINVAL;
	if (cf->flags & O_APPEND) {
		if ((e = wb_drain(cf)) != 0 ||
		    (e = do_stat(path, &a, NULL)) != 0)
			return -e;
		off = (off_t)a.size;
	}
	while (done < size) {
		n = size - done < FS_IO_MAX ? size - done : FS_IO_MAX;
		if ((e = wb_write(cf, buf + done, n, (uint64_t)off + done)) !=
		    0)
			return done > 0 ? (int)done : -e;
		done += n;
	}
	return (int)done;
}

static int
cm_statfs(const char *path, struct statvfs *sv)
{
	struct frame	 req, ans;
	struct cm_conn	*c;
	uint64_t	 v[5];
	int		 e;

	(void)path;
	frame_init(&req, "statfs", 0);
	(void)frame_add(&req, "fs", "%s", cm.fs);
	if ((e = pool_call(&req, &ans, &c)) != 0) {
		pool_put(c);
		return -e;
	}
	if (fs_getnum(&ans, "bsize", 10, UINT32_MAX, &v[0]) != 1 ||
	    fs_getnum(&ans, "blocks", 10, UINT64_MAX, &v[1]) != 1 ||
	    fs_getnum(&ans, "bfree", 10, UINT64_MAX, &v[2]) != 1 ||
	    fs_getnum(&ans, "files", 10, UINT64_MAX, &v[3]) != 1 ||
	    fs_getnum(&ans, "ffree", 10, UINT64_MAX, &v[4]) != 1) {
		pool_put(c);
		log_warnx("malformed statfs answer");
		return -EIO;
	}
	pool_put(c);
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = (unsigned long)v[0];
	sv->f_frsize = (unsigned long)v[0];
	sv->f_blocks = (fsblkcnt_t)v[1];
	sv->f_bfree = sv->f_bavail = (fsblkcnt_t)v[2];
	sv->f_files = (fsfilcnt_t)v[3];
	sv->f_ffree = sv->f_favail = (fsfilcnt_t)v[4];
	sv->f_namemax = VOL_NAME_MAX;
	return 0;
}

/*
 * close(2) and fsync(2): every write answered, hence durable and
 * committed (cliod answers only then); the first failure is told.
 */
static int
cm_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	return -wb_drain(file_of(fi));
}

static int
cm_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	(void)datasync;
	return -wb_drain(file_of(fi));
}

static int
cm_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	file_release(file_of(fi));
	fi->fh = 0;
	return 0;
}

const struct fuse_operations cm_ops = {
	.init		= cm_init,
	.getattr	= cm_getattr,
	.readdir	= cm_readdir,
	.mkdir		= cm_mkdir,
	.mknod		= cm_mknod,
	.unlink		= cm_unlink,
	.rmdir		= cm_rmdir,
	.rename		= cm_rename,
	.link		= cm_link,
	.symlink	= cm_symlink,
	.chmod		= cm_chmod,
	.chown		= cm_chown,
	.truncate	= cm_truncate,
	.utimens	= cm_utimens,
	.open		= cm_open,
	.create		= cm_create,
	.read		= cm_read,
	.write		= cm_write,
	.statfs		= cm_statfs,
	.flush		= cm_flush,
	.fsync		= cm_fsync,
	.release	= cm_release,
};
