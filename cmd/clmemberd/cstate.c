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
 * The replicated cluster state as text, the payload of commit, state and
 * accept frames:
 *
 *	cstate epoch=7 ver=3 tid=7002 members=1,2,3
 *	node id=3 inc=8812 state=joining
 *	trans tid=7001 node=3 inc=8812 type=join layer=20 barrier=0
 *	    barriers=1 top=999 reached=20 lp=0 parts=1,2,3
 *
 * (one line per record).  Peers are authenticated, but the decoder still
 * treats the text as untrusted: every number is range-checked and a bad
 * record rejects the whole state.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clmemberd.h"

#define LINE_MAX_LEN	1024		/* bytes per record */
#define FIELDS_MAX	16

static const char *ms_names[] = {
	"inactive", "joining", "joined", "leaving", "forced-leaving"
};
static const char *tt_names[] = { "join", "leave", "forced" };

const char *
mstate_name(enum mstate m)
{
	return ms_names[m];
}

const char *
ttype_name(enum ttype t)
{
	return tt_names[t];
}

/* For people: the logs. */
const char *
ttype_desc(enum ttype t)
{
	static const char *d[] = { "join", "graceful leave", "forced leave" };

	return d[t];
}

int
cstate_encode(const struct cstate *cs, struct buf *b)
{
	const struct trans *t;
	char		 m[1024];
	uint32_t	 id;
	int		 i;

	if (buf_printf(b, "cstate epoch=%llu ver=%llu tid=%llu members=%s\n",
	    (unsigned long long)cs->epoch, (unsigned long long)cs->ver,
	    (unsigned long long)cs->next_tid,
	    ns_fmt(&cs->members, m, sizeof(m))) == -1)
		return -1;
	for (id = 1; id <= NODEID_MAX; id++) {
		if (cs->ms[id] == MS_INACTIVE && !ns_has(&cs->members, id))
			continue;
		if (buf_printf(b, "node id=%u inc=%llu state=%s\n", id,
		    (unsigned long long)cs->inc[id], ms_names[cs->ms[id]]) == -1)
			return -1;
	}
	for (i = 0; i < cs->ntrans; i++) {
		t = &cs->trans[i];
		if (buf_printf(b, "trans tid=%llu node=%u inc=%llu type=%s "
		    "layer=%d barrier=%d barriers=%d top=%d reached=%d lp=%d "
		    "parts=%s\n", (unsigned long long)t->tid, t->node,
		    (unsigned long long)t->inc, tt_names[t->type], t->layer,
		    t->barrier, t->barriers, t->top, t->reached,
		    t->leave_pending, ns_fmt(&t->parts, m, sizeof(m))) == -1)
			return -1;
	}
	return 0;
}

struct fields {
	int	 n;
	char	*key[FIELDS_MAX];
	char	*val[FIELDS_MAX];
};

static int
split(char *line, char **type, struct fields *f)
{
	char	*tok, *eq, *save = NULL;

	f->n = 0;
	if ((*type = strtok_r(line, " ", &save)) == NULL)
		return -1;
	while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
		if (f->n == FIELDS_MAX || (eq = strchr(tok, '=')) == NULL)
			return -1;
		*eq = '\0';
		f->key[f->n] = tok;
		f->val[f->n] = eq + 1;
		f->n++;
	}
	return 0;
}

static const char *
get(const struct fields *f, const char *key)
{
	int	 i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->key[i], key) == 0)
			return f->val[i];
	return NULL;
}

static int
getnum(const struct fields *f, const char *key, uint64_t max, uint64_t *v)
{
	const char *s;

	if ((s = get(f, key)) == NULL)
		return -1;
	return wire_parse_u64(s, strlen(s), max, v) == 0 ? 0 : -1;
}

static int
getint(const struct fields *f, const char *key, int max, int *v)
{
	uint64_t u;

	if (getnum(f, key, (uint64_t)max, &u) == -1)
		return -1;
	*v = (int)u;
	return 0;
}

static int
lookup(const char *s, const char **names, int n)
{
	int	 i;

	for (i = 0; s != NULL && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

static int
take_head(struct cstate *cs, const struct fields *f)
{
	if (getnum(f, "epoch", UINT64_MAX, &cs->epoch) == -1 ||
	    getnum(f, "ver", UINT64_MAX, &cs->ver) == -1 ||
	    getnum(f, "tid", UINT64_MAX, &cs->next_tid) == -1 ||
	    ns_parse(get(f, "members"), &cs->members) == -1)
		return -1;
	return 0;
}

static int
take_node(struct cstate *cs, const struct fields *f)
{
	uint64_t id, inc;
	int	 ms;

	if (getnum(f, "id", NODEID_MAX, &id) == -1 || id == 0 ||
	    getnum(f, "inc", UINT64_MAX, &inc) == -1 ||
	    (ms = lookup(get(f, "state"), ms_names, 5)) == -1)
		return -1;
	cs->inc[id] = inc;
	cs->ms[id] = (enum mstate)ms;
	return 0;
}

static int
take_trans(struct cstate *cs, const struct fields *f)
{
	struct trans	*t;
	uint64_t	 node;
	int		 type;

	if (cs->ntrans == TRANS_MAX)
		return -1;
	t = &cs->trans[cs->ntrans];
	memset(t, 0, sizeof(*t));
	if (getnum(f, "tid", UINT64_MAX, &t->tid) == -1 ||
	    getnum(f, "node", NODEID_MAX, &node) == -1 || node == 0 ||
	    getnum(f, "inc", UINT64_MAX, &t->inc) == -1 ||
	    (type = lookup(get(f, "type"), tt_names, T_NTYPES)) == -1 ||
	    getint(f, "layer", LAYER_MAX, &t->layer) == -1 ||
	    getint(f, "barrier", BARRIERS_MAX, &t->barrier) == -1 ||
	    getint(f, "barriers", BARRIERS_MAX, &t->barriers) == -1 ||
	    getint(f, "top", LAYER_MAX, &t->top) == -1 ||
	    getint(f, "reached", LAYER_MAX, &t->reached) == -1 ||
	    getint(f, "lp", 1, &t->leave_pending) == -1 ||
	    ns_parse(get(f, "parts"), &t->parts) == -1)
		return -1;
	t->node = (uint32_t)node;
	t->type = (enum ttype)type;
	cs->ntrans++;
	return 0;
}

int
cstate_decode(const uint8_t *p, size_t len, struct cstate *cs,
    const char **why)
{
	struct fields	 f;
	char		 line[LINE_MAX_LEN], *type;
	const uint8_t	*nl, *end = p + len;
	size_t		 n;
	int		 head = 0;

	memset(cs, 0, sizeof(*cs));
	*why = "malformed cluster state";
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return -1;
		n = (size_t)(nl - p);
		if (n >= sizeof(line) || memchr(p, '\0', n) != NULL)
			return -1;
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;
		if (split(line, &type, &f) == -1)
			return -1;
		if (strcmp(type, "cstate") == 0) {
			if (head++ || take_head(cs, &f) == -1)
				return -1;
		} else if (!head)
			return -1;
		else if (strcmp(type, "node") == 0) {
			if (take_node(cs, &f) == -1)
				return -1;
		} else if (strcmp(type, "trans") == 0) {
			if (take_trans(cs, &f) == -1)
				return -1;
		}
		/* Other record types are for later versions: skip them. */
	}
	if (!head)
		return -1;
	*why = NULL;
	return 0;
}

/* a is newer than b. */
int
cstate_newer(const struct cstate *a, const struct cstate *b)
{
	if (a->epoch != b->epoch)
		return a->epoch > b->epoch;
	return a->ver > b->ver;
}

struct trans *
cstate_trans(struct cstate *cs, uint64_t tid)
{
	int	 i;

	for (i = 0; i < cs->ntrans; i++)
		if (cs->trans[i].tid == tid)
			return &cs->trans[i];
	return NULL;
}

struct trans *
cstate_trans_of(struct cstate *cs, uint32_t node)
{
	int	 i;

	for (i = 0; i < cs->ntrans; i++)
		if (cs->trans[i].node == node)
			return &cs->trans[i];
	return NULL;
}

void
cstate_drop_trans(struct cstate *cs, struct trans *t)
{
	int	 i = (int)(t - cs->trans);

	if (i < 0 || i >= cs->ntrans)
		return;
	memmove(&cs->trans[i], &cs->trans[i + 1],
	    (size_t)(cs->ntrans - i - 1) * sizeof(*t));
	cs->ntrans--;
}
