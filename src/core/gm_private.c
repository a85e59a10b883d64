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
 * @huge: the faulting page is a device huge page mapped by a PMD, which
 *	moves whole: into a host huge page where one is free, else the kernel
 *	splits it into the host pages given
 * @src: migrate_vma source pfns
 * @dst: migrate_vma destination pfns
 * @spages: dense list of the device pages to copy out
 * @dpages: the host pages receiving them
 */
struct gm_private_fault {
	bool huge;
	unsigned long src[HPAGE_PMD_NR];
	unsigned long dst[HPAGE_PMD_NR];
	struct page *spages[HPAGE_PMD_NR];
	struct page *dpages[HPAGE_PMD_NR];
};

/* Copy @n pages of @dev out, and wait; on failure free the host pages. */
static int gm_private_copy_out(struct gm_dev *dev, struct gm_private_fault *f,
			       unsigned int n)
{
	struct gm_copy c;
	unsigned int k;
	int err;

	err = gm_copy_submit(dev, &c, GM_COPY_TO_HOST, f->spages, f->dpages, n);
	if (!err)
		err = gm_copy_wait(dev, &c);
	if (err) {
		for (k = 0; k < n; k++) {
			/* A host huge page is one folio: once. */
			if (f->huge && k && page_folio(f->dpages[k]) ==
					    page_folio(f->dpages[0]))
				continue;
			gm_host_page_free(f->dpages[k]);
		}
	}
	return err;
}

/*
 * Host pages for the device huge page at slot 0: one host huge page, else
 * one page per 4 KiB, for the kernel to split the device page into.
 * Returns the dense entries filled.
 */
static unsigned int gm_private_huge_dest(struct gm_private_fault *f,
					 struct vm_area_struct *vma,
					 unsigned long start, unsigned long npages)
{
	struct page *shead = migrate_pfn_to_page(f->src[0]);
	unsigned long write = f->src[0] & MIGRATE_PFN_WRITE, i;
	struct folio *folio = gm_host_huge_alloc(vma, start);

	if (folio) {
		gm_physmem_huge_dest(folio, f->src[0], &f->dst[0], f->spages,
				     f->dpages);
		f->huge = true;
		return npages;
	}
	for (i = 0; i < npages; i++) {
		struct page *dpage = gm_host_page_alloc(vma,
							start + (i << PAGE_SHIFT));

		if (!dpage)
			break;
		f->dst[i] = migrate_pfn(page_to_pfn(dpage)) | write;
		f->spages[i] = pfn_to_page(page_to_pfn(shead) + i);
		f->dpages[i] = dpage;
	}
	if (i < npages) {
		/* All or nothing: the device page moves whole or not at all. */
		while (i--) {
			gm_host_page_free(f->dpages[i]);
			f->dst[i] = 0;
		}
	}
	return i;
}

/* Host pages for the 4 KiB device pages of @dev in the window. */
static unsigned int gm_private_small_dest(struct gm_private_fault *f,
					  struct vm_fault *vmf,
					  struct gm_dev *dev,
					  struct migrate_vma *mig,
					  vm_fault_t *ret)
{
	unsigned long i;
	unsigned int n = 0;

	for (i = 0; i < mig->npages; i++) {
		struct page *spage = migrate_pfn_to_page(f->src[i]);
		unsigned long addr = mig->start + (i << PAGE_SHIFT);
		struct page *dpage;

		if (!spage || !(f->src[i] & MIGRATE_PFN_MIGRATE) ||
		    gm_page_dev(spage) != dev)
			continue;
		dpage = gm_host_page_alloc(mig->vma, addr);
		if (!dpage) {
			if (spage == vmf->page)
				*ret = VM_FAULT_OOM;
			continue;
		}
		f->spages[n] = spage;
		f->dpages[n++] = dpage;
		f->dst[i] = migrate_pfn(page_to_pfn(dpage));
		if (f->src[i] & MIGRATE_PFN_WRITE)
			f->dst[i] |= MIGRATE_PFN_WRITE;
	}
	return n;
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
	/* A PMD maps the page (vmf->pte is NULL): it moves whole. */
	bool huge = !vmf->pte && folio_test_large(page_folio(vmf->page));
	unsigned long size = huge ? HPAGE_PMD_SIZE : GM_PRIVATE_FAULT_BYTES;
	unsigned long window = ALIGN_DOWN(vmf->address, size);
	struct migrate_vma mig = {
		.vma = vma,
		.start = max(vma->vm_start, window),
		.end = min(vma->vm_end, window + size),
		.pgmap_owner = &gm_pgmap_owner,
		.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE |
			 (huge ? GM_MIGRATE_VMA_SELECT_COMPOUND : 0),
		.fault_page = vmf->page,
	};
	struct gm_private_fault *f;
	unsigned long i, moved = 0;
	unsigned int n = 0;
	vm_fault_t ret = 0;

	f = kvzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return VM_FAULT_OOM;
	mig.src = f->src;
	mig.dst = f->dst;
	if (migrate_vma_setup(&mig)) {
		kvfree(f);
		return VM_FAULT_SIGBUS;
	}

	if (f->src[0] & GM_MIGRATE_PFN_COMPOUND) {
		n = gm_private_huge_dest(f, vma, mig.start, mig.npages);
		if (!n)
			ret = VM_FAULT_OOM;
	} else {
		n = gm_private_small_dest(f, vmf, dev, &mig, &ret);
	}

	if (n && gm_private_copy_out(dev, f, n)) {
		memset(f->dst, 0, sizeof(f->dst));
		ret = VM_FAULT_SIGBUS;
	}

	migrate_vma_pages(&mig);
	for (i = 0; i < mig.npages; i++) {
		unsigned long nr = 1;

		if (f->dst[i] & GM_MIGRATE_PFN_COMPOUND)
			nr = mig.npages;
		else if (!f->dst[i])
			continue;
		if (!(f->src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		moved += nr;
		i += nr - 1;
	}
	migrate_vma_finalize(&mig);
	atomic64_add(moved, &dev->to_host_pages);
	kvfree(f);
	return ret;
}
