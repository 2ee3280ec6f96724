/* libFuzzer target for the PROXY protocol parser.
 *
 * The input is the start of a connection. Checked: a header's length is
 * within the input and the caps; shorter prefixes of an accepted header
 * need more; strings are NUL-terminated; an accepted TCP/UDP header
 * written back by our writer parses to the same endpoints. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "l7/l7_pp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct l7_pp_result r, r2;
	uint8_t out[L7_PP_V2_MAX];
	int rc = l7_pp_parse(data, size, &r);

	if (rc <= 0)
		return 0;
	if ((size_t)rc > size || (size_t)rc > L7_PP_V2_MAX ||
	    (r.version == 1 && rc > (int)L7_PP_V1_MAX))
		abort();
	size_t cuts[] = {0, 1, 6, 12, 15, 16, (size_t)rc / 2, (size_t)rc - 1};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		if (cuts[i] < (size_t)rc && l7_pp_parse(data, cuts[i], &r2) != 0)
			abort();
	if (r.alpn_len > 255 || strlen(r.authority) != r.authority_len ||
	    strlen(r.ssl_cn) > 255 || strlen(r.netns) != r.netns_len ||
	    r.unique_id_len > sizeof(r.unique_id))
		abort();
	if (r.family != L7_PP_TCP4 && r.family != L7_PP_TCP6)
		return 0;
	/* Round trip through both writers. */
	ssize_t n = l7_pp_write_v1(out, sizeof(out), r.src, r.sport, r.dst, r.dport);
	if (n <= 0 || l7_pp_parse(out, (size_t)n, &r2) != n ||
	    memcmp(r.src, r2.src, 16) || memcmp(r.dst, r2.dst, 16) ||
	    r.sport != r2.sport || r.dport != r2.dport)
		abort();
	struct l7_pp_v2_opts o = {
		.alpn = (r.tlvs & L7_PP_HAS_ALPN) ? r.alpn : NULL,
		.authority = (r.tlvs & L7_PP_HAS_AUTHORITY) ? r.authority : NULL,
		.crc32c = true,
	};
	n = l7_pp_write_v2(out, sizeof(out), r.src, r.sport, r.dst, r.dport, &o);
	if (n <= 0 || l7_pp_parse(out, (size_t)n, &r2) != n ||
	    memcmp(r.src, r2.src, 16) || memcmp(r.dst, r2.dst, 16) ||
	    r.sport != r2.sport || r.dport != r2.dport ||
	    (o.authority && strcmp(o.authority, r2.authority)))
		abort();
	return 0;
}
