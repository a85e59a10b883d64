// SPDX-License-Identifier: GPL-2.0
/*
 * Address spaces: one struct gm_as per mm, found or created through
 * mmu_notifier_get() (so the mm core keeps the one-per-mm map for us and
 * the notifier's refcount is the as's), and the contexts that attach
 * devices to it.
 */
#include <linux/export.h>
#include <linux/hashtable.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include "gm_internal.h"

/*
 * Every live gm_as by mm, for the one path that has an mm but no
 * reference on its as: a CPU fault on a device-private page, which runs
 * under the mmap lock and so cannot use mmu_notifier_get().  The lock is
 * taken with the page table lock nested inside it, never the other way.
 */
#define GM_AS_REGISTRY_BITS	6
static DEFINE_HASHTABLE(gm_as_registry, GM_AS_REGISTRY_BITS);
static DEFINE_SPINLOCK(gm_as_registry_lock);

static struct gm_as *gm_as_from_mn(struct mmu_notifier *mn)
{
	return container_of(mn, struct gm_as, mn);
}

/*
 * Keep the logical page table honest: an unmap forgets the pages, any other
 * invalidation that may move or drop them marks them stale.  gmem's own
 * migrations announce themselves with the gmem pgmap owner and record their
 * outcome themselves; pure permission changes (mprotect, fork's
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
		if (range->owner == &gm_pgmap_owner)
			return 0;
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
	spin_lock(&gm_as_registry_lock);
	hash_add(gm_as_registry, &as->registry, (unsigned long)mm);
	spin_unlock(&gm_as_registry_lock);
	return &as->mn;
}

/* Called from an SRCU callback once no notifier call can be running. */
static void gm_as_free_notifier(struct mmu_notifier *mn)
{
	struct gm_as *as = gm_as_from_mn(mn);

	spin_lock(&gm_as_registry_lock);
	hash_del(&as->registry);
	spin_unlock(&gm_as_registry_lock);

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
struct gm_as *gm_as_get(struct mm_struct *mm)
{
	struct mmu_notifier *mn;

	might_sleep();
	mn = mmu_notifier_get(&gm_as_mn_ops, mm);
	if (IS_ERR(mn))
		return ERR_CAST(mn);
	return gm_as_from_mn(mn);
}
EXPORT_SYMBOL_GPL(gm_as_get);

/**
 * gm_as_put() - drop a reference taken by gm_as_get()
 * @as: the address space
 *
 * The address space is freed after the last put, once the mmu notifier's
 * SRCU grace period has passed.
 *
 * Context: process context, may sleep.
 */
void gm_as_put(struct gm_as *as)
{
	might_sleep();
	mmu_notifier_put(&as->mn);
}
EXPORT_SYMBOL_GPL(gm_as_put);

/**
 * gm_as_is_current() - is this the address space of the calling process?
 * @as: the address space
 *
 * Drivers use it to refuse requests from a process that inherited or was
 * passed a file attached to another process's memory.
 *
 * Return: true if @as belongs to current->mm.
 */
bool gm_as_is_current(const struct gm_as *as)
{
	return gm_as_mm(as) == current->mm;
}
EXPORT_SYMBOL_GPL(gm_as_is_current);

/**
 * gm_as_attach() - attach a device to an address space
 * @as: the address space
 * @dev: the device
 *
 * The context holds its own references on @as and @dev; the caller may put
 * its @as reference afterwards.
 *
 * Context: process context, may sleep.
 * For a device with page tables, the context then mirrors the address
 * space: see gm_dev_fault().
 *
 * Return: the context, or ERR_PTR(-EBUSY) if @dev is already attached to
 * @as, -ENODEV if @dev was destroyed, -ESRCH if the process has exited,
 * -ENOMEM, or the error of gm_mmu.pmap_create.
 */
struct gm_ctx *gm_as_attach(struct gm_as *as, struct gm_dev *dev)
{
	struct mm_struct *mm = gm_as_mm(as);
	struct gm_ctx *ctx, *other;
	struct gm_as *ref;
	int err = 0;

	might_sleep();
	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return ERR_PTR(-ENOMEM);

	if (!mmget_not_zero(mm)) {
		kfree(ctx);
		return ERR_PTR(-ESRCH);
	}
	ref = gm_as_get(mm);
	if (IS_ERR(ref)) {
		err = PTR_ERR(ref);
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
	gm_dev_get(dev);
	mmput(mm);
	return ctx;

err_unlist:
	mutex_lock(&as->ctx_lock);
	list_del(&ctx->node);
	mutex_unlock(&as->ctx_lock);
err_put:
	gm_as_put(ref);
err_mmput:
	mmput(mm);
	kfree(ctx);
	return ERR_PTR(err);
}
EXPORT_SYMBOL_GPL(gm_as_attach);

/**
 * gm_as_detach() - undo gm_as_attach()
 * @ctx: the context
 *
 * Pages already migrated to the device stay there: they belong to the
 * process, which can still use them, migrate them back, or free them.
 * No other call on @ctx may run during or after this one.
 *
 * Context: process context, may sleep.
 */
void gm_as_detach(struct gm_ctx *ctx)
{
	struct gm_as *as = ctx->as;

	might_sleep();
	gm_ctx_map_fini(ctx);
	mutex_lock(&as->ctx_lock);
	list_del(&ctx->node);
	mutex_unlock(&as->ctx_lock);

	gm_dev_put(ctx->dev);
	kfree(ctx);
	gm_as_put(as);
}
EXPORT_SYMBOL_GPL(gm_as_detach);

/**
 * gm_ctx_as() - the address space of a context
 * @ctx: the context
 *
 * Return: the address space; valid as long as @ctx is attached.
 */
struct gm_as *gm_ctx_as(const struct gm_ctx *ctx)
{
	return ctx->as;
}
EXPORT_SYMBOL_GPL(gm_ctx_as);

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
 * A page of @mm at @addr came back from device-private memory to host RAM
 * outside gmem's own migrations (a CPU fault): record it, so that the
 * logical page table does not go on placing it on the device.
 */
void gm_as_note_host(struct mm_struct *mm, unsigned long addr)
{
	struct gm_as *as;

	spin_lock(&gm_as_registry_lock);
	hash_for_each_possible(gm_as_registry, as, registry, (unsigned long)mm)
		if (gm_as_mm(as) == mm)
			gm_pt_note_host(&as->pt, addr);
	spin_unlock(&gm_as_registry_lock);
}

/* Module exit: wait for the SRCU callbacks that free address spaces. */
void gm_as_exit(void)
{
	mmu_notifier_synchronize();
}
