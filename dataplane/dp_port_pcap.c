/* pcap file port for `strata pcap`: reads a capture, writes what strata
 * transmits to another. Link types: Ethernet as is; raw IP (DLT_RAW,
 * LINKTYPE_IPV4/IPV6), BSD loopback (DLT_NULL/DLT_LOOP) and Linux cooked
 * (SLL, SLL2) carrying IP become raw IP. Records that cannot be
 * delivered (other link types, non-IP cooked frames, larger than an
 * mbuf) are counted as skipped, never silently lost. */
#include "dp_port.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>
#include <rte_mbuf.h>

#include "conf/conf.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

struct dp_pcap {
	pcap_t *in;
	pcap_t *dead;
	pcap_dumper_t *out;
	int dlt;
	bool eof;
	uint64_t now_ns;
	uint64_t skipped;
	struct dp_port_stats st;
};

/* Bytes to strip before the IP header, or -1 when the record is not IP
 * on a raw-IP style link. */
static int dp_pcap_strip(int dlt, const uint8_t *d, uint32_t len)
{
	uint16_t proto;

	switch (dlt) {
	case DLT_RAW: /* 12 or 14 by platform */
	case 101: /* LINKTYPE_RAW as stored in files */
	case 228: /* LINKTYPE_IPV4 */
	case 229: /* LINKTYPE_IPV6 */
		return 0;
	case DLT_NULL:
	case DLT_LOOP:
		return len >= 4 ? 4 : -1;
	case DLT_LINUX_SLL:
		if (len < 16)
			return -1;
		proto = (uint16_t)(d[14] << 8 | d[15]);
		return proto == 0x0800 || proto == 0x86dd ? 16 : -1;
	case DLT_LINUX_SLL2:
		if (len < 20)
			return -1;
		proto = (uint16_t)(d[0] << 8 | d[1]);
		return proto == 0x0800 || proto == 0x86dd ? 20 : -1;
	default:
		return -1;
	}
}

static uint16_t dp_pcap_rx(struct dp_port *p, uint16_t q,
			   struct rte_mbuf **pkts, uint16_t n)
{
	struct dp_pcap *pc = p->priv;
	uint32_t room = rte_pktmbuf_data_room_size(p->mp) - RTE_PKTMBUF_HEADROOM;
	uint16_t got = 0;

	while (got < n && !pc->eof) {
		struct pcap_pkthdr *h;
		const u_char *d;
		int rc = pcap_next_ex(pc->in, &h, &d);
		int strip = 0;
		uint32_t len;
		struct rte_mbuf *m;

		if (rc != 1) {
			pc->eof = true;
			break;
		}
		pc->now_ns = (uint64_t)h->ts.tv_sec * 1000000000ull +
			     (uint64_t)h->ts.tv_usec * 1000ull;
		if (p->link == DP_LINK_RAW_IP)
			strip = dp_pcap_strip(pc->dlt, d, h->caplen);
		if (strip < 0 || h->caplen - (uint32_t)strip > room) {
			pc->skipped++;
			continue;
		}
		len = h->caplen - (uint32_t)strip;
		m = rte_pktmbuf_alloc(p->mp);
		if (!m) {
			pc->st.rx_nombuf++;
			pc->skipped++;
			continue;
		}
		memcpy(rte_pktmbuf_append(m, (uint16_t)len), d + strip, len);
		m->port = p->id;
		pc->st.rx_pkts++;
		pc->st.rx_bytes += len;
		pkts[got++] = m;
	}
	return got;
}

static uint16_t dp_pcap_tx(struct dp_port *p, uint16_t q,
			   struct rte_mbuf **pkts, uint16_t n)
{
	struct dp_pcap *pc = p->priv;
	uint16_t i;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct pcap_pkthdr h;
		uint8_t buf[65536];
		const uint8_t *d;
		uint32_t len = rte_pktmbuf_pkt_len(m);

		if (pc->out) {
			d = rte_pktmbuf_read(m, 0, len > sizeof(buf) ? sizeof(buf) : len, buf);
			h.ts.tv_sec = (time_t)(pc->now_ns / 1000000000ull);
			h.ts.tv_usec = (suseconds_t)(pc->now_ns % 1000000000ull / 1000);
			h.caplen = h.len = len;
			pcap_dump((u_char *)pc->out, &h, d);
		}
		pc->st.tx_pkts++;
		pc->st.tx_bytes += len;
		rte_pktmbuf_free(m);
	}
	return n;
}

static void dp_pcap_close(struct dp_port *p)
{
	struct dp_pcap *pc = p->priv;

	if (!pc)
		return;
	if (pc->out)
		pcap_dump_close(pc->out);
	if (pc->dead)
		pcap_close(pc->dead);
	if (pc->in)
		pcap_close(pc->in);
	free(pc);
}

static void dp_pcap_stats(const struct dp_port *p, struct dp_port_stats *s)
{
	const struct dp_pcap *pc = p->priv;

	*s = pc->st;
	s->rx_errors = pc->skipped;
}

static const struct dp_port_ops dp_pcap_ops = {
	.kind = "pcap",
	.rx_burst = dp_pcap_rx,
	.tx_burst = dp_pcap_tx,
	.close = dp_pcap_close,
	.stats = dp_pcap_stats,
};

struct dp_port *dp_port_pcap_open(const struct conf_port *c, struct dp_port *p,
				  char *err, size_t errlen)
{
	static const uint8_t default_mac[6] = { 0x02, 0x53, 0x54, 0x52, 0, 1 };
	char perr[PCAP_ERRBUF_SIZE];
	struct dp_pcap *pc;

	pc = calloc(1, sizeof(*pc));
	if (!pc) {
		snprintf(err, errlen, "port %s: out of memory", c->name);
		return NULL;
	}
	p->priv = pc;
	p->ops = &dp_pcap_ops;
	p->n_rxq = p->n_txq = 1;
	memcpy(p->mac, c->mac_set ? c->mac : default_mac, 6);
	pc->in = pcap_open_offline(c->pcap_in, perr);
	if (!pc->in) {
		snprintf(err, errlen, "port %s: cannot read %s: %s", c->name,
			 c->pcap_in, perr);
		goto fail;
	}
	pc->dlt = pcap_datalink(pc->in);
	p->link = pc->dlt == DLT_EN10MB ? DP_LINK_ETH : DP_LINK_RAW_IP;
	if (c->pcap_out[0]) {
		pc->dead = pcap_open_dead(p->link == DP_LINK_ETH ? DLT_EN10MB : DLT_RAW,
					  65535);
		pc->out = pc->dead ? pcap_dump_open(pc->dead, c->pcap_out) : NULL;
		if (!pc->out) {
			snprintf(err, errlen, "port %s: cannot write %s: %s", c->name,
				 c->pcap_out, pc->dead ? pcap_geterr(pc->dead) : "pcap");
			goto fail;
		}
	}
	return p;
fail:
	dp_pcap_close(p);
	p->priv = NULL;
	return NULL;
}

uint64_t dp_port_pcap_now_ns(const struct dp_port *p)
{
	return p->ops == &dp_pcap_ops ? ((struct dp_pcap *)p->priv)->now_ns : 0;
}

bool dp_port_pcap_eof(const struct dp_port *p)
{
	return p->ops != &dp_pcap_ops || ((struct dp_pcap *)p->priv)->eof;
}

uint64_t dp_port_pcap_rx_skipped(const struct dp_port *p)
{
	return p->ops == &dp_pcap_ops ? ((struct dp_pcap *)p->priv)->skipped : 0;
}
