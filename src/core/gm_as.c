// SPDX-License-Identifier: GPL-2.0
/*
 * Address spaces: one struct gm_as per mm, found or created through
 * mmu_notifier_get() (so the mm core keeps the one-per-mm map for us and
 * the notifier's refcount is the as's), and the contexts that attach
 * devices to it.
 */
#include <linux/export.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include "gm_internal.h"

static struct gm_as *gm_as_from_mn(struct mmu_notifier *mn)
{
	return container_of(mn, struct gm_as, mn);
}

/*
 * Keep the logical page table honest: an unmap forgets the pages, any other
 * invalidation that may move or drop them marks them stale.  Migrations
 * through gmem's pagemaps announce themselves with the gmem pgmap owner:
 * gmem's own batches record their outcome themselves, and what no batch
 * records (a CPU fault on a device-private page) is marked stale too
 * (gm_pt_note_migrate()).  Pure permission changes (mprotect, fork's
 * write-protect, soft-dirty) leave pages where they are.
 */
static int gm_as_invalidate_range_start(struct mmu_notifier *mn,
					const struct mmu_notifier_range *range)
{
	struct gm_as *as = gm_as_from_mn(mn);

	switch (range->event) {
	case MMU_NOTIFY_PROTECTION_VMA:
	case MMU_NOTIFY_PROTECTION_PAGE:
	case MMU_NOTIFY_SOFT_DIRTY:
		return 0;
	case MMU_NOTIFY_MIGRATE:
		if (range->owner == &gm_pgmap_owner) {
			gm_pt_note_migrate(&as->pt, range->start, range->end);
			return 0;
		}
		break;
	default:
		break;
	}
	gm_pt_invalidate(&as->pt, range->start, range->end,
			 range->event == MMU_NOTIFY_UNMAP);
	return 0;
}

/* The mm is being torn down: every page goes, so does the table. */
static void gm_as_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	gm_pt_invalidate(&gm_as_from_mn(mn)->pt, 0, ULONG_MAX & PAGE_MASK, true);
}

static struct mmu_notifier *gm_as_alloc_notifier(struct mm_struct *mm)
{
	struct gm_as *as = kzalloc(sizeof(*as), GFP_KERNEL);

	if (!as)
		return ERR_PTR(-ENOMEM);
	mutex_init(&as->ctx_lock);
	INIT_LIST_HEAD(&as->ctxs);
	gm_pt_init(&as->pt);
	return &as->mn;
}

/* Called from an SRCU callback once no notifier call can be running. */
static void gm_as_free_notifier(struct mmu_notifier *mn)
{
	struct gm_as *as = gm_as_from_mn(mn);

	WARN_ON(!list_empty(&as->ctxs));
	gm_pt_destroy(&as->pt);
	kfree(as);
}

static const struct mmu_notifier_ops gm_as_mn_ops = {
	.release = gm_as_release,
	.invalidate_range_start = gm_as_invalidate_range_start,
	.alloc_notifier = gm_as_alloc_notifier,
	.free_notifier = gm_as_free_notifier,
};

/**
 * gm_as_get() - find or create the gmem address space of an mm
 * @mm: a live mm (the caller holds mm_users, e.g. it is current->mm)
 *
 * Context: process context, may sleep; takes the mmap lock for write.
 * Return: the address space with a reference for the caller, or an
 * ERR_PTR() (-ENOMEM, -EINTR).
 */
static struct gm_as *gm_as_get(struct mm_struct *mm)
{
	struct mmu_notifier *mn;

	might_sleep();
	mn = mmu_notifier_get(&gm_as_mn_ops, mm);
	if (IS_ERR(mn))
		return ERR_CAST(mn);
	return gm_as_from_mn(mn);
}

/**
 * gm_as_put() - drop a reference of gm_as_get()
 * @as: the address space
 *
 * The address space is freed after the last put, once the mmu notifier's
 * SRCU grace period has passed.
 *
 * Context: process context, may sleep.
 */
static void gm_as_put(struct gm_as *as)
{
	might_sleep();
	mmu_notifier_put(&as->mn);
}

/**
 * gm_ctx_create() - attach a device to a process's address space
 * @dev: the device
 * @mm: the process's mm (the caller holds a reference, e.g. it is
 *	current->mm)
 *
 * The context is what every later call for this device and this process
 * takes.  It holds its own references on the address space (created on
 * first use, one per mm, shared by every device attached to it) and on
 * @dev.  For a device with page tables, the context mirrors the address
 * space: see gm_dev_fault().
 *
 * Context: process context, may sleep; takes the mmap lock for write the
 * first time a device attaches to @mm.
 * Return: the context, or ERR_PTR(-EBUSY) if @dev is already attached to
 * @mm, -ENODEV if @dev was destroyed, -ESRCH if the process has exited,
 * -EINTR, -ENOMEM, or the error of gm_mmu.pmap_create.
 */
struct gm_ctx *gm_ctx_create(struct gm_dev *dev, struct mm_struct *mm)
{
	struct gm_ctx *ctx, *other;
	struct gm_as *as;
	int err = 0;

	might_sleep();
	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return ERR_PTR(-ENOMEM);

	if (!mmget_not_zero(mm)) {
		kfree(ctx);
		return ERR_PTR(-ESRCH);
	}
	as = gm_as_get(mm);
	if (IS_ERR(as)) {
		err = PTR_ERR(as);
		goto err_mmput;
	}

	ctx->as = as;
	ctx->dev = dev;
	mutex_lock(&as->ctx_lock);
	list_for_each_entry(other, &as->ctxs, node)
		if (other->dev == dev)
			err = -EBUSY;
	if (READ_ONCE(dev->dead))
		err = -ENODEV;
	if (!err)
		list_add_tail(&ctx->node, &as->ctxs);
	mutex_unlock(&as->ctx_lock);
	if (err)
		goto err_put;

	err = gm_ctx_map_init(ctx);
	if (err)
		goto err_unlist;
	/* Listed before gm_dev_destroy() looks, or it marked @dev dead first. */
	mutex_lock(&dev->ctx_lock);
	if (READ_ONCE(dev->dead)) {
		gm_ctx_map_fini(ctx);
		err = -ENODEV;
	} else {
		list_add_tail(&ctx->dev_node, &dev->ctxs);
	}
	mutex_unlock(&dev->ctx_lock);
	if (err)
		goto err_unlist;
	gm_dev_get(dev);
	mmput(mm);
	return ctx;

err_unlist:
	mutex_lock(&as->ctx_lock);
	list_del(&ctx->node);
	mutex_unlock(&as->ctx_lock);
err_put:
	gm_as_put(as);
err_mmput:
	mmput(mm);
	kfree(ctx);
	return ERR_PTR(err);
}
EXPORT_SYMBOL_GPL(gm_ctx_create);

/**
 * gm_ctx_destroy() - detach a device from an address space
 * @ctx: the context, of gm_ctx_create()
 *
 * The device's mappings go and its page table is destroyed, unless
 * gm_dev_destroy() did that already; then no callback of the device is
 * called.  Pages already migrated to the device stay there: they belong to
 * the process, which can still use them, migrate them back, or free them.
 * No other call on @ctx may run during or after this one.
 *
 * Context: process context, may sleep.
 */
void gm_ctx_destroy(struct gm_ctx *ctx)
{
	struct gm_as *as = ctx->as;

	might_sleep();
	mutex_lock(&ctx->dev->ctx_lock);
	list_del(&ctx->dev_node);
	gm_ctx_map_fini(ctx);
	mutex_unlock(&ctx->dev->ctx_lock);
	mutex_lock(&as->ctx_lock);
	list_del(&ctx->node);
	mutex_unlock(&as->ctx_lock);

	gm_dev_put(ctx->dev);
	kfree(ctx);
	gm_as_put(as);
}
EXPORT_SYMBOL_GPL(gm_ctx_destroy);

/**
 * gm_ctx_is_current() - does the calling process own this context?
 * @ctx: the context
 *
 * Drivers use it to refuse requests from a process that inherited or was
 * passed a file attached to another process's memory.
 *
 * Return: true if @ctx's address space is current->mm's.
 */
bool gm_ctx_is_current(const struct gm_ctx *ctx)
{
	return gm_as_mm(ctx->as) == current->mm;
}
EXPORT_SYMBOL_GPL(gm_ctx_is_current);

/**
 * gm_ctx_dev() - the device of a context
 * @ctx: the context
 *
 * Return: the device; valid as long as @ctx is attached.
 */
struct gm_dev *gm_ctx_dev(const struct gm_ctx *ctx)
{
	return ctx->dev;
}
EXPORT_SYMBOL_GPL(gm_ctx_dev);

/* Is @dev attached to @as? */
bool gm_as_has_dev(struct gm_as *as, const struct gm_dev *dev)
{
	struct gm_ctx *ctx;
	bool found = false;

	mutex_lock(&as->ctx_lock);
	list_for_each_entry(ctx, &as->ctxs, node)
		if (ctx->dev == dev)
			found = true;
	mutex_unlock(&as->ctx_lock);
	return found;
}

/*
 * gm_dev_destroy(): the device goes, its contexts stay until their owners
 * destroy them.  Take the device's side of each down now, while the
 * driver's struct device still exists.
 */
void gm_dev_unplug_ctxs(struct gm_dev *dev)
{
	struct gm_ctx *ctx;

	might_sleep();
	mutex_lock(&dev->ctx_lock);
	list_for_each_entry(ctx, &dev->ctxs, dev_node)
		gm_ctx_map_unplug(ctx);
	mutex_unlock(&dev->ctx_lock);
}

/* Module exit: wait for the SRCU callbacks that free address spaces. */
void gm_as_exit(void)
{
	mmu_notifier_synchronize();
}
