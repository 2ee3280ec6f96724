/* Streaming form-field extraction (see l7_form.h). */
#include "l7/l7_form.h"

#include <stdlib.h>
#include <string.h>

enum state {
	/* urlencoded */
	U_NAME,
	U_VALUE,
	/* multipart */
	M_PREAMBLE,      /* before the first delimiter: discarded */
	M_AFTER_DELIM,   /* "--" (close), padding, or CRLF */
	M_CLOSE,         /* saw "-" after the boundary, want the second */
	M_PAD,           /* transport padding before CRLF */
	M_LF,            /* CR seen after the boundary */
	M_HEADERS,
	M_BODY,
	M_EPILOGUE,      /* after the close delimiter: discarded */
};

#define OUT_MAX 512   /* decoded urlencoded bytes batched per callback */

struct l7_form {
	enum l7_form_kind kind;
	enum state st;
	int err;
	l7_form_cb cb;
	void *arg;
	struct l7_form_field field;

	/* urlencoded: decoded name, value bytes waiting to go out, a
	 * pending escape ('%' and up to one hex digit), whether the current
	 * &-segment had any byte. */
	size_t name_len;
	char name[L7_FORM_NAME_MAX + 1];
	size_t out_len;
	uint8_t out[OUT_MAX];
	uint8_t esc[2];
	uint8_t esc_n;
	bool seg;

	/* multipart: "\r\n--" boundary; how much of it matched, and how many
	 * of those bytes came from earlier chunks (not yet given out). */
	size_t dlen, match, held;
	char delim[4 + L7_FORM_BOUNDARY_MAX];
	size_t hlen;
	char hdr[L7_FORM_HEADERS_MAX + 1];
};

const char *l7_form_strerror(int err)
{
	static const char *const names[] = {
		[L7_FORM_E_NONE] = "ok",
#define L7_FORM_X(n, s) [L7_FORM_E_##n] = s,
		L7_FORM_ERRORS(L7_FORM_X)
#undef L7_FORM_X
	};

	if (err >= 0)
		return "ok";
	if ((size_t)-err >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[-err];
}

/* ---- Content-Type -------------------------------------------------- */

static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static size_t skip_ows(const char *s, size_t i, size_t n)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

static bool ieq(const char *a, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(a, lit, n) == 0;
}

/* token "=" ( token / quoted-string ) at s[*i]; the value unescaped into
 * val (cap bytes, NUL-terminated) or, when val is NULL, skipped. */
static bool param(const char *s, size_t n, size_t *i, const char **name,
		  size_t *nlen, char *val, size_t cap, size_t *vlen)
{
	size_t k = *i, v = 0;

	*name = s + k;
	while (k < n && is_tchar((unsigned char)s[k]))
		k++;
	*nlen = (size_t)(s + k - *name);
	if (!*nlen || k >= n || s[k] != '=')
		return false;
	k++;
	if (k < n && s[k] == '"') {
		for (k++;; k++) {
			if (k >= n)
				return false;
			unsigned char c = (unsigned char)s[k];
			if (c == '"')
				break;
			if (c == '\\') {
				if (++k >= n)
					return false;
				c = (unsigned char)s[k];
			}
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return false;
			if (val && v + 1 < cap)
				val[v] = (char)c;
			v++;
		}
		k++;
	} else {
		size_t st = k;
		while (k < n && is_tchar((unsigned char)s[k])) {
			if (val && v + 1 < cap)
				val[v] = s[k];
			v++, k++;
		}
		if (k == st)
			return false;
	}
	if (val)
		val[v + 1 < cap ? v : cap - 1] = 0;
	*vlen = v;
	*i = k;
	return true;
}

static bool bchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
	       (c && strchr("'()+_,-./:=? ", c));
}

int l7_form_content_type(const char *ct, size_t n, enum l7_form_kind *kind,
			 char boundary[L7_FORM_BOUNDARY_MAX + 1])
{
	size_t i = skip_ows(ct, 0, n), t = i, slash, blen = 0;
	bool have_b = false;
	char tmp[L7_FORM_BOUNDARY_MAX + 2];

	while (i < n && is_tchar((unsigned char)ct[i]))
		i++;
	if (i == t || i >= n || ct[i] != '/')
		return -L7_FORM_E_BAD_CONTENT_TYPE;
	slash = i++;
	while (i < n && is_tchar((unsigned char)ct[i]))
		i++;
	if (i == slash + 1)
		return -L7_FORM_E_BAD_CONTENT_TYPE;
	if (ieq(ct + t, i - t, "application/x-www-form-urlencoded"))
		*kind = L7_FORM_URLENCODED;
	else if (ieq(ct + t, i - t, "multipart/form-data"))
		*kind = L7_FORM_MULTIPART;
	else
		return -L7_FORM_E_BAD_CONTENT_TYPE;
	for (;;) {
		i = skip_ows(ct, i, n);
		if (i == n)
			break;
		if (ct[i] != ';')
			return -L7_FORM_E_BAD_CONTENT_TYPE;
		i = skip_ows(ct, i + 1, n);
		if (i == n)
			break;  /* a trailing ';' is tolerated */
		const char *pn;
		size_t pl, vl;
		if (!param(ct, n, &i, &pn, &pl, tmp, sizeof(tmp), &vl))
			return -L7_FORM_E_BAD_CONTENT_TYPE;
		if (!ieq(pn, pl, "boundary"))
			continue;
		if (have_b)
			return -L7_FORM_E_BAD_CONTENT_TYPE;
		have_b = true;
		blen = vl;
		if (blen == 0 || blen > L7_FORM_BOUNDARY_MAX ||
		    tmp[blen - 1] == ' ')
			return -L7_FORM_E_BAD_BOUNDARY;
		for (size_t k = 0; k < blen; k++)
			if (!bchar((unsigned char)tmp[k]))
				return -L7_FORM_E_BAD_BOUNDARY;
	}
	if (*kind == L7_FORM_MULTIPART) {
		if (!have_b)
			return -L7_FORM_E_NO_BOUNDARY;
		memcpy(boundary, tmp, blen);
		boundary[blen] = 0;
	} else if (boundary) {
		boundary[0] = 0;
	}
	return 0;
}

/* ---- common -------------------------------------------------------- */

struct l7_form *l7_form_new(const char *ct, size_t ct_len, l7_form_cb cb,
			    void *arg, int *err)
{
	char b[L7_FORM_BOUNDARY_MAX + 1];
	enum l7_form_kind kind;
	struct l7_form *f;
	int rc = l7_form_content_type(ct, ct_len, &kind, b);

	if (rc < 0) {
		*err = rc;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		*err = -L7_FORM_E_NOMEM;
		return NULL;
	}
	f->kind = kind;
	f->cb = cb;
	f->arg = arg;
	if (kind == L7_FORM_URLENCODED) {
		f->st = U_NAME;
	} else {
		f->st = M_PREAMBLE;
		memcpy(f->delim, "\r\n--", 4);
		f->dlen = 4 + strlen(b);
		memcpy(f->delim + 4, b, f->dlen - 4);
		/* The first delimiter may open the body without a CRLF. */
		f->match = f->held = 2;
	}
	*err = 0;
	return f;
}

void l7_form_free(struct l7_form *f)
{
	free(f);
}

static int emit(struct l7_form *f, const void *d, size_t n, bool final)
{
	if (f->cb(f->arg, &f->field, d, n, final) != 0)
		return f->err = -L7_FORM_E_CALLBACK;
	return 0;
}

/* ---- urlencoded ---------------------------------------------------- */

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int u_flush(struct l7_form *f, bool final)
{
	int rc = 0;

	if (f->out_len || final)
		rc = emit(f, f->out, f->out_len, final);
	f->out_len = 0;
	return rc;
}

/* One decoded byte into the name or the value. */
static int u_put(struct l7_form *f, uint8_t c)
{
	if (f->st == U_NAME) {
		if (f->name_len >= L7_FORM_NAME_MAX)
			return f->err = -L7_FORM_E_NAME_TOO_LONG;
		f->name[f->name_len++] = (char)c;
		return 0;
	}
	f->out[f->out_len++] = c;
	return f->out_len == OUT_MAX ? u_flush(f, false) : 0;
}

/* A '%' not followed by two hex digits stays as it is (WHATWG). */
static int u_esc_literal(struct l7_form *f)
{
	int rc = 0;

	for (uint8_t k = 0; k < f->esc_n && !rc; k++)
		rc = u_put(f, f->esc[k]);
	f->esc_n = 0;
	return rc;
}

static void u_begin_value(struct l7_form *f)
{
	f->name[f->name_len] = 0;
	f->field.name = f->name;
	f->field.name_len = f->name_len;
	f->st = U_VALUE;
}

/* End of an &-segment: the field, if the segment had any byte. */
static int u_end_field(struct l7_form *f)
{
	int rc = u_esc_literal(f);

	if (rc)
		return rc;
	if (f->st == U_NAME && f->seg)
		u_begin_value(f);
	if (f->st == U_VALUE) {
		rc = u_flush(f, true);
		f->field.index++;
	}
	f->st = U_NAME;
	f->name_len = 0;
	f->seg = false;
	return rc;
}

static int u_feed(struct l7_form *f, const uint8_t *p, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++) {
		uint8_t c = p[i];

		if (f->esc_n) {
			int h = hexval(c);
			if (h >= 0 && f->esc_n == 2) {
				f->esc_n = 0;
				rc = u_put(f, (uint8_t)(hexval(f->esc[1]) << 4 | h));
				continue;
			}
			if (h >= 0) {
				f->esc[f->esc_n++] = c;
				continue;
			}
			rc = u_esc_literal(f);  /* then c as usual */
			if (rc)
				break;
		}
		if (c == '&') {
			rc = u_end_field(f);
			continue;
		}
		f->seg = true;
		if (c == '=' && f->st == U_NAME)
			u_begin_value(f);
		else if (c == '%')
			f->esc[f->esc_n++] = c;
		else
			rc = u_put(f, c == '+' ? ' ' : c);
	}
	/* Hand out what was decoded: values stream, chunk by chunk. */
	if (!rc && f->st == U_VALUE)
		rc = u_flush(f, false);
	return rc;
}

/* ---- multipart: part headers --------------------------------------- */

/* Content-Disposition: form-data; name="x"; filename="y". The value is
 * s[0..n), NUL-terminated at n. The name and filename are cut out in
 * place once the whole value parsed (quoted strings unescaped, which
 * only shrinks them), so the field points into the header block. */
static int m_disposition(struct l7_form *f, char *s, size_t n)
{
	struct { char *v; size_t end, len; bool set; } want[2] = {0};
	size_t i = 0;

	while (i < n && is_tchar((unsigned char)s[i]))
		i++;
	if (!ieq(s, i, "form-data"))
		return -L7_FORM_E_BAD_DISPOSITION;
	for (;;) {
		i = skip_ows(s, i, n);
		if (i == n)
			break;
		if (s[i] != ';')
			return -L7_FORM_E_BAD_PART_HEADERS;
		i = skip_ows(s, i + 1, n);
		if (i == n)
			break;
		const char *pn;
		size_t pl, vl, start = i;
		if (!param(s, n, &i, &pn, &pl, NULL, 0, &vl))
			return -L7_FORM_E_BAD_PART_HEADERS;
		int k = ieq(pn, pl, "name") ? 0 : ieq(pn, pl, "filename") ? 1 : -1;
		if (k < 0)
			continue;  /* filename* and others: RFC 7578 4.2 */
		if (want[k].set)
			return -L7_FORM_E_BAD_DISPOSITION;
		want[k].set = true;
		want[k].v = s + start + pl + 1;
		want[k].end = i;
		want[k].len = vl;
	}
	if (!want[0].set)
		return -L7_FORM_E_BAD_DISPOSITION;
	if (want[0].len > L7_FORM_NAME_MAX)
		return -L7_FORM_E_NAME_TOO_LONG;
	for (int k = 0; k < 2; k++) {
		char *v = want[k].v;
		if (!want[k].set)
			continue;
		if (*v == '"') {
			size_t o = 0;
			for (char *q = v + 1; *q != '"'; q++) {
				if (*q == '\\')
					q++;
				v[o++] = *q;
			}
			v[o] = 0;
		} else {
			s[want[k].end] = 0;
		}
	}
	f->field.name = want[0].v;
	f->field.name_len = want[0].len;
	f->field.filename = want[1].set ? want[1].v : NULL;
	return 0;
}

static bool hdr_value_ok(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* The block hdr[0..hlen) ends with an empty line; every line is CRLF. */
static int m_headers(struct l7_form *f)
{
	char *s = f->hdr, *end = f->hdr + f->hlen - 2;  /* at the last CRLF */
	bool disp = false;

	f->field.name = NULL;
	f->field.filename = NULL;
	f->field.content_type = NULL;
	/* Obsolete line folding (RFC 7230 3.2.4): refused up front. */
	for (char *q = f->hdr; q < end; q++)
		if (*q == '\n' && (q[1] == ' ' || q[1] == '\t'))
			return -L7_FORM_E_BAD_PART_HEADERS;
	while (s < end) {
		char *eol = memchr(s, '\r', (size_t)(end - s + 1));
		char *colon = s, *v, *ve;
		if (!eol || eol[1] != '\n')
			return -L7_FORM_E_BAD_PART_HEADERS;
		while (colon < eol && is_tchar((unsigned char)*colon))
			colon++;
		if (colon == s || colon == eol || *colon != ':')
			return -L7_FORM_E_BAD_PART_HEADERS;  /* folding too */
		v = colon + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		ve = eol;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (!hdr_value_ok(v, (size_t)(ve - v)))
			return -L7_FORM_E_BAD_PART_HEADERS;
		*ve = 0;
		if (ieq(s, (size_t)(colon - s), "content-disposition")) {
			if (disp)
				return -L7_FORM_E_BAD_DISPOSITION;
			disp = true;
			int rc = m_disposition(f, v, (size_t)(ve - v));
			if (rc)
				return rc;
		} else if (ieq(s, (size_t)(colon - s), "content-type")) {
			if (f->field.content_type)
				return -L7_FORM_E_BAD_PART_HEADERS;
			f->field.content_type = v;
		}
		s = eol + 2;
	}
	return disp ? 0 : -L7_FORM_E_BAD_DISPOSITION;
}

/* ---- multipart: framing -------------------------------------------- */

/* Body or preamble bytes p[*i..n): look for the delimiter, handing data
 * out (body) or dropping it (preamble). Returns with *i at n, or just
 * past a whole delimiter with the state moved on. */
static int m_scan(struct l7_form *f, const uint8_t *p, size_t n, size_t *ip)
{
	bool body = f->st == M_BODY;
	size_t i = *ip, run = i;
	int rc;

	while (i < n) {
		if (f->match == 0) {
			const uint8_t *cr = memchr(p + i, '\r', n - i);
			if (!cr) {
				i = n;
				break;
			}
			i = (size_t)(cr - p);
		}
		if (p[i] == (uint8_t)f->delim[f->match]) {
			i++;
			if (++f->match < f->dlen)
				continue;
			/* Whole delimiter: the data before it ends the part. */
			size_t here = f->dlen - f->held;
			if (body && (rc = emit(f, p + run, i - here - run, true)))
				return rc;
			if (body)
				f->field.index++;
			f->match = f->held = 0;
			f->st = M_AFTER_DELIM;
			*ip = i;
			return 0;
		}
		/* Mismatch: the matched bytes were data after all. Those from
		 * earlier chunks come first; those from this one are in the
		 * run. No proper suffix of a partial match can begin a new
		 * one ('\r' is only at the delimiter's start), so matching
		 * restarts at this byte. */
		if (f->held && body && (rc = emit(f, f->delim, f->held, false)))
			return rc;
		f->held = 0;
		f->match = 0;
		if (p[i] != '\r')
			i++;
	}
	/* Chunk end: a partial match at the tail is held back. */
	size_t tail = f->match - f->held;
	if (body && n - tail > run && (rc = emit(f, p + run, n - tail - run, false)))
		return rc;
	f->held = f->match;
	*ip = n;
	return 0;
}

static int m_feed(struct l7_form *f, const uint8_t *p, size_t n)
{
	size_t i = 0;
	int rc = 0;

	while (i < n && !rc) {
		uint8_t c = p[i];

		switch (f->st) {
		case M_PREAMBLE:
		case M_BODY:
			rc = m_scan(f, p, n, &i);
			break;
		case M_AFTER_DELIM:
			i++;
			if (c == '-')
				f->st = M_CLOSE;
			else if (c == ' ' || c == '\t')
				f->st = M_PAD;
			else if (c == '\r')
				f->st = M_LF;
			else
				rc = -L7_FORM_E_BAD_BOUNDARY_LINE;
			break;
		case M_CLOSE:
			i++;
			if (c == '-')
				f->st = M_EPILOGUE;
			else
				rc = -L7_FORM_E_BAD_BOUNDARY_LINE;
			break;
		case M_PAD:
			i++;
			if (c == '\r')
				f->st = M_LF;
			else if (c != ' ' && c != '\t')
				rc = -L7_FORM_E_BAD_BOUNDARY_LINE;
			break;
		case M_LF:
			i++;
			if (c != '\n')
				rc = -L7_FORM_E_BAD_BOUNDARY_LINE;
			f->st = M_HEADERS;
			f->hlen = 0;
			break;
		case M_HEADERS:
			i++;
			if (f->hlen == L7_FORM_HEADERS_MAX) {
				rc = -L7_FORM_E_HEADERS_TOO_LONG;
				break;
			}
			/* CR only before LF, LF only after CR. */
			if ((c == '\n') != (f->hlen && f->hdr[f->hlen - 1] == '\r')) {
				rc = -L7_FORM_E_BAD_PART_HEADERS;
				break;
			}
			f->hdr[f->hlen++] = (char)c;
			if (c != '\n')
				break;
			if (f->hlen == 2 ||
			    (f->hlen >= 4 && f->hdr[f->hlen - 3] == '\n')) {
				f->hdr[f->hlen] = 0;
				rc = m_headers(f);
				f->st = M_BODY;
			}
			break;
		case M_EPILOGUE:
			i = n;  /* ignored, as RFC 2046 says */
			break;
		default:
			i = n;
			break;
		}
	}
	return rc;
}

int l7_form_feed(struct l7_form *f, const void *data, size_t len)
{
	int rc;

	if (f->err)
		return f->err;
	rc = f->kind == L7_FORM_URLENCODED ? u_feed(f, data, len)
					   : m_feed(f, data, len);
	if (rc)
		f->err = rc;
	return rc;
}

int l7_form_finish(struct l7_form *f)
{
	int rc = 0;

	if (f->err)
		return f->err;
	if (f->kind == L7_FORM_URLENCODED)
		rc = u_end_field(f);
	else if (f->st != M_EPILOGUE)
		rc = -L7_FORM_E_NO_FINAL_BOUNDARY;
	if (rc)
		f->err = rc;
	return rc;
}
