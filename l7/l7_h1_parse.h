/* A strict, incremental, sans-IO HTTP/1.1 parser (RFC 9112): a message
 * head into a struct l7_head, then the body's framing. Bytes may come in
 * any split; nothing is kept of the caller's buffers between calls.
 *
 * Use: l7_h1_parser_init() once, l7_h1_parser_start() per message, feed
 * l7_h1_parse_head() until L7_H1_HEAD, then l7_h1_parse_body() until
 * L7_H1_END (l7_h1_parse_eof() when the transport ends). On L7_H1_ERROR,
 * status (400, 414, 431, 501, 505) and cause (a static token such as
 * "cl_and_te") say why; the parser is then dead until the next start.
 *
 * Choices: identical repeated Content-Length values (in one field or
 * several) are merged, differing ones rejected; Content-Length with
 * Transfer-Encoding is refused in responses too; Transfer-Encoding must
 * be exactly "chunked" (a request whose last coding is not chunked is a
 * 400, any other coding a 501); an HTTP/1.0 message with
 * Transfer-Encoding is a 400; a request line over the head limit is a
 * 414, a well-formed version other than 1.0/1.1 a 505; empty lines
 * before a request line are skipped; trailer fields are checked, then
 * kept in p->trailers when the caller set it (minus the forbidden ones);
 * a request without a body gets content_length 0 (not -1), so that
 * "-1" always means "a body of unknown length follows". */
#ifndef STRATA_L7_H1_PARSE_H
#define STRATA_L7_H1_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "l7/l7_http.h"

enum {
	L7_H1_ERROR = -1,
	L7_H1_AGAIN = 0,   /* all input taken; more is needed */
	L7_H1_HEAD,        /* the head is complete */
	L7_H1_DATA,        /* body bytes: *data, *dlen (inside the input) */
	L7_H1_END,         /* the message is complete */
};

enum l7_h1_framing {
	L7_H1_NO_BODY,     /* empty body (or a 1xx, 204, 304, HEAD answer) */
	L7_H1_LENGTH,      /* Content-Length */
	L7_H1_CHUNKED,
	L7_H1_TO_CLOSE,    /* response body ends with the connection */
	L7_H1_TUNNEL,      /* 2xx to CONNECT, 101: raw bytes from here */
};

struct l7_h1_parser {
	/* Results, valid after L7_H1_HEAD. */
	enum l7_h1_framing framing;
	bool close;            /* the connection ends after this message */
	bool expect_continue;  /* request had Expect: 100-continue */
	bool upgrade;          /* Connection: upgrade with an Upgrade field */
	int status;            /* on L7_H1_ERROR */
	const char *cause;     /* on L7_H1_ERROR, static */
	struct l7_head *trailers; /* the caller's (kept by start), or NULL:
				   * trailer fields are dropped */

	/* Internal. */
	struct l7_head *head;
	bool response, req_head, req_connect;
	uint32_t max_head, max_fields;
	int state, cstate;
	char *line;
	size_t line_len, line_cap;
	uint32_t head_bytes, nfields, nhost, ext_len;
	int64_t cl;            /* -1 none */
	uint64_t left;         /* body bytes left (length, chunk) */
	bool cr, te, te_chunked_last, te_other, conn_close, conn_keep,
	     conn_upgrade;
	char *conn_tokens;     /* Connection values, to drop what they name */
	size_t conn_tokens_len, conn_tokens_cap; /* kept across messages */
};

/* response: parse responses (else requests). lim may be NULL. */
void l7_h1_parser_init(struct l7_h1_parser *p, bool response,
		       const struct l7_limits *lim);
void l7_h1_parser_free(struct l7_h1_parser *p);
/* Begin a message whose head goes into h (initialised by the caller).
 * For a response, say whether the request was HEAD or CONNECT. */
void l7_h1_parser_start(struct l7_h1_parser *p, struct l7_head *h,
			bool req_head, bool req_connect);

/* L7_H1_AGAIN, L7_H1_HEAD or L7_H1_ERROR; *used: bytes taken. */
int l7_h1_parse_head(struct l7_h1_parser *p, const uint8_t *in, size_t len,
		     size_t *used);
/* L7_H1_AGAIN, L7_H1_DATA, L7_H1_END or L7_H1_ERROR; *used: bytes taken
 * (framing and data). Data never exceeds len, so a caller short of room
 * passes a shorter len. */
int l7_h1_parse_body(struct l7_h1_parser *p, const uint8_t *in, size_t len,
		     size_t *used, const uint8_t **data, size_t *dlen);
/* Is the body complete without more input? */
bool l7_h1_body_done(const struct l7_h1_parser *p);
/* The transport ended: L7_H1_END if that ends the body, else
 * L7_H1_ERROR ("truncated_body"). */
int l7_h1_parse_eof(struct l7_h1_parser *p);

/* tchar (RFC 9110 5.6.2)? Every name byte of every head asks: a table. */
extern const bool l7_h1_tchars[256];

static inline bool l7_h1_tchar(uint8_t c)
{
	return l7_h1_tchars[c];
}

#endif
