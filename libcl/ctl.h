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

#ifndef CL_CTL_H
#define CL_CTL_H

#include "buf.h"
#include "wire.h"

/* A tool's blocking connection to a local daemon's control socket. */
struct ctl {
	int		 fd;
	struct buf	 in;
	struct wire_parser wp;
	size_t		 last;		/* bytes of the frame last returned */
	char		 path[256];
	const char	*reason;	/* why the last ctl_recv() failed */
};

int	 ctl_open(struct ctl *, const char *, const char *);
int	 ctl_send(struct ctl *, const struct frame *);
int	 ctl_recv(struct ctl *, struct frame *, int);
int	 ctl_wait(struct ctl *, struct frame *, int);
void	 ctl_close(struct ctl *);

#endif /* CL_CTL_H */
