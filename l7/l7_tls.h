/* TLS on BoringSSL as a stream over a stream.
 *
 * l7_tls_server() and l7_tls_client() take a transport stream (lwIP, a
 * kernel socket, an in-memory pair) and return a stream of plaintext
 * with the semantics of stk_stream.h; the TLS stream owns the transport
 * and closes or aborts it with itself. BoringSSL never sees a socket:
 * records go through memory BIOs, so the engine is sans-IO.
 *
 *   - STK_EV_CONNECTED once the handshake completed, on both sides
 *     (with READABLE when application data already came with it, and
 *     WRITABLE when a write() was refused meanwhile). read() and write()
 *     before that drive the handshake and return -EAGAIN.
 *   - A new stream does not look at its transport until read() or
 *     write() is called or the transport raises an event: like any new
 *     stream, call read() once (the ClientHello may already wait).
 *   - Errors: STK_EV_ERROR (or a negative return from the call that hit
 *     it) with s->error EPROTO (TLS) or the transport's errno (usually
 *     ECONNRESET); l7_tls_error_cause() names why, from L7_TLS_CAUSES.
 *   - shutdown() sends close_notify, then shuts the transport's write
 *     side once it is out. read() returns 0 on close_notify, and on the
 *     transport's end of stream without one (info->truncated is set).
 *   - Bounded: write() takes at most one record's worth and only while
 *     nothing is waiting for the transport (else -EAGAIN, then
 *     WRITABLE); the transport is read only when BoringSSL needs bytes.
 *   - close() sends close_notify and lingers until it and what was
 *     written are taken by the transport, then closes the transport.
 *     Nothing times a lingering stream out but its transport (which
 *     may wait forever on a peer that stops reading), so a ctx keeps at
 *     most L7_TLS_MAX_LINGER of them: past that, close() aborts.
 *
 * A ctx is read-only once built except for its counters (relaxed atomic
 * adds) and its caches (under a lock): workers may share one. A ctx
 * must outlive the streams made from it. */
#ifndef STRATA_L7_TLS_H
#define STRATA_L7_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack/stk_stream.h"

enum { L7_TLS_1_2 = 0x0303, L7_TLS_1_3 = 0x0304 };

enum l7_tls_client_auth {
	L7_TLS_CLIENT_AUTH_NONE = 0,
	L7_TLS_CLIENT_AUTH_OPTIONAL,   /* a cert, if sent, must verify */
	L7_TLS_CLIENT_AUTH_REQUIRED,
};

struct l7_tls_cert_conf {
	const char *cert_file;         /* PEM chain, leaf first */
	const char *key_file;          /* PEM private key */
	/* SNI names served with it, exact or "*.example.com"; none: the
	 * DNS names of its subjectAltName (or CN when it has none). */
	const char *const *names;
	size_t n_names;
};

struct l7_tls_server_conf {
	/* The first is the default (no SNI, or no name matches). Not
	 * needed with inspection. */
	const struct l7_tls_cert_conf *certs;
	size_t n_certs;
	const char *const *alpn;       /* our preference order; none: no ALPN */
	size_t n_alpn;
	uint16_t min_version, max_version; /* L7_TLS_1_x; 0: 1.2 and 1.3 */
	enum l7_tls_client_auth client_auth;
	const char *client_ca_file;    /* needed unless client_auth is NONE */
	/* Inspection: mint a leaf for each SNI, signed by this CA. */
	const char *inspect_ca_cert, *inspect_ca_key;
	size_t inspect_cache;          /* leaves kept; 0: 1024 */
	/* 48 bytes (name, HMAC and AES keys) to share tickets across ctxs
	 * or processes; NULL: a random key of this ctx. */
	const char *ticket_key_file;
	bool no_tickets;               /* TLS 1.2 then resumes by session id */
	uint32_t session_timeout;      /* seconds; 0: BoringSSL's default */
};

struct l7_tls_client_conf {
	const char *ca_file;           /* NULL: the system bundle */
	bool insecure;                 /* no verification (tests) */
	const char *const *alpn;       /* offered, in order */
	size_t n_alpn;
	uint16_t min_version, max_version;
	const char *cert_file, *key_file; /* optional client certificate */
	bool no_session_reuse;         /* else sessions kept per server name */
};

/* Why handshakes or streams failed: one counter each. */
#define L7_TLS_CAUSES(X)                                              \
	X(HANDSHAKE_FAILED, "handshake_failed")                      \
	X(CERT_VERIFY_FAILED, "cert_verify_failed")                  \
	X(NO_CLIENT_CERT, "no_client_cert")                          \
	X(NO_SHARED_ALPN, "no_shared_alpn")                          \
	X(NO_SHARED_VERSION, "no_shared_version")                    \
	X(NO_SHARED_CIPHER, "no_shared_cipher")                      \
	X(NO_SNI, "no_sni")                                          \
	X(BAD_SNI, "bad_sni")                                        \
	X(MINT_FAILED, "mint_failed")                                \
	X(PEER_ALERT, "peer_alert")                                  \
	X(PROTOCOL_ERROR, "protocol_error")                          \
	X(TRANSPORT_EOF, "transport_eof")                            \
	X(TRANSPORT_ERROR, "transport_error")                        \
	X(NO_MEMORY, "no_memory")

enum l7_tls_cause {
#define L7_TLS_CAUSE_ENUM(n, s) L7_TLS_##n,
	L7_TLS_CAUSES(L7_TLS_CAUSE_ENUM)
#undef L7_TLS_CAUSE_ENUM
	L7_TLS_CAUSE__COUNT
};

#define L7_TLS_MAX_LINGER 4096

struct l7_tls_counters {
	uint64_t handshakes;           /* completed */
	uint64_t resumed;              /* of which resumed */
	uint64_t failed[L7_TLS_CAUSE__COUNT]; /* before completion */
	uint64_t errors[L7_TLS_CAUSE__COUNT]; /* after completion */
	uint64_t truncated;            /* EOF without close_notify */
	uint64_t mint_hits, mint_misses; /* inspection's leaf cache */
	uint64_t lingering;            /* now: closed, bytes not yet out */
	uint64_t linger_aborted;       /* close() aborted: too many linger */
};

struct l7_tls_ctx;

/* NULL with a message naming the file and the problem in err. */
struct l7_tls_ctx *l7_tls_ctx_server_new(const struct l7_tls_server_conf *c,
					 char *err, size_t errlen);
struct l7_tls_ctx *l7_tls_ctx_client_new(const struct l7_tls_client_conf *c,
					 char *err, size_t errlen);
void l7_tls_ctx_free(struct l7_tls_ctx *ctx);
const struct l7_tls_counters *l7_tls_ctx_counters(const struct l7_tls_ctx *ctx);

/* NULL (errno ENOMEM or EINVAL) and the transport untouched on failure.
 * The server waits for the ClientHello: a transport event, or read(). */
struct stk_stream *l7_tls_server(struct stk_stream *transport,
				 struct l7_tls_ctx *ctx);
/* Sends the ClientHello at once. name: the server's host name or IP
 * literal: verified against its certificate, sent as SNI when it is a
 * host name, and the key of the session cache; NULL only with an
 * insecure ctx. A failure while this runs (a dead transport, or an
 * in-memory peer answering inside it) comes from the first read() or
 * write(), there being no callback yet to tell. */
struct stk_stream *l7_tls_client(struct stk_stream *transport,
				 struct l7_tls_ctx *ctx, const char *name);

/* Inspection without SNI: the name to mint for (the original
 * destination's address, say). Call before the first read(). */
int l7_tls_set_default_name(struct stk_stream *s, const char *name);

struct l7_tls_peer_cert {
	const char *subject;           /* RFC 2253 */
	const char *issuer;
	const char *const *sans;       /* "DNS:a.b", "IP:10.0.0.1", "email:",
					  "URI:"; unprintable bytes as '?' */
	size_t n_sans;
	char sha256[65];               /* lowercase hex of the DER */
};

struct l7_tls_info {
	const char *sni;               /* server: as sent, lowercase, no final
					  dot; client: the name given */
	const char *alpn;              /* NULL: none negotiated */
	const char *version;           /* "TLSv1.3" */
	const char *cipher;
	bool connected;                /* the rest is valid only then */
	bool resumed;
	bool has_peer_cert;
	bool verified;                 /* peer cert verified (chain, name) */
	bool truncated;                /* EOF came without close_notify */
	uint8_t alert;                 /* last fatal alert received, 0: none */
	struct l7_tls_peer_cert peer;
};

/* s must be a TLS stream; valid until it is closed. */
const struct l7_tls_info *l7_tls_info(struct stk_stream *s);
const char *l7_tls_error_cause(struct stk_stream *s); /* NULL: no error */
const char *l7_tls_cause_name(enum l7_tls_cause c);
bool l7_tls_is_tls(const struct stk_stream *s);

#endif
