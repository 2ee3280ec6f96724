/* libFuzzer target: the HTTP/2 engines over an in-memory pair.
 *
 * Server (first byte below 0x80): the target writes the client preface
 * and an empty SETTINGS frame itself, then the input. Client (0x80 set):
 * the client engine sends three requests (GET, a POST with a body, an
 * extended CONNECT: streams 1, 3, 5), the target writes an empty
 * SETTINGS frame as the server's preface, then the input as the server's
 * frames. The first byte also picks how the rest is cut into writes (so
 * frames arrive split at any point) and how the consumer behaves
 * (answer, answer with a body, reset, close early, read slowly). Between
 * writes the engine's output is drained, as a peer would. Every exchange
 * is closed and the pair shut at the end; the engine must end (closed()
 * once) and leave nothing behind. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "l7/l7_http.h"
#include "stack/stk_stream.h"

#define MAX_X 64

static struct l7_conn *conn;
static struct l7_exchange *xs[MAX_X];
static unsigned nx, mode;
static int closed_calls;

static void drain_body(struct l7_exchange *x, size_t most)
{
	uint8_t buf[4096];
	ssize_t n;

	while (most && (n = stk_read(&x->body, buf,
				     most < sizeof(buf) ? most : sizeof(buf))) > 0)
		most -= (size_t)n;
}

static void on_body(struct stk_stream *s, unsigned ev, void *arg)
{
	struct l7_exchange *x = arg;

	(void)s;
	if (ev & STK_EV_READABLE)
		drain_body(x, mode & 4 ? 1000 : SIZE_MAX);
}

static void on_exchange(void *arg, struct l7_exchange *x)
{
	struct l7_head h;

	(void)arg;
	if (nx == MAX_X) {
		stk_abort(&x->body);
		return;
	}
	xs[nx++] = x;
	stk_stream_set_cb(&x->body, on_body, x);
	switch ((mode >> 1) & 3) {
	case 0: /* answer at once, with a body */
		l7_head_init(&h);
		h.status = 200;
		h.content_length = 5;
		l7_head_add(&h, "x-y", 3, "z", 1);
		if (l7_send_head(x, &h, false) == 0) {
			stk_write(&x->body, "hello", 5);
			stk_shutdown(&x->body);
		}
		l7_head_free(&h);
		break;
	case 1: /* answer without a body */
		l7_head_init(&h);
		h.status = 204;
		l7_send_head(x, &h, true);
		l7_head_free(&h);
		break;
	case 2: /* reset */
		stk_abort(&x->body);
		xs[--nx] = NULL;
		return;
	default: /* read first, answer at the end */
		break;
	}
	drain_body(x, mode & 4 ? 1000 : SIZE_MAX);
}

static void on_rejected(void *arg, struct l7_conn *c, int status,
			const char *cause)
{
	(void)arg, (void)c, (void)status;
	if (!cause || !*cause)
		abort();
}

static void on_client_body(struct stk_stream *s, unsigned ev, void *arg)
{
	struct l7_exchange *x = arg;

	(void)s;
	if (ev & L7_EV_HEAD && x->head.status < 200)
		abort(); /* interim answers stay inside the engine */
	if (ev & (STK_EV_READABLE | L7_EV_HEAD))
		drain_body(x, mode & 4 ? 1000 : SIZE_MAX);
	if (ev & STK_EV_WRITABLE)
		stk_write(&x->body, "more", 4);
}

static void client_requests(void)
{
	static const char *const method[] = { "GET", "POST", "CONNECT" };
	static const char *const path[] = { "/a", "/b", "/chat" };

	for (unsigned i = 0; i < 3; i++) {
		struct l7_head h;
		struct l7_exchange *x;

		l7_head_init(&h);
		l7_head_set_slot(&h.method, method[i], strlen(method[i]));
		l7_head_set_slot(&h.scheme, "https", 5);
		l7_head_set_slot(&h.authority, "example.com", 11);
		l7_head_set_slot(&h.path, path[i], strlen(path[i]));
		if (i == 2)
			l7_head_set_slot(&h.protocol, "websocket", 9);
		x = l7_request(conn, &h, i == 0);
		l7_head_free(&h);
		if (!x)
			continue;
		xs[nx++] = x;
		stk_stream_set_cb(&x->body, on_client_body, x);
		if (i == 1) {
			stk_write(&x->body, "body", 4);
			stk_shutdown(&x->body);
		}
	}
}

static void on_closed(void *arg, struct l7_conn *c, int error)
{
	(void)arg, (void)error;
	if (c != conn)
		abort();
	closed_calls++;
	conn = NULL;
}

static const struct l7_conn_cb cb = {
	.exchange = on_exchange,
	.rejected = on_rejected,
	.closed = on_closed,
};

static void drain_peer(struct stk_stream *peer)
{
	uint8_t buf[16384];

	while (stk_read(peer, buf, sizeof(buf)) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t preface[] =
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
		"\x00\x00\x00\x04\x00\x00\x00\x00\x00";
	struct l7_limits lim = { .max_streams = 16, .max_fields = 20,
				 .max_head_bytes = 4096 };
	static const uint8_t settings[] = "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
	struct stk_stream *peer, *st;
	size_t off = 0, step;
	bool client;

	if (!size)
		return 0;
	mode = data[0];
	client = mode & 0x80;
	step = (size_t)((data[0] >> 4) & 7) * 7 + 1;
	data++;
	size--;
	nx = 0;
	closed_calls = 0;
	if (stk_stream_pair(1 << 20, &peer, &st))
		return 0;
	conn = client ? l7_h2_client(st, &cb, NULL, &lim) :
		       l7_h2_server(st, &cb, NULL, &lim);
	if (!conn) {
		stk_close(peer);
		stk_close(st);
		return 0;
	}
	if (client) {
		client_requests();
		drain_peer(peer);
		stk_write(peer, settings, sizeof(settings) - 1);
	} else {
		stk_write(peer, preface, sizeof(preface) - 1);
	}
	while (off < size && conn) {
		size_t n = size - off < step ? size - off : step;
		ssize_t w = stk_write(peer, data + off, n);

		if (w <= 0)
			break;
		off += (size_t)w;
		drain_peer(peer);
	}
	/* the consumer finishes what it holds */
	for (unsigned i = 0; i < nx; i++) {
		struct l7_exchange *x = xs[i];
		struct l7_head h;

		if (!x)
			continue;
		drain_body(x, SIZE_MAX);
		if (!client && ((mode >> 1) & 3) == 3) {
			l7_head_init(&h);
			h.status = 200;
			l7_send_head(x, &h, true);
			l7_head_free(&h);
		}
		if (mode & 8)
			stk_abort(&x->body);
		else
			stk_close(&x->body);
		drain_peer(peer);
	}
	if (conn && (mode & 1))
		conn->ops->shutdown(conn);
	drain_peer(peer);
	stk_close(peer);
	if (conn)
		abort(); /* the transport's end must end the engine */
	if (closed_calls != 1)
		abort();
	return 0;
}
