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

#ifndef CL_DBCLIENT_H
#define CL_DBCLIENT_H

#include <stdint.h>

#include "conf.h"
#include "ctl.h"
#include "wire.h"

/*
 * The cluster database through clmemberd's control socket (cl-wire(5),
 * DATABASE), for daemons and tools that wait for each answer: one
 * request at a time on a connection of their own.
 */
struct dbc {
	struct ctl	 ctl;
	uint64_t	 txid;
	int		 open;
	int		 timeout;	/* ms, per answer */
	char		 error[256];	/* why the last call failed */
};

/* The view as clmemberd's status says it. */
struct dbc_view {
	int		 quorum;
	uint64_t	 epoch;
	uint8_t		 member[CONF_NODEID_MAX + 1];
	uint8_t		 joined[CONF_NODEID_MAX + 1];	/* member=joined */
	uint8_t		 leaving[CONF_NODEID_MAX + 1];	/* member=leaving */
};

typedef void	(*dbc_rec_cb)(const char *, const char *, uint64_t, void *);

int	 dbc_open(struct dbc *, const struct cl_conf *);
void	 dbc_close(struct dbc *);
int	 dbc_call(struct dbc *, struct frame *, struct frame *);
int	 dbc_get(struct dbc *, const char *, char *, size_t, uint64_t *);
int	 dbc_ls(struct dbc *, const char *, dbc_rec_cb, void *);
int	 dbc_set(struct dbc *, const char *, const char *, uint64_t, int);
int	 dbc_lock(struct dbc *, const char *, uint32_t *);
int	 dbc_unlock(struct dbc *, const char *);
int	 dbc_view(struct dbc *, struct dbc_view *);

#endif /* CL_DBCLIENT_H */
