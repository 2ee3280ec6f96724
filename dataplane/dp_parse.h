/* Packet parser: bytes in, a dp_pkt_view out, or a drop reason.
 *
 * Pure function of its input: no allocation, no global state, safe on
 * any bytes (it is fuzzed). Lengths in headers are checked against the
 * buffer before any read. */
#ifndef STRATA_DP_PARSE_H
#define STRATA_DP_PARSE_H

#include <stdint.h>
#include <string.h>

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

/* Internet checksum helpers (RFC 1071), used by parser and responders.
 *
 * Sums are kept in "network order as numbers": the value a big-endian
 * reader would see, so dp_csum_fold() gives the 16-bit field to store
 * big-endian. Internally native 64-bit words are added, which RFC 1071's
 * byte-order independence allows, and swapped once at the end. */

/* Ones' complement sum of p[0..n) as native 16-bit words, folded to
 * 16 bits (byte-swapped on little-endian hosts). 32-bit words are added
 * into two 64-bit accumulators: 2^16 = 1 modulo 2^16 - 1, so the halves
 * fold later, and no add waits on another's carry. Inlined everywhere:
 * a constant n (a 20-byte header, a 16-byte address) unrolls to loads
 * and adds. */
static inline __attribute__((always_inline)) uint32_t
dp_csum_native(const uint8_t *p, uint32_t n)
{
	uint64_t s0 = 0, s1 = 0, s;
	uint32_t a, b;
	uint16_t x16;

	while (n >= 16) {
		uint32_t c, d;

		memcpy(&a, p, 4);
		memcpy(&b, p + 4, 4);
		memcpy(&c, p + 8, 4);
		memcpy(&d, p + 12, 4);
		s0 += (uint64_t)a + c;
		s1 += (uint64_t)b + d;
		p += 16;
		n -= 16;
	}
	if (n >= 8) {
		memcpy(&a, p, 4);
		memcpy(&b, p + 4, 4);
		s0 += a;
		s1 += b;
		p += 8;
		n -= 8;
	}
	if (n >= 4) {
		memcpy(&a, p, 4);
		s0 += a;
		p += 4;
		n -= 4;
	}
	if (n >= 2) {
		memcpy(&x16, p, 2);
		s1 += x16;
		p += 2;
		n -= 2;
	}
	if (n) {
		/* The odd byte is the high half of a big-endian word. */
		x16 = 0;
		memcpy(&x16, p, 1);
		s0 += x16;
	}
	s = s0 + s1;
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

static inline uint32_t dp_csum_fold16(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return s;
}

/* Sum of buf[0..len) added to sum, folded to at most 0xffff (not
 * complemented), so that callers can add many partial sums in 32 bits. */
static inline __attribute__((always_inline)) uint32_t
dp_csum_partial(const void *buf, uint32_t len, uint32_t sum)
{
	uint32_t s = dp_csum_native(buf, len);

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	s = __builtin_bswap16((uint16_t)s);
#endif
	return dp_csum_fold16(dp_csum_fold16(sum) + s);
}

/* The checksum field for sum. */
static inline uint16_t dp_csum_fold(uint32_t sum)
{
	return (uint16_t)~dp_csum_fold16(sum);
}

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
