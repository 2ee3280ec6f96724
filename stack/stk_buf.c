/* Per-thread cache of STK_BUF_SIZE buffers. See stk_buf.h. */
#include "stk_buf.h"

#include <stdlib.h>

/* 64 x 16 KiB: what a busy worker takes and returns within a pass. */
#define STK_BUF_CACHE_MAX 64

#ifndef STK_BUF_NO_CACHE
static __thread void *stk_buf_cache[STK_BUF_CACHE_MAX];
static __thread unsigned stk_buf_cached;
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
#endif
}
