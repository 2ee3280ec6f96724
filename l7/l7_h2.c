/* HTTP/2 connection engines, server and client, on nghttp2 over a
 * stk_stream. See l7_http.h for what they promise.
 *
 * nghttp2 is sans-IO: frames come out of nghttp2_session_mem_send() and
 * go into the transport; transport bytes go into nghttp2_session_mem_recv().
 * Frames are gathered into one buffer (about 16 KiB plus one frame) per
 * write, and mem_send() is not called again until the transport took
 * all of it. The transport is still read meanwhile: two
 * engines that both stopped reading while their output is blocked would
 * deadlock each other (a CONNECT tunnel busy both ways fills both
 * directions). What reading can make us queue stays bounded anyway:
 * answers to the peer's control frames by nghttp2's outbound-ACK flood
 * limit (the connection ends with "flood"), DATA by the per-stream send
 * buffers.
 *
 * Flow control follows the consumer: automatic WINDOW_UPDATE is off and
 * nghttp2_session_consume() is called only as read() takes body bytes, so
 * a stream holds at most its window unread. The connection window is the
 * stream window times the stream limit (capped), so one stalled stream
 * never stalls the others.
 *
 * Sending: write() copies into a per-stream buffer of l7_limits.send_buffer
 * bytes that a data provider drains (NGHTTP2_ERR_DEFERRED when empty,
 * resumed by the next write or shutdown).
 *
 * Re-entrancy: nghttp2's callbacks only record state and queue events on
 * the stream; events and the connection callbacks are delivered by run()
 * after mem_recv()/mem_send() returned, so whatever the consumer does from
 * a callback (write, close, abort, shutdown the connection) never
 * re-enters nghttp2. Every way in holds c->busy; the connection is freed
 * by the outermost way out. A stream pinned by a running callback is
 * freed when the callback returns. An exchange outlives its connection
 * until the consumer closes it (x->conn is then NULL): complete bodies
 * stay readable, the rest gives an error.
 *
 * Errors an exchange sees (body.error, and -errno from read/write):
 *   ECONNRESET    the peer reset the stream (RST_STREAM), or the
 *                 connection ended with the stream open;
 *   ECONNREFUSED  the peer did not process the stream: RST_STREAM
 *                 REFUSED_STREAM, above a GOAWAY's last_stream_id, or a
 *                 request never sent: safe to retry on another connection;
 *   EPROTO        the peer broke the protocol on this stream (a client's
 *                 malformed response).
 * request() fails with EAGAIN at the peer's stream limit and ESHUTDOWN
 * after a GOAWAY either way (or once the connection ended). */
#include "l7_h2_private.h"

#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stack/stk_buf.h"

#define H2_READ_CHUNK 16384
#define H2_OUT_BATCH 16384           /* gather frames up to this per write */
#define H2_CONN_WINDOW_MAX (16u << 20)
/* more peer errors than this in one read: ENHANCE_YOUR_CALM */
#define H2_MAX_REJECTS 32
/* what a peer may send on a stream before our SETTINGS apply */
#define H2_DEFAULT_WINDOW 65535u
/* nghttp2 1.52 has no reset rate limit: a client that resets far more
 * exchanges than it lets finish is asking the upstreams for work it
 * never takes (CVE-2023-44487, "rapid reset") */
#define H2_RESET_SLACK 200

struct h2_link {
	struct h2_link *next, *prev;
};

#define h2_container(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

static void h2_list_init(struct h2_link *l)
{
	l->next = l->prev = l;
}

static bool h2_list_empty(const struct h2_link *l)
{
	return l->next == l;
}

static void h2_list_add_tail(struct h2_link *head, struct h2_link *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static void h2_list_del(struct h2_link *n)
{
	if (!n->next)
		return;
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = NULL;
}

/* Bytes at p[off .. off+len); appends compact to the front when needed. */
struct h2_buf {
	uint8_t *p;
	size_t cap, off, len;
};

static int h2_buf_put(struct h2_buf *b, const void *d, size_t n, size_t max)
{
	if (b->off + b->len + n > b->cap) {
		if (b->off) {
			memmove(b->p, b->p + b->off, b->len);
			b->off = 0;
		}
		if (b->len + n > b->cap) {
			size_t cap = b->cap ? b->cap : 4096;
			uint8_t *np;

			while (cap < b->len + n)
				cap *= 2;
			if (cap > max)
				cap = max;
			if (cap < b->len + n)
				return -ENOBUFS;
			if (!b->cap && cap <= STK_BUF_SIZE && max >= STK_BUF_SIZE)
				cap = STK_BUF_SIZE; /* a cached one */
			np = b->cap ? realloc(b->p, cap) : stk_buf_get(cap);
			if (!np)
				return -ENOMEM;
			b->p = np;
			b->cap = cap;
		}
	}
	memcpy(b->p + b->off + b->len, d, n);
	b->len += n;
	return 0;
}

static size_t h2_buf_take(struct h2_buf *b, void *d, size_t n)
{
	if (n > b->len)
		n = b->len;
	if (!n)
		return 0;
	memcpy(d, b->p + b->off, n);
	b->off += n;
	b->len -= n;
	if (!b->len)
		b->off = 0;
	return n;
}

static void h2_buf_free(struct h2_buf *b)
{
	stk_buf_put(b->p, b->cap);
	memset(b, 0, sizeof(*b));
}

struct h2c;

struct h2s {
	struct l7_exchange x;       /* first: users hold &x.body */
	struct h2c *c;              /* NULL once the connection is gone */
	struct h2_link all;         /* c->streams */
	struct h2_link q;           /* c->evq or c->parked, when queued */
	unsigned ev;                /* events waiting for delivery */
	unsigned pin;               /* callbacks running on this stream */
	unsigned in_op;             /* inside the consumer's own call */
	struct h2_buf rx, tx;
	size_t head_bytes;
	int err;                    /* positive errno once failed */
	const char *reject;         /* server: answer with reject_status */
	int reject_status;
	bool handover;              /* server: exchange() is due */
	bool released;              /* nobody outside holds the exchange */
	bool head_done;             /* request head / final response head */
	bool in_trailers;
	bool hdr_sent;              /* our HEADERS went out */
	bool head_sent;             /* server: send_head() was called */
	bool provider;              /* a data provider is attached */
	bool deferred;              /* ... and it returned DEFERRED */
	bool tx_shut;               /* no more writes: END_STREAM after tx */
	bool tx_done;               /* END_STREAM went out */
	bool rx_eof;                /* END_STREAM came in */
	bool ng_closed;             /* nghttp2 is done with the stream */
	bool want_write;            /* write() said -EAGAIN */
	bool rst_after_eof;         /* server close(): stop the peer's body */
	bool expect_continue, continue_sent;
	bool extended;              /* request had :protocol */
	bool connect;               /* request was CONNECT */
	bool head_req;              /* client: we asked with HEAD */
	bool counted;               /* in c->n_out (client streams open) */
};

struct h2_reject {
	int status;
	const char *cause;
};

struct h2c {
	struct l7_conn conn;
	struct stk_stream *t;
	nghttp2_session *ng;
	struct l7_limits lim;
	struct h2_link streams, evq, parked;
	uint8_t *out;               /* frames the transport did not take */
	size_t out_off, out_len, out_cap;
	unsigned busy;
	unsigned n_out;             /* client: our streams nghttp2 has open */
	struct h2_reject rej[H2_MAX_REJECTS];
	unsigned nrej, rej_in_recv;
	int t_err;                  /* transport failed (positive errno) */
	int fatal;                  /* nghttp2 gave up (positive errno) */
	uint32_t goaway_err;        /* peer's GOAWAY error code */
	bool running, again, dead, t_eof;
	bool goaway_sent, goaway_recv, err_goaway, calm_sent;
	bool settings_recv;         /* client: the peer's first SETTINGS */
	const char *fatal_cause;    /* why a callback gave up on the peer */
	uint32_t peer_resets;       /* server: exchanges the peer reset */
	uint32_t finished;          /* server: exchanges that ended well */
	bool ready_due;
	size_t rx_peak, out_peak;
};

static const struct stk_stream_ops h2s_ops;
static const struct l7_exchange_ops h2s_xops;
static const struct l7_conn_ops h2c_ops;

static struct h2c *h2c_of(struct l7_conn *lc)
{
	return (struct h2c *)lc;
}

static struct h2s *h2s_of(struct stk_stream *st)
{
	return (struct h2s *)st;
}

static const char *h2_code_name(uint32_t code)
{
	static const char *const names[] = {
		"no_error", "protocol_error", "internal_error",
		"flow_control_error", "settings_timeout", "stream_closed",
		"frame_size_error", "refused_stream", "cancel",
		"compression_error", "connect_error", "enhance_your_calm",
		"inadequate_security", "http_1_1_required",
	};

	return code < sizeof(names) / sizeof(names[0]) ? names[code] :
	       "unknown_error";
}

/* ---- Entering and leaving ------------------------------------------- */

static void h2c_run(struct h2c *c);
static void h2c_free(struct h2c *c);

static void h2c_enter(struct h2c *c)
{
	c->busy++;
}

static void h2c_leave(struct h2c *c)
{
	if (--c->busy == 0 && c->dead)
		h2c_free(c);
}

/* After a call changed nghttp2's state: flush and deliver, unless an
 * outer frame is already doing that (it will loop once more). */
static void h2c_kick(struct h2c *c)
{
	h2c_enter(c);
	h2c_run(c);
	h2c_leave(c);
}

/* ---- Streams -------------------------------------------------------- */

static void h2s_queue(struct h2s *s, unsigned ev)
{
	struct h2c *c = s->c;

	s->ev |= ev;
	if (c && !s->q.next)
		h2_list_add_tail(&c->evq, &s->q);
}

/* a stream per request: from a per-thread cache, not malloc */
static __thread struct stk_cache h2s_cache =
	STK_CACHE_INIT(sizeof(struct h2s), 256);

static struct h2s *h2s_new(struct h2c *c)
{
	struct h2s *s = stk_cache_get(&h2s_cache, sizeof(*s));

	if (!s)
		return NULL;
	s->x.body.ops = &h2s_ops;
	s->x.xops = &h2s_xops;
	s->x.conn = &c->conn;
	l7_exchange_heads_init(&s->x);
	s->x.head.version = 20;
	s->c = c;
	h2_list_add_tail(&c->streams, &s->all);
	return s;
}

static void h2s_free(struct h2s *s)
{
	struct h2c *c = s->c;

	if (c) {
		if (s->x.stream_id && !s->ng_closed)
			nghttp2_session_set_stream_user_data(
				c->ng, (int32_t)s->x.stream_id, NULL);
		if (s->counted)
			c->n_out--;
	}
	h2_list_del(&s->all);
	h2_list_del(&s->q);
	h2_buf_free(&s->rx);
	h2_buf_free(&s->tx);
	l7_exchange_heads_free(&s->x);
	stk_cache_put(&h2s_cache, s, sizeof(*s));
}

/* Free s once nobody needs it: the consumer let go, no callback runs on
 * it, and nghttp2 no longer refers to it. */
static bool h2s_maybe_free(struct h2s *s)
{
	if (!s->released || s->pin || s->in_op || (s->c && !s->ng_closed))
		return false;
	h2s_free(s);
	return true;
}

/* Give unread body bytes back to the connection window. */
static void h2s_drop_rx(struct h2s *s)
{
	if (s->c && s->rx.len && !s->c->dead)
		nghttp2_session_consume(s->c->ng, (int32_t)s->x.stream_id,
					s->rx.len);
	h2_buf_free(&s->rx);
}

static void h2s_fail(struct h2s *s, int err)
{
	if (s->err)
		return;
	s->err = err;
	s->x.body.error = err;
	h2s_drop_rx(s);
	s->ev = 0;
	if (!s->released || s->handover)
		h2s_queue(s, STK_EV_ERROR);
}

static void h2s_rst(struct h2s *s, uint32_t code)
{
	struct h2c *c = s->c;

	if (c && !c->dead && s->x.stream_id && !s->ng_closed)
		nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE,
					  (int32_t)s->x.stream_id, code);
}

static void h2c_reject(struct h2c *c, int status, const char *cause)
{
	c->rej_in_recv++;
	if (c->nrej == H2_MAX_REJECTS) {
		/* more broken frames in one read than any honest peer
		 * sends: a flood */
		if (!c->calm_sent) {
			c->calm_sent = true;
			nghttp2_session_terminate_session(
				c->ng, NGHTTP2_ENHANCE_YOUR_CALM);
		}
		return;
	}
	c->rej[c->nrej].status = status;
	c->rej[c->nrej].cause = cause;
	c->nrej++;
}

static struct h2s *h2s_get(struct h2c *c, int32_t id)
{
	return nghttp2_session_get_stream_user_data(c->ng, id);
}

/* ---- Heads: nghttp2 fields <-> struct l7_head ----------------------- */

static bool h2_name_is(const uint8_t *n, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(n, want, len) == 0;
}

/* Fields that never cross into HTTP/2 (RFC 9113 8.2.2) or that the
 * engine writes itself from the head's slots. */
static bool h2_hop_field(const struct l7_field *f)
{
	static const char *const hop[] = {
		"connection", "keep-alive", "proxy-connection",
		"transfer-encoding", "upgrade", "host", "content-length",
		"http2-settings", NULL,
	};

	return f->name[0] == ':' || l7_field_in(f, hop);
}

static int h2_parse_length(const uint8_t *v, size_t len, int64_t *out)
{
	int64_t n = 0;

	if (!len || len > 18)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (v[i] - '0');
	}
	*out = n;
	return 0;
}

/* Cookies may come split over several fields (RFC 9113 8.2.3): join
 * them, so an HTTP/1.1 upstream gets one. */
static int h2_add_cookie(struct l7_head *h, const uint8_t *v, size_t len)
{
	size_t old_len;
	const char *old = l7_head_get(h, "cookie", &old_len);
	char *joined;
	int rc;

	if (!old)
		return l7_head_add(h, "cookie", 6, (const char *)v, len);
	joined = malloc(old_len + 2 + len);
	if (!joined)
		return -ENOMEM;
	memcpy(joined, old, old_len);
	memcpy(joined + old_len, "; ", 2);
	memcpy(joined + old_len + 2, v, len);
	l7_head_del(h, "cookie");
	rc = l7_head_add(h, "cookie", 6, joined, old_len + 2 + len);
	free(joined);
	return rc;
}

/* One received field into the head. Returns 0, -ENOMEM, or 1 when a
 * limit was passed (server: answered with 431). */
static int h2_head_field(struct h2c *c, struct h2s *s, const uint8_t *n,
			 size_t nlen, const uint8_t *v, size_t vlen)
{
	struct l7_head *h = &s->x.head;
	char **slot = NULL;

	s->head_bytes += nlen + vlen + 4;
	if (s->head_bytes > c->lim.max_head_bytes)
		return 1;
	if (nlen && n[0] == ':') {
		if (h2_name_is(n, nlen, ":status")) {
			int st = 0;

			/* three digits; the range is checked with the head */
			for (size_t i = 0; i < vlen; i++)
				st = i < 3 && v[i] >= '0' && v[i] <= '9' ?
				     st * 10 + (v[i] - '0') : -1000;
			h->status = vlen == 3 && st >= 0 ? st : -1;
			return 0;
		}
		if (h2_name_is(n, nlen, ":method"))
			slot = &h->method;
		else if (h2_name_is(n, nlen, ":scheme"))
			slot = &h->scheme;
		else if (h2_name_is(n, nlen, ":authority"))
			slot = &h->authority;
		else if (h2_name_is(n, nlen, ":path"))
			slot = &h->path;
		else if (h2_name_is(n, nlen, ":protocol"))
			slot = &h->protocol;
		else
			return 0; /* nghttp2 rejects unknown ones */
		return l7_head_set_slot(slot, (const char *)v, vlen);
	}
	if (h2_name_is(n, nlen, "content-length")) {
		/* nghttp2 checked it is one number matching the body */
		if (h2_parse_length(v, vlen, &h->content_length))
			h->content_length = -1;
		return 0;
	}
	if (h2_name_is(n, nlen, "host")) {
		/* :authority wins (RFC 9113 8.3.1); Host stays out of fields */
		if (!h->authority)
			return l7_head_set_slot(&h->authority, (const char *)v,
						vlen);
		return 0;
	}
	if (h->nfields >= c->lim.max_fields)
		return 1;
	if (h2_name_is(n, nlen, "cookie"))
		return h2_add_cookie(h, v, vlen);
	if (!c->conn.client && h2_name_is(n, nlen, "expect") &&
	    vlen == 12 && strncasecmp((const char *)v, "100-continue", 12) == 0)
		s->expect_continue = true;
	return l7_head_add(h, (const char *)n, nlen, (const char *)v, vlen);
}

/* Most heads fit in the inline array: no allocation per head. */
#define H2_NVS_INLINE 24

struct h2_nvs {
	nghttp2_nv *nv;
	size_t n, cap;
	nghttp2_nv inline_nv[H2_NVS_INLINE];
	char *scratch[8];           /* lowercased names, freed after submit */
	unsigned nscratch;
	char clen[24];
};

static void h2_nv_add(struct h2_nvs *a, const char *name, const char *value,
		      size_t vlen)
{
	nghttp2_nv *nv = &a->nv[a->n++];

	nv->name = (uint8_t *)name;
	nv->namelen = strlen(name);
	nv->value = (uint8_t *)value;
	nv->valuelen = vlen;
	nv->flags = NGHTTP2_NV_FLAG_NONE;
}

static void h2_nvs_free(struct h2_nvs *a)
{
	for (unsigned i = 0; i < a->nscratch; i++)
		free(a->scratch[i]);
	if (a->nv != a->inline_nv)
		free(a->nv);
}

/* A field name as HTTP/2 wants it: lowercase (heads built with
 * l7_head_add already are). NULL: drop the field. */
static const char *h2_lower_name(struct h2_nvs *a, const char *name)
{
	const char *p;
	char *copy;

	for (p = name; *p && !(*p >= 'A' && *p <= 'Z'); p++)
		;
	if (!*p)
		return name;
	if (a->nscratch == sizeof(a->scratch) / sizeof(a->scratch[0]))
		return NULL;
	copy = strdup(name);
	if (!copy)
		return NULL;
	for (char *q = copy; *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	a->scratch[a->nscratch++] = copy;
	return copy;
}

/* Regular fields of h, minus the connection-specific ones and those a
 * Connection field names; te only as "trailers". */
static int h2_nvs_fields(struct h2_nvs *a, const struct l7_head *h,
			 size_t extra)
{
	a->cap = h->nfields + extra;
	a->nv = a->cap <= H2_NVS_INLINE ? a->inline_nv :
		calloc(a->cap, sizeof(*a->nv));
	return a->nv ? 0 : -ENOMEM;
}

static void h2_nvs_add_fields(struct h2_nvs *a, const struct l7_head *h)
{
	size_t conn_len = 0;
	const char *conn = l7_head_get(h, "connection", &conn_len);

	for (size_t i = 0; i < h->nfields; i++) {
		const struct l7_field *f = &h->fields[i];
		const char *name;

		if (h2_hop_field(f))
			continue;
		if (conn && l7_token_list_has(conn, conn_len, f->name))
			continue;
		if (f->name_len == 2 && strcasecmp(f->name, "te") == 0 &&
		    strcasecmp(f->value, "trailers") != 0)
			continue;
		name = h2_lower_name(a, f->name);
		if (name)
			h2_nv_add(a, name, f->value, f->value_len);
	}
	if (h->content_length >= 0) {
		size_t n = l7_u64_str(a->clen, (uint64_t)h->content_length, 10);

		h2_nv_add(a, "content-length", a->clen, n);
	}
}

/* ---- nghttp2 callbacks: record, queue, never call the consumer ------- */

static ssize_t h2_read_body(nghttp2_session *ng, int32_t id, uint8_t *buf,
			    size_t len, uint32_t *flags,
			    nghttp2_data_source *src, void *arg);

static int h2_on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f,
			       void *arg)
{
	struct h2c *c = arg;
	struct h2s *s;

	if (f->hd.type != NGHTTP2_HEADERS)
		return 0;
	if (f->headers.cat == NGHTTP2_HCAT_REQUEST) {
		s = h2s_new(c);
		if (!s)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		s->x.stream_id = (uint32_t)f->hd.stream_id;
		s->released = true; /* ours until handed over */
		nghttp2_session_set_stream_user_data(ng, f->hd.stream_id, s);
		return 0;
	}
	s = h2s_get(c, f->hd.stream_id);
	if (!s)
		return 0;
	if (s->head_done) {
		s->in_trailers = true;
	} else {
		/* a response head (again, after a 1xx) */
		l7_head_free(&s->x.head);
		s->x.head.version = 20;
		s->head_bytes = 0;
	}
	return 0;
}

static int h2_on_header(nghttp2_session *ng, const nghttp2_frame *f,
			const uint8_t *n, size_t nlen, const uint8_t *v,
			size_t vlen, uint8_t flags, void *arg)
{
	struct h2c *c = arg;
	struct h2s *s = h2s_get(c, f->hd.stream_id);
	int rc;

	(void)flags;
	if (f->hd.type != NGHTTP2_HEADERS || !s)
		return 0;
	if (s->reject || s->in_trailers || s->err) {
		/* refused, failed or trailers: still count, so endless
		 * CONTINUATION frames end the connection */
		s->head_bytes += nlen + vlen + 4;
		if (s->head_bytes > 4 * (size_t)c->lim.max_head_bytes + 65536) {
			c->fatal_cause = "head_flood";
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		}
		if (s->in_trailers && !s->reject && !s->err &&
		    s->x.trailers_in.nfields < c->lim.max_fields &&
		    !l7_trailer_forbidden((const char *)n, nlen) &&
		    l7_head_add(&s->x.trailers_in, (const char *)n, nlen,
				(const char *)v, vlen))
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		return 0;
	}
	if (s->err)
		return 0;
	rc = h2_head_field(c, s, n, nlen, v, vlen);
	if (rc < 0)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (rc > 0) {
		if (c->conn.client) {
			/* the upstream's head is too big: this stream fails */
			h2c_reject(c, 502, "head_too_large");
			s->reject = "head_too_large";
			nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE,
						  f->hd.stream_id,
						  NGHTTP2_INTERNAL_ERROR);
			h2s_fail(s, EPROTO);
		} else {
			s->reject = s->x.head.nfields >= c->lim.max_fields ?
				    "too_many_fields" : "head_too_large";
			s->reject_status = 431;
		}
	}
	return 0;
}

/* Server: answer a request we refused with its status and the cause as
 * the body; the consumer never sees it. */
static void h2s_send_reject(struct h2c *c, struct h2s *s)
{
	char status[8];
	nghttp2_nv nv[3];
	nghttp2_data_provider prd;

	h2c_reject(c, s->reject_status, s->reject);
	snprintf(status, sizeof(status), "%d", s->reject_status);
	h2_buf_put(&s->tx, s->reject, strlen(s->reject), 256);
	h2_buf_put(&s->tx, "\n", 1, 256);
	s->tx_shut = true;
	s->rst_after_eof = true;
	nv[0] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)status, 7,
			      strlen(status), NGHTTP2_NV_FLAG_NONE };
	nv[1] = (nghttp2_nv){ (uint8_t *)"content-type",
			      (uint8_t *)"text/plain", 12, 10,
			      NGHTTP2_NV_FLAG_NONE };
	prd.source.ptr = NULL;
	prd.read_callback = h2_read_body;
	s->provider = true;
	s->head_sent = true;
	if (nghttp2_submit_response(c->ng, (int32_t)s->x.stream_id, nv, 2,
				    &prd))
		h2s_rst(s, NGHTTP2_INTERNAL_ERROR);
}

static void h2_head_complete(struct h2c *c, struct h2s *s,
			     const nghttp2_frame *f)
{
	bool end = f->hd.flags & NGHTTP2_FLAG_END_STREAM;

	if (!c->conn.client) {
		s->head_done = true;
		/* no body at all: length 0, as for an HTTP/1.1 request
		 * without framing (the proxy then sends no body upstream) */
		if (end && s->x.head.content_length < 0)
			s->x.head.content_length = 0;
		if (s->reject) {
			h2s_send_reject(c, s);
			return;
		}
		s->extended = s->x.head.protocol != NULL;
		s->connect = s->x.head.method &&
			     strcmp(s->x.head.method, "CONNECT") == 0;
		s->handover = true;
		h2s_queue(s, 0);
		return;
	}
	if (s->err)
		return;
	if (s->x.head.status < 100 || s->x.head.status > 599) {
		/* nghttp2 takes any three digits ("000") */
		h2c_reject(c, 502, "bad_status");
		nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE,
					  f->hd.stream_id,
					  NGHTTP2_PROTOCOL_ERROR);
		h2s_fail(s, EPROTO);
		return;
	}
	if (s->x.head.status >= 100 && s->x.head.status < 200 && !end) {
		/* interim: the engine consumes it */
		l7_head_free(&s->x.head);
		s->x.head.version = 20;
		return;
	}
	s->head_done = true;
	/* ended with the head: a body of 0 bytes, except where a length
	 * would say something else (HEAD, 204, 304) */
	if (end && s->x.head.content_length < 0 && !s->head_req &&
	    s->x.head.status != 204 && s->x.head.status != 304)
		s->x.head.content_length = 0;
	h2s_queue(s, L7_EV_HEAD);
}

static int h2_on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f,
			    void *arg)
{
	struct h2c *c = arg;
	struct h2s *s;

	switch (f->hd.type) {
	case NGHTTP2_HEADERS:
	case NGHTTP2_DATA:
		s = h2s_get(c, f->hd.stream_id);
		if (!s)
			return 0;
		if (f->hd.type == NGHTTP2_HEADERS && !s->in_trailers &&
		    !s->head_done)
			h2_head_complete(c, s, f);
		if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) {
			s->rx_eof = true;
			if (!s->err && s->head_done)
				h2s_queue(s, STK_EV_READABLE);
		}
		break;
	case NGHTTP2_GOAWAY:
		c->goaway_recv = true;
		c->goaway_err = f->goaway.error_code;
		c->ready_due = true;
		/* answer it, so the session winds down once streams drain */
		if (!c->goaway_sent) {
			c->goaway_sent = true;
			nghttp2_submit_goaway(
				ng, NGHTTP2_FLAG_NONE,
				nghttp2_session_get_last_proc_stream_id(ng),
				NGHTTP2_NO_ERROR, NULL, 0);
		}
		break;
	case NGHTTP2_SETTINGS:
		if (c->conn.client && !(f->hd.flags & NGHTTP2_FLAG_ACK)) {
			c->settings_recv = true;
			c->ready_due = true;
		}
		break;
	}
	return 0;
}

static int h2_on_data(nghttp2_session *ng, uint8_t flags, int32_t id,
		      const uint8_t *d, size_t len, void *arg)
{
	struct h2c *c = arg;
	struct h2s *s = h2s_get(c, id);
	size_t max = c->lim.stream_window > H2_DEFAULT_WINDOW ?
		     c->lim.stream_window : H2_DEFAULT_WINDOW;
	bool was_empty;

	(void)flags;
	if (!s || s->err || (s->released && !s->handover)) {
		/* nobody will read it: give the window back now */
		nghttp2_session_consume(ng, id, len);
		return 0;
	}
	was_empty = !s->rx.len;
	if (h2_buf_put(&s->rx, d, len, max)) {
		/* beyond the window (nghttp2 checks it first) or no memory */
		nghttp2_session_consume(ng, id, len);
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, id,
					  NGHTTP2_FLOW_CONTROL_ERROR);
		h2s_fail(s, ECONNRESET);
		return 0;
	}
	if (s->rx.len > c->rx_peak)
		c->rx_peak = s->rx.len;
	if (was_empty && s->head_done)
		h2s_queue(s, STK_EV_READABLE);
	return 0;
}

static int h2_on_frame_send(nghttp2_session *ng, const nghttp2_frame *f,
			    void *arg)
{
	struct h2c *c = arg;
	struct h2s *s;

	if (f->hd.type == NGHTTP2_GOAWAY) {
		c->goaway_sent = true;
		c->ready_due = true;
		/* our own error GOAWAY: the peer's fault, unless already
		 * told by on_invalid_frame_recv */
		if (f->goaway.error_code != NGHTTP2_NO_ERROR) {
			c->err_goaway = true;
			if (!c->rej_in_recv)
				h2c_reject(c, c->conn.client ? 502 : 400,
					   h2_code_name(f->goaway.error_code));
		}
		return 0;
	}
	if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
		return 0;
	s = h2s_get(c, f->hd.stream_id);
	if (!s)
		return 0;
	if (f->hd.type == NGHTTP2_HEADERS)
		s->hdr_sent = true;
	if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) {
		s->tx_done = true;
		if (s->rst_after_eof && !s->rx_eof)
			/* answered in full: stop the rest of the request
			 * body (RFC 9113 8.1) */
			nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE,
						  f->hd.stream_id,
						  NGHTTP2_NO_ERROR);
	}
	return 0;
}

static void h2s_closed(struct h2c *c, struct h2s *s, uint32_t code)
{
	if (s->ng_closed)
		return;
	s->ng_closed = true;
	if (s->counted) {
		s->counted = false;
		c->n_out--;
		c->ready_due = true;
	}
	if (s->released && !s->handover) {
		h2s_maybe_free(s);
		return;
	}
	if (code == NGHTTP2_REFUSED_STREAM)
		h2s_fail(s, ECONNREFUSED);
	else if (code != NGHTTP2_NO_ERROR || !s->rx_eof)
		h2s_fail(s, ECONNRESET);
	else if (s->want_write)
		h2s_queue(s, STK_EV_WRITABLE); /* write() now says EPIPE */
	if (!c->conn.client) {
		if (!s->err)
			c->finished++;
		else if (++c->peer_resets > H2_RESET_SLACK &&
			 c->peer_resets / 2 > c->finished && !c->calm_sent) {
			c->calm_sent = true;
			h2c_reject(c, 400, "rapid_reset");
			nghttp2_session_terminate_session(
				c->ng, NGHTTP2_ENHANCE_YOUR_CALM);
		}
	}
	if (s->handover && s->err) {
		/* reset before the consumer saw it */
		s->handover = false;
		h2s_maybe_free(s);
	}
}

static int h2_on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code,
			      void *arg)
{
	struct h2c *c = arg;
	struct h2s *s = h2s_get(c, id);

	(void)ng;
	if (s)
		h2s_closed(c, s, code);
	return 0;
}

static int h2_on_frame_not_send(nghttp2_session *ng, const nghttp2_frame *f,
				int lib_err, void *arg)
{
	struct h2c *c = arg;
	struct h2_link *l;

	(void)lib_err;
	if (f->hd.type != NGHTTP2_HEADERS || !c->conn.client ||
	    nghttp2_session_find_stream(ng, f->hd.stream_id))
		return 0;
	/* a request that never went out (cancelled, or after GOAWAY):
	 * nghttp2 opened no stream, so it will not report a close */
	for (l = c->streams.next; l != &c->streams; l = l->next) {
		struct h2s *s = h2_container(l, struct h2s, all);

		if (s->x.stream_id == (uint32_t)f->hd.stream_id) {
			h2s_closed(c, s, NGHTTP2_REFUSED_STREAM);
			break;
		}
	}
	return 0;
}

static const char *h2_lib_cause(int lib_err)
{
	switch (lib_err) {
	case NGHTTP2_ERR_HTTP_HEADER:
		return "bad_header";
	case NGHTTP2_ERR_HTTP_MESSAGING:
		return "bad_message";
	case NGHTTP2_ERR_REFUSED_STREAM:
		return "refused_stream";
	case NGHTTP2_ERR_FLOW_CONTROL:
		return "flow_control_error";
	case NGHTTP2_ERR_FRAME_SIZE_ERROR:
		return "frame_size_error";
	case NGHTTP2_ERR_STREAM_CLOSED:
		return "stream_closed";
	default:
		return "protocol_error";
	}
}

static int h2_on_invalid_frame(nghttp2_session *ng, const nghttp2_frame *f,
			       int lib_err, void *arg)
{
	struct h2c *c = arg;
	struct h2s *s;

	(void)ng;
	if (lib_err == NGHTTP2_ERR_REFUSED_STREAM)
		return 0; /* over the stream limit: not malformed */
	h2c_reject(c, c->conn.client ? 502 : 400, h2_lib_cause(lib_err));
	s = f->hd.stream_id ? h2s_get(c, f->hd.stream_id) : NULL;
	if (s && c->conn.client)
		h2s_fail(s, EPROTO);
	return 0;
}

/* Our trailer fields end the stream in a HEADERS frame of their own;
 * when they cannot be sent, the body ends without them. */
static int h2s_submit_trailers(struct h2c *c, struct h2s *s, int32_t id)
{
	struct h2_nvs a = { 0 };
	int rv;

	if (h2_nvs_fields(&a, &s->x.trailers_out, 0) < 0)
		return -ENOMEM;
	h2_nvs_add_fields(&a, &s->x.trailers_out);
	rv = a.n ? nghttp2_submit_trailer(c->ng, id, a.nv, a.n) : -1;
	h2_nvs_free(&a);
	return rv == 0 ? 0 : -EINVAL;
}

/* Data provider: the stream's send buffer. */
static ssize_t h2_read_body(nghttp2_session *ng, int32_t id, uint8_t *buf,
		     size_t len, uint32_t *flags, nghttp2_data_source *src,
		     void *arg)
{
	struct h2c *c = arg;
	struct h2s *s = h2s_get(c, id);
	size_t n;

	(void)src;
	(void)ng;
	if (!s)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	n = h2_buf_take(&s->tx, buf, len);
	if (!s->tx.len && s->tx_shut) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		h2_buf_free(&s->tx);
		if (s->x.trailers_out.nfields && h2s_submit_trailers(c, s, id) == 0)
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
	} else if (!n) {
		s->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	if (n && s->want_write) {
		s->want_write = false;
		h2s_queue(s, STK_EV_WRITABLE);
	}
	return (ssize_t)n;
}

/* ---- Transport pump and delivery ------------------------------------ */

static void h2c_fatal(struct h2c *c, ssize_t rv)
{
	if (c->fatal)
		return;
	if (rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC)
		h2c_reject(c, 400, "bad_preface");
	else if (rv == NGHTTP2_ERR_CALLBACK_FAILURE && c->fatal_cause)
		h2c_reject(c, c->conn.client ? 502 : 400, c->fatal_cause);
	else if (rv == NGHTTP2_ERR_FLOODED)
		h2c_reject(c, c->conn.client ? 502 : 400, "flood");
	c->fatal = rv == NGHTTP2_ERR_NOMEM ? ENOMEM : EPROTO;
}

/* Gather what nghttp2 has to send, up to about H2_OUT_BATCH. */
static bool h2c_fill(struct h2c *c)
{
	while (c->out_len < H2_OUT_BATCH) {
		const uint8_t *d;
		ssize_t n = nghttp2_session_mem_send(c->ng, &d);
		uint8_t *grown;

		if (n < 0) {
			h2c_fatal(c, n);
			return false;
		}
		if (!n)
			break;
		if (c->out_len + (size_t)n > c->out_cap) {
			size_t cap = c->out_len + (size_t)n;

			if (!c->out_cap && cap <= STK_BUF_SIZE)
				cap = STK_BUF_SIZE; /* a cached one */
			grown = c->out_cap ? realloc(c->out, cap) :
					     stk_buf_get(cap);
			if (!grown) {
				c->fatal = ENOMEM;
				return false;
			}
			c->out = grown;
			c->out_cap = cap;
		}
		memcpy(c->out + c->out_len, d, (size_t)n);
		c->out_len += (size_t)n;
	}
	if (c->out_len > c->out_peak)
		c->out_peak = c->out_len;
	return c->out_len > 0;
}

/* Frames out until the transport is full. Small frames go out together
 * in one write: fewer calls, and no lone tail segment for Nagle to hold
 * back until the peer's delayed ACK. */
static void h2c_send(struct h2c *c)
{
	while (!c->dead && c->t && !c->t_err && !c->fatal) {
		ssize_t w;

		if (!c->out_len && !h2c_fill(c))
			return;
		w = stk_write(c->t, c->out + c->out_off, c->out_len);
		if (w == -EAGAIN || w == 0)
			return; /* WRITABLE brings us back */
		if (w < 0) {
			c->t_err = (int)-w;
			return;
		}
		c->out_off += (size_t)w;
		c->out_len -= (size_t)w;
		if (!c->out_len) {
			stk_buf_put(c->out, c->out_cap);
			c->out = NULL;
			c->out_off = c->out_cap = 0;
		}
	}
}

static void h2c_dispatch(struct h2c *c);

/* Transport bytes in, while our answers can go out. */
static void h2c_recv(struct h2c *c)
{
	uint8_t buf[H2_READ_CHUNK];

	while (!c->dead && c->t && !c->t_eof && !c->t_err && !c->fatal &&
	       nghttp2_session_want_read(c->ng)) {
		ssize_t n = stk_read(c->t, buf, sizeof(buf)), rv;

		if (n == -EAGAIN)
			return;
		if (n == 0) {
			c->t_eof = true;
			return;
		}
		if (n < 0) {
			c->t_err = (int)-n;
			return;
		}
		c->rej_in_recv = 0;
		rv = nghttp2_session_mem_recv(c->ng, buf, (size_t)n);
		if (rv < 0) {
			h2c_fatal(c, rv);
			return;
		}
		h2c_send(c);
		h2c_dispatch(c);
	}
}

static void h2c_end(struct h2c *c, int err);

static bool h2s_open(const struct h2s *s)
{
	return !s->ng_closed && !s->err;
}

static void h2c_dispatch(struct h2c *c)
{
	while (!c->dead) {
		if (c->nrej) {
			struct h2_reject r = c->rej[0];

			memmove(c->rej, c->rej + 1,
				--c->nrej * sizeof(c->rej[0]));
			if (c->conn.cb->rejected)
				c->conn.cb->rejected(c->conn.arg, &c->conn,
						     r.status, r.cause);
			continue;
		}
		if (!h2_list_empty(&c->evq)) {
			struct h2s *s = h2_container(c->evq.next, struct h2s,
						     q);
			unsigned ev;

			h2_list_del(&s->q);
			s->pin++;
			if (s->handover) {
				s->handover = false;
				s->released = false;
				if (s->rx.len || s->rx_eof)
					s->ev |= STK_EV_READABLE;
				c->conn.cb->exchange(c->conn.arg, &s->x);
			}
			if (!s->released && s->ev && !s->x.body.cb) {
				/* request() has not returned yet: keep the
				 * events for the next way in */
				if (s->c)
					h2_list_add_tail(&c->parked, &s->q);
			} else if (!s->released && (s->ev & L7_EV_HEAD)) {
				s->ev &= ~L7_EV_HEAD;
				stk_stream_notify(&s->x.body, L7_EV_HEAD);
			}
			if (!s->released && s->x.body.cb &&
			    (ev = s->ev) != 0) {
				s->ev = 0;
				if (ev & STK_EV_ERROR)
					ev = s->in_op ? 0 : STK_EV_ERROR;
				if (ev)
					stk_stream_notify(&s->x.body, ev);
			}
			s->pin--;
			h2s_maybe_free(s);
			continue;
		}
		if (c->ready_due) {
			c->ready_due = false;
			if (c->conn.client && c->conn.cb->ready &&
			    c->conn.ops->available(&c->conn))
				c->conn.cb->ready(c->conn.arg, &c->conn);
			continue;
		}
		break;
	}
}

/* Whether an exchange the consumer holds is still in flight. */
static bool h2c_any_open(struct h2c *c)
{
	for (struct h2_link *l = c->streams.next; l != &c->streams;
	     l = l->next) {
		struct h2s *s = h2_container(l, struct h2s, all);

		if (!s->released && h2s_open(s))
			return true;
	}
	return false;
}

static void h2c_check_end(struct h2c *c)
{
	if (c->dead)
		return;
	if (c->t_err) {
		h2c_end(c, c->t_err);
	} else if (c->fatal) {
		/* nghttp2 cannot go on (bad preface, flood, memory) */
		h2c_end(c, c->fatal);
	} else if (c->t_eof) {
		h2c_end(c, h2c_any_open(c) ? ECONNRESET : 0);
	} else if (!nghttp2_session_want_read(c->ng) &&
		   !nghttp2_session_want_write(c->ng) && !c->out_len) {
		/* GOAWAY both ways and the streams drained, or we sent an
		 * error GOAWAY */
		int err = 0;

		if (c->err_goaway)
			err = EPROTO;
		else if (c->goaway_recv && c->goaway_err != NGHTTP2_NO_ERROR)
			err = ECONNRESET;
		h2c_end(c, err);
	}
}

static void h2c_run(struct h2c *c)
{
	if (c->dead)
		return;
	if (c->running) {
		c->again = true;
		return;
	}
	c->running = true;
	do {
		c->again = false;
		while (!h2_list_empty(&c->parked)) {
			struct h2_link *l = c->parked.next;

			h2_list_del(l);
			h2_list_add_tail(&c->evq, l);
		}
		h2c_send(c);
		h2c_recv(c);
		h2c_send(c);
		h2c_dispatch(c);
		h2c_check_end(c);
	} while (c->again && !c->dead);
	c->running = false;
}

/* The end: open exchanges get STK_EV_ERROR, then closed(). Runs outside
 * nghttp2's callbacks; the memory goes when the outermost way in leaves. */
static void h2c_end(struct h2c *c, int err)
{
	struct h2_link *l, *next;
	struct stk_stream *t = c->t;

	if (c->dead)
		return;
	c->dead = true;
	c->t = NULL;
	if (t) {
		stk_stream_set_cb(t, NULL, NULL);
		/* an error GOAWAY already written still goes out */
		if (c->t_err || c->out_len)
			stk_abort(t);
		else
			stk_close(t);
	}
	/* detach every stream first, pinned, so callbacks that close other
	 * exchanges cannot free what this loop walks */
	for (l = c->streams.next; l != &c->streams; l = l->next) {
		struct h2s *s = h2_container(l, struct h2s, all);

		s->pin++;
		h2_list_del(&s->q);
		s->x.conn = NULL;
		if (s->counted) {
			s->counted = false;
			c->n_out--;
		}
	}
	for (l = c->streams.next; l != &c->streams; l = next) {
		struct h2s *s = h2_container(l, struct h2s, all);

		next = l->next;
		h2_list_del(&s->all);
		s->c = NULL;
		s->ev = 0;
		if (s->handover) {
			s->handover = false;
		} else if (!s->released && h2s_open(s)) {
			int e = c->conn.client && !s->hdr_sent ?
				ECONNREFUSED : ECONNRESET;

			s->err = e;
			s->x.body.error = e;
			h2_buf_free(&s->rx);
			/* not into a callback running on this very exchange,
			 * nor inside its own call: the return value tells it
			 * (a consumer there would free what it still uses) */
			if (s->pin == 1 && !s->in_op)
				stk_stream_notify(&s->x.body, STK_EV_ERROR);
		}
		s->pin--;
		h2s_maybe_free(s);
	}
	h2_list_init(&c->streams);
	h2_list_init(&c->evq);
	h2_list_init(&c->parked);
	c->conn.cb->closed(c->conn.arg, &c->conn, err);
}

static void h2c_free(struct h2c *c)
{
	nghttp2_session_del(c->ng);
	stk_buf_put(c->out, c->out_cap);
	free(c);
}

static void h2c_transport_event(struct stk_stream *t, unsigned ev, void *arg)
{
	struct h2c *c = arg;

	(void)t;
	if (ev & STK_EV_ERROR)
		c->t_err = t->error ? t->error : ECONNRESET;
	h2c_kick(c);
}

/* ---- Exchange body (stk_stream) ops --------------------------------- */

/* Entering and leaving one of the consumer's calls on s. Inside it, s
 * gets no STK_EV_ERROR (the return value says it instead) and is not
 * freed, even if a callback run meanwhile closed it. */
static void h2s_enter(struct h2s *s)
{
	s->in_op++;
}

static ssize_t h2s_exit(struct h2s *s, ssize_t rc)
{
	if (--s->in_op == 0 && s->released) {
		h2s_maybe_free(s);
		return rc;
	}
	if (s->err && rc <= 0 && rc != -s->err)
		rc = -s->err;
	return rc;
}

static ssize_t h2s_read_in(struct h2s *s, void *buf, size_t len)
{
	struct h2c *c = s->c;
	size_t n;

	if (s->err)
		return -s->err;
	if (!s->rx.len) {
		if (s->rx_eof)
			return 0;
		if (!c)
			return -ECONNRESET;
		if (s->expect_continue && !s->continue_sent &&
		    !s->head_sent) {
			/* the consumer wants the body: ask for it */
			nghttp2_nv nv = { (uint8_t *)":status",
					  (uint8_t *)"100", 7, 3,
					  NGHTTP2_NV_FLAG_NONE };

			s->continue_sent = true;
			nghttp2_submit_headers(c->ng, NGHTTP2_FLAG_NONE,
					       (int32_t)s->x.stream_id, NULL,
					       &nv, 1, NULL);
			h2c_kick(c);
		}
		return -EAGAIN;
	}
	n = h2_buf_take(&s->rx, buf, len);
	if (!s->rx.len)
		h2_buf_free(&s->rx);
	if (c && !c->dead) {
		nghttp2_session_consume(c->ng, (int32_t)s->x.stream_id, n);
		h2c_kick(c); /* WINDOW_UPDATE out */
	}
	return (ssize_t)n;
}

static ssize_t h2s_read(struct stk_stream *st, void *buf, size_t len)
{
	struct h2s *s = h2s_of(st);

	h2s_enter(s);
	return h2s_exit(s, h2s_read_in(s, buf, len));
}

static size_t h2_send_cap(const struct h2s *s)
{
	return s->c ? s->c->lim.send_buffer : 0;
}

static void h2s_resume(struct h2s *s)
{
	struct h2c *c = s->c;

	if (s->provider && s->deferred && !s->ng_closed) {
		s->deferred = false;
		nghttp2_session_resume_data(c->ng, (int32_t)s->x.stream_id);
	}
	h2c_kick(c);
}

static ssize_t h2s_write_in(struct h2s *s, const void *buf, size_t len)
{
	size_t room;

	if (s->err)
		return -s->err;
	if (!s->c || s->c->dead || s->tx_shut || s->ng_closed)
		return -EPIPE;
	if (!len)
		return 0;
	room = h2_send_cap(s) - s->tx.len;
	if (!room) {
		s->want_write = true;
		return -EAGAIN;
	}
	if (len > room)
		len = room;
	if (h2_buf_put(&s->tx, buf, len, h2_send_cap(s)))
		return -ENOMEM;
	h2s_resume(s);
	/* the stream failed meanwhile: what was taken is lost anyway */
	return s->err ? -s->err : (ssize_t)len;
}

static ssize_t h2s_write(struct stk_stream *st, const void *buf, size_t len)
{
	struct h2s *s = h2s_of(st);

	h2s_enter(s);
	return h2s_exit(s, h2s_write_in(s, buf, len));
}

static int h2s_shutdown(struct stk_stream *st)
{
	struct h2s *s = h2s_of(st);

	if (s->tx_shut || !s->c)
		return 0;
	h2s_enter(s);
	s->tx_shut = true;
	h2s_resume(s);
	return (int)h2s_exit(s, 0);
}

/* The consumer lets go. Server close(): finish the response if it was
 * started (and stop the rest of the request body with NO_ERROR once it
 * is out), else reset with INTERNAL_ERROR; abort(): reset (CONNECT_ERROR
 * for a tunnel). Client: a stream still open is of no more use: CANCEL. */
static void h2s_release(struct h2s *s, bool graceful)
{
	struct h2c *c = s->c;

	s->released = true;
	s->ev = 0;
	s->want_write = false;
	if (!c) {
		h2s_maybe_free(s);
		return;
	}
	h2c_enter(c);
	h2_list_del(&s->q);
	h2s_drop_rx(s);
	if (!s->ng_closed && !c->dead) {
		if (c->conn.client) {
			h2s_rst(s, NGHTTP2_CANCEL);
		} else if (!graceful || !s->head_sent) {
			/* a tunnel's far side failed: CONNECT_ERROR
			 * (RFC 9113 8.5) */
			h2s_rst(s, s->connect && s->head_sent ?
				   NGHTTP2_CONNECT_ERROR :
				   NGHTTP2_INTERNAL_ERROR);
		} else {
			if (!s->rx_eof)
				s->rst_after_eof = true;
			if (s->tx_done && !s->rx_eof)
				h2s_rst(s, NGHTTP2_NO_ERROR);
			s->tx_shut = true;
			if (s->provider && s->deferred) {
				s->deferred = false;
				nghttp2_session_resume_data(
					c->ng, (int32_t)s->x.stream_id);
			}
		}
	}
	h2s_maybe_free(s);
	h2c_run(c);
	h2c_leave(c);
}

static void h2s_close(struct stk_stream *st)
{
	h2s_release(h2s_of(st), true);
}

static void h2s_abort(struct stk_stream *st)
{
	h2s_release(h2s_of(st), false);
}

static const struct stk_stream_ops h2s_ops = {
	.read = h2s_read,
	.write = h2s_write,
	.shutdown = h2s_shutdown,
	.close = h2s_close,
	.abort = h2s_abort,
};

static int h2s_send_head_in(struct h2s *s, const struct l7_head *h,
			    bool end)
{
	struct h2c *c = s->c;
	struct h2_nvs a = { 0 };
	nghttp2_data_provider prd = { .read_callback = h2_read_body };
	char status[L7_U64_STR_MAX];
	int st = h->status, rv;
	bool interim;

	if (!c || c->conn.client || s->released)
		return -EINVAL;
	if (s->head_sent)
		return -EALREADY;
	if (s->err)
		return -s->err;
	if (c->dead || s->ng_closed)
		return -EPIPE;
	if (st == 101) {
		/* an HTTP/1.1 upstream took the Upgrade: HTTP/2 says so
		 * with a 2xx to the extended CONNECT (RFC 8441) */
		if (!s->extended)
			return -EINVAL;
		st = 200;
	}
	if (st < 100 || st > 599)
		return -EINVAL;
	interim = st < 200;
	l7_u64_str(status, (unsigned)st, 10);
	if (h2_nvs_fields(&a, h, 2))
		return -ENOMEM;
	h2_nv_add(&a, ":status", status, strlen(status));
	if (interim) {
		struct l7_head copy = *h;

		copy.content_length = -1;
		h2_nvs_add_fields(&a, &copy);
		rv = nghttp2_submit_headers(c->ng, NGHTTP2_FLAG_NONE,
					    (int32_t)s->x.stream_id, NULL,
					    a.nv, a.n, NULL);
		h2_nvs_free(&a);
		h2c_kick(c);
		return rv ? -EPROTO : 0;
	}
	if (s->connect && st < 300 && h->content_length >= 0) {
		/* a tunnel has no length (RFC 9110 9.3.6) */
		struct l7_head copy = *h;

		copy.content_length = -1;
		h2_nvs_add_fields(&a, &copy);
	} else {
		h2_nvs_add_fields(&a, h);
	}
	if (end)
		s->tx_shut = true;
	s->head_sent = true;
	s->provider = !(end && !s->tx.len);
	rv = nghttp2_submit_response(c->ng, (int32_t)s->x.stream_id, a.nv,
				     a.n, s->provider ? &prd : NULL);
	h2_nvs_free(&a);
	if (rv) {
		s->provider = false;
		return rv == NGHTTP2_ERR_NOMEM ? -ENOMEM : -EPROTO;
	}
	h2c_kick(c);
	return 0;
}

static int h2s_send_head(struct l7_exchange *x, const struct l7_head *h,
			 bool end)
{
	struct h2s *s = (struct h2s *)x;

	h2s_enter(s);
	return (int)h2s_exit(s, h2s_send_head_in(s, h, end));
}

static const struct l7_exchange_ops h2s_xops = {
	.send_head = h2s_send_head,
};

/* ---- Connection ops ------------------------------------------------- */

static unsigned h2c_available(struct l7_conn *lc)
{
	struct h2c *c = h2c_of(lc);
	uint32_t max;

	if (!lc->client || c->dead || c->goaway_sent || c->goaway_recv ||
	    !nghttp2_session_check_request_allowed(c->ng))
		return 0;
	max = nghttp2_session_get_remote_settings(
		c->ng, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
	if (max > 1000000)
		max = 1000000;
	return max > c->n_out ? max - c->n_out : 0;
}

static struct l7_exchange *h2c_request(struct l7_conn *lc,
				       const struct l7_head *req, bool end)
{
	struct h2c *c = h2c_of(lc);
	struct h2_nvs a = { 0 };
	nghttp2_data_provider prd = { .read_callback = h2_read_body };
	bool connect;
	struct h2s *s;
	int32_t id;

	if (!lc->client || !req->method) {
		errno = EINVAL;
		return NULL;
	}
	if (c->dead || c->goaway_sent || c->goaway_recv) {
		errno = ESHUTDOWN;
		return NULL;
	}
	if (!h2c_available(lc)) {
		errno = EAGAIN;
		return NULL;
	}
	connect = strcmp(req->method, "CONNECT") == 0;
	if (connect && req->protocol && c->settings_recv &&
	    !nghttp2_session_get_remote_settings(
		    c->ng, NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL)) {
		/* RFC 8441 3: only to a server that said it takes it */
		errno = EPROTONOSUPPORT;
		return NULL;
	}
	if (connect && !req->authority) {
		errno = EINVAL;
		return NULL;
	}
	s = h2s_new(c);
	if (!s || h2_nvs_fields(&a, req, 6)) {
		if (s)
			h2s_free(s);
		errno = ENOMEM;
		return NULL;
	}
	h2_nv_add(&a, ":method", req->method, strlen(req->method));
	if (connect && !req->protocol) {
		/* plain CONNECT: :authority only (RFC 9113 8.5) */
		h2_nv_add(&a, ":authority", req->authority,
			  strlen(req->authority));
	} else {
		const char *scheme = req->scheme ? req->scheme : "https";
		const char *path = req->path ? req->path : "/";
		const char *auth = req->authority;

		if (!auth)
			auth = l7_head_get(req, "host", NULL);

		if (connect)
			h2_nv_add(&a, ":protocol", req->protocol,
				  strlen(req->protocol));
		h2_nv_add(&a, ":scheme", scheme, strlen(scheme));
		if (auth)
			h2_nv_add(&a, ":authority", auth, strlen(auth));
		h2_nv_add(&a, ":path", path, strlen(path));
	}
	h2_nvs_add_fields(&a, req);
	s->tx_shut = end;
	s->provider = !end;
	s->released = false;
	s->head_req = strcmp(req->method, "HEAD") == 0;
	id = nghttp2_submit_request(c->ng, NULL, a.nv, a.n,
				    end ? NULL : &prd, s);
	h2_nvs_free(&a);
	if (id < 0) {
		h2s_free(s);
		errno = id == NGHTTP2_ERR_NOMEM ? ENOMEM : EPROTO;
		return NULL;
	}
	s->x.stream_id = (uint32_t)id;
	s->counted = true;
	c->n_out++;
	/* the consumer sets the callback after this returns: events the
	 * transport raises meanwhile wait for the next way in */
	h2c_kick(c);
	return &s->x;
}

static void h2c_shutdown(struct l7_conn *lc)
{
	struct h2c *c = h2c_of(lc);

	if (c->dead || c->goaway_sent)
		return;
	h2c_enter(c);
	c->goaway_sent = true;
	nghttp2_submit_goaway(c->ng, NGHTTP2_FLAG_NONE,
			      nghttp2_session_get_last_proc_stream_id(c->ng),
			      NGHTTP2_NO_ERROR, NULL, 0);
	h2c_run(c);
	h2c_leave(c);
}

static void h2c_abort(struct l7_conn *lc)
{
	struct h2c *c = h2c_of(lc);

	if (c->dead)
		return;
	h2c_enter(c);
	if (c->t) {
		stk_stream_set_cb(c->t, NULL, NULL);
		stk_abort(c->t);
		c->t = NULL;
	}
	h2c_end(c, ECONNABORTED);
	h2c_leave(c);
}

static const struct l7_conn_ops h2c_ops = {
	.request = h2c_request,
	.available = h2c_available,
	.shutdown = h2c_shutdown,
	.abort = h2c_abort,
};

/* ---- Construction --------------------------------------------------- */

static int h2_error_cb(nghttp2_session *ng, int lib_err, const char *msg,
		       size_t len, void *arg)
{
	(void)ng;
	(void)lib_err;
	(void)msg;
	(void)len;
	(void)arg;
	return 0;
}

static struct l7_conn *h2c_new(struct stk_stream *t,
			       const struct l7_conn_cb *cb, void *arg,
			       const struct l7_limits *lim, bool client)
{
	nghttp2_session_callbacks *cbs = NULL;
	nghttp2_option *opt = NULL;
	nghttp2_settings_entry iv[5];
	struct h2c *c;
	uint64_t win;
	size_t niv = 0;
	int rv;

	c = calloc(1, sizeof(*c));
	if (!c)
		goto out_nomem;
	c->conn.ops = &h2c_ops;
	c->conn.cb = cb;
	c->conn.arg = arg;
	c->conn.version = 20;
	c->conn.client = client;
	c->t = t;
	if (lim)
		c->lim = *lim;
	if (!c->lim.max_head_bytes)
		c->lim.max_head_bytes = 65536;
	if (!c->lim.max_fields)
		c->lim.max_fields = 100;
	if (!c->lim.max_streams)
		c->lim.max_streams = 100;
	if (!c->lim.stream_window)
		c->lim.stream_window = 65535;
	if (c->lim.stream_window > NGHTTP2_MAX_WINDOW_SIZE)
		c->lim.stream_window = NGHTTP2_MAX_WINDOW_SIZE;
	if (!c->lim.send_buffer)
		c->lim.send_buffer = 65536;
	h2_list_init(&c->streams);
	h2_list_init(&c->evq);
	h2_list_init(&c->parked);

	if (nghttp2_session_callbacks_new(&cbs) || nghttp2_option_new(&opt))
		goto out_free;
	nghttp2_session_callbacks_set_on_begin_headers_callback(
		cbs, h2_on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cbs, h2_on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs,
							     h2_on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs,
								  h2_on_data);
	nghttp2_session_callbacks_set_on_frame_send_callback(cbs,
							     h2_on_frame_send);
	nghttp2_session_callbacks_set_on_frame_not_send_callback(
		cbs, h2_on_frame_not_send);
	nghttp2_session_callbacks_set_on_stream_close_callback(
		cbs, h2_on_stream_close);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(
		cbs, h2_on_invalid_frame);
	nghttp2_session_callbacks_set_error_callback2(cbs, h2_error_cb);
	nghttp2_option_set_no_auto_window_update(opt, 1);
	/* before the peer's SETTINGS, assume the RFC's advice of 100 */
	nghttp2_option_set_peer_max_concurrent_streams(opt, 100);
	nghttp2_option_set_max_send_header_block_length(opt, 256 * 1024);
	rv = client ? nghttp2_session_client_new2(&c->ng, cbs, c, opt) :
		      nghttp2_session_server_new2(&c->ng, cbs, c, opt);
	nghttp2_session_callbacks_del(cbs);
	nghttp2_option_del(opt);
	cbs = NULL;
	opt = NULL;
	if (rv)
		goto out_free;

	iv[niv++] = (nghttp2_settings_entry){
		NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, c->lim.stream_window };
	iv[niv++] = (nghttp2_settings_entry){
		NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
		c->lim.max_head_bytes + 32 * c->lim.max_fields };
	if (client) {
		iv[niv++] = (nghttp2_settings_entry){
			NGHTTP2_SETTINGS_ENABLE_PUSH, 0 };
	} else {
		iv[niv++] = (nghttp2_settings_entry){
			NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS,
			c->lim.max_streams };
		iv[niv++] = (nghttp2_settings_entry){
			NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1 };
	}
	if (nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv, niv))
		goto out_session;
	win = (uint64_t)c->lim.stream_window *
	      (client ? 100 : c->lim.max_streams);
	if (win > H2_CONN_WINDOW_MAX)
		win = H2_CONN_WINDOW_MAX;
	if (win < c->lim.stream_window)
		win = c->lim.stream_window;
	if (win > H2_DEFAULT_WINDOW &&
	    nghttp2_session_set_local_window_size(c->ng, NGHTTP2_FLAG_NONE, 0,
						  (int32_t)win))
		goto out_session;

	/* our SETTINGS go out with the first run */
	stk_stream_set_cb(t, h2c_transport_event, c);
	return &c->conn;

out_session:
	nghttp2_session_del(c->ng);
out_free:
	if (cbs)
		nghttp2_session_callbacks_del(cbs);
	if (opt)
		nghttp2_option_del(opt);
	free(c);
out_nomem:
	errno = ENOMEM;
	return NULL;
}

/* Nothing is read or written before the first transport event (or, on
 * a client, the first request()): bytes already waiting in t (behind a
 * TLS handshake, a sniffed and replayed preface) are the caller's to
 * announce with STK_EV_READABLE once it holds the connection, as with
 * HTTP/1.1. NULL (errno ENOMEM) leaves t untouched. */
struct l7_conn *l7_h2_server(struct stk_stream *t, const struct l7_conn_cb *cb,
			     void *arg, const struct l7_limits *lim)
{
	return h2c_new(t, cb, arg, lim, false);
}

struct l7_conn *l7_h2_client(struct stk_stream *t, const struct l7_conn_cb *cb,
			     void *arg, const struct l7_limits *lim)
{
	return h2c_new(t, cb, arg, lim, true);
}

size_t l7_h2_rx_peak(const struct l7_conn *c)
{
	return ((const struct h2c *)c)->rx_peak;
}

size_t l7_h2_out_peak(const struct l7_conn *c)
{
	return ((const struct h2c *)c)->out_peak;
}
