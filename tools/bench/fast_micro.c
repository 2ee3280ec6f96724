/* The fast path's per-packet steps in a cache-hot loop, without DPDK:
 * what each costs when nothing else competes for the core, as a floor
 * for tools/bench/l3_fastpath.sh (see docs/BENCHMARKS.md).
 *
 * 32 IPv4 echo requests (60-byte Ethernet frames, 32 flows) are built
 * once and copied afresh (untimed) before each timed loop. Each round
 * times three loops over the 32: classify (dp_fast_classify: header
 * checks, IPv4 and ICMP checksums); classify and find the flow in the
 * cache (dp_fast_set, dp_fast_find); classify, find and answer
 * (dp_l3_echo_reply_fast). Reported: TSC ticks and nanoseconds per
 * packet, best round of ROUNDS.
 *
 * usage: build/tools/bench/fast_micro [ROUNDS]   (pin it: taskset -c 0) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "dataplane/dp_fast.h"
#include "dataplane/dp_flow.h"
#include "dataplane/dp_l3.h"
#include "dataplane/dp_parse.h"

#define N 32

static uint8_t pkt[N][128], fresh[N][128];
static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 2 };
static const uint8_t peer[6] = { 2, 0, 0, 0, 0, 9 };

static void build(uint8_t *p, int i)
{
	uint8_t *ip = p + 14, *ic = ip + 20;
	uint32_t s;

	memset(p, 0, 128);
	memcpy(p, mac, 6);
	memcpy(p + 6, peer, 6);
	p[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = 46;
	ip[5] = (uint8_t)i;
	ip[8] = 64;
	ip[9] = 1;
	ip[12] = 10;
	ip[13] = 1;
	ip[15] = (uint8_t)(i + 1);
	ip[16] = 10;
	ip[17] = 99;
	ip[19] = 2;
	s = dp_csum_partial(ip, 20, 0);
	ip[10] = (uint8_t)(dp_csum_fold(s) >> 8);
	ip[11] = (uint8_t)dp_csum_fold(s);
	ic[0] = 8;
	ic[5] = (uint8_t)i;
	ic[7] = 1;
	for (int k = 8; k < 26; k++)
		ic[k] = (uint8_t)k;
	s = dp_csum_partial(ic, 26, 0);
	ic[2] = (uint8_t)(dp_csum_fold(s) >> 8);
	ic[3] = (uint8_t)dp_csum_fold(s);
}

static double tsc_ghz(void)
{
	struct timespec a, b;
	uint64_t t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &a);
	t0 = __rdtsc();
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec) < 2e8);
	t1 = __rdtsc();
	return (double)(t1 - t0) /
	       ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec));
}

int main(int argc, char **argv)
{
	struct dp_flow_table_params tp = {
		.max_flows = 1024, .tcp_idle_s = 300, .udp_idle_s = 60,
		.other_idle_s = 30, .stack_tcp_idle_s = 300,
		.stack_udp_idle_s = 60, .stack_closing_s = 10,
	};
	struct dp_flow_table *t = dp_flow_table_create(&tp);
	struct dp_fast_cache *c = dp_fast_cache_create(4096);
	struct dp_fast_pkt fp[N];
	long rounds = argc > 1 ? atol(argv[1]) : 200000;
	uint64_t best[3] = { ~0ull, ~0ull, ~0ull };
	volatile uint64_t sink = 0;
	double ghz = tsc_ghz();

	if (!t || !c || rounds <= 0) {
		fprintf(stderr, "usage: fast_micro [ROUNDS]\n");
		return 2;
	}
	for (int i = 0; i < N; i++) {
		struct dp_pkt_view v;
		struct dp_flow *f;
		bool created;
		int dir;

		build(fresh[i], i);
		memcpy(pkt[i], fresh[i], sizeof(pkt[i]));
		if (dp_parse(pkt[i], 60, DP_LINK_ETH, 0, &v) != 0 ||
		    dp_fast_classify(pkt[i], 60, DP_LINK_ETH, mac, 0, 0,
				     &fp[i]) != DP_FAST_ECHO)
			return 1;
		f = dp_flow_lookup_or_create(t, &v, 0, 0, 1, &created, &dir);
		dp_fast_fill(dp_fast_set(c, &fp[i]), &fp[i], f, dir, 0);
	}
	for (long r = 0; r < rounds; r++) {
		for (int step = 0; step < 3; step++) {
			uint64_t t0, dt;

			memcpy(pkt, fresh, sizeof(pkt));
			t0 = __rdtsc();
			for (int i = 0; i < N; i++) {
				sink += dp_fast_classify(pkt[i], 60, DP_LINK_ETH,
							 mac, 0, 0, &fp[i]);
				if (step >= 1)
					sink += (uintptr_t)dp_fast_find(
						dp_fast_set(c, &fp[i]), &fp[i]);
				if (step == 2)
					sink += dp_l3_echo_reply_fast(pkt[i],
						DP_LINK_ETH, 14, 4, 26, mac);
			}
			dt = __rdtsc() - t0;
			if (dt < best[step])
				best[step] = dt;
		}
	}
	printf("fast_micro: %d packets, best of %ld rounds, TSC %.2f GHz\n",
	       N, rounds, ghz);
	printf("  classify:                 %6.1f ticks %5.1f ns per packet\n",
	       best[0] / (double)N, best[0] / (double)N / ghz);
	printf("  + cache lookup:           %6.1f ticks %5.1f ns per packet\n",
	       best[1] / (double)N, best[1] / (double)N / ghz);
	printf("  + echo reply:             %6.1f ticks %5.1f ns per packet\n",
	       best[2] / (double)N, best[2] / (double)N / ghz);
	dp_fast_cache_destroy(c);
	dp_flow_table_destroy(t, NULL, NULL);
	return sink == 42; /* keeps the work */
}
