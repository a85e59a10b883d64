// SPDX-License-Identifier: GPL-2.0
/*
 * The attributes of /sys/class/gmem/<name>/: a device's memory and figures,
 * read-only.  The ABI is described in docs/ABI/testing/sysfs-class-gmem.
 */
#include <linux/device.h>
#include <linux/stddef.h>
#include <linux/sysfs.h>
#include "gm_internal.h"

static struct gm_dev *gm_dev_from_device(struct device *d)
{
	return container_of(d, struct gm_dev, dev);
}

static ssize_t id_show(struct device *d, struct device_attribute *attr,
		       char *buf)
{
	return sysfs_emit(buf, "%u\n", gm_dev_from_device(d)->id);
}
static DEVICE_ATTR_RO(id);

static ssize_t mem_type_show(struct device *d, struct device_attribute *attr,
			     char *buf)
{
	struct gm_dev *dev = gm_dev_from_device(d);
	const char *type = "none";

	down_read(&dev->mem_rwsem);
	if (dev->physmem)
		type = dev->physmem->pgmap.type == MEMORY_DEVICE_COHERENT ?
		       "coherent" : "private";
	up_read(&dev->mem_rwsem);
	return sysfs_emit(buf, "%s\n", type);
}
static DEVICE_ATTR_RO(mem_type);

/* The counters: one attribute per field of struct gm_dev_stats. */
static ssize_t gm_stat_show(struct device *d, struct device_attribute *attr,
			    char *buf)
{
	struct dev_ext_attribute *ea =
		container_of(attr, struct dev_ext_attribute, attr);
	struct gm_dev_stats st;

	gm_dev_get_stats(gm_dev_from_device(d), &st);
	return sysfs_emit(buf, "%llu\n",
			  *(u64 *)((char *)&st + (uintptr_t)ea->var));
}

#define GM_STAT_OFFSET(field)	((void *)offsetof(struct gm_dev_stats, field))

static struct dev_ext_attribute gm_stat_attrs[] = {
	{ __ATTR(total_pages, 0444, gm_stat_show, NULL), GM_STAT_OFFSET(total_pages) },
	{ __ATTR(free_pages, 0444, gm_stat_show, NULL), GM_STAT_OFFSET(free_pages) },
	{ __ATTR(used_pages, 0444, gm_stat_show, NULL), GM_STAT_OFFSET(used_pages) },
	{ __ATTR(to_dev_pages, 0444, gm_stat_show, NULL), GM_STAT_OFFSET(to_dev_pages) },
	{ __ATTR(to_host_pages, 0444, gm_stat_show, NULL), GM_STAT_OFFSET(to_host_pages) },
	{ __ATTR(evicted_pages, 0444, gm_stat_show, NULL), GM_STAT_OFFSET(evicted_pages) },
	{ __ATTR(copy_batches, 0444, gm_stat_show, NULL), GM_STAT_OFFSET(copy_batches) },
	{ __ATTR(copy_errors, 0444, gm_stat_show, NULL), GM_STAT_OFFSET(copy_errors) },
};

static struct attribute *gm_dev_attrs[] = {
	&dev_attr_id.attr,
	&dev_attr_mem_type.attr,
	&gm_stat_attrs[0].attr.attr,
	&gm_stat_attrs[1].attr.attr,
	&gm_stat_attrs[2].attr.attr,
	&gm_stat_attrs[3].attr.attr,
	&gm_stat_attrs[4].attr.attr,
	&gm_stat_attrs[5].attr.attr,
	&gm_stat_attrs[6].attr.attr,
	&gm_stat_attrs[7].attr.attr,
	NULL,
};

/* A counter added to struct gm_dev_stats gets its attribute. */
static_assert(sizeof(struct gm_dev_stats) ==
	      ARRAY_SIZE(gm_stat_attrs) * sizeof(u64));

static const struct attribute_group gm_dev_attr_group = {
	.attrs = gm_dev_attrs,
};

const struct attribute_group *gm_dev_attr_groups[] = {
	&gm_dev_attr_group,
	NULL,
};
