/* Subcommands of the strata binary. Each returns the process exit code:
 * 0 success, 1 runtime failure, 2 bad arguments or config. */
#ifndef STRATA_MAIN_H
#define STRATA_MAIN_H

#include <stdbool.h>

int cmd_run(int argc, char **argv);
int cmd_pcap(int argc, char **argv);
int cmd_config(int argc, char **argv);

struct conf;
struct dp_dataplane;

/* -c FILE / -h for run and pcap (and --stack where with_stack is not
 * NULL): loads the config (or the built-in default) into *c. Returns 0
 * with optind at the first operand, 1 when help was printed (exit 0),
 * or 2 on a usage or config error (reported; *c already freed). */
int strata_config_args(int argc, char **argv, const char *usage,
		       struct conf *c, bool *with_stack);

/* EAL, apps and dataplane from c; NULL after reporting why on stderr
 * (EAL already cleaned up). strata_stop undoes it. */
struct dp_dataplane *strata_start(const struct conf *c, const char *cmd);
void strata_stop(struct dp_dataplane *dp);

#endif
