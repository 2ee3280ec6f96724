/* l7_pp: v1 and v2 headers parse whole and at every split point, every
 * malformed case has its own cause, the writers round-trip, and the
 * bytes haproxy 2.6 really sends (data/pp/haproxy_*.bin, captured with
 * send-proxy / send-proxy-v2 on loopback, each followed by "hello\n")
 * parse. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "l7/l7_pp.h"

static const uint8_t SIG[12] = "\r\n\r\n\0\r\nQUIT\n";

/* Test data sits beside this file. __FILE__ is relative to the build
 * root when meson compiles, and this executable is
 * <build root>/tests/unit/test_pp, so the data is found from any cwd. */
static size_t load(const char *name, uint8_t *buf, size_t cap)
{
	char exe[512], path[1100];
	const char *f = __FILE__, *slash = strrchr(f, '/');
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	assert_true(n > 0);
	exe[n] = 0;
	for (int up = 0; up < 3; up++) {
		char *s = strrchr(exe, '/');
		if (s)
			*s = 0;
	}
	snprintf(path, sizeof(path), "%s%s%.*s/data/pp/%s",
		 f[0] == '/' ? "" : exe, f[0] == '/' ? "" : "/",
		 (int)(slash - f), f, name);
	FILE *fp = fopen(path, "rb");
	if (!fp)
		fail_msg("cannot open %s", path);
	size_t got = fread(buf, 1, cap, fp);
	fclose(fp);
	return got;
}

/* Whole header: every strict prefix needs more, the whole parses, and so
 * does the whole with client bytes after it. */
static int parse_all_splits(const uint8_t *b, size_t n, struct l7_pp_result *r)
{
	uint8_t big[L7_PP_V2_MAX + 16];
	struct l7_pp_result tmp;

	for (size_t k = 0; k < n; k++) {
		int rc = l7_pp_parse(b, k, &tmp);
		if (rc != 0)
			fail_msg("prefix %zu of %zu: %d (%s)", k, n, rc,
				 l7_pp_strerror(rc));
	}
	memcpy(big, b, n);
	memcpy(big + n, "GET / ", 6);
	int rc = l7_pp_parse(big, n + 6, r);
	assert_int_equal(rc, (int)n);
	return l7_pp_parse(b, n, r);
}

static void v4(uint8_t a[16], uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
	memset(a, 0, 10);
	a[10] = a[11] = 0xff;
	a[12] = x, a[13] = y, a[14] = z, a[15] = w;
}

static void test_v1_valid(void **state)
{
	struct l7_pp_result r;
	uint8_t a[16];
	const char *s;

	(void)state;
	s = "PROXY TCP4 192.168.0.1 10.0.0.255 56324 443\r\n";
	assert_int_equal(parse_all_splits((const uint8_t *)s, strlen(s), &r),
			 (int)strlen(s));
	assert_int_equal(r.version, 1);
	assert_int_equal(r.command, L7_PP_PROXY);
	assert_int_equal(r.family, L7_PP_TCP4);
	v4(a, 192, 168, 0, 1);
	assert_memory_equal(r.src, a, 16);
	v4(a, 10, 0, 0, 255);
	assert_memory_equal(r.dst, a, 16);
	assert_int_equal(r.sport, 56324);
	assert_int_equal(r.dport, 443);

	s = "PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 0 65535\r\n";
	assert_int_equal(parse_all_splits((const uint8_t *)s, strlen(s), &r),
			 (int)strlen(s));
	assert_int_equal(r.family, L7_PP_TCP6);
	assert_int_equal(r.src[0], 0x20);
	assert_int_equal(r.src[15], 1);
	v4(a, 10, 0, 0, 1);
	assert_memory_equal(r.dst, a, 16);
	assert_int_equal(r.sport, 0);
	assert_int_equal(r.dport, 65535);

	s = "PROXY TCP6 FFFF:0001:0:0:0:0:0:AbCd fe80::1 1 2\r\n";
	assert_int_equal(parse_all_splits((const uint8_t *)s, strlen(s), &r),
			 (int)strlen(s));

	s = "PROXY UNKNOWN\r\n";
	assert_int_equal(parse_all_splits((const uint8_t *)s, strlen(s), &r),
			 (int)strlen(s));
	assert_int_equal(r.family, L7_PP_UNKNOWN);
	/* After UNKNOWN the rest of the line is ignored, whatever it is. */
	s = "PROXY UNKNOWN ffff:f...f:ffff anything~goes 65535 65535\r\n";
	assert_int_equal(parse_all_splits((const uint8_t *)s, strlen(s), &r),
			 (int)strlen(s));
	assert_int_equal(r.family, L7_PP_UNKNOWN);

	/* The longest legal line is 107 bytes. */
	s = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	assert_int_equal(strlen(s), 107);
	assert_int_equal(parse_all_splits((const uint8_t *)s, 107, &r), 107);
	s = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	assert_int_equal(parse_all_splits((const uint8_t *)s, strlen(s), &r),
			 (int)strlen(s));
}

struct bad {
	const char *in;
	int err;
};

static void test_v1_malformed(void **state)
{
	static const struct bad cases[] = {
		{"GET / HTTP/1.1\r\n", L7_PP_E_NOT_PP},
		{"PROXZ", L7_PP_E_NOT_PP},
		{"proxy TCP4", L7_PP_E_NOT_PP},
		{"PROXY  TCP4 1.2.3.4 1.2.3.4 1 2\r\n", L7_PP_E_V1_BAD_PROTO},
		{"PROXY TCP5", L7_PP_E_V1_BAD_PROTO},
		{"PROXY UDP4", L7_PP_E_V1_BAD_PROTO},
		{"PROXY UNKNOWNX", L7_PP_E_V1_BAD_PROTO},
		{"PROXY TCP4\r\n", L7_PP_E_V1_BAD_PROTO},
		{"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", L7_PP_E_V1_BAD_FORMAT},
		{"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", L7_PP_E_V1_BAD_FORMAT},
		{"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", L7_PP_E_V1_BAD_FORMAT},
		{"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", L7_PP_E_V1_BAD_FORMAT},
		{"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", L7_PP_E_V1_BAD_CRLF},
		{"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", L7_PP_E_V1_BAD_CRLF},
		{"PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n", L7_PP_E_V1_BAD_CHAR},
		{"PROXY TCP4 1.2.3.4 5.6.7.8 1 2x", L7_PP_E_V1_BAD_CHAR},
		{"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", L7_PP_E_V1_BAD_ADDR},
		{"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", L7_PP_E_V1_BAD_ADDR},
		{"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", L7_PP_E_V1_BAD_ADDR},
		{"PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n", L7_PP_E_V1_BAD_ADDR},
		{"PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n", L7_PP_E_V1_BAD_ADDR},
		{"PROXY TCP4 ::1 5.6.7.8 1 2\r\n", L7_PP_E_V1_BAD_ADDR},
		{"PROXY TCP6 1.2.3.4 ::1 1 2\r\n", L7_PP_E_V1_BAD_ADDR},
		{"PROXY TCP6 ::1::2 ::1 1 2\r\n", L7_PP_E_V1_BAD_ADDR},
		{"PROXY TCP6 12345::1 ::1 1 2\r\n", L7_PP_E_V1_BAD_ADDR},
		{"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", L7_PP_E_V1_BAD_PORT},
		{"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n", L7_PP_E_V1_BAD_PORT},
		{"PROXY TCP4 1.2.3.4 5.6.7.8 1 999999\r\n", L7_PP_E_V1_BAD_PORT},
		{"PROXY TCP4 1.2.3.4 5.6.7.8 1 a\r\n", L7_PP_E_V1_BAD_PORT},
	};
	struct l7_pp_result r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = l7_pp_parse(cases[i].in, strlen(cases[i].in), &r);
		if (rc != -cases[i].err)
			fail_msg("case %zu \"%s\": %d (%s), want %s", i,
				 cases[i].in, rc, l7_pp_strerror(rc),
				 l7_pp_strerror(-cases[i].err));
	}
	/* 107 bytes and no CRLF: too long, not "need more". */
	char line[120];
	memset(line, '1', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	assert_int_equal(l7_pp_parse(line, 106, &r), 0);
	assert_int_equal(l7_pp_parse(line, 107, &r), -L7_PP_E_V1_TOO_LONG);
	assert_string_equal(l7_pp_strerror(-L7_PP_E_V1_TOO_LONG), "v1_too_long");
}

/* A v2 header by hand: ver_cmd, fam, then body bytes. */
static size_t mk_v2(uint8_t *b, uint8_t vc, uint8_t fam, const void *body,
		    size_t n)
{
	memcpy(b, SIG, 12);
	b[12] = vc;
	b[13] = fam;
	b[14] = (uint8_t)(n >> 8);
	b[15] = (uint8_t)n;
	memcpy(b + 16, body, n);
	return 16 + n;
}

static void test_v2_valid(void **state)
{
	uint8_t b[L7_PP_V2_MAX], a[16];
	struct l7_pp_result r;
	size_t n;

	(void)state;
	/* PROXY TCP4 with ALPN, authority, a NOOP, an unknown type, unique
	 * ID, netns and SSL with sub-TLVs. */
	static const uint8_t body4[] = {
		10, 0, 0, 1, 10, 0, 0, 2, 0x1f, 0x90, 0x01, 0xbb,
		0x01, 0, 2, 'h', '2',
		0x02, 0, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm',
		0x04, 0, 3, 0, 0, 0,
		0xE0, 0, 1, 0x55,
		0x05, 0, 4, 1, 2, 3, 4,
		0x30, 0, 3, 'n', 's', '1',
		0x20, 0, 26, 0x07, 0, 0, 0, 0,
		0x21, 0, 7, 'T', 'L', 'S', 'v', '1', '.', '3',
		0x22, 0, 3, 'b', 'o', 'b',
		0x99, 0, 2, 'x', 'y',
	};
	n = mk_v2(b, 0x21, 0x11, body4, sizeof(body4));
	assert_int_equal(parse_all_splits(b, n, &r), (int)n);
	assert_int_equal(r.version, 2);
	assert_int_equal(r.command, L7_PP_PROXY);
	assert_int_equal(r.family, L7_PP_TCP4);
	v4(a, 10, 0, 0, 1);
	assert_memory_equal(r.src, a, 16);
	v4(a, 10, 0, 0, 2);
	assert_memory_equal(r.dst, a, 16);
	assert_int_equal(r.sport, 8080);
	assert_int_equal(r.dport, 443);
	assert_int_equal(r.tlvs, L7_PP_HAS_ALPN | L7_PP_HAS_AUTHORITY |
				 L7_PP_HAS_UNIQUE_ID | L7_PP_HAS_NETNS |
				 L7_PP_HAS_SSL);
	assert_string_equal(r.alpn, "h2");
	assert_string_equal(r.authority, "example.com");
	assert_int_equal(r.authority_len, 11);
	assert_int_equal(r.unique_id_len, 4);
	assert_int_equal(r.unique_id[3], 4);
	assert_string_equal(r.netns, "ns1");
	assert_int_equal(r.ssl_client, 7);
	assert_int_equal(r.ssl_verify, 0);
	assert_string_equal(r.ssl_version, "TLSv1.3");
	assert_string_equal(r.ssl_cn, "bob");
	assert_string_equal(r.ssl_cipher, "");

	/* PROXY UDP6, no TLVs. */
	uint8_t body6[36] = {0};
	body6[0] = 0x20, body6[1] = 0x01, body6[15] = 1;
	body6[31] = 2;
	body6[32] = 0, body6[33] = 53, body6[34] = 0x30, body6[35] = 0x39;
	n = mk_v2(b, 0x21, 0x22, body6, 36);
	assert_int_equal(parse_all_splits(b, n, &r), (int)n);
	assert_int_equal(r.family, L7_PP_UDP6);
	assert_int_equal(r.src[1], 1);
	assert_int_equal(r.dst[15], 2);
	assert_int_equal(r.sport, 53);
	assert_int_equal(r.dport, 12345);
	assert_int_equal(r.tlvs, 0);

	/* LOCAL: family and block ignored, whatever they hold. */
	n = mk_v2(b, 0x20, 0xFF, "junkjunk", 8);
	assert_int_equal(parse_all_splits(b, n, &r), (int)n);
	assert_int_equal(r.command, L7_PP_LOCAL);
	assert_int_equal(r.family, L7_PP_UNKNOWN);

	/* PROXY over AF_UNSPEC: no addresses, block skipped. */
	n = mk_v2(b, 0x21, 0x00, "xyz", 3);
	assert_int_equal(parse_all_splits(b, n, &r), (int)n);
	assert_int_equal(r.command, L7_PP_PROXY);
	assert_int_equal(r.family, L7_PP_UNKNOWN);

	/* A family without a protocol, or a protocol without a family:
	 * the spec's fallback, UNSPEC. */
	n = mk_v2(b, 0x21, 0x10, "\x01\x00\x02h2", 5);
	assert_int_equal(parse_all_splits(b, n, &r), (int)n);
	assert_int_equal(r.family, L7_PP_UNKNOWN);
	assert_int_equal(r.tlvs, 0);
	n = mk_v2(b, 0x21, 0x01, "", 0);
	assert_int_equal(parse_all_splits(b, n, &r), (int)n);
	assert_int_equal(r.family, L7_PP_UNKNOWN);

	/* AF_UNIX: 216 address bytes, then TLVs. */
	uint8_t bodyu[216 + 6] = {0};
	memcpy(bodyu + 216, "\x01\x00\x03h2c", 6);
	n = mk_v2(b, 0x21, 0x31, bodyu, sizeof(bodyu));
	assert_int_equal(parse_all_splits(b, n, &r), (int)n);
	assert_int_equal(r.family, L7_PP_UNIX);
	assert_string_equal(r.alpn, "h2c");

	/* The largest header accepted. */
	static uint8_t bodymax[L7_PP_V2_MAX - 16];
	memset(bodymax, 0, sizeof(bodymax));
	bodymax[12] = 0x04;  /* one NOOP filling the rest */
	bodymax[13] = (uint8_t)((sizeof(bodymax) - 15) >> 8);
	bodymax[14] = (uint8_t)(sizeof(bodymax) - 15);
	n = mk_v2(b, 0x21, 0x11, bodymax, sizeof(bodymax));
	assert_int_equal(l7_pp_parse(b, n, &r), (int)L7_PP_V2_MAX);
	assert_int_equal(l7_pp_parse(b, n - 1, &r), 0);
}

static void test_v2_malformed(void **state)
{
	uint8_t b[L7_PP_V2_MAX + 16], body[64] = {0};
	struct l7_pp_result r;
	size_t n;

	(void)state;
	/* The signature is checked byte by byte. */
	memcpy(b, SIG, 12);
	for (size_t i = 0; i < 12; i++) {
		b[i] ^= 0x40;
		assert_int_equal(l7_pp_parse(b, i + 1, &r), -L7_PP_E_NOT_PP);
		b[i] ^= 0x40;
	}
	n = mk_v2(b, 0x11, 0x11, body, 12);
	assert_int_equal(l7_pp_parse(b, 13, &r), -L7_PP_E_V2_BAD_VERSION);
	n = mk_v2(b, 0x31, 0x11, body, 12);
	assert_int_equal(l7_pp_parse(b, n, &r), -L7_PP_E_V2_BAD_VERSION);
	n = mk_v2(b, 0x22, 0x11, body, 12);
	assert_int_equal(l7_pp_parse(b, 13, &r), -L7_PP_E_V2_BAD_COMMAND);
	static const uint8_t fams[] = {0x41, 0x13, 0xF1, 0x03, 0x30 + 3};
	for (size_t i = 0; i < sizeof(fams); i++) {
		n = mk_v2(b, 0x21, fams[i], body, 12);
		assert_int_equal(l7_pp_parse(b, 14, &r), -L7_PP_E_V2_BAD_FAMILY);
	}
	/* Too long: refused on the length field alone. */
	n = mk_v2(b, 0x21, 0x11, body, 12);
	b[14] = 0x0F, b[15] = 0xF1;
	assert_int_equal(l7_pp_parse(b, 16, &r), -L7_PP_E_V2_TOO_LONG);
	b[15] = 0xF0;
	assert_int_equal(l7_pp_parse(b, 16, &r), 0);
	/* Length below the address block. */
	n = mk_v2(b, 0x21, 0x11, body, 11);
	assert_int_equal(l7_pp_parse(b, n, &r), -L7_PP_E_V2_SHORT_ADDR);
	n = mk_v2(b, 0x21, 0x21, body, 35);
	assert_int_equal(l7_pp_parse(b, n, &r), -L7_PP_E_V2_SHORT_ADDR);

	struct {
		const char *tlv;
		size_t len;
		int err;
	} tc[] = {
		{"\x01\x00", 2, L7_PP_E_V2_TLV_BOUNDS},
		{"\x01\x00\x03h2", 5, L7_PP_E_V2_TLV_BOUNDS},
		{"\x01\x00\x02h2\x01\x00\x02h2", 10, L7_PP_E_V2_TLV_DUP},
		{"\x03\x00\x03\x00\x00\x00", 6, L7_PP_E_V2_TLV_SIZE},
		{"\x03\x00\x04\x00\x00\x00\x00", 7, L7_PP_E_V2_BAD_CRC},
		{"\x20\x00\x04\x01\x00\x00\x00", 7, L7_PP_E_V2_BAD_SSL},
		{"\x02\x00\x03" "a\x00" "b", 6, L7_PP_E_V2_TLV_NUL},
		{"\x30\x00\x01\x00", 4, L7_PP_E_V2_TLV_NUL},
		{"\x20\x00\x09\x01\x00\x00\x00\x00\x22\x00\x01\x00", 12,
		 L7_PP_E_V2_TLV_NUL},
		{"\x20\x00\x07\x01\x00\x00\x00\x00\x21\x00", 10, L7_PP_E_V2_BAD_SSL},
		{"\x20\x00\x08\x01\x00\x00\x00\x00\x21\x00\x01", 11,
		 L7_PP_E_V2_BAD_SSL},
	};
	for (size_t i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		memcpy(body + 12, tc[i].tlv, tc[i].len);
		n = mk_v2(b, 0x21, 0x11, body, 12 + tc[i].len);
		int rc = l7_pp_parse(b, n, &r);
		if (rc != -tc[i].err)
			fail_msg("tlv case %zu: %s", i, l7_pp_strerror(rc));
	}
	/* Oversized TLV values for their kind. */
	uint8_t big[12 + 3 + 300] = {0};
	big[12] = 0x05, big[13] = 0, big[14] = 129;
	n = mk_v2(b, 0x21, 0x11, big, 12 + 3 + 129);
	assert_int_equal(l7_pp_parse(b, n, &r), -L7_PP_E_V2_TLV_SIZE);
	big[12] = 0x02, big[13] = 1, big[14] = 0;
	n = mk_v2(b, 0x21, 0x11, big, 12 + 3 + 256);
	assert_int_equal(l7_pp_parse(b, n, &r), -L7_PP_E_V2_TLV_SIZE);
}

static void test_writers(void **state)
{
	uint8_t b[L7_PP_V2_MAX], s4[16], d4[16], s6[16] = {0x20, 0x01, 0x0d, 0xb8},
		d6[16] = {0xfe, 0x80};
	struct l7_pp_result r;
	ssize_t n;

	(void)state;
	v4(s4, 203, 0, 113, 7);
	v4(d4, 127, 0, 0, 1);
	s6[15] = 9;
	d6[15] = 1;

	n = l7_pp_write_v1(b, sizeof(b), s4, 1234, d4, 80);
	assert_true(n > 0);
	assert_memory_equal(b, "PROXY TCP4 203.0.113.7 127.0.0.1 1234 80\r\n", n);
	assert_int_equal(parse_all_splits(b, n, &r), n);
	assert_memory_equal(r.src, s4, 16);
	assert_memory_equal(r.dst, d4, 16);
	assert_int_equal(r.sport, 1234);
	assert_int_equal(r.dport, 80);

	n = l7_pp_write_v1(b, sizeof(b), s6, 65535, d6, 0);
	assert_true(n > 0);
	assert_memory_equal(b, "PROXY TCP6 2001:db8::9 fe80::1 65535 0\r\n", n);
	assert_int_equal(parse_all_splits(b, n, &r), n);
	assert_int_equal(r.family, L7_PP_TCP6);
	assert_memory_equal(r.src, s6, 16);
	assert_memory_equal(r.dst, d6, 16);

	/* Mixed families go out as TCP6 with the v4 one mapped. */
	n = l7_pp_write_v1(b, sizeof(b), s4, 1, d6, 2);
	assert_int_equal(l7_pp_parse(b, n, &r), n);
	assert_int_equal(r.family, L7_PP_TCP6);
	assert_memory_equal(r.src, s4, 16);

	n = l7_pp_write_v1(b, sizeof(b), NULL, 0, NULL, 0);
	assert_int_equal(n, 15);
	assert_int_equal(l7_pp_parse(b, n, &r), 15);
	assert_int_equal(l7_pp_write_v1(b, 10, s4, 1, d4, 2), -ENOSPC);

	/* v2 with every TLV the writer knows, CRC checked by the parser. */
	struct l7_pp_v2_opts o = {.alpn = "http/1.1", .authority = "a.example",
				  .netns = "blue", .unique_id = (const uint8_t *)"\x00\x01\x02",
				  .unique_id_len = 3, .crc32c = true};
	n = l7_pp_write_v2(b, sizeof(b), s6, 443, d6, 8443, &o);
	assert_true(n > 16);
	assert_int_equal(parse_all_splits(b, n, &r), n);
	assert_int_equal(r.version, 2);
	assert_int_equal(r.family, L7_PP_TCP6);
	assert_memory_equal(r.src, s6, 16);
	assert_memory_equal(r.dst, d6, 16);
	assert_int_equal(r.sport, 443);
	assert_int_equal(r.dport, 8443);
	assert_int_equal(r.tlvs, L7_PP_HAS_ALPN | L7_PP_HAS_AUTHORITY |
				 L7_PP_HAS_NETNS | L7_PP_HAS_UNIQUE_ID |
				 L7_PP_HAS_CRC32C);
	assert_string_equal(r.alpn, "http/1.1");
	assert_string_equal(r.authority, "a.example");
	assert_string_equal(r.netns, "blue");
	assert_int_equal(r.unique_id_len, 3);
	/* Any flipped bit now fails the checksum (or the framing). */
	for (ssize_t i = 16; i < n; i++) {
		b[i] ^= 0x01;
		assert_true(l7_pp_parse(b, n, &r) < 0);
		b[i] ^= 0x01;
	}

	n = l7_pp_write_v2(b, sizeof(b), s4, 1, d4, 2, NULL);
	assert_int_equal(n, 28);
	assert_int_equal(l7_pp_parse(b, n, &r), 28);
	assert_int_equal(r.family, L7_PP_TCP4);
	assert_memory_equal(r.src, s4, 16);

	n = l7_pp_write_v2(b, sizeof(b), NULL, 0, NULL, 0, NULL);
	assert_int_equal(n, 16);
	assert_memory_equal(b, SIG, 12);
	assert_int_equal(b[12], 0x20);
	assert_int_equal(l7_pp_parse(b, n, &r), 16);
	assert_int_equal(r.command, L7_PP_LOCAL);

	assert_int_equal(l7_pp_write_v2(b, 27, s4, 1, d4, 2, NULL), -ENOSPC);
	char longs[300];
	memset(longs, 'a', 299);
	longs[299] = 0;
	o = (struct l7_pp_v2_opts){.authority = longs};
	assert_int_equal(l7_pp_write_v2(b, sizeof(b), s4, 1, d4, 2, &o), -EINVAL);
}

static void parse_haproxy(const char *file, struct l7_pp_result *r,
			  size_t *hdr)
{
	uint8_t b[1024];
	size_t n = load(file, b, sizeof(b));
	int rc;

	assert_true(n > 0);
	/* The capture holds the header then what the client sent. */
	rc = l7_pp_parse(b, n, r);
	if (rc <= 0)
		fail_msg("%s: %d %s", file, rc, l7_pp_strerror(rc));
	assert_int_equal(parse_all_splits(b, (size_t)rc, r), rc);
	*hdr = (size_t)rc;
	if ((size_t)rc < n)
		assert_memory_equal(b + rc, "hello\n", n - (size_t)rc);
}

static void test_haproxy_bytes(void **state)
{
	static const uint8_t lo6[16] = {[15] = 1};
	struct l7_pp_result r;
	uint8_t lo4[16];
	size_t h;

	(void)state;
	v4(lo4, 127, 0, 0, 1);

	parse_haproxy("haproxy_v1_tcp4.bin", &r, &h);
	assert_int_equal(r.version, 1);
	assert_int_equal(r.family, L7_PP_TCP4);
	assert_memory_equal(r.src, lo4, 16);
	assert_memory_equal(r.dst, lo4, 16);
	assert_int_equal(r.sport, 54864);
	assert_int_equal(r.dport, 41001);

	parse_haproxy("haproxy_v1_tcp6.bin", &r, &h);
	assert_int_equal(r.family, L7_PP_TCP6);
	assert_memory_equal(r.src, lo6, 16);
	assert_int_equal(r.dport, 41003);

	parse_haproxy("haproxy_v2_tcp4.bin", &r, &h);
	assert_int_equal(r.version, 2);
	assert_int_equal(r.command, L7_PP_PROXY);
	assert_int_equal(r.family, L7_PP_TCP4);
	assert_memory_equal(r.src, lo4, 16);
	assert_int_equal(r.dport, 41002);
	assert_int_equal(r.tlvs, 0);

	parse_haproxy("haproxy_v2_tcp6.bin", &r, &h);
	assert_int_equal(r.family, L7_PP_TCP6);
	assert_memory_equal(r.dst, lo6, 16);
	assert_int_equal(r.dport, 41004);

	/* proxy-v2-options crc32c,unique-id (unique-id-format abc123-%ci). */
	parse_haproxy("haproxy_v2_crc_uniqueid.bin", &r, &h);
	assert_int_equal(r.tlvs, L7_PP_HAS_CRC32C | L7_PP_HAS_UNIQUE_ID);
	assert_int_equal(r.unique_id_len, 16);
	assert_memory_equal(r.unique_id, "abc123-127.0.0.1", 16);

	/* ssl,cert-cn,ssl-cipher,cert-sig,cert-key,authority,crc32c behind a
	 * TLS frontend reached by openssl s_client -servername. */
	parse_haproxy("haproxy_v2_ssl.bin", &r, &h);
	assert_int_equal(r.tlvs, L7_PP_HAS_CRC32C | L7_PP_HAS_AUTHORITY |
				 L7_PP_HAS_SSL);
	assert_string_equal(r.authority, "www.example.org");
	assert_int_equal(r.ssl_client, 1);
	assert_int_equal(r.ssl_verify, 0);
	assert_string_equal(r.ssl_version, "TLSv1.3");
	assert_string_equal(r.ssl_cipher, "TLS_AES_256_GCM_SHA384");
	assert_string_equal(r.ssl_cn, "");

	/* A health check (check-send-proxy): LOCAL, AF_UNSPEC, no body. */
	parse_haproxy("haproxy_v2_local.bin", &r, &h);
	assert_int_equal(h, 16);
	assert_int_equal(r.command, L7_PP_LOCAL);
	assert_int_equal(r.family, L7_PP_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_valid),
		cmocka_unit_test(test_v1_malformed),
		cmocka_unit_test(test_v2_valid),
		cmocka_unit_test(test_v2_malformed),
		cmocka_unit_test(test_writers),
		cmocka_unit_test(test_haproxy_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
