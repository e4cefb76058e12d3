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
 * The DMAPI requests of the admin server (seed 000: the DM application
 * migrates data with access rights held, managed regions that make user
 * I/O raise events, and a punch that frees the migrated blocks; XDSM
 * dm_set_region, dm_punch_hole, dm_request_right).  Each is for uid 0
 * only: DMAPI is a privileged interface.
 */

#include <sys/stat.h>

#include <errno.h>
#include <string.h>

#include "clmetad.h"
#include "log.h"
#include "ops.h"

/* token= of the request, NULL if none; -1 if malformed. */
static int
get_token(struct req *r, const char **token)
{
	const char	*t = frame_get(r->f, "token");
	size_t		 n;

	*token = NULL;
	if (t == NULL)
		return 0;
	n = strspn(t, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
	if (n == 0 || n >= META_TOKEN_MAX || t[n] != '\0')
		return fail(r, EINVAL, "bad token=");
	*token = t;
	return 0;
}

/*
 * Does a DM access right of another token keep this request (a write or
 * a change of the file if write) out of ino?  EBUSY then: cliod tries
 * again until the right is released (the user's operation waits).
 */
int
right_check(struct req *r, uint32_t ino, int write)
{
	const char	*token, *holder;
	int		 e;

	if ((e = get_token(r, &token)) != 0)
		return e;
	if (right_conflict(ino, token, write, &holder))
		return fail(r, EBUSY, "inode %u: DM token %s holds an access "
		    "right", ino, holder);
	return 0;
}

static int
root_only(struct req *r, const char *what)
{
	if (r->c.uid != 0)
		return fail(r, EPERM, "%s: only root may", what);
	return 0;
}

/*
 * region path= [set=OFF:LEN:FLAGS[,...]|none]: the managed regions of a
 * regular file, set or read.  A change recalls the block-list leases, so
 * every cliod sees the new regions before its next I/O of the file.
 */
int
op_region(struct req *r)
{
	struct vol_region rg[VOL_REGIONS];
	struct walk	 w;
	struct minode	*mi;
	const char	*spec = frame_get(r->f, "set");
	int		 e;

	if ((e = resolve(r, "path", &w)) != 0 || (e = exists(r, &w)) != 0)
		return e;
	mi = M->ino[w.ino];
	if (S_ISDIR(mi->d.mode))
		return fail(r, EISDIR, "%s: managed regions are for regular "
		    "files", frame_get(r->f, "path"));
	if (spec == NULL)
		return answer_attr(r, w.ino);
	if ((e = root_only(r, "set a managed region")) != 0)
		return e;
	if (fs_regions_parse(spec, rg) == -1)
		return fail(r, errno, "set=%s: %s", spec, errno == E2BIG ?
		    "at most 2 regions" : "want OFF:LEN:FLAGS[,OFF:LEN:FLAGS] "
		    "with FLAGS of rwt, or none");
	if ((e = right_check(r, w.ino, 1)) != 0 ||
	    (e = room(r, est(w.ino, 0))) != 0)
		return e;
	memcpy(mi->d.rg, rg, sizeof(rg));
	inode_touch(mi, 1);
	tx_inode(w.ino);
	lease_recall(w.ino, 0, 0);
	log_debug("inode %u: managed regions %s", w.ino, spec);
	return answer_attr(r, w.ino);
}

/*
 * punch ino= gen= off=: every block from off (a block boundary) to the
 * end of the file is freed; the size stays, the bytes read as zeros
 * (XDSM dm_punch_hole with len 0).  Blocks leased out are quarantined
 * until the leases end (lease.c), as for a truncate.  The file's times
 * do not change: migration is invisible to its users.
 */
int
op_punch(struct req *r)
{
	uint64_t	 off = 0;
	uint32_t	 ino;
	int		 e;

	if ((e = by_ino(r, &ino)) != 0 ||
	    (e = root_only(r, "punch")) != 0)
		return e;
	if (fs_getnum(r->f, "off", 10, META_FILE_MAX, &off) != 1)
		return fail(r, EINVAL, "want off=");
	if (off % M->bs != 0)
		return fail(r, EINVAL, "off=%llu: not a multiple of the block "
		    "size %u", (unsigned long long)off, M->bs);
	if ((e = right_check(r, ino, 1)) != 0 ||
	    (e = room(r, est(ino, 0))) != 0)
		return e;
	lease_recall(ino, 0, 0);
	if (inode_punch(ino, off / M->bs, 0) == -1)
		return fail(r, EFBIG, "too large for one journal record");
	tx_inode(ino);
	return answer_attr(r, ino);
}

/*
 * right cmd=get|release token= path= [mode=shared|exclusive].  A get
 * that another token's right conflicts with, or that waits for block-list
 * leases to come back (recalled here), is EBUSY: the caller asks again.
 * Asking again for a right held renews it (right.c).
 */
int
op_right(struct req *r)
{
	struct walk	 w;
	const char	*cmd = frame_get(r->f, "cmd");
	const char	*mode = frame_get(r->f, "mode");
	const char	*token, *holder;
	uint32_t	 n;
	int		 e, excl;

	if ((e = resolve(r, "path", &w)) != 0 || (e = exists(r, &w)) != 0 ||
	    (e = root_only(r, "take a DM access right")) != 0 ||
	    (e = get_token(r, &token)) != 0)
		return e;
	if (token == NULL)
		return fail(r, EINVAL, "want token=");
	if (cmd != NULL && strcmp(cmd, "release") == 0) {
		right_drop(w.ino, token);
		return 0;
	}
	if (cmd == NULL || strcmp(cmd, "get") != 0)
		return fail(r, EINVAL, "want cmd=get or cmd=release");
	if (mode == NULL || (strcmp(mode, "shared") != 0 &&
	    strcmp(mode, "exclusive") != 0))
		return fail(r, EINVAL, "want mode=shared or mode=exclusive");
	excl = mode[0] == 'e';
	if (right_conflict(w.ino, token, excl, &holder))
		return fail(r, EBUSY, "%s: DM token %s holds a right",
		    frame_get(r->f, "path"), holder);
	/* Held already: a renewal, leases were given back at the grant. */
	if (right_held(w.ino, token) < (excl ? 2 : 1) &&
	    (n = lease_count(w.ino, excl ? 0 : 1)) > 0) {
		lease_recall(w.ino, 0, !excl);
		return fail(r, EBUSY, "%s: %u block-list leases recalled",
		    frame_get(r->f, "path"), n);
	}
	if ((e = right_grant(w.ino, token, excl)) != 0)
		return fail(r, e, "too many DM access rights");
	return answer_attr(r, w.ino);
}
