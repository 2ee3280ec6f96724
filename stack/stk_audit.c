/* Audit log writer. See stk_audit.h. */
#include "stk_audit.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STK_AUDIT_SLOTS 4096 /* per queue, a power of two */

struct stk_audit_queue {
	char *slot[STK_AUDIT_SLOTS];
	_Atomic uint32_t head; /* next to write (producer) */
	_Atomic uint32_t tail; /* next to read (writer thread) */
};

struct stk_audit {
	FILE *out;
	bool own_out;
	pthread_t thread;
	_Atomic bool stop;
	_Atomic uint64_t write_errors;
	unsigned n_queues;
	struct stk_audit_queue q[];
};

bool stk_audit_push(struct stk_audit *a, unsigned q, char *line)
{
	struct stk_audit_queue *qu = &a->q[q % a->n_queues];
	uint32_t h = atomic_load_explicit(&qu->head, memory_order_relaxed);
	uint32_t t = atomic_load_explicit(&qu->tail, memory_order_acquire);

	if (h - t >= STK_AUDIT_SLOTS) {
		free(line);
		return false;
	}
	qu->slot[h % STK_AUDIT_SLOTS] = line;
	atomic_store_explicit(&qu->head, h + 1, memory_order_release);
	return true;
}

static unsigned stk_audit_drain(struct stk_audit *a)
{
	unsigned n = 0;

	for (unsigned i = 0; i < a->n_queues; i++) {
		struct stk_audit_queue *qu = &a->q[i];
		uint32_t t = atomic_load_explicit(&qu->tail, memory_order_relaxed);
		uint32_t h = atomic_load_explicit(&qu->head, memory_order_acquire);

		for (; t != h; t++, n++) {
			char *line = qu->slot[t % STK_AUDIT_SLOTS];

			if (fputs(line, a->out) < 0 || fputc('\n', a->out) < 0)
				atomic_fetch_add(&a->write_errors, 1);
			free(line);
		}
		atomic_store_explicit(&qu->tail, t, memory_order_release);
	}
	if (n && fflush(a->out) != 0)
		atomic_fetch_add(&a->write_errors, 1);
	return n;
}

static void *stk_audit_main(void *arg)
{
	struct stk_audit *a = arg;
	struct timespec ts = { 0, 50 * 1000000 };

	while (!atomic_load(&a->stop)) {
		if (!stk_audit_drain(a))
			nanosleep(&ts, NULL);
	}
	stk_audit_drain(a);
	return NULL;
}

struct stk_audit *stk_audit_open(const char *path, unsigned n_queues,
				 char *err, size_t errlen)
{
	struct stk_audit *a;

	if (!n_queues)
		n_queues = 1;
	a = calloc(1, sizeof(*a) + n_queues * sizeof(a->q[0]));
	if (!a) {
		snprintf(err, errlen, "audit: out of memory");
		return NULL;
	}
	a->n_queues = n_queues;
	if (!strcmp(path, "-")) {
		a->out = stdout;
	} else {
		a->out = fopen(path, "ae");
		a->own_out = true;
	}
	if (!a->out) {
		snprintf(err, errlen, "audit.path: cannot open %s: %s", path,
			 strerror(errno));
		free(a);
		return NULL;
	}
	if (pthread_create(&a->thread, NULL, stk_audit_main, a) != 0) {
		snprintf(err, errlen, "audit: cannot start the writer thread");
		if (a->own_out)
			fclose(a->out);
		free(a);
		return NULL;
	}
	return a;
}

void stk_audit_close(struct stk_audit *a)
{
	if (!a)
		return;
	atomic_store(&a->stop, true);
	pthread_join(a->thread, NULL);
	if (a->own_out)
		fclose(a->out);
	free(a);
}

uint64_t stk_audit_write_errors(const struct stk_audit *a)
{
	return atomic_load(&((struct stk_audit *)a)->write_errors);
}
