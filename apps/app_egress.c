/* The built-in egress app: egress.rewrite rules from config send
 * connections for some original destinations to another host and port
 * (a name resolved by the stack's DNS, or an address). */
#include "apps.h"

#include <stdio.h>
#include <string.h>

#include "conf/conf.h"

static struct {
	struct conf_rewrite rules[CONF_MAX_RULES];
	unsigned n;
} app_egress;

static void app_egress_hook(void *app, const struct strata_conn_info *c,
			    void *conn_ctx, struct strata_egress_decision *d)
{
	for (unsigned i = 0; i < app_egress.n; i++) {
		const struct conf_rewrite *r = &app_egress.rules[i];

		union dp_addr dst;

		memcpy(&dst, c->orig_dst, sizeof(dst));
		if (c->orig_dport < r->dport_lo || c->orig_dport > r->dport_hi ||
		    !conf_prefix_contains(&r->dst, &dst))
			continue;
		snprintf(d->host, sizeof(d->host), "%s", r->host);
		if (r->port)
			d->dport = r->port;
		d->decided = 1;
		return;
	}
}

int app_egress_init(const struct conf *c)
{
	static const struct strata_app app = {
		.name = "egress",
		.egress = app_egress_hook,
	};

	memcpy(app_egress.rules, c->egress.rewrites,
	       sizeof(app_egress.rules[0]) * c->egress.n_rewrites);
	app_egress.n = c->egress.n_rewrites;
	if (!app_egress.n)
		return 0;
	return strata_app_register(&app);
}
