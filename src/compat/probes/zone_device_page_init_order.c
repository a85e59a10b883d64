// SPDX-License-Identifier: GPL-2.0
/*
 * zone_device_page_init(page, order) (v6.19, "mm/zone_device: support
 * large zone device private folios"), between the one-argument form and
 * the one that also takes the pagemap (v7.0).
 */
#include <linux/memremap.h>

void gm_probe_zone_device_page_init_order(struct page *page);
void gm_probe_zone_device_page_init_order(struct page *page)
{
	zone_device_page_init(page, 0);
}
