/* The running dataplane: see dp_dataplane.h.
 *
 * Lcore model: EAL's main lcore only supervises (signals, counters).
 * Each rx/tx lcore polls the (port, queue) pairs assigned to it and runs
 * the pipeline to completion. A flow belongs to the rx/tx lcore that the
 * symmetric Toeplitz hash picks (dp_owner); a NIC with RSS already
 * delivers it there, and packets from ports without RSS (TUN, a single
 * queue) are handed to their owner through a ring. Worker lcores take
 * STACK packets through rings and run what dp_worker_ops gives them (the
 * userspace stack, wired by the binary); what they send comes back
 * through a ring to the flow's rx/tx lcore for transmission. Idle lcores whose
 * ports can wake them (TUN fds) sleep in epoll. */
#include "dp_dataplane.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp_parse.h"
#include "dp_pipeline.h"
#include "dp_port.h"
#include "dp_rss.h"

#define DP_IDLE_POLLS 256     /* empty polls before an lcore may sleep */
#define DP_SLEEP_MAX_MS 100
#define DP_RETA_SIZE 128      /* owner = RETA[hash % 128], RETA[i] = i % n */

struct dp_rxq {
	struct dp_port *port;
	uint16_t queue;
};

struct dp_rxtx {
	struct dp_lcore *lc;
	struct dp_rxq rxq[CONF_MAX_PORTS * 4];
	unsigned n_rxq;
	bool can_sleep;        /* every rxq has a wait fd */
	int epfd;
	struct dp_wake wake;   /* eventfd: another lcore handed us packets */
	/* handoff[from] : packets other rx/tx lcores steered to us */
	struct rte_ring *handoff[DP_MAX_RXTX];
	/* from_worker[w] : packets the stack on worker w sends */
	struct rte_ring *from_worker[DP_MAX_WORKERS];
};

struct dp_worker {
	unsigned idx;
	struct dp_dataplane *dp;
	void *ctx;                 /* the worker ops' state */
	struct dp_counters ctr;
	uint64_t tx_pkts, tx_dropped; /* dp_worker_tx */
	uint8_t joined[65536];     /* a chained datagram, made whole */
};

struct dp_dataplane {
	const struct conf *conf;
	struct rte_mempool *mp;
	/* ports whose MTU is past a standard mbuf (large TUN MTUs) */
	struct rte_mempool *big_mp[CONF_MAX_PORTS];
	struct dp_shared sh;
	struct dp_rxtx rxtx[DP_MAX_RXTX];
	struct dp_worker workers[DP_MAX_WORKERS];
	struct dp_worker_ops wops;
	bool has_wops;
	volatile sig_atomic_t *stop;
};

/* ---- EAL arguments ---- */

static bool dp_devargs_is_pci(const char *d)
{
	unsigned a, b, c, e;

	return sscanf(d, "%x:%x:%x.%x", &a, &b, &c, &e) == 4 ||
	       sscanf(d, "%x:%x.%x", &a, &b, &c) == 3;
}

static int dp_push(char **argv, int argc, int max, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int dp_push(char **argv, int argc, int max, const char *fmt, ...)
{
	va_list ap;

	if (argc < 0 || argc >= max - 1)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&argv[argc], fmt, ap) < 0)
		argc = -1;
	va_end(ap);
	return argc < 0 ? -1 : argc + 1;
}

int dp_eal_args(const struct conf *c, char **argv, int max, unsigned *n_lcores)
{
	unsigned n = 1 + c->lcores.rxtx + c->lcores.workers;
	int cpus[CPU_SETSIZE], n_cpus = 0;
	bool pci = false;
	char map[512];
	size_t off = 0;
	int argc = 0;
	unsigned i;

	/* CPUs: the configured list, else the ones we may run on. */
	if (c->lcores.cpus[0]) {
		const char *s = c->lcores.cpus;

		while (*s && n_cpus < CPU_SETSIZE) {
			char *end;
			long lo = strtol(s, &end, 10), hi = lo;

			if (end == s)
				break;
			if (*end == '-')
				hi = strtol(end + 1, &end, 10);
			for (long k = lo; k <= hi && n_cpus < CPU_SETSIZE; k++)
				cpus[n_cpus++] = (int)k;
			s = *end == ',' ? end + 1 : end;
		}
	} else {
		cpu_set_t set;

		if (sched_getaffinity(0, sizeof(set), &set) == 0)
			for (i = 0; i < CPU_SETSIZE; i++)
				if (CPU_ISSET(i, &set))
					cpus[n_cpus++] = (int)i;
	}
	if (n_cpus == 0)
		cpus[n_cpus++] = 0;

	/* Lcore i on cpu i % n: with fewer CPUs than lcores they share,
	 * which idle-sleeping TUN lcores tolerate. The main lcore and the
	 * workers go last so that rx/tx lcores get CPUs of their own first. */
	for (i = 0; i < n && off < sizeof(map); i++) {
		unsigned cpu_slot = i == 0 ? n - 1 : i - 1;

		off += (size_t)snprintf(map + off, sizeof(map) - off, "%s%u@%d",
					i ? "," : "", i, cpus[cpu_slot % n_cpus]);
	}
	*n_lcores = n;

	argc = dp_push(argv, argc, max, "strata");
	argc = dp_push(argv, argc, max, "--lcores=%s", map);
	argc = dp_push(argv, argc, max, "--main-lcore=0");
	if (c->eal.no_huge)
		argc = dp_push(argv, argc, max, "--no-huge");
	argc = dp_push(argv, argc, max, "-m");
	argc = dp_push(argv, argc, max, "%u", c->eal.memory_mb);
	argc = dp_push(argv, argc, max, "--no-shconf");
	argc = dp_push(argv, argc, max, "--log-level=lib.*:warning");
	for (i = 0; i < c->n_ports; i++) {
		const struct conf_port *p = &c->ports[i];

		if (p->kind != CONF_PORT_DPDK)
			continue;
		if (dp_devargs_is_pci(p->devargs)) {
			pci = true;
			argc = dp_push(argv, argc, max, "-a");
		} else {
			argc = dp_push(argv, argc, max, "--vdev");
		}
		argc = dp_push(argv, argc, max, "%s", p->devargs);
	}
	if (!pci)
		argc = dp_push(argv, argc, max, "--no-pci");
	for (i = 0; i < c->eal.n_args; i++)
		argc = dp_push(argv, argc, max, "%s", c->eal.args[i]);
	if (argc >= 0)
		argv[argc] = NULL;
	return argc;
}

void dp_eal_args_free(char **argv, int argc)
{
	for (int i = 0; i < argc; i++)
		free(argv[i]);
}

/* ---- set-up ---- */

static uint16_t dp_mbuf_data_room(const struct conf *c)
{
	uint32_t mtu = 1500;
	unsigned i;

	for (i = 0; i < c->n_ports; i++)
		if (c->ports[i].mtu > mtu && c->ports[i].mtu <= CONF_MTU_MAX_LINK)
			mtu = c->ports[i].mtu;
	/* L2 header with two VLAN tags, and headroom for prepending */
	mtu += 14 + 8 + RTE_PKTMBUF_HEADROOM;
	return (uint16_t)RTE_MAX(mtu, (uint32_t)RTE_MBUF_DEFAULT_BUF_SIZE);
}

static struct rte_ring *dp_ring(const char *kind, unsigned a, unsigned b,
				unsigned size)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "%s_%u_%u", kind, a, b);
	return rte_ring_create(name, size, rte_socket_id(),
			       RING_F_SP_ENQ | RING_F_SC_DEQ);
}

/* Learnt neighbours from rx/tx lcore a to b: control traffic, so a
 * small ring; a full one loses the entry (counted), and b solicits for
 * itself when it needs the neighbour. */
#define DP_NEIGH_RING_SIZE 256

static struct rte_ring *dp_neigh_ring(unsigned a, unsigned b)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "n_%u_%u", a, b);
	return rte_ring_create_elem(name, sizeof(struct dp_neigh_msg),
				    DP_NEIGH_RING_SIZE, rte_socket_id(),
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
}

struct dp_dataplane *dp_dataplane_create(const struct conf *c, char *err,
					 size_t errlen)
{
	struct dp_dataplane *dp;
	unsigned n_rxtx = c->lcores.rxtx ? c->lcores.rxtx : 1;
	unsigned i, j;

	if (n_rxtx > DP_MAX_RXTX || c->lcores.workers > DP_MAX_WORKERS) {
		snprintf(err, errlen, "lcores: at most %d rx/tx and %d workers",
			 DP_MAX_RXTX, DP_MAX_WORKERS);
		return NULL;
	}
	dp = calloc(1, sizeof(*dp));
	if (!dp) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	dp->conf = c;
	dp->sh.conf = c;
	dp->sh.n_rxtx = n_rxtx;
	dp->sh.n_workers = c->lcores.workers;
	for (i = 0; i < DP_MAX_RXTX; i++) {
		dp->rxtx[i].epfd = -1;
		dp->rxtx[i].wake.fd = -1;
	}
	for (i = 0; i < DP_MAX_WORKERS; i++)
		dp->sh.worker_wake[i].fd = -1;

	dp->mp = rte_pktmbuf_pool_create("strata_mbuf", c->mbuf.pool_size,
					 256, 0, dp_mbuf_data_room(c),
					 rte_socket_id());
	if (!dp->mp) {
		snprintf(err, errlen, "mbuf pool of %u: %s", c->mbuf.pool_size,
			 rte_strerror(rte_errno));
		goto fail;
	}

	for (i = 0; i < c->n_ports; i++) {
		struct dp_port *p;

		if (c->ports[i].mtu > CONF_MTU_MAX_LINK) {
			/* Its own pool of large mbufs, so that packets of a
			 * TUN's MTU stay whole without making every mbuf
			 * large; enough for both rings of a busy flow. */
			char name[RTE_MEMPOOL_NAMESIZE];
			unsigned n = 2 * c->mbuf.ring_size - 1;

			snprintf(name, sizeof(name), "strata_big_%u", i);
			dp->big_mp[i] = rte_pktmbuf_pool_create(name, n, 64, 0,
				(uint16_t)(c->ports[i].mtu +
					   RTE_PKTMBUF_HEADROOM),
				rte_socket_id());
			if (!dp->big_mp[i]) {
				snprintf(err, errlen, "port %s: pool of %u "
					 "mbufs of %u bytes: %s",
					 c->ports[i].name, n, c->ports[i].mtu,
					 rte_strerror(rte_errno));
				goto fail;
			}
		}
		p = dp_port_open(&c->ports[i], (uint16_t)i, dp->mp,
				 dp->big_mp[i], (uint16_t)n_rxtx, err, errlen);
		if (!p)
			goto fail;
		dp->sh.ports[i] = p;
		dp->sh.n_ports = i + 1;
		if (c->ports[i].kind == CONF_PORT_DPDK && p->n_txq < n_rxtx) {
			snprintf(err, errlen,
				 "port %s: %u tx queues, need one per rx/tx lcore (%u)",
				 p->name, p->n_txq, n_rxtx);
			goto fail;
		}
	}

	/* Rings to and from workers hold every mbuf there is: a burst for
	 * the stack (10,000 clients closing at once) and the stack's
	 * answers wait there instead of being dropped; past that the pool
	 * runs dry and the port keeps the rest (rx_nombuf). Ring slots
	 * are 8 bytes. */
	unsigned n_mbufs = dp->mp->size, stack_ring_size;

	for (i = 0; i < CONF_MAX_PORTS; i++)
		if (dp->big_mp[i])
			n_mbufs += dp->big_mp[i]->size;
	stack_ring_size = RTE_MAX(c->mbuf.ring_size,
				  rte_align32pow2(n_mbufs + 1));

	for (i = 0; i < n_rxtx; i++) {
		dp->rxtx[i].lc = dp_lcore_create(i, &dp->sh, dp->mp);
		if (!dp->rxtx[i].lc) {
			snprintf(err, errlen, "lcore %u state: %s", i, strerror(errno));
			goto fail;
		}
		for (j = 0; j < dp->sh.n_workers; j++) {
			dp->sh.to_worker[i][j] = dp_ring("w", i, j,
							 stack_ring_size);
			dp->rxtx[i].from_worker[j] = dp_ring("s", j, i,
							     stack_ring_size);
			if (!dp->sh.to_worker[i][j] || !dp->rxtx[i].from_worker[j])
				goto fail_ring;
		}
		for (j = 0; j < n_rxtx && n_rxtx > 1; j++) {
			if (j == i)
				continue;
			dp->rxtx[i].handoff[j] = dp_ring("h", j, i, c->mbuf.ring_size);
			dp->sh.neigh_sync[j][i] = dp_neigh_ring(j, i);
			if (!dp->rxtx[i].handoff[j] || !dp->sh.neigh_sync[j][i])
				goto fail_ring;
		}
		dp->sh.rxtx_wake[i] = &dp->rxtx[i].wake;
	}
	return dp;

fail_ring:
	snprintf(err, errlen, "ring: %s", rte_strerror(rte_errno));
fail:
	dp_dataplane_destroy(dp);
	return NULL;
}

static void dp_ring_free(struct rte_ring *r)
{
	struct rte_mbuf *m;

	if (!r)
		return;
	while (rte_ring_dequeue(r, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(r);
}

void dp_dataplane_destroy(struct dp_dataplane *dp)
{
	unsigned i, j;

	if (!dp)
		return;
	/* A replay's inline worker is still up (lcores stop their own). */
	for (i = 0; i < DP_MAX_WORKERS; i++) {
		if (dp->workers[i].ctx)
			dp->wops.stop(dp->workers[i].ctx);
		dp->workers[i].ctx = NULL;
	}
	for (i = 0; i < DP_MAX_RXTX; i++) {
		for (j = 0; j < DP_MAX_WORKERS; j++) {
			dp_ring_free(dp->sh.to_worker[i][j]);
			dp_ring_free(dp->rxtx[i].from_worker[j]);
		}
		for (j = 0; j < DP_MAX_RXTX; j++) {
			dp_ring_free(dp->rxtx[i].handoff[j]);
			rte_ring_free(dp->sh.neigh_sync[i][j]);
		}
		dp_lcore_destroy(dp->rxtx[i].lc);
		if (dp->rxtx[i].epfd >= 0)
			close(dp->rxtx[i].epfd);
		if (dp->rxtx[i].wake.fd >= 0)
			close(dp->rxtx[i].wake.fd);
	}
	for (i = 0; i < DP_MAX_WORKERS; i++)
		if (dp->sh.worker_wake[i].fd >= 0)
			close(dp->sh.worker_wake[i].fd);
	for (i = 0; i < dp->sh.n_ports; i++)
		dp_port_close(dp->sh.ports[i]);
	rte_mempool_free(dp->mp);
	for (i = 0; i < CONF_MAX_PORTS; i++)
		rte_mempool_free(dp->big_mp[i]);
	free(dp);
}

/* ---- counters ---- */

static json_t *dp_counters_json(const struct dp_counters *c)
{
	json_t *o = json_object(), *disp = json_object(), *drops = json_object();
	unsigned i;

	json_object_set_new(o, "rx_pkts", json_integer((json_int_t)c->rx_pkts));
	json_object_set_new(o, "rx_bytes", json_integer((json_int_t)c->rx_bytes));
	json_object_set_new(o, "tx_pkts", json_integer((json_int_t)c->tx_pkts));
	json_object_set_new(o, "tx_bytes", json_integer((json_int_t)c->tx_bytes));
	json_object_set_new(o, "tx_generated",
			    json_integer((json_int_t)c->tx_generated));
	for (i = 0; i < DP_DISP_MAX; i++)
		json_object_set_new(disp, dp_disp_name(i),
				    json_integer((json_int_t)c->disp[i]));
	json_object_set_new(o, "disposition", disp);
	for (i = 0; i < DP_DROP_MAX; i++)
		if (c->drops[i])
			json_object_set_new(drops, dp_drop_name(i),
					    json_integer((json_int_t)c->drops[i]));
	json_object_set_new(o, "drops", drops);
	json_object_set_new(o, "flows", json_pack("{s:I,s:I,s:I}",
		"created", (json_int_t)c->flows_created,
		"expired", (json_int_t)c->flows_expired,
		"active", (json_int_t)c->flows_active));
	json_object_set_new(o, "fast_path",
			    json_integer((json_int_t)c->fast_path));
	json_object_set_new(o, "fast_cache_bypass",
			    json_integer((json_int_t)c->fast_cache_bypass));
	json_object_set_new(o, "reassembly", json_pack("{s:I,s:I}",
		"completed", (json_int_t)c->reass_completed,
		"timeouts", (json_int_t)c->reass_timeouts));
	json_object_set_new(o, "stack_out", json_pack("{s:I,s:I}",
		"sent", (json_int_t)c->stack_tx,
		"dropped", (json_int_t)c->stack_tx_drops));
	json_object_set_new(o, "neigh_sync", json_pack("{s:I,s:I,s:I}",
		"sent", (json_int_t)c->neigh_sync_sent,
		"lost", (json_int_t)c->neigh_sync_lost,
		"received", (json_int_t)c->neigh_sync_received));
	return o;
}

void dp_dataplane_print_stats(struct dp_dataplane *dp, FILE *out)
{
	struct dp_counters sum;
	json_t *root, *lcores = json_array(), *ports = json_array();
	unsigned i;
	char *s;

	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < dp->sh.n_rxtx; i++) {
		const struct dp_counters *c = &dp->rxtx[i].lc->ctr;
		json_t *l = dp_counters_json(c);

		dp_counters_add(&sum, c);
		json_object_set_new(l, "lcore", json_integer(i));
		json_object_set_new(l, "role", json_string("rxtx"));
		json_object_set_new(l, "idle_sleeps",
				    json_integer((json_int_t)c->idle_sleeps));
		json_object_set_new(l, "rx_held_back",
				    json_integer((json_int_t)c->rx_held_back));
		json_array_append_new(lcores, l);
	}
	for (i = 0; i < dp->sh.n_workers; i++) {
		const struct dp_worker *w = &dp->workers[i];
		const struct dp_counters *c = &w->ctr;
		json_t *o;

		sum.stack_no_stack += c->stack_no_stack;
		o = json_pack("{s:i,s:s,s:I,s:I,s:I,s:I,s:I}",
			"lcore", (int)(dp->sh.n_rxtx + i), "role", "worker",
			"stack_rx", (json_int_t)c->rx_pkts,
			"stack_no_stack", (json_int_t)c->stack_no_stack,
			"stack_tx", (json_int_t)w->tx_pkts,
			"stack_tx_dropped", (json_int_t)w->tx_dropped,
			"idle_sleeps", (json_int_t)c->idle_sleeps);
		if (dp->has_wops && dp->wops.stats && w->ctx)
			dp->wops.stats(w->ctx, o);
		json_array_append_new(lcores, o);
	}
	for (i = 0; i < dp->sh.n_ports; i++) {
		struct dp_port *p = dp->sh.ports[i];
		struct dp_port_stats ps;

		dp_port_stats(p, &ps);
		json_array_append_new(ports, json_pack(
			"{s:s,s:s,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			"name", p->name, "kind", p->ops->kind,
			"rx_queues", p->n_rxq, "tx_queues", p->n_txq,
			"rx_pkts", (json_int_t)ps.rx_pkts,
			"rx_bytes", (json_int_t)ps.rx_bytes,
			"tx_pkts", (json_int_t)ps.tx_pkts,
			"tx_bytes", (json_int_t)ps.tx_bytes,
			"rx_errors", (json_int_t)ps.rx_errors,
			"tx_errors", (json_int_t)ps.tx_errors,
			"rx_nombuf", (json_int_t)ps.rx_nombuf));
	}
	root = dp_counters_json(&sum);
	json_object_set_new(root, "stack_no_stack",
			    json_integer((json_int_t)sum.stack_no_stack));
	json_object_set_new(root, "ports", ports);
	json_object_set_new(root, "lcores", lcores);
	s = json_dumps(root, JSON_COMPACT);
	if (s) {
		fputs(s, out);
		free(s);
	}
	json_decref(root);
}

/* ---- lcore loops ---- */

static inline uint64_t dp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The rx/tx lcores' clock: TSC cycles scaled to nanoseconds, since a
 * clock_gettime per poll showed in profiles. Only these lcores compare
 * its values (timers, flow and neighbour timeouts), each with its own. */
static uint64_t dp_tsc_mult; /* ns per cycle, 32.32 fixed point */

static void dp_tsc_init(void)
{
	uint64_t hz = rte_get_tsc_hz();

	dp_tsc_mult = hz ? (uint64_t)((1000000000ull << 32) / hz) : 1ull << 32;
}

static inline uint64_t dp_tsc_ns(void)
{
	return (uint64_t)(((__uint128_t)rte_rdtsc() * dp_tsc_mult) >> 32);
}

static inline unsigned dp_owner(uint32_t hash, unsigned n)
{
	return (hash % DP_RETA_SIZE) % n;
}

/* Hash for software steering: parse just to find the tuple (the owner
 * parses again; this only runs for multi-lcore set-ups on ports
 * without RSS). Unparsable packets go to lcore 0, which counts them. */
static uint32_t dp_soft_hash_buf(const uint8_t *buf, uint32_t len,
				 enum dp_link link)
{
	struct dp_pkt_view v;

	if (dp_parse(buf, len, link, DP_PARSE_L3_CSUM_OK | DP_PARSE_L4_CSUM_OK,
		     &v) < 0 || v.l3 == DP_L3_ARP)
		return 0;
	return dp_rss_hash_view(&v);
}

static uint32_t dp_soft_hash(struct rte_mbuf *m, enum dp_link link)
{
	return dp_soft_hash_buf(rte_pktmbuf_mtod(m, const uint8_t *),
				rte_pktmbuf_data_len(m), link);
}

/* Sleep until a port or another lcore has work, or the next timer. */
static void dp_rxtx_sleep(struct dp_rxtx *r, uint64_t next_timer_ns,
			  bool (*pending)(struct dp_rxtx *r))
{
	struct epoll_event ev[8];
	uint64_t now = dp_tsc_ns();
	int ms = DP_SLEEP_MAX_MS;
	uint64_t drain;

	if (next_timer_ns > now && (next_timer_ns - now) / 1000000 < (uint64_t)ms)
		ms = (int)((next_timer_ns - now) / 1000000) + 1;
	atomic_store(&r->wake.sleeping, 1);
	if (!pending(r)) {
		r->lc->ctr.idle_sleeps++;
		if (epoll_wait(r->epfd, ev, 8, ms) > 0 &&
		    read(r->wake.fd, &drain, sizeof(drain)) < 0) {
			/* not the eventfd that woke us */
		}
	}
	atomic_store(&r->wake.sleeping, 0);
}

static bool dp_rxtx_handoff_pending(struct dp_rxtx *r)
{
	const struct dp_shared *sh = r->lc->sh;

	for (unsigned i = 0; i < DP_MAX_RXTX; i++) {
		if (r->handoff[i] && !rte_ring_empty(r->handoff[i]))
			return true;
		if (sh->neigh_sync[i][r->lc->idx] &&
		    !rte_ring_empty(sh->neigh_sync[i][r->lc->idx]))
			return true;
	}
	for (unsigned i = 0; i < DP_MAX_WORKERS; i++)
		if (r->from_worker[i] && !rte_ring_empty(r->from_worker[i]))
			return true;
	return false;
}

struct dp_lcore_arg {
	struct dp_dataplane *dp;
	unsigned idx;
};

/* Backpressure: while the stack has half of the standard mbufs queued
 * from this lcore, its ports are not polled (they keep their packets),
 * so the workers still find mbufs for their answers and rings never
 * overflow. */
static bool dp_rxtx_hold_back(struct dp_dataplane *dp, struct dp_rxtx *r)
{
	unsigned queued = 0;

	for (unsigned i = 0; i < dp->sh.n_workers; i++)
		queued += rte_ring_count(dp->sh.to_worker[r->lc->idx][i]);
	if (queued <= dp->mp->size / 2)
		return false;
	r->lc->ctr.rx_held_back++;
	return true;
}

static int dp_rxtx_main(void *arg)
{
	struct dp_lcore_arg *a = arg;
	struct dp_dataplane *dp = a->dp;
	struct dp_rxtx *r = &dp->rxtx[a->idx];
	struct dp_lcore *lc = r->lc;
	unsigned n_rxtx = dp->sh.n_rxtx;
	uint16_t burst = dp->conf->mbuf.burst;
	struct rte_mbuf *pkts[DP_BURST_MAX];
	struct rte_mbuf *mine[DP_BURST_MAX];
	struct rte_mbuf *theirs[DP_MAX_RXTX][DP_BURST_MAX];
	uint16_t n_theirs[DP_MAX_RXTX];
	unsigned idle = 0;
	bool held_back;

	if (burst > DP_BURST_MAX)
		burst = DP_BURST_MAX;
	while (!*dp->stop) {
		unsigned total = 0, q, i;

		lc->now_ns = dp_tsc_ns();
		held_back = dp_rxtx_hold_back(dp, r);
		for (q = 0; q < r->n_rxq && !held_back; q++) {
			struct dp_rxq *rq = &r->rxq[q];
			uint16_t n = dp_port_rx_burst(rq->port, rq->queue, pkts, burst);
			uint16_t n_mine = 0;

			if (!n)
				continue;
			total += n;
			if (n_rxtx == 1 || rq->port->hw_rss) {
				dp_lcore_rx(lc, pkts, n);
				continue;
			}
			/* Software steering: the same owner a NIC's RSS with
			 * our key and RETA would have chosen. */
			memset(n_theirs, 0, sizeof(n_theirs));
			for (i = 0; i < n; i++) {
				unsigned o = dp_owner(dp_soft_hash(pkts[i],
						rq->port->link), n_rxtx);

				if (o == a->idx)
					mine[n_mine++] = pkts[i];
				else
					theirs[o][n_theirs[o]++] = pkts[i];
			}
			if (n_mine)
				dp_lcore_rx(lc, mine, n_mine);
			for (i = 0; i < n_rxtx; i++) {
				struct dp_rxtx *to = &dp->rxtx[i];
				unsigned k;

				if (!n_theirs[i])
					continue;
				k = rte_ring_sp_enqueue_burst(to->handoff[a->idx],
						(void **)theirs[i], n_theirs[i], NULL);
				lc->ctr.rx_pkts += n_theirs[i] - k;
				lc->ctr.disp[DP_DISP_DROPPED] += n_theirs[i] - k;
				lc->ctr.drops[DP_DROP_RING_FULL] += n_theirs[i] - k;
				rte_pktmbuf_free_bulk(theirs[i] + k, n_theirs[i] - k);
				dp_wake(&to->wake);
			}
		}
		for (i = 0; i < n_rxtx; i++) {
			unsigned n;

			if (!r->handoff[i])
				continue;
			n = rte_ring_sc_dequeue_burst(r->handoff[i], (void **)pkts,
						      burst, NULL);
			if (n) {
				dp_lcore_rx(lc, pkts, (uint16_t)n);
				total += n;
			}
		}
		for (i = 0; i < dp->sh.n_workers; i++) {
			unsigned n = rte_ring_sc_dequeue_burst(r->from_worker[i],
					(void **)pkts, burst, NULL);

			if (n) {
				dp_lcore_tx_stack(lc, pkts, (uint16_t)n);
				total += n;
			}
		}
		if (n_rxtx > 1)
			dp_lcore_neigh_sync(lc);
		dp_lcore_flush(lc);
		uint64_t next = dp_lcore_timers(lc);

		if (total || held_back) {
			/* held back: the ports have packets, the workers
			 * are busy; no point sleeping on the ports' fds */
			idle = 0;
		} else if (++idle >= DP_IDLE_POLLS && r->can_sleep) {
			dp_rxtx_sleep(r, next, dp_rxtx_handoff_pending);
			idle = 0;
		} else {
			rte_pause();
		}
	}
	return 0;
}

static bool dp_worker_pending(struct dp_dataplane *dp, unsigned w)
{
	for (unsigned i = 0; i < dp->sh.n_rxtx; i++)
		if (!rte_ring_empty(dp->sh.to_worker[i][w]))
			return true;
	return false;
}

/* Sleep until an rx/tx lcore rings us, the stack has work, or
 * timeout_ms (at most 100, to see *stop). */
static void dp_worker_sleep(struct dp_dataplane *dp, unsigned w, int stack_fd,
			    int timeout_ms)
{
	struct dp_wake *wk = &dp->sh.worker_wake[w];
	struct pollfd pfd[2] = {
		{ .fd = wk->fd, .events = POLLIN },
		{ .fd = stack_fd, .events = POLLIN },
	};
	uint64_t drain;

	if (timeout_ms < 0 || timeout_ms > DP_SLEEP_MAX_MS)
		timeout_ms = DP_SLEEP_MAX_MS;
	atomic_store(&wk->sleeping, 1);
	if (!dp_worker_pending(dp, w)) {
		dp->workers[w].ctr.idle_sleeps++;
		if (dp->wops.sleep && dp->workers[w].ctx)
			dp->wops.sleep(dp->workers[w].ctx, wk->fd, timeout_ms);
		else if (poll(pfd, stack_fd >= 0 ? 2 : 1, timeout_ms) > 0 &&
		    (pfd[0].revents & POLLIN) &&
		    read(wk->fd, &drain, sizeof(drain)) < 0) {
			/* raced with another reader: nothing to drain */
		}
	}
	atomic_store(&wk->sleeping, 0);
}

/* Hand a burst to the stack as raw IP (the rx/tx lcore stripped L2). */
static void dp_worker_input(struct dp_dataplane *dp, struct dp_worker *w,
			    struct rte_mbuf **pkts, unsigned n)
{
	struct dp_worker_pkt in[DP_BURST_MAX];
	unsigned k = 0;

	w->ctr.rx_pkts += n;
	if (!dp->has_wops || !w->ctx) {
		w->ctr.stack_no_stack += n;
		rte_pktmbuf_free_bulk(pkts, n);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (m->nb_segs > 1) {
			/* a reassembled datagram in a chain: the stack wants
			 * it whole, so it goes alone, joined in w->joined */
			struct dp_worker_pkt one = {
				.port = m->port,
				.data = w->joined,
				.len = rte_pktmbuf_pkt_len(m),
			};

			if (k)
				dp->wops.input(w->ctx, in, k);
			k = 0;
			rte_pktmbuf_read(m, 0, one.len, w->joined);
			dp->wops.input(w->ctx, &one, 1);
			continue;
		}
		in[k].port = m->port;
		in[k].data = rte_pktmbuf_mtod(m, const uint8_t *);
		in[k].len = rte_pktmbuf_data_len(m);
		k++;
	}
	if (k)
		dp->wops.input(w->ctx, in, k);
	rte_pktmbuf_free_bulk(pkts, n);
}

static int dp_worker_main(void *arg)
{
	struct dp_lcore_arg *a = arg;
	struct dp_dataplane *dp = a->dp;
	struct dp_worker *w = &dp->workers[a->idx];
	struct rte_mbuf *pkts[DP_BURST_MAX];
	unsigned idle = 0;
	int stack_fd = -1, wait_ms = DP_SLEEP_MAX_MS;

	w->dp = dp;
	if (dp->has_wops) {
		w->ctx = dp->wops.start(dp->wops.arg, a->idx, w);
		if (!w->ctx) {
			*dp->stop = 1;
			return -1;
		}
		stack_fd = dp->wops.wait_fd(w->ctx);
	}
	while (!*dp->stop) {
		unsigned total = 0, i, n;

		for (i = 0; i < dp->sh.n_rxtx; i++) {
			n = rte_ring_sc_dequeue_burst(dp->sh.to_worker[i][a->idx],
						      (void **)pkts, DP_BURST_MAX, NULL);
			if (n) {
				dp_worker_input(dp, w, pkts, n);
				total += n;
			}
		}
		if (w->ctx)
			wait_ms = dp->wops.poll(w->ctx);
		/* Spin only while the rings carry packets: with sockets alone
		 * a pass ends in a sleep, which returns at once when more is
		 * ready (as an epoll server's loop does), instead of asking
		 * the kernel DP_IDLE_POLLS times for nothing. */
		if (total) {
			idle = 0;
		} else if (idle >= DP_IDLE_POLLS || ++idle == DP_IDLE_POLLS) {
			dp_worker_sleep(dp, a->idx, stack_fd, wait_ms);
		} else {
			rte_pause();
		}
	}
	if (w->ctx)
		dp->wops.stop(w->ctx);
	w->ctx = NULL;
	return 0;
}

void dp_dataplane_set_worker_ops(struct dp_dataplane *dp,
				 const struct dp_worker_ops *ops)
{
	dp->wops = *ops;
	dp->has_wops = true;
}

int dp_worker_tx(struct dp_worker *w, uint16_t port, const uint8_t *pkt,
		 uint32_t len)
{
	struct dp_dataplane *dp = w->dp;
	struct rte_mbuf *m;
	struct dp_rxtx *r;

	if (port >= dp->sh.n_ports || len > UINT16_MAX)
		goto drop;
	r = &dp->rxtx[dp_owner(dp_soft_hash_buf(pkt, len, DP_LINK_RAW_IP),
			       dp->sh.n_rxtx)];
	/* a chain when past one mbuf (UDP datagrams up to 64 KiB): the
	 * rx/tx lcore fragments them for the port */
	m = dp_mbuf_copy(dp_port_pool(dp->sh.ports[port], len), pkt,
			 len);
	if (!m)
		goto drop;
	m->port = port;
	if (rte_ring_sp_enqueue(r->from_worker[w->idx], m) != 0) {
		rte_pktmbuf_free(m);
		goto drop;
	}
	w->tx_pkts++;
	dp_wake(&r->wake);
	return 0;
drop:
	w->tx_dropped++;
	return -1;
}

/* Give each rx/tx lcore its queues: queue q of every port to lcore
 * q % n_rxtx, and an epoll set when all of them can wake it. */
static int dp_assign_queues(struct dp_dataplane *dp)
{
	unsigned i, q;

	for (i = 0; i < dp->sh.n_rxtx; i++) {
		struct dp_rxtx *r = &dp->rxtx[i];
		struct epoll_event ev = { .events = EPOLLIN };

		r->epfd = epoll_create1(EPOLL_CLOEXEC);
		r->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (r->epfd < 0 || r->wake.fd < 0)
			return -1;
		ev.data.fd = r->wake.fd;
		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->wake.fd, &ev) < 0)
			return -1;
		r->can_sleep = true;
	}
	for (i = 0; i < dp->sh.n_ports; i++) {
		struct dp_port *p = dp->sh.ports[i];

		for (q = 0; q < p->n_rxq; q++) {
			struct dp_rxtx *r = &dp->rxtx[q % dp->sh.n_rxtx];
			struct epoll_event ev = { .events = EPOLLIN };
			int fd = p->ops->rx_wait_fd ? p->ops->rx_wait_fd(p, q) : -1;

			if (r->n_rxq == RTE_DIM(r->rxq))
				return -1;
			r->rxq[r->n_rxq].port = p;
			r->rxq[r->n_rxq].queue = (uint16_t)q;
			r->n_rxq++;
			ev.data.fd = fd;
			if (fd < 0 || epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
				r->can_sleep = false;
		}
	}
	for (i = 0; i < dp->sh.n_workers; i++) {
		dp->workers[i].idx = i;
		dp->workers[i].dp = dp;
		dp->sh.worker_wake[i].fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (dp->sh.worker_wake[i].fd < 0)
			return -1;
	}
	return 0;
}

int dp_dataplane_run(struct dp_dataplane *dp, volatile sig_atomic_t *stop,
		     volatile sig_atomic_t *dump, FILE *out)
{
	struct dp_lcore_arg args[DP_MAX_RXTX + DP_MAX_WORKERS];
	unsigned n_args = 0, lcore;
	uint32_t interval = dp->conf->admin.stats_interval_s;
	uint64_t next_stats = dp_now_ns() + interval * 1000000000ull;
	int rc = 0;

	dp->stop = stop;
	dp_tsc_init();
	if (dp_assign_queues(dp) < 0) {
		fprintf(stderr, "strata: cannot set up lcore wake-ups: %s\n",
			strerror(errno));
		return -1;
	}
	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct dp_lcore_arg *a = &args[n_args];
		int (*fn)(void *);

		if (n_args < dp->sh.n_rxtx) {
			a->idx = n_args;
			fn = dp_rxtx_main;
		} else if (n_args < dp->sh.n_rxtx + dp->sh.n_workers) {
			a->idx = n_args - dp->sh.n_rxtx;
			fn = dp_worker_main;
		} else {
			break;
		}
		a->dp = dp;
		if (rte_eal_remote_launch(fn, a, lcore) != 0) {
			fprintf(stderr, "strata: cannot launch lcore %u\n", lcore);
			*stop = 1;
			rc = -1;
			break;
		}
		n_args++;
	}
	if (n_args < dp->sh.n_rxtx + dp->sh.n_workers && rc == 0) {
		fprintf(stderr, "strata: EAL gave %u lcores, need %u\n", n_args,
			dp->sh.n_rxtx + dp->sh.n_workers);
		*stop = 1;
		rc = -1;
	}

	while (!*stop) {
		struct timespec ts = { 0, 50 * 1000000 };

		nanosleep(&ts, NULL);
		if (*dump || (interval && dp_now_ns() >= next_stats)) {
			*dump = 0;
			next_stats = dp_now_ns() + interval * 1000000000ull;
			dp_dataplane_print_stats(dp, out);
			fputc('\n', out);
			fflush(out);
		}
	}
	rte_eal_mp_wait_lcore();
	return rc;
}

/* The replay's inline worker: take what the rx/tx lcore rang over, let
 * it settle, and queue what it sent. */
static void dp_replay_worker(struct dp_dataplane *dp)
{
	struct dp_worker *w = &dp->workers[0];
	struct rte_mbuf *pkts[DP_BURST_MAX];
	unsigned n;

	if (!dp->sh.n_workers || !w->ctx)
		return;
	while ((n = rte_ring_sc_dequeue_burst(dp->sh.to_worker[0][0],
					      (void **)pkts, DP_BURST_MAX,
					      NULL)))
		dp_worker_input(dp, w, pkts, n);
	dp->wops.settle(w->ctx, (int)dp->conf->stack.connect_timeout_ms + 1000);
	while ((n = rte_ring_sc_dequeue_burst(dp->rxtx[0].from_worker[0],
					      (void **)pkts, DP_BURST_MAX,
					      NULL)))
		dp_lcore_tx_stack(dp->rxtx[0].lc, pkts, (uint16_t)n);
}

int dp_dataplane_replay(struct dp_dataplane *dp)
{
	struct dp_lcore *lc = dp->rxtx[0].lc;
	struct rte_mbuf *pkts[DP_BURST_MAX];
	uint16_t burst = RTE_MIN(dp->conf->mbuf.burst, DP_BURST_MAX);
	unsigned i;

	if (dp->has_wops && dp->sh.n_workers) {
		struct dp_worker *w = &dp->workers[0];

		w->dp = dp;
		w->ctx = dp->wops.start(dp->wops.arg, 0, w);
		if (!w->ctx)
			return -1;
	}
	for (;;) {
		bool more = false;

		for (i = 0; i < dp->sh.n_ports; i++) {
			struct dp_port *p = dp->sh.ports[i];
			uint16_t n = dp_port_rx_burst(p, 0, pkts, burst);

			if (n) {
				lc->now_ns = dp_port_pcap_now_ns(p);
				dp_lcore_rx(lc, pkts, n);
				dp_replay_worker(dp);
			}
			if (n || !dp_port_pcap_eof(p))
				more = true;
		}
		dp_lcore_flush(lc);
		dp_lcore_timers(lc);
		if (!more)
			break;
	}
	dp_replay_worker(dp);
	dp_lcore_flush(lc);
	dp_lcore_drain(lc);
	/* Capture records the backend could not deliver still count as
	 * received, and as dropped. */
	for (i = 0; i < dp->sh.n_ports; i++) {
		uint64_t skipped = dp_port_pcap_rx_skipped(dp->sh.ports[i]);

		lc->ctr.rx_pkts += skipped;
		lc->ctr.disp[DP_DISP_DROPPED] += skipped;
		lc->ctr.drops[DP_DROP_PCAP_UNUSABLE] += skipped;
	}
	lc->ctr.flows_active = 0;
	return 0;
}
