// SPDX-License-Identifier: GPL-2.0
/*
 * folio_maybe_mapped_shared() (v6.15, "mm: CONFIG_NO_PAGE_MAPCOUNT"
 * series) replaced folio_likely_mapped_shared(), exact for large folios
 * where the kernel tracks the mm that maps them.
 */
#include <linux/mm.h>

bool gm_probe_folio_maybe_mapped_shared(struct folio *folio);
bool gm_probe_folio_maybe_mapped_shared(struct folio *folio)
{
	return folio_maybe_mapped_shared(folio);
}
