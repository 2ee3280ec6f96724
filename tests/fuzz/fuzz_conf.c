/* libFuzzer target: arbitrary bytes as a YAML config. Whatever the
 * input, conf_load_string must return 0 or -1 without a crash or leak,
 * a config it accepts must satisfy the schema's own bounds, and any
 * error output must be whole lines. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	char *errs = NULL;
	size_t n = 0;
	FILE *err = open_memstream(&errs, &n);
	unsigned i;
	int rc;

	if (!err)
		return 0;
	rc = conf_load_string(&c, (const char *)data, size, "fuzz", err);
	fclose(err);
	if (rc != 0 && rc != -1)
		abort();
	/* -1 always says why, 0 never complains; every line is whole */
	if ((rc == -1) != (n > 0) || (n && errs[n - 1] != '\n'))
		abort();
	if (rc == 0) {
		if (c.n_ports < 1 || c.n_ports > CONF_MAX_PORTS ||
		    c.policy.n_rules > CONF_MAX_RULES ||
		    c.eal.n_args > CONF_MAX_EAL_ARGS)
			abort();
		for (i = 0; i < c.n_ports; i++) {
			const struct conf_port *p = &c.ports[i];

			if (p->mtu < 1280 ||
			    p->mtu > (p->kind == CONF_PORT_TUN ?
				      CONF_MTU_MAX_TUN : CONF_MTU_MAX_LINK) ||
			    p->n_addrs > CONF_MAX_ADDRS ||
			    p->n_kernel_addrs > CONF_MAX_ADDRS ||
			    p->n_routes > CONF_MAX_ROUTES ||
			    !memchr(p->name, '\0', sizeof(p->name)) || !p->name[0])
				abort();
		}
		for (i = 0; i < c.policy.n_rules; i++) {
			const struct conf_rule *r = &c.policy.rules[i];

			if (r->action == CONF_ACTION_FORWARD &&
			    (r->out_port_id >= c.n_ports ||
			     strcmp(c.ports[r->out_port_id].name, r->out_port)))
				abort();
		}
		for (i = 0; i < c.eal.n_args; i++)
			if (!c.eal.args[i])
				abort();
	}
	conf_free(&c);
	free(errs);
	return 0;
}
