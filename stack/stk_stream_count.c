/* A stream that counts the bytes that cross it, for a record that
 * outlives the stream's user: the L4 proxy lends a client stream to a
 * service and writes the connection's audit line only when the service
 * releases it, which may come before or after the stream is closed.
 * So the wrapper is freed once both are done with it. */
#include "stk_stream.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

struct stk_count {
	struct stk_stream s;
	struct stk_stream *inner;  /* NULL once closed, aborted or unwrapped */
	uint64_t bytes_read, bytes_written;
	bool counts_held;          /* stk_stream_count_put not yet called */
};

static struct stk_count *stk_count_of(struct stk_stream *s)
{
	return (struct stk_count *)s;
}

static void stk_count_free_if_done(struct stk_count *c)
{
	if (!c->inner && !c->counts_held)
		free(c);
}

static ssize_t stk_count_read(struct stk_stream *s, void *buf, size_t len)
{
	struct stk_count *c = stk_count_of(s);
	ssize_t n = stk_read(c->inner, buf, len);

	if (n > 0)
		c->bytes_read += (uint64_t)n;
	return n;
}

static ssize_t stk_count_write(struct stk_stream *s, const void *buf,
			       size_t len)
{
	struct stk_count *c = stk_count_of(s);
	ssize_t n = stk_write(c->inner, buf, len);

	if (n > 0)
		c->bytes_written += (uint64_t)n;
	return n;
}

static int stk_count_shutdown(struct stk_stream *s)
{
	return stk_shutdown(stk_count_of(s)->inner);
}

static void stk_count_close(struct stk_stream *s)
{
	struct stk_count *c = stk_count_of(s);
	struct stk_stream *inner = c->inner;

	c->inner = NULL;
	stk_stream_set_cb(&c->s, NULL, NULL);
	stk_close(inner);
	stk_count_free_if_done(c);
}

static void stk_count_abort(struct stk_stream *s)
{
	struct stk_count *c = stk_count_of(s);
	struct stk_stream *inner = c->inner;

	c->inner = NULL;
	stk_stream_set_cb(&c->s, NULL, NULL);
	stk_abort(inner);
	stk_count_free_if_done(c);
}

static void stk_count_event(struct stk_stream *inner, unsigned ev, void *arg)
{
	struct stk_count *c = arg;

	c->s.error = inner->error;
	stk_stream_notify(&c->s, ev);
}

static const struct stk_stream_ops stk_count_ops = {
	.read = stk_count_read,
	.write = stk_count_write,
	.shutdown = stk_count_shutdown,
	.close = stk_count_close,
	.abort = stk_count_abort,
};

struct stk_stream *stk_stream_counted(struct stk_stream *inner)
{
	struct stk_count *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->s.ops = &stk_count_ops;
	c->s.error = inner->error;
	c->inner = inner;
	c->counts_held = true;
	stk_stream_set_cb(inner, stk_count_event, c);
	return &c->s;
}

bool stk_stream_is_counted(const struct stk_stream *s)
{
	return s->ops == &stk_count_ops;
}

void stk_stream_count_get(const struct stk_stream *s, uint64_t *bytes_read,
			  uint64_t *bytes_written)
{
	const struct stk_count *c = (const struct stk_count *)s;

	*bytes_read = c->bytes_read;
	*bytes_written = c->bytes_written;
}

void stk_stream_count_put(struct stk_stream *s)
{
	struct stk_count *c = stk_count_of(s);

	c->counts_held = false;
	stk_count_free_if_done(c);
}

struct stk_stream *stk_stream_uncounted(struct stk_stream *s)
{
	struct stk_count *c = stk_count_of(s);
	struct stk_stream *inner = c->inner;

	c->inner = NULL;
	stk_stream_set_cb(inner, NULL, NULL);
	stk_count_free_if_done(c);
	return inner;
}
