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
 * Node authentication (libcl/auth.c), in memory: a client and a server
 * struct auth exchange the handshake through wire_encode/wire_parse;
 * then frames are sealed and opened both ways, with and without
 * encryption, and every single-byte change, replay, reordering and
 * reflection must be caught.  Key files: keygen and loadkey.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "buf.h"
#include "wire.h"
#include "unit.h"

#define MAXPAYLOAD	(1024 * 1024)		/* bytes */
#define WIREMAX		(WIRE_HDR_MAX + 2 * MAXPAYLOAD)

static struct auth_conf	 cconf, sconf;	/* client node 1, server node 2 */
static struct auth	 ca, sa;
static struct frame	 fout, fin, fsent;
static struct buf	 wire;
static uint8_t		 raw[WIREMAX];

static void
set_conf(struct auth_conf *c, uint32_t self, int encrypt)
{
	memset(c, 0, sizeof(*c));
	(void)strlcpy(c->cluster, "test", sizeof(c->cluster));
	memset(c->key, 0x5a, sizeof(c->key));
	c->self = self;
	c->inc = 1000 + self;
	c->encrypt = encrypt;
	auth_confid("1=127.0.0.1:7001,2=127.0.0.1:7002", c->confid);
	c->maxpayload = MAXPAYLOAD;
}

static void
set_confs(int encrypt)
{
	set_conf(&cconf, 1, encrypt);
	set_conf(&sconf, 2, encrypt);
}

/* Encode out and parse it back into in, as the network would. */
static int
xfer(const struct frame *out, struct frame *in)
{
	struct wire_parser p;

	buf_truncate(&wire, 0);
	if (wire_encode(&wire, out) == -1)
		return -1;
	wire_parser_init(&p, MAXPAYLOAD);
	if (wire_parse(&p, buf_ptr(&wire), buf_avail(&wire), in) !=
	    WIRE_FRAME || wire_framelen(&p) != buf_avail(&wire))
		return -1;
	return 0;
}

/*
 * The handshake between new auths c (client) and s (server): 0 when
 * both are open, else the step that failed, 1 to 5.
 */
static int
handshake(struct auth *c, struct auth *s)
{
	auth_new(c, &cconf, 1);
	auth_new(s, &sconf, 0);
	if (auth_client_hello(c, &fout) == -1 || xfer(&fout, &fin) == -1)
		return 1;
	if (auth_server_hello(s, &fin, &fout) == -1 || xfer(&fout, &fin) == -1)
		return 2;
	if (auth_client_prove(c, &fin, &fout) == -1 || xfer(&fout, &fin) == -1)
		return 3;
	if (auth_server_finish(s, &fin, &fout) == -1 ||
	    xfer(&fout, &fin) == -1)
		return 4;
	if (auth_client_finish(c, &fin) == -1)
		return 5;
	return 0;
}

static void
done(void)
{
	auth_free(&ca);
	auth_free(&sa);
}

/*
 * Hand n received bytes to the receiving auth: 1 if they parse as a
 * frame and auth_open takes it (f is then the frame), 0 if refused.
 */
static int
receive(struct auth *to, const uint8_t *b, size_t n, struct frame *f)
{
	struct wire_parser p;

	wire_parser_init(&p, to->conf->maxpayload + WIRE_HDR_MAX + 64);
	if (wire_parse(&p, b, n, f) != WIRE_FRAME)
		return 0;
	return auth_open(to, f) == 0;
}

/* got carries want: op, txid, every key of want and the payload. */
static int
carries(const struct frame *got, const struct frame *want)
{
	const char	*v;
	int		 i;

	if (strcmp(got->op, want->op) != 0 || got->txid != want->txid ||
	    got->len != want->len ||
	    (want->len > 0 && memcmp(got->payload, want->payload, want->len)))
		return 0;
	for (i = 0; i < want->nkv; i++)
		if ((v = frame_get(got, want->kv[i].key)) == NULL ||
		    strcmp(v, want->kv[i].val) != 0)
			return 0;
	return 1;
}

static void
make_frame(struct frame *f, const char *op, uint64_t txid, const char *pay)
{
	frame_init(f, op, txid);
	frame_add(f, "from", "%u.clmemberd", 1);
	frame_add(f, "to", "2.clsessiond");
	frame_add(f, "note", "secret-marker-%llu", (unsigned long long)txid);
	frame_payload(f, pay, strlen(pay));
}

static int
has_bytes(const uint8_t *b, size_t n, const char *s, size_t slen)
{
	size_t	 i;

	for (i = 0; i + slen <= n; i++)
		if (memcmp(b + i, s, slen) == 0)
			return 1;
	return 0;
}

/* Seal f from a into raw; its length, 0 on failure. */
static size_t
seal(struct auth *a, const struct frame *f)
{
	size_t	 n;

	buf_truncate(&wire, 0);
	if (auth_seal(a, &wire, f) == -1)
		return 0;
	n = buf_avail(&wire);
	memcpy(raw, buf_ptr(&wire), n);
	return n;
}

static void
test_handshake(int encrypt)
{
	const char	*m = encrypt ? "encrypt" : "mac";
	size_t		 n;
	int		 rc, i, bad;
	static const char *pays[] = { "", "x", "hello\nworld\0!" };

	set_confs(encrypt);
	rc = handshake(&ca, &sa);
	if (!CHECKF(rc == 0, "%s: handshake completes", m))
		unit_diag("failed at step %d: client \"%s\", server \"%s\"", rc,
		    ca.err, sa.err);
	CHECKF(ca.state == AUTH_OPEN && sa.state == AUTH_OPEN,
	    "%s: both sides AUTH_OPEN", m);
	CHECKF(ca.peer == 2 && sa.peer == 1 && ca.peer_inc == 1002 &&
	    sa.peer_inc == 1001, "%s: each side knows the other's id and "
	    "incarnation", m);

	/* Frames both ways, several in a row. */
	bad = 0;
	for (i = 0; i < 3; i++) {
		make_frame(&fsent, "ping", (uint64_t)i + 1, pays[i]);
		if ((n = seal(&ca, &fsent)) == 0 ||
		    !receive(&sa, raw, n, &fin) || !carries(&fin, &fsent))
			bad++;
		make_frame(&fsent, "pong", (uint64_t)i + 100, pays[i]);
		if ((n = seal(&sa, &fsent)) == 0 ||
		    !receive(&ca, raw, n, &fin) || !carries(&fin, &fsent))
			bad++;
	}
	if (!CHECKF(bad == 0, "%s: 3 frames each way seal and open intact", m))
		unit_diag("client \"%s\", server \"%s\"", ca.err, sa.err);

	/* A big payload. */
	{
		static char big[200 * 1024 + 1];

		memset(big, 'b', sizeof(big) - 1);
		big[1000] = '\n';
		make_frame(&fsent, "put", 9, big);
		n = seal(&ca, &fsent);
		CHECKF(n > 0 && receive(&sa, raw, n, &fin) &&
		    carries(&fin, &fsent), "%s: a 200 KiB payload", m);
	}

	make_frame(&fsent, "ping", 77, "abc");
	n = seal(&ca, &fsent);
	if (encrypt)
		CHECK(n > 0 && !has_bytes(raw, n, "secret-marker", 13) &&
		    !has_bytes(raw, n, "clsessiond", 10),
		    "encrypt: keys and values do not appear on the wire");
	else
		CHECK(n > 0 && has_bytes(raw, n, "secret-marker-77", 16) &&
		    has_bytes(raw, n, "\nmac=", 5) &&
		    has_bytes(raw, n, "\nseq=", 5),
		    "mac: frames stay readable, with seq= and mac=");
	CHECKF(receive(&sa, raw, n, &fin) && carries(&fin, &fsent),
	    "%s: the frame after them opens too", m);

	/* A frame sealed by the client, fed back to the client. */
	make_frame(&fsent, "ping", 78, "abc");
	n = seal(&ca, &fsent);
	CHECKF(!receive(&ca, raw, n, &fin), "%s: a frame reflected back to "
	    "its sender is refused", m);
	done();
}

static int
err_has(const struct auth *a, const char *s)
{
	return strstr(a->err, s) != NULL;
}

static void
test_refusals(void)
{
	int	 rc;

	set_confs(0);
	memset(cconf.key, 0x11, sizeof(cconf.key));
	rc = handshake(&ca, &sa);
	if (!CHECK(rc == 4 && err_has(&sa, "wrong cluster key") &&
	    sa.state == AUTH_FAILED, "client with a wrong key: the server "
	    "says \"wrong cluster key\""))
		unit_diag("step %d, server \"%s\"", rc, sa.err);
	done();

	set_confs(0);
	memset(sconf.key, 0x22, sizeof(sconf.key));
	rc = handshake(&ca, &sa);
	if (!CHECK(rc == 4 && err_has(&sa, "wrong cluster key"),
	    "server with a wrong key: it finds the client's proof wrong and "
	    "proves nothing"))
		unit_diag("step %d, server \"%s\"", rc, sa.err);
	done();

	/* The client checks the server's proof too. */
	set_confs(0);
	auth_new(&ca, &cconf, 1);
	auth_new(&sa, &sconf, 0);
	(void)auth_client_hello(&ca, &fout);
	(void)xfer(&fout, &fin);
	(void)auth_server_hello(&sa, &fin, &fout);
	(void)xfer(&fout, &fin);
	(void)auth_client_prove(&ca, &fin, &fout);
	frame_init(&fout, "auth", 0);
	frame_add(&fout, "proof", "%064d", 7);
	(void)xfer(&fout, &fin);
	rc = auth_client_finish(&ca, &fin);
	if (!CHECK(rc == -1 && err_has(&ca, "wrong cluster key") &&
	    ca.state == AUTH_FAILED,
	    "client given a forged server proof: \"wrong cluster key\""))
		unit_diag("client \"%s\"", ca.err);
	done();

	/* A genuine server proof from another session is no good either. */
	{
		static struct auth ca2, sa2;
		static struct frame proof;

		set_confs(0);
		auth_new(&ca, &cconf, 1);
		auth_new(&sa, &sconf, 0);
		(void)auth_client_hello(&ca, &fout);
		(void)xfer(&fout, &fin);
		(void)auth_server_hello(&sa, &fin, &fout);
		(void)xfer(&fout, &fin);
		(void)auth_client_prove(&ca, &fin, &fout);
		/* Session 2, between the same nodes, up to its server's proof. */
		auth_new(&ca2, &cconf, 1);
		auth_new(&sa2, &sconf, 0);
		(void)auth_client_hello(&ca2, &fout);
		(void)xfer(&fout, &fin);
		(void)auth_server_hello(&sa2, &fin, &fout);
		(void)xfer(&fout, &fin);
		(void)auth_client_prove(&ca2, &fin, &fout);
		(void)xfer(&fout, &fin);
		rc = auth_server_finish(&sa2, &fin, &proof);
		(void)xfer(&proof, &fin);
		CHECK(rc == 0 && auth_client_finish(&ca, &fin) == -1 &&
		    err_has(&ca, "wrong cluster key"),
		    "a server proof from another session is refused");
		auth_free(&ca2);
		auth_free(&sa2);
		done();
	}

	set_confs(0);
	(void)strlcpy(cconf.cluster, "other", sizeof(cconf.cluster));
	rc = handshake(&ca, &sa);
	CHECK(rc == 2 && err_has(&sa, "different cluster name"),
	    "different cluster name refused by the server");
	done();

	set_confs(0);
	auth_confid("1=127.0.0.1:7001", cconf.confid);
	rc = handshake(&ca, &sa);
	CHECK(rc == 2 && err_has(&sa, "node list"),
	    "different confid (node list) refused");
	done();

	set_confs(0);
	cconf.encrypt = 1;
	rc = handshake(&ca, &sa);
	CHECK(rc == 2 && err_has(&sa, "encrypt"),
	    "client encrypt, server not: refused");
	done();

	set_confs(1);
	cconf.encrypt = 0;
	rc = handshake(&ca, &sa);
	CHECK(rc == 2 && err_has(&sa, "encrypt"),
	    "server encrypt, client not: refused");
	done();

	set_confs(0);
	cconf.self = 2;
	rc = handshake(&ca, &sa);
	CHECK(rc == 2 && err_has(&sa, "our own node id"),
	    "a peer claiming our node id is refused");
	done();

	/* Out of order. */
	set_confs(0);
	auth_new(&ca, &cconf, 1);
	auth_new(&sa, &sconf, 0);
	make_frame(&fsent, "ping", 1, "");
	buf_truncate(&wire, 0);
	errno = 0;
	CHECK(auth_seal(&ca, &wire, &fsent) == -1 && errno == ENOTCONN &&
	    buf_avail(&wire) == 0, "auth_seal before the handshake: ENOTCONN");
	frame_init(&fout, "auth", 0);
	frame_add(&fout, "proof", "%064d", 0);
	(void)xfer(&fout, &fin);
	CHECK(auth_server_finish(&sa, &fin, &fout) == -1 &&
	    sa.state == AUTH_FAILED, "a proof before the hello is refused");
	done();
	auth_new(&sa, &sconf, 0);
	(void)xfer(&fsent, &fin);
	CHECK(auth_open(&sa, &fin) == -1, "auth_open before the handshake "
	    "fails");
	done();
	auth_new(&ca, &cconf, 1);
	auth_new(&sa, &sconf, 0);
	(void)auth_client_hello(&ca, &fout);
	(void)xfer(&fout, &fin);
	CHECK(auth_server_hello(&sa, &fin, &fout) == 0 &&
	    auth_server_hello(&sa, &fin, &fout) == -1,
	    "a second hello is refused");
	done();
}

/* Every byte of a sealed frame changed by mask: parse or open fails. */
static void
test_flips(int encrypt, uint8_t mask)
{
	const char	*m = encrypt ? "encrypt" : "mac";
	char		 where[256];
	size_t		 n, len, i, missed = 0, w = 0;

	set_confs(encrypt);
	(void)handshake(&ca, &sa);
	frame_init(&fsent, "ping", 7);
	frame_add(&fsent, "from", "1.clmemberd");
	frame_payload(&fsent, "abc", 3);
	len = seal(&ca, &fsent);
	CHECKF(len > 0 && receive(&sa, raw, len, &fin),
	    "%s: the unchanged frame opens", m);
	done();
	where[0] = '\0';
	for (i = 0; i < len; i++) {
		set_confs(encrypt);
		if (handshake(&ca, &sa) != 0 ||
		    (n = seal(&ca, &fsent)) != len) {
			missed++;
			done();
			continue;
		}
		raw[i] ^= mask;
		if (receive(&sa, raw, n, &fin)) {
			missed++;
			if (w < sizeof(where) - 1)
				w += (size_t)snprintf(where + w,
				    sizeof(where) - w, " %zu", i);
		}
		done();
	}
	if (!CHECKF(missed == 0, "%s: every one of %zu bytes xor 0x%02x is "
	    "caught", m, len, mask)) {
		unit_diag("undetected at byte offsets%s", where);
	}
}

/* Replayed and swapped frames. */
static void
test_order(int encrypt)
{
	static uint8_t	 f0[4096], f1[4096];
	const char	*m = encrypt ? "encrypt" : "mac";
	size_t		 n0, n1;

	set_confs(encrypt);
	(void)handshake(&ca, &sa);
	make_frame(&fsent, "a", 1, "zero");
	n0 = seal(&ca, &fsent);
	memcpy(f0, raw, n0);
	make_frame(&fsent, "b", 2, "one");
	n1 = seal(&ca, &fsent);
	memcpy(f1, raw, n1);
	CHECKF(receive(&sa, f0, n0, &fin), "%s: frame 0 opens", m);
	if (!CHECKF(!receive(&sa, f0, n0, &fin) && err_has(&sa, "replayed"),
	    "%s: frame 0 replayed: \"replayed\"", m))
		unit_diag("server \"%s\"", sa.err);
	done();

	set_confs(encrypt);
	(void)handshake(&ca, &sa);
	make_frame(&fsent, "a", 1, "zero");
	n0 = seal(&ca, &fsent);
	memcpy(f0, raw, n0);
	make_frame(&fsent, "b", 2, "one");
	n1 = seal(&ca, &fsent);
	memcpy(f1, raw, n1);
	CHECKF(!receive(&sa, f1, n1, &fin), "%s: frame 1 before frame 0 is "
	    "refused", m);
	done();

	/* A frame from another connection between the same nodes. */
	set_confs(encrypt);
	(void)handshake(&ca, &sa);
	make_frame(&fsent, "a", 1, "zero");
	n0 = seal(&ca, &fsent);
	memcpy(f0, raw, n0);
	done();
	(void)handshake(&ca, &sa);
	CHECKF(!receive(&sa, f0, n0, &fin), "%s: a frame from an earlier "
	    "connection is refused", m);
	done();
}

static void
test_limits(void)
{
	size_t	 n;
	int	 i, rc;

	/* The most keys frame_add allows: seal refuses, or the peer opens. */
	set_confs(0);
	(void)handshake(&ca, &sa);
	frame_init(&fsent, "many", 1);
	for (i = 0; i < WIRE_KEYS_MAX; i++) {
		char	 k[16];

		(void)snprintf(k, sizeof(k), "k%d", i);
		frame_add(&fsent, k, "%d", i);
	}
	buf_truncate(&wire, 0);
	rc = auth_seal(&ca, &wire, &fsent);
	n = buf_avail(&wire);
	memcpy(raw, buf_ptr(&wire), n);
	if (!CHECK(fsent.err == 0 && (rc == -1 || receive(&sa, raw, n, &fin)),
	    "mac: a frame of 128 keys is refused by auth_seal or opened by "
	    "the peer, never sent unreadable"))
		unit_diag("auth_seal %d, server \"%s\"", rc, sa.err);
	done();

	set_confs(1);
	(void)handshake(&ca, &sa);
	make_frame(&fsent, "plain", 1, "x");
	(void)xfer(&fsent, &fin);
	CHECK(auth_open(&sa, &fin) == -1 && err_has(&sa, "unsealed"),
	    "encrypt: an unsealed frame is refused");
	done();

	set_confs(0);
	(void)handshake(&ca, &sa);
	make_frame(&fsent, "plain", 1, "x");
	(void)xfer(&fsent, &fin);
	CHECK(auth_open(&sa, &fin) == -1 && err_has(&sa, "without a MAC"),
	    "mac: a frame without mac= is refused");
	done();
}

static int
write_file(const char *p, const char *s, mode_t mode)
{
	int	 fd;
	ssize_t	 n;

	(void)unlink(p);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode)) == -1)
		return -1;
	n = write(fd, s, strlen(s));
	(void)fchmod(fd, mode);
	(void)close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static void
test_keyfiles(void)
{
	char		 dir[64], p[128], p2[128], err[512], text[256];
	char		 hex[AUTH_KEYLEN * 2 + 2];
	uint8_t		 key[AUTH_KEYLEN], key2[AUTH_KEYLEN], want[AUTH_KEYLEN];
	struct stat	 st;
	ssize_t		 n;
	mode_t		 old;
	int		 fd, rc, i, ishex = 1;

	(void)snprintf(dir, sizeof(dir), "%s/cl-auth.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL) {
		CHECK(0, "mkdtemp");
		return;
	}
	(void)snprintf(p, sizeof(p), "%s/cl.key", dir);
	old = umask(0);
	rc = auth_keygen(p, err, sizeof(err));
	(void)umask(old);
	if (!CHECK(rc == 0, "auth_keygen creates a key file"))
		unit_diag("%s", err);
	CHECK(stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & 07777) == 0600, "key file mode 0600, even with "
	    "umask 0");
	memset(text, 0, sizeof(text));
	n = -1;
	if ((fd = open(p, O_RDONLY)) != -1) {
		n = read(fd, text, sizeof(text) - 1);
		(void)close(fd);
	}
	for (i = 0; i < AUTH_KEYLEN * 2; i++)
		if (strchr("0123456789abcdefABCDEF", text[i]) == NULL ||
		    text[i] == '\0')
			ishex = 0;
	CHECK(n == AUTH_KEYLEN * 2 + 1 && ishex &&
	    text[AUTH_KEYLEN * 2] == '\n', "key file: 64 hex digits and a "
	    "newline");
	rc = auth_loadkey(p, key, err, sizeof(err));
	text[AUTH_KEYLEN * 2] = '\0';
	CHECK(rc == 0 && hex_decode(text, want, sizeof(want)) == 0 &&
	    memcmp(key, want, sizeof(key)) == 0,
	    "auth_loadkey reads back the key written");
	rc = auth_keygen(p, err, sizeof(err));
	CHECK(rc == -1 && strstr(err, "exists") != NULL,
	    "auth_keygen refuses to overwrite a key file");
	CHECK(auth_loadkey(p, key2, err, sizeof(err)) == 0 &&
	    memcmp(key, key2, sizeof(key)) == 0,
	    "the refused keygen left the key alone");
	(void)snprintf(p2, sizeof(p2), "%s/cl2.key", dir);
	CHECK(auth_keygen(p2, err, sizeof(err)) == 0 &&
	    auth_loadkey(p2, key2, err, sizeof(err)) == 0 &&
	    memcmp(key, key2, sizeof(key)) != 0, "two keygens, two keys");

	(void)hex_encode(want, sizeof(want), hex, sizeof(hex));
	(void)chmod(p, 0644);
	rc = auth_loadkey(p, key, err, sizeof(err));
	CHECK(rc == -1 && strstr(err, "mode 644") != NULL,
	    "auth_loadkey refuses mode 0644");
	(void)chmod(p, 0640);
	CHECK(auth_loadkey(p, key, err, sizeof(err)) == -1,
	    "auth_loadkey refuses mode 0640");
	(void)chmod(p, 0602);
	CHECK(auth_loadkey(p, key, err, sizeof(err)) == -1,
	    "auth_loadkey refuses mode 0602");
	(void)chmod(p, 0400);
	CHECK(auth_loadkey(p, key, err, sizeof(err)) == 0,
	    "auth_loadkey takes mode 0400");

	(void)snprintf(text, sizeof(text), "%s", hex);
	CHECK(write_file(p, text, 0600) == 0 &&
	    auth_loadkey(p, key, err, sizeof(err)) == 0 &&
	    memcmp(key, want, sizeof(key)) == 0,
	    "64 hex digits without a newline are taken");
	memset(text, 'z', AUTH_KEYLEN * 2);
	(void)strlcpy(text + AUTH_KEYLEN * 2, "\n", 2);
	CHECK(write_file(p, text, 0600) == 0 &&
	    auth_loadkey(p, key, err, sizeof(err)) == -1 &&
	    strstr(err, "not a cl key") != NULL,
	    "auth_loadkey refuses a non-hex file");
	(void)snprintf(text, sizeof(text), "%.32s\n", hex);
	CHECK(write_file(p, text, 0600) == 0 &&
	    auth_loadkey(p, key, err, sizeof(err)) == -1,
	    "auth_loadkey refuses a short file (32 hex digits)");
	(void)snprintf(text, sizeof(text), "%.63s\n", hex);
	CHECK(write_file(p, text, 0600) == 0 &&
	    auth_loadkey(p, key, err, sizeof(err)) == -1,
	    "auth_loadkey refuses 63 hex digits");
	CHECK(write_file(p, "", 0600) == 0 &&
	    auth_loadkey(p, key, err, sizeof(err)) == -1,
	    "auth_loadkey refuses an empty file");
	(void)snprintf(text, sizeof(text), "%s0\n", hex);
	CHECK(write_file(p, text, 0600) == 0 &&
	    auth_loadkey(p, key, err, sizeof(err)) == -1,
	    "auth_loadkey refuses 65 hex digits");
	(void)snprintf(text, sizeof(text), "%s\n%s\n", hex, hex);
	CHECK(write_file(p, text, 0600) == 0 &&
	    auth_loadkey(p, key, err, sizeof(err)) == -1,
	    "auth_loadkey refuses a file with more after the key's newline");
	(void)unlink(p);
	CHECK(symlink(p2, p) == 0 &&
	    auth_loadkey(p, key, err, sizeof(err)) == -1,
	    "auth_loadkey refuses a symlink");
	(void)unlink(p);
	CHECK(auth_loadkey(p, key, err, sizeof(err)) == -1 &&
	    strstr(err, p) != NULL, "auth_loadkey on a missing file names it");
	CHECK(auth_loadkey(dir, key, err, sizeof(err)) == -1,
	    "auth_loadkey refuses a directory");
	(void)unlink(p2);
	(void)rmdir(dir);
}

int
main(void)
{
	if (auth_init() == -1) {
		CHECK(0, "auth_init");
		return unit_done();
	}
	buf_init(&wire, WIREMAX);
	test_handshake(0);
	test_handshake(1);
	test_refusals();
	test_flips(0, 0x01);
	test_flips(0, 0xff);
	test_flips(1, 0x01);
	test_flips(1, 0xff);
	test_order(0);
	test_order(1);
	test_limits();
	test_keyfiles();
	buf_free(&wire);
	return unit_done();
}
