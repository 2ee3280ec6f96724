/* Unit tests of the configuration module: defaults, the default config
 * round trip, a full file, every kind of error with its exact message,
 * list limits, cross-field rules and the generated reference. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/conf.h"

/* Load yaml as "t.yaml"; returns the rc, errors text in *errs (owned). */
static int load(struct conf *c, const char *yaml, char **errs)
{
	size_t n = 0;
	FILE *err = open_memstream(errs, &n);
	int rc;

	assert_non_null(err);
	rc = conf_load_string(c, yaml, strlen(yaml), "t.yaml", err);
	fclose(err);
	return rc;
}

/* yaml must fail with exactly the error lines in want. */
static void expect_errors(const char *yaml, const char *want)
{
	struct conf c;
	char *errs = NULL;
	int rc = load(&c, yaml, &errs);

	if (strcmp(errs, want))
		fprintf(stderr, "input:\n%s\ngot:\n%swant:\n%s", yaml, errs,
			want);
	assert_int_equal(rc, -1);
	assert_string_equal(errs, want);
	free(errs);
	conf_free(&c);
}

static void expect_ok(struct conf *c, const char *yaml)
{
	char *errs = NULL;
	int rc = load(c, yaml, &errs);

	if (rc)
		fprintf(stderr, "unexpected errors:\n%s", errs);
	assert_int_equal(rc, 0);
	assert_string_equal(errs, "");
	free(errs);
}

static void assert_prefix(const struct conf_prefix *p, const char *want)
{
	char a[INET6_ADDRSTRLEN], got[64];

	if (p->v4)
		inet_ntop(AF_INET, p->addr.b + 12, a, sizeof(a));
	else
		inet_ntop(AF_INET6, p->addr.b, a, sizeof(a));
	snprintf(got, sizeof(got), "%s/%u", a, p->prefix_len);
	assert_string_equal(got, want);
}

/* ---- defaults -------------------------------------------------------- */

static void test_defaults(void **state)
{
	struct conf c;
	const struct conf_port *p = &c.ports[0];

	conf_defaults(&c);
	assert_int_equal(c.n_ports, 1);
	assert_string_equal(p->name, "tun0");
	assert_int_equal(p->kind, CONF_PORT_TUN);
	assert_string_equal(p->ifname, "strata0");
	assert_int_equal(p->mtu, 65000);
	assert_false(p->mac_set);
	assert_int_equal(p->n_addrs, 2);
	assert_prefix(&p->addrs[0], "10.77.0.2/24");
	assert_true(p->addrs[0].v4);
	assert_prefix(&p->addrs[1], "fd77::2/64");
	assert_false(p->addrs[1].v4);
	assert_int_equal(p->n_kernel_addrs, 2);
	assert_prefix(&p->kernel_addrs[0], "10.77.0.1/24");
	assert_prefix(&p->kernel_addrs[1], "fd77::1/64");
	assert_int_equal(p->n_routes, 2);
	assert_prefix(&p->routes[0], "198.18.0.0/15");
	assert_prefix(&p->routes[1], "fd77:1::/64");
	assert_int_equal(c.policy.default_action, CONF_ACTION_STACK);
	assert_int_equal(c.stack.max_conns, 65536);
	assert_int_equal(c.stack.buffer_kib, 16);
	assert_int_equal(c.stack.connect_timeout_ms, 10000);
	assert_int_equal(c.stack.tcp_idle_s, 3600);
	assert_int_equal(c.stack.udp_idle_s, 60);
	assert_string_equal(c.egress.interface, "auto");
	assert_string_equal(c.audit.path, "");
	assert_int_equal(p->rx_desc, 1024);
	assert_int_equal(p->tx_desc, 1024);
	assert_int_equal(c.lcores.rxtx, 1);
	assert_int_equal(c.lcores.workers, 1);
	assert_string_equal(c.lcores.cpus, "");
	assert_int_equal(c.eal.n_args, 0);
	assert_true(c.eal.no_huge);
	assert_int_equal(c.eal.memory_mb, 256);
	assert_int_equal(c.mbuf.pool_size, 8191);
	assert_int_equal(c.mbuf.burst, 32);
	assert_int_equal(c.mbuf.ring_size, 1024);
	assert_int_equal(c.flows.max, 65536);
	assert_int_equal(c.flows.tcp_idle_s, 300);
	assert_int_equal(c.flows.udp_idle_s, 60);
	assert_int_equal(c.flows.other_idle_s, 30);
	assert_int_equal(c.reassembly.max_datagrams, 64);
	assert_int_equal(c.reassembly.timeout_ms, 2000);
	assert_int_equal(c.reassembly.max_fragments, 64);
	assert_int_equal(c.neighbors.max, 1024);
	assert_int_equal(c.neighbors.reachable_s, 30);
	assert_int_equal(c.neighbors.retrans_ms, 1000);
	assert_int_equal(c.neighbors.queue_len, 4);
	assert_true(c.icmp.echo);
	assert_true(c.icmp.errors);
	assert_int_equal(c.icmp.errors_per_s, 1000);
	assert_int_equal(c.policy.n_rules, 0);
	assert_int_equal(c.admin.stats_interval_s, 0);
	conf_free(&c);
}

/* The printed default parses back into exactly conf_defaults(). */
static void test_default_round_trip(void **state)
{
	struct conf want, got;
	char *text = NULL, *errs = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);
	const char *line;

	assert_non_null(f);
	conf_print_default(f);
	fclose(f);

	/* every key line is preceded by a comment line */
	for (line = text; *line; line = strchr(line, '\n') + 1) {
		const char *s = line + strspn(line, " ");

		if (*s != '#' && *s != '\n' && strncmp(s, "- #", 3)) {
			const char *prev = line - 2;

			while (prev > text && prev[-1] != '\n')
				prev--;
			prev += strspn(prev, " ");
			assert_true(line > text);
			assert_true(*prev == '#' || !strncmp(prev, "- #", 3));
		}
		if (!strchr(line, '\n'))
			break;
	}
	assert_non_null(strstr(text, "    # largest IP packet sent out of "
				"this port, in bytes (at most 9216; a tun\n"
				"    # port up to 65000, see docs/PORTS.md) "
				"[integer 1280..65000]\n"
				"    mtu: 65000\n"));

	conf_defaults(&want);
	assert_int_equal(load(&got, text, &errs), 0);
	assert_string_equal(errs, "");
	assert_memory_equal(&got, &want, sizeof(want));
	free(errs);
	free(text);
	conf_free(&got);
	conf_free(&want);
}

/* ---- a full valid file ----------------------------------------------- */

static const char full_yaml[] =
	"ports:\n"
	"  - name: tun0\n"
	"    kind: tun\n"
	"    mtu: 1400\n"
	"    mac: \"02:00:00:00:00:01\"\n"
	"    addresses: [10.77.0.2/24, fd77::2/64]\n"
	"    dpdk: {devargs: \"\", rx_queues: 0, rx_desc: 1024, "
	"tx_desc: 1024}\n"
	"    tun: {ifname: st1, kernel_addresses: [10.77.0.1/24, "
	"fd77::1/64], routes: [0.0.0.0/0, \"::/0\"]}\n"
	"    pcap: {input: \"\", output: \"\"}\n"
	"  - name: nic1\n"
	"    kind: dpdk\n"
	"    mac: 02-AA-bb-00-00-02\n"
	"    addresses: [192.0.2.1/24]\n"
	"    dpdk: {devargs: \"0000:01:00.0\", rx_queues: 2, rx_desc: 512}\n"
	"  - name: cap\n"
	"    kind: pcap\n"
	"    pcap: {input: in.pcap, output: out.pcap}\n"
	"lcores: {rxtx: 2, workers: 3, cpus: \"0-3,6\"}\n"
	"eal: {args: [--log-level, \"8\"], no_huge: false, memory_mb: 512}\n"
	"mbuf: {pool_size: 16383, burst: 64, ring_size: 2048}\n"
	"flows: {max: 1000, tcp_idle_s: 301, udp_idle_s: 61, "
	"other_idle_s: 31}\n"
	"reassembly: {max_datagrams: 65, timeout_ms: 2001, "
	"max_fragments: 65}\n"
	"neighbors: {max: 1025, reachable_s: 31, retrans_ms: 1001, "
	"queue_len: 0}\n"
	"icmp: {echo: false, errors: false, errors_per_s: 0}\n"
	"policy:\n"
	"  default_action: stack\n"
	"  rules:\n"
	"    - {action: drop, src: 10.0.0.0/8, dst: 192.0.2.0/24, "
	"proto: tcp, dports: \"80-90\", out_port: \"\"}\n"
	"    - {action: forward, dst: 198.51.100.7, out_port: cap}\n"
	"    - {action: allow, proto: 47, src: any}\n"
	"    - {action: local, proto: udp, dports: 53}\n"
	"admin: {stats_interval_s: 10}\n";

static void test_full_file(void **state)
{
	struct conf c;
	const struct conf_port *p;
	const struct conf_rule *r;

	expect_ok(&c, full_yaml);
	assert_int_equal(c.n_ports, 3);

	p = &c.ports[0];
	assert_string_equal(p->name, "tun0");
	assert_int_equal(p->mtu, 1400);
	assert_true(p->mac_set);
	assert_memory_equal(p->mac, "\x02\0\0\0\0\x01", 6);
	assert_string_equal(p->ifname, "st1");
	assert_int_equal(p->n_routes, 2);
	assert_prefix(&p->routes[0], "0.0.0.0/0");
	assert_prefix(&p->routes[1], "::/0");

	p = &c.ports[1];
	assert_int_equal(p->kind, CONF_PORT_DPDK);
	assert_memory_equal(p->mac, "\x02\xaa\xbb\0\0\x02", 6);
	assert_string_equal(p->devargs, "0000:01:00.0");
	assert_int_equal(p->rx_queues, 2);
	assert_int_equal(p->rx_desc, 512);
	assert_int_equal(p->tx_desc, 1024); /* element default */
	assert_int_equal(p->mtu, 1500);
	assert_int_equal(p->n_addrs, 1);
	assert_int_equal(p->n_kernel_addrs, 0);

	p = &c.ports[2];
	assert_int_equal(p->kind, CONF_PORT_PCAP);
	assert_string_equal(p->pcap_in, "in.pcap");
	assert_string_equal(p->pcap_out, "out.pcap");
	assert_false(p->mac_set);

	assert_int_equal(c.lcores.rxtx, 2);
	assert_int_equal(c.lcores.workers, 3);
	assert_string_equal(c.lcores.cpus, "0-3,6");
	assert_int_equal(c.eal.n_args, 2);
	assert_string_equal(c.eal.args[0], "--log-level");
	assert_string_equal(c.eal.args[1], "8");
	assert_false(c.eal.no_huge);
	assert_int_equal(c.eal.memory_mb, 512);
	assert_int_equal(c.mbuf.pool_size, 16383);
	assert_int_equal(c.mbuf.burst, 64);
	assert_int_equal(c.mbuf.ring_size, 2048);
	assert_int_equal(c.flows.max, 1000);
	assert_int_equal(c.flows.other_idle_s, 31);
	assert_int_equal(c.reassembly.max_fragments, 65);
	assert_int_equal(c.neighbors.queue_len, 0);
	assert_false(c.icmp.echo);
	assert_false(c.icmp.errors);
	assert_int_equal(c.icmp.errors_per_s, 0);
	assert_int_equal(c.admin.stats_interval_s, 10);
	assert_int_equal(c.policy.default_action, CONF_ACTION_STACK);

	assert_int_equal(c.policy.n_rules, 4);
	r = &c.policy.rules[0];
	assert_int_equal(r->action, CONF_ACTION_DROP);
	assert_true(r->src_set);
	assert_prefix(&r->src, "10.0.0.0/8");
	assert_true(r->dst_set);
	assert_prefix(&r->dst, "192.0.2.0/24");
	assert_int_equal(r->proto, 6);
	assert_int_equal(r->dport_lo, 80);
	assert_int_equal(r->dport_hi, 90);

	/* forward resolves its port name to an index */
	r = &c.policy.rules[1];
	assert_int_equal(r->action, CONF_ACTION_FORWARD);
	assert_false(r->src_set);
	assert_prefix(&r->dst, "198.51.100.7/32");
	assert_string_equal(r->out_port, "cap");
	assert_int_equal(r->out_port_id, 2);
	assert_int_equal(r->proto, 0);
	assert_int_equal(r->dport_lo, 0);
	assert_int_equal(r->dport_hi, 65535);

	r = &c.policy.rules[2];
	assert_int_equal(r->action, CONF_ACTION_ALLOW);
	assert_int_equal(r->proto, 47);
	assert_false(r->src_set);

	r = &c.policy.rules[3];
	assert_int_equal(r->proto, 17);
	assert_int_equal(r->dport_lo, 53);
	assert_int_equal(r->dport_hi, 53);
	conf_free(&c);
}

/* A port list in a file replaces the default one; items get element
 * defaults, not the built-in port's addresses. */
static void test_list_replaces_default(void **state)
{
	struct conf c;

	expect_ok(&c, "ports:\n  - {name: t, kind: tun}\n");
	assert_int_equal(c.n_ports, 1);
	assert_string_equal(c.ports[0].name, "t");
	assert_string_equal(c.ports[0].ifname, "strata0");
	assert_int_equal(c.ports[0].n_addrs, 0);
	assert_int_equal(c.ports[0].n_kernel_addrs, 0);
	assert_int_equal(c.ports[0].mtu, 1500);
	conf_free(&c);

	/* sections left out keep their defaults; empty input is defaults */
	expect_ok(&c, "icmp: {echo: false}\n");
	assert_false(c.icmp.echo);
	assert_true(c.icmp.errors);
	assert_int_equal(c.n_ports, 1);
	assert_string_equal(c.ports[0].name, "tun0");
	conf_free(&c);
	expect_ok(&c, "");
	assert_int_equal(c.n_ports, 1);
	conf_free(&c);
	expect_ok(&c, "# only a comment\n---\n");
	assert_int_equal(c.mbuf.burst, 32);
	conf_free(&c);
}

/* ---- errors: one line each, exact position ----------------------------- */

static void test_err_unknown_key(void **state)
{
	expect_errors("flows:\n  maxx: 3\n",
		"t.yaml:2:3: flows.maxx: unknown key (expected one of: max, "
		"tcp_idle_s, udp_idle_s, other_idle_s, stack_closing_s, fast_path)\n");
	expect_errors("bogus: 1\n",
		"t.yaml:1:1: bogus: unknown key (expected one of: ports, "
		"lcores, eal, mbuf, flows, reassembly, neighbors, icmp, "
		"policy, stack, egress, dns, audit, admin, endpoints, "
		"upstreams, http_rules, routes)\n");
	expect_errors("endpoints:\n  - name: a\n    listen: [\"1.2.3.4\"]\n",
		"t.yaml:3:14: endpoints[0].listen[0]: '1.2.3.4': expected "
		"ip:port or [ip6]:port\n");
	expect_errors("endpoints:\n  - name: a\n    listen: [\"x.org:80\"]\n",
		"t.yaml:3:14: endpoints[0].listen[0]: 'x.org:80': the host "
		"must be an IP address\n");
	expect_errors("endpoints:\n  - name: a\n",
		"t.yaml:2:5: endpoints[0]: listens nowhere: give listen or "
		"stack_port\n");
	expect_errors("endpoints:\n  - name: a\n    listen: [\"[::1]:80\"]\n"
		      "routes:\n  - upstream: nope\n    endpoint: x\n",
		"t.yaml:6:15: routes[0].endpoint: no endpoint named 'x'\n"
		"t.yaml:5:15: routes[0].upstream: no upstream named 'nope'\n");
	expect_errors("ports:\n  - name: a\n    kind: tun\n    tun:\n"
		      "      ifnam: x\n",
		"t.yaml:5:7: ports[0].tun.ifnam: unknown key (expected one "
		"of: ifname, kernel_addresses, routes)\n");
}

static void test_err_wrong_type(void **state)
{
	expect_errors("mbuf: {burst: fast}\n",
		"t.yaml:1:15: mbuf.burst: expected an integer 1..512, got "
		"'fast'\n");
	expect_errors("icmp: {echo: yes}\n",
		"t.yaml:1:14: icmp.echo: expected true or false, got 'yes'\n");
	expect_errors("icmp: [1]\n",
		"t.yaml:1:7: icmp: expected a map, got a list\n");
	expect_errors("eal:\n  args: x\n",
		"t.yaml:2:9: eal.args: expected a list, got a value\n");
	expect_errors("lcores: {rxtx: {a: 1}}\n",
		"t.yaml:1:16: lcores.rxtx: expected a value, got a map\n");
	expect_errors("lcores:\n  rxtx:\n",
		"t.yaml:2:8: lcores.rxtx: missing value\n");
	expect_errors("- a\n",
		"t.yaml:1:1: expected a map, got a list\n");
}

static void test_err_range(void **state)
{
	expect_errors("ports:\n  - name: a\n    kind: tun\n    mtu: 65001\n",
		"t.yaml:4:10: ports[0].mtu: '65001' is out of range "
		"1280..65000\n");
	/* past 9216 only a TUN: a link's frames would not fit an mbuf */
	expect_errors("ports:\n  - name: a\n    kind: dpdk\n    mtu: 9217\n"
		      "    dpdk: {devargs: net_null0}\n",
		"t.yaml:4:10: ports[0].mtu: at most 9216 for kinds dpdk and "
		"pcap\n");
	expect_errors("mbuf: {burst: 0}\n",
		"t.yaml:1:15: mbuf.burst: '0' is out of range 1..512\n");
	expect_errors("flows: {max: 99999999999999999999999}\n",
		"t.yaml:1:14: flows.max: '99999999999999999999999' is out "
		"of range 16..16777216\n");
	expect_errors("mbuf: {ring_size: 1000}\n",
		"t.yaml:1:19: mbuf.ring_size: must be a power of two\n");
	expect_errors("lcores: {cpus: \"3-1\"}\n",
		"t.yaml:1:16: lcores.cpus: CPU ranges must be ascending and "
		"below 1024\n");
	expect_errors("ports:\n  - name: a\n    kind: tun\n"
		      "    tun: {ifname: abcdefghijklmnop}\n",
		"t.yaml:4:19: ports[0].tun.ifname: longer than 15 "
		"characters\n");
}

static void test_err_prefix_mac(void **state)
{
	expect_errors("ports:\n  - name: a\n    kind: tun\n"
		      "    addresses: [10.0.0.1/24, 10.0.0.1/33, 1.2.3/8, "
		      "fd00::1/129, \"fd00::1/\"]\n",
		"t.yaml:4:30: ports[0].addresses[1]: '10.0.0.1/33' is not an "
		"address with an optional prefix length (a.b.c.d/n or "
		"x::y/n)\n"
		"t.yaml:4:43: ports[0].addresses[2]: '1.2.3/8' is not an "
		"address with an optional prefix length (a.b.c.d/n or "
		"x::y/n)\n"
		"t.yaml:4:52: ports[0].addresses[3]: 'fd00::1/129' is not an "
		"address with an optional prefix length (a.b.c.d/n or "
		"x::y/n)\n"
		"t.yaml:4:65: ports[0].addresses[4]: 'fd00::1/' is not an "
		"address with an optional prefix length (a.b.c.d/n or "
		"x::y/n)\n");
	expect_errors("ports:\n  - name: a\n    kind: tun\n"
		      "    mac: 02:00:00:00:00\n",
		"t.yaml:4:10: ports[0].mac: '02:00:00:00:00' is not a MAC "
		"address (xx:xx:xx:xx:xx:xx)\n");
	expect_errors("ports:\n  - name: a\n    kind: tun\n"
		      "    mac: \"03:00:00:00:00:01\"\n",
		"t.yaml:4:10: ports[0].mac: '03:00:00:00:00:01' is a "
		"multicast address\n");
}

static void test_err_duplicate_key(void **state)
{
	expect_errors("mbuf:\n  burst: 8\n  burst: 9\n",
		"t.yaml:3:3: mbuf.burst: duplicate key (first at line 2)\n");
	expect_errors("icmp: {}\nicmp: {}\n",
		"t.yaml:2:1: icmp: duplicate key (first at line 1)\n");
}

static void test_err_enum(void **state)
{
	expect_errors("policy: {default_action: bounce}\n",
		"t.yaml:1:26: policy.default_action: 'bounce' is not one of "
		"allow, drop, local, stack, forward, reject\n");
	expect_errors("ports:\n  - {name: a, kind: tap}\n",
		"t.yaml:2:21: ports[0].kind: 'tap' is not one of dpdk, tun, "
		"pcap\n");
	expect_errors("policy:\n  rules:\n    - {action: drop, proto: ospf}\n",
		"t.yaml:3:29: policy.rules[0].proto: 'ospf' is not tcp, udp, "
		"icmp, icmpv6, sctp, any or a number 0..255\n");
	expect_errors("policy:\n  rules:\n    - {action: drop, proto: tcp, "
		      "dports: 100-99}\n",
		"t.yaml:3:42: policy.rules[0].dports: '100-99' is not a port "
		"\"N\" or a range \"N-M\" within 0..65535\n");
	expect_errors("policy: {default_action: forward}\n",
		"t.yaml:1:26: policy.default_action: forward cannot be the "
		"default (it needs out_port); use a rule\n");
}

static void test_err_missing_file(void **state)
{
	struct conf c;
	char *errs = NULL;
	size_t n = 0;
	FILE *err = open_memstream(&errs, &n);

	assert_int_equal(conf_load_file(&c, "/nonexistent/strata.yaml", err),
			 -1);
	fclose(err);
	assert_string_equal(errs, "/nonexistent/strata.yaml:0:0: cannot "
			    "open: No such file or directory\n");
	free(errs);
	conf_free(&c);
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/test_conf_XXXXXX";
	int fd = mkstemp(path);
	struct conf c;
	char *errs = NULL;
	size_t n = 0;
	FILE *err;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "mbuf: {burst: 7}\n", 17), 17);
	close(fd);
	assert_int_equal(conf_load_file(&c, path, stderr), 0);
	assert_int_equal(c.mbuf.burst, 7);
	conf_free(&c);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\nmbuf: {burst: 0}\n", 18), 18);
	close(fd);
	err = open_memstream(&errs, &n);
	assert_int_equal(conf_load_file(&c, path, err), -1);
	fclose(err);
	assert_non_null(strstr(errs, ":2:15: mbuf.burst: '0' is out of "
			       "range 1..512\n"));
	assert_memory_equal(errs, path, strlen(path));
	free(errs);
	conf_free(&c);
	unlink(path);
}

static void test_err_syntax(void **state)
{
	expect_errors("ports:\n  - name: a\n  kind: [\n",
		"t.yaml:3:3: YAML: did not find expected '-' indicator "
		"(while parsing a block collection at 2:3)\n");
	expect_errors("icmp: {echo: true\n",
		"t.yaml:2:1: YAML: did not find expected ',' or '}' (while "
		"parsing a flow mapping at 1:7)\n");
	expect_errors("icmp: {}\n---\nicmp: {}\n",
		"t.yaml:3:1: only one YAML document is allowed\n");
	expect_errors("a: \"\\xff\xc3\x28\"\n",
		"t.yaml:1:10: YAML: invalid trailing UTF-8 octet at byte 9\n");
}

/* All problems in one pass, siblings and list items alike. */
static void test_err_many(void **state)
{
	expect_errors("lcores: {rxtx: 0, workers: abc, cpus: x}\n"
		      "mbuf: {burst: 1000}\n"
		      "ports:\n"
		      "  - {name: a, kind: tun, mtu: 1}\n"
		      "  - {name: \"b c\", kind: tun}\n",
		"t.yaml:1:16: lcores.rxtx: '0' is out of range 1..64\n"
		"t.yaml:1:28: lcores.workers: expected an integer 0..64, got "
		"'abc'\n"
		"t.yaml:1:39: lcores.cpus: expected a CPU list like "
		"\"0-3,6\"\n"
		"t.yaml:2:15: mbuf.burst: '1000' is out of range 1..512\n"
		"t.yaml:4:31: ports[0].mtu: '1' is out of range 1280..65000\n"
		"t.yaml:5:12: ports[1].name: may only hold letters, digits, "
		"'_', '-' and '.'\n");
}

static void test_err_required(void **state)
{
	expect_errors("ports:\n  - {kind: tun}\n  - {name: b}\n",
		"t.yaml:2:5: ports[0].name: required key is missing\n"
		"t.yaml:3:5: ports[1].kind: required key is missing\n");
	expect_errors("ports: []\n",
		"t.yaml:1:8: ports: at least 1 item is required\n");
	expect_errors("ports:\n  - {name: d, kind: dpdk}\n"
		      "  - {name: p, kind: pcap, pcap: {output: o.pcap}}\n",
		"t.yaml:2:21: ports[0].dpdk.devargs: required for kind dpdk\n"
		"t.yaml:3:21: ports[1].pcap.input: required for kind pcap\n");
}

static void test_err_cross(void **state)
{
	expect_errors("ports:\n"
		      "  - {name: a, kind: tun}\n"
		      "  - {name: b, kind: tun, tun: {ifname: s1}}\n"
		      "  - {name: a, kind: tun, tun: {ifname: s1}}\n",
		"t.yaml:4:12: ports[2].name: port name 'a' is already used "
		"by ports[0]\n"
		"t.yaml:4:40: ports[2].tun.ifname: TUN device 's1' is already "
		"used by ports[1]\n");
	expect_errors("policy:\n  rules:\n"
		      "    - {action: forward}\n"
		      "    - {action: drop, out_port: tun0}\n"
		      "    - {action: drop, src: 10.0.0.0/8, dst: \"::/0\"}\n"
		      "    - {action: drop, proto: icmp, dports: 80}\n",
		"t.yaml:3:16: policy.rules[0].out_port: required for action "
		"forward\n"
		"t.yaml:4:32: policy.rules[1].out_port: only valid with "
		"action forward\n"
		"t.yaml:5:44: policy.rules[2].dst: address family differs "
		"from src\n"
		"t.yaml:6:43: policy.rules[3].dports: needs proto tcp, udp or "
		"sctp\n");
	/* out_port names a port of the default list or of the file */
	expect_errors("policy:\n  rules:\n"
		      "    - {action: forward, out_port: tun0}\n"
		      "    - {action: forward, out_port: eth9}\n",
		"t.yaml:4:35: policy.rules[1].out_port: no port named "
		"'eth9'\n");
}

static void test_forward_resolution(void **state)
{
	struct conf c;

	expect_ok(&c, "ports:\n"
		  "  - {name: in, kind: tun}\n"
		  "  - {name: out, kind: dpdk, dpdk: {devargs: net_null0}}\n"
		  "policy:\n  rules:\n"
		  "    - {action: forward, out_port: out}\n"
		  "    - {action: forward, out_port: in}\n"
		  "    - {action: drop}\n");
	assert_int_equal(c.policy.n_rules, 3);
	assert_int_equal(c.policy.rules[0].out_port_id, 1);
	assert_int_equal(c.policy.rules[1].out_port_id, 0);
	assert_int_equal(c.policy.rules[2].out_port_id, 0);
	conf_free(&c);
}

/* Too many items is an error at the first one too many, not a cut. */
static void test_list_overflow(void **state)
{
	char yaml[8192], want[256];
	size_t o = 0;
	unsigned i;

	o += (size_t)snprintf(yaml + o, sizeof(yaml) - o, "ports:\n");
	for (i = 0; i <= CONF_MAX_PORTS; i++)
		o += (size_t)snprintf(yaml + o, sizeof(yaml) - o,
			"  - {name: p%u, kind: pcap, pcap: {input: x}}\n", i);
	snprintf(want, sizeof(want), "t.yaml:%u:5: ports[%u]: too many "
		 "items (at most %u)\n", CONF_MAX_PORTS + 2, CONF_MAX_PORTS,
		 CONF_MAX_PORTS);
	expect_errors(yaml, want);

	o = (size_t)snprintf(yaml, sizeof(yaml), "policy:\n  rules:\n");
	for (i = 0; i <= CONF_MAX_RULES; i++)
		o += (size_t)snprintf(yaml + o, sizeof(yaml) - o,
				      "    - {action: drop}\n");
	snprintf(want, sizeof(want), "t.yaml:%u:7: policy.rules[%u]: too "
		 "many items (at most %u)\n", CONF_MAX_RULES + 3,
		 CONF_MAX_RULES, CONF_MAX_RULES);
	expect_errors(yaml, want);

	expect_errors("ports:\n  - name: a\n    kind: tun\n"
		      "    addresses: [1.0.0.1, 1.0.0.2, 1.0.0.3, 1.0.0.4, "
		      "1.0.0.5, 1.0.0.6, 1.0.0.7, 1.0.0.8, 1.0.0.9]\n",
		"t.yaml:4:89: ports[0].addresses[8]: too many items (at most "
		"8)\n");

	o = (size_t)snprintf(yaml, sizeof(yaml), "eal:\n  args:\n");
	for (i = 0; i <= CONF_MAX_EAL_ARGS; i++)
		o += (size_t)snprintf(yaml + o, sizeof(yaml) - o,
				      "    - --x%u\n", i);
	snprintf(want, sizeof(want), "t.yaml:%u:7: eal.args[%u]: too many "
		 "items (at most %u)\n", CONF_MAX_EAL_ARGS + 3,
		 CONF_MAX_EAL_ARGS, CONF_MAX_EAL_ARGS);
	expect_errors(yaml, want);
}

/* A hostile file cannot flood the error stream. */
static void test_error_cap(void **state)
{
	char yaml[16384], *errs = NULL;
	size_t o = 0, lines = 0;
	struct conf c;
	unsigned i;
	char *s;

	o += (size_t)snprintf(yaml + o, sizeof(yaml) - o, "icmp:\n");
	for (i = 0; i < 300; i++)
		o += (size_t)snprintf(yaml + o, sizeof(yaml) - o,
				      "  k%u: 1\n", i);
	assert_int_equal(load(&c, yaml, &errs), -1);
	for (s = errs; (s = strchr(s, '\n')); s++)
		lines++;
	assert_int_equal(lines, 101);
	assert_non_null(strstr(errs, "t.yaml:0:0: too many errors, not "
			       "showing more\n"));
	free(errs);
	conf_free(&c);
}

/* Messages stay on one line whatever the input holds. */
static void test_err_quoting(void **state)
{
	expect_errors("icmp: {\"a\\nb\": 1}\n",
		"t.yaml:1:8: icmp.'a\\x0ab': unknown key (expected one of: "
		"echo, errors, errors_per_s)\n");
	expect_errors("mbuf: {burst: \"1\\n2\"}\n",
		"t.yaml:1:15: mbuf.burst: expected an integer 1..512, got "
		"'1\\x0a2'\n");
	expect_errors("lcores: {cpus: \"a\\0b\"}\n",
		"t.yaml:1:16: lcores.cpus: must not contain a NUL "
		"character\n");
}

/* ---- helpers --------------------------------------------------------- */

static void test_parse_prefix(void **state)
{
	struct conf_prefix p;
	union dp_addr v4;

	assert_int_equal(conf_parse_prefix("10.77.0.2/24", &p), 0);
	dp_addr_from_v4(&v4, htonl(0x0a4d0002));
	assert_true(dp_addr_eq(&p.addr, &v4));
	assert_true(dp_addr_is_v4(&p.addr));
	assert_true(p.v4);
	assert_int_equal(p.prefix_len, 24);

	assert_int_equal(conf_parse_prefix("192.0.2.1", &p), 0);
	assert_int_equal(p.prefix_len, 32);
	assert_int_equal(conf_parse_prefix("fd77::2/64", &p), 0);
	assert_false(p.v4);
	assert_int_equal(p.prefix_len, 64);
	assert_int_equal(p.addr.b[0], 0xfd);
	assert_int_equal(p.addr.b[15], 2);
	assert_int_equal(conf_parse_prefix("::", &p), 0);
	assert_int_equal(p.prefix_len, 128);
	assert_int_equal(conf_parse_prefix("::ffff:1.2.3.4/96", &p), 0);
	assert_false(p.v4);

	assert_true(conf_parse_prefix("", &p) < 0);
	assert_true(conf_parse_prefix("/8", &p) < 0);
	assert_true(conf_parse_prefix("10.0.0.1/", &p) < 0);
	assert_true(conf_parse_prefix("10.0.0.1/33", &p) < 0);
	assert_true(conf_parse_prefix("10.0.0.1/-1", &p) < 0);
	assert_true(conf_parse_prefix("10.0.0.1/+8", &p) < 0);
	assert_true(conf_parse_prefix("10.0.0.1/8/8", &p) < 0);
	assert_true(conf_parse_prefix("10.0.0.256", &p) < 0);
	assert_true(conf_parse_prefix("10.0.0", &p) < 0);
	assert_true(conf_parse_prefix("fd00::1/129", &p) < 0);
	assert_true(conf_parse_prefix("fd00:::1", &p) < 0);
	assert_true(conf_parse_prefix("host.example", &p) < 0);
}

static void test_parse_mac(void **state)
{
	uint8_t m[6];

	assert_int_equal(conf_parse_mac("02:00:5e:AB:cd:ef", m), 0);
	assert_memory_equal(m, "\x02\x00\x5e\xab\xcd\xef", 6);
	assert_int_equal(conf_parse_mac("02-00-5e-ab-cd-01", m), 0);
	assert_int_equal(m[5], 1);
	assert_true(conf_parse_mac("", m) < 0);
	assert_true(conf_parse_mac("02:00:5e:ab:cd", m) < 0);
	assert_true(conf_parse_mac("02:00:5e:ab:cd:ef:00", m) < 0);
	assert_true(conf_parse_mac("02:00-5e:ab:cd:ef", m) < 0);
	assert_true(conf_parse_mac("2:00:5e:ab:cd:ef", m) < 0);
	assert_true(conf_parse_mac("02:00:5e:ab:cd:eg", m) < 0);
}

/* docs/CONFIG.md is exactly what the schema generates. */
static void test_reference_doc(void **state)
{
	char path[1024], *gen = NULL, *doc;
	const char *slash = strrchr(__FILE__, '/');
	size_t n = 0, len;
	FILE *f;
	long size;

	snprintf(path, sizeof(path), "%.*s/../../docs/CONFIG.md",
		 slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s; skipped\n", path);
		skip();
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	doc = malloc((size_t)size + 1);
	assert_non_null(doc);
	len = fread(doc, 1, (size_t)size, f);
	doc[len] = '\0';
	fclose(f);

	f = open_memstream(&gen, &n);
	conf_print_reference(f);
	fclose(f);
	if (strcmp(gen, doc))
		fprintf(stderr, "%s is stale: regenerate it with "
			"conf_print_reference()\n", path);
	assert_string_equal(gen, doc);
	free(gen);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_default_round_trip),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_list_replaces_default),
		cmocka_unit_test(test_err_unknown_key),
		cmocka_unit_test(test_err_wrong_type),
		cmocka_unit_test(test_err_range),
		cmocka_unit_test(test_err_prefix_mac),
		cmocka_unit_test(test_err_duplicate_key),
		cmocka_unit_test(test_err_enum),
		cmocka_unit_test(test_err_missing_file),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_err_syntax),
		cmocka_unit_test(test_err_many),
		cmocka_unit_test(test_err_required),
		cmocka_unit_test(test_err_cross),
		cmocka_unit_test(test_forward_resolution),
		cmocka_unit_test(test_list_overflow),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_err_quoting),
		cmocka_unit_test(test_parse_prefix),
		cmocka_unit_test(test_parse_mac),
		cmocka_unit_test(test_reference_doc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
