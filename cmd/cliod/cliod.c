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
 * cliod: the data-transfer server of the cl file systems, one per node
 * (seed 002 L295-L318).  See cliod(8).
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cliod.h"
#include "log.h"
#include "vol.h"

#define REOPEN_MS	1000		/* ms between tries of a bad volume */
#define QUIT_POLL_MS	50		/* ms between looks at SIGTERM */

struct cl_conf	 conf;
struct fsvol	 vols[CONF_VOLUMES_MAX];
int		 nvols;
int		 exiting;

static const char	*confpath;
static struct timer	 quitt;
static uint64_t		 quit_deadline;
static int		 released;

static void
usage(void)
{
	(void)fprintf(stderr, "usage: cliod [-dnv] [-f file]\n");
	exit(2);
}

struct fsvol *
vol_find(const char *name)
{
	int	 i;

	for (i = 0; i < nvols; i++)
		if (strcmp(vols[i].name, name) == 0)
			return &vols[i];
	return NULL;
}

/*
 * Open the volume and check its superblock: 0, or -1 (logged).  A volume
 * not formatted yet is tried again later, not fatal: clfs mkfs may run
 * after cliod starts.
 */
static int
vol_open(struct fsvol *v)
{
	struct vol_super sb;
	const char	*path = conf_volume_path(&conf, v->cv, conf.self);
	char		 why[256];
	int		 fd;

	v->tried = loop_now();
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) == -1) {
		log_warn("%s: %s", v->name, path);
		return -1;
	}
	if (vol_read_super(fd, &sb, why, sizeof(why)) == -1) {
		log_warnx("%s: %s: %s", v->name, path, why);
		(void)close(fd);
		return -1;
	}
	v->fd = fd;
	v->bsize = sb.bsize;
	v->bytes = sb.nblocks * sb.bsize;
	log_info("%s: %s, %u-byte blocks, %llu blocks", v->name, path,
	    sb.bsize, (unsigned long long)sb.nblocks);
	return 0;
}

int
vol_ready(struct fsvol *v)
{
	if (v->fd != -1)
		return 0;
	if (v->tried != 0 && loop_now() < v->tried + REOPEN_MS)
		return -1;
	return vol_open(v);
}

static void
vols_init(void)
{
	struct fsvol	*v;
	const char	*path;
	int		 i;

	for (i = 0; i < conf.nvolumes; i++) {
		v = &vols[nvols++];
		(void)strlcpy(v->name, conf.volumes[i].name, sizeof(v->name));
		v->cv = &conf.volumes[i];
		v->fd = -1;
		TAILQ_INIT(&v->syncwait);
		TAILQ_INIT(&v->syncing);
		path = conf_volume_path(&conf, v->cv, conf.self);
		v->local = path != NULL && path[0] != '\0';
		if (!v->local) {
			log_info("%s: not reachable from node %u; reads and "
			    "writes go through another node", v->name,
			    conf.self);
			continue;
		}
		(void)vol_open(v);
	}
}

/* SIGTERM: wait for what is in flight (bounded), then go. */
static void
quit_check(void *arg)
{
	(void)arg;
	if (stats_total()->inflight > 0 && loop_now() < quit_deadline) {
		timer_in(&quitt, QUIT_POLL_MS);
		return;
	}
	if (stats_total()->inflight > 0)
		log_warnx("exiting with %llu requests unfinished",
		    (unsigned long long)stats_total()->inflight);
	if (!released) {
		/* Write leases go back; one more turn sends them. */
		released = 1;
		mc_release_all();
		timer_in(&quitt, QUIT_POLL_MS);
		return;
	}
	loop_exit();
}

static void
on_term(int sig, void *arg)
{
	(void)arg;
	if (exiting) {
		log_info("signal %d again: exiting now", sig);
		loop_exit();
		return;
	}
	log_info("signal %d: finishing %llu requests, then exiting", sig,
	    (unsigned long long)stats_total()->inflight);
	exiting = 1;
	client_shutdown();
	quit_deadline = loop_now() + EXIT_GRACE_MS;
	timer_setup(&quitt, quit_check, NULL);
	timer_in(&quitt, 0);
}

static void
on_hup(int sig, void *arg)
{
	(void)sig;
	(void)arg;
	log_info("SIGHUP: the configuration is read at start only; "
	    "restart cliod to change it");
}

/*
 * Every request allocates and frees a few kilobytes (frames, requests)
 * and reads and writes a megabyte: without this, glibc gives the top of
 * the heap back and takes it again all the time, and the page faults
 * cost more than the requests.
 */
static void
tune_malloc(void)
{
#if defined(M_TRIM_THRESHOLD) && defined(M_MMAP_THRESHOLD)
	(void)mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	(void)mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
#endif
}

static void
conf_log(const char *msg)
{
	log_warnx("%s", msg);
}

int
main(int argc, char *argv[])
{
	int	 ch, debug = 0, noaction = 0, verbose = 0, i;

	while ((ch = getopt(argc, argv, "df:nv")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			confpath = optarg;
			break;
		case 'n':
			noaction = 1;
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
	confpath = conf_path(confpath);

	log_init("cliod", 1, LOG_DAEMON);
	if (conf_load(&conf, confpath) == -1)
		exit(1);
	if (noaction) {
		if (verbose)
			conf_print(stdout, &conf);
		else
			(void)fprintf(stderr, "configuration OK\n");
		exit(0);
	}
	log_init("cliod", debug, LOG_DAEMON);
	log_setverbose(debug + verbose);
	conf_set_errfn(conf_log);
	if (loop_init() == -1)
		fatal("event loop");
	(void)signal(SIGPIPE, SIG_IGN);
	if (loop_signal(SIGTERM, on_term, NULL) == -1 ||
	    loop_signal(SIGINT, on_term, NULL) == -1 ||
	    loop_signal(SIGHUP, on_hup, NULL) == -1)
		fatal("signals");
	tune_malloc();
	vols_init();
	if (io_init(IO_THREADS) == -1)
		fatal("disk workers");
	stats_init();
	util_init();
	if (client_init() == -1)
		exit(1);
	if (meta_init() == -1)
		exit(1);
	log_info("node %u: %d file systems, socket %s/%s", conf.self, nvols,
	    conf.rundir, FS_SOCK);
	if (loop_run() == -1)
		fatal("event loop");
	meta_shutdown();
	io_shutdown();
	for (i = 0; i < nvols; i++)
		if (vols[i].fd != -1)
			(void)close(vols[i].fd);
	log_info("terminating");
	return 0;
}
