/* PROXY protocol v1/v2 parser and writers (see l7_pp.h). */
#include "l7/l7_pp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static const uint8_t v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
				   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
static const char v1_sig[] = "PROXY ";

enum {
	TLV_ALPN = 0x01,
	TLV_AUTHORITY = 0x02,
	TLV_CRC32C = 0x03,
	TLV_UNIQUE_ID = 0x05,
	TLV_SSL = 0x20,
	SUB_SSL_VERSION = 0x21,
	SUB_SSL_CN = 0x22,
	SUB_SSL_CIPHER = 0x23,
	TLV_NETNS = 0x30,
};

const char *l7_pp_strerror(int err)
{
	static const char *const names[] = {
		[L7_PP_E_NONE] = "ok",
#define L7_PP_X(n, s) [L7_PP_E_##n] = s,
		L7_PP_ERRORS(L7_PP_X)
#undef L7_PP_X
	};

	if (err >= 0)
		return "ok";
	if ((size_t)-err >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[-err];
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* CRC32C (Castagnoli), bitwise: headers are at most 4 KiB. */
static uint32_t crc32c_update(uint32_t crc, const uint8_t *p, size_t n)
{
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
	}
	return crc;
}

static void map_v4(uint8_t out[16], const uint8_t v4[4])
{
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, v4, 4);
}

static bool is_v4_mapped(const uint8_t a[16])
{
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a, pfx, 12) == 0;
}

/* ---- v1 ------------------------------------------------------------ */

/* Decimal in [0, max], no leading zeros (the spec forbids them so that
 * nobody reads octal). */
static bool v1_num(const char *s, size_t n, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static bool v1_addr4(const char *s, size_t n, uint8_t out[16])
{
	uint8_t a[4];
	size_t i = 0;

	for (int k = 0; k < 4; k++) {
		size_t j = i;
		unsigned v;

		while (j < n && s[j] != '.')
			j++;
		if ((k < 3) != (j < n) || !v1_num(s + i, j - i, 255, &v))
			return false;
		a[k] = (uint8_t)v;
		i = j + 1;
	}
	map_v4(out, a);
	return true;
}

static bool v1_addr6(const char *s, size_t n, uint8_t out[16])
{
	char tmp[64];

	if (n == 0 || n >= sizeof(tmp))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		      (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
			return false;
	}
	memcpy(tmp, s, n);
	tmp[n] = 0;
	return inet_pton(AF_INET6, tmp, out) == 1;
}

/* Bytes that may appear in a v1 line before the CRLF (UNKNOWN aside). */
static bool v1_char_ok(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	       (c >= 'a' && c <= 'f') || c == '.' || c == ':' || c == ' ';
}

static int v1_parse(const uint8_t *b, size_t len, struct l7_pp_result *out)
{
	struct l7_pp_result tmp, *r = &tmp;
	static const char *const protos[] = {"TCP4 ", "TCP6 ", "UNKNOWN"};
	size_t lim = len < L7_PP_V1_MAX ? len : L7_PP_V1_MAX;
	size_t end = 0;          /* index of the LF */
	bool unknown = false;

	/* The protocol word, checked as soon as its bytes arrive. */
	if (len > 6) {
		const char *p = (const char *)b + 6;
		size_t have = len - 6, ok = 0;
		for (int k = 0; k < 3; k++) {
			size_t pl = strlen(protos[k]);
			size_t m = have < pl ? have : pl;
			if (memcmp(p, protos[k], m) == 0)
				ok++;
		}
		if (!ok)
			return -L7_PP_E_V1_BAD_PROTO;
		unknown = have >= 7 && memcmp(p, "UNKNOWN", 7) == 0;
		if (unknown && have > 7 && p[7] != ' ' && p[7] != '\r')
			return -L7_PP_E_V1_BAD_PROTO;
	}
	for (size_t i = 6; i < lim; i++) {
		if (b[i] == '\n') {
			if (b[i - 1] != '\r')
				return -L7_PP_E_V1_BAD_CRLF;
			end = i;
			break;
		}
		if (b[i] == '\r') {
			if (i + 1 < len && b[i + 1] != '\n')
				return -L7_PP_E_V1_BAD_CRLF;
			continue;
		}
		/* After UNKNOWN the spec says to ignore the rest of the line. */
		if (!(unknown && i >= 13) && !v1_char_ok(b[i]))
			return -L7_PP_E_V1_BAD_CHAR;
	}
	if (!end)
		return len >= L7_PP_V1_MAX ? -L7_PP_E_V1_TOO_LONG : 0;

	const char *line = (const char *)b + 6;
	size_t n = end - 1 - 6;  /* up to the CR */

	memset(r, 0, sizeof(*r));
	r->version = 1;
	r->command = L7_PP_PROXY;
	if (unknown) {
		r->family = L7_PP_UNKNOWN;
		*out = tmp;
		return (int)end + 1;
	}
	if (n < 5)
		return -L7_PP_E_V1_BAD_PROTO;
	bool v6 = line[3] == '6';
	const char *f[4];
	size_t fl[4], i = 5;

	/* Exactly four fields, single spaces, nothing after the last. */
	for (int k = 0; k < 4; k++) {
		size_t j = i;
		while (j < n && line[j] != ' ')
			j++;
		if (j == i || (k < 3 && j == n) || (k == 3 && j != n))
			return -L7_PP_E_V1_BAD_FORMAT;
		f[k] = line + i;
		fl[k] = j - i;
		i = j + 1;
	}
	if (v6 ? !v1_addr6(f[0], fl[0], r->src) || !v1_addr6(f[1], fl[1], r->dst)
	       : !v1_addr4(f[0], fl[0], r->src) || !v1_addr4(f[1], fl[1], r->dst))
		return -L7_PP_E_V1_BAD_ADDR;
	unsigned sp, dp;
	if (!v1_num(f[2], fl[2], 65535, &sp) || !v1_num(f[3], fl[3], 65535, &dp))
		return -L7_PP_E_V1_BAD_PORT;
	r->family = v6 ? L7_PP_TCP6 : L7_PP_TCP4;
	r->sport = (uint16_t)sp;
	r->dport = (uint16_t)dp;
	*out = tmp;
	return (int)end + 1;
}

/* ---- v2 ------------------------------------------------------------ */

/* Copy a TLV string, NUL-terminated: 0, or an error when it does not
 * fit or (text) holds a NUL. */
static int tlv_copy(char *dst, size_t cap, const uint8_t *v, size_t n,
		    uint16_t *len_out, bool text)
{
	if (n >= cap)
		return -L7_PP_E_V2_TLV_SIZE;
	if (text && memchr(v, 0, n))
		return -L7_PP_E_V2_TLV_NUL;
	memcpy(dst, v, n);
	dst[n] = 0;
	if (len_out)
		*len_out = (uint16_t)n;
	return 0;
}

static int v2_ssl(const uint8_t *v, size_t n, struct l7_pp_result *r)
{
	if (n < 5)
		return -L7_PP_E_V2_BAD_SSL;
	r->ssl_client = v[0];
	r->ssl_verify = rd32(v + 1);
	for (size_t i = 5; i < n;) {
		if (n - i < 3)
			return -L7_PP_E_V2_BAD_SSL;
		uint8_t t = v[i];
		size_t l = rd16(v + i + 1);
		const uint8_t *sv = v + i + 3;
		if (l > n - i - 3)
			return -L7_PP_E_V2_BAD_SSL;
		char *dst = t == SUB_SSL_VERSION ? r->ssl_version
			  : t == SUB_SSL_CN      ? r->ssl_cn
			  : t == SUB_SSL_CIPHER  ? r->ssl_cipher
						 : NULL;
		int rc = dst ? tlv_copy(dst, 256, sv, l, NULL, true) : 0;
		if (rc)
			return rc;
		i += 3 + l;
	}
	return 0;
}

static int v2_tlvs(const uint8_t *b, size_t off, size_t total,
		   struct l7_pp_result *r)
{
	size_t crc_at = 0;

	while (off < total) {
		if (total - off < 3)
			return -L7_PP_E_V2_TLV_BOUNDS;
		uint8_t t = b[off];
		size_t l = rd16(b + off + 1);
		const uint8_t *v = b + off + 3;
		uint32_t bit = 0;
		int rc = 0;

		if (l > total - off - 3)
			return -L7_PP_E_V2_TLV_BOUNDS;
		switch (t) {
		case TLV_ALPN:
			bit = L7_PP_HAS_ALPN;
			rc = tlv_copy(r->alpn, sizeof(r->alpn), v, l, &r->alpn_len,
				      false);
			break;
		case TLV_AUTHORITY:
			bit = L7_PP_HAS_AUTHORITY;
			rc = tlv_copy(r->authority, sizeof(r->authority), v, l,
				      &r->authority_len, true);
			break;
		case TLV_CRC32C:
			bit = L7_PP_HAS_CRC32C;
			rc = l == 4 ? 0 : -L7_PP_E_V2_TLV_SIZE;
			crc_at = off + 3;
			break;
		case TLV_UNIQUE_ID:
			bit = L7_PP_HAS_UNIQUE_ID;
			rc = l <= sizeof(r->unique_id) ? 0 : -L7_PP_E_V2_TLV_SIZE;
			if (!rc) {
				memcpy(r->unique_id, v, l);
				r->unique_id_len = (uint16_t)l;
			}
			break;
		case TLV_SSL:
			bit = L7_PP_HAS_SSL;
			if (r->tlvs & bit)
				return -L7_PP_E_V2_TLV_DUP;
			rc = v2_ssl(v, l, r);
			break;
		case TLV_NETNS:
			bit = L7_PP_HAS_NETNS;
			rc = tlv_copy(r->netns, sizeof(r->netns), v, l,
				      &r->netns_len, true);
			break;
		default:
			break;  /* NOOP and types we do not use */
		}
		if (r->tlvs & bit)
			return -L7_PP_E_V2_TLV_DUP;
		if (rc)
			return rc;
		r->tlvs |= bit;
		off += 3 + l;
	}
	if (crc_at) {
		/* Over the whole header with the checksum field zeroed. */
		static const uint8_t zero[4];
		uint32_t c = crc32c_update(0xFFFFFFFFu, b, crc_at);
		c = crc32c_update(c, zero, 4);
		c = crc32c_update(c, b + crc_at + 4, total - crc_at - 4);
		if ((c ^ 0xFFFFFFFFu) != rd32(b + crc_at))
			return -L7_PP_E_V2_BAD_CRC;
	}
	return 0;
}

static int v2_parse(const uint8_t *b, size_t len, struct l7_pp_result *r)
{
	if (len > 12) {
		if (b[12] >> 4 != 2)
			return -L7_PP_E_V2_BAD_VERSION;
		if ((b[12] & 0xF) > L7_PP_PROXY)
			return -L7_PP_E_V2_BAD_COMMAND;
	}
	bool local = len > 12 && (b[12] & 0xF) == L7_PP_LOCAL;
	/* LOCAL: the spec says to discard the block, family included. */
	if (len > 13 && !local && ((b[13] >> 4) > 3 || (b[13] & 0xF) > 2))
		return -L7_PP_E_V2_BAD_FAMILY;
	if (len < 16)
		return 0;
	size_t hlen = rd16(b + 14), total = 16 + hlen;
	if (total > L7_PP_V2_MAX)
		return -L7_PP_E_V2_TOO_LONG;
	if (len < total)
		return 0;

	struct l7_pp_result tmp;

	memset(&tmp, 0, sizeof(tmp));
	tmp.version = 2;
	tmp.command = local ? L7_PP_LOCAL : L7_PP_PROXY;
	if (local) {
		*r = tmp;
		return (int)total;
	}
	unsigned af = b[13] >> 4;
	bool dgram = (b[13] & 0xF) == 2;

	/* A family with an UNSPEC protocol (or the reverse) is not one of
	 * the spec's listed bytes; it says to fall back to UNSPEC then. */
	if ((b[13] & 0xF) == 0)
		af = 0;
	static const size_t alen[4] = {0, 12, 36, 216};
	const uint8_t *a = b + 16;

	if (hlen < alen[af])
		return -L7_PP_E_V2_SHORT_ADDR;
	switch (af) {
	case 0:
		/* No addresses; what follows is opaque to us. */
		*r = tmp;
		return (int)total;
	case 1:
		map_v4(tmp.src, a);
		map_v4(tmp.dst, a + 4);
		tmp.sport = rd16(a + 8);
		tmp.dport = rd16(a + 10);
		tmp.family = dgram ? L7_PP_UDP4 : L7_PP_TCP4;
		break;
	case 2:
		memcpy(tmp.src, a, 16);
		memcpy(tmp.dst, a + 16, 16);
		tmp.sport = rd16(a + 32);
		tmp.dport = rd16(a + 34);
		tmp.family = dgram ? L7_PP_UDP6 : L7_PP_TCP6;
		break;
	default:
		tmp.family = L7_PP_UNIX;
		break;
	}
	int rc = v2_tlvs(b, 16 + alen[af], total, &tmp);
	if (rc < 0)
		return rc;
	*r = tmp;
	return (int)total;
}

int l7_pp_parse(const void *buf, size_t len, struct l7_pp_result *r)
{
	const uint8_t *b = buf;

	if (len == 0)
		return 0;
	if (b[0] == v2_sig[0]) {
		if (memcmp(b, v2_sig, len < 12 ? len : 12) != 0)
			return -L7_PP_E_NOT_PP;
		return len < 12 ? 0 : v2_parse(b, len, r);
	}
	if (memcmp(b, v1_sig, len < 6 ? len : 6) != 0)
		return -L7_PP_E_NOT_PP;
	return len < 6 ? 0 : v1_parse(b, len, r);
}

/* ---- writers ------------------------------------------------------- */

ssize_t l7_pp_write_v1(void *buf, size_t cap, const uint8_t *src,
		       uint16_t sport, const uint8_t *dst, uint16_t dport)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], line[L7_PP_V1_MAX + 1];
	int n;

	if (!src || !dst) {
		n = snprintf(line, sizeof(line), "PROXY UNKNOWN\r\n");
	} else if (is_v4_mapped(src) && is_v4_mapped(dst)) {
		inet_ntop(AF_INET, src + 12, s, sizeof(s));
		inet_ntop(AF_INET, dst + 12, d, sizeof(d));
		n = snprintf(line, sizeof(line), "PROXY TCP4 %s %s %u %u\r\n",
			     s, d, sport, dport);
	} else {
		inet_ntop(AF_INET6, src, s, sizeof(s));
		inet_ntop(AF_INET6, dst, d, sizeof(d));
		n = snprintf(line, sizeof(line), "PROXY TCP6 %s %s %u %u\r\n",
			     s, d, sport, dport);
	}
	if (n < 0 || (size_t)n > cap)
		return -ENOSPC;
	memcpy(buf, line, (size_t)n);
	return n;
}

static uint8_t *put_tlv(uint8_t *p, uint8_t t, const void *v, size_t n)
{
	p[0] = t;
	p[1] = (uint8_t)(n >> 8);
	p[2] = (uint8_t)n;
	if (n)
		memcpy(p + 3, v, n);
	return p + 3 + n;
}

ssize_t l7_pp_write_v2(void *buf, size_t cap, const uint8_t *src,
		       uint16_t sport, const uint8_t *dst, uint16_t dport,
		       const struct l7_pp_v2_opts *o)
{
	size_t alpn = o && o->alpn ? strlen(o->alpn) : 0;
	size_t auth = o && o->authority ? strlen(o->authority) : 0;
	size_t netns = o && o->netns ? strlen(o->netns) : 0;
	size_t uid = o && o->unique_id ? o->unique_id_len : 0;
	bool proxy = src && dst;
	bool v4 = proxy && is_v4_mapped(src) && is_v4_mapped(dst);
	size_t alen = !proxy ? 0 : v4 ? 12 : 36;
	size_t total = 16 + alen;

	if (alpn > 255 || auth > 255 || netns > 255 || uid > 128)
		return -EINVAL;
	total += (o && o->alpn ? 3 + alpn : 0) + (o && o->authority ? 3 + auth : 0) +
		 (o && o->netns ? 3 + netns : 0) + (o && o->unique_id ? 3 + uid : 0) +
		 (o && o->crc32c ? 7 : 0);
	if (total > L7_PP_V2_MAX)
		return -EINVAL;
	if (total > cap)
		return -ENOSPC;

	uint8_t *b = buf, *p = b + 16;

	memcpy(b, v2_sig, 12);
	b[12] = 0x20 | (proxy ? L7_PP_PROXY : L7_PP_LOCAL);
	b[13] = !proxy ? 0x00 : v4 ? 0x11 : 0x21;
	b[14] = (uint8_t)((total - 16) >> 8);
	b[15] = (uint8_t)(total - 16);
	if (proxy) {
		size_t w = v4 ? 4 : 16;
		memcpy(p, v4 ? src + 12 : src, w);
		memcpy(p + w, v4 ? dst + 12 : dst, w);
		p += 2 * w;
		*p++ = (uint8_t)(sport >> 8);
		*p++ = (uint8_t)sport;
		*p++ = (uint8_t)(dport >> 8);
		*p++ = (uint8_t)dport;
	}
	if (o && o->alpn)
		p = put_tlv(p, TLV_ALPN, o->alpn, alpn);
	if (o && o->authority)
		p = put_tlv(p, TLV_AUTHORITY, o->authority, auth);
	if (o && o->unique_id)
		p = put_tlv(p, TLV_UNIQUE_ID, o->unique_id, uid);
	if (o && o->netns)
		p = put_tlv(p, TLV_NETNS, o->netns, netns);
	if (o && o->crc32c) {
		static const uint8_t zero[4];
		uint8_t *v = p + 3;
		p = put_tlv(p, TLV_CRC32C, zero, 4);
		uint32_t c = crc32c_update(0xFFFFFFFFu, b, total) ^ 0xFFFFFFFFu;
		v[0] = (uint8_t)(c >> 24);
		v[1] = (uint8_t)(c >> 16);
		v[2] = (uint8_t)(c >> 8);
		v[3] = (uint8_t)c;
	}
	return (ssize_t)total;
}
