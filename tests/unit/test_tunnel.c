/* The L4 tunnel over in-memory stream pairs: bytes both ways, half-close
 * carried across, resets carried across, and bounded buffering when one
 * side stops reading. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stack/stk_stream.h"
#include "stack/stk_tunnel.h"

struct fixture {
	struct stk_stream *client_app, *client_proxy;
	struct stk_stream *up_proxy, *up_app;
	struct stk_tunnel t;
	uint64_t now;
	int ended;
	enum stk_close_reason why;
};

static void on_end(struct stk_tunnel *t, enum stk_close_reason why, void *arg)
{
	struct fixture *f = arg;

	f->ended++;
	f->why = why;
}

static int setup(void **state, size_t cap, size_t buf)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(stk_stream_pair(cap, &f.client_app, &f.client_proxy), 0);
	assert_int_equal(stk_stream_pair(cap, &f.up_proxy, &f.up_app), 0);
	stk_tunnel_init(&f.t, f.client_proxy, f.up_proxy, buf, &f.now, on_end, &f);
	*state = &f;
	return 0;
}

static int setup_big(void **state) { return setup(state, 65536, 4096); }
static int setup_small(void **state) { return setup(state, 1000, 300); }

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->client_app)
		stk_close(f->client_app);
	if (f->up_app)
		stk_close(f->up_app);
	if (!f->ended)
		stk_tunnel_abort(&f->t, STK_CLOSE_SHUTDOWN);
	return 0;
}

static void read_exact(struct stk_stream *s, const char *want)
{
	char buf[256];
	size_t n = strlen(want);

	assert_int_equal(stk_read(s, buf, sizeof(buf)), (ssize_t)n);
	assert_memory_equal(buf, want, n);
}

static void test_both_ways(void **state)
{
	struct fixture *f = *state;
	char buf[16];

	assert_int_equal(stk_write(f->client_app, "GET /", 5), 5);
	read_exact(f->up_app, "GET /");
	assert_int_equal(stk_write(f->up_app, "200 OK", 6), 6);
	read_exact(f->client_app, "200 OK");
	assert_int_equal(stk_read(f->client_app, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(f->t.bytes[STK_DIR_UP], 5);
	assert_int_equal(f->t.bytes[STK_DIR_DOWN], 6);
	assert_int_equal(f->ended, 0);
}

static void test_half_close(void **state)
{
	struct fixture *f = *state;
	char buf[16];

	/* The client is done sending: upstream sees EOF but may answer. */
	assert_int_equal(stk_write(f->client_app, "req", 3), 3);
	assert_int_equal(stk_shutdown(f->client_app), 0);
	read_exact(f->up_app, "req");
	assert_int_equal(stk_read(f->up_app, buf, sizeof(buf)), 0);
	assert_int_equal(f->ended, 0);
	assert_int_equal(stk_write(f->up_app, "resp", 4), 4);
	read_exact(f->client_app, "resp");
	/* Then upstream finishes: the tunnel ends cleanly. */
	assert_int_equal(stk_shutdown(f->up_app), 0);
	assert_int_equal(f->ended, 1);
	assert_int_equal(f->why, STK_CLOSE_DONE);
	assert_int_equal(stk_read(f->client_app, buf, sizeof(buf)), 0);
}

static void test_upstream_reset(void **state)
{
	struct fixture *f = *state;
	char buf[16];

	assert_int_equal(stk_write(f->client_app, "x", 1), 1);
	stk_abort(f->up_app);
	f->up_app = NULL;
	assert_int_equal(f->ended, 1);
	assert_int_equal(f->why, STK_CLOSE_UPSTREAM_RESET);
	/* ... and the client is reset too, not left waiting. */
	assert_int_equal(stk_read(f->client_app, buf, sizeof(buf)), -ECONNRESET);
}

static void test_client_reset(void **state)
{
	struct fixture *f = *state;
	char buf[16];

	stk_abort(f->client_app);
	f->client_app = NULL;
	assert_int_equal(f->ended, 1);
	assert_int_equal(f->why, STK_CLOSE_CLIENT_RESET);
	assert_int_equal(stk_read(f->up_app, buf, sizeof(buf)), -ECONNRESET);
}

/* A client that stops reading: the upstream's writes stop being taken
 * once the pairs and the one tunnel buffer are full, and everything
 * arrives in order once the client reads again. */
static void test_backpressure(void **state)
{
	struct fixture *f = *state;
	uint8_t out[10000], in[10000];
	size_t sent = 0, got = 0, i;
	ssize_t n;

	for (i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7);
	while (sent < sizeof(out)) {
		n = stk_write(f->up_app, out + sent, sizeof(out) - sent);
		if (n == -EAGAIN)
			break;
		assert_true(n > 0);
		sent += (size_t)n;
	}
	/* two pair buffers of 1000 and one tunnel buffer of 300 */
	assert_true(sent <= 2300);
	assert_true(sent >= 1000);
	while (got < sizeof(in)) {
		n = stk_read(f->client_app, in + got, sizeof(in) - got);
		if (n == -EAGAIN) {
			/* room again: the writer continues */
			assert_true(sent < sizeof(out));
			n = stk_write(f->up_app, out + sent, sizeof(out) - sent);
			assert_true(n > 0);
			sent += (size_t)n;
			continue;
		}
		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_memory_equal(in, out, sizeof(out));
	assert_int_equal(f->t.bytes[STK_DIR_DOWN], sizeof(out));
	/* the idle tunnel holds no buffer */
	assert_null(f->t.pipe[STK_DIR_DOWN].buf);
	assert_null(f->t.pipe[STK_DIR_UP].buf);
}

static void test_abort_by_owner(void **state)
{
	struct fixture *f = *state;
	char buf[4];

	stk_tunnel_abort(&f->t, STK_CLOSE_IDLE);
	assert_int_equal(f->ended, 1);
	assert_int_equal(f->why, STK_CLOSE_IDLE);
	assert_int_equal(stk_read(f->client_app, buf, sizeof(buf)), -ECONNRESET);
	assert_int_equal(stk_read(f->up_app, buf, sizeof(buf)), -ECONNRESET);
	/* a second abort is harmless */
	stk_tunnel_abort(&f->t, STK_CLOSE_APP);
	assert_int_equal(f->ended, 1);
}

static size_t seen[2];

static void on_data(struct stk_tunnel *t, int dir, const uint8_t *data,
		    size_t len, void *arg)
{
	seen[dir] += len;
	if (len >= 4 && !memcmp(data, "QUIT", 4))
		stk_tunnel_abort(t, STK_CLOSE_APP);
}

/* The owner's data callback (the tunnel hook) sees every byte each way
 * and may reset the tunnel from inside it. */
static void test_data_hook(void **state)
{
	struct fixture *f = *state;
	char buf[8];

	seen[0] = seen[1] = 0;
	f->t.data = on_data;
	assert_int_equal(stk_write(f->client_app, "hello", 5), 5);
	assert_int_equal(stk_write(f->up_app, "hi", 2), 2);
	assert_int_equal(seen[STK_DIR_UP], 5);
	assert_int_equal(seen[STK_DIR_DOWN], 2);
	assert_int_equal(f->ended, 0);
	read_exact(f->client_app, "hi");
	read_exact(f->up_app, "hello");
	assert_int_equal(stk_write(f->client_app, "QUIT", 4), 4);
	assert_int_equal(f->ended, 1);
	assert_int_equal(f->why, STK_CLOSE_APP);
	/* both sides are reset; QUIT never reached upstream */
	assert_int_equal(stk_read(f->client_app, buf, sizeof(buf)), -ECONNRESET);
	assert_int_equal(stk_read(f->up_app, buf, sizeof(buf)), -ECONNRESET);
}

static void test_reason_names(void **state)
{
	assert_string_equal(stk_close_reason_name(STK_CLOSE_DONE), "done");
	assert_string_equal(stk_close_reason_name(STK_CLOSE_UPSTREAM_RESET),
			    "upstream_reset");
	assert_string_equal(stk_close_reason_name(STK_CLOSE__COUNT), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_both_ways, setup_big, teardown),
		cmocka_unit_test_setup_teardown(test_half_close, setup_big, teardown),
		cmocka_unit_test_setup_teardown(test_upstream_reset, setup_big, teardown),
		cmocka_unit_test_setup_teardown(test_client_reset, setup_big, teardown),
		cmocka_unit_test_setup_teardown(test_backpressure, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_abort_by_owner, setup_big, teardown),
		cmocka_unit_test_setup_teardown(test_data_hook, setup_big, teardown),
		cmocka_unit_test(test_reason_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
