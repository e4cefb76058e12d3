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
 * cliocli: raw requests to the local cliod(8), for tests/cliod.bats.
 *
 *	cliocli -f node.conf create FS:/path
 *	cliocli -f node.conf pwrite FS:/path OFF TEXT
 *	cliocli -f node.conf fill FS:/path OFF LEN BYTE [WINDOW]
 *	cliocli -f node.conf pread FS:/path OFF LEN	(bytes to stdout)
 *	cliocli -f node.conf drain FS:/path LEN [WINDOW]
 *	cliocli -f node.conf truncate FS:/path SIZE
 *	cliocli -f node.conf unlink FS:/path
 *	cliocli -f node.conf status [FS]		(key=value lines)
 *	cliocli -f node.conf raw OP [KEY=VALUE ...]	(prints the answer;
 *	    a write's payload is standard input, up to 1 MiB)
 *
 * fill writes LEN bytes of BYTE (a number) from OFF in 1 MiB requests,
 * WINDOW (default 16) in flight, and prints "fill bytes= ms= MBps=".
 * drain reads LEN bytes the same way, throws them away and prints
 * "drain bytes= ms= MBps=" (bytes: what came back).
 * An error answer prints "cliocli: OP: STATUS: REASON" and exits 1.
 */

#include <err.h>
#include <signal.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "fsproto.h"
#include "loop.h"
#include "wire.h"

#define REPLY_MS	60000		/* ms */

static struct ctl	 ctl;
static uint64_t		 txid;
static char		 fs[CONF_NAME_MAX];
static const char	*path;

static void
usage(void)
{
	(void)fprintf(stderr, "usage: cliocli -f conf create|pwrite|fill|"
	    "pread|drain|truncate|unlink|status|raw ...\n");
	exit(2);
}

static void
split(const char *arg)
{
	const char	*c;

	if ((c = strchr(arg, ':')) == NULL || (size_t)(c - arg) >= sizeof(fs))
		errx(2, "%s: want FS:/path", arg);
	memcpy(fs, arg, (size_t)(c - arg));
	fs[c - arg] = '\0';
	path = c + 1;
}

static uint64_t
num(const char *s)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (*s == '\0' || *end != '\0' || errno != 0)
		errx(2, "%s: not a number", s);
	return v;
}

static uint64_t
send_frame(struct frame *f)
{
	f->txid = ++txid;
	if (f->err || ctl_send(&ctl, f) == -1)
		err(1, "send %s", f->op);
	return f->txid;
}

static void
check(const struct frame *f, const char *what)
{
	if (strcmp(f->op, "error") == 0)
		errx(1, "%s: %s: %s", what, frame_get(f, "status") ?
		    frame_get(f, "status") : "?", frame_get(f, "reason") ?
		    frame_get(f, "reason") : "?");
}

static void
recv_frame(struct frame *f)
{
	int	 rc;

	if ((rc = ctl_recv(&ctl, f, REPLY_MS)) == 0)
		errx(1, "cliod closed the connection");
	if (rc == -1)
		err(1, "receive");
}

static void
call(struct frame *req, struct frame *ans)
{
	uint64_t	 id = send_frame(req);

	for (;;) {
		recv_frame(ans);
		if (ans->txid == id)
			return;
	}
}

static void
print_keys(const struct frame *f)
{
	int	 i;

	for (i = 0; i < f->nkv; i++)
		(void)printf("%s=%s\n", f->kv[i].key, f->kv[i].val);
}

static void
stat_path(uint32_t *ino, uint32_t *gen)
{
	struct frame	 f, a;
	struct fs_attr	 at;

	frame_init(&f, "stat", 0);
	frame_add(&f, "fs", "%s", fs);
	frame_add(&f, "path", "%s", path);
	call(&f, &a);
	check(&a, "stat");
	if (fs_attr_get(&a, &at) == -1)
		errx(1, "stat: bad attributes");
	*ino = at.ino;
	*gen = at.gen;
}

static void
io_head(struct frame *f, const char *op, uint32_t ino, uint32_t gen,
    uint64_t off)
{
	frame_init(f, op, 0);
	frame_add(f, "fs", "%s", fs);
	frame_add(f, "ino", "%" PRIu32, ino);
	frame_add(f, "gen", "%" PRIu32, gen);
	frame_add(f, "off", "%" PRIu64, off);
}

static int
cmd_pwrite(int argc, char **argv)
{
	struct frame	 f, a;
	uint32_t	 ino, gen;

	if (argc != 3)
		usage();
	split(argv[0]);
	stat_path(&ino, &gen);
	io_head(&f, "write", ino, gen, num(argv[1]));
	frame_payload(&f, argv[2], strlen(argv[2]));
	call(&f, &a);
	check(&a, "write");
	print_keys(&a);
	return 0;
}

static int
cmd_fill(int argc, char **argv)
{
	struct frame	 f, a;
	uint8_t		*buf;
	uint64_t	 off, len, end, t0, ms;
	uint32_t	 ino, gen;
	int		 window = 16, inflight = 0;

	if (argc != 4 && argc != 5)
		usage();
	split(argv[0]);
	off = num(argv[1]);
	len = num(argv[2]);
	if (argc == 5)
		window = (int)num(argv[4]);
	if ((buf = malloc(FS_IO_MAX)) == NULL)
		err(1, NULL);
	memset(buf, (int)num(argv[3]), FS_IO_MAX);
	stat_path(&ino, &gen);
	end = off + len;
	t0 = clock_ms();
	while (off < end || inflight > 0) {
		if (off < end && inflight < window) {
			io_head(&f, "write", ino, gen, off);
			frame_payload(&f, buf, end - off < FS_IO_MAX ?
			    end - off : FS_IO_MAX);
			off += f.len;
			(void)send_frame(&f);
			inflight++;
			continue;
		}
		recv_frame(&a);
		check(&a, "write");
		inflight--;
	}
	ms = clock_ms() - t0;
	(void)printf("fill bytes=%" PRIu64 " ms=%" PRIu64 " MBps=%.1f\n", len,
	    ms, ms > 0 ? (double)len / 1048576.0 / ((double)ms / 1000) : 0.0);
	free(buf);
	return 0;
}

static int
cmd_pread(int argc, char **argv)
{
	struct frame	 f, a;
	uint64_t	 off, len, n;
	uint32_t	 ino, gen;

	if (argc != 3)
		usage();
	split(argv[0]);
	off = num(argv[1]);
	len = num(argv[2]);
	stat_path(&ino, &gen);
	while (len > 0) {
		n = len < FS_IO_MAX ? len : FS_IO_MAX;
		io_head(&f, "read", ino, gen, off);
		frame_add(&f, "count", "%" PRIu64, n);
		call(&f, &a);
		check(&a, "read");
		if (a.len > 0 && fwrite(a.payload, 1, a.len, stdout) != a.len)
			err(1, "stdout");
		if (a.len < n || frame_get(&a, "eof") != NULL)
			break;
		off += n;
		len -= n;
	}
	return 0;
}

static int
cmd_drain(int argc, char **argv)
{
	struct frame	 f, a;
	uint64_t	 off = 0, len, got = 0, t0, ms, n;
	uint32_t	 ino, gen;
	int		 window = 16, inflight = 0;

	if (argc != 2 && argc != 3)
		usage();
	split(argv[0]);
	len = num(argv[1]);
	if (argc == 3)
		window = (int)num(argv[2]);
	stat_path(&ino, &gen);
	t0 = clock_ms();
	while (off < len || inflight > 0) {
		if (off < len && inflight < window) {
			n = len - off < FS_IO_MAX ? len - off : FS_IO_MAX;
			io_head(&f, "read", ino, gen, off);
			frame_add(&f, "count", "%" PRIu64, n);
			(void)send_frame(&f);
			off += n;
			inflight++;
			continue;
		}
		recv_frame(&a);
		check(&a, "read");
		got += a.len;
		inflight--;
	}
	ms = clock_ms() - t0;
	(void)printf("drain bytes=%" PRIu64 " ms=%" PRIu64 " MBps=%.1f\n", got,
	    ms, ms > 0 ? (double)got / 1048576.0 / ((double)ms / 1000) : 0.0);
	return 0;
}

static int
simple(const char *op, int argc, char **argv)
{
	static uint8_t	 data[FS_IO_MAX];
	struct frame	 f, a;
	size_t		 n = 0;
	ssize_t		 r;
	int		 i;
	char		*eq;

	frame_init(&f, op, 0);
	for (i = 0; i < argc; i++) {
		if ((eq = strchr(argv[i], '=')) == NULL)
			usage();
		*eq = '\0';
		frame_add(&f, argv[i], "%s", eq + 1);
	}
	/* raw write: the payload is standard input, up to FS_IO_MAX. */
	if (strcmp(op, "write") == 0) {
		while (n < sizeof(data) && (r = read(STDIN_FILENO, data + n,
		    sizeof(data) - n)) > 0)
			n += (size_t)r;
		frame_payload(&f, data, n);
	}
	call(&f, &a);
	print_keys(&a);
	if (a.len > 0 && fwrite(a.payload, 1, a.len, stdout) != a.len)
		err(1, "stdout");
	check(&a, op);
	return 0;
}

static int
cmd_path(const char *op, int argc, char **argv)
{
	struct frame	 f, a;

	if (argc < 1)
		usage();
	split(argv[0]);
	frame_init(&f, op, 0);
	frame_add(&f, "fs", "%s", fs);
	frame_add(&f, "path", "%s", path);
	if (strcmp(op, "create") == 0)
		frame_add(&f, "mode", "0644");
	if (strcmp(op, "setattr") == 0) {
		if (argc != 2)
			usage();
		frame_add(&f, "size", "%s", argv[1]);
	}
	call(&f, &a);
	check(&a, op);
	print_keys(&a);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct cl_conf	 conf;
	const char	*confpath = NULL;
	char		 statusfs[CONF_NAME_MAX + 4];
	char		*sargv[1];
	int		 ch;

	while ((ch = getopt(argc, argv, "f:")) != -1) {
		switch (ch) {
		case 'f':
			confpath = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (conf_load(&conf, conf_path(confpath)) == -1)
		exit(2);
	/* A cliod killed mid-request: an error message, not a signal. */
	(void)signal(SIGPIPE, SIG_IGN);
	if (ctl_open(&ctl, conf.rundir, "cliod") == -1)
		err(1, "%s/cliod.sock", conf.rundir);
	if (strcmp(argv[0], "create") == 0 || strcmp(argv[0], "unlink") == 0)
		return cmd_path(argv[0], argc - 1, argv + 1);
	if (strcmp(argv[0], "truncate") == 0)
		return cmd_path("setattr", argc - 1, argv + 1);
	if (strcmp(argv[0], "pwrite") == 0)
		return cmd_pwrite(argc - 1, argv + 1);
	if (strcmp(argv[0], "fill") == 0)
		return cmd_fill(argc - 1, argv + 1);
	if (strcmp(argv[0], "pread") == 0)
		return cmd_pread(argc - 1, argv + 1);
	if (strcmp(argv[0], "drain") == 0)
		return cmd_drain(argc - 1, argv + 1);
	if (strcmp(argv[0], "raw") == 0 && argc >= 2)
		return simple(argv[1], argc - 2, argv + 2);
	if (strcmp(argv[0], "status") == 0) {
		if (argc == 1)
			return simple("status", 0, NULL);
		(void)snprintf(statusfs, sizeof(statusfs), "fs=%s", argv[1]);
		sargv[0] = statusfs;
		return simple("status", 1, sargv);
	}
	usage();
	return 2;
}
