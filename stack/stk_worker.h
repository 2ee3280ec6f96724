/* The stack on worker lcores: one private lwIP instance, one event loop
 * and one L4 proxy per worker, driven through dp_worker_ops. A worker
 * owns the flows the rx/tx lcores hash to it, so no stack state is
 * shared between workers. */
#ifndef STRATA_STK_WORKER_H
#define STRATA_STK_WORKER_H

#include <stddef.h>

struct conf;
struct dp_worker_ops;
struct stk_runtime;

/* Process-wide parts (the audit log). NULL with a reason on failure. */
struct stk_runtime *stk_runtime_create(const struct conf *c, char *err,
				       size_t errlen);
void stk_runtime_destroy(struct stk_runtime *rt);

/* A service that runs on every worker beside the L4 proxy, on the same
 * loop and under the same lock (the HTTP proxy of l7/ is one). */
struct stk_proxy;
struct stk_loop;
struct stk_worker_env {
	unsigned idx, n_workers;
	struct stk_loop *loop;
	struct stk_proxy *proxy;    /* stk_proxy_listen, stk_proxy_dialer */
	const struct conf *conf;
};

typedef struct json_t json_t;
struct stk_service {
	const char *name;           /* its key in the worker's stats */
	/* NULL on failure (the worker then stops with an error). */
	void *(*start)(void *arg, const struct stk_worker_env *env);
	/* After each batch of work; ms until it wants to run again. */
	int (*poll)(void *ctx);
	void (*stop)(void *ctx);
	void (*stats)(void *ctx, json_t *obj);
	void *arg;
};

/* Before the workers start; at most STK_MAX_SERVICES. 0 or -1. */
#define STK_MAX_SERVICES 4
int stk_runtime_add_service(struct stk_runtime *rt,
			    const struct stk_service *s);

/* The callbacks that run the stack on each worker. */
void stk_worker_ops(struct stk_runtime *rt, struct dp_worker_ops *ops);

#endif
