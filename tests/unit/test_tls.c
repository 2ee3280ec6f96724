/* TLS streams over in-memory pairs: handshakes and bulk data through
 * small buffers, SNI and ALPN, versions, resumption, client
 * certificates, verification failures, close_notify and truncation,
 * resets, inspection (minted leaves), re-entrant close, and context
 * errors. Certificates are in data/tls/ (made by data/tls/gen.sh). */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "l7/l7_tls.h"
#include "stack/stk_loop.h"
#include "stack/stk_stream.h"
#include "stack/stk_stream_sock.h"

static char data_dir[2 * PATH_MAX + 32];

static const char *path(const char *file)
{
	static char buf[16][PATH_MAX + 64];
	static unsigned i;
	char *p = buf[i++ % 16];

	if (snprintf(p, sizeof(buf[0]), "%s/%s", data_dir, file) >=
	    (int)sizeof(buf[0]))
		fail_msg("path too long");
	return p;
}

/* data/tls next to this file: __FILE__ is relative to the build
 * directory, which is two levels above the test binary. */
static void find_data_dir(void)
{
	char exe[PATH_MAX], src[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *env = getenv("STRATA_TLS_DATA");

	if (env) {
		snprintf(data_dir, sizeof(data_dir), "%s", env);
		return;
	}
	snprintf(src, sizeof(src), "%s", __FILE__);
	*strrchr(src, '/') = '\0';
	if (src[0] == '/' || n <= 0) {
		snprintf(data_dir, sizeof(data_dir), "%s/data/tls", src);
		return;
	}
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(data_dir, sizeof(data_dir), "%s/../../%s/data/tls", exe, src);
}

/* ---- a peer: pumps bytes through its TLS stream on events ---------------- */

struct peer {
	struct stk_stream *s;
	unsigned events;
	int connected, errors;
	const uint8_t *src;            /* what to send */
	size_t src_len, sent;
	bool shut_after;               /* shutdown() once src is sent */
	bool shut_done;
	uint64_t sum;                  /* FNV-1a of what was read */
	size_t got;
	bool eof;
	int read_err;
	bool busy, again;
	bool close_on_connect;
	uint8_t *keep;                 /* copy of what was read (small) */
	size_t keep_cap;
};

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	while (n--)
		h = (h ^ *p++) * 1099511628211ull;
	return h;
}

#define FNV0 1469598103934665603ull

static void peer_pump(struct peer *p)
{
	uint8_t buf[7000];
	ssize_t n;

	if (p->busy) {
		p->again = true;
		return;
	}
	p->busy = true;
	do {
		p->again = false;
		while (p->s && p->sent < p->src_len) {
			n = stk_write(p->s, p->src + p->sent,
				      p->src_len - p->sent);
			if (n <= 0)
				break;
			p->sent += (size_t)n;
		}
		if (p->s && p->shut_after && !p->shut_done &&
		    p->sent == p->src_len) {
			p->shut_done = true;
			stk_shutdown(p->s);
		}
		while (p->s && !p->eof && !p->read_err) {
			n = stk_read(p->s, buf, sizeof(buf));
			if (n == -EAGAIN)
				break;
			if (n < 0) {
				p->read_err = (int)-n;
				break;
			}
			if (n == 0) {
				p->eof = true;
				break;
			}
			if (p->keep && p->got + (size_t)n <= p->keep_cap)
				memcpy(p->keep + p->got, buf, (size_t)n);
			p->sum = fnv(p->sum, buf, (size_t)n);
			p->got += (size_t)n;
		}
	} while (p->again);
	p->busy = false;
}

static void peer_cb(struct stk_stream *s, unsigned ev, void *arg)
{
	struct peer *p = arg;

	p->events |= ev;
	if (ev & STK_EV_CONNECTED) {
		p->connected++;
		if (p->close_on_connect) {
			stk_close(s);
			p->s = NULL;
			return;
		}
	}
	if (ev & STK_EV_ERROR) {
		p->errors++;
		return;
	}
	peer_pump(p);
}

/* An error reaches the user as an event, or as a read's result when it
 * happened before the user listened. */
static int reported(const struct peer *p)
{
	return p->errors || p->read_err;
}

struct conn {
	struct stk_stream *ct, *st;    /* raw transports (owned by TLS) */
	struct peer c, s;
};

/* The server first, then the client: with in-memory pairs the
 * handshake may run entirely inside l7_tls_client(). */
static void conn_server(struct conn *k, size_t cap, struct l7_tls_ctx *sctx)
{
	memset(k, 0, sizeof(*k));
	k->c.sum = k->s.sum = FNV0;
	assert_int_equal(stk_stream_pair(cap, &k->ct, &k->st), 0);
	k->s.s = l7_tls_server(k->st, sctx);
	assert_non_null(k->s.s);
	stk_stream_set_cb(k->s.s, peer_cb, &k->s);
}

static void conn_client(struct conn *k, struct l7_tls_ctx *cctx,
			const char *name)
{
	k->c.s = l7_tls_client(k->ct, cctx, name);
	assert_non_null(k->c.s);
	stk_stream_set_cb(k->c.s, peer_cb, &k->c);
}

static void conn_start(struct conn *k, size_t cap, struct l7_tls_ctx *sctx,
		       struct l7_tls_ctx *cctx, const char *name)
{
	conn_server(k, cap, sctx);
	conn_client(k, cctx, name);
}

/* Kick both ends like a new stream's owner does (bytes may wait). */
static void conn_run(struct conn *k)
{
	for (int i = 0; i < 3; i++) {
		if (k->s.s)
			peer_pump(&k->s);
		if (k->c.s)
			peer_pump(&k->c);
	}
}

static void conn_close(struct conn *k)
{
	if (k->c.s)
		stk_close(k->c.s);
	if (k->s.s)
		stk_close(k->s.s);
	k->c.s = k->s.s = NULL;
}

/* ---- contexts ------------------------------------------------------------ */

struct sconf {
	const char *alpn[4];
	size_t n_alpn;
	uint16_t min, max;
	enum l7_tls_client_auth auth;
	bool no_tickets;
	bool inspect;
	size_t inspect_cache;
	const char *ticket_key;
};

static struct l7_tls_ctx *server_ctx(const struct sconf *o)
{
	struct l7_tls_cert_conf certs[2] = {
		{ .cert_file = path("srv-a.pem"), .key_file = path("srv-a.key") },
		{ .cert_file = path("srv-b.pem"), .key_file = path("srv-b.key") },
	};
	struct l7_tls_server_conf c = {
		.certs = certs, .n_certs = 2,
		.alpn = o->alpn, .n_alpn = o->n_alpn,
		.min_version = o->min, .max_version = o->max,
		.client_auth = o->auth,
		.client_ca_file = o->auth ? path("ca.pem") : NULL,
		.no_tickets = o->no_tickets,
		.inspect_cache = o->inspect_cache,
		.ticket_key_file = o->ticket_key,
	};
	char err[256] = "";
	struct l7_tls_ctx *ctx;

	if (o->inspect) {
		c.certs = NULL;
		c.n_certs = 0;
		c.inspect_ca_cert = path("mint-ca.pem");
		c.inspect_ca_key = path("mint-ca.key");
	}
	ctx = l7_tls_ctx_server_new(&c, err, sizeof(err));
	if (!ctx)
		fail_msg("server ctx: %s", err);
	return ctx;
}

struct cconf {
	const char *alpn[4];
	size_t n_alpn;
	uint16_t min, max;
	const char *cert, *key;
	const char *ca;
	bool no_reuse;
};

static struct l7_tls_ctx *client_ctx(const struct cconf *o)
{
	struct l7_tls_client_conf c = {
		.ca_file = o->ca ? o->ca : path("ca.pem"),
		.alpn = o->alpn, .n_alpn = o->n_alpn,
		.min_version = o->min, .max_version = o->max,
		.cert_file = o->cert, .key_file = o->key,
		.no_session_reuse = o->no_reuse,
	};
	char err[256] = "";
	struct l7_tls_ctx *ctx = l7_tls_ctx_client_new(&c, err, sizeof(err));

	if (!ctx)
		fail_msg("client ctx: %s", err);
	return ctx;
}

/* ---- tests ----------------------------------------------------------------- */

static uint8_t *pattern(size_t n, uint32_t seed)
{
	uint8_t *b = malloc(n);

	assert_non_null(b);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (uint8_t)(seed >> 16);
	}
	return b;
}

static void test_bulk_both_ways(void **state)
{
	const size_t mb = 1 << 20;
	uint8_t *up = pattern(mb, 1), *down = pattern(mb, 2);
	struct sconf so = { 0 };
	struct cconf co = { 0 };
	struct l7_tls_ctx *sctx = server_ctx(&so), *cctx = client_ctx(&co);
	const struct l7_tls_info *ci, *si;
	struct conn k;

	conn_start(&k, 1000, sctx, cctx, "a.test");
	k.c.src = up;
	k.c.src_len = mb;
	k.c.shut_after = true;
	k.s.src = down;
	k.s.src_len = mb;
	k.s.shut_after = true;
	conn_run(&k);
	assert_int_equal(k.c.connected, 1);
	assert_int_equal(k.s.connected, 1);
	assert_int_equal(k.c.errors + k.s.errors, 0);
	assert_int_equal(k.s.got, mb);
	assert_int_equal(k.c.got, mb);
	assert_true(k.s.sum == fnv(FNV0, up, mb));
	assert_true(k.c.sum == fnv(FNV0, down, mb));
	assert_true(k.s.eof && k.c.eof);
	ci = l7_tls_info(k.c.s);
	si = l7_tls_info(k.s.s);
	assert_true(ci->connected && si->connected);
	assert_string_equal(ci->version, "TLSv1.3");
	assert_false(si->truncated);
	assert_false(ci->truncated);
	assert_true(ci->verified);
	assert_string_equal(ci->peer.subject, "CN=a.test");
	assert_string_equal(si->sni, "a.test");
	assert_null(si->alpn);
	assert_null(l7_tls_error_cause(k.c.s));
	conn_close(&k);
	assert_int_equal(l7_tls_ctx_counters(sctx)->handshakes, 1);
	assert_int_equal(l7_tls_ctx_counters(cctx)->handshakes, 1);
	l7_tls_ctx_free(sctx);
	l7_tls_ctx_free(cctx);
	free(up);
	free(down);
}

/* A writer that nobody reads is held at a bounded amount, then resumes
 * with WRITABLE when the reader catches up. */
static void test_backpressure(void **state)
{
	struct sconf so = { 0 };
	struct cconf co = { 0 };
	struct l7_tls_ctx *sctx = server_ctx(&so), *cctx = client_ctx(&co);
	uint8_t *big = pattern(1 << 20, 3);
	struct conn k;
	size_t taken = 0;
	ssize_t n;

	conn_start(&k, 4096, sctx, cctx, "a.test");
	conn_run(&k);
	assert_int_equal(k.c.connected, 1);
	/* the server stops reading: detach its callback */
	stk_stream_set_cb(k.s.s, NULL, NULL);
	stk_stream_set_cb(k.c.s, NULL, NULL);
	while ((n = stk_write(k.c.s, big + taken, (1 << 20) - taken)) > 0)
		taken += (size_t)n;
	assert_int_equal(n, -EAGAIN);
	/* one record in flight beyond the pair's 4 KiB, at most */
	assert_true(taken < 4096 + 2 * 16384 + 1024);
	assert_true(taken > 0);
	stk_stream_set_cb(k.c.s, peer_cb, &k.c);
	k.c.events = 0;
	stk_stream_set_cb(k.s.s, peer_cb, &k.s);
	peer_pump(&k.s);                /* the reader catches up */
	assert_true(k.c.events & STK_EV_WRITABLE);
	assert_int_equal(k.s.got, taken);
	assert_true(k.s.sum == fnv(FNV0, big, taken));
	conn_close(&k);
	l7_tls_ctx_free(sctx);
	l7_tls_ctx_free(cctx);
	free(big);
}

static void sni_case(struct l7_tls_ctx *sctx, struct l7_tls_ctx *cctx,
		     const char *name, const char *subject)
{
	struct conn k;

	conn_start(&k, 2048, sctx, cctx, name);
	conn_run(&k);
	assert_int_equal(k.c.connected, 1);
	assert_int_equal(k.s.connected, 1);
	assert_true(l7_tls_info(k.c.s)->verified);
	assert_string_equal(l7_tls_info(k.c.s)->peer.subject, subject);
	assert_true(!strcasecmp(l7_tls_info(k.s.s)->sni, name));
	conn_close(&k);
}

static void test_sni(void **state)
{
	struct sconf so = { 0 };
	struct cconf co = { .no_reuse = true };
	struct l7_tls_ctx *sctx = server_ctx(&so), *cctx = client_ctx(&co);
	struct conn k;

	sni_case(sctx, cctx, "a.test", "CN=a.test");
	sni_case(sctx, cctx, "b.test", "CN=b.test");
	sni_case(sctx, cctx, "x.b.test", "CN=b.test");     /* wildcard */
	sni_case(sctx, cctx, "X.B.Test", "CN=b.test");     /* any case */
	/* two labels under the wildcard: the default cert, which the
	 * client refuses */
	conn_start(&k, 2048, sctx, cctx, "y.x.b.test");
	conn_run(&k);
	assert_int_equal(k.c.connected, 0);
	assert_int_equal(reported(&k.c), 1);
	assert_int_equal(k.c.s->error, EPROTO);
	assert_string_equal(l7_tls_error_cause(k.c.s), "cert_verify_failed");
	assert_int_equal(reported(&k.s), 1);
	assert_string_equal(l7_tls_error_cause(k.s.s), "peer_alert");
	assert_int_equal(l7_tls_info(k.s.s)->alert, 42 /* bad_certificate */);
	conn_close(&k);
	assert_int_equal(l7_tls_ctx_counters(cctx)->failed[L7_TLS_CERT_VERIFY_FAILED], 1);
	assert_int_equal(l7_tls_ctx_counters(sctx)->failed[L7_TLS_PEER_ALERT], 1);
	l7_tls_ctx_free(sctx);
	l7_tls_ctx_free(cctx);
}

static const char *alpn_case(const struct sconf *so, const struct cconf *co,
			     const char **cause)
{
	static char got[32];
	struct l7_tls_ctx *sctx = server_ctx(so), *cctx = client_ctx(co);
	const char *ret = NULL;
	struct conn k;

	conn_start(&k, 2048, sctx, cctx, "a.test");
	conn_run(&k);
	*cause = l7_tls_error_cause(k.s.s);
	if (k.c.connected && k.s.connected) {
		const char *a = l7_tls_info(k.s.s)->alpn;
		const char *b = l7_tls_info(k.c.s)->alpn;

		assert_true((!a && !b) || (a && b && !strcmp(a, b)));
		if (a) {
			snprintf(got, sizeof(got), "%s", a);
			ret = got;
		}
	}
	conn_close(&k);
	l7_tls_ctx_free(sctx);
	l7_tls_ctx_free(cctx);
	return ret;
}

static void test_alpn(void **state)
{
	struct sconf so = { .alpn = { "h2", "http/1.1" }, .n_alpn = 2 };
	struct cconf both = { .alpn = { "http/1.1", "h2" }, .n_alpn = 2 };
	struct cconf h1 = { .alpn = { "http/1.1" }, .n_alpn = 1 };
	struct cconf none = { 0 };
	struct cconf other = { .alpn = { "spdy/3" }, .n_alpn = 1 };
	struct sconf plain = { 0 };
	const char *cause;

	assert_string_equal(alpn_case(&so, &both, &cause), "h2");
	assert_string_equal(alpn_case(&so, &h1, &cause), "http/1.1");
	assert_null(alpn_case(&so, &none, &cause));
	assert_null(cause);
	assert_null(alpn_case(&plain, &both, &cause));
	assert_null(cause);
	assert_null(alpn_case(&so, &other, &cause));
	assert_string_equal(cause, "no_shared_alpn");
}

static void version_case(uint16_t smax, uint16_t cmin, uint16_t cmax,
			 const char *want)
{
	struct sconf so = { .max = smax };
	struct cconf co = { .min = cmin, .max = cmax };
	struct l7_tls_ctx *sctx = server_ctx(&so), *cctx = client_ctx(&co);
	struct conn k;

	conn_start(&k, 2048, sctx, cctx, "a.test");
	conn_run(&k);
	if (want) {
		assert_int_equal(k.c.connected, 1);
		assert_string_equal(l7_tls_info(k.c.s)->version, want);
		assert_string_equal(l7_tls_info(k.s.s)->version, want);
	} else {
		assert_int_equal(k.c.connected, 0);
		assert_string_equal(l7_tls_error_cause(k.s.s),
				    "no_shared_version");
	}
	conn_close(&k);
	l7_tls_ctx_free(sctx);
	l7_tls_ctx_free(cctx);
}

static void test_versions(void **state)
{
	version_case(0, 0, L7_TLS_1_2, "TLSv1.2");
	version_case(0, L7_TLS_1_3, 0, "TLSv1.3");
	version_case(L7_TLS_1_2, 0, 0, "TLSv1.2");
	version_case(L7_TLS_1_2, L7_TLS_1_3, 0, NULL);
}

/* Two connections; the second one resumes. Data goes both ways so that
 * TLS 1.3 tickets (sent after the handshake) reach the client. */
static void resume_case(uint16_t v, bool no_tickets)
{
	struct sconf so = { .no_tickets = no_tickets };
	struct cconf co = { .min = v, .max = v };
	struct l7_tls_ctx *sctx = server_ctx(&so), *cctx = client_ctx(&co);
	uint8_t msg[] = "hello";
	struct conn k;

	for (int i = 0; i < 2; i++) {
		conn_start(&k, 2048, sctx, cctx, "a.test");
		k.c.src = k.s.src = msg;
		k.c.src_len = k.s.src_len = sizeof(msg);
		conn_run(&k);
		assert_int_equal(k.c.connected, 1);
		assert_int_equal(k.s.got, sizeof(msg));
		assert_int_equal(k.c.got, sizeof(msg));
		assert_int_equal(l7_tls_info(k.c.s)->resumed, i == 1);
		assert_int_equal(l7_tls_info(k.s.s)->resumed, i == 1);
		/* resumed sessions still carry the verified server cert */
		assert_true(l7_tls_info(k.c.s)->has_peer_cert);
		conn_close(&k);
	}
	assert_int_equal(l7_tls_ctx_counters(sctx)->resumed, 1);
	assert_int_equal(l7_tls_ctx_counters(cctx)->resumed, 1);
	l7_tls_ctx_free(sctx);
	l7_tls_ctx_free(cctx);
}

static void test_resume_tls13(void **state) { resume_case(L7_TLS_1_3, false); }
static void test_resume_tls12_ticket(void **state) { resume_case(L7_TLS_1_2, false); }
static void test_resume_tls12_cache(void **state) { resume_case(L7_TLS_1_2, true); }

static void read_file(const char *p, char *buf, size_t len)
{
	FILE *f = fopen(p, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

static void test_mtls_required(void **state)
{
	struct sconf so = { .auth = L7_TLS_CLIENT_AUTH_REQUIRED };
	struct cconf good = { .cert = path("client.pem"),
			      .key = path("client.key") };
	struct cconf bad = { .cert = path("client-other.pem"),
			     .key = path("client-other.key") };
	struct cconf none = { 0 };
	struct l7_tls_ctx *sctx = server_ctx(&so);
	struct l7_tls_ctx *cgood = client_ctx(&good), *cbad = client_ctx(&bad);
	struct l7_tls_ctx *cnone = client_ctx(&none);
	const struct l7_tls_info *si;
	uint8_t msg[] = "ping";
	char fp[80];
	struct conn k;

	/* trusted: accepted, and who it is shows */
	conn_start(&k, 2048, sctx, cgood, "a.test");
	k.c.src = msg;
	k.c.src_len = sizeof(msg);
	conn_run(&k);
	assert_int_equal(k.s.connected, 1);
	assert_int_equal(k.s.got, sizeof(msg));
	si = l7_tls_info(k.s.s);
	assert_true(si->has_peer_cert);
	assert_true(si->verified);
	assert_string_equal(si->peer.subject, "CN=alice,O=strata");
	assert_string_equal(si->peer.issuer, "CN=strata test CA");
	assert_int_equal(si->peer.n_sans, 2);
	assert_string_equal(si->peer.sans[0], "email:alice@example.org");
	assert_string_equal(si->peer.sans[1], "URI:spiffe://strata/alice");
	read_file(path("client.sha256"), fp, sizeof(fp));
	assert_string_equal(si->peer.sha256, fp);
	conn_close(&k);

	/* untrusted: refused; the TLS 1.3 client learns on its read */
	conn_start(&k, 2048, sctx, cbad, "a.test");
	conn_run(&k);
	assert_int_equal(k.s.connected, 0);
	assert_int_equal(k.s.errors, 1);
	assert_string_equal(l7_tls_error_cause(k.s.s), "cert_verify_failed");
	assert_int_equal(k.c.read_err + k.c.errors * EPROTO, EPROTO);
	assert_string_equal(l7_tls_error_cause(k.c.s), "peer_alert");
	conn_close(&k);

	/* none: refused */
	conn_start(&k, 2048, sctx, cnone, "a.test");
	conn_run(&k);
	assert_int_equal(k.s.connected, 0);
	assert_string_equal(l7_tls_error_cause(k.s.s), "no_client_cert");
	assert_non_null(l7_tls_error_cause(k.c.s));
	conn_close(&k);

	assert_int_equal(l7_tls_ctx_counters(sctx)->handshakes, 1);
	assert_int_equal(l7_tls_ctx_counters(sctx)->failed[L7_TLS_CERT_VERIFY_FAILED], 1);
	assert_int_equal(l7_tls_ctx_counters(sctx)->failed[L7_TLS_NO_CLIENT_CERT], 1);
	l7_tls_ctx_free(sctx);
	l7_tls_ctx_free(cgood);
	l7_tls_ctx_free(cbad);
	l7_tls_ctx_free(cnone);
}

static void test_mtls_optional(void **state)
{
	struct sconf so = { .auth = L7_TLS_CLIENT_AUTH_OPTIONAL };
	struct cconf none = { 0 };
	struct cconf good = { .cert = path("client.pem"),
			      .key = path("client.key") };
	struct l7_tls_ctx *sctx = server_ctx(&so), *cnone = client_ctx(&none);
	struct l7_tls_ctx *cgood = client_ctx(&good);
	struct conn k;

	conn_start(&k, 2048, sctx, cnone, "a.test");
	conn_run(&k);
	assert_int_equal(k.s.connected, 1);
	assert_false(l7_tls_info(k.s.s)->has_peer_cert);
	assert_false(l7_tls_info(k.s.s)->verified);
	conn_close(&k);

	conn_start(&k, 2048, sctx, cgood, "a.test");
	conn_run(&k);
	assert_int_equal(k.s.connected, 1);
	assert_true(l7_tls_info(k.s.s)->verified);
	conn_close(&k);
	l7_tls_ctx_free(sctx);
	l7_tls_ctx_free(cnone);
	l7_tls_ctx_free(cgood);
}

static void test_wrong_name(void **state)
{
	struct sconf so = { 0 };
	struct cconf co = { 0 };
	struct cconf other_ca = { .ca = path("other-ca.pem") };
	struct l7_tls_ctx *sctx = server_ctx(&so), *cctx = client_ctx(&co);
	struct l7_tls_ctx *cother = client_ctx(&other_ca);
	struct conn k;

	conn_start(&k, 2048, sctx, cctx, "wrong.test");
	conn_run(&k);
	assert_int_equal(k.c.connected, 0);
	assert_string_equal(l7_tls_error_cause(k.c.s), "cert_verify_failed");
	/* read() after the error says it again */
	assert_int_equal(stk_read(k.c.s, (char[4]){0}, 4), -EPROTO);
	conn_close(&k);

	conn_start(&k, 2048, sctx, cother, "a.test");   /* untrusted issuer */
	conn_run(&k);
	assert_int_equal(k.c.connected, 0);
	assert_string_equal(l7_tls_error_cause(k.c.s), "cert_verify_failed");
	conn_close(&k);

	/* insecure: connects anyway, and says it was not verified */
	{
		struct l7_tls_client_conf ic = { .insecure = true };
		char err[256];
		struct l7_tls_ctx *cins = l7_tls_ctx_client_new(&ic, err,
								sizeof(err));

		assert_non_null(cins);
		conn_start(&k, 2048, sctx, cins, "wrong.test");
		conn_run(&k);
		assert_int_equal(k.c.connected, 1);
		assert_true(l7_tls_info(k.c.s)->has_peer_cert);
		assert_false(l7_tls_info(k.c.s)->verified);
		conn_close(&k);
		conn_start(&k, 2048, sctx, cins, NULL);   /* no name at all */
		conn_run(&k);
		assert_int_equal(k.c.connected, 1);
		assert_null(l7_tls_info(k.s.s)->sni);
		conn_close(&k);
		l7_tls_ctx_free(cins);
	}

	/* an IP literal is checked against IP SANs (a.test has none) */
	conn_start(&k, 2048, sctx, cctx, "127.0.0.1");
	conn_run(&k);
	assert_int_equal(k.c.connected, 0);
	assert_null(l7_tls_info(k.s.s)->sni);   /* no SNI for addresses */
	assert_string_equal(l7_tls_error_cause(k.c.s), "cert_verify_failed");
	conn_close(&k);
	l7_tls_ctx_free(sctx);
	l7_tls_ctx_free(cctx);
	l7_tls_ctx_free(cother);
}

static void test_close_notify(void **state)
{
	struct sconf so = { 0 };
	struct cconf co = { 0 };
	struct l7_tls_ctx *sctx = server_ctx(&so), *cctx = client_ctx(&co);
	uint8_t req[] = "request", resp[] = "response";
	struct conn k;

	conn_start(&k, 2048, sctx, cctx, "a.test");
	k.c.src = req;
	k.c.src_len = sizeof(req);
	k.c.shut_after = true;
	conn_run(&k);
	/* the server saw the request and then a clean end */
	assert_int_equal(k.s.got, sizeof(req));
	assert_true(k.s.eof);
	assert_false(l7_tls_info(k.s.s)->truncated);
	assert_int_equal(stk_write(k.c.s, "x", 1), -EPIPE);
	/* half-close: the server still answers */
	k.s.src = resp;
	k.s.src_len = sizeof(resp);
	k.s.shut_after = true;
	peer_pump(&k.s);
	assert_int_equal(k.c.got, sizeof(resp));
	assert_true(k.c.eof);
	assert_int_equal(stk_read(k.c.s, (char[4]){0}, 4), 0);
	conn_close(&k);
	l7_tls_ctx_free(sctx);
	l7_tls_ctx_free(cctx);
}

static void test_truncation(void **state)
{
	struct sconf so = { 0 };
	struct cconf co = { 0 };
	struct l7_tls_ctx *sctx = server_ctx(&so), *cctx = client_ctx(&co);
	uint8_t req[] = "request";
	struct conn k;

	conn_start(&k, 2048, sctx, cctx, "a.test");
	k.c.src = req;
	k.c.src_len = sizeof(req);
	conn_run(&k);
	assert_int_equal(k.s.got, sizeof(req));
	/* the client's transport ends without close_notify */
	stk_shutdown(k.ct);
	assert_true(k.s.eof);
	assert_int_equal(k.s.read_err, 0);
	assert_true(l7_tls_info(k.s.s)->truncated);
	assert_int_equal(l7_tls_ctx_counters(sctx)->truncated, 1);
	conn_close(&k);
	l7_tls_ctx_free(sctx);
	l7_tls_ctx_free(cctx);
}

static void test_reset(void **state)
{
	struct sconf so = { 0 };
	struct cconf co = { 0 };
	struct l7_tls_ctx *sctx = server_ctx(&so), *cctx = client_ctx(&co);
	struct conn k;

	conn_start(&k, 2048, sctx, cctx, "a.test");
	conn_run(&k);
	assert_int_equal(k.s.connected, 1);
	stk_abort(k.c.s);               /* resets its transport */
	k.c.s = NULL;
	assert_int_equal(k.s.errors, 1);
	assert_true(k.s.events & STK_EV_ERROR);
	assert_int_equal(k.s.s->error, ECONNRESET);
	assert_string_equal(l7_tls_error_cause(k.s.s), "transport_error");
	assert_int_equal(stk_read(k.s.s, (char[4]){0}, 4), -ECONNRESET);
	assert_int_equal(stk_write(k.s.s, "x", 1), -ECONNRESET);
	conn_close(&k);
	/* during the handshake too */
	conn_start(&k, 2048, sctx, cctx, "a.test");
	stk_abort(k.s.s);
	k.s.s = NULL;
	assert_int_equal(k.c.errors, 1);
	assert_string_equal(l7_tls_error_cause(k.c.s), "transport_error");
	conn_close(&k);
	l7_tls_ctx_free(sctx);
	l7_tls_ctx_free(cctx);
}

/* Closing from inside the callback that announced the handshake. */
static void test_close_in_callback(void **state)
{
	struct sconf so = { 0 };
	struct cconf co = { 0 };
	struct l7_tls_ctx *sctx = server_ctx(&so), *cctx = client_ctx(&co);
	struct conn k;

	conn_server(&k, 2048, sctx);
	k.s.close_on_connect = true;
	conn_client(&k, cctx, "a.test");
	conn_run(&k);
	assert_int_equal(k.s.connected, 1);
	assert_null(k.s.s);
	assert_int_equal(k.c.connected, 1);
	assert_true(k.c.eof);           /* close_notify came */
	assert_false(l7_tls_info(k.c.s)->truncated);
	conn_close(&k);
	/* and the client side */
	conn_start(&k, 2048, sctx, cctx, "a.test");
	k.c.close_on_connect = true;
	conn_run(&k);
	assert_null(k.c.s);
	assert_true(k.s.eof);
	conn_close(&k);
	l7_tls_ctx_free(sctx);
	l7_tls_ctx_free(cctx);
}

static void test_inspect(void **state)
{
	struct sconf so = { .inspect = true };
	struct cconf co = { .ca = path("mint-ca.pem"), .no_reuse = true };
	struct l7_tls_ctx *sctx = server_ctx(&so), *cctx = client_ctx(&co);
	const struct l7_tls_counters *ctr = l7_tls_ctx_counters(sctx);
	char fp[65];
	struct conn k;

	conn_start(&k, 2048, sctx, cctx, "example.org");
	conn_run(&k);
	assert_int_equal(k.c.connected, 1);
	assert_true(l7_tls_info(k.c.s)->verified);
	assert_string_equal(l7_tls_info(k.c.s)->peer.subject, "CN=example.org");
	assert_string_equal(l7_tls_info(k.c.s)->peer.sans[0], "DNS:example.org");
	memcpy(fp, l7_tls_info(k.c.s)->peer.sha256, sizeof(fp));
	assert_int_equal(ctr->mint_misses, 1);
	assert_int_equal(ctr->mint_hits, 0);
	conn_close(&k);

	conn_start(&k, 2048, sctx, cctx, "example.org");
	conn_run(&k);
	assert_int_equal(k.c.connected, 1);
	assert_int_equal(ctr->mint_hits, 1);
	assert_string_equal(l7_tls_info(k.c.s)->peer.sha256, fp);
	conn_close(&k);

	/* no SNI (an address): the name the proxy gives */
	conn_server(&k, 2048, sctx);
	assert_int_equal(l7_tls_set_default_name(k.s.s, "192.0.2.7"), 0);
	conn_client(&k, cctx, "192.0.2.7");
	conn_run(&k);
	assert_int_equal(k.c.connected, 1);
	assert_string_equal(l7_tls_info(k.c.s)->peer.sans[0], "IP:192.0.2.7");
	conn_close(&k);

	/* and without one: refused */
	conn_start(&k, 2048, sctx, cctx, "192.0.2.8");
	conn_run(&k);
	assert_int_equal(k.s.connected, 0);
	assert_string_equal(l7_tls_error_cause(k.s.s), "no_sni");
	conn_close(&k);
	assert_int_equal(ctr->mint_misses, 2);
	l7_tls_ctx_free(sctx);
	l7_tls_ctx_free(cctx);
}

/* A client that writes before the server even exists: write() says
 * -EAGAIN, and CONNECTED comes with WRITABLE once the server answers. */
static void test_write_before_handshake(void **state)
{
	struct sconf so = { 0 };
	struct cconf co = { 0 };
	struct l7_tls_ctx *sctx = server_ctx(&so), *cctx = client_ctx(&co);
	unsigned ev_at_connect;
	struct conn k;

	memset(&k, 0, sizeof(k));
	k.c.sum = k.s.sum = FNV0;
	assert_int_equal(stk_stream_pair(2048, &k.ct, &k.st), 0);
	conn_client(&k, cctx, "a.test");
	assert_int_equal(stk_write(k.c.s, "early", 5), -EAGAIN);
	assert_int_equal(k.c.events, 0);
	/* the ClientHello waits in the pair; the server's first read
	 * finds it (no event will say so) */
	k.s.s = l7_tls_server(k.st, sctx);
	stk_stream_set_cb(k.s.s, peer_cb, &k.s);
	peer_pump(&k.s);
	ev_at_connect = k.c.events;
	assert_true(ev_at_connect & STK_EV_CONNECTED);
	assert_true(ev_at_connect & STK_EV_WRITABLE);
	assert_int_equal(stk_write(k.c.s, "early", 5), 5);
	assert_int_equal(k.s.got, 5);
	conn_close(&k);
	l7_tls_ctx_free(sctx);
	l7_tls_ctx_free(cctx);
}

/* close() with bytes the transport has not taken yet: they still go out,
 * then close_notify, then the transport closes. */
static void test_close_lingers(void **state)
{
	struct sconf so = { 0 };
	struct cconf co = { 0 };
	struct l7_tls_ctx *sctx = server_ctx(&so), *cctx = client_ctx(&co);
	uint8_t *big = pattern(100000, 4);
	struct conn k;
	size_t taken = 0;
	ssize_t n;

	conn_start(&k, 1024, sctx, cctx, "a.test");
	conn_run(&k);
	stk_stream_set_cb(k.s.s, NULL, NULL);
	while ((n = stk_write(k.c.s, big + taken, 100000 - taken)) > 0)
		taken += (size_t)n;
	stk_close(k.c.s);
	k.c.s = NULL;
	assert_int_equal(l7_tls_ctx_counters(cctx)->lingering, 1);
	stk_stream_set_cb(k.s.s, peer_cb, &k.s);
	peer_pump(&k.s);
	assert_int_equal(l7_tls_ctx_counters(cctx)->lingering, 0);
	assert_int_equal(k.s.got, taken);
	assert_true(k.s.sum == fnv(FNV0, big, taken));
	assert_true(k.s.eof);
	assert_false(l7_tls_info(k.s.s)->truncated);
	conn_close(&k);
	l7_tls_ctx_free(sctx);
	l7_tls_ctx_free(cctx);
	free(big);
}

/* The server's callback aborts the client while the client is inside
 * its own write (the in-memory pair delivers synchronously). */
static struct conn *abort_k;

static void abort_client_cb(struct stk_stream *s, unsigned ev, void *arg)
{
	struct peer *p = arg;

	p->events |= ev;
	if ((ev & STK_EV_READABLE) && abort_k->c.s) {
		stk_abort(abort_k->c.s);
		abort_k->c.s = NULL;
	}
	if (ev & STK_EV_ERROR)
		p->errors++;
}

static void test_abort_reentrant(void **state)
{
	struct sconf so = { 0 };
	struct cconf co = { 0 };
	struct l7_tls_ctx *sctx = server_ctx(&so), *cctx = client_ctx(&co);
	struct conn k;

	conn_start(&k, 2048, sctx, cctx, "a.test");
	conn_run(&k);
	abort_k = &k;
	stk_stream_set_cb(k.s.s, abort_client_cb, &k.s);
	assert_int_equal(stk_write(k.c.s, "boom", 4), 4);
	assert_null(k.c.s);
	assert_int_equal(k.s.errors, 1);
	assert_int_equal(k.s.s->error, ECONNRESET);
	conn_close(&k);
	l7_tls_ctx_free(sctx);
	l7_tls_ctx_free(cctx);
}

/* Two server ctxs with one ticket key file resume each other's
 * sessions (several processes or workers behind one address). */
static void test_shared_ticket_key(void **state)
{
	char key_path[] = "/tmp/strata-tls-ticket-XXXXXX";
	int fd = mkstemp(key_path);
	uint8_t key[48];
	struct sconf so = { .ticket_key = key_path };
	struct cconf co = { 0 };
	struct l7_tls_ctx *s1, *s2, *cctx;
	uint8_t msg[] = "x";
	struct conn k;

	assert_true(fd >= 0);
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(write(fd, key, sizeof(key)), (ssize_t)sizeof(key));
	close(fd);
	s1 = server_ctx(&so);
	s2 = server_ctx(&so);
	cctx = client_ctx(&co);
	unlink(key_path);
	for (int i = 0; i < 2; i++) {
		conn_start(&k, 2048, i ? s2 : s1, cctx, "a.test");
		k.s.src = msg;
		k.s.src_len = 1;
		conn_run(&k);
		assert_int_equal(k.c.got, 1);
		assert_int_equal(l7_tls_info(k.c.s)->resumed, i == 1);
		conn_close(&k);
	}
	l7_tls_ctx_free(s1);
	l7_tls_ctx_free(s2);
	l7_tls_ctx_free(cctx);
}

/* The minted leaves' cache is bounded: the oldest name goes first. */
static void test_inspect_cache_bound(void **state)
{
	struct sconf so = { .inspect = true, .inspect_cache = 2 };
	struct cconf co = { .ca = path("mint-ca.pem"), .no_reuse = true };
	struct l7_tls_ctx *sctx = server_ctx(&so), *cctx = client_ctx(&co);
	const struct l7_tls_counters *ctr = l7_tls_ctx_counters(sctx);
	const char *names[] = { "one.example", "two.example", "three.example",
				"three.example", "one.example", "bad..name" };
	struct conn k;

	for (size_t i = 0; i < 6; i++) {
		conn_start(&k, 2048, sctx, cctx, names[i]);
		conn_run(&k);
		assert_int_equal(k.c.connected, i < 5);
		conn_close(&k);
	}
	assert_int_equal(ctr->mint_hits, 1);
	assert_int_equal(ctr->mint_misses, 4);
	assert_int_equal(ctr->failed[L7_TLS_BAD_SNI], 1);
	l7_tls_ctx_free(sctx);
	l7_tls_ctx_free(cctx);
}

/* ---- real peers over kernel sockets: curl, openssl s_server ----------------- */

static bool have(const char *cmd)
{
	char c[128];

	snprintf(c, sizeof(c), "command -v %s >/dev/null 2>&1", cmd);
	return system(c) == 0;
}

/* argv runs with stdout into *out (non-blocking), stdin and stderr on
 * /dev/null. */
static pid_t spawn(char *const argv[], int *out)
{
	int p[2];
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(p[1], 1);
		dup2(null, 2);
		close(p[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	*out = p[0];
	return pid;
}

static void slurp(int fd, char *buf, size_t cap, size_t *len)
{
	ssize_t n;

	while (*len + 1 < cap && (n = read(fd, buf + *len, cap - 1 - *len)) > 0)
		*len += (size_t)n;
	buf[*len] = '\0';
}

static int listen_local(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	*port = ntohs(a.sin_port);
	return fd;
}

/* An HTTP/1.1 server of one canned answer, over TLS. */
struct canned {
	struct stk_stream *s;
	char req[4096];
	size_t req_len;
	bool answered, done;
	struct l7_tls_info info;        /* copied when answering */
	char subject[256], alpn[32], sni[64];
};

static void canned_cb(struct stk_stream *s, unsigned ev, void *arg)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
				   "Connection: close\r\n\r\nhello";
	struct canned *c = arg;
	ssize_t n;

	if (ev & STK_EV_ERROR) {
		c->done = true;
		return;
	}
	while ((n = stk_read(s, c->req + c->req_len,
			     sizeof(c->req) - 1 - c->req_len)) > 0)
		c->req_len += (size_t)n;
	c->req[c->req_len] = '\0';
	if (!c->answered && strstr(c->req, "\r\n\r\n")) {
		const struct l7_tls_info *i = l7_tls_info(s);

		c->answered = true;
		c->info = *i;
		snprintf(c->subject, sizeof(c->subject), "%s",
			 i->peer.subject ? i->peer.subject : "");
		snprintf(c->alpn, sizeof(c->alpn), "%s", i->alpn ? i->alpn : "");
		snprintf(c->sni, sizeof(c->sni), "%s", i->sni ? i->sni : "");
		assert_int_equal(stk_write(s, resp, sizeof(resp) - 1),
				 (ssize_t)sizeof(resp) - 1);
		stk_shutdown(s);
	}
	if (n == 0 || (n < 0 && n != -EAGAIN)) {
		c->done = true;
		stk_close(s);
		c->s = NULL;
	}
}

static void test_real_curl(void **state)
{
	struct cconf unused = { 0 };
	struct sconf so = { .alpn = { "http/1.1" }, .n_alpn = 1,
			    .auth = L7_TLS_CLIENT_AUTH_OPTIONAL };
	struct l7_tls_ctx *sctx;
	struct stk_loop loop;
	struct canned c = { 0 };
	char url[64], resolve[64], out[256];
	size_t out_len = 0;
	uint16_t port;
	int lfd, outfd, status = -1;
	pid_t pid;
	uint64_t deadline;

	(void)unused;
	if (!have("curl"))
		skip();
	sctx = server_ctx(&so);
	assert_int_equal(stk_loop_init(&loop), 0);
	lfd = listen_local(&port);
	snprintf(url, sizeof(url), "https://a.test:%u/x", port);
	snprintf(resolve, sizeof(resolve), "a.test:%u:127.0.0.1", port);
	char *argv[] = { "curl", "-sS", "--max-time", "10",
			 "--cacert", (char *)path("ca.pem"),
			 "--cert", (char *)path("client.pem"),
			 "--key", (char *)path("client.key"),
			 "--resolve", resolve, "-w", " %{http_version}",
			 url, NULL };
	pid = spawn(argv, &outfd);
	deadline = stk_now_ns() + 15000000000ull;
	while (stk_now_ns() < deadline) {
		if (!c.s && !c.answered) {
			int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);

			if (fd >= 0) {
				struct stk_stream *t = stk_sock_wrap(&loop, fd);

				assert_non_null(t);
				c.s = l7_tls_server(t, sctx);
				stk_stream_set_cb(c.s, canned_cb, &c);
				canned_cb(c.s, STK_EV_READABLE, &c);
			}
		}
		if (stk_loop_wait(&loop, 20) > 0)
			stk_loop_dispatch(&loop);
		slurp(outfd, out, sizeof(out), &out_len);
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	slurp(outfd, out, sizeof(out), &out_len);
	if (c.s)
		stk_close(c.s);
	stk_loop_wait(&loop, 0);
	stk_loop_dispatch(&loop);
	close(lfd);
	close(outfd);
	stk_loop_fini(&loop);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(out, "hello 1.1");
	assert_non_null(strstr(c.req, "GET /x HTTP/1.1"));
	assert_string_equal(c.alpn, "http/1.1");
	assert_string_equal(c.sni, "a.test");
	assert_true(c.info.verified);
	assert_string_equal(c.subject, "CN=alice,O=strata");
	l7_tls_ctx_free(sctx);
}

/* Our client against OpenSSL's server: ALPN, verification, data. */
struct fetch {
	struct stk_stream *s;
	char buf[8192];
	size_t len;
	bool connected, done;
	int error;
	struct l7_tls_info info;
	char alpn[32];
};

static void fetch_cb(struct stk_stream *s, unsigned ev, void *arg)
{
	static const char req[] = "GET / HTTP/1.0\r\n\r\n";
	struct fetch *f = arg;
	ssize_t n;

	if (ev & STK_EV_ERROR) {
		f->error = s->error;
		f->done = true;
		return;
	}
	if ((ev & STK_EV_CONNECTED) && !f->connected) {
		f->connected = true;
		f->info = *l7_tls_info(s);
		snprintf(f->alpn, sizeof(f->alpn), "%s",
			 f->info.alpn ? f->info.alpn : "");
		assert_int_equal(stk_write(s, req, sizeof(req) - 1),
				 (ssize_t)sizeof(req) - 1);
	}
	while ((n = stk_read(s, f->buf + f->len,
			     sizeof(f->buf) - 1 - f->len)) > 0)
		f->len += (size_t)n;
	f->buf[f->len] = '\0';
	if (n == 0 || (n < 0 && n != -EAGAIN))
		f->done = true;
}

static void test_real_openssl_server(void **state)
{
	static const char *const alpn[] = { "h2", "http/1.1" };
	struct l7_tls_client_conf cc = { .ca_file = path("ca.pem"),
					 .alpn = alpn, .n_alpn = 2 };
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct l7_tls_ctx *cctx;
	struct stk_loop loop;
	struct fetch f = { 0 };
	char accept_arg[32], err[256], junk[256];
	size_t junk_len = 0;
	uint16_t port;
	int lfd, outfd, status;
	pid_t pid;
	uint64_t deadline;

	if (!have("openssl"))
		skip();
	cctx = l7_tls_ctx_client_new(&cc, err, sizeof(err));
	assert_non_null(cctx);
	lfd = listen_local(&port);      /* a free port, handed over */
	close(lfd);
	a.sin_port = htons(port);
	snprintf(accept_arg, sizeof(accept_arg), "127.0.0.1:%u", port);
	char *argv[] = { "openssl", "s_server", "-accept", accept_arg,
			 "-cert", (char *)path("srv-a.pem"),
			 "-key", (char *)path("srv-a.key"),
			 "-alpn", "h2", "-www", "-naccept", "1", NULL };
	pid = spawn(argv, &outfd);
	assert_int_equal(stk_loop_init(&loop), 0);
	deadline = stk_now_ns() + 15000000000ull;
	while (!f.s && stk_now_ns() < deadline) {
		/* wait until it listens */
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			struct stk_stream *t;

			fcntl(fd, F_SETFL, O_NONBLOCK);
			t = stk_sock_wrap(&loop, fd);
			assert_non_null(t);
			f.s = l7_tls_client(t, cctx, "a.test");
			assert_non_null(f.s);
			stk_stream_set_cb(f.s, fetch_cb, &f);
			fetch_cb(f.s, 0, &f);
			break;
		}
		close(fd);
		usleep(20000);
	}
	assert_non_null(f.s);
	while (!f.done && stk_now_ns() < deadline) {
		if (stk_loop_wait(&loop, 20) > 0)
			stk_loop_dispatch(&loop);
		slurp(outfd, junk, sizeof(junk), &junk_len);
		junk_len = 0;
	}
	stk_close(f.s);
	stk_loop_wait(&loop, 0);
	stk_loop_dispatch(&loop);
	stk_loop_fini(&loop);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	close(outfd);
	assert_true(f.connected);
	assert_int_equal(f.error, 0);
	assert_string_equal(f.alpn, "h2");
	assert_string_equal(f.info.version, "TLSv1.3");
	assert_true(f.info.verified);
	assert_non_null(strstr(f.buf, "HTTP/1.0 200 ok"));
	l7_tls_ctx_free(cctx);
}

/* A client started on a socket still connecting: the ClientHello waits
 * for the connection; a refused one is the stream's error, with the
 * socket's errno. */
static void test_connect_refused(void **state)
{
	struct cconf co = { 0 };
	struct l7_tls_ctx *cctx = client_ctx(&co);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct stk_loop loop;
	struct peer p = { 0 };
	struct stk_stream *t;
	uint16_t port;
	uint64_t deadline;
	int err = 0;

	close(listen_local(&port));     /* nobody listens there now */
	a.sin_port = htons(port);
	assert_int_equal(stk_loop_init(&loop), 0);
	t = stk_sock_connect(&loop, (struct sockaddr *)&a, sizeof(a), NULL,
			     &err);
	assert_non_null(t);
	p.s = l7_tls_client(t, cctx, "a.test");
	assert_non_null(p.s);
	stk_stream_set_cb(p.s, peer_cb, &p);
	deadline = stk_now_ns() + 5000000000ull;
	while (!p.errors && stk_now_ns() < deadline)
		if (stk_loop_wait(&loop, 20) > 0)
			stk_loop_dispatch(&loop);
	assert_int_equal(p.errors, 1);
	assert_int_equal(p.s->error, ECONNREFUSED);
	assert_string_equal(l7_tls_error_cause(p.s), "transport_error");
	stk_close(p.s);
	stk_loop_wait(&loop, 0);
	stk_loop_dispatch(&loop);
	stk_loop_fini(&loop);
	l7_tls_ctx_free(cctx);
}

static void test_ctx_errors(void **state)
{
	char err[256];
	struct l7_tls_cert_conf missing = { .cert_file = "/nonexistent.pem",
					    .key_file = path("srv-a.key") };
	struct l7_tls_cert_conf mismatch = { .cert_file = path("srv-a.pem"),
					     .key_file = path("srv-b.key") };
	struct l7_tls_cert_conf notpem = { .cert_file = path("gen.sh"),
					   .key_file = path("srv-a.key") };
	struct l7_tls_server_conf c = { .certs = &missing, .n_certs = 1 };
	struct l7_tls_client_conf cc = { .ca_file = "/nonexistent-ca.pem" };

	assert_null(l7_tls_ctx_server_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent.pem"));
	assert_non_null(strstr(err, "No such file"));
	c.certs = &mismatch;
	assert_null(l7_tls_ctx_server_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "does not match"));
	c.certs = &notpem;
	assert_null(l7_tls_ctx_server_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "no PEM certificate"));
	c.certs = &mismatch;
	c.n_certs = 0;
	assert_null(l7_tls_ctx_server_new(&c, err, sizeof(err)));
	c.certs = NULL;
	c.inspect_ca_cert = path("srv-a.pem");      /* not a CA */
	c.inspect_ca_key = path("srv-a.key");
	assert_null(l7_tls_ctx_server_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "not a CA"));
	assert_null(l7_tls_ctx_client_new(&cc, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent-ca.pem"));
	cc.ca_file = NULL;
	cc.min_version = 0x0301;
	assert_null(l7_tls_ctx_client_new(&cc, err, sizeof(err)));
	assert_non_null(strstr(err, "versions"));
}

/* The system bundle loads (the default for upstreams). */
static void test_system_ca(void **state)
{
	struct l7_tls_client_conf cc = { 0 };
	char err[256];
	struct l7_tls_ctx *ctx;

	if (access("/etc/ssl/certs/ca-certificates.crt", R_OK))
		skip();
	ctx = l7_tls_ctx_client_new(&cc, err, sizeof(err));
	assert_non_null(ctx);
	l7_tls_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bulk_both_ways),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_sni),
		cmocka_unit_test(test_alpn),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_resume_tls13),
		cmocka_unit_test(test_resume_tls12_ticket),
		cmocka_unit_test(test_resume_tls12_cache),
		cmocka_unit_test(test_mtls_required),
		cmocka_unit_test(test_mtls_optional),
		cmocka_unit_test(test_wrong_name),
		cmocka_unit_test(test_close_notify),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_close_in_callback),
		cmocka_unit_test(test_inspect),
		cmocka_unit_test(test_write_before_handshake),
		cmocka_unit_test(test_close_lingers),
		cmocka_unit_test(test_abort_reentrant),
		cmocka_unit_test(test_shared_ticket_key),
		cmocka_unit_test(test_inspect_cache_bound),
		cmocka_unit_test(test_real_curl),
		cmocka_unit_test(test_real_openssl_server),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_ctx_errors),
		cmocka_unit_test(test_system_ca),
	};

	find_data_dir();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
