/* Internals of the configuration module: the schema types shared by the
 * engine (conf.c: parse, defaults, print, free) and the tables
 * (conf_schema.c). Nothing outside conf/ includes this. */
#ifndef STRATA_CONF_PRIVATE_H
#define STRATA_CONF_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "conf/conf.h"

enum conf_type {
	CONF_T_BOOL,        /* bool */
	CONF_T_UINT,        /* uint8..64 (size), min..max */
	CONF_T_STR,         /* char[size], at most max_len characters */
	CONF_T_ENUM,        /* unsigned of size; names[] indexed by value */
	CONF_T_PREFIX,      /* struct conf_prefix */
	CONF_T_MAC,         /* uint8_t[6] */
	CONF_T_PREFIX_LIST, /* struct conf_prefix[max]; unsigned count */
	CONF_T_STR_LIST,    /* char *[max], owned; unsigned count */
	CONF_T_PROTO,       /* uint8_t: a name or 0..255 */
	CONF_T_PORT_RANGE,  /* uint16_t lo at off, hi at aux_off */
	CONF_T_MAP,         /* sub keys, at the same base */
	CONF_T_MAP_LIST,    /* elements of elem_size; unsigned count */
};

/* A value that may be absent: "" (or "any" for prefixes) clears it and
 * the bool at aux_off says whether it was given. */
#define CONF_F_OPTIONAL (1u << 0)
/* Must be given in every element of a list of maps. */
#define CONF_F_REQUIRED (1u << 1)

struct conf_ctx;
struct conf_map;

struct conf_key {
	const char *name;
	enum conf_type type;
	unsigned flags;           /* CONF_F_* */
	size_t off;               /* the field, from the base of its map */
	size_t size;              /* sizeof the field (or of one element) */
	size_t aux_off;           /* list count, set flag, or port range hi */
	uint64_t min, max;        /* uint bounds; list item counts */
	size_t max_len;           /* strings (0: size - 1) */
	const char *def;          /* default as YAML scalar text */
	const char *const *names; /* enum names by value, NULL-terminated */
	const struct conf_map *sub; /* MAP, MAP_LIST */
	/* Extra rule on a parsed value; returns what is wrong or NULL. */
	const char *(*check)(const void *field);
	/* Rules across the items of a list of maps, run when all of them
	 * parsed cleanly; node is the sequence node. */
	void (*check_list)(struct conf_ctx *x, void *base, yaml_node_t *node);
	const char *doc;
};

struct conf_map {
	const struct conf_key *keys;
	unsigned n_keys;
	/* Rules across the keys of one map, run when it parsed cleanly;
	 * node is the map's YAML node, or NULL when it came from defaults. */
	void (*check)(struct conf_ctx *x, void *base, yaml_node_t *node);
};

extern const struct conf_map conf__root;

/* The built-in port list (laptop TUN mode); other defaults are in the
 * tables. ports[0] already holds the element defaults. */
void conf__default_ports(struct conf *c);

/* For checks: report an error at node (NULL: no position) under the
 * current path plus sub ("" for none). */
void conf__err(struct conf_ctx *x, const yaml_node_t *node, const char *sub,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The value node of key in map node (NULL if absent or not a map). */
yaml_node_t *conf__find(struct conf_ctx *x, yaml_node_t *map,
			const char *key);
/* Item i of a sequence node (NULL if absent or not a sequence). */
yaml_node_t *conf__item(struct conf_ctx *x, yaml_node_t *seq, unsigned i);
/* Append ".key" / "[i]" to the error path; pop restores a saved length. */
size_t conf__path_push(struct conf_ctx *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void conf__path_pop(struct conf_ctx *x, size_t saved);
/* Copy s into buf as a short, printable, quoted excerpt for messages. */
const char *conf__quote(char *buf, size_t n, const char *s, size_t len);

#endif
