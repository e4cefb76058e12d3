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
 * The one thing clmemberd must remember across a crash: the highest
 * epoch it promised to a coordinator.  Forgetting it would let a node
 * that restarts vote twice for one epoch, and two different views could
 * then both collect a majority.  The file is replaced atomically and
 * synced before the promise is sent.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clmemberd.h"
#include "log.h"

int
statefile_load(void)
{
	char	 b[128];
	ssize_t	 n;
	int	 fd;
	unsigned long long e;

	if ((fd = open(D->statepath, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("%s", D->statepath);
		return -1;
	}
	n = read(fd, b, sizeof(b) - 1);
	(void)close(fd);
	if (n < 0) {
		log_warn("%s", D->statepath);
		return -1;
	}
	b[n] = '\0';
	if (sscanf(b, "promised %llu", &e) != 1) {
		log_warnx("%s: not a clmemberd state file", D->statepath);
		return -1;
	}
	D->promised = e;
	D->max_epoch = e;
	return 0;
}

int
statefile_syncdir(const char *path)
{
	char	 d[PATH_MAX];
	int	 fd, rc;

	(void)strlcpy(d, path, sizeof(d));
	if ((fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	(void)close(fd);
	return rc;
}

int
statefile_promise(uint64_t epoch)
{
	char	 tmp[PATH_MAX + 8], b[64];
	int	 fd, n;

	if (epoch <= D->promised)
		return 0;
	(void)snprintf(tmp, sizeof(tmp), "%s.tmp", D->statepath);
	n = snprintf(b, sizeof(b), "promised %llu\n",
	    (unsigned long long)epoch);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		goto fail;
	if (write(fd, b, (size_t)n) != n || fsync(fd) == -1) {
		(void)close(fd);
		goto fail;
	}
	if (close(fd) == -1 || rename(tmp, D->statepath) == -1 ||
	    statefile_syncdir(D->statepath) == -1)
		goto fail;
	D->promised = epoch;
	if (epoch > D->max_epoch)
		D->max_epoch = epoch;
	return 0;
fail:
	log_warn("cannot record promise of epoch %llu in %s",
	    (unsigned long long)epoch, D->statepath);
	return -1;
}
