/* strata run [-c FILE] */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <rte_eal.h>

#include "apps/apps.h"
#include "conf/conf.h"
#include "dataplane/dp_dataplane.h"
#include "strata.h"

static const char run_usage[] =
	"usage: strata run [-c FILE]\n"
	"\n"
	"Run strata. Without -c it runs on the built-in default config\n"
	"(`strata config default` prints it): laptop mode, a TUN device\n"
	"strata0 with strata at 10.77.0.2 and fd77::2.\n"
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
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	struct dp_dataplane *dp;
	struct sigaction sa;
	struct conf c;
	char err[256];
	unsigned i;
	int opt, rc = 1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			fputs(run_usage, stdout);
			return 0;
		default:
			fputs(run_usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "strata run: unexpected argument '%s'\n\n%s",
			argv[optind], run_usage);
		return 2;
	}
	if (path) {
		if (conf_load_file(&c, path, stderr) < 0) {
			conf_free(&c);
			return 2;
		}
	} else {
		conf_defaults(&c);
	}
	for (i = 0; i < c.n_ports; i++) {
		if (c.ports[i].kind == CONF_PORT_PCAP) {
			fprintf(stderr, "strata run: port %s: pcap ports are for "
				"`strata pcap`\n", c.ports[i].name);
			conf_free(&c);
			return 2;
		}
	}

	if (strata_eal_init(&c) < 0)
		goto out_conf;
	if (app_policy_init(&c) < 0) {
		fprintf(stderr, "strata run: cannot register the policy app\n");
		goto out_eal;
	}
	dp = dp_dataplane_create(&c, err, sizeof(err));
	if (!dp) {
		fprintf(stderr, "strata run: %s\n", err);
		goto out_eal;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = run_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	fprintf(stderr, "strata: running with %u port(s), %u rx/tx lcore(s), "
		"%u worker(s)\n", c.n_ports, c.lcores.rxtx, c.lcores.workers);
	rc = dp_dataplane_run(dp, &run_stop, &run_dump, stdout) < 0 ? 1 : 0;
	dp_dataplane_destroy(dp);
out_eal:
	rte_eal_cleanup();
out_conf:
	conf_free(&c);
	return rc;
}
