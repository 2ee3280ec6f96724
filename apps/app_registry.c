/* Application registry. See apps.h and include/strata/hooks.h. */
#include "apps.h"

#include <string.h>

static struct strata_app apps[APPS_MAX];
static size_t apps_ctx_off[APPS_MAX];
static unsigned apps_n;
static size_t apps_ctx_total;
static size_t apps_conn_off[APPS_MAX];
static size_t apps_conn_total;
static size_t apps_http_off[APPS_MAX];
static size_t apps_http_total;

static size_t apps_align(size_t sz)
{
	return (sz + APPS_CTX_ALIGN - 1) & ~(size_t)(APPS_CTX_ALIGN - 1);
}

int strata_app_register(const struct strata_app *app)
{
	size_t sz;

	if (!app || apps_n >= APPS_MAX)
		return -1;
	sz = apps_align(app->flow_ctx_size);
	if (sz < app->flow_ctx_size ||
	    apps_align(app->conn_ctx_size) < app->conn_ctx_size ||
	    apps_align(app->http_ctx_size) < app->http_ctx_size)
		return -1;
	apps[apps_n] = *app;
	apps_ctx_off[apps_n] = apps_ctx_total;
	apps_ctx_total += sz;
	apps_conn_off[apps_n] = apps_conn_total;
	apps_conn_total += apps_align(app->conn_ctx_size);
	apps_http_off[apps_n] = apps_http_total;
	apps_http_total += apps_align(app->http_ctx_size);
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

size_t apps_conn_ctx_size(void)
{
	return apps_conn_total;
}

static inline void *apps_conn_ctx(uint8_t *ctx, unsigned i)
{
	return ctx && apps[i].conn_ctx_size ? ctx + apps_conn_off[i] : NULL;
}

void apps_ingress(struct strata_conn_info *c, uint8_t *ctx,
		  struct strata_ingress_decision *d)
{
	unsigned i;

	d->verdict = STRATA_INGRESS_CONTINUE;
	d->metadata = 0;
	for (i = 0; i < apps_n; i++) {
		if (!apps[i].ingress)
			continue;
		apps[i].ingress(apps[i].app_data, c, apps_conn_ctx(ctx, i), d);
		if (d->verdict != STRATA_INGRESS_CONTINUE)
			break;
	}
	c->metadata = d->metadata;
}

void apps_egress(const struct strata_conn_info *c, uint8_t *ctx,
		 struct strata_egress_decision *d)
{
	unsigned i;

	for (i = 0; i < apps_n && !d->decided; i++)
		if (apps[i].egress)
			apps[i].egress(apps[i].app_data, c,
				       apps_conn_ctx(ctx, i), d);
}

bool apps_has_tunnel_hook(void)
{
	for (unsigned i = 0; i < apps_n; i++)
		if (apps[i].tunnel)
			return true;
	return false;
}

void apps_tunnel(const struct strata_conn_info *c, uint8_t *ctx, int dir,
		 const uint8_t *data, size_t len,
		 struct strata_tunnel_control *ctl)
{
	for (unsigned i = 0; i < apps_n && !ctl->close; i++)
		if (apps[i].tunnel)
			apps[i].tunnel(apps[i].app_data, c,
				       apps_conn_ctx(ctx, i), dir, data, len,
				       ctl);
}

void apps_conn_end(const struct strata_conn_info *c, uint8_t *ctx,
		   const struct strata_conn_end *e)
{
	for (unsigned i = 0; i < apps_n; i++)
		if (apps[i].conn_end)
			apps[i].conn_end(apps[i].app_data, c,
					 apps_conn_ctx(ctx, i), e);
}

size_t apps_http_ctx_size(void)
{
	return apps_http_total;
}

static void *apps_http_ctx(uint8_t *ctx, unsigned i)
{
	return ctx && apps[i].http_ctx_size ? ctx + apps_http_off[i] : NULL;
}

bool apps_has_http_body_hooks(void)
{
	for (unsigned i = 0; i < apps_n; i++)
		if (apps[i].http_request_body || apps[i].http_response_body)
			return true;
	return false;
}

void apps_http_request(struct strata_http *h, uint8_t *ctx,
		       struct strata_http_decision *d)
{
	for (unsigned i = 0; i < apps_n; i++) {
		if (!apps[i].http_request)
			continue;
		apps[i].http_request(apps[i].app_data, h, apps_http_ctx(ctx, i),
				     d);
		if (d->verdict != STRATA_HTTP_CONTINUE)
			return;
	}
}

void apps_http_request_body(struct strata_http *h, uint8_t *ctx,
			    const uint8_t *data, size_t len, bool end,
			    struct strata_http_decision *d)
{
	for (unsigned i = 0; i < apps_n; i++) {
		if (!apps[i].http_request_body)
			continue;
		apps[i].http_request_body(apps[i].app_data, h,
					  apps_http_ctx(ctx, i), data, len,
					  end, d);
		if (d->verdict == STRATA_HTTP_ANSWER ||
		    d->verdict == STRATA_HTTP_BLOCK)
			return;
	}
}

void apps_http_response(struct strata_http *h, uint8_t *ctx)
{
	for (unsigned i = 0; i < apps_n; i++)
		if (apps[i].http_response)
			apps[i].http_response(apps[i].app_data, h,
					      apps_http_ctx(ctx, i));
}

void apps_http_response_body(struct strata_http *h, uint8_t *ctx,
			     const uint8_t *data, size_t len, bool end)
{
	for (unsigned i = 0; i < apps_n; i++)
		if (apps[i].http_response_body)
			apps[i].http_response_body(apps[i].app_data, h,
						   apps_http_ctx(ctx, i), data,
						   len, end);
}

void apps_http_end(struct strata_http *h, uint8_t *ctx, int status,
		   uint64_t bytes_up, uint64_t bytes_down)
{
	for (unsigned i = 0; i < apps_n; i++)
		if (apps[i].http_end)
			apps[i].http_end(apps[i].app_data, h,
					 apps_http_ctx(ctx, i), status,
					 bytes_up, bytes_down);
}

void apps_reset(void)
{
	memset(apps, 0, sizeof(apps));
	memset(apps_ctx_off, 0, sizeof(apps_ctx_off));
	apps_n = 0;
	apps_ctx_total = 0;
	memset(apps_conn_off, 0, sizeof(apps_conn_off));
	apps_conn_total = 0;
	memset(apps_http_off, 0, sizeof(apps_http_off));
	apps_http_total = 0;
}
