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

#ifndef CL_SOCK_H
#define CL_SOCK_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

#define SOCK_ADDRSTRLEN	64	/* "[v6addr]:port" */

int	 sock_nonblock(int);
int	 sock_unix_listen(const char *, mode_t, gid_t);
int	 sock_unix_connect(const char *);
int	 sock_resolve(const char *, const char *, struct sockaddr_storage *,
	    socklen_t *);
int	 sock_tcp_listen(const struct sockaddr *, socklen_t);
int	 sock_tcp_connect(const struct sockaddr *, socklen_t);
int	 sock_connected(int);
void	 sock_tcp_tune(int);
void	 sock_addrstr(const struct sockaddr *, char *, size_t);
int	 sock_peercred(int, uid_t *, gid_t *);

#endif /* CL_SOCK_H */
