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

#ifndef CL_MSG_H
#define CL_MSG_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ctl.h"
#include "loop.h"
#include "wire.h"

/*
 * A service's connection to clmemberd's message router (cl-wire(5),
 * ROUTING): register a name, send frames to <node>.<service> or
 * *.<service>, call and wait for the response, receive.  Blocking, every
 * wait bounded by a timeout in ms (-1: no limit).
 *
 * Lifetime: a frame a msg_* function fills in, its keys and its payload,
 * stays valid until the next msg_recv(), msg_call(), msg_register(),
 * msg_services() or msg_close() on the same struct msg.  Sending
 * (msg_send, msg_broadcast, msg_reply) leaves it alone, so a request can
 * be answered straight from the frame msg_recv() returned.
 *
 * Errors: -1 with errno set and m->error naming the cause.
 *
 * A daemon on loop.c may call msg_defer(): msg_send, msg_broadcast and
 * msg_reply then queue the frame, and the queue goes out in one write
 * when the loop's turn ends (a zero timer), when it passes
 * MSG_DEFER_BYTES, before any call that waits on the connection, or on
 * msg_flush().  A burst of answers costs one system call, and clmemberd
 * one wakeup.  A failed deferred write is logged nowhere: the next read
 * sees the connection closed.  Frames written straight to m->ctl (DB
 * requests) must follow a msg_flush() to keep their order.
 */

#define MSG_QUEUE_FRAMES	256		/* frames kept for msg_recv */
#define MSG_QUEUE_BYTES		(1024 * 1024)	/* their bytes */
/* The largest payload clmemberd takes from a local client (control.c). */
#define MSG_PAYLOAD_MAX		(64 * 1024)
#define MSG_DEFER_BYTES		(64 * 1024)	/* queued: written at once */

struct msg_kept;

struct msg {
	struct ctl	 ctl;
	uint64_t	 txid;		/* the last txid given out */
	uint32_t	 node;		/* this node, once registered */
	char		 name[WIRE_KEY_MAX + 1];	/* the service, or "" */
	int		 eof;		/* clmemberd closed the connection */
	/* Frames that came during a wait, for msg_recv; oldest first. */
	STAILQ_HEAD(, msg_kept) kept;
	size_t		 nkept;
	size_t		 keptbytes;
	uint64_t	 dropped;	/* frames the bounds threw away */
	uint8_t		*held[2];	/* copies behind returned frames */
	char		 error[256];
	int		 defer;		/* msg_defer(): sends are queued */
	struct buf	 out;		/* the queued frames' bytes */
	struct timer	 flusht;	/* writes them when the turn ends */
};

int	 msg_open(struct msg *, const char *);
int	 msg_register(struct msg *, const char *, int);
int	 msg_send(struct msg *, struct frame *);
int	 msg_broadcast(struct msg *, const char *, struct frame *);
int	 msg_reply(struct msg *, const struct frame *, struct frame *);
int	 msg_call(struct msg *, struct frame *, struct frame *, struct frame *,
	    int);
int	 msg_recv(struct msg *, struct frame *, int);
int	 msg_services(struct msg *, struct frame *, int);
int	 msg_fd(const struct msg *);
int	 msg_pending(const struct msg *);
void	 msg_defer(struct msg *);
int	 msg_flush(struct msg *);
void	 msg_close(struct msg *);

#endif /* CL_MSG_H */
