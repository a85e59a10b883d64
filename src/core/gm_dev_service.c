// SPDX-License-Identifier: GPL-2.0
/*
 * A device in service: bringing it up, its figures, evicting its memory and
 * taking it out of service.  The exported entry points here reach down
 * into every layer (contexts, physical memory, the registry); nothing
 * below calls them.
 */
#include <linux/export.h>
#include <linux/mm.h>
#include "gm_internal.h"

/**
 * gm_dev_create() - register a device with gmem
 * @parent: the driver's device (a PCI function, a platform device); gmem's
 *	device for it appears as /sys/class/gmem/@name, a child of @parent,
 *	and device memory gets @parent's NUMA node
 * @mmu: the driver's callbacks; must outlive the device
 * @name: unique name in the gmem class, for sysfs, messages and /proc/iomem
 * @drvdata: returned by gm_dev_drvdata()
 *
 * Context: process context, may sleep.
 * Return: the device, or ERR_PTR(-EINVAL) for a missing parent, callback or
 * name (copy_submit is required; pmap_create needs every other pmap and TLB
 * callback but pmap_protect), -EEXIST if a gmem device of that name exists,
 * -ENOMEM, or -ENOSPC when GMEM_MAX_DEV_ID devices exist.
 */
struct gm_dev *gm_dev_create(struct device *parent, const struct gm_mmu *mmu,
			     const char *name, void *drvdata)
{
	might_sleep();
	if (!parent || !mmu || !mmu->copy_submit || !name || !*name)
		return ERR_PTR(-EINVAL);
	/* Device page tables come whole, or not at all (pmap_protect optional). */
	if (mmu->pmap_create && (!mmu->pmap_destroy || !mmu->pmap_enter ||
				 !mmu->pmap_release || !mmu->tlb_invl))
		return ERR_PTR(-EINVAL);

	return gm_dev_register(parent, mmu, name, drvdata, gm_dev_attr_groups);
}
EXPORT_SYMBOL_GPL(gm_dev_create);

/**
 * gm_dev_destroy() - take a device out of service
 * @dev: the device
 *
 * Waits for migrations into the device and for device faults in flight,
 * takes down the device side of every context still attached (mappings
 * released, TLB flushed, DMA addresses unmapped, gm_mmu.pmap_destroy
 * called), evicts every page of its memory back to host RAM (copying
 * through the device's engine, so the engine must still work), then
 * releases the memory.  When it returns, gmem calls none of the device's
 * callbacks again and DMA-maps nothing for the driver's struct device: its
 * .remove() may tear the hardware down, even with contexts still attached
 * (an open file during a hot unplug).  Those contexts keep the structure
 * alive until gm_ctx_destroy(); meanwhile migrations into the device,
 * device faults, snapshots and gm_ctx_unmap() on them fail with -ENODEV,
 * while gm_migrate_to_host() and gm_ctx_query(), which concern the
 * process's memory only, go on working.
 *
 * Context: process context, may sleep for as long as pages stay pinned.
 */
void gm_dev_destroy(struct gm_dev *dev)
{
	struct gm_physmem *pm;

	might_sleep();
	down_write(&dev->mem_rwsem);
	dev->dead = true;
	pm = dev->physmem;
	dev->physmem = NULL;
	up_write(&dev->mem_rwsem);

	gm_dev_unplug_ctxs(dev);
	if (pm)
		gm_physmem_destroy(pm);
	gm_dev_unregister(dev);
}
EXPORT_SYMBOL_GPL(gm_dev_destroy);

/**
 * gm_dev_get_stats() - read a device's figures
 * @dev: the device
 * @stats: filled in
 *
 * Context: process context, may sleep (it settles pending page frees so
 * that free_pages is exact).
 */
void gm_dev_get_stats(struct gm_dev *dev, struct gm_dev_stats *stats)
{
	struct gm_physmem *pm;

	might_sleep();
	memset(stats, 0, sizeof(*stats));
	down_read(&dev->mem_rwsem);
	pm = dev->physmem;
	if (pm) {
		stats->total_pages = pm->alloc.total_pages;
		stats->free_pages = gm_devmem_free_pages(&pm->alloc);
		stats->used_pages = atomic_long_read(&pm->alloc.used_pages);
	}
	up_read(&dev->mem_rwsem);

	stats->to_dev_pages = atomic64_read(&dev->to_dev_pages);
	stats->to_host_pages = atomic64_read(&dev->to_host_pages);
	stats->evicted_pages = atomic64_read(&dev->evicted_pages);
	stats->copy_batches = atomic64_read(&dev->copy_batches);
	stats->copy_errors = atomic64_read(&dev->copy_errors);
}
EXPORT_SYMBOL_GPL(gm_dev_get_stats);

/**
 * gm_dev_evict() - move the pages a device's memory holds to host RAM
 * @dev: the device
 *
 * Evicts by physical range, whoever the pages belong to, through the
 * device's copy engine; the memory stays registered and migrations may
 * use it again right away.  Pages that are busy (being migrated, or
 * pinned) stay.
 *
 * Context: process context, may sleep; do not hold an mmap lock.
 * Return: the number of pages evicted, or -ENODEV if @dev has no memory.
 */
long gm_dev_evict(struct gm_dev *dev)
{
	long ret = -ENODEV;

	might_sleep();
	down_read(&dev->mem_rwsem);
	if (dev->physmem && !dev->dead)
		ret = gm_physmem_evict_once(dev->physmem);
	up_read(&dev->mem_rwsem);
	return ret;
}
EXPORT_SYMBOL_GPL(gm_dev_evict);
