/* dp_neigh: resolution, holding, release order, retries, aging, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/dp_drop.h"
#include "dataplane/dp_neigh.h"

#define MS 1000000ull
#define S 1000000000ull

struct rec {
	int released[64];
	int n_released;
	uint8_t mac[6];
	int dropped[64];
	int n_dropped;
	int solicits;
	uint16_t sol_port;
	union dp_addr sol_ip;
	int freed;
	struct dp_neigh *n; /* for re-entrant checks */
	int lookups_ok;
	uint64_t now;
};

static struct rec R;

static void on_release(void *pkt, const uint8_t mac[6], void *arg)
{
	struct rec *r = arg;
	uint8_t m[6];

	if (r->n_released < 64)
		r->released[r->n_released] = (int)(intptr_t)pkt;
	r->n_released++;
	memcpy(r->mac, mac, 6);
	/* the entry is already usable while its packets go out */
	if (r->n && dp_neigh_lookup(r->n, r->sol_port, &r->sol_ip, r->now, m) == 0)
		r->lookups_ok++;
}

static void on_resolicit(uint16_t port, const union dp_addr *ip, void *arg)
{
	struct rec *r = arg;

	r->solicits++;
	r->sol_port = port;
	r->sol_ip = *ip;
}

static void on_drop(void *pkt, void *arg)
{
	struct rec *r = arg;

	if (r->n_dropped < 64)
		r->dropped[r->n_dropped] = (int)(intptr_t)pkt;
	r->n_dropped++;
}

static void on_free(void *pkt)
{
	(void)pkt;
	R.freed++;
}

static void ip4(union dp_addr *a, uint32_t host)
{
	dp_addr_from_v4(a, __builtin_bswap32(host));
}

static struct dp_neigh *mk(uint32_t max, uint32_t q)
{
	struct dp_neigh_params p = {
		.max_entries = max, .reachable_s = 30, .retrans_ms = 1000,
		.queue_len = q,
	};
	struct dp_neigh *n = dp_neigh_create(&p);

	assert_non_null(n);
	memset(&R, 0, sizeof(R));
	return n;
}

#define PKT(i) ((void *)(intptr_t)(i))

static void test_create_params(void **state)
{
	struct dp_neigh_params p = { .max_entries = 0, .reachable_s = 30,
				     .retrans_ms = 1000, .queue_len = 4 };

	(void)state;
	assert_null(dp_neigh_create(&p));
	assert_null(dp_neigh_create(NULL));
	p.max_entries = 16;
	p.retrans_ms = 0;
	assert_null(dp_neigh_create(&p));
	dp_neigh_destroy(NULL, NULL);
	assert_int_equal(dp_neigh_count(NULL), 0);
}

static void test_resolve_and_release(void **state)
{
	static const uint8_t mac[6] = { 2, 1, 2, 3, 4, 5 };
	struct dp_neigh *n = mk(64, 3);
	union dp_addr a;
	uint8_t m[6];
	uint64_t t = 5 * S;

	(void)state;
	ip4(&a, 0x0a000001);
	assert_int_equal(dp_neigh_lookup(n, 0, &a, t, m), -1);
	assert_int_equal(dp_neigh_hold(n, 0, &a, PKT(1), t), 1);
	assert_int_equal(dp_neigh_hold(n, 0, &a, PKT(2), t), 0);
	assert_int_equal(dp_neigh_hold(n, 0, &a, PKT(3), t), 0);
	assert_int_equal(dp_neigh_hold(n, 0, &a, PKT(4), t),
			 -DP_DROP_NEIGH_QUEUE_FULL);
	assert_int_equal(dp_neigh_count(n), 1);
	assert_int_equal(dp_neigh_lookup(n, 0, &a, t, m), -1);

	R.n = n;
	R.sol_ip = a;
	R.now = t + 10 * MS;
	dp_neigh_learn(n, 0, &a, mac, t + 10 * MS, on_release, &R);
	assert_int_equal(R.n_released, 3);
	assert_int_equal(R.released[0], 1); /* FIFO */
	assert_int_equal(R.released[1], 2);
	assert_int_equal(R.released[2], 3);
	assert_memory_equal(R.mac, mac, 6);
	assert_int_equal(R.lookups_ok, 3);
	memset(m, 0, 6);
	assert_int_equal(dp_neigh_lookup(n, 0, &a, t + S, m), 0);
	assert_memory_equal(m, mac, 6);
	assert_int_equal(dp_neigh_count(n), 1);

	/* a later tick solicits nothing and drops nothing */
	dp_neigh_tick(n, t + 5 * S, on_resolicit, on_drop, &R);
	assert_int_equal(R.solicits, 0);
	assert_int_equal(R.n_dropped, 0);

	/* the same address on another port is another neighbour */
	assert_int_equal(dp_neigh_lookup(n, 1, &a, t + S, m), -1);
	assert_int_equal(dp_neigh_hold(n, 1, &a, PKT(9), t + S), 1);
	assert_int_equal(dp_neigh_count(n), 2);
	dp_neigh_destroy(n, on_free);
	assert_int_equal(R.freed, 1);
}

static void test_retries_then_drop(void **state)
{
	struct dp_neigh *n = mk(64, 4);
	union dp_addr a;
	uint64_t t = 100 * S;
	uint8_t m[6];

	(void)state;
	memset(&a, 0, sizeof(a));
	a.b[0] = 0xfd;
	a.b[15] = 9;
	assert_int_equal(dp_neigh_hold(n, 2, &a, PKT(7), t), 1);
	assert_int_equal(dp_neigh_hold(n, 2, &a, PKT(8), t + 300 * MS), 0);

	dp_neigh_tick(n, t + 999 * MS, on_resolicit, on_drop, &R);
	assert_int_equal(R.solicits, 0);
	dp_neigh_tick(n, t + 1000 * MS, on_resolicit, on_drop, &R);
	assert_int_equal(R.solicits, 1);
	assert_int_equal(R.sol_port, 2);
	assert_true(dp_addr_eq(&R.sol_ip, &a));
	dp_neigh_tick(n, t + 1500 * MS, on_resolicit, on_drop, &R);
	assert_int_equal(R.solicits, 1);
	dp_neigh_tick(n, t + 2000 * MS, on_resolicit, on_drop, &R);
	assert_int_equal(R.solicits, 2); /* three in all with the first */
	assert_int_equal(R.n_dropped, 0);
	assert_int_equal(dp_neigh_count(n), 1);
	dp_neigh_tick(n, t + 3000 * MS, on_resolicit, on_drop, &R);
	assert_int_equal(R.solicits, 2);
	assert_int_equal(R.n_dropped, 2);
	assert_int_equal(R.dropped[0], 7);
	assert_int_equal(R.dropped[1], 8);
	assert_int_equal(dp_neigh_count(n), 0);
	assert_int_equal(dp_neigh_lookup(n, 2, &a, t + 3 * S, m), -1);

	/* a new packet starts over */
	assert_int_equal(dp_neigh_hold(n, 2, &a, PKT(10), t + 4 * S), 1);
	dp_neigh_destroy(n, on_free);
	assert_int_equal(R.freed, 1);
}

static void test_aging(void **state)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	struct dp_neigh *n = mk(32, 2);
	union dp_addr a, b;
	uint64_t t = 1 * S;
	uint8_t m[6];

	(void)state;
	ip4(&a, 0xc0a80001);
	ip4(&b, 0xc0a80002);
	/* learning without a request creates a resolved entry */
	dp_neigh_learn(n, 0, &a, mac, t, on_release, &R);
	dp_neigh_learn(n, 0, &b, mac, t, NULL, NULL);
	assert_int_equal(R.n_released, 0);
	assert_int_equal(dp_neigh_count(n), 2);
	assert_int_equal(dp_neigh_lookup(n, 0, &a, t + 30 * S - 1, m), 0);
	/* lookups age entries out */
	assert_int_equal(dp_neigh_lookup(n, 0, &a, t + 30 * S, m), -1);
	assert_int_equal(dp_neigh_count(n), 1);
	/* and so do ticks */
	dp_neigh_tick(n, t + 29 * S, on_resolicit, on_drop, &R);
	assert_int_equal(dp_neigh_count(n), 1);
	dp_neigh_tick(n, t + 31 * S, on_resolicit, on_drop, &R);
	assert_int_equal(dp_neigh_count(n), 0);
	/* news refreshes an entry */
	dp_neigh_learn(n, 0, &a, mac, t, NULL, NULL);
	dp_neigh_learn(n, 0, &a, mac, t + 20 * S, NULL, NULL);
	assert_int_equal(dp_neigh_lookup(n, 0, &a, t + 40 * S, m), 0);
	assert_int_equal(dp_neigh_count(n), 1);
	/* a stale entry restarts resolution */
	assert_int_equal(dp_neigh_hold(n, 0, &a, PKT(1), t + 60 * S), 1);
	assert_int_equal(dp_neigh_count(n), 1);
	dp_neigh_destroy(n, on_free);
	assert_int_equal(R.freed, 1);
}

static void test_table_full(void **state)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 2 };
	struct dp_neigh *n = mk(16, 1);
	union dp_addr a;
	uint64_t t = S;
	uint32_t i;
	uint8_t m[6];

	(void)state;
	for (i = 0; i < 16; i++) {
		ip4(&a, 0x0a000000 + i);
		assert_int_equal(dp_neigh_hold(n, 0, &a, PKT(i + 1), t), 1);
	}
	assert_int_equal(dp_neigh_count(n), 16);
	ip4(&a, 0x0a0000ff);
	assert_int_equal(dp_neigh_hold(n, 0, &a, PKT(99), t),
			 -DP_DROP_NEIGH_UNRESOLVED);
	dp_neigh_learn(n, 0, &a, mac, t, on_release, &R); /* ignored: full */
	assert_int_equal(dp_neigh_count(n), 16);
	assert_int_equal(dp_neigh_lookup(n, 0, &a, t, m), -1);

	/* resolve them all; once they expire, room is made on demand */
	for (i = 0; i < 16; i++) {
		ip4(&a, 0x0a000000 + i);
		dp_neigh_learn(n, 0, &a, mac, t, on_release, &R);
	}
	assert_int_equal(R.n_released, 16);
	ip4(&a, 0x0a0000ff);
	assert_int_equal(dp_neigh_hold(n, 0, &a, PKT(99), t + 31 * S), 1);
	assert_int_equal(dp_neigh_count(n), 16);
	dp_neigh_destroy(n, on_free);
	assert_int_equal(R.freed, 1);
}

static void test_queue_len_zero(void **state)
{
	struct dp_neigh *n = mk(16, 0);
	union dp_addr a;
	uint64_t t = S;

	(void)state;
	ip4(&a, 0x0a000001);
	/* nothing can be held, but resolution still starts at once */
	assert_int_equal(dp_neigh_hold(n, 0, &a, PKT(1), t),
			 -DP_DROP_NEIGH_QUEUE_FULL);
	assert_int_equal(dp_neigh_count(n), 1);
	dp_neigh_tick(n, t, on_resolicit, on_drop, &R);
	assert_int_equal(R.solicits, 1);
	assert_int_equal(dp_neigh_hold(n, 0, &a, PKT(2), t),
			 -DP_DROP_NEIGH_QUEUE_FULL);
	dp_neigh_tick(n, t + S, on_resolicit, on_drop, &R);
	dp_neigh_tick(n, t + 2 * S, on_resolicit, on_drop, &R);
	assert_int_equal(R.solicits, 3);
	dp_neigh_tick(n, t + 3 * S, on_resolicit, on_drop, &R);
	assert_int_equal(R.solicits, 3);
	assert_int_equal(R.n_dropped, 0);
	assert_int_equal(dp_neigh_count(n), 0);
	dp_neigh_destroy(n, on_free);
	assert_int_equal(R.freed, 0);
}

/* Many neighbours, interleaved: counts and held packets add up. */
static void test_many(void **state)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 3 };
	struct dp_neigh *n = mk(1024, 2);
	union dp_addr a;
	uint64_t t = S;
	uint32_t i, held = 0;
	uint8_t m[6];

	(void)state;
	for (i = 0; i < 1000; i++) {
		memset(&a, 0, sizeof(a));
		a.b[0] = 0x20;
		a.w[3] = i * 2654435761u;
		assert_int_equal(dp_neigh_hold(n, (uint16_t)(i & 3), &a,
					       PKT(i), t), 1);
		held++;
		if (i % 3 == 0) {
			assert_int_equal(dp_neigh_hold(n, (uint16_t)(i & 3), &a,
						       PKT(i), t), 0);
			held++;
		}
	}
	assert_int_equal(dp_neigh_count(n), 1000);
	R.n_released = 0;
	for (i = 0; i < 1000; i += 2) {
		memset(&a, 0, sizeof(a));
		a.b[0] = 0x20;
		a.w[3] = i * 2654435761u;
		dp_neigh_learn(n, (uint16_t)(i & 3), &a, mac, t, NULL, NULL);
		assert_int_equal(dp_neigh_lookup(n, (uint16_t)(i & 3), &a, t, m),
				 0);
		held -= i % 3 == 0 ? 2 : 1;
	}
	/* the rest give up after three solicitations */
	dp_neigh_tick(n, t + 1 * S, on_resolicit, on_drop, &R);
	assert_int_equal(R.solicits, 500);
	dp_neigh_tick(n, t + 2 * S, on_resolicit, on_drop, &R);
	assert_int_equal(R.solicits, 1000);
	assert_int_equal(R.n_dropped, 0);
	assert_int_equal(dp_neigh_count(n), 1000);
	dp_neigh_tick(n, t + 3 * S, on_resolicit, on_drop, &R);
	assert_int_equal(R.solicits, 1000);
	assert_int_equal((uint32_t)R.n_dropped, held);
	assert_int_equal(held, 500 + 167);
	assert_int_equal(dp_neigh_count(n), 500);
	dp_neigh_destroy(n, on_free);
	assert_int_equal(R.freed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_params),
		cmocka_unit_test(test_resolve_and_release),
		cmocka_unit_test(test_retries_then_drop),
		cmocka_unit_test(test_aging),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_queue_len_zero),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
