/* stk_stream_counted: bytes counted both ways, events passed up, and
 * the wrapper freed once both its user and the counts' holder are done
 * (run under ASan or valgrind to see the frees). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stack/stk_stream.h"

static struct {
	struct stk_stream *s;
	unsigned events;
	unsigned calls;
} cnt_seen;

static void cnt_on_event(struct stk_stream *s, unsigned ev, void *arg)
{
	(void)arg;
	cnt_seen.s = s;
	cnt_seen.events |= ev;
	cnt_seen.calls++;
}

static void cnt_assert_counts(const struct stk_stream *s, uint64_t rd,
			      uint64_t wr)
{
	uint64_t r, w;

	stk_stream_count_get(s, &r, &w);
	assert_int_equal(r, rd);
	assert_int_equal(w, wr);
}

/* Only bytes taken count: -EAGAIN, a partial write and the end count
 * nothing more. Events reach the wrapper's user with the wrapper. */
static void test_counts_and_events(void **state)
{
	struct stk_stream *a, *b, *s;
	char buf[16];

	(void)state;
	assert_int_equal(stk_stream_pair(8, &a, &b), 0);
	s = stk_stream_counted(a);
	assert_non_null(s);
	assert_true(stk_stream_is_counted(s));
	assert_false(stk_stream_is_counted(a));
	stk_stream_set_cb(s, cnt_on_event, NULL);
	memset(&cnt_seen, 0, sizeof(cnt_seen));

	assert_int_equal(stk_read(s, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(stk_write(b, "hello", 5), 5);
	assert_ptr_equal(cnt_seen.s, s);
	assert_true(cnt_seen.events & STK_EV_READABLE);
	assert_int_equal(stk_read(s, buf, 2), 2);
	assert_int_equal(stk_read(s, buf, sizeof(buf)), 3);
	cnt_assert_counts(s, 5, 0);

	/* 8 bytes of room: a 12-byte write takes 8, the next none */
	assert_int_equal(stk_write(s, "0123456789ab", 12), 8);
	assert_int_equal(stk_write(s, "x", 1), -EAGAIN);
	cnt_assert_counts(s, 5, 8);
	cnt_seen.events = 0;
	assert_int_equal(stk_read(b, buf, sizeof(buf)), 8);
	assert_true(cnt_seen.events & STK_EV_WRITABLE);
	assert_int_equal(stk_write(s, "x", 1), 1);

	assert_int_equal(stk_shutdown(b), 0);
	assert_int_equal(stk_read(s, buf, sizeof(buf)), 0);
	cnt_assert_counts(s, 5, 9);

	/* closed first, counts read after, then put: one free */
	stk_close(s);
	cnt_assert_counts(s, 5, 9);
	stk_stream_count_put(s);
	assert_int_equal(stk_read(b, buf, sizeof(buf)), 1);
	assert_int_equal(stk_read(b, buf, sizeof(buf)), 0);
	stk_close(b);
}

/* Put first, abort after: the peer sees the reset, one free. */
static void test_put_then_abort(void **state)
{
	struct stk_stream *a, *b, *s;
	char buf[4];

	(void)state;
	assert_int_equal(stk_stream_pair(8, &a, &b), 0);
	s = stk_stream_counted(a);
	assert_non_null(s);
	assert_int_equal(stk_write(s, "ab", 2), 2);
	cnt_assert_counts(s, 0, 2);
	stk_stream_count_put(s);
	assert_int_equal(stk_write(s, "c", 1), 1); /* still the user's */
	stk_abort(s);
	assert_int_equal(stk_read(b, buf, sizeof(buf)), -ECONNRESET);
	stk_close(b);
}

/* Unwrapped: inner comes back open with no callback; the wrapper
 * stays only for the counts' holder. */
static void test_uncounted(void **state)
{
	struct stk_stream *a, *b, *s, *inner;
	char buf[4];

	(void)state;
	assert_int_equal(stk_stream_pair(8, &a, &b), 0);
	s = stk_stream_counted(a);
	assert_non_null(s);
	stk_stream_set_cb(s, cnt_on_event, NULL);
	assert_int_equal(stk_write(s, "ab", 2), 2);
	inner = stk_stream_uncounted(s);
	assert_ptr_equal(inner, a);
	memset(&cnt_seen, 0, sizeof(cnt_seen));
	assert_int_equal(stk_write(b, "z", 1), 1);
	assert_int_equal(cnt_seen.calls, 0);
	assert_int_equal(stk_read(inner, buf, sizeof(buf)), 1);
	cnt_assert_counts(s, 0, 2);
	stk_stream_count_put(s);
	stk_close(inner);
	assert_int_equal(stk_read(b, buf, sizeof(buf)), 2);
	assert_int_equal(stk_read(b, buf, sizeof(buf)), 0);
	stk_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_and_events),
		cmocka_unit_test(test_put_then_abort),
		cmocka_unit_test(test_uncounted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
