// SPDX-License-Identifier: GPL-2.0
/*
 * zone_device_page_init(page, pgmap, order) (v7.0, "mm/zone_device:
 * reinitialize large zone device private folios"): the pagemap is given,
 * no longer read back from the page, and a device page may be a folio of
 * any order.
 */
#include <linux/memremap.h>

void gm_probe_zone_device_page_init_pgmap(struct page *page,
					  struct dev_pagemap *pgmap);
void gm_probe_zone_device_page_init_pgmap(struct page *page,
					  struct dev_pagemap *pgmap)
{
	zone_device_page_init(page, pgmap, 0);
}
