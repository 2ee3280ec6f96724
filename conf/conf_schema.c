/* The configuration schema: every key strata reads, with its type,
 * bounds, default and documentation. Parsing, validation,
 * `strata config default` and docs/CONFIG.md all come from these
 * tables, so a new setting is one entry here plus its struct field. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "conf/conf_private.h"

#define FLD(st, m) .off = offsetof(st, m), .size = sizeof(((st *)0)->m)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MAP_OF(k, chk) { .keys = (k), .n_keys = ARRAY_LEN(k), .check = (chk) }

/* ---- value checks ---------------------------------------------------- */

static bool conf_is_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
}

static const char *conf_check_name(const void *field)
{
	const char *s = field;

	if (!*s)
		return "must not be empty";
	for (; *s; s++)
		if (!conf_is_name_char(*s))
			return "may only hold letters, digits, '_', '-' "
			       "and '.'";
	return NULL;
}

static const char *conf_check_name_or_empty(const void *field)
{
	return *(const char *)field ? conf_check_name(field) : NULL;
}

/* Linux takes any byte but '/', ':' and whitespace; keep to printable
 * ASCII so that names show up sanely in `ip link`. */
static const char *conf_check_ifname(const void *field)
{
	const char *s = field;

	if (!*s)
		return "must not be empty";
	for (; *s; s++)
		if (*s <= ' ' || *s > '~' || *s == '/' || *s == ':')
			return "may not hold '/', ':', spaces or control "
			       "characters";
	return NULL;
}

/* "" or a list like "0-3,8,10-11" of CPU numbers below 1024. */
static const char *conf_check_cpus(const void *field)
{
	const char *s = field;

	if (!*s)
		return NULL;
	for (;;) {
		unsigned lo = 0, hi, nd = 0;

		for (; *s >= '0' && *s <= '9' && nd < 5; s++, nd++)
			lo = lo * 10 + (unsigned)(*s - '0');
		if (!nd)
			return "expected a CPU list like \"0-3,6\"";
		hi = lo;
		if (*s == '-') {
			s++;
			hi = 0;
			for (nd = 0; *s >= '0' && *s <= '9' && nd < 5;
			     s++, nd++)
				hi = hi * 10 + (unsigned)(*s - '0');
			if (!nd)
				return "expected a CPU list like \"0-3,6\"";
		}
		if (lo > hi || hi > 1023)
			return "CPU ranges must be ascending and below 1024";
		if (!*s)
			return NULL;
		if (*s != ',')
			return "expected a CPU list like \"0-3,6\"";
		s++;
	}
}

static const char *conf_check_pow2_16(const void *field)
{
	uint16_t v;

	memcpy(&v, field, sizeof(v));
	return v && !(v & (v - 1)) ? NULL : "must be a power of two";
}

static const char *conf_check_pow2_32(const void *field)
{
	uint32_t v;

	memcpy(&v, field, sizeof(v));
	return v && !(v & (v - 1)) ? NULL : "must be a power of two";
}

/* Forward needs an out_port, which only a rule has. */
static const char *conf_check_default_action(const void *field)
{
	enum conf_action a;

	memcpy(&a, field, sizeof(a));
	return a == CONF_ACTION_FORWARD ? "forward cannot be the default "
		"(it needs out_port); use a rule" : NULL;
}

/* ---- enums ----------------------------------------------------------- */

static const char *const conf_connectors[] = {
	[CONF_CONNECT_KERNEL] = "kernel",
	[CONF_CONNECT_STACK] = "stack",
	NULL,
};

static const char *const conf_port_kinds[] = {
	[CONF_PORT_DPDK] = "dpdk",
	[CONF_PORT_TUN] = "tun",
	[CONF_PORT_PCAP] = "pcap",
	NULL,
};

static const char *const conf_actions[] = {
	[CONF_ACTION_ALLOW] = "allow",
	[CONF_ACTION_DROP] = "drop",
	[CONF_ACTION_LOCAL] = "local",
	[CONF_ACTION_STACK] = "stack",
	[CONF_ACTION_FORWARD] = "forward",
	[CONF_ACTION_REJECT] = "reject",
	NULL,
};

/* ---- ports ----------------------------------------------------------- */

static const struct conf_key conf_dpdk_keys[] = {
	{ .name = "devargs", .type = CONF_T_STR,
	  FLD(struct conf_port, devargs), .def = "",
	  .doc = "PCI address (0000:01:00.0) or virtual device arguments "
		 "(net_tap0,iface=x); required for kind dpdk" },
	{ .name = "rx_queues", .type = CONF_T_UINT,
	  FLD(struct conf_port, rx_queues), .min = 0, .max = 64, .def = "0",
	  .doc = "receive queues; 0 = one per rx/tx lcore" },
	{ .name = "rx_desc", .type = CONF_T_UINT,
	  FLD(struct conf_port, rx_desc), .min = 64, .max = 32768,
	  .def = "1024", .check = conf_check_pow2_16,
	  .doc = "descriptors per receive queue (a power of two)" },
	{ .name = "tx_desc", .type = CONF_T_UINT,
	  FLD(struct conf_port, tx_desc), .min = 64, .max = 32768,
	  .def = "1024", .check = conf_check_pow2_16,
	  .doc = "descriptors per transmit queue (a power of two)" },
};

static const struct conf_key conf_tun_keys[] = {
	{ .name = "ifname", .type = CONF_T_STR,
	  FLD(struct conf_port, ifname), .max_len = 15, .def = "strata0",
	  .check = conf_check_ifname,
	  .doc = "name of the TUN device strata creates (unique, at most "
		 "15 characters)" },
	{ .name = "kernel_addresses", .type = CONF_T_PREFIX_LIST,
	  FLD(struct conf_port, kernel_addrs[0]),
	  .aux_off = offsetof(struct conf_port, n_kernel_addrs),
	  .max = CONF_MAX_ADDRS,
	  .doc = "addresses given to the kernel side of the TUN device" },
	{ .name = "routes", .type = CONF_T_PREFIX_LIST,
	  FLD(struct conf_port, routes[0]),
	  .aux_off = offsetof(struct conf_port, n_routes),
	  .max = CONF_MAX_ROUTES,
	  .doc = "prefixes the kernel routes into the TUN device" },
};

static const struct conf_key conf_pcap_keys[] = {
	{ .name = "input", .type = CONF_T_STR,
	  FLD(struct conf_port, pcap_in), .def = "",
	  .doc = "capture file to read packets from; required for kind "
		 "pcap" },
	{ .name = "output", .type = CONF_T_STR,
	  FLD(struct conf_port, pcap_out), .def = "",
	  .doc = "capture file transmitted packets are written to; "
		 "\"\" = discard them" },
};

static const struct conf_map conf_dpdk_map = MAP_OF(conf_dpdk_keys, NULL);
static const struct conf_map conf_tun_map = MAP_OF(conf_tun_keys, NULL);
static const struct conf_map conf_pcap_map = MAP_OF(conf_pcap_keys, NULL);

/* What each kind of port cannot work without. */
static void conf_check_port(struct conf_ctx *x, void *base, yaml_node_t *node)
{
	struct conf_port *p = base;
	yaml_node_t *kind = conf__find(x, node, "kind");

	if (p->kind == CONF_PORT_DPDK && !p->devargs[0])
		conf__err(x, kind, "dpdk.devargs", "required for kind dpdk");
	if (p->kind == CONF_PORT_PCAP && !p->pcap_in[0])
		conf__err(x, kind, "pcap.input", "required for kind pcap");
	if (p->kind != CONF_PORT_TUN && p->mtu > CONF_MTU_MAX_LINK)
		conf__err(x, conf__find(x, node, "mtu"), "mtu",
			  "at most 9216 for kinds dpdk and pcap");
}

static const struct conf_key conf_port_keys[] = {
	{ .name = "name", .type = CONF_T_STR, .flags = CONF_F_REQUIRED,
	  FLD(struct conf_port, name), .def = "", .check = conf_check_name,
	  .doc = "unique name of the port, used in counters and rules "
		 "(letters, digits, '_', '-', '.')" },
	{ .name = "kind", .type = CONF_T_ENUM, .flags = CONF_F_REQUIRED,
	  FLD(struct conf_port, kind), .names = conf_port_kinds,
	  .def = "tun",
	  .doc = "backend: dpdk (a NIC or DPDK virtual device), tun (a TUN "
		 "device on this host) or pcap (replay a capture file)" },
	{ .name = "mtu", .type = CONF_T_UINT, FLD(struct conf_port, mtu),
	  .min = 1280, .max = CONF_MTU_MAX_TUN, .def = "1500",
	  .doc = "largest IP packet sent out of this port, in bytes (at "
		 "most 9216; a tun port up to 65000, see docs/PORTS.md)" },
	{ .name = "mac", .type = CONF_T_MAC, .flags = CONF_F_OPTIONAL,
	  FLD(struct conf_port, mac),
	  .aux_off = offsetof(struct conf_port, mac_set), .def = "",
	  .doc = "strata's unicast MAC on Ethernet ports; \"\" = the "
		 "device's own" },
	{ .name = "addresses", .type = CONF_T_PREFIX_LIST,
	  FLD(struct conf_port, addrs[0]),
	  .aux_off = offsetof(struct conf_port, n_addrs),
	  .max = CONF_MAX_ADDRS,
	  .doc = "strata's own addresses on this port, with the prefix "
		 "of the attached network" },
	{ .name = "dpdk", .type = CONF_T_MAP, .sub = &conf_dpdk_map,
	  .doc = "settings for kind dpdk" },
	{ .name = "tun", .type = CONF_T_MAP, .sub = &conf_tun_map,
	  .doc = "settings for kind tun" },
	{ .name = "pcap", .type = CONF_T_MAP, .sub = &conf_pcap_map,
	  .doc = "settings for kind pcap" },
};

static const struct conf_map conf_port_map =
	MAP_OF(conf_port_keys, conf_check_port);

/* Names and TUN devices are unique. */
static void conf_check_ports(struct conf_ctx *x, void *base, yaml_node_t *node)
{
	struct conf *c = base;
	unsigned i, j;
	size_t saved;

	for (i = 0; i < c->n_ports; i++) {
		const struct conf_port *p = &c->ports[i];
		yaml_node_t *elem = conf__item(x, node, i);

		saved = conf__path_push(x, "[%u]", i);
		for (j = 0; j < i; j++) {
			const struct conf_port *q = &c->ports[j];

			if (!strcmp(p->name, q->name)) {
				conf__err(x, conf__find(x, elem, "name"),
					  "name", "port name '%s' is already "
					  "used by ports[%u]", p->name, j);
				break;
			}
		}
		for (j = 0; j < i && p->kind == CONF_PORT_TUN; j++) {
			const struct conf_port *q = &c->ports[j];

			if (q->kind == CONF_PORT_TUN &&
			    !strcmp(p->ifname, q->ifname)) {
				yaml_node_t *at = conf__find(x,
					conf__find(x, elem, "tun"), "ifname");

				conf__err(x, at ? at : conf__find(x, elem,
								  "kind"),
					  "tun.ifname", "TUN device '%s' is "
					  "already used by ports[%u]",
					  p->ifname, j);
				break;
			}
		}
		conf__path_pop(x, saved);
	}
}

void conf__default_ports(struct conf *c)
{
	struct conf_port *p = &c->ports[0];

	snprintf(p->name, sizeof(p->name), "tun0");
	p->kind = CONF_PORT_TUN;
	/* Packets through a laptop's TUN never leave the host: the largest
	 * MTU moves a TCP stream in 64 KiB segments (docs/PORTS.md). */
	p->mtu = CONF_MTU_MAX_TUN;
	conf_parse_prefix("10.77.0.2/24", &p->addrs[0]);
	conf_parse_prefix("fd77::2/64", &p->addrs[1]);
	p->n_addrs = 2;
	conf_parse_prefix("10.77.0.1/24", &p->kernel_addrs[0]);
	conf_parse_prefix("fd77::1/64", &p->kernel_addrs[1]);
	p->n_kernel_addrs = 2;
	/* Laptop mode proxies these prefixes (benchmarking ranges, not the
	 * default route): route more into the TUN to proxy more. */
	conf_parse_prefix("198.18.0.0/15", &p->routes[0]);
	conf_parse_prefix("fd77:1::/64", &p->routes[1]);
	p->n_routes = 2;
	c->n_ports = 1;
}

/* ---- policy ---------------------------------------------------------- */

static void conf_check_rule(struct conf_ctx *x, void *base, yaml_node_t *node)
{
	struct conf_rule *r = base;
	bool ports = r->dport_lo != 0 || r->dport_hi != 65535;

	if (r->src_set && r->dst_set && r->src.v4 != r->dst.v4)
		conf__err(x, conf__find(x, node, "dst"), "dst",
			  "address family differs from src");
	if (ports && r->proto != 6 && r->proto != 17 && r->proto != 132)
		conf__err(x, conf__find(x, node, "dports"), "dports",
			  "needs proto tcp, udp or sctp");
	if (r->action == CONF_ACTION_FORWARD && !r->out_port[0])
		conf__err(x, conf__find(x, node, "action"), "out_port",
			  "required for action forward");
	if (r->action != CONF_ACTION_FORWARD && r->out_port[0])
		conf__err(x, conf__find(x, node, "out_port"), "out_port",
			  "only valid with action forward");
}

static const struct conf_key conf_rule_keys[] = {
	{ .name = "action", .type = CONF_T_ENUM, .flags = CONF_F_REQUIRED,
	  FLD(struct conf_rule, action), .names = conf_actions,
	  .def = "drop",
	  .doc = "what to do with a matching packet: allow (no opinion, "
		 "take the default path), drop, local (answer it here), "
		 "stack (hand it to the userspace stack), forward (send "
		 "it out of out_port) or reject (the stack refuses TCP with "
		 "RST and UDP with ICMP port unreachable)" },
	{ .name = "src", .type = CONF_T_PREFIX, .flags = CONF_F_OPTIONAL,
	  FLD(struct conf_rule, src),
	  .aux_off = offsetof(struct conf_rule, src_set), .def = "any",
	  .doc = "source prefix to match; any (or \"\") matches all; "
		 "host bits are kept, the matcher masks them" },
	{ .name = "dst", .type = CONF_T_PREFIX, .flags = CONF_F_OPTIONAL,
	  FLD(struct conf_rule, dst),
	  .aux_off = offsetof(struct conf_rule, dst_set), .def = "any",
	  .doc = "destination prefix to match; any (or \"\") matches all" },
	{ .name = "proto", .type = CONF_T_PROTO,
	  FLD(struct conf_rule, proto), .def = "any",
	  .doc = "IP protocol to match" },
	{ .name = "dports", .type = CONF_T_PORT_RANGE,
	  FLD(struct conf_rule, dport_lo),
	  .aux_off = offsetof(struct conf_rule, dport_hi), .def = "any",
	  .doc = "destination port or range to match (tcp, udp, sctp)" },
	{ .name = "out_port", .type = CONF_T_STR,
	  FLD(struct conf_rule, out_port), .def = "",
	  .check = conf_check_name_or_empty,
	  .doc = "name of the port to forward out of; only with action "
		 "forward" },
};

static const struct conf_map conf_rule_map =
	MAP_OF(conf_rule_keys, conf_check_rule);

static const struct conf_key conf_policy_keys[] = {
	{ .name = "default_action", .type = CONF_T_ENUM,
	  FLD(struct conf, policy.default_action), .names = conf_actions,
	  .def = "stack", .check = conf_check_default_action,
	  .doc = "action for packets to other hosts that no rule matches: "
		 "allow, drop, local, stack (proxy TCP and UDP through the "
		 "userspace stack) or reject; forward needs a rule with "
		 "out_port. "
		 "Packets to strata's own addresses are answered locally" },
	{ .name = "rules", .type = CONF_T_MAP_LIST,
	  FLD(struct conf, policy.rules[0]),
	  .aux_off = offsetof(struct conf, policy.n_rules),
	  .max = CONF_MAX_RULES, .sub = &conf_rule_map,
	  .doc = "rules tried in order; the first match decides" },
};

/* ---- the other sections ---------------------------------------------- */

static const struct conf_key conf_lcores_keys[] = {
	{ .name = "rxtx", .type = CONF_T_UINT,
	  FLD(struct conf, lcores.rxtx), .min = 1, .max = 64, .def = "1",
	  .doc = "lcores polling ports (receive, parse, answer, send)" },
	{ .name = "workers", .type = CONF_T_UINT,
	  FLD(struct conf, lcores.workers), .min = 0, .max = 64,
	  .def = "1", .doc = "worker lcores (stack and protocol engines)" },
	{ .name = "cpus", .type = CONF_T_STR, FLD(struct conf, lcores.cpus),
	  .def = "", .check = conf_check_cpus,
	  .doc = "CPUs to run lcores on, like \"0-3,6\"; \"\" = the CPUs "
		 "this process may use" },
};

static const struct conf_key conf_eal_keys[] = {
	{ .name = "args", .type = CONF_T_STR_LIST,
	  FLD(struct conf, eal.args[0]),
	  .aux_off = offsetof(struct conf, eal.n_args),
	  .max = CONF_MAX_EAL_ARGS, .max_len = 255,
	  .doc = "extra DPDK EAL arguments, appended to the generated ones" },
	{ .name = "no_huge", .type = CONF_T_BOOL,
	  FLD(struct conf, eal.no_huge), .def = "true",
	  .doc = "run without hugepages (fine for TUN, pcap and virtual "
		 "devices; NICs want hugepages)" },
	{ .name = "memory_mb", .type = CONF_T_UINT,
	  FLD(struct conf, eal.memory_mb), .min = 64, .max = 1048576,
	  .def = "256", .doc = "memory DPDK reserves, in MiB" },
};

static const struct conf_key conf_mbuf_keys[] = {
	{ .name = "pool_size", .type = CONF_T_UINT,
	  FLD(struct conf, mbuf.pool_size), .min = 1023, .max = 16777215,
	  .def = "8191",
	  .doc = "packet buffers in the pool (2^n - 1 uses memory best)" },
	{ .name = "burst", .type = CONF_T_UINT, FLD(struct conf, mbuf.burst),
	  .min = 1, .max = 512, .def = "32",
	  .doc = "packets received or sent per call" },
	{ .name = "ring_size", .type = CONF_T_UINT,
	  FLD(struct conf, mbuf.ring_size), .min = 64, .max = 1048576,
	  .def = "1024", .check = conf_check_pow2_32,
	  .doc = "slots in each ring between lcores (a power of two); "
		 "rings to and from workers are made large enough for "
		 "every mbuf" },
};

static const struct conf_key conf_flows_keys[] = {
	{ .name = "max", .type = CONF_T_UINT, FLD(struct conf, flows.max),
	  .min = 16, .max = 16777216, .def = "65536",
	  .doc = "flow table entries per rx/tx lcore" },
	{ .name = "tcp_idle_s", .type = CONF_T_UINT,
	  FLD(struct conf, flows.tcp_idle_s), .min = 1, .max = 86400,
	  .def = "300", .doc = "seconds before an idle TCP flow expires "
				 "(one the stack terminates: at least "
				 "stack.tcp_idle_s)" },
	{ .name = "udp_idle_s", .type = CONF_T_UINT,
	  FLD(struct conf, flows.udp_idle_s), .min = 1, .max = 86400,
	  .def = "60", .doc = "seconds before an idle UDP flow expires "
				"(one the stack terminates: at least "
				"stack.udp_idle_s)" },
	{ .name = "other_idle_s", .type = CONF_T_UINT,
	  FLD(struct conf, flows.other_idle_s), .min = 1, .max = 86400,
	  .def = "30",
	  .doc = "seconds before an idle flow of another protocol expires" },
	{ .name = "stack_closing_s", .type = CONF_T_UINT,
	  FLD(struct conf, flows.stack_closing_s), .min = 1, .max = 86400,
	  .def = "10",
	  .doc = "seconds before an idle TCP flow the stack terminates "
		 "expires once the client sent FIN or RST (a new SYN on it "
		 "gives it the stack's idle time again); closed connections "
		 "would otherwise fill the flow table for stack.tcp_idle_s" },
	{ .name = "fast_path", .type = CONF_T_BOOL,
	  FLD(struct conf, flows.fast_path), .def = "true",
	  .doc = "packets of known flows in the common shape (no VLAN tag, "
		 "IPv4 without options or fragments, IPv6 without extension "
		 "headers; TCP without SYN/FIN/RST, UDP, ICMP echo requests) "
		 "skip the general parser and go straight to their flow's "
		 "verdict; the outcome is the same, so turn it off only to "
		 "compare" },
};

static const struct conf_key conf_reass_keys[] = {
	{ .name = "max_datagrams", .type = CONF_T_UINT,
	  FLD(struct conf, reassembly.max_datagrams), .min = 1,
	  .max = 4096, .def = "64",
	  .doc = "datagrams being reassembled at once per lcore (64 KiB "
		 "each, allocated at start)" },
	{ .name = "timeout_ms", .type = CONF_T_UINT,
	  FLD(struct conf, reassembly.timeout_ms), .min = 100,
	  .max = 120000, .def = "2000",
	  .doc = "milliseconds to wait for the rest of a datagram" },
	{ .name = "max_fragments", .type = CONF_T_UINT,
	  FLD(struct conf, reassembly.max_fragments), .min = 2,
	  .max = 1024, .def = "64",
	  .doc = "fragments accepted per datagram" },
};

static const struct conf_key conf_neigh_keys[] = {
	{ .name = "max", .type = CONF_T_UINT, FLD(struct conf, neighbors.max),
	  .min = 16, .max = 1048576, .def = "1024",
	  .doc = "ARP/NDP cache entries per lcore" },
	{ .name = "reachable_s", .type = CONF_T_UINT,
	  FLD(struct conf, neighbors.reachable_s), .min = 1, .max = 3600,
	  .def = "30",
	  .doc = "seconds a resolved neighbor is trusted without news" },
	{ .name = "retrans_ms", .type = CONF_T_UINT,
	  FLD(struct conf, neighbors.retrans_ms), .min = 100, .max = 60000,
	  .def = "1000",
	  .doc = "milliseconds between ARP requests / neighbor "
		 "solicitations" },
	{ .name = "queue_len", .type = CONF_T_UINT,
	  FLD(struct conf, neighbors.queue_len), .min = 0, .max = 256,
	  .def = "4",
	  .doc = "packets held per neighbor while it is resolved; 0 = "
		 "drop them" },
};

static const struct conf_key conf_icmp_keys[] = {
	{ .name = "echo", .type = CONF_T_BOOL, FLD(struct conf, icmp.echo),
	  .def = "true",
	  .doc = "answer echo requests (ping) to strata's addresses" },
	{ .name = "errors", .type = CONF_T_BOOL,
	  FLD(struct conf, icmp.errors), .def = "true",
	  .doc = "send ICMP errors (unreachable, packet too big, time "
		 "exceeded)" },
	{ .name = "errors_per_s", .type = CONF_T_UINT,
	  FLD(struct conf, icmp.errors_per_s), .min = 0, .max = 1000000,
	  .def = "1000",
	  .doc = "ICMP errors sent per second per lcore; 0 = no limit" },
};

static const struct conf_key conf_stack_keys[] = {
	{ .name = "max_connections", .type = CONF_T_UINT,
	  FLD(struct conf, stack.max_conns), .min = 1, .max = 16777216,
	  .def = "65536",
	  .doc = "proxied TCP connections and UDP flows per worker; past "
		 "it new ones are refused (RST / ICMP unreachable) and "
		 "counted" },
	{ .name = "buffer_kib", .type = CONF_T_UINT,
	  FLD(struct conf, stack.buffer_kib), .min = 1, .max = 1024,
	  .def = "16",
	  .doc = "KiB buffered per direction of a connection, only while "
		 "the other side cannot take more" },
	{ .name = "connect_timeout_ms", .type = CONF_T_UINT,
	  FLD(struct conf, stack.connect_timeout_ms), .min = 100,
	  .max = 600000, .def = "10000",
	  .doc = "milliseconds an upstream connect may take before the "
		 "client gets a RST" },
	{ .name = "tcp_idle_s", .type = CONF_T_UINT,
	  FLD(struct conf, stack.tcp_idle_s), .min = 1, .max = 604800,
	  .def = "3600",
	  .doc = "seconds a proxied TCP connection may carry no bytes "
		 "before both sides are reset" },
	{ .name = "udp_idle_s", .type = CONF_T_UINT,
	  FLD(struct conf, stack.udp_idle_s), .min = 1, .max = 86400,
	  .def = "60",
	  .doc = "seconds a proxied UDP flow may carry no datagrams "
		 "before it is forgotten" },
	{ .name = "time_wait_ms", .type = CONF_T_UINT,
	  FLD(struct conf, stack.time_wait_ms), .min = 500, .max = 120000,
	  .def = "2000",
	  .doc = "milliseconds a closed client connection stays in the "
		 "stack's TIME_WAIT (in steps of 500; lwIP's own 120 s "
		 "would keep tens of thousands of closed connections that "
		 "every new one walks past)" },
};

/* "auto", "" or a device name. */
static const char *conf_check_egress_if(const void *field)
{
	return *(const char *)field ? conf_check_ifname(field) : NULL;
}

/* A host name (letters, digits, '-', '.') or an IP address. */
static const char *conf_check_host(const void *field)
{
	const char *h = field;

	if (!*h)
		return "must not be empty";
	for (; *h; h++)
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		      (*h >= '0' && *h <= '9') || *h == '-' || *h == '.' ||
		      *h == ':' || *h == '_'))
			return "must be a host name or an IP address";
	return NULL;
}

static const struct conf_key conf_rewrite_keys[] = {
	{ .name = "dst", .type = CONF_T_PREFIX, .flags = CONF_F_REQUIRED,
	  FLD(struct conf_rewrite, dst), .def = "",
	  .doc = "original destination prefix this applies to" },
	{ .name = "dports", .type = CONF_T_PORT_RANGE,
	  FLD(struct conf_rewrite, dport_lo),
	  .aux_off = offsetof(struct conf_rewrite, dport_hi), .def = "any",
	  .doc = "original destination port or range" },
	{ .name = "host", .type = CONF_T_STR, .flags = CONF_F_REQUIRED,
	  FLD(struct conf_rewrite, host), .max_len = 253, .def = "",
	  .check = conf_check_host,
	  .doc = "where to connect instead: a name (resolved through dns, "
		 "connected with happy eyeballs) or an address" },
	{ .name = "port", .type = CONF_T_UINT, FLD(struct conf_rewrite, port),
	  .min = 0, .max = 65535, .def = "0",
	  .doc = "port to connect to; 0 = the original one" },
};

static const struct conf_map conf_rewrite_map = MAP_OF(conf_rewrite_keys, NULL);

static const struct conf_key conf_egress_keys[] = {
	{ .name = "interface", .type = CONF_T_STR,
	  FLD(struct conf, egress.interface), .max_len = 15, .def = "auto",
	  .check = conf_check_egress_if,
	  .doc = "device kernel-socket egress is bound to, so that proxied "
		 "traffic does not loop back into strata's TUN; auto = the "
		 "device of the default route at start, \"\" = let the "
		 "kernel route (destinations routed into strata's own TUN "
		 "are then refused)" },
	{ .name = "rewrite", .type = CONF_T_MAP_LIST,
	  FLD(struct conf, egress.rewrites[0]),
	  .aux_off = offsetof(struct conf, egress.n_rewrites),
	  .max = CONF_MAX_RULES, .sub = &conf_rewrite_map,
	  .doc = "send connections for some destinations elsewhere (the "
		 "first match wins; the egress hook of apps may decide too)" },
	{ .name = "connector", .type = CONF_T_ENUM,
	  FLD(struct conf, egress.connector), .names = conf_connectors,
	  .def = "kernel",
	  .doc = "how TCP leaves: kernel (sockets of the host's own stack, "
		 "bound to interface) or stack (lwIP connections out of "
		 "strata's ports, from strata's addresses: for NICs the "
		 "kernel does not see); UDP always uses kernel sockets" },
	{ .name = "attempt_delay_ms", .type = CONF_T_UINT,
	  FLD(struct conf, egress.attempt_delay_ms), .min = 10, .max = 2000,
	  .def = "250",
	  .doc = "happy eyeballs (RFC 8305): wait this long for one address "
		 "before also trying the next" },
};

static const struct conf_key conf_dns_keys[] = {
	{ .name = "servers", .type = CONF_T_STR_LIST,
	  FLD(struct conf, dns.servers[0]),
	  .aux_off = offsetof(struct conf, dns.n_servers),
	  .max = CONF_MAX_DNS, .max_len = 63,
	  .doc = "resolvers, tried in order (\"10.0.0.53\", \"[fd00::53]:5353\"); "
		 "empty = the ones in /etc/resolv.conf" },
	{ .name = "timeout_ms", .type = CONF_T_UINT,
	  FLD(struct conf, dns.timeout_ms), .min = 50, .max = 30000,
	  .def = "1000", .doc = "milliseconds to wait for one resolver" },
	{ .name = "tries", .type = CONF_T_UINT, FLD(struct conf, dns.tries),
	  .min = 1, .max = 10, .def = "2",
	  .doc = "rounds over the resolvers before a name fails" },
	{ .name = "negative_ttl_s", .type = CONF_T_UINT,
	  FLD(struct conf, dns.negative_ttl_s), .min = 0, .max = 86400,
	  .def = "30",
	  .doc = "seconds a failed name is remembered as failed" },
	{ .name = "max_ttl_s", .type = CONF_T_UINT,
	  FLD(struct conf, dns.max_ttl_s), .min = 0, .max = 604800,
	  .def = "3600",
	  .doc = "longest a record is cached, whatever its TTL says" },
	{ .name = "cache_size", .type = CONF_T_UINT,
	  FLD(struct conf, dns.cache_size), .min = 16, .max = 1048576,
	  .def = "4096", .doc = "names cached per worker" },
};

static const struct conf_key conf_audit_keys[] = {
	{ .name = "path", .type = CONF_T_STR, FLD(struct conf, audit.path),
	  .def = "",
	  .doc = "file that gets one JSON line per finished proxied "
		 "connection or UDP flow (appended); \"-\" = standard "
		 "output, \"\" = no audit log" },
};

static const struct conf_key conf_admin_keys[] = {
	{ .name = "stats_interval_s", .type = CONF_T_UINT,
	  FLD(struct conf, admin.stats_interval_s), .min = 0, .max = 86400,
	  .def = "0",
	  .doc = "print counters every this many seconds; 0 = only on "
		 "SIGUSR1" },
};

/* ---- L7: endpoints, upstreams, routes ------------------------------- */

static const char *const conf_http_protos[] = {
	[CONF_HTTP_AUTO] = "auto",
	[CONF_HTTP_1] = "http1",
	[CONF_HTTP_2] = "http2",
	NULL,
};

static const char *const conf_client_auths[] = {
	[CONF_CLIENT_AUTH_NONE] = "none",
	[CONF_CLIENT_AUTH_OPTIONAL] = "optional",
	[CONF_CLIENT_AUTH_REQUIRED] = "required",
	NULL,
};

static const char *const conf_tls_versions[] = {
	[CONF_TLS_1_2] = "1.2",
	[CONF_TLS_1_3] = "1.3",
	NULL,
};

static const char *const conf_pp_sends[] = {
	[CONF_PP_NONE] = "none",
	[CONF_PP_V1] = "v1",
	[CONF_PP_V2] = "v2",
	NULL,
};

/* "ip:port" or "[ip6]:port": listeners bind literal addresses. */
static const char *conf_check_listen(const void *field)
{
	char host[64];
	uint16_t port;
	struct conf_prefix p;

	if (conf_parse_hostport(field, host, sizeof(host), &port) < 0)
		return "expected ip:port or [ip6]:port";
	if (conf_parse_prefix(host, &p) < 0 || p.prefix_len != (p.v4 ? 32 : 128))
		return "the host must be an IP address";
	return NULL;
}

static const char *conf_check_server(const void *field)
{
	char host[CONF_HOST_MAX];
	uint16_t port;

	if (conf_parse_hostport(field, host, sizeof(host), &port) < 0)
		return "expected host:port or [ip6]:port";
	return conf_check_host(host);
}

static const char *conf_check_alpn(const void *field)
{
	const char *s = field;

	return *s && strlen(s) < 256 ? NULL : "must be 1..255 characters";
}

static const struct conf_key conf_tls_cert_keys[] = {
	{ .name = "cert", .type = CONF_T_STR, .flags = CONF_F_REQUIRED,
	  FLD(struct conf_tls_cert, cert), .def = "",
	  .doc = "PEM certificate chain, leaf first; its names (SAN) select "
		 "it by SNI" },
	{ .name = "key", .type = CONF_T_STR, .flags = CONF_F_REQUIRED,
	  FLD(struct conf_tls_cert, key), .def = "",
	  .doc = "PEM private key of the certificate" },
};

static const struct conf_map conf_tls_cert_map = MAP_OF(conf_tls_cert_keys, NULL);

static const struct conf_key conf_endpoint_tls_keys[] = {
	{ .name = "certs", .type = CONF_T_MAP_LIST,
	  FLD(struct conf_endpoint, tls.certs[0]),
	  .aux_off = offsetof(struct conf_endpoint, tls.n_certs),
	  .max = CONF_MAX_CERTS, .sub = &conf_tls_cert_map,
	  .doc = "certificates, chosen by the client's SNI (the first is "
		 "the default); none = plain TCP" },
	{ .name = "alpn", .type = CONF_T_STR_LIST,
	  FLD(struct conf_endpoint, tls.alpn[0]),
	  .aux_off = offsetof(struct conf_endpoint, tls.n_alpn),
	  .max = CONF_MAX_ALPN, .max_len = 255, .check = conf_check_alpn,
	  .doc = "ALPN protocols in order of preference; empty = h2 and "
		 "http/1.1 as protocol allows" },
	{ .name = "min_version", .type = CONF_T_ENUM,
	  FLD(struct conf_endpoint, tls.min_version),
	  .names = conf_tls_versions, .def = "1.2",
	  .doc = "oldest TLS version accepted" },
	{ .name = "client_auth", .type = CONF_T_ENUM,
	  FLD(struct conf_endpoint, tls.client_auth),
	  .names = conf_client_auths, .def = "none",
	  .doc = "client certificates (mTLS): none, optional (verified when "
		 "sent) or required" },
	{ .name = "client_ca", .type = CONF_T_STR,
	  FLD(struct conf_endpoint, tls.client_ca), .def = "",
	  .doc = "PEM CA bundle client certificates must chain to" },
	{ .name = "inspect_ca_cert", .type = CONF_T_STR,
	  FLD(struct conf_endpoint, tls.inspect_ca_cert), .def = "",
	  .doc = "forward proxy TLS inspection: CA certificate that signs "
		 "certificates minted for CONNECT targets; \"\" = tunnel TLS "
		 "untouched" },
	{ .name = "inspect_ca_key", .type = CONF_T_STR,
	  FLD(struct conf_endpoint, tls.inspect_ca_key), .def = "",
	  .doc = "private key of inspect_ca_cert" },
	{ .name = "inspect_upstream_ca", .type = CONF_T_STR,
	  FLD(struct conf_endpoint, tls.inspect_upstream_ca), .def = "",
	  .doc = "PEM CA bundle that real servers behind inspected (and "
		 "https:// absolute-form) requests are verified against; "
		 "\"\" = the system's" },
};

static const struct conf_map conf_endpoint_tls_map =
	MAP_OF(conf_endpoint_tls_keys, NULL);

static const struct conf_key conf_endpoint_keys[] = {
	{ .name = "name", .type = CONF_T_STR, .flags = CONF_F_REQUIRED,
	  FLD(struct conf_endpoint, name), .def = "",
	  .check = conf_check_name,
	  .doc = "unique name, used by routes and in counters" },
	{ .name = "listen", .type = CONF_T_STR_LIST,
	  FLD(struct conf_endpoint, listen[0]),
	  .aux_off = offsetof(struct conf_endpoint, n_listen),
	  .max = CONF_MAX_LISTEN, .max_len = 63, .check = conf_check_listen,
	  .doc = "kernel sockets to listen on (\"127.0.0.1:8080\", "
		 "\"[::1]:8443\"), one per worker with SO_REUSEPORT" },
	{ .name = "stack_port", .type = CONF_T_UINT,
	  FLD(struct conf_endpoint, stack_port), .min = 0, .max = 65535,
	  .def = "0",
	  .doc = "also listen on this TCP port of strata's own addresses, "
		 "through the userspace stack; 0 = not" },
	{ .name = "intercept_dports", .type = CONF_T_PORT_RANGE,
	  FLD(struct conf_endpoint, intercept_lo),
	  .aux_off = offsetof(struct conf_endpoint, intercept_hi),
	  .def = "0",
	  .doc = "TCP connections the stack proxies (policy stack, laptop "
		 "mode) to these destination ports are read as HTTP by this "
		 "endpoint (its apps see them; TLS too when it has "
		 "tls.inspect_ca_cert) and sent on to where they were going; "
		 "other protocols on them (and TLS without inspection) pass "
		 "through as plain TCP; \"0\" = none" },
	{ .name = "protocol", .type = CONF_T_ENUM,
	  FLD(struct conf_endpoint, protocol), .names = conf_http_protos,
	  .def = "auto",
	  .doc = "auto (HTTP/2 by ALPN or prior-knowledge preface, else "
		 "HTTP/1.1), http1 or http2" },
	{ .name = "proxy_protocol", .type = CONF_T_BOOL,
	  FLD(struct conf_endpoint, proxy_protocol), .def = "false",
	  .doc = "clients send a PROXY protocol v1 or v2 header first (from "
		 "a load balancer); its address is the client's" },
	{ .name = "forward", .type = CONF_T_BOOL,
	  FLD(struct conf_endpoint, forward), .def = "false",
	  .doc = "act as a forward proxy: CONNECT and absolute-form "
		 "requests go to the host they name" },
	{ .name = "tls", .type = CONF_T_MAP, .sub = &conf_endpoint_tls_map,
	  .doc = "TLS termination" },
	{ .name = "header_timeout_ms", .type = CONF_T_UINT,
	  FLD(struct conf_endpoint, header_timeout_ms), .min = 100,
	  .max = 600000, .def = "10000",
	  .doc = "a request head must arrive within this time" },
	{ .name = "idle_timeout_ms", .type = CONF_T_UINT,
	  FLD(struct conf_endpoint, idle_timeout_ms), .min = 100,
	  .max = 86400000, .def = "60000",
	  .doc = "close a client connection with no traffic for this long" },
};

static const struct conf_map conf_endpoint_map = MAP_OF(conf_endpoint_keys, NULL);

static const struct conf_key conf_upstream_keys[] = {
	{ .name = "name", .type = CONF_T_STR, .flags = CONF_F_REQUIRED,
	  FLD(struct conf_upstream, name), .def = "",
	  .check = conf_check_name, .doc = "unique name, used by routes" },
	{ .name = "servers", .type = CONF_T_STR_LIST,
	  FLD(struct conf_upstream, servers[0]),
	  .aux_off = offsetof(struct conf_upstream, n_servers), .min = 1,
	  .max = CONF_MAX_SERVERS, .max_len = 260, .check = conf_check_server,
	  .doc = "\"host:port\" servers, used in turn; names are resolved "
		 "through dns with happy eyeballs" },
	{ .name = "protocol", .type = CONF_T_ENUM,
	  FLD(struct conf_upstream, protocol), .names = conf_http_protos,
	  .def = "http1",
	  .doc = "http1 or http2 (auto = by ALPN with tls, else http1)" },
	{ .name = "tls", .type = CONF_T_BOOL, FLD(struct conf_upstream, tls),
	  .def = "false", .doc = "connect with TLS" },
	{ .name = "tls_verify", .type = CONF_T_BOOL,
	  FLD(struct conf_upstream, tls_verify), .def = "true",
	  .doc = "verify the server's certificate and name" },
	{ .name = "tls_ca", .type = CONF_T_STR,
	  FLD(struct conf_upstream, tls_ca), .def = "",
	  .doc = "PEM CA bundle to verify with; \"\" = the system's" },
	{ .name = "sni", .type = CONF_T_STR, FLD(struct conf_upstream, sni),
	  .max_len = 253, .def = "",
	  .doc = "name sent and verified; \"\" = the server's host" },
	{ .name = "proxy_protocol", .type = CONF_T_ENUM,
	  FLD(struct conf_upstream, proxy_protocol), .names = conf_pp_sends,
	  .def = "none",
	  .doc = "send a PROXY protocol header with the client's address" },
	{ .name = "connect_timeout_ms", .type = CONF_T_UINT,
	  FLD(struct conf_upstream, connect_timeout_ms), .min = 10,
	  .max = 600000, .def = "5000", .doc = "connect and TLS handshake" },
	{ .name = "response_timeout_ms", .type = CONF_T_UINT,
	  FLD(struct conf_upstream, response_timeout_ms), .min = 10,
	  .max = 3600000, .def = "30000",
	  .doc = "from the request head to the response head (504 after)" },
	{ .name = "idle_timeout_ms", .type = CONF_T_UINT,
	  FLD(struct conf_upstream, idle_timeout_ms), .min = 100,
	  .max = 3600000, .def = "30000",
	  .doc = "pooled connections idle this long are closed" },
	{ .name = "max_idle", .type = CONF_T_UINT,
	  FLD(struct conf_upstream, max_idle), .min = 0, .max = 65536,
	  .def = "64", .doc = "pooled idle connections per worker" },
	{ .name = "max_connections", .type = CONF_T_UINT,
	  FLD(struct conf_upstream, max_connections), .min = 0,
	  .max = 1000000, .def = "0",
	  .doc = "connections per worker (0: no cap); past it a request "
		 "waits for one to be free, at most connect_timeout_ms "
		 "(then 504)" },
	{ .name = "fail_timeout_s", .type = CONF_T_UINT,
	  FLD(struct conf_upstream, fail_timeout_s), .min = 0, .max = 3600,
	  .def = "10",
	  .doc = "passive health: a server that failed a connect is skipped "
		 "this long (while others are up)" },
	{ .name = "retries", .type = CONF_T_UINT,
	  FLD(struct conf_upstream, retries), .min = 0, .max = 8, .def = "1",
	  .doc = "idempotent requests that failed before any response are "
		 "retried this many times on a fresh connection" },
};

static const struct conf_map conf_upstream_map = MAP_OF(conf_upstream_keys, NULL);

static const struct conf_key conf_route_keys[] = {
	{ .name = "endpoint", .type = CONF_T_STR,
	  FLD(struct conf_http_route, endpoint), .def = "",
	  .check = conf_check_name_or_empty,
	  .doc = "endpoint this route serves; \"\" = every endpoint" },
	{ .name = "host", .type = CONF_T_STR, FLD(struct conf_http_route, host),
	  .max_len = 253, .def = "",
	  .doc = "request host (no port), \"*.example.org\" for subdomains; "
		 "\"\" = any" },
	{ .name = "path", .type = CONF_T_STR, FLD(struct conf_http_route, path),
	  .def = "", .doc = "path prefix; \"\" = any" },
	{ .name = "upstream", .type = CONF_T_STR,
	  FLD(struct conf_http_route, upstream), .def = "",
	  .check = conf_check_name_or_empty,
	  .doc = "upstream that serves it; \"\" = strata answers status" },
	{ .name = "status", .type = CONF_T_UINT,
	  FLD(struct conf_http_route, status), .min = 200, .max = 599,
	  .def = "404", .doc = "answer when there is no upstream" },
};

static const struct conf_map conf_route_map = MAP_OF(conf_route_keys, NULL);

static const char *const conf_http_actions[] = {
	[CONF_HTTP_ACT_BLOCK] = "block",
	[CONF_HTTP_ACT_ANSWER] = "answer",
	[CONF_HTTP_ACT_SET_HEADER] = "set_header",
	[CONF_HTTP_ACT_SET_RESPONSE_HEADER] = "set_response_header",
	[CONF_HTTP_ACT_ROUTE] = "route",
	[CONF_HTTP_ACT_FORM_FIELD] = "form_field",
	[CONF_HTTP_ACT_SET_RESPONSE_TRAILER] = "set_response_trailer",
	NULL,
};

static const struct conf_key conf_http_rule_keys[] = {
	{ .name = "endpoint", .type = CONF_T_STR,
	  FLD(struct conf_http_rule, endpoint), .def = "",
	  .check = conf_check_name_or_empty,
	  .doc = "endpoint it applies to; \"\" = every endpoint" },
	{ .name = "host", .type = CONF_T_STR, FLD(struct conf_http_rule, host),
	  .max_len = 253, .def = "",
	  .doc = "request host, \"*.example.org\" for subdomains; \"\" = any" },
	{ .name = "path", .type = CONF_T_STR, FLD(struct conf_http_rule, path),
	  .def = "", .doc = "path prefix; \"\" = any" },
	{ .name = "method", .type = CONF_T_STR,
	  FLD(struct conf_http_rule, method), .def = "",
	  .doc = "request method; \"\" = any" },
	{ .name = "action", .type = CONF_T_ENUM,
	  FLD(struct conf_http_rule, action), .names = conf_http_actions,
	  .def = "block",
	  .doc = "block (status, default 403), answer (status and body), "
		 "set_header / set_response_header (header: value, then "
		 "the next rules), route (to upstream), form_field (the "
		 "value of form field `field` of an urlencoded or multipart "
		 "request body, read as it streams by, into response header "
		 "`header`), set_response_trailer (header: value as a trailer "
		 "field at the response body's end, HTTP/2 or chunked "
		 "HTTP/1.1; then the next rules)" },
	{ .name = "status", .type = CONF_T_UINT,
	  FLD(struct conf_http_rule, status), .min = 0, .max = 599,
	  .def = "0", .doc = "block and answer: the status; 0 = 403 / 200" },
	{ .name = "body", .type = CONF_T_STR, FLD(struct conf_http_rule, body),
	  .def = "", .doc = "answer: the body" },
	{ .name = "header", .type = CONF_T_STR,
	  FLD(struct conf_http_rule, header), .def = "",
	  .doc = "set_header, set_response_header, set_response_trailer, "
		 "form_field: field name" },
	{ .name = "value", .type = CONF_T_STR,
	  FLD(struct conf_http_rule, value), .def = "",
	  .doc = "the field's value; $client, $client_port, $endpoint, $sni, "
		 "$alpn, $client_subject, $client_fingerprint, $method and "
		 "$path are replaced, and in set_response_trailer "
		 "$trailer:NAME by the response's trailer field NAME" },
	{ .name = "upstream", .type = CONF_T_STR,
	  FLD(struct conf_http_rule, upstream), .def = "",
	  .check = conf_check_name_or_empty, .doc = "route: the upstream" },
	{ .name = "field", .type = CONF_T_STR,
	  FLD(struct conf_http_rule, field), .def = "",
	  .doc = "form_field: the form field's name" },
};

static const struct conf_map conf_http_rule_map = MAP_OF(conf_http_rule_keys, NULL);

/* Names are unique; routes name real endpoints and upstreams. */
static void conf_check_l7(struct conf_ctx *x, struct conf *c, yaml_node_t *root)
{
	yaml_node_t *eps = conf__find(x, root, "endpoints");
	yaml_node_t *ups = conf__find(x, root, "upstreams");
	yaml_node_t *rts = conf__find(x, root, "routes");
	unsigned i, j;
	size_t saved;

	for (i = 0; i < c->n_endpoints; i++)
		for (j = 0; j < i; j++)
			if (!strcmp(c->endpoints[i].name, c->endpoints[j].name)) {
				saved = conf__path_push(x, "endpoints[%u]", i);
				conf__err(x, conf__find(x, conf__item(x, eps, i),
					  "name"), "name", "'%s' is already "
					  "used by endpoints[%u]",
					  c->endpoints[i].name, j);
				conf__path_pop(x, saved);
			}
	for (i = 0; i < c->n_upstreams; i++)
		for (j = 0; j < i; j++)
			if (!strcmp(c->upstreams[i].name, c->upstreams[j].name)) {
				saved = conf__path_push(x, "upstreams[%u]", i);
				conf__err(x, conf__find(x, conf__item(x, ups, i),
					  "name"), "name", "'%s' is already "
					  "used by upstreams[%u]",
					  c->upstreams[i].name, j);
				conf__path_pop(x, saved);
			}
	if (c->n_endpoints && !c->lcores.workers)
		conf__err(x, conf__find(x, root, "endpoints"), "",
			  "HTTP endpoints run on workers: set lcores.workers "
			  "to 1 or more");
	for (i = 0; i < c->n_endpoints; i++) {
		const struct conf_endpoint *e = &c->endpoints[i];

		if (!e->n_listen && !e->stack_port) {
			saved = conf__path_push(x, "endpoints[%u]", i);
			conf__err(x, conf__item(x, eps, i), "",
				  "listens nowhere: give listen or stack_port");
			conf__path_pop(x, saved);
		}
		if (!e->tls.inspect_ca_cert[0] != !e->tls.inspect_ca_key[0]) {
			saved = conf__path_push(x, "endpoints[%u]", i);
			conf__err(x, conf__item(x, eps, i), "tls",
				  "inspect_ca_cert and inspect_ca_key go "
				  "together");
			conf__path_pop(x, saved);
		}
		if (e->tls.client_auth != CONF_CLIENT_AUTH_NONE &&
		    (!e->tls.n_certs || !e->tls.client_ca[0])) {
			saved = conf__path_push(x, "endpoints[%u]", i);
			conf__err(x, conf__item(x, eps, i), "tls.client_auth",
				  "needs tls.certs and tls.client_ca");
			conf__path_pop(x, saved);
		}
	}
	for (i = 0; i < c->n_http_rules; i++) {
		const struct conf_http_rule *hr = &c->http_rules[i];
		yaml_node_t *item = conf__item(x, conf__find(x, root,
						"http_rules"), i);

		saved = conf__path_push(x, "http_rules[%u]", i);
		if (hr->action == CONF_HTTP_ACT_ROUTE) {
			for (j = 0; j < c->n_upstreams; j++)
				if (!strcmp(hr->upstream, c->upstreams[j].name))
					break;
			if (j == c->n_upstreams)
				conf__err(x, conf__find(x, item, "upstream"),
					  "upstream", "no upstream named '%s'",
					  hr->upstream);
		}
		if ((hr->action == CONF_HTTP_ACT_SET_HEADER ||
		     hr->action == CONF_HTTP_ACT_SET_RESPONSE_HEADER ||
		     hr->action == CONF_HTTP_ACT_SET_RESPONSE_TRAILER ||
		     hr->action == CONF_HTTP_ACT_FORM_FIELD) && !hr->header[0])
			conf__err(x, item, "header", "%s needs a header name",
				  conf_http_actions[hr->action]);
		if (hr->action == CONF_HTTP_ACT_FORM_FIELD && !hr->field[0])
			conf__err(x, item, "field", "form_field needs field");
		conf__path_pop(x, saved);
	}
	for (i = 0; i < c->n_routes; i++) {
		struct conf_http_route *r = &c->routes[i];
		yaml_node_t *item = conf__item(x, rts, i);

		saved = conf__path_push(x, "routes[%u]", i);
		r->endpoint_id = r->upstream_id = UINT16_MAX;
		for (j = 0; j < c->n_endpoints && r->endpoint[0]; j++)
			if (!strcmp(r->endpoint, c->endpoints[j].name))
				r->endpoint_id = (uint16_t)j;
		if (r->endpoint[0] && r->endpoint_id == UINT16_MAX)
			conf__err(x, conf__find(x, item, "endpoint"),
				  "endpoint", "no endpoint named '%s'",
				  r->endpoint);
		for (j = 0; j < c->n_upstreams && r->upstream[0]; j++)
			if (!strcmp(r->upstream, c->upstreams[j].name))
				r->upstream_id = (uint16_t)j;
		if (r->upstream[0] && r->upstream_id == UINT16_MAX)
			conf__err(x, conf__find(x, item, "upstream"),
				  "upstream", "no upstream named '%s'",
				  r->upstream);
		conf__path_pop(x, saved);
	}
}

static const struct conf_map conf_lcores_map = MAP_OF(conf_lcores_keys, NULL);
static const struct conf_map conf_eal_map = MAP_OF(conf_eal_keys, NULL);
static const struct conf_map conf_mbuf_map = MAP_OF(conf_mbuf_keys, NULL);
static const struct conf_map conf_flows_map = MAP_OF(conf_flows_keys, NULL);
static const struct conf_map conf_reass_map = MAP_OF(conf_reass_keys, NULL);
static const struct conf_map conf_neigh_map = MAP_OF(conf_neigh_keys, NULL);
static const struct conf_map conf_icmp_map = MAP_OF(conf_icmp_keys, NULL);
static const struct conf_map conf_policy_map = MAP_OF(conf_policy_keys, NULL);
static const struct conf_map conf_admin_map = MAP_OF(conf_admin_keys, NULL);
static const struct conf_map conf_stack_map = MAP_OF(conf_stack_keys, NULL);
static const struct conf_map conf_egress_map = MAP_OF(conf_egress_keys, NULL);
static const struct conf_map conf_dns_map = MAP_OF(conf_dns_keys, NULL);
static const struct conf_map conf_audit_map = MAP_OF(conf_audit_keys, NULL);

/* ---- across sections ------------------------------------------------- */

/* Forward rules name a real port. */
static void conf_check_root(struct conf_ctx *x, void *base, yaml_node_t *node)
{
	struct conf *c = base;

	conf_check_l7(x, c, node);
	yaml_node_t *policy = conf__find(x, node, "policy");
	yaml_node_t *rules = conf__find(x, policy, "rules");
	unsigned i, j;
	size_t saved;

	for (i = 0; i < c->policy.n_rules; i++) {
		struct conf_rule *r = &c->policy.rules[i];

		r->out_port_id = 0;
		if (r->action != CONF_ACTION_FORWARD)
			continue;
		for (j = 0; j < c->n_ports; j++)
			if (!strcmp(r->out_port, c->ports[j].name))
				break;
		if (j < c->n_ports) {
			r->out_port_id = (uint16_t)j;
			continue;
		}
		saved = conf__path_push(x, "policy.rules[%u]", i);
		conf__err(x, conf__find(x, conf__item(x, rules, i), "out_port"),
			  "out_port", "no port named '%s'", r->out_port);
		conf__path_pop(x, saved);
	}
}

static const struct conf_key conf_root_keys[] = {
	{ .name = "ports", .type = CONF_T_MAP_LIST,
	  FLD(struct conf, ports[0]),
	  .aux_off = offsetof(struct conf, n_ports), .min = 1,
	  .max = CONF_MAX_PORTS, .sub = &conf_port_map,
	  .check_list = conf_check_ports,
	  .doc = "where packets come in and go out; a list here replaces "
		 "the default list" },
	{ .name = "lcores", .type = CONF_T_MAP, .sub = &conf_lcores_map,
	  .doc = "threads pinned to CPUs; one more (the main lcore) runs "
		 "control and stats" },
	{ .name = "eal", .type = CONF_T_MAP, .sub = &conf_eal_map,
	  .doc = "DPDK environment (EAL) settings" },
	{ .name = "mbuf", .type = CONF_T_MAP, .sub = &conf_mbuf_map,
	  .doc = "packet buffers, bursts and rings" },
	{ .name = "flows", .type = CONF_T_MAP, .sub = &conf_flows_map,
	  .doc = "the flow table" },
	{ .name = "reassembly", .type = CONF_T_MAP, .sub = &conf_reass_map,
	  .doc = "IPv4/IPv6 fragment reassembly" },
	{ .name = "neighbors", .type = CONF_T_MAP, .sub = &conf_neigh_map,
	  .doc = "ARP and NDP neighbor cache" },
	{ .name = "icmp", .type = CONF_T_MAP, .sub = &conf_icmp_map,
	  .doc = "ICMP and ICMPv6 answers and errors" },
	{ .name = "policy", .type = CONF_T_MAP, .sub = &conf_policy_map,
	  .doc = "what happens to packets that are not for strata's own "
		 "addresses" },
	{ .name = "stack", .type = CONF_T_MAP, .sub = &conf_stack_map,
	  .doc = "the userspace TCP/UDP stack and the L4 proxy on it" },
	{ .name = "egress", .type = CONF_T_MAP, .sub = &conf_egress_map,
	  .doc = "how proxied connections leave strata" },
	{ .name = "dns", .type = CONF_T_MAP, .sub = &conf_dns_map,
	  .doc = "name resolution for egress (c-ares)" },
	{ .name = "audit", .type = CONF_T_MAP, .sub = &conf_audit_map,
	  .doc = "the audit log of proxied flows" },
	{ .name = "admin", .type = CONF_T_MAP, .sub = &conf_admin_map,
	  .doc = "operator interface" },
	{ .name = "endpoints", .type = CONF_T_MAP_LIST,
	  FLD(struct conf, endpoints[0]),
	  .aux_off = offsetof(struct conf, n_endpoints),
	  .max = CONF_MAX_ENDPOINTS, .sub = &conf_endpoint_map,
	  .doc = "HTTP listeners (reverse proxy, forward proxy, or served "
		 "by apps), each with its own TLS" },
	{ .name = "upstreams", .type = CONF_T_MAP_LIST,
	  FLD(struct conf, upstreams[0]),
	  .aux_off = offsetof(struct conf, n_upstreams),
	  .max = CONF_MAX_UPSTREAMS, .sub = &conf_upstream_map,
	  .doc = "pools of HTTP servers that routes send requests to" },
	{ .name = "http_rules", .type = CONF_T_MAP_LIST,
	  FLD(struct conf, http_rules[0]),
	  .aux_off = offsetof(struct conf, n_http_rules),
	  .max = CONF_MAX_HTTP_RULES, .sub = &conf_http_rule_map,
	  .doc = "the built-in http_rules app: block, answer, change headers "
		 "or route requests by endpoint, host, path and method, in "
		 "order (block, answer and route stop at the first match)" },
	{ .name = "routes", .type = CONF_T_MAP_LIST,
	  FLD(struct conf, routes[0]),
	  .aux_off = offsetof(struct conf, n_routes),
	  .max = CONF_MAX_HTTP_ROUTES, .sub = &conf_route_map,
	  .doc = "which upstream serves a request, by endpoint, host and "
		 "path prefix; the first match wins" },
};

const struct conf_map conf__root = MAP_OF(conf_root_keys, conf_check_root);
