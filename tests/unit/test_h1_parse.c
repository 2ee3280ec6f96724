/* l7_h1_parse: valid messages at every split, bodies (length, chunked
 * with extensions and trailers, to close), request-target forms,
 * hop-by-hop fields, and every smuggling defence with its status and
 * cause. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "l7/l7_h1_parse.h"

struct result {
	int rc;                 /* L7_H1_END, L7_H1_HEAD (no end yet) or error */
	int status;
	const char *cause;
	struct l7_head h;
	struct l7_head t;       /* trailer fields */
	char body[4096];
	size_t body_len;
	size_t used;            /* bytes taken through the end */
	struct l7_h1_parser p;
};

/* Parse msg fed in pieces of `step` bytes (0: all at once). eof: the
 * transport ends after msg. */
static void parse(struct result *r, const char *msg, size_t len, bool response,
		  size_t step, const struct l7_limits *lim, bool eof)
{
	size_t off = 0;
	bool in_head = true;

	memset(r, 0, sizeof(*r));
	l7_head_init(&r->h);
	l7_head_init(&r->t);
	l7_h1_parser_init(&r->p, response, lim);
	r->p.trailers = &r->t;
	l7_h1_parser_start(&r->p, &r->h, false, false);
	r->rc = L7_H1_AGAIN;
	for (;;) {
		size_t n = step && len - off > step ? step : len - off;
		size_t used = 0;
		int rc;

		if (in_head) {
			rc = l7_h1_parse_head(&r->p, (const uint8_t *)msg + off,
					      n, &used);
			off += used;
			if (rc == L7_H1_HEAD) {
				in_head = false;
				r->rc = L7_H1_HEAD;
				continue;
			}
		} else {
			const uint8_t *d;
			size_t dl;

			rc = l7_h1_parse_body(&r->p, (const uint8_t *)msg + off,
					      n, &used, &d, &dl);
			off += used;
			if (rc == L7_H1_DATA) {
				assert_true(r->body_len + dl <= sizeof(r->body));
				memcpy(r->body + r->body_len, d, dl);
				r->body_len += dl;
				continue;
			}
			if (rc == L7_H1_END) {
				r->rc = L7_H1_END;
				break;
			}
		}
		if (rc == L7_H1_ERROR) {
			r->rc = rc;
			break;
		}
		assert_int_equal(rc, L7_H1_AGAIN);
		if (off == len) {
			if (eof && !in_head) {
				rc = l7_h1_parse_eof(&r->p);
				r->rc = rc == L7_H1_END ? L7_H1_END : rc;
			}
			break;
		}
	}
	r->used = off;
	r->status = r->p.status;
	r->cause = r->p.cause;
}

static void done(struct result *r)
{
	l7_head_free(&r->h);
	l7_head_free(&r->t);
	l7_h1_parser_free(&r->p);
}

#define S(x) x, sizeof(x) - 1

static void expect_req_error(const char *msg, size_t len, int status,
			     const char *cause)
{
	struct result r;

	parse(&r, msg, len, false, 0, NULL, false);
	if (r.rc != L7_H1_ERROR)
		fail_msg("accepted: %.*s", (int)len, msg);
	assert_int_equal(r.status, status);
	assert_string_equal(r.cause, cause);
	done(&r);
	/* byte by byte gives the same verdict */
	parse(&r, msg, len, false, 1, NULL, false);
	assert_int_equal(r.rc, L7_H1_ERROR);
	assert_int_equal(r.status, status);
	assert_string_equal(r.cause, cause);
	done(&r);
}

#define REJECT(msg, status, cause) expect_req_error(S(msg), status, cause)

static const char post_chunked[] =
	"POST /upload?x=1 HTTP/1.1\r\n"
	"Host: example.com:8080\r\n"
	"User-Agent: t\r\n"
	"Transfer-Encoding: chunked\r\n"
	"Connection: keep-alive, X-Hop\r\n"
	"X-Hop: gone\r\n"
	"TE: trailers\r\n"
	"X-Empty:\r\n"
	"X-Spaces: \t a b \t\r\n"
	"\r\n"
	"5;name=value;q=\"x y\"\r\nhello\r\n"
	"6\r\n world\r\n"
	"0\r\n"
	"Trailer-One: 1\r\n"
	"\r\n";

/* tchar is RFC 9110 5.6.2's: ALPHA, DIGIT and 15 marks, nothing else. */
static void test_tchar(void **state)
{
	const char *marks = "!#$%&'*+-.^_`|~";
	unsigned n = 0;

	(void)state;
	for (unsigned c = 0; c < 256; c++) {
		bool want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') ||
			    (c && strchr(marks, (int)c));

		assert_int_equal(l7_h1_tchar((uint8_t)c), want);
		n += want;
	}
	assert_int_equal(n, 26 + 26 + 10 + 15);
}

static void test_every_split(void **state)
{
	static const char get[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
				   "Server: x\r\n\r\nabc";

	(void)state;
	for (size_t step = 0; step <= 7; step++) {
		struct result r;

		parse(&r, S(post_chunked), false, step, NULL, false);
		assert_int_equal(r.rc, L7_H1_END);
		assert_int_equal(r.used, sizeof(post_chunked) - 1);
		assert_string_equal(r.h.method, "POST");
		assert_string_equal(r.h.path, "/upload?x=1");
		assert_string_equal(r.h.authority, "example.com:8080");
		assert_null(r.h.scheme);
		assert_int_equal(r.h.version, 11);
		assert_int_equal(r.h.content_length, -1);
		assert_int_equal(r.p.framing, L7_H1_CHUNKED);
		assert_false(r.p.close);
		assert_int_equal(r.body_len, 11);
		assert_memory_equal(r.body, "hello world", 11);
		/* hop-by-hop and framing fields stay out */
		assert_int_equal(r.h.nfields, 3);
		assert_string_equal(r.h.fields[0].name, "user-agent");
		assert_string_equal(l7_head_get(&r.h, "x-empty", NULL), "");
		assert_string_equal(l7_head_get(&r.h, "x-spaces", NULL), "a b");
		assert_null(l7_head_get(&r.h, "x-hop", NULL));
		assert_null(l7_head_get(&r.h, "te", NULL));
		assert_null(l7_head_get(&r.h, "host", NULL));
		done(&r);

		parse(&r, S(get), false, step, NULL, false);
		assert_int_equal(r.rc, L7_H1_END);
		assert_int_equal(r.h.content_length, 0);
		assert_int_equal(r.p.framing, L7_H1_NO_BODY);
		done(&r);

		parse(&r, S(resp), true, step, NULL, false);
		assert_int_equal(r.rc, L7_H1_END);
		assert_int_equal(r.h.status, 200);
		assert_int_equal(r.h.content_length, 3);
		assert_memory_equal(r.body, "abc", 3);
		assert_string_equal(l7_head_get(&r.h, "server", NULL), "x");
		assert_null(r.h.method);
		done(&r);
	}
}

static void test_bodies(void **state)
{
	struct result r;

	(void)state;
	/* to close: only the EOF ends it */
	parse(&r, S("HTTP/1.0 200 OK\r\n\r\nsome bytes"), true, 3, NULL, true);
	assert_int_equal(r.rc, L7_H1_END);
	assert_int_equal(r.p.framing, L7_H1_TO_CLOSE);
	assert_true(r.p.close);
	assert_int_equal(r.body_len, 10);
	done(&r);
	/* a truncated length body is an error at EOF */
	parse(&r, S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), true,
	      0, NULL, true);
	assert_int_equal(r.rc, L7_H1_ERROR);
	assert_string_equal(r.cause, "truncated_body");
	done(&r);
	/* 204 and 304 have no body whatever they say */
	parse(&r, S("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"),
	      true, 0, NULL, false);
	assert_int_equal(r.rc, L7_H1_END);
	assert_int_equal(r.h.content_length, 10);
	done(&r);
	/* chunked response with trailers, upper-case hex, leading zeros;
	 * a trailer may not say Content-Length: dropped */
	parse(&r, S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "000A\r\n0123456789\r\n1 ; ext\r\nx\r\n0\r\nA: b\r\n"
		    "Content-Length: 5\r\nC: d\r\n\r\nNEXT"),
	      true, 1, NULL, false);
	assert_int_equal(r.rc, L7_H1_END);
	assert_int_equal(r.body_len, 11);
	assert_int_equal(r.used, sizeof("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
					 "chunked\r\n\r\n000A\r\n0123456789\r\n1 "
					 "; ext\r\nx\r\n0\r\nA: b\r\n"
					 "Content-Length: 5\r\nC: d\r\n\r\n") - 1);
	assert_int_equal(r.t.nfields, 2);
	assert_string_equal(l7_head_get(&r.t, "a", NULL), "b");
	assert_string_equal(l7_head_get(&r.t, "c", NULL), "d");
	assert_null(l7_head_get(&r.h, "a", NULL));
	assert_int_equal(r.h.content_length, -1);
	done(&r);
	/* a response to HEAD, and 1xx */
	{
		struct l7_head h;
		struct l7_h1_parser p;
		size_t used;
		const char *m = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";

		l7_head_init(&h);
		l7_h1_parser_init(&p, true, NULL);
		l7_h1_parser_start(&p, &h, true, false);
		assert_int_equal(l7_h1_parse_head(&p, (const uint8_t *)m,
						  strlen(m), &used), L7_H1_HEAD);
		assert_int_equal(p.framing, L7_H1_NO_BODY);
		assert_true(l7_h1_body_done(&p));
		assert_int_equal(h.content_length, 5);
		l7_head_free(&h);
		m = "HTTP/1.1 200 Connection established\r\n\r\n";
		l7_h1_parser_start(&p, &h, false, true);
		assert_int_equal(l7_h1_parse_head(&p, (const uint8_t *)m,
						  strlen(m), &used), L7_H1_HEAD);
		assert_int_equal(p.framing, L7_H1_TUNNEL);
		l7_head_free(&h);
		m = "HTTP/1.1 100 Continue\r\n\r\n";
		l7_h1_parser_start(&p, &h, false, false);
		assert_int_equal(l7_h1_parse_head(&p, (const uint8_t *)m,
						  strlen(m), &used), L7_H1_HEAD);
		assert_int_equal(h.status, 100);
		assert_int_equal(p.framing, L7_H1_NO_BODY);
		l7_head_free(&h);
		l7_h1_parser_free(&p);
	}
}

static void test_targets(void **state)
{
	struct result r;

	(void)state;
	parse(&r, S("GET http://Example.com:81?q=1 HTTP/1.1\r\nHost: other\r\n\r\n"),
	      false, 0, NULL, false);
	assert_int_equal(r.rc, L7_H1_END);
	assert_true(r.h.absolute_form);
	assert_string_equal(r.h.scheme, "http");
	assert_string_equal(r.h.authority, "Example.com:81");
	assert_string_equal(r.h.path, "/?q=1");
	done(&r);
	parse(&r, S("GET HTTPS://a.b/c/d HTTP/1.1\r\nHost: a.b\r\n\r\n"), false, 0,
	      NULL, false);
	assert_int_equal(r.rc, L7_H1_END);
	assert_string_equal(r.h.scheme, "https");
	assert_string_equal(r.h.path, "/c/d");
	done(&r);
	parse(&r, S("OPTIONS http://a.b HTTP/1.1\r\nHost: a.b\r\n\r\n"), false, 0,
	      NULL, false);
	assert_string_equal(r.h.path, "*");
	done(&r);
	parse(&r, S("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), false, 0, NULL,
	      false);
	assert_int_equal(r.rc, L7_H1_END);
	assert_string_equal(r.h.path, "*");
	done(&r);
	parse(&r, S("CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: x:1\r\n\r\n"),
	      false, 0, NULL, false);
	assert_int_equal(r.rc, L7_H1_END);
	assert_string_equal(r.h.authority, "[2001:db8::1]:443");
	assert_null(r.h.path);
	done(&r);
	parse(&r, S("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n"
		    "Upgrade: websocket\r\nExpect: 100-continue\r\n\r\n"),
	      false, 0, NULL, false);
	assert_true(r.p.upgrade);
	assert_true(r.p.expect_continue);
	assert_string_equal(r.h.protocol, "websocket");
	assert_int_equal(r.h.nfields, 0);
	done(&r);
	/* Upgrade without Connection: upgrade is not an upgrade */
	parse(&r, S("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n"),
	      false, 0, NULL, false);
	assert_false(r.p.upgrade);
	assert_null(r.h.protocol);
	done(&r);
	/* HTTP/1.0: close unless keep-alive; no Host needed */
	parse(&r, S("GET / HTTP/1.0\r\n\r\n"), false, 0, NULL, false);
	assert_int_equal(r.rc, L7_H1_END);
	assert_true(r.p.close);
	assert_int_equal(r.h.version, 10);
	done(&r);
	parse(&r, S("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), false,
	      0, NULL, false);
	assert_false(r.p.close);
	done(&r);
	parse(&r, S("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
	      false, 0, NULL, false);
	assert_true(r.p.close);
	done(&r);
	/* leading empty lines are skipped; repeated equal lengths merge */
	parse(&r, S("\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
		    "Content-Length: 3, 3\r\n\r\nabc"), false, 1, NULL, false);
	assert_int_equal(r.rc, L7_H1_END);
	assert_int_equal(r.h.content_length, 3);
	assert_memory_equal(r.body, "abc", 3);
	done(&r);
}

static void test_smuggling(void **state)
{
	(void)state;
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
	       "Transfer-Encoding: chunked\r\n\r\n", 400, "cl_and_te");
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	       "Content-Length: 3\r\n\r\n", 400, "cl_and_te");
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
	       "Content-Length: 4\r\n\r\n", 400, "conflicting_content_length");
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\n",
	       400, "conflicting_content_length");
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\n",
	       400, "bad_content_length");
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -3\r\n\r\n",
	       400, "bad_content_length");
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x3\r\n\r\n",
	       400, "bad_content_length");
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3 3\r\n\r\n",
	       400, "bad_content_length");
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
	       400, "bad_content_length");
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: "
	       "99999999999999999999\r\n\r\n", 400, "bad_content_length");
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
	       400, "te_not_chunked_last");
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip"
	       "\r\n\r\n", 400, "te_not_chunked_last");
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked"
	       "\r\n\r\n", 501, "unsupported_transfer_coding");
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	       "Transfer-Encoding: chunked\r\n\r\n", 400, "chunked_twice");
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\""
	       "\r\n\r\n", 400, "bad_transfer_encoding");
	REJECT("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
	       400, "te_in_http10");
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400,
	       "obs_fold");
	REJECT("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, "obs_fold");
	REJECT("GET / HTTP/1.1\nHost: a\r\n\r\n", 400, "bare_lf");
	REJECT("GET / HTTP/1.1\r\nHost: a\n\n", 400, "bare_lf");
	REJECT("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400, "bare_cr");
	REJECT("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "bad_header_name");
	REJECT("GET / HTTP/1.1\r\nHo\tst: a\r\n\r\n", 400, "bad_header_name");
	REJECT("GET / HTTP/1.1\r\nHost: a\r\n: a\r\n\r\n", 400,
	       "bad_header_name");
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400,
	       "bad_header_name");
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nX(y): a\r\n\r\n", 400,
	       "bad_header_name");
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01" "b\r\n\r\n", 400,
	       "bad_header_value");
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", 400,
	       "bad_header_value");
	expect_req_error("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 31,
			 400, "nul_byte");
	expect_req_error("GET /\0 HTTP/1.1\r\n\r\n", 19, 400, "nul_byte");
	REJECT("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_method");
	REJECT(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_method");
	REJECT("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_request_line");
	REJECT("GET\r\n\r\n", 400, "bad_request_line");
	REJECT("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, "bad_version");
	REJECT("GET / http/1.1\r\nHost: a\r\n\r\n", 400, "bad_version");
	REJECT("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400, "bad_version");
	REJECT("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "unsupported_version");
	REJECT("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505, "unsupported_version");
	REJECT("GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_target");
	REJECT("GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_target");
	REJECT("GET /\x80 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_target");
	REJECT("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_target");
	REJECT("GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_target");
	REJECT("GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	       "bad_target");
	REJECT("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_target");
	REJECT("GET a.b:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_target");
	REJECT("CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_target");
	REJECT("CONNECT a.b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_target");
	REJECT("CONNECT a.b:x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_target");
	REJECT("GET / HTTP/1.1\r\n\r\n", 400, "missing_host");
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400,
	       "multiple_host");
	REJECT("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "bad_host");
	REJECT("GET / HTTP/1.1\r\nHost: a@b\r\n\r\n", 400, "bad_host");
	REJECT("GET / HTTP/1.1\r\nHost:\r\n\r\n", 400, "bad_host");
}

static void test_chunk_errors(void **state)
{
	static const char *const bad[][2] = {
		{ "x\r\n", "bad_chunk_size" },
		{ "\r\n", "bad_chunk_size" },
		{ "-1\r\n", "bad_chunk_size" },
		{ "10000000000000000\r\n", "bad_chunk_size" },
		{ "3\r\nabcX", "chunk_missing_crlf" },
		{ "3\r\nabc\rX", "chunk_missing_crlf" },
		{ "3\nabc\r\n", "bare_lf" },
		{ "3\rabc\r\n", "bare_cr" },
		{ "3 \r\nabc\r\n", "bad_chunk_size" },
		{ "3;a=\x01\r\nabc\r\n", "bad_chunk_ext" },
		{ "0\r\nX : y\r\n\r\n", "bad_header_name" },
		{ "0\r\nX: y\r\n z\r\n\r\n", "obs_fold" },
		{ "0\r\nX: y\n\r\n", "bare_lf" },
	};
	char msg[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct result r;
		int n = snprintf(msg, sizeof(msg),
				 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
				 "chunked\r\n\r\n%s", bad[i][0]);

		for (size_t step = 0; step < 2; step++) {
			parse(&r, msg, (size_t)n, false, step, NULL, false);
			if (r.rc != L7_H1_ERROR)
				fail_msg("accepted chunk %zu", i);
			assert_int_equal(r.status, 400);
			assert_string_equal(r.cause, bad[i][1]);
			done(&r);
		}
	}
	/* a long extension is refused */
	{
		struct result r;
		size_t n = 4096 * 2;
		char *m = malloc(n + 200);
		int k = sprintf(m, "POST / HTTP/1.1\r\nHost: a\r\n"
				"Transfer-Encoding: chunked\r\n\r\n1;");

		memset(m + k, 'a', n);
		parse(&r, m, (size_t)k + n, false, 0, NULL, false);
		assert_int_equal(r.rc, L7_H1_ERROR);
		assert_string_equal(r.cause, "chunk_ext_too_long");
		done(&r);
		free(m);
	}
}

static void test_limits(void **state)
{
	struct l7_limits lim = { .max_head_bytes = 64, .max_fields = 3 };
	struct result r;
	char big[200];

	(void)state;
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	parse(&r, big, sizeof(big), false, 0, &lim, false);
	assert_int_equal(r.rc, L7_H1_ERROR);
	assert_int_equal(r.status, 414);
	assert_string_equal(r.cause, "request_line_too_long");
	done(&r);
	parse(&r, S("GET / HTTP/1.1\r\nHost: a\r\nX-Long: "
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n"),
	      false, 0, &lim, false);
	assert_int_equal(r.status, 431);
	assert_string_equal(r.cause, "head_too_large");
	done(&r);
	parse(&r, S("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
	      false, 0, &lim, false);
	assert_int_equal(r.status, 431);
	assert_string_equal(r.cause, "too_many_fields");
	done(&r);
	/* exactly at the limits is fine */
	parse(&r, S("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n"),
	      false, 0, &lim, false);
	assert_int_equal(r.rc, L7_H1_END);
	done(&r);
	/* responses */
	parse(&r, S("HTTP/1.1 99 X\r\n\r\n"), true, 0, NULL, false);
	assert_int_equal(r.rc, L7_H1_ERROR);
	done(&r);
	parse(&r, S("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"), true, 0,
	      NULL, false);
	assert_int_equal(r.rc, L7_H1_END);
	done(&r);
	parse(&r, S("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), true,
	      0, NULL, false);
	assert_int_equal(r.rc, L7_H1_ERROR);
	assert_int_equal(r.status, 501);
	done(&r);
	parse(&r, S("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2"
		    "\r\n\r\n"), true, 0, NULL, false);
	assert_int_equal(r.rc, L7_H1_ERROR);
	done(&r);
	parse(&r, S("HTTP/1.1 2000 OK\r\n\r\n"), true, 0, NULL, false);
	assert_int_equal(r.rc, L7_H1_ERROR);
	done(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tchar),
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_smuggling),
		cmocka_unit_test(test_chunk_errors),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
