/* Kernel-socket streams (stk_stream_sock.c) over real loopback TCP: small
 * writes held until the loop's flush and then sent in order, shutdown and
 * close after held bytes, close while the kernel is full (nothing
 * accepted is lost), and reads that skip the kernel after a short read
 * but still see an end of stream that came with the last bytes. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "stack/stk_loop.h"
#include "stack/stk_stream_sock.h"

struct fixture {
	struct stk_loop loop;
	struct stk_stream *s;     /* strata's end */
	int fd;                   /* strata's end's socket (the stream owns it) */
	int peer;                 /* the other end, non-blocking */
	unsigned events, errors;
};

static void on_event(struct stk_stream *s, unsigned ev, void *arg)
{
	struct fixture *f = arg;

	(void)s;
	f->events |= ev;
	if (ev & STK_EV_ERROR)
		f->errors++;
}

/* A connected loopback TCP pair: one end wrapped as a stream. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int lfd, cfd, afd;

	assert_non_null(f);
	assert_int_equal(stk_loop_init(&f->loop), 0);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(cfd >= 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&a, sizeof(a)), 0);
	afd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
	assert_true(afd >= 0);
	close(lfd);
	assert_int_equal(fcntl(cfd, F_SETFL, O_NONBLOCK), 0);
	f->peer = cfd;
	f->fd = afd;
	f->s = stk_sock_wrap(&f->loop, afd);
	assert_non_null(f->s);
	stk_stream_set_cb(f->s, on_event, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->s)
		stk_close(f->s);
	stk_loop_fini(&f->loop);
	assert_null(f->loop.orphans);
	if (f->peer >= 0)
		close(f->peer);
	free(f);
	return 0;
}

/* One pass of the loop: flush, wait up to ms, dispatch. */
static void pass(struct fixture *f, int ms)
{
	stk_loop_wait(&f->loop, ms);
	stk_loop_dispatch(&f->loop);
}

/* Read from the peer until n bytes came or 2000 passes found it empty,
 * running the loop meanwhile. */
static size_t peer_read(struct fixture *f, uint8_t *buf, size_t n)
{
	size_t got = 0;

	for (int i = 0; i < 2000 && got < n;) {
		ssize_t r = recv(f->peer, buf + got, n - got, 0);

		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r == 0)
			break;
		assert_int_equal(errno, EAGAIN);
		pass(f, 5);
		i++;
	}
	return got;
}

/* The peer sees end of stream (and nothing more) within a few passes. */
static void assert_peer_eof(struct fixture *f)
{
	uint8_t c;
	ssize_t r = -1;

	for (int i = 0; i < 200; i++) {
		r = recv(f->peer, &c, 1, 0);
		if (r >= 0 || errno != EAGAIN)
			break;
		pass(f, 5);
	}
	assert_int_equal(r, 0);
}

static void test_small_writes_held_until_flush(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[64];

	assert_int_equal(stk_write(f->s, "GET ", 4), 4);
	assert_int_equal(stk_write(f->s, "/x ", 3), 3);
	assert_int_equal(stk_write(f->s, "HTTP/1.1", 8), 8);
	/* nothing left yet: the writes wait for the end of the pass */
	assert_int_equal(recv(f->peer, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, EAGAIN);
	stk_loop_flush(&f->loop);
	assert_int_equal(peer_read(f, buf, 15), 15);
	assert_memory_equal(buf, "GET /x HTTP/1.1", 15);
}

/* The worker waits without the stack lock with stk_loop_wait_events:
 * it must not send held writes (a failed send runs stream callbacks);
 * stk_loop_wait does. */
static void test_wait_events_does_not_flush(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[8];

	assert_int_equal(stk_write(f->s, "held", 4), 4);
	stk_loop_wait_events(&f->loop, 0);
	assert_int_equal(recv(f->peer, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, EAGAIN);
	stk_loop_wait(&f->loop, 0);
	assert_int_equal(peer_read(f, buf, 4), 4);
	assert_memory_equal(buf, "held", 4);
}

/* A big write goes at once, behind the held bytes, in order. */
static void test_big_write_after_held(void **state)
{
	struct fixture *f = *state;
	static uint8_t big[20000], got[20005];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	assert_int_equal(stk_write(f->s, "head:", 5), 5);
	assert_int_equal(stk_write(f->s, big, sizeof(big)), sizeof(big));
	assert_int_equal(peer_read(f, got, sizeof(got)), sizeof(got));
	assert_memory_equal(got, "head:", 5);
	assert_memory_equal(got + 5, big, sizeof(big));
}

static void test_shutdown_after_held(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[16];

	assert_int_equal(stk_write(f->s, "bye", 3), 3);
	assert_int_equal(stk_shutdown(f->s), 0);
	/* no more writes after shutdown, even before the bytes left */
	assert_int_equal(stk_write(f->s, "x", 1), -EPIPE);
	assert_int_equal(peer_read(f, buf, 3), 3);
	assert_memory_equal(buf, "bye", 3);
	assert_peer_eof(f);
	assert_int_equal(f->errors, 0);
}

/* Close while the kernel takes no more: every byte write() accepted still
 * reaches the peer, then the end of stream, and the loop forgets the
 * socket. */
static void test_close_while_kernel_full(void **state)
{
	struct fixture *f = *state;
	static uint8_t chunk[3000], got[1 << 20];
	size_t sent = 0, total;
	ssize_t n;
	int small = 4096;

	/* small kernel buffers both sides: full after a few writes */
	setsockopt(f->peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	setsockopt(f->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)i;
	/* small writes are held, the held bytes go when the next one does
	 * not fit: fill until write() says no more */
	while ((n = stk_write(f->s, chunk, sizeof(chunk))) > 0) {
		sent += (size_t)n;
		assert_true(sent < sizeof(got));
	}
	assert_int_equal(n, -EAGAIN);
	stk_close(f->s);
	f->s = NULL;
	assert_non_null(f->loop.orphans);
	total = peer_read(f, got, sizeof(got));
	assert_int_equal(total, sent);
	for (size_t i = 0; i < total; i++)
		if (got[i] != (uint8_t)(i % sizeof(chunk)))
			fail_msg("byte %zu differs", i);
	assert_peer_eof(f);
	assert_null(f->loop.orphans);
}

/* A socket closed with bytes left is released by stk_loop_fini. */
static void test_fini_releases_orphan(void **state)
{
	struct fixture *f = *state;
	static uint8_t chunk[3000];
	int small = 4096;

	setsockopt(f->peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	setsockopt(f->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	while (stk_write(f->s, chunk, sizeof(chunk)) > 0)
		;
	stk_close(f->s);
	f->s = NULL;
	assert_non_null(f->loop.orphans);
	/* teardown: stk_loop_fini leaves no orphan (and, under ASan, no
	 * leak) */
}

static void test_short_read_then_more(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[64];

	assert_int_equal(send(f->peer, "one", 3, 0), 3);
	pass(f, 100);
	assert_true(f->events & STK_EV_READABLE);
	assert_int_equal(stk_read(f->s, buf, sizeof(buf)), 3);
	/* short read: the socket is empty, no need to ask */
	assert_int_equal(stk_read(f->s, buf, sizeof(buf)), -EAGAIN);
	f->events = 0;
	assert_int_equal(send(f->peer, "two", 3, 0), 3);
	pass(f, 100);
	assert_true(f->events & STK_EV_READABLE);
	assert_int_equal(stk_read(f->s, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "two", 3);
}

/* Bytes and FIN together raise one event: the end is still read. */
static void test_short_read_with_fin(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[64];

	assert_int_equal(send(f->peer, "last", 4, 0), 4);
	assert_int_equal(shutdown(f->peer, SHUT_WR), 0);
	usleep(10000);
	pass(f, 100);
	assert_int_equal(stk_read(f->s, buf, sizeof(buf)), 4);
	assert_int_equal(stk_read(f->s, buf, sizeof(buf)), 0);
}

/* A flush that finds the peer gone tells the owner with STK_EV_ERROR. */
static void test_flush_error_notifies(void **state)
{
	struct fixture *f = *state;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(f->peer, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(f->peer);
	f->peer = -1;
	usleep(10000);
	for (int i = 0; i < 3 && !f->errors; i++) {
		if (stk_write(f->s, "x", 1) < 0)
			break;
		stk_loop_flush(&f->loop);
	}
	assert_int_equal(f->errors, 1);
	assert_true(f->s->error == ECONNRESET || f->s->error == EPIPE);
	assert_int_equal(stk_write(f->s, "x", 1), -f->s->error);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_small_writes_held_until_flush,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_events_does_not_flush,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_write_after_held,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_after_held,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_while_kernel_full,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_fini_releases_orphan,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_read_then_more,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_read_with_fin,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_error_notifies,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
