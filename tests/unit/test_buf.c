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
 * The bounded byte buffer (libcl/buf.c): it never holds more than its
 * max, fails with ENOBUFS instead, and keeps the live bytes intact
 * through consume, compaction, growth and truncate.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "unit.h"

#define MODEL_MAX	5000		/* bytes, the randomized buffer's max */

static int
has(const struct buf *b, const void *p, size_t n)
{
	return buf_avail(b) == n && (n == 0 || memcmp(buf_ptr(b), p, n) == 0);
}

static void
test_bounds(void)
{
	struct buf	 b;
	uint8_t		 d[200];
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof(d); i++)
		d[i] = (uint8_t)i;

	buf_init(&b, 100);
	CHECK(buf_avail(&b) == 0 && b.data == NULL,
	    "a new buffer is empty and allocates nothing");
	CHECK(buf_append(&b, d, 0) == 0 && buf_avail(&b) == 0,
	    "appending nothing succeeds");
	CHECK(buf_append(&b, d, 60) == 0 && has(&b, d, 60), "append 60 of 100");
	CHECK(buf_append(&b, d + 60, 40) == 0 && has(&b, d, 100),
	    "append up to exactly max");
	CHECK(b.cap <= b.max, "capacity never exceeds max");
	errno = 0;
	rc = buf_append(&b, d, 1);
	CHECK(rc == -1 && errno == ENOBUFS, "one byte beyond max: ENOBUFS");
	CHECK(has(&b, d, 100), "a refused append leaves the data alone");
	buf_free(&b);

	buf_init(&b, 100);
	errno = 0;
	rc = buf_append(&b, d, 101);
	CHECK(rc == -1 && errno == ENOBUFS && buf_avail(&b) == 0,
	    "append of max + 1 into an empty buffer: ENOBUFS");
	errno = 0;
	CHECK(buf_reserve(&b, SIZE_MAX) == -1 && errno == ENOBUFS,
	    "reserve SIZE_MAX: ENOBUFS, no overflow");
	CHECK(buf_append(&b, d, 50) == 0, "append 50");
	errno = 0;
	CHECK(buf_reserve(&b, SIZE_MAX - 10) == -1 && errno == ENOBUFS,
	    "reserve SIZE_MAX - 10 with 50 live: ENOBUFS, no overflow");
	CHECK(buf_reserve(&b, 50) == 0 && buf_room(&b) >= 50,
	    "reserve the rest up to max");
	CHECK(has(&b, d, 50), "reserve keeps the data");
	buf_free(&b);
	CHECK(b.data == NULL && buf_avail(&b) == 0, "buf_free empties");

	/* A max below the minimum allocation still bounds the capacity. */
	buf_init(&b, 10);
	CHECK(buf_append(&b, d, 10) == 0 && b.cap <= 10,
	    "small max: capacity clamped to max");
	buf_free(&b);
}

static void
test_consume(void)
{
	struct buf	 b;
	uint8_t		 d[200];
	size_t		 i;

	for (i = 0; i < sizeof(d); i++)
		d[i] = (uint8_t)(255 - i);

	buf_init(&b, 64);
	(void)buf_append(&b, d, 60);
	buf_consume(&b, 50);
	CHECK(has(&b, d + 50, 10), "consume drops bytes from the front");
	/* 10 live + 50 new fit in 64 only if the tail moves down. */
	CHECK(buf_append(&b, d + 60, 50) == 0, "append after consume fits by "
	    "compaction");
	CHECK(has(&b, d + 50, 60), "compaction keeps the live bytes in order");
	CHECK(b.cap <= b.max, "compaction stays within max");
	CHECK(buf_append(&b, d, 5) == -1 && errno == ENOBUFS,
	    "still bounded after compaction");
	buf_consume(&b, 1000);
	CHECK(buf_avail(&b) == 0 && b.off == 0 && b.len == 0,
	    "consuming more than there is empties the buffer");
	CHECK(buf_append(&b, d, 64) == 0 && has(&b, d, 64),
	    "the whole max is usable again after emptying");
	buf_consume(&b, 64);
	CHECK(buf_avail(&b) == 0, "consume exactly all");
	buf_free(&b);
}

static void
test_truncate(void)
{
	struct buf	 b;

	buf_init(&b, 1000);
	(void)buf_append(&b, "hello world", 11);
	buf_truncate(&b, 5);
	CHECK(has(&b, "hello", 5), "truncate keeps the first n bytes");
	buf_truncate(&b, 50);
	CHECK(has(&b, "hello", 5), "truncate past the end changes nothing");
	buf_consume(&b, 2);
	buf_truncate(&b, 2);
	CHECK(has(&b, "ll", 2), "truncate counts from the live start");
	buf_truncate(&b, 0);
	CHECK(buf_avail(&b) == 0, "truncate to 0 empties");
	CHECK(buf_append(&b, "x", 1) == 0 && has(&b, "x", 1),
	    "append after truncate");
	buf_free(&b);
}

static void
test_printf(void)
{
	struct buf	 b;
	int		 rc;

	buf_init(&b, 32);
	CHECK(buf_printf(&b, "%s=%d\n", "seq", 42) == 0 &&
	    has(&b, "seq=42\n", 7), "buf_printf formats");
	CHECK(buf_printf(&b, "%s", "") == 0 && has(&b, "seq=42\n", 7),
	    "buf_printf of nothing");
	errno = 0;
	rc = buf_printf(&b, "%040d", 1);
	CHECK(rc == -1 && errno == ENOBUFS && has(&b, "seq=42\n", 7),
	    "buf_printf beyond max: ENOBUFS, data unchanged");
	buf_free(&b);

	/*
	 * The bound is on the bytes held: text that fits exactly is taken,
	 * as buf_append takes it (the terminating NUL is not data).
	 */
	buf_init(&b, 10);
	rc = buf_printf(&b, "%s", "0123456789");
	CHECK(rc == 0 && has(&b, "0123456789", 10),
	    "buf_printf fills the buffer to exactly max");
	buf_free(&b);
}

/* Random appends, consumes and truncates against a flat model. */
static void
test_model(void)
{
	static uint8_t	 model[MODEL_MAX], src[MODEL_MAX];
	struct buf	 b;
	size_t		 mlen = 0, n, i, bad = 0, refused = 0;
	uint32_t	 x = 2463534242U;
	int		 op, rc;

	for (i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 31 + 7);
	buf_init(&b, MODEL_MAX);
	for (i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		op = (int)(x % 4);
		n = (x >> 8) % 1500;
		switch (op) {
		case 0:
		case 1:
			rc = buf_append(&b, src + (x >> 4) % 3000, n);
			if (mlen + n <= MODEL_MAX) {
				if (rc != 0)
					bad++;
				memcpy(model + mlen, src + (x >> 4) % 3000, n);
				mlen += n;
			} else if (rc != -1 || errno != ENOBUFS)
				bad++;
			else
				refused++;
			break;
		case 2:
			buf_consume(&b, n);
			n = n < mlen ? n : mlen;
			memmove(model, model + n, mlen - n);
			mlen -= n;
			break;
		case 3:
			if ((x >> 20) % 8 == 0) {
				buf_truncate(&b, n);
				if (n < mlen)
					mlen = n;
			}
			break;
		}
		if (!has(&b, model, mlen) || b.cap > b.max)
			bad++;
	}
	CHECK(bad == 0, "20000 random operations match a flat model");
	CHECK(refused > 0, "the model run hit the bound");
	buf_free(&b);
}

int
main(void)
{
	test_bounds();
	test_consume();
	test_truncate();
	test_printf();
	test_model();
	return unit_done();
}
