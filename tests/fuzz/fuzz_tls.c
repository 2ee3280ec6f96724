/* libFuzzer target: TLS streams fed arbitrary bytes from the peer.
 *
 * Byte 0 picks the side and how the rest is cut: bit 0 a client
 * (the input is what a server sends) instead of a server (the input is
 * a ClientHello and records); bit 1 inspection (minting) instead of
 * plain certificates; bits 2-7 a chunk size (0: everything at once).
 * After each chunk the TLS side reads until it would block and, once
 * connected, writes an answer; at the end the peer's end of stream
 * comes and everything is closed. What the TLS side sends is drained
 * and dropped. Certificates are made at start-up, in memory, then
 * written to a scratch directory for the file-based ctx API. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/obj.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "l7/l7_tls.h"
#include "stack/stk_stream.h"

static struct l7_tls_ctx *server_ctx, *inspect_ctx, *client_ctx;

/* A self-signed CA certificate with its key, as PEM files in dir. */
static void make_ca(const char *dir, char *cert, char *key, size_t len)
{
	EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
	EVP_PKEY *k = EVP_PKEY_new();
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *e;
	FILE *f;

	if (!ec || !k || !x || !n || !EC_KEY_generate_key(ec) ||
	    !EVP_PKEY_assign_EC_KEY(k, ec))
		abort();
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
				   (const uint8_t *)"fuzz", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
	X509_set_pubkey(x, k);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	e = X509V3_EXT_nconf_nid(NULL, &v3, NID_basic_constraints,
				 "critical,CA:TRUE");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	e = X509V3_EXT_nconf_nid(NULL, &v3, NID_subject_alt_name,
				 "DNS:fuzz.test");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (!X509_sign(x, k, EVP_sha256()))
		abort();
	snprintf(cert, len, "%s/ca.pem", dir);
	snprintf(key, len, "%s/ca.key", dir);
	f = fopen(cert, "w");
	if (!f || !PEM_write_X509(f, x))
		abort();
	fclose(f);
	f = fopen(key, "w");
	if (!f || !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL))
		abort();
	fclose(f);
	X509_NAME_free(n);
	X509_free(x);
	EVP_PKEY_free(k);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/strata-fuzz-tls-XXXXXX", cert[128], key[128];
	char err[256];
	static const char *const alpn[] = { "h2", "http/1.1" };
	struct l7_tls_cert_conf cc;
	struct l7_tls_server_conf sc = {
		.certs = &cc, .n_certs = 1, .alpn = alpn, .n_alpn = 2,
		.client_auth = L7_TLS_CLIENT_AUTH_OPTIONAL,
	};
	struct l7_tls_server_conf ic = { .inspect_cache = 16 };
	struct l7_tls_client_conf cl = { .alpn = alpn, .n_alpn = 2 };

	if (!mkdtemp(dir))
		abort();
	make_ca(dir, cert, key, sizeof(cert));
	cc = (struct l7_tls_cert_conf){ .cert_file = cert, .key_file = key };
	sc.client_ca_file = cert;
	ic.inspect_ca_cert = cert;
	ic.inspect_ca_key = key;
	cl.ca_file = cert;
	server_ctx = l7_tls_ctx_server_new(&sc, err, sizeof(err));
	inspect_ctx = l7_tls_ctx_server_new(&ic, err, sizeof(err));
	client_ctx = l7_tls_ctx_client_new(&cl, err, sizeof(err));
	if (!server_ctx || !inspect_ctx || !client_ctx) {
		fprintf(stderr, "fuzz_tls: %s\n", err);
		abort();
	}
	unlink(cert);
	unlink(key);
	rmdir(dir);
	return 0;
}

static void drain(struct stk_stream *raw)
{
	uint8_t buf[4096];

	while (stk_read(raw, buf, sizeof(buf)) > 0)
		;
}

/* Read until it would block; answer once connected. false: done. */
static bool step(struct stk_stream *tls, bool *answered)
{
	uint8_t buf[4096];
	ssize_t n;

	for (;;) {
		n = stk_read(tls, buf, sizeof(buf));
		if (n == -EAGAIN)
			break;
		if (n <= 0)
			return false;
	}
	if (!*answered && l7_tls_info(tls)->connected) {
		*answered = true;
		if (stk_write(tls, "answer", 6) < 0)
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stk_stream *raw, *t, *tls;
	size_t chunk, off = 1;
	bool client, answered = false, alive = true;

	if (size < 1)
		return 0;
	client = data[0] & 1;
	chunk = data[0] >> 2;
	if (stk_stream_pair(1 << 16, &raw, &t))
		return 0;
	tls = client ? l7_tls_client(t, client_ctx, "fuzz.test") :
		       l7_tls_server(t, (data[0] & 2) ? inspect_ctx :
				     server_ctx);
	if (!tls) {
		stk_close(raw);
		stk_close(t);
		return 0;
	}
	drain(raw);
	while (off < size && alive) {
		size_t n = chunk && size - off > chunk ? chunk : size - off;
		ssize_t w = stk_write(raw, data + off, n);

		if (w <= 0)
			break;
		off += (size_t)w;
		alive = step(tls, &answered);
		drain(raw);
	}
	if (alive) {
		stk_shutdown(raw);
		step(tls, &answered);
		drain(raw);
	}
	(void)l7_tls_error_cause(tls);
	stk_close(tls);
	drain(raw);
	stk_close(raw);
	return 0;
}
