/* TLS on BoringSSL as a stream over a stream. See l7_tls.h.
 *
 * Ciphertext goes through two memory BIOs: rbio holds what was read from
 * the transport and BoringSSL has not consumed yet (it is filled only
 * when BoringSSL asks for more, so it stays below two records), wbio
 * holds what BoringSSL produced and the transport has not taken (write()
 * adds at most one record, and only while wbio is empty).
 *
 * Re-entrancy: writing to or reading from the transport can call back
 * into us synchronously (the in-memory pair does, through the peer).
 * While we are inside BoringSSL or the transport (in_io), transport
 * events are only recorded in `pending` and handled when we come out;
 * user calls made meanwhile get -EAGAIN and a later event; close() and
 * abort() are remembered and done then. `depth` counts our frames on the
 * stack so that the stream is freed only when the last one returns. */
#include "l7_tls.h"
#include "l7_tls_private.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define L7_TLS_RECORD 16384          /* plaintext taken per write() */
#define L7_TLS_PULL 16384            /* ciphertext read per transport read */
#define L7_TLS_CLIENT_SESSIONS 64    /* client session cache entries */
#define L7_TLS_MAX_SANS 32
#define L7_TLS_SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"

static const char *const l7_tls_cause_names[L7_TLS_CAUSE__COUNT] = {
#define L7_TLS_CAUSE_NAME(n, s) [L7_TLS_##n] = s,
	L7_TLS_CAUSES(L7_TLS_CAUSE_NAME)
#undef L7_TLS_CAUSE_NAME
};

const char *l7_tls_cause_name(enum l7_tls_cause c)
{
	return (unsigned)c < L7_TLS_CAUSE__COUNT ? l7_tls_cause_names[c] : "?";
}

/* ---- contexts ----------------------------------------------------------- */

struct l7_tls_sni {
	char *name;                  /* lowercase; "*.x.y" for a wildcard */
	size_t cert;
};

struct l7_tls_csess {                /* a client session per server name */
	char *name;
	SSL_SESSION *sess;
	uint64_t used;
};

struct l7_tls_ctx {
	SSL_CTX *ssl_ctx;
	bool server;
	bool insecure;
	bool client_reuse;
	struct l7_tls__chain *certs;
	size_t n_certs;
	struct l7_tls_sni *sni;
	size_t n_sni;
	uint8_t *alpn;               /* wire format: length-prefixed names */
	size_t alpn_len;
	struct l7_tls_mint *mint;
	pthread_mutex_t lock;        /* the client session cache */
	struct l7_tls_csess sess[L7_TLS_CLIENT_SESSIONS];
	uint64_t sess_tick;
	struct l7_tls_counters ctr;
};

#define L7_TLS_COUNT(ctx, field) \
	__atomic_fetch_add(&(ctx)->ctr.field, 1, __ATOMIC_RELAXED)

/* ---- the stream --------------------------------------------------------- */

struct l7_tls {
	struct stk_stream s;         /* plaintext, the user's side */
	struct stk_stream *t;        /* ciphertext, owned */
	struct l7_tls_ctx *ctx;
	SSL *ssl;
	BIO *rbio, *wbio;
	unsigned depth;
	unsigned pending;            /* transport events deferred (in_io) */
	int hint;                    /* cause + 1 chosen by a callback */
	bool in_io;
	bool connected;
	bool told;                   /* CONNECTED was given to the user */
	bool want_write;             /* write() said -EAGAIN: owe WRITABLE */
	bool t_eof;                  /* the transport gave end of stream */
	bool t_dead;                 /* the transport failed */
	bool read_eof;               /* read() returned 0 */
	bool shut;                   /* shutdown() asked */
	bool shut_sent;              /* close_notify is in wbio */
	bool t_shut;                 /* the transport was shut down */
	bool failed;
	bool closed;                 /* close() or abort(): no more events */
	bool close_req, abort_req;   /* asked while in_io */
	bool dead;                   /* free when depth reaches 0 */
	bool err_owed;               /* failed where no return could say */
	bool lingering;              /* counted in ctr.lingering */
	enum l7_tls_cause cause;
	char *name;                  /* client: server name; server: default */
	struct l7_tls_info info;
	char *alpn;
	char *sni;                   /* server: lowercase copy */
	char **sans;
};

static int l7_tls_ex_index = -1;
static pthread_once_t l7_tls_once = PTHREAD_ONCE_INIT;

static void l7_tls_init_once(void)
{
	l7_tls_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static const struct stk_stream_ops l7_tls_ops;

static struct l7_tls *l7_tls_of(struct stk_stream *s)
{
	return (struct l7_tls *)s;
}

static struct l7_tls *l7_tls_of_ssl(const SSL *ssl)
{
	return SSL_get_ex_data(ssl, l7_tls_ex_index);
}

bool l7_tls_is_tls(const struct stk_stream *s)
{
	return s && s->ops == &l7_tls_ops;
}

/* ---- helpers: errors, files -------------------------------------------- */

void l7_tls__err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* BoringSSL's reason for the last failure, for messages. */
static const char *l7_tls_ssl_reason(void)
{
	uint32_t e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : "unknown error";
}

static BIO *l7_tls_open(const char *path, const char *what, char *err,
			size_t errlen)
{
	FILE *f = fopen(path, "r");
	BIO *b;

	if (!f) {
		l7_tls__err(err, errlen, "%s %s: %s", what, path,
			    strerror(errno));
		return NULL;
	}
	b = BIO_new_fp(f, BIO_CLOSE);
	if (!b) {
		fclose(f);
		l7_tls__err(err, errlen, "%s %s: out of memory", what, path);
	}
	return b;
}

void l7_tls__chain_clear(struct l7_tls__chain *c)
{
	for (size_t i = 0; i < c->n; i++)
		CRYPTO_BUFFER_free(c->certs[i]);
	free(c->certs);
	EVP_PKEY_free(c->key);
	memset(c, 0, sizeof(*c));
}

static int l7_tls_push_cert(struct l7_tls__chain *c, X509 *x)
{
	uint8_t *der = NULL;
	int len = i2d_X509(x, &der);
	CRYPTO_BUFFER **n;
	CRYPTO_BUFFER *b;

	if (len <= 0)
		return -1;
	b = CRYPTO_BUFFER_new(der, (size_t)len, NULL);
	OPENSSL_free(der);
	n = b ? realloc(c->certs, (c->n + 1) * sizeof(*n)) : NULL;
	if (!n) {
		CRYPTO_BUFFER_free(b);
		return -1;
	}
	c->certs = n;
	c->certs[c->n++] = b;
	return 0;
}

int l7_tls__load_chain(struct l7_tls__chain *c, const char *cert_file,
		       const char *key_file, const char *what, char *err,
		       size_t errlen)
{
	X509 *leaf = NULL, *x;
	BIO *b;
	int ret = -1;

	memset(c, 0, sizeof(*c));
	if (!cert_file || !*cert_file || !key_file || !*key_file) {
		l7_tls__err(err, errlen, "%s: needs a cert file and a key file",
			    what);
		return -1;
	}
	b = l7_tls_open(cert_file, what, err, errlen);
	if (!b)
		return -1;
	ERR_clear_error();
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		if (l7_tls_push_cert(c, x) < 0) {
			X509_free(x);
			l7_tls__err(err, errlen, "%s %s: out of memory", what,
				    cert_file);
			goto out_free_bio;
		}
		if (!leaf)
			leaf = x;
		else
			X509_free(x);
	}
	BIO_free(b);
	b = NULL;
	if (!leaf) {
		l7_tls__err(err, errlen, "%s %s: no PEM certificate in it",
			    what, cert_file);
		goto out_free;
	}
	b = l7_tls_open(key_file, what, err, errlen);
	if (!b)
		goto out_free;
	ERR_clear_error();
	c->key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	if (!c->key) {
		l7_tls__err(err, errlen, "%s %s: no PEM private key in it (%s)",
			    what, key_file, l7_tls_ssl_reason());
		goto out_free_bio;
	}
	if (!X509_check_private_key(leaf, c->key)) {
		l7_tls__err(err, errlen,
			    "%s %s: the key does not match certificate %s",
			    what, key_file, cert_file);
		goto out_free_bio;
	}
	ret = 0;
out_free_bio:
	BIO_free(b);
out_free:
	X509_free(leaf);
	if (ret)
		l7_tls__chain_clear(c);
	ERR_clear_error();
	return ret;
}

static int l7_tls_versions(SSL_CTX *sc, uint16_t min, uint16_t max,
			   char *err, size_t errlen)
{
	if (!min)
		min = L7_TLS_1_2;
	if (!max)
		max = L7_TLS_1_3;
	if ((min != L7_TLS_1_2 && min != L7_TLS_1_3) ||
	    (max != L7_TLS_1_2 && max != L7_TLS_1_3) || min > max) {
		l7_tls__err(err, errlen,
			    "tls versions: min 0x%04x, max 0x%04x: only TLS 1.2 "
			    "and 1.3, min <= max", min, max);
		return -1;
	}
	SSL_CTX_set_min_proto_version(sc, min);
	SSL_CTX_set_max_proto_version(sc, max);
	return 0;
}

/* ALPN names into wire format. */
static int l7_tls_alpn_wire(struct l7_tls_ctx *ctx, const char *const *names,
			    size_t n, char *err, size_t errlen)
{
	size_t len = 0, off = 0;

	for (size_t i = 0; i < n; i++) {
		size_t l = names[i] ? strlen(names[i]) : 0;

		if (!l || l > 255) {
			l7_tls__err(err, errlen, "alpn: \"%s\": 1 to 255 bytes",
				    names[i] ? names[i] : "");
			return -1;
		}
		len += 1 + l;
	}
	if (!len)
		return 0;
	ctx->alpn = malloc(len);
	if (!ctx->alpn) {
		l7_tls__err(err, errlen, "alpn: out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i]);

		ctx->alpn[off++] = (uint8_t)l;
		memcpy(ctx->alpn + off, names[i], l);
		off += l;
	}
	ctx->alpn_len = len;
	return 0;
}

static int l7_tls_load_ca(SSL_CTX *sc, const char *path, const char *what,
			  char *err, size_t errlen)
{
	BIO *b = l7_tls_open(path, what, err, errlen);
	X509_STORE *store = SSL_CTX_get_cert_store(sc);
	X509 *x;
	int n = 0;

	if (!b)
		return -1;
	ERR_clear_error();
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		/* duplicates in bundles are fine */
		X509_STORE_add_cert(store, x);
		X509_free(x);
		n++;
	}
	BIO_free(b);
	ERR_clear_error();
	if (!n) {
		l7_tls__err(err, errlen, "%s %s: no PEM certificate in it",
			    what, path);
		return -1;
	}
	return 0;
}

static char *l7_tls_lower_dup(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (!d)
		return NULL;
	for (size_t i = 0; i < len; i++)
		d[i] = (char)tolower((unsigned char)s[i]);
	d[len] = '\0';
	if (len && d[len - 1] == '.')
		d[len - 1] = '\0';
	return d;
}

static int l7_tls_add_sni(struct l7_tls_ctx *ctx, const char *name,
			  size_t len, size_t cert)
{
	struct l7_tls_sni *n = realloc(ctx->sni, (ctx->n_sni + 1) * sizeof(*n));

	if (!n)
		return -1;
	ctx->sni = n;
	n[ctx->n_sni].name = l7_tls_lower_dup(name, len);
	if (!n[ctx->n_sni].name)
		return -1;
	n[ctx->n_sni++].cert = cert;
	return 0;
}

/* Names of a cert without configured ones: its DNS SANs, else its CN. */
static int l7_tls_names_from_cert(struct l7_tls_ctx *ctx, size_t idx)
{
	const CRYPTO_BUFFER *b = ctx->certs[idx].certs[0];
	const uint8_t *p = CRYPTO_BUFFER_data(b);
	X509 *x = d2i_X509(NULL, &p, (long)CRYPTO_BUFFER_len(b));
	GENERAL_NAMES *gens;
	int ret = 0, found = 0;

	if (!x)
		return -1;
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (size_t i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type != GEN_DNS)
			continue;
		if (l7_tls_add_sni(ctx, (const char *)ASN1_STRING_get0_data(
					   g->d.dNSName),
				   (size_t)ASN1_STRING_length(g->d.dNSName),
				   idx) < 0)
			ret = -1;
		found++;
	}
	GENERAL_NAMES_free(gens);
	if (!found) {
		char cn[256];
		int l = X509_NAME_get_text_by_NID(X509_get_subject_name(x),
						  NID_commonName, cn,
						  sizeof(cn));

		if (l > 0 && l7_tls_add_sni(ctx, cn, (size_t)l, idx) < 0)
			ret = -1;
	}
	X509_free(x);
	return ret;
}

static const struct l7_tls__chain *l7_tls_find_cert(struct l7_tls_ctx *ctx,
						     const char *name)
{
	const char *dot;

	if (!name)
		return &ctx->certs[0];
	for (size_t i = 0; i < ctx->n_sni; i++)
		if (!strcmp(ctx->sni[i].name, name))
			return &ctx->certs[ctx->sni[i].cert];
	/* "*.example.com" covers exactly one more label */
	dot = strchr(name, '.');
	if (dot && dot != name)
		for (size_t i = 0; i < ctx->n_sni; i++)
			if (ctx->sni[i].name[0] == '*' &&
			    ctx->sni[i].name[1] == '.' &&
			    !strcmp(ctx->sni[i].name + 1, dot))
				return &ctx->certs[ctx->sni[i].cert];
	return &ctx->certs[0];
}

/* The server name as sent, lowercase without a final dot; false if
 * none or too long. */
static bool l7_tls_sni_name(SSL *ssl, char *out, size_t outlen)
{
	const char *n = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	size_t len;

	if (!n || !(len = strlen(n)) || len >= outlen)
		return false;
	for (size_t i = 0; i <= len; i++)
		out[i] = (char)tolower((unsigned char)n[i]);
	if (out[len - 1] == '.')
		out[len - 1] = '\0';
	return out[0] != '\0';
}

/* ---- server callbacks ---------------------------------------------------- */

static int l7_tls_cert_cb(SSL *ssl, void *arg)
{
	struct l7_tls_ctx *ctx = arg;
	struct l7_tls *x = l7_tls_of_ssl(ssl);
	const struct l7_tls__chain *c;
	char name[256];
	const char *n = l7_tls_sni_name(ssl, name, sizeof(name)) ? name : NULL;

	if (ctx->mint) {
		bool hit = false;
		int r;

		if (!n)
			n = x ? x->name : NULL;
		if (!n) {
			if (x)
				x->hint = L7_TLS_NO_SNI + 1;
			return 0;
		}
		r = l7_tls_mint_use(ctx->mint, ssl, n, &hit);
		if (r < 0) {
			if (x)
				x->hint = (r == -EINVAL ? L7_TLS_BAD_SNI :
					   L7_TLS_MINT_FAILED) + 1;
			return 0;
		}
		if (hit)
			L7_TLS_COUNT(ctx, mint_hits);
		else
			L7_TLS_COUNT(ctx, mint_misses);
		return 1;
	}
	c = l7_tls_find_cert(ctx, n);
	return SSL_set_chain_and_key(ssl, c->certs, c->n, c->key, NULL);
}

static int l7_tls_alpn_select(SSL *ssl, const uint8_t **out, uint8_t *outlen,
			      const uint8_t *in, unsigned inlen, void *arg)
{
	struct l7_tls_ctx *ctx = arg;
	struct l7_tls *x;

	/* our preference first, then theirs */
	for (size_t i = 0; i < ctx->alpn_len; i += 1u + ctx->alpn[i]) {
		const uint8_t *ours = ctx->alpn + i;

		for (unsigned j = 0; j < inlen; j += 1u + in[j]) {
			if (j + 1u + in[j] > inlen)
				break;
			if (in[j] == ours[0] && !memcmp(in + j + 1, ours + 1,
							ours[0])) {
				*out = ours + 1;
				*outlen = ours[0];
				return SSL_TLSEXT_ERR_OK;
			}
		}
	}
	x = l7_tls_of_ssl(ssl);
	if (x)
		x->hint = L7_TLS_NO_SHARED_ALPN + 1;
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static int l7_tls_read_ticket_key(SSL_CTX *sc, const char *path, char *err,
				  size_t errlen)
{
	uint8_t key[49];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		l7_tls__err(err, errlen, "ticket_key_file %s: %s", path,
			    strerror(errno));
		return -1;
	}
	n = fread(key, 1, sizeof(key), f);
	fclose(f);
	if (n != 48) {
		l7_tls__err(err, errlen,
			    "ticket_key_file %s: must hold exactly 48 bytes",
			    path);
		return -1;
	}
	SSL_CTX_set_tlsext_ticket_keys(sc, key, 48);
	OPENSSL_cleanse(key, sizeof(key));
	return 0;
}

static struct l7_tls_ctx *l7_tls_ctx_alloc(bool server, char *err,
					   size_t errlen)
{
	struct l7_tls_ctx *ctx = calloc(1, sizeof(*ctx));

	pthread_once(&l7_tls_once, l7_tls_init_once);
	if (!ctx) {
		l7_tls__err(err, errlen, "out of memory");
		return NULL;
	}
	ctx->server = server;
	pthread_mutex_init(&ctx->lock, NULL);
	ctx->ssl_ctx = SSL_CTX_new(TLS_method());
	if (!ctx->ssl_ctx) {
		l7_tls__err(err, errlen, "SSL_CTX_new: %s", l7_tls_ssl_reason());
		pthread_mutex_destroy(&ctx->lock);
		free(ctx);
		return NULL;
	}
	return ctx;
}

struct l7_tls_ctx *l7_tls_ctx_server_new(const struct l7_tls_server_conf *c,
					 char *err, size_t errlen)
{
	static const uint8_t sid_ctx[] = "strata";
	struct l7_tls_ctx *ctx;
	bool inspect = c->inspect_ca_cert && *c->inspect_ca_cert;
	SSL_CTX *sc;

	if (!inspect && !c->n_certs) {
		l7_tls__err(err, errlen,
			    "tls server: needs a certificate or an inspect CA");
		return NULL;
	}
	ctx = l7_tls_ctx_alloc(true, err, errlen);
	if (!ctx)
		return NULL;
	sc = ctx->ssl_ctx;
	if (l7_tls_versions(sc, c->min_version, c->max_version, err, errlen))
		goto out_free;
	if (inspect) {
		ctx->mint = l7_tls_mint_new(c->inspect_ca_cert,
					    c->inspect_ca_key,
					    c->inspect_cache ? c->inspect_cache :
					    1024, err, errlen);
		if (!ctx->mint)
			goto out_free;
	} else {
		ctx->certs = calloc(c->n_certs, sizeof(*ctx->certs));
		if (!ctx->certs) {
			l7_tls__err(err, errlen, "out of memory");
			goto out_free;
		}
		for (size_t i = 0; i < c->n_certs; i++) {
			const struct l7_tls_cert_conf *cc = &c->certs[i];
			int r = 0;

			if (l7_tls__load_chain(&ctx->certs[i], cc->cert_file,
					       cc->key_file, "certificate",
					       err, errlen))
				goto out_free;
			ctx->n_certs++;
			for (size_t j = 0; j < cc->n_names; j++)
				r |= l7_tls_add_sni(ctx, cc->names[j],
						    strlen(cc->names[j]), i);
			if (!cc->n_names)
				r |= l7_tls_names_from_cert(ctx, i);
			if (r) {
				l7_tls__err(err, errlen,
					    "certificate %s: out of memory",
					    cc->cert_file);
				goto out_free;
			}
		}
	}
	SSL_CTX_set_cert_cb(sc, l7_tls_cert_cb, ctx);
	if (l7_tls_alpn_wire(ctx, c->alpn, c->n_alpn, err, errlen))
		goto out_free;
	if (ctx->alpn_len)
		SSL_CTX_set_alpn_select_cb(sc, l7_tls_alpn_select, ctx);
	if (c->client_auth != L7_TLS_CLIENT_AUTH_NONE) {
		STACK_OF(X509_NAME) *names;

		if (!c->client_ca_file || !*c->client_ca_file) {
			l7_tls__err(err, errlen,
				    "client_auth: needs a client CA file");
			goto out_free;
		}
		if (l7_tls_load_ca(sc, c->client_ca_file, "client_ca_file",
				   err, errlen))
			goto out_free;
		names = SSL_load_client_CA_file(c->client_ca_file);
		if (names)
			SSL_CTX_set_client_CA_list(sc, names);
		ERR_clear_error();
		SSL_CTX_set_verify(sc, SSL_VERIFY_PEER |
				   (c->client_auth == L7_TLS_CLIENT_AUTH_REQUIRED ?
				    SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
	}
	/* Sessions: tickets (keys of this ctx unless a file shares them)
	 * and, for TLS 1.2, the server-side cache by session id. */
	SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_session_id_context(sc, sid_ctx, sizeof(sid_ctx) - 1);
	if (c->session_timeout)
		SSL_CTX_set_timeout(sc, c->session_timeout);
	if (c->no_tickets)
		SSL_CTX_set_options(sc, SSL_OP_NO_TICKET);
	else if (c->ticket_key_file && *c->ticket_key_file &&
		 l7_tls_read_ticket_key(sc, c->ticket_key_file, err, errlen))
		goto out_free;
	return ctx;
out_free:
	l7_tls_ctx_free(ctx);
	return NULL;
}

/* Client sessions, kept per server name (TLS 1.3 sends them after the
 * handshake, so this is called from read()). */
static int l7_tls_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct l7_tls *x = l7_tls_of_ssl(ssl);
	struct l7_tls_ctx *ctx;
	struct l7_tls_csess *e = NULL;
	char *name;

	if (!x || !x->name || !SSL_SESSION_is_resumable(sess))
		return 0;
	ctx = x->ctx;
	pthread_mutex_lock(&ctx->lock);
	for (size_t i = 0; i < L7_TLS_CLIENT_SESSIONS; i++) {
		struct l7_tls_csess *c = &ctx->sess[i];

		if (c->name && !strcmp(c->name, x->name)) {
			e = c;
			break;
		}
		if (!e || (e->name && (!c->name || c->used < e->used)))
			e = c;
	}
	if (!e->name || strcmp(e->name, x->name)) {
		name = strdup(x->name);
		if (!name) {
			pthread_mutex_unlock(&ctx->lock);
			return 0;
		}
		free(e->name);
		e->name = name;
	}
	SSL_SESSION_free(e->sess);
	e->sess = sess;
	e->used = ++ctx->sess_tick;
	pthread_mutex_unlock(&ctx->lock);
	return 1;
}

static SSL_SESSION *l7_tls_find_session(struct l7_tls_ctx *ctx,
					const char *name)
{
	SSL_SESSION *s = NULL;

	pthread_mutex_lock(&ctx->lock);
	for (size_t i = 0; i < L7_TLS_CLIENT_SESSIONS; i++) {
		struct l7_tls_csess *c = &ctx->sess[i];

		if (c->name && !strcmp(c->name, name)) {
			s = c->sess;
			SSL_SESSION_up_ref(s);
			c->used = ++ctx->sess_tick;
			break;
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	return s;
}

struct l7_tls_ctx *l7_tls_ctx_client_new(const struct l7_tls_client_conf *c,
					 char *err, size_t errlen)
{
	struct l7_tls_ctx *ctx = l7_tls_ctx_alloc(false, err, errlen);
	SSL_CTX *sc;

	if (!ctx)
		return NULL;
	sc = ctx->ssl_ctx;
	if (l7_tls_versions(sc, c->min_version, c->max_version, err, errlen))
		goto out_free;
	ctx->insecure = c->insecure;
	if (!c->insecure) {
		const char *ca = c->ca_file && *c->ca_file ? c->ca_file :
				 L7_TLS_SYSTEM_CA;

		if (l7_tls_load_ca(sc, ca, "ca_file", err, errlen))
			goto out_free;
		SSL_CTX_set_verify(sc, SSL_VERIFY_PEER, NULL);
	}
	if ((c->cert_file && *c->cert_file) || (c->key_file && *c->key_file)) {
		struct l7_tls__chain ch;
		int r;

		if (l7_tls__load_chain(&ch, c->cert_file, c->key_file,
				       "client certificate", err, errlen))
			goto out_free;
		r = SSL_CTX_set_chain_and_key(sc, ch.certs, ch.n, ch.key, NULL);
		l7_tls__chain_clear(&ch);
		if (!r) {
			l7_tls__err(err, errlen, "client certificate %s: %s",
				    c->cert_file, l7_tls_ssl_reason());
			goto out_free;
		}
	}
	if (l7_tls_alpn_wire(ctx, c->alpn, c->n_alpn, err, errlen))
		goto out_free;
	if (ctx->alpn_len && SSL_CTX_set_alpn_protos(sc, ctx->alpn,
						     ctx->alpn_len)) {
		l7_tls__err(err, errlen, "alpn: out of memory");
		goto out_free;
	}
	ctx->client_reuse = !c->no_session_reuse;
	if (ctx->client_reuse) {
		SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_CLIENT |
					       SSL_SESS_CACHE_NO_INTERNAL);
		SSL_CTX_sess_set_new_cb(sc, l7_tls_new_session);
	}
	return ctx;
out_free:
	l7_tls_ctx_free(ctx);
	return NULL;
}

void l7_tls_ctx_free(struct l7_tls_ctx *ctx)
{
	if (!ctx)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	for (size_t i = 0; i < ctx->n_certs; i++)
		l7_tls__chain_clear(&ctx->certs[i]);
	free(ctx->certs);
	for (size_t i = 0; i < ctx->n_sni; i++)
		free(ctx->sni[i].name);
	free(ctx->sni);
	for (size_t i = 0; i < L7_TLS_CLIENT_SESSIONS; i++) {
		free(ctx->sess[i].name);
		SSL_SESSION_free(ctx->sess[i].sess);
	}
	free(ctx->alpn);
	l7_tls_mint_free(ctx->mint);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx);
}

const struct l7_tls_counters *l7_tls_ctx_counters(const struct l7_tls_ctx *ctx)
{
	return &ctx->ctr;
}

/* ---- peer certificate ----------------------------------------------------- */

static char *l7_tls_printable(const uint8_t *p, size_t len, const char *pre)
{
	size_t pl = strlen(pre);
	char *s = malloc(pl + len + 1);

	if (!s)
		return NULL;
	memcpy(s, pre, pl);
	for (size_t i = 0; i < len; i++)
		s[pl + i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	s[pl + len] = '\0';
	return s;
}

static char *l7_tls_name_str(const X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	const uint8_t *p;
	size_t len;
	char *s = NULL;

	if (!b)
		return NULL;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0 &&
	    BIO_mem_contents(b, &p, &len))
		s = l7_tls_printable(p, len, "");
	BIO_free(b);
	return s;
}

static void l7_tls_peer_sans(struct l7_tls *x, X509 *cert)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name,
					       NULL, NULL);
	size_t n = gens ? sk_GENERAL_NAME_num(gens) : 0;

	if (n > L7_TLS_MAX_SANS)
		n = L7_TLS_MAX_SANS;
	if (!n || !(x->sans = calloc(n, sizeof(*x->sans)))) {
		GENERAL_NAMES_free(gens);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_STRING *a = NULL;
		const char *pre = NULL;
		char *v = NULL;

		switch (g->type) {
		case GEN_DNS:
			a = g->d.dNSName;
			pre = "DNS:";
			break;
		case GEN_EMAIL:
			a = g->d.rfc822Name;
			pre = "email:";
			break;
		case GEN_URI:
			a = g->d.uniformResourceIdentifier;
			pre = "URI:";
			break;
		case GEN_IPADD: {
			char ip[INET6_ADDRSTRLEN + 3] = "IP:";
			int len = ASN1_STRING_length(g->d.iPAddress);
			const void *d = ASN1_STRING_get0_data(g->d.iPAddress);

			if ((len == 4 && inet_ntop(AF_INET, d, ip + 3,
						   sizeof(ip) - 3)) ||
			    (len == 16 && inet_ntop(AF_INET6, d, ip + 3,
						    sizeof(ip) - 3)))
				v = strdup(ip);
			break;
		}
		default:
			break;
		}
		if (a)
			v = l7_tls_printable(ASN1_STRING_get0_data(a),
					     (size_t)ASN1_STRING_length(a), pre);
		if (v)
			x->sans[x->info.peer.n_sans++] = v;
	}
	GENERAL_NAMES_free(gens);
	x->info.peer.sans = (const char *const *)x->sans;
}

static void l7_tls_peer_info(struct l7_tls *x)
{
	X509 *cert = SSL_get_peer_certificate(x->ssl);
	struct l7_tls_peer_cert *p = &x->info.peer;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (!cert)
		return;
	x->info.has_peer_cert = true;
	x->info.verified = SSL_get_verify_result(x->ssl) == X509_V_OK &&
			   !(x->ctx->insecure && !x->ctx->server);
	p->subject = l7_tls_name_str(X509_get_subject_name(cert));
	p->issuer = l7_tls_name_str(X509_get_issuer_name(cert));
	l7_tls_peer_sans(x, cert);
	if (X509_digest(cert, EVP_sha256(), md, &mdlen))
		for (unsigned i = 0; i < mdlen && i < 32; i++)
			snprintf(p->sha256 + 2 * i, 3, "%02x", md[i]);
	X509_free(cert);
}

/* ---- the stream: I/O between BoringSSL and the transport ------------------ */

static int l7_tls_fail(struct l7_tls *x, int err, enum l7_tls_cause cause)
{
	if (!x->failed) {
		x->failed = true;
		x->s.error = err;
		x->cause = cause;
		if (x->connected)
			L7_TLS_COUNT(x->ctx, errors[cause]);
		else
			L7_TLS_COUNT(x->ctx, failed[cause]);
	}
	return -x->s.error;
}

/* Why BoringSSL failed; clears its error queue. */
static enum l7_tls_cause l7_tls_classify(struct l7_tls *x, int ssl_err)
{
	enum l7_tls_cause c = x->connected ? L7_TLS_PROTOCOL_ERROR :
			      L7_TLS_HANDSHAKE_FAILED;
	uint32_t e;

	if (x->hint) {
		c = (enum l7_tls_cause)(x->hint - 1);
		ERR_clear_error();
		return c;
	}
	if (ssl_err == SSL_ERROR_SYSCALL && x->t_eof) {
		ERR_clear_error();
		return L7_TLS_TRANSPORT_EOF;
	}
	while ((e = ERR_get_error())) {
		int r = ERR_GET_REASON(e);

		if (ERR_GET_LIB(e) != ERR_LIB_SSL)
			continue;
		if (r >= SSL_AD_REASON_OFFSET && r < SSL_AD_REASON_OFFSET + 256) {
			x->info.alert = (uint8_t)(r - SSL_AD_REASON_OFFSET);
			c = L7_TLS_PEER_ALERT;
			break;
		}
		switch (r) {
		case SSL_R_CERTIFICATE_VERIFY_FAILED:
			c = L7_TLS_CERT_VERIFY_FAILED;
			break;
		case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
			c = L7_TLS_NO_CLIENT_CERT;
			break;
		case SSL_R_UNSUPPORTED_PROTOCOL:
			c = L7_TLS_NO_SHARED_VERSION;
			break;
		case SSL_R_NO_SHARED_CIPHER:
			c = L7_TLS_NO_SHARED_CIPHER;
			break;
		case SSL_R_NO_APPLICATION_PROTOCOL:
			c = L7_TLS_NO_SHARED_ALPN;
			break;
		default:
			continue;
		}
		break;
	}
	ERR_clear_error();
	return c;
}

static void l7_tls_bio_skip(BIO *b, size_t n)
{
	uint8_t junk[4096];

	while (n) {
		int r = BIO_read(b, junk, n < sizeof(junk) ? (int)n :
				 (int)sizeof(junk));

		if (r <= 0)
			break;
		n -= (size_t)r;
	}
}

/* wbio into the transport: 1 drained, 0 transport full, < 0 -errno. */
static int l7_tls_flush(struct l7_tls *x)
{
	const uint8_t *p;
	size_t len;

	if (x->t_dead)
		return -x->s.error;
	while (BIO_mem_contents(x->wbio, &p, &len) && len) {
		ssize_t n = stk_write(x->t, p, len);

		if (n == -EAGAIN)
			return 0;
		if (n < 0) {
			x->t_dead = true;
			return (int)n;
		}
		l7_tls_bio_skip(x->wbio, (size_t)n);
	}
	return 1;
}

/* Transport into rbio, called when BoringSSL wants bytes: 1 progress
 * (bytes, or end of stream now visible to BoringSSL), 0 nothing yet,
 * < 0 -errno. */
static int l7_tls_pull(struct l7_tls *x)
{
	uint8_t buf[L7_TLS_PULL];
	ssize_t n;

	if (x->t_eof)
		return -ECONNRESET; /* BoringSSL wants more after the end */
	n = stk_read(x->t, buf, sizeof(buf));
	if (n == -EAGAIN)
		return 0;
	if (n < 0) {
		x->t_dead = true;
		return (int)n;
	}
	if (n == 0) {
		x->t_eof = true;
		BIO_set_mem_eof_return(x->rbio, 0);
		return 1;
	}
	BIO_write(x->rbio, buf, (int)n);
	return 1;
}

static void l7_tls_on_connected(struct l7_tls *x)
{
	const uint8_t *alpn;
	unsigned alpn_len;

	x->connected = true;
	x->info.connected = true;
	x->info.version = SSL_get_version(x->ssl);
	x->info.cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(x->ssl));
	x->info.resumed = SSL_session_reused(x->ssl);
	if (x->ctx->server) {
		char sni[256];

		if (l7_tls_sni_name(x->ssl, sni, sizeof(sni)))
			x->sni = strdup(sni);
		x->info.sni = x->sni;
	} else {
		x->info.sni = x->name;
	}
	SSL_get0_alpn_selected(x->ssl, &alpn, &alpn_len);
	if (alpn_len) {
		x->alpn = l7_tls_printable(alpn, alpn_len, "");
		x->info.alpn = x->alpn;
	}
	l7_tls_peer_info(x);
	L7_TLS_COUNT(x->ctx, handshakes);
	if (x->info.resumed)
		L7_TLS_COUNT(x->ctx, resumed);
}

/* Drive the handshake: 1 done, 0 waiting for the peer, < 0 failed. */
static int l7_tls_handshake(struct l7_tls *x)
{
	for (;;) {
		enum l7_tls_cause cause = L7_TLS_HANDSHAKE_FAILED;
		int r, e, f;

		ERR_clear_error();
		r = SSL_do_handshake(x->ssl);
		e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(x->ssl, r);
		/* classified before the flush: an in-memory peer runs in
		 * it, on this thread's error queue */
		if (r != 1 && e != SSL_ERROR_WANT_READ)
			cause = l7_tls_classify(x, e);
		f = l7_tls_flush(x);
		if (f < 0)
			return l7_tls_fail(x, -f, L7_TLS_TRANSPORT_ERROR);
		if (r == 1) {
			l7_tls_on_connected(x);
			return 1;
		}
		if (e == SSL_ERROR_WANT_READ) {
			int p = l7_tls_pull(x);

			if (p > 0)
				continue;
			if (p == 0)
				return 0;
			return l7_tls_fail(x, -p, x->t_eof ?
					   L7_TLS_TRANSPORT_EOF :
					   L7_TLS_TRANSPORT_ERROR);
		}
		return l7_tls_fail(x, EPROTO, cause);
	}
}

/* Housekeeping after anything: push wbio out, send close_notify once
 * shutdown() was asked and the handshake is done, shut the transport
 * once it is out. 1 when wbio is empty, 0 transport full, < 0 failed. */
static int l7_tls_progress(struct l7_tls *x)
{
	int f;

	if (x->shut && x->connected && !x->shut_sent && !x->failed) {
		x->shut_sent = true;
		ERR_clear_error();
		SSL_shutdown(x->ssl);
		ERR_clear_error();
	}
	f = l7_tls_flush(x);
	if (f < 0)
		return l7_tls_fail(x, -f, L7_TLS_TRANSPORT_ERROR);
	if (f > 0 && x->shut_sent && !x->t_shut) {
		x->t_shut = true;
		stk_shutdown(x->t);
	}
	return f;
}

static void l7_tls_io_begin(struct l7_tls *x)
{
	x->in_io = true;
}

static void l7_tls_io_end(struct l7_tls *x)
{
	x->in_io = false;
}

static void l7_tls_notify(struct l7_tls *x, unsigned ev)
{
	if (ev && !x->closed && !x->dead)
		stk_stream_notify(&x->s, ev);
}

static bool l7_tls_has_input(struct l7_tls *x)
{
	return SSL_pending(x->ssl) > 0 || BIO_pending(x->rbio) > 0 || x->t_eof;
}

static void l7_tls_free(struct l7_tls *x)
{
	SSL_free(x->ssl);            /* and both BIOs */
	for (size_t i = 0; i < x->info.peer.n_sans; i++)
		free(x->sans[i]);
	free(x->sans);
	free((char *)x->info.peer.subject);
	free((char *)x->info.peer.issuer);
	free(x->alpn);
	free(x->sni);
	free(x->name);
	free(x);
}

/* The transport goes with us: gracefully unless it failed. */
static void l7_tls_release_transport(struct l7_tls *x, bool reset)
{
	struct stk_stream *t = x->t;

	x->t = NULL;
	x->dead = true;
	if (x->lingering) {
		x->lingering = false;
		__atomic_fetch_sub(&x->ctx->ctr.lingering, 1, __ATOMIC_RELAXED);
	}
	if (!t)
		return;
	stk_stream_set_cb(t, NULL, NULL);
	if (reset || x->t_dead)
		stk_abort(t);
	else
		stk_close(t);
}

/* close(): queue close_notify, and let the transport go once everything
 * is out (now or on a later WRITABLE). */
static void l7_tls_close_step(struct l7_tls *x)
{
	int f;

	if (x->dead)
		return;
	if (!x->failed && x->connected)
		x->shut = true;
	l7_tls_io_begin(x);
	f = l7_tls_progress(x);
	l7_tls_io_end(x);
	if (f != 0) {
		l7_tls_release_transport(x, f < 0);
	} else if (!x->lingering) {
		if (__atomic_fetch_add(&x->ctx->ctr.lingering, 1,
				       __ATOMIC_RELAXED) >= L7_TLS_MAX_LINGER) {
			__atomic_fetch_sub(&x->ctx->ctr.lingering, 1,
					   __ATOMIC_RELAXED);
			L7_TLS_COUNT(x->ctx, linger_aborted);
			l7_tls_release_transport(x, true);
			return;
		}
		x->lingering = true;
	}
}

static void l7_tls_enter(struct l7_tls *x)
{
	x->depth++;
}

static void l7_tls_handle(struct l7_tls *x, unsigned ev);

/* Leave one of our frames: do what was deferred while in_io, free when
 * the last frame goes. Do not touch x after this. */
static void l7_tls_leave(struct l7_tls *x)
{
	while (!x->in_io && !x->dead) {
		if (x->abort_req) {
			x->abort_req = false;
			l7_tls_release_transport(x, true);
		} else if (x->close_req) {
			x->close_req = false;
			l7_tls_close_step(x);
		} else if (x->pending) {
			unsigned ev = x->pending;

			x->pending = 0;
			l7_tls_handle(x, ev);
		} else if (x->err_owed) {
			x->err_owed = false;
			l7_tls_notify(x, STK_EV_ERROR);
		} else {
			break;
		}
	}
	if (--x->depth == 0 && x->dead)
		l7_tls_free(x);
}

/* Transport events (never while in_io). */
static void l7_tls_handle(struct l7_tls *x, unsigned ev)
{
	unsigned out = 0;
	int r;

	if (x->dead)
		return;
	if (ev & STK_EV_ERROR) {
		x->t_dead = true;
		if (!x->failed) {
			l7_tls_fail(x, x->t && x->t->error ? x->t->error :
				    ECONNRESET, L7_TLS_TRANSPORT_ERROR);
			out |= STK_EV_ERROR;
		}
		if (x->closed)
			l7_tls_release_transport(x, true);
		l7_tls_notify(x, out);
		return;
	}
	if (x->closed) {
		/* lingering after close(): only pushing out what is left */
		l7_tls_close_step(x);
		return;
	}
	if (x->failed)
		return;
	if (!x->connected) {
		l7_tls_io_begin(x);
		r = l7_tls_handshake(x);
		l7_tls_io_end(x);
		if (r < 0) {
			l7_tls_notify(x, STK_EV_ERROR);
			return;
		}
	}
	if (x->connected && !x->told) {
		x->told = true;
		out |= STK_EV_CONNECTED;
		if (l7_tls_has_input(x))
			out |= STK_EV_READABLE;
	} else if (x->connected && (ev & STK_EV_READABLE)) {
		out |= STK_EV_READABLE;
	}
	l7_tls_io_begin(x);
	r = l7_tls_progress(x);
	l7_tls_io_end(x);
	if (r < 0) {
		out = STK_EV_ERROR;
	} else if (r > 0 && x->want_write && x->connected) {
		x->want_write = false;
		out |= STK_EV_WRITABLE;
	}
	l7_tls_notify(x, out);
}

static void l7_tls_transport_cb(struct stk_stream *t, unsigned ev, void *arg)
{
	struct l7_tls *x = arg;

	if (x->in_io) {
		x->pending |= ev;
		return;
	}
	l7_tls_enter(x);
	l7_tls_handle(x, ev);
	l7_tls_leave(x);
}

/* In read() or write() before the handshake completed: drive it, and
 * announce CONNECTED before any application byte moves, so that the
 * user sees events and data in order. 1 connected, else the return. */
static int l7_tls_user_handshake(struct l7_tls *x, bool reading)
{
	unsigned out = STK_EV_CONNECTED;
	int r;

	while (!x->connected) {
		x->pending &= ~STK_EV_READABLE;
		l7_tls_io_begin(x);
		r = l7_tls_handshake(x);
		l7_tls_io_end(x);
		if (r < 0)
			return r;
		if (r > 0)
			break;
		if (x->pending & STK_EV_READABLE)
			continue;       /* bytes came while we were busy */
		return -EAGAIN;
	}
	x->told = true;
	if (reading && x->want_write) {
		l7_tls_io_begin(x);
		r = l7_tls_progress(x);
		l7_tls_io_end(x);
		if (r < 0)
			return r;
		if (r > 0) {
			x->want_write = false;
			out |= STK_EV_WRITABLE;
		}
	}
	l7_tls_notify(x, out);
	if (x->dead || x->closed)
		return -EPIPE;
	if (x->failed)
		return -x->s.error;
	return 1;
}

static ssize_t l7_tls_read_io(struct l7_tls *x, void *buf, size_t len)
{
	enum l7_tls_cause cause = L7_TLS_PROTOCOL_ERROR;
	int r, e, f;

	if (!x->told) {
		r = l7_tls_user_handshake(x, true);
		if (r <= 0)
			return r;
	}
	if (x->read_eof)
		return 0;
	if (len > INT32_MAX)
		len = INT32_MAX;
	for (;;) {
		x->pending &= ~STK_EV_READABLE;
		l7_tls_io_begin(x);
		ERR_clear_error();
		r = SSL_read(x->ssl, buf, (int)len);
		e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(x->ssl, r);
		if (r <= 0 && e != SSL_ERROR_WANT_READ &&
		    e != SSL_ERROR_ZERO_RETURN)
			cause = l7_tls_classify(x, e);
		/* post-handshake replies (key updates), alerts */
		f = l7_tls_progress(x);
		if (r > 0) {
			l7_tls_io_end(x);
			return r;
		}
		if (f < 0) {
			l7_tls_io_end(x);
			return f;
		}
		if (e == SSL_ERROR_WANT_READ) {
			int p = l7_tls_pull(x);

			l7_tls_io_end(x);
			if (p > 0)
				continue;
			if (p == 0) {
				if (x->pending & STK_EV_READABLE)
					continue;
				return -EAGAIN;
			}
			return l7_tls_fail(x, -p, L7_TLS_TRANSPORT_ERROR);
		}
		l7_tls_io_end(x);
		if (e == SSL_ERROR_ZERO_RETURN) {
			x->read_eof = true;
			return 0;
		}
		if (e == SSL_ERROR_SYSCALL && x->t_eof) {
			/* cut without close_notify: an end all the same
			 * (HTTP framing says whether it mattered) */
			ERR_clear_error();
			x->read_eof = true;
			x->info.truncated = true;
			L7_TLS_COUNT(x->ctx, truncated);
			return 0;
		}
		return l7_tls_fail(x, EPROTO, cause);
	}
}

static ssize_t l7_tls_read(struct stk_stream *s, void *buf, size_t len)
{
	struct l7_tls *x = l7_tls_of(s);
	ssize_t n;

	if (x->failed)
		return -x->s.error;
	if (x->closed)
		return -EPIPE;
	if (!len)
		return -EINVAL;
	if (x->in_io) {
		/* called back from inside our own I/O: come back later */
		x->pending |= STK_EV_READABLE;
		return -EAGAIN;
	}
	l7_tls_enter(x);
	n = l7_tls_read_io(x, buf, len);
	if (n != -EAGAIN)
		x->pending &= ~STK_EV_READABLE; /* the user reads on anyway */
	l7_tls_leave(x);
	return n;
}

static ssize_t l7_tls_write_io(struct l7_tls *x, const void *buf, size_t len)
{
	int r, f;

	if (!x->told) {
		r = l7_tls_user_handshake(x, false);
		if (r == -EAGAIN)
			x->want_write = true;
		if (r <= 0)
			return r;
		if (x->shut)
			return -EPIPE;
	}
	for (;;) {
		x->pending &= ~STK_EV_WRITABLE;
		l7_tls_io_begin(x);
		f = l7_tls_progress(x);
		l7_tls_io_end(x);
		if (f < 0)
			return f;
		if (f > 0)
			break;
		if (x->pending & STK_EV_WRITABLE)
			continue;
		x->want_write = true;
		return -EAGAIN;
	}
	if (len > L7_TLS_RECORD)
		len = L7_TLS_RECORD;
	l7_tls_io_begin(x);
	ERR_clear_error();
	r = SSL_write(x->ssl, buf, (int)len);
	if (r <= 0) {
		int e = SSL_get_error(x->ssl, r);

		l7_tls_io_end(x);
		return l7_tls_fail(x, EPROTO, l7_tls_classify(x, e));
	}
	f = l7_tls_progress(x);
	l7_tls_io_end(x);
	if (f < 0)
		x->err_owed = true;     /* taken, but the transport is gone */
	return r;
}

static ssize_t l7_tls_write(struct stk_stream *s, const void *buf, size_t len)
{
	struct l7_tls *x = l7_tls_of(s);
	ssize_t n;

	if (x->failed)
		return -x->s.error;
	if (x->closed || x->shut)
		return -EPIPE;
	if (!len)
		return 0;
	if (x->in_io) {
		x->want_write = true;
		x->pending |= STK_EV_WRITABLE;
		return -EAGAIN;
	}
	l7_tls_enter(x);
	n = l7_tls_write_io(x, buf, len);
	if (n > 0)
		x->pending &= ~STK_EV_WRITABLE;
	l7_tls_leave(x);
	return n;
}

static int l7_tls_shutdown(struct stk_stream *s)
{
	struct l7_tls *x = l7_tls_of(s);
	int r;

	if (x->failed)
		return -x->s.error;
	if (x->shut || x->closed)
		return 0;
	x->shut = true;
	if (x->in_io) {
		x->pending |= STK_EV_WRITABLE; /* progress() sends it */
		return 0;
	}
	l7_tls_enter(x);
	l7_tls_io_begin(x);
	r = l7_tls_progress(x);
	l7_tls_io_end(x);
	l7_tls_leave(x);
	return r < 0 ? r : 0;
}

static void l7_tls_close(struct stk_stream *s)
{
	struct l7_tls *x = l7_tls_of(s);

	if (x->closed)
		return;
	x->closed = true;
	stk_stream_set_cb(s, NULL, NULL);
	l7_tls_enter(x);
	if (x->in_io)
		x->close_req = true;
	else
		l7_tls_close_step(x);
	l7_tls_leave(x);
}

static void l7_tls_abort(struct stk_stream *s)
{
	struct l7_tls *x = l7_tls_of(s);

	if (x->closed && x->dead)
		return;
	x->closed = true;
	stk_stream_set_cb(s, NULL, NULL);
	l7_tls_enter(x);
	if (x->in_io)
		x->abort_req = true;
	else
		l7_tls_release_transport(x, true);
	l7_tls_leave(x);
}

static const struct stk_stream_ops l7_tls_ops = {
	.read = l7_tls_read,
	.write = l7_tls_write,
	.shutdown = l7_tls_shutdown,
	.close = l7_tls_close,
	.abort = l7_tls_abort,
};

static struct l7_tls *l7_tls_new(struct stk_stream *t, struct l7_tls_ctx *ctx)
{
	struct l7_tls *x;

	if (!t || !ctx) {
		errno = EINVAL;
		return NULL;
	}
	x = calloc(1, sizeof(*x));
	if (!x)
		goto out_nomem;
	x->s.ops = &l7_tls_ops;
	x->t = t;
	x->ctx = ctx;
	x->ssl = SSL_new(ctx->ssl_ctx);
	x->rbio = BIO_new(BIO_s_mem());
	x->wbio = BIO_new(BIO_s_mem());
	if (!x->ssl || !x->rbio || !x->wbio) {
		BIO_free(x->rbio);
		BIO_free(x->wbio);
		SSL_free(x->ssl);
		free(x);
		goto out_nomem;
	}
	/* until the end of stream is seen, an empty rbio means "retry" */
	BIO_set_mem_eof_return(x->rbio, -1);
	SSL_set_bio(x->ssl, x->rbio, x->wbio);
	SSL_set_ex_data(x->ssl, l7_tls_ex_index, x);
	return x;
out_nomem:
	L7_TLS_COUNT(ctx, failed[L7_TLS_NO_MEMORY]);
	errno = ENOMEM;
	return NULL;
}

struct stk_stream *l7_tls_server(struct stk_stream *transport,
				 struct l7_tls_ctx *ctx)
{
	struct l7_tls *x;

	if (ctx && !ctx->server) {
		errno = EINVAL;
		return NULL;
	}
	x = l7_tls_new(transport, ctx);
	if (!x)
		return NULL;
	SSL_set_accept_state(x->ssl);
	stk_stream_set_cb(transport, l7_tls_transport_cb, x);
	return &x->s;
}

static bool l7_tls_ip_literal(const char *name, char *out, size_t outlen)
{
	uint8_t a[16];
	size_t len = strlen(name);

	if (name[0] == '[' && len > 2 && name[len - 1] == ']' &&
	    len - 2 < outlen) {
		memcpy(out, name + 1, len - 2);
		out[len - 2] = '\0';
	} else if (len < outlen) {
		memcpy(out, name, len + 1);
	} else {
		return false;
	}
	return inet_pton(AF_INET, out, a) == 1 ||
	       inet_pton(AF_INET6, out, a) == 1;
}

struct stk_stream *l7_tls_client(struct stk_stream *transport,
				 struct l7_tls_ctx *ctx, const char *name)
{
	struct l7_tls *x;
	X509_VERIFY_PARAM *vp;
	char ip[INET6_ADDRSTRLEN + 3];
	bool is_ip;

	if (!ctx || ctx->server || (!name && !ctx->insecure) ||
	    (name && !*name)) {
		errno = EINVAL;
		return NULL;
	}
	x = l7_tls_new(transport, ctx);
	if (!x)
		return NULL;
	if (name) {
		is_ip = l7_tls_ip_literal(name, ip, sizeof(ip));
		x->name = l7_tls_lower_dup(name, strlen(name));
		if (!x->name)
			goto out_free;
		vp = SSL_get0_param(x->ssl);
		X509_VERIFY_PARAM_set_hostflags(
			vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (is_ip ? !X509_VERIFY_PARAM_set1_ip_asc(vp, ip) :
		    (!X509_VERIFY_PARAM_set1_host(vp, x->name,
						  strlen(x->name)) ||
		     !SSL_set_tlsext_host_name(x->ssl, x->name)))
			goto out_free;
		if (ctx->client_reuse) {
			SSL_SESSION *sess = l7_tls_find_session(ctx, x->name);

			if (sess) {
				SSL_set_session(x->ssl, sess);
				SSL_SESSION_free(sess);
			}
		}
	}
	SSL_set_connect_state(x->ssl);
	stk_stream_set_cb(transport, l7_tls_transport_cb, x);
	/* The ClientHello goes out now. An answer that comes back at once
	 * (an in-memory peer) stays in the transport: nobody listens to us
	 * yet, so the user's first read() or a later event takes it. */
	l7_tls_io_begin(x);
	l7_tls_handshake(x);
	l7_tls_io_end(x);
	x->pending = 0;
	/* A failure already (a dead transport, or an in-memory peer that
	 * refused at once) is for the first read() or write() to say. */
	return &x->s;
out_free:
	ERR_clear_error();
	l7_tls_free(x);
	errno = EINVAL;
	return NULL;
}

int l7_tls_set_default_name(struct stk_stream *s, const char *name)
{
	struct l7_tls *x = l7_tls_of(s);
	char *n;

	if (!l7_tls_is_tls(s) || !x->ctx->server || !name || !*name)
		return -EINVAL;
	n = l7_tls_lower_dup(name, strlen(name));
	if (!n)
		return -ENOMEM;
	free(x->name);
	x->name = n;
	return 0;
}

const struct l7_tls_info *l7_tls_info(struct stk_stream *s)
{
	return l7_tls_is_tls(s) ? &l7_tls_of(s)->info : NULL;
}

const char *l7_tls_error_cause(struct stk_stream *s)
{
	struct l7_tls *x = l7_tls_of(s);

	if (!l7_tls_is_tls(s) || !x->failed)
		return NULL;
	return l7_tls_cause_name(x->cause);
}
