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

#ifndef CLFS_H
#define CLFS_H

struct cl_conf;

/*
 * Subcommands that work on the volume itself, not through cliod(8).
 * VOLUME is a volume name from the config, or a path (it has a '/').
 * Each takes the arguments after its own name (argv[0] is the
 * subcommand) and returns the exit status.
 */
int	 clfs_mkfs(const char *, int, char **);	/* conf path, argc, argv */
int	 clfs_fsck(const char *, int, char **);

/* Exit statuses of fsck, as e2fsck(8)'s. */
#define FSCK_CLEAN	0
#define FSCK_FIXED	1
#define FSCK_LEFT	4
#define FSCK_USAGE	8

#endif /* CLFS_H */
