// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/gmem_fakeN: the ioctl interface of include/uapi/linux/gmem_fake.h.
 * Each open file can attach the opening process's address space once; the
 * attachment is only usable by that process.
 */
#include <linux/capability.h>
#include <linux/mm.h>
#include <linux/fs.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/gmem_fake.h>
#include "fake.h"

/**
 * struct gmem_fake_file - an open /dev/gmem_fakeN
 * @fdev: the device
 * @ctx_rwsem: held for write to attach or detach, for read to use @ctx
 * @ctx: the attachment, NULL before GMEM_FAKE_IOC_ATTACH
 * @faults: device faults raised by loads and stores through this file
 */
struct gmem_fake_file {
	struct gmem_fake_dev *fdev;
	struct rw_semaphore ctx_rwsem;
	struct gm_ctx *ctx;
	atomic64_t faults;
};

static int gmem_fake_open(struct inode *inode, struct file *file)
{
	struct miscdevice *misc = file->private_data;
	struct gmem_fake_file *ff;

	ff = kzalloc(sizeof(*ff), GFP_KERNEL);
	if (!ff)
		return -ENOMEM;
	ff->fdev = container_of(misc, struct gmem_fake_dev, misc);
	/* misc_open() holds the misc lock: the device is not stopped yet. */
	gmem_fake_dev_get(ff->fdev);
	init_rwsem(&ff->ctx_rwsem);
	file->private_data = ff;
	return nonseekable_open(inode, file);
}

static int gmem_fake_release(struct inode *inode, struct file *file)
{
	struct gmem_fake_file *ff = file->private_data;

	if (ff->ctx)
		gm_ctx_destroy(ff->ctx);
	gmem_fake_dev_put(ff->fdev);
	kfree(ff);
	return 0;
}

static long gmem_fake_info(struct gmem_fake_file *ff, void __user *uarg)
{
	struct gmem_fake_dev *fdev = ff->fdev;
	struct gmem_fake_info info = {};
	struct gm_dev_stats st;

	gm_dev_get_stats(fdev->gm, &st);
	info.abi_version = GMEM_ABI_VERSION;
	info.index = fdev->index;
	info.gm_dev_id = gm_dev_id(fdev->gm);
	info.flags = (fdev->pci ? GMEM_FAKE_INFO_PCI : 0) |
		     (fdev->iommu ? GMEM_FAKE_INFO_IOMMU : 0);
	/* Physical addresses are for the administrator only. */
	info.devmem_phys = capable(CAP_SYS_ADMIN) ? fdev->devmem_phys : 0;
	info.devmem_size = fdev->devmem_size;
	info.total_pages = st.total_pages;
	info.free_pages = st.free_pages;
	info.used_pages = st.used_pages;
	info.to_dev_pages = st.to_dev_pages;
	info.to_host_pages = st.to_host_pages;
	info.evicted_pages = st.evicted_pages;
	info.copy_batches = st.copy_batches;
	info.copy_errors = st.copy_errors;
	info.iova_pages = atomic64_read(&fdev->iova_pages);
	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long gmem_fake_attach(struct gmem_fake_file *ff)
{
	struct gm_ctx *ctx;
	long ret = 0;

	down_write(&ff->ctx_rwsem);
	if (ff->ctx) {
		ret = -EBUSY;
		goto out;
	}
	ctx = gm_ctx_create(ff->fdev->gm, current->mm);
	if (IS_ERR(ctx))
		ret = PTR_ERR(ctx);
	else
		ff->ctx = ctx;
out:
	up_write(&ff->ctx_rwsem);
	return ret;
}

static long gmem_fake_detach(struct gmem_fake_file *ff)
{
	long ret = 0;

	down_write(&ff->ctx_rwsem);
	if (!ff->ctx)
		ret = -ENOTCONN;
	else if (!gm_ctx_is_current(ff->ctx))
		ret = -EACCES;
	else
		gm_ctx_destroy(ff->ctx);
	if (!ret)
		ff->ctx = NULL;
	up_write(&ff->ctx_rwsem);
	return ret;
}

/* The attachment, if the caller may use it; ctx_rwsem held. */
static struct gm_ctx *gmem_fake_caller_ctx(struct gmem_fake_file *ff,
					   long *err)
{
	if (!ff->ctx) {
		*err = -ENOTCONN;
		return NULL;
	}
	if (!gm_ctx_is_current(ff->ctx)) {
		*err = -EACCES;
		return NULL;
	}
	return ff->ctx;
}

static long gmem_fake_migrate(struct gmem_fake_file *ff, void __user *uarg)
{
	struct gmem_fake_migrate arg;
	struct gm_migrate_result res;
	struct gmem_fake_dev *dest;
	struct gm_ctx *ctx;
	long ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags)
		return -EINVAL;

	down_read(&ff->ctx_rwsem);
	ctx = gmem_fake_caller_ctx(ff, &ret);
	if (!ctx)
		goto out;
	if (arg.dest == GMEM_FAKE_DEST_HOST) {
		ret = gm_migrate_to_host(ctx, arg.addr, arg.length, &res);
	} else {
		dest = gmem_fake_dev_by_index(arg.dest);
		if (dest)
			ret = gm_migrate_to_dev(ctx, dest->gm, arg.addr,
						arg.length, &res);
		else
			ret = -ENODEV;
	}
out:
	up_read(&ff->ctx_rwsem);
	if (ret)
		return ret;

	arg.moved = res.moved;
	arg.not_moved = res.not_moved;
	return copy_to_user(uarg, &arg, sizeof(arg)) ? -EFAULT : 0;
}

static long gmem_fake_query(struct gmem_fake_file *ff, void __user *uarg)
{
	struct gmem_fake_query arg;
	struct gm_ctx *ctx;
	u8 *locs;
	long ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (!arg.npages || arg.npages > GMEM_FAKE_QUERY_MAX)
		return -EINVAL;

	locs = kvmalloc(arg.npages, GFP_KERNEL | __GFP_NOWARN);
	if (!locs)
		return -ENOMEM;

	down_read(&ff->ctx_rwsem);
	ctx = gmem_fake_caller_ctx(ff, &ret);
	if (ctx)
		ret = gm_ctx_query(ctx, arg.addr, arg.npages, locs);
	up_read(&ff->ctx_rwsem);

	if (!ret && copy_to_user(u64_to_user_ptr(arg.locs), locs, arg.npages))
		ret = -EFAULT;
	kvfree(locs);
	return ret;
}

static long gmem_fake_access(struct gmem_fake_file *ff, void __user *uarg,
			     bool write)
{
	struct gmem_fake_access arg;
	unsigned long addr, end;
	char __user *ubuf;
	u32 before;
	void *bounce;
	long ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || !arg.length || arg.length > GMEM_FAKE_ACCESS_MAX)
		return -EINVAL;
	if (arg.addr + arg.length < arg.addr || arg.addr + arg.length > TASK_SIZE)
		return -EFAULT;
	bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;

	down_read(&ff->ctx_rwsem);
	if (!gmem_fake_caller_ctx(ff, &ret))
		goto out;
	arg.faults = 0;
	ubuf = u64_to_user_ptr(arg.buf);
	end = arg.addr + arg.length;
	for (addr = arg.addr, ret = 0; addr < end && !ret; ) {
		size_t n = min(end - addr, PAGE_SIZE - offset_in_page(addr));
		size_t done;

		if (write && copy_from_user(bounce, ubuf, n)) {
			ret = -EFAULT;
			break;
		}
		/* A miss faults in what is left of the access, up to 2 MiB. */
		before = arg.faults;
		ret = gmem_fake_dev_access(ff->ctx, addr, bounce, n,
					   write ? GMEM_FAKE_WRITE : 0,
					   min(PAGE_ALIGN(end),
					       (addr & PAGE_MASK) + SZ_2M),
					   &arg.faults, &done);
		atomic64_add(arg.faults - before, &ff->faults);
		if (!ret && !write && copy_to_user(ubuf, bounce, n))
			ret = -EFAULT;
		addr += n;
		ubuf += n;
	}
out:
	up_read(&ff->ctx_rwsem);
	kfree(bounce);
	if (!ret && copy_to_user(uarg, &arg, sizeof(arg)))
		ret = -EFAULT;
	return ret;
}

static long gmem_fake_mmu_stats_ioctl(struct gmem_fake_file *ff,
				      void __user *uarg)
{
	struct gmem_fake_mmu_stats st = {};
	struct gm_ctx_stats cs;
	long ret;

	down_read(&ff->ctx_rwsem);
	if (gmem_fake_caller_ctx(ff, &ret)) {
		gmem_fake_mmu_stats(gm_ctx_pmap(ff->ctx), &st);
		gm_ctx_get_stats(ff->ctx, &cs);
		st.faults = atomic64_read(&ff->faults);
		st.invalidations = cs.invalidations;
		st.notifiers = cs.notifiers;
		st.notifiers_created = cs.notifiers_created;
		st.fault_retries = cs.fault_retries;
		st.fast_faults = cs.fast_faults;
		ret = 0;
	}
	up_read(&ff->ctx_rwsem);
	if (!ret && copy_to_user(uarg, &st, sizeof(st)))
		ret = -EFAULT;
	return ret;
}

static long gmem_fake_unmap(struct gmem_fake_file *ff, void __user *uarg)
{
	struct gm_va_range *ranges;
	struct gmem_fake_range r;
	struct gmem_fake_unmap arg;
	unsigned int i;
	long ret;

	BUILD_BUG_ON(GMEM_FAKE_UNMAP_MAX > GM_UNMAP_MAX_RANGES);
	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || !arg.nr || arg.nr > GMEM_FAKE_UNMAP_MAX)
		return -EINVAL;
	ranges = kmalloc_array(arg.nr, sizeof(*ranges), GFP_KERNEL);
	if (!ranges)
		return -ENOMEM;
	for (i = 0, ret = 0; i < arg.nr; i++) {
		if (copy_from_user(&r, u64_to_user_ptr(arg.ranges) + i * sizeof(r),
				   sizeof(r))) {
			ret = -EFAULT;
			break;
		}
		if (r.addr + r.length < r.addr) {
			ret = -EOVERFLOW;
			break;
		}
		ranges[i].start = r.addr;
		ranges[i].end = r.addr + r.length;
	}

	if (!ret) {
		down_read(&ff->ctx_rwsem);
		if (gmem_fake_caller_ctx(ff, &ret))
			ret = gm_ctx_unmap(ff->ctx, ranges, arg.nr);
		up_read(&ff->ctx_rwsem);
	}
	kfree(ranges);
	return ret;
}

static long gmem_fake_prefetch(struct gmem_fake_file *ff, void __user *uarg)
{
	struct gmem_fake_prefetch arg;
	long ret;
	struct gm_fault_opts opts = { .placement = ff->fdev->placement };

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if ((arg.flags & ~GMEM_FAKE_PREFETCH_FLAGS) || arg.reserved ||
	    (arg.flags & GMEM_FAKE_PREFETCH_IN_PLACE &&
	     arg.flags & GMEM_FAKE_PREFETCH_DEVICE))
		return -EINVAL;
	if (arg.flags & GMEM_FAKE_PREFETCH_IN_PLACE)
		opts.placement = GM_PLACE_IN_PLACE;
	if (arg.flags & GMEM_FAKE_PREFETCH_DEVICE)
		opts.placement = GM_PLACE_DEVICE;

	down_read(&ff->ctx_rwsem);
	if (gmem_fake_caller_ctx(ff, &ret))
		ret = gm_dev_fault(ff->ctx, arg.addr, arg.length,
				   arg.flags & GMEM_FAKE_PREFETCH_WRITE ?
				   GM_PROT_READ | GM_PROT_WRITE : GM_PROT_READ,
				   &opts);
	up_read(&ff->ctx_rwsem);
	return ret;
}

static long gmem_fake_ioctl_entered(struct gmem_fake_file *ff,
				    unsigned int cmd, void __user *uarg)
{
	switch (cmd) {
	case GMEM_FAKE_IOC_INFO:
		return gmem_fake_info(ff, uarg);
	case GMEM_FAKE_IOC_ATTACH:
		return gmem_fake_attach(ff);
	case GMEM_FAKE_IOC_DETACH:
		return gmem_fake_detach(ff);
	case GMEM_FAKE_IOC_MIGRATE:
		return gmem_fake_migrate(ff, uarg);
	case GMEM_FAKE_IOC_QUERY:
		return gmem_fake_query(ff, uarg);
	case GMEM_FAKE_IOC_DEV_READ:
		return gmem_fake_access(ff, uarg, false);
	case GMEM_FAKE_IOC_DEV_WRITE:
		return gmem_fake_access(ff, uarg, true);
	case GMEM_FAKE_IOC_MMU_STATS:
		return gmem_fake_mmu_stats_ioctl(ff, uarg);
	case GMEM_FAKE_IOC_UNMAP:
		return gmem_fake_unmap(ff, uarg);
	case GMEM_FAKE_IOC_PREFETCH:
		return gmem_fake_prefetch(ff, uarg);
	default:
		return -ENOTTY;
	}
}

static long gmem_fake_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct gmem_fake_file *ff = file->private_data;
	long ret;

	if (!gmem_fake_dev_enter(ff->fdev))
		return -ENODEV;
	ret = gmem_fake_ioctl_entered(ff, cmd, (void __user *)arg);
	gmem_fake_dev_exit(ff->fdev);
	return ret;
}

const struct file_operations gmem_fake_fops = {
	.owner = THIS_MODULE,
	.open = gmem_fake_open,
	.release = gmem_fake_release,
	.unlocked_ioctl = gmem_fake_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};
