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

/* The callbacks that run the stack on each worker. */
void stk_worker_ops(struct stk_runtime *rt, struct dp_worker_ops *ops);

#endif
