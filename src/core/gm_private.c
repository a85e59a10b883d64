// SPDX-License-Identifier: GPL-2.0
/*
 * CPU faults on device-private pages.
 *
 * The CPU cannot reach private device memory, so its page table holds a
 * device-private swap entry where such a page is mapped.  Touching it
 * makes the kernel call the pagemap's migrate_to_ram, with the mmap lock
 * held: gmem brings the page back to host RAM through the copy engine of
 * the device that holds it, as the CPU waits.  It brings the neighbours on
 * the same device along, up to GM_PRIVATE_FAULT_PAGES aligned pages: a CPU
 * touching one page of a buffer usually goes on with the next, and one
 * copy request costs about as much as a page.  gm_migrate_to_host() is the
 * way to bring large ranges back.
 */
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include "gm_internal.h"

#define GM_PRIVATE_FAULT_PAGES	16
#define GM_PRIVATE_FAULT_BYTES	(GM_PRIVATE_FAULT_PAGES << PAGE_SHIFT)

/**
 * struct gm_private_fault - one migrate_to_ram call
 * @src: migrate_vma source pfns
 * @dst: migrate_vma destination pfns
 * @spages: dense list of the device pages to copy out
 * @dpages: the host pages receiving them
 */
struct gm_private_fault {
	unsigned long src[GM_PRIVATE_FAULT_PAGES];
	unsigned long dst[GM_PRIVATE_FAULT_PAGES];
	struct page *spages[GM_PRIVATE_FAULT_PAGES];
	struct page *dpages[GM_PRIVATE_FAULT_PAGES];
};

/* Copy @n pages of @dev out, and wait; on failure free the host pages. */
static int gm_private_copy_out(struct gm_dev *dev, struct gm_private_fault *f,
			       unsigned int n)
{
	struct gm_copy_req req = {
		.dir = GM_COPY_TO_HOST,
		.npages = n,
		.src = f->spages,
		.dst = f->dpages,
	};
	unsigned int k;
	int err;

	err = gm_copy_submit(dev, &req);
	if (!err)
		err = gm_copy_wait(dev, &req);
	if (err) {
		for (k = 0; k < n; k++) {
			unlock_page(f->dpages[k]);
			put_page(f->dpages[k]);
		}
	}
	return err;
}

/**
 * gm_private_migrate_to_ram() - dev_pagemap_ops.migrate_to_ram of gmem
 * @vmf: the CPU fault on a device-private page of a gmem device
 *
 * Return: 0 when the page moved (or someone else moved it first: the CPU
 * retries the access), VM_FAULT_OOM without a host page, VM_FAULT_SIGBUS
 * if the device could not copy it out (the data stays on the device).
 */
vm_fault_t gm_private_migrate_to_ram(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct gm_dev *dev = gm_page_dev(vmf->page);
	unsigned long window = ALIGN_DOWN(vmf->address, GM_PRIVATE_FAULT_BYTES);
	struct migrate_vma mig = {
		.vma = vma,
		.start = max(vma->vm_start, window),
		.end = min(vma->vm_end, window + GM_PRIVATE_FAULT_BYTES),
		.pgmap_owner = &gm_pgmap_owner,
		.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
		.fault_page = vmf->page,
	};
	struct gm_private_fault *f;
	unsigned long i, moved = 0;
	unsigned int n = 0;
	vm_fault_t ret = 0;

	f = kmalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return VM_FAULT_OOM;
	mig.src = f->src;
	mig.dst = f->dst;
	if (migrate_vma_setup(&mig)) {
		kfree(f);
		return VM_FAULT_SIGBUS;
	}

	for (i = 0; i < mig.npages; i++) {
		struct page *spage = migrate_pfn_to_page(f->src[i]);
		unsigned long addr = mig.start + (i << PAGE_SHIFT);
		struct page *dpage;

		f->dst[i] = 0;
		if (!spage || !(f->src[i] & MIGRATE_PFN_MIGRATE) ||
		    gm_page_dev(spage) != dev)
			continue;
		dpage = alloc_page_vma(GFP_HIGHUSER_MOVABLE, vma, addr);
		if (!dpage) {
			if (spage == vmf->page)
				ret = VM_FAULT_OOM;
			continue;
		}
		lock_page(dpage);
		f->spages[n] = spage;
		f->dpages[n++] = dpage;
		f->dst[i] = migrate_pfn(page_to_pfn(dpage));
		if (f->src[i] & MIGRATE_PFN_WRITE)
			f->dst[i] |= MIGRATE_PFN_WRITE;
	}

	if (n && gm_private_copy_out(dev, f, n)) {
		memset(f->dst, 0, sizeof(f->dst));
		ret = VM_FAULT_SIGBUS;
	}

	migrate_vma_pages(&mig);
	for (i = 0; i < mig.npages; i++) {
		if (!f->dst[i] || !(f->src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		moved++;
		gm_as_note_host(vma->vm_mm, mig.start + (i << PAGE_SHIFT));
	}
	migrate_vma_finalize(&mig);
	atomic64_add(moved, &dev->to_host_pages);
	kfree(f);
	return ret;
}
