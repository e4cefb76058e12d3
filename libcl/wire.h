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

#ifndef CL_WIRE_H
#define CL_WIRE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * The cl frame (DESIGN.md, "Wire format"; man page cl-wire.5):
 *
 *	CL1 <op> <txid>\n
 *	<key>=<value>\n ...
 *	len=<n>\n
 *	\n
 *	<n bytes of payload>
 */
#define WIRE_VERSION		"CL1"
#define WIRE_HDR_MAX		8192		/* bytes, first line to blank line */
#define WIRE_KEY_MAX		32		/* bytes, also the op */
#define WIRE_VAL_MAX		1024		/* bytes */
#define WIRE_KEYS_MAX		128		/* keys per frame */
#define WIRE_TXID_DIGITS	20		/* UINT64_MAX has 20 */
#define WIRE_TAIL_MAX		128		/* bytes: len, seq, mac lines */
#define WIRE_PAYLOAD_MAX	(16 * 1024 * 1024)	/* bytes, default */

enum wire_result {
	WIRE_MORE,		/* need more bytes */
	WIRE_FRAME,		/* a whole frame is parsed */
	WIRE_ERROR		/* malformed: p->reason says why */
};

struct wire_kv {
	const char	*key;
	const char	*val;
};

struct frame {
	char		 op[WIRE_KEY_MAX + 1];
	uint64_t	 txid;
	int		 nkv;
	int		 err;		/* building overflowed a limit */
	struct wire_kv	 kv[WIRE_KEYS_MAX];
	const uint8_t	*payload;
	size_t		 len;
	/* Parsed frames only: the raw bytes, for MAC checks. */
	const uint8_t	*raw;
	size_t		 hdrlen;	/* raw header, blank line included */
	size_t		 lastline;	/* offset of the last key line */
	size_t		 used;
	char		 store[WIRE_HDR_MAX + 1];
};

struct wire_parser {
	size_t		 maxpayload;
	size_t		 off;		/* header bytes already checked */
	size_t		 lastline;
	size_t		 hdrlen;	/* 0 until the blank line is seen */
	size_t		 len;
	int		 lines;
	int		 havelen;
	const char	*reason;
	/* Where each checked key line starts and has its '=': for fill. */
	uint16_t	 kline[WIRE_KEYS_MAX + 2];
	uint16_t	 keq[WIRE_KEYS_MAX + 2];
};

void		 wire_parser_init(struct wire_parser *, size_t);
void		 wire_parser_reset(struct wire_parser *);
enum wire_result wire_parse(struct wire_parser *, const uint8_t *, size_t,
		    struct frame *);
size_t		 wire_framelen(const struct wire_parser *);

void		 frame_init(struct frame *, const char *, uint64_t);
int		 frame_add(struct frame *, const char *, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));
void		 frame_del(struct frame *, const char *);
void		 frame_verror(struct frame *, uint64_t, const char *,
		    const char *, va_list)
		    __attribute__((__format__ (printf, 4, 0)));
void		 frame_payload(struct frame *, const void *, size_t);
const char	*frame_get(const struct frame *, const char *);
int		 frame_getu64(const struct frame *, const char *, uint64_t *);

int		 wire_encode(struct buf *, const struct frame *);
int		 wire_encode_head(struct buf *, const struct frame *);
int		 wire_encode_kv(struct buf *, const char *, const char *);

int		 wire_valid_name(const char *, size_t);
int		 wire_parse_u64(const char *, size_t, uint64_t, uint64_t *);

#endif /* CL_WIRE_H */
