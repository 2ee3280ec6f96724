/* Unit tests for the port layer (dataplane/dp_port*.c): burst rx/tx over
 * the pcap backend and over DPDK virtual devices (net_ring, a loopback:
 * what a tx queue takes, the rx queue of the same number gives back;
 * net_null, a source and a sink), and the errors a bad config gets.
 *
 * EAL runs without hugepages or PCI, as in CI; it is set up once for
 * the whole file (EAL cannot be initialised twice in a process). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "conf/conf.h"
#include "dataplane/dp_port.h"

static struct rte_mempool *test_mp;
static char test_dir[] = "/tmp/strata-test-port.XXXXXX";

/* A 60-byte Ethernet frame whose bytes say which one it is. */
static void test_frame(uint8_t *f, uint8_t tag)
{
	for (unsigned i = 0; i < 60; i++)
		f[i] = (uint8_t)(tag + i);
	f[12] = 0x08; /* IPv4 ethertype; the port does not parse it */
	f[13] = 0x00;
}

/* Write n records of the given lengths (record i: bytes i*16, i*16+1,
 * ...) with timestamps 1 s, 2 s, ... to path, link type dlt. */
static void test_write_pcap(const char *path, int dlt, const uint32_t *lens,
			    unsigned n)
{
	pcap_t *dead = pcap_open_dead(dlt, 65535);
	pcap_dumper_t *d;
	static uint8_t buf[4096];

	assert_non_null(dead);
	d = pcap_dump_open(dead, path);
	assert_non_null(d);
	for (unsigned i = 0; i < n; i++) {
		struct pcap_pkthdr h = { .caplen = lens[i], .len = lens[i] };

		assert_true(lens[i] <= sizeof(buf));
		h.ts.tv_sec = (time_t)(i + 1);
		for (uint32_t k = 0; k < lens[i]; k++)
			buf[k] = (uint8_t)(i * 16 + k);
		pcap_dump((u_char *)d, &h, buf);
	}
	pcap_dump_close(d);
	pcap_close(dead);
}

static void test_conf_pcap(struct conf_port *c, const char *in,
			   const char *out)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "p0");
	c->kind = CONF_PORT_PCAP;
	c->mtu = 1500;
	snprintf(c->pcap_in, sizeof(c->pcap_in), "%s", in);
	snprintf(c->pcap_out, sizeof(c->pcap_out), "%s", out);
}

static void test_conf_dpdk(struct conf_port *c, const char *devargs)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "d0");
	c->kind = CONF_PORT_DPDK;
	c->mtu = 1500;
	c->rx_desc = 256;
	c->tx_desc = 256;
	snprintf(c->devargs, sizeof(c->devargs), "%s", devargs);
}

static struct rte_mbuf *test_mbuf(uint8_t tag)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(test_mp);
	uint8_t *d;

	assert_non_null(m);
	d = (uint8_t *)rte_pktmbuf_append(m, 60);
	assert_non_null(d);
	test_frame(d, tag);
	return m;
}

static int test_setup(void **state)
{
	char *argv[] = { "test_port", "--no-huge", "-m", "128", "--no-pci",
			 "--no-shconf", "--log-level=lib.*:error",
			 "--vdev", "net_ring0", "--vdev", "net_null0", NULL };
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1;

	(void)state;
	if (!mkdtemp(test_dir))
		return -1;
	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "test_port: EAL init failed\n");
		return -1;
	}
	test_mp = rte_pktmbuf_pool_create("test_port", 2047, 0, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE,
					  SOCKET_ID_ANY);
	return test_mp ? 0 : -1;
}

static int test_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_port: could not remove %s\n", test_dir);
	rte_mempool_free(test_mp);
	rte_eal_cleanup();
	return 0;
}

/* ---- pcap backend ---- */

static void test_pcap_rx_tx(void **state)
{
	const uint32_t lens[3] = { 60, 64, 1514 };
	char in[256], out[256], err[256] = "";
	struct rte_mbuf *pkts[8];
	struct conf_port c;
	struct dp_port *p;
	struct dp_port_stats st;
	uint16_t n;

	(void)state;
	snprintf(in, sizeof(in), "%s/eth.pcap", test_dir);
	snprintf(out, sizeof(out), "%s/eth-out.pcap", test_dir);
	test_write_pcap(in, DLT_EN10MB, lens, 3);
	test_conf_pcap(&c, in, out);

	p = dp_port_open(&c, 5, test_mp, NULL, 1, err, sizeof(err));
	assert_non_null(p);
	assert_string_equal(p->ops->kind, "pcap");
	assert_int_equal(p->link, DP_LINK_ETH);
	assert_int_equal(p->n_rxq, 1);
	assert_int_equal(p->id, 5);

	/* a burst smaller than the file, then the rest */
	n = dp_port_rx_burst(p, 0, pkts, 2);
	assert_int_equal(n, 2);
	assert_false(dp_port_pcap_eof(p));
	assert_int_equal(dp_port_pcap_now_ns(p), 2000000000ull);
	n += dp_port_rx_burst(p, 0, pkts + 2, 6);
	assert_int_equal(n, 3);
	for (unsigned i = 0; i < 3; i++) {
		const uint8_t *d = rte_pktmbuf_mtod(pkts[i], const uint8_t *);

		assert_int_equal(rte_pktmbuf_pkt_len(pkts[i]), lens[i]);
		assert_int_equal(pkts[i]->port, 5);
		assert_int_equal(d[0], (uint8_t)(i * 16));
		assert_int_equal(d[lens[i] - 1], (uint8_t)(i * 16 + lens[i] - 1));
	}
	assert_int_equal(dp_port_rx_burst(p, 0, pkts + 3, 4), 0);
	assert_true(dp_port_pcap_eof(p));
	assert_int_equal(dp_port_pcap_rx_skipped(p), 0);

	/* send two back: the port owns (and frees) what it took */
	assert_int_equal(dp_port_tx_burst(p, 0, pkts, 2), 2);
	rte_pktmbuf_free(pkts[2]);
	dp_port_stats(p, &st);
	assert_int_equal(st.rx_pkts, 3);
	assert_int_equal(st.rx_bytes, 60 + 64 + 1514);
	assert_int_equal(st.tx_pkts, 2);
	assert_int_equal(st.tx_bytes, 60 + 64);
	dp_port_close(p);

	/* the output holds them, Ethernet, stamped with the last rx time */
	char perr[PCAP_ERRBUF_SIZE];
	pcap_t *rd = pcap_open_offline(out, perr);
	struct pcap_pkthdr *h;
	const u_char *d;

	assert_non_null(rd);
	assert_int_equal(pcap_datalink(rd), DLT_EN10MB);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(pcap_next_ex(rd, &h, &d), 1);
		assert_int_equal(h->caplen, lens[i]);
		assert_int_equal(h->ts.tv_sec, 3);
		assert_int_equal(d[1], (uint8_t)(i * 16 + 1));
	}
	assert_int_not_equal(pcap_next_ex(rd, &h, &d), 1);
	pcap_close(rd);
	assert_int_equal(rte_mempool_in_use_count(test_mp), 0);
}

/* Raw IP captures become a raw-IP port; cooked captures lose their
 * header; records that are not IP, or too big for an mbuf, are counted
 * as skipped and never delivered. */
static void test_pcap_link_types(void **state)
{
	char in[256], err[256] = "";
	struct rte_mbuf *pkts[8];
	struct conf_port c;
	struct dp_port *p;
	struct dp_port_stats st;
	const uint32_t raw_lens[2] = { 40, 3000 };
	uint16_t n;

	(void)state;
	snprintf(in, sizeof(in), "%s/raw.pcap", test_dir);
	test_write_pcap(in, DLT_RAW, raw_lens, 2);
	test_conf_pcap(&c, in, "");
	p = dp_port_open(&c, 0, test_mp, NULL, 1, err, sizeof(err));
	assert_non_null(p);
	assert_int_equal(p->link, DP_LINK_RAW_IP);
	n = dp_port_rx_burst(p, 0, pkts, 8);
	assert_int_equal(n, 1);
	assert_int_equal(rte_pktmbuf_pkt_len(pkts[0]), 40);
	assert_int_equal(dp_port_pcap_rx_skipped(p), 1); /* 3000 > mbuf */
	dp_port_stats(p, &st);
	assert_int_equal(st.rx_errors, 1);
	/* no output file configured: tx still takes and counts */
	assert_int_equal(dp_port_tx_burst(p, 0, pkts, 1), 1);
	dp_port_close(p);

	/* Linux cooked (SLL), whose bytes 14-15 name the protocol: an
	 * IPv4 record loses its 16-byte header, an ARP one is skipped. */
	pcap_t *dead = pcap_open_dead(DLT_LINUX_SLL, 65535);
	pcap_dumper_t *d = pcap_dump_open(dead, in);
	uint8_t rec[16 + 20] = { [14] = 0x08, [15] = 0x00, [16] = 0x45 };
	uint8_t arp[16 + 28] = { [14] = 0x08, [15] = 0x06 };
	struct pcap_pkthdr h = { .caplen = sizeof(rec), .len = sizeof(rec) };

	pcap_dump((u_char *)d, &h, rec);
	h.caplen = h.len = sizeof(arp);
	pcap_dump((u_char *)d, &h, arp);
	pcap_dump_close(d);
	pcap_close(dead);
	p = dp_port_open(&c, 0, test_mp, NULL, 1, err, sizeof(err));
	assert_non_null(p);
	assert_int_equal(p->link, DP_LINK_RAW_IP);
	n = dp_port_rx_burst(p, 0, pkts, 8);
	assert_int_equal(n, 1);
	assert_int_equal(rte_pktmbuf_pkt_len(pkts[0]), 20);
	assert_int_equal(rte_pktmbuf_mtod(pkts[0], uint8_t *)[0], 0x45);
	assert_int_equal(dp_port_pcap_rx_skipped(p), 1); /* the ARP one */
	rte_pktmbuf_free(pkts[0]);
	dp_port_close(p);
	assert_int_equal(rte_mempool_in_use_count(test_mp), 0);
}

static void test_pcap_errors(void **state)
{
	char in[256], out[256], bad[256], err[256] = "";
	const uint32_t len = 60;
	struct conf_port c;
	FILE *f;

	(void)state;
	/* missing input */
	snprintf(in, sizeof(in), "%s/no-such.pcap", test_dir);
	test_conf_pcap(&c, in, "");
	assert_null(dp_port_open(&c, 0, test_mp, NULL, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "port p0: cannot read"));
	assert_non_null(strstr(err, "no-such.pcap"));

	/* not a capture at all */
	snprintf(bad, sizeof(bad), "%s/not.pcap", test_dir);
	f = fopen(bad, "w");
	assert_non_null(f);
	fputs("this is not a pcap file, just text\n", f);
	fclose(f);
	test_conf_pcap(&c, bad, "");
	err[0] = '\0';
	assert_null(dp_port_open(&c, 0, test_mp, NULL, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot read"));
	assert_non_null(strstr(err, "not.pcap"));

	/* unwritable output */
	snprintf(in, sizeof(in), "%s/one.pcap", test_dir);
	test_write_pcap(in, DLT_EN10MB, &len, 1);
	snprintf(out, sizeof(out), "%s/no-such-dir/out.pcap", test_dir);
	test_conf_pcap(&c, in, out);
	err[0] = '\0';
	assert_null(dp_port_open(&c, 0, test_mp, NULL, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot write"));
	assert_non_null(strstr(err, "no-such-dir/out.pcap"));
}

/* ---- DPDK vdevs ---- */

static void test_dpdk_ring_loopback(void **state)
{
	struct rte_mbuf *tx[3], *rx[8];
	char err[256] = "";
	struct conf_port c;
	struct dp_port *p;
	struct dp_port_stats st;
	uint16_t n;

	(void)state;
	test_conf_dpdk(&c, "net_ring0");
	c.mac_set = true;
	memcpy(c.mac, (uint8_t[6]){ 0x02, 0, 0, 0, 0, 0x42 }, 6);
	p = dp_port_open(&c, 2, test_mp, NULL, 2, err, sizeof(err));
	assert_non_null(p);
	assert_string_equal(p->ops->kind, "dpdk");
	assert_int_equal(p->link, DP_LINK_ETH);
	assert_int_equal(p->n_rxq, 2);
	assert_int_equal(p->n_txq, 2);
	assert_false(p->hw_rss); /* net_ring offers no RSS */
	assert_memory_equal(p->mac, c.mac, 6);
	assert_null(p->ops->rx_wait_fd); /* poll only */

	/* queue 1 carries its own packets; queue 0 stays empty */
	for (unsigned i = 0; i < 3; i++)
		tx[i] = test_mbuf((uint8_t)(10 * i));
	assert_int_equal(dp_port_tx_burst(p, 1, tx, 3), 3);
	assert_int_equal(dp_port_rx_burst(p, 0, rx, 8), 0);
	n = dp_port_rx_burst(p, 1, rx, 8);
	assert_int_equal(n, 3);
	for (unsigned i = 0; i < 3; i++) {
		const uint8_t *d = rte_pktmbuf_mtod(rx[i], const uint8_t *);

		assert_int_equal(rx[i]->port, 2); /* the strata port id */
		assert_int_equal(rte_pktmbuf_pkt_len(rx[i]), 60);
		assert_int_equal(d[0], (uint8_t)(10 * i));
		assert_int_equal(d[59], (uint8_t)(10 * i + 59));
	}
	rte_pktmbuf_free_bulk(rx, n);
	dp_port_stats(p, &st);
	assert_int_equal(st.rx_pkts, 3);
	assert_int_equal(st.tx_pkts, 3);
	dp_port_close(p);
	assert_int_equal(rte_mempool_in_use_count(test_mp), 0);
}

static void test_dpdk_null(void **state)
{
	struct rte_mbuf *pkts[32];
	char err[256] = "";
	struct conf_port c;
	struct dp_port *p;
	uint16_t n;

	(void)state;
	test_conf_dpdk(&c, "net_null0");
	c.rx_queues = 1; /* config caps the queues below the lcores' 2 */
	p = dp_port_open(&c, 0, test_mp, NULL, 2, err, sizeof(err));
	assert_non_null(p);
	assert_int_equal(p->n_rxq, 1);
	/* a source: full bursts of 64-byte packets, tagged with our id */
	n = dp_port_rx_burst(p, 0, pkts, 32);
	assert_int_equal(n, 32);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(pkts[i]->port, 0);
		assert_int_equal(rte_pktmbuf_pkt_len(pkts[i]), 64);
	}
	/* a sink: takes the whole burst */
	assert_int_equal(dp_port_tx_burst(p, 0, pkts, n), n);
	dp_port_close(p);
	assert_int_equal(rte_mempool_in_use_count(test_mp), 0);
}

static void test_dpdk_errors(void **state)
{
	char err[256] = "";
	struct conf_port c;

	(void)state;
	/* a device EAL was not given */
	test_conf_dpdk(&c, "net_ring7,nodeaction=r1:0:CREATE");
	assert_null(dp_port_open(&c, 0, test_mp, NULL, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "port d0: no DPDK device 'net_ring7'"));

	/* a PCI address that is not there (EAL runs with --no-pci) */
	test_conf_dpdk(&c, "0000:00:1f.6");
	err[0] = '\0';
	assert_null(dp_port_open(&c, 0, test_mp, NULL, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "no DPDK device '0000:00:1f.6'"));

	/* empty devargs */
	test_conf_dpdk(&c, "");
	err[0] = '\0';
	assert_null(dp_port_open(&c, 0, test_mp, NULL, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "no DPDK device ''"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcap_rx_tx),
		cmocka_unit_test(test_pcap_link_types),
		cmocka_unit_test(test_pcap_errors),
		cmocka_unit_test(test_dpdk_ring_loopback),
		cmocka_unit_test(test_dpdk_null),
		cmocka_unit_test(test_dpdk_errors),
	};

	return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
