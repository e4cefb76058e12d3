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
 * cl.conf loading (libcl/conf.c): defaults, every key, errors as
 * "file:line: message" (all value errors in one run), the -nv round
 * trip through conf_print, conf_quorum, and cllaunch's service sections.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "unit.h"

#define ERRS_MAX	32

static char	 errs[ERRS_MAX][1400];
static int	 nerrs;
static char	 path[64];
static struct cl_conf c1, c2;

static void
collect(const char *msg)
{
	if (nerrs < ERRS_MAX)
		(void)strlcpy(errs[nerrs], msg, sizeof(errs[nerrs]));
	nerrs++;
}

/* Write text to a new temporary file; its name goes to path. */
static int
write_conf(const char *text)
{
	FILE	*fp;
	int	 fd;

	(void)snprintf(path, sizeof(path), "%s/cl-conf.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if ((fd = mkstemp(path)) == -1)
		return -1;
	if ((fp = fdopen(fd, "w")) == NULL) {
		(void)close(fd);
		return -1;
	}
	(void)fputs(text, fp);
	return fclose(fp) == 0 ? 0 : -1;
}

/* Load text as a config file; errors go to errs[]. */
static int
load(struct cl_conf *c, const char *text)
{
	int	 rc;

	nerrs = 0;
	if (write_conf(text) == -1) {
		unit_diag("cannot write a temporary config");
		return -2;
	}
	rc = conf_load(c, path);
	(void)unlink(path);
	return rc;
}

static void
show_errs(void)
{
	int	 i;

	for (i = 0; i < nerrs && i < ERRS_MAX; i++)
		unit_diag("error: %s", errs[i]);
}

/*
 * An error "path:line: ..." containing text was reported; line 0 means
 * "path: ..." (an error of the whole file), -1 any line or none.
 */
static int
has_err(int line, const char *text)
{
	char	 pre[128];
	int	 i;

	if (line > 0)
		(void)snprintf(pre, sizeof(pre), "%s:%d: ", path, line);
	else if (line == 0)
		(void)snprintf(pre, sizeof(pre), "%s: ", path);
	else
		(void)snprintf(pre, sizeof(pre), "%s:", path);
	for (i = 0; i < nerrs && i < ERRS_MAX; i++)
		if (strncmp(errs[i], pre, strlen(pre)) == 0 &&
		    strstr(errs[i] + strlen(pre), text) != NULL)
			return 1;
	return 0;
}

/* text fails to load with an error at line naming what. */
static void
refuse(const char *name, const char *text, int line, const char *what)
{
	int	 rc;

	rc = load(&c1, text);
	if (!CHECKF(rc == -1 && has_err(line, what), "%s: %s%.0d%s...%s...",
	    name, line >= 0 ? "file:" : "file...", line, line > 0 ? ": " : " ",
	    what)) {
		unit_diag("conf_load returned %d", rc);
		show_errs();
	}
}

static void
test_defaults(void)
{
	int	 rc;

	rc = load(&c1, "self = 1\nnode 1 { address = \"198.51.100.1:7000\" }\n");
	if (!CHECK(rc == 0 && nerrs == 0, "minimal config loads"))
		show_errs();
	CHECK_STR(c1.path, path, "path kept");
	CHECK_STR(c1.cluster, "cl", "default cluster");
	CHECK_STR(c1.keyfile, "/etc/cl/cl.key", "default keyfile");
	CHECK_STR(c1.rundir, "/run/cl", "default rundir");
	CHECK_STR(c1.statedir, "/var/lib/cl", "default statedir");
	CHECK_STR(c1.group, "cl", "default group");
	CHECK(c1.heartbeat_ms == 100, "default heartbeat_ms 100");
	CHECK(c1.fail_ms == 1000, "default fail_ms 1000");
	CHECK(c1.transition_ms == 10000, "default transition_ms 10000");
	CHECK(c1.msg_timeout_ms == 1000, "default msg_timeout_ms 1000");
	CHECK(c1.damp_ms == 10000, "default damp_ms 10000");
	CHECK(c1.max_payload == 16 * 1024 * 1024, "default max_payload 16 MiB");
	CHECK(c1.encrypt == 0, "default encrypt false");
	CHECK(c1.self == 1 && c1.self_set == 1, "self = 1 taken");
	CHECK(c1.nnodes == 1 && c1.nodes[0].id == 1 &&
	    strcmp(c1.nodes[0].host, "198.51.100.1") == 0 &&
	    strcmp(c1.nodes[0].port, "7000") == 0,
	    "node 1: host and port split");
	CHECK_STR(c1.nodes[0].name, "node1", "default node name node<id>");
	CHECK(conf_node(&c1, 1) == &c1.nodes[0] && conf_node(&c1, 2) == NULL,
	    "conf_node finds configured nodes only");
}

static const char full[] =
    "# every key\n"
    "cluster = \"prod-1.a_b\"\n"
    "keyfile = \"/srv/cl/key file\"\n"
    "rundir = \"/srv/run\"\n"
    "statedir = \"/srv/state\"\n"
    "group = \"wheel\"\n"
    "self = 7\n"
    "heartbeat_ms = 50\n"
    "fail_ms = 400\n"
    "transition_ms = 2500\n"
    "damp_ms = 3000\n"
    "max_payload = 65536\n"
    "encrypt = true\n"
    "node 7 {\n"
    "\tname = \"alpha\"\n"
    "\taddress = \"10.1.2.3:7001\"\n"
    "}\n"
    "node 12 { address = \"[2001:db8::5]:7002\" }\n"
    "node 255 {\n"
    "\tname = \"Zed-9.x\"\n"
    "\taddress = \"host.example:65535\"\n"
    "}\n";

static void
test_every_key(void)
{
	int	 rc;

	rc = load(&c1, full);
	if (!CHECK(rc == 0 && nerrs == 0, "config with every key loads"))
		show_errs();
	CHECK_STR(c1.cluster, "prod-1.a_b", "cluster parsed");
	CHECK_STR(c1.keyfile, "/srv/cl/key file", "keyfile parsed");
	CHECK_STR(c1.rundir, "/srv/run", "rundir parsed");
	CHECK_STR(c1.statedir, "/srv/state", "statedir parsed");
	CHECK_STR(c1.group, "wheel", "group parsed");
	CHECK(c1.self == 7 && c1.self_set, "self parsed");
	CHECK(c1.heartbeat_ms == 50, "heartbeat_ms parsed");
	CHECK(c1.fail_ms == 400, "fail_ms parsed");
	CHECK(c1.transition_ms == 2500, "transition_ms parsed");
	CHECK(c1.damp_ms == 3000, "damp_ms parsed");
	CHECK(c1.max_payload == 65536, "max_payload parsed");
	CHECK(c1.encrypt == 1, "encrypt parsed");
	CHECK(c1.nnodes == 3, "three nodes");
	CHECK(c1.nodes[0].id == 7 && strcmp(c1.nodes[0].name, "alpha") == 0 &&
	    strcmp(c1.nodes[0].host, "10.1.2.3") == 0 &&
	    strcmp(c1.nodes[0].port, "7001") == 0, "node 7 parsed");
	CHECK(c1.nodes[1].id == 12 &&
	    strcmp(c1.nodes[1].host, "2001:db8::5") == 0 &&
	    strcmp(c1.nodes[1].port, "7002") == 0 &&
	    strcmp(c1.nodes[1].name, "node12") == 0,
	    "node 12: bracketed IPv6 address parsed");
	CHECK(c1.nodes[2].id == 255 &&
	    strcmp(c1.nodes[2].name, "Zed-9.x") == 0 &&
	    strcmp(c1.nodes[2].host, "host.example") == 0 &&
	    strcmp(c1.nodes[2].port, "65535") == 0, "node 255 parsed");
}

static void
test_errors(void)
{
	static const char n1[] = "node 1 { address = \"198.51.100.1:1\" }\n";
	char	 s[2048];
	int	 rc;

	/* libconfuse's own errors: types, unknown keys, syntax. */
	refuse("heartbeat_ms not a number",
	    "self = 1\nheartbeat_ms = abc\nnode 1 { address = \"h:1\" }\n", 2,
	    "heartbeat_ms");
	refuse("encrypt not a boolean",
	    "self = 1\n\nencrypt = maybe\nnode 1 { address = \"h:1\" }\n", 3,
	    "encrypt");
	refuse("self not a number",
	    "self = \"one\"\nnode 1 { address = \"h:1\" }\n", 1, "self");
	refuse("unknown key", "self = 1\nfoo = 1\nnode 1 { address = \"h:1\" }\n",
	    2, "foo");
	refuse("unknown key in a node",
	    "self = 1\nnode 1 {\naddress = \"h:1\"\nport = 5\n}\n", 4,
	    "port");
	refuse("syntax error", "self = 1\nnode 1 { address = \"h:1\" }\n}\n",
	    -1, "");

	/* Node ids. */
	refuse("duplicate node id",
	    "self = 1\nnode 1 { address = \"h:1\" }\nnode 1 { address = "
	    "\"h:2\" }\n", 3, "1");
	refuse("duplicate node id, 1 and 01",
	    "self = 1\nnode 1 { address = \"h:1\" }\nnode 01 { address = "
	    "\"h:2\" }\n", 3, "duplicate id");
	refuse("node id 0", "self = 1\nnode 0 { address = \"h:1\" }\n", 2,
	    "id must be a number from 1 to 255");
	refuse("node id 256", "self = 1\nnode 256 { address = \"h:1\" }\n", 2,
	    "id must be a number from 1 to 255");
	refuse("node id -1", "self = 1\nnode -1 { address = \"h:1\" }\n", 2,
	    "id must be a number from 1 to 255");
	refuse("node id abc", "self = 1\nnode abc { address = \"h:1\" }\n", 2,
	    "id must be a number from 1 to 255");
	refuse("node id 1x", "self = 1\nnode 1x { address = \"h:1\" }\n", 2,
	    "id must be a number from 1 to 255");

	/* Addresses. */
	refuse("address without a port", "self = 1\nnode 1 { address = "
	    "\"198.51.100.1\" }\n", 2, "is not host:port");
	refuse("address with port 0", "self = 1\nnode 1 { address = "
	    "\"h:0\" }\n", 2, "is not host:port");
	refuse("address with port 65536", "self = 1\nnode 1 { address = "
	    "\"h:65536\" }\n", 2, "is not host:port");
	refuse("address with an empty port", "self = 1\nnode 1 { address = "
	    "\"h:\" }\n", 2, "is not host:port");
	refuse("address with an empty host", "self = 1\nnode 1 { address = "
	    "\":7000\" }\n", 2, "is not host:port");
	refuse("address with a port word", "self = 1\nnode 1 { address = "
	    "\"h:http\" }\n", 2, "is not host:port");
	refuse("bracketed IPv6 address without ':' before the port", "self = 1\nnode 1 { address = "
	    "\"[::1]7000\" }\n", 2, "is not host:port");
	refuse("node without an address", "self = 1\nnode 1 { name = \"x\" }\n",
	    2, "no address");
	refuse("two nodes, one address", "self = 1\nnode 1 { address = "
	    "\"h:1\" }\nnode 2 { address = \"h:1\" }\n", 3, "also node 1");

	/* Values. */
	refuse("heartbeat_ms 0", "self = 1\nheartbeat_ms = 0\n"
	    "node 1 { address = \"h:1\" }\n", 2, "heartbeat_ms = 0");
	refuse("max_payload too small", "self = 1\nmax_payload = 1\n"
	    "node 1 { address = \"h:1\" }\n", 2, "max_payload = 1");
	refuse("self 0", "self = 0\nnode 1 { address = \"h:1\" }\n", 1,
	    "self = 0");
	refuse("self 256", "self = 256\nnode 1 { address = \"h:1\" }\n", 1,
	    "self = 256");
	refuse("cluster name with a space", "self = 1\ncluster = \"a b\"\n"
	    "node 1 { address = \"h:1\" }\n", 2, "cluster");
	refuse("node name with '!'", "self = 1\nnode 1 {\naddress = \"h:1\"\n"
	    "name = \"bad!\"\n}\n", 4, "name");
	refuse("empty keyfile", "self = 1\nkeyfile = \"\"\n"
	    "node 1 { address = \"h:1\" }\n", 2, "keyfile");
	refuse("no node sections", "self = 1\n", 0, "no node");
	/* libconfuse 3.3 miscounts comment lines; conf.c blanks them. */
	refuse("after two # comments", "# a\n# b\nfoo = 1\n", 3, "foo");
	refuse("after // and a block comment", "/* a\nb */\nself = 1 // c\n"
	    "foo = 1\n", 4, "foo");
	CHECK(load(&c1, "keyfile = \"/k#1//x\" # c\nself = 1\n"
	    "node 1 { address = \"h:1\" } /* n */\n") == 0 &&
	    strcmp(c1.keyfile, "/k#1//x") == 0,
	    "a # or // inside quotes is not a comment");
	/* These two have a line to name: the statement at fault. */
	rc = load(&c1, "self = 1\nheartbeat_ms = 600\n"
	    "node 1 { address = \"h:1\" }\n");
	if (!CHECK(rc == -1 && (has_err(2, "fail_ms") ||
	    has_err(2, "heartbeat_ms")),
	    "fail_ms < 2 * heartbeat_ms: \"file:2: ...\" (the heartbeat_ms "
	    "line)"))
		show_errs();
	refuse("self naming no node",
	    "\nself = 9\nnode 1 { address = \"h:1\" }\n", 2,
	    "self = 9: no such node");
	refuse("no self and no local address",
	    "node 1 { address = \"198.51.100.1:7000\" }\n"
	    "node 2 { address = \"198.51.100.2:7000\" }\n", 0,
	    "no node address is local");
	refuse("no self and two local addresses",
	    "node 1 { address = \"127.0.0.1:7000\" }\n"
	    "node 2 { address = \"127.0.0.1:7001\" }\n", 0,
	    "2 node addresses are local");
	rc = load(&c1, "node 1 { address = \"198.51.100.1:7000\" }\n"
	    "node 2 { address = \"127.0.0.1:7001\" }\n");
	CHECK(rc == 0 && c1.self == 2 && c1.self_set == 0,
	    "no self: the node with a local address is self");

	/* Every value error of one file in one run. */
	(void)snprintf(s, sizeof(s),
	    "self = 0\n"				/* 1 */
	    "heartbeat_ms = 0\n"			/* 2 */
	    "max_payload = 1\n"				/* 3 */
	    "cluster = \"a b\"\n"			/* 4 */
	    "node 300 { address = \"h:1\" }\n"		/* 5 */
	    "node 2 { address = \"nothing\" }\n"	/* 6 */
	    "%s", n1);					/* 7 */
	rc = load(&c1, s);
	if (!CHECK(rc == -1 && nerrs >= 6 && has_err(1, "self = 0") &&
	    has_err(2, "heartbeat_ms = 0") && has_err(3, "max_payload = 1") &&
	    has_err(4, "cluster") && has_err(5, "node \"300\"") &&
	    has_err(6, "node 2"), "six value errors reported in one run"))
		show_errs();

	nerrs = 0;
	(void)strlcpy(path, "/nonexistent/cl.conf", sizeof(path));
	rc = conf_load(&c1, path);
	if (!CHECK(rc == -1 && has_err(0, "No such file"),
	    "missing file: \"file: No such file or directory\""))
		show_errs();
}

static const char volconf[] =
    "self = 2\n"
    "lease_ms = 750\n"
    "event_timeout_ms = 2500\n"
    "volume fs1 { path = \"/dev/sdb\" }\n"
    "volume home-2 { path = \"/srv/home.vol\" }\n"
    "node 1 { address = \"198.51.100.1:7000\" }\n"
    "node 2 {\n"
    "\taddress = \"198.51.100.2:7000\"\n"
    "\tvolume fs1 { path = \"/dev/mapper/fs1\" }\n"
    "\tvolume home-2 { path = \"\" }\n"
    "}\n";

/* cllaunch's service sections: every field, two services, one minimal. */
static const char svcconf[] =
    "self = 2\n"
    "node 1 { address = \"198.51.100.1:7000\" }\n"
    "node 2 { address = \"198.51.100.2:7000\" }\n"
    "node 3 { address = \"198.51.100.3:7000\" }\n"
    "service clmetad.fs1 {\n"
    "\texec = \"clmetad -d -F fs1 -N %n %%\"\n"
    "\tnodes = {2, 3, 1}\n"
    "\tpreferred = 3\n"
    "\tinstances = \"1\"\n"
    "\tlayer = 300\n"
    "\trestart = \"always\"\n"
    "\trestart_ms = 20\n"
    "\trestart_max_ms = 40\n"
    "\tburst = 3\n"
    "\tburst_ms = 2000\n"
    "\tfailback = true\n"
    "\tstop_ms = 1500\n"
    "\toutput = \"/var/log/cl/clmetad fs1.log\"\n"
    "\tnotify = \"logger -t cl \\\"moved \\\\ to %n\\\"\"\n"
    "\trecovery = \"clfs fsck -y fs1\"\n"
    "}\n"
    "service cliod {\n"
    "\texec = \"cliod -d\"\n"
    "\tinstances = \"all\"\n"
    "\trestart = \"no\"\n"
    "}\n"
    "service min_1-x { exec = \"true\" }\n";

static int
same_volume(const struct cl_volume *a, const struct cl_volume *b)
{
	int	 i;

	if (strcmp(a->name, b->name) || strcmp(a->path, b->path) ||
	    a->nover != b->nover)
		return 0;
	for (i = 0; i < a->nover; i++)
		if (a->over[i].node != b->over[i].node ||
		    strcmp(a->over[i].path, b->over[i].path))
			return 0;
	return 1;
}

static int
same_service(const struct cl_service *a, const struct cl_service *b)
{
	int	 i;

	if (strcmp(a->name, b->name) || strcmp(a->exec, b->exec) ||
	    strcmp(a->notify, b->notify) || strcmp(a->recovery, b->recovery) ||
	    strcmp(a->output, b->output) || a->nnodes != b->nnodes ||
	    a->preferred != b->preferred || a->all != b->all ||
	    a->layer != b->layer || a->restart != b->restart ||
	    a->restart_ms != b->restart_ms ||
	    a->restart_max_ms != b->restart_max_ms || a->burst != b->burst ||
	    a->burst_ms != b->burst_ms || a->stop_ms != b->stop_ms ||
	    a->failback != b->failback)
		return 0;
	for (i = 0; i < a->nnodes; i++)
		if (a->nodes[i] != b->nodes[i])
			return 0;
	return 1;
}

static int
same_conf(const struct cl_conf *a, const struct cl_conf *b)
{
	int	 i;

	if (strcmp(a->cluster, b->cluster) || strcmp(a->keyfile, b->keyfile) ||
	    strcmp(a->rundir, b->rundir) || strcmp(a->statedir, b->statedir) ||
	    strcmp(a->group, b->group) || a->self != b->self ||
	    a->self_set != b->self_set || a->heartbeat_ms != b->heartbeat_ms ||
	    a->fail_ms != b->fail_ms || a->transition_ms != b->transition_ms ||
	    a->msg_timeout_ms != b->msg_timeout_ms ||
	    a->damp_ms != b->damp_ms || a->encrypt != b->encrypt ||
	    a->max_payload != b->max_payload || a->nnodes != b->nnodes ||
	    a->lease_ms != b->lease_ms ||
	    a->event_timeout_ms != b->event_timeout_ms ||
	    a->nvolumes != b->nvolumes || a->nservices != b->nservices)
		return 0;
	for (i = 0; i < a->nservices; i++)
		if (!same_service(&a->services[i], &b->services[i]))
			return 0;
	for (i = 0; i < a->nvolumes; i++)
		if (!same_volume(&a->volumes[i], &b->volumes[i]))
			return 0;
	for (i = 0; i < a->nnodes; i++)
		if (a->nodes[i].id != b->nodes[i].id ||
		    strcmp(a->nodes[i].name, b->nodes[i].name) ||
		    strcmp(a->nodes[i].host, b->nodes[i].host) ||
		    strcmp(a->nodes[i].port, b->nodes[i].port))
			return 0;
	return 1;
}

/* conf_print of text, loaded back: the same config (clmemberd -nv). */
static void
roundtrip(const char *name, const char *text)
{
	static char	 out1[8192], out2[8192];
	FILE		*fp;
	int		 rc;

	rc = load(&c1, text);
	if (!CHECKF(rc == 0, "%s: loads", name)) {
		show_errs();
		return;
	}
	if ((fp = fmemopen(out1, sizeof(out1), "w")) == NULL)
		return;
	conf_print(fp, &c1);
	(void)fclose(fp);
	rc = load(&c2, out1);
	if (!CHECKF(rc == 0, "%s: conf_print output loads", name)) {
		show_errs();
		unit_diag("%s", out1);
		return;
	}
	CHECKF(same_conf(&c1, &c2), "%s: the same config back", name);
	if ((fp = fmemopen(out2, sizeof(out2), "w")) == NULL)
		return;
	conf_print(fp, &c2);
	(void)fclose(fp);
	CHECKF(strcmp(out1, out2) == 0, "%s: printing is idempotent", name);
}

static void
test_roundtrip(void)
{
	roundtrip("round trip, every key", full);
	roundtrip("round trip, defaults",
	    "self = 1\nnode 1 { address = \"198.51.100.1:7000\" }\n");
	roundtrip("round trip, self by address",
	    "node 1 { address = \"198.51.100.1:7000\" }\n"
	    "node 2 { address = \"127.0.0.1:7001\" }\n");
	roundtrip("round trip, volumes and a node's own paths", volconf);
	roundtrip("round trip, service sections with every field", svcconf);
	roundtrip("round trip, IPv6 and names",
	    "self = 3\nnode 3 {\naddress = \"[::1]:9\"\nname = \"n-3\"\n}\n"
	    "node 1 { address = \"[fe80::1]:10\" }\n");
	/* Paths may hold any byte libconfuse can quote. */
	roundtrip("round trip, a keyfile path with a quote and a backslash",
	    "self = 1\nkeyfile = \"/etc/cl/\\\"odd\\\"\\\\name.key\"\n"
	    "node 1 { address = \"198.51.100.1:7000\" }\n");
}

/* DESIGN.md, File system: a volume every node opens at its own path. */
static void
test_volumes(void)
{
	const struct cl_volume	*v, *h;
	const char		*p;
	int			 rc;

	rc = load(&c1, volconf);
	if (!CHECK(rc == 0 && nerrs == 0, "volumes load"))
		show_errs();
	CHECK(c1.lease_ms == 750, "lease_ms parsed");
	CHECK(c1.event_timeout_ms == 2500, "event_timeout_ms parsed");
	v = conf_volume(&c1, "fs1");
	h = conf_volume(&c1, "home-2");
	CHECK(c1.nvolumes == 2 && v != NULL && h != NULL &&
	    conf_volume(&c1, "fs2") == NULL, "conf_volume finds the two");
	if (v == NULL || h == NULL)
		return;
	p = conf_volume_path(&c1, v, 1);
	CHECK(p != NULL && strcmp(p, "/dev/sdb") == 0,
	    "node 1 opens fs1 at the default path");
	p = conf_volume_path(&c1, v, 2);
	CHECK(p != NULL && strcmp(p, "/dev/mapper/fs1") == 0,
	    "node 2 opens fs1 at its own path");
	CHECK(conf_volume_path(&c1, h, 2) == NULL,
	    "node 2 with path \"\" cannot reach home-2");
	CHECK(load(&c1, "self = 1\nnode 1 { address = \"h:1\" }\n") == 0 &&
	    c1.lease_ms == 5000 && c1.nvolumes == 0 &&
	    c1.event_timeout_ms == 30000,
	    "default lease_ms 5000, event_timeout_ms 30000");

	refuse("volume without a path",
	    "self = 1\nnode 1 { address = \"h:1\" }\nvolume fs1 { }\n", 3,
	    "volume fs1: no path");
	refuse("volume with a bad name",
	    "self = 1\nnode 1 { address = \"h:1\" }\n"
	    "volume \"a/b\" { path = \"/x\" }\n", 3, "volume \"a/b\"");
	refuse("a node's path for an undefined volume",
	    "self = 1\nnode 1 {\naddress = \"h:1\"\n"
	    "volume fs9 { path = \"/x\" }\n}\n", 4,
	    "volume fs9 is not defined");
	refuse("volume defined twice",
	    "self = 1\nnode 1 { address = \"h:1\" }\n"
	    "volume fs1 { path = \"/a\" }\nvolume fs1 { path = \"/b\" }\n",
	    -1, "fs1");
	refuse("lease_ms zero",
	    "self = 1\nlease_ms = 0\nnode 1 { address = \"h:1\" }\n", 2,
	    "lease_ms");
}

/*
 * Service sections (cllaunch; /tmp/plan: every daemon accepts them).
 * The error cases are one-line sections, so that "file:N" is the line of
 * the section and of its field at once.
 */
static void
test_services(void)
{
	static const char pre[] = "self = 1\n"
	    "node 1 { address = \"h:1\" }\n"
	    "node 2 { address = \"h:2\" }\n";	/* service on line 4 */
	const struct cl_service	*sv, *io, *mn;
	char			 s[8192], name[64];
	size_t			 n;
	int			 rc, i;

	rc = load(&c1, svcconf);
	if (!CHECK(rc == 0 && nerrs == 0, "service sections load"))
		show_errs();
	sv = conf_service(&c1, "clmetad.fs1");
	io = conf_service(&c1, "cliod");
	mn = conf_service(&c1, "min_1-x");
	CHECK(c1.nservices == 3 && sv == &c1.services[0] &&
	    io == &c1.services[1] && mn == &c1.services[2] &&
	    conf_service(&c1, "clmetad") == NULL,
	    "conf_service finds the three, in file order");
	if (sv == NULL || io == NULL || mn == NULL)
		return;
	CHECK(sv->line >= 5 && sv->line <= 21, "service line kept");
	CHECK_STR(sv->exec, "clmetad -d -F fs1 -N %n %%", "service exec parsed "
	    "(%n and %% kept for cllaunch)");
	CHECK(sv->nnodes == 3 && sv->nodes[0] == 2 && sv->nodes[1] == 3 &&
	    sv->nodes[2] == 1, "service nodes parsed, in preference order");
	CHECK(sv->preferred == 3, "service preferred parsed");
	CHECK(sv->all == 0 && io->all == 1, "service instances 1 and all");
	CHECK(sv->layer == 300, "service layer parsed");
	CHECK(sv->restart == SVC_RESTART_ALWAYS &&
	    io->restart == SVC_RESTART_NO, "service restart always and no");
	CHECK(sv->restart_ms == 20 && sv->restart_max_ms == 40,
	    "service restart_ms and restart_max_ms parsed");
	CHECK(sv->burst == 3 && sv->burst_ms == 2000,
	    "service burst and burst_ms parsed");
	CHECK(sv->failback == 1, "service failback parsed");
	CHECK(sv->stop_ms == 1500, "service stop_ms parsed");
	CHECK_STR(sv->output, "/var/log/cl/clmetad fs1.log",
	    "service output parsed");
	CHECK_STR(sv->notify, "logger -t cl \"moved \\ to %n\"",
	    "service notify parsed (quotes and a backslash)");
	CHECK_STR(sv->recovery, "clfs fsck -y fs1", "service recovery parsed");
	CHECK(conf_service_allows(sv, 1) && conf_service_allows(sv, 3) &&
	    !conf_service_allows(sv, 4), "conf_service_allows: its nodes only");

	CHECK_STR(mn->exec, "true", "minimal service: exec");
	CHECK(mn->nnodes == 0 && conf_service_allows(mn, 1) &&
	    conf_service_allows(mn, 3), "default nodes: none listed, all "
	    "allowed");
	CHECK(mn->preferred == 0, "default preferred: none (first of nodes)");
	CHECK(mn->all == 0, "default instances 1");
	CHECK(mn->layer == 500, "default layer 500");
	CHECK(mn->restart == SVC_RESTART_ON_FAILURE,
	    "default restart on-failure");
	CHECK(mn->restart_ms == 100, "default restart_ms 100");
	CHECK(mn->restart_max_ms == 5000, "default restart_max_ms 5000");
	CHECK(mn->burst == 5, "default burst 5");
	CHECK(mn->burst_ms == 10000, "default burst_ms 10000");
	CHECK(mn->stop_ms == 10000, "default stop_ms 10000");
	CHECK(mn->failback == 0, "default failback false");
	CHECK(mn->output[0] == '\0' && mn->notify[0] == '\0' &&
	    mn->recovery[0] == '\0', "default output, notify, recovery \"\"");
	CHECK(load(&c1, "self = 1\nnode 1 { address = \"h:1\" }\n") == 0 &&
	    c1.nservices == 0, "no service sections: none");

	/* Errors: file:line, the service and the field. */
#define SVC(body)	(snprintf(s, sizeof(s), "%sservice %s\n", pre, body), s)
	refuse("service without exec", SVC("a { layer = 1 }"), 4,
	    "service a: no exec");
	refuse("service with a blank exec", SVC("a { exec = \" \t\" }"), 4,
	    "service a: no exec");
	refuse("service instances = 2",
	    SVC("a { exec = \"x\" instances = \"2\" }"), 4,
	    "service a: instances = \"2\"");
	refuse("service restart = sometimes",
	    SVC("a { exec = \"x\" restart = \"sometimes\" }"), 4,
	    "service a: restart = \"sometimes\"");
	refuse("service nodes naming a node not in the cluster",
	    SVC("a { exec = \"x\" nodes = {1, 9} }"), 4,
	    "service a: nodes: 9 is not a node of the cluster");
	refuse("service nodes naming node 0",
	    SVC("a { exec = \"x\" nodes = {0} }"), 4, "service a: nodes: 0");
	refuse("service nodes naming a node twice",
	    SVC("a { exec = \"x\" nodes = {2, 1, 2} }"), 4,
	    "service a: nodes: 2 named twice");
	refuse("service preferred not among its nodes",
	    SVC("a { exec = \"x\" nodes = {2} preferred = 1 }"), 4,
	    "service a: preferred = 1");
	refuse("service preferred not a node of the cluster",
	    SVC("a { exec = \"x\" preferred = 7 }"), 4,
	    "service a: preferred = 7");
	refuse("service name with an upper-case letter",
	    SVC("Abc { exec = \"x\" }"), 4, "service \"Abc\"");
	refuse("service name with '/'", SVC("\"a/b\" { exec = \"x\" }"), 4,
	    "service \"a/b\"");
	refuse("service name of 33 bytes",
	    SVC("abcdefghijklmnopqrstuvwxyz0123456 { exec = \"x\" }"), 4,
	    "service \"abcdefghijklmnopqrstuvwxyz0123456\"");
	CHECK(load(&c1, SVC("abcdefghijklmnopqrstuvwxyz012345 { exec = "
	    "\"x\" }")) == 0 && c1.nservices == 1,
	    "service name of 32 bytes loads");
	refuse("service defined twice",
	    "self = 1\nnode 1 { address = \"h:1\" }\n"
	    "service a { exec = \"x\" }\nservice a { exec = \"y\" }\n", 4,
	    "\"a\": section defined twice");
	refuse("service layer 0", SVC("a { exec = \"x\" layer = 0 }"), 4,
	    "service a: layer = 0");
	refuse("service layer 1000", SVC("a { exec = \"x\" layer = 1000 }"),
	    4, "service a: layer = 1000");
	refuse("service burst 0", SVC("a { exec = \"x\" burst = 0 }"), 4,
	    "service a: burst = 0");
	refuse("service stop_ms -1", SVC("a { exec = \"x\" stop_ms = -1 }"),
	    4, "service a: stop_ms = -1");
	refuse("service restart_ms not a number",
	    SVC("a { exec = \"x\" restart_ms = soon }"), 4, "restart_ms");
	refuse("service failback not a boolean",
	    SVC("a { exec = \"x\" failback = sometimes }"), 4, "failback");
	refuse("unknown key in a service", SVC("a { exec = \"x\" user = 1 }"),
	    4, "user");
	n = (size_t)snprintf(s, sizeof(s), "%sservice a { exec = \"", pre);
	for (i = 0; i < CONF_CMD_MAX; i++)
		s[n++] = 'x';
	(void)snprintf(s + n, sizeof(s) - n, "\" }\n");
	refuse("service exec of 512 bytes", s, 4,
	    "service a: exec longer than 511 bytes");

	/* Every service error of one file in one run. */
	(void)snprintf(s, sizeof(s), "%s"
	    "service a { layer = 1 }\n"				/* 4 */
	    "service b { exec = \"x\" instances = \"2\" }\n"	/* 5 */
	    "service c { exec = \"x\" nodes = {3} }\n"		/* 6 */
	    "service ok { exec = \"x\" }\n"			/* 7 */
	    "service d { exec = \"x\" restart = \"never\" }\n",	/* 8 */
	    pre);
	rc = load(&c1, s);
	if (!CHECK(rc == -1 && has_err(4, "service a") &&
	    has_err(5, "service b") && has_err(6, "service c") &&
	    has_err(8, "service d") && !has_err(7, "service ok"),
	    "four service errors reported in one run"))
		show_errs();

	/* CONF_SERVICES_MAX, and the one more refused at its line. */
	n = (size_t)snprintf(s, sizeof(s), "%s", pre);
	for (i = 0; i <= CONF_SERVICES_MAX; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n,
		    "service s%d { exec = \"x\" }\n", i);
	rc = load(&c1, s);
	(void)snprintf(name, sizeof(name), "service s%d: more than",
	    CONF_SERVICES_MAX);
	if (!CHECK(rc == -1 && has_err(4 + CONF_SERVICES_MAX, name),
	    "33 services refused at the 33rd"))
		show_errs();
#undef SVC
}

static void
test_quorum(void)
{
	static const int want[] = { 0, 1, 2, 2, 3, 3, 4, 4 };
	char	 s[4096];
	size_t	 n;
	int	 i, k, bad = 0;

	for (k = 1; k <= 7; k++) {
		n = (size_t)snprintf(s, sizeof(s), "self = 1\n");
		for (i = 1; i <= k; i++)
			n += (size_t)snprintf(s + n, sizeof(s) - n,
			    "node %d { address = \"198.51.100.%d:7000\" }\n", i, i);
		if (load(&c1, s) != 0 || c1.nnodes != k ||
		    conf_quorum(&c1) != want[k]) {
			unit_diag("%d nodes: quorum %d, want %d", k,
			    conf_quorum(&c1), want[k]);
			bad++;
		}
	}
	CHECK(bad == 0, "conf_quorum is a majority of 1 to 7 nodes");
	n = (size_t)snprintf(s, sizeof(s), "self = 1\n");
	for (i = 1; i <= CONF_NODES_MAX; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n,
		    "node %d { address = \"h:%d\" }\n", i, i);
	CHECK(load(&c1, s) == 0 && conf_quorum(&c1) == CONF_NODES_MAX / 2 + 1,
	    "64 nodes load, quorum 33");
	n = (size_t)snprintf(s, sizeof(s), "self = 1\n");
	for (i = 1; i <= CONF_NODES_MAX + 1; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n,
		    "node %d { address = \"h:%d\" }\n", i, i);
	CHECK(load(&c1, s) == -1 && has_err(CONF_NODES_MAX + 2, "more than"),
	    "65 nodes refused at the 65th");
}

int
main(void)
{
	conf_set_errfn(collect);
	test_defaults();
	test_every_key();
	test_errors();
	test_volumes();
	test_services();
	test_roundtrip();
	test_quorum();
	return unit_done();
}
