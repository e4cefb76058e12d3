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
 * rcptfail: one request with rcpt=fail through clmemberd's router
 * (cl-wire(5), ROUTING; tests/messaging-rcptfail.bats).
 *
 *	rcptfail -f node.conf [-r 1|fail] [-t ms] [-n count] TO
 *
 * Registers as rcptfail.<pid>, sends count (default 1) frames "req" to
 * TO with resp=1 and rcpt= the -r value (default fail), then for -t ms
 * (default 1500) prints every frame that comes back, one line each:
 *
 *	receipt txid=T status=S nodes=N node.ID=RESULT ...
 *	response txid=T from=ADDRESS
 *	error txid=T status=S reason=...
 *
 * and last "done sent=N receipts=R responses=P errors=E".  Exit status
 * 0, 1 if the router could not be reached, 2 usage.
 */

#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "loop.h"
#include "msg.h"
#include "wire.h"

static struct msg	 m;
static struct frame	 f;		/* 10 KiB: not on the stack */

static void __attribute__((__noreturn__))
usage(void)
{
	(void)fprintf(stderr, "usage: rcptfail -f node.conf [-r 1|fail] "
	    "[-t ms] [-n count] to\n");
	exit(2);
}

/* Every key but re=, as key=value. */
static void
print_keys(const char *what)
{
	int	 i;

	(void)printf("%s txid=%" PRIu64, what, f.txid);
	for (i = 0; i < f.nkv; i++)
		if (strcmp(f.kv[i].key, "re") != 0)
			(void)printf(" %s=%s", f.kv[i].key, f.kv[i].val);
	(void)printf("\n");
}

int
main(int argc, char *argv[])
{
	struct cl_conf	 conf;
	struct frame	 req;
	const char	*path = NULL, *rcpt = "fail", *errstr;
	char		 name[32];
	uint64_t	 deadline, now;
	int		 ch, i, n = 1, tmo = 1500, rc;
	int		 receipts = 0, responses = 0, errors = 0;

	while ((ch = getopt(argc, argv, "f:n:r:t:")) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			break;
		case 'n':
			n = (int)strtonum(optarg, 1, 1000, &errstr);
			if (errstr != NULL)
				errx(2, "-n %s: %s", optarg, errstr);
			break;
		case 'r':
			rcpt = optarg;
			break;
		case 't':
			tmo = (int)strtonum(optarg, 0, 600000, &errstr);
			if (errstr != NULL)
				errx(2, "-t %s: %s", optarg, errstr);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	if (conf_load(&conf, conf_path(path)) == -1)
		exit(1);
	(void)snprintf(name, sizeof(name), "rcptfail.%ld", (long)getpid());
	if (msg_open(&m, conf.rundir) == -1 ||
	    msg_register(&m, name, 5000) == -1)
		errx(1, "%s", m.error);
	for (i = 0; i < n; i++) {
		frame_init(&req, "req", 0);
		frame_add(&req, "to", "%s", argv[optind]);
		frame_add(&req, "resp", "1");
		frame_add(&req, "rcpt", "%s", rcpt);
		if (msg_send(&m, &req) == -1)
			errx(1, "%s", m.error);
	}
	deadline = clock_ms() + (uint64_t)tmo;
	while ((now = clock_ms()) < deadline) {
		rc = msg_recv(&m, &f, (int)(deadline - now));
		if (rc == 0)
			errx(1, "clmemberd closed the connection");
		if (rc == -1) {
			if (errno == ETIMEDOUT)
				break;
			errx(1, "%s", m.error);
		}
		if (strcmp(f.op, "receipt") == 0 &&
		    frame_get(&f, "from") == NULL) {
			receipts++;
			print_keys("receipt");
		} else if (strcmp(f.op, "error") == 0 &&
		    frame_get(&f, "from") == NULL) {
			errors++;
			print_keys("error");
		} else if (frame_get(&f, "re") != NULL) {
			responses++;
			(void)printf("response txid=%" PRIu64 " from=%s\n",
			    f.txid, frame_get(&f, "from"));
		} else
			print_keys("other");
	}
	(void)printf("done sent=%d receipts=%d responses=%d errors=%d\n", n,
	    receipts, responses, errors);
	msg_close(&m);
	return 0;
}
