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

#ifndef CL_FSPROTO_H
#define CL_FSPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "vol.h"
#include "wire.h"

/*
 * The file-system protocol (cl-wire(5), FILE SYSTEM), spoken by clfs(1)
 * to the local cliod(8) over RUNDIR/cliod.sock, and by cliod to the
 * file system's clmetad(8), service clmetad.FS, through clmemberd.
 *
 * Every request names the file system: fs=NAME.  Every answer is op
 * "ok", or op "error" with status=<errno name> (ENOENT, EACCES, ...) and
 * reason=<text>, and carries the request's txid.
 *
 * Caller identity: clmetad checks access against uid= and gid= (and
 * groups=g1,g2,...) only as cliod put them there from SO_PEERCRED on
 * its Unix socket; cliod drops any uid/gid a client sends (DESIGN.md,
 * Security).
 *
 * Namespace (clmetad; cliod forwards them):
 *	stat	path=			-> attributes (FSA_* keys)
 *	create	path= mode= [excl=1] [trunc=1]	-> attributes
 *	mkdir	path= mode=		-> attributes
 *	unlink	path=
 *	rmdir	path=
 *	rename	path= newpath=	(not to=: that is the router's address)
 *	readdir	path= [cookie=N]	-> payload: one entry per line,
 *		"<name>\t<ino>\t<type>\n" (type "f" or "d"); next=N, or eof=1
 *	setattr	path= [mode=] [owner=] [group=] [size=] [mtime=]
 *		-> attributes (owner/group, not uid/gid: those are the caller)
 *	statfs				-> bsize= blocks= bfree= files= ffree=
 *					   epoch= admin= label=
 * Block lists (seed 002 L740-L746: cliod asks the admin server for the
 * block list of {file, offset, amount} and does the I/O itself):
 *	map	ino= gen= off= count= [write=1]
 *		-> lease=ID expiry_ms=N size=BYTES bsize=B, payload: one
 *		   "extent=<file_off>:<len>:<dev_off>:<written|unwritten>\n"
 *		   per run, holes left out (they read as zeros); write=1
 *		   allocates the holes in [off, off+count) as unwritten
 *		   first.  (count=, not len=: a len= line is the frame's
 *		   payload length, cl-wire(5).)
 *	commit	ino= gen= lease=ID size=NEWSIZE [release=1], payload: the
 *		   extent= lines the client wrote (every one must match the
 *		   file's current mapping, else ESTALE) -> attributes
 *	release	lease=ID
 * From clmetad to a cliod holding a lease (to=N.cliod):
 *	recall	fs= ino= lease=		(no answer wanted)
 * Data (cliod only):
 *	write	ino= gen= off=, payload: the bytes -> ok size= (after the
 *		   data and the commit are durable)
 *	read	ino= gen= off= count= -> payload: the bytes (short at EOF),
 *		   eof=1 at the end
 *	status				-> cliod's utilization (FSU_* keys)
 */

#define FS_SOCK			"cliod.sock"
#define FS_IO_MAX		(1024 * 1024)	/* bytes per read/write frame */
#define FS_PATH_MAX		4096		/* bytes of a path on the wire */
#define FS_READDIR_MAX		(32 * 1024)	/* payload bytes per readdir */
#define FS_MAP_EXTENTS_MAX	1024		/* extent lines per map */

/* Attributes, as keys of an "ok" answer. */
struct fs_attr {
	uint32_t	 ino;
	uint32_t	 gen;
	char		 type;		/* 'f' or 'd' */
	uint32_t	 mode;		/* permission bits only */
	uint32_t	 uid, gid;
	uint32_t	 nlink;
	uint64_t	 size;
	uint64_t	 blocks;	/* allocated, in bsize units */
	int64_t		 mtime_ns, ctime_ns;
	int64_t		 atime_ns;
	struct vol_region rg[VOL_REGIONS];	/* DMAPI managed regions */
};

/* A run of a block list. */
struct fs_extent {
	uint64_t	 off;		/* bytes, in the file */
	uint64_t	 len;		/* bytes */
	uint64_t	 dev;		/* bytes, on the volume */
	int		 written;
};

int	 fs_attr_put(struct frame *, const struct fs_attr *);
int	 fs_attr_get(const struct frame *, struct fs_attr *);
int	 fs_getnum(const struct frame *, const char *, int, uint64_t,
	    uint64_t *);
int	 fs_extent_put(struct buf *, const struct fs_extent *);
int	 fs_extent_parse(const char *, size_t, struct fs_extent *);
int	 fs_extents_parse(const uint8_t *, size_t, struct fs_extent *,
	    size_t, size_t *);
const char *fs_errname(int);
int	 fs_errnum(const char *);
int	 fs_error(struct frame *, uint64_t, int, const char *, ...)
	    __attribute__((__format__ (printf, 4, 5)));
int	 fs_answer_errno(const struct frame *);
int	 fs_path_check(const char *);
/*
 * FS:/path as users write it (FS: alone is the root; a path without its
 * leading slash is taken from the root; trailing slashes go): 0, or an
 * errno (EINVAL: not FS:/path, ENAMETOOLONG, ...).  FS is not checked
 * against the configuration.
 */
int	 fs_name_split(const char *, char *, size_t, char *, size_t);
/* Managed regions as text: "OFF:LEN:FLAGS[,...]" (FLAGS of "rwt"), "none". */
#define FS_REGIONS_TEXT		96
int	 fs_regions_fmt(const struct vol_region *, char *, size_t);
int	 fs_regions_parse(const char *, struct vol_region *);

#endif /* CL_FSPROTO_H */
