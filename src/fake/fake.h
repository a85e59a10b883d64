/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gmem_fake: a software accelerator for testing gmem.  Each instance is
 * bound to a PCI device, QEMU's ivshmem-plain, whose BAR2 is its memory:
 * coherent device memory that the CPU maps, or the backing store of
 * private device memory that only the fake reaches (fake_pci.c).  Without
 * such devices it runs on host RAM the kernel was told not to use
 * (memmap=), under platform devices.  Its copy engine is a workqueue, its
 * user interface a misc device per instance: /dev/gmem_fakeN with gmem's
 * own ioctls, and /dev/hmm_dmirrorN with the ioctls of the kernel's
 * lib/test_hmm (for the upstream hmm-tests).
 */
#ifndef GMEM_FAKE_H
#define GMEM_FAKE_H

#include <linux/iommu.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/rwsem.h>
#include <linux/workqueue.h>
#include <linux/gmem_fake.h>
#include <gmem/gmem.h>

#define GMEM_FAKE_MAX_DEVICES	8
#define GMEM_FAKE_DMIRRORS	4

/**
 * struct gmem_fake_dev - one fake accelerator
 * @ref: held by its role from probe to remove, and by every open file,
 *	which may outlive the bus device (PCI hot unplug)
 * @unplug_rwsem: held for read by an ioctl while it uses the device, for
 *	write to mark it @gone
 * @gone: the device was stopped: ioctls fail with -ENODEV, and only the
 *	files' release still touches this structure
 * @index: N of /dev/gmem_fakeN or /dev/hmm_dmirrorN
 * @dmirror: it is /dev/hmm_dmirrorN, with the ABI of the kernel's test_hmm
 * @name: the device node's name
 * @parent: the bus device of the fake accelerator (@pci's or @pdev's),
 *	parent of @misc and of its gmem device, the device DMA maps for
 * @pci: its PCI device, or NULL without one
 * @pdev: its platform device, when it runs on memmap= memory
 * @iommu: the IOMMU domain that translates its DMA addresses, or NULL if
 *	they are physical addresses
 * @iova_pages: host pages reached through an IOVA unlike their physical
 *	address
 * @misc: its char device
 * @gm: its gmem device
 * @engine: the copy engine's queue
 * @mem_type: kind of memory it has, 0 for none
 * @placement: where its faults put pages (struct gm_fault_opts)
 * @devmem_phys: physical base of its coherent memory
 * @devmem_size: size of its memory
 * @vram: contents of its private memory
 * @vram_in_bar: @vram is a mapping of BAR2 rather than a vmalloc
 */
struct gmem_fake_dev {
	struct kref ref;
	struct rw_semaphore unplug_rwsem;
	bool gone;
	unsigned int index;
	bool dmirror;
	char name[24];
	struct device *parent;
	struct pci_dev *pci;
	struct platform_device *pdev;
	struct iommu_domain *iommu;
	atomic64_t iova_pages;
	struct miscdevice misc;
	struct gm_dev *gm;
	struct workqueue_struct *engine;
	enum gm_mem_type mem_type;
	enum gm_placement placement;
	phys_addr_t devmem_phys;
	u64 devmem_size;
	void *vram;
	bool vram_in_bar;
};

/* fake_main.c */
struct gmem_fake_dev *gmem_fake_dev_by_index(unsigned int index);
struct gmem_fake_dev *gmem_fake_role_take(struct pci_dev *pci);
void gmem_fake_role_put(struct gmem_fake_dev *fdev);
int gmem_fake_dev_start(struct gmem_fake_dev *fdev);
void gmem_fake_dev_stop(struct gmem_fake_dev *fdev);
void gmem_fake_dev_get(struct gmem_fake_dev *fdev);
void gmem_fake_dev_put(struct gmem_fake_dev *fdev);
bool gmem_fake_dev_enter(struct gmem_fake_dev *fdev);
void gmem_fake_dev_exit(struct gmem_fake_dev *fdev);

/* fake_pci.c */
int gmem_fake_pci_register(void);
void gmem_fake_pci_unregister(void);

/* fake_copy.c */
int gmem_fake_copy_submit(struct gm_dev *dev, struct gm_copy_req *req);
void gmem_fake_copy_wait(struct gm_dev *dev, struct gm_copy_req *req);
void *gmem_fake_map_addr(struct gmem_fake_dev *fdev, const struct gm_addr *a,
			 struct page **page);
void gmem_fake_unmap_addr(struct page *page, void *addr);
int gmem_fake_engine_init(struct gmem_fake_dev *fdev);
void gmem_fake_debugfs_init(void);
void gmem_fake_debugfs_exit(void);
void gmem_fake_engine_fini(struct gmem_fake_dev *fdev);

/* fake_mmu.c */
/* What a device access through the MMU does (gmem_fake_dev_access()). */
#define GMEM_FAKE_WRITE	BIT(0)	/* a store, not a load */
#define GMEM_FAKE_LOCAL	BIT(1)	/* only the device's own memory will do */

extern const struct gm_mmu gmem_fake_mmu;
void gmem_fake_mmu_stats(void *pmap, struct gmem_fake_mmu_stats *st);
bool gmem_fake_mmu_has_atomic(void *pmap, unsigned long start,
			      unsigned long end);
int gmem_fake_dev_access(struct gm_ctx *ctx, unsigned long va, void *buf,
			 size_t len, unsigned int flags,
			 unsigned long fault_end, u32 *faults, size_t *done);

/* fake_ioctl.c */
extern const struct file_operations gmem_fake_fops;

/* fake_dmirror.c */
extern const struct file_operations gmem_fake_dmirror_fops;

#endif /* GMEM_FAKE_H */
