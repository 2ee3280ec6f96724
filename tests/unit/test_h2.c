/* The HTTP/2 engines over in-memory stream pairs: our client talking to
 * our server (GET, many streams, the stream limit, big bodies through
 * small pipes with a slow reader, resets, GOAWAY, CONNECT and extended
 * CONNECT), and a bare nghttp2 session as the peer where the test needs
 * frames our engines would never send. */
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "l7/l7_h2_private.h"
#include "l7/l7_http.h"
#include "stack/stk_stream.h"
#include "stack/stk_tunnel.h"

#define MAX_X 256

/* What an exchange saw (x->user). */
struct rec {
	struct l7_exchange *x;
	unsigned events, heads, errors, writable;
	int err;
};

struct ctx {
	struct stk_stream *ct, *st;     /* transports: client's, server's */
	struct l7_conn *cli, *srv;
	struct l7_exchange *sx[MAX_X];  /* server exchanges, in order */
	struct rec srec[MAX_X];
	int nsx;
	int rejected, rej_status;
	const char *rej_cause;
	int cli_closed, srv_closed, cli_err, srv_err;
	int ready;
	/* re-entrancy checks */
	bool abort_srv_in_exchange, abort_cli_in_head;
};

static struct ctx C;

static void on_x_event(struct stk_stream *s, unsigned ev, void *arg)
{
	struct rec *r = arg;

	(void)s;
	r->events |= ev;
	if (ev & L7_EV_HEAD) {
		r->heads++;
		if (C.abort_cli_in_head && C.cli)
			l7_available(C.cli), C.cli->ops->abort(C.cli);
	}
	if (ev & STK_EV_ERROR) {
		r->errors++;
		r->err = s->error;
	}
	if (ev & STK_EV_WRITABLE)
		r->writable++;
}

static void srv_exchange(void *arg, struct l7_exchange *x)
{
	struct ctx *c = arg;
	struct rec *r;

	assert_true(c->nsx < MAX_X);
	r = &c->srec[c->nsx];
	memset(r, 0, sizeof(*r));
	r->x = x;
	c->sx[c->nsx++] = x;
	x->user = r;
	stk_stream_set_cb(&x->body, on_x_event, r);
	if (c->abort_srv_in_exchange)
		c->srv->ops->abort(c->srv);
}

static void on_rejected(void *arg, struct l7_conn *lc, int status,
			const char *cause)
{
	struct ctx *c = arg;

	(void)lc;
	c->rejected++;
	c->rej_status = status;
	c->rej_cause = cause;
}

static void on_ready(void *arg, struct l7_conn *lc)
{
	(void)lc;
	((struct ctx *)arg)->ready++;
}

static void cli_closed(void *arg, struct l7_conn *lc, int error)
{
	struct ctx *c = arg;

	assert_ptr_equal(lc, c->cli);
	c->cli_closed++;
	c->cli_err = error;
	c->cli = NULL;
}

static void srv_closed(void *arg, struct l7_conn *lc, int error)
{
	struct ctx *c = arg;

	assert_ptr_equal(lc, c->srv);
	c->srv_closed++;
	c->srv_err = error;
	c->srv = NULL;
}

static const struct l7_conn_cb srv_cb = {
	.exchange = srv_exchange,
	.rejected = on_rejected,
	.closed = srv_closed,
};

static const struct l7_conn_cb cli_cb = {
	.rejected = on_rejected,
	.ready = on_ready,
	.closed = cli_closed,
};

static void start(size_t cap, const struct l7_limits *slim,
		  const struct l7_limits *clim)
{
	memset(&C, 0, sizeof(C));
	assert_int_equal(stk_stream_pair(cap, &C.ct, &C.st), 0);
	C.srv = l7_h2_server(C.st, &srv_cb, &C, slim);
	assert_non_null(C.srv);
	C.cli = l7_h2_client(C.ct, &cli_cb, &C, clim);
	assert_non_null(C.cli);
}

static int teardown(void **state)
{
	(void)state;
	if (C.cli)
		C.cli->ops->abort(C.cli);
	if (C.srv)
		C.srv->ops->abort(C.srv);
	return 0;
}

static void req_init(struct l7_head *h, const char *method, const char *path)
{
	l7_head_init(h);
	l7_head_set_slot(&h->method, method, strlen(method));
	l7_head_set_slot(&h->scheme, "https", 5);
	l7_head_set_slot(&h->authority, "example.com", 11);
	if (path)
		l7_head_set_slot(&h->path, path, strlen(path));
}

static struct l7_exchange *request(const char *method, const char *path,
				   bool end, struct rec *r)
{
	struct l7_head h;
	struct l7_exchange *x;

	req_init(&h, method, path);
	x = l7_request(C.cli, &h, end);
	l7_head_free(&h);
	if (x) {
		memset(r, 0, sizeof(*r));
		r->x = x;
		x->user = r;
		stk_stream_set_cb(&x->body, on_x_event, r);
	}
	return x;
}

static void respond(struct l7_exchange *x, int status, const char *body,
		    bool close)
{
	struct l7_head h;

	l7_head_init(&h);
	h.status = status;
	l7_head_add(&h, "content-type", 12, "text/plain", 10);
	h.content_length = body ? (int64_t)strlen(body) : 0;
	assert_int_equal(l7_send_head(x, &h, body == NULL), 0);
	l7_head_free(&h);
	if (body && *body)
		assert_int_equal(stk_write(&x->body, body, strlen(body)),
				 (ssize_t)strlen(body));
	if (body)
		assert_int_equal(stk_shutdown(&x->body), 0);
	if (close)
		stk_close(&x->body);
}

/* Everything readable now; returns bytes, *eof at the end. */
static size_t read_all(struct l7_exchange *x, char *buf, size_t cap,
		       bool *eof)
{
	size_t got = 0;
	ssize_t n;

	*eof = false;
	while ((n = stk_read(&x->body, buf + got, cap - got)) > 0)
		got += (size_t)n;
	if (n == 0)
		*eof = true;
	return got;
}

static void test_get(void **state)
{
	struct l7_head h;
	struct l7_exchange *x;
	struct rec r;
	char buf[64];
	bool eof;
	const struct l7_head *sh;

	(void)state;
	start(65536, NULL, NULL);
	assert_int_equal(C.cli->version, 20);
	req_init(&h, "GET", "/hello?x=1");
	l7_head_add(&h, "accept", 6, "*/*", 3);
	l7_head_add(&h, "connection", 10, "keep-alive, x-hop", 17);
	l7_head_add(&h, "x-hop", 5, "1", 1);
	l7_head_add(&h, "keep-alive", 10, "5", 1);
	l7_head_add(&h, "cookie", 6, "a=1", 3);
	x = l7_request(C.cli, &h, true);
	l7_head_free(&h);
	assert_non_null(x);
	memset(&r, 0, sizeof(r));
	stk_stream_set_cb(&x->body, on_x_event, &r);
	assert_int_equal(x->stream_id, 1);

	assert_int_equal(C.nsx, 1);
	sh = &C.sx[0]->head;
	assert_string_equal(sh->method, "GET");
	assert_string_equal(sh->path, "/hello?x=1");
	assert_string_equal(sh->scheme, "https");
	assert_string_equal(sh->authority, "example.com");
	assert_null(sh->protocol);
	assert_int_equal(sh->version, 20);
	/* END_STREAM on the HEADERS: no body, as HTTP/1.1 would say */
	assert_int_equal(sh->content_length, 0);
	assert_string_equal(l7_head_get(sh, "accept", NULL), "*/*");
	assert_string_equal(l7_head_get(sh, "cookie", NULL), "a=1");
	assert_null(l7_head_get(sh, "connection", NULL));
	assert_null(l7_head_get(sh, "x-hop", NULL));
	assert_null(l7_head_get(sh, "keep-alive", NULL));
	/* no body: the request is already at its end */
	assert_int_equal(stk_read(&C.sx[0]->body, buf, sizeof(buf)), 0);

	respond(C.sx[0], 200, "hello", true);
	assert_int_equal(r.heads, 1);
	assert_int_equal(x->head.status, 200);
	assert_int_equal(x->head.content_length, 5);
	assert_string_equal(l7_head_get(&x->head, "content-type", NULL),
			    "text/plain");
	assert_int_equal(read_all(x, buf, sizeof(buf), &eof), 5);
	assert_true(eof);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(r.errors, 0);
	stk_close(&x->body);

	/* graceful end from the client: both sides close, no error */
	C.cli->ops->shutdown(C.cli);
	assert_int_equal(C.cli_closed, 1);
	assert_int_equal(C.cli_err, 0);
	assert_int_equal(C.srv_closed, 1);
	assert_int_equal(C.srv_err, 0);
	assert_int_equal(C.rejected, 0);
}

/* 100 streams at once; the 101st waits for one to end. */
static void test_concurrent_and_limit(void **state)
{
	static struct rec r[101];
	struct l7_exchange *x[101];
	char buf[64], want[32];
	bool eof;
	int i;

	(void)state;
	start(16384, NULL, NULL);
	for (i = 0; i < 100; i++) {
		assert_int_equal(l7_available(C.cli), 100 - i);
		x[i] = request("GET", "/n", true, &r[i]);
		assert_non_null(x[i]);
	}
	assert_int_equal(l7_available(C.cli), 0);
	assert_null(request("GET", "/n", true, &r[100]));
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(C.nsx, 100);

	/* answer in reverse order */
	for (i = 99; i >= 0; i--) {
		snprintf(want, sizeof(want), "body %d", i);
		respond(C.sx[i], 200, want, true);
	}
	assert_int_equal(l7_available(C.cli), 100);
	assert_true(C.ready > 0);
	for (i = 0; i < 100; i++) {
		size_t n;

		snprintf(want, sizeof(want), "body %d", i);
		assert_int_equal(r[i].heads, 1);
		n = read_all(x[i], buf, sizeof(buf), &eof);
		assert_true(eof);
		assert_int_equal(n, strlen(want));
		assert_memory_equal(buf, want, n);
		stk_close(&x[i]->body);
	}
	x[100] = request("GET", "/n", true, &r[100]);
	assert_non_null(x[100]);
	assert_int_equal(C.nsx, 101);
	respond(C.sx[100], 204, NULL, true);
	assert_int_equal(x[100]->head.status, 204);
	assert_int_equal(read_all(x[100], buf, sizeof(buf), &eof), 0);
	assert_true(eof);
	stk_close(&x[100]->body);
}

/* The server's own limit: a 2nd concurrent stream to a max_streams=1
 * server is refused, retryable (ECONNREFUSED). */
static void test_server_limit_refuses(void **state)
{
	struct l7_limits lim = { .max_streams = 1 };
	struct rec r1, r2;
	struct l7_exchange *x1, *x2;

	(void)state;
	memset(&C, 0, sizeof(C));
	assert_int_equal(stk_stream_pair(65536, &C.ct, &C.st), 0);
	C.cli = l7_h2_client(C.ct, &cli_cb, &C, NULL);
	/* the client speaks before the server exists: it assumes 100 */
	x1 = request("GET", "/1", true, &r1);
	x2 = request("GET", "/2", true, &r2);
	assert_non_null(x1);
	assert_non_null(x2);
	C.srv = l7_h2_server(C.st, &srv_cb, &C, &lim);
	stk_stream_notify(C.st, STK_EV_READABLE);
	assert_int_equal(C.nsx, 1);
	assert_int_equal(r2.errors, 1);
	assert_int_equal(r2.err, ECONNREFUSED);
	assert_int_equal(x2->body.error, ECONNREFUSED);
	assert_int_equal(stk_read(&x2->body, NULL, 0), -ECONNREFUSED);
	assert_int_equal(l7_available(C.cli), 0);
	respond(C.sx[0], 200, "", true);
	assert_int_equal(r1.heads, 1);
	assert_int_equal(l7_available(C.cli), 1);
	stk_close(&x1->body);
	stk_close(&x2->body);
	assert_int_equal(C.rejected, 0);
}

static uint8_t pattern(uint64_t i, uint32_t seed)
{
	uint64_t v = (i + seed) * 0x9e3779b97f4a7c15ull;

	return (uint8_t)(v >> 56);
}

struct flow {
	struct l7_exchange *from, *to;
	size_t total, sent, got;
	uint32_t seed;
	bool shut, eof;
	size_t read_step;
};

/* Write what fits; read at most read_step (a slow reader). */
static void flow_step(struct flow *f)
{
	uint8_t buf[8192];
	ssize_t n;

	while (f->from && f->sent < f->total) {
		size_t len = f->total - f->sent;

		if (len > sizeof(buf))
			len = sizeof(buf);
		for (size_t i = 0; i < len; i++)
			buf[i] = pattern(f->sent + i, f->seed);
		n = stk_write(&f->from->body, buf, len);
		if (n == -EAGAIN)
			break;
		assert_true(n > 0);
		f->sent += (size_t)n;
	}
	if (f->from && f->sent == f->total && !f->shut) {
		f->shut = true;
		assert_int_equal(stk_shutdown(&f->from->body), 0);
	}
	if (!f->to || f->eof)
		return;
	n = stk_read(&f->to->body, buf, f->read_step);
	if (n == -EAGAIN)
		return;
	assert_true(n >= 0);
	if (n == 0) {
		f->eof = true;
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] != pattern(f->got + (size_t)i, f->seed))
			fail_msg("byte %zu differs", f->got + (size_t)i);
	f->got += (size_t)n;
}

static void big_bodies(size_t cap, uint32_t window, size_t step)
{
	const size_t N = 4u << 20;
	struct l7_limits lim = { .stream_window = window };
	struct flow up = { .total = N, .seed = 1, .read_step = step };
	struct flow down = { .total = N, .seed = 7, .read_step = step };
	struct l7_head h;
	struct rec r;
	struct l7_exchange *x;
	size_t bound = window > 65535 ? window : 65535;
	long rounds = 0;

	start(cap, &lim, &lim);
	req_init(&h, "POST", "/upload");
	h.content_length = (int64_t)N;
	x = l7_request(C.cli, &h, false);
	l7_head_free(&h);
	assert_non_null(x);
	memset(&r, 0, sizeof(r));
	stk_stream_set_cb(&x->body, on_x_event, &r);
	up.from = x;
	down.to = x;
	while (!(up.eof && down.eof)) {
		if (!up.to && C.nsx == 1) {
			up.to = C.sx[0];
			assert_int_equal(up.to->head.content_length, (int64_t)N);
		}
		/* answer once half the upload is in: both ways at once */
		if (!down.from && up.to && up.got >= N / 2) {
			l7_head_init(&h);
			h.status = 200;
			h.content_length = (int64_t)N;
			assert_int_equal(l7_send_head(up.to, &h, false), 0);
			l7_head_free(&h);
			down.from = up.to;
		}
		flow_step(&up);
		flow_step(&down);
		assert_true(++rounds < 50 * 1000 * 1000);
	}
	assert_int_equal(up.got, N);
	assert_int_equal(down.got, N);
	assert_int_equal(r.heads, 1);
	assert_int_equal(x->head.content_length, (int64_t)N);
	assert_int_equal(r.errors, 0);
	/* flow control held: nobody buffered more than a window */
	assert_true(l7_h2_rx_peak(C.srv) <= bound);
	assert_true(l7_h2_rx_peak(C.cli) <= bound);
	assert_true(l7_h2_rx_peak(C.srv) > 0);
	/* output waiting for the transport: a batch and one frame */
	assert_true(l7_h2_out_peak(C.srv) <= 2 * 16384 + 9);
	assert_true(l7_h2_out_peak(C.cli) <= 2 * 16384 + 9);
	stk_close(&x->body);
	stk_close(&C.sx[0]->body);
	C.srv->ops->shutdown(C.srv);
	assert_int_equal(C.srv_closed, 1);
	assert_int_equal(C.srv_err, 0);
	assert_int_equal(C.cli_closed, 1);
	assert_int_equal(C.cli_err, 0);
}

static void test_big_bodies_small_pipe(void **state)
{
	(void)state;
	big_bodies(1500, 0, 1000);
}

static void test_big_bodies_big_window(void **state)
{
	(void)state;
	big_bodies(4096, 256 * 1024, 3000);
}

static void test_rst_from_client(void **state)
{
	struct rec r;
	struct l7_exchange *x;
	char buf[8];

	(void)state;
	start(65536, NULL, NULL);
	x = request("POST", "/up", false, &r);
	assert_non_null(x);
	assert_int_equal(stk_write(&x->body, "abc", 3), 3);
	assert_int_equal(C.nsx, 1);
	stk_abort(&x->body);
	assert_int_equal(C.srec[0].errors, 1);
	assert_int_equal(C.srec[0].err, ECONNRESET);
	assert_int_equal(stk_read(&C.sx[0]->body, buf, sizeof(buf)),
			 -ECONNRESET);
	assert_int_equal(stk_write(&C.sx[0]->body, "x", 1), -ECONNRESET);
	stk_close(&C.sx[0]->body);
	/* the connection goes on */
	x = request("GET", "/again", true, &r);
	assert_non_null(x);
	assert_int_equal(C.nsx, 2);
	respond(C.sx[1], 200, "ok", true);
	assert_int_equal(r.heads, 1);
	stk_close(&x->body);
}

static void test_rst_from_server(void **state)
{
	struct rec r;
	struct l7_exchange *x;
	char buf[8];

	(void)state;
	start(65536, NULL, NULL);
	x = request("GET", "/", true, &r);
	assert_non_null(x);
	assert_int_equal(C.nsx, 1);
	stk_abort(&C.sx[0]->body);
	assert_int_equal(r.errors, 1);
	assert_int_equal(r.err, ECONNRESET);
	assert_int_equal(stk_read(&x->body, buf, sizeof(buf)), -ECONNRESET);
	stk_close(&x->body);
	/* the server closing without an answer resets too */
	x = request("GET", "/", true, &r);
	assert_int_equal(C.nsx, 2);
	stk_close(&C.sx[1]->body);
	assert_int_equal(r.err, ECONNRESET);
	stk_close(&x->body);
	assert_int_equal(C.cli_closed + C.srv_closed, 0);
}

/* Server shutdown: GOAWAY, the open stream finishes, then both close. */
static void test_goaway_drains(void **state)
{
	struct rec r;
	struct l7_exchange *x;
	char buf[16];
	bool eof;

	(void)state;
	start(65536, NULL, NULL);
	x = request("GET", "/slow", true, &r);
	assert_non_null(x);
	assert_int_equal(C.nsx, 1);
	C.srv->ops->shutdown(C.srv);
	assert_int_equal(l7_available(C.cli), 0);
	assert_null(request("GET", "/late", true, &r));
	assert_int_equal(errno, ESHUTDOWN);
	assert_int_equal(C.srv_closed + C.cli_closed, 0);
	respond(C.sx[0], 200, "late", true);
	assert_int_equal(read_all(x, buf, sizeof(buf), &eof), 4);
	assert_true(eof);
	assert_int_equal(C.srv_closed, 1);
	assert_int_equal(C.srv_err, 0);
	assert_int_equal(C.cli_closed, 1);
	assert_int_equal(C.cli_err, 0);
	/* the complete exchange outlives its connection */
	assert_null(x->conn);
	assert_int_equal(stk_read(&x->body, buf, sizeof(buf)), 0);
	stk_close(&x->body);
}

static void test_extended_connect(void **state)
{
	struct l7_head h;
	struct rec r;
	struct l7_exchange *x, *sx;
	char buf[16];

	(void)state;
	start(65536, NULL, NULL);
	req_init(&h, "CONNECT", "/chat");
	l7_head_set_slot(&h.protocol, "websocket", 9);
	l7_head_add(&h, "sec-websocket-version", 21, "13", 2);
	x = l7_request(C.cli, &h, false);
	l7_head_free(&h);
	assert_non_null(x);
	memset(&r, 0, sizeof(r));
	stk_stream_set_cb(&x->body, on_x_event, &r);
	assert_int_equal(C.nsx, 1);
	sx = C.sx[0];
	assert_string_equal(sx->head.method, "CONNECT");
	assert_string_equal(sx->head.protocol, "websocket");
	assert_string_equal(sx->head.path, "/chat");
	assert_string_equal(sx->head.scheme, "https");
	assert_string_equal(sx->head.authority, "example.com");
	/* an HTTP/1.1 upstream's 101 becomes HTTP/2's 200 */
	l7_head_init(&h);
	h.status = 101;
	assert_int_equal(l7_send_head(sx, &h, false), 0);
	l7_head_free(&h);
	assert_int_equal(r.heads, 1);
	assert_int_equal(x->head.status, 200);
	assert_int_equal(stk_write(&x->body, "ping", 4), 4);
	assert_int_equal(stk_read(&sx->body, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(stk_write(&sx->body, "pong!", 5), 5);
	assert_int_equal(stk_read(&x->body, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "pong!", 5);
	stk_shutdown(&x->body);
	assert_int_equal(stk_read(&sx->body, buf, sizeof(buf)), 0);
	stk_shutdown(&sx->body);
	assert_int_equal(stk_read(&x->body, buf, sizeof(buf)), 0);
	stk_close(&x->body);
	stk_close(&sx->body);
	assert_int_equal(r.errors, 0);
}

static void test_plain_connect(void **state)
{
	struct l7_head h;
	struct rec r;
	struct l7_exchange *x, *sx;
	uint8_t bin[256], buf[512];

	(void)state;
	start(65536, NULL, NULL);
	l7_head_init(&h);
	l7_head_set_slot(&h.method, "CONNECT", 7);
	l7_head_set_slot(&h.authority, "example.com:443", 15);
	x = l7_request(C.cli, &h, false);
	l7_head_free(&h);
	assert_non_null(x);
	memset(&r, 0, sizeof(r));
	stk_stream_set_cb(&x->body, on_x_event, &r);
	assert_int_equal(C.nsx, 1);
	sx = C.sx[0];
	assert_string_equal(sx->head.method, "CONNECT");
	assert_string_equal(sx->head.authority, "example.com:443");
	assert_null(sx->head.path);
	assert_null(sx->head.scheme);
	assert_null(sx->head.protocol);
	l7_head_init(&h);
	h.status = 200;
	assert_int_equal(l7_send_head(sx, &h, false), 0);
	l7_head_free(&h);
	assert_int_equal(x->head.status, 200);
	for (int i = 0; i < 256; i++)
		bin[i] = (uint8_t)i;
	assert_int_equal(stk_write(&x->body, bin, 256), 256);
	assert_int_equal(stk_read(&sx->body, buf, sizeof(buf)), 256);
	assert_memory_equal(buf, bin, 256);
	assert_int_equal(stk_write(&sx->body, bin, 100), 100);
	assert_int_equal(stk_read(&x->body, buf, sizeof(buf)), 100);
	assert_memory_equal(buf, bin, 100);
	stk_abort(&x->body);
	assert_int_equal(C.srec[0].err, ECONNRESET);
	stk_close(&sx->body);
}


/* Re-entrancy: the consumer ends connections from inside callbacks. */
static void test_abort_from_callbacks(void **state)
{
	struct rec r;
	struct l7_exchange *x;

	(void)state;
	start(65536, NULL, NULL);
	C.abort_srv_in_exchange = true;
	x = request("GET", "/", true, &r);
	assert_non_null(x);
	assert_int_equal(C.srv_closed, 1);
	assert_int_equal(C.srv_err, ECONNABORTED);
	/* aborted from inside its own exchange() call: no event into that
	 * call, the error is on the stream */
	assert_int_equal(C.sx[0]->body.error, ECONNRESET);
	assert_int_equal(C.srec[0].errors, 0);
	stk_close(&C.sx[0]->body);
	assert_int_equal(C.cli_closed, 1);
	/* ended inside request(), before the callback was set */
	assert_int_equal(x->body.error, ECONNRESET);
	assert_null(x->conn);
	stk_close(&x->body);

	start(65536, NULL, NULL);
	C.abort_cli_in_head = true;
	x = request("GET", "/", true, &r);
	respond(C.sx[0], 200, NULL, true); /* the client ends inside */
	assert_int_equal(C.cli_closed, 1);
	assert_int_equal(r.heads, 1);
	stk_close(&x->body);
	assert_int_equal(C.srv_closed, 1);
}

/* ---- A bare nghttp2 peer -------------------------------------------- */

struct raw {
	nghttp2_session *ng;
	struct stk_stream *t;
	uint32_t close_code[64];
	int closed_id[64];
	int ncl;
	int status[64];
};

static int raw_on_close(nghttp2_session *ng, int32_t id, uint32_t code,
			void *arg)
{
	struct raw *r = arg;

	(void)ng;
	if (r->ncl < 64) {
		r->closed_id[r->ncl] = id;
		r->close_code[r->ncl++] = code;
	}
	return 0;
}

static int raw_on_header(nghttp2_session *ng, const nghttp2_frame *f,
			 const uint8_t *n, size_t nl, const uint8_t *v,
			 size_t vl, uint8_t fl, void *arg)
{
	struct raw *r = arg;

	(void)ng, (void)fl, (void)vl;
	if (nl == 7 && !memcmp(n, ":status", 7) && f->hd.stream_id < 64)
		r->status[f->hd.stream_id] = atoi((const char *)v);
	return 0;
}

static void raw_init(struct raw *r, struct stk_stream *t, bool server)
{
	nghttp2_session_callbacks *cbs;

	memset(r, 0, sizeof(*r));
	r->t = t;
	nghttp2_session_callbacks_new(&cbs);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs,
							       raw_on_close);
	nghttp2_session_callbacks_set_on_header_callback(cbs, raw_on_header);
	if (server)
		nghttp2_session_server_new(&r->ng, cbs, r);
	else
		nghttp2_session_client_new(&r->ng, cbs, r);
	nghttp2_session_callbacks_del(cbs);
	nghttp2_submit_settings(r->ng, NGHTTP2_FLAG_NONE, NULL, 0);
}

static void raw_pump(struct raw *r)
{
	bool progress = true;

	while (progress) {
		const uint8_t *d;
		uint8_t buf[16384];
		ssize_t n;

		progress = false;
		while ((n = nghttp2_session_mem_send(r->ng, &d)) > 0) {
			ssize_t w = stk_write(r->t, d, (size_t)n);

			if (w == -EPIPE || w == -ECONNRESET)
				return; /* the engine hung up */
			assert_int_equal(w, n);
			progress = true;
		}
		n = stk_read(r->t, buf, sizeof(buf));
		if (n > 0) {
			assert_int_equal(nghttp2_session_mem_recv(r->ng, buf,
								  (size_t)n),
					 n);
			progress = true;
		}
	}
}

static void raw_free(struct raw *r)
{
	nghttp2_session_del(r->ng);
	if (r->t)
		stk_close(r->t);
}

#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, \
		   sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE }

/* RFC 9113 8.2.2: a connection-specific field makes the request
 * malformed: a stream error; the connection goes on. */
static void test_connection_header_rejected(void **state)
{
	struct raw raw;
	struct stk_stream *peer;
	nghttp2_nv bad[] = { NV(":method", "GET"), NV(":scheme", "https"),
			     NV(":authority", "a"), NV(":path", "/"),
			     NV("connection", "keep-alive") };
	nghttp2_nv te[] = { NV(":method", "GET"), NV(":scheme", "https"),
			    NV(":authority", "a"), NV(":path", "/"),
			    NV("transfer-encoding", "chunked") };
	nghttp2_nv good[] = { NV(":method", "GET"), NV(":scheme", "https"),
			      NV(":path", "/ok"), NV("host", "h.example"),
			      NV("te", "trailers") };
	int32_t id;

	(void)state;
	memset(&C, 0, sizeof(C));
	assert_int_equal(stk_stream_pair(65536, &peer, &C.st), 0);
	C.srv = l7_h2_server(C.st, &srv_cb, &C, NULL);
	raw_init(&raw, peer, false);
	id = nghttp2_submit_request(raw.ng, NULL, bad, 5, NULL, NULL);
	raw_pump(&raw);
	assert_int_equal(C.nsx, 0);
	assert_int_equal(C.rejected, 1);
	assert_int_equal(C.rej_status, 400);
	assert_string_equal(C.rej_cause, "bad_header");
	assert_int_equal(raw.ncl, 1);
	assert_int_equal(raw.closed_id[0], id);
	assert_int_equal(raw.close_code[0], NGHTTP2_PROTOCOL_ERROR);

	nghttp2_submit_request(raw.ng, NULL, te, 5, NULL, NULL);
	raw_pump(&raw);
	assert_int_equal(C.rejected, 2);
	assert_int_equal(raw.close_code[1], NGHTTP2_PROTOCOL_ERROR);

	id = nghttp2_submit_request(raw.ng, NULL, good, 5, NULL, NULL);
	raw_pump(&raw);
	assert_int_equal(C.nsx, 1);
	/* Host stands in for :authority; te: trailers is kept (it says
	 * the client takes trailers, and goes on to HTTP/2 upstreams) */
	assert_string_equal(C.sx[0]->head.authority, "h.example");
	assert_null(l7_head_get(&C.sx[0]->head, "host", NULL));
	assert_string_equal(l7_head_get(&C.sx[0]->head, "te", NULL),
			    "trailers");
	respond(C.sx[0], 200, "ok", true);
	raw_pump(&raw);
	assert_int_equal(raw.status[id], 200);
	assert_int_equal(C.srv_closed, 0);
	raw_free(&raw);
	assert_int_equal(C.srv_closed, 1);
	assert_int_equal(C.srv_err, 0);
}

static void test_garbage_preface(void **state)
{
	struct stk_stream *peer;
	static const char junk[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	char buf[256];

	(void)state;
	memset(&C, 0, sizeof(C));
	assert_int_equal(stk_stream_pair(65536, &peer, &C.st), 0);
	C.srv = l7_h2_server(C.st, &srv_cb, &C, NULL);
	assert_int_equal(stk_write(peer, junk, sizeof(junk) - 1),
			 (ssize_t)sizeof(junk) - 1);
	assert_int_equal(C.rejected, 1);
	assert_int_equal(C.rej_status, 400);
	assert_string_equal(C.rej_cause, "bad_preface");
	assert_int_equal(C.srv_closed, 1);
	assert_int_equal(C.srv_err, EPROTO);
	while (stk_read(peer, buf, sizeof(buf)) > 0)
		;
	stk_close(peer);
}

/* A GOAWAY from the peer: streams above last_stream_id fail with
 * ECONNREFUSED, the ones below finish, available() drops to 0. */
static void test_goaway_refuses_later_streams(void **state)
{
	struct raw raw;
	struct stk_stream *peer;
	struct rec r1, r3;
	struct l7_exchange *x1, *x3;
	nghttp2_nv resp[] = { NV(":status", "200") };
	char buf[8];
	bool eof;

	(void)state;
	memset(&C, 0, sizeof(C));
	assert_int_equal(stk_stream_pair(65536, &C.ct, &peer), 0);
	C.cli = l7_h2_client(C.ct, &cli_cb, &C, NULL);
	raw_init(&raw, peer, true);
	x1 = request("GET", "/1", true, &r1);
	x3 = request("GET", "/3", true, &r3);
	assert_int_equal(x3->stream_id, 3);
	raw_pump(&raw);
	nghttp2_submit_goaway(raw.ng, NGHTTP2_FLAG_NONE, 1, NGHTTP2_NO_ERROR,
			      NULL, 0);
	raw_pump(&raw);
	assert_int_equal(l7_available(C.cli), 0);
	assert_null(request("GET", "/5", true, &r1));
	assert_int_equal(errno, ESHUTDOWN);
	assert_int_equal(r3.errors, 1);
	assert_int_equal(r3.err, ECONNREFUSED);
	assert_int_equal(C.cli_closed, 0);
	nghttp2_submit_response(raw.ng, 1, resp, 1, NULL);
	raw_pump(&raw);
	assert_int_equal(r1.heads, 1);
	assert_int_equal(r1.errors, 0);
	assert_int_equal(read_all(x1, buf, sizeof(buf), &eof), 0);
	assert_true(eof);
	/* drained: the client says goodbye as well */
	assert_int_equal(C.cli_closed, 1);
	assert_int_equal(C.cli_err, 0);
	stk_close(&x1->body);
	stk_close(&x3->body);
	raw.t = NULL;
	stk_close(peer);
	raw_free(&raw);
}

/* Request heads past the limits get 431 with the cause as the body. */
static void test_head_too_large(void **state)
{
	struct l7_limits lim = { .max_fields = 4 };
	struct l7_head h;
	struct rec r;
	struct l7_exchange *x;
	char buf[64];
	bool eof;
	size_t n;

	(void)state;
	start(65536, &lim, NULL);
	req_init(&h, "GET", "/");
	for (int i = 0; i < 6; i++)
		l7_head_add(&h, "x-f", 3, "v", 1);
	x = l7_request(C.cli, &h, true);
	l7_head_free(&h);
	memset(&r, 0, sizeof(r));
	stk_stream_set_cb(&x->body, on_x_event, &r);
	assert_int_equal(C.nsx, 0);
	assert_int_equal(C.rejected, 1);
	assert_int_equal(C.rej_status, 431);
	/* request() returned before the answer: the next way in delivers */
	n = read_all(x, buf, sizeof(buf), &eof);
	assert_int_equal(x->head.status, 431);
	assert_true(eof);
	assert_int_equal(n, strlen("too_many_fields\n"));
	assert_memory_equal(buf, "too_many_fields\n", n);
	stk_close(&x->body);
}


/* The client keeps to the server's stream limit. */
static void test_peer_limit(void **state)
{
	struct l7_limits lim = { .max_streams = 10 };
	static struct rec r[10];
	struct rec extra;
	int i;

	(void)state;
	start(65536, &lim, NULL);
	assert_non_null(request("GET", "/", true, &r[0]));
	/* the server's SETTINGS came back while the first request went */
	assert_int_equal(l7_available(C.cli), 9);
	for (i = 1; i < 10; i++)
		assert_non_null(request("GET", "/", true, &r[i]));
	assert_int_equal(l7_available(C.cli), 0);
	assert_null(request("GET", "/", true, &extra));
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(C.nsx, 10);
	for (i = 0; i < 10; i++) {
		respond(C.sx[i], 200, NULL, true);
		stk_close(&r[i].x->body);
	}
	assert_int_equal(l7_available(C.cli), 10);
}

/* Expect: 100-continue gets its 100 when the body is first read; 1xx
 * answers never reach the client's consumer. */
static void test_interim(void **state)
{
	struct l7_head h;
	struct rec r;
	struct l7_exchange *x, *sx;
	char buf[16];
	bool eof;

	(void)state;
	start(65536, NULL, NULL);
	req_init(&h, "POST", "/p");
	l7_head_add(&h, "expect", 6, "100-continue", 12);
	x = l7_request(C.cli, &h, false);
	l7_head_free(&h);
	memset(&r, 0, sizeof(r));
	stk_stream_set_cb(&x->body, on_x_event, &r);
	assert_int_equal(C.nsx, 1);
	sx = C.sx[0];
	assert_string_equal(l7_head_get(&sx->head, "expect", NULL),
			    "100-continue");
	assert_int_equal(sx->head.content_length, -1); /* a body, unsized */
	assert_int_equal(stk_read(&sx->body, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(r.heads, 0);
	assert_int_equal(x->head.status, 0);
	assert_int_equal(stk_write(&x->body, "data", 4), 4);
	stk_shutdown(&x->body);
	assert_int_equal(read_all(sx, buf, sizeof(buf), &eof), 4);
	assert_true(eof);
	l7_head_init(&h);
	h.status = 103;
	l7_head_add(&h, "link", 4, "</a>", 4);
	assert_int_equal(l7_send_head(sx, &h, false), 0);
	assert_int_equal(r.heads, 0);
	h.status = 201;
	assert_int_equal(l7_send_head(sx, &h, true), 0);
	assert_int_equal(l7_send_head(sx, &h, true), -EALREADY);
	l7_head_free(&h);
	assert_int_equal(r.heads, 1);
	assert_int_equal(x->head.status, 201);
	assert_int_equal(read_all(x, buf, sizeof(buf), &eof), 0);
	assert_true(eof);
	stk_close(&x->body);
	stk_close(&sx->body);
}

static size_t raw_body_left;

static ssize_t raw_body(nghttp2_session *ng, int32_t id, uint8_t *buf,
			size_t len, uint32_t *flags, nghttp2_data_source *src,
			void *arg)
{
	size_t n = raw_body_left < len ? raw_body_left : len;

	(void)src, (void)arg;
	memset(buf, 'p', n);
	raw_body_left -= n;
	if (!raw_body_left) {
		nghttp2_nv tr[] = { { (uint8_t *)"x-sum", (uint8_t *)"1", 5,
				      1, NGHTTP2_NV_FLAG_NONE } };

		*flags |= NGHTTP2_DATA_FLAG_EOF |
			  NGHTTP2_DATA_FLAG_NO_END_STREAM;
		nghttp2_submit_trailer(ng, id, tr, 1);
	}
	return (ssize_t)n;
}

static ssize_t raw_pad(nghttp2_session *ng, const nghttp2_frame *f,
		       size_t max, void *arg)
{
	(void)ng, (void)arg;
	return f->hd.length + 200 < max ? f->hd.length + 200 : max;
}

/* Padding counts against the windows and is given back by nghttp2;
 * the trailers come with the body's end, not in the head. Far more than a window
 * goes through, so a leak of window would stall this. */
static void test_padding_and_trailers(void **state)
{
	struct raw raw;
	struct stk_stream *peer;
	nghttp2_session_callbacks *cbs;
	nghttp2_nv req[] = { NV(":method", "POST"), NV(":scheme", "https"),
			     NV(":authority", "a"), NV(":path", "/"),
			     NV("te", "trailers") };
	nghttp2_data_provider prd = { .read_callback = raw_body };
	const size_t total = 2u << 20;
	size_t got = 0;
	bool eof = false;
	char buf[4096];
	int rounds = 0;

	(void)state;
	memset(&C, 0, sizeof(C));
	assert_int_equal(stk_stream_pair(65536, &peer, &C.st), 0);
	C.srv = l7_h2_server(C.st, &srv_cb, &C, NULL);
	memset(&raw, 0, sizeof(raw));
	raw.t = peer;
	nghttp2_session_callbacks_new(&cbs);
	nghttp2_session_callbacks_set_select_padding_callback(cbs, raw_pad);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs,
							       raw_on_close);
	nghttp2_session_client_new(&raw.ng, cbs, &raw);
	nghttp2_session_callbacks_del(cbs);
	nghttp2_submit_settings(raw.ng, NGHTTP2_FLAG_NONE, NULL, 0);
	raw_body_left = total;
	nghttp2_submit_request(raw.ng, NULL, req, 5, &prd, NULL);
	while (!eof) {
		ssize_t n;

		raw_pump(&raw);
		if (!C.nsx)
			continue;
		while ((n = stk_read(&C.sx[0]->body, buf, sizeof(buf))) > 0)
			got += (size_t)n;
		if (n == 0)
			eof = true;
		assert_true(++rounds < 100000);
	}
	assert_int_equal(got, total);
	assert_true(l7_h2_rx_peak(C.srv) <= 65535);
	assert_null(l7_head_get(&C.sx[0]->head, "x-sum", NULL));
	assert_string_equal(l7_head_get(&C.sx[0]->trailers_in, "x-sum", NULL),
			    "1");
	respond(C.sx[0], 200, "done", true);
	raw_pump(&raw);
	assert_int_equal(raw.ncl, 1);
	assert_int_equal(raw.close_code[0], NGHTTP2_NO_ERROR);
	raw_free(&raw);
	assert_int_equal(C.srv_closed, 1);
}

/* Trailer fields both ways (gRPC's grpc-status rides on them), with the
 * forbidden ones left out of what is received. */
static void test_trailers(void **state)
{
	struct l7_head h;
	struct l7_exchange *x;
	struct rec r;
	char buf[64];
	bool eof;

	(void)state;
	start(65536, NULL, NULL);
	req_init(&h, "POST", "/svc/Call");
	l7_head_add(&h, "te", 2, "trailers", 8);
	x = l7_request(C.cli, &h, false);
	l7_head_free(&h);
	assert_non_null(x);
	memset(&r, 0, sizeof(r));
	stk_stream_set_cb(&x->body, on_x_event, &r);
	assert_int_equal(stk_write(&x->body, "ping", 4), 4);
	l7_head_add(&x->trailers_out, "x-checksum", 10, "abc", 3);
	assert_int_equal(stk_shutdown(&x->body), 0);

	assert_int_equal(C.nsx, 1);
	assert_string_equal(l7_head_get(&C.sx[0]->head, "te", NULL),
			    "trailers");
	assert_int_equal(read_all(C.sx[0], buf, sizeof(buf), &eof), 4);
	assert_true(eof);
	assert_int_equal(C.sx[0]->trailers_in.nfields, 1);
	assert_string_equal(l7_head_get(&C.sx[0]->trailers_in, "x-checksum",
					NULL), "abc");

	l7_head_init(&h);
	h.status = 200;
	assert_int_equal(l7_send_head(C.sx[0], &h, false), 0);
	l7_head_free(&h);
	assert_int_equal(stk_write(&C.sx[0]->body, "pong", 4), 4);
	l7_head_add(&C.sx[0]->trailers_out, "grpc-status", 11, "0", 1);
	l7_head_add(&C.sx[0]->trailers_out, "grpc-message", 12, "ok", 2);
	assert_int_equal(stk_shutdown(&C.sx[0]->body), 0);
	stk_close(&C.sx[0]->body);

	assert_int_equal(r.heads, 1);
	assert_int_equal(read_all(x, buf, sizeof(buf), &eof), 4);
	assert_true(eof);
	assert_memory_equal(buf, "pong", 4);
	assert_int_equal(x->trailers_in.nfields, 2);
	assert_string_equal(l7_head_get(&x->trailers_in, "grpc-status", NULL),
			    "0");
	assert_string_equal(l7_head_get(&x->trailers_in, "grpc-message",
					NULL), "ok");
	assert_null(l7_head_get(&x->head, "grpc-status", NULL));
	assert_int_equal(r.errors, 0);
	stk_close(&x->body);
}

/* A malformed response: the exchange fails with EPROTO, rejected() says
 * 502 with a cause, the connection goes on. */
static void test_bad_response(void **state)
{
	struct raw raw;
	struct stk_stream *peer;
	struct rec r1, r3;
	struct l7_exchange *x1, *x3;
	nghttp2_nv bad[] = { NV(":status", "200"), NV("connection", "close") };
	nghttp2_nv good[] = { NV(":status", "200"), NV("x-a", "b") };

	(void)state;
	memset(&C, 0, sizeof(C));
	assert_int_equal(stk_stream_pair(65536, &C.ct, &peer), 0);
	C.cli = l7_h2_client(C.ct, &cli_cb, &C, NULL);
	raw_init(&raw, peer, true);
	x1 = request("GET", "/1", true, &r1);
	x3 = request("GET", "/3", true, &r3);
	raw_pump(&raw);
	nghttp2_submit_response(raw.ng, 1, bad, 2, NULL);
	raw_pump(&raw);
	assert_int_equal(r1.errors, 1);
	assert_int_equal(r1.err, EPROTO);
	assert_int_equal(r1.heads, 0);
	assert_int_equal(C.rejected, 1);
	assert_int_equal(C.rej_status, 502);
	assert_string_equal(C.rej_cause, "bad_header");
	nghttp2_submit_response(raw.ng, 3, good, 2, NULL);
	raw_pump(&raw);
	assert_int_equal(r3.heads, 1);
	{
		/* nghttp2 lets any three digits through */
		nghttp2_nv zero[] = { NV(":status", "000") };
		struct rec r5;
		struct l7_exchange *x5 = request("GET", "/5", true, &r5);

		raw_pump(&raw);
		nghttp2_submit_response(raw.ng, 5, zero, 1, NULL);
		raw_pump(&raw);
		assert_int_equal(r5.heads, 0);
		assert_int_equal(r5.err, EPROTO);
		assert_string_equal(C.rej_cause, "bad_status");
		stk_close(&x5->body);
	}
	assert_string_equal(l7_head_get(&x3->head, "x-a", NULL), "b");
	stk_close(&x1->body);
	stk_close(&x3->body);
	assert_int_equal(C.cli_closed, 0);
	raw_free(&raw);
	assert_int_equal(C.cli_closed, 1);
	assert_int_equal(C.cli_err, 0);
}


/* A client that resets nearly everything it asks for is cut off
 * (nghttp2 1.52 has no limit of its own: CVE-2023-44487). */
static void test_rapid_reset(void **state)
{
	struct raw raw;
	struct stk_stream *peer;
	nghttp2_nv req[] = { NV(":method", "GET"), NV(":scheme", "https"),
			     NV(":authority", "a"), NV(":path", "/") };
	int i;

	(void)state;
	memset(&C, 0, sizeof(C));
	assert_int_equal(stk_stream_pair(1 << 20, &peer, &C.st), 0);
	C.srv = l7_h2_server(C.st, &srv_cb, &C, NULL);
	raw_init(&raw, peer, false);
	for (i = 0; i < 500 && C.srv; i++) {
		int32_t id = nghttp2_submit_request(raw.ng, NULL, req, 4,
						    NULL, NULL);

		raw_pump(&raw); /* before the HEADERS left, RST cancels them */
		nghttp2_submit_rst_stream(raw.ng, NGHTTP2_FLAG_NONE, id,
					  NGHTTP2_CANCEL);
		raw_pump(&raw);
	}
	assert_true(i < 500);
	assert_int_equal(C.rej_status, 400);
	assert_string_equal(C.rej_cause, "rapid_reset");
	assert_int_equal(C.srv_closed, 1);
	assert_int_equal(C.srv_err, EPROTO);
	for (i = 0; i < C.nsx; i++)
		stk_close(&C.sx[i]->body);
	raw_free(&raw);
}

/* Header blocks that never end (CONTINUATION after CONTINUATION) end
 * the connection instead of burning the worker. */
static void test_head_flood(void **state)
{
	struct raw raw;
	struct stk_stream *peer;
	struct l7_limits lim = { .max_head_bytes = 1024 };
	static nghttp2_nv req[300];
	static char names[300][8], value[1024];
	nghttp2_session_callbacks *cbs;
	nghttp2_option *opt;

	(void)state;
	memset(&C, 0, sizeof(C));
	assert_int_equal(stk_stream_pair(1 << 20, &peer, &C.st), 0);
	C.srv = l7_h2_server(C.st, &srv_cb, &C, &lim);
	memset(&raw, 0, sizeof(raw));
	raw.t = peer;
	nghttp2_session_callbacks_new(&cbs);
	nghttp2_option_new(&opt);
	nghttp2_option_set_max_send_header_block_length(opt, 1 << 20);
	nghttp2_session_client_new2(&raw.ng, cbs, &raw, opt);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cbs);
	nghttp2_submit_settings(raw.ng, NGHTTP2_FLAG_NONE, NULL, 0);
	memset(value, 'v', sizeof(value) - 1);
	req[0] = (nghttp2_nv)NV(":method", "GET");
	req[1] = (nghttp2_nv)NV(":scheme", "https");
	req[2] = (nghttp2_nv)NV(":authority", "a");
	req[3] = (nghttp2_nv)NV(":path", "/");
	for (int i = 4; i < 300; i++) {
		snprintf(names[i], sizeof(names[i]), "x-%d", i);
		req[i] = (nghttp2_nv){ (uint8_t *)names[i], (uint8_t *)value,
				       strlen(names[i]), sizeof(value) - 1,
				       NGHTTP2_NV_FLAG_NO_INDEX };
	}
	nghttp2_submit_request(raw.ng, NULL, req, 300, NULL, NULL);
	raw_pump(&raw);
	assert_int_equal(C.nsx, 0);
	assert_string_equal(C.rej_cause, "head_flood");
	assert_int_equal(C.srv_closed, 1);
	assert_int_equal(C.srv_err, EPROTO);
	raw_free(&raw);
}


static const uint8_t client_preface[] =
	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	"\x00\x00\x00\x04\x00\x00\x00\x00\x00";

/* A connection error: GOAWAY with its code, rejected() with a cause. */
static void test_compression_error(void **state)
{
	struct stk_stream *peer;
	/* HEADERS, END_HEADERS, stream 1, HPACK index 0: invalid */
	static const uint8_t bad[] = "\x00\x00\x01\x01\x04\x00\x00\x00\x01\x80";
	uint8_t buf[4096];
	ssize_t n;
	size_t got = 0, off = 0;
	bool goaway = false;

	(void)state;
	memset(&C, 0, sizeof(C));
	assert_int_equal(stk_stream_pair(65536, &peer, &C.st), 0);
	C.srv = l7_h2_server(C.st, &srv_cb, &C, NULL);
	assert_int_equal(stk_write(peer, client_preface,
				   sizeof(client_preface) - 1),
			 (ssize_t)sizeof(client_preface) - 1);
	assert_int_equal(stk_write(peer, bad, sizeof(bad) - 1),
			 (ssize_t)sizeof(bad) - 1);
	assert_int_equal(C.rejected, 1);
	assert_int_equal(C.rej_status, 400);
	assert_string_equal(C.rej_cause, "compression_error");
	assert_int_equal(C.srv_closed, 1);
	assert_int_equal(C.srv_err, EPROTO);
	/* the GOAWAY got out before the end */
	while ((n = stk_read(peer, buf + got, sizeof(buf) - got)) > 0)
		got += (size_t)n;
	assert_int_equal(n, 0);
	while (off + 9 <= got) {
		size_t len = (size_t)buf[off] << 16 | buf[off + 1] << 8 |
			     buf[off + 2];

		if (buf[off + 3] == 7) {
			goaway = true;
			assert_int_equal(buf[off + 9 + 7], NGHTTP2_COMPRESSION_ERROR);
		}
		off += 9 + len;
	}
	assert_true(goaway);
	stk_close(peer);
}

/* A peer that sends PINGs and never reads: the answers cannot pile up;
 * nghttp2's flood limit ends the connection. */
static void test_ping_flood(void **state)
{
	struct stk_stream *peer;
	static const uint8_t ping[] = "\x00\x00\x08\x06\x00\x00\x00\x00\x00"
				      "12345678";
	int i;

	(void)state;
	memset(&C, 0, sizeof(C));
	assert_int_equal(stk_stream_pair(4096, &peer, &C.st), 0);
	C.srv = l7_h2_server(C.st, &srv_cb, &C, NULL);
	stk_write(peer, client_preface, sizeof(client_preface) - 1);
	for (i = 0; i < 100000 && C.srv; i++)
		if (stk_write(peer, ping, sizeof(ping) - 1) < 0)
			break;
	assert_true(i < 100000);
	assert_int_equal(C.srv_closed, 1);
	assert_string_equal(C.rej_cause, "flood");
	stk_close(peer);
}


/* A sniffer read the start of the preface and hands the engine a stream
 * that replays it (stk_stream_prefixed); the engine reads nothing until
 * told, then takes the request. */
static void test_sniffed_preface(void **state)
{
	struct raw raw;
	struct stk_stream *peer, *replay;
	nghttp2_nv req[] = { NV(":method", "GET"), NV(":scheme", "http"),
			     NV(":authority", "a"), NV(":path", "/sniffed") };
	static uint8_t first[65536];
	size_t n = 0;
	const uint8_t *d;
	ssize_t k;

	(void)state;
	memset(&C, 0, sizeof(C));
	assert_int_equal(stk_stream_pair(65536, &peer, &C.st), 0);
	raw_init(&raw, peer, false);
	nghttp2_submit_request(raw.ng, NULL, req, 4, NULL, NULL);
	while ((k = nghttp2_session_mem_send(raw.ng, &d)) > 0) {
		memcpy(first + n, d, (size_t)k);
		n += (size_t)k;
	}
	/* the sniffer took 16 bytes; the rest is still in the socket */
	assert_int_equal(stk_write(peer, first + 16, n - 16),
			 (ssize_t)(n - 16));
	replay = stk_stream_prefixed(C.st, first, 16);
	assert_non_null(replay);
	C.st = replay;
	C.srv = l7_h2_server(replay, &srv_cb, &C, NULL);
	assert_int_equal(C.nsx, 0);
	stk_stream_notify(replay, STK_EV_READABLE);
	assert_int_equal(C.nsx, 1);
	assert_string_equal(C.sx[0]->head.path, "/sniffed");
	respond(C.sx[0], 200, "ok", true);
	raw_pump(&raw);
	assert_int_equal(raw.status[1], 200);
	assert_int_equal(C.rejected, 0);
	raw_free(&raw);
	assert_int_equal(C.srv_closed, 1);
}


static int tunnel_ended;
static enum stk_close_reason tunnel_why;

static void on_tunnel_end(struct stk_tunnel *t, enum stk_close_reason why,
			  void *arg)
{
	(void)t, (void)arg;
	tunnel_ended++;
	tunnel_why = why;
}

/* Writes pattern bytes until the stream is full; shuts it at the end. */
static void pump_out(struct stk_stream *s, size_t *sent, size_t total,
		     uint32_t seed, bool *shut)
{
	uint8_t buf[8192];

	while (*sent < total) {
		size_t len = total - *sent;
		ssize_t n;

		if (len > sizeof(buf))
			len = sizeof(buf);
		for (size_t i = 0; i < len; i++)
			buf[i] = pattern(*sent + i, seed);
		n = stk_write(s, buf, len);
		if (n == -EAGAIN)
			return;
		assert_true(n > 0);
		*sent += (size_t)n;
	}
	if (!*shut) {
		*shut = true;
		assert_int_equal(stk_shutdown(s), 0);
	}
}

/* Reads at most step bytes and checks them. */
static void pump_in(struct stk_stream *s, size_t *got, uint32_t seed,
		    size_t step, bool *eof)
{
	uint8_t buf[8192];
	ssize_t n;

	if (*eof)
		return;
	n = stk_read(s, buf, step < sizeof(buf) ? step : sizeof(buf));
	if (n == -EAGAIN)
		return;
	assert_true(n >= 0);
	if (!n) {
		*eof = true;
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] != pattern(*got + (size_t)i, seed))
			fail_msg("byte %zu differs", *got + (size_t)i);
	*got += (size_t)n;
}

/* What the proxy will do with a CONNECT: join the exchange's body to an
 * upstream stream with stk_tunnel, which moves only on events. A missing
 * READABLE or WRITABLE edge from the engine would stall it. */
static void test_connect_through_tunnel(void **state)
{
	const size_t N = 1u << 20;
	struct stk_stream *up_proxy, *up_app;
	struct stk_tunnel t;
	uint64_t now = 0;
	struct l7_head h;
	struct rec r;
	struct l7_exchange *x;
	size_t up_sent = 0, up_got = 0, down_sent = 0, down_got = 0;
	bool up_shut = false, up_eof = false, down_shut = false,
	     down_eof = false;
	long rounds = 0;

	(void)state;
	start(3000, NULL, NULL);
	l7_head_init(&h);
	l7_head_set_slot(&h.method, "CONNECT", 7);
	l7_head_set_slot(&h.authority, "upstream:443", 12);
	x = l7_request(C.cli, &h, false);
	l7_head_free(&h);
	memset(&r, 0, sizeof(r));
	stk_stream_set_cb(&x->body, on_x_event, &r);
	assert_int_equal(C.nsx, 1);
	l7_head_init(&h);
	h.status = 200;
	assert_int_equal(l7_send_head(C.sx[0], &h, false), 0);
	l7_head_free(&h);
	assert_int_equal(stk_stream_pair(4096, &up_proxy, &up_app), 0);
	tunnel_ended = 0;
	stk_tunnel_init(&t, &C.sx[0]->body, up_proxy, 2048, &now,
			on_tunnel_end, NULL);
	while (!(up_eof && down_eof)) {
		pump_out(&x->body, &up_sent, N, 3, &up_shut);
		pump_in(up_app, &up_got, 3, 5000, &up_eof);
		pump_out(up_app, &down_sent, N, 9, &down_shut);
		pump_in(&x->body, &down_got, 9, 700, &down_eof);
		assert_true(++rounds < 10 * 1000 * 1000);
	}
	assert_int_equal(up_got, N);
	assert_int_equal(down_got, N);
	assert_int_equal(tunnel_ended, 1);
	assert_int_equal(tunnel_why, STK_CLOSE_DONE);
	assert_int_equal(r.errors, 0);
	stk_close(&x->body);
	stk_close(up_app);
	/* the stream finished both ways: the connection is idle again */
	assert_int_equal(l7_available(C.cli), 100);
}

/* The server side of a tunnel aborting (its TCP upstream reset) says
 * CONNECT_ERROR. */
static void test_connect_error(void **state)
{
	struct raw raw;
	struct stk_stream *peer;
	nghttp2_nv req[] = { NV(":method", "CONNECT"),
			     NV(":authority", "a:443") };
	struct l7_head h;

	(void)state;
	memset(&C, 0, sizeof(C));
	assert_int_equal(stk_stream_pair(65536, &peer, &C.st), 0);
	C.srv = l7_h2_server(C.st, &srv_cb, &C, NULL);
	raw_init(&raw, peer, false);
	nghttp2_submit_request(raw.ng, NULL, req, 2, NULL, NULL);
	raw_pump(&raw);
	assert_int_equal(C.nsx, 1);
	assert_null(C.sx[0]->head.path);
	l7_head_init(&h);
	h.status = 200;
	h.content_length = 0; /* not sent on a tunnel */
	assert_int_equal(l7_send_head(C.sx[0], &h, false), 0);
	l7_head_free(&h);
	raw_pump(&raw);
	assert_int_equal(raw.status[1], 200);
	stk_abort(&C.sx[0]->body);
	raw_pump(&raw);
	assert_int_equal(raw.ncl, 1);
	assert_int_equal(raw.close_code[0], NGHTTP2_CONNECT_ERROR);
	raw_free(&raw);
}

/* An upstream's response head past the client's limits fails that
 * exchange (EPROTO, rejected 502) and only it. */
static void test_response_head_too_large(void **state)
{
	struct raw raw;
	struct stk_stream *peer;
	struct l7_limits lim = { .max_fields = 3 };
	struct rec r1, r3;
	struct l7_exchange *x1, *x3;
	nghttp2_nv big[] = { NV(":status", "200"), NV("a", "1"),
			     NV("b", "2"), NV("c", "3"), NV("d", "4") };
	nghttp2_nv ok[] = { NV(":status", "204") };

	(void)state;
	memset(&C, 0, sizeof(C));
	assert_int_equal(stk_stream_pair(65536, &C.ct, &peer), 0);
	C.cli = l7_h2_client(C.ct, &cli_cb, &C, &lim);
	raw_init(&raw, peer, true);
	x1 = request("GET", "/1", true, &r1);
	x3 = request("GET", "/3", true, &r3);
	raw_pump(&raw);
	nghttp2_submit_response(raw.ng, 1, big, 5, NULL);
	nghttp2_submit_response(raw.ng, 3, ok, 1, NULL);
	raw_pump(&raw);
	assert_int_equal(r1.err, EPROTO);
	assert_int_equal(r1.heads, 0);
	assert_int_equal(C.rej_status, 502);
	assert_string_equal(C.rej_cause, "head_too_large");
	assert_int_equal(r3.heads, 1);
	assert_int_equal(x3->head.status, 204);
	stk_close(&x1->body);
	stk_close(&x3->body);
	raw_free(&raw);
	assert_int_equal(C.cli_closed, 1);
}

/* The connection ends inside the exchange's own call (the in-memory
 * peer answers at once): the call's return value says so, no
 * STK_EV_ERROR comes into it (a tunnel pumping there would free what it
 * still uses). */
static void test_error_inside_own_call(void **state)
{
	struct rec r;
	struct l7_exchange *x;
	struct l7_head h;

	(void)state;
	start(65536, NULL, NULL);
	C.abort_cli_in_head = true;
	x = request("GET", "/", true, &r);
	assert_int_equal(C.nsx, 1);
	l7_head_init(&h);
	h.status = 200;
	assert_int_equal(l7_send_head(C.sx[0], &h, false), -ECONNRESET);
	l7_head_free(&h);
	assert_int_equal(C.cli_closed, 1);
	assert_int_equal(C.srv_closed, 1);
	assert_int_equal(C.srec[0].errors, 0);
	assert_int_equal(C.sx[0]->body.error, ECONNRESET);
	assert_int_equal(stk_write(&C.sx[0]->body, "x", 1), -ECONNRESET);
	stk_close(&C.sx[0]->body);
	stk_close(&x->body);
}

/* The server answers before the request body is in and lets go: the
 * client gets the whole answer without error, and the rest of its body
 * is refused (RST_STREAM NO_ERROR, RFC 9113 8.1). */
static void test_early_answer(void **state)
{
	struct rec r;
	struct l7_exchange *x;
	char buf[32];
	bool eof;

	(void)state;
	start(65536, NULL, NULL);
	x = request("POST", "/big-upload", false, &r);
	assert_int_equal(stk_write(&x->body, "part", 4), 4);
	assert_int_equal(C.nsx, 1);
	respond(C.sx[0], 413, "too big", true);
	assert_int_equal(r.heads, 1);
	assert_int_equal(x->head.status, 413);
	assert_int_equal(read_all(x, buf, sizeof(buf), &eof), 7);
	assert_true(eof);
	assert_int_equal(r.errors, 0);
	assert_int_equal(stk_write(&x->body, "more", 4), -EPIPE);
	stk_close(&x->body);
	assert_int_equal(l7_available(C.cli), 100);
	assert_int_equal(C.cli_closed + C.srv_closed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_get, teardown),
		cmocka_unit_test_teardown(test_concurrent_and_limit, teardown),
		cmocka_unit_test_teardown(test_server_limit_refuses, teardown),
		cmocka_unit_test_teardown(test_big_bodies_small_pipe,
					  teardown),
		cmocka_unit_test_teardown(test_big_bodies_big_window,
					  teardown),
		cmocka_unit_test_teardown(test_rst_from_client, teardown),
		cmocka_unit_test_teardown(test_rst_from_server, teardown),
		cmocka_unit_test_teardown(test_goaway_drains, teardown),
		cmocka_unit_test_teardown(test_extended_connect, teardown),
		cmocka_unit_test_teardown(test_plain_connect, teardown),
		cmocka_unit_test_teardown(test_connect_error, teardown),
		cmocka_unit_test_teardown(test_abort_from_callbacks, teardown),
		cmocka_unit_test_teardown(test_error_inside_own_call, teardown),
		cmocka_unit_test_teardown(test_early_answer, teardown),
		cmocka_unit_test_teardown(test_connection_header_rejected,
					  teardown),
		cmocka_unit_test_teardown(test_garbage_preface, teardown),
		cmocka_unit_test_teardown(test_goaway_refuses_later_streams,
					  teardown),
		cmocka_unit_test_teardown(test_head_too_large, teardown),
		cmocka_unit_test_teardown(test_peer_limit, teardown),
		cmocka_unit_test_teardown(test_interim, teardown),
		cmocka_unit_test_teardown(test_padding_and_trailers, teardown),
		cmocka_unit_test_teardown(test_trailers, teardown),
		cmocka_unit_test_teardown(test_bad_response, teardown),
		cmocka_unit_test_teardown(test_response_head_too_large,
					  teardown),
		cmocka_unit_test_teardown(test_rapid_reset, teardown),
		cmocka_unit_test_teardown(test_head_flood, teardown),
		cmocka_unit_test_teardown(test_compression_error, teardown),
		cmocka_unit_test_teardown(test_ping_flood, teardown),
		cmocka_unit_test_teardown(test_sniffed_preface, teardown),
		cmocka_unit_test_teardown(test_connect_through_tunnel,
					  teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
