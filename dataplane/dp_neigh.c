/* Neighbour table: ARP/NDP results for strata's own transmits.
 *
 * Everything is allocated at create: max_entries entries, a power-of-two
 * bucket array of index chains keyed by (port, address), and a pool of
 * held-packet slots shared by all entries (queue_len per address, at most
 * DP_NEIGH_MAX_HELD in all). Entries being resolved sit on a list in
 * deadline order: every deadline is "now + retrans" when it is set (or
 * "now" for an entry that still owes its first solicitation, pushed at
 * the head), so a tick pops due entries from the head and stops at the
 * first one not due. Resolved entries age out lazily on lookup and by a
 * bounded sweep per tick. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "dp_drop.h"
#include "dp_neigh.h"

#define NEIGH_NONE UINT32_MAX
#define NEIGH_MAX_PROBES 3
#define DP_NEIGH_MAX_HELD 65536u
#define NEIGH_SWEEP 256u /* entries looked at per tick for aging */

enum neigh_state {
	NEIGH_FREE = 0,
	NEIGH_INCOMPLETE,
	NEIGH_REACHABLE,
};

struct neigh_entry {
	union dp_addr ip;
	uint64_t time_ns;    /* REACHABLE: last confirmed; INCOMPLETE: due */
	uint32_t hnext;      /* hash chain, or free list */
	uint32_t lprev;      /* resolving list */
	uint32_t lnext;
	uint32_t qhead;      /* held packets, FIFO */
	uint32_t qtail;
	uint16_t qlen;
	uint16_t port;
	uint8_t mac[6];
	uint8_t state;
	uint8_t probes;      /* solicitations sent */
};

struct neigh_slot {
	void *pkt;
	uint32_t next;
};

struct dp_neigh {
	struct dp_neigh_params p;
	uint64_t reachable_ns;
	uint64_t retrans_ns;
	uint64_t seed;
	uint32_t hash_mask;
	uint32_t count;
	uint32_t free_head;
	uint32_t slot_free;
	uint32_t res_head;   /* resolving list, deadline order */
	uint32_t res_tail;
	uint32_t sweep;      /* aging cursor */
	uint32_t *buckets;
	struct neigh_entry *e;
	struct neigh_slot *slots;
};

static uint32_t neigh_hash(const struct dp_neigh *n, uint16_t port,
			   const union dp_addr *ip)
{
	uint64_t h = n->seed ^ port;

	h = (h ^ ip->q[0]) * 0x9e3779b97f4a7c15ull;
	h = (h ^ (h >> 29) ^ ip->q[1]) * 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return (uint32_t)h & n->hash_mask;
}

struct dp_neigh *dp_neigh_create(const struct dp_neigh_params *p)
{
	struct dp_neigh *n;
	uint64_t held;
	uint32_t nb, i;

	if (!p || p->max_entries == 0 || p->max_entries > (1u << 24) ||
	    p->retrans_ms == 0) {
		errno = EINVAL;
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		goto err_nomem;
	n->p = *p;
	n->reachable_ns = (uint64_t)p->reachable_s * 1000000000ull;
	n->retrans_ns = (uint64_t)p->retrans_ms * 1000000ull;
	for (nb = 16; nb < p->max_entries; nb <<= 1)
		;
	n->hash_mask = nb - 1;
	if (getrandom(&n->seed, sizeof(n->seed), GRND_NONBLOCK) !=
	    sizeof(n->seed))
		n->seed = (uint64_t)(uintptr_t)n * 0x9e3779b97f4a7c15ull;
	n->buckets = malloc(nb * sizeof(*n->buckets));
	if (!n->buckets)
		goto err_free_n;
	for (i = 0; i < nb; i++)
		n->buckets[i] = NEIGH_NONE;
	n->e = calloc(p->max_entries, sizeof(*n->e));
	if (!n->e)
		goto err_free_buckets;
	for (i = 0; i < p->max_entries; i++)
		n->e[i].hnext = i + 1 < p->max_entries ? i + 1 : NEIGH_NONE;
	n->free_head = 0;

	held = (uint64_t)p->max_entries * p->queue_len;
	if (held > DP_NEIGH_MAX_HELD)
		held = DP_NEIGH_MAX_HELD;
	n->slot_free = NEIGH_NONE;
	if (held) {
		n->slots = calloc(held, sizeof(*n->slots));
		if (!n->slots)
			goto err_free_e;
		for (i = 0; i < held; i++)
			n->slots[i].next = i + 1 < held ? i + 1 : NEIGH_NONE;
		n->slot_free = 0;
	}
	n->res_head = n->res_tail = NEIGH_NONE;
	return n;

err_free_e:
	free(n->e);
err_free_buckets:
	free(n->buckets);
err_free_n:
	free(n);
err_nomem:
	errno = ENOMEM;
	return NULL;
}

/* Pop the oldest held packet of e, or NULL. */
static void *neigh_pop(struct dp_neigh *n, struct neigh_entry *e)
{
	struct neigh_slot *s;
	uint32_t i = e->qhead;

	if (i == NEIGH_NONE)
		return NULL;
	s = &n->slots[i];
	e->qhead = s->next;
	if (e->qhead == NEIGH_NONE)
		e->qtail = NEIGH_NONE;
	e->qlen--;
	s->next = n->slot_free;
	n->slot_free = i;
	return s->pkt;
}

void dp_neigh_destroy(struct dp_neigh *n, void (*free_pkt)(void *pkt))
{
	uint32_t i;
	void *pkt;

	if (!n)
		return;
	for (i = 0; i < n->p.max_entries; i++) {
		if (n->e[i].state == NEIGH_FREE)
			continue;
		while ((pkt = neigh_pop(n, &n->e[i])) != NULL)
			if (free_pkt)
				free_pkt(pkt);
	}
	free(n->slots);
	free(n->e);
	free(n->buckets);
	free(n);
}

static uint32_t neigh_find(const struct dp_neigh *n, uint16_t port,
			   const union dp_addr *ip, uint32_t b)
{
	uint32_t i;

	for (i = n->buckets[b]; i != NEIGH_NONE; i = n->e[i].hnext)
		if (n->e[i].port == port && dp_addr_eq(&n->e[i].ip, ip))
			return i;
	return NEIGH_NONE;
}

static void res_unlink(struct dp_neigh *n, uint32_t i)
{
	struct neigh_entry *e = &n->e[i];

	if (e->lprev != NEIGH_NONE)
		n->e[e->lprev].lnext = e->lnext;
	else
		n->res_head = e->lnext;
	if (e->lnext != NEIGH_NONE)
		n->e[e->lnext].lprev = e->lprev;
	else
		n->res_tail = e->lprev;
	e->lprev = e->lnext = NEIGH_NONE;
}

static void res_push_tail(struct dp_neigh *n, uint32_t i)
{
	struct neigh_entry *e = &n->e[i];

	e->lnext = NEIGH_NONE;
	e->lprev = n->res_tail;
	if (n->res_tail != NEIGH_NONE)
		n->e[n->res_tail].lnext = i;
	else
		n->res_head = i;
	n->res_tail = i;
}

static void res_push_head(struct dp_neigh *n, uint32_t i)
{
	struct neigh_entry *e = &n->e[i];

	e->lprev = NEIGH_NONE;
	e->lnext = n->res_head;
	if (n->res_head != NEIGH_NONE)
		n->e[n->res_head].lprev = i;
	else
		n->res_tail = i;
	n->res_head = i;
}

/* Unhash and free entry i; its queue must be empty. */
static void neigh_free(struct dp_neigh *n, uint32_t i)
{
	struct neigh_entry *e = &n->e[i];
	uint32_t *pp = &n->buckets[neigh_hash(n, e->port, &e->ip)];

	while (*pp != i)
		pp = &n->e[*pp].hnext;
	*pp = e->hnext;
	if (e->state == NEIGH_INCOMPLETE)
		res_unlink(n, i);
	e->state = NEIGH_FREE;
	e->hnext = n->free_head;
	n->free_head = i;
	n->count--;
}

static bool neigh_expired(const struct dp_neigh *n,
			  const struct neigh_entry *e, uint64_t now_ns)
{
	/* signed: a clock read a little behind the entry is not "old" */
	return e->state == NEIGH_REACHABLE &&
	       (int64_t)(now_ns - e->time_ns) >= (int64_t)n->reachable_ns;
}

/* Take a free entry, making room from expired ones if the table is
 * full. Returns NEIGH_NONE when nothing can be freed. */
static uint32_t neigh_alloc(struct dp_neigh *n, uint64_t now_ns)
{
	uint32_t i, k;

	if (n->free_head == NEIGH_NONE) {
		for (k = 0; k < NEIGH_SWEEP && n->free_head == NEIGH_NONE;
		     k++) {
			i = n->sweep++ % n->p.max_entries;
			if (neigh_expired(n, &n->e[i], now_ns))
				neigh_free(n, i);
		}
		if (n->free_head == NEIGH_NONE)
			return NEIGH_NONE;
	}
	i = n->free_head;
	n->free_head = n->e[i].hnext;
	n->count++;
	return i;
}

static uint32_t neigh_insert(struct dp_neigh *n, uint16_t port,
			     const union dp_addr *ip, uint32_t b,
			     uint64_t now_ns)
{
	uint32_t i = neigh_alloc(n, now_ns);
	struct neigh_entry *e;

	if (i == NEIGH_NONE)
		return i;
	/* read the chain head after neigh_alloc: it may free entries */
	e = &n->e[i];
	memset(e, 0, sizeof(*e));
	e->ip = *ip;
	e->port = port;
	e->qhead = e->qtail = NEIGH_NONE;
	e->lprev = e->lnext = NEIGH_NONE;
	e->hnext = n->buckets[b];
	n->buckets[b] = i;
	return i;
}

/* Give every packet of the chain starting at slot q to release (with
 * mac) or drop, returning each slot before its call so that callbacks
 * may use the table. */
static void neigh_flush_chain(struct dp_neigh *n, uint32_t q,
			      void (*release)(void *, const uint8_t *, void *),
			      void (*drop)(void *, void *), const uint8_t *mac,
			      void *arg)
{
	while (q != NEIGH_NONE) {
		uint32_t next = n->slots[q].next;
		void *pkt = n->slots[q].pkt;

		n->slots[q].next = n->slot_free;
		n->slot_free = q;
		q = next;
		if (release)
			release(pkt, mac, arg);
		else if (drop)
			drop(pkt, arg);
	}
}

static void neigh_flush(struct dp_neigh *n, struct neigh_entry *e,
			void (*release)(void *, const uint8_t *, void *),
			void (*drop)(void *, void *), const uint8_t *mac,
			void *arg)
{
	uint32_t q = e->qhead;

	e->qhead = e->qtail = NEIGH_NONE;
	e->qlen = 0;
	neigh_flush_chain(n, q, release, drop, mac, arg);
}

int dp_neigh_lookup(struct dp_neigh *n, uint16_t port,
		    const union dp_addr *ip, uint64_t now_ns, uint8_t mac[6])
{
	uint32_t i = neigh_find(n, port, ip, neigh_hash(n, port, ip));
	struct neigh_entry *e;

	if (i == NEIGH_NONE)
		return -1;
	e = &n->e[i];
	if (e->state != NEIGH_REACHABLE)
		return -1;
	if (neigh_expired(n, e, now_ns)) {
		neigh_free(n, i);
		return -1;
	}
	memcpy(mac, e->mac, 6);
	return 0;
}

static bool neigh_enqueue(struct dp_neigh *n, struct neigh_entry *e,
			  void *pkt)
{
	uint32_t s = n->slot_free;

	if (e->qlen >= n->p.queue_len || s == NEIGH_NONE)
		return false;
	n->slot_free = n->slots[s].next;
	n->slots[s].pkt = pkt;
	n->slots[s].next = NEIGH_NONE;
	if (e->qtail != NEIGH_NONE)
		n->slots[e->qtail].next = s;
	else
		e->qhead = s;
	e->qtail = s;
	e->qlen++;
	return true;
}

int dp_neigh_hold(struct dp_neigh *n, uint16_t port, const union dp_addr *ip,
		  void *pkt, uint64_t now_ns)
{
	uint32_t b = neigh_hash(n, port, ip);
	uint32_t i = neigh_find(n, port, ip, b);
	struct neigh_entry *e;
	bool queued;

	if (i != NEIGH_NONE && n->e[i].state == NEIGH_INCOMPLETE) {
		if (!neigh_enqueue(n, &n->e[i], pkt))
			return -DP_DROP_NEIGH_QUEUE_FULL;
		return 0;
	}
	/* A stale resolved entry restarts resolution. */
	if (i != NEIGH_NONE)
		neigh_free(n, i);
	i = neigh_insert(n, port, ip, b, now_ns);
	if (i == NEIGH_NONE)
		return -DP_DROP_NEIGH_UNRESOLVED;
	e = &n->e[i];
	e->state = NEIGH_INCOMPLETE;
	queued = neigh_enqueue(n, e, pkt);
	if (!queued) {
		/* Nothing held, but the address is still worth resolving:
		 * the next tick sends the first solicitation. */
		e->probes = 0;
		e->time_ns = now_ns;
		res_push_head(n, i);
		return -DP_DROP_NEIGH_QUEUE_FULL;
	}
	e->probes = 1;
	e->time_ns = now_ns + n->retrans_ns;
	res_push_tail(n, i);
	return 1;
}

void dp_neigh_learn(struct dp_neigh *n, uint16_t port, const union dp_addr *ip,
		    const uint8_t mac[6], uint64_t now_ns,
		    void (*release)(void *pkt, const uint8_t mac[6], void *arg),
		    void *arg)
{
	uint32_t b = neigh_hash(n, port, ip);
	uint32_t i = neigh_find(n, port, ip, b);
	struct neigh_entry *e;
	uint8_t m[6];

	if (i == NEIGH_NONE) {
		i = neigh_insert(n, port, ip, b, now_ns);
		if (i == NEIGH_NONE)
			return;
	}
	e = &n->e[i];
	if (e->state == NEIGH_INCOMPLETE)
		res_unlink(n, i);
	e->state = NEIGH_REACHABLE;
	e->probes = 0;
	e->time_ns = now_ns;
	memcpy(e->mac, mac, 6);
	memcpy(m, mac, 6);
	/* Detach the queue first: release may come back into the table. */
	neigh_flush(n, &n->e[i], release, NULL, m, arg);
}

void dp_neigh_tick(struct dp_neigh *n, uint64_t now_ns,
		   void (*resolicit)(uint16_t port, const union dp_addr *ip, void *arg),
		   void (*drop)(void *pkt, void *arg), void *arg)
{
	uint32_t i, k, budget;
	struct neigh_entry *e;
	union dp_addr ip;
	uint16_t port;

	/* Resolving entries: each pass either re-queues at the tail with a
	 * later deadline or frees, so this ends. */
	budget = n->p.max_entries;
	while (budget-- && (i = n->res_head) != NEIGH_NONE) {
		e = &n->e[i];
		if ((int64_t)(now_ns - e->time_ns) < 0)
			break;
		if (e->probes >= NEIGH_MAX_PROBES) {
			/* Never resolved: detach the queue and free the
			 * entry before handing the packets to drop. */
			uint32_t q = e->qhead;

			e->qhead = e->qtail = NEIGH_NONE;
			e->qlen = 0;
			neigh_free(n, i);
			neigh_flush_chain(n, q, NULL, drop, NULL, arg);
			continue;
		}
		res_unlink(n, i);
		e->probes++;
		e->time_ns = now_ns + n->retrans_ns;
		res_push_tail(n, i);
		ip = e->ip;
		port = e->port;
		if (resolicit)
			resolicit(port, &ip, arg);
	}

	/* Aging sweep, a bounded slice per tick. */
	k = n->p.max_entries < NEIGH_SWEEP ? n->p.max_entries : NEIGH_SWEEP;
	while (k--) {
		i = n->sweep++ % n->p.max_entries;
		if (neigh_expired(n, &n->e[i], now_ns))
			neigh_free(n, i);
	}
}

uint32_t dp_neigh_count(const struct dp_neigh *n)
{
	return n ? n->count : 0;
}
