/* strata application hooks: the public C interface for applications.
 *
 * An application is a struct strata_app with callbacks for the hooks it
 * cares about. Apps are registered at start-up in order; for each hook
 * they are asked in that order and the first verdict other than
 * STRATA_CONTINUE wins. Each hooked object (here a flow) carries a
 * context of flow_ctx_size bytes per app, zeroed at creation, that the
 * app may use as it likes until the object ends.
 *
 * Callbacks run on the lcore that owns the object, to completion: they
 * must not block.
 *
 * Objects: a flow (ip_flow, flow_end) lives on an rx/tx lcore; a
 * connection (ingress, egress, tunnel, conn_end) lives on the worker
 * that terminates it, with conn_ctx_size bytes of context per app. */
#ifndef STRATA_HOOKS_H
#define STRATA_HOOKS_H

#include <stddef.h>
#include <stdint.h>

struct dp_pkt_view;
struct strata_flow;

enum strata_verdict {
	STRATA_CONTINUE = 0, /* no opinion: ask the next app */
	STRATA_DROP,         /* drop every packet of the flow */
	STRATA_LOCAL,        /* strata answers itself (echo, unreachable) */
	STRATA_STACK,        /* deliver to the userspace TCP/UDP stack */
	STRATA_FORWARD,      /* send out of out_port unchanged (TTL-1); the
				flow's other direction goes back out of the
				port its first packet came in on */
};

struct strata_ip_flow_decision {
	enum strata_verdict verdict;
	uint16_t out_port;   /* STRATA_FORWARD: port index */
};

/* Read-only facts about a flow, for hooks. */
struct strata_flow_info {
	uint16_t in_port;          /* port index the first packet came on */
	uint8_t proto;             /* IPPROTO_* */
	uint8_t ip_version;
	const uint8_t *src, *dst;  /* 16 bytes each; IPv4 mapped ::ffff:a.b.c.d */
	uint16_t sport, dport;     /* host order; ICMP echo: id, 0 */
	int to_local;              /* destination is one of strata's addresses */
	uint64_t start_ns;
};

/* A TCP connection or UDP flow the userspace stack terminated. */
struct strata_conn_info {
	uint8_t proto;             /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t ip_version;
	uint16_t in_port;          /* port index the client came in on */
	const uint8_t *client;     /* 16 bytes; IPv4 mapped */
	const uint8_t *orig_dst;   /* where the client was going */
	uint16_t client_port, orig_dport;
	uint64_t start_ns;
	uint64_t metadata;         /* set by the ingress hook, for later hooks */
};

enum strata_ingress_verdict {
	STRATA_INGRESS_CONTINUE = 0, /* no opinion: ask the next app */
	STRATA_INGRESS_ACCEPT,       /* proxy it */
	STRATA_INGRESS_REJECT,       /* TCP RST / ICMP port unreachable */
};

struct strata_ingress_decision {
	enum strata_ingress_verdict verdict;
	uint64_t metadata;           /* copied into strata_conn_info */
};

enum strata_connector {
	STRATA_CONNECT_KERNEL = 0,   /* a kernel socket from the worker */
	STRATA_CONNECT_STACK,        /* lwIP, out of one of strata's ports */
};

/* Prefilled with the original destination; an app may rewrite it. */
struct strata_egress_decision {
	int decided;                 /* set non-zero to stop asking apps */
	enum strata_connector connector;
	uint8_t dst[16];             /* IPv4 mapped for IPv4 */
	uint16_t dport;
	/* Non-empty: connect to this name (resolved by strata's DNS, all
	 * its addresses tried with happy eyeballs) or address instead of
	 * dst. */
	char host[256];
};

/* What a tunnel hook may do from inside a callback. */
struct strata_tunnel_control {
	uint32_t idle_timeout_ms;    /* current value; write to change */
	int close;                   /* set non-zero to reset both sides */
};

/* Totals when a connection or UDP flow ends. */
struct strata_conn_end {
	uint64_t bytes_up, bytes_down;   /* client->upstream, back */
	uint64_t pkts_up, pkts_down;     /* UDP datagrams (0 for TCP) */
	const char *reason;              /* "done", "client_reset", ...,
					  * "http_service": the audit log's
					  * close reasons, docs/ARCHITECTURE.md */
};

/* ---- HTTP ----------------------------------------------------------
 * One request and its response (an "exchange") on an HTTP endpoint,
 * whatever the version. Heads are read and changed through the
 * functions below, valid only inside the hook calls. */
struct strata_http;

enum strata_http_verdict {
	STRATA_HTTP_CONTINUE = 0, /* no opinion: ask the next app */
	STRATA_HTTP_PASS,         /* proxy it as routed; stop asking */
	STRATA_HTTP_ANSWER,       /* strata answers with status and body */
	STRATA_HTTP_BLOCK,        /* answer (403 unless status), counted */
	STRATA_HTTP_ROUTE,        /* send to the upstream named below */
};

struct strata_http_decision {
	enum strata_http_verdict verdict;
	int status;                /* ANSWER/BLOCK; 0 = 200/403 */
	const char *body;          /* copied; NULL = a short default */
	size_t body_len;
	const char *content_type;  /* NULL = text/plain */
	char upstream[32];         /* ROUTE: an upstream's name */
};

/* Facts about the client side, for every HTTP hook. */
struct strata_http_info {
	const char *endpoint;      /* the endpoint's name */
	const uint8_t *client;     /* 16 bytes, IPv4 mapped: the PROXY
				      protocol's source when one came */
	uint16_t client_port;
	int proxied;               /* client came from a PROXY header */
	int tls;
	const char *sni, *alpn;    /* NULL when none */
	int client_cert_verified;  /* mTLS: a certificate that chained */
	const char *client_subject, *client_sans, *client_fingerprint;
	const char *tunnel_target; /* inside a CONNECT: its authority */
	int inspected;             /* plaintext of TLS strata opened */
};

const struct strata_http_info *strata_http_info(const struct strata_http *h);
/* The request: method, path ("/x?y"; NULL for CONNECT), authority
 * ("host[:port]"), scheme (NULL when unknown). */
const char *strata_http_method(const struct strata_http *h);
const char *strata_http_path(const struct strata_http *h);
const char *strata_http_authority(const struct strata_http *h);
const char *strata_http_scheme(const struct strata_http *h);
int strata_http_set_path(struct strata_http *h, const char *path);
/* Response status (in http_response and later; 0 before). */
int strata_http_status(const struct strata_http *h);
/* Fields of the request (response = 0) or the response (1): names are
 * case-insensitive; set replaces every field of that name. 0 or -1. */
const char *strata_http_header(const struct strata_http *h, int response,
			       const char *name);
int strata_http_set_header(struct strata_http *h, int response,
			   const char *name, const char *value);
int strata_http_del_header(struct strata_http *h, int response,
			   const char *name);
/* Trailer fields of the request (response = 0) or the response (1),
 * known only in that body hook's last call (http_request_body or
 * http_response_body with end set: an app that wants trailers has that
 * hook). There they are what the peer sent (less the fields a trailer
 * may not carry) with the changes of the apps asked before, and they go
 * out once the hooks returned; elsewhere the getter gives NULL. Names
 * are case-insensitive; set replaces every field of that name, del
 * removes them. Both return 0 or a negated errno value (errno.h):
 *   -ENOENT   not in that body hook's last call;
 *   -ENOTSUP  set: the message cannot carry trailers (HTTP/1.1 with a
 *             Content-Length, HTTP/1.0, no body);
 *   -EPERM    set: a field trailers may not carry (RFC 9110 6.5.1):
 *             framing, routing, connection and content-type/-encoding/
 *             -range fields, pseudo-headers;
 *   -EINVAL   set: name not a token, or value with control characters
 *             (CR, LF, NUL) or surrounding spaces;
 *   -ENOMEM   set. */
const char *strata_http_trailer(const struct strata_http *h, int response,
				const char *name);
int strata_http_set_trailer(struct strata_http *h, int response,
			    const char *name, const char *value);
int strata_http_del_trailer(struct strata_http *h, int response,
			    const char *name);

struct strata_app {
	const char *name;
	size_t flow_ctx_size;
	void *app_data;       /* passed back as `app` */
	size_t conn_ctx_size; /* per connection, for the L4 hooks */

	/* ip_flow: once per new flow, with the first packet's view. */
	void (*ip_flow)(void *app, const struct strata_flow_info *f,
			const struct dp_pkt_view *first_pkt, void *flow_ctx,
			struct strata_ip_flow_decision *d);
	/* flow_end: when the flow expires or is evicted; counters final. */
	void (*flow_end)(void *app, const struct strata_flow_info *f,
			 void *flow_ctx, uint64_t pkts, uint64_t bytes);

	/* ingress: a new TCP connection (at its SYN, before strata answers)
	 * or UDP flow reached the stack. */
	void (*ingress)(void *app, const struct strata_conn_info *c,
			void *conn_ctx, struct strata_ingress_decision *d);
	/* egress: choose the connector and destination. */
	void (*egress)(void *app, const struct strata_conn_info *c,
		       void *conn_ctx, struct strata_egress_decision *d);
	/* tunnel: bytes copied in direction dir (0 client->upstream,
	 * 1 back); data is valid only during the call. */
	void (*tunnel)(void *app, const struct strata_conn_info *c,
		       void *conn_ctx, int dir, const uint8_t *data,
		       size_t len, struct strata_tunnel_control *ctl);
	/* conn_end: the connection or UDP flow is gone. */
	void (*conn_end)(void *app, const struct strata_conn_info *c,
			 void *conn_ctx, const struct strata_conn_end *e);

	size_t http_ctx_size;  /* per exchange, for the HTTP hooks */
	/* http_request: the request head arrived (before any routing). */
	void (*http_request)(void *app, struct strata_http *h, void *http_ctx,
			     struct strata_http_decision *d);
	/* http_request_body: the request body as it streams by, in chunks,
	 * then once with end set and len 0 when it ended (its trailers are
	 * known then: strata_http_trailer). ANSWER or BLOCK here answers if
	 * no response has started, and drops the upstream. */
	void (*http_request_body)(void *app, struct strata_http *h,
				  void *http_ctx, const uint8_t *data,
				  size_t len, int end,
				  struct strata_http_decision *d);
	/* http_response: the response head, before it goes to the client
	 * (also for answers strata makes itself). */
	void (*http_response)(void *app, struct strata_http *h, void *http_ctx);
	/* http_response_body: the same for the response body. */
	void (*http_response_body)(void *app, struct strata_http *h,
				   void *http_ctx, const uint8_t *data,
				   size_t len, int end);
	/* http_end: the exchange is over (status 0: no response was sent);
	 * free what the context holds. */
	void (*http_end)(void *app, struct strata_http *h, void *http_ctx,
			 int status, uint64_t bytes_up, uint64_t bytes_down);
};

/* Register before `strata run`/`strata pcap` starts the dataplane.
 * Returns 0, or -1 when too many apps are registered. */
int strata_app_register(const struct strata_app *app);

#endif
