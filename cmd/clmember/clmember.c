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
 * transitions as a test subsystem, make a cluster key.  See clmember(1).
 * Output is one record per line of key=value fields, for grep and awk.
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
#include "wire.h"

#define REPLY_MS	5000		/* a daemon answers within */

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

static const struct command commands[] = {
	{ "status",	cmd_status,	1, "" },
	{ "watch",	cmd_watch,	1, "" },
	{ "subscribe",	cmd_subscribe,	1, "--layer K [--delay-ms D] "
	    "[--name NAME] [--barriers J:L:F]" },
	{ "join",	cmd_join,	1, "" },
	{ "leave",	cmd_leave,	1, "" },
	{ "keygen",	cmd_keygen,	0, "FILE" },
};

static struct cl_conf	 conf;
static struct ctl	 ctl;

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
sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void
acknowledge(const struct frame *n, long delay)
{
	static const char *keys[] = { "node", "trans", "layer", "barrier",
	    "tid", "local", NULL };
	struct frame	 ack;
	int		 i;

	if (delay > 0)
		sleep_ms(delay);
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
