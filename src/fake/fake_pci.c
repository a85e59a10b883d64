// SPDX-License-Identifier: GPL-2.0
/*
 * The fake accelerator as a PCI driver, the way a real accelerator's
 * driver adopts gmem.  It binds to QEMU's ivshmem-plain device
 * (1af4:1110):
 *
 *   -object memory-backend-memfd,id=vram0,size=1G,share=on \
 *   -device ivshmem-plain,memdev=vram0
 *
 * whose BAR2 is RAM of the host: the shape of a VRAM aperture.  Coherent
 * device memory is BAR2 itself, handed to gmem, which claims it and turns
 * it into MEMORY_DEVICE_COHERENT pages; private device memory is a range
 * of struct pages gmem picks, and BAR2 the fake's backing store of its
 * contents, which only the fake's engine and MMU reach.
 *
 * Two things a real driver would have to mind as well:
 * - the BAR must be mapped write-back: SeaBIOS puts a BAR below 4 GiB
 *   under an uncacheable MTRR, and a pci_iomap() of it before gmem's
 *   memremap_pages() would map it uncached-minus.  A BAR of 1 GiB or more
 *   lands above 4 GiB, write-back; so gmem maps it, never the driver.
 * - state that device pages' page_free uses must outlive .remove():
 *   gm_dev_destroy() evicts every page and waits for the last before it
 *   returns, so the driver's remove ends with no device page left.
 *
 * The id table is not exported with MODULE_DEVICE_TABLE: ivshmem serves
 * other purposes, and only an explicit modprobe should claim it.  Unbind
 * through the driver's sysfs files is suppressed; the device itself may
 * still go (hot unplug, or its sysfs "remove") with files open, which
 * gmem_fake_dev_stop() allows for.  A device that comes back (a rescan)
 * takes the first free role.
 */
#include <linux/io.h>
#include <linux/module.h>
#include "fake.h"

#define GMEM_FAKE_PCI_VENDOR	0x1af4	/* Red Hat (Qumranet) */
#define GMEM_FAKE_PCI_IVSHMEM	0x1110	/* Inter-VM shared memory */
#define GMEM_FAKE_PCI_BAR	2

/* Only an IOMMU that translates makes DMA addresses differ from physical. */
static struct iommu_domain *gmem_fake_pci_iommu(struct pci_dev *pci)
{
	struct iommu_domain *dom = iommu_get_domain_for_dev(&pci->dev);

	return dom && dom->type != IOMMU_DOMAIN_IDENTITY ? dom : NULL;
}

/* Place @fdev's memory in BAR2: all of it unless the role asks for less. */
static int gmem_fake_pci_memory(struct gmem_fake_dev *fdev)
{
	struct pci_dev *pci = fdev->pci;
	resource_size_t start = pci_resource_start(pci, GMEM_FAKE_PCI_BAR);
	resource_size_t len = pci_resource_len(pci, GMEM_FAKE_PCI_BAR);
	int err;

	if (!fdev->mem_type)
		return 0;
	if (!(pci_resource_flags(pci, GMEM_FAKE_PCI_BAR) & IORESOURCE_MEM) ||
	    !len) {
		pci_err(pci, "%s: BAR2 is not memory\n", fdev->name);
		return -ENODEV;
	}
	if (!fdev->devmem_size)
		fdev->devmem_size = len;
	if (fdev->devmem_size > len) {
		pci_err(pci, "%s: BAR2 has %llu MiB, %llu MiB asked\n", fdev->name,
			(u64)len >> 20, fdev->devmem_size >> 20);
		return -ENOSPC;
	}
	if (fdev->mem_type == GM_MEM_COHERENT) {
		/* gmem claims the range itself, under the gmem device's name. */
		fdev->devmem_phys = start;
		return 0;
	}
	err = pci_request_region(pci, GMEM_FAKE_PCI_BAR, fdev->name);
	if (err)
		return err;
	fdev->vram = memremap(start, fdev->devmem_size, MEMREMAP_WB);
	if (!fdev->vram) {
		pci_release_region(pci, GMEM_FAKE_PCI_BAR);
		return -ENOMEM;
	}
	fdev->vram_in_bar = true;
	return 0;
}

static void gmem_fake_pci_memory_release(struct gmem_fake_dev *fdev)
{
	if (!fdev->vram_in_bar)
		return;
	memunmap(fdev->vram);
	pci_release_region(fdev->pci, GMEM_FAKE_PCI_BAR);
}

static int gmem_fake_pci_probe(struct pci_dev *pci,
			       const struct pci_device_id *id)
{
	struct gmem_fake_dev *fdev;
	int err;

	fdev = gmem_fake_role_take(pci);
	if (IS_ERR(fdev))
		return PTR_ERR(fdev);

	err = pci_enable_device_mem(pci);
	if (err)
		goto err_role;
	pci_set_master(pci);
	fdev->iommu = gmem_fake_pci_iommu(pci);

	err = gmem_fake_pci_memory(fdev);
	if (err)
		goto err_disable;
	err = gmem_fake_dev_start(fdev);
	if (err)
		goto err_memory;
	pci_set_drvdata(pci, fdev);
	if (fdev->mem_type)
		pci_info(pci, "%s: %llu MiB of %s memory in BAR2 at %pa%s\n",
			 fdev->name, fdev->devmem_size >> 20,
			 fdev->mem_type == GM_MEM_COHERENT ? "coherent" :
			 "private device", &pci_resource_start(pci, GMEM_FAKE_PCI_BAR),
			 fdev->iommu ? ", DMA through an IOMMU" : "");
	else
		pci_info(pci, "%s: no device memory on this kernel\n", fdev->name);
	return 0;

err_memory:
	gmem_fake_pci_memory_release(fdev);
err_disable:
	pci_clear_master(pci);
	pci_disable_device(pci);
err_role:
	gmem_fake_role_put(fdev);
	return err;
}

static void gmem_fake_pci_remove(struct pci_dev *pci)
{
	struct gmem_fake_dev *fdev = pci_get_drvdata(pci);

	/* Evicts every device page and waits for the last: BAR2 is free. */
	gmem_fake_dev_stop(fdev);
	gmem_fake_pci_memory_release(fdev);
	pci_clear_master(pci);
	pci_disable_device(pci);
	gmem_fake_role_put(fdev);
}

static const struct pci_device_id gmem_fake_pci_ids[] = {
	{ PCI_DEVICE(GMEM_FAKE_PCI_VENDOR, GMEM_FAKE_PCI_IVSHMEM) },
	{ }
};

static struct pci_driver gmem_fake_pci_driver = {
	.name = "gmem_fake",
	.id_table = gmem_fake_pci_ids,
	.probe = gmem_fake_pci_probe,
	.remove = gmem_fake_pci_remove,
	.driver.suppress_bind_attrs = true,
};

/**
 * gmem_fake_pci_register() - bind every ivshmem-plain device present
 *
 * Probes run before this returns (synchronous probing), so the roles are
 * filled, in bus order, when module init checks them.
 *
 * Return: 0 or the error of pci_register_driver().
 */
int gmem_fake_pci_register(void)
{
	return pci_register_driver(&gmem_fake_pci_driver);
}

void gmem_fake_pci_unregister(void)
{
	pci_unregister_driver(&gmem_fake_pci_driver);
}
