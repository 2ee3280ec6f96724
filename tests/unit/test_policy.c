/* Unit tests of the app registry and the built-in policy app.
 *
 * Registry: context sizes and alignment, slices handed to each app,
 * order and first-verdict-wins, flow_end totals, the size limit.
 * Policy: rules loaded from YAML through conf, matched against flows
 * made by the real flow table: v4 and v6 prefixes (host bits masked,
 * families kept apart), proto, port ranges, first match wins, allow
 * falling through, forward with its port.
 * L4 hooks: ingress/egress/tunnel/conn_end order, context slices and
 * early stops; policy reject rules and egress.rewrite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "apps/apps.h"
#include "conf/conf.h"
#include "dataplane/dp_flow.h"

static void set_addr(union dp_addr *a, const char *s)
{
	if (strchr(s, ':')) {
		assert_int_equal(inet_pton(AF_INET6, s, a->b), 1);
	} else {
		uint32_t v4;

		assert_int_equal(inet_pton(AF_INET, s, &v4), 1);
		dp_addr_from_v4(a, v4);
	}
}

static void make_view(struct dp_pkt_view *v, const char *src, const char *dst,
		      uint8_t proto, uint16_t sport, uint16_t dport)
{
	memset(v, 0, sizeof(*v));
	set_addr(&v->src, src);
	set_addr(&v->dst, dst);
	v->l3 = strchr(src, ':') ? DP_L3_IPV6 : DP_L3_IPV4;
	v->ip_version = strchr(src, ':') ? 6 : 4;
	v->l4_proto = proto;
	v->sport = sport;
	v->dport = dport;
	if (proto == IPPROTO_ICMP)
		v->icmp_type = 8;
	if (proto == IPPROTO_ICMPV6)
		v->icmp_type = 128;
}

static struct dp_flow_table *mk_table(void)
{
	struct dp_flow_table_params p = {
		.max_flows = 256,
		.tcp_idle_s = 300,
		.udp_idle_s = 60,
		.other_idle_s = 30,
		.app_ctx_size = apps_flow_ctx_size(),
	};
	struct dp_flow_table *t = dp_flow_table_create(&p);

	assert_non_null(t);
	return t;
}

/* ---- registry ---------------------------------------------------------- */

struct probe {
	int id;
	enum strata_verdict verdict;
	uint16_t out_port;
	unsigned calls, ends;
	void *last_ctx;
	uint64_t end_pkts, end_bytes;
};

static int call_log[16];
static unsigned n_calls;

static void probe_ip_flow(void *app, const struct strata_flow_info *f,
			  const struct dp_pkt_view *first_pkt, void *flow_ctx,
			  struct strata_ip_flow_decision *d)
{
	struct probe *p = app;

	assert_int_equal(d->verdict, STRATA_CONTINUE);
	assert_non_null(first_pkt);
	p->calls++;
	p->last_ctx = flow_ctx;
	if (n_calls < 16)
		call_log[n_calls++] = p->id;
	if (flow_ctx) {
		/* zeroed at creation, then marked as this app's */
		assert_int_equal(((uint8_t *)flow_ctx)[0], 0);
		memset(flow_ctx, p->id, 1);
	}
	d->verdict = p->verdict;
	d->out_port = p->out_port;
}

static void probe_flow_end(void *app, const struct strata_flow_info *f,
			   void *flow_ctx, uint64_t pkts, uint64_t bytes)
{
	struct probe *p = app;

	p->ends++;
	p->end_pkts = pkts;
	p->end_bytes = bytes;
	if (flow_ctx)
		assert_int_equal(((uint8_t *)flow_ctx)[0], p->id);
}

static void test_registry(void **state)
{
	struct probe a = { .id = 1 }, b = { .id = 2 }, c = { .id = 3 };
	struct strata_app app_a = { .name = "a", .flow_ctx_size = 5,
				    .app_data = &a, .ip_flow = probe_ip_flow,
				    .flow_end = probe_flow_end };
	struct strata_app app_b = { .name = "b", .flow_ctx_size = 0,
				    .app_data = &b, .ip_flow = probe_ip_flow,
				    .flow_end = probe_flow_end };
	struct strata_app app_c = { .name = "c", .flow_ctx_size = 16,
				    .app_data = &c, .ip_flow = probe_ip_flow };
	struct dp_flow_table *t;
	struct dp_pkt_view v;
	struct dp_flow *f;
	bool created;
	int dir;

	apps_reset();
	assert_int_equal(apps_flow_ctx_size(), 0);
	assert_int_equal(strata_app_register(&app_a), 0);
	assert_int_equal(strata_app_register(&app_b), 0);
	assert_int_equal(strata_app_register(&app_c), 0);
	assert_int_equal(strata_app_register(NULL), -1);
	/* 5 -> 16, 0 -> 0, 16 -> 16 */
	assert_int_equal(apps_flow_ctx_size(), 32);

	t = mk_table();
	make_view(&v, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 1000, 53);
	f = dp_flow_lookup_or_create(t, &v, 0, 0, 0, &created, &dir);
	assert_non_null(f);

	/* Nobody has an opinion: all asked in order, CONTINUE stays. */
	n_calls = 0;
	apps_ip_flow(f, &v);
	assert_int_equal(n_calls, 3);
	assert_int_equal(call_log[0], 1);
	assert_int_equal(call_log[1], 2);
	assert_int_equal(call_log[2], 3);
	assert_int_equal(f->decision.verdict, STRATA_CONTINUE);
	assert_ptr_equal(a.last_ctx, f->app_ctx);
	assert_null(b.last_ctx);
	assert_ptr_equal(c.last_ctx, f->app_ctx + 16);

	/* Second app decides: the third is not asked. */
	make_view(&v, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 1001, 53);
	f = dp_flow_lookup_or_create(t, &v, 0, 0, 0, &created, &dir);
	b.verdict = STRATA_FORWARD;
	b.out_port = 7;
	c.verdict = STRATA_DROP;
	n_calls = 0;
	apps_ip_flow(f, &v);
	assert_int_equal(n_calls, 2);
	assert_int_equal(f->decision.verdict, STRATA_FORWARD);
	assert_int_equal(f->decision.out_port, 7);

	/* flow_end: totals of both directions, to apps that have it. */
	dp_flow_touch(f, 0, 100, 1);
	dp_flow_touch(f, 1, 40, 2);
	dp_flow_touch(f, 1, 60, 3);
	apps_flow_end(f);
	assert_int_equal(a.ends, 1);
	assert_int_equal(b.ends, 1);
	assert_int_equal(a.end_pkts, 3);
	assert_int_equal(a.end_bytes, 200);
	assert_int_equal(b.end_pkts, 3);
	dp_flow_table_destroy(t, NULL, NULL);

	/* At most APPS_MAX apps. */
	apps_reset();
	for (int i = 0; i < APPS_MAX; i++)
		assert_int_equal(strata_app_register(&app_b), 0);
	assert_int_equal(strata_app_register(&app_b), -1);
	apps_reset();
	assert_int_equal(apps_flow_ctx_size(), 0);
}

/* ---- policy ------------------------------------------------------------ */

static const char policy_yaml[] =
	"ports:\n"
	"  - name: in\n"
	"    kind: tun\n"
	"  - name: out\n"
	"    kind: tun\n"
	"    tun: { ifname: strata1 }\n"
	"policy:\n"
	"  default_action: drop\n"
	"  rules:\n"
	"    - { action: allow, src: 10.9.9.9/32 }\n"
	"    - { action: drop, src: 10.1.2.3/8, proto: tcp, dports: 22 }\n"
	"    - { action: stack, dst: 192.0.2.0/24, proto: tcp, "
	"dports: 80-89 }\n"
	"    - { action: forward, out_port: out, dst: 2001:db8:1::/48 }\n"
	"    - { action: local, proto: icmp }\n"
	"    - { action: drop, dst: 2001:db8::/32 }\n"
	"    - { action: local, src: 0.0.0.0/0, proto: udp }\n";

static struct conf pc;
static struct dp_flow_table *pt;

static int policy_setup(void **state)
{
	char err[1024];
	FILE *e = fmemopen(err, sizeof(err), "w");
	int rc;

	rc = conf_load_string(&pc, policy_yaml, strlen(policy_yaml), "t", e);
	fclose(e);
	if (rc != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	apps_reset();
	if (app_policy_init(&pc) != 0)
		return -1;
	pt = mk_table();
	return 0;
}

static int policy_teardown(void **state)
{
	dp_flow_table_destroy(pt, NULL, NULL);
	conf_free(&pc);
	apps_reset();
	return 0;
}

static struct strata_ip_flow_decision decide(const char *src, const char *dst,
					     uint8_t proto, uint16_t sport,
					     uint16_t dport)
{
	struct dp_pkt_view v;
	struct dp_flow *f;
	bool created;
	int dir;

	make_view(&v, src, dst, proto, sport, dport);
	f = dp_flow_lookup_or_create(pt, &v, 0, 0, 0, &created, &dir);
	assert_non_null(f);
	assert_true(created);
	apps_ip_flow(f, &v);
	return f->decision;
}

static void test_policy_match(void **state)
{
	struct strata_ip_flow_decision d;
	uint16_t p = 1000;

	assert_int_equal(pc.policy.n_rules, 7);

	/* rule 1 (allow) wins over rule 2 for 10.9.9.9: no opinion,
	 * even though rule 2 would drop it. */
	d = decide("10.9.9.9", "172.16.0.1", IPPROTO_TCP, p++, 22);
	assert_int_equal(d.verdict, STRATA_CONTINUE);

	/* rule 2: 10/8 (host bits in the config are masked), tcp 22 */
	d = decide("10.200.0.1", "172.16.0.1", IPPROTO_TCP, p++, 22);
	assert_int_equal(d.verdict, STRATA_DROP);
	d = decide("11.0.0.1", "172.16.0.1", IPPROTO_TCP, p++, 22);
	assert_int_equal(d.verdict, STRATA_CONTINUE);
	d = decide("10.200.0.1", "172.16.0.1", IPPROTO_TCP, p++, 23);
	assert_int_equal(d.verdict, STRATA_CONTINUE);
	/* udp 22 from 10/8: not rule 2 (proto); rule 7 (udp) says local */
	d = decide("10.200.0.1", "172.16.0.1", IPPROTO_UDP, p++, 22);
	assert_int_equal(d.verdict, STRATA_LOCAL);

	/* rule 3: 192.0.2.0/24 tcp 80-89, bounds included */
	d = decide("172.16.0.1", "192.0.2.77", IPPROTO_TCP, p++, 80);
	assert_int_equal(d.verdict, STRATA_STACK);
	d = decide("172.16.0.1", "192.0.2.77", IPPROTO_TCP, p++, 89);
	assert_int_equal(d.verdict, STRATA_STACK);
	d = decide("172.16.0.1", "192.0.2.77", IPPROTO_TCP, p++, 90);
	assert_int_equal(d.verdict, STRATA_CONTINUE);
	d = decide("172.16.0.1", "192.0.3.77", IPPROTO_TCP, p++, 80);
	assert_int_equal(d.verdict, STRATA_CONTINUE);
	/* Matched in the first packet's direction only: the server's
	 * side sending from port 80 is not "dst 192.0.2.0/24". */
	d = decide("192.0.2.77", "172.16.0.1", IPPROTO_TCP, 80, p++);
	assert_int_equal(d.verdict, STRATA_CONTINUE);

	/* rule 4 before rule 6: the /48 forwards, the rest of /32 drops */
	d = decide("2001:db8:ffff::1", "2001:db8:1:2::3", IPPROTO_UDP, p++,
		   443);
	assert_int_equal(d.verdict, STRATA_FORWARD);
	assert_int_equal(d.out_port, 1);
	d = decide("2001:db8:ffff::1", "2001:db8:2::3", IPPROTO_UDP, p++,
		   443);
	assert_int_equal(d.verdict, STRATA_DROP);
	d = decide("2001:db9::1", "2001:db9::3", IPPROTO_TCP, p++, 443);
	assert_int_equal(d.verdict, STRATA_CONTINUE);

	/* rule 5: icmp (v4 only: icmpv6 is another protocol) */
	d = decide("172.16.0.1", "172.16.0.2", IPPROTO_ICMP, p++, 0);
	assert_int_equal(d.verdict, STRATA_LOCAL);
	d = decide("2001:db9::1", "2001:db9::2", IPPROTO_ICMPV6, p++, 0);
	assert_int_equal(d.verdict, STRATA_CONTINUE);

	/* rule 7: a v4 /0 matches any IPv4 flow but no IPv6 one, not
	 * even an IPv4-mapped address. */
	d = decide("172.16.0.1", "172.16.0.2", IPPROTO_UDP, p++, 9);
	assert_int_equal(d.verdict, STRATA_LOCAL);
	d = decide("2001:db9::1", "2001:db9::2", IPPROTO_UDP, p++, 9);
	assert_int_equal(d.verdict, STRATA_CONTINUE);
	d = decide("::ffff:172.16.0.1", "2001:db9::2", IPPROTO_UDP, p++, 9);
	assert_int_equal(d.verdict, STRATA_CONTINUE);
}

/* Hand-built rules: prefix lengths that do not end on a byte, v6 /0,
 * and no rules at all. */
static void test_policy_prefix_bits(void **state)
{
	struct strata_ip_flow_decision d;
	struct conf *c = calloc(1, sizeof(*c));
	uint16_t p = 2000;

	assert_non_null(c);
	conf_defaults(c);
	c->policy.n_rules = 3;
	c->policy.rules[0].action = CONF_ACTION_DROP;
	assert_int_equal(conf_parse_prefix("10.0.0.0/9",
					   &c->policy.rules[0].src), 0);
	c->policy.rules[0].src_set = true;
	c->policy.rules[0].dport_hi = 65535;
	c->policy.rules[1].action = CONF_ACTION_STACK;
	assert_int_equal(conf_parse_prefix("fe80::/10",
					   &c->policy.rules[1].dst), 0);
	c->policy.rules[1].dst_set = true;
	c->policy.rules[1].dport_hi = 65535;
	c->policy.rules[2].action = CONF_ACTION_LOCAL;
	assert_int_equal(conf_parse_prefix("::/0",
					   &c->policy.rules[2].src), 0);
	c->policy.rules[2].src_set = true;
	c->policy.rules[2].dport_hi = 65535;

	apps_reset();
	assert_int_equal(app_policy_init(c), 0);
	pt = mk_table();

	d = decide("10.127.255.255", "1.1.1.1", IPPROTO_TCP, p++, 1);
	assert_int_equal(d.verdict, STRATA_DROP);
	d = decide("10.128.0.0", "1.1.1.1", IPPROTO_TCP, p++, 1);
	assert_int_equal(d.verdict, STRATA_CONTINUE);
	d = decide("2001:db8::1", "febf::1", IPPROTO_TCP, p++, 1);
	assert_int_equal(d.verdict, STRATA_STACK);
	d = decide("2001:db8::1", "fec0::1", IPPROTO_TCP, p++, 1);
	assert_int_equal(d.verdict, STRATA_LOCAL); /* ::/0, v6 only */
	dp_flow_table_destroy(pt, NULL, NULL);

	/* No rules: never an opinion. */
	c->policy.n_rules = 0;
	apps_reset();
	assert_int_equal(app_policy_init(c), 0);
	pt = mk_table();
	d = decide("10.0.0.1", "1.1.1.1", IPPROTO_TCP, p++, 1);
	assert_int_equal(d.verdict, STRATA_CONTINUE);
	dp_flow_table_destroy(pt, NULL, NULL);
	pt = NULL;
	apps_reset();
	conf_free(c);
	free(c);
}

/* ---- L4 hooks: ingress, egress, tunnel, conn_end ---- */

struct l4_log {
	int ingress, egress, tunnel, ends;
	size_t tunnel_bytes;
	void *ctx_seen[2];
};
static struct l4_log l4a, l4b;

static void l4_ingress_a(void *app, const struct strata_conn_info *c,
			 void *ctx, struct strata_ingress_decision *d)
{
	l4a.ingress++;
	l4a.ctx_seen[0] = ctx;
	memset(ctx, 0xaa, 8);
	/* no opinion, but metadata for later hooks */
	d->metadata = 42;
}

static void l4_ingress_b(void *app, const struct strata_conn_info *c,
			 void *ctx, struct strata_ingress_decision *d)
{
	l4b.ingress++;
	l4b.ctx_seen[0] = ctx;
	assert_int_equal(d->metadata, 42);
	d->verdict = c->orig_dport == 25 ? STRATA_INGRESS_REJECT :
					   STRATA_INGRESS_ACCEPT;
}

static void l4_egress_a(void *app, const struct strata_conn_info *c,
			void *ctx, struct strata_egress_decision *d)
{
	l4a.egress++;
	if (c->orig_dport == 8080) {
		snprintf(d->host, sizeof(d->host), "origin.example");
		d->dport = 80;
		d->decided = 1;
	}
}

static void l4_egress_b(void *app, const struct strata_conn_info *c,
			void *ctx, struct strata_egress_decision *d)
{
	l4b.egress++;
}

static void l4_tunnel_a(void *app, const struct strata_conn_info *c,
			void *ctx, int dir, const uint8_t *data, size_t len,
			struct strata_tunnel_control *ctl)
{
	l4a.tunnel++;
	l4a.tunnel_bytes += len;
	ctl->idle_timeout_ms = 5000;
	if (len >= 4 && !memcmp(data, "QUIT", 4))
		ctl->close = 1;
}

static void l4_tunnel_b(void *app, const struct strata_conn_info *c,
			void *ctx, int dir, const uint8_t *data, size_t len,
			struct strata_tunnel_control *ctl)
{
	l4b.tunnel++;
}

static void l4_end(void *app, const struct strata_conn_info *c, void *ctx,
		   const struct strata_conn_end *e)
{
	struct l4_log *l = app;

	l->ends++;
	assert_string_equal(e->reason, "done");
}

static void test_l4_hooks(void **state)
{
	const struct strata_app a = {
		.name = "a", .app_data = &l4a, .conn_ctx_size = 8,
		.ingress = l4_ingress_a, .egress = l4_egress_a,
		.tunnel = l4_tunnel_a, .conn_end = l4_end,
	};
	const struct strata_app b = {
		.name = "b", .app_data = &l4b, .conn_ctx_size = 24,
		.ingress = l4_ingress_b, .egress = l4_egress_b,
		.tunnel = l4_tunnel_b, .conn_end = l4_end,
	};
	uint8_t client[16] = { 0 }, dst[16] = { 0 }, ctx[64];
	struct strata_conn_info ci = { .proto = IPPROTO_TCP, .ip_version = 4,
				       .client = client, .orig_dst = dst,
				       .client_port = 40000, .orig_dport = 8080 };
	struct strata_ingress_decision in;
	struct strata_egress_decision eg = { 0 };
	struct strata_tunnel_control ctl = { .idle_timeout_ms = 1000 };
	struct strata_conn_end end = { .reason = "done" };

	apps_reset();
	memset(&l4a, 0, sizeof(l4a));
	memset(&l4b, 0, sizeof(l4b));
	assert_false(apps_has_tunnel_hook());
	assert_int_equal(strata_app_register(&a), 0);
	assert_int_equal(strata_app_register(&b), 0);
	assert_true(apps_has_tunnel_hook());
	/* contexts: 8 and 24 bytes, each aligned to 16 */
	assert_int_equal(apps_conn_ctx_size(), 16 + 32);
	memset(ctx, 0, sizeof(ctx));

	apps_ingress(&ci, ctx, &in);
	assert_int_equal(in.verdict, STRATA_INGRESS_ACCEPT);
	assert_int_equal(ci.metadata, 42);
	assert_ptr_equal(l4a.ctx_seen[0], ctx);
	assert_ptr_equal(l4b.ctx_seen[0], ctx + 16);
	assert_int_equal(ctx[15], 0); /* a's writes stay in a's slice */

	ci.orig_dport = 25;
	apps_ingress(&ci, ctx, &in);
	assert_int_equal(in.verdict, STRATA_INGRESS_REJECT);

	/* egress: a decides, so b is not asked */
	ci.orig_dport = 8080;
	apps_egress(&ci, ctx, &eg);
	assert_string_equal(eg.host, "origin.example");
	assert_int_equal(eg.dport, 80);
	assert_int_equal(l4a.egress, 1);
	assert_int_equal(l4b.egress, 0);

	/* tunnel: both see data until one closes */
	apps_tunnel(&ci, ctx, 0, (const uint8_t *)"GET /", 5, &ctl);
	assert_int_equal(ctl.idle_timeout_ms, 5000);
	assert_int_equal(l4a.tunnel, 1);
	assert_int_equal(l4b.tunnel, 1);
	apps_tunnel(&ci, ctx, 1, (const uint8_t *)"QUIT", 4, &ctl);
	assert_true(ctl.close);
	assert_int_equal(l4b.tunnel, 1); /* not asked after the close */
	assert_int_equal(l4a.tunnel_bytes, 9);

	apps_conn_end(&ci, ctx, &end);
	assert_int_equal(l4a.ends, 1);
	assert_int_equal(l4b.ends, 1);
	apps_reset();
	assert_int_equal(apps_conn_ctx_size(), 0);
}

/* policy `reject` rules: the flow goes to the stack, whose ingress hook
 * then refuses it; egress.rewrite names the new destination. */
static void test_policy_reject_and_rewrite(void **state)
{
	static const char yaml[] =
		"policy:\n"
		"  rules:\n"
		"    - {action: reject, proto: tcp, dports: 25}\n"
		"    - {action: stack, proto: tcp}\n"
		"egress:\n"
		"  rewrite:\n"
		"    - {dst: 198.18.0.0/24, dports: 80, host: origin.test, port: 8080}\n";
	struct conf *c = calloc(1, sizeof(*c));
	uint8_t client[16], dst[16];
	struct strata_conn_info ci = { .proto = IPPROTO_TCP, .ip_version = 4,
				       .client = client, .orig_dst = dst,
				       .client_port = 40000 };
	struct strata_ingress_decision in;
	struct strata_egress_decision eg;
	union dp_addr a;

	assert_non_null(c);
	assert_int_equal(conf_load_string(c, yaml, strlen(yaml), "t", stderr), 0);
	apps_reset();
	assert_int_equal(app_policy_init(c), 0);
	assert_int_equal(app_egress_init(c), 0);
	set_addr(&a, "10.0.0.1");
	memcpy(client, a.b, 16);
	set_addr(&a, "198.18.0.9");
	memcpy(dst, a.b, 16);

	ci.orig_dport = 25;
	apps_ingress(&ci, NULL, &in);
	assert_int_equal(in.verdict, STRATA_INGRESS_REJECT);
	ci.orig_dport = 80;
	apps_ingress(&ci, NULL, &in);
	assert_int_equal(in.verdict, STRATA_INGRESS_CONTINUE);

	memset(&eg, 0, sizeof(eg));
	eg.dport = 80;
	apps_egress(&ci, NULL, &eg);
	assert_string_equal(eg.host, "origin.test");
	assert_int_equal(eg.dport, 8080);
	/* outside the prefix or the ports: untouched */
	memset(&eg, 0, sizeof(eg));
	ci.orig_dport = 443;
	apps_egress(&ci, NULL, &eg);
	assert_string_equal(eg.host, "");
	set_addr(&a, "198.18.1.9");
	memcpy(dst, a.b, 16);
	ci.orig_dport = 80;
	apps_egress(&ci, NULL, &eg);
	assert_string_equal(eg.host, "");
	apps_reset();
	conf_free(c);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test_setup_teardown(test_policy_match,
						policy_setup,
						policy_teardown),
		cmocka_unit_test(test_policy_prefix_bits),
		cmocka_unit_test(test_l4_hooks),
		cmocka_unit_test(test_policy_reject_and_rewrite),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
