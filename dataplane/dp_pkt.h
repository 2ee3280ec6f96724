/* The parsed view of one packet.
 *
 * The parser never copies or changes packet bytes: it records offsets
 * into the buffer it was given and the decoded header fields that the
 * rest of the dataplane keys on. Offsets are from the first byte of the
 * buffer (the Ethernet header, or the IP header on raw-IP links).
 *
 * What dp_parse() defines (it does not clear the whole view, to stay
 * cheap per packet). On success:
 * - always: len, flags, link, l3, vlan_tci (0 without a tag), ethertype
 *   (0x0800/0x86dd on raw-IP links), eth_dst/eth_src (zero on raw-IP
 *   links), all offsets and lengths, ip_version, ttl, tos, l4_proto,
 *   src, dst, every frag_* field, sport, dport, tcp_flags, icmp_type,
 *   icmp_code and arp_op. Fields that do not apply are 0.
 * - ARP: l3_len 28, l4_off = payload_off = end of the ARP body, l4_len 0;
 *   src/dst mirror arp_spa/arp_tpa.
 * - arp_sha, arp_tha, arp_spa, arp_tpa: only when l3 == DP_L3_ARP.
 * - fragments: l4_off is the first byte of fragment data (after the
 *   IPv6 fragment header), l4_len the fragment data length,
 *   payload_off = l4_off; sport/dport/tcp_flags/icmp_* stay 0.
 * - other L4 protocols and IPv6 no-next-header: l4_off set, l4_len the
 *   rest of the datagram, payload_off = l4_off, L4 fields 0.
 * - F_L2_BCAST and F_L2_MCAST are exclusive (broadcast is not also
 *   reported as multicast).
 * - F_L4_CSUM_OK: TCP, UDP, ICMP and ICMPv6 checksums were verified, or
 *   the caller vouched for them (DP_PARSE_L4_CSUM_OK), or a v4 UDP
 *   datagram carries no checksum (zero). Not set (and not checked) when
 *   an IPv6 routing header has segments left: the pseudo-header then
 *   uses the final destination, which v->dst is not.
 * On failure the view is partly written and must not be used. */
#ifndef STRATA_DP_PKT_H
#define STRATA_DP_PKT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

enum dp_link {
	DP_LINK_ETH = 0, /* Ethernet II, with optional 802.1Q/802.1ad tags */
	DP_LINK_RAW_IP,  /* IPv4 or IPv6 by the version nibble (TUN, DLT_RAW) */
};

enum dp_l3 {
	DP_L3_NONE = 0,
	DP_L3_ARP,
	DP_L3_IPV4,
	DP_L3_IPV6,
};

/* An IPv4 address is stored as an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) so that one type and one compare serve both. */
union dp_addr {
	uint8_t b[16];
	uint32_t w[4];
	uint64_t q[2];
};

#define DP_PKT_F_FRAGMENT    (1u << 0) /* IP fragment: L4 not parsed */
#define DP_PKT_F_FIRST_FRAG  (1u << 1) /* offset 0, more fragments follow */
#define DP_PKT_F_VLAN        (1u << 2)
#define DP_PKT_F_L4_CSUM_OK  (1u << 3) /* L4 checksum verified (or by NIC) */
#define DP_PKT_F_IP4_OPTIONS (1u << 4)
#define DP_PKT_F_L2_BCAST    (1u << 5) /* destination MAC broadcast */
#define DP_PKT_F_L2_MCAST    (1u << 6) /* destination MAC multicast */
#define DP_PKT_F_IP6_ROUTING (1u << 7) /* a routing header was present */

struct dp_pkt_view {
	uint32_t len;       /* bytes in the buffer the parser was given */
	uint32_t flags;     /* DP_PKT_F_* */
	enum dp_link link;
	enum dp_l3 l3;

	/* L2 (Ethernet links only) */
	uint8_t eth_dst[6];
	uint8_t eth_src[6];
	uint16_t vlan_tci;   /* innermost tag, host order; valid if F_VLAN */
	uint16_t ethertype;  /* host order, after tags */

	/* offsets */
	uint16_t l3_off;
	uint16_t l4_off;     /* first byte after IPv4 options / IPv6 ext hdrs */
	uint16_t payload_off;/* first byte after the L4 header */

	/* L3 */
	uint16_t l3_len;     /* IP datagram length from the header (v4 total
				length, v6 40 + payload length); the buffer may
				hold trailing padding past l3_off + l3_len */
	uint8_t ip_version;  /* 4 or 6 */
	uint8_t ttl;         /* TTL or hop limit */
	uint8_t tos;         /* DSCP/ECN (v4 TOS, v6 traffic class) */
	uint8_t l4_proto;    /* IPPROTO_*, after IPv6 extension headers */
	union dp_addr src;
	union dp_addr dst;

	/* fragments (valid when F_FRAGMENT) */
	uint32_t frag_id;    /* v4 16-bit id or v6 32-bit identification */
	uint16_t frag_off;   /* byte offset of this fragment's data */
	bool frag_more;      /* MF bit */
	uint16_t frag_hdr_off; /* IPv6: offset of the fragment header */
	uint16_t frag_prev_nh_off; /* IPv6: offset of the next-header byte
				      that names the fragment header */

	/* L4 (valid unless F_FRAGMENT) */
	uint16_t l4_len;     /* L4 header + payload, from L3 lengths */
	uint16_t sport;      /* host order; ICMP echo: the identifier */
	uint16_t dport;      /* host order; ICMP echo: 0 */
	uint8_t tcp_flags;
	uint8_t icmp_type;
	uint8_t icmp_code;

	/* ARP (valid when l3 == DP_L3_ARP) */
	uint16_t arp_op;
	uint8_t arp_sha[6];
	uint8_t arp_tha[6];
	union dp_addr arp_spa;
	union dp_addr arp_tpa;
};

static inline bool dp_addr_is_v4(const union dp_addr *a)
{
	return a->q[0] == 0 && a->w[2] == __builtin_bswap32(0x0000ffff);
}

static inline void dp_addr_from_v4(union dp_addr *a, uint32_t be_v4)
{
	/* Two 64-bit stores: readers load q[1] whole (flow keys, compares),
	 * and a load spanning two narrower stores stalls on store
	 * forwarding. */
	a->q[0] = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	a->q[1] = (uint64_t)be_v4 << 32 | 0xffff0000u;
#else
	a->q[1] = (uint64_t)0x0000ffffu << 32 | be_v4;
#endif
}

/* A socket address into 16 bytes (IPv4 mapped) and a host-order port. */
static inline void dp_addr_from_sockaddr(union dp_addr *a, uint16_t *port,
					 const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		dp_addr_from_v4(a, s4->sin_addr.s_addr);
		if (port)
			*port = ntohs(s4->sin_port);
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		memcpy(a->b, &s6->sin6_addr, 16);
		if (port)
			*port = ntohs(s6->sin6_port);
	}
}

/* "192.0.2.1" or "2001:db8::1" (cap >= INET6_ADDRSTRLEN). */
static inline const char *dp_addr_format(const union dp_addr *a, char *out,
					 size_t cap)
{
	if (dp_addr_is_v4(a))
		return inet_ntop(AF_INET, a->b + 12, out, (socklen_t)cap);
	return inet_ntop(AF_INET6, a->b, out, (socklen_t)cap);
}

static inline bool dp_addr_eq(const union dp_addr *a, const union dp_addr *b)
{
	return a->q[0] == b->q[0] && a->q[1] == b->q[1];
}

#endif
