/* Packet parser: bytes in, a dp_pkt_view out, or a drop reason.
 *
 * Pure function of its input: no allocation, no global state, safe on
 * any bytes (it is fuzzed). Lengths in headers are checked against the
 * buffer before any read. */
#ifndef STRATA_DP_PARSE_H
#define STRATA_DP_PARSE_H

#include "dp_drop.h"
#include "dp_pkt.h"

/* Flags for dp_parse(); bit 31 is reserved for the parser itself. */
#define DP_PARSE_L3_CSUM_OK (1u << 0) /* NIC verified the IPv4 header csum */
#define DP_PARSE_L4_CSUM_OK (1u << 1) /* NIC verified the L4 checksum */

/* Parse one packet.
 * Returns 0 and fills *v, or a negative enum dp_drop_reason
 * (-DP_DROP_IP4_TRUNCATED, ...) when the packet must be dropped.
 * Fragments parse successfully with DP_PKT_F_FRAGMENT set and L4 fields
 * unset; reassemble and parse the whole datagram again.
 * Unknown ethertypes return -DP_DROP_ETHERTYPE_UNSUPPORTED; unknown L4
 * protocols parse successfully (l4 fields zero) so that the flow table
 * and the protocol-unreachable answer can see them.
 * A buffer shorter than an IP header's own length fields gives
 * *_TRUNCATED; lengths that contradict each other (total length below
 * IHL, UDP length not the IP payload length, ...) give the BAD_* reason
 * of the header that lies. Bytes after the IP datagram (link padding)
 * are ignored. Which view fields are defined is listed in dp_pkt.h. */
int dp_parse(const uint8_t *buf, uint32_t len, enum dp_link link,
	     uint32_t flags, struct dp_pkt_view *v);

/* Internet checksum helpers (RFC 1071), used by parser and responders. */
uint32_t dp_csum_partial(const void *buf, uint32_t len, uint32_t sum);
uint16_t dp_csum_fold(uint32_t sum);
/* Pseudo-header sum for L4 checksums of v (v4 or v6), for l4_len bytes. */
uint32_t dp_csum_pseudo(const struct dp_pkt_view *v, uint8_t proto,
			uint32_t l4_len);
/* Full L4 checksum over buf[v->l4_off .. +l4_len] (pseudo-header from
 * v->src/dst, none for ICMPv4); 0 means valid. Sums are kept as 16-bit
 * big-endian words read as numbers: store dp_csum_fold()'s result in
 * network order. dp_csum_partial() returns at most 0xffff, so partial
 * sums can be added up before folding. */
uint16_t dp_csum_l4(const uint8_t *buf, const struct dp_pkt_view *v);

#endif
