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
 * clmember: ask clmemberd about the cluster, watch it, take part in its
 * transitions as a test subsystem, send messages through its router,
 * read and write the cluster database, make a cluster key.  See
 * clmember(1).  Output is one record per line of key=value fields, for
 * grep and awk.
 */

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "conf.h"
#include "ctl.h"
#include "loop.h"
#include "msg.h"
#include "wire.h"

#define REPLY_MS	5000		/* a daemon answers within */
#define PING_MAX	1000000		/* pings per run */

struct command {
	const char	*name;
	int		(*fn)(int, char **);
	int		 needconf;
	const char	*args;
};

static int	 cmd_status(int, char **);
static int	 cmd_watch(int, char **);
static int	 cmd_subscribe(int, char **);
static int	 cmd_keygen(int, char **);
static int	 cmd_join(int, char **);
static int	 cmd_leave(int, char **);
static int	 cmd_ping(int, char **);
static int	 cmd_send(int, char **);
static int	 cmd_services(int, char **);
static int	 cmd_db(int, char **);

static const struct command commands[] = {
	{ "status",	cmd_status,	1, "" },
	{ "watch",	cmd_watch,	1, "" },
	{ "subscribe",	cmd_subscribe,	1, "--layer K [--delay-ms D] "
	    "[--name NAME] [--barriers J:L:F]" },
	{ "join",	cmd_join,	1, "" },
	{ "leave",	cmd_leave,	1, "" },
	{ "ping",	cmd_ping,	1, "NODE [-c COUNT] [--timeout-ms T]" },
	{ "send",	cmd_send,	1, "--to NODE.SERVICE [--rcpt] [--resp] "
	    "[--op OP] [--timeout-ms T] [PAYLOAD | -]" },
	{ "services",	cmd_services,	1, "" },
	{ "db",		cmd_db,		1, "get KEY\n"
	    "\tdb set KEY VALUE [--ver N]\n"
	    "\tdb del KEY [--ver N]\n"
	    "\tdb ls [PREFIX]\n"
	    "\tdb watch [PREFIX]\n"
	    "\tdb lock NAME\n"
	    "\tdb unlock NAME" },
	{ "keygen",	cmd_keygen,	0, "FILE" },
};

static struct cl_conf	 conf;
static struct ctl	 ctl;
static struct msg	 msg;

static void
usage(void)
{
	size_t	 i;

	(void)fprintf(stderr, "usage: clmember [-f file] command [args]\n"
	    "commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		(void)fprintf(stderr, "\t%s %s\n", commands[i].name,
		    commands[i].args);
	exit(2);
}

static void
open_ctl(void)
{
	if (ctl_open(&ctl, conf.rundir, "clmemberd") == -1)
		err(1, "cannot reach clmemberd at %s/clmemberd.sock "
		    "(is it running?)", conf.rundir);
}

static void
send_req(struct frame *f)
{
	if (ctl_send(&ctl, f) == -1)
		err(1, "%s", ctl.path);
}

static int	 subscribed;	/* cmd_subscribe has registered */
static const char *now_str(void);

/*
 * The next frame (1), end of file (0), or for a subscriber an
 * acknowledgement that came too late (2); other errors from the daemon
 * end the tool.
 */
static int
recv_frame(struct frame *f, int timeout)
{
	const char	*r;
	int		 rc;

	rc = ctl_recv(&ctl, f, timeout);
	if (rc == 0)
		return 0;
	if (rc == -1) {
		if (errno == EPROTO)
			errx(1, "%s: malformed reply: %s", ctl.path, ctl.reason);
		if (errno == ETIMEDOUT)
			errx(1, "%s: no reply in %d ms", ctl.path, timeout);
		err(1, "%s", ctl.path);
	}
	if (strcmp(f->op, "error") == 0) {
		/*
		 * An acknowledgement of a notification the daemon withdrew
		 * (the node was forced out, or a forced leave cut the step
		 * short) is late, not wrong: say so and go on.
		 */
		if (subscribed && frame_get(f, "status") != NULL &&
		    strcmp(frame_get(f, "status"), "unknown") == 0) {
			(void)printf("withdrawn tid=%llu time=%s\n",
			    (unsigned long long)f->txid, now_str());
			(void)fflush(stdout);
			return 2;
		}
		r = frame_get(f, "reason");
		errx(1, "clmemberd: %s", r != NULL ? r : "error");
	}
	return 1;
}

static const char *
now_str(void)
{
	static char	 s[32];
	uint64_t	 t = wallclock_us();

	(void)snprintf(s, sizeof(s), "%llu.%06llu",
	    (unsigned long long)(t / 1000000),
	    (unsigned long long)(t % 1000000));
	return s;
}

/* op, then the keys in order, then the others as they came, then time. */
static void
print_record(const char *op, const struct frame *f, const char **order,
    int stamp)
{
	const char	*v;
	int		 i, j, listed;

	(void)fputs(op, stdout);
	for (j = 0; order != NULL && order[j] != NULL; j++)
		if ((v = frame_get(f, order[j])) != NULL)
			(void)printf(" %s=%s", order[j], v);
	for (i = 0; i < f->nkv; i++) {
		listed = 0;
		for (j = 0; order != NULL && order[j] != NULL; j++)
			if (strcmp(f->kv[i].key, order[j]) == 0)
				listed = 1;
		if (!listed)
			(void)printf(" %s=%s", f->kv[i].key, f->kv[i].val);
	}
	if (stamp)
		(void)printf(" time=%s", now_str());
	(void)putchar('\n');
}

static int
cmd_status(int argc, char **argv)
{
	static const char *node[] = { "id", "name", "addr", "state",
	    "since_ms", "member", NULL };
	struct frame	 f, req;

	(void)argv;
	if (argc != 1)
		usage();
	open_ctl();
	frame_init(&req, "status", 1);
	send_req(&req);
	while (recv_frame(&f, REPLY_MS) == 1) {
		if (strcmp(f.op, "end") == 0)
			return 0;
		if (strcmp(f.op, "view") == 0) {
			(void)printf("view epoch=%s coordinator=%s quorum=%s "
			    "members=%s\n", frame_get(&f, "epoch"),
			    frame_get(&f, "coordinator"),
			    frame_get(&f, "quorum"), frame_get(&f, "members"));
		} else if (strcmp(f.op, "node") == 0)
			print_record("node", &f, node, 0);
		else
			print_record(f.op, &f, NULL, 0);
	}
	errx(1, "clmemberd closed the connection");
}

static int
cmd_watch(int argc, char **argv)
{
	struct frame	 f, req;

	(void)argv;
	if (argc != 1)
		usage();
	open_ctl();
	frame_init(&req, "watch", 1);
	send_req(&req);
	if (recv_frame(&f, REPLY_MS) != 1)
		errx(1, "clmemberd closed the connection");
	(void)setvbuf(stdout, NULL, _IOLBF, 0);
	while (recv_frame(&f, -1) == 1)
		if (strcmp(f.op, "event") == 0)
			(void)printf("%s time=%s\n", frame_get(&f, "text"),
			    frame_get(&f, "time"));
	errx(1, "clmemberd closed the connection");
}

static void
acknowledge(const struct frame *n, long delay)
{
	static const char *keys[] = { "node", "trans", "layer", "barrier",
	    "tid", "local", NULL };
	struct frame	 ack;
	int		 i;

	if (delay > 0)
		clock_sleep_ms(delay);
	(void)printf("ack");
	for (i = 0; keys[i] != NULL; i++)
		if (frame_get(n, keys[i]) != NULL)
			(void)printf(" %s=%s", keys[i], frame_get(n, keys[i]));
	(void)printf(" time=%s\n", now_str());
	(void)fflush(stdout);
	frame_init(&ack, "ack", n->txid);
	send_req(&ack);
}

static int
cmd_subscribe(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "layer",	required_argument, NULL, 'l' },
		{ "delay-ms",	required_argument, NULL, 'D' },
		{ "name",	required_argument, NULL, 'N' },
		{ "barriers",	required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *order[] = { "node", "trans", "layer", "barrier",
	    "barriers", "tid", "epoch", "states", NULL };
	struct frame	 f, req;
	const char	*errstr;
	char		 name[WIRE_KEY_MAX + 1];
	long		 layer = -1, delay = 0;
	int		 ch, rc, bj = 1, bl = 1, bf = 1;

	(void)snprintf(name, sizeof(name), "sub%ld", (long)getpid());
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			layer = strtonum(optarg, 1, 999, &errstr);
			if (errstr != NULL)
				errx(2, "--layer %s: %s (1 to 999)", optarg,
				    errstr);
			break;
		case 'D':
			delay = strtonum(optarg, 0, 3600 * 1000, &errstr);
			if (errstr != NULL)
				errx(2, "--delay-ms %s: %s", optarg, errstr);
			break;
		case 'N':
			if (strlcpy(name, optarg, sizeof(name)) >= sizeof(name))
				errx(2, "--name %s: too long", optarg);
			break;
		case 'b':
			if (sscanf(optarg, "%d:%d:%d", &bj, &bl, &bf) != 3)
				errx(2, "--barriers %s: want J:L:F", optarg);
			break;
		default:
			usage();
		}
	}
	if (layer == -1 || optind != argc)
		usage();
	open_ctl();
	frame_init(&req, "register", 1);
	frame_add(&req, "name", "%s", name);
	frame_add(&req, "layer", "%ld", layer);
	frame_add(&req, "barriers_join", "%d", bj);
	frame_add(&req, "barriers_leave", "%d", bl);
	frame_add(&req, "barriers_forced", "%d", bf);
	send_req(&req);
	if (recv_frame(&f, REPLY_MS) != 1)
		errx(1, "clmemberd closed the connection");
	(void)printf("registered name=%s layer=%ld node=%s epoch=%s time=%s\n",
	    name, layer, frame_get(&f, "node"), frame_get(&f, "epoch"),
	    now_str());
	(void)fflush(stdout);
	subscribed = 1;
	while ((rc = recv_frame(&f, -1)) != 0) {
		if (rc != 1 || strcmp(f.op, "notify") != 0)
			continue;
		print_record("notify", &f, order, 1);
		(void)fflush(stdout);
		acknowledge(&f, delay);
	}
	errx(1, "clmemberd closed the connection");
}

static int
simple(const char *op, int argc)
{
	struct frame	 f, req;

	if (argc != 1)
		usage();
	open_ctl();
	frame_init(&req, op, 1);
	send_req(&req);
	if (recv_frame(&f, REPLY_MS) != 1)
		errx(1, "clmemberd closed the connection");
	return 0;
}

static int
cmd_join(int argc, char **argv)
{
	(void)argv;
	return simple("join", argc);
}

static int
cmd_leave(int argc, char **argv)
{
	(void)argv;
	return simple("leave", argc);
}

/* Messages through clmemberd's router: cl-wire(5), ROUTING. */

static struct frame	 req, resp, rcpt;	/* 10 KiB each */

/* Connect; with reg, register as the service clmember.<pid>. */
static void
open_msg(int reg)
{
	char	 name[WIRE_KEY_MAX + 1];

	if (msg_open(&msg, conf.rundir) == -1)
		errx(1, "%s", msg.error);
	if (!reg)
		return;
	(void)snprintf(name, sizeof(name), "clmember.%ld", (long)getpid());
	if (msg_register(&msg, name, REPLY_MS) == -1)
		errx(1, "%s", msg.error);
}

static int
timeout_arg(const char *s)
{
	const char	*errstr;
	long long	 v;

	v = strtonum(s, 1, 3600 * 1000, &errstr);
	if (errstr != NULL)
		errx(2, "--timeout-ms %s: %s (1 to 3600000)", s, errstr);
	return (int)v;
}

/* A configured node, by id or by name. */
static uint32_t
node_arg(const char *s)
{
	const char	*errstr;
	long long	 id;
	int		 i;

	id = strtonum(s, 1, CONF_NODEID_MAX, &errstr);
	if (errstr == NULL && conf_node(&conf, (uint32_t)id) != NULL)
		return (uint32_t)id;
	for (i = 0; i < conf.nnodes; i++)
		if (strcmp(conf.nodes[i].name, s) == 0)
			return conf.nodes[i].id;
	errx(2, "node %s: no such node id or name in %s", s, conf.path);
}

/*
 * getopt_long, with up to max operands among the options, into ops[]:
 * main's "+" has made getopt stop at the first operand.  After "--"
 * everything is an operand.
 */
static int
getopt_ops(int argc, char **argv, const char *sopts,
    const struct option *lopts, char **ops, int max, int *nops)
{
	int	 ch, rest;

	for (;;) {
		if ((ch = getopt_long(argc, argv, sopts, lopts, NULL)) != -1)
			return ch;
		if (optind >= argc)
			return -1;
		rest = strcmp(argv[optind - 1], "--") == 0;
		do {
			if (*nops == max)
				usage();
			ops[(*nops)++] = argv[optind++];
		} while (rest && optind < argc);
		/*
		 * Done: glibc's getopt, asked again after "--", would set
		 * optind back to the first operand.
		 */
		if (rest)
			return -1;
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Drop what came meanwhile: late answers to earlier requests. */
static void
drain(void)
{
	while (msg.nkept > 0 && msg_recv(&msg, &resp, 0) == 1)
		;
}

static int
cmd_ping(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count",	required_argument, NULL, 'c' },
		{ "timeout-ms",	required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*errstr;
	char		*ops[1];
	uint64_t	*rtt, t0;
	long long	 count = 1, seq;
	size_t		 n = 0;
	uint32_t	 node;
	int		 ch, rc, nops = 0, timeout = REPLY_MS;

	optind = 1;
	while ((ch = getopt_ops(argc, argv, "c:", opts, ops, 1, &nops)) !=
	    -1) {
		switch (ch) {
		case 'c':
			count = strtonum(optarg, 1, PING_MAX, &errstr);
			if (errstr != NULL)
				errx(2, "-c %s: %s (1 to %d)", optarg, errstr,
				    PING_MAX);
			break;
		case 't':
			timeout = timeout_arg(optarg);
			break;
		default:
			usage();
		}
	}
	if (nops != 1)
		usage();
	node = node_arg(ops[0]);
	if ((rtt = calloc((size_t)count, sizeof(*rtt))) == NULL)
		err(1, NULL);
	open_msg(1);
	(void)setvbuf(stdout, NULL, _IOLBF, 0);
	for (seq = 1; seq <= count; seq++) {
		/* A receipt too: a node that is down is reported at once. */
		frame_init(&req, "ping", 0);
		if (frame_add(&req, "to", "%u.clmemberd", node) == -1 ||
		    frame_add(&req, "rcpt", "1") == -1)
			errx(1, "cannot build a ping frame");
		t0 = clock_us();
		rc = msg_call(&msg, &req, &resp, NULL, timeout);
		if (rc == 1 && strcmp(resp.op, "pong") == 0) {
			rtt[n] = clock_us() - t0;
			(void)printf("pong node=%u seq=%lld rtt_us=%llu\n", node,
			    seq, (unsigned long long)rtt[n]);
			n++;
		} else if (rc == 1)
			warnx("ping node=%u seq=%lld: answered with %s, not "
			    "pong", node, seq, resp.op);
		else if (rc == 0 || errno == ETIMEDOUT)
			warnx("ping node=%u seq=%lld: %s", node, seq,
			    msg.error);
		else
			errx(1, "%s", msg.error);
		drain();
	}
	(void)printf("ping node=%u sent=%lld received=%zu", node, count, n);
	if (n == 0)
		(void)printf(" min_us= median_us= max_us=\n");
	else {
		qsort(rtt, n, sizeof(*rtt), cmp_u64);
		(void)printf(" min_us=%llu median_us=%llu max_us=%llu\n",
		    (unsigned long long)rtt[0], (unsigned long long)(n % 2 ?
		    rtt[n / 2] : (rtt[n / 2 - 1] + rtt[n / 2]) / 2),
		    (unsigned long long)rtt[n - 1]);
	}
	free(rtt);
	msg_close(&msg);
	return n > 0 ? 0 : 1;
}

/* NODE.SERVICE or *.SERVICE, a node name made its id, into out. */
static void
to_arg(const char *s, char *out, size_t len)
{
	const char	*dot;
	char		 node[CONF_NAME_MAX];
	size_t		 n;

	if ((dot = strchr(s, '.')) == NULL || (n = (size_t)(dot - s)) == 0 ||
	    n >= sizeof(node) || !wire_valid_name(dot + 1, strlen(dot + 1)))
		errx(2, "--to %s: want NODE.SERVICE or *.SERVICE, the service "
		    "1 to %d of a-z 0-9 _ . -", s, WIRE_KEY_MAX);
	memcpy(node, s, n);
	node[n] = '\0';
	if (strcmp(node, "*") == 0)
		(void)snprintf(out, len, "*.%s", dot + 1);
	else
		(void)snprintf(out, len, "%u.%s", node_arg(node), dot + 1);
}

/* All of standard input, at most max bytes. */
static void
read_stdin(struct buf *b, size_t max)
{
	ssize_t	 n;

	buf_init(b, max + 1);
	for (;;) {
		if (buf_reserve(b, 1) == -1) {
			if (errno == ENOBUFS)
				errx(1, "payload on standard input over %zu "
				    "bytes", max);
			err(1, "standard input");
		}
		n = read(STDIN_FILENO, b->data + b->len, buf_room(b));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			err(1, "standard input");
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
	}
	if (buf_avail(b) > max)
		errx(1, "payload on standard input over %zu bytes", max);
}

/* A receipt's targets that did not get the frame: " node.N=RESULT". */
static const char *
failures(const struct frame *f)
{
	static char	 s[1024];
	size_t		 n = 0;
	int		 i;

	s[0] = '\0';
	for (i = 0; i < f->nkv && n < sizeof(s); i++)
		if (strncmp(f->kv[i].key, "node.", 5) == 0 &&
		    strcmp(f->kv[i].val, "delivered") != 0)
			n += (size_t)snprintf(s + n, sizeof(s) - n, " %s=%s",
			    f->kv[i].key, f->kv[i].val);
	return s;
}

static void
print_receipt(const struct frame *f)
{
	static const char *order[] = { "status", "need", "to", "nodes",
	    NULL };
	char	 head[64];

	(void)snprintf(head, sizeof(head), "receipt txid=%llu",
	    (unsigned long long)f->txid);
	print_record(head, f, order, 0);
}

/* from, op, the other keys, len last: the payload follows as it is. */
static void
print_response(const struct frame *f)
{
	const char	*from = frame_get(f, "from");
	int		 i;

	(void)printf("response from=%s op=%s", from != NULL ? from : "",
	    f->op);
	for (i = 0; i < f->nkv; i++)
		if (strcmp(f->kv[i].key, "from") != 0 &&
		    strcmp(f->kv[i].key, "to") != 0 &&
		    strcmp(f->kv[i].key, "re") != 0)
			(void)printf(" %s=%s", f->kv[i].key, f->kv[i].val);
	(void)printf(" len=%zu\n", f->len);
	if (f->len > 0 && fwrite(f->payload, 1, f->len, stdout) != f->len)
		err(1, "standard output");
}

static int
cmd_send(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to",		required_argument, NULL, 'T' },
		{ "rcpt",	no_argument,	   NULL, 'r' },
		{ "resp",	no_argument,	   NULL, 'R' },
		{ "op",		required_argument, NULL, 'o' },
		{ "timeout-ms",	required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	struct buf	 in;
	const char	*to = NULL, *op = "msg", *reason, *status;
	char		 addr[WIRE_VAL_MAX], *ops[1];
	int		 ch, rc, nops = 0, wrcpt = 0, wresp = 0;
	int		 timeout = REPLY_MS;

	optind = 1;
	while ((ch = getopt_ops(argc, argv, "", opts, ops, 1, &nops)) != -1) {
		switch (ch) {
		case 'T':
			to = optarg;
			break;
		case 'r':
			wrcpt = 1;
			break;
		case 'R':
			wresp = 1;
			break;
		case 'o':
			op = optarg;
			if (!wire_valid_name(op, strlen(op)))
				errx(2, "--op %s: want 1 to %d of a-z 0-9 _ . "
				    "-", op, WIRE_KEY_MAX);
			break;
		case 't':
			timeout = timeout_arg(optarg);
			break;
		default:
			usage();
		}
	}
	if (to == NULL)
		usage();
	to_arg(to, addr, sizeof(addr));
	buf_init(&in, 0);
	if (nops == 1 && strcmp(ops[0], "-") == 0)
		read_stdin(&in, MSG_PAYLOAD_MAX);
	open_msg(1);
	frame_init(&req, op, 0);
	if (frame_add(&req, "to", "%s", addr) == -1)
		errx(1, "cannot build a %s frame", op);
	if (nops == 1 && strcmp(ops[0], "-") != 0)
		frame_payload(&req, ops[0], strlen(ops[0]));
	else
		frame_payload(&req, buf_ptr(&in), buf_avail(&in));

	if (wrcpt || wresp) {
		rc = msg_call(&msg, &req, wresp ? &resp : NULL,
		    wrcpt ? &rcpt : NULL, timeout);
		if (wrcpt && rcpt.op[0] != '\0')
			print_receipt(&rcpt);
		if (rc == 1 && wresp)
			print_response(&resp);
		if (rc != 1)
			errx(1, "%s", msg.error);
		if (wrcpt && rcpt.op[0] == '\0')
			errx(1, "no receipt from clmemberd in %d ms", timeout);
		if (wrcpt && ((status = frame_get(&rcpt, "status")) == NULL ||
		    strcmp(status, "ok") != 0))
			errx(1, "not delivered to %s: status=%s%s", addr,
			    status != NULL ? status : "none", failures(&rcpt));
	} else {
		if (msg_send(&msg, &req) == -1)
			errx(1, "%s", msg.error);
		/*
		 * clmemberd answers a connection's frames in order: once the
		 * services reply is here, so is any refusal of the send.
		 */
		if (msg_services(&msg, &resp, timeout) == -1)
			errx(1, "%s", msg.error);
		while (msg_recv(&msg, &resp, 0) == 1)
			if (resp.txid == req.txid &&
			    strcmp(resp.op, "error") == 0 &&
			    frame_get(&resp, "from") == NULL) {
				reason = frame_get(&resp, "reason");
				errx(1, "clmemberd refused %s to %s: %s", op,
				    addr, reason != NULL ? reason : "error");
			}
	}
	buf_free(&in);
	msg_close(&msg);
	return 0;
}

static int
cmd_services(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		usage();
	open_msg(0);
	if (msg_services(&msg, &resp, REPLY_MS) == -1)
		errx(1, "%s", msg.error);
	if (resp.len > 0 && fwrite(resp.payload, 1, resp.len, stdout) !=
	    resp.len)
		err(1, "standard output");
	msg_close(&msg);
	return 0;
}

/*
 * The cluster database: cl-wire(5), CONTROL PROTOCOL, db.  One request at
 * a time on the control socket; a busy node (resyncing) is asked again
 * for up to DB_BUSY_MS.
 */

#define DB_KEY_MAX	128		/* bytes of a key */
#define DB_VALUE_MAX	1024		/* bytes of a value */
#define DB_BUSY_MS	3000		/* how long busy is retried */
#define DB_BACKOFF_MS	50		/* first wait after busy; doubles */
#define DB_BACKOFF_MAX	400		/* up to */

static struct frame	 dbreq, dbrep;
static uint64_t	 db_txid;
static int	 db_write_ms;	/* a write's answer: after the daemon's wait */
static char	 db_what[DB_KEY_MAX + 16];	/* "set KEY": in messages */
static const char *db_key = "";		/* KEY */

static __attribute__((__noreturn__)) void
db_usage(void)
{
	static const char *forms[] = { "get KEY", "set KEY VALUE [--ver N]",
	    "del KEY [--ver N]", "ls [PREFIX]", "watch [PREFIX]", "lock NAME",
	    "unlock NAME" };
	size_t	 i;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		(void)fprintf(stderr, "%s clmember [-f file] db %s\n",
		    i == 0 ? "usage:" : "      ", forms[i]);
	exit(2);
}

static int
db_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '/' ||
	    c == ':' || c == '-';
}

/* A key (min 1) or a prefix (min 0): up to max of [A-Za-z0-9_./:-]. */
static void
db_check_key(const char *what, const char *s, size_t min, size_t max)
{
	size_t	 i, n = strlen(s);

	for (i = 0; i < n; i++)
		if (!db_char((unsigned char)s[i]))
			errx(2, "%s \"%s\": bad character at byte %zu: want "
			    "A-Z a-z 0-9 _ . / : -", what, s, i + 1);
	if (n < min || n > max)
		errx(2, "%s \"%s\": want %zu to %zu bytes, not %zu", what, s,
		    min, max, n);
}

static void
db_check_value(const char *key, const char *s)
{
	size_t	 i, n = strlen(s);

	if (n > DB_VALUE_MAX)
		errx(2, "value for %s: %zu bytes, at most %d", key, n,
		    DB_VALUE_MAX);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			errx(2, "value for %s: control character 0x%02x at "
			    "byte %zu: a value is one line of printable "
			    "bytes", key, (unsigned char)s[i], i + 1);
}

static uint64_t
db_ver_arg(const char *s)
{
	uint64_t	 v;

	if (wire_parse_u64(s, strlen(s), UINT64_MAX, &v) != 0)
		errx(2, "--ver %s: want a version, 0 to %llu (0: the key must "
		    "not exist yet)", s, (unsigned long long)UINT64_MAX);
	return v;
}

/* The next frame from the daemon, 0 at end of stream; errors end us. */
static int
db_recv(struct frame *f, int timeout)
{
	int	 rc;

	if ((rc = ctl_recv(&ctl, f, timeout)) == 1)
		return 1;
	if (rc == 0)
		errx(1, "%s: clmemberd closed the connection", db_what);
	if (errno == EPROTO)
		errx(1, "%s: %s: malformed reply: %s", db_what, ctl.path,
		    ctl.reason);
	if (errno == ETIMEDOUT)
		errx(1, "%s: %s: no reply in %d ms", db_what, ctl.path,
		    timeout);
	err(1, "%s: %s", db_what, ctl.path);
}

static int
db_status_is(const struct frame *f, const char *status)
{
	const char	*s;

	return strcmp(f->op, "error") == 0 &&
	    (s = frame_get(f, "status")) != NULL && strcmp(s, status) == 0;
}

/* An error reply, as "what: cause[: reason]"; exits 1. */
static __attribute__((__noreturn__)) void
db_fail(const struct frame *f)
{
	static const struct {
		const char	*status;
		const char	*text;
	} causes[] = {
		{ "nokey",	"no such key" },
		{ "mismatch",	"version mismatch" },
		{ "noquorum",	"no quorum" },
		{ "busy",	"still busy after 3 s" },
		{ "timeout",	"timed out" },
		{ "invalid",	"invalid request" },
		{ "full",	"full" },
		{ "io",		"I/O error" },
		{ "held",	"held" },
		{ "notheld",	"not held" },
		{ "denied",	"permission denied" },
		{ "unknown",	"clmemberd does not know this request" },
	};
	const char	*status, *reason, *cause, *node, *ver;
	size_t		 i, n;

	status = frame_get(f, "status");
	reason = frame_get(f, "reason");
	cause = status != NULL ? status : "error";
	for (i = 0; status != NULL && i < sizeof(causes) / sizeof(causes[0]);
	    i++)
		if (strcmp(status, causes[i].status) == 0)
			cause = causes[i].text;
	if (status != NULL && strcmp(status, "held") == 0 &&
	    (node = frame_get(f, "node")) != NULL)
		errx(1, "%s: held by node %s", db_what, node);
	if (reason == NULL || *reason == '\0') {
		if (status != NULL && strcmp(status, "mismatch") == 0 &&
		    (ver = frame_get(f, "ver")) != NULL)
			errx(1, "%s: %s: now at version %s", db_what, cause,
			    ver);
		errx(1, "%s: %s", db_what, cause);
	}
	/* "KEY: no such key" after "get KEY": the key once is enough. */
	n = strlen(db_key);
	if (n > 0 && strncmp(reason, db_key, n) == 0 &&
	    strncmp(reason + n, ": ", 2) == 0)
		reason += n + 2;
	/* The reason may say the cause already: "version mismatch: ...". */
	n = strlen(cause);
	if (strncasecmp(reason, cause, n) == 0)
		errx(1, "%s: %s", db_what, reason);
	errx(1, "%s: %s: %s", db_what, cause, reason);
}

/*
 * Send dbreq and read the first reply to it into dbrep, asking again
 * while the node answers busy, for up to DB_BUSY_MS (waits of 50, 100,
 * 200, then 400 ms).
 */
static void
db_call(int timeout)
{
	uint64_t	 deadline, now;
	long		 backoff = DB_BACKOFF_MS;

	deadline = clock_ms() + DB_BUSY_MS;
	for (;;) {
		dbreq.txid = ++db_txid;
		send_req(&dbreq);
		do {
			(void)db_recv(&dbrep, timeout);
		} while (dbrep.txid != dbreq.txid);
		if (!db_status_is(&dbrep, "busy") ||
		    (now = clock_ms()) >= deadline)
			return;
		if ((uint64_t)backoff > deadline - now)
			backoff = (long)(deadline - now);
		clock_sleep_ms(backoff);
		if ((backoff *= 2) > DB_BACKOFF_MAX)
			backoff = DB_BACKOFF_MAX;
	}
}

static void
db_request(const char *sub, const char *what)
{
	(void)snprintf(db_what, sizeof(db_what), "%s %s", sub, what);
	db_key = what;
	open_ctl();
	frame_init(&dbreq, "db", 0);
	if (frame_add(&dbreq, "cmd", "%s", sub) == -1)
		errx(1, "%s: cannot build the request", db_what);
}

static void
db_add(const char *key, const char *val)
{
	if (frame_add(&dbreq, key, "%s", val) == -1)
		errx(1, "%s: cannot build the request", db_what);
}

/* key=K ver=V value=VALUE: the value last, as it is. */
static void
db_print_rec(const char *head, const struct frame *f)
{
	const char	*k = frame_get(f, "key"), *v = frame_get(f, "ver");
	const char	*val = frame_get(f, "value");

	(void)printf("%s%skey=%s ver=%s", head, *head != '\0' ? " " : "",
	    k != NULL ? k : "", v != NULL ? v : "");
	if (val != NULL || strcmp(head, "del") != 0)
		(void)printf(" value=%s", val != NULL ? val : "");
	(void)putchar('\n');
}

static void
db_expect_ok(void)
{
	if (strcmp(dbrep.op, "ok") != 0) {
		if (strcmp(dbrep.op, "error") == 0)
			db_fail(&dbrep);
		errx(1, "%s: unexpected reply %s from clmemberd", db_what,
		    dbrep.op);
	}
}

/* get KEY */
static int
db_get(int argc, char **argv)
{
	if (argc != 2)
		db_usage();
	db_check_key("key", argv[1], 1, DB_KEY_MAX);
	db_request("get", argv[1]);
	db_add("key", argv[1]);
	db_call(REPLY_MS);
	if (strcmp(dbrep.op, "error") == 0)
		db_fail(&dbrep);
	if (strcmp(dbrep.op, "dbrec") != 0)
		errx(1, "%s: unexpected reply %s from clmemberd", db_what,
		    dbrep.op);
	db_print_rec("", &dbrep);
	return 0;
}

/* set KEY VALUE [--ver N], del KEY [--ver N] */
static int
db_write(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ver",	required_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*key, *ver, *sub = argv[0];
	char		*ops[3];
	uint64_t	 expect = 0;
	int		 ch, nops = 0, isset = strcmp(sub, "set") == 0;
	int		 hasver = 0;

	optind = 1;
	/* One operand more than wanted, for db_usage() to refuse. */
	while ((ch = getopt_ops(argc, argv, "", opts, ops, isset ? 3 : 2,
	    &nops)) != -1) {
		switch (ch) {
		case 'v':
			expect = db_ver_arg(optarg);
			hasver = 1;
			break;
		default:
			db_usage();
		}
	}
	if (nops != (isset ? 2 : 1))
		db_usage();
	key = ops[0];
	db_check_key("key", key, 1, DB_KEY_MAX);
	if (isset)
		db_check_value(key, ops[1]);
	db_request(sub, key);
	db_add("key", key);
	if (isset)
		db_add("value", ops[1]);
	if (hasver && frame_add(&dbreq, "ver", "%llu",
	    (unsigned long long)expect) == -1)
		errx(1, "%s: cannot build the request", db_what);
	db_call(db_write_ms);
	db_expect_ok();
	ver = frame_get(&dbrep, "ver");
	(void)printf("ok key=%s ver=%s\n", frame_get(&dbrep, "key") != NULL ?
	    frame_get(&dbrep, "key") : key, ver != NULL ? ver : "");
	return 0;
}

/* ls [PREFIX] */
static int
db_ls(int argc, char **argv)
{
	const char	*prefix = argc == 2 ? argv[1] : "";

	if (argc > 2)
		db_usage();
	db_check_key("prefix", prefix, 0, DB_KEY_MAX);
	db_request("ls", *prefix != '\0' ? prefix : "(all)");
	if (*prefix != '\0')
		db_add("prefix", prefix);
	db_call(REPLY_MS);
	for (;;) {
		if (strcmp(dbrep.op, "end") == 0)
			break;
		if (strcmp(dbrep.op, "error") == 0)
			db_fail(&dbrep);
		if (strcmp(dbrep.op, "dbrec") == 0)
			db_print_rec("", &dbrep);
		do {
			(void)db_recv(&dbrep, REPLY_MS);
		} while (dbrep.txid != dbreq.txid);
	}
	if (fflush(stdout) == EOF)
		err(1, "standard output");
	return 0;
}

/* watch [PREFIX]: until the daemon goes away, then 1. */
static int
db_watch(int argc, char **argv)
{
	const char	*prefix = argc == 2 ? argv[1] : "", *op;

	if (argc > 2)
		db_usage();
	db_check_key("prefix", prefix, 0, DB_KEY_MAX);
	db_request("watch", *prefix != '\0' ? prefix : "(all)");
	db_add("prefix", prefix);
	db_call(REPLY_MS);
	db_expect_ok();
	(void)setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		if (ctl_recv(&ctl, &dbrep, -1) != 1)
			break;
		if (strcmp(dbrep.op, "dbev") != 0 ||
		    (op = frame_get(&dbrep, "op")) == NULL)
			continue;
		if (strcmp(op, "resync") == 0)
			(void)printf("resync\n");
		else if (strcmp(op, "set") == 0 || strcmp(op, "del") == 0)
			db_print_rec(op, &dbrep);
	}
	errx(1, "clmemberd closed the connection");
}

/* lock NAME, unlock NAME */
static int
db_lock(int argc, char **argv)
{
	const char	*sub = argv[0], *node, *ver;

	if (argc != 2)
		db_usage();
	/* The lock is the record lock/NAME. */
	db_check_key("lock name", argv[1], 1, DB_KEY_MAX - 5);
	db_request(sub, argv[1]);
	db_add("name", argv[1]);
	db_call(db_write_ms);
	db_expect_ok();
	if (strcmp(sub, "unlock") == 0) {
		(void)printf("unlocked name=%s\n", argv[1]);
		return 0;
	}
	node = frame_get(&dbrep, "node");
	ver = frame_get(&dbrep, "ver");
	(void)printf("locked name=%s node=%s ver=%s\n", argv[1],
	    node != NULL ? node : "", ver != NULL ? ver : "");
	return 0;
}

static int
cmd_db(int argc, char **argv)
{
	static const struct {
		const char	*name;
		int		(*fn)(int, char **);
	} subs[] = {
		{ "get",	db_get },
		{ "set",	db_write },
		{ "del",	db_write },
		{ "ls",		db_ls },
		{ "watch",	db_watch },
		{ "lock",	db_lock },
		{ "unlock",	db_lock },
	};
	size_t	 i;

	if (argc < 2)
		db_usage();
	/* The daemon answers a write within 2 msg_timeout_ms: cl.conf(5). */
	db_write_ms = conf.msg_timeout_ms > (3600 * 1000 - REPLY_MS) / 2 ?
	    3600 * 1000 : 2 * conf.msg_timeout_ms + REPLY_MS;
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].fn(argc - 1, argv + 1);
	warnx("db: unknown subcommand %s", argv[1]);
	db_usage();
}

static int
cmd_keygen(int argc, char **argv)
{
	char	 errbuf[256];

	if (argc != 2)
		usage();
	if (auth_init() == -1)
		errx(1, "libsodium cannot start");
	if (auth_keygen(argv[1], errbuf, sizeof(errbuf)) == -1)
		errx(1, "%s", errbuf);
	return 0;
}

int
main(int argc, char *argv[])
{
	const struct command *c = NULL;
	const char	*path = NULL;
	size_t		 i;
	int		 ch;

	while ((ch = getopt(argc, argv, "+f:")) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			c = &commands[i];
	if (c == NULL) {
		warnx("unknown command %s", argv[0]);
		usage();
	}
	(void)signal(SIGPIPE, SIG_IGN);
	if (c->needconf && conf_load(&conf, conf_path(path)) == -1)
		exit(1);
	return c->fn(argc, argv);
}
