/* Per-thread caches (stk_buf): objects come back zeroed whatever was
 * left in them, a cache keeps no more than its max, other sizes bypass
 * it, a size-0 cache takes the first size given back, and the drain
 * empties every cache of the thread. Without caching (sanitizer builds)
 * the same calls are plain calloc and free, and only the reuse checks
 * are left out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stack/stk_buf.h"

#define OBJ 48

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void test_reuse_zeroed(void **state)
{
	static __thread struct stk_cache c = STK_CACHE_INIT(OBJ, 4);
	uint8_t *a = stk_cache_get(&c, OBJ), *b;

	(void)state;
	assert_non_null(a);
	assert_true(all_zero(a, OBJ));
	memset(a, 0xab, OBJ);
	stk_cache_put(&c, a, OBJ);
	b = stk_cache_get(&c, OBJ);
	assert_non_null(b);
	assert_true(all_zero(b, OBJ));
#ifndef STK_BUF_NO_CACHE
	assert_ptr_equal(a, b);
	assert_int_equal(c.n, 0);
#endif
	stk_cache_put(&c, b, OBJ);
	stk_buf_cache_drain();
	assert_int_equal(c.n, 0);
	assert_null(c.free);
}

static void test_bounded_and_sizes(void **state)
{
	static __thread struct stk_cache c = STK_CACHE_INIT(OBJ, 2);
	void *o[3], *other;

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_non_null(o[i] = stk_cache_get(&c, OBJ));
	other = stk_cache_get(&c, OBJ * 2);
	assert_non_null(other);
	assert_true(all_zero(other, OBJ * 2));
	stk_cache_put(&c, other, OBJ * 2); /* another size: freed */
	for (int i = 0; i < 3; i++)
		stk_cache_put(&c, o[i], OBJ);
#ifndef STK_BUF_NO_CACHE
	assert_int_equal(c.n, 2);
#endif
	stk_cache_put(&c, NULL, OBJ);
	stk_buf_cache_drain();
	assert_int_equal(c.n, 0);
}

static void test_size_from_first_put(void **state)
{
	static __thread struct stk_cache c = STK_CACHE_INIT(0, 4);
	void *a = stk_cache_get(&c, 40), *b;

	(void)state;
	assert_non_null(a);
	stk_cache_put(&c, a, 40);
#ifndef STK_BUF_NO_CACHE
	assert_int_equal(c.size, 40);
	assert_int_equal(c.n, 1);
#endif
	b = stk_cache_get(&c, 40);
	assert_non_null(b);
	assert_true(all_zero(b, 40));
	stk_cache_put(&c, b, 40);
	stk_buf_cache_drain();
	assert_int_equal(c.n, 0);
}

static void test_buffers(void **state)
{
	void *a = stk_buf_get(STK_BUF_SIZE), *b;

	(void)state;
	assert_non_null(a);
	stk_buf_put(a, STK_BUF_SIZE);
	b = stk_buf_get(STK_BUF_SIZE);
#ifndef STK_BUF_NO_CACHE
	assert_ptr_equal(a, b);
#endif
	stk_buf_put(b, STK_BUF_SIZE);
	stk_buf_cache_drain();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reuse_zeroed),
		cmocka_unit_test(test_bounded_and_sizes),
		cmocka_unit_test(test_size_from_first_put),
		cmocka_unit_test(test_buffers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
