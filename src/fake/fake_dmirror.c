// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/hmm_dmirrorN: the ioctl interface of the kernel's lib/test_hmm
 * (lib/test_hmm_uapi.h), implemented on gmem, so that the upstream
 * tools/testing/selftests/mm/hmm-tests runs unmodified against gmem.
 *
 * Opening the file attaches the opener's address space to the device, as
 * test_hmm does; only that process may use the file.  The device reads and
 * writes memory through the fake MMU and raises a gmem device fault on a
 * miss; migrations, snapshots, device-exclusive access and eviction are
 * gm_migrate_*(), gm_ctx_snapshot(), gm_dev_fault(GM_PROT_ATOMIC) and
 * gm_dev_evict().
 *
 * The ABI (struct hmm_dmirror_cmd, the HMM_DMIRROR_* numbers and snapshot
 * codes) is the kernel's; its definitions are repeated here because
 * test_hmm_uapi.h is not an exported header.  Errors, as test_hmm's where
 * it has them (tests/gmem_badinput_test.c checks them).  Every command:
 *   -ENOTTY   a command this file does not know, including a known number
 *             with another argument size; the argument is not read
 *   -EACCES   the caller is not the process that opened the file
 *   -EFAULT   the argument, or the buffer at cmd.ptr, is bad
 *   -EINVAL   npages zero or above GMEM_DMIRROR_MAX_PAGES, addr unaligned,
 *             the range wraps or leaves the user address space
 *   -ENOMEM
 * and by command:
 *   READ, WRITE       -EFAULT a page the process has not mapped; -EPERM a
 *                     WRITE to memory the process may not write; -EBUSY
 *                     the range kept being invalidated (see struct
 *                     gm_retry); -ESRCH the process exited
 *   MIGRATE_TO_DEV    -EINVAL a page not mapped or not readable; -ENOENT a
 *                     page did not end up in this device (shared, locked,
 *                     busy, memory full); -EBUSY the read-back kept
 *                     changing; -EINTR
 *   MIGRATE_TO_SYS    -EINVAL a page not mapped or not readable;
 *                     -EOPNOTSUPP a shared, hugetlb or special mapping;
 *                     -EINTR
 *   SNAPSHOT          -EFAULT a page not mapped; -EBUSY it kept changing
 *   EXCLUSIVE         -EOPNOTSUPP on a kernel without device-exclusive
 *                     entries; -EBUSY a page could not be made exclusive;
 *                     -EFAULT, -EPERM as READ and WRITE
 *   CHECK_EXCLUSIVE   -EPERM the device still holds a page exclusively
 *   RELEASE           -ENODEV the device has no memory
 *   FLAGS             -EINVAL a flag other than HMM_DMIRROR_FLAG_FAIL_ALLOC
 *                     (the flags travel in cmd.npages, nothing else is
 *                     checked)
 *   READ_UNLOCKED     as READ: gmem's device faults do not hold the mmap
 *                     lock where the kernel can fault a range without it
 *                     (userfaultfd memory then faults in)
 */
#include <linux/hmm.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "fake.h"

struct hmm_dmirror_cmd {
	__u64 addr;
	__u64 ptr;
	__u64 npages;
	__u64 cpages;
	__u64 faults;
};

#define HMM_DMIRROR_READ		_IOWR('H', 0x00, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_WRITE		_IOWR('H', 0x01, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_MIGRATE_TO_DEV	_IOWR('H', 0x02, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_MIGRATE_TO_SYS	_IOWR('H', 0x03, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_SNAPSHOT		_IOWR('H', 0x04, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_EXCLUSIVE		_IOWR('H', 0x05, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_CHECK_EXCLUSIVE	_IOWR('H', 0x06, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_RELEASE		_IOWR('H', 0x07, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_FLAGS		_IOWR('H', 0x08, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_READ_UNLOCKED	_IOWR('H', 0x09, struct hmm_dmirror_cmd)

/* HMM_DMIRROR_FLAGS (in cmd.npages) */
#define HMM_DMIRROR_FLAG_FAIL_ALLOC	BIT_ULL(0)

#define HMM_DMIRROR_PROT_ERROR			0xFF
#define HMM_DMIRROR_PROT_NONE			0x00
#define HMM_DMIRROR_PROT_READ			0x01
#define HMM_DMIRROR_PROT_WRITE			0x02
#define HMM_DMIRROR_PROT_PMD			0x04
#define HMM_DMIRROR_PROT_PUD			0x08
#define HMM_DMIRROR_PROT_ZERO			0x10
#define HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL	0x20
#define HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL	0x40
#define HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE	0x50

/* Largest request: bounds how long one command keeps the device busy. */
#define GMEM_DMIRROR_MAX_PAGES	(SZ_256M >> PAGE_SHIFT)

/*
 * The data of a command moves between the user's buffer and the device
 * through a kernel bounce buffer of this size, one window at a time:
 * test_hmm allocates a bounce buffer as large as the request, so that a
 * command of 200 MiB allocates and maps 51200 pages and then copies out of
 * memory no cache holds anymore.
 */
#define GMEM_DMIRROR_WINDOW	SZ_256K

/* Pages per gm_ctx_snapshot() call. */
#define GMEM_DMIRROR_SNAP_PAGES	512

/**
 * struct gmem_dmirror - an open /dev/hmm_dmirrorN
 * @fdev: the device
 * @ctx: the opener's address space attached to it
 * @flags: HMM_DMIRROR_FLAG_*, set by HMM_DMIRROR_FLAGS
 */
struct gmem_dmirror {
	struct gmem_fake_dev *fdev;
	struct gm_ctx *ctx;
	u64 flags;
};

static int gmem_dmirror_open(struct inode *inode, struct file *file)
{
	struct miscdevice *misc = file->private_data;
	struct gmem_dmirror *dm;
	int err;

	dm = kzalloc(sizeof(*dm), GFP_KERNEL);
	if (!dm)
		return -ENOMEM;
	dm->fdev = container_of(misc, struct gmem_fake_dev, misc);

	/* misc_open() holds the misc lock: the device is not stopped yet. */
	dm->ctx = gm_ctx_create(dm->fdev->gm, current->mm);
	if (IS_ERR(dm->ctx)) {
		err = PTR_ERR(dm->ctx);
		goto err_free;
	}
	gmem_fake_dev_get(dm->fdev);
	file->private_data = dm;
	return nonseekable_open(inode, file);

err_free:
	kfree(dm);
	return err;
}

static int gmem_dmirror_release(struct inode *inode, struct file *file)
{
	struct gmem_dmirror *dm = file->private_data;

	gm_ctx_destroy(dm->ctx);
	gmem_fake_dev_put(dm->fdev);
	kfree(dm);
	return 0;
}

/*
 * The device reads or writes the @cmd->npages pages at @cmd->addr through
 * its MMU (GMEM_FAKE_* @flags), from or to the user's buffer at @cmd->ptr,
 * a window of @bounce at a time; a miss raises a device fault for the rest
 * of the range, as test_hmm does, so that a cold range costs one fault.
 * Pages done are added to @cmd->cpages.  A bad user buffer stops the
 * command at the window it is in (-EFAULT).
 */
static int gmem_dmirror_access(struct gmem_dmirror *dm,
			       struct hmm_dmirror_cmd *cmd, void *bounce,
			       unsigned int flags, u32 *faults)
{
	unsigned long va, end = cmd->addr + (cmd->npages << PAGE_SHIFT);
	u8 __user *uptr = u64_to_user_ptr(cmd->ptr);
	bool write = flags & GMEM_FAKE_WRITE;
	size_t n, done;
	int err = 0;

	for (va = cmd->addr; va < end && !err; va += n, uptr += n) {
		n = min_t(unsigned long, end - va, GMEM_DMIRROR_WINDOW);
		if (write && copy_from_user(bounce, uptr, n))
			return -EFAULT;
		err = gmem_fake_dev_access(dm->ctx, va, bounce, n, flags, end,
					   faults, &done);
		cmd->cpages += done >> PAGE_SHIFT;
		if (!err && !write && copy_to_user(uptr, bounce, n))
			err = -EFAULT;
	}
	return err;
}

static int gmem_dmirror_rw(struct gmem_dmirror *dm, struct hmm_dmirror_cmd *cmd,
			   void *bounce, bool write)
{
	u32 faults = 0;
	int err;

	err = gmem_dmirror_access(dm, cmd, bounce, write ? GMEM_FAKE_WRITE : 0,
				  &faults);
	cmd->faults += faults;
	return err;
}

/* test_hmm's checks before a migration: every page mapped and readable. */
static int gmem_dmirror_check_vmas(unsigned long start, unsigned long end)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	unsigned long addr;
	int err = 0;

	mmap_read_lock(mm);
	for (addr = start; addr < end; addr = vma->vm_end) {
		vma = vma_lookup(mm, addr);
		if (!vma || !(vma->vm_flags & VM_READ)) {
			err = -EINVAL;
			break;
		}
	}
	mmap_read_unlock(mm);
	return err;
}

/*
 * Read back what the device holds of the range, through its MMU from its
 * own memory only: -ENOENT at the first page that is not in it (test_hmm's
 * answer for a page that did not migrate).  Like test_hmm's migration,
 * which maps what it moved, this leaves the range mapped in the device
 * (where it is: nothing moves), so the device's next access finds it.
 */
static int gmem_dmirror_read_local(struct gmem_dmirror *dm,
				   struct hmm_dmirror_cmd *cmd, void *bounce)
{
	u32 faults = 0;
	int err;

	err = gmem_dmirror_access(dm, cmd, bounce, GMEM_FAKE_LOCAL, &faults);
	return err == -EREMOTE ? -ENOENT : err;
}

/*
 * HMM_DMIRROR_FLAG_FAIL_ALLOC makes test_hmm fail the next allocation of a
 * huge device or host page once, to test its fallback to small pages.
 * gmem's allocations are its own, not the driver's, and a driver has no
 * hook to fail them: the flag is taken, and the next migration clears it.
 * gmem's fallbacks are tested by its fault injection instead.
 */
static int gmem_dmirror_set_flags(struct gmem_dmirror *dm, u64 flags)
{
	if (flags & ~HMM_DMIRROR_FLAG_FAIL_ALLOC)
		return -EINVAL;
	WRITE_ONCE(dm->flags, flags);
	return 0;
}

static int gmem_dmirror_migrate_to_dev(struct gmem_dmirror *dm,
				       struct hmm_dmirror_cmd *cmd, void *bounce)
{
	unsigned long len = cmd->npages << PAGE_SHIFT;
	struct gm_migrate_result res;
	int err;

	WRITE_ONCE(dm->flags, 0);
	err = gmem_dmirror_check_vmas(cmd->addr, cmd->addr + len);
	if (err)
		return err;
	/*
	 * Memory that cannot move (shared, file-backed) is not an error
	 * here: the read-back below reports it, as -ENOENT.
	 */
	err = gm_migrate_to_dev(dm->ctx, NULL, cmd->addr, len, &res);
	if (err && err != -EOPNOTSUPP)
		return err;
	return gmem_dmirror_read_local(dm, cmd, bounce);
}

static int gmem_dmirror_migrate_to_sys(struct gmem_dmirror *dm,
				       struct hmm_dmirror_cmd *cmd)
{
	unsigned long len = cmd->npages << PAGE_SHIFT;
	struct gm_migrate_result res;
	int err;

	WRITE_ONCE(dm->flags, 0);
	err = gmem_dmirror_check_vmas(cmd->addr, cmd->addr + len);
	if (err)
		return err;
	err = gm_migrate_to_host(dm->ctx, cmd->addr, len, &res);
	if (err)
		return err;
	cmd->cpages = res.moved;
	return 0;
}

/* test_hmm's encoding of what the CPU page table maps for this device. */
static u8 gmem_dmirror_perm(struct gmem_dmirror *dm, unsigned long pfn)
{
	struct page *page;
	u8 perm;

	if (pfn & HMM_PFN_ERROR)
		return HMM_DMIRROR_PROT_ERROR;
	if (!(pfn & HMM_PFN_VALID))
		return HMM_DMIRROR_PROT_NONE;

	page = hmm_pfn_to_page(pfn);
	if (is_device_private_page(page)) {
		/* Another device's private memory: nothing this one can map. */
		if (gm_page_dev(page) != dm->fdev->gm)
			return HMM_DMIRROR_PROT_NONE;
		perm = HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL;
	} else if (is_device_coherent_page(page)) {
		perm = gm_page_dev(page) == dm->fdev->gm ?
		       HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL :
		       HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE;
	} else if (is_zero_pfn(page_to_pfn(page))) {
		perm = HMM_DMIRROR_PROT_ZERO;
	} else {
		perm = HMM_DMIRROR_PROT_NONE;
	}
	perm |= pfn & HMM_PFN_WRITE ? HMM_DMIRROR_PROT_WRITE :
				      HMM_DMIRROR_PROT_READ;
	if (hmm_pfn_to_map_order(pfn) + PAGE_SHIFT == PMD_SHIFT)
		perm |= HMM_DMIRROR_PROT_PMD;
	else if (hmm_pfn_to_map_order(pfn) + PAGE_SHIFT == PUD_SHIFT)
		perm |= HMM_DMIRROR_PROT_PUD;
	return perm;
}

static int gmem_dmirror_snapshot(struct gmem_dmirror *dm,
				 struct hmm_dmirror_cmd *cmd)
{
	unsigned long addr = cmd->addr, left = cmd->npages, n, i;
	u8 __user *uptr = u64_to_user_ptr(cmd->ptr);
	unsigned long *pfns;
	u8 *perm;
	int err = -ENOMEM;

	pfns = kvcalloc(GMEM_DMIRROR_SNAP_PAGES, sizeof(*pfns),
			GFP_KERNEL | __GFP_NOWARN);
	perm = kmalloc(GMEM_DMIRROR_SNAP_PAGES, GFP_KERNEL);
	if (!pfns || !perm)
		goto out;

	for (err = 0; left && !err; left -= n, addr += n << PAGE_SHIFT) {
		n = min_t(unsigned long, left, GMEM_DMIRROR_SNAP_PAGES);
		err = gm_ctx_snapshot(dm->ctx, addr, n, pfns);
		if (err)
			break;
		for (i = 0; i < n; i++)
			perm[i] = gmem_dmirror_perm(dm, pfns[i]);
		if (copy_to_user(uptr, perm, n))
			err = -EFAULT;
		uptr += n;
		cmd->cpages += n;
	}
out:
	kfree(perm);
	kvfree(pfns);
	return err;
}

static int gmem_dmirror_exclusive(struct gmem_dmirror *dm,
				  struct hmm_dmirror_cmd *cmd, void *bounce)
{
	int err;

	err = gm_dev_fault(dm->ctx, cmd->addr, cmd->npages << PAGE_SHIFT,
			   GM_PROT_READ | GM_PROT_WRITE | GM_PROT_ATOMIC, NULL);
	if (err == -EOPNOTSUPP)
		pr_info_once("gmem_fake: HMM_DMIRROR_EXCLUSIVE: this kernel has no device-exclusive entries (make_device_exclusive() needs CONFIG_DEVICE_PRIVATE)\n");
	if (err)
		return err;
	/* Return what the device now reads, as test_hmm does. */
	err = gmem_dmirror_rw(dm, cmd, bounce, false);
	cmd->faults = 0;
	return err;
}

static int gmem_dmirror_check_exclusive(struct gmem_dmirror *dm,
					struct hmm_dmirror_cmd *cmd)
{
	unsigned long end = cmd->addr + (cmd->npages << PAGE_SHIFT);

	return gmem_fake_mmu_has_atomic(gm_ctx_pmap(dm->ctx), cmd->addr, end) ?
	       -EPERM : 0;
}

/*
 * The commands, each with the size of its argument encoded in it: anything
 * else, a known number with another size included, is not ours (-ENOTTY),
 * whatever its argument points to.
 */
static bool gmem_dmirror_known(unsigned int command)
{
	switch (command) {
	case HMM_DMIRROR_READ:
	case HMM_DMIRROR_WRITE:
	case HMM_DMIRROR_MIGRATE_TO_DEV:
	case HMM_DMIRROR_MIGRATE_TO_SYS:
	case HMM_DMIRROR_SNAPSHOT:
	case HMM_DMIRROR_EXCLUSIVE:
	case HMM_DMIRROR_CHECK_EXCLUSIVE:
	case HMM_DMIRROR_RELEASE:
	case HMM_DMIRROR_FLAGS:
	case HMM_DMIRROR_READ_UNLOCKED:
		return true;
	default:
		return false;
	}
}

/* Commands that move data between the user's buffer and the device. */
static bool gmem_dmirror_has_data(unsigned int command)
{
	return command == HMM_DMIRROR_READ || command == HMM_DMIRROR_WRITE ||
	       command == HMM_DMIRROR_READ_UNLOCKED ||
	       command == HMM_DMIRROR_MIGRATE_TO_DEV ||
	       command == HMM_DMIRROR_EXCLUSIVE;
}

static int gmem_dmirror_do(struct gmem_dmirror *dm, unsigned int command,
			   struct hmm_dmirror_cmd *cmd, void *bounce)
{
	switch (command) {
	case HMM_DMIRROR_READ:
	case HMM_DMIRROR_READ_UNLOCKED:
		return gmem_dmirror_rw(dm, cmd, bounce, false);
	case HMM_DMIRROR_WRITE:
		return gmem_dmirror_rw(dm, cmd, bounce, true);
	case HMM_DMIRROR_MIGRATE_TO_DEV:
		return gmem_dmirror_migrate_to_dev(dm, cmd, bounce);
	case HMM_DMIRROR_MIGRATE_TO_SYS:
		return gmem_dmirror_migrate_to_sys(dm, cmd);
	case HMM_DMIRROR_SNAPSHOT:
		return gmem_dmirror_snapshot(dm, cmd);
	case HMM_DMIRROR_EXCLUSIVE:
		return gmem_dmirror_exclusive(dm, cmd, bounce);
	case HMM_DMIRROR_CHECK_EXCLUSIVE:
		return gmem_dmirror_check_exclusive(dm, cmd);
	default:
		return -ENOTTY;
	}
}

static long gmem_dmirror_ioctl_entered(struct gmem_dmirror *dm,
				       unsigned int command,
				       void __user *uarg)
{
	struct hmm_dmirror_cmd cmd;
	void *bounce = NULL;
	int err;

	if (!gmem_dmirror_known(command))
		return -ENOTTY;
	if (!gm_ctx_is_current(dm->ctx))
		return -EACCES;
	if (command == HMM_DMIRROR_RELEASE) {
		err = gm_dev_evict(dm->fdev->gm);
		return err < 0 ? err : 0;
	}

	if (copy_from_user(&cmd, uarg, sizeof(cmd)))
		return -EFAULT;
	if (command == HMM_DMIRROR_FLAGS)
		return gmem_dmirror_set_flags(dm, cmd.npages);
	if (!cmd.npages || cmd.npages > GMEM_DMIRROR_MAX_PAGES ||
	    !PAGE_ALIGNED(cmd.addr) ||
	    cmd.addr + (cmd.npages << PAGE_SHIFT) < cmd.addr ||
	    cmd.addr + (cmd.npages << PAGE_SHIFT) > TASK_SIZE)
		return -EINVAL;
	cmd.cpages = 0;
	cmd.faults = 0;

	if (gmem_dmirror_has_data(command)) {
		bounce = kvmalloc(min_t(size_t, cmd.npages << PAGE_SHIFT,
					GMEM_DMIRROR_WINDOW), GFP_KERNEL);
		if (!bounce)
			return -ENOMEM;
	}

	err = gmem_dmirror_do(dm, command, &cmd, bounce);
	if (!err && copy_to_user(uarg, &cmd, sizeof(cmd)))
		err = -EFAULT;
	kvfree(bounce);
	return err;
}

static long gmem_dmirror_ioctl(struct file *file, unsigned int command,
			       unsigned long arg)
{
	struct gmem_dmirror *dm = file->private_data;
	long ret;

	if (!gmem_fake_dev_enter(dm->fdev))
		return -ENODEV;
	ret = gmem_dmirror_ioctl_entered(dm, command, (void __user *)arg);
	gmem_fake_dev_exit(dm->fdev);
	return ret;
}

/* test_hmm's mmap: fresh zeroed pages, inserted as a mixed map. */
static int gmem_dmirror_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long addr;
	int err;

	for (addr = vma->vm_start; addr < vma->vm_end; addr += PAGE_SIZE) {
		struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO);

		if (!page)
			return -ENOMEM;
		err = vm_insert_page(vma, addr, page);
		put_page(page);	/* the mapping holds the page now */
		if (err)
			return err;
	}
	return 0;
}

const struct file_operations gmem_fake_dmirror_fops = {
	.owner = THIS_MODULE,
	.open = gmem_dmirror_open,
	.release = gmem_dmirror_release,
	.unlocked_ioctl = gmem_dmirror_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = gmem_dmirror_mmap,
};
