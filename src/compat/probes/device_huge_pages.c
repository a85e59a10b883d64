// SPDX-License-Identifier: GPL-2.0
/*
 * Device-private huge pages: migrate_vma moves a PMD-mapped THP (or an
 * empty PMD range) as one folio with MIGRATE_VMA_SELECT_COMPOUND into a
 * device folio of PMD order, which the pagemap's folio_split splits again
 * (v6.19, "mm/migrate_device: implement THP migration of zone device
 * pages"); zone_device_folio_init() takes the pagemap from v7.0.
 */
#include <linux/memremap.h>
#include <linux/migrate.h>

#ifndef CONFIG_DEVICE_PRIVATE
#error "device-private huge pages need CONFIG_DEVICE_PRIVATE"
#endif

void gm_probe_device_huge(struct folio *folio, struct dev_pagemap *pgmap,
			  unsigned long *flags);
void gm_probe_device_huge(struct folio *folio, struct dev_pagemap *pgmap,
			  unsigned long *flags)
{
	zone_device_folio_init(folio, pgmap, HPAGE_PMD_ORDER);
	*flags = MIGRATE_VMA_SELECT_COMPOUND | MIGRATE_PFN_COMPOUND;
}

static void gm_probe_split(struct folio *head, struct folio *tail)
{
}

const struct dev_pagemap_ops gm_probe_device_huge_ops;
const struct dev_pagemap_ops gm_probe_device_huge_ops = {
	.folio_split = gm_probe_split,
};
