/* dp_l3: every answer checked field by field, against hand-built
 * requests and against the replies Linux sent to the same requests on a
 * veth pair (data/l3_linux.pcap, turned into data/l3_linux.h).
 *
 * Views are made by a small parser local to this test so that dp_l3 is
 * tested alone; checksums are verified with a sum written here in host
 * order, independent of the one in dp_l3.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/dp_l3.h"

#include "data/l3_linux.h"

static const uint8_t our_mac[6] = { 0x8e, 0xb9, 0x4d, 0xa2, 0x31, 0xbf };
static const uint8_t peer_mac[6] = { 0x36, 0x23, 0x99, 0xf9, 0x64, 0x8e };

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

/* ---- independent checksum ---- */

static uint32_t tsum(const uint8_t *p, uint32_t len, uint32_t s)
{
	uint32_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += rd16(p + i);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

static void assert_ip4_csum(const uint8_t *ip)
{
	assert_int_equal(tsum(ip, (ip[0] & 15) * 4u, 0), 0xffff);
}

/* L4 checksum over ip's payload, with the pseudo-header */
static void assert_l4_csum(const uint8_t *ip, const uint8_t *l4,
			   uint32_t l4len, uint8_t proto)
{
	uint32_t s;
	uint8_t t[4];

	if ((ip[0] >> 4) == 4) {
		s = tsum(ip + 12, 8, 0);
		if (proto == 1) /* ICMPv4 has no pseudo-header */
			s = 0;
	} else {
		s = tsum(ip + 8, 32, 0);
	}
	if (proto != 1) {
		wr16(t, 0);
		wr16(t + 2, proto);
		s = tsum(t, 4, s);
		wr32(t, l4len);
		s = tsum(t, 4, s);
	}
	assert_int_equal(tsum(l4, l4len, s), 0xffff);
}

/* ---- a small parser for the packets of this test ---- */

static void addr4(union dp_addr *a, const uint8_t *p)
{
	uint32_t be;

	memcpy(&be, p, 4);
	dp_addr_from_v4(a, be);
}

static void tview(const uint8_t *b, uint32_t len, enum dp_link link,
		  struct dp_pkt_view *v)
{
	uint32_t off = 0, end, nh, hl;
	uint16_t et;

	memset(v, 0, sizeof(*v));
	v->len = len;
	v->link = link;
	if (link == DP_LINK_ETH) {
		memcpy(v->eth_dst, b, 6);
		memcpy(v->eth_src, b + 6, 6);
		if (b[0] == 0xff)
			v->flags |= DP_PKT_F_L2_BCAST;
		else if (b[0] & 1)
			v->flags |= DP_PKT_F_L2_MCAST;
		et = rd16(b + 12);
		off = 14;
		while (et == 0x8100 || et == 0x88a8) {
			v->flags |= DP_PKT_F_VLAN;
			v->vlan_tci = rd16(b + off);
			et = rd16(b + off + 2);
			off += 4;
		}
		v->ethertype = et;
	} else {
		et = (b[0] >> 4) == 4 ? 0x0800 : 0x86dd;
	}
	v->l3_off = (uint16_t)off;
	if (et == 0x0806) {
		v->l3 = DP_L3_ARP;
		v->arp_op = rd16(b + off + 6);
		memcpy(v->arp_sha, b + off + 8, 6);
		addr4(&v->arp_spa, b + off + 14);
		memcpy(v->arp_tha, b + off + 18, 6);
		addr4(&v->arp_tpa, b + off + 24);
		return;
	}
	if (et == 0x0800) {
		v->l3 = DP_L3_IPV4;
		v->ip_version = 4;
		v->l3_len = rd16(b + off + 2);
		v->tos = b[off + 1];
		v->ttl = b[off + 8];
		v->l4_proto = b[off + 9];
		addr4(&v->src, b + off + 12);
		addr4(&v->dst, b + off + 16);
		hl = (b[off] & 15) * 4u;
		if (hl > 20)
			v->flags |= DP_PKT_F_IP4_OPTIONS;
		v->frag_off = (uint16_t)((rd16(b + off + 6) & 0x1fff) * 8);
		v->frag_more = rd16(b + off + 6) & 0x2000;
		if (v->frag_off || v->frag_more)
			v->flags |= DP_PKT_F_FRAGMENT;
		v->l4_off = (uint16_t)(off + hl);
	} else {
		v->l3 = DP_L3_IPV6;
		v->ip_version = 6;
		v->l3_len = (uint16_t)(40 + rd16(b + off + 4));
		v->tos = (uint8_t)(rd32(b + off) >> 20);
		v->ttl = b[off + 7];
		memcpy(v->src.b, b + off + 8, 16);
		memcpy(v->dst.b, b + off + 24, 16);
		nh = b[off + 6];
		hl = off + 40;
		while (nh == 0 || nh == 43 || nh == 60 || nh == 44) {
			if (nh == 44) {
				v->frag_off = rd16(b + hl + 2) & 0xfff8;
				v->flags |= DP_PKT_F_FRAGMENT;
				nh = b[hl];
				hl += 8;
				continue;
			}
			nh = b[hl];
			hl += (b[hl + 1] + 1u) * 8;
		}
		v->l4_proto = (uint8_t)nh;
		v->l4_off = (uint16_t)hl;
	}
	end = v->l3_off + v->l3_len;
	v->l4_len = (uint16_t)(end - v->l4_off);
	if (v->l4_proto == 6) {
		v->sport = rd16(b + v->l4_off);
		v->dport = rd16(b + v->l4_off + 2);
		v->tcp_flags = b[v->l4_off + 13];
		v->payload_off = (uint16_t)(v->l4_off + (b[v->l4_off + 12] >> 4) * 4);
	} else if (v->l4_proto == 1 || v->l4_proto == 58) {
		v->icmp_type = b[v->l4_off];
		v->icmp_code = b[v->l4_off + 1];
		v->payload_off = (uint16_t)(v->l4_off + 8);
	} else if (v->l4_proto == 17) {
		v->payload_off = (uint16_t)(v->l4_off + 8);
	}
}

/* ---- packet makers ---- */

static uint32_t mk_eth(uint8_t *b, const uint8_t *dst, const uint8_t *src,
		       int vlan, uint16_t et)
{
	memcpy(b, dst, 6);
	memcpy(b + 6, src, 6);
	if (vlan >= 0) {
		wr16(b + 12, 0x8100);
		wr16(b + 14, (uint16_t)vlan);
		wr16(b + 16, et);
		return 18;
	}
	wr16(b + 12, et);
	return 14;
}

static const uint8_t a4[4] = { 10, 77, 0, 1 }, b4[4] = { 10, 77, 0, 2 };
static const uint8_t a6[16] = { 0xfd, 0x77, [15] = 1 };
static const uint8_t b6[16] = { 0xfd, 0x77, [15] = 2 };

static uint32_t mk_ip4(uint8_t *ip, uint8_t tos, uint16_t frag, uint8_t proto,
		       const uint8_t *src, const uint8_t *dst, uint32_t optlen,
		       uint32_t l4len)
{
	uint32_t hl = 20 + optlen;

	memset(ip, 0, hl);
	ip[0] = (uint8_t)(0x40 | hl / 4);
	ip[1] = tos;
	wr16(ip + 2, (uint16_t)(hl + l4len));
	wr16(ip + 4, 0x1234);
	wr16(ip + 6, frag);
	ip[8] = 57;
	ip[9] = proto;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	if (optlen) {
		ip[20] = 7; /* record route */
		ip[21] = (uint8_t)(optlen - 1);
		ip[22] = 4;
	}
	wr16(ip + 10, (uint16_t)~tsum(ip, hl, 0));
	return hl;
}

static void mk_ip6(uint8_t *ip, uint8_t tc, uint32_t flow, uint8_t nh,
		   uint8_t hlim, const uint8_t *src, const uint8_t *dst,
		   uint32_t plen)
{
	wr32(ip, 6u << 28 | (uint32_t)tc << 20 | flow);
	wr16(ip + 4, (uint16_t)plen);
	ip[6] = nh;
	ip[7] = hlim;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
}

static void fill_l4_csum(uint8_t *ip, uint8_t *l4, uint32_t l4len,
			 uint8_t proto, uint32_t csum_off)
{
	uint32_t s = 0;
	uint8_t t[4];

	wr16(l4 + csum_off, 0);
	if (proto != 1) {
		s = (ip[0] >> 4) == 4 ? tsum(ip + 12, 8, 0) : tsum(ip + 8, 32, 0);
		wr16(t, 0);
		wr16(t + 2, proto);
		s = tsum(t, 4, s);
		wr32(t, l4len);
		s = tsum(t, 4, s);
	}
	wr16(l4 + csum_off, (uint16_t)~tsum(l4, l4len, s));
}

/* ---- golden comparisons ---- */

#define M_V4ID  1u /* IPv4 id and header checksum */
#define M_FLOW  2u /* IPv6 flow label */
#define M_TCSUM 4u /* v6 TCP checksum (the kernel left it to offload) */

static void assert_golden(const uint8_t *got, int glen, unsigned idx,
			  unsigned mask)
{
	uint8_t g[2048], w[2048];
	uint32_t wl = linux_pkts[idx].len, l3 = 14;

	assert_true(glen > 0);
	assert_int_equal((uint32_t)glen, wl);
	memcpy(g, got, wl);
	memcpy(w, linux_pkts[idx].b, wl);
	if (mask & M_V4ID) {
		memset(g + l3 + 4, 0, 2);
		memset(w + l3 + 4, 0, 2);
		memset(g + l3 + 10, 0, 2);
		memset(w + l3 + 10, 0, 2);
	}
	if (mask & M_FLOW) {
		g[l3 + 1] &= 0xf0;
		w[l3 + 1] &= 0xf0;
		memset(g + l3 + 2, 0, 2);
		memset(w + l3 + 2, 0, 2);
	}
	if (mask & M_TCSUM) {
		memset(g + l3 + 40 + 16, 0, 2);
		memset(w + l3 + 40 + 16, 0, 2);
	}
	assert_memory_equal(g, w, wl);
}

static int copy_pkt(uint8_t *buf, unsigned idx)
{
	memcpy(buf, linux_pkts[idx].b, linux_pkts[idx].len);
	return linux_pkts[idx].len;
}

static void test_golden_arp(void **state)
{
	static const unsigned pairs[][2] = { { 0, 1 }, { 2, 3 } };
	uint8_t buf[2048];
	struct dp_pkt_view v;
	unsigned i;
	int n;

	(void)state;
	for (i = 0; i < 2; i++) {
		n = copy_pkt(buf, pairs[i][0]);
		tview(buf, (uint32_t)n, DP_LINK_ETH, &v);
		n = dp_l3_arp_reply_inplace(buf, (uint32_t)n, &v, our_mac);
		assert_golden(buf, n, pairs[i][1], 0);
	}
	/* the kernel's own request, and ours, are the same bytes */
	union dp_addr me, tgt;

	addr4(&me, a4);
	addr4(&tgt, b4);
	n = dp_l3_build_arp_request(buf, sizeof(buf), peer_mac, &me, &tgt);
	assert_golden(buf, n, 2, 0);
}

static void test_golden_echo(void **state)
{
	static const unsigned v4[] = { 4, 6, 8, 44 }, v6[] = { 12, 14, 46 };
	uint8_t buf[2048];
	struct dp_pkt_view v;
	unsigned i;
	int n;

	(void)state;
	for (i = 0; i < 4; i++) {
		n = copy_pkt(buf, v4[i]);
		tview(buf, (uint32_t)n, DP_LINK_ETH, &v);
		n = dp_l3_echo_reply_inplace(buf, (uint32_t)n, &v, our_mac);
		assert_golden(buf, n, v4[i] + 1, M_V4ID);
		assert_ip4_csum(buf + 14);
	}
	for (i = 0; i < 3; i++) {
		n = copy_pkt(buf, v6[i]);
		tview(buf, (uint32_t)n, DP_LINK_ETH, &v);
		n = dp_l3_echo_reply_inplace(buf, (uint32_t)n, &v, our_mac);
		assert_golden(buf, n, v6[i] + 1, M_FLOW);
	}

	/* With a record-route option Linux echoes the option; we answer
	 * without options: the ICMP message must still match exactly. */
	const uint8_t *want = linux_pkts[31].b;
	uint32_t whl = (want[14] & 15) * 4u;

	n = copy_pkt(buf, 30);
	tview(buf, (uint32_t)n, DP_LINK_ETH, &v);
	n = dp_l3_echo_reply_inplace(buf, (uint32_t)n, &v, our_mac);
	assert_int_equal(n, linux_pkts[31].len - (whl - 20));
	assert_memory_equal(buf, want, 14);
	assert_int_equal(buf[14], 0x45);
	assert_int_equal(buf[15], want[15]);
	assert_int_equal(rd16(buf + 16), rd16(want + 16) - (whl - 20));
	assert_int_equal(rd16(buf + 20), rd16(want + 20));
	assert_memory_equal(buf + 22, want + 22, 2);
	assert_memory_equal(buf + 26, want + 26, 8);
	assert_ip4_csum(buf + 14);
	assert_memory_equal(buf + 34, want + 14 + whl, (uint32_t)n - 34);
}

static void test_golden_ndp(void **state)
{
	uint8_t buf[2048], out[256];
	struct dp_pkt_view v;
	int n;

	(void)state;
	n = copy_pkt(buf, 10);
	tview(buf, (uint32_t)n, DP_LINK_ETH, &v);
	n = dp_l3_build_ndp_na(out, sizeof(out), buf, &v, our_mac);
	assert_golden(out, n, 11, 0);

	n = copy_pkt(buf, 42); /* DAD */
	tview(buf, (uint32_t)n, DP_LINK_ETH, &v);
	n = dp_l3_build_ndp_na(out, sizeof(out), buf, &v, our_mac);
	assert_golden(out, n, 43, 0);

	/* the kernel's solicitation, rebuilt */
	union dp_addr me, tgt;

	memcpy(me.b, a6, 16);
	memcpy(tgt.b, b6, 16);
	n = dp_l3_build_ndp_ns(out, sizeof(out), peer_mac, &me, &tgt);
	assert_golden(out, n, 10, 0);
}

static void test_golden_icmp_err(void **state)
{
	static const struct {
		unsigned req;
		uint8_t type, code;
		unsigned mask;
	} c[] = {
		{ 16, 3, 3, M_V4ID }, { 18, 3, 3, M_V4ID },
		{ 20, 3, 2, M_V4ID }, { 32, 1, 4, M_FLOW },
		{ 34, 1, 4, M_FLOW }, { 36, 4, 1, M_FLOW },
		{ 38, 4, 1, M_FLOW }, { 52, 1, 4, M_FLOW },
	};
	uint8_t buf[2048], out[1600];
	struct dp_pkt_view v;
	union dp_addr src;
	unsigned i;
	int n;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		n = copy_pkt(buf, c[i].req);
		tview(buf, (uint32_t)n, DP_LINK_ETH, &v);
		if (v.ip_version == 4)
			addr4(&src, b4);
		else
			memcpy(src.b, b6, 16);
		n = dp_l3_build_icmp_error(out, sizeof(out), buf, &v,
					   c[i].type, c[i].code, 0, &src,
					   our_mac);
		assert_golden(out, n, c[i].req + 1, c[i].mask);
		if (v.ip_version == 4)
			assert_ip4_csum(out + 14);
	}
}

static void test_golden_rst(void **state)
{
	static const unsigned v4[] = { 22, 24, 26, 28, 48 }, v6[] = { 40, 50 };
	uint8_t buf[2048], out[128];
	struct dp_pkt_view v;
	unsigned i;
	int n;

	(void)state;
	for (i = 0; i < 5; i++) {
		n = copy_pkt(buf, v4[i]);
		tview(buf, (uint32_t)n, DP_LINK_ETH, &v);
		n = dp_l3_build_tcp_rst(out, sizeof(out), buf, &v, our_mac);
		/* id 0 and DF, as Linux: nothing masked */
		assert_golden(out, n, v4[i] + 1, 0);
	}
	for (i = 0; i < 2; i++) {
		n = copy_pkt(buf, v6[i]);
		tview(buf, (uint32_t)n, DP_LINK_ETH, &v);
		n = dp_l3_build_tcp_rst(out, sizeof(out), buf, &v, our_mac);
		assert_golden(out, n, v6[i] + 1, M_FLOW | M_TCSUM);
		assert_l4_csum(out + 14, out + 54, 20, 6);
	}
}

/* ---- ARP by hand ---- */

static uint32_t mk_arp_req(uint8_t *b, int vlan, uint32_t pad)
{
	static const uint8_t bc[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint32_t o = mk_eth(b, bc, peer_mac, vlan, 0x0806);
	uint8_t *a = b + o;

	wr16(a, 1);
	wr16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	wr16(a + 6, 1);
	memcpy(a + 8, peer_mac, 6);
	memcpy(a + 14, a4, 4);
	memset(a + 18, 0, 6);
	memcpy(a + 24, b4, 4);
	memset(a + 28, 0xee, pad);
	return o + 28 + pad;
}

static void test_arp_vlan_padding(void **state)
{
	uint8_t b[128];
	struct dp_pkt_view v;
	uint32_t len = mk_arp_req(b, 0x2005, 18);
	int n;

	(void)state;
	assert_int_equal(len, 64);
	tview(b, len, DP_LINK_ETH, &v);
	n = dp_l3_arp_reply_inplace(b, len, &v, our_mac);
	assert_int_equal(n, 46); /* 42 + tag, padding trimmed */
	assert_memory_equal(b, peer_mac, 6);
	assert_memory_equal(b + 6, our_mac, 6);
	assert_int_equal(rd16(b + 12), 0x8100);
	assert_int_equal(rd16(b + 14), 0x2005);
	assert_int_equal(rd16(b + 16), 0x0806);
	assert_int_equal(rd16(b + 18), 1);
	assert_int_equal(rd16(b + 20), 0x0800);
	assert_int_equal(b[22], 6);
	assert_int_equal(b[23], 4);
	assert_int_equal(rd16(b + 24), 2);
	assert_memory_equal(b + 26, our_mac, 6);
	assert_memory_equal(b + 32, b4, 4);
	assert_memory_equal(b + 36, peer_mac, 6);
	assert_memory_equal(b + 42, a4, 4);
}

static void test_arp_bad(void **state)
{
	uint8_t b[128];
	struct dp_pkt_view v;
	uint32_t len;

	(void)state;
	len = mk_arp_req(b, -1, 0);
	tview(b, len, DP_LINK_ETH, &v);
	assert_int_equal(dp_l3_arp_reply_inplace(b, len - 1, &v, our_mac),
			 -DP_DROP_ARP_TRUNCATED);
	b[14 + 4] = 8; /* hlen */
	assert_int_equal(dp_l3_arp_reply_inplace(b, len, &v, our_mac),
			 -DP_DROP_ARP_BAD_FORMAT);
	len = mk_arp_req(b, -1, 0);
	b[14 + 8] |= 1; /* multicast sender */
	assert_int_equal(dp_l3_arp_reply_inplace(b, len, &v, our_mac),
			 -DP_DROP_ARP_BAD_FORMAT);
	len = mk_arp_req(b, -1, 0);
	memset(b + 14 + 24, 0xff, 4);
	assert_int_equal(dp_l3_arp_reply_inplace(b, len, &v, our_mac),
			 -DP_DROP_ARP_NOT_FOR_US);
	v.link = DP_LINK_RAW_IP;
	assert_int_equal(dp_l3_arp_reply_inplace(b, len, &v, our_mac),
			 -DP_DROP_ARP_BAD_FORMAT);
	/* builder: v6 addresses are refused, a short buffer too */
	union dp_addr x, y;

	memcpy(x.b, a6, 16);
	addr4(&y, b4);
	assert_true(dp_l3_build_arp_request(b, sizeof(b), our_mac, &x, &y) < 0);
	addr4(&x, a4);
	assert_int_equal(dp_l3_build_arp_request(b, 41, our_mac, &x, &y),
			 -DP_DROP_PKT_TOO_BIG);
}

/* ---- echo by hand ---- */

static uint32_t mk_echo4(uint8_t *b, int vlan, uint8_t tos, uint16_t frag,
			 uint32_t optlen, uint32_t datalen, uint32_t pad,
			 enum dp_link link)
{
	uint32_t o = link == DP_LINK_ETH ?
		mk_eth(b, our_mac, peer_mac, vlan, 0x0800) : 0;
	uint8_t *ip = b + o;
	uint32_t hl = mk_ip4(ip, tos, frag, 1, a4, b4, optlen, 8 + datalen);
	uint8_t *ic = ip + hl;
	uint32_t i;

	ic[0] = 8;
	ic[1] = 0;
	wr16(ic + 4, 0x4242);
	wr16(ic + 6, 7);
	for (i = 0; i < datalen; i++)
		ic[8 + i] = (uint8_t)(i * 7 + 3);
	fill_l4_csum(ip, ic, 8 + datalen, 1, 2);
	memset(ic + 8 + datalen, 0, pad);
	return o + hl + 8 + datalen + pad;
}

static void check_echo4(const uint8_t *b, int n, uint32_t l2, uint8_t tos,
			uint32_t datalen)
{
	const uint8_t *ip = b + l2, *ic = ip + 20;
	uint32_t i;

	assert_int_equal(n, (int)(l2 + 20 + 8 + datalen));
	if (l2) {
		assert_memory_equal(b, peer_mac, 6);
		assert_memory_equal(b + 6, our_mac, 6);
	}
	assert_int_equal(ip[0], 0x45);
	assert_int_equal(ip[1], tos);
	assert_int_equal(rd16(ip + 2), 28 + datalen);
	assert_int_equal(rd16(ip + 6), 0); /* no DF, no fragment bits */
	assert_int_equal(ip[8], 64);
	assert_int_equal(ip[9], 1);
	assert_memory_equal(ip + 12, b4, 4);
	assert_memory_equal(ip + 16, a4, 4);
	assert_ip4_csum(ip);
	assert_int_equal(ic[0], 0);
	assert_int_equal(ic[1], 0);
	assert_int_equal(rd16(ic + 4), 0x4242);
	assert_int_equal(rd16(ic + 6), 7);
	for (i = 0; i < datalen; i++)
		assert_int_equal(ic[8 + i], (uint8_t)(i * 7 + 3));
	assert_l4_csum(ip, ic, 8 + datalen, 1);
}

static void test_echo4_shapes(void **state)
{
	static const uint32_t datalens[] = { 0, 1, 2, 3, 17, 56, 1472 };
	uint8_t b[2048];
	struct dp_pkt_view v;
	uint32_t len, i;
	int n;

	(void)state;
	for (i = 0; i < sizeof(datalens) / sizeof(datalens[0]); i++) {
		/* padded frame, DF set in the request */
		len = mk_echo4(b, -1, 0x2e, 0x4000, 0, datalens[i], 9,
			       DP_LINK_ETH);
		tview(b, len, DP_LINK_ETH, &v);
		v.flags |= DP_PKT_F_L4_CSUM_OK;
		n = dp_l3_echo_reply_inplace(b, len, &v, our_mac);
		check_echo4(b, n, 14, 0x2e, datalens[i]);

		/* options are dropped: the message moves up */
		len = mk_echo4(b, 7, 0, 0, 8, datalens[i], 0, DP_LINK_ETH);
		tview(b, len, DP_LINK_ETH, &v);
		n = dp_l3_echo_reply_inplace(b, len, &v, our_mac);
		check_echo4(b, n, 18, 0, datalens[i]);
		assert_int_equal(rd16(b + 14), 7);

		/* raw IP (TUN) */
		len = mk_echo4(b, -1, 0, 0, 0, datalens[i], 0,
			       DP_LINK_RAW_IP);
		tview(b, len, DP_LINK_RAW_IP, &v);
		n = dp_l3_echo_reply_inplace(b, len, &v, our_mac);
		check_echo4(b, n, 0, 0, datalens[i]);
	}
}

static void test_echo4_refused(void **state)
{
	uint8_t b[256];
	struct dp_pkt_view v;
	uint32_t len;

	(void)state;
	/* bad checksum (not verified by the parser) */
	len = mk_echo4(b, -1, 0, 0, 0, 10, 0, DP_LINK_ETH);
	b[14 + 20 + 9] ^= 1;
	tview(b, len, DP_LINK_ETH, &v);
	assert_int_equal(dp_l3_echo_reply_inplace(b, len, &v, our_mac),
			 -DP_DROP_ICMP_BAD_CHECKSUM);
	/* broadcast and multicast destinations */
	len = mk_echo4(b, -1, 0, 0, 0, 10, 0, DP_LINK_ETH);
	memset(b + 14 + 16, 0xff, 4);
	tview(b, len, DP_LINK_ETH, &v);
	assert_int_equal(dp_l3_echo_reply_inplace(b, len, &v, our_mac),
			 -DP_DROP_ICMP_UNHANDLED_TYPE);
	b[14 + 16] = 224;
	assert_int_equal(dp_l3_echo_reply_inplace(b, len, &v, our_mac),
			 -DP_DROP_ICMP_UNHANDLED_TYPE);
	/* not an echo request */
	len = mk_echo4(b, -1, 0, 0, 0, 10, 0, DP_LINK_ETH);
	b[14 + 20] = 0;
	tview(b, len, DP_LINK_ETH, &v);
	assert_int_equal(dp_l3_echo_reply_inplace(b, len, &v, our_mac),
			 -DP_DROP_ICMP_UNHANDLED_TYPE);
	/* fragment */
	len = mk_echo4(b, -1, 0, 0x2000, 0, 10, 0, DP_LINK_ETH);
	tview(b, len, DP_LINK_ETH, &v);
	assert_true(dp_l3_echo_reply_inplace(b, len, &v, our_mac) < 0);
	/* buffer shorter than the view says */
	len = mk_echo4(b, -1, 0, 0, 0, 10, 0, DP_LINK_ETH);
	tview(b, len, DP_LINK_ETH, &v);
	assert_int_equal(dp_l3_echo_reply_inplace(b, len - 1, &v, our_mac),
			 -DP_DROP_ICMP_TRUNCATED);
}

static uint32_t mk_echo6(uint8_t *b, uint8_t tc, const uint8_t *dst,
			 bool hbh, uint32_t datalen, uint32_t pad)
{
	uint32_t o = mk_eth(b, our_mac, peer_mac, -1, 0x86dd);
	uint8_t *ip = b + o, *ic = ip + 40;
	uint32_t ext = hbh ? 8 : 0, i;

	mk_ip6(ip, tc, 0x12345, hbh ? 0 : 58, 61, a6, dst, ext + 8 + datalen);
	if (hbh) {
		memset(ic, 0, 8);
		ic[0] = 58;
		ic[2] = 1; /* PadN */
		ic[3] = 4;
		ic += 8;
	}
	ic[0] = 128;
	ic[1] = 0;
	wr16(ic + 4, 0x77);
	wr16(ic + 6, 0x100);
	for (i = 0; i < datalen; i++)
		ic[8 + i] = (uint8_t)(i ^ 0x5a);
	fill_l4_csum(ip, ic, 8 + datalen, 58, 2);
	memset(ic + 8 + datalen, 0, pad);
	return o + 40 + ext + 8 + datalen + pad;
}

static void test_echo6_shapes(void **state)
{
	static const uint32_t datalens[] = { 0, 1, 56, 1000 };
	uint8_t b[2048];
	struct dp_pkt_view v;
	uint32_t len, i, k;
	int n;
	int hbh;

	(void)state;
	for (i = 0; i < 4; i++) {
		for (hbh = 0; hbh < 2; hbh++) {
			len = mk_echo6(b, 0xb8, b6, hbh, datalens[i], 6);
			tview(b, len, DP_LINK_ETH, &v);
			n = dp_l3_echo_reply_inplace(b, len, &v, our_mac);
			assert_int_equal(n, 14 + 48 + (int)datalens[i]);
			assert_memory_equal(b, peer_mac, 6);
			assert_memory_equal(b + 6, our_mac, 6);
			assert_int_equal(rd16(b + 12), 0x86dd);
			assert_int_equal(rd32(b + 14),
					 6u << 28 | 0xb8u << 20 | 0x12345);
			assert_int_equal(rd16(b + 18), 8 + datalens[i]);
			assert_int_equal(b[20], 58);
			assert_int_equal(b[21], 64);
			assert_memory_equal(b + 22, b6, 16);
			assert_memory_equal(b + 38, a6, 16);
			assert_int_equal(b[54], 129);
			assert_int_equal(b[55], 0);
			assert_int_equal(rd16(b + 58), 0x77);
			assert_int_equal(rd16(b + 60), 0x100);
			for (k = 0; k < datalens[i]; k++)
				assert_int_equal(b[62 + k], (uint8_t)(k ^ 0x5a));
			assert_l4_csum(b + 14, b + 54, 8 + datalens[i], 58);
		}
	}
}

static void test_echo6_refused(void **state)
{
	static const uint8_t mc[16] = { 0xff, 0x02, [15] = 1 };
	uint8_t b[256];
	struct dp_pkt_view v;
	uint32_t len;

	(void)state;
	len = mk_echo6(b, 0, mc, false, 8, 0);
	tview(b, len, DP_LINK_ETH, &v);
	assert_int_equal(dp_l3_echo_reply_inplace(b, len, &v, our_mac),
			 -DP_DROP_ICMP6_UNHANDLED_TYPE);
	len = mk_echo6(b, 0, b6, false, 8, 0);
	b[14 + 40 + 8] ^= 0x10;
	tview(b, len, DP_LINK_ETH, &v);
	assert_int_equal(dp_l3_echo_reply_inplace(b, len, &v, our_mac),
			 -DP_DROP_ICMP6_BAD_CHECKSUM);
}

/* ---- NDP by hand ---- */

static uint32_t mk_ns(uint8_t *b, const uint8_t *src, const uint8_t *dst,
		      const uint8_t *target, uint8_t hlim, uint8_t code,
		      int slla, int badopt)
{
	uint32_t o = mk_eth(b, our_mac, peer_mac, -1, 0x86dd);
	uint8_t *ip = b + o, *ns = ip + 40;
	uint32_t l = 24;

	ns[0] = 135;
	ns[1] = code;
	wr32(ns + 4, 0);
	memcpy(ns + 8, target, 16);
	if (badopt == 1) { /* zero-length option */
		memset(ns + l, 0, 8);
		ns[l] = 14;
		l += 8;
	}
	if (slla) {
		static const uint8_t other[6] = { 2, 0, 0, 0, 0, 9 };

		ns[l] = 1;
		ns[l + 1] = 1;
		memcpy(ns + l + 2, other, 6);
		l += 8;
	}
	if (badopt == 2) { /* option overruns the message */
		ns[l] = 14;
		ns[l + 1] = 2;
		memset(ns + l + 2, 0, 6);
		l += 8;
	}
	mk_ip6(ip, 0, 0, 58, hlim, src, dst, l);
	fill_l4_csum(ip, ns, l, 58, 2);
	return o + 40 + l;
}

static void test_ndp_na(void **state)
{
	static const uint8_t snm[16] = { 0xff, 0x02, [11] = 1, 0xff, 0, 0, 2 };
	static const uint8_t unspec[16] = { 0 };
	static const uint8_t other[6] = { 2, 0, 0, 0, 0, 9 };
	uint8_t b[256], out[256];
	struct dp_pkt_view v;
	uint32_t len;
	int n;

	(void)state;
	/* with SLLA: Ethernet destination is the SLLA */
	len = mk_ns(b, a6, snm, b6, 255, 0, 1, 0);
	tview(b, len, DP_LINK_ETH, &v);
	n = dp_l3_build_ndp_na(out, sizeof(out), b, &v, our_mac);
	assert_int_equal(n, 86);
	assert_memory_equal(out, other, 6);
	assert_memory_equal(out + 6, our_mac, 6);
	assert_int_equal(rd16(out + 12), 0x86dd);
	assert_int_equal(rd32(out + 14), 6u << 28);
	assert_int_equal(rd16(out + 18), 32);
	assert_int_equal(out[20], 58);
	assert_int_equal(out[21], 255);
	assert_memory_equal(out + 22, b6, 16);
	assert_memory_equal(out + 38, a6, 16);
	assert_int_equal(out[54], 136);
	assert_int_equal(out[55], 0);
	assert_int_equal(rd32(out + 58), 0x60000000); /* S, O; not R */
	assert_memory_equal(out + 62, b6, 16);
	assert_int_equal(out[78], 2);
	assert_int_equal(out[79], 1);
	assert_memory_equal(out + 80, our_mac, 6);
	assert_l4_csum(out + 14, out + 54, 32, 58);

	/* unicast NS (NUD probe) without SLLA: back to the frame source */
	len = mk_ns(b, a6, b6, b6, 255, 0, 0, 0);
	tview(b, len, DP_LINK_ETH, &v);
	n = dp_l3_build_ndp_na(out, sizeof(out), b, &v, our_mac);
	assert_int_equal(n, 86);
	assert_memory_equal(out, peer_mac, 6);
	assert_memory_equal(out + 38, a6, 16);

	/* DAD: to all-nodes, override only */
	len = mk_ns(b, unspec, snm, b6, 255, 0, 0, 0);
	tview(b, len, DP_LINK_ETH, &v);
	n = dp_l3_build_ndp_na(out, sizeof(out), b, &v, our_mac);
	assert_int_equal(n, 86);
	assert_memory_equal(out, "\x33\x33\x00\x00\x00\x01", 6);
	assert_memory_equal(out + 38, "\xff\x02\0\0\0\0\0\0\0\0\0\0\0\0\0\x01",
			    16);
	assert_int_equal(rd32(out + 58), 0x20000000);
	assert_l4_csum(out + 14, out + 54, 32, 58);

	/* short output buffer */
	assert_int_equal(dp_l3_build_ndp_na(out, 80, b, &v, our_mac),
			 -DP_DROP_PKT_TOO_BIG);
}

static void test_ndp_invalid(void **state)
{
	static const uint8_t snm[16] = { 0xff, 0x02, [11] = 1, 0xff, 0, 0, 2 };
	static const uint8_t snm_other[16] = { 0xff, 0x02, [11] = 1, 0xff,
					       0, 0, 3 };
	static const uint8_t unspec[16] = { 0 };
	static const uint8_t mc_target[16] = { 0xff, 0x02, [15] = 1 };
	uint8_t b[256], out[256];
	struct dp_pkt_view v;
	uint32_t len;

	(void)state;
#define EXPECT_BAD(expr)                                                \
	do {                                                            \
		len = (expr);                                           \
		tview(b, len, DP_LINK_ETH, &v);                         \
		assert_int_equal(dp_l3_build_ndp_na(out, sizeof(out), b, \
						    &v, our_mac),       \
				 -DP_DROP_NDP_BAD);                     \
	} while (0)
	EXPECT_BAD(mk_ns(b, a6, snm, b6, 254, 0, 1, 0));   /* hop limit */
	EXPECT_BAD(mk_ns(b, a6, snm, b6, 255, 1, 1, 0));   /* code */
	EXPECT_BAD(mk_ns(b, a6, snm, mc_target, 255, 0, 1, 0));
	EXPECT_BAD(mk_ns(b, unspec, snm, b6, 255, 0, 1, 0)); /* DAD + SLLA */
	EXPECT_BAD(mk_ns(b, unspec, b6, b6, 255, 0, 0, 0)); /* DAD unicast */
	EXPECT_BAD(mk_ns(b, unspec, snm_other, b6, 255, 0, 0, 0));
	EXPECT_BAD(mk_ns(b, a6, snm, b6, 255, 0, 1, 1));   /* zero length */
	EXPECT_BAD(mk_ns(b, a6, snm, b6, 255, 0, 1, 2));   /* overrun */
	EXPECT_BAD(mk_ns(b, mc_target, snm, b6, 255, 0, 0, 0)); /* mc src */
#undef EXPECT_BAD
	/* a truncated NS (no room for the target) */
	len = mk_ns(b, a6, snm, b6, 255, 0, 0, 0);
	tview(b, len, DP_LINK_ETH, &v);
	v.l4_len = 20;
	assert_int_equal(dp_l3_build_ndp_na(out, sizeof(out), b, &v, our_mac),
			 -DP_DROP_NDP_BAD);
	/* bad checksum */
	len = mk_ns(b, a6, snm, b6, 255, 0, 1, 0);
	b[14 + 40 + 9] ^= 1;
	tview(b, len, DP_LINK_ETH, &v);
	assert_int_equal(dp_l3_build_ndp_na(out, sizeof(out), b, &v, our_mac),
			 -DP_DROP_ICMP6_BAD_CHECKSUM);
	/* raw IP links have no NDP */
	len = mk_ns(b, a6, snm, b6, 255, 0, 1, 0);
	tview(b, len, DP_LINK_ETH, &v);
	v.link = DP_LINK_RAW_IP;
	assert_int_equal(dp_l3_build_ndp_na(out, sizeof(out), b, &v, our_mac),
			 -DP_DROP_NDP_BAD);
}

static void test_ndp_ns_build(void **state)
{
	uint8_t out[128];
	union dp_addr me, tgt;
	int n;

	(void)state;
	memcpy(me.b, b6, 16);
	memcpy(tgt.b, a6, 16);
	tgt.b[13] = 0xab;
	tgt.b[14] = 0xcd;
	n = dp_l3_build_ndp_ns(out, sizeof(out), our_mac, &me, &tgt);
	assert_int_equal(n, 86);
	assert_memory_equal(out, "\x33\x33\xff\xab\xcd\x01", 6);
	assert_memory_equal(out + 6, our_mac, 6);
	assert_int_equal(rd16(out + 12), 0x86dd);
	assert_int_equal(rd32(out + 14), 6u << 28);
	assert_int_equal(rd16(out + 18), 32);
	assert_int_equal(out[20], 58);
	assert_int_equal(out[21], 255);
	assert_memory_equal(out + 22, b6, 16);
	assert_memory_equal(out + 38,
			    "\xff\x02\0\0\0\0\0\0\0\0\0\x01\xff\xab\xcd\x01", 16);
	assert_int_equal(out[54], 135);
	assert_int_equal(out[55], 0);
	assert_int_equal(rd32(out + 58), 0);
	assert_memory_equal(out + 62, tgt.b, 16);
	assert_int_equal(out[78], 1);
	assert_int_equal(out[79], 1);
	assert_memory_equal(out + 80, our_mac, 6);
	assert_l4_csum(out + 14, out + 54, 32, 58);

	assert_int_equal(dp_l3_build_ndp_ns(out, 85, our_mac, &me, &tgt),
			 -DP_DROP_PKT_TOO_BIG);
	addr4(&tgt, a4);
	assert_true(dp_l3_build_ndp_ns(out, sizeof(out), our_mac, &me, &tgt) < 0);
	memcpy(tgt.b, a6, 16);
	me.b[0] = 0xff;
	assert_int_equal(dp_l3_build_ndp_ns(out, sizeof(out), our_mac, &me,
					    &tgt), -DP_DROP_NDP_BAD);

	/* DAD: from ::, without a source link-layer option; the NS Linux
	 * answered in the capture is exactly this */
	memset(&me, 0, sizeof(me));
	memcpy(tgt.b, b6, 16);
	n = dp_l3_build_ndp_ns(out, sizeof(out), peer_mac, &me, &tgt);
	assert_golden(out, n, 42, 0);
}

/* ---- ICMP errors by hand ---- */

static uint32_t mk_udp4(uint8_t *b, uint8_t tos, uint16_t frag,
			const uint8_t *src, const uint8_t *dst,
			uint32_t datalen)
{
	uint32_t o = mk_eth(b, our_mac, peer_mac, -1, 0x0800);
	uint8_t *ip = b + o;
	uint32_t hl = mk_ip4(ip, tos, frag, 17, src, dst, 0, 8 + datalen);

	wr16(ip + hl, 5353);
	wr16(ip + hl + 2, 9);
	wr16(ip + hl + 4, (uint16_t)(8 + datalen));
	memset(ip + hl + 8, 0x61, datalen);
	fill_l4_csum(ip, ip + hl, 8 + datalen, 17, 6);
	return o + hl + 8 + datalen;
}

static void test_icmp4_errors(void **state)
{
	static const uint8_t bc[4] = { 255, 255, 255, 255 };
	static const uint8_t mc[4] = { 239, 1, 2, 3 };
	static const uint8_t zero[4] = { 0 };
	uint8_t b[2048], out[1600];
	struct dp_pkt_view v;
	union dp_addr me;
	uint32_t len;
	int n;

	(void)state;
	addr4(&me, b4);
	/* fragmentation needed, with the next-hop MTU */
	len = mk_udp4(b, 0x04, 0x4000, a4, b4, 1400);
	tview(b, len, DP_LINK_ETH, &v);
	n = dp_l3_build_icmp_error(out, sizeof(out), b, &v, 3, 4, 1280, &me,
				   our_mac);
	assert_int_equal(n, 14 + 576);
	assert_memory_equal(out, peer_mac, 6);
	assert_memory_equal(out + 6, our_mac, 6);
	assert_int_equal(rd16(out + 12), 0x0800);
	assert_int_equal(out[14], 0x45);
	assert_int_equal(out[15], 0xc4);
	assert_int_equal(rd16(out + 16), 576);
	assert_int_equal(rd16(out + 20), 0);
	assert_int_equal(out[22], 64);
	assert_int_equal(out[23], 1);
	assert_memory_equal(out + 26, b4, 4);
	assert_memory_equal(out + 30, a4, 4);
	assert_ip4_csum(out + 14);
	assert_int_equal(out[34], 3);
	assert_int_equal(out[35], 4);
	assert_int_equal(rd16(out + 38), 0);
	assert_int_equal(rd16(out + 40), 1280);
	assert_memory_equal(out + 42, b + 14, 576 - 28);
	assert_l4_csum(out + 14, out + 34, 576 - 20, 1);

	/* a short output buffer shortens the quote */
	n = dp_l3_build_icmp_error(out, 100, b, &v, 3, 4, 1280, &me, our_mac);
	assert_int_equal(n, 100);
	assert_int_equal(rd16(out + 16), 86);
	assert_ip4_csum(out + 14);
	assert_l4_csum(out + 14, out + 34, 66, 1);
	assert_int_equal(dp_l3_build_icmp_error(out, 14 + 28 + 7, b, &v, 3, 4,
						1280, &me, our_mac),
			 -DP_DROP_PKT_TOO_BIG);

	/* time exceeded on raw IP */
	len = mk_udp4(b, 0, 0, a4, b4, 3);
	tview(b + 14, len - 14, DP_LINK_RAW_IP, &v);
	n = dp_l3_build_icmp_error(out, sizeof(out), b + 14, &v, 11, 0, 0, &me,
				   our_mac);
	assert_int_equal(n, 28 + 31);
	assert_int_equal(out[0], 0x45);
	assert_int_equal(out[20], 11);
	assert_int_equal(rd32(out + 24), 0);
	assert_memory_equal(out + 28, b + 14, 31);
	assert_l4_csum(out, out + 20, 39, 1);

	/* never answered */
#define SILENT(src, dst, frag, fl)                                        \
	do {                                                              \
		len = mk_udp4(b, 0, frag, src, dst, 10);                  \
		tview(b, len, DP_LINK_ETH, &v);                           \
		v.flags |= (fl);                                          \
		assert_int_equal(dp_l3_build_icmp_error(out, sizeof(out), \
				b, &v, 3, 3, 0, &me, our_mac),            \
				 -DP_DROP_ICMP_UNHANDLED_TYPE);           \
	} while (0)
	SILENT(a4, bc, 0, 0);
	SILENT(a4, mc, 0, 0);
	SILENT(zero, b4, 0, 0);
	SILENT(mc, b4, 0, 0);
	SILENT(a4, b4, 0x0001, 0); /* non-first fragment */
	SILENT(a4, b4, 0, DP_PKT_F_L2_BCAST);
	SILENT(a4, b4, 0, DP_PKT_F_L2_MCAST);
#undef SILENT
	/* a first fragment is answered */
	len = mk_udp4(b, 0, 0x2000, a4, b4, 10);
	tview(b, len, DP_LINK_ETH, &v);
	assert_true(dp_l3_build_icmp_error(out, sizeof(out), b, &v, 3, 3, 0,
					   &me, our_mac) > 0);
	/* our_src of the wrong family */
	memcpy(me.b, b6, 16);
	assert_int_equal(dp_l3_build_icmp_error(out, sizeof(out), b, &v, 3, 3,
						0, &me, our_mac),
			 -DP_DROP_ICMP_UNHANDLED_TYPE);

	/* an ICMP error is never answered; an echo request is */
	addr4(&me, b4);
	len = mk_echo4(b, -1, 0, 0, 0, 4, 0, DP_LINK_ETH);
	tview(b, len, DP_LINK_ETH, &v);
	assert_true(dp_l3_build_icmp_error(out, sizeof(out), b, &v, 3, 2, 0,
					   &me, our_mac) > 0);
	b[14 + 20] = 3;
	tview(b, len, DP_LINK_ETH, &v);
	assert_int_equal(dp_l3_build_icmp_error(out, sizeof(out), b, &v, 3, 2,
						0, &me, our_mac),
			 -DP_DROP_ICMP_UNHANDLED_TYPE);
}

static uint32_t mk_udp6(uint8_t *b, const uint8_t *src, const uint8_t *dst,
			bool dstopt, uint32_t datalen)
{
	uint32_t o = mk_eth(b, our_mac, peer_mac, -1, 0x86dd);
	uint8_t *ip = b + o, *u = ip + 40;
	uint32_t ext = dstopt ? 8 : 0;

	mk_ip6(ip, 0x10, 0, dstopt ? 60 : 17, 64, src, dst,
	       ext + 8 + datalen);
	if (dstopt) {
		memset(u, 0, 8);
		u[0] = 17;
		u[2] = 1;
		u[3] = 4;
		u += 8;
	}
	wr16(u, 5353);
	wr16(u + 2, 9);
	wr16(u + 4, (uint16_t)(8 + datalen));
	memset(u + 8, 0x62, datalen);
	fill_l4_csum(ip, u, 8 + datalen, 17, 6);
	return o + 40 + ext + 8 + datalen;
}

static void test_icmp6_errors(void **state)
{
	static const uint8_t mc[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t unspec[16] = { 0 };
	uint8_t b[2048], out[1600];
	struct dp_pkt_view v;
	union dp_addr me;
	uint32_t len;
	int n;

	(void)state;
	memcpy(me.b, b6, 16);
	/* packet too big, quote limited to 1280 */
	len = mk_udp6(b, a6, b6, false, 1452);
	tview(b, len, DP_LINK_ETH, &v);
	n = dp_l3_build_icmp_error(out, sizeof(out), b, &v, 2, 0, 1400, &me,
				   our_mac);
	assert_int_equal(n, 14 + 1280);
	assert_memory_equal(out, peer_mac, 6);
	assert_memory_equal(out + 6, our_mac, 6);
	assert_int_equal(rd32(out + 14), 6u << 28);
	assert_int_equal(rd16(out + 18), 1240);
	assert_int_equal(out[20], 58);
	assert_int_equal(out[21], 64);
	assert_memory_equal(out + 22, b6, 16);
	assert_memory_equal(out + 38, a6, 16);
	assert_int_equal(out[54], 2);
	assert_int_equal(out[55], 0);
	assert_int_equal(rd32(out + 58), 1400);
	assert_memory_equal(out + 62, b + 14, 1232);
	assert_l4_csum(out + 14, out + 54, 1240, 58);

	/* time exceeded (hop limit) */
	n = dp_l3_build_icmp_error(out, sizeof(out), b, &v, 3, 0, 0, &me,
				   our_mac);
	assert_int_equal(out[54], 3);
	assert_int_equal(rd32(out + 58), 0);
	assert_l4_csum(out + 14, out + 54, (uint32_t)n - 54, 58);

	/* unrecognized next header behind a destination-options header:
	 * the pointer names that header's next-header byte (offset 40) */
	len = mk_udp6(b, a6, b6, true, 10);
	tview(b, len, DP_LINK_ETH, &v);
	n = dp_l3_build_icmp_error(out, sizeof(out), b, &v, 4, 1, 6, &me,
				   our_mac);
	assert_int_equal(n, (int)(14 + 48 + len - 14));
	assert_int_equal(out[54], 4);
	assert_int_equal(out[55], 1);
	assert_int_equal(rd32(out + 58), 40);
	/* other parameter problems take the caller's pointer */
	n = dp_l3_build_icmp_error(out, sizeof(out), b, &v, 4, 0, 4, &me,
				   our_mac);
	assert_int_equal(rd32(out + 58), 4);

	/* multicast destinations: only "too big" */
	len = mk_udp6(b, a6, mc, false, 10);
	tview(b, len, DP_LINK_ETH, &v);
	assert_int_equal(dp_l3_build_icmp_error(out, sizeof(out), b, &v, 1, 4,
						0, &me, our_mac),
			 -DP_DROP_ICMP6_UNHANDLED_TYPE);
	assert_true(dp_l3_build_icmp_error(out, sizeof(out), b, &v, 2, 0, 1280,
					   &me, our_mac) > 0);
	/* unspecified or multicast sources: never */
	len = mk_udp6(b, unspec, b6, false, 10);
	tview(b, len, DP_LINK_ETH, &v);
	assert_int_equal(dp_l3_build_icmp_error(out, sizeof(out), b, &v, 2, 0,
						1280, &me, our_mac),
			 -DP_DROP_ICMP6_UNHANDLED_TYPE);
	len = mk_udp6(b, mc, b6, false, 10);
	tview(b, len, DP_LINK_ETH, &v);
	assert_int_equal(dp_l3_build_icmp_error(out, sizeof(out), b, &v, 1, 4,
						0, &me, our_mac),
			 -DP_DROP_ICMP6_UNHANDLED_TYPE);
	/* ICMPv6 errors and redirects are not answered; echoes are */
	len = mk_echo6(b, 0, b6, false, 8, 0);
	tview(b, len, DP_LINK_ETH, &v);
	assert_true(dp_l3_build_icmp_error(out, sizeof(out), b, &v, 1, 4, 0,
					   &me, our_mac) > 0);
	b[14 + 40] = 1;
	tview(b, len, DP_LINK_ETH, &v);
	assert_int_equal(dp_l3_build_icmp_error(out, sizeof(out), b, &v, 1, 4,
						0, &me, our_mac),
			 -DP_DROP_ICMP6_UNHANDLED_TYPE);
	b[14 + 40] = 137;
	tview(b, len, DP_LINK_ETH, &v);
	assert_int_equal(dp_l3_build_icmp_error(out, sizeof(out), b, &v, 1, 4,
						0, &me, our_mac),
			 -DP_DROP_ICMP6_UNHANDLED_TYPE);
}

/* ---- TCP RST by hand ---- */

static uint32_t mk_tcp(uint8_t *b, bool v6, int vlan, uint8_t flags,
		       uint32_t seq, uint32_t ack, uint32_t optlen,
		       uint32_t datalen)
{
	uint32_t o = mk_eth(b, our_mac, peer_mac, vlan,
			    v6 ? 0x86dd : 0x0800);
	uint8_t *ip = b + o, *t;
	uint32_t hl, tl = 20 + optlen + datalen;

	if (v6) {
		mk_ip6(ip, 0x2e, 7, 6, 64, a6, b6, tl);
		hl = 40;
	} else {
		hl = mk_ip4(ip, 0x2e, 0x4000, 6, a4, b4, 0, tl);
	}
	t = ip + hl;
	memset(t, 0, tl);
	wr16(t, 40000);
	wr16(t + 2, 80);
	wr32(t + 4, seq);
	wr32(t + 8, ack);
	t[12] = (uint8_t)((20 + optlen) / 4 << 4);
	t[13] = flags;
	wr16(t + 14, 512);
	fill_l4_csum(ip, t, tl, 6, 16);
	return o + hl + tl;
}

static void check_rst(const uint8_t *out, int n, bool v6, uint32_t l2,
		      uint32_t seq, uint32_t ack, uint8_t flags)
{
	const uint8_t *ip = out + l2, *t = ip + (v6 ? 40 : 20);

	assert_int_equal(n, (int)(l2 + (v6 ? 60 : 40)));
	assert_memory_equal(out, peer_mac, 6);
	assert_memory_equal(out + 6, our_mac, 6);
	if (v6) {
		assert_int_equal(rd32(ip), 6u << 28 | 0x2cu << 20);
		assert_int_equal(rd16(ip + 4), 20);
		assert_int_equal(ip[6], 6);
		assert_int_equal(ip[7], 64);
		assert_memory_equal(ip + 8, b6, 16);
		assert_memory_equal(ip + 24, a6, 16);
	} else {
		assert_int_equal(ip[0], 0x45);
		assert_int_equal(ip[1], 0x2c);
		assert_int_equal(rd16(ip + 2), 40);
		assert_int_equal(rd16(ip + 4), 0);
		assert_int_equal(rd16(ip + 6), 0x4000);
		assert_int_equal(ip[8], 64);
		assert_int_equal(ip[9], 6);
		assert_memory_equal(ip + 12, b4, 4);
		assert_memory_equal(ip + 16, a4, 4);
		assert_ip4_csum(ip);
	}
	assert_int_equal(rd16(t), 80);
	assert_int_equal(rd16(t + 2), 40000);
	assert_int_equal(rd32(t + 4), seq);
	assert_int_equal(rd32(t + 8), ack);
	assert_int_equal(t[12], 0x50);
	assert_int_equal(t[13], flags);
	assert_int_equal(rd16(t + 14), 0);
	assert_int_equal(rd16(t + 18), 0);
	assert_l4_csum(ip, t, 20, 6);
}

static void test_tcp_rst(void **state)
{
	uint8_t b[256], out[128];
	struct dp_pkt_view v;
	uint32_t len;
	int n, v6;

	(void)state;
	for (v6 = 0; v6 < 2; v6++) {
		/* SYN with options: ack = seq + 1 */
		len = mk_tcp(b, v6, -1, 0x02, 0xfffffffe, 0, 12, 0);
		tview(b, len, DP_LINK_ETH, &v);
		n = dp_l3_build_tcp_rst(out, sizeof(out), b, &v, our_mac);
		check_rst(out, n, v6, 14, 0, 0xffffffff, 0x14);
		/* SYN+FIN with data, wrapping */
		len = mk_tcp(b, v6, -1, 0x03, 0xfffffffe, 0, 0, 5);
		tview(b, len, DP_LINK_ETH, &v);
		n = dp_l3_build_tcp_rst(out, sizeof(out), b, &v, our_mac);
		check_rst(out, n, v6, 14, 0, 5, 0x14);
		/* ACK with data: seq = their ack, no ACK */
		len = mk_tcp(b, v6, 3, 0x18, 100, 0xdeadbeef, 0, 7);
		tview(b, len, DP_LINK_ETH, &v);
		n = dp_l3_build_tcp_rst(out, sizeof(out), b, &v, our_mac);
		check_rst(out, n, v6, 18, 0xdeadbeef, 0, 0x04);
		assert_int_equal(rd16(out + 12), 0x8100);
		assert_int_equal(rd16(out + 14), 3);
		/* a bare FIN with data */
		len = mk_tcp(b, v6, -1, 0x01, 10, 0, 0, 3);
		tview(b, len, DP_LINK_ETH, &v);
		n = dp_l3_build_tcp_rst(out, sizeof(out), b, &v, our_mac);
		check_rst(out, n, v6, 14, 0, 14, 0x14);
		/* never a RST for a RST */
		len = mk_tcp(b, v6, -1, 0x14, 1, 2, 0, 0);
		tview(b, len, DP_LINK_ETH, &v);
		assert_int_equal(dp_l3_build_tcp_rst(out, sizeof(out), b, &v,
						     our_mac),
				 -DP_DROP_NO_STACK);
		/* broadcast frame */
		len = mk_tcp(b, v6, -1, 0x02, 1, 0, 0, 0);
		tview(b, len, DP_LINK_ETH, &v);
		v.flags |= DP_PKT_F_L2_BCAST;
		assert_int_equal(dp_l3_build_tcp_rst(out, sizeof(out), b, &v,
						     our_mac),
				 -DP_DROP_NOT_FOR_US);
		/* bad data offset */
		len = mk_tcp(b, v6, -1, 0x02, 1, 0, 0, 0);
		b[14 + (v6 ? 40 : 20) + 12] = 0x40;
		tview(b, len, DP_LINK_ETH, &v);
		assert_int_equal(dp_l3_build_tcp_rst(out, sizeof(out), b, &v,
						     our_mac),
				 -DP_DROP_TCP_BAD_OFFSET);
		/* short out */
		len = mk_tcp(b, v6, -1, 0x02, 1, 0, 0, 0);
		tview(b, len, DP_LINK_ETH, &v);
		assert_int_equal(dp_l3_build_tcp_rst(out, 30, b, &v, our_mac),
				 -DP_DROP_PKT_TOO_BIG);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_arp),
		cmocka_unit_test(test_golden_echo),
		cmocka_unit_test(test_golden_ndp),
		cmocka_unit_test(test_golden_icmp_err),
		cmocka_unit_test(test_golden_rst),
		cmocka_unit_test(test_arp_vlan_padding),
		cmocka_unit_test(test_arp_bad),
		cmocka_unit_test(test_echo4_shapes),
		cmocka_unit_test(test_echo4_refused),
		cmocka_unit_test(test_echo6_shapes),
		cmocka_unit_test(test_echo6_refused),
		cmocka_unit_test(test_ndp_na),
		cmocka_unit_test(test_ndp_invalid),
		cmocka_unit_test(test_ndp_ns_build),
		cmocka_unit_test(test_icmp4_errors),
		cmocka_unit_test(test_icmp6_errors),
		cmocka_unit_test(test_tcp_rst),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
