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
 * Authentication between nodes (DESIGN.md, Security).
 *
 * Handshake, client C dialing server S, all frames in the clear:
 *
 *	C -> S	hello	cluster, node, inc, nonce, conf, encrypt
 *	S -> C	hello	the same for S
 *	C -> S	auth	proof = H_K("client" | T)
 *	S -> C	auth	proof = H_K("server" | T)
 *
 * Each side checks the other's proof, so a node with the wrong key is
 * caught and logged by the side it talks to, whichever side dialed.  The
 * server proves only after the client has, so a stranger learns nothing.
 *
 * H_K is keyed BLAKE2b (crypto_generichash) under the cluster key K, and
 * T is the transcript: both node ids, incarnations and nonces, the
 * cluster name, the encryption flag and the node-list digest.  Fresh
 * nonces on both sides make an old handshake useless; the role label
 * stops a proof from being reflected.  Both sides then derive one key per
 * direction, H_K("c2s" | T) and H_K("s2c" | T).
 *
 * After the handshake every frame carries seq=<n> (counted from 0 in each
 * direction) and, as its last header line, mac=<hex>: H_k over every
 * header byte before the mac line and the payload.  A forged frame fails
 * the MAC, a replayed or reordered one fails the sequence check.  With
 * encrypt = true a frame is instead sealed whole into the payload of a
 * "sealed" frame with crypto_secretstream, which gives the same
 * guarantees and hides the contents.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "conf.h"

#define SS_ABYTES	crypto_secretstream_xchacha20poly1305_ABYTES
#define SS_HDRBYTES	crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define KEYFILE_LEN	(AUTH_KEYLEN * 2)	/* hex digits */

int
auth_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

int
hex_encode(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	if (outlen < n * 2 + 1)
		return -1;
	(void)sodium_bin2hex(out, outlen, p, n);
	return 0;
}

/* Exactly 2n hex digits into n bytes. */
int
hex_decode(const char *s, uint8_t *out, size_t n)
{
	size_t	 got;

	if (s == NULL || strlen(s) != n * 2)
		return -1;
	if (sodium_hex2bin(out, n, s, n * 2, NULL, &got, NULL) != 0 ||
	    got != n)
		return -1;
	return 0;
}

/*
 * The key file holds 64 hex digits and a newline.  It must be a regular
 * file that only its owner can read, owned by root or by us.
 */
int
auth_loadkey(const char *path, uint8_t *key, char *err, size_t errlen)
{
	struct stat	 st;
	char		 b[KEYFILE_LEN + 3];	/* key, newline, one more */
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)snprintf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		(void)snprintf(err, errlen, "%s: mode %03o, must not be "
		    "readable or writable by group or others (chmod 600)",
		    path, (unsigned)(st.st_mode & 0777));
		goto fail;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		(void)snprintf(err, errlen, "%s: owned by uid %u, must be "
		    "owned by root or by uid %u", path, (unsigned)st.st_uid,
		    (unsigned)geteuid());
		goto fail;
	}
	n = read(fd, b, sizeof(b) - 1);
	if (n < 0) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	b[n] = '\0';
	if (n > 0 && b[n - 1] == '\n')
		b[--n] = '\0';
	if (n > KEYFILE_LEN || memchr(b, '\n', (size_t)n) != NULL) {
		(void)snprintf(err, errlen, "%s: not a cl key (%d hex digits "
		    "on one line expected; make one with clmember keygen)",
		    path, KEYFILE_LEN);
		goto fail;
	}
	if (hex_decode(b, key, AUTH_KEYLEN) == -1) {
		(void)snprintf(err, errlen, "%s: not a cl key (%d hex digits "
		    "expected; make one with clmember keygen)", path,
		    KEYFILE_LEN);
		goto fail;
	}
	sodium_memzero(b, sizeof(b));
	(void)close(fd);
	return 0;
fail:
	sodium_memzero(b, sizeof(b));
	(void)close(fd);
	return -1;
}

/* A new random key; never overwrites an existing file. */
int
auth_keygen(const char *path, char *err, size_t errlen)
{
	uint8_t	 key[AUTH_KEYLEN];
	char	 hex[KEYFILE_LEN + 2];
	int	 fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	randombytes_buf(key, sizeof(key));
	(void)hex_encode(key, sizeof(key), hex, sizeof(hex));
	hex[KEYFILE_LEN] = '\n';
	if (fchmod(fd, 0600) == -1 ||
	    write(fd, hex, KEYFILE_LEN + 1) != KEYFILE_LEN + 1 ||
	    fsync(fd) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		(void)close(fd);
		(void)unlink(path);
		sodium_memzero(key, sizeof(key));
		return -1;
	}
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hex, sizeof(hex));
	if (close(fd) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* A short digest of the node list, so nodes with different lists refuse
 * each other: their majorities would not be the same majorities. */
void
auth_confid(const char *nodelist, char *out)
{
	uint8_t	 h[AUTH_CONFIDLEN / 2];

	(void)crypto_generichash(h, sizeof(h), (const uint8_t *)nodelist,
	    strlen(nodelist), NULL, 0);
	(void)hex_encode(h, sizeof(h), out, AUTH_CONFIDLEN + 1);
}

/* auth_confid of c's node list, in the canonical order every node uses. */
void
auth_confid_conf(const struct cl_conf *c, char *out)
{
	const struct cl_node *n;
	char		 list[CONF_NODES_MAX * 300];
	size_t		 off = 0;
	uint32_t	 id;

	list[0] = '\0';
	for (id = 1; id <= CONF_NODEID_MAX; id++) {
		if ((n = conf_node(c, id)) == NULL)
			continue;
		off += (size_t)snprintf(list + off, sizeof(list) - off,
		    "%u=%s:%s;", n->id, n->host, n->port);
	}
	auth_confid(list, out);
}

void
auth_new(struct auth *a, const struct auth_conf *c, int client)
{
	memset(a, 0, sizeof(*a));
	a->conf = c;
	a->state = client ? AUTH_CLIENT_WAIT : AUTH_SERVER_WAIT;
	buf_init(&a->plain, WIRE_HDR_MAX + c->maxpayload);
	buf_init(&a->tmp, WIRE_HDR_MAX + c->maxpayload);
	randombytes_buf(a->nonce, sizeof(a->nonce));
}

void
auth_free(struct auth *a)
{
	buf_free(&a->plain);
	buf_free(&a->tmp);
	sodium_memzero(a, sizeof(*a));
}

static int
fail(struct auth *a, const char *why)
{
	(void)strlcpy(a->err, why, sizeof(a->err));
	a->state = AUTH_FAILED;
	return -1;
}

static void
prf(const struct auth *a, const char *label, const char *t, uint8_t *out)
{
	crypto_generichash_state st;

	(void)crypto_generichash_init(&st, a->conf->key, AUTH_KEYLEN,
	    AUTH_MACLEN);
	(void)crypto_generichash_update(&st, (const uint8_t *)label,
	    strlen(label) + 1);
	(void)crypto_generichash_update(&st, (const uint8_t *)t, strlen(t));
	(void)crypto_generichash_final(&st, out, AUTH_MACLEN);
}

/* The transcript, the same on both sides: client fields first. */
static void
transcript(const struct auth *a, int client, char *t, size_t len)
{
	char		 cn[AUTH_NONCELEN * 2 + 1], sn[AUTH_NONCELEN * 2 + 1];
	uint32_t	 cid, sid;
	uint64_t	 cinc, sinc;

	(void)hex_encode(client ? a->nonce : a->pnonce, AUTH_NONCELEN, cn,
	    sizeof(cn));
	(void)hex_encode(client ? a->pnonce : a->nonce, AUTH_NONCELEN, sn,
	    sizeof(sn));
	cid = client ? a->conf->self : a->peer;
	sid = client ? a->peer : a->conf->self;
	cinc = client ? a->conf->inc : a->peer_inc;
	sinc = client ? a->peer_inc : a->conf->inc;
	(void)snprintf(t, len, "cl1|%s|%u|%llu|%s|%u|%llu|%s|%d|%s",
	    a->conf->cluster, cid, (unsigned long long)cinc, cn, sid,
	    (unsigned long long)sinc, sn, a->conf->encrypt, a->conf->confid);
}

/* Our proof into mine, the proof we expect into theirs, and the keys. */
static void
derive(struct auth *a, int client, uint8_t *theirs, uint8_t *mine)
{
	char	 t[512];

	transcript(a, client, t, sizeof(t));
	prf(a, client ? "server" : "client", t, theirs);
	prf(a, client ? "client" : "server", t, mine);
	prf(a, client ? "c2s" : "s2c", t, a->ktx);
	prf(a, client ? "s2c" : "c2s", t, a->krx);
	sodium_memzero(t, sizeof(t));
}

static int
add_hello(struct auth *a, struct frame *f)
{
	char	 n[AUTH_NONCELEN * 2 + 1];

	(void)hex_encode(a->nonce, AUTH_NONCELEN, n, sizeof(n));
	frame_add(f, "cluster", "%s", a->conf->cluster);
	frame_add(f, "node", "%u", a->conf->self);
	frame_add(f, "inc", "%llu", (unsigned long long)a->conf->inc);
	frame_add(f, "nonce", "%s", n);
	frame_add(f, "conf", "%s", a->conf->confid);
	frame_add(f, "encrypt", "%d", a->conf->encrypt);
	return f->err ? -1 : 0;
}

/* Check a hello and take the peer's id, incarnation and nonce. */
static int
take_hello(struct auth *a, const struct frame *f)
{
	const char	*s;
	uint64_t	 id;

	if (strcmp(f->op, "hello") != 0)
		return fail(a, "expected hello");
	if ((s = frame_get(f, "cluster")) == NULL ||
	    strcmp(s, a->conf->cluster) != 0)
		return fail(a, "different cluster name");
	if (frame_getu64(f, "node", &id) == -1 || id == 0 || id > 255)
		return fail(a, "bad node id");
	if (id == a->conf->self)
		return fail(a, "peer claims our own node id");
	if (frame_getu64(f, "inc", &a->peer_inc) == -1)
		return fail(a, "bad incarnation");
	if (hex_decode(frame_get(f, "nonce"), a->pnonce, AUTH_NONCELEN) == -1)
		return fail(a, "bad nonce");
	if ((s = frame_get(f, "encrypt")) == NULL ||
	    strcmp(s, a->conf->encrypt ? "1" : "0") != 0)
		return fail(a, "encrypt setting differs from ours");
	if ((s = frame_get(f, "conf")) == NULL ||
	    strcmp(s, a->conf->confid) != 0)
		return fail(a, "node list in its cl.conf differs from ours");
	a->peer = (uint32_t)id;
	return 0;
}

static int
push_init(struct auth *a, struct frame *f)
{
	uint8_t	 h[SS_HDRBYTES];
	char	 hex[SS_HDRBYTES * 2 + 1];

	if (!a->conf->encrypt)
		return 0;
	(void)crypto_secretstream_xchacha20poly1305_init_push(&a->sstx, h,
	    a->ktx);
	(void)hex_encode(h, sizeof(h), hex, sizeof(hex));
	return frame_add(f, "ss", "%s", hex);
}

static int
pull_init(struct auth *a, const struct frame *f)
{
	uint8_t	 h[SS_HDRBYTES];

	if (!a->conf->encrypt)
		return 0;
	if (hex_decode(frame_get(f, "ss"), h, sizeof(h)) == -1 ||
	    crypto_secretstream_xchacha20poly1305_init_pull(&a->ssrx, h,
	    a->krx) != 0)
		return fail(a, "bad secretstream header");
	return 0;
}

static int
check_proof(struct auth *a, const struct frame *f, const uint8_t *want)
{
	uint8_t	 got[AUTH_MACLEN];

	if (hex_decode(frame_get(f, "proof"), got, sizeof(got)) == -1)
		return fail(a, "no proof of the cluster key");
	if (sodium_memcmp(got, want, AUTH_MACLEN) != 0)
		return fail(a, "wrong cluster key (bad proof)");
	return 0;
}

int
auth_client_hello(struct auth *a, struct frame *out)
{
	frame_init(out, "hello", 0);
	return add_hello(a, out);
}

int
auth_server_hello(struct auth *a, const struct frame *in, struct frame *out)
{
	if (a->state != AUTH_SERVER_WAIT)
		return fail(a, "unexpected hello");
	if (take_hello(a, in) == -1)
		return -1;
	frame_init(out, "hello", 0);
	if (add_hello(a, out) == -1)
		return fail(a, "cannot build hello");
	a->state = AUTH_SERVER_PROVE;
	return 0;
}

static int
add_proof(struct auth *a, struct frame *out, const uint8_t *proof)
{
	char	 hex[AUTH_MACLEN * 2 + 1];

	frame_init(out, "auth", 0);
	(void)hex_encode(proof, AUTH_MACLEN, hex, sizeof(hex));
	frame_add(out, "proof", "%s", hex);
	(void)push_init(a, out);
	return out->err ? fail(a, "cannot build auth") : 0;
}

/* The client proves first, so a server never signs for a stranger. */
int
auth_client_prove(struct auth *a, const struct frame *in, struct frame *out)
{
	uint8_t	 pc[AUTH_MACLEN];

	if (a->state != AUTH_CLIENT_WAIT)
		return fail(a, "unexpected hello");
	if (take_hello(a, in) == -1)
		return -1;
	derive(a, 1, a->want, pc);
	if (add_proof(a, out, pc) == -1)
		return -1;
	a->state = AUTH_CLIENT_VERIFY;
	return 0;
}

int
auth_server_finish(struct auth *a, const struct frame *in, struct frame *out)
{
	uint8_t	 ps[AUTH_MACLEN];

	if (a->state != AUTH_SERVER_PROVE || strcmp(in->op, "auth") != 0)
		return fail(a, "expected auth");
	derive(a, 0, a->want, ps);
	if (check_proof(a, in, a->want) == -1 || pull_init(a, in) == -1 ||
	    add_proof(a, out, ps) == -1)
		return -1;
	a->state = AUTH_OPEN;
	return 0;
}

int
auth_client_finish(struct auth *a, const struct frame *in)
{
	if (a->state != AUTH_CLIENT_VERIFY || strcmp(in->op, "auth") != 0)
		return fail(a, "expected auth");
	if (check_proof(a, in, a->want) == -1 || pull_init(a, in) == -1)
		return -1;
	a->state = AUTH_OPEN;
	return 0;
}

static void
mac(const uint8_t *key, const uint8_t *hdr, size_t hlen, const uint8_t *p,
    size_t plen, uint8_t *out)
{
	crypto_generichash_state st;

	(void)crypto_generichash_init(&st, key, AUTH_KEYLEN, AUTH_MACLEN);
	(void)crypto_generichash_update(&st, hdr, hlen);
	(void)crypto_generichash_update(&st, p, plen);
	(void)crypto_generichash_final(&st, out, AUTH_MACLEN);
}

static int
seal_mac(struct auth *a, struct buf *out, const struct frame *f)
{
	uint8_t	 m[AUTH_MACLEN];
	char	 hex[AUTH_MACLEN * 2 + 1];
	size_t	 start;

	/* seq= and mac= are keys too: the peer's parser counts them. */
	if (f->nkv > WIRE_KEYS_MAX - 2) {
		errno = EMSGSIZE;
		return -1;
	}
	start = buf_avail(out);
	if (wire_encode_head(out, f) == -1 ||
	    buf_printf(out, "seq=%llu\nlen=%zu\n",
	    (unsigned long long)a->seqtx, f->len) == -1)
		goto fail;
	mac(a->ktx, buf_ptr(out) + start, buf_avail(out) - start, f->payload,
	    f->len, m);
	(void)hex_encode(m, sizeof(m), hex, sizeof(hex));
	if (buf_printf(out, "mac=%s\n\n", hex) == -1 ||
	    buf_append(out, f->payload, f->len) == -1)
		goto fail;
	a->seqtx++;
	return 0;
fail:
	buf_truncate(out, start);
	return -1;
}

static int
seal_stream(struct auth *a, struct buf *out, const struct frame *f)
{
	size_t	 start, clen;

	buf_truncate(&a->tmp, 0);
	if (wire_encode(&a->tmp, f) == -1)
		return -1;
	clen = buf_avail(&a->tmp) + SS_ABYTES;
	start = buf_avail(out);
	if (buf_printf(out, WIRE_VERSION " sealed 0\nlen=%zu\n\n", clen) == -1 ||
	    buf_reserve(out, clen) == -1)
		goto fail;
	(void)crypto_secretstream_xchacha20poly1305_push(&a->sstx,
	    out->data + out->len, NULL, buf_ptr(&a->tmp), buf_avail(&a->tmp),
	    NULL, 0, 0);
	out->len += clen;
	return 0;
fail:
	buf_truncate(out, start);
	return -1;
}

/* Append f to out, authenticated (and encrypted if configured). */
int
auth_seal(struct auth *a, struct buf *out, const struct frame *f)
{
	if (a->state != AUTH_OPEN) {
		errno = ENOTCONN;
		return -1;
	}
	return a->conf->encrypt ? seal_stream(a, out, f) : seal_mac(a, out, f);
}

static int
open_mac(struct auth *a, struct frame *f)
{
	uint8_t	 want[AUTH_MACLEN], got[AUTH_MACLEN];
	uint64_t seq;
	char	 why[96];

	if (f->nkv == 0 || strcmp(f->kv[f->nkv - 1].key, "mac") != 0 ||
	    hex_decode(f->kv[f->nkv - 1].val, got, sizeof(got)) == -1)
		return fail(a, "frame without a MAC");
	mac(a->krx, f->raw, f->lastline, f->payload, f->len, want);
	if (sodium_memcmp(got, want, AUTH_MACLEN) != 0)
		return fail(a, "bad MAC (tampered or forged frame)");
	if (frame_getu64(f, "seq", &seq) == -1)
		return fail(a, "frame without a sequence number");
	if (seq != a->seqrx) {
		(void)snprintf(why, sizeof(why), "replayed or reordered frame "
		    "(seq %llu, expected %llu)", (unsigned long long)seq,
		    (unsigned long long)a->seqrx);
		return fail(a, why);
	}
	a->seqrx++;
	return 0;
}

static int
open_stream(struct auth *a, struct frame *f)
{
	struct wire_parser p;
	unsigned long long mlen;
	uint8_t		 tag;

	if (strcmp(f->op, "sealed") != 0 || f->len < SS_ABYTES)
		return fail(a, "unsealed frame on an encrypted connection");
	/* The outer header is not authenticated: it must be exactly ours. */
	if (f->txid != 0 || f->nkv != 0)
		return fail(a, "sealed frame with a forged outer header");
	buf_truncate(&a->plain, 0);
	if (buf_reserve(&a->plain, f->len - SS_ABYTES) == -1)
		return fail(a, "sealed frame too large");
	if (crypto_secretstream_xchacha20poly1305_pull(&a->ssrx,
	    a->plain.data + a->plain.len, &mlen, &tag, f->payload, f->len,
	    NULL, 0) != 0)
		return fail(a, "sealed frame fails to decrypt (tampered, "
		    "replayed or forged)");
	a->plain.len += (size_t)mlen;
	wire_parser_init(&p, a->conf->maxpayload);
	if (wire_parse(&p, buf_ptr(&a->plain), buf_avail(&a->plain), f) !=
	    WIRE_FRAME || wire_framelen(&p) != buf_avail(&a->plain))
		return fail(a, "sealed frame holds no valid frame");
	return 0;
}

/*
 * Check a frame received after the handshake.  With encryption, f is
 * replaced by the frame sealed inside it, valid until the next call.
 */
int
auth_open(struct auth *a, struct frame *f)
{
	if (a->state != AUTH_OPEN)
		return fail(a, "frame before the handshake ended");
	return a->conf->encrypt ? open_stream(a, f) : open_mac(a, f);
}
