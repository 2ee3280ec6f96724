/* The built-in policy app: config rules matched on a flow's first
 * packet, in order, first match wins.
 *
 * Rules match the flow in the direction of its first packet (src is the
 * side that opened it). A prefix matches only addresses of its own
 * family: an IPv4 prefix never matches an IPv6 flow, even one whose
 * address is written ::ffff:a.b.c.d. A dports range other than any only
 * matches protocols with ports (config validation already requires
 * proto tcp, udp or sctp for it). */
#include "apps.h"

#include <string.h>

#include "conf/conf.h"

struct app_policy_prefix {
	union dp_addr addr;   /* masked */
	union dp_addr mask;
	bool set;
	bool v4;
};

struct app_policy_rule {
	struct app_policy_prefix src, dst;
	uint8_t proto;
	uint16_t dport_lo, dport_hi;
	struct strata_ip_flow_decision d; /* verdict CONTINUE for allow */
};

struct app_policy {
	struct app_policy_rule rules[CONF_MAX_RULES];
	unsigned n_rules;
};

static struct app_policy app_policy;

static void app_policy_prefix(struct app_policy_prefix *p, bool set,
			      const struct conf_prefix *c)
{
	unsigned bits, i;

	memset(p, 0, sizeof(*p));
	p->set = set;
	if (!set)
		return;
	p->v4 = c->v4;
	/* v4 prefixes count within the mapped address's last 32 bits. */
	bits = c->v4 ? 96u + (c->prefix_len > 32 ? 32u : c->prefix_len) :
		       (c->prefix_len > 128 ? 128u : c->prefix_len);
	for (i = 0; i < 16; i++) {
		unsigned n = bits > 8 * i ? bits - 8 * i : 0;

		p->mask.b[i] = n >= 8 ? 0xff : (uint8_t)(0xff00u >> n);
		p->addr.b[i] = c->addr.b[i] & p->mask.b[i];
	}
}

static inline bool app_policy_prefix_match(const struct app_policy_prefix *p,
					   const uint8_t *a, bool flow_v4)
{
	union dp_addr x;

	if (!p->set)
		return true;
	if (p->v4 != flow_v4)
		return false;
	memcpy(&x, a, sizeof(x));
	return (x.q[0] & p->mask.q[0]) == p->addr.q[0] &&
	       (x.q[1] & p->mask.q[1]) == p->addr.q[1];
}

static inline bool app_policy_has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132 || proto == 136;
}

static void app_policy_ip_flow(void *app, const struct strata_flow_info *f,
			       const struct dp_pkt_view *first_pkt,
			       void *flow_ctx,
			       struct strata_ip_flow_decision *d)
{
	const struct app_policy *ap = app;
	bool v4 = f->ip_version == 4;
	unsigned i;

	for (i = 0; i < ap->n_rules; i++) {
		const struct app_policy_rule *r = &ap->rules[i];

		if (r->proto && r->proto != f->proto)
			continue;
		if ((r->dport_lo != 0 || r->dport_hi != 65535) &&
		    (!app_policy_has_ports(f->proto) ||
		     f->dport < r->dport_lo || f->dport > r->dport_hi))
			continue;
		if (!app_policy_prefix_match(&r->src, f->src, v4) ||
		    !app_policy_prefix_match(&r->dst, f->dst, v4))
			continue;
		*d = r->d;
		return;
	}
}

static enum strata_verdict app_policy_verdict(enum conf_action a)
{
	switch (a) {
	case CONF_ACTION_DROP:
		return STRATA_DROP;
	case CONF_ACTION_LOCAL:
		return STRATA_LOCAL;
	case CONF_ACTION_STACK:
		return STRATA_STACK;
	case CONF_ACTION_FORWARD:
		return STRATA_FORWARD;
	case CONF_ACTION_ALLOW:
	default:
		return STRATA_CONTINUE;
	}
}

int app_policy_init(const struct conf *c)
{
	static const struct strata_app app = {
		.name = "policy",
		.flow_ctx_size = 0,
		.app_data = &app_policy,
		.ip_flow = app_policy_ip_flow,
	};
	unsigned i, n;

	n = c->policy.n_rules < CONF_MAX_RULES ? c->policy.n_rules :
						  CONF_MAX_RULES;
	memset(&app_policy, 0, sizeof(app_policy));
	for (i = 0; i < n; i++) {
		const struct conf_rule *cr = &c->policy.rules[i];
		struct app_policy_rule *r = &app_policy.rules[i];

		app_policy_prefix(&r->src, cr->src_set, &cr->src);
		app_policy_prefix(&r->dst, cr->dst_set, &cr->dst);
		r->proto = cr->proto;
		r->dport_lo = cr->dport_lo;
		r->dport_hi = cr->dport_hi;
		r->d.verdict = app_policy_verdict(cr->action);
		if (cr->action == CONF_ACTION_FORWARD)
			r->d.out_port = cr->out_port_id;
	}
	app_policy.n_rules = n;
	return strata_app_register(&app);
}
