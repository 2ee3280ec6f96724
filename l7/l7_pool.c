/* Upstream connections of one worker: per configured upstream (and per
 * origin a forward proxy request names) a pool that dials servers in
 * turn, skips the ones that failed lately (passive health), speaks
 * HTTP/1.1 or HTTP/2 to them, and keeps idle connections for reuse. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "l7_pp.h"
#include "l7_proxy_private.h"
#include "l7_tls.h"

struct l7_upconn {
	struct l7_pool *p;
	struct l7_upconn *prev, *next;
	struct l7_upconn *idle_prev, *idle_next; /* in p->idle */
	struct l7_conn *conn;            /* the engine, once connected */
	struct stk_dial *dial;
	struct stk_stream *tls;          /* during the TLS handshake */
	struct l7_req *owner;            /* the request it is dialed for */
	unsigned server;
	uint64_t idle_since_ns;
	bool idle;
	bool h2;
};

struct l7_pool {
	struct l7_worker *w;
	struct l7_pool *next;
	struct conf_upstream cu;         /* settings (origins: defaults) */
	bool origin;
	struct l7_tls_ctx *tls;
	struct l7_upconn *conns;
	/* the idle ones, the last to go idle first: a request takes one
	 * without walking past the busy ones */
	struct l7_upconn *idle;
	unsigned n_conns, n_idle, n_h2;
	unsigned rr;
	char host[CONF_MAX_SERVERS][CONF_HOST_MAX];
	uint16_t port[CONF_MAX_SERVERS];
	unsigned n_servers;
	uint64_t down_until[CONF_MAX_SERVERS];
	uint64_t failures;
	struct l7_req *wait_head, *wait_tail; /* at max_connections */
	unsigned n_waiting;
	uint64_t dialed, queued;
};

static void l7_pool_dial(struct l7_pool *p, struct l7_req *r);
static void l7_uc_set_idle(struct l7_upconn *uc, bool idle);

static bool l7_pool_full(const struct l7_pool *p)
{
	return p->cu.max_connections && p->n_conns >= p->cu.max_connections;
}

static void l7_pool_wait(struct l7_pool *p, struct l7_req *r)
{
	r->waiting = true;
	r->wait_next = NULL;
	r->wait_prev = p->wait_tail;
	if (p->wait_tail)
		p->wait_tail->wait_next = r;
	else
		p->wait_head = r;
	p->wait_tail = r;
	p->n_waiting++;
	p->queued++;
	r->deadline_ns = l7_now(p->w) + p->cu.connect_timeout_ms * 1000000ull;
}

static void l7_pool_unwait(struct l7_pool *p, struct l7_req *r)
{
	if (!r->waiting)
		return;
	if (r->wait_prev)
		r->wait_prev->wait_next = r->wait_next;
	else
		p->wait_head = r->wait_next;
	if (r->wait_next)
		r->wait_next->wait_prev = r->wait_prev;
	else
		p->wait_tail = r->wait_prev;
	r->wait_prev = r->wait_next = NULL;
	r->waiting = false;
	p->n_waiting--;
}

/* A connection went: dial for those waiting, as far as the cap allows
 * (a dial that fails at once takes its request off the queue too). */
static void l7_pool_kick(struct l7_pool *p)
{
	while (p->wait_head && !l7_pool_full(p)) {
		struct l7_req *r = p->wait_head;

		l7_pool_unwait(p, r);
		l7_pool_dial(p, r);
	}
}

static void l7_uc_link(struct l7_pool *p, struct l7_upconn *uc)
{
	uc->p = p;
	uc->next = p->conns;
	if (p->conns)
		p->conns->prev = uc;
	p->conns = uc;
	p->n_conns++;
}

static void l7_uc_free(struct l7_upconn *uc)
{
	struct l7_pool *p = uc->p;

	if (uc->prev)
		uc->prev->next = uc->next;
	else
		p->conns = uc->next;
	if (uc->next)
		uc->next->prev = uc->prev;
	p->n_conns--;
	p->n_h2 -= uc->h2;
	l7_uc_set_idle(uc, false);
	free(uc);
}

static void l7_uc_set_idle(struct l7_upconn *uc, bool idle)
{
	struct l7_pool *p = uc->p;

	if (uc->idle == idle)
		return;
	uc->idle = idle;
	if (idle) {
		p->n_idle++;
		uc->idle_since_ns = l7_now(p->w);
		uc->idle_prev = NULL;
		uc->idle_next = p->idle;
		if (p->idle)
			p->idle->idle_prev = uc;
		p->idle = uc;
	} else {
		p->n_idle--;
		if (uc->idle_prev)
			uc->idle_prev->idle_next = uc->idle_next;
		else
			p->idle = uc->idle_next;
		if (uc->idle_next)
			uc->idle_next->idle_prev = uc->idle_prev;
		uc->idle_prev = uc->idle_next = NULL;
	}
}

/* ---- engine callbacks ------------------------------------------------ */

static void l7_uc_rejected(void *arg, struct l7_conn *c, int status,
			   const char *cause)
{
	/* The exchanges on c see the error; nothing to add here. */
}

static void l7_uc_ready(void *arg, struct l7_conn *c)
{
	struct l7_upconn *uc = arg;

	if (uc->owner || !c->ops->available(c))
		return;
	if (uc->p->wait_head) {
		/* the first in line takes it (one per call: the request may
		 * end this very connection) */
		struct l7_req *r = uc->p->wait_head;

		l7_pool_unwait(uc->p, r);
		l7_uc_set_idle(uc, false);
		uc->p->w->ctr.upstream_reused++;
		l7_req_upstream_ready(r, c, true);
		return;
	}
	/* a PROXY header names one client: no reuse for another */
	if (uc->p->n_idle >= uc->p->cu.max_idle ||
	    uc->p->cu.proxy_protocol != CONF_PP_NONE) {
		c->ops->shutdown(c);
		return;
	}
	l7_uc_set_idle(uc, true);
}

static void l7_uc_closed(void *arg, struct l7_conn *c, int error)
{
	struct l7_upconn *uc = arg;
	struct l7_pool *p = uc->p;

	if (uc->owner)
		l7_req_upstream_failed(uc->owner, L7_ERR_upstream_reset);
	l7_uc_free(uc);
	l7_pool_kick(p);
}

static const struct l7_conn_cb l7_uc_cb = {
	.rejected = l7_uc_rejected,
	.ready = l7_uc_ready,
	.closed = l7_uc_closed,
};

/* ---- dialing --------------------------------------------------------- */

/* The next server in turn that has not failed lately; -1 when every
 * one has (the request then gets 503 until one's time is up). */
static int l7_pool_pick(struct l7_pool *p)
{
	uint64_t now = l7_now(p->w);

	for (unsigned i = 0; i < p->n_servers; i++) {
		unsigned s = (p->rr + i) % p->n_servers;

		if (p->down_until[s] <= now) {
			p->rr = s + 1;
			return (int)s;
		}
	}
	return -1;
}

/* The transport is up (and TLS done): start the engine and give it to
 * the request it was dialed for. */
static void l7_uc_engine(struct l7_upconn *uc, struct stk_stream *s,
			 bool h2)
{
	struct l7_req *r = uc->owner;

	uc->conn = h2 ? l7_h2_client(s, &l7_uc_cb, uc, NULL) :
			l7_h1_client(s, &l7_uc_cb, uc, NULL);
	if (!uc->conn) {
		stk_abort(s);
		uc->owner = NULL;
		l7_uc_free(uc);
		if (r)
			l7_req_upstream_failed(r, L7_ERR_no_memory);
		return;
	}
	uc->p->w->ctr.upstream_conns++;
	uc->h2 = h2;
	uc->p->n_h2 += h2;
	uc->owner = NULL;
	if (r) {
		r->uc = NULL;
		l7_req_upstream_ready(r, uc->conn, false);
	} else {
		l7_uc_ready(uc, uc->conn);
	}
}

static void l7_uc_fail(struct l7_upconn *uc, enum l7_error why)
{
	struct l7_pool *p = uc->p;
	struct l7_req *r = uc->owner;

	p->failures++;
	if (p->cu.fail_timeout_s)
		p->down_until[uc->server] = l7_now(p->w) +
			p->cu.fail_timeout_s * 1000000000ull;
	uc->owner = NULL;
	l7_uc_free(uc);
	if (r) {
		r->uc = NULL;
		l7_req_upstream_failed(r, why);
	}
	l7_pool_kick(p);
}

static void l7_uc_tls_event(struct stk_stream *s, unsigned ev, void *arg)
{
	struct l7_upconn *uc = arg;
	const struct l7_tls_info *in;

	if (ev & STK_EV_ERROR) {
		uc->tls = NULL;
		stk_abort(s);
		l7_uc_fail(uc, L7_ERR_upstream_tls_failed);
		return;
	}
	if (!(ev & STK_EV_CONNECTED))
		return;
	uc->tls = NULL;
	in = l7_tls_info(s);
	l7_uc_engine(uc, s, uc->p->cu.protocol == CONF_HTTP_2 ||
		     (uc->p->cu.protocol == CONF_HTTP_AUTO && in->alpn &&
		      !strcmp(in->alpn, "h2")));
}

/* A PROXY header for the client of the request the connection is for,
 * towards the server's address. */
static int l7_uc_send_pp(struct l7_upconn *uc, struct stk_stream *s,
			 const struct sockaddr_storage *used)
{
	uint8_t buf[256];
	union dp_addr dst;
	uint16_t dport;
	ssize_t n;
	const struct l7_client *cl = uc->owner ? uc->owner->cl : NULL;

	if (!cl || !used)
		return -1;
	dp_addr_from_sockaddr(&dst, &dport, used);
	n = uc->p->cu.proxy_protocol == CONF_PP_V1 ?
	    l7_pp_write_v1(buf, sizeof(buf), cl->client.b,
			   cl->info.client_port, dst.b, dport) :
	    l7_pp_write_v2(buf, sizeof(buf), cl->client.b,
			   cl->info.client_port, dst.b, dport, NULL);
	/* a fresh socket takes a few hundred bytes at once */
	return n > 0 && stk_write(s, buf, (size_t)n) == n ? 0 : -1;
}

static void l7_uc_dialed(void *arg, struct stk_stream *s, int err,
			 const struct sockaddr_storage *used)
{
	struct l7_upconn *uc = arg;
	struct l7_pool *p = uc->p;

	uc->dial = NULL;
	if (!s) {
		l7_uc_fail(uc, err == ENOENT ? L7_ERR_dns_failed :
			   err == ETIMEDOUT ? L7_ERR_upstream_timeout :
			   L7_ERR_upstream_connect_failed);
		return;
	}
	p->down_until[uc->server] = 0;
	if (p->cu.proxy_protocol != CONF_PP_NONE &&
	    l7_uc_send_pp(uc, s, used) < 0) {
		stk_abort(s);
		l7_uc_fail(uc, L7_ERR_upstream_connect_failed);
		return;
	}
	if (p->tls) {
		const char *name = p->cu.sni[0] ? p->cu.sni : p->host[uc->server];
		struct stk_stream *t = l7_tls_client(s, p->tls, name);

		if (!t) {
			stk_abort(s);
			l7_uc_fail(uc, L7_ERR_no_memory);
			return;
		}
		uc->tls = t;
		stk_stream_set_cb(t, l7_uc_tls_event, uc);
		/* the handshake may have failed or finished already (the
		 * ClientHello went out in l7_tls_client) */
		stk_stream_notify(s, STK_EV_READABLE | STK_EV_WRITABLE);
		return;
	}
	l7_uc_engine(uc, s, p->cu.protocol == CONF_HTTP_2);
}

void l7_pool_acquire(struct l7_pool *p, struct l7_req *r, bool fresh)
{
	struct l7_upconn *uc;

	if (!fresh && p->cu.proxy_protocol == CONF_PP_NONE) {
		uc = p->idle;
		if (uc && !uc->owner && uc->conn->ops->available(uc->conn))
			goto reuse;
		/* HTTP/2 connections take more streams while busy */
		for (uc = p->n_h2 ? p->conns : NULL; uc; uc = uc->next) {
			if (!uc->conn || uc->owner ||
			    !uc->conn->ops->available(uc->conn))
				continue;
			goto reuse;
		}
	}
	if (l7_pool_full(p)) {
		l7_pool_wait(p, r);
		return;
	}
	l7_pool_dial(p, r);
	return;
reuse:
	l7_uc_set_idle(uc, false);
	p->w->ctr.upstream_reused++;
	l7_req_upstream_ready(r, uc->conn, true);
}

/* A new connection for r. */
static void l7_pool_dial(struct l7_pool *p, struct l7_req *r)
{
	struct l7_upconn *uc;
	int s;

	s = l7_pool_pick(p);
	if (s < 0) {
		l7_req_upstream_failed(r, L7_ERR_upstream_unavailable);
		return;
	}
	uc = calloc(1, sizeof(*uc));
	if (!uc) {
		l7_req_upstream_failed(r, L7_ERR_no_memory);
		return;
	}
	l7_uc_link(p, uc);
	uc->server = (unsigned)s;
	uc->owner = r;
	r->uc = uc;
	p->dialed++;
	uc->dial = stk_dial_start(p->w->dialer, p->host[s], p->port[s],
				  p->cu.connect_timeout_ms, l7_uc_dialed, uc);
}

void l7_pool_adopt(struct l7_pool *p, struct stk_stream *s)
{
	struct l7_upconn *uc = calloc(1, sizeof(*uc));

	if (!uc) {
		stk_abort(s);
		return;
	}
	l7_uc_link(p, uc);
	l7_uc_engine(uc, s, false);
}

/* A connection still dialing or in its TLS handshake goes at once;
 * true when uc was one. */
static bool l7_uc_drop_unready(struct l7_upconn *uc)
{
	if (uc->dial)
		stk_dial_cancel(uc->dial);
	else if (uc->tls)
		stk_abort(uc->tls);
	else
		return false;
	l7_uc_free(uc);
	return true;
}

void l7_pool_cancel(struct l7_pool *p, struct l7_req *r)
{
	struct l7_upconn *uc = r->uc;

	l7_pool_unwait(p, r);
	if (!uc || uc->owner != r)
		return;
	r->uc = NULL;
	uc->owner = NULL;
	l7_uc_drop_unready(uc);
}

/* ---- pools ------------------------------------------------------------ */

static struct l7_pool *l7_pool_new(struct l7_worker *w)
{
	struct l7_pool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->w = w;
	p->next = w->pools;
	w->pools = p;
	return p;
}

struct l7_pool *l7_pool_configured(struct l7_worker *w, unsigned upstream)
{
	const struct conf_upstream *cu = &w->conf->upstreams[upstream];
	struct l7_pool *p;

	for (p = w->pools; p; p = p->next)
		if (!p->origin && !strcmp(p->cu.name, cu->name))
			return p;
	p = l7_pool_new(w);
	if (!p)
		return NULL;
	p->cu = *cu;
	/* the servers' strings stay owned by the config */
	p->tls = w->rt->up_tls[upstream];
	for (unsigned i = 0; i < cu->n_servers; i++)
		if (conf_parse_hostport(cu->servers[i], p->host[p->n_servers],
					sizeof(p->host[0]),
					&p->port[p->n_servers]) == 0)
			p->n_servers++;
	return p;
}

struct l7_pool *l7_pool_origin(struct l7_worker *w, const char *host,
			       uint16_t port, struct l7_tls_ctx *tls)
{
	struct l7_pool *p;

	if (strlen(host) >= sizeof(p->host[0]))
		return NULL;
	for (p = w->pools; p; p = p->next)
		if (p->origin && p->port[0] == port && p->tls == tls &&
		    !strcmp(p->host[0], host))
			return p;
	p = l7_pool_new(w);
	if (!p)
		return NULL;
	p->origin = true;
	snprintf(p->cu.name, sizeof(p->cu.name), "origin");
	p->cu.protocol = CONF_HTTP_1;
	p->cu.tls = tls != NULL;
	p->cu.tls_verify = true;
	p->cu.connect_timeout_ms = w->conf->stack.connect_timeout_ms;
	p->cu.response_timeout_ms = 60000;
	p->cu.idle_timeout_ms = 30000;
	p->cu.max_idle = 4;
	p->cu.retries = 1;
	p->tls = tls;
	snprintf(p->host[0], sizeof(p->host[0]), "%s", host);
	p->port[0] = port;
	p->n_servers = 1;
	return p;
}

const struct conf_upstream *l7_pool_conf(const struct l7_pool *p)
{
	return &p->cu;
}

void l7_pool_sweep(struct l7_worker *w, uint64_t now)
{
	for (struct l7_pool *p = w->pools; p; p = p->next) {
		uint64_t idle_ns = p->cu.idle_timeout_ms * 1000000ull;

		for (struct l7_upconn *uc = p->conns, *n; uc; uc = n) {
			n = uc->next;
			if (uc->idle && now - uc->idle_since_ns >= idle_ns) {
				l7_uc_set_idle(uc, false);
				/* closes at once when idle; closed() frees */
				uc->conn->ops->shutdown(uc->conn);
				break; /* the list may have changed */
			}
		}
	}
}

void l7_pools_free(struct l7_worker *w)
{
	while (w->pools) {
		struct l7_pool *p = w->pools;

		while (p->conns) {
			struct l7_upconn *uc = p->conns;

			if (l7_uc_drop_unready(uc))
				continue;
			uc->owner = NULL;
			if (uc->conn)
				uc->conn->ops->abort(uc->conn); /* frees uc */
			else
				l7_uc_free(uc);
		}
		while (p->wait_head)
			l7_pool_unwait(p, p->wait_head);
		w->pools = p->next;
		free(p);
	}
}

void l7_pool_stats(struct l7_worker *w, json_t *obj)
{
	json_t *ups = json_object();

	for (struct l7_pool *p = w->pools; p; p = p->next) {
		if (p->origin)
			continue;
		json_object_set_new(ups, p->cu.name, json_pack(
			"{s:I,s:I,s:I,s:I,s:I,s:I}",
			"conns", (json_int_t)p->n_conns,
			"idle", (json_int_t)p->n_idle,
			"connect_failures", (json_int_t)p->failures,
			"dialed", (json_int_t)p->dialed,
			"waiting", (json_int_t)p->n_waiting,
			"queued", (json_int_t)p->queued));
	}
	json_object_set_new(obj, "upstreams", ups);
}
