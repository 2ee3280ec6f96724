/* Unit tests of RSS hashing and the flow table.
 *
 * RSS: dp_rss_toeplitz against the Microsoft RSS verification suite
 * (standard Microsoft key, IPv4 and IPv6, with and without ports), the
 * table-driven dp_rss_hash_view against the bitwise function with the
 * symmetric key, and the symmetry itself.
 * Flows: both directions find one flow, counters per direction, info,
 * table full, expiry by protocol timeout with a budget, LRU touch order,
 * app context zeroing, many flows. Views are filled by hand: these tests
 * do not depend on dp_parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "dataplane/dp_flow.h"
#include "dataplane/dp_rss.h"

#define SEC 1000000000ull

static const uint8_t ms_key[DP_RSS_KEY_LEN] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2,
	0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
	0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4,
	0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
	0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* Microsoft "Verifying the RSS Hash Calculation" (also in the 82599
 * datasheet and DPDK's test_thash.c). */
static const struct {
	const char *dst, *src;
	uint16_t dport, sport;
	uint32_t h_ip, h_tcp;
} ms_vectors[] = {
	{ "161.142.100.80", "66.9.149.187", 1766, 2794,
	  0x323e8fc2, 0x51ccc178 },
	{ "65.69.140.83", "199.92.111.2", 4739, 14230,
	  0xd718262a, 0xc626b0ea },
	{ "12.22.207.184", "24.19.198.95", 38024, 12898,
	  0xd2d0a5de, 0x5c2b394a },
	{ "209.142.163.6", "38.27.205.30", 2217, 48228,
	  0x82989176, 0xafc7327f },
	{ "202.188.127.2", "153.39.163.191", 1303, 44251,
	  0x5d1809c5, 0x10e828a2 },
	{ "3ffe:2501:200:3::1", "3ffe:2501:200:1fff::7", 1766, 2794,
	  0x2cc18cd5, 0x40207d3d },
	{ "ff02::1", "3ffe:501:8::260:97ff:fe40:efab", 4739, 14230,
	  0x0f0c461c, 0xdde51bbf },
	{ "fe80::200:f8ff:fe21:67cf", "3ffe:1900:4545:3:200:f8ff:fe21:67cf",
	  38024, 44251, 0x4b61e985, 0x02d1feef },
};

/* NIC input: src, dst (4 or 16 bytes each), then sport, dport. */
static uint32_t build_input(uint8_t *in, const char *src, const char *dst,
			    uint16_t sport, uint16_t dport, bool ports)
{
	uint32_t alen = strchr(src, ':') ? 16 : 4;
	int af = alen == 16 ? AF_INET6 : AF_INET;

	assert_int_equal(inet_pton(af, src, in), 1);
	assert_int_equal(inet_pton(af, dst, in + alen), 1);
	if (!ports)
		return 2 * alen;
	in[2 * alen] = (uint8_t)(sport >> 8);
	in[2 * alen + 1] = (uint8_t)sport;
	in[2 * alen + 2] = (uint8_t)(dport >> 8);
	in[2 * alen + 3] = (uint8_t)dport;
	return 2 * alen + 4;
}

static void test_ms_vectors(void **state)
{
	uint8_t in[36];
	size_t i;
	uint32_t n;

	for (i = 0; i < sizeof(ms_vectors) / sizeof(ms_vectors[0]); i++) {
		n = build_input(in, ms_vectors[i].src, ms_vectors[i].dst,
				ms_vectors[i].sport, ms_vectors[i].dport,
				false);
		assert_int_equal(dp_rss_toeplitz(ms_key, in, n),
				 ms_vectors[i].h_ip);
		n = build_input(in, ms_vectors[i].src, ms_vectors[i].dst,
				ms_vectors[i].sport, ms_vectors[i].dport,
				true);
		assert_int_equal(dp_rss_toeplitz(ms_key, in, n),
				 ms_vectors[i].h_tcp);
	}
}

static void set_addr(union dp_addr *a, const char *s)
{
	if (strchr(s, ':')) {
		assert_int_equal(inet_pton(AF_INET6, s, a->b), 1);
	} else {
		uint32_t v4;

		assert_int_equal(inet_pton(AF_INET, s, &v4), 1);
		dp_addr_from_v4(a, v4);
	}
}

static void make_view(struct dp_pkt_view *v, const char *src, const char *dst,
		      uint8_t proto, uint16_t sport, uint16_t dport)
{
	memset(v, 0, sizeof(*v));
	set_addr(&v->src, src);
	set_addr(&v->dst, dst);
	if (strchr(src, ':')) {
		v->l3 = DP_L3_IPV6;
		v->ip_version = 6;
	} else {
		v->l3 = DP_L3_IPV4;
		v->ip_version = 4;
	}
	v->l4_proto = proto;
	v->sport = sport;
	v->dport = dport;
}

static void test_view_matches_bitwise(void **state)
{
	struct dp_pkt_view v;
	uint8_t in[36];
	size_t i;
	uint32_t n;

	for (i = 0; i < sizeof(ms_vectors) / sizeof(ms_vectors[0]); i++) {
		make_view(&v, ms_vectors[i].src, ms_vectors[i].dst,
			  IPPROTO_TCP, ms_vectors[i].sport,
			  ms_vectors[i].dport);
		n = build_input(in, ms_vectors[i].src, ms_vectors[i].dst,
				ms_vectors[i].sport, ms_vectors[i].dport,
				true);
		assert_int_equal(dp_rss_hash_view(&v),
				 dp_rss_toeplitz(dp_rss_key, in, n));

		/* UDP hashes ports too; ICMP and fragments do not. */
		v.l4_proto = IPPROTO_UDP;
		assert_int_equal(dp_rss_hash_view(&v),
				 dp_rss_toeplitz(dp_rss_key, in, n));
		n = build_input(in, ms_vectors[i].src, ms_vectors[i].dst,
				0, 0, false);
		v.flags = DP_PKT_F_FRAGMENT;
		assert_int_equal(dp_rss_hash_view(&v),
				 dp_rss_toeplitz(dp_rss_key, in, n));
		v.flags = 0;
		v.l4_proto = IPPROTO_ICMP;
		assert_int_equal(dp_rss_hash_view(&v),
				 dp_rss_toeplitz(dp_rss_key, in, n));
	}

	/* Random inputs of every length, the table against bit by bit:
	 * the tables serve any position, so whole addresses of random
	 * bytes exercise each table entry. */
	srand(1);
	for (i = 0; i < 2000; i++) {
		int j;

		make_view(&v, "::1", "::2", IPPROTO_TCP, 0, 0);
		for (j = 0; j < 16; j++) {
			v.src.b[j] = (uint8_t)rand();
			v.dst.b[j] = (uint8_t)rand();
		}
		v.sport = (uint16_t)rand();
		v.dport = (uint16_t)rand();
		memcpy(in, v.src.b, 16);
		memcpy(in + 16, v.dst.b, 16);
		in[32] = (uint8_t)(v.sport >> 8);
		in[33] = (uint8_t)v.sport;
		in[34] = (uint8_t)(v.dport >> 8);
		in[35] = (uint8_t)v.dport;
		assert_int_equal(dp_rss_hash_view(&v),
				 dp_rss_toeplitz(dp_rss_key, in, 36));
	}

	/* Not IP: no hash. */
	memset(&v, 0, sizeof(v));
	v.l3 = DP_L3_ARP;
	assert_int_equal(dp_rss_hash_view(&v), 0);
}

static void test_symmetric(void **state)
{
	struct dp_pkt_view a, b;
	uint8_t in[36];
	size_t i;

	for (i = 0; i < sizeof(ms_vectors) / sizeof(ms_vectors[0]); i++) {
		make_view(&a, ms_vectors[i].src, ms_vectors[i].dst,
			  IPPROTO_TCP, ms_vectors[i].sport,
			  ms_vectors[i].dport);
		make_view(&b, ms_vectors[i].dst, ms_vectors[i].src,
			  IPPROTO_TCP, ms_vectors[i].dport,
			  ms_vectors[i].sport);
		assert_int_equal(dp_rss_hash_view(&a), dp_rss_hash_view(&b));
		a.l4_proto = b.l4_proto = IPPROTO_ICMP;
		assert_int_equal(dp_rss_hash_view(&a), dp_rss_hash_view(&b));

		/* The bitwise function agrees on the swap. */
		uint32_t n = build_input(in, ms_vectors[i].src,
					 ms_vectors[i].dst, 1, 2, true);
		uint32_t h = dp_rss_toeplitz(dp_rss_key, in, n);

		n = build_input(in, ms_vectors[i].dst, ms_vectors[i].src,
				2, 1, true);
		assert_int_equal(dp_rss_toeplitz(dp_rss_key, in, n), h);
		/* The Microsoft key is not symmetric: a check that the
		 * test would catch an asymmetric key. */
		if (i == 0) {
			n = build_input(in, ms_vectors[i].src,
					ms_vectors[i].dst, 1, 2, true);
			h = dp_rss_toeplitz(ms_key, in, n);
			n = build_input(in, ms_vectors[i].dst,
					ms_vectors[i].src, 2, 1, true);
			assert_int_not_equal(dp_rss_toeplitz(ms_key, in, n),
					     h);
		}
	}
	/* Different flows do get different hashes. */
	make_view(&a, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 1000, 53);
	make_view(&b, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 1001, 53);
	assert_int_not_equal(dp_rss_hash_view(&a), dp_rss_hash_view(&b));
}

/* ---- flow table -------------------------------------------------------- */

static struct dp_flow_table *mk_table(uint32_t max, size_t ctx)
{
	struct dp_flow_table_params p = {
		.max_flows = max,
		.tcp_idle_s = 300,
		.udp_idle_s = 60,
		.other_idle_s = 30,
		.stack_tcp_idle_s = 3600,
		.stack_udp_idle_s = 30,
		.stack_closing_s = 10,
		.app_ctx_size = ctx,
	};
	struct dp_flow_table *t = dp_flow_table_create(&p);

	assert_non_null(t);
	return t;
}

static struct dp_flow *lookup(struct dp_flow_table *t,
			      const struct dp_pkt_view *v, uint64_t now,
			      bool *created, int *dir)
{
	return dp_flow_lookup_or_create(t, v, dp_rss_hash_view(v), 3, now,
					created, dir);
}

static void test_flow_both_directions(void **state)
{
	struct dp_flow_table *t = mk_table(64, 0);
	struct dp_pkt_view fwd, rev, other;
	struct dp_flow *f, *g;
	bool created;
	int dir;

	/* Client has the higher address: the key swaps it to hi. */
	make_view(&fwd, "192.0.2.10", "10.1.1.1", IPPROTO_TCP, 40000, 443);
	make_view(&rev, "10.1.1.1", "192.0.2.10", IPPROTO_TCP, 443, 40000);

	f = lookup(t, &fwd, 5 * SEC, &created, &dir);
	assert_non_null(f);
	assert_true(created);
	assert_int_equal(dir, 0);
	assert_int_equal(dp_flow_count(t), 1);

	g = lookup(t, &rev, 6 * SEC, &created, &dir);
	assert_ptr_equal(g, f);
	assert_false(created);
	assert_int_equal(dir, 1);

	g = lookup(t, &fwd, 7 * SEC, &created, &dir);
	assert_ptr_equal(g, f);
	assert_false(created);
	assert_int_equal(dir, 0);

	/* Info in first-packet direction, pointing into the flow. */
	assert_int_equal(f->info.in_port, 3);
	assert_int_equal(f->info.proto, IPPROTO_TCP);
	assert_int_equal(f->info.ip_version, 4);
	assert_memory_equal(f->info.src, fwd.src.b, 16);
	assert_memory_equal(f->info.dst, fwd.dst.b, 16);
	assert_true(f->info.src >= (const uint8_t *)f &&
		    f->info.src < (const uint8_t *)(f + 1));
	assert_int_equal(f->info.sport, 40000);
	assert_int_equal(f->info.dport, 443);
	assert_int_equal(f->info.start_ns, 5 * SEC);
	assert_int_equal(f->info.to_local, 0);
	assert_int_equal(f->hash, dp_rss_hash_view(&fwd));
	assert_int_equal(f->decision.verdict, STRATA_CONTINUE);
	assert_int_equal(f->idle_timeout_s, 300);
	assert_memory_equal(f->key.lo_addr.b, rev.src.b, 16);
	assert_int_equal(f->key.lo_port, 443);
	assert_int_equal(f->key.hi_port, 40000);

	/* Another port, another proto, another family: other flows. */
	make_view(&other, "192.0.2.10", "10.1.1.1", IPPROTO_TCP, 40001, 443);
	g = lookup(t, &other, 8 * SEC, &created, &dir);
	assert_true(created);
	assert_ptr_not_equal(g, f);
	make_view(&other, "192.0.2.10", "10.1.1.1", IPPROTO_UDP, 40000, 443);
	g = lookup(t, &other, 8 * SEC, &created, &dir);
	assert_true(created);
	assert_ptr_not_equal(g, f);
	assert_int_equal(g->idle_timeout_s, 60);
	assert_int_equal(dp_flow_count(t), 3);

	dp_flow_table_destroy(t, NULL, NULL);
}

static void test_flow_v6_and_icmp(void **state)
{
	struct dp_flow_table *t = mk_table(64, 0);
	struct dp_pkt_view req, rep, req2, unr;
	struct dp_flow *f, *g;
	bool created;
	int dir;

	/* Echo: request (type 128, id 77) and reply share one flow. */
	make_view(&req, "2001:db8::1", "2001:db8::2", IPPROTO_ICMPV6, 77, 0);
	req.icmp_type = 128;
	make_view(&rep, "2001:db8::2", "2001:db8::1", IPPROTO_ICMPV6, 77, 0);
	rep.icmp_type = 129;
	f = lookup(t, &req, SEC, &created, &dir);
	assert_true(created);
	assert_int_equal(f->info.ip_version, 6);
	assert_int_equal(f->info.sport, 77);
	assert_int_equal(f->info.dport, 0);
	assert_int_equal(f->key.lo_port, 77);
	assert_int_equal(f->key.hi_port, 77);
	assert_int_equal(f->idle_timeout_s, 30);
	g = lookup(t, &rep, SEC, &created, &dir);
	assert_ptr_equal(g, f);
	assert_int_equal(dir, 1);

	/* Another echo id: another flow. */
	req2 = req;
	req2.sport = 78;
	g = lookup(t, &req2, SEC, &created, &dir);
	assert_true(created);
	assert_ptr_not_equal(g, f);

	/* Non-echo ICMP between the same hosts: ports 0, one more flow. */
	make_view(&unr, "2001:db8::2", "2001:db8::1", IPPROTO_ICMPV6, 999, 9);
	unr.icmp_type = 1;
	g = lookup(t, &unr, SEC, &created, &dir);
	assert_true(created);
	assert_int_equal(g->key.lo_port, 0);
	assert_int_equal(g->key.hi_port, 0);
	assert_int_equal(g->info.sport, 0);

	/* IPv4 echo with the same id as the v6 one: distinct. */
	make_view(&req, "10.0.0.1", "10.0.0.2", IPPROTO_ICMP, 77, 0);
	req.icmp_type = 8;
	make_view(&rep, "10.0.0.2", "10.0.0.1", IPPROTO_ICMP, 77, 0);
	rep.icmp_type = 0;
	f = lookup(t, &req, SEC, &created, &dir);
	assert_true(created);
	g = lookup(t, &rep, SEC, &created, &dir);
	assert_false(created);
	assert_ptr_equal(g, f);
	assert_int_equal(dir, 1);

	/* A packet to itself: always direction 0. */
	make_view(&req, "10.0.0.9", "10.0.0.9", IPPROTO_UDP, 5000, 5000);
	f = lookup(t, &req, SEC, &created, &dir);
	g = lookup(t, &req, SEC, &created, &dir);
	assert_ptr_equal(g, f);
	assert_int_equal(dir, 0);

	/* Same addresses, ports differ: direction by port. */
	make_view(&req, "10.0.0.9", "10.0.0.9", IPPROTO_UDP, 6000, 5000);
	make_view(&rep, "10.0.0.9", "10.0.0.9", IPPROTO_UDP, 5000, 6000);
	f = lookup(t, &req, SEC, &created, &dir);
	assert_true(created);
	g = lookup(t, &rep, SEC, &created, &dir);
	assert_ptr_equal(g, f);
	assert_int_equal(dir, 1);
	assert_int_equal(f->info.sport, 6000);

	/* Fragments key without ports. */
	make_view(&req, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 1, 2);
	req.flags = DP_PKT_F_FRAGMENT;
	f = lookup(t, &req, SEC, &created, &dir);
	assert_true(created);
	assert_int_equal(f->key.lo_port, 0);
	assert_int_equal(f->info.sport, 0);

	dp_flow_table_destroy(t, NULL, NULL);
}

static void test_flow_counters(void **state)
{
	struct dp_flow_table *t = mk_table(16, 0);
	struct dp_pkt_view fwd, rev;
	struct dp_flow *f;
	bool created;
	int dir;

	make_view(&fwd, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 1234, 53);
	make_view(&rev, "10.0.0.2", "10.0.0.1", IPPROTO_UDP, 53, 1234);
	f = lookup(t, &fwd, SEC, &created, &dir);
	dp_flow_touch(f, dir, 60, SEC);
	f = lookup(t, &rev, 2 * SEC, &created, &dir);
	dp_flow_touch(f, dir, 200, 2 * SEC);
	f = lookup(t, &rev, 3 * SEC, &created, &dir);
	dp_flow_touch(f, dir, 300, 3 * SEC);
	assert_int_equal(f->pkts[0], 1);
	assert_int_equal(f->bytes[0], 60);
	assert_int_equal(f->pkts[1], 2);
	assert_int_equal(f->bytes[1], 500);
	assert_int_equal(f->last_ns, 3 * SEC);
	assert_int_equal(f->info.start_ns, SEC);
	dp_flow_table_destroy(t, NULL, NULL);
}

struct ended {
	unsigned n;
	uint16_t sports[64];
	uint64_t pkts;
};

static void on_end(struct dp_flow *f, void *arg)
{
	struct ended *e = arg;

	if (e->n < 64)
		e->sports[e->n] = f->info.sport;
	e->n++;
	e->pkts += f->pkts[0] + f->pkts[1];
}

static void test_flow_full(void **state)
{
	struct dp_flow_table *t = mk_table(4, 0);
	struct dp_pkt_view v;
	struct dp_flow *f;
	struct ended e = { 0 };
	bool created;
	int dir;
	uint16_t i;

	for (i = 0; i < 4; i++) {
		make_view(&v, "10.0.0.1", "10.0.0.2", IPPROTO_TCP, 100 + i, 80);
		assert_non_null(lookup(t, &v, SEC, &created, &dir));
		assert_true(created);
	}
	make_view(&v, "10.0.0.1", "10.0.0.2", IPPROTO_TCP, 200, 80);
	assert_null(lookup(t, &v, SEC, &created, &dir));
	assert_int_equal(dp_flow_count(t), 4);

	/* Existing flows are still found when full. */
	make_view(&v, "10.0.0.2", "10.0.0.1", IPPROTO_TCP, 80, 102);
	f = lookup(t, &v, SEC, &created, &dir);
	assert_non_null(f);
	assert_false(created);

	/* After expiry the slots are reused. */
	assert_int_equal(dp_flow_expire(t, 400 * SEC, 100, on_end, &e), 4);
	assert_int_equal(e.n, 4);
	assert_int_equal(dp_flow_count(t), 0);
	for (i = 0; i < 4; i++) {
		make_view(&v, "10.0.0.3", "10.0.0.2", IPPROTO_TCP, 100 + i, 80);
		assert_non_null(lookup(t, &v, 400 * SEC, &created, &dir));
		assert_true(created);
	}
	make_view(&v, "10.0.0.1", "10.0.0.2", IPPROTO_TCP, 100, 80);
	assert_null(lookup(t, &v, 400 * SEC, &created, &dir));

	/* Destroy ends every live flow. */
	memset(&e, 0, sizeof(e));
	dp_flow_table_destroy(t, on_end, &e);
	assert_int_equal(e.n, 4);
}

static void test_flow_expiry_by_proto(void **state)
{
	struct dp_flow_table *t = mk_table(64, 0);
	struct dp_pkt_view v;
	struct ended e = { 0 };
	bool created;
	int dir;
	uint16_t i;

	/* 3 TCP, 3 UDP, 3 GRE flows at t=0 */
	for (i = 0; i < 3; i++) {
		make_view(&v, "10.0.0.1", "10.0.0.2", IPPROTO_TCP, 1000 + i, 1);
		lookup(t, &v, 0, &created, &dir);
		make_view(&v, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 2000 + i, 1);
		lookup(t, &v, 0, &created, &dir);
		make_view(&v, "10.0.0.1", "10.0.0.2", 47, 0, 0);
		v.src.b[15] = (uint8_t)(10 + i);
		lookup(t, &v, 0, &created, &dir);
	}
	assert_int_equal(dp_flow_count(t), 9);

	/* Nothing idle long enough yet. */
	assert_int_equal(dp_flow_expire(t, 29 * SEC, 100, on_end, &e), 0);
	/* other_idle_s = 30: the GRE flows, two per call with budget 2. */
	assert_int_equal(dp_flow_expire(t, 30 * SEC, 2, on_end, &e), 2);
	assert_int_equal(dp_flow_expire(t, 30 * SEC, 2, on_end, &e), 1);
	assert_int_equal(dp_flow_expire(t, 30 * SEC, 2, on_end, &e), 0);
	assert_int_equal(dp_flow_count(t), 6);
	for (i = 0; i < 3; i++)
		assert_int_equal(e.sports[i], 0);
	/* udp_idle_s = 60 */
	assert_int_equal(dp_flow_expire(t, 59 * SEC, 100, on_end, &e), 0);
	assert_int_equal(dp_flow_expire(t, 60 * SEC, 100, on_end, &e), 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(e.sports[3 + i], 2000 + i);
	/* tcp_idle_s = 300 */
	assert_int_equal(dp_flow_expire(t, 299 * SEC, 100, on_end, &e), 0);
	assert_int_equal(dp_flow_expire(t, 300 * SEC, 1, on_end, &e), 1);
	assert_int_equal(dp_flow_expire(t, 300 * SEC, 0, on_end, &e), 0);
	assert_int_equal(dp_flow_expire(t, 300 * SEC, 5, on_end, &e), 2);
	assert_int_equal(e.n, 9);
	assert_int_equal(dp_flow_count(t), 0);

	/* A time earlier than a flow's last use expires nothing. */
	make_view(&v, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 1, 1);
	lookup(t, &v, 1000 * SEC, &created, &dir);
	assert_int_equal(dp_flow_expire(t, 10 * SEC, 100, on_end, &e), 0);
	assert_int_equal(dp_flow_count(t), 1);
	dp_flow_table_destroy(t, NULL, NULL);
}

/* Flows handed to the stack live as long as the stack keeps their
 * connections (stack.tcp_idle_s), never shorter than other flows. */
static void test_flow_stack_idle(void **state)
{
	struct dp_flow_table *t = mk_table(64, 0);
	struct dp_pkt_view v;
	struct ended e = { 0 };
	struct dp_flow *plain, *stack, *udp;
	bool created;
	int dir;

	make_view(&v, "10.0.0.1", "10.0.0.2", IPPROTO_TCP, 1000, 80);
	plain = lookup(t, &v, 0, &created, &dir);
	make_view(&v, "10.0.0.1", "10.0.0.2", IPPROTO_TCP, 1001, 80);
	stack = lookup(t, &v, 0, &created, &dir);
	dp_flow_follow_stack(stack);
	make_view(&v, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 1002, 53);
	udp = lookup(t, &v, 0, &created, &dir);
	dp_flow_follow_stack(udp);
	assert_int_equal(plain->idle_timeout_s, 300);
	assert_int_equal(stack->idle_timeout_s, 3600);
	/* stack_udp_idle_s 30 is below udp_idle_s 60: 60 holds */
	assert_int_equal(udp->idle_timeout_s, 60);

	assert_int_equal(dp_flow_expire(t, 60 * SEC, 100, on_end, &e), 1);
	assert_int_equal(e.sports[0], 1002);
	assert_int_equal(dp_flow_expire(t, 300 * SEC, 100, on_end, &e), 1);
	assert_int_equal(e.sports[1], 1000);
	/* still in use at 3000 s: idle from there */
	make_view(&v, "10.0.0.2", "10.0.0.1", IPPROTO_TCP, 80, 1001);
	assert_ptr_equal(lookup(t, &v, 3000 * SEC, &created, &dir), stack);
	dp_flow_touch(stack, dir, 60, 3000 * SEC);
	assert_int_equal(dp_flow_expire(t, 6599 * SEC, 100, on_end, &e), 0);
	assert_int_equal(dp_flow_expire(t, 6600 * SEC, 100, on_end, &e), 1);
	assert_int_equal(e.sports[2], 1001);
	assert_int_equal(dp_flow_count(t), 0);
	dp_flow_table_destroy(t, NULL, NULL);
}

/* A stack TCP flow whose client sent FIN or RST expires after
 * stack_closing_s, not the stack's hour: closed connections must not
 * fill the table. A new SYN on the tuple gives it the hour back. */
static void test_flow_stack_closing(void **state)
{
	struct dp_flow_table *t = mk_table(64, 0);
	struct dp_pkt_view v;
	struct ended e = { 0 };
	struct dp_flow *f[4], *fin, *rst, *reused, *open;
	bool created;
	int dir;

	for (uint16_t i = 0; i < 4; i++) {
		make_view(&v, "10.0.0.1", "10.0.0.2", IPPROTO_TCP, 2000 + i, 80);
		f[i] = lookup(t, &v, 0, &created, &dir);
		dp_flow_follow_stack(f[i]);
	}
	fin = f[0];
	rst = f[1];
	reused = f[2];
	open = f[3];
	dp_flow_touch(fin, 0, 40, 5 * SEC);
	dp_flow_stack_tcp_flags(fin, 0x11);            /* FIN|ACK */
	dp_flow_touch(rst, 0, 40, 5 * SEC);
	dp_flow_stack_tcp_flags(rst, 0x04);            /* RST */
	dp_flow_touch(reused, 0, 40, 5 * SEC);
	dp_flow_stack_tcp_flags(reused, 0x11);
	dp_flow_touch(reused, 0, 40, 6 * SEC);
	dp_flow_stack_tcp_flags(reused, 0x02);         /* SYN again */
	dp_flow_touch(open, 0, 40, 6 * SEC);
	dp_flow_stack_tcp_flags(open, 0x10);           /* a bare ACK */
	assert_int_equal(fin->idle_timeout_s, 10);
	assert_int_equal(reused->idle_timeout_s, 3600);
	assert_int_equal(open->idle_timeout_s, 3600);

	assert_int_equal(dp_flow_expire(t, 14 * SEC, 100, on_end, &e), 0);
	assert_int_equal(dp_flow_expire(t, 15 * SEC, 100, on_end, &e), 2);
	assert_int_equal(e.sports[0] + e.sports[1], 2000 + 2001);
	assert_int_equal(dp_flow_expire(t, 3605 * SEC, 100, on_end, &e), 0);
	assert_int_equal(dp_flow_expire(t, 3606 * SEC, 100, on_end, &e), 2);
	assert_int_equal(dp_flow_count(t), 0);
	dp_flow_table_destroy(t, NULL, NULL);
}

static void test_flow_lru_touch(void **state)
{
	struct dp_flow_table *t = mk_table(64, 0);
	struct dp_flow *f[4];
	struct dp_pkt_view v;
	struct ended e = { 0 };
	bool created;
	int dir;
	uint16_t i;

	/* Four UDP flows created at 0, 1, 2, 3 s. */
	for (i = 0; i < 4; i++) {
		make_view(&v, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 100 + i, 53);
		f[i] = lookup(t, &v, i * SEC, &created, &dir);
		dp_flow_touch(f[i], dir, 10, i * SEC);
	}
	/* Touch the oldest at 30 s: it moves to the tail. */
	dp_flow_touch(f[0], 1, 10, 30 * SEC);

	/* At 62 s flows 1 and 2 are idle for >= 60 s; 3 is not (59 s);
	 * 0 is not (32 s), although it was created first. */
	assert_int_equal(dp_flow_expire(t, 62 * SEC, 100, on_end, &e), 2);
	assert_int_equal(e.sports[0], 101);
	assert_int_equal(e.sports[1], 102);
	assert_int_equal(dp_flow_expire(t, 63 * SEC, 100, on_end, &e), 1);
	assert_int_equal(e.sports[2], 103);
	assert_int_equal(dp_flow_expire(t, 89 * SEC, 100, on_end, &e), 0);
	assert_int_equal(dp_flow_expire(t, 90 * SEC, 100, on_end, &e), 1);
	assert_int_equal(e.sports[3], 100);
	assert_int_equal(e.pkts, 5);

	/* A clock that steps back does not break the order: the flow
	 * touched "at 5 s" after 100 s counts as used at 100 s. */
	make_view(&v, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 7, 53);
	f[0] = lookup(t, &v, 100 * SEC, &created, &dir);
	make_view(&v, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 8, 53);
	f[1] = lookup(t, &v, 100 * SEC, &created, &dir);
	dp_flow_touch(f[0], 0, 1, 5 * SEC);
	assert_int_equal(f[0]->last_ns, 100 * SEC);
	assert_int_equal(dp_flow_expire(t, 160 * SEC, 100, on_end, &e), 2);

	/* Touches less than the slack (1 s for UDP) after a flow was last
	 * queued do not move it: a flow behind it may then expire up to
	 * the slack late, never early. */
	make_view(&v, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 9, 53);
	f[0] = lookup(t, &v, 200 * SEC, &created, &dir);
	make_view(&v, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 10, 53);
	f[1] = lookup(t, &v, 200 * SEC + SEC / 2, &created, &dir);
	dp_flow_touch(f[0], 0, 1, 200 * SEC + SEC * 6 / 10);
	assert_int_equal(dp_flow_expire(t, 260 * SEC + SEC / 2, 100, on_end,
					&e), 0);
	assert_int_equal(dp_flow_count(t), 2);
	assert_int_equal(dp_flow_expire(t, 260 * SEC + SEC * 6 / 10, 100,
					on_end, &e), 2);
	dp_flow_table_destroy(t, NULL, NULL);
}

static void test_flow_app_ctx(void **state)
{
	struct dp_flow_table *t = mk_table(2, 40);
	struct dp_pkt_view v;
	struct dp_flow *f, *g;
	bool created;
	int dir;

	make_view(&v, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 1, 2);
	f = lookup(t, &v, 0, &created, &dir);
	assert_non_null(f->app_ctx);
	assert_int_equal((uintptr_t)f->app_ctx % 16, 0);
	for (int i = 0; i < 40; i++)
		assert_int_equal(f->app_ctx[i], 0);
	memset(f->app_ctx, 0xab, 40);

	make_view(&v, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 1, 3);
	g = lookup(t, &v, 0, &created, &dir);
	assert_true(g->app_ctx >= f->app_ctx + 40 ||
		    g->app_ctx + 40 <= f->app_ctx);
	memset(g->app_ctx, 0xcd, 40);

	/* Expire both, recreate: contexts are zero again. */
	assert_int_equal(dp_flow_expire(t, 100 * SEC, 10, NULL, NULL), 2);
	make_view(&v, "10.0.0.5", "10.0.0.6", IPPROTO_UDP, 1, 3);
	f = lookup(t, &v, 100 * SEC, &created, &dir);
	make_view(&v, "10.0.0.5", "10.0.0.6", IPPROTO_UDP, 1, 4);
	g = lookup(t, &v, 100 * SEC, &created, &dir);
	for (int i = 0; i < 40; i++) {
		assert_int_equal(f->app_ctx[i], 0);
		assert_int_equal(g->app_ctx[i], 0);
	}
	assert_int_equal(f->pkts[0] + f->pkts[1], 0);
	dp_flow_table_destroy(t, NULL, NULL);

	/* No apps: no context. */
	t = mk_table(2, 0);
	f = lookup(t, &v, 0, &created, &dir);
	assert_null(f->app_ctx);
	dp_flow_table_destroy(t, NULL, NULL);
}

static void test_flow_bad_params(void **state)
{
	struct dp_flow_table_params p = { .max_flows = 0, .tcp_idle_s = 1,
					  .udp_idle_s = 1, .other_idle_s = 1 };

	assert_null(dp_flow_table_create(&p));
	assert_null(dp_flow_table_create(NULL));
	dp_flow_table_destroy(NULL, NULL, NULL);
	assert_int_equal(dp_flow_count(NULL), 0);
}

/* Many flows: all found again from either direction, all expire. */
static void test_flow_many(void **state)
{
	const uint32_t n = 200000;
	struct dp_flow_table *t = mk_table(n, 16);
	struct dp_pkt_view v;
	struct dp_flow *f;
	struct ended e = { 0 };
	bool created;
	int dir;
	uint32_t i;

	for (i = 0; i < n; i++) {
		make_view(&v, "10.0.0.1", "172.16.0.0", IPPROTO_TCP,
			  (uint16_t)(1024 + i % 50000), 443);
		v.dst.b[14] = (uint8_t)(i / 50000);
		f = lookup(t, &v, SEC, &created, &dir);
		assert_non_null(f);
		assert_true(created);
		memcpy(f->app_ctx, &i, sizeof(i));
	}
	assert_int_equal(dp_flow_count(t), n);
	make_view(&v, "10.0.0.2", "172.16.0.0", IPPROTO_TCP, 1, 443);
	assert_null(lookup(t, &v, SEC, &created, &dir));
	for (i = 0; i < n; i++) {
		uint32_t got;

		make_view(&v, "172.16.0.0", "10.0.0.1", IPPROTO_TCP, 443,
			  (uint16_t)(1024 + i % 50000));
		v.src.b[14] = (uint8_t)(i / 50000);
		f = lookup(t, &v, 2 * SEC, &created, &dir);
		assert_false(created);
		assert_int_equal(dir, 1);
		memcpy(&got, f->app_ctx, sizeof(got));
		assert_int_equal(got, i);
	}
	while (dp_flow_expire(t, 1000 * SEC, 1024, on_end, &e))
		;
	assert_int_equal(e.n, n);
	assert_int_equal(dp_flow_count(t), 0);
	dp_flow_table_destroy(t, NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ms_vectors),
		cmocka_unit_test(test_view_matches_bitwise),
		cmocka_unit_test(test_symmetric),
		cmocka_unit_test(test_flow_both_directions),
		cmocka_unit_test(test_flow_v6_and_icmp),
		cmocka_unit_test(test_flow_counters),
		cmocka_unit_test(test_flow_full),
		cmocka_unit_test(test_flow_expiry_by_proto),
		cmocka_unit_test(test_flow_stack_idle),
		cmocka_unit_test(test_flow_stack_closing),
		cmocka_unit_test(test_flow_lru_touch),
		cmocka_unit_test(test_flow_app_ctx),
		cmocka_unit_test(test_flow_bad_params),
		cmocka_unit_test(test_flow_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
