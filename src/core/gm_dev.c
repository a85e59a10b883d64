// SPDX-License-Identifier: GPL-2.0
/*
 * The device registry: struct gm_dev, its place in the gmem class, the ids
 * that name device memory in logical page tables, and its refcount.  Every
 * layer uses it; it calls none of them (gm_dev_service.c brings devices in
 * and out of service).
 */
#include <linux/device.h>
#include <linux/export.h>
#include <linux/slab.h>
#include "gm_internal.h"

/* id -> struct gm_dev, for every device between create and its last put. */
static DEFINE_XARRAY_ALLOC(gm_devs);

/* /sys/class/gmem/<name>/ for every gm_dev. */
static struct class gm_class = {
	.name = "gmem",
};

static void gm_dev_release(struct device *d)
{
	struct gm_dev *dev = container_of(d, struct gm_dev, dev);

	xa_erase(&gm_devs, dev->id);
	kfree(dev);
}

/**
 * gm_dev_register() - allocate a device, give it an id and add it to sysfs
 * @parent: the driver's device; gmem's is its child and takes its NUMA node
 * @mmu: the driver's callbacks
 * @name: unique name in the gmem class
 * @drvdata: the driver's pointer
 * @groups: the sysfs attributes of the device
 *
 * Return: the device, with a reference for the caller, or an ERR_PTR()
 * (-EEXIST for a name in use, -ENOSPC when GMEM_MAX_DEV_ID devices exist,
 * -ENOMEM).
 */
struct gm_dev *gm_dev_register(struct device *parent, const struct gm_mmu *mmu,
			       const char *name, void *drvdata,
			       const struct attribute_group **groups)
{
	struct gm_dev *dev;
	int err;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return ERR_PTR(-ENOMEM);
	init_rwsem(&dev->mem_rwsem);
	mutex_init(&dev->ctx_lock);
	INIT_LIST_HEAD(&dev->ctxs);
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
	dev->dev.groups = groups;
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

/*
 * Take the device out of sysfs and drop the reference of
 * gm_dev_register(); attached contexts keep the structure.  Its parent may
 * go right after: nothing may DMA-map for it any more.
 */
void gm_dev_unregister(struct gm_dev *dev)
{
	device_del(&dev->dev);
	gm_dev_put(dev);
}

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

int gm_devs_init(void)
{
	return class_register(&gm_class);
}

void gm_devs_exit(void)
{
	WARN_ON(!xa_empty(&gm_devs));
	xa_destroy(&gm_devs);
	class_unregister(&gm_class);
}
