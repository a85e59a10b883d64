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
	struct gm_copy_req req;
};

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

	for (i = 0; i < npages; i++) {
		struct page *dpage;

		b->dst[i] = 0;
		if (!(b->src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		dpage = alloc_page(GFP_HIGHUSER_MOVABLE);
		if (!dpage)
			continue;
		lock_page(dpage);
		b->spages[n] = migrate_pfn_to_page(b->src[i]);
		b->dpages[n++] = dpage;
		b->dst[i] = migrate_pfn(page_to_pfn(dpage));
	}

	if (n) {
		b->req.dir = GM_COPY_TO_HOST;
		b->req.npages = n;
		b->req.src = b->spages;
		b->req.dst = b->dpages;
		err = gm_copy_submit(dev, &b->req);
		if (!err)
			err = gm_copy_wait(dev, &b->req);
		if (err) {
			for (i = 0; i < npages; i++)
				b->dst[i] = 0;
			for (i = 0; i < n; i++) {
				unlock_page(b->dpages[i]);
				put_page(b->dpages[i]);
			}
		}
	}

	migrate_device_pages(b->src, b->dst, npages);
	for (i = 0; i < npages; i++)
		if (b->dst[i] && (b->src[i] & MIGRATE_PFN_MIGRATE))
			evicted++;
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
			pr_warn("gmem: %s: %ld device pages still busy after %lu sweeps\n",
				pm->dev->name,
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
