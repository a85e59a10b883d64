// SPDX-License-Identifier: GPL-2.0
/*
 * Device memory as ZONE_DEVICE pages: a physical range of the device's
 * memory becomes a MEMORY_DEVICE_COHERENT pagemap whose pages can replace
 * anonymous pages of a process (the CPU keeps access to them) and whose
 * frees come back to gmem's allocator.
 */
#include <linux/export.h>
#include <linux/ioport.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include "gm_internal.h"

/*
 * memory hotplug works in subsections: a range that is not 2 MiB aligned
 * makes memremap_pages() warn and fail, so refuse it here with an errno.
 */
#define GM_PHYSMEM_ALIGN	SZ_2M

int gm_coherent_owner;

static void gm_physmem_page_free(struct page *page)
{
	gm_devmem_page_free(page);
}

static const struct dev_pagemap_ops gm_coherent_pagemap_ops = {
	.page_free = gm_physmem_page_free,
};

static int gm_physmem_check(phys_addr_t start, u64 size)
{
	if (!size || !IS_ALIGNED(start, GM_PHYSMEM_ALIGN) ||
	    !IS_ALIGNED(size, GM_PHYSMEM_ALIGN))
		return -EINVAL;
	if (start + size < start || start + size - 1 > PHYS_ADDR_MAX)
		return -EOVERFLOW;
	/* Pages that are already System RAM cannot become device memory. */
	if (region_intersects(start, size, IORESOURCE_SYSTEM_RAM,
			      IORES_DESC_NONE) != REGION_DISJOINT)
		return -EBUSY;
	return 0;
}

/**
 * gm_dev_register_physmem() - give gmem a device's memory
 * @dev: the device
 * @start: physical address of the memory, 2 MiB aligned
 * @size: its size in bytes, a non-zero multiple of 2 MiB
 *
 * The range must be CPU-addressable and cache-coherent with the CPU (CXL
 * type 2/3 memory, an APU carve-out, or RAM the kernel was told not to use
 * with memmap=).  It is claimed in /proc/iomem under the device's name and
 * becomes MEMORY_DEVICE_COHERENT pages that gmem hands out to migrations.
 * One range per device.
 *
 * Context: process context, may sleep.
 * Return: 0, or -EINVAL (unaligned or empty range), -EOVERFLOW (range
 * wraps), -EBUSY (range is System RAM or claimed by another driver),
 * -EEXIST (the device already has memory), -ENODEV (device destroyed),
 * -ENOMEM, or the error of memremap_pages().
 */
int gm_dev_register_physmem(struct gm_dev *dev, phys_addr_t start, u64 size)
{
	struct gm_physmem *pm;
	void *addr;
	int err;

	err = gm_physmem_check(start, size);
	if (err)
		return err;

	pm = kzalloc(sizeof(*pm), GFP_KERNEL);
	if (!pm)
		return -ENOMEM;
	pm->dev = dev;
	pm->base_pfn = PHYS_PFN(start);

	down_write(&dev->mem_rwsem);
	err = dev->dead ? -ENODEV : dev->physmem ? -EEXIST : 0;
	if (err)
		goto err_unlock;

	pm->res = request_mem_region(start, size, dev->name);
	if (!pm->res) {
		err = -EBUSY;
		goto err_unlock;
	}

	err = gm_devmem_alloc_init(&pm->alloc, size >> PAGE_SHIFT);
	if (err)
		goto err_release;

	pm->pgmap.type = MEMORY_DEVICE_COHERENT;
	pm->pgmap.range.start = start;
	pm->pgmap.range.end = start + size - 1;
	pm->pgmap.nr_range = 1;
	pm->pgmap.ops = &gm_coherent_pagemap_ops;
	pm->pgmap.owner = &gm_coherent_owner;
	addr = memremap_pages(&pm->pgmap, NUMA_NO_NODE);
	if (IS_ERR(addr)) {
		err = PTR_ERR(addr);
		goto err_alloc;
	}

	dev->physmem = pm;
	up_write(&dev->mem_rwsem);
	return 0;

err_alloc:
	gm_devmem_alloc_fini(&pm->alloc);
err_release:
	release_mem_region(start, size);
err_unlock:
	up_write(&dev->mem_rwsem);
	kfree(pm);
	return err;
}
EXPORT_SYMBOL_GPL(gm_dev_register_physmem);

/*
 * Called with the memory already unreachable from its device: empty it,
 * then let it go.  memunmap_pages() waits for every page reference, so
 * eviction must have moved every page out first.
 */
void gm_physmem_destroy(struct gm_physmem *pm)
{
	resource_size_t start = pm->pgmap.range.start;
	resource_size_t size = range_len(&pm->pgmap.range);

	gm_devmem_stop(&pm->alloc);
	gm_physmem_evict_all(pm);
	memunmap_pages(&pm->pgmap);
	gm_devmem_alloc_fini(&pm->alloc);
	release_mem_region(start, size);
	kfree(pm);
}
