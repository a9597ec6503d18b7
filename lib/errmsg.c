/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "errmsg.h"

static _Thread_local char pmd_msg[512];

int pmd_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pmd_msg, sizeof(pmd_msg), fmt, ap);
	va_end(ap);
	return err;
}

const char *pmd_errmsg(void)
{
	return pmd_msg;
}

void pmd_err_clear(void)
{
	pmd_msg[0] = '\0';
}

const char *pmd_strerror(int err)
{
	if (pmd_msg[0])
		return pmd_msg;
	return strerror(err < 0 ? -err : err);
}
