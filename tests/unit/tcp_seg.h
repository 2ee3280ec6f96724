/* Hand-built IPv4 + TCP segments, checksums right, for the unit tests
 * that feed the stack (test_lwip.c, test_proxy.c). */
#ifndef STRATA_TEST_TCP_SEG_H
#define STRATA_TEST_TCP_SEG_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dataplane/dp_parse.h"

/* src:sport -> dst:dport into b; an MSS option of 1460 when mss.
 * Returns the packet's length. */
static inline uint16_t tcp_seg_build(uint8_t *b, const char *src,
				     uint16_t sport, const char *dst,
				     uint16_t dport, uint32_t seq, uint32_t ack,
				     uint8_t flags, const void *data,
				     uint16_t len, bool mss)
{
	struct dp_pkt_view v = { .ip_version = 4 };
	uint16_t thl = mss ? 24 : 20, tot = (uint16_t)(20 + thl + len), cs;
	uint8_t *t = b + 20;

	memset(b, 0, 20u + thl);
	b[0] = 0x45;
	b[2] = (uint8_t)(tot >> 8); b[3] = (uint8_t)tot;
	b[8] = 64;
	b[9] = 6;
	inet_pton(AF_INET, src, b + 12);
	inet_pton(AF_INET, dst, b + 16);
	cs = dp_csum_fold(dp_csum_partial(b, 20, 0));
	b[10] = (uint8_t)(cs >> 8); b[11] = (uint8_t)cs;
	t[0] = (uint8_t)(sport >> 8); t[1] = (uint8_t)sport;
	t[2] = (uint8_t)(dport >> 8); t[3] = (uint8_t)dport;
	t[4] = (uint8_t)(seq >> 24); t[5] = (uint8_t)(seq >> 16);
	t[6] = (uint8_t)(seq >> 8); t[7] = (uint8_t)seq;
	t[8] = (uint8_t)(ack >> 24); t[9] = (uint8_t)(ack >> 16);
	t[10] = (uint8_t)(ack >> 8); t[11] = (uint8_t)ack;
	t[12] = (uint8_t)((thl / 4) << 4);
	t[13] = flags;
	t[14] = 0xfa; t[15] = 0xf0; /* window 64240 */
	if (mss) {
		t[20] = 2; t[21] = 4; t[22] = 0x05; t[23] = 0xb4;
	}
	if (len)
		memcpy(t + thl, data, len);
	dp_addr_from_v4(&v.src, 0);
	memcpy(v.src.b + 12, b + 12, 4);
	dp_addr_from_v4(&v.dst, 0);
	memcpy(v.dst.b + 12, b + 16, 4);
	cs = dp_csum_fold(dp_csum_partial(t, thl + len,
					  dp_csum_pseudo(&v, 6, thl + len)));
	t[16] = (uint8_t)(cs >> 8); t[17] = (uint8_t)cs;
	return tot;
}

#endif
