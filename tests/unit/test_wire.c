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
 * The frame parser and serializer (libcl/wire.c): every malformed case
 * with the reason it is refused for, the limits at and one past their
 * edge, incremental parsing, and encode/parse round trips.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "wire.h"
#include "unit.h"

#define LIMIT		WIRE_PAYLOAD_MAX	/* the parsers' payload cap */
#define BIGBUF		(64 * 1024)		/* bytes, for built frames */

static struct frame	 f1, f2;
static char		 text[BIGBUF];

static const char *
rname(enum wire_result r)
{
	switch (r) {
	case WIRE_MORE:
		return "WIRE_MORE";
	case WIRE_FRAME:
		return "WIRE_FRAME";
	case WIRE_ERROR:
		return "WIRE_ERROR";
	}
	return "?";
}

/* A distinct key name for key number i. */
static const char *
key(size_t i)
{
	static char	 k[16];

	(void)snprintf(k, sizeof(k), "k%zu", i);
	return k;
}

/* Parse s[0..n) whole with a fresh parser. */
static enum wire_result
parse(const void *s, size_t n, size_t max, struct frame *f, const char **why,
    size_t *flen)
{
	struct wire_parser	 p;
	enum wire_result	 r;

	wire_parser_init(&p, max);
	r = wire_parse(&p, s, n, f);
	if (why != NULL)
		*why = p.reason;
	if (flen != NULL)
		*flen = r == WIRE_FRAME ? wire_framelen(&p) : 0;
	return r;
}

/* s[0..n) is refused, and for the reason named. */
static void
refuse(const char *name, const void *s, size_t n, const char *want)
{
	enum wire_result r;
	const char	*why;

	r = parse(s, n, LIMIT, &f1, &why, NULL);
	if (!CHECKF(r == WIRE_ERROR && why != NULL && strcmp(why, want) == 0,
	    "%s: refused, \"%s\"", name, want))
		unit_diag("got %s, reason \"%s\"", rname(r),
		    why != NULL ? why : "(none)");
}

static void
refuse_s(const char *name, const char *s, const char *want)
{
	refuse(name, s, strlen(s), want);
}

/* s[0..n) is one whole frame. */
static int
accepts(const char *name, const void *s, size_t n, struct frame *f)
{
	enum wire_result r;
	const char	*why;
	size_t		 flen;

	r = parse(s, n, LIMIT, f, &why, &flen);
	if (!CHECKF(r == WIRE_FRAME && flen == n, "%s: accepted", name)) {
		unit_diag("got %s, reason \"%s\", frame length %zu of %zu",
		    rname(r), why != NULL ? why : "(none)", flen, n);
		return 0;
	}
	return 1;
}

static int
accept_s(const char *name, const char *s, struct frame *f)
{
	return accepts(name, s, strlen(s), f);
}

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

/*
 * A valid frame whose header, blank line included, is exactly total
 * bytes (total >= 24): filler lines "kNNN=vvv...\n" of at most 1006
 * bytes, then "len=0" and the blank line.
 */
static size_t
make_header(char *out, size_t total)
{
	static const char first[] = "CL1 fill 1\n", tail[] = "len=0\n\n";
	size_t	 off, left, v;
	int	 k = 0;

	off = strlen(first);
	memcpy(out, first, off);
	left = total - off - strlen(tail);
	while (left > 0) {
		if (left <= 1006)
			v = left - 6;
		else if (left < 1012)
			v = left - 12;
		else
			v = 1000;
		(void)snprintf(out + off, 6, "k%03u=",
		    (unsigned)k++ % 1000);
		off += 5;
		memset(out + off, 'v', v);
		off += v;
		out[off++] = '\n';
		left -= v + 6;
	}
	memcpy(out + off, tail, strlen(tail));
	off += strlen(tail);
	return off;
}

/* A frame with nkeys keys "kNNN=1". */
static size_t
make_keys(char *out, int nkeys)
{
	size_t	 off;
	int	 i;

	off = (size_t)snprintf(out, 32, "CL1 keys 1\n");
	for (i = 0; i < nkeys; i++)
		off += (size_t)snprintf(out + off, 32, "k%03d=1\n", i);
	off += (size_t)snprintf(out + off, 32, "len=0\n\n");
	return off;
}

static void
test_version(void)
{
	struct wire_parser p;
	enum wire_result r;
	size_t		 i, n, len;
	const char	*why;
	static const char *garbage[] = {
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",	/* TLS */
		"SSH-2.0-OpenSSH_9.2\r\n",
		"\r\n\r\n",
		"cl1 ping 1\nlen=0\n\n",
		"CL1\tping 1\nlen=0\n\n"
	};

	refuse_s("empty first line", "\nlen=0\n\n", "no protocol version");
	refuse_s("HTTP request", "GET / HTTP/1.1\r\n\r\n",
	    "no protocol version");
	refuse_s("lowercase version", "cl1 ping 1\nlen=0\n\n",
	    "no protocol version");
	refuse_s("version without a space", "CL1ping 1\nlen=0\n\n",
	    "no protocol version");
	refuse_s("version only", "CL1\nlen=0\n\n", "no protocol version");
	refuse_s("CL2", "CL2 ping 1\nlen=0\n\n",
	    "unsupported protocol version");
	refuse_s("CL0", "CL0 ping 1\nlen=0\n\n",
	    "unsupported protocol version");
	refuse_s("CL9 prefix only", "CL9", "unsupported protocol version");

	r = parse("", 0, LIMIT, &f1, &why, NULL);
	CHECK(r == WIRE_MORE, "no bytes yet: WIRE_MORE");
	r = parse("CL", 2, LIMIT, &f1, &why, NULL);
	CHECK(r == WIRE_MORE, "\"CL\" so far: WIRE_MORE");
	r = parse("CL1 ", 4, LIMIT, &f1, &why, NULL);
	CHECK(r == WIRE_MORE, "\"CL1 \" so far: WIRE_MORE");

	/* Garbage is refused within its first 4 bytes, fed one by one. */
	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		len = strlen(garbage[i]);
		wire_parser_init(&p, LIMIT);
		r = WIRE_MORE;
		for (n = 1; n <= len && r == WIRE_MORE; n++)
			r = wire_parse(&p, (const uint8_t *)garbage[i], n, &f1);
		if (!CHECKF(r == WIRE_ERROR && n - 1 <= 4,
		    "garbage %zu refused within its first 4 bytes", i))
			unit_diag("got %s after %zu bytes", rname(r), n - 1);
	}

	/* Once refused, a parser stays refused. */
	wire_parser_init(&p, LIMIT);
	(void)wire_parse(&p, (const uint8_t *)"XYZ", 3, &f1);
	r = wire_parse(&p, (const uint8_t *)"CL1 ping 1\nlen=0\n\n", 18, &f1);
	CHECK(r == WIRE_ERROR, "a refused parser stays refused until reset");
	wire_parser_reset(&p);
	r = wire_parse(&p, (const uint8_t *)"CL1 ping 1\nlen=0\n\n", 18, &f1);
	CHECK(r == WIRE_FRAME, "a reset parser parses again");
}

static void
test_op(void)
{
	char	 s[128];

	accept_s("plain op", "CL1 ping 1\nlen=0\n\n", &f1);
	CHECK_STR(f1.op, "ping", "op is taken");
	accept_s("op of every allowed character",
	    "CL1 az09_.- 1\nlen=0\n\n", &f1);
	refuse_s("uppercase op", "CL1 PING 1\nlen=0\n\n", "bad op");
	refuse_s("mixed-case op", "CL1 Ping 1\nlen=0\n\n", "bad op");
	refuse_s("empty op", "CL1  1\nlen=0\n\n", "bad op");
	refuse_s("op with '/'", "CL1 a/b 1\nlen=0\n\n", "bad op");
	refuse_s("op with '='", "CL1 a=b 1\nlen=0\n\n", "bad op");
	refuse_s("op with a UTF-8 letter", "CL1 caf\xc3\xa9 1\nlen=0\n\n",
	    "bad op");
	(void)snprintf(s, sizeof(s), "CL1 %.*s 1\nlen=0\n\n", WIRE_KEY_MAX,
	    "abcdefghijklmnopqrstuvwxyz0123456789");
	accept_s("op of 32 bytes", s, &f1);
	CHECK(strlen(f1.op) == WIRE_KEY_MAX, "op of 32 bytes kept whole");
	(void)snprintf(s, sizeof(s), "CL1 %.*s 1\nlen=0\n\n",
	    WIRE_KEY_MAX + 1, "abcdefghijklmnopqrstuvwxyz0123456789");
	refuse_s("op of 33 bytes", s, "bad op");
	refuse_s("op with a tab", "CL1 pi\tng 1\nlen=0\n\n",
	    "control character in header");
	refuse_s("op with ESC", "CL1 pi\x1bng 1\nlen=0\n\n",
	    "control character in header");
}

static void
test_txid(void)
{
	accept_s("txid 0", "CL1 ping 0\nlen=0\n\n", &f1);
	CHECK(f1.txid == 0, "txid 0 taken");
	accept_s("txid UINT64_MAX",
	    "CL1 ping 18446744073709551615\nlen=0\n\n", &f1);
	CHECK(f1.txid == UINT64_MAX, "txid UINT64_MAX taken");
	refuse_s("txid UINT64_MAX + 1",
	    "CL1 ping 18446744073709551616\nlen=0\n\n", "txid too large");
	refuse_s("txid of 20 nines",
	    "CL1 ping 99999999999999999999\nlen=0\n\n", "txid too large");
	refuse_s("txid of 30 digits",
	    "CL1 ping 123456789012345678901234567890\nlen=0\n\n",
	    "txid too large");
	refuse_s("no txid", "CL1 ping\nlen=0\n\n", "first line lacks a txid");
	refuse_s("empty txid", "CL1 ping \nlen=0\n\n", "txid not a number");
	refuse_s("txid letters", "CL1 ping abc\nlen=0\n\n",
	    "txid not a number");
	refuse_s("txid hex", "CL1 ping 0x10\nlen=0\n\n", "txid not a number");
	refuse_s("negative txid", "CL1 ping -1\nlen=0\n\n",
	    "txid not a number");
	refuse_s("txid with '+'", "CL1 ping +1\nlen=0\n\n",
	    "txid not a number");
	refuse_s("txid then a word", "CL1 ping 1 2\nlen=0\n\n",
	    "txid not a number");
	refuse_s("txid then a space", "CL1 ping 1 \nlen=0\n\n",
	    "txid not a number");
}

static void
test_keys(void)
{
	char	 s[4096];
	size_t	 n;

	accept_s("keys and values",
	    "CL1 send 5\nfrom=1.clmemberd\nto=*.x\nrcpt=1\nlen=0\n\n", &f1);
	CHECK(f1.nkv == 3 && strcmp(f1.kv[0].key, "from") == 0 &&
	    strcmp(f1.kv[0].val, "1.clmemberd") == 0 &&
	    strcmp(f1.kv[2].key, "rcpt") == 0, "keys kept in order");
	CHECK_STR(frame_get(&f1, "to"), "*.x", "frame_get finds a key");
	CHECK(frame_get(&f1, "len") == NULL, "len is not among the keys");
	accept_s("value with '=' and spaces", "CL1 x 1\nk=a=b c\nlen=0\n\n",
	    &f1);
	CHECK_STR(frame_get(&f1, "k"), "a=b c", "value keeps '=' and spaces");
	accept_s("empty value", "CL1 x 1\nk=\nlen=0\n\n", &f1);
	CHECK_STR(frame_get(&f1, "k"), "", "empty value kept");
	accept_s("UTF-8 value", "CL1 x 1\nk=caf\xc3\xa9\nlen=0\n\n", &f1);
	accept_s("unknown keys are kept (forward compatibility)",
	    "CL1 x 1\nzz.future-key_9=1\nlen=0\n\n", &f1);
	accept_s("len before other keys", "CL1 x 1\nlen=0\na=1\n\n", &f1);
	CHECK(f1.nkv == 1 && f1.len == 0, "len anywhere is f->len");

	refuse_s("uppercase key", "CL1 x 1\nKey=1\nlen=0\n\n",
	    "bad key character");
	refuse_s("key with a space", "CL1 x 1\nk y=1\nlen=0\n\n",
	    "bad key character");
	refuse_s("key with '/'", "CL1 x 1\nk/y=1\nlen=0\n\n",
	    "bad key character");
	refuse_s("key with a UTF-8 letter", "CL1 x 1\nk\xc3\xa9=1\nlen=0\n\n",
	    "bad key character");
	refuse_s("key with a tab", "CL1 x 1\nk\t=1\nlen=0\n\n",
	    "control character in header");
	refuse_s("empty key", "CL1 x 1\n=v\nlen=0\n\n", "empty key");
	refuse_s("line without '='", "CL1 x 1\njunk\nlen=0\n\n",
	    "header line without '='");
	refuse_s("line of spaces", "CL1 x 1\n   \nlen=0\n\n",
	    "header line without '='");
	refuse_s("duplicate key", "CL1 x 1\na=1\nb=2\na=3\nlen=0\n\n",
	    "duplicate key");
	refuse_s("duplicate key, same value", "CL1 x 1\na=1\na=1\nlen=0\n\n",
	    "duplicate key");

	n = (size_t)snprintf(s, sizeof(s), "CL1 x 1\n%.*s=1\nlen=0\n\n",
	    WIRE_KEY_MAX, "abcdefghijklmnopqrstuvwxyz0123456789");
	accepts("key of 32 bytes", s, n, &f1);
	n = (size_t)snprintf(s, sizeof(s), "CL1 x 1\n%.*s=1\nlen=0\n\n",
	    WIRE_KEY_MAX + 1, "abcdefghijklmnopqrstuvwxyz0123456789");
	refuse("key of 33 bytes", s, n, "key too long");

	n = (size_t)snprintf(s, sizeof(s), "CL1 x 1\nk=");
	memset(s + n, 'v', WIRE_VAL_MAX);
	n += WIRE_VAL_MAX;
	n += (size_t)snprintf(s + n, sizeof(s) - n, "\nlen=0\n\n");
	if (accepts("value of 1024 bytes", s, n, &f1))
		CHECK(strlen(frame_get(&f1, "k")) == WIRE_VAL_MAX,
		    "value of 1024 bytes kept whole");
	n = (size_t)snprintf(s, sizeof(s), "CL1 x 1\nk=");
	memset(s + n, 'v', WIRE_VAL_MAX + 1);
	n += WIRE_VAL_MAX + 1;
	n += (size_t)snprintf(s + n, sizeof(s) - n, "\nlen=0\n\n");
	refuse("value of 1025 bytes", s, n, "value too long");
	/* A 32-byte key and a 1024-byte value: the longest line. */
	n = (size_t)snprintf(s, sizeof(s), "CL1 x 1\n%.*s=", WIRE_KEY_MAX,
	    "abcdefghijklmnopqrstuvwxyz0123456789");
	memset(s + n, 'v', WIRE_VAL_MAX);
	n += WIRE_VAL_MAX;
	n += (size_t)snprintf(s + n, sizeof(s) - n, "\nlen=0\n\n");
	accepts("longest line: 32-byte key, 1024-byte value", s, n, &f1);

	n = make_keys(text, 127);
	if (accepts("127 keys", text, n, &f1))
		CHECK(f1.nkv == 127, "127 keys all kept");
	n = make_keys(text, WIRE_KEYS_MAX);
	if (accepts("128 keys (WIRE_KEYS_MAX) plus len", text, n, &f1))
		CHECK(f1.nkv == WIRE_KEYS_MAX, "128 keys all kept");
	n = make_keys(text, WIRE_KEYS_MAX + 1);
	refuse("129 keys", text, n, "too many keys");
	n = make_keys(text, 1000);
	refuse("1000 keys", text, n, "too many keys");
}

static void
test_len(void)
{
	enum wire_result r;
	const char	*why;

	refuse_s("missing len", "CL1 x 1\na=1\n\n", "missing len");
	refuse_s("missing len, no keys", "CL1 x 1\n\n", "missing len");
	refuse_s("duplicate len", "CL1 x 1\nlen=0\nlen=0\n\n",
	    "duplicate len");
	refuse_s("two different lens", "CL1 x 1\nlen=1\nlen=2\n\nab",
	    "duplicate len");
	refuse_s("len letters", "CL1 x 1\nlen=abc\n\n", "len not a number");
	refuse_s("len empty", "CL1 x 1\nlen=\n\n", "len not a number");
	refuse_s("len hex", "CL1 x 1\nlen=0x10\n\n", "len not a number");
	refuse_s("len with a space", "CL1 x 1\nlen= 1\n\n",
	    "len not a number");
	refuse_s("len with a trailing space", "CL1 x 1\nlen=1 \n\n",
	    "len not a number");
	refuse_s("len with '+'", "CL1 x 1\nlen=+1\n\n", "len not a number");
	refuse_s("len 1.5", "CL1 x 1\nlen=1.5\n\n", "len not a number");
	refuse_s("negative len", "CL1 x 1\nlen=-1\n\n", "negative len");
	refuse_s("len over 16 MiB", "CL1 x 1\nlen=16777217\n\n",
	    "len exceeds the payload limit");
	refuse_s("len over UINT64_MAX",
	    "CL1 x 1\nlen=99999999999999999999999\n\n",
	    "len exceeds the payload limit");
	r = parse("CL1 x 1\nlen=16777216\n\n", 22, LIMIT, &f1, &why, NULL);
	CHECK(r == WIRE_MORE, "len of exactly 16 MiB waits for the payload");

	/* A parser with a small limit: at the limit ok, one over bad. */
	r = parse("CL1 x 1\nlen=10\n\n0123456789", 26, 10, &f1, &why, NULL);
	CHECK(r == WIRE_FRAME && f1.len == 10,
	    "len at a parser's own limit accepted");
	r = parse("CL1 x 1\nlen=11\n\n0123456789a", 27, 10, &f1, &why, NULL);
	CHECK(r == WIRE_ERROR && why != NULL &&
	    strcmp(why, "len exceeds the payload limit") == 0,
	    "len one over a parser's own limit refused");
	/* The limit is seen on the len line, before any payload. */
	r = parse("CL1 x 1\nlen=11\n", 15, 10, &f1, &why, NULL);
	CHECK(r == WIRE_ERROR, "len over the limit refused before the "
	    "blank line");
}

static void
test_bytes(void)
{
	static const char nulpay[] = "CL1 x 1\nlen=3\n\na\0b";
	enum wire_result r;
	const char	*why;

	refuse("NUL in the op", "CL1 pi\0ng 1\nlen=0\n\n", 19,
	    "NUL byte in header");
	refuse("NUL in the txid", "CL1 ping 1\0\nlen=0\n\n", 19,
	    "NUL byte in header");
	refuse("NUL in a value", "CL1 x 1\nk=a\0b\nlen=0\n\n", 21,
	    "NUL byte in header");
	refuse("NUL in a key", "CL1 x 1\nk\0=b\nlen=0\n\n", 20,
	    "NUL byte in header");
	refuse("NUL line", "CL1 x 1\n\0\nlen=0\n\n", 17, "NUL byte in header");
	if (accepts("NUL bytes in the payload", nulpay, sizeof(nulpay) - 1,
	    &f1))
		CHECK(f1.len == 3 && memcmp(f1.payload, "a\0b", 3) == 0,
		    "payload with NUL kept whole");

	refuse_s("CRLF line endings", "CL1 ping 1\r\nlen=0\r\n\r\n",
	    "CR in header (lines end in LF only)");
	refuse_s("CRLF on a key line", "CL1 ping 1\nk=v\r\nlen=0\n\n",
	    "CR in header (lines end in LF only)");
	refuse_s("CR inside a value", "CL1 ping 1\nk=a\rb\nlen=0\n\n",
	    "CR in header (lines end in LF only)");
	refuse_s("CRLF blank line", "CL1 ping 1\nlen=0\n\r\n",
	    "CR in header (lines end in LF only)");
	/*
	 * A whole frame with CR-only line endings holds no LF at all; a CR
	 * can never be in a valid header, so the parser must refuse it
	 * rather than wait for more bytes that a CR peer will never send.
	 */
	r = parse("CL1 ping 1\rlen=0\r\r", 17, LIMIT, &f1, &why, NULL);
	if (!CHECK(r == WIRE_ERROR && why != NULL && strstr(why, "CR") != NULL,
	    "CR-only line endings, whole frame: refused, not waited on"))
		unit_diag("got %s, reason \"%s\"", rname(r),
		    why != NULL ? why : "(none)");

	refuse_s("control character in a value", "CL1 x 1\nk=a\x01z\nlen=0\n\n",
	    "control character in header");
	refuse_s("tab in a value", "CL1 x 1\nk=a\tb\nlen=0\n\n",
	    "control character in header");
	refuse_s("DEL in a value", "CL1 x 1\nk=a\x7f\nlen=0\n\n",
	    "control character in header");
	refuse_s("ESC in a value", "CL1 x 1\nk=\x1b[2J\nlen=0\n\n",
	    "control character in header");
	refuse_s("form feed line", "CL1 x 1\n\f\nlen=0\n\n",
	    "control character in header");
	refuse_s("vertical tab in the first line", "CL1 x\v 1\nlen=0\n\n",
	    "control character in header");
}

static void
test_header_limit(void)
{
	struct wire_parser p;
	enum wire_result r;
	const char	*why;
	size_t		 n, i;

	n = make_header(text, WIRE_HDR_MAX);
	CHECK(n == WIRE_HDR_MAX && text[n - 1] == '\n' && text[n - 2] == '\n',
	    "test header built at 8192 bytes");
	if (accepts("header of exactly 8192 bytes", text, n, &f1))
		CHECK(f1.hdrlen == WIRE_HDR_MAX, "header of 8192: hdrlen 8192");

	/* The same, one byte at a time. */
	wire_parser_init(&p, LIMIT);
	r = WIRE_MORE;
	for (i = 0; i <= n && r == WIRE_MORE; i++)
		r = wire_parse(&p, (const uint8_t *)text, i, &f2);
	CHECK(r == WIRE_FRAME && i - 1 == n,
	    "header of 8192 bytes fed byte by byte: a frame at its last byte");

	n = make_header(text, WIRE_HDR_MAX + 1);
	CHECK(n == WIRE_HDR_MAX + 1, "test header built at 8193 bytes");
	refuse("header of 8193 bytes", text, n, "header over 8192 bytes");
	wire_parser_init(&p, LIMIT);
	r = WIRE_MORE;
	for (i = 0; i <= n && r == WIRE_MORE; i++)
		r = wire_parse(&p, (const uint8_t *)text, i, &f2);
	CHECK(r == WIRE_ERROR && i - 1 <= WIRE_HDR_MAX + 1 &&
	    p.reason != NULL &&
	    strcmp(p.reason, "header over 8192 bytes") == 0,
	    "header of 8193 bytes fed byte by byte: refused");

	/* Without a blank line the header ends at 8192 bytes anyway. */
	n = make_header(text, WIRE_HDR_MAX + 1000);
	r = parse(text, WIRE_HDR_MAX, LIMIT, &f1, &why, NULL);
	CHECK(r == WIRE_ERROR && why != NULL &&
	    strcmp(why, "header over 8192 bytes") == 0,
	    "8192 header bytes without a blank line: refused");

	/* A line with no newline is refused once it cannot be valid. */
	memcpy(text, "CL1 x 1\nk=", 10);
	memset(text + 10, 'v', 3000);
	r = parse(text, 3010, LIMIT, &f1, &why, NULL);
	CHECK(r == WIRE_ERROR && why != NULL &&
	    strcmp(why, "header line too long") == 0,
	    "over-long line refused before its newline arrives");
	memcpy(text, "CL1 x ", 6);
	memset(text + 6, '1', 3000);
	r = parse(text, 3006, LIMIT, &f1, &why, NULL);
	CHECK(r == WIRE_ERROR, "over-long first line refused before its "
	    "newline arrives");
}

static void
test_payload(void)
{
	static const char s[] = "CL1 put 1\nlen=5\n\nhello";
	struct wire_parser p;
	enum wire_result r;
	size_t		 n, hdr = sizeof(s) - 1 - 5, more = 0, flen = 0;

	wire_parser_init(&p, LIMIT);
	for (n = 0; n < sizeof(s) - 1; n++)
		if (wire_parse(&p, (const uint8_t *)s, n, &f1) == WIRE_MORE)
			more++;
	CHECK(more == sizeof(s) - 1, "truncated payload: WIRE_MORE for "
	    "every prefix");
	r = wire_parse(&p, (const uint8_t *)s, sizeof(s) - 1, &f1);
	CHECK(r == WIRE_FRAME && f1.len == 5 &&
	    memcmp(f1.payload, "hello", 5) == 0,
	    "truncated payload: a frame once the last byte arrives");
	CHECK(f1.hdrlen == hdr && wire_framelen(&p) == sizeof(s) - 1,
	    "hdrlen and wire_framelen");
	CHECK(f1.payload == (const uint8_t *)s + hdr && f1.raw ==
	    (const uint8_t *)s, "payload and raw point into the buffer");

	/* Bytes after the frame are not part of it. */
	r = parse("CL1 put 1\nlen=2\n\nabcdef", 23, LIMIT, &f1, NULL, &flen);
	CHECK(r == WIRE_FRAME && f1.len == 2 && flen == 19,
	    "bytes after the payload are left for the next frame");

	/* A payload may hold anything, newlines and CL1 lines too. */
	accept_s("payload that looks like a frame",
	    "CL1 put 1\nlen=18\n\nCL1 evil 2\nlen=0\n\n", &f1);
}

/* One valid frame, whole, byte by byte and in chunks: the same frame. */
static void
test_incremental(void)
{
	static const char s[] =
	    "CL1 put 42\nfrom=1.clmemberd\nto=*.clsessiond\nrcpt=1\n"
	    "status=0\nlen=11\n\nhello\nworld";
	struct wire_parser p;
	enum wire_result r;
	size_t		 len = sizeof(s) - 1, n, chunk, bad;

	if (!accepts("incremental: the frame whole", s, len, &f1))
		return;
	CHECK(f1.txid == 42 && f1.nkv == 4 && f1.len == 11,
	    "incremental: whole frame fields");

	wire_parser_init(&p, LIMIT);
	bad = 0;
	for (n = 0; n < len; n++)
		if (wire_parse(&p, (const uint8_t *)s, n, &f2) != WIRE_MORE)
			bad++;
	r = wire_parse(&p, (const uint8_t *)s, len, &f2);
	CHECK(bad == 0 && r == WIRE_FRAME,
	    "byte by byte: WIRE_MORE until the last byte, then a frame");
	CHECK(same_frame(&f1, &f2) && wire_framelen(&p) == len,
	    "byte by byte: the same frame as parsed whole");

	bad = 0;
	for (chunk = 2; chunk <= 17; chunk++) {
		wire_parser_init(&p, LIMIT);
		r = WIRE_MORE;
		for (n = chunk; r == WIRE_MORE; n += chunk)
			r = wire_parse(&p, (const uint8_t *)s,
			    n < len ? n : len, &f2);
		if (r != WIRE_FRAME || !same_frame(&f1, &f2))
			bad++;
	}
	CHECK(bad == 0, "chunks of 2 to 17 bytes: the same frame");
}

static void
test_roundtrip(void)
{
	static uint8_t	 pay[3000];
	struct buf	 b;
	char		 v[WIRE_VAL_MAX + 2];
	size_t		 i, before;
	enum wire_result r;
	int		 rc;

	for (i = 0; i < sizeof(pay); i++)
		pay[i] = (uint8_t)(i * 7 + 3);
	memset(v, 'x', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';

	buf_init(&b, 1024 * 1024);
	frame_init(&f1, "event.sync-1", 12345678901234567890ULL);
	frame_add(&f1, "from", "%u.%s", 3, "clmetad");
	frame_add(&f1, "to", "*.clsessiond");
	frame_add(&f1, "note", "a=b c d, caf\xc3\xa9");
	frame_add(&f1, "empty", "%s", "");
	frame_add(&f1, "big", "%.*s", WIRE_VAL_MAX, v);
	frame_payload(&f1, pay, sizeof(pay));
	CHECK(f1.err == 0 && f1.nkv == 5, "frame built without error");
	rc = wire_encode(&b, &f1);
	CHECK(rc == 0, "wire_encode succeeds");
	r = parse(buf_ptr(&b), buf_avail(&b), LIMIT, &f2, NULL, NULL);
	CHECK(r == WIRE_FRAME, "encoded frame parses");
	CHECK(same_frame(&f1, &f2),
	    "round trip: same op, txid, keys, values and payload");
	CHECK(frame_get(&f2, "len") == NULL && f2.nkv == 5 &&
	    f2.len == sizeof(pay), "round trip: len is f->len, not a key");

	/* frame_add refuses what the wire cannot carry. */
	frame_init(&f1, "x", 1);
	CHECK(frame_add(&f1, "k", "%.*s", WIRE_VAL_MAX + 1, v) == -1 &&
	    f1.err, "frame_add refuses a 1025-byte value");
	before = buf_avail(&b);
	CHECK(wire_encode(&b, &f1) == -1 && buf_avail(&b) == before,
	    "wire_encode refuses a frame with an over-long value, "
	    "writes nothing");
	frame_init(&f1, "x", 1);
	CHECK(frame_add(&f1, "Bad", "1") == -1 && f1.err,
	    "frame_add refuses an uppercase key");
	CHECK(wire_encode(&b, &f1) == -1 && buf_avail(&b) == before,
	    "wire_encode refuses a frame with a bad key");
	frame_init(&f1, "x", 1);
	CHECK(frame_add(&f1, "", "1") == -1 && f1.err,
	    "frame_add refuses an empty key");
	frame_init(&f1, "x", 1);
	CHECK(frame_add(&f1, "abcdefghijklmnopqrstuvwxyz0123456", "1") ==
	    -1 && f1.err, "frame_add refuses a 33-byte key");
	frame_init(&f1, "x", 1);
	CHECK(frame_add(&f1, "k", "a\nb") == -1 && f1.err,
	    "frame_add refuses a newline in a value");
	frame_init(&f1, "x", 1);
	CHECK(frame_add(&f1, "k", "a\rb") == -1 && f1.err,
	    "frame_add refuses a CR in a value");
	frame_init(&f1, "x", 1);
	CHECK(frame_add(&f1, "k", "a%cb", 1) == -1 && f1.err,
	    "frame_add refuses a control character in a value");
	frame_init(&f1, "Bad", 1);
	CHECK(f1.err && wire_encode(&b, &f1) == -1,
	    "frame_init marks a bad op, wire_encode refuses it");
	frame_init(&f1, "abcdefghijklmnopqrstuvwxyz0123456", 1);
	CHECK(f1.err && wire_encode(&b, &f1) == -1,
	    "frame_init marks a 33-byte op");
	frame_init(&f1, "x", 1);
	for (i = 0; i < WIRE_KEYS_MAX; i++)
		frame_add(&f1, key(i), "%zu", i);
	CHECK(f1.err == 0 && f1.nkv == WIRE_KEYS_MAX,
	    "frame_add takes 128 keys");
	CHECK(frame_add(&f1, key(999), "1") == -1 && f1.err,
	    "frame_add refuses a 129th key");

	/* A header near the limit: encode refuses it or it parses. */
	frame_init(&f1, "x", 1);
	for (i = 0; i < 7; i++)
		frame_add(&f1, key(i), "%.*s", WIRE_VAL_MAX, v);
	frame_add(&f1, "l", "%.*s", 900, v);
	CHECK(f1.err == 0, "a header of 8107 bytes builds");
	buf_truncate(&b, 0);
	CHECK(wire_encode(&b, &f1) == -1 && buf_avail(&b) == 0,
	    "wire_encode refuses a header without room for len, seq, mac");
	frame_init(&f1, "x", 1);
	for (i = 0; i < 7; i++)
		frame_add(&f1, key(i), "%.*s", WIRE_VAL_MAX, v);
	frame_add(&f1, "l", "%.*s", 850, v);
	frame_payload(&f1, "p", 1);
	CHECK(wire_encode(&b, &f1) == 0, "wire_encode takes an 8064-byte "
	    "header, len line included");
	r = parse(buf_ptr(&b), buf_avail(&b), LIMIT, &f2, NULL, NULL);
	CHECK(r == WIRE_FRAME && same_frame(&f1, &f2),
	    "the largest encodable header parses back");

	/* The most keys frame_add allows parse back. */
	frame_init(&f1, "x", 1);
	for (i = 0; i < WIRE_KEYS_MAX; i++)
		frame_add(&f1, key(i), "%zu", i);
	buf_truncate(&b, 0);
	rc = wire_encode(&b, &f1);
	r = parse(buf_ptr(&b), buf_avail(&b), LIMIT, &f2, NULL, NULL);
	CHECK(rc == 0 && r == WIRE_FRAME && same_frame(&f1, &f2),
	    "a frame of 128 keys encodes and parses back");
	buf_free(&b);
}

static void
test_getters(void)
{
	uint64_t v = 7;

	accept_s("getters frame",
	    "CL1 x 1\nstatus=12\nepoch=18446744073709551615\nbad=1x\n"
	    "neg=-1\nlen=0\n\n", &f1);
	CHECK(frame_getu64(&f1, "status", &v) == 0 && v == 12,
	    "frame_getu64 reads a number");
	CHECK(frame_getu64(&f1, "epoch", &v) == 0 && v == UINT64_MAX,
	    "frame_getu64 reads UINT64_MAX");
	CHECK(frame_getu64(&f1, "bad", &v) == -1, "frame_getu64 refuses 1x");
	CHECK(frame_getu64(&f1, "neg", &v) == -1, "frame_getu64 refuses -1");
	CHECK(frame_getu64(&f1, "none", &v) == -1,
	    "frame_getu64 on a missing key");
	CHECK(wire_parse_u64("255", 3, 255, &v) == 0 && v == 255,
	    "wire_parse_u64 at its max");
	CHECK(wire_parse_u64("256", 3, 255, &v) == -2,
	    "wire_parse_u64 one over its max: -2");
	CHECK(wire_parse_u64("", 0, 255, &v) == -1,
	    "wire_parse_u64 of nothing: -1");
	CHECK(wire_valid_name("a", 1) && !wire_valid_name("", 0) &&
	    !wire_valid_name("A", 1) && !wire_valid_name("a b", 3),
	    "wire_valid_name");
}

/* Two frames in one buffer parse one after another. */
static void
test_back_to_back(void)
{
	struct wire_parser p;
	struct buf	 b;
	enum wire_result r;
	size_t		 n1, total;

	buf_init(&b, 65536);
	frame_init(&f1, "first", 1);
	frame_add(&f1, "a", "1");
	frame_payload(&f1, "one", 3);
	(void)wire_encode(&b, &f1);
	n1 = buf_avail(&b);
	frame_init(&f1, "second", 2);
	frame_add(&f1, "b", "2");
	frame_payload(&f1, "two!", 4);
	(void)wire_encode(&b, &f1);
	total = buf_avail(&b);

	wire_parser_init(&p, LIMIT);
	r = wire_parse(&p, buf_ptr(&b), total, &f2);
	CHECK(r == WIRE_FRAME && strcmp(f2.op, "first") == 0 &&
	    f2.len == 3 && memcmp(f2.payload, "one", 3) == 0,
	    "back to back: the first frame");
	CHECK(wire_framelen(&p) == n1, "back to back: wire_framelen is the "
	    "first frame's length");
	wire_parser_reset(&p);
	r = wire_parse(&p, buf_ptr(&b) + n1, total - n1, &f2);
	CHECK(r == WIRE_FRAME && strcmp(f2.op, "second") == 0 &&
	    f2.txid == 2 && f2.len == 4 &&
	    memcmp(f2.payload, "two!", 4) == 0 &&
	    strcmp(frame_get(&f2, "b"), "2") == 0,
	    "back to back: after a reset, the second frame");
	CHECK(wire_framelen(&p) == total - n1, "back to back: second length");
	buf_free(&b);
}

int
main(void)
{
	test_version();
	test_op();
	test_txid();
	test_keys();
	test_len();
	test_bytes();
	test_header_limit();
	test_payload();
	test_incremental();
	test_roundtrip();
	test_getters();
	test_back_to_back();
	return unit_done();
}
