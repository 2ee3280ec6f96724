/* Ports: one burst rx/tx interface over DPDK ethdevs, TUN devices and
 * pcap files. Everything above this header sees only struct dp_port. */
#ifndef STRATA_DP_PORT_H
#define STRATA_DP_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_pkt.h"

struct rte_mbuf;
struct rte_mempool;
struct conf_port;
struct dp_port;
struct dp_port_stats;

struct dp_port_ops {
	const char *kind;
	/* Receive up to n packets from queue q into pkts (mbufs from the
	 * port's mempool, m->port set to the port id). Returns the count. */
	uint16_t (*rx_burst)(struct dp_port *p, uint16_t q,
			     struct rte_mbuf **pkts, uint16_t n);
	/* Transmit up to n; returns how many the port took (and now owns).
	 * The caller frees or retries the rest. */
	uint16_t (*tx_burst)(struct dp_port *p, uint16_t q,
			     struct rte_mbuf **pkts, uint16_t n);
	/* A file descriptor that becomes readable when queue q has packets,
	 * for sleeping in epoll when idle; -1 if the port can only be
	 * polled. */
	int (*rx_wait_fd)(struct dp_port *p, uint16_t q);
	void (*close)(struct dp_port *p);
	void (*stats)(const struct dp_port *p, struct dp_port_stats *s);
};

struct dp_port {
	const struct dp_port_ops *ops;
	const struct conf_port *conf;
	uint16_t id;          /* index in the config's port list */
	char name[32];
	enum dp_link link;    /* DP_LINK_ETH or DP_LINK_RAW_IP */
	uint16_t mtu;         /* L3 MTU */
	uint8_t mac[6];       /* Ethernet ports */
	uint16_t n_rxq, n_txq;
	bool hw_rss;          /* NIC spreads flows over rx queues with the
				 symmetric Toeplitz key (dp_rss.h) */
	uint16_t rx_offload_csum; /* rx mbufs carry checksum status flags */
	struct rte_mempool *mp;
	/* NULL, or mbufs that hold a packet of the port's MTU when that is
	 * past a standard mbuf (large TUN MTUs); only packets that need
	 * them use them */
	struct rte_mempool *big_mp;
	void *priv;           /* backend state */
};

/* Open and start a port from its config with n_queues rx and tx queues
 * (the backend may give fewer: see p->n_rxq). Returns NULL and writes a
 * one-line reason to errbuf on failure. Needs EAL initialised. */
struct dp_port *dp_port_open(const struct conf_port *c, uint16_t id,
			     struct rte_mempool *mp, struct rte_mempool *big_mp,
			     uint16_t n_queues,
			     char *errbuf, size_t errlen);
void dp_port_close(struct dp_port *p);

static inline uint16_t dp_port_rx_burst(struct dp_port *p, uint16_t q,
					struct rte_mbuf **pkts, uint16_t n)
{
	return p->ops->rx_burst(p, q, pkts, n);
}

static inline uint16_t dp_port_tx_burst(struct dp_port *p, uint16_t q,
					struct rte_mbuf **pkts, uint16_t n)
{
	return p->ops->tx_burst(p, q, pkts, n);
}

struct dp_port_stats {
	uint64_t rx_pkts, rx_bytes, tx_pkts, tx_bytes;
	uint64_t rx_errors, tx_errors, rx_nombuf;
};

/* The pool for an mbuf of len bytes of p: the standard one, unless
 * len needs the port's larger mbufs. */
struct rte_mempool *dp_port_pool(const struct dp_port *p, uint32_t len);

/* A copy of buf[0..len) in one mbuf of mp, or a chain of them when len
 * is past one. NULL when mp runs out. */
struct rte_mbuf *dp_mbuf_copy(struct rte_mempool *mp, const void *buf,
			      uint32_t len);

/* Counters the backend keeps (or the NIC's, for DPDK ports). */
void dp_port_stats(const struct dp_port *p, struct dp_port_stats *s);

/* Backends. */
struct dp_port *dp_port_dpdk_open(const struct conf_port *c, struct dp_port *p,
				  uint16_t n_queues, char *err, size_t errlen);
struct dp_port *dp_port_tun_open(const struct conf_port *c, struct dp_port *p,
				 uint16_t n_queues, char *err, size_t errlen);
struct dp_port *dp_port_pcap_open(const struct conf_port *c, struct dp_port *p,
				  char *err, size_t errlen);

/* pcap backend extras for `strata pcap`: the capture's clock drives
 * timeouts so that replays are deterministic. */
uint64_t dp_port_pcap_now_ns(const struct dp_port *p); /* last rx ts */
bool dp_port_pcap_eof(const struct dp_port *p);
/* Input packets the pcap backend could not turn into mbufs, by reason
 * (unsupported link type, truncated capture): counted, never silent. */
uint64_t dp_port_pcap_rx_skipped(const struct dp_port *p);

#endif
