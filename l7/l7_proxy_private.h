/* Internals of the HTTP proxy, shared by its files:
 *   l7_service.c  the service on each worker: listeners, timers, stats
 *   l7_accept.c   a client connection until it speaks HTTP (PROXY
 *                 header, TLS, protocol choice), then its engine
 *   l7_proxy.c    one exchange: hooks, routing, answers, splicing
 *   l7_pool.c     upstream connections: dialing, TLS, reuse, health */
#ifndef STRATA_L7_PROXY_PRIVATE_H
#define STRATA_L7_PROXY_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf/conf.h"
#include "include/strata/hooks.h"
#include "l7/l7_http.h"
#include "l7/l7_proxy.h"
#include "stack/stk_dial.h"
#include "stack/stk_loop.h"
#include "stack/stk_tunnel.h"
#include "stack/stk_worker.h"

/* The exchange object is what hooks see as struct strata_http. */
#define l7_req strata_http

#define L7_COUNTERS(X)                                                   \
	X(conns)                /* client connections accepted */        \
	X(conns_active)         /* gauge */                                \
	X(requests)             /* request heads received */              \
	X(responses_2xx) X(responses_3xx) X(responses_4xx)                \
	X(responses_5xx) X(responses_1xx)                                 \
	X(tunnels)              /* CONNECT and Upgrade tunnels opened */    \
	X(upstream_conns)       /* upstream connections opened */          \
	X(upstream_reused)      /* requests on a pooled connection */      \
	X(retries)              /* idempotent requests retried */          \
	X(pp_accepted)          /* PROXY protocol headers taken */          \
	X(pp_rejected)          /* connections with a bad PROXY header */   \
	X(tls_handshakes)       /* client TLS handshakes completed */       \
	X(tls_resumed)          /* ...of which resumed a session */         \
	X(tls_failed)           /* client TLS handshakes that failed */     \
	X(header_timeouts)      /* clients that sent no request in time */  \
	X(passthrough)          /* intercepted flows that were not HTTP */  \
	X(idle_timeouts)        /* idle client connections closed */        \
	X(accept_errors)        /* accept() failures other than EAGAIN */

/* Why strata answered a request itself (counted, and named in the
 * body of the answer). */
#define L7_ERRORS(X)                                                     \
	X(bad_request, 400)      /* the engine refused the request */      \
	X(blocked, 403)          /* an app blocked it */                    \
	X(no_route, 404)         /* no route for host and path */          \
	X(method_not_allowed, 405) /* CONNECT/absolute-form, not forward */\
	X(upstream_connect_failed, 502)                                    \
	X(upstream_reset, 502)   /* upstream closed before answering */    \
	X(upstream_bad_response, 502)                                      \
	X(upstream_tls_failed, 502)                                        \
	X(upstream_unavailable, 503) /* every server is marked down */     \
	X(upstream_timeout, 504) /* no response head or free conn in time */ \
	X(connect_failed, 502)   /* CONNECT target unreachable */          \
	X(connect_timeout, 504)                                            \
	X(dns_failed, 502)       /* the target name did not resolve */      \
	X(no_memory, 503)

enum l7_error {
#define L7_ERR_ENUM(n, s) L7_ERR_##n,
	L7_ERRORS(L7_ERR_ENUM)
#undef L7_ERR_ENUM
	L7_ERR__COUNT
};

struct l7_counters {
#define L7_CTR_FIELD(n) uint64_t n;
	L7_COUNTERS(L7_CTR_FIELD)
#undef L7_CTR_FIELD
	uint64_t errors[L7_ERR__COUNT];
	uint64_t rejected_by_engine;     /* 400s from the parsers */
};

struct l7_tls_ctx;

/* Process-wide, read-only once the workers run. */
struct l7_runtime {
	const struct conf *conf;
	struct l7_tls_ctx *ep_tls[CONF_MAX_ENDPOINTS];      /* NULL: plain */
	struct l7_tls_ctx *ep_inspect[CONF_MAX_ENDPOINTS];  /* minting CA */
	struct l7_tls_ctx *up_tls[CONF_MAX_UPSTREAMS];
	/* to origins that forward requests name over https (inspected
	 * CONNECTs, absolute-form https://) */
	struct l7_tls_ctx *origin_tls[CONF_MAX_ENDPOINTS];
};

struct l7_listener {
	struct stk_loop_fd lfd;
	struct l7_worker *w;
	unsigned ep;                     /* endpoint index */
	struct l7_listener *next;
};

struct l7_pool;
struct l7_req;

struct l7_worker {
	struct l7_runtime *rt;
	const struct conf *conf;
	struct stk_loop *loop;
	struct stk_dialer *dialer;
	unsigned idx;
	struct l7_listener *listeners;
	struct l7_client *clients;       /* every client connection */
	struct l7_req *reqs;             /* every exchange in progress */
	struct l7_req *dead_reqs;        /* freed at the next poll */
	struct l7_client *dead_clients;
	struct l7_pool *pools;           /* configured, then dynamic ones */
	uint64_t next_sweep_ns;
	struct l7_counters ctr;
};

/* A client connection. */
enum l7_client_phase {
	L7_CL_PP, L7_CL_TLS, L7_CL_SNIFF, L7_CL_HTTP,
};

struct l7_client {
	struct l7_worker *w;
	struct l7_client *prev, *next;
	unsigned ep;
	enum l7_client_phase phase;
	struct stk_stream *s;            /* what the next phase reads */
	struct l7_conn *conn;            /* the engine, in L7_CL_HTTP */
	struct strata_http_info info;    /* for hooks */
	union dp_addr client;            /* PROXY source when given */
	char client_ip[INET6_ADDRSTRLEN + 2]; /* client formatted, "" until
					       * the first request */
	char sni[256], alpn[32];
	char *client_subject, *client_sans, *client_fp;
	char *tunnel_target;             /* inside a CONNECT: its target */
	struct l7_req *parent;           /* ...and its exchange */
	unsigned active;                 /* exchanges open */
	uint64_t deadline_ns;            /* header or idle timeout */
	bool intercepted;                /* proxied TCP read as HTTP: what is
					  * not HTTP passes through */
	struct stk_stream *up;           /* intercepted: its upstream while
					  * sniffing */
	struct stk_conn *l4;             /* intercepted: the L4 proxy's
					  * record, passed back or released */
	uint8_t buf[4096 + 16];          /* PROXY header / sniffing */
	size_t buf_len;
	bool dead;
};

/* One exchange from the client side. */
enum l7_req_state {
	L7_REQ_NEW,
	L7_REQ_UPSTREAM,                 /* waiting for a pool connection */
	L7_REQ_WAIT_HEAD,                /* request sent, response head due */
	L7_REQ_STREAMING,                /* bodies flowing both ways */
	L7_REQ_CONNECTING,               /* CONNECT: dialing the target */
	L7_REQ_SNIFF,                    /* CONNECT: what does it carry? */
	L7_REQ_TUNNEL,                   /* CONNECT / Upgrade tunnel */
	L7_REQ_ANSWER,                   /* strata's own answer going out */
	L7_REQ_DONE,
};

struct strata_http {
	struct l7_worker *w;
	struct l7_client *cl;
	struct l7_req *prev, *next;
	enum l7_req_state state;
	struct l7_exchange *down;        /* client side */
	struct l7_exchange *up;          /* upstream side */
	struct l7_head req;              /* as sent upstream */
	struct l7_head resp;             /* as sent to the client */
	struct l7_pool *pool;
	struct l7_upconn *uc;
	/* in pool's queue: its connections are at max_connections */
	struct l7_req *wait_prev, *wait_next;
	bool waiting;
	struct stk_dial *dial;           /* CONNECT target */
	struct stk_stream *tcp;          /* ...connected, while sniffing */
	uint8_t sniff[24];               /* its first bytes */
	size_t sniff_len;
	bool nested;                     /* payload went to a nested client */
	struct stk_tunnel tun;
	bool tun_live;
	bool head_sent;                  /* response head went to the client */
	bool head_ended;                 /* ...with the end of the response */
	bool down_done, up_done;         /* exchange closed or aborted */
	bool idempotent;
	bool up_h2;                      /* the upstream speaks HTTP/2 */
	unsigned tries;
	int status;
	uint64_t deadline_ns;
	/* In the body hooks' last call of direction trailers_dir (STK_DIR_*):
	 * the exchange whose trailer fields they read and change. */
	struct l7_exchange *trailers_to;
	int trailers_dir;
	/* strata's own answer */
	char *answer;
	size_t answer_len, answer_off;
	uint8_t ctx[];                   /* apps' http contexts */
};

/* l7_service.c */
void l7_client_unlink(struct l7_client *cl);
uint64_t l7_now(const struct l7_worker *w);

/* l7_accept.c */
void l7_client_start(struct l7_worker *w, unsigned ep, struct stk_stream *s,
		     const uint8_t client[16], uint16_t client_port);
/* An exchange's body becomes a client connection of its own (CONNECT
 * payload that is HTTP, or TLS under inspection): recursive proxying. */
void l7_client_nested(struct l7_worker *w, struct l7_req *parent,
		      struct stk_stream *s, const char *target,
		      struct l7_tls_ctx *inspect);
/* A TCP connection the stack intercepted (endpoint intercept_dports):
 * read as HTTP, sent on to where it was going (up, connected to used,
 * becomes the first pooled connection there); what is not HTTP goes
 * back to the L4 proxy (l4) as a plain tunnel. */
void l7_client_intercepted(struct l7_worker *w, unsigned ep,
			   struct stk_stream *s, struct stk_stream *up,
			   const struct sockaddr_storage *used,
			   const struct strata_conn_info *info,
			   struct stk_conn *l4);
void l7_client_free(struct l7_client *cl);
void l7_client_sweep(struct l7_worker *w, uint64_t now);
void l7_client_abort(struct l7_client *cl);

/* l7_proxy.c */
void l7_req_new(struct l7_client *cl, struct l7_exchange *x);
void l7_req_sweep(struct l7_worker *w, uint64_t now);
void l7_req_free(struct l7_req *r);
void l7_req_nested_done(struct l7_req *r);
/* The pool found (or failed to find) a connection for r. */
void l7_req_upstream_ready(struct l7_req *r, struct l7_conn *c, bool reused);
void l7_req_upstream_failed(struct l7_req *r, enum l7_error why);
const char *l7_error_name(enum l7_error e);

/* l7_pool.c */
struct l7_pool *l7_pool_configured(struct l7_worker *w, unsigned upstream);
/* A pool for an origin a forward proxy request names ("host", port). */
struct l7_pool *l7_pool_origin(struct l7_worker *w, const char *host,
			       uint16_t port, struct l7_tls_ctx *tls);
/* Find a connection for r: at once if one is free (l7_req_upstream_ready
 * is called before this returns), else when one is dialed, or, at the
 * pool's max_connections, when one is free again (first come, first
 * served; l7_req_sweep ends waits past connect_timeout_ms). */
void l7_pool_acquire(struct l7_pool *p, struct l7_req *r, bool fresh);
/* r no longer waits (it ended or got its answer elsewhere). */
void l7_pool_cancel(struct l7_pool *p, struct l7_req *r);
/* A connected stream becomes an idle HTTP/1.1 connection of p. */
void l7_pool_adopt(struct l7_pool *p, struct stk_stream *s);
const struct conf_upstream *l7_pool_conf(const struct l7_pool *p);
void l7_pool_sweep(struct l7_worker *w, uint64_t now);
void l7_pools_free(struct l7_worker *w);
void l7_pool_stats(struct l7_worker *w, json_t *obj);

#endif
