/* Toeplitz RSS hashing. See dp_rss.h.
 *
 * The Toeplitz hash XORs, for every set bit i of the input (MSB of the
 * first byte is bit 0), the 32 key bits starting at key bit i. That
 * makes it linear: the hash of the input is the XOR of per-byte
 * contributions, each a function of the byte's value and position.
 *
 * With dp_rss_key the key repeats every two bytes, so the contribution
 * of a byte depends only on its value and on whether its position is
 * even or odd. Contributions are linear in the byte (T(a) ^ T(b) =
 * T(a ^ b)), so the whole hash is T_even[XOR of the even-position bytes]
 * ^ T_odd[XOR of the odd-position bytes]: fold the input with 64-bit
 * XORs, then two lookups in 256-entry tables (2 KiB, built at compile
 * time), for IPv4 and IPv6 alike. The same periodicity is what makes
 * the hash symmetric (addresses and ports move by an even number of bytes
 * when swapped), and also why it carries at most 16 bits of entropy: it
 * is a linear function of the XOR of the input's 16-bit words. It is fine
 * to pick a queue or a worker; the flow table hashes on its own. */
#include "dp_rss.h"

#include <netinet/in.h>

/* 0x6d5a repeated: Woo and Park's symmetric key. */
const uint8_t dp_rss_key[DP_RSS_KEY_LEN] = {
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

/* 64 key bits starting at an even (K_EVEN) or odd (K_ODD) byte. */
#define K_EVEN 0x6d5a6d5a6d5a6d5aull
#define K_ODD  0x5a6d5a6d5a6d5a6dull

/* The 32-bit key window for bit b (0 = MSB) of a byte. */
#define W(k, b) ((uint32_t)((k) >> (32 - (b))))
#define BIT(k, x, b) (((x) & (0x80 >> (b))) ? W(k, b) : 0u)
#define T(k, x) (BIT(k, x, 0) ^ BIT(k, x, 1) ^ BIT(k, x, 2) ^           \
		 BIT(k, x, 3) ^ BIT(k, x, 4) ^ BIT(k, x, 5) ^           \
		 BIT(k, x, 6) ^ BIT(k, x, 7))
#define T4(k, x) T(k, x), T(k, (x) + 1), T(k, (x) + 2), T(k, (x) + 3)
#define T16(k, x) T4(k, x), T4(k, (x) + 4), T4(k, (x) + 8), T4(k, (x) + 12)
#define T64(k, x) T16(k, x), T16(k, (x) + 16), T16(k, (x) + 32),         \
		  T16(k, (x) + 48)
#define T256(k) T64(k, 0), T64(k, 64), T64(k, 128), T64(k, 192)

static const uint32_t dp_rss_tbl[2][256] = {
	{ T256(K_EVEN) },
	{ T256(K_ODD) },
};

uint32_t dp_rss_toeplitz(const uint8_t *key, const uint8_t *input,
			 uint32_t len)
{
	uint32_t hash = 0, i, win;
	int b;

	/* Each input byte needs the 4 key bytes from its position plus
	 * one more for the sliding window: the key covers 36 bytes. */
	if (len > DP_RSS_KEY_LEN - 4)
		len = DP_RSS_KEY_LEN - 4;
	win = (uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 |
	      (uint32_t)key[2] << 8 | key[3];
	for (i = 0; i < len; i++) {
		uint8_t next = key[i + 4];

		for (b = 7; b >= 0; b--) {
			if (input[i] & (1u << b))
				hash ^= win;
			win = win << 1 | ((next >> b) & 1u);
		}
	}
	return hash;
}

uint32_t dp_rss_hash_view(const struct dp_pkt_view *v)
{
	unsigned even, odd;
	uint64_t x;

	/* x: the input's bytes, as loaded from memory, XORed together in
	 * 64-bit words; every word starts at an even input position. */
	if (v->l3 == DP_L3_IPV4)
		x = v->src.w[3] ^ v->dst.w[3];
	else if (v->l3 == DP_L3_IPV6)
		x = v->src.q[0] ^ v->src.q[1] ^ v->dst.q[0] ^ v->dst.q[1];
	else
		return 0;
	x ^= x >> 32;
	x ^= x >> 16;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	even = (unsigned)(x & 0xff);
	odd = (unsigned)((x >> 8) & 0xff);
#else
	even = (unsigned)((x >> 8) & 0xff);
	odd = (unsigned)(x & 0xff);
#endif
	/* Ports follow the addresses in network order: the high byte of
	 * each sits at an even position. */
	if (!(v->flags & DP_PKT_F_FRAGMENT) &&
	    (v->l4_proto == IPPROTO_TCP || v->l4_proto == IPPROTO_UDP)) {
		even ^= (unsigned)((v->sport ^ v->dport) >> 8);
		odd ^= (unsigned)((v->sport ^ v->dport) & 0xff);
	}
	return dp_rss_tbl[0][even] ^ dp_rss_tbl[1][odd];
}
