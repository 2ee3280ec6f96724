/* One lwIP stack instance, loaded from Debian's liblwip.so.0.
 *
 * lwIP keeps its state in globals, so one loaded library image is one
 * stack. Each instance is a private copy of the library (a memfd) opened
 * with RTLD_LOCAL: its globals are its own, so every worker lcore can own
 * a stack. strata never links lwIP: every call goes through the function
 * table in struct stk_lwip, filled by dlsym.
 *
 * Transparent termination: packets are handed to tcp_input() directly
 * with lwIP's ip_data filled in, past ip4_input()'s "is this address
 * mine" test, and a listener bound to the any-address on the packet's
 * destination port accepts it. The accepted pcb keeps the original
 * destination as its local address.
 *
 * Locking: the instance's tcpip thread runs lwIP's timers under the core
 * lock; the owner takes stk_lwip_lock() around every other lwIP call,
 * and lwIP's callbacks run with the lock held. */
#ifndef STRATA_STK_LWIP_H
#define STRATA_STK_LWIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"
#include "lwip/udp.h"
#include "lwip/priv/tcp_priv.h" /* tcp_input */

#define STK_LWIP_MAX_NETIFS 16

/* The lwIP functions strata calls, typed from lwIP's own headers. */
#define STK_LWIP_FUNCS(X)                                              \
	X(tcpip_init) X(sys_lock_tcpip_core) X(sys_unlock_tcpip_core)    \
	X(netif_add) X(netif_set_up) X(netif_set_link_up)         \
	X(netif_set_default) X(ip_input) X(netif_remove)                 \
	X(netif_add_ip6_address) X(netif_ip6_addr_set_state)             \
	X(tcp_new_ip_type) X(tcp_bind) X(tcp_listen_with_backlog)        \
	X(tcp_accept) X(tcp_arg) X(tcp_recv) X(tcp_sent) X(tcp_err)      \
	X(tcp_poll) X(tcp_write) X(tcp_output) X(tcp_recved)             \
	X(tcp_close) X(tcp_abort) X(tcp_shutdown) X(tcp_connect)         \
	X(tcp_input) X(tcp_bind_netif)                                   \
	X(pbuf_alloc) X(pbuf_free) X(pbuf_copy_partial)                  \
	X(pbuf_remove_header) X(pbuf_take) X(pbuf_cat)                  \
	X(pbuf_free_header)

struct stk_lwip_api {
#define STK_LWIP_FN(name) __typeof__(&name) name;
	STK_LWIP_FUNCS(STK_LWIP_FN)
#undef STK_LWIP_FN
};

struct stk_lwip;

/* Called, lock held, for every IP packet lwIP transmits out of the
 * netif of port `port`. The pbuf stays lwIP's. */
typedef void (*stk_lwip_output_fn)(void *arg, uint16_t port,
				   struct pbuf *p);
/* Called, lock held, when a transparent listener accepts a connection;
 * newpcb's local address and port are the original destination. Return
 * ERR_OK having taken the pcb, or ERR_ABRT having aborted it. */
typedef err_t (*stk_lwip_accept_fn)(void *arg, struct tcp_pcb *newpcb);

struct stk_lwip {
	struct stk_lwip_api api;
	struct ip_globals *ip_data;
	struct netif **netif_default;
	struct tcp_pcb **tw_pcbs;     /* lwIP's TIME_WAIT list */
	struct tcp_pcb **active_pcbs; /* ... and the list of the others */
	uint32_t *slow_ticks;         /* lwIP's tcp_ticks: +1 per 500 ms */
	void *dl;
	struct netif netifs[STK_LWIP_MAX_NETIFS];
	uint16_t netif_port[STK_LWIP_MAX_NETIFS];
	unsigned n_netifs;
	stk_lwip_output_fn output;
	stk_lwip_accept_fn accept;
	void *arg;
	/* transparent listeners by destination port, made on first SYN */
	struct tcp_pcb **listeners;
	unsigned n_listeners;
	void *dead;           /* streams to free after the batch */
	/* While an input batch runs, streams that received data wait here
	 * and are told once at its end (stk_lwip_stream_flush): the reader
	 * then takes every segment of the batch in one read and one write
	 * upstream, not one per segment. */
	bool batching;
	void *readable;
};

/* Load a private instance and start its tcpip thread. NULL with a
 * reason in err on failure. */
struct stk_lwip *stk_lwip_load(char *err, size_t errlen);
/* Stop using the instance. lwIP cannot stop its tcpip thread, so the
 * library image stays loaded; its connections are aborted. */
void stk_lwip_unload(struct stk_lwip *s);

static inline void stk_lwip_lock(struct stk_lwip *s)
{
	s->api.sys_lock_tcpip_core();
}

static inline void stk_lwip_unlock(struct stk_lwip *s)
{
	s->api.sys_unlock_tcpip_core();
}

/* Set where output and accepted connections go (lock held). */
void stk_lwip_set_handlers(struct stk_lwip *s, stk_lwip_output_fn output,
			   stk_lwip_accept_fn accept, void *arg);

/* One netif per dataplane port the stack talks to (lock held), with
 * an IPv4 address (network order; lwIP routes nothing through a netif
 * without one) and its prefix length, and n6 IPv6 addresses (16 bytes
 * each), used as sources of connections strata opens. */
int stk_lwip_add_port(struct stk_lwip *s, uint16_t port, uint16_t mtu,
		      uint32_t addr4, unsigned prefix_len,
		      const uint8_t (*addr6)[16], unsigned n6);

/* The source address lwIP will use towards dst: the address of the
 * netif it routes dst through (IPv6: one in dst's /64, else the first).
 * -1 when there is none. */
int stk_lwip_source(struct stk_lwip *s, const ip_addr_t *dst, ip_addr_t *src);

/* Hand one TCP segment in an IP packet (l3_hdr_len bytes of IPv4/IPv6
 * headers, then TCP) that arrived on `port` to lwIP (lock held). The
 * bytes are copied. Returns 0, or -1 when lwIP has no memory. */
int stk_lwip_input_tcp(struct stk_lwip *s, uint16_t port, const uint8_t *pkt,
		       uint16_t len, uint16_t l3_hdr_len);

/* Does lwIP hold a pcb for this tuple that is not in TIME_WAIT
 * (handshake, established, closing)? Walks the list: for rare events. */
bool stk_lwip_has_pcb(struct stk_lwip *s, const ip_addr_t *local,
		      uint16_t lport, const ip_addr_t *remote, uint16_t rport);

/* Drop, silently, the TIME_WAIT pcbs that have been there max_ms or
 * more (at lwIP's 500 ms granularity). lwIP keeps them 2 MSL (120 s) in
 * one list that every SYN and every segment without a live pcb walks,
 * twice with stk_lwip_forget_timewait: new connections got slower the
 * longer a busy stack ran. Returns how many went. */
unsigned stk_lwip_expire_timewait(struct stk_lwip *s, uint32_t max_ms);

/* Drop a TIME_WAIT pcb holding this tuple (local = the client's
 * original destination), silently, before a new SYN reuses it: clients
 * reuse ports fast, and lwIP would answer their SYN with an old ACK
 * and ignore the client's RST (RFC 1337), stalling the new connection.
 * Returns 1 when one was dropped. */
int stk_lwip_forget_timewait(struct stk_lwip *s, const ip_addr_t *local,
			     uint16_t lport, const ip_addr_t *remote,
			     uint16_t rport);

/* Segment sizes past lwIP's compiled TCP_MSS (1460). lwIP takes
 * segments of any size in, but advertises and sends at most TCP_MSS;
 * on a port with a larger MTU (a laptop TUN, where packets never leave
 * the host) strata lets both sides use the MTU: */
struct dp_pkt_view;
/* The MSS option of a SYN (pkt/v: an IP packet and its view), or the
 * RFC 9293 default (536 for IPv4, 1220 for IPv6) when it has none. */
uint16_t stk_lwip_syn_mss(const uint8_t *pkt, const struct dp_pkt_view *v);
/* In a SYN lwIP sent out of a port with this MTU (a copy: pkt/v),
 * raise the MSS option to what the MTU allows, checksum updated. */
void stk_lwip_advertise_mss(uint8_t *pkt, const struct dp_pkt_view *v,
			    uint16_t mtu);
/* Let pcb (on port `port`) send segments up to peer_mss, the MSS of
 * the peer's SYN, within the port's MTU (lock held). */
void stk_lwip_set_mss(struct stk_lwip *s, uint16_t port,
		      struct tcp_pcb *pcb, uint16_t peer_mss);

/* Make sure a transparent listener exists for TCP port dport. */
int stk_lwip_listen(struct stk_lwip *s, uint16_t dport);

#endif
