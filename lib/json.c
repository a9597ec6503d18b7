/* SPDX-License-Identifier: MIT */
/*
 * json.c - JSON string literals and counter members (json.h).
 */
#include "json.h"

/*
 * utf8_len - length of the valid UTF-8 sequence of two to four bytes at @s,
 * or 0 if @s does not start one (a stray continuation byte, an overlong
 * form, a surrogate, a code point above U+10FFFF, a cut-off sequence).
 */
static unsigned utf8_len(const unsigned char *s)
{
	unsigned n, cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (unsigned i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* also stops at the terminating NUL */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

void pmd_json_str(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		unsigned n;

		if (*s == '"' || *s == '\\') {
			fprintf(f, "\\%c", *s++);
		} else if (*s < 0x20 || *s == 0x7f) {
			fprintf(f, "\\u%04x", *s++);
		} else if (*s < 0x80) {
			fputc(*s++, f);
		} else if ((n = utf8_len(s))) {
			fwrite(s, 1, n, f);
			s += n;
		} else {
			fprintf(f, "\\u%04x", *s++); /* not UTF-8: the byte as Latin-1 */
		}
	}
	fputc('"', f);
}

void pmd_json_u64s(FILE *f, const struct pmd_json_u64 *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\"%s\": %llu", i ? ", " : "", m[i].name,
			(unsigned long long)m[i].value);
}
