// SPDX-License-Identifier: GPL-2.0
/*
 * make_device_exclusive(mm, addr, owner, &folio) (v6.15, "mm/rmap: convert
 * make_device_exclusive_range() to make_device_exclusive()"): one page at
 * a time, returned with its folio locked and referenced.  Built only with
 * CONFIG_DEVICE_PRIVATE.
 */
#include <linux/mm.h>
#include <linux/rmap.h>

#ifndef CONFIG_DEVICE_PRIVATE
#error "make_device_exclusive() is not built without CONFIG_DEVICE_PRIVATE"
#endif

struct page *gm_probe_device_exclusive(struct mm_struct *mm,
				       unsigned long addr, void *owner);
struct page *gm_probe_device_exclusive(struct mm_struct *mm,
				       unsigned long addr, void *owner)
{
	struct folio *folio;

	return make_device_exclusive(mm, addr, owner, &folio);
}
