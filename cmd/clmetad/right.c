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
 * DM access rights (seed 000; DESIGN.md DMAPI: taken by the DM
 * application, honoured by clmetad; XDSM dm_request_right): a token holds
 * a shared or an exclusive right on a file.  An exclusive right keeps
 * every other token and every user out of the file; a shared one keeps
 * out writers.  Rights live in memory with an expiry that the holder's
 * clsessiond renews (it asks again), so the rights of a session whose
 * node died run out by themselves; a new admin starts with none, as it
 * starts with no block-list leases.
 */

#include <errno.h>
#include <string.h>

#include "clmetad.h"
#include "log.h"

struct right {
	uint32_t	 ino;
	int		 excl;
	uint64_t	 expiry;	/* ms, CLOCK_MONOTONIC */
	char		 token[META_TOKEN_MAX];
};

static struct right	 rights[META_RIGHTS_MAX];
static size_t		 nrights;

static uint64_t
ttl(void)
{
	return 4 * (uint64_t)(M->conf.lease_ms > 0 ? M->conf.lease_ms : 5000);
}

static int
mine(const struct right *rt, const char *token)
{
	return token != NULL && strcmp(rt->token, token) == 0;
}

/* Drop expired rights. */
void
right_tick(void)
{
	uint64_t	 now = loop_now();
	size_t		 i = 0;

	while (i < nrights) {
		if (rights[i].expiry > now) {
			i++;
			continue;
		}
		log_info("right of token %s on inode %u expired",
		    rights[i].token, rights[i].ino);
		rights[i] = rights[--nrights];
	}
}

/*
 * Would a right of another token keep token's access (a write or
 * namespace change if write, else a read) to ino out?  The holder (NULL:
 * a user) name goes to *holder.
 */
int
right_conflict(uint32_t ino, const char *token, int write,
    const char **holder)
{
	size_t	 i;

	right_tick();
	for (i = 0; i < nrights; i++) {
		if (rights[i].ino != ino || mine(&rights[i], token))
			continue;
		if (rights[i].excl || write) {
			*holder = rights[i].token;
			return 1;
		}
	}
	return 0;
}

/* The right token holds on ino: 2 exclusive, 1 shared, 0 none. */
int
right_held(uint32_t ino, const char *token)
{
	size_t	 i;

	for (i = 0; i < nrights; i++)
		if (rights[i].ino == ino && mine(&rights[i], token))
			return rights[i].excl ? 2 : 1;
	return 0;
}

/* Grant or renew (conflicts already checked): 0, or ENOSPC. */
int
right_grant(uint32_t ino, const char *token, int excl)
{
	size_t	 i;

	for (i = 0; i < nrights; i++)
		if (rights[i].ino == ino && mine(&rights[i], token))
			break;
	if (i == nrights) {
		if (nrights == META_RIGHTS_MAX)
			return ENOSPC;
		nrights++;
		memset(&rights[i], 0, sizeof(rights[i]));
		rights[i].ino = ino;
		(void)strlcpy(rights[i].token, token, sizeof(rights[i].token));
	}
	rights[i].excl = excl;
	rights[i].expiry = loop_now() + ttl();
	return 0;
}

/* token's right on ino (token NULL: every right on ino) ends. */
void
right_drop(uint32_t ino, const char *token)
{
	size_t	 i = 0;

	while (i < nrights) {
		if (rights[i].ino == ino && (token == NULL ||
		    mine(&rights[i], token)))
			rights[i] = rights[--nrights];
		else
			i++;
	}
}
