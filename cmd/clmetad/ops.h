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

#ifndef OPS_H
#define OPS_H

/* Shared by the request handlers: ops.c (POSIX), dmops.c (DMAPI). */

/* What a request resolved to: a parent directory and a name in it. */
struct walk {
	uint32_t	 parent;
	uint32_t	 ino;		/* 0: no such entry */
	struct dent	*d;
	const char	*name;
	size_t		 len;
};

struct req {
	const struct frame *f;
	struct cred	 c;
	uint32_t	 node;		/* the asking node */
	struct frame	*out;
	uint8_t		*payload;
	size_t		 plen;
	char		 why[256];
};

#define R_OK_	4
#define W_OK_	2
#define X_OK_	1

/* ops.c */
int		 fail(struct req *, int, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));
int		 may(const struct minode *, const struct cred *, unsigned);
int		 resolve(struct req *, const char *, struct walk *);
int		 exists(struct req *, const struct walk *);
int		 answer_attr(struct req *, uint32_t);
uint32_t	 est(uint32_t, uint32_t);
int		 room(struct req *, uint32_t);
int		 by_ino(struct req *, uint32_t *);

/* dmops.c */
int		 op_region(struct req *);
int		 op_punch(struct req *);
int		 op_right(struct req *);
int		 right_check(struct req *, uint32_t, int);

#endif /* OPS_H */
