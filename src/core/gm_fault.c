// SPDX-License-Identifier: GPL-2.0
/*
 * Device faults: the hmm.rst recipe that fills a device page table, and
 * the policy that decides where a faulting page should live first.
 *
 * gm_dev_fault() works in chunks that never cross a GM_NOTIFIER_SIZE
 * boundary, so each chunk checks the sequence of one long-lived notifier of
 * the context (gm_mirror.c): mmu_interval_read_begin(), hmm_range_fault(),
 * then under the context's mapping lock mmu_interval_read_retry() before
 * gm_mmu.pmap_enter.  A chunk whose pages the device still has mapped with
 * the access asked for ends there, under the lock, without a walk.
 *
 * Policy is the caller's, per call (enum gm_placement), and decided per
 * page: on first touch, each run of pages that gmem never placed moves into
 * the device's memory; with GM_PLACE_DEVICE every run that is not there
 * yet moves, and the chunk fails if a page stayed behind.  Pages in another
 * device's private memory, which this device cannot reach, come back to
 * host RAM first.
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

/*
 * Move the runs of pages that @placement wants in the device's memory
 * there, before the chunk is faulted in.  @locs has room for @npages
 * entries.
 */
static void gm_fault_place(struct gm_ctx *ctx, enum gm_placement placement,
			   unsigned long start, unsigned long npages, u8 *locs)
{
	u8 here = GMEM_LOC_DEV(ctx->dev->id);
	struct gm_migrate_result res;
	unsigned long i = 0, first;
	bool elsewhere;

	if (placement == GM_PLACE_IN_PLACE || !READ_ONCE(ctx->dev->physmem))
		return;
	gm_pt_read(&ctx->as->pt, start, npages, locs);
	while (i < npages) {
		elsewhere = GMEM_LOC_IS_DEV(locs[i]) && locs[i] != here;
		if (placement == GM_PLACE_DEVICE ? !elsewhere :
		    locs[i] != GMEM_LOC_NONE) {
			i++;
			continue;
		}
		for (first = i++; i < npages && locs[i] == locs[first]; )
			i++;
		/* Device to device goes through host RAM. */
		if (elsewhere)
			gm_migrate_to_host(ctx,
					   start + (first << PAGE_SHIFT),
					   (i - first) << PAGE_SHIFT, &res);
		else
			gm_migrate_to_dev(ctx, NULL,
					  start + (first << PAGE_SHIFT),
					  (i - first) << PAGE_SHIFT, &res);
	}
	/* Pages already there count in neither field: one call for the rest. */
	if (placement == GM_PLACE_DEVICE)
		gm_migrate_to_dev(ctx, NULL, start,
				  npages << PAGE_SHIFT, &res);
}

/* GM_PLACE_DEVICE: is every page of the snapshot in this device's memory? */
static bool gm_fault_all_local(struct gm_ctx *ctx, unsigned long npages,
			       const unsigned long *pfns)
{
	unsigned long i;

	for (i = 0; i < npages; i++)
		if (!(pfns[i] & HMM_PFN_VALID) ||
		    gm_page_dev(hmm_pfn_to_page(pfns[i])) != ctx->dev)
			return false;
	return true;
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
		gm_migrate_to_host(ctx, start + (first << PAGE_SHIFT),
				   (i - first) << PAGE_SHIFT, &res);
	}
}

/*
 * The hmm.rst recipe, written once: fill @range->hmm_pfns, take the
 * context's mapping lock and, if no invalidation came in between, call
 * @locked with it held to use the snapshot; else start again, until @retry
 * runs out (-EBUSY).  No path returns with the lock held.  The fault does
 * not hold the mmap lock where the kernel lets a fault drop it
 * (userfaultfd-registered memory, which a fault under the lock would fail).
 *
 * Return: what @locked returned (0 if it is NULL), or the fault's error.
 */
static int gm_fault_snapshot(struct gm_ctx *ctx, struct mm_struct *mm,
			     struct hmm_range *range, struct gm_retry *retry,
			     int (*locked)(struct gm_ctx *ctx, void *arg),
			     void *arg)
{
	int err;

	for (;;) {
		err = gm_hmm_range_fault_unlocked(range, mm,
						  gm_retry_jiffies_left(retry));
		if (!err) {
			gm_inject_fault_delay();
			mutex_lock(&ctx->pmap_lock);
			if (!mmu_interval_read_retry(range->notifier,
						     range->notifier_seq)) {
				err = locked ? locked(ctx, arg) : 0;
				mutex_unlock(&ctx->pmap_lock);
				return err;
			}
			mutex_unlock(&ctx->pmap_lock);
		} else if (err != -EBUSY) {
			return err;
		}
		atomic64_inc(&ctx->fault_retries);
		if (!gm_retry_again(retry))
			return -EBUSY;
	}
}

/*
 * Is every page of the chunk still mapped with @access?  Then the fault is
 * already resolved: the bits are cleared under the mapping lock by any
 * invalidation before the CPU lets a page go.
 */
static bool gm_fault_fast(struct gm_ctx *ctx, struct gm_notifier *n,
			  unsigned long start, unsigned long npages,
			  unsigned int access)
{
	bool mapped;

	mutex_lock(&ctx->pmap_lock);
	mapped = gm_notifier_covers_locked(n, start, npages,
					   access & GM_PROT_WRITE);
	mutex_unlock(&ctx->pmap_lock);
	if (mapped)
		atomic64_inc(&ctx->fast_faults);
	return mapped;
}

/**
 * struct gm_chunk_map - what mapping one chunk of a device fault needs
 * @n: the notifier whose range holds the chunk
 * @range: the chunk's snapshot
 * @placement: the caller's policy
 * @addrs: room for the device addresses of GM_BATCH_PAGES pages
 */
struct gm_chunk_map {
	struct gm_notifier *n;
	struct hmm_range range;
	enum gm_placement placement;
	struct gm_addr *addrs;
};

/* Pages in another device's private memory must come back first. */
#define GM_FAULT_FETCH_FOREIGN	1

/*
 * The chunk's step under the mapping lock, with a valid snapshot: map it,
 * or say why not (-ENOMEM: GM_PLACE_DEVICE found a page elsewhere;
 * GM_FAULT_FETCH_FOREIGN: the device cannot reach some of the pages).
 */
static int gm_fault_chunk_locked(struct gm_ctx *ctx, void *arg)
{
	struct gm_chunk_map *c = arg;
	unsigned long npages = (c->range.end - c->range.start) >> PAGE_SHIFT;

	lockdep_assert_held(&ctx->pmap_lock);
	if (c->placement == GM_PLACE_DEVICE &&
	    !gm_fault_all_local(ctx, npages, c->range.hmm_pfns))
		return -ENOMEM;
	if (gm_fault_has_foreign(ctx, npages, c->range.hmm_pfns))
		return GM_FAULT_FETCH_FOREIGN;
	return gm_notifier_enter_locked(c->n, c->range.start, npages,
					c->range.hmm_pfns, false, c->addrs);
}

/*
 * Fault in and map one chunk, inside the range of the notifier @n;
 * @locs, @pfns and @addrs have room for GM_BATCH_PAGES entries.
 */
static int gm_fault_chunk(struct gm_ctx *ctx, struct mm_struct *mm,
			  struct gm_notifier *n, unsigned long start,
			  unsigned long npages, unsigned int access,
			  enum gm_placement placement, unsigned long *pfns,
			  struct gm_addr *addrs, u8 *locs)
{
	struct gm_chunk_map c = {
		.n = n,
		.range = {
			.notifier = &n->mni,
			.start = start,
			.end = start + (npages << PAGE_SHIFT),
			.hmm_pfns = pfns,
			.default_flags = HMM_PFN_REQ_FAULT |
					 (access & GM_PROT_WRITE ?
					  HMM_PFN_REQ_WRITE : 0),
			.dev_private_owner = &gm_pgmap_owner,
		},
		.placement = placement,
		.addrs = addrs,
	};
	struct gm_retry retry;
	int err;

	/* Mapped pages may be anywhere: a must-be-local fault checks them. */
	if (placement != GM_PLACE_DEVICE &&
	    gm_fault_fast(ctx, n, start, npages, access))
		return 0;
	err = gm_notifier_prepare(n);
	if (err)
		return err;
	gm_fault_place(ctx, placement, start, npages, locs);
	gm_retry_init(&retry);
	for (;;) {
		err = gm_fault_snapshot(ctx, mm, &c.range, &retry,
					gm_fault_chunk_locked, &c);
		if (err != GM_FAULT_FETCH_FOREIGN)
			return err;
		gm_fault_fetch_foreign(ctx, start, npages, pfns);
		if (!gm_retry_again(&retry))
			return -EBUSY;
	}
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

	mmap_assert_locked(mm);
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
			      struct gm_notifier *nf, unsigned long start,
			      unsigned long npages, unsigned long *pfns,
			      struct page **pages, struct gm_addr *addrs)
{
	struct gm_retry retry;
	unsigned long seq, i, n;
	int err;

	err = gm_notifier_prepare(nf);
	if (err)
		return err;
	gm_retry_init(&retry);
	for (;;) {
		seq = mmu_interval_read_begin(&nf->mni);
		mmap_read_lock(mm);
		err = gm_fault_split_huge(&nf->mni, mm, seq, start, npages, pfns);
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
			for (i = 0; i < npages; i++)
				pfns[i] = page_to_pfn(pages[i]) | HMM_PFN_VALID |
					  HMM_PFN_WRITE;
			mutex_lock(&ctx->pmap_lock);
			if (mmu_interval_read_retry(&nf->mni, seq))
				err = -EBUSY;
			else
				err = gm_notifier_enter_locked(nf, start, npages,
							       pfns, true, addrs);
			mutex_unlock(&ctx->pmap_lock);
		}
		for (i = 0; i < n; i++)
			put_page(pages[i]);
		if (err != -EBUSY)
			break;
		atomic64_inc(&ctx->fault_retries);
		if (!gm_retry_again(&retry))
			break;
	}
	return err;
}

/**
 * gm_dev_fault() - resolve a device fault, or map a range before a kernel runs
 * @ctx: the context (address space and device) that faulted
 * @va: page-aligned start of the range
 * @len: page-aligned length in bytes
 * @access: GM_PROT_READ, GM_PROT_READ | GM_PROT_WRITE, or all three with
 *	GM_PROT_ATOMIC
 * @opts: the driver's policy for this call, NULL for the defaults
 *
 * Faults the range in like the CPU would (a write breaks copy-on-write
 * first), moves pages into the device's memory as @opts->placement says,
 * and maps every page of the range into the device page table with the
 * access the CPU page table allows, 2 MiB at once where the CPU maps a
 * huge page.  The mappings last until an invalidation of the CPU page
 * table releases them.
 *
 * With GM_PROT_ATOMIC the pages stay in host RAM and become exclusive to
 * the device until the CPU touches them again; only private anonymous
 * memory qualifies, and only on kernels with CONFIG_DEVICE_PRIVATE (which
 * is what builds make_device_exclusive()); huge pages are split.
 *
 * Context: process context, may sleep; takes the mmap lock for read.
 * Return: 0, -EINVAL or -EOVERFLOW for a bad range, access or placement,
 * -EOPNOTSUPP if the device has no page tables, -EFAULT if part of the
 * range is not mapped or cannot be faulted in, -EPERM for a write to memory
 * the process may not write, -ESRCH if the process exited, -EBUSY if the
 * range kept being invalidated (struct gm_retry says how long), -ENOMEM
 * (also for a DMA mapping that failed, and with GM_PLACE_DEVICE for a page
 * that could not move into device memory), or the error of
 * gm_mmu.pmap_enter, or -ENODEV once the device was destroyed.  For
 * GM_PROT_ATOMIC also -EOPNOTSUPP
 * on kernels without device-exclusive entries, and -EBUSY if a page could
 * not be made exclusive.
 */
int gm_dev_fault(struct gm_ctx *ctx, unsigned long va, unsigned long len,
		 unsigned int access, const struct gm_fault_opts *opts)
{
	enum gm_placement placement = opts ? opts->placement :
					     GM_PLACE_FIRST_TOUCH;
	struct mm_struct *mm = gm_as_mm(ctx->as);
	unsigned long *pfns, addr, next, end = va + len;
	struct page **pages = NULL;
	struct gm_addr *addrs;
	u8 *locs;
	int err;

	might_sleep();
	err = gm_check_range(va, len);
	if (err)
		return err;
	if (access != GM_PROT_READ && access != (GM_PROT_READ | GM_PROT_WRITE) &&
	    access != (GM_PROT_READ | GM_PROT_WRITE | GM_PROT_ATOMIC))
		return -EINVAL;
	if (placement > GM_PLACE_DEVICE)
		return -EINVAL;
	if (!gm_mmu_has_pmap(ctx->dev->mmu))
		return -EOPNOTSUPP;
	if (!mmget_not_zero(mm))
		return -ESRCH;

	err = -ENOMEM;
	pfns = kvcalloc(GM_BATCH_PAGES, sizeof(*pfns), GM_GFP_MAY_FAIL);
	addrs = kvmalloc_array(GM_BATCH_PAGES, sizeof(*addrs), GM_GFP_MAY_FAIL);
	locs = kmalloc(GM_BATCH_PAGES, GM_GFP_MAY_FAIL);
	if (access & GM_PROT_ATOMIC)
		pages = kvmalloc_array(GM_BATCH_PAGES, sizeof(*pages),
				       GM_GFP_MAY_FAIL);
	if (pfns && addrs && locs && (pages || !(access & GM_PROT_ATOMIC))) {
		down_read(&ctx->notifier_rwsem);
		err = ctx->unplugged ? -ENODEV : 0;
		for (addr = va; addr < end && !err; addr = next) {
			struct gm_notifier *n = gm_notifier_get(ctx, mm, addr);
			unsigned long npages;

			if (IS_ERR(n)) {
				err = PTR_ERR(n);
				break;
			}
			next = min(end, n->start + GM_NOTIFIER_SIZE);
			npages = (next - addr) >> PAGE_SHIFT;
			if (access & GM_PROT_ATOMIC)
				err = gm_fault_exclusive(ctx, mm, n, addr, npages,
							 pfns, pages, addrs);
			else
				err = gm_fault_chunk(ctx, mm, n, addr, npages,
						     access, placement, pfns,
						     addrs, locs);
		}
		up_read(&ctx->notifier_rwsem);
	}
	kfree(locs);
	kvfree(addrs);
	kvfree(pages);
	kvfree(pfns);
	mmput(mm);
	return err;
}
EXPORT_SYMBOL_GPL(gm_dev_fault);

/**
 * gm_ctx_snapshot() - what the CPU page table maps, without faulting
 * @ctx: the context (address space and device) asking
 * @va: page-aligned start
 * @npages: number of pages, at most 512
 * @hmm_pfns: filled with one hmm pfn per page (HMM_PFN_VALID, _WRITE,
 *	_ERROR, map order), as hmm_range_fault() reports them
 *
 * For debuggers and tests of a device's view of memory: a snapshot of the
 * range, each 2 MiB-aligned piece of it consistent in itself, in which
 * pages in the private memory of every gmem device are reported rather
 * than faulted back (gm_page_dev() says whose).  Nothing is mapped into
 * the device.
 *
 * Context: process context, may sleep; takes the mmap lock for read.
 * Return: 0, -EINVAL or -EOVERFLOW for a bad range, -EOPNOTSUPP for a
 * device without page tables, -ESRCH if the process exited, -EFAULT if
 * part of the range is not mapped, -EBUSY if it kept changing, -ENODEV
 * once the device was destroyed.
 */
int gm_ctx_snapshot(struct gm_ctx *ctx, unsigned long va,
		    unsigned long npages, unsigned long *hmm_pfns)
{
	struct mm_struct *mm = gm_as_mm(ctx->as);
	unsigned long addr, next, end = va + (npages << PAGE_SHIFT);
	struct gm_retry retry;
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
	down_read(&ctx->notifier_rwsem);
	if (ctx->unplugged)
		err = -ENODEV;
	for (addr = va; addr < end && !err; addr = next) {
		struct gm_notifier *n = gm_notifier_get(ctx, mm, addr);
		struct hmm_range range = {
			.start = addr,
			.hmm_pfns = hmm_pfns + ((addr - va) >> PAGE_SHIFT),
			.dev_private_owner = &gm_pgmap_owner,
		};

		if (IS_ERR(n)) {
			err = PTR_ERR(n);
			break;
		}
		next = min(end, n->start + GM_NOTIFIER_SIZE);
		range.notifier = &n->mni;
		range.end = next;
		gm_retry_init(&retry);
		err = gm_fault_snapshot(ctx, mm, &range, &retry, NULL, NULL);
	}
	up_read(&ctx->notifier_rwsem);
	mmput(mm);
	return err;
}
EXPORT_SYMBOL_GPL(gm_ctx_snapshot);
