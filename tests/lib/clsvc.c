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
 * clsvc: a test service on clmemberd's message router (cl-wire(5), ROUTING;
 * tests/messaging.bats, tests/bench/messaging).
 *
 *	clsvc -f node.conf [-N name] [options] MODE [TARGET]
 *
 * It connects to RUNDIR/clmemberd.sock, registers the service name
 * (`CL1 service` with name=; default clsvc.<pid>) and prints
 * "registered node=ID name=NAME", then:
 *
 *	echo		answers every delivered frame that has resp=1 with op
 *			"echo", re=1, the same txid and payload, to= the
 *			request's orig (if any) else its from; prints
 *			"recv op= txid= from= orig= len= to= resp= re=" per
 *			frame (not with -q); with --rcpt its responses ask
 *			for a receipt (which the router must not give)
 *	relay TARGET	forwards every request to TARGET (node.service) with
 *			the same op, txid, resp and payload and orig= the
 *			request's orig or from: the response goes straight
 *			to the originator; prints "relay txid= from= orig= to="
 *	sink		counts delivered frames and checks their txids run
 *			1, 2, 3, ... with no gap or duplicate and that each
 *			payload starts with "<txid>:"; at EOF, SIGTERM, after
 *			-n N frames, after -i ms without a frame or at the
 *			lifetime prints "sink received= inorder=1|0 dups= gaps=
 *			bad= bytes= first_wall_us= last_wall_us= elapsed_us="
 *	stall		registers, then never reads
 *	blast TO	sends -n N frames (txids 1..N, -s SIZE bytes of payload
 *			each, default 256) as fast as the socket takes them;
 *			with --rcpt each asks for a receipt and at most -w
 *			(default 512) are awaited at once.  Prints "blast
 *			sent= bytes= start_wall_us= elapsed_us=", then with
 *			--rcpt the receipts: "blast receipts= ok= failed=
 *			size-needed= delivered= no-service= node-down= timeout=
 *			queue-full= errors= error.full="
 *	req TO		sends one request (op -o, default "req"; payload -p
 *			TEXT or -s SIZE bytes) and prints the receipt as
 *			"receipt status= nodes= [need=] node.ID=RESULT ... txid=
 *			us=", responses as "response from= txid= len= op= orig=
 *			[payload=] us=", error replies as "error txid= status=
 *			reason=", and anything else as "recv ..."/"other ...".
 *			Done when what was asked for came (the receipt with
 *			--rcpt; with --resp one response, or for a broadcast
 *			one per delivered target, or --responses N); with
 *			nothing asked for it listens until -t.  --self,
 *			--rcpt-max N and --re (send it as a response) set
 *			those keys.
 *	rtt TO		-n N requests one after the other, each waiting for
 *			its response (--resp, the default) and/or receipt
 *			(--rcpt); prints "rtt n= ok= lost= notok= median_us=
 *			p99_us= min_us= max_us= mean_us="
 *	services	asks for the service list (`CL1 services`, no
 *			registration) and prints its lines
 *
 * Options: -t MS (req, rtt: per-request timeout, default 2000; blast:
 * wait for receipts, default 10000), -T MS (lifetime of every mode,
 * default 120000), -x TXID (req: first txid, default the wall clock in
 * microseconds, so that runs never reuse a txid), -q (echo, relay: no
 * line per frame).
 *
 * Exit status: 0 done, 1 an error or something that did not come, 2 usage.
 */

#define _GNU_SOURCE	/* getopt_long */

#include <sys/types.h>
#include <sys/socket.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "sock.h"
#include "wire.h"

#define IN_MAX		(2 * (WIRE_HDR_MAX + WIRE_PAYLOAD_MAX))
#define OUT_MAX		(64 * 1024 * 1024)
#define OUT_HIGH	(256 * 1024)	/* blast: bytes queued before a write */
#define CHUNK		(256 * 1024)	/* bytes per read(2) */
#define SEEN_MAX	(1u << 26)	/* sink: txids it tracks */
#define RTT_MAX		1000000		/* rtt: samples */

enum { O_RCPT = 256, O_RESP, O_SELF, O_RE, O_RCPTMAX, O_RESPONSES };

static const struct option longopts[] = {
	{ "rcpt",	no_argument,		NULL, O_RCPT },
	{ "resp",	no_argument,		NULL, O_RESP },
	{ "self",	no_argument,		NULL, O_SELF },
	{ "re",		no_argument,		NULL, O_RE },
	{ "rcpt-max",	required_argument,	NULL, O_RCPTMAX },
	{ "responses",	required_argument,	NULL, O_RESPONSES },
	{ NULL,		0,			NULL, 0 }
};

/* Options. */
static const char	*opt_name;
static unsigned long long opt_n;
static size_t		 opt_size = 256;
static int		 opt_size_set;
static long		 opt_timeout = -1;	/* ms */
static long		 opt_life = 120000;	/* ms */
static long		 opt_idle;		/* ms, sink */
static const char	*opt_op;
static const char	*opt_payload;
static unsigned long long opt_txid;
static unsigned long	 opt_window = 512;
static int		 opt_rcpt, opt_resp, opt_self, opt_re, opt_quiet;
static long		 opt_rcptmax = -1;
static long		 opt_responses = -1;

static struct cl_conf	 conf;
static char		 myname[WIRE_KEY_MAX + 1];
static char		 mynode[32];

/* The connection to clmemberd. */
static int		 fd = -1;
static struct buf	 in, out;
static struct wire_parser wp;
static size_t		 lastlen;	/* bytes of the frame last returned */
static int		 eof;
static volatile sig_atomic_t stop;

static uint64_t		 life_end;	/* us, monotonic */

static void
usage(void)
{
	(void)fprintf(stderr, "usage: clsvc -f node.conf [-N name] [-n count] "
	    "[-s size] [-t ms] [-T ms] [-i ms] [-o op] [-p payload] [-x txid]\n"
	    "\t[-w window] [-q] [--rcpt] [--resp] [--self] [--re] "
	    "[--rcpt-max n] [--responses n] MODE [TARGET]\n"
	    "modes: echo, relay TARGET, sink, stall, blast TO, req TO, rtt TO, "
	    "services\n");
	exit(2);
}

static uint64_t
mono_us(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t
wall_us(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static unsigned long long
num(const char *s, const char *what)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s == '\0' || *s == '-' || *end != '\0' || errno != 0) {
		warnx("bad %s: %s", what, s);
		usage();
	}
	return v;
}

/* --- The connection. --- */

static void
conn_open(void)
{
	char	 path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/clmemberd.sock",
	    conf.rundir) >= sizeof(path))
		errx(1, "rundir too long");
	if ((fd = sock_unix_connect(path)) == -1)
		err(1, "cannot reach clmemberd at %s", path);
	if (sock_nonblock(fd) == -1)
		err(1, "%s", path);
	buf_init(&in, IN_MAX);
	buf_init(&out, OUT_MAX);
	wire_parser_init(&wp, WIRE_PAYLOAD_MAX);
}

/*
 * One poll: read what is there (if want_in), write what is queued.
 * Waits at most ms (-1: until something happens).
 */
static void
io(int ms, int want_in)
{
	struct pollfd	 pfd;
	ssize_t		 n;

	pfd.fd = fd;
	pfd.events = 0;
	if (want_in && !eof)
		pfd.events |= POLLIN;
	if (buf_avail(&out) > 0)
		pfd.events |= POLLOUT;
	pfd.revents = 0;
	if (pfd.events == 0) {
		if (ms > 0)
			(void)poll(NULL, 0, ms);
		return;
	}
	if (poll(&pfd, 1, ms) == -1) {
		if (errno == EINTR)
			return;
		err(1, "poll");
	}
	if (pfd.revents & (POLLOUT | POLLERR)) {
		n = write(fd, buf_ptr(&out), buf_avail(&out));
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			if (errno == EPIPE || errno == ECONNRESET)
				errx(1, "clmemberd closed the connection");
			err(1, "write");
		}
		if (n > 0)
			buf_consume(&out, (size_t)n);
	}
	if (want_in && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
		if (buf_reserve(&in, CHUNK) == -1)
			err(1, "input buffer");
		n = read(fd, in.data + in.len, CHUNK);
		if (n == 0 || (n == -1 && errno == ECONNRESET))
			eof = 1;
		else if (n == -1 && errno != EAGAIN && errno != EINTR)
			err(1, "read");
		else if (n > 0)
			in.len += (size_t)n;
	}
}

/* A whole frame already read (1) or none (0); valid until the next call. */
static int
next_frame(struct frame *f)
{
	enum wire_result r;

	if (lastlen > 0) {
		buf_consume(&in, lastlen);
		lastlen = 0;
		wire_parser_reset(&wp);
	}
	r = wire_parse(&wp, buf_ptr(&in), buf_avail(&in), f);
	if (r == WIRE_ERROR)
		errx(1, "malformed frame from clmemberd: %s", wp.reason);
	if (r == WIRE_MORE)
		return 0;
	lastlen = wire_framelen(&wp);
	return 1;
}

/*
 * The next frame before deadline (us, monotonic; 0: the lifetime): 1,
 * 0 on timeout, -1 at end of stream or on a signal.
 */
static int
recv_frame(struct frame *f, uint64_t deadline)
{
	uint64_t	 t;

	if (deadline == 0 || deadline > life_end)
		deadline = life_end;
	for (;;) {
		if (next_frame(f))
			return 1;
		if (eof || stop)
			return -1;
		if ((t = mono_us()) >= deadline)
			return 0;
		io((int)((deadline - t + 999) / 1000), 1);
	}
}

static void
queue_frame(const struct frame *f)
{
	if (f->err)
		errx(1, "cannot build frame %s", f->op);
	if (wire_encode(&out, f) == -1)
		errx(1, "cannot queue frame %s (%zu bytes queued)", f->op,
		    buf_avail(&out));
}

/* Write everything queued, without reading (a frame may point into in). */
static void
flush_out(void)
{
	while (buf_avail(&out) > 0 && !stop) {
		if (mono_us() >= life_end)
			errx(1, "lifetime over with %zu bytes unsent",
			    buf_avail(&out));
		io(1000, 0);
	}
}

static void
send_frame(const struct frame *f)
{
	queue_frame(f);
	flush_out();
}

/* --- Frames. --- */

static const char *
get(const struct frame *f, const char *key)
{
	const char	*v = frame_get(f, key);

	return v != NULL ? v : "-";
}

static int
is(const struct frame *f, const char *key, const char *val)
{
	const char	*v = frame_get(f, key);

	return v != NULL && strcmp(v, val) == 0;
}

/* A frame routed to us carries from=; the router's own replies do not. */
static int
delivered(const struct frame *f)
{
	return frame_get(f, "from") != NULL;
}

static int
receipt(const struct frame *f)
{
	return strcmp(f->op, "receipt") == 0 && !delivered(f);
}

/* The payload, if short and printable without spaces, else NULL. */
static const char *
printable(const struct frame *f)
{
	static char	 s[257];
	size_t		 i;

	if (f->len == 0 || f->len >= sizeof(s))
		return NULL;
	for (i = 0; i < f->len; i++)
		if (f->payload[i] <= ' ' || f->payload[i] >= 0x7f)
			return NULL;
	memcpy(s, f->payload, f->len);
	s[f->len] = '\0';
	return s;
}

static void
print_recv(const char *what, const struct frame *f)
{
	(void)printf("%s op=%s txid=%llu from=%s orig=%s len=%zu to=%s "
	    "resp=%s re=%s rcpt=%s\n", what, f->op,
	    (unsigned long long)f->txid, get(f, "from"), get(f, "orig"),
	    f->len, get(f, "to"), get(f, "resp"), get(f, "re"),
	    get(f, "rcpt"));
}

static void
print_other(const struct frame *f)
{
	int	 i;

	(void)printf("other op=%s txid=%llu", f->op,
	    (unsigned long long)f->txid);
	for (i = 0; i < f->nkv; i++)
		(void)printf(" %s=%s", f->kv[i].key, f->kv[i].val);
	(void)printf(" len=%zu\n", f->len);
}

static int
node_key_cmp(const void *a, const void *b)
{
	const struct wire_kv *x = a, *y = b;

	return atoi(x->key + 5) - atoi(y->key + 5);
}

static void
print_receipt(const struct frame *f, uint64_t us)
{
	struct wire_kv	 nk[WIRE_KEYS_MAX];
	int		 i, n = 0;

	(void)printf("receipt status=%s nodes=%s", get(f, "status"),
	    get(f, "nodes"));
	if (frame_get(f, "need") != NULL)
		(void)printf(" need=%s", frame_get(f, "need"));
	for (i = 0; i < f->nkv; i++)
		if (strncmp(f->kv[i].key, "node.", 5) == 0)
			nk[n++] = f->kv[i];
	qsort(nk, (size_t)n, sizeof(nk[0]), node_key_cmp);
	for (i = 0; i < n; i++)
		(void)printf(" %s=%s", nk[i].key, nk[i].val);
	(void)printf(" txid=%llu to=%s us=%llu\n", (unsigned long long)f->txid,
	    get(f, "to"), (unsigned long long)us);
}

/* The number of node.ID entries of a receipt with this result. */
static int
count_result(const struct frame *f, const char *result)
{
	int	 i, n = 0;

	for (i = 0; i < f->nkv; i++)
		if (strncmp(f->kv[i].key, "node.", 5) == 0 &&
		    strcmp(f->kv[i].val, result) == 0)
			n++;
	return n;
}

/* Fill a payload of n bytes: "<txid>:" then a pattern. */
static void
fill_payload(uint8_t *p, size_t n, uint64_t txid)
{
	char	 head[32];
	size_t	 h, i;

	h = (size_t)snprintf(head, sizeof(head), "%llu:",
	    (unsigned long long)txid);
	for (i = 0; i < n; i++)
		p[i] = i < h ? (uint8_t)head[i] : (uint8_t)('a' + i % 26);
}

/* A request frame with the keys the options ask for. */
static void
build_req(struct frame *f, const char *op, uint64_t txid, const char *to,
    const void *payload, size_t len)
{
	frame_init(f, op, txid);
	frame_add(f, "to", "%s", to);
	if (opt_rcpt)
		frame_add(f, "rcpt", "1");
	if (opt_resp)
		frame_add(f, "resp", "1");
	if (opt_re)
		frame_add(f, "re", "1");
	if (opt_self)
		frame_add(f, "self", "1");
	if (opt_rcptmax >= 0)
		frame_add(f, "rcpt_max", "%ld", opt_rcptmax);
	frame_payload(f, payload, len);
}

/* --- Registration and the service list. --- */

static void
register_service(void)
{
	struct frame	 f;
	uint64_t	 deadline;
	int		 r;

	if (opt_name == NULL) {
		(void)snprintf(myname, sizeof(myname), "clsvc.%ld",
		    (long)getpid());
	} else if (strlcpy(myname, opt_name, sizeof(myname)) >=
	    sizeof(myname))
		errx(2, "service name too long: %s", opt_name);
	frame_init(&f, "service", 1);
	frame_add(&f, "name", "%s", myname);
	send_frame(&f);
	deadline = mono_us() + 5000000;
	for (;;) {
		if ((r = recv_frame(&f, deadline)) != 1)
			errx(1, "no answer to the registration of %s%s", myname,
			    r == 0 ? " in 5 s" : "");
		if (f.txid != 1 || delivered(&f))
			continue;
		if (strcmp(f.op, "ok") == 0)
			break;
		if (strcmp(f.op, "error") == 0)
			errx(1, "cannot register %s: status=%s reason=%s",
			    myname, get(&f, "status"), get(&f, "reason"));
	}
	(void)strlcpy(mynode, get(&f, "node"), sizeof(mynode));
	(void)printf("registered node=%s name=%s\n", mynode, myname);
}

static int
mode_services(void)
{
	struct frame	 f;
	int		 r;

	frame_init(&f, "services", 1);
	send_frame(&f);
	for (;;) {
		if ((r = recv_frame(&f, mono_us() + 5000000)) != 1)
			errx(1, "no answer to services%s", r == 0 ?
			    " in 5 s" : "");
		if (f.txid != 1)
			continue;
		if (strcmp(f.op, "error") == 0)
			errx(1, "services: status=%s reason=%s",
			    get(&f, "status"), get(&f, "reason"));
		if (f.len > 0)
			(void)fwrite(f.payload, 1, f.len, stdout);
		if (f.len > 0 && f.payload[f.len - 1] != '\n')
			(void)putchar('\n');
		return 0;
	}
}

/* --- Servers. --- */

static int
mode_echo(void)
{
	struct frame	 f, r;
	unsigned long long n = 0;
	const char	*dst;

	while (recv_frame(&f, 0) == 1) {
		if (!delivered(&f)) {
			if (receipt(&f))
				print_receipt(&f, 0);
			else
				print_other(&f);
			continue;
		}
		n++;
		if (!opt_quiet)
			print_recv("recv", &f);
		if (is(&f, "resp", "1") && !is(&f, "re", "1")) {
			dst = frame_get(&f, "orig");
			if (dst == NULL)
				dst = frame_get(&f, "from");
			frame_init(&r, "echo", f.txid);
			frame_add(&r, "to", "%s", dst);
			frame_add(&r, "re", "1");
			if (opt_rcpt)
				frame_add(&r, "rcpt", "1");
			frame_payload(&r, f.payload, f.len);
			send_frame(&r);
		}
		if (opt_n > 0 && n >= opt_n)
			break;
	}
	flush_out();
	return 0;
}

static int
mode_relay(const char *target)
{
	struct frame	 f, r;
	const char	*orig;

	while (recv_frame(&f, 0) == 1) {
		if (!delivered(&f)) {
			print_other(&f);
			continue;
		}
		if (is(&f, "re", "1")) {
			/* A response should go to the originator, not here. */
			print_recv("recv", &f);
			continue;
		}
		orig = frame_get(&f, "orig");
		if (orig == NULL)
			orig = frame_get(&f, "from");
		frame_init(&r, f.op, f.txid);
		frame_add(&r, "to", "%s", target);
		frame_add(&r, "orig", "%s", orig);
		if (is(&f, "resp", "1"))
			frame_add(&r, "resp", "1");
		frame_payload(&r, f.payload, f.len);
		send_frame(&r);
		if (!opt_quiet)
			(void)printf("relay txid=%llu from=%s orig=%s to=%s\n",
			    (unsigned long long)f.txid, get(&f, "from"), orig,
			    target);
	}
	flush_out();
	return 0;
}

static int
mode_sink(void)
{
	struct frame	 f;
	uint8_t		*seen;
	unsigned long long received = 0, dups = 0, bad = 0, distinct = 0,
			 bytes = 0, maxtxid = 0, prev = 0, expect, gaps;
	uint64_t	 first = 0, last = 0, firstw = 0, lastw = 0, idle;
	char		 head[32];
	size_t		 h;
	int		 inorder = 1, r;

	if ((seen = calloc(SEEN_MAX / 8, 1)) == NULL)
		err(1, "calloc");
	for (;;) {
		idle = opt_idle > 0 && received > 0 ?
		    mono_us() + (uint64_t)opt_idle * 1000 : 0;
		if ((r = recv_frame(&f, idle)) != 1)
			break;
		if (!delivered(&f)) {
			print_other(&f);
			continue;
		}
		last = mono_us();
		lastw = wall_us();
		if (received++ == 0) {
			first = last;
			firstw = lastw;
		}
		bytes += f.len;
		if (f.txid <= prev)
			inorder = 0;
		if (f.txid > prev)
			prev = f.txid;
		if (f.txid > maxtxid)
			maxtxid = f.txid;
		if (f.txid > 0 && f.txid < SEEN_MAX) {
			if (seen[f.txid / 8] & (1u << (f.txid % 8)))
				dups++;
			else {
				seen[f.txid / 8] |= (uint8_t)(1u << (f.txid % 8));
				distinct++;
			}
		}
		h = (size_t)snprintf(head, sizeof(head), "%llu:",
		    (unsigned long long)f.txid);
		if (f.len >= h && memcmp(f.payload, head, h) != 0)
			bad++;
		if (opt_n > 0 && received >= opt_n)
			break;
	}
	expect = opt_n > 0 ? opt_n : maxtxid;
	gaps = expect > distinct ? expect - distinct : 0;
	(void)printf("sink received=%llu inorder=%d dups=%llu gaps=%llu "
	    "bad=%llu bytes=%llu first_wall_us=%llu last_wall_us=%llu "
	    "elapsed_us=%llu\n", received, inorder, dups, gaps, bad, bytes,
	    (unsigned long long)firstw, (unsigned long long)lastw,
	    (unsigned long long)(last - first));
	free(seen);
	return 0;
}

static int
mode_stall(void)
{
	(void)fflush(stdout);
	while (!stop && mono_us() < life_end)
		(void)poll(NULL, 0, 50);
	return 0;
}

/* --- Senders. --- */

static const char *results[] = {
	"delivered", "no-service", "node-down", "timeout", "queue-full"
};
#define NRESULTS	(sizeof(results) / sizeof(results[0]))

struct tally {
	unsigned long long receipts, ok, failed, sizeneeded, other, errors,
			 efull;
	unsigned long long res[NRESULTS + 1];	/* + unknown */
};

static void
tally_frame(struct tally *t, const struct frame *f)
{
	size_t	 j;
	int	 i;

	if (strcmp(f->op, "error") == 0 && !delivered(f)) {
		t->errors++;
		if (is(f, "status", "full"))
			t->efull++;
		return;
	}
	if (!receipt(f)) {
		if (!opt_quiet)
			print_other(f);
		return;
	}
	t->receipts++;
	if (is(f, "status", "ok"))
		t->ok++;
	else if (is(f, "status", "failed"))
		t->failed++;
	else if (is(f, "status", "size-needed"))
		t->sizeneeded++;
	else
		t->other++;
	for (i = 0; i < f->nkv; i++) {
		if (strncmp(f->kv[i].key, "node.", 5) != 0)
			continue;
		for (j = 0; j < NRESULTS; j++)
			if (strcmp(f->kv[i].val, results[j]) == 0)
				break;
		t->res[j]++;
	}
}

static int
mode_blast(const char *to)
{
	struct tally	 t;
	struct frame	 f;
	uint8_t		*payload;
	unsigned long long next = 1, n = opt_n;
	uint64_t	 t0, w0, t1, deadline;
	size_t		 j;

	if (n == 0)
		errx(2, "blast needs -n COUNT");
	memset(&t, 0, sizeof(t));
	if ((payload = malloc(opt_size > 0 ? opt_size : 1)) == NULL)
		err(1, "malloc");
	w0 = wall_us();
	t0 = mono_us();
	while ((next <= n || buf_avail(&out) > 0) && !stop) {
		if (mono_us() >= life_end)
			errx(1, "lifetime over after %llu frames", next - 1);
		while (next <= n && buf_avail(&out) < OUT_HIGH &&
		    (!opt_rcpt || next - 1 - t.receipts - t.errors <
		    opt_window)) {
			fill_payload(payload, opt_size, next);
			build_req(&f, opt_op != NULL ? opt_op : "blast", next,
			    to, payload, opt_size);
			queue_frame(&f);
			next++;
		}
		io(1000, 1);
		while (next_frame(&f))
			tally_frame(&t, &f);
		if (eof)
			errx(1, "clmemberd closed the connection after %llu "
			    "frames", next - 1);
	}
	t1 = mono_us();
	(void)printf("blast sent=%llu bytes=%llu start_wall_us=%llu "
	    "elapsed_us=%llu\n", next - 1, (next - 1) * opt_size,
	    (unsigned long long)w0, (unsigned long long)(t1 - t0));
	(void)fflush(stdout);
	/* The receipts still to come; without --rcpt, errors for a moment. */
	deadline = mono_us() + (uint64_t)(opt_rcpt ? (opt_timeout >= 0 ?
	    opt_timeout : 10000) : 100) * 1000;
	while (!opt_rcpt || t.receipts + t.errors < n) {
		if (recv_frame(&f, deadline) != 1)
			break;
		tally_frame(&t, &f);
	}
	if (opt_rcpt) {
		(void)printf("blast receipts=%llu ok=%llu failed=%llu "
		    "size-needed=%llu", t.receipts, t.ok, t.failed,
		    t.sizeneeded);
		for (j = 0; j < NRESULTS; j++)
			(void)printf(" %s=%llu", results[j], t.res[j]);
		(void)printf(" unknown=%llu errors=%llu error.full=%llu\n",
		    t.res[NRESULTS], t.errors, t.efull);
	} else
		(void)printf("blast errors=%llu\n", t.errors);
	free(payload);
	return opt_rcpt && t.receipts + t.errors < n ? 1 : 0;
}

struct result {
	int		 receipt;	/* got one */
	int		 delivered;	/* its delivered entries */
	int		 ok;		/* its status was ok */
	int		 responses;
	int		 error;
	uint64_t	 us;		/* from the send to the last expected */
};

/*
 * Send one request and wait for what it asked for (or, with nothing asked
 * for, for the whole timeout).  Prints every frame if verbose.  Returns 0
 * when everything expected came, 1 if not.
 */
static int
request(const char *to, uint64_t txid, const void *payload, size_t len,
    long timeout, int verbose, struct result *res)
{
	struct frame	 f;
	const char	*p;
	uint64_t	 t0, deadline, now;
	int		 want_rcpt, bcast, expect, linger;

	memset(res, 0, sizeof(*res));
	want_rcpt = opt_rcpt && !opt_re;
	bcast = strncmp(to, "*.", 2) == 0;
	expect = !opt_resp ? 0 : opt_responses >= 0 ? (int)opt_responses :
	    bcast ? -1 : 1;		/* -1: as many as were delivered */
	linger = !want_rcpt && !opt_resp;
	build_req(&f, opt_op != NULL ? opt_op : "req", txid, to, payload, len);
	t0 = mono_us();
	deadline = t0 + (uint64_t)timeout * 1000;
	send_frame(&f);
	for (;;) {
		if (!linger && (!want_rcpt || res->receipt) && (expect == 0 ||
		    (expect > 0 && res->responses >= expect)))
			return 0;
		if (recv_frame(&f, deadline) != 1)
			break;
		now = mono_us();
		if (receipt(&f) && f.txid == txid) {
			res->receipt = 1;
			res->ok = is(&f, "status", "ok");
			res->delivered = count_result(&f, "delivered");
			res->us = now - t0;
			/* Responses come only from where it was delivered. */
			if (expect < 0 || expect > res->delivered)
				expect = res->delivered;
			if (is(&f, "status", "size-needed"))
				expect = 0;
			if (verbose)
				print_receipt(&f, now - t0);
		} else if (strcmp(f.op, "error") == 0 && !delivered(&f) &&
		    f.txid == txid) {
			res->error = 1;
			if (verbose)
				(void)printf("error txid=%llu status=%s "
				    "reason=%s\n", (unsigned long long)f.txid,
				    get(&f, "status"), get(&f, "reason"));
			return 1;
		} else if (delivered(&f) && f.txid == txid &&
		    (is(&f, "re", "1") || strcmp(f.op, "pong") == 0)) {
			res->responses++;
			res->us = now - t0;
			if (verbose) {
				(void)printf("response from=%s txid=%llu "
				    "len=%zu op=%s orig=%s", get(&f, "from"),
				    (unsigned long long)f.txid, f.len, f.op,
				    get(&f, "orig"));
				if ((p = printable(&f)) != NULL)
					(void)printf(" payload=%s", p);
				(void)printf(" us=%llu\n",
				    (unsigned long long)(now - t0));
			}
		} else if (verbose) {
			if (delivered(&f))
				print_recv("recv", &f);
			else if (receipt(&f))
				print_receipt(&f, now - t0);
			else
				print_other(&f);
		}
	}
	if (linger)
		return 0;
	if (verbose)
		(void)printf("incomplete txid=%llu receipt=%d/%d "
		    "responses=%d/%d after %ld ms\n", (unsigned long long)txid,
		    res->receipt, want_rcpt, res->responses, expect, timeout);
	return 1;
}

static int
mode_req(const char *to)
{
	struct result	 res;
	uint8_t		*payload = NULL;
	const void	*p;
	size_t		 len;
	uint64_t	 txid;
	int		 rc;

	txid = opt_txid > 0 ? opt_txid : wall_us();
	if (opt_payload != NULL) {
		p = opt_payload;
		len = strlen(opt_payload);
	} else if (opt_size_set) {
		if ((payload = malloc(opt_size > 0 ? opt_size : 1)) == NULL)
			err(1, "malloc");
		fill_payload(payload, opt_size, txid);
		p = payload;
		len = opt_size;
	} else {
		p = "";
		len = 0;
	}
	(void)printf("sent txid=%llu to=%s len=%zu\n",
	    (unsigned long long)txid, to, len);
	rc = request(to, txid, p, len, opt_timeout >= 0 ? opt_timeout : 2000,
	    1, &res);
	free(payload);
	return rc;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
mode_rtt(const char *to)
{
	struct result	 res;
	uint64_t	*us, txid, sum = 0;
	uint8_t		*payload;
	unsigned long long i, n = opt_n > 0 ? opt_n : 1000, ok = 0, lost = 0,
			 notok = 0;

	if (n > RTT_MAX)
		errx(2, "at most %d requests", RTT_MAX);
	if (!opt_rcpt)
		opt_resp = 1;
	if ((us = calloc(n, sizeof(*us))) == NULL ||
	    (payload = malloc(opt_size > 0 ? opt_size : 1)) == NULL)
		err(1, "malloc");
	txid = opt_txid > 0 ? opt_txid : wall_us();
	for (i = 0; i < n && !stop; i++) {
		fill_payload(payload, opt_size, txid + i);
		if (request(to, txid + i, payload, opt_size, opt_timeout >= 0 ?
		    opt_timeout : 2000, 0, &res) != 0) {
			lost++;
			continue;
		}
		if (opt_rcpt && !res.ok)
			notok++;
		us[ok++] = res.us;
		sum += res.us;
	}
	qsort(us, ok, sizeof(*us), cmp_u64);
	if (ok == 0)
		(void)printf("rtt n=%llu ok=0 lost=%llu\n", i, lost);
	else
		(void)printf("rtt n=%llu ok=%llu lost=%llu notok=%llu "
		    "median_us=%llu p99_us=%llu min_us=%llu max_us=%llu "
		    "mean_us=%llu\n", i, ok, lost, notok,
		    (unsigned long long)us[ok / 2],
		    (unsigned long long)us[(ok * 99) / 100 < ok ?
		    (ok * 99) / 100 : ok - 1],
		    (unsigned long long)us[0], (unsigned long long)us[ok - 1],
		    (unsigned long long)(sum / ok));
	free(us);
	free(payload);
	return lost > 0 ? 1 : 0;
}

int
main(int argc, char *argv[])
{
	struct sigaction sa;
	const char	*path = NULL, *mode, *target;
	int		 ch, rc;

	while ((ch = getopt_long(argc, argv, "f:N:n:s:t:T:i:o:p:x:w:q",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			break;
		case 'N':
			opt_name = optarg;
			break;
		case 'n':
			opt_n = num(optarg, "count");
			break;
		case 's':
			opt_size = (size_t)num(optarg, "size");
			opt_size_set = 1;
			break;
		case 't':
			opt_timeout = (long)num(optarg, "timeout");
			break;
		case 'T':
			opt_life = (long)num(optarg, "lifetime");
			break;
		case 'i':
			opt_idle = (long)num(optarg, "idle time");
			break;
		case 'o':
			opt_op = optarg;
			break;
		case 'p':
			opt_payload = optarg;
			break;
		case 'x':
			opt_txid = num(optarg, "txid");
			break;
		case 'w':
			opt_window = (unsigned long)num(optarg, "window");
			if (opt_window == 0)
				usage();
			break;
		case 'q':
			opt_quiet = 1;
			break;
		case O_RCPT:
			opt_rcpt = 1;
			break;
		case O_RESP:
			opt_resp = 1;
			break;
		case O_SELF:
			opt_self = 1;
			break;
		case O_RE:
			opt_re = 1;
			break;
		case O_RCPTMAX:
			opt_rcptmax = (long)num(optarg, "rcpt-max");
			break;
		case O_RESPONSES:
			opt_responses = (long)num(optarg, "responses");
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	mode = argv[0];
	target = argc > 1 ? argv[1] : NULL;
	if (opt_size > WIRE_PAYLOAD_MAX)
		errx(2, "size over %d", WIRE_PAYLOAD_MAX);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	(void)sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)signal(SIGPIPE, SIG_IGN);
	/* Line by line even into a file: the tests read it as it grows. */
	(void)setvbuf(stdout, NULL, _IOLBF, 0);

	if (conf_load(&conf, conf_path(path)) == -1)
		exit(1);
	life_end = mono_us() + (uint64_t)opt_life * 1000;
	conn_open();

	if (strcmp(mode, "services") == 0 && argc == 1)
		return mode_services();
	if (strcmp(mode, "echo") == 0 || strcmp(mode, "sink") == 0 ||
	    strcmp(mode, "stall") == 0) {
		if (argc != 1)
			usage();
	} else if (strcmp(mode, "relay") == 0 || strcmp(mode, "blast") == 0 ||
	    strcmp(mode, "req") == 0 || strcmp(mode, "rtt") == 0) {
		if (argc != 2)
			usage();
	} else {
		warnx("unknown mode %s", mode);
		usage();
	}
	register_service();
	if (strcmp(mode, "echo") == 0)
		rc = mode_echo();
	else if (strcmp(mode, "relay") == 0)
		rc = mode_relay(target);
	else if (strcmp(mode, "sink") == 0)
		rc = mode_sink();
	else if (strcmp(mode, "stall") == 0)
		rc = mode_stall();
	else if (strcmp(mode, "blast") == 0)
		rc = mode_blast(target);
	else if (strcmp(mode, "req") == 0)
		rc = mode_req(target);
	else
		rc = mode_rtt(target);
	(void)fflush(stdout);
	return rc;
}
