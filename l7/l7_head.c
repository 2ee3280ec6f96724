/* Version-neutral HTTP heads: slots for the request line or
 * pseudo-headers, and a field list with lowercase names. */
#include "l7_http.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "l7_h1_parse.h"
#include "stack/stk_buf.h"

/* Field strings come from blocks the head owns, freed with it: one
 * allocation for a typical head instead of one per field. */
#define L7_HEAD_MEM_MIN 448

struct l7_head_mem {
	struct l7_head_mem *next;
	size_t used, cap;
	char data[];
};

/* Every request has two or three heads: their usual blocks, field
 * arrays and slot strings come from per-thread caches, not malloc.
 * Enough for the heads of some hundred requests in flight, which a
 * worker frees in bursts (HTTP/2: many streams end in one pass). */
#define L7_HEAD_FIELDS_MIN 16
#define L7_HEAD_SLOT_SMALL 96
#define L7_HEAD_CACHE_MAX 1024

static __thread struct stk_cache l7_head_mem_cache =
	STK_CACHE_INIT(sizeof(struct l7_head_mem) + L7_HEAD_MEM_MIN,
		       L7_HEAD_CACHE_MAX);
static __thread struct stk_cache l7_head_fields_cache =
	STK_CACHE_INIT(L7_HEAD_FIELDS_MIN * sizeof(struct l7_field),
		       L7_HEAD_CACHE_MAX);
static __thread struct stk_cache l7_head_slot_cache =
	STK_CACHE_INIT(L7_HEAD_SLOT_SMALL, L7_HEAD_CACHE_MAX);

/* A slot string of fewer than L7_HEAD_SLOT_SMALL bytes with its NUL is
 * in a cached block of that size; so is any whose strlen says so (a
 * longer one has a longer block, good for the cache too). */
static char *l7_slot_alloc(size_t len)
{
	if (len < L7_HEAD_SLOT_SMALL)
		return stk_cache_get(&l7_head_slot_cache, L7_HEAD_SLOT_SMALL);
	return malloc(len + 1);
}

static void l7_slot_free(char *v)
{
	if (v && strlen(v) < L7_HEAD_SLOT_SMALL)
		stk_cache_put(&l7_head_slot_cache, v, L7_HEAD_SLOT_SMALL);
	else
		free(v);
}

static char *l7_head_alloc(struct l7_head *h, size_t n)
{
	struct l7_head_mem *m = h->mem;

	if (!m || m->cap - m->used < n) {
		size_t cap = n > L7_HEAD_MEM_MIN ? n : L7_HEAD_MEM_MIN;

		m = cap == L7_HEAD_MEM_MIN ?
		    stk_cache_get(&l7_head_mem_cache, sizeof(*m) + cap) :
		    malloc(sizeof(*m) + cap);
		if (!m)
			return NULL;
		m->next = h->mem;
		m->used = 0;
		m->cap = cap;
		h->mem = m;
	}
	m->used += n;
	return m->data + m->used - n;
}

void l7_head_free(struct l7_head *h)
{
	while (h->mem) {
		struct l7_head_mem *m = h->mem;

		h->mem = m->next;
		if (m->cap == L7_HEAD_MEM_MIN)
			stk_cache_put(&l7_head_mem_cache, m,
				      sizeof(*m) + L7_HEAD_MEM_MIN);
		else
			free(m);
	}
	if (h->cap == L7_HEAD_FIELDS_MIN)
		stk_cache_put(&l7_head_fields_cache, h->fields,
			      L7_HEAD_FIELDS_MIN * sizeof(*h->fields));
	else
		free(h->fields);
	l7_slot_free(h->method);
	l7_slot_free(h->scheme);
	l7_slot_free(h->authority);
	l7_slot_free(h->path);
	l7_slot_free(h->protocol);
	l7_head_init(h);
}

int l7_head_set_slot(char **slot, const char *v, size_t len)
{
	char *copy = NULL;

	if (v) {
		copy = l7_slot_alloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, v, len);
		copy[len] = '\0';
	}
	l7_slot_free(*slot);
	*slot = copy;
	return 0;
}

int l7_head_add(struct l7_head *h, const char *name, size_t name_len,
		const char *value, size_t value_len)
{
	struct l7_field *f;
	char *block;

	if (name_len > UINT32_MAX || value_len > UINT32_MAX)
		return -EINVAL;
	if (h->nfields == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : L7_HEAD_FIELDS_MIN;
		struct l7_field *n;

		if (!h->cap) {
			n = stk_cache_get(&l7_head_fields_cache,
					  cap * sizeof(*n));
		} else if (h->cap == L7_HEAD_FIELDS_MIN) {
			/* out of the cached size: the cache takes it back */
			n = malloc(cap * sizeof(*n));
			if (n) {
				memcpy(n, h->fields, h->cap * sizeof(*n));
				stk_cache_put(&l7_head_fields_cache, h->fields,
					      h->cap * sizeof(*n));
			}
		} else {
			n = realloc(h->fields, cap * sizeof(*n));
		}
		if (!n)
			return -ENOMEM;
		h->fields = n;
		h->cap = cap;
	}
	block = l7_head_alloc(h, name_len + value_len + 2);
	if (!block)
		return -ENOMEM;
	for (size_t i = 0; i < name_len; i++)
		block[i] = (char)tolower((unsigned char)name[i]);
	block[name_len] = '\0';
	memcpy(block + name_len + 1, value, value_len);
	block[name_len + 1 + value_len] = '\0';
	f = &h->fields[h->nfields++];
	f->name = block;
	f->value = block + name_len + 1;
	f->name_len = (uint32_t)name_len;
	f->value_len = (uint32_t)value_len;
	return 0;
}

int l7_head_copy(struct l7_head *dst, const struct l7_head *src)
{
	char *const *s_slots[] = { &src->method, &src->scheme, &src->authority,
				   &src->path, &src->protocol };
	char **d_slots[] = { &dst->method, &dst->scheme, &dst->authority,
			     &dst->path, &dst->protocol };

	l7_head_free(dst);
	for (size_t i = 0; i < sizeof(d_slots) / sizeof(d_slots[0]); i++) {
		const char *v = *s_slots[i];

		if (v && l7_head_set_slot(d_slots[i], v, strlen(v)))
			goto nomem;
	}
	for (size_t i = 0; i < src->nfields; i++) {
		const struct l7_field *f = &src->fields[i];

		if (l7_head_add(dst, f->name, f->name_len, f->value,
				f->value_len))
			goto nomem;
	}
	dst->status = src->status;
	dst->content_length = src->content_length;
	dst->version = src->version;
	dst->absolute_form = src->absolute_form;
	return 0;
nomem:
	l7_head_free(dst);
	return -ENOMEM;
}

/* Field names are lowercase: the length rules most out before a compare. */
static bool l7_field_named(const struct l7_field *f, const char *name,
			   size_t name_len)
{
	return f->name_len == name_len &&
	       strncasecmp(f->name, name, name_len) == 0;
}

bool l7_field_in(const struct l7_field *f, const char *const *names)
{
	int first = tolower((unsigned char)f->name[0]);

	for (; *names; names++)
		if ((*names)[0] == first && strcasecmp(*names, f->name) == 0)
			return true;
	return false;
}

const char *l7_head_get(const struct l7_head *h, const char *name,
			size_t *len)
{
	size_t name_len = strlen(name);

	for (size_t i = 0; i < h->nfields; i++) {
		if (l7_field_named(&h->fields[i], name, name_len)) {
			if (len)
				*len = h->fields[i].value_len;
			return h->fields[i].value;
		}
	}
	return NULL;
}

size_t l7_head_del(struct l7_head *h, const char *name)
{
	size_t kept = 0, removed, name_len = strlen(name);

	for (size_t i = 0; i < h->nfields; i++) {
		if (!l7_field_named(&h->fields[i], name, name_len))
			h->fields[kept++] = h->fields[i];
	}
	removed = h->nfields - kept;
	h->nfields = kept;
	return removed;
}

int l7_head_set(struct l7_head *h, const char *name, const char *value)
{
	l7_head_del(h, name);
	return l7_head_add(h, name, strlen(name), value, strlen(value));
}

bool l7_trailer_forbidden(const char *name, size_t len)
{
	static const char *const names[] = {
		"content-length", "transfer-encoding", "host", "connection",
		"keep-alive", "proxy-connection", "te", "upgrade", "trailer",
		"content-type", "content-encoding", "content-range",
	};

	if (len && name[0] == ':')
		return true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && !strncasecmp(name, names[i], len))
			return true;
	return false;
}

int l7_trailer_set(struct l7_head *t, const char *name, const char *value)
{
	size_t name_len, value_len;

	if (!name || !value || !(name_len = strlen(name)))
		return -EINVAL;
	/* before the token test, so pseudo-headers are refused as such */
	if (l7_trailer_forbidden(name, name_len))
		return -EPERM;
	for (size_t i = 0; i < name_len; i++)
		if (!l7_h1_tchar((uint8_t)name[i]))
			return -EINVAL;
	value_len = strlen(value);
	/* a field value has no surrounding whitespace (RFC 9110 5.5) */
	if (value_len && (value[0] == ' ' || value[0] == '\t' ||
			  value[value_len - 1] == ' ' ||
			  value[value_len - 1] == '\t'))
		return -EINVAL;
	for (size_t i = 0; i < value_len; i++) {
		uint8_t c = (uint8_t)value[i];

		/* CR and LF would end the field early on HTTP/1.1 */
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return -EINVAL;
	}
	l7_head_del(t, name);
	return l7_head_add(t, name, name_len, value, value_len);
}

bool l7_token_list_has(const char *list, size_t len, const char *token)
{
	size_t tlen = strlen(token), i = 0;

	while (i < len) {
		size_t start, end;

		while (i < len && (list[i] == ' ' || list[i] == '\t' ||
				   list[i] == ','))
			i++;
		start = i;
		while (i < len && list[i] != ',')
			i++;
		end = i;
		while (end > start && (list[end - 1] == ' ' ||
				       list[end - 1] == '\t'))
			end--;
		if (end - start == tlen &&
		    strncasecmp(list + start, token, tlen) == 0)
			return true;
	}
	return false;
}

size_t l7_u64_str(char buf[L7_U64_STR_MAX], uint64_t v, unsigned base)
{
	char d[L7_U64_STR_MAX - 1];
	size_t i = sizeof(d);

	do {
		d[--i] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	memcpy(buf, d + i, sizeof(d) - i);
	buf[sizeof(d) - i] = '\0';
	return sizeof(d) - i;
}

const char *l7_reason_phrase(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 103: return "Early Hints";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 421: return "Misdirected Request";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "";
	}
}

bool l7_host_matches(const char *pattern, const char *authority)
{
	size_t hl, pl = strlen(pattern);
	const char *end;

	if (!*pattern)
		return true;
	if (!authority)
		return false;
	end = authority[0] == '[' ? strchr(authority, ']') :
				    strrchr(authority, ':');
	hl = !end ? strlen(authority) :
	     *end == ']' ? (size_t)(end - authority + 1) :
			   (size_t)(end - authority);
	if (pattern[0] == '*' && pattern[1] == '.')
		return hl > pl - 1 &&
		       !strncasecmp(authority + hl - (pl - 1), pattern + 1,
				    pl - 1);
	return hl == pl && !strncasecmp(authority, pattern, pl);
}
