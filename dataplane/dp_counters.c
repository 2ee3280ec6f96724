#include "dp_counters.h"

static const char *const dp_disp_names[DP_DISP_MAX] = {
#define DP_DISP_NAME(e, s) [DP_DISP_##e] = s,
	DP_DISPOSITIONS(DP_DISP_NAME)
#undef DP_DISP_NAME
};

const char *dp_disp_name(enum dp_disp d)
{
	return (unsigned)d < DP_DISP_MAX ? dp_disp_names[d] : "unknown";
}

void dp_counters_add(struct dp_counters *sum, const struct dp_counters *c)
{
	unsigned i;

	sum->rx_pkts += c->rx_pkts;
	sum->rx_bytes += c->rx_bytes;
	sum->tx_pkts += c->tx_pkts;
	sum->tx_bytes += c->tx_bytes;
	for (i = 0; i < DP_DISP_MAX; i++)
		sum->disp[i] += c->disp[i];
	for (i = 0; i < DP_DROP_MAX; i++)
		sum->drops[i] += c->drops[i];
	sum->tx_generated += c->tx_generated;
	sum->flows_created += c->flows_created;
	sum->flows_expired += c->flows_expired;
	sum->flows_active += c->flows_active;
	sum->fast_path += c->fast_path;
	sum->fast_cache_bypass += c->fast_cache_bypass;
	sum->reass_completed += c->reass_completed;
	sum->reass_timeouts += c->reass_timeouts;
	sum->stack_no_stack += c->stack_no_stack;
	sum->idle_sleeps += c->idle_sleeps;
	sum->rx_held_back += c->rx_held_back;
	sum->stack_tx += c->stack_tx;
	sum->stack_tx_drops += c->stack_tx_drops;
	sum->neigh_sync_sent += c->neigh_sync_sent;
	sum->neigh_sync_lost += c->neigh_sync_lost;
	sum->neigh_sync_received += c->neigh_sync_received;
}
