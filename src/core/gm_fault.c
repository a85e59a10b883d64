// SPDX-License-Identifier: GPL-2.0
/*
 * Device faults and mirrored device page tables.
 *
 * Every context of a device with page tables has an interval notifier over
 * the whole user address space.  gm_dev_fault() resolves a range the way
 * Documentation/mm/hmm.rst prescribes: mmu_interval_read_begin(),
 * hmm_range_fault(), then under the context's mapping lock
 * mmu_interval_read_retry() before anything reaches the device page table;
 * the notifier takes the same lock to release device mappings and flush the
 * device TLB before the CPU lets the pages go.
 *
 * Policy: a device with memory of its own pulls the pages of a range that
 * gmem never placed into that memory on first touch (best effort: what
 * cannot move is mapped where it is); pages gmem already placed are mapped
 * where they are.
 */
#include <linux/export.h>
#include <linux/hmm.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include "gm_internal.h"

static struct gm_ctx *gm_ctx_from_mni(struct mmu_interval_notifier *mni)
{
	return container_of(mni, struct gm_ctx, mni);
}

/*
 * A write-protect (fork's copy-on-write setup) only takes write access
 * away; anything else, including gmem's own migrations, moves or drops
 * pages, so the device must forget them.
 */
static bool gm_ctx_invalidate(struct mmu_interval_notifier *mni,
			      const struct mmu_notifier_range *range,
			      unsigned long cur_seq)
{
	struct gm_ctx *ctx = gm_ctx_from_mni(mni);
	const struct gm_mmu *mmu = ctx->dev->mmu;
	unsigned long start = range->start, end = range->end;

	if (mmu_notifier_range_blockable(range))
		mutex_lock(&ctx->pmap_lock);
	else if (!mutex_trylock(&ctx->pmap_lock))
		return false;

	mmu_interval_set_seq(mni, cur_seq);
	if (range->event == MMU_NOTIFY_PROTECTION_PAGE && mmu->pmap_protect)
		mmu->pmap_protect(ctx->dev, ctx->pmap, start, end, GM_PROT_READ);
	else
		mmu->pmap_release(ctx->dev, ctx->pmap, start, end);
	mmu->tlb_invl(ctx->dev, ctx->pmap, start, end);
	atomic64_inc(&ctx->invalidations);

	mutex_unlock(&ctx->pmap_lock);
	return true;
}

static const struct mmu_interval_notifier_ops gm_ctx_mni_ops = {
	.invalidate = gm_ctx_invalidate,
};

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

	if (!READ_ONCE(ctx->dev->physmem))
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

/* Fault in and map one chunk of at most GM_BATCH_PAGES pages. */
static int gm_fault_chunk(struct gm_ctx *ctx, struct mm_struct *mm,
			  unsigned long start, unsigned long npages,
			  unsigned int access, unsigned long *pfns,
			  struct page **pages)
{
	unsigned long timeout = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	struct hmm_range range = {
		.notifier = &ctx->mni,
		.start = start,
		.end = start + (npages << PAGE_SHIFT),
		.hmm_pfns = pfns,
		.default_flags = HMM_PFN_REQ_FAULT |
				 (access & GM_PROT_WRITE ? HMM_PFN_REQ_WRITE : 0),
	};
	int err;

	gm_fault_first_touch(ctx, start, npages);
	for (;;) {
		if (time_after(jiffies, timeout))
			return -EBUSY;
		range.notifier_seq = mmu_interval_read_begin(&ctx->mni);
		mmap_read_lock(mm);
		err = hmm_range_fault(&range);
		mmap_read_unlock(mm);
		if (err == -EBUSY)
			continue;
		if (err)
			return err;

		mutex_lock(&ctx->pmap_lock);
		if (mmu_interval_read_retry(&ctx->mni, range.notifier_seq)) {
			mutex_unlock(&ctx->pmap_lock);
			continue;
		}
		err = gm_fault_enter(ctx, start, npages, pfns, pages);
		mutex_unlock(&ctx->pmap_lock);
		return err;
	}
}

/**
 * gm_dev_fault() - resolve a device fault, or map a range before a kernel runs
 * @ctx: the context (address space and device) that faulted
 * @va: page-aligned start of the range
 * @len: page-aligned length in bytes
 * @access: GM_PROT_READ, or GM_PROT_READ | GM_PROT_WRITE
 *
 * Faults the range in like the CPU would (a write breaks copy-on-write
 * first), moves pages gmem never placed into the device's memory if it has
 * some, and maps every page of the range into the device page table with
 * the access the CPU page table allows.  The mappings last until an
 * invalidation of the CPU page table releases them.
 *
 * Context: process context, may sleep; takes the mmap lock for read.
 * Return: 0, -EINVAL or -EOVERFLOW for a bad range or access,
 * -EOPNOTSUPP if the device has no page tables, -EFAULT if part of the
 * range is not mapped or cannot be faulted in, -EPERM for a write to memory
 * the process may not write, -ESRCH if the process exited, -EBUSY if the
 * range kept being invalidated for HMM_RANGE_DEFAULT_TIMEOUT, -ENOMEM, or
 * the error of gm_mmu.pmap_enter.
 */
int gm_dev_fault(struct gm_ctx *ctx, unsigned long va, unsigned long len,
		 unsigned int access)
{
	struct mm_struct *mm = gm_as_mm(ctx->as);
	unsigned long *pfns, addr, end = va + len;
	struct page **pages;
	int err;

	err = gm_check_range(va, len);
	if (err)
		return err;
	if (!(access & GM_PROT_READ) || (access & ~(GM_PROT_READ | GM_PROT_WRITE)))
		return -EINVAL;
	if (!gm_mmu_has_pmap(ctx->dev->mmu))
		return -EOPNOTSUPP;
	if (!mmget_not_zero(mm))
		return -ESRCH;

	err = -ENOMEM;
	pfns = kvmalloc_array(GM_BATCH_PAGES, sizeof(*pfns), GFP_KERNEL);
	pages = kvmalloc_array(GM_BATCH_PAGES, sizeof(*pages), GFP_KERNEL);
	if (pfns && pages) {
		for (addr = va, err = 0; addr < end && !err; ) {
			unsigned long n = min((end - addr) >> PAGE_SHIFT,
					      (unsigned long)GM_BATCH_PAGES);

			err = gm_fault_chunk(ctx, mm, addr, n, access, pfns,
					     pages);
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
