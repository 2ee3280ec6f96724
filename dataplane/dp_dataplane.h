/* The running dataplane: EAL arguments, mempools, ports, and the rx/tx
 * and worker lcores of `strata run`; also the single-lcore offline
 * replay of `strata pcap`. */
#ifndef STRATA_DP_DATAPLANE_H
#define STRATA_DP_DATAPLANE_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "conf/conf.h"

struct dp_dataplane;

/* EAL argv for c: program name, lcore map, memory flags (no hugepages
 * unless configured), --no-pci when no PCI port is configured,
 * --no-shconf, --vdev/-a for DPDK ports, then the configured extra args.
 * Returns argc; argv strings are malloc'ed (free with dp_eal_args_free).
 * n_lcores is the number of EAL lcores needed (main + rx/tx + workers). */
int dp_eal_args(const struct conf *c, char **argv, int max, unsigned *n_lcores);
void dp_eal_args_free(char **argv, int argc);

/* After rte_eal_init: pools, ports, per-lcore state. NULL and a one-line
 * reason in err on failure. */
struct dp_dataplane *dp_dataplane_create(const struct conf *c, char *err,
					 size_t errlen);
void dp_dataplane_destroy(struct dp_dataplane *dp);

/* Run until *stop becomes non-zero. Every time *dump is non-zero the
 * counters are printed on out as one JSON line and *dump is reset. */
int dp_dataplane_run(struct dp_dataplane *dp, volatile sig_atomic_t *stop,
		     volatile sig_atomic_t *dump, FILE *out);

/* `strata pcap`: one lcore, the pcap port's clock as time, until the
 * input ends; then timers drained so every packet has its disposition. */
int dp_dataplane_replay(struct dp_dataplane *dp);

/* Counters of every lcore and port as one JSON object (no newline). */
void dp_dataplane_print_stats(struct dp_dataplane *dp, FILE *out);

#endif
