/* The packet path of one rx/tx lcore. See dp_pipeline.h.
 *
 * Life of a received packet:
 *   [common shape of a known flow: dp_fast.h, straight to its verdict]
 *   parse -> [fragment: reassemble into lc->scratch, parse again]
 *   -> ARP: answer / learn           (no flow)
 *   -> flow lookup or create (+ ip_flow hook on creation)
 *   -> verdict: LOCAL   answer for our addresses (echo, NDP, errors)
 *               FORWARD TTL, MTU, neighbour, out of another port
 *               STACK   ring to a worker lcore
 *               DROP
 * Each packet ends in exactly one disposition (dp_counters.h). */
#include "dp_pipeline.h"

#include <errno.h>
#include <stdatomic.h>
#include <unistd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "apps/apps.h"
#include "dp_fast.h"
#include "dp_flow.h"
#include "dp_l3.h"
#include "dp_neigh.h"
#include "dp_parse.h"
#include "dp_port.h"
#include "dp_reass.h"
#include "dp_rss.h"

#define DP_SCRATCH_LEN (DP_REASS_MAX_DATAGRAM + 64)
#define DP_TIMER_PERIOD_NS (100ull * 1000 * 1000)
#define DP_FLOW_EXPIRE_BUDGET 1024

/* A packet being processed: either an mbuf's data or, for reassembled
 * datagrams, lc->scratch (m is then NULL). */
struct dp_pkt {
	struct rte_mbuf *m;
	uint8_t *buf;
	uint32_t len;
	struct dp_port *port;
	struct dp_pkt_view v;
};

static void dp_flow_ended(struct dp_flow *f, void *arg);
static void dp_neigh_resolicit(uint16_t port, const union dp_addr *ip,
			       void *arg);

struct dp_lcore *dp_lcore_create(unsigned idx, const struct dp_shared *sh,
				 struct rte_mempool *mp)
{
	const struct conf *c = sh->conf;
	struct dp_lcore *lc;
	unsigned i;

	lc = rte_zmalloc("dp_lcore", sizeof(*lc), 64);
	if (!lc)
		goto err;
	lc->idx = idx;
	lc->sh = sh;
	lc->mp = mp;
	for (i = 0; i < sh->n_ports; i++)
		lc->txq[i] = idx % sh->ports[i]->n_txq;

	struct dp_flow_table_params fp = {
		.max_flows = c->flows.max,
		.tcp_idle_s = c->flows.tcp_idle_s,
		.udp_idle_s = c->flows.udp_idle_s,
		.other_idle_s = c->flows.other_idle_s,
		.stack_tcp_idle_s = c->stack.tcp_idle_s,
		.stack_udp_idle_s = c->stack.udp_idle_s,
		.stack_closing_s = c->flows.stack_closing_s,
		.app_ctx_size = apps_flow_ctx_size(),
	};
	lc->flows = dp_flow_table_create(&fp);
	if (!lc->flows)
		goto err_free_lc;
	if (c->flows.fast_path) {
		/* four entries a flow, up to 2048 flows: what stays hot in
		 * a core's L2, with few sets holding more than two */
		uint32_t n = c->flows.max < 2048 ? 4 * c->flows.max : 8192;

		lc->fast = dp_fast_cache_create(n);
		if (!lc->fast)
			goto err_free_flows;
	}

	struct dp_reass_params rp = {
		.max_datagrams = c->reassembly.max_datagrams,
		.max_fragments = c->reassembly.max_fragments,
		.timeout_ms = c->reassembly.timeout_ms,
	};
	lc->reass = dp_reass_create(&rp);
	if (!lc->reass)
		goto err_free_flows;

	struct dp_neigh_params np = {
		.max_entries = c->neighbors.max,
		.reachable_s = c->neighbors.reachable_s,
		.retrans_ms = c->neighbors.retrans_ms,
		.queue_len = c->neighbors.queue_len,
	};
	lc->neigh = dp_neigh_create(&np);
	if (!lc->neigh)
		goto err_free_reass;

	lc->scratch = malloc(DP_SCRATCH_LEN);
	if (!lc->scratch)
		goto err_free_neigh;

	lc->icmp_err_cost_ns = c->icmp.errors_per_s ?
		1000000000ull / c->icmp.errors_per_s : 0;
	lc->ip4_id = (uint16_t)(idx * 7919u);
	lc->ip6_frag_id = idx * 0x01000193u;
	return lc;

err_free_neigh:
	dp_neigh_destroy(lc->neigh, NULL);
err_free_reass:
	dp_reass_destroy(lc->reass);
err_free_flows:
	dp_fast_cache_destroy(lc->fast);
	dp_flow_table_destroy(lc->flows, NULL, NULL);
err_free_lc:
	rte_free(lc);
err:
	errno = ENOMEM;
	return NULL;
}

static void dp_free_held(void *pkt)
{
	rte_pktmbuf_free(pkt);
}

void dp_lcore_destroy(struct dp_lcore *lc)
{
	unsigned i;

	if (!lc)
		return;
	for (i = 0; i < lc->sh->n_ports; i++)
		rte_pktmbuf_free_bulk(lc->tx[i].pkts, lc->tx[i].n);
	dp_fast_cache_destroy(lc->fast);
	dp_flow_table_destroy(lc->flows, dp_flow_ended, lc);
	dp_neigh_destroy(lc->neigh, dp_free_held);
	dp_reass_destroy(lc->reass);
	free(lc->scratch);
	rte_free(lc);
}

/* ---- small helpers ---- */

/* p is done with: count its disposition and free its mbuf. */
static inline void dp_end(struct dp_lcore *lc, struct dp_pkt *p,
			  enum dp_disp disp)
{
	lc->ctr.disp[disp]++;
	if (p->m)
		rte_pktmbuf_free(p->m);
	p->m = NULL;
}

static inline void dp_count_drop(struct dp_lcore *lc, int reason)
{
	lc->ctr.drops[reason]++;
	lc->ctr.disp[DP_DISP_DROPPED]++;
}

static inline void dp_drop(struct dp_lcore *lc, struct dp_pkt *p, int reason)
{
	lc->ctr.drops[reason]++;
	dp_end(lc, p, DP_DISP_DROPPED);
}

/* Send what is buffered for port; untaken packets are counted and freed. */
static void dp_txbuf_flush(struct dp_lcore *lc, uint16_t port)
{
	struct dp_txbuf *tb = &lc->tx[port];
	uint16_t sent, i;

	if (!tb->n)
		return;
	sent = dp_port_tx_burst(lc->sh->ports[port], lc->txq[port], tb->pkts,
				tb->n);
	lc->ctr.tx_pkts += sent;
	lc->ctr.tx_bytes += tb->bytes;
	for (i = sent; i < tb->n; i++) {
		lc->ctr.drops[DP_DROP_TX_FULL]++;
		lc->ctr.tx_bytes -= rte_pktmbuf_pkt_len(tb->pkts[i]);
		rte_pktmbuf_free(tb->pkts[i]);
	}
	tb->n = 0;
	tb->bytes = 0;
}

static void dp_tx_mbuf(struct dp_lcore *lc, uint16_t port, struct rte_mbuf *m)
{
	struct dp_txbuf *tb = &lc->tx[port];

	if (tb->n == DP_TXBUF)
		dp_txbuf_flush(lc, port); /* early, rather than drop */
	tb->pkts[tb->n++] = m;
	/* counted now, while m is at hand, not in a second pass over
	 * the mbufs at flush */
	tb->bytes += rte_pktmbuf_pkt_len(m);
}

/* Copy len bytes into a fresh mbuf and queue it on port. Returns 0 or a
 * negative drop reason. */
static int dp_tx_copy(struct dp_lcore *lc, uint16_t port, const uint8_t *buf,
		      uint32_t len)
{
	struct rte_mempool *mp = dp_port_pool(lc->sh->ports[port], len);
	struct rte_mbuf *m;
	char *d;

	if (len > (uint32_t)rte_pktmbuf_data_room_size(mp) -
		  RTE_PKTMBUF_HEADROOM)
		return -DP_DROP_PKT_TOO_BIG;
	m = rte_pktmbuf_alloc(mp);
	if (!m)
		return -DP_DROP_NO_MBUF;
	d = rte_pktmbuf_append(m, len);
	if (!d) {
		rte_pktmbuf_free(m);
		return -DP_DROP_PKT_TOO_BIG;
	}
	memcpy(d, buf, len);
	m->port = port;
	dp_tx_mbuf(lc, port, m);
	return 0;
}

/* Send the answer built in out[0..len) back out of p's port and end p
 * as ANSWERED; len < 0 is the builder's drop reason. */
static void dp_answer_built(struct dp_lcore *lc, struct dp_pkt *p,
			    const uint8_t *out, int len)
{
	if (len >= 0)
		len = dp_tx_copy(lc, p->port->id, out, (uint32_t)len);
	if (len < 0) {
		dp_drop(lc, p, -len);
		return;
	}
	lc->ctr.tx_generated++;
	dp_end(lc, p, DP_DISP_ANSWERED);
}

struct dp_frag_emit {
	struct dp_lcore *lc;
	uint16_t port;
	const uint8_t *l2;
	uint16_t l2_len;
	int err;
};

static void dp_frag_emit_one(const uint8_t *frag, uint32_t frag_len, void *arg)
{
	struct dp_frag_emit *e = arg;
	struct rte_mbuf *m;
	char *d;

	if (e->err)
		return;
	m = rte_pktmbuf_alloc(dp_port_pool(e->lc->sh->ports[e->port],
					   e->l2_len + frag_len));
	if (!m) {
		e->err = -DP_DROP_NO_MBUF;
		return;
	}
	d = rte_pktmbuf_append(m, e->l2_len + frag_len);
	if (!d) {
		rte_pktmbuf_free(m);
		e->err = -DP_DROP_PKT_TOO_BIG;
		return;
	}
	memcpy(d, e->l2, e->l2_len);
	memcpy(d + e->l2_len, frag, frag_len);
	m->port = e->port;
	e->lc->ctr.tx_generated++;
	dp_tx_mbuf(e->lc, e->port, m);
}

/* Send the packet in buf[0..len) (L2 header of l2_len bytes, then IP)
 * out of port, fragmenting the IP part when it exceeds the MTU.
 * Consumes p->m when the reply was built in it. Returns 0 or a negative
 * drop reason. */
static int dp_tx_ip(struct dp_lcore *lc, struct dp_pkt *p, uint16_t port,
		    uint8_t *buf, uint32_t len, uint16_t l2_len)
{
	struct dp_port *out = lc->sh->ports[port];
	int rc;

	if (len - l2_len <= out->mtu) {
		if (p->m && buf == rte_pktmbuf_mtod(p->m, uint8_t *)) {
			rte_pktmbuf_data_len(p->m) = len;
			rte_pktmbuf_pkt_len(p->m) = len;
			p->m->port = port;
			dp_tx_mbuf(lc, port, p->m);
			p->m = NULL;
			return 0;
		}
		return dp_tx_copy(lc, port, buf, len);
	}

	struct dp_frag_emit e = { .lc = lc, .port = port, .l2 = buf,
				  .l2_len = l2_len };
	uint32_t id = (buf[l2_len] >> 4) == 4 ? lc->ip4_id++ : lc->ip6_frag_id++;

	rc = dp_frag_split(buf + l2_len, len - l2_len, out->mtu, id,
			   dp_frag_emit_one, &e);
	if (rc < 0)
		return rc;
	if (e.err)
		return e.err;
	if (p->m) {
		rte_pktmbuf_free(p->m);
		p->m = NULL;
	}
	return 0;
}

static bool dp_port_owns(const struct dp_port *port, const union dp_addr *a)
{
	const struct conf_port *c = port->conf;
	unsigned i;

	for (i = 0; i < c->n_addrs; i++)
		if (dp_addr_eq(&c->addrs[i].addr, a))
			return true;
	return false;
}

/* ff02::1 or the solicited-node group of one of our addresses: NDP
 * and all-nodes echo requests arrive there. */
static bool dp_port_joined6(const struct dp_port *port, const union dp_addr *a)
{
	const struct conf_port *c = port->conf;
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t sn_prefix[13] = { 0xff, 0x02, [11] = 1, [12] = 0xff };
	unsigned i;

	if (memcmp(a->b, all_nodes, 16) == 0)
		return true;
	if (memcmp(a->b, sn_prefix, 13) != 0)
		return false;
	for (i = 0; i < c->n_addrs; i++)
		if (!c->addrs[i].v4 && memcmp(c->addrs[i].addr.b + 13, a->b + 13, 3) == 0)
			return true;
	return false;
}

/* Our address on port in the family of want_v4, preferring one whose
 * prefix holds peer. */
static const union dp_addr *dp_port_src_addr(const struct dp_port *port,
					     const union dp_addr *peer)
{
	const struct conf_port *c = port->conf;
	const union dp_addr *any = NULL;
	bool v4 = dp_addr_is_v4(peer);
	unsigned i;

	for (i = 0; i < c->n_addrs; i++) {
		const struct conf_prefix *pf = &c->addrs[i];
		unsigned bits = pf->v4 ? 96u + pf->prefix_len : pf->prefix_len;
		unsigned full = bits / 8, rem = bits % 8;

		if (pf->v4 != v4)
			continue;
		if (!any)
			any = &pf->addr;
		if (memcmp(pf->addr.b, peer->b, full) == 0 &&
		    (!rem || ((pf->addr.b[full] ^ peer->b[full]) >>
			      (8 - rem)) == 0))
			return &pf->addr;
	}
	return any;
}

static bool dp_icmp_err_allowed(struct dp_lcore *lc)
{
	const uint64_t burst = 10; /* errors allowed back to back */

	if (!lc->icmp_err_cost_ns)
		return true;
	if (lc->icmp_tokens_ns + burst * lc->icmp_err_cost_ns < lc->now_ns)
		lc->icmp_tokens_ns = lc->now_ns - burst * lc->icmp_err_cost_ns;
	if (lc->icmp_tokens_ns + lc->icmp_err_cost_ns > lc->now_ns)
		return false;
	lc->icmp_tokens_ns += lc->icmp_err_cost_ns;
	return true;
}

/* ---- local answers ---- */

static void dp_send_icmp_error(struct dp_lcore *lc, struct dp_pkt *p,
			       uint8_t type, uint8_t code, uint32_t info,
			       int reason_if_not_sent)
{
	uint8_t out[1600];
	const union dp_addr *src;
	int len;

	if (!lc->sh->conf->icmp.errors) {
		dp_drop(lc, p, reason_if_not_sent);
		return;
	}
	src = dp_port_owns(p->port, &p->v.dst) ? &p->v.dst :
		dp_port_src_addr(p->port, &p->v.src);
	if (!src) {
		dp_drop(lc, p, reason_if_not_sent);
		return;
	}
	if (!dp_icmp_err_allowed(lc)) {
		dp_drop(lc, p, DP_DROP_ICMP_ERR_RATE_LIMITED);
		return;
	}
	/* The offending packet ends as ANSWERED: the error is the answer. */
	len = dp_l3_build_icmp_error(out, sizeof(out), p->buf, &p->v, type,
				     code, info, src, p->port->mac);
	dp_answer_built(lc, p, out, len);
}

static void dp_answer_inplace(struct dp_lcore *lc, struct dp_pkt *p, int len)
{
	int rc;

	if (len < 0) {
		dp_drop(lc, p, -len);
		return;
	}
	rc = dp_tx_ip(lc, p, p->port->id, p->buf, (uint32_t)len,
		      p->port->link == DP_LINK_ETH ? p->v.l3_off : 0);
	if (rc < 0) {
		dp_drop(lc, p, -rc);
		return;
	}
	lc->ctr.disp[DP_DISP_ANSWERED]++;
}

static void dp_neigh_release(void *pkt, const uint8_t mac[6], void *arg)
{
	struct dp_lcore *lc = arg;
	struct rte_mbuf *m = pkt;
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	memcpy(eh->dst_addr.addr_bytes, mac, 6);
	dp_tx_mbuf(lc, m->port, m);
}

/* ip is at mac on port: learn it, and tell the other rx/tx lcores
 * (see dp_shared.neigh_sync). */
static void dp_neigh_learned(struct dp_lcore *lc, uint16_t port,
			     const union dp_addr *ip, const uint8_t mac[6])
{
	const struct dp_shared *sh = lc->sh;
	struct dp_neigh_msg msg = { .ip = *ip, .port = port };
	unsigned i;

	dp_neigh_learn(lc->neigh, port, ip, mac, lc->now_ns, dp_neigh_release,
		       lc);
	memcpy(msg.mac, mac, 6);
	for (i = 0; i < sh->n_rxtx; i++) {
		struct rte_ring *r = sh->neigh_sync[lc->idx][i];

		if (!r)
			continue;
		if (rte_ring_sp_enqueue_elem(r, &msg, sizeof(msg)) != 0) {
			lc->ctr.neigh_sync_lost++;
			continue;
		}
		lc->ctr.neigh_sync_sent++;
		if (sh->rxtx_wake[i])
			dp_wake(sh->rxtx_wake[i]);
	}
}

void dp_lcore_neigh_sync(struct dp_lcore *lc)
{
	const struct dp_shared *sh = lc->sh;
	struct dp_neigh_msg msg[16];
	unsigned i, k, n;

	for (i = 0; i < sh->n_rxtx; i++) {
		struct rte_ring *r = sh->neigh_sync[i][lc->idx];

		if (!r)
			continue;
		while ((n = rte_ring_sc_dequeue_burst_elem(r, msg, sizeof(msg[0]),
							   RTE_DIM(msg), NULL))) {
			for (k = 0; k < n; k++)
				dp_neigh_learn(lc->neigh, msg[k].port, &msg[k].ip,
					       msg[k].mac, lc->now_ns,
					       dp_neigh_release, lc);
			lc->ctr.neigh_sync_received += n;
		}
	}
}

/* The target address of an NS or NA on an Ethernet port. */
static bool dp_ndp_target(const struct dp_pkt *p, union dp_addr *target)
{
	if (p->port->link != DP_LINK_ETH || p->v.l4_len < 24)
		return false;
	memcpy(target->b, p->buf + p->v.l4_off + 8, 16);
	return true;
}

static void dp_local_icmp6(struct dp_lcore *lc, struct dp_pkt *p)
{
	struct dp_pkt_view *v = &p->v;
	union dp_addr target;
	uint8_t out[256];
	int len;

	switch (v->icmp_type) {
	case 128: /* echo request */
		if (!lc->sh->conf->icmp.echo ||
		    !dp_port_owns(p->port, &v->dst)) {
			dp_drop(lc, p, DP_DROP_ICMP6_UNHANDLED_TYPE);
			return;
		}
		dp_answer_inplace(lc, p, dp_l3_echo_reply_inplace(p->buf, p->len,
						v, p->port->mac));
		return;
	case 135: /* neighbour solicitation */
		if (!dp_ndp_target(p, &target) ||
		    !dp_port_owns(p->port, &target)) {
			dp_drop(lc, p, DP_DROP_NDP_NOT_FOR_US);
			return;
		}
		len = dp_l3_build_ndp_na(out, sizeof(out), p->buf, v,
					 p->port->mac);
		if (len >= 0 && (v->src.q[0] | v->src.q[1]))
			dp_neigh_learned(lc, p->port->id, &v->src, v->eth_src);
		dp_answer_built(lc, p, out, len);
		return;
	case 136: /* neighbour advertisement: learn the target */
		if (dp_ndp_target(p, &target))
			dp_neigh_learned(lc, p->port->id, &target, v->eth_src);
		dp_end(lc, p, DP_DISP_CONSUMED);
		return;
	default:
		dp_drop(lc, p, DP_DROP_ICMP6_UNHANDLED_TYPE);
	}
}

/* Packets for one of strata's addresses (or groups it joined). */
static void dp_local(struct dp_lcore *lc, struct dp_pkt *p)
{
	struct dp_pkt_view *v = &p->v;
	bool v4 = v->ip_version == 4;
	uint8_t out[128];
	int len;

	switch (v->l4_proto) {
	case IPPROTO_ICMP:
		if (!v4) {
			dp_drop(lc, p, DP_DROP_L4_PROTO_UNSUPPORTED);
			return;
		}
		if (v->icmp_type == 8 && lc->sh->conf->icmp.echo) {
			dp_answer_inplace(lc, p, dp_l3_echo_reply_inplace(
				p->buf, p->len, v, p->port->mac));
			return;
		}
		dp_drop(lc, p, DP_DROP_ICMP_UNHANDLED_TYPE);
		return;
	case IPPROTO_ICMPV6:
		if (v4) {
			dp_drop(lc, p, DP_DROP_L4_PROTO_UNSUPPORTED);
			return;
		}
		dp_local_icmp6(lc, p);
		return;
	case IPPROTO_UDP:
		/* No listener until the stack arrives: port unreachable. */
		dp_send_icmp_error(lc, p, v4 ? 3 : 1, v4 ? 3 : 4, 0, DP_DROP_NO_STACK);
		return;
	case IPPROTO_TCP:
		if (v->tcp_flags & 0x04) { /* never answer a RST */
			dp_drop(lc, p, DP_DROP_NO_STACK);
			return;
		}
		len = dp_l3_build_tcp_rst(out, sizeof(out), p->buf, v,
					  p->port->mac);
		dp_answer_built(lc, p, out, len);
		return;
	default:
		/* v4: protocol unreachable; v6: parameter problem pointing
		 * at the next-header field (RFC 4443 3.4). */
		if (v4)
			dp_send_icmp_error(lc, p, 3, 2, 0,
					   DP_DROP_L4_PROTO_UNSUPPORTED);
		else
			dp_send_icmp_error(lc, p, 4, 1, 6,
					   DP_DROP_L4_PROTO_UNSUPPORTED);
	}
}

/* ---- forwarding ---- */

/* Send p's IP datagram (version ip_version, at l3_off, l3_len bytes,
 * to dst) out of out_id: TTL or hop limit less one, the out port's L2
 * header, the next hop's MAC, or held while ARP/NDP resolves it. The
 * caller checked the TTL (> 1), out_id, and the MTU (the datagram fits,
 * or may be fragmented); p's view is not read (the fast path has
 * none). */
static void dp_forward_send(struct dp_lcore *lc, struct dp_pkt *p,
			    uint16_t out_id, uint8_t ip_version,
			    uint16_t l3_off, uint16_t ip_len,
			    const union dp_addr *dst)
{
	struct dp_port *out = lc->sh->ports[out_id];
	uint8_t *ip = p->buf + l3_off;
	int rc;

	/* TTL / hop limit, with an incremental v4 header checksum update
	 * (RFC 1624: the TTL is the high byte of a 16-bit word). */
	if (ip_version == 4) {
		uint32_t sum = (uint32_t)((ip[10] << 8) | ip[11]) + 0x0100;

		ip[8]--;
		sum = (sum & 0xffff) + (sum >> 16);
		ip[10] = (uint8_t)(sum >> 8);
		ip[11] = (uint8_t)sum;
	} else {
		ip[7]--;
	}

	/* Re-frame for the out port: the L2 header is rebuilt in front of
	 * the IP datagram (trailing link padding is dropped). */
	uint8_t l2[RTE_ETHER_HDR_LEN];
	uint16_t l2_len = 0;

	if (out->link == DP_LINK_ETH) {
		struct rte_ether_hdr *eh = (struct rte_ether_hdr *)l2;

		memcpy(eh->src_addr.addr_bytes, out->mac, 6);
		memset(eh->dst_addr.addr_bytes, 0, 6);
		eh->ether_type = rte_cpu_to_be_16(ip_version == 4 ?
			RTE_ETHER_TYPE_IPV4 : RTE_ETHER_TYPE_IPV6);
		l2_len = sizeof(l2);
	}

	uint8_t *nb;
	if (p->m && l3_off >= l2_len) {
		/* reuse the mbuf: move the start to just before the IP header */
		rte_pktmbuf_adj(p->m, l3_off - l2_len);
		rte_pktmbuf_trim(p->m, rte_pktmbuf_pkt_len(p->m) - l2_len - ip_len);
		nb = rte_pktmbuf_mtod(p->m, uint8_t *);
	} else if (p->m && rte_pktmbuf_headroom(p->m) + l3_off >= l2_len) {
		rte_pktmbuf_prepend(p->m, l2_len - l3_off);
		rte_pktmbuf_trim(p->m, rte_pktmbuf_pkt_len(p->m) - l2_len - ip_len);
		nb = rte_pktmbuf_mtod(p->m, uint8_t *);
	} else if (!p->m && l3_off >= l2_len) {
		nb = ip - l2_len;
	} else {
		dp_drop(lc, p, DP_DROP_PKT_TOO_BIG);
		return;
	}
	memcpy(nb, l2, l2_len);
	p->buf = nb;
	p->len = l2_len + ip_len;

	if (out->link == DP_LINK_ETH) {
		uint8_t mac[6];

		if (dp_neigh_lookup(lc->neigh, out_id, dst, lc->now_ns, mac) == 0) {
			memcpy(nb, mac, 6);
		} else {
			uint8_t req[128];
			const union dp_addr *src = dp_port_src_addr(out, dst);

			if (!p->m) {
				/* a reassembled datagram lives in scratch and
				 * cannot wait for resolution */
				dp_neigh_resolicit(out_id, dst, lc);
				dp_drop(lc, p, DP_DROP_NEIGH_UNRESOLVED);
				return;
			}
			if (!src) {
				dp_drop(lc, p, DP_DROP_NO_ROUTE);
				return;
			}
			p->m->port = out_id;
			rc = dp_neigh_hold(lc->neigh, out_id, dst, p->m, lc->now_ns);
			if (rc < 0) {
				dp_drop(lc, p, -rc);
				return;
			}
			p->m = NULL;
			lc->ctr.disp[DP_DISP_FORWARDED]++;
			if (rc == 1) {
				int len = dp_addr_is_v4(dst) ?
					dp_l3_build_arp_request(req, sizeof(req), out->mac, src, dst) :
					dp_l3_build_ndp_ns(req, sizeof(req), out->mac, src, dst);
				if (len > 0 && dp_tx_copy(lc, out_id, req, (uint32_t)len) == 0)
					lc->ctr.tx_generated++;
			}
			return;
		}
	}

	rc = dp_tx_ip(lc, p, out_id, nb, p->len, l2_len);
	if (rc < 0) {
		dp_drop(lc, p, -rc);
		return;
	}
	lc->ctr.disp[DP_DISP_FORWARDED]++;
}

static void dp_forward(struct dp_lcore *lc, struct dp_pkt *p, uint16_t out_id)
{
	struct dp_pkt_view *v = &p->v;
	struct dp_port *out;
	uint8_t *ip;

	if (out_id >= lc->sh->n_ports) {
		dp_drop(lc, p, DP_DROP_NO_ROUTE);
		return;
	}
	out = lc->sh->ports[out_id];
	if (v->ttl <= 1) {
		if (v->ip_version == 4)
			dp_send_icmp_error(lc, p, 11, 0, 0, DP_DROP_IP4_TTL_EXPIRED);
		else
			dp_send_icmp_error(lc, p, 3, 0, 0, DP_DROP_IP6_HOP_LIMIT_EXPIRED);
		return;
	}
	ip = p->buf + v->l3_off;
	if (v->l3_len > out->mtu) {
		bool df = v->ip_version == 6 || (ip[6] & 0x40);

		if (df) {
			if (v->ip_version == 4)
				dp_send_icmp_error(lc, p, 3, 4, out->mtu, DP_DROP_TOO_BIG);
			else
				dp_send_icmp_error(lc, p, 2, 0, out->mtu, DP_DROP_TOO_BIG);
			return;
		}
	}
	dp_forward_send(lc, p, out_id, v->ip_version, v->l3_off, v->l3_len,
			&v->dst);
}

/* ---- the per-packet path ---- */

static void dp_arp(struct dp_lcore *lc, struct dp_pkt *p)
{
	struct dp_pkt_view *v = &p->v;

	if (!dp_port_owns(p->port, &v->arp_tpa)) {
		dp_drop(lc, p, DP_DROP_ARP_NOT_FOR_US);
		return;
	}
	if (v->arp_spa.w[3] != 0)
		dp_neigh_learned(lc, p->port->id, &v->arp_spa, v->arp_sha);
	if (v->arp_op == 1) {
		dp_answer_inplace(lc, p, dp_l3_arp_reply_inplace(p->buf, p->len, v,
								  p->port->mac));
		return;
	}
	dp_end(lc, p, DP_DISP_CONSUMED);
}

static enum strata_verdict dp_default_verdict(const struct dp_lcore *lc,
					      const struct dp_flow *f,
					      const struct dp_pkt_view *v)
{
	/* A TCP segment to us that opens nothing (a SYN-ACK, data, ...)
	 * belongs to a connection the stack opened, if to any: the stack
	 * knows, and answers RST for the ones it does not. */
	if (f->info.to_local && v->l4_proto == 6 && lc->sh->n_workers &&
	    (v->tcp_flags & 0x12) != 0x02)
		return STRATA_STACK;
	/* A SYN to an HTTP endpoint's stack_port on our address. */
	if (f->info.to_local && v->l4_proto == 6 && lc->sh->n_workers) {
		const struct conf *c = lc->sh->conf;

		for (unsigned i = 0; i < c->n_endpoints; i++)
			if (c->endpoints[i].stack_port == v->dport)
				return STRATA_STACK;
	}
	if (f->info.to_local)
		return STRATA_LOCAL;
	switch (lc->sh->conf->policy.default_action) {
	case CONF_ACTION_DROP:
		return STRATA_DROP;
	case CONF_ACTION_STACK:
		return STRATA_STACK;
	case CONF_ACTION_FORWARD:
		return STRATA_FORWARD;
	default:
		return STRATA_LOCAL;
	}
}

static void dp_flow_ended(struct dp_flow *f, void *arg)
{
	struct dp_lcore *lc = arg;

	apps_flow_end(f);
	lc->ctr.flows_expired++;
}

void dp_wake(const struct dp_wake *w)
{
	uint64_t one = 1;

	if (atomic_load(&w->sleeping) && write(w->fd, &one, sizeof(one)) < 0) {
		/* counter saturated: the sleeper is awake anyway */
	}
}

/* Ring m's IP datagram (at l3_off, l3_len bytes) to the worker of
 * hash, which takes raw IP: the L2 header and link padding go. Ends m
 * as STACK, or dropped when the ring is full. */
static void dp_ring_to_worker(struct dp_lcore *lc, struct rte_mbuf *m,
			      uint16_t l3_off, uint16_t l3_len, uint32_t hash)
{
	const struct dp_shared *sh = lc->sh;
	unsigned w = hash % sh->n_workers;

	rte_pktmbuf_adj(m, l3_off);
	rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - l3_len);
	if (rte_ring_sp_enqueue(sh->to_worker[lc->idx][w], m) != 0) {
		rte_pktmbuf_free(m);
		dp_count_drop(lc, DP_DROP_RING_FULL);
		return;
	}
	lc->ctr.disp[DP_DISP_STACK]++;
	dp_wake(&sh->worker_wake[w]);
}

static void dp_to_worker(struct dp_lcore *lc, struct dp_pkt *p, uint32_t hash)
{
	const struct dp_shared *sh = lc->sh;
	struct rte_mbuf *m;

	if (!sh->n_workers) {
		dp_drop(lc, p, DP_DROP_NO_STACK);
		return;
	}
	if (!p->m) {
		/* A reassembled datagram lives in scratch: the stack gets a
		 * copy (a chain past one mbuf; the worker joins it). */
		m = dp_mbuf_copy(dp_port_pool(p->port, p->v.l3_len),
				 p->buf + p->v.l3_off, p->v.l3_len);
		if (!m) {
			dp_drop(lc, p, DP_DROP_NO_MBUF);
			return;
		}
		m->port = p->port->id;
		dp_ring_to_worker(lc, m, 0, p->v.l3_len, hash);
		return;
	}
	m = p->m;
	p->m = NULL;
	dp_ring_to_worker(lc, m, p->v.l3_off, p->v.l3_len, hash);
}

/* Addressed to strata on this port: one of its addresses, or (v6) a
 * group it listens to. */
static bool dp_is_local(const struct dp_port *port, const struct dp_pkt_view *v)
{
	return dp_port_owns(port, &v->dst) ||
	       (v->ip_version == 6 && dp_port_joined6(port, &v->dst));
}

/* The flow hash of p: the NIC's when it computed the same symmetric
 * Toeplitz hash, else ours. Only new flows and STACK packets need it. */
static inline uint32_t dp_pkt_hash(const struct dp_pkt *p)
{
	if (p->m && p->port->hw_rss && (p->m->ol_flags & RTE_MBUF_F_RX_RSS_HASH))
		return p->m->hash.rss;
	return dp_rss_hash_view(&p->v);
}

/* pr: the probe started for p->v, or NULL to look up afresh. */
static void dp_ip(struct dp_lcore *lc, struct dp_pkt *p,
		  const struct dp_flow_probe *pr)
{
	struct dp_pkt_view *v = &p->v;
	struct dp_flow_probe own;
	struct dp_flow *f;
	bool created;
	int dir;

	if (!pr) {
		dp_flow_probe_start(lc->flows, v, &own);
		pr = &own;
	}
	f = dp_flow_probe_lookup_or_create(lc->flows, pr, v, 0, p->port->id,
					   lc->now_ns, &created, &dir);
	if (!f) {
		dp_drop(lc, p, DP_DROP_FLOW_TABLE_FULL);
		return;
	}
	if (created) {
		lc->ctr.flows_created++;
		f->hash = dp_pkt_hash(p);
		f->info.to_local = dp_is_local(p->port, v);
		apps_ip_flow(f, v);
		if (f->decision.verdict == STRATA_CONTINUE)
			f->decision.verdict = dp_default_verdict(lc, f, v);
		if (f->decision.verdict == STRATA_STACK)
			dp_flow_follow_stack(f);
	}
	dp_flow_touch(f, dir, p->len, lc->now_ns);
	if (v->l4_proto == IPPROTO_TCP && (v->tcp_flags & 0x07) &&
	    f->decision.verdict == STRATA_STACK)
		dp_flow_stack_tcp_flags(f, v->tcp_flags);

	switch (f->decision.verdict) {
	case STRATA_LOCAL:
		/* the flow remembers the answer for its first direction */
		if (dir == 0 && p->port->id == f->info.in_port ?
		    f->info.to_local : dp_is_local(p->port, v))
			dp_local(lc, p);
		else
			dp_drop(lc, p, DP_DROP_NOT_FOR_US);
		return;
	case STRATA_FORWARD:
		/* Replies go back the way the flow came in. */
		dp_forward(lc, p, dir == 0 ? f->decision.out_port :
					     f->info.in_port);
		return;
	case STRATA_STACK:
		dp_to_worker(lc, p, dp_pkt_hash(p));
		return;
	case STRATA_DROP:
	default:
		dp_drop(lc, p, DP_DROP_POLICY_DROP);
		return;
	}
}

static inline uint32_t dp_parse_flags(const struct rte_mbuf *m)
{
	uint32_t fl = 0;

	if (!m)
		return DP_PARSE_L3_CSUM_OK | DP_PARSE_L4_CSUM_OK;
	if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
		fl |= DP_PARSE_L3_CSUM_OK;
	if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		fl |= DP_PARSE_L4_CSUM_OK;
	return fl;
}

/* A fragment: feed it to reassembly; when the datagram completes, go
 * on with it in lc->scratch (the completing fragment carries the
 * datagram's disposition; the others end as FRAGMENT). */
static bool dp_reassemble(struct dp_lcore *lc, struct dp_pkt *p)
{
	uint16_t l2_len = p->v.l3_off;
	int rc;

	rc = dp_reass_feed(lc->reass, p->buf, &p->v, lc->now_ns,
			   lc->scratch + l2_len, DP_SCRATCH_LEN - l2_len);
	if (rc < 0) {
		dp_drop(lc, p, -rc);
		return false;
	}
	if (rc == 0) {
		dp_end(lc, p, DP_DISP_FRAGMENT);
		return false;
	}
	lc->ctr.reass_completed++;
	memcpy(lc->scratch, p->buf, l2_len);
	rte_pktmbuf_free(p->m);
	p->m = NULL;
	p->buf = lc->scratch;
	p->len = l2_len + (uint32_t)rc;
	rc = dp_parse(p->buf, p->len, p->port->link, 0, &p->v);
	if (rc < 0 || (p->v.flags & DP_PKT_F_FRAGMENT)) {
		dp_count_drop(lc, rc < 0 ? -rc : DP_DROP_FRAG_BAD);
		return false;
	}
	return true;
}

/* What happens to a packet after dp_rx_parse. */
enum dp_rx_next {
	DP_RX_DONE = 0, /* dropped already */
	DP_RX_ARP,
	DP_RX_FRAG,     /* to reassembly */
	DP_RX_IP,       /* to the flow table, its probe started */
};

/* Count m, parse it into p and filter on L2. */
static enum dp_rx_next dp_rx_parse(struct dp_lcore *lc, struct dp_pkt *p,
				   struct rte_mbuf *m)
{
	int rc;

	lc->ctr.rx_pkts++;
	lc->ctr.rx_bytes += rte_pktmbuf_pkt_len(m);
	p->m = m;
	if (unlikely(m->port >= lc->sh->n_ports)) {
		dp_drop(lc, p, DP_DROP_LINKTYPE_UNSUPPORTED);
		return DP_RX_DONE;
	}
	p->port = lc->sh->ports[m->port];
	if (unlikely(m->nb_segs > 1)) {
		dp_drop(lc, p, DP_DROP_PKT_TOO_BIG);
		return DP_RX_DONE;
	}
	p->buf = rte_pktmbuf_mtod(m, uint8_t *);
	p->len = rte_pktmbuf_data_len(m);

	rc = dp_parse(p->buf, p->len, p->port->link, dp_parse_flags(m), &p->v);
	if (unlikely(rc < 0)) {
		dp_drop(lc, p, -rc);
		return DP_RX_DONE;
	}
	if (p->port->link == DP_LINK_ETH &&
	    !(p->v.flags & (DP_PKT_F_L2_BCAST | DP_PKT_F_L2_MCAST)) &&
	    memcmp(p->v.eth_dst, p->port->mac, 6) != 0) {
		dp_drop(lc, p, DP_DROP_NOT_FOR_US_L2);
		return DP_RX_DONE;
	}
	if (p->v.l3 == DP_L3_ARP)
		return DP_RX_ARP;
	if (unlikely(p->v.flags & DP_PKT_F_FRAGMENT))
		return DP_RX_FRAG;
	return DP_RX_IP;
}

/* How many packets ahead the first pass prefetches packet data. */
#define DP_RX_PREFETCH 4

/* A burst goes through four passes so that its memory accesses
 * overlap rather than each packet stalling on its own: parse every
 * packet; start each flow probe (key, hash, bucket prefetch: a pass of
 * its own, so that it reads views whose stores have retired); prefetch
 * each probe's first entry; then take every packet to its end in
 * arrival order. Drops found while parsing are final at once; all
 * else (ARP, fragments, flows) keeps the order of the burst. */
static void dp_rx_chunk(struct dp_lcore *lc, struct rte_mbuf **pkts,
			uint16_t n)
{
	struct dp_pkt p[DP_BURST_MAX];
	struct dp_flow_probe pr[DP_BURST_MAX];
	uint8_t next[DP_BURST_MAX];
	uint16_t i;

	for (i = 0; i < n && i < DP_RX_PREFETCH; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < n; i++) {
		if (i + DP_RX_PREFETCH < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + DP_RX_PREFETCH],
						       void *));
		next[i] = (uint8_t)dp_rx_parse(lc, &p[i], pkts[i]);
	}
	for (i = 0; i < n; i++)
		if (next[i] == DP_RX_IP)
			dp_flow_probe_start(lc->flows, &p[i].v, &pr[i]);
	for (i = 0; i < n; i++)
		if (next[i] == DP_RX_IP)
			dp_flow_probe_prefetch(lc->flows, &pr[i]);
	for (i = 0; i < n; i++) {
		switch (next[i]) {
		case DP_RX_ARP:
			dp_arp(lc, &p[i]);
			break;
		case DP_RX_FRAG:
			if (dp_reassemble(lc, &p[i]))
				dp_ip(lc, &p[i], NULL);
			break;
		case DP_RX_IP:
			dp_ip(lc, &p[i], &pr[i]);
			break;
		default:
			break;
		}
	}
}

/* Start the flow-table probe of a classified packet (it prefetches
 * the bucket). */
static void dp_fast_probe(struct dp_lcore *lc, struct rte_mbuf *m,
			  const struct dp_fast_pkt *fp, struct dp_flow_probe *pr)
{
	union dp_addr src, dst;
	uint16_t sport, dport;

	dp_fast_tuple(rte_pktmbuf_mtod(m, uint8_t *), fp, &src, &dst, &sport,
		      &dport);
	dp_flow_probe_start_tuple(lc->flows, &src, &dst, sport, dport,
				  fp->proto, pr);
}

/* The cache entry of a classified packet (a live flow's): from the
 * cache, else from the flow table through pr (started already, or now),
 * filling the cache, or into *own when the burst skips the cache (set
 * NULL). NULL if the table does not know the flow. */
static const struct dp_fast_entry *dp_fast_flow(struct dp_lcore *lc,
						struct rte_mbuf *m,
						const struct dp_fast_pkt *fp,
						struct dp_fast_entry *set,
						struct dp_flow_probe *pr,
						bool probing,
						struct dp_fast_entry *own)
{
	const struct dp_fast_entry *e;
	struct dp_flow *f;
	int dir;

	if (!probing) {
		e = dp_fast_find(set, fp);
		if (likely(e))
			return e;
		dp_fast_probe(lc, m, fp, pr);
	}
	f = dp_flow_probe_lookup(lc->flows, pr, &dir);
	if (!f)
		return NULL;
	if (set)
		return dp_fast_fill(set, fp, f, dir, m->port);
	dp_fast_entry_of(own, f, dir, m->port);
	return own;
}

/* FORWARD a classified packet out of out_id as dp_forward() would, and
 * return true; false (nothing changed) where dp_forward() would answer
 * with an ICMP error or refuse: TTL 1 or less, no such port, too big
 * for its MTU (which needs the view). */
static bool dp_fast_forward(struct dp_lcore *lc, struct rte_mbuf *m,
			    const struct dp_fast_pkt *fp, uint16_t out_id)
{
	uint8_t *buf = rte_pktmbuf_mtod(m, uint8_t *);
	const uint8_t *ip = buf + fp->l3_off;
	union dp_addr src, dst;
	uint16_t sport, dport;
	struct dp_pkt p;

	if (out_id >= lc->sh->n_ports ||
	    fp->l3_len > lc->sh->ports[out_id]->mtu ||
	    ip[fp->ip_version == 4 ? 8 : 7] <= 1)
		return false;
	dp_fast_tuple(buf, fp, &src, &dst, &sport, &dport);
	p.m = m;
	p.buf = buf;
	p.len = rte_pktmbuf_data_len(m);
	p.port = lc->sh->ports[m->port];
	dp_forward_send(lc, &p, out_id, fp->ip_version, fp->l3_off,
			fp->l3_len, &dst);
	return true;
}

/* A packet dp_fast_classify() accepted: if the flow table knows its
 * flow, take it to its end as dp_ip() would and return true; false
 * (nothing changed) when it needs the general path. */
static bool dp_fast_one(struct dp_lcore *lc, struct rte_mbuf *m,
			const struct dp_fast_pkt *fp,
			struct dp_fast_entry *set, struct dp_flow_probe *pr,
			bool probing, enum dp_fast_kind kind)
{
	struct dp_port *port = lc->sh->ports[m->port];
	const struct dp_shared *sh = lc->sh;
	uint32_t data_len = rte_pktmbuf_data_len(m);
	uint32_t pkt_len = rte_pktmbuf_pkt_len(m), hash;
	const struct dp_fast_entry *e;
	struct dp_fast_entry own;
	int len;

	e = dp_fast_flow(lc, m, fp, set, pr, probing, &own);
	if (!e)
		return false;
	switch (e->verdict) {
	case STRATA_LOCAL:
		/* echo requests to our own unicast address (echo6 refuses
		 * multicast) and within the MTU; the rest as dp_local() */
		if (kind != DP_FAST_ECHO || !e->local || !sh->conf->icmp.echo ||
		    fp->l3_len > port->mtu)
			return false;
		len = dp_l3_echo_reply_fast(rte_pktmbuf_mtod(m, uint8_t *),
					    port->link, fp->l3_off,
					    fp->ip_version, fp->l4_len,
					    port->mac);
		if (len < 0)
			return false;
		rte_pktmbuf_data_len(m) = (uint16_t)len;
		rte_pktmbuf_pkt_len(m) = (uint32_t)len;
		dp_tx_mbuf(lc, port->id, m);
		lc->ctr.disp[DP_DISP_ANSWERED]++;
		break;
	case STRATA_STACK:
		if (!sh->n_workers)
			return false;
		hash = port->hw_rss && (m->ol_flags & RTE_MBUF_F_RX_RSS_HASH) ?
		       m->hash.rss : e->hash;
		dp_ring_to_worker(lc, m, fp->l3_off, fp->l3_len, hash);
		break;
	case STRATA_DROP:
		rte_pktmbuf_free(m);
		dp_count_drop(lc, DP_DROP_POLICY_DROP);
		break;
	case STRATA_FORWARD:
		if (!dp_fast_forward(lc, m, fp, e->out_port))
			return false;
		break;
	default:
		return false;
	}
	dp_flow_touch(e->f, dp_fast_dir(e), data_len, lc->now_ns);
	lc->ctr.rx_pkts++;
	lc->ctr.rx_bytes += pkt_len;
	lc->ctr.fast_path++;
	return true;
}

/* A burst whose packets mostly miss the cache (at least THRASH_MIN of
 * them) sends the next BYPASS_BURSTS bursts straight to the flow table. */
#define DP_FAST_THRASH_MIN 8
#define DP_FAST_BYPASS_BURSTS 63

/* A burst: packets of known flows in the common shape take the fast
 * path, the rest dp_rx_chunk(). Order is kept: a run of general-path
 * packets is finished before the next fast one looks up its flow (so
 * it sees any flow the run created or ended), and a fast packet that
 * needs the general path after all joins the run. Passes, so that
 * memory accesses overlap: classify (bytes only) and prefetch each
 * cache set; prefetch the flow of each set that holds the packet's
 * key, or else start a flow-table probe (a cache that does not hold
 * all busy flows must cost no more than the general path); prefetch
 * the probes' first entries; then each packet in order. */
static void dp_rx_fast(struct dp_lcore *lc, struct rte_mbuf **pkts,
		       uint16_t n)
{
	struct dp_fast_pkt fp[DP_BURST_MAX];
	struct dp_fast_entry *set[DP_BURST_MAX];
	struct dp_flow_probe pr[DP_BURST_MAX];
	struct rte_mbuf *run[DP_BURST_MAX];
	uint8_t kind[DP_BURST_MAX];
	bool probing[DP_BURST_MAX];
	uint16_t n_run = 0, n_fast = 0, n_probing = 0, i;
	bool use_cache = lc->fast_bypass == 0;

	if (!use_cache)
		lc->fast_bypass--;

	for (i = 0; i < n && i < DP_RX_PREFETCH; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct dp_port *port;

		if (i + DP_RX_PREFETCH < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + DP_RX_PREFETCH],
						       void *));
		kind[i] = DP_FAST_NO;
		if (unlikely(m->port >= lc->sh->n_ports || m->nb_segs > 1))
			continue;
		port = lc->sh->ports[m->port];
		kind[i] = (uint8_t)dp_fast_classify(rte_pktmbuf_mtod(m, uint8_t *),
						    rte_pktmbuf_data_len(m),
						    port->link, port->mac,
						    m->port, dp_parse_flags(m),
						    &fp[i]);
		if (kind[i] != DP_FAST_NO && use_cache) {
			set[i] = dp_fast_set(lc->fast, &fp[i]);
			rte_prefetch0(set[i]);
		} else {
			set[i] = NULL;
		}
	}
	for (i = 0; i < n; i++) {
		struct dp_fast_entry *e;

		if (kind[i] == DP_FAST_NO)
			continue;
		n_fast++;
		e = use_cache ? dp_fast_match(set[i], &fp[i]) : NULL;
		probing[i] = !e;
		if (e) {
			rte_prefetch0(&e->f->serial); /* its per-packet line */
		} else {
			dp_fast_probe(lc, pkts[i], &fp[i], &pr[i]);
			n_probing++;
		}
	}
	if (use_cache && n_probing >= DP_FAST_THRASH_MIN &&
	    2 * n_probing > n_fast) {
		/* More flows are busy than the cache holds: its reads and
		 * fills only cost. The next bursts go to the flow table;
		 * then one tries the cache again (and fills it, so that it
		 * warms up once fewer flows are busy). */
		lc->fast_bypass = DP_FAST_BYPASS_BURSTS;
		lc->ctr.fast_cache_bypass++;
	}
	for (i = 0; i < n && n_probing; i++)
		if (kind[i] != DP_FAST_NO && probing[i])
			dp_flow_probe_prefetch(lc->flows, &pr[i]);
	for (i = 0; i < n; i++) {
		if (kind[i] != DP_FAST_NO) {
			if (n_run) {
				dp_rx_chunk(lc, run, n_run);
				n_run = 0;
			}
			if (dp_fast_one(lc, pkts[i], &fp[i], set[i], &pr[i],
					probing[i], kind[i]))
				continue;
			/* Its checksums are verified (classify made every
			 * check dp_parse makes): the general path trusts them
			 * as it would a NIC's, rather than summing a new
			 * flow's first packet twice. */
			pkts[i]->ol_flags = (pkts[i]->ol_flags &
					     ~(RTE_MBUF_F_RX_IP_CKSUM_MASK |
					       RTE_MBUF_F_RX_L4_CKSUM_MASK)) |
					    RTE_MBUF_F_RX_IP_CKSUM_GOOD |
					    RTE_MBUF_F_RX_L4_CKSUM_GOOD;
		}
		run[n_run++] = pkts[i];
	}
	if (n_run)
		dp_rx_chunk(lc, run, n_run);
}

void dp_lcore_rx(struct dp_lcore *lc, struct rte_mbuf **pkts, uint16_t n)
{
	while (n) {
		uint16_t k = n < DP_BURST_MAX ? n : DP_BURST_MAX;

		if (lc->fast)
			dp_rx_fast(lc, pkts, k);
		else
			dp_rx_chunk(lc, pkts, k);
		pkts += k;
		n -= k;
	}
}

static void dp_tx_stack_one(struct dp_lcore *lc, struct rte_mbuf *m)
{
	struct dp_port *out;
	struct dp_pkt p = { .m = m };
	uint16_t port = m->port, l2_len = 0;
	uint32_t len = rte_pktmbuf_pkt_len(m);
	uint8_t *ip;
	int rc;

	if (port >= lc->sh->n_ports)
		goto drop;
	out = lc->sh->ports[port];
	p.port = out;
	if (m->nb_segs > 1) {
		/* A datagram past one mbuf (dp_worker_tx chained it): join
		 * it in scratch behind room for an L2 header; dp_tx_ip
		 * copies or fragments it from there. */
		if (len > DP_SCRATCH_LEN - RTE_ETHER_HDR_LEN)
			goto drop;
		ip = lc->scratch + RTE_ETHER_HDR_LEN;
		rte_pktmbuf_read(m, 0, len, ip);
		rte_pktmbuf_free(m);
		p.m = m = NULL;
	} else {
		ip = rte_pktmbuf_mtod(m, uint8_t *);
	}
	if (dp_parse(ip, len, DP_LINK_RAW_IP,
		     DP_PARSE_L3_CSUM_OK | DP_PARSE_L4_CSUM_OK, &p.v) < 0)
		goto drop;
	p.buf = ip;
	if (out->link == DP_LINK_ETH) {
		struct rte_ether_hdr *eh;
		uint8_t mac[6];

		if (dp_neigh_lookup(lc->neigh, port, &p.v.dst, lc->now_ns,
				    mac) != 0) {
			/* The stack retransmits; ask for the neighbour now. */
			dp_neigh_resolicit(port, &p.v.dst, lc);
			goto drop;
		}
		eh = m ? (struct rte_ether_hdr *)rte_pktmbuf_prepend(m,
							RTE_ETHER_HDR_LEN) :
			 (struct rte_ether_hdr *)lc->scratch;
		if (!eh)
			goto drop;
		memcpy(eh->dst_addr.addr_bytes, mac, 6);
		memcpy(eh->src_addr.addr_bytes, out->mac, 6);
		eh->ether_type = rte_cpu_to_be_16(p.v.ip_version == 4 ?
			RTE_ETHER_TYPE_IPV4 : RTE_ETHER_TYPE_IPV6);
		l2_len = RTE_ETHER_HDR_LEN;
		p.buf = (uint8_t *)eh;
	}
	p.len = l2_len + len;
	rc = dp_tx_ip(lc, &p, port, p.buf, p.len, l2_len);
	if (p.m)
		rte_pktmbuf_free(p.m);
	if (rc < 0) {
		lc->ctr.stack_tx_drops++;
		return;
	}
	lc->ctr.stack_tx++;
	return;
drop:
	lc->ctr.stack_tx_drops++;
	rte_pktmbuf_free(m);
}

void dp_lcore_tx_stack(struct dp_lcore *lc, struct rte_mbuf **pkts, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		dp_tx_stack_one(lc, pkts[i]);
}

void dp_lcore_flush(struct dp_lcore *lc)
{
	for (unsigned port = 0; port < lc->sh->n_ports; port++)
		dp_txbuf_flush(lc, (uint16_t)port);
}

/* ---- timers ---- */

static void dp_neigh_resolicit(uint16_t port, const union dp_addr *ip, void *arg)
{
	struct dp_lcore *lc = arg;
	struct dp_port *out = lc->sh->ports[port];
	const union dp_addr *src = dp_port_src_addr(out, ip);
	uint8_t req[128];
	int len;

	if (!src || out->link != DP_LINK_ETH)
		return;
	len = dp_addr_is_v4(ip) ?
		dp_l3_build_arp_request(req, sizeof(req), out->mac, src, ip) :
		dp_l3_build_ndp_ns(req, sizeof(req), out->mac, src, ip);
	if (len > 0 && dp_tx_copy(lc, port, req, (uint32_t)len) == 0)
		lc->ctr.tx_generated++;
}

static void dp_neigh_drop(void *pkt, void *arg)
{
	struct dp_lcore *lc = arg;

	/* Counted FORWARDED when held; a held packet that never resolved
	 * moves to DROPPED. */
	lc->ctr.disp[DP_DISP_FORWARDED]--;
	dp_count_drop(lc, DP_DROP_NEIGH_UNRESOLVED);
	rte_pktmbuf_free(pkt);
}

uint64_t dp_lcore_timers(struct dp_lcore *lc)
{
	if (lc->now_ns < lc->next_timer_ns)
		return lc->next_timer_ns;
	lc->next_timer_ns = lc->now_ns + DP_TIMER_PERIOD_NS;

	dp_flow_expire(lc->flows, lc->now_ns, DP_FLOW_EXPIRE_BUDGET,
		       dp_flow_ended, lc);
	/* Fragments held for a datagram that times out already ended as
	 * FRAGMENT; the lost datagram is counted here. */
	lc->ctr.reass_timeouts += dp_reass_expire(lc->reass, lc->now_ns);
	dp_neigh_tick(lc->neigh, lc->now_ns, dp_neigh_resolicit,
		      dp_neigh_drop, lc);
	lc->ctr.flows_active = dp_flow_count(lc->flows);
	return lc->next_timer_ns;
}

void dp_lcore_drain(struct dp_lcore *lc)
{
	/* Far enough in the future that every timeout has passed. */
	uint64_t end = lc->now_ns + 3600ull * 1000000000ull;
	unsigned i;

	for (i = 0; i < 8; i++) {
		lc->now_ns = end + i * 10ull * 1000000000ull;
		lc->next_timer_ns = 0;
		dp_lcore_timers(lc);
	}
	dp_lcore_flush(lc);
}
