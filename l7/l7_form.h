/* Streaming form fields from a request body: application/
 * x-www-form-urlencoded (WHATWG) and multipart/form-data (RFC 7578 on
 * RFC 2046's framing).
 *
 * A push parser: feed the body in chunks of any size, and each field's
 * value comes out through one callback, in pieces, as it streams by;
 * values are never gathered. The parser allocates once, at
 * l7_form_new, a fixed size (about 10 KiB); it holds at most a field
 * name (256 bytes, decoded) or a part's header block (8 KiB), and a
 * partial boundary match of at most 74 bytes. Nothing is retained
 * across calls that the caller handed in. */
#ifndef STRATA_L7_FORM_H
#define STRATA_L7_FORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define L7_FORM_NAME_MAX 256u
#define L7_FORM_HEADERS_MAX 8192u
#define L7_FORM_BOUNDARY_MAX 70u   /* RFC 2046 */

#define L7_FORM_ERRORS(X)                                                    \
	X(BAD_CONTENT_TYPE, "bad_content_type")  /* not a form, or bad syntax */\
	X(NO_BOUNDARY, "missing_boundary")       /* multipart without one */   \
	X(BAD_BOUNDARY, "bad_boundary")          /* empty, > 70, bad chars */  \
	X(NAME_TOO_LONG, "name_too_long")        /* > L7_FORM_NAME_MAX */      \
	X(BAD_BOUNDARY_LINE, "bad_boundary_line") /* junk after a boundary */  \
	X(HEADERS_TOO_LONG, "part_headers_too_long")                           \
	X(BAD_PART_HEADERS, "bad_part_headers")  /* syntax, bare LF, folding */\
	X(BAD_DISPOSITION, "bad_content_disposition") /* none, not form-data, \
							  no name, twice */   \
	X(NO_FINAL_BOUNDARY, "missing_final_boundary") /* body ended early */  \
	X(CALLBACK, "stopped_by_callback")                                     \
	X(NOMEM, "out_of_memory")

enum {
	L7_FORM_E_NONE = 0,
#define L7_FORM_X(n, s) L7_FORM_E_##n,
	L7_FORM_ERRORS(L7_FORM_X)
#undef L7_FORM_X
};

/* Token for a negative return ("missing_final_boundary"); "ok" for 0. */
const char *l7_form_strerror(int err);

enum l7_form_kind { L7_FORM_URLENCODED = 1, L7_FORM_MULTIPART = 2 };

/* Parse a Content-Type value. For multipart/form-data the boundary
 * (token or quoted-string) is copied NUL-terminated into boundary.
 * 0 or -L7_FORM_E_{BAD_CONTENT_TYPE,NO_BOUNDARY,BAD_BOUNDARY}. */
int l7_form_content_type(const char *ct, size_t len, enum l7_form_kind *kind,
			 char boundary[L7_FORM_BOUNDARY_MAX + 1]);

struct l7_form_field {
	const char *name;          /* decoded, NUL-terminated */
	size_t name_len;           /* may hold NULs (urlencoded %00) */
	const char *filename;      /* multipart, as sent; NULL if none */
	const char *content_type;  /* multipart part's; NULL if none */
	unsigned index;            /* 0 for the first field */
};

/* A piece of a field's value (urlencoded: decoded). Pieces come in
 * order; the last has final set and may be empty; every field gets one.
 * Pointers are valid during the call only. Return 0 to go on, anything
 * else to stop: the feed returns -L7_FORM_E_CALLBACK. The callback must
 * not call back into this parser. */
typedef int (*l7_form_cb)(void *arg, const struct l7_form_field *f,
			  const uint8_t *data, size_t len, bool final);

struct l7_form;

/* NULL with *err set (content-type errors, NOMEM). */
struct l7_form *l7_form_new(const char *content_type, size_t ct_len,
			    l7_form_cb cb, void *arg, int *err);
/* 0 or a negative error; errors stick: later calls return the same. */
int l7_form_feed(struct l7_form *f, const void *data, size_t len);
/* End of body: flushes the last urlencoded field; a multipart body must
 * have ended with its close delimiter. 0 or a negative error. */
int l7_form_finish(struct l7_form *f);
void l7_form_free(struct l7_form *f);

#endif
