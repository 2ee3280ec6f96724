/* Unit tests of the fast path (dp_fast.h): it must change speed only.
 *
 * - Every packet dp_fast_classify() accepts, dp_parse() accepts too,
 *   with the same tuple and lengths: checked on the common shapes, on
 *   shapes that must go the general way, and on thousands of random
 *   mutations and truncations of valid packets.
 * - An echo reply built by dp_l3_echo_reply_fast() is byte for byte the
 *   one dp_l3_echo_reply_inplace() builds from the parsed view.
 * - The cache finds what it was filled with, in the right direction,
 *   and never a flow that was freed or whose slot was reused.
 * Packets are built here with a byte-at-a-time reference checksum and
 * parsed from exactly-sized heap copies (a sanitizer build catches any
 * read past the end). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/dp_fast.h"
#include "dataplane/dp_flow.h"
#include "dataplane/dp_l3.h"
#include "dataplane/dp_parse.h"

static const uint8_t mac_us[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t mac_peer[6] = { 0x02, 0, 0, 0, 0, 0x09 };

/* ---- builders ---- */

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

static void wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t ref_sum(const uint8_t *p, uint32_t n, uint32_t s)
{
	for (uint32_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

enum shape { SH_ECHO, SH_TCP, SH_UDP, SH_UDP_NOCSUM };

struct spec {
	int v6, eth, pad;
	enum shape sh;
	uint32_t paylen;
};

/* A valid packet of spec into o (room for 2048); returns its length. */
static uint32_t build(uint8_t *o, const struct spec *s)
{
	uint32_t l2 = s->eth ? 14 : 0, hl = s->v6 ? 40 : 20, l4h, n, i;
	uint8_t *ip = o + l2, *l4 = ip + hl;
	uint8_t proto;

	memset(o, 0, 2048);
	if (s->eth) {
		memcpy(o, mac_us, 6);
		memcpy(o + 6, mac_peer, 6);
		wr16(o + 12, s->v6 ? 0x86dd : 0x0800);
	}
	switch (s->sh) {
	case SH_ECHO:
		proto = s->v6 ? 58 : 1;
		l4h = 8;
		l4[0] = s->v6 ? 128 : 8;
		wr16(l4 + 4, rnd());  /* id */
		wr16(l4 + 6, rnd());  /* sequence */
		break;
	case SH_TCP:
		proto = 6;
		l4h = 20;
		wr16(l4, 1024 + rnd() % 60000);
		wr16(l4 + 2, 80);
		l4[12] = 5 << 4;
		l4[13] = 0x18;        /* PSH ACK */
		break;
	default:
		proto = 17;
		l4h = 8;
		wr16(l4, 1024 + rnd() % 60000);
		wr16(l4 + 2, 53);
		break;
	}
	for (i = 0; i < s->paylen; i++)
		l4[l4h + i] = (uint8_t)rnd();
	n = l4h + s->paylen;
	if (proto == 17)
		wr16(l4 + 4, n);
	if (s->v6) {
		ip[0] = 0x60 | (rnd() & 0xf);
		ip[1] = (uint8_t)rnd();
		wr16(ip + 4, n);
		ip[6] = proto;
		ip[7] = 64;
		ip[8] = 0x20;
		ip[9] = 0x01;
		ip[15] = (uint8_t)rnd();
		ip[23] = (uint8_t)(1 + rnd() % 250);
		ip[24] = 0xfd;
		ip[25] = 0x99;
		ip[39] = 2;
	} else {
		ip[0] = 0x45;
		ip[1] = (uint8_t)rnd();
		wr16(ip + 2, hl + n);
		wr16(ip + 4, rnd());
		if (rnd() & 1)
			ip[6] = 0x40;         /* DF */
		ip[8] = 64;
		ip[9] = proto;
		ip[12] = 10;
		ip[13] = 1;
		ip[14] = (uint8_t)rnd();
		ip[15] = (uint8_t)(1 + rnd() % 250);
		ip[16] = 10;
		ip[17] = 99;
		ip[19] = 2;
		wr16(ip + 10, (uint16_t)~ref_sum(ip, 20, 0));
	}
	if (s->sh != SH_UDP_NOCSUM || s->v6) {
		uint32_t ps = proto == 1 ? 0 :
			      s->v6 ? ref_sum(ip + 8, 32, proto + n) :
				      ref_sum(ip + 12, 8, proto + n);
		uint8_t *c = l4 + (proto == 6 ? 16 : proto == 17 ? 6 : 2);

		wr16(c, (uint16_t)~ref_sum(l4, n, ps));
		if (proto == 17 && c[0] == 0 && c[1] == 0)
			wr16(c, 0xffff);
	}
	return l2 + hl + n + (s->eth ? s->pad : 0);
}

static void random_spec(struct spec *s)
{
	s->v6 = rnd() & 1;
	s->eth = (rnd() % 4) != 0;
	s->pad = s->eth ? rnd() % 8 : 0;
	s->sh = (enum shape)(rnd() % 4);
	s->paylen = rnd() % 300;
}

/* ---- the agreement property ---- */

/* If the fast path takes buf, the general parser must take it as the
 * same packet. Returns the kind. */
static enum dp_fast_kind agree(const uint8_t *pkt, uint32_t len,
			       enum dp_link link, uint32_t flags)
{
	uint8_t *b = malloc(len ? len : 1);
	struct dp_fast_pkt fp;
	struct dp_pkt_view v;
	enum dp_fast_kind k;
	union dp_addr src, dst;
	uint16_t sport, dport;

	assert_non_null(b);
	memcpy(b, pkt, len);
	k = dp_fast_classify(b, len, link, mac_us, 3, flags, &fp);
	if (k != DP_FAST_NO) {
		assert_int_equal(dp_parse(b, len, link, flags, &v), 0);
		assert_false(v.flags & (DP_PKT_F_FRAGMENT | DP_PKT_F_VLAN |
					DP_PKT_F_IP4_OPTIONS |
					DP_PKT_F_L2_BCAST | DP_PKT_F_L2_MCAST |
					DP_PKT_F_IP6_ROUTING));
		assert_true(v.flags & DP_PKT_F_L4_CSUM_OK);
		assert_int_equal(v.l3_off, fp.l3_off);
		assert_int_equal(v.l3_len, fp.l3_len);
		assert_int_equal(v.l4_len, fp.l4_len);
		assert_int_equal(v.l4_off,
				 fp.l3_off + (fp.ip_version == 4 ? 20 : 40));
		assert_int_equal(v.ip_version, fp.ip_version);
		assert_int_equal(v.l4_proto, fp.proto);
		dp_fast_tuple(b, &fp, &src, &dst, &sport, &dport);
		assert_true(dp_addr_eq(&src, &v.src));
		assert_true(dp_addr_eq(&dst, &v.dst));
		assert_int_equal(sport, v.sport);
		switch (k) {
		case DP_FAST_ECHO:
			assert_int_equal(v.icmp_type,
					 fp.ip_version == 4 ? 8 : 128);
			assert_int_equal(dport, 0);
			break;
		case DP_FAST_TCP:
			assert_int_equal(fp.proto, 6);
			assert_int_equal(v.tcp_flags & 0x07, 0);
			assert_int_equal(dport, v.dport);
			break;
		case DP_FAST_UDP:
			assert_int_equal(fp.proto, 17);
			assert_int_equal(dport, v.dport);
			break;
		default:
			fail();
		}
	}
	free(b);
	return k;
}

static void test_common_shapes_taken(void **state)
{
	static const enum dp_fast_kind want[] = {
		[SH_ECHO] = DP_FAST_ECHO, [SH_TCP] = DP_FAST_TCP,
		[SH_UDP] = DP_FAST_UDP, [SH_UDP_NOCSUM] = DP_FAST_UDP,
	};
	uint8_t pkt[2048];
	struct spec s;
	uint32_t len;

	(void)state;
	for (int i = 0; i < 2000; i++) {
		random_spec(&s);
		len = build(pkt, &s);
		assert_int_equal(agree(pkt, len,
				       s.eth ? DP_LINK_ETH : DP_LINK_RAW_IP, 0),
				 want[s.sh]);
		/* vouched-for checksums take the same way */
		assert_int_equal(agree(pkt, len,
				       s.eth ? DP_LINK_ETH : DP_LINK_RAW_IP,
				       DP_PARSE_L3_CSUM_OK |
				       DP_PARSE_L4_CSUM_OK), want[s.sh]);
	}
}

/* A packet made odd by fn must go the general way (and the general
 * parser must still agree where it is taken). */
static void refused(const struct spec *s, void (*fn)(uint8_t *, uint32_t *,
						     const struct spec *))
{
	uint8_t pkt[2048];
	uint32_t len = build(pkt, s);

	fn(pkt, &len, s);
	assert_int_equal(agree(pkt, len, s->eth ? DP_LINK_ETH : DP_LINK_RAW_IP,
			       0), DP_FAST_NO);
}

static uint8_t *ipof(uint8_t *p, const struct spec *s)
{
	return p + (s->eth ? 14 : 0);
}

static uint8_t *l4of(uint8_t *p, const struct spec *s)
{
	return ipof(p, s) + (s->v6 ? 40 : 20);
}

static void odd_mcast_mac(uint8_t *p, uint32_t *n, const struct spec *s)
{
	(void)n; (void)s;
	p[0] |= 1;
}

static void odd_bcast_mac(uint8_t *p, uint32_t *n, const struct spec *s)
{
	(void)n; (void)s;
	memset(p, 0xff, 6);
}

static void odd_other_mac(uint8_t *p, uint32_t *n, const struct spec *s)
{
	(void)n; (void)s;
	p[5] ^= 0x40;
}

static void odd_vlan(uint8_t *p, uint32_t *n, const struct spec *s)
{
	(void)s;
	memmove(p + 16, p + 12, *n - 12);
	wr16(p + 12, 0x8100);
	*n += 4;
}

static void odd_ip_csum(uint8_t *p, uint32_t *n, const struct spec *s)
{
	(void)n;
	ipof(p, s)[10] ^= 1;
}

static void odd_l4_csum(uint8_t *p, uint32_t *n, const struct spec *s)
{
	uint8_t *l4 = l4of(p, s);

	(void)n;
	l4[s->sh == SH_ECHO ? 2 : s->sh == SH_TCP ? 16 : 6] ^= 0x10;
}

static void odd_fragment(uint8_t *p, uint32_t *n, const struct spec *s)
{
	uint8_t *ip = ipof(p, s);

	(void)n;
	ip[6] |= 0x20; /* MF; the header sum made good again */
	ip[10] = ip[11] = 0;
	wr16(ip + 10, (uint16_t)~ref_sum(ip, 20, 0));
}

static void odd_options(uint8_t *p, uint32_t *n, const struct spec *s)
{
	uint8_t *ip = ipof(p, s);
	uint32_t tot = (uint32_t)(ip[2] << 8 | ip[3]);

	memmove(ip + 24, ip + 20, *n - (uint32_t)(ip - p) - 20);
	memset(ip + 20, 1, 4);        /* four no-ops */
	ip[0] = 0x46;
	wr16(ip + 2, tot + 4);
	ip[10] = ip[11] = 0;
	wr16(ip + 10, (uint16_t)~ref_sum(ip, 24, 0));
	*n += 4;
}

static void odd_tcp_flags(uint8_t *p, uint32_t *n, const struct spec *s)
{
	static const uint8_t f[] = { 0x02, 0x01, 0x04, 0x12, 0x11 };
	uint8_t *l4 = l4of(p, s);
	uint8_t was = l4[13], now = f[rnd() % sizeof(f)];

	(void)n;
	l4[13] = now;
	/* keep the checksum right: only the flags make it odd */
	{
		uint32_t c = (uint32_t)(l4[16] << 8 | l4[17]);
		uint32_t x = (uint16_t)~c + (uint16_t)~(uint32_t)(l4[12] << 8 | was) +
			     (uint32_t)(l4[12] << 8 | now);

		x = (x & 0xffff) + (x >> 16);
		x = (x & 0xffff) + (x >> 16);
		wr16(l4 + 16, (uint16_t)~x);
	}
}

static void odd_echo_type(uint8_t *p, uint32_t *n, const struct spec *s)
{
	uint8_t *l4 = l4of(p, s);
	uint8_t t = s->v6 ? 129 : 0;  /* a reply */
	uint32_t c = (uint32_t)(l4[2] << 8 | l4[3]);
	uint32_t x = (uint16_t)~c + (uint16_t)~(uint32_t)(l4[0] << 8 | l4[1]) +
		     (uint32_t)(t << 8 | l4[1]);

	(void)n;
	x = (x & 0xffff) + (x >> 16);
	x = (x & 0xffff) + (x >> 16);
	l4[0] = t;
	wr16(l4 + 2, (uint16_t)~x);
}

static void odd_total_len(uint8_t *p, uint32_t *n, const struct spec *s)
{
	uint8_t *ip = ipof(p, s);

	(void)n;
	if (s->v6) {
		wr16(ip + 4, (uint32_t)(ip[4] << 8 | ip[5]) + 200);
	} else {
		wr16(ip + 2, (uint32_t)(ip[2] << 8 | ip[3]) + 200);
		ip[10] = ip[11] = 0;
		wr16(ip + 10, (uint16_t)~ref_sum(ip, 20, 0));
	}
}

static void odd_v6_ext(uint8_t *p, uint32_t *n, const struct spec *s)
{
	uint8_t *ip = ipof(p, s);
	uint32_t plen = (uint32_t)(ip[4] << 8 | ip[5]);

	(void)s;
	memmove(ip + 48, ip + 40, plen);
	memset(ip + 40, 0, 8);
	ip[40] = ip[6];              /* hop-by-hop, then the L4 header */
	ip[42] = 1;                  /* PadN: six bytes */
	ip[43] = 4;
	ip[6] = 0;
	wr16(ip + 4, plen + 8);
	*n += 8;
}

static void odd_mcast_src(uint8_t *p, uint32_t *n, const struct spec *s)
{
	uint8_t *ip = ipof(p, s);

	(void)n;
	if (s->v6) {
		ip[8] = 0xff;
	} else {
		ip[12] = 224;
		ip[10] = ip[11] = 0;
		wr16(ip + 10, (uint16_t)~ref_sum(ip, 20, 0));
	}
}

static void test_odd_shapes_refused(void **state)
{
	struct spec s = { .paylen = 40 };

	(void)state;
	for (s.v6 = 0; s.v6 < 2; s.v6++) {
		for (s.eth = 0; s.eth < 2; s.eth++) {
			for (int sh = SH_ECHO; sh <= SH_UDP; sh++) {
				s.sh = (enum shape)sh;
				if (s.eth) {
					refused(&s, odd_mcast_mac);
					refused(&s, odd_bcast_mac);
					refused(&s, odd_other_mac);
					refused(&s, odd_vlan);
				}
				refused(&s, odd_l4_csum);
				refused(&s, odd_total_len);
				refused(&s, odd_mcast_src);
				if (s.v6) {
					refused(&s, odd_v6_ext);
				} else {
					refused(&s, odd_ip_csum);
					refused(&s, odd_fragment);
					refused(&s, odd_options);
				}
				if (sh == SH_TCP)
					refused(&s, odd_tcp_flags);
				if (sh == SH_ECHO)
					refused(&s, odd_echo_type);
			}
		}
	}
	/* IPv6 UDP without a checksum is dropped (RFC 8200 8.1) */
	s.v6 = 1;
	s.eth = 1;
	s.sh = SH_UDP;
	{
		uint8_t pkt[2048];
		uint32_t len = build(pkt, &s);

		pkt[14 + 40 + 6] = pkt[14 + 40 + 7] = 0;
		assert_int_equal(agree(pkt, len, DP_LINK_ETH, 0), DP_FAST_NO);
	}
}

/* Random damage to valid packets: wherever the fast path still takes
 * one, the general parser must agree (agree() asserts it). */
static void test_mutations_agree(void **state)
{
	uint8_t pkt[2048];
	struct spec s;
	uint32_t len, k, taken = 0;

	(void)state;
	for (int i = 0; i < 30000; i++) {
		random_spec(&s);
		len = build(pkt, &s);
		switch (rnd() % 4) {
		case 0:     /* truncate */
			len = rnd() % (len + 1);
			break;
		case 1:     /* a few bytes in the headers */
			for (k = rnd() % 3 + 1; k; k--)
				pkt[rnd() % (len < 80 ? len : 80)] =
					(uint8_t)rnd();
			break;
		case 2:     /* one bit anywhere */
			pkt[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		default:    /* untouched, checksums vouched for */
			break;
		}
		if (agree(pkt, len, s.eth ? DP_LINK_ETH : DP_LINK_RAW_IP,
			  rnd() % 4 == 0 ? 3 : 0) != DP_FAST_NO)
			taken++;
	}
	/* the untouched quarter at least */
	assert_true(taken > 30000 / 4);
}

/* ---- echo replies: the same bytes both ways ---- */

static void test_echo_same_bytes(void **state)
{
	uint8_t pkt[2048];
	struct spec s = { .sh = SH_ECHO };
	int same = 0;

	(void)state;
	for (int i = 0; i < 4000; i++) {
		uint8_t *a, *b;
		struct dp_pkt_view v;
		struct dp_fast_pkt fp = { 0 };
		enum dp_link link;
		uint32_t len;
		int ra, rb;

		s.v6 = rnd() & 1;
		s.eth = rnd() & 1;
		s.pad = s.eth ? rnd() % 8 : 0;
		s.paylen = rnd() % 1400;
		len = build(pkt, &s);
		link = s.eth ? DP_LINK_ETH : DP_LINK_RAW_IP;
		if (!s.v6 && i % 8 == 0) { /* a source never answered */
			uint8_t *ip = ipof(pkt, &s);

			ip[12] = (i & 8) ? 127 : 0;
			ip[10] = ip[11] = 0;
			wr16(ip + 10, (uint16_t)~ref_sum(ip, 20, 0));
		}
		a = malloc(len);
		b = malloc(len);
		assert_non_null(a);
		assert_non_null(b);
		memcpy(a, pkt, len);
		memcpy(b, pkt, len);
		assert_int_equal(dp_parse(a, len, link, 0, &v), 0);
		ra = dp_l3_echo_reply_inplace(a, len, &v, mac_us);
		assert_int_equal(dp_fast_classify(b, len, link, mac_us, 0, 0,
						  &fp), DP_FAST_ECHO);
		rb = dp_l3_echo_reply_fast(b, link, fp.l3_off, fp.ip_version,
					   fp.l4_len, mac_us);
		assert_int_equal(ra, rb);
		if (ra > 0) {
			assert_memory_equal(a, b, (size_t)ra);
			same++;
		}
		free(a);
		free(b);
	}
	assert_true(same > 3000);
}

/* ---- the cache and the flow table's tuple probes ---- */

/* The flow of fp in the cache, or NULL; *dir its direction. */
static struct dp_flow *found(struct dp_fast_cache *c,
			     const struct dp_fast_pkt *fp, int *dir)
{
	const struct dp_fast_entry *e = dp_fast_find(dp_fast_set(c, fp), fp);

	if (!e)
		return NULL;
	*dir = dp_fast_dir(e);
	return e->f;
}

static struct dp_flow_table *mk_table(uint32_t max)
{
	struct dp_flow_table_params p = {
		.max_flows = max, .tcp_idle_s = 300, .udp_idle_s = 60,
		.other_idle_s = 30, .stack_tcp_idle_s = 300,
		.stack_udp_idle_s = 60, .stack_closing_s = 10,
	};
	struct dp_flow_table *t = dp_flow_table_create(&p);

	assert_non_null(t);
	return t;
}

/* Parse pkt, create its flow through the view path; returns it. */
static struct dp_flow *create(struct dp_flow_table *t, uint8_t *pkt,
			      uint32_t len, enum dp_link link, uint64_t now)
{
	struct dp_pkt_view v;
	struct dp_flow *f;
	bool created;
	int dir;

	assert_int_equal(dp_parse(pkt, len, link, 0, &v), 0);
	f = dp_flow_lookup_or_create(t, &v, 0, 0, now, &created, &dir);
	assert_non_null(f);
	return f;
}

/* The cache and the tuple probe find what the view path created, in
 * the same direction; a freed flow is never found again. */
static void test_cache_finds_flows(void **state)
{
	struct dp_flow_table *t = mk_table(64);
	struct dp_fast_cache *c = dp_fast_cache_create(8);
	uint8_t pkt[2048], rev[2048];
	struct spec s = { .eth = 1, .paylen = 10 };
	struct dp_fast_pkt fp = { 0 }, fr = { 0 };
	struct dp_flow_probe pr;
	union dp_addr src, dst;
	uint16_t sp, dpt;
	struct dp_flow *f;
	uint32_t len;
	int dir;

	(void)state;
	assert_non_null(c);
	for (int sh = SH_ECHO; sh <= SH_UDP; sh++) {
		for (s.v6 = 0; s.v6 < 2; s.v6++) {
			s.sh = (enum shape)sh;
			len = build(pkt, &s);
			f = create(t, pkt, len, DP_LINK_ETH, 1);
			assert_int_not_equal(dp_fast_classify(pkt, len,
					DP_LINK_ETH, mac_us, 0, 0, &fp),
					DP_FAST_NO);
			dp_fast_tuple(pkt, &fp, &src, &dst, &sp, &dpt);
			dp_flow_probe_start_tuple(t, &src, &dst, sp, dpt,
						  fp.proto, &pr);
			assert_ptr_equal(dp_flow_probe_lookup(t, &pr, &dir), f);
			assert_int_equal(dir, 0);
			/* the other direction: addresses and ports swapped */
			dp_flow_probe_start_tuple(t, &dst, &src,
						  sh == SH_ECHO ? sp : dpt,
						  sh == SH_ECHO ? 0 : sp,
						  fp.proto, &pr);
			assert_ptr_equal(dp_flow_probe_lookup(t, &pr, &dir), f);
			assert_int_equal(dir, 1);

			/* cache: empty, filled, found with its direction */
			assert_null(found(c, &fp, &dir));
			dp_fast_fill(dp_fast_set(c, &fp), &fp, f, 0, 0);
			assert_ptr_equal(found(c, &fp, &dir), f);
			assert_int_equal(dir, 0);
		}
	}
	/* the same key on another port is another entry */
	memcpy(rev, pkt, len);
	assert_int_not_equal(dp_fast_classify(rev, len, DP_LINK_ETH, mac_us,
					      1, 0, &fr), DP_FAST_NO);
	assert_null(found(c, &fr, &dir));

	/* every flow expires: nothing is found through the cache */
	assert_int_equal(dp_flow_expire(t, 1000ull * 1000000000ull, 100, NULL,
					NULL), 6);
	assert_null(found(c, &fp, &dir));
	dp_fast_cache_destroy(c);
	dp_flow_table_destroy(t, NULL, NULL);
}

/* A freed flow's slot taken by another flow: the entry that pointed
 * at the first must not find the second. */
static void test_cache_slot_reused(void **state)
{
	struct dp_flow_table *t = mk_table(1);
	struct dp_fast_cache *c = dp_fast_cache_create(8);
	struct spec s = { .eth = 1, .sh = SH_TCP, .paylen = 4 };
	uint8_t a[2048], b[2048];
	struct dp_fast_pkt fa = { 0 }, fb = { 0 };
	struct dp_flow *f, *g;
	uint32_t la, lb;
	int dir;

	(void)state;
	assert_non_null(c);
	la = build(a, &s);
	lb = build(b, &s);
	f = create(t, a, la, DP_LINK_ETH, 1);
	assert_int_equal(dp_fast_classify(a, la, DP_LINK_ETH, mac_us, 0, 0,
					  &fa), DP_FAST_TCP);
	assert_int_equal(dp_fast_classify(b, lb, DP_LINK_ETH, mac_us, 0, 0,
					  &fb), DP_FAST_TCP);
	dp_fast_fill(dp_fast_set(c, &fa), &fa, f, 0, 0);
	assert_int_equal(dp_flow_expire(t, 1000ull * 1000000000ull, 10, NULL,
					NULL), 1);
	g = create(t, b, lb, DP_LINK_ETH, 2000ull * 1000000000ull);
	assert_ptr_equal(g, f);         /* the one slot, taken again */
	assert_null(found(c, &fa, &dir));
	assert_null(found(c, &fb, &dir));
	dp_fast_fill(dp_fast_set(c, &fb), &fb, g, 1, 0);
	assert_ptr_equal(found(c, &fb, &dir), g);
	assert_int_equal(dir, 1);
	dp_fast_cache_destroy(c);
	dp_flow_table_destroy(t, NULL, NULL);
}

/* An entry carries what the verdict needs: the flow's verdict and
 * hash, and whether dp_ip would answer it locally (LOCAL, the flow's
 * first port and direction, to our address). */
static void test_cache_entry_verdict(void **state)
{
	struct dp_flow_table *t = mk_table(8);
	struct dp_fast_cache *c = dp_fast_cache_create(8);
	struct spec s = { .eth = 1, .sh = SH_ECHO, .paylen = 4 };
	struct dp_fast_pkt fp = { 0 };
	const struct dp_fast_entry *e;
	uint8_t pkt[2048];
	struct dp_flow *f;
	uint32_t len;

	(void)state;
	assert_non_null(c);
	len = build(pkt, &s);
	f = create(t, pkt, len, DP_LINK_ETH, 1);
	f->decision.verdict = STRATA_LOCAL;
	f->info.to_local = 1;
	f->hash = 0x1234;
	assert_int_equal(dp_fast_classify(pkt, len, DP_LINK_ETH, mac_us, 0, 0,
					  &fp), DP_FAST_ECHO);
	e = dp_fast_fill(dp_fast_set(c, &fp), &fp, f, 0, 0);
	assert_ptr_equal(dp_fast_find(dp_fast_set(c, &fp), &fp), e);
	assert_int_equal(e->verdict, STRATA_LOCAL);
	assert_int_equal(e->hash, 0x1234);
	assert_true(e->local);
	assert_int_equal(dp_fast_dir(e), 0);
	/* the other direction, another port, or not to us: not local */
	e = dp_fast_fill(dp_fast_set(c, &fp), &fp, f, 1, 0);
	assert_false(e->local);
	e = dp_fast_fill(dp_fast_set(c, &fp), &fp, f, 0, 1);
	assert_false(e->local);
	f->info.to_local = 0;
	e = dp_fast_fill(dp_fast_set(c, &fp), &fp, f, 0, 0);
	assert_false(e->local);
	f->decision.verdict = STRATA_STACK;
	f->info.to_local = 1;
	e = dp_fast_fill(dp_fast_set(c, &fp), &fp, f, 0, 0);
	assert_int_equal(e->verdict, STRATA_STACK);
	assert_false(e->local);
	dp_fast_cache_destroy(c);
	dp_flow_table_destroy(t, NULL, NULL);
}

/* Two ways a set: a third key pushes out the least recent one. */
static void test_cache_two_ways(void **state)
{
	struct dp_fast_cache *c = dp_fast_cache_create(2); /* one set */
	struct dp_flow_table *t = mk_table(8);
	struct dp_fast_pkt k[3];
	struct dp_flow *f[3];
	uint8_t pkt[2048];
	struct spec s = { .eth = 1, .sh = SH_UDP, .paylen = 4 };
	uint32_t len;
	int dir;

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->set_mask, 0);
	for (int i = 0; i < 3; i++) {
		len = build(pkt, &s);
		f[i] = create(t, pkt, len, DP_LINK_ETH, 1);
		assert_int_equal(dp_fast_classify(pkt, len, DP_LINK_ETH, mac_us,
						  0, 0, &k[i]), DP_FAST_UDP);
		dp_fast_fill(dp_fast_set(c, &k[i]), &k[i], f[i], 0, 0);
	}
	assert_null(found(c, &k[0], &dir));
	assert_ptr_equal(found(c, &k[1], &dir), f[1]);
	assert_ptr_equal(found(c, &k[2], &dir), f[2]);
	/* filling a key the first way holds already keeps the other */
	dp_fast_fill(dp_fast_set(c, &k[2]), &k[2], f[2], 1, 0);
	assert_ptr_equal(found(c, &k[1], &dir), f[1]);
	assert_ptr_equal(found(c, &k[2], &dir), f[2]);
	assert_int_equal(dir, 1);
	dp_fast_cache_destroy(c);
	dp_flow_table_destroy(t, NULL, NULL);
	assert_null(dp_fast_cache_create(0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_common_shapes_taken),
		cmocka_unit_test(test_odd_shapes_refused),
		cmocka_unit_test(test_mutations_agree),
		cmocka_unit_test(test_echo_same_bytes),
		cmocka_unit_test(test_cache_finds_flows),
		cmocka_unit_test(test_cache_slot_reused),
		cmocka_unit_test(test_cache_entry_verdict),
		cmocka_unit_test(test_cache_two_ways),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
