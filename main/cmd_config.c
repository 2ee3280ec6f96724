/* strata config default | reference | check FILE */
#include <stdio.h>
#include <string.h>

#include "apps/apps.h"
#include "conf/conf.h"
#include "strata.h"

static const char config_usage[] =
	"usage: strata config default\n"
	"       strata config reference\n"
	"       strata config check FILE\n"
	"\n"
	"default    print the full default configuration as YAML, every key\n"
	"           with its documentation; a good start for a config file\n"
	"reference  print the Markdown reference of every key\n"
	"           (docs/CONFIG.md is exactly this)\n"
	"check      validate FILE; errors are printed as\n"
	"           FILE:LINE:COL: path.to.key: what is wrong\n"
	"           exit status 0 when valid, 2 when not\n";

int cmd_config(int argc, char **argv)
{
	struct conf c;
	char err[256];
	int rc;

	if (argc < 2) {
		fputs(config_usage, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(config_usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "default")) {
		if (argc != 2) {
			fputs(config_usage, stderr);
			return 2;
		}
		conf_print_default(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "reference")) {
		if (argc != 2) {
			fputs(config_usage, stderr);
			return 2;
		}
		conf_print_reference(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "check")) {
		if (argc != 3) {
			fputs(config_usage, stderr);
			return 2;
		}
		rc = conf_load_file(&c, argv[2], stderr);
		if (rc == 0 && app_http_rules_check(&c, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s: %s\n", argv[2], err);
			rc = -1;
		}
		conf_free(&c);
		if (rc < 0)
			return 2;
		printf("%s: ok\n", argv[2]);
		return 0;
	}
	fprintf(stderr, "strata config: unknown subcommand '%s'\n\n%s", argv[1],
		config_usage);
	return 2;
}
