// SPDX-License-Identifier: GPL-2.0
/*
 * Migration of a virtual range of an mm between host RAM and device
 * memory, with migrate_vma_setup/pages/finalize.  It knows nothing of
 * address spaces: a tracker given by the caller (the logical page table)
 * learns of every batch before it starts and of where it put its pages
 * when it ends (struct gm_migrate_tracker_ops).
 *
 * A range is cut into batches of up to GM_BATCH_PAGES pages, aligned to
 * GM_BATCH_PAGES so that a transparent huge page is split by one batch
 * only.  Two batches are in flight: while the device's engine copies batch
 * N, batch N+1 is collected and its pages allocated; then batch N is
 * committed.  Each batch only moves the pages whose copy succeeded; every
 * other page stays mapped where it was, with its data, and is counted in
 * gm_migrate_result.not_moved.
 *
 * Before its batches, each window of GM_SURVEY_PAGES pages is surveyed:
 * one read of the CPU page table (hmm_range_fault(), faulting nothing in)
 * says which pages are already at the destination, which host pages the
 * process shares with another one, and which are not present.
 * migrate_vma_setup() cannot say: it skips pages it cannot lock or that
 * are swapped out without a trace, and it unmaps a page from every
 * process that maps it before gmem sees it.  The survey is
 * read under the mmap lock that the whole migration holds, so no fork can
 * share a page between the survey and the batch (KSM can, and is checked
 * again on the locked page); every other change only makes the survey's
 * answer more cautious than needed, or a count off for a page that
 * another thread moved meanwhile.
 */
#include <linux/hmm.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include "gm_internal.h"

#define GM_BATCH_BYTES		(GM_BATCH_PAGES << PAGE_SHIFT)

/* Devices whose pages one batch copies out at once; more wait a turn. */
#define GM_BATCH_MAX_SRC_DEVS	4

/* Pages surveyed at once: the pipeline of batches drains at each window. */
#define GM_SURVEY_PAGES		(16 * GM_BATCH_PAGES)
#define GM_SURVEY_BYTES		(GM_SURVEY_PAGES << PAGE_SHIFT)

/* What the survey found of a page (struct gm_survey.page). */
#define GM_SURVEY_AT_DEST	0x1	/* already where the migration goes */
#define GM_SURVEY_SHARED	0x2	/* a host page another process maps too */
#define GM_SURVEY_UNKNOWN	0x4	/* could not be read: taken as shared */
#define GM_SURVEY_MOVABLE	0x8	/* present, and migrate_vma can take it */
#define GM_SURVEY_ABSENT	0x10	/* not present: a hole, or swapped out */

/**
 * struct gm_survey - the CPU page table of one window, read before it moves
 * @mni: lets hmm_range_fault() see invalidations, over the whole migration
 * @start: first address of the window
 * @end: end of the window
 * @pfns: hmm_range_fault() output, one chunk at a time
 * @page: GM_SURVEY_* flags of each page of the window
 */
struct gm_survey {
	struct mmu_interval_notifier mni;
	unsigned long start;
	unsigned long end;
	unsigned long pfns[GM_BATCH_PAGES];
	u8 page[GM_SURVEY_PAGES];
};

/**
 * struct gm_batch - one migrate_vma call and its copies
 * @mig: the migrate_vma arguments and results
 * @span: the batch as the migration's tracker knows it
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
 * @not_moved: pages of the batch that stayed, @busy included
 * @busy: pages that stayed for a reason that may pass: locked or isolated
 *	by someone else for a moment, or a copy that failed
 * @retried: this is the batch's second run, for its busy pages
 * @absent: slots that migrate_vma_setup() skipped because the CPU page table
 *	had no page there (swapped out): faulted in before the second run
 * @huge: the batch moves one huge page: a folio of PMD order at @dst[0],
 *	whose pages are the dense entries
 */
struct gm_batch {
	struct migrate_vma mig;
	struct gm_migrate_span span;
	unsigned long src[GM_BATCH_PAGES];
	unsigned long dst[GM_BATCH_PAGES];
	struct page *spages[GM_BATCH_PAGES];
	struct page *dpages[GM_BATCH_PAGES];
	u16 slot[GM_BATCH_PAGES];
	struct gm_copy reqs[GM_BATCH_MAX_SRC_DEVS];
	struct gm_dev *req_devs[GM_BATCH_MAX_SRC_DEVS];
	int req_err[GM_BATCH_MAX_SRC_DEVS];
	unsigned int nreqs;
	unsigned int ncopy;
	unsigned long not_moved;
	unsigned long busy;
	DECLARE_BITMAP(absent, GM_BATCH_PAGES);
	bool retried;
	bool huge;
};

/**
 * struct gm_migration - state of one migration of a range
 * @mm: the address space, its mmap lock held for read throughout
 * @tracker: learns what each batch did (the logical page table)
 * @dev: destination device, NULL for host RAM
 * @pm: @dev's memory
 * @res: running totals
 * @exhausted: the device ran out of memory: no batch starts any more, the
 *	rest of the range is only counted
 * @batch: the two batches in flight
 * @stock: host pages for the next batch, migrations to host only
 * @survey: the window being migrated
 */
struct gm_migration {
	struct mm_struct *mm;
	struct gm_migrate_tracker *tracker;
	struct gm_dev *dev;
	struct gm_physmem *pm;
	struct gm_migrate_result *res;
	bool exhausted;
	struct gm_batch batch[2];
	struct gm_host_stock stock;
	struct gm_survey survey;
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
 * Shared, hugetlb, DAX and special mappings (VM_SPECIAL: I/O, pfn and mixed
 * maps, and those that may not grow, such as the vDSO) have none, and
 * migrate_vma_setup() refuses them; gmem says so for the whole range
 * before any page moves, rather than stop half-way.
 */
static int gm_check_vmas(struct mm_struct *mm, unsigned long start,
			 unsigned long end)
{
	struct vm_area_struct *vma;
	unsigned long addr;

	mmap_assert_locked(mm);
	for (addr = start; addr < end; addr = vma->vm_end) {
		vma = vma_lookup(mm, addr);
		if (!vma)
			return -EFAULT;
		if (is_vm_hugetlb_page(vma) || vma_is_dax(vma) ||
		    (vma->vm_flags & (VM_SHARED | VM_SPECIAL)))
			return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * Locked memory (mlock(), MAP_LOCKED) stays in host RAM: that is what the
 * process asked for, and the kernel's mlock accounting does not follow
 * pages into device memory (munlock skips ZONE_DEVICE pages, so the
 * Mlocked counter would never come down).  Its pages count as not moved.
 */
static bool gm_vma_stays(struct gm_migration *m, struct vm_area_struct *vma)
{
	return m->dev && (vma->vm_flags & VM_LOCKED);
}

static bool gm_survey_invalidate(struct mmu_interval_notifier *mni,
				 const struct mmu_notifier_range *range,
				 unsigned long cur_seq)
{
	/* No reader retries under a lock: the survey is advice, see above. */
	mmu_interval_set_seq(mni, cur_seq);
	return true;
}

static const struct mmu_interval_notifier_ops gm_survey_mni_ops = {
	.invalidate = gm_survey_invalidate,
};

/* The survey's verdict on one page, from its hmm pfn. */
static u8 gm_survey_page(struct gm_migration *m, unsigned long hmm_pfn)
{
	struct gm_dev *dev;
	struct page *page;

	if (!(hmm_pfn & HMM_PFN_VALID))
		return m->dev ? GM_SURVEY_ABSENT : GM_SURVEY_AT_DEST;
	page = hmm_pfn_to_page(hmm_pfn);
	dev = gm_page_dev(page);
	if (!m->dev)
		return dev ? GM_SURVEY_MOVABLE : GM_SURVEY_AT_DEST;
	if (dev == m->dev)
		return GM_SURVEY_AT_DEST;
	if (dev)
		return 0;
	/*
	 * No reference is held: the page may be freed meanwhile, and then this
	 * reads a stale mapcount, which the batch's locked check makes safe.
	 * A huge page mapped by a PMD moves (whole, or split by
	 * migrate_vma_setup()); a page of a large folio mapped by PTEs only
	 * where the kernel splits such folios, which it does before gmem sees
	 * them.  Movable pages that stay were busy: the batch tries again.
	 */
	if (gm_page_mapped_shared(page))
		return GM_SURVEY_SHARED;
	if (folio_test_large(page_folio(page)) &&
	    hmm_pfn_to_map_order(hmm_pfn) + PAGE_SHIFT != PMD_SHIFT)
		return 0;
	return GM_SURVEY_MOVABLE;
}

/* Survey the window that starts at @start, up to @end at most. */
static void gm_survey_window(struct gm_migration *m, unsigned long start,
			     unsigned long end)
{
	struct gm_survey *s = &m->survey;
	struct hmm_range range = {
		.notifier = &s->mni,
		.hmm_pfns = s->pfns,
		.dev_private_owner = &gm_pgmap_owner,
	};
	unsigned long addr, n, i, first;
	struct gm_retry retry;
	int err;

	mmap_assert_locked(m->mm);
	s->start = start;
	s->end = min(end, start + GM_SURVEY_BYTES);
	for (addr = s->start; addr < s->end; addr = range.end) {
		n = min((s->end - addr) >> PAGE_SHIFT,
			(unsigned long)GM_BATCH_PAGES);
		range.start = addr;
		range.end = addr + (n << PAGE_SHIFT);
		gm_retry_init(&retry);
		do {
			range.notifier_seq = mmu_interval_read_begin(&s->mni);
			err = hmm_range_fault(&range);
		} while (err == -EBUSY && gm_retry_again(&retry));

		first = (addr - s->start) >> PAGE_SHIFT;
		for (i = 0; i < n; i++)
			s->page[first + i] = err ? GM_SURVEY_UNKNOWN :
					     gm_survey_page(m, s->pfns[i]);
	}
}

static u8 gm_survey_at(struct gm_migration *m, unsigned long addr)
{
	return m->survey.page[(addr - m->survey.start) >> PAGE_SHIFT];
}

/* Count the pages of [start, end) that stay where they are. */
static void gm_count_stayed(struct gm_migration *m, unsigned long start,
			    unsigned long end)
{
	unsigned long addr;

	for (addr = start; addr < end; addr += PAGE_SIZE)
		if (!(gm_survey_at(m, addr) & GM_SURVEY_AT_DEST))
			m->res->not_moved++;
}

/*
 * A huge page that migrate_vma_setup() collected whole (a THP, or an empty
 * PMD range) takes slot 0 of its batch, which covers just it, and leaves
 * the other slots zero: these helpers give each slot its own view.
 */
static bool gm_batch_compound(const struct gm_batch *b)
{
	return b->src[0] & GM_MIGRATE_PFN_COMPOUND;
}

/* The pages slot @i stands for: all of the batch's for a huge page. */
static unsigned long gm_batch_nr(const struct gm_batch *b, unsigned long i)
{
	return i == 0 && gm_batch_compound(b) ? b->mig.npages : 1;
}

/* The source entry, flags and pfn, that slot @i moves. */
static unsigned long gm_batch_src(const struct gm_batch *b, unsigned long i)
{
	return gm_batch_compound(b) ? b->src[0] : b->src[i];
}

/* The page slot @i moves, NULL for an empty one. */
static struct page *gm_batch_spage(const struct gm_batch *b, unsigned long i)
{
	struct page *page = migrate_pfn_to_page(gm_batch_src(b, i));

	return page && gm_batch_compound(b) ? pfn_to_page(page_to_pfn(page) + i) : page;
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
	if ((gm_batch_src(b, i) & MIGRATE_PFN_WRITE) ||
	    (!spage && (b->mig.vma->vm_flags & VM_WRITE)))
		b->dst[i] |= MIGRATE_PFN_WRITE;
}

/* Did the dense entry @k move (known once migrate_vma_pages() ran)? */
static bool gm_batch_moved(const struct gm_batch *b, unsigned int k)
{
	return b->src[b->huge ? 0 : b->slot[k]] & MIGRATE_PFN_MIGRATE;
}

/* Give back the destinations of dense entries [first, first + n). */
static void gm_batch_drop(struct gm_batch *b, unsigned int first,
			  unsigned int n)
{
	unsigned int k;

	if (b->huge) {
		/* One folio: the request is all of it. */
		unlock_page(b->dpages[0]);
		put_page(b->dpages[0]);
		memset(b->dpages, 0, n * sizeof(*b->dpages));
		b->dst[0] = 0;
		return;
	}
	for (k = first; k < first + n; k++) {
		unlock_page(b->dpages[k]);
		put_page(b->dpages[k]);
		b->dpages[k] = NULL;
		b->dst[b->slot[k]] = 0;
	}
}

static void gm_batch_submit(struct gm_batch *b, unsigned int r,
			    enum gm_copy_dir dir, unsigned int first,
			    unsigned int n)
{
	b->req_err[r] = gm_copy_submit(b->req_devs[r], &b->reqs[r], dir,
				       &b->spages[first], &b->dpages[first], n);
}

/*
 * Does slot @i of the batch move into device memory?  Every page of the
 * batch is either taken, already there (on this device) or counted as not
 * moved: migrate_vma_setup() also collects page-cache pages and holes of
 * private file mappings, which migrate_vma_pages() then refuses, pages of
 * other devices, and pages that other processes map too.
 */
static bool gm_batch_takes(struct gm_migration *m, struct gm_batch *b,
			   unsigned long i, unsigned long nr)
{
	unsigned long addr = b->mig.start + (i << PAGE_SHIFT);
	struct page *page = migrate_pfn_to_page(b->src[i]);
	u8 survey = gm_survey_at(m, addr);

	if (!(b->src[i] & MIGRATE_PFN_MIGRATE)) {
		if (!(survey & GM_SURVEY_AT_DEST))
			b->not_moved += nr;
		/*
		 * Holes are collected (MIGRATE set): a page that was absent
		 * and is skipped is swapped out (or a migration entry, or a
		 * foreign driver's device page), which a fault brings in.
		 */
		if (survey & GM_SURVEY_ABSENT)
			bitmap_set(b->absent, i, nr);
		if (survey & (GM_SURVEY_MOVABLE | GM_SURVEY_ABSENT))
			b->busy += nr;
		return false;
	}
	if (page && is_zone_device_page(page)) {
		if (gm_page_dev(page) != m->dev)
			b->not_moved += nr;
		return false;
	}
	/* A page shared with another process, or merged by KSM, stays. */
	if ((survey & (GM_SURVEY_SHARED | GM_SURVEY_UNKNOWN)) ||
	    (page && folio_test_ksm(page_folio(page))) ||
	    (!vma_is_anonymous(b->mig.vma) && !(page && PageAnon(page)))) {
		b->not_moved += nr;
		return false;
	}
	return true;
}

/*
 * Host (or never-touched) pages of the batch get a device page each, as far
 * as device memory lasts.  A huge page collected whole gets a device huge
 * page in private memory where one is free, else pages of 4 KiB, and
 * migrate_vma_pages() splits it.  Coherent memory always gets 4 KiB pages,
 * since the kernel could not split a coherent huge page (docs/design.rst,
 * "Device huge pages").
 */
static void gm_batch_prepare_to_dev(struct gm_migration *m, struct gm_batch *b)
{
	unsigned long i, nr, j, need = 0, got, k;
	struct page *huge = NULL;

	/* @slot first lists the slots to take, then the copies. */
	for (i = 0; i < b->mig.npages; i += nr) {
		nr = gm_batch_nr(b, i);
		if (gm_batch_takes(m, b, i, nr))
			for (j = 0; j < nr; j++)
				b->slot[need++] = i + j;
	}

	if (gm_batch_compound(b) && need &&
	    m->pm->pgmap.type == MEMORY_DEVICE_PRIVATE)
		huge = gm_devmem_alloc_huge(m->pm);
	if (huge) {
		gm_zone_device_huge_init(huge, &m->pm->pgmap);
		for (k = 0; k < need; k++)
			b->dpages[k] = pfn_to_page(page_to_pfn(huge) + k);
		got = need;
	} else {
		got = gm_devmem_alloc_pages(m->pm, b->dpages, need);
		if (got < need) {
			m->exhausted = true;
			b->not_moved += need - got;
		}
		for (k = 0; k < got; k++)
			gm_zone_device_page_init(b->dpages[k], &m->pm->pgmap);
	}
	for (k = 0; k < got; k++) {
		i = b->slot[k];
		gm_batch_add_copy(b, k, i, gm_batch_spage(b, i), b->dpages[k]);
	}
	if (huge) {
		/* The folio stands at slot 0 for all the batch. */
		b->dst[0] |= GM_MIGRATE_PFN_COMPOUND;
		memset(&b->dst[1], 0, (b->mig.npages - 1) * sizeof(b->dst[0]));
		b->huge = true;
	}
	b->ncopy = got;
	if (got) {
		b->req_devs[0] = m->dev;
		b->nreqs = 1;
		gm_batch_submit(b, 0, GM_COPY_TO_DEV, 0, got);
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
 * A device huge page collected whole comes back into a host huge page,
 * copied by one request, where one is free.  Returns false to let the
 * caller bring it back in 4 KiB pages instead, which the kernel splits it
 * into.
 */
static bool gm_batch_prepare_huge_to_host(struct gm_batch *b)
{
	struct folio *folio;
	unsigned long k;

	folio = gm_host_huge_alloc(b->mig.vma, b->mig.start);
	if (!folio)
		return false;
	gm_physmem_huge_dest(folio, b->src[0], &b->dst[0], b->spages,
			     b->dpages);
	for (k = 0; k < b->mig.npages; k++)
		b->slot[k] = k;
	b->huge = true;
	b->ncopy = b->mig.npages;
	b->req_devs[0] = gm_page_dev(b->spages[0]);
	b->nreqs = 1;
	gm_batch_submit(b, 0, GM_COPY_TO_HOST, 0, b->ncopy);
	return true;
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

	if (gm_batch_compound(b) && migrate_pfn_to_page(b->src[0]) &&
	    gm_batch_prepare_huge_to_host(b))
		return;

	/* Pass 1: which pages move, and how many from each device. */
	for (i = 0; i < b->mig.npages; i++) {
		struct page *page = gm_batch_spage(b, i);

		if (!(gm_batch_src(b, i) & MIGRATE_PFN_MIGRATE)) {
			u8 survey = gm_survey_at(m, b->mig.start + (i << PAGE_SHIFT));

			if (!(survey & GM_SURVEY_AT_DEST))
				b->not_moved++;
			if (survey & GM_SURVEY_MOVABLE)
				b->busy++;
			continue;
		}
		if (!page)	/* a hole: nothing to bring back */
			continue;
		idx = gm_batch_req_index(b, gm_page_dev(page));
		if (idx < 0) {
			b->not_moved++;
			continue;
		}
		count[idx]++;
		need++;
	}

	got = gm_host_stock_take(&m->stock, b->dpages, need);
	gm_host_stock_refill(&m->stock);
	b->not_moved += need - got;
	b->busy += need - got;
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
		struct page *page = gm_batch_spage(b, i);

		if (!(gm_batch_src(b, i) & MIGRATE_PFN_MIGRATE) || !page)
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
 * The batch is announced to the page table before migrate_vma_setup(), so
 * that its invalidations of gmem's pages are known as its own, and armed
 * after it: setup splits huge pages with invalidations of its own, and
 * from then on the pages are locked behind migration entries, and only a
 * zap (MADV_DONTNEED and the like) can still take them away, which the
 * notifier and gm_batch_finish() catch.
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
	/*
	 * A whole PMD range is collected as one huge page where the kernel
	 * can (gm_have_device_huge()) and the VMA takes huge pages: it is
	 * unmapped with one PMD entry instead of being split while mapped.
	 * See gm_batch_prepare_to_dev() for where it goes.
	 */
	if (!(vma->vm_flags & VM_NOHUGEPAGE) &&
	    IS_ALIGNED(start, HPAGE_PMD_SIZE) && end - start == HPAGE_PMD_SIZE)
		b->mig.flags |= GM_MIGRATE_VMA_SELECT_COMPOUND;
	b->huge = false;
	memset(b->reqs, 0, sizeof(b->reqs));
	b->nreqs = 0;
	b->ncopy = 0;
	b->not_moved = 0;
	b->busy = 0;
	bitmap_zero(b->absent, GM_BATCH_PAGES);

	b->span.start = start;
	b->span.end = end;
	m->tracker->ops->begin(m->tracker, &b->span);
	err = migrate_vma_setup(&b->mig);
	if (err) {
		m->tracker->ops->cancel(m->tracker, &b->span);
		return err;
	}
	m->tracker->ops->arm(m->tracker, &b->span);

	if (m->dev)
		gm_batch_prepare_to_dev(m, b);
	else
		gm_batch_prepare_to_host(m, b);
	return 0;
}

/* Wait for the copies; a failed request gives its pages back unmoved. */
static void gm_batch_wait(struct gm_migration *m, struct gm_batch *b)
{
	unsigned int r;

	for (r = 0; r < b->nreqs; r++) {
		struct gm_copy *c = &b->reqs[r];
		int err = b->req_err[r];

		if (!c->req.npages)
			continue;
		if (!err)
			err = gm_copy_wait(b->req_devs[r], c);
		if (!err)
			continue;
		gm_batch_drop(b, c->dpages - b->dpages, c->req.npages);
		b->not_moved += c->req.npages;
		b->busy += c->req.npages;
	}
}

/* Count the pages of each copy request that migrate_vma_pages() moved. */
static void gm_batch_count_to_host(struct gm_batch *b)
{
	unsigned int r, k, first;

	for (r = 0; r < b->nreqs; r++) {
		struct gm_copy *c = &b->reqs[r];
		unsigned long moved = 0;

		first = c->dpages - b->dpages;
		for (k = first; k < first + c->req.npages; k++)
			if (b->dpages[k] && gm_batch_moved(b, k))
				moved++;
		atomic64_add(moved, &b->req_devs[r]->to_host_pages);
	}
}

/*
 * Commit a batch: switch the mappings of the copied pages, release what
 * migrate_vma_setup() took, and tell the tracker where the pages now live,
 * and which of them are no longer mapped after the switch (MADV_DONTNEED
 * racing with the migration).
 */
static unsigned long gm_batch_finish(struct gm_migration *m,
				     struct gm_batch *b)
{
	u8 loc = m->dev ? GMEM_LOC_DEV(m->dev->id) : GMEM_LOC_HOST;
	DECLARE_BITMAP(moved_pages, GM_BATCH_PAGES);
	DECLARE_BITMAP(unmapped, GM_BATCH_PAGES);
	unsigned long moved = 0;
	unsigned int k;

	gm_batch_wait(m, b);
	migrate_vma_pages(&b->mig);

	for (k = 0; k < b->ncopy; k++) {
		if (!b->dpages[k])
			continue;
		if (gm_batch_moved(b, k)) {
			get_page(b->dpages[k]);	/* for folio_mapped() below */
			moved++;
		} else {
			b->not_moved++;
			b->busy++;
		}
	}
	if (!m->dev)
		gm_batch_count_to_host(b);
	migrate_vma_finalize(&b->mig);

	bitmap_zero(moved_pages, GM_BATCH_PAGES);
	bitmap_zero(unmapped, GM_BATCH_PAGES);
	for (k = 0; k < b->ncopy; k++) {
		struct page *page = b->dpages[k];

		if (!page || !gm_batch_moved(b, k))
			continue;
		__set_bit(b->slot[k], moved_pages);
		if (!folio_mapped(page_folio(page)))
			__set_bit(b->slot[k], unmapped);
		put_page(page);
	}
	m->tracker->ops->commit(m->tracker, &b->span, loc, moved_pages,
				unmapped);

	m->res->moved += moved;
	if (m->dev)
		atomic64_add(moved, &m->dev->to_dev_pages);
	return moved;
}

/*
 * Bring in the pages of a batch that were swapped out, as a CPU access
 * would, so that its second run finds them present.  A write fault where
 * the mapping is writable: a read fault from a swap device that is not
 * synchronous leaves the page in the swap cache, which migrate_vma_pages()
 * refuses to move to a device, and a write makes a copy-on-write page the
 * process's own.  No page of the batch is locked any more; the other batch
 * in flight holds only pages of another range.  Pages that cannot be
 * brought in stay and are counted, as before.
 */
static void gm_batch_fault_in(struct gm_migration *m, struct gm_batch *b)
{
	unsigned long req = HMM_PFN_REQ_FAULT, npages = b->mig.npages, i;
	struct hmm_range range = {
		.notifier = &m->survey.mni,
		.start = b->mig.start,
		.end = b->mig.end,
		.hmm_pfns = m->survey.pfns,
		.pfn_flags_mask = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
		.dev_private_owner = &gm_pgmap_owner,
	};
	struct gm_retry retry;
	int err;

	mmap_assert_locked(m->mm);
	if (b->mig.vma->vm_flags & VM_WRITE)
		req |= HMM_PFN_REQ_WRITE;
	gm_retry_init(&retry);
	do {
		/* hmm_range_fault() writes its answer over the request. */
		for (i = 0; i < npages; i++)
			range.hmm_pfns[i] = test_bit(i, b->absent) ? req : 0;
		range.notifier_seq = mmu_interval_read_begin(range.notifier);
		err = hmm_range_fault(&range);
	} while (err == -EBUSY && gm_retry_again(&retry));
}

/*
 * Finish a batch and count what stayed.  Pages that stayed for a moment's
 * reason (someone else held them locked or isolated, a copy failed, or
 * they were swapped out) get one more run of the batch, synchronously: a
 * caller that moves a range it alone uses should find it moved.  The
 * second run counts only those pages.
 */
static void gm_batch_commit(struct gm_migration *m, struct gm_batch *b)
{
	unsigned long busy, moved;

	gm_batch_finish(m, b);
	if (!b->busy || b->retried || m->exhausted) {
		m->res->not_moved += b->not_moved;
		return;
	}
	busy = b->busy;
	m->res->not_moved += b->not_moved - busy;
	cond_resched();
	if (!bitmap_empty(b->absent, GM_BATCH_PAGES))
		gm_batch_fault_in(m, b);
	b->retried = true;
	if (gm_batch_start(m, b, b->mig.vma, b->mig.start, b->mig.end)) {
		m->res->not_moved += busy;
		return;
	}
	moved = gm_batch_finish(m, b);
	m->res->not_moved += busy > moved ? busy - moved : 0;
}

/*
 * Migrate [start, end) of @m->mm with its mmap lock held for read, batch
 * after batch, keeping one batch copying while the next is set up, window
 * by window of the survey.
 */
static int gm_migrate_locked(struct gm_migration *m, struct mm_struct *mm,
			     unsigned long start, unsigned long end)
{
	struct gm_batch *prev = NULL, *cur;
	unsigned long addr, next;
	unsigned int turn = 0;
	int err;

	mmap_assert_locked(mm);
	err = gm_check_vmas(mm, start, end);
	if (!err)
		err = m->tracker->ops->prepare(m->tracker, start, end);
	if (err)
		return err;

	m->survey.end = start;
	for (addr = start; addr < end; addr = next) {
		struct vm_area_struct *vma = vma_lookup(mm, addr);

		next = min3(end, vma->vm_end,
			    round_down(addr, GM_BATCH_BYTES) + GM_BATCH_BYTES);
		if (next > m->survey.end) {
			/* No page may be locked while the survey waits. */
			if (prev)
				gm_batch_commit(m, prev);
			prev = NULL;
			gm_survey_window(m, addr, end);
			next = min(next, m->survey.end);
		}
		if (m->exhausted || gm_vma_stays(m, vma)) {
			gm_count_stayed(m, addr, next);
			continue;
		}
		cur = &m->batch[turn];
		turn ^= 1;
		cur->retried = false;
		err = gm_batch_start(m, cur, vma, addr, next);
		if (prev)
			gm_batch_commit(m, prev);
		prev = err ? NULL : cur;
		if (err)
			break;
	}
	if (prev)
		gm_batch_commit(m, prev);
	return err;
}

static int gm_migrate(struct mm_struct *mm, struct gm_dev *dev,
		      unsigned long start, unsigned long len,
		      struct gm_migrate_tracker *t,
		      struct gm_migrate_result *res)
{
	struct gm_migration *m;
	int err;

	if (!mmget_not_zero(mm))
		return -ESRCH;
	m = kvzalloc(sizeof(*m), GM_GFP_MAY_FAIL);
	if (!m) {
		err = -ENOMEM;
		goto out_mmput;
	}
	m->mm = mm;
	m->tracker = t;
	m->dev = dev;
	m->pm = dev ? dev->physmem : NULL;
	m->res = res;

	/* Before the mmap lock: the first interval notifier of an mm takes it. */
	err = mmu_interval_notifier_insert(&m->survey.mni, mm, start, len,
					   &gm_survey_mni_ops);
	if (err)
		goto out_free;
	gm_host_stock_init(&m->stock);
	if (!dev)
		gm_host_stock_refill(&m->stock);

	err = mmap_read_lock_killable(mm);
	if (!err) {
		err = gm_migrate_locked(m, mm, start, start + len);
		mmap_read_unlock(mm);
	}
	gm_host_stock_drain(&m->stock);
	mmu_interval_notifier_remove(&m->survey.mni);
out_free:
	kvfree(m);
out_mmput:
	mmput(mm);
	return err;
}

/**
 * gm_migrate_range_to_dev() - move a range of an mm into a device's memory
 * @mm: the address space, with a reference on its users or its notifier
 * @dev: the device
 * @start: page-aligned start, checked with gm_check_range()
 * @len: page-aligned length in bytes
 * @t: learns where each batch put its pages
 * @res: running totals, zeroed by the caller
 *
 * Return: see gm_migrate_to_dev(); -ENODEV if @dev has no memory or was
 * destroyed, -ENOSPC if the range is larger than its memory.
 */
int gm_migrate_range_to_dev(struct mm_struct *mm, struct gm_dev *dev,
			    unsigned long start, unsigned long len,
			    struct gm_migrate_tracker *t,
			    struct gm_migrate_result *res)
{
	int err;

	down_read(&dev->mem_rwsem);
	if (dev->dead || !dev->physmem)
		err = -ENODEV;
	else if ((len >> PAGE_SHIFT) > dev->physmem->alloc.total_pages)
		err = -ENOSPC;
	else
		err = gm_migrate(mm, dev, start, len, t, res);
	up_read(&dev->mem_rwsem);
	return err;
}

/**
 * gm_migrate_range_to_host() - move a range of an mm back to host RAM
 * @mm: the address space, with a reference on its users or its notifier
 * @start: page-aligned start, checked with gm_check_range()
 * @len: page-aligned length in bytes
 * @t: learns where each batch put its pages
 * @res: running totals, zeroed by the caller
 *
 * Return: see gm_migrate_to_host().
 */
int gm_migrate_range_to_host(struct mm_struct *mm, unsigned long start,
			     unsigned long len, struct gm_migrate_tracker *t,
			     struct gm_migrate_result *res)
{
	return gm_migrate(mm, NULL, start, len, t, res);
}
