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

/* Sets of node ids as bitmaps, formatted as "1,2,3" on the wire. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clmemberd.h"

void
ns_clear(struct nodeset *s)
{
	memset(s, 0, sizeof(*s));
}

void
ns_add(struct nodeset *s, uint32_t id)
{
	if (id >= 1 && id <= NODEID_MAX)
		s->w[id / 64] |= 1ULL << (id % 64);
}

void
ns_del(struct nodeset *s, uint32_t id)
{
	if (id >= 1 && id <= NODEID_MAX)
		s->w[id / 64] &= ~(1ULL << (id % 64));
}

int
ns_has(const struct nodeset *s, uint32_t id)
{
	if (id < 1 || id > NODEID_MAX)
		return 0;
	return (s->w[id / 64] >> (id % 64)) & 1;
}

int
ns_count(const struct nodeset *s)
{
	int	 i, n = 0;

	for (i = 0; i < 4; i++)
		n += __builtin_popcountll(s->w[i]);
	return n;
}

int
ns_eq(const struct nodeset *a, const struct nodeset *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* a is a subset of b. */
int
ns_subset(const struct nodeset *a, const struct nodeset *b)
{
	int	 i;

	for (i = 0; i < 4; i++)
		if (a->w[i] & ~b->w[i])
			return 0;
	return 1;
}

void
ns_and(struct nodeset *a, const struct nodeset *b)
{
	int	 i;

	for (i = 0; i < 4; i++)
		a->w[i] &= b->w[i];
}

/* The smallest id after prev, or 0. */
uint32_t
ns_next(const struct nodeset *s, uint32_t prev)
{
	uint32_t id;

	for (id = prev + 1; id <= NODEID_MAX; id++)
		if (ns_has(s, id))
			return id;
	return 0;
}

uint32_t
ns_min(const struct nodeset *s)
{
	return ns_next(s, 0);
}

char *
ns_fmt(const struct nodeset *s, char *out, size_t len)
{
	uint32_t id;
	size_t	 n = 0;

	out[0] = '\0';
	NS_FOREACH(id, s) {
		if (n >= len)
			break;
		n += (size_t)snprintf(out + n, len - n, "%s%u", n ? "," : "",
		    id);
	}
	return out;
}

/* "1,2,3" or "" into s; -1 on anything else. */
int
ns_parse(const char *str, struct nodeset *s)
{
	const char	*p = str;
	unsigned long	 id;
	char		*end;

	ns_clear(s);
	if (str == NULL)
		return -1;
	while (*p != '\0') {
		if (*p < '0' || *p > '9')
			return -1;
		id = strtoul(p, &end, 10);
		if (id < 1 || id > NODEID_MAX)
			return -1;
		ns_add(s, (uint32_t)id);
		p = end;
		if (*p == ',' && p[1] != '\0')
			p++;
		else if (*p != '\0')
			return -1;
	}
	return 0;
}
