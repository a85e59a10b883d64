// SPDX-License-Identifier: GPL-2.0
/*
 * page_pgmap() (v6.15, "mm: allow compound zone device pages") replaced
 * page->pgmap: the pagemap moved into the folio.
 */
#include <linux/mm.h>
#include <linux/memremap.h>

struct dev_pagemap *gm_probe_page_pgmap(struct page *page);
struct dev_pagemap *gm_probe_page_pgmap(struct page *page)
{
	return page_pgmap(page);
}
