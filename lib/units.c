/* SPDX-License-Identifier: MIT */
/*
 * units.c - parse and print sizes in binary units.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

/* Shift for a unit letter, or -1 if @c is not one. */
static int unit_shift(char c)
{
	switch (tolower((unsigned char)c)) {
	case 'k':
		return 10;
	case 'm':
		return 20;
	case 'g':
		return 30;
	case 't':
		return 40;
	default:
		return -1;
	}
}

int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out_bytes)
{
	uint64_t v = 0;
	int shift = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (*s && unit_shift(*s) >= 0) {
		shift = unit_shift(*s);
		s++;
		/* "KiB", "Ki", "KB" */
		if (*s == 'i' || *s == 'I')
			s++;
		if (*s == 'b' || *s == 'B')
			s++;
	} else if (*s == 'b' || *s == 'B') {
		s++;
	}
	if (*s)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out_bytes = v << shift;
	return 0;
}

const char *format_size(uint64_t bytes, char *buf, unsigned buflen)
{
	static const char *const names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	unsigned i = 0;

	if (!buf || !buflen)
		return buf;
	while (i + 1 < sizeof(names) / sizeof(names[0]) && bytes >= (UINT64_C(1) << (10 * (i + 1))))
		i++;
	if (i == 0 || (bytes & ((UINT64_C(1) << (10 * i)) - 1)) == 0) {
		snprintf(buf, buflen, "%llu %s", (unsigned long long)(bytes >> (10 * i)), names[i]);
	} else {
		double v = (double)bytes / (double)(UINT64_C(1) << (10 * i));
		char num[32];
		size_t n;

		snprintf(num, sizeof(num), "%.2f", v);
		/* "1.50" -> "1.5", "2.00" -> "2" */
		n = strlen(num);
		while (n && num[n - 1] == '0')
			num[--n] = '\0';
		if (n && num[n - 1] == '.')
			num[--n] = '\0';
		snprintf(buf, buflen, "%s %s", num, names[i]);
	}
	return buf;
}

const char *pmd_size_hint(uint64_t bytes, char *buf, unsigned buflen)
{
	static const struct {
		uint64_t unit;
		char suffix;
	} units[] = {{TiB, 'T'}, {GiB, 'G'}, {MiB, 'M'}, {KiB, 'K'}};

	for (unsigned i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (bytes && is_aligned(bytes, units[i].unit)) {
			snprintf(buf, buflen, "%llu%c", (unsigned long long)(bytes / units[i].unit),
				 units[i].suffix);
			return buf;
		}
	}
	snprintf(buf, buflen, "%llu", (unsigned long long)bytes);
	return buf;
}

uint64_t pmd_round_hint(uint64_t bytes, uint64_t align)
{
	if (bytes >= TiB)
		return align_down(bytes, TiB);
	if (bytes >= GiB)
		return align_down(bytes, GiB);
	return align_down(bytes, align);
}
