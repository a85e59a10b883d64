/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gmem_fake: a software accelerator for testing gmem.  Its "device memory"
 * is host RAM the kernel was told not to use (memmap=), its copy engine a
 * workqueue, its user interface a misc device per instance.
 */
#ifndef GMEM_FAKE_H
#define GMEM_FAKE_H

#include <linux/miscdevice.h>
#include <linux/workqueue.h>
#include <linux/gmem_fake.h>
#include <gmem/gmem.h>

#define GMEM_FAKE_MAX_DEVICES	8

/**
 * struct gmem_fake_dev - one fake accelerator
 * @index: N of /dev/gmem_fakeN
 * @name: "gmem_fakeN"
 * @misc: its char device
 * @gm: its gmem device
 * @engine: the copy engine's queue
 * @devmem_phys: physical base of its memory
 * @devmem_size: size of its memory
 */
struct gmem_fake_dev {
	unsigned int index;
	char name[16];
	struct miscdevice misc;
	struct gm_dev *gm;
	struct workqueue_struct *engine;
	phys_addr_t devmem_phys;
	u64 devmem_size;
};

/* fake_main.c */
struct gmem_fake_dev *gmem_fake_dev_by_index(unsigned int index);

/* fake_copy.c */
int gmem_fake_copy_submit(struct gm_dev *dev, struct gm_copy_req *req);
int gmem_fake_engine_init(struct gmem_fake_dev *fdev);
void gmem_fake_engine_fini(struct gmem_fake_dev *fdev);

/* fake_mmu.c */
extern const struct gm_mmu gmem_fake_mmu;
int gmem_fake_mmu_access(void *pmap, unsigned long va, void *buf, size_t len,
			 bool write);
void gmem_fake_mmu_stats(void *pmap, struct gmem_fake_mmu_stats *st);

/* fake_ioctl.c */
extern const struct file_operations gmem_fake_fops;

#endif /* GMEM_FAKE_H */
