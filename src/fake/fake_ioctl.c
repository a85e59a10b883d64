// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/gmem_fakeN: the ioctl interface of include/uapi/linux/gmem_fake.h.
 * Each open file can attach the opening process's address space once; the
 * attachment is only usable by that process.
 */
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/gmem_fake.h>
#include "fake.h"

/**
 * struct gmem_fake_file - an open /dev/gmem_fakeN
 * @fdev: the device
 * @ctx_rwsem: held for write to attach or detach, for read to use @ctx
 * @ctx: the attachment, NULL before GMEM_FAKE_IOC_ATTACH
 */
struct gmem_fake_file {
	struct gmem_fake_dev *fdev;
	struct rw_semaphore ctx_rwsem;
	struct gm_ctx *ctx;
};

static int gmem_fake_open(struct inode *inode, struct file *file)
{
	struct miscdevice *misc = file->private_data;
	struct gmem_fake_file *ff;

	ff = kzalloc(sizeof(*ff), GFP_KERNEL);
	if (!ff)
		return -ENOMEM;
	ff->fdev = container_of(misc, struct gmem_fake_dev, misc);
	init_rwsem(&ff->ctx_rwsem);
	file->private_data = ff;
	return nonseekable_open(inode, file);
}

static int gmem_fake_release(struct inode *inode, struct file *file)
{
	struct gmem_fake_file *ff = file->private_data;

	if (ff->ctx)
		gm_as_detach(ff->ctx);
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
	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long gmem_fake_attach(struct gmem_fake_file *ff)
{
	struct gm_ctx *ctx;
	struct gm_as *as;
	long ret = 0;

	down_write(&ff->ctx_rwsem);
	if (ff->ctx) {
		ret = -EBUSY;
		goto out;
	}
	as = gm_as_get(current->mm);
	if (IS_ERR(as)) {
		ret = PTR_ERR(as);
		goto out;
	}
	ctx = gm_as_attach(as, ff->fdev->gm);
	gm_as_put(as);
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
	else if (!gm_as_is_current(gm_ctx_as(ff->ctx)))
		ret = -EACCES;
	else
		gm_as_detach(ff->ctx);
	if (!ret)
		ff->ctx = NULL;
	up_write(&ff->ctx_rwsem);
	return ret;
}

/* The attached address space, if the caller may use it; ctx_rwsem held. */
static struct gm_as *gmem_fake_caller_as(struct gmem_fake_file *ff, long *err)
{
	if (!ff->ctx) {
		*err = -ENOTCONN;
		return NULL;
	}
	if (!gm_as_is_current(gm_ctx_as(ff->ctx))) {
		*err = -EACCES;
		return NULL;
	}
	return gm_ctx_as(ff->ctx);
}

static long gmem_fake_migrate(struct gmem_fake_file *ff, void __user *uarg)
{
	struct gmem_fake_migrate arg;
	struct gm_migrate_result res;
	struct gmem_fake_dev *dest;
	struct gm_as *as;
	long ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags)
		return -EINVAL;

	down_read(&ff->ctx_rwsem);
	as = gmem_fake_caller_as(ff, &ret);
	if (!as)
		goto out;
	if (arg.dest == GMEM_FAKE_DEST_HOST) {
		ret = gm_migrate_to_host(as, arg.addr, arg.length, &res);
	} else {
		dest = gmem_fake_dev_by_index(arg.dest);
		if (dest)
			ret = gm_migrate_to_dev(as, dest->gm, arg.addr,
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
	struct gm_as *as;
	u8 *locs;
	long ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (!arg.npages || arg.npages > GMEM_FAKE_QUERY_MAX)
		return -EINVAL;

	locs = kvmalloc(arg.npages, GFP_KERNEL);
	if (!locs)
		return -ENOMEM;

	down_read(&ff->ctx_rwsem);
	as = gmem_fake_caller_as(ff, &ret);
	if (as)
		ret = gm_as_query(as, arg.addr, arg.npages, locs);
	up_read(&ff->ctx_rwsem);

	if (!ret && copy_to_user(u64_to_user_ptr(arg.locs), locs, arg.npages))
		ret = -EFAULT;
	kvfree(locs);
	return ret;
}

static long gmem_fake_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct gmem_fake_file *ff = file->private_data;
	void __user *uarg = (void __user *)arg;

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
	default:
		return -ENOTTY;
	}
}

const struct file_operations gmem_fake_fops = {
	.owner = THIS_MODULE,
	.open = gmem_fake_open,
	.release = gmem_fake_release,
	.unlocked_ioctl = gmem_fake_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};
