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

#ifndef CL_LOOP_H
#define CL_LOOP_H

#include <sys/tree.h>

#include <poll.h>
#include <stdint.h>

/*
 * One event loop per process: file descriptors with callbacks, and
 * timers that are absolute deadlines on CLOCK_MONOTONIC.  A timer is
 * embedded in its owner's struct, so arming one never allocates.
 */
typedef void	(*loop_fd_cb)(int, short, void *);
typedef void	(*loop_timer_cb)(void *);
typedef void	(*loop_sig_cb)(int, void *);

struct timer {
	RB_ENTRY(timer)	 entry;
	uint64_t	 when;		/* ms, CLOCK_MONOTONIC */
	uint64_t	 seq;		/* orders equal deadlines */
	loop_timer_cb	 cb;
	void		*arg;
	int		 armed;
};

int		 loop_init(void);
int		 loop_run(void);
void		 loop_prepare(void (*)(void));
void		 loop_exit(void);

int		 loop_fd_add(int, short, loop_fd_cb, void *);
void		 loop_fd_events(int, short);
void		 loop_fd_del(int);

/*
 * timer_setup() clears the timer: never call it on an armed one (it is
 * linked into the loop's tree); timer_stop() it first.  timer_at() and
 * timer_in() may re-arm an armed timer.
 */
void		 timer_setup(struct timer *, loop_timer_cb, void *);
void		 timer_at(struct timer *, uint64_t);
void		 timer_in(struct timer *, uint64_t);
void		 timer_stop(struct timer *);

int		 loop_signal(int, loop_sig_cb, void *);

uint64_t	 loop_now(void);
uint64_t	 clock_ms(void);
void		 clock_sleep_ms(long);
uint64_t	 clock_us(void);
uint64_t	 wallclock_us(void);

#endif /* CL_LOOP_H */
