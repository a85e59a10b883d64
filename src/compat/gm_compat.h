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
#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/rmap.h>
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

/* Fill @pages[0..nr) with order-0 pages, return how many were allocated. */
static inline unsigned long gm_alloc_pages_bulk(gfp_t gfp, unsigned long nr,
						struct page **pages)
{
#ifdef GM_HAVE_ALLOC_PAGES_BULK_ARRAY
	return alloc_pages_bulk_array(gfp, nr, pages);
#else
	return alloc_pages_bulk(gfp, nr, pages);
#endif
}

/*
 * Device-private memory: only where the kernel has CONFIG_DEVICE_PRIVATE.
 * Elsewhere the free physical range it would need cannot be requested (the
 * function is not exported), and gmem says -EOPNOTSUPP.
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
 * Device-exclusive access (device atomics): make_device_exclusive_range()
 * returns the number of pages it made exclusive, locked and referenced in
 * @pages, or a negative errno.
 */
#ifdef GM_HAVE_DEVICE_EXCLUSIVE_RANGE
static inline int gm_make_device_exclusive_range(struct mm_struct *mm,
						 unsigned long start,
						 unsigned long end,
						 struct page **pages,
						 void *owner)
{
	return make_device_exclusive_range(mm, start, end, pages, owner);
}
#else
static inline int gm_make_device_exclusive_range(struct mm_struct *mm,
						 unsigned long start,
						 unsigned long end,
						 struct page **pages,
						 void *owner)
{
	return -EOPNOTSUPP;
}
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
