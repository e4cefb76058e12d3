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

/* Socket set-up shared by the daemons and the tools. */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sock.h"

#define LISTEN_BACKLOG	64

int
sock_nonblock(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		return -1;
	return 0;
}

static int
unix_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlcpy(sun->sun_path, path, sizeof(sun->sun_path)) >=
	    sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
sock_unix_connect(const char *path)
{
	struct sockaddr_un sun;
	int		 fd;

	if (unix_addr(path, &sun) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

/*
 * Bind a control socket.  A leftover socket file is removed only if no
 * one answers on it: a second daemon must not steal a live one's socket.
 */
int
sock_unix_listen(const char *path, mode_t mode, gid_t gid)
{
	struct sockaddr_un sun;
	struct stat	 st;
	mode_t		 old;
	int		 fd, other;

	if (unix_addr(path, &sun) == -1)
		return -1;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			errno = EEXIST;
			return -1;
		}
		if ((other = sock_unix_connect(path)) != -1) {
			(void)close(other);
			errno = EADDRINUSE;
			return -1;
		}
		if (unlink(path) == -1)
			return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	old = umask(0777 & ~mode);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		(void)umask(old);
		goto fail;
	}
	(void)umask(old);
	if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) == -1 &&
	    errno != EPERM)
		goto fail;
	if (chmod(path, mode) == -1 || listen(fd, LISTEN_BACKLOG) == -1 ||
	    sock_nonblock(fd) == -1)
		goto fail;
	return fd;
fail:
	{
		int save = errno;

		(void)close(fd);
		errno = save;
	}
	return -1;
}

/* Name to address, once, at start or reload: never in the event loop. */
int
sock_resolve(const char *host, const char *port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct addrinfo	 hints, *res;
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return rc;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int
sock_tcp_listen(const struct sockaddr *sa, socklen_t len)
{
	int	 fd, on = 1, save;

	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, sa, len) == -1 || listen(fd, LISTEN_BACKLOG) == -1 ||
	    sock_nonblock(fd) == -1) {
		save = errno;
		(void)close(fd);
		errno = save;
		return -1;
	}
	return fd;
}

/* Low latency and early detection of a dead peer. */
void
sock_tcp_tune(int fd)
{
	int	 on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
}

/* Start a non-blocking connect; completion shows as writability. */
int
sock_tcp_connect(const struct sockaddr *sa, socklen_t len)
{
	int	 fd, save;

	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (sock_nonblock(fd) == -1)
		goto fail;
	sock_tcp_tune(fd);
	if (connect(fd, sa, len) == -1 && errno != EINPROGRESS)
		goto fail;
	return fd;
fail:
	save = errno;
	(void)close(fd);
	errno = save;
	return -1;
}

/* After a non-blocking connect: 0 if it succeeded, else -1 and errno. */
int
sock_connected(int fd)
{
	socklen_t len = sizeof(int);
	int	 err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return -1;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

void
sock_addrstr(const struct sockaddr *sa, char *out, size_t len)
{
	char	 h[INET6_ADDRSTRLEN];

	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *in = (const void *)sa;

		(void)inet_ntop(AF_INET, &in->sin_addr, h, sizeof(h));
		(void)snprintf(out, len, "%s:%u", h, ntohs(in->sin_port));
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		(void)inet_ntop(AF_INET6, &in6->sin6_addr, h, sizeof(h));
		(void)snprintf(out, len, "[%s]:%u", h, ntohs(in6->sin6_port));
		break;
	}
	case AF_UNIX:
		(void)strlcpy(out, "local", len);
		break;
	default:
		(void)strlcpy(out, "unknown", len);
	}
}

int
sock_peercred(int fd, uid_t *uid, gid_t *gid)
{
	return getpeereid(fd, uid, gid);
}
