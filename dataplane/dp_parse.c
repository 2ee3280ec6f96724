/* Packet parser and Internet checksum helpers.
 *
 * One pass, front to back: every length read from a header is checked
 * against what is left before anything behind it is read. Only
 * checksums, IPv4 options, IPv6 extension headers and NDP options loop;
 * each of those loops is bounded by a header length. */
#include <string.h>

#include "dp_parse.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define PARSE_ETH_HLEN  14
#define PARSE_VLAN_HLEN 4
#define PARSE_VLAN_MAX  2
#define PARSE_ARP_LEN   28
#define PARSE_IP4_HLEN  20
#define PARSE_IP6_HLEN  40
#define PARSE_EXT_MAX   8

#define PARSE_ET_IP4    0x0800
#define PARSE_ET_ARP    0x0806
#define PARSE_ET_VLAN   0x8100
#define PARSE_ET_QINQ   0x88a8
#define PARSE_ET_IP6    0x86dd

#define PARSE_P_HOPOPTS 0
#define PARSE_P_ICMP    1
#define PARSE_P_TCP     6
#define PARSE_P_UDP     17
#define PARSE_P_ROUTING 43
#define PARSE_P_FRAG    44
#define PARSE_P_AH      51
#define PARSE_P_ICMP6   58
#define PARSE_P_NONE    59
#define PARSE_P_DSTOPTS 60

/* A negated reason must never read as success. */
_Static_assert(DP_DROP_NONE == 0, "drop reason 0 is reserved");

static inline uint16_t rd16(const uint8_t *p)
{
	uint16_t x;

	memcpy(&x, p, 2);
	return __builtin_bswap16(x);
}

static inline uint32_t rd32(const uint8_t *p)
{
	uint32_t x;

	memcpy(&x, p, 4);
	return __builtin_bswap32(x);
}

/* ---- checksums ----
 *
 * dp_csum_partial() and dp_csum_fold() are inline (dp_parse.h) so that
 * the per-packet sums over a header of known size compile to a few
 * adds. */

uint32_t dp_csum_pseudo(const struct dp_pkt_view *v, uint8_t proto,
			uint32_t l4_len)
{
	uint32_t s = proto + (l4_len >> 16) + (l4_len & 0xffff);

	if (v->ip_version == 4) {
		s = dp_csum_partial(v->src.b + 12, 4, s);
		s = dp_csum_partial(v->dst.b + 12, 4, s);
	} else {
		s = dp_csum_partial(v->src.b, 16, s);
		s = dp_csum_partial(v->dst.b, 16, s);
	}
	return s;
}

uint16_t dp_csum_l4(const uint8_t *buf, const struct dp_pkt_view *v)
{
	uint32_t s = 0;

	/* ICMPv4 alone has no pseudo-header. */
	if (!(v->ip_version == 4 && v->l4_proto == PARSE_P_ICMP))
		s = dp_csum_pseudo(v, v->l4_proto, v->l4_len);
	return dp_csum_fold(dp_csum_partial(buf + v->l4_off, v->l4_len, s));
}

/* ---- L4 ---- */

/* Internal dp_parse flag: an IPv6 routing header still has segments
 * left, so the pseudo-header's destination (the final one, RFC 8200
 * 8.1) is not v->dst and the L4 checksum cannot be checked here. */
#define PARSE_CSUM_UNKNOWN (1u << 31)

/* The L4 checksum of a packet being parsed, proto's (the pseudo-header
 * is summed from the IP header's bytes, which are what v->src and v->dst
 * were copied from: loading the view's just-stored fields back as wider
 * words would stall on store forwarding); 0 means valid. */
static inline uint16_t l4_csum_sum(const uint8_t *buf,
				   const struct dp_pkt_view *v, uint8_t proto)
{
	const uint8_t *ip = buf + v->l3_off;
	uint32_t s = 0;

	if (v->ip_version == 4) {
		if (proto != PARSE_P_ICMP)
			s = dp_csum_partial(ip + 12, 8, proto + v->l4_len);
	} else {
		s = dp_csum_partial(ip + 8, 32, proto + v->l4_len);
	}
	return dp_csum_fold(dp_csum_partial(buf + v->l4_off, v->l4_len, s));
}

/* 0: verified or vouched for; 1: wrong; -1: not checked. */
static inline int l4_csum(const uint8_t *buf, uint32_t flags,
			  const struct dp_pkt_view *v, uint8_t proto)
{
	if (flags & DP_PARSE_L4_CSUM_OK)
		return 0;
	if (unlikely(flags & PARSE_CSUM_UNKNOWN))
		return -1;
	return l4_csum_sum(buf, v, proto) != 0;
}

static int parse_tcp(const uint8_t *l4, uint32_t flags,
		     const uint8_t *buf, struct dp_pkt_view *v)
{
	uint32_t doff;
	int rc;

	if (unlikely(v->l4_len < 20))
		return -DP_DROP_TCP_TRUNCATED;
	doff = (l4[12] >> 4) * 4u;
	if (unlikely(doff < 20 || doff > v->l4_len))
		return -DP_DROP_TCP_BAD_OFFSET;
	rc = l4_csum(buf, flags, v, PARSE_P_TCP);
	if (rc > 0)
		return -DP_DROP_TCP_BAD_CHECKSUM;
	v->flags |= rc == 0 ? DP_PKT_F_L4_CSUM_OK : 0;
	v->sport = rd16(l4);
	v->dport = rd16(l4 + 2);
	v->tcp_flags = l4[13];
	v->payload_off = (uint16_t)(v->l4_off + doff);
	return 0;
}

static int parse_udp(const uint8_t *l4, uint32_t flags,
		     const uint8_t *buf, struct dp_pkt_view *v)
{
	int rc;

	if (unlikely(v->l4_len < 8))
		return -DP_DROP_UDP_TRUNCATED;
	/* Strict: a UDP length shorter than the IP payload would leave
	 * bytes that one reader counts as data and another does not. */
	if (unlikely(rd16(l4 + 4) != v->l4_len))
		return -DP_DROP_UDP_BAD_LEN;
	if (rd16(l4 + 6) == 0 && !(flags & DP_PARSE_L4_CSUM_OK)) {
		/* No checksum: allowed on v4 only (RFC 768; RFC 8200 8.1
		 * forbids it on v6). */
		if (v->ip_version == 6)
			return -DP_DROP_UDP_BAD_CHECKSUM;
		rc = 0;
	} else {
		rc = l4_csum(buf, flags, v, PARSE_P_UDP);
		if (rc > 0)
			return -DP_DROP_UDP_BAD_CHECKSUM;
	}
	v->flags |= rc == 0 ? DP_PKT_F_L4_CSUM_OK : 0;
	v->sport = rd16(l4);
	v->dport = rd16(l4 + 2);
	v->payload_off = (uint16_t)(v->l4_off + 8);
	return 0;
}

static int parse_icmp4(const uint8_t *l4, uint32_t flags,
		       const uint8_t *buf, struct dp_pkt_view *v)
{
	if (unlikely(v->l4_len < 8))
		return -DP_DROP_ICMP_TRUNCATED;
	if (!(flags & DP_PARSE_L4_CSUM_OK) &&
	    l4_csum_sum(buf, v, PARSE_P_ICMP) != 0)
		return -DP_DROP_ICMP_BAD_CHECKSUM;
	v->flags |= DP_PKT_F_L4_CSUM_OK;
	v->icmp_type = l4[0];
	v->icmp_code = l4[1];
	if (l4[0] == 0 || l4[0] == 8)
		v->sport = rd16(l4 + 4);
	v->payload_off = (uint16_t)(v->l4_off + 8);
	return 0;
}

/* RFC 4861: fixed part of RS, RA, NS, NA and Redirect. */
static const uint8_t ndp_fixed_len[5] = { 8, 16, 24, 24, 40 };

static int parse_ndp(const uint8_t *l4, const struct dp_pkt_view *v)
{
	uint32_t pos = ndp_fixed_len[l4[0] - 133], olen;

	if (v->ttl != 255 || l4[1] != 0 || v->l4_len < pos)
		return -DP_DROP_NDP_BAD;
	while (pos < v->l4_len) {
		if (v->l4_len - pos < 2)
			return -DP_DROP_NDP_BAD;
		olen = l4[pos + 1] * 8u;
		if (olen == 0 || olen > v->l4_len - pos)
			return -DP_DROP_NDP_BAD;
		pos += olen;
	}
	return 0;
}

static int parse_icmp6(const uint8_t *l4, uint32_t flags,
		       const uint8_t *buf, struct dp_pkt_view *v)
{
	int rc;

	if (unlikely(v->l4_len < 8))
		return -DP_DROP_ICMP6_TRUNCATED;
	rc = l4_csum(buf, flags, v, PARSE_P_ICMP6);
	if (rc > 0)
		return -DP_DROP_ICMP6_BAD_CHECKSUM;
	v->flags |= rc == 0 ? DP_PKT_F_L4_CSUM_OK : 0;
	if (l4[0] >= 133 && l4[0] <= 137) {
		rc = parse_ndp(l4, v);
		if (rc < 0)
			return rc;
	}
	v->icmp_type = l4[0];
	v->icmp_code = l4[1];
	if (l4[0] == 128 || l4[0] == 129)
		v->sport = rd16(l4 + 4);
	v->payload_off = (uint16_t)(v->l4_off + 8);
	return 0;
}

/* l4_off, l4_len and l4_proto are set; l4_len bytes are in the buffer. */
static inline int parse_l4(const uint8_t *buf, uint32_t flags,
			   struct dp_pkt_view *v)
{
	const uint8_t *l4 = buf + v->l4_off;

	v->payload_off = v->l4_off;
	switch (v->l4_proto) {
	case PARSE_P_TCP:
		return parse_tcp(l4, flags, buf, v);
	case PARSE_P_UDP:
		return parse_udp(l4, flags, buf, v);
	case PARSE_P_ICMP:
		if (v->ip_version == 4)
			return parse_icmp4(l4, flags, buf, v);
		return 0;
	case PARSE_P_ICMP6:
		if (v->ip_version == 6)
			return parse_icmp6(l4, flags, buf, v);
		return 0;
	default:
		return 0;
	}
}

/* ---- L3 ---- */

static int parse_ip4_options(const uint8_t *o, uint32_t n)
{
	uint32_t i = 0, olen;

	while (i < n) {
		if (o[i] == 0)          /* end of list: the rest is padding */
			return 0;
		if (o[i] == 1) {        /* no-op */
			i++;
			continue;
		}
		if (n - i < 2)
			return -DP_DROP_IP4_BAD_OPTIONS;
		olen = o[i + 1];
		if (olen < 2 || olen > n - i)
			return -DP_DROP_IP4_BAD_OPTIONS;
		i += olen;
	}
	return 0;
}

static int parse_ip4(const uint8_t *buf, uint32_t len, uint32_t flags,
		     struct dp_pkt_view *v)
{
	const uint32_t off = v->l3_off;
	const uint8_t *ip = buf + off;
	uint32_t avail = len - off, hl, tot, ff, src, dst;
	int rc;

	if (unlikely(avail < PARSE_IP4_HLEN))
		return -DP_DROP_IP4_TRUNCATED;
	if (unlikely((ip[0] >> 4) != 4))
		return -DP_DROP_IP4_BAD_VERSION;
	hl = (ip[0] & 0xfu) * 4u;
	if (unlikely(hl < PARSE_IP4_HLEN))
		return -DP_DROP_IP4_BAD_IHL;
	if (unlikely(hl > avail))
		return -DP_DROP_IP4_TRUNCATED;
	tot = rd16(ip + 2);
	if (unlikely(tot < hl))
		return -DP_DROP_IP4_BAD_TOTAL_LEN;
	if (unlikely(tot > avail))
		return -DP_DROP_IP4_TRUNCATED;
	/* The option-less header gets its own constant-size sum. */
	if (!(flags & DP_PARSE_L3_CSUM_OK) &&
	    dp_csum_fold(likely(hl == PARSE_IP4_HLEN) ?
			 dp_csum_partial(ip, PARSE_IP4_HLEN, 0) :
			 dp_csum_partial(ip, hl, 0)) != 0)
		return -DP_DROP_IP4_BAD_CHECKSUM;
	if (unlikely(hl > PARSE_IP4_HLEN)) {
		rc = parse_ip4_options(ip + PARSE_IP4_HLEN,
				       hl - PARSE_IP4_HLEN);
		if (rc < 0)
			return rc;
		v->flags |= DP_PKT_F_IP4_OPTIONS;
	}
	/* 0.0.0.0 stays allowed: DHCP clients send from it. */
	src = rd32(ip + 12);
	if (unlikely((src >> 28) == 0xe || src == 0xffffffffu))
		return -DP_DROP_IP4_BAD_SRC;

	v->l3 = DP_L3_IPV4;
	v->ip_version = 4;
	v->tos = ip[1];
	v->ttl = ip[8];
	v->l4_proto = ip[9];
	v->l3_len = (uint16_t)tot;
	dp_addr_from_v4(&v->src, __builtin_bswap32(src));
	memcpy(&dst, ip + 16, 4);
	dp_addr_from_v4(&v->dst, dst);
	v->l4_off = (uint16_t)(off + hl);
	v->l4_len = (uint16_t)(tot - hl);
	v->payload_off = v->l4_off;

	ff = rd16(ip + 6);
	if (unlikely(ff & 0x3fff)) {
		v->flags |= DP_PKT_F_FRAGMENT;
		v->frag_id = rd16(ip + 4);
		v->frag_off = (uint16_t)((ff & 0x1fff) * 8u);
		v->frag_more = (ff & 0x2000) != 0;
		if (v->frag_off == 0)
			v->flags |= DP_PKT_F_FIRST_FRAG;
		return 0;
	}
	return parse_l4(buf, flags, v);
}

static int parse_ip6(const uint8_t *buf, uint32_t len, uint32_t flags,
		     struct dp_pkt_view *v)
{
	const uint32_t off = v->l3_off;
	const uint8_t *ip = buf + off, *h;
	uint32_t avail = len - off, plen, pos, end, prev, hlen, n, fo;
	uint8_t nh;

	if (unlikely(avail < PARSE_IP6_HLEN))
		return -DP_DROP_IP6_TRUNCATED;
	if (unlikely((ip[0] >> 4) != 6))
		return -DP_DROP_IP6_BAD_VERSION;
	plen = rd16(ip + 4);
	nh = ip[6];
	/* Payload length 0 with hop-by-hop options is a jumbogram
	 * (RFC 2675); l3_len is 16 bits, so the largest payloads are out
	 * too. */
	if (unlikely((plen == 0 && nh == PARSE_P_HOPOPTS) ||
		     plen > 0xffffu - PARSE_IP6_HLEN))
		return -DP_DROP_IP6_BAD_PAYLOAD_LEN;
	if (unlikely(PARSE_IP6_HLEN + plen > avail))
		return -DP_DROP_IP6_TRUNCATED;
	if (unlikely(ip[8] == 0xff))
		return -DP_DROP_IP6_BAD_SRC;

	v->l3 = DP_L3_IPV6;
	v->ip_version = 6;
	v->tos = (uint8_t)((ip[0] << 4) | (ip[1] >> 4));
	v->ttl = ip[7];
	v->l3_len = (uint16_t)(PARSE_IP6_HLEN + plen);
	memcpy(v->src.b, ip + 8, 16);
	memcpy(v->dst.b, ip + 24, 16);

	pos = off + PARSE_IP6_HLEN;
	end = off + PARSE_IP6_HLEN + plen;
	prev = off + 6;
	for (n = 0;; n++) {
		switch (nh) {
		case PARSE_P_HOPOPTS:
			if (n != 0)
				return -DP_DROP_IP6_BAD_EXT_HDR;
			break;
		case PARSE_P_ROUTING:
			v->flags |= DP_PKT_F_IP6_ROUTING;
			/* segments left: byte 3, inside the 8 checked below */
			if (end - pos >= 8 && buf[pos + 3] != 0)
				flags |= PARSE_CSUM_UNKNOWN;
			break;
		case PARSE_P_DSTOPTS:
		case PARSE_P_FRAG:
		case PARSE_P_AH:
			break;
		default:
			goto l4;
		}
		if (unlikely(n == PARSE_EXT_MAX))
			return -DP_DROP_IP6_TOO_MANY_EXT_HDRS;
		if (unlikely(end - pos < 8))
			return -DP_DROP_IP6_BAD_EXT_HDR;
		h = buf + pos;
		if (nh == PARSE_P_FRAG) {
			/* The rest is the fragmentable part: stop here. */
			fo = rd16(h + 2);
			v->flags |= DP_PKT_F_FRAGMENT;
			v->frag_id = rd32(h + 4);
			v->frag_off = (uint16_t)(fo & 0xfff8);
			v->frag_more = fo & 1;
			if (v->frag_off == 0 && v->frag_more)
				v->flags |= DP_PKT_F_FIRST_FRAG;
			v->frag_hdr_off = (uint16_t)pos;
			v->frag_prev_nh_off = (uint16_t)prev;
			v->l4_proto = h[0];
			v->l4_off = (uint16_t)(pos + 8);
			v->l4_len = (uint16_t)(end - pos - 8);
			v->payload_off = v->l4_off;
			return 0;
		}
		if (nh == PARSE_P_AH)
			hlen = (h[1] + 2u) * 4u;
		else
			hlen = (h[1] + 1u) * 8u;
		if (unlikely(hlen > end - pos))
			return -DP_DROP_IP6_BAD_EXT_HDR;
		prev = pos;
		nh = h[0];
		pos += hlen;
	}
l4:
	v->l4_proto = nh;
	v->l4_off = (uint16_t)pos;
	v->l4_len = (uint16_t)(end - pos);
	v->payload_off = v->l4_off;
	if (nh == PARSE_P_NONE)
		return 0;
	return parse_l4(buf, flags, v);
}

static int parse_arp(const uint8_t *buf, uint32_t len, struct dp_pkt_view *v)
{
	const uint8_t *a = buf + v->l3_off;
	uint32_t spa, tpa;

	if (unlikely(len - v->l3_off < PARSE_ARP_LEN))
		return -DP_DROP_ARP_TRUNCATED;
	if (rd16(a) != 1 || rd16(a + 2) != PARSE_ET_IP4 || a[4] != 6 ||
	    a[5] != 4)
		return -DP_DROP_ARP_BAD_FORMAT;
	v->l3 = DP_L3_ARP;
	v->l3_len = PARSE_ARP_LEN;
	v->l4_off = (uint16_t)(v->l3_off + PARSE_ARP_LEN);
	v->payload_off = v->l4_off;
	v->arp_op = rd16(a + 6);
	memcpy(v->arp_sha, a + 8, 6);
	memcpy(&spa, a + 14, 4);
	memcpy(v->arp_tha, a + 18, 6);
	memcpy(&tpa, a + 24, 4);
	dp_addr_from_v4(&v->arp_spa, spa);
	dp_addr_from_v4(&v->arp_tpa, tpa);
	/* src/dst mirror the protocol addresses so that they are never
	 * left undefined. */
	v->src = v->arp_spa;
	v->dst = v->arp_tpa;
	return 0;
}

/* ---- entry ---- */

int dp_parse(const uint8_t *buf, uint32_t len, enum dp_link link,
	     uint32_t flags, struct dp_pkt_view *v)
{
	uint32_t off;
	uint16_t et;

	/* Defined for every parsed packet (see dp_pkt.h): scalars first,
	 * addresses by the layer that has them. */
	v->len = len;
	v->flags = 0;
	v->link = link;
	v->l3 = DP_L3_NONE;
	v->vlan_tci = 0;
	v->l3_off = 0;
	v->l4_off = 0;
	v->payload_off = 0;
	v->l3_len = 0;
	v->ip_version = 0;
	v->ttl = 0;
	v->tos = 0;
	v->l4_proto = 0;
	v->frag_id = 0;
	v->frag_off = 0;
	v->frag_more = false;
	v->frag_hdr_off = 0;
	v->frag_prev_nh_off = 0;
	v->l4_len = 0;
	v->sport = 0;
	v->dport = 0;
	v->tcp_flags = 0;
	v->icmp_type = 0;
	v->icmp_code = 0;
	v->arp_op = 0;

	if (likely(link == DP_LINK_ETH)) {
		if (unlikely(len < PARSE_ETH_HLEN))
			return -DP_DROP_ETH_TRUNCATED;
		memcpy(v->eth_dst, buf, 6);
		memcpy(v->eth_src, buf + 6, 6);
		if (unlikely(buf[0] & 1)) {
			if (rd32(buf) == 0xffffffffu && rd16(buf + 4) == 0xffff)
				v->flags |= DP_PKT_F_L2_BCAST;
			else
				v->flags |= DP_PKT_F_L2_MCAST;
		}
		et = rd16(buf + 12);
		off = PARSE_ETH_HLEN;
		if (unlikely(et == PARSE_ET_VLAN || et == PARSE_ET_QINQ)) {
			int tags = 0;

			do {
				if (tags == PARSE_VLAN_MAX)
					return -DP_DROP_VLAN_TOO_DEEP;
				if (len - off < PARSE_VLAN_HLEN)
					return -DP_DROP_VLAN_TRUNCATED;
				v->vlan_tci = rd16(buf + off);
				et = rd16(buf + off + 2);
				off += PARSE_VLAN_HLEN;
				tags++;
			} while (et == PARSE_ET_VLAN || et == PARSE_ET_QINQ);
			v->flags |= DP_PKT_F_VLAN;
		}
	} else if (link == DP_LINK_RAW_IP) {
		memset(v->eth_dst, 0, 6);
		memset(v->eth_src, 0, 6);
		off = 0;
		if (unlikely(len == 0))
			return -DP_DROP_IP4_TRUNCATED;
		switch (buf[0] >> 4) {
		case 4:
			et = PARSE_ET_IP4;
			break;
		case 6:
			et = PARSE_ET_IP6;
			break;
		default:
			return -DP_DROP_IP4_BAD_VERSION;
		}
	} else {
		return -DP_DROP_LINKTYPE_UNSUPPORTED;
	}
	v->ethertype = et;
	v->l3_off = (uint16_t)off;

	switch (et) {
	case PARSE_ET_IP4:
		return parse_ip4(buf, len, flags, v);
	case PARSE_ET_IP6:
		return parse_ip6(buf, len, flags, v);
	case PARSE_ET_ARP:
		return parse_arp(buf, len, v);
	default:
		return -DP_DROP_ETHERTYPE_UNSUPPORTED;
	}
}
