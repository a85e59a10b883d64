/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gmem core internals: the objects behind the opaque handles of
 * include/gmem/gmem.h and the interfaces between the core's files.
 *
 * Lock order, outermost first (the one list; docs/design.rst explains):
 *   gm_ctx.notifier_rwsem (read)	a device fault or snapshot, per call
 *     gm_dev.mem_rwsem (read)		a migration into that device, whole call
 *       mmap_lock (read)		a migration or fault, whole call
 *         gm_devmem_alloc.lock		device page allocation (may sleep)
 *           gm_pt.lock (spinlock)	logical page table entries
 *         gm_ctx.pmap_lock		invalidations, device page table updates
 *   gm_dev.ctx_lock			detach, gm_dev_destroy()
 *     gm_ctx.notifier_rwsem (write)	removing notifiers, unplugging
 *       gm_ctx.pmap_lock
 *   gm_as.ctx_lock			attach/detach, device lookups of an as
 *   mmap_lock (read)			a CPU fault on a private page
 *     gm_pt.lock			from the address space's notifier
 * gm_dev.mem_rwsem is taken for write only to publish or unpublish the
 * memory; eviction then runs with no gmem lock held and locks device pages
 * through migrate_device_range(), never the mmap lock.
 * The address space's mmu notifier takes only gm_pt.lock; a context's
 * interval notifiers take only its pmap_lock, which they may take from
 * reclaim: nothing allocates memory that may reclaim under it.
 * A lock is released by the function that took it: work that must run
 * under a lock another function takes is passed in as a callback, as in
 * gm_fault_snapshot().  The one exception, gm_ctx_invalidate_lock(), is a
 * trylock-shaped helper beside its only caller.  Functions that must be
 * called with a lock held assert it with lockdep; none carries __acquires,
 * __cond_acquires or __releases, since sparse up to v6.19 does not track
 * mutexes or rwsems (it warns on any such annotation of them) and v7.0
 * replaced it with Clang's context analysis, which checks only code built
 * by clang that opts in.
 */
#ifndef GM_INTERNAL_H
#define GM_INTERNAL_H

#include <linux/device.h>
#include <linux/dma-direction.h>
#include <linux/hmm.h>
#include <linux/jiffies.h>
#include <linux/llist.h>
#include <linux/memremap.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <gmem/gmem.h>

#include "compat/gm_compat.h"

/* Pages per migrate_vma call: large enough to amortise the page-table walk
 * and TLB flush of migrate_vma_setup(), small enough for two batches (one
 * copying, one being set up) to fit in 32 KiB of pfn arrays.
 */
#define GM_BATCH_PAGES		512

/*
 * Allocations whose failure gmem reports to its caller as -ENOMEM: no
 * allocation-failure warning in the kernel log, which fault-injection runs
 * would otherwise fill.
 */
#define GM_GFP_MAY_FAIL		(GFP_KERNEL | __GFP_NOWARN)

/* Largest run of device pages handed out as one allocator chunk.  A chunk
 * returns to the buddy allocator when its last page is freed, so this
 * bounds how much memory one long-lived page can hold back.
 */
#define GM_CHUNK_MAX_PAGES	512

/**
 * struct gm_devmem_alloc - device page allocator of one physmem range
 * @lock: serialises @mm; allocation may sleep, so page frees (which may
 *	come from atomic context) go through @deferred instead
 * @mm: the kernel's GPU buddy allocator over the range, in bytes from 0
 * @deferred: chunks whose last page was freed, waiting for @lock
 * @drain_work: returns @deferred chunks to @mm when nobody allocates
 * @held_pages: pages inside chunks taken from @mm (in use or stranded)
 * @used_pages: pages handed out and not yet freed
 * @total_pages: pages of the range
 * @dying: no more allocations: the range is being evicted
 */
struct gm_devmem_alloc {
	struct mutex lock;		/* see above: the buddy allocator */
	struct gm_buddy mm;
	struct llist_head deferred;
	struct work_struct drain_work;
	atomic_long_t held_pages;
	atomic_long_t used_pages;
	unsigned long total_pages;
	bool dying;
};

/**
 * struct gm_physmem - device memory registered with gmem
 * @dev: owner
 * @pgmap: the ZONE_DEVICE pagemap of the range
 * @res: the claimed iomem resource
 * @base_pfn: first pfn of the range
 * @alloc: its page allocator
 */
struct gm_physmem {
	struct gm_dev *dev;
	struct dev_pagemap pgmap;
	struct resource *res;
	unsigned long base_pfn;
	struct gm_devmem_alloc alloc;
};

/**
 * struct gm_dev - a device registered with gmem
 * @dev: its device in the gmem class (/sys/class/gmem/<name>/), a child of
 *	the driver's; its refcount is the gm_dev's, held by the driver until
 *	gm_dev_destroy() and by every attached context
 * @id: small id, also the GMEM_LOC_DEV() code of its memory
 * @mmu: the driver's callbacks
 * @drvdata: the driver's pointer
 * @mem_rwsem: held for write to register or tear down @physmem, for read
 *	by migrations into the device for a whole call, so that teardown
 *	waits for them and they never see half-torn-down memory
 * @physmem: registered device memory, NULL before registration
 * @dead: gm_dev_destroy() was called; no new attachments or migrations in
 * @ctx_lock: protects @ctxs, and is held while the device side of a
 *	context is torn down (detach, or gm_dev_destroy()), so that the two
 *	never both call the device's callbacks for one context
 * @ctxs: contexts attached to the device (struct gm_ctx.dev_node)
 * @to_dev_pages: counters, see struct gm_dev_stats
 * @to_host_pages: see struct gm_dev_stats
 * @evicted_pages: see struct gm_dev_stats
 * @copy_batches: see struct gm_dev_stats
 * @copy_errors: see struct gm_dev_stats
 */
struct gm_dev {
	struct device dev;
	unsigned int id;
	const struct gm_mmu *mmu;
	void *drvdata;
	struct rw_semaphore mem_rwsem;
	struct gm_physmem *physmem;
	bool dead;
	struct mutex ctx_lock;		/* see above */
	struct list_head ctxs;
	atomic64_t to_dev_pages;
	atomic64_t to_host_pages;
	atomic64_t evicted_pages;
	atomic64_t copy_batches;
	atomic64_t copy_errors;
};

/**
 * struct gm_migrate_span - a migration batch in flight, as its tracker
 *	keeps it
 * @node: the tracker's list of batches in flight
 * @start: first address of the batch
 * @end: end of the batch
 * @armed: the batch's pages are collected and locked: from now on, an
 *	invalidation of them that is not the batch's own makes its outcome
 *	unknown (before, the batch's own huge page splits invalidate them)
 * @invalidated: a foreign invalidation hit the batch; its outcome is unknown
 */
struct gm_migrate_span {
	struct list_head node;
	unsigned long start;
	unsigned long end;
	bool armed;
	bool invalidated;
};

struct gm_migrate_tracker;

/**
 * struct gm_migrate_tracker_ops - who learns where a migration put pages
 * @prepare: before the batches of [@start, @end): get ready for @commit,
 *	which may not allocate; may sleep.  Return 0 or -ENOMEM
 * @begin: a batch over @span is about to be collected (before
 *	migrate_vma_setup(), whose invalidations are then the batch's own)
 * @arm: its pages are collected and locked
 * @cancel: it never started
 * @commit: it ended: the pages of @moved (bit i: @span->start + i pages)
 *	now live at @loc, those also in @unmapped no longer mapped after the
 *	switch
 *
 * Called with the mmap lock held for read, never from a notifier; all
 * but @prepare must not sleep.  The migration layer defines the calls and
 * the address-space layer implements them (its logical page table), so
 * that migration knows nothing of address spaces.
 */
struct gm_migrate_tracker_ops {
	int (*prepare)(struct gm_migrate_tracker *t, unsigned long start,
		       unsigned long end);
	void (*begin)(struct gm_migrate_tracker *t, struct gm_migrate_span *span);
	void (*arm)(struct gm_migrate_tracker *t, struct gm_migrate_span *span);
	void (*cancel)(struct gm_migrate_tracker *t,
		       struct gm_migrate_span *span);
	void (*commit)(struct gm_migrate_tracker *t,
		       struct gm_migrate_span *span, u8 loc,
		       const unsigned long *moved,
		       const unsigned long *unmapped);
};

/**
 * struct gm_migrate_tracker - a tracker, embedded in what implements it
 * @ops: its calls
 */
struct gm_migrate_tracker {
	const struct gm_migrate_tracker_ops *ops;
};

/**
 * struct gm_pt - logical page table of one address space
 * @lock: protects every entry of every block, @blocks changes and
 *	@inflight; a spinlock because mmu notifiers may not sleep
 * @blocks: one struct gm_pt_block per 2 MiB of virtual space that gmem
 *	ever placed a page in, indexed by address >> GM_PT_BLOCK_SHIFT
 * @inflight: migration batches between their announcement and their
 *	commit (struct gm_migrate_span)
 * @tracker: how migrations tell the table what they did
 */
struct gm_pt {
	spinlock_t lock;		/* see above: entries, inflight */
	struct xarray blocks;
	struct list_head inflight;
	struct gm_migrate_tracker tracker;
};

/**
 * struct gm_as - gmem's view of one process address space
 * @mn: one per mm through mmu_notifier_get(); its refcount is the as's
 * @ctx_lock: protects @ctxs
 * @ctxs: attached devices (struct gm_ctx)
 * @pt: logical page table
 */
struct gm_as {
	struct mmu_notifier mn;
	struct mutex ctx_lock;		/* see above: ctxs */
	struct list_head ctxs;
	struct gm_pt pt;
};

/**
 * struct gm_ctx - a device attached to an address space
 * @as: the address space; the context holds a reference
 * @dev: the device; the context holds a reference
 * @node: in gm_as.ctxs
 * @dev_node: in gm_dev.ctxs
 * @unplugged: the device's side is gone (gm_dev_destroy(), or detach):
 *	no mapping, no page table, no callback of the device any more; calls
 *	that need the device fail with -ENODEV.  Set under @notifier_rwsem
 *	(write) and @pmap_lock, so either one held for read or taken is
 *	enough to test it
 * @pmap_lock: the "driver lock" of the hmm.rst recipe: serialises
 *	gm_mmu.pmap_enter after mmu_interval_read_retry() against the
 *	invalidations that release and protect mappings, and guards the
 *	bitmaps of every struct gm_notifier of the context
 * @pmap: the device page table, from gm_mmu.pmap_create
 * @notifier_rwsem: held for read while a fault or snapshot uses a notifier
 *	of @notifiers, for write to remove notifiers
 * @notifiers: struct gm_notifier by address >> GM_NOTIFIER_SHIFT
 * @notifier_gc: removes the notifiers of ranges the CPU unmapped
 * @invalidations: invalidations that reached the device (struct gm_ctx_stats)
 * @notifiers_live: notifiers in @notifiers
 * @notifiers_created: notifiers ever inserted
 * @fault_retries: faults and snapshots that had to read the CPU page table again
 * @fast_faults: fault chunks whose pages were all still mapped
 */
struct gm_ctx {
	struct gm_as *as;
	struct gm_dev *dev;
	struct list_head node;
	struct list_head dev_node;
	bool unplugged;
	struct mutex pmap_lock;		/* see above */
	void *pmap;
	struct rw_semaphore notifier_rwsem;
	struct xarray notifiers;
	struct work_struct notifier_gc;
	atomic64_t invalidations;
	atomic_long_t notifiers_live;
	atomic64_t notifiers_created;
	atomic64_t fault_retries;
	atomic64_t fast_faults;
};

/*
 * Size of the piece of address space one struct gm_notifier watches: a
 * huge page, and a fault chunk (see gm_mirror.c for why).
 */
#define GM_NOTIFIER_SHIFT	21
#define GM_NOTIFIER_SIZE	BIT(GM_NOTIFIER_SHIFT)
#define GM_NOTIFIER_PAGES	(GM_NOTIFIER_SIZE >> PAGE_SHIFT)

/**
 * struct gm_notifier - a context's watch over GM_NOTIFIER_SIZE of memory
 * @mni: the interval notifier; its sequence is what faults in the range
 *	check (hmm.rst)
 * @ctx: the context
 * @start: first address, GM_NOTIFIER_SIZE-aligned
 * @unmapped: the CPU unmapped the whole range and the device mapped
 *	nothing since: gm_ctx.notifier_gc may remove the notifier
 * @huge: the device maps the whole range with one 2 MiB entry
 * @mapped: pages the device has mapped
 * @writable: pages it has mapped writable
 * @dma_mapped: first pages of the entries whose memory gmem DMA-mapped for
 *	the device (struct gm_addr of kind GM_ADDR_SYSTEM)
 * @dma_write: those of them mapped for the device to write
 *	(DMA_BIDIRECTIONAL; the others DMA_TO_DEVICE)
 * @dma: the DMA address of each entry of @dma_mapped, by its first page;
 *	allocated by the first fault that maps host memory here
 *
 * Everything but @mni, @ctx and @start is under gm_ctx.pmap_lock.
 */
struct gm_notifier {
	struct mmu_interval_notifier mni;
	struct gm_ctx *ctx;
	unsigned long start;
	bool unmapped;
	bool huge;
	DECLARE_BITMAP(mapped, GM_NOTIFIER_PAGES);
	DECLARE_BITMAP(writable, GM_NOTIFIER_PAGES);
	DECLARE_BITMAP(dma_mapped, GM_NOTIFIER_PAGES);
	DECLARE_BITMAP(dma_write, GM_NOTIFIER_PAGES);
	dma_addr_t *dma;
};

/*
 * Top bit of a logical page table entry: an invalidation hit the page and
 * the code below the bit is gmem's last knowledge, to be checked against
 * the CPU page table before anyone relies on it (gm_as_refresh()).
 */
#define GM_PT_STALE		0x80

/*
 * The pgmap owner of every gmem pagemap, coherent and private: one
 * migrate_vma call selects the pages of every gmem device (migrate_vma
 * takes a single owner), hmm_range_fault() reports private pages of any
 * gmem device instead of faulting them back (gmem decides where they go),
 * and the notifiers recognise gmem's own migrations.
 */
extern int gm_pgmap_owner;

static inline struct mm_struct *gm_as_mm(const struct gm_as *as)
{
	return as->mn.mm;
}

/*
 * Retries of the hmm.rst recipe (read_begin, hmm_range_fault, read_retry)
 * and of the loops around it.  A range gives up as busy only when it kept
 * changing: after HMM_RANGE_DEFAULT_TIMEOUT *and* GM_RETRY_MIN_TRIES
 * attempts, so that a machine too loaded to run the caller for a second
 * does not turn one invalidation into -EBUSY.
 */
#define GM_RETRY_MIN_TRIES	32

struct gm_retry {
	unsigned long deadline;
	unsigned int tries;
};

static inline void gm_retry_init(struct gm_retry *r)
{
	r->deadline = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	r->tries = 0;
}

/* Jiffies left before @r's deadline, at least one. */
static inline unsigned long gm_retry_jiffies_left(const struct gm_retry *r)
{
	long left = (long)(r->deadline - jiffies);

	return left > 0 ? left : 1;
}

/* May the caller try once more? */
static inline bool gm_retry_again(struct gm_retry *r)
{
	return ++r->tries < GM_RETRY_MIN_TRIES ||
	       time_before(jiffies, r->deadline);
}

/* gm_dev.c */
struct gm_dev *gm_dev_register(struct device *parent, const struct gm_mmu *mmu,
			       const char *name, void *drvdata,
			       const struct attribute_group **groups);
void gm_dev_unregister(struct gm_dev *dev);
void gm_dev_get(struct gm_dev *dev);
void gm_dev_put(struct gm_dev *dev);
int gm_devs_init(void);
void gm_devs_exit(void);
const char *gm_dev_name(const struct gm_dev *dev);

/* The device the driver gave gm_dev_create(): gmem DMA-maps memory for it. */
static inline struct device *gm_dev_dma_device(struct gm_dev *dev)
{
	return dev->dev.parent;
}

/* gm_sysfs.c */
extern const struct attribute_group *gm_dev_attr_groups[];

/* gm_host_pages.c */
struct page *gm_host_page_alloc(struct vm_area_struct *vma,
				unsigned long addr);
void gm_host_page_free(struct page *page);
struct folio *gm_host_huge_alloc(struct vm_area_struct *vma,
				 unsigned long addr);
unsigned long gm_host_pages_bulk(int nid, struct page **pages, unsigned long n);

/* gm_physmem.c */
void gm_physmem_destroy(struct gm_physmem *pm);
void gm_physmem_huge_dest(struct folio *folio, unsigned long src,
			  unsigned long *dst, struct page **spages,
			  struct page **dpages);

/* gm_private.c */
vm_fault_t gm_private_migrate_to_ram(struct vm_fault *vmf);

/* gm_devmem_alloc.c */
int gm_devmem_alloc_init(struct gm_devmem_alloc *a, unsigned long npages);
void gm_devmem_alloc_fini(struct gm_devmem_alloc *a);
unsigned long gm_devmem_alloc_pages(struct gm_physmem *pm,
				    struct page **pages, unsigned long n);
struct page *gm_devmem_alloc_huge(struct gm_physmem *pm);
void gm_devmem_page_free(struct page *head, unsigned long nr);
unsigned long gm_devmem_free_pages(struct gm_devmem_alloc *a);
void gm_devmem_stop(struct gm_devmem_alloc *a);

/* gm_pt.c */
void gm_pt_init(struct gm_pt *pt);
void gm_pt_destroy(struct gm_pt *pt);
int gm_pt_prepare(struct gm_pt *pt, unsigned long start, unsigned long end);
void gm_pt_invalidate(struct gm_pt *pt, unsigned long start,
		      unsigned long end, bool dropped);
void gm_pt_note_migrate(struct gm_pt *pt, unsigned long start,
			unsigned long end);
void gm_pt_read(struct gm_pt *pt, unsigned long start, unsigned long npages,
		u8 *locs);
bool gm_pt_needs_refresh(struct gm_pt *pt, unsigned long start,
			 unsigned long npages);
bool gm_pt_snapshot_has_dev(unsigned long npages, const unsigned long *hmm_pfns);
void gm_pt_refresh_locked(struct gm_pt *pt, unsigned long start,
			  unsigned long npages, const unsigned long *hmm_pfns);

/* gm_refresh.c */
int gm_as_refresh(struct gm_as *as, unsigned long start, unsigned long npages);

/**
 * struct gm_host_stock - host pages allocated ahead for migrations to host
 * @refill: allocates the missing pages, on another CPU
 * @pages: the stock; NULL where a page was taken
 * @next_chunk: the next chunk of @pages to fill, claimed by the refill or
 *	by the CPU that needs the pages, whichever comes first
 * @nid: the node its pages come from, whichever CPU allocates them
 */
struct gm_host_stock {
	struct work_struct refill;
	struct page *pages[GM_BATCH_PAGES];
	atomic_t next_chunk;
	int nid;
};

/* gm_host_stock.c */
void gm_host_stock_init(struct gm_host_stock *stock);
void gm_host_stock_refill(struct gm_host_stock *stock);
unsigned long gm_host_stock_take(struct gm_host_stock *stock,
				 struct page **pages, unsigned long n);
void gm_host_stock_drain(struct gm_host_stock *stock);

/* gm_migrate.c */
int gm_check_range(unsigned long start, unsigned long len);
int gm_migrate_range_to_dev(struct mm_struct *mm, struct gm_dev *dev,
			    unsigned long start, unsigned long len,
			    struct gm_migrate_tracker *t,
			    struct gm_migrate_result *res);
int gm_migrate_range_to_host(struct mm_struct *mm, unsigned long start,
			     unsigned long len, struct gm_migrate_tracker *t,
			     struct gm_migrate_result *res);

/* gm_evict.c */
void gm_physmem_evict_all(struct gm_physmem *pm);
unsigned long gm_physmem_evict_once(struct gm_physmem *pm);

/* gm_debugfs.c */
void gm_debugfs_init(void);
void gm_debugfs_exit(void);
bool gm_inject_devmem_alloc_failure(void);
void gm_inject_invalidate_delay(void);
void gm_inject_fault_delay(void);

/* gm_mirror.c */
bool gm_mmu_has_pmap(const struct gm_mmu *mmu);
int gm_ctx_map_init(struct gm_ctx *ctx);
void gm_ctx_map_unplug(struct gm_ctx *ctx);
void gm_ctx_map_fini(struct gm_ctx *ctx);
struct gm_notifier *gm_notifier_get(struct gm_ctx *ctx, struct mm_struct *mm,
				    unsigned long addr);
int gm_notifier_prepare(struct gm_notifier *n);
bool gm_notifier_covers_locked(struct gm_notifier *n, unsigned long start,
			       unsigned long npages, bool write);
int gm_notifier_enter_locked(struct gm_notifier *n, unsigned long start,
			     unsigned long npages, const unsigned long *pfns,
			     bool atomic, struct gm_addr *addrs);

/* gm_as.c */
bool gm_as_has_dev(struct gm_as *as, const struct gm_dev *dev);
void gm_dev_unplug_ctxs(struct gm_dev *dev);
void gm_as_exit(void);

/**
 * struct gm_copy - gmem's side of a copy request
 * @req: what the driver sees
 * @spages: source pages, NULL entries for zero-fill
 * @dpages: destination pages
 * @addrs: the addresses of @req: sources, then destinations
 * @status: set by gm_copy_complete()
 * @done: completed by gm_copy_complete()
 */
struct gm_copy {
	struct gm_copy_req req;
	struct page **spages;
	struct page **dpages;
	struct gm_addr *addrs;
	int status;
	struct completion done;
};

/* gm_copy.c */
int gm_dev_addr(struct gm_dev *dev, struct page *page, unsigned int order,
		enum dma_data_direction dir, unsigned long attrs,
		struct gm_addr *a);
void gm_dev_addr_release(struct gm_dev *dev, const struct gm_addr *a,
			 enum dma_data_direction dir, unsigned long attrs);
int gm_copy_submit(struct gm_dev *dev, struct gm_copy *c, enum gm_copy_dir dir,
		   struct page **spages, struct page **dpages,
		   unsigned int npages);
int gm_copy_wait(struct gm_dev *dev, struct gm_copy *c);

#endif /* GM_INTERNAL_H */
