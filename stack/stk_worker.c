/* Running the stack on a worker lcore. See stk_worker.h.
 *
 * Locking: the instance's lwIP tcpip thread runs lwIP timers under the
 * core lock; the worker takes the lock for each batch of work (packets
 * in, socket events, timeouts) and never while it sleeps. Those timers
 * can run stream callbacks (an error on a pcb), so nothing that runs
 * stream callbacks or touches the loop's lists may run unlocked: the
 * worker waits with stk_loop_wait_events, never stk_loop_wait, whose
 * flush did that. */
#include "stk_worker.h"

#include <ares.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf/conf.h"
#include "dataplane/dp_dataplane.h"
#include "dataplane/dp_parse.h"
#include "stk_audit.h"
#include "stk_buf.h"
#include "stk_dns.h"
#include "stk_loop.h"
#include "stk_lwip.h"
#include "stk_proxy.h"
#include "stk_stream_lwip.h"

struct stk_runtime {
	const struct conf *conf;
	struct stk_audit *audit;
	struct stk_service services[STK_MAX_SERVICES];
	unsigned n_services;
};

struct stk_worker {
	struct stk_runtime *rt;
	unsigned idx;
	struct dp_worker *dpw;
	struct stk_lwip *lwip;
	struct stk_loop loop;
	struct stk_proxy *proxy;
	void *svc_ctx[STK_MAX_SERVICES];
	struct stk_loop_fd wake;    /* the dataplane's eventfd, once slept */
	uint64_t bad_packets;
};

/* Services' polls, lock held: the smallest wait wins. */
static int stk_worker_poll_services(struct stk_worker *w, int ms)
{
	for (unsigned i = 0; i < w->rt->n_services; i++) {
		int m;

		if (!w->svc_ctx[i] || !w->rt->services[i].poll)
			continue;
		m = w->rt->services[i].poll(w->svc_ctx[i]);
		if (m >= 0 && (ms < 0 || m < ms))
			ms = m;
	}
	return ms;
}

static void stk_worker_output(void *arg, uint16_t port, const uint8_t *pkt,
			      uint16_t len)
{
	struct stk_worker *w = arg;

	dp_worker_tx(w->dpw, port, pkt, len);
}

static bool stk_worker_audit(void *arg, char *line)
{
	struct stk_worker *w = arg;

	return stk_audit_push(w->rt->audit, w->idx, line);
}

static void stk_worker_stop(void *ctx)
{
	struct stk_worker *w = ctx;

	if (w->proxy) {
		stk_lwip_lock(w->lwip);
		for (unsigned i = w->rt->n_services; i-- > 0;)
			if (w->svc_ctx[i])
				w->rt->services[i].stop(w->svc_ctx[i]);
		stk_proxy_destroy(w->proxy);
		stk_lwip_unlock(w->lwip);
	}
	stk_lwip_unload(w->lwip);
	stk_loop_fini(&w->loop);
	free(w);
	stk_buf_cache_drain(); /* this is the worker's own thread */
}

static void *stk_worker_start(void *arg, unsigned idx, struct dp_worker *dpw)
{
	struct stk_runtime *rt = arg;
	struct stk_worker *w = calloc(1, sizeof(*w));
	char err[256];

	if (!w)
		return NULL;
	w->rt = rt;
	w->idx = idx;
	w->dpw = dpw;
	w->wake.fd = -1;
	if (stk_loop_init(&w->loop) < 0) {
		fprintf(stderr, "strata: worker %u: cannot create epoll\n", idx);
		free(w);
		return NULL;
	}
	w->lwip = stk_lwip_load(err, sizeof(err));
	if (!w->lwip) {
		fprintf(stderr, "strata: worker %u: %s\n", idx, err);
		stk_loop_fini(&w->loop);
		free(w);
		return NULL;
	}
	stk_lwip_lock(w->lwip);
	w->proxy = stk_proxy_create(rt->conf, &w->loop, w->lwip, idx,
				    stk_worker_output,
				    rt->audit ? stk_worker_audit : NULL, w);
	stk_lwip_unlock(w->lwip);
	if (!w->proxy) {
		fprintf(stderr, "strata: worker %u: cannot set up the proxy\n",
			idx);
		stk_worker_stop(w);
		return NULL;
	}
	{
		struct stk_worker_env env = {
			.idx = idx,
			.n_workers = rt->conf->lcores.workers ?
				     rt->conf->lcores.workers : 1,
			.loop = &w->loop,
			.proxy = w->proxy,
			.conf = rt->conf,
		};

		stk_lwip_lock(w->lwip);
		for (unsigned i = 0; i < rt->n_services; i++) {
			w->svc_ctx[i] = rt->services[i].start(
				rt->services[i].arg, &env);
			if (!w->svc_ctx[i]) {
				stk_lwip_unlock(w->lwip);
				fprintf(stderr, "strata: worker %u: %s did not "
					"start\n", idx, rt->services[i].name);
				stk_worker_stop(w);
				return NULL;
			}
		}
		stk_lwip_unlock(w->lwip);
	}
	return w;
}

static void stk_worker_input(void *ctx, const struct dp_worker_pkt *pkts,
			     unsigned n)
{
	struct stk_worker *w = ctx;
	struct dp_pkt_view v;

	stk_lwip_lock(w->lwip);
	w->loop.now_ns = stk_now_ns();
	stk_lwip_stream_batch(w->lwip);
	for (unsigned i = 0; i < n; i++) {
		/* The rx/tx lcore verified the packet; this only recovers
		 * the offsets. */
		if (dp_parse(pkts[i].data, pkts[i].len, DP_LINK_RAW_IP,
			     DP_PARSE_L3_CSUM_OK | DP_PARSE_L4_CSUM_OK,
			     &v) < 0) {
			w->bad_packets++;
			continue;
		}
		stk_proxy_input(w->proxy, pkts[i].port, pkts[i].data,
				pkts[i].len, &v);
	}
	stk_lwip_stream_flush(w->lwip);
	stk_proxy_poll(w->proxy);
	stk_worker_poll_services(w, -1);
	stk_loop_flush(&w->loop);
	stk_lwip_unlock(w->lwip);
}

static int stk_worker_poll(void *ctx)
{
	struct stk_worker *w = ctx;
	int ms;

	/* events a sleep already collected are dispatched first */
	if (!w->loop.n_ready)
		stk_loop_wait_events(&w->loop, 0); /* unlocked: no flush */
	stk_lwip_lock(w->lwip);
	stk_loop_dispatch(&w->loop);
	ms = stk_proxy_poll(w->proxy);
	ms = stk_worker_poll_services(w, ms);
	/* what this pass wrote leaves now, one call per socket */
	stk_loop_flush(&w->loop);
	stk_lwip_unlock(w->lwip);
	return ms;
}

static void stk_worker_settle(void *ctx, int max_ms)
{
	struct stk_worker *w = ctx;
	uint64_t end = stk_now_ns() + (uint64_t)max_ms * 1000000ull;

	for (;;) {
		unsigned pending;

		stk_worker_poll(w);
		stk_lwip_lock(w->lwip);
		pending = stk_proxy_connecting(w->proxy);
		stk_lwip_unlock(w->lwip);
		if (!pending || stk_now_ns() >= end)
			return;
		stk_loop_wait_events(&w->loop, 10);
		stk_lwip_lock(w->lwip);
		stk_loop_dispatch(&w->loop);
		stk_lwip_unlock(w->lwip);
	}
}

static void stk_worker_wake_event(struct stk_loop_fd *lfd, uint32_t ev)
{
	uint64_t count;

	(void)ev;
	if (read(lfd->fd, &count, sizeof(count)) < 0) {
		/* EAGAIN: another reader took it; nothing else to do */
	}
}

static void stk_worker_sleep(void *ctx, int wake_fd, int timeout_ms)
{
	struct stk_worker *w = ctx;

	if (w->wake.fd != wake_fd) {
		w->wake.fd = wake_fd;
		w->wake.fn = stk_worker_wake_event;
		if (stk_loop_watch(&w->loop, &w->wake, EPOLLIN, false) < 0) {
			/* cannot hear the rings: never sleep past a short nap */
			w->wake.fd = -1;
			if (timeout_ms < 0 || timeout_ms > 1)
				timeout_ms = 1;
		}
	}
	if (!w->loop.n_ready)
		stk_loop_wait_events(&w->loop, timeout_ms);
}

static int stk_worker_wait_fd(void *ctx)
{
	return ((struct stk_worker *)ctx)->loop.epfd;
}

static void stk_worker_stats(void *ctx, json_t *obj)
{
	struct stk_worker *w = ctx;
	const struct stk_counters *c = stk_proxy_counters(w->proxy);
	json_t *st = json_object(), *closed = json_object();

#define STK_CTR_JSON(n) \
	json_object_set_new(st, #n, json_integer((json_int_t)c->n));
	STK_COUNTERS(STK_CTR_JSON)
#undef STK_CTR_JSON
	for (unsigned i = 0; i < STK_CLOSE__COUNT; i++)
		json_object_set_new(closed, stk_close_reason_name(i),
				    json_integer((json_int_t)c->closed[i]));
	json_object_set_new(st, "closed", closed);
	{
		const struct stk_dns_counters *d = stk_proxy_dns_counters(w->proxy);

		json_object_set_new(st, "dns", json_pack(
			"{s:I,s:I,s:I,s:I,s:I}",
			"queries", (json_int_t)d->queries,
			"cache_hits", (json_int_t)d->cache_hits,
			"negative_hits", (json_int_t)d->negative_hits,
			"answers", (json_int_t)d->answers,
			"failures", (json_int_t)d->failures));
	}
	json_object_set_new(st, "unparsable",
			    json_integer((json_int_t)w->bad_packets));
	json_object_set_new(st, "tcp_listeners",
			    json_integer(w->lwip->n_listeners));
	if (w->rt->audit)
		json_object_set_new(st, "audit_write_errors", json_integer(
			(json_int_t)stk_audit_write_errors(w->rt->audit)));
	json_object_set_new(obj, "stack", st);
	for (unsigned i = 0; i < w->rt->n_services; i++) {
		json_t *so = json_object();

		if (w->svc_ctx[i] && w->rt->services[i].stats)
			w->rt->services[i].stats(w->svc_ctx[i], so);
		json_object_set_new(obj, w->rt->services[i].name, so);
	}
}

int stk_runtime_add_service(struct stk_runtime *rt,
			    const struct stk_service *s)
{
	if (rt->n_services == STK_MAX_SERVICES)
		return -1;
	rt->services[rt->n_services++] = *s;
	return 0;
}

void stk_worker_ops(struct stk_runtime *rt, struct dp_worker_ops *ops)
{
	*ops = (struct dp_worker_ops){
		.start = stk_worker_start,
		.input = stk_worker_input,
		.poll = stk_worker_poll,
		.wait_fd = stk_worker_wait_fd,
		.sleep = stk_worker_sleep,
		.settle = stk_worker_settle,
		.stop = stk_worker_stop,
		.stats = stk_worker_stats,
		.arg = rt,
	};
}

struct stk_runtime *stk_runtime_create(const struct conf *c, char *err,
				       size_t errlen)
{
	struct stk_runtime *rt = calloc(1, sizeof(*rt));

	if (!rt) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rt->conf = c;
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
		snprintf(err, errlen, "dns: c-ares cannot start");
		free(rt);
		return NULL;
	}
	if (c->audit.path[0]) {
		rt->audit = stk_audit_open(c->audit.path, c->lcores.workers,
					   err, errlen);
		if (!rt->audit) {
			free(rt);
			return NULL;
		}
	}
	return rt;
}

void stk_runtime_destroy(struct stk_runtime *rt)
{
	if (!rt)
		return;
	stk_audit_close(rt->audit);
	free(rt);
}
