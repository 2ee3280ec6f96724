/* The packet path of one rx/tx lcore: parse, reassemble, flow lookup,
 * ip_flow hook, then answer, forward, hand to a worker or drop.
 *
 * The same code runs under `strata run` (a poll loop per lcore) and
 * `strata pcap` (one loop over a capture, the capture's clock as time).
 * Nothing here is shared between lcores except read-only settings. */
#ifndef STRATA_DP_PIPELINE_H
#define STRATA_DP_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "conf/conf.h"
#include "dp_counters.h"
#include "dp_pkt.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;
struct dp_port;
struct dp_fast_cache;

#define DP_BURST_MAX 64
#define DP_TXBUF 64
#define DP_MAX_RXTX 16
#define DP_MAX_WORKERS 16

/* How a sleeping lcore is woken: producers write fd when sleeping is
 * set (the sleeper sets it, re-checks its rings, then waits on fd). */
struct dp_wake {
	int fd;
	_Atomic int sleeping;
};

/* Read-only state shared by all lcores (but for the wake flags). */
struct dp_shared {
	const struct conf *conf;
	struct dp_port *ports[CONF_MAX_PORTS];
	unsigned n_ports;
	/* single-producer single-consumer rings, [rx/tx lcore][worker];
	 * with no workers STACK verdicts drop as NO_STACK */
	struct rte_ring *to_worker[DP_MAX_RXTX][DP_MAX_WORKERS];
	unsigned n_rxtx, n_workers;
	struct dp_wake worker_wake[DP_MAX_WORKERS];
	/* Neighbours one rx/tx lcore learnt, for each other one: SPSC
	 * rings of struct dp_neigh_msg, [from][to]; NULL with one rx/tx
	 * lcore. ARP and NDP answers reach one lcore (ARP carries no
	 * ports: lcore 0 under software steering, the queue the NIC
	 * picks otherwise; an NA the owner of its addresses), while any
	 * lcore may need the neighbour for the flows it owns. */
	struct rte_ring *neigh_sync[DP_MAX_RXTX][DP_MAX_RXTX];
	struct dp_wake *rxtx_wake[DP_MAX_RXTX];
};

/* One learnt neighbour on its way to another rx/tx lcore. */
struct dp_neigh_msg {
	union dp_addr ip;
	uint8_t mac[6];
	uint16_t port;
	uint8_t pad[8];             /* ring elements: a multiple of 4 */
};

struct dp_txbuf {
	struct rte_mbuf *pkts[DP_TXBUF];
	uint16_t n;
	uint64_t bytes;               /* of pkts[0..n) */
};

struct dp_lcore {
	unsigned idx;                 /* rx/tx lcore index */
	const struct dp_shared *sh;
	struct rte_mempool *mp;
	uint64_t now_ns;              /* set by the caller per burst */

	struct dp_flow_table *flows;
	struct dp_fast_cache *fast;   /* NULL: flows.fast_path off */
	uint8_t fast_bypass;          /* bursts left that skip the cache */
	struct dp_reass *reass;
	struct dp_neigh *neigh;

	uint16_t txq[CONF_MAX_PORTS]; /* this lcore's tx queue per port */
	struct dp_txbuf tx[CONF_MAX_PORTS];

	/* ICMP error token bucket */
	uint64_t icmp_tokens_ns;
	uint64_t icmp_err_cost_ns;

	uint64_t next_timer_ns;
	uint16_t ip4_id;              /* ids for packets strata builds */
	uint32_t ip6_frag_id;

	uint8_t *scratch;             /* reassembled datagrams (64 KiB+) */
	struct dp_counters ctr;
};

/* Create per-lcore state; NULL (errno set) on failure. */
struct dp_lcore *dp_lcore_create(unsigned idx, const struct dp_shared *sh,
				 struct rte_mempool *mp);
void dp_lcore_destroy(struct dp_lcore *lc);

/* Process a burst received on any port (m->port names it). Takes
 * ownership of every mbuf. Replies are buffered; see dp_lcore_flush. */
void dp_lcore_rx(struct dp_lcore *lc, struct rte_mbuf **pkts, uint16_t n);

/* Queue packets a worker's stack built (raw IP, m->port = out port) for
 * transmission: L2 framing and neighbour resolution for Ethernet ports,
 * fragmentation past the MTU. They are not received packets, so they
 * count in stack_tx / stack_tx_drops, not in the dispositions. */
void dp_lcore_tx_stack(struct dp_lcore *lc, struct rte_mbuf **pkts,
		       uint16_t n);

/* Transmit buffered packets on every port; untaken ones are counted
 * (TX_FULL) and freed. */
void dp_lcore_flush(struct dp_lcore *lc);

/* Learn the neighbours other rx/tx lcores sent (dp_shared.neigh_sync);
 * packets held for them are queued for transmission. */
void dp_lcore_neigh_sync(struct dp_lcore *lc);

/* Run due timers (flow expiry, reassembly timeouts, neighbour retries).
 * Cheap to call often; returns the time of the next timer. */
uint64_t dp_lcore_timers(struct dp_lcore *lc);

/* Wake an lcore that may be sleeping on w. */
void dp_wake(const struct dp_wake *w);

/* End of input (pcap replay): expire everything still pending so that
 * every packet has its final disposition. */
void dp_lcore_drain(struct dp_lcore *lc);

#endif
