/* Per-thread caches of STK_BUF_SIZE buffers and of small objects. See
 * stk_buf.h. */
#include "stk_buf.h"

#include <stdlib.h>
#include <string.h>

/* 64 x 16 KiB: what a busy worker takes and returns within a pass. */
#define STK_BUF_CACHE_MAX 64

#ifndef STK_BUF_NO_CACHE
static __thread void *stk_buf_cache[STK_BUF_CACHE_MAX];
static __thread unsigned stk_buf_cached;
static __thread struct stk_cache *stk_caches;
#endif

void *stk_buf_get(size_t size)
{
#ifndef STK_BUF_NO_CACHE
	if (size == STK_BUF_SIZE && stk_buf_cached)
		return stk_buf_cache[--stk_buf_cached];
#endif
	return malloc(size);
}

void stk_buf_put(void *b, size_t size)
{
#ifndef STK_BUF_NO_CACHE
	if (b && size == STK_BUF_SIZE && stk_buf_cached < STK_BUF_CACHE_MAX) {
		stk_buf_cache[stk_buf_cached++] = b;
		return;
	}
#else
	(void)size;
#endif
	free(b);
}

void stk_buf_cache_drain(void)
{
#ifndef STK_BUF_NO_CACHE
	while (stk_buf_cached)
		free(stk_buf_cache[--stk_buf_cached]);
	for (struct stk_cache *c = stk_caches; c; c = c->next) {
		while (c->free) {
			void *o = c->free;

			memcpy(&c->free, o, sizeof(void *));
			free(o);
		}
		c->n = 0;
	}
#endif
}

void *stk_cache_get(struct stk_cache *c, size_t size)
{
#ifndef STK_BUF_NO_CACHE
	if (size == c->size && c->free) {
		void *o = c->free;

		memcpy(&c->free, o, sizeof(void *));
		c->n--;
		return memset(o, 0, size);
	}
#else
	(void)c;
#endif
	return calloc(1, size);
}

void stk_cache_put(struct stk_cache *c, void *o, size_t size)
{
#ifndef STK_BUF_NO_CACHE
	if (o && !c->size)
		c->size = size;
	if (o && size == c->size && size >= sizeof(void *) && c->n < c->max) {
		if (!c->linked) {
			c->linked = true;
			c->next = stk_caches;
			stk_caches = c;
		}
		memcpy(o, &c->free, sizeof(void *));
		c->free = o;
		c->n++;
		return;
	}
#else
	(void)c;
	(void)size;
#endif
	free(o);
}
