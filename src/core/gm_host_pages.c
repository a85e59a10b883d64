// SPDX-License-Identifier: GPL-2.0
/*
 * Host pages that device pages move into.
 *
 * Every host page gmem allocates comes from here: for a migration back to
 * host RAM (in bulk, through the stock of gm_host_stock.c), for a CPU fault
 * on a device-private page and for eviction.  So they share one set of GFP
 * flags and one rule for placement: where the page's VMA is known, its
 * memory policy decides the node, as it would for the CPU's own fault;
 * eviction, which works by physical range and knows no VMA, takes the local
 * node of the allocating task, and the bulk stock the node the migrating
 * task ran on when the migration started (where the default policy would
 * put the CPU's own fault), whichever CPU fills it.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include "gm_internal.h"

/*
 * Movable user memory, as the CPU's own fault would allocate.  A failure is
 * handled (the page stays where it is), so it need not warn; order 0 still
 * reclaims and, as for any user fault, may call the OOM killer.
 */
#define GM_HOST_GFP		GFP_HIGHUSER_MOVABLE
#define GM_HOST_HUGE_GFP	(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN)

/**
 * gm_host_page_alloc() - a host page for one device page
 * @vma: the VMA the page will be mapped in, or NULL where none is known
 * @addr: the page's address in @vma
 *
 * Return: a locked page, ready to be a migrate destination, or NULL.
 */
struct page *gm_host_page_alloc(struct vm_area_struct *vma,
				unsigned long addr)
{
	struct page *page = vma ? alloc_page_vma(GM_HOST_GFP, vma, addr) :
				  alloc_page(GM_HOST_GFP);

	if (page)
		lock_page(page);
	return page;
}

/**
 * gm_host_page_free() - give back a page gm_host_page_alloc() returned
 * @page: the page, still locked and never mapped
 */
void gm_host_page_free(struct page *page)
{
	unlock_page(page);
	put_page(page);
}

/**
 * gm_host_huge_alloc() - a host huge page for one device huge page
 * @vma: the VMA the page will be mapped in, or NULL where none is known
 * @addr: the PMD-aligned address of the page in @vma
 *
 * Only where device huge pages exist (gm_have_device_huge()); the folio
 * is returned unlocked, for gm_physmem_huge_dest().
 *
 * Return: a folio of HPAGE_PMD_ORDER, or NULL (the caller falls back to
 * small pages, or leaves the page where it is).
 */
struct folio *gm_host_huge_alloc(struct vm_area_struct *vma,
				 unsigned long addr)
{
	if (!gm_have_device_huge())
		return NULL;
	if (vma)
		return gm_vma_alloc_huge_folio(GM_HOST_HUGE_GFP, vma, addr);
	return folio_alloc(GM_HOST_HUGE_GFP, HPAGE_PMD_ORDER);
}

/**
 * gm_host_pages_bulk() - fill the NULL slots of @pages with host pages
 * @nid: the node to allocate on
 * @pages: the array; slots already holding a page are kept
 * @n: its length
 *
 * For the stock of migrations back, which locks each page as it uses it.
 *
 * Return: the number of pages in @pages now, @n unless memory is short.
 */
unsigned long gm_host_pages_bulk(int nid, struct page **pages, unsigned long n)
{
	return gm_alloc_pages_bulk_node(GM_HOST_GFP, nid, n, pages);
}
