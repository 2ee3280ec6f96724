/* strata run [-c FILE] */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "dataplane/dp_dataplane.h"
#include "l7/l7_proxy.h"
#include "stack/stk_worker.h"
#include "strata.h"

static const char run_usage[] =
	"usage: strata run [-c FILE]\n"
	"\n"
	"Run strata. Without -c it runs on the built-in default config\n"
	"(`strata config default` prints it): laptop mode, a TUN device\n"
	"strata0 with strata at 10.77.0.2 and fd77::2; TCP and UDP to\n"
	"198.18.0.0/15 and fd77:1::/64 (routed into it) are proxied out\n"
	"through kernel sockets on the default route's device.\n"
	"\n"
	"  -c, --config FILE   YAML config\n"
	"  -h, --help          this help\n"
	"\n"
	"Signals: SIGUSR1 prints the counters as one JSON line on stdout;\n"
	"SIGINT and SIGTERM stop strata cleanly.\n";

static volatile sig_atomic_t run_stop, run_dump;

static void run_on_signal(int sig)
{
	if (sig == SIGUSR1)
		run_dump = 1;
	else
		run_stop = 1;
}

int cmd_run(int argc, char **argv)
{
	struct dp_dataplane *dp;
	struct stk_runtime *rt;
	struct l7_runtime *l7;
	struct dp_worker_ops wops;
	struct sigaction sa;
	char err[256];
	struct conf c;
	unsigned i;
	int rc;

	rc = strata_config_args(argc, argv, run_usage, &c, NULL);
	if (rc)
		return rc == 1 ? 0 : rc;
	if (optind != argc) {
		fprintf(stderr, "strata run: unexpected argument '%s'\n\n%s",
			argv[optind], run_usage);
		conf_free(&c);
		return 2;
	}
	for (i = 0; i < c.n_ports; i++) {
		if (c.ports[i].kind == CONF_PORT_PCAP) {
			fprintf(stderr, "strata run: port %s: pcap ports are for "
				"`strata pcap`\n", c.ports[i].name);
			conf_free(&c);
			return 2;
		}
	}

	rt = stk_runtime_create(&c, err, sizeof(err));
	if (!rt) {
		fprintf(stderr, "strata run: %s\n", err);
		conf_free(&c);
		return 1;
	}
	if (l7_proxy_setup(rt, &c, &l7, err, sizeof(err)) < 0) {
		fprintf(stderr, "strata run: %s\n", err);
		stk_runtime_destroy(rt);
		conf_free(&c);
		return 1;
	}
	dp = strata_start(&c, "run");
	if (!dp) {
		l7_proxy_teardown(l7);
		stk_runtime_destroy(rt);
		conf_free(&c);
		return 1;
	}
	stk_worker_ops(rt, &wops);
	dp_dataplane_set_worker_ops(dp, &wops);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = run_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	fprintf(stderr, "strata: running with %u port(s), %u rx/tx lcore(s), "
		"%u worker(s)\n", c.n_ports, c.lcores.rxtx, c.lcores.workers);
	rc = dp_dataplane_run(dp, &run_stop, &run_dump, stdout) < 0 ? 1 : 0;
	strata_stop(dp);
	l7_proxy_teardown(l7);
	stk_runtime_destroy(rt);
	conf_free(&c);
	return rc;
}
