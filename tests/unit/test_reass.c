/* Unit tests of reassembly and fragmentation: v4 and v6 in order,
 * reversed and shuffled; duplicates, overlaps, bad lengths; the timeout,
 * table and per-datagram limits; split then reassemble round trips at
 * several MTUs; DF. Fragments are built by hand and their views filled
 * by a small local parser, so these tests do not depend on dp_parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/dp_reass.h"

#define MS 1000000ull
#define L2 14 /* fragments sit after a fake Ethernet header */

static uint8_t out[70000];

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t csum(const uint8_t *p, uint32_t n)
{
	uint32_t s = 0, i;

	for (i = 0; i + 1 < n; i += 2)
		s += rd16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* What the parser gives for a fragment, from its IP header at l3_off. */
static void view_of(const uint8_t *pkt, uint32_t len, uint16_t l3_off,
		    struct dp_pkt_view *v)
{
	const uint8_t *ip = pkt + l3_off;

	memset(v, 0, sizeof(*v));
	v->len = len;
	v->l3_off = l3_off;
	if ((ip[0] >> 4) == 4) {
		uint32_t hl = (ip[0] & 15u) * 4u, ff = rd16(ip + 6);
		uint32_t a, b;

		v->l3 = DP_L3_IPV4;
		v->ip_version = 4;
		v->l3_len = rd16(ip + 2);
		v->l4_off = (uint16_t)(l3_off + hl);
		v->l4_proto = ip[9];
		v->frag_id = rd16(ip + 4);
		v->frag_off = (uint16_t)((ff & 0x1fff) * 8);
		v->frag_more = ff & 0x2000;
		if (v->frag_more || v->frag_off)
			v->flags |= DP_PKT_F_FRAGMENT;
		memcpy(&a, ip + 12, 4);
		memcpy(&b, ip + 16, 4);
		dp_addr_from_v4(&v->src, a);
		dp_addr_from_v4(&v->dst, b);
		return;
	}
	uint32_t pos = 40, prev = 6;
	uint8_t nh = ip[6];

	v->l3 = DP_L3_IPV6;
	v->ip_version = 6;
	v->l3_len = (uint16_t)(40 + rd16(ip + 4));
	memcpy(v->src.b, ip + 8, 16);
	memcpy(v->dst.b, ip + 24, 16);
	while (nh == 0 || nh == 43 || nh == 60) {
		prev = pos;
		nh = ip[pos];
		pos += (ip[pos + 1] + 1u) * 8u;
	}
	v->l4_off = (uint16_t)(l3_off + pos);
	v->l4_proto = nh;
	if (nh != 44)
		return;
	v->flags |= DP_PKT_F_FRAGMENT;
	v->frag_hdr_off = (uint16_t)(l3_off + pos);
	v->frag_prev_nh_off = (uint16_t)(l3_off + prev);
	v->l4_proto = ip[pos];
	v->frag_off = rd16(ip + pos + 2) & 0xfff8;
	v->frag_more = ip[pos + 3] & 1;
	v->frag_id = (uint32_t)ip[pos + 4] << 24 | (uint32_t)ip[pos + 5] << 16 |
		     (uint32_t)ip[pos + 6] << 8 | ip[pos + 7];
	v->l4_off = (uint16_t)(v->frag_hdr_off + 8);
}

static void fill(uint8_t *p, uint32_t n, uint32_t seed)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

/* A v4 header of hl bytes (options: a copied option 0x94 router alert,
 * then a non-copied record-route-like 0x07, then padding). */
static uint32_t ip4_hdr(uint8_t *h, uint32_t hl, uint16_t id, uint8_t src_lo,
			uint16_t tot, uint16_t ff)
{
	memset(h, 0, hl);
	h[0] = (uint8_t)(0x40 | hl / 4);
	wr16(h + 2, tot);
	wr16(h + 4, id);
	wr16(h + 6, ff);
	h[8] = 64;
	h[9] = 17;
	h[12] = 10; h[13] = 0; h[14] = 0; h[15] = src_lo;
	h[16] = 10; h[17] = 0; h[18] = 0; h[19] = 2;
	if (hl >= 32) {
		h[20] = 0x94; h[21] = 4; /* copied */
		h[24] = 0x07; h[25] = 7; h[26] = 4; /* not copied */
	}
	wr16(h + 10, csum(h, hl));
	return hl;
}

/* Fragment of a v4 datagram at L2 in pkt; returns the buffer length. */
static uint32_t frag4(uint8_t *pkt, uint16_t id, uint8_t src_lo, uint32_t hl,
		      const uint8_t *data, uint32_t off, uint32_t n, bool more)
{
	memset(pkt, 0xee, L2);
	ip4_hdr(pkt + L2, hl, id, src_lo, (uint16_t)(hl + n),
		(uint16_t)((more ? 0x2000 : 0) | off / 8));
	memcpy(pkt + L2 + hl, data + off, n);
	return L2 + hl + n;
}

/* v6 unfragmentable part: base header, optionally a hop-by-hop header;
 * the byte naming what follows is set to 44. Returns its length. */
static uint32_t ip6_unfrag(uint8_t *h, bool hbh, uint8_t src_lo)
{
	memset(h, 0, 48);
	h[0] = 0x60;
	h[7] = 64;
	h[8] = 0x20; h[9] = 0x01; h[23] = src_lo;
	h[24] = 0x20; h[25] = 0x01; h[39] = 2;
	if (!hbh) {
		h[6] = 44;
		return 40;
	}
	h[6] = 0;
	h[40] = 44;
	h[41] = 0;
	h[42] = 1; h[43] = 4; /* padN */
	return 48;
}

static uint32_t frag6(uint8_t *pkt, uint32_t id, uint8_t src_lo, bool hbh,
		      const uint8_t *data, uint32_t off, uint32_t n, bool more)
{
	uint8_t *ip = pkt + L2, *fh;
	uint32_t u;

	memset(pkt, 0xee, L2);
	u = ip6_unfrag(ip, hbh, src_lo);
	fh = ip + u;
	fh[0] = 17;
	fh[1] = 0;
	wr16(fh + 2, (uint16_t)(off | (more ? 1 : 0)));
	fh[4] = (uint8_t)(id >> 24); fh[5] = (uint8_t)(id >> 16);
	fh[6] = (uint8_t)(id >> 8); fh[7] = (uint8_t)id;
	memcpy(fh + 8, data + off, n);
	wr16(ip + 4, (uint16_t)(u - 40 + 8 + n));
	return L2 + u + 8 + n;
}

struct frag {
	uint32_t off, n;
	bool more;
};

/* Cut total bytes into pieces of sz (a multiple of 8). */
static unsigned cut(struct frag *f, uint32_t total, uint32_t sz)
{
	unsigned k = 0;
	uint32_t off;

	for (off = 0; off < total; off += sz, k++) {
		f[k].off = off;
		f[k].n = total - off < sz ? total - off : sz;
		f[k].more = off + sz < total;
	}
	return k;
}

static struct dp_reass *mk(uint32_t dgs, uint32_t frags, uint32_t to_ms)
{
	struct dp_reass_params p = { dgs, frags, to_ms };
	struct dp_reass *r = dp_reass_create(&p);

	assert_non_null(r);
	return r;
}

static int feed4(struct dp_reass *r, uint16_t id, uint8_t src, uint32_t hl,
		 const uint8_t *data, uint32_t off, uint32_t n, bool more,
		 uint64_t now)
{
	static uint8_t pkt[70000];
	struct dp_pkt_view v;
	uint32_t len = frag4(pkt, id, src, hl, data, off, n, more);

	view_of(pkt, len, L2, &v);
	return dp_reass_feed(r, pkt, &v, now, out, sizeof(out));
}

static int feed6(struct dp_reass *r, uint32_t id, uint8_t src, bool hbh,
		 const uint8_t *data, uint32_t off, uint32_t n, bool more,
		 uint64_t now)
{
	static uint8_t pkt[70000];
	struct dp_pkt_view v;
	uint32_t len = frag6(pkt, id, src, hbh, data, off, n, more);

	view_of(pkt, len, L2, &v);
	return dp_reass_feed(r, pkt, &v, now, out, sizeof(out));
}

static void check4(int rc, uint32_t hl, const uint8_t *data, uint32_t n)
{
	assert_int_equal(rc, (int)(hl + n));
	assert_int_equal(out[0], 0x40 | hl / 4);
	assert_int_equal(rd16(out + 2), hl + n);
	assert_int_equal(rd16(out + 6), 0);
	assert_int_equal(csum(out, hl), 0);
	assert_int_equal(out[9], 17);
	assert_memory_equal(out + hl, data, n);
	if (hl >= 32) { /* the first fragment's options are kept */
		assert_int_equal(out[20], 0x94);
		assert_int_equal(out[24], 0x07);
	}
}

static void check6(int rc, bool hbh, const uint8_t *data, uint32_t n)
{
	uint32_t u = hbh ? 48 : 40;

	assert_int_equal(rc, (int)(u + n));
	assert_int_equal(rd16(out + 4), u - 40 + n);
	if (hbh) {
		assert_int_equal(out[6], 0);
		assert_int_equal(out[40], 17);
	} else {
		assert_int_equal(out[6], 17);
	}
	assert_memory_equal(out + u, data, n);
}

/* Feed the pieces in the given order; only the last may complete. */
static void run_order(bool v6, uint32_t hl, const unsigned *order,
		      unsigned k, const struct frag *f, const uint8_t *data,
		      uint32_t total)
{
	struct dp_reass *r = mk(8, 64, 1000);
	unsigned i;
	int rc = 0;

	for (i = 0; i < k; i++) {
		const struct frag *g = &f[order[i]];

		rc = v6 ? feed6(r, 0xabcdef01u, 1, hl == 48, data, g->off, g->n,
				g->more, i * MS) :
			  feed4(r, 77, 1, hl, data, g->off, g->n, g->more,
				i * MS);
		if (i + 1 < k) {
			assert_int_equal(rc, 0);
			assert_int_equal(dp_reass_in_flight(r), 1);
		}
	}
	if (v6)
		check6(rc, hl == 48, data, total);
	else
		check4(rc, hl, data, total);
	assert_int_equal(dp_reass_in_flight(r), 0);
	dp_reass_destroy(r);
}

static void orders(bool v6, uint32_t hl)
{
	static uint8_t data[6000];
	struct frag f[64];
	unsigned ord[64], k, i;

	fill(data, sizeof(data), 3);
	k = cut(f, 5003, 512);
	for (i = 0; i < k; i++)
		ord[i] = i;
	run_order(v6, hl, ord, k, f, data, 5003);
	for (i = 0; i < k; i++)
		ord[i] = k - 1 - i;
	run_order(v6, hl, ord, k, f, data, 5003);
	/* a fixed shuffle: stride 7 through k = 10 pieces */
	for (i = 0; i < k; i++)
		ord[i] = (i * 7 + 3) % k;
	run_order(v6, hl, ord, k, f, data, 5003);
}

static void test_v4_orders(void **s)
{
	orders(false, 20);
}

static void test_v4_options_orders(void **s)
{
	orders(false, 32);
}

static void test_v6_orders(void **s)
{
	orders(true, 40);
}

static void test_v6_hbh_orders(void **s)
{
	orders(true, 48);
}

static void test_duplicates(void **s)
{
	static uint8_t data[3000];
	struct dp_reass *r = mk(8, 3, 1000);

	fill(data, sizeof(data), 9);
	assert_int_equal(feed4(r, 5, 1, 20, data, 0, 1000, true, 0), 0);
	assert_int_equal(feed4(r, 5, 1, 20, data, 0, 1000, true, 0), 0);
	assert_int_equal(feed4(r, 5, 1, 20, data, 1000, 1000, true, 0), 0);
	assert_int_equal(feed4(r, 5, 1, 20, data, 1000, 1000, true, 0), 0);
	/* duplicates did not use up the 3 fragment slots */
	check4(feed4(r, 5, 1, 20, data, 2000, 500, false, 0), 20, data, 2500);

	/* v6: last fragment first, repeated */
	assert_int_equal(feed6(r, 9, 1, false, data, 1000, 24, false, 0), 0);
	assert_int_equal(feed6(r, 9, 1, false, data, 1000, 24, false, 0), 0);
	check6(feed6(r, 9, 1, false, data, 0, 1000, true, 0), false, data,
	       1024);
	assert_int_equal(dp_reass_in_flight(r), 0);
	dp_reass_destroy(r);
}

static void test_overlaps(void **s)
{
	static uint8_t data[3000];
	struct dp_reass *r = mk(8, 16, 1000);

	fill(data, sizeof(data), 1);
	/* partial overlap drops the whole datagram */
	assert_int_equal(feed4(r, 1, 1, 20, data, 0, 1000, true, 0), 0);
	assert_int_equal(feed4(r, 1, 1, 20, data, 992, 16, true, 0),
			 -DP_DROP_FRAG_OVERLAP);
	assert_int_equal(dp_reass_in_flight(r), 0);
	/* what follows starts a new datagram, which then lacks offset 0 */
	assert_int_equal(feed4(r, 1, 1, 20, data, 1000, 8, false, 0), 0);
	assert_int_equal(dp_reass_in_flight(r), 1);

	/* same start, different length */
	assert_int_equal(feed6(r, 2, 1, false, data, 0, 800, true, 0), 0);
	assert_int_equal(feed6(r, 2, 1, false, data, 0, 808, true, 0),
			 -DP_DROP_FRAG_OVERLAP);
	/* one inside another */
	assert_int_equal(feed6(r, 3, 1, false, data, 800, 800, true, 0), 0);
	assert_int_equal(feed6(r, 3, 1, false, data, 1024, 16, true, 0),
			 -DP_DROP_FRAG_OVERLAP);
	/* covering another */
	assert_int_equal(feed6(r, 4, 1, false, data, 800, 16, true, 0), 0);
	assert_int_equal(feed6(r, 4, 1, false, data, 8, 1592, false, 0),
			 -DP_DROP_FRAG_OVERLAP);
	assert_int_equal(dp_reass_in_flight(r), 1);
	dp_reass_destroy(r);
}

static void test_bad_lengths(void **s)
{
	static uint8_t data[3000];
	struct dp_reass *r = mk(8, 16, 1000);

	fill(data, sizeof(data), 1);
	/* non-last fragment not a multiple of 8 */
	assert_int_equal(feed4(r, 1, 1, 20, data, 0, 1001, true, 0),
			 -DP_DROP_FRAG_BAD);
	assert_int_equal(dp_reass_in_flight(r), 0);
	/* a fragment past the last one's end */
	assert_int_equal(feed4(r, 2, 1, 20, data, 800, 10, false, 0), 0);
	assert_int_equal(feed4(r, 2, 1, 20, data, 808, 8, true, 0),
			 -DP_DROP_FRAG_BAD);
	assert_int_equal(dp_reass_in_flight(r), 0);
	/* a last fragment before data already held */
	assert_int_equal(feed6(r, 3, 1, false, data, 800, 80, true, 0), 0);
	assert_int_equal(feed6(r, 3, 1, false, data, 400, 16, false, 0),
			 -DP_DROP_FRAG_BAD);
	/* two different ends */
	assert_int_equal(feed6(r, 4, 1, false, data, 800, 80, false, 0), 0);
	assert_int_equal(feed6(r, 4, 1, false, data, 1600, 80, false, 0),
			 -DP_DROP_FRAG_BAD);
	/* an empty fragment with more to come */
	assert_int_equal(feed6(r, 5, 1, false, data, 80, 0, true, 0),
			 -DP_DROP_FRAG_BAD);
	assert_int_equal(dp_reass_in_flight(r), 0);
	dp_reass_destroy(r);
}

static void test_timeout(void **s)
{
	static uint8_t data[2000];
	struct dp_reass *r = mk(8, 16, 500);

	fill(data, sizeof(data), 1);
	assert_int_equal(feed4(r, 1, 1, 20, data, 0, 800, true, 0), 0);
	assert_int_equal(feed6(r, 2, 1, false, data, 0, 800, true, 300 * MS),
			 0);
	assert_int_equal(dp_reass_expire(r, 500 * MS), 0);
	/* a fragment of the first datagram does not make it younger */
	assert_int_equal(feed4(r, 1, 1, 20, data, 1600, 8, false, 450 * MS),
			 0);
	assert_int_equal(dp_reass_expire(r, 501 * MS), 1);
	assert_int_equal(dp_reass_in_flight(r), 1);
	/* the rest of the expired datagram starts a new one */
	assert_int_equal(feed4(r, 1, 1, 20, data, 800, 800, true, 600 * MS),
			 0);
	assert_int_equal(dp_reass_in_flight(r), 2);
	assert_int_equal(dp_reass_expire(r, 801 * MS), 1);
	assert_int_equal(dp_reass_expire(r, 2000 * MS), 1);
	assert_int_equal(dp_reass_in_flight(r), 0);
	assert_int_equal(dp_reass_expire(r, 3000 * MS), 0);
	dp_reass_destroy(r);
}

static void test_table_full(void **s)
{
	static uint8_t data[2000];
	struct dp_reass *r = mk(2, 16, 500);

	fill(data, sizeof(data), 1);
	assert_int_equal(feed4(r, 1, 1, 20, data, 0, 800, true, 0), 0);
	assert_int_equal(feed4(r, 2, 1, 20, data, 0, 800, true, 10 * MS), 0);
	/* nothing is evicted for a newcomer */
	assert_int_equal(feed4(r, 3, 1, 20, data, 0, 800, true, 20 * MS),
			 -DP_DROP_FRAG_TABLE_FULL);
	/* same id and addresses but v6, or another source: new keys */
	assert_int_equal(feed6(r, 1, 1, false, data, 0, 800, true, 20 * MS),
			 -DP_DROP_FRAG_TABLE_FULL);
	assert_int_equal(feed4(r, 1, 2, 20, data, 0, 800, true, 20 * MS),
			 -DP_DROP_FRAG_TABLE_FULL);
	assert_int_equal(dp_reass_in_flight(r), 2);
	check4(feed4(r, 1, 1, 20, data, 800, 10, false, 30 * MS), 20, data,
	       810);
	assert_int_equal(feed4(r, 3, 1, 20, data, 0, 800, true, 40 * MS), 0);
	/* full again; once the oldest timed out, a newcomer takes its place
	 * and the expiry is still reported by dp_reass_expire */
	assert_int_equal(feed4(r, 4, 1, 20, data, 0, 800, true, 511 * MS), 0);
	assert_int_equal(dp_reass_in_flight(r), 2);
	assert_int_equal(dp_reass_expire(r, 511 * MS), 1);
	dp_reass_destroy(r);
}

static void test_too_many(void **s)
{
	static uint8_t data[2000];
	struct dp_reass *r = mk(4, 4, 500);
	unsigned i;

	fill(data, sizeof(data), 1);
	for (i = 0; i < 4; i++)
		assert_int_equal(feed6(r, 7, 1, true, data, i * 16, 8, true, 0),
				 0);
	assert_int_equal(feed6(r, 7, 1, true, data, 64, 8, true, 0),
			 -DP_DROP_FRAG_TOO_MANY);
	assert_int_equal(dp_reass_in_flight(r), 0);
	dp_reass_destroy(r);
}

static void test_too_big(void **s)
{
	static uint8_t data[70000];
	struct dp_reass *r = mk(4, 64, 500);
	struct dp_pkt_view v;
	static uint8_t pkt[2000];
	uint32_t len;

	fill(data, sizeof(data), 1);
	/* v4: 20 + 65528 + 16 > 65535 */
	assert_int_equal(feed4(r, 1, 1, 20, data, 65528, 16, false, 0),
			 -DP_DROP_FRAG_TOO_BIG);
	/* v4: exactly 65535 is fine */
	assert_int_equal(feed4(r, 2, 1, 20, data, 65512, 3, false, 0), 0);
	assert_int_equal(feed4(r, 2, 1, 20, data, 0, 8, true, 0), 0);
	/* ... but options in the first fragment push it over */
	assert_int_equal(feed4(r, 3, 1, 20, data, 65512, 3, false, 0), 0);
	assert_int_equal(feed4(r, 3, 1, 32, data, 0, 8, true, 0),
			 -DP_DROP_FRAG_TOO_BIG);
	/* v6: payload 65528 + 16 > 65535 */
	assert_int_equal(feed6(r, 4, 1, false, data, 65528, 16, false, 0),
			 -DP_DROP_FRAG_TOO_BIG);
	/* v6: payload 8 + 65528 with a hop-by-hop header > 65535 */
	assert_int_equal(feed6(r, 5, 1, false, data, 65520, 8, false, 0), 0);
	assert_int_equal(feed6(r, 5, 1, true, data, 0, 8, true, 0),
			 -DP_DROP_FRAG_TOO_BIG);
	assert_int_equal(dp_reass_in_flight(r), 1);

	/* an out buffer too small drops the completed datagram */
	len = frag4(pkt, 9, 1, 20, data, 0, 800, true);
	view_of(pkt, len, L2, &v);
	assert_int_equal(dp_reass_feed(r, pkt, &v, 0, out, 100), 0);
	len = frag4(pkt, 9, 1, 20, data, 800, 80, false);
	view_of(pkt, len, L2, &v);
	assert_int_equal(dp_reass_feed(r, pkt, &v, 0, out, 899),
			 -DP_DROP_FRAG_TOO_BIG);
	assert_int_equal(dp_reass_in_flight(r), 1);
	dp_reass_destroy(r);
}

/* A maximal datagram in full: v4 total 65535, v6 payload 65535. */
static void test_max_size(void **s)
{
	static uint8_t data[70000];
	struct dp_reass *r = mk(2, 64, 500);
	struct frag f[64];
	unsigned k, i;
	int rc = 0;

	fill(data, sizeof(data), 5);
	k = cut(f, 65535 - 20, 1480);
	for (i = 0; i < k; i++)
		rc = feed4(r, 3, 1, 20, data, f[k - 1 - i].off, f[k - 1 - i].n,
			   f[k - 1 - i].more, 0);
	check4(rc, 20, data, 65535 - 20);
	k = cut(f, 65535 - 8, 1232);
	for (i = 0; i < k; i++)
		rc = feed6(r, 3, 1, true, data, f[i].off, f[i].n, f[i].more, 0);
	check6(rc, true, data, 65535 - 8);
	dp_reass_destroy(r);
}

/* The missing piece of datagram i of test_many_in_flight. */
static void finish(struct dp_reass *r, unsigned i, const uint8_t *data,
		   unsigned left)
{
	int rc;

	if (i & 1) {
		rc = feed6(r, i, (uint8_t)(i >> 4), false, data, 512, 40, false,
			   1000);
		check6(rc, false, data, 552);
	} else {
		rc = feed4(r, (uint16_t)i, (uint8_t)(i >> 4), 20, data, 0, 512,
			   true, 1000);
		check4(rc, 20, data, 612);
	}
	assert_int_equal(dp_reass_in_flight(r), left);
}

/* Many datagrams in flight at once, interleaved: hash chains and the
 * age list stay consistent as contexts come and go in any order. */
static void test_many_in_flight(void **s)
{
	static uint8_t data[2000];
	struct dp_reass *r = mk(300, 4, 500);
	unsigned i, left = 300;
	int rc;

	fill(data, sizeof(data), 21);
	for (i = 0; i < 300; i++) {
		rc = i & 1 ? feed6(r, i, (uint8_t)(i >> 4), false, data, 0, 512,
				   true, i) :
			     feed4(r, (uint16_t)i, (uint8_t)(i >> 4), 20, data,
				   512, 100, false, i);
		assert_int_equal(rc, 0);
	}
	assert_int_equal(dp_reass_in_flight(r), 300);
	assert_int_equal(feed4(r, 999, 1, 20, data, 0, 8, true, 0),
			 -DP_DROP_FRAG_TABLE_FULL);
	/* complete every third, from the newest down, then the rest,
	 * oldest first */
	for (i = 300; i-- > 0;)
		if (i % 3 == 0)
			finish(r, i, data, --left);
	for (i = 0; i < 300; i++)
		if (i % 3)
			finish(r, i, data, --left);
	assert_int_equal(dp_reass_in_flight(r), 0);
	assert_int_equal(dp_reass_expire(r, 1000 * MS), 0);
	dp_reass_destroy(r);
}

static void test_atomic_and_bad_views(void **s)
{
	static uint8_t data[200], pkt[400];
	struct dp_reass *r = mk(2, 4, 500);
	struct dp_pkt_view v;
	uint32_t len;

	fill(data, sizeof(data), 1);
	/* v6 atomic fragment: rebuilt alone, the table is not touched */
	assert_int_equal(feed4(r, 1, 1, 20, data, 0, 8, true, 0), 0);
	check6(feed6(r, 1, 1, true, data, 0, 100, false, 0), true, data, 100);
	assert_int_equal(dp_reass_in_flight(r), 1);
	/* ... even when a datagram with its key is in flight */
	assert_int_equal(feed6(r, 3, 1, true, data, 0, 8, true, 0), 0);
	check6(feed6(r, 3, 1, true, data, 0, 64, false, 0), true, data, 64);
	assert_int_equal(dp_reass_in_flight(r), 2);
	check6(feed6(r, 3, 1, true, data, 8, 8, false, 0), true, data, 16);
	assert_int_equal(dp_reass_in_flight(r), 1);

	len = frag4(pkt, 2, 1, 20, data, 8, 16, true);
	view_of(pkt, len, L2, &v);
	v.flags = 0; /* not a fragment */
	assert_int_equal(dp_reass_feed(r, pkt, &v, 0, out, sizeof(out)),
			 -DP_DROP_FRAG_BAD);
	view_of(pkt, len, L2, &v);
	v.l3_len = (uint16_t)(len - L2 + 1); /* past the buffer */
	assert_int_equal(dp_reass_feed(r, pkt, &v, 0, out, sizeof(out)),
			 -DP_DROP_FRAG_BAD);
	view_of(pkt, len, L2, &v);
	v.frag_off = 3;
	assert_int_equal(dp_reass_feed(r, pkt, &v, 0, out, sizeof(out)),
			 -DP_DROP_FRAG_BAD);
	len = frag6(pkt, 2, 1, false, data, 8, 16, true);
	view_of(pkt, len, L2, &v);
	v.frag_hdr_off = (uint16_t)(L2 + 32); /* inside the base header */
	assert_int_equal(dp_reass_feed(r, pkt, &v, 0, out, sizeof(out)),
			 -DP_DROP_FRAG_BAD);
	/* v6 first fragment whose header chain does not reach the fragment
	 * header where the view says it is */
	len = frag6(pkt, 2, 1, false, data, 0, 16, true);
	view_of(pkt, len, L2, &v);
	pkt[L2 + 6] = 17;
	assert_int_equal(dp_reass_feed(r, pkt, &v, 0, out, sizeof(out)),
			 -DP_DROP_FRAG_BAD);
	assert_int_equal(dp_reass_in_flight(r), 1);
	assert_null(dp_reass_create(&(struct dp_reass_params){ 0, 4, 1 }));
	assert_null(dp_reass_create(&(struct dp_reass_params){ 4, 0, 1 }));
	dp_reass_destroy(r);
	dp_reass_destroy(NULL);
}

/* ---- split, then reassemble ---- */

struct collect {
	uint8_t buf[128][9216 + L2];
	uint32_t len[128];
	unsigned n;
	uint16_t mtu;
};

static struct collect col;

static void collect_emit(const uint8_t *frag, uint32_t len, void *arg)
{
	struct collect *c = arg;

	assert_true(len <= c->mtu);
	assert_true(c->n < 128);
	memset(c->buf[c->n], 0xee, L2);
	memcpy(c->buf[c->n] + L2, frag, len);
	c->len[c->n++] = len + L2;
}

static unsigned gcd(unsigned a, unsigned b)
{
	while (b) {
		unsigned t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* Feed the collected fragments (in a shuffled order) and compare. */
static void reassemble_collected(const uint8_t *ip, uint32_t len)
{
	struct dp_reass *r = mk(4, 128, 500);
	struct dp_pkt_view v;
	unsigned i, j, stride = 5;
	int rc = 0;

	while (col.n > 1 && gcd(col.n, stride) != 1)
		stride++;
	for (i = 0; i < col.n; i++) {
		j = col.n > 1 ? (i * stride + 1) % col.n : 0;
		view_of(col.buf[j], col.len[j], L2, &v);
		assert_true(v.flags & DP_PKT_F_FRAGMENT);
		/* every fragment but the last carries a multiple of 8 */
		if (v.frag_more)
			assert_int_equal((v.l3_off + v.l3_len - v.l4_off) % 8, 0);
		rc = dp_reass_feed(r, col.buf[j], &v, 0, out, sizeof(out));
		if (i + 1 < col.n)
			assert_int_equal(rc, 0);
	}
	assert_int_equal(rc, (int)len);
	if ((ip[0] >> 4) == 4) {
		assert_int_equal(csum(out, (out[0] & 15u) * 4u), 0);
		/* checksums differ only through the header fields that
		 * reassembly rewrote, which are equal here */
	}
	assert_memory_equal(out, ip, len);
	assert_int_equal(dp_reass_in_flight(r), 0);
	dp_reass_destroy(r);
}

static void test_split_v4(void **s)
{
	static const uint16_t mtus[] = { 68, 576, 1280, 1500, 9000, 9216 };
	static uint8_t ip[20000];
	uint32_t hl, len;
	unsigned i;
	int n;

	for (hl = 20; hl <= 32; hl += 12) {
		for (i = 0; i < sizeof(mtus) / sizeof(mtus[0]); i++) {
			len = mtus[i] < 2000 ? 4000 : 20000;
			fill(ip, sizeof(ip), 11);
			ip4_hdr(ip, hl, 4242, 1, (uint16_t)len, 0);
			col.n = 0;
			col.mtu = mtus[i];
			n = dp_frag_split(ip, len, mtus[i], 0, collect_emit,
					  &col);
			assert_int_equal(n, (int)col.n);
			assert_true(n > 1);
			if (hl > 20) {
				/* later fragments carry only the copied
				 * option: a 24-byte header */
				assert_int_equal(col.buf[1][L2], 0x46);
				assert_int_equal(col.buf[1][L2 + 20], 0x94);
				assert_int_equal(col.buf[1][L2 + 23], 0);
				assert_int_equal(col.buf[0][L2], 0x48);
			}
			for (unsigned j = 0; j < col.n; j++)
				assert_int_equal(csum(col.buf[j] + L2,
						      (col.buf[j][L2] & 15u) * 4u),
						 0);
			reassemble_collected(ip, len);
		}
	}
}

/* v6 with hop-by-hop, destination options, routing, destination
 * options, then UDP: the unfragmentable part ends after the routing
 * header. */
static uint32_t ip6_big(uint8_t *ip, uint32_t plen_data)
{
	uint32_t p = 40;

	fill(ip, 40 + 16 + 8 + 24 + 8 + plen_data, 13);
	ip[0] = 0x60; ip[1] = 0; ip[2] = 0; ip[3] = 0;
	ip[6] = 0;
	ip[7] = 64;
	ip[p] = 60; ip[p + 1] = 1; p += 16;  /* hop-by-hop, 16 bytes */
	ip[p] = 43; ip[p + 1] = 0; p += 8;   /* dst opts, 8 bytes */
	ip[p] = 60; ip[p + 1] = 2; p += 24;  /* routing, 24 bytes */
	ip[p] = 17; ip[p + 1] = 0; p += 8;   /* dst opts, 8 bytes */
	wr16(ip + 4, (uint16_t)(p - 40 + plen_data));
	return p + plen_data;
}

static void test_split_v6(void **s)
{
	static const uint16_t mtus[] = { 136, 1280, 1500, 9000, 9216 };
	static uint8_t ip[70000];
	uint32_t len;
	unsigned i;
	int n;

	for (i = 0; i < sizeof(mtus) / sizeof(mtus[0]); i++) {
		len = ip6_big(ip, mtus[i] < 2000 ? 5000 : 20000);
		col.n = 0;
		col.mtu = mtus[i];
		n = dp_frag_split(ip, len, mtus[i], 0x01020304u, collect_emit,
				  &col);
		assert_int_equal(n, (int)col.n);
		assert_true(n > 1);
		/* the fragment header follows the routing header */
		assert_int_equal(col.buf[0][L2 + 40 + 16 + 8], 44);
		assert_int_equal(col.buf[0][L2 + 88], 60);
		assert_int_equal(rd16(col.buf[n - 1] + L2 + 88 + 4), 0x0102);
		reassemble_collected(ip, len);
	}
	/* largest payload, at jumbo-frame MTU */
	len = ip6_big(ip, 65535 - 56);
	col.n = 0;
	col.mtu = 9216;
	n = dp_frag_split(ip, len, 9216, 7, collect_emit, &col);
	assert_int_equal(n, 8);
	reassemble_collected(ip, len);
}

static void count_emit(const uint8_t *frag, uint32_t len, void *arg)
{
	(*(unsigned *)arg)++;
}

static void test_split_df_and_limits(void **s)
{
	static uint8_t ip[3000];
	unsigned n = 0;

	fill(ip, sizeof(ip), 1);
	ip4_hdr(ip, 20, 1, 1, 3000, 0x4000);
	assert_int_equal(dp_frag_split(ip, 3000, 1500, 0, count_emit, &n),
			 -DP_DROP_TOO_BIG);
	assert_int_equal(n, 0);
	/* DF, but it fits: sent whole */
	assert_int_equal(dp_frag_split(ip, 3000, 3000, 0, count_emit, &n), 1);
	assert_int_equal(n, 1);
	/* an MTU with no room for 8 data bytes */
	ip4_hdr(ip, 32, 1, 1, 3000, 0);
	assert_int_equal(dp_frag_split(ip, 3000, 39, 0, count_emit, &n),
			 -DP_DROP_TOO_BIG);
	/* total length past the buffer */
	assert_int_equal(dp_frag_split(ip, 2000, 1500, 0, count_emit, &n),
			 -DP_DROP_IP4_BAD_TOTAL_LEN);
	/* v6 that is a fragment already */
	memset(ip, 0, 100);
	ip[0] = 0x60;
	ip[6] = 44;
	wr16(ip + 4, 2000);
	assert_int_equal(dp_frag_split(ip, 2040, 1280, 0, count_emit, &n),
			 -DP_DROP_FRAG_BAD);
	assert_int_equal(dp_frag_split(ip, 1, 1280, 0, count_emit, &n),
			 -DP_DROP_FRAG_BAD);
	assert_int_equal(n, 1);
}

/* A fragment re-fragmented keeps its offset and MF. */
static void test_split_fragment_v4(void **s)
{
	static uint8_t data[3000], ip[2000];
	struct dp_reass *r = mk(2, 16, 500);
	struct dp_pkt_view v;
	unsigned i;
	int rc;

	fill(data, sizeof(data), 4);
	/* middle piece [1600, 2800) of a 3000-byte datagram, MF set */
	ip4_hdr(ip, 20, 8, 1, 1220, 0x2000 | 200);
	memcpy(ip + 20, data + 1600, 1200);
	col.n = 0;
	col.mtu = 576;
	assert_int_equal(dp_frag_split(ip, 1220, 576, 0, collect_emit, &col),
			 3);
	assert_int_equal(feed4(r, 8, 1, 20, data, 0, 1600, true, 0), 0);
	for (i = 0; i < col.n; i++) {
		view_of(col.buf[i], col.len[i], L2, &v);
		assert_true(v.frag_more);
		assert_int_equal(dp_reass_feed(r, col.buf[i], &v, 0, out,
					       sizeof(out)), 0);
	}
	rc = feed4(r, 8, 1, 20, data, 2800, 200, false, 0);
	check4(rc, 20, data, 3000);
	dp_reass_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_orders),
		cmocka_unit_test(test_v4_options_orders),
		cmocka_unit_test(test_v6_orders),
		cmocka_unit_test(test_v6_hbh_orders),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_overlaps),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_max_size),
		cmocka_unit_test(test_many_in_flight),
		cmocka_unit_test(test_atomic_and_bad_views),
		cmocka_unit_test(test_split_v4),
		cmocka_unit_test(test_split_v6),
		cmocka_unit_test(test_split_df_and_limits),
		cmocka_unit_test(test_split_fragment_v4),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
