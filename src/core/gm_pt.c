// SPDX-License-Identifier: GPL-2.0
/*
 * The logical page table: for every virtual page gmem manages in an
 * address space, one byte saying where gmem last placed it (a GMEM_LOC_*
 * code).  Bytes are grouped in blocks covering 2 MiB of virtual space, kept
 * in an xarray indexed by address >> GM_PT_BLOCK_SHIFT, so the table costs
 * one byte per tracked page plus one xarray slot per 2 MiB.
 *
 * The table records gmem's own placements.  Any invalidation that can move
 * or drop a page behind gmem's back (munmap, MADV_DONTNEED, CoW, foreign
 * migration, swap) resets the covered entries to GMEM_LOC_NONE: "gmem no
 * longer knows", which callers read as "the CPU's page, if any".
 */
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

void gm_pt_init(struct gm_pt *pt)
{
	spin_lock_init(&pt->lock);
	xa_init(&pt->blocks);
	INIT_LIST_HEAD(&pt->inflight);
}

void gm_pt_destroy(struct gm_pt *pt)
{
	struct gm_pt_block *block;
	unsigned long index;

	xa_for_each(&pt->blocks, index, block)
		kfree(block);
	xa_destroy(&pt->blocks);
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

void gm_pt_set_locked(struct gm_pt *pt, unsigned long addr, u8 loc)
{
	struct gm_pt_block *block;

	lockdep_assert_held(&pt->lock);
	block = xa_load(&pt->blocks, gm_pt_index(addr));
	if (!WARN_ON_ONCE(!block))
		block->loc[gm_pt_slot(addr)] = loc;
}

/*
 * Forget [start, end): called from the address space's mmu notifier, so it
 * must not sleep.  Migration batches in flight over the range learn that
 * their outcome can no longer be trusted.
 */
void gm_pt_invalidate(struct gm_pt *pt, unsigned long start, unsigned long end)
{
	struct gm_pt_inflight *f;
	struct gm_pt_block *block;
	unsigned long index, addr, next;

	spin_lock(&pt->lock);
	list_for_each_entry(f, &pt->inflight, node)
		if (f->start < end && start < f->end)
			f->invalidated = true;

	xa_for_each_range(&pt->blocks, index, block, gm_pt_index(start),
			  gm_pt_index(end - 1)) {
		addr = max(start, index << GM_PT_BLOCK_SHIFT);
		next = min(end, (index + 1) << GM_PT_BLOCK_SHIFT);
		memset(&block->loc[gm_pt_slot(addr)], GMEM_LOC_NONE,
		       (next - addr) >> PAGE_SHIFT);
	}
	spin_unlock(&pt->lock);
}

/* Announce a migration batch over [start, end) to gm_pt_invalidate(). */
void gm_pt_inflight_begin(struct gm_pt *pt, struct gm_pt_inflight *f,
			  unsigned long start, unsigned long end)
{
	f->start = start;
	f->end = end;
	f->invalidated = false;
	spin_lock(&pt->lock);
	list_add(&f->node, &pt->inflight);
	spin_unlock(&pt->lock);
}

/*
 * Take the batch off the inflight list; with pt->lock held so that the
 * caller can record the outcome atomically with the check.  Returns true
 * if the outcome may be recorded, false if an invalidation raced with it.
 */
bool gm_pt_inflight_end_locked(struct gm_pt *pt, struct gm_pt_inflight *f)
{
	lockdep_assert_held(&pt->lock);
	list_del(&f->node);
	return !f->invalidated;
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

		if (block)
			memcpy(locs, &block->loc[gm_pt_slot(addr)], n);
		else
			memset(locs, GMEM_LOC_NONE, n);
		locs += n;
		addr = next;
	}
	spin_unlock(&pt->lock);
}
