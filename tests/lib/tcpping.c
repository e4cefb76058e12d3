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
 * tcpping: the raw TCP baseline for tests/bench/messaging.
 *
 *	tcpping [-n count] [-s size] [-m pingpong|stream]
 *
 * Forks a server on 127.0.0.1 (an ephemeral port, TCP_NODELAY on both
 * ends) and, as the client:
 *
 *	pingpong	sends size bytes (default 64) and reads them back,
 *			count times (default 10000) after 100 unmeasured
 *			rounds; prints "tcpping mode=pingpong n= size=
 *			median_us= p99_us= min_us= max_us= mean_us="
 *	stream		writes count messages of size bytes (default 256)
 *			one write(2) each, as a router writes frames; the
 *			server reads them all and answers one byte; prints
 *			"tcpping mode=stream n= size= elapsed_us= rate="
 *			(messages per second)
 *
 * Exit status 0, 1 on a failure, 2 for usage errors.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WARMUP	100

static void
usage(void)
{
	(void)fprintf(stderr, "usage: tcpping [-n count] [-s size] "
	    "[-m pingpong|stream]\n");
	exit(2);
}

static uint64_t
mono_us(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
nodelay(int s)
{
	int	 one = 1;

	if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1)
		err(1, "TCP_NODELAY");
}

static int
read_full(int s, void *p, size_t n)
{
	uint8_t	*b = p;
	ssize_t	 r;

	while (n > 0) {
		r = read(s, b, n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
write_full(int s, const void *p, size_t n)
{
	const uint8_t	*b = p;
	ssize_t		 w;

	while (n > 0) {
		w = write(s, b, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The server: echo size-byte messages, or drain a stream and ack. */
static void
serve(int ls, size_t size, int stream)
{
	uint8_t	*b;
	ssize_t	 r;
	int	 s;

	if ((s = accept(ls, NULL, NULL)) == -1)
		err(1, "accept");
	nodelay(s);
	if ((b = malloc(size > 65536 ? size : 65536)) == NULL)
		err(1, "malloc");
	if (stream) {
		while ((r = read(s, b, 65536)) > 0 || (r == -1 &&
		    errno == EINTR))
			;
		(void)write_full(s, "k", 1);
	} else
		while (read_full(s, b, size) == 0 &&
		    write_full(s, b, size) == 0)
			;
	_exit(0);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in sin;
	socklen_t	 len = sizeof(sin);
	uint64_t	*us, t0, sum = 0;
	uint8_t		*b;
	unsigned long	 n = 10000, i;
	size_t		 size = 0;
	pid_t		 pid;
	int		 ch, ls, s, stream = 0, status;
	char		 k;

	while ((ch = getopt(argc, argv, "n:s:m:")) != -1) {
		switch (ch) {
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 's':
			size = strtoul(optarg, NULL, 10);
			break;
		case 'm':
			if (strcmp(optarg, "stream") == 0)
				stream = 1;
			else if (strcmp(optarg, "pingpong") != 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc || n == 0 || n > 100000000)
		usage();
	if (size == 0)
		size = stream ? 256 : 64;

	if ((ls = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(ls, 1) == -1 ||
	    getsockname(ls, (struct sockaddr *)&sin, &len) == -1)
		err(1, "listen");
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0)
		serve(ls, size, stream);
	(void)close(ls);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(s, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		err(1, "connect");
	nodelay(s);
	if ((b = calloc(1, size)) == NULL ||
	    (us = calloc(n, sizeof(*us))) == NULL)
		err(1, "calloc");

	if (stream) {
		t0 = mono_us();
		for (i = 0; i < n; i++)
			if (write_full(s, b, size) == -1)
				err(1, "write");
		(void)shutdown(s, SHUT_WR);
		if (read_full(s, &k, 1) == -1)
			errx(1, "no acknowledgement from the server");
		t0 = mono_us() - t0;
		(void)printf("tcpping mode=stream n=%lu size=%zu elapsed_us=%llu "
		    "rate=%.0f\n", n, size, (unsigned long long)t0,
		    (double)n * 1e6 / (double)(t0 > 0 ? t0 : 1));
	} else {
		for (i = 0; i < WARMUP + n; i++) {
			t0 = mono_us();
			if (write_full(s, b, size) == -1 ||
			    read_full(s, b, size) == -1)
				errx(1, "the server went away");
			if (i >= WARMUP) {
				us[i - WARMUP] = mono_us() - t0;
				sum += us[i - WARMUP];
			}
		}
		qsort(us, n, sizeof(*us), cmp_u64);
		(void)printf("tcpping mode=pingpong n=%lu size=%zu median_us=%llu "
		    "p99_us=%llu min_us=%llu max_us=%llu mean_us=%llu\n", n, size,
		    (unsigned long long)us[n / 2],
		    (unsigned long long)us[(n * 99) / 100],
		    (unsigned long long)us[0], (unsigned long long)us[n - 1],
		    (unsigned long long)(sum / n));
		(void)shutdown(s, SHUT_WR);
	}
	(void)close(s);
	(void)waitpid(pid, &status, 0);
	free(b);
	free(us);
	return 0;
}
