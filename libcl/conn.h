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

#ifndef CL_CONN_H
#define CL_CONN_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "buf.h"
#include "loop.h"
#include "wire.h"

#define CONN_READ_CHUNK		(64 * 1024)	/* bytes per read(2) */
#define CONN_READ_BUDGET	(1024 * 1024)	/* bytes per wakeup */

struct conn;

/* Return -1 to close the connection (after conn_close() or not). */
typedef int	(*conn_frame_cb)(struct conn *, struct frame *, void *);
/* Called once, when the connection ends, with the reason. */
typedef void	(*conn_close_cb)(struct conn *, const char *, void *);

struct conn {
	TAILQ_ENTRY(conn) dirty;	/* output waits for the turn's end */
	int		 queued;	/* on the dirty list */
	int		 fd;
	struct buf	 in;
	struct buf	 out;
	struct wire_parser wp;
	struct auth	*auth;		/* NULL on Unix sockets */
	conn_frame_cb	 on_frame;
	conn_close_cb	 on_close;
	void		*arg;
	struct timer	 stall;		/* an incomplete frame waits too long */
	uint64_t	 stall_ms;
	char		 name[96];	/* for logs: address or credentials */
	int		 busy;
	int		 dead;
	int		 draining;	/* close once out is written */
	char		 why[160];	/* why it closes, kept past the cause */
	uint64_t	 frames_in;
	uint64_t	 frames_out;
};

struct conn	*conn_new(int, size_t, size_t, conn_frame_cb, conn_close_cb,
		    void *);
void		 conn_set_auth(struct conn *, struct auth *);
void		 conn_set_maxpayload(struct conn *, size_t);
void		 conn_set_stall(struct conn *, uint64_t);
int		 conn_send(struct conn *, const struct frame *);
int		 conn_send_plain(struct conn *, const struct frame *);
int		 conn_error(struct conn *, uint64_t, const char *, const char *);
void		 conn_close(struct conn *, const char *);
size_t		 conn_queued(const struct conn *);

#endif /* CL_CONN_H */
