/* The HTTP proxy: endpoints (listeners with TLS, PROXY protocol, HTTP/1.1
 * and HTTP/2), the http_* hooks, reverse proxying to upstream pools,
 * forward proxying (CONNECT, absolute-form), and strata's own answers.
 * It runs as a service on every worker (stk_worker.h), on the worker's
 * loop, beside the L4 proxy. */
#ifndef STRATA_L7_PROXY_H
#define STRATA_L7_PROXY_H

#include <stddef.h>

struct conf;
struct stk_runtime;

struct l7_runtime;

/* When c has endpoints: load TLS material (errors name the file), and
 * register the service on rt's workers. *out is NULL when there is
 * nothing to do. 0, or -1 with a message in err. */
int l7_proxy_setup(struct stk_runtime *rt, const struct conf *c,
		   struct l7_runtime **out, char *err, size_t errlen);
/* After the workers stopped. */
void l7_proxy_teardown(struct l7_runtime *l7);

#endif
