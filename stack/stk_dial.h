/* Outbound TCP by name or address, for what runs above the stack (the
 * HTTP proxy's upstreams and CONNECT targets): the name is resolved
 * through the worker's DNS cache, every address is tried with happy
 * eyeballs, and the whole attempt has a deadline. */
#ifndef STRATA_STK_DIAL_H
#define STRATA_STK_DIAL_H

#include <stdint.h>
#include <sys/socket.h>

#include "stk_connect.h"
#include "stk_dns.h"
#include "stk_loop.h"
#include "stk_stream.h"

struct stk_dialer;
struct stk_dial;

/* Exactly once (unless cancelled): s connected to *used, or s NULL with
 * err: ETIMEDOUT, ECONNREFUSED, EHOSTUNREACH, ..., or ENOENT when the
 * name did not resolve. The dial is gone after the call. */
typedef void (*stk_dial_cb)(void *arg, struct stk_stream *s, int err,
			    const struct sockaddr_storage *used);

/* via: how each attempt opens (kernel sockets, lwIP); copied. */
struct stk_dialer *stk_dialer_create(struct stk_loop *l, struct stk_dns *dns,
				     const struct stk_connector *via,
				     uint32_t attempt_delay_ms);
/* Cancels what is still dialing (no callbacks). */
void stk_dialer_destroy(struct stk_dialer *d);

/* host: a name or an IP literal (IPv6 without brackets). cb may run
 * before this returns (cached name, immediate failure); NULL is
 * returned then, and also when out of memory (cb called with ENOMEM). */
struct stk_dial *stk_dial_start(struct stk_dialer *d, const char *host,
				uint16_t port, uint32_t timeout_ms,
				stk_dial_cb cb, void *arg);
void stk_dial_cancel(struct stk_dial *x);

/* Deadlines and happy-eyeballs timers; returns ms until it wants to be
 * called again (-1: nothing pending). */
int stk_dialer_poll(struct stk_dialer *d, uint64_t now_ns);

#endif
