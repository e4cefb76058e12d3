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
 * poll(2) rather than epoll: it is on every Unix cl runs on, and a node
 * has tens of descriptors, not tens of thousands.
 */

#include <sys/types.h>
#include <sys/tree.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "sock.h"

#define LOOP_SIGMAX	65		/* signals we can route */

struct fdslot {
	loop_fd_cb	 cb;
	void		*arg;
	short		 events;
	int		 used;
};

struct sigslot {
	loop_sig_cb	 cb;
	void		*arg;
};

RB_HEAD(timertree, timer);

static int
timer_cmp(struct timer *a, struct timer *b)
{
	if (a->when != b->when)
		return a->when < b->when ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return 0;
}

/*
 * RB_GENERATE_STATIC needs __unused, which libbsd leaves undefined on
 * Linux (Debian #522773); name the attribute ourselves.
 */
RB_GENERATE_INTERNAL(timertree, timer, entry, timer_cmp,
    __attribute__((__unused__)) static)

static struct {
	struct fdslot	*fds;
	int		 nfds;		/* slots allocated */
	struct pollfd	*pfd;
	int		 npfd;
	struct timertree timers;
	uint64_t	 timerseq;
	uint64_t	 now;
	int		 quit;
	int		 sigpipe[2];
	struct sigslot	 sigs[LOOP_SIGMAX];
	void		(*prepare)(void);
} L = { .sigpipe = { -1, -1 } };

static volatile sig_atomic_t sig_pending[LOOP_SIGMAX];

/* Sleep ms milliseconds, through signals: for tools, never the loop. */
void
clock_sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

uint64_t
clock_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
clock_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Wall clock, for timestamps that other processes compare; never timers. */
uint64_t
wallclock_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
loop_now(void)
{
	return L.now ? L.now : clock_ms();
}

static void
sig_handler(int sig)
{
	int	 save = errno;

	if (sig > 0 && sig < LOOP_SIGMAX)
		sig_pending[sig] = 1;
	(void)write(L.sigpipe[1], "", 1);
	errno = save;
}

static void
sig_drain(int fd, short ev, void *arg)
{
	char	 b[64];
	int	 i;

	(void)ev;
	(void)arg;
	while (read(fd, b, sizeof(b)) > 0)
		;
	for (i = 1; i < LOOP_SIGMAX; i++) {
		if (!sig_pending[i])
			continue;
		sig_pending[i] = 0;
		if (L.sigs[i].cb != NULL)
			L.sigs[i].cb(i, L.sigs[i].arg);
	}
}

int
loop_init(void)
{
	RB_INIT(&L.timers);
	L.now = clock_ms();
	if (pipe(L.sigpipe) == -1)
		return -1;
	if (sock_nonblock(L.sigpipe[0]) == -1 ||
	    sock_nonblock(L.sigpipe[1]) == -1)
		return -1;
	return loop_fd_add(L.sigpipe[0], POLLIN, sig_drain, NULL);
}

int
loop_signal(int sig, loop_sig_cb cb, void *arg)
{
	struct sigaction sa;

	if (sig <= 0 || sig >= LOOP_SIGMAX) {
		errno = EINVAL;
		return -1;
	}
	L.sigs[sig].cb = cb;
	L.sigs[sig].arg = arg;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = sig_handler;
	sa.sa_flags = SA_RESTART;
	return sigaction(sig, &sa, NULL);
}

int
loop_fd_add(int fd, short events, loop_fd_cb cb, void *arg)
{
	struct fdslot	*p;
	int		 n;

	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (fd >= L.nfds) {
		n = fd + 16;
		p = reallocarray(L.fds, (size_t)n, sizeof(*p));
		if (p == NULL)
			return -1;
		memset(p + L.nfds, 0, (size_t)(n - L.nfds) * sizeof(*p));
		L.fds = p;
		L.nfds = n;
	}
	L.fds[fd].cb = cb;
	L.fds[fd].arg = arg;
	L.fds[fd].events = events;
	L.fds[fd].used = 1;
	return 0;
}

void
loop_fd_events(int fd, short events)
{
	if (fd >= 0 && fd < L.nfds && L.fds[fd].used)
		L.fds[fd].events = events;
}

void
loop_fd_del(int fd)
{
	if (fd >= 0 && fd < L.nfds)
		memset(&L.fds[fd], 0, sizeof(L.fds[fd]));
}

void
timer_setup(struct timer *t, loop_timer_cb cb, void *arg)
{
	memset(t, 0, sizeof(*t));
	t->cb = cb;
	t->arg = arg;
}

void
timer_at(struct timer *t, uint64_t when)
{
	if (t->armed)
		RB_REMOVE(timertree, &L.timers, t);
	t->when = when;
	t->seq = ++L.timerseq;
	RB_INSERT(timertree, &L.timers, t);
	t->armed = 1;
}

void
timer_in(struct timer *t, uint64_t ms)
{
	timer_at(t, clock_ms() + ms);
}

void
timer_stop(struct timer *t)
{
	if (!t->armed)
		return;
	RB_REMOVE(timertree, &L.timers, t);
	t->armed = 0;
}

void
loop_exit(void)
{
	L.quit = 1;
}

static void
run_timers(void)
{
	struct timer	*t;

	L.now = clock_ms();
	while ((t = RB_MIN(timertree, &L.timers)) != NULL && t->when <= L.now) {
		RB_REMOVE(timertree, &L.timers, t);
		t->armed = 0;
		t->cb(t->arg);
	}
}

static int
poll_timeout(void)
{
	struct timer	*t;
	uint64_t	 now;

	if ((t = RB_MIN(timertree, &L.timers)) == NULL)
		return -1;
	now = clock_ms();
	if (t->when <= now)
		return 0;
	if (t->when - now > 60 * 1000)
		return 60 * 1000;
	return (int)(t->when - now);
}

static int
build_pollfds(void)
{
	struct pollfd	*p;
	int		 fd, n = 0;

	if (L.npfd < L.nfds) {
		p = reallocarray(L.pfd, (size_t)L.nfds, sizeof(*p));
		if (p == NULL)
			return -1;
		L.pfd = p;
		L.npfd = L.nfds;
	}
	for (fd = 0; fd < L.nfds; fd++) {
		if (!L.fds[fd].used)
			continue;
		L.pfd[n].fd = fd;
		L.pfd[n].events = L.fds[fd].events;
		L.pfd[n].revents = 0;
		n++;
	}
	return n;
}

/*
 * fn runs before every wait: writers queue output during a turn and
 * write it all here, one write per descriptor instead of one per frame.
 */
void
loop_prepare(void (*fn)(void))
{
	L.prepare = fn;
}

/*
 * Run until loop_exit().  A callback may add or remove any descriptor,
 * its own included: each ready descriptor is looked up again before its
 * callback runs, so a removed one is skipped.
 */
int
loop_run(void)
{
	int	 i, n, fd;
	short	 rev;

	L.quit = 0;
	while (!L.quit) {
		run_timers();
		if (L.quit)
			break;
		if (L.prepare != NULL)
			L.prepare();
		if ((n = build_pollfds()) == -1)
			return -1;
		if (poll(L.pfd, (nfds_t)n, poll_timeout()) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		L.now = clock_ms();
		for (i = 0; i < n && !L.quit; i++) {
			if ((rev = L.pfd[i].revents) == 0)
				continue;
			fd = L.pfd[i].fd;
			if (fd >= L.nfds || !L.fds[fd].used)
				continue;
			L.fds[fd].cb(fd, rev, L.fds[fd].arg);
		}
	}
	return 0;
}
