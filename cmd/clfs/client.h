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

#ifndef CLFS_CLIENT_H
#define CLFS_CLIENT_H

#include <limits.h>
#include <stdint.h>

#include "conf.h"
#include "ctl.h"
#include "fsproto.h"
#include "wire.h"
/* libcl's client.h (the path table), not this one: <> skips this dir. */
#include <client.h>

#define FSC_REPLY_MS	60000	/* cliod retries clmetad for up to 30 s */
#define FSC_WINDOW	16	/* 1 MiB data requests in flight */

/* clfs's connection to the local cliod(8): pipelined, answers by txid. */
struct fsc {
	struct ctl	 ctl;
	uint64_t	 txid;		/* the last txid given out */
	char		 error[PATH_MAX + 256];	/* why the last call failed */
};

/* An operand FS:/path, split. */
struct fsname {
	const char	*arg;		/* as the user wrote it */
	char		 fs[CONF_NAME_MAX];
	char		 path[FS_PATH_MAX];
};

extern struct cl_conf	 clfs_conf;
extern const char	*clfs_confpath;
extern uint32_t		 clfs_via;	/* --via N: the first path */
extern int		 clfs_aware;	/* 0 with --unaware */
extern int		 clfs_verbose;	/* -v: moves; -vv: every answer */

/* client.c */
int	 fsc_open(struct fsc *, const struct cl_conf *);
uint64_t fsc_send(struct fsc *, struct frame *);
int	 fsc_recv(struct fsc *, struct frame *, int);
int	 fsc_call(struct fsc *, struct frame *, struct frame *);
void	 fsc_close(struct fsc *);
void	 fsc_connect(struct fsc *);
void	 fsc_req(struct frame *, const char *, const struct fsname *);
int	 fsc_answer(const struct fsname *, const struct frame *);
void	 fsc_fail(const struct fsname *, int, const struct frame *);
int	 fsc_stat(struct fsc *, const struct fsname *, struct fs_attr *, int);
int	 fsname_parse(struct fsname *, const char *);
int	 fsname_join(struct fsname *, const struct fsname *, const char *);
const char *fsname_base(const char *);

/* xfer.c */
int	 xfer_put(struct fsc *, const char *, const struct fsname *, int);
int	 xfer_get(struct fsc *, const struct fsname *, const char *);

#endif /* CLFS_CLIENT_H */
