/* The L4 proxy of one worker. See stk_proxy.h. */
#include "stk_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "apps/apps.h"
#include "conf/conf.h"
#include "dataplane/dp_l3.h"
#include "dataplane/dp_parse.h"
#include "dataplane/dp_rss.h"
#include "stk_connect.h"
#include "stk_dial.h"
#include "stk_dns.h"
#include "stk_lwip.h"
#include "stk_stream_lwip.h"
#include "stk_stream_sock.h"

#define STK_HANDSHAKE_TIMEOUT_NS (30ull * 1000000000ull)
#define STK_UDP_MAX 65535
#define STK_HDR_KEEP 64         /* client datagram headers kept for ICMP */

enum stk_state {
	STK_ST_CONNECTING = 0,  /* TCP: upstream connect running, SYN held */
	STK_ST_HANDSHAKE,       /* TCP: SYN given to lwIP, waiting accept */
	STK_ST_OPEN,            /* TCP tunnel running / UDP flow */
	STK_ST_LENT,            /* TCP: a service reads it (out of the table) */
	STK_ST_DEAD,
};

struct stk_key {
	union dp_addr client, dst;
	uint16_t cport, dport;
	uint8_t proto;
	uint8_t pad[3];
};

struct stk_conn {
	struct stk_key key;
	struct stk_proxy *p;
	struct stk_conn *hnext;          /* hash bucket */
	struct stk_conn *prev, *next;    /* all connections */
	bool linked;                     /* in the table and the list */
	enum stk_state state;
	uint16_t in_port;
	uint64_t deadline_ns;            /* connect / handshake deadline */
	uint64_t idle_ns;
	struct timespec start_wall;
	struct strata_conn_info info;
	union dp_addr used_dst;
	uint16_t used_dport;
	char *host;                      /* egress by name or literal */
	enum strata_connector connector;
	struct strata_tunnel_control ctl;

	/* while the upstream is being found */
	struct stk_dns_query *dq;
	struct stk_connect *he;
	struct stk_conn *cprev, *cnext;  /* proxy's list of connects */
	bool in_clist;

	/* TCP */
	uint8_t *syn;
	uint16_t syn_len, syn_l3_len;
	uint16_t peer_mss;               /* the client SYN's MSS option */
	struct stk_stream *up;           /* upstream until the tunnel has it */
	struct stk_stream *lent;         /* counting client stream, while lent */
	struct stk_tunnel tun;
	bool tunnel_up;

	/* UDP */
	struct stk_loop_fd ufd;
	uint8_t hdr[STK_HDR_KEEP];       /* last client datagram's headers */
	uint8_t hdr_len;
	uint64_t pkts[2], bytes[2];
	uint64_t last_ns;

	const struct stk_listener *listener; /* served here, not proxied */
	void (*route_next)(struct stk_conn *c,
			   const struct sockaddr_storage *addrs, unsigned n);
	uint8_t ctx[];                   /* apps' connection contexts */
};

struct stk_proxy {
	const struct conf *conf;
	struct stk_loop *loop;
	struct stk_lwip *lwip;
	stk_proxy_output_fn output;
	stk_proxy_audit_fn audit;
	void *arg;
	char bind_dev[IF_NAMESIZE];
	struct stk_connector via_kernel; /* egress.connector kernel */
	struct stk_connector via_stack;  /* ... stack: lwIP active opens */
	struct stk_conn **buckets;
	uint32_t mask;
	struct stk_conn *all;            /* list head */
	struct stk_conn *dead;           /* freed after the batch */
	struct stk_conn *clist;          /* connects with timers */
	struct stk_dns *dns;
	struct stk_dialer *dialer;
	struct stk_listener {
		uint16_t lo, hi;         /* destination ports */
		bool any_dst;            /* intercept: any address */
		stk_proxy_accept_fn fn;
		void *arg;
	} listeners[STK_MAX_LISTENERS];
	unsigned n_listeners;
	uint32_t n_conns;
	size_t ctx_size;
	size_t buf_size;
	uint64_t tcp_idle_ns, udp_idle_ns;
	unsigned worker, n_workers;      /* for ports that hash back to us */
	uint16_t ip4_id;
	uint64_t next_sweep_ns;
	uint8_t scratch[STK_UDP_MAX + 64];
	struct stk_counters ctr;
};

/* ---- table ------------------------------------------------------------ */

static uint32_t stk_key_hash(const struct stk_key *k)
{
	const uint32_t *w = (const uint32_t *)k;
	uint64_t h = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < sizeof(*k) / 4; i++)
		h = (h ^ w[i]) * 0xff51afd7ed558ccdull;
	return (uint32_t)(h ^ (h >> 32));
}

static struct stk_conn *stk_lookup(struct stk_proxy *p, const struct stk_key *k)
{
	struct stk_conn *c = p->buckets[stk_key_hash(k) & p->mask];

	for (; c; c = c->hnext)
		if (!memcmp(&c->key, k, sizeof(*k)))
			return c;
	return NULL;
}

static void stk_key_of(struct stk_key *k, const struct dp_pkt_view *v)
{
	memset(k, 0, sizeof(*k));
	k->client = v->src;
	k->dst = v->dst;
	k->cport = v->sport;
	k->dport = v->dport;
	k->proto = v->l4_proto;
}

/* Into the table (its packets find it) and the list (sweeps, counts). */
static void stk_conn_link(struct stk_conn *c)
{
	struct stk_proxy *p = c->p;
	uint32_t b = stk_key_hash(&c->key) & p->mask;

	c->hnext = p->buckets[b];
	p->buckets[b] = c;
	c->prev = NULL;
	c->next = p->all;
	if (p->all)
		p->all->prev = c;
	p->all = c;
	c->linked = true;
	p->n_conns++;
	p->ctr.active++;
}

static struct stk_conn *stk_conn_new(struct stk_proxy *p,
				     const struct dp_pkt_view *v, uint16_t port)
{
	struct stk_conn *c = calloc(1, sizeof(*c) + p->ctx_size);

	if (!c)
		return NULL;
	stk_key_of(&c->key, v);
	c->p = p;
	c->in_port = port;
	c->ufd.fd = -1;
	clock_gettime(CLOCK_REALTIME, &c->start_wall);
	c->info = (struct strata_conn_info){
		.proto = v->l4_proto,
		.ip_version = v->ip_version,
		.in_port = port,
		.client = c->key.client.b,
		.orig_dst = c->key.dst.b,
		.client_port = v->sport,
		.orig_dport = v->dport,
		.start_ns = p->loop->now_ns,
	};
	c->used_dst = v->dst;
	c->used_dport = v->dport;
	stk_conn_link(c);
	return c;
}

static void stk_addr_lwip(ip_addr_t *out, const union dp_addr *a)
{
	if (dp_addr_is_v4(a)) {
		ip_addr_copy_from_ip4(*out, *(const ip4_addr_t *)&a->w[3]);
	} else {
		IP_SET_TYPE_VAL(*out, IPADDR_TYPE_V6);
		memcpy(ip_2_ip6(out)->addr, a->b, 16);
		ip6_addr_clear_zone(ip_2_ip6(out));
	}
}

/* The client's tuple as lwIP sees it: local = original destination. */
static void stk_key_lwip(const struct stk_key *k, ip_addr_t *local,
			 ip_addr_t *remote)
{
	stk_addr_lwip(local, &k->dst);
	stk_addr_lwip(remote, &k->client);
}

static void stk_clist_remove(struct stk_conn *c)
{
	struct stk_proxy *p = c->p;

	if (!c->in_clist)
		return;
	if (c->cprev)
		c->cprev->cnext = c->cnext;
	else
		p->clist = c->cnext;
	if (c->cnext)
		c->cnext->cprev = c->cprev;
	c->in_clist = false;
}

/* Out of the table and the list; nothing is freed. */
static void stk_conn_detach(struct stk_conn *c)
{
	struct stk_proxy *p = c->p;
	struct stk_conn **pp = &p->buckets[stk_key_hash(&c->key) & p->mask];

	if (!c->linked)
		return;
	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	if (c->prev)
		c->prev->next = c->next;
	else
		p->all = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	c->linked = false;
	p->n_conns--;
	p->ctr.active--;
}

/* Unlink now, free after the batch (callbacks may still hold it). */
static void stk_conn_unlink(struct stk_conn *c)
{
	struct stk_proxy *p = c->p;

	stk_conn_detach(c);
	stk_clist_remove(c);
	stk_connect_cancel(c->he);
	c->he = NULL;
	stk_dns_cancel(c->dq);
	c->dq = NULL;
	c->state = STK_ST_DEAD;
	c->next = p->dead;
	p->dead = c;
	free(c->syn);
	c->syn = NULL;
}

/* ---- audit ------------------------------------------------------------ */

static void stk_fmt_time(char *out, size_t cap, const struct timespec *ts)
{
	struct tm tm;

	gmtime_r(&ts->tv_sec, &tm);
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, ts->tv_nsec / 1000);
}

static void stk_conn_end(struct stk_conn *c, const char *reason)
{
	struct stk_proxy *p = c->p;
	bool tcp = c->key.proto == IPPROTO_TCP;
	struct strata_conn_end e = {
		.bytes_up = tcp ? c->tun.bytes[STK_DIR_UP] : c->bytes[0],
		.bytes_down = tcp ? c->tun.bytes[STK_DIR_DOWN] : c->bytes[1],
		.pkts_up = tcp ? 0 : c->pkts[0],
		.pkts_down = tcp ? 0 : c->pkts[1],
		.reason = reason,
	};
	char start[40], end[40], cl[INET6_ADDRSTRLEN], od[INET6_ADDRSTRLEN],
	     ud[INET6_ADDRSTRLEN];
	struct timespec now;
	json_t *j;
	char *line;

	apps_conn_end(&c->info, c->ctx, &e);
	if (!p->audit)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	stk_fmt_time(start, sizeof(start), &c->start_wall);
	stk_fmt_time(end, sizeof(end), &now);
	dp_addr_format(&c->key.client, cl, sizeof(cl));
	dp_addr_format(&c->key.dst, od, sizeof(od));
	dp_addr_format(&c->used_dst, ud, sizeof(ud));
	j = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:i, s:s, s:i,"
		      " s:I, s:I, s:I, s:I, s:s}",
		      "start", start, "end", end, "proto", tcp ? "tcp" : "udp",
		      "client", cl, "client_port", (int)c->key.cport,
		      "orig_dst", od, "orig_dport", (int)c->key.dport,
		      "dst", ud, "dport", (int)c->used_dport,
		      "bytes_up", (json_int_t)e.bytes_up,
		      "bytes_down", (json_int_t)e.bytes_down,
		      "pkts_up", (json_int_t)e.pkts_up,
		      "pkts_down", (json_int_t)e.pkts_down,
		      "close", reason);
	if (j && c->host)
		json_object_set_new(j, "dst_host", json_string(c->host));
	line = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (line && p->audit(p->arg, line))
		p->ctr.audit_lines++;
	else
		p->ctr.audit_dropped++;
}

/* ---- egress ----------------------------------------------------------- */

/* With no egress device, a destination the kernel routes into one of
 * strata's TUN devices would come straight back: refuse it. */
static bool stk_would_loop(const struct stk_proxy *p, const union dp_addr *d)
{
	const struct conf *c = p->conf;

	if (p->bind_dev[0])
		return false;
	for (unsigned i = 0; i < c->n_ports; i++) {
		const struct conf_port *pt = &c->ports[i];

		if (pt->kind != CONF_PORT_TUN)
			continue;
		for (unsigned j = 0; j < pt->n_routes; j++)
			if (conf_prefix_contains(&pt->routes[j], d))
				return true;
		for (unsigned j = 0; j < pt->n_kernel_addrs; j++)
			if (conf_prefix_contains(&pt->kernel_addrs[j], d))
				return true;
	}
	return false;
}

/* The device of the default route (IPv4, else IPv6), unless it is one
 * of strata's own TUN devices. */
static void stk_default_route_dev(const struct conf *c, char *dev, size_t cap)
{
	char line[256], ifn[IF_NAMESIZE + 1];
	unsigned long dst, mask;
	FILE *f;

	dev[0] = '\0';
	f = fopen("/proc/net/route", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%16s %lx %*x %*x %*d %*d %*d %lx", ifn, &dst,
			   &mask) == 3 && dst == 0 && mask == 0) {
			snprintf(dev, cap, "%s", ifn);
			break;
		}
	}
	if (f)
		fclose(f);
	if (!dev[0] && (f = fopen("/proc/net/ipv6_route", "r"))) {
		char d[33];
		unsigned plen;

		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%32s %x %*s %*s %*s %*s %*s %*s %*s %16s",
				   d, &plen, ifn) == 3 && plen == 0 &&
			    !strcmp(d, "00000000000000000000000000000000") &&
			    strcmp(ifn, "lo")) {
				snprintf(dev, cap, "%s", ifn);
				break;
			}
		}
		fclose(f);
	}
	for (unsigned i = 0; i < c->n_ports && dev[0]; i++)
		if (c->ports[i].kind == CONF_PORT_TUN &&
		    !strcmp(c->ports[i].ifname, dev))
			dev[0] = '\0';
}

static socklen_t stk_sockaddr(struct sockaddr_storage *ss,
			      const union dp_addr *a, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (dp_addr_is_v4(a)) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a->b + 12, 4);
		return sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a->b, 16);
		return sizeof(*s6);
	}
}

/* Ask the egress hooks where to go; false when it must be refused. A
 * host (name or literal) in the decision is kept in c->host. */
static bool stk_egress(struct stk_proxy *p, struct stk_conn *c)
{
	struct strata_egress_decision d = {
		.connector = p->conf->egress.connector == CONF_CONNECT_STACK ?
			     STRATA_CONNECT_STACK : STRATA_CONNECT_KERNEL,
	};

	memcpy(d.dst, c->key.dst.b, 16);
	d.dport = c->key.dport;
	apps_egress(&c->info, c->ctx, &d);
	memcpy(c->used_dst.b, d.dst, 16);
	c->used_dport = d.dport;
	c->connector = d.connector;
	if (d.host[0]) {
		d.host[sizeof(d.host) - 1] = '\0';
		c->host = strdup(d.host);
		return c->host != NULL;
	}
	if (stk_would_loop(p, &c->used_dst)) {
		p->ctr.egress_loop++;
		return false;
	}
	return true;
}

/* Where c goes, as addresses, then next(c, addrs, n): its destination,
 * a literal host, or what DNS says about the host (n 0 on failure). */
typedef void (*stk_route_fn)(struct stk_conn *c,
			     const struct sockaddr_storage *addrs, unsigned n);

static void stk_route_resolved(void *arg, const struct stk_dns_answer *a)
{
	struct stk_conn *c = arg;

	c->dq = NULL;
	if (!a->n)
		c->p->ctr.dns_failed++;
	c->route_next(c, a->addr, a->n);
}

static void stk_route(struct stk_conn *c, stk_route_fn next)
{
	struct sockaddr_storage ss;
	union dp_addr lit;
	int done;

	c->route_next = next;
	if (!c->host) {
		stk_sockaddr(&ss, &c->used_dst, 0);
		next(c, &ss, 1);
		return;
	}
	memset(&lit, 0, sizeof(lit));
	if (inet_pton(AF_INET6, c->host, lit.b) == 1 ||
	    (inet_pton(AF_INET, c->host, lit.b + 12) == 1 &&
	     (dp_addr_from_v4(&lit, lit.w[3]), 1))) {
		stk_sockaddr(&ss, &lit, 0);
		next(c, &ss, 1);
		return;
	}
	c->dq = stk_dns_resolve(c->p->dns, c->host, stk_route_resolved, c,
				&done);
	if (!c->dq && !done)
		next(c, NULL, 0);
}

/* Drop addresses that would loop back into strata. */
static unsigned stk_route_filter(struct stk_proxy *p,
				 struct sockaddr_storage *out,
				 const struct sockaddr_storage *in, unsigned n)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && k < STK_CONNECT_MAX; i++) {
		union dp_addr a;

		dp_addr_from_sockaddr(&a, NULL, &in[i]);
		if (stk_would_loop(p, &a)) {
			p->ctr.egress_loop++;
			continue;
		}
		out[k++] = in[i];
	}
	return k;
}

/* ---- packets strata builds ------------------------------------------- */

static void stk_send_built(struct stk_proxy *p, uint16_t port, int len)
{
	if (len > 0)
		p->output(p->arg, port, p->scratch, (uint16_t)len);
}

static void stk_send_rst(struct stk_proxy *p, uint16_t port,
			 const uint8_t *pkt, uint32_t len)
{
	static const uint8_t no_mac[6];
	struct dp_pkt_view v;

	if (dp_parse(pkt, len, DP_LINK_RAW_IP, DP_PARSE_L4_CSUM_OK, &v) < 0)
		return;
	stk_send_built(p, port, dp_l3_build_tcp_rst(p->scratch,
			sizeof(p->scratch), pkt, &v, no_mac));
}

/* IP + UDP header for a datagram from src:sport to dst:dport carrying
 * len bytes already at scratch + the returned header length. */
static int stk_udp_headers(struct stk_proxy *p, const union dp_addr *src,
			   uint16_t sport, const union dp_addr *dst,
			   uint16_t dport, uint32_t len)
{
	struct dp_pkt_view v = { .src = *src, .dst = *dst };
	bool v4 = dp_addr_is_v4(src);
	uint16_t hl = v4 ? 28 : 48, ulen = (uint16_t)(8 + len);
	uint8_t *h = p->scratch, *u = h + hl - 8;
	uint16_t cs;

	memset(h, 0, hl);
	if (v4) {
		uint16_t tot = (uint16_t)(hl + len), id = p->ip4_id++;

		h[0] = 0x45;
		h[2] = (uint8_t)(tot >> 8); h[3] = (uint8_t)tot;
		h[4] = (uint8_t)(id >> 8); h[5] = (uint8_t)id;
		h[8] = 64;
		h[9] = IPPROTO_UDP;
		memcpy(h + 12, src->b + 12, 4);
		memcpy(h + 16, dst->b + 12, 4);
		cs = dp_csum_fold(dp_csum_partial(h, 20, 0));
		h[10] = (uint8_t)(cs >> 8); h[11] = (uint8_t)cs;
		v.ip_version = 4;
	} else {
		h[0] = 0x60;
		h[4] = (uint8_t)(ulen >> 8); h[5] = (uint8_t)ulen;
		h[6] = IPPROTO_UDP;
		h[7] = 64;
		memcpy(h + 8, src->b, 16);
		memcpy(h + 24, dst->b, 16);
		v.ip_version = 6;
	}
	u[0] = (uint8_t)(sport >> 8); u[1] = (uint8_t)sport;
	u[2] = (uint8_t)(dport >> 8); u[3] = (uint8_t)dport;
	u[4] = (uint8_t)(ulen >> 8); u[5] = (uint8_t)ulen;
	cs = dp_csum_fold(dp_csum_partial(u, ulen,
					  dp_csum_pseudo(&v, IPPROTO_UDP, ulen)));
	if (!cs)
		cs = 0xffff;
	u[6] = (uint8_t)(cs >> 8); u[7] = (uint8_t)cs;
	return hl;
}

static void stk_send_icmp_unreach(struct stk_proxy *p, uint16_t port,
				  const uint8_t *orig, uint32_t len)
{
	static const uint8_t no_mac[6];
	struct dp_pkt_view v;
	bool v4 = (orig[0] >> 4) == 4;

	if (dp_parse(orig, len, DP_LINK_RAW_IP, DP_PARSE_L4_CSUM_OK |
		     DP_PARSE_L3_CSUM_OK, &v) < 0)
		return;
	p->ctr.udp_unreachable++;
	stk_send_built(p, port, dp_l3_build_icmp_error(p->scratch,
			sizeof(p->scratch), orig, &v, v4 ? 3 : 1, v4 ? 3 : 4, 0,
			&v.dst, no_mac));
}

/* ICMP port unreachable about a datagram of which only the headers were
 * kept (the upstream refused a later one): quote them, their lengths
 * shrunk to what was kept. */
static void stk_send_port_unreach_hdr(struct stk_proxy *p, uint16_t port,
				      const uint8_t *hdr, uint32_t hdr_len)
{
	uint8_t orig[STK_HDR_KEEP];
	uint16_t l4 = (uint16_t)(hdr_len - 8), cs;

	memcpy(orig, hdr, hdr_len);
	if ((hdr[0] >> 4) == 4) {
		orig[2] = (uint8_t)(hdr_len >> 8); orig[3] = (uint8_t)hdr_len;
		orig[10] = orig[11] = 0;
		cs = dp_csum_fold(dp_csum_partial(orig, l4, 0));
		orig[10] = (uint8_t)(cs >> 8); orig[11] = (uint8_t)cs;
	} else {
		uint16_t pl = (uint16_t)(hdr_len - 40);

		orig[4] = (uint8_t)(pl >> 8); orig[5] = (uint8_t)pl;
	}
	orig[l4 + 4] = 0; orig[l4 + 5] = 8;
	stk_send_icmp_unreach(p, port, orig, hdr_len);
}

/* ---- TCP -------------------------------------------------------------- */

/* The end of a TCP connection that was accepted: counted by reason,
 * the conn_end hook, the audit line. */
static void stk_tcp_close(struct stk_conn *c, enum stk_close_reason why)
{
	c->p->ctr.closed[why]++;
	stk_conn_end(c, stk_close_reason_name(why));
	stk_conn_unlink(c);
}

static void stk_tcp_end(struct stk_tunnel *t, enum stk_close_reason why,
			void *arg)
{
	stk_tcp_close(arg, why);
}

static void stk_tcp_data(struct stk_tunnel *t, int dir, const uint8_t *data,
			 size_t len, void *arg)
{
	struct stk_conn *c = arg;

	if (!len)
		return; /* end of a direction: hooks see bytes only */
	apps_tunnel(&c->info, c->ctx, dir, data, len, &c->ctl);
	if (c->ctl.close)
		stk_tunnel_abort(t, STK_CLOSE_APP);
}

/* Join the client's lwIP stream to its upstream; the hooks see the
 * bytes from the first one (some may wait to be replayed). */
static void stk_tcp_tunnel(struct stk_conn *c, struct stk_stream *client,
			   struct stk_stream *up)
{
	struct stk_proxy *p = c->p;

	c->state = STK_ST_OPEN;
	c->tunnel_up = true;
	c->ctl.idle_timeout_ms = (uint32_t)(p->tcp_idle_ns / 1000000ull);
	stk_tunnel_start(&c->tun, client, up, p->buf_size, &p->loop->now_ns,
			 stk_tcp_end, apps_has_tunnel_hook() ? stk_tcp_data :
			 NULL, c, 0);
}

/* The upstream failed before the client was answered: RST the SYN. */
static void stk_tcp_refuse(struct stk_conn *c, int err)
{
	struct stk_proxy *p = c->p;

	switch (err) {
	case ECONNREFUSED: p->ctr.upstream_refused++; break;
	case ETIMEDOUT: p->ctr.upstream_timeout++; break;
	case ENETUNREACH: case EHOSTUNREACH: case EHOSTDOWN:
	case ENETDOWN: p->ctr.upstream_unreachable++; break;
	default: p->ctr.upstream_other++; break;
	}
	if (c->syn)
		stk_send_rst(p, c->in_port, c->syn, c->syn_len);
	if (c->up) {
		stk_close(c->up);
		c->up = NULL;
	}
	stk_conn_end(c, "upstream_failed");
	stk_conn_unlink(c);
}

/* Happy eyeballs ended: on success let lwIP answer the client's SYN. */
static void stk_tcp_connected(void *arg, struct stk_stream *s, int err,
			      const struct sockaddr_storage *used)
{
	struct stk_conn *c = arg;
	struct stk_proxy *p = c->p;
	ip_addr_t la, ra;

	c->he = NULL;
	stk_clist_remove(c);
	if (!s) {
		c->up = NULL; /* the connector closed it */
		stk_tcp_refuse(c, err);
		return;
	}
	c->up = s;
	dp_addr_from_sockaddr(&c->used_dst, NULL, used);
	c->state = STK_ST_HANDSHAKE;
	c->deadline_ns = p->loop->now_ns + STK_HANDSHAKE_TIMEOUT_NS;
	stk_key_lwip(&c->key, &la, &ra);
	p->ctr.timewait_reused += (uint64_t)stk_lwip_forget_timewait(p->lwip,
		&la, c->key.dport, &ra, c->key.cport);
	if (stk_lwip_listen(p->lwip, c->key.dport) < 0 ||
	    stk_lwip_input_tcp(p->lwip, c->in_port, c->syn, c->syn_len,
			       c->syn_l3_len) < 0) {
		p->ctr.lwip_no_memory++;
		stk_tcp_refuse(c, ENOMEM);
		return;
	}
	free(c->syn);
	c->syn = NULL;
}

/* Replies to a connection lwIP opens come back through the dataplane,
 * which hands a flow to worker hash % n_workers: only local ports whose
 * flow hashes to this worker will do. */
struct stk_lwip_dst {
	struct stk_proxy *p;
	union dp_addr dst;
	uint16_t dport;
};

static bool stk_port_hashes_here(void *arg, const ip_addr_t *src,
				 uint16_t sport)
{
	const struct stk_lwip_dst *d = arg;
	struct stk_proxy *p = d->p;
	struct dp_pkt_view v;

	if (p->n_workers <= 1)
		return true;
	memset(&v, 0, sizeof(v));
	if (IP_IS_V4(src)) {
		v.ip_version = 4;
		dp_addr_from_v4(&v.src, ip_2_ip4(src)->addr);
	} else {
		v.ip_version = 6;
		memcpy(v.src.b, ip_2_ip6(src)->addr, 16);
	}
	v.l3 = v.ip_version == 4 ? DP_L3_IPV4 : DP_L3_IPV6;
	v.dst = d->dst;
	v.l4_proto = IPPROTO_TCP;
	v.sport = sport;
	v.dport = d->dport;
	return dp_rss_hash_view(&v) % p->n_workers == p->worker;
}

/* The stack's connector: an active open through lwIP, out of the port
 * that routes there. */
static struct stk_stream *stk_connect_lwip(void *ctx, struct stk_loop *l,
					   const struct sockaddr_storage *addr,
					   int *err)
{
	struct stk_lwip_dst d = { .p = ctx };
	ip_addr_t dst;

	(void)l;
	dp_addr_from_sockaddr(&d.dst, &d.dport, addr);
	stk_addr_lwip(&dst, &d.dst);
	return stk_lwip_stream_connect(d.p->lwip, &dst, d.dport,
				       stk_port_hashes_here, &d, err);
}

static void stk_tcp_connect(struct stk_conn *c,
			    const struct sockaddr_storage *addrs, unsigned n)
{
	struct stk_proxy *p = c->p;
	struct sockaddr_storage ok[STK_CONNECT_MAX];
	bool stack = c->connector == STRATA_CONNECT_STACK;
	struct stk_connect *he;

	/* no loop to fear through lwIP: it never routes into the host */
	if (!stack)
		n = stk_route_filter(p, ok, addrs, n);
	if (!n) {
		stk_tcp_refuse(c, c->host || stack ? EHOSTUNREACH : ELOOP);
		return;
	}
	he = stk_connect_start(p->loop, stack ? addrs : ok, n, c->used_dport,
			       stack ? &p->via_stack : &p->via_kernel,
			       p->conf->egress.attempt_delay_ms,
			       stk_tcp_connected, c);
	if (!he)
		return; /* stk_tcp_connected already ran */
	c->he = he;
	c->cnext = p->clist;
	c->cprev = NULL;
	if (p->clist)
		p->clist->cprev = c;
	p->clist = c;
	c->in_clist = true;
}

/* A service above the stack (the HTTP proxy) listens on this port of
 * strata's own addresses, or intercepts it whatever the address? */
static const struct stk_listener *stk_listener_for(struct stk_proxy *p,
						   const struct dp_pkt_view *v)
{
	for (unsigned i = 0; i < p->n_listeners; i++) {
		if (v->dport < p->listeners[i].lo ||
		    v->dport > p->listeners[i].hi)
			continue;
		if (p->listeners[i].any_dst)
			return &p->listeners[i];
		for (unsigned j = 0; j < p->conf->n_ports; j++) {
			const struct conf_port *pt = &p->conf->ports[j];

			for (unsigned k = 0; k < pt->n_addrs; k++)
				if (!memcmp(pt->addrs[k].addr.b, v->dst.b, 16))
					return &p->listeners[i];
		}
	}
	return NULL;
}

/* No upstream to wait for: lwIP answers the SYN now, and the accepted
 * stream goes to the listener. */
static void stk_tcp_serve_local(struct stk_proxy *p, struct stk_conn *c,
				uint16_t port, const uint8_t *pkt, uint32_t len,
				const struct dp_pkt_view *v)
{
	ip_addr_t la, ra;

	c->state = STK_ST_HANDSHAKE;
	c->deadline_ns = p->loop->now_ns + STK_HANDSHAKE_TIMEOUT_NS;
	p->ctr.local_conns++;
	stk_key_lwip(&c->key, &la, &ra);
	p->ctr.timewait_reused += (uint64_t)stk_lwip_forget_timewait(p->lwip,
		&la, c->key.dport, &ra, c->key.cport);
	if (stk_lwip_listen(p->lwip, c->key.dport) < 0 ||
	    stk_lwip_input_tcp(p->lwip, port, pkt, (uint16_t)len,
			       v->l4_off) < 0) {
		p->ctr.lwip_no_memory++;
		stk_send_rst(p, port, pkt, len);
		stk_conn_end(c, "no_memory");
		stk_conn_unlink(c);
	}
}

int stk_proxy_listen(struct stk_proxy *p, uint16_t lo, uint16_t hi,
		     bool intercept, stk_proxy_accept_fn fn, void *arg)
{
	if (p->n_listeners == STK_MAX_LISTENERS)
		return -ENOSPC;
	p->listeners[p->n_listeners++] = (struct stk_listener){
		.lo = lo, .hi = hi, .any_dst = intercept, .fn = fn,
		.arg = arg };
	return 0;
}

struct stk_dialer *stk_proxy_dialer(struct stk_proxy *p)
{
	return p->dialer;
}

static void stk_tcp_syn(struct stk_proxy *p, uint16_t port, const uint8_t *pkt,
			uint32_t len, const struct dp_pkt_view *v)
{
	struct strata_ingress_decision d;
	struct stk_conn *c;

	if (p->n_conns >= p->conf->stack.max_conns) {
		p->ctr.refused_limit++;
		stk_send_rst(p, port, pkt, len);
		return;
	}
	c = stk_conn_new(p, v, port);
	if (!c) {
		stk_send_rst(p, port, pkt, len);
		return;
	}
	apps_ingress(&c->info, c->ctx, &d);
	if (d.verdict == STRATA_INGRESS_REJECT) {
		p->ctr.rejected_by_app++;
		stk_send_rst(p, port, pkt, len);
		stk_conn_end(c, "rejected");
		stk_conn_unlink(c);
		return;
	}
	c->peer_mss = stk_lwip_syn_mss(pkt, v);
	c->listener = stk_listener_for(p, v);
	if (c->listener && !c->listener->any_dst) {
		stk_tcp_serve_local(p, c, port, pkt, len, v);
		return;
	}
	/* intercepted connections connect upstream first, like the rest */
	c->syn = malloc(len);
	if (!c->syn) {
		stk_tcp_refuse(c, ENOMEM);
		return;
	}
	memcpy(c->syn, pkt, len);
	c->syn_len = (uint16_t)len;
	c->syn_l3_len = v->l4_off;
	c->state = STK_ST_CONNECTING;
	c->deadline_ns = p->loop->now_ns +
			 p->conf->stack.connect_timeout_ms * 1000000ull;
	p->ctr.tcp_conns++;
	if (!stk_egress(p, c)) {
		stk_tcp_refuse(c, ELOOP);
		return;
	}
	stk_route(c, stk_tcp_connect);
}

/* lwIP finished a handshake: join the client pcb to its upstream. */
static err_t stk_tcp_accept(void *arg, struct tcp_pcb *pcb)
{
	struct stk_proxy *p = arg;
	struct stk_lwip *st = p->lwip;
	struct stk_conn *c;
	struct stk_stream *cs;
	struct stk_key k;

	memset(&k, 0, sizeof(k));
	if (IP_IS_V6(&pcb->remote_ip)) {
		memcpy(k.client.b, ip_2_ip6(&pcb->remote_ip)->addr, 16);
		memcpy(k.dst.b, ip_2_ip6(&pcb->local_ip)->addr, 16);
	} else {
		dp_addr_from_v4(&k.client, ip_2_ip4(&pcb->remote_ip)->addr);
		dp_addr_from_v4(&k.dst, ip_2_ip4(&pcb->local_ip)->addr);
	}
	k.cport = pcb->remote_port;
	k.dport = pcb->local_port;
	k.proto = IPPROTO_TCP;
	c = stk_lookup(p, &k);
	if (!c || c->state != STK_ST_HANDSHAKE ||
	    !(cs = stk_lwip_stream_new(st, pcb))) {
		p->ctr.accept_unknown++;
		st->api.tcp_abort(pcb);
		return ERR_ABRT;
	}
	stk_lwip_set_mss(st, c->in_port, pcb, c->peer_mss);
	if (c->listener) {
		/* The service owns the streams now; the connection leaves
		 * the L4 proxy's table (its packets go straight to lwIP).
		 * An intercepted one is lent: its record (hook contexts,
		 * audit fields) waits for stk_proxy_pass or _release. */
		const struct stk_listener *l = c->listener;
		struct sockaddr_storage used;
		struct stk_stream *up = c->up;

		c->up = NULL;
		/* Counted on the client's stream, whatever the service
		 * layers over it, for the audit line at release. Without
		 * memory for it the service still serves, uncounted. */
		if (up && (c->lent = stk_stream_counted(cs)))
			cs = c->lent;
		stk_sockaddr(&used, &c->used_dst, c->used_dport);
		stk_conn_detach(c);
		free(c->syn);
		c->syn = NULL;
		c->state = STK_ST_LENT;
		l->fn(l->arg, cs, up, up ? &used : NULL, &c->info,
		      up ? c : NULL);
		if (!up)
			stk_conn_unlink(c);
		return ERR_OK;
	}
	stk_tcp_tunnel(c, cs, c->up);
	c->up = NULL;
	return ERR_OK;
}

void stk_proxy_pass(struct stk_conn *c, struct stk_stream *client,
		    const void *from_client, size_t from_client_len,
		    struct stk_stream *up, const void *from_up,
		    size_t from_up_len)
{
	struct stk_proxy *p = c->p;
	struct stk_stream *cs, *us;

	/* The tunnel counts the replayed bytes and the rest itself, so the
	 * service's counts go, and with them the extra layer if the
	 * service gives back the stream it was lent. */
	if (c->lent) {
		if (client == c->lent)
			client = stk_stream_uncounted(client);
		stk_stream_count_put(c->lent);
		c->lent = NULL;
	}
	cs = stk_stream_prefixed(client, from_client, from_client_len);
	us = cs ? stk_stream_prefixed(up, from_up, from_up_len) : NULL;
	p->ctr.passed_back++;
	stk_conn_link(c);
	if (!us) {
		stk_abort(cs ? cs : client);
		stk_abort(up);
		stk_tcp_close(c, STK_CLOSE_NO_MEMORY);
		return;
	}
	stk_tcp_tunnel(c, cs, us);
}

/* The tunnel never started: the audit line takes the counts of the
 * lent client stream instead, read from the client as a tunnel's up
 * direction, written to it as its down. */
void stk_proxy_release(struct stk_conn *c)
{
	if (c->lent) {
		stk_stream_count_get(c->lent, &c->tun.bytes[STK_DIR_UP],
				     &c->tun.bytes[STK_DIR_DOWN]);
		stk_stream_count_put(c->lent);
		c->lent = NULL;
	}
	stk_tcp_close(c, STK_CLOSE_HTTP_SERVICE);
}

/* A segment reached lwIP while c waited for the client's ACK and did not
 * complete the handshake. lwIP frees a handshaking pcb that a RST
 * (or anything else) kills without a word, since no callbacks are set
 * before accept: ask whether it still exists, else the connection and
 * its upstream would wait for the handshake deadline. A client that
 * gives up on a connect answers the late SYN-ACK with such a RST. */
static void stk_tcp_handshake_gone(struct stk_conn *c)
{
	struct stk_proxy *p = c->p;
	ip_addr_t la, ra;

	stk_key_lwip(&c->key, &la, &ra);
	if (stk_lwip_has_pcb(p->lwip, &la, c->key.dport, &ra, c->key.cport))
		return;
	p->ctr.handshake_reset++;
	if (c->up)
		stk_close(c->up);
	c->up = NULL;
	stk_conn_end(c, "handshake_reset");
	stk_conn_unlink(c);
}

static void stk_tcp_input(struct stk_proxy *p, uint16_t port,
			  const uint8_t *pkt, uint32_t len,
			  const struct dp_pkt_view *v)
{
	struct stk_key k;
	struct stk_conn *c;

	stk_key_of(&k, v);
	c = stk_lookup(p, &k);
	if (!c && (v->tcp_flags & 0x12) == 0x02) { /* SYN without ACK */
		stk_tcp_syn(p, port, pkt, len, v);
		return;
	}
	if (c && c->state == STK_ST_CONNECTING) {
		p->ctr.syn_while_connecting++;
		return;
	}
	/* Established, closing, or unknown (lwIP answers RST). */
	if (stk_lwip_input_tcp(p->lwip, port, pkt, (uint16_t)len,
			       v->l4_off) < 0)
		p->ctr.lwip_no_memory++;
	else if (c && c->state == STK_ST_HANDSHAKE)
		stk_tcp_handshake_gone(c);
}

/* ---- UDP -------------------------------------------------------------- */

static struct stk_conn *stk_conn_of_ufd(struct stk_loop_fd *lfd)
{
	return (struct stk_conn *)((uint8_t *)lfd -
				   offsetof(struct stk_conn, ufd));
}

static void stk_udp_event(struct stk_loop_fd *lfd, uint32_t ev)
{
	struct stk_conn *c = stk_conn_of_ufd(lfd);
	struct stk_proxy *p = c->p;

	for (;;) {
		uint8_t *data = p->scratch + 48; /* room for headers */
		ssize_t n = recv(lfd->fd, data, STK_UDP_MAX - 48, 0);
		int hl;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECONNREFUSED && c->hdr_len)
				stk_send_port_unreach_hdr(p, c->in_port,
							  c->hdr, c->hdr_len);
			else if (errno != EAGAIN)
				p->ctr.udp_send_errors++;
			if (errno == EAGAIN)
				return;
			continue;
		}
		c->pkts[1]++;
		c->bytes[1] += (uint64_t)n;
		c->last_ns = p->loop->now_ns;
		if (dp_addr_is_v4(&c->key.dst) && n > 65535 - 28)
			continue; /* cannot fit one IPv4 datagram */
		/* Build the headers right before the payload. */
		hl = dp_addr_is_v4(&c->key.dst) ? 28 : 48;
		memmove(p->scratch + hl, data, (size_t)n);
		stk_udp_headers(p, &c->key.dst, c->key.dport, &c->key.client,
				c->key.cport, (uint32_t)n);
		if (hl + n <= 65535)
			p->output(p->arg, c->in_port, p->scratch,
				  (uint16_t)(hl + n));
	}
}

/* The connection's memory outlives the current event batch (the
 * proxy's dead list), so the socket can go at once. */
static void stk_udp_close(struct stk_conn *c, const char *why)
{
	stk_conn_end(c, why);
	if (c->ufd.fd >= 0) {
		stk_loop_del(c->p->loop, &c->ufd);
		close(c->ufd.fd);
		c->ufd.fd = -1;
	}
	stk_conn_unlink(c);
}

/* No upstream for a UDP flow: the client gets ICMP port unreachable
 * about its last datagram. */
static void stk_udp_fail(struct stk_conn *c)
{
	struct stk_proxy *p = c->p;

	p->ctr.upstream_unreachable++;
	if (c->hdr_len)
		stk_send_port_unreach_hdr(p, c->in_port, c->hdr, c->hdr_len);
	stk_conn_end(c, "upstream_failed");
	stk_conn_unlink(c);
}

/* The upstream socket of a UDP flow, to the first usable address (IPv6
 * first). On failure the client gets ICMP port unreachable about its
 * last datagram. */
static void stk_udp_connect(struct stk_conn *c,
			    const struct sockaddr_storage *addrs, unsigned n)
{
	struct stk_proxy *p = c->p;
	struct sockaddr_storage ok[STK_CONNECT_MAX];
	const struct sockaddr_storage *ss = NULL;
	int fd;

	n = stk_route_filter(p, ok, addrs, n);
	for (unsigned i = 0; i < n && !ss; i++)
		if (ok[i].ss_family == AF_INET6)
			ss = &ok[i];
	if (!ss && n)
		ss = &ok[0];
	if (!ss)
		goto fail;
	dp_addr_from_sockaddr(&c->used_dst, NULL, ss);
	{
		struct sockaddr_storage to;
		socklen_t sl = stk_sockaddr(&to, &c->used_dst, c->used_dport);

		fd = socket(to.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
			    SOCK_CLOEXEC, 0);
		if (fd < 0)
			goto fail;
		c->ufd.fd = fd;
		c->ufd.fn = stk_udp_event;
		if ((p->bind_dev[0] &&
		     setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, p->bind_dev,
				(socklen_t)strlen(p->bind_dev)) < 0) ||
		    connect(fd, (struct sockaddr *)&to, sl) < 0 ||
		    stk_loop_add(p->loop, &c->ufd) < 0) {
			close(fd);
			c->ufd.fd = -1;
			goto fail;
		}
	}
	c->state = STK_ST_OPEN;
	c->last_ns = p->loop->now_ns;
	return;
fail:
	stk_udp_fail(c);
}

static struct stk_conn *stk_udp_open(struct stk_proxy *p, uint16_t port,
				     const uint8_t *pkt, uint32_t len,
				     const struct dp_pkt_view *v)
{
	struct strata_ingress_decision d;
	struct stk_conn *c;

	if (p->n_conns >= p->conf->stack.max_conns) {
		p->ctr.refused_limit++;
		goto unreach;
	}
	c = stk_conn_new(p, v, port);
	if (!c)
		goto unreach;
	apps_ingress(&c->info, c->ctx, &d);
	if (d.verdict == STRATA_INGRESS_REJECT) {
		p->ctr.rejected_by_app++;
		stk_conn_end(c, "rejected");
		stk_conn_unlink(c);
		goto unreach;
	}
	if (!stk_egress(p, c)) {
		stk_conn_end(c, "egress_loop");
		stk_conn_unlink(c);
		goto unreach;
	}
	p->ctr.udp_flows++;
	c->state = STK_ST_CONNECTING;
	c->deadline_ns = p->loop->now_ns +
			 p->conf->stack.connect_timeout_ms * 1000000ull;
	return c;
unreach:
	stk_send_icmp_unreach(p, port, pkt, len);
	return NULL;
}

static void stk_udp_input(struct stk_proxy *p, uint16_t port,
			  const uint8_t *pkt, uint32_t len,
			  const struct dp_pkt_view *v)
{
	struct stk_key k;
	struct stk_conn *c;
	uint32_t plen = v->l4_len - 8u;

	bool fresh = false;

	stk_key_of(&k, v);
	c = stk_lookup(p, &k);
	if (!c) {
		c = stk_udp_open(p, port, pkt, len, v);
		if (!c)
			return;
		fresh = true;
	}
	if (v->l4_off + 8u <= STK_HDR_KEEP) {
		memcpy(c->hdr, pkt, v->l4_off + 8u);
		c->hdr_len = (uint8_t)(v->l4_off + 8u);
	}
	if (fresh) {
		/* may resolve a name: datagrams wait for nothing meanwhile */
		stk_route(c, stk_udp_connect);
		if (c->state != STK_ST_OPEN) {
			if (c->state == STK_ST_CONNECTING)
				p->ctr.udp_pending_drops++;
			return;
		}
	} else if (c->state != STK_ST_OPEN) {
		p->ctr.udp_pending_drops++;
		return;
	}
	c->pkts[0]++;
	c->bytes[0] += plen;
	c->last_ns = p->loop->now_ns;
	if (send(c->ufd.fd, pkt + v->payload_off, plen, 0) < 0) {
		if (errno == ECONNREFUSED)
			stk_send_icmp_unreach(p, port, pkt, len);
		else
			p->ctr.udp_send_errors++;
	}
}

/* ---- the proxy -------------------------------------------------------- */

void stk_proxy_input(struct stk_proxy *p, uint16_t port, const uint8_t *pkt,
		     uint32_t len, const struct dp_pkt_view *v)
{
	if (v->flags & DP_PKT_F_FRAGMENT) {
		p->ctr.bad_packets++;
		return;
	}
	if (v->l4_proto == IPPROTO_TCP)
		stk_tcp_input(p, port, pkt, len, v);
	else if (v->l4_proto == IPPROTO_UDP)
		stk_udp_input(p, port, pkt, len, v);
	else
		p->ctr.not_tcp_udp++;
}

static void stk_proxy_lwip_output(void *arg, uint16_t port, struct pbuf *pb)
{
	struct stk_proxy *p = arg;
	uint16_t n;

	n = p->lwip->api.pbuf_copy_partial(pb, p->scratch, pb->tot_len, 0);
	/* Only TCP: lwIP's own IPv6 chatter (router solicitations, MLD)
	 * has no business on strata's links. */
	if (n < 40 || ((p->scratch[0] >> 4) == 4 ? p->scratch[9] != 6 :
		       p->scratch[6] != 6 && p->scratch[6] != 44)) {
		p->ctr.lwip_other_out++;
		return;
	}
	if (port < p->conf->n_ports && p->conf->ports[port].mtu > 1500) {
		struct dp_pkt_view v;

		if (dp_parse(p->scratch, n, DP_LINK_RAW_IP,
			     DP_PARSE_L3_CSUM_OK | DP_PARSE_L4_CSUM_OK, &v) == 0 &&
		    v.l4_proto == 6 && (v.tcp_flags & 0x02))
			stk_lwip_advertise_mss(p->scratch, &v,
					       p->conf->ports[port].mtu);
	}
	p->output(p->arg, port, p->scratch, n);
}

static void stk_proxy_sweep(struct stk_proxy *p)
{
	uint64_t now = p->loop->now_ns;
	struct stk_conn *c = p->all, *next;

	for (; c; c = next) {
		next = c->next;
		switch (c->state) {
		case STK_ST_CONNECTING:
			if (now < c->deadline_ns)
				break;
			if (c->key.proto == IPPROTO_UDP)
				stk_udp_fail(c);
			else
				stk_tcp_refuse(c, ETIMEDOUT);
			break;
		case STK_ST_HANDSHAKE:
			if (now >= c->deadline_ns) {
				c->p->ctr.handshake_timeout++;
				if (c->up) /* none for a local service */
					stk_close(c->up);
				c->up = NULL;
				stk_conn_end(c, "handshake_timeout");
				stk_conn_unlink(c);
			}
			break;
		case STK_ST_OPEN:
			if (c->key.proto == IPPROTO_UDP) {
				if (now - c->last_ns >= p->udp_idle_ns)
					stk_udp_close(c, "idle");
			} else if (now - c->tun.last_active_ns >=
				   c->ctl.idle_timeout_ms * 1000000ull) {
				stk_tunnel_abort(&c->tun, STK_CLOSE_IDLE);
			}
			break;
		default:
			break;
		}
		/* next may have died in a callback above: restart then */
		if (next && next->state == STK_ST_DEAD)
			next = p->all;
	}
}

int stk_proxy_poll(struct stk_proxy *p)
{
	int wait = 100;

	/* happy eyeballs timers: only connects in flight are on clist */
	for (struct stk_conn *c = p->clist, *next; c; c = next) {
		int ms;

		next = c->cnext;
		ms = stk_connect_tick(c->he, p->loop->now_ns);
		if (ms >= 0 && ms < wait)
			wait = ms;
		if (next && !next->in_clist)
			break; /* the list changed under us: next poll */
	}
	stk_dns_poll(p->dns);
	{
		int ms = stk_dialer_poll(p->dialer, p->loop->now_ns);

		if (ms >= 0 && ms < wait)
			wait = ms;
	}
	if (p->loop->now_ns >= p->next_sweep_ns) {
		stk_proxy_sweep(p);
		p->ctr.timewait_expired += stk_lwip_expire_timewait(p->lwip,
			p->conf->stack.time_wait_ms);
		p->next_sweep_ns = p->loop->now_ns + 100000000ull;
	}
	while (p->dead) {
		struct stk_conn *c = p->dead;

		p->dead = c->next;
		free(c->host);
		free(c);
	}
	stk_lwip_stream_reap(p->lwip);
	return wait;
}

struct stk_proxy *stk_proxy_create(const struct conf *c, struct stk_loop *loop,
				   struct stk_lwip *lwip, unsigned worker,
				   stk_proxy_output_fn output,
				   stk_proxy_audit_fn audit, void *arg)
{
	struct stk_proxy *p = calloc(1, sizeof(*p));
	char err_dns[256];
	uint32_t n = 1024;

	if (!p)
		return NULL;
	while (n < c->stack.max_conns && n < (1u << 22))
		n <<= 1;
	p->buckets = calloc(n, sizeof(*p->buckets));
	if (!p->buckets) {
		free(p);
		return NULL;
	}
	p->mask = n - 1;
	p->conf = c;
	p->loop = loop;
	p->lwip = lwip;
	p->output = output;
	p->audit = audit;
	p->arg = arg;
	p->ctx_size = apps_conn_ctx_size();
	p->worker = worker;
	p->n_workers = c->lcores.workers ? c->lcores.workers : 1;
	p->buf_size = (size_t)c->stack.buffer_kib * 1024;
	p->dns = stk_dns_create(loop, c, err_dns, sizeof(err_dns));
	if (!p->dns) {
		fprintf(stderr, "strata: %s\n", err_dns);
		free(p->buckets);
		free(p);
		return NULL;
	}
	p->tcp_idle_ns = c->stack.tcp_idle_s * 1000000000ull;
	p->udp_idle_ns = c->stack.udp_idle_s * 1000000000ull;
	if (!strcmp(c->egress.interface, "auto"))
		stk_default_route_dev(c, p->bind_dev, sizeof(p->bind_dev));
	else
		snprintf(p->bind_dev, sizeof(p->bind_dev), "%s",
			 c->egress.interface);
	p->via_kernel = (struct stk_connector){
		.open = stk_connect_kernel,
		.ctx = p->bind_dev[0] ? p->bind_dev : NULL };
	p->via_stack = (struct stk_connector){
		.open = stk_connect_lwip, .ctx = p };
	/* services dial the way proxied connections leave */
	p->dialer = stk_dialer_create(loop, p->dns,
				      c->egress.connector == CONF_CONNECT_STACK ?
				      &p->via_stack : &p->via_kernel,
				      c->egress.attempt_delay_ms);
	if (!p->dialer) {
		stk_dns_destroy(p->dns);
		free(p->buckets);
		free(p);
		return NULL;
	}
	stk_lwip_set_handlers(lwip, stk_proxy_lwip_output, stk_tcp_accept, p);
	for (unsigned i = 0; i < c->n_ports; i++) {
		const struct conf_port *pt = &c->ports[i];
		uint32_t a4 = htonl(0xa9fe0001); /* 169.254.0.1/32 if none */
		uint8_t a6[CONF_MAX_ADDRS][16];
		unsigned plen = 32, n6 = 0;
		bool have4 = false;

		for (unsigned j = 0; j < pt->n_addrs; j++) {
			if (!pt->addrs[j].v4) {
				memcpy(a6[n6++], pt->addrs[j].addr.b, 16);
			} else if (!have4) {
				memcpy(&a4, pt->addrs[j].addr.b + 12, 4);
				plen = pt->addrs[j].prefix_len;
				have4 = true;
			}
		}
		if (stk_lwip_add_port(lwip, (uint16_t)i, pt->mtu, a4, plen,
				      (const uint8_t (*)[16])a6, n6) < 0) {
			stk_dialer_destroy(p->dialer);
			stk_dns_destroy(p->dns);
			free(p->buckets);
			free(p);
			return NULL;
		}
	}
	return p;
}

void stk_proxy_destroy(struct stk_proxy *p)
{
	if (!p)
		return;
	while (p->all) {
		struct stk_conn *c = p->all;

		switch (c->state) {
		case STK_ST_OPEN:
			if (c->key.proto == IPPROTO_UDP)
				stk_udp_close(c, "shutdown");
			else
				stk_tunnel_abort(&c->tun, STK_CLOSE_SHUTDOWN);
			break;
		default:
			if (c->up)
				stk_abort(c->up);
			c->up = NULL;
			stk_conn_end(c, "shutdown");
			stk_conn_unlink(c);
			break;
		}
	}
	p->next_sweep_ns = UINT64_MAX;
	stk_proxy_poll(p);
	stk_dialer_destroy(p->dialer);
	stk_dns_destroy(p->dns);
	stk_lwip_set_handlers(p->lwip, NULL, NULL, NULL);
	free(p->buckets);
	free(p);
}

const struct stk_counters *stk_proxy_counters(const struct stk_proxy *p)
{
	return &p->ctr;
}

const struct stk_dns_counters *stk_proxy_dns_counters(const struct stk_proxy *p)
{
	return stk_dns_counters(p->dns);
}

unsigned stk_proxy_connecting(const struct stk_proxy *p)
{
	unsigned n = 0;

	for (const struct stk_conn *c = p->all; c; c = c->next)
		n += c->state == STK_ST_CONNECTING;
	return n;
}
