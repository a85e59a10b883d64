// SPDX-License-Identifier: GPL-2.0
/*
 * Migrations of an attached process's memory, and where its pages are:
 * the exported calls that move a context's range through the migration
 * layer (gm_migrate.c), with the address space's logical page table as
 * the tracker that records the outcome, and read that table back.
 */
#include <linux/export.h>
#include <linux/mm.h>
#include "gm_internal.h"

/**
 * gm_migrate_to_dev() - move a virtual range into a device's memory
 * @ctx: the calling device's context: the process whose range it is
 * @dev: the device to move to: @ctx's own (NULL says so), or another one
 *	attached to the same process (a placement hint across devices)
 * @start: page-aligned start of the range
 * @len: page-aligned length in bytes
 * @res: filled with what moved
 *
 * Every page of the range that is in host RAM (or was never touched, which
 * becomes a zeroed device page) moves to @dev, batch by batch through its
 * copy engine.  Pages that cannot move stay valid where they are and are
 * counted in @res->not_moved; when device memory runs out the migration
 * stops moving there, which is not an error, and counts the rest.
 *
 * Only pages the process maps alone move: a page it still shares
 * copy-on-write with a parent or child after fork(), or that KSM merged,
 * stays in host RAM, since moving it would move another process's memory
 * too; so do the pages of locked (mlock()ed) memory.  Both count as not
 * moved.  For a range nobody else changes meanwhile, @res->moved,
 * @res->not_moved and the pages already on @dev add up to the range.
 *
 * Context: process context, may sleep; takes the mmap lock for read.
 * Return: 0 (see @res for partial success), -EINVAL or -EOVERFLOW for a
 * bad range, -EFAULT if part of it is not mapped, -EOPNOTSUPP if part of it
 * is a shared, hugetlb or special mapping, -ENOSPC if it is larger than the
 * whole device memory, -ENXIO if @dev is not attached to @ctx's process,
 * -ENODEV if @dev has no memory or was destroyed, -ESRCH if the process
 * exited, -EINTR, -ENOMEM.
 */
int gm_migrate_to_dev(struct gm_ctx *ctx, struct gm_dev *dev,
		      unsigned long start, unsigned long len,
		      struct gm_migrate_result *res)
{
	struct gm_as *as = ctx->as;
	int err;

	might_sleep();
	memset(res, 0, sizeof(*res));
	err = gm_check_range(start, len);
	if (err)
		return err;
	if (!dev)
		dev = ctx->dev;
	else if (dev != ctx->dev && !gm_as_has_dev(as, dev))
		return -ENXIO;

	return gm_migrate_range_to_dev(gm_as_mm(as), dev, start, len,
				       &as->pt.tracker, res);
}
EXPORT_SYMBOL_GPL(gm_migrate_to_dev);

/**
 * gm_migrate_to_host() - move a virtual range back to host RAM
 * @ctx: the calling device's context: the process whose range it is
 * @start: page-aligned start of the range
 * @len: page-aligned length in bytes
 * @res: filled with what moved
 *
 * Every page of the range that lives in the memory of any gmem device,
 * coherent or private, moves to host RAM, copied by the engine of the
 * device that holds it, whoever else maps it: host RAM is where a CPU
 * access of any of its processes would bring it anyway.  Pages already in
 * host RAM count in neither field of @res.
 *
 * Context: process context, may sleep; takes the mmap lock for read.
 * Return: 0 (see @res for partial success), -EINVAL or -EOVERFLOW for a
 * bad range, -EFAULT if part of it is not mapped, -EOPNOTSUPP if part of it
 * is a shared, hugetlb or special mapping, -ESRCH if the process exited,
 * -EINTR, -ENOMEM.
 */
int gm_migrate_to_host(struct gm_ctx *ctx, unsigned long start,
		       unsigned long len, struct gm_migrate_result *res)
{
	int err;

	might_sleep();
	memset(res, 0, sizeof(*res));
	err = gm_check_range(start, len);
	if (err)
		return err;
	return gm_migrate_range_to_host(gm_as_mm(ctx->as), start, len,
					&ctx->as->pt.tracker, res);
}
EXPORT_SYMBOL_GPL(gm_migrate_to_host);

/**
 * gm_ctx_query() - read where gmem placed a range of pages
 * @ctx: a context of the process whose range it is
 * @start: page-aligned start
 * @npages: number of pages, not zero
 * @locs: filled with one GMEM_LOC_* code per page
 *
 * Entries that an invalidation left in doubt are first checked against the
 * CPU page table, so the answer is exact for pages nobody moves meanwhile.
 *
 * Context: process context, may sleep; takes the mmap lock for read.
 * Return: 0, -EINVAL or -EOVERFLOW for a bad range, -ENOMEM, -EBUSY if the
 * range kept changing while it was being checked.
 */
int gm_ctx_query(struct gm_ctx *ctx, unsigned long start,
		 unsigned long npages, u8 *locs)
{
	struct gm_as *as = ctx->as;
	int err;

	might_sleep();
	if (npages > TASK_SIZE >> PAGE_SHIFT)
		return -EOVERFLOW;
	err = gm_check_range(start, npages << PAGE_SHIFT);
	if (err)
		return err;
	err = gm_as_refresh(as, start, npages);
	if (err)
		return err;
	gm_pt_read(&as->pt, start, npages, locs);
	return 0;
}
EXPORT_SYMBOL_GPL(gm_ctx_query);
