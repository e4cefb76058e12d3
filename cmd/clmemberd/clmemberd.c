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
 * clmemberd: cluster membership, seed 004 (membership manager and
 * transition notification framework) over an authenticated TCP mesh.
 * See clmemberd(8).
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "clmemberd.h"
#include "log.h"

struct clmemberd	*D;

static void
usage(void)
{
	(void)fprintf(stderr, "usage: clmemberd [-djnv] [-f file] [-r fd]\n");
	exit(2);
}

void
kick(void)
{
	uint64_t now = loop_now();

	if (!D->workt.armed || D->workt.when > now)
		timer_at(&D->workt, now);
}

/* Deferred work: one pass per loop turn, however many events asked. */
static void
work(void *arg)
{
	(void)arg;
	view_evaluate();
	db_check_synced();
	trans_coordinate();
	if (D->hb_dirty)
		peer_heartbeat();
}

static void
heartbeat(void *arg)
{
	(void)arg;
	timer_in(&D->hbt, (uint64_t)D->conf.heartbeat_ms);
	peer_heartbeat();
	trans_check_stuck();
	trans_resync();
	db_tick();
	kick();
}

void
request_exit(const char *why)
{
	log_info("exiting: %s", why);
	loop_exit();
}

static void
exit_deadline(void *arg)
{
	(void)arg;
	log_warnx("the leave did not finish in time; exiting anyway");
	loop_exit();
}

static void
on_term(int sig, void *arg)
{
	(void)arg;
	if (D->exiting) {
		log_info("signal %d again: exiting now", sig);
		loop_exit();
		return;
	}
	log_info("signal %d: leaving the cluster, then exiting", sig);
	timer_in(&D->exitt, (uint64_t)D->conf.transition_ms +
	    2 * (uint64_t)D->conf.fail_ms);
	view_leave(1);
}

static void
conf_log(const char *msg)
{
	log_warnx("%s", msg);
}

/* SIGHUP: timers may change; the node list needs a restart. */
static void
on_hup(int sig, void *arg)
{
	struct cl_conf	*nc;
	char		 id[AUTH_CONFIDLEN + 1];

	(void)sig;
	(void)arg;
	if ((nc = malloc(sizeof(*nc))) == NULL) {
		log_warn("reload");
		return;
	}
	conf_set_errfn(conf_log);
	if (conf_load(nc, D->confpath) == -1) {
		log_warnx("%s: not reloaded, keeping the running "
		    "configuration", D->confpath);
		free(nc);
		return;
	}
	auth_confid_conf(nc, id);
	if (strcmp(id, D->aconf.confid) != 0 || nc->self != D->self ||
	    nc->encrypt != D->conf.encrypt ||
	    strcmp(nc->cluster, D->conf.cluster) != 0)
		log_warnx("%s: the node list, self, cluster or encrypt "
		    "changed; these take a restart", D->confpath);
	D->conf.heartbeat_ms = nc->heartbeat_ms;
	D->conf.fail_ms = nc->fail_ms;
	D->conf.transition_ms = nc->transition_ms;
	D->conf.damp_ms = nc->damp_ms;
	log_info("%s: reloaded", D->confpath);
	free(nc);
}

static void
make_dir(const char *path, mode_t mode)
{
	struct stat	 st;
	char		 p[PATH_MAX], *s;

	if (strlcpy(p, path, sizeof(p)) >= sizeof(p))
		errx(1, "%s: path too long", path);
	for (s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST)
			err(1, "mkdir %s", p);
		*s = '/';
	}
	if (mkdir(p, mode) == -1 && errno != EEXIST)
		err(1, "mkdir %s", p);
	if (stat(p, &st) == -1)
		err(1, "%s", p);
	if (!S_ISDIR(st.st_mode))
		errx(1, "%s: not a directory", p);
	if (st.st_mode & S_IWOTH)
		errx(1, "%s: writable by anyone; refusing to use it", p);
}

/* Tell supervisors we serve: systemd's NOTIFY_SOCKET and s6's -r fd. */
static void
notify_ready(int fd)
{
	struct sockaddr_un sun;
	const char	*path;
	int		 s;

	if (fd != -1) {
		(void)write(fd, "\n", 1);
		(void)close(fd);
	}
	if ((path = getenv("NOTIFY_SOCKET")) == NULL || *path == '\0')
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		return;
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';
	if ((s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	(void)sendto(s, "READY=1", 7, 0, (struct sockaddr *)&sun,
	    sizeof(sun));
	(void)close(s);
}

static void
setup(int debug, int held)
{
	char	 errbuf[256];

	if (auth_init() == -1)
		errx(1, "libsodium cannot start");
	if (auth_loadkey(D->conf.keyfile, D->aconf.key, errbuf,
	    sizeof(errbuf)) == -1)
		errx(1, "%s", errbuf);
	make_dir(D->conf.rundir, 0755);
	make_dir(D->conf.statedir, 0700);
	if ((size_t)snprintf(D->statepath, sizeof(D->statepath),
	    "%s/clmemberd.state", D->conf.statedir) >= sizeof(D->statepath))
		errx(1, "%s: path too long", D->conf.statedir);

	D->self = D->conf.self;
	D->quorum_size = conf_quorum(&D->conf);
	D->debug = debug;
	D->held = held;
	do {
		randombytes_buf(&D->inc, sizeof(D->inc));
		D->inc &= 0x7fffffffffffffffULL;
	} while (D->inc == 0);
	(void)strlcpy(D->aconf.cluster, D->conf.cluster,
	    sizeof(D->aconf.cluster));
	D->aconf.self = D->self;
	D->aconf.inc = D->inc;
	D->aconf.encrypt = D->conf.encrypt;
	D->aconf.maxpayload = D->conf.max_payload;
	auth_confid_conf(&D->conf, D->aconf.confid);
	D->ctlfd = D->tcpfd = -1;
}

int
main(int argc, char *argv[])
{
	const char	*errstr;
	int		 ch, debug = 0, noaction = 0, verbose = 0, held = 0;
	int		 readyfd = -1;

	if ((D = calloc(1, sizeof(*D))) == NULL)
		err(1, NULL);
	while ((ch = getopt(argc, argv, "df:jnr:v")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			D->confpath = optarg;
			break;
		case 'j':
			held = 1;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'r':
			readyfd = (int)strtonum(optarg, 0, 1024, &errstr);
			if (errstr != NULL)
				errx(2, "-r %s: %s", optarg, errstr);
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	D->confpath = conf_path(D->confpath);

	log_init("clmemberd", 1, LOG_DAEMON);
	if (conf_load(&D->conf, D->confpath) == -1)
		exit(1);
	if (noaction) {
		if (verbose)
			conf_print(stdout, &D->conf);
		else
			(void)fprintf(stderr, "configuration OK\n");
		exit(0);
	}
	setup(debug, held);

	log_init("clmemberd", debug, LOG_DAEMON);
	log_setverbose(debug + verbose);
	conf_set_errfn(conf_log);
	if (loop_init() == -1)
		fatal("event loop");
	(void)signal(SIGPIPE, SIG_IGN);
	if (loop_signal(SIGTERM, on_term, NULL) == -1 ||
	    loop_signal(SIGINT, on_term, NULL) == -1 ||
	    loop_signal(SIGHUP, on_hup, NULL) == -1)
		fatal("signals");
	D->started = clock_ms();
	timer_setup(&D->workt, work, NULL);
	timer_setup(&D->hbt, heartbeat, NULL);
	timer_setup(&D->exitt, exit_deadline, NULL);
	if (statefile_load() == -1 || db_init() == -1)
		exit(1);
	view_init();
	route_init();
	if (control_init() == -1 || peer_init() == -1)
		exit(1);
	timer_in(&D->hbt, (uint64_t)D->conf.heartbeat_ms);
	log_info("node %u of cluster %s, incarnation %llu, %d nodes, "
	    "quorum %d%s", D->self, D->conf.cluster,
	    (unsigned long long)D->inc, D->conf.nnodes, D->quorum_size,
	    held ? "; waiting for clmember join" : "");
	notify_ready(readyfd);
	kick();
	if (loop_run() == -1)
		fatal("event loop");
	control_shutdown();
	peer_shutdown();
	log_info("terminating");
	free(D);
	return 0;
}
