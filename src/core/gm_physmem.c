// SPDX-License-Identifier: GPL-2.0
/*
 * Device memory as ZONE_DEVICE pages, whose frees come back to gmem's
 * allocator:
 * - coherent memory (MEMORY_DEVICE_COHERENT): a physical range the CPU can
 *   access; its pages replace anonymous pages and stay mapped for the CPU;
 * - private memory (MEMORY_DEVICE_PRIVATE): memory the CPU cannot access,
 *   represented by struct pages over a free physical range nobody uses; a
 *   CPU access faults and gm_private_migrate_to_ram() brings the page back.
 */
#include <linux/export.h>
#include <linux/ioport.h>
#include <linux/memremap.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include "gm_internal.h"

/*
 * memory hotplug works in subsections: a range that is not 2 MiB aligned
 * makes memremap_pages() warn and fail, so refuse it here with an errno.
 */
#define GM_PHYSMEM_ALIGN	SZ_2M

int gm_pgmap_owner;

GM_DEFINE_PAGEMAP_FREE(gm_physmem_page_free, gm_devmem_page_free)

static const struct dev_pagemap_ops gm_coherent_pagemap_ops = {
	GM_PAGEMAP_FREE(gm_physmem_page_free),
};

static const struct dev_pagemap_ops gm_private_pagemap_ops = {
	GM_PAGEMAP_FREE(gm_physmem_page_free),
	GM_PAGEMAP_FOLIO_SPLIT
	.migrate_to_ram = gm_private_migrate_to_ram,
};

static int gm_physmem_check(enum gm_mem_type type, phys_addr_t start,
			    u64 size)
{
	if (!size || !IS_ALIGNED(start, GM_PHYSMEM_ALIGN) ||
	    !IS_ALIGNED(size, GM_PHYSMEM_ALIGN))
		return -EINVAL;
	if (type == GM_MEM_PRIVATE) {
		if (start)
			return -EINVAL;
		return gm_have_device_private() ? 0 : -EOPNOTSUPP;
	}
	if (type != GM_MEM_COHERENT)
		return -EINVAL;
	if (start + size < start || start + size - 1 > PHYS_ADDR_MAX)
		return -EOVERFLOW;
	/* Pages that are already System RAM cannot become device memory. */
	if (region_intersects(start, size, IORESOURCE_SYSTEM_RAM,
			      IORES_DESC_NONE) != REGION_DISJOINT)
		return -EBUSY;
	return 0;
}

/* Claim the physical range of the memory in /proc/iomem. */
static int gm_physmem_claim(struct gm_physmem *pm, enum gm_mem_type type,
			    phys_addr_t start, u64 size)
{
	const char *name = gm_dev_name(pm->dev);

	if (type == GM_MEM_PRIVATE) {
		/* Nobody's range: struct pages need a pfn range of their own. */
		pm->res = gm_request_free_mem_region(size, name);
		if (IS_ERR(pm->res))
			return PTR_ERR(pm->res);
	} else {
		pm->res = request_mem_region(start, size, name);
		if (!pm->res)
			return -EBUSY;
	}
	pm->base_pfn = PHYS_PFN(pm->res->start);
	return 0;
}

/**
 * gm_dev_register_physmem() - give gmem a device's memory
 * @dev: the device
 * @type: GM_MEM_COHERENT or GM_MEM_PRIVATE
 * @start: for coherent memory, its physical address, 2 MiB aligned;
 *	0 for private memory
 * @size: its size in bytes, a non-zero multiple of 2 MiB
 *
 * Coherent memory must be CPU-addressable and cache-coherent with the CPU
 * (CXL type 2/3 memory, an APU carve-out, a PCI BAR the platform maps
 * write-back, or RAM the kernel was told not to use with memmap=).  It is
 * claimed in /proc/iomem under the device's name (inside a BAR's resource:
 * the driver must not request or map that BAR range itself) and becomes
 * MEMORY_DEVICE_COHERENT pages.
 *
 * Private memory is memory the CPU cannot reach (VRAM behind a small BAR).
 * gmem represents it by MEMORY_DEVICE_PRIVATE pages over a free physical
 * range it picks; a CPU access to such a page migrates it back to host RAM
 * through the device's copy engine.  Needs a kernel built with
 * CONFIG_DEVICE_PRIVATE.
 *
 * Either way gmem hands the pages out to migrations, and the driver finds a
 * page's place in its memory with gm_dev_page_offset().  One range per
 * device.
 *
 * Context: process context, may sleep.
 * Return: 0, or -EINVAL (unaligned or empty range, unknown @type, @start
 * given for private memory), -EOVERFLOW (range wraps), -EBUSY (range is
 * System RAM or claimed by another driver), -EOPNOTSUPP (private memory on
 * a kernel without CONFIG_DEVICE_PRIVATE), -EEXIST (the device already has
 * memory), -ENODEV (device destroyed), -ENOMEM, or the error of
 * memremap_pages().
 */
int gm_dev_register_physmem(struct gm_dev *dev, enum gm_mem_type type,
			    phys_addr_t start, u64 size)
{
	struct gm_physmem *pm;
	void *addr;
	int err;

	might_sleep();
	err = gm_physmem_check(type, start, size);
	if (err)
		return err;

	pm = kzalloc(sizeof(*pm), GFP_KERNEL);
	if (!pm)
		return -ENOMEM;
	pm->dev = dev;

	down_write(&dev->mem_rwsem);
	err = dev->dead ? -ENODEV : dev->physmem ? -EEXIST : 0;
	if (err)
		goto err_unlock;

	err = gm_physmem_claim(pm, type, start, size);
	if (err)
		goto err_unlock;

	err = gm_devmem_alloc_init(&pm->alloc, size >> PAGE_SHIFT);
	if (err)
		goto err_release;

	if (type == GM_MEM_PRIVATE) {
		pm->pgmap.type = MEMORY_DEVICE_PRIVATE;
		pm->pgmap.ops = &gm_private_pagemap_ops;
	} else {
		pm->pgmap.type = MEMORY_DEVICE_COHERENT;
		pm->pgmap.ops = &gm_coherent_pagemap_ops;
	}
	pm->pgmap.range.start = pm->res->start;
	pm->pgmap.range.end = pm->res->start + size - 1;
	pm->pgmap.nr_range = 1;
	pm->pgmap.owner = &gm_pgmap_owner;
	addr = memremap_pages(&pm->pgmap, dev_to_node(&dev->dev));
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
	release_mem_region(pm->res->start, size);
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

/**
 * gm_dev_page_offset() - where a page of device memory sits in it
 * @dev: the device owning @page
 * @page: a page of @dev's registered memory, as found in a gm_copy_req
 *
 * Return: the byte offset of @page from the start of the memory given to
 * gm_dev_register_physmem().
 */
u64 gm_dev_page_offset(const struct gm_dev *dev, const struct page *page)
{
	const struct gm_physmem *pm;

	pm = container_of(gm_page_pgmap(page), struct gm_physmem, pgmap);
	return (u64)(page_to_pfn(page) - pm->base_pfn) << PAGE_SHIFT;
}
EXPORT_SYMBOL_GPL(gm_dev_page_offset);

/**
 * gm_page_dev() - the gmem device whose memory holds a page
 * @page: any page
 *
 * Return: the device, or NULL for host RAM and for other drivers' device
 * memory.  Valid while the page is, i.e. as long as the caller holds it.
 */
struct gm_dev *gm_page_dev(const struct page *page)
{
	if (!is_zone_device_page(page) ||
	    gm_page_pgmap(page)->owner != &gm_pgmap_owner)
		return NULL;
	return container_of(gm_page_pgmap(page), struct gm_physmem, pgmap)->dev;
}
EXPORT_SYMBOL_GPL(gm_page_dev);

/**
 * gm_dev_private_supported() - can this kernel take private device memory?
 *
 * Return: true if gm_dev_register_physmem() accepts GM_MEM_PRIVATE, i.e.
 * the kernel was built with CONFIG_DEVICE_PRIVATE.
 */
bool gm_dev_private_supported(void)
{
	return gm_have_device_private();
}
EXPORT_SYMBOL_GPL(gm_dev_private_supported);

/**
 * gm_dev_huge_supported() - does private device memory hold huge pages?
 *
 * Where the kernel migrates a transparent huge page as one folio (Linux
 * 7.x), gmem moves a PMD-aligned 2 MiB range into private device memory
 * as one huge page when its memory has a free aligned 2 MiB, and the CPU
 * maps it with one PMD; gm_mmu.pmap_enter then gets it as one 2 MiB entry.
 *
 * Return: true if private device memory can hold huge pages.
 */
bool gm_dev_huge_supported(void)
{
	return gm_have_device_huge();
}
EXPORT_SYMBOL_GPL(gm_dev_huge_supported);

/**
 * gm_physmem_huge_dest() - copy a device huge page out into a host one
 * @folio: a free host folio of HPAGE_PMD_ORDER; this call locks it
 * @src: the migrate pfn of the device huge page
 * @dst: set to the migrate pfn of @folio, as one compound destination
 * @spages: filled with the HPAGE_PMD_NR pages of the device huge page
 * @dpages: filled with those of @folio, for one copy request
 *
 * The one way a device huge page leaves device memory whole: a migration
 * back to host RAM, a CPU fault on its PMD and eviction all use it.
 */
void gm_physmem_huge_dest(struct folio *folio, unsigned long src,
			  unsigned long *dst, struct page **spages,
			  struct page **dpages)
{
	unsigned long spfn = page_to_pfn(migrate_pfn_to_page(src)), k;

	folio_lock(folio);
	for (k = 0; k < HPAGE_PMD_NR; k++) {
		spages[k] = pfn_to_page(spfn + k);
		dpages[k] = folio_page(folio, k);
	}
	*dst = migrate_pfn(folio_pfn(folio)) | GM_MIGRATE_PFN_COMPOUND |
	       (src & MIGRATE_PFN_WRITE);
}
