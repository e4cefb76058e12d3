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
 * The cluster database's log on disk (cmd/clmemberd/dbfile.c): replay
 * of snapshots, records and updates; a last line cut short by a crash;
 * a foreign line; appends that survive a reopen; a snapshot that
 * replaces the log.
 */

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clmemberd.h"
#include "unit.h"

struct clmemberd	*D;		/* statefile.c refers to it */

static char	 dir[64], file[128];
static char	 seen[4096];		/* what the replay called, in order */

static int
on_snap(uint64_t e, uint64_t s)
{
	(void)snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen),
	    "S%llu.%llu;", (unsigned long long)e, (unsigned long long)s);
	return 0;
}

static int
on_rec(uint64_t v, const char *k, const char *val)
{
	(void)snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen),
	    "R%llu %s=%s;", (unsigned long long)v, k, val);
	return 0;
}

static int
on_upd(uint64_t e, uint64_t s, const char *k, const char *val)
{
	(void)snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen),
	    "U%llu.%llu %s=%s;", (unsigned long long)e, (unsigned long long)s,
	    k, val != NULL ? val : "(del)");
	return 0;
}

static const struct dbfile_ops ops = { on_snap, on_rec, on_upd };

static int
put(const char *text)
{
	FILE	*fp;

	if ((fp = fopen(file, "w")) == NULL)
		return -1;
	(void)fputs(text, fp);
	return fclose(fp);
}

static int
replay(void)
{
	int	 rc;

	seen[0] = '\0';
	rc = dbfile_open(dir, &ops);
	dbfile_close();
	return rc;
}

static void
test_replay(void)
{
	CHECK(replay() == 0 && seen[0] == '\0',
	    "no file: an empty database, and the file is made");
	CHECK(put("s 3 7\nr 5 a/b one two\nr 7 c:d x\n"
	    "u 4 8 set e hello world\nu 4 9 del a/b\n") == 0 &&
	    replay() == 0, "a snapshot and updates replay");
	CHECK_STR(seen, "S3.7;R5 a/b=one two;R7 c:d=x;U4.8 e=hello world;"
	    "U4.9 a/b=(del);", "replayed in order, values with spaces whole");
	CHECK(put("u 1 1 set k v\nu 1 2 set k partly wri") == 0 &&
	    replay() == 0, "a last line cut short: still loads");
	CHECK_STR(seen, "U1.1 k=v;", "the cut line is ignored");
	CHECK(put("u 1 1 set k v\nbogus line\nu 1 2 set k w\n") == 0 &&
	    replay() == -1, "a foreign line stops the load");
	CHECK(put("u 1 1 del k extra\n") == 0 && replay() == -1,
	    "a del with a value is refused");
	CHECK(put("u 1 1 set k\n") == 0 && replay() == -1,
	    "a set without a value is refused");
	CHECK(put("u 1 1 set k \n") == 0 && replay() == 0,
	    "a set of the empty value loads");
	CHECK_STR(seen, "U1.1 k=;", "the empty value");
}

static void
test_append(void)
{
	struct buf	 b;

	(void)unlink(file);
	seen[0] = '\0';
	CHECK(dbfile_open(dir, &ops) == 0, "open a new log");
	CHECK(dbfile_append(2, 1, "k1", "v 1") == 0 &&
	    dbfile_append(2, 2, "k2", "v2") == 0 &&
	    dbfile_append(2, 3, "k1", NULL) == 0, "three appends");
	dbfile_close();
	CHECK(replay() == 0, "reopen");
	CHECK_STR(seen, "U2.1 k1=v 1;U2.2 k2=v2;U2.3 k1=(del);",
	    "the appends come back");
	CHECK(!dbfile_bloated(1), "a short log is not bloated");

	CHECK(dbfile_open(dir, &ops) == 0, "open for the snapshot");
	buf_init(&b, 4096);
	CHECK(buf_printf(&b, "r 2 k2 v2\n") == 0 &&
	    dbfile_rewrite(2, 3, &b, 1) == 0, "rewrite as a snapshot");
	CHECK(dbfile_append(2, 4, "k3", "v3") == 0,
	    "append after the snapshot");
	dbfile_close();
	buf_free(&b);
	CHECK(replay() == 0, "reopen after the snapshot");
	CHECK_STR(seen, "S2.3;R2 k2=v2;U2.4 k3=v3;",
	    "the snapshot replaced the log, the append follows it");
	CHECK(access(strcat(strcpy(seen, file), ".tmp"), F_OK) == -1,
	    "no .tmp file left behind");
}

int
main(void)
{
	(void)strlcpy(dir, "/tmp/cl-dbfile.XXXXXX", sizeof(dir));
	if (mkdtemp(dir) == NULL)
		return 1;
	(void)snprintf(file, sizeof(file), "%s/clmemberd.db", dir);
	test_replay();
	test_append();
	(void)unlink(file);
	(void)rmdir(dir);
	return unit_done();
}
