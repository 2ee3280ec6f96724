/* Protocol sniffer (see l7_sniff.h). */
#include "l7/l7_sniff.h"

#include <string.h>

enum {
	REC_HANDSHAKE = 22,
	HS_CLIENT_HELLO = 1,
	EXT_SNI = 0,
	EXT_ALPN = 16,
	EXT_SUPPORTED_VERSIONS = 43,
	REC_MAX = 16384,   /* RFC 8446 5.1: plaintext records, 2^14 */
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* GREASE (RFC 8701): 0x0A0A, 0x1A1A, ... 0xFAFA. */
static bool is_grease(uint16_t v)
{
	return (v & 0x0F0F) == 0x0A0A && (v >> 8) == (v & 0xFF);
}

/* ---- ClientHello --------------------------------------------------- */

static const char *hello_sni(struct l7_sniff_tls *t, const uint8_t *p,
			     size_t n)
{
	if (n < 2 || rd16(p) != n - 2 || n == 2)
		return "tls_bad_sni";
	for (size_t i = 2; i < n;) {
		if (n - i < 3)
			return "tls_bad_sni";
		uint8_t type = p[i];
		size_t l = rd16(p + i + 1);
		const uint8_t *name = p + i + 3;
		if (l > n - i - 3 || l == 0)
			return "tls_bad_sni";
		if (type == 0) {
			/* RFC 6066: one name per type; a DNS name, so no
			 * NULs or controls and at most 255 bytes. */
			if (t->has_sni || l > 255)
				return "tls_bad_sni";
			for (size_t k = 0; k < l; k++)
				if (name[k] <= 0x20 || name[k] >= 0x7f)
					return "tls_bad_sni";
			memcpy(t->sni, name, l);
			t->sni[l] = 0;
			t->has_sni = true;
		}
		i += 3 + l;
	}
	return NULL;
}

static const char *hello_alpn(struct l7_sniff_tls *t, const uint8_t *p,
			      size_t n)
{
	if (n < 4 || rd16(p) != n - 2)
		return "tls_bad_alpn";
	t->has_alpn = true;
	for (size_t i = 2; i < n;) {
		size_t l = p[i];
		if (l == 0 || l > n - i - 1)
			return "tls_bad_alpn";
		if (!t->alpn_truncated && t->alpn_len + 1 + l <= sizeof(t->alpn)) {
			memcpy(t->alpn + t->alpn_len, p + i, 1 + l);
			t->alpn_len = (uint16_t)(t->alpn_len + 1 + l);
		} else {
			t->alpn_truncated = true;
		}
		i += 1 + l;
	}
	return NULL;
}

static const char *hello_versions(struct l7_sniff_tls *t, const uint8_t *p,
				  size_t n)
{
	if (n < 3 || p[0] != n - 1 || (p[0] & 1))
		return "tls_bad_versions";
	t->version = 0;
	for (size_t i = 1; i < n; i += 2) {
		uint16_t v = rd16(p + i);
		if (t->nversions < sizeof(t->versions) / sizeof(t->versions[0]))
			t->versions[t->nversions] = v;
		t->nversions++;
		if (!is_grease(v) && v > t->version)
			t->version = v;
	}
	if (!t->version)
		return "tls_bad_versions";
	return NULL;
}

/* body: the ClientHello after its 4-byte handshake header. */
static const char *hello_parse(struct l7_sniff_tls *t, const uint8_t *p,
			       size_t n)
{
	size_t i = 0, l;
	bool seen_sni = false, seen_alpn = false, seen_ver = false;

	if (n < 2 + 32 + 1)
		return "tls_short_hello";
	t->legacy_version = t->version = rd16(p);
	i = 34;
	l = p[i];
	if (l > 32 || l > n - i - 1)
		return "tls_bad_session_id";
	i += 1 + l;
	if (n - i < 2)
		return "tls_bad_cipher_suites";
	l = rd16(p + i);
	if (l < 2 || (l & 1) || l > n - i - 2)
		return "tls_bad_cipher_suites";
	i += 2 + l;
	if (n - i < 1)
		return "tls_bad_compression";
	l = p[i];
	if (l < 1 || l > n - i - 1)
		return "tls_bad_compression";
	i += 1 + l;
	if (i == n)
		return NULL;  /* no extensions: allowed before TLS 1.3 */
	if (n - i < 2 || rd16(p + i) != n - i - 2)
		return "tls_bad_extensions";
	for (i += 2; i < n;) {
		if (n - i < 4)
			return "tls_bad_extensions";
		uint16_t type = rd16(p + i);
		l = rd16(p + i + 2);
		if (l > n - i - 4)
			return "tls_bad_extensions";
		const uint8_t *v = p + i + 4;
		const char *err = NULL;
		bool *seen = type == EXT_SNI ? &seen_sni
			   : type == EXT_ALPN ? &seen_alpn
			   : type == EXT_SUPPORTED_VERSIONS ? &seen_ver : NULL;
		if (seen) {
			if (*seen)
				return "tls_dup_extension";
			*seen = true;
		}
		if (type == EXT_SNI)
			err = hello_sni(t, v, l);
		else if (type == EXT_ALPN)
			err = hello_alpn(t, v, l);
		else if (type == EXT_SUPPORTED_VERSIONS)
			err = hello_versions(t, v, l);
		if (err)
			return err;
		i += 4 + l;
	}
	return NULL;
}

/* The handshake message may span records: gather its bytes (at most
 * L7_SNIFF_TLS_MAX) and parse once whole. Returns MORE or TLS. */
static enum l7_sniff_proto sniff_tls(const uint8_t *b, size_t len,
				     struct l7_sniff_tls *t)
{
	uint8_t hs[L7_SNIFF_TLS_MAX];
	size_t have = 0, off = 0, want = 4;
	bool hdr = false;

	for (;;) {
		if (len - off < 5)
			return L7_SNIFF_MORE;
		size_t rl = rd16(b + off + 3);
		if (b[off] != REC_HANDSHAKE || b[off + 1] != 3 || b[off + 2] > 4 ||
		    rl == 0 || rl > REC_MAX) {
			t->error = "tls_bad_record";
			return L7_SNIFF_TLS;
		}
		size_t avail = len - off - 5 < rl ? len - off - 5 : rl, i = 0;
		while (i < avail && have < want) {
			size_t n = avail - i < want - have ? avail - i : want - have;
			memcpy(hs + have, b + off + 5 + i, n);
			have += n;
			i += n;
			if (have == 4 && !hdr) {
				hdr = true;
				if (hs[0] != HS_CLIENT_HELLO) {
					t->error = "tls_not_client_hello";
					return L7_SNIFF_TLS;
				}
				want = 4 + ((size_t)hs[1] << 16 |
					    (size_t)hs[2] << 8 | hs[3]);
				/* Keeps hs from overflowing: have <= want. */
				if (want > L7_SNIFF_TLS_MAX - 5) {
					t->error = "tls_hello_too_big";
					return L7_SNIFF_TLS;
				}
			}
		}
		/* Bounded by the input the hello takes, headers included. */
		if (off + 5 + (want - have) + i > L7_SNIFF_TLS_MAX) {
			t->error = "tls_hello_too_big";
			return L7_SNIFF_TLS;
		}
		if (hdr && have >= want) {
			t->hello_bytes = (uint32_t)(off + 5 + i);
			break;
		}
		if (avail < rl)
			return L7_SNIFF_MORE;
		off += 5 + rl;
	}
	t->error = hello_parse(t, hs + 4, want - 4);
	return L7_SNIFF_TLS;
}

/* ---- Text and signatures ------------------------------------------- */

static const struct pat {
	const char *s;
	uint8_t n;
	uint8_t proto;
	uint8_t method;
} pats[] = {
	{"PROXY ", 6, L7_SNIFF_PROXY_V1, 0},
	{"\r\n\r\n\0\r\nQUIT\n", 12, L7_SNIFF_PROXY_V2, 0},
	{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24, L7_SNIFF_H2, 0},
	{"GET ", 4, L7_SNIFF_H1, L7_SNIFF_GET},
	{"HEAD ", 5, L7_SNIFF_H1, L7_SNIFF_HEAD},
	{"POST ", 5, L7_SNIFF_H1, L7_SNIFF_POST},
	{"PUT ", 4, L7_SNIFF_H1, L7_SNIFF_PUT},
	{"DELETE ", 7, L7_SNIFF_H1, L7_SNIFF_DELETE},
	{"CONNECT ", 8, L7_SNIFF_H1, L7_SNIFF_CONNECT},
	{"OPTIONS ", 8, L7_SNIFF_H1, L7_SNIFF_OPTIONS},
	{"TRACE ", 6, L7_SNIFF_H1, L7_SNIFF_TRACE},
	{"PATCH ", 6, L7_SNIFF_H1, L7_SNIFF_PATCH},
};

/* First byte of a request-target: origin-form '/', asterisk-form for
 * OPTIONS, authority-form for CONNECT (a host or '['), else
 * absolute-form, which starts with a scheme (ALPHA). */
static bool target_ok(uint8_t c, uint8_t m)
{
	bool alpha = (c | 0x20) >= 'a' && (c | 0x20) <= 'z';

	if (c == '/')
		return m != L7_SNIFF_CONNECT;
	if (c == '*')
		return m == L7_SNIFF_OPTIONS;
	if (m == L7_SNIFF_CONNECT)
		return alpha || (c >= '0' && c <= '9') || c == '[';
	return alpha;
}

enum l7_sniff_proto l7_sniff(const void *buf, size_t len,
			     struct l7_sniff_result *r)
{
	const uint8_t *b = buf;
	bool maybe = false;

	memset(r, 0, sizeof(*r));
	if (len == 0)
		return r->proto = L7_SNIFF_MORE;
	if (b[0] == REC_HANDSHAKE) {
		/* Only TLS starts with 0x16: a record header 16 03 0x. */
		if ((len > 1 && b[1] != 3) || (len > 2 && b[2] > 4))
			return r->proto = L7_SNIFF_OTHER;
		if (len >= 5)
			r->tls.record_version = rd16(b + 1);
		return r->proto = sniff_tls(b, len, &r->tls);
	}
	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		const struct pat *p = &pats[i];
		size_t m = len < p->n ? len : p->n;

		if (memcmp(b, p->s, m) != 0)
			continue;
		if (len < p->n) {
			maybe = true;
			continue;
		}
		if (p->proto != L7_SNIFF_H1)
			return r->proto = p->proto;
		if (len == p->n) {
			maybe = true;
			continue;
		}
		if (target_ok(b[p->n], p->method)) {
			r->method = p->method;
			return r->proto = L7_SNIFF_H1;
		}
	}
	return r->proto = maybe ? L7_SNIFF_MORE : L7_SNIFF_OTHER;
}

bool l7_sniff_alpn_next(const struct l7_sniff_tls *t, size_t *off,
			const char **name, size_t *len)
{
	if (*off >= t->alpn_len)
		return false;
	*len = t->alpn[*off];
	*name = (const char *)t->alpn + *off + 1;
	*off += 1 + *len;
	return true;
}

const char *l7_sniff_proto_name(enum l7_sniff_proto p)
{
	static const char *const names[] = {
		[L7_SNIFF_MORE] = "more", [L7_SNIFF_TLS] = "tls",
		[L7_SNIFF_H2] = "h2", [L7_SNIFF_H1] = "h1",
		[L7_SNIFF_PROXY_V1] = "proxy_v1", [L7_SNIFF_PROXY_V2] = "proxy_v2",
		[L7_SNIFF_OTHER] = "other",
	};

	return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "?";
}
