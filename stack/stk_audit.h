/* The audit log: one JSON line per finished proxied flow.
 *
 * Workers never write files: each pushes lines into its own lock-free
 * single-producer queue, and a writer thread drains the queues to the
 * file. A full queue or a failed write is counted, never waited for. */
#ifndef STRATA_STK_AUDIT_H
#define STRATA_STK_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stk_audit;

/* path "-" is standard output. NULL with a reason in err on failure. */
struct stk_audit *stk_audit_open(const char *path, unsigned n_queues,
				 char *err, size_t errlen);
/* Write what is queued and stop the writer. */
void stk_audit_close(struct stk_audit *a);

/* Queue a malloc'ed line for queue q (one producer per queue); takes it
 * either way. False when the queue was full (the line is dropped). */
bool stk_audit_push(struct stk_audit *a, unsigned q, char *line);

/* Lines lost to write errors so far. */
uint64_t stk_audit_write_errors(const struct stk_audit *a);

#endif
