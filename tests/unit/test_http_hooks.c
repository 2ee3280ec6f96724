/* The hooks' trailer accessors (strata_http_*trailer): they answer only
 * in a body hook's last call, for that body's direction; what they set
 * goes into the trailer fields the exchange sends; fields a trailer may
 * not carry, and messages that cannot carry trailers, are refused with
 * their own error codes. The exchange is built by hand, as l7_proxy.c
 * has it at the moment it calls the hooks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "l7/l7_proxy_private.h"

struct hk {
	struct l7_req *r;
	struct l7_exchange down, up;
};

static int hk_setup(void **state)
{
	struct hk *k = calloc(1, sizeof(*k));

	assert_non_null(k);
	k->r = calloc(1, sizeof(*k->r));
	assert_non_null(k->r);
	l7_head_init(&k->r->req);
	l7_head_init(&k->r->resp);
	l7_exchange_heads_init(&k->down);
	l7_exchange_heads_init(&k->up);
	*state = k;
	return 0;
}

static int hk_teardown(void **state)
{
	struct hk *k = *state;

	l7_head_free(&k->r->req);
	l7_head_free(&k->r->resp);
	l7_exchange_heads_free(&k->down);
	l7_exchange_heads_free(&k->up);
	free(k->r);
	free(k);
	return 0;
}

/* The response body's last call: the upstream's trailers were passed to
 * the client's exchange, which sends them after the hooks. */
static void hk_response_end(struct hk *k)
{
	k->r->trailers_to = &k->down;
	k->r->trailers_dir = STK_DIR_DOWN;
}

static void test_response_trailers(void **state)
{
	struct hk *k = *state;
	struct l7_req *r = k->r;
	struct l7_head *out = &k->down.trailers_out;

	r->req.version = 20;
	assert_int_equal(l7_head_add(out, "grpc-status", 11, "0", 1), 0);
	assert_int_equal(l7_head_add(out, "x-secret", 8, "s", 1), 0);
	hk_response_end(k);
	assert_string_equal(strata_http_trailer(r, 1, "GRPC-Status"), "0");
	assert_null(strata_http_trailer(r, 1, "x-none"));
	assert_null(strata_http_trailer(r, 1, NULL));
	/* the request's trailers are not what this call is about */
	assert_null(strata_http_trailer(r, 0, "grpc-status"));
	assert_int_equal(strata_http_set_trailer(r, 0, "x-a", "1"), -ENOENT);
	assert_int_equal(strata_http_del_trailer(r, 0, "x-a"), -ENOENT);

	assert_int_equal(strata_http_set_trailer(r, 1, "X-Seen", "grpc 0"), 0);
	assert_string_equal(strata_http_trailer(r, 1, "x-seen"), "grpc 0");
	assert_int_equal(strata_http_set_trailer(r, 1, "grpc-status", "13"), 0);
	assert_int_equal(strata_http_del_trailer(r, 1, "X-SECRET"), 0);
	assert_int_equal(strata_http_del_trailer(r, 1, "x-never-there"), 0);
	assert_int_equal(strata_http_set_trailer(r, 1, "content-length", "9"),
			 -EPERM);
	assert_int_equal(strata_http_set_trailer(r, 1, ":status", "200"),
			 -EPERM);
	assert_int_equal(strata_http_set_trailer(r, 1, "Transfer-Encoding",
						 "chunked"), -EPERM);
	assert_int_equal(strata_http_set_trailer(r, 1, "bad name", "1"),
			 -EINVAL);
	assert_int_equal(strata_http_set_trailer(r, 1, "x-inject",
						 "1\r\nx-evil: 1"), -EINVAL);
	/* what goes out: the fields as changed, nothing refused */
	assert_int_equal(out->nfields, 2);
	assert_string_equal(l7_head_get(out, "grpc-status", NULL), "13");
	assert_string_equal(l7_head_get(out, "x-seen", NULL), "grpc 0");
	assert_null(l7_head_get(out, "x-secret", NULL));
	assert_int_equal(k->up.trailers_out.nfields, 0);

	/* outside the last call, nothing */
	r->trailers_to = NULL;
	assert_null(strata_http_trailer(r, 1, "grpc-status"));
	assert_int_equal(strata_http_set_trailer(r, 1, "x-a", "1"), -ENOENT);
	assert_int_equal(strata_http_del_trailer(r, 1, "x-seen"), -ENOENT);
}

/* HTTP/1.1 carries trailers on a chunked body only (the client's
 * response has no Content-Length), HTTP/1.0 never. */
static void test_response_cannot_carry(void **state)
{
	struct hk *k = *state;
	struct l7_req *r = k->r;

	hk_response_end(k);
	r->req.version = 11;
	r->resp.content_length = 5;
	assert_int_equal(strata_http_set_trailer(r, 1, "x-a", "1"), -ENOTSUP);
	r->resp.content_length = -1;
	assert_int_equal(strata_http_set_trailer(r, 1, "x-a", "1"), 0);
	r->req.version = 10;
	assert_int_equal(strata_http_set_trailer(r, 1, "x-a", "2"), -ENOTSUP);
	/* removing is always fine */
	assert_int_equal(strata_http_del_trailer(r, 1, "x-a"), 0);
	assert_int_equal(k->down.trailers_out.nfields, 0);
	/* HTTP/2 with a Content-Length still ends in a HEADERS frame */
	r->req.version = 20;
	r->resp.content_length = 5;
	assert_int_equal(strata_http_set_trailer(r, 1, "x-a", "3"), 0);
	/* but not after a head that ended the response (HEAD, 204, 304,
	 * length 0) */
	r->head_ended = true;
	assert_int_equal(strata_http_set_trailer(r, 1, "x-a", "4"), -ENOTSUP);
	assert_string_equal(strata_http_trailer(r, 1, "x-a"), "3");
}

/* The request body's last call: the fields go to the upstream's
 * exchange; an HTTP/1.1 upstream takes them on a chunked body only. */
static void test_request_trailers(void **state)
{
	struct hk *k = *state;
	struct l7_req *r = k->r;

	r->req.version = 20;
	assert_int_equal(l7_head_add(&k->up.trailers_out, "x-req-sum", 9,
				     "42", 2), 0);
	r->trailers_to = &k->up;
	r->trailers_dir = STK_DIR_UP;
	assert_string_equal(strata_http_trailer(r, 0, "x-req-sum"), "42");
	assert_null(strata_http_trailer(r, 1, "x-req-sum"));
	assert_int_equal(strata_http_set_trailer(r, 1, "x-a", "1"), -ENOENT);
	r->up_h2 = false;
	r->req.content_length = 4;
	assert_int_equal(strata_http_set_trailer(r, 0, "x-a", "1"), -ENOTSUP);
	r->req.content_length = -1;
	assert_int_equal(strata_http_set_trailer(r, 0, "x-a", "1"), 0);
	r->up_h2 = true;
	r->req.content_length = 0; /* went out with its head's END_STREAM */
	assert_int_equal(strata_http_set_trailer(r, 0, "x-b", "1"), -ENOTSUP);
	r->req.content_length = 4;
	assert_int_equal(strata_http_set_trailer(r, 0, "x-b", "2"), 0);
	assert_int_equal(strata_http_del_trailer(r, 0, "x-req-sum"), 0);
	assert_int_equal(k->up.trailers_out.nfields, 2);
	assert_string_equal(l7_head_get(&k->up.trailers_out, "x-b", NULL),
			    "2");
	assert_int_equal(k->down.trailers_out.nfields, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_response_trailers,
						hk_setup, hk_teardown),
		cmocka_unit_test_setup_teardown(test_response_cannot_carry,
						hk_setup, hk_teardown),
		cmocka_unit_test_setup_teardown(test_request_trailers,
						hk_setup, hk_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
