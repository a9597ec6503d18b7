/* SPDX-License-Identifier: MIT */
/*
 * json.h - the JSON output the commands need beyond printf(): a string
 * literal with its escapes, and the runs of named counters that statistics
 * objects are made of.
 */
#ifndef PMD_JSON_H
#define PMD_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * pmd_json_str - print the NUL-terminated @s to @f as a JSON string literal:
 * quotes and backslashes escaped, control characters as \u00XX, valid UTF-8
 * sequences as they are, and any other byte (a name that is not UTF-8) as
 * \u00XX, so every byte string gives valid JSON.
 */
void pmd_json_str(FILE *f, const char *s);

/* one counter of a statistics object: @name is a plain identifier */
struct pmd_json_u64 {
	const char *name;
	uint64_t value;
};

/*
 * pmd_json_u64s - print the @n counters @m to @f as JSON object members,
 * `"name": value` separated by ", ", without the braces (the caller opens
 * and closes the object, and may add members of other types). Names are
 * printed as they are: they must need no escape.
 */
void pmd_json_u64s(FILE *f, const struct pmd_json_u64 *m, size_t n);

/* PMD_JSON_U64S(f, {"a", x}, {"b", y}, ...) - pmd_json_u64s() of a list */
#define PMD_JSON_U64S(f, ...)                                              \
	pmd_json_u64s(f, (const struct pmd_json_u64[]){__VA_ARGS__},       \
		      sizeof((const struct pmd_json_u64[]){__VA_ARGS__}) / \
			      sizeof(struct pmd_json_u64))

#endif
