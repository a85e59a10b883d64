// SPDX-License-Identifier: GPL-2.0
/*
 * The mirror: which pages a context's device has mapped, and the interval
 * notifiers that take them away from the device before the CPU lets them go.
 *
 * A context watches only the memory its device has worked on: one
 * struct gm_notifier per GM_NOTIFIER_SIZE-aligned piece of address space
 * that a device fault or snapshot reached, inserted the first time and kept
 * until the CPU unmaps that piece whole (then a worker removes it) or the
 * context detaches.  So no notifier is inserted or removed per fault, and
 * an invalidation of memory the device never touched reaches no gmem code
 * at all.  Inside a notifier, bitmaps of the pages mapped (and mapped
 * writable) let an invalidation of pages the device did not map cost the
 * device nothing, and let a fault whose pages are all still mapped skip
 * the CPU page table walk.
 *
 * Host memory the device maps is DMA-mapped for its device by gmem, and
 * unmapped only after the device mapping was released and the TLB flushed;
 * the notifier keeps the DMA addresses.  A range the CPU maps with a
 * transparent huge page goes to the device as one 2 MiB entry.
 *
 * The size is that of a huge page and of a fault chunk (GM_BATCH_PAGES):
 * a chunk checks the sequence of exactly one notifier, and 64 bytes of
 * bitmap per 2 MiB keep the pages exact.  The price is one device TLB flush
 * per 2 MiB the device mapped when the CPU unmaps a large range.
 */
#include <linux/bitmap.h>
#include <linux/dma-mapping.h>
#include <linux/export.h>
#include <linux/hmm.h>
#include <linux/slab.h>
#include "gm_internal.h"

static struct gm_notifier *gm_notifier_from_mni(struct mmu_interval_notifier *mni)
{
	return container_of(mni, struct gm_notifier, mni);
}

static unsigned long gm_notifier_end(const struct gm_notifier *n)
{
	return n->start + GM_NOTIFIER_SIZE;
}

static unsigned long gm_notifier_index(const struct gm_notifier *n,
				       unsigned long addr)
{
	return (addr - n->start) >> PAGE_SHIFT;
}

/*
 * gm_fault_exclusive() making pages exclusive for this context: the pages
 * stay where they are and it maps them itself afterwards, so neither its
 * mappings nor its fault in flight are affected.
 */
static bool gm_ctx_own_exclusive(struct gm_ctx *ctx,
				 const struct mmu_notifier_range *range)
{
	return range->event == MMU_NOTIFY_EXCLUSIVE && range->owner == ctx;
}

/* The mapping lock, or false if it is busy and the caller may not sleep. */
static bool gm_ctx_invalidate_lock(struct gm_ctx *ctx,
				   const struct mmu_notifier_range *range)
{
	if (mmu_notifier_range_blockable(range)) {
		mutex_lock(&ctx->pmap_lock);
		return true;
	}
	return mutex_trylock(&ctx->pmap_lock);
}

/* Size of the DMA mapping of an entry of @n. */
static size_t gm_notifier_entry_size(const struct gm_notifier *n)
{
	return n->huge ? GM_NOTIFIER_SIZE : PAGE_SIZE;
}

/*
 * How a device mapping maps host memory for DMA.  Read-only, the device
 * only reads (the zero page, KSM and copy-on-write pages may be mapped
 * many times over).  Writable, both sides access the memory live, as SVM
 * requires of a DMA-coherent device, so no cache maintenance at map or
 * unmap time could mean anything: skip it, which also tells DMA-API
 * debugging that two devices mapping one page is intended.
 */
static enum dma_data_direction gm_notifier_dma_dir(bool write)
{
	return write ? DMA_BIDIRECTIONAL : DMA_TO_DEVICE;
}

#define GM_NOTIFIER_DMA_ATTRS	DMA_ATTR_SKIP_CPU_SYNC

/*
 * Pages [first, last] of @n are no longer mapped in the device, and its TLB
 * was flushed: forget them and unmap their DMA addresses.
 */
static void gm_notifier_forget_locked(struct gm_notifier *n,
				      unsigned long first, unsigned long last)
{
	struct device *dma_dev = gm_dev_dma_device(n->ctx->dev);
	unsigned long i = first, nr = last - first + 1;

	lockdep_assert_held(&n->ctx->pmap_lock);
	for_each_set_bit_from(i, n->dma_mapped, last + 1)
		dma_unmap_page_attrs(dma_dev, n->dma[i],
				     gm_notifier_entry_size(n),
				     gm_notifier_dma_dir(test_bit(i, n->dma_write)),
				     GM_NOTIFIER_DMA_ATTRS);
	bitmap_clear(n->dma_mapped, first, nr);
	bitmap_clear(n->dma_write, first, nr);
	bitmap_clear(n->mapped, first, nr);
	bitmap_clear(n->writable, first, nr);
	if (bitmap_empty(n->mapped, GM_NOTIFIER_PAGES))
		n->huge = false;
}

/*
 * The device's side of an invalidation of pages [first, last] of @n: a
 * write-protect (fork's copy-on-write setup) takes write access away from
 * pages mapped writable; anything else, gmem's own migrations included,
 * moves or drops pages, so the device forgets them, and their DMA
 * mappings go after the TLB flush.  Returns whether the device had to act.
 */
static bool gm_notifier_release_locked(struct gm_notifier *n,
				       const struct mmu_notifier_range *range,
				       unsigned long first, unsigned long last)
{
	struct gm_ctx *ctx = n->ctx;
	const struct gm_mmu *mmu = ctx->dev->mmu;
	bool protect = range && range->event == MMU_NOTIFY_PROTECTION_PAGE &&
		       mmu->pmap_protect;
	unsigned long *bits = protect ? n->writable : n->mapped;
	unsigned long start, end;

	lockdep_assert_held(&ctx->pmap_lock);
	/* Narrow the range to the pages the device has, a huge entry whole. */
	first = find_next_bit(bits, last + 1, first);
	if (first > last)
		return false;
	last = find_last_bit(bits, last + 1);
	if (n->huge) {
		first = 0;
		last = GM_NOTIFIER_PAGES - 1;
	}
	start = n->start + (first << PAGE_SHIFT);
	end = n->start + ((last + 1) << PAGE_SHIFT);

	if (protect) {
		mmu->pmap_protect(ctx->dev, ctx->pmap, start, end, GM_PROT_READ);
		mmu->tlb_invl(ctx->dev, ctx->pmap, start, end);
		bitmap_clear(n->writable, first, last - first + 1);
		return true;
	}
	mmu->pmap_release(ctx->dev, ctx->pmap, start, end);
	mmu->tlb_invl(ctx->dev, ctx->pmap, start, end);
	gm_notifier_forget_locked(n, first, last);
	return true;
}

static bool gm_notifier_invalidate(struct mmu_interval_notifier *mni,
				   const struct mmu_notifier_range *range,
				   unsigned long cur_seq)
{
	struct gm_notifier *n = gm_notifier_from_mni(mni);
	struct gm_ctx *ctx = n->ctx;
	unsigned long start = max(range->start, n->start);
	unsigned long end = min(range->end, gm_notifier_end(n));

	if (gm_ctx_own_exclusive(ctx, range))
		return true;
	if (!gm_ctx_invalidate_lock(ctx, range))
		return false;
	/* Every invalidation bumps the sequence: a fault in flight may be
	 * about to map exactly these pages.
	 */
	mmu_interval_set_seq(mni, cur_seq);
	if (gm_notifier_release_locked(n, range, gm_notifier_index(n, start),
				       gm_notifier_index(n, end) - 1))
		atomic64_inc(&ctx->invalidations);
	if (range->event == MMU_NOTIFY_UNMAP && start == n->start &&
	    end == gm_notifier_end(n)) {
		n->unmapped = true;
		queue_work(gm_system_percpu_wq, &ctx->notifier_gc);
	}
	mutex_unlock(&ctx->pmap_lock);

	if (mmu_notifier_range_blockable(range))
		gm_inject_invalidate_delay();
	return true;
}

static const struct mmu_interval_notifier_ops gm_notifier_ops = {
	.invalidate = gm_notifier_invalidate,
};

/**
 * gm_notifier_get() - the notifier over the piece of address space of @addr
 * @ctx: the context
 * @mm: its address space, with a reference on its users held
 * @addr: an address the device is about to work on
 *
 * Inserts the notifier the first time.  The caller holds
 * gm_ctx.notifier_rwsem for read until it no longer uses the notifier, and
 * not the mmap lock (inserting a notifier may take it).
 *
 * Return: the notifier, or an ERR_PTR() (-ENOMEM).
 */
struct gm_notifier *gm_notifier_get(struct gm_ctx *ctx, struct mm_struct *mm,
				    unsigned long addr)
{
	unsigned long idx = addr >> GM_NOTIFIER_SHIFT;
	struct gm_notifier *n, *old;
	int err;

	lockdep_assert_held_read(&ctx->notifier_rwsem);
	n = xa_load(&ctx->notifiers, idx);
	if (n)
		return n;

	n = kzalloc(sizeof(*n), GM_GFP_MAY_FAIL);
	if (!n)
		return ERR_PTR(-ENOMEM);
	n->ctx = ctx;
	n->start = idx << GM_NOTIFIER_SHIFT;
	err = mmu_interval_notifier_insert(&n->mni, mm, n->start,
					   GM_NOTIFIER_SIZE, &gm_notifier_ops);
	if (err) {
		kfree(n);
		return ERR_PTR(err);
	}
	/* Another fault of this context may have raced us here. */
	old = xa_cmpxchg(&ctx->notifiers, idx, NULL, n, GM_GFP_MAY_FAIL);
	if (old) {
		mmu_interval_notifier_remove(&n->mni);
		kfree(n);
		return xa_is_err(old) ? ERR_PTR(xa_err(old)) : old;
	}
	atomic64_inc(&ctx->notifiers_created);
	atomic_long_inc(&ctx->notifiers_live);
	return n;
}

/**
 * gm_notifier_covers_locked() - are these pages still mapped in the device?
 * @n: the notifier of the pages
 * @start: first address, inside @n
 * @npages: pages, not past the end of @n
 * @write: with write access too?
 *
 * The fast path of a fault: every page of the range is still mapped with
 * the access asked for, so no CPU page table walk is needed.  The caller
 * holds gm_ctx.pmap_lock, under which invalidations clear the bits.
 *
 * Return: true if every page is mapped (writable, if @write).
 */
bool gm_notifier_covers_locked(struct gm_notifier *n, unsigned long start,
			       unsigned long npages, bool write)
{
	unsigned long first = gm_notifier_index(n, start);

	lockdep_assert_held(&n->ctx->pmap_lock);
	if (find_next_zero_bit(n->mapped, first + npages, first) <
	    first + npages)
		return false;
	return !write || find_next_zero_bit(n->writable, first + npages,
					    first) >= first + npages;
}

/**
 * gm_notifier_prepare() - get @n ready to keep DMA addresses
 * @n: the notifier
 *
 * Called before the mapping lock is taken: gm_notifier_enter_locked() may
 * not allocate.  The caller holds gm_ctx.notifier_rwsem for read.
 *
 * Return: 0 or -ENOMEM.
 */
int gm_notifier_prepare(struct gm_notifier *n)
{
	dma_addr_t *dma;

	might_sleep();
	if (READ_ONCE(n->dma))
		return 0;
	dma = kvcalloc(GM_NOTIFIER_PAGES, sizeof(*dma), GM_GFP_MAY_FAIL);
	if (!dma)
		return -ENOMEM;
	mutex_lock(&n->ctx->pmap_lock);
	if (!n->dma)
		swap(n->dma, dma);
	mutex_unlock(&n->ctx->pmap_lock);
	kvfree(dma);
	return 0;
}

/*
 * Can [first, first + npages) of @n go to the device as one 2 MiB entry?
 * The CPU maps it with one huge page (hmm's map order), so the pages are
 * one aligned, contiguous folio with one access right.
 */
static bool gm_notifier_can_map_huge(unsigned long first, unsigned long npages,
				     const unsigned long *pfns, bool atomic)
{
	return !atomic && !first && npages == GM_NOTIFIER_PAGES &&
	       hmm_pfn_to_map_order(pfns[0]) == GM_NOTIFIER_SHIFT - PAGE_SHIFT;
}

/* The access a snapshot entry allows the device. */
static unsigned int gm_notifier_prot(unsigned long pfn, bool atomic)
{
	if (atomic)
		return GM_PROT_READ | GM_PROT_WRITE | GM_PROT_ATOMIC;
	return pfn & HMM_PFN_WRITE ? GM_PROT_READ | GM_PROT_WRITE :
				     GM_PROT_READ;
}

/* The DMA direction for the page of snapshot entry @pfn. */
static enum dma_data_direction gm_notifier_pfn_dir(unsigned long pfn,
						   bool atomic)
{
	return gm_notifier_dma_dir(gm_notifier_prot(pfn, atomic) &
				   GM_PROT_WRITE);
}

/*
 * Release what the device still maps of [first, first + npages) of @n
 * before it maps the range again (a write fault on pages it maps read-only):
 * the old DMA addresses go only after the TLB flush.
 */
static void gm_notifier_replace_locked(struct gm_notifier *n,
				       unsigned long first,
				       unsigned long npages)
{
	gm_notifier_release_locked(n, NULL, first, first + npages - 1);
}

/**
 * gm_notifier_enter_locked() - map a snapshot of pages into the device
 * @n: the notifier of the pages, gm_notifier_prepare()d
 * @start: first address, inside @n
 * @npages: pages, not past the end of @n
 * @pfns: the snapshot: hmm pfns, as hmm_range_fault() fills them
 * @atomic: map with GM_PROT_ATOMIC (pages made exclusive to the device)
 * @addrs: room for @npages entries
 *
 * Turns each page into a struct gm_addr (DMA-mapping host memory for the
 * device), one 2 MiB entry where the CPU maps a huge page, and hands runs
 * of equal access to gm_mmu.pmap_enter.  The caller holds gm_ctx.pmap_lock
 * and checked the snapshot with mmu_interval_read_retry() under it.
 *
 * Return: 0, -ENOMEM if a DMA mapping failed, or the error of
 * gm_mmu.pmap_enter; the pages of a failed run are not mapped.
 */
int gm_notifier_enter_locked(struct gm_notifier *n, unsigned long start,
			     unsigned long npages, const unsigned long *pfns,
			     bool atomic, struct gm_addr *addrs)
{
	struct gm_ctx *ctx = n->ctx;
	struct gm_dev *dev = ctx->dev;
	unsigned long first = gm_notifier_index(n, start);
	unsigned long i, k, nr, run, step;
	bool huge;
	int err = 0;

	lockdep_assert_held(&ctx->pmap_lock);
	if (find_next_bit(n->mapped, first + npages, first) < first + npages)
		gm_notifier_replace_locked(n, first, npages);

	huge = gm_notifier_can_map_huge(first, npages, pfns, atomic);
	step = huge ? GM_NOTIFIER_PAGES : 1;
	nr = npages / step;
	for (k = 0; k < nr && !err; k++)
		err = gm_dev_addr(dev, hmm_pfn_to_page(pfns[k * step]),
				  huge ? GM_NOTIFIER_SHIFT - PAGE_SHIFT : 0,
				  gm_notifier_pfn_dir(pfns[k * step], atomic),
				  GM_NOTIFIER_DMA_ATTRS, &addrs[k]);
	if (err) {
		for (k--; k--; )
			gm_dev_addr_release(dev, &addrs[k],
					    gm_notifier_pfn_dir(pfns[k * step],
								atomic),
					    GM_NOTIFIER_DMA_ATTRS);
		return err;
	}

	/* Runs of entries with the same access, one pmap_enter each. */
	for (k = 0; k < nr; k = run) {
		unsigned int prot = gm_notifier_prot(pfns[k * step], atomic);
		unsigned long va = start + ((k * step) << PAGE_SHIFT);

		for (run = k + 1; run < nr &&
		     gm_notifier_prot(pfns[run * step], atomic) == prot; run++)
			;
		if (!err)
			err = dev->mmu->pmap_enter(dev, ctx->pmap, va, &addrs[k],
						   run - k, prot);
		if (err) {
			/* A run may be half in: take it out before its DMA. */
			dev->mmu->pmap_release(dev, ctx->pmap, va, va +
					       ((run - k) * step << PAGE_SHIFT));
			dev->mmu->tlb_invl(dev, ctx->pmap, va, va +
					   ((run - k) * step << PAGE_SHIFT));
			for (i = k; i < run; i++)
				gm_dev_addr_release(dev, &addrs[i],
						    gm_notifier_dma_dir(prot &
									GM_PROT_WRITE),
						    GM_NOTIFIER_DMA_ATTRS);
			continue;
		}
		n->huge = huge;
		for (i = k; i < run; i++) {
			unsigned long idx = first + i * step;

			if (addrs[i].kind == GM_ADDR_SYSTEM) {
				n->dma[idx] = addrs[i].addr;
				__set_bit(idx, n->dma_mapped);
				__assign_bit(idx, n->dma_write,
					     prot & GM_PROT_WRITE);
			}
		}
		bitmap_set(n->mapped, first + k * step, (run - k) * step);
		if (prot & GM_PROT_WRITE)
			bitmap_set(n->writable, first + k * step,
				   (run - k) * step);
		else
			bitmap_clear(n->writable, first + k * step,
				     (run - k) * step);
		n->unmapped = false;
	}
	return err;
}

/*
 * Remove and free one notifier; nothing may use it any more, and the
 * device maps nothing through it.
 */
static void gm_notifier_free(struct gm_ctx *ctx, struct gm_notifier *n)
{
	mmu_interval_notifier_remove(&n->mni);
	atomic_long_dec(&ctx->notifiers_live);
	kvfree(n->dma);
	kfree(n);
}

/*
 * Remove the notifiers whose range the CPU unmapped whole and no device
 * mapping came back into since.  Faults hold notifier_rwsem for read while
 * they use a notifier, so none is in use here.
 */
static void gm_notifier_gc(struct work_struct *work)
{
	struct gm_ctx *ctx = container_of(work, struct gm_ctx, notifier_gc);
	struct gm_notifier *n;
	unsigned long idx;
	bool dead;

	down_write(&ctx->notifier_rwsem);
	xa_for_each(&ctx->notifiers, idx, n) {
		mutex_lock(&ctx->pmap_lock);
		dead = n->unmapped && bitmap_empty(n->mapped, GM_NOTIFIER_PAGES);
		mutex_unlock(&ctx->pmap_lock);
		if (!dead)
			continue;
		xa_erase(&ctx->notifiers, idx);
		gm_notifier_free(ctx, n);
	}
	up_write(&ctx->notifier_rwsem);
}

/* Does @mmu provide device page tables?  gm_dev_create() checked the set. */
bool gm_mmu_has_pmap(const struct gm_mmu *mmu)
{
	return mmu->pmap_create;
}

/*
 * Give a new context its device page table; the notifiers come with its
 * first faults.
 */
int gm_ctx_map_init(struct gm_ctx *ctx)
{
	const struct gm_mmu *mmu = ctx->dev->mmu;

	mutex_init(&ctx->pmap_lock);
	init_rwsem(&ctx->notifier_rwsem);
	xa_init(&ctx->notifiers);
	INIT_WORK(&ctx->notifier_gc, gm_notifier_gc);
	/*
	 * Reclaim invalidates, and invalidations take the mapping lock: tell
	 * lockdep now, so that an allocation that may reclaim under the lock
	 * is reported the first time it runs, not when reclaim meets it.
	 */
	fs_reclaim_acquire(GFP_KERNEL);
	might_lock(&ctx->pmap_lock);
	fs_reclaim_release(GFP_KERNEL);
	if (!gm_mmu_has_pmap(mmu))
		return 0;
	return mmu->pmap_create(ctx->dev, ctx, &ctx->pmap);
}

/*
 * Take the device's side of @ctx down: release every mapping, flush the
 * TLB, unmap the DMA addresses and destroy the page table.  After this no
 * callback of the device is called for @ctx.  The notifiers stay, with
 * nothing left to release, until gm_ctx_map_fini().
 */
static void gm_ctx_map_teardown(struct gm_ctx *ctx)
{
	const struct gm_mmu *mmu = ctx->dev->mmu;
	bool has_pmap = gm_mmu_has_pmap(mmu);
	struct gm_notifier *n;
	unsigned long idx;

	lockdep_assert_held_write(&ctx->notifier_rwsem);
	if (ctx->unplugged)
		return;
	mutex_lock(&ctx->pmap_lock);
	if (has_pmap) {
		mmu->pmap_release(ctx->dev, ctx->pmap, 0, TASK_SIZE);
		mmu->tlb_invl(ctx->dev, ctx->pmap, 0, TASK_SIZE);
		xa_for_each(&ctx->notifiers, idx, n)
			gm_notifier_forget_locked(n, 0, GM_NOTIFIER_PAGES - 1);
	}
	ctx->unplugged = true;
	mutex_unlock(&ctx->pmap_lock);
	if (has_pmap)
		mmu->pmap_destroy(ctx->dev, ctx->pmap);
	ctx->pmap = NULL;
}

/**
 * gm_ctx_map_unplug() - the device of @ctx goes away before @ctx does
 * @ctx: an attached context
 *
 * Called by gm_dev_destroy(), under gm_dev.ctx_lock, while the driver's
 * struct device still exists: the DMA addresses must go now.  Faults and
 * snapshots in flight finish first (they hold the notifier rwsem); later
 * ones fail with -ENODEV.
 */
void gm_ctx_map_unplug(struct gm_ctx *ctx)
{
	lockdep_assert_held(&ctx->dev->ctx_lock);
	down_write(&ctx->notifier_rwsem);
	gm_ctx_map_teardown(ctx);
	up_write(&ctx->notifier_rwsem);
}

/*
 * Stop mirroring: take the device's side down unless gm_dev_destroy() did,
 * and remove every notifier.  No other call on the context runs any more
 * (gm_ctx_destroy()).
 */
void gm_ctx_map_fini(struct gm_ctx *ctx)
{
	struct gm_notifier *n;
	unsigned long idx;

	lockdep_assert_held(&ctx->dev->ctx_lock);
	down_write(&ctx->notifier_rwsem);
	gm_ctx_map_teardown(ctx);
	xa_for_each(&ctx->notifiers, idx, n) {
		xa_erase(&ctx->notifiers, idx);
		gm_notifier_free(ctx, n);
	}
	up_write(&ctx->notifier_rwsem);
	/* No notifier is left to queue the worker again. */
	cancel_work_sync(&ctx->notifier_gc);
	xa_destroy(&ctx->notifiers);
}

/*
 * The device released [start, end) and flushed its TLB for it: forget the
 * pages and unmap their DMA addresses.  A 2 MiB entry the range cuts went
 * whole (gm_mmu.pmap_release), but only the range was flushed: flush the
 * rest of the entry first.
 */
static void gm_ctx_forget_locked(struct gm_ctx *ctx, unsigned long start,
				 unsigned long end)
{
	const struct gm_mmu *mmu = ctx->dev->mmu;
	struct gm_notifier *n;
	unsigned long idx, first, last;

	lockdep_assert_held(&ctx->pmap_lock);
	lockdep_assert_held(&ctx->notifier_rwsem);
	xa_for_each_range(&ctx->notifiers, idx, n, start >> GM_NOTIFIER_SHIFT,
			  (end - 1) >> GM_NOTIFIER_SHIFT) {
		first = gm_notifier_index(n, max(start, n->start));
		last = gm_notifier_index(n, min(end, gm_notifier_end(n))) - 1;
		if (n->huge && (first || last != GM_NOTIFIER_PAGES - 1)) {
			mmu->pmap_release(ctx->dev, ctx->pmap, n->start,
					  gm_notifier_end(n));
			mmu->tlb_invl(ctx->dev, ctx->pmap, n->start,
				      gm_notifier_end(n));
			first = 0;
			last = GM_NOTIFIER_PAGES - 1;
		}
		gm_notifier_forget_locked(n, first, last);
	}
}

/**
 * gm_ctx_unmap() - take ranges out of a device's page table
 * @ctx: the context
 * @ranges: the ranges, each page-aligned and not empty
 * @nr: how many, 1 to GM_UNMAP_MAX_RANGES
 *
 * For a driver whose device is done with some memory (a kernel finished, a
 * buffer freed on the device side): the device's mappings of the ranges go,
 * with one coalesced TLB flush (gm_mmu.tlb_invl_ranges) for all of them.
 * Nothing moves; the next device access faults the pages in again.
 *
 * Context: process context, may sleep.
 * Return: 0, -EINVAL for a bad count or an unaligned or empty range,
 * -EOVERFLOW for one that wraps or ends above the user address space,
 * -EOPNOTSUPP for a device without page tables, -ENODEV once the device
 * was destroyed.
 */
int gm_ctx_unmap(struct gm_ctx *ctx, const struct gm_va_range *ranges,
		 unsigned int nr)
{
	const struct gm_mmu *mmu = ctx->dev->mmu;
	unsigned int i;
	int err;

	might_sleep();
	if (!nr || nr > GM_UNMAP_MAX_RANGES)
		return -EINVAL;
	for (i = 0; i < nr; i++) {
		if (ranges[i].end <= ranges[i].start)
			return ranges[i].end == ranges[i].start ? -EINVAL :
			       -EOVERFLOW;
		err = gm_check_range(ranges[i].start,
				     ranges[i].end - ranges[i].start);
		if (err)
			return err;
	}
	if (!gm_mmu_has_pmap(mmu))
		return -EOPNOTSUPP;

	down_read(&ctx->notifier_rwsem);
	if (ctx->unplugged) {
		up_read(&ctx->notifier_rwsem);
		return -ENODEV;
	}
	mutex_lock(&ctx->pmap_lock);
	for (i = 0; i < nr; i++)
		mmu->pmap_release(ctx->dev, ctx->pmap, ranges[i].start,
				  ranges[i].end);
	if (mmu->tlb_invl_ranges) {
		mmu->tlb_invl_ranges(ctx->dev, ctx->pmap, ranges, nr);
	} else {
		for (i = 0; i < nr; i++)
			mmu->tlb_invl(ctx->dev, ctx->pmap, ranges[i].start,
				      ranges[i].end);
	}
	for (i = 0; i < nr; i++)
		gm_ctx_forget_locked(ctx, ranges[i].start, ranges[i].end);
	mutex_unlock(&ctx->pmap_lock);
	up_read(&ctx->notifier_rwsem);
	return 0;
}
EXPORT_SYMBOL_GPL(gm_ctx_unmap);

/**
 * gm_ctx_pmap() - the device page table of a context
 * @ctx: the context
 *
 * Return: what gm_mmu.pmap_create stored, NULL for a device without one
 * and once the device was destroyed.
 */
void *gm_ctx_pmap(const struct gm_ctx *ctx)
{
	return ctx->pmap;
}
EXPORT_SYMBOL_GPL(gm_ctx_pmap);

/**
 * gm_ctx_get_stats() - figures of a context's mirror
 * @ctx: the context
 * @stats: filled in
 */
void gm_ctx_get_stats(const struct gm_ctx *ctx, struct gm_ctx_stats *stats)
{
	stats->invalidations = atomic64_read(&ctx->invalidations);
	stats->notifiers = atomic_long_read(&ctx->notifiers_live);
	stats->notifiers_created = atomic64_read(&ctx->notifiers_created);
	stats->fault_retries = atomic64_read(&ctx->fault_retries);
	stats->fast_faults = atomic64_read(&ctx->fast_faults);
}
EXPORT_SYMBOL_GPL(gm_ctx_get_stats);
