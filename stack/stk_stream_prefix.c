/* A stream that gives back bytes already read from another stream
 * (sniffed or parsed: a PROXY header's tail, a ClientHello, an HTTP/2
 * preface) before the rest of it. Everything else passes through. */
#include "stk_stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct stk_prefix {
	struct stk_stream s;
	struct stk_stream *inner;
	size_t off, len;
	uint8_t data[];
};

static struct stk_prefix *stk_prefix_of(struct stk_stream *s)
{
	return (struct stk_prefix *)s;
}

static ssize_t stk_prefix_read(struct stk_stream *s, void *buf, size_t len)
{
	struct stk_prefix *p = stk_prefix_of(s);

	if (p->off < p->len) {
		size_t n = p->len - p->off;

		if (n > len)
			n = len;
		memcpy(buf, p->data + p->off, n);
		p->off += n;
		return (ssize_t)n;
	}
	return stk_read(p->inner, buf, len);
}

static ssize_t stk_prefix_write(struct stk_stream *s, const void *buf,
				size_t len)
{
	return stk_write(stk_prefix_of(s)->inner, buf, len);
}

static int stk_prefix_shutdown(struct stk_stream *s)
{
	return stk_shutdown(stk_prefix_of(s)->inner);
}

static void stk_prefix_close(struct stk_stream *s)
{
	struct stk_prefix *p = stk_prefix_of(s);

	stk_close(p->inner);
	free(p);
}

static void stk_prefix_abort(struct stk_stream *s)
{
	struct stk_prefix *p = stk_prefix_of(s);

	stk_abort(p->inner);
	free(p);
}

static void stk_prefix_event(struct stk_stream *inner, unsigned ev, void *arg)
{
	struct stk_prefix *p = arg;

	p->s.error = inner->error;
	stk_stream_notify(&p->s, ev);
}

static const struct stk_stream_ops stk_prefix_ops = {
	.read = stk_prefix_read,
	.write = stk_prefix_write,
	.shutdown = stk_prefix_shutdown,
	.close = stk_prefix_close,
	.abort = stk_prefix_abort,
};

struct stk_stream *stk_stream_prefixed(struct stk_stream *inner,
				       const void *data, size_t len)
{
	struct stk_prefix *p;

	if (!len)
		return inner;
	p = calloc(1, sizeof(*p) + len);
	if (!p)
		return NULL;
	p->s.ops = &stk_prefix_ops;
	p->inner = inner;
	p->len = len;
	memcpy(p->data, data, len);
	stk_stream_set_cb(inner, stk_prefix_event, p);
	return &p->s;
}
