/* lwIP TCP pcbs as streams. Lock held for every call. */
#ifndef STRATA_STK_STREAM_LWIP_H
#define STRATA_STK_STREAM_LWIP_H

#include <stdbool.h>

#include "stk_lwip.h"
#include "stk_stream.h"

/* Take over an accepted (or connected) pcb. */
struct stk_stream *stk_lwip_stream_new(struct stk_lwip *st,
				       struct tcp_pcb *pcb);

/* Open a connection to dst:dport from the address lwIP routes it
 * through, on a local port port_ok() accepts (so that replies hash to
 * this worker). The stream reports STK_EV_CONNECTED or STK_EV_ERROR.
 * NULL with *err (errno) when it cannot start. */
struct stk_stream *stk_lwip_stream_connect(struct stk_lwip *st,
					   const ip_addr_t *dst, uint16_t dport,
					   bool (*port_ok)(void *arg,
							   const ip_addr_t *src,
							   uint16_t sport),
					   void *arg, int *err);

/* Start deferring readable events (see struct stk_lwip's batching);
 * stk_lwip_stream_flush() delivers them and stops deferring. */
void stk_lwip_stream_batch(struct stk_lwip *st);
void stk_lwip_stream_flush(struct stk_lwip *st);

/* Free streams closed since the last call; call when no lwIP callback
 * is running (after an input batch). */
void stk_lwip_stream_reap(struct stk_lwip *st);

#endif
