// SPDX-License-Identifier: GPL-2.0
/*
 * gmem_fake.ko: module parameters and the life of each fake device.
 *
 *   modprobe gmem_fake num_devices=2 \
 *	devmem_base=0x100000000,0x110000000 devmem_size=0x10000000
 *
 * Each device gets the physical range devmem_base[i], of devmem_size[i]
 * bytes (one size for all devices if only one is given).  The ranges must
 * be RAM the kernel does not use, e.g. reserved with
 * memmap=1G$0x100000000 on its command line.
 *
 * With dmirror=1 it also creates /dev/hmm_dmirror0-3, the devices of the
 * kernel's lib/test_hmm: 0-1 with private memory (dmirror_private_size
 * bytes each, where the kernel has CONFIG_DEVICE_PRIVATE; without memory
 * elsewhere) and 2-3 with the coherent ranges dmirror_coherent_base[0-1]
 * of dmirror_coherent_size bytes.  dmirror_private then reads Y if 0-1 got
 * their memory.
 */
#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include "fake.h"

static unsigned int num_devices = 1;
module_param(num_devices, uint, 0444);
MODULE_PARM_DESC(num_devices, "number of fake devices (1-8)");

static unsigned long devmem_base[GMEM_FAKE_MAX_DEVICES];
static unsigned int num_bases;
module_param_array(devmem_base, ulong, &num_bases, 0444);
MODULE_PARM_DESC(devmem_base, "physical base of each device's memory (2 MiB aligned)");

static unsigned long devmem_size[GMEM_FAKE_MAX_DEVICES];
static unsigned int num_sizes;
module_param_array(devmem_size, ulong, &num_sizes, 0444);
MODULE_PARM_DESC(devmem_size, "bytes of device memory, per device or one for all");

static bool dmirror;
module_param(dmirror, bool, 0444);
MODULE_PARM_DESC(dmirror, "also create the test_hmm devices /dev/hmm_dmirror0-3");

static unsigned long dmirror_coherent_base[2];
static unsigned int num_dmirror_bases;
module_param_array(dmirror_coherent_base, ulong, &num_dmirror_bases, 0444);
MODULE_PARM_DESC(dmirror_coherent_base, "physical base of the memory of hmm_dmirror2 and 3");

static unsigned long dmirror_coherent_size = SZ_256M;
module_param(dmirror_coherent_size, ulong, 0444);
MODULE_PARM_DESC(dmirror_coherent_size, "bytes of coherent memory of hmm_dmirror2 and 3");

static unsigned long dmirror_private_size = SZ_64M;
module_param(dmirror_private_size, ulong, 0444);
MODULE_PARM_DESC(dmirror_private_size, "bytes of private memory of hmm_dmirror0 and 1");

static bool dmirror_private;
module_param(dmirror_private, bool, 0444);
MODULE_PARM_DESC(dmirror_private, "read-only: hmm_dmirror0 and 1 have private memory");

static bool dmirror_huge;
module_param(dmirror_huge, bool, 0444);
MODULE_PARM_DESC(dmirror_huge, "read-only: that private memory holds huge pages");

static struct gmem_fake_dev *gmem_fake_devs[GMEM_FAKE_MAX_DEVICES];
static struct gmem_fake_dev *gmem_fake_dmirrors[GMEM_FAKE_DMIRRORS];

struct gmem_fake_dev *gmem_fake_dev_by_index(unsigned int index)
{
	return index < num_devices ? gmem_fake_devs[index] : NULL;
}

static int gmem_fake_check_params(void)
{
	if (!num_devices || num_devices > GMEM_FAKE_MAX_DEVICES) {
		pr_err("gmem_fake: num_devices must be 1..%d\n",
		       GMEM_FAKE_MAX_DEVICES);
		return -EINVAL;
	}
	if (num_bases != num_devices) {
		pr_err("gmem_fake: devmem_base needs %u addresses, got %u\n",
		       num_devices, num_bases);
		return -EINVAL;
	}
	if (num_sizes != 1 && num_sizes != num_devices) {
		pr_err("gmem_fake: devmem_size needs 1 or %u sizes, got %u\n",
		       num_devices, num_sizes);
		return -EINVAL;
	}
	if (dmirror && num_dmirror_bases != 2) {
		pr_err("gmem_fake: dmirror needs 2 dmirror_coherent_base addresses, got %u\n",
		       num_dmirror_bases);
		return -EINVAL;
	}
	return 0;
}

static void gmem_fake_dev_destroy(struct gmem_fake_dev *fdev)
{
	misc_deregister(&fdev->misc);
	/* gmem evicts device memory through the engine: destroy it last. */
	gm_dev_destroy(fdev->gm);
	gmem_fake_engine_fini(fdev);
	platform_device_unregister(fdev->pdev);
	vfree(fdev->vram);
	kfree(fdev);
}

/* Give @fdev the memory it was configured with; private needs its VRAM. */
static int gmem_fake_dev_add_memory(struct gmem_fake_dev *fdev)
{
	int err;

	if (!fdev->mem_type)
		return 0;
	if (fdev->mem_type == GM_MEM_PRIVATE) {
		fdev->vram = vzalloc(fdev->devmem_size);
		if (!fdev->vram)
			return -ENOMEM;
	}
	err = gm_dev_register_physmem(fdev->gm, fdev->mem_type,
				      fdev->devmem_phys, fdev->devmem_size);
	if (err)
		pr_err("gmem_fake: %s: cannot use %#llx+%#llx as device memory: %d (%s)\n",
		       fdev->name, (u64)fdev->devmem_phys, fdev->devmem_size,
		       err,
		       err == -EINVAL ? "not 2 MiB aligned or empty" :
		       err == -EBUSY ? "System RAM or claimed by a driver" :
		       err == -EOPNOTSUPP ? "kernel without CONFIG_DEVICE_PRIVATE" :
		       "see gm_dev_register_physmem()");
	return err;
}

/**
 * gmem_fake_dev_create() - create one fake device and its node
 * @fdev: name, memory and @fdev->index filled in by the caller, which
 *	gives up ownership: @fdev is freed on error
 * @mmu: its callbacks
 * @fops: its node's file operations
 *
 * Return: @fdev or an ERR_PTR().
 */
static struct gmem_fake_dev *gmem_fake_dev_create(struct gmem_fake_dev *fdev,
						  const struct gm_mmu *mmu,
						  const struct file_operations *fops)
{
	int err;

	/* The bus device a real accelerator's driver would bind to. */
	fdev->pdev = platform_device_register_simple(fdev->name,
						     PLATFORM_DEVID_NONE,
						     NULL, 0);
	if (IS_ERR(fdev->pdev)) {
		err = PTR_ERR(fdev->pdev);
		goto err_free;
	}
	/* Its engine and MMU reach all of memory: no bounce buffers. */
	err = dma_set_mask_and_coherent(&fdev->pdev->dev, DMA_BIT_MASK(64));
	if (err)
		goto err_pdev;
	err = gmem_fake_engine_init(fdev);
	if (err)
		goto err_pdev;

	fdev->gm = gm_dev_create(&fdev->pdev->dev, mmu, fdev->name, fdev);
	if (IS_ERR(fdev->gm)) {
		err = PTR_ERR(fdev->gm);
		goto err_engine;
	}

	err = gmem_fake_dev_add_memory(fdev);
	if (err)
		goto err_gm;

	fdev->misc.minor = MISC_DYNAMIC_MINOR;
	fdev->misc.name = fdev->name;
	fdev->misc.fops = fops;
	fdev->misc.mode = 0600;
	fdev->misc.parent = &fdev->pdev->dev;
	err = misc_register(&fdev->misc);
	if (err)
		goto err_gm;
	return fdev;

err_gm:
	gm_dev_destroy(fdev->gm);
err_engine:
	gmem_fake_engine_fini(fdev);
err_pdev:
	platform_device_unregister(fdev->pdev);
err_free:
	vfree(fdev->vram);
	kfree(fdev);
	return ERR_PTR(err);
}

static struct gmem_fake_dev *gmem_fake_plain_create(unsigned int index)
{
	struct gmem_fake_dev *fdev = kzalloc(sizeof(*fdev), GFP_KERNEL);

	if (!fdev)
		return ERR_PTR(-ENOMEM);
	fdev->index = index;
	fdev->mem_type = GM_MEM_COHERENT;
	fdev->devmem_phys = devmem_base[index];
	fdev->devmem_size = devmem_size[num_sizes == 1 ? 0 : index];
	snprintf(fdev->name, sizeof(fdev->name), "gmem_fake%u", index);
	return gmem_fake_dev_create(fdev, &gmem_fake_mmu, &gmem_fake_fops);
}

/* hmm_dmirror0-1: private memory where the kernel can; 2-3: coherent. */
static struct gmem_fake_dev *gmem_fake_dmirror_create(unsigned int index)
{
	struct gmem_fake_dev *fdev = kzalloc(sizeof(*fdev), GFP_KERNEL);

	if (!fdev)
		return ERR_PTR(-ENOMEM);
	fdev->index = index;
	snprintf(fdev->name, sizeof(fdev->name), "hmm_dmirror%u", index);
	if (index >= 2) {
		fdev->mem_type = GM_MEM_COHERENT;
		fdev->devmem_phys = dmirror_coherent_base[index - 2];
		fdev->devmem_size = dmirror_coherent_size;
	} else if (gm_dev_private_supported()) {
		fdev->mem_type = GM_MEM_PRIVATE;
		fdev->devmem_size = dmirror_private_size;
	}
	/* Device faults never migrate, as in the kernel's lib/test_hmm. */
	fdev->placement = GM_PLACE_IN_PLACE;
	return gmem_fake_dev_create(fdev, &gmem_fake_mmu,
				    &gmem_fake_dmirror_fops);
}

static void gmem_fake_destroy_all(void)
{
	unsigned int i;

	for (i = 0; i < GMEM_FAKE_DMIRRORS; i++) {
		if (gmem_fake_dmirrors[i])
			gmem_fake_dev_destroy(gmem_fake_dmirrors[i]);
		gmem_fake_dmirrors[i] = NULL;
	}
	for (i = 0; i < GMEM_FAKE_MAX_DEVICES; i++) {
		if (gmem_fake_devs[i])
			gmem_fake_dev_destroy(gmem_fake_devs[i]);
		gmem_fake_devs[i] = NULL;
	}
}

/* Every configured device; the caller destroys what exists on error. */
static int gmem_fake_create_all(void)
{
	struct gmem_fake_dev *fdev;
	unsigned int i;

	for (i = 0; i < num_devices; i++) {
		fdev = gmem_fake_plain_create(i);
		if (IS_ERR(fdev))
			return PTR_ERR(fdev);
		gmem_fake_devs[i] = fdev;
	}
	for (i = 0; dmirror && i < GMEM_FAKE_DMIRRORS; i++) {
		fdev = gmem_fake_dmirror_create(i);
		if (IS_ERR(fdev))
			return PTR_ERR(fdev);
		gmem_fake_dmirrors[i] = fdev;
	}
	return 0;
}

static int __init gmem_fake_init(void)
{
	int err;

	err = gmem_fake_check_params();
	if (err)
		return err;
	gmem_fake_debugfs_init();

	err = gmem_fake_create_all();
	if (err) {
		gmem_fake_destroy_all();
		gmem_fake_debugfs_exit();
		return err;
	}
	dmirror_private = dmirror && gmem_fake_dmirrors[0]->mem_type;
	dmirror_huge = dmirror_private && gm_dev_huge_supported();
	return 0;
}

static void __exit gmem_fake_exit(void)
{
	gmem_fake_destroy_all();
	gmem_fake_debugfs_exit();
}

module_init(gmem_fake_init);
module_exit(gmem_fake_exit);

MODULE_DESCRIPTION("gmem fake accelerator for tests");
MODULE_LICENSE("GPL");
