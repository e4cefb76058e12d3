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
 * cl.conf(5), parsed with libconfuse.  Every error is reported as
 * "file:line: message"; syntax errors stop the parse at the first one
 * (libconfuse cannot go on), checks of values are all reported in one run.
 */

#include <sys/types.h>
#include <sys/param.h>
#include <sys/stat.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <confuse.h>

#include "conf.h"

static void	 stderr_errfn(const char *);
static int	 volume_name_ok(const char *);

static conf_errfn errfn = stderr_errfn;
static int	 nerrors;

/*
 * The line each top-level option was last set on, recorded while
 * libconfuse parses, so checks made after parsing (fail_ms against
 * heartbeat_ms, self against the nodes) still name the line at fault.
 */
static struct optline {
	const char	*name;
	int		 line;
} optlines[] = {
	{ "cluster", 0 }, { "keyfile", 0 }, { "rundir", 0 },
	{ "statedir", 0 }, { "group", 0 }, { "self", 0 },
	{ "heartbeat_ms", 0 }, { "fail_ms", 0 }, { "transition_ms", 0 },
	{ "msg_timeout_ms", 0 },
	{ "damp_ms", 0 }, { "max_payload", 0 }, { "encrypt", 0 },
	{ "lease_ms", 0 }, { "event_timeout_ms", 0 }, { "imbalance", 0 },
	{ "rebalance_ms", 0 }, { "util_high", 0 }, { "rtt_high_ms", 0 },
	{ "util_ms", 0 },
};

static void
stderr_errfn(const char *msg)
{
	(void)fprintf(stderr, "%s\n", msg);
}

void
conf_set_errfn(conf_errfn fn)
{
	errfn = fn != NULL ? fn : stderr_errfn;
}

static void
vreport(const char *file, int line, const char *fmt, va_list ap)
{
	char	 msg[1024], out[1400];

	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line > 0)
		(void)snprintf(out, sizeof(out), "%s:%d: %s", file, line, msg);
	else
		(void)snprintf(out, sizeof(out), "%s: %s", file, msg);
	errfn(out);
	nerrors++;
}

static void
report(const char *file, int line, const char *fmt, ...)
	__attribute__((__format__ (printf, 3, 4)));

static void
report(const char *file, int line, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vreport(file, line, fmt, ap);
	va_end(ap);
}

/*
 * libconfuse's own messages (syntax, types, unknown keys).  "node" is
 * the only titled section, so a duplicate title is a node id used twice:
 * say so in the user's words.
 */
static void
cfg_errfn(cfg_t *cfg, const char *fmt, va_list ap)
{
	const char	*file = "cl.conf", *t;
	char		 msg[1024];
	size_t		 n;
	int		 line = 0;

	if (cfg != NULL && cfg->filename != NULL)
		file = cfg->filename;
	if (cfg != NULL)
		line = cfg->line;
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	t = "found duplicate title '";
	n = strlen(t);
	if (strncmp(msg, t, n) == 0 && strlen(msg) > n) {
		msg[strlen(msg) - 1] = '\0';
		if (msg[n + strspn(msg + n, "0123456789")] == '\0')
			report(file, line, "node %s: duplicate node id "
			    "(defined twice)", msg + n);
		else
			report(file, line, "\"%s\": section defined twice",
			    msg + n);
		return;
	}
	report(file, line, "%s", msg);
}

static void
note_line(cfg_t *cfg, cfg_opt_t *opt)
{
	size_t	 i;

	for (i = 0; i < sizeof(optlines) / sizeof(optlines[0]); i++)
		if (strcmp(optlines[i].name, opt->name) == 0)
			optlines[i].line = cfg->line;
}

static int
line_of(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(optlines) / sizeof(optlines[0]); i++)
		if (strcmp(optlines[i].name, name) == 0)
			return optlines[i].line;
	return 0;
}

static int
valid_any(cfg_t *cfg, cfg_opt_t *opt)
{
	note_line(cfg, opt);
	return 0;
}

static int
check_range(cfg_t *cfg, cfg_opt_t *opt, long lo, long hi)
{
	long	 v;

	note_line(cfg, opt);
	v = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);
	if (v < lo || v > hi)
		report(cfg->filename, cfg->line, "%s = %ld: must be %ld to %ld",
		    opt->name, v, lo, hi);
	return 0;
}

static int
valid_ms(cfg_t *cfg, cfg_opt_t *opt)
{
	return check_range(cfg, opt, 1, 3600 * 1000);
}

static int
valid_percent(cfg_t *cfg, cfg_opt_t *opt)
{
	return check_range(cfg, opt, 1, 100);
}

static int
valid_fraction(cfg_t *cfg, cfg_opt_t *opt)
{
	double	 v;

	note_line(cfg, opt);
	v = cfg_opt_getnfloat(opt, cfg_opt_size(opt) - 1);
	if (!(v >= 0 && v <= 10))
		report(cfg->filename, cfg->line, "%s = %g: must be 0 to 10",
		    opt->name, v);
	return 0;
}

static int
valid_self(cfg_t *cfg, cfg_opt_t *opt)
{
	return check_range(cfg, opt, 1, CONF_NODEID_MAX);
}

static int
valid_payload(cfg_t *cfg, cfg_opt_t *opt)
{
	return check_range(cfg, opt, 4096, 256L * 1024 * 1024);
}

static int
valid_name(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s;
	size_t		 i, n;

	note_line(cfg, opt);
	s = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);
	n = s != NULL ? strlen(s) : 0;
	if (n == 0 || n >= CONF_NAME_MAX) {
		report(cfg->filename, cfg->line, "%s: must be 1 to %d bytes",
		    opt->name, CONF_NAME_MAX - 1);
		return 0;
	}
	for (i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') &&
		    s[i] != '-' && s[i] != '_' && s[i] != '.') {
			report(cfg->filename, cfg->line, "%s \"%s\": only "
			    "letters, digits, '-', '_' and '.' are allowed",
			    opt->name, s);
			return 0;
		}
	return 0;
}

/* "host:port" or "[v6addr]:port"; host and port go to n. */
static int
split_address(const char *addr, struct cl_node *n)
{
	const char	*colon, *host;
	size_t		 hlen;
	long		 port;
	char		*end;

	if (addr[0] == '[') {
		if ((colon = strstr(addr, "]:")) == NULL)
			return -1;
		host = addr + 1;
		hlen = (size_t)(colon - host);
		colon++;
	} else {
		if ((colon = strrchr(addr, ':')) == NULL)
			return -1;
		host = addr;
		hlen = (size_t)(colon - addr);
	}
	if (hlen == 0 || hlen >= sizeof(n->host))
		return -1;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port < 1 ||
	    port > 65535)
		return -1;
	memcpy(n->host, host, hlen);
	n->host[hlen] = '\0';
	(void)snprintf(n->port, sizeof(n->port), "%ld", port);
	return 0;
}

/* weight = W: a positive number (seed 002 420B, 440H). */
static int
load_weight(struct cl_conf *c, cfg_t *sec, const char *what, double *w)
{
	*w = cfg_getfloat(sec, "weight");
	if (!(*w > 0 && *w <= 1e6)) {
		report(c->path, sec->line, "%s: weight = %g: must be more "
		    "than 0 and at most 1000000", what, *w);
		return -1;
	}
	return 0;
}

/* key = {"a", "b"}: names of groups or domains, in order. */
static int
load_names(struct cl_conf *c, cfg_t *sec, const char *what, const char *key,
    struct cl_names *to)
{
	const char	*v;
	size_t		 i;

	memset(to, 0, sizeof(*to));
	if (cfg_size(sec, key) > CONF_GROUPS_MAX) {
		report(c->path, sec->line, "%s: %s: more than %d", what, key,
		    CONF_GROUPS_MAX);
		return -1;
	}
	for (i = 0; i < cfg_size(sec, key); i++) {
		v = cfg_getnstr(sec, key, i);
		if (v == NULL || *v == '\0' || !volume_name_ok(v)) {
			report(c->path, sec->line, "%s: %s: \"%s\" is not 1 to "
			    "%d letters, digits, '-' or '_'", what, key,
			    v != NULL ? v : "", CONF_NAME_MAX - 1);
			return -1;
		}
		(void)strlcpy(to->name[to->n++], v, CONF_NAME_MAX);
	}
	return 0;
}

static int
load_node(struct cl_conf *c, cfg_t *sec)
{
	struct cl_node	*n;
	const char	*title, *addr, *name;
	char		*end;
	long		 id;
	int		 i;

	title = cfg_title(sec);
	errno = 0;
	id = strtol(title, &end, 10);
	if (*title == '\0' || *end != '\0' || errno != 0 || id < 1 ||
	    id > CONF_NODEID_MAX) {
		report(c->path, sec->line, "node \"%s\": id must be a number "
		    "from 1 to %d", title, CONF_NODEID_MAX);
		return -1;
	}
	for (i = 0; i < c->nnodes; i++)
		if (c->nodes[i].id == (uint32_t)id) {
			report(c->path, sec->line, "node %ld: duplicate id "
			    "(first defined at line %d)", id,
			    c->nodes[i].line);
			return -1;
		}
	if (c->nnodes == CONF_NODES_MAX) {
		report(c->path, sec->line, "node %ld: more than %d nodes", id,
		    CONF_NODES_MAX);
		return -1;
	}
	n = &c->nodes[c->nnodes];
	memset(n, 0, sizeof(*n));
	n->id = (uint32_t)id;
	n->line = sec->line;
	if ((addr = cfg_getstr(sec, "address")) == NULL) {
		report(c->path, sec->line, "node %ld: no address", id);
		return -1;
	}
	if (split_address(addr, n) == -1) {
		report(c->path, sec->line, "node %ld: address \"%s\" is not "
		    "host:port", id, addr);
		return -1;
	}
	name = cfg_getstr(sec, "name");
	if (name != NULL)
		(void)strlcpy(n->name, name, sizeof(n->name));
	else
		(void)snprintf(n->name, sizeof(n->name), "node%ld", id);
	if (load_weight(c, sec, n->name, &n->weight) == -1 ||
	    load_names(c, sec, n->name, "groups", &n->groups) == -1 ||
	    load_names(c, sec, n->name, "domains", &n->domains) == -1)
		return -1;
	for (i = 0; i < c->nnodes; i++)
		if (strcmp(c->nodes[i].host, n->host) == 0 &&
		    strcmp(c->nodes[i].port, n->port) == 0) {
			report(c->path, sec->line, "node %ld: address %s is "
			    "also node %u's", id, addr, c->nodes[i].id);
			return -1;
		}
	c->nnodes++;
	return 0;
}

static int
is_local_addr(const struct sockaddr *sa, struct ifaddrs *ifs)
{
	struct ifaddrs	*ifa;
	size_t		 len;

	len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	for (ifa = ifs; ifa != NULL; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL ||
		    ifa->ifa_addr->sa_family != sa->sa_family)
			continue;
		if (sa->sa_family == AF_INET && memcmp(
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    &((struct sockaddr_in *)(void *)ifa->ifa_addr)->sin_addr,
		    sizeof(struct in_addr)) == 0)
			return 1;
		if (sa->sa_family == AF_INET6 && len && memcmp(
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    &((struct sockaddr_in6 *)(void *)ifa->ifa_addr)->sin6_addr,
		    sizeof(struct in6_addr)) == 0)
			return 1;
	}
	return 0;
}

/* Without "self =", the node is the one whose address is ours. */
static int
find_self(struct cl_conf *c)
{
	struct addrinfo	 hints, *res, *ai;
	struct ifaddrs	*ifs;
	int		 i, found = 0;

	if (getifaddrs(&ifs) == -1) {
		report(c->path, 0, "getifaddrs: %s", strerror(errno));
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	for (i = 0; i < c->nnodes; i++) {
		if (getaddrinfo(c->nodes[i].host, NULL, &hints, &res) != 0)
			continue;
		for (ai = res; ai != NULL; ai = ai->ai_next)
			if (is_local_addr(ai->ai_addr, ifs))
				break;
		if (ai != NULL) {
			if (found++ == 0)
				c->self = c->nodes[i].id;
		}
		freeaddrinfo(res);
	}
	freeifaddrs(ifs);
	if (found == 1)
		return 0;
	if (found == 0)
		report(c->path, 0, "no \"self\" and no node address is local: "
		    "set self = <id>");
	else
		report(c->path, 0, "no \"self\" and %d node addresses are "
		    "local: set self = <id>", found);
	return -1;
}

static void
copy_str(struct cl_conf *c, cfg_t *cfg, const char *key, char *dst,
    size_t len)
{
	const char *s;

	s = cfg_getstr(cfg, key);
	if (s == NULL || *s == '\0') {
		report(c->path, line_of(key), "%s: must not be empty", key);
		return;
	}
	if (strlcpy(dst, s, len) >= len)
		report(c->path, line_of(key), "%s: longer than %zu bytes",
		    key, len - 1);
}

static void
load_globals(struct cl_conf *c, cfg_t *cfg)
{
	copy_str(c, cfg, "cluster", c->cluster, sizeof(c->cluster));
	copy_str(c, cfg, "keyfile", c->keyfile, sizeof(c->keyfile));
	copy_str(c, cfg, "rundir", c->rundir, sizeof(c->rundir));
	copy_str(c, cfg, "statedir", c->statedir, sizeof(c->statedir));
	copy_str(c, cfg, "group", c->group, sizeof(c->group));
	c->heartbeat_ms = (int)cfg_getint(cfg, "heartbeat_ms");
	c->fail_ms = (int)cfg_getint(cfg, "fail_ms");
	c->transition_ms = (int)cfg_getint(cfg, "transition_ms");
	c->msg_timeout_ms = (int)cfg_getint(cfg, "msg_timeout_ms");
	c->damp_ms = (int)cfg_getint(cfg, "damp_ms");
	c->max_payload = (size_t)cfg_getint(cfg, "max_payload");
	c->encrypt = cfg_getbool(cfg, "encrypt") == cfg_true;
	c->lease_ms = (int)cfg_getint(cfg, "lease_ms");
	c->event_timeout_ms = (int)cfg_getint(cfg, "event_timeout_ms");
	c->imbalance = cfg_getfloat(cfg, "imbalance");
	c->rebalance_ms = (int)cfg_getint(cfg, "rebalance_ms");
	c->util_high = (int)cfg_getint(cfg, "util_high");
	c->rtt_high_ms = (int)cfg_getint(cfg, "rtt_high_ms");
	c->util_ms = (int)cfg_getint(cfg, "util_ms");
	if (cfg_size(cfg, "self") > 0) {
		c->self = (uint32_t)cfg_getint(cfg, "self");
		c->self_set = 1;
	}
	if (c->fail_ms < 2 * c->heartbeat_ms)
		report(c->path, MAX(line_of("fail_ms"),
		    line_of("heartbeat_ms")), "fail_ms (%d) must be at least twice "
		    "heartbeat_ms (%d)", c->fail_ms, c->heartbeat_ms);
}

static int
volume_name_ok(const char *s)
{
	size_t	 i, n;

	n = strlen(s);
	if (n == 0 || n >= CONF_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') &&
		    s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

/* The fields of seed 002's volume record. */
static int
load_volume_record(struct cl_conf *c, cfg_t *sec, struct cl_volume *v)
{
	char		 what[CONF_NAME_MAX + 8];
	const char	*g;
	long		 pref;

	(void)snprintf(what, sizeof(what), "volume %s", v->name);
	if (load_weight(c, sec, what, &v->weight) == -1 ||
	    load_names(c, sec, what, "domains", &v->domains) == -1)
		return -1;
	g = cfg_getstr(sec, "group");
	if (g != NULL && *g != '\0' && !volume_name_ok(g)) {
		report(c->path, sec->line, "%s: group \"%s\" is not 1 to %d "
		    "letters, digits, '-' or '_'", what, g, CONF_NAME_MAX - 1);
		return -1;
	}
	(void)strlcpy(v->group, g != NULL ? g : "", sizeof(v->group));
	pref = cfg_getint(sec, "preferred");
	if (pref < 0 || pref > CONF_NODEID_MAX) {
		report(c->path, sec->line, "%s: preferred = %ld: not a node "
		    "id", what, pref);
		return -1;
	}
	v->preferred = (uint32_t)pref;
	v->migrate = cfg_getbool(sec, "migrate") == cfg_true;
	v->failback = cfg_getbool(sec, "failback") == cfg_true;
	return 0;
}

static void
load_volume(struct cl_conf *c, cfg_t *sec)
{
	struct cl_volume	*v;
	const char		*title, *path;

	title = cfg_title(sec);
	if (!volume_name_ok(title)) {
		report(c->path, sec->line, "volume \"%s\": the name must be 1 "
		    "to %d letters, digits, '-' or '_'", title,
		    CONF_NAME_MAX - 1);
		return;
	}
	if (c->nvolumes == CONF_VOLUMES_MAX) {
		report(c->path, sec->line, "volume %s: more than %d volumes",
		    title, CONF_VOLUMES_MAX);
		return;
	}
	v = &c->volumes[c->nvolumes];
	memset(v, 0, sizeof(*v));
	v->line = sec->line;
	(void)strlcpy(v->name, title, sizeof(v->name));
	path = cfg_getstr(sec, "path");
	if (path == NULL || *path == '\0') {
		report(c->path, sec->line, "volume %s: no path", title);
		return;
	}
	if (strlcpy(v->path, path, sizeof(v->path)) >= sizeof(v->path)) {
		report(c->path, sec->line, "volume %s: path longer than %zu "
		    "bytes", title, sizeof(v->path) - 1);
		return;
	}
	if (load_volume_record(c, sec, v) == -1)
		return;
	c->nvolumes++;
}

/* node N { volume NAME { path = ... } }: node N's own path, or none. */
static void
load_volume_override(struct cl_conf *c, uint32_t node, cfg_t *sec)
{
	struct cl_volume	*v = NULL;
	struct cl_volpath	*o;
	const char		*title, *path;
	int			 i;

	title = cfg_title(sec);
	for (i = 0; i < c->nvolumes; i++)
		if (strcmp(c->volumes[i].name, title) == 0)
			v = &c->volumes[i];
	if (v == NULL) {
		report(c->path, sec->line, "node %u: volume %s is not "
		    "defined at the top level", node, title);
		return;
	}
	path = cfg_getstr(sec, "path");
	if (path == NULL) {
		report(c->path, sec->line, "node %u: volume %s: no path "
		    "(\"\" if the node cannot reach it)", node, title);
		return;
	}
	if (v->nover == CONF_VOLOVER_MAX) {
		report(c->path, sec->line, "node %u: volume %s: more than %d "
		    "nodes with their own path", node, title, CONF_VOLOVER_MAX);
		return;
	}
	o = &v->over[v->nover];
	o->node = node;
	o->line = sec->line;
	if (strlcpy(o->path, path, sizeof(o->path)) >= sizeof(o->path)) {
		report(c->path, sec->line, "node %u: volume %s: path longer "
		    "than %zu bytes", node, title, sizeof(o->path) - 1);
		return;
	}
	v->nover++;
}

static void
load_volumes(struct cl_conf *c, cfg_t *cfg)
{
	cfg_t		*nsec;
	size_t		 i, j;
	int		 k;

	for (i = 0; i < cfg_size(cfg, "volume"); i++)
		load_volume(c, cfg_getnsec(cfg, "volume", i));
	for (i = 0; i < cfg_size(cfg, "node"); i++) {
		nsec = cfg_getnsec(cfg, "node", i);
		for (k = 0; k < c->nnodes; k++)
			if (c->nodes[k].line == nsec->line)
				break;
		if (k == c->nnodes)
			continue;	/* refused already */
		for (j = 0; j < cfg_size(nsec, "volume"); j++)
			load_volume_override(c, c->nodes[k].id,
			    cfg_getnsec(nsec, "volume", j));
	}
}

static int
copy_cmd(struct cl_conf *c, cfg_t *sec, const char *name, const char *key,
    char *dst, size_t n)
{
	const char	*v;

	if ((v = cfg_getstr(sec, key)) == NULL)
		v = "";
	if (strlcpy(dst, v, n) >= n) {
		report(c->path, sec->line, "service %s: %s longer than %zu "
		    "bytes", name, key, n - 1);
		return -1;
	}
	return 0;
}

static int
svc_name_ok(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n > CONF_SVCNAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= '0' && s[i] <= '9') && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

static int
svc_nodes(struct cl_conf *c, cfg_t *sec, struct cl_service *sv)
{
	long	 id;
	size_t	 i;
	int	 j;

	if (cfg_size(sec, "nodes") > CONF_NODES_MAX) {
		report(c->path, sec->line, "service %s: nodes: more than %d",
		    sv->name, CONF_NODES_MAX);
		return -1;
	}
	for (i = 0; i < cfg_size(sec, "nodes"); i++) {
		id = cfg_getnint(sec, "nodes", i);
		if (id < 1 || id > CONF_NODEID_MAX ||
		    conf_node(c, (uint32_t)id) == NULL) {
			report(c->path, sec->line, "service %s: nodes: %ld is "
			    "not a node of the cluster", sv->name, id);
			return -1;
		}
		for (j = 0; j < sv->nnodes; j++)
			if (sv->nodes[j] == (uint32_t)id) {
				report(c->path, sec->line, "service %s: nodes: "
				    "%ld named twice", sv->name, id);
				return -1;
			}
		sv->nodes[sv->nnodes++] = (uint32_t)id;
	}
	id = cfg_getint(sec, "preferred");
	if (id != 0 && (id < 0 || id > CONF_NODEID_MAX ||
	    !conf_service_allows(sv, (uint32_t)id) ||
	    conf_node(c, (uint32_t)id) == NULL)) {
		report(c->path, sec->line, "service %s: preferred = %ld: not "
		    "one of its nodes", sv->name, id);
		return -1;
	}
	sv->preferred = (uint32_t)id;
	return 0;
}

static int
svc_enums(struct cl_conf *c, cfg_t *sec, struct cl_service *sv)
{
	const char	*v;

	v = cfg_getstr(sec, "instances");
	if (strcmp(v, "all") == 0)
		sv->all = 1;
	else if (strcmp(v, "1") != 0) {
		report(c->path, sec->line, "service %s: instances = \"%s\": "
		    "must be 1 or all", sv->name, v);
		return -1;
	}
	v = cfg_getstr(sec, "restart");
	if (strcmp(v, "no") == 0)
		sv->restart = SVC_RESTART_NO;
	else if (strcmp(v, "on-failure") == 0)
		sv->restart = SVC_RESTART_ON_FAILURE;
	else if (strcmp(v, "always") == 0)
		sv->restart = SVC_RESTART_ALWAYS;
	else {
		report(c->path, sec->line, "service %s: restart = \"%s\": "
		    "must be no, on-failure or always", sv->name, v);
		return -1;
	}
	return 0;
}

/* A number of sec in lo..hi, or -1 (reported). */
static int
svc_int(struct cl_conf *c, cfg_t *sec, const char *name, const char *key,
    long lo, long hi)
{
	long	 v = cfg_getint(sec, key);

	if (v < lo || v > hi) {
		report(c->path, sec->line, "service %s: %s = %ld: must be %ld "
		    "to %ld", name, key, v, lo, hi);
		return -1;
	}
	return (int)v;
}

static void
load_service(struct cl_conf *c, cfg_t *sec)
{
	struct cl_service	*sv;
	const char		*title = cfg_title(sec);

	if (!svc_name_ok(title)) {
		report(c->path, sec->line, "service \"%s\": a name is 1 to %d "
		    "of a-z, 0-9, '-', '_' and '.'", title, CONF_SVCNAME_MAX);
		return;
	}
	if (c->nservices == CONF_SERVICES_MAX) {
		report(c->path, sec->line, "service %s: more than %d services",
		    title, CONF_SERVICES_MAX);
		return;
	}
	sv = &c->services[c->nservices];
	memset(sv, 0, sizeof(*sv));
	sv->line = sec->line;
	(void)strlcpy(sv->name, title, sizeof(sv->name));
	if (copy_cmd(c, sec, title, "exec", sv->exec, sizeof(sv->exec)) ==
	    -1 || copy_cmd(c, sec, title, "notify", sv->notify,
	    sizeof(sv->notify)) == -1 || copy_cmd(c, sec, title, "recovery",
	    sv->recovery, sizeof(sv->recovery)) == -1 || copy_cmd(c, sec,
	    title, "output", sv->output, sizeof(sv->output)) == -1)
		return;
	if (sv->exec[strspn(sv->exec, " \t")] == '\0') {
		report(c->path, sec->line, "service %s: no exec (the command "
		    "that runs it)", title);
		return;
	}
	if (svc_nodes(c, sec, sv) == -1 || svc_enums(c, sec, sv) == -1)
		return;
	if ((sv->layer = svc_int(c, sec, title, "layer", 1, 999)) == -1 ||
	    (sv->restart_ms = svc_int(c, sec, title, "restart_ms", 1,
	    3600000)) == -1 || (sv->restart_max_ms = svc_int(c, sec, title,
	    "restart_max_ms", 1, 3600000)) == -1 || (sv->burst = svc_int(c,
	    sec, title, "burst", 1, 1000)) == -1 || (sv->burst_ms =
	    svc_int(c, sec, title, "burst_ms", 1, 3600000)) == -1 ||
	    (sv->stop_ms = svc_int(c, sec, title, "stop_ms", 1, 3600000)) ==
	    -1)
		return;
	if (sv->restart_max_ms < sv->restart_ms) {
		report(c->path, sec->line, "service %s: restart_max_ms = %d is "
		    "less than restart_ms = %d", title, sv->restart_max_ms,
		    sv->restart_ms);
		return;
	}
	sv->failback = cfg_getbool(sec, "failback") == cfg_true;
	c->nservices++;
}

static void
load_services(struct cl_conf *c, cfg_t *cfg)
{
	size_t	 i;

	for (i = 0; i < cfg_size(cfg, "service"); i++)
		load_service(c, cfg_getnsec(cfg, "service", i));
}

static void
check_volume_nodes(struct cl_conf *c)
{
	int	 i;

	for (i = 0; i < c->nvolumes; i++)
		if (c->volumes[i].preferred != 0 &&
		    conf_node(c, c->volumes[i].preferred) == NULL)
			report(c->path, c->volumes[i].line, "volume %s: "
			    "preferred = %u: no such node",
			    c->volumes[i].name, c->volumes[i].preferred);
}

static void
check_nodes(struct cl_conf *c)
{
	if (c->nnodes == 0) {
		report(c->path, 0, "no node sections");
		return;
	}
	if (c->self_set) {
		if (conf_node(c, c->self) == NULL)
			report(c->path, line_of("self"),
			    "self = %u: no such node", c->self);
		return;
	}
	(void)find_self(c);
}

/*
 * libconfuse 3.3 counts a comment's line more than once, so every error
 * after a comment named the wrong line.  Blank the comments out here,
 * newlines kept, and libconfuse sees no comment to miscount.  Quoted
 * strings are left alone, and a slash pair starts a comment only where a
 * token could start, as in libconfuse's lexer ("a//b" is a string).
 */
static void
blank_comments(char *s, size_t n)
{
	enum { TEXT, DQUOTE, SQUOTE, LINE, BLOCK } st = TEXT;
	int	 tokstart = 1;
	size_t	 i;

	for (i = 0; i < n; i++) {
		switch (st) {
		case TEXT:
			if (s[i] == '"' || s[i] == '\'')
				st = s[i] == '"' ? DQUOTE : SQUOTE;
			else if (s[i] == '#' || (tokstart && s[i] == '/' &&
			    i + 1 < n && (s[i + 1] == '/' || s[i + 1] == '*'))) {
				st = s[i] == '/' && s[i + 1] == '*' ? BLOCK : LINE;
				s[i] = ' ';
				if (st == BLOCK)
					s[++i] = ' ';
				break;
			}
			tokstart = strchr(" \t\r\n{}()=,;+", s[i]) != NULL;
			break;
		case DQUOTE:
		case SQUOTE:
			if (s[i] == '\\' && i + 1 < n)
				i++;
			else if (s[i] == (st == DQUOTE ? '"' : '\''))
				st = TEXT;
			tokstart = 0;
			break;
		case LINE:
			if (s[i] == '\n') {
				st = TEXT;
				tokstart = 1;
			} else
				s[i] = ' ';
			break;
		case BLOCK:
			if (s[i] == '*' && i + 1 < n && s[i + 1] == '/') {
				s[i] = s[i + 1] = ' ';
				i++;
				st = TEXT;
				tokstart = 1;
			} else if (s[i] != '\n')
				s[i] = ' ';
			break;
		}
	}
}

/*
 * Parse path with its comments blanked out (see blank_comments).  A file
 * that cannot be read is reported here.
 */
static int
parse_file(cfg_t *cfg, const char *path)
{
	struct stat	 st;
	char		*text = NULL;
	FILE		*fp = NULL;
	ssize_t		 r;
	size_t		 n = 0;
	int		 fd, rc = CFG_FILE_ERROR, save;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		report(path, 0, "%s", strerror(errno));
		return CFG_FILE_ERROR;
	}
	if (fstat(fd, &st) == -1)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		report(path, 0, "not a regular file");
		(void)close(fd);
		return CFG_FILE_ERROR;
	}
	if (st.st_size > CONF_FILE_MAX) {
		report(path, 0, "larger than %d bytes", CONF_FILE_MAX);
		(void)close(fd);
		return CFG_FILE_ERROR;
	}
	if ((text = malloc((size_t)st.st_size + 2)) == NULL)
		goto out;
	while (n < (size_t)st.st_size + 1) {
		r = read(fd, text + n, (size_t)st.st_size + 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			goto out;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > (size_t)st.st_size) {	/* grew while we read it */
		errno = EAGAIN;
		goto out;
	}
	text[n++] = '\n';		/* fmemopen refuses a size of 0 */
	blank_comments(text, n);
	if ((fp = fmemopen(text, n, "r")) == NULL)
		goto out;
	free(cfg->filename);
	if ((cfg->filename = strdup(path)) == NULL)
		goto out;
	rc = cfg_parse_fp(cfg, fp);
out:
	save = errno;
	if (rc == CFG_FILE_ERROR)
		report(path, 0, "%s", strerror(errno));
	if (fp != NULL)
		(void)fclose(fp);
	free(text);
	(void)close(fd);
	errno = save;
	return rc;
}

int
conf_load(struct cl_conf *c, const char *path)
{
	cfg_opt_t volpath_opts[] = {
		CFG_STR("path", NULL, CFGF_NODEFAULT),
		CFG_END()
	};
	cfg_opt_t vol_opts[] = {
		CFG_STR("path", NULL, CFGF_NODEFAULT),
		CFG_FLOAT("weight", 1.0, CFGF_NONE),
		CFG_STR("group", "", CFGF_NONE),
		CFG_INT("preferred", 0, CFGF_NONE),
		CFG_BOOL("migrate", cfg_true, CFGF_NONE),
		CFG_BOOL("failback", cfg_false, CFGF_NONE),
		CFG_STR_LIST("domains", NULL, CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t node_opts[] = {
		CFG_STR("address", NULL, CFGF_NODEFAULT),
		CFG_STR("name", NULL, CFGF_NODEFAULT),
		CFG_FLOAT("weight", 1.0, CFGF_NONE),
		CFG_STR_LIST("groups", NULL, CFGF_NONE),
		CFG_STR_LIST("domains", NULL, CFGF_NONE),
		CFG_SEC("volume", volpath_opts, CFGF_MULTI | CFGF_TITLE |
		    CFGF_NO_TITLE_DUPES),
		CFG_END()
	};
	cfg_opt_t svc_opts[] = {
		CFG_STR("exec", NULL, CFGF_NODEFAULT),
		CFG_INT_LIST("nodes", NULL, CFGF_NONE),
		CFG_INT("preferred", 0, CFGF_NONE),
		CFG_STR("instances", "1", CFGF_NONE),
		CFG_INT("layer", 500, CFGF_NONE),
		CFG_STR("restart", "on-failure", CFGF_NONE),
		CFG_INT("restart_ms", 100, CFGF_NONE),
		CFG_INT("restart_max_ms", 5000, CFGF_NONE),
		CFG_INT("burst", 5, CFGF_NONE),
		CFG_INT("burst_ms", 10000, CFGF_NONE),
		CFG_INT("stop_ms", 10000, CFGF_NONE),
		CFG_BOOL("failback", cfg_false, CFGF_NONE),
		CFG_STR("output", "", CFGF_NONE),
		CFG_STR("notify", "", CFGF_NONE),
		CFG_STR("recovery", "", CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t opts[] = {
		CFG_STR("cluster", "cl", CFGF_NONE),
		CFG_STR("keyfile", "/etc/cl/cl.key", CFGF_NONE),
		CFG_STR("rundir", "/run/cl", CFGF_NONE),
		CFG_STR("statedir", "/var/lib/cl", CFGF_NONE),
		CFG_STR("group", "cl", CFGF_NONE),
		CFG_INT("self", 0, CFGF_NODEFAULT),
		CFG_INT("heartbeat_ms", 100, CFGF_NONE),
		CFG_INT("fail_ms", 1000, CFGF_NONE),
		CFG_INT("transition_ms", 10000, CFGF_NONE),
		CFG_INT("msg_timeout_ms", 1000, CFGF_NONE),
		CFG_INT("damp_ms", 10000, CFGF_NONE),
		CFG_INT("max_payload", 16 * 1024 * 1024, CFGF_NONE),
		CFG_BOOL("encrypt", cfg_false, CFGF_NONE),
		CFG_INT("lease_ms", 5000, CFGF_NONE),
		CFG_INT("event_timeout_ms", 30000, CFGF_NONE),
		CFG_FLOAT("imbalance", 0.2, CFGF_NONE),
		CFG_INT("rebalance_ms", 10000, CFGF_NONE),
		CFG_INT("util_high", 80, CFGF_NONE),
		CFG_INT("rtt_high_ms", 100, CFGF_NONE),
		CFG_INT("util_ms", 1000, CFGF_NONE),
		CFG_SEC("node", node_opts, CFGF_MULTI | CFGF_TITLE |
		    CFGF_NO_TITLE_DUPES),
		CFG_SEC("volume", vol_opts, CFGF_MULTI | CFGF_TITLE |
		    CFGF_NO_TITLE_DUPES),
		CFG_SEC("service", svc_opts, CFGF_MULTI | CFGF_TITLE |
		    CFGF_NO_TITLE_DUPES),
		CFG_END()
	};
	cfg_t		*cfg;
	size_t		 i;
	int		 rc;

	memset(c, 0, sizeof(*c));
	nerrors = 0;
	for (i = 0; i < sizeof(optlines) / sizeof(optlines[0]); i++)
		optlines[i].line = 0;
	if (strlcpy(c->path, path, sizeof(c->path)) >= sizeof(c->path)) {
		report(path, 0, "path too long");
		return -1;
	}
	if ((cfg = cfg_init(opts, CFGF_NONE)) == NULL) {
		report(path, 0, "cannot set up the parser: %s",
		    strerror(errno));
		return -1;
	}
	(void)cfg_set_error_function(cfg, cfg_errfn);
	(void)cfg_set_validate_func(cfg, "heartbeat_ms", valid_ms);
	(void)cfg_set_validate_func(cfg, "fail_ms", valid_ms);
	(void)cfg_set_validate_func(cfg, "transition_ms", valid_ms);
	(void)cfg_set_validate_func(cfg, "msg_timeout_ms", valid_ms);
	(void)cfg_set_validate_func(cfg, "damp_ms", valid_ms);
	(void)cfg_set_validate_func(cfg, "lease_ms", valid_ms);
	(void)cfg_set_validate_func(cfg, "event_timeout_ms", valid_ms);
	(void)cfg_set_validate_func(cfg, "rebalance_ms", valid_ms);
	(void)cfg_set_validate_func(cfg, "rtt_high_ms", valid_ms);
	(void)cfg_set_validate_func(cfg, "util_ms", valid_ms);
	(void)cfg_set_validate_func(cfg, "util_high", valid_percent);
	(void)cfg_set_validate_func(cfg, "imbalance", valid_fraction);
	(void)cfg_set_validate_func(cfg, "self", valid_self);
	(void)cfg_set_validate_func(cfg, "max_payload", valid_payload);
	(void)cfg_set_validate_func(cfg, "cluster", valid_name);
	(void)cfg_set_validate_func(cfg, "node|name", valid_name);
	(void)cfg_set_validate_func(cfg, "keyfile", valid_any);
	(void)cfg_set_validate_func(cfg, "rundir", valid_any);
	(void)cfg_set_validate_func(cfg, "statedir", valid_any);
	(void)cfg_set_validate_func(cfg, "group", valid_any);
	(void)cfg_set_validate_func(cfg, "encrypt", valid_any);

	rc = parse_file(cfg, path);
	if (rc == CFG_FILE_ERROR) {
		cfg_free(cfg);
		return -1;
	}
	if (rc != CFG_SUCCESS) {
		cfg_free(cfg);
		return -1;
	}
	load_globals(c, cfg);
	for (i = 0; i < cfg_size(cfg, "node"); i++)
		(void)load_node(c, cfg_getnsec(cfg, "node", i));
	load_volumes(c, cfg);
	check_volume_nodes(c);
	load_services(c, cfg);
	check_nodes(c);
	cfg_free(cfg);
	return nerrors > 0 ? -1 : 0;
}

const struct cl_node *
conf_node(const struct cl_conf *c, uint32_t id)
{
	int	 i;

	for (i = 0; i < c->nnodes; i++)
		if (c->nodes[i].id == id)
			return &c->nodes[i];
	return NULL;
}

const struct cl_volume *
conf_volume(const struct cl_conf *c, const char *name)
{
	int	 i;

	for (i = 0; i < c->nvolumes; i++)
		if (strcmp(c->volumes[i].name, name) == 0)
			return &c->volumes[i];
	return NULL;
}

const struct cl_service *
conf_service(const struct cl_conf *c, const char *name)
{
	int	 i;

	for (i = 0; i < c->nservices; i++)
		if (strcmp(c->services[i].name, name) == 0)
			return &c->services[i];
	return NULL;
}

/* May sv run on node?  No nodes list: every node. */
int
conf_service_allows(const struct cl_service *sv, uint32_t node)
{
	int	 i;

	if (sv->nnodes == 0)
		return 1;
	for (i = 0; i < sv->nnodes; i++)
		if (sv->nodes[i] == node)
			return 1;
	return 0;
}

/* The path node opens v at; NULL if that node cannot reach it. */
const char *
conf_volume_path(const struct cl_conf *c, const struct cl_volume *v,
    uint32_t node)
{
	int	 i;

	(void)c;
	for (i = 0; i < v->nover; i++)
		if (v->over[i].node == node)
			return v->over[i].path[0] != '\0' ? v->over[i].path :
			    NULL;
	return v->path;
}

/* A majority of the configured nodes (DESIGN.md, Membership). */
int
conf_quorum(const struct cl_conf *c)
{
	return c->nnodes / 2 + 1;
}

/* -f, else $CL_CONF, else the default. */
const char *
conf_path(const char *arg)
{
	const char *env;

	if (arg != NULL)
		return arg;
	if ((env = getenv("CL_CONF")) != NULL && *env != '\0')
		return env;
	return CONF_DEFAULT;
}

/* key = "value", quoted so that libconfuse reads back the same bytes. */
static void
print_str(FILE *fp, const char *key, const char *val)
{
	(void)fprintf(fp, "%s = \"", key);
	for (; *val != '\0'; val++) {
		if (*val == '"' || *val == '\\')
			(void)fputc('\\', fp);
		(void)fputc(*val, fp);
	}
	(void)fprintf(fp, "\"\n");
}

static void
print_overrides(FILE *fp, const struct cl_conf *c, uint32_t node)
{
	const struct cl_volume	*v;
	int			 i, j;

	for (i = 0; i < c->nvolumes; i++) {
		v = &c->volumes[i];
		for (j = 0; j < v->nover; j++) {
			if (v->over[j].node != node)
				continue;
			(void)fprintf(fp, "\tvolume %s {\n\t\t", v->name);
			print_str(fp, "path", v->over[j].path);
			(void)fprintf(fp, "\t}\n");
		}
	}
}

static void
print_service(FILE *fp, const struct cl_service *sv)
{
	static const char *restart[] = { "no", "on-failure", "always" };
	int	 i;

	(void)fprintf(fp, "\nservice %s {\n\t", sv->name);
	print_str(fp, "exec", sv->exec);
	if (sv->nnodes > 0) {
		(void)fprintf(fp, "\tnodes = {");
		for (i = 0; i < sv->nnodes; i++)
			(void)fprintf(fp, "%s%u", i > 0 ? ", " : "",
			    sv->nodes[i]);
		(void)fprintf(fp, "}\n");
	}
	if (sv->preferred != 0)
		(void)fprintf(fp, "\tpreferred = %u\n", sv->preferred);
	(void)fprintf(fp, "\tinstances = \"%s\"\n", sv->all ? "all" : "1");
	(void)fprintf(fp, "\tlayer = %d\n", sv->layer);
	(void)fprintf(fp, "\trestart = \"%s\"\n", restart[sv->restart]);
	(void)fprintf(fp, "\trestart_ms = %d\n\trestart_max_ms = %d\n",
	    sv->restart_ms, sv->restart_max_ms);
	(void)fprintf(fp, "\tburst = %d\n\tburst_ms = %d\n", sv->burst,
	    sv->burst_ms);
	(void)fprintf(fp, "\tstop_ms = %d\n", sv->stop_ms);
	(void)fprintf(fp, "\tfailback = %s\n", sv->failback ? "true" :
	    "false");
	(void)fprintf(fp, "\t");
	print_str(fp, "output", sv->output);
	(void)fprintf(fp, "\t");
	print_str(fp, "notify", sv->notify);
	(void)fprintf(fp, "\t");
	print_str(fp, "recovery", sv->recovery);
	(void)fprintf(fp, "}\n");
}

/* key = number: the shortest form that reads back the same. */
static void
print_num(FILE *fp, const char *indent, const char *key, double v)
{
	char	 buf[64];

	(void)snprintf(buf, sizeof(buf), "%g", v);
	if (strtod(buf, NULL) != v)
		(void)snprintf(buf, sizeof(buf), "%.17g", v);
	(void)fprintf(fp, "%s%s = %s\n", indent, key, buf);
}

static void
print_names(FILE *fp, const char *key, const struct cl_names *nm)
{
	int	 i;

	if (nm->n == 0)
		return;
	(void)fprintf(fp, "\t%s = {", key);
	for (i = 0; i < nm->n; i++)
		(void)fprintf(fp, "%s\"%s\"", i > 0 ? ", " : "", nm->name[i]);
	(void)fprintf(fp, "}\n");
}

/* The canonical form, for -nv: feeding it back gives the same config. */
void
conf_print(FILE *fp, const struct cl_conf *c)
{
	const struct cl_volume	*v;
	const struct cl_node	*n;
	int			 i;

	print_str(fp, "cluster", c->cluster);
	print_str(fp, "keyfile", c->keyfile);
	print_str(fp, "rundir", c->rundir);
	print_str(fp, "statedir", c->statedir);
	print_str(fp, "group", c->group);
	if (c->self_set)
		(void)fprintf(fp, "self = %u\n", c->self);
	(void)fprintf(fp, "heartbeat_ms = %d\n", c->heartbeat_ms);
	(void)fprintf(fp, "fail_ms = %d\n", c->fail_ms);
	(void)fprintf(fp, "transition_ms = %d\n", c->transition_ms);
	(void)fprintf(fp, "msg_timeout_ms = %d\n", c->msg_timeout_ms);
	(void)fprintf(fp, "damp_ms = %d\n", c->damp_ms);
	(void)fprintf(fp, "max_payload = %zu\n", c->max_payload);
	(void)fprintf(fp, "encrypt = %s\n", c->encrypt ? "true" : "false");
	(void)fprintf(fp, "lease_ms = %d\n", c->lease_ms);
	(void)fprintf(fp, "event_timeout_ms = %d\n", c->event_timeout_ms);
	print_num(fp, "", "imbalance", c->imbalance);
	(void)fprintf(fp, "rebalance_ms = %d\n", c->rebalance_ms);
	(void)fprintf(fp, "util_high = %d\n", c->util_high);
	(void)fprintf(fp, "rtt_high_ms = %d\n", c->rtt_high_ms);
	(void)fprintf(fp, "util_ms = %d\n", c->util_ms);
	for (i = 0; i < c->nvolumes; i++) {
		v = &c->volumes[i];
		(void)fprintf(fp, "\nvolume %s {\n\t", v->name);
		print_str(fp, "path", v->path);
		print_num(fp, "\t", "weight", v->weight);
		(void)fprintf(fp, "\t");
		print_str(fp, "group", v->group);
		if (v->preferred != 0)
			(void)fprintf(fp, "\tpreferred = %u\n", v->preferred);
		(void)fprintf(fp, "\tmigrate = %s\n", v->migrate ? "true" :
		    "false");
		(void)fprintf(fp, "\tfailback = %s\n", v->failback ? "true" :
		    "false");
		print_names(fp, "domains", &v->domains);
		(void)fprintf(fp, "}\n");
	}
	for (i = 0; i < c->nnodes; i++) {
		n = &c->nodes[i];
		(void)fprintf(fp, "\nnode %u {\n", n->id);
		(void)fprintf(fp, "\tname = \"%s\"\n", n->name);
		if (strchr(n->host, ':') != NULL)
			(void)fprintf(fp, "\taddress = \"[%s]:%s\"\n", n->host,
			    n->port);
		else
			(void)fprintf(fp, "\taddress = \"%s:%s\"\n", n->host,
			    n->port);
		print_num(fp, "\t", "weight", n->weight);
		print_names(fp, "groups", &n->groups);
		print_names(fp, "domains", &n->domains);
		print_overrides(fp, c, n->id);
		(void)fprintf(fp, "}\n");
	}
	for (i = 0; i < c->nservices; i++)
		print_service(fp, &c->services[i]);
}
