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

#ifndef CL_AUTH_H
#define CL_AUTH_H

#include <stdint.h>

#include <sodium.h>

#include "buf.h"
#include "wire.h"

#define AUTH_KEYLEN	32		/* bytes, the cluster key */
#define AUTH_NONCELEN	32		/* bytes */
#define AUTH_MACLEN	32		/* bytes */
#define AUTH_CONFIDLEN	16		/* hex characters */

/* What this node proves and expects; shared by all its connections. */
struct auth_conf {
	char		 cluster[64];
	uint8_t		 key[AUTH_KEYLEN];
	uint32_t	 self;
	uint64_t	 inc;		/* this process's incarnation */
	int		 encrypt;
	char		 confid[AUTH_CONFIDLEN + 1];
	size_t		 maxpayload;
};

enum auth_state {
	AUTH_CLIENT_WAIT,	/* client sent hello, waits for the server's */
	AUTH_CLIENT_VERIFY,	/* client proved, waits for the server's proof */
	AUTH_SERVER_WAIT,	/* server waits for the client's hello */
	AUTH_SERVER_PROVE,	/* server answered, waits for the proof */
	AUTH_OPEN,
	AUTH_FAILED
};

struct auth {
	const struct auth_conf *conf;
	enum auth_state	 state;
	uint32_t	 peer;
	uint64_t	 peer_inc;
	uint8_t		 nonce[AUTH_NONCELEN];
	uint8_t		 pnonce[AUTH_NONCELEN];
	uint8_t		 ktx[AUTH_KEYLEN];
	uint8_t		 krx[AUTH_KEYLEN];
	uint8_t		 want[AUTH_MACLEN];	/* the peer's proof */
	uint64_t	 seqtx;
	uint64_t	 seqrx;
	crypto_secretstream_xchacha20poly1305_state sstx;
	crypto_secretstream_xchacha20poly1305_state ssrx;
	struct buf	 plain;		/* decrypted frame (encrypt only) */
	struct buf	 tmp;		/* frame before encryption */
	char		 err[160];
};

int	 auth_init(void);
int	 auth_loadkey(const char *, uint8_t *, char *, size_t);
int	 auth_keygen(const char *, char *, size_t);
/* What sealing adds to a frame: the inner header and the tag. */
#define AUTH_SEAL_OVERHEAD \
	(WIRE_HDR_MAX + crypto_secretstream_xchacha20poly1305_ABYTES)

void	 auth_confid(const char *, char *);
struct cl_conf;
void	 auth_confid_conf(const struct cl_conf *, char *);

void	 auth_new(struct auth *, const struct auth_conf *, int);
void	 auth_free(struct auth *);
int	 auth_client_hello(struct auth *, struct frame *);
int	 auth_server_hello(struct auth *, const struct frame *, struct frame *);
int	 auth_client_prove(struct auth *, const struct frame *,
	    struct frame *);
int	 auth_server_finish(struct auth *, const struct frame *,
	    struct frame *);
int	 auth_client_finish(struct auth *, const struct frame *);
int	 auth_seal(struct auth *, struct buf *, const struct frame *);
int	 auth_open(struct auth *, struct frame *);

int	 hex_encode(const uint8_t *, size_t, char *, size_t);
int	 hex_decode(const char *, uint8_t *, size_t);

#endif /* CL_AUTH_H */
