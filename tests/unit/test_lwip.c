/* lwIP, loaded the way workers load it, fed hand-built segments for an
 * address it does not own (transparent termination): handshake, data
 * both ways through the stream interface, half-close, RST, and the
 * receive window closing while the application does not read. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/dp_parse.h"
#include "stack/stk_lwip.h"
#include "stack/stk_stream_lwip.h"
#include "tcp_seg.h"

#define MAX_OUT 64

static struct stk_lwip *st;
static uint8_t out[MAX_OUT][2048];
static uint16_t out_len[MAX_OUT];
static unsigned n_out;
static struct stk_stream *accepted;
static unsigned n_accepted;

static void on_output(void *arg, uint16_t port, struct pbuf *p)
{
	if (n_out < MAX_OUT && p->tot_len <= sizeof(out[0])) {
		out_len[n_out] = st->api.pbuf_copy_partial(p, out[n_out],
							   p->tot_len, 0);
		n_out++;
	}
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb)
{
	accepted = stk_lwip_stream_new(st, pcb);
	n_accepted++;
	return ERR_OK;
}

static const char *client = "10.0.0.2", *server = "198.51.100.7";

/* IPv4 + TCP segment from client:sport to server:80. */
static uint16_t seg(uint8_t *b, uint16_t sport, uint32_t seq, uint32_t ack,
		    uint8_t flags, const void *data, uint16_t len, bool mss)
{
	return tcp_seg_build(b, client, sport, server, 80, seq, ack, flags,
			     data, len, mss);
}

static void feed(uint16_t sport, uint32_t seq, uint32_t ack, uint8_t flags,
		 const void *data, uint16_t len)
{
	uint8_t b[2048];
	uint16_t n = seg(b, sport, seq, ack, flags, data, len, flags == 0x02);

	assert_int_equal(stk_lwip_input_tcp(st, 0, b, n, 20), 0);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Parse output i; returns its TCP header. */
static const uint8_t *out_tcp(unsigned i, struct dp_pkt_view *v)
{
	assert_true(i < n_out);
	assert_int_equal(dp_parse(out[i], out_len[i], DP_LINK_RAW_IP, 0, v), 0);
	assert_true(v->flags & DP_PKT_F_L4_CSUM_OK);
	assert_int_equal(v->l4_proto, 6);
	return out[i] + v->l4_off;
}

/* Handshake on client port sport; returns the server's ISN. */
static uint32_t handshake(uint16_t sport)
{
	struct dp_pkt_view v;
	const uint8_t *t;
	uint32_t isn;
	char ip[16];

	n_out = 0;
	accepted = NULL;
	feed(sport, 1000, 0, 0x02, NULL, 0);
	assert_int_equal(n_out, 1);
	t = out_tcp(0, &v);
	/* SYN-ACK from the original destination back to the client */
	assert_int_equal(v.tcp_flags, 0x12);
	assert_int_equal(v.sport, 80);
	assert_int_equal(v.dport, sport);
	inet_ntop(AF_INET, v.src.b + 12, ip, sizeof(ip));
	assert_string_equal(ip, server);
	assert_int_equal(rd32(t + 8), 1001);
	/* sane options: the MSS of a 1500-byte MTU */
	assert_true(v.payload_off - v.l4_off >= 24);
	assert_int_equal(t[20], 2);
	assert_int_equal((t[22] << 8) | t[23], 1460);
	isn = rd32(t + 4);
	feed(sport, 1001, isn + 1, 0x10, NULL, 0);
	assert_non_null(accepted);
	return isn;
}

static int group_setup(void **state)
{
	char err[256];

	st = stk_lwip_load(err, sizeof(err));
	if (!st) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	stk_lwip_lock(st);
	stk_lwip_set_handlers(st, on_output, on_accept, NULL);
	if (stk_lwip_add_port(st, 0, 1500, htonl(0x0a000001), 24, NULL, 0) < 0 ||
	    stk_lwip_listen(st, 80) < 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	stk_lwip_stream_reap(st);
	stk_lwip_unlock(st);
	stk_lwip_unload(st);
	return 0;
}

static void test_data_and_half_close(void **state)
{
	struct dp_pkt_view v;
	const uint8_t *t;
	struct stk_stream *s;
	uint32_t isn = handshake(40000);
	char buf[64];
	unsigned i;

	s = accepted;
	assert_int_equal(stk_read(s, buf, sizeof(buf)), -EAGAIN);
	feed(40000, 1001, isn + 1, 0x18, "hello", 5);
	assert_int_equal(stk_read(s, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);

	n_out = 0;
	assert_int_equal(stk_write(s, "world", 5), 5);
	assert_true(n_out >= 1);
	t = out_tcp(n_out - 1, &v);
	assert_int_equal(v.l4_len - (v.payload_off - v.l4_off), 5);
	assert_memory_equal(out[n_out - 1] + v.payload_off, "world", 5);
	assert_int_equal(rd32(t + 4), isn + 1);
	assert_int_equal(rd32(t + 8), 1006);

	/* client half-closes: end of stream, but we may still send */
	feed(40000, 1006, isn + 6, 0x11, NULL, 0);
	assert_int_equal(stk_read(s, buf, sizeof(buf)), 0);
	n_out = 0;
	assert_int_equal(stk_write(s, "late", 4), 4);
	assert_true(n_out >= 1);
	/* our side finishes: a FIN goes out */
	n_out = 0;
	assert_int_equal(stk_shutdown(s), 0);
	for (i = 0; i < n_out; i++)
		if (out_tcp(i, &v) && (v.tcp_flags & 0x01))
			break;
	assert_true(i < n_out);
	stk_close(s);
}

static void test_client_reset(void **state)
{
	uint32_t isn = handshake(40001);
	struct stk_stream *s = accepted;
	char buf[8];

	feed(40001, 1001, isn + 1, 0x14, NULL, 0); /* RST|ACK */
	assert_int_equal(stk_read(s, buf, sizeof(buf)), -ECONNRESET);
	assert_int_equal(stk_write(s, "x", 1), -ECONNRESET);
	stk_close(s);
}

/* The application does not read: the window the client sees shrinks by
 * what is held, and opens again once it reads. */
static void test_window_full(void **state)
{
	uint32_t isn = handshake(40002);
	struct stk_stream *s = accepted;
	static uint8_t data[1400], buf[65536];
	struct dp_pkt_view v;
	uint32_t seq = 1001, win_low = 0xffff, win_after = 0;
	const uint8_t *t;
	unsigned i;
	ssize_t n;

	memset(data, 'a', sizeof(data));
	n_out = 0;
	for (i = 0; i < 40; i++) {
		feed(40002, seq, isn + 1, 0x10, data, sizeof(data));
		seq += sizeof(data);
	}
	for (i = 0; i < n_out; i++) {
		t = out_tcp(i, &v);
		if (((t[14] << 8) | t[15]) < win_low)
			win_low = (uint32_t)((t[14] << 8) | t[15]);
	}
	assert_true(n_out > 0);
	/* 56,000 bytes are held unread */
	assert_true(win_low <= 0xffff - 40 * 1400 + 2 * 1460);

	n_out = 0;
	n = 0;
	while (n < 40 * 1400) {
		ssize_t r = stk_read(s, buf, sizeof(buf));

		assert_true(r > 0);
		n += r;
	}
	for (i = 0; i < n_out; i++) {
		t = out_tcp(i, &v);
		if (((t[14] << 8) | t[15]) > win_after)
			win_after = (uint32_t)((t[14] << 8) | t[15]);
	}
	/* a window update went out, and it is wide open again */
	assert_true(n_out > 0);
	assert_true(win_after >= 0xffff - 2 * 1460);
	stk_abort(s);
}

/* strata closes first, so lwIP holds TIME_WAIT; a client reusing the
 * port must get a fresh connection once strata forgets it. */
static void test_timewait_reuse(void **state)
{
	uint32_t isn = handshake(40003);
	struct stk_stream *s = accepted;
	ip_addr_t local, remote;

	assert_int_equal(stk_shutdown(s), 0);              /* our FIN */
	feed(40003, 1001, isn + 2, 0x10, NULL, 0);          /* its ACK */
	feed(40003, 1001, isn + 2, 0x11, NULL, 0);          /* its FIN */
	stk_close(s);
	IP_ADDR4(&local, 198, 51, 100, 7);
	IP_ADDR4(&remote, 10, 0, 0, 2);
	assert_int_equal(stk_lwip_forget_timewait(st, &local, 80, &remote,
						  40003), 1);
	assert_int_equal(stk_lwip_forget_timewait(st, &local, 80, &remote,
						  40003), 0);
	handshake(40003); /* SYN-ACK again, not an old ACK */
	stk_abort(accepted);
}

/* A TIME_WAIT pcb goes once it is max_ms old by lwIP's slow ticks, and
 * not before: the list every SYN walks stays as short as configured. */
static void test_timewait_expires(void **state)
{
	uint32_t isn = handshake(40004);
	struct stk_stream *s = accepted;

	assert_int_equal(stk_shutdown(s), 0);
	feed(40004, 1001, isn + 2, 0x10, NULL, 0);
	feed(40004, 1001, isn + 2, 0x11, NULL, 0);
	stk_close(s);
	assert_non_null(*st->tw_pcbs);
	/* the timers do not run while the test holds the lock: age the
	 * pcb by moving lwIP's clock, 500 ms a tick */
	*st->slow_ticks += 3;
	assert_int_equal(stk_lwip_expire_timewait(st, 2000), 0);
	assert_non_null(*st->tw_pcbs);
	*st->slow_ticks += 1;
	assert_int_equal(stk_lwip_expire_timewait(st, 2000), 1);
	assert_null(*st->tw_pcbs);
	handshake(40004); /* the tuple is free for a new connection */
	stk_abort(accepted);
}

/* Each load is a private instance, however the loads are spaced: a
 * second load after the first one's file descriptor was closed once got
 * the same /proc/self/fd path and dlopen handed back the first image,
 * two workers then sharing one lwIP (and its core lock). */
static void test_second_load_is_private(void **state)
{
	char err[256];
	struct stk_lwip *st2 = stk_lwip_load(err, sizeof(err));

	assert_non_null(st2);
	assert_ptr_not_equal(st2->dl, st->dl);
	assert_ptr_not_equal(st2->active_pcbs, st->active_pcbs);
	stk_lwip_unload(st2);
}

static void test_unknown_segment_gets_rst(void **state)
{
	struct dp_pkt_view v;

	n_out = 0;
	feed(40999, 5000, 7000, 0x10, NULL, 0); /* ACK for no connection */
	assert_int_equal(n_out, 1);
	out_tcp(0, &v);
	assert_true(v.tcp_flags & 0x04);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_and_half_close),
		cmocka_unit_test(test_client_reset),
		cmocka_unit_test(test_window_full),
		cmocka_unit_test(test_timewait_reuse),
		cmocka_unit_test(test_timewait_expires),
		cmocka_unit_test(test_unknown_segment_gets_rst),
		cmocka_unit_test(test_second_load_is_private),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
