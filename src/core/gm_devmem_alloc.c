// SPDX-License-Identifier: GPL-2.0
/*
 * Device page allocator over the kernel's GPU buddy allocator.
 *
 * Migration wants pages one at a time but many per call, and gets them
 * back one at a time through the pagemap's page_free, possibly in atomic
 * context.  So pages are handed out from buddy blocks of up to
 * GM_CHUNK_MAX_PAGES pages ("chunks"); every page points to its chunk
 * through zone_device_data, and a chunk goes back to the buddy allocator
 * once all its pages are free.  Because the buddy allocator allocates under
 * a sleeping lock, frees of whole chunks are queued lock-free and applied
 * by the next allocation, a worker, or a statistics read.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include "gm_internal.h"

/**
 * struct gm_devmem_chunk - a buddy block whose pages are handed out
 * @block: the buddy block
 * @alloc: the allocator it came from
 * @live: pages of the chunk not yet freed
 * @npages: pages in the chunk
 * @free_node: in gm_devmem_alloc.deferred once @live reached zero
 */
struct gm_devmem_chunk {
	struct gm_buddy_block *block;
	struct gm_devmem_alloc *alloc;
	atomic_t live;
	unsigned int npages;
	struct llist_node free_node;
};

static void gm_devmem_drain_locked(struct gm_devmem_alloc *a)
{
	struct gm_devmem_chunk *chunk, *next;
	struct llist_node *list;

	lockdep_assert_held(&a->lock);
	list = llist_del_all(&a->deferred);
	llist_for_each_entry_safe(chunk, next, list, free_node) {
		gm_buddy_free_block(&a->mm, chunk->block);
		atomic_long_sub(chunk->npages, &a->held_pages);
		kfree(chunk);
	}
}

static void gm_devmem_drain_work(struct work_struct *work)
{
	struct gm_devmem_alloc *a =
		container_of(work, struct gm_devmem_alloc, drain_work);

	mutex_lock(&a->lock);
	gm_devmem_drain_locked(a);
	mutex_unlock(&a->lock);
}

int gm_devmem_alloc_init(struct gm_devmem_alloc *a, unsigned long npages)
{
	mutex_init(&a->lock);
	init_llist_head(&a->deferred);
	INIT_WORK(&a->drain_work, gm_devmem_drain_work);
	atomic_long_set(&a->held_pages, 0);
	atomic_long_set(&a->used_pages, 0);
	a->total_pages = npages;
	a->dying = false;
	return gm_buddy_init(&a->mm, (u64)npages << PAGE_SHIFT, PAGE_SIZE);
}

void gm_devmem_alloc_fini(struct gm_devmem_alloc *a)
{
	flush_work(&a->drain_work);
	mutex_lock(&a->lock);
	gm_devmem_drain_locked(a);
	mutex_unlock(&a->lock);
	gm_buddy_fini(&a->mm);
}

/* Refuse every later allocation: the memory is about to be evicted. */
void gm_devmem_stop(struct gm_devmem_alloc *a)
{
	mutex_lock(&a->lock);
	a->dying = true;
	mutex_unlock(&a->lock);
}

/*
 * Turn a freshly allocated buddy block into a chunk of pages, stored at
 * @pages unless it is NULL.
 */
static unsigned long gm_devmem_take_block(struct gm_physmem *pm,
					  struct gm_buddy_block *block,
					  struct page **pages)
{
	struct gm_devmem_alloc *a = &pm->alloc;
	struct gm_devmem_chunk *chunk;
	unsigned long pfn, i, n;

	chunk = kmalloc(sizeof(*chunk), GFP_KERNEL);
	if (!chunk) {
		gm_buddy_free_block(&a->mm, block);
		return 0;
	}
	n = gm_buddy_block_size(&a->mm, block) >> PAGE_SHIFT;
	chunk->block = block;
	chunk->alloc = a;
	chunk->npages = n;
	atomic_set(&chunk->live, n);

	pfn = pm->base_pfn + (gm_buddy_block_offset(block) >> PAGE_SHIFT);
	for (i = 0; i < n; i++) {
		pfn_to_page(pfn + i)->zone_device_data = chunk;
		if (pages)
			pages[i] = pfn_to_page(pfn + i);
	}
	atomic_long_add(n, &a->held_pages);
	atomic_long_add(n, &a->used_pages);
	return n;
}

/* Allocate exactly @n pages as few blocks, or fail without side effects. */
static unsigned long gm_devmem_alloc_run(struct gm_physmem *pm,
					 struct page **pages, unsigned long n)
{
	struct gm_devmem_alloc *a = &pm->alloc;
	struct gm_buddy_block *block, *tmp;
	unsigned long got = 0;
	LIST_HEAD(blocks);

	if (gm_buddy_alloc_blocks(&a->mm, 0, (u64)a->total_pages << PAGE_SHIFT,
				  (u64)n << PAGE_SHIFT, PAGE_SIZE, &blocks, 0))
		return 0;
	list_for_each_entry_safe(block, tmp, &blocks, link) {
		list_del(&block->link);
		got += gm_devmem_take_block(pm, block, pages + got);
	}
	return got;
}

/**
 * gm_devmem_alloc_pages() - take device pages for a migration
 * @pm: the device memory
 * @pages: filled with up to @n pages, not yet initialised for use
 * @n: pages wanted
 *
 * Asks for runs of at most GM_CHUNK_MAX_PAGES pages and halves the run
 * when the buddy allocator cannot satisfy it, so a fragmented memory still
 * yields single pages.
 *
 * Return: the number of pages stored in @pages; fewer than @n when the
 * memory is exhausted or being torn down.
 */
unsigned long gm_devmem_alloc_pages(struct gm_physmem *pm,
				    struct page **pages, unsigned long n)
{
	struct gm_devmem_alloc *a = &pm->alloc;
	unsigned long got = 0, run = GM_CHUNK_MAX_PAGES;

	if (gm_inject_devmem_alloc_failure())
		return 0;
	mutex_lock(&a->lock);
	gm_devmem_drain_locked(a);
	while (!a->dying && got < n) {
		unsigned long want = min(run, n - got);
		unsigned long done = gm_devmem_alloc_run(pm, pages + got, want);

		got += done;
		if (done)
			continue;
		if (want == 1)
			break;
		run = want / 2;
	}
	mutex_unlock(&a->lock);
	return got;
}

/**
 * gm_devmem_alloc_huge() - take a device huge page for a migration
 * @pm: the device memory
 *
 * Return: the first of HPAGE_PMD_NR pages aligned to that many, one chunk
 * of the allocator, not yet initialised for use; NULL when no such run is
 * free (the caller falls back to pages of 4 KiB).
 */
struct page *gm_devmem_alloc_huge(struct gm_physmem *pm)
{
	struct gm_devmem_alloc *a = &pm->alloc;
	struct gm_buddy_block *block;
	struct page *head = NULL;
	LIST_HEAD(blocks);

	if (gm_inject_devmem_alloc_failure())
		return NULL;
	mutex_lock(&a->lock);
	gm_devmem_drain_locked(a);
	/* One block: its size is its alignment. */
	if (!a->dying &&
	    !gm_buddy_alloc_blocks(&a->mm, 0, (u64)a->total_pages << PAGE_SHIFT,
				   HPAGE_PMD_SIZE, HPAGE_PMD_SIZE, &blocks, 0)) {
		block = list_first_entry(&blocks, struct gm_buddy_block, link);
		list_del(&block->link);
		head = pfn_to_page(pm->base_pfn +
				   (gm_buddy_block_offset(block) >> PAGE_SHIFT));
		if (!gm_devmem_take_block(pm, block, NULL))
			head = NULL;
	}
	mutex_unlock(&a->lock);
	return head;
}

/*
 * dev_pagemap_ops.page_free or folio_free: the last reference to @nr device
 * pages from @head, a folio, is gone.
 */
void gm_devmem_page_free(struct page *head, unsigned long nr)
{
	struct gm_devmem_chunk *chunk = head->zone_device_data;
	struct gm_devmem_alloc *a = chunk->alloc;

	atomic_long_sub(nr, &a->used_pages);
	if (atomic_sub_and_test(nr, &chunk->live)) {
		llist_add(&chunk->free_node, &a->deferred);
		schedule_work(&a->drain_work);
	}
}

/* Pages allocatable now: every chunk freed so far is settled first. */
unsigned long gm_devmem_free_pages(struct gm_devmem_alloc *a)
{
	unsigned long held;

	mutex_lock(&a->lock);
	gm_devmem_drain_locked(a);
	held = atomic_long_read(&a->held_pages);
	mutex_unlock(&a->lock);
	return a->total_pages - held;
}
