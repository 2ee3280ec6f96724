/* HTTP messages and exchanges, whatever version carries them.
 *
 * The HTTP engines (HTTP/1.1 in l7_h1_*, HTTP/2 in l7_h2_*) run over a
 * byte stream (struct stk_stream: an lwIP pcb, a kernel socket, a TLS
 * stream, or an in-memory pair in tests) and present the same thing to
 * the proxy above them:
 *
 *   - a connection (struct l7_conn), server or client side;
 *   - exchanges (struct l7_exchange): one request and its response.
 *     An exchange's body is itself a stk_stream: read() gives the peer's
 *     body bytes (de-chunked, de-framed; 0 at its end), write() sends
 *     ours, shutdown() ends ours, close() is "done with this exchange",
 *     abort() resets it (RST_STREAM on HTTP/2; on HTTP/1.1 the whole
 *     connection, there being no other way). So the same stk_tunnel that
 *     joins two TCP streams joins a request body to an upstream, and a
 *     CONNECT exchange to a TCP connection.
 *
 * Heads (struct l7_head) are version-neutral: the request line or the
 * pseudo-headers live in named slots; fields hold the rest with names
 * lowercased. Engines keep framing and hop-by-hop fields out of `fields`
 * (Connection and what it names, Keep-Alive, Proxy-Connection,
 * Transfer-Encoding, TE, Upgrade, Content-Length, Host; but HTTP/2's
 * "te: trailers", the one TE it allows, stays: gRPC servers want to see
 * that the client takes trailers) and write their
 * own when they serialise: Host comes from authority, Content-Length
 * from content_length, chunking when the length is unknown.
 *
 * Trailer fields travel beside the body: an exchange's trailers_in are
 * the peer's (HTTP/1.1 chunked trailers, HTTP/2 trailing HEADERS),
 * complete once read() returned 0; fields put in trailers_out before
 * shutdown() go out with the body's end (HTTP/2 always; HTTP/1.1 only
 * on a chunked body, there being no place for them otherwise). Engines
 * leave out of trailers_in the fields that may not come from trailers
 * (l7_trailer_forbidden).
 *
 * After a 2xx answer to CONNECT (or 101 to an HTTP/1.1 Upgrade, or a
 * 2xx to an HTTP/2 extended CONNECT) the exchange's body carries the
 * tunnel's raw bytes both ways.
 *
 * Flow control follows the consumer: an engine takes no more of the
 * peer's body than it can hold (HTTP/2: the stream window opens only as
 * read() consumes; HTTP/1.1: the transport is not read), and write()
 * returns -EAGAIN once its send buffer for the exchange is full, then
 * STK_EV_WRITABLE follows.
 *
 * Everything runs on the owning worker; callbacks may call back into
 * the engine (including close and abort). */
#ifndef STRATA_L7_HTTP_H
#define STRATA_L7_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack/stk_stream.h"

/* ---- Heads ---------------------------------------------------------- */

struct l7_field {
	char *name;                /* lowercase, NUL-terminated */
	char *value;               /* NUL-terminated, no surrounding OWS */
	uint32_t name_len, value_len;
};

struct l7_head {
	/* Request. method is upper case as sent. authority is Host (HTTP/1)
	 * or :authority (HTTP/2): "host[:port]". path is origin-form
	 * ("/x?y"), "*" for OPTIONS *, NULL for CONNECT. scheme is "http" or
	 * "https" when known (absolute-form, :scheme), else NULL. protocol
	 * is HTTP/2 extended CONNECT's :protocol, or HTTP/1.1's Upgrade
	 * value; NULL otherwise. All NULL in a response. */
	char *method, *scheme, *authority, *path, *protocol;
	int status;                /* response: 100..599; request: 0 */
	int64_t content_length;    /* -1: none given (chunked, or to EOF) */
	uint8_t version;           /* 10, 11 or 20: what the peer spoke */
	bool absolute_form;        /* HTTP/1.1 request-target was absolute */
	struct l7_field *fields;
	size_t nfields, cap;
	struct l7_head_mem *mem;   /* where field names and values live */
};

/* Empty (a dozen times per request: inline). */
static inline void l7_head_init(struct l7_head *h)
{
	*h = (struct l7_head){ .content_length = -1 };
}

/* Frees contents; h reusable. A head moves by assignment (then init the
 * source): its fields' strings go with it. */
void l7_head_free(struct l7_head *h);
/* Deep copy; 0 or -ENOMEM. dst must be initialised (it is cleared). */
int l7_head_copy(struct l7_head *dst, const struct l7_head *src);

/* Set a slot (method, scheme, ...) to a copy of v[0..len); v NULL clears
 * it. 0 or -ENOMEM. */
int l7_head_set_slot(char **slot, const char *v, size_t len);

/* Append a field (name is lowercased); 0 or -ENOMEM. */
int l7_head_add(struct l7_head *h, const char *name, size_t name_len,
		const char *value, size_t value_len);
/* First value of name (case-insensitive) or NULL; *len if non-NULL. */
const char *l7_head_get(const struct l7_head *h, const char *name,
			size_t *len);
/* Is f's name one of names (lowercase, NULL-terminated; any case in f)? */
bool l7_field_in(const struct l7_field *f, const char *const *names);
/* Remove every field called name; returns how many. (Their bytes stay
 * with h until l7_head_free.) */
size_t l7_head_del(struct l7_head *h, const char *name);
/* Replace all fields called name with one; 0 or -ENOMEM. */
int l7_head_set(struct l7_head *h, const char *name, const char *value);

/* The reason phrase for a status ("" for unknown ones). */
const char *l7_reason_phrase(int status);
/* v in base 10 or 16 (lowercase) into buf, NUL-terminated: its length.
 * Status codes and lengths in heads, without the printf machinery. */
#define L7_U64_STR_MAX 21
size_t l7_u64_str(char buf[L7_U64_STR_MAX], uint64_t v, unsigned base);

/* Does authority ("host[:port]", "[v6]:port") name pattern's host?
 * pattern: "" (any), "example.org" or "*.example.org" (subdomains
 * only); any case, the port ignored. */
bool l7_host_matches(const char *pattern, const char *authority);

/* Framing, routing and connection fields, which a trailer section must
 * not carry (RFC 9110 6.5.1): engines drop them from received ones. */
bool l7_trailer_forbidden(const char *name, size_t len);
/* Set trailer field name in t to value, replacing every field of that
 * name: 0; -EPERM when a trailer may not carry name
 * (l7_trailer_forbidden); -EINVAL when name is empty or not a token, or
 * value holds a control character other than tab (CR, LF, NUL, ...) or
 * starts or ends with a space or tab; -ENOMEM. */
int l7_trailer_set(struct l7_head *t, const char *name, const char *value);

/* Does a comma-separated field value list contain token (any case)? */
bool l7_token_list_has(const char *list, size_t len, const char *token);

/* ---- Connections and exchanges -------------------------------------- */

/* Delivered through the exchange body's callback, beside STK_EV_*:
 * client side, the response head is in x->head (interim 1xx answers are
 * consumed by the engine and never delivered). */
#define L7_EV_HEAD (1u << 8)

struct l7_exchange;
struct l7_conn;

struct l7_exchange_ops {
	/* Server side: send the response head (status 101..599; 100 is
	 * sent by the engine itself when the body is first read after
	 * Expect: 100-continue). end: no body follows. Once. 0 or -errno. */
	int (*send_head)(struct l7_exchange *x, const struct l7_head *h,
			 bool end);
};

struct l7_exchange {
	struct stk_stream body;    /* see the top of this file */
	const struct l7_exchange_ops *xops;
	struct l7_conn *conn;
	/* Server side: the request, complete when the exchange is handed
	 * over; the consumer may change it in place, or take it (then init
	 * it): the engine keeps what it needs of it. Client side: the response
	 * once L7_EV_HEAD was delivered (status 0 before); the engine no
	 * longer uses it then, so the consumer may take it. */
	struct l7_head head;
	uint32_t stream_id;        /* HTTP/2 stream id; HTTP/1: 1, 2, ... */
	void *user;                /* for the proxy */
	struct l7_head trailers_in, trailers_out; /* fields only */
};

/* The proxy joins exchanges by their body streams and finds the
 * exchange back from the stream. */
_Static_assert(offsetof(struct l7_exchange, body) == 0,
	       "an exchange starts with its body stream");

/* For engines: an exchange's heads, empty, and their end. */
static inline void l7_exchange_heads_init(struct l7_exchange *x)
{
	l7_head_init(&x->head);
	l7_head_init(&x->trailers_in);
	l7_head_init(&x->trailers_out);
}

static inline void l7_exchange_heads_free(struct l7_exchange *x)
{
	l7_head_free(&x->head);
	l7_head_free(&x->trailers_in);
	l7_head_free(&x->trailers_out);
}

static inline int l7_send_head(struct l7_exchange *x, const struct l7_head *h,
			       bool end)
{
	return x->xops->send_head(x, h, end);
}

struct l7_conn_cb {
	/* Server side: a request head arrived; the exchange belongs to the
	 * proxy until it closes or aborts x->body. */
	void (*exchange)(void *arg, struct l7_exchange *x);
	/* The engine refused the peer's bytes: status (400, 413, 431, ...)
	 * was already sent on the server side (with a short body naming
	 * cause), or, client side, status is 502 and the upstream spoke
	 * nonsense. cause is a static token like "bad_header_name", for
	 * logs and counters. */
	void (*rejected)(void *arg, struct l7_conn *c, int status,
			 const char *cause);
	/* available() may have grown (an HTTP/1.1 upstream connection went
	 * idle, an HTTP/2 stream ended): pools use this. Optional. */
	void (*ready)(void *arg, struct l7_conn *c);
	/* The connection is finished: transport closed or reset, GOAWAY
	 * drained, or a fatal protocol error. Exchanges still open got
	 * STK_EV_ERROR before this. c is freed when closed returns. error is
	 * 0 for an orderly end, else a positive errno. */
	void (*closed)(void *arg, struct l7_conn *c, int error);
};

struct l7_conn_ops {
	/* Client side: start a request. The engine copies what it needs of
	 * req. end: no request body. The exchange's callback should be set
	 * at once (stk_stream_set_cb) before returning to the loop. NULL
	 * with errno set when available() is 0 or memory ran out. */
	struct l7_exchange *(*request)(struct l7_conn *c,
				       const struct l7_head *req, bool end);
	/* How many more requests request() takes now: HTTP/1.1 client 1
	 * when idle and reusable, else 0; HTTP/2 the peer's stream limit
	 * minus streams open, 0 after GOAWAY. Server side 0. */
	unsigned (*available)(struct l7_conn *c);
	/* Graceful: no new exchanges (GOAWAY; HTTP/1.1 "Connection: close"
	 * on the next response, or close when idle); open ones finish, then
	 * closed() is called. */
	void (*shutdown)(struct l7_conn *c);
	/* Now: reset the transport; open exchanges get STK_EV_ERROR; then
	 * closed(). */
	void (*abort)(struct l7_conn *c);
};

struct l7_conn {
	const struct l7_conn_ops *ops;
	const struct l7_conn_cb *cb;
	void *arg;
	uint8_t version;           /* 11 or 20 */
	bool client;
};

/* Limits an engine enforces on the peer (0 = the default shown). */
struct l7_limits {
	uint32_t max_head_bytes;     /* 65536: request/status line + fields */
	uint32_t max_fields;         /* 100 */
	uint32_t max_streams;        /* 100: HTTP/2 concurrent streams */
	uint32_t stream_window;      /* 65535: HTTP/2 per-stream window */
	uint32_t send_buffer;        /* 65536: write() room per exchange */
};

/* Engines. Each takes ownership of the transport (closes or aborts it
 * before closed()). */
struct l7_conn *l7_h1_server(struct stk_stream *t, const struct l7_conn_cb *cb,
			     void *arg, const struct l7_limits *lim);
struct l7_conn *l7_h1_client(struct stk_stream *t, const struct l7_conn_cb *cb,
			     void *arg, const struct l7_limits *lim);
struct l7_conn *l7_h2_server(struct stk_stream *t, const struct l7_conn_cb *cb,
			     void *arg, const struct l7_limits *lim);
struct l7_conn *l7_h2_client(struct stk_stream *t, const struct l7_conn_cb *cb,
			     void *arg, const struct l7_limits *lim);

static inline struct l7_exchange *l7_request(struct l7_conn *c,
					     const struct l7_head *req,
					     bool end)
{
	return c->ops->request(c, req, end);
}

static inline unsigned l7_available(struct l7_conn *c)
{
	return c->ops->available(c);
}

#endif
