// SPDX-License-Identifier: GPL-2.0
/*
 * make_device_exclusive_range() (v5.14 to v6.14; v6.15 replaced it with the
 * single-page make_device_exclusive()) is only built and exported with
 * CONFIG_DEVICE_PRIVATE.
 */
#include <linux/mm.h>
#include <linux/rmap.h>

#ifndef CONFIG_DEVICE_PRIVATE
#error "make_device_exclusive_range() is not exported without CONFIG_DEVICE_PRIVATE"
#endif

int gm_probe_device_exclusive_range(struct mm_struct *mm, unsigned long start,
				    struct page **pages, void *owner);
int gm_probe_device_exclusive_range(struct mm_struct *mm, unsigned long start,
				    struct page **pages, void *owner)
{
	return make_device_exclusive_range(mm, start, start + PAGE_SIZE, pages,
					   owner);
}
