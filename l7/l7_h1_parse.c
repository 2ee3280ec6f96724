/* The strict HTTP/1.1 parser. See l7_h1_parse.h.
 *
 * Head lines are copied into a buffer of their own (bounded by the head
 * limit) so that input may be split anywhere; every byte is checked as
 * it arrives (NUL, bare CR, bare LF) and each whole line is then checked
 * against the grammar. Anything a lenient peer could read differently
 * is an error: that is the smuggling defence. */
#include "l7_h1_parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { S_START, S_FIELDS, S_BODY, S_DEAD };
enum { C_SIZE0, C_SIZE, C_WS, C_EXT, C_SIZE_LF, C_DATA, C_DATA_CR,
       C_DATA_LF, C_TRAILER, C_DONE };

#define L7_H1_MAX_CHUNK_EXT 4096
#define L7_H1_MAX_CHUNK ((uint64_t)1 << 60)

const bool l7_h1_tchars[256] = {
	['0' ... '9'] = true, ['A' ... 'Z'] = true, ['a' ... 'z'] = true,
	['!'] = true, ['#'] = true, ['$'] = true, ['%'] = true, ['&'] = true,
	['\''] = true, ['*'] = true, ['+'] = true, ['-'] = true, ['.'] = true,
	['^'] = true, ['_'] = true, ['`'] = true, ['|'] = true, ['~'] = true,
};

/* field-vchar, SP, HTAB: what a field value may hold */
static bool value_char(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int fail(struct l7_h1_parser *p, int status, const char *cause)
{
	p->status = status;
	p->cause = cause;
	p->state = S_DEAD;
	return L7_H1_ERROR;
}

static int nomem(struct l7_h1_parser *p)
{
	return fail(p, 500, "no_memory");
}

void l7_h1_parser_init(struct l7_h1_parser *p, bool response,
		       const struct l7_limits *lim)
{
	memset(p, 0, sizeof(*p));
	p->response = response;
	p->max_head = lim && lim->max_head_bytes ? lim->max_head_bytes : 65536;
	p->max_fields = lim && lim->max_fields ? lim->max_fields : 100;
	p->state = S_DEAD;
}

void l7_h1_parser_free(struct l7_h1_parser *p)
{
	free(p->line);
	free(p->conn_tokens);
	p->line = p->conn_tokens = NULL;
	p->line_cap = p->line_len = 0;
	p->conn_tokens_len = p->conn_tokens_cap = 0;
}

void l7_h1_parser_start(struct l7_h1_parser *p, struct l7_head *h,
			bool req_head, bool req_connect)
{
	char *line = p->line, *tokens = p->conn_tokens;
	size_t cap = p->line_cap, tokens_cap = p->conn_tokens_cap;

	/* the line and token buffers serve the next message too: most
	 * responses carry a Connection field */
	*p = (struct l7_h1_parser){
		.response = p->response, .max_head = p->max_head,
		.max_fields = p->max_fields, .line = line, .line_cap = cap,
		.conn_tokens = tokens, .conn_tokens_cap = tokens_cap,
		.head = h, .req_head = req_head, .req_connect = req_connect,
		.trailers = p->trailers, .cl = -1, .state = S_START,
	};
}

static bool digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* uri-host [ ":" port ]: reg-name or IPv4 or [IP-literal]. No userinfo:
 * "a@b" is how a target is made to mean two hosts. */
static bool authority_ok(const char *s, size_t n, bool need_port)
{
	size_t host_end = n, i = 0;

	if (!n)
		return false;
	if (s[0] == '[') {
		for (i = 1; i < n && s[i] != ']'; i++)
			if (!strchr("0123456789abcdefABCDEF:.vV", s[i]))
				return false;
		if (i == n || i == 1)
			return false;
		host_end = i + 1;
		if (host_end < n && s[host_end] != ':')
			return false;
	} else {
		for (i = 0; i < n && s[i] != ':'; i++) {
			uint8_t c = (uint8_t)s[i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') ||
			      strchr("-._~%!$&'()*+,;=", c)))
				return false;
		}
		if (!i)
			return false;
		host_end = i;
	}
	if (host_end == n)
		return !need_port;
	/* ":" port, up to 5 digits; an empty port is allowed by RFC 3986
	 * but means nothing to a proxy */
	return n - host_end - 1 <= 5 && digits(s + host_end + 1, n - host_end - 1);
}

static int parse_version(struct l7_h1_parser *p, const char *s, size_t n)
{
	if (n != 8 || memcmp(s, "HTTP/", 5) != 0 || s[6] != '.' ||
	    s[5] < '0' || s[5] > '9' || s[7] < '0' || s[7] > '9')
		return fail(p, 400, "bad_version");
	if (s[5] != '1' || (s[7] != '0' && s[7] != '1'))
		return fail(p, 505, "unsupported_version");
	p->head->version = s[7] == '1' ? 11 : 10;
	return 0;
}

static int set_slot(struct l7_h1_parser *p, char **slot, const char *v,
		    size_t n)
{
	return l7_head_set_slot(slot, v, n) ? nomem(p) : 0;
}

static int parse_target(struct l7_h1_parser *p, const char *t, size_t n)
{
	struct l7_head *h = p->head;
	bool connect = strcmp(h->method, "CONNECT") == 0;
	size_t skip = 0;

	for (size_t i = 0; i < n; i++)
		if ((uint8_t)t[i] <= 0x20 || (uint8_t)t[i] >= 0x7f ||
		    t[i] == '#')
			return fail(p, 400, "bad_target");
	if (connect) {
		if (!authority_ok(t, n, true))
			return fail(p, 400, "bad_target");
		return set_slot(p, &h->authority, t, n);
	}
	if (n == 1 && t[0] == '*') {
		if (strcmp(h->method, "OPTIONS") != 0)
			return fail(p, 400, "bad_target");
		return set_slot(p, &h->path, t, n);
	}
	if (t[0] == '/')
		return set_slot(p, &h->path, t, n);
	if (n > 7 && strncasecmp(t, "http://", 7) == 0)
		skip = 7;
	else if (n > 8 && strncasecmp(t, "https://", 8) == 0)
		skip = 8;
	else
		return fail(p, 400, "bad_target");
	{
		const char *a = t + skip, *end = t + n, *q = a;

		while (q < end && *q != '/' && *q != '?')
			q++;
		if (!authority_ok(a, (size_t)(q - a), false))
			return fail(p, 400, "bad_target");
		if (set_slot(p, &h->scheme, skip == 7 ? "http" : "https",
			     skip - 3) ||
		    set_slot(p, &h->authority, a, (size_t)(q - a)))
			return L7_H1_ERROR;
		h->absolute_form = true;
		if (q == end) /* RFC 9112 3.2.4: OPTIONS goes on as "*" */
			return set_slot(p, &h->path,
					strcmp(h->method, "OPTIONS") ? "/" : "*",
					1);
		if (*q == '?') {
			char *path = malloc((size_t)(end - q) + 2);
			int rc;

			if (!path)
				return nomem(p);
			path[0] = '/';
			memcpy(path + 1, q, (size_t)(end - q));
			rc = set_slot(p, &h->path, path, (size_t)(end - q) + 1);
			free(path);
			return rc;
		}
		return set_slot(p, &h->path, q, (size_t)(end - q));
	}
}

static int parse_request_line(struct l7_h1_parser *p, const char *s, size_t n)
{
	const char *sp1 = memchr(s, ' ', n), *sp2;
	size_t mlen;

	if (!sp1)
		return fail(p, 400, "bad_request_line");
	mlen = (size_t)(sp1 - s);
	if (!mlen)
		return fail(p, 400, "bad_method");
	for (size_t i = 0; i < mlen; i++)
		if (!l7_h1_tchar((uint8_t)s[i]))
			return fail(p, 400, "bad_method");
	sp2 = memchr(sp1 + 1, ' ', n - mlen - 1);
	if (!sp2 || sp2 == sp1 + 1)
		return fail(p, 400, "bad_request_line");
	if (set_slot(p, &p->head->method, s, mlen))
		return L7_H1_ERROR;
	if (parse_version(p, sp2 + 1, (size_t)(s + n - sp2 - 1)))
		return L7_H1_ERROR;
	return parse_target(p, sp1 + 1, (size_t)(sp2 - sp1 - 1));
}

static int parse_status_line(struct l7_h1_parser *p, const char *s, size_t n)
{
	int st;

	if (n < 12 || s[8] != ' ' || parse_version(p, s, 8) < 0)
		return p->state == S_DEAD ? L7_H1_ERROR :
		       fail(p, 400, "bad_status_line");
	if (!digits(s + 9, 3) || (n > 12 && s[12] != ' '))
		return fail(p, 400, "bad_status_line");
	st = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	if (st < 100 || st > 599)
		return fail(p, 400, "bad_status");
	for (size_t i = 13; i < n; i++)
		if (!value_char((uint8_t)s[i]))
			return fail(p, 400, "bad_reason");
	p->head->status = st;
	return 0;
}

/* Content-Length: 1*DIGIT, possibly as a list of identical values. */
static int add_content_length(struct l7_h1_parser *p, const char *v, size_t n)
{
	size_t i = 0;

	while (i <= n) {
		size_t start, end;
		int64_t val = 0;

		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		start = i;
		while (i < n && v[i] != ',')
			i++;
		end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (!digits(v + start, end - start))
			return fail(p, 400, "bad_content_length");
		for (size_t k = start; k < end; k++) {
			if (val > (INT64_MAX - 9) / 10)
				return fail(p, 400, "bad_content_length");
			val = val * 10 + (v[k] - '0');
		}
		if (p->cl >= 0 && p->cl != val)
			return fail(p, 400, "conflicting_content_length");
		p->cl = val;
		i++; /* past the comma */
	}
	return 0;
}

static int add_transfer_encoding(struct l7_h1_parser *p, const char *v,
				 size_t n)
{
	size_t i = 0;

	p->te = true;
	while (i < n) {
		size_t start, end;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < n && v[i] != ',')
			i++;
		end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (start == end)
			continue;
		for (size_t k = start; k < end; k++)
			if (!l7_h1_tchar((uint8_t)v[k]))
				return fail(p, 400, "bad_transfer_encoding");
		if (end - start == 7 && strncasecmp(v + start, "chunked", 7) == 0) {
			/* chunked twice is chunked of chunked */
			if (p->te_chunked_last)
				return fail(p, 400, "chunked_twice");
			p->te_chunked_last = true;
		} else {
			if (p->te_chunked_last) /* a coding after chunked */
				p->te_chunked_last = false;
			p->te_other = true;
		}
	}
	return 0;
}

static int add_connection(struct l7_h1_parser *p, const char *v, size_t n)
{
	char *t;

	if (l7_token_list_has(v, n, "close"))
		p->conn_close = true;
	if (l7_token_list_has(v, n, "keep-alive"))
		p->conn_keep = true;
	if (l7_token_list_has(v, n, "upgrade"))
		p->conn_upgrade = true;
	if (p->conn_tokens_len + n + 1 > p->conn_tokens_cap) {
		size_t cap = p->conn_tokens_len + n + 1;

		cap = cap < 64 ? 64 : cap;
		t = realloc(p->conn_tokens, cap);
		if (!t)
			return nomem(p);
		p->conn_tokens = t;
		p->conn_tokens_cap = cap;
	}
	t = p->conn_tokens;
	memcpy(t + p->conn_tokens_len, v, n);
	t[p->conn_tokens_len + n] = ',';
	p->conn_tokens_len += n + 1;
	return 0;
}

static bool name_is(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

/* One field line: name ":" OWS value OWS; a trailer's goes to
 * p->trailers. */
static int parse_field(struct l7_h1_parser *p, const char *s, size_t n,
		       bool trailer)
{
	struct l7_head *h = p->head;
	const char *colon = memchr(s, ':', n);
	size_t nlen, vs, ve;

	if (++p->nfields > p->max_fields)
		return fail(p, 431, "too_many_fields");
	if (!colon || colon == s)
		return fail(p, 400, "bad_header_name");
	nlen = (size_t)(colon - s);
	for (size_t i = 0; i < nlen; i++)
		if (!l7_h1_tchar((uint8_t)s[i]))
			return fail(p, 400, "bad_header_name");
	vs = nlen + 1;
	ve = n;
	while (vs < ve && (s[vs] == ' ' || s[vs] == '\t'))
		vs++;
	while (ve > vs && (s[ve - 1] == ' ' || s[ve - 1] == '\t'))
		ve--;
	for (size_t i = vs; i < ve; i++)
		if (!value_char((uint8_t)s[i]))
			return fail(p, 400, "bad_header_value");
	if (trailer) {
		if (!p->trailers || l7_trailer_forbidden(s, nlen))
			return 0;
		if (l7_head_add(p->trailers, s, nlen, s + vs, ve - vs))
			return nomem(p);
		return 0;
	}
	{
		const char *v = s + vs;
		size_t vn = ve - vs;

		if (name_is(s, nlen, "content-length"))
			return add_content_length(p, v, vn);
		if (name_is(s, nlen, "transfer-encoding"))
			return add_transfer_encoding(p, v, vn);
		if (name_is(s, nlen, "connection"))
			return add_connection(p, v, vn);
		if (name_is(s, nlen, "host")) {
			if (p->response)
				goto keep;
			if (++p->nhost > 1)
				return fail(p, 400, "multiple_host");
			if (!authority_ok(v, vn, false))
				return fail(p, 400, "bad_host");
			/* absolute-form and CONNECT: the target's authority
			 * wins over Host (RFC 9112 3.2.2) */
			if (h->absolute_form || !strcmp(h->method, "CONNECT"))
				return 0;
			return set_slot(p, &h->authority, v, vn);
		}
		if (name_is(s, nlen, "upgrade"))
			return h->protocol ? 0 : set_slot(p, &h->protocol, v, vn);
		if (name_is(s, nlen, "keep-alive") || name_is(s, nlen, "te") ||
		    name_is(s, nlen, "proxy-connection"))
			return 0;
		if (!p->response && name_is(s, nlen, "expect") &&
		    name_is(v, vn, "100-continue")) {
			p->expect_continue = true;
			return 0;
		}
keep:
		if (l7_head_add(h, s, nlen, v, vn))
			return nomem(p);
		return 0;
	}
}

/* The empty line: check the whole head and settle the framing. */
static int finish_head(struct l7_h1_parser *p)
{
	struct l7_head *h = p->head;
	bool v10 = h->version == 10;

	if (!p->response) {
		if (!v10 && !p->nhost)
			return fail(p, 400, "missing_host");
	}
	if (p->te && p->cl >= 0)
		return fail(p, 400, "cl_and_te");
	if (p->te) {
		if (v10)
			return fail(p, 400, "te_in_http10");
		if (!p->response && !p->te_chunked_last)
			return fail(p, 400, "te_not_chunked_last");
		if (p->te_other)
			return fail(p, 501, "unsupported_transfer_coding");
		if (!p->te_chunked_last)
			return fail(p, 400, "bad_transfer_encoding");
	}
	/* fields the Connection header names are hop-by-hop too */
	for (size_t i = 0; i < h->nfields;) {
		struct l7_field *f = &h->fields[i];

		if (p->conn_tokens_len &&
		    l7_token_list_has(p->conn_tokens, p->conn_tokens_len,
				      f->name)) {
			memmove(f, f + 1, (h->nfields - i - 1) * sizeof(*f));
			h->nfields--;
		} else {
			i++;
		}
	}
	p->upgrade = p->conn_upgrade && h->protocol;
	/* protocol is a request slot (l7_http.h): NULL in responses */
	if ((!p->upgrade || p->response) && h->protocol)
		set_slot(p, &h->protocol, NULL, 0);
	p->close = p->conn_close || (v10 && !p->conn_keep);
	h->content_length = p->cl;
	if (!p->response) {
		if (p->te) {
			p->framing = L7_H1_CHUNKED;
		} else if (p->cl > 0) {
			p->framing = L7_H1_LENGTH;
			p->left = (uint64_t)p->cl;
		} else {
			p->framing = L7_H1_NO_BODY;
			h->content_length = 0;
		}
	} else if (h->status == 101 ||
		   (p->req_connect && h->status / 100 == 2)) {
		p->framing = L7_H1_TUNNEL;
		h->content_length = -1;
	} else if (h->status < 200 || h->status == 204 || h->status == 304 ||
		   p->req_head) {
		p->framing = L7_H1_NO_BODY;
	} else if (p->te) {
		p->framing = L7_H1_CHUNKED;
	} else if (p->cl >= 0) {
		p->framing = p->cl ? L7_H1_LENGTH : L7_H1_NO_BODY;
		p->left = (uint64_t)p->cl;
	} else {
		p->framing = L7_H1_TO_CLOSE;
		p->close = true;
	}
	p->state = S_BODY;
	p->cstate = C_SIZE0;
	p->head_bytes = 0;
	p->nfields = 0;
	return L7_H1_HEAD;
}

/* Gather one line. 1: a line is in p->line; 0: need more; <0: error. */
static int line_byte(struct l7_h1_parser *p, uint8_t c)
{
	if (++p->head_bytes > p->max_head) {
		if (p->state == S_START && !p->response)
			return fail(p, 414, "request_line_too_long");
		return fail(p, 431, "head_too_large");
	}
	if (!c)
		return fail(p, 400, "nul_byte");
	if (p->cr) {
		if (c != '\n')
			return fail(p, 400, "bare_cr");
		p->cr = false;
		return 1;
	}
	if (c == '\r') {
		p->cr = true;
		return 0;
	}
	if (c == '\n')
		return fail(p, 400, "bare_lf");
	if (p->line_len == p->line_cap) {
		size_t cap = p->line_cap ? p->line_cap * 2 : 256;
		char *l = realloc(p->line, cap);

		if (!l)
			return nomem(p);
		p->line = l;
		p->line_cap = cap;
	}
	p->line[p->line_len++] = (char)c;
	return 0;
}

/* The line so far grows by in[0..len), bytes line_byte would take one by
 * one without a word (no NUL, CR or LF, within max_head): how many of
 * them, 0 when the next byte needs line_byte. */
static size_t line_run(struct l7_h1_parser *p, const uint8_t *in, size_t len)
{
	size_t n = 0;

	if (p->cr || p->head_bytes >= p->max_head)
		return 0;
	if (len > p->max_head - p->head_bytes)
		len = p->max_head - p->head_bytes;
	while (n < len && in[n] != '\r' && in[n] != '\n' && in[n])
		n++;
	if (!n)
		return 0;
	if (p->line_len + n > p->line_cap) {
		size_t cap = p->line_cap ? p->line_cap * 2 : 256;
		char *l;

		while (cap < p->line_len + n)
			cap *= 2;
		l = realloc(p->line, cap);
		if (!l)
			return 0; /* line_byte says so */
		p->line = l;
		p->line_cap = cap;
	}
	memcpy(p->line + p->line_len, in, n);
	p->line_len += n;
	p->head_bytes += (uint32_t)n;
	return n;
}

int l7_h1_parse_head(struct l7_h1_parser *p, const uint8_t *in, size_t len,
		     size_t *used)
{
	size_t i;

	*used = 0;
	if (p->state == S_DEAD)
		return L7_H1_ERROR;
	if (p->state != S_START && p->state != S_FIELDS)
		return fail(p, 500, "misuse");
	for (i = 0; i < len; i++) {
		int rc;
		const char *s;
		size_t n;

		i += line_run(p, in + i, len - i);
		if (i == len)
			break;
		rc = line_byte(p, in[i]);
		s = p->line;
		n = p->line_len;
		if (rc < 0)
			return rc;
		if (!rc)
			continue;
		p->line_len = 0;
		if (p->state == S_START) {
			if (!n && !p->response) /* RFC 9112 2.2 */
				continue;
			rc = p->response ? parse_status_line(p, s, n) :
			     parse_request_line(p, s, n);
			if (rc < 0)
				return rc;
			p->state = S_FIELDS;
			continue;
		}
		if (!n) {
			*used = i + 1;
			return finish_head(p);
		}
		if (s[0] == ' ' || s[0] == '\t')
			return fail(p, 400, "obs_fold");
		rc = parse_field(p, s, n, false);
		if (rc < 0)
			return rc;
	}
	*used = len;
	return L7_H1_AGAIN;
}

static int chunk_byte(struct l7_h1_parser *p, uint8_t c)
{
	int v;

	switch (p->cstate) {
	case C_SIZE0:
	case C_SIZE:
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			v = -1;
		if (v >= 0) {
			if (p->left >= L7_H1_MAX_CHUNK >> 4)
				return fail(p, 400, "bad_chunk_size");
			p->left = p->left * 16 + (uint64_t)v;
			p->cstate = C_SIZE;
			return 0;
		}
		if (p->cstate == C_SIZE0)
			return fail(p, 400, "bad_chunk_size");
		if (c == '\n')
			return fail(p, 400, "bare_lf");
		/* what ends a size */
		/* fall through */
	case C_WS:
		if (c == ' ' || c == '\t') {
			p->cstate = C_WS; /* BWS, only before ";" */
			return 0;
		}
		if (c == ';') {
			p->cstate = C_EXT;
			p->ext_len = 0;
			return 0;
		}
		if (c == '\r' && p->cstate == C_SIZE) {
			p->cstate = C_SIZE_LF;
			return 0;
		}
		return fail(p, 400, "bad_chunk_size");
	case C_EXT:
		if (c == '\r') {
			p->cstate = C_SIZE_LF;
			return 0;
		}
		if (!value_char(c))
			return fail(p, 400, "bad_chunk_ext");
		if (++p->ext_len > L7_H1_MAX_CHUNK_EXT)
			return fail(p, 400, "chunk_ext_too_long");
		return 0;
	case C_SIZE_LF:
		if (c != '\n')
			return fail(p, 400, "bare_cr");
		if (p->left) {
			p->cstate = C_DATA;
		} else {
			p->cstate = C_TRAILER;
			p->head_bytes = 0;
			p->nfields = 0;
			p->line_len = 0;
		}
		return 0;
	case C_DATA_CR:
		if (c != '\r')
			return fail(p, 400, "chunk_missing_crlf");
		p->cstate = C_DATA_LF;
		return 0;
	case C_DATA_LF:
		if (c != '\n')
			return fail(p, 400, "chunk_missing_crlf");
		p->cstate = C_SIZE0;
		return 0;
	case C_TRAILER: {
		int rc = line_byte(p, c);

		if (rc <= 0)
			return rc;
		if (!p->line_len) {
			p->cstate = C_DONE;
			return 0;
		}
		rc = p->line[0] == ' ' || p->line[0] == '\t' ?
		     fail(p, 400, "obs_fold") :
		     parse_field(p, p->line, p->line_len, true);
		p->line_len = 0;
		return rc;
	}
	}
	return fail(p, 500, "misuse");
}

bool l7_h1_body_done(const struct l7_h1_parser *p)
{
	if (p->state != S_BODY)
		return false;
	switch (p->framing) {
	case L7_H1_NO_BODY:
		return true;
	case L7_H1_LENGTH:
		return p->left == 0;
	case L7_H1_CHUNKED:
		return p->cstate == C_DONE;
	default:
		return false;
	}
}

int l7_h1_parse_body(struct l7_h1_parser *p, const uint8_t *in, size_t len,
		     size_t *used, const uint8_t **data, size_t *dlen)
{
	size_t i = 0, n;

	*used = 0;
	*data = NULL;
	*dlen = 0;
	if (p->state != S_BODY)
		return p->state == S_DEAD ? L7_H1_ERROR : fail(p, 500, "misuse");
	if (l7_h1_body_done(p))
		return L7_H1_END;
	switch (p->framing) {
	case L7_H1_LENGTH:
		n = len < p->left ? len : (size_t)p->left;
		p->left -= n;
		break;
	case L7_H1_TO_CLOSE:
	case L7_H1_TUNNEL:
		n = len;
		break;
	case L7_H1_CHUNKED:
		for (; i < len && p->cstate != C_DATA; i++) {
			if (chunk_byte(p, in[i]) < 0)
				return L7_H1_ERROR;
			if (p->cstate == C_DONE) {
				*used = i + 1;
				return L7_H1_END;
			}
		}
		n = len - i < p->left ? len - i : (size_t)p->left;
		p->left -= n;
		if (p->cstate == C_DATA && !p->left)
			p->cstate = C_DATA_CR;
		break;
	default:
		n = 0;
	}
	*used = i + n;
	if (!n)
		return L7_H1_AGAIN;
	*data = in + i;
	*dlen = n;
	return L7_H1_DATA;
}

int l7_h1_parse_eof(struct l7_h1_parser *p)
{
	if (l7_h1_body_done(p))
		return L7_H1_END;
	if (p->state == S_BODY && (p->framing == L7_H1_TO_CLOSE ||
				   p->framing == L7_H1_TUNNEL))
		return L7_H1_END;
	if (p->state == S_DEAD)
		return L7_H1_ERROR;
	return fail(p, 400, "truncated_body");
}
