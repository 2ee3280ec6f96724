/* strata application hooks: the public C interface for applications.
 *
 * An application is a struct strata_app with callbacks for the hooks it
 * cares about. Apps are registered at start-up in order; for each hook
 * they are asked in that order and the first verdict other than
 * STRATA_CONTINUE wins. Each hooked object (here a flow) carries a
 * context of flow_ctx_size bytes per app, zeroed at creation, that the
 * app may use as it likes until the object ends.
 *
 * Callbacks run on the lcore that owns the object, to completion: they
 * must not block. */
#ifndef STRATA_HOOKS_H
#define STRATA_HOOKS_H

#include <stddef.h>
#include <stdint.h>

struct dp_pkt_view;
struct strata_flow;

enum strata_verdict {
	STRATA_CONTINUE = 0, /* no opinion: ask the next app */
	STRATA_DROP,         /* drop every packet of the flow */
	STRATA_LOCAL,        /* strata answers itself (echo, unreachable) */
	STRATA_STACK,        /* deliver to the userspace TCP/UDP stack */
	STRATA_FORWARD,      /* send out of out_port unchanged (TTL-1) */
};

struct strata_ip_flow_decision {
	enum strata_verdict verdict;
	uint16_t out_port;   /* STRATA_FORWARD: port index */
};

/* Read-only facts about a flow, for hooks. */
struct strata_flow_info {
	uint16_t in_port;          /* port index the first packet came on */
	uint8_t proto;             /* IPPROTO_* */
	uint8_t ip_version;
	const uint8_t *src, *dst;  /* 16 bytes each; IPv4 mapped ::ffff:a.b.c.d */
	uint16_t sport, dport;     /* host order; ICMP echo: id, 0 */
	int to_local;              /* destination is one of strata's addresses */
	uint64_t start_ns;
};

struct strata_app {
	const char *name;
	size_t flow_ctx_size;
	void *app_data;       /* passed back as `app` */

	/* ip_flow: once per new flow, with the first packet's view. */
	void (*ip_flow)(void *app, const struct strata_flow_info *f,
			const struct dp_pkt_view *first_pkt, void *flow_ctx,
			struct strata_ip_flow_decision *d);
	/* flow_end: when the flow expires or is evicted; counters final. */
	void (*flow_end)(void *app, const struct strata_flow_info *f,
			 void *flow_ctx, uint64_t pkts, uint64_t bytes);
};

/* Register before `strata run`/`strata pcap` starts the dataplane.
 * Returns 0, or -1 when too many apps are registered. */
int strata_app_register(const struct strata_app *app);

#endif
