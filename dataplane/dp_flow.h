/* Flow table: one per rx/tx lcore, keyed by the 5-tuple.
 *
 * Both directions map to one flow (the key is normalised). Bounded: when
 * full, a new flow is refused and the caller counts FLOW_TABLE_FULL.
 * Idle flows expire by protocol timeout. Not thread-safe by design: the
 * lcore that owns the table is the only one touching it. */
#ifndef STRATA_DP_FLOW_H
#define STRATA_DP_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "dp_pkt.h"
#include "strata/hooks.h"

struct dp_flow_key {
	union dp_addr lo_addr, hi_addr; /* lo < hi (memcmp) */
	uint16_t lo_port, hi_port;      /* ports that go with each address */
	uint8_t proto;
	uint8_t pad[3];
};

struct dp_flow {
	struct dp_flow_key key;
	uint32_t hash;              /* dp_rss_hash_view of the first packet */
	uint32_t idle_timeout_s;
	uint8_t *app_ctx;           /* per-app contexts, zeroed */
	/* What every packet reads or writes, together in one cache line of
	 * the table's entry (dp_flow.c checks): a fast-path packet whose
	 * verdict its cache entry holds touches nothing else. */
	/* Even, never reused by the table while it lives; 0 once freed:
	 * caches that point at a flow (dp_fast.h) check it. */
	uint64_t serial;
	uint64_t pkts[2], bytes[2]; /* [0] = first packet's direction */
	uint64_t last_ns;
	uint64_t requeue_ns;        /* a touch from then on moves the flow
				       to its expiry list's tail (dp_flow.c) */
	struct strata_flow_info info; /* direction of the first packet */
	struct strata_ip_flow_decision decision;
	/* the table's own links live beside it, in dp_flow.c */
};

struct dp_flow_table_params {
	uint32_t max_flows;
	uint32_t tcp_idle_s, udp_idle_s, other_idle_s;
	/* TCP and UDP flows the stack terminates: never shorter than the
	 * two above, so that a connection the stack keeps open (up to
	 * stack.tcp_idle_s) keeps its flow and verdict */
	uint32_t stack_tcp_idle_s, stack_udp_idle_s;
	uint32_t stack_closing_s;   /* ... after the client's FIN or RST */
	size_t app_ctx_size;        /* sum of registered apps' flow_ctx_size */
};

struct dp_flow_table *dp_flow_table_create(const struct dp_flow_table_params *p);
void dp_flow_table_destroy(struct dp_flow_table *t,
			   void (*on_end)(struct dp_flow *f, void *arg), void *arg);

/* Find the flow of v, or create it. *created tells which. dir is set to
 * 0 when v goes in the first packet's direction, 1 otherwise. Returns
 * NULL when the table is full. hash is dp_rss_hash_view(v). */
struct dp_flow *dp_flow_lookup_or_create(struct dp_flow_table *t,
					 const struct dp_pkt_view *v,
					 uint32_t hash, uint16_t in_port,
					 uint64_t now_ns, bool *created,
					 int *dir);

/* The same lookup in steps, so that the table accesses of a burst
 * overlap instead of each packet waiting for its own cache misses:
 * dp_flow_probe_start() normalises v's key, hashes it and prefetches
 * its bucket; dp_flow_probe_prefetch(), a few packets later, prefetches
 * the bucket's first entry; dp_flow_probe_lookup_or_create() then walks
 * the chain as it is at that moment, so a flow that an earlier packet
 * of the burst created is found. The probe holds no pointer into the
 * table: a stale probe only costs a useless prefetch. */
struct dp_flow_probe {
	struct dp_flow_key key;
	uint32_t khash;
	uint16_t sport, dport;      /* the first packet's, if it creates */
	bool src_lo;                /* v's source is the key's lo side */
};

void dp_flow_probe_start(const struct dp_flow_table *t,
			 const struct dp_pkt_view *v, struct dp_flow_probe *pr);
void dp_flow_probe_prefetch(const struct dp_flow_table *t,
			    const struct dp_flow_probe *pr);
/* As dp_flow_probe_start, from a 5-tuple read straight off a packet
 * (the fast path: no view). For ICMP and ICMPv6 only echo messages may
 * come this way, with sport the identifier (dport is ignored). */
void dp_flow_probe_start_tuple(const struct dp_flow_table *t,
			       const union dp_addr *src,
			       const union dp_addr *dst, uint16_t sport,
			       uint16_t dport, uint8_t proto,
			       struct dp_flow_probe *pr);
/* The flow of pr, or NULL if there is none; never creates. */
struct dp_flow *dp_flow_probe_lookup(struct dp_flow_table *t,
				     const struct dp_flow_probe *pr, int *dir);
/* As dp_flow_lookup_or_create, for the v that pr was started from. */
struct dp_flow *dp_flow_probe_lookup_or_create(struct dp_flow_table *t,
					       const struct dp_flow_probe *pr,
					       const struct dp_pkt_view *v,
					       uint32_t hash, uint16_t in_port,
					       uint64_t now_ns, bool *created,
					       int *dir);

void dp_flow_touch_requeue(struct dp_flow *f, uint64_t now_ns);

/* Account a packet of len bytes in direction dir at now_ns. Inline: it
 * runs for every packet. Most touches only count; the table's lists
 * are visited when the flow is due to move (requeue_ns) or the clock
 * stepped back. */
static inline void dp_flow_touch(struct dp_flow *f, int dir, uint32_t len,
				 uint64_t now_ns)
{
	dir = dir ? 1 : 0;
	f->pkts[dir]++;
	f->bytes[dir] += len;
	if (__builtin_expect(now_ns >= f->last_ns && now_ns < f->requeue_ns, 1))
		f->last_ns = now_ns;
	else
		dp_flow_touch_requeue(f, now_ns);
}

/* The flow's verdict is STACK: from now on it expires after the stack
 * idle time of its protocol. Call right after creating it (its last use
 * must be the table's newest). */
void dp_flow_follow_stack(struct dp_flow *f);

/* A packet of a STACK TCP flow from its client had tcp_flags: after a
 * FIN or RST the flow expires after stack_closing_s, after a SYN
 * (without ACK: the tuple reused) after the stack idle time again. Call
 * right after touching it with that packet. */
void dp_flow_stack_tcp_flags(struct dp_flow *f, uint8_t tcp_flags);

/* Expire idle flows, at most budget of them per call (so a timer tick
 * never stalls the lcore); on_end is called for each before it is freed.
 * Returns the number expired. */
unsigned dp_flow_expire(struct dp_flow_table *t, uint64_t now_ns,
			unsigned budget,
			void (*on_end)(struct dp_flow *f, void *arg), void *arg);

uint32_t dp_flow_count(const struct dp_flow_table *t);

#endif
