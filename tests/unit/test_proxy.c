/* The L4 proxy over a private lwIP, fed hand-built client segments, with
 * a real upstream: a kernel listener on loopback in this process. The
 * proxy connects upstream first, then lets lwIP answer the held SYN;
 * what happens to the connection when the client then resets instead of
 * completing the handshake (a client that gave up on its connect); and
 * an intercepted connection that the service reads from, then gives
 * back (stk_proxy_pass): the bytes it held come first both ways, the
 * tunnel hook sees them, half-close crosses, and the end writes an
 * audit line with every byte counted. */
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
#include <jansson.h>

#include "conf/conf.h"
#include "apps/apps.h"
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

static uint16_t prx_cport = PRX_CLIENT_PORT;
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
			uint8_t flags, const char *data, struct dp_pkt_view *v)
{
	uint16_t n = tcp_seg_build(b, "10.77.0.1", prx_cport,
				   "127.0.0.1", prx_origin_port, seq, ack,
				   flags, data, data ? (uint16_t)strlen(data) : 0,
				   flags == 0x02);

	assert_int_equal(dp_parse(b, n, DP_LINK_RAW_IP, 0, v), 0);
	assert_true(v->flags & DP_PKT_F_L4_CSUM_OK);
	return n;
}

static void prx_feed_data(uint32_t seq, uint32_t ack, uint8_t flags,
			  const char *data)
{
	struct dp_pkt_view v;
	uint8_t b[256];
	uint16_t n = prx_seg(b, seq, ack, flags, data, &v);

	prx_loop.now_ns = stk_now_ns();
	stk_proxy_input(prx, 0, b, n, &v);
	stk_proxy_poll(prx);
	stk_loop_flush(&prx_loop);
}

static void prx_feed(uint32_t seq, uint32_t ack, uint8_t flags)
{
	prx_feed_data(seq, ack, flags, NULL);
}

/* One pass of the worker's loop: sockets' events, timers, writes. */
static void prx_loop_pass(int wait_ms)
{
	stk_lwip_unlock(prx_st);
	stk_loop_wait(&prx_loop, wait_ms);
	stk_lwip_lock(prx_st);
	prx_loop.now_ns = stk_now_ns();
	stk_loop_dispatch(&prx_loop);
	stk_proxy_poll(prx);
	stk_loop_flush(&prx_loop);
}

/* Run the worker's loop until the proxy has sent something: the
 * upstream connect on loopback completes within a few passes; the
 * bound only keeps a broken proxy from hanging the test. */
static void prx_run_until_output(void)
{
	for (int i = 0; i < 100 && !prx_n_out; i++)
		prx_loop_pass(50);
}

static uint32_t prx_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* What the hooks and the audit log saw. */
static struct {
	char bytes[2][64];
	size_t len[2];
	unsigned ends;
	struct strata_conn_end end;
	char reason[32];
} prx_hooks;
static char *prx_audit_line;

static void prx_tunnel_hook(void *app, const struct strata_conn_info *c,
			    void *conn_ctx, int dir, const uint8_t *data,
			    size_t len, struct strata_tunnel_control *ctl)
{
	size_t room = sizeof(prx_hooks.bytes[dir]) - prx_hooks.len[dir];

	(void)app; (void)c; (void)conn_ctx; (void)ctl;
	if (len > room)
		len = room;
	memcpy(prx_hooks.bytes[dir] + prx_hooks.len[dir], data, len);
	prx_hooks.len[dir] += len;
}

static void prx_end_hook(void *app, const struct strata_conn_info *c,
			 void *conn_ctx, const struct strata_conn_end *e)
{
	(void)app; (void)c; (void)conn_ctx;
	prx_hooks.ends++;
	prx_hooks.end = *e;
	snprintf(prx_hooks.reason, sizeof(prx_hooks.reason), "%s", e->reason);
}

static bool prx_on_audit(void *arg, char *line)
{
	(void)arg;
	free(prx_audit_line);
	prx_audit_line = line;
	return true;
}

static int prx_setup(void **state)
{
	static const struct strata_app app = {
		.name = "test",
		.tunnel = prx_tunnel_hook,
		.conn_end = prx_end_hook,
	};
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
	if (strata_app_register(&app) < 0)
		return -1;
	stk_lwip_lock(prx_st);
	prx_loop.now_ns = stk_now_ns();
	prx = stk_proxy_create(&prx_conf, &prx_loop, prx_st, 0, prx_on_output,
			       prx_on_audit, NULL);
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
	free(prx_audit_line);
	apps_reset();
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

/* ---- an intercepted connection given back -------------------------- */

static struct {
	struct stk_stream *client, *up;
	struct stk_conn *conn;
	unsigned calls;
} prx_lent;

static void prx_ignore(struct stk_stream *s, unsigned ev, void *arg)
{
	(void)s; (void)ev; (void)arg;
}

static void prx_on_accept(void *arg, struct stk_stream *client,
			  struct stk_stream *up,
			  const struct sockaddr_storage *used,
			  const struct strata_conn_info *info,
			  struct stk_conn *conn)
{
	(void)arg; (void)used; (void)info;
	prx_lent.calls++;
	prx_lent.client = client;
	prx_lent.up = up;
	prx_lent.conn = conn;
	stk_stream_set_cb(client, prx_ignore, NULL);
	stk_stream_set_cb(up, prx_ignore, NULL);
}

/* What lwIP sent the client since prx_n_out was cleared: payload bytes
 * appended to got, and whether a FIN came. */
static size_t prx_client_got(char *got, size_t cap, bool *fin)
{
	size_t len = 0;

	for (unsigned i = 0; i < prx_n_out; i++) {
		struct dp_pkt_view v;
		size_t n;

		assert_int_equal(dp_parse(prx_out[i], prx_out_len[i],
					  DP_LINK_RAW_IP, 0, &v), 0);
		n = prx_out_len[i] - v.payload_off;
		assert_true(len + n <= cap);
		memcpy(got + len, prx_out[i] + v.payload_off, n);
		len += n;
		if (v.tcp_flags & 0x01)
			*fin = true;
	}
	return len;
}

/* Read exactly want.len bytes from a kernel socket, running the loop
 * meanwhile (the proxy writes when its streams tell it to). */
static void prx_origin_expect(int fd, const char *want)
{
	size_t n = strlen(want), got = 0;
	char buf[64];

	for (int i = 0; i < 100 && got < n; i++) {
		ssize_t r = recv(fd, buf + got, n - got, MSG_DONTWAIT);

		if (r > 0)
			got += (size_t)r;
		else
			prx_loop_pass(10);
	}
	assert_int_equal(got, n);
	assert_memory_equal(buf, want, n);
}

/* A client on cport connects to the origin's port, intercepted: the
 * service gets the pair (prx_lent). Returns the origin's side of the
 * upstream connection; *sisn is lwIP's initial sequence number. */
static int prx_intercept_open(uint16_t cport, uint32_t isn, uint32_t *sisn)
{
	const struct stk_counters *ctr = stk_proxy_counters(prx);
	static bool listening;
	uint64_t active = ctr->active;
	struct dp_pkt_view v;
	int up;

	if (!listening)
		assert_int_equal(stk_proxy_listen(prx, prx_origin_port,
						  prx_origin_port, true,
						  prx_on_accept, NULL), 0);
	listening = true;
	memset(&prx_hooks, 0, sizeof(prx_hooks));
	memset(&prx_lent, 0, sizeof(prx_lent));
	prx_cport = cport;
	prx_n_out = 0;
	prx_feed(isn, 0, 0x02);
	prx_run_until_output();
	assert_int_equal(prx_n_out, 1);
	assert_int_equal(dp_parse(prx_out[0], prx_out_len[0], DP_LINK_RAW_IP,
				  0, &v), 0);
	assert_int_equal(v.tcp_flags, 0x12);
	*sisn = prx_rd32(prx_out[0] + v.l4_off + 4);
	/* the handshake completes: the service gets the pair, lent */
	prx_feed(isn + 1, *sisn + 1, 0x10);
	assert_int_equal(prx_lent.calls, 1);
	assert_non_null(prx_lent.conn);
	assert_int_equal(ctr->active, active); /* out of the table */
	up = accept(prx_origin, NULL, NULL);
	assert_true(up >= 0);
	return up;
}

static void test_intercept_passed_back(void **state)
{
	const struct stk_counters *ctr = stk_proxy_counters(prx);
	const uint32_t isn = 7000;
	uint64_t active = ctr->active, tcp_closed = ctr->closed[STK_CLOSE_DONE];
	uint64_t passed = ctr->passed_back;
	char got[64], held[8];
	uint32_t sisn;
	bool fin = false;
	json_t *j;
	size_t n;
	int up;

	(void)state;
	up = prx_intercept_open(PRX_CLIENT_PORT + 1, isn, &sisn);

	/* a server that speaks first, and a client that speaks anyway;
	 * the service reads a little of each, then gives the pair back */
	assert_int_equal(send(up, "220 hi\r\n", 8, 0), 8);
	prx_feed_data(isn + 1, sisn + 1, 0x18, "SSH-2.0-x\r\n");
	assert_int_equal(stk_read(prx_lent.client, held, 4), 4);
	assert_memory_equal(held, "SSH-", 4);
	for (int i = 0; i < 100; i++) {
		ssize_t r = stk_read(prx_lent.up, held + 4, 3);

		if (r == 3)
			break;
		assert_int_equal(r, -EAGAIN);
		prx_loop_pass(10);
	}
	assert_memory_equal(held + 4, "220", 3);
	prx_n_out = 0;
	stk_proxy_pass(prx_lent.conn, prx_lent.client, held, 4,
		       prx_lent.up, held + 4, 3);
	assert_int_equal(ctr->passed_back, passed + 1);
	assert_int_equal(ctr->active, active + 1); /* in the table again */

	/* each side gets the held bytes first, then the rest */
	prx_origin_expect(up, "SSH-2.0-x\r\n");
	for (int i = 0; i < 100 && prx_client_got(got, sizeof(got), &fin) < 8;
	     i++)
		prx_loop_pass(10);
	n = prx_client_got(got, sizeof(got), &fin);
	assert_int_equal(n, 8);
	assert_memory_equal(got, "220 hi\r\n", 8);
	assert_false(fin);

	/* half-close: the client's FIN reaches the origin, which still
	 * answers; then the origin's end ends the tunnel */
	prx_n_out = 0;
	prx_feed(isn + 1 + 11, sisn + 1 + 8, 0x11);
	for (int i = 0; i < 100; i++) {
		ssize_t r = recv(up, got, sizeof(got), MSG_DONTWAIT);

		if (r == 0)
			break;
		assert_true(r < 0);
		prx_loop_pass(10);
	}
	assert_int_equal(prx_hooks.ends, 0);
	assert_int_equal(send(up, "bye", 3, 0), 3);
	close(up);
	for (int i = 0; i < 100 && !prx_hooks.ends; i++)
		prx_loop_pass(10);
	n = prx_client_got(got, sizeof(got), &fin);
	assert_int_equal(n, 3);
	assert_memory_equal(got, "bye", 3);
	assert_true(fin);

	/* the hook saw every byte, held ones first; one end, one line */
	assert_int_equal(prx_hooks.len[STK_DIR_UP], 11);
	assert_memory_equal(prx_hooks.bytes[STK_DIR_UP], "SSH-2.0-x\r\n", 11);
	assert_int_equal(prx_hooks.len[STK_DIR_DOWN], 11);
	assert_memory_equal(prx_hooks.bytes[STK_DIR_DOWN], "220 hi\r\nbye",
			    11);
	assert_int_equal(prx_hooks.ends, 1);
	assert_string_equal(prx_hooks.reason, "done");
	assert_int_equal(prx_hooks.end.bytes_up, 11);
	assert_int_equal(prx_hooks.end.bytes_down, 11);
	assert_int_equal(ctr->closed[STK_CLOSE_DONE], tcp_closed + 1);
	assert_int_equal(ctr->active, active);
	assert_non_null(prx_audit_line);
	j = json_loads(prx_audit_line, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "bytes_up")), 11);
	assert_int_equal(json_integer_value(json_object_get(j, "bytes_down")),
			 11);
	assert_string_equal(json_string_value(json_object_get(j, "close")),
			    "done");
	assert_int_equal(json_integer_value(json_object_get(j, "client_port")),
			 PRX_CLIENT_PORT + 1);
	json_decref(j);
}

/* The client said all it had (bytes, then FIN) before the service gave
 * the pair back: the origin gets the held bytes, the rest, then the
 * end, and may still answer. */
static void test_intercept_passed_after_fin(void **state)
{
	const struct stk_counters *ctr = stk_proxy_counters(prx);
	const uint32_t isn = 9000;
	uint64_t active = ctr->active;
	char got[16], held[2];
	uint32_t sisn;
	bool fin = false;
	json_t *j;
	int up;

	(void)state;
	up = prx_intercept_open(PRX_CLIENT_PORT + 2, isn, &sisn);
	prx_feed_data(isn + 1, sisn + 1, 0x19, "abc"); /* FIN PSH ACK */
	assert_int_equal(stk_read(prx_lent.client, held, 2), 2);
	prx_n_out = 0;
	stk_proxy_pass(prx_lent.conn, prx_lent.client, held, 2, prx_lent.up,
		       NULL, 0);
	prx_origin_expect(up, "abc");
	for (int i = 0; i < 100; i++) {
		ssize_t r = recv(up, got, sizeof(got), MSG_DONTWAIT);

		if (r == 0)
			break;
		assert_true(r < 0);
		prx_loop_pass(10);
	}
	assert_int_equal(send(up, "ok", 2, 0), 2);
	close(up);
	for (int i = 0; i < 100 && !prx_hooks.ends; i++)
		prx_loop_pass(10);
	assert_int_equal(prx_client_got(got, sizeof(got), &fin), 2);
	assert_memory_equal(got, "ok", 2);
	assert_true(fin);
	assert_int_equal(prx_hooks.ends, 1);
	assert_int_equal(prx_hooks.len[STK_DIR_UP], 3);
	assert_memory_equal(prx_hooks.bytes[STK_DIR_UP], "abc", 3);
	assert_int_equal(ctr->active, active);
	j = json_loads(prx_audit_line, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "client_port")),
			 PRX_CLIENT_PORT + 2);
	assert_int_equal(json_integer_value(json_object_get(j, "bytes_up")), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "bytes_down")),
			 2);
	assert_string_equal(json_string_value(json_object_get(j, "close")),
			    "done");
	json_decref(j);
}

/* A connection the service served itself is released: no tunnel, but
 * the end of any proxied connection (one conn_end call, one audit line,
 * reason http_service, the bytes read from and written to the client
 * stream it was lent), and nothing left in the proxy. */
static void test_intercept_released(void **state)
{
	const struct stk_counters *ctr = stk_proxy_counters(prx);
	uint64_t active = ctr->active, lines = ctr->audit_lines,
		 closed = ctr->closed[STK_CLOSE_HTTP_SERVICE];
	static const char req[] = "GET / HTTP/1.1\r\n\r\n";
	static const char resp[] = "HTTP/1.1 204 No Content\r\n\r\n";
	char got[64], byte;
	bool fin = false;
	uint32_t sisn;
	json_t *j;
	int up;

	(void)state;
	up = prx_intercept_open(PRX_CLIENT_PORT + 3, 11000, &sisn);
	free(prx_audit_line);
	prx_audit_line = NULL;

	/* the service reads the request in two parts, answers, and is
	 * done; what it reads and writes is what the line counts */
	prx_feed_data(11001, sisn + 1, 0x18, req);
	assert_int_equal(stk_read(prx_lent.client, got, 5), 5);
	assert_int_equal(stk_read(prx_lent.client, got + 5, sizeof(got) - 5),
			 strlen(req) - 5);
	assert_memory_equal(got, req, strlen(req));
	assert_int_equal(stk_read(prx_lent.client, got, sizeof(got)),
			 -EAGAIN);
	prx_n_out = 0;
	assert_int_equal(stk_write(prx_lent.client, resp, strlen(resp)),
			 strlen(resp));
	for (int i = 0; i < 100 &&
	     prx_client_got(got, sizeof(got), &fin) < strlen(resp); i++)
		prx_loop_pass(10);
	assert_int_equal(prx_client_got(got, sizeof(got), &fin),
			 strlen(resp));
	stk_proxy_release(prx_lent.conn);
	assert_int_equal(prx_hooks.ends, 1);
	assert_string_equal(prx_hooks.reason, "http_service");
	assert_int_equal(prx_hooks.end.bytes_up, strlen(req));
	assert_int_equal(prx_hooks.end.bytes_down, strlen(resp));
	assert_int_equal(ctr->audit_lines, lines + 1);
	assert_int_equal(ctr->closed[STK_CLOSE_HTTP_SERVICE], closed + 1);
	assert_non_null(prx_audit_line);
	j = json_loads(prx_audit_line, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "close")),
			    "http_service");
	assert_int_equal(json_integer_value(json_object_get(j, "client_port")),
			 PRX_CLIENT_PORT + 3);
	assert_int_equal(json_integer_value(json_object_get(j, "bytes_up")),
			 strlen(req));
	assert_int_equal(json_integer_value(json_object_get(j, "bytes_down")),
			 strlen(resp));
	json_decref(j);
	/* the stream outlives the release: closing it frees it once */
	stk_close(prx_lent.client);
	stk_close(prx_lent.up);
	for (int i = 0; i < 100; i++) {
		ssize_t r = recv(up, &byte, 1, MSG_DONTWAIT);

		if (r == 0)
			break;
		assert_true(r < 0);
		prx_loop_pass(10);
	}
	close(up);
	assert_int_equal(ctr->active, active);
	assert_int_equal(ctr->audit_lines, lines + 1);
	assert_int_equal(prx_hooks.ends, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_during_handshake),
		cmocka_unit_test(test_intercept_passed_back),
		cmocka_unit_test(test_intercept_passed_after_fin),
		cmocka_unit_test(test_intercept_released),
	};

	return cmocka_run_group_tests(tests, prx_setup, prx_teardown);
}
