// SPDX-License-Identifier: GPL-2.0
/*
 * alloc_pages_bulk_array_node() became alloc_pages_bulk_node() in v6.14,
 * when the page_list variant of the bulk allocator was dropped and the
 * array variants took the plain names.
 */
#include <linux/gfp.h>

unsigned long gm_probe_alloc_pages_bulk_array(struct page **pages);
unsigned long gm_probe_alloc_pages_bulk_array(struct page **pages)
{
	return alloc_pages_bulk_array_node(GFP_KERNEL, NUMA_NO_NODE, 1, pages);
}
