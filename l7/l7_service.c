/* The HTTP proxy as a service on each worker: kernel listeners (one per
 * worker and address, SO_REUSEPORT spreads connections), listeners on
 * strata's own addresses through the userspace stack, timers, deferred
 * frees and counters. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apps/apps.h"
#include "l7_proxy_private.h"
#include "l7_tls.h"
#include "stack/stk_proxy.h"
#include "stack/stk_stream_sock.h"

#define L7_SWEEP_NS 100000000ull

struct l7_stack_ep {
	struct l7_worker *w;
	unsigned ep;
};

struct l7_service {
	struct l7_worker w;
	struct l7_stack_ep stack_eps[CONF_MAX_ENDPOINTS];
};

uint64_t l7_now(const struct l7_worker *w)
{
	return w->loop->now_ns;
}

/* ---- listeners -------------------------------------------------------- */

static void l7_listener_event(struct stk_loop_fd *lfd, uint32_t ev)
{
	struct l7_listener *l = (struct l7_listener *)lfd;
	struct l7_worker *w = l->w;

	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct stk_stream *s;
		union dp_addr addr;
		uint16_t port;
		int one = 1;
		int fd = accept4(lfd->fd, (struct sockaddr *)&ss, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				w->ctr.accept_errors++;
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		s = stk_sock_wrap(w->loop, fd);
		if (!s) {
			close(fd);
			w->ctr.accept_errors++;
			continue;
		}
		dp_addr_from_sockaddr(&addr, &port, &ss);
		l7_client_start(w, l->ep, s, addr.b, port);
	}
}

static int l7_listen(struct l7_worker *w, unsigned ep, const char *spec,
		     char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[64];
	uint16_t port;
	struct l7_listener *l;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (conf_parse_hostport(spec, host, sizeof(host), &port) < 0)
		goto bad;
	if (inet_pton(AF_INET, host,
		      &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host,
			     &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		goto bad;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		goto sys;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 1024) < 0) {
		close(fd);
		goto sys;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	l->w = w;
	l->ep = ep;
	l->lfd.fd = fd;
	l->lfd.fn = l7_listener_event;
	if (stk_loop_add(w->loop, &l->lfd) < 0) {
		close(fd);
		free(l);
		goto sys;
	}
	l->next = w->listeners;
	w->listeners = l;
	return 0;
bad:
	snprintf(err, errlen, "listen %s: not an ip:port", spec);
	return -1;
sys:
	snprintf(err, errlen, "listen %s: %s", spec, strerror(errno));
	return -1;
}

static void l7_stack_accept(void *arg, struct stk_stream *s,
			    struct stk_stream *up,
			    const struct sockaddr_storage *used,
			    const struct strata_conn_info *info,
			    struct stk_conn *l4)
{
	struct l7_stack_ep *se = arg;

	if (up)
		l7_client_intercepted(se->w, se->ep, s, up, used, info, l4);
	else
		l7_client_start(se->w, se->ep, s, info->client,
				info->client_port);
}

/* ---- the service ------------------------------------------------------ */

static void l7_free_dead(struct l7_worker *w)
{
	struct l7_client **pp = &w->dead_clients;

	while (w->dead_reqs) {
		struct l7_req *r = w->dead_reqs;

		w->dead_reqs = r->next;
		l7_req_free(r);
	}
	/* a client stays until its last exchange ended */
	while (*pp) {
		struct l7_client *cl = *pp;

		if (cl->active) {
			pp = &cl->next;
			continue;
		}
		*pp = cl->next;
		l7_client_free(cl);
	}
}

static int l7_service_poll(void *ctx)
{
	struct l7_worker *w = ctx;
	uint64_t now = l7_now(w);

	if (now >= w->next_sweep_ns) {
		w->next_sweep_ns = now + L7_SWEEP_NS;
		l7_req_sweep(w, now);
		l7_client_sweep(w, now);
		l7_pool_sweep(w, now);
	}
	l7_free_dead(w);
	return 100;
}

static void l7_service_stop(void *ctx)
{
	struct l7_worker *w = ctx;

	while (w->listeners) {
		struct l7_listener *l = w->listeners;

		w->listeners = l->next;
		stk_loop_del(w->loop, &l->lfd);
		close(l->lfd.fd);
		free(l);
	}
	while (w->clients) {
		l7_client_abort(w->clients); /* unlinks it */
	}
	/* CONNECT tunnels and answers still going */
	while (w->reqs) {
		struct l7_req *r = w->reqs;

		if (r->tun_live)
			stk_tunnel_abort(&r->tun, STK_CLOSE_SHUTDOWN);
		else {
			if (r->dial) {
				stk_dial_cancel(r->dial);
				r->dial = NULL;
			}
			if (r->pool)
				l7_pool_cancel(r->pool, r);
			if (r->up) {
				stk_abort(&r->up->body);
				r->up = NULL;
			}
			if (!r->down_done) {
				r->down_done = true;
				stk_abort(&r->down->body);
			}
			r->up_done = true;
		}
		if (w->reqs == r) { /* did not end: unlink by force */
			w->reqs = r->next;
			if (w->reqs)
				w->reqs->prev = NULL;
			l7_req_free(r);
		}
	}
	l7_pools_free(w);
	for (struct l7_client *cl = w->dead_clients; cl; cl = cl->next)
		cl->active = 0;
	l7_free_dead(w);
	free(w);
}

static void *l7_service_start(void *arg, const struct stk_worker_env *env)
{
	struct l7_runtime *rt = arg;
	const struct conf *c = rt->conf;
	struct l7_service *svc = calloc(1, sizeof(*svc));
	struct l7_worker *w;
	char err[256];

	if (!svc)
		return NULL;
	w = &svc->w;
	w->rt = rt;
	w->conf = c;
	w->loop = env->loop;
	w->idx = env->idx;
	w->dialer = stk_proxy_dialer(env->proxy);
	for (unsigned i = 0; i < c->n_endpoints; i++) {
		const struct conf_endpoint *ep = &c->endpoints[i];

		for (unsigned j = 0; j < ep->n_listen; j++) {
			if (l7_listen(w, i, ep->listen[j], err,
				      sizeof(err)) < 0) {
				fprintf(stderr, "strata: endpoint %s: %s\n",
					ep->name, err);
				l7_service_stop(w);
				return NULL;
			}
		}
		svc->stack_eps[i] = (struct l7_stack_ep){ w, i };
		if ((ep->stack_port &&
		     stk_proxy_listen(env->proxy, ep->stack_port,
				      ep->stack_port, false, l7_stack_accept,
				      &svc->stack_eps[i]) < 0) ||
		    (ep->intercept_lo &&
		     stk_proxy_listen(env->proxy, ep->intercept_lo,
				      ep->intercept_hi, true, l7_stack_accept,
				      &svc->stack_eps[i]) < 0)) {
			fprintf(stderr, "strata: endpoint %s: too many stack "
				"listeners\n", ep->name);
			l7_service_stop(w);
			return NULL;
		}
	}
	return w;
}

static void l7_service_stats(void *ctx, json_t *obj)
{
	struct l7_worker *w = ctx;
	json_t *errs = json_object();

#define L7_CTR_JSON(n) \
	json_object_set_new(obj, #n, json_integer((json_int_t)w->ctr.n));
	L7_COUNTERS(L7_CTR_JSON)
#undef L7_CTR_JSON
	for (unsigned i = 0; i < L7_ERR__COUNT; i++)
		json_object_set_new(errs, l7_error_name(i),
				    json_integer((json_int_t)w->ctr.errors[i]));
	json_object_set_new(obj, "errors", errs);
	json_object_set_new(obj, "rejected_by_engine",
			    json_integer((json_int_t)w->ctr.rejected_by_engine));
	l7_pool_stats(w, obj);
}

static const char *const l7_alpn_auto[] = { "h2", "http/1.1" };
static const char *const l7_alpn_h1[] = { "http/1.1" };
static const char *const l7_alpn_h2[] = { "h2" };

/* ALPN offered or accepted for a protocol setting. */
static void l7_alpn_for(enum conf_http_proto p, const char *const **list,
			size_t *n)
{
	*list = p == CONF_HTTP_1 ? l7_alpn_h1 : p == CONF_HTTP_2 ? l7_alpn_h2 :
		l7_alpn_auto;
	*n = p == CONF_HTTP_AUTO ? 2 : 1;
}

static int l7_tls_setup(struct l7_runtime *rt, char *err, size_t errlen)
{
	const struct conf *c = rt->conf;
	char e[200];

	for (unsigned i = 0; i < c->n_endpoints; i++) {
		const struct conf_endpoint *ep = &c->endpoints[i];
		struct l7_tls_cert_conf certs[CONF_MAX_CERTS];
		struct l7_tls_server_conf sc = { 0 };
		struct l7_tls_client_conf oc = { 0 };

		l7_alpn_for(ep->protocol, &sc.alpn, &sc.n_alpn);
		if (ep->tls.n_alpn) {
			sc.alpn = (const char *const *)ep->tls.alpn;
			sc.n_alpn = ep->tls.n_alpn;
		}
		sc.min_version = ep->tls.min_version == CONF_TLS_1_3 ?
				 L7_TLS_1_3 : L7_TLS_1_2;
		if (ep->tls.n_certs) {
			for (unsigned j = 0; j < ep->tls.n_certs; j++)
				certs[j] = (struct l7_tls_cert_conf){
					.cert_file = ep->tls.certs[j].cert,
					.key_file = ep->tls.certs[j].key,
				};
			sc.certs = certs;
			sc.n_certs = ep->tls.n_certs;
			sc.client_auth =
				ep->tls.client_auth == CONF_CLIENT_AUTH_REQUIRED ?
				L7_TLS_CLIENT_AUTH_REQUIRED :
				ep->tls.client_auth == CONF_CLIENT_AUTH_OPTIONAL ?
				L7_TLS_CLIENT_AUTH_OPTIONAL :
				L7_TLS_CLIENT_AUTH_NONE;
			sc.client_ca_file = ep->tls.client_ca[0] ?
					    ep->tls.client_ca : NULL;
			rt->ep_tls[i] = l7_tls_ctx_server_new(&sc, e, sizeof(e));
			if (!rt->ep_tls[i])
				goto fail_ep;
		}
		if (ep->tls.inspect_ca_cert[0]) {
			struct l7_tls_server_conf ic = {
				.alpn = l7_alpn_auto,
				.n_alpn = 2,
				.inspect_ca_cert = ep->tls.inspect_ca_cert,
				.inspect_ca_key = ep->tls.inspect_ca_key,
			};

			rt->ep_inspect[i] = l7_tls_ctx_server_new(&ic, e,
								  sizeof(e));
			if (!rt->ep_inspect[i])
				goto fail_ep;
		}
		if (ep->forward) {
			/* origins speak HTTP/1.1 to strata (l7_pool_origin) */
			oc.ca_file = ep->tls.inspect_upstream_ca[0] ?
				     ep->tls.inspect_upstream_ca : NULL;
			oc.alpn = l7_alpn_h1;
			oc.n_alpn = 1;
			rt->origin_tls[i] = l7_tls_ctx_client_new(&oc, e,
								  sizeof(e));
			if (!rt->origin_tls[i])
				goto fail_ep;
		}
		continue;
fail_ep:
		snprintf(err, errlen, "endpoint %s: tls: %s", ep->name, e);
		return -1;
	}
	for (unsigned i = 0; i < c->n_upstreams; i++) {
		const struct conf_upstream *u = &c->upstreams[i];
		struct l7_tls_client_conf cc = {
			.ca_file = u->tls_ca[0] ? u->tls_ca : NULL,
			.insecure = !u->tls_verify,
		};

		if (!u->tls)
			continue;
		l7_alpn_for(u->protocol, &cc.alpn, &cc.n_alpn);
		rt->up_tls[i] = l7_tls_ctx_client_new(&cc, e, sizeof(e));
		if (!rt->up_tls[i]) {
			snprintf(err, errlen, "upstream %s: tls: %s", u->name, e);
			return -1;
		}
	}
	return 0;
}

int l7_proxy_setup(struct stk_runtime *srt, const struct conf *c,
		   struct l7_runtime **out, char *err, size_t errlen)
{
	struct l7_runtime *rt;
	struct stk_service svc = {
		.name = "http",
		.start = l7_service_start,
		.poll = l7_service_poll,
		.stop = l7_service_stop,
		.stats = l7_service_stats,
	};

	*out = NULL;
	if (!c->n_endpoints)
		return 0;
	rt = calloc(1, sizeof(*rt));
	if (!rt) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rt->conf = c;
	if (l7_tls_setup(rt, err, errlen) < 0) {
		l7_proxy_teardown(rt);
		return -1;
	}
	svc.arg = rt;
	if (stk_runtime_add_service(srt, &svc) < 0) {
		snprintf(err, errlen, "too many services");
		l7_proxy_teardown(rt);
		return -1;
	}
	*out = rt;
	return 0;
}

void l7_proxy_teardown(struct l7_runtime *rt)
{
	if (!rt)
		return;
	for (unsigned i = 0; i < CONF_MAX_ENDPOINTS; i++) {
		l7_tls_ctx_free(rt->ep_tls[i]);
		l7_tls_ctx_free(rt->ep_inspect[i]);
		l7_tls_ctx_free(rt->origin_tls[i]);
	}
	for (unsigned i = 0; i < CONF_MAX_UPSTREAMS; i++)
		l7_tls_ctx_free(rt->up_tls[i]);
	free(rt);
}
