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
 * clmount: a cl file system as a FUSE mount, so that any program's
 * open, read and write go through cl (issue 10).  Seed 002's "normal
 * client" becomes any local process: the user application on node B
 * does ordinary file operations and the cluster does the rest.  Every
 * operation goes to the local cliod(8), which raises DM events, maps
 * block lists and reaches the volume (or another node's cliod).
 */

#include <sys/types.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "clmount.h"
#include "log.h"

struct cm_mount	 cm;

static void __attribute__((__noreturn__))
usage(void)
{
	(void)fprintf(stderr, "usage: clmount [-dnv] [-f file] [-o options] "
	    "fs mountpoint\n");
	exit(2);
}

static void
conf_err(const char *msg)
{
	warnx("%s", msg);
}

/* "-o a -o b": one comma-separated list. */
static void
opts_add(char *opts, size_t size, const char *more)
{
	if (strlcat(opts, ",", size) >= size ||
	    strlcat(opts, more, size) >= size)
		errx(2, "-o: options too long");
}

/*
 * A clmount killed with the mount in place leaves a mount point that
 * answers ENOTCONN: detach it, so that mounting again just works.
 */
static void
detach_stale(const char *mp)
{
	struct stat	 st;
	pid_t		 pid;
	int		 status;

	if (stat(mp, &st) == 0 || errno != ENOTCONN)
		return;
	warnx("%s: detaching the mount of a clmount that is gone", mp);
	if (geteuid() == 0) {
		if (umount2(mp, MNT_DETACH) == -1)
			err(1, "umount %s", mp);
		return;
	}
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-uz", mp, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		errx(1, "fusermount3 -uz %s failed", mp);
}

/*
 * The kernel reads ahead 128 KiB on a FUSE mount by default: one
 * request in flight at a time.  CM_READAHEAD_KB keeps a few 1 MiB reads
 * in flight, as clfs get does (root only: the knob is in sysfs).  The
 * mount's device number comes from mountinfo, not stat(2), which would
 * wait for the FUSE loop not yet running.
 */
static void
set_readahead(const char *mp)
{
	FILE	*fp;
	char	 line[PATH_MAX + 512], dev[32], point[PATH_MAX], path[128];
	char	 found_dev[32];
	int	 found = 0;

	if ((fp = fopen("/proc/self/mountinfo", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "%*s %*s %31s %*s %4095s", dev, point) == 2 &&
		    strcmp(point, mp) == 0) {
			/* The last one is on top. */
			(void)strlcpy(found_dev, dev, sizeof(found_dev));
			found = 1;
		}
	(void)fclose(fp);
	if (!found)
		return;
	(void)snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb",
	    found_dev);
	if ((fp = fopen(path, "w")) == NULL) {
		log_debug("%s: %s", path, strerror(errno));
		return;
	}
	(void)fprintf(fp, "%d\n", CM_READAHEAD_KB);
	if (fclose(fp) == EOF)
		log_debug("%s: %s", path, strerror(errno));
}

/* The file system answers through cliod: its block size, or exit. */
static void
check_fs(void)
{
	struct frame	 req, ans;
	struct cm_conn	*c;
	uint64_t	 bsize;
	int		 e;

	frame_init(&req, "statfs", 0);
	(void)frame_add(&req, "fs", "%s", cm.fs);
	if ((e = pool_call_as(geteuid(), getegid(), &req, &ans, &c)) != 0) {
		pool_put(c);
		if (e == ENOTCONN)
			errx(1, "cannot reach cliod at %s/" FS_SOCK
			    " (is it running?)", cm.conf.rundir);
		errx(1, "%s: %s", cm.fs, strerror(e));
	}
	if (fs_getnum(&ans, "bsize", 10, 1U << 24, &bsize) != 1 ||
	    bsize < 512)
		errx(1, "%s: malformed statfs answer from cliod", cm.fs);
	cm.bsize = (uint32_t)bsize;
	pool_put(c);
	pool_flush();
}

int
main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *lc;
	struct fuse	*f;
	const char	*path = NULL;
	char		 opts[2048], mp[PATH_MAX];
	int		 ch, debug = 0, noaction = 0, verbose = 0, rc;

	(void)snprintf(opts, sizeof(opts), "default_permissions");
	while ((ch = getopt(argc, argv, "df:no:v")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			path = optarg;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'o':
			opts_add(opts, sizeof(opts), optarg);
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	memset(&cm, 0, sizeof(cm));
	cm.fs = argv[0];
	cm.verbose = verbose;
	log_init("clmount", 1, LOG_DAEMON);
	log_setverbose(verbose);
	conf_set_errfn(conf_err);
	if (conf_load(&cm.conf, conf_path(path)) == -1)
		exit(1);
	if (conf_volume(&cm.conf, cm.fs) == NULL)
		errx(1, "no file system %s in %s", cm.fs, cm.conf.path);
	if (noaction) {
		(void)printf("configuration OK\n");
		return 0;
	}
	detach_stale(argv[1]);
	if (realpath(argv[1], mp) == NULL)
		err(1, "%s", argv[1]);
	cm.mountpoint = mp;
	/* Answers may wait for a DM application, then cliod's retries. */
	cm.timeout = cm.conf.event_timeout_ms + CM_TIMEOUT_MIN;
	cm.attr_timeout = cm.conf.lease_ms / 1000.0;
	if (cm.attr_timeout > CM_ATTR_MAX)
		cm.attr_timeout = CM_ATTR_MAX;
	if (pthread_mutex_init(&cm.lock, NULL) != 0 ||
	    pthread_mutex_init(&cm.flock, NULL) != 0)
		errx(1, "pthread_mutex_init");
	(void)signal(SIGPIPE, SIG_IGN);
	cm.asroot = geteuid() == 0;
	/*
	 * cliod reads a caller's supplementary groups from /proc/PID:
	 * ours must not be lent to the users we connect for.
	 */
	if (cm.asroot && setgroups(0, NULL) == -1)
		err(1, "setgroups");
	check_fs();

	opts_add(opts, sizeof(opts), "fsname=cl:");
	if (strlcat(opts, cm.fs, sizeof(opts)) >= sizeof(opts))
		errx(2, "-o: options too long");
	opts_add(opts, sizeof(opts), "subtype=cl");
	if (fuse_opt_add_arg(&args, "clmount") == -1 ||
	    fuse_opt_add_arg(&args, "-o") == -1 ||
	    fuse_opt_add_arg(&args, opts) == -1)
		errx(1, "out of memory");
	if (verbose > 1 && fuse_opt_add_arg(&args, "-d") == -1)
		errx(1, "out of memory");
	if ((f = fuse_new(&args, &cm_ops, sizeof(cm_ops), NULL)) == NULL)
		errx(1, "bad options: %s", opts);
	if (fuse_mount(f, mp) == -1)
		errx(1, "cannot mount %s on %s", cm.fs, mp);
	set_readahead(mp);
	if (fuse_daemonize(debug) == -1) {
		fuse_unmount(f);
		errx(1, "cannot go to the background");
	}
	if (!debug)
		log_init("clmount", 0, LOG_DAEMON);
	log_setverbose(verbose);
	if (fuse_set_signal_handlers(fuse_get_session(f)) == -1) {
		fuse_unmount(f);
		fatalx("cannot set signal handlers");
	}
	log_info("%s mounted on %s", cm.fs, mp);
	if ((lc = fuse_loop_cfg_create()) == NULL)
		fatalx("out of memory");
	fuse_loop_cfg_set_max_threads(lc, CM_THREADS);
	fuse_loop_cfg_set_idle_threads(lc, CM_THREADS);
	rc = fuse_loop_mt(f, lc);
	fuse_loop_cfg_destroy(lc);
	fuse_remove_signal_handlers(fuse_get_session(f));
	fuse_unmount(f);
	fuse_destroy(f);
	fuse_opt_free_args(&args);
	pool_flush();
	log_info("terminating");
	return rc == 0 ? 0 : 1;
}
