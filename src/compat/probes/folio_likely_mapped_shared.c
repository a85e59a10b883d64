// SPDX-License-Identifier: GPL-2.0
/*
 * folio_likely_mapped_shared() estimates whether a folio is mapped into
 * more than one mm: v6.9 renamed folio_estimated_sharers() to it, v6.15
 * renamed it to folio_maybe_mapped_shared().
 */
#include <linux/mm.h>

bool gm_probe_folio_likely_mapped_shared(struct folio *folio);
bool gm_probe_folio_likely_mapped_shared(struct folio *folio)
{
	return folio_likely_mapped_shared(folio);
}
