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
 * clsession: DMAPI sessions, dispositions and events, through this node's
 * clsessiond.  See clsession(1).  Records are printed one per line, as
 * key=value words.
 */

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "fsproto.h"
#include "wire.h"

static struct cl_conf	 conf;
static struct ctl	 ctl;
static const char	*daemon_name = "clsessiond";	/* or cliod */

static __attribute__((__noreturn__)) void
usage(void)
{
	(void)fprintf(stderr,
	    "usage: clsession [-f file] command [argument ...]\n"
	    "\tcreate NAME\n"
	    "\tlist\n"
	    "\tdestroy ID\n"
	    "\tassume ID [--force]\n"
	    "\tdisp set FS EVENT SESSION [--sync | --async] [--node N]\n"
	    "\tdisp ls\n"
	    "\tevents ID [--follow]\n"
	    "\trespond TOKEN continue | abort ERRNO\n"
	    "\ttoken ID\n"
	    "\tright get TOKEN FS:/PATH shared | exclusive\n"
	    "\tright release TOKEN FS:/PATH\n"
	    "\tregion set FS:/PATH OFF:LEN:FLAGS[,OFF:LEN:FLAGS] | none "
	    "[TOKEN]\n"
	    "\tregion ls FS:/PATH\n");
	exit(2);
}

static void
print_frame(const struct frame *f, int withop)
{
	int	 i;

	if (withop)
		(void)printf("%s", f->op);
	for (i = 0; i < f->nkv; i++)
		(void)printf("%s%s=%s", i > 0 || withop ? " " : "",
		    f->kv[i].key, f->kv[i].val);
	(void)printf("\n");
	(void)fflush(stdout);
}

static void
connect_daemon(void)
{
	if (ctl_open(&ctl, conf.rundir, daemon_name) == -1)
		err(1, "%s (is %s running?)", ctl.path, daemon_name);
}

/* Send req; records until "end" (many) or the one answer. */
static int
call(struct frame *req, int many, int withop)
{
	struct frame	 f;
	const char	*r;
	int		 rc;

	connect_daemon();
	if (ctl_send(&ctl, req) == -1)
		err(1, "%s", ctl.path);
	for (;;) {
		if ((rc = ctl_recv(&ctl, &f, -1)) != 1)
			errx(1, "%s: %s", ctl.path, rc == 0 ?
			    "clsessiond closed the connection" :
			    ctl.reason != NULL ? ctl.reason : strerror(errno));
		if (strcmp(f.op, "error") == 0) {
			r = frame_get(&f, "reason");
			errx(1, "%s", r != NULL ? r : "error");
		}
		if (strcmp(f.op, "end") == 0)
			return 0;
		if (!many) {
			if (strcmp(f.op, "ok") != 0)
				errx(1, "unexpected answer %s", f.op);
			if (withop)
				print_frame(&f, 0);
			return 0;
		}
		print_frame(&f, withop);
	}
}

/* Send req; print the answer's key alone. */
static int
call_print(struct frame *req, const char *key)
{
	struct frame	 f;
	const char	*v;

	connect_daemon();
	if (ctl_send(&ctl, req) == -1 || ctl_recv(&ctl, &f, -1) != 1)
		errx(1, "%s: no answer", ctl.path);
	if (strcmp(f.op, "ok") != 0 || (v = frame_get(&f, key)) == NULL)
		errx(1, "%s", frame_get(&f, "reason") != NULL ?
		    frame_get(&f, "reason") : f.op);
	(void)printf("%s\n", v);
	return 0;
}

static int
cmd_create(int argc, char **argv)
{
	struct frame	 req;

	if (argc != 2)
		usage();
	frame_init(&req, "create", 1);
	frame_add(&req, "name", "%s", argv[1]);
	return call_print(&req, "id");
}

static int
cmd_list(int argc, char **argv)
{
	struct frame	 req;

	(void)argv;
	if (argc != 1)
		usage();
	frame_init(&req, "list", 1);
	return call(&req, 1, 0);
}

static int
cmd_destroy(int argc, char **argv)
{
	struct frame	 req;

	if (argc != 2)
		usage();
	frame_init(&req, "destroy", 1);
	frame_add(&req, "id", "%s", argv[1]);
	return call(&req, 0, 0);
}

/* Move session ID to this node (its node failed, or --force). */
static int
cmd_assume(int argc, char **argv)
{
	struct frame	 req;

	if (argc == 3 && strcmp(argv[2], "--force") != 0)
		usage();
	if (argc != 2 && argc != 3)
		usage();
	frame_init(&req, "assume", 1);
	frame_add(&req, "id", "%s", argv[1]);
	if (argc == 3)
		frame_add(&req, "force", "1");
	return call(&req, 0, 0);
}

static int
cmd_disp(int argc, char **argv)
{
	struct frame	 req;
	const char	*mode = "sync", *node = NULL;
	int		 i;

	if (argc == 2 && strcmp(argv[1], "ls") == 0) {
		frame_init(&req, "displs", 1);
		return call(&req, 1, 0);
	}
	if (argc < 5 || strcmp(argv[1], "set") != 0)
		usage();
	for (i = 5; i < argc; i++) {
		if (strcmp(argv[i], "--sync") == 0)
			mode = "sync";
		else if (strcmp(argv[i], "--async") == 0)
			mode = "async";
		else if (strcmp(argv[i], "--node") == 0 && i + 1 < argc)
			node = argv[++i];
		else
			usage();
	}
	frame_init(&req, "dispset", 1);
	frame_add(&req, "fs", "%s", argv[2]);
	frame_add(&req, "event", "%s", argv[3]);
	frame_add(&req, "session", "%s", argv[4]);
	frame_add(&req, "mode", "%s", mode);
	if (node != NULL)
		frame_add(&req, "node", "%s", node);
	return call(&req, 0, 0);
}

static int
cmd_events(int argc, char **argv)
{
	struct frame	 req;
	int		 follow = 0;

	if (argc == 3 && strcmp(argv[2], "--follow") == 0)
		follow = 1;
	else if (argc != 2)
		usage();
	frame_init(&req, "events", 1);
	frame_add(&req, "id", "%s", argv[1]);
	if (follow)
		frame_add(&req, "follow", "1");
	return call(&req, 1, 1);
}

static int
cmd_respond(int argc, char **argv)
{
	struct frame	 req;

	if (argc < 3)
		usage();
	frame_init(&req, "respond", 1);
	frame_add(&req, "token", "%s", argv[1]);
	frame_add(&req, "reply", "%s", argv[2]);
	if (strcmp(argv[2], "continue") == 0 && argc == 3)
		;
	else if (strcmp(argv[2], "abort") == 0 && argc == 4)
		frame_add(&req, "errno", "%s", argv[3]);
	else
		usage();
	return call(&req, 0, 0);
}

/* A user token of session ID (XDSM dm_create_userevent). */
static int
cmd_token(int argc, char **argv)
{
	struct frame	 req;

	if (argc != 2)
		usage();
	frame_init(&req, "token", 1);
	frame_add(&req, "session", "%s", argv[1]);
	return call_print(&req, "token");
}

/* FS:/path into req's fs= and path=; a bad one is a usage error. */
static void
add_name(struct frame *req, const char *arg)
{
	char	 fs[CONF_NAME_MAX], path[FS_PATH_MAX];
	int	 e;

	if ((e = fs_name_split(arg, fs, sizeof(fs), path, sizeof(path))) != 0)
		errx(2, "%s: %s", arg, e == EINVAL ? "not FS:/path" :
		    strerror(e));
	if (conf_volume(&conf, fs) == NULL)
		errx(1, "%s: no file system %s in %s", arg, fs, conf.path);
	frame_add(req, "fs", "%s", fs);
	frame_add(req, "path", "%s", path);
}

/* right get TOKEN FS:/PATH shared|exclusive, right release TOKEN FS:/PATH */
static int
cmd_right(int argc, char **argv)
{
	struct frame	 req;

	if (argc == 5 && strcmp(argv[1], "get") == 0 &&
	    (strcmp(argv[4], "shared") == 0 ||
	    strcmp(argv[4], "exclusive") == 0)) {
		frame_init(&req, "right", 1);
		frame_add(&req, "cmd", "get");
		frame_add(&req, "mode", "%s", argv[4]);
	} else if (argc == 4 && strcmp(argv[1], "release") == 0) {
		frame_init(&req, "right", 1);
		frame_add(&req, "cmd", "release");
	} else
		usage();
	frame_add(&req, "token", "%s", argv[2]);
	add_name(&req, argv[3]);
	return call(&req, 0, 0);
}

/* Managed regions go to cliod, which asks clmetad: not session state. */
static int
cmd_region(int argc, char **argv)
{
	struct frame	 req, f;
	const char	*rg;
	int		 rc;

	if (!(argc == 3 && strcmp(argv[1], "ls") == 0) &&
	    !((argc == 4 || argc == 5) && strcmp(argv[1], "set") == 0))
		usage();
	frame_init(&req, "region", 1);
	add_name(&req, argv[2]);
	if (argc >= 4)
		frame_add(&req, "set", "%s", argv[3]);
	/* Under the access right of TOKEN, if it holds one. */
	if (argc == 5)
		frame_add(&req, "token", "%s", argv[4]);
	daemon_name = "cliod";
	connect_daemon();
	if (ctl_send(&ctl, &req) == -1)
		err(1, "%s", ctl.path);
	if ((rc = ctl_recv(&ctl, &f, -1)) != 1)
		errx(1, "%s: %s", ctl.path, rc == 0 ?
		    "cliod closed the connection" : strerror(errno));
	if (strcmp(f.op, "ok") != 0)
		errx(1, "%s: %s", argv[2], frame_get(&f, "reason") != NULL ?
		    frame_get(&f, "reason") : f.op);
	rg = frame_get(&f, "regions");
	(void)printf("%s\n", rg != NULL ? rg : "none");
	return 0;
}

static const struct command {
	const char	*name;
	int		(*fn)(int, char **);
} commands[] = {
	{ "create",	cmd_create },
	{ "list",	cmd_list },
	{ "destroy",	cmd_destroy },
	{ "assume",	cmd_assume },
	{ "disp",	cmd_disp },
	{ "events",	cmd_events },
	{ "respond",	cmd_respond },
	{ "token",	cmd_token },
	{ "right",	cmd_right },
	{ "region",	cmd_region },
};

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
	if (conf_load(&conf, conf_path(path)) == -1)
		exit(1);
	return c->fn(argc, argv);
}
