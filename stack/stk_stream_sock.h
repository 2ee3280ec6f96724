/* Kernel TCP sockets as streams (egress connector, kernel listeners).
 * Small writes are held until the loop's pass ends (stk_loop_flush), so
 * the owner of the loop must flush after each batch of work. */
#ifndef STRATA_STK_STREAM_SOCK_H
#define STRATA_STK_STREAM_SOCK_H

#include <sys/epoll.h>
#include <sys/socket.h>

#include "stk_loop.h"
#include "stk_stream.h"

/* Start a non-blocking connect (optionally bound to a device, so that
 * egress does not loop back into strata's own TUN). The stream reports
 * STK_EV_CONNECTED or STK_EV_ERROR. NULL with *err (errno) on failure. */
struct stk_stream *stk_sock_connect(struct stk_loop *l,
				    const struct sockaddr *sa,
				    socklen_t salen, const char *bind_dev,
				    int *err);

/* A connected non-blocking socket as a stream; takes fd. */
struct stk_stream *stk_sock_wrap(struct stk_loop *l, int fd);

#endif
