/* The in-memory stream pair, for unit tests of everything above the
 * stack. */
#include "stk_stream.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct stk_mem_end {
	struct stk_stream s;
	struct stk_mem_end *peer;   /* NULL once the peer is gone */
	uint8_t *buf;               /* bytes for this end to read */
	size_t cap, head, len;
	bool eof;                   /* peer shut down its writing */
	bool reset;                 /* peer aborted */
	bool closed;
	bool want_write;            /* a write hit a full peer buffer */
};

static struct stk_mem_end *stk_mem(struct stk_stream *s)
{
	return (struct stk_mem_end *)s;
}

static ssize_t stk_mem_read(struct stk_stream *s, void *buf, size_t len)
{
	struct stk_mem_end *e = stk_mem(s);
	size_t n = 0;

	if (e->reset)
		return -ECONNRESET;
	while (n < len && e->len) {
		size_t chunk = e->cap - e->head;

		if (chunk > e->len)
			chunk = e->len;
		if (chunk > len - n)
			chunk = len - n;
		memcpy((uint8_t *)buf + n, e->buf + e->head, chunk);
		e->head = (e->head + chunk) % e->cap;
		e->len -= chunk;
		n += chunk;
	}
	if (n) {
		struct stk_mem_end *p = e->peer;

		if (p && p->want_write) {
			p->want_write = false;
			stk_stream_notify(&p->s, STK_EV_WRITABLE);
		}
		return (ssize_t)n;
	}
	return e->eof ? 0 : -EAGAIN;
}

static ssize_t stk_mem_write(struct stk_stream *s, const void *buf, size_t len)
{
	struct stk_mem_end *e = stk_mem(s), *p = e->peer;
	size_t n = 0;

	if (e->reset)
		return -ECONNRESET;
	if (!p || p->closed || p->eof)
		return -EPIPE;
	while (n < len && p->len < p->cap) {
		size_t tail = (p->head + p->len) % p->cap;
		size_t chunk = tail >= p->head ? p->cap - tail : p->head - tail;

		if (chunk > p->cap - p->len)
			chunk = p->cap - p->len;
		if (chunk > len - n)
			chunk = len - n;
		memcpy(p->buf + tail, (const uint8_t *)buf + n, chunk);
		p->len += chunk;
		n += chunk;
	}
	if (!n) {
		e->want_write = true;
		return -EAGAIN;
	}
	stk_stream_notify(&p->s, STK_EV_READABLE);
	return (ssize_t)n;
}

static int stk_mem_shutdown(struct stk_stream *s)
{
	struct stk_mem_end *p = stk_mem(s)->peer;

	if (p && !p->eof) {
		p->eof = true;
		stk_stream_notify(&p->s, STK_EV_READABLE);
	}
	return 0;
}

static void stk_mem_free(struct stk_mem_end *e)
{
	if (e->peer)
		e->peer->peer = NULL;
	free(e->buf);
	free(e);
}

static void stk_mem_close(struct stk_stream *s)
{
	struct stk_mem_end *e = stk_mem(s);

	stk_mem_shutdown(s);
	e->closed = true;
	stk_mem_free(e);
}

static void stk_mem_abort(struct stk_stream *s)
{
	struct stk_mem_end *e = stk_mem(s), *p = e->peer;

	stk_mem_free(e);
	if (p) {
		p->reset = true;
		p->s.error = ECONNRESET;
		stk_stream_notify(&p->s, STK_EV_ERROR);
	}
}

static const struct stk_stream_ops stk_mem_ops = {
	.read = stk_mem_read,
	.write = stk_mem_write,
	.shutdown = stk_mem_shutdown,
	.close = stk_mem_close,
	.abort = stk_mem_abort,
};

static struct stk_mem_end *stk_mem_new(size_t cap)
{
	struct stk_mem_end *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->buf = malloc(cap);
	if (!e->buf) {
		free(e);
		return NULL;
	}
	e->cap = cap;
	e->s.ops = &stk_mem_ops;
	return e;
}

int stk_stream_pair(size_t cap, struct stk_stream **a, struct stk_stream **b)
{
	struct stk_mem_end *x, *y;

	if (!cap)
		return -EINVAL;
	x = stk_mem_new(cap);
	y = stk_mem_new(cap);
	if (!x || !y) {
		if (x)
			stk_mem_free(x);
		if (y)
			stk_mem_free(y);
		return -ENOMEM;
	}
	x->peer = y;
	y->peer = x;
	*a = &x->s;
	*b = &y->s;
	return 0;
}
