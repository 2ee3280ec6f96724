/* The fast path for packets of known flows. See dp_fast.h. */
#include "dp_fast.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

void dp_fast_tuple(const uint8_t *buf, const struct dp_fast_pkt *fp,
		   union dp_addr *src, union dp_addr *dst, uint16_t *sport,
		   uint16_t *dport)
{
	const uint8_t *ip = buf + fp->l3_off, *l4;
	uint32_t a;

	if (fp->ip_version == 4) {
		memcpy(&a, ip + 12, 4);
		dp_addr_from_v4(src, a);
		memcpy(&a, ip + 16, 4);
		dp_addr_from_v4(dst, a);
		l4 = ip + DP_FAST_IP4_HLEN;
	} else {
		memcpy(src->b, ip + 8, 16);
		memcpy(dst->b, ip + 24, 16);
		l4 = ip + DP_FAST_IP6_HLEN;
	}
	if (fp->proto == IPPROTO_ICMP || fp->proto == IPPROTO_ICMPV6) {
		*sport = dp_fast_rd16(l4 + 4);
		*dport = 0;
	} else {
		*sport = dp_fast_rd16(l4);
		*dport = dp_fast_rd16(l4 + 2);
	}
}

struct dp_fast_cache *dp_fast_cache_create(uint32_t entries)
{
	struct dp_fast_cache *c;
	uint32_t sets = 1;

	if (entries == 0 || entries > (1u << 24)) {
		errno = EINVAL;
		return NULL;
	}
	while (2 * sets < entries)
		sets <<= 1;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->e = aligned_alloc(64, 2 * (size_t)sets * sizeof(*c->e));
	if (!c->e) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	memset(c->e, 0, 2 * (size_t)sets * sizeof(*c->e));
	c->set_mask = sets - 1;
	if (getrandom(&c->seed, sizeof(c->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(c->seed))
		c->seed = (uint64_t)(uintptr_t)c * 0x9e3779b97f4a7c15ull;
	return c;
}

void dp_fast_cache_destroy(struct dp_fast_cache *c)
{
	if (!c)
		return;
	free(c->e);
	free(c);
}
