/* Dataplane counters: one block per lcore, written only by that lcore,
 * summed when read (SIGUSR1 dump, end of `strata pcap`).
 *
 * Every received packet ends with exactly one disposition, so
 * sum(disp) == rx_pkts, and every DROPPED one has exactly one reason, so
 * sum(drops) == disp[DROPPED]. Tests check both. */
#ifndef STRATA_DP_COUNTERS_H
#define STRATA_DP_COUNTERS_H

#include <stdint.h>

#include "dp_drop.h"

#define DP_DISPOSITIONS(X)                                               \
	X(ANSWERED, "answered")   /* strata replied (echo, ARP, NA, error) */ \
	X(CONSUMED, "consumed")   /* taken by strata, no reply (ARP reply) */ \
	X(FORWARDED, "forwarded") /* sent out of a port */                    \
	X(STACK, "stack")         /* handed to a worker lcore */              \
	X(FRAGMENT, "fragment")   /* absorbed into a reassembled datagram */  \
	X(DROPPED, "dropped")

enum dp_disp {
#define DP_DISP_ENUM(e, s) DP_DISP_##e,
	DP_DISPOSITIONS(DP_DISP_ENUM)
#undef DP_DISP_ENUM
	DP_DISP_MAX
};

struct dp_counters {
	uint64_t rx_pkts, rx_bytes;
	uint64_t tx_pkts, tx_bytes;
	uint64_t disp[DP_DISP_MAX];
	uint64_t drops[DP_DROP_MAX];
	uint64_t tx_generated;      /* packets built in a fresh buffer (not
				       rewritten in place): NAs, RSTs, ICMP
				       errors, ARP/NS requests, fragments */
	uint64_t flows_created, flows_expired;
	uint64_t flows_active;      /* gauge */
	uint64_t fast_path;         /* received packets the fast path took
				       to their end (dp_fast.h) */
	uint64_t fast_cache_bypass; /* times its cache missed so often that
				       the next bursts skipped it */
	uint64_t reass_completed;   /* datagrams rebuilt */
	uint64_t reass_timeouts;    /* datagrams lost to the timeout */
	uint64_t stack_no_stack;    /* worker: STACK packets with no stack
				       yet (freed, counted here) */
	uint64_t idle_sleeps;       /* times the lcore slept in epoll */
	uint64_t rx_held_back;      /* polls of the ports skipped while the
				       stack had half the mbufs queued */
	uint64_t stack_tx;          /* packets from the stack sent on */
	uint64_t stack_tx_drops;    /* ... that could not be (no neighbour,
				       no buffer, bad packet) */
	uint64_t neigh_sync_sent;   /* neighbours learnt here, told to
				       another rx/tx lcore */
	uint64_t neigh_sync_lost;   /* ... that its full ring refused (it
				       solicits for itself when it needs
				       the neighbour) */
	uint64_t neigh_sync_received; /* neighbours other lcores learnt */
} __attribute__((aligned(64)));

const char *dp_disp_name(enum dp_disp d);
void dp_counters_add(struct dp_counters *sum, const struct dp_counters *c);

#endif
