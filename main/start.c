/* What `run` and `pcap` share: -c/-h options, loading the config, and
 * starting EAL, the apps and the dataplane. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "apps/apps.h"
#include "conf/conf.h"
#include "dataplane/dp_dataplane.h"
#include "strata.h"

static int strata_eal_init(const struct conf *c)
{
	char *argv[64], *copy[64];
	unsigned n_lcores;
	int argc, rc;

	argc = dp_eal_args(c, argv, 64, &n_lcores);
	if (argc < 0) {
		fprintf(stderr, "strata: too many EAL arguments\n");
		return -1;
	}
	/* rte_eal_init permutes argv: keep our pointers to free them. */
	memcpy(copy, argv, sizeof(argv[0]) * (size_t)(argc + 1));
	if (getenv("STRATA_DEBUG_EAL")) {
		for (int i = 0; i < argc; i++)
			fprintf(stderr, "%s ", argv[i]);
		fputc('\n', stderr);
	}
	rc = rte_eal_init(argc, copy);
	if (rc < 0)
		fprintf(stderr, "strata: DPDK EAL initialisation failed: %s\n"
			"strata: EAL arguments were:", rte_strerror(rte_errno));
	if (rc < 0) {
		for (int i = 0; i < argc; i++)
			fprintf(stderr, " %s", argv[i]);
		fputc('\n', stderr);
	}
	dp_eal_args_free(argv, argc);
	return rc < 0 ? -1 : 0;
}

int strata_config_args(int argc, char **argv, const char *usage,
		       struct conf *c, bool *with_stack)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "stack", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		case 's':
			if (!with_stack) {
				fputs(usage, stderr);
				return 2;
			}
			*with_stack = true;
			break;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!path) {
		conf_defaults(c);
		return 0;
	}
	if (conf_load_file(c, path, stderr) < 0) {
		conf_free(c);
		return 2;
	}
	return 0;
}

struct dp_dataplane *strata_start(const struct conf *c, const char *cmd)
{
	struct dp_dataplane *dp;
	char err[256];

	if (strata_eal_init(c) < 0)
		return NULL;
	if (app_policy_init(c) < 0 || app_egress_init(c) < 0) {
		fprintf(stderr, "strata %s: cannot register the built-in apps\n",
			cmd);
		goto out_eal;
	}
	if (app_http_rules_init(c, err, sizeof(err)) < 0) {
		fprintf(stderr, "strata %s: %s\n", cmd, err);
		goto out_eal;
	}
	dp = dp_dataplane_create(c, err, sizeof(err));
	if (dp)
		return dp;
	fprintf(stderr, "strata %s: %s\n", cmd, err);
out_eal:
	rte_eal_cleanup();
	return NULL;
}

void strata_stop(struct dp_dataplane *dp)
{
	dp_dataplane_destroy(dp);
	rte_eal_cleanup();
}
