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
 * memmap=512M$0x100000000 on its command line.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
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

static struct gmem_fake_dev *gmem_fake_devs[GMEM_FAKE_MAX_DEVICES];

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
	return 0;
}

static void gmem_fake_dev_destroy(struct gmem_fake_dev *fdev)
{
	misc_deregister(&fdev->misc);
	/* gmem evicts device memory through the engine: destroy it last. */
	gm_dev_destroy(fdev->gm);
	gmem_fake_engine_fini(fdev);
	kfree(fdev);
}

static struct gmem_fake_dev *gmem_fake_dev_create(unsigned int index)
{
	struct gmem_fake_dev *fdev;
	int err;

	fdev = kzalloc(sizeof(*fdev), GFP_KERNEL);
	if (!fdev)
		return ERR_PTR(-ENOMEM);
	fdev->index = index;
	fdev->devmem_phys = devmem_base[index];
	fdev->devmem_size = devmem_size[num_sizes == 1 ? 0 : index];
	snprintf(fdev->name, sizeof(fdev->name), "gmem_fake%u", index);

	err = gmem_fake_engine_init(fdev);
	if (err)
		goto err_free;

	fdev->gm = gm_dev_create(&gmem_fake_mmu, fdev->name, fdev);
	if (IS_ERR(fdev->gm)) {
		err = PTR_ERR(fdev->gm);
		goto err_engine;
	}

	err = gm_dev_register_physmem(fdev->gm, fdev->devmem_phys,
				      fdev->devmem_size);
	if (err) {
		pr_err("gmem_fake: %s: cannot use %#llx+%#llx as device memory: %d (%s)\n",
		       fdev->name, (u64)fdev->devmem_phys, fdev->devmem_size,
		       err,
		       err == -EINVAL ? "not 2 MiB aligned or empty" :
		       err == -EBUSY ? "System RAM or claimed by a driver" :
		       "see gm_dev_register_physmem()");
		goto err_gm;
	}

	fdev->misc.minor = MISC_DYNAMIC_MINOR;
	fdev->misc.name = fdev->name;
	fdev->misc.fops = &gmem_fake_fops;
	fdev->misc.mode = 0600;
	err = misc_register(&fdev->misc);
	if (err)
		goto err_gm;
	return fdev;

err_gm:
	gm_dev_destroy(fdev->gm);
err_engine:
	gmem_fake_engine_fini(fdev);
err_free:
	kfree(fdev);
	return ERR_PTR(err);
}

static void gmem_fake_destroy_all(void)
{
	unsigned int i;

	for (i = 0; i < GMEM_FAKE_MAX_DEVICES; i++) {
		if (gmem_fake_devs[i])
			gmem_fake_dev_destroy(gmem_fake_devs[i]);
		gmem_fake_devs[i] = NULL;
	}
}

static int __init gmem_fake_init(void)
{
	unsigned int i;
	int err;

	err = gmem_fake_check_params();
	if (err)
		return err;

	for (i = 0; i < num_devices; i++) {
		struct gmem_fake_dev *fdev = gmem_fake_dev_create(i);

		if (IS_ERR(fdev)) {
			gmem_fake_destroy_all();
			return PTR_ERR(fdev);
		}
		gmem_fake_devs[i] = fdev;
	}
	return 0;
}

static void __exit gmem_fake_exit(void)
{
	gmem_fake_destroy_all();
}

module_init(gmem_fake_init);
module_exit(gmem_fake_exit);

MODULE_DESCRIPTION("gmem fake accelerator for tests");
MODULE_LICENSE("GPL");
