/* One HTTP exchange from the client side: the http_request hook, then
 * routing (an app's answer, a route's upstream, a CONNECT target, an
 * absolute-form origin), then splicing the request body up and the
 * response body down through a tunnel whose response direction is held
 * until the response head went out. Errors before a response head
 * become strata's own answers (4xx/5xx, counted by cause); after it,
 * resets. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apps/apps.h"
#include "l7_proxy_private.h"
#include "l7_sniff.h"
#include "stack/stk_buf.h"

#define L7_BODY_BUF 16384

static const char *const l7_error_names[L7_ERR__COUNT] = {
#define L7_ERR_NAME(n, s) [L7_ERR_##n] = #n,
	L7_ERRORS(L7_ERR_NAME)
#undef L7_ERR_NAME
};

static const int l7_error_status[L7_ERR__COUNT] = {
#define L7_ERR_STATUS(n, s) [L7_ERR_##n] = s,
	L7_ERRORS(L7_ERR_STATUS)
#undef L7_ERR_STATUS
};

const char *l7_error_name(enum l7_error e)
{
	return (unsigned)e < L7_ERR__COUNT ? l7_error_names[e] : "?";
}

static void l7_count_status(struct l7_worker *w, int status)
{
	switch (status / 100) {
	case 1: w->ctr.responses_1xx++; break;
	case 2: w->ctr.responses_2xx++; break;
	case 3: w->ctr.responses_3xx++; break;
	case 4: w->ctr.responses_4xx++; break;
	default: w->ctr.responses_5xx++; break;
	}
}

/* ---- life ------------------------------------------------------------- */

static void l7_req_maybe_end(struct l7_req *r)
{
	struct l7_worker *w = r->w;
	struct l7_client *cl = r->cl;

	if (r->state == L7_REQ_DONE || !r->down_done || !r->up_done ||
	    r->tun_live || r->dial || r->uc || r->nested)
		return;
	r->state = L7_REQ_DONE;
	if (r->waiting) /* not through l7_up_close: leave no dangling entry */
		l7_pool_cancel(r->pool, r);
	apps_http_end(r, r->ctx, r->head_sent ? r->status : 0,
		      r->tun.bytes[STK_DIR_UP], r->tun.bytes[STK_DIR_DOWN]);
	if (r->prev)
		r->prev->next = r->next;
	else
		w->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->next = w->dead_reqs;
	w->dead_reqs = r;
	if (cl && !--cl->active)
		cl->deadline_ns = l7_now(w) +
			w->conf->endpoints[cl->ep].idle_timeout_ms * 1000000ull;
}

/* an l7_req per request, its size known at run time (hooks' context) */
static __thread struct stk_cache l7_req_cache = STK_CACHE_INIT(0, 256);

void l7_req_free(struct l7_req *r)
{
	l7_head_free(&r->req);
	l7_head_free(&r->resp);
	free(r->answer);
	stk_cache_put(&l7_req_cache, r, sizeof(*r) + apps_http_ctx_size());
}

static void l7_down_close(struct l7_req *r, bool abort)
{
	if (r->down_done)
		return;
	r->down_done = true;
	if (abort)
		stk_abort(&r->down->body);
	else
		stk_close(&r->down->body);
}

static void l7_up_close(struct l7_req *r, bool abort)
{
	if (r->pool)
		l7_pool_cancel(r->pool, r);
	if (r->dial) {
		stk_dial_cancel(r->dial);
		r->dial = NULL;
	}
	if (r->tcp) {
		if (abort)
			stk_abort(r->tcp);
		else
			stk_close(r->tcp);
		r->tcp = NULL;
	}
	if (r->up) {
		struct l7_exchange *up = r->up;

		r->up = NULL;
		if (abort)
			stk_abort(&up->body);
		else
			stk_close(&up->body);
	}
	r->up_done = true;
}

/* Stop the tunnel without touching its streams; false when it cannot
 * be stopped here (it was then reset, and ends by itself). */
static bool l7_tun_stop(struct l7_req *r)
{
	if (!r->tun_live)
		return true;
	if (stk_tunnel_detach(&r->tun) == 0) {
		r->tun_live = false;
		return true;
	}
	stk_tunnel_abort(&r->tun, STK_CLOSE_UPSTREAM_RESET);
	return false;
}

/* ---- strata's own answers ------------------------------------------- */

static void l7_answer_pump(struct l7_req *r)
{
	while (r->answer_off < r->answer_len) {
		ssize_t n = stk_write(&r->down->body, r->answer + r->answer_off,
				      r->answer_len - r->answer_off);

		if (n == -EAGAIN)
			return;
		if (n < 0) {
			l7_down_close(r, true);
			l7_req_maybe_end(r);
			return;
		}
		r->answer_off += (size_t)n;
	}
	stk_shutdown(&r->down->body);
	l7_down_close(r, false);
	l7_req_maybe_end(r);
}

static void l7_answer(struct l7_req *r, int status, const char *body,
		      size_t len, const char *ctype)
{
	struct l7_worker *w = r->w;

	if (!l7_tun_stop(r))
		return;
	l7_up_close(r, true);
	if (r->head_sent || r->down_done) {
		l7_down_close(r, true);
		l7_req_maybe_end(r);
		return;
	}
	l7_head_free(&r->resp);
	r->resp.status = status;
	r->resp.content_length = (int64_t)len;
	r->resp.version = r->req.version;
	l7_head_set(&r->resp, "content-type", ctype ? ctype :
		    "text/plain; charset=utf-8");
	l7_head_set(&r->resp, "cache-control", "no-store");
	apps_http_response(r, r->ctx);
	r->status = r->resp.status;
	free(r->answer);
	r->answer = malloc(len ? len : 1);
	if (!r->answer)
		len = 0;
	else
		memcpy(r->answer, body, len);
	r->answer_len = r->resp.content_length = (int64_t)len;
	r->answer_off = 0;
	r->state = L7_REQ_ANSWER;
	r->head_sent = true;
	l7_count_status(w, r->status);
	if (l7_send_head(r->down, &r->resp, len == 0) < 0) {
		l7_down_close(r, true);
		l7_req_maybe_end(r);
		return;
	}
	if (len == 0) {
		l7_down_close(r, false);
		l7_req_maybe_end(r);
		return;
	}
	l7_answer_pump(r);
}

static void l7_error(struct l7_req *r, enum l7_error e)
{
	int status = l7_error_status[e];
	char body[160];
	int n;

	r->w->ctr.errors[e]++;
	n = snprintf(body, sizeof(body), "%d %s: %s\n", status,
		     l7_reason_phrase(status), l7_error_names[e]);
	l7_answer(r, status, body, (size_t)n, NULL);
}

/* ---- the upstream side ------------------------------------------------ */

static void l7_tun_end(struct stk_tunnel *t, enum stk_close_reason why,
		       void *arg)
{
	struct l7_req *r = arg;

	/* the tunnel closed or aborted both streams */
	r->tun_live = false;
	r->down_done = true;
	r->up_done = true;
	r->up = NULL;
	l7_req_maybe_end(r);
}

/* Both ends of a body tunnel are exchanges: the trailer fields that came
 * with one body's end go out with the other's, which the tunnel shuts
 * right after this. */
static void l7_pass_trailers(struct stk_tunnel *t, int dir)
{
	struct l7_exchange *from = (struct l7_exchange *)t->s[dir];
	struct l7_exchange *to = (struct l7_exchange *)t->s[!dir];

	if (from->trailers_in.nfields &&
	    l7_head_copy(&to->trailers_out, &from->trailers_in) < 0)
		l7_head_free(&to->trailers_out); /* the body ends without */
}

static void l7_tun_data(struct stk_tunnel *t, int dir, const uint8_t *data,
			size_t len, void *arg)
{
	struct l7_req *r = arg;

	if (r->state == L7_REQ_TUNNEL)
		return;
	if (!len)
		l7_pass_trailers(t, dir);
	if (!apps_has_http_body_hooks())
		return;
	if (!len) { /* the last call: hooks may see and change the trailers */
		r->trailers_to = (struct l7_exchange *)t->s[!dir];
		r->trailers_dir = dir;
	}
	if (dir == STK_DIR_UP) {
		struct strata_http_decision d = { 0 };

		apps_http_request_body(r, r->ctx, data, len, len == 0, &d);
		r->trailers_to = NULL;
		if (d.verdict == STRATA_HTTP_BLOCK ||
		    d.verdict == STRATA_HTTP_ANSWER) {
			if (d.verdict == STRATA_HTTP_BLOCK)
				r->w->ctr.errors[L7_ERR_blocked]++;
			if (r->head_sent) {
				stk_tunnel_abort(t, STK_CLOSE_APP);
				return;
			}
			/* From inside the tunnel it cannot be detached:
			 * reset both sides. */
			stk_tunnel_abort(t, STK_CLOSE_APP);
		}
	} else {
		apps_http_response_body(r, r->ctx, data, len, len == 0);
		r->trailers_to = NULL;
	}
}

static void l7_start_tunnel(struct l7_req *r, struct stk_stream *down,
			    struct stk_stream *up, unsigned hold)
{
	r->tun_live = true;
	stk_tunnel_start(&r->tun, down, up, L7_BODY_BUF,
			 &r->w->loop->now_ns, l7_tun_end,
			 l7_tun_data, r,
			 hold);
}

static void l7_up_event(struct stk_stream *s, unsigned ev, void *arg);

static void l7_response_head(struct l7_req *r)
{
	struct l7_exchange *up = r->up;
	bool end;

	/* the engines are done with a delivered response head: take it
	 * rather than copy it */
	l7_head_free(&r->resp);
	r->resp = up->head;
	l7_head_init(&up->head);
	r->resp.version = r->req.version;
	/* an extended CONNECT's 2xx is an Upgrade's 101 on HTTP/1.1 */
	if (r->req.protocol && r->up_h2 && r->req.version != 20 &&
	    r->resp.status / 100 == 2)
		r->resp.status = 101;
	apps_http_response(r, r->ctx);
	r->status = r->resp.status;
	end = r->resp.content_length == 0 || r->status == 204 ||
	      r->status == 304 || !strcmp(r->req.method, "HEAD");
	r->head_sent = true;
	r->head_ended = end;
	l7_count_status(r->w, r->status);
	if (l7_send_head(r->down, &r->resp, end) < 0) {
		if (!l7_tun_stop(r))
			return;
		l7_up_close(r, true);
		l7_down_close(r, true);
		l7_req_maybe_end(r);
		return;
	}
	r->state = r->status == 101 || (r->req.protocol &&
		   r->status / 100 == 2) ? L7_REQ_TUNNEL : L7_REQ_STREAMING;
	if (r->tun_live) {
		stk_tunnel_release(&r->tun, STK_DIR_DOWN);
		return;
	}
	if (end && r->req.content_length == 0) {
		l7_up_close(r, false);
		l7_down_close(r, false);
		l7_req_maybe_end(r);
		return;
	}
	r->up = NULL; /* the tunnel owns it */
	l7_start_tunnel(r, &r->down->body, &up->body, 0);
}

static void l7_up_event(struct stk_stream *s, unsigned ev, void *arg)
{
	struct l7_req *r = arg;

	if (!r->head_sent && r->up) {
		if (ev & L7_EV_HEAD) {
			l7_response_head(r);
			return; /* the tunnel pumps from here */
		}
		if (ev & STK_EV_ERROR) {
			bool retry = r->idempotent && r->pool &&
				     r->tries < l7_pool_conf(r->pool)->retries;

			if (!l7_tun_stop(r))
				return;
			l7_up_close(r, true);
			if (retry) {
				r->tries++;
				r->w->ctr.retries++;
				r->up_done = false;
				r->state = L7_REQ_UPSTREAM;
				l7_pool_acquire(r->pool, r, true);
				return;
			}
			l7_error(r, L7_ERR_upstream_reset);
			return;
		}
	}
	if (r->tun_live)
		stk_tunnel_event(s, ev, &r->tun);
}

void l7_req_upstream_ready(struct l7_req *r, struct l7_conn *c, bool reused)
{
	/* An HTTP/1.1 Upgrade has no body before its 101; an HTTP/2
	 * extended CONNECT, going out as one, keeps its stream open for
	 * the tunnel whatever the client's Upgrade said of a body */
	bool end = r->req.protocol ? c->version == 11 :
		   r->req.content_length == 0;
	struct l7_exchange *up;

	r->uc = NULL;
	/* Upgrades cross versions: HTTP/2's extended CONNECT (RFC 8441) is
	 * HTTP/1.1's GET with Upgrade, and back. */
	r->up_h2 = c->version == 20;
	if (r->req.protocol) {
		const char *m = r->up_h2 ? "CONNECT" : "GET";

		if (l7_head_set_slot(&r->req.method, m, strlen(m)) < 0) {
			l7_req_upstream_failed(r, L7_ERR_no_memory);
			return;
		}
		if (r->up_h2 && !r->req.scheme)
			l7_head_set_slot(&r->req.scheme, "http", 4);
		if (r->up_h2) /* the tunnel's bytes have no length */
			r->req.content_length = -1;
	}
	up = l7_request(c, &r->req, end);
	if (!up) {
		l7_req_upstream_failed(r, L7_ERR_upstream_connect_failed);
		return;
	}
	r->up = up;
	up->user = r;
	r->up_done = false;
	r->state = L7_REQ_WAIT_HEAD;
	r->deadline_ns = l7_now(r->w) +
		l7_pool_conf(r->pool)->response_timeout_ms * 1000000ull;
	if (!end) {
		/* The request body flows now; the response waits for its
		 * head. */
		l7_start_tunnel(r, &r->down->body, &up->body, 1u << STK_DIR_DOWN);
		if (!r->tun_live)
			return;
	}
	/* see the head and early errors before the tunnel does */
	stk_stream_set_cb(&up->body, l7_up_event, r);
}

void l7_req_upstream_failed(struct l7_req *r, enum l7_error why)
{
	r->uc = NULL;
	if (r->idempotent && r->pool && why != L7_ERR_no_memory &&
	    why != L7_ERR_upstream_unavailable &&
	    r->tries < l7_pool_conf(r->pool)->retries) {
		r->tries++;
		r->w->ctr.retries++;
		l7_pool_acquire(r->pool, r, true);
		return;
	}
	r->up_done = true;
	l7_error(r, why);
}

/* ---- forward proxying -------------------------------------------------- */

/* The target's connection while the payload is sniffed: a reset ends
 * the exchange; data waits. */
static void l7_tcp_event(struct stk_stream *s, unsigned ev, void *arg)
{
	struct l7_req *r = arg;

	if (ev & STK_EV_ERROR) {
		stk_abort(r->tcp);
		r->tcp = NULL;
		r->up_done = true;
		l7_down_close(r, true);
		l7_req_maybe_end(r);
	}
}

static void l7_connect_fail(struct l7_req *r)
{
	l7_up_close(r, true);
	l7_down_close(r, true);
	l7_req_maybe_end(r);
}

/* The first bytes of a CONNECT payload decide (l7_sniff): HTTP/1.x or
 * the HTTP/2 preface go through the HTTP pipeline again, in a nested
 * client, as does TLS when the endpoint inspects; anything else (TLS
 * otherwise, SSH, ...) is copied as is to the connected target. */
static void l7_connect_sniff(struct l7_req *r)
{
	struct l7_tls_ctx *inspect = r->w->rt->ep_inspect[r->cl->ep];
	struct l7_sniff_result res;
	enum l7_sniff_proto proto = L7_SNIFF_MORE;
	struct stk_stream *s, *tcp;
	bool eof = false;

	while (r->sniff_len < sizeof(r->sniff)) {
		ssize_t n = stk_read(&r->down->body, r->sniff + r->sniff_len,
				     sizeof(r->sniff) - r->sniff_len);

		if (n == -EAGAIN)
			break;
		if (n < 0) {
			l7_connect_fail(r);
			return;
		}
		if (n == 0) {
			eof = true;
			break;
		}
		r->sniff_len += (size_t)n;
		proto = l7_sniff(r->sniff, r->sniff_len, &res);
		/* a TLS verdict waits for the whole ClientHello; its first
		 * record header is enough here */
		if (proto != L7_SNIFF_MORE || r->sniff[0] == 0x16)
			break;
	}
	if (proto == L7_SNIFF_MORE && r->sniff_len && r->sniff[0] != 0x16 &&
	    !eof && r->sniff_len < sizeof(r->sniff))
		return; /* still ambiguous */
	if (!r->sniff_len && !eof)
		return;
	s = stk_stream_prefixed(&r->down->body, r->sniff, r->sniff_len);
	if (!s) {
		l7_connect_fail(r);
		return;
	}
	r->state = L7_REQ_TUNNEL;
	if (proto == L7_SNIFF_H1 || proto == L7_SNIFF_H2 ||
	    (inspect && r->sniff_len && r->sniff[0] == 0x16)) {
		/* The stream is the nested client's now; the target is
		 * reached through an origin pool instead. */
		stk_close(r->tcp);
		r->tcp = NULL;
		r->up_done = true;
		r->down_done = true;
		r->nested = true;
		l7_client_nested(r->w, r, s, r->req.authority,
				 r->sniff[0] == 0x16 ? inspect : NULL);
		return;
	}
	/* the tunnel owns both now */
	tcp = r->tcp;
	r->tcp = NULL;
	r->down_done = true;
	l7_start_tunnel(r, s, tcp, 0);
	/* the tunnel has the bytes read ahead; let it look */
	if (r->tun_live)
		stk_tunnel_event(s, STK_EV_READABLE, &r->tun);
}

static void l7_connect_dialed(void *arg, struct stk_stream *s, int err,
			      const struct sockaddr_storage *used)
{
	struct l7_req *r = arg;

	r->dial = NULL;
	if (!s) {
		r->up_done = true;
		l7_error(r, err == ENOENT ? L7_ERR_dns_failed :
			 err == ETIMEDOUT ? L7_ERR_connect_timeout :
			 L7_ERR_connect_failed);
		return;
	}
	l7_head_free(&r->resp);
	r->resp.status = 200;
	r->resp.version = r->req.version;
	apps_http_response(r, r->ctx);
	r->status = r->resp.status;
	r->head_sent = true;
	l7_count_status(r->w, r->status);
	if (r->status / 100 != 2 ||
	    l7_send_head(r->down, &r->resp, false) < 0) {
		stk_abort(s);
		r->up_done = true;
		l7_down_close(r, r->status / 100 == 2);
		l7_req_maybe_end(r);
		return;
	}
	r->w->ctr.tunnels++;
	r->state = L7_REQ_SNIFF;
	r->tcp = s;
	r->up_done = false;
	stk_stream_set_cb(s, l7_tcp_event, r);
	l7_connect_sniff(r);
}

static void l7_connect(struct l7_req *r)
{
	char host[CONF_HOST_MAX];
	uint16_t port;

	if (!r->req.authority ||
	    conf_parse_hostport(r->req.authority, host, sizeof(host),
				&port) < 0) {
		r->up_done = true;
		l7_answer(r, 400, "400 Bad Request: bad CONNECT target\n", 36,
			  NULL);
		return;
	}
	r->state = L7_REQ_CONNECTING;
	r->dial = stk_dial_start(r->w->dialer, host, port,
				 r->w->conf->stack.connect_timeout_ms,
				 l7_connect_dialed, r);
}

/* Where an absolute-form request (or one inside a CONNECT tunnel) goes:
 * its authority, port defaulting by scheme. */
static struct l7_pool *l7_origin_pool(struct l7_req *r, const char *authority,
				      bool https)
{
	struct l7_tls_ctx *tls = https ? r->w->rt->origin_tls[r->cl->ep] : NULL;
	char host[CONF_HOST_MAX];
	uint16_t port = https ? 443 : 80;
	const char *colon;

	if (!authority || !*authority)
		return NULL;
	colon = strrchr(authority, ':');
	if (authority[0] == '[' || (colon && !strchr(colon, ']') &&
				    memchr(authority, ':',
					   (size_t)(colon - authority)) == NULL)) {
		if (conf_parse_hostport(authority, host, sizeof(host),
					&port) < 0) {
			if (authority[0] != '[' ||
			    strlen(authority) >= sizeof(host))
				return NULL;
			/* "[v6]" without a port */
			snprintf(host, sizeof(host), "%.*s",
				 (int)strlen(authority) - 2, authority + 1);
		}
	} else {
		if (strlen(authority) >= sizeof(host))
			return NULL;
		snprintf(host, sizeof(host), "%s", authority);
	}
	return l7_pool_origin(r->w, host, port, tls);
}

/* ---- routing ---------------------------------------------------------- */

static void l7_send_upstream(struct l7_req *r, struct l7_pool *p)
{
	if (!p) {
		r->up_done = true;
		l7_error(r, L7_ERR_no_memory);
		return;
	}
	r->pool = p;
	r->state = L7_REQ_UPSTREAM;
	l7_pool_acquire(p, r, false);
}

static struct l7_pool *l7_pool_by_name(struct l7_worker *w, const char *name)
{
	for (unsigned i = 0; i < w->conf->n_upstreams; i++)
		if (!strcmp(w->conf->upstreams[i].name, name))
			return l7_pool_configured(w, i);
	return NULL;
}

static void l7_route(struct l7_req *r)
{
	struct l7_client *cl = r->cl;
	const struct conf *c = r->w->conf;
	const struct conf_endpoint *ep = &c->endpoints[cl->ep];
	struct l7_head *h = &r->req;

	if (!strcmp(h->method, "CONNECT") && !h->protocol) {
		if (!ep->forward || cl->tunnel_target) {
			r->up_done = true;
			l7_error(r, L7_ERR_method_not_allowed);
			return;
		}
		l7_connect(r);
		return;
	}
	if (cl->tunnel_target) {
		/* inside a CONNECT: everything goes to its target */
		l7_send_upstream(r, l7_origin_pool(r, cl->tunnel_target,
						   cl->info.inspected));
		return;
	}
	if (h->absolute_form) {
		if (!ep->forward) {
			r->up_done = true;
			l7_error(r, L7_ERR_method_not_allowed);
			return;
		}
		h->absolute_form = false;
		l7_send_upstream(r, l7_origin_pool(r, h->authority,
			h->scheme && !strcmp(h->scheme, "https")));
		return;
	}
	for (unsigned i = 0; i < c->n_routes; i++) {
		const struct conf_http_route *rt = &c->routes[i];

		if (rt->endpoint[0] && rt->endpoint_id != cl->ep)
			continue;
		if (!l7_host_matches(rt->host, h->authority))
			continue;
		if (rt->path[0] && (!h->path || strncmp(h->path, rt->path,
							strlen(rt->path))))
			continue;
		if (!rt->upstream[0]) {
			char body[64];
			int n = snprintf(body, sizeof(body), "%d %s\n",
					 rt->status, l7_reason_phrase(rt->status));

			r->up_done = true;
			l7_answer(r, rt->status, body, (size_t)n, NULL);
			return;
		}
		l7_send_upstream(r, l7_pool_configured(r->w, rt->upstream_id));
		return;
	}
	r->up_done = true;
	l7_error(r, L7_ERR_no_route);
}

/* ---- the client side -------------------------------------------------- */

static void l7_down_event(struct stk_stream *s, unsigned ev, void *arg)
{
	struct l7_req *r = arg;

	if (ev & STK_EV_ERROR) {
		/* the client went away or reset the stream */
		l7_up_close(r, true);
		l7_down_close(r, true);
		l7_req_maybe_end(r);
		return;
	}
	if (r->state == L7_REQ_ANSWER && (ev & STK_EV_WRITABLE))
		l7_answer_pump(r);
	else if (r->state == L7_REQ_SNIFF && (ev & STK_EV_READABLE))
		l7_connect_sniff(r);
	/* READABLE before the upstream is there: the engine holds the
	 * body (bounded) until the tunnel reads it. */
}

static void l7_forwarded_for(struct l7_req *r)
{
	struct l7_client *cl = r->cl;
	size_t old_len = 0, ip_len;
	const char *old = l7_head_get(&r->req, "x-forwarded-for", &old_len);
	char v[512];

	/* the client is known before the first request and stays */
	if (!cl->client_ip[0])
		dp_addr_format(&cl->client, cl->client_ip,
			       sizeof(cl->client_ip));
	ip_len = strlen(cl->client_ip);
	if (old && old_len < sizeof(v) - ip_len - 3) {
		memcpy(v, old, old_len);
		memcpy(v + old_len, ", ", 2);
		old_len += 2;
	} else {
		old_len = 0;
	}
	memcpy(v + old_len, cl->client_ip, ip_len + 1);
	l7_head_set(&r->req, "x-forwarded-for", v);
	l7_head_set(&r->req, "x-forwarded-proto",
		    cl->info.tls ? "https" : "http");
}

void l7_req_new(struct l7_client *cl, struct l7_exchange *x)
{
	struct l7_worker *w = cl->w;
	struct strata_http_decision d = { 0 };
	struct l7_req *r = stk_cache_get(&l7_req_cache,
					 sizeof(*r) + apps_http_ctx_size());
	const char *m;

	if (!r) {
		stk_abort(&x->body);
		return;
	}
	r->w = w;
	r->cl = cl;
	r->down = x;
	x->user = r;
	r->next = w->reqs;
	if (w->reqs)
		w->reqs->prev = r;
	w->reqs = r;
	cl->active++;
	cl->deadline_ns = UINT64_MAX;
	w->ctr.requests++;
	l7_head_init(&r->req);
	l7_head_init(&r->resp);
	stk_stream_set_cb(&x->body, l7_down_event, r);
	/* the request head is the proxy's from here on: moved, not copied */
	r->req = x->head;
	l7_head_init(&x->head);
	if (!r->req.method) {
		r->up_done = true;
		l7_error(r, L7_ERR_no_memory);
		return;
	}
	m = r->req.method;
	r->idempotent = r->req.content_length == 0 &&
		(!strcmp(m, "GET") || !strcmp(m, "HEAD") ||
		 !strcmp(m, "OPTIONS") || !strcmp(m, "PUT") ||
		 !strcmp(m, "DELETE") || !strcmp(m, "TRACE"));
	if (strcmp(m, "CONNECT"))
		l7_forwarded_for(r);
	apps_http_request(r, r->ctx, &d);
	switch (d.verdict) {
	case STRATA_HTTP_BLOCK:
	case STRATA_HTTP_ANSWER: {
		int status = d.status ? d.status :
			     d.verdict == STRATA_HTTP_BLOCK ? 403 : 200;
		char dflt[64];
		const char *body = d.body;
		size_t len = d.body ? (d.body_len ? d.body_len :
				       strlen(d.body)) : 0;

		if (d.verdict == STRATA_HTTP_BLOCK)
			w->ctr.errors[L7_ERR_blocked]++;
		if (!body) {
			len = (size_t)snprintf(dflt, sizeof(dflt), "%d %s\n",
					       status, l7_reason_phrase(status));
			body = dflt;
		}
		r->up_done = true;
		l7_answer(r, status, body, len, d.content_type);
		return;
	}
	case STRATA_HTTP_ROUTE: {
		struct l7_pool *p = l7_pool_by_name(w, d.upstream);

		if (!p) {
			r->up_done = true;
			l7_error(r, L7_ERR_no_route);
			return;
		}
		l7_send_upstream(r, p);
		return;
	}
	default:
		l7_route(r);
		return;
	}
}

/* The nested client of a CONNECT ended: so does the CONNECT. */
void l7_req_nested_done(struct l7_req *r)
{
	r->nested = false;
	l7_req_maybe_end(r);
}

/* Response heads due, idle tunnels. Each action takes the exchange out
 * of the states looked for, and may change the list: start over. */
void l7_req_sweep(struct l7_worker *w, uint64_t now)
{
	for (struct l7_req *r = w->reqs, *n; r; r = n) {
		n = r->next;
		if ((r->state == L7_REQ_WAIT_HEAD || r->waiting) &&
		    now >= r->deadline_ns) {
			/* l7_error takes r out of its pool's queue */
			l7_error(r, L7_ERR_upstream_timeout);
			n = w->reqs;
		} else if ((r->state == L7_REQ_STREAMING ||
			    r->state == L7_REQ_TUNNEL) && r->tun_live &&
			   now - r->tun.last_active_ns >=
			   w->conf->endpoints[r->cl->ep].idle_timeout_ms *
			   1000000ull) {
			stk_tunnel_abort(&r->tun, STK_CLOSE_IDLE);
			n = w->reqs;
		}
	}
}

/* ---- hooks' view ------------------------------------------------------ */

const struct strata_http_info *strata_http_info(const struct strata_http *h)
{
	return &h->cl->info;
}

const char *strata_http_method(const struct strata_http *h)
{
	return h->req.method;
}

const char *strata_http_path(const struct strata_http *h)
{
	return h->req.path;
}

const char *strata_http_authority(const struct strata_http *h)
{
	return h->req.authority;
}

const char *strata_http_scheme(const struct strata_http *h)
{
	return h->req.scheme;
}

int strata_http_set_path(struct strata_http *h, const char *path)
{
	if (!path || path[0] != '/' || h->state != L7_REQ_NEW)
		return -1;
	return l7_head_set_slot(&h->req.path, path, strlen(path)) ? -1 : 0;
}

int strata_http_status(const struct strata_http *h)
{
	return h->resp.status;
}

const char *strata_http_header(const struct strata_http *h, int response,
			       const char *name)
{
	return l7_head_get(response ? &h->resp : &h->req, name, NULL);
}

int strata_http_set_header(struct strata_http *h, int response,
			   const char *name, const char *value)
{
	return l7_head_set(response ? &h->resp : &h->req, name, value) ? -1 : 0;
}

int strata_http_del_header(struct strata_http *h, int response,
			   const char *name)
{
	l7_head_del(response ? &h->resp : &h->req, name);
	return 0;
}

/* The trailer fields going out in the direction asked for, or NULL
 * outside the body hooks' last call of that direction. */
static struct l7_head *l7_hook_trailers(const struct strata_http *h,
					int response)
{
	if (!h->trailers_to ||
	    h->trailers_dir != (response ? STK_DIR_DOWN : STK_DIR_UP))
		return NULL;
	return &h->trailers_to->trailers_out;
}

/* Can the body going out in direction dir end with trailer fields?
 * Not when its head ended the message; else HTTP/2 always, HTTP/1.1 on
 * a chunked body only, which the engines send when the length is
 * unknown, and HTTP/1.0 never. */
static bool l7_carries_trailers(const struct strata_http *h, int dir)
{
	if (dir == STK_DIR_UP)
		return h->req.content_length < 0 ||
		       (h->up_h2 && h->req.content_length > 0);
	return !h->head_ended && (h->req.version == 20 ||
		(h->req.version == 11 && h->resp.content_length < 0));
}

const char *strata_http_trailer(const struct strata_http *h, int response,
				const char *name)
{
	const struct l7_head *t = l7_hook_trailers(h, response);

	return t && name ? l7_head_get(t, name, NULL) : NULL;
}

int strata_http_set_trailer(struct strata_http *h, int response,
			    const char *name, const char *value)
{
	struct l7_head *t = l7_hook_trailers(h, response);

	if (!t)
		return -ENOENT;
	if (!l7_carries_trailers(h, h->trailers_dir))
		return -ENOTSUP;
	return l7_trailer_set(t, name, value);
}

int strata_http_del_trailer(struct strata_http *h, int response,
			    const char *name)
{
	struct l7_head *t = l7_hook_trailers(h, response);

	if (!t)
		return -ENOENT;
	if (name)
		l7_head_del(t, name);
	return 0;
}
