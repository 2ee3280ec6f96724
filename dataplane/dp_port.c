/* Port construction: dispatch on the configured kind. */
#include "dp_port.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "conf/conf.h"

struct dp_port *dp_port_open(const struct conf_port *c, uint16_t id,
			     struct rte_mempool *mp, struct rte_mempool *big_mp,
			     uint16_t n_queues, char *errbuf, size_t errlen)
{
	struct dp_port *p, *r = NULL;

	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(errbuf, errlen, "port %s: out of memory", c->name);
		return NULL;
	}
	p->conf = c;
	p->id = id;
	p->mp = mp;
	p->big_mp = big_mp;
	p->mtu = c->mtu;
	snprintf(p->name, sizeof(p->name), "%s", c->name);
	switch (c->kind) {
	case CONF_PORT_DPDK:
		r = dp_port_dpdk_open(c, p, n_queues, errbuf, errlen);
		break;
	case CONF_PORT_TUN:
		r = dp_port_tun_open(c, p, n_queues, errbuf, errlen);
		break;
	case CONF_PORT_PCAP:
		r = dp_port_pcap_open(c, p, errbuf, errlen);
		break;
	}
	if (!r)
		free(p);
	return r;
}

void dp_port_close(struct dp_port *p)
{
	if (!p)
		return;
	if (p->ops && p->ops->close)
		p->ops->close(p);
	free(p);
}

void dp_port_stats(const struct dp_port *p, struct dp_port_stats *s)
{
	memset(s, 0, sizeof(*s));
	if (p->ops->stats)
		p->ops->stats(p, s);
}

struct rte_mempool *dp_port_pool(const struct dp_port *p, uint32_t len)
{
	if (p->big_mp &&
	    len + RTE_PKTMBUF_HEADROOM > rte_pktmbuf_data_room_size(p->mp))
		return p->big_mp;
	return p->mp;
}

struct rte_mbuf *dp_mbuf_copy(struct rte_mempool *mp, const void *buf,
			      uint32_t len)
{
	const uint8_t *from = buf;
	struct rte_mbuf *head = NULL;

	do {
		struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
		uint16_t n;

		if (!m)
			goto fail;
		n = (uint16_t)RTE_MIN(len, (uint32_t)rte_pktmbuf_tailroom(m));
		memcpy(rte_pktmbuf_append(m, n), from, n);
		if (!head) {
			head = m;
		} else if (rte_pktmbuf_chain(head, m) < 0) {
			rte_pktmbuf_free(m);
			goto fail;
		}
		from += n;
		len -= n;
	} while (len);
	return head;
fail:
	rte_pktmbuf_free(head);
	return NULL;
}
