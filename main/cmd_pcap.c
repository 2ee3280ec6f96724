/* strata pcap [-c FILE] [--stack] IN.pcap OUT.pcap */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "dataplane/dp_dataplane.h"
#include "stack/stk_worker.h"
#include "strata.h"

static const char pcap_usage[] =
	"usage: strata pcap [-c FILE] [--stack] IN.pcap OUT.pcap\n"
	"\n"
	"Run the whole packet pipeline offline over a capture (Ethernet or\n"
	"raw-IP link types). Every packet strata would transmit is written to\n"
	"OUT.pcap; the counters are printed as one JSON object on stdout.\n"
	"The capture's timestamps are the clock, so replays are repeatable;\n"
	"for the same reason the replay runs on one rx/tx lcore (and, with\n"
	"--stack, one worker run inline) whatever the config's lcores say.\n"
	"\n"
	"Without -c the built-in default config is used with its ports\n"
	"replaced by the capture. With -c, IN and OUT replace the input and\n"
	"output of the config's first pcap port; a config without pcap ports\n"
	"has its ports replaced by one pcap port that keeps the first port's\n"
	"name, addresses, MAC and MTU.\n"
	"\n"
	"  -c, --config FILE   YAML config\n"
	"      --stack         run the userspace stack too: TCP and UDP the\n"
	"                      policy hands to it are proxied, which opens\n"
	"                      real kernel sockets (run it in a network\n"
	"                      namespace); without it they are dropped as\n"
	"                      no_stack\n"
	"  -h, --help          this help\n"
	"\n"
	"Exit status: 0 done, 1 runtime failure, 2 bad arguments or config.\n";

/* Point the config at the capture (see the usage text). */
static void pcap_bind_ports(struct conf *c, const char *in, const char *out)
{
	struct conf_port *p = NULL;
	unsigned i;

	for (i = 0; i < c->n_ports; i++) {
		if (c->ports[i].kind == CONF_PORT_PCAP) {
			p = &c->ports[i];
			break;
		}
	}
	if (!p) {
		c->ports[0].kind = CONF_PORT_PCAP;
		c->n_ports = 1;
		p = &c->ports[0];
	} else {
		/* replay feeds one lcore from pcap ports only */
		struct conf_port keep = *p;

		c->ports[0] = keep;
		c->n_ports = 1;
		p = &c->ports[0];
	}
	/* Forward rules now name either the one port left or none. */
	for (i = 0; i < c->policy.n_rules; i++) {
		struct conf_rule *r = &c->policy.rules[i];

		if (r->action == CONF_ACTION_FORWARD)
			r->out_port_id = strcmp(r->out_port, p->name) ? UINT16_MAX : 0;
	}
	snprintf(p->pcap_in, sizeof(p->pcap_in), "%s", in);
	snprintf(p->pcap_out, sizeof(p->pcap_out), "%s", out);
	c->lcores.rxtx = 1;
	c->lcores.workers = 0;
	c->lcores.cpus[0] = '\0';
}

int cmd_pcap(int argc, char **argv)
{
	struct dp_dataplane *dp;
	struct stk_runtime *rt = NULL;
	struct dp_worker_ops wops;
	bool with_stack = false;
	struct conf c;
	char err[256];
	int rc;

	rc = strata_config_args(argc, argv, pcap_usage, &c, &with_stack);
	if (rc)
		return rc == 1 ? 0 : rc;
	if (argc - optind != 2) {
		fprintf(stderr, "strata pcap: need IN.pcap and OUT.pcap\n\n%s",
			pcap_usage);
		conf_free(&c);
		return 2;
	}
	if (c.n_ports == 0) {
		fprintf(stderr, "strata pcap: the config has no ports\n");
		conf_free(&c);
		return 2;
	}
	pcap_bind_ports(&c, argv[optind], argv[optind + 1]);
	if (with_stack) {
		/* one worker, run inline by the replay */
		c.lcores.workers = 1;
		rt = stk_runtime_create(&c, err, sizeof(err));
		if (!rt) {
			fprintf(stderr, "strata pcap: %s\n", err);
			conf_free(&c);
			return 1;
		}
	}

	rc = 1;
	dp = strata_start(&c, "pcap");
	if (dp) {
		if (rt) {
			stk_worker_ops(rt, &wops);
			dp_dataplane_set_worker_ops(dp, &wops);
		}
		if (dp_dataplane_replay(dp) == 0) {
			dp_dataplane_print_stats(dp, stdout);
			fputc('\n', stdout);
			rc = 0;
		}
		strata_stop(dp);
	}
	stk_runtime_destroy(rt);
	conf_free(&c);
	return rc;
}
