/* Toeplitz hashing with the symmetric key.
 *
 * The key 0x6d5a repeated makes the Toeplitz hash of (src, dst, sport,
 * dport) equal that of (dst, src, dport, sport), so both directions of a
 * flow land on the same queue. NICs are programmed with the same key
 * (dp_rss_key), so a flow steered by hardware and one steered in
 * software (TUN, pcap) reach the same lcore. */
#ifndef STRATA_DP_RSS_H
#define STRATA_DP_RSS_H

#include <stdint.h>

#include "dp_pkt.h"

#define DP_RSS_KEY_LEN 40
extern const uint8_t dp_rss_key[DP_RSS_KEY_LEN];

/* Toeplitz over raw bytes of input (as a NIC sees them, network order). */
uint32_t dp_rss_toeplitz(const uint8_t *key, const uint8_t *input,
			 uint32_t len);

/* The hash a NIC with dp_rss_key computes for this packet: IPv4/IPv6
 * addresses, plus ports for TCP and UDP (not for fragments). */
uint32_t dp_rss_hash_view(const struct dp_pkt_view *v);

#endif
