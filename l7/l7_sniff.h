/* What protocol does a client speak? Decided from the first bytes of a
 * stream, before any engine takes it: TLS (with the ClientHello's SNI,
 * ALPN and supported_versions), HTTP/2 prior knowledge, HTTP/1.x, PROXY
 * protocol v1/v2, or something else (SSH, binary, ...).
 *
 * Sans-IO and stateless: call l7_sniff() with all bytes received so far
 * (peeked, not consumed). It answers L7_SNIFF_MORE only while the bytes
 * are a prefix of more than one verdict (or of a ClientHello not yet
 * whole), and decides at the first byte that rules the rest out:
 *   PROXY v1  "PROXY "                 (6 bytes)
 *   PROXY v2  its 12-byte signature
 *   HTTP/2    the 24-byte preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
 *   HTTP/1.x  a standard method, SP, and the first byte of a target
 *   TLS       a handshake record whose first message is a ClientHello,
 *             read to its end (across records) for SNI and ALPN
 *   OTHER     as soon as no prefix above fits.
 * It never looks past the bytes it needs. A ClientHello over
 * L7_SNIFF_TLS_MAX bytes (records included) is TLS with an error. */
#ifndef STRATA_L7_SNIFF_H
#define STRATA_L7_SNIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define L7_SNIFF_TLS_MAX 16384u

enum l7_sniff_proto {
	L7_SNIFF_MORE = 0,      /* undecided: call again with more bytes */
	L7_SNIFF_TLS,
	L7_SNIFF_H2,            /* prior-knowledge preface */
	L7_SNIFF_H1,
	L7_SNIFF_PROXY_V1,
	L7_SNIFF_PROXY_V2,
	L7_SNIFF_OTHER,
};

enum l7_sniff_method {
	L7_SNIFF_GET = 1, L7_SNIFF_HEAD, L7_SNIFF_POST, L7_SNIFF_PUT,
	L7_SNIFF_DELETE, L7_SNIFF_CONNECT, L7_SNIFF_OPTIONS, L7_SNIFF_TRACE,
	L7_SNIFF_PATCH,
};

struct l7_sniff_tls {
	/* NULL when the ClientHello parsed; else a cause token
	 * ("tls_bad_extensions", "tls_hello_too_big", ...). The other fields
	 * are then partial. */
	const char *error;
	uint16_t record_version;   /* of the first record, 0x0301 typically */
	uint16_t legacy_version;   /* ClientHello.legacy_version */
	/* Highest non-GREASE supported_versions entry, else legacy_version. */
	uint16_t version;
	uint16_t nversions;        /* all entries, GREASE included */
	uint16_t versions[64];     /* the first 64 of them */
	bool has_sni;              /* a host_name entry was sent */
	char sni[256];             /* NUL-terminated, as sent */
	/* ALPN protocol_name_list as on the wire (length-prefixed names);
	 * see l7_sniff_alpn_next. Lists over 256 bytes set alpn_truncated
	 * and keep the whole names that fit. */
	bool has_alpn, alpn_truncated;
	uint16_t alpn_len;
	uint8_t alpn[256];
	uint32_t hello_bytes;      /* bytes of input the hello spanned */
};

struct l7_sniff_result {
	enum l7_sniff_proto proto;
	enum l7_sniff_method method;   /* H1 */
	struct l7_sniff_tls tls;       /* TLS */
};

/* Classify buf[0..len); fills r and returns r->proto. */
enum l7_sniff_proto l7_sniff(const void *buf, size_t len,
			     struct l7_sniff_result *r);

/* Iterate the ALPN list: *off starts at 0; gives each name and its
 * length, false at the end. */
bool l7_sniff_alpn_next(const struct l7_sniff_tls *t, size_t *off,
			const char **name, size_t *len);

const char *l7_sniff_proto_name(enum l7_sniff_proto p);

#endif
