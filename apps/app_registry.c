/* Application registry. See apps.h and include/strata/hooks.h. */
#include "apps.h"

#include <string.h>

static struct strata_app apps[APPS_MAX];
static size_t apps_ctx_off[APPS_MAX];
static unsigned apps_n;
static size_t apps_ctx_total;

int strata_app_register(const struct strata_app *app)
{
	size_t sz;

	if (!app || apps_n >= APPS_MAX)
		return -1;
	sz = (app->flow_ctx_size + APPS_CTX_ALIGN - 1) &
	     ~(size_t)(APPS_CTX_ALIGN - 1);
	if (sz < app->flow_ctx_size)
		return -1;
	apps[apps_n] = *app;
	apps_ctx_off[apps_n] = apps_ctx_total;
	apps_ctx_total += sz;
	apps_n++;
	return 0;
}

size_t apps_flow_ctx_size(void)
{
	return apps_ctx_total;
}

static inline void *apps_ctx(const struct dp_flow *f, unsigned i)
{
	if (!f->app_ctx || !apps[i].flow_ctx_size)
		return NULL;
	return f->app_ctx + apps_ctx_off[i];
}

void apps_ip_flow(struct dp_flow *f, const struct dp_pkt_view *v)
{
	unsigned i;

	f->decision.verdict = STRATA_CONTINUE;
	f->decision.out_port = 0;
	for (i = 0; i < apps_n; i++) {
		struct strata_ip_flow_decision d = { STRATA_CONTINUE, 0 };

		if (!apps[i].ip_flow)
			continue;
		apps[i].ip_flow(apps[i].app_data, &f->info, v, apps_ctx(f, i),
				&d);
		if (d.verdict != STRATA_CONTINUE) {
			f->decision = d;
			return;
		}
	}
}

void apps_flow_end(struct dp_flow *f)
{
	uint64_t pkts = f->pkts[0] + f->pkts[1];
	uint64_t bytes = f->bytes[0] + f->bytes[1];
	unsigned i;

	for (i = 0; i < apps_n; i++) {
		if (apps[i].flow_end)
			apps[i].flow_end(apps[i].app_data, &f->info,
					 apps_ctx(f, i), pkts, bytes);
	}
}

void apps_reset(void)
{
	memset(apps, 0, sizeof(apps));
	memset(apps_ctx_off, 0, sizeof(apps_ctx_off));
	apps_n = 0;
	apps_ctx_total = 0;
}
