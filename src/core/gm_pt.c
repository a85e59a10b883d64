// SPDX-License-Identifier: GPL-2.0
/*
 * The logical page table: for every virtual page gmem manages in an
 * address space, one byte saying where gmem last placed it (a GMEM_LOC_*
 * code).  Bytes are grouped in blocks covering 2 MiB of virtual space, kept
 * in an xarray indexed by address >> GM_PT_BLOCK_SHIFT, so the table costs
 * one byte per tracked page plus one xarray slot per 2 MiB.
 *
 * The table is exact for gmem's own migrations, which record their outcome.
 * Other invalidations cannot say what they did: the same MMU_NOTIFY_CLEAR
 * announces a zap, a copy-on-write, or a huge page collapse that khugepaged
 * then abandons because the pages are device pages.  So an unmap resets
 * entries to GMEM_LOC_NONE, and anything else that may have moved pages
 * marks them GM_PT_STALE; readers refresh stale entries from the CPU page
 * table (gm_as_refresh()) when they need the truth.  An unmap may also be
 * the old half of an mremap(), whose new half nobody announces: the pages
 * gmem placed in device memory are found there again by the refresh, which
 * reads entries without a record too; that a page was placed in host RAM
 * is forgotten.
 */
#include <linux/hmm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include "gm_internal.h"

#define GM_PT_BLOCK_SHIFT	(PAGE_SHIFT + 9)
#define GM_PT_BLOCK_PAGES	(1UL << (GM_PT_BLOCK_SHIFT - PAGE_SHIFT))

struct gm_pt_block {
	u8 loc[GM_PT_BLOCK_PAGES];
};

static unsigned long gm_pt_index(unsigned long addr)
{
	return addr >> GM_PT_BLOCK_SHIFT;
}

static unsigned long gm_pt_slot(unsigned long addr)
{
	return (addr >> PAGE_SHIFT) & (GM_PT_BLOCK_PAGES - 1);
}

void gm_pt_destroy(struct gm_pt *pt)
{
	struct gm_pt_block *block;
	unsigned long index;

	xa_for_each(&pt->blocks, index, block)
		kfree(block);
	xa_destroy(&pt->blocks);
}

static struct gm_pt *gm_pt_from_tracker(struct gm_migrate_tracker *t)
{
	return container_of(t, struct gm_pt, tracker);
}

/*
 * Make sure every block of [start, end) exists, so that entries can later
 * be set under the spinlock without allocating.  Blocks are only freed with
 * the table, so a block, once there, stays.
 */
int gm_pt_prepare(struct gm_pt *pt, unsigned long start, unsigned long end)
{
	unsigned long index;

	for (index = gm_pt_index(start); index <= gm_pt_index(end - 1); index++) {
		struct gm_pt_block *block;
		int err;

		if (xa_load(&pt->blocks, index))
			continue;
		block = kzalloc(sizeof(*block), GFP_KERNEL);
		if (!block)
			return -ENOMEM;
		err = xa_insert(&pt->blocks, index, block, GFP_KERNEL);
		if (err) {
			kfree(block);
			if (err != -EBUSY)	/* -EBUSY: a racing prepare won */
				return err;
		}
	}
	return 0;
}

static void gm_pt_set_locked(struct gm_pt *pt, unsigned long addr, u8 loc)
{
	struct gm_pt_block *block;

	lockdep_assert_held(&pt->lock);
	block = xa_load(&pt->blocks, gm_pt_index(addr));
	if (!WARN_ON_ONCE(!block))
		block->loc[gm_pt_slot(addr)] = loc;
}

static void gm_pt_block_invalidate(struct gm_pt_block *block,
				   unsigned long slot, unsigned long n,
				   bool dropped)
{
	u8 *loc = &block->loc[slot];
	unsigned long i;

	if (dropped) {
		memset(loc, GMEM_LOC_NONE, n);
		return;
	}
	for (i = 0; i < n; i++)
		if (loc[i] != GMEM_LOC_NONE)
			loc[i] |= GM_PT_STALE;
}

/* gm_pt_invalidate() with pt->lock held. */
static void gm_pt_invalidate_locked(struct gm_pt *pt, unsigned long start,
				    unsigned long end, bool dropped)
{
	struct gm_migrate_span *f;
	struct gm_pt_block *block;
	unsigned long index, addr, next;

	lockdep_assert_held(&pt->lock);
	list_for_each_entry(f, &pt->inflight, node)
		if (f->armed && f->start < end && start < f->end)
			f->invalidated = true;

	xa_for_each_range(&pt->blocks, index, block, gm_pt_index(start),
			  gm_pt_index(end - 1)) {
		addr = max(start, index << GM_PT_BLOCK_SHIFT);
		next = min(end, (index + 1) << GM_PT_BLOCK_SHIFT);
		gm_pt_block_invalidate(block, gm_pt_slot(addr),
				       (next - addr) >> PAGE_SHIFT, dropped);
	}
}

/*
 * [start, end) was invalidated: forget it if its pages are @dropped, else
 * mark what gmem knew of it stale.  Called from the address space's mmu
 * notifier, so it must not sleep.  Migration batches in flight over the
 * range learn that their outcome can no longer be trusted.
 */
void gm_pt_invalidate(struct gm_pt *pt, unsigned long start, unsigned long end,
		      bool dropped)
{
	spin_lock(&pt->lock);
	gm_pt_invalidate_locked(pt, start, end, dropped);
	spin_unlock(&pt->lock);
}

/*
 * Pages of [start, end) move between gmem's pagemaps and host RAM.  Inside
 * a batch in flight, that is the batch's own step, and the batch records
 * its outcome when it commits.  Anything else, a CPU fault on a
 * device-private page (physical memory, which knows nothing of address
 * spaces), records nothing: mark the pages stale, so that the next reader
 * takes the truth from the CPU page table.
 */
void gm_pt_note_migrate(struct gm_pt *pt, unsigned long start,
			unsigned long end)
{
	struct gm_migrate_span *f;

	spin_lock(&pt->lock);
	list_for_each_entry(f, &pt->inflight, node) {
		if (f->start <= start && end <= f->end) {
			spin_unlock(&pt->lock);
			return;
		}
	}
	gm_pt_invalidate_locked(pt, start, end, false);
	spin_unlock(&pt->lock);
}

/*
 * A migration batch over @span is announced before migrate_vma_setup(): its
 * own invalidations of gmem's pages are then known as its own
 * (gm_pt_note_migrate()).  It is armed once its pages are locked.
 */
static void gm_pt_begin(struct gm_migrate_tracker *t,
			struct gm_migrate_span *span)
{
	struct gm_pt *pt = gm_pt_from_tracker(t);

	span->armed = false;
	span->invalidated = false;
	spin_lock(&pt->lock);
	list_add(&span->node, &pt->inflight);
	spin_unlock(&pt->lock);
}

/* From now on, other invalidations of the batch make its outcome unknown. */
static void gm_pt_arm(struct gm_migrate_tracker *t,
		      struct gm_migrate_span *span)
{
	struct gm_pt *pt = gm_pt_from_tracker(t);

	spin_lock(&pt->lock);
	span->armed = true;
	spin_unlock(&pt->lock);
}

/* The batch never started: forget it. */
static void gm_pt_cancel(struct gm_migrate_tracker *t,
			 struct gm_migrate_span *span)
{
	struct gm_pt *pt = gm_pt_from_tracker(t);

	spin_lock(&pt->lock);
	list_del(&span->node);
	spin_unlock(&pt->lock);
}

/*
 * Record where the batch put its pages, atomically with taking it off the
 * inflight list: an entry is exact unless an invalidation raced with the
 * batch, or the page was zapped after the switch; then it is stale.
 */
static void gm_pt_commit(struct gm_migrate_tracker *t,
			 struct gm_migrate_span *span, u8 loc,
			 const unsigned long *moved,
			 const unsigned long *unmapped)
{
	struct gm_pt *pt = gm_pt_from_tracker(t);
	unsigned long npages = (span->end - span->start) >> PAGE_SHIFT, i;

	spin_lock(&pt->lock);
	list_del(&span->node);
	for_each_set_bit(i, moved, npages)
		gm_pt_set_locked(pt, span->start + (i << PAGE_SHIFT),
				 span->invalidated || test_bit(i, unmapped) ?
				 loc | GM_PT_STALE : loc);
	spin_unlock(&pt->lock);
}

static int gm_pt_track_prepare(struct gm_migrate_tracker *t,
			       unsigned long start, unsigned long end)
{
	return gm_pt_prepare(gm_pt_from_tracker(t), start, end);
}

static const struct gm_migrate_tracker_ops gm_pt_tracker_ops = {
	.prepare = gm_pt_track_prepare,
	.begin = gm_pt_begin,
	.arm = gm_pt_arm,
	.cancel = gm_pt_cancel,
	.commit = gm_pt_commit,
};

void gm_pt_init(struct gm_pt *pt)
{
	spin_lock_init(&pt->lock);
	xa_init(&pt->blocks);
	INIT_LIST_HEAD(&pt->inflight);
	pt->tracker.ops = &gm_pt_tracker_ops;
}

/* Copy @npages entries from @start into @locs; absent blocks read NONE. */
void gm_pt_read(struct gm_pt *pt, unsigned long start, unsigned long npages,
		u8 *locs)
{
	unsigned long addr = start, end = start + (npages << PAGE_SHIFT);

	spin_lock(&pt->lock);
	while (addr < end) {
		unsigned long index = gm_pt_index(addr);
		unsigned long next = min(end, (index + 1) << GM_PT_BLOCK_SHIFT);
		unsigned long n = (next - addr) >> PAGE_SHIFT;
		struct gm_pt_block *block = xa_load(&pt->blocks, index);
		unsigned long i;

		for (i = 0; i < n; i++)
			locs[i] = block ?
				  block->loc[gm_pt_slot(addr) + i] & ~GM_PT_STALE :
				  GMEM_LOC_NONE;
		locs += n;
		addr = next;
	}
	spin_unlock(&pt->lock);
}

/*
 * Does any entry of the range need gm_as_refresh(): one marked stale, or
 * one without a record, which a page moved by mremap() may have?
 */
bool gm_pt_needs_refresh(struct gm_pt *pt, unsigned long start,
			 unsigned long npages)
{
	unsigned long addr, end = start + (npages << PAGE_SHIFT);
	bool needs = false;

	spin_lock(&pt->lock);
	for (addr = start; addr < end && !needs; addr += PAGE_SIZE) {
		struct gm_pt_block *block = xa_load(&pt->blocks, gm_pt_index(addr));
		u8 loc = block ? block->loc[gm_pt_slot(addr)] : GMEM_LOC_NONE;

		needs = loc == GMEM_LOC_NONE || (loc & GM_PT_STALE);
	}
	spin_unlock(&pt->lock);
	return needs;
}

/* Did a snapshot of the CPU page table find a gmem device page? */
bool gm_pt_snapshot_has_dev(unsigned long npages, const unsigned long *hmm_pfns)
{
	unsigned long i;

	for (i = 0; i < npages; i++)
		if ((hmm_pfns[i] & HMM_PFN_VALID) &&
		    gm_page_dev(hmm_pfn_to_page(hmm_pfns[i])))
			return true;
	return false;
}

/*
 * Update the entries of a range from a snapshot @hmm_pfns of
 * hmm_range_fault() that the caller validated under pt->lock: a stale
 * entry becomes what the CPU maps; an entry without a record learns of a
 * gmem device page the CPU maps there (see gm_as_refresh()).
 */
void gm_pt_refresh_locked(struct gm_pt *pt, unsigned long start,
			  unsigned long npages, const unsigned long *hmm_pfns)
{
	unsigned long i;

	lockdep_assert_held(&pt->lock);
	for (i = 0; i < npages; i++) {
		unsigned long addr = start + (i << PAGE_SHIFT);
		struct gm_pt_block *block = xa_load(&pt->blocks, gm_pt_index(addr));
		u8 *loc = block ? &block->loc[gm_pt_slot(addr)] : NULL;
		struct gm_dev *dev = NULL;

		if (hmm_pfns[i] & HMM_PFN_VALID)
			dev = gm_page_dev(hmm_pfn_to_page(hmm_pfns[i]));
		if (!loc)
			continue;
		if (*loc & GM_PT_STALE) {
			if (!(hmm_pfns[i] & HMM_PFN_VALID))
				*loc = GMEM_LOC_NONE;
			else
				*loc = dev ? GMEM_LOC_DEV(dev->id) : GMEM_LOC_HOST;
		} else if (*loc == GMEM_LOC_NONE && dev) {
			*loc = GMEM_LOC_DEV(dev->id);
		}
	}
}
