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
 * `cllaunch status` and `cllaunch restart`: the registrations and the
 * per-node states are records of the cluster database, so any node can
 * show them from its own copy, with or without a cllaunch running.
 */

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cllaunch.h"

#define RECS_MAX	4096

struct rec {
	char		*key;
	char		*value;
	uint64_t	 ver;
};

static struct dbc	 d;
static struct rec	 recs[RECS_MAX];
static int		 nrecs;

static void
open_db(void)
{
	if (dbc_open(&d, L->conf) == -1)
		errx(1, "%s", d.error);
}

static void
keep(const char *key, const char *value, uint64_t ver, void *arg)
{
	(void)arg;
	if (nrecs == RECS_MAX)
		return;
	if ((recs[nrecs].key = strdup(key)) == NULL ||
	    (recs[nrecs].value = strdup(value)) == NULL)
		err(1, NULL);
	recs[nrecs++].ver = ver;
}

static void
load(void)
{
	if (dbc_ls(&d, LAUNCH_PREFIX, keep, NULL) == -1)
		errx(1, "%s", d.error);
}

static const struct rec *
find(const char *fmt, const char *name, uint32_t node)
{
	char	 key[256];
	int	 i;

	(void)snprintf(key, sizeof(key), fmt, LAUNCH_PREFIX, name, node);
	for (i = 0; i < nrecs; i++)
		if (strcmp(recs[i].key, key) == 0)
			return &recs[i];
	return NULL;
}

/* The value of field k in a record "k=v k=v", in buf; "-" if absent. */
static const char *
field(const char *rec, const char *k, char *buf, size_t n)
{
	const char	*p;
	size_t		 kl = strlen(k), len;

	for (p = rec; p != NULL && *p != '\0'; p = strchr(p, ' ')) {
		p += *p == ' ';
		if (strncmp(p, k, kl) == 0 && p[kl] == '=') {
			len = strcspn(p + kl + 1, " ");
			if (len >= n)
				len = n - 1;
			memcpy(buf, p + kl + 1, len);
			buf[len] = '\0';
			return buf;
		}
	}
	return "-";
}

static void
line(const char *name, const char *node, const char *st, const char *reg)
{
	char		 pid[32], state[32], rs[32], since[32], when[32];
	struct tm	 tm;
	time_t		 t;
	const char	*s;

	(void)strlcpy(when, "-", sizeof(when));
	s = field(st, "since", since, sizeof(since));
	if (strcmp(s, "-") != 0) {
		t = (time_t)strtoll(s, NULL, 10);
		if (gmtime_r(&t, &tm) != NULL)
			(void)strftime(when, sizeof(when),
			    "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	/* No process: "-", never a 0 that kill(1) would take for the group. */
	s = field(st, "pid", pid, sizeof(pid));
	if (strcmp(s, "0") == 0)
		s = "-";
	(void)printf("service name=%s node=%s pid=%s state=%s restarts=%s "
	    "since=%s%s%s\n", name, node, s,
	    field(st, "state", state, sizeof(state)),
	    field(st, "restarts", rs, sizeof(rs)), when,
	    reg != NULL ? " reg=" : "", reg != NULL ? reg : "");
}

static void
status_one(const struct cl_service *sv)
{
	const struct rec *r, *st;
	struct reg	 reg;
	char		 node[16], fake[64];

	if ((r = find("%s%s", sv->name, 0)) == NULL ||
	    reg_parse(r->value, &reg) == -1 || reg.node == 0) {
		line(sv->name, "-", r != NULL && strstr(r->value,
		    "state=failed") != NULL ? "state=failed" :
		    "state=unplaced", NULL);
		return;
	}
	(void)snprintf(node, sizeof(node), "%u", reg.node);
	st = find("%s%s/%u", sv->name, reg.node);
	if (reg.state == REG_FAILED || st == NULL) {
		(void)snprintf(fake, sizeof(fake), "state=%s",
		    reg_state_name(reg.state));
		line(sv->name, node, st != NULL && reg.state != REG_FAILED ?
		    st->value : fake, reg_state_name(reg.state));
		return;
	}
	line(sv->name, node, st->value, reg_state_name(reg.state));
}

/* Members of the view, from clmemberd's status. */
static void
members(uint8_t *in)
{
	struct dbc_view	 v;

	if (dbc_view(&d, &v) == -1)
		errx(1, "%s", d.error);
	memcpy(in, v.member, sizeof(v.member));
}

static int
status(void)
{
	const struct cl_service *sv;
	const struct rec *st;
	uint8_t		 in[CONF_NODEID_MAX + 1] = { 0 };
	char		 node[16];
	int		 i, j;

	open_db();
	load();
	members(in);
	for (i = 0; i < L->conf->nservices; i++) {
		sv = &L->conf->services[i];
		if (!sv->all) {
			status_one(sv);
			continue;
		}
		for (j = 0; j < L->conf->nnodes; j++) {
			if (!conf_service_allows(sv, L->conf->nodes[j].id) ||
			    (st = find("%s%s/%u", sv->name,
			    L->conf->nodes[j].id)) == NULL)
				continue;
			(void)snprintf(node, sizeof(node), "%u",
			    L->conf->nodes[j].id);
			line(sv->name, node, in[L->conf->nodes[j].id] ?
			    st->value : "state=node-down", NULL);
		}
	}
	return 0;
}

static void
set(const char *key, const char *value, uint64_t ver)
{
	if (dbc_set(&d, key, value, ver, 1) != 1)
		errx(1, "%s: %s", key, d.error);
}

/*
 * A failed one-instance service is placed again, every node allowed; an
 * instance of an instances=all service on one node is started again.
 */
static int
restart(int argc, char **argv)
{
	const struct cl_service *sv;
	const struct rec *r;
	struct reg	 reg;
	char		 key[256], val[1024];
	const char	*errstr;
	uint32_t	 node = L->self;

	if (argc < 2 || argc > 3)
		errx(2, "usage: cllaunch restart name [node]");
	if ((sv = conf_service(L->conf, argv[1])) == NULL)
		errx(1, "%s: no service %s", L->confpath, argv[1]);
	if (argc == 3) {
		node = (uint32_t)strtonum(argv[2], 1, CONF_NODEID_MAX, &errstr);
		if (errstr != NULL || conf_node(L->conf, node) == NULL)
			errx(1, "%s: not a node of the cluster", argv[2]);
	}
	open_db();
	load();
	if (sv->all) {
		(void)snprintf(key, sizeof(key), "%s%s/%u", LAUNCH_PREFIX,
		    sv->name, node);
		r = find("%s%s/%u", sv->name, node);
		set(key, "state=restart", r != NULL ? r->ver : 0);
		(void)printf("restart name=%s node=%u\n", sv->name, node);
		return 0;
	}
	r = find("%s%s", sv->name, 0);
	memset(&reg, 0, sizeof(reg));
	if (r != NULL && reg_parse(r->value, &reg) == -1)
		errx(1, "%s%s: cannot read \"%s\"", LAUNCH_PREFIX, sv->name,
		    r->value);
	memset(reg.failed, 0, sizeof(reg.failed));
	reg.state = REG_UNPLACED;
	reg.node = 0;
	reg.to = 0;
	reg.gen++;
	reg_format(&reg, val, sizeof(val));
	(void)snprintf(key, sizeof(key), "%s%s", LAUNCH_PREFIX, sv->name);
	set(key, val, r != NULL ? r->ver : 0);
	(void)printf("restart name=%s\n", sv->name);
	return 0;
}

int
launch_tool(int argc, char **argv)
{
	if (strcmp(argv[0], "status") == 0 && argc == 1)
		return status();
	if (strcmp(argv[0], "restart") == 0)
		return restart(argc, argv);
	(void)fprintf(stderr, "usage: cllaunch [-f file] status\n"
	    "       cllaunch [-f file] restart name [node]\n");
	return 2;
}
