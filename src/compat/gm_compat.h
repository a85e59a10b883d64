/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place that knows kernel API differences.
 *
 * scripts/conftest.sh compiles the probes in src/compat/probes/ against the
 * target kernel and writes gm_conftest.h; this header turns the answers into
 * one spelling for the rest of gmem.  Code outside src/compat/ never tests a
 * kernel version or a GM_HAVE_* macro.
 */
#ifndef GM_COMPAT_H
#define GM_COMPAT_H

#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/hmm.h>
#include <linux/ioport.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/rmap.h>
#include <linux/workqueue.h>
#include "gm_conftest.h"

/*
 * Device memory allocator: the kernel's GPU buddy allocator, named gpu_buddy
 * where it was split out of DRM, drm_buddy before.
 */
#ifdef GM_HAVE_GPU_BUDDY
#include <linux/gpu_buddy.h>

#define gm_buddy			gpu_buddy
#define gm_buddy_block			gpu_buddy_block
#define gm_buddy_init			gpu_buddy_init
#define gm_buddy_fini			gpu_buddy_fini
#define gm_buddy_alloc_blocks		gpu_buddy_alloc_blocks
#define gm_buddy_block_offset		gpu_buddy_block_offset
#define gm_buddy_block_size		gpu_buddy_block_size
#define gm_buddy_free_block		gpu_buddy_free_block
#define GM_BUDDY_NAME			"gpu_buddy"
#else
#include <drm/drm_buddy.h>

#define gm_buddy			drm_buddy
#define gm_buddy_block			drm_buddy_block
#define gm_buddy_init			drm_buddy_init
#define gm_buddy_fini			drm_buddy_fini
#define gm_buddy_alloc_blocks		drm_buddy_alloc_blocks
#define gm_buddy_block_offset		drm_buddy_block_offset
#define gm_buddy_block_size		drm_buddy_block_size
#define gm_buddy_free_block		drm_buddy_free_block
#define GM_BUDDY_NAME			"drm_buddy"
#endif

/*
 * Fill the NULL slots of @pages[0..nr) with order-0 pages of node @nid;
 * return how many pages @pages holds.
 */
static inline unsigned long gm_alloc_pages_bulk_node(gfp_t gfp, int nid,
						     unsigned long nr,
						     struct page **pages)
{
#ifdef GM_HAVE_ALLOC_PAGES_BULK_ARRAY
	return alloc_pages_bulk_array_node(gfp, nid, nr, pages);
#else
	return alloc_pages_bulk_node(gfp, nid, nr, pages);
#endif
}

/*
 * Device-private memory: only where the kernel has CONFIG_DEVICE_PRIVATE,
 * which builds the MEMORY_DEVICE_PRIVATE support of memremap_pages().
 * Elsewhere gmem says -EOPNOTSUPP rather than ask for a free physical range
 * it could not use.
 */
#ifdef GM_HAVE_DEVICE_PRIVATE
#define gm_have_device_private()	true

static inline struct resource *gm_request_free_mem_region(unsigned long size,
							  const char *name)
{
	return request_free_mem_region(&iomem_resource, size, name);
}
#else
#define gm_have_device_private()	false

static inline struct resource *gm_request_free_mem_region(unsigned long size,
							  const char *name)
{
	return ERR_PTR(-EOPNOTSUPP);
}
#endif

/*
 * Device-exclusive access (device atomics), one page at a time: the page at
 * @addr is made exclusive to @owner and returned referenced (put_page() it)
 * but unlocked, or an ERR_PTR().  Unlocked, because consecutive pages may
 * share one large folio; the caller checks its notifier sequence instead,
 * since the CPU's access that ends exclusivity invalidates the page.
 * make_device_exclusive() (v6.15) does one page; before it,
 * make_device_exclusive_range() took a range.
 */
#if defined(GM_HAVE_DEVICE_EXCLUSIVE)
#define gm_have_device_exclusive()	true

static inline struct page *gm_make_device_exclusive(struct mm_struct *mm,
						    unsigned long addr,
						    void *owner)
{
	struct folio *folio;
	struct page *page = make_device_exclusive(mm, addr, owner, &folio);

	if (!IS_ERR(page))
		folio_unlock(folio);
	return page;
}
#elif defined(GM_HAVE_DEVICE_EXCLUSIVE_RANGE)
#define gm_have_device_exclusive()	true

static inline struct page *gm_make_device_exclusive(struct mm_struct *mm,
						    unsigned long addr,
						    void *owner)
{
	struct page *page = NULL;
	int n = make_device_exclusive_range(mm, addr, addr + PAGE_SIZE, &page,
					    owner);

	if (n < 0)
		return ERR_PTR(n);
	if (n != 1 || !page)
		return ERR_PTR(-EBUSY);
	unlock_page(page);
	return page;
}
#else
#define gm_have_device_exclusive()	false

static inline struct page *gm_make_device_exclusive(struct mm_struct *mm,
						    unsigned long addr,
						    void *owner)
{
	return ERR_PTR(-EOPNOTSUPP);
}
#endif

/* The pagemap of a ZONE_DEVICE page: in the folio since v6.15. */
static inline struct dev_pagemap *gm_page_pgmap(const struct page *page)
{
#ifdef GM_HAVE_PAGE_PGMAP
	return page_pgmap(page);
#else
	return page->pgmap;
#endif
}

/* Make a free device page of @pgmap ready to be handed out, order 0. */
static inline void gm_zone_device_page_init(struct page *page,
					    struct dev_pagemap *pgmap)
{
#if defined(GM_HAVE_ZONE_DEVICE_PAGE_INIT_PGMAP)
	zone_device_page_init(page, pgmap, 0);
#elif defined(GM_HAVE_ZONE_DEVICE_PAGE_INIT_ORDER)
	zone_device_page_init(page, 0);
#else
	zone_device_page_init(page);
#endif
}

/*
 * The pagemap's release of a device page: page_free(page), and from v6.19
 * folio_free(folio), which may be a huge page.  GM_DEFINE_PAGEMAP_FREE(name,
 * fn) defines @name, the callback, calling void @fn(struct page *head,
 * unsigned long nr); GM_PAGEMAP_FREE(name) names it in a struct
 * dev_pagemap_ops.
 */
#ifdef GM_HAVE_PAGEMAP_FOLIO_FREE
#define GM_DEFINE_PAGEMAP_FREE(name, fn)			\
	static void name(struct folio *folio)			\
	{							\
		fn(&folio->page, folio_nr_pages(folio));	\
	}
#define GM_PAGEMAP_FREE(name)	.folio_free = (name)
#else
#define GM_DEFINE_PAGEMAP_FREE(name, fn)			\
	static void name(struct page *page)			\
	{							\
		fn(page, 1);					\
	}
#define GM_PAGEMAP_FREE(name)	.page_free = (name)
#endif

/*
 * Device-private huge pages (v6.19, with the pagemap given to
 * zone_device_folio_init() from v7.0): where the kernel has them, a
 * migration of a PMD-aligned range selects a THP as one folio
 * (GM_MIGRATE_VMA_SELECT_COMPOUND), which moves into a device folio of PMD
 * order made ready by gm_zone_device_huge_init(); GM_PAGEMAP_FOLIO_SPLIT
 * in a struct dev_pagemap_ops keeps what gmem put in such a folio with
 * the pieces of a split.  Elsewhere the flags are 0 and device memory
 * comes in 4 KiB pages only.
 */
#ifdef GM_HAVE_DEVICE_HUGE_PAGES
#define gm_have_device_huge()		true
#define GM_MIGRATE_VMA_SELECT_COMPOUND	MIGRATE_VMA_SELECT_COMPOUND
#define GM_MIGRATE_PFN_COMPOUND		MIGRATE_PFN_COMPOUND

/* Each folio a split makes keeps the pagemap, mapping and device data. */
static inline void gm_pagemap_folio_split(struct folio *head,
					  struct folio *tail)
{
	if (!tail)
		return;
	tail->pgmap = head->pgmap;
	tail->page.mapping = head->page.mapping;
	tail->page.zone_device_data = head->page.zone_device_data;
}

#define GM_PAGEMAP_FOLIO_SPLIT		.folio_split = gm_pagemap_folio_split,

static inline void gm_zone_device_huge_init(struct page *head,
					    struct dev_pagemap *pgmap)
{
	zone_device_folio_init(page_folio(head), pgmap, HPAGE_PMD_ORDER);
}

/* A host huge page for a device huge page coming back, or NULL. */
static inline struct folio *gm_vma_alloc_huge_folio(gfp_t gfp,
						    struct vm_area_struct *vma,
						    unsigned long addr)
{
	return vma_alloc_folio(gfp, HPAGE_PMD_ORDER, vma, addr);
}
#else
#define gm_have_device_huge()		false
#define GM_MIGRATE_VMA_SELECT_COMPOUND	0
#define GM_MIGRATE_PFN_COMPOUND		0
#define GM_PAGEMAP_FOLIO_SPLIT

static inline void gm_zone_device_huge_init(struct page *head,
					    struct dev_pagemap *pgmap)
{
}

static inline struct folio *gm_vma_alloc_huge_folio(gfp_t gfp,
						    struct vm_area_struct *vma,
						    unsigned long addr)
{
	return NULL;
}
#endif

/*
 * Fault in @range without the caller holding the mmap lock, so that faults
 * that must drop it (userfaultfd) complete: hmm_range_fault_unlocked_
 * timeout() where the kernel has it, else hmm_range_fault() under the lock
 * taken here.  Sets range->notifier_seq; -EBUSY asks for a retry.
 *
 * hmm_range_fault_unlocked_timeout() retries invalidations by itself until
 * @timeout jiffies have passed, counted from before it takes the mmap
 * lock: a timeout shorter than a wait for that lock would turn a busy
 * mmap lock (another thread's munmap) into -EBUSY, a retry that no
 * invalidation caused.  So the caller gives what is left of its own
 * deadline, and sees only the retries that outlast it.
 */
static inline int gm_hmm_range_fault_unlocked(struct hmm_range *range,
					      struct mm_struct *mm,
					      unsigned long timeout)
{
#ifdef GM_HAVE_HMM_RANGE_FAULT_UNLOCKED
	return hmm_range_fault_unlocked_timeout(range, timeout);
#else
	int err;

	range->notifier_seq = mmu_interval_read_begin(range->notifier);
	mmap_read_lock(mm);
	err = hmm_range_fault(range);
	mmap_read_unlock(mm);
	return err;
#endif
}

/*
 * Workqueues whose work runs on the CPU it is queued on: the flag of one,
 * and the system's.
 */
#ifdef GM_HAVE_WQ_PERCPU
#define GM_WQ_PERCPU		WQ_PERCPU
#define gm_system_percpu_wq	system_percpu_wq
#else
#define GM_WQ_PERCPU		0
#define gm_system_percpu_wq	system_wq
#endif

/*
 * Is an anonymous page mapped into another process too (copy-on-write
 * after fork()), or merged by KSM?  The kernel's answer moved from the
 * page's mapcount to an estimate per folio, then to an exact one.
 */
static inline bool gm_page_mapped_shared(struct page *page)
{
	struct folio *folio = page_folio(page);

	if (!folio_test_anon(folio))
		return false;
	if (folio_test_ksm(folio))
		return true;
#if defined(GM_HAVE_FOLIO_MAYBE_MAPPED_SHARED)
	return folio_maybe_mapped_shared(folio);
#elif defined(GM_HAVE_FOLIO_LIKELY_MAPPED_SHARED)
	return folio_likely_mapped_shared(folio);
#else
	return page_mapcount(page) > 1;
#endif
}

#endif /* GM_COMPAT_H */
