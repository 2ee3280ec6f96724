/* l7_sniff: real first flights (data/sniff/, captured from curl 7.88 and
 * openssl s_client on loopback) classify right and, cut at every byte,
 * say "more" or the right verdict, never a wrong one; ClientHellos split
 * over many records, GREASE, no SNI; the earliest byte each verdict is
 * reached at; junk; malformed hellos. Then the TCP payloads of the
 * shared tcpdump captures: no crash, and a verdict once given never
 * changes as bytes are added. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "l7/l7_sniff.h"

/* The source tree: __FILE__ is relative to the build root when meson
 * compiles, and this executable is <build root>/tests/unit/test_sniff. */
static void src_path(char *out, size_t cap, const char *rel)
{
	char exe[512];
	const char *f = __FILE__, *slash = strrchr(f, '/');
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	assert_true(n > 0);
	exe[n] = 0;
	for (int up = 0; up < 3; up++) {
		char *s = strrchr(exe, '/');
		if (s)
			*s = 0;
	}
	snprintf(out, cap, "%s%s%.*s/%s", f[0] == '/' ? "" : exe,
		 f[0] == '/' ? "" : "/", (int)(slash - f), f, rel);
}

static size_t load_path(const char *path, uint8_t *buf, size_t cap)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	if (!fp)
		return 0;
	n = fread(buf, 1, cap, fp);
	fclose(fp);
	return n;
}

static size_t load(const char *name, uint8_t *buf, size_t cap)
{
	char rel[256], path[1024];
	size_t n;

	snprintf(rel, sizeof(rel), "data/sniff/%s", name);
	src_path(path, sizeof(path), rel);
	n = load_path(path, buf, cap);
	if (!n)
		fail_msg("cannot read %s", path);
	return n;
}

/* Every prefix gives MORE or the final verdict; the whole gives it. */
static enum l7_sniff_proto sniff_prefixes(const uint8_t *b, size_t n,
					  struct l7_sniff_result *r)
{
	struct l7_sniff_result full, tmp;
	enum l7_sniff_proto v = l7_sniff(b, n, &full);

	for (size_t k = 0; k < n; k++) {
		enum l7_sniff_proto p = l7_sniff(b, k, &tmp);
		if (p != L7_SNIFF_MORE && p != v)
			fail_msg("prefix %zu/%zu: %s, whole: %s", k, n,
				 l7_sniff_proto_name(p), l7_sniff_proto_name(v));
		/* A TLS verdict waits for the whole hello. */
		if (v == L7_SNIFF_TLS && !full.tls.error &&
		    k < full.tls.hello_bytes && p != L7_SNIFF_MORE)
			fail_msg("TLS decided at %zu of %u", k,
				 full.tls.hello_bytes);
	}
	*r = full;
	return v;
}

static void alpn_is(const struct l7_sniff_tls *t, const char *want)
{
	char got[300] = "";
	size_t off = 0, len;
	const char *name;

	while (l7_sniff_alpn_next(t, &off, &name, &len)) {
		if (got[0])
			strcat(got, ",");
		strncat(got, name, len);
	}
	assert_string_equal(got, want);
}

struct capture {
	const char *file;
	const char *sni;     /* NULL: none */
	const char *alpn;
	uint16_t version;
};

static const struct capture caps[] = {
	{"curl_tls.bin", "www.example.org", "h2,http/1.1", 0x0304},
	{"curl_tls_h2.bin", "www.example.org", "h2,http/1.1", 0x0304},
	/* curl sends no SNI for an IP literal (RFC 6066 forbids it). */
	{"curl_tls_ip.bin", NULL, "h2,http/1.1", 0x0304},
	{"curl_tls12.bin", "host.test", "h2,http/1.1", 0x0303},
	{"openssl_tls.bin", "sni.example.com", "h2,http/1.1", 0x0304},
	{"openssl_nosni.bin", NULL, "", 0x0304},
	{"openssl_tls12.bin", "a.b", "", 0x0303},
};

static void check_cap(const struct capture *c, const struct l7_sniff_result *r)
{
	assert_int_equal(r->proto, L7_SNIFF_TLS);
	if (r->tls.error)
		fail_msg("%s: %s", c->file, r->tls.error);
	assert_int_equal(r->tls.has_sni, c->sni != NULL);
	if (c->sni)
		assert_string_equal(r->tls.sni, c->sni);
	alpn_is(&r->tls, c->alpn);
	assert_int_equal(r->tls.version, c->version);
	assert_int_equal(r->tls.legacy_version, 0x0303);
}

static void test_captured_tls(void **state)
{
	uint8_t b[20000];
	struct l7_sniff_result r;

	(void)state;
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		size_t n = load(caps[i].file, b, sizeof(b));
		assert_int_equal(sniff_prefixes(b, n, &r), L7_SNIFF_TLS);
		assert_int_equal(r.tls.hello_bytes, n);
		check_cap(&caps[i], &r);
		if (caps[i].version == 0x0304) {
			assert_int_equal(r.tls.nversions, 4);
			assert_int_equal(r.tls.versions[0], 0x0304);
		}
		/* Bytes after the hello are not looked at. */
		memset(b + n, 0xEE, 100);
		assert_int_equal(l7_sniff(b, n + 100, &r), L7_SNIFF_TLS);
		assert_int_equal(r.tls.hello_bytes, n);
		check_cap(&caps[i], &r);
	}
}

/* Re-frame a single-record hello into records of `chunk` bytes. */
static size_t reframe(const uint8_t *in, size_t n, size_t chunk, uint8_t *out)
{
	size_t msg = (size_t)(in[3] << 8 | in[4]), o = 0;

	assert_int_equal(msg + 5, n);
	for (size_t i = 0; i < msg; i += chunk) {
		size_t l = msg - i < chunk ? msg - i : chunk;
		out[o++] = 0x16, out[o++] = 0x03, out[o++] = 0x01;
		out[o++] = (uint8_t)(l >> 8), out[o++] = (uint8_t)l;
		memcpy(out + o, in + 5 + i, l);
		o += l;
	}
	return o;
}

static void test_fragmented(void **state)
{
	static uint8_t b[20000], f[20000];
	static const size_t chunks[] = {1, 2, 3, 4, 5, 7, 100, 511};
	struct l7_sniff_result r;

	(void)state;
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		size_t n = load(caps[i].file, b, sizeof(b));
		for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			size_t m = reframe(b, n, chunks[c], f);
			if (m > L7_SNIFF_TLS_MAX) {
				assert_int_equal(l7_sniff(f, m, &r), L7_SNIFF_TLS);
				assert_string_equal(r.tls.error, "tls_hello_too_big");
				continue;
			}
			assert_int_equal(sniff_prefixes(f, m, &r), L7_SNIFF_TLS);
			assert_int_equal(r.tls.hello_bytes, m);
			check_cap(&caps[i], &r);
		}
	}
}

/* A hello of our own: extensions given whole. */
static size_t mk_hello(uint8_t *out, const uint8_t *ext, size_t extlen,
		       bool no_ext)
{
	uint8_t *p = out + 9;
	size_t body;

	*p++ = 0x03, *p++ = 0x03;
	memset(p, 0x42, 32), p += 32;
	*p++ = 0;                                  /* session id */
	*p++ = 0, *p++ = 4;
	*p++ = 0x1a, *p++ = 0x1a, *p++ = 0x13, *p++ = 0x01;  /* GREASE, AES */
	*p++ = 1, *p++ = 0;
	if (!no_ext) {
		*p++ = (uint8_t)(extlen >> 8), *p++ = (uint8_t)extlen;
		memcpy(p, ext, extlen), p += extlen;
	}
	body = (size_t)(p - out) - 9;
	out[0] = 0x16, out[1] = 0x03, out[2] = 0x01;
	out[3] = (uint8_t)((body + 4) >> 8), out[4] = (uint8_t)(body + 4);
	out[5] = 1, out[6] = 0;
	out[7] = (uint8_t)(body >> 8), out[8] = (uint8_t)body;
	return 9 + body;
}

static void test_grease_and_synthetic(void **state)
{
	uint8_t b[2048];
	struct l7_sniff_result r;
	size_t n;

	(void)state;
	/* GREASE extension, GREASE in ALPN-free versions and first; SNI
	 * among two name types. */
	static const uint8_t ext[] = {
		0x3a, 0x3a, 0x00, 0x00,                       /* GREASE ext */
		0x00, 0x2b, 0x00, 0x07, 0x06, 0xfa, 0xfa, 0x03, 0x04, 0x03, 0x03,
		0x00, 0x00, 0x00, 0x11, 0x00, 0x0f,
		0x07, 0x00, 0x03, 'x', 'y', 'z',              /* other type */
		0x00, 0x00, 0x06, 'a', '.', 't', 'e', 's', 't',
		0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, 0x6a, 0x6a,
		0x08, 'h', 't', 't', 'p', '/', '1', '.', '1',
		0xda, 0xda, 0x00, 0x01, 0x00,                 /* GREASE ext */
	};
	n = mk_hello(b, ext, sizeof(ext), false);
	assert_int_equal(sniff_prefixes(b, n, &r), L7_SNIFF_TLS);
	assert_null(r.tls.error);
	assert_int_equal(r.tls.version, 0x0304);
	assert_int_equal(r.tls.nversions, 3);
	assert_int_equal(r.tls.versions[0], 0xfafa);
	assert_true(r.tls.has_sni);
	assert_string_equal(r.tls.sni, "a.test");
	alpn_is(&r.tls, "jj,http/1.1");

	/* No extensions at all (TLS 1.2 and older may do that). */
	n = mk_hello(b, NULL, 0, true);
	assert_int_equal(sniff_prefixes(b, n, &r), L7_SNIFF_TLS);
	assert_null(r.tls.error);
	assert_false(r.tls.has_sni);
	assert_int_equal(r.tls.version, 0x0303);

	/* Malformed ones: still TLS, with a cause. */
	struct {
		const uint8_t *ext;
		size_t len;
		const char *err;
	} bad[] = {
		{(const uint8_t *)"\x00\x00\x00\x05\x00\x03\x00\x00\x00", 9,
		 "tls_bad_sni"},
		{(const uint8_t *)"\x00\x00\x00\x08\x00\x06\x00\x00\x03" "a\x01" "c", 12,
		 "tls_bad_sni"},
		{(const uint8_t *)"\x00\x00\x00\x0c\x00\x0a\x00\x00\x02" "ab\x00\x00\x02" "cd",
		 16, "tls_bad_sni"},
		{(const uint8_t *)"\x00\x10\x00\x04\x00\x02\x00\x00", 8,
		 "tls_bad_alpn"},
		{(const uint8_t *)"\x00\x10\x00\x04\x00\x02\x02h", 8, "tls_bad_alpn"},
		{(const uint8_t *)"\x00\x2b\x00\x02\x01\x03", 6, "tls_bad_versions"},
		{(const uint8_t *)"\x00\x2b\x00\x03\x02\x2a\x2a", 7,
		 "tls_bad_versions"},
		{(const uint8_t *)"\x00\x2b\x00\x03\x02\x03\x04\x00\x2b\x00\x03\x02\x03\x04",
		 14, "tls_dup_extension"},
		{(const uint8_t *)"\x00\x05\x00\x05\x00", 5, "tls_bad_extensions"},
		{(const uint8_t *)"\x00\x05\x00", 3, "tls_bad_extensions"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = mk_hello(b, bad[i].ext, bad[i].len, false);
		assert_int_equal(sniff_prefixes(b, n, &r), L7_SNIFF_TLS);
		if (!r.tls.error || strcmp(r.tls.error, bad[i].err))
			fail_msg("bad %zu: %s", i, r.tls.error ? r.tls.error : "ok");
	}
	/* Extension block length that does not match. */
	n = mk_hello(b, ext, sizeof(ext), false);
	b[9 + 2 + 32 + 1 + 6 + 2 + 1]++;
	assert_int_equal(l7_sniff(b, n, &r), L7_SNIFF_TLS);
	assert_string_equal(r.tls.error, "tls_bad_extensions");

	/* Not a ClientHello; a bad second record; a huge declared hello. */
	n = mk_hello(b, ext, sizeof(ext), false);
	b[5] = 2;
	assert_int_equal(l7_sniff(b, 6, &r), L7_SNIFF_MORE);
	assert_int_equal(l7_sniff(b, 9, &r), L7_SNIFF_TLS);
	assert_string_equal(r.tls.error, "tls_not_client_hello");
	static const uint8_t two[] = {0x16, 3, 1, 0, 2, 1, 0, 0x17, 3, 3, 0, 1};
	assert_int_equal(l7_sniff(two, 7, &r), L7_SNIFF_MORE);
	assert_int_equal(l7_sniff(two, sizeof(two), &r), L7_SNIFF_TLS);
	assert_string_equal(r.tls.error, "tls_bad_record");
	static const uint8_t huge[] = {0x16, 3, 1, 0, 4, 1, 0, 0x40, 0};
	assert_int_equal(l7_sniff(huge, sizeof(huge), &r), L7_SNIFF_TLS);
	assert_string_equal(r.tls.error, "tls_hello_too_big");
	static const uint8_t zero[] = {0x16, 3, 1, 0, 0};
	assert_int_equal(l7_sniff(zero, sizeof(zero), &r), L7_SNIFF_TLS);
	assert_string_equal(r.tls.error, "tls_bad_record");
	static const uint8_t over[] = {0x16, 3, 1, 0x40, 1};
	assert_int_equal(l7_sniff(over, sizeof(over), &r), L7_SNIFF_TLS);
	assert_string_equal(r.tls.error, "tls_bad_record");
	/* Not TLS: wrong major, or a minor past 1.3. */
	assert_int_equal(l7_sniff("\x16\x02", 2, &r), L7_SNIFF_OTHER);
	assert_int_equal(l7_sniff("\x16\x03\x05", 3, &r), L7_SNIFF_OTHER);
	assert_int_equal(l7_sniff("\x16\x03", 2, &r), L7_SNIFF_MORE);
}

/* in is decided at exactly `at` bytes: MORE before. */
static void decided_at(const char *in, size_t n, size_t at,
		       enum l7_sniff_proto want)
{
	struct l7_sniff_result r;

	for (size_t k = 0; k < at; k++)
		if (l7_sniff(in, k, &r) != L7_SNIFF_MORE)
			fail_msg("\"%.*s\" decided early at %zu", (int)n, in, k);
	if (l7_sniff(in, at, &r) != want)
		fail_msg("\"%.*s\" at %zu: %s", (int)n, in, at,
			 l7_sniff_proto_name(r.proto));
	assert_int_equal(l7_sniff(in, n, &r), want);
}

static void test_text(void **state)
{
	static const struct {
		const char *in;
		size_t at;
		enum l7_sniff_proto p;
		enum l7_sniff_method m;
		size_t len;  /* 0: strlen */
	} t[] = {
		{"GET / HTTP/1.1\r\n", 5, L7_SNIFF_H1, L7_SNIFF_GET},
		{"HEAD /x HTTP/1.0\r\n", 6, L7_SNIFF_H1, L7_SNIFF_HEAD},
		{"POST /f HTTP/1.1\r\n", 6, L7_SNIFF_H1, L7_SNIFF_POST},
		{"PUT /f HTTP/1.1\r\n", 5, L7_SNIFF_H1, L7_SNIFF_PUT},
		{"DELETE /f HTTP/1.1\r\n", 8, L7_SNIFF_H1, L7_SNIFF_DELETE},
		{"CONNECT example.org:443 HTTP/1.1\r\n", 9, L7_SNIFF_H1,
		 L7_SNIFF_CONNECT},
		{"CONNECT [::1]:443 HTTP/1.1\r\n", 9, L7_SNIFF_H1, L7_SNIFF_CONNECT},
		{"CONNECT 10.0.0.1:22 HTTP/1.1\r\n", 9, L7_SNIFF_H1,
		 L7_SNIFF_CONNECT},
		{"OPTIONS * HTTP/1.1\r\n", 9, L7_SNIFF_H1, L7_SNIFF_OPTIONS},
		{"TRACE / HTTP/1.1\r\n", 7, L7_SNIFF_H1, L7_SNIFF_TRACE},
		{"PATCH /p HTTP/1.1\r\n", 7, L7_SNIFF_H1, L7_SNIFF_PATCH},
		{"GET http://a/ HTTP/1.1\r\n", 5, L7_SNIFF_H1, L7_SNIFF_GET},
		{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\4", 24, L7_SNIFF_H2, 0, 28},
		{"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 6, L7_SNIFF_PROXY_V1, 0},
		{"\r\n\r\n\0\r\nQUIT\n\x21\x11\0\0", 12, L7_SNIFF_PROXY_V2, 0, 16},
		/* Other, at the first byte that rules everything out. */
		{"SSH-2.0-OpenSSH_9.2p1\r\n", 1, L7_SNIFF_OTHER, 0},
		{"get / HTTP/1.1\r\n", 1, L7_SNIFF_OTHER, 0},
		{"GET\t/ HTTP/1.1\r\n", 4, L7_SNIFF_OTHER, 0},
		{"GET * HTTP/1.1\r\n", 5, L7_SNIFF_OTHER, 0},
		{"GET  / HTTP/1.1\r\n", 5, L7_SNIFF_OTHER, 0},
		{"GET 1 HTTP/1.1\r\n", 5, L7_SNIFF_OTHER, 0},
		{"CONNECT / HTTP/1.1\r\n", 9, L7_SNIFF_OTHER, 0},
		{"PRI * HTTP/1.1\r\n", 12, L7_SNIFF_OTHER, 0},
		{"PROPFIND / HTTP/1.1\r\n", 4, L7_SNIFF_OTHER, 0},
		{"POX", 3, L7_SNIFF_OTHER, 0},
		{"\r\n\r\n\0\r\nQUIX\n", 11, L7_SNIFF_OTHER, 0, 12},
		{"\x00\x00\x12\x04", 1, L7_SNIFF_OTHER, 0, 4},
		{"\x80\x2e\x01\x03\x01", 1, L7_SNIFF_OTHER, 0},  /* SSLv2 hello */
		{"220 smtp ESMTP\r\n", 1, L7_SNIFF_OTHER, 0},
	};
	struct l7_sniff_result r;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t n = t[i].len ? t[i].len : strlen(t[i].in);
		decided_at(t[i].in, n, t[i].at, t[i].p);
		l7_sniff(t[i].in, n, &r);
		assert_int_equal(r.method, t[i].m);
	}
	/* "GET" alone is still a prefix; so is the empty stream. */
	assert_int_equal(l7_sniff("GET ", 4, &r), L7_SNIFF_MORE);
	assert_int_equal(l7_sniff("", 0, &r), L7_SNIFF_MORE);
}

static void test_captured_text(void **state)
{
	uint8_t b[4096];
	struct l7_sniff_result r;
	size_t n;

	(void)state;
	n = load("curl_h1.bin", b, sizeof(b));
	assert_int_equal(sniff_prefixes(b, n, &r), L7_SNIFF_H1);
	assert_int_equal(r.method, L7_SNIFF_GET);
	n = load("curl_connect.bin", b, sizeof(b));
	assert_int_equal(sniff_prefixes(b, n, &r), L7_SNIFF_H1);
	assert_int_equal(r.method, L7_SNIFF_CONNECT);
	n = load("curl_h2c.bin", b, sizeof(b));
	assert_int_equal(sniff_prefixes(b, n, &r), L7_SNIFF_H2);
}

/* ---- the tcpdump captures ----------------------------------------- */

struct pcap_stats {
	size_t files, payloads, verdicts[L7_SNIFF_OTHER + 1];
};

static uint32_t rd32x(const uint8_t *p, bool be)
{
	return be ? (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]
		  : (uint32_t)p[3] << 24 | p[2] << 16 | p[1] << 8 | p[0];
}

static uint16_t rd16be(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Sniff a payload, then check that growing it never changes a verdict:
 * at every length up to 64, then at the whole. */
static void sniff_payload(const uint8_t *p, size_t n, struct pcap_stats *st)
{
	struct l7_sniff_result r;
	enum l7_sniff_proto first = L7_SNIFF_MORE, v;

	for (size_t k = 1; k <= n && k <= 64; k++) {
		v = l7_sniff(p, k, &r);
		if (first == L7_SNIFF_MORE)
			first = v;
		else if (v != first)
			fail_msg("verdict changed at %zu: %d -> %d", k, first, v);
	}
	v = l7_sniff(p, n, &r);
	if (first != L7_SNIFF_MORE && v != first)
		fail_msg("verdict changed at %zu: %d -> %d", n, first, v);
	st->payloads++;
	st->verdicts[v]++;
}

/* IP packet: sniff its TCP payload (and a UDP one: more inputs). */
static void ip_packet(const uint8_t *p, size_t n, struct pcap_stats *st)
{
	size_t hl, l4;
	uint8_t proto;

	if (n < 1)
		return;
	if (p[0] >> 4 == 4) {
		if (n < 20 || (hl = (size_t)(p[0] & 15) * 4) < 20 || hl > n)
			return;
		proto = p[9];
		l4 = rd16be(p + 2);
		if (l4 > n || l4 < hl)
			l4 = n;
		p += hl, n = l4 - hl;
	} else if (p[0] >> 4 == 6) {
		if (n < 40)
			return;
		proto = p[6];
		p += 40, n -= 40;  /* extension headers: left as payload */
	} else {
		return;
	}
	if (proto == 6 && n >= 20) {
		size_t off = (size_t)(p[12] >> 4) * 4;
		if (off >= 20 && off <= n && n > off)
			sniff_payload(p + off, n - off, st);
	} else if (proto == 17 && n > 8) {
		sniff_payload(p + 8, n - 8, st);
	}
}

static void link_packet(uint32_t lt, const uint8_t *p, size_t n,
			struct pcap_stats *st)
{
	uint16_t et;

	switch (lt) {
	case 1:  /* Ethernet, VLAN tags skipped */
		if (n < 14)
			return;
		et = rd16be(p + 12), p += 14, n -= 14;
		while ((et == 0x8100 || et == 0x88a8) && n >= 4)
			et = rd16be(p + 2), p += 4, n -= 4;
		if (et == 0x0800 || et == 0x86dd)
			ip_packet(p, n, st);
		return;
	case 12: case 14: case 101: case 228: case 229:
		ip_packet(p, n, st);
		return;
	case 0: case 108:
		if (n > 4)
			ip_packet(p + 4, n - 4, st);
		return;
	case 113:
		if (n > 16)
			ip_packet(p + 16, n - 16, st);
		return;
	case 276:
		if (n > 20)
			ip_packet(p + 20, n - 20, st);
		return;
	default:
		return;
	}
}

/* Classic pcap and pcapng; a bad record ends the file. */
static void capture_file(const uint8_t *d, size_t n, struct pcap_stats *st)
{
	if (n < 24)
		return;
	uint32_t m = rd32x(d, true);
	if (m == 0xa1b2c3d4 || m == 0xd4c3b2a1 || m == 0xa1b23c4d ||
	    m == 0x4d3cb2a1) {
		bool be = m == 0xa1b2c3d4 || m == 0xa1b23c4d;
		uint32_t lt = rd32x(d + 20, be) & 0x0FFFFFFF;
		for (size_t off = 24; off + 16 <= n;) {
			size_t cl = rd32x(d + off + 8, be);
			off += 16;
			if (cl > n - off)
				cl = n - off;
			link_packet(lt, d + off, cl, st);
			off += cl;
		}
		return;
	}
	if (m != 0x0a0d0d0a)
		return;
	bool be = rd32x(d + 8, true) == 0x1a2b3c4d;
	uint32_t lts[32];
	size_t nif = 0;
	for (size_t off = 0; off + 12 <= n;) {
		uint32_t type = rd32x(d + off, be), len = rd32x(d + off + 4, be);
		if (type == 0x0a0d0d0a) {
			be = rd32x(d + off + 8, true) == 0x1a2b3c4d;
			len = rd32x(d + off + 4, be);
			nif = 0;
		}
		if (len < 12 || len > n - off)
			return;
		const uint8_t *b = d + off;
		if (type == 1 && nif < 32)
			lts[nif++] = be ? rd16be(b + 8)
					: (uint16_t)(b[8] | b[9] << 8);
		else if (type == 6 && len >= 28) {
			uint32_t ifc = rd32x(b + 8, be), cl = rd32x(b + 20, be);
			if (ifc < nif && cl <= len - 28)
				link_packet(lts[ifc], b + 28, cl, st);
		} else if (type == 3 && len >= 16 && nif) {
			link_packet(lts[0], b + 12, len - 16, st);
		}
		off += len;
	}
}

static void test_tcpdump_corpus(void **state)
{
	char dir[1024], path[2048];
	const char *env = getenv("STRATA_CORPUS");
	struct pcap_stats st = {0};
	static uint8_t data[8 << 20];
	DIR *dp = NULL;

	(void)state;
	/* Beside the checkout (/work/main) or a worktree (/work/wt/x). */
	if (env)
		snprintf(dir, sizeof(dir), "%s", env), dp = opendir(dir);
	if (!dp)
		src_path(dir, sizeof(dir), "../../../shared/corpus/tcpdump-pcaps"),
			dp = opendir(dir);
	if (!dp)
		src_path(dir, sizeof(dir), "../../../../shared/corpus/tcpdump-pcaps"),
			dp = opendir(dir);
	if (!dp) {
		print_message("tcpdump corpus not found; set STRATA_CORPUS\n");
		skip();
	}
	for (struct dirent *e; (e = readdir(dp));) {
		if (!strstr(e->d_name, ".pcap") && !strstr(e->d_name, ".cap"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		size_t n = load_path(path, data, sizeof(data));
		st.files++;
		capture_file(data, n, &st);
	}
	closedir(dp);
	print_message("%zu captures, %zu payloads: tls %zu h2 %zu h1 %zu "
		      "pp1 %zu pp2 %zu other %zu more %zu\n",
		      st.files, st.payloads, st.verdicts[L7_SNIFF_TLS],
		      st.verdicts[L7_SNIFF_H2], st.verdicts[L7_SNIFF_H1],
		      st.verdicts[L7_SNIFF_PROXY_V1], st.verdicts[L7_SNIFF_PROXY_V2],
		      st.verdicts[L7_SNIFF_OTHER], st.verdicts[L7_SNIFF_MORE]);
	assert_true(st.files > 400);
	assert_true(st.verdicts[L7_SNIFF_H1] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_captured_tls),
		cmocka_unit_test(test_fragmented),
		cmocka_unit_test(test_grease_and_synthetic),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_captured_text),
		cmocka_unit_test(test_tcpdump_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
