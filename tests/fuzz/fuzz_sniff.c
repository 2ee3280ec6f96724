/* libFuzzer target for the protocol sniffer.
 *
 * The input is the first bytes of a stream. Checked: a verdict reached
 * on a prefix is the verdict on the whole (a sniffer must never change
 * its mind as bytes arrive); a parsed ClientHello reports the bytes it
 * spanned, and the same result comes from exactly those bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "l7/l7_sniff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct l7_sniff_result r, r2;
	enum l7_sniff_proto v = l7_sniff(data, size, &r);

	size_t cuts[] = {1, 2, 3, 5, 6, 9, 12, 24, size / 2, size - 1};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		if (!size || cuts[i] >= size)
			continue;
		enum l7_sniff_proto p = l7_sniff(data, cuts[i], &r2);
		if (p != L7_SNIFF_MORE && p != v)
			abort();
	}
	if (v == L7_SNIFF_TLS && !r.tls.error) {
		if (r.tls.hello_bytes > size || r.tls.hello_bytes > L7_SNIFF_TLS_MAX)
			abort();
		if (l7_sniff(data, r.tls.hello_bytes, &r2) != L7_SNIFF_TLS ||
		    r2.tls.error || strcmp(r.tls.sni, r2.tls.sni) ||
		    r.tls.alpn_len != r2.tls.alpn_len ||
		    r.tls.version != r2.tls.version)
			abort();
		if (r.tls.hello_bytes > 0 &&
		    l7_sniff(data, r.tls.hello_bytes - 1, &r2) != L7_SNIFF_MORE)
			abort();
		size_t off = 0, len, total = 0;
		const char *name;
		while (l7_sniff_alpn_next(&r.tls, &off, &name, &len))
			total += 1 + len;
		if (total != r.tls.alpn_len)
			abort();
	}
	return 0;
}
