/* IPv4/IPv6 reassembly and fragmentation.
 *
 * A table of max_datagrams contexts, all allocated at create time. Each
 * context owns one buffer of DP_REASS_BUF bytes: fragment data goes at
 * its offset from the front, the header of the first fragment (v4 header
 * with options, or v6 unfragmentable part) at the back. The 65535-byte
 * limits make the two meet at worst, never cross (see reass_limit).
 * Lookup is a hash table of index chains; contexts in use sit on a list
 * ordered by creation, so expiry pops from its head. Per fragment cost is
 * one hash lookup plus a scan of that datagram's own fragment ranges
 * (bounded by max_fragments), whatever the number of datagrams in flight.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "dp_parse.h"
#include "dp_reass.h"

/* v6: 40-byte base header is not counted in the payload length */
#define DP_REASS_BUF (DP_REASS_MAX_DATAGRAM + 40u)
#define DP_REASS_NONE UINT32_MAX
#define DP_FRAG_MAX_MTU 9216u

#define IP4_DF 0x4000u
#define IP4_MF 0x2000u
#define IP4_OFF_MASK 0x1fffu

#define NH_HOPOPTS 0
#define NH_ROUTING 43
#define NH_FRAGMENT 44
#define NH_AH 51
#define NH_DSTOPTS 60

struct dp_reass_range {
	uint32_t off;
	uint32_t end;
};

struct dp_reass_dg {
	union dp_addr src;
	union dp_addr dst;
	uint32_t id;
	uint8_t proto;
	uint8_t version;
	bool in_use;
	bool has_first;
	bool has_last;
	uint8_t nh_value;     /* v6: next header from the offset-0 fragment */
	uint16_t hdr_len;     /* header bytes at the back of buf */
	uint16_t nh_patch;    /* v6: offset in the header of the byte that
				 named the fragment header */
	uint32_t total;       /* data length, once the last fragment is seen */
	uint32_t max_end;     /* highest data end received */
	uint32_t received;    /* data bytes held (ranges never overlap) */
	uint32_t nfrags;
	uint64_t born_ns;
	uint32_t hnext;       /* hash chain */
	uint32_t prev, next;  /* age list when in use, free list otherwise */
	struct dp_reass_range *ranges;
	uint8_t *buf;
};

struct dp_reass {
	struct dp_reass_params p;
	uint64_t timeout_ns;
	uint32_t hash_mask;
	uint32_t hash_seed;
	uint32_t *buckets;
	struct dp_reass_dg *dgs;
	struct dp_reass_range *ranges;
	uint8_t *bufs;
	uint32_t free_head;
	uint32_t age_head, age_tail;
	uint32_t in_flight;
	unsigned expired_pending; /* expired by feed, reported by expire */
};

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void ip4_set_csum(uint8_t *h, uint32_t hl)
{
	wr16(h + 10, 0);
	wr16(h + 10, dp_csum_fold(dp_csum_partial(h, hl, 0)));
}

struct dp_reass *dp_reass_create(const struct dp_reass_params *p)
{
	struct dp_reass *r;
	uint32_t nb, i;

	if (!p || p->max_datagrams == 0 || p->max_datagrams > (1u << 20) ||
	    p->max_fragments == 0 || p->max_fragments > 65536) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		goto err_nomem;
	r->p = *p;
	r->timeout_ns = (uint64_t)p->timeout_ms * 1000000ull;
	for (nb = 16; nb < 2 * p->max_datagrams; nb <<= 1)
		;
	r->hash_mask = nb - 1;
	if (getrandom(&r->hash_seed, sizeof(r->hash_seed), GRND_NONBLOCK) !=
	    sizeof(r->hash_seed))
		r->hash_seed = 0x9e3779b9u;
	r->buckets = malloc(nb * sizeof(*r->buckets));
	if (!r->buckets)
		goto err_free_r;
	r->dgs = calloc(p->max_datagrams, sizeof(*r->dgs));
	if (!r->dgs)
		goto err_free_buckets;
	r->ranges = calloc((size_t)p->max_datagrams * p->max_fragments,
			   sizeof(*r->ranges));
	if (!r->ranges)
		goto err_free_dgs;
	/* untouched pages are not committed until a datagram uses them */
	r->bufs = malloc((size_t)p->max_datagrams * DP_REASS_BUF);
	if (!r->bufs)
		goto err_free_ranges;

	for (i = 0; i < nb; i++)
		r->buckets[i] = DP_REASS_NONE;
	for (i = 0; i < p->max_datagrams; i++) {
		struct dp_reass_dg *d = &r->dgs[i];

		d->ranges = r->ranges + (size_t)i * p->max_fragments;
		d->buf = r->bufs + (size_t)i * DP_REASS_BUF;
		d->next = i + 1 < p->max_datagrams ? i + 1 : DP_REASS_NONE;
	}
	r->free_head = 0;
	r->age_head = r->age_tail = DP_REASS_NONE;
	return r;

err_free_ranges:
	free(r->ranges);
err_free_dgs:
	free(r->dgs);
err_free_buckets:
	free(r->buckets);
err_free_r:
	free(r);
err_nomem:
	errno = ENOMEM;
	return NULL;
}

void dp_reass_destroy(struct dp_reass *r)
{
	if (!r)
		return;
	free(r->bufs);
	free(r->ranges);
	free(r->dgs);
	free(r->buckets);
	free(r);
}

unsigned dp_reass_in_flight(const struct dp_reass *r)
{
	return r ? r->in_flight : 0;
}

static uint32_t reass_hash(const struct dp_reass *r, const union dp_addr *src,
			   const union dp_addr *dst, uint32_t id,
			   uint8_t proto, uint8_t version)
{
	uint64_t h = r->hash_seed;
	int i;

	for (i = 0; i < 2; i++) {
		h = (h ^ src->q[i]) * 0x9e3779b97f4a7c15ull;
		h = (h ^ dst->q[i]) * 0x9e3779b97f4a7c15ull;
	}
	h = (h ^ ((uint64_t)id << 16 | (uint64_t)proto << 8 | version)) *
	    0x9e3779b97f4a7c15ull;
	return (uint32_t)(h >> 32) & r->hash_mask;
}

static uint32_t reass_lookup(const struct dp_reass *r, uint32_t b,
			     const struct dp_pkt_view *v)
{
	uint32_t i;

	for (i = r->buckets[b]; i != DP_REASS_NONE; i = r->dgs[i].hnext) {
		const struct dp_reass_dg *d = &r->dgs[i];

		if (d->id == v->frag_id && d->proto == v->l4_proto &&
		    d->version == v->ip_version &&
		    dp_addr_eq(&d->src, &v->src) && dp_addr_eq(&d->dst, &v->dst))
			return i;
	}
	return DP_REASS_NONE;
}

static void reass_free(struct dp_reass *r, uint32_t i)
{
	struct dp_reass_dg *d = &r->dgs[i];
	uint32_t b = reass_hash(r, &d->src, &d->dst, d->id, d->proto,
				d->version);
	uint32_t *pp;

	for (pp = &r->buckets[b]; *pp != DP_REASS_NONE;
	     pp = &r->dgs[*pp].hnext) {
		if (*pp == i) {
			*pp = d->hnext;
			break;
		}
	}
	if (d->prev != DP_REASS_NONE)
		r->dgs[d->prev].next = d->next;
	else
		r->age_head = d->next;
	if (d->next != DP_REASS_NONE)
		r->dgs[d->next].prev = d->prev;
	else
		r->age_tail = d->prev;
	d->in_use = false;
	d->next = r->free_head;
	r->free_head = i;
	r->in_flight--;
}

static uint32_t reass_alloc(struct dp_reass *r, uint32_t b,
			    const struct dp_pkt_view *v, uint64_t now_ns)
{
	uint32_t i = r->free_head;
	struct dp_reass_dg *d;

	if (i == DP_REASS_NONE)
		return i;
	d = &r->dgs[i];
	r->free_head = d->next;
	d->src = v->src;
	d->dst = v->dst;
	d->id = v->frag_id;
	d->proto = v->l4_proto;
	d->version = v->ip_version;
	d->in_use = true;
	d->has_first = d->has_last = false;
	d->nh_value = 0;
	d->hdr_len = 0;
	d->nh_patch = 0;
	d->total = d->max_end = d->received = d->nfrags = 0;
	d->born_ns = now_ns;
	d->hnext = r->buckets[b];
	r->buckets[b] = i;
	d->prev = r->age_tail;
	d->next = DP_REASS_NONE;
	if (r->age_tail != DP_REASS_NONE)
		r->dgs[r->age_tail].next = i;
	else
		r->age_head = i;
	r->age_tail = i;
	r->in_flight++;
	return i;
}

static unsigned reass_expire(struct dp_reass *r, uint64_t now_ns)
{
	unsigned n = 0;

	while (r->age_head != DP_REASS_NONE) {
		struct dp_reass_dg *d = &r->dgs[r->age_head];

		/* a clock that went back is not a reason to drop */
		if (now_ns <= d->born_ns || now_ns - d->born_ns <= r->timeout_ns)
			break;
		reass_free(r, r->age_head);
		n++;
	}
	return n;
}

unsigned dp_reass_expire(struct dp_reass *r, uint64_t now_ns)
{
	unsigned n;

	if (!r)
		return 0;
	n = reass_expire(r, now_ns) + r->expired_pending;
	r->expired_pending = 0;
	return n;
}

/* Largest data end the datagram may reach given its header length. */
static uint32_t reass_limit(uint8_t version, uint32_t hdr_len)
{
	if (version == 4)
		return DP_REASS_MAX_DATAGRAM - hdr_len;
	/* v6 payload = (unfragmentable part - 40) + data <= 65535 */
	return DP_REASS_MAX_DATAGRAM + 40 - hdr_len;
}

/* v6: find the next-header byte in the unfragmentable part hdr[0..len)
 * that names the fragment header, by walking from the base header. */
static int ip6_find_frag_nh(const uint8_t *hdr, uint32_t len, uint16_t *patch)
{
	uint32_t pos = 40, prev = 6;
	uint8_t nh = hdr[6];

	while (pos < len) {
		uint32_t hl;

		switch (nh) {
		case NH_HOPOPTS:
		case NH_ROUTING:
		case NH_DSTOPTS:
		case 135: /* mobility */
		case 139: /* HIP */
		case 140: /* shim6 */
		case 253: case 254: /* experiments */
			if (pos + 2 > len)
				return -DP_DROP_FRAG_BAD;
			hl = (hdr[pos + 1] + 1u) * 8u;
			break;
		case NH_AH:
			if (pos + 2 > len)
				return -DP_DROP_FRAG_BAD;
			hl = (hdr[pos + 1] + 2u) * 4u;
			break;
		default:
			return -DP_DROP_FRAG_BAD;
		}
		prev = pos;
		nh = hdr[pos];
		pos += hl;
	}
	if (pos != len || nh != NH_FRAGMENT)
		return -DP_DROP_FRAG_BAD;
	*patch = (uint16_t)prev;
	return 0;
}

/* Check what we rely on in a parsed view; the parser should never give
 * anything else, but a bad view must not make us read out of bounds. */
static int reass_check_view(const uint8_t *pkt, const struct dp_pkt_view *v,
			    uint32_t *data_off, uint32_t *data_len,
			    uint32_t *hdr_len)
{
	uint32_t l3_end = (uint32_t)v->l3_off + v->l3_len;

	if (!pkt || !(v->flags & DP_PKT_F_FRAGMENT) || l3_end > v->len ||
	    v->l4_off < v->l3_off || v->l4_off > l3_end)
		return -DP_DROP_FRAG_BAD;
	if (v->ip_version == 4) {
		uint32_t hl = (uint32_t)v->l4_off - v->l3_off;

		if (hl < 20 || hl > 60 || hl & 3 ||
		    (pkt[v->l3_off] >> 4) != 4 ||
		    (pkt[v->l3_off] & 0xf) * 4u != hl || v->frag_id > 0xffff)
			return -DP_DROP_FRAG_BAD;
		*hdr_len = hl;
	} else if (v->ip_version == 6) {
		if (v->frag_hdr_off < v->l3_off + 40u ||
		    v->frag_hdr_off + 8u != v->l4_off ||
		    (pkt[v->l3_off] >> 4) != 6)
			return -DP_DROP_FRAG_BAD;
		*hdr_len = (uint32_t)v->frag_hdr_off - v->l3_off;
	} else {
		return -DP_DROP_FRAG_BAD;
	}
	if (v->frag_off & 7)
		return -DP_DROP_FRAG_BAD;
	*data_off = v->l4_off;
	*data_len = l3_end - v->l4_off;
	return 0;
}

/* Write the datagram whose header is hdr[0..hl) and data data[0..n) to
 * out; returns its length or a negative drop reason. */
static int reass_build(uint8_t version, const uint8_t *hdr, uint32_t hl,
		       uint16_t nh_patch, uint8_t nh_value,
		       const uint8_t *data, uint32_t n, uint8_t *out,
		       uint32_t cap)
{
	uint32_t len = hl + n;

	if (!out || len > cap)
		return -DP_DROP_FRAG_TOO_BIG;
	memmove(out, hdr, hl);
	memmove(out + hl, data, n);
	if (version == 4) {
		/* keep DF and the reserved bit; clear MF and the offset */
		wr16(out + 6, rd16(out + 6) & ~(IP4_MF | IP4_OFF_MASK));
		wr16(out + 2, (uint16_t)len);
		ip4_set_csum(out, hl);
	} else {
		out[nh_patch] = nh_value;
		wr16(out + 4, (uint16_t)(len - 40));
	}
	return (int)len;
}

/* A fragment that is a whole datagram (offset 0, no more fragments: a
 * v6 atomic fragment) is rebuilt alone, never mixed with others
 * (RFC 6946). */
static int reass_atomic(const uint8_t *pkt, const struct dp_pkt_view *v,
			uint32_t data_off, uint32_t data_len, uint32_t hl,
			uint8_t *out, uint32_t cap)
{
	const uint8_t *hdr = pkt + v->l3_off;
	uint16_t patch = 0;
	uint8_t nh = 0;
	int rc;

	if (data_len > reass_limit(v->ip_version, hl))
		return -DP_DROP_FRAG_TOO_BIG;
	if (v->ip_version == 6) {
		rc = ip6_find_frag_nh(hdr, hl, &patch);
		if (rc < 0)
			return rc;
		nh = pkt[v->frag_hdr_off];
	}
	return reass_build(v->ip_version, hdr, hl, patch, nh,
			   pkt + data_off, data_len, out, cap);
}

/* Add one fragment to datagram d; returns 1 when complete, 0 when not,
 * or a negative drop reason. */
static int reass_add(struct dp_reass *r, struct dp_reass_dg *d,
		     const uint8_t *pkt, const struct dp_pkt_view *v,
		     uint32_t data_off, uint32_t len, uint32_t hl)
{
	uint32_t off = v->frag_off, end = off + len;
	uint32_t limit = d->has_first ? reass_limit(d->version, d->hdr_len) :
			 reass_limit(d->version, d->version == 4 ? 20 : 40);
	bool dup = false;
	uint32_t i;
	int rc;

	if (v->frag_more) {
		if (len == 0 || len & 7)
			return -DP_DROP_FRAG_BAD;
		if (d->has_last && end > d->total)
			return -DP_DROP_FRAG_BAD;
	} else {
		if (d->has_last && end != d->total)
			return -DP_DROP_FRAG_BAD;
		if (d->max_end > end)
			return -DP_DROP_FRAG_BAD;
	}
	if (end > limit)
		return -DP_DROP_FRAG_TOO_BIG;

	for (i = 0; i < d->nfrags; i++) {
		const struct dp_reass_range *g = &d->ranges[i];

		if (g->off == off && g->end == end) {
			dup = true;
			break;
		}
		if (off < g->end && g->off < end)
			return -DP_DROP_FRAG_OVERLAP;
		/* an empty last fragment at a boundary overlaps nothing */
	}

	if (!dup) {
		if (d->nfrags >= r->p.max_fragments)
			return -DP_DROP_FRAG_TOO_MANY;
		if (off == 0) {
			const uint8_t *hdr = pkt + v->l3_off;
			uint8_t *dst;

			if (end > reass_limit(d->version, hl) ||
			    d->max_end > reass_limit(d->version, hl))
				return -DP_DROP_FRAG_TOO_BIG;
			if (d->version == 6) {
				rc = ip6_find_frag_nh(hdr, hl, &d->nh_patch);
				if (rc < 0)
					return rc;
				d->nh_value = pkt[v->frag_hdr_off];
			}
			/* cannot meet the data: max_end <= DP_REASS_BUF - hl */
			dst = d->buf + DP_REASS_BUF - hl;
			memcpy(dst, hdr, hl);
			d->hdr_len = (uint16_t)hl;
			d->has_first = true;
		}
		memcpy(d->buf + off, pkt + data_off, len);
		d->ranges[d->nfrags].off = off;
		d->ranges[d->nfrags].end = end;
		d->nfrags++;
		d->received += len;
		if (end > d->max_end)
			d->max_end = end;
	}
	if (!v->frag_more) {
		d->has_last = true;
		d->total = end;
	}
	return d->has_first && d->has_last && d->received == d->total;
}

int dp_reass_feed(struct dp_reass *r, const uint8_t *pkt,
		  const struct dp_pkt_view *v, uint64_t now_ns,
		  uint8_t *out, uint32_t cap)
{
	uint32_t data_off, data_len, hl, b, i;
	struct dp_reass_dg *d;
	int rc;

	if (!r || !v)
		return -DP_DROP_FRAG_BAD;
	rc = reass_check_view(pkt, v, &data_off, &data_len, &hl);
	if (rc < 0)
		return rc;
	if (v->frag_off == 0 && !v->frag_more)
		return reass_atomic(pkt, v, data_off, data_len, hl, out, cap);

	b = reass_hash(r, &v->src, &v->dst, v->frag_id, v->l4_proto,
		       v->ip_version);
	i = reass_lookup(r, b, v);
	if (i == DP_REASS_NONE) {
		if (r->free_head == DP_REASS_NONE)
			r->expired_pending += reass_expire(r, now_ns);
		i = reass_alloc(r, b, v, now_ns);
		if (i == DP_REASS_NONE)
			return -DP_DROP_FRAG_TABLE_FULL;
	}
	d = &r->dgs[i];
	rc = reass_add(r, d, pkt, v, data_off, data_len, hl);
	if (rc == 0)
		return 0;
	if (rc > 0)
		rc = reass_build(d->version, d->buf + DP_REASS_BUF - d->hdr_len,
				 d->hdr_len, d->nh_patch, d->nh_value, d->buf,
				 d->total, out, cap);
	reass_free(r, i);
	return rc;
}

/* ---- fragmentation ---- */

struct frag_emit {
	void (*emit)(const uint8_t *frag, uint32_t frag_len, void *arg);
	void *arg;
};

/* v4: the header for fragments after the first: the base header and the
 * options whose copied flag is set (RFC 791), padded to 32 bits. */
static int ip4_later_hdr(const uint8_t *ip, uint32_t hl, uint8_t *h2,
			 uint32_t *hl2)
{
	uint32_t i = 20, n = 20;

	memcpy(h2, ip, 20);
	while (i < hl) {
		uint8_t t = ip[i];
		uint32_t ol;

		if (t == 0) /* end of options */
			break;
		if (t == 1) { /* no-op */
			i++;
			continue;
		}
		if (i + 1 >= hl)
			return -DP_DROP_IP4_BAD_OPTIONS;
		ol = ip[i + 1];
		if (ol < 2 || i + ol > hl)
			return -DP_DROP_IP4_BAD_OPTIONS;
		if (t & 0x80) {
			memcpy(h2 + n, ip + i, ol);
			n += ol;
		}
		i += ol;
	}
	while (n & 3)
		h2[n++] = 0;
	h2[0] = (uint8_t)(0x40 | n / 4);
	*hl2 = n;
	return 0;
}

static int frag_split4(const uint8_t *ip, uint32_t len, uint32_t mtu,
		       const struct frag_emit *e)
{
	uint8_t buf[DP_FRAG_MAX_MTU], h2[60];
	uint32_t hl, hl2, tot, ff, base_off, pos, n = 0;
	bool base_mf;
	int rc;

	if (len < 20 || (ip[0] >> 4) != 4)
		return -DP_DROP_FRAG_BAD;
	hl = (ip[0] & 0xfu) * 4u;
	tot = rd16(ip + 2);
	if (hl < 20 || hl > len)
		return -DP_DROP_IP4_BAD_IHL;
	if (tot < hl || tot > len)
		return -DP_DROP_IP4_BAD_TOTAL_LEN;
	if (tot <= mtu) {
		e->emit(ip, tot, e->arg);
		return 1;
	}
	if (mtu > DP_FRAG_MAX_MTU)
		mtu = DP_FRAG_MAX_MTU;
	ff = rd16(ip + 6);
	if (ff & IP4_DF)
		return -DP_DROP_TOO_BIG;
	base_off = (ff & IP4_OFF_MASK) * 8u;
	base_mf = ff & IP4_MF;
	if (base_off + (tot - hl) > DP_REASS_MAX_DATAGRAM)
		return -DP_DROP_FRAG_BAD;
	rc = ip4_later_hdr(ip, hl, h2, &hl2);
	if (rc < 0)
		return rc;
	if (mtu < hl + 8)
		return -DP_DROP_TOO_BIG;

	for (pos = 0; pos < tot - hl; n++) {
		const uint8_t *h = pos ? h2 : ip;
		uint32_t fhl = pos ? hl2 : hl;
		uint32_t left = tot - hl - pos;
		uint32_t chunk = left <= mtu - fhl ? left : (mtu - fhl) & ~7u;
		bool more = chunk < left || base_mf;

		memcpy(buf, h, fhl);
		memcpy(buf + fhl, ip + hl + pos, chunk);
		wr16(buf + 2, (uint16_t)(fhl + chunk));
		wr16(buf + 6, (uint16_t)((ff & 0x8000u) | (more ? IP4_MF : 0) |
					 ((base_off + pos) / 8u)));
		ip4_set_csum(buf, fhl);
		e->emit(buf, fhl + chunk, e->arg);
		pos += chunk;
	}
	return (int)n;
}

static int frag_split6(const uint8_t *ip, uint32_t len, uint32_t mtu,
		       uint32_t id, const struct frag_emit *e)
{
	uint8_t buf[DP_FRAG_MAX_MTU];
	uint32_t pos = 40, unfrag = 40, nh_off = 6, n = 0, data, done;
	uint8_t nh;

	if (len < 40 || (ip[0] >> 4) != 6)
		return -DP_DROP_FRAG_BAD;
	if (40u + rd16(ip + 4) > len)
		return -DP_DROP_IP6_BAD_PAYLOAD_LEN;
	len = 40u + rd16(ip + 4);
	if (len <= mtu) {
		e->emit(ip, len, e->arg);
		return 1;
	}
	if (mtu > DP_FRAG_MAX_MTU)
		mtu = DP_FRAG_MAX_MTU;
	/* unfragmentable part: through the last hop-by-hop or routing
	 * header (destination options before a routing header included) */
	nh = ip[6];
	while (nh == NH_HOPOPTS || nh == NH_ROUTING || nh == NH_DSTOPTS) {
		uint32_t hl;

		if (pos + 2 > len)
			return -DP_DROP_IP6_BAD_EXT_HDR;
		hl = (ip[pos + 1] + 1u) * 8u;
		if (pos + hl > len)
			return -DP_DROP_IP6_BAD_EXT_HDR;
		if (nh != NH_DSTOPTS) {
			unfrag = pos + hl;
			nh_off = pos;
		}
		nh = ip[pos];
		pos += hl;
	}
	if (nh == NH_FRAGMENT)
		return -DP_DROP_FRAG_BAD; /* already a fragment */
	if (mtu < unfrag + 8 + 8)
		return -DP_DROP_TOO_BIG;

	data = len - unfrag;
	for (done = 0; done < data; n++) {
		uint32_t left = data - done, room = mtu - unfrag - 8;
		uint32_t chunk = left <= room ? left : room & ~7u;
		bool more = chunk < left;
		uint8_t *fh = buf + unfrag;

		memcpy(buf, ip, unfrag);
		buf[nh_off] = NH_FRAGMENT;
		wr16(buf + 4, (uint16_t)(unfrag - 40 + 8 + chunk));
		fh[0] = ip[nh_off];
		fh[1] = 0;
		wr16(fh + 2, (uint16_t)(done | (more ? 1u : 0u)));
		fh[4] = (uint8_t)(id >> 24);
		fh[5] = (uint8_t)(id >> 16);
		fh[6] = (uint8_t)(id >> 8);
		fh[7] = (uint8_t)id;
		memcpy(fh + 8, ip + unfrag + done, chunk);
		e->emit(buf, unfrag + 8 + chunk, e->arg);
		done += chunk;
	}
	return (int)n;
}

int dp_frag_split(const uint8_t *ip, uint32_t len, uint16_t mtu, uint32_t id,
		  void (*emit)(const uint8_t *frag, uint32_t frag_len, void *arg),
		  void *arg)
{
	struct frag_emit e = { .emit = emit, .arg = arg };

	if (!ip || !emit || len == 0)
		return -DP_DROP_FRAG_BAD;
	if ((ip[0] >> 4) == 4)
		return frag_split4(ip, len, mtu, &e);
	if ((ip[0] >> 4) == 6)
		return frag_split6(ip, len, mtu, id, &e);
	return -DP_DROP_FRAG_BAD;
}
