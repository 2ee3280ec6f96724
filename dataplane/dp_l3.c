/* L2/L3 answers: ARP, ICMP/ICMPv6 echo, NDP, ICMP errors, TCP RST.
 *
 * Every answer is shaped after what Linux sends, checked against the
 * kernel's own replies captured on a veth pair (tests/unit/data). Where
 * Linux uses state we do not have (IPv4 id counters, hashed IPv6 flow
 * labels) the field differs; everything else matches.
 *
 * Checksums use the parser's dp_csum_* helpers; incremental updates
 * (RFC 1624) work on the big-endian field as read. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dp_l3.h"
#include "dp_parse.h"

#define ETH_HLEN 14u
#define ETH_P_IPV4 0x0800u
#define ETH_P_ARP 0x0806u
#define ETH_P_IPV6 0x86ddu
#define ARP_LEN 28u
#define IP4_HLEN 20u
#define IP6_HLEN 40u
#define ICMP_HLEN 8u
#define TCP_HLEN 20u
#define L3_TTL 64u
#define L3_MAX_L2 64u /* Ethernet + tags we copy into a built answer */
#define IP4_QUOTE_TOTAL 576u
#define IP6_QUOTE_TOTAL 1280u

#define TCP_FIN 0x01u
#define TCP_SYN 0x02u
#define TCP_RST 0x04u
#define TCP_ACK 0x10u

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Store the checksum of sum into the field at p. */
static inline void l3_put_csum(uint8_t *p, uint32_t sum)
{
	wr16(p, dp_csum_fold(sum));
}

/* Pseudo-header sum. v4 addresses are the last 4 bytes of src/dst. */
static uint32_t l3_pseudo(bool v4, const uint8_t *src, const uint8_t *dst,
			  uint8_t proto, uint32_t len)
{
	uint8_t t[8];
	unsigned alen = v4 ? 4 : 16;
	uint32_t sum;

	sum = dp_csum_partial(src, alen, 0);
	sum = dp_csum_partial(dst, alen, sum);
	if (v4) {
		t[0] = 0;
		t[1] = proto;
		wr16(t + 2, (uint16_t)len);
		return dp_csum_partial(t, 4, sum);
	}
	wr32(t, len);
	t[4] = t[5] = t[6] = 0;
	t[7] = proto;
	return dp_csum_partial(t, 8, sum);
}

/* RFC 1624 eqn. 3: the 16-bit word m at a checksummed position becomes
 * m2; csum points at the checksum field. Host-order words. */
static inline void l3_csum_replace16(uint8_t *csum, uint16_t m, uint16_t m2)
{
	uint32_t s = (uint16_t)~rd16(csum);

	s += (uint16_t)~m;
	s += m2;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	wr16(csum, (uint16_t)~s);
}

static bool ip4_is_mcast_or_bcast(const uint8_t *a)
{
	return (a[0] & 0xf0) == 0xe0 ||
	       (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255);
}

/* A v4 address that may never be the source we answer to. */
static bool ip4_bad_peer(const uint8_t *a)
{
	return a[0] == 0 || a[0] == 127 || (a[0] & 0xf0) >= 0xe0;
}

static bool ip6_is_unspec(const union dp_addr *a)
{
	return (a->q[0] | a->q[1]) == 0;
}

static bool ip6_is_mcast(const uint8_t *a)
{
	return a[0] == 0xff;
}

/* Bounds that every view from dp_parse satisfies; rechecked because the
 * builders also take hand-made views. */
static bool l3_view_ok(const struct dp_pkt_view *v, uint32_t len)
{
	if (v->l3 != DP_L3_IPV4 && v->l3 != DP_L3_IPV6)
		return false;
	if (v->ip_version != (v->l3 == DP_L3_IPV4 ? 4 : 6))
		return false;
	if (v->link == DP_LINK_RAW_IP && v->l3_off != 0)
		return false;
	if (v->link == DP_LINK_ETH && v->l3_off < ETH_HLEN)
		return false;
	if (v->l3_len < (v->ip_version == 4 ? IP4_HLEN : IP6_HLEN))
		return false;
	return (uint32_t)v->l3_off + v->l3_len <= len && v->len <= len;
}

/* L4 bounds: header fields at l4_off, l4_len bytes inside the datagram. */
static bool l3_l4_ok(const struct dp_pkt_view *v, uint32_t min)
{
	if (v->flags & DP_PKT_F_FRAGMENT)
		return false;
	if (v->l4_len < min)
		return false;
	if (v->l4_off < v->l3_off + (v->ip_version == 4 ? IP4_HLEN : IP6_HLEN))
		return false;
	return (uint32_t)v->l4_off + v->l4_len <= (uint32_t)v->l3_off + v->l3_len;
}

/* Ethernet header of an answer: the request's header (tags kept) with
 * the MACs turned around. Returns its length or -1 when cap is short. */
static int l3_put_l2(uint8_t *out, uint32_t cap, const uint8_t *orig,
		     const struct dp_pkt_view *v, const uint8_t *dst_mac,
		     const uint8_t our_mac[6])
{
	if (v->link != DP_LINK_ETH)
		return 0;
	if (v->l3_off > L3_MAX_L2 || v->l3_off > cap)
		return -1;
	memcpy(out, orig, v->l3_off);
	memcpy(out, dst_mac, 6);
	memcpy(out + 6, our_mac, 6);
	return v->l3_off;
}

/* ---- ARP ---- */

int dp_l3_arp_reply_inplace(uint8_t *buf, uint32_t len,
			    const struct dp_pkt_view *v,
			    const uint8_t our_mac[6])
{
	uint8_t *a;
	uint8_t spa[4];

	if (v->link != DP_LINK_ETH || v->l3 != DP_L3_ARP)
		return -DP_DROP_ARP_BAD_FORMAT;
	if (v->l3_off < ETH_HLEN || (uint32_t)v->l3_off + ARP_LEN > len)
		return -DP_DROP_ARP_TRUNCATED;
	a = buf + v->l3_off;
	if (rd16(a) != 1 || rd16(a + 2) != ETH_P_IPV4 || a[4] != 6 ||
	    a[5] != 4 || rd16(a + 6) != 1)
		return -DP_DROP_ARP_BAD_FORMAT;
	/* A multicast/broadcast sender hardware address cannot be answered
	 * (Linux drops those requests too). */
	if (a[8] & 1)
		return -DP_DROP_ARP_BAD_FORMAT;
	if (ip4_is_mcast_or_bcast(a + 24))
		return -DP_DROP_ARP_NOT_FOR_US;

	memcpy(spa, a + 14, 4);
	wr16(a + 6, 2);
	memcpy(a + 18, a + 8, 6);      /* tha = requester's sha */
	memcpy(a + 14, a + 24, 4);     /* spa = the address asked for */
	memcpy(a + 24, spa, 4);        /* tpa = requester's spa */
	memcpy(a + 8, our_mac, 6);
	memcpy(buf, a + 18, 6);        /* unicast back to the requester */
	memcpy(buf + 6, our_mac, 6);
	return v->l3_off + ARP_LEN;
}

int dp_l3_build_arp_request(uint8_t *out, uint32_t cap,
			    const uint8_t our_mac[6],
			    const union dp_addr *our_ip,
			    const union dp_addr *target)
{
	uint8_t *a = out + ETH_HLEN;

	if (!dp_addr_is_v4(our_ip) || !dp_addr_is_v4(target))
		return -DP_DROP_ARP_BAD_FORMAT;
	if (cap < ETH_HLEN + ARP_LEN)
		return -DP_DROP_PKT_TOO_BIG;
	memset(out, 0xff, 6);
	memcpy(out + 6, our_mac, 6);
	wr16(out + 12, ETH_P_ARP);
	wr16(a, 1);
	wr16(a + 2, ETH_P_IPV4);
	a[4] = 6;
	a[5] = 4;
	wr16(a + 6, 1);
	memcpy(a + 8, our_mac, 6);
	memcpy(a + 14, &our_ip->b[12], 4);
	memset(a + 18, 0, 6);
	memcpy(a + 24, &target->b[12], 4);
	return ETH_HLEN + ARP_LEN;
}

/* ---- echo ---- */

/* l3_echo4 for a 20-byte header (no options to drop) and a verified
 * message, from a few wide loads and stores. */
static int l3_echo4_fast(uint8_t *ip, uint16_t l4_len)
{
	static const uint8_t frag_ttl_proto[4] = { 0, 0, L3_TTL, 1 };
	uint64_t head, addrs, s;
	uint32_t w;

	if (ip4_bad_peer(ip + 16) || ip4_bad_peer(ip + 12))
		return -DP_DROP_ICMP_UNHANDLED_TYPE;
	/* Native-order sum of the fresh header: version to id kept (the
	 * length too: no options to drop), fragment word 0, TTL 64,
	 * protocol, the addresses (their swap leaves the sum alone). */
	memcpy(&head, ip, 8);
	memcpy(&addrs, ip + 12, 8);
	memcpy(&w, frag_ttl_proto, 4);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	head &= 0x0000ffffffffffffull;
#else
	head &= 0xffffffffffff0000ull;
#endif
	s = (head & 0xffffffffu) + (head >> 32) + (addrs & 0xffffffffu) +
	    (addrs >> 32) + w;
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	s = __builtin_bswap16((uint16_t)s);
#endif
	memcpy(ip + 6, frag_ttl_proto, 4);
	l3_put_csum(ip + 10, (uint32_t)s);
	addrs = addrs >> 32 | addrs << 32;
	memcpy(ip + 12, &addrs, 8);

	l3_csum_replace16(ip + IP4_HLEN + 2,
			  (uint16_t)(8u << 8 | ip[IP4_HLEN + 1]),
			  (uint16_t)(0u << 8 | ip[IP4_HLEN + 1]));
	ip[IP4_HLEN] = 0;
	return (int)(IP4_HLEN + l4_len);
}

/* The echo request whose IPv4 header is at l3_off and ICMP message at
 * l4_off (l4_len bytes) becomes its reply; csum_ok: the ICMP checksum
 * was verified already. */
static int l3_echo4(uint8_t *buf, uint16_t l3_off, uint16_t l4_off,
		    uint16_t l4_len, bool csum_ok)
{
	uint8_t *ip = buf + l3_off;
	uint8_t *icmp;
	uint8_t tmp[4];
	uint32_t sum;

	/* the reply's source is the request's destination */
	if (ip4_bad_peer(ip + 16) || ip4_bad_peer(ip + 12))
		return -DP_DROP_ICMP_UNHANDLED_TYPE;
	if (!csum_ok &&
	    dp_csum_fold(dp_csum_partial(buf + l4_off, l4_len, 0)) != 0)
		return -DP_DROP_ICMP_BAD_CHECKSUM;
	if (l4_off == l3_off + IP4_HLEN) {
		int rc = l3_echo4_fast(ip, l4_len);

		return rc < 0 ? rc : l3_off + rc;
	}

	/* With options: the fresh header's sum, from the words it keeps
	 * (id, and the addresses, whose swap leaves their sum alone) and
	 * the ones it gets, taken before anything is stored: summing the
	 * header after the byte stores below would stall on store
	 * forwarding. */
	sum = dp_csum_partial(ip + 12, 8, 0x4500u | ip[1]);
	sum = dp_csum_partial(ip + 4, 2, sum);
	sum += IP4_HLEN + l4_len;
	sum += L3_TTL << 8 | 1u;       /* TTL, protocol ICMP; frag word 0 */

	/* Linux answers with a fresh 20-byte header: options go, so the
	 * ICMP message moves up behind it. */
	if (l4_off != l3_off + IP4_HLEN)
		memmove(ip + IP4_HLEN, buf + l4_off, l4_len);
	icmp = ip + IP4_HLEN;

	ip[0] = 0x45;
	/* ip[1] TOS kept, id kept (Linux draws its own; nobody can match) */
	wr16(ip + 2, (uint16_t)(IP4_HLEN + l4_len));
	wr16(ip + 6, 0);               /* Linux's echo replies carry no DF */
	ip[8] = L3_TTL;
	memcpy(tmp, ip + 12, 4);
	memcpy(ip + 12, ip + 16, 4);
	memcpy(ip + 16, tmp, 4);
	l3_put_csum(ip + 10, sum);

	l3_csum_replace16(icmp + 2, (uint16_t)(8u << 8 | icmp[1]),
			  (uint16_t)(0u << 8 | icmp[1]));
	icmp[0] = 0;
	return (int)(l3_off + IP4_HLEN + l4_len);
}

/* As l3_echo4 for IPv6; src and dst are the request's (dst the final
 * one), and may point into buf. */
static int l3_echo6(uint8_t *buf, uint16_t l3_off, uint16_t l4_off,
		    uint16_t l4_len, const union dp_addr *src,
		    const union dp_addr *dst, bool csum_ok)
{
	uint8_t *ip = buf + l3_off;
	union dp_addr s = *src, d = *dst;
	uint8_t *icmp;

	/* A multicast echo must be answered from one of our unicast
	 * addresses, which this function is not given. */
	if (ip6_is_mcast(d.b) || ip6_is_mcast(s.b) ||
	    ip6_is_unspec(&s) || ip6_is_unspec(&d) ||
	    dp_addr_is_v4(&s) || dp_addr_is_v4(&d))
		return -DP_DROP_ICMP6_UNHANDLED_TYPE;
	if (!csum_ok &&
	    dp_csum_fold(dp_csum_partial(buf + l4_off, l4_len,
			   l3_pseudo(false, s.b, d.b, 58, l4_len))) != 0)
		return -DP_DROP_ICMP6_BAD_CHECKSUM;

	/* ip[0..3]: version, traffic class and flow label kept */
	wr16(ip + 4, l4_len);
	ip[7] = L3_TTL;
	if (l4_off != l3_off + IP6_HLEN) {
		/* Extension headers are not echoed: drop them. The length
		 * in the pseudo-header changes, so sum afresh. */
		memmove(ip + IP6_HLEN, buf + l4_off, l4_len);
		icmp = ip + IP6_HLEN;
		ip[6] = 58;
		memcpy(ip + 8, d.b, 16);
		memcpy(ip + 24, s.b, 16);
		icmp[0] = 129;
		wr16(icmp + 2, 0);
		l3_put_csum(icmp + 2,
			    dp_csum_partial(icmp, l4_len,
				   l3_pseudo(false, ip + 8, ip + 24, 58,
					     l4_len)));
	} else {
		/* Swapping the addresses leaves the pseudo-header sum
		 * alone; only the type word changes. Addresses come from
		 * the view, which names the final destination. */
		icmp = ip + IP6_HLEN;
		memcpy(ip + 8, d.b, 16);
		memcpy(ip + 24, s.b, 16);
		l3_csum_replace16(icmp + 2, (uint16_t)(128u << 8 | icmp[1]),
				  (uint16_t)(129u << 8 | icmp[1]));
		icmp[0] = 129;
	}
	return (int)(l3_off + IP6_HLEN + l4_len);
}

static inline void l3_echo_l2(uint8_t *buf, enum dp_link link,
			      const uint8_t our_mac[6])
{
	if (link == DP_LINK_ETH) {
		memcpy(buf, buf + 6, 6);
		memcpy(buf + 6, our_mac, 6);
	}
}

int dp_l3_echo_reply_inplace(uint8_t *buf, uint32_t len,
			     const struct dp_pkt_view *v,
			     const uint8_t our_mac[6])
{
	bool v4 = v->ip_version == 4;
	int rc;

	if (!l3_view_ok(v, len) || !l3_l4_ok(v, ICMP_HLEN))
		return v4 ? -DP_DROP_ICMP_TRUNCATED : -DP_DROP_ICMP6_TRUNCATED;
	if (v4 ? (v->l4_proto != 1 || buf[v->l4_off] != 8) :
		 (v->l4_proto != 58 || buf[v->l4_off] != 128))
		return v4 ? -DP_DROP_ICMP_UNHANDLED_TYPE :
			    -DP_DROP_ICMP6_UNHANDLED_TYPE;
	rc = v4 ? l3_echo4(buf, v->l3_off, v->l4_off, v->l4_len,
			   v->flags & DP_PKT_F_L4_CSUM_OK) :
		  l3_echo6(buf, v->l3_off, v->l4_off, v->l4_len, &v->src,
			   &v->dst, v->flags & DP_PKT_F_L4_CSUM_OK);
	if (rc < 0)
		return rc;
	l3_echo_l2(buf, v->link, our_mac);
	return rc;
}

int dp_l3_echo_reply_fast(uint8_t *buf, enum dp_link link, uint16_t l3_off,
			  int ip_version, uint16_t l4_len,
			  const uint8_t our_mac[6])
{
	uint8_t *ip = buf + l3_off;
	int rc;

	if (ip_version == 4) {
		rc = l3_echo4_fast(ip, l4_len);
		if (rc >= 0)
			rc += l3_off;
	} else
		rc = l3_echo6(buf, l3_off, l3_off + IP6_HLEN, l4_len,
			      (const union dp_addr *)(ip + 8),
			      (const union dp_addr *)(ip + 24), true);
	if (rc < 0)
		return rc;
	l3_echo_l2(buf, link, our_mac);
	return rc;
}

/* ---- NDP ---- */

int dp_l3_build_ndp_na(uint8_t *out, uint32_t cap, const uint8_t *req,
		       const struct dp_pkt_view *v, const uint8_t our_mac[6])
{
	const uint8_t *ns, *opt, *end, *slla = NULL;
	const uint8_t *dst_mac;
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	static const uint8_t zero16[16];
	bool dad;
	uint8_t *ip, *na;
	int l2;

	if (v->link != DP_LINK_ETH || v->l3 != DP_L3_IPV6 ||
	    !l3_view_ok(v, v->len))
		return -DP_DROP_NDP_BAD;
	if (!l3_l4_ok(v, 24) || v->l4_proto != 58)
		return -DP_DROP_NDP_BAD;
	ns = req + v->l4_off;
	end = ns + v->l4_len;
	/* RFC 4861 7.1.1 */
	if (ns[0] != 135 || ns[1] != 0 || v->ttl != 255)
		return -DP_DROP_NDP_BAD;
	if (ip6_is_mcast(ns + 8) || !memcmp(ns + 8, zero16, 16))
		return -DP_DROP_NDP_BAD;
	if (!(v->flags & DP_PKT_F_L4_CSUM_OK) &&
	    dp_csum_fold(dp_csum_partial(ns, v->l4_len,
			   l3_pseudo(false, v->src.b, v->dst.b, 58,
				     v->l4_len))) != 0)
		return -DP_DROP_ICMP6_BAD_CHECKSUM;
	for (opt = ns + 24; opt < end; opt += opt[1] * 8u) {
		if (end - opt < 2 || opt[1] == 0 || end - opt < opt[1] * 8)
			return -DP_DROP_NDP_BAD;
		if (opt[0] == 1 && opt[1] == 1)
			slla = opt + 2;
	}
	dad = ip6_is_unspec(&v->src);
	if (dad) {
		static const uint8_t snm[13] = { 0xff, 0x02, [11] = 1,
						 [12] = 0xff };

		if (memcmp(v->dst.b, snm, 13) != 0 ||
		    memcmp(v->dst.b + 13, ns + 8 + 13, 3) != 0 || slla)
			return -DP_DROP_NDP_BAD;
	} else if (ip6_is_mcast(v->src.b)) {
		return -DP_DROP_NDP_BAD;
	}

	dst_mac = dad ? all_nodes_mac : slla ? slla : v->eth_src;
	l2 = l3_put_l2(out, cap, req, v, dst_mac, our_mac);
	if (l2 < 0 || cap - (uint32_t)l2 < IP6_HLEN + 32)
		return -DP_DROP_PKT_TOO_BIG;
	ip = out + l2;
	na = ip + IP6_HLEN;
	wr32(ip, 6u << 28);
	wr16(ip + 4, 32);
	ip[6] = 58;
	ip[7] = 255;
	memcpy(ip + 8, ns + 8, 16);
	memcpy(ip + 24, dad ? all_nodes : v->src.b, 16);
	na[0] = 136;
	na[1] = 0;
	wr16(na + 2, 0);
	/* Solicited unless DAD; Override; never Router (we are a host). */
	wr32(na + 4, dad ? 0x20000000u : 0x60000000u);
	memcpy(na + 8, ns + 8, 16);
	na[24] = 2;
	na[25] = 1;
	memcpy(na + 26, our_mac, 6);
	l3_put_csum(na + 2, dp_csum_partial(na, 32,
				   l3_pseudo(false, ip + 8, ip + 24, 58, 32)));
	return l2 + (int)IP6_HLEN + 32;
}

int dp_l3_build_ndp_ns(uint8_t *out, uint32_t cap, const uint8_t our_mac[6],
		       const union dp_addr *our_ip,
		       const union dp_addr *target)
{
	uint8_t *ip = out + ETH_HLEN, *ns = ip + IP6_HLEN;
	/* from :: (DAD) a solicitation carries no link-layer option */
	uint32_t plen = ip6_is_unspec(our_ip) ? 24 : 32;

	if (dp_addr_is_v4(our_ip) || dp_addr_is_v4(target) ||
	    ip6_is_mcast(our_ip->b) || ip6_is_mcast(target->b) ||
	    ip6_is_unspec(target))
		return -DP_DROP_NDP_BAD;
	if (cap < ETH_HLEN + IP6_HLEN + plen)
		return -DP_DROP_PKT_TOO_BIG;
	out[0] = 0x33;
	out[1] = 0x33;
	out[2] = 0xff;
	memcpy(out + 3, target->b + 13, 3);
	memcpy(out + 6, our_mac, 6);
	wr16(out + 12, ETH_P_IPV6);
	wr32(ip, 6u << 28);
	wr16(ip + 4, (uint16_t)plen);
	ip[6] = 58;
	ip[7] = 255;
	memcpy(ip + 8, our_ip->b, 16);
	/* solicited-node multicast ff02::1:ffXX:XXXX */
	memset(ip + 24, 0, 16);
	ip[24] = 0xff;
	ip[25] = 0x02;
	ip[35] = 1;
	ip[36] = 0xff;
	memcpy(ip + 37, target->b + 13, 3);
	ns[0] = 135;
	ns[1] = 0;
	wr16(ns + 2, 0);
	wr32(ns + 4, 0);
	memcpy(ns + 8, target->b, 16);
	if (plen == 32) {
		ns[24] = 1;
		ns[25] = 1;
		memcpy(ns + 26, our_mac, 6);
	}
	l3_put_csum(ns + 2, dp_csum_partial(ns, plen,
				   l3_pseudo(false, ip + 8, ip + 24, 58,
					     plen)));
	return (int)(ETH_HLEN + IP6_HLEN + plen);
}

/* ---- ICMP errors ---- */

/* Offset (from the IPv6 header) of the next-header byte that names the
 * upper-layer protocol: what a "unrecognized next header" points at. */
static uint32_t l3_ip6_last_nh(const uint8_t *orig, const struct dp_pkt_view *v)
{
	uint32_t cur = v->l3_off + IP6_HLEN, at = v->l3_off + 6u;
	uint32_t lim = (uint32_t)v->l3_off + v->l3_len;
	uint8_t t = orig[at];

	while (cur < v->l4_off && cur + 2 <= lim) {
		at = cur;
		if (t == 44)
			cur += 8;
		else if (t == 51)
			cur += (orig[cur + 1] + 2u) * 4;
		else
			cur += (orig[cur + 1] + 1u) * 8;
		t = orig[at];
	}
	return at - v->l3_off;
}

/* Is orig itself an ICMP error (never answered, RFC 1122 3.2.2 and
 * RFC 4443 2.4(e))? The type is read from the bytes so that a first
 * fragment is covered too. */
static bool l3_is_icmp_error(const uint8_t *orig, const struct dp_pkt_view *v)
{
	uint8_t t;

	if (v->l4_proto != (v->ip_version == 4 ? 1 : 58))
		return false;
	if (v->l4_off >= (uint32_t)v->l3_off + v->l3_len)
		return true; /* cannot tell: stay silent */
	t = orig[v->l4_off];
	if (v->ip_version == 4)
		return t > 18 || t == 3 || t == 4 || t == 5 || t == 11 ||
		       t == 12;
	return t < 128 || t == 137;
}

int dp_l3_build_icmp_error(uint8_t *out, uint32_t cap, const uint8_t *orig,
			   const struct dp_pkt_view *v, uint8_t type,
			   uint8_t code, uint32_t info,
			   const union dp_addr *our_src,
			   const uint8_t our_mac[6])
{
	bool v4 = v->ip_version == 4;
	int unhandled = v4 ? -DP_DROP_ICMP_UNHANDLED_TYPE :
			     -DP_DROP_ICMP6_UNHANDLED_TYPE;
	uint32_t hlen = (v4 ? IP4_HLEN : IP6_HLEN) + ICMP_HLEN;
	uint32_t quote, room;
	const uint8_t *oip;
	uint8_t *ip, *icmp;
	int l2;

	if (!l3_view_ok(v, v->len))
		return unhandled;
	oip = orig + v->l3_off;
	if ((v->flags & DP_PKT_F_FRAGMENT) && v->frag_off != 0)
		return unhandled;
	if (l3_is_icmp_error(orig, v))
		return unhandled;
	if (dp_addr_is_v4(our_src) != v4)
		return unhandled;
	if (v4) {
		if (ip4_bad_peer(oip + 12) || ip4_is_mcast_or_bcast(oip + 16) ||
		    (v->flags & (DP_PKT_F_L2_BCAST | DP_PKT_F_L2_MCAST)))
			return unhandled;
	} else {
		/* RFC 4443 2.4(e.3): to a multicast destination only
		 * "packet too big" and unrecognized-option problems. */
		bool mc = ip6_is_mcast(v->dst.b) ||
			  (v->flags & (DP_PKT_F_L2_BCAST | DP_PKT_F_L2_MCAST));

		if (ip6_is_unspec(&v->src) || ip6_is_mcast(v->src.b))
			return unhandled;
		if (mc && type != 2 && !(type == 4 && code == 2))
			return unhandled;
	}

	l2 = l3_put_l2(out, cap, orig, v, v->eth_src, our_mac);
	if (l2 < 0 || cap - (uint32_t)l2 < hlen + 8)
		return -DP_DROP_PKT_TOO_BIG;
	/* Quote as much as Linux: the answer fits 576 (v4) / 1280 (v6). */
	quote = v->l3_len;
	room = (v4 ? IP4_QUOTE_TOTAL : IP6_QUOTE_TOTAL) - hlen;
	if (quote > room)
		quote = room;
	if (quote > cap - (uint32_t)l2 - hlen)
		quote = cap - (uint32_t)l2 - hlen;

	ip = out + l2;
	icmp = ip + hlen - ICMP_HLEN;
	memcpy(icmp + ICMP_HLEN, oip, quote);
	icmp[0] = type;
	icmp[1] = code;
	wr16(icmp + 2, 0);
	wr32(icmp + 4, 0);
	if (v4) {
		if (type == 3 && code == 4)
			wr16(icmp + 6, (uint16_t)info);
		else if (type == 12)
			icmp[4] = (uint8_t)info;
		ip[0] = 0x45;
		/* Linux: precedence "internetwork control", TOS bits kept */
		ip[1] = (uint8_t)(0xc0 | (v->tos & 0x1e));
		wr16(ip + 2, (uint16_t)(hlen + quote));
		/* No state for an id counter: derive one from the quote. */
		wr16(ip + 4, (uint16_t)(dp_csum_partial(oip, quote > 64 ? 64 :
						    quote, quote) | 1));
		wr16(ip + 6, 0);
		ip[8] = L3_TTL;
		ip[9] = 1;
		memcpy(ip + 12, &our_src->b[12], 4);
		memcpy(ip + 16, oip + 12, 4);
		wr16(ip + 10, 0);
		l3_put_csum(ip + 10, dp_csum_partial(ip, IP4_HLEN, 0));
		l3_put_csum(icmp + 2, dp_csum_partial(icmp, ICMP_HLEN + quote, 0));
	} else {
		if (type == 2)
			wr32(icmp + 4, info);
		else if (type == 4 && code == 1)
			wr32(icmp + 4, l3_ip6_last_nh(orig, v));
		else if (type == 4)
			wr32(icmp + 4, info);
		wr32(ip, 6u << 28);
		wr16(ip + 4, (uint16_t)(ICMP_HLEN + quote));
		ip[6] = 58;
		ip[7] = L3_TTL;
		memcpy(ip + 8, our_src->b, 16);
		memcpy(ip + 24, oip + 8, 16);
		l3_put_csum(icmp + 2,
			    dp_csum_partial(icmp, ICMP_HLEN + quote,
				   l3_pseudo(false, ip + 8, ip + 24, 58,
					     ICMP_HLEN + quote)));
	}
	return l2 + (int)(hlen + quote);
}

/* ---- TCP RST ---- */

int dp_l3_build_tcp_rst(uint8_t *out, uint32_t cap, const uint8_t *orig,
			const struct dp_pkt_view *v, const uint8_t our_mac[6])
{
	bool v4 = v->ip_version == 4;
	uint32_t hlen = (v4 ? IP4_HLEN : IP6_HLEN) + TCP_HLEN;
	const uint8_t *oip, *th;
	uint8_t *ip, *tcp, flags;
	uint32_t doff, seg;
	int l2;

	if (!l3_view_ok(v, v->len) || v->l4_proto != 6)
		return -DP_DROP_TCP_TRUNCATED;
	if (!l3_l4_ok(v, TCP_HLEN))
		return -DP_DROP_TCP_TRUNCATED;
	oip = orig + v->l3_off;
	th = orig + v->l4_off;
	doff = (th[12] >> 4) * 4u;
	if (doff < TCP_HLEN || doff > v->l4_len)
		return -DP_DROP_TCP_BAD_OFFSET;
	flags = th[13];
	if (flags & TCP_RST)
		return -DP_DROP_NO_STACK;
	/* Only segments unicast to us from a unicast peer get an answer. */
	if (v->flags & (DP_PKT_F_L2_BCAST | DP_PKT_F_L2_MCAST))
		return -DP_DROP_NOT_FOR_US;
	if (v4 ? (ip4_bad_peer(oip + 12) || ip4_bad_peer(oip + 16)) :
		 (ip6_is_unspec(&v->src) || ip6_is_mcast(v->src.b) ||
		  ip6_is_unspec(&v->dst) || ip6_is_mcast(v->dst.b)))
		return -DP_DROP_NOT_FOR_US;

	l2 = l3_put_l2(out, cap, orig, v, v->eth_src, our_mac);
	if (l2 < 0 || cap - (uint32_t)l2 < hlen)
		return -DP_DROP_PKT_TOO_BIG;
	ip = out + l2;
	tcp = ip + hlen - TCP_HLEN;
	memset(ip, 0, hlen);
	wr16(tcp, rd16(th + 2));
	wr16(tcp + 2, rd16(th));
	if (flags & TCP_ACK) {
		memcpy(tcp + 4, th + 8, 4);
		tcp[13] = TCP_RST;
	} else {
		seg = v->l4_len - doff + !!(flags & TCP_SYN) +
		      !!(flags & TCP_FIN);
		wr32(tcp + 8, rd32(th + 4) + seg);
		tcp[13] = TCP_RST | TCP_ACK;
	}
	tcp[12] = 5 << 4;
	/* window, checksum, urgent: 0 (memset) */
	if (v4) {
		ip[0] = 0x45;
		ip[1] = v->tos & 0xfc; /* ECN bits cleared, as Linux */
		wr16(ip + 2, (uint16_t)hlen);
		wr16(ip + 6, 0x4000);  /* DF, id 0: what Linux sends */
		ip[8] = L3_TTL;
		ip[9] = 6;
		memcpy(ip + 12, oip + 16, 4);
		memcpy(ip + 16, oip + 12, 4);
		l3_put_csum(ip + 10, dp_csum_partial(ip, IP4_HLEN, 0));
		l3_put_csum(tcp + 16,
			    dp_csum_partial(tcp, TCP_HLEN,
				   l3_pseudo(true, ip + 12, ip + 16, 6,
					     TCP_HLEN)));
	} else {
		wr32(ip, 6u << 28 | (uint32_t)(v->tos & 0xfc) << 20);
		wr16(ip + 4, TCP_HLEN);
		ip[6] = 6;
		ip[7] = L3_TTL;
		memcpy(ip + 8, v->dst.b, 16);
		memcpy(ip + 24, v->src.b, 16);
		l3_put_csum(tcp + 16,
			    dp_csum_partial(tcp, TCP_HLEN,
				   l3_pseudo(false, ip + 8, ip + 24, 6,
					     TCP_HLEN)));
	}
	return l2 + (int)hlen;
}
