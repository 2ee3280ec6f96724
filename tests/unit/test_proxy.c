/* The L4 proxy over a private lwIP, fed hand-built client segments, with
 * a real upstream: a kernel listener on loopback in this process. The
 * proxy connects upstream first, then lets lwIP answer the held SYN;
 * what happens to the connection when the client then resets instead of
 * completing the handshake (a client that gave up on its connect). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "dataplane/dp_parse.h"
#include "stack/stk_loop.h"
#include "stack/stk_lwip.h"
#include "stack/stk_proxy.h"
#include "tcp_seg.h"

#define PRX_MAX_OUT 16
#define PRX_CLIENT_PORT 40000
#define PRX_CLIENT_ISN 1000u

static const char prx_yaml[] =
	"ports:\n"
	"  - name: t0\n"
	"    kind: tun\n"
	"    addresses: [10.77.0.2/24]\n"
	"    tun: {kernel_addresses: [10.77.0.1/24], routes: [10.99.0.0/25]}\n"
	"egress: {interface: \"\"}\n";

static struct conf prx_conf;
static struct stk_loop prx_loop;
static struct stk_lwip *prx_st;
static struct stk_proxy *prx;
static int prx_origin = -1;
static uint16_t prx_origin_port;

static uint8_t prx_out[PRX_MAX_OUT][2048];
static uint16_t prx_out_len[PRX_MAX_OUT];
static unsigned prx_n_out;

static void prx_on_output(void *arg, uint16_t port, const uint8_t *pkt,
			  uint16_t len)
{
	(void)arg;
	(void)port;
	if (prx_n_out < PRX_MAX_OUT && len <= sizeof(prx_out[0])) {
		memcpy(prx_out[prx_n_out], pkt, len);
		prx_out_len[prx_n_out++] = len;
	}
}

/* Client 10.77.0.1:PRX_CLIENT_PORT to the origin on 127.0.0.1; parsed
 * into *v as the worker would. */
static uint16_t prx_seg(uint8_t *b, uint32_t seq, uint32_t ack,
			uint8_t flags, struct dp_pkt_view *v)
{
	uint16_t n = tcp_seg_build(b, "10.77.0.1", PRX_CLIENT_PORT,
				   "127.0.0.1", prx_origin_port, seq, ack,
				   flags, NULL, 0, flags == 0x02);

	assert_int_equal(dp_parse(b, n, DP_LINK_RAW_IP, 0, v), 0);
	assert_true(v->flags & DP_PKT_F_L4_CSUM_OK);
	return n;
}

static void prx_feed(uint32_t seq, uint32_t ack, uint8_t flags)
{
	struct dp_pkt_view v;
	uint8_t b[64];
	uint16_t n = prx_seg(b, seq, ack, flags, &v);

	prx_loop.now_ns = stk_now_ns();
	stk_proxy_input(prx, 0, b, n, &v);
	stk_proxy_poll(prx);
	stk_loop_flush(&prx_loop);
}

/* Run the worker's loop until the proxy has sent something: the
 * upstream connect on loopback completes within a few passes; the
 * bound only keeps a broken proxy from hanging the test. */
static void prx_run_until_output(void)
{
	for (int i = 0; i < 100 && !prx_n_out; i++) {
		stk_lwip_unlock(prx_st);
		stk_loop_wait(&prx_loop, 50);
		stk_lwip_lock(prx_st);
		prx_loop.now_ns = stk_now_ns();
		stk_loop_dispatch(&prx_loop);
		stk_proxy_poll(prx);
		stk_loop_flush(&prx_loop);
	}
}

static uint32_t prx_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int prx_setup(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	char err[256];

	(void)state;
	if (conf_load_string(&prx_conf, prx_yaml, sizeof(prx_yaml) - 1,
			     "test_proxy", stderr) < 0)
		return -1;
	prx_origin = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (prx_origin < 0 || bind(prx_origin, (void *)&a, sizeof(a)) < 0 ||
	    listen(prx_origin, 16) < 0 ||
	    getsockname(prx_origin, (void *)&a, &alen) < 0)
		return -1;
	prx_origin_port = ntohs(a.sin_port);
	if (stk_loop_init(&prx_loop) < 0)
		return -1;
	prx_st = stk_lwip_load(err, sizeof(err));
	if (!prx_st) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	stk_lwip_lock(prx_st);
	prx_loop.now_ns = stk_now_ns();
	prx = stk_proxy_create(&prx_conf, &prx_loop, prx_st, 0, prx_on_output,
			       NULL, NULL);
	return prx ? 0 : -1;
}

static int prx_teardown(void **state)
{
	(void)state;
	if (prx)
		stk_proxy_destroy(prx);
	if (prx_st) {
		stk_lwip_unlock(prx_st);
		stk_lwip_unload(prx_st);
	}
	stk_loop_fini(&prx_loop);
	if (prx_origin >= 0)
		close(prx_origin);
	conf_free(&prx_conf);
	return 0;
}

/* The client's RST to the SYN-ACK kills lwIP's handshaking pcb; the
 * proxy must end the connection and close its upstream then, not hold
 * them until the handshake deadline. */
static void test_reset_during_handshake(void **state)
{
	const struct stk_counters *ctr = stk_proxy_counters(prx);
	struct dp_pkt_view v;
	const uint8_t *t;
	char byte;
	int up;

	(void)state;
	prx_n_out = 0;
	prx_feed(PRX_CLIENT_ISN, 0, 0x02);
	assert_int_equal(ctr->tcp_conns, 1);
	assert_int_equal(prx_n_out, 0); /* SYN held while connecting */
	prx_run_until_output();
	assert_int_equal(prx_n_out, 1);
	assert_int_equal(dp_parse(prx_out[0], prx_out_len[0], DP_LINK_RAW_IP,
				  0, &v), 0);
	t = prx_out[0] + v.l4_off;
	assert_int_equal(v.tcp_flags, 0x12);
	assert_int_equal(prx_rd32(t + 8), PRX_CLIENT_ISN + 1);
	assert_int_equal(ctr->active, 1);

	/* what Linux sends for a SYN-ACK to a socket closed in SYN_SENT */
	prx_feed(PRX_CLIENT_ISN + 1, 0, 0x04);
	assert_int_equal(ctr->active, 0);
	assert_int_equal(ctr->handshake_reset, 1);
	assert_int_equal(ctr->handshake_timeout, 0);
	/* and the origin saw its connection closed */
	up = accept(prx_origin, NULL, NULL);
	assert_true(up >= 0);
	assert_int_equal(recv(up, &byte, 1, MSG_DONTWAIT), 0);
	close(up);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_during_handshake),
	};

	return cmocka_run_group_tests(tests, prx_setup, prx_teardown);
}
