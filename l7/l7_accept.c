/* A client connection from accept to HTTP: the PROXY protocol header
 * when the endpoint expects one, TLS when it has certificates, the
 * protocol (ALPN, or the HTTP/2 preface sniffed from cleartext), then
 * the HTTP engine whose exchanges go to l7_proxy.c. Each phase reads
 * from cl->s; bytes read ahead of a phase's need are replayed to the
 * next through stk_stream_prefixed(). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "l7_pp.h"
#include "l7_proxy_private.h"
#include "l7_sniff.h"
#include "l7_tls.h"
#include "stack/stk_proxy.h"


static void l7_client_event(struct stk_stream *s, unsigned ev, void *arg);
static void l7_client_start_tls(struct l7_client *cl, struct l7_tls_ctx *ctx,
				const char *default_name);

/* ---- life ------------------------------------------------------------- */

static void l7_client_link(struct l7_worker *w, struct l7_client *cl)
{
	cl->next = w->clients;
	if (w->clients)
		w->clients->prev = cl;
	w->clients = cl;
	w->ctr.conns++;
	w->ctr.conns_active++;
}

/* Gone from the worker's list; freed at the next poll once its
 * exchanges ended (they point at it). */
void l7_client_unlink(struct l7_client *cl)
{
	struct l7_worker *w = cl->w;

	if (cl->dead)
		return;
	cl->dead = true;
	w->ctr.conns_active--;
	if (cl->l4) {
		stk_proxy_release(cl->l4);
		cl->l4 = NULL;
	}
	if (cl->parent) {
		l7_req_nested_done(cl->parent);
		cl->parent = NULL;
	}
	if (cl->prev)
		cl->prev->next = cl->next;
	else
		w->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	cl->prev = NULL;
	cl->next = w->dead_clients;
	w->dead_clients = cl;
}

void l7_client_free(struct l7_client *cl)
{
	free(cl->client_subject);
	free(cl->client_sans);
	free(cl->client_fp);
	free(cl->tunnel_target);
	free(cl);
}

/* Before HTTP: drop the transport. */
static void l7_client_fail(struct l7_client *cl)
{
	if (cl->s) {
		stk_abort(cl->s);
		cl->s = NULL;
	}
	if (cl->up) {
		stk_abort(cl->up);
		cl->up = NULL;
	}
	l7_client_unlink(cl);
}

/* ---- intercepted flows that are not HTTP ------------------------------ */

/* Intercepting a port must not break the other protocols on it: a flow
 * whose client does not open with HTTP (or with TLS that the endpoint
 * may inspect), or whose server speaks first, goes back to the L4 proxy
 * as the plain TCP tunnel it would have been without the endpoint, with
 * what was read from either side replayed first. from_up: the server's
 * first bytes, if it spoke. */
static void l7_client_pass(struct l7_client *cl, const void *from_up,
			   size_t from_up_len)
{
	struct stk_conn *l4 = cl->l4;
	struct stk_stream *s = cl->s, *up = cl->up;

	if (!l4) {
		l7_client_fail(cl);
		return;
	}
	cl->w->ctr.passthrough++;
	cl->l4 = NULL;
	cl->s = NULL;
	cl->up = NULL;
	stk_proxy_pass(l4, s, cl->buf, cl->buf_len, up, from_up, from_up_len);
	cl->buf_len = 0;
	l7_client_unlink(cl);
}

/* The intercepted flow's upstream, while the client's first bytes are
 * awaited: bytes or an end from it mean the server speaks first. */
static void l7_client_up_check(struct l7_client *cl)
{
	uint8_t first[512];
	ssize_t n = stk_read(cl->up, first, sizeof(first));

	if (n == -EAGAIN)
		return;
	/* an end or an error: the tunnel reads it again and carries it */
	l7_client_pass(cl, first, n > 0 ? (size_t)n : 0);
}

static void l7_client_up_event(struct stk_stream *s, unsigned ev, void *arg)
{
	struct l7_client *cl = arg;

	if (cl->phase != L7_CL_SNIFF)
		return;
	if (ev & STK_EV_ERROR)
		l7_client_pass(cl, NULL, 0); /* the tunnel carries the reset */
	else if (ev & STK_EV_READABLE)
		l7_client_up_check(cl);
}

/* ---- HTTP ------------------------------------------------------------- */

static void l7_client_exchange(void *arg, struct l7_exchange *x)
{
	l7_req_new(arg, x);
}

static void l7_client_rejected(void *arg, struct l7_conn *c, int status,
			       const char *cause)
{
	struct l7_client *cl = arg;
	struct l7_worker *w = cl->w;
	char ip[INET6_ADDRSTRLEN];

	w->ctr.rejected_by_engine++;
	w->ctr.errors[L7_ERR_bad_request]++;
	if (status / 100 == 4)
		w->ctr.responses_4xx++;
	dp_addr_format(&cl->client, ip, sizeof(ip));
	fprintf(stderr, "strata: %s: %d from %s: %s\n", cl->info.endpoint,
		status, ip, cause);
}

static void l7_client_closed(void *arg, struct l7_conn *c, int error)
{
	struct l7_client *cl = arg;

	cl->conn = NULL;
	cl->s = NULL;
	l7_client_unlink(cl);
}

static const struct l7_conn_cb l7_client_cb = {
	.exchange = l7_client_exchange,
	.rejected = l7_client_rejected,
	.closed = l7_client_closed,
};

static void l7_client_http(struct l7_client *cl, bool h2)
{
	struct stk_stream *s = cl->s;

	cl->phase = L7_CL_HTTP;
	cl->conn = h2 ? l7_h2_server(s, &l7_client_cb, cl, NULL) :
			l7_h1_server(s, &l7_client_cb, cl, NULL);
	if (!cl->conn) {
		l7_client_fail(cl);
		return;
	}
	if (!cl->alpn[0])
		snprintf(cl->alpn, sizeof(cl->alpn), "%s",
			 h2 ? "h2c" : "http/1.1");
	cl->info.alpn = cl->alpn;
	/* Bytes may already wait (replayed or buffered by TLS), and no
	 * edge will announce them: let the engine look. cl may be gone
	 * after this. */
	stk_stream_notify(s, STK_EV_READABLE | STK_EV_WRITABLE);
}

/* ---- cleartext: HTTP/2 preface or HTTP/1.x ---------------------------- */

/* TLS to an intercepted port, under inspection: strata's certificate
 * for the SNI, or for the address the client reached. The connection
 * made for the client cannot carry strata's own TLS: it goes. */
static void l7_client_inspect(struct l7_client *cl)
{
	struct stk_stream *s = stk_stream_prefixed(cl->s, cl->buf, cl->buf_len);
	char host[CONF_HOST_MAX];
	uint16_t port;

	if (!s) {
		l7_client_fail(cl);
		return;
	}
	cl->s = s;
	cl->buf_len = 0;
	stk_abort(cl->up);
	cl->up = NULL;
	cl->info.inspected = 1;
	if (conf_parse_hostport(cl->tunnel_target, host, sizeof(host),
				&port) < 0)
		snprintf(host, sizeof(host), "%s", cl->tunnel_target);
	l7_client_start_tls(cl, cl->w->rt->ep_inspect[cl->ep], host);
}

/* Cleartext HTTP on an intercepted port: the connection made for the
 * client is the first one the origin's pool hands out. */
static void l7_client_adopt_up(struct l7_client *cl)
{
	char host[CONF_HOST_MAX];
	struct l7_pool *pool;
	uint16_t port;

	if (!cl->up)
		return;
	pool = conf_parse_hostport(cl->tunnel_target, host, sizeof(host),
				   &port) < 0 ? NULL :
	       l7_pool_origin(cl->w, host, port, NULL);
	if (pool)
		l7_pool_adopt(pool, cl->up);
	else
		stk_abort(cl->up);
	cl->up = NULL;
}

static void l7_client_sniff(struct l7_client *cl)
{
	struct l7_sniff_result res;
	enum l7_sniff_proto proto = L7_SNIFF_MORE;
	struct stk_stream *s;

	/* the preface is 24 bytes; anything else is decided sooner */
	while (proto == L7_SNIFF_MORE && cl->buf_len < 24) {
		ssize_t n = stk_read(cl->s, cl->buf + cl->buf_len,
				     24 - cl->buf_len);

		if (n == -EAGAIN)
			return;
		if (n == 0 && cl->up) {
			l7_client_pass(cl, NULL, 0); /* the tunnel carries the end */
			return;
		}
		if (n <= 0) {
			l7_client_fail(cl);
			return;
		}
		cl->buf_len += (size_t)n;
		proto = l7_sniff(cl->buf, cl->buf_len, &res);
		if (cl->intercepted && cl->buf[0] == 0x16)
			break;
	}
	if (cl->intercepted && cl->buf[0] == 0x16 &&
	    cl->w->rt->ep_inspect[cl->ep]) {
		l7_client_inspect(cl);
		return;
	}
	if (cl->up && proto != L7_SNIFF_H1 && proto != L7_SNIFF_H2) {
		l7_client_pass(cl, NULL, 0);
		return;
	}
	s = stk_stream_prefixed(cl->s, cl->buf, cl->buf_len);
	if (!s) {
		l7_client_fail(cl);
		return;
	}
	cl->s = s;
	l7_client_adopt_up(cl);
	/* not HTTP/2: the HTTP/1.1 engine answers what it cannot parse */
	l7_client_http(cl, proto == L7_SNIFF_H2);
}

/* ---- phases ----------------------------------------------------------- */

static void l7_client_after_tls(struct l7_client *cl)
{
	const struct conf_endpoint *ep = &cl->w->conf->endpoints[cl->ep];

	cl->buf_len = 0;
	switch (ep->protocol) {
	case CONF_HTTP_1:
		l7_client_http(cl, false);
		return;
	case CONF_HTTP_2:
		l7_client_http(cl, true);
		return;
	default:
		if (cl->info.tls) {
			l7_client_http(cl, !strcmp(cl->alpn, "h2"));
			return;
		}
		cl->phase = L7_CL_SNIFF;
		stk_stream_set_cb(cl->s, l7_client_event, cl);
		l7_client_sniff(cl);
		return;
	}
}

/* The handshake finished: what hooks learn from it. */
static void l7_client_tls_done(struct l7_client *cl)
{
	const struct l7_tls_info *in = l7_tls_info(cl->s);

	cl->w->ctr.tls_handshakes++;
	cl->w->ctr.tls_resumed += in->resumed;
	cl->info.tls = 1;
	if (in->sni) {
		snprintf(cl->sni, sizeof(cl->sni), "%s", in->sni);
		cl->info.sni = cl->sni;
	}
	if (in->alpn)
		snprintf(cl->alpn, sizeof(cl->alpn), "%s", in->alpn);
	if (in->has_peer_cert && in->verified) {
		size_t len = 1, off = 0;

		cl->info.client_cert_verified = 1;
		cl->client_subject = in->peer.subject ?
				     strdup(in->peer.subject) : NULL;
		cl->client_fp = strdup(in->peer.sha256);
		for (size_t i = 0; i < in->peer.n_sans; i++)
			len += strlen(in->peer.sans[i]) + 1;
		cl->client_sans = malloc(len);
		for (size_t i = 0; cl->client_sans && i < in->peer.n_sans; i++)
			off += (size_t)snprintf(cl->client_sans + off,
						len - off, "%s%s",
						i ? "," : "", in->peer.sans[i]);
		if (cl->client_sans && !in->peer.n_sans)
			cl->client_sans[0] = '\0';
		cl->info.client_subject = cl->client_subject;
		cl->info.client_fingerprint = cl->client_fp;
		cl->info.client_sans = cl->client_sans;
	}
	l7_client_after_tls(cl);
}

/* default_name: inspection's name when the client sends no SNI. */
static void l7_client_start_tls(struct l7_client *cl, struct l7_tls_ctx *ctx,
				const char *default_name)
{
	struct stk_stream *inner = cl->s, *t = l7_tls_server(inner, ctx);

	if (!t || (default_name && l7_tls_set_default_name(t, default_name))) {
		if (t)
			cl->s = t;
		l7_client_fail(cl);
		return;
	}
	cl->s = t;
	cl->phase = L7_CL_TLS;
	stk_stream_set_cb(t, l7_client_event, cl);
	/* the ClientHello may be waiting already (replayed, or in the
	 * socket since accept): no new edge would say so */
	stk_stream_notify(inner, STK_EV_READABLE);
}

static void l7_client_after_pp(struct l7_client *cl)
{
	struct l7_tls_ctx *tls = cl->w->rt->ep_tls[cl->ep];

	if (tls)
		l7_client_start_tls(cl, tls, NULL);
	else
		l7_client_after_tls(cl);
}

/* The PROXY protocol header: the client's real address, then on. */
static void l7_client_read_pp(struct l7_client *cl)
{
	struct l7_pp_result res;
	struct stk_stream *s;
	int n;

	for (;;) {
		ssize_t got;

		n = l7_pp_parse(cl->buf, cl->buf_len, &res);
		if (n != 0)
			break;
		if (cl->buf_len >= L7_PP_V2_MAX) {
			n = -L7_PP_E_V2_TOO_LONG;
			break;
		}
		/* bytes past the header are replayed to the next phase */
		got = stk_read(cl->s, cl->buf + cl->buf_len,
			       L7_PP_V2_MAX - cl->buf_len);
		if (got == -EAGAIN)
			return;
		if (got <= 0) {
			l7_client_fail(cl);
			return;
		}
		cl->buf_len += (size_t)got;
	}
	if (n < 0) {
		cl->w->ctr.pp_rejected++;
		fprintf(stderr, "strata: %s: PROXY protocol header refused: "
			"%s\n", cl->info.endpoint, l7_pp_strerror(n));
		l7_client_fail(cl);
		return;
	}
	cl->w->ctr.pp_accepted++;
	if (res.command == L7_PP_PROXY &&
	    (res.family == L7_PP_TCP4 || res.family == L7_PP_TCP6)) {
		memcpy(cl->client.b, res.src, 16);
		cl->info.client_port = res.sport;
		cl->info.proxied = 1;
	}
	s = stk_stream_prefixed(cl->s, cl->buf + n, cl->buf_len - (size_t)n);
	if (!s) {
		l7_client_fail(cl);
		return;
	}
	cl->s = s;
	cl->buf_len = 0;
	stk_stream_set_cb(s, l7_client_event, cl);
	l7_client_after_pp(cl);
}

static void l7_client_event(struct stk_stream *s, unsigned ev, void *arg)
{
	struct l7_client *cl = arg;

	if (ev & STK_EV_ERROR) {
		if (cl->phase == L7_CL_TLS)
			cl->w->ctr.tls_failed++;
		l7_client_fail(cl);
		return;
	}
	switch (cl->phase) {
	case L7_CL_PP:
		if (ev & STK_EV_READABLE)
			l7_client_read_pp(cl);
		break;
	case L7_CL_TLS:
		if (ev & STK_EV_CONNECTED)
			l7_client_tls_done(cl);
		break;
	case L7_CL_SNIFF:
		if (ev & STK_EV_READABLE)
			l7_client_sniff(cl);
		break;
	default:
		break;
	}
}

static struct l7_client *l7_client_new(struct l7_worker *w, unsigned ep,
				       struct stk_stream *s)
{
	struct l7_client *cl = calloc(1, sizeof(*cl));

	if (!cl) {
		stk_abort(s);
		return NULL;
	}
	cl->w = w;
	cl->ep = ep;
	cl->s = s;
	cl->info.endpoint = w->conf->endpoints[ep].name;
	cl->info.client = cl->client.b;
	cl->info.sni = NULL;
	cl->deadline_ns = l7_now(w) +
		w->conf->endpoints[ep].header_timeout_ms * 1000000ull;
	l7_client_link(w, cl);
	return cl;
}

void l7_client_start(struct l7_worker *w, unsigned ep, struct stk_stream *s,
		     const uint8_t client[16], uint16_t client_port)
{
	struct l7_client *cl = l7_client_new(w, ep, s);

	if (!cl)
		return;
	memcpy(cl->client.b, client, 16);
	cl->info.client_port = client_port;
	stk_stream_set_cb(s, l7_client_event, cl);
	if (w->conf->endpoints[ep].proxy_protocol) {
		cl->phase = L7_CL_PP;
		l7_client_read_pp(cl);
	} else {
		l7_client_after_pp(cl);
	}
}

void l7_client_nested(struct l7_worker *w, struct l7_req *parent,
		      struct stk_stream *s, const char *target,
		      struct l7_tls_ctx *inspect)
{
	struct l7_client *cl = l7_client_new(w, parent->cl->ep, s);

	if (!cl)
		return;
	cl->client = parent->cl->client;
	cl->info = parent->cl->info;
	cl->info.client = cl->client.b;
	cl->tunnel_target = strdup(target);
	cl->info.tunnel_target = cl->tunnel_target;
	cl->parent = parent;
	cl->info.tls = 0;
	cl->info.sni = NULL;
	stk_stream_set_cb(s, l7_client_event, cl);
	if (inspect) {
		char host[CONF_HOST_MAX];
		uint16_t port;

		cl->info.inspected = 1;
		/* without SNI, the certificate is for the CONNECT host */
		if (conf_parse_hostport(target, host, sizeof(host), &port) < 0)
			snprintf(host, sizeof(host), "%s", target);
		l7_client_start_tls(cl, inspect, host);
	} else {
		l7_client_after_tls(cl);
	}
}

void l7_client_intercepted(struct l7_worker *w, unsigned ep,
			   struct stk_stream *s, struct stk_stream *up,
			   const struct sockaddr_storage *used,
			   const struct strata_conn_info *info,
			   struct stk_conn *l4)
{
	char host[INET6_ADDRSTRLEN], target[INET6_ADDRSTRLEN + 8];
	union dp_addr dst;
	uint16_t port;
	struct l7_client *cl;

	dp_addr_from_sockaddr(&dst, &port, used);
	dp_addr_format(&dst, host, sizeof(host));
	snprintf(target, sizeof(target), dp_addr_is_v4(&dst) ? "%s:%u" :
		 "[%s]:%u", host, port);
	cl = l7_client_new(w, ep, s);
	if (!cl) {
		stk_abort(up);
		stk_proxy_release(l4);
		return;
	}
	memcpy(cl->client.b, info->client, 16);
	cl->info.client_port = info->client_port;
	cl->intercepted = true;
	cl->up = up;
	cl->l4 = l4;
	cl->tunnel_target = strdup(target);
	cl->info.tunnel_target = cl->tunnel_target;
	if (!cl->tunnel_target) {
		l7_client_fail(cl);
		return;
	}
	cl->phase = L7_CL_SNIFF;
	stk_stream_set_cb(s, l7_client_event, cl);
	stk_stream_set_cb(up, l7_client_up_event, cl);
	/* a server that speaks first may have spoken already */
	l7_client_up_check(cl);
	if (cl->phase == L7_CL_SNIFF && !cl->dead)
		l7_client_sniff(cl);
}

/* Header and idle timeouts. Each action takes the client out of the
 * list or clears its deadline: start over after one. */
void l7_client_sweep(struct l7_worker *w, uint64_t now)
{
	for (struct l7_client *cl = w->clients, *n; cl; cl = n) {
		n = cl->next;
		if (cl->active || now < cl->deadline_ns) {
			continue;
		} else if (cl->phase == L7_CL_SNIFF && cl->up && !cl->buf_len) {
			/* a silent client: perhaps its server speaks first,
			 * slowly */
			l7_client_pass(cl, NULL, 0);
		} else if (cl->phase != L7_CL_HTTP || !cl->conn) {
			w->ctr.header_timeouts++;
			l7_client_fail(cl);
		} else {
			w->ctr.idle_timeouts++;
			cl->deadline_ns = UINT64_MAX;
			cl->conn->ops->shutdown(cl->conn);
		}
		n = w->clients;
	}
}

/* strata is stopping: whatever phase the client is in. */
void l7_client_abort(struct l7_client *cl)
{
	if (cl->conn)
		cl->conn->ops->abort(cl->conn);
	else
		l7_client_fail(cl);
}
