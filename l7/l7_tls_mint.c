/* Inspection: leaf certificates minted on the fly for the name in the
 * ClientHello, signed by a configured CA.
 *
 * One EC P-256 key serves every leaf (generated at start, never
 * written anywhere): minting is then one signature, and a cached leaf is
 * just its DER. Leaves are cached by name in a hash with an LRU list,
 * bounded; the cache is shared by workers under a lock held only for
 * lookups and inserts, never while signing. */
#include "l7_tls_private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#define L7_TLS_MINT_DAYS 30          /* leaf lifetime */
#define L7_TLS_MINT_RENEW (86400)    /* re-mint a cached leaf this close to
					its end */

struct l7_tls_leaf {
	char *name;
	CRYPTO_BUFFER *der;
	time_t not_after;
	struct l7_tls_leaf *prev, *next; /* LRU, most recent first */
	struct l7_tls_leaf *hnext;
};

struct l7_tls_mint {
	X509 *ca;
	EVP_PKEY *ca_key;
	CRYPTO_BUFFER *ca_der;       /* sent after the leaf unless a root */
	bool send_ca;
	EVP_PKEY *leaf_key;
	pthread_mutex_t lock;
	size_t cap, n, n_buckets;
	struct l7_tls_leaf **buckets;
	struct l7_tls_leaf lru;      /* sentinel */
};

static uint64_t l7_tls_mint_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;  /* FNV-1a */

	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

static void l7_tls_lru_unlink(struct l7_tls_leaf *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
}

static void l7_tls_lru_front(struct l7_tls_mint *m, struct l7_tls_leaf *l)
{
	l->next = m->lru.next;
	l->prev = &m->lru;
	m->lru.next->prev = l;
	m->lru.next = l;
}

static void l7_tls_leaf_free(struct l7_tls_leaf *l)
{
	CRYPTO_BUFFER_free(l->der);
	free(l->name);
	free(l);
}

static struct l7_tls_leaf **l7_tls_mint_slot(struct l7_tls_mint *m,
					     const char *name)
{
	struct l7_tls_leaf **p = &m->buckets[l7_tls_mint_hash(name) %
					      m->n_buckets];

	while (*p && strcmp((*p)->name, name))
		p = &(*p)->hnext;
	return p;
}

static void l7_tls_mint_remove(struct l7_tls_mint *m, struct l7_tls_leaf *l)
{
	struct l7_tls_leaf **p = l7_tls_mint_slot(m, l->name);

	*p = l->hnext;
	l7_tls_lru_unlink(l);
	m->n--;
	l7_tls_leaf_free(l);
}

static EVP_PKEY *l7_tls_p256(void)
{
	EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
	EVP_PKEY *k = EVP_PKEY_new();

	if (!ec || !k || !EC_KEY_generate_key(ec) ||
	    !EVP_PKEY_assign_EC_KEY(k, ec)) {
		EC_KEY_free(ec);
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

struct l7_tls_mint *l7_tls_mint_new(const char *ca_cert, const char *ca_key,
				    size_t cache, char *err, size_t errlen)
{
	struct l7_tls__chain ch;
	struct l7_tls_mint *m;
	const uint8_t *p;
	X509 *ca;

	if (l7_tls__load_chain(&ch, ca_cert, ca_key, "inspect CA", err,
			       errlen))
		return NULL;
	p = CRYPTO_BUFFER_data(ch.certs[0]);
	ca = d2i_X509(NULL, &p, (long)CRYPTO_BUFFER_len(ch.certs[0]));
	if (!ca) {
		l7_tls__err(err, errlen, "inspect CA %s: unreadable", ca_cert);
		goto out_chain;
	}
	if (X509_check_ca(ca) < 1) {
		l7_tls__err(err, errlen,
			    "inspect CA %s: not a CA certificate "
			    "(basicConstraints CA:TRUE)", ca_cert);
		goto out_ca;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		l7_tls__err(err, errlen, "inspect CA: out of memory");
		goto out_ca;
	}
	m->cap = cache;
	m->n_buckets = cache * 2 + 1;
	m->buckets = calloc(m->n_buckets, sizeof(*m->buckets));
	m->leaf_key = l7_tls_p256();
	if (!m->buckets || !m->leaf_key) {
		l7_tls__err(err, errlen, "inspect CA: out of memory");
		free(m->buckets);
		EVP_PKEY_free(m->leaf_key);
		free(m);
		goto out_ca;
	}
	m->ca = ca;
	m->ca_key = ch.key;
	ch.key = NULL;
	m->ca_der = ch.certs[0];
	CRYPTO_BUFFER_up_ref(m->ca_der);
	m->send_ca = X509_check_issued(ca, ca) != X509_V_OK;
	m->lru.next = m->lru.prev = &m->lru;
	pthread_mutex_init(&m->lock, NULL);
	l7_tls__chain_clear(&ch);
	ERR_clear_error();
	return m;
out_ca:
	X509_free(ca);
out_chain:
	l7_tls__chain_clear(&ch);
	ERR_clear_error();
	return NULL;
}

void l7_tls_mint_free(struct l7_tls_mint *m)
{
	if (!m)
		return;
	while (m->lru.next != &m->lru) {
		struct l7_tls_leaf *l = m->lru.next;

		l7_tls_lru_unlink(l);
		l7_tls_leaf_free(l);
	}
	free(m->buckets);
	X509_free(m->ca);
	EVP_PKEY_free(m->ca_key);
	CRYPTO_BUFFER_free(m->ca_der);
	EVP_PKEY_free(m->leaf_key);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* A host name (letters, digits, '-', '_', dots between labels of 1..63)
 * or an IP literal; *ip says which. Anything else is refused rather
 * than put in a certificate. */
static bool l7_tls_mint_name_ok(const char *name, bool *ip)
{
	uint8_t a[16];
	size_t len = strlen(name), label = 0;

	*ip = inet_pton(AF_INET, name, a) == 1 ||
	      inet_pton(AF_INET6, name, a) == 1;
	if (*ip)
		return true;
	if (!len || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (c == '.') {
			if (!label)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

static int l7_tls_mint_ext(X509 *x, X509V3_CTX *v3, int nid, const char *v)
{
	X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, v3, nid, v);
	int ok;

	if (!e)
		return -1;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok ? 0 : -1;
}

static CRYPTO_BUFFER *l7_tls_mint_leaf(struct l7_tls_mint *m,
				       const char *name, bool ip,
				       time_t *not_after)
{
	char san[300];
	uint8_t serial[16];
	X509V3_CTX v3;
	X509_NAME *subj = NULL;
	BIGNUM *bn = NULL;
	CRYPTO_BUFFER *out = NULL;
	uint8_t *der = NULL;
	time_t now = time(NULL);
	int len;
	X509 *x = X509_new();

	if (!x)
		return NULL;
	RAND_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;           /* positive */
	serial[0] |= 0x01;           /* and full length */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	subj = X509_NAME_new();
	if (!bn || !subj || !X509_set_version(x, X509_VERSION_3) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(m->ca)) ||
	    /* back-dated an hour for clients with a slow clock */
	    !X509_time_adj_ex(X509_getm_notBefore(x), 0, -3600, &now) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), L7_TLS_MINT_DAYS, 0,
			      &now) ||
	    !X509_set_pubkey(x, m->leaf_key))
		goto out;
	/* CN is at most 64 bytes; the SAN is what clients check */
	if (strlen(name) <= 64 &&
	    !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
					(const uint8_t *)name, -1, -1, 0))
		goto out;
	if (!X509_set_subject_name(x, subj))
		goto out;
	X509V3_set_ctx(&v3, m->ca, x, NULL, NULL, 0);
	snprintf(san, sizeof(san), "%s:%s", ip ? "IP" : "DNS", name);
	if (l7_tls_mint_ext(x, &v3, NID_subject_alt_name, san) ||
	    l7_tls_mint_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE") ||
	    l7_tls_mint_ext(x, &v3, NID_key_usage,
			    "critical,digitalSignature") ||
	    l7_tls_mint_ext(x, &v3, NID_ext_key_usage, "serverAuth") ||
	    l7_tls_mint_ext(x, &v3, NID_subject_key_identifier, "hash") ||
	    l7_tls_mint_ext(x, &v3, NID_authority_key_identifier, "keyid"))
		goto out;
	if (!X509_sign(x, m->ca_key, EVP_sha256()))
		goto out;
	len = i2d_X509(x, &der);
	if (len > 0)
		out = CRYPTO_BUFFER_new(der, (size_t)len, NULL);
	*not_after = now + (time_t)L7_TLS_MINT_DAYS * 86400;
out:
	OPENSSL_free(der);
	X509_NAME_free(subj);
	BN_free(bn);
	X509_free(x);
	ERR_clear_error();
	return out;
}

/* The cached leaf for name with a reference for the caller, or NULL. */
static CRYPTO_BUFFER *l7_tls_mint_lookup(struct l7_tls_mint *m,
					 const char *name, time_t now)
{
	struct l7_tls_leaf *l;
	CRYPTO_BUFFER *b = NULL;

	pthread_mutex_lock(&m->lock);
	l = *l7_tls_mint_slot(m, name);
	if (l && now + L7_TLS_MINT_RENEW >= l->not_after) {
		l7_tls_mint_remove(m, l);
		l = NULL;
	}
	if (l) {
		l7_tls_lru_unlink(l);
		l7_tls_lru_front(m, l);
		b = l->der;
		CRYPTO_BUFFER_up_ref(b);
	}
	pthread_mutex_unlock(&m->lock);
	return b;
}

static void l7_tls_mint_insert(struct l7_tls_mint *m, const char *name,
			       CRYPTO_BUFFER *der, time_t not_after)
{
	struct l7_tls_leaf **slot, *l;

	if (!m->cap)
		return;
	l = calloc(1, sizeof(*l));
	if (!l || !(l->name = strdup(name))) {
		free(l);
		return;                 /* not cached: minted again next time */
	}
	l->der = der;
	CRYPTO_BUFFER_up_ref(der);
	l->not_after = not_after;
	pthread_mutex_lock(&m->lock);
	slot = l7_tls_mint_slot(m, name);
	if (*slot)                      /* another worker minted it too */
		l7_tls_mint_remove(m, *slot);
	slot = l7_tls_mint_slot(m, name);
	*slot = l;
	l7_tls_lru_front(m, l);
	m->n++;
	while (m->n > m->cap)
		l7_tls_mint_remove(m, m->lru.prev);
	pthread_mutex_unlock(&m->lock);
}

int l7_tls_mint_use(struct l7_tls_mint *m, SSL *ssl, const char *name,
		    bool *hit)
{
	CRYPTO_BUFFER *chain[2];
	time_t now = time(NULL), not_after;
	bool ip;
	int ok;

	if (!l7_tls_mint_name_ok(name, &ip))
		return -EINVAL;
	chain[0] = l7_tls_mint_lookup(m, name, now);
	*hit = chain[0] != NULL;
	if (!chain[0]) {
		chain[0] = l7_tls_mint_leaf(m, name, ip, &not_after);
		if (!chain[0])
			return -EIO;
		l7_tls_mint_insert(m, name, chain[0], not_after);
	}
	chain[1] = m->ca_der;
	ok = SSL_set_chain_and_key(ssl, chain, m->send_ca ? 2 : 1,
				   m->leaf_key, NULL);
	CRYPTO_BUFFER_free(chain[0]);
	return ok ? 0 : -ENOMEM;
}
