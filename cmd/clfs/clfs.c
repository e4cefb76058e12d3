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
 * clfs: the cl file system's tool.  mkfs and fsck work on the volume
 * itself (mkfs.c, fsck.c); everything else goes through the local
 * cliod(8), which forwards namespace operations to the file system's
 * clmetad(8) and does the data I/O itself.  See clfs(1).
 */

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clfs.h"
#include "client.h"

#define LS_WINDOW	64		/* stats in flight for ls -l */

struct cl_conf	 clfs_conf;
const char	*clfs_confpath;
uint32_t	 clfs_via;
int		 clfs_aware = 1;
int		 clfs_verbose;

struct command {
	const char	*name;
	int		(*fn)(int, char **);
	const char	*args;
};

static int	 cmd_mkfs(int, char **);
static int	 cmd_fsck(int, char **);
static int	 cmd_ls(int, char **);
static int	 cmd_stat(int, char **);
static int	 cmd_put(int, char **);
static int	 cmd_get(int, char **);
static int	 cmd_cat(int, char **);
static int	 cmd_rm(int, char **);
static int	 cmd_mkdir(int, char **);
static int	 cmd_rmdir(int, char **);
static int	 cmd_mv(int, char **);
static int	 cmd_df(int, char **);

static const struct command commands[] = {
	{ "mkfs",	cmd_mkfs,	"[-F] [-b bsize] [-i inodes] [-L label] "
	    "VOLUME" },
	{ "fsck",	cmd_fsck,	"[-n | -y] VOLUME" },
	{ "ls",		cmd_ls,		"[-ln] FS:/path ..." },
	{ "stat",	cmd_stat,	"FS:/path ..." },
	{ "put",	cmd_put,	"[-m mode] LOCAL|- FS:/path" },
	{ "get",	cmd_get,	"FS:/path LOCAL|-" },
	{ "cat",	cmd_cat,	"FS:/path ..." },
	{ "rm",		cmd_rm,		"FS:/path ..." },
	{ "mkdir",	cmd_mkdir,	"[-p] [-m mode] FS:/path ..." },
	{ "rmdir",	cmd_rmdir,	"FS:/path ..." },
	{ "mv",		cmd_mv,		"FS:/from FS:/to" },
	{ "df",		cmd_df,		"[FS ...]" },
};

static struct fsc	 fsc;

static void __attribute__((__noreturn__))
usage(void)
{
	size_t	 i;

	(void)fprintf(stderr, "usage: clfs [-v] [-f file] [--via node] "
	    "[--unaware] command [args]\n"
	    "commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		(void)fprintf(stderr, "\t%s %s\n", commands[i].name,
		    commands[i].args);
	exit(2);
}

static int
mode_arg(const char *s)
{
	char		*end;
	unsigned long	 m;

	errno = 0;
	m = strtoul(s, &end, 8);
	if (errno != 0 || *s == '\0' || *end != '\0' || m > 07777)
		errx(2, "-m %s: want an octal mode, 0 to 7777", s);
	return (int)m;
}

static int
cur_umask(void)
{
	mode_t	 m = umask(0);

	(void)umask(m);
	return (int)m;
}

/* Operands as FS:/path; a bad one is a usage error (exit 2). */
static void
names_arg(int argc, char **argv, struct fsname *n)
{
	int	 i;

	for (i = 0; i < argc; i++)
		if (fsname_parse(&n[i], argv[i]) == -1)
			exit(2);
}

static struct fsname *
names_alloc(int argc, char **argv)
{
	struct fsname	*n;

	if (argc < 1)
		usage();
	if ((n = calloc((size_t)argc, sizeof(*n))) == NULL)
		err(1, NULL);
	names_arg(argc, argv, n);
	return n;
}

/* One path-only request for each operand; exit 1 if any failed. */
static int
each_path(const char *op, int argc, char **argv, const char *mode)
{
	struct fsname	*n;
	struct frame	 req, ans;
	int		 i, rc = 0;

	n = names_alloc(argc, argv);
	fsc_connect(&fsc);
	for (i = 0; i < argc; i++) {
		fsc_req(&req, op, &n[i]);
		if (mode != NULL)
			(void)frame_add(&req, "mode", "%s", mode);
		if (fsc_call(&fsc, &req, &ans) != 0) {
			(void)fsc_answer(&n[i], &ans);
			rc = 1;
		}
	}
	free(n);
	return rc;
}

static int
cmd_mkfs(int argc, char **argv)
{
	return clfs_mkfs(clfs_confpath, argc, argv);
}

static int
cmd_fsck(int argc, char **argv)
{
	return clfs_fsck(clfs_confpath, argc, argv);
}

static int
cmd_rm(int argc, char **argv)
{
	return each_path("unlink", argc - 1, argv + 1, NULL);
}

static int
cmd_rmdir(int argc, char **argv)
{
	return each_path("rmdir", argc - 1, argv + 1, NULL);
}

/* mkdir -p: every missing directory on the way; existing ones are fine. */
static int
mkdir_parents(const struct fsname *n, const char *mode)
{
	struct fsname	 part = *n;
	struct frame	 req, ans;
	struct fs_attr	 a;
	char		*s;
	int		 e, last;

	for (s = part.path + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		last = *s == '\0';
		*s = '\0';
		fsc_req(&req, "mkdir", &part);
		(void)frame_add(&req, "mode", "%s", mode);
		e = fsc_call(&fsc, &req, &ans);
		if (e == EEXIST && (e = fsc_stat(&fsc, &part, &a, 0)) == 0 &&
		    a.type != 'd')
			e = ENOTDIR;
		if (e != 0) {
			fsc_fail(&part, e, &ans);
			return 1;
		}
		if (last)
			return 0;
		*s = '/';
	}
}

static int
cmd_mkdir(int argc, char **argv)
{
	struct fsname	*n;
	char		 mode[16];
	int		 ch, i, m = -1, parents = 0, rc = 0;

	optind = 1;
	while ((ch = getopt(argc, argv, "m:p")) != -1) {
		switch (ch) {
		case 'm':
			m = mode_arg(optarg);
			break;
		case 'p':
			parents = 1;
			break;
		default:
			usage();
		}
	}
	if (m == -1)
		m = 0777 & ~cur_umask();
	(void)snprintf(mode, sizeof(mode), "%04o", (unsigned)m);
	if (!parents)
		return each_path("mkdir", argc - optind, argv + optind, mode);
	n = names_alloc(argc - optind, argv + optind);
	fsc_connect(&fsc);
	for (i = 0; i < argc - optind; i++)
		if (strcmp(n[i].path, "/") != 0 &&
		    mkdir_parents(&n[i], mode) != 0)
			rc = 1;
	free(n);
	return rc;
}

static int
cmd_mv(int argc, char **argv)
{
	struct fsname	 n[2], in;
	struct fs_attr	 a;
	struct frame	 req, ans;
	const struct fsname *to = &n[1];

	if (argc != 3)
		usage();
	names_arg(2, argv + 1, n);
	if (strcmp(n[0].fs, n[1].fs) != 0) {
		warnx("%s -> %s: %s", argv[1], argv[2], strerror(EXDEV));
		return 1;
	}
	fsc_connect(&fsc);
	/* Into an existing directory, as mv(1). */
	if (fsc_stat(&fsc, &n[1], &a, 1) == 0 && a.type == 'd' &&
	    strcmp(n[0].path, n[1].path) != 0) {
		if (fsname_join(&in, &n[1], fsname_base(n[0].path)) == -1)
			return 1;
		to = &in;
	}
	fsc_req(&req, "rename", &n[0]);
	(void)frame_add(&req, "newpath", "%s", to->path);
	if (fsc_call(&fsc, &req, &ans) != 0) {
		(void)fsc_answer(&n[0], &ans);
		return 1;
	}
	return 0;
}

static int
cmd_put(int argc, char **argv)
{
	struct fsname	 n;
	int		 ch, m = -1;

	optind = 1;
	while ((ch = getopt(argc, argv, "m:")) != -1) {
		switch (ch) {
		case 'm':
			m = mode_arg(optarg);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	names_arg(1, argv + optind + 1, &n);
	fsc_connect(&fsc);
	return xfer_put(&fsc, argv[optind], &n, m);
}

static int
cmd_get(int argc, char **argv)
{
	struct fsname	 n;

	if (argc != 3)
		usage();
	names_arg(1, argv + 1, &n);
	fsc_connect(&fsc);
	return xfer_get(&fsc, &n, argv[2]);
}

static int
cmd_cat(int argc, char **argv)
{
	struct fsname	*n;
	int		 i, rc = 0;

	n = names_alloc(argc - 1, argv + 1);
	fsc_connect(&fsc);
	for (i = 0; i < argc - 1; i++)
		if (xfer_get(&fsc, &n[i], "-") != 0)
			rc = 1;
	free(n);
	return rc;
}

static void
print_attr(const struct fsname *n, const struct fs_attr *a)
{
	(void)printf("path=%s:%s ino=%" PRIu32 " gen=%" PRIu32 " type=%c "
	    "mode=%04" PRIo32 " uid=%" PRIu32 " gid=%" PRIu32 " nlink=%"
	    PRIu32 " size=%" PRIu64 " blocks=%" PRIu64 " mtime=%" PRId64
	    ".%09" PRId64 " ctime=%" PRId64 ".%09" PRId64 "\n", n->fs, n->path,
	    a->ino, a->gen, a->type, a->mode, a->uid, a->gid, a->nlink,
	    a->size, a->blocks, a->mtime_ns / 1000000000,
	    a->mtime_ns % 1000000000, a->ctime_ns / 1000000000,
	    a->ctime_ns % 1000000000);
}

static int
cmd_stat(int argc, char **argv)
{
	struct fsname	*n;
	struct fs_attr	 a;
	int		 i, rc = 0;

	n = names_alloc(argc - 1, argv + 1);
	fsc_connect(&fsc);
	for (i = 0; i < argc - 1; i++) {
		if (fsc_stat(&fsc, &n[i], &a, 0) != 0)
			rc = 1;
		else
			print_attr(&n[i], &a);
	}
	free(n);
	return rc;
}

/* ---- ls ---- */

struct entry {
	char		*name;
	struct fs_attr	 attr;
	int		 error;
	uint64_t	 txid;
};

struct listing {
	struct entry	*e;
	size_t		 n, cap;
};

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name,
	    ((const struct entry *)b)->name);
}

static void
listing_add(struct listing *l, const char *name, size_t len)
{
	struct entry	*e;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		if ((e = reallocarray(l->e, l->cap, sizeof(*e))) == NULL)
			err(1, NULL);
		l->e = e;
	}
	e = &l->e[l->n++];
	memset(e, 0, sizeof(*e));
	if ((e->name = strndup(name, len)) == NULL)
		err(1, NULL);
}

static void
listing_free(struct listing *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		free(l->e[i].name);
	free(l->e);
	memset(l, 0, sizeof(*l));
}

/* Entries of a readdir payload: "<name>\t<ino>\t<type>\n" each. */
static int
readdir_parse(struct listing *l, const struct frame *ans)
{
	const char	*p = (const char *)ans->payload;
	const char	*end = p + ans->len, *nl, *tab;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
		    (tab = memchr(p, '\t', (size_t)(nl - p))) == NULL ||
		    tab == p)
			return -1;
		listing_add(l, p, (size_t)(tab - p));
	}
	return 0;
}

static int
list_dir(const struct fsname *n, struct listing *l)
{
	struct frame	 req, ans;
	uint64_t	 cookie = 0;
	int		 e;

	for (;;) {
		fsc_req(&req, "readdir", n);
		if (cookie != 0)
			(void)frame_add(&req, "cookie", "%" PRIu64, cookie);
		if ((e = fsc_call(&fsc, &req, &ans)) != 0) {
			fsc_fail(n, e, &ans);
			return -1;
		}
		if (readdir_parse(l, &ans) == -1) {
			warnx("%s:%s: malformed readdir answer", n->fs,
			    n->path);
			return -1;
		}
		if (frame_get(&ans, "eof") != NULL ||
		    frame_getu64(&ans, "next", &cookie) == -1 || cookie == 0)
			return 0;
	}
}

/* The attributes of every entry, LS_WINDOW stats in flight. */
static void
list_stat(const struct fsname *dir, struct listing *l)
{
	struct fsname	 n;
	struct frame	 req, ans;
	size_t		 sent = 0, got = 0, i;

	while (got < l->n) {
		if (sent < l->n && sent - got < LS_WINDOW) {
			if (fsname_join(&n, dir, l->e[sent].name) == -1)
				exit(1);
			fsc_req(&req, "stat", &n);
			if ((l->e[sent].txid = fsc_send(&fsc, &req)) == 0)
				errx(1, "%s", fsc.error);
			sent++;
			continue;
		}
		if (fsc_recv(&fsc, &ans, FSC_REPLY_MS) == -1)
			errx(1, "%s", fsc.error);
		for (i = got; i < sent; i++)
			if (l->e[i].txid == ans.txid)
				break;
		if (i == sent)
			errx(1, "%s: answer to unknown txid", fsc.ctl.path);
		if ((l->e[i].error = fs_answer_errno(&ans)) == 0 &&
		    fs_attr_get(&ans, &l->e[i].attr) == -1)
			l->e[i].error = EPROTO;
		l->e[i].txid = 0;
		while (got < sent && l->e[got].txid == 0)
			got++;
	}
}

static void
id_name(char *buf, size_t size, uint32_t id, int user, int numeric)
{
	struct passwd	*pw;
	struct group	*gr;

	if (!numeric && user && (pw = getpwuid((uid_t)id)) != NULL)
		(void)snprintf(buf, size, "%s", pw->pw_name);
	else if (!numeric && !user && (gr = getgrgid((gid_t)id)) != NULL)
		(void)snprintf(buf, size, "%s", gr->gr_name);
	else
		(void)snprintf(buf, size, "%" PRIu32, id);
}

static void
print_long(const char *name, const struct fs_attr *a, int numeric)
{
	static const char rwx[] = "rwxrwxrwx";
	char		 perm[11], user[33], group[33], when[32];
	time_t		 t = (time_t)(a->mtime_ns / 1000000000);
	struct tm	 tm;
	int		 i;

	perm[0] = a->type == 'd' ? 'd' : '-';
	for (i = 0; i < 9; i++)
		perm[i + 1] = a->mode & (1u << (8 - i)) ? rwx[i] : '-';
	if (a->mode & 04000)
		perm[3] = perm[3] == 'x' ? 's' : 'S';
	if (a->mode & 02000)
		perm[6] = perm[6] == 'x' ? 's' : 'S';
	if (a->mode & 01000)
		perm[9] = perm[9] == 'x' ? 't' : 'T';
	perm[10] = '\0';
	id_name(user, sizeof(user), a->uid, 1, numeric);
	id_name(group, sizeof(group), a->gid, 0, numeric);
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm) == 0)
		(void)snprintf(when, sizeof(when), "%lld", (long long)t);
	(void)printf("%s %3" PRIu32 " %-8s %-8s %12" PRIu64 " %s %s\n", perm,
	    a->nlink, user, group, a->size, when, name);
}

static int
ls_dir(const struct fsname *n, int lng, int numeric)
{
	struct listing	 l;
	size_t		 i;
	int		 rc = 0;

	memset(&l, 0, sizeof(l));
	if (list_dir(n, &l) == -1) {
		listing_free(&l);
		return 1;
	}
	qsort(l.e, l.n, sizeof(*l.e), entry_cmp);
	if (lng)
		list_stat(n, &l);
	for (i = 0; i < l.n; i++) {
		if (!lng)
			(void)printf("%s\n", l.e[i].name);
		else if (l.e[i].error == 0)
			print_long(l.e[i].name, &l.e[i].attr, numeric);
		else {
			/* Gone since the readdir: nothing to show. */
			if (l.e[i].error == ENOENT)
				continue;
			warnx("%s:%s/%s: %s", n->fs, n->path, l.e[i].name,
			    strerror(l.e[i].error));
			rc = 1;
		}
	}
	listing_free(&l);
	return rc;
}

static int
cmd_ls(int argc, char **argv)
{
	struct fsname	*n;
	struct fs_attr	 a;
	int		 ch, i, lng = 0, numeric = 0, rc = 0;

	optind = 1;
	while ((ch = getopt(argc, argv, "ln")) != -1) {
		switch (ch) {
		case 'l':
			lng = 1;
			break;
		case 'n':
			lng = numeric = 1;
			break;
		default:
			usage();
		}
	}
	n = names_alloc(argc - optind, argv + optind);
	fsc_connect(&fsc);
	for (i = 0; i < argc - optind; i++) {
		if (fsc_stat(&fsc, &n[i], &a, 0) != 0) {
			rc = 1;
			continue;
		}
		if (a.type != 'd') {
			if (lng)
				print_long(argv[optind + i], &a, numeric);
			else
				(void)printf("%s\n", argv[optind + i]);
			continue;
		}
		if (argc - optind > 1)
			(void)printf("%s%s:\n", i > 0 ? "\n" : "",
			    argv[optind + i]);
		if (ls_dir(&n[i], lng, numeric) != 0)
			rc = 1;
	}
	free(n);
	return rc;
}

/* ---- df ---- */

static void
print_frame(const char *what, const struct frame *f)
{
	int	 i;

	(void)fputs(what, stdout);
	for (i = 0; i < f->nkv; i++)
		(void)printf(" %s=%s", f->kv[i].key, f->kv[i].val);
	(void)putchar('\n');
	if (f->len > 0)
		(void)fwrite(f->payload, 1, f->len, stdout);
}

static int
df_fs(const char *fs)
{
	struct fsname	 n;
	struct frame	 req, ans;
	uint64_t	 bsize, blocks, bfree, files, ffree;
	int		 e;

	memset(&n, 0, sizeof(n));
	(void)snprintf(n.fs, sizeof(n.fs), "%s", fs);
	(void)snprintf(n.path, sizeof(n.path), "/");
	frame_init(&req, "statfs", 0);
	(void)frame_add(&req, "fs", "%s", fs);
	if ((e = fsc_call(&fsc, &req, &ans)) != 0) {
		warnx("%s: %s", fs, strerror(e));
		return 1;
	}
	if (frame_getu64(&ans, "bsize", &bsize) == -1 ||
	    frame_getu64(&ans, "blocks", &blocks) == -1 ||
	    frame_getu64(&ans, "bfree", &bfree) == -1 ||
	    frame_getu64(&ans, "files", &files) == -1 ||
	    frame_getu64(&ans, "ffree", &ffree) == -1 || bfree > blocks ||
	    ffree > files) {
		warnx("%s: malformed statfs answer", fs);
		return 1;
	}
	(void)printf("fs name=%s size=%" PRIu64 " used=%" PRIu64 " avail=%"
	    PRIu64 " use%%=%" PRIu64 " inodes=%" PRIu64 " iused=%" PRIu64
	    " ifree=%" PRIu64 " bsize=%" PRIu64 " admin=%s epoch=%s\n", fs,
	    blocks * bsize, (blocks - bfree) * bsize, bfree * bsize,
	    blocks ? ((blocks - bfree) * 100 + blocks - 1) / blocks : 0,
	    files, files - ffree, ffree, bsize,
	    frame_get(&ans, "admin") ? frame_get(&ans, "admin") : "-",
	    frame_get(&ans, "epoch") ? frame_get(&ans, "epoch") : "-");
	return 0;
}

static int
cmd_df(int argc, char **argv)
{
	struct frame	 req, ans;
	int		 i, e, rc = 0;

	for (i = 1; i < argc; i++)
		if (conf_volume(&clfs_conf, argv[i]) == NULL)
			errx(2, "%s: no file system %s in %s", argv[i],
			    argv[i], clfs_conf.path);
	fsc_connect(&fsc);
	if (argc == 1)
		for (i = 0; i < clfs_conf.nvolumes; i++)
			rc |= df_fs(clfs_conf.volumes[i].name);
	for (i = 1; i < argc; i++)
		rc |= df_fs(argv[i]);
	frame_init(&req, "status", 0);
	if ((e = fsc_call(&fsc, &req, &ans)) != 0) {
		warnx("cliod status: %s", strerror(e));
		return 1;
	}
	print_frame("cliod", &ans);
	return rc;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "via",	required_argument,	NULL,	'V' },
		{ "unaware",	no_argument,		NULL,	'U' },
		{ NULL,		0,			NULL,	0 }
	};
	const struct command *c = NULL;
	const char	*path = NULL;
	char		*end;
	unsigned long	 n;
	size_t		 i;
	int		 ch;

	while ((ch = getopt_long(argc, argv, "+f:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			break;
		case 'v':
			clfs_verbose++;
			break;
		case 'V':
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno != 0 || *optarg == '\0' || *end != '\0' ||
			    n == 0 || n > CONF_NODEID_MAX)
				errx(2, "--via %s: want a node id, 1 to %d",
				    optarg, CONF_NODEID_MAX);
			clfs_via = (uint32_t)n;
			break;
		case 'U':
			clfs_aware = 0;
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
	clfs_confpath = conf_path(path);
	if (c->fn != cmd_mkfs && c->fn != cmd_fsck &&
	    conf_load(&clfs_conf, clfs_confpath) == -1)
		exit(1);
	return c->fn(argc, argv);
}
