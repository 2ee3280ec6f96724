/* HTTP/2 engine internals that tests look at. Not for the proxy. */
#ifndef STRATA_L7_H2_PRIVATE_H
#define STRATA_L7_H2_PRIVATE_H

#include <stddef.h>

#include "l7_http.h"

/* The most body bytes one stream of c ever held unread (received but
 * not yet taken by read()): flow control keeps this at or below the
 * stream window. */
size_t l7_h2_rx_peak(const struct l7_conn *c);

/* The most bytes c ever held for the transport (frames that nghttp2
 * produced and the transport did not take yet). */
size_t l7_h2_out_peak(const struct l7_conn *c);

#endif
