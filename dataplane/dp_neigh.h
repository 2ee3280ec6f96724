/* Neighbour table (ARP and NDP results) for strata's own transmits.
 *
 * One per rx/tx lcore. Entries age out after reachable_s; a lookup that
 * misses holds up to queue_len packets per address while a request is
 * outstanding, re-solicits every retrans_ms up to three times, then
 * gives the held packets back for a counted drop. Held packets are
 * opaque pointers: the caller owns freeing them. */
#ifndef STRATA_DP_NEIGH_H
#define STRATA_DP_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#include "dp_pkt.h"

struct dp_neigh_params {
	uint32_t max_entries;
	uint32_t reachable_s;
	uint32_t retrans_ms;
	uint32_t queue_len;
};

struct dp_neigh *dp_neigh_create(const struct dp_neigh_params *p);
/* free_pkt is called for every packet still held. */
void dp_neigh_destroy(struct dp_neigh *n, void (*free_pkt)(void *pkt));

/* 0 and mac filled when a fresh entry exists; -1 otherwise. */
int dp_neigh_lookup(struct dp_neigh *n, uint16_t port,
		    const union dp_addr *ip, uint64_t now_ns, uint8_t mac[6]);

/* Hold pkt until ip resolves. Returns 1 when the caller must send a
 * solicitation now, 0 when one is already outstanding, or
 * -DP_DROP_NEIGH_QUEUE_FULL / -DP_DROP_NEIGH_UNRESOLVED (table full):
 * the caller keeps pkt and drops it. */
int dp_neigh_hold(struct dp_neigh *n, uint16_t port, const union dp_addr *ip,
		  void *pkt, uint64_t now_ns);

/* Record ip -> mac (from an ARP or NDP message). Packets that were held
 * for ip are given to release(pkt, mac, arg) to be sent. */
void dp_neigh_learn(struct dp_neigh *n, uint16_t port, const union dp_addr *ip,
		    const uint8_t mac[6], uint64_t now_ns,
		    void (*release)(void *pkt, const uint8_t mac[6], void *arg),
		    void *arg);

/* Timers: calls resolicit(port, ip, arg) for entries due another
 * request, and drop(pkt, arg) for packets whose address never
 * resolved. Expires stale entries. */
void dp_neigh_tick(struct dp_neigh *n, uint64_t now_ns,
		   void (*resolicit)(uint16_t port, const union dp_addr *ip, void *arg),
		   void (*drop)(void *pkt, void *arg), void *arg);

uint32_t dp_neigh_count(const struct dp_neigh *n);

#endif
