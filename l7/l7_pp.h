/* PROXY protocol v1 (text) and v2 (binary), as haproxy's
 * doc/proxy-protocol.txt defines them: a parser for what a load balancer
 * in front of us prepends, and writers for what we prepend upstream.
 *
 * Sans-IO and allocation-free: the parser looks at the bytes received so
 * far (from the start of the connection) and says "complete, n bytes",
 * "need more" or "bad, because". Call it again with more bytes; it keeps
 * no state between calls. It never asks for more than a header can hold
 * (v1: 107 bytes; v2: L7_PP_V2_MAX, see below), so a caller can peek
 * into a fixed buffer of L7_PP_V2_MAX bytes.
 *
 * Addresses are 16 bytes, IPv4 stored IPv4-mapped (::ffff:a.b.c.d) like
 * the rest of strata. Strings from TLVs are copied into the result and
 * NUL-terminated, so the result outlives the input buffer. */
#ifndef STRATA_L7_PP_H
#define STRATA_L7_PP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define L7_PP_V1_MAX 107u
/* The v2 length field allows 16 + 65535 bytes; we take at most 4096 in
 * all (addresses and TLVs in 4080), plenty for the TLVs senders use, and
 * refuse bigger headers as soon as the length field is seen. */
#define L7_PP_V2_MAX 4096u

/* Error causes, each a negative return of l7_pp_parse with a token. */
#define L7_PP_ERRORS(X)                                                   \
	X(NOT_PP, "not_proxy_protocol")   /* neither signature */          \
	X(V1_TOO_LONG, "v1_too_long")     /* no CRLF within 107 bytes */   \
	X(V1_BAD_CHAR, "v1_bad_char")     /* byte outside the v1 alphabet */\
	X(V1_BAD_CRLF, "v1_bad_crlf")     /* CR without LF, or bare LF */  \
	X(V1_BAD_PROTO, "v1_bad_proto")   /* not TCP4, TCP6 or UNKNOWN */  \
	X(V1_BAD_FORMAT, "v1_bad_format") /* fields, spaces */             \
	X(V1_BAD_ADDR, "v1_bad_addr")                                      \
	X(V1_BAD_PORT, "v1_bad_port")                                      \
	X(V2_BAD_VERSION, "v2_bad_version")                                \
	X(V2_BAD_COMMAND, "v2_bad_command")                                \
	X(V2_BAD_FAMILY, "v2_bad_family")                                  \
	X(V2_TOO_LONG, "v2_too_long")     /* over L7_PP_V2_MAX */           \
	X(V2_SHORT_ADDR, "v2_short_addr") /* len below the address block */\
	X(V2_TLV_BOUNDS, "v2_tlv_bounds") /* a TLV runs past the header */ \
	X(V2_TLV_SIZE, "v2_tlv_size")     /* a TLV too long for its kind */\
	X(V2_TLV_DUP, "v2_tlv_dup")       /* a TLV of interest twice */    \
	X(V2_TLV_NUL, "v2_tlv_nul")       /* NUL inside a text TLV */      \
	X(V2_BAD_CRC, "v2_bad_crc")       /* CRC32C TLV does not match */  \
	X(V2_BAD_SSL, "v2_bad_ssl")       /* SSL TLV or its sub-TLVs */

enum {
	L7_PP_E_NONE = 0,
#define L7_PP_X(n, s) L7_PP_E_##n,
	L7_PP_ERRORS(L7_PP_X)
#undef L7_PP_X
};

/* Token for a negative return ("v1_bad_port"); "ok" for >= 0. */
const char *l7_pp_strerror(int err);

enum l7_pp_cmd { L7_PP_LOCAL = 0, L7_PP_PROXY = 1 };

/* UNKNOWN: v1 "UNKNOWN", v2 AF_UNSPEC, or v2 LOCAL; UNIX: v2 AF_UNIX,
 * whose paths are not kept. Either way the caller uses the real
 * connection's endpoints. */
enum l7_pp_family {
	L7_PP_UNKNOWN = 0,
	L7_PP_TCP4,
	L7_PP_TCP6,
	L7_PP_UDP4,
	L7_PP_UDP6,
	L7_PP_UNIX,
};

/* Bits of l7_pp_result.tlvs: which TLVs were present. */
enum {
	L7_PP_HAS_ALPN = 1u << 0,
	L7_PP_HAS_AUTHORITY = 1u << 1,
	L7_PP_HAS_CRC32C = 1u << 2,    /* present and verified */
	L7_PP_HAS_UNIQUE_ID = 1u << 3,
	L7_PP_HAS_SSL = 1u << 4,
	L7_PP_HAS_NETNS = 1u << 5,
};

struct l7_pp_result {
	uint8_t version;               /* 1 or 2 */
	uint8_t command;               /* enum l7_pp_cmd (v1 is PROXY) */
	uint8_t family;                /* enum l7_pp_family */
	uint8_t src[16], dst[16];      /* zero unless TCP/UDP 4/6 */
	uint16_t sport, dport;
	uint32_t tlvs;                 /* L7_PP_HAS_* */
	/* TLV values, NUL-terminated, lengths without the NUL. Each is
	 * capped (ALPN, authority, netns 255; unique ID 128 as the spec
	 * says; SSL strings 255): a longer one is an error. Text values
	 * (all but ALPN and unique ID) holding a NUL are refused, so that
	 * "a.com\0.b.com" cannot pass as "a.com". */
	uint16_t alpn_len, authority_len, unique_id_len, netns_len;
	char alpn[256], authority[256], netns[256];
	uint8_t unique_id[128];
	/* SSL TLV: client bits (PP2_CLIENT_SSL 1, CERT_CONN 2, CERT_SESS 4),
	 * verify (0 = client certificate verified), sub-TLVs. */
	uint8_t ssl_client;
	uint32_t ssl_verify;
	char ssl_version[256], ssl_cn[256], ssl_cipher[256];
};

/* Parse a header at the start of buf[0..len).
 * Returns the header's length (> 0, the bytes to consume; what follows
 * is the client's data), 0 when buf is a valid prefix and more bytes are
 * needed, or -L7_PP_E_* (see l7_pp_strerror). r is written only on
 * success. */
int l7_pp_parse(const void *buf, size_t len, struct l7_pp_result *r);

/* Writers. src/dst are 16 bytes (IPv4-mapped for IPv4). If both are
 * IPv4-mapped the header says TCP4 / AF_INET, else TCP6 / AF_INET6.
 * src NULL writes "PROXY UNKNOWN\r\n" (v1) or a LOCAL command (v2).
 * Return the bytes written or -ENOSPC when cap is too small. */
ssize_t l7_pp_write_v1(void *buf, size_t cap, const uint8_t *src,
		       uint16_t sport, const uint8_t *dst, uint16_t dport);

/* Optional v2 TLVs: strings NULL to leave out; crc32c adds a checksum. */
struct l7_pp_v2_opts {
	const char *alpn, *authority, *netns;
	const uint8_t *unique_id;
	size_t unique_id_len;
	bool crc32c;
};

/* Also -EINVAL for a TLV over the sizes the parser accepts. */
ssize_t l7_pp_write_v2(void *buf, size_t cap, const uint8_t *src,
		       uint16_t sport, const uint8_t *dst, uint16_t dport,
		       const struct l7_pp_v2_opts *opts);

#endif
