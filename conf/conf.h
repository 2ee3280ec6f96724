/* strata configuration: YAML (libyaml) into typed settings.
 *
 * The schema lives in code (conf_schema.c): every key has a type, a
 * default, bounds and a doc string. The same table drives parsing,
 * validation, `strata config default` and the docs. */
#ifndef STRATA_CONF_H
#define STRATA_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dataplane/dp_pkt.h"

#define CONF_NAME_MAX 32
#define CONF_PATH_MAX 256
#define CONF_MAX_PORTS 16
/* MTU limits: links (NICs, captures) and TUN devices, whose packets
 * never leave the host; 65000 keeps a packet within one mbuf (16-bit
 * buffer length with headroom). */
#define CONF_MTU_MAX_LINK 9216
#define CONF_MTU_MAX_TUN 65000
#define CONF_MAX_ADDRS 8
#define CONF_MAX_ROUTES 16
#define CONF_MAX_RULES 64
#define CONF_MAX_EAL_ARGS 32
#define CONF_MAX_DNS 8
#define CONF_HOST_MAX 256
#define CONF_MAX_ENDPOINTS 16
#define CONF_MAX_LISTEN 4
#define CONF_MAX_CERTS 8
#define CONF_MAX_ALPN 4
#define CONF_MAX_UPSTREAMS 16
#define CONF_MAX_SERVERS 8
#define CONF_MAX_HTTP_ROUTES 64
#define CONF_MAX_HTTP_RULES 32

/* An address with a prefix length ("10.0.0.1/24", "fd00::1/64").
 * IPv4 is stored IPv4-mapped; prefix_len counts within the family
 * (0..32 for v4, 0..128 for v6). */
struct conf_prefix {
	union dp_addr addr;
	uint8_t prefix_len;
	bool v4;
};

enum conf_port_kind {
	CONF_PORT_DPDK = 0,
	CONF_PORT_TUN,
	CONF_PORT_PCAP,
};

struct conf_port {
	char name[CONF_NAME_MAX];      /* unique; used in counters */
	enum conf_port_kind kind;

	/* kind: dpdk */
	char devargs[CONF_PATH_MAX];   /* vdev args ("net_tap0,iface=x")
					  or a PCI address */
	uint16_t rx_queues;            /* 0 = one per rx/tx lcore */
	uint16_t rx_desc, tx_desc;

	/* kind: tun */
	char ifname[CONF_NAME_MAX];    /* TUN device name */
	struct conf_prefix kernel_addrs[CONF_MAX_ADDRS]; /* kernel side */
	unsigned n_kernel_addrs;
	struct conf_prefix routes[CONF_MAX_ROUTES]; /* routed into the TUN */
	unsigned n_routes;

	/* kind: pcap */
	char pcap_in[CONF_PATH_MAX];
	char pcap_out[CONF_PATH_MAX];

	uint16_t mtu;                  /* L3 MTU */
	uint8_t mac[6];                /* Ethernet ports: strata's MAC */
	bool mac_set;                  /* false: use the device's MAC */
	struct conf_prefix addrs[CONF_MAX_ADDRS]; /* strata's own addresses */
	unsigned n_addrs;
};

enum conf_action {
	CONF_ACTION_ALLOW = 0, /* no opinion: fall through to the default path */
	CONF_ACTION_DROP,
	CONF_ACTION_LOCAL,     /* answer locally (echo, unreachable) */
	CONF_ACTION_STACK,     /* deliver to the userspace stack */
	CONF_ACTION_FORWARD,   /* send out of another port */
	CONF_ACTION_REJECT,    /* the stack refuses it: TCP RST / ICMP
				  port unreachable (TCP and UDP) */
};

struct conf_rule {
	enum conf_action action;
	struct conf_prefix src;  /* prefix_len 0 and !set = any */
	bool src_set;
	struct conf_prefix dst;
	bool dst_set;
	uint8_t proto;           /* 0 = any; else IPPROTO_* */
	uint16_t dport_lo, dport_hi; /* 0,65535 = any */
	char out_port[CONF_NAME_MAX]; /* for forward */
	uint16_t out_port_id;    /* resolved index into conf.ports */
};

/* L7: TLS settings of an endpoint. */
struct conf_tls_cert {
	char cert[CONF_PATH_MAX];      /* PEM chain, leaf first */
	char key[CONF_PATH_MAX];       /* PEM private key */
};

enum conf_client_auth {
	CONF_CLIENT_AUTH_NONE = 0,
	CONF_CLIENT_AUTH_OPTIONAL,
	CONF_CLIENT_AUTH_REQUIRED,
};

enum conf_tls_version { CONF_TLS_1_2 = 0, CONF_TLS_1_3 };

enum conf_http_proto {
	CONF_HTTP_AUTO = 0,            /* server: sniff/ALPN; upstream: http1 */
	CONF_HTTP_1,
	CONF_HTTP_2,
};

/* An HTTP listener: where it listens, its TLS, and what it does. */
struct conf_endpoint {
	char name[CONF_NAME_MAX];
	char *listen[CONF_MAX_LISTEN]; /* kernel sockets "ip:port"; owned */
	unsigned n_listen;
	uint16_t stack_port;           /* TCP port on strata's own addresses
					  (userspace stack); 0 = none */
	uint16_t intercept_lo, intercept_hi; /* proxied TCP to these ports
					  goes through HTTP; 0 = none */
	enum conf_http_proto protocol;
	bool proxy_protocol;           /* a PROXY v1/v2 header comes first */
	bool forward;                  /* CONNECT and absolute-form allowed */
	struct {
		struct conf_tls_cert certs[CONF_MAX_CERTS]; /* none = no TLS */
		unsigned n_certs;
		char *alpn[CONF_MAX_ALPN];                  /* owned */
		unsigned n_alpn;
		enum conf_tls_version min_version;
		enum conf_client_auth client_auth;
		char client_ca[CONF_PATH_MAX];
		char inspect_ca_cert[CONF_PATH_MAX]; /* "" = no inspection */
		char inspect_ca_key[CONF_PATH_MAX];
		char inspect_upstream_ca[CONF_PATH_MAX]; /* "" = system */
	} tls;
	uint32_t header_timeout_ms;    /* request head must arrive */
	uint32_t idle_timeout_ms;      /* no bytes either way */
	uint32_t max_body_kib;         /* requests strata itself reads */
};

enum conf_pp_send { CONF_PP_NONE = 0, CONF_PP_V1, CONF_PP_V2 };

struct conf_upstream {
	char name[CONF_NAME_MAX];
	char *servers[CONF_MAX_SERVERS]; /* "host:port"; owned */
	unsigned n_servers;
	enum conf_http_proto protocol;
	bool tls;
	bool tls_verify;
	char tls_ca[CONF_PATH_MAX];    /* "" = the system bundle */
	char sni[CONF_HOST_MAX];       /* "" = the server's host */
	enum conf_pp_send proxy_protocol;
	uint32_t connect_timeout_ms;
	uint32_t response_timeout_ms;  /* until the response head */
	uint32_t idle_timeout_ms;      /* idle pooled connections */
	uint32_t max_idle;             /* pooled connections per worker */
	uint32_t max_connections;      /* per worker, 0 = no cap; past it
					* requests wait for one */
	uint32_t fail_timeout_s;       /* a failed server is skipped */
	uint32_t retries;              /* idempotent requests, fresh conns */
};

struct conf_http_route {
	char endpoint[CONF_NAME_MAX];  /* "" = every endpoint */
	char host[CONF_HOST_MAX];      /* "" = any; "*.x.org" */
	char path[CONF_PATH_MAX];      /* path prefix; "" = any */
	char upstream[CONF_NAME_MAX];  /* "" = answer status */
	uint16_t status;               /* when there is no upstream */
	uint16_t endpoint_id, upstream_id; /* resolved */
};

/* The built-in http_rules app: first matching rules decide. */
enum conf_http_action {
	CONF_HTTP_ACT_BLOCK = 0,
	CONF_HTTP_ACT_ANSWER,
	CONF_HTTP_ACT_SET_HEADER,          /* on the request; goes on */
	CONF_HTTP_ACT_SET_RESPONSE_HEADER, /* on the response; goes on */
	CONF_HTTP_ACT_ROUTE,
	CONF_HTTP_ACT_FORM_FIELD,          /* a body field into a response
					      header; goes on */
	CONF_HTTP_ACT_SET_RESPONSE_TRAILER, /* at the response body's end;
					       goes on */
};

struct conf_http_rule {
	char endpoint[CONF_NAME_MAX];  /* "" = any */
	char host[CONF_HOST_MAX];      /* "" = any; "*.x.org" */
	char path[CONF_PATH_MAX];      /* prefix; "" = any */
	char method[16];               /* "" = any */
	enum conf_http_action action;
	uint16_t status;               /* block, answer; 0 = 403 / 200 */
	char body[512];
	char header[64];               /* set_*, form_field */
	char value[256];               /* may use $client, $sni, ... */
	char upstream[CONF_NAME_MAX];  /* route */
	char field[64];                /* form_field */
};

struct conf {
	struct conf_port ports[CONF_MAX_PORTS];
	unsigned n_ports;

	struct {
		uint16_t rxtx;     /* rx/tx lcores */
		uint16_t workers;  /* worker lcores */
		char cpus[64];     /* EAL -l list; "" = derived */
	} lcores;

	struct {
		char *args[CONF_MAX_EAL_ARGS]; /* extra EAL args; owned */
		unsigned n_args;
		bool no_huge;    /* default true unless a PCI port is set */
		uint32_t memory_mb;
	} eal;

	struct {
		uint32_t pool_size;  /* mbufs per pool */
		uint16_t burst;      /* rx/tx burst, default 32 */
		uint32_t ring_size;  /* inter-lcore rings */
	} mbuf;

	struct {
		uint32_t max;               /* per rx/tx lcore */
		uint32_t tcp_idle_s;
		uint32_t udp_idle_s;
		uint32_t other_idle_s;
		uint32_t stack_closing_s;   /* stack TCP after FIN / RST */
		bool fast_path;             /* dp_fast.h for known flows */
	} flows;

	struct {
		uint32_t max_datagrams;     /* in flight per lcore */
		uint32_t timeout_ms;
		uint32_t max_fragments;     /* per datagram */
	} reassembly;

	struct {
		uint32_t max;
		uint32_t reachable_s;
		uint32_t retrans_ms;
		uint32_t queue_len;         /* packets held while resolving */
	} neighbors;

	struct {
		bool echo;                  /* answer echo requests */
		bool errors;                /* generate unreachable/too big */
		uint32_t errors_per_s;      /* rate limit per lcore */
	} icmp;

	struct {
		enum conf_action default_action; /* for packets to other hosts */
		struct conf_rule rules[CONF_MAX_RULES];
		unsigned n_rules;
	} policy;

	struct {
		uint32_t max_conns;         /* per worker: TCP + UDP */
		uint32_t buffer_kib;        /* per direction, while blocked */
		uint32_t connect_timeout_ms;
		uint32_t tcp_idle_s;        /* proxied TCP connections */
		uint32_t udp_idle_s;        /* proxied UDP flows */
		uint32_t time_wait_ms;      /* lwIP's TIME_WAIT, cut short */
	} stack;

	struct {
		char interface[CONF_NAME_MAX]; /* "auto", "" or a device */
		struct conf_rewrite {
			struct conf_prefix dst;
			uint16_t dport_lo, dport_hi;
			char host[CONF_HOST_MAX];  /* name or address */
			uint16_t port;             /* 0 = keep */
		} rewrites[CONF_MAX_RULES];
		unsigned n_rewrites;
		uint32_t attempt_delay_ms;     /* happy eyeballs */
		enum conf_connector {
			CONF_CONNECT_KERNEL = 0,   /* kernel sockets */
			CONF_CONNECT_STACK,        /* lwIP out of a port */
		} connector;
	} egress;

	struct {
		char *servers[CONF_MAX_DNS];   /* "ip" or "ip:port"; owned */
		unsigned n_servers;
		uint32_t timeout_ms;           /* per try */
		uint32_t tries;
		uint32_t negative_ttl_s;
		uint32_t max_ttl_s;
		uint32_t cache_size;
	} dns;

	struct {
		char path[CONF_PATH_MAX];   /* "" = off, "-" = stdout */
	} audit;

	struct {
		uint32_t stats_interval_s;  /* 0 = only on SIGUSR1 */
	} admin;

	struct conf_endpoint endpoints[CONF_MAX_ENDPOINTS];
	unsigned n_endpoints;
	struct conf_upstream upstreams[CONF_MAX_UPSTREAMS];
	unsigned n_upstreams;
	struct conf_http_route routes[CONF_MAX_HTTP_ROUTES];
	unsigned n_routes;
	struct conf_http_rule http_rules[CONF_MAX_HTTP_RULES];
	unsigned n_http_rules;
};

/* Fill *c with every default. The built-in default config is this plus
 * the default port list (a TUN port for laptop mode). */
void conf_defaults(struct conf *c);

/* Parse YAML from a file (path) or a string (name used in errors).
 * On error returns -1 and writes "FILE:LINE:COL: path.to.key: what is
 * wrong" (one line per error) to err; *c is then undefined but safe to
 * conf_free(). */
int conf_load_file(struct conf *c, const char *path, FILE *err);
int conf_load_string(struct conf *c, const char *yaml, size_t len,
		     const char *name, FILE *err);

/* Print the full default config as YAML, every key with its doc. */
void conf_print_default(FILE *out);

/* Print the Markdown reference of every key (docs/CONFIG.md). */
void conf_print_reference(FILE *out);

/* Release what conf_load_* allocated (EAL args). */
void conf_free(struct conf *c);

/* Parse "a.b.c.d/n" or "x::y/n" (prefix optional: full length). */
int conf_parse_prefix(const char *s, struct conf_prefix *p);
/* a is in prefix p (same family, first prefix_len bits equal). */
bool conf_prefix_contains(const struct conf_prefix *p, const union dp_addr *a);
/* "host:port" or "[v6]:port" into host (NUL-terminated) and port
 * (1..65535); 0 or -1. */
int conf_parse_hostport(const char *s, char *host, size_t host_len,
			uint16_t *port);
int conf_parse_mac(const char *s, uint8_t mac[6]);

#endif
