/* EAL start-up shared by `run` and `pcap`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "dataplane/dp_dataplane.h"
#include "strata.h"

int strata_eal_init(const struct conf *c)
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
