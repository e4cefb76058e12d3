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

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define BUF_MINCAP	1024		/* bytes */

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

/*
 * Make room for n more bytes after len.  Moves live data to the front
 * before growing, and fails with ENOBUFS rather than pass the bound.
 */
int
buf_reserve(struct buf *b, size_t n)
{
	size_t	 live, need, ncap;
	uint8_t	*p;

	live = b->len - b->off;
	if (n > b->max || live > b->max - n) {
		errno = ENOBUFS;
		return -1;
	}
	need = live + n;
	if (b->off > 0 && (b->cap - b->len < n || b->off >= b->cap / 2)) {
		memmove(b->data, b->data + b->off, live);
		b->off = 0;
		b->len = live;
	}
	if (b->cap - b->len >= n)
		return 0;
	ncap = b->cap < BUF_MINCAP ? BUF_MINCAP : b->cap;
	while (ncap < need)
		ncap *= 2;
	if (ncap > b->max)
		ncap = b->max;
	if ((p = realloc(b->data, ncap)) == NULL)
		return -1;
	b->data = p;
	b->cap = ncap;
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_reserve(b, n) == -1)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	 small[256], *t;
	int	 n, rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return buf_append(b, small, (size_t)n);
	/*
	 * Formatted elsewhere: vsnprintf writes a NUL after the text, and
	 * a buffer filled to exactly max has no room for it.
	 */
	if ((size_t)n > b->max - buf_avail(b)) {
		errno = ENOBUFS;
		return -1;
	}
	if ((t = malloc((size_t)n + 1)) == NULL)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(t, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = buf_append(b, t, (size_t)n);
	free(t);
	return rc;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len - b->off) {
		b->off = b->len = 0;
		return;
	}
	b->off += n;
}

/* Drop everything after the first n live bytes. */
void
buf_truncate(struct buf *b, size_t n)
{
	if (n < b->len - b->off)
		b->len = b->off + n;
}
