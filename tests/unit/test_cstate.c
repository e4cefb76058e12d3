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
 * clmemberd's replicated cluster state as text (cstate.c) and node sets
 * (nodeset.c): round trips, and the decoder's refusal of every kind of
 * malformed record.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clmemberd.h"
#include "unit.h"

#define HEAD	"cstate epoch=7 ver=3 tid=7002 members=1,2,3\n"
#define TRANS	"trans tid=7001 node=3 inc=8812 type=join layer=20 " \
		"barrier=0 barriers=1 top=999 reached=20 lp=0 parts=1,2,3\n"

static struct cstate	 cs1, cs2;
static char		 text[256 * 1024];

static int
decode_s(const char *s, struct cstate *cs)
{
	const char	*why;

	return cstate_decode((const uint8_t *)s, strlen(s), cs, &why);
}

static void
refuse(const char *name, const char *s)
{
	const char	*why = NULL;
	int		 rc;

	rc = cstate_decode((const uint8_t *)s, strlen(s), &cs1, &why);
	CHECKF(rc == -1 && why != NULL, "decode refuses %s", name);
}

static void
accepts(const char *name, const char *s)
{
	const char	*why = "unset";
	int		 rc;

	rc = cstate_decode((const uint8_t *)s, strlen(s), &cs1, &why);
	CHECKF(rc == 0 && why == NULL, "decode takes %s", name);
}

static int
same_trans(const struct trans *a, const struct trans *b)
{
	return a->tid == b->tid && a->node == b->node && a->inc == b->inc &&
	    a->type == b->type && a->layer == b->layer &&
	    a->barrier == b->barrier && a->barriers == b->barriers &&
	    a->top == b->top && a->reached == b->reached &&
	    a->leave_pending == b->leave_pending && ns_eq(&a->parts, &b->parts);
}

static int
same_cstate(const struct cstate *a, const struct cstate *b)
{
	uint32_t id;
	int	 i;

	if (a->epoch != b->epoch || a->ver != b->ver ||
	    a->next_tid != b->next_tid || !ns_eq(&a->members, &b->members) ||
	    a->ntrans != b->ntrans)
		return 0;
	for (id = 1; id <= NODEID_MAX; id++)
		if (a->inc[id] != b->inc[id] || a->ms[id] != b->ms[id])
			return 0;
	for (i = 0; i < a->ntrans; i++)
		if (!same_trans(&a->trans[i], &b->trans[i]))
			return 0;
	return 1;
}

/* encode a, decode into b; 0 on success. */
static int
roundtrip(const struct cstate *a, struct cstate *b, struct buf *out)
{
	const char	*why;

	buf_truncate(out, 0);
	if (cstate_encode(a, out) == -1)
		return -1;
	return cstate_decode(buf_ptr(out), buf_avail(out), b, &why);
}

static void
test_roundtrip(void)
{
	struct buf	 b;
	struct trans	*t;
	uint32_t	 id;
	int		 i;

	buf_init(&b, 1024 * 1024);
	memset(&cs1, 0, sizeof(cs1));
	cs1.epoch = 18446744073709551615ULL;
	cs1.ver = 3;
	cs1.next_tid = 7002;
	ns_add(&cs1.members, 1);
	ns_add(&cs1.members, 2);
	ns_add(&cs1.members, 255);
	cs1.inc[1] = 11;
	cs1.ms[1] = MS_JOINED;
	cs1.inc[2] = 22;
	cs1.ms[2] = MS_LEAVING;
	cs1.inc[255] = 18446744073709551615ULL;
	cs1.ms[255] = MS_JOINING;
	cs1.inc[7] = 77;
	cs1.ms[7] = MS_FORCED;		/* not a member, still told */
	t = &cs1.trans[cs1.ntrans++];
	t->tid = 7001;
	t->node = 255;
	t->inc = 18446744073709551615ULL;
	t->type = T_JOIN;
	t->layer = 20;
	t->barrier = 1;
	t->barriers = BARRIERS_MAX;
	t->top = LAYER_MAX;
	t->reached = 20;
	t->leave_pending = 1;
	ns_add(&t->parts, 1);
	ns_add(&t->parts, 2);
	t = &cs1.trans[cs1.ntrans++];
	t->tid = 1;
	t->node = 7;
	t->inc = 77;
	t->type = T_FORCED;
	t->layer = 0;
	t->top = 30;
	t = &cs1.trans[cs1.ntrans++];
	t->tid = 2;
	t->node = 2;
	t->type = T_LEAVE;
	t->layer = LAYER_MAX;
	t->barriers = 2;
	ns_add(&t->parts, 255);

	CHECK(roundtrip(&cs1, &cs2, &b) == 0, "encoded state decodes");
	CHECK(same_cstate(&cs1, &cs2), "round trip: epoch, ver, tid, members, "
	    "node states, transitions with all fields");
	CHECK(cs2.ms[7] == MS_FORCED && cs2.inc[7] == 77,
	    "a non-member's non-inactive state is kept");
	CHECK(strncmp((const char *)buf_ptr(&b),
	    "cstate epoch=18446744073709551615 ver=3 tid=7002 "
	    "members=1,2,255\n", 65) == 0, "head line format");

	/* The biggest state: every node a member, TRANS_MAX transitions. */
	memset(&cs1, 0, sizeof(cs1));
	cs1.epoch = cs1.ver = cs1.next_tid = 18446744073709551615ULL;
	for (id = 1; id <= NODEID_MAX; id++) {
		ns_add(&cs1.members, id);
		cs1.inc[id] = 18446744073709551615ULL - id;
		cs1.ms[id] = (enum mstate)(id % 5);
	}
	for (i = 0; i < TRANS_MAX; i++) {
		t = &cs1.trans[cs1.ntrans++];
		t->tid = 18446744073709551615ULL - (uint64_t)i;
		t->node = (uint32_t)(i % NODEID_MAX) + 1;
		t->inc = 18446744073709551615ULL;
		t->type = (enum ttype)(i % T_NTYPES);
		t->layer = t->top = t->reached = LAYER_MAX;
		t->barrier = t->barriers = BARRIERS_MAX;
		t->leave_pending = 1;
		for (id = 1; id <= CONF_NODES_MAX; id++)
			ns_add(&t->parts, NODEID_MAX + 1 - id);
	}
	CHECK(roundtrip(&cs1, &cs2, &b) == 0 && same_cstate(&cs1, &cs2),
	    "round trip of 255 members and 128 transitions at their maxima");

	memset(&cs1, 0, sizeof(cs1));
	CHECK(roundtrip(&cs1, &cs2, &b) == 0 && same_cstate(&cs1, &cs2) &&
	    buf_avail(&b) == strlen("cstate epoch=0 ver=0 tid=0 members=\n"),
	    "round trip of the empty state: one head line");
	buf_free(&b);
}

static void
test_decode(void)
{
	char	 s[4096];
	size_t	 n;
	int	 i;

	accepts("a head and a transition", HEAD TRANS);
	CHECK(cs1.epoch == 7 && cs1.ver == 3 && cs1.next_tid == 7002 &&
	    ns_count(&cs1.members) == 3 && cs1.ntrans == 1 &&
	    cs1.trans[0].node == 3 && cs1.trans[0].layer == 20 &&
	    cs1.trans[0].top == 999, "decoded fields");
	accepts("the doc comment's example",
	    HEAD "node id=3 inc=8812 state=joining\n" TRANS);
	CHECK(cs1.ms[3] == MS_JOINING && cs1.inc[3] == 8812,
	    "node line decoded");
	accepts("fields in any order", "cstate members=1 tid=1 ver=2 epoch=3\n");
	CHECK(cs1.epoch == 3 && cs1.ver == 2, "fields in any order decoded");
	accepts("an unknown record type after the head (later versions)",
	    HEAD "future x=1 y=2\n");
	accepts("an unknown field in a record", HEAD
	    "node id=3 inc=1 state=joined extra=1\n");
	accepts("every state name", HEAD "node id=1 inc=0 state=inactive\n"
	    "node id=2 inc=0 state=joining\nnode id=3 inc=0 state=joined\n"
	    "node id=4 inc=0 state=leaving\n"
	    "node id=5 inc=0 state=forced-leaving\n");
	accepts("node id 255", HEAD "node id=255 inc=0 state=joined\n");
	accepts("empty members", "cstate epoch=1 ver=0 tid=0 members=\n");

	refuse("empty input", "");
	refuse("no head line", "node id=1 inc=0 state=joined\n");
	refuse("a transition before the head", TRANS HEAD);
	refuse("two head lines", HEAD HEAD);
	refuse("an empty line", HEAD "\n");
	refuse("a line of spaces", HEAD "   \n");
	refuse("a head without members", "cstate epoch=1 ver=0 tid=0\n");
	refuse("a head without epoch", "cstate ver=0 tid=0 members=1\n");
	refuse("epoch not a number", "cstate epoch=x ver=0 tid=0 members=1\n");
	refuse("negative epoch", "cstate epoch=-1 ver=0 tid=0 members=1\n");
	refuse("epoch over UINT64_MAX",
	    "cstate epoch=18446744073709551616 ver=0 tid=0 members=1\n");
	refuse("empty ver", "cstate epoch=1 ver= tid=0 members=1\n");
	refuse("tid with a sign", "cstate epoch=1 ver=0 tid=+1 members=1\n");
	refuse("a field without '='", "cstate epoch=1 ver=0 tid=0 members=1 "
	    "junk\n");
	refuse("members 0", "cstate epoch=1 ver=0 tid=0 members=0\n");
	refuse("members 256", "cstate epoch=1 ver=0 tid=0 members=1,256\n");
	refuse("node id 0", HEAD "node id=0 inc=0 state=joined\n");
	refuse("node id 256", HEAD "node id=256 inc=0 state=joined\n");
	refuse("node id not a number", HEAD "node id=a inc=0 state=joined\n");
	refuse("node without inc", HEAD "node id=1 state=joined\n");
	refuse("node inc over UINT64_MAX", HEAD
	    "node id=1 inc=18446744073709551616 state=joined\n");
	refuse("unknown state name", HEAD "node id=1 inc=0 state=dead\n");
	refuse("state name in capitals", HEAD "node id=1 inc=0 state=JOINED\n");
	refuse("node without state", HEAD "node id=1 inc=0\n");
	refuse("transition node 0", HEAD "trans tid=1 node=0 inc=0 type=join "
	    "layer=1 barrier=0 barriers=1 top=1 reached=1 lp=0 parts=1\n");
	refuse("transition node 256", HEAD "trans tid=1 node=256 inc=0 "
	    "type=join layer=1 barrier=0 barriers=1 top=1 reached=1 lp=0 "
	    "parts=1\n");
	refuse("unknown transition type", HEAD "trans tid=1 node=1 inc=0 "
	    "type=jump layer=1 barrier=0 barriers=1 top=1 reached=1 lp=0 "
	    "parts=1\n");
	refuse("layer over LAYER_MAX", HEAD "trans tid=1 node=1 inc=0 "
	    "type=join layer=1000 barrier=0 barriers=1 top=1 reached=1 lp=0 "
	    "parts=1\n");
	refuse("barriers over BARRIERS_MAX", HEAD "trans tid=1 node=1 inc=0 "
	    "type=join layer=1 barrier=0 barriers=9 top=1 reached=1 lp=0 "
	    "parts=1\n");
	refuse("lp 2", HEAD "trans tid=1 node=1 inc=0 type=join layer=1 "
	    "barrier=0 barriers=1 top=1 reached=1 lp=2 parts=1\n");
	refuse("negative top", HEAD "trans tid=1 node=1 inc=0 type=join "
	    "layer=1 barrier=0 barriers=1 top=-1 reached=1 lp=0 parts=1\n");
	refuse("transition without parts", HEAD "trans tid=1 node=1 inc=0 "
	    "type=join layer=1 barrier=0 barriers=1 top=1 reached=1 lp=0\n");
	refuse("transition with bad parts", HEAD "trans tid=1 node=1 inc=0 "
	    "type=join layer=1 barrier=0 barriers=1 top=1 reached=1 lp=0 "
	    "parts=1,,2\n");
	{
		static const char nul1[] = "cstate epoch=1 ver=0 tid=0 "
		    "members=1\nnode id=1\0 inc=0 state=joined\n";
		static const char nul2[] = "cstate epoch=1\0 ver=0 tid=0 "
		    "members=1\n";
		static const char ok[] = "cstate epoch=1 ver=0 tid=0 "
		    "members=1\nnode id=1 inc=0 state=joined\n";
		const char	*why;

		CHECK(cstate_decode((const uint8_t *)nul1, sizeof(nul1) - 1,
		    &cs1, &why) == -1 && cstate_decode((const uint8_t *)ok,
		    sizeof(ok) - 1, &cs1, &why) == 0,
		    "decode refuses an embedded NUL (and takes the same "
		    "text without it)");
		CHECK(cstate_decode((const uint8_t *)nul2, sizeof(nul2) - 1,
		    &cs1, &why) == -1, "decode refuses a NUL inside the head");
	}
	refuse("a last line without a newline", HEAD
	    "node id=1 inc=0 state=joined");
	refuse("a head without a newline", "cstate epoch=1 ver=0 tid=0 "
	    "members=1");
	refuse("too many fields",
	    "cstate epoch=1 ver=0 tid=0 members=1 a=1 b=1 c=1 d=1 e=1 f=1 "
	    "g=1 h=1 i=1 j=1 k=1 l=1 m=1\n");

	/* A line of 1024 bytes or more. */
	n = (size_t)snprintf(s, sizeof(s), "cstate epoch=1 ver=0 tid=0 "
	    "members=1 pad=");
	memset(s + n, 'x', 1100);
	(void)strlcpy(s + n + 1100, "\n", 2);
	refuse("a record of 1100 bytes", s);

	/* TRANS_MAX transitions are taken, one more is not. */
	n = (size_t)snprintf(text, sizeof(text), "%s", HEAD);
	for (i = 0; i < TRANS_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    "trans tid=%d node=%d inc=0 type=leave layer=1 barrier=0 "
		    "barriers=1 top=1 reached=1 lp=0 parts=1\n", i + 1,
		    i % 255 + 1);
	accepts("128 transitions", text);
	CHECK(cs1.ntrans == TRANS_MAX, "128 transitions decoded");
	(void)snprintf(text + n, sizeof(text) - n, "trans tid=999 node=1 inc=0 "
	    "type=leave layer=1 barrier=0 barriers=1 top=1 reached=1 lp=0 "
	    "parts=1\n");
	refuse("129 transitions", text);
}

static void
test_nodeset(void)
{
	struct nodeset	 a, b;
	char		 s[1024];
	uint32_t	 id;
	int		 n;

	ns_clear(&a);
	CHECK(ns_count(&a) == 0 && ns_min(&a) == 0, "empty set");
	CHECK(strcmp(ns_fmt(&a, s, sizeof(s)), "") == 0 &&
	    ns_parse("", &b) == 0 && ns_eq(&a, &b), "empty set round trip");
	ns_add(&a, 1);
	ns_add(&a, 63);
	ns_add(&a, 64);
	ns_add(&a, 128);
	ns_add(&a, 255);
	ns_add(&a, 0);		/* ignored */
	ns_add(&a, 256);	/* ignored */
	CHECK(ns_count(&a) == 5 && ns_has(&a, 64) && !ns_has(&a, 0) &&
	    !ns_has(&a, 256), "ns_add takes 1 to 255 only");
	CHECK_STR(ns_fmt(&a, s, sizeof(s)), "1,63,64,128,255", "ns_fmt");
	CHECK(ns_parse(s, &b) == 0 && ns_eq(&a, &b), "ns_fmt/ns_parse round "
	    "trip");
	CHECK(ns_min(&a) == 1 && ns_next(&a, 1) == 63 && ns_next(&a, 64) ==
	    128 && ns_next(&a, 255) == 0, "ns_min and ns_next");
	ns_del(&a, 63);
	CHECK(!ns_has(&a, 63) && ns_count(&a) == 4, "ns_del");
	n = 0;
	NS_FOREACH(id, &a)
		n++;
	CHECK(n == 4, "NS_FOREACH visits every member");
	ns_clear(&b);
	ns_add(&b, 1);
	ns_add(&b, 255);
	CHECK(ns_subset(&b, &a) && !ns_subset(&a, &b), "ns_subset");
	ns_and(&a, &b);
	CHECK(ns_eq(&a, &b), "ns_and");

	ns_clear(&a);
	for (id = 1; id <= NODEID_MAX; id++)
		ns_add(&a, id);
	CHECK(ns_count(&a) == 255 && ns_parse(ns_fmt(&a, s, sizeof(s)), &b) ==
	    0 && ns_eq(&a, &b), "all 255 ids round trip");
	CHECK(strlen(ns_fmt(&a, s, 16)) < 16, "ns_fmt stays within a small "
	    "buffer");

	CHECK(ns_parse("3,1,2,3", &b) == 0 && ns_count(&b) == 3,
	    "ns_parse takes any order and repeats");
	CHECK(ns_parse("0", &b) == -1, "ns_parse refuses 0");
	CHECK(ns_parse("256", &b) == -1, "ns_parse refuses 256");
	CHECK(ns_parse("1,256", &b) == -1, "ns_parse refuses 1,256");
	CHECK(ns_parse("1,,2", &b) == -1, "ns_parse refuses 1,,2");
	CHECK(ns_parse(",1", &b) == -1, "ns_parse refuses ,1");
	CHECK(ns_parse("1,", &b) == -1, "ns_parse refuses a trailing comma");
	CHECK(ns_parse("a", &b) == -1, "ns_parse refuses a");
	CHECK(ns_parse("1a", &b) == -1, "ns_parse refuses 1a");
	CHECK(ns_parse("-1", &b) == -1, "ns_parse refuses -1");
	CHECK(ns_parse(" 1", &b) == -1, "ns_parse refuses a leading space");
	CHECK(ns_parse("1 2", &b) == -1, "ns_parse refuses 1 2");
	CHECK(ns_parse("18446744073709551617", &b) == -1,
	    "ns_parse refuses a huge number");
	CHECK(ns_parse("4294967297", &b) == -1,
	    "ns_parse refuses 2^32 + 1 (no wrap to 1)");
	CHECK(ns_parse(NULL, &b) == -1, "ns_parse refuses NULL");
}

static void
test_helpers(void)
{
	struct trans	*t;

	CHECK(decode_s(HEAD TRANS "trans tid=5 node=9 inc=0 type=forced "
	    "layer=1 barrier=0 barriers=1 top=1 reached=1 lp=0 parts=1\n",
	    &cs1) == 0, "two transitions decode");
	CHECK((t = cstate_trans(&cs1, 5)) != NULL && t->node == 9,
	    "cstate_trans finds by tid");
	CHECK(cstate_trans(&cs1, 6) == NULL, "cstate_trans on an unknown tid");
	CHECK((t = cstate_trans_of(&cs1, 3)) != NULL && t->tid == 7001,
	    "cstate_trans_of finds by node");
	cstate_drop_trans(&cs1, cstate_trans(&cs1, 7001));
	CHECK(cs1.ntrans == 1 && cs1.trans[0].tid == 5,
	    "cstate_drop_trans removes and closes the gap");
	cs2 = cs1;
	cs2.ver++;
	CHECK(cstate_newer(&cs2, &cs1) && !cstate_newer(&cs1, &cs2) &&
	    !cstate_newer(&cs1, &cs1), "cstate_newer by ver");
	cs2.epoch++;
	cs2.ver = 0;
	CHECK(cstate_newer(&cs2, &cs1), "cstate_newer: epoch before ver");
	CHECK(strcmp(mstate_name(MS_FORCED), "forced-leaving") == 0 &&
	    strcmp(ttype_name(T_FORCED), "forced") == 0, "state names");
}

int
main(void)
{
	test_roundtrip();
	test_decode();
	test_nodeset();
	test_helpers();
	return unit_done();
}
