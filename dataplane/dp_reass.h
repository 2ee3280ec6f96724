/* IPv4 and IPv6 fragment reassembly, and fragmentation for transmit.
 *
 * Bounded: at most max_datagrams in flight and max_fragments each; a
 * datagram not complete after timeout_ms is dropped (counted by the
 * caller from dp_reass_expire's return). Overlapping fragments drop
 * the whole datagram (RFC 5722 for v6; v4 the same, to defeat overlap
 * evasion). Memory is allocated once at creation. */
#ifndef STRATA_DP_REASS_H
#define STRATA_DP_REASS_H

#include <stdint.h>

#include "dp_drop.h"
#include "dp_pkt.h"

#define DP_REASS_MAX_DATAGRAM 65535u /* largest IP datagram rebuilt */

struct dp_reass_params {
	uint32_t max_datagrams;
	uint32_t max_fragments;
	uint32_t timeout_ms;
};

struct dp_reass *dp_reass_create(const struct dp_reass_params *p);
void dp_reass_destroy(struct dp_reass *r);

/* Feed one fragment. pkt is the buffer v was parsed from (offsets in v
 * are relative to it). The fragment's bytes are copied; the caller keeps
 * its buffer.
 * Returns 0 while incomplete; when the datagram completes, writes it to
 * out (an IP packet without fragmentation: v4 header with MF/offset
 * cleared, total length and checksum set; v6 with the fragment header
 * removed and payload length set) and returns its length; or returns a
 * negative enum dp_drop_reason (the datagram so far is discarded). */
int dp_reass_feed(struct dp_reass *r, const uint8_t *pkt,
		  const struct dp_pkt_view *v, uint64_t now_ns,
		  uint8_t *out, uint32_t cap);

/* Drop datagrams older than the timeout; returns how many. */
unsigned dp_reass_expire(struct dp_reass *r, uint64_t now_ns);
unsigned dp_reass_in_flight(const struct dp_reass *r);

/* Split the IP datagram ip[0..len) into fragments of at most mtu bytes
 * each (v4: the DF bit must be clear, else -DP_DROP_TOO_BIG; v6: adds a
 * fragment header with identification id). emit(frag, frag_len, arg) is
 * called for each fragment in order; the buffer is only valid during the
 * call. Returns the number of fragments or a negative drop reason. */
int dp_frag_split(const uint8_t *ip, uint32_t len, uint16_t mtu, uint32_t id,
		  void (*emit)(const uint8_t *frag, uint32_t frag_len, void *arg),
		  void *arg);

#endif
