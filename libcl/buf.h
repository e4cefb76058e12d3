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

#ifndef CL_BUF_H
#define CL_BUF_H

#include <stddef.h>
#include <stdint.h>

/*
 * A byte buffer with a hard upper bound.  Data lives in [off, len);
 * consumed bytes are reclaimed lazily by moving the tail down.
 */
struct buf {
	uint8_t	*data;
	size_t	 off;
	size_t	 len;
	size_t	 cap;
	size_t	 max;		/* never grows beyond this many bytes */
};

void	 buf_init(struct buf *, size_t);
void	 buf_free(struct buf *);
int	 buf_reserve(struct buf *, size_t);
int	 buf_append(struct buf *, const void *, size_t);
int	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));
void	 buf_consume(struct buf *, size_t);
void	 buf_truncate(struct buf *, size_t);

static inline uint8_t *
buf_ptr(const struct buf *b)
{
	/* A buffer never written to has no storage yet. */
	return b->data != NULL ? b->data + b->off : NULL;
}

static inline size_t
buf_avail(const struct buf *b)
{
	return b->len - b->off;
}

static inline size_t
buf_room(const struct buf *b)
{
	return b->cap - b->len;
}

#endif /* CL_BUF_H */
