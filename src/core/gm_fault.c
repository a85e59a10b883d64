// SPDX-License-Identifier: GPL-2.0
/*
 * Device faults and mirrored device page tables.
 *
 * Every context of a device with page tables has an interval notifier over
 * the whole user address space, which releases device mappings and flushes
 * the device TLB, under the context's mapping lock, before the CPU lets the
 * pages go.  gm_dev_fault() resolves a range the way
 * Documentation/mm/hmm.rst prescribes, against a notifier of the faulting
 * range only (struct gm_fault_notifier): mmu_interval_read_begin(),
 * hmm_range_fault(), then under the mapping lock mmu_interval_read_retry()
 * before anything reaches the device page table.
 *
 * Policy: a device with memory of its own pulls the pages of a range that
 * gmem never placed into that memory on first touch (best effort: what
 * cannot move is mapped where it is), unless its gm_mmu says
 * GM_MMU_MAP_IN_PLACE; pages gmem already placed are mapped where they
 * are, except pages in another device's private memory, which this device
 * cannot reach: they come back to host RAM first.
 */
#include <linux/export.h>
#include <linux/hmm.h>
#include <linux/jiffies.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include "gm_internal.h"

static struct gm_ctx *gm_ctx_from_mni(struct mmu_interval_notifier *mni)
{
	return container_of(mni, struct gm_ctx, mni);
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

/*
 * The device's side of an invalidation of [start, end), under the mapping
 * lock: a write-protect (fork's copy-on-write setup) only takes write
 * access away; anything else, including gmem's own migrations, moves or
 * drops pages, so the device must forget them.
 */
static void gm_ctx_invalidate_locked(struct gm_ctx *ctx,
				     const struct mmu_notifier_range *range,
				     unsigned long start, unsigned long end)
{
	const struct gm_mmu *mmu = ctx->dev->mmu;

	lockdep_assert_held(&ctx->pmap_lock);
	if (range->event == MMU_NOTIFY_PROTECTION_PAGE && mmu->pmap_protect)
		mmu->pmap_protect(ctx->dev, ctx->pmap, start, end, GM_PROT_READ);
	else
		mmu->pmap_release(ctx->dev, ctx->pmap, start, end);
	mmu->tlb_invl(ctx->dev, ctx->pmap, start, end);
}

static bool gm_ctx_invalidate(struct mmu_interval_notifier *mni,
			      const struct mmu_notifier_range *range,
			      unsigned long cur_seq)
{
	struct gm_ctx *ctx = gm_ctx_from_mni(mni);

	if (gm_ctx_own_exclusive(ctx, range))
		return true;
	if (!gm_ctx_invalidate_lock(ctx, range))
		return false;
	mmu_interval_set_seq(mni, cur_seq);
	gm_ctx_invalidate_locked(ctx, range, range->start, range->end);
	atomic64_inc(&ctx->invalidations);
	mutex_unlock(&ctx->pmap_lock);

	if (mmu_notifier_range_blockable(range))
		gm_inject_invalidate_delay();
	return true;
}

static const struct mmu_interval_notifier_ops gm_ctx_mni_ops = {
	.invalidate = gm_ctx_invalidate,
};

/**
 * struct gm_fault_notifier - the sequence a fault checks, over its range only
 * @mni: inserted for the duration of one chunk of a fault or snapshot
 * @ctx: the context faulting
 * @start: start of the range
 * @end: its end
 *
 * The context's own notifier covers the whole address space, so every
 * invalidation anywhere would make every fault in flight retry, and
 * under a busy process (other threads migrating, forking, unmapping)
 * faults would retry until they time out.  A fault therefore reads and
 * retries against a notifier of its own range;
 * mmu_interval_notifier_insert() also makes mmu_interval_read_begin() wait
 * for an invalidation that was already running when it was inserted.
 *
 * The notifier whose sequence a fault checks must also release what the
 * fault mapped, in the same critical section of the mapping lock
 * (Documentation/mm/hmm.rst).  One invalidation calls the context's
 * notifier and this one in turn, each taking the lock on its own: were
 * only the context's to release, a fault could take the lock between the
 * two, find its sequence not yet bumped and map a page that the
 * invalidation has already released, and the device would keep it after
 * the CPU moved or freed it.
 */
struct gm_fault_notifier {
	struct mmu_interval_notifier mni;
	struct gm_ctx *ctx;
	unsigned long start;
	unsigned long end;
};

static bool gm_fault_invalidate(struct mmu_interval_notifier *mni,
				const struct mmu_notifier_range *range,
				unsigned long cur_seq)
{
	struct gm_fault_notifier *fn =
		container_of(mni, struct gm_fault_notifier, mni);
	struct gm_ctx *ctx = fn->ctx;

	if (gm_ctx_own_exclusive(ctx, range))
		return true;
	if (!gm_ctx_invalidate_lock(ctx, range))
		return false;
	mmu_interval_set_seq(mni, cur_seq);
	gm_ctx_invalidate_locked(ctx, range, max(range->start, fn->start),
				 min(range->end, fn->end));
	mutex_unlock(&ctx->pmap_lock);
	return true;
}

static const struct mmu_interval_notifier_ops gm_fault_mni_ops = {
	.invalidate = gm_fault_invalidate,
};

static int gm_fault_notifier_insert(struct gm_fault_notifier *fn,
				    struct gm_ctx *ctx, struct mm_struct *mm,
				    unsigned long start, unsigned long npages)
{
	fn->ctx = ctx;
	fn->start = start;
	fn->end = start + (npages << PAGE_SHIFT);
	return mmu_interval_notifier_insert(&fn->mni, mm, start,
					    npages << PAGE_SHIFT,
					    &gm_fault_mni_ops);
}

/* Does @mmu provide device page tables?  gm_dev_create() checked the set. */
bool gm_mmu_has_pmap(const struct gm_mmu *mmu)
{
	return mmu->pmap_create;
}

/*
 * Give a new context its device page table and start mirroring @mm into
 * it.  The caller holds a reference on @mm's users.
 */
int gm_ctx_map_init(struct gm_ctx *ctx, struct mm_struct *mm)
{
	const struct gm_mmu *mmu = ctx->dev->mmu;
	int err;

	mutex_init(&ctx->pmap_lock);
	/*
	 * Reclaim invalidates, and invalidations take the mapping lock: tell
	 * lockdep now, so that an allocation that may reclaim under the lock
	 * is reported the first time it runs, not when reclaim meets it.
	 */
	fs_reclaim_acquire(GFP_KERNEL);
	might_lock(&ctx->pmap_lock);
	fs_reclaim_release(GFP_KERNEL);
	atomic64_set(&ctx->invalidations, 0);
	if (!gm_mmu_has_pmap(mmu))
		return 0;

	err = mmu->pmap_create(ctx->dev, ctx, &ctx->pmap);
	if (err)
		return err;
	err = mmu_interval_notifier_insert(&ctx->mni, mm, 0, TASK_SIZE,
					   &gm_ctx_mni_ops);
	if (err) {
		mmu->pmap_destroy(ctx->dev, ctx->pmap);
		return err;
	}
	return 0;
}

/* Stop mirroring, drop every device mapping, destroy the page table. */
void gm_ctx_map_fini(struct gm_ctx *ctx)
{
	const struct gm_mmu *mmu = ctx->dev->mmu;

	if (!gm_mmu_has_pmap(mmu))
		return;
	mmu_interval_notifier_remove(&ctx->mni);
	mutex_lock(&ctx->pmap_lock);
	mmu->pmap_release(ctx->dev, ctx->pmap, 0, TASK_SIZE);
	mmu->tlb_invl(ctx->dev, ctx->pmap, 0, TASK_SIZE);
	mutex_unlock(&ctx->pmap_lock);
	mmu->pmap_destroy(ctx->dev, ctx->pmap);
}

/* First touch: pull pages gmem never placed into the device's memory. */
static void gm_fault_first_touch(struct gm_ctx *ctx, unsigned long start,
				 unsigned long npages)
{
	struct gm_migrate_result res;
	u8 loc;

	if (!READ_ONCE(ctx->dev->physmem) ||
	    (ctx->dev->mmu->flags & GM_MMU_MAP_IN_PLACE))
		return;
	gm_pt_read(&ctx->as->pt, start, 1, &loc);
	if (loc == GMEM_LOC_NONE)
		gm_migrate_to_dev(ctx->as, ctx->dev, start, npages << PAGE_SHIFT,
				  &res);
}

/* Map the snapshot @pfns into the device, in runs of equal access. */
static int gm_fault_enter(struct gm_ctx *ctx, unsigned long start,
			  unsigned long npages, const unsigned long *pfns,
			  struct page **pages)
{
	const struct gm_mmu *mmu = ctx->dev->mmu;
	unsigned long i, first = 0;
	int err = 0;

	for (i = 0; i < npages; i++)
		pages[i] = hmm_pfn_to_page(pfns[i]);

	for (i = 1; i <= npages && !err; i++) {
		unsigned int prot = pfns[first] & HMM_PFN_WRITE ?
				    GM_PROT_READ | GM_PROT_WRITE : GM_PROT_READ;

		if (i < npages &&
		    (pfns[i] & HMM_PFN_WRITE) == (pfns[first] & HMM_PFN_WRITE))
			continue;
		err = mmu->pmap_enter(ctx->dev, ctx->pmap,
				      start + (first << PAGE_SHIFT),
				      &pages[first], i - first, prot);
		first = i;
	}
	return err;
}

/* Is this page in private memory of another device than @ctx's? */
static bool gm_fault_is_foreign(struct gm_ctx *ctx, unsigned long pfn)
{
	struct page *page;

	if (!(pfn & HMM_PFN_VALID))
		return false;
	page = hmm_pfn_to_page(pfn);
	return is_device_private_page(page) && gm_page_dev(page) != ctx->dev;
}

/* Did hmm_range_fault() report pages this device cannot reach? */
static bool gm_fault_has_foreign(struct gm_ctx *ctx, unsigned long npages,
				 const unsigned long *pfns)
{
	unsigned long i;

	for (i = 0; i < npages; i++)
		if (gm_fault_is_foreign(ctx, pfns[i]))
			return true;
	return false;
}

/*
 * hmm_range_fault() reported pages in other devices' private memory (it
 * reports every gmem device's, see gm_pgmap_owner): bring each run of them
 * back to host RAM, where this device can reach them.
 */
static void gm_fault_fetch_foreign(struct gm_ctx *ctx, unsigned long start,
				   unsigned long npages, const unsigned long *pfns)
{
	struct gm_migrate_result res;
	unsigned long i = 0, first;

	while (i < npages) {
		if (!gm_fault_is_foreign(ctx, pfns[i])) {
			i++;
			continue;
		}
		for (first = i; i < npages && gm_fault_is_foreign(ctx, pfns[i]); )
			i++;
		gm_migrate_to_host(ctx->as, start + (first << PAGE_SHIFT),
				   (i - first) << PAGE_SHIFT, &res);
	}
}

/*
 * The hmm.rst recipe up to the driver lock: fill @range->hmm_pfns, then
 * return 0 with the context's mapping lock held and the snapshot still
 * valid, or an error without it (-EBUSY once @retry ran out).  The fault
 * does not hold the mmap lock where the kernel lets a fault drop it
 * (userfaultfd-registered memory, which a fault under the lock would fail).
 */
static int gm_fault_snapshot_locked(struct gm_ctx *ctx, struct mm_struct *mm,
				    struct gm_fault_notifier *fn,
				    struct hmm_range *range,
				    struct gm_retry *retry)
{
	int err;

	for (;;) {
		err = gm_hmm_range_fault_unlocked(range, mm);
		if (!err) {
			gm_inject_fault_delay();
			mutex_lock(&ctx->pmap_lock);
			if (!mmu_interval_read_retry(&fn->mni, range->notifier_seq))
				return 0;
			mutex_unlock(&ctx->pmap_lock);
		} else if (err != -EBUSY) {
			return err;
		}
		if (!gm_retry_again(retry))
			return -EBUSY;
	}
}

/* Fault in and map one chunk of at most GM_BATCH_PAGES pages. */
static int gm_fault_chunk(struct gm_ctx *ctx, struct mm_struct *mm,
			  unsigned long start, unsigned long npages,
			  unsigned int access, unsigned long *pfns,
			  struct page **pages)
{
	struct gm_fault_notifier fn;
	struct hmm_range range = {
		.notifier = &fn.mni,
		.start = start,
		.end = start + (npages << PAGE_SHIFT),
		.hmm_pfns = pfns,
		.default_flags = HMM_PFN_REQ_FAULT |
				 (access & GM_PROT_WRITE ? HMM_PFN_REQ_WRITE : 0),
		.dev_private_owner = &gm_pgmap_owner,
	};
	struct gm_retry retry;
	int err;

	gm_fault_first_touch(ctx, start, npages);
	err = gm_fault_notifier_insert(&fn, ctx, mm, start, npages);
	if (err)
		return err;
	gm_retry_init(&retry);
	for (;;) {
		err = gm_fault_snapshot_locked(ctx, mm, &fn, &range, &retry);
		if (err)
			break;
		if (!gm_fault_has_foreign(ctx, npages, pfns)) {
			err = gm_fault_enter(ctx, start, npages, pfns, pages);
			mutex_unlock(&ctx->pmap_lock);
			break;
		}
		mutex_unlock(&ctx->pmap_lock);
		gm_fault_fetch_foreign(ctx, start, npages, pfns);
		if (!gm_retry_again(&retry)) {
			err = -EBUSY;
			break;
		}
	}
	mmu_interval_notifier_remove(&fn.mni);
	return err;
}

/*
 * Before v6.15, make_device_exclusive_range() splits the PMD of a
 * transparent huge page but not the page, and then gives up on its tail
 * pages.  So fault the chunk in for write first and, if it is mapped by
 * huge pages, split them: migrate_vma_setup() splits a PMD-mapped huge
 * page, and with no destination given, migrate_vma_finalize() puts every
 * small page back where it was.  Called with the mmap lock held.
 */
static int gm_fault_split_huge(struct mmu_interval_notifier *mni,
			       struct mm_struct *mm, unsigned long seq,
			       unsigned long start, unsigned long npages,
			       unsigned long *pfns)
{
	unsigned long end = start + (npages << PAGE_SHIFT), i, addr;
	struct hmm_range range = {
		.notifier = mni,
		.notifier_seq = seq,
		.start = start,
		.end = end,
		.hmm_pfns = pfns,
		.default_flags = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
	};
	struct migrate_vma mig = {
		.src = pfns,
		.pgmap_owner = &gm_pgmap_owner,
		.flags = MIGRATE_VMA_SELECT_SYSTEM,
	};
	bool huge = false;
	int err;

	err = hmm_range_fault(&range);
	if (err)
		return err;
	for (i = 0; i < npages; i++)
		huge |= hmm_pfn_to_map_order(pfns[i]) > 0;
	if (!huge)
		return 0;

	mig.dst = kvcalloc(npages, sizeof(*mig.dst), GM_GFP_MAY_FAIL);
	if (!mig.dst)
		return -ENOMEM;
	for (addr = start; addr < end; addr = mig.end) {
		mig.vma = vma_lookup(mm, addr);
		if (!mig.vma) {
			err = -EFAULT;
			break;
		}
		mig.start = addr;
		mig.end = min(end, mig.vma->vm_end);
		err = migrate_vma_setup(&mig);
		if (err)
			break;
		migrate_vma_pages(&mig);
		migrate_vma_finalize(&mig);
	}
	kvfree(mig.dst);
	return err;
}

/*
 * Make one chunk exclusive to the device (device atomics) and map it with
 * GM_PROT_ATOMIC.  Each page in turn gets a device-exclusive entry in
 * place of the CPU's mapping; the CPU's next access restores it through an
 * invalidation, which bumps the notifier's sequence and releases the
 * device mapping.  All or nothing: a page that cannot be made exclusive
 * (not a normal anonymous page, or busy) fails the chunk.
 */
static int gm_fault_exclusive(struct gm_ctx *ctx, struct mm_struct *mm,
			      unsigned long start, unsigned long npages,
			      unsigned long *pfns, struct page **pages)
{
	struct gm_fault_notifier fn;
	struct gm_retry retry;
	unsigned long seq, i, n;
	int err;

	err = gm_fault_notifier_insert(&fn, ctx, mm, start, npages);
	if (err)
		return err;
	gm_retry_init(&retry);
	for (;;) {
		seq = mmu_interval_read_begin(&fn.mni);
		mmap_read_lock(mm);
		err = gm_fault_split_huge(&fn.mni, mm, seq, start, npages, pfns);
		for (n = 0; !err && n < npages; n++) {
			struct page *page = gm_make_device_exclusive(mm,
					start + (n << PAGE_SHIFT), ctx);

			if (IS_ERR(page)) {
				err = PTR_ERR(page);
				break;
			}
			pages[n] = page;
		}
		mmap_read_unlock(mm);

		if (!err) {
			mutex_lock(&ctx->pmap_lock);
			if (mmu_interval_read_retry(&fn.mni, seq))
				err = -EBUSY;
			else
				err = ctx->dev->mmu->pmap_enter(ctx->dev, ctx->pmap,
						start, pages, npages,
						GM_PROT_READ | GM_PROT_WRITE |
						GM_PROT_ATOMIC);
			mutex_unlock(&ctx->pmap_lock);
		}
		for (i = 0; i < n; i++)
			put_page(pages[i]);
		if (err != -EBUSY || !gm_retry_again(&retry))
			break;
	}
	mmu_interval_notifier_remove(&fn.mni);
	return err;
}

/**
 * gm_dev_fault() - resolve a device fault, or map a range before a kernel runs
 * @ctx: the context (address space and device) that faulted
 * @va: page-aligned start of the range
 * @len: page-aligned length in bytes
 * @access: GM_PROT_READ, GM_PROT_READ | GM_PROT_WRITE, or all three with
 *	GM_PROT_ATOMIC
 *
 * Faults the range in like the CPU would (a write breaks copy-on-write
 * first), moves pages gmem never placed into the device's memory if it has
 * some (see the policy at the top of gm_fault.c), and maps every page of
 * the range into the device page table with the access the CPU page table
 * allows.  The mappings last until an invalidation of the CPU page table
 * releases them.
 *
 * With GM_PROT_ATOMIC the pages stay in host RAM and become exclusive to
 * the device until the CPU touches them again; only private anonymous
 * memory qualifies, and only on kernels with CONFIG_DEVICE_PRIVATE (which
 * is what builds make_device_exclusive()); huge pages are split.
 *
 * Context: process context, may sleep; takes the mmap lock for read.
 * Return: 0, -EINVAL or -EOVERFLOW for a bad range or access,
 * -EOPNOTSUPP if the device has no page tables, -EFAULT if part of the
 * range is not mapped or cannot be faulted in, -EPERM for a write to memory
 * the process may not write, -ESRCH if the process exited, -EBUSY if the
 * range kept being invalidated (struct gm_retry says how long), -ENOMEM, or
 * the error of gm_mmu.pmap_enter.  For GM_PROT_ATOMIC also -EOPNOTSUPP
 * on kernels without device-exclusive entries, and -EBUSY if a page could
 * not be made exclusive.
 */
int gm_dev_fault(struct gm_ctx *ctx, unsigned long va, unsigned long len,
		 unsigned int access)
{
	struct mm_struct *mm = gm_as_mm(ctx->as);
	unsigned long *pfns, addr, end = va + len;
	struct page **pages;
	int err;

	might_sleep();
	err = gm_check_range(va, len);
	if (err)
		return err;
	if (access != GM_PROT_READ && access != (GM_PROT_READ | GM_PROT_WRITE) &&
	    access != (GM_PROT_READ | GM_PROT_WRITE | GM_PROT_ATOMIC))
		return -EINVAL;
	if (!gm_mmu_has_pmap(ctx->dev->mmu))
		return -EOPNOTSUPP;
	if (!mmget_not_zero(mm))
		return -ESRCH;

	err = -ENOMEM;
	pfns = kvcalloc(GM_BATCH_PAGES, sizeof(*pfns), GM_GFP_MAY_FAIL);
	pages = kvmalloc_array(GM_BATCH_PAGES, sizeof(*pages), GM_GFP_MAY_FAIL);
	if (pfns && pages) {
		for (addr = va, err = 0; addr < end && !err; ) {
			unsigned long n = min((end - addr) >> PAGE_SHIFT,
					      (unsigned long)GM_BATCH_PAGES);

			if (access & GM_PROT_ATOMIC)
				err = gm_fault_exclusive(ctx, mm, addr, n, pfns,
							 pages);
			else
				err = gm_fault_chunk(ctx, mm, addr, n, access,
						     pfns, pages);
			addr += n << PAGE_SHIFT;
		}
	}
	kvfree(pages);
	kvfree(pfns);
	mmput(mm);
	return err;
}
EXPORT_SYMBOL_GPL(gm_dev_fault);

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
 * -EOPNOTSUPP for a device without page tables.
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
	mutex_unlock(&ctx->pmap_lock);
	return 0;
}
EXPORT_SYMBOL_GPL(gm_ctx_unmap);

/**
 * gm_ctx_snapshot() - what the CPU page table maps, without faulting
 * @ctx: the context (address space and device) asking
 * @va: page-aligned start
 * @npages: number of pages, at most 512
 * @hmm_pfns: filled with one hmm pfn per page (HMM_PFN_VALID, _WRITE,
 *	_ERROR, map order), as hmm_range_fault() reports them
 *
 * For debuggers and tests of a device's view of memory: a consistent
 * snapshot of the range, in which pages in the private memory of every
 * gmem device are reported rather than faulted back (gm_page_dev() says
 * whose).  Nothing is mapped into the device.
 *
 * Context: process context, may sleep; takes the mmap lock for read.
 * Return: 0, -EINVAL or -EOVERFLOW for a bad range, -EOPNOTSUPP for a
 * device without page tables, -ESRCH if the process exited, -EFAULT if
 * part of the range is not mapped, -EBUSY if it kept changing.
 */
int gm_ctx_snapshot(struct gm_ctx *ctx, unsigned long va,
		    unsigned long npages, unsigned long *hmm_pfns)
{
	struct mm_struct *mm = gm_as_mm(ctx->as);
	struct gm_fault_notifier fn;
	struct gm_retry retry;
	struct hmm_range range = {
		.notifier = &fn.mni,
		.start = va,
		.end = va + (npages << PAGE_SHIFT),
		.hmm_pfns = hmm_pfns,
		.dev_private_owner = &gm_pgmap_owner,
	};
	int err;

	might_sleep();
	if (!npages || npages > GM_BATCH_PAGES)
		return -EINVAL;
	err = gm_check_range(va, npages << PAGE_SHIFT);
	if (err)
		return err;
	if (!gm_mmu_has_pmap(ctx->dev->mmu))
		return -EOPNOTSUPP;
	if (!mmget_not_zero(mm))
		return -ESRCH;
	err = gm_fault_notifier_insert(&fn, ctx, mm, va, npages);
	if (err)
		goto out;
	gm_retry_init(&retry);
	err = gm_fault_snapshot_locked(ctx, mm, &fn, &range, &retry);
	if (!err)
		mutex_unlock(&ctx->pmap_lock);
	mmu_interval_notifier_remove(&fn.mni);
out:
	mmput(mm);
	return err;
}
EXPORT_SYMBOL_GPL(gm_ctx_snapshot);

/**
 * gm_ctx_pmap() - the device page table of a context
 * @ctx: the context
 *
 * Return: what gm_mmu.pmap_create stored, NULL for a device without one.
 */
void *gm_ctx_pmap(const struct gm_ctx *ctx)
{
	return ctx->pmap;
}
EXPORT_SYMBOL_GPL(gm_ctx_pmap);

/**
 * gm_ctx_invalidations() - invalidations that reached a context's device
 * @ctx: the context
 *
 * Return: how many CPU page-table invalidations released or write-protected
 * device mappings of @ctx and flushed its TLB.
 */
u64 gm_ctx_invalidations(const struct gm_ctx *ctx)
{
	return atomic64_read(&ctx->invalidations);
}
EXPORT_SYMBOL_GPL(gm_ctx_invalidations);
