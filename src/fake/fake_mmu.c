// SPDX-License-Identifier: GPL-2.0
/*
 * The fake device's MMU: a page table per attached address space, and a
 * small TLB in front of it that only gm_mmu.tlb_invl empties.  If gmem
 * released a mapping but forgot the TLB, the device would go on using a
 * page the CPU freed, and the tests, which check every byte, would see it.
 *
 * Entries hold what gmem hands the device (struct gm_addr): offsets in its
 * memory and DMA addresses of host memory, never struct pages.  A 2 MiB
 * entry is one entry, as on hardware with huge device pages.
 *
 * The page table's xarray lock is the MMU lock: a device access holds it
 * while it touches the page, so an invalidation (which takes it to release
 * or flush) waits for accesses in flight, as a TLB shootdown waits on real
 * hardware.
 */
#include <linux/highmem.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/xarray.h>
#include "fake.h"

#define GMEM_FAKE_TLB_ENTRIES	64
#define GMEM_FAKE_PTE_PROT	(GM_PROT_READ | GM_PROT_WRITE | GM_PROT_ATOMIC)
/* An entry: the address (page-aligned), its kind, the access. */
#define GMEM_FAKE_PTE_KIND_SHIFT	3
#define GMEM_FAKE_PTE_KIND	(3UL << GMEM_FAKE_PTE_KIND_SHIFT)
#define GMEM_FAKE_PTE_ADDR	PAGE_MASK
/* 2 MiB entries live in the same xarray, above every 4 KiB one. */
#define GMEM_FAKE_HUGE_SHIFT	21
#define GMEM_FAKE_HUGE_BASE	BIT(48)

/**
 * struct gmem_fake_tlbe - a cached translation
 * @vpn: virtual page number
 * @pte: the page table entry it caches
 * @valid: the entry is in use
 */
struct gmem_fake_tlbe {
	unsigned long vpn;
	unsigned long pte;
	bool valid;
};

/**
 * struct gmem_fake_pmap - a device page table and its TLB
 * @pte: vpn -> xa_mk_value(an entry), and GMEM_FAKE_HUGE_BASE + (va >> 21)
 *	-> a 2 MiB entry; its lock is the MMU lock (see above)
 * @fdev: the device
 * @tlb: direct-mapped by vpn
 * @tlb_flushes: tlb_invl calls
 * @tlb_hits: translations found in @tlb
 * @tlb_misses: translations walked in @pte
 */
struct gmem_fake_pmap {
	struct xarray pte;
	struct gmem_fake_dev *fdev;
	struct gmem_fake_tlbe tlb[GMEM_FAKE_TLB_ENTRIES];
	u64 tlb_flushes;
	u64 tlb_hits;
	u64 tlb_misses;
};

static int gmem_fake_pmap_create(struct gm_dev *dev, struct gm_ctx *ctx,
				 void **pmap)
{
	struct gmem_fake_pmap *p = kzalloc(sizeof(*p), GFP_KERNEL);

	if (!p)
		return -ENOMEM;
	xa_init(&p->pte);
	p->fdev = gm_dev_drvdata(dev);
	*pmap = p;
	return 0;
}

static void gmem_fake_pmap_destroy(struct gm_dev *dev, void *pmap)
{
	struct gmem_fake_pmap *p = pmap;
	unsigned long vpn = 0;

	/*
	 * gmem released every mapping.  Not xa_empty(): a store that failed
	 * to allocate (GFP_NOWAIT) can leave empty nodes behind, which
	 * xa_destroy() frees.
	 */
	WARN_ON(xa_find(&p->pte, &vpn, ULONG_MAX, XA_PRESENT));
	xa_destroy(&p->pte);
	kfree(p);
}

/* Index of the 4 KiB or 2 MiB entry for @va. */
static unsigned long gmem_fake_pte_index(unsigned long va, bool huge)
{
	return huge ? GMEM_FAKE_HUGE_BASE + (va >> GMEM_FAKE_HUGE_SHIFT) :
		      va >> PAGE_SHIFT;
}

static int gmem_fake_pmap_enter(struct gm_dev *dev, void *pmap,
				unsigned long va, const struct gm_addr *addrs,
				unsigned long n, unsigned int prot)
{
	struct gmem_fake_pmap *p = pmap;
	unsigned long i, k;
	int err = 0;

	/*
	 * GFP_NOWAIT: gmem holds the context's mapping lock, and reclaim
	 * could invalidate this address space and wait for that lock.
	 * gmem released what was mapped here, and flushed the TLB.
	 */
	xa_lock(&p->pte);
	for (i = 0; i < n && !err; i++) {
		bool huge = addrs[i].order;
		unsigned long pte = addrs[i].addr |
				    (unsigned long)addrs[i].kind << GMEM_FAKE_PTE_KIND_SHIFT |
				    prot;

		if (addrs[i].kind == GM_ADDR_NONE ||
		    (huge && (addrs[i].order != GMEM_FAKE_HUGE_SHIFT - PAGE_SHIFT ||
			      !IS_ALIGNED(va, 1UL << GMEM_FAKE_HUGE_SHIFT)))) {
			err = -EINVAL;
			break;
		}
		err = xa_err(__xa_store(&p->pte, gmem_fake_pte_index(va, huge),
					xa_mk_value(pte),
					GFP_NOWAIT | __GFP_NOWARN));
		for (k = 0; k < (1UL << addrs[i].order); k++, va += PAGE_SIZE) {
			struct gmem_fake_tlbe *e =
				&p->tlb[(va >> PAGE_SHIFT) % GMEM_FAKE_TLB_ENTRIES];

			if (e->valid && e->vpn == va >> PAGE_SHIFT)
				err = -EEXIST;	/* gmem did not flush */
		}
	}
	xa_unlock(&p->pte);
	return err;
}

static void gmem_fake_pmap_release(struct gm_dev *dev, void *pmap,
				   unsigned long start, unsigned long end)
{
	struct gmem_fake_pmap *p = pmap;
	unsigned long idx;
	void *entry;

	xa_lock(&p->pte);
	xa_for_each_range(&p->pte, idx, entry, gmem_fake_pte_index(start, false),
			  gmem_fake_pte_index(end - 1, false))
		__xa_erase(&p->pte, idx);
	xa_for_each_range(&p->pte, idx, entry, gmem_fake_pte_index(start, true),
			  gmem_fake_pte_index(end - 1, true))
		__xa_erase(&p->pte, idx);
	xa_unlock(&p->pte);
}

/* Take @prot's missing rights away from entries [first, last]. */
static void gmem_fake_protect_range(struct gmem_fake_pmap *p,
				    unsigned long first, unsigned long last,
				    unsigned int prot)
{
	unsigned long idx;
	void *entry;

	xa_for_each_range(&p->pte, idx, entry, first, last) {
		unsigned long pte = xa_to_value(entry);

		/* A write-protected page is no longer the device's alone. */
		pte &= ~(unsigned long)GMEM_FAKE_PTE_PROT | (prot & ~GM_PROT_ATOMIC);
		/* Replacing a present entry allocates nothing. */
		__xa_store(&p->pte, idx, xa_mk_value(pte), GFP_ATOMIC);
	}
}

static void gmem_fake_pmap_protect(struct gm_dev *dev, void *pmap,
				   unsigned long start, unsigned long end,
				   unsigned int prot)
{
	struct gmem_fake_pmap *p = pmap;

	xa_lock(&p->pte);
	gmem_fake_protect_range(p, gmem_fake_pte_index(start, false),
				gmem_fake_pte_index(end - 1, false), prot);
	gmem_fake_protect_range(p, gmem_fake_pte_index(start, true),
				gmem_fake_pte_index(end - 1, true), prot);
	xa_unlock(&p->pte);
}

static void gmem_fake_tlb_invl(struct gm_dev *dev, void *pmap,
			       unsigned long start, unsigned long end)
{
	struct gmem_fake_pmap *p = pmap;
	unsigned long first = start >> PAGE_SHIFT, last = (end - 1) >> PAGE_SHIFT;
	unsigned int i;

	xa_lock(&p->pte);
	for (i = 0; i < GMEM_FAKE_TLB_ENTRIES; i++)
		if (p->tlb[i].vpn >= first && p->tlb[i].vpn <= last)
			p->tlb[i].valid = false;
	p->tlb_flushes++;
	xa_unlock(&p->pte);
}

/* One shootdown for every range: the TLB is scanned once. */
static void gmem_fake_tlb_invl_ranges(struct gm_dev *dev, void *pmap,
				      const struct gm_va_range *ranges,
				      unsigned int nr)
{
	struct gmem_fake_pmap *p = pmap;
	unsigned int i, r;

	xa_lock(&p->pte);
	for (i = 0; i < GMEM_FAKE_TLB_ENTRIES; i++) {
		unsigned long va = p->tlb[i].vpn << PAGE_SHIFT;

		for (r = 0; r < nr; r++)
			if (va >= ranges[r].start && va < ranges[r].end)
				p->tlb[i].valid = false;
	}
	p->tlb_flushes++;
	xa_unlock(&p->pte);
}

/*
 * The translation of @vpn, through the TLB: an entry for its 4 KiB page
 * (from a 2 MiB entry, the part of it @vpn is in); 0 if nothing is mapped.
 */
static unsigned long gmem_fake_translate(struct gmem_fake_pmap *p,
					 unsigned long vpn)
{
	struct gmem_fake_tlbe *e = &p->tlb[vpn % GMEM_FAKE_TLB_ENTRIES];
	unsigned long va = vpn << PAGE_SHIFT, pte;
	void *entry;

	lockdep_assert_held(&p->pte.xa_lock);
	if (e->valid && e->vpn == vpn) {
		p->tlb_hits++;
		return e->pte;
	}
	p->tlb_misses++;
	entry = xa_load(&p->pte, gmem_fake_pte_index(va, false));
	if (entry) {
		pte = xa_to_value(entry);
	} else {
		entry = xa_load(&p->pte, gmem_fake_pte_index(va, true));
		if (!entry)
			return 0;
		pte = xa_to_value(entry) +
		      (va & ((1UL << GMEM_FAKE_HUGE_SHIFT) - 1));
	}
	e->vpn = vpn;
	e->pte = pte;
	e->valid = true;
	return e->pte;
}

/* Most pages one burst of device accesses copies with the MMU lock held. */
#define GMEM_FAKE_BURST_PAGES	16

/*
 * The device loads or stores [@va, @va + @len) through its MMU, as one
 * burst: the MMU lock is taken once for up to GMEM_FAKE_BURST_PAGES pages,
 * not per page, which is most of what a device access costs the fake
 * besides the copy.  Stops at the first page that faults; *@done says how
 * many bytes were accessed.
 *
 * Return: 0, -ENOENT when a translation is missing or does not allow the
 * access (a device fault), -EREMOTE for GMEM_FAKE_LOCAL when it leads
 * elsewhere, or -EFAULT if it leads nowhere.
 */
static int gmem_fake_mmu_access(struct gmem_fake_pmap *p, unsigned long va,
				void *buf, size_t len, unsigned int flags,
				size_t *done)
{
	bool write = flags & GMEM_FAKE_WRITE;
	unsigned int need = write ? GM_PROT_WRITE : GM_PROT_READ, burst = 0;
	struct gm_addr a = { .order = 0 };
	struct page *page;
	unsigned long pte;
	void *kaddr;
	size_t n;
	int err = 0;

	*done = 0;
	xa_lock(&p->pte);
	for (; len; len -= n, va += n, buf += n, *done += n) {
		n = min_t(size_t, len, PAGE_SIZE - offset_in_page(va));
		if (++burst > GMEM_FAKE_BURST_PAGES) {
			/* Let an invalidation waiting for the MMU in. */
			xa_unlock(&p->pte);
			burst = 1;
			xa_lock(&p->pte);
		}
		pte = gmem_fake_translate(p, va >> PAGE_SHIFT);
		if (!(pte & need)) {
			err = -ENOENT;
			break;
		}
		a.addr = pte & GMEM_FAKE_PTE_ADDR;
		a.kind = (pte & GMEM_FAKE_PTE_KIND) >> GMEM_FAKE_PTE_KIND_SHIFT;
		if ((flags & GMEM_FAKE_LOCAL) && a.kind != GM_ADDR_LOCAL) {
			err = -EREMOTE;
			break;
		}
		kaddr = gmem_fake_map_addr(p->fdev, &a, &page);
		if (!kaddr) {
			err = -EFAULT;
			break;
		}
		if (write)
			memcpy(kaddr + offset_in_page(va), buf, n);
		else
			memcpy(buf, kaddr + offset_in_page(va), n);
		gmem_fake_unmap_addr(page, kaddr);
	}
	xa_unlock(&p->pte);
	return err;
}

/* The device fault of a miss at @page: [@page, @end), as @flags want it. */
static int gmem_fake_fault(struct gm_ctx *ctx, unsigned long page,
			   unsigned long end, unsigned int flags)
{
	unsigned int access = flags & GMEM_FAKE_WRITE ?
			      GM_PROT_READ | GM_PROT_WRITE : GM_PROT_READ;
	struct gmem_fake_dev *fdev = gm_dev_drvdata(gm_ctx_dev(ctx));
	struct gm_fault_opts opts = {
		.placement = flags & GMEM_FAKE_LOCAL ? GM_PLACE_IN_PLACE :
						       fdev->placement,
	};

	return gm_dev_fault(ctx, page, end - page, access, &opts);
}

/* Most device faults one load or store may raise for the same page. */
#define GMEM_FAKE_FAULT_RETRIES	16

/**
 * gmem_fake_dev_access() - device loads or stores, faulting on a miss
 * @ctx: the attachment whose page table the device walks
 * @va: first byte
 * @buf: kernel buffer the bytes come from or go to
 * @len: bytes
 * @flags: GMEM_FAKE_WRITE for stores; GMEM_FAKE_LOCAL to accept only
 *	translations to the device's own memory (-EREMOTE otherwise), and to
 *	fault pages in where they are (GM_PLACE_IN_PLACE): the device reads
 *	what its memory holds, it does not move anything there.  Otherwise
 *	the device's placement policy decides.
 * @fault_end: a miss faults [page of the miss, @fault_end) in at once
 * @faults: incremented for every device fault raised
 * @done: set to the bytes accessed, also when an error stops the access
 *
 * Return: 0, the error of gm_dev_fault(), -EREMOTE, -EFAULT if a
 * translation leads nowhere, or -EBUSY if a page kept being invalidated
 * between the fault and the access.
 */
int gmem_fake_dev_access(struct gm_ctx *ctx, unsigned long va, void *buf,
			 size_t len, unsigned int flags,
			 unsigned long fault_end, u32 *faults, size_t *done)
{
	struct gmem_fake_pmap *p = gm_ctx_pmap(ctx);
	unsigned int tries = 0;
	size_t n;
	int err;

	*done = 0;
	for (;;) {
		err = gmem_fake_mmu_access(p, va, buf, len, flags, &n);
		*done += n;
		if (err != -ENOENT)
			return err;
		va += n;
		buf += n;
		len -= n;
		if (n)
			tries = 0;
		if (++tries > GMEM_FAKE_FAULT_RETRIES)
			return -EBUSY;
		(*faults)++;
		err = gmem_fake_fault(ctx, va & PAGE_MASK, fault_end, flags);
		if (err)
			return err;
	}
}

/* Does the device hold a page of [@start, @end) exclusively? */
bool gmem_fake_mmu_has_atomic(void *pmap, unsigned long start,
			      unsigned long end)
{
	struct gmem_fake_pmap *p = pmap;
	unsigned long vpn;
	bool found = false;
	void *entry;

	xa_lock(&p->pte);
	xa_for_each_range(&p->pte, vpn, entry, start >> PAGE_SHIFT,
			  (end - 1) >> PAGE_SHIFT)
		if (xa_to_value(entry) & GM_PROT_ATOMIC)
			found = true;
	xa_unlock(&p->pte);
	return found;
}

/* TLB figures and mapped pages, for GMEM_FAKE_IOC_MMU_STATS. */
void gmem_fake_mmu_stats(void *pmap, struct gmem_fake_mmu_stats *st)
{
	struct gmem_fake_pmap *p = pmap;
	unsigned long idx;
	void *entry;

	xa_lock(&p->pte);
	st->tlb_flushes = p->tlb_flushes;
	st->tlb_hits = p->tlb_hits;
	st->tlb_misses = p->tlb_misses;
	st->mapped_pages = 0;
	st->huge_mappings = 0;
	xa_for_each(&p->pte, idx, entry) {
		if (idx < GMEM_FAKE_HUGE_BASE) {
			st->mapped_pages++;
		} else {
			st->mapped_pages += 1UL << (GMEM_FAKE_HUGE_SHIFT - PAGE_SHIFT);
			st->huge_mappings++;
		}
	}
	xa_unlock(&p->pte);
}

const struct gm_mmu gmem_fake_mmu = {
	.copy_submit = gmem_fake_copy_submit,
	.copy_wait = gmem_fake_copy_wait,
	.pmap_create = gmem_fake_pmap_create,
	.pmap_destroy = gmem_fake_pmap_destroy,
	.pmap_enter = gmem_fake_pmap_enter,
	.pmap_release = gmem_fake_pmap_release,
	.pmap_protect = gmem_fake_pmap_protect,
	.tlb_invl = gmem_fake_tlb_invl,
	.tlb_invl_ranges = gmem_fake_tlb_invl_ranges,
};
