// SPDX-License-Identifier: GPL-2.0
/*
 * The device registry: creation and destruction of struct gm_dev, the ids
 * that name device memory in logical page tables, and device figures.
 */
#include <linux/device.h>
#include <linux/export.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include "gm_internal.h"

/* id -> struct gm_dev, for every device between create and its last put. */
static DEFINE_XARRAY_ALLOC(gm_devs);

static void gm_dev_release(struct device *d)
{
	struct gm_dev *dev = container_of(d, struct gm_dev, dev);

	xa_erase(&gm_devs, dev->id);
	kfree(dev);
}

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
	struct gm_dev *dev;
	int err;

	might_sleep();
	if (!parent || !mmu || !mmu->copy_submit || !name || !*name)
		return ERR_PTR(-EINVAL);
	/* Device page tables come whole, or not at all (pmap_protect optional). */
	if (mmu->pmap_create && (!mmu->pmap_destroy || !mmu->pmap_enter ||
				 !mmu->pmap_release || !mmu->tlb_invl))
		return ERR_PTR(-EINVAL);

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return ERR_PTR(-ENOMEM);
	init_rwsem(&dev->mem_rwsem);
	dev->mmu = mmu;
	dev->drvdata = drvdata;
	err = xa_alloc(&gm_devs, &dev->id, dev,
		       XA_LIMIT(1, GMEM_MAX_DEV_ID), GFP_KERNEL);
	if (err) {
		kfree(dev);
		return ERR_PTR(err == -EBUSY ? -ENOSPC : err);
	}

	/* From here on, the last put_device() frees through gm_dev_release(). */
	device_initialize(&dev->dev);
	dev->dev.parent = parent;
	dev->dev.class = &gm_class;
	dev->dev.release = gm_dev_release;
	set_dev_node(&dev->dev, dev_to_node(parent));
	err = dev_set_name(&dev->dev, "%s", name);
	if (!err)
		err = device_add(&dev->dev);
	if (err) {
		put_device(&dev->dev);
		return ERR_PTR(err);
	}
	return dev;
}
EXPORT_SYMBOL_GPL(gm_dev_create);

void gm_dev_get(struct gm_dev *dev)
{
	get_device(&dev->dev);
}

void gm_dev_put(struct gm_dev *dev)
{
	put_device(&dev->dev);
}

/* For messages and resource names; valid as long as the device is. */
const char *gm_dev_name(const struct gm_dev *dev)
{
	return dev_name(&dev->dev);
}

/**
 * gm_dev_destroy() - take a device out of service
 * @dev: the device
 *
 * Waits for migrations into the device, evicts every page of its memory
 * back to host RAM (copying through the device's engine, so the engine
 * must still work), then releases the memory.  Contexts still attached keep
 * the structure alive, but every later migration into it fails with -ENODEV.
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

	if (pm)
		gm_physmem_destroy(pm);
	device_del(&dev->dev);
	gm_dev_put(dev);
}
EXPORT_SYMBOL_GPL(gm_dev_destroy);

/**
 * gm_dev_drvdata() - the driver's pointer given to gm_dev_create()
 * @dev: the device
 *
 * Return: the pointer.
 */
void *gm_dev_drvdata(const struct gm_dev *dev)
{
	return dev->drvdata;
}
EXPORT_SYMBOL_GPL(gm_dev_drvdata);

/**
 * gm_dev_id() - the device's id, as found in GMEM_LOC_DEV()
 * @dev: the device
 *
 * Return: an id in 1..GMEM_MAX_DEV_ID, unique among live devices.
 */
unsigned int gm_dev_id(const struct gm_dev *dev)
{
	return dev->id;
}
EXPORT_SYMBOL_GPL(gm_dev_id);

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

void gm_devs_exit(void)
{
	WARN_ON(!xa_empty(&gm_devs));
	xa_destroy(&gm_devs);
}
