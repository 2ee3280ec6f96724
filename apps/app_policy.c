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
	bool reject;                      /* stack, then refused at ingress */
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

/* The first rule matching (proto, dport, src, dst), or NULL. */
static const struct app_policy_rule *
app_policy_match(const struct app_policy *ap, uint8_t proto, uint16_t dport,
		 const uint8_t *src, const uint8_t *dst, bool v4)
{
	for (unsigned i = 0; i < ap->n_rules; i++) {
		const struct app_policy_rule *r = &ap->rules[i];

		if (r->proto && r->proto != proto)
			continue;
		if ((r->dport_lo != 0 || r->dport_hi != 65535) &&
		    (!app_policy_has_ports(proto) ||
		     dport < r->dport_lo || dport > r->dport_hi))
			continue;
		if (!app_policy_prefix_match(&r->src, src, v4) ||
		    !app_policy_prefix_match(&r->dst, dst, v4))
			continue;
		return r;
	}
	return NULL;
}

static void app_policy_ip_flow(void *app, const struct strata_flow_info *f,
			       const struct dp_pkt_view *first_pkt,
			       void *flow_ctx,
			       struct strata_ip_flow_decision *d)
{
	const struct app_policy_rule *r = app_policy_match(app, f->proto,
		f->dport, f->src, f->dst, f->ip_version == 4);

	if (r)
		*d = r->d;
}

/* reject rules: the stack refuses the connection as a closed port would
 * (TCP RST, ICMP port unreachable). */
static void app_policy_ingress(void *app, const struct strata_conn_info *c,
			       void *conn_ctx,
			       struct strata_ingress_decision *d)
{
	const struct app_policy_rule *r = app_policy_match(app, c->proto,
		c->orig_dport, c->client, c->orig_dst, c->ip_version == 4);

	if (r && r->reject)
		d->verdict = STRATA_INGRESS_REJECT;
}

static enum strata_verdict app_policy_verdict(enum conf_action a)
{
	switch (a) {
	case CONF_ACTION_DROP:
		return STRATA_DROP;
	case CONF_ACTION_LOCAL:
		return STRATA_LOCAL;
	case CONF_ACTION_STACK:
	case CONF_ACTION_REJECT:
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
		.ingress = app_policy_ingress,
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
		r->reject = cr->action == CONF_ACTION_REJECT;
		if (cr->action == CONF_ACTION_FORWARD)
			r->d.out_port = cr->out_port_id;
	}
	app_policy.n_rules = n;
	return strata_app_register(&app);
}
