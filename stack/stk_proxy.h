/* The L4 proxy of one worker: TCP and UDP flows the dataplane handed to
 * the stack are terminated (TCP in lwIP, UDP directly) and joined to
 * upstream kernel sockets, under the ingress/egress/tunnel hooks.
 *
 * TCP connects upstream first: the client's SYN is held until the
 * upstream connect succeeds, then given to lwIP, which answers SYN-ACK.
 * A refused or unreachable upstream thus looks to the client like the
 * real destination (RST), and no half-open proxy state builds up.
 *
 * Sans-IO towards the dataplane: packets come in as bytes with a parsed
 * view, and leave through the output callback as IP packets. */
#ifndef STRATA_STK_PROXY_H
#define STRATA_STK_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/dp_pkt.h"
#include "stk_loop.h"
#include "stk_tunnel.h"

struct conf;
struct stk_lwip;
struct stk_proxy;

#define STK_COUNTERS(X)                                                 \
	X(tcp_conns)            /* TCP connections accepted for proxying */ \
	X(local_conns)          /* TCP connections to a listening service */\
	X(udp_flows)            /* UDP flows proxied */                     \
	X(active)               /* gauge: connections and flows now */      \
	X(refused_limit)        /* over stack.max_connections */            \
	X(rejected_by_app)      /* ingress hook said reject */              \
	X(upstream_refused)     /* connect refused: RST to the client */    \
	X(upstream_unreachable) /* no route / host down */                  \
	X(upstream_timeout)     /* connect_timeout_ms passed */             \
	X(upstream_other)       /* any other connect failure */             \
	X(egress_loop)          /* destination would route back into us */ \
	X(syn_while_connecting) /* retransmitted SYNs absorbed */           \
	X(timewait_reused)      /* lwIP TIME_WAIT dropped for a new SYN */  \
	X(timewait_expired)     /* ... after stack.time_wait_ms */          \
	X(handshake_timeout)    /* client never completed the handshake */  \
	X(handshake_reset)      /* client reset it before completing it */  \
	X(passed_back)          /* intercepted, given back by the service */\
	X(accept_unknown)       /* lwIP accepted a connection we never held */\
	X(lwip_no_memory)       /* a packet lwIP could not take */          \
	X(lwip_other_out)       /* non-TCP packets lwIP made, not sent */   \
	X(udp_send_errors)      /* datagrams the upstream socket refused */ \
	X(udp_pending_drops)    /* datagrams before the upstream was known */\
	X(dns_failed)           /* egress names that did not resolve */     \
	X(udp_unreachable)      /* ICMP port unreachable sent to clients */ \
	X(not_tcp_udp)          /* other protocols handed to the stack */   \
	X(bad_packets)          /* stack input that did not parse */        \
	X(audit_lines)          /* audit records written */                 \
	X(audit_dropped)        /* audit records lost (queue full, errors) */

struct stk_counters {
#define STK_CTR_FIELD(n) uint64_t n;
	STK_COUNTERS(STK_CTR_FIELD)
#undef STK_CTR_FIELD
	uint64_t closed[STK_CLOSE__COUNT];
};

/* Where built and lwIP-made IP packets go. */
typedef void (*stk_proxy_output_fn)(void *arg, uint16_t port,
				    const uint8_t *pkt, uint16_t len);
/* Where audit lines go (owned by the callee; NULL-terminated JSON).
 * Returns false when the line could not be queued. */
typedef bool (*stk_proxy_audit_fn)(void *arg, char *line);

struct stk_proxy *stk_proxy_create(const struct conf *c, struct stk_loop *loop,
				   struct stk_lwip *lwip, unsigned worker,
				   stk_proxy_output_fn output,
				   stk_proxy_audit_fn audit, void *arg);
/* Reset everything still open and free the proxy (lock held). */
void stk_proxy_destroy(struct stk_proxy *p);

/* One IP packet for the stack (v parsed from pkt, raw IP: l3_off 0),
 * lock held. */
void stk_proxy_input(struct stk_proxy *p, uint16_t port, const uint8_t *pkt,
		     uint32_t len, const struct dp_pkt_view *v);

/* Timeouts and deferred frees; call after each batch and at least every
 * 100 ms (lock held). Returns ms until the next timeout is due. */
int stk_proxy_poll(struct stk_proxy *p);

const struct stk_counters *stk_proxy_counters(const struct stk_proxy *p);

struct stk_dns_counters;
const struct stk_dns_counters *stk_proxy_dns_counters(const struct stk_proxy *p);

/* A service above the stack (the HTTP proxy) takes TCP connections to
 * ports lo..hi: on strata's own addresses (served at once), or, with
 * intercept, to any address the stack terminates (connected upstream
 * first, as proxied connections are, then handed over with that
 * upstream connection and the address it reached). fn gets each once
 * lwIP accepted it; the streams are the service's; info and used are
 * valid during the call.
 *
 * An intercepted connection comes with conn, the proxy's record of it
 * (hook contexts, audit fields), which the service must end with
 * exactly one of stk_proxy_pass() or stk_proxy_release(); info stays
 * valid until then. conn is NULL for the others. */
#define STK_MAX_LISTENERS 16
struct stk_conn;
struct strata_conn_info;
struct sockaddr_storage;
typedef void (*stk_proxy_accept_fn)(void *arg, struct stk_stream *client,
				    struct stk_stream *upstream,
				    const struct sockaddr_storage *used,
				    const struct strata_conn_info *info,
				    struct stk_conn *conn);
int stk_proxy_listen(struct stk_proxy *p, uint16_t lo, uint16_t hi,
		     bool intercept, stk_proxy_accept_fn fn, void *arg);

/* The service will not serve conn (not its protocol): the proxy takes
 * the pair back as an ordinary L4 tunnel, under the tunnel hook, idle
 * timeout and audit line of any proxied connection. from_client and
 * from_up are bytes the service already read from client and up; they
 * are copied, then replayed first, each before the rest of its
 * direction (counted, and shown to the hook, like the rest). client and
 * up may have ended or failed meanwhile: the tunnel carries that on.
 * Takes both streams, whatever happens. */
void stk_proxy_pass(struct stk_conn *conn, struct stk_stream *client,
		    const void *from_client, size_t from_client_len,
		    struct stk_stream *up, const void *from_up,
		    size_t from_up_len);
/* The service is done with conn however it ended (it served it, or
 * dropped it; the streams stay the service's, and may be closed before
 * or after). conn ends as a proxied connection does, with reason
 * "http_service": closed counter, conn_end hook and audit line. Its
 * bytes are those read from and written to the client stream the
 * service was lent, which counts them (below TLS: wire bytes, as a
 * tunnel's), up and down as a tunnel's. */
void stk_proxy_release(struct stk_conn *conn);

/* Outbound TCP by name for services, sharing the worker's DNS cache and
 * egress device. */
struct stk_dialer *stk_proxy_dialer(struct stk_proxy *p);

/* TCP connections still waiting for their upstream connect. */
unsigned stk_proxy_connecting(const struct stk_proxy *p);

#endif
