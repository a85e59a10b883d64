// SPDX-License-Identifier: GPL-2.0
/*
 * gmem_fake.ko: module parameters, the roles of the fake devices and the
 * life of each.
 *
 * The roles, in this order: /dev/gmem_fake0 .. num_devices-1 with gmem's
 * ioctls, then with dmirror=1 /dev/hmm_dmirror0-3, the devices of the
 * kernel's lib/test_hmm: 0-1 with private memory (dmirror_private_size
 * bytes each, where the kernel has CONFIG_DEVICE_PRIVATE; without memory
 * elsewhere) and 2-3 with dmirror_coherent_size bytes of coherent memory.
 * dmirror_private then reads Y if 0-1 got their memory.  dmirror_name
 * renames them (/dev/<name>0-3), so that the kernel's test_hmm.ko can be
 * loaded beside gmem_fake and both measured in turn (scripts/bench.sh).
 *
 * Where the memory comes from:
 * - by default from PCI devices (fake_pci.c): each ivshmem-plain device
 *   takes the next role, in the order the PCI core binds them (bus order
 *   at boot), and its BAR2 is the memory
 *   (devmem_size[i] bytes of it, or all of it if not given):
 *
 *     modprobe gmem_fake num_devices=2 dmirror=1
 *
 * - with devmem_base= from RAM the kernel does not use (reserved with
 *   memmap=1G$0x100000000 on its command line), under platform devices:
 *   devmem_base[i], of devmem_size[i] bytes (one size for all devices if
 *   only one is given), and dmirror_coherent_base[0-1] for hmm_dmirror2-3:
 *
 *     modprobe gmem_fake num_devices=2 \
 *	devmem_base=0x100000000,0x110000000 devmem_size=0x10000000
 */
#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include "fake.h"

static unsigned int num_devices = 1;
module_param(num_devices, uint, 0444);
MODULE_PARM_DESC(num_devices, "number of fake devices (1-8)");

static unsigned long devmem_base[GMEM_FAKE_MAX_DEVICES];
static unsigned int num_bases;
module_param_array(devmem_base, ulong, &num_bases, 0444);
MODULE_PARM_DESC(devmem_base, "physical base of each device's memory (2 MiB aligned): memmap= RAM instead of PCI devices");

static unsigned long devmem_size[GMEM_FAKE_MAX_DEVICES];
static unsigned int num_sizes;
module_param_array(devmem_size, ulong, &num_sizes, 0444);
MODULE_PARM_DESC(devmem_size, "bytes of device memory, per device or one for all (default with PCI: all of BAR2)");

static bool dmirror;
module_param(dmirror, bool, 0444);
MODULE_PARM_DESC(dmirror, "also create the test_hmm devices /dev/hmm_dmirror0-3");

static char *dmirror_name = "hmm_dmirror";
module_param(dmirror_name, charp, 0444);
MODULE_PARM_DESC(dmirror_name, "the test_hmm devices are /dev/<name>0-3 (default hmm_dmirror)");

static unsigned long dmirror_coherent_base[2];
static unsigned int num_dmirror_bases;
module_param_array(dmirror_coherent_base, ulong, &num_dmirror_bases, 0444);
MODULE_PARM_DESC(dmirror_coherent_base, "with devmem_base: physical base of the memory of hmm_dmirror2 and 3");

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

/*
 * The devices of each role.  Written at probe and remove only; the ioctls
 * that look a device up by index run with a file of the module open, which
 * keeps rmmod away, and with their own file's device entered
 * (gmem_fake_dev_enter()), which keeps its removal away.
 */
static struct gmem_fake_dev *gmem_fake_devs[GMEM_FAKE_MAX_DEVICES];
static struct gmem_fake_dev *gmem_fake_dmirrors[GMEM_FAKE_DMIRRORS];
static DEFINE_MUTEX(gmem_fake_roles_lock);

struct gmem_fake_dev *gmem_fake_dev_by_index(unsigned int index)
{
	return index < num_devices ? gmem_fake_devs[index] : NULL;
}

static bool gmem_fake_use_pci(void)
{
	return !num_bases;
}

static int gmem_fake_check_params(void)
{
	if (!num_devices || num_devices > GMEM_FAKE_MAX_DEVICES) {
		pr_err("gmem_fake: num_devices must be 1..%d\n",
		       GMEM_FAKE_MAX_DEVICES);
		return -EINVAL;
	}
	/* A file name, with room for the index in gmem_fake_dev.name. */
	if (!dmirror_name[0] || strlen(dmirror_name) > 16 ||
	    strchr(dmirror_name, '/')) {
		pr_err("gmem_fake: dmirror_name must be 1..16 characters, no '/'\n");
		return -EINVAL;
	}
	if (num_sizes > 1 && num_sizes != num_devices) {
		pr_err("gmem_fake: devmem_size needs 1 or %u sizes, got %u\n",
		       num_devices, num_sizes);
		return -EINVAL;
	}
	if (gmem_fake_use_pci())
		return 0;
	if (num_bases != num_devices) {
		pr_err("gmem_fake: devmem_base needs %u addresses, got %u\n",
		       num_devices, num_bases);
		return -EINVAL;
	}
	if (!num_sizes) {
		pr_err("gmem_fake: devmem_base needs devmem_size\n");
		return -EINVAL;
	}
	if (dmirror && num_dmirror_bases != 2) {
		pr_err("gmem_fake: dmirror needs 2 dmirror_coherent_base addresses, got %u\n",
		       num_dmirror_bases);
		return -EINVAL;
	}
	return 0;
}

/* gmem_fake0..: coherent memory. */
static void gmem_fake_plain_memory(struct gmem_fake_dev *fdev)
{
	fdev->mem_type = GM_MEM_COHERENT;
	if (num_sizes)
		fdev->devmem_size = devmem_size[num_sizes == 1 ? 0 : fdev->index];
	if (!gmem_fake_use_pci())
		fdev->devmem_phys = devmem_base[fdev->index];
}

/* hmm_dmirror0-1: private memory where the kernel can; 2-3: coherent. */
static void gmem_fake_dmirror_memory(struct gmem_fake_dev *fdev)
{
	if (fdev->index >= 2) {
		fdev->mem_type = GM_MEM_COHERENT;
		fdev->devmem_size = dmirror_coherent_size;
		if (!gmem_fake_use_pci())
			fdev->devmem_phys = dmirror_coherent_base[fdev->index - 2];
	} else if (gm_dev_private_supported()) {
		fdev->mem_type = GM_MEM_PRIVATE;
		fdev->devmem_size = dmirror_private_size;
	}
	/* Device faults never migrate, as in the kernel's lib/test_hmm. */
	fdev->placement = GM_PLACE_IN_PLACE;
}

/* The device of a role, its memory not yet placed. */
static struct gmem_fake_dev *gmem_fake_role_alloc(bool dmirror,
						  unsigned int index)
{
	struct gmem_fake_dev *fdev = kzalloc(sizeof(*fdev), GFP_KERNEL);

	if (!fdev)
		return NULL;
	kref_init(&fdev->ref);
	init_rwsem(&fdev->unplug_rwsem);
	fdev->index = index;
	fdev->dmirror = dmirror;
	snprintf(fdev->name, sizeof(fdev->name), "%s%u",
		 dmirror ? dmirror_name : "gmem_fake", index);
	if (dmirror)
		gmem_fake_dmirror_memory(fdev);
	else
		gmem_fake_plain_memory(fdev);
	return fdev;
}

/*
 * The slot of the first role without a device, and the device for it
 * (kzalloc'ed, its role filled in), or NULL if every role has one.
 */
static struct gmem_fake_dev **gmem_fake_next_role(struct gmem_fake_dev **fdev)
{
	unsigned int i;

	*fdev = NULL;
	for (i = 0; i < num_devices; i++) {
		if (!gmem_fake_devs[i]) {
			*fdev = gmem_fake_role_alloc(false, i);
			return &gmem_fake_devs[i];
		}
	}
	for (i = 0; dmirror && i < GMEM_FAKE_DMIRRORS; i++) {
		if (!gmem_fake_dmirrors[i]) {
			*fdev = gmem_fake_role_alloc(true, i);
			return &gmem_fake_dmirrors[i];
		}
	}
	return NULL;
}

/**
 * gmem_fake_role_take() - the next role without a device, for @pci
 * @pci: the PCI device that will play it
 *
 * Return: the fake device of that role, its memory size from the module
 * parameters (0: all of the BAR), to be started with gmem_fake_dev_start()
 * and given back with gmem_fake_role_put(); ERR_PTR(-ENODEV) if every role
 * has a device, ERR_PTR(-ENOMEM).
 */
struct gmem_fake_dev *gmem_fake_role_take(struct pci_dev *pci)
{
	struct gmem_fake_dev **slot, *fdev;

	mutex_lock(&gmem_fake_roles_lock);
	slot = gmem_fake_next_role(&fdev);
	if (slot && fdev) {
		fdev->pci = pci;
		fdev->parent = &pci->dev;
		*slot = fdev;
	}
	mutex_unlock(&gmem_fake_roles_lock);
	if (!slot)
		return ERR_PTR(-ENODEV);
	return fdev ?: ERR_PTR(-ENOMEM);
}

/**
 * gmem_fake_role_put() - free a device and its role, for the next device
 * @fdev: a device of gmem_fake_role_take(), stopped
 */
void gmem_fake_role_put(struct gmem_fake_dev *fdev)
{
	struct gmem_fake_dev **slots = fdev->dmirror ?
		gmem_fake_dmirrors : gmem_fake_devs;

	mutex_lock(&gmem_fake_roles_lock);
	slots[fdev->index] = NULL;
	mutex_unlock(&gmem_fake_roles_lock);
	gmem_fake_dev_put(fdev);
}

void gmem_fake_dev_get(struct gmem_fake_dev *fdev)
{
	kref_get(&fdev->ref);
}

static void gmem_fake_dev_free(struct kref *ref)
{
	kfree(container_of(ref, struct gmem_fake_dev, ref));
}

/* The last put, by the role or by the last open file, frees the device. */
void gmem_fake_dev_put(struct gmem_fake_dev *fdev)
{
	kref_put(&fdev->ref, gmem_fake_dev_free);
}

/**
 * gmem_fake_dev_enter() - start using a device for an ioctl
 * @fdev: the device of an open file
 *
 * Return: true, and then gmem_fake_dev_exit() must follow, or false if the
 * device was stopped (its PCI device removed under the open file).
 */
bool gmem_fake_dev_enter(struct gmem_fake_dev *fdev)
{
	down_read(&fdev->unplug_rwsem);
	if (!fdev->gone)
		return true;
	up_read(&fdev->unplug_rwsem);
	return false;
}

void gmem_fake_dev_exit(struct gmem_fake_dev *fdev)
{
	up_read(&fdev->unplug_rwsem);
}

/* Give @fdev the memory it was configured with; private needs its VRAM. */
static int gmem_fake_dev_add_memory(struct gmem_fake_dev *fdev)
{
	int err;

	if (!fdev->mem_type)
		return 0;
	if (fdev->mem_type == GM_MEM_PRIVATE && !fdev->vram) {
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

/* A vmalloc'ed VRAM goes with the device; the PCI code unmaps a BAR's. */
static void gmem_fake_dev_free_vram(struct gmem_fake_dev *fdev)
{
	if (!fdev->vram_in_bar) {
		vfree(fdev->vram);
		fdev->vram = NULL;
	}
}

/**
 * gmem_fake_dev_start() - bring up a fake device on its bus device
 * @fdev: role, memory and @fdev->parent filled in; a private device's
 *	@fdev->vram is BAR memory, or NULL to have it vmalloc'ed
 *
 * Creates its engine, its gmem device with its memory and its char
 * device.  On error, undoes all of it (not what the caller set up).
 *
 * Return: 0 or an errno.
 */
int gmem_fake_dev_start(struct gmem_fake_dev *fdev)
{
	int err;

	/* Its engine and MMU reach all of memory: no bounce buffers. */
	err = dma_set_mask_and_coherent(fdev->parent, DMA_BIT_MASK(64));
	if (err)
		return err;
	err = gmem_fake_engine_init(fdev);
	if (err)
		return err;

	fdev->gm = gm_dev_create(fdev->parent, &gmem_fake_mmu, fdev->name,
				 fdev);
	if (IS_ERR(fdev->gm)) {
		err = PTR_ERR(fdev->gm);
		goto err_engine;
	}

	err = gmem_fake_dev_add_memory(fdev);
	if (err)
		goto err_gm;

	fdev->misc.minor = MISC_DYNAMIC_MINOR;
	fdev->misc.name = fdev->name;
	fdev->misc.fops = fdev->dmirror ? &gmem_fake_dmirror_fops :
					  &gmem_fake_fops;
	fdev->misc.mode = 0600;
	fdev->misc.parent = fdev->parent;
	err = misc_register(&fdev->misc);
	if (err)
		goto err_gm;
	return 0;

err_gm:
	gm_dev_destroy(fdev->gm);
err_engine:
	gmem_fake_engine_fini(fdev);
	gmem_fake_dev_free_vram(fdev);
	return err;
}

/**
 * gmem_fake_dev_stop() - undo gmem_fake_dev_start()
 * @fdev: a started device
 *
 * Files still open (a PCI device removed under them) keep @fdev, and
 * their gmem contexts, until they are closed; every ioctl on them fails
 * with -ENODEV from here on.  gm_dev_destroy() takes down what their
 * contexts had of the device: mappings, DMA addresses, page tables.
 */
void gmem_fake_dev_stop(struct gmem_fake_dev *fdev)
{
	misc_deregister(&fdev->misc);
	/* Wait for the ioctls in flight; later ones see @gone. */
	down_write(&fdev->unplug_rwsem);
	fdev->gone = true;
	up_write(&fdev->unplug_rwsem);
	/* gmem evicts device memory through the engine: destroy it last. */
	gm_dev_destroy(fdev->gm);
	gmem_fake_engine_fini(fdev);
	gmem_fake_dev_free_vram(fdev);
}

/* --- memmap= memory, under platform devices ------------------------------ */

static void gmem_fake_platform_destroy(struct gmem_fake_dev *fdev)
{
	struct platform_device *pdev = fdev->pdev;

	gmem_fake_dev_stop(fdev);
	gmem_fake_dev_put(fdev);
	platform_device_unregister(pdev);
}

/* Start @fdev under a platform device of its own; frees it on error. */
static int gmem_fake_platform_create(struct gmem_fake_dev *fdev,
				     struct gmem_fake_dev **slot)
{
	int err;

	if (!fdev)
		return -ENOMEM;
	/* The bus device a real accelerator's driver would bind to. */
	fdev->pdev = platform_device_register_simple(fdev->name,
						     PLATFORM_DEVID_NONE,
						     NULL, 0);
	if (IS_ERR(fdev->pdev)) {
		err = PTR_ERR(fdev->pdev);
		kfree(fdev);
		return err;
	}
	fdev->parent = &fdev->pdev->dev;
	err = gmem_fake_dev_start(fdev);
	if (err) {
		platform_device_unregister(fdev->pdev);
		kfree(fdev);
		return err;
	}
	*slot = fdev;
	return 0;
}

static void gmem_fake_platform_destroy_all(void)
{
	unsigned int i;

	for (i = 0; i < GMEM_FAKE_DMIRRORS; i++) {
		if (gmem_fake_dmirrors[i])
			gmem_fake_platform_destroy(gmem_fake_dmirrors[i]);
		gmem_fake_dmirrors[i] = NULL;
	}
	for (i = 0; i < GMEM_FAKE_MAX_DEVICES; i++) {
		if (gmem_fake_devs[i])
			gmem_fake_platform_destroy(gmem_fake_devs[i]);
		gmem_fake_devs[i] = NULL;
	}
}

/* Every role; the caller destroys what exists on error. */
static int gmem_fake_platform_create_all(void)
{
	struct gmem_fake_dev **slot, *fdev;
	int err;

	while ((slot = gmem_fake_next_role(&fdev))) {
		err = gmem_fake_platform_create(fdev, slot);
		if (err)
			return err;
	}
	return 0;
}

/* --- the module ---------------------------------------------------------- */

/* Does every role have a device?  A missing hmm_dmirror fails hmm-tests. */
static bool gmem_fake_roles_complete(void)
{
	struct gmem_fake_dev *fdev;
	bool complete;

	mutex_lock(&gmem_fake_roles_lock);
	complete = !gmem_fake_next_role(&fdev);
	kfree(fdev);
	mutex_unlock(&gmem_fake_roles_lock);
	return complete;
}

static int __init gmem_fake_init(void)
{
	int err;

	err = gmem_fake_check_params();
	if (err)
		return err;
	gmem_fake_debugfs_init();

	if (gmem_fake_use_pci()) {
		err = gmem_fake_pci_register();
		if (!err && !gmem_fake_devs[0]) {
			pr_err("gmem_fake: no PCI device became gmem_fake0 (no ivshmem-plain device, or its probe failed), and no devmem_base= given\n");
			gmem_fake_pci_unregister();
			err = -ENODEV;
		} else if (!err && !gmem_fake_roles_complete()) {
			pr_warn("gmem_fake: fewer ivshmem-plain devices than roles: %u gmem_fake%s\n",
				num_devices, dmirror ? " and 4 hmm_dmirror" : "");
		}
	} else {
		err = gmem_fake_platform_create_all();
		if (err)
			gmem_fake_platform_destroy_all();
	}
	if (err) {
		gmem_fake_debugfs_exit();
		return err;
	}
	dmirror_private = dmirror && gmem_fake_dmirrors[0] &&
			  gmem_fake_dmirrors[0]->mem_type;
	dmirror_huge = dmirror_private && gm_dev_huge_supported();
	return 0;
}

static void __exit gmem_fake_exit(void)
{
	if (gmem_fake_use_pci())
		gmem_fake_pci_unregister();
	else
		gmem_fake_platform_destroy_all();
	gmem_fake_debugfs_exit();
}

module_init(gmem_fake_init);
module_exit(gmem_fake_exit);

MODULE_DESCRIPTION("gmem fake accelerator for tests");
MODULE_LICENSE("GPL");
