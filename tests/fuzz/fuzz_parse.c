/* libFuzzer target for dp_parse and the checksum helpers.
 *
 * Byte 0: bit 0 picks the link (0 Ethernet, 1 raw IP, as written by
 * tools/pcap_to_seeds.py); bit 1 passes DP_PARSE_L3_CSUM_OK and bit 2
 * DP_PARSE_L4_CSUM_OK, so that mutated packets can get past checksums.
 * The rest is the packet, parsed in place from a buffer of exactly its
 * size. A successful parse must give a view whose offsets and lengths
 * hold together; checksums the parser says it verified must verify;
 * vouching for checksums must not change anything else in the view.
 * dp_csum_partial is checked against a byte-at-a-time sum at an odd
 * address. Whatever the fast path (dp_fast.h) takes, dp_parse must
 * have taken as the same packet. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dp_fast.h"
#include "dataplane/dp_parse.h"

#define CHECK(c)                                                        \
	do {                                                            \
		if (!(c))                                               \
			__builtin_trap();                               \
	} while (0)

static uint32_t ref_sum(const uint8_t *p, uint32_t n)
{
	uint64_t s = 0;
	uint32_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

static void check_view(const uint8_t *b, uint32_t len, uint32_t pflags,
		       const struct dp_pkt_view *v)
{
	uint32_t l3_end = (uint32_t)v->l3_off + v->l3_len;

	CHECK(v->len == len);
	CHECK(v->l3 == DP_L3_ARP || v->l3 == DP_L3_IPV4 ||
	      v->l3 == DP_L3_IPV6);
	CHECK(l3_end <= len);
	CHECK(v->l4_off >= v->l3_off);
	CHECK(v->payload_off >= v->l4_off);
	CHECK(!((v->flags & DP_PKT_F_L2_BCAST) &&
		(v->flags & DP_PKT_F_L2_MCAST)));
	if (v->link == DP_LINK_RAW_IP)
		CHECK(v->l3_off == 0 && !(v->flags & DP_PKT_F_VLAN));
	else
		CHECK(v->l3_off >= 14 && v->l3_off <= 22);
	if (v->l3 == DP_L3_ARP) {
		CHECK(v->l3_len == 28 && v->l4_len == 0);
		CHECK(v->l4_off == l3_end && v->payload_off == l3_end);
		return;
	}
	CHECK((uint32_t)v->l4_off + v->l4_len == l3_end);
	CHECK(v->payload_off <= l3_end);
	CHECK(v->ip_version == (v->l3 == DP_L3_IPV4 ? 4 : 6));
	CHECK((b[v->l3_off] >> 4) == v->ip_version);
	if (v->ip_version == 4) {
		CHECK(v->l4_off - v->l3_off == (b[v->l3_off] & 0xf) * 4u);
		CHECK(v->frag_id <= 0xffff);
		CHECK(dp_addr_is_v4(&v->src) && dp_addr_is_v4(&v->dst));
	} else {
		CHECK(v->l3_len >= 40 && v->l4_off >= v->l3_off + 40u);
	}
	if (v->flags & DP_PKT_F_FRAGMENT) {
		CHECK(v->payload_off == v->l4_off);
		CHECK(v->sport == 0 && v->dport == 0 && v->tcp_flags == 0);
		CHECK(v->icmp_type == 0 && v->icmp_code == 0);
		CHECK(!(v->flags & DP_PKT_F_L4_CSUM_OK));
		CHECK((v->frag_off & 7) == 0);
		CHECK(v->frag_more || v->frag_off || v->ip_version == 6);
		if (v->flags & DP_PKT_F_FIRST_FRAG)
			CHECK(v->frag_off == 0 && v->frag_more);
		if (v->ip_version == 6) {
			CHECK(v->frag_hdr_off + 8u == v->l4_off);
			CHECK(b[v->frag_prev_nh_off] == 44);
			CHECK(b[v->frag_hdr_off] == v->l4_proto);
		}
		return;
	}
	CHECK(!(v->flags & DP_PKT_F_FIRST_FRAG));
	CHECK(v->frag_id == 0 && v->frag_off == 0 && !v->frag_more);
	CHECK(v->frag_hdr_off == 0 && v->frag_prev_nh_off == 0);
	switch (v->l4_proto) {
	case 6:
		CHECK(v->payload_off >= v->l4_off + 20u);
		break;
	case 17:
		CHECK(v->payload_off == v->l4_off + 8u);
		break;
	case 1:
	case 58:
		if ((v->l4_proto == 1) == (v->ip_version == 4))
			CHECK(v->payload_off == v->l4_off + 8u);
		break;
	default:
		CHECK(v->payload_off == v->l4_off);
		CHECK(v->sport == 0 && v->dport == 0 && v->icmp_type == 0);
		break;
	}
	/* What the parser says it verified must verify. */
	if ((v->flags & DP_PKT_F_L4_CSUM_OK) &&
	    !(pflags & DP_PARSE_L4_CSUM_OK) &&
	    !(v->l4_proto == 17 && v->ip_version == 4 &&
	      b[v->l4_off + 6] == 0 && b[v->l4_off + 7] == 0))
		CHECK(dp_csum_l4(b, v) == 0);
	/* Touch the whole L4 range: ASan flags it if it is not there. */
	if (v->l4_len)
		CHECK(dp_csum_partial(b + v->l4_off, v->l4_len, 0) <= 0xffff);
}

static void check_same(const struct dp_pkt_view *a,
		       const struct dp_pkt_view *b)
{
	CHECK((a->flags | DP_PKT_F_L4_CSUM_OK) ==
	      (b->flags | DP_PKT_F_L4_CSUM_OK));
	CHECK(a->l3 == b->l3 && a->l3_off == b->l3_off);
	CHECK(a->l4_off == b->l4_off && a->payload_off == b->payload_off);
	CHECK(a->l3_len == b->l3_len && a->l4_len == b->l4_len);
	CHECK(a->l4_proto == b->l4_proto && a->ttl == b->ttl);
	CHECK(a->sport == b->sport && a->dport == b->dport);
	CHECK(a->tcp_flags == b->tcp_flags && a->icmp_type == b->icmp_type);
	CHECK(a->frag_id == b->frag_id && a->frag_off == b->frag_off);
	CHECK(dp_addr_eq(&a->src, &b->src) && dp_addr_eq(&a->dst, &b->dst));
}

/* What the fast path takes, the parser took as the same packet (its
 * MAC: the frame's own destination, so that Ethernet frames can pass). */
static void check_fast(const uint8_t *b, uint32_t n, enum dp_link link,
		       uint32_t pflags, int rc, const struct dp_pkt_view *v)
{
	struct dp_fast_pkt fp;
	union dp_addr src, dst;
	uint16_t sport, dport;
	enum dp_fast_kind k;

	k = dp_fast_classify(b, n, link, b, 7, pflags, &fp);
	if (k == DP_FAST_NO)
		return;
	CHECK(rc == 0);
	CHECK(!(v->flags & (DP_PKT_F_FRAGMENT | DP_PKT_F_VLAN |
			    DP_PKT_F_IP4_OPTIONS | DP_PKT_F_IP6_ROUTING)));
	CHECK(v->flags & DP_PKT_F_L4_CSUM_OK);
	CHECK(v->l3_off == fp.l3_off && v->l3_len == fp.l3_len);
	CHECK(v->l4_len == fp.l4_len && v->l4_proto == fp.proto);
	CHECK(v->ip_version == fp.ip_version);
	CHECK(v->l4_off == fp.l3_off + (fp.ip_version == 4 ? 20 : 40));
	dp_fast_tuple(b, &fp, &src, &dst, &sport, &dport);
	CHECK(dp_addr_eq(&src, &v->src) && dp_addr_eq(&dst, &v->dst));
	CHECK(sport == v->sport);
	if (k == DP_FAST_ECHO)
		CHECK(dport == 0 && v->icmp_type == (fp.ip_version == 4 ? 8 : 128));
	else
		CHECK(dport == v->dport && (v->tcp_flags & 0x07) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_pkt_view v, v2;
	enum dp_link link;
	uint32_t pflags = 0, n;
	uint8_t *b, *odd;
	int rc, rc2;

	if (size < 1 || size > 70000)
		return 0;
	link = (data[0] & 1) ? DP_LINK_RAW_IP : DP_LINK_ETH;
	if (data[0] & 2)
		pflags |= DP_PARSE_L3_CSUM_OK;
	if (data[0] & 4)
		pflags |= DP_PARSE_L4_CSUM_OK;
	n = (uint32_t)size - 1;
	b = malloc(n ? n : 1);
	odd = malloc(n + 1);
	if (!b || !odd)
		abort();
	memcpy(b, data + 1, n);
	memcpy(odd + 1, data + 1, n);

	CHECK(dp_csum_partial(odd + 1, n, 0) == ref_sum(b, n));

	rc = dp_parse(b, n, link, pflags, &v);
	CHECK(rc <= 0 && rc > -DP_DROP_MAX);
	check_fast(b, n, link, pflags, rc, &v);
	if (rc == 0) {
		check_view(b, n, pflags, &v);
		/* Vouching for checksums changes nothing but the flag. */
		rc2 = dp_parse(b, n, link,
			       DP_PARSE_L3_CSUM_OK | DP_PARSE_L4_CSUM_OK, &v2);
		CHECK(rc2 == 0);
		check_same(&v, &v2);
	}
	free(odd);
	free(b);
	return 0;
}
