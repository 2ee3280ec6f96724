/* Data-path buffers of STK_BUF_SIZE bytes from a small per-thread cache.
 *
 * The data path takes such a buffer and gives it back within a request
 * or two (a tunnel's copy buffer, a socket's held output, HTTP/2 frames
 * on their way out), and malloc of blocks this big goes through glibc's
 * bins and consolidation every time. Other sizes, and every size in
 * sanitizer builds (STK_BUF_NO_CACHE, so the sanitizers see each
 * object), are plain malloc and free. */
#ifndef STRATA_STK_BUF_H
#define STRATA_STK_BUF_H

#include <stdbool.h>
#include <stddef.h>

#define STK_BUF_SIZE 16384

/* size bytes, NULL when out of memory. */
void *stk_buf_get(size_t size);
/* Give back b (NULL is fine) of the size it was taken with. */
void stk_buf_put(void *b, size_t size);
/* Free this thread's cached buffers and the objects of its stk_caches
 * (before the thread ends). */
void stk_buf_cache_drain(void);

/* A per-thread cache of zeroed objects of one size, for the per-request
 * objects of the data path (exchanges, streams, head blocks): declare
 * one per type beside its user, static __thread, with STK_CACHE_INIT.
 * Size 0 takes the size of the first object given back (sizes known at
 * run time). Objects of another size than the cache's, and all of them
 * in sanitizer builds, are plain calloc and free. */
struct stk_cache {
	size_t size;
	unsigned max, n;
	void *free;              /* linked through each object's first word */
	struct stk_cache *next;  /* this thread's caches, for the drain */
	bool linked;
};

#define STK_CACHE_INIT(size_, max_) { .size = (size_), .max = (max_) }

/* size bytes, zeroed; NULL when out of memory. */
void *stk_cache_get(struct stk_cache *c, size_t size);
/* Give back o (NULL is fine) of the size it was taken with. */
void stk_cache_put(struct stk_cache *c, void *o, size_t size);

#endif
