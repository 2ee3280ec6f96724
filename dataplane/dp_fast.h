/* The fast path for packets of known flows.
 *
 * Most packets of a busy lcore belong to flows it already knows and
 * look alike: Ethernet to our MAC (or raw IP), no VLAN tag, IPv4
 * without options or fragmentation or IPv6 without extension headers,
 * then TCP, UDP or an ICMP echo request. For those:
 *
 * - dp_fast_classify() reads the tuple and lengths straight off the
 *   bytes, with the same checks the general parser makes (lengths, the
 *   IPv4 header and L4 checksums, source addresses it refuses). Anything
 *   else, and anything dp_parse() would drop or decode differently, is
 *   DP_FAST_NO and takes the general path, which counts drops under
 *   their reasons: the fast path changes speed only
 *   (tests/unit/test_fast.c runs packets both ways and compares).
 * - A small per-lcore cache maps the tuple as it appears on the wire
 *   (addresses, ports or echo id, protocol, port) to its flow and
 *   direction, so a known flow costs one hash of raw words and one
 *   compare instead of normalising its key and walking the flow table.
 *   An entry holds the flow's serial (dp_flow.serial, 0 once the flow
 *   is freed), so an expired flow is never found through a stale entry,
 *   and what the verdict needs (verdict, hash, dp_ip's local test, out
 *   port), so a hit reads only the flow's line of counters. A miss
 *   falls back to the flow table (dp_flow_probe_start_tuple) and fills
 *   the entry; the cache never creates flows. (When most lookups miss,
 *   the pipeline skips the cache for a while: dp_pipeline.c.)
 *
 * Pure functions of their input but for the cache's own memory. */
#ifndef STRATA_DP_FAST_H
#define STRATA_DP_FAST_H

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "dp_flow.h"
#include "dp_parse.h"
#include "dp_pkt.h"

enum dp_fast_kind {
	DP_FAST_NO = 0, /* not the common shape: take the general path */
	DP_FAST_ECHO,   /* ICMP echo request / ICMPv6 echo request */
	DP_FAST_TCP,    /* TCP without SYN, FIN or RST */
	DP_FAST_UDP,
};

struct dp_fast_pkt {
	/* The tuple as on the wire: [0..3] the addresses (v4: [0] only),
	 * [4] the ports (or the echo id), protocol, port and version. */
	uint64_t key[5];
	uint16_t l3_off;    /* 14 on Ethernet, 0 on raw IP */
	uint16_t l3_len;    /* the IP datagram, without link padding */
	uint16_t l4_len;
	uint8_t proto;      /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6 */
	uint8_t ip_version; /* 4 or 6 */
};

#define DP_FAST_ETH_HLEN 14u
#define DP_FAST_IP4_HLEN 20u
#define DP_FAST_IP6_HLEN 40u

static inline uint16_t dp_fast_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* TCP, UDP or the echo request at l4 (fp->l4_len bytes, all in the
 * buffer); pseudo is the pseudo-header sum (0 for ICMPv4). */
static inline __attribute__((always_inline)) enum dp_fast_kind
dp_fast_l4(const uint8_t *l4, uint32_t flags,
					   uint32_t pseudo,
					   struct dp_fast_pkt *fp)
{
	uint32_t n = fp->l4_len, doff, ports;
	uint16_t id;
	int csum_ok = flags & DP_PARSE_L4_CSUM_OK;
	enum dp_fast_kind kind;

	switch (fp->proto) {
	case IPPROTO_TCP:
		if (n < 20)
			return DP_FAST_NO;
		doff = (l4[12] >> 4) * 4u;
		/* SYN, FIN and RST change the state of stack flows */
		if (doff < 20 || doff > n || (l4[13] & 0x07))
			return DP_FAST_NO;
		kind = DP_FAST_TCP;
		break;
	case IPPROTO_UDP:
		if (n < 8 || dp_fast_rd16(l4 + 4) != n)
			return DP_FAST_NO;
		if (dp_fast_rd16(l4 + 6) == 0 && !csum_ok) {
			if (fp->ip_version == 6) /* RFC 8200 8.1 */
				return DP_FAST_NO;
			csum_ok = 1;   /* v4 without a checksum */
		}
		kind = DP_FAST_UDP;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (n < 8 || l4[0] != (fp->proto == IPPROTO_ICMP ? 8 : 128))
			return DP_FAST_NO;
		if (!csum_ok &&
		    dp_csum_fold(dp_csum_partial(l4, n, pseudo)) != 0)
			return DP_FAST_NO;
		memcpy(&id, l4 + 4, 2);
		fp->key[4] |= id;
		return DP_FAST_ECHO;
	default:
		return DP_FAST_NO;
	}
	if (!csum_ok && dp_csum_fold(dp_csum_partial(l4, n, pseudo)) != 0)
		return DP_FAST_NO;
	memcpy(&ports, l4, 4);
	fp->key[4] |= ports;
	return kind;
}

static inline __attribute__((always_inline)) enum dp_fast_kind
dp_fast_ip4(const uint8_t *ip, uint32_t avail,
					    uint32_t flags, uint16_t port,
					    struct dp_fast_pkt *fp)
{
	uint32_t tot, src;

	if (avail < DP_FAST_IP4_HLEN || ip[0] != 0x45)
		return DP_FAST_NO;
	tot = dp_fast_rd16(ip + 2);
	if (tot < DP_FAST_IP4_HLEN || tot > avail ||
	    (dp_fast_rd16(ip + 6) & 0x3fff))
		return DP_FAST_NO;
	if (!(flags & DP_PARSE_L3_CSUM_OK) &&
	    dp_csum_fold(dp_csum_partial(ip, DP_FAST_IP4_HLEN, 0)) != 0)
		return DP_FAST_NO;
	/* multicast and broadcast sources: the parser drops them */
	memcpy(&src, ip + 12, 4);
	if ((ip[12] >> 4) == 0xe || src == 0xffffffffu)
		return DP_FAST_NO;
	fp->proto = ip[9];
	if (fp->proto == IPPROTO_ICMPV6)
		return DP_FAST_NO;
	fp->ip_version = 4;
	fp->l3_len = (uint16_t)tot;
	fp->l4_len = (uint16_t)(tot - DP_FAST_IP4_HLEN);
	memcpy(&fp->key[0], ip + 12, 8);
	fp->key[1] = fp->key[2] = fp->key[3] = 0;
	fp->key[4] = (uint64_t)fp->proto << 32 | (uint64_t)port << 40 |
		     4ull << 56;
	return dp_fast_l4(ip + DP_FAST_IP4_HLEN, flags,
			  fp->proto == IPPROTO_ICMP ? 0 :
			  dp_csum_partial(ip + 12, 8, fp->proto + fp->l4_len),
			  fp);
}

static inline __attribute__((always_inline)) enum dp_fast_kind
dp_fast_ip6(const uint8_t *ip, uint32_t avail,
					    uint32_t flags, uint16_t port,
					    struct dp_fast_pkt *fp)
{
	uint32_t plen;

	if (avail < DP_FAST_IP6_HLEN || (ip[0] >> 4) != 6)
		return DP_FAST_NO;
	plen = dp_fast_rd16(ip + 4);
	/* no extension headers; a multicast source is dropped */
	if (plen > 0xffffu - DP_FAST_IP6_HLEN ||
	    DP_FAST_IP6_HLEN + plen > avail || ip[8] == 0xff)
		return DP_FAST_NO;
	fp->proto = ip[6];
	if (fp->proto != IPPROTO_TCP && fp->proto != IPPROTO_UDP &&
	    fp->proto != IPPROTO_ICMPV6)
		return DP_FAST_NO;
	fp->ip_version = 6;
	fp->l3_len = (uint16_t)(DP_FAST_IP6_HLEN + plen);
	fp->l4_len = (uint16_t)plen;
	memcpy(fp->key, ip + 8, 32);
	fp->key[4] = (uint64_t)fp->proto << 32 | (uint64_t)port << 40 |
		     6ull << 56;
	return dp_fast_l4(ip + DP_FAST_IP6_HLEN, flags,
			  dp_csum_partial(ip + 8, 32, fp->proto + plen), fp);
}

/* Classify buf[0..len) received on port (index port, link kind link,
 * own MAC mac, unused on raw IP). flags are dp_parse()'s
 * DP_PARSE_*_CSUM_OK (what the NIC verified). Fills *fp unless it
 * returns DP_FAST_NO. */
static inline __attribute__((always_inline)) enum dp_fast_kind
dp_fast_classify(const uint8_t *buf,
						 uint32_t len,
						 enum dp_link link,
						 const uint8_t mac[6],
						 uint16_t port, uint32_t flags,
						 struct dp_fast_pkt *fp)
{
	uint16_t et;

	if (link == DP_LINK_ETH) {
		/* our own unicast MAC only: broadcast, multicast and VLAN
		 * tags take the general path */
		if (len < DP_FAST_ETH_HLEN || memcmp(buf, mac, 6) != 0)
			return DP_FAST_NO;
		et = dp_fast_rd16(buf + 12);
		fp->l3_off = DP_FAST_ETH_HLEN;
		if (et == 0x0800)
			return dp_fast_ip4(buf + DP_FAST_ETH_HLEN,
					   len - DP_FAST_ETH_HLEN, flags, port,
					   fp);
		if (et == 0x86dd)
			return dp_fast_ip6(buf + DP_FAST_ETH_HLEN,
					   len - DP_FAST_ETH_HLEN, flags, port,
					   fp);
		return DP_FAST_NO;
	}
	if (link != DP_LINK_RAW_IP || len == 0)
		return DP_FAST_NO;
	fp->l3_off = 0;
	if ((buf[0] >> 4) == 4)
		return dp_fast_ip4(buf, len, flags, port, fp);
	return dp_fast_ip6(buf, len, flags, port, fp);
}

/* The 5-tuple of a classified packet, in the flow table's terms. */
void dp_fast_tuple(const uint8_t *buf, const struct dp_fast_pkt *fp,
		   union dp_addr *src, union dp_addr *dst, uint16_t *sport,
		   uint16_t *dport);

/* ---- the cache: two-way sets, most recent first ---- */

struct dp_fast_entry {
	uint64_t key[5];
	struct dp_flow *f;
	uint64_t serial;    /* f->serial when filled (even), | direction */
	/* What the packet's verdict needs, copied from the flow (none of
	 * it changes while the flow lives): a hit reads no more of the
	 * flow than the line its counters are on. */
	uint32_t hash;      /* f->hash */
	uint8_t verdict;    /* f->decision.verdict */
	uint8_t local;      /* LOCAL, and the key's port and direction are
			       the flow's first, which went to our address
			       (dp_ip's own test) */
	uint16_t out_port;  /* FORWARD: the port this direction leaves by
			       (the other goes back the way the flow came) */
} __attribute__((aligned(64)));

struct dp_fast_cache {
	struct dp_fast_entry *e;
	uint32_t set_mask;
	uint64_t seed;
};

/* A cache of at least entries entries (rounded up to a power of two);
 * NULL on failure. */
struct dp_fast_cache *dp_fast_cache_create(uint32_t entries);
void dp_fast_cache_destroy(struct dp_fast_cache *c);

static inline struct dp_fast_entry *dp_fast_set(const struct dp_fast_cache *c,
						const struct dp_fast_pkt *fp)
{
	const uint64_t *k = fp->key;
	uint64_t h;

	/* three independent multiplies: short latency; a collision only
	 * costs a flow-table lookup */
	h = (k[0] ^ k[2] ^ c->seed) * 0x9e3779b97f4a7c15ull;
	h ^= (k[1] ^ k[3]) * 0xc2b2ae3d27d4eb4full;
	h ^= (k[4] ^ (c->seed >> 7)) * 0x165667b19e3779f9ull;
	return &c->e[2 * ((uint32_t)(h >> 40) & c->set_mask)];
}

static inline int dp_fast_key_eq(const uint64_t *a, const uint64_t *b)
{
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) |
		(a[3] ^ b[3]) | (a[4] ^ b[4])) == 0;
}

/* The entry of set s that holds fp's key, or NULL: its flow may have
 * gone since (dp_fast_find checks). Reads the set only, so a burst can
 * sort hits from misses before touching any flow. */
static inline struct dp_fast_entry *dp_fast_match(struct dp_fast_entry *s,
						  const struct dp_fast_pkt *fp)
{
	if (s[0].f && dp_fast_key_eq(s[0].key, fp->key))
		return &s[0];
	if (s[1].f && dp_fast_key_eq(s[1].key, fp->key))
		return &s[1];
	return NULL;
}

static inline int dp_fast_dir(const struct dp_fast_entry *e)
{
	return (int)(e->serial & 1);
}

/* fp's entry in set s while its flow lives, else NULL. */
static inline const struct dp_fast_entry *dp_fast_find(struct dp_fast_entry *s,
						       const struct dp_fast_pkt *fp)
{
	const struct dp_fast_entry *e = dp_fast_match(s, fp);

	if (!e || e->f->serial != (e->serial & ~1ull))
		return NULL;
	return e;
}

/* e, but for its key: flow f, seen in direction dir on port. */
static inline void dp_fast_entry_of(struct dp_fast_entry *e,
				    struct dp_flow *f, int dir, uint16_t port)
{
	e->f = f;
	e->serial = f->serial | (dir ? 1u : 0u);
	e->hash = f->hash;
	e->verdict = (uint8_t)f->decision.verdict;
	e->local = f->decision.verdict == STRATA_LOCAL && dir == 0 &&
		   port == f->info.in_port && f->info.to_local;
	e->out_port = dir == 0 ? f->decision.out_port : f->info.in_port;
}

/* Remember that fp (received on port) belongs to f in direction dir;
 * returns the entry. */
static inline const struct dp_fast_entry *
dp_fast_fill(struct dp_fast_entry *s, const struct dp_fast_pkt *fp,
	     struct dp_flow *f, int dir, uint16_t port)
{
	/* the key in the first way already (a stale entry, or an earlier
	 * packet of the burst filled it): no second copy of it */
	if (!s[0].f || !dp_fast_key_eq(s[0].key, fp->key))
		s[1] = s[0];
	memcpy(s[0].key, fp->key, sizeof(s[0].key));
	dp_fast_entry_of(&s[0], f, dir, port);
	return &s[0];
}

#endif
