// SPDX-License-Identifier: GPL-2.0
/*
 * Refreshing stale logical page table entries from the CPU page table.
 *
 * A snapshot follows the recipe of Documentation/mm/hmm.rst: a temporary
 * interval notifier over the range, mmu_interval_read_begin(),
 * hmm_range_fault() without faulting anything in, then, under the lock the
 * notifier takes (gm_pt.lock), mmu_interval_read_retry() before the
 * result is used.  This is how lib/test_hmm.c snapshots a range, too.
 */
#include <linux/hmm.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include "gm_internal.h"

/**
 * struct gm_snapshot - a read of the CPU page table over a range
 * @mni: the interval notifier that tells if the read went stale
 * @pt: the table whose lock serialises the notifier and the reader
 */
struct gm_snapshot {
	struct mmu_interval_notifier mni;
	struct gm_pt *pt;
};

static bool gm_snapshot_invalidate(struct mmu_interval_notifier *mni,
				   const struct mmu_notifier_range *range,
				   unsigned long cur_seq)
{
	struct gm_snapshot *snap = container_of(mni, struct gm_snapshot, mni);

	spin_lock(&snap->pt->lock);
	mmu_interval_set_seq(mni, cur_seq);
	spin_unlock(&snap->pt->lock);
	return true;
}

static const struct mmu_interval_notifier_ops gm_snapshot_ops = {
	.invalidate = gm_snapshot_invalidate,
};

/*
 * Read [start, end) of @mm into @pfns, VMA by VMA; addresses outside any
 * VMA read as not present.  Called with the mmap lock held.
 */
static int gm_snapshot_read(struct gm_snapshot *snap, struct mm_struct *mm,
			    unsigned long seq, unsigned long start,
			    unsigned long end, unsigned long *pfns)
{
	unsigned long addr = start;

	mmap_assert_locked(mm);
	while (addr < end) {
		struct vm_area_struct *vma = find_vma(mm, addr);
		struct hmm_range range = {
			.notifier = &snap->mni,
			.notifier_seq = seq,
			/* report device-private pages instead of none */
			.dev_private_owner = &gm_pgmap_owner,
		};
		unsigned long *out = pfns + ((addr - start) >> PAGE_SHIFT);
		int err;

		if (!vma || vma->vm_start >= end) {
			memset(out, 0, ((end - addr) >> PAGE_SHIFT) * sizeof(*out));
			break;
		}
		if (vma->vm_start > addr) {
			memset(out, 0,
			       ((vma->vm_start - addr) >> PAGE_SHIFT) * sizeof(*out));
			addr = vma->vm_start;
			continue;
		}
		range.start = addr;
		range.end = min(end, vma->vm_end);
		range.hmm_pfns = out;
		err = hmm_range_fault(&range);
		if (err)
			return err;
		addr = range.end;
	}
	return 0;
}

/**
 * gm_as_refresh() - check a range's entries against the CPU page table
 * @as: the address space
 * @start: page-aligned start
 * @npages: pages in the range
 *
 * Stale entries take what the CPU page table maps now.  Entries without a
 * record (GMEM_LOC_NONE) take the device of a gmem device page found there:
 * mremap() moves pages without telling where to (the notifier only sees
 * the old range go), and a page table of the CPU is the only place that
 * knows where device pages went.
 *
 * Context: process context, may sleep; takes the mmap lock for read.
 * Return: 0, -ENOMEM, or -EBUSY if the range kept being invalidated (see
 * struct gm_retry).  An exited process has nothing to refresh.
 */
int gm_as_refresh(struct gm_as *as, unsigned long start, unsigned long npages)
{
	unsigned long end = start + (npages << PAGE_SHIFT), seq, *pfns;
	struct mm_struct *mm = gm_as_mm(as);
	struct gm_snapshot snap = { .pt = &as->pt };
	struct gm_retry retry;
	int err;

	if (!gm_pt_needs_refresh(&as->pt, start, npages) || !mmget_not_zero(mm))
		return 0;

	err = -ENOMEM;
	pfns = kvcalloc(npages, sizeof(*pfns), GM_GFP_MAY_FAIL);
	if (!pfns)
		goto out_mmput;
	err = mmu_interval_notifier_insert(&snap.mni, mm, start, end - start,
					   &gm_snapshot_ops);
	if (err)
		goto out_free;

	gm_retry_init(&retry);
	for (;;) {
		seq = mmu_interval_read_begin(&snap.mni);
		mmap_read_lock(mm);
		err = gm_snapshot_read(&snap, mm, seq, start, end, pfns);
		mmap_read_unlock(mm);
		/* Device pages where the table has no block yet need one. */
		if (!err && gm_pt_snapshot_has_dev(npages, pfns))
			err = gm_pt_prepare(&as->pt, start, end);
		if (!err) {
			spin_lock(&as->pt.lock);
			if (!mmu_interval_read_retry(&snap.mni, seq)) {
				gm_pt_refresh_locked(&as->pt, start, npages, pfns);
				spin_unlock(&as->pt.lock);
				break;
			}
			spin_unlock(&as->pt.lock);
		} else if (err != -EBUSY) {
			break;
		}
		if (!gm_retry_again(&retry)) {
			err = -EBUSY;
			break;
		}
	}
	mmu_interval_notifier_remove(&snap.mni);
out_free:
	kvfree(pfns);
out_mmput:
	mmput(mm);
	return err;
}
