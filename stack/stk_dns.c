/* Resolution with c-ares on the worker's loop, and its cache. */
#include "stk_dns.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

#define STK_DNS_FDS 16

/* One cached name: direct-mapped by hash, a collision replaces. */
struct stk_dns_entry {
	char name[256];
	uint64_t expires_ns;
	unsigned n;                    /* 0: a negative entry */
	struct sockaddr_storage addr[STK_DNS_MAX_ADDRS];
};

struct stk_dns_query {
	struct stk_dns *d;
	stk_dns_cb cb;                 /* NULL once cancelled */
	void *arg;
	char name[256];
};

struct stk_dns_fd {
	struct stk_loop_fd lfd;        /* fd -1 when free */
	struct stk_dns *d;
};

struct stk_dns {
	struct stk_loop *loop;
	ares_channel ch;
	struct stk_dns_fd fds[STK_DNS_FDS];
	struct stk_dns_entry *cache;
	uint32_t cache_size;
	uint64_t negative_ns, max_ttl_ns;
	struct stk_dns_counters ctr;
};

static uint32_t stk_dns_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)(*s | 0x20)) * 16777619u; /* case-blind */
	return h;
}

static struct stk_dns_entry *stk_dns_slot(struct stk_dns *d, const char *name)
{
	return &d->cache[stk_dns_hash(name) % d->cache_size];
}

/* ---- c-ares sockets on the loop ---- */

static void stk_dns_fd_event(struct stk_loop_fd *lfd, uint32_t ev)
{
	struct stk_dns_fd *f = (struct stk_dns_fd *)lfd;
	int fd = lfd->fd;

	ares_process_fd(f->d->ch,
			ev & (EPOLLIN | EPOLLERR | EPOLLHUP) ? fd : ARES_SOCKET_BAD,
			ev & EPOLLOUT ? fd : ARES_SOCKET_BAD);
}

static void stk_dns_sock_state(void *data, ares_socket_t fd, int readable,
			       int writable)
{
	struct stk_dns *d = data;
	struct stk_dns_fd *f = NULL, *free_slot = NULL;
	uint32_t ev = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);

	for (unsigned i = 0; i < STK_DNS_FDS; i++) {
		if (d->fds[i].lfd.fd == fd)
			f = &d->fds[i];
		else if (d->fds[i].lfd.fd < 0 && !free_slot)
			free_slot = &d->fds[i];
	}
	if (!ev) {
		if (f) {
			stk_loop_del(d->loop, &f->lfd);
			f->lfd.fd = -1;
		}
		return;
	}
	if (f) {
		stk_loop_watch(d->loop, &f->lfd, ev, true);
		return;
	}
	if (!free_slot)
		return; /* c-ares times the query out; counted as a failure */
	free_slot->lfd.fd = fd;
	if (stk_loop_watch(d->loop, &free_slot->lfd, ev, false) < 0)
		free_slot->lfd.fd = -1;
}

/* ---- queries ---- */

static void stk_dns_store(struct stk_dns *d, const char *name,
			  const struct stk_dns_answer *a, uint64_t ttl_ns)
{
	struct stk_dns_entry *e = stk_dns_slot(d, name);

	snprintf(e->name, sizeof(e->name), "%s", name);
	e->n = a->n;
	memcpy(e->addr, a->addr, sizeof(a->addr[0]) * a->n);
	e->expires_ns = d->loop->now_ns + ttl_ns;
}

static void stk_dns_done(void *arg, int status, int timeouts,
			 struct ares_addrinfo *res)
{
	struct stk_dns_query *q = arg;
	struct stk_dns *d = q->d;
	struct stk_dns_answer a = { 0 };
	uint64_t ttl = d->max_ttl_ns;

	if (status == ARES_SUCCESS && res) {
		for (struct ares_addrinfo_node *n = res->nodes;
		     n && a.n < STK_DNS_MAX_ADDRS; n = n->ai_next) {
			if ((n->ai_family != AF_INET && n->ai_family != AF_INET6) ||
			    n->ai_addrlen > sizeof(a.addr[0]))
				continue;
			memcpy(&a.addr[a.n++], n->ai_addr, n->ai_addrlen);
			if (n->ai_ttl >= 0 &&
			    (uint64_t)n->ai_ttl * 1000000000ull < ttl)
				ttl = (uint64_t)n->ai_ttl * 1000000000ull;
		}
	}
	if (res)
		ares_freeaddrinfo(res);
	if (a.n) {
		d->ctr.answers++;
		stk_dns_store(d, q->name, &a, ttl);
	} else {
		d->ctr.failures++;
		a.error = status == ARES_SUCCESS ? "no address" :
			  ares_strerror(status);
		/* the channel going away is no answer about the name */
		if (status != ARES_EDESTRUCTION && status != ARES_ECANCELLED &&
		    d->negative_ns)
			stk_dns_store(d, q->name, &a, d->negative_ns);
	}
	if (q->cb)
		q->cb(q->arg, &a);
	free(q);
}

struct stk_dns_query *stk_dns_resolve(struct stk_dns *d, const char *name,
				      stk_dns_cb cb, void *arg, int *done)
{
	struct stk_dns_entry *e = stk_dns_slot(d, name);
	struct ares_addrinfo_hints hints = { .ai_family = AF_UNSPEC,
					     .ai_socktype = SOCK_STREAM };
	struct stk_dns_query *q;
	struct stk_dns_answer a;

	*done = 0;
	d->ctr.queries++;
	if (e->name[0] && !strcasecmp(e->name, name) &&
	    d->loop->now_ns < e->expires_ns) {
		memset(&a, 0, sizeof(a));
		a.n = e->n;
		memcpy(a.addr, e->addr, sizeof(a.addr[0]) * e->n);
		a.from_cache = 1;
		a.error = e->n ? NULL : "failed recently (negative cache)";
		if (e->n)
			d->ctr.cache_hits++;
		else
			d->ctr.negative_hits++;
		*done = 1;
		cb(arg, &a);
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->d = d;
	q->cb = cb;
	q->arg = arg;
	snprintf(q->name, sizeof(q->name), "%s", name);
	/* may call stk_dns_done at once (bad name, no servers) */
	ares_getaddrinfo(d->ch, name, NULL, &hints, stk_dns_done, q);
	return q;
}

void stk_dns_cancel(struct stk_dns_query *q)
{
	if (q)
		q->cb = NULL;
}

void stk_dns_poll(struct stk_dns *d)
{
	ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

const struct stk_dns_counters *stk_dns_counters(const struct stk_dns *d)
{
	return &d->ctr;
}

/* "ip", "ip:port", "[ip6]:port" -> c-ares' CSV form. */
static int stk_dns_servers(struct stk_dns *d, const struct conf *c, char *err,
			   size_t errlen)
{
	char csv[CONF_MAX_DNS * 72] = "";
	size_t off = 0;

	if (!c->dns.n_servers)
		return 0;
	for (unsigned i = 0; i < c->dns.n_servers; i++) {
		const char *s = c->dns.servers[i];
		char host[64];
		struct in6_addr a6;

		/* a bare IPv6 address needs brackets once a port may follow */
		if (inet_pton(AF_INET6, s, &a6) == 1)
			snprintf(host, sizeof(host), "[%s]", s);
		else
			snprintf(host, sizeof(host), "%s", s);
		off += (size_t)snprintf(csv + off, sizeof(csv) - off, "%s%s",
					i ? "," : "", host);
	}
	if (ares_set_servers_ports_csv(d->ch, csv) != ARES_SUCCESS) {
		snprintf(err, errlen, "dns.servers: c-ares cannot use \"%s\"",
			 csv);
		return -1;
	}
	return 0;
}

struct stk_dns *stk_dns_create(struct stk_loop *l, const struct conf *c,
			       char *err, size_t errlen)
{
	struct stk_dns *d = calloc(1, sizeof(*d));
	struct ares_options o;
	int rc;

	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->loop = l;
	d->cache_size = c->dns.cache_size;
	d->cache = calloc(d->cache_size, sizeof(*d->cache));
	d->negative_ns = c->dns.negative_ttl_s * 1000000000ull;
	d->max_ttl_ns = c->dns.max_ttl_s * 1000000000ull;
	for (unsigned i = 0; i < STK_DNS_FDS; i++) {
		d->fds[i].lfd.fd = -1;
		d->fds[i].lfd.fn = stk_dns_fd_event;
		d->fds[i].d = d;
	}
	if (!d->cache) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	memset(&o, 0, sizeof(o));
	o.sock_state_cb = stk_dns_sock_state;
	o.sock_state_cb_data = d;
	o.timeout = (int)c->dns.timeout_ms;
	o.tries = (int)c->dns.tries;
	rc = ares_init_options(&d->ch, &o, ARES_OPT_SOCK_STATE_CB |
			       ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "dns: %s", ares_strerror(rc));
		goto fail;
	}
	if (stk_dns_servers(d, c, err, errlen) < 0) {
		ares_destroy(d->ch);
		goto fail;
	}
	return d;
fail:
	free(d->cache);
	free(d);
	return NULL;
}

void stk_dns_destroy(struct stk_dns *d)
{
	if (!d)
		return;
	ares_destroy(d->ch); /* pending queries end with ARES_EDESTRUCTION */
	free(d->cache);
	free(d);
}
