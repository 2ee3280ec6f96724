/* libFuzzer target: lwIP's TCP state machine as strata drives it.
 *
 * The input is a script of steps: segments from a client (any flags,
 * sequence and acknowledgement numbers, window, options and payload, with
 * valid checksums so lwIP gets past them; or raw TCP bytes), and what
 * the application does on the accepted streams (read, write, shut down,
 * close, abort). Client ports come from a small set so that lwIP's state
 * stays bounded across inputs; every stream is aborted at the end.
 *
 * The stack lock is taken once and kept: lwIP's timer thread never runs,
 * so a run depends on its input only. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dp_parse.h"
#include "stack/stk_lwip.h"
#include "stack/stk_stream_lwip.h"

#define N_PORTS 8
#define MAX_STREAMS 64

static struct stk_lwip *st;
static struct stk_stream *streams[MAX_STREAMS];
static unsigned n_streams;
/* What lwIP sent last per client port: the next sequence number it
 * expects acknowledged, so inputs can complete handshakes. */
static uint32_t srv_next[N_PORTS];

static void on_output(void *arg, uint16_t port, struct pbuf *p)
{
	uint8_t buf[65536];
	struct dp_pkt_view v;
	uint16_t n = st->api.pbuf_copy_partial(p, buf, p->tot_len, 0);

	/* What lwIP sends must be a packet our own parser accepts. */
	int rc = dp_parse(buf, n, DP_LINK_RAW_IP, 0, &v);

	/* (lwIP fragments what exceeds the MTU when a peer's MSS option is
	 * larger: fragments carry no L4 checksum to check) */
	if (rc < 0 || !(v.flags & (DP_PKT_F_L4_CSUM_OK | DP_PKT_F_FRAGMENT))) {
		fprintf(stderr, "fuzz_stack: lwIP sent a packet strata rejects "
			"(%d, %s):", rc, rc < 0 ? dp_drop_name(-rc) : "csum");
		for (unsigned i = 0; i < n && i < 80; i++)
			fprintf(stderr, " %02x", buf[i]);
		fputc('\n', stderr);
		abort();
	}
	if (!(v.flags & DP_PKT_F_FRAGMENT) && v.l4_proto == 6 && v.dport >= 40000 && v.dport < 40000 + N_PORTS) {
		const uint8_t *t = buf + v.l4_off;
		uint32_t seq = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 |
			       (uint32_t)t[6] << 8 | t[7];

		srv_next[v.dport - 40000] = seq + (v.l4_len -
			(v.payload_off - v.l4_off)) + ((t[13] & 0x03) != 0);
	}
}

static unsigned n_accepted;

static err_t on_accept(void *arg, struct tcp_pcb *pcb)
{
	n_accepted++;
	if (n_streams == MAX_STREAMS) {
		st->api.tcp_abort(pcb);
		return ERR_ABRT;
	}
	streams[n_streams++] = stk_lwip_stream_new(st, pcb);
	return ERR_OK;
}

/* IP + TCP with valid checksums around the given TCP header and payload. */
static uint16_t wrap(uint8_t *b, bool v6, const uint8_t *tcp, uint16_t len)
{
	struct dp_pkt_view v = { .ip_version = v6 ? 6 : 4 };
	uint16_t hl = v6 ? 40 : 20, cs;
	uint8_t *t = b + hl;

	memset(b, 0, hl);
	if (v6) {
		b[0] = 0x60;
		b[4] = (uint8_t)(len >> 8); b[5] = (uint8_t)len;
		b[6] = 6; b[7] = 64;
		inet_pton(AF_INET6, "fd00::2", b + 8);
		inet_pton(AF_INET6, "2001:db8::7", b + 24);
		memcpy(v.src.b, b + 8, 16);
		memcpy(v.dst.b, b + 24, 16);
	} else {
		uint16_t tot = (uint16_t)(hl + len);

		b[0] = 0x45;
		b[2] = (uint8_t)(tot >> 8); b[3] = (uint8_t)tot;
		b[8] = 64; b[9] = 6;
		inet_pton(AF_INET, "10.0.0.2", b + 12);
		inet_pton(AF_INET, "198.51.100.7", b + 16);
		cs = dp_csum_fold(dp_csum_partial(b, 20, 0));
		b[10] = (uint8_t)(cs >> 8); b[11] = (uint8_t)cs;
		dp_addr_from_v4(&v.src, 0);
		memcpy(v.src.b + 12, b + 12, 4);
		dp_addr_from_v4(&v.dst, 0);
		memcpy(v.dst.b + 12, b + 16, 4);
	}
	memcpy(t, tcp, len);
	t[16] = t[17] = 0;
	cs = dp_csum_fold(dp_csum_partial(t, len, dp_csum_pseudo(&v, 6, len)));
	t[16] = (uint8_t)(cs >> 8); t[17] = (uint8_t)cs;
	return (uint16_t)(hl + len);
}

struct cursor {
	const uint8_t *p;
	size_t left;
};

static uint32_t take(struct cursor *c, unsigned n)
{
	uint32_t v = 0;

	while (n--) {
		v = v << 8 | (c->left ? *c->p : 0);
		if (c->left) {
			c->p++;
			c->left--;
		}
	}
	return v;
}

static void step_segment(struct cursor *c, uint8_t op)
{
	uint8_t tcp[20 + 40 + 256], pkt[40 + sizeof(tcp)];
	uint8_t pi = (uint8_t)(take(c, 1) % N_PORTS);
	uint16_t sport = (uint16_t)(40000 + pi);
	uint8_t mode = (uint8_t)take(c, 1);
	uint8_t opt_len = (uint8_t)(take(c, 1) % 11) * 4;
	uint8_t data_len = (uint8_t)take(c, 1);
	uint16_t len = (uint16_t)(20 + opt_len + data_len);
	unsigned i;

	tcp[0] = (uint8_t)(sport >> 8); tcp[1] = (uint8_t)sport;
	tcp[2] = 0; tcp[3] = 80;
	for (i = 4; i < 12; i++)
		tcp[i] = (uint8_t)take(c, 1);
	if (mode & 1) {
		/* acknowledge what lwIP sent, give or take a little */
		uint32_t ack = srv_next[pi] + (uint32_t)(mode >> 1) % 5 - 2;

		tcp[8] = (uint8_t)(ack >> 24); tcp[9] = (uint8_t)(ack >> 16);
		tcp[10] = (uint8_t)(ack >> 8); tcp[11] = (uint8_t)ack;
	}
	tcp[12] = (uint8_t)(((20 + opt_len) / 4) << 4);
	tcp[13] = (uint8_t)take(c, 1);
	tcp[14] = (uint8_t)take(c, 1);
	tcp[15] = (uint8_t)take(c, 1);
	tcp[18] = tcp[19] = 0;
	for (i = 20; i < len; i++)
		tcp[i] = (uint8_t)take(c, 1);
	stk_lwip_input_tcp(st, 0, pkt, wrap(pkt, op & 1, tcp, len),
			   (op & 1) ? 40 : 20);
}

static void step_app(struct cursor *c, uint8_t op)
{
	static uint8_t buf[70000];
	unsigned i = take(c, 1);
	struct stk_stream *s;

	if (!n_streams)
		return;
	i %= n_streams;
	s = streams[i];
	if (!s)
		return;
	switch (op % 5) {
	case 0:
		while (stk_read(s, buf, sizeof(buf)) > 0)
			;
		break;
	case 1: {
		size_t n = 1 + take(c, 2);

		memset(buf, 'w', n);
		stk_write(s, buf, n);
		break;
	}
	case 2:
		stk_shutdown(s);
		break;
	case 3:
		stk_close(s);
		streams[i] = NULL;
		break;
	default:
		stk_abort(s);
		streams[i] = NULL;
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = { data, size };
	unsigned i;

	if (!st) {
		char err[256];

		st = stk_lwip_load(err, sizeof(err));
		if (!st) {
			fprintf(stderr, "fuzz_stack: %s\n", err);
			abort();
		}
		stk_lwip_lock(st);
		stk_lwip_set_handlers(st, on_output, on_accept, NULL);
		if (stk_lwip_add_port(st, 0, 1500, htonl(0x0a000001), 24, NULL, 0) < 0 ||
		    stk_lwip_listen(st, 80) < 0)
			abort();
	}
	while (c.left) {
		uint8_t op = (uint8_t)take(&c, 1);

		if (op < 0xc0)
			step_segment(&c, op);
		else
			step_app(&c, op);
		stk_lwip_stream_reap(st);
	}
	for (i = 0; i < n_streams; i++)
		if (streams[i])
			stk_abort(streams[i]);
	if (getenv("FUZZ_STACK_TRACE"))
		fprintf(stderr, "accepted %u\n", n_accepted);
	n_streams = 0;
	stk_lwip_stream_reap(st);
	return 0;
}
