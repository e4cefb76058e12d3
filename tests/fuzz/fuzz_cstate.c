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
 * libFuzzer target for clmemberd's cluster-state decoder (cstate.c) and
 * node-set parser (nodeset.c).  A state that decodes must encode, decode
 * again, and encode to the same text (the encoding is canonical).  A
 * node set that parses must format and parse back to the same set.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clmemberd.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct cstate	 a, b;
static struct buf	 e1, e2;

static void
nodeset(const uint8_t *data, size_t size)
{
	struct nodeset	 s, t;
	char		 str[1100], out[1100];

	if (size >= sizeof(str))
		return;
	memcpy(str, data, size);
	str[size] = '\0';
	if (ns_parse(str, &s) == -1)
		return;
	if (ns_parse(ns_fmt(&s, out, sizeof(out)), &t) == -1 || !ns_eq(&s, &t))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*why = "unset";

	nodeset(data, size);
	if (e1.max == 0) {
		buf_init(&e1, 1024 * 1024);
		buf_init(&e2, 1024 * 1024);
	}
	if (cstate_decode(data, size, &a, &why) == -1) {
		if (why == NULL)
			abort();
		return 0;
	}
	if (why != NULL || a.ntrans < 0 || a.ntrans > TRANS_MAX)
		abort();
	buf_truncate(&e1, 0);
	if (cstate_encode(&a, &e1) == -1)
		abort();
	if (cstate_decode(buf_ptr(&e1), buf_avail(&e1), &b, &why) == -1)
		abort();	/* our own encoding refused */
	buf_truncate(&e2, 0);
	if (cstate_encode(&b, &e2) == -1 || buf_avail(&e1) != buf_avail(&e2) ||
	    memcmp(buf_ptr(&e1), buf_ptr(&e2), buf_avail(&e1)) != 0)
		abort();	/* not canonical */
	if (a.epoch != b.epoch || a.ver != b.ver || a.ntrans != b.ntrans ||
	    !ns_eq(&a.members, &b.members))
		abort();
	return 0;
}
