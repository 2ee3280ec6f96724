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

#include <stddef.h>

#define STK_BUF_SIZE 16384

/* size bytes, NULL when out of memory. */
void *stk_buf_get(size_t size);
/* Give back b (NULL is fine) of the size it was taken with. */
void stk_buf_put(void *b, size_t size);
/* Free this thread's cached buffers (before the thread ends). */
void stk_buf_cache_drain(void);

#endif
