/* strata: command-line entry. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <pcap/pcap.h>
#include <rte_version.h>
#include <yaml.h>

#include "strata.h"

#define STRATA_VERSION "0.1.0"

static const char usage[] =
	"usage: strata <command> [options]\n"
	"\n"
	"commands:\n"
	"  run [-c FILE]                 run the proxy (built-in default config\n"
	"                                without -c: laptop TUN mode)\n"
	"  pcap [-c FILE] IN.pcap OUT.pcap\n"
	"                                replay a capture through the packet\n"
	"                                pipeline offline; print counters as JSON\n"
	"  config default                print the default config with docs\n"
	"  config check FILE             validate a config file\n"
	"  version                       print versions\n"
	"\n"
	"`strata <command> --help` describes a command.\n";

static int cmd_version(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: strata version\n\nPrint strata's version and the "
		       "versions of the libraries it runs on.\n");
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "strata version: unexpected argument '%s'\n", argv[1]);
		return 2;
	}
	printf("strata %s\n", STRATA_VERSION);
	printf("  %s\n", rte_version());
	printf("  libyaml %s\n", yaml_get_version_string());
	printf("  jansson %s\n", JANSSON_VERSION);
	printf("  %s\n", pcap_lib_version());
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version"))
		return cmd_version(1, argv + 1);
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "pcap"))
		return cmd_pcap(argc - 1, argv + 1);
	if (!strcmp(cmd, "config"))
		return cmd_config(argc - 1, argv + 1);
	if (!strcmp(cmd, "version"))
		return cmd_version(argc - 1, argv + 1);
	fprintf(stderr, "strata: unknown command '%s'\n\n%s", cmd, usage);
	return 2;
}
