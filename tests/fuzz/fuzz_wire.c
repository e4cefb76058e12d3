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
 * libFuzzer target for the frame parser (libcl/wire.c).  The input is
 * parsed whole and again incrementally, in chunks whose sizes come from
 * the input itself; both must agree.  A frame is rebuilt with
 * frame_init/frame_add, encoded and parsed again: it must come back the
 * same.  Any disagreement abort()s, which libFuzzer reports as a crash.
 * Frames after the first are parsed too, with wire_parser_reset.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "wire.h"

#define MAXPAYLOAD	4096		/* bytes: small, so the limit is hit */

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct frame	 fa, fb, fc;
static struct buf	 enc;

static int
same_frame(const struct frame *a, const struct frame *b)
{
	int	 i;

	if (strcmp(a->op, b->op) != 0 || a->txid != b->txid ||
	    a->nkv != b->nkv || a->len != b->len)
		return 0;
	for (i = 0; i < a->nkv; i++)
		if (strcmp(a->kv[i].key, b->kv[i].key) != 0 ||
		    strcmp(a->kv[i].val, b->kv[i].val) != 0)
			return 0;
	return a->len == 0 || memcmp(a->payload, b->payload, a->len) == 0;
}

/* The bytes wire_encode_head writes for f. */
static size_t
head_size(const struct frame *f)
{
	char	 t[32];
	size_t	 n;
	int	 i;

	n = (size_t)snprintf(t, sizeof(t), "%llu",
	    (unsigned long long)f->txid);
	n += strlen(WIRE_VERSION) + 1 + strlen(f->op) + 1 + 1;
	for (i = 0; i < f->nkv; i++)
		n += strlen(f->kv[i].key) + 1 + strlen(f->kv[i].val) + 1;
	return n;
}

/* Rebuild a parsed frame, encode it and parse it again. */
static void
reencode(const struct frame *f)
{
	struct wire_parser p;
	int		 i;

	frame_init(&fc, f->op, f->txid);
	for (i = 0; i < f->nkv; i++)
		(void)frame_add(&fc, f->kv[i].key, "%s", f->kv[i].val);
	frame_payload(&fc, f->payload, f->len);
	if (fc.err)
		abort();	/* the parser took what the builder refuses */
	if (enc.max == 0)
		buf_init(&enc, WIRE_HDR_MAX + MAXPAYLOAD);
	buf_truncate(&enc, 0);
	if (wire_encode(&enc, &fc) == -1) {
		/* Only a header without room for len, seq and mac. */
		if (head_size(&fc) <= WIRE_HDR_MAX - WIRE_TAIL_MAX)
			abort();
		return;
	}
	wire_parser_init(&p, MAXPAYLOAD);
	if (wire_parse(&p, buf_ptr(&enc), buf_avail(&enc), &fb) !=
	    WIRE_FRAME || wire_framelen(&p) != buf_avail(&enc) ||
	    !same_frame(f, &fb))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_parser pa, pb;
	enum wire_result ra, rb;
	size_t		 n, i, off, step;

	wire_parser_init(&pa, MAXPAYLOAD);
	ra = wire_parse(&pa, data, size, &fa);

	/* The same bytes arriving in pieces. */
	wire_parser_init(&pb, MAXPAYLOAD);
	rb = wire_parse(&pb, data, 0, &fb);
	for (n = 0, i = 0; rb == WIRE_MORE && n < size; i++) {
		step = 1 + data[(i * 7) % size] % 61;
		n = size - n < step ? size : n + step;
		rb = wire_parse(&pb, data, n, &fb);
	}
	if (ra != rb)
		abort();
	if (ra == WIRE_ERROR && (pa.reason == NULL || pb.reason == NULL))
		abort();
	if (ra != WIRE_FRAME)
		return 0;
	if (wire_framelen(&pa) != wire_framelen(&pb) ||
	    wire_framelen(&pa) > size || !same_frame(&fa, &fb) ||
	    fa.hdrlen > WIRE_HDR_MAX || fa.len > MAXPAYLOAD ||
	    frame_get(&fa, "len") != NULL)
		abort();
	reencode(&fa);

	/* Further frames in the same buffer. */
	off = wire_framelen(&pa);
	while (off < size) {
		wire_parser_reset(&pa);
		if (wire_parse(&pa, data + off, size - off, &fa) != WIRE_FRAME)
			break;
		if (wire_framelen(&pa) == 0)
			abort();
		reencode(&fa);
		off += wire_framelen(&pa);
	}
	return 0;
}
