/* The application registry and the built-in apps.
 *
 * Apps register (strata_app_register, include/strata/hooks.h) before the
 * dataplane creates its flow tables: the per-flow context area is sized
 * from apps_flow_ctx_size() at that point and must not change after.
 * The registry is process-wide and read-only once the dataplane runs, so
 * every lcore may call the hooks below without locks. */
#ifndef STRATA_APPS_H
#define STRATA_APPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/dp_flow.h"

#define APPS_MAX 16
#define APPS_CTX_ALIGN 16

struct conf;

/* Bytes of per-flow context all registered apps need together: the sum
 * of their flow_ctx_size, each rounded up to APPS_CTX_ALIGN. */
size_t apps_flow_ctx_size(void);

/* Ask each app's ip_flow hook in registration order, each with its own
 * slice of f->app_ctx (NULL when it asked for none); store the first
 * verdict other than STRATA_CONTINUE in f->decision. When no app has an
 * opinion, f->decision is left at STRATA_CONTINUE. */
void apps_ip_flow(struct dp_flow *f, const struct dp_pkt_view *v);

/* Tell each app the flow ended, with the packet and byte totals of both
 * directions. */
void apps_flow_end(struct dp_flow *f);

/* L4 hooks for the stack. ctx is the connection's context area of
 * apps_conn_ctx_size() bytes (each app gets its slice). */
size_t apps_conn_ctx_size(void);
void apps_ingress(struct strata_conn_info *c, uint8_t *ctx,
		  struct strata_ingress_decision *d);
void apps_egress(const struct strata_conn_info *c, uint8_t *ctx,
		 struct strata_egress_decision *d);
bool apps_has_tunnel_hook(void);
void apps_tunnel(const struct strata_conn_info *c, uint8_t *ctx, int dir,
		 const uint8_t *data, size_t len,
		 struct strata_tunnel_control *ctl);
void apps_conn_end(const struct strata_conn_info *c, uint8_t *ctx,
		   const struct strata_conn_end *e);

/* HTTP hooks for l7/. ctx is the exchange's context area of
 * apps_http_ctx_size() bytes. */
size_t apps_http_ctx_size(void);
bool apps_has_http_body_hooks(void);
void apps_http_request(struct strata_http *h, uint8_t *ctx,
		       struct strata_http_decision *d);
void apps_http_request_body(struct strata_http *h, uint8_t *ctx,
			    const uint8_t *data, size_t len, bool end,
			    struct strata_http_decision *d);
void apps_http_response(struct strata_http *h, uint8_t *ctx);
void apps_http_response_body(struct strata_http *h, uint8_t *ctx,
			     const uint8_t *data, size_t len, bool end);
void apps_http_end(struct strata_http *h, uint8_t *ctx, int status,
		   uint64_t bytes_up, uint64_t bytes_down);

/* Forget every registered app (tests, and re-initialisation). */
void apps_reset(void);

/* The built-in policy app: the rules of c->policy, first match wins.
 * Copies the rules, so c may go away after. Returns 0, or -1 when the
 * registry is full. */
int app_policy_init(const struct conf *c);

/* The built-in egress app: egress.rewrite from c (copied). Registers
 * nothing when there are no rewrites. Returns 0 or -1 (registry full). */
int app_egress_init(const struct conf *c);

/* The built-in http_rules app (http_rules in config). 0, or -1 with a
 * message in err (app_http_rules_check failed, or the registry is
 * full). */
int app_http_rules_init(const struct conf *c, char *err, size_t errlen);
/* What the schema cannot see: a set_response_trailer rule naming a
 * field trailers may not carry (l7_trailer_forbidden) or no field name.
 * 0, or -1 with a message in err. For `strata config check` too. */
int app_http_rules_check(const struct conf *c, char *err, size_t errlen);

#endif
