/* An L4 tunnel: bytes copied both ways between two streams (the client
 * side and the upstream side), with half-close carried across, resets
 * turned into resets, and bounded buffering: at most one buffer per
 * direction, held only while a write is blocked.
 *
 * Transport-neutral: the same code joins an lwIP pcb to a kernel socket
 * in strata, and two in-memory pairs in the unit tests. */
#ifndef STRATA_STK_TUNNEL_H
#define STRATA_STK_TUNNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stk_stream.h"

enum stk_close_reason {
	STK_CLOSE_DONE = 0,        /* both sides finished */
	STK_CLOSE_CLIENT_RESET,
	STK_CLOSE_UPSTREAM_RESET,
	STK_CLOSE_IDLE,
	STK_CLOSE_NO_MEMORY,
	STK_CLOSE_APP,             /* a hook closed it */
	STK_CLOSE_SHUTDOWN,        /* strata is stopping */
	STK_CLOSE_HTTP_SERVICE,    /* not a tunnel's: an intercepted connection
				    * the HTTP service served and released */
	STK_CLOSE__COUNT
};

const char *stk_close_reason_name(enum stk_close_reason r);

enum { STK_DIR_UP = 0, STK_DIR_DOWN = 1 }; /* client->upstream, back */

struct stk_tunnel;
typedef void (*stk_tunnel_end_fn)(struct stk_tunnel *t,
				  enum stk_close_reason why, void *arg);
/* Sees each chunk as it is copied, and len 0 once when that direction
 * ended; may call stk_tunnel_abort(). */
typedef void (*stk_tunnel_data_fn)(struct stk_tunnel *t, int dir,
				   const uint8_t *data, size_t len, void *arg);

struct stk_tunnel_pipe {
	uint8_t *buf;          /* allocated while bytes wait for room */
	size_t off, len;
	bool eof;              /* the reading side ended */
	bool shut;             /* and the writing side was shut down */
};

struct stk_tunnel {
	struct stk_stream *s[2];  /* [0] client, [1] upstream */
	struct stk_tunnel_pipe pipe[2];
	size_t buf_size;
	uint64_t bytes[2];        /* per direction */
	uint64_t last_active_ns;
	uint64_t *now_ns;         /* the owner's clock */
	stk_tunnel_end_fn end;
	stk_tunnel_data_fn data;
	void *arg;
	bool hold[2];             /* do not read that direction yet */
	bool ended;
	bool busy;                /* inside a pump: defer the end */
	bool again;               /* an event came while busy */
	int pending_end;          /* reason + 1 while deferred */
};

/* Join client and upstream; the tunnel owns both streams from now on and
 * calls end exactly once, after which the owner frees t (the streams
 * are closed or aborted by then). Starts copying at once. */
void stk_tunnel_init(struct stk_tunnel *t, struct stk_stream *client,
		     struct stk_stream *upstream, size_t buf_size,
		     uint64_t *now_ns, stk_tunnel_end_fn end, void *arg);

/* The same, with a data hook (may be NULL) from the first byte, and
 * directions on hold (bit 1 << STK_DIR_*): nothing is read from that
 * direction's source until stk_tunnel_release(). The HTTP proxy holds
 * the response body until it sent the response head. */
void stk_tunnel_start(struct stk_tunnel *t, struct stk_stream *client,
		      struct stk_stream *upstream, size_t buf_size,
		      uint64_t *now_ns, stk_tunnel_end_fn end,
		      stk_tunnel_data_fn data, void *arg, unsigned hold);
void stk_tunnel_release(struct stk_tunnel *t, int dir);

/* The tunnel's stream callback (arg: the tunnel), for owners that
 * interpose on one stream's events and pass the rest on. */
void stk_tunnel_event(struct stk_stream *s, unsigned ev, void *arg);

/* Stop copying and give both streams back untouched (their callbacks
 * cleared; bytes read but not yet written are lost); end is not called.
 * -1 when the tunnel is inside a callback or already ended: abort then. */
int stk_tunnel_detach(struct stk_tunnel *t);

/* Reset both sides and end with why. */
void stk_tunnel_abort(struct stk_tunnel *t, enum stk_close_reason why);

#endif
