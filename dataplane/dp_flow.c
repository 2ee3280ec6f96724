/* Flow table. See dp_flow.h.
 *
 * Layout: one array of entries and one array of per-app contexts, both
 * sized for max_flows at create time; a power-of-two array of bucket
 * heads (at least max_flows, so chains stay about one entry long); all
 * links are 32-bit indices. Entries are handed out by a bump index
 * first and then from a free list, so a large table costs memory only
 * for the entries it has used (the pages are faulted in as it fills).
 *
 * Buckets are picked by a seeded hash of the normalised key, not by the
 * RSS hash: the symmetric RSS key yields at most 2^16 distinct values
 * (see dp_rss.c), too few for a table of millions, and a fixed public
 * function would let a sender aim many flows at one chain.
 *
 * Expiry: one LRU list per timeout class (TCP, UDP, other). Every flow
 * of a class has the same idle timeout, so a list ordered by last use
 * is also ordered by deadline: expiry pops heads until the first one
 * still alive, O(expired) per tick; touch moves a flow to its list's
 * tail, O(1) per packet. To spare the two neighbours' cache lines on
 * every packet of a busy flow, touch moves a flow only when it was last
 * queued at least `slack` ago (1 s, or timeout/16 if smaller): the list
 * is then ordered by queue time, each flow's last use is less than slack
 * after it, and a flow expires at most slack after its deadline.
 *
 * Entries are 192 bytes, 64-byte aligned: the chain link, the key hash
 * and the key share the first cache line, so a miss in a chain costs
 * one line. */
#include "dp_flow.h"

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define DP_FLOW_NIL UINT32_MAX
#define DP_FLOW_CTX_ALIGN 16

enum dp_flow_class {
	DP_FLOW_CLS_TCP = 0,
	DP_FLOW_CLS_UDP,
	DP_FLOW_CLS_OTHER,
	DP_FLOW_CLS_STACK_TCP,  /* flows the stack terminates */
	DP_FLOW_CLS_STACK_UDP,
	DP_FLOW_CLS_STACK_CLOSING, /* stack TCP after the client's FIN/RST */
	DP_FLOW_CLS_MAX,
};

struct dp_flow_entry {
	uint32_t khash;             /* table hash of key */
	uint32_t chain_next;        /* bucket chain, or free list */
	struct dp_flow f;
	struct dp_flow_table *t;    /* for dp_flow_touch */
	uint32_t lru_prev, lru_next;
	uint8_t cls;
	uint8_t in_use;
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct dp_flow_entry) == 192,
	       "a flow entry is three cache lines");
_Static_assert(offsetof(struct dp_flow_entry, f.serial) / 64 ==
	       (offsetof(struct dp_flow_entry, f.requeue_ns) + 7) / 64,
	       "a flow's per-packet fields share one cache line");

#define DP_FLOW_ENTRY(fp) \
	((struct dp_flow_entry *)((uint8_t *)(fp) - \
				  offsetof(struct dp_flow_entry, f)))

struct dp_flow_lru {
	uint32_t head, tail;        /* head = least recently used */
	uint64_t timeout_ns;
	uint64_t slack_ns;          /* see the top of the file */
};

struct dp_flow_table {
	struct dp_flow_entry *e;
	uint8_t *ctx;
	size_t ctx_stride;
	uint32_t *bucket;
	uint32_t bucket_mask;
	uint32_t max_flows;
	uint32_t n_used;            /* entries ever handed out (bump) */
	uint32_t free_head;
	uint32_t count;
	uint64_t next_serial;       /* for dp_flow.serial, steps of 2 */
	uint64_t seed[2];
	uint64_t latest_ns;         /* largest now_ns seen */
	unsigned expire_first;      /* class dp_flow_expire starts at */
	struct dp_flow_lru lru[DP_FLOW_CLS_MAX];
};

static inline uint64_t dp_flow_mix(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint32_t dp_flow_key_hash(const struct dp_flow_table *t,
					const struct dp_flow_key *k)
{
	const uint64_t p0 = 0xa0761d6478bd642full, p1 = 0xe7037ed1a0b428dbull;
	uint64_t h, tail;

	tail = (uint64_t)k->lo_port << 32 | (uint64_t)k->hi_port << 16 |
	       k->proto;
	h = dp_flow_mix(k->lo_addr.q[0] ^ t->seed[0], k->lo_addr.q[1] ^ p0);
	h ^= dp_flow_mix(k->hi_addr.q[0] ^ t->seed[1], k->hi_addr.q[1] ^ p1);
	h = dp_flow_mix(h ^ tail ^ p0, t->seed[0] ^ p1);
	return (uint32_t)(h ^ (h >> 32));
}

static void dp_flow_seed(uint64_t seed[2])
{
	struct timespec ts;

	if (getrandom(seed, 2 * sizeof(seed[0]), GRND_NONBLOCK) ==
	    (ssize_t)(2 * sizeof(seed[0])))
		return;
	/* No entropy yet (early boot): weaker, but still per process. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	seed[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^
		  (uint64_t)(uintptr_t)seed;
	seed[1] = dp_flow_mix(seed[0], (uint64_t)ts.tv_sec | 1);
}

static inline unsigned dp_flow_class_of(uint8_t proto)
{
	if (proto == IPPROTO_TCP)
		return DP_FLOW_CLS_TCP;
	if (proto == IPPROTO_UDP)
		return DP_FLOW_CLS_UDP;
	return DP_FLOW_CLS_OTHER;
}

struct dp_flow_table *dp_flow_table_create(const struct dp_flow_table_params *p)
{
	struct dp_flow_table *t;
	uint32_t nb = 1, i;
	size_t ctx_bytes = 0;
	uint32_t idle[DP_FLOW_CLS_MAX];

	if (!p || p->max_flows == 0 || p->max_flows > (1u << 30) ||
	    p->app_ctx_size > (1u << 20)) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		goto err;
	t->max_flows = p->max_flows;
	t->free_head = DP_FLOW_NIL;
	dp_flow_seed(t->seed);

	idle[DP_FLOW_CLS_TCP] = p->tcp_idle_s;
	idle[DP_FLOW_CLS_UDP] = p->udp_idle_s;
	idle[DP_FLOW_CLS_OTHER] = p->other_idle_s;
	idle[DP_FLOW_CLS_STACK_TCP] = p->stack_tcp_idle_s > p->tcp_idle_s ?
				      p->stack_tcp_idle_s : p->tcp_idle_s;
	idle[DP_FLOW_CLS_STACK_UDP] = p->stack_udp_idle_s > p->udp_idle_s ?
				      p->stack_udp_idle_s : p->udp_idle_s;
	idle[DP_FLOW_CLS_STACK_CLOSING] = p->stack_closing_s ?
					  p->stack_closing_s :
					  idle[DP_FLOW_CLS_STACK_TCP];
	for (i = 0; i < DP_FLOW_CLS_MAX; i++) {
		t->lru[i].head = t->lru[i].tail = DP_FLOW_NIL;
		t->lru[i].timeout_ns = (uint64_t)idle[i] * 1000000000ull;
		t->lru[i].slack_ns = t->lru[i].timeout_ns / 16;
		if (t->lru[i].slack_ns > 1000000000ull)
			t->lru[i].slack_ns = 1000000000ull;
	}

	/* Not zeroed here: an entry is cleared when first handed out, so
	 * pages of a big table are only touched as it fills. */
	t->e = aligned_alloc(64, (size_t)p->max_flows * sizeof(*t->e));
	if (!t->e)
		goto err_free_t;

	if (p->app_ctx_size) {
		t->ctx_stride = (p->app_ctx_size + DP_FLOW_CTX_ALIGN - 1) &
				~(size_t)(DP_FLOW_CTX_ALIGN - 1);
		if (__builtin_mul_overflow(t->ctx_stride, (size_t)p->max_flows,
					   &ctx_bytes))
			goto err_free_e;
		t->ctx = aligned_alloc(DP_FLOW_CTX_ALIGN, ctx_bytes);
		if (!t->ctx)
			goto err_free_e;
	}

	while (nb < p->max_flows)
		nb <<= 1;
	t->bucket = malloc((size_t)nb * sizeof(*t->bucket));
	if (!t->bucket)
		goto err_free_ctx;
	memset(t->bucket, 0xff, (size_t)nb * sizeof(*t->bucket));
	t->bucket_mask = nb - 1;
	return t;

err_free_ctx:
	free(t->ctx);
err_free_e:
	free(t->e);
err_free_t:
	free(t);
err:
	errno = ENOMEM;
	return NULL;
}

static inline uint32_t dp_flow_idx(const struct dp_flow_table *t,
				   const struct dp_flow_entry *e)
{
	return (uint32_t)(e - t->e);
}

static void dp_flow_lru_unlink(struct dp_flow_table *t,
			       struct dp_flow_entry *e)
{
	struct dp_flow_lru *l = &t->lru[e->cls];

	if (e->lru_prev != DP_FLOW_NIL)
		t->e[e->lru_prev].lru_next = e->lru_next;
	else
		l->head = e->lru_next;
	if (e->lru_next != DP_FLOW_NIL)
		t->e[e->lru_next].lru_prev = e->lru_prev;
	else
		l->tail = e->lru_prev;
}

static void dp_flow_lru_append(struct dp_flow_table *t,
			       struct dp_flow_entry *e)
{
	struct dp_flow_lru *l = &t->lru[e->cls];
	uint32_t idx = dp_flow_idx(t, e);

	e->lru_next = DP_FLOW_NIL;
	e->lru_prev = l->tail;
	if (l->tail != DP_FLOW_NIL)
		t->e[l->tail].lru_next = idx;
	else
		l->head = idx;
	l->tail = idx;
}

/* memcmp order of two addresses, in two 64-bit compares (a libc
 * memcmp call per packet showed in profiles). */
static inline int dp_flow_addr_cmp(const union dp_addr *a,
				   const union dp_addr *b)
{
	uint64_t x = __builtin_bswap64(a->q[0]), y = __builtin_bswap64(b->q[0]);

	if (x == y) {
		x = __builtin_bswap64(a->q[1]);
		y = __builtin_bswap64(b->q[1]);
	}
	return (x > y) - (x < y);
}

/* The normalised key of a flow seen from src:sport to dst:dport (the
 * key's ports: for ICMP echo both are the identifier). Returns true
 * when src is the key's lo side. */
static inline bool dp_flow_key_norm(const union dp_addr *src,
				    const union dp_addr *dst, uint16_t sp,
				    uint16_t dp, uint8_t proto,
				    struct dp_flow_key *k)
{
	int c = dp_flow_addr_cmp(src, dst);
	bool src_lo = c < 0 || (c == 0 && sp <= dp);

	if (src_lo) {
		k->lo_addr = *src;
		k->hi_addr = *dst;
		k->lo_port = sp;
		k->hi_port = dp;
	} else {
		k->lo_addr = *dst;
		k->hi_addr = *src;
		k->lo_port = dp;
		k->hi_port = sp;
	}
	k->proto = proto;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
	return src_lo;
}

/* Normalise v's 5-tuple into k; returns true when v's source is the
 * key's lo side. */
static bool dp_flow_key_of(const struct dp_pkt_view *v, struct dp_flow_key *k,
			   uint16_t *sport, uint16_t *dport)
{
	uint16_t sp = 0, dp = 0;
	bool echo;

	if (!(v->flags & DP_PKT_F_FRAGMENT)) {
		switch (v->l4_proto) {
		case IPPROTO_TCP:
		case IPPROTO_UDP:
		case IPPROTO_SCTP:
		case IPPROTO_UDPLITE:
			sp = v->sport;
			dp = v->dport;
			break;
		case IPPROTO_ICMP:
		case IPPROTO_ICMPV6:
			echo = v->l4_proto == IPPROTO_ICMP ?
				(v->icmp_type == 8 || v->icmp_type == 0) :
				(v->icmp_type == 128 || v->icmp_type == 129);
			if (echo) {
				/* Request and reply carry the same id:
				 * use it on both sides. */
				sp = v->sport;
				dp = v->sport;
			}
			break;
		default:
			break;
		}
	}
	*sport = sp;
	*dport = dp;
	if (v->l4_proto == IPPROTO_ICMP || v->l4_proto == IPPROTO_ICMPV6)
		*dport = 0;
	return dp_flow_key_norm(&v->src, &v->dst, sp, dp, v->l4_proto, k);
}

static inline bool dp_flow_key_eq(const struct dp_flow_key *a,
				  const struct dp_flow_key *b)
{
	return dp_addr_eq(&a->lo_addr, &b->lo_addr) &&
	       dp_addr_eq(&a->hi_addr, &b->hi_addr) &&
	       a->lo_port == b->lo_port && a->hi_port == b->hi_port &&
	       a->proto == b->proto;
}

static struct dp_flow_entry *dp_flow_alloc(struct dp_flow_table *t)
{
	struct dp_flow_entry *e;

	if (t->free_head != DP_FLOW_NIL) {
		e = &t->e[t->free_head];
		t->free_head = e->chain_next;
		return e;
	}
	if (t->n_used < t->max_flows)
		return &t->e[t->n_used++];
	return NULL;
}

void dp_flow_probe_start(const struct dp_flow_table *t,
			 const struct dp_pkt_view *v, struct dp_flow_probe *pr)
{
	pr->src_lo = dp_flow_key_of(v, &pr->key, &pr->sport, &pr->dport);
	pr->khash = dp_flow_key_hash(t, &pr->key);
	__builtin_prefetch(&t->bucket[pr->khash & t->bucket_mask]);
}

void dp_flow_probe_prefetch(const struct dp_flow_table *t,
			    const struct dp_flow_probe *pr)
{
	uint32_t idx = t->bucket[pr->khash & t->bucket_mask];

	if (idx != DP_FLOW_NIL)
		__builtin_prefetch(&t->e[idx]);
}

void dp_flow_probe_start_tuple(const struct dp_flow_table *t,
			       const union dp_addr *src,
			       const union dp_addr *dst, uint16_t sport,
			       uint16_t dport, uint8_t proto,
			       struct dp_flow_probe *pr)
{
	bool icmp = proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;

	pr->src_lo = dp_flow_key_norm(src, dst, sport, icmp ? sport : dport,
				      proto, &pr->key);
	pr->sport = sport;
	pr->dport = icmp ? 0 : dport;
	pr->khash = dp_flow_key_hash(t, &pr->key);
	__builtin_prefetch(&t->bucket[pr->khash & t->bucket_mask]);
}

/* The entry of pr's key, or NULL; *dir as for lookup_or_create. */
static inline struct dp_flow_entry *dp_flow_find(struct dp_flow_table *t,
						 const struct dp_flow_probe *pr,
						 int *dir)
{
	const struct dp_flow_key *k = &pr->key;
	struct dp_flow_entry *e;
	uint32_t idx;

	for (idx = t->bucket[pr->khash & t->bucket_mask]; idx != DP_FLOW_NIL;
	     idx = e->chain_next) {
		e = &t->e[idx];
		if (e->khash == pr->khash && dp_flow_key_eq(&e->f.key, k)) {
			bool first_lo = e->f.info.src == e->f.key.lo_addr.b;

			/* Same address and port on both sides: the two
			 * directions cannot be told apart, call it 0. */
			if (dp_addr_eq(&k->lo_addr, &k->hi_addr) &&
			    k->lo_port == k->hi_port)
				*dir = 0;
			else
				*dir = pr->src_lo == first_lo ? 0 : 1;
			return e;
		}
	}
	return NULL;
}

struct dp_flow *dp_flow_probe_lookup(struct dp_flow_table *t,
				     const struct dp_flow_probe *pr, int *dir)
{
	struct dp_flow_entry *e = dp_flow_find(t, pr, dir);

	return e ? &e->f : NULL;
}

struct dp_flow *dp_flow_probe_lookup_or_create(struct dp_flow_table *t,
					       const struct dp_flow_probe *pr,
					       const struct dp_pkt_view *v,
					       uint32_t hash, uint16_t in_port,
					       uint64_t now_ns, bool *created,
					       int *dir)
{
	const struct dp_flow_key *k = &pr->key;
	struct dp_flow_entry *e;
	uint32_t kh = pr->khash, idx, *head;
	bool src_lo = pr->src_lo;

	e = dp_flow_find(t, pr, dir);
	if (e) {
		*created = false;
		return &e->f;
	}
	head = &t->bucket[kh & t->bucket_mask];
	e = dp_flow_alloc(t);
	if (!e)
		return NULL;
	idx = dp_flow_idx(t, e);
	memset(e, 0, sizeof(*e));
	e->t = t;
	e->khash = kh;
	e->in_use = 1;
	e->cls = (uint8_t)dp_flow_class_of(k->proto);
	e->chain_next = *head;
	*head = idx;

	struct dp_flow *f = &e->f;

	f->key = *k;
	t->next_serial += 2;
	f->serial = t->next_serial;
	f->hash = hash;
	f->info.in_port = in_port;
	f->info.proto = k->proto;
	f->info.ip_version = v->ip_version;
	f->info.src = src_lo ? f->key.lo_addr.b : f->key.hi_addr.b;
	f->info.dst = src_lo ? f->key.hi_addr.b : f->key.lo_addr.b;
	f->info.sport = pr->sport;
	f->info.dport = pr->dport;
	f->info.start_ns = now_ns;
	f->decision.verdict = STRATA_CONTINUE;
	if (now_ns < t->latest_ns)
		now_ns = t->latest_ns;
	t->latest_ns = now_ns;
	f->last_ns = now_ns;
	f->requeue_ns = now_ns + t->lru[e->cls].slack_ns;
	f->idle_timeout_s = (uint32_t)(t->lru[e->cls].timeout_ns /
				       1000000000ull);
	if (t->ctx) {
		f->app_ctx = t->ctx + (size_t)idx * t->ctx_stride;
		memset(f->app_ctx, 0, t->ctx_stride);
	}
	dp_flow_lru_append(t, e);
	t->count++;
	*created = true;
	*dir = 0;
	return f;
}

struct dp_flow *dp_flow_lookup_or_create(struct dp_flow_table *t,
					 const struct dp_pkt_view *v,
					 uint32_t hash, uint16_t in_port,
					 uint64_t now_ns, bool *created,
					 int *dir)
{
	struct dp_flow_probe pr;

	dp_flow_probe_start(t, v, &pr);
	return dp_flow_probe_lookup_or_create(t, &pr, v, hash, in_port,
					      now_ns, created, dir);
}

void dp_flow_touch_requeue(struct dp_flow *f, uint64_t now_ns)
{
	struct dp_flow_entry *e = DP_FLOW_ENTRY(f);
	struct dp_flow_table *t = e->t;
	struct dp_flow_lru *l;

	/* Keep each list sorted even if a clock steps back (pcap replay
	 * of a file whose timestamps are not monotonic). */
	if (now_ns < t->latest_ns)
		now_ns = t->latest_ns;
	t->latest_ns = now_ns;
	f->last_ns = now_ns;
	l = &t->lru[e->cls];
	if (now_ns < f->requeue_ns)
		return;
	f->requeue_ns = now_ns + l->slack_ns;
	if (l->tail != dp_flow_idx(t, e)) {
		dp_flow_lru_unlink(t, e);
		dp_flow_lru_append(t, e);
	}
}

/* Move e to class cls. Its last use must be the newest of the table
 * (latest_ns), so that the other list stays ordered with it at the
 * tail. */
static void dp_flow_set_class(struct dp_flow_entry *e, unsigned cls)
{
	struct dp_flow_table *t = e->t;

	if (cls == e->cls)
		return;
	dp_flow_lru_unlink(t, e);
	e->cls = (uint8_t)cls;
	e->f.requeue_ns = e->f.last_ns + t->lru[cls].slack_ns;
	dp_flow_lru_append(t, e);
	e->f.idle_timeout_s = (uint32_t)(t->lru[cls].timeout_ns /
					 1000000000ull);
}

void dp_flow_follow_stack(struct dp_flow *f)
{
	struct dp_flow_entry *e = DP_FLOW_ENTRY(f);

	dp_flow_set_class(e, e->cls == DP_FLOW_CLS_TCP ? DP_FLOW_CLS_STACK_TCP :
			     e->cls == DP_FLOW_CLS_UDP ? DP_FLOW_CLS_STACK_UDP :
			     e->cls);
}

void dp_flow_stack_tcp_flags(struct dp_flow *f, uint8_t tcp_flags)
{
	struct dp_flow_entry *e = DP_FLOW_ENTRY(f);

	if (e->cls != DP_FLOW_CLS_STACK_TCP &&
	    e->cls != DP_FLOW_CLS_STACK_CLOSING)
		return;
	if (tcp_flags & 0x05) /* FIN, RST */
		dp_flow_set_class(e, DP_FLOW_CLS_STACK_CLOSING);
	else if ((tcp_flags & 0x12) == 0x02) /* SYN */
		dp_flow_set_class(e, DP_FLOW_CLS_STACK_TCP);
}

static void dp_flow_free(struct dp_flow_table *t, struct dp_flow_entry *e)
{
	uint32_t idx = dp_flow_idx(t, e);
	uint32_t *pp = &t->bucket[e->khash & t->bucket_mask];

	while (*pp != idx)
		pp = &t->e[*pp].chain_next;
	*pp = e->chain_next;
	dp_flow_lru_unlink(t, e);
	e->in_use = 0;
	e->f.serial = 0;
	e->chain_next = t->free_head;
	t->free_head = idx;
	t->count--;
}

unsigned dp_flow_expire(struct dp_flow_table *t, uint64_t now_ns,
			unsigned budget,
			void (*on_end)(struct dp_flow *f, void *arg), void *arg)
{
	unsigned n = 0, i;

	/* Start at a different class each call so that one class with
	 * more than budget to expire cannot starve the others. */
	t->expire_first = (t->expire_first + 1) % DP_FLOW_CLS_MAX;
	for (i = 0; i < DP_FLOW_CLS_MAX; i++) {
		struct dp_flow_lru *l =
			&t->lru[(t->expire_first + i) % DP_FLOW_CLS_MAX];

		while (n < budget && l->head != DP_FLOW_NIL) {
			struct dp_flow_entry *e = &t->e[l->head];

			if (now_ns < e->f.last_ns ||
			    now_ns - e->f.last_ns < l->timeout_ns)
				break;
			if (on_end)
				on_end(&e->f, arg);
			dp_flow_free(t, e);
			n++;
		}
	}
	return n;
}

uint32_t dp_flow_count(const struct dp_flow_table *t)
{
	return t ? t->count : 0;
}

void dp_flow_table_destroy(struct dp_flow_table *t,
			   void (*on_end)(struct dp_flow *f, void *arg), void *arg)
{
	unsigned c;

	if (!t)
		return;
	if (on_end) {
		for (c = 0; c < DP_FLOW_CLS_MAX; c++) {
			uint32_t idx;

			for (idx = t->lru[c].head; idx != DP_FLOW_NIL;
			     idx = t->e[idx].lru_next)
				on_end(&t->e[idx].f, arg);
		}
	}
	free(t->bucket);
	free(t->ctx);
	free(t->e);
	free(t);
}
