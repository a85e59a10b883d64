// SPDX-License-Identifier: GPL-2.0
/*
 * dev_pagemap_ops.folio_free(folio) (v6.19, "mm/zone_device: rename
 * page_free callback to folio_free") replaced page_free(page), and
 * memremap_pages() refuses a pagemap without it.
 */
#include <linux/memremap.h>

static void gm_probe_free(struct folio *folio)
{
}

const struct dev_pagemap_ops gm_probe_pagemap_folio_free_ops;
const struct dev_pagemap_ops gm_probe_pagemap_folio_free_ops = {
	.folio_free = gm_probe_free,
};
