/* libFuzzer target for the L2/L3 answers (dp_l3).
 *
 * Byte 0: bit 0 picks the link (Ethernet or raw IP), bits 1-2 whether
 * the NIC "verified" checksums (DP_PARSE_* flags), bits 3-5 a small
 * output buffer size class. The rest is one packet. It is parsed with
 * dp_parse; every answer that applies is built from it, and each answer
 * must parse again with dp_parse, with the fields that say what it is.
 * The builders that take addresses are fed the parsed ones. An echo
 * request the fast path takes (dp_fast.h; its MAC: the frame's own
 * destination) must get the same reply bytes from it. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dp_fast.h"
#include "dataplane/dp_l3.h"
#include "dataplane/dp_parse.h"

static const uint8_t our_mac[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01 };

static uint8_t pkt[65536 + 64];
static uint8_t fast_pkt[65536 + 64];
static uint8_t out[2048];

/* Built answers carry fresh checksums and must parse with no help; an
 * echo reply's ICMP checksum is updated incrementally from the request's,
 * so it is only as good as the one the NIC (pflags) vouched for. */
static void reparse_f(const uint8_t *b, int n, enum dp_link link,
		      uint32_t pflags, struct dp_pkt_view *v2)
{
	if (n <= 0)
		return;
	if (dp_parse(b, (uint32_t)n, link, pflags, v2) != 0)
		abort();
}

static void reparse(const uint8_t *b, int n, enum dp_link link,
		    struct dp_pkt_view *v2)
{
	reparse_f(b, n, link, 0, v2);
}

static void answers(const uint8_t *p, uint32_t len, enum dp_link link,
		    uint32_t pflags, uint32_t cap)
{
	static const uint8_t types4[][2] = { { 3, 3 }, { 3, 2 }, { 3, 4 },
					     { 11, 0 }, { 12, 0 } };
	static const uint8_t types6[][2] = { { 1, 4 }, { 4, 1 }, { 2, 0 },
					     { 3, 0 }, { 4, 2 } };
	struct dp_pkt_view v, v2;
	union dp_addr src;
	unsigned i;
	int n;

	if (dp_parse(p, len, link, pflags, &v) != 0)
		return;

	if (v.l3 == DP_L3_ARP) {
		memcpy(pkt, p, len);
		n = dp_l3_arp_reply_inplace(pkt, len, &v, our_mac);
		if (n > 0) {
			reparse(pkt, n, link, &v2);
			if (v2.l3 != DP_L3_ARP || v2.arp_op != 2 ||
			    !dp_addr_eq(&v2.arp_spa, &v.arp_tpa) ||
			    !dp_addr_eq(&v2.arp_tpa, &v.arp_spa))
				abort();
		}
		n = dp_l3_build_arp_request(out, cap, our_mac, &v.arp_tpa,
					    &v.arp_spa);
		reparse(out, n, DP_LINK_ETH, &v2);
		return;
	}
	if (v.l3 != DP_L3_IPV4 && v.l3 != DP_L3_IPV6)
		return;

	if (!(v.flags & DP_PKT_F_FRAGMENT) &&
	    (v.l4_proto == 1 || v.l4_proto == 58)) {
		memcpy(pkt, p, len);
		n = dp_l3_echo_reply_inplace(pkt, len, &v, our_mac);
		if (n > 0) {
			reparse_f(pkt, n, link, pflags & DP_PARSE_L4_CSUM_OK,
				  &v2);
			if (v2.l4_proto != v.l4_proto ||
			    v2.icmp_type != (v.ip_version == 4 ? 0 : 129) ||
			    !dp_addr_eq(&v2.src, &v.dst) ||
			    !dp_addr_eq(&v2.dst, &v.src) || v2.ttl != 64 ||
			    v2.l4_len != v.l4_len)
				abort();
		}
		/* The fast path's reply, where it takes the packet, is
		 * the same bytes. */
		struct dp_fast_pkt fp;

		memcpy(fast_pkt, p, len);
		if (dp_fast_classify(fast_pkt, len, link, p, 0, pflags, &fp) ==
		    DP_FAST_ECHO) {
			int nf = dp_l3_echo_reply_fast(fast_pkt, link, fp.l3_off,
						       fp.ip_version, fp.l4_len,
						       our_mac);

			if (nf != n || (n > 0 && memcmp(fast_pkt, pkt, n)))
				abort();
		}
		if (v.l4_proto == 58 && link == DP_LINK_ETH) {
			n = dp_l3_build_ndp_na(out, cap, p, &v, our_mac);
			if (n > 0) {
				reparse(out, n, link, &v2);
				if (v2.icmp_type != 136 || v2.ttl != 255)
					abort();
			}
		}
	}

	if (v.ip_version == 4) {
		dp_addr_from_v4(&src, __builtin_bswap32(0xc0000201));
		for (i = 0; i < sizeof(types4) / sizeof(types4[0]); i++) {
			n = dp_l3_build_icmp_error(out, cap, p, &v, types4[i][0],
						   types4[i][1], 1280, &src,
						   our_mac);
			reparse(out, n, link, &v2);
			if (n > 0 && (v2.l4_proto != 1 ||
				      v2.icmp_type != types4[i][0]))
				abort();
		}
	} else {
		memset(&src, 0, sizeof(src));
		src.b[0] = 0x20;
		src.b[1] = 0x01;
		src.b[2] = 0x0d;
		src.b[3] = 0xb8;
		src.b[15] = 1;
		for (i = 0; i < sizeof(types6) / sizeof(types6[0]); i++) {
			n = dp_l3_build_icmp_error(out, cap, p, &v, types6[i][0],
						   types6[i][1], 1280, &src,
						   our_mac);
			reparse(out, n, link, &v2);
			if (n > 0 && (v2.l4_proto != 58 ||
				      v2.icmp_type != types6[i][0]))
				abort();
		}
	}

	if (v.l4_proto == 6 && !(v.flags & DP_PKT_F_FRAGMENT)) {
		n = dp_l3_build_tcp_rst(out, cap, p, &v, our_mac);
		if (n > 0) {
			reparse(out, n, link, &v2);
			if (v2.l4_proto != 6 || !(v2.tcp_flags & 0x04) ||
			    v2.sport != v.dport || v2.dport != v.sport)
				abort();
		}
	}

	if (link == DP_LINK_ETH) {
		if (v.ip_version == 4)
			n = dp_l3_build_arp_request(out, cap, our_mac, &v.dst,
						    &v.src);
		else
			n = dp_l3_build_ndp_ns(out, cap, our_mac, &v.dst,
					       &v.src);
		reparse(out, n, DP_LINK_ETH, &v2);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t caps[8] = { 2048, 2048, 1600, 1294, 600, 128,
					  64, 40 };
	enum dp_link link;
	uint32_t pflags = 0;

	if (size < 1 || size - 1 > 65536)
		return 0;
	link = data[0] & 1 ? DP_LINK_RAW_IP : DP_LINK_ETH;
	if (data[0] & 2)
		pflags |= DP_PARSE_L3_CSUM_OK;
	if (data[0] & 4)
		pflags |= DP_PARSE_L4_CSUM_OK;
	answers(data + 1, (uint32_t)(size - 1), link, pflags,
		caps[(data[0] >> 3) & 7]);
	return 0;
}
