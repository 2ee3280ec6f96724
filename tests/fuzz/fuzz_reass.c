/* libFuzzer target for reassembly and fragmentation.
 *
 * Byte 0 picks the mode (bit 0) and the table size (bits 1-3).
 *
 * Mode 0, fragment sequences: byte 1 sets max_fragments (bits 0-5) and a
 * small output buffer (bits 6-7 == 3); then records, each a control
 * byte, a 2-byte big-endian length and that many bytes. Control bits:
 * 0 v6, 1 more fragments, 2-3 id, 4 source, 5 v4 options / v6
 * hop-by-hop header, 6 raw, 7 advance the clock 100 ms and expire.
 * A normal record is a 2-byte fragment offset (in 8-byte units) and the
 * data; it is built into a well-formed fragment. A raw record is
 * 12 bytes of view fields taken as they are, then the packet bytes: the
 * view checks must hold whatever the parser hands over.
 *
 * Mode 1, round trip: bytes 1-2 are the MTU, the rest an IP datagram
 * (its length fields are made consistent). If dp_frag_split accepts it,
 * reassembling its fragments must give the datagram back exactly.
 *
 * dp_parse is not used: views are filled by a small parser here, so the
 * target does not depend on another module's state. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dp_reass.h"

#define L2 14

static uint8_t pkt[70000 + 64];
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

/* View of a well-formed fragment produced here or by dp_frag_split.
 * Returns false if it is not a fragment. */
static bool view_of(const uint8_t *b, uint32_t len, struct dp_pkt_view *v)
{
	const uint8_t *ip = b + L2;

	memset(v, 0, sizeof(*v));
	v->len = len;
	v->l3_off = L2;
	if ((ip[0] >> 4) == 4) {
		uint32_t hl = (ip[0] & 15u) * 4u, ff = rd16(ip + 6), a, c;

		v->ip_version = 4;
		v->l3_len = rd16(ip + 2);
		v->l4_off = (uint16_t)(L2 + hl);
		v->l4_proto = ip[9];
		v->frag_id = rd16(ip + 4);
		v->frag_off = (uint16_t)((ff & 0x1fff) * 8);
		v->frag_more = ff & 0x2000;
		memcpy(&a, ip + 12, 4);
		memcpy(&c, ip + 16, 4);
		dp_addr_from_v4(&v->src, a);
		dp_addr_from_v4(&v->dst, c);
		v->flags = v->frag_more || v->frag_off ? DP_PKT_F_FRAGMENT : 0;
		return v->flags;
	}
	uint32_t pos = 40, end = 40u + rd16(ip + 4);
	uint8_t nh = ip[6];

	v->ip_version = 6;
	v->l3_len = (uint16_t)end;
	memcpy(v->src.b, ip + 8, 16);
	memcpy(v->dst.b, ip + 24, 16);
	while ((nh == 0 || nh == 43 || nh == 60) && pos + 8 <= end) {
		nh = ip[pos];
		pos += (ip[pos + 1] + 1u) * 8u;
	}
	if (nh != 44 || pos + 8 > end)
		return false;
	v->flags = DP_PKT_F_FRAGMENT;
	v->frag_hdr_off = (uint16_t)(L2 + pos);
	v->l4_off = (uint16_t)(L2 + pos + 8);
	v->l4_proto = ip[pos];
	v->frag_off = rd16(ip + pos + 2) & 0xfff8;
	v->frag_more = ip[pos + 3] & 1;
	v->frag_id = (uint32_t)ip[pos + 4] << 24 | (uint32_t)ip[pos + 5] << 16 |
		     (uint32_t)ip[pos + 6] << 8 | ip[pos + 7];
	return true;
}

/* Build a well-formed fragment into pkt; returns its buffer length. */
static uint32_t build(uint8_t ctl, const uint8_t *d, uint32_t n)
{
	uint16_t off = n >= 2 ? (uint16_t)(rd16(d) & 0x1fff) : 0;
	bool more = ctl & 2, ext = ctl & 32;
	uint8_t *ip = pkt + L2;
	uint32_t hl;

	d += n >= 2 ? 2 : n;
	n -= n >= 2 ? 2 : n;
	memset(pkt, 0, L2 + 64);
	if (!(ctl & 1)) {
		hl = ext ? 28 : 20;
		if (hl + n > 65535)
			n = 65535 - hl;
		ip[0] = (uint8_t)(0x40 | hl / 4);
		wr16(ip + 2, (uint16_t)(hl + n));
		wr16(ip + 4, (uint16_t)(ctl >> 2 & 3));
		wr16(ip + 6, (uint16_t)((more ? 0x2000 : 0) | off));
		ip[8] = 64;
		ip[9] = 17;
		ip[12] = 10; ip[15] = (uint8_t)(1 + (ctl >> 4 & 1));
		ip[16] = 10; ip[19] = 2;
		if (ext) {
			ip[20] = 0x94; ip[21] = 4; /* router alert */
			ip[24] = 1; /* nop, then end of options */
		}
		wr16(ip + 10, csum(ip, hl));
	} else {
		uint8_t *fh;

		hl = ext ? 48 : 40;
		if (hl + 8 + n > 65535 + 40)
			n = 65535 + 40 - hl - 8;
		ip[0] = 0x60;
		ip[7] = 64;
		ip[8] = 0x20; ip[23] = (uint8_t)(1 + (ctl >> 4 & 1));
		ip[24] = 0x20; ip[39] = 2;
		ip[6] = ext ? 0 : 44;
		if (ext)
			ip[40] = 44; /* hop-by-hop of 8 bytes: padding */
		fh = ip + hl;
		fh[0] = 17;
		wr16(fh + 2, (uint16_t)(off << 3 | more));
		fh[7] = (uint8_t)(ctl >> 2 & 3);
		wr16(ip + 4, (uint16_t)(hl - 40 + 8 + n));
		hl += 8;
	}
	memcpy(ip + hl, d, n);
	return L2 + hl + n;
}

static void check_out(int rc, uint32_t cap)
{
	if (rc < 0) {
		if (-rc >= DP_DROP_MAX)
			abort();
		return;
	}
	if (rc == 0)
		return;
	if ((uint32_t)rc > cap || rc < 20)
		abort();
	if ((out[0] >> 4) == 4) {
		if (rd16(out + 2) != rc || (rd16(out + 6) & 0x3fff) ||
		    csum(out, (out[0] & 15u) * 4u))
			abort();
	} else if ((out[0] >> 4) == 6) {
		if (rc < 40 || rd16(out + 4) + 40 != rc)
			abort();
	} else {
		abort();
	}
}

static void sequences(const uint8_t *d, size_t n, uint32_t dgs)
{
	struct dp_reass_params p = { dgs, 1 + (n ? d[0] % 64u : 0), 100 };
	uint32_t cap = n && (d[0] >> 6) == 3 ? 1000 : sizeof(out);
	struct dp_reass *r = dp_reass_create(&p);
	uint64_t now = 1;
	size_t i = n ? 1 : 0;

	if (!r)
		abort();
	while (i + 3 <= n) {
		uint8_t ctl = d[i];
		uint32_t rl = rd16(d + i + 1), len;
		struct dp_pkt_view v;
		int rc;

		i += 3;
		if (rl > n - i)
			rl = (uint32_t)(n - i);
		if (ctl & 128) {
			now += 100000000ull;
			if (dp_reass_expire(r, now) > dgs)
				abort();
		}
		if (ctl & 64) {
			const uint8_t *f = d + i;

			if (rl < 12) {
				i += rl;
				continue;
			}
			memset(&v, 0, sizeof(v));
			len = rl - 12;
			memcpy(pkt, f + 12, len);
			v.len = len;
			v.flags = DP_PKT_F_FRAGMENT;
			v.l3_off = f[0];
			v.l4_off = rd16(f + 1);
			v.l3_len = rd16(f + 3);
			v.frag_hdr_off = rd16(f + 5);
			v.frag_off = rd16(f + 7);
			v.frag_more = f[9] & 1;
			v.ip_version = f[10];
			v.l4_proto = f[11];
			v.frag_id = f[9] >> 1;
		} else {
			len = build(ctl, d + i, rl);
			if (!view_of(pkt, len, &v))
				v.flags = DP_PKT_F_FRAGMENT; /* feed anyway */
		}
		i += rl;
		/* an exact-size copy, so that ASan sees any read past it */
		uint8_t *b = malloc(len ? len : 1);

		if (!b)
			abort();
		memcpy(b, pkt, len);
		rc = dp_reass_feed(r, b, &v, now, out, cap);
		free(b);
		check_out(rc, cap);
		if (dp_reass_in_flight(r) > dgs)
			abort();
	}
	dp_reass_destroy(r);
}

struct frags {
	uint8_t *buf;  /* fragments back to back, each after L2 bytes */
	uint32_t used;
	uint32_t off[8192];
	uint32_t len[8192];
	unsigned n;
	uint32_t mtu;
	bool overflow;
};

static struct frags fr;

static void emit(const uint8_t *f, uint32_t len, void *arg)
{
	struct frags *c = arg;

	if (len > c->mtu || len < 20)
		abort();
	if (c->n >= 8192 || c->used + L2 + len > (4u << 20)) {
		c->overflow = true;
		return;
	}
	memset(c->buf + c->used, 0, L2);
	memcpy(c->buf + c->used + L2, f, len);
	c->off[c->n] = c->used;
	c->len[c->n++] = L2 + len;
	c->used += L2 + len;
}

static void round_trip(const uint8_t *d, size_t n, uint32_t dgs)
{
	struct dp_reass_params p = { dgs, 8192, 100 };
	struct dp_reass *r;
	uint16_t mtu;
	uint32_t len;
	unsigned i;
	int rc, got = 0;

	if (n < 3 + 20 || n - 3 > 65535)
		return;
	mtu = rd16(d);
	memcpy(pkt, d + 2, n - 2);
	len = (uint32_t)n - 2;
	if ((pkt[0] >> 4) == 4) {
		uint32_t hl = (pkt[0] & 15u) * 4u;

		if (hl < 20 || hl > len)
			return;
		wr16(pkt + 2, (uint16_t)len);
		/* a whole datagram, so that it can come back equal */
		wr16(pkt + 6, rd16(pkt + 6) & 0xc000);
		wr16(pkt + 10, 0);
		wr16(pkt + 10, csum(pkt, hl));
	} else if ((pkt[0] >> 4) == 6) {
		if (len < 40)
			return;
		wr16(pkt + 4, (uint16_t)(len - 40));
	}
	if (!fr.buf && !(fr.buf = malloc(4u << 20)))
		abort();
	fr.used = 0;
	fr.n = 0;
	fr.mtu = mtu;
	fr.overflow = false;
	rc = dp_frag_split(pkt, len, mtu, 0x55aa, emit, &fr);
	if (rc < 0) {
		if (-rc >= DP_DROP_MAX || fr.n)
			abort();
		return;
	}
	if (fr.overflow)
		return;
	if ((unsigned)rc != fr.n || fr.n == 0)
		abort();
	if (fr.n == 1) {
		if (fr.len[0] - L2 > len ||
		    memcmp(fr.buf + fr.off[0] + L2, pkt, fr.len[0] - L2))
			abort();
		return;
	}
	r = dp_reass_create(&p);
	if (!r)
		abort();
	/* last fragment first, then the rest in order */
	for (i = 0; i < fr.n; i++) {
		unsigned j = (i + fr.n - 1) % fr.n;
		struct dp_pkt_view v;

		if (!view_of(fr.buf + fr.off[j], fr.len[j], &v))
			abort();
		rc = dp_reass_feed(r, fr.buf + fr.off[j], &v, 1, out,
				   sizeof(out));
		if (i + 1 < fr.n ? rc != 0 : rc <= 0)
			abort();
		got = rc;
	}
	if ((uint32_t)got != len || memcmp(out, pkt, len))
		abort();
	dp_reass_destroy(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t dgs;

	if (size < 1)
		return 0;
	dgs = 1 + (data[0] >> 1 & 7);
	if (data[0] & 1)
		round_trip(data + 1, size - 1, dgs);
	else
		sequences(data + 1, size - 1, dgs);
	return 0;
}
