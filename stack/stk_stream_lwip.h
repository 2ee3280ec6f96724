/* lwIP TCP pcbs as streams. Lock held for every call. */
#ifndef STRATA_STK_STREAM_LWIP_H
#define STRATA_STK_STREAM_LWIP_H

#include "stk_lwip.h"
#include "stk_stream.h"

/* Take over an accepted (or connected) pcb. */
struct stk_stream *stk_lwip_stream_new(struct stk_lwip *st,
				       struct tcp_pcb *pcb);

/* Free streams closed since the last call; call when no lwIP callback
 * is running (after an input batch). */
void stk_lwip_stream_reap(struct stk_lwip *st);

#endif
