/* Unit tests of dp_parse and the checksum helpers.
 *
 * Packets are built by hand here, with checksums from a byte-at-a-time
 * reference sum (not dp_csum_*). Every parse runs on an exactly-sized
 * heap copy so that a sanitizer build catches any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/dp_parse.h"

#define E(r) (-DP_DROP_##r)

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))

static const uint8_t mac_us[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t mac_peer[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t v6_a[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t v6_b[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

/* ---- byte helpers and reference checksum ---- */

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v);
}

static uint32_t ref_sum(const uint8_t *p, uint32_t n, uint32_t s)
{
	uint32_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += rd16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

static uint16_t ref_csum(const uint8_t *p, uint32_t n, uint32_t s)
{
	return (uint16_t)~ref_sum(p, n, s);
}

static uint32_t pseudo4(const uint8_t *ip, uint8_t proto, uint32_t len)
{
	return ref_sum(ip + 12, 8, proto + len);
}

static uint32_t pseudo6(const uint8_t *ip, uint8_t proto, uint32_t len)
{
	return ref_sum(ip + 8, 32, proto + len);
}

/* ---- L4 builders: the checksum field is left zero ---- */

static uint32_t mk_tcp(uint8_t *o, uint16_t sp, uint16_t dp, uint8_t flags,
		       uint32_t optlen, uint32_t paylen)
{
	uint32_t i, hl = 20 + optlen;

	memset(o, 0, hl);
	wr16(o, sp);
	wr16(o + 2, dp);
	wr32(o + 4, 1000);
	o[12] = (uint8_t)(hl / 4 << 4);
	o[13] = flags;
	wr16(o + 14, 65535);
	for (i = 0; i < optlen; i++)
		o[20 + i] = 1; /* NOPs */
	for (i = 0; i < paylen; i++)
		o[hl + i] = (uint8_t)(i * 3 + 1);
	return hl + paylen;
}

static uint32_t mk_udp(uint8_t *o, uint16_t sp, uint16_t dp, uint32_t paylen)
{
	uint32_t i;

	wr16(o, sp);
	wr16(o + 2, dp);
	wr16(o + 4, 8 + paylen);
	wr16(o + 6, 0);
	for (i = 0; i < paylen; i++)
		o[8 + i] = (uint8_t)(i + 7);
	return 8 + paylen;
}

static uint32_t mk_icmp(uint8_t *o, uint8_t type, uint8_t code, uint16_t id,
			uint32_t paylen)
{
	uint32_t i;

	o[0] = type;
	o[1] = code;
	wr16(o + 2, 0);
	wr16(o + 4, id);
	wr16(o + 6, 1);
	for (i = 0; i < paylen; i++)
		o[8 + i] = (uint8_t)i;
	return 8 + paylen;
}

/* Checksum offset inside an L4 header, or -1. */
static int csum_off(uint8_t proto)
{
	switch (proto) {
	case 6:
		return 16;
	case 17:
		return 6;
	case 1:
	case 58:
		return 2;
	default:
		return -1;
	}
}

/* ---- L3 builders: header + l4, returns the datagram length ---- */

struct ip4_opts {
	const uint8_t *opt;   /* options, a multiple of 4 bytes */
	uint32_t optlen;
	uint16_t ff;          /* flags + fragment offset field */
	uint32_t src, dst;
	uint8_t ttl;
	bool no_l4_csum;
};

static uint32_t mk_ip4(uint8_t *o, uint8_t proto, const uint8_t *l4,
		       uint32_t l4len, const struct ip4_opts *a)
{
	uint32_t hl = 20 + (a ? a->optlen : 0);
	int co = csum_off(proto);

	memset(o, 0, hl);
	o[0] = (uint8_t)(0x40 | hl / 4);
	o[1] = 0x10;
	wr16(o + 2, hl + l4len);
	wr16(o + 4, 0x1234);
	wr16(o + 6, a ? a->ff : 0x4000);
	o[8] = a && a->ttl ? a->ttl : 64;
	o[9] = proto;
	wr32(o + 12, a && a->src ? a->src : IP4(10, 0, 0, 2));
	wr32(o + 16, a && a->dst ? a->dst : IP4(10, 0, 0, 1));
	if (a && a->src == 0xdead)
		wr32(o + 12, 0); /* 0.0.0.0 */
	if (a && a->optlen)
		memcpy(o + 20, a->opt, a->optlen);
	wr16(o + 10, ref_csum(o, hl, 0));
	memcpy(o + hl, l4, l4len);
	if (co >= 0 && !(a && a->no_l4_csum) && l4len >= (uint32_t)co + 2) {
		uint32_t ps = proto == 1 ? 0 : pseudo4(o, proto, l4len);
		uint16_t c = ref_csum(o + hl, l4len, ps);

		if (proto == 17 && c == 0)
			c = 0xffff;
		wr16(o + hl + co, c);
	}
	return hl + l4len;
}

/* ext: extension headers, already chained (their first bytes name the
 * next header), whose first is first_nh; proto is the last next header. */
static uint32_t mk_ip6(uint8_t *o, uint8_t first_nh, const uint8_t *ext,
		       uint32_t extlen, uint8_t proto, const uint8_t *l4,
		       uint32_t l4len, uint8_t hop, const uint8_t *src)
{
	int co = csum_off(proto);

	memset(o, 0, 40);
	o[0] = 0x60 | 0x0a;  /* traffic class 0xab */
	o[1] = 0xb0;
	wr16(o + 4, extlen + l4len);
	o[6] = extlen ? first_nh : proto;
	o[7] = hop ? hop : 64;
	memcpy(o + 8, src ? src : v6_b, 16);
	memcpy(o + 24, v6_a, 16);
	if (extlen)
		memcpy(o + 40, ext, extlen);
	if (l4len)
		memcpy(o + 40 + extlen, l4, l4len);
	if (co >= 0 && proto != 1 && l4len >= (uint32_t)co + 2) {
		uint16_t c = ref_csum(o + 40 + extlen, l4len,
				      pseudo6(o, proto, l4len));

		if (proto == 17 && c == 0)
			c = 0xffff;
		wr16(o + 40 + extlen + co, c);
	}
	return 40 + extlen + l4len;
}

/* Ethernet header with ntags tags (TPIDs from tpid[]) around ip. */
static uint32_t mk_eth(uint8_t *o, uint16_t et, const uint8_t *l3,
		       uint32_t l3len, int ntags, const uint16_t *tpid)
{
	uint32_t off = 12;
	int i;

	memcpy(o, mac_us, 6);
	memcpy(o + 6, mac_peer, 6);
	for (i = 0; i < ntags; i++) {
		wr16(o + off, tpid[i]);
		wr16(o + off + 2, (uint32_t)(0x2000 | (100 + i)));
		off += 4;
	}
	wr16(o + off, et);
	off += 2;
	memcpy(o + off, l3, l3len);
	return off + l3len;
}

/* ---- parse on an exact-size heap copy ---- */

static int parse(const uint8_t *pkt, uint32_t n, enum dp_link link,
		 uint32_t flags, struct dp_pkt_view *v)
{
	uint8_t *b = malloc(n ? n : 1);
	int rc;

	assert_non_null(b);
	memcpy(b, pkt, n);
	/* Poison the view: the parser must define what it promises. */
	memset(v, 0xa5, sizeof(*v));
	rc = dp_parse(b, n, link, flags, v);
	if (rc == 0 && !(v->flags & DP_PKT_F_FRAGMENT) &&
	    v->l3 != DP_L3_ARP && (v->flags & DP_PKT_F_L4_CSUM_OK) &&
	    !(flags & DP_PARSE_L4_CSUM_OK) &&
	    (v->l4_proto == 6 || v->l4_proto == 58 ||
	     (v->l4_proto == 1 && v->ip_version == 4) ||
	     (v->l4_proto == 17 && rd16(b + v->l4_off + 6) != 0)))
		assert_int_equal(dp_csum_l4(b, v), 0);
	free(b);
	return rc;
}

/* Consistency every successful IP parse must show. */
static void check_view(const struct dp_pkt_view *v, uint32_t n)
{
	assert_int_equal(v->len, n);
	assert_true((uint32_t)v->l3_off + v->l3_len <= n);
	assert_true(v->l4_off >= v->l3_off);
	assert_true(v->payload_off >= v->l4_off);
	if (v->l3 == DP_L3_ARP)
		return;
	assert_int_equal(v->l4_off + v->l4_len, v->l3_off + v->l3_len);
	assert_true(v->payload_off <= v->l4_off + v->l4_len);
	if (v->flags & DP_PKT_F_FRAGMENT) {
		assert_int_equal(v->payload_off, v->l4_off);
		assert_int_equal(v->sport, 0);
		assert_int_equal(v->dport, 0);
		assert_int_equal(v->tcp_flags, 0);
		assert_int_equal(v->icmp_type, 0);
	} else {
		assert_int_equal(v->frag_id, 0);
		assert_int_equal(v->frag_off, 0);
		assert_false(v->frag_more);
		assert_int_equal(v->frag_hdr_off, 0);
	}
}

/* Every strict prefix of a well-formed packet must be refused. */
static void check_prefixes(const uint8_t *pkt, uint32_t n, enum dp_link link)
{
	struct dp_pkt_view v;
	uint32_t i;

	for (i = 0; i < n; i++)
		assert_true(parse(pkt, i, link, 0, &v) < 0);
}

static uint8_t l4b[2048], l3b[4096], pk[4200];

/* ---- checksums ---- */

static void test_csum(void **state)
{
	/* RFC 1071 section 3 example: sum 0xddf2. */
	static const uint8_t ex[8] = { 0x00, 0x01, 0xf2, 0x03,
				       0xf4, 0xf5, 0xf6, 0xf7 };
	static uint8_t buf[600];
	uint32_t i, al, n, init;

	assert_int_equal(dp_csum_partial(ex, 8, 0), 0xddf2);
	assert_int_equal(dp_csum_fold(0xddf2), 0x220d);
	assert_int_equal(dp_csum_fold(0x1ffff), 0xfffe);
	assert_int_equal(dp_csum_partial(ex, 0, 0x1234), 0x1234);
	assert_int_equal(dp_csum_partial(ex, 1, 0), 0x0000);
	assert_int_equal(dp_csum_partial(ex + 2, 1, 0), 0xf200);

	srand(7);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (al = 0; al < 8; al++)
		for (n = 0; n + al <= 300; n++) {
			init = (uint32_t)rand() & 0x3ffff;
			assert_int_equal(dp_csum_partial(buf + al, n, init),
					 ref_sum(buf + al, n, init));
		}
	/* All ones: carries everywhere. */
	memset(buf, 0xff, sizeof(buf));
	for (n = 0; n < 70; n++)
		assert_int_equal(dp_csum_partial(buf + 1, n, 0xffff),
				 ref_sum(buf + 1, n, 0xffff));
	/* Splitting at an even offset gives the same sum. */
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13);
	assert_int_equal(dp_csum_partial(buf + 200, 201,
					 dp_csum_partial(buf, 200, 0)),
			 ref_sum(buf, 401, 0));
}

static void test_csum_pseudo_and_l4(void **state)
{
	struct dp_pkt_view v;
	uint32_t n, l4n, l3n;

	l4n = mk_udp(l4b, 1234, 53, 21);
	l3n = mk_ip4(l3b, 17, l4b, l4n, NULL);
	n = mk_eth(pk, 0x0800, l3b, l3n, 0, NULL);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), 0);
	assert_int_equal(dp_csum_pseudo(&v, 17, l4n),
			 pseudo4(l3b, 17, l4n));
	assert_int_equal(dp_csum_l4(pk, &v), 0);
	pk[n - 1] ^= 1;
	assert_int_not_equal(dp_csum_l4(pk, &v), 0);

	l4n = mk_tcp(l4b, 80, 40000, 0x12, 4, 33);
	l3n = mk_ip6(l3b, 0, NULL, 0, 6, l4b, l4n, 0, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	assert_int_equal(dp_csum_pseudo(&v, 6, l4n), pseudo6(l3b, 6, l4n));
	assert_int_equal(dp_csum_l4(l3b, &v), 0);
}

/* ---- L2 ---- */

static void test_eth(void **state)
{
	static const uint16_t tp1[] = { 0x8100 };
	static const uint16_t tp2[] = { 0x88a8, 0x8100 };
	static const uint16_t tp3[] = { 0x88a8, 0x8100, 0x8100 };
	struct dp_pkt_view v;
	uint32_t n, l4n, l3n;

	l4n = mk_udp(l4b, 1, 2, 4);
	l3n = mk_ip4(l3b, 17, l4b, l4n, NULL);

	n = mk_eth(pk, 0x0800, l3b, l3n, 0, NULL);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), 0);
	check_view(&v, n);
	assert_int_equal(v.link, DP_LINK_ETH);
	assert_memory_equal(v.eth_dst, mac_us, 6);
	assert_memory_equal(v.eth_src, mac_peer, 6);
	assert_int_equal(v.ethertype, 0x0800);
	assert_int_equal(v.l3_off, 14);
	assert_int_equal(v.vlan_tci, 0);
	assert_int_equal(v.flags & (DP_PKT_F_VLAN | DP_PKT_F_L2_BCAST |
				    DP_PKT_F_L2_MCAST), 0);
	check_prefixes(pk, n, DP_LINK_ETH);
	assert_int_equal(parse(pk, 13, DP_LINK_ETH, 0, &v), E(ETH_TRUNCATED));
	assert_int_equal(parse(pk, 0, DP_LINK_ETH, 0, &v), E(ETH_TRUNCATED));
	assert_int_equal(parse(pk, 14, DP_LINK_ETH, 0, &v), E(IP4_TRUNCATED));

	/* broadcast, multicast */
	memset(pk, 0xff, 6);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), 0);
	assert_int_equal(v.flags & (DP_PKT_F_L2_BCAST | DP_PKT_F_L2_MCAST),
			 DP_PKT_F_L2_BCAST);
	pk[0] = 0x01; pk[1] = 0x00; pk[2] = 0x5e;
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), 0);
	assert_int_equal(v.flags & (DP_PKT_F_L2_BCAST | DP_PKT_F_L2_MCAST),
			 DP_PKT_F_L2_MCAST);
	pk[0] = 0x33; pk[1] = 0x33; pk[5] = 0xff;
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), 0);
	assert_true(v.flags & DP_PKT_F_L2_MCAST);

	/* one tag, two tags, three */
	n = mk_eth(pk, 0x0800, l3b, l3n, 1, tp1);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), 0);
	check_view(&v, n);
	assert_true(v.flags & DP_PKT_F_VLAN);
	assert_int_equal(v.vlan_tci, 0x2000 | 100);
	assert_int_equal(v.l3_off, 18);
	assert_int_equal(v.ethertype, 0x0800);
	assert_int_equal(v.sport, 1);
	assert_int_equal(parse(pk, 15, DP_LINK_ETH, 0, &v),
			 E(VLAN_TRUNCATED));
	assert_int_equal(parse(pk, 17, DP_LINK_ETH, 0, &v),
			 E(VLAN_TRUNCATED));
	check_prefixes(pk, n, DP_LINK_ETH);

	n = mk_eth(pk, 0x0800, l3b, l3n, 2, tp2);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), 0);
	check_view(&v, n);
	assert_int_equal(v.vlan_tci, 0x2000 | 101); /* innermost */
	assert_int_equal(v.l3_off, 22);
	assert_int_equal(parse(pk, 21, DP_LINK_ETH, 0, &v),
			 E(VLAN_TRUNCATED));
	check_prefixes(pk, n, DP_LINK_ETH);

	n = mk_eth(pk, 0x0800, l3b, l3n, 3, tp3);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), E(VLAN_TOO_DEEP));

	/* ethertypes we do not speak, 802.3 length field */
	n = mk_eth(pk, 0x88cc, l3b, l3n, 0, NULL);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v),
			 E(ETHERTYPE_UNSUPPORTED));
	n = mk_eth(pk, 0x0040, l3b, l3n, 0, NULL);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v),
			 E(ETHERTYPE_UNSUPPORTED));
	/* IPv4 ethertype with a v6 header */
	n = mk_eth(pk, 0x0800, l3b, l3n, 0, NULL);
	pk[14] = 0x65;
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v),
			 E(IP4_BAD_VERSION));
	/* unknown link */
	assert_int_equal(parse(pk, n, (enum dp_link)7, 0, &v),
			 E(LINKTYPE_UNSUPPORTED));
}

static uint32_t mk_arp(uint8_t *o, uint16_t op)
{
	uint8_t *a = o + 14;

	memset(o, 0xff, 6);
	memcpy(o + 6, mac_peer, 6);
	wr16(o + 12, 0x0806);
	wr16(a, 1);
	wr16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	wr16(a + 6, op);
	memcpy(a + 8, mac_peer, 6);
	wr32(a + 14, IP4(10, 0, 0, 2));
	memset(a + 18, 0, 6);
	wr32(a + 24, IP4(10, 0, 0, 1));
	memset(o + 42, 0, 18); /* padding to 60 */
	return 60;
}

static void test_arp(void **state)
{
	struct dp_pkt_view v;
	union dp_addr want;
	uint32_t n = mk_arp(pk, 1);

	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), 0);
	check_view(&v, n);
	assert_int_equal(v.l3, DP_L3_ARP);
	assert_true(v.flags & DP_PKT_F_L2_BCAST);
	assert_int_equal(v.arp_op, 1);
	assert_memory_equal(v.arp_sha, mac_peer, 6);
	dp_addr_from_v4(&want, __builtin_bswap32(IP4(10, 0, 0, 2)));
	assert_true(dp_addr_eq(&v.arp_spa, &want));
	assert_true(dp_addr_is_v4(&v.arp_tpa));
	assert_int_equal(v.arp_tpa.b[15], 1);
	assert_int_equal(v.l3_len, 28);
	assert_int_equal(v.l4_len, 0);
	assert_int_equal(v.ip_version, 0);
	assert_int_equal(v.sport, 0);
	/* no padding is fine, one byte short is not */
	assert_int_equal(parse(pk, 42, DP_LINK_ETH, 0, &v), 0);
	assert_int_equal(parse(pk, 41, DP_LINK_ETH, 0, &v), E(ARP_TRUNCATED));
	pk[14 + 4] = 8;
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), E(ARP_BAD_FORMAT));
	n = mk_arp(pk, 2);
	pk[14 + 5] = 16;
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), E(ARP_BAD_FORMAT));
	n = mk_arp(pk, 2);
	wr16(pk + 14 + 2, 0x86dd);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), E(ARP_BAD_FORMAT));
	n = mk_arp(pk, 2);
	wr16(pk + 14, 6);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), E(ARP_BAD_FORMAT));
}

/* ---- IPv4 ---- */

static void test_ip4_udp(void **state)
{
	struct dp_pkt_view v;
	union dp_addr want;
	uint32_t n, l4n, l3n;

	l4n = mk_udp(l4b, 5353, 53, 30);
	l3n = mk_ip4(l3b, 17, l4b, l4n, NULL);
	n = mk_eth(pk, 0x0800, l3b, l3n, 0, NULL);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), 0);
	check_view(&v, n);
	assert_int_equal(v.l3, DP_L3_IPV4);
	assert_int_equal(v.ip_version, 4);
	assert_int_equal(v.ttl, 64);
	assert_int_equal(v.tos, 0x10);
	assert_int_equal(v.l4_proto, 17);
	assert_int_equal(v.l3_len, l3n);
	assert_int_equal(v.l4_off, 34);
	assert_int_equal(v.l4_len, l4n);
	assert_int_equal(v.payload_off, 42);
	assert_int_equal(v.sport, 5353);
	assert_int_equal(v.dport, 53);
	assert_true(v.flags & DP_PKT_F_L4_CSUM_OK);
	dp_addr_from_v4(&want, __builtin_bswap32(IP4(10, 0, 0, 2)));
	assert_true(dp_addr_eq(&v.src, &want));
	dp_addr_from_v4(&want, __builtin_bswap32(IP4(10, 0, 0, 1)));
	assert_true(dp_addr_eq(&v.dst, &want));
	check_prefixes(pk, n, DP_LINK_ETH);
	/* header boundaries */
	assert_int_equal(parse(pk, 33, DP_LINK_ETH, 0, &v), E(IP4_TRUNCATED));
	assert_int_equal(parse(pk, 34, DP_LINK_ETH, 0, &v), E(IP4_TRUNCATED));
	assert_int_equal(parse(pk, n - 1, DP_LINK_ETH, 0, &v),
			 E(IP4_TRUNCATED));

	/* Ethernet padding after the datagram is not part of it. */
	memset(pk + n, 0xee, 20);
	assert_int_equal(parse(pk, n + 20, DP_LINK_ETH, 0, &v), 0);
	check_view(&v, n + 20);
	assert_int_equal(v.l3_len, l3n);
	assert_int_equal(v.l4_len, l4n);

	/* raw IP link */
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	check_view(&v, l3n);
	assert_int_equal(v.link, DP_LINK_RAW_IP);
	assert_int_equal(v.l3_off, 0);
	assert_int_equal(v.ethertype, 0x0800);
	assert_int_equal(v.flags & (DP_PKT_F_L2_BCAST | DP_PKT_F_L2_MCAST |
				    DP_PKT_F_VLAN), 0);
	assert_int_equal(v.eth_dst[0] | v.eth_src[5], 0);
	check_prefixes(l3b, l3n, DP_LINK_RAW_IP);
	assert_int_equal(parse(l3b, 0, DP_LINK_RAW_IP, 0, &v),
			 E(IP4_TRUNCATED));
	l3b[0] = 0x55;
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v),
			 E(IP4_BAD_VERSION));
}

static void test_ip4_header_lies(void **state)
{
	struct dp_pkt_view v;
	uint32_t n, l4n, l3n;

	l4n = mk_udp(l4b, 1, 2, 10);
	l3n = mk_ip4(l3b, 17, l4b, l4n, NULL);
	n = mk_eth(pk, 0x0800, l3b, l3n, 0, NULL);

	/* IHL below 5 */
	pk[14] = 0x44;
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), E(IP4_BAD_IHL));
	pk[14] = 0x40;
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), E(IP4_BAD_IHL));
	/* IHL past the buffer */
	pk[14] = 0x4f;
	assert_int_equal(parse(pk, 14 + 40, DP_LINK_ETH, 0, &v),
			 E(IP4_TRUNCATED));
	/* IHL past the total length (but inside the buffer) */
	pk[14] = 0x4f;
	wr16(pk + 16, 40);
	memset(pk + 34, 1, 40);
	assert_int_equal(parse(pk, 14 + 80, DP_LINK_ETH,
			       DP_PARSE_L3_CSUM_OK, &v),
			 E(IP4_BAD_TOTAL_LEN));
	/* total length below 20, above the buffer */
	n = mk_eth(pk, 0x0800, l3b, l3n, 0, NULL);
	wr16(pk + 16, 19);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, DP_PARSE_L3_CSUM_OK, &v),
			 E(IP4_BAD_TOTAL_LEN));
	wr16(pk + 16, l3n + 1);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, DP_PARSE_L3_CSUM_OK, &v),
			 E(IP4_TRUNCATED));
	/* total length shorter than the UDP datagram: UDP length lies */
	wr16(pk + 16, l3n - 2);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, DP_PARSE_L3_CSUM_OK, &v),
			 E(UDP_BAD_LEN));
	/* total length cuts into the UDP header */
	wr16(pk + 16, 20 + 6);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, DP_PARSE_L3_CSUM_OK, &v),
			 E(UDP_TRUNCATED));

	/* header checksum: bad, then skipped by flag */
	n = mk_eth(pk, 0x0800, l3b, l3n, 0, NULL);
	pk[14 + 10] ^= 0x40;
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v),
			 E(IP4_BAD_CHECKSUM));
	assert_int_equal(parse(pk, n, DP_LINK_ETH, DP_PARSE_L3_CSUM_OK, &v),
			 0);
	n = mk_eth(pk, 0x0800, l3b, l3n, 0, NULL);
	pk[14 + 8] = 63; /* TTL changed, checksum not */
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v),
			 E(IP4_BAD_CHECKSUM));
}

static void test_ip4_options(void **state)
{
	static const uint8_t rr[8] = { 0x07, 7, 4, 0, 0, 0, 0, 0x00 };
	static const uint8_t nops[4] = { 1, 1, 1, 0 };
	static const uint8_t ra_ts[12] = { 0x94, 4, 0, 0, 1, 0x44, 6, 5,
					   0, 0, 0, 0 };
	static const uint8_t bad0[4] = { 0x07, 0, 0, 0 };
	static const uint8_t bad1[4] = { 1, 0x07, 1, 0 };
	static const uint8_t over[4] = { 1, 0x83, 4, 0 };
	static const uint8_t cut[4] = { 1, 1, 1, 0x83 };
	const uint8_t *good[] = { rr, nops, ra_ts };
	const uint32_t glen[] = { 8, 4, 12 };
	const uint8_t *bad[] = { bad0, bad1, over, cut };
	struct ip4_opts o = { 0 };
	struct dp_pkt_view v;
	uint32_t n, l4n, l3n, i;

	l4n = mk_tcp(l4b, 1000, 80, 0x02, 0, 0);
	for (i = 0; i < 3; i++) {
		o.opt = good[i];
		o.optlen = glen[i];
		o.ff = 0;
		l3n = mk_ip4(l3b, 6, l4b, l4n, &o);
		n = mk_eth(pk, 0x0800, l3b, l3n, 0, NULL);
		assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), 0);
		check_view(&v, n);
		assert_true(v.flags & DP_PKT_F_IP4_OPTIONS);
		assert_int_equal(v.l4_off, 14 + 20 + glen[i]);
		assert_int_equal(v.sport, 1000);
		assert_int_equal(v.tcp_flags, 0x02);
		check_prefixes(pk, n, DP_LINK_ETH);
	}
	for (i = 0; i < 4; i++) {
		o.opt = bad[i];
		o.optlen = 4;
		l3n = mk_ip4(l3b, 6, l4b, l4n, &o);
		n = mk_eth(pk, 0x0800, l3b, l3n, 0, NULL);
		assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v),
				 E(IP4_BAD_OPTIONS));
	}
	/* no options: no flag */
	l3n = mk_ip4(l3b, 6, l4b, l4n, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	assert_false(v.flags & DP_PKT_F_IP4_OPTIONS);
}

static void test_ip4_src(void **state)
{
	struct ip4_opts o = { 0 };
	struct dp_pkt_view v;
	uint32_t l4n, l3n;

	l4n = mk_udp(l4b, 68, 67, 20);
	o.src = IP4(224, 0, 0, 5);
	l3n = mk_ip4(l3b, 17, l4b, l4n, &o);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v),
			 E(IP4_BAD_SRC));
	o.src = IP4(239, 255, 255, 255);
	l3n = mk_ip4(l3b, 17, l4b, l4n, &o);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v),
			 E(IP4_BAD_SRC));
	o.src = 0xffffffffu;
	l3n = mk_ip4(l3b, 17, l4b, l4n, &o);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v),
			 E(IP4_BAD_SRC));
	/* DHCP discover: 0.0.0.0 -> 255.255.255.255 is fine */
	o.src = 0xdead;
	o.dst = 0xffffffffu;
	l3n = mk_ip4(l3b, 17, l4b, l4n, &o);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	assert_true(dp_addr_is_v4(&v.src));
	assert_int_equal(v.src.w[3], 0);
	assert_int_equal(v.dst.w[3], 0xffffffffu);
	/* multicast destination is fine */
	o.src = 0;
	o.dst = IP4(224, 0, 0, 251);
	l3n = mk_ip4(l3b, 17, l4b, l4n, &o);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
}

static void test_ip4_fragments(void **state)
{
	struct ip4_opts o = { 0 };
	struct dp_pkt_view v;
	uint32_t n, l4n, l3n;

	/* first fragment: MF, offset 0; L4 not parsed */
	l4n = mk_udp(l4b, 1, 2, 40);
	o.ff = 0x2000;
	o.no_l4_csum = true;
	l3n = mk_ip4(l3b, 17, l4b, l4n, &o);
	wr16(l3b + 20 + 4, 1000);        /* UDP length of the whole */
	n = mk_eth(pk, 0x0800, l3b, l3n, 0, NULL);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), 0);
	check_view(&v, n);
	assert_int_equal(v.flags & (DP_PKT_F_FRAGMENT | DP_PKT_F_FIRST_FRAG |
				    DP_PKT_F_L4_CSUM_OK),
			 DP_PKT_F_FRAGMENT | DP_PKT_F_FIRST_FRAG);
	assert_int_equal(v.frag_id, 0x1234);
	assert_int_equal(v.frag_off, 0);
	assert_true(v.frag_more);
	assert_int_equal(v.l4_proto, 17);
	assert_int_equal(v.l4_off, 34);
	assert_int_equal(v.l4_len, l4n);
	check_prefixes(pk, n, DP_LINK_ETH);

	/* a middle fragment with garbage where a TCP header would be */
	memset(l4b, 0xff, 64);
	o.ff = 0x2000 | 185;
	l3n = mk_ip4(l3b, 6, l4b, 64, &o);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	check_view(&v, l3n);
	assert_int_equal(v.flags & (DP_PKT_F_FRAGMENT | DP_PKT_F_FIRST_FRAG),
			 DP_PKT_F_FRAGMENT);
	assert_int_equal(v.frag_off, 185 * 8);
	assert_true(v.frag_more);

	/* the last fragment, short: even 3 bytes of ICMP are fine */
	o.ff = 0x0000 | 10;
	l3n = mk_ip4(l3b, 1, l4b, 3, &o);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	check_view(&v, l3n);
	assert_int_equal(v.frag_off, 80);
	assert_false(v.frag_more);
	assert_int_equal(v.l4_len, 3);
	assert_int_equal(v.icmp_type, 0);

	/* DF alone is not a fragment */
	l4n = mk_udp(l4b, 1, 2, 4);
	o.ff = 0x4000;
	o.no_l4_csum = false;
	l3n = mk_ip4(l3b, 17, l4b, l4n, &o);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	assert_false(v.flags & DP_PKT_F_FRAGMENT);
	assert_int_equal(v.dport, 2);
}

/* ---- TCP, UDP, ICMP over v4 ---- */

static void test_tcp(void **state)
{
	struct dp_pkt_view v;
	uint32_t n, l4n, l3n;

	l4n = mk_tcp(l4b, 443, 51000, 0x18, 12, 100);
	l3n = mk_ip4(l3b, 6, l4b, l4n, NULL);
	n = mk_eth(pk, 0x0800, l3b, l3n, 0, NULL);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), 0);
	check_view(&v, n);
	assert_int_equal(v.sport, 443);
	assert_int_equal(v.dport, 51000);
	assert_int_equal(v.tcp_flags, 0x18);
	assert_int_equal(v.l4_len, l4n);
	assert_int_equal(v.payload_off, 34 + 32);
	assert_true(v.flags & DP_PKT_F_L4_CSUM_OK);
	check_prefixes(pk, n, DP_LINK_ETH);

	/* bad checksum; skipped when the NIC vouches */
	pk[n - 1] ^= 0x10;
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v),
			 E(TCP_BAD_CHECKSUM));
	assert_int_equal(parse(pk, n, DP_LINK_ETH, DP_PARSE_L4_CSUM_OK, &v),
			 0);
	assert_true(v.flags & DP_PKT_F_L4_CSUM_OK);
	pk[n - 1] ^= 0x10;

	/* data offset below 5, beyond the segment */
	pk[34 + 12] = 4 << 4;
	assert_int_equal(parse(pk, n, DP_LINK_ETH, DP_PARSE_L4_CSUM_OK, &v),
			 E(TCP_BAD_OFFSET));
	pk[34 + 12] = 0;
	assert_int_equal(parse(pk, n, DP_LINK_ETH, DP_PARSE_L4_CSUM_OK, &v),
			 E(TCP_BAD_OFFSET));
	l4n = mk_tcp(l4b, 1, 2, 0x02, 0, 0);
	l4b[12] = 6 << 4; /* 24 bytes claimed, 20 present */
	l3n = mk_ip4(l3b, 6, l4b, l4n, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v),
			 E(TCP_BAD_OFFSET));
	/* exactly 20 bytes, no payload */
	l4b[12] = 5 << 4;
	l3n = mk_ip4(l3b, 6, l4b, l4n, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	assert_int_equal(v.payload_off, 40);
	/* 19 bytes of TCP */
	l3n = mk_ip4(l3b, 6, l4b, 19, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v),
			 E(TCP_TRUNCATED));
}

static void test_udp(void **state)
{
	struct dp_pkt_view v;
	uint32_t l4n, l3n;

	/* zero checksum on v4: none */
	l4n = mk_udp(l4b, 7, 9, 13);
	l3n = mk_ip4(l3b, 17, l4b, l4n, &(struct ip4_opts){ .no_l4_csum = true,
							    .ff = 0 });
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	assert_true(v.flags & DP_PKT_F_L4_CSUM_OK);
	assert_int_equal(v.payload_off, 28);
	/* bad checksum */
	l3n = mk_ip4(l3b, 17, l4b, l4n, NULL);
	l3b[l3n - 1] ^= 1;
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v),
			 E(UDP_BAD_CHECKSUM));
	/* length field: above and below the IP payload, below 8 */
	l3n = mk_ip4(l3b, 17, l4b, l4n, NULL);
	wr16(l3b + 24, l4n + 1);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, DP_PARSE_L4_CSUM_OK,
			       &v), E(UDP_BAD_LEN));
	wr16(l3b + 24, l4n - 1);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, DP_PARSE_L4_CSUM_OK,
			       &v), E(UDP_BAD_LEN));
	wr16(l3b + 24, 4);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, DP_PARSE_L4_CSUM_OK,
			       &v), E(UDP_BAD_LEN));
	/* empty payload */
	l4n = mk_udp(l4b, 7, 9, 0);
	l3n = mk_ip4(l3b, 17, l4b, l4n, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	assert_int_equal(v.payload_off, v.l4_off + 8);
	assert_int_equal(v.l4_len, 8);
	/* a checksum computed as 0 is sent as 0xffff: find one */
	{
		uint32_t x;

		for (x = 0; x < 65536; x++) {
			l4n = mk_udp(l4b, 7, 9, 2);
			wr16(l4b + 8, x);
			l3n = mk_ip4(l3b, 17, l4b, l4n, NULL);
			if (rd16(l3b + 26) == 0xffff)
				break;
		}
		assert_true(x < 65536);
		assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	}
}

static void test_icmp4(void **state)
{
	struct dp_pkt_view v;
	uint32_t n, l4n, l3n;

	l4n = mk_icmp(l4b, 8, 0, 0xbeef, 56);
	l3n = mk_ip4(l3b, 1, l4b, l4n, NULL);
	n = mk_eth(pk, 0x0800, l3b, l3n, 0, NULL);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), 0);
	check_view(&v, n);
	assert_int_equal(v.icmp_type, 8);
	assert_int_equal(v.icmp_code, 0);
	assert_int_equal(v.sport, 0xbeef);
	assert_int_equal(v.dport, 0);
	assert_int_equal(v.payload_off, 34 + 8);
	assert_true(v.flags & DP_PKT_F_L4_CSUM_OK);
	check_prefixes(pk, n, DP_LINK_ETH);
	/* odd length message */
	l4n = mk_icmp(l4b, 0, 0, 0x1111, 3);
	l3n = mk_ip4(l3b, 1, l4b, l4n, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	assert_int_equal(v.icmp_type, 0);
	assert_int_equal(v.sport, 0x1111);
	/* not an echo: no id */
	l4n = mk_icmp(l4b, 3, 3, 0x2222, 28);
	l3n = mk_ip4(l3b, 1, l4b, l4n, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	assert_int_equal(v.icmp_type, 3);
	assert_int_equal(v.icmp_code, 3);
	assert_int_equal(v.sport, 0);
	/* bad checksum, short */
	l3b[l3n - 1] ^= 1;
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v),
			 E(ICMP_BAD_CHECKSUM));
	l3n = mk_ip4(l3b, 1, l4b, 7, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v),
			 E(ICMP_TRUNCATED));
	l3n = mk_ip4(l3b, 1, l4b, 0, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v),
			 E(ICMP_TRUNCATED));
}

static void test_other_l4(void **state)
{
	struct dp_pkt_view v;
	uint32_t l3n, n;

	memset(l4b, 0x77, 30);
	l3n = mk_ip4(l3b, 47, l4b, 30, NULL); /* GRE */
	n = mk_eth(pk, 0x0800, l3b, l3n, 0, NULL);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), 0);
	check_view(&v, n);
	assert_int_equal(v.l4_proto, 47);
	assert_int_equal(v.l4_off, 34);
	assert_int_equal(v.l4_len, 30);
	assert_int_equal(v.payload_off, 34);
	assert_int_equal(v.sport | v.dport | v.tcp_flags | v.icmp_type, 0);
	assert_false(v.flags & DP_PKT_F_L4_CSUM_OK);
	/* ICMPv6 inside IPv4 is just another protocol */
	l3n = mk_ip4(l3b, 58, l4b, 3, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	assert_int_equal(v.icmp_type, 0);
	/* no L4 bytes at all */
	l3n = mk_ip4(l3b, 132, l4b, 0, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	assert_int_equal(v.l4_len, 0);
}

/* ---- IPv6 ---- */

static void test_ip6_basic(void **state)
{
	static uint8_t mc[16] = { 0xff, 0x02, [15] = 1 };
	struct dp_pkt_view v;
	uint32_t n, l4n, l3n;

	l4n = mk_udp(l4b, 546, 547, 40);
	l3n = mk_ip6(l3b, 0, NULL, 0, 17, l4b, l4n, 0, NULL);
	n = mk_eth(pk, 0x86dd, l3b, l3n, 0, NULL);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), 0);
	check_view(&v, n);
	assert_int_equal(v.l3, DP_L3_IPV6);
	assert_int_equal(v.ip_version, 6);
	assert_int_equal(v.ethertype, 0x86dd);
	assert_int_equal(v.tos, 0xab);
	assert_int_equal(v.ttl, 64);
	assert_int_equal(v.l3_len, l3n);
	assert_int_equal(v.l4_off, 54);
	assert_int_equal(v.l4_len, l4n);
	assert_int_equal(v.l4_proto, 17);
	assert_int_equal(v.sport, 546);
	assert_int_equal(v.dport, 547);
	assert_memory_equal(v.src.b, v6_b, 16);
	assert_memory_equal(v.dst.b, v6_a, 16);
	assert_false(dp_addr_is_v4(&v.src));
	assert_true(v.flags & DP_PKT_F_L4_CSUM_OK);
	check_prefixes(pk, n, DP_LINK_ETH);
	assert_int_equal(parse(pk, 14 + 39, DP_LINK_ETH, 0, &v),
			 E(IP6_TRUNCATED));
	assert_int_equal(parse(pk, n - 1, DP_LINK_ETH, 0, &v),
			 E(IP6_TRUNCATED));
	/* padding */
	memset(pk + n, 0, 30);
	assert_int_equal(parse(pk, n + 30, DP_LINK_ETH, 0, &v), 0);
	assert_int_equal(v.l3_len, l3n);
	/* raw link */
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	assert_int_equal(v.ethertype, 0x86dd);
	assert_int_equal(v.l4_off, 40);
	check_prefixes(l3b, l3n, DP_LINK_RAW_IP);
	/* version in an IPv6 ethertype */
	pk[14] = 0x45;
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), E(IP6_BAD_VERSION));
	/* payload length lies: larger than the buffer, smaller than UDP */
	n = mk_eth(pk, 0x86dd, l3b, l3n, 0, NULL);
	wr16(pk + 18, l4n + 1);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), E(IP6_TRUNCATED));
	wr16(pk + 18, l4n - 1);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, DP_PARSE_L4_CSUM_OK, &v),
			 E(UDP_BAD_LEN));
	wr16(pk + 18, 0xffff); /* would not fit l3_len */
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v),
			 E(IP6_BAD_PAYLOAD_LEN));
	/* zero checksum is invalid on v6; a bad one too */
	n = mk_eth(pk, 0x86dd, l3b, l3n, 0, NULL);
	wr16(pk + 54 + 6, 0);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v),
			 E(UDP_BAD_CHECKSUM));
	wr16(pk + 54 + 6, 1);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v),
			 E(UDP_BAD_CHECKSUM));
	/* multicast source */
	l3n = mk_ip6(l3b, 0, NULL, 0, 17, l4b, l4n, 0, mc);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v),
			 E(IP6_BAD_SRC));
	/* unspecified source is fine (DAD) */
	l3n = mk_ip6(l3b, 0, NULL, 0, 17, l4b, l4n, 0,
		     (const uint8_t[16]){ 0 });
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
}

/* A generic extension header of 8 * (len8 + 1) bytes. */
static uint32_t ext(uint8_t *o, uint8_t nh, uint8_t len8)
{
	uint32_t n = (len8 + 1u) * 8u;

	memset(o, 0, n);
	o[0] = nh;
	o[1] = len8;
	if (n > 2) {
		o[2] = 1;               /* PadN */
		o[3] = (uint8_t)(n - 4);
	}
	return n;
}

static void test_ip6_ext(void **state)
{
	uint8_t e[600];
	struct dp_pkt_view v;
	uint32_t n, l4n, l3n, en, i;

	/* hop-by-hop, routing, destination options, AH, TCP */
	l4n = mk_tcp(l4b, 22, 60000, 0x10, 0, 9);
	en = 0;
	en += ext(e + en, 43, 0);        /* HBH -> routing */
	en += ext(e + en, 60, 1);        /* routing -> dest opts */
	en += ext(e + en, 51, 0);        /* dest opts -> AH */
	memset(e + en, 0, 16);
	e[en] = 6;                       /* AH -> TCP */
	e[en + 1] = 2;
	en += 16;
	e[8 + 3] = 0;                    /* no segments left */
	l3n = mk_ip6(l3b, 0, e, en, 6, l4b, l4n, 0, NULL);
	n = mk_eth(pk, 0x86dd, l3b, l3n, 0, NULL);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), 0);
	check_view(&v, n);
	assert_int_equal(v.l4_proto, 6);
	assert_int_equal(v.l4_off, 54 + en);
	assert_int_equal(v.l4_len, l4n);
	assert_int_equal(v.sport, 22);
	assert_int_equal(v.payload_off, 54 + en + 20);
	assert_true(v.flags & DP_PKT_F_IP6_ROUTING);
	assert_true(v.flags & DP_PKT_F_L4_CSUM_OK);
	check_prefixes(pk, n, DP_LINK_ETH);

	/* A routing header with segments left: the pseudo-header would use
	 * the final destination, so the checksum is neither checked nor
	 * claimed. With none left it is checked against v->dst as usual. */
	en = ext(e, 6, 1);
	e[2] = 4;                        /* SRH */
	e[3] = 1;                        /* segments left */
	l4n = mk_tcp(l4b, 22, 60000, 0x10, 0, 9);
	l3n = mk_ip6(l3b, 43, e, en, 6, l4b, l4n, 0, NULL);
	l3b[l3n - 1] ^= 0x55;
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	assert_true(v.flags & DP_PKT_F_IP6_ROUTING);
	assert_false(v.flags & DP_PKT_F_L4_CSUM_OK);
	assert_int_equal(v.sport, 22);
	e[3] = 0;
	l3n = mk_ip6(l3b, 43, e, en, 6, l4b, l4n, 0, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	assert_true(v.flags & DP_PKT_F_L4_CSUM_OK);
	l3b[l3n - 1] ^= 0x55;
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v),
			 E(TCP_BAD_CHECKSUM));

	/* an extension header length that runs past the payload */
	l4n = mk_tcp(l4b, 22, 60000, 0x10, 0, 9);
	en = 0;
	en += ext(e + en, 43, 0);        /* HBH -> routing */
	en += ext(e + en, 60, 1);        /* routing -> dest opts */
	en += ext(e + en, 51, 0);        /* dest opts -> AH */
	memset(e + en, 0, 16);
	e[en] = 6;                       /* AH -> TCP */
	e[en + 1] = 2;
	en += 16;
	e[8 + 3] = 0;                    /* no segments left */
	l3n = mk_ip6(l3b, 0, e, en, 6, l4b, l4n, 0, NULL);
	n = mk_eth(pk, 0x86dd, l3b, l3n, 0, NULL);
	pk[54 + 8 + 1] = 200;
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v),
			 E(IP6_BAD_EXT_HDR));
	n = mk_eth(pk, 0x86dd, l3b, l3n, 0, NULL);
	pk[54 + 8 + 16 + 8 + 1] = 50; /* AH length */
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v),
			 E(IP6_BAD_EXT_HDR));
	/* payload ends inside an extension header */
	en = ext(e, 60, 0);
	l3n = mk_ip6(l3b, 60, e, en, 17, l4b, 0, 0, NULL);
	wr16(l3b + 4, 6);
	assert_int_equal(parse(l3b, 46, DP_LINK_RAW_IP, 0, &v),
			 E(IP6_BAD_EXT_HDR));
	/* hop-by-hop not first */
	en = ext(e, 0, 0);
	en += ext(e + en, 17, 0);
	l4n = mk_udp(l4b, 1, 2, 0);
	l3n = mk_ip6(l3b, 60, e, en, 17, l4b, l4n, 0, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v),
			 E(IP6_BAD_EXT_HDR));
	/* jumbogram: payload length 0 with hop-by-hop */
	en = ext(e, 17, 0);
	l3n = mk_ip6(l3b, 0, e, en, 17, l4b, l4n, 0, NULL);
	wr16(l3b + 4, 0);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v),
			 E(IP6_BAD_PAYLOAD_LEN));

	/* eight extension headers are fine, nine are too many */
	en = 0;
	for (i = 0; i < 7; i++)
		en += ext(e + en, 60, 0);
	en += ext(e + en, 17, 0);
	l3n = mk_ip6(l3b, 60, e, en, 17, l4b, l4n, 0, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	assert_int_equal(v.l4_off, 40 + 64);
	assert_int_equal(v.sport, 1);
	en = 0;
	for (i = 0; i < 8; i++)
		en += ext(e + en, 60, 0);
	en += ext(e + en, 17, 0);
	l3n = mk_ip6(l3b, 60, e, en, 17, l4b, l4n, 0, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v),
			 E(IP6_TOO_MANY_EXT_HDRS));

	/* no next header: no L4, the rest is ignored */
	en = ext(e, 59, 0);
	memset(l4b, 0xcc, 10);
	l3n = mk_ip6(l3b, 60, e, en, 59, l4b, 10, 0, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	check_view(&v, l3n);
	assert_int_equal(v.l4_proto, 59);
	assert_int_equal(v.l4_off, 48);
	assert_int_equal(v.l4_len, 10);
	assert_int_equal(v.payload_off, 48);
	l3n = mk_ip6(l3b, 0, NULL, 0, 59, NULL, 0, 0, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	assert_int_equal(v.l4_len, 0);
	assert_int_equal(v.l3_len, 40);
}

static void test_ip6_fragments(void **state)
{
	uint8_t e[64];
	struct dp_pkt_view v;
	uint32_t n, l3n, en;

	/* HBH, then a first fragment of a UDP datagram */
	memset(l4b, 0x5a, 48);
	en = ext(e, 44, 0);
	memset(e + en, 0, 8);
	e[en] = 17;
	wr16(e + en + 2, 0 | 1);            /* offset 0, M */
	wr32(e + en + 4, 0xdeadbeef);
	en += 8;
	l3n = mk_ip6(l3b, 0, e, en, 17, l4b, 48, 0, NULL);
	n = mk_eth(pk, 0x86dd, l3b, l3n, 0, NULL);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), 0);
	check_view(&v, n);
	assert_int_equal(v.flags & (DP_PKT_F_FRAGMENT | DP_PKT_F_FIRST_FRAG |
				    DP_PKT_F_L4_CSUM_OK),
			 DP_PKT_F_FRAGMENT | DP_PKT_F_FIRST_FRAG);
	assert_int_equal(v.frag_id, 0xdeadbeef);
	assert_int_equal(v.frag_off, 0);
	assert_true(v.frag_more);
	assert_int_equal(v.frag_hdr_off, 54 + 8);
	assert_int_equal(v.frag_prev_nh_off, 54);  /* the HBH's first byte */
	assert_int_equal(v.l4_off, 54 + 16);
	assert_int_equal(v.l4_len, 48);
	assert_int_equal(v.l4_proto, 17);
	check_prefixes(pk, n, DP_LINK_ETH);

	/* later fragment, directly after the fixed header */
	memset(e, 0, 8);
	e[0] = 6;
	wr16(e + 2, 1480);                  /* offset 1480, last */
	wr32(e + 4, 7);
	l3n = mk_ip6(l3b, 44, e, 8, 6, l4b, 5, 0, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	check_view(&v, l3n);
	assert_int_equal(v.flags & (DP_PKT_F_FRAGMENT | DP_PKT_F_FIRST_FRAG),
			 DP_PKT_F_FRAGMENT);
	assert_int_equal(v.frag_off, 1480);
	assert_false(v.frag_more);
	assert_int_equal(v.frag_id, 7);
	assert_int_equal(v.frag_hdr_off, 40);
	assert_int_equal(v.frag_prev_nh_off, 6);
	assert_int_equal(v.l4_proto, 6);
	assert_int_equal(v.l4_off, 48);
	assert_int_equal(v.sport, 0);

	/* atomic fragment (offset 0, no M): still a fragment view */
	wr16(e + 2, 0);
	l3n = mk_ip6(l3b, 44, e, 8, 6, l4b, 5, 0, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	assert_int_equal(v.flags & (DP_PKT_F_FRAGMENT | DP_PKT_F_FIRST_FRAG),
			 DP_PKT_F_FRAGMENT);
	/* fragment header cut by the payload length */
	l3n = mk_ip6(l3b, 44, e, 8, 6, NULL, 0, 0, NULL);
	wr16(l3b + 4, 4);
	assert_int_equal(parse(l3b, 44, DP_LINK_RAW_IP, 0, &v),
			 E(IP6_BAD_EXT_HDR));
}

static uint32_t mk_ns(uint8_t *o, const uint8_t *opts, uint32_t optlen)
{
	memset(o, 0, 24);
	o[0] = 135;
	memcpy(o + 8, v6_a, 16);
	if (optlen)
		memcpy(o + 24, opts, optlen);
	return 24 + optlen;
}

static void test_icmp6_ndp(void **state)
{
	static const uint8_t sll[8] = { 1, 1, 2, 0, 0, 0, 0, 2 };
	static const uint8_t zero[8] = { 1, 0, 2, 0, 0, 0, 0, 2 };
	static const uint8_t over[8] = { 1, 2, 2, 0, 0, 0, 0, 2 };
	struct dp_pkt_view v;
	uint32_t n, l4n, l3n;

	/* echo request */
	l4n = mk_icmp(l4b, 128, 0, 0x4242, 32);
	l3n = mk_ip6(l3b, 0, NULL, 0, 58, l4b, l4n, 0, NULL);
	n = mk_eth(pk, 0x86dd, l3b, l3n, 0, NULL);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), 0);
	check_view(&v, n);
	assert_int_equal(v.icmp_type, 128);
	assert_int_equal(v.sport, 0x4242);
	assert_int_equal(v.payload_off, 54 + 8);
	assert_true(v.flags & DP_PKT_F_L4_CSUM_OK);
	check_prefixes(pk, n, DP_LINK_ETH);
	pk[n - 1] ^= 4;
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v),
			 E(ICMP6_BAD_CHECKSUM));
	l3n = mk_ip6(l3b, 0, NULL, 0, 58, l4b, 7, 0, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v),
			 E(ICMP6_TRUNCATED));
	/* not an echo: no id */
	l4n = mk_icmp(l4b, 1, 4, 0x4242, 40);
	l3n = mk_ip6(l3b, 0, NULL, 0, 58, l4b, l4n, 0, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	assert_int_equal(v.icmp_type, 1);
	assert_int_equal(v.icmp_code, 4);
	assert_int_equal(v.sport, 0);

	/* neighbour solicitation: with and without an option */
	l4n = mk_ns(l4b, sll, 8);
	l3n = mk_ip6(l3b, 0, NULL, 0, 58, l4b, l4n, 255, NULL);
	n = mk_eth(pk, 0x86dd, l3b, l3n, 0, NULL);
	assert_int_equal(parse(pk, n, DP_LINK_ETH, 0, &v), 0);
	check_view(&v, n);
	assert_int_equal(v.icmp_type, 135);
	assert_int_equal(v.ttl, 255);
	l4n = mk_ns(l4b, NULL, 0);
	l3n = mk_ip6(l3b, 0, NULL, 0, 58, l4b, l4n, 255, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	/* hop limit not 255 */
	l4n = mk_ns(l4b, sll, 8);
	l3n = mk_ip6(l3b, 0, NULL, 0, 58, l4b, l4n, 254, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), E(NDP_BAD));
	/* code not 0 */
	l4b[1] = 1;
	l3n = mk_ip6(l3b, 0, NULL, 0, 58, l4b, l4n, 255, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), E(NDP_BAD));
	/* option length 0, option past the end, trailing byte */
	l4n = mk_ns(l4b, zero, 8);
	l3n = mk_ip6(l3b, 0, NULL, 0, 58, l4b, l4n, 255, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), E(NDP_BAD));
	l4n = mk_ns(l4b, over, 8);
	l3n = mk_ip6(l3b, 0, NULL, 0, 58, l4b, l4n, 255, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), E(NDP_BAD));
	l4n = mk_ns(l4b, sll, 8);
	l4b[l4n++] = 1;
	l3n = mk_ip6(l3b, 0, NULL, 0, 58, l4b, l4n, 255, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), E(NDP_BAD));
	/* NS shorter than its fixed part */
	l4n = mk_ns(l4b, NULL, 0);
	l3n = mk_ip6(l3b, 0, NULL, 0, 58, l4b, 16, 255, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), E(NDP_BAD));
	/* router solicitation: 8 bytes, then options */
	memset(l4b, 0, 16);
	l4b[0] = 133;
	memcpy(l4b + 8, sll, 8);
	l3n = mk_ip6(l3b, 0, NULL, 0, 58, l4b, 16, 255, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), 0);
	assert_int_equal(v.icmp_type, 133);
	/* redirect shorter than 40 */
	l4b[0] = 137;
	l3n = mk_ip6(l3b, 0, NULL, 0, 58, l4b, 16, 255, NULL);
	assert_int_equal(parse(l3b, l3n, DP_LINK_RAW_IP, 0, &v), E(NDP_BAD));
}

/* A second parse into the same view must not keep anything from the
 * first one. */
static void test_view_reuse(void **state)
{
	struct dp_pkt_view v;
	uint8_t *b;
	uint32_t l4n, l3n, n, l3n2;

	l4n = mk_tcp(l4b, 1, 2, 0x3f, 0, 0);
	l3n = mk_ip4(l3b, 6, l4b, l4n, NULL);
	n = mk_eth(pk, 0x0800, l3b, l3n, 0, NULL);
	b = malloc(n);
	assert_non_null(b);
	memcpy(b, pk, n);
	assert_int_equal(dp_parse(b, n, DP_LINK_ETH, 0, &v), 0);
	assert_int_equal(v.tcp_flags, 0x3f);
	free(b);
	memset(l4b, 0, 8);
	l3n2 = mk_ip4(l3b, 6, l4b, 8, &(struct ip4_opts){ .ff = 0x2001 });
	assert_int_equal(dp_parse(l3b, l3n2, DP_LINK_RAW_IP, 0, &v), 0);
	assert_int_equal(v.tcp_flags, 0);
	assert_int_equal(v.sport, 0);
	assert_int_equal(v.dport, 0);
	assert_int_equal(v.flags & DP_PKT_F_L4_CSUM_OK, 0);
	assert_int_equal(v.link, DP_LINK_RAW_IP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum),
		cmocka_unit_test(test_csum_pseudo_and_l4),
		cmocka_unit_test(test_eth),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_ip4_udp),
		cmocka_unit_test(test_ip4_header_lies),
		cmocka_unit_test(test_ip4_options),
		cmocka_unit_test(test_ip4_src),
		cmocka_unit_test(test_ip4_fragments),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_icmp4),
		cmocka_unit_test(test_other_l4),
		cmocka_unit_test(test_ip6_basic),
		cmocka_unit_test(test_ip6_ext),
		cmocka_unit_test(test_ip6_fragments),
		cmocka_unit_test(test_icmp6_ndp),
		cmocka_unit_test(test_view_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
