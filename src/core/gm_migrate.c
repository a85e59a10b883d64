// SPDX-License-Identifier: GPL-2.0
/*
 * Migration of a process's virtual range between host RAM and device
 * memory, with migrate_vma_setup/pages/finalize.
 *
 * A range is cut into batches of up to GM_BATCH_PAGES pages, aligned to
 * GM_BATCH_PAGES so that a transparent huge page is split by one batch
 * only.  Two batches are in flight: while the device's engine copies batch
 * N, batch N+1 is collected and its pages allocated; then batch N is
 * committed.  Each batch only moves the pages whose copy succeeded; every
 * other page stays mapped where it was, with its data, and is counted in
 * gm_migrate_result.not_moved.
 */
#include <linux/export.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include "gm_internal.h"

#define GM_BATCH_BYTES		(GM_BATCH_PAGES << PAGE_SHIFT)

/* Devices whose pages one batch copies out at once; more wait a turn. */
#define GM_BATCH_MAX_SRC_DEVS	4

/**
 * struct gm_batch - one migrate_vma call and its copies
 * @mig: the migrate_vma arguments and results
 * @inflight: tells the logical page table's notifier about the batch
 * @src: migrate_vma source pfns
 * @dst: migrate_vma destination pfns
 * @spages: dense list of source pages to copy (NULL: zero the destination)
 * @dpages: dense list of destination pages, locked
 * @slot: index in @src/@dst of each dense entry
 * @reqs: copy requests, one per device doing copies
 * @req_devs: the device running each request
 * @req_err: the request could not be submitted
 * @nreqs: requests in use
 * @ncopy: dense entries in use
 */
struct gm_batch {
	struct migrate_vma mig;
	struct gm_pt_inflight inflight;
	unsigned long src[GM_BATCH_PAGES];
	unsigned long dst[GM_BATCH_PAGES];
	struct page *spages[GM_BATCH_PAGES];
	struct page *dpages[GM_BATCH_PAGES];
	u16 slot[GM_BATCH_PAGES];
	struct gm_copy_req reqs[GM_BATCH_MAX_SRC_DEVS];
	struct gm_dev *req_devs[GM_BATCH_MAX_SRC_DEVS];
	int req_err[GM_BATCH_MAX_SRC_DEVS];
	unsigned int nreqs;
	unsigned int ncopy;
};

/**
 * struct gm_migration - state of one gm_migrate_to_dev/host() call
 * @as: the address space
 * @dev: destination device, NULL for host RAM
 * @pm: @dev's memory
 * @res: running totals
 * @exhausted: the device ran out of memory; stop after the current batch
 * @batch: the two batches in flight
 * @stock: host pages for the next batch, migrations to host only
 */
struct gm_migration {
	struct gm_as *as;
	struct gm_dev *dev;
	struct gm_physmem *pm;
	struct gm_migrate_result *res;
	bool exhausted;
	struct gm_batch batch[2];
	struct gm_host_stock stock;
};

/**
 * gm_check_range() - validate a user range given to a migration or query
 * @start: start address
 * @len: length in bytes
 *
 * Return: 0, -EINVAL for an unaligned or empty range, -EOVERFLOW for one
 * that wraps or ends above the user address space.
 */
int gm_check_range(unsigned long start, unsigned long len)
{
	if (!len || !PAGE_ALIGNED(start) || !PAGE_ALIGNED(len))
		return -EINVAL;
	if (start + len < start || start + len > TASK_SIZE)
		return -EOVERFLOW;
	return 0;
}

/*
 * Only anonymous pages can move to device memory, which migrate_vma finds
 * in private mappings: anonymous ones, and the copied-on-write pages of
 * private file mappings (whose page-cache pages stay, as not moved).
 * Shared, hugetlb and special mappings have none; gmem would rather say so
 * than report every page as busy.
 */
static int gm_check_vmas(struct mm_struct *mm, unsigned long start,
			 unsigned long end)
{
	struct vm_area_struct *vma;
	unsigned long addr;

	for (addr = start; addr < end; addr = vma->vm_end) {
		vma = vma_lookup(mm, addr);
		if (!vma)
			return -EFAULT;
		if (is_vm_hugetlb_page(vma) ||
		    (vma->vm_flags & (VM_SHARED | VM_IO | VM_PFNMAP | VM_MIXEDMAP)))
			return -EOPNOTSUPP;
	}
	return 0;
}

/* Queue a dense entry: copy @spage (or zeroes) into @dpage for mig slot @i. */
static void gm_batch_add_copy(struct gm_batch *b, unsigned int k,
			      unsigned long i, struct page *spage,
			      struct page *dpage)
{
	b->spages[k] = spage;
	b->dpages[k] = dpage;
	b->slot[k] = i;
	b->dst[i] = migrate_pfn(page_to_pfn(dpage));
	if ((b->src[i] & MIGRATE_PFN_WRITE) ||
	    (!spage && (b->mig.vma->vm_flags & VM_WRITE)))
		b->dst[i] |= MIGRATE_PFN_WRITE;
}

static void gm_batch_submit(struct gm_batch *b, unsigned int r,
			    enum gm_copy_dir dir, unsigned int first,
			    unsigned int n)
{
	struct gm_copy_req *req = &b->reqs[r];

	req->dir = dir;
	req->npages = n;
	req->src = &b->spages[first];
	req->dst = &b->dpages[first];
	b->req_err[r] = gm_copy_submit(b->req_devs[r], req);
}

/*
 * Can slot @i move into device memory?  migrate_vma_setup() also collects
 * page-cache pages and holes of private file mappings, which
 * migrate_vma_pages() then refuses: skip them before copying anything.
 */
static bool gm_batch_movable(struct gm_batch *b, unsigned long i,
			     struct page *page)
{
	if (!(b->src[i] & MIGRATE_PFN_MIGRATE))
		return false;
	if (vma_is_anonymous(b->mig.vma))
		return true;
	return page && (PageAnon(page) || is_zone_device_page(page));
}

/*
 * Host (or never-touched) pages of the batch get a device page each;
 * pages already on the destination stay, pages on another device or that
 * migrate_vma could not isolate are counted as not moved.
 */
static void gm_batch_prepare_to_dev(struct gm_migration *m, struct gm_batch *b)
{
	unsigned long i, need = 0, got;
	unsigned int k = 0;

	for (i = 0; i < b->mig.npages; i++) {
		struct page *page = migrate_pfn_to_page(b->src[i]);

		if (!gm_batch_movable(b, i, page)) {
			m->res->not_moved++;
			continue;
		}
		if (page && is_zone_device_page(page)) {
			if (gm_page_dev(page) != m->dev)
				m->res->not_moved++;
			continue;
		}
		need++;
	}

	got = gm_devmem_alloc_pages(m->pm, b->dpages, need);
	if (got < need) {
		m->exhausted = true;
		m->res->not_moved += need - got;
	}

	for (i = 0; i < b->mig.npages && k < got; i++) {
		struct page *page = migrate_pfn_to_page(b->src[i]);
		struct page *dpage = b->dpages[k];

		if (!gm_batch_movable(b, i, page) ||
		    (page && is_zone_device_page(page)))
			continue;
		zone_device_page_init(dpage);
		gm_batch_add_copy(b, k++, i, page, dpage);
	}
	b->ncopy = k;
	if (k) {
		b->req_devs[0] = m->dev;
		b->nreqs = 1;
		gm_batch_submit(b, 0, GM_COPY_TO_DEV, 0, k);
	}
}

/* Index of @dev among the batch's copy requests, adding it if there is room. */
static int gm_batch_req_index(struct gm_batch *b, struct gm_dev *dev)
{
	unsigned int r;

	for (r = 0; r < b->nreqs; r++)
		if (b->req_devs[r] == dev)
			return r;
	if (b->nreqs == GM_BATCH_MAX_SRC_DEVS)
		return -1;
	b->req_devs[b->nreqs] = dev;
	return b->nreqs++;
}

/*
 * Device pages of the batch get a host page each and are copied out by the
 * engine of the device that holds them: the dense lists are laid out
 * grouped by device, one copy request per group.
 */
static void gm_batch_prepare_to_host(struct gm_migration *m,
				     struct gm_batch *b)
{
	unsigned int count[GM_BATCH_MAX_SRC_DEVS] = { 0 };
	unsigned int fill[GM_BATCH_MAX_SRC_DEVS] = { 0 };
	unsigned int first[GM_BATCH_MAX_SRC_DEVS];
	unsigned long i, need = 0, got, drop;
	unsigned int r, pos;
	int idx;

	/* Pass 1: which pages move, and how many from each device. */
	for (i = 0; i < b->mig.npages; i++) {
		struct page *page = migrate_pfn_to_page(b->src[i]);

		if (!(b->src[i] & MIGRATE_PFN_MIGRATE)) {
			if (b->src[i] & MIGRATE_PFN_VALID)
				m->res->not_moved++;
			continue;
		}
		if (!page)	/* a hole: nothing to bring back */
			continue;
		idx = gm_batch_req_index(b, gm_page_dev(page));
		if (idx < 0) {
			m->res->not_moved++;
			continue;
		}
		count[idx]++;
		need++;
	}

	got = gm_host_stock_take(&m->stock, b->dpages, need);
	gm_host_stock_refill(&m->stock);
	m->res->not_moved += need - got;
	for (drop = need - got, r = b->nreqs; drop && r--; ) {
		unsigned int d = min_t(unsigned long, drop, count[r]);

		count[r] -= d;
		drop -= d;
	}
	for (r = 0, pos = 0; r < b->nreqs; r++) {
		first[r] = pos;
		pos += count[r];
	}

	/* Pass 2: place each moving page in its device's group. */
	for (i = 0; i < b->mig.npages; i++) {
		struct page *page = migrate_pfn_to_page(b->src[i]);

		if (!(b->src[i] & MIGRATE_PFN_MIGRATE) || !page)
			continue;
		idx = gm_batch_req_index(b, gm_page_dev(page));
		if (idx < 0 || fill[idx] == count[idx])
			continue;
		pos = first[idx] + fill[idx]++;
		lock_page(b->dpages[pos]);
		gm_batch_add_copy(b, pos, i, page, b->dpages[pos]);
	}
	b->ncopy = got;

	for (r = 0; r < b->nreqs; r++)
		if (count[r])
			gm_batch_submit(b, r, GM_COPY_TO_HOST, first[r],
					count[r]);
}

/*
 * Start a batch over [start, end) of @vma: collect and unmap its pages,
 * give them destinations and start the copies.
 *
 * The batch is announced to the page table's notifier only after
 * migrate_vma_setup(), which splits huge pages with invalidations of its
 * own; from then on the pages are locked behind migration entries, and
 * only a zap (MADV_DONTNEED and the like) can still take them away, which
 * the notifier and gm_batch_finish() catch.
 */
static int gm_batch_start(struct gm_migration *m, struct gm_batch *b,
			  struct vm_area_struct *vma, unsigned long start,
			  unsigned long end)
{
	int err;

	b->mig = (struct migrate_vma) {
		.vma = vma,
		.start = start,
		.end = end,
		.src = b->src,
		.dst = b->dst,
		.pgmap_owner = &gm_pgmap_owner,
		.flags = (m->dev ? MIGRATE_VMA_SELECT_SYSTEM : 0) |
			 MIGRATE_VMA_SELECT_DEVICE_COHERENT |
			 MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
	};
	memset(b->reqs, 0, sizeof(b->reqs));
	b->nreqs = 0;
	b->ncopy = 0;

	err = migrate_vma_setup(&b->mig);
	if (err)
		return err;
	gm_pt_inflight_begin(&m->as->pt, &b->inflight, start, end);

	if (m->dev)
		gm_batch_prepare_to_dev(m, b);
	else
		gm_batch_prepare_to_host(m, b);
	return 0;
}

/* Wait for the copies; a failed request gives its pages back unmoved. */
static void gm_batch_wait(struct gm_migration *m, struct gm_batch *b)
{
	unsigned int r, k, first;

	for (r = 0; r < b->nreqs; r++) {
		struct gm_copy_req *req = &b->reqs[r];
		int err = b->req_err[r];

		if (!req->npages)
			continue;
		if (!err)
			err = gm_copy_wait(b->req_devs[r], req);
		if (!err)
			continue;
		first = req->dst - b->dpages;
		for (k = first; k < first + req->npages; k++) {
			unlock_page(b->dpages[k]);
			put_page(b->dpages[k]);
			b->dpages[k] = NULL;
			b->dst[b->slot[k]] = 0;
		}
		m->res->not_moved += req->npages;
	}
}

/* Count the pages of each copy request that migrate_vma_pages() moved. */
static void gm_batch_count_to_host(struct gm_batch *b)
{
	unsigned int r, k, first;

	for (r = 0; r < b->nreqs; r++) {
		struct gm_copy_req *req = &b->reqs[r];
		unsigned long moved = 0;

		first = req->dst - b->dpages;
		for (k = first; k < first + req->npages; k++)
			if (b->dpages[k] &&
			    (b->src[b->slot[k]] & MIGRATE_PFN_MIGRATE))
				moved++;
		atomic64_add(moved, &b->req_devs[r]->to_host_pages);
	}
}

/*
 * Commit a batch: switch the mappings of the copied pages, release what
 * migrate_vma_setup() took, and record where the pages now live.  If an
 * invalidation hit the batch meanwhile, or a page is no longer mapped after
 * the switch (MADV_DONTNEED racing with the migration), the entry is marked
 * stale for readers to check against the CPU page table.
 */
static void gm_batch_finish(struct gm_migration *m, struct gm_batch *b)
{
	struct gm_pt *pt = &m->as->pt;
	u8 loc = m->dev ? GMEM_LOC_DEV(m->dev->id) : GMEM_LOC_HOST;
	unsigned long moved = 0;
	unsigned int k;
	bool trusted;

	gm_batch_wait(m, b);
	migrate_vma_pages(&b->mig);

	for (k = 0; k < b->ncopy; k++) {
		if (!b->dpages[k])
			continue;
		if (b->src[b->slot[k]] & MIGRATE_PFN_MIGRATE) {
			get_page(b->dpages[k]);	/* for page_mapped() below */
			moved++;
		} else {
			m->res->not_moved++;
		}
	}
	if (!m->dev)
		gm_batch_count_to_host(b);
	migrate_vma_finalize(&b->mig);

	spin_lock(&pt->lock);
	trusted = gm_pt_inflight_end_locked(pt, &b->inflight);
	for (k = 0; k < b->ncopy; k++) {
		unsigned long i = b->slot[k];
		struct page *page = b->dpages[k];

		if (!page || !(b->src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		gm_pt_set_locked(pt, b->mig.start + (i << PAGE_SHIFT),
				 trusted && page_mapped(page) ? loc :
				 loc | GM_PT_STALE);
	}
	spin_unlock(&pt->lock);

	for (k = 0; k < b->ncopy; k++)
		if (b->dpages[k] && (b->src[b->slot[k]] & MIGRATE_PFN_MIGRATE))
			put_page(b->dpages[k]);

	m->res->moved += moved;
	if (m->dev)
		atomic64_add(moved, &m->dev->to_dev_pages);
}

/*
 * Migrate [start, end) of @m->as with its mmap lock held for read, batch
 * after batch, keeping one batch copying while the next is set up.
 */
static int gm_migrate_locked(struct gm_migration *m, struct mm_struct *mm,
			     unsigned long start, unsigned long end)
{
	struct gm_batch *prev = NULL, *cur;
	unsigned long addr, next;
	unsigned int turn = 0;
	int err;

	err = gm_check_vmas(mm, start, end);
	if (!err)
		err = gm_pt_prepare(&m->as->pt, start, end);
	if (err)
		return err;

	for (addr = start; addr < end && !m->exhausted; addr = next) {
		struct vm_area_struct *vma = vma_lookup(mm, addr);

		next = min3(end, vma->vm_end,
			    round_down(addr, GM_BATCH_BYTES) + GM_BATCH_BYTES);
		cur = &m->batch[turn];
		turn ^= 1;
		err = gm_batch_start(m, cur, vma, addr, next);
		if (prev)
			gm_batch_finish(m, prev);
		prev = err ? NULL : cur;
		if (err)
			break;
	}
	if (prev)
		gm_batch_finish(m, prev);
	return err;
}

static int gm_migrate(struct gm_as *as, struct gm_dev *dev,
		      unsigned long start, unsigned long len,
		      struct gm_migrate_result *res)
{
	struct mm_struct *mm = gm_as_mm(as);
	struct gm_migration *m;
	int err;

	if (!mmget_not_zero(mm))
		return -ESRCH;
	m = kvzalloc(sizeof(*m), GM_GFP_MAY_FAIL);
	if (!m) {
		err = -ENOMEM;
		goto out_mmput;
	}
	m->as = as;
	m->dev = dev;
	m->pm = dev ? dev->physmem : NULL;
	m->res = res;

	gm_host_stock_init(&m->stock);
	if (!dev)
		gm_host_stock_refill(&m->stock);

	err = mmap_read_lock_killable(mm);
	if (!err) {
		err = gm_migrate_locked(m, mm, start, start + len);
		mmap_read_unlock(mm);
	}
	gm_host_stock_drain(&m->stock);
	kvfree(m);
out_mmput:
	mmput(mm);
	return err;
}

/**
 * gm_migrate_to_dev() - move a virtual range into a device's memory
 * @as: the address space
 * @dev: the device, attached to @as
 * @start: page-aligned start of the range
 * @len: page-aligned length in bytes
 * @res: filled with what moved
 *
 * Every page of the range that is in host RAM (or was never touched, which
 * becomes a zeroed device page) moves to @dev, batch by batch through its
 * copy engine.  Pages that cannot move stay valid where they are and are
 * counted in @res->not_moved; when device memory runs out the migration
 * stops there, which is not an error.
 *
 * Context: process context, may sleep; takes the mmap lock for read.
 * Return: 0 (see @res for partial success), -EINVAL or -EOVERFLOW for a
 * bad range, -EFAULT if part of it is not mapped, -EOPNOTSUPP if part of it
 * is a shared, hugetlb or special mapping, -ENOSPC if it is larger than the
 * whole device memory, -ENXIO if @dev is not attached to @as, -ENODEV if
 * @dev has no memory or was destroyed, -ESRCH if the process exited,
 * -EINTR, -ENOMEM.
 */
int gm_migrate_to_dev(struct gm_as *as, struct gm_dev *dev,
		      unsigned long start, unsigned long len,
		      struct gm_migrate_result *res)
{
	int err;

	memset(res, 0, sizeof(*res));
	err = gm_check_range(start, len);
	if (err)
		return err;
	if (!gm_as_has_dev(as, dev))
		return -ENXIO;

	down_read(&dev->mem_rwsem);
	if (dev->dead || !dev->physmem)
		err = -ENODEV;
	else if ((len >> PAGE_SHIFT) > dev->physmem->alloc.total_pages)
		err = -ENOSPC;
	else
		err = gm_migrate(as, dev, start, len, res);
	up_read(&dev->mem_rwsem);
	return err;
}
EXPORT_SYMBOL_GPL(gm_migrate_to_dev);

/**
 * gm_migrate_to_host() - move a virtual range back to host RAM
 * @as: the address space
 * @start: page-aligned start of the range
 * @len: page-aligned length in bytes
 * @res: filled with what moved
 *
 * Every page of the range that lives in the memory of any gmem device,
 * coherent or private, moves to host RAM, copied by the engine of the
 * device that holds it.
 *
 * Context: process context, may sleep; takes the mmap lock for read.
 * Return: 0 (see @res for partial success), -EINVAL or -EOVERFLOW for a
 * bad range, -EFAULT if part of it is not mapped, -EOPNOTSUPP if part of it
 * is a shared, hugetlb or special mapping, -ESRCH if the process exited,
 * -EINTR, -ENOMEM.
 */
int gm_migrate_to_host(struct gm_as *as, unsigned long start,
		       unsigned long len, struct gm_migrate_result *res)
{
	int err;

	memset(res, 0, sizeof(*res));
	err = gm_check_range(start, len);
	if (err)
		return err;
	return gm_migrate(as, NULL, start, len, res);
}
EXPORT_SYMBOL_GPL(gm_migrate_to_host);

/**
 * gm_as_query() - read where gmem placed a range of pages
 * @as: the address space
 * @start: page-aligned start
 * @npages: number of pages, not zero
 * @locs: filled with one GMEM_LOC_* code per page
 *
 * Entries that an invalidation left in doubt are first checked against the
 * CPU page table, so the answer is exact for pages nobody moves meanwhile.
 *
 * Context: process context, may sleep; takes the mmap lock for read.
 * Return: 0, -EINVAL or -EOVERFLOW for a bad range, -ENOMEM, -EBUSY if the
 * range kept changing while it was being checked.
 */
int gm_as_query(struct gm_as *as, unsigned long start, unsigned long npages,
		u8 *locs)
{
	int err;

	if (npages > TASK_SIZE >> PAGE_SHIFT)
		return -EOVERFLOW;
	err = gm_check_range(start, npages << PAGE_SHIFT);
	if (err)
		return err;
	err = gm_as_refresh(as, start, npages);
	if (err)
		return err;
	gm_pt_read(&as->pt, start, npages, locs);
	return 0;
}
EXPORT_SYMBOL_GPL(gm_as_query);
