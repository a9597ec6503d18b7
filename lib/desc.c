/* SPDX-License-Identifier: MIT */
/*
 * desc.c - names of the descriptor modes.
 */
#include <errno.h>
#include <string.h>

#include "desc.h"

static const char *const desc_names[DESC_NR_MODES] = {
	[DESC_PFN] = "pfn",
	[DESC_FOLIO] = "folio",
	[DESC_PAGE] = "page",
	[DESC_ONDEMAND] = "ondemand",
	[DESC_MEMDESC] = "memdesc",
};

int desc_mode_parse(const char *s, enum desc_mode *out)
{
	if (!s)
		return -EINVAL;
	for (int m = 0; m < DESC_NR_MODES; m++) {
		if (!strcmp(s, desc_names[m])) {
			*out = (enum desc_mode)m;
			return 0;
		}
	}
	return -EINVAL;
}

const char *desc_mode_name(enum desc_mode m)
{
	if ((unsigned)m >= DESC_NR_MODES)
		return "unknown";
	return desc_names[m];
}
