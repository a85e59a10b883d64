// SPDX-License-Identifier: GPL-2.0
/*
 * Eviction: move every page of a device's memory back to host RAM, by
 * physical range rather than by address space, so that pages of processes
 * that never attached (fork children) or whose files are closed go too.
 * Used before the memory is released; nothing may be lost.
 */
#include <linux/delay.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include "gm_internal.h"

/**
 * struct gm_evict_batch - pfn arrays and copy lists of one eviction step
 * @src: migrate_device_range() source pfns
 * @dst: destination pfns
 * @spages: dense list of device pages to copy out
 * @dpages: dense list of host pages receiving them
 * @req: the copy request
 */
struct gm_evict_batch {
	unsigned long src[GM_BATCH_PAGES];
	unsigned long dst[GM_BATCH_PAGES];
	struct page *spages[GM_BATCH_PAGES];
	struct page *dpages[GM_BATCH_PAGES];
	struct gm_copy req;
};

/*
 * A host page for the device page at @src, as many pages as it has: a
 * device huge page must move whole, since nothing can split it without a
 * VMA.  Stores the pages in @spages/@dpages and returns their number, 0 if
 * host memory is short (the page stays for the next sweep).
 */
static unsigned long gm_evict_dest(unsigned long *src, unsigned long *dst,
				   struct page **spages, struct page **dpages)
{
	struct folio *folio;
	struct page *page;

	if (*src & GM_MIGRATE_PFN_COMPOUND) {
		folio = gm_host_huge_alloc(NULL, 0);
		if (!folio)
			return 0;
		gm_physmem_huge_dest(folio, *src, dst, spages, dpages);
		return HPAGE_PMD_NR;
	}
	page = gm_host_page_alloc(NULL, 0);
	if (!page)
		return 0;
	*dst = migrate_pfn(page_to_pfn(page));
	spages[0] = migrate_pfn_to_page(*src);
	dpages[0] = page;
	return 1;
}

/*
 * Evict the in-use pages among @npages pfns from @pfn.  Pages that cannot
 * be locked, unmapped or copied now stay; the caller retries.
 */
static void gm_evict_range(struct gm_physmem *pm, struct gm_evict_batch *b,
			   unsigned long pfn, unsigned long npages)
{
	struct gm_dev *dev = pm->dev;
	unsigned long i, n = 0, evicted = 0;
	int err;

	err = migrate_device_range(b->src, pfn, npages);
	if (err)
		return;

	memset(b->dst, 0, npages * sizeof(*b->dst));
	for (i = 0; i < npages; i++)
		if (b->src[i] & MIGRATE_PFN_MIGRATE)
			n += gm_evict_dest(&b->src[i], &b->dst[i], &b->spages[n],
					   &b->dpages[n]);

	if (n) {
		err = gm_copy_submit(dev, &b->req, GM_COPY_TO_HOST, b->spages,
				     b->dpages, n);
		if (!err)
			err = gm_copy_wait(dev, &b->req);
		if (err) {
			for (i = 0; i < npages; i++) {
				struct page *dpage = migrate_pfn_to_page(b->dst[i]);

				if (dpage)
					gm_host_page_free(dpage);
				b->dst[i] = 0;
			}
		}
	}

	migrate_device_pages(b->src, b->dst, npages);
	for (i = 0; i < npages; i++)
		if (b->dst[i] && (b->src[i] & MIGRATE_PFN_MIGRATE))
			evicted += b->dst[i] & GM_MIGRATE_PFN_COMPOUND ?
				   HPAGE_PMD_NR : 1;
	migrate_device_finalize(b->src, b->dst, npages);
	atomic64_add(evicted, &dev->evicted_pages);
}

/* One sweep over the whole range; returns the pages evicted. */
static unsigned long gm_physmem_sweep(struct gm_physmem *pm,
				      struct gm_evict_batch *b)
{
	unsigned long total = pm->alloc.total_pages, pfn;
	u64 before = atomic64_read(&pm->dev->evicted_pages);

	for (pfn = 0; pfn < total; pfn += GM_BATCH_PAGES)
		gm_evict_range(pm, b, pm->base_pfn + pfn,
			       min_t(unsigned long, GM_BATCH_PAGES,
				     total - pfn));
	return atomic64_read(&pm->dev->evicted_pages) - before;
}

/**
 * gm_physmem_evict_all() - empty a device's memory into host RAM
 * @pm: the memory, whose allocator was stopped
 *
 * Sweeps the whole range until no page is in use.  A page can be busy for
 * a while (locked by a migration finishing, or pinned by direct I/O), so
 * the sweep repeats with a short sleep, and says so if it takes long.
 */
void gm_physmem_evict_all(struct gm_physmem *pm)
{
	unsigned long sweeps = 0;
	struct gm_evict_batch *b;

	b = kvzalloc(sizeof(*b), GFP_KERNEL | __GFP_NOFAIL);
	while (atomic_long_read(&pm->alloc.used_pages)) {
		gm_physmem_sweep(pm, b);
		if (!atomic_long_read(&pm->alloc.used_pages))
			break;
		if (++sweeps % 1000 == 0)
			dev_warn(&pm->dev->dev, "%ld device pages still busy after %lu sweeps\n",
				 atomic_long_read(&pm->alloc.used_pages), sweeps);
		msleep(20);
	}
	kvfree(b);
}

/**
 * gm_physmem_evict_once() - move what a device's memory holds to host RAM
 * @pm: the memory, still in service
 *
 * One sweep: busy pages, and pages that migrations bring in meanwhile,
 * stay.
 *
 * Return: the number of pages evicted.
 */
unsigned long gm_physmem_evict_once(struct gm_physmem *pm)
{
	struct gm_evict_batch *b = kvzalloc(sizeof(*b), GM_GFP_MAY_FAIL);
	unsigned long n;

	if (!b)
		return 0;
	n = gm_physmem_sweep(pm, b);
	kvfree(b);
	return n;
}
