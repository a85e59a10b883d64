// SPDX-License-Identifier: GPL-2.0
/*
 * alloc_pages_bulk_array() was folded into alloc_pages_bulk(gfp, nr, array)
 * in v6.14, when the page_list variant was dropped.
 */
#include <linux/gfp.h>

unsigned long gm_probe_alloc_pages_bulk_array(struct page **pages);
unsigned long gm_probe_alloc_pages_bulk_array(struct page **pages)
{
	return alloc_pages_bulk_array(GFP_KERNEL, 1, pages);
}
