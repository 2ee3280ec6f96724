/* DPDK ethdev port: any PMD. Multi-queue ports spread flows with the
 * symmetric Toeplitz key so both directions of a flow reach one lcore. */
#include "dp_port.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <errno.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "conf/conf.h"
#include "dp_rss.h"

static uint16_t dp_dpdk_rx(struct dp_port *p, uint16_t q,
			   struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t port_id = (uint16_t)(uintptr_t)p->priv;
	uint16_t got = rte_eth_rx_burst(port_id, q, pkts, n);

	/* m->port names strata's port; rewrite it only where the ethdev
	 * numbers differ (a store per mbuf showed in the fast path) */
	if (port_id != p->id)
		for (uint16_t i = 0; i < got; i++)
			pkts[i]->port = p->id;
	return got;
}

static uint16_t dp_dpdk_tx(struct dp_port *p, uint16_t q,
			   struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_tx_burst((uint16_t)(uintptr_t)p->priv, q, pkts, n);
}

static void dp_dpdk_close(struct dp_port *p)
{
	uint16_t port_id = (uint16_t)(uintptr_t)p->priv;

	rte_eth_dev_stop(port_id);
	rte_eth_dev_close(port_id);
}

static void dp_dpdk_stats(const struct dp_port *p, struct dp_port_stats *s)
{
	struct rte_eth_stats st;

	if (rte_eth_stats_get((uint16_t)(uintptr_t)p->priv, &st) != 0)
		return;
	s->rx_pkts = st.ipackets;
	s->rx_bytes = st.ibytes;
	s->tx_pkts = st.opackets;
	s->tx_bytes = st.obytes;
	s->rx_errors = st.ierrors + st.imissed;
	s->tx_errors = st.oerrors;
	s->rx_nombuf = st.rx_nombuf;
}

static const struct dp_port_ops dp_dpdk_ops = {
	.kind = "dpdk",
	.rx_burst = dp_dpdk_rx,
	.tx_burst = dp_dpdk_tx,
	.close = dp_dpdk_close,
	.stats = dp_dpdk_stats,
};

struct dp_port *dp_port_dpdk_open(const struct conf_port *c, struct dp_port *p,
				  uint16_t n_queues, char *err, size_t errlen)
{
	struct rte_eth_conf ec;
	struct rte_eth_dev_info info;
	struct rte_ether_addr mac;
	char name[CONF_PATH_MAX];
	uint16_t port_id, q;
	int rc;

	/* the device name is the devargs up to the first comma */
	snprintf(name, sizeof(name), "%s", c->devargs);
	name[strcspn(name, ",")] = '\0';
	if (rte_eth_dev_get_port_by_name(name, &port_id) != 0) {
		snprintf(err, errlen, "port %s: no DPDK device '%s' (devargs %s)",
			 c->name, name, c->devargs);
		return NULL;
	}
	rc = rte_eth_dev_info_get(port_id, &info);
	if (rc != 0)
		goto fail;
	if (n_queues > info.max_rx_queues)
		n_queues = info.max_rx_queues;
	if (n_queues > info.max_tx_queues)
		n_queues = info.max_tx_queues;
	if (c->rx_queues && c->rx_queues < n_queues)
		n_queues = c->rx_queues;
	if (n_queues < 1)
		n_queues = 1;

	memset(&ec, 0, sizeof(ec));
	if (n_queues > 1 && info.flow_type_rss_offloads) {
		ec.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		ec.rx_adv_conf.rss_conf.rss_key = (uint8_t *)dp_rss_key;
		ec.rx_adv_conf.rss_conf.rss_key_len = DP_RSS_KEY_LEN;
		ec.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads &
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
		ec.rxmode.offloads |= info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_RSS_HASH;
		p->hw_rss = true;
	}
	if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_CHECKSUM) {
		ec.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_CHECKSUM;
		p->rx_offload_csum = 1;
	}
	rc = rte_eth_dev_configure(port_id, n_queues, n_queues, &ec);
	if (rc != 0)
		goto fail;
	for (q = 0; q < n_queues; q++) {
		rc = rte_eth_rx_queue_setup(port_id, q, c->rx_desc,
					    rte_eth_dev_socket_id(port_id), NULL, p->mp);
		if (rc != 0)
			goto fail;
		rc = rte_eth_tx_queue_setup(port_id, q, c->tx_desc,
					    rte_eth_dev_socket_id(port_id), NULL);
		if (rc != 0)
			goto fail;
	}
	rc = rte_eth_dev_set_mtu(port_id, c->mtu);
	if (rc != 0 && rc != -ENOTSUP)
		goto fail;
	bool soft_mac = false;

	if (c->mac_set) {
		memcpy(mac.addr_bytes, c->mac, 6);
		/* A device that cannot take the MAC (net_pcap, some VFs)
		 * runs promiscuous and strata filters on the MAC itself. */
		soft_mac = rte_eth_dev_default_mac_addr_set(port_id, &mac) != 0;
		memcpy(p->mac, c->mac, 6);
	} else {
		rc = rte_eth_macaddr_get(port_id, &mac);
		if (rc != 0)
			goto fail;
		memcpy(p->mac, mac.addr_bytes, 6);
	}
	rc = rte_eth_dev_start(port_id);
	if (rc != 0)
		goto fail;
	if (soft_mac)
		rte_eth_promiscuous_enable(port_id);
	/* NDP needs solicited-node multicast */
	rte_eth_allmulticast_enable(port_id);
	p->priv = (void *)(uintptr_t)port_id;
	p->ops = &dp_dpdk_ops;
	p->link = DP_LINK_ETH;
	p->n_rxq = p->n_txq = n_queues;
	return p;
fail:
	snprintf(err, errlen, "port %s: DPDK device %s: %s", c->name, name,
		 rte_strerror(-rc));
	return NULL;
}
