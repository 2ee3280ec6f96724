/* l7_head: fields keep lowercase names, slots copy, deep copies are
 * independent, token lists match whole tokens only, trailer fields set
 * for sending are checked. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "l7/l7_http.h"

static void test_fields(void **state)
{
	struct l7_head h;
	size_t len = 0;

	l7_head_init(&h);
	assert_int_equal(h.content_length, -1);
	assert_int_equal(l7_head_add(&h, "X-Foo", 5, "one", 3), 0);
	assert_int_equal(l7_head_add(&h, "Accept", 6, "*/*", 3), 0);
	assert_int_equal(l7_head_add(&h, "x-foo", 5, "two", 3), 0);
	assert_string_equal(h.fields[0].name, "x-foo");
	assert_string_equal(l7_head_get(&h, "X-FOO", &len), "one");
	assert_int_equal(len, 3);
	assert_null(l7_head_get(&h, "x-bar", NULL));
	assert_int_equal(l7_head_set(&h, "x-foo", "three"), 0);
	assert_int_equal(h.nfields, 2);
	assert_string_equal(l7_head_get(&h, "x-foo", NULL), "three");
	assert_int_equal(l7_head_del(&h, "accept"), 1);
	assert_int_equal(h.nfields, 1);
	/* Many fields grow the array. */
	for (int i = 0; i < 100; i++)
		assert_int_equal(l7_head_add(&h, "a", 1, "b", 1), 0);
	assert_int_equal(l7_head_del(&h, "a"), 100);
	l7_head_free(&h);
	assert_int_equal(h.nfields, 0);
}

/* Names match whole: a prefix or a longer name of the same start is
 * another field. */
static void test_field_names(void **state)
{
	static const char *const hop[] = { "te", "connection", NULL };
	struct l7_head h;

	(void)state;
	l7_head_init(&h);
	assert_int_equal(l7_head_add(&h, "Te", 2, "trailers", 8), 0);
	assert_int_equal(l7_head_add(&h, "tea", 3, "green", 5), 0);
	assert_int_equal(l7_head_add(&h, "Connection", 10, "close", 5), 0);
	assert_int_equal(l7_head_add(&h, "connectio", 9, "x", 1), 0);
	assert_true(l7_field_in(&h.fields[0], hop));
	assert_false(l7_field_in(&h.fields[1], hop));
	assert_true(l7_field_in(&h.fields[2], hop));
	assert_false(l7_field_in(&h.fields[3], hop));
	assert_string_equal(l7_head_get(&h, "TEA", NULL), "green");
	assert_string_equal(l7_head_get(&h, "connectio", NULL), "x");
	assert_null(l7_head_get(&h, "t", NULL));
	assert_int_equal(l7_head_del(&h, "te"), 1);
	assert_string_equal(h.fields[0].name, "tea");
	l7_head_free(&h);
}

static void test_slots_and_copy(void **state)
{
	struct l7_head a, b;

	l7_head_init(&a);
	l7_head_init(&b);
	assert_int_equal(l7_head_set_slot(&a.method, "GET", 3), 0);
	assert_int_equal(l7_head_set_slot(&a.path, "/x?y", 4), 0);
	assert_int_equal(l7_head_add(&a, "via", 3, "1.1 strata", 10), 0);
	a.content_length = 42;
	a.version = 11;
	assert_int_equal(l7_head_copy(&b, &a), 0);
	l7_head_free(&a);
	assert_string_equal(b.method, "GET");
	assert_string_equal(b.path, "/x?y");
	assert_null(b.authority);
	assert_string_equal(l7_head_get(&b, "via", NULL), "1.1 strata");
	assert_int_equal(b.content_length, 42);
	assert_int_equal(b.version, 11);
	assert_int_equal(l7_head_set_slot(&b.path, NULL, 0), 0);
	assert_null(b.path);
	l7_head_free(&b);
}

/* Numbers in heads: decimal and hex, the ends of the range. */
static void test_u64_str(void **state)
{
	char b[L7_U64_STR_MAX];

	(void)state;
	assert_int_equal(l7_u64_str(b, 0, 10), 1);
	assert_string_equal(b, "0");
	assert_int_equal(l7_u64_str(b, 204, 10), 3);
	assert_string_equal(b, "204");
	assert_int_equal(l7_u64_str(b, UINT64_MAX, 10), 20);
	assert_string_equal(b, "18446744073709551615");
	assert_int_equal(l7_u64_str(b, 0x3fab, 16), 4);
	assert_string_equal(b, "3fab");
	assert_int_equal(l7_u64_str(b, UINT64_MAX, 16), 16);
	assert_string_equal(b, "ffffffffffffffff");
}

static void test_token_list(void **state)
{
	const char *v = "keep-alive, Upgrade ,close";

	assert_true(l7_token_list_has(v, strlen(v), "upgrade"));
	assert_true(l7_token_list_has(v, strlen(v), "close"));
	assert_true(l7_token_list_has(v, strlen(v), "Keep-Alive"));
	assert_false(l7_token_list_has(v, strlen(v), "keep"));
	assert_false(l7_token_list_has("", 0, "close"));
	assert_false(l7_token_list_has("closed", 6, "close"));
}

/* What may go out as a trailer: tokens, clean values, and none of the
 * fields RFC 9110 6.5.1 keeps out of trailers. */
static void test_trailer_set(void **state)
{
	static const char *const forbidden[] = {
		"Content-Length", "transfer-encoding", "host", "te",
		"trailer", "content-type", ":status", "connection",
	};
	static const char *const bad_values[] = {
		"a\r\nx-injected: 1", "a\nb", "a\x01b", " lead", "trail\t",
		"\x7f",
	};
	struct l7_head t;

	(void)state;
	l7_head_init(&t);
	assert_int_equal(l7_trailer_set(&t, "Grpc-Status", "0"), 0);
	assert_int_equal(l7_trailer_set(&t, "grpc-message", "a\tb c"), 0);
	assert_int_equal(l7_trailer_set(&t, "x-empty", ""), 0);
	/* set replaces every field of the name, any case */
	assert_int_equal(l7_head_add(&t, "grpc-status", 11, "2", 1), 0);
	assert_int_equal(l7_trailer_set(&t, "GRPC-STATUS", "13"), 0);
	assert_int_equal(t.nfields, 3);
	assert_string_equal(l7_head_get(&t, "grpc-status", NULL), "13");
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(*forbidden); i++)
		assert_int_equal(l7_trailer_set(&t, forbidden[i], "1"),
				 -EPERM);
	for (size_t i = 0; i < sizeof(bad_values) / sizeof(*bad_values); i++)
		assert_int_equal(l7_trailer_set(&t, "x-v", bad_values[i]),
				 -EINVAL);
	assert_int_equal(l7_trailer_set(&t, "", "1"), -EINVAL);
	assert_int_equal(l7_trailer_set(&t, "bad name", "1"), -EINVAL);
	assert_int_equal(l7_trailer_set(&t, "x:y", "1"), -EINVAL);
	assert_int_equal(l7_trailer_set(&t, NULL, "1"), -EINVAL);
	assert_int_equal(l7_trailer_set(&t, "x-v", NULL), -EINVAL);
	/* refusals leave the fields as they were */
	assert_int_equal(t.nfields, 3);
	assert_null(l7_head_get(&t, "x-v", NULL));
	l7_head_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_field_names),
		cmocka_unit_test(test_slots_and_copy),
		cmocka_unit_test(test_u64_str),
		cmocka_unit_test(test_token_list),
		cmocka_unit_test(test_trailer_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
