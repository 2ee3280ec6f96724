/* Internals shared by l7_tls.c and l7_tls_mint.c. */
#ifndef STRATA_L7_TLS_PRIVATE_H
#define STRATA_L7_TLS_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/* A certificate chain (leaf first) as BoringSSL buffers, and its key. */
struct l7_tls__chain {
	CRYPTO_BUFFER **certs;
	size_t n;
	EVP_PKEY *key;
};

/* 0, or -1 with err set ("<what> <path>: <problem>"). */
int l7_tls__load_chain(struct l7_tls__chain *c, const char *cert_file,
		       const char *key_file, const char *what, char *err,
		       size_t errlen);
void l7_tls__chain_clear(struct l7_tls__chain *c);
void l7_tls__err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Inspection: leaves minted per name, signed by a CA, cached (LRU). */
struct l7_tls_mint;

struct l7_tls_mint *l7_tls_mint_new(const char *ca_cert, const char *ca_key,
				    size_t cache, char *err, size_t errlen);
void l7_tls_mint_free(struct l7_tls_mint *m);
/* Serve name's leaf on ssl (minted or cached). name is a host name or
 * an IP literal, already lowercase. 0, -EINVAL (not a usable name),
 * -ENOMEM or -EIO (minting failed). *hit says whether it was cached. */
int l7_tls_mint_use(struct l7_tls_mint *m, SSL *ssl, const char *name,
		    bool *hit);

#endif
