/* l7_h1_conn over in-memory pairs: a server engine with a small origin
 * behind it, talking to a client engine or to raw bytes. Keep-alive,
 * pipelining, 1 MB bodies both ways through small buffers (checksums),
 * 100-continue, CONNECT, HEAD, HTTP/1.0, smuggling refused, abort,
 * premature upstream EOF, interim answers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "l7/l7_http.h"

static uint8_t pat(uint64_t i)
{
	return (uint8_t)(i * 31 + 7 + (i >> 11));
}

static uint32_t sum_add(uint32_t s, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s = (s ^ b[i]) * 16777619u;
	return s;
}

static uint32_t pat_sum(uint64_t n)
{
	uint32_t s = 2166136261u;

	for (uint64_t i = 0; i < n; i++) {
		uint8_t b = pat(i);

		s = sum_add(s, &b, 1);
	}
	return s;
}

/* ---- the origin behind the server engine ---------------------------- */

struct srv {
	struct l7_conn *c;
	struct l7_exchange *x;
	int nex, rejected, closed, closed_err;
	const char *cause;
	bool hold;            /* do not read the body until told */
	bool echo;            /* CONNECT: echo raw bytes */
	int status;           /* answer status (200) */
	int64_t resp_len;     /* -1: unknown length */
	uint64_t resp_size;   /* bytes to send */
	bool len_from_path;   /* answer = the request path */
	bool early;           /* answer at once, without reading */
	bool take_head;       /* move the request head out, as the proxy */
	struct l7_head taken;
	int eagain;           /* writes refused for room */
	/* the current exchange */
	uint64_t rx, tx;
	uint32_t rx_sum;
	bool rx_eof, head_sent, got_error;
	char path[64];
	uint32_t last_rx_sum;
	uint64_t last_rx;
	unsigned pending;     /* events raised while we were inside */
	bool busy;
	uint8_t ebuf[2048];   /* echo bytes not yet written */
	size_t elen, eoff;
	const char *resp_trailer; /* x-sum to send after the body */
	char trailer[32];     /* x-sum that came after the request body */
};

static void srv_event(struct stk_stream *s, unsigned ev, void *arg);

static void srv_finish(struct srv *v)
{
	struct l7_exchange *x = v->x;

	v->x = NULL;
	v->last_rx = v->rx;
	v->last_rx_sum = v->rx_sum;
	stk_close(&x->body);
}

static void srv_send(struct srv *v)
{
	struct l7_exchange *x = v->x;
	uint8_t buf[3000];

	if (!v->head_sent) {
		struct l7_head h;
		bool end;

		l7_head_init(&h);
		h.status = v->status ? v->status : 200;
		if (v->len_from_path)
			v->resp_size = strlen(v->path);
		h.content_length = v->resp_len < 0 ? -1 : (int64_t)v->resp_size;
		if (v->echo)
			h.content_length = -1;
		l7_head_add(&h, "x-served", 8, "yes", 3);
		end = !v->echo && v->resp_size == 0;
		assert_int_equal(l7_send_head(x, &h, end), 0);
		l7_head_free(&h);
		v->head_sent = true;
		if (!strcmp(v->take_head ? v->taken.method : x->head.method,
			    "HEAD") || end) {
			srv_finish(v);
			return;
		}
	}
	if (v->echo)
		return;
	while (v->tx < v->resp_size) {
		size_t n = sizeof(buf);
		ssize_t w;

		if (n > v->resp_size - v->tx)
			n = (size_t)(v->resp_size - v->tx);
		for (size_t i = 0; i < n; i++)
			buf[i] = v->len_from_path ? (uint8_t)v->path[v->tx + i] :
				 pat(v->tx + i);
		w = stk_write(&x->body, buf, n);
		if (w == -EAGAIN) {
			v->eagain++;
			return;
		}
		assert_true(w > 0);
		v->tx += (uint64_t)w;
	}
	if (v->resp_trailer)
		l7_head_add(&x->trailers_out, "x-sum", 5, v->resp_trailer,
			    strlen(v->resp_trailer));
	srv_finish(v);
}

static void srv_work(struct srv *v, unsigned ev);

/* Callbacks may come from inside our own calls into the engine: queue
 * them, as stk_tunnel does. */
static void srv_event(struct stk_stream *s, unsigned ev, void *arg)
{
	struct srv *v = arg;

	(void)s;
	v->pending |= ev;
	if (v->busy)
		return;
	v->busy = true;
	while (v->pending) {
		ev = v->pending;
		v->pending = 0;
		srv_work(v, ev);
	}
	v->busy = false;
}

static void srv_work(struct srv *v, unsigned ev)
{
	uint8_t buf[2048];

	if (!v->x)
		return;
	if (ev & STK_EV_ERROR) {
		v->got_error = true;
		srv_finish(v);
		return;
	}
	if (v->hold)
		return;
	while (v->echo && v->head_sent && !v->rx_eof) {
		ssize_t n;

		if (v->eoff < v->elen) {
			n = stk_write(&v->x->body, v->ebuf + v->eoff,
				      v->elen - v->eoff);
			if (n == -EAGAIN)
				return;
			assert_true(n > 0);
			v->eoff += (size_t)n;
			continue;
		}
		n = stk_read(&v->x->body, v->ebuf, sizeof(v->ebuf));
		if (n == -EAGAIN)
			return;
		assert_true(n >= 0);
		if (n == 0)
			v->rx_eof = true;
		v->rx_sum = sum_add(v->rx_sum, v->ebuf, (size_t)n);
		v->rx += (uint64_t)n;
		v->elen = (size_t)n;
		v->eoff = 0;
	}
	while (!v->rx_eof) {
		ssize_t n = stk_read(&v->x->body, buf, sizeof(buf));

		if (n == -EAGAIN)
			break;
		if (n < 0) {
			v->got_error = true;
			srv_finish(v);
			return;
		}
		if (n == 0) {
			const char *t = l7_head_get(&v->x->trailers_in,
						    "x-sum", NULL);

			v->rx_eof = true;
			snprintf(v->trailer, sizeof(v->trailer), "%s",
				 t ? t : "");
			break;
		}
		v->rx_sum = sum_add(v->rx_sum, buf, (size_t)n);
		v->rx += (uint64_t)n;
	}
	if (v->echo && v->head_sent && v->rx_eof) {
		stk_shutdown(&v->x->body);
		srv_finish(v);
		return;
	}
	if (v->rx_eof || v->echo)
		srv_send(v);
}

static void srv_exchange(void *arg, struct l7_exchange *x)
{
	struct srv *v = arg;

	assert_null(v->x);
	v->x = x;
	v->nex++;
	v->rx = v->tx = 0;
	v->rx_sum = 2166136261u;
	v->rx_eof = v->head_sent = v->got_error = false;
	v->pending = 0;
	v->elen = v->eoff = 0;
	snprintf(v->path, sizeof(v->path), "%s", x->head.path ? x->head.path :
		 x->head.authority);
	if (v->take_head) {
		l7_head_free(&v->taken);
		v->taken = x->head;
		l7_head_init(&x->head);
	}
	stk_stream_set_cb(&x->body, srv_event, v);
	if (v->echo || v->early)
		srv_send(v); /* 200 or 101 at once, then echo */
}

static void srv_rejected(void *arg, struct l7_conn *c, int status,
			 const char *cause)
{
	struct srv *v = arg;

	(void)c;
	v->rejected = status;
	v->cause = cause;
}

static void srv_closed(void *arg, struct l7_conn *c, int err)
{
	struct srv *v = arg;

	(void)c;
	v->closed++;
	v->closed_err = err;
	v->c = NULL;
}

static const struct l7_conn_cb srv_cb = {
	.exchange = srv_exchange,
	.rejected = srv_rejected,
	.closed = srv_closed,
};

/* ---- the proxy's side of a client engine ---------------------------- */

struct cli {
	struct l7_conn *c;
	struct l7_exchange *x;
	int status, ready, closed, closed_err, rejected;
	int64_t content_length;
	uint64_t rx, tx, req_size;
	uint32_t rx_sum;
	bool rx_eof, got_head, got_error, echo_done;
	bool keep;            /* leave x open at the end of the body */
	char data[256];       /* raw bytes received in a tunnel */
	unsigned pending;
	bool busy;
	const char *req_trailer; /* x-sum to send after the body */
	char trailer[32];     /* x-sum that came after the response body */
};

static void cli_work(struct cli *k, unsigned ev);

static void cli_event(struct stk_stream *s, unsigned ev, void *arg)
{
	struct cli *k = arg;

	(void)s;
	k->pending |= ev;
	if (k->busy)
		return;
	k->busy = true;
	while (k->pending) {
		ev = k->pending;
		k->pending = 0;
		cli_work(k, ev);
	}
	k->busy = false;
}

static void cli_work(struct cli *k, unsigned ev)
{
	uint8_t buf[1500];

	if (!k->x)
		return;
	if (ev & STK_EV_ERROR) {
		k->got_error = true;
		stk_close(&k->x->body);
		k->x = NULL;
		return;
	}
	(void)ev;
	/* the head is in x->head before any body byte can be read, but
	 * L7_EV_HEAD may still be queued behind our own read() */
	if (!k->got_head && k->x->head.status) {
		k->got_head = true;
		k->status = k->x->head.status;
		k->content_length = k->x->head.content_length;
	}
	while (k->tx < k->req_size) {
		size_t n = sizeof(buf);
		ssize_t w;

		if (n > k->req_size - k->tx)
			n = (size_t)(k->req_size - k->tx);
		for (size_t i = 0; i < n; i++)
			buf[i] = pat(k->tx + i);
		w = stk_write(&k->x->body, buf, n);
		if (w == -EAGAIN)
			break;
		assert_true(w > 0);
		k->tx += (uint64_t)w;
		if (k->tx == k->req_size && k->req_trailer)
			l7_head_add(&k->x->trailers_out, "x-sum", 5,
				    k->req_trailer, strlen(k->req_trailer));
		if (k->tx == k->req_size)
			stk_shutdown(&k->x->body);
	}
	while (!k->rx_eof) {
		ssize_t n = stk_read(&k->x->body, buf, sizeof(buf));

		if (!k->got_head && k->x->head.status) {
			k->got_head = true;
			k->status = k->x->head.status;
			k->content_length = k->x->head.content_length;
		}
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			k->got_error = true;
			stk_close(&k->x->body);
			k->x = NULL;
			return;
		}
		if (n == 0) {
			const char *t = l7_head_get(&k->x->trailers_in,
						    "x-sum", NULL);

			k->rx_eof = true;
			snprintf(k->trailer, sizeof(k->trailer), "%s",
				 t ? t : "");
			break;
		}
		if (k->rx + (uint64_t)n < sizeof(k->data))
			memcpy(k->data + k->rx, buf, (size_t)n);
		k->rx_sum = sum_add(k->rx_sum, buf, (size_t)n);
		k->rx += (uint64_t)n;
	}
	if (k->rx_eof && k->tx == k->req_size && !k->keep) {
		stk_close(&k->x->body);
		k->x = NULL;
	}
}

static void cli_ready(void *arg, struct l7_conn *c)
{
	struct cli *k = arg;

	(void)c;
	k->ready++;
}

static void cli_closed(void *arg, struct l7_conn *c, int err)
{
	struct cli *k = arg;

	(void)c;
	k->closed++;
	k->closed_err = err;
	k->c = NULL;
}

static void cli_rejected(void *arg, struct l7_conn *c, int status,
			 const char *cause)
{
	struct cli *k = arg;

	(void)c;
	(void)cause;
	k->rejected = status;
}

static const struct l7_conn_cb cli_cb = {
	.rejected = cli_rejected,
	.ready = cli_ready,
	.closed = cli_closed,
};

/* Start a request; body of req_size bytes (content_length: its size or
 * -1 for chunked). */
static void cli_request_proto(struct cli *k, const char *method,
			      const char *path, uint64_t req_size, bool chunked,
			      const char *protocol)
{
	struct l7_head h;

	l7_head_init(&h);
	if (protocol)
		l7_head_set_slot(&h.protocol, protocol, strlen(protocol));
	l7_head_set_slot(&h.method, method, strlen(method));
	if (!strcmp(method, "CONNECT"))
		l7_head_set_slot(&h.authority, path, strlen(path));
	else {
		l7_head_set_slot(&h.path, path, strlen(path));
		l7_head_set_slot(&h.authority, "origin", 6);
	}
	h.content_length = chunked ? -1 : (int64_t)req_size;
	l7_head_add(&h, "user-agent", 10, "test", 4);
	assert_int_equal(l7_available(k->c), 1);
	k->x = l7_request(k->c, &h, req_size == 0 && strcmp(method, "CONNECT"));
	assert_non_null(k->x);
	l7_head_free(&h);
	k->rx = k->tx = 0;
	k->req_size = req_size;
	k->rx_sum = 2166136261u;
	k->rx_eof = k->got_head = k->got_error = false;
	k->status = 0;
	k->pending = 0;
	stk_stream_set_cb(&k->x->body, cli_event, k);
	/* events raised during request() wait for us: look now */
	cli_event(&k->x->body, STK_EV_READABLE | STK_EV_WRITABLE, k);
}

static void cli_request(struct cli *k, const char *method, const char *path,
			uint64_t req_size, bool chunked)
{
	cli_request_proto(k, method, path, req_size, chunked, NULL);
}

struct pair {
	struct srv v;
	struct cli k;
};

static void setup_pair(struct pair *p, size_t cap, uint32_t send_buffer)
{
	struct stk_stream *a, *b;
	struct l7_limits lim = { .send_buffer = send_buffer };

	memset(p, 0, sizeof(*p));
	assert_int_equal(stk_stream_pair(cap, &a, &b), 0);
	p->v.c = l7_h1_server(a, &srv_cb, &p->v, &lim);
	p->k.c = l7_h1_client(b, &cli_cb, &p->k, &lim);
	assert_non_null(p->v.c);
	assert_non_null(p->k.c);
}

static void teardown_pair(struct pair *p)
{
	if (p->k.c)
		p->k.c->ops->shutdown(p->k.c);
	assert_null(p->k.c);
	assert_null(p->v.c);
}

/* ---- raw peers ------------------------------------------------------ */

static size_t raw_read(struct stk_stream *s, char *buf, size_t cap, bool *eof)
{
	size_t n = 0;

	*eof = false;
	while (n < cap - 1) {
		ssize_t r = stk_read(s, buf + n, cap - 1 - n);

		if (r == 0)
			*eof = true;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return n;
}

static void raw_write(struct stk_stream *s, const char *m)
{
	assert_int_equal(stk_write(s, m, strlen(m)), (ssize_t)strlen(m));
}

static struct stk_stream *raw_server(struct srv *v, size_t cap)
{
	struct stk_stream *a, *b;

	memset(v, 0, sizeof(*v));
	assert_int_equal(stk_stream_pair(cap, &a, &b), 0);
	v->c = l7_h1_server(a, &srv_cb, v, NULL);
	assert_non_null(v->c);
	return b;
}

/* ---- tests ---------------------------------------------------------- */

static void test_keep_alive(void **state)
{
	struct pair p;

	(void)state;
	setup_pair(&p, 4096, 0);
	p.v.resp_size = 100;
	for (int i = 0; i < 5; i++) {
		cli_request(&p.k, "GET", "/k", 0, false);
		assert_true(p.k.got_head);
		assert_int_equal(p.k.status, 200);
		assert_int_equal(p.k.content_length, 100);
		assert_int_equal(p.k.rx, 100);
		assert_int_equal(p.k.rx_sum, pat_sum(100));
		assert_null(p.k.x);
		assert_int_equal(p.k.ready, i + 1);
		assert_int_equal(l7_available(p.k.c), 1);
	}
	assert_int_equal(p.v.nex, 5);
	assert_int_equal(p.v.closed, 0);
	teardown_pair(&p);
	assert_int_equal(p.k.closed, 1);
	assert_int_equal(p.k.closed_err, 0);
	assert_int_equal(p.v.closed, 1);
}

/* Trailer fields after chunked bodies, both ways; none on a body with a
 * length, which has no place for them. */
static void test_trailers(void **state)
{
	struct pair p;

	(void)state;
	setup_pair(&p, 4096, 0);
	p.v.resp_size = 5000;
	p.v.resp_len = -1;
	p.v.resp_trailer = "resp-1";
	p.k.req_trailer = "req-1";
	cli_request(&p.k, "POST", "/t", 7000, true);
	assert_int_equal(p.k.status, 200);
	assert_int_equal(p.v.rx, 7000);
	assert_string_equal(p.v.trailer, "req-1");
	assert_int_equal(p.k.rx, 5000);
	assert_int_equal(p.k.rx_sum, pat_sum(5000));
	assert_string_equal(p.k.trailer, "resp-1");
	/* a body with a length: the trailer is not sent */
	p.v.resp_len = 0;
	p.k.req_trailer = NULL;
	cli_request(&p.k, "GET", "/t", 0, false);
	assert_int_equal(p.k.rx, 5000);
	assert_string_equal(p.k.trailer, "");
	assert_int_equal(p.v.nex, 2);
	teardown_pair(&p);
	assert_int_equal(p.k.closed_err, 0);
}

static void test_pipelined(void **state)
{
	struct srv v;
	struct stk_stream *r = raw_server(&v, 65536);
	char buf[4096];
	bool eof;
	const char *a, *b, *c;

	(void)state;
	v.len_from_path = true;
	raw_write(r, "GET /first HTTP/1.1\r\nHost: a\r\n\r\n"
		     "POST /second HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz"
		     "GET /third HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
	raw_read(r, buf, sizeof(buf), &eof);
	assert_true(eof);
	assert_int_equal(v.nex, 3);
	a = strstr(buf, "\r\n\r\n/first");
	b = strstr(buf, "\r\n\r\n/second");
	c = strstr(buf, "\r\n\r\n/third");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_true(a < b && b < c);
	assert_non_null(strstr(buf, "connection: close"));
	/* the server drains until the client ends too */
	assert_int_equal(v.closed, 0);
	stk_close(r);
	assert_int_equal(v.closed, 1);
}

static void big_bodies(bool chunked)
{
	struct pair p;
	const uint64_t mb = 1u << 20;

	setup_pair(&p, 1000, 4096);
	p.v.resp_size = mb;
	p.v.resp_len = chunked ? -1 : 0;
	cli_request(&p.k, "POST", "/big", mb, chunked);
	assert_int_equal(p.v.last_rx, mb);
	assert_int_equal(p.v.last_rx_sum, pat_sum(mb));
	assert_int_equal(p.k.status, 200);
	assert_int_equal(p.k.content_length, chunked ? -1 : (int64_t)mb);
	assert_int_equal(p.k.rx, mb);
	assert_int_equal(p.k.rx_sum, pat_sum(mb));
	assert_true(p.v.eagain > 0);
	assert_int_equal(l7_available(p.k.c), 1);
	/* and again on the same connection */
	cli_request(&p.k, "POST", "/big", 5000, chunked);
	assert_int_equal(p.v.last_rx, 5000);
	assert_int_equal(p.k.rx, mb);
	assert_int_equal(p.v.nex, 2);
	teardown_pair(&p);
}

static void test_big_chunked(void **state)
{
	(void)state;
	big_bodies(true);
}

static void test_big_length(void **state)
{
	(void)state;
	big_bodies(false);
}

static void test_continue(void **state)
{
	struct srv v;
	struct stk_stream *r = raw_server(&v, 65536);
	char buf[4096];
	bool eof;

	(void)state;
	v.hold = true;
	v.resp_size = 2;
	raw_write(r, "PUT /c HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
		     "Content-Length: 5\r\n\r\n");
	assert_int_equal(v.nex, 1);
	assert_null(l7_head_get(&v.x->head, "expect", NULL));
	assert_int_equal(raw_read(r, buf, sizeof(buf), &eof), 0);
	v.hold = false;
	srv_event(&v.x->body, STK_EV_READABLE, &v);
	raw_read(r, buf, sizeof(buf), &eof);
	assert_string_equal(buf, "HTTP/1.1 100 Continue\r\n\r\n");
	raw_write(r, "hello");
	raw_read(r, buf, sizeof(buf), &eof);
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
	assert_int_equal(v.last_rx, 5);
	assert_false(eof);
	stk_close(r);
	assert_int_equal(v.closed, 1);
}

static void test_connect(void **state)
{
	struct pair p;

	(void)state;
	setup_pair(&p, 512, 1024);
	p.v.echo = true;
	p.k.keep = true;
	cli_request(&p.k, "CONNECT", "example.com:443", 0, false);
	assert_int_equal(p.k.status, 200);
	assert_int_equal(p.v.nex, 1);
	assert_int_equal(stk_write(&p.k.x->body, "ping", 4), 4);
	cli_event(&p.k.x->body, STK_EV_READABLE, &p.k);
	assert_int_equal(p.k.rx, 4);
	assert_memory_equal(p.k.data, "ping", 4);
	/* a bigger blob through small buffers */
	p.k.req_size = 4 + 100000;
	p.k.tx = 4;
	cli_event(&p.k.x->body, STK_EV_WRITABLE, &p.k);
	assert_int_equal(p.k.tx, p.k.req_size);
	assert_true(p.k.rx_eof);
	assert_int_equal(p.k.rx, p.k.req_size);
	assert_int_equal(p.v.last_rx, p.k.req_size);
	assert_int_equal(l7_available(p.k.c), 0);
	stk_close(&p.k.x->body);
	assert_null(p.k.c);
	assert_null(p.v.c);
}

static void test_upgrade(void **state)
{
	struct pair p;
	char buf[4096];
	bool eof;

	(void)state;
	setup_pair(&p, 512, 1024);
	p.v.echo = true;
	p.v.status = 101;
	p.k.keep = true;
	cli_request_proto(&p.k, "GET", "/ws", 0, false, "websocket");
	assert_int_equal(p.k.status, 101);
	assert_int_equal(p.v.nex, 1);
	assert_int_equal(stk_write(&p.k.x->body, "frame", 5), 5);
	cli_event(&p.k.x->body, STK_EV_READABLE, &p.k);
	assert_int_equal(p.k.rx, 5);
	assert_memory_equal(p.k.data, "frame", 5);
	stk_shutdown(&p.k.x->body);
	cli_event(&p.k.x->body, STK_EV_READABLE, &p.k);
	assert_true(p.k.rx_eof);
	stk_close(&p.k.x->body);
	assert_null(p.k.c);
	assert_null(p.v.c);

	/* on the wire; the second time the consumer takes the request head,
	 * and the engine still knows what was asked for */
	for (int take = 0; take < 2; take++) {
		struct srv v;
		struct stk_stream *r = raw_server(&v, 65536);

		v.take_head = take;
		v.echo = true;
		v.status = 101;
		raw_write(r, "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
			     "Upgrade: websocket\r\n\r\nearly");
		raw_read(r, buf, sizeof(buf), &eof);
		assert_non_null(strstr(buf, "HTTP/1.1 101 Switching Protocols\r\n"));
		assert_non_null(strstr(buf, "connection: upgrade\r\nupgrade: websocket\r\n"));
		assert_non_null(strstr(buf, "\r\n\r\nearly"));
		assert_null(strstr(buf, "content-length"));
		stk_close(r);
		assert_int_equal(v.closed, 1);
		if (take)
			assert_string_equal(v.taken.protocol, "websocket");
		l7_head_free(&v.taken);
	}
}

/* The proxy answers without reading the request body: the engine skips
 * the rest (bounded) and keeps the connection, or closes it. */
static void test_early_answer(void **state)
{
	struct srv v;
	struct stk_stream *r = raw_server(&v, 65536);
	char buf[8192], body[3000];
	bool eof;

	(void)state;
	v.early = true;
	v.status = 413;
	memset(body, 'b', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	raw_write(r, "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5998\r\n\r\n");
	raw_read(r, buf, sizeof(buf), &eof);
	assert_non_null(strstr(buf, "HTTP/1.1 413 Content Too Large\r\n"));
	assert_null(strstr(buf, "connection: close"));
	raw_write(r, body);
	raw_write(r, body);
	raw_write(r, "GET /b HTTP/1.1\r\nHost: a\r\n\r\n");
	raw_read(r, buf, sizeof(buf), &eof);
	assert_non_null(strstr(buf, "HTTP/1.1 413"));
	assert_false(eof);
	assert_int_equal(v.nex, 2);
	assert_string_equal(v.path, "/b");
	stk_close(r);

	/* too much to skip: the connection closes */
	r = raw_server(&v, 65536);
	v.early = true;
	v.status = 413;
	raw_write(r, "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999\r\n\r\n");
	raw_read(r, buf, sizeof(buf), &eof);
	assert_non_null(strstr(buf, "connection: close"));
	assert_true(eof);
	/* the server drains what still comes, but not forever */
	for (int i = 0; i < 40 && !v.closed; i++) {
		assert_int_equal(v.closed, 0);
		assert_int_equal(stk_write(r, body, 2000), 2000);
	}
	assert_int_equal(v.closed, 1);
	stk_close(r);
}

/* Pipelined requests wait in a bounded buffer while one is served. */
static void test_pipeline_bound(void **state)
{
	struct srv v;
	struct stk_stream *r = raw_server(&v, 4096);
	static char reqs[64 * 1024], out[256 * 1024];
	size_t len = 0, off = 0, got = 0;
	int n = 0, blocked = 0;

	(void)state;
	while (len + 64 < sizeof(reqs))
		len += (size_t)snprintf(reqs + len, sizeof(reqs) - len,
					"GET /%d HTTP/1.1\r\nHost: a\r\n\r\n", n++);
	v.hold = true;
	v.len_from_path = true;
	while (off < len) {
		ssize_t w = stk_write(r, reqs + off, len - off);

		if (w == -EAGAIN)
			break;
		off += (size_t)w;
	}
	assert_true(off < len);   /* held back */
	assert_int_equal(v.nex, 1);
	v.hold = false;
	srv_event(&v.x->body, STK_EV_READABLE, &v);
	while (got < sizeof(out) - 1) {
		bool eof;
		size_t g = raw_read(r, out + got, sizeof(out) - got, &eof);
		ssize_t w = off < len ? stk_write(r, reqs + off, len - off) : 0;

		got += g;
		if (w > 0)
			off += (size_t)w;
		if (!g && w <= 0 && ++blocked > 3)
			break;
	}
	assert_int_equal(off, len);
	assert_int_equal(v.nex, n);
	assert_non_null(strstr(out, "\r\n\r\n/0HTTP/1.1"));
	{
		char last[32];

		snprintf(last, sizeof(last), "\r\n\r\n/%d", n - 1);
		assert_non_null(strstr(out, last));
	}
	stk_close(r);
}

static void test_conn_shutdown(void **state)
{
	struct srv v;
	struct stk_stream *r = raw_server(&v, 65536);
	char buf[4096];
	bool eof;

	(void)state;
	v.hold = true;
	raw_write(r, "GET /s HTTP/1.1\r\nHost: a\r\n\r\n");
	v.c->ops->shutdown(v.c);
	assert_int_equal(v.closed, 0);
	v.hold = false;
	srv_event(&v.x->body, STK_EV_READABLE, &v);
	raw_read(r, buf, sizeof(buf), &eof);
	assert_non_null(strstr(buf, "connection: close\r\n"));
	assert_true(eof);
	/* the server drains until the client ends too */
	assert_int_equal(v.closed, 0);
	stk_close(r);
	assert_int_equal(v.closed, 1);
	/* idle: at once */
	r = raw_server(&v, 65536);
	v.c->ops->shutdown(v.c);
	raw_read(r, buf, sizeof(buf), &eof);
	assert_true(eof);
	stk_shutdown(r);
	assert_int_equal(v.closed, 1);
	stk_close(r);
}

static void test_head(void **state)
{
	struct pair p;

	(void)state;
	setup_pair(&p, 4096, 0);
	p.v.resp_size = 1234;
	cli_request(&p.k, "HEAD", "/h", 0, false);
	assert_int_equal(p.k.status, 200);
	assert_int_equal(p.k.content_length, 1234);
	assert_int_equal(p.k.rx, 0);
	assert_true(p.k.rx_eof);
	assert_int_equal(l7_available(p.k.c), 1);
	cli_request(&p.k, "GET", "/g", 0, false);
	assert_int_equal(p.k.rx, 1234);
	teardown_pair(&p);
}

static void test_http10(void **state)
{
	struct srv v;
	struct stk_stream *r = raw_server(&v, 65536);
	char buf[4096];
	bool eof;

	(void)state;
	v.resp_size = 5;
	v.resp_len = -1;
	v.len_from_path = true;
	raw_write(r, "GET /abcd HTTP/1.0\r\n\r\n");
	raw_read(r, buf, sizeof(buf), &eof);
	assert_true(eof);
	assert_null(strstr(buf, "transfer-encoding"));
	assert_null(strstr(buf, "content-length"));
	assert_non_null(strstr(buf, "connection: close\r\n"));
	assert_non_null(strstr(buf, "\r\n\r\n/abcd"));
	/* the server drains until the client ends too */
	assert_int_equal(v.closed, 0);
	stk_close(r);
	assert_int_equal(v.closed, 1);

	/* keep-alive asked for: kept, with a length */
	r = raw_server(&v, 65536);
	v.len_from_path = true;
	raw_write(r, "GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	raw_read(r, buf, sizeof(buf), &eof);
	assert_false(eof);
	assert_non_null(strstr(buf, "connection: keep-alive\r\n"));
	assert_non_null(strstr(buf, "content-length: 2\r\n"));
	stk_close(r);
	assert_int_equal(v.closed, 1);
}

static void test_smuggling_rejected(void **state)
{
	struct srv v;
	struct stk_stream *r = raw_server(&v, 65536);
	char buf[4096];
	bool eof;

	(void)state;
	raw_write(r, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
	raw_read(r, buf, sizeof(buf), &eof);
	assert_true(eof);
	assert_int_equal(strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26), 0);
	assert_non_null(strstr(buf, "\r\n\r\nbad request: cl_and_te\n"));
	assert_int_equal(v.nex, 0);
	assert_int_equal(v.rejected, 400);
	assert_string_equal(v.cause, "cl_and_te");
	/* the server drains until the client ends too */
	assert_int_equal(v.closed, 0);
	stk_close(r);
	assert_int_equal(v.closed, 1);

	/* after a good request on the same connection too */
	r = raw_server(&v, 65536);
	raw_write(r, "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n"
		     "Host: a\r\nHost: b\r\n\r\n");
	raw_read(r, buf, sizeof(buf), &eof);
	assert_true(eof);
	assert_int_equal(v.nex, 1);
	assert_string_equal(v.cause, "multiple_host");
	assert_non_null(strstr(buf, "HTTP/1.1 400 Bad Request"));
	stk_close(r);
}

static void test_abort(void **state)
{
	struct pair p;

	(void)state;
	setup_pair(&p, 4096, 0);
	p.v.hold = true;
	cli_request(&p.k, "POST", "/a", 10, false);
	assert_int_equal(p.v.nex, 1);
	stk_abort(&p.k.x->body);
	p.k.x = NULL;
	assert_int_equal(p.k.closed, 1);
	assert_int_equal(p.k.closed_err, ECONNABORTED);
	assert_int_equal(p.v.closed, 1);
	assert_true(p.v.got_error);

	/* a connection abort gives open exchanges STK_EV_ERROR */
	setup_pair(&p, 4096, 0);
	p.v.hold = true;
	cli_request(&p.k, "POST", "/a", 10, false);
	p.k.c->ops->abort(p.k.c);
	assert_true(p.k.got_error);
	assert_int_equal(p.k.closed, 1);
	assert_int_equal(p.v.closed, 1);
}

static void test_upstream_eof(void **state)
{
	struct stk_stream *a, *b;
	struct cli k;
	char buf[4096];
	bool eof;

	(void)state;
	memset(&k, 0, sizeof(k));
	assert_int_equal(stk_stream_pair(4096, &a, &b), 0);
	k.c = l7_h1_client(a, &cli_cb, &k, NULL);
	cli_request(&k, "GET", "/", 0, false);
	raw_read(b, buf, sizeof(buf), &eof);
	assert_int_equal(strncmp(buf, "GET / HTTP/1.1\r\nhost: origin\r\n", 30), 0);
	/* interim answers are swallowed */
	raw_write(b, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\n"
		     "Link: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
	assert_int_equal(k.status, 200);
	assert_int_equal(k.rx, 3);
	stk_close(b);
	assert_true(k.got_error);
	assert_int_equal(k.closed, 1);

	/* nonsense from upstream: 502 */
	memset(&k, 0, sizeof(k));
	assert_int_equal(stk_stream_pair(4096, &a, &b), 0);
	k.c = l7_h1_client(a, &cli_cb, &k, NULL);
	cli_request(&k, "GET", "/", 0, false);
	raw_write(b, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
	assert_int_equal(k.rejected, 502);
	assert_true(k.got_error);
	assert_int_equal(k.closed, 1);
	stk_close(b);

	/* a response to close: the end of the connection ends the body */
	memset(&k, 0, sizeof(k));
	assert_int_equal(stk_stream_pair(4096, &a, &b), 0);
	k.c = l7_h1_client(a, &cli_cb, &k, NULL);
	cli_request(&k, "GET", "/", 0, false);
	raw_write(b, "HTTP/1.1 200 OK\r\n\r\nall of it");
	stk_close(b);
	assert_int_equal(k.rx, 9);
	assert_true(k.rx_eof);
	assert_false(k.got_error);
	assert_int_equal(k.closed, 1);
	assert_int_equal(k.closed_err, 0);
}

/* Heads the proxy built are checked before they reach the wire. */
static void test_bad_heads(void **state)
{
	struct pair p;
	struct l7_head h;

	(void)state;
	setup_pair(&p, 4096, 0);
	l7_head_init(&h);
	l7_head_set_slot(&h.method, "GET", 3);
	l7_head_set_slot(&h.path, "/a b", 4);
	assert_null(l7_request(p.k.c, &h, true));
	assert_int_equal(errno, EINVAL);
	l7_head_set_slot(&h.path, "/", 1);
	l7_head_add(&h, "x", 1, "a\r\nInjected: 1", 15);
	assert_null(l7_request(p.k.c, &h, true));
	l7_head_free(&h);
	/* a server answer with a bad field */
	p.v.hold = true;
	cli_request(&p.k, "GET", "/", 0, false);
	assert_int_equal(p.v.nex, 1);
	l7_head_init(&h);
	h.status = 200;
	l7_head_add(&h, "bad name", 8, "v", 1);
	assert_int_equal(l7_send_head(p.v.x, &h, true), -EINVAL);
	l7_head_free(&h);
	h.status = 99;
	assert_int_equal(l7_send_head(p.v.x, &h, true), -EINVAL);
	h.status = 101; /* not an upgrade request */
	assert_int_equal(l7_send_head(p.v.x, &h, true), -EINVAL);
	p.v.hold = false;
	srv_event(&p.v.x->body, STK_EV_READABLE, &p.v);
	assert_int_equal(p.k.status, 200);
	teardown_pair(&p);
}

/* A consumer that closes the exchange from a callback raised inside its
 * own write(): the engine must not touch the freed exchange. */
static int naive_closed;

static void naive_cb(struct stk_stream *s, unsigned ev, void *arg)
{
	char buf[64];

	(void)ev;
	(void)arg;
	if (naive_closed)
		return;
	while (stk_read(s, buf, sizeof(buf)) > 0)
		;
	if (((struct l7_exchange *)s)->head.status) {
		naive_closed = 1;
		stk_close(s);
	}
}

static void test_close_inside_own_call(void **state)
{
	struct pair p;
	struct l7_head h;
	struct l7_exchange *x;
	char body[100] = { 0 };

	(void)state;
	setup_pair(&p, 4096, 0);
	p.v.early = true;
	l7_head_init(&h);
	l7_head_set_slot(&h.method, "POST", 4);
	l7_head_set_slot(&h.path, "/", 1);
	l7_head_set_slot(&h.authority, "a", 1);
	h.content_length = 100;
	x = l7_request(p.k.c, &h, false);
	l7_head_free(&h);
	assert_non_null(x);
	naive_closed = 0;
	stk_stream_set_cb(&x->body, naive_cb, NULL);
	/* the answer is already here; it is seen inside this write */
	assert_int_equal(stk_write(&x->body, body, sizeof(body)), 100);
	assert_int_equal(naive_closed, 1);
	assert_int_equal(p.k.ready, 1);
	assert_int_equal(l7_available(p.k.c), 1);
	teardown_pair(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_trailers),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_big_chunked),
		cmocka_unit_test(test_big_length),
		cmocka_unit_test(test_continue),
		cmocka_unit_test(test_connect),
		cmocka_unit_test(test_upgrade),
		cmocka_unit_test(test_early_answer),
		cmocka_unit_test(test_pipeline_bound),
		cmocka_unit_test(test_conn_shutdown),
		cmocka_unit_test(test_bad_heads),
		cmocka_unit_test(test_close_inside_own_call),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_http10),
		cmocka_unit_test(test_smuggling_rejected),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_upstream_eof),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
