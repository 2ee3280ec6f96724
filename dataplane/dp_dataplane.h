/* The running dataplane: EAL arguments, mempools, ports, and the rx/tx
 * and worker lcores of `strata run`; also the single-lcore offline
 * replay of `strata pcap`. */
#ifndef STRATA_DP_DATAPLANE_H
#define STRATA_DP_DATAPLANE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
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

/* What worker lcores run (the userspace stack), set by the binary before
 * dp_dataplane_run; without it workers count and free STACK packets.
 * Every call for one worker comes from that worker's lcore. */
struct dp_worker;
struct dp_worker_pkt {
	uint16_t port;         /* port the packet came in on */
	const uint8_t *data;   /* raw IP: no L2 header, no link padding */
	uint32_t len;
};
struct json_t;
struct dp_worker_ops {
	/* On the worker lcore before its loop; NULL means failure (the
	 * dataplane stops). */
	void *(*start)(void *arg, unsigned idx, struct dp_worker *w);
	void (*input)(void *ctx, const struct dp_worker_pkt *pkts, unsigned n);
	/* Run what is ready (sockets, timers); returns the most ms the
	 * worker may sleep before calling again. */
	int (*poll)(void *ctx);
	/* Readable when poll has work; the worker sleeps on it. */
	int (*wait_fd)(void *ctx);
	/* Optional, instead of sleeping on wait_fd: sleep until poll has
	 * work or wake_fd (an eventfd the rx/tx lcores write) is readable,
	 * at most timeout_ms; poll then runs what woke it, wake_fd's
	 * count included. One system call where poll() on both fds and
	 * the stack's own look at its sockets would take two. */
	void (*sleep)(void *ctx, int wake_fd, int timeout_ms);
	/* `strata pcap --stack`: run until nothing waits on the outside
	 * world (upstream connects), at most max_ms. */
	void (*settle)(void *ctx, int max_ms);
	void (*stop)(void *ctx);
	/* Add this worker's counters to obj (called from the main lcore). */
	void (*stats)(void *ctx, struct json_t *obj);
	void *arg;
};
void dp_dataplane_set_worker_ops(struct dp_dataplane *dp,
				 const struct dp_worker_ops *ops);

/* Send an IP packet (raw IP, no L2) out of port from worker w: copied
 * into an mbuf and handed to the rx/tx lcore that owns its flow, which
 * adds the L2 header. Safe from any thread as long as calls for one
 * worker never run at the same time. Returns 0 or -1 (counted). */
int dp_worker_tx(struct dp_worker *w, uint16_t port, const uint8_t *pkt,
		 uint32_t len);

/* `strata pcap`: one lcore, the pcap port's clock as time, until the
 * input ends; then timers drained so every packet has its disposition.
 * With worker ops set, one worker runs inline after every burst, and
 * settles (its upstream connects finish) before the next one. */
int dp_dataplane_replay(struct dp_dataplane *dp);

/* Counters of every lcore and port as one JSON object (no newline). */
void dp_dataplane_print_stats(struct dp_dataplane *dp, FILE *out);

#endif
