/* Happy eyeballs over any connector. See stk_connect.h. */
#include "stk_connect.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "stk_stream_sock.h"

struct stk_attempt {
	struct stk_connect *c;
	struct stk_stream *s;       /* NULL: not started or finished */
	bool failed;
};

struct stk_connect {
	struct stk_loop *loop;
	struct sockaddr_storage addr[STK_CONNECT_MAX];
	struct stk_attempt at[STK_CONNECT_MAX];
	unsigned n, next;           /* next attempt to start */
	unsigned running;
	uint64_t delay_ns, next_ns;
	struct stk_connector via;
	int last_err;
	stk_connect_cb cb;
	void *arg;
	bool busy;                  /* inside start/tick: defer the end */
	bool done;
};

static void stk_connect_free_if_done(struct stk_connect *c)
{
	if (c->done && !c->busy)
		free(c);
}

static void stk_connect_finish(struct stk_connect *c, struct stk_stream *won,
			       unsigned idx)
{
	stk_connect_cb cb = c->cb;

	for (unsigned i = 0; i < c->n; i++) {
		if (c->at[i].s && c->at[i].s != won)
			stk_close(c->at[i].s);
		c->at[i].s = NULL;
	}
	c->done = true;
	if (cb) {
		if (won)
			stk_stream_set_cb(won, NULL, NULL);
		cb(c->arg, won, won ? 0 : c->last_err,
		   won ? &c->addr[idx] : NULL);
	}
}

static void stk_connect_start_next(struct stk_connect *c);

static void stk_attempt_event(struct stk_stream *s, unsigned ev, void *arg)
{
	struct stk_attempt *a = arg;
	struct stk_connect *c = a->c;

	if (c->done)
		return;
	if (ev & STK_EV_ERROR) {
		c->last_err = s->error ? s->error : ECONNREFUSED;
		stk_close(s);
		a->s = NULL;
		a->failed = true;
		c->running--;
		/* a failure starts the next address at once */
		stk_connect_start_next(c);
		if (!c->running && c->next >= c->n && !c->done)
			stk_connect_finish(c, NULL, 0);
		stk_connect_free_if_done(c);
		return;
	}
	if (ev & STK_EV_CONNECTED) {
		stk_connect_finish(c, s, (unsigned)(a - c->at));
		stk_connect_free_if_done(c);
	}
}

struct stk_stream *stk_connect_kernel(void *bind_dev, struct stk_loop *l,
				      const struct sockaddr_storage *addr,
				      int *err)
{
	socklen_t len = addr->ss_family == AF_INET6 ?
		sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

	return stk_sock_connect(l, (const struct sockaddr *)addr, len,
				bind_dev, err);
}

static void stk_connect_start_next(struct stk_connect *c)
{
	while (c->next < c->n && !c->done) {
		unsigned i = c->next++;
		struct stk_attempt *a = &c->at[i];
		int err = 0;

		a->c = c;
		a->s = c->via.open(c->via.ctx, c->loop, &c->addr[i], &err);
		if (!a->s) {
			/* refused at once (no route...): try the next now */
			c->last_err = err;
			a->failed = true;
			continue;
		}
		stk_stream_set_cb(a->s, stk_attempt_event, a);
		c->running++;
		c->next_ns = c->loop->now_ns + c->delay_ns;
		return;
	}
}

/* RFC 8305 section 4: alternate families, starting with IPv6. */
static void stk_connect_order(struct stk_connect *c,
			      const struct sockaddr_storage *in, unsigned n,
			      uint16_t port)
{
	unsigned i6 = 0, i4 = 0, k = 0;
	bool want6 = true;

	while (k < n) {
		const struct sockaddr_storage *pick = NULL;
		int fam = want6 ? AF_INET6 : AF_INET;
		unsigned *idx = want6 ? &i6 : &i4;

		while (*idx < n && in[*idx].ss_family != fam)
			(*idx)++;
		if (*idx < n)
			pick = &in[(*idx)++];
		want6 = !want6;
		if (!pick) {
			/* this family is used up: take the rest of the other */
			unsigned *o = want6 ? &i6 : &i4;
			int of = want6 ? AF_INET6 : AF_INET;

			while (*o < n && in[*o].ss_family != of)
				(*o)++;
			if (*o >= n)
				break;
			pick = &in[(*o)++];
		}
		c->addr[k] = *pick;
		if (pick->ss_family == AF_INET6)
			((struct sockaddr_in6 *)&c->addr[k])->sin6_port = htons(port);
		else
			((struct sockaddr_in *)&c->addr[k])->sin_port = htons(port);
		k++;
	}
	c->n = k;
}

struct stk_connect *stk_connect_start(struct stk_loop *l,
				      const struct sockaddr_storage *addrs,
				      unsigned n, uint16_t port,
				      const struct stk_connector *via,
				      uint32_t attempt_delay_ms,
				      stk_connect_cb cb, void *arg)
{
	struct stk_connect *c = calloc(1, sizeof(*c));

	if (!c) {
		cb(arg, NULL, ENOMEM, NULL);
		return NULL;
	}
	if (n > STK_CONNECT_MAX)
		n = STK_CONNECT_MAX;
	c->loop = l;
	c->delay_ns = attempt_delay_ms * 1000000ull;
	c->cb = cb;
	c->arg = arg;
	c->last_err = EHOSTUNREACH;
	c->via = *via;
	stk_connect_order(c, addrs, n, port);
	c->busy = true;
	stk_connect_start_next(c);
	if (!c->running && !c->done)
		stk_connect_finish(c, NULL, 0);
	c->busy = false;
	if (c->done) {
		free(c);
		return NULL;
	}
	return c;
}

int stk_connect_tick(struct stk_connect *c, uint64_t now_ns)
{
	if (c->next >= c->n)
		return -1;
	if (now_ns >= c->next_ns) {
		c->busy = true;
		stk_connect_start_next(c);
		if (!c->running && c->next >= c->n && !c->done)
			stk_connect_finish(c, NULL, 0);
		c->busy = false;
		if (c->done) {
			free(c);
			return -1;
		}
		if (c->next >= c->n)
			return -1;
	}
	return (int)((c->next_ns - now_ns) / 1000000ull) + 1;
}

void stk_connect_cancel(struct stk_connect *c)
{
	if (!c)
		return;
	c->cb = NULL;
	stk_connect_finish(c, NULL, 0);
	stk_connect_free_if_done(c);
}
