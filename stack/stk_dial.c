/* Outbound TCP by name: DNS, then happy eyeballs, under a deadline.
 * See stk_dial.h. */
#include "stk_dial.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stk_connect.h"

struct stk_dial {
	struct stk_dialer *d;
	struct stk_dial *next, *prev;
	struct stk_dns_query *q;
	struct stk_connect *conn;
	uint64_t deadline_ns;
	uint16_t port;
	bool resolving;        /* inside stk_dns_resolve */
	bool done;             /* cb called (or cancelled) during start */
	stk_dial_cb cb;
	void *arg;
};

struct stk_dialer {
	struct stk_loop *loop;
	struct stk_dns *dns;
	struct stk_connector via;
	uint32_t attempt_delay_ms;
	struct stk_dial *list;
};

struct stk_dialer *stk_dialer_create(struct stk_loop *l, struct stk_dns *dns,
				     const struct stk_connector *via,
				     uint32_t attempt_delay_ms)
{
	struct stk_dialer *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->loop = l;
	d->dns = dns;
	d->via = *via;
	d->attempt_delay_ms = attempt_delay_ms;
	return d;
}

static void stk_dial_unlink(struct stk_dial *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		x->d->list = x->next;
	if (x->next)
		x->next->prev = x->prev;
}

/* Report and free. */
static void stk_dial_finish(struct stk_dial *x, struct stk_stream *s, int err,
			    const struct sockaddr_storage *used)
{
	stk_dial_cb cb = x->cb;
	void *arg = x->arg;

	stk_dial_unlink(x);
	x->done = true;
	if (!x->resolving)
		free(x);
	cb(arg, s, err, used);
}

static void stk_dial_connected(void *arg, struct stk_stream *s, int err,
			       const struct sockaddr_storage *used)
{
	struct stk_dial *x = arg;

	x->conn = NULL;
	stk_dial_finish(x, s, s ? 0 : err, used);
}

static void stk_dial_addrs(struct stk_dial *x,
			   const struct sockaddr_storage *addrs, unsigned n)
{
	struct stk_dialer *d = x->d;

	x->conn = stk_connect_start(d->loop, addrs, n, x->port, &d->via,
				    d->attempt_delay_ms, stk_dial_connected,
				    x);
	/* NULL: stk_dial_connected already ran. */
}

static void stk_dial_resolved(void *arg, const struct stk_dns_answer *a)
{
	struct stk_dial *x = arg;

	x->q = NULL;
	if (!a->n) {
		stk_dial_finish(x, NULL, ENOENT, NULL);
		return;
	}
	stk_dial_addrs(x, a->addr, a->n);
}

struct stk_dial *stk_dial_start(struct stk_dialer *d, const char *host,
				uint16_t port, uint32_t timeout_ms,
				stk_dial_cb cb, void *arg)
{
	struct stk_dial *x = calloc(1, sizeof(*x));
	struct sockaddr_storage ss;
	int done = 0;

	if (!x) {
		cb(arg, NULL, ENOMEM, NULL);
		return NULL;
	}
	x->d = d;
	x->port = port;
	x->cb = cb;
	x->arg = arg;
	x->deadline_ns = d->loop->now_ns + timeout_ms * 1000000ull;
	x->next = d->list;
	if (d->list)
		d->list->prev = x;
	d->list = x;
	memset(&ss, 0, sizeof(ss));
	x->resolving = true;
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		stk_dial_addrs(x, &ss, 1);
	} else if (inet_pton(AF_INET6, host,
			     &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		stk_dial_addrs(x, &ss, 1);
	} else {
		x->q = stk_dns_resolve(d->dns, host, stk_dial_resolved, x,
				       &done);
		if (!x->q && !done && !x->done)
			stk_dial_finish(x, NULL, ENOMEM, NULL);
	}
	x->resolving = false;
	if (x->done) {
		free(x);
		return NULL;
	}
	return x;
}

void stk_dial_cancel(struct stk_dial *x)
{
	if (!x)
		return;
	if (x->q)
		stk_dns_cancel(x->q);
	if (x->conn)
		stk_connect_cancel(x->conn);
	stk_dial_unlink(x);
	free(x);
}

int stk_dialer_poll(struct stk_dialer *d, uint64_t now_ns)
{
	int next = -1;

	for (struct stk_dial *x = d->list, *n; x; x = n) {
		n = x->next;
		if (now_ns >= x->deadline_ns) {
			if (x->q)
				stk_dns_cancel(x->q);
			if (x->conn)
				stk_connect_cancel(x->conn);
			x->q = NULL;
			x->conn = NULL;
			/* the callback may cancel other dials: restart */
			stk_dial_finish(x, NULL, ETIMEDOUT, NULL);
			return 0;
		}
		if (x->conn) {
			int ms = stk_connect_tick(x->conn, now_ns);

			if (ms >= 0 && (next < 0 || ms < next))
				next = ms;
		}
		{
			int ms = (int)((x->deadline_ns - now_ns) / 1000000ull) + 1;

			if (next < 0 || ms < next)
				next = ms;
		}
	}
	return next;
}

void stk_dialer_destroy(struct stk_dialer *d)
{
	if (!d)
		return;
	while (d->list)
		stk_dial_cancel(d->list);
	free(d);
}
