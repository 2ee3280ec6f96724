/* Outbound TCP to one of several addresses, with happy eyeballs v2
 * (RFC 8305): addresses are interleaved by family, IPv6 first; the next
 * attempt starts when the current one fails or after the attempt delay,
 * while earlier ones keep running; the first to connect wins and the
 * others are closed. Each attempt is opened by a connector: a kernel
 * socket, or an lwIP active open out of a DPDK port. */
#ifndef STRATA_STK_CONNECT_H
#define STRATA_STK_CONNECT_H

#include <stdint.h>
#include <sys/socket.h>

#include "stk_loop.h"
#include "stk_stream.h"

#define STK_CONNECT_MAX 8

/* Opens one attempt: a stream connecting to addr (port set) that reports
 * STK_EV_CONNECTED or STK_EV_ERROR; NULL with *err (errno) when it cannot
 * start. */
struct stk_connector {
	struct stk_stream *(*open)(void *ctx, struct stk_loop *l,
				   const struct sockaddr_storage *addr,
				   int *err);
	void *ctx;
};

/* The kernel's connector: a non-blocking socket, bound to the device
 * named by ctx (a string) when ctx is not NULL. */
struct stk_stream *stk_connect_kernel(void *bind_dev, struct stk_loop *l,
				      const struct sockaddr_storage *addr,
				      int *err);

struct stk_connect;

/* Exactly once: s connected to *used, or s NULL and err (errno) the
 * last attempt's failure. The connect object is gone after the call. */
typedef void (*stk_connect_cb)(void *arg, struct stk_stream *s, int err,
			       const struct sockaddr_storage *used);

/* addrs: n addresses (ports ignored; port is used). cb is called exactly
 * once unless cancelled, possibly before this returns (every address
 * failed at once, or no memory): NULL is returned then. */
struct stk_connect *stk_connect_start(struct stk_loop *l,
				      const struct sockaddr_storage *addrs,
				      unsigned n, uint16_t port,
				      const struct stk_connector *via,
				      uint32_t attempt_delay_ms,
				      stk_connect_cb cb, void *arg);

/* Start the next attempt if its time has come; returns the ms until it
 * wants to be called again (-1: no timer). */
int stk_connect_tick(struct stk_connect *c, uint64_t now_ns);

/* Give up: every attempt is closed, cb is not called. */
void stk_connect_cancel(struct stk_connect *c);

#endif
