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
 * Frame parser and serializer.  The parser is incremental: it is handed
 * the bytes of one frame from its first byte on, as many as have arrived,
 * checks each header line once as it completes, and reports a malformed
 * frame as early as the bytes allow, so garbage is refused on its first
 * line rather than after 8 KiB.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "wire.h"

#define VERSION_LEN	(sizeof(WIRE_VERSION) - 1)
/* The longest line that can be valid: key, '=', value, '\n'. */
#define LINE_MAX_LEN	(WIRE_KEY_MAX + 1 + WIRE_VAL_MAX + 1)

void
wire_parser_init(struct wire_parser *p, size_t maxpayload)
{
	/* kline and keq are written before they are read. */
	memset(p, 0, offsetof(struct wire_parser, kline));
	p->maxpayload = maxpayload;
}

void
wire_parser_reset(struct wire_parser *p)
{
	wire_parser_init(p, p->maxpayload);
}

size_t
wire_framelen(const struct wire_parser *p)
{
	return p->hdrlen + p->len;
}

static int
name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '_' || c == '.' || c == '-';
}

int
wire_valid_name(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > WIRE_KEY_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!name_char((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * Strict unsigned decimal: digits only, no sign, no spaces, at most max.
 * Returns 0, or -1 for "not a number" and -2 for "too large".
 */
int
wire_parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t	 i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -2;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -2;
	*out = v;
	return 0;
}

static enum wire_result
bad(struct wire_parser *p, const char *reason)
{
	p->reason = reason;
	return WIRE_ERROR;
}

/* Bytes a header line may never hold; the message names the byte. */
static const char *
bad_byte(const uint8_t *s, size_t n)
{
	size_t	 i;

	/* NUL and CR are control characters too: one test per byte. */
	for (i = 0; i < n; i++) {
		if (s[i] >= 0x20 && s[i] != 0x7f)
			continue;
		if (s[i] == '\0')
			return "NUL byte in header";
		if (s[i] == '\r')
			return "CR in header (lines end in LF only)";
		if (s[i] < 0x20 || s[i] == 0x7f)
			return "control character in header";
	}
	return NULL;
}

/* "CL1 <op> <txid>", without its newline. */
static enum wire_result
check_first(struct wire_parser *p, const uint8_t *s, size_t n)
{
	const uint8_t	*op, *sp;
	uint64_t	 txid;
	const char	*why;

	if (n < VERSION_LEN + 1 || memcmp(s, WIRE_VERSION " ",
	    VERSION_LEN + 1) != 0) {
		if (n >= 3 && s[0] == 'C' && s[1] == 'L' &&
		    s[2] >= '0' && s[2] <= '9')
			return bad(p, "unsupported protocol version");
		return bad(p, "no protocol version");
	}
	if ((why = bad_byte(s, n)) != NULL)
		return bad(p, why);
	op = s + VERSION_LEN + 1;
	sp = memchr(op, ' ', n - (size_t)(op - s));
	if (sp == NULL)
		return bad(p, "first line lacks a txid");
	if (!wire_valid_name((const char *)op, (size_t)(sp - op)))
		return bad(p, "bad op");
	sp++;
	switch (wire_parse_u64((const char *)sp, n - (size_t)(sp - s),
	    UINT64_MAX, &txid)) {
	case -1:
		return bad(p, "txid not a number");
	case -2:
		return bad(p, "txid too large");
	}
	return WIRE_MORE;
}

static enum wire_result
check_len(struct wire_parser *p, const char *v, size_t n)
{
	uint64_t len;

	if (p->havelen)
		return bad(p, "duplicate len");
	if (n > 0 && v[0] == '-')
		return bad(p, "negative len");
	switch (wire_parse_u64(v, n, p->maxpayload, &len)) {
	case -1:
		return bad(p, "len not a number");
	case -2:
		return bad(p, "len exceeds the payload limit");
	}
	p->havelen = 1;
	p->len = (size_t)len;
	return WIRE_MORE;
}

/* "<key>=<value>", without its newline; *eqat: where '=' is. */
static enum wire_result
check_kv(struct wire_parser *p, const uint8_t *s, size_t n, size_t *eqat)
{
	const uint8_t	*eq;
	const char	*why;
	size_t		 klen;

	if ((eq = memchr(s, '=', n)) == NULL) {
		if ((why = bad_byte(s, n)) != NULL)
			return bad(p, why);
		return bad(p, "header line without '='");
	}
	klen = (size_t)(eq - s);
	*eqat = klen;
	if (klen == 0)
		return bad(p, "empty key");
	if (klen > WIRE_KEY_MAX)
		return bad(p, "key too long");
	if ((why = bad_byte(s, n)) != NULL)
		return bad(p, why);
	if (!wire_valid_name((const char *)s, klen))
		return bad(p, "bad key character");
	if (n - klen - 1 > WIRE_VAL_MAX)
		return bad(p, "value too long");
	if (klen == 3 && memcmp(s, "len", 3) == 0)
		return check_len(p, (const char *)eq + 1, n - klen - 1);
	return WIRE_MORE;
}

/* Early refusal of a first line that cannot become valid. */
static enum wire_result
check_prefix(struct wire_parser *p, const uint8_t *buf, size_t n)
{
	size_t	 k;

	k = n < VERSION_LEN + 1 ? n : VERSION_LEN + 1;
	if (memcmp(buf, WIRE_VERSION " ", k) == 0)
		return WIRE_MORE;
	if (k >= 3 && buf[0] == 'C' && buf[1] == 'L' && buf[2] >= '0' &&
	    buf[2] <= '9' && memcmp(buf, WIRE_VERSION, 3) != 0)
		return bad(p, "unsupported protocol version");
	return bad(p, "no protocol version");
}

/*
 * Copy the checked header into f->store and point the keys into it, at
 * the places the check found: no byte of it is searched again.
 */
static enum wire_result
fill(struct wire_parser *p, const uint8_t *buf, struct frame *f)
{
	char	*s, *sp, *eq;
	size_t	 oplen, end;
	int	 i, j, nlines = p->lines - 1;

	/* The keys past nkv are never read: only the fields are reset. */
	f->nkv = 0;
	f->err = 0;
	memcpy(f->store, buf, p->hdrlen);
	f->store[p->hdrlen] = '\0';

	/* "CL1 op txid": its newline is before the first key line's start. */
	s = f->store + VERSION_LEN + 1;
	f->store[p->kline[0] - 1] = '\0';
	sp = memchr(s, ' ', (size_t)(p->kline[0] - 1 - (VERSION_LEN + 1)));
	oplen = (size_t)(sp - s);
	memcpy(f->op, s, oplen);
	f->op[oplen] = '\0';
	(void)wire_parse_u64(sp + 1, (size_t)(f->store + p->kline[0] - 1 -
	    (sp + 1)), UINT64_MAX, &f->txid);

	for (j = 0; j < nlines; j++) {
		s = f->store + p->kline[j];
		eq = f->store + p->keq[j];
		/* The line ends before the next one, or the blank line. */
		end = (j + 1 < nlines ? p->kline[j + 1] : p->hdrlen - 1) - 1;
		f->store[end] = '\0';
		*eq = '\0';
		if (eq - s == 3 && memcmp(s, "len", 3) == 0)	/* f->len */
			continue;
		/* The first byte first: most keys differ there. */
		for (i = 0; i < f->nkv; i++)
			if (f->kv[i].key[0] == s[0] &&
			    strcmp(f->kv[i].key, s) == 0)
				return bad(p, "duplicate key");
		if (f->nkv == WIRE_KEYS_MAX)
			return bad(p, "too many keys");
		f->kv[f->nkv].key = s;
		f->kv[f->nkv].val = eq + 1;
		f->nkv++;
	}
	f->raw = buf;
	f->hdrlen = p->hdrlen;
	f->lastline = p->lastline;
	f->payload = buf + p->hdrlen;
	f->len = p->len;
	f->used = p->hdrlen;
	return WIRE_FRAME;
}

/*
 * Parse one frame from buf[0..n).  Call again with the same buffer grown
 * by newly read bytes while it returns WIRE_MORE; the parser resumes where
 * it stopped.  On WIRE_FRAME the frame occupies wire_framelen(p) bytes and
 * f's payload and raw pointers point into buf.
 */
enum wire_result
wire_parse(struct wire_parser *p, const uint8_t *buf, size_t n,
    struct frame *f)
{
	const uint8_t	*line, *nl;
	const char	*why;
	enum wire_result r;
	size_t		 scan, eqat = 0;

	if (p->reason != NULL)
		return WIRE_ERROR;
	if (p->hdrlen > 0)
		goto payload;
	if (p->off == 0 && n > 0 && check_prefix(p, buf, n) == WIRE_ERROR)
		return WIRE_ERROR;

	while (p->off < n) {
		line = buf + p->off;
		scan = n - p->off;
		if (scan > WIRE_HDR_MAX - p->off)
			scan = WIRE_HDR_MAX - p->off;
		if ((nl = memchr(line, '\n', scan)) == NULL) {
			/* A bad byte never becomes good: refuse it now. */
			if ((why = bad_byte(line, scan)) != NULL)
				return bad(p, why);
			if (p->off + scan >= WIRE_HDR_MAX)
				return bad(p, "header over 8192 bytes");
			if (scan > LINE_MAX_LEN)
				return bad(p, "header line too long");
			return WIRE_MORE;
		}
		if (p->lines == 0)
			r = check_first(p, line, (size_t)(nl - line));
		else if (nl == line) {
			p->off++;
			p->hdrlen = p->off;
			if (!p->havelen)
				return bad(p, "missing len");
			goto payload;
		} else {
			r = check_kv(p, line, (size_t)(nl - line), &eqat);
			p->lastline = p->off;
			/* lines <= WIRE_KEYS_MAX + 1 here; off < 8192. */
			p->kline[p->lines - 1] = (uint16_t)p->off;
			p->keq[p->lines - 1] = (uint16_t)(p->off + eqat);
		}
		if (r == WIRE_ERROR)
			return r;
		p->lines++;
		/* The first line, the keys and the len line. */
		if (p->lines > WIRE_KEYS_MAX + 2)
			return bad(p, "too many keys");
		p->off += (size_t)(nl - line) + 1;
	}
	if (p->off >= WIRE_HDR_MAX)
		return bad(p, "header over 8192 bytes");
	return WIRE_MORE;

payload:
	if (n - p->hdrlen < p->len)
		return WIRE_MORE;
	return fill(p, buf, f);
}

/* Building frames. */

void
frame_init(struct frame *f, const char *op, uint64_t txid)
{
	memset(f, 0, offsetof(struct frame, store));
	if (strlcpy(f->op, op, sizeof(f->op)) >= sizeof(f->op) ||
	    !wire_valid_name(op, strlen(op)))
		f->err = 1;
	f->txid = txid;
}

/* v as decimal digits into the end of buf[0..20): where they start. */
static char *
u64_digits(uint64_t v, char *end)
{
	char	*p = end;

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return p;
}

/*
 * The value of the formats most frames are built with ("%s", "%u",
 * "%d", "%llu", "%lu", "%zu", or text without '%'), formatted as
 * vsnprintf would, without it; NULL for any other format, which goes to
 * vsnprintf.  *n is the value's length; tmp holds digits.
 */
static const char *
fast_value(const char *fmt, va_list ap, char tmp[24], size_t *n)
{
	const char	*s;
	uint64_t	 u;
	long long	 d;
	char		*end = tmp + 23, *q;

	if (fmt[0] != '%') {
		if (strchr(fmt, '%') != NULL)
			return NULL;
		*n = strlen(fmt);
		return fmt;
	}
	if (strcmp(fmt, "%s") == 0) {
		if ((s = va_arg(ap, const char *)) == NULL)
			s = "(null)";
		*n = strlen(s);
		return s;
	}
	if (strcmp(fmt, "%u") == 0)
		u = va_arg(ap, unsigned int);
	else if (strcmp(fmt, "%llu") == 0)
		u = va_arg(ap, unsigned long long);
	else if (strcmp(fmt, "%lu") == 0)
		u = va_arg(ap, unsigned long);
	else if (strcmp(fmt, "%zu") == 0)
		u = va_arg(ap, size_t);
	else if (strcmp(fmt, "%d") == 0) {
		d = va_arg(ap, int);
		q = u64_digits(d < 0 ? (uint64_t)-d : (uint64_t)d, end);
		if (d < 0)
			*--q = '-';
		*n = (size_t)(end - q);
		return q;
	} else
		return NULL;
	s = u64_digits(u, end);
	*n = (size_t)(end - s);
	return s;
}

/*
 * Add key=value.  A value that breaks a limit marks the frame bad, and
 * wire_encode() refuses it, so callers check once, at encode time.
 */
int
frame_add(struct frame *f, const char *key, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 klen, room, fn;
	const char *fv;
	char	*k, *v, tmp[24];
	int	 n;

	klen = strlen(key);
	room = sizeof(f->store) - f->used;
	if (f->nkv == WIRE_KEYS_MAX || !wire_valid_name(key, klen) ||
	    room < klen + 2)
		goto fail;
	k = f->store + f->used;
	memcpy(k, key, klen + 1);
	v = k + klen + 1;
	room -= klen + 1;
	va_start(ap, fmt);
	fv = fast_value(fmt, ap, tmp, &fn);
	va_end(ap);
	if (fv != NULL) {
		if (fn >= room)
			goto fail;
		memcpy(v, fv, fn);
		v[fn] = '\0';
		n = (int)fn;
	} else {
		va_start(ap, fmt);
		n = vsnprintf(v, room, fmt, ap);
		va_end(ap);
	}
	if (n < 0 || (size_t)n >= room || n > WIRE_VAL_MAX ||
	    bad_byte((const uint8_t *)v, (size_t)n) != NULL)
		goto fail;
	f->kv[f->nkv].key = k;
	f->kv[f->nkv].val = v;
	f->nkv++;
	f->used += klen + 1 + (size_t)n + 1;
	return 0;
fail:
	f->err = 1;
	return -1;
}

/*
 * An error frame (DESIGN.md, "Wire format"): CL1 error <txid> with
 * status= and a reason= formatted from fmt.
 */
void
frame_verror(struct frame *f, uint64_t txid, const char *status,
    const char *fmt, va_list ap)
{
	char	 why[WIRE_VAL_MAX / 2];

	(void)vsnprintf(why, sizeof(why), fmt, ap);
	frame_init(f, "error", txid);
	frame_add(f, "status", "%s", status);
	frame_add(f, "reason", "%s", why);
}

/* Remove key from f, if it is there; the others keep their order. */
void
frame_del(struct frame *f, const char *key)
{
	int	 i;

	for (i = 0; i < f->nkv; i++) {
		if (f->kv[i].key[0] != key[0] || strcmp(f->kv[i].key, key) != 0)
			continue;
		memmove(&f->kv[i], &f->kv[i + 1],
		    (size_t)(f->nkv - i - 1) * sizeof(f->kv[0]));
		f->nkv--;
		return;
	}
}

void
frame_payload(struct frame *f, const void *p, size_t n)
{
	f->payload = p;
	f->len = n;
}

const char *
frame_get(const struct frame *f, const char *key)
{
	int	 i;

	for (i = 0; i < f->nkv; i++)
		if (f->kv[i].key[0] == key[0] &&
		    strcmp(f->kv[i].key, key) == 0)
			return f->kv[i].val;
	return NULL;
}

int
frame_getu64(const struct frame *f, const char *key, uint64_t *v)
{
	const char *s;

	if ((s = frame_get(f, key)) == NULL)
		return -1;
	return wire_parse_u64(s, strlen(s), UINT64_MAX, v) == 0 ? 0 : -1;
}

int
wire_encode_kv(struct buf *b, const char *key, const char *val)
{
	size_t	 kl = strlen(key), vl = strlen(val);
	uint8_t	*p;

	/* As buf_printf would: the whole line, or nothing and ENOBUFS. */
	if (buf_reserve(b, kl + vl + 2) == -1)
		return -1;
	p = b->data + b->len;
	memcpy(p, key, kl);
	p[kl] = '=';
	memcpy(p + kl + 1, val, vl);
	p[kl + 1 + vl] = '\n';
	b->len += kl + vl + 2;
	return 0;
}

/* "CL1 <op> <txid>\n" */
static int
encode_first(struct buf *b, const struct frame *f)
{
	char	 line[sizeof(WIRE_VERSION) + WIRE_KEY_MAX + 24], *p;
	char	 digits[24], *d;
	size_t	 ol = strlen(f->op);

	if (ol > WIRE_KEY_MAX)		/* frame_init marked it, anyway */
		return -1;
	d = u64_digits(f->txid, digits + sizeof(digits));
	p = line;
	memcpy(p, WIRE_VERSION " ", VERSION_LEN + 1);
	p += VERSION_LEN + 1;
	memcpy(p, f->op, ol);
	p += ol;
	*p++ = ' ';
	memcpy(p, d, (size_t)(digits + sizeof(digits) - d));
	p += digits + sizeof(digits) - d;
	*p++ = '\n';
	return buf_append(b, line, (size_t)(p - line));
}

/* The first line and the keys, without len, blank line or payload. */
int
wire_encode_head(struct buf *b, const struct frame *f)
{
	size_t	 start;
	int	 i;

	if (f->err)
		return -1;
	start = buf_avail(b);
	if (encode_first(b, f) == -1)
		return -1;
	for (i = 0; i < f->nkv; i++)
		if (wire_encode_kv(b, f->kv[i].key, f->kv[i].val) == -1)
			goto fail;
	/* Leave room for the len, seq and mac lines and the blank line. */
	if (buf_avail(b) - start > WIRE_HDR_MAX - WIRE_TAIL_MAX)
		goto fail;
	return 0;
fail:
	buf_truncate(b, start);
	return -1;
}

int
wire_encode(struct buf *b, const struct frame *f)
{
	size_t	 start;
	char	 line[32], *d;
	size_t	 dl;

	start = buf_avail(b);
	if (wire_encode_head(b, f) == -1)
		return -1;
	d = u64_digits(f->len, line + sizeof(line) - 2);
	dl = (size_t)(line + sizeof(line) - 2 - d);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\n';
	if (buf_append(b, "len=", 4) == -1 ||
	    buf_append(b, d, dl + 2) == -1 ||
	    buf_append(b, f->payload, f->len) == -1) {
		buf_truncate(b, start);
		return -1;
	}
	return 0;
}
