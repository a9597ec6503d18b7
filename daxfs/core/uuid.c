/* SPDX-License-Identifier: MIT */
/*
 * uuid.c - the filesystem UUID as text: 8-4-4-4-12 hex digits, as blkid,
 * mke2fs and tune2fs write them.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>

#include "daxfs.h"

char *daxfs_uuid_format(const uint8_t uuid[16], char buf[DAXFS_UUID_STR_LEN])
{
	char *p = buf;

	for (unsigned i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		p += sprintf(p, "%02x", uuid[i]);
	}
	return buf;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int daxfs_uuid_parse(const char *s, uint8_t uuid[16])
{
	uint8_t out[16];

	for (unsigned i = 0; i < 16; i++) {
		int hi, lo;

		if ((i == 4 || i == 6 || i == 8 || i == 10) && *s++ != '-')
			return -EINVAL;
		hi = hexval(s[0]);
		lo = hi < 0 ? -1 : hexval(s[1]);
		if (lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	if (*s)
		return -EINVAL;
	for (unsigned i = 0; i < 16; i++)
		uuid[i] = out[i];
	return 0;
}
