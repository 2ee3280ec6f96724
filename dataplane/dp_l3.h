/* L2/L3 answers strata gives for its own addresses, as byte builders.
 *
 * No mbufs here: each function works on plain buffers so that it can be
 * unit-tested and fuzzed alone. "Inplace" functions turn a request into
 * its reply in the same buffer and return the reply's length; "build"
 * functions write a new packet into out (cap bytes) and return its
 * length. All return a negative enum dp_drop_reason on failure.
 * Ethernet replies go back to the request's source MAC from our_mac;
 * on DP_LINK_RAW_IP there is no L2 header and MACs are ignored. */
#ifndef STRATA_DP_L3_H
#define STRATA_DP_L3_H

#include <stdint.h>

#include "dp_drop.h"
#include "dp_pkt.h"

/* ARP request for one of our addresses -> ARP reply (Ethernet only). */
int dp_l3_arp_reply_inplace(uint8_t *buf, uint32_t len,
			    const struct dp_pkt_view *v,
			    const uint8_t our_mac[6]);

/* ICMP echo request -> echo reply (v4 or v6 by v->ip_version). The IP
 * header is rebuilt the way Linux does: TTL/hop limit 64, no IPv4
 * options or IPv6 extension headers (the message moves up), TOS/traffic
 * class kept, DF clear (Linux's replies carry none), the request's v4 id
 * and v6 flow label kept (Linux draws its own; they cannot match).
 * Payload and identifiers kept, checksums updated. Trailing link padding
 * is trimmed from the result. Multicast-destined v6 echoes are refused
 * (-DP_DROP_ICMP6_UNHANDLED_TYPE): the reply needs a unicast source. */
int dp_l3_echo_reply_inplace(uint8_t *buf, uint32_t len,
			     const struct dp_pkt_view *v,
			     const uint8_t our_mac[6]);
/* The same reply for a request dp_fast_classify() accepted (no IPv4
 * options, no IPv6 extension headers, checksum verified): the IP
 * header at l3_off, the ICMP message of l4_len bytes right behind it. */
int dp_l3_echo_reply_fast(uint8_t *buf, enum dp_link link, uint16_t l3_off,
			  int ip_version, uint16_t l4_len,
			  const uint8_t our_mac[6]);

/* Neighbour solicitation for one of our addresses -> neighbour
 * advertisement (solicited, override, with target link-layer option).
 * A solicitation from :: (DAD) is answered to ff02::1 as RFC 4861 asks.
 * The caller checks that the target is ours; the NS is validated per
 * RFC 4861 7.1.1 (-DP_DROP_NDP_BAD). */
int dp_l3_build_ndp_na(uint8_t *out, uint32_t cap, const uint8_t *req,
		       const struct dp_pkt_view *v, const uint8_t our_mac[6]);

/* ICMP / ICMPv6 error about packet orig (view v, v->len bytes), from
 * our_src, quoting as much of orig as Linux does (v4: up to 576 bytes
 * total; v6: up to 1280). info is the next-hop MTU for "fragmentation
 * needed" and "packet too big", the pointer for v4 parameter problems
 * and v6 parameter problems other than code 1 (whose pointer, at the
 * last next-header field, is computed here), else 0. Never answers an
 * ICMP error, a non-first fragment, a broadcast/multicast/unspecified
 * source or (except v6 "too big") a broadcast/multicast destination:
 * returns -DP_DROP_ICMP_UNHANDLED_TYPE (v4) or
 * -DP_DROP_ICMP6_UNHANDLED_TYPE (v6) then. */
int dp_l3_build_icmp_error(uint8_t *out, uint32_t cap, const uint8_t *orig,
			   const struct dp_pkt_view *v, uint8_t type,
			   uint8_t code, uint32_t info,
			   const union dp_addr *our_src,
			   const uint8_t our_mac[6]);

/* TCP RST answering a segment to a closed port (RFC 9293 3.10.7.1):
 * with ACK, seq = its ack; else ACK with seq + data + SYN + FIN. A RST
 * is never answered (-DP_DROP_NO_STACK). */
int dp_l3_build_tcp_rst(uint8_t *out, uint32_t cap, const uint8_t *orig,
			const struct dp_pkt_view *v, const uint8_t our_mac[6]);

/* Resolution requests for strata's own transmits (Ethernet only). */
int dp_l3_build_arp_request(uint8_t *out, uint32_t cap,
			    const uint8_t our_mac[6],
			    const union dp_addr *our_ip,
			    const union dp_addr *target);
int dp_l3_build_ndp_ns(uint8_t *out, uint32_t cap, const uint8_t our_mac[6],
		       const union dp_addr *our_ip,
		       const union dp_addr *target);

#endif
