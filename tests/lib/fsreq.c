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
 * fsreq: file-system protocol requests straight to a service through
 * clmemberd's router, with any keys (tests/clmetad.bats).
 *
 *	fsreq -f node.conf [-t MS] [-p PAYLOAD] [-n N [-w W]] TO OP
 *	    [KEY=VALUE ...]
 *
 * Registers as fsreq.<pid>, sends OP with the keys (and the payload, "-"
 * reads standard input) to TO (node.service, e.g. 1.clmetad.fs1) and
 * prints the answer: "OP key=value ..." on one line (from, to and re
 * left out), then its payload as it is.  With -n N it sends N requests,
 * at most W (default 64) unanswered at once, "%d" in a value replaced
 * by the request's number (0 .. N-1), and prints "n= ok= errors=
 * elapsed_us= per_s=" and the first error.
 *
 * Exit status: 0 "ok" (every one, with -n), 1 an error answer, 2 usage,
 * 3 no answer in time.
 */

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "loop.h"
#include "msg.h"
#include "wire.h"

static struct msg	 m;
static char		**keys;
static int		 nkeys;
static const char	*op, *to, *payload;
static size_t		 plen;

static void
usage(void)
{
	(void)fprintf(stderr, "usage: fsreq -f conf [-t ms] [-p payload] "
	    "[-n count [-w window]] to op [key=value ...]\n");
	exit(2);
}

static void
build(struct frame *f, uint64_t txid, unsigned long i)
{
	char	 key[WIRE_KEY_MAX + 1], val[WIRE_VAL_MAX], tmp[2 * WIRE_VAL_MAX + 32];
	char	*eq, *pct;
	int	 k;

	frame_init(f, op, txid);
	frame_add(f, "to", "%s", to);
	frame_add(f, "resp", "1");
	for (k = 0; k < nkeys; k++) {
		if ((eq = strchr(keys[k], '=')) == NULL ||
		    (size_t)(eq - keys[k]) > WIRE_KEY_MAX)
			usage();
		memcpy(key, keys[k], (size_t)(eq - keys[k]));
		key[eq - keys[k]] = '\0';
		(void)strlcpy(val, eq + 1, sizeof(val));
		if ((pct = strstr(val, "%d")) != NULL) {
			*pct = '\0';
			(void)snprintf(tmp, sizeof(tmp), "%s%lu%s", val, i,
			    pct + 2);
			(void)strlcpy(val, tmp, sizeof(val));
		}
		if (frame_add(f, key, "%s", val) == -1)
			errx(2, "%s: cannot add", keys[k]);
	}
	if (plen > 0)
		frame_payload(f, payload, plen);
}

static int
print(const struct frame *f)
{
	int	 i;

	(void)printf("%s", f->op);
	for (i = 0; i < f->nkv; i++)
		if (strcmp(f->kv[i].key, "from") != 0 &&
		    strcmp(f->kv[i].key, "to") != 0 &&
		    strcmp(f->kv[i].key, "re") != 0)
			(void)printf(" %s=%s", f->kv[i].key, f->kv[i].val);
	(void)printf("\n");
	if (f->len > 0)
		(void)fwrite(f->payload, 1, f->len, stdout);
	return strcmp(f->op, "ok") == 0 ? 0 : 1;
}

static int
one(int timeout)
{
	struct frame	 req, resp;

	build(&req, 0, 0);
	if (msg_call(&m, &req, &resp, NULL, timeout) != 1) {
		warnx("%s", m.error);
		return 3;
	}
	return print(&resp);
}

static int
many(unsigned long n, unsigned long w, int timeout)
{
	struct frame	 req, f;
	unsigned long	 sent = 0, done = 0, ok = 0;
	uint64_t	 t0 = clock_us(), base = m.txid + 1, el;
	int		 first = 1;

	while (done < n) {
		while (sent < n && sent - done < w) {
			build(&req, base + sent, sent);
			if (msg_send(&m, &req) == -1)
				errx(1, "%s", m.error);
			sent++;
		}
		if (msg_recv(&m, &f, timeout) != 1) {
			warnx("%s after %lu answers", m.error, done);
			return 3;
		}
		if (frame_get(&f, "re") == NULL)
			continue;
		done++;
		if (strcmp(f.op, "ok") == 0)
			ok++;
		else if (first) {
			first = 0;
			(void)printf("first error: ");
			(void)print(&f);
		}
	}
	el = clock_us() - t0;
	(void)printf("n=%lu ok=%lu errors=%lu elapsed_us=%llu per_s=%llu\n",
	    n, ok, n - ok, (unsigned long long)el,
	    (unsigned long long)(el > 0 ? n * 1000000ULL / el : 0));
	return ok == n ? 0 : 1;
}

int
main(int argc, char *argv[])
{
	struct cl_conf	 conf;
	struct buf	 in;
	const char	*path = NULL;
	char		 name[64];
	unsigned long	 n = 0, w = 64;
	int		 ch, timeout = 5000;
	ssize_t		 r;

	while ((ch = getopt(argc, argv, "f:n:p:t:w:")) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			break;
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 'p':
			payload = optarg;
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 'w':
			w = strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || w == 0)
		usage();
	to = argv[0];
	op = argv[1];
	keys = argv + 2;
	nkeys = argc - 2;
	if (payload != NULL && strcmp(payload, "-") == 0) {
		buf_init(&in, MSG_PAYLOAD_MAX);
		for (;;) {
			if (buf_reserve(&in, 4096) == -1)
				errx(2, "payload too long");
			if ((r = read(0, in.data + in.len, buf_room(&in))) <= 0)
				break;
			in.len += (size_t)r;
		}
		payload = (const char *)in.data;
		plen = in.len;
	} else if (payload != NULL)
		plen = strlen(payload);
	if (conf_load(&conf, conf_path(path)) == -1)
		exit(2);
	if (msg_open(&m, conf.rundir) == -1)
		errx(3, "%s", m.error);
	(void)snprintf(name, sizeof(name), "fsreq.%ld", (long)getpid());
	if (msg_register(&m, name, 5000) == -1)
		errx(3, "%s", m.error);
	return n > 0 ? many(n, w, timeout) : one(timeout);
}
