/* libFuzzer target for streaming form extraction.
 *
 * Byte 0 picks the Content-Type (urlencoded, multipart with boundary
 * "XyZ-b0und", or with "a"); byte 1 a chunk size (1..256); the rest is
 * the body. The body is parsed whole and in chunks: the error must be
 * the same, and on success the fields (names, filenames, types, value
 * bytes, ends) must hash the same. The whole input is also tried as a
 * Content-Type value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "l7/l7_form.h"

struct h {
	uint64_t v;
	bool mid;
};

static void mix(struct h *h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h->v = (h->v ^ b[i]) * 0x100000001b3ull;
}

static int cb(void *arg, const struct l7_form_field *f, const uint8_t *d,
	      size_t n, bool final)
{
	struct h *h = arg;

	if (!f->name)
		abort();
	if (!h->mid) {
		mix(h, &f->index, sizeof(f->index));
		mix(h, f->name, f->name_len);
		if (f->filename)
			mix(h, f->filename, strlen(f->filename) + 1);
		if (f->content_type)
			mix(h, f->content_type, strlen(f->content_type) + 1);
		h->mid = true;
	}
	mix(h, d, n);
	if (final) {
		mix(h, "\xff", 1);
		h->mid = false;
	}
	return 0;
}

static int run(const char *ct, const uint8_t *b, size_t n, size_t chunk,
	       struct h *h)
{
	int err, rc = 0;
	struct l7_form *f = l7_form_new(ct, strlen(ct), cb, h, &err);

	if (!f)
		abort();
	for (size_t off = 0; off < n && !rc; off += chunk)
		rc = l7_form_feed(f, b + off, n - off < chunk ? n - off : chunk);
	if (!rc)
		rc = l7_form_finish(f);
	l7_form_free(f);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *cts[] = {
		"application/x-www-form-urlencoded",
		"multipart/form-data; boundary=\"XyZ-b0und\"",
		"multipart/form-data; boundary=a",
	};
	char bnd[L7_FORM_BOUNDARY_MAX + 1];
	enum l7_form_kind kind;

	if (l7_form_content_type((const char *)data, size, &kind, bnd) == 0 &&
	    kind == L7_FORM_MULTIPART &&
	    (strlen(bnd) == 0 || strlen(bnd) > L7_FORM_BOUNDARY_MAX))
		abort();
	if (size < 2)
		return 0;
	const char *ct = cts[data[0] % 3];
	size_t chunk = (size_t)data[1] + 1;
	struct h a = {0}, b = {0};
	int ra = run(ct, data + 2, size - 2, size, &a);
	int rb = run(ct, data + 2, size - 2, chunk, &b);
	if (ra != rb || (ra == 0 && a.v != b.v))
		abort();
	return 0;
}
