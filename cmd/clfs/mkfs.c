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

/* clfs mkfs: write a new file system on a volume (vol.h, cl-vol(5)). */

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>

#include "clfs.h"
#include "conf.h"
#include "vol.h"
#include "volume.h"

int
clfs_volume_open(const char *confpath, const char *vol, int flags,
    char *path, size_t pathlen)
{
	struct cl_conf		*conf;
	const struct cl_volume	*v;
	const char		*p;
	int			 fd;

	if (strchr(vol, '/') != NULL)
		p = vol;
	else {
		if ((conf = calloc(1, sizeof(*conf))) == NULL) {
			warn("config");
			return -1;
		}
		if (conf_load(conf, conf_path(confpath)) == -1) {
			free(conf);
			return -1;	/* conf_load said why */
		}
		if ((v = conf_volume(conf, vol)) == NULL) {
			warnx("%s: no such volume in %s", vol, conf->path);
			free(conf);
			return -1;
		}
		if ((p = conf_volume_path(conf, v, conf->self)) == NULL) {
			warnx("%s: node %" PRIu32 " has no path to it", vol,
			    conf->self);
			free(conf);
			return -1;
		}
		(void)strlcpy(path, p, pathlen);
		free(conf);
		p = path;
	}
	if (p != path)
		(void)strlcpy(path, p, pathlen);
	if ((fd = open(path, flags | O_CLOEXEC)) == -1)
		warn("%s", path);
	return fd;
}

static int
mkfs_usage(void)
{
	(void)fprintf(stderr, "usage: clfs mkfs [-F] [-b blocksize] "
	    "[-i inodes] [-L label] volume\n");
	return 2;
}

/* Anything with our magic counts, damaged or not: it may be recoverable. */
static int
mkfs_existing(int fd, const char *path, int force)
{
	struct vol_super	 sb;
	char			 magic[8], why[256];
	ssize_t			 r;

	if ((r = pread(fd, magic, sizeof(magic), 0)) == -1) {
		warn("%s", path);
		return -1;
	}
	if (r < (ssize_t)sizeof(magic) || memcmp(magic, VOL_MAGIC, 8) != 0 ||
	    force)
		return 0;
	if (vol_read_super(fd, &sb, why, sizeof(why)) == -1)
		warnx("%s: already holds a cl file system (damaged: %s); "
		    "use -F to overwrite it", path, why);
	else
		warnx("%s: already holds a cl file system (label \"%s\", %"
		    PRIu64 " blocks of %" PRIu32 "); use -F to overwrite it",
		    path, sb.label, sb.nblocks, sb.bsize);
	return -1;
}

int
clfs_mkfs(const char *confpath, int argc, char **argv)
{
	struct vol_super	 sb;
	const char		*label = NULL, *errstr;
	char			 path[PATH_MAX], why[256];
	uint64_t		 bytes;
	uint32_t		 bsize = 0, ninodes = 0;
	int			 ch, fd, force = 0;

	optind = 1;
	while ((ch = getopt(argc, argv, "Fb:i:L:")) != -1) {
		switch (ch) {
		case 'F':
			force = 1;
			break;
		case 'b':
			bsize = strtonum(optarg, VOL_BSIZE_MIN, VOL_BSIZE_MAX,
			    &errstr);
			if (errstr != NULL) {
				warnx("block size %s: %s (%d to %d)", optarg,
				    errstr, VOL_BSIZE_MIN, VOL_BSIZE_MAX);
				return 2;
			}
			break;
		case 'i':
			ninodes = strtonum(optarg, 1, UINT32_MAX - 1, &errstr);
			if (errstr != NULL) {
				warnx("inodes %s: %s", optarg, errstr);
				return 2;
			}
			break;
		case 'L':
			label = optarg;
			break;
		default:
			return mkfs_usage();
		}
	}
	if (argc - optind != 1)
		return mkfs_usage();
	if (label == NULL && strchr(argv[optind], '/') == NULL)
		label = argv[optind];	/* a volume of the config: its name */
	if ((fd = clfs_volume_open(confpath, argv[optind], O_RDWR, path,
	    sizeof(path))) == -1)
		return 1;
	if (mkfs_existing(fd, path, force) == -1) {
		(void)close(fd);
		return 1;
	}
	if (vol_dev_size(fd, &bytes) == -1) {
		warn("%s: size", path);
		(void)close(fd);
		return 1;
	}
	if (vol_mkfs(fd, bytes, bsize, ninodes, label, &sb, why,
	    sizeof(why)) == -1) {
		warnx("%s: %s", path, why);
		(void)close(fd);
		return 1;
	}
	if (close(fd) == -1) {
		warn("%s", path);
		return 1;
	}
	(void)printf("%s: %" PRIu64 " blocks of %" PRIu32 " bytes, %" PRIu32
	    " inodes, journal %" PRIu64 " blocks, data from block %" PRIu64
	    "\n", path, sb.nblocks, sb.bsize, sb.ninodes, sb.journal_blocks,
	    sb.data_start);
	return 0;
}
