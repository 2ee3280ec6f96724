/* HTTP/1.1 connection engines, server and client, over a stk_stream.
 * See l7_http.h for what they promise and l7_h1_parse.h for the parser.
 *
 * One exchange at a time: a server parses the next (pipelined) request
 * only once the consumer closed the previous exchange and both bodies
 * are complete, so responses go out strictly in order and later bytes
 * wait in the input buffer (bounded: the transport is not read while it
 * is full). The input buffer is also the request body's buffer: read()
 * de-frames straight from it and reads the transport only when it is
 * empty, which is the backpressure the interface asks for.
 *
 * Re-entrancy: every way in (transport events, exchange and connection
 * ops) enters the connection; work found on the way (flush, parse,
 * notify) is done by the outermost caller in step(), and the connection
 * is freed only when nobody is inside it. An exchange outlives its
 * connection if the consumer has not closed it yet (x->c is then NULL).
 *
 * Events raised synchronously while request() runs (possible only with
 * in-memory pairs) are processed at the next call into the exchange or
 * the next transport event, since the consumer sets the exchange's
 * callback only after request() returns. */
#include "l7_h1_parse.h"
#include "stack/stk_buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define H1_IN_CAP 16384
#define H1_DISCARD_MAX (256 * 1024) /* unread request body we skip */
#define H1_CHUNK_OVERHEAD 24        /* "%zx\r\n" ... "\r\n" */
#define H1_LINGER_MAX (64 * 1024)   /* drained before closing */

enum { RX_HEAD, RX_BODY, RX_DONE };
enum { TX_NONE, TX_LENGTH, TX_CHUNKED, TX_CLOSE, TX_RAW, TX_WAIT };

struct h1c;

struct h1x {
	struct l7_exchange x;
	struct h1c *c;           /* NULL once the connection let go */
	bool want_read, want_write;
	int in_op;               /* inside its own read/write/... */
	bool closed;             /* closed from a callback inside one */
	char *upgrade;           /* server: the Upgrade asked for, for a 101
				  * (the consumer may take the head) */
};

struct h1c {
	struct l7_conn c;
	struct stk_stream *t;
	struct l7_limits lim;
	struct l7_h1_parser p;
	struct l7_head phead;    /* the head being parsed */
	struct l7_head ptrailers; /* ...and its trailer fields */
	uint8_t *in;
	size_t in_off, in_len;
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	struct h1x *x;           /* until the consumer closes it */
	uint32_t next_id;
	int rx, tx;
	uint64_t tx_left;
	size_t discarded;
	int busy, err;
	bool active;             /* an exchange is in progress */
	bool x_done;             /* the consumer closed it */
	bool tx_head, tx_done, tx_shut_pending, shut_t;
	bool must_close, shutting, closing, dead, eof, t_readable;
	bool sent_100, peer10, req_head, req_connect, req_upgrade;
	bool rx_hold;            /* CONNECT/Upgrade: the answer decides */
	bool again, lingering;
};

static const struct stk_stream_ops h1x_ops;
static const struct l7_exchange_ops h1x_xops;
static const struct l7_conn_ops h1c_ops;

static void step(struct h1c *c);

/* ---- entering and leaving ------------------------------------------- */

static void enter(struct h1c *c)
{
	c->busy++;
}

static void h1c_free(struct h1c *c)
{
	const struct l7_conn_cb *cb = c->c.cb;
	void *arg = c->c.arg;
	int err = c->err;

	c->busy = 1; /* calls from closed() must not free c again */
	if (cb->closed)
		cb->closed(arg, &c->c, err);
	l7_h1_parser_free(&c->p);
	l7_head_free(&c->phead);
	l7_head_free(&c->ptrailers);
	free(c->in);
	free(c->out);
	free(c);
}

static void leave(struct h1c *c)
{
	if (c->busy > 1) {
		c->busy--;
		return;
	}
	while (c->again && !c->dead) {
		c->again = false;
		step(c);
	}
	c->busy--;
	if (c->dead)
		h1c_free(c);
}

static void kick(struct h1c *c)
{
	c->again = true;
}

/* The exchange loses its connection: it gets STK_EV_ERROR (unless its
 * consumer is the one letting go) and lives until closed. */
static void detach_x(struct h1c *c, int err, bool notify)
{
	struct h1x *x = c->x;

	if (!x)
		return;
	c->x = NULL;
	x->c = NULL;
	x->x.body.error = err ? err : EPIPE;
	/* inside its own call the return value says it; a callback there
	 * would have the consumer free what it is still using */
	if (notify && !x->in_op)
		stk_stream_notify(&x->x.body, STK_EV_ERROR);
}

static void fail_conn(struct h1c *c, int err)
{
	if (c->dead)
		return;
	if (c->t) {
		stk_abort(c->t);
		c->t = NULL;
	}
	c->dead = true;
	c->err = err;
	detach_x(c, err, true);
}

/* ---- output --------------------------------------------------------- */

static int out_put(struct h1c *c, const void *d, size_t n)
{
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		uint8_t *o;

		if (c->out_off) {
			memmove(c->out, c->out + c->out_off,
				c->out_len - c->out_off);
			c->out_len -= c->out_off;
			c->out_off = 0;
		}
		while (cap < c->out_len + n)
			cap *= 2;
		if (cap != c->out_cap) {
			o = realloc(c->out, cap);
			if (!o)
				return -ENOMEM;
			c->out = o;
			c->out_cap = cap;
		}
	}
	memcpy(c->out + c->out_len, d, n);
	c->out_len += n;
	return 0;
}

static int out_str(struct h1c *c, const char *s)
{
	return out_put(c, s, strlen(s));
}

static int out_num(struct h1c *c, uint64_t v, unsigned base)
{
	char d[L7_U64_STR_MAX];

	return out_put(c, d, l7_u64_str(d, v, base));
}

/* "HTTP/1.1 200 OK\r\n" */
static int out_status_line(struct h1c *c, int status)
{
	return out_put(c, "HTTP/1.1 ", 9) || out_num(c, (unsigned)status, 10) ||
	       out_put(c, " ", 1) || out_str(c, l7_reason_phrase(status)) ||
	       out_put(c, "\r\n", 2) ? -ENOMEM : 0;
}

/* "name: value\r\n" with a numeric value */
static int out_num_field(struct h1c *c, const char *name, uint64_t v)
{
	return out_str(c, name) || out_put(c, ": ", 2) ||
	       out_num(c, v, 10) || out_put(c, "\r\n", 2) ? -ENOMEM : 0;
}

static int out_upgrade(struct h1c *c, const char *protocol)
{
	return out_str(c, "connection: upgrade\r\nupgrade: ") ||
	       out_str(c, protocol) || out_put(c, "\r\n", 2) ? -ENOMEM : 0;
}

static size_t out_pending(const struct h1c *c)
{
	return c->out_len - c->out_off;
}

static void flush(struct h1c *c)
{
	while (c->t && out_pending(c)) {
		ssize_t n = stk_write(c->t, c->out + c->out_off,
				      out_pending(c));

		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			fail_conn(c, n < 0 ? (int)-n : EPIPE);
			return;
		}
		c->out_off += (size_t)n;
	}
	if (c->t && c->shut_t) {
		c->shut_t = false;
		stk_shutdown(c->t);
	}
}

/* ---- input ---------------------------------------------------------- */

/* Read the transport into the input buffer: > 0, 0 at EOF, -EAGAIN,
 * -ENOBUFS when full, or -errno (the connection failed). */
static ssize_t fill(struct h1c *c)
{
	ssize_t n;

	if (c->eof)
		return 0;
	if (!c->t)
		return -EPIPE;
	if (c->in_off) {
		memmove(c->in, c->in + c->in_off, c->in_len);
		c->in_off = 0;
	}
	if (c->in_len == H1_IN_CAP)
		return -ENOBUFS;
	c->t_readable = false;
	n = stk_read(c->t, c->in + c->in_len, H1_IN_CAP - c->in_len);
	if (n > 0)
		c->in_len += (size_t)n;
	else if (n == 0)
		c->eof = true;
	else if (n != -EAGAIN)
		fail_conn(c, (int)-n);
	return n;
}

static void consume(struct h1c *c, size_t n)
{
	c->in_off += n;
	c->in_len -= n;
	if (!c->in_len)
		c->in_off = 0;
}

/* The server refuses the peer's bytes: answer status naming cause,
 * then close. */
static void reject(struct h1c *c, int status, const char *cause)
{
	char body[128];
	const char *r = l7_reason_phrase(status);
	int n, i;

	n = snprintf(body, sizeof(body), "%s: %s\n", r, cause);
	for (i = 0; i < n && body[i] != ':'; i++)
		if (body[i] >= 'A' && body[i] <= 'Z')
			body[i] = (char)(body[i] - 'A' + 'a');
	if (c->c.client || (c->active && c->tx_head)) {
		/* nothing sensible can be sent any more */
		fail_conn(c, EPROTO);
	} else {
		detach_x(c, EPROTO, true);
		if (out_status_line(c, status) ||
		    out_str(c, "content-type: text/plain\r\n") ||
		    out_num_field(c, "content-length", (unsigned)n) ||
		    out_str(c, "connection: close\r\n\r\n") ||
		    out_put(c, body, (size_t)n))
			fail_conn(c, ENOMEM);
		c->closing = true;
		c->err = EPROTO;
		c->active = false;
	}
	if (c->c.cb->rejected)
		c->c.cb->rejected(c->c.arg, &c->c, c->c.client ? 502 : status,
				  cause);
	kick(c);
}

/* The body of the current message is complete. */
static void body_end(struct h1c *c)
{
	c->rx = RX_DONE;
	/* trailers are the exchange's before read() says 0 */
	if (c->x && c->ptrailers.nfields) {
		l7_head_free(&c->x->x.trailers_in);
		c->x->x.trailers_in = c->ptrailers;
		l7_head_init(&c->ptrailers);
	}
	l7_head_free(&c->ptrailers);
	kick(c);
}

/* De-frame up to len body bytes into buf (NULL: discard). > 0, 0 at the
 * body's end, -EAGAIN, or -errno. */
static ssize_t pull(struct h1c *c, uint8_t *buf, size_t len)
{
	size_t n = 0;

	if (c->rx_hold)
		return -EAGAIN;
	while (!c->dead && c->rx == RX_BODY) {
		const uint8_t *d;
		size_t used, dlen;
		ssize_t r;
		int rc;

		if (l7_h1_body_done(&c->p)) {
			body_end(c);
			break;
		}
		if (n == len)
			break;
		if (c->in_len) {
			size_t lim = c->in_len < len - n ? c->in_len : len - n;

			rc = l7_h1_parse_body(&c->p, c->in + c->in_off, lim,
					      &used, &d, &dlen);
			consume(c, used);
			if (rc == L7_H1_ERROR) {
				reject(c, c->p.status, c->p.cause);
				return -EPROTO;
			}
			if (rc == L7_H1_DATA) {
				if (buf)
					memcpy(buf + n, d, dlen);
				n += dlen;
			}
			if (rc == L7_H1_END)
				body_end(c);
			continue;
		}
		r = fill(c);
		if (r == -EAGAIN)
			return n ? (ssize_t)n : -EAGAIN;
		if (r == 0) {
			if (l7_h1_parse_eof(&c->p) == L7_H1_END) {
				body_end(c);
				break;
			}
			/* the peer went away mid-body */
			fail_conn(c, EPIPE);
			return n ? (ssize_t)n : -EPIPE;
		}
		if (r < 0)
			return n ? (ssize_t)n : r;
	}
	if (c->dead && !n)
		return -EPIPE;
	return (ssize_t)n;
}

/* ---- heads out ------------------------------------------------------ */

static const char *const hop_by_hop[] = {
	"connection", "keep-alive", "proxy-connection", "transfer-encoding",
	"te", "upgrade", "content-length", "host", NULL,
};

/* A head the proxy built must not put on the wire what our own parser
 * would refuse: no CTLs, no spaces in the request line's parts. */
static bool clean(const char *s, bool space_ok)
{
	for (; s && *s; s++) {
		uint8_t c = (uint8_t)*s;

		if ((c < 0x20 && c != '\t') || c == 0x7f ||
		    (!space_ok && (c == ' ' || c == '\t')))
			return false;
	}
	return true;
}

static bool head_ok(const struct l7_head *h)
{
	if (!clean(h->scheme, false) || !clean(h->authority, false) ||
	    !clean(h->path, false) || !clean(h->protocol, true))
		return false;
	for (const char *m = h->method; m && *m; m++)
		if (!l7_h1_tchar((uint8_t)*m))
			return false;
	for (size_t i = 0; i < h->nfields; i++) {
		const struct l7_field *f = &h->fields[i];

		/* one pass each; a NUL inside fails like any control */
		if (!f->name_len || f->name[f->name_len] ||
		    f->value[f->value_len])
			return false;
		for (size_t k = 0; k < f->name_len; k++)
			if (!l7_h1_tchar((uint8_t)f->name[k]))
				return false;
		for (size_t k = 0; k < f->value_len; k++) {
			uint8_t c = (uint8_t)f->value[k];

			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return false;
		}
	}
	return true;
}

static int put_fields(struct h1c *c, const struct l7_head *h)
{
	for (size_t i = 0; i < h->nfields; i++) {
		const struct l7_field *f = &h->fields[i];

		if (l7_field_in(f, hop_by_hop))
			continue;
		if (out_put(c, f->name, f->name_len) || out_put(c, ": ", 2) ||
		    out_put(c, f->value, f->value_len) || out_put(c, "\r\n", 2))
			return -ENOMEM;
	}
	return 0;
}

/* ---- the exchange's stream ------------------------------------------ */

static struct h1x *h1x(struct stk_stream *s)
{
	return (struct h1x *)s;
}

/* an exchange per request: from a per-thread cache, not malloc */
static __thread struct stk_cache h1x_cache =
	STK_CACHE_INIT(sizeof(struct h1x), 256);

static void h1x_free(struct h1x *x)
{
	free(x->upgrade);
	l7_exchange_heads_free(&x->x);
	stk_cache_put(&h1x_cache, x, sizeof(*x));
}

/* Leaving one of x's own calls. Callbacks run inside it (an in-memory
 * peer answers at once) may have closed x: it is freed only here. */
static ssize_t h1x_exit(struct h1x *x, ssize_t rc)
{
	if (--x->in_op == 0 && x->closed) {
		h1x_free(x);
		return rc;
	}
	if (rc <= 0 && rc != -EAGAIN && !x->c && x->x.body.error)
		rc = -x->x.body.error;
	return rc;
}

static ssize_t h1x_read(struct stk_stream *s, void *buf, size_t len)
{
	struct h1x *x = h1x(s);
	struct h1c *c = x->c;
	ssize_t n;

	if (!c)
		return x->closed ? -EPIPE : -x->x.body.error;
	if (!len)
		return 0;
	enter(c);
	x->in_op++;
	if (c->rx == RX_HEAD) {
		n = -EAGAIN;
	} else {
		if (!c->c.client && c->p.expect_continue && !c->sent_100 &&
		    !c->tx_head && !c->peer10 && c->rx == RX_BODY &&
		    !l7_h1_body_done(&c->p)) {
			c->sent_100 = true;
			if (out_put(c, "HTTP/1.1 100 Continue\r\n\r\n", 25))
				fail_conn(c, ENOMEM);
		}
		n = pull(c, buf, len);
	}
	if (n == -EAGAIN)
		x->want_read = true;
	kick(c);
	leave(c);
	return h1x_exit(x, n);
}

static ssize_t h1x_write(struct stk_stream *s, const void *buf, size_t len)
{
	struct h1x *x = h1x(s);
	struct h1c *c = x->c;
	size_t room, n;
	ssize_t rc;

	if (!c)
		return -x->x.body.error;
	if (!len)
		return 0;
	if (!c->tx_head)
		return -EINVAL;
	if (c->tx_done || c->tx_shut_pending)
		return -EPIPE;
	if (c->tx == TX_NONE)
		return -EINVAL;
	enter(c);
	x->in_op++;
	room = c->lim.send_buffer > out_pending(c) ?
	       c->lim.send_buffer - out_pending(c) : 0;
	if (c->tx == TX_CHUNKED)
		room = room > H1_CHUNK_OVERHEAD ? room - H1_CHUNK_OVERHEAD : 0;
	if (c->tx == TX_WAIT || !room) {
		x->want_write = true;
		rc = -EAGAIN;
		goto out;
	}
	n = len < room ? len : room;
	if (c->tx == TX_LENGTH && n > c->tx_left)
		n = (size_t)c->tx_left;
	if ((c->tx == TX_CHUNKED &&
	     (out_num(c, n, 16) || out_put(c, "\r\n", 2))) ||
	    out_put(c, buf, n) ||
	    (c->tx == TX_CHUNKED && out_put(c, "\r\n", 2))) {
		rc = -ENOMEM;
		goto out;
	}
	if (c->tx == TX_LENGTH && !(c->tx_left -= n))
		c->tx_done = true;
	rc = (ssize_t)n;
	kick(c);
out:
	leave(c);
	if (!x->c && rc > 0 && !x->closed)
		rc = -x->x.body.error; /* taken, but the connection is gone */
	return h1x_exit(x, rc);
}

/* End our side of the body, with x's trailer fields when chunked (x may
 * be NULL). false: it cannot be ended well. */
static bool finish_tx(struct h1c *c, const struct h1x *x)
{
	if (c->tx_done)
		return true;
	switch (c->tx) {
	case TX_CHUNKED:
		if (out_put(c, "0\r\n", 3) ||
		    (x && head_ok(&x->x.trailers_out) &&
		     put_fields(c, &x->x.trailers_out)) ||
		    out_put(c, "\r\n", 2))
			return false;
		break;
	case TX_LENGTH:
		if (c->tx_left)
			return false; /* the peer would wait for the rest */
		break;
	case TX_CLOSE:
		c->must_close = true;
		break;
	case TX_RAW:
		c->shut_t = true;
		break;
	case TX_WAIT:
		c->tx_shut_pending = true;
		return true;
	}
	c->tx_done = true;
	kick(c);
	return true;
}

static int h1x_shutdown(struct stk_stream *s)
{
	struct h1x *x = h1x(s);
	struct h1c *c = x->c;
	int rc = 0;

	if (!c)
		return -x->x.body.error;
	if (!c->tx_head)
		return -EINVAL;
	enter(c);
	x->in_op++;
	if (!finish_tx(c, x)) {
		fail_conn(c, EPIPE);
		rc = -EPIPE;
	}
	leave(c);
	if (!x->c && !x->closed)
		rc = -x->x.body.error;
	return (int)h1x_exit(x, rc);
}

static void h1x_close(struct stk_stream *s)
{
	struct h1x *x = h1x(s);
	struct h1c *c = x->c;

	if (x->closed)
		return;
	if (!c) {
		if (x->in_op)
			x->closed = true;
		else
			h1x_free(x);
		return;
	}
	enter(c);
	detach_x(c, 0, false);
	c->x_done = true;
	if (!c->tx_head) {
		/* no answer was sent: only closing tells the client */
		c->must_close = true;
		c->tx_done = true;
	} else if (c->tx == TX_WAIT) {
		c->must_close = true;
		c->tx_done = true;
	} else if (!finish_tx(c, x)) {
		fail_conn(c, EPIPE);
	}
	if (c->rx != RX_DONE && (c->must_close || c->c.client || c->rx_hold ||
				 c->p.framing == L7_H1_TUNNEL ||
				 (c->p.framing == L7_H1_LENGTH &&
				  c->p.left > H1_DISCARD_MAX))) {
		c->must_close = true;
		c->rx = RX_DONE;
	}
	kick(c);
	if (x->in_op) {
		x->closed = true;
		x->x.body.error = EPIPE;
	} else {
		h1x_free(x);
	}
	leave(c);
}

static void h1x_abort(struct stk_stream *s)
{
	struct h1x *x = h1x(s);
	struct h1c *c = x->c;

	if (x->closed)
		return;
	if (c) {
		enter(c);
		detach_x(c, ECONNABORTED, false);
		fail_conn(c, ECONNABORTED);
		leave(c);
	}
	if (x->in_op)
		x->closed = true;
	else
		h1x_free(x);
}

static const struct stk_stream_ops h1x_ops = {
	.read = h1x_read,
	.write = h1x_write,
	.shutdown = h1x_shutdown,
	.close = h1x_close,
	.abort = h1x_abort,
};

static struct h1x *new_x(struct h1c *c)
{
	struct h1x *x = stk_cache_get(&h1x_cache, sizeof(*x));

	if (!x)
		return NULL;
	x->x.body.ops = &h1x_ops;
	x->x.xops = &h1x_xops;
	x->x.conn = &c->c;
	l7_exchange_heads_init(&x->x);
	x->x.stream_id = ++c->next_id;
	x->c = c;
	c->x = x;
	c->x_done = false;
	c->active = true;
	c->tx_head = c->tx_done = c->tx_shut_pending = false;
	c->sent_100 = false;
	c->discarded = 0;
	c->tx = TX_NONE;
	return x;
}

/* ---- server --------------------------------------------------------- */

static int h1x_send_head(struct l7_exchange *lx, const struct l7_head *h,
			 bool end)
{
	struct h1x *x = (struct h1x *)lx;
	struct h1c *c = x->c;
	int st = h->status, rc = 0;
	bool tunnel, none;

	if (!c)
		return -x->x.body.error;
	if (c->c.client || st < 101 || st > 599 || !head_ok(h))
		return -EINVAL;
	if (c->tx_head)
		return -EALREADY;
	if (st < 200 && st != 101 && c->peer10)
		return 0; /* no interim answers to HTTP/1.0 (RFC 9110 15.2) */
	enter(c);
	tunnel = st == 101 || (c->req_connect && st / 100 == 2);
	if (st == 101 && !x->upgrade) {
		rc = -EINVAL;
		goto out;
	}
	if (out_status_line(c, st) ||
	    put_fields(c, h)) {
		rc = -ENOMEM;
		fail_conn(c, ENOMEM); /* half a head is out */
		goto out;
	}
	if (st < 200 && st != 101) { /* interim: more heads follow */
		rc = out_put(c, "\r\n", 2);
		kick(c);
		goto out;
	}
	c->tx_head = true;
	none = c->req_head || st == 204 || st == 304;
	if (tunnel) {
		c->tx = TX_RAW;
		c->must_close = true; /* never HTTP again after a tunnel */
		if (st == 101)
			rc = out_upgrade(c, h->protocol ? h->protocol :
					 x->upgrade);
		/* what follows the request head is raw bytes now */
		if (c->rx_hold) {
			c->rx_hold = false;
			c->p.framing = L7_H1_TUNNEL;
			c->t_readable = true;
		}
	} else if (none) {
		c->tx = TX_NONE;
		c->tx_done = true;
		if (st != 204 && h->content_length >= 0)
			rc = out_num_field(c, "content-length",
					   (uint64_t)h->content_length);
	} else if (end || h->content_length >= 0) {
		c->tx = TX_LENGTH;
		c->tx_left = end ? 0 : (uint64_t)h->content_length;
		c->tx_done = !c->tx_left;
		rc = out_num_field(c, "content-length", c->tx_left);
	} else if (!c->peer10) {
		c->tx = TX_CHUNKED;
		rc = out_str(c, "transfer-encoding: chunked\r\n");
	} else {
		c->tx = TX_CLOSE; /* HTTP/1.0: the end is the close */
		c->must_close = true;
	}
	/* answered with more of the request unread than we would skip:
	 * say now that the connection ends with this answer */
	if (!tunnel && c->rx == RX_BODY && !c->rx_hold &&
	    c->p.framing == L7_H1_LENGTH && c->p.left > H1_DISCARD_MAX)
		c->must_close = true;
	if (c->rx_hold && !tunnel) { /* refused: the request ends here */
		c->rx_hold = false;
		c->rx = RX_DONE;
		c->t_readable = true;
	}
	if (!rc && !tunnel) {
		if (c->must_close || c->shutting) {
			c->must_close = true;
			rc = out_str(c, "connection: close\r\n");
		} else if (c->peer10) {
			rc = out_str(c, "connection: keep-alive\r\n");
		}
	}
	if (!rc)
		rc = out_put(c, "\r\n", 2);
	if (!rc && end && !c->tx_done && !finish_tx(c, NULL))
		rc = -EPIPE;
	if (rc)
		fail_conn(c, ENOMEM);
	kick(c);
out:
	leave(c);
	return rc;
}

static const struct l7_exchange_ops h1x_xops = {
	.send_head = h1x_send_head,
};

/* A request head is complete: hand the exchange over. */
static void server_exchange(struct h1c *c)
{
	char *upgrade = NULL;
	struct h1x *x;

	if (c->phead.protocol && !(upgrade = strdup(c->phead.protocol))) {
		fail_conn(c, ENOMEM);
		return;
	}
	x = new_x(c);
	if (!x) {
		free(upgrade);
		fail_conn(c, ENOMEM);
		return;
	}
	x->upgrade = upgrade;
	x->x.head = c->phead;
	l7_head_init(&c->phead);
	c->peer10 = x->x.head.version == 10;
	c->must_close |= c->p.close;
	c->req_head = strcmp(x->x.head.method, "HEAD") == 0;
	c->req_connect = strcmp(x->x.head.method, "CONNECT") == 0;
	c->rx = l7_h1_body_done(&c->p) ? RX_DONE : RX_BODY;
	/* a CONNECT or Upgrade request's "body" is the tunnel, if the
	 * answer opens one: reads wait for send_head */
	c->rx_hold = c->rx == RX_DONE && (c->req_connect || c->p.upgrade);
	if (c->rx_hold)
		c->rx = RX_BODY;
	c->c.cb->exchange(c->c.arg, &x->x);
	if (c->x == x) {
		if (!c->rx_hold && (c->in_len || c->rx == RX_DONE))
			stk_stream_notify(&x->x.body, STK_EV_READABLE);
		else
			x->want_read = true;
	}
}

/* Idle server: parse the next request head. */
static void server_head(struct h1c *c)
{
	while (!c->dead && !c->active && !c->closing) {
		size_t used;
		int rc;

		if (!c->in_len) {
			ssize_t r = fill(c);

			if (r == -EAGAIN || c->dead)
				return;
			if (r == 0) {
				/* a partial head is dropped with the close */
				c->closing = true;
				return;
			}
			continue;
		}
		rc = l7_h1_parse_head(&c->p, c->in + c->in_off, c->in_len,
				      &used);
		consume(c, used);
		if (rc == L7_H1_ERROR) {
			reject(c, c->p.status, c->p.cause);
			return;
		}
		if (rc == L7_H1_HEAD)
			server_exchange(c);
	}
}

/* ---- client --------------------------------------------------------- */

static bool bodyless_method(const char *m)
{
	return !strcmp(m, "GET") || !strcmp(m, "HEAD") ||
	       !strcmp(m, "DELETE") || !strcmp(m, "OPTIONS") ||
	       !strcmp(m, "TRACE") || !strcmp(m, "CONNECT");
}

static int put_request(struct h1c *c, const struct l7_head *r, bool end)
{
	const char *path = r->path ? r->path : "/";
	int rc;

	if (c->req_connect)
		rc = out_str(c, "CONNECT ") || out_str(c, r->authority);
	else if (r->absolute_form && r->scheme && r->authority)
		rc = out_str(c, r->method) || out_put(c, " ", 1) ||
		     out_str(c, r->scheme) || out_put(c, "://", 3) ||
		     out_str(c, r->authority) || out_str(c, path);
	else
		rc = out_str(c, r->method) || out_put(c, " ", 1) ||
		     out_str(c, path);
	rc = rc || out_str(c, " HTTP/1.1\r\nhost: ") ||
	     out_str(c, r->authority ? r->authority : "") ||
	     out_put(c, "\r\n", 2) ? -ENOMEM : 0;
	if (!rc)
		rc = put_fields(c, r);
	if (rc)
		return rc;
	if (c->req_connect) {
		c->tx = TX_WAIT;
	} else if (c->req_upgrade) {
		c->tx = TX_WAIT;
		rc = out_upgrade(c, r->protocol);
	} else if (end) {
		c->tx = TX_LENGTH;
		c->tx_done = true;
		if (r->content_length >= 0 || !bodyless_method(r->method))
			rc = out_str(c, "content-length: 0\r\n");
	} else if (r->content_length >= 0) {
		c->tx = TX_LENGTH;
		c->tx_left = (uint64_t)r->content_length;
		c->tx_done = !c->tx_left;
		rc = out_num_field(c, "content-length",
				   (uint64_t)r->content_length);
	} else {
		c->tx = TX_CHUNKED;
		rc = out_str(c, "transfer-encoding: chunked\r\n");
	}
	return rc ? rc : out_put(c, "\r\n", 2);
}

static struct l7_exchange *h1c_request(struct l7_conn *lc,
				       const struct l7_head *req, bool end)
{
	struct h1c *c = (struct h1c *)lc;
	struct h1x *x;
	bool connect;

	if (!c->c.ops->available(lc)) {
		errno = EBUSY;
		return NULL;
	}
	connect = req->method && !strcmp(req->method, "CONNECT");
	if (!req->method || !*req->method || !head_ok(req) ||
	    (connect && !req->authority) ||
	    (req->protocol && !end && !connect)) {
		errno = EINVAL;
		return NULL;
	}
	enter(c);
	x = new_x(c);
	if (!x) {
		c->busy--;
		errno = ENOMEM;
		return NULL;
	}
	c->req_connect = connect;
	c->req_head = !strcmp(req->method, "HEAD");
	c->req_upgrade = !connect && req->protocol;
	c->tx_head = true;
	c->rx = RX_HEAD;
	c->tx_left = 0;
	l7_head_free(&c->phead);
	l7_h1_parser_start(&c->p, &c->phead, c->req_head, c->req_connect);
	if (put_request(c, req, end)) {
		fail_conn(c, ENOMEM);
	} else {
		flush(c);
	}
	if (c->dead) {
		detach_x(c, 0, false);
		l7_head_free(&x->x.head);
		stk_cache_put(&h1x_cache, x, sizeof(*x));
		leave(c);
		errno = EPIPE;
		return NULL;
	}
	/* the consumer sets x's callback after this returns: whatever
	 * the transport raised meanwhile waits for the next way in */
	c->busy--;
	c->again = true;
	return &x->x;
}

/* A response head is complete. */
static void client_head_done(struct h1c *c)
{
	struct h1x *x = c->x;
	int st = c->phead.status;
	unsigned ev = L7_EV_HEAD;

	if (st < 200 && st != 101) { /* interim: swallow */
		l7_head_free(&c->phead);
		l7_h1_parser_start(&c->p, &c->phead, c->req_head,
				   c->req_connect);
		return;
	}
	if (st == 101 && !c->req_upgrade) {
		reject(c, 502, "unexpected_101");
		return;
	}
	c->must_close |= c->p.close;
	c->rx = l7_h1_body_done(&c->p) ? RX_DONE : RX_BODY;
	if (c->p.framing == L7_H1_TUNNEL) {
		c->tx = TX_RAW;
		c->tx_done = false;
		c->must_close = true;
		if (c->tx_shut_pending) {
			c->tx_shut_pending = false;
			finish_tx(c, x);
		}
		if (x)
			x->want_write = false;
		ev |= STK_EV_WRITABLE;
	} else if (c->tx == TX_WAIT) {
		c->tx_done = true; /* refused: nothing of ours follows */
	}
	if (!x) {
		l7_head_free(&c->phead);
		return;
	}
	l7_head_free(&x->x.head);
	x->x.head = c->phead;
	l7_head_init(&c->phead);
	if (c->in_len || c->rx == RX_DONE) {
		ev |= STK_EV_READABLE;
		x->want_read = false;
	} else {
		x->want_read = true;
	}
	stk_stream_notify(&x->x.body, ev);
}

static void client_head(struct h1c *c)
{
	while (!c->dead && c->active && c->rx == RX_HEAD) {
		size_t used;
		int rc;

		if (!c->in_len) {
			ssize_t r = fill(c);

			if (r == -EAGAIN || c->dead)
				return;
			if (r == 0) { /* upstream went away: the proxy says 502 */
				fail_conn(c, ECONNRESET);
				return;
			}
			continue;
		}
		rc = l7_h1_parse_head(&c->p, c->in + c->in_off, c->in_len,
				      &used);
		consume(c, used);
		if (rc == L7_H1_ERROR) {
			reject(c, 502, c->p.cause);
			return;
		}
		if (rc == L7_H1_HEAD)
			client_head_done(c);
	}
}

/* ---- the connection ------------------------------------------------- */

/* Both bodies are complete and the consumer let go of the exchange. */
static void end_message(struct h1c *c)
{
	c->active = false;
	l7_head_free(&c->phead);
	if (c->must_close || c->shutting || c->eof ||
	    (c->c.client && c->in_len)) {
		c->closing = true;
		kick(c);
		return;
	}
	l7_h1_parser_start(&c->p, &c->phead, false, false);
	if (c->c.client) {
		c->rx = RX_HEAD;
		if (c->c.cb->ready)
			c->c.cb->ready(c->c.arg, &c->c);
	}
	kick(c);
}

/* A server closing while the client may still be sending (an early
 * answer, a refused request) first ends its side and drains what comes,
 * up to a bound: closing a socket with unread bytes sends a reset that
 * can destroy the answer before the client reads it. true: close now. */
static bool linger(struct h1c *c)
{
	if (!c->lingering) {
		c->lingering = true;
		c->discarded = 0;
		stk_shutdown(c->t);
	}
	while (!c->eof && c->discarded <= H1_LINGER_MAX) {
		ssize_t n;

		c->in_off = c->in_len = 0;
		n = fill(c);
		if (n == -EAGAIN)
			return false;
		if (n <= 0)
			break;
		c->discarded += (size_t)n;
	}
	return !c->dead;
}

static void step(struct h1c *c)
{
	struct h1x *x;

	if (c->dead)
		return;
	flush(c);
	if (c->dead)
		return;
	if (c->closing && !out_pending(c)) {
		detach_x(c, EPIPE, true);
		if (!c->c.client && c->t && !linger(c))
			return;
		if (c->t) {
			stk_close(c->t);
			c->t = NULL;
		}
		c->dead = true;
		return;
	}
	if (c->closing)
		return;
	x = c->x;
	if (x && x->want_write && c->tx != TX_WAIT &&
	    out_pending(c) + H1_CHUNK_OVERHEAD < c->lim.send_buffer) {
		x->want_write = false;
		stk_stream_notify(&x->x.body, STK_EV_WRITABLE);
		if (c->dead || c->x != x) {
			kick(c);
			return;
		}
	}
	if (!c->active) {
		if (!c->c.client) {
			if (c->shutting)
				c->closing = true;
			else
				server_head(c);
		} else {
			/* idle upstream: anything from it ends it */
			ssize_t r = c->in_len ? 1 : fill(c);

			if (c->shutting || (r != -EAGAIN && !c->dead))
				c->closing = true;
		}
		if (c->closing)
			kick(c);
		return;
	}
	if (c->rx == RX_HEAD) {
		if (c->c.client)
			client_head(c);
		return;
	}
	if (c->rx == RX_BODY && c->x_done) {
		/* the consumer closed before the request body's end: skip
		 * it, up to a bound */
		ssize_t r;

		while ((r = pull(c, NULL, H1_IN_CAP)) > 0) {
			c->discarded += (size_t)r;
			if (c->discarded > H1_DISCARD_MAX) {
				c->must_close = true;
				c->rx = RX_DONE;
			}
		}
	}
	x = c->x;
	if (c->rx != RX_HEAD && x && x->want_read && !c->rx_hold &&
	    (c->t_readable || c->in_len || c->eof || c->rx == RX_DONE)) {
		x->want_read = false;
		stk_stream_notify(&x->x.body, STK_EV_READABLE);
		kick(c);
		return;
	}
	if (c->rx == RX_DONE && c->tx_done && c->x_done && !c->dead)
		end_message(c);
}

static void transport_event(struct stk_stream *s, unsigned ev, void *arg)
{
	struct h1c *c = arg;

	(void)s;
	enter(c);
	if (ev & STK_EV_ERROR)
		fail_conn(c, c->t && c->t->error ? c->t->error : ECONNRESET);
	if (ev & STK_EV_READABLE)
		c->t_readable = true;
	kick(c);
	leave(c);
}

static unsigned h1c_available(struct l7_conn *lc)
{
	struct h1c *c = (struct h1c *)lc;

	return c->c.client && !c->active && !c->dead && !c->closing &&
	       !c->shutting && !c->must_close && !c->eof && !c->in_len;
}

static void h1c_shutdown(struct l7_conn *lc)
{
	struct h1c *c = (struct h1c *)lc;

	enter(c);
	c->shutting = true;
	kick(c);
	leave(c);
}

static void h1c_abort(struct l7_conn *lc)
{
	struct h1c *c = (struct h1c *)lc;

	enter(c);
	fail_conn(c, ECONNABORTED);
	leave(c);
}

static const struct l7_conn_ops h1c_ops = {
	.request = h1c_request,
	.available = h1c_available,
	.shutdown = h1c_shutdown,
	.abort = h1c_abort,
};

static struct l7_conn *h1c_new(struct stk_stream *t,
			       const struct l7_conn_cb *cb, void *arg,
			       const struct l7_limits *lim, bool client)
{
	struct h1c *c = calloc(1, sizeof(*c));

	if (!c || !(c->in = malloc(H1_IN_CAP))) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	if (lim)
		c->lim = *lim;
	if (!c->lim.send_buffer)
		c->lim.send_buffer = 65536;
	c->c.ops = &h1c_ops;
	c->c.cb = cb;
	c->c.arg = arg;
	c->c.version = 11;
	c->c.client = client;
	c->t = t;
	l7_head_init(&c->phead);
	l7_head_init(&c->ptrailers);
	l7_h1_parser_init(&c->p, client, &c->lim);
	c->p.trailers = &c->ptrailers;
	l7_h1_parser_start(&c->p, &c->phead, false, false);
	c->rx = RX_HEAD;
	stk_stream_set_cb(t, transport_event, c);
	return &c->c;
}

/* Nothing is read before the first transport event: bytes already
 * waiting (TLS, a replayed prefix) are the caller's to announce with
 * STK_EV_READABLE, once it holds the connection. NULL (errno ENOMEM)
 * leaves t untouched. */
struct l7_conn *l7_h1_server(struct stk_stream *t, const struct l7_conn_cb *cb,
			     void *arg, const struct l7_limits *lim)
{
	return h1c_new(t, cb, arg, lim, false);
}

struct l7_conn *l7_h1_client(struct stk_stream *t, const struct l7_conn_cb *cb,
			     void *arg, const struct l7_limits *lim)
{
	return h1c_new(t, cb, arg, lim, true);
}
