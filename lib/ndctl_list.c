/* SPDX-License-Identifier: MIT */
/*
 * ndctl_list.c - list real pmem namespaces with libndctl and libdaxctl.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <daxctl/libdaxctl.h>
#include <ndctl/libndctl.h>

#include "errmsg.h"
#include "ndctl_list.h"

static const char *ns_mode_name(enum ndctl_namespace_mode m)
{
	switch (m) {
	case NDCTL_NS_MODE_FSDAX:
		return "fsdax";
	case NDCTL_NS_MODE_SECTOR:
		return "sector";
	case NDCTL_NS_MODE_RAW:
		return "raw";
	case NDCTL_NS_MODE_DEVDAX:
		return "devdax";
	default:
		return "unknown";
	}
}

/* Fill @e from @ndns: mode, device node, usable size and alignment. */
static void ns_describe(struct ndctl_namespace *ndns, struct pmr_namespace *e)
{
	enum ndctl_namespace_mode mode = ndctl_namespace_get_mode(ndns);
	struct ndctl_dax *dax = ndctl_namespace_get_dax(ndns);
	struct ndctl_pfn *pfn = ndctl_namespace_get_pfn(ndns);
	struct ndctl_btt *btt = ndctl_namespace_get_btt(ndns);
	const char *name = ndctl_namespace_get_devname(ndns);
	const char *blk = NULL;

	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name ? name : "");
	snprintf(e->mode, sizeof(e->mode), "%s", ns_mode_name(mode));
	e->size = ndctl_namespace_get_size(ndns);

	if (dax) {
		struct daxctl_region *dr = ndctl_dax_get_daxctl_region(dax);
		struct daxctl_dev *dev;

		e->size = ndctl_dax_get_size(dax);
		e->align = ndctl_dax_get_align(dax);
		if (dr) {
			daxctl_dev_foreach(dr, dev)
			{
				const char *dn = daxctl_dev_get_devname(dev);

				if (dn && *dn) {
					snprintf(e->device, sizeof(e->device), "/dev/%s", dn);
					break;
				}
			}
		}
		return;
	}
	if (pfn) {
		e->size = ndctl_pfn_get_size(pfn);
		e->align = ndctl_pfn_get_align(pfn);
		blk = ndctl_pfn_get_block_device(pfn);
	} else if (btt) {
		e->size = ndctl_btt_get_size(btt);
		blk = ndctl_btt_get_block_device(btt);
	} else {
		blk = ndctl_namespace_get_block_device(ndns);
	}
	if (blk && *blk)
		snprintf(e->device, sizeof(e->device), "/dev/%s", blk);
}

int pmr_list_namespaces(struct pmr_namespace *out, unsigned max, unsigned *count)
{
	struct ndctl_ctx *ctx;
	struct ndctl_bus *bus;
	unsigned n = 0;
	int ret;

	*count = 0;
	ret = ndctl_new(&ctx);
	if (ret) {
		/* No libnvdimm in this kernel: no namespaces, not an error. */
		if (access("/sys/bus/nd", F_OK))
			return 0;
		return pmd_err(ret < 0 ? ret : -ret, "cannot initialise libndctl: %s",
			       strerror(ret < 0 ? -ret : ret));
	}

	ndctl_bus_foreach(ctx, bus)
	{
		struct ndctl_region *region;

		ndctl_region_foreach(bus, region)
		{
			struct ndctl_namespace *ndns;

			ndctl_namespace_foreach(region, ndns)
			{
				/* Skip idle seeds: disabled and of zero size. */
				if (!ndctl_namespace_is_enabled(ndns) &&
				    !ndctl_namespace_get_size(ndns))
					continue;
				if (n < max && out)
					ns_describe(ndns, &out[n]);
				n++;
			}
		}
	}
	ndctl_unref(ctx);
	*count = n;
	return 0;
}
