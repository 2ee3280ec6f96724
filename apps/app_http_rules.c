/* The built-in http_rules app: config rules on HTTP exchanges. Block,
 * answer and route stop at the first matching rule; header and trailer
 * rules apply and go on. form_field reads a field of the request body
 * as it streams by (urlencoded or multipart, never buffered whole) and
 * reports its first bytes in a response header: the pattern of a
 * data-loss prevention app, and what the tests use to see it work. */
#include "apps.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "l7/l7_form.h"
#include "l7/l7_h1_parse.h"
#include "l7/l7_http.h"

#define APP_FORM_KEEP 200

static struct {
	struct conf_http_rule rules[CONF_MAX_HTTP_RULES];
	unsigned n;
	bool has_form, has_trailer;
} app_hr;

/* Per exchange. */
struct app_hr_ctx {
	uint32_t matched;               /* bit per rule that matched */
	struct l7_form *form;
	const struct conf_http_rule *form_rule;
	char value[APP_FORM_KEEP + 1];
	size_t value_len;
	bool have_value;
};

static bool app_hr_matches(const struct conf_http_rule *r,
			   struct strata_http *h)
{
	const struct strata_http_info *in = strata_http_info(h);
	const char *path = strata_http_path(h);

	if (r->endpoint[0] && strcmp(r->endpoint, in->endpoint))
		return false;
	if (r->method[0] && strcmp(r->method, strata_http_method(h)))
		return false;
	if (r->path[0] && (!path || strncmp(path, r->path, strlen(r->path))))
		return false;
	return l7_host_matches(r->host, strata_http_authority(h));
}

/* value with $variables replaced. */
static void app_hr_expand(const char *tmpl, struct strata_http *h, char *out,
			  size_t n)
{
	const struct strata_http_info *in = strata_http_info(h);
	size_t o = 0;

	while (*tmpl && o + 1 < n) {
		char buf[INET6_ADDRSTRLEN + 8];
		const char *v = NULL;
		size_t skip = 0;

		if (*tmpl == '$' && !strncmp(tmpl + 1, "trailer:", 8)) {
			/* $trailer:NAME, NAME up to the first character
			 * that cannot be in a field name */
			char name[64];
			size_t l = 0;

			while (l + 1 < sizeof(name) &&
			       l7_h1_tchar((uint8_t)tmpl[9 + l])) {
				name[l] = tmpl[9 + l];
				l++;
			}
			name[l] = '\0';
			skip = 9 + l;
			v = l ? strata_http_trailer(h, 1, name) : NULL;
		} else if (*tmpl == '$') {
			static const char *const names[] = {
				"client_subject", "client_fingerprint",
				"client_port", "client", "endpoint", "sni",
				"alpn", "method", "path",
			};

			for (unsigned i = 0; i < sizeof(names) / sizeof(*names);
			     i++) {
				size_t l = strlen(names[i]);

				if (strncmp(tmpl + 1, names[i], l))
					continue;
				skip = l + 1;
				switch (i) {
				case 0: v = in->client_subject; break;
				case 1: v = in->client_fingerprint; break;
				case 2:
					snprintf(buf, sizeof(buf), "%u",
						 in->client_port);
					v = buf;
					break;
				case 3: {
					union dp_addr a;

					memcpy(a.b, in->client, 16);
					v = dp_addr_format(&a, buf, sizeof(buf));
					break;
				}
				case 4: v = in->endpoint; break;
				case 5: v = in->sni; break;
				case 6: v = in->alpn; break;
				case 7: v = strata_http_method(h); break;
				case 8: v = strata_http_path(h); break;
				}
				break;
			}
		}
		if (!skip) {
			out[o++] = *tmpl++;
			continue;
		}
		tmpl += skip;
		for (v = v ? v : "-"; *v && o + 1 < n; v++)
			out[o++] = *v;
	}
	out[o] = '\0';
}

/* ---- form fields ------------------------------------------------------ */

static int app_hr_form_piece(void *arg, const struct l7_form_field *f,
			     const uint8_t *data, size_t len, bool final)
{
	struct app_hr_ctx *x = arg;

	if (x->have_value || strcmp(f->name, x->form_rule->field))
		return 0;
	while (len && x->value_len < APP_FORM_KEEP) {
		/* keep it printable: it goes into a header */
		uint8_t ch = *data++;

		len--;
		x->value[x->value_len++] = ch >= 0x20 && ch < 0x7f ? (char)ch :
									  '?';
	}
	if (final)
		x->have_value = true;
	return 0;
}

/* ---- hooks -------------------------------------------------------------- */

static void app_hr_request(void *app, struct strata_http *h, void *ctx,
			   struct strata_http_decision *d)
{
	struct app_hr_ctx *x = ctx;
	char v[512];

	memset(x, 0, sizeof(*x));
	for (unsigned i = 0; i < app_hr.n; i++) {
		const struct conf_http_rule *r = &app_hr.rules[i];

		if (!app_hr_matches(r, h))
			continue;
		x->matched |= 1u << i;
		switch (r->action) {
		case CONF_HTTP_ACT_BLOCK:
		case CONF_HTTP_ACT_ANSWER:
			d->verdict = r->action == CONF_HTTP_ACT_BLOCK ?
				     STRATA_HTTP_BLOCK : STRATA_HTTP_ANSWER;
			d->status = r->status;
			if (r->body[0]) {
				d->body = r->body;
				d->body_len = strlen(r->body);
			}
			return;
		case CONF_HTTP_ACT_ROUTE:
			d->verdict = STRATA_HTTP_ROUTE;
			snprintf(d->upstream, sizeof(d->upstream), "%s",
				 r->upstream);
			return;
		case CONF_HTTP_ACT_SET_HEADER:
			app_hr_expand(r->value, h, v, sizeof(v));
			strata_http_set_header(h, 0, r->header, v);
			break;
		case CONF_HTTP_ACT_FORM_FIELD: {
			const char *ct = strata_http_header(h, 0,
							    "content-type");
			int err;

			if (x->form || !ct)
				break;
			x->form_rule = r;
			/* NULL: not a form; nothing to read then */
			x->form = l7_form_new(ct, strlen(ct), app_hr_form_piece,
					      x, &err);
			break;
		}
		default:
			break;
		}
	}
}

static void app_hr_request_body(void *app, struct strata_http *h, void *ctx,
				const uint8_t *data, size_t len, int end,
				struct strata_http_decision *d)
{
	struct app_hr_ctx *x = ctx;

	if (!x->form)
		return;
	if ((len && l7_form_feed(x->form, data, len) < 0) ||
	    (end && l7_form_finish(x->form) < 0) || end) {
		/* malformed or over: stop looking */
		l7_form_free(x->form);
		x->form = NULL;
	}
}

static void app_hr_response(void *app, struct strata_http *h, void *ctx)
{
	struct app_hr_ctx *x = ctx;
	char v[512];

	for (unsigned i = 0; i < app_hr.n; i++) {
		const struct conf_http_rule *r = &app_hr.rules[i];

		if (!(x->matched & (1u << i)))
			continue;
		if (r->action == CONF_HTTP_ACT_SET_RESPONSE_HEADER) {
			app_hr_expand(r->value, h, v, sizeof(v));
			strata_http_set_header(h, 1, r->header, v);
		} else if (r->action == CONF_HTTP_ACT_FORM_FIELD &&
			   r == x->form_rule && x->value_len) {
			x->value[x->value_len] = '\0';
			strata_http_set_header(h, 1, r->header, x->value);
		}
	}
}

/* Trailer rules, in the response body's last call. */
static void app_hr_response_body(void *app, struct strata_http *h, void *ctx,
				 const uint8_t *data, size_t len, int end)
{
	struct app_hr_ctx *x = ctx;
	char v[512];

	if (!end)
		return;
	for (unsigned i = 0; i < app_hr.n; i++) {
		const struct conf_http_rule *r = &app_hr.rules[i];

		if (!(x->matched & (1u << i)) ||
		    r->action != CONF_HTTP_ACT_SET_RESPONSE_TRAILER)
			continue;
		app_hr_expand(r->value, h, v, sizeof(v));
		/* refused where the response cannot carry trailers
		 * (HTTP/1.1 with a length): nothing to do about it */
		strata_http_set_trailer(h, 1, r->header, v);
	}
}

static void app_hr_end(void *app, struct strata_http *h, void *ctx,
		       int status, uint64_t up, uint64_t down)
{
	struct app_hr_ctx *x = ctx;

	l7_form_free(x->form);
	x->form = NULL;
}

int app_http_rules_check(const struct conf *c, char *err, size_t errlen)
{
	for (unsigned i = 0; i < c->n_http_rules; i++) {
		const struct conf_http_rule *r = &c->http_rules[i];
		struct l7_head scratch;
		int rc;

		if (r->action != CONF_HTTP_ACT_SET_RESPONSE_TRAILER)
			continue;
		/* checked once here, not refused on every response */
		l7_head_init(&scratch);
		rc = l7_trailer_set(&scratch, r->header, "x");
		l7_head_free(&scratch);
		if (rc == -EPERM || rc == -EINVAL) {
			snprintf(err, errlen, "http_rules[%u].header: '%s' %s",
				 i, r->header, rc == -EPERM ?
				 "may not be sent as a trailer field" :
				 "is not a field name");
			return -1;
		}
	}
	return 0;
}

int app_http_rules_init(const struct conf *c, char *err, size_t errlen)
{
	struct strata_app app = {
		.name = "http_rules",
		.http_ctx_size = sizeof(struct app_hr_ctx),
		.http_request = app_hr_request,
		.http_response = app_hr_response,
		.http_end = app_hr_end,
	};

	if (app_http_rules_check(c, err, errlen) < 0)
		return -1;
	memcpy(app_hr.rules, c->http_rules,
	       sizeof(app_hr.rules[0]) * c->n_http_rules);
	app_hr.n = c->n_http_rules;
	if (!app_hr.n)
		return 0;
	for (unsigned i = 0; i < app_hr.n; i++) {
		if (app_hr.rules[i].action == CONF_HTTP_ACT_FORM_FIELD)
			app_hr.has_form = true;
		if (app_hr.rules[i].action ==
		    CONF_HTTP_ACT_SET_RESPONSE_TRAILER)
			app_hr.has_trailer = true;
	}
	/* Only ask for bodies when a rule reads them: the body hooks cost
	 * a call per chunk on every exchange. */
	if (app_hr.has_form)
		app.http_request_body = app_hr_request_body;
	if (app_hr.has_trailer)
		app.http_response_body = app_hr_response_body;
	if (strata_app_register(&app) < 0) {
		snprintf(err, errlen, "cannot register the http_rules app: "
			 "too many apps");
		return -1;
	}
	return 0;
}
