/* A byte stream, whatever carries it: an lwIP pcb, a kernel socket, or
 * an in-memory pair in unit tests. Everything above the stack (the L4
 * proxy, later TLS and HTTP) talks to this and nothing else.
 *
 * Events are edge-style: read() and write() are called until they
 * return -EAGAIN, and the stream then calls cb once there is more to
 * read (STK_EV_READABLE) or room to write (STK_EV_WRITABLE). Room is
 * bounded: a stream accepts only what its transport can hold (lwIP's
 * send buffer, the socket buffer, the pair's capacity), so a slow reader
 * slows the writer instead of growing memory. On the lwIP side, bytes
 * are acknowledged to the window only once read() took them.
 *
 * Callbacks run on the owning worker (for lwIP: with the stack lock
 * held) and may call any function here, including close(). */
#ifndef STRATA_STK_STREAM_H
#define STRATA_STK_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
	STK_EV_READABLE = 1u << 0,  /* read() has bytes or end of stream */
	STK_EV_WRITABLE = 1u << 1,  /* write() has room again */
	STK_EV_CONNECTED = 1u << 2, /* an outbound open completed */
	STK_EV_ERROR = 1u << 3,     /* reset, refused, unreachable: see error */
};

struct stk_stream;
typedef void (*stk_stream_cb)(struct stk_stream *s, unsigned events,
			      void *arg);

struct stk_stream_ops {
	/* > 0 bytes, 0 at end of stream, -EAGAIN, or -errno. */
	ssize_t (*read)(struct stk_stream *s, void *buf, size_t len);
	/* bytes taken (> 0), -EAGAIN when there is no room, or -errno. */
	ssize_t (*write)(struct stk_stream *s, const void *buf, size_t len);
	/* No more writes: the peer sees end of stream after what was
	 * written. Reading goes on. */
	int (*shutdown)(struct stk_stream *s);
	/* Graceful: queued bytes still go out, then FIN. Frees s. */
	void (*close)(struct stk_stream *s);
	/* Reset the connection (TCP RST). Frees s. */
	void (*abort)(struct stk_stream *s);
};

struct stk_stream {
	const struct stk_stream_ops *ops;
	stk_stream_cb cb;
	void *arg;
	int error;          /* positive errno once STK_EV_ERROR was given */
};

static inline void stk_stream_set_cb(struct stk_stream *s, stk_stream_cb cb,
				     void *arg)
{
	s->cb = cb;
	s->arg = arg;
}

static inline void stk_stream_notify(struct stk_stream *s, unsigned ev)
{
	if (s->cb)
		s->cb(s, ev, s->arg);
}

static inline ssize_t stk_read(struct stk_stream *s, void *buf, size_t len)
{
	return s->ops->read(s, buf, len);
}

static inline ssize_t stk_write(struct stk_stream *s, const void *buf,
				size_t len)
{
	return s->ops->write(s, buf, len);
}

static inline int stk_shutdown(struct stk_stream *s)
{
	return s->ops->shutdown(s);
}

static inline void stk_close(struct stk_stream *s)
{
	s->ops->close(s);
}

static inline void stk_abort(struct stk_stream *s)
{
	s->ops->abort(s);
}

/* In-memory pair (unit tests): what one end writes the other reads;
 * each direction holds at most cap bytes. Events are delivered
 * synchronously from the call that caused them. */
int stk_stream_pair(size_t cap, struct stk_stream **a, struct stk_stream **b);

/* A stream that reads data[0..len) first, then inner; it owns inner
 * (close/abort pass through). Returns inner itself when len is 0, NULL
 * when out of memory (inner untouched). The caller should deliver
 * STK_EV_READABLE once its reader is set up, as nothing else will. */
struct stk_stream *stk_stream_prefixed(struct stk_stream *inner,
				       const void *data, size_t len);

/* A stream that counts the bytes read from inner and written to it
 * (taken by inner: wire bytes if inner is the transport). It owns inner
 * (close/abort pass through), and the counts stay readable after
 * close/abort until stk_stream_count_put(): s is freed once both
 * happened. NULL when out of memory (inner untouched). */
struct stk_stream *stk_stream_counted(struct stk_stream *inner);
bool stk_stream_is_counted(const struct stk_stream *s);
void stk_stream_count_get(const struct stk_stream *s, uint64_t *bytes_read,
			  uint64_t *bytes_written);
/* The counts' holder is done with them. */
void stk_stream_count_put(struct stk_stream *s);
/* Takes inner back out of an open s, callback cleared, counts no
 * longer kept (s stays for stk_stream_count_put). */
struct stk_stream *stk_stream_uncounted(struct stk_stream *s);

#endif
