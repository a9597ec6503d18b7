/* SPDX-License-Identifier: MIT */
/*
 * json.h - the one piece of JSON output the commands need beyond printf():
 * a string literal with its escapes.
 */
#ifndef PMD_JSON_H
#define PMD_JSON_H

#include <stdio.h>

/*
 * pmd_json_str - print the NUL-terminated @s to @f as a JSON string literal:
 * quotes and backslashes escaped, control characters as \u00XX, valid UTF-8
 * sequences as they are, and any other byte (a name that is not UTF-8) as
 * \u00XX, so every byte string gives valid JSON.
 */
void pmd_json_str(FILE *f, const char *s);

#endif
