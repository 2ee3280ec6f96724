/* Name resolution for a worker: c-ares driven by the worker's epoll loop
 * (never blocking), with a bounded cache that honours record TTLs and
 * keeps failures for a configured negative time.
 *
 * Resolvers come from config (dns.servers, tried in order: c-ares moves
 * to the next one when one times out or fails) or, when none are given,
 * from /etc/resolv.conf. */
#ifndef STRATA_STK_DNS_H
#define STRATA_STK_DNS_H

#include <stdint.h>
#include <sys/socket.h>

#include "stk_loop.h"

#define STK_DNS_MAX_ADDRS 8

struct conf;
struct stk_dns;
struct stk_dns_query;

struct stk_dns_answer {
	unsigned n;                                /* 0: failed */
	struct sockaddr_storage addr[STK_DNS_MAX_ADDRS]; /* port 0 */
	const char *error;                         /* when n == 0 */
	int from_cache;
};

/* Called once per query, unless cancelled; a may be on the stack. */
typedef void (*stk_dns_cb)(void *arg, const struct stk_dns_answer *a);

struct stk_dns_counters {
	uint64_t queries, cache_hits, negative_hits, answers, failures;
};

struct stk_dns *stk_dns_create(struct stk_loop *l, const struct conf *c,
			       char *err, size_t errlen);
void stk_dns_destroy(struct stk_dns *d);

/* Resolve name (A and AAAA). A cached answer calls cb before this
 * returns (and NULL is returned); otherwise the query handle is
 * returned, for stk_dns_cancel. NULL and cb not called only when out of
 * memory: the caller then treats it as a failure. */
struct stk_dns_query *stk_dns_resolve(struct stk_dns *d, const char *name,
				      stk_dns_cb cb, void *arg, int *done);
/* The callback will not be called. */
void stk_dns_cancel(struct stk_dns_query *q);

/* c-ares timeouts; call every few tens of ms. */
void stk_dns_poll(struct stk_dns *d);

const struct stk_dns_counters *stk_dns_counters(const struct stk_dns *d);

#endif
