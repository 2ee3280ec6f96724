/* Subcommands of the strata binary. Each returns the process exit code:
 * 0 success, 1 runtime failure, 2 bad arguments or config. */
#ifndef STRATA_MAIN_H
#define STRATA_MAIN_H

int cmd_run(int argc, char **argv);
int cmd_pcap(int argc, char **argv);
int cmd_config(int argc, char **argv);

/* Shared by run and pcap: EAL start from a config. Returns 0 or writes
 * the reason to stderr and returns -1. */
struct conf;
int strata_eal_init(const struct conf *c);

#endif
