/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gmem: a shared memory manager for accelerators, built on HMM and
 * ZONE_DEVICE memory of stock kernels.
 *
 * A vendor driver describes its device with a struct gm_mmu, creates a
 * struct gm_dev, hands gmem the device memory with gm_dev_register_physmem()
 * and attaches processes to the device with gm_ctx_create(): every later
 * call for that device and process takes the struct gm_ctx.  gmem
 * owns the mechanism: device page allocation, migration in both directions,
 * the logical page table that says where every managed page lives, and
 * eviction of device memory when the device goes away.  The driver owns the
 * hardware: it copies pages when gmem asks it to.
 *
 * The smallest driver::
 *
 *	static int my_copy(struct gm_dev *dev, struct gm_copy_req *req)
 *	{
 *		queue the copies of req->src[i] -> req->dst[i] to the engine
 *		(DMA addresses of host RAM, offsets in device memory);
 *		from its completion interrupt: gm_copy_complete(req, 0);
 *		return 0;
 *	}
 *	static const struct gm_mmu my_mmu = { .copy_submit = my_copy };
 *
 *	dev = gm_dev_create(&pdev->dev, &my_mmu, "mydev0", drvdata);
 *	err = gm_dev_register_physmem(dev, GM_MEM_COHERENT, vram_base,
 *				      vram_size);
 *	ctx = gm_ctx_create(dev, current->mm);
 *	err = gm_migrate_to_dev(ctx, NULL, start, len, &res);
 *	...
 *	gm_ctx_destroy(ctx);
 *	gm_dev_destroy(dev);	   evicts device memory, then returns
 *
 * docs/design.rst describes the locking and the migration rules.
 */
#ifndef _GMEM_GMEM_H
#define _GMEM_GMEM_H

#include <linux/completion.h>
#include <linux/device.h>
#include <linux/mm_types.h>
#include <linux/types.h>
#include <linux/gmem.h>

struct gm_dev;
struct gm_ctx;

/**
 * enum gm_copy_dir - direction of a copy request
 * @GM_COPY_TO_DEV: host (or zero) pages into this device's memory
 * @GM_COPY_TO_HOST: this device's pages into host RAM
 */
enum gm_copy_dir {
	GM_COPY_TO_DEV,
	GM_COPY_TO_HOST,
};

/**
 * enum gm_addr_kind - what an address gmem hands a driver is
 * @GM_ADDR_NONE: no memory: as a copy source, zero the destination instead
 *	(a never-touched anonymous page migrating to the device)
 * @GM_ADDR_SYSTEM: a DMA address, for the driver's struct device, of host
 *	RAM or of memory the CPU reaches like RAM (another gmem device's
 *	coherent memory); gmem mapped it with the DMA API and unmaps it once
 *	the device is done with it
 * @GM_ADDR_LOCAL: a byte offset in this device's own registered memory
 *
 * Another device's private memory is never handed out: gmem brings such
 * pages back to host RAM first.
 */
enum gm_addr_kind {
	GM_ADDR_NONE,
	GM_ADDR_SYSTEM,
	GM_ADDR_LOCAL,
};

/**
 * struct gm_addr - one entry of memory for a device
 * @addr: the address, per @kind; aligned to the entry's size
 * @kind: enum gm_addr_kind
 * @order: the entry covers PAGE_SIZE << @order bytes
 */
struct gm_addr {
	u64 addr;
	u8 kind;
	u8 order;
};

/**
 * struct gm_copy_req - a batch of page copies for a device's copy engine
 * @dir: direction of every copy in the batch
 * @npages: number of entries in @src and @dst, at least 1
 * @src: source of each copy: GM_ADDR_SYSTEM or GM_ADDR_NONE to a device,
 *	GM_ADDR_LOCAL to the host
 * @dst: destination of each copy: GM_ADDR_LOCAL to a device,
 *	GM_ADDR_SYSTEM to the host
 * @priv: for the driver, between submission and completion
 *
 * Every entry is one page (order 0).  gmem keeps the request alive, the
 * pages locked and the DMA addresses mapped until the driver calls
 * gm_copy_complete().
 */
struct gm_copy_req {
	enum gm_copy_dir dir;
	unsigned int npages;
	const struct gm_addr *src;
	const struct gm_addr *dst;
	void *priv;
};

/**
 * enum gm_mem_type - kinds of device memory (gm_dev_register_physmem())
 * @GM_MEM_COHERENT: the CPU can access it, coherently (CXL, APU carve-out)
 * @GM_MEM_PRIVATE: the CPU cannot access it (VRAM behind a small BAR);
 *	needs a kernel with CONFIG_DEVICE_PRIVATE
 */
enum gm_mem_type {
	GM_MEM_COHERENT = 1,
	GM_MEM_PRIVATE,
};

/*
 * Access rights of a device mapping (gm_mmu.pmap_enter, gm_dev_fault()).
 * GM_PROT_ATOMIC: the device has the page exclusively, for atomics the
 * bus cannot do coherently; the CPU's next access revokes it (through an
 * invalidation).  Always comes with GM_PROT_READ | GM_PROT_WRITE.
 */
#define GM_PROT_READ		0x1
#define GM_PROT_WRITE		0x2
#define GM_PROT_ATOMIC		0x4

/**
 * enum gm_placement - where a device fault puts the pages it maps
 * @GM_PLACE_FIRST_TOUCH: pages that gmem never placed move into the
 *	device's memory first, best effort (what cannot move is mapped where
 *	it is); pages gmem already placed are mapped where they are.  The
 *	default.
 * @GM_PLACE_IN_PLACE: every page is mapped where it is, host RAM
 *	included; nothing moves (a device that reaches host memory well, or
 *	a driver that places memory with explicit migrations)
 * @GM_PLACE_DEVICE: every page must be in this device's memory: pages
 *	elsewhere move there first, and the fault fails if one cannot
 *
 * In every case a page in another device's private memory, which this
 * device cannot reach, comes back to host RAM first.
 */
enum gm_placement {
	GM_PLACE_FIRST_TOUCH,
	GM_PLACE_IN_PLACE,
	GM_PLACE_DEVICE,
};

/**
 * struct gm_fault_opts - how one gm_dev_fault() call may resolve
 * @placement: enum gm_placement
 *
 * The driver's policy, per call (a fault, a prefetch before a kernel
 * runs), like drm_gpusvm_ctx; a NULL pointer means all defaults.
 */
struct gm_fault_opts {
	enum gm_placement placement;
};

/**
 * struct gm_va_range - a range of virtual addresses
 * @start: page-aligned start
 * @end: page-aligned end, above @start
 */
struct gm_va_range {
	unsigned long start;
	unsigned long end;
};

/* Most ranges one gm_ctx_unmap() call takes. */
#define GM_UNMAP_MAX_RANGES	64

/**
 * struct gm_mmu - what a device driver does for gmem
 * @copy_submit: start copying @req and return; the engine may run it
 *	asynchronously and must eventually call gm_copy_complete(@req, status)
 *	exactly once, from any context that may take a spinlock.  Return 0 if
 *	the request was queued, or a negative errno if it was not (then
 *	gm_copy_complete() must not be called).  A request that completes
 *	with an error leaves every page of the batch where it was.
 *	Called in process context and may sleep; gmem holds the mmap lock
 *	of the address space (read) and the locks of every page in @req.
 * @copy_wait: gmem is about to sleep until @req completes.  Optional, for
 *	an engine that copies with CPU threads (a software fallback, or a
 *	simulator): it may copy what it has not started of @req now, on the
 *	waiting CPU, rather than leave that CPU idle until the engine's
 *	thread gets one.  Called once per accepted request, in process
 *	context, may sleep, with the locks of @copy_submit; @req stays valid
 *	during the call even if it completed.
 * @pmap_create: create the device page table of a new context (an address
 *	space attached to the device) and store it in *@pmap.  Optional: a
 *	device without page tables (copy engine only) leaves the pmap
 *	and TLB callbacks NULL and cannot use gm_dev_fault().
 *	Called in process context; may sleep.
 * @pmap_destroy: destroy it; gmem released every mapping first.
 *	Called in process context; may sleep.
 * @pmap_enter: map @n entries @addrs, one after the other from virtual
 *	address @va, with access @prot (GM_PROT_*); gmem released whatever
 *	was mapped there.  An entry of order 9 maps 2 MiB with one device
 *	mapping, at a 2 MiB-aligned address (where the CPU maps a transparent
 *	huge page); the others map one page.  The memory stays valid, and a
 *	GM_ADDR_SYSTEM address mapped, until gmem releases the mapping and
 *	flushes the TLB.  Return 0 or a negative errno.
 *	gmem holds the context's mapping lock, which serialises it against
 *	@pmap_release and @pmap_protect; the invalidations that take that
 *	lock can come from memory reclaim, so @pmap_enter must not allocate
 *	memory that may enter reclaim (use GFP_NOWAIT or memory set aside in
 *	@pmap_create); lockdep reports one that does the first time it runs.
 * @pmap_release: unmap [@start, @end); a 2 MiB mapping that overlaps the
 *	range goes whole.  The memory may be freed once the invalidation that
 *	called it completes, after @tlb_invl.
 *	Must not sleep: called from mmu notifier invalidations, under
 *	the context's mapping lock.
 * @pmap_protect: reduce the access of mappings in [@start, @end) to
 *	@prot (GM_PROT_READ on a write-protect, as fork does).
 *	Called like @pmap_release.
 * @tlb_invl: drop translations of [@start, @end) cached by the device;
 *	called after every @pmap_release and @pmap_protect, and gmem does not
 *	let the pages go before it returns.
 *	Called like @pmap_release.
 * @tlb_invl_ranges: optional: drop the translations of @nr ranges with one
 *	command, where the device can (one TLB shootdown instead of @nr);
 *	without it gmem calls @tlb_invl for each range.  Used when gmem
 *	releases several ranges at once (gm_ctx_unmap()).
 *	Called like @pmap_release.
 */
struct gm_mmu {
	int (*copy_submit)(struct gm_dev *dev, struct gm_copy_req *req);
	void (*copy_wait)(struct gm_dev *dev, struct gm_copy_req *req);
	int (*pmap_create)(struct gm_dev *dev, struct gm_ctx *ctx, void **pmap);
	void (*pmap_destroy)(struct gm_dev *dev, void *pmap);
	int (*pmap_enter)(struct gm_dev *dev, void *pmap, unsigned long va,
			  const struct gm_addr *addrs, unsigned long n,
			  unsigned int prot);
	void (*pmap_release)(struct gm_dev *dev, void *pmap,
			     unsigned long start, unsigned long end);
	void (*pmap_protect)(struct gm_dev *dev, void *pmap,
			     unsigned long start, unsigned long end,
			     unsigned int prot);
	void (*tlb_invl)(struct gm_dev *dev, void *pmap, unsigned long start,
			 unsigned long end);
	void (*tlb_invl_ranges)(struct gm_dev *dev, void *pmap,
				const struct gm_va_range *ranges,
				unsigned int nr);
};

/**
 * struct gm_dev_stats - figures of one device, for drivers and debugging
 * @total_pages: pages of registered device memory
 * @free_pages: pages the allocator can hand out now
 * @used_pages: device pages holding data (mapped, or in flight)
 * @to_dev_pages: pages migrated into this device
 * @to_host_pages: pages migrated out of this device to host RAM
 * @evicted_pages: pages evicted to host RAM while memory was torn down
 * @copy_batches: copy requests completed
 * @copy_errors: copy requests completed with an error or refused
 */
struct gm_dev_stats {
	u64 total_pages;
	u64 free_pages;
	u64 used_pages;
	u64 to_dev_pages;
	u64 to_host_pages;
	u64 evicted_pages;
	u64 copy_batches;
	u64 copy_errors;
};

/**
 * struct gm_ctx_stats - figures of one context's device page table mirror
 * @invalidations: CPU page-table invalidations that released or
 *	write-protected device mappings of the context (each with a TLB flush);
 *	one of memory the device never mapped does not count, nor cost anything
 * @notifiers: interval notifiers the context has now, one per 2 MiB of
 *	address space its device faulted on or snapshotted
 * @notifiers_created: notifiers inserted since attach
 * @fault_retries: times a fault or snapshot read the CPU page table again
 *	because an invalidation of its range ran meanwhile; where the kernel
 *	has hmm_range_fault_unlocked_timeout() (7.x), which retries by itself
 *	for as long as gmem's retry deadline allows, only the retries past
 *	that deadline count
 * @fast_faults: fault chunks answered without reading the CPU page table:
 *	every page was still mapped with the access asked for
 */
struct gm_ctx_stats {
	u64 invalidations;
	u64 notifiers;
	u64 notifiers_created;
	u64 fault_retries;
	u64 fast_faults;
};

/**
 * struct gm_migrate_result - what a migration did
 * @moved: pages that moved to the destination
 * @not_moved: pages of the range that stayed where they were: busy or pinned
 *	pages, pages on another device, swapped-out pages that could not be
 *	brought in, or no device memory left.  Their data is intact where it
 *	was.
 *
 * Pages already at the destination count in neither field.
 */
struct gm_migrate_result {
	unsigned long moved;
	unsigned long not_moved;
};

struct gm_dev *gm_dev_create(struct device *parent, const struct gm_mmu *mmu,
			     const char *name, void *drvdata);
void gm_dev_destroy(struct gm_dev *dev);
void *gm_dev_drvdata(const struct gm_dev *dev);
unsigned int gm_dev_id(const struct gm_dev *dev);
void gm_dev_get_stats(struct gm_dev *dev, struct gm_dev_stats *stats);

int gm_dev_register_physmem(struct gm_dev *dev, enum gm_mem_type type,
			    phys_addr_t start, u64 size);
u64 gm_dev_page_offset(const struct gm_dev *dev, const struct page *page);
struct gm_dev *gm_page_dev(const struct page *page);
long gm_dev_evict(struct gm_dev *dev);
bool gm_dev_private_supported(void);
bool gm_dev_huge_supported(void);

void gm_copy_complete(struct gm_copy_req *req, int status);

struct gm_ctx *gm_ctx_create(struct gm_dev *dev, struct mm_struct *mm);
void gm_ctx_destroy(struct gm_ctx *ctx);
struct gm_dev *gm_ctx_dev(const struct gm_ctx *ctx);
bool gm_ctx_is_current(const struct gm_ctx *ctx);

int gm_migrate_to_dev(struct gm_ctx *ctx, struct gm_dev *dev,
		      unsigned long start, unsigned long len,
		      struct gm_migrate_result *res);
int gm_migrate_to_host(struct gm_ctx *ctx, unsigned long start,
		       unsigned long len, struct gm_migrate_result *res);
int gm_ctx_query(struct gm_ctx *ctx, unsigned long start,
		 unsigned long npages, u8 *locs);

int gm_dev_fault(struct gm_ctx *ctx, unsigned long va, unsigned long len,
		 unsigned int access, const struct gm_fault_opts *opts);
int gm_ctx_unmap(struct gm_ctx *ctx, const struct gm_va_range *ranges,
		 unsigned int nr);
int gm_ctx_snapshot(struct gm_ctx *ctx, unsigned long va,
		    unsigned long npages, unsigned long *hmm_pfns);
void *gm_ctx_pmap(const struct gm_ctx *ctx);
void gm_ctx_get_stats(const struct gm_ctx *ctx, struct gm_ctx_stats *stats);

#endif /* _GMEM_GMEM_H */
