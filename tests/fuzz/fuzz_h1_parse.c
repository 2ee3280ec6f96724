/* libFuzzer target for the HTTP/1.1 parser and the server engine.
 *
 * Byte 0 picks the mode (request, response, response to HEAD/CONNECT,
 * or the server engine over a memory pair), byte 1 seeds the split
 * points, the rest is the message. The parser must give the same
 * verdict, head and body whether fed at once or in pieces; an accepted
 * head must hold only clean lowercase names and values; the engine
 * must answer or close without crashing or leaking. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "l7/l7_h1_parse.h"

struct outcome {
	int rc, status;
	const char *cause;
	uint64_t body;
	uint32_t sum;
	size_t used;
};

static void check_head(const struct l7_head *h)
{
	for (size_t i = 0; i < h->nfields; i++) {
		const struct l7_field *f = &h->fields[i];

		if (!f->name_len || strlen(f->name) != f->name_len ||
		    strlen(f->value) != f->value_len)
			abort();
		for (size_t k = 0; k < f->name_len; k++)
			if (!l7_h1_tchar((uint8_t)f->name[k]) ||
			    (f->name[k] >= 'A' && f->name[k] <= 'Z'))
				abort();
		if (strpbrk(f->value, "\r\n"))
			abort();
	}
	if (h->authority && strpbrk(h->authority, "\r\n @/"))
		abort();
	if (h->path && strpbrk(h->path, "\r\n #"))
		abort();
}

static void run(struct outcome *o, const uint8_t *d, size_t n, bool resp,
		bool rhead, bool rconnect, uint32_t seed)
{
	struct l7_h1_parser p;
	struct l7_head h;
	size_t off = 0;
	bool in_head = true;
	struct l7_limits lim = { .max_head_bytes = 2048, .max_fields = 20 };

	memset(o, 0, sizeof(*o));
	o->sum = 1;
	l7_head_init(&h);
	l7_h1_parser_init(&p, resp, &lim);
	l7_h1_parser_start(&p, &h, rhead, rconnect);
	for (;;) {
		size_t piece = n - off, used;
		int rc;

		if (seed) {
			seed = seed * 1103515245u + 12345u;
			piece = piece < 1 + (seed >> 16) % 7 ? piece :
				1 + (seed >> 16) % 7;
		}
		if (in_head) {
			rc = l7_h1_parse_head(&p, d + off, piece, &used);
			if (used > piece)
				abort();
			off += used;
			if (rc == L7_H1_HEAD) {
				check_head(&h);
				if ((p.framing == L7_H1_CHUNKED) !=
				    (h.content_length < 0 && !resp) &&
				    !resp)
					abort();
				in_head = false;
				continue;
			}
		} else {
			const uint8_t *b;
			size_t bl;

			rc = l7_h1_parse_body(&p, d + off, piece, &used, &b, &bl);
			if (used > piece || bl > used ||
			    (bl && (b < d + off || b + bl > d + off + used)))
				abort();
			off += used;
			if (rc == L7_H1_DATA) {
				o->body += bl;
				for (size_t i = 0; i < bl; i++)
					o->sum = o->sum * 31 + b[i];
				continue;
			}
			if (rc == L7_H1_END)
				break;
		}
		if (rc == L7_H1_ERROR) {
			o->status = p.status;
			o->cause = p.cause;
			if (!o->cause || o->status < 400)
				abort();
			break;
		}
		if (rc != L7_H1_AGAIN)
			abort();
		if (off == n) {
			if (!in_head)
				rc = l7_h1_parse_eof(&p);
			break;
		}
	}
	o->rc = in_head ? 0 : 1;
	o->used = off;
	l7_head_free(&h);
	l7_h1_parser_free(&p);
}

/* ---- the server engine ---------------------------------------------- */

static struct l7_exchange *fz_x; /* the open exchange, if any */

static void fz_done(struct stk_stream *s)
{
	fz_x = NULL;
	stk_close(s);
}

static void fz_event(struct stk_stream *s, unsigned ev, void *arg)
{
	uint8_t buf[512];
	ssize_t n;

	(void)arg;
	if (ev & STK_EV_ERROR) {
		fz_done(s);
		return;
	}
	while ((n = stk_read(s, buf, sizeof(buf))) > 0)
		;
	if (n == 0 || (n < 0 && n != -EAGAIN)) {
		struct l7_exchange *x = (struct l7_exchange *)s;
		struct l7_head h;

		l7_head_init(&h);
		h.status = 200;
		h.content_length = 2;
		if (n == 0 && !l7_send_head(x, &h, false))
			stk_write(s, "ok", 2);
		fz_done(s);
	}
}

static void fz_exchange(void *arg, struct l7_exchange *x)
{
	(void)arg;
	fz_x = x;
	stk_stream_set_cb(&x->body, fz_event, NULL);
}

static const struct l7_conn_cb fz_cb = { .exchange = fz_exchange };

static void engine(const uint8_t *d, size_t n, uint32_t seed)
{
	struct stk_stream *a, *b;
	struct l7_limits lim = { .max_head_bytes = 2048, .send_buffer = 256 };
	uint8_t buf[4096];
	size_t off = 0;

	if (stk_stream_pair(64 + seed % 512, &a, &b))
		return;
	if (!l7_h1_server(a, &fz_cb, NULL, &lim)) {
		stk_close(b);
		return;
	}
	while (off < n) {
		ssize_t w = stk_write(b, d + off, n - off);

		while (stk_read(b, buf, sizeof(buf)) > 0)
			;
		if (w == -EAGAIN)
			break; /* the engine holds back: fine */
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	stk_shutdown(b);
	while (stk_read(b, buf, sizeof(buf)) > 0)
		;
	/* a consumer still waiting (Upgrade, CONNECT) gives up */
	if (fz_x)
		fz_done(&fz_x->body);
	stk_close(b);
}

/* ---- the client engine: fuzz bytes are the upstream's answer ---------- */

static struct l7_exchange *fc_x;

static void fc_event(struct stk_stream *s, unsigned ev, void *arg)
{
	uint8_t buf[512];
	ssize_t n;

	(void)arg;
	if (!fc_x)
		return;
	if (!(ev & STK_EV_ERROR)) {
		while ((n = stk_read(s, buf, sizeof(buf))) > 0)
			;
		if (n == -EAGAIN)
			return;
	}
	fc_x = NULL;
	stk_close(s);
}

static struct l7_conn *fc_c;

static void fc_closed(void *arg, struct l7_conn *c, int err)
{
	(void)arg;
	(void)c;
	(void)err;
	fc_c = NULL;
}

static const struct l7_conn_cb fc_cb = { .closed = fc_closed };

static void client(const uint8_t *d, size_t n, uint32_t seed)
{
	static const char *const methods[] = { "GET", "HEAD", "CONNECT", "POST" };
	struct stk_stream *a, *b;
	struct l7_conn *c;
	struct l7_head h;
	uint8_t buf[4096];
	size_t off = 0;
	const char *m = methods[seed % 4];

	if (stk_stream_pair(64 + seed % 512, &a, &b))
		return;
	fc_c = c = l7_h1_client(a, &fc_cb, NULL, NULL);
	if (!c) {
		stk_close(a);
		stk_close(b);
		return;
	}
	l7_head_init(&h);
	l7_head_set_slot(&h.method, m, strlen(m));
	l7_head_set_slot(&h.authority, "a:1", 3);
	if (strcmp(m, "CONNECT"))
		l7_head_set_slot(&h.path, "/", 1);
	if (seed & 4)
		l7_head_set_slot(&h.protocol, "websocket", 9);
	fc_x = l7_request(c, &h, strcmp(m, "POST") != 0);
	l7_head_free(&h);
	if (!fc_x) {
		c->ops->abort(c);
		stk_close(b);
		if (fc_c)
			abort();
		return;
	}
	stk_stream_set_cb(&fc_x->body, fc_event, NULL);
	if (!strcmp(m, "POST")) {
		stk_write(&fc_x->body, "body", 4);
		stk_shutdown(&fc_x->body);
	}
	while (off < n) {
		ssize_t w;

		while (stk_read(b, buf, sizeof(buf)) > 0)
			;
		w = stk_write(b, d + off, n - off);
		if (fc_x)
			fc_event(&fc_x->body, STK_EV_READABLE, NULL);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	stk_close(b);
	if (fc_x) {
		struct l7_exchange *x = fc_x;

		fc_x = NULL;
		stk_close(&x->body);
	}
	/* the upstream is gone and so is the exchange: the connection
	 * must have ended */
	if (fc_c)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole, split;
	bool resp, rhead, rconnect;
	uint32_t seed;

	if (size < 2)
		return 0;
	seed = data[1] + 1u;
	resp = data[0] & 1;
	rhead = resp && (data[0] & 2);
	rconnect = resp && (data[0] & 4);
	if ((data[0] & 0x18) == 0x18) {
		engine(data + 2, size - 2, seed);
		return 0;
	}
	if ((data[0] & 0x18) == 0x10) {
		client(data + 2, size - 2, seed);
		return 0;
	}
	run(&whole, data + 2, size - 2, resp, rhead, rconnect, 0);
	run(&split, data + 2, size - 2, resp, rhead, rconnect, seed);
	if (whole.rc != split.rc || whole.status != split.status ||
	    whole.body != split.body || whole.sum != split.sum ||
	    (!whole.cause && whole.used != split.used) ||
	    (whole.cause != split.cause &&
	     (!whole.cause || !split.cause || strcmp(whole.cause, split.cause))))
		abort();
	return 0;
}
