/* The configuration engine: walks a libyaml document against the schema
 * tables (conf_schema.c) to fill struct conf, applies defaults, prints
 * the default config and the reference, and frees what it allocated.
 *
 * Errors never stop the walk at the first problem: each is one line
 * "FILE:LINE:COL: path.to.key: what is wrong" and the walk goes on with
 * the next sibling, so one run shows everything wrong with a file. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_private.h"

/* Past this many, one more line says so and the rest are counted only:
 * a hostile file must not turn into megabytes of messages. */
#define CONF_MAX_ERRORS 100

struct conf_ctx {
	const char *name;
	FILE *err;
	yaml_document_t *doc;
	unsigned n_errors;
	char path[256];
	size_t path_len;
};

/* ---- small helpers --------------------------------------------------- */

const char *conf__quote(char *buf, size_t n, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	if (n < 8) {
		if (n)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '\'';
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		/* room for one escape, or for "...'" and the NUL */
		if (o + 9 > n) {
			buf[o++] = '.';
			buf[o++] = '.';
			buf[o++] = '.';
			break;
		}
		if (ch >= ' ' && ch < 0x7f && ch != '\\' && ch != '\'') {
			buf[o++] = (char)ch;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[ch >> 4];
			buf[o++] = hex[ch & 15];
		}
	}
	buf[o++] = '\'';
	buf[o] = '\0';
	return buf;
}

size_t conf__path_push(struct conf_ctx *x, const char *fmt, ...)
{
	size_t saved = x->path_len;
	size_t room = sizeof(x->path) - x->path_len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(x->path + x->path_len, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		x->path[x->path_len] = '\0';
	else if ((size_t)n >= room)
		x->path_len = sizeof(x->path) - 1;
	else
		x->path_len += (size_t)n;
	return saved;
}

void conf__path_pop(struct conf_ctx *x, size_t saved)
{
	x->path_len = saved;
	x->path[saved] = '\0';
}

static bool conf_is_key_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

/* Push a map key: "key" at the top, ".key" below; printable only. */
static size_t conf_path_key(struct conf_ctx *x, const char *key, size_t len)
{
	char q[80];
	size_t saved = x->path_len;
	bool plain = len < 40;
	size_t i;

	for (i = 0; i < len && plain; i++)
		if (!conf_is_key_char(key[i]))
			plain = false;
	if (plain)
		conf__path_push(x, "%s%.*s", x->path_len ? "." : "",
				(int)len, key);
	else
		conf__path_push(x, "%s%s", x->path_len ? "." : "",
				conf__quote(q, sizeof(q), key, len));
	return saved;
}

void conf__err(struct conf_ctx *x, const yaml_node_t *node, const char *sub,
	       const char *fmt, ...)
{
	size_t line = 0, col = 0;
	va_list ap;

	x->n_errors++;
	if (!x->err || x->n_errors > CONF_MAX_ERRORS + 1)
		return;
	if (x->n_errors == CONF_MAX_ERRORS + 1) {
		fprintf(x->err, "%s:0:0: too many errors, not showing more\n",
			x->name);
		return;
	}
	if (node) {
		line = node->start_mark.line + 1;
		col = node->start_mark.column + 1;
	}
	fprintf(x->err, "%s:%zu:%zu: ", x->name, line, col);
	if (x->path_len || (sub && *sub))
		fprintf(x->err, "%s%s%s: ", x->path,
			x->path_len && sub && *sub ? "." : "", sub ? sub : "");
	va_start(ap, fmt);
	vfprintf(x->err, fmt, ap);
	va_end(ap);
	fputc('\n', x->err);
}

static yaml_node_t *conf_node(struct conf_ctx *x, int id)
{
	return x->doc ? yaml_document_get_node(x->doc, id) : NULL;
}

yaml_node_t *conf__find(struct conf_ctx *x, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pair;
	size_t len = strlen(key);

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = conf_node(x, pair->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    k->data.scalar.length == len &&
		    !memcmp(k->data.scalar.value, key, len))
			return conf_node(x, pair->value);
	}
	return NULL;
}

yaml_node_t *conf__item(struct conf_ctx *x, yaml_node_t *seq, unsigned i)
{
	if (!seq || seq->type != YAML_SEQUENCE_NODE ||
	    i >= (size_t)(seq->data.sequence.items.top -
			  seq->data.sequence.items.start))
		return NULL;
	return conf_node(x, seq->data.sequence.items.start[i]);
}

static uint64_t conf_get_uint(const void *p, size_t size)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	switch (size) {
	case 1: memcpy(&u8, p, 1); return u8;
	case 2: memcpy(&u16, p, 2); return u16;
	case 4: memcpy(&u32, p, 4); return u32;
	default: memcpy(&u64, p, 8); return u64;
	}
}

static void conf_put_uint(void *p, size_t size, uint64_t v)
{
	uint8_t u8 = (uint8_t)v;
	uint16_t u16 = (uint16_t)v;
	uint32_t u32 = (uint32_t)v;

	switch (size) {
	case 1: memcpy(p, &u8, 1); break;
	case 2: memcpy(p, &u16, 2); break;
	case 4: memcpy(p, &u32, 4); break;
	default: memcpy(p, &v, 8); break;
	}
}

static size_t conf_max_len(const struct conf_key *k)
{
	return k->max_len ? k->max_len : k->size - 1;
}

/* Decimal digits only, no sign, no overflow. */
static int conf_parse_u64(const char *s, uint64_t *v)
{
	uint64_t r = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (r > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		r = r * 10 + (uint64_t)(*s - '0');
	}
	*v = r;
	return 0;
}

/* ---- exported parsers ------------------------------------------------ */

int conf_parse_prefix(const char *s, struct conf_prefix *p)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t len;
	uint32_t v4;
	bool v4fam;

	if (alen == 0 || alen >= INET6_ADDRSTRLEN)
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, buf, &v4) == 1) {
		dp_addr_from_v4(&p->addr, v4);
		v4fam = true;
	} else if (strchr(buf, ':') &&
		   inet_pton(AF_INET6, buf, p->addr.b) == 1) {
		v4fam = false;
	} else {
		return -EINVAL;
	}
	len = v4fam ? 32 : 128;
	if (slash) {
		if (strlen(slash + 1) > 3 || conf_parse_u64(slash + 1, &len) ||
		    len > (v4fam ? 32u : 128u)) {
			memset(p, 0, sizeof(*p));
			return -EINVAL;
		}
	}
	p->prefix_len = (uint8_t)len;
	p->v4 = v4fam;
	return 0;
}

static int conf_hex(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* "02:00:00:00:00:01" or with '-' between the octets. */
int conf_parse_hostport(const char *s, char *host, size_t host_len,
			uint16_t *port)
{
	const char *colon, *h = s;
	size_t hl;
	char *end;
	unsigned long v;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -1;
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return -1; /* bare IPv6 needs brackets */
		hl = (size_t)(colon - s);
	}
	if (!hl || hl >= host_len || !colon[1])
		return -1;
	errno = 0;
	v = strtoul(colon + 1, &end, 10);
	if (*end || errno || !v || v > 65535 || colon[1] < '0' ||
	    colon[1] > '9')
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)v;
	return 0;
}

bool conf_prefix_contains(const struct conf_prefix *pf, const union dp_addr *a)
{
	unsigned bits = pf->v4 ? 96u + pf->prefix_len : pf->prefix_len;

	if (pf->v4 != dp_addr_is_v4(a))
		return false;
	for (unsigned i = 0; i < 16 && bits; i++) {
		uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		if ((a->b[i] ^ pf->addr.b[i]) & m)
			return false;
		bits = bits >= 8 ? bits - 8 : 0;
	}
	return true;
}

int conf_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t m[6];
	char sep = s[0] && s[1] ? s[2] : 0;
	int i;

	if (sep != ':' && sep != '-')
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		const char *o = s + i * 3;
		int hi = conf_hex(o[0]), lo = hi < 0 ? -1 : conf_hex(o[1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		if (o[2] != (i == 5 ? '\0' : sep))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(mac, m, 6);
	return 0;
}

/* ---- protocol and port range ----------------------------------------- */

static const struct {
	const char *name;
	uint8_t num;
} conf_protos[] = {
	{ "any", 0 }, { "icmp", 1 }, { "tcp", 6 }, { "udp", 17 },
	{ "icmpv6", 58 }, { "sctp", 132 },
};

static int conf_parse_proto(const char *s, uint8_t *proto)
{
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(conf_protos) / sizeof(conf_protos[0]); i++) {
		if (!strcmp(s, conf_protos[i].name)) {
			*proto = conf_protos[i].num;
			return 0;
		}
	}
	if (strlen(s) > 3 || conf_parse_u64(s, &v) || v > 255)
		return -EINVAL;
	*proto = (uint8_t)v;
	return 0;
}

static int conf_parse_port(const char *s, size_t len, uint16_t *port)
{
	char buf[8];
	uint64_t v;

	if (len == 0 || len > 5)
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (conf_parse_u64(buf, &v) || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

static int conf_parse_port_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	const char *dash = strchr(s, '-');

	if (!*s || !strcmp(s, "any")) {
		*lo = 0;
		*hi = 65535;
		return 0;
	}
	if (!dash) {
		if (conf_parse_port(s, strlen(s), lo))
			return -EINVAL;
		*hi = *lo;
		return 0;
	}
	if (conf_parse_port(s, (size_t)(dash - s), lo) ||
	    conf_parse_port(dash + 1, strlen(dash + 1), hi) || *lo > *hi)
		return -EINVAL;
	return 0;
}

/* ---- scalar values ----------------------------------------------------- */

static bool conf_is_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") ||
	       !strcmp(v, "Null") || !strcmp(v, "NULL");
}

static bool conf_parse_bool(const char *s, bool *b)
{
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		*b = true;
	else if (!strcmp(s, "false") || !strcmp(s, "False") ||
		 !strcmp(s, "FALSE"))
		*b = false;
	else
		return false;
	return true;
}

/* Store text s (len bytes, NUL-terminated) as the value of key k at
 * base. Returns NULL, or what is wrong (written into msg). */
static const char *conf_set_scalar(const struct conf_key *k, void *base,
				   const char *s, size_t len, char *msg,
				   size_t msglen)
{
	void *f = (char *)base + k->off;
	char q[64];
	uint64_t v;
	bool b;
	int rc;
	unsigned i;

	conf__quote(q, sizeof(q), s, len);
	if (memchr(s, '\0', len)) {
		snprintf(msg, msglen, "must not contain a NUL character");
		return msg;
	}
	switch (k->type) {
	case CONF_T_BOOL:
		if (!conf_parse_bool(s, &b)) {
			snprintf(msg, msglen, "expected true or false, got %s",
				 q);
			return msg;
		}
		*(bool *)f = b;
		return NULL;
	case CONF_T_UINT:
		rc = conf_parse_u64(s, &v);
		if (rc == -EINVAL) {
			snprintf(msg, msglen, "expected an integer %" PRIu64
				 "..%" PRIu64 ", got %s", k->min, k->max, q);
			return msg;
		}
		if (rc || v < k->min || v > k->max) {
			snprintf(msg, msglen, "%s is out of range %" PRIu64
				 "..%" PRIu64, q, k->min, k->max);
			return msg;
		}
		conf_put_uint(f, k->size, v);
		break;
	case CONF_T_STR:
		if (len > conf_max_len(k)) {
			snprintf(msg, msglen, "longer than %zu characters",
				 conf_max_len(k));
			return msg;
		}
		memset(f, 0, k->size);
		memcpy(f, s, len);
		break;
	case CONF_T_ENUM:
		for (i = 0; k->names[i]; i++)
			if (!strcmp(s, k->names[i]))
				break;
		if (!k->names[i]) {
			int o = snprintf(msg, msglen, "%s is not one of", q);

			for (i = 0; k->names[i] && o > 0 && (size_t)o < msglen;
			     i++)
				o += snprintf(msg + o, msglen - (size_t)o,
					      "%s %s", i ? "," : "",
					      k->names[i]);
			return msg;
		}
		conf_put_uint(f, k->size, i);
		break;
	case CONF_T_PREFIX:
		if ((k->flags & CONF_F_OPTIONAL) &&
		    (!*s || !strcmp(s, "any"))) {
			memset(f, 0, sizeof(struct conf_prefix));
			*(bool *)((char *)base + k->aux_off) = false;
			return NULL;
		}
		if (conf_parse_prefix(s, f)) {
			snprintf(msg, msglen, "%s is not an address with an "
				 "optional prefix length (a.b.c.d/n or "
				 "x::y/n)", q);
			return msg;
		}
		if (k->flags & CONF_F_OPTIONAL)
			*(bool *)((char *)base + k->aux_off) = true;
		break;
	case CONF_T_MAC:
		if ((k->flags & CONF_F_OPTIONAL) && !*s) {
			memset(f, 0, 6);
			*(bool *)((char *)base + k->aux_off) = false;
			return NULL;
		}
		if (conf_parse_mac(s, f)) {
			snprintf(msg, msglen, "%s is not a MAC address "
				 "(xx:xx:xx:xx:xx:xx)", q);
			return msg;
		}
		if (((uint8_t *)f)[0] & 1) {
			snprintf(msg, msglen, "%s is a multicast address", q);
			return msg;
		}
		if (!memcmp(f, "\0\0\0\0\0\0", 6)) {
			snprintf(msg, msglen, "%s is all zeros", q);
			return msg;
		}
		if (k->flags & CONF_F_OPTIONAL)
			*(bool *)((char *)base + k->aux_off) = true;
		break;
	case CONF_T_PROTO:
		if (conf_parse_proto(s, f)) {
			snprintf(msg, msglen, "%s is not tcp, udp, icmp, "
				 "icmpv6, sctp, any or a number 0..255", q);
			return msg;
		}
		break;
	case CONF_T_PORT_RANGE: {
		uint16_t lo, hi;

		if (conf_parse_port_range(s, &lo, &hi)) {
			snprintf(msg, msglen, "%s is not a port \"N\" or a "
				 "range \"N-M\" within 0..65535", q);
			return msg;
		}
		memcpy(f, &lo, sizeof(lo));
		memcpy((char *)base + k->aux_off, &hi, sizeof(hi));
		break;
	}
	default:
		snprintf(msg, msglen, "not a scalar key");
		return msg;
	}
	if (k->check) {
		const char *bad = k->check(f);

		if (bad) {
			snprintf(msg, msglen, "%s", bad);
			return msg;
		}
	}
	return NULL;
}

static const struct conf_key *conf_key_by_name(const struct conf_map *m,
						const char *name)
{
	unsigned i;

	for (i = 0; i < m->n_keys; i++)
		if (!strcmp(m->keys[i].name, name))
			return &m->keys[i];
	return NULL;
}

/* ---- defaults -------------------------------------------------------- */

static void conf_apply_defaults(const struct conf_map *m, void *base)
{
	char msg[160];
	unsigned i;

	for (i = 0; i < m->n_keys; i++) {
		const struct conf_key *k = &m->keys[i];

		switch (k->type) {
		case CONF_T_MAP:
			conf_apply_defaults(k->sub, base);
			break;
		case CONF_T_PREFIX_LIST:
		case CONF_T_STR_LIST:
		case CONF_T_MAP_LIST:
			memset((char *)base + k->off, 0, k->size * k->max);
			*(unsigned *)((char *)base + k->aux_off) = 0;
			break;
		default:
			if (k->def)
				conf_set_scalar(k, base, k->def,
						strlen(k->def), msg,
						sizeof(msg));
			break;
		}
	}
}

void conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	conf_apply_defaults(&conf__root, c);
	conf_apply_defaults(conf_key_by_name(&conf__root, "ports")->sub,
			    &c->ports[0]);
	conf__default_ports(c);
}

/* ---- the walk -------------------------------------------------------- */

static const char *conf_node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE: return "a map";
	case YAML_SEQUENCE_NODE: return "a list";
	default: return "a value";
	}
}

static void conf_parse_map(struct conf_ctx *x, const struct conf_map *m,
			   void *base, yaml_node_t *node);

static void conf_parse_scalar(struct conf_ctx *x, const struct conf_key *k,
			      void *base, yaml_node_t *v)
{
	char msg[256];
	const char *bad;

	if (v->type != YAML_SCALAR_NODE) {
		conf__err(x, v, "", "expected a value, got %s",
			  conf_node_kind(v));
		return;
	}
	if (conf_is_null(v)) {
		conf__err(x, v, "", "missing value%s",
			  k->type == CONF_T_STR ? " (write \"\" for none)" :
			  "");
		return;
	}
	bad = conf_set_scalar(k, base, (const char *)v->data.scalar.value,
			      v->data.scalar.length, msg, sizeof(msg));
	if (bad)
		conf__err(x, v, "", "%s", bad);
}

static size_t conf_seq_len(const yaml_node_t *v)
{
	return (size_t)(v->data.sequence.items.top -
			v->data.sequence.items.start);
}

static void conf_free_strs(char **strs, unsigned *n)
{
	unsigned i;

	for (i = 0; i < *n; i++) {
		free(strs[i]);
		strs[i] = NULL;
	}
	*n = 0;
}

static void conf_parse_list(struct conf_ctx *x, const struct conf_key *k,
			    void *base, yaml_node_t *v)
{
	unsigned *count = (unsigned *)((char *)base + k->aux_off);
	char *arr = (char *)base + k->off;
	unsigned before_list = x->n_errors;
	size_t n, i;

	if (v->type == YAML_SCALAR_NODE && conf_is_null(v)) {
		n = 0;
	} else if (v->type != YAML_SEQUENCE_NODE) {
		conf__err(x, v, "", "expected a list, got %s",
			  conf_node_kind(v));
		return;
	} else {
		n = conf_seq_len(v);
	}

	/* A list in the file replaces the default one. */
	if (k->type == CONF_T_STR_LIST)
		conf_free_strs((char **)arr, count);
	memset(arr, 0, k->size * k->max);
	*count = 0;

	for (i = 0; i < n; i++) {
		yaml_node_t *item = conf_node(x,
					      v->data.sequence.items.start[i]);
		size_t saved;
		int before = (int)x->n_errors;

		if (!item)
			continue;
		saved = conf__path_push(x, "[%zu]", i);
		if (i >= k->max) {
			conf__err(x, item, "", "too many items (at most %"
				  PRIu64 ")", k->max);
			conf__path_pop(x, saved);
			break;
		}
		switch (k->type) {
		case CONF_T_PREFIX_LIST: {
			struct conf_key one = *k;

			one.type = CONF_T_PREFIX;
			one.flags = 0;
			one.off = k->off + i * k->size;
			one.check = NULL;
			conf_parse_scalar(x, &one, base, item);
			if ((int)x->n_errors == before)
				(*count)++;
			break;
		}
		case CONF_T_STR_LIST: {
			char **strs = (char **)arr;
			const char *s;
			size_t len;
			char q[64];

			if (item->type != YAML_SCALAR_NODE) {
				conf__err(x, item, "", "expected a string, "
					  "got %s", conf_node_kind(item));
				break;
			}
			s = (const char *)item->data.scalar.value;
			len = item->data.scalar.length;
			if (conf_is_null(item)) {
				conf__err(x, item, "", "missing value (write "
					  "\"\" for none)");
			} else if (memchr(s, '\0', len)) {
				conf__err(x, item, "", "must not contain a NUL "
					  "character");
			} else if (len > conf_max_len(k)) {
				conf__err(x, item, "", "longer than %zu "
					  "characters", conf_max_len(k));
			} else if (!(strs[*count] = strdup(s))) {
				conf__err(x, item, "", "out of memory at %s",
					  conf__quote(q, sizeof(q), s, len));
			} else {
				const char *bad = k->check ?
					k->check(strs[*count]) : NULL;

				(*count)++;
				if (bad)
					conf__err(x, item, "", "%s: %s",
						  conf__quote(q, sizeof(q), s,
							      len), bad);
			}
			break;
		}
		default: { /* CONF_T_MAP_LIST */
			void *elem = arr + *count * k->size;

			memset(elem, 0, k->size);
			conf_apply_defaults(k->sub, elem);
			conf_parse_map(x, k->sub, elem, item);
			/* keep the count in step with the YAML items so
			 * that cross checks find their nodes */
			(*count)++;
			break;
		}
		}
		conf__path_pop(x, saved);
	}
	if (n < k->min)
		conf__err(x, v, "", "at least %" PRIu64 " item%s required",
			  k->min, k->min == 1 ? " is" : "s are");
	if (k->check_list && x->n_errors == before_list)
		k->check_list(x, base, v);
}

static void conf_parse_value(struct conf_ctx *x, const struct conf_key *k,
			     void *base, yaml_node_t *v)
{
	switch (k->type) {
	case CONF_T_MAP:
		if (v->type == YAML_SCALAR_NODE && conf_is_null(v))
			return;
		conf_parse_map(x, k->sub, base, v);
		break;
	case CONF_T_PREFIX_LIST:
	case CONF_T_STR_LIST:
	case CONF_T_MAP_LIST:
		conf_parse_list(x, k, base, v);
		break;
	default:
		conf_parse_scalar(x, k, base, v);
		break;
	}
}

/* Big enough for the widest map in the schema (checked at run time). */
#define CONF_MAP_KEYS_MAX 32

static void conf_parse_map(struct conf_ctx *x, const struct conf_map *m,
			   void *base, yaml_node_t *node)
{
	yaml_node_t *seen[CONF_MAP_KEYS_MAX] = { NULL };
	unsigned before = x->n_errors;
	yaml_node_pair_t *pair;
	unsigned i;

	if (node->type != YAML_MAPPING_NODE) {
		conf__err(x, node, "", "expected a map, got %s",
			  conf_node_kind(node));
		return;
	}
	for (pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = conf_node(x, pair->key);
		yaml_node_t *vn = conf_node(x, pair->value);
		const char *key;
		size_t klen, saved;

		if (!kn || !vn)
			continue;
		if (kn->type != YAML_SCALAR_NODE) {
			conf__err(x, kn, "", "keys must be plain names, "
				  "got %s", conf_node_kind(kn));
			continue;
		}
		key = (const char *)kn->data.scalar.value;
		klen = kn->data.scalar.length;
		for (i = 0; i < m->n_keys && i < CONF_MAP_KEYS_MAX; i++)
			if (strlen(m->keys[i].name) == klen &&
			    !memcmp(m->keys[i].name, key, klen))
				break;
		saved = conf_path_key(x, key, klen);
		if (i == m->n_keys || i == CONF_MAP_KEYS_MAX) {
			char known[256];
			int o = 0;
			unsigned j;

			known[0] = '\0';
			for (j = 0; j < m->n_keys; j++) {
				int r = snprintf(known + o, sizeof(known) -
						 (size_t)o, "%s%s", j ? ", " :
						 "", m->keys[j].name);

				if (r < 0 || (size_t)(o + r) >= sizeof(known))
					break;
				o += r;
			}
			conf__err(x, kn, "", "unknown key (expected one of: "
				  "%s)", known);
		} else if (seen[i]) {
			conf__err(x, kn, "", "duplicate key (first at line "
				  "%zu)", seen[i]->start_mark.line + 1);
		} else {
			seen[i] = kn;
			conf_parse_value(x, &m->keys[i], base, vn);
		}
		conf__path_pop(x, saved);
	}
	for (i = 0; i < m->n_keys && i < CONF_MAP_KEYS_MAX; i++)
		if ((m->keys[i].flags & CONF_F_REQUIRED) && !seen[i])
			conf__err(x, node, m->keys[i].name, "required key is "
				  "missing");
	if (m->check && x->n_errors == before)
		m->check(x, base, node);
}

/* ---- loading --------------------------------------------------------- */

static void conf_yaml_error(struct conf_ctx *x, const yaml_parser_t *p,
			    const char *in, size_t len)
{
	yaml_mark_t mark = p->problem_mark;
	const char *what = p->problem ? p->problem : "cannot parse";

	x->n_errors++;
	if (!x->err)
		return;
	if (p->error == YAML_READER_ERROR) {
		/* The reader sets no mark; count lines up to the offset. */
		size_t i, end = p->problem_offset < len ? p->problem_offset :
			len;

		memset(&mark, 0, sizeof(mark));
		for (i = 0; i < end; i++) {
			if (in[i] == '\n') {
				mark.line++;
				mark.column = 0;
			} else {
				mark.column++;
			}
		}
		fprintf(x->err, "%s:%zu:%zu: YAML: %s at byte %zu\n", x->name,
			mark.line + 1, mark.column + 1, what,
			p->problem_offset);
		return;
	}
	if (p->error == YAML_MEMORY_ERROR) {
		fprintf(x->err, "%s:0:0: YAML: out of memory\n", x->name);
		return;
	}
	fprintf(x->err, "%s:%zu:%zu: YAML: %s", x->name, mark.line + 1,
		mark.column + 1, what);
	if (p->context)
		fprintf(x->err, " (%s at %zu:%zu)", p->context,
			p->context_mark.line + 1, p->context_mark.column + 1);
	fputc('\n', x->err);
}

int conf_load_string(struct conf *c, const char *yaml, size_t len,
		     const char *name, FILE *err)
{
	struct conf_ctx x = { .name = name ? name : "<string>", .err = err };
	yaml_document_t doc, extra;
	yaml_parser_t parser;
	yaml_node_t *root;

	conf_defaults(c);
	if (!yaml) /* libyaml asserts on a NULL input */
		yaml = "", len = 0;
	if (!yaml_parser_initialize(&parser)) {
		conf__err(&x, NULL, "", "out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml,
				     len);
	memset(&doc, 0, sizeof(doc));
	if (!yaml_parser_load(&parser, &doc)) {
		conf_yaml_error(&x, &parser, yaml, len);
		goto out_parser;
	}
	x.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root && root->type == YAML_SCALAR_NODE && conf_is_null(root))
		root = NULL;
	if (root)
		conf_parse_map(&x, &conf__root, c, root);

	/* A second document would be silently ignored: say so instead. */
	memset(&extra, 0, sizeof(extra));
	if (!yaml_parser_load(&parser, &extra)) {
		conf_yaml_error(&x, &parser, yaml, len);
	} else {
		yaml_node_t *r = yaml_document_get_root_node(&extra);

		if (r) {
			x.doc = &extra;
			conf__err(&x, r, "", "only one YAML document is "
				  "allowed");
			x.doc = &doc;
		}
		yaml_document_delete(&extra);
	}

	/* Checks across sections also cover a config from defaults only. */
	if (!x.n_errors && (!root || root->type == YAML_MAPPING_NODE))
		conf__root.check(&x, c, root);
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	return x.n_errors ? -1 : 0;
}

/* The whole file in memory: configs are small, and libyaml wants the
 * length anyway. */
int conf_load_file(struct conf *c, const char *path, FILE *err)
{
	FILE *f;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc;

	conf_defaults(c);
	f = fopen(path, "rb");
	if (!f) {
		if (err)
			fprintf(err, "%s:0:0: cannot open: %s\n", path,
				strerror(errno));
		return -1;
	}
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			char *nb;

			if (cap > (1u << 24)) {
				if (err)
					fprintf(err, "%s:0:0: file is larger "
						"than 16 MiB\n", path);
				goto out_buf;
			}
			nb = realloc(buf, cap ? cap * 2 : 8192);
			if (!nb) {
				if (err)
					fprintf(err, "%s:0:0: out of memory\n",
						path);
				goto out_buf;
			}
			buf = nb;
			cap = cap ? cap * 2 : 8192;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		if (err)
			fprintf(err, "%s:0:0: cannot read: %s\n", path,
				strerror(errno));
		goto out_buf;
	}
	fclose(f);
	rc = conf_load_string(c, buf, len, path, err);
	free(buf);
	return rc;

out_buf:
	free(buf);
	fclose(f);
	return -1;
}

/* ---- freeing --------------------------------------------------------- */

static void conf_free_map(const struct conf_map *m, void *base)
{
	unsigned i, j;

	for (i = 0; i < m->n_keys; i++) {
		const struct conf_key *k = &m->keys[i];
		unsigned *count = (unsigned *)((char *)base + k->aux_off);

		switch (k->type) {
		case CONF_T_MAP:
			conf_free_map(k->sub, base);
			break;
		case CONF_T_STR_LIST:
			conf_free_strs((char **)((char *)base + k->off),
				       count);
			break;
		case CONF_T_MAP_LIST:
			for (j = 0; j < *count && j < k->max; j++)
				conf_free_map(k->sub, (char *)base + k->off +
					      j * k->size);
			break;
		default:
			break;
		}
	}
}

void conf_free(struct conf *c)
{
	conf_free_map(&conf__root, c);
}

/* ---- printing -------------------------------------------------------- */

/* A YAML double-quoted string; configs are ASCII, anything else is
 * escaped so the output always parses. */
static void conf_fmt_str(char *buf, size_t n, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (n < 8) {
		if (n)
			buf[0] = '\0';
		return;
	}
	buf[o++] = '"';
	for (; *s && o + 6 < n; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch < ' ' || ch >= 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[ch >> 4];
			buf[o++] = hex[ch & 15];
		} else {
			buf[o++] = (char)ch;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

static void conf_fmt_prefix(char *buf, size_t n, const struct conf_prefix *p)
{
	char a[INET6_ADDRSTRLEN];

	if (p->v4)
		inet_ntop(AF_INET, p->addr.b + 12, a, sizeof(a));
	else
		inet_ntop(AF_INET6, p->addr.b, a, sizeof(a));
	snprintf(buf, n, "\"%s/%u\"", a, p->prefix_len);
}

/* The YAML text of the value of k at base (scalars and plain lists). */
static void conf_fmt_value(const struct conf_key *k, const void *base,
			   char *buf, size_t n)
{
	const char *f = (const char *)base + k->off;
	unsigned count, i;
	size_t o;
	uint64_t v;

	switch (k->type) {
	case CONF_T_BOOL:
		snprintf(buf, n, "%s", *(const bool *)f ? "true" : "false");
		break;
	case CONF_T_UINT:
		snprintf(buf, n, "%" PRIu64, conf_get_uint(f, k->size));
		break;
	case CONF_T_STR:
		conf_fmt_str(buf, n, f);
		break;
	case CONF_T_ENUM:
		v = conf_get_uint(f, k->size);
		for (i = 0; k->names[i] && i < v; i++)
			;
		if (k->names[i])
			snprintf(buf, n, "%s", k->names[i]);
		else
			snprintf(buf, n, "%" PRIu64, v);
		break;
	case CONF_T_PREFIX:
		if ((k->flags & CONF_F_OPTIONAL) &&
		    !*(const bool *)((const char *)base + k->aux_off))
			snprintf(buf, n, "any");
		else
			conf_fmt_prefix(buf, n, (const void *)f);
		break;
	case CONF_T_MAC: {
		const uint8_t *m = (const uint8_t *)f;

		if ((k->flags & CONF_F_OPTIONAL) &&
		    !*(const bool *)((const char *)base + k->aux_off))
			snprintf(buf, n, "\"\"");
		else
			snprintf(buf, n, "\"%02x:%02x:%02x:%02x:%02x:%02x\"",
				 m[0], m[1], m[2], m[3], m[4], m[5]);
		break;
	}
	case CONF_T_PROTO:
		v = *(const uint8_t *)f;
		for (i = 0; i < sizeof(conf_protos) / sizeof(conf_protos[0]);
		     i++)
			if (conf_protos[i].num == v)
				break;
		if (i < sizeof(conf_protos) / sizeof(conf_protos[0]))
			snprintf(buf, n, "%s", conf_protos[i].name);
		else
			snprintf(buf, n, "%" PRIu64, v);
		break;
	case CONF_T_PORT_RANGE: {
		uint16_t lo, hi;

		memcpy(&lo, f, sizeof(lo));
		memcpy(&hi, (const char *)base + k->aux_off, sizeof(hi));
		if (lo == 0 && hi == 65535)
			snprintf(buf, n, "any");
		else if (lo == hi)
			snprintf(buf, n, "\"%u\"", lo);
		else
			snprintf(buf, n, "\"%u-%u\"", lo, hi);
		break;
	}
	case CONF_T_PREFIX_LIST:
	case CONF_T_STR_LIST:
		count = *(const unsigned *)((const char *)base + k->aux_off);
		o = (size_t)snprintf(buf, n, "[");
		for (i = 0; i < count && i < k->max && o < n; i++) {
			char one[600];

			if (k->type == CONF_T_PREFIX_LIST)
				conf_fmt_prefix(one, sizeof(one),
					(const struct conf_prefix *)f + i);
			else
				conf_fmt_str(one, sizeof(one),
					     ((char *const *)f)[i]);
			o += (size_t)snprintf(buf + o, n - o, "%s%s",
					      i ? ", " : "", one);
		}
		if (o < n)
			snprintf(buf + o, n - o, "]");
		break;
	default:
		snprintf(buf, n, "~");
		break;
	}
}

/* What a key accepts, for comments and the reference. */
static void conf_describe(const struct conf_key *k, char *buf, size_t n)
{
	size_t o;
	unsigned i;

	switch (k->type) {
	case CONF_T_BOOL:
		snprintf(buf, n, "true or false");
		break;
	case CONF_T_UINT:
		snprintf(buf, n, "integer %" PRIu64 "..%" PRIu64, k->min,
			 k->max);
		break;
	case CONF_T_STR:
		snprintf(buf, n, "string, at most %zu characters",
			 conf_max_len(k));
		break;
	case CONF_T_ENUM:
		o = (size_t)snprintf(buf, n, "one of");
		for (i = 0; k->names[i] && o < n; i++)
			o += (size_t)snprintf(buf + o, n - o, "%s %s",
					      i ? "," : "", k->names[i]);
		break;
	case CONF_T_PREFIX:
		snprintf(buf, n, "address/prefix%s",
			 k->flags & CONF_F_OPTIONAL ? " or any" : "");
		break;
	case CONF_T_MAC:
		snprintf(buf, n, "MAC address xx:xx:xx:xx:xx:xx%s",
			 k->flags & CONF_F_OPTIONAL ? " or \"\"" : "");
		break;
	case CONF_T_PREFIX_LIST:
		snprintf(buf, n, "list of address/prefix, at most %" PRIu64,
			 k->max);
		break;
	case CONF_T_STR_LIST:
		snprintf(buf, n, "list of strings of at most %zu characters, "
			 "at most %" PRIu64, conf_max_len(k), k->max);
		break;
	case CONF_T_PROTO:
		snprintf(buf, n, "tcp, udp, icmp, icmpv6, sctp, any or "
			 "0..255");
		break;
	case CONF_T_PORT_RANGE:
		snprintf(buf, n, "\"N\", \"N-M\" (0..65535) or any");
		break;
	case CONF_T_MAP:
		snprintf(buf, n, "map");
		break;
	case CONF_T_MAP_LIST:
		snprintf(buf, n, "list of maps, %" PRIu64 "..%" PRIu64
			 " items", k->min, k->max);
		break;
	}
}

/* Doc text as "# " comment lines of at most ~78 columns. */
static void conf_print_comment(FILE *out, const char *lead, const char *text)
{
	size_t width = 78 - strlen(lead) - 2;
	const char *s = text;

	while (*s) {
		size_t len = strlen(s), cut = len;

		if (len > width) {
			cut = width;
			while (cut > 0 && s[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = strcspn(s, " ");
		}
		fprintf(out, "%s# %.*s\n", lead, (int)cut, s);
		s += cut;
		while (*s == ' ')
			s++;
	}
}

static void conf_print_map(FILE *out, const struct conf_map *m,
			   const void *base, const char *lead);

/* A list of maps; with no items, an example item in comments. */
static void conf_print_map_list(FILE *out, const struct conf_key *k,
				const void *base, const char *lead)
{
	unsigned count = *(const unsigned *)((const char *)base + k->aux_off);
	char in[128], ex[128];
	unsigned i;

	snprintf(in, sizeof(in), "%s    ", lead);
	if (!count) {
		union {
			struct conf_port port;
			struct conf_rule rule;
			struct conf_endpoint endpoint;
			struct conf_upstream upstream;
			struct conf_http_route route;
			struct conf_http_rule http_rule;
		} elem;

		fprintf(out, "%s%s: []\n", lead, k->name);
		fprintf(out, "%s# An item of %s, with the default of every "
			"key:\n", lead, k->name);
		fprintf(out, "%s# %s:\n", lead, k->name);
		fprintf(out, "%s#   -\n", lead);
		snprintf(ex, sizeof(ex), "%s#     ", lead);
		memset(&elem, 0, sizeof(elem));
		conf_apply_defaults(k->sub, &elem);
		conf_print_map(out, k->sub, &elem, ex);
		return;
	}
	fprintf(out, "%s%s:\n", lead, k->name);
	for (i = 0; i < count && i < k->max; i++) {
		fprintf(out, "%s  - # %s[%u]\n", lead, k->name, i);
		conf_print_map(out, k->sub,
			       (const char *)base + k->off + i * k->size, in);
	}
}

static void conf_print_map(FILE *out, const struct conf_map *m,
			   const void *base, const char *lead)
{
	char in[128], val[2048], doc[512], desc[160];
	unsigned i;

	snprintf(in, sizeof(in), "%s  ", lead);
	for (i = 0; i < m->n_keys; i++) {
		const struct conf_key *k = &m->keys[i];

		if (k->type == CONF_T_MAP || k->type == CONF_T_MAP_LIST) {
			conf_print_comment(out, lead, k->doc);
		} else {
			conf_describe(k, desc, sizeof(desc));
			snprintf(doc, sizeof(doc), "%s [%s]", k->doc, desc);
			conf_print_comment(out, lead, doc);
		}
		switch (k->type) {
		case CONF_T_MAP:
			fprintf(out, "%s%s:\n", lead, k->name);
			conf_print_map(out, k->sub, base, in);
			break;
		case CONF_T_MAP_LIST:
			conf_print_map_list(out, k, base, lead);
			break;
		default:
			conf_fmt_value(k, base, val, sizeof(val));
			fprintf(out, "%s%s: %s\n", lead, k->name, val);
			break;
		}
		if (!*lead && i + 1 < m->n_keys)
			fputc('\n', out);
	}
}

void conf_print_default(FILE *out)
{
	struct conf c;

	conf_defaults(&c);
	fputs("# strata configuration: the built-in default (laptop TUN "
	      "mode).\n"
	      "# Every key may be left out and then keeps the value shown "
	      "here; a list\n"
	      "# given in a file replaces the default list. Check a file "
	      "with\n"
	      "# `strata config check FILE`; docs/CONFIG.md has the "
	      "reference.\n\n", out);
	conf_print_map(out, &conf__root, &c, "");
	conf_free(&c);
}

/* One table row per key, depth first; list items get "[]". */
static void conf_print_rows(FILE *out, const struct conf_map *m,
			    const void *base, const char *prefix)
{
	char path[128], val[2048], desc[160];
	unsigned i;

	for (i = 0; i < m->n_keys; i++) {
		const struct conf_key *k = &m->keys[i];

		snprintf(path, sizeof(path), "%s%s", prefix, k->name);
		conf_describe(k, desc, sizeof(desc));
		if (k->type == CONF_T_MAP) {
			fprintf(out, "| `%s` | map | | %s |\n", path, k->doc);
			snprintf(path, sizeof(path), "%s%s.", prefix,
				 k->name);
			conf_print_rows(out, k->sub, base, path);
			continue;
		}
		if (k->type == CONF_T_MAP_LIST) {
			union {
				struct conf_port port;
				struct conf_rule rule;
				struct conf_endpoint endpoint;
				struct conf_upstream upstream;
				struct conf_http_route route;
				struct conf_http_rule http_rule;
			} elem;

			fprintf(out, "| `%s` | %s | %s | %s |\n", path, desc,
				!strcmp(k->name, "ports") ?
				"one tun port (below)" : "`[]`", k->doc);
			memset(&elem, 0, sizeof(elem));
			conf_apply_defaults(k->sub, &elem);
			snprintf(path, sizeof(path), "%s%s[].", prefix,
				 k->name);
			conf_print_rows(out, k->sub, &elem, path);
			continue;
		}
		conf_fmt_value(k, base, val, sizeof(val));
		fprintf(out, "| `%s` | %s%s | `%s` | %s |\n", path, desc,
			k->flags & CONF_F_REQUIRED ? ", **required**" : "",
			val, k->doc);
	}
}

void conf_print_reference(FILE *out)
{
	struct conf c;

	conf_defaults(&c);
	fputs("# strata configuration reference\n\n"
	      "<!-- Generated from conf/conf_schema.c by "
	      "conf_print_reference();\n"
	      "     tests/unit/test_conf.c checks that this file matches.\n"
	      "     Regenerate: build/strata config reference > "
	      "docs/CONFIG.md -->\n\n"
	      "strata reads one YAML file (`strata run -c FILE`). Every "
	      "key is optional:\n"
	      "a key left out keeps its default, and a list given in the "
	      "file replaces\n"
	      "the default list (it is not appended to). "
	      "`strata config default` prints\n"
	      "the full default configuration with these docs as "
	      "comments, and\n"
	      "`strata config check FILE` validates a file.\n\n"
	      "## Values\n\n"
	      "- Integers are decimal, without sign; bounds are "
	      "inclusive.\n"
	      "- Booleans are `true` or `false`.\n"
	      "- Addresses with a prefix are `a.b.c.d/n` or `x::y/n`; "
	      "without `/n` the\n"
	      "  full length is meant. Host bits are kept: "
	      "`10.77.0.2/24` is the\n"
	      "  address 10.77.0.2 on the network 10.77.0.0/24.\n"
	      "- MAC addresses are `xx:xx:xx:xx:xx:xx` (or with `-`); "
	      "quote them.\n"
	      "- Strings may be quoted; `~`, `null` or nothing is not an "
	      "empty string,\n"
	      "  write `\"\"`.\n\n"
	      "## Errors\n\n"
	      "Each problem is reported as one line, and all of them are "
	      "reported at once:\n\n"
	      "```\n"
	      "FILE:LINE:COL: path.to.key: what is wrong\n"
	      "```\n\n"
	      "LINE and COL are 1-based; the path names list items by "
	      "index, as in\n"
	      "`ports[0].tun.ifname`. Unknown keys, duplicate keys, "
	      "wrong types,\n"
	      "values out of range, bad addresses, MACs and names, lists "
	      "longer than\n"
	      "their maximum and YAML syntax errors are all errors, as "
	      "are these\n"
	      "rules across keys:\n\n"
	      "- port names are unique, and so are the `tun.ifname` of "
	      "tun ports;\n"
	      "- a dpdk port needs `dpdk.devargs`, a pcap port needs "
	      "`pcap.input`;\n"
	      "- a rule with action `forward` needs `out_port` naming a "
	      "port; other\n"
	      "  actions take no `out_port`; `forward` cannot be the "
	      "`default_action`;\n"
	      "- a rule's `src` and `dst` are of one address family, and "
	      "`dports` needs\n"
	      "  proto tcp, udp or sctp.\n\n"
	      "A file that cannot be opened gives `FILE:0:0: cannot open: "
	      "<reason>`.\n\n"
	      "## Keys\n\n"
	      "Defaults of the keys under `ports[]` and "
	      "`policy.rules[]` are those an\n"
	      "item gets in a file; the built-in port `tun0` sets more "
	      "(see below).\n\n"
	      "| Key | Accepts | Default | Meaning |\n"
	      "|---|---|---|---|\n", out);
	conf_print_rows(out, &conf__root, &c, "");
	fputs("\n## Default configuration\n\n"
	      "The output of `strata config default`:\n\n"
	      "```yaml\n", out);
	conf_print_default(out);
	fputs("```\n", out);
	conf_free(&c);
}
