// SPDX-License-Identifier: GPL-2.0
/*
 * The fake copy engine: a request runs on a workqueue, on another CPU than
 * the one that submitted it, so copies proceed while gmem prepares the
 * next batch, as with a DMA engine.  (Queued on the submitting CPU, the
 * worker would preempt the submitter and the copy would run inline.)  When
 * gmem comes to wait for a request, its CPU copies what the worker has not
 * claimed yet (gm_mmu.copy_wait), in chunks of GMEM_FAKE_COPY_CHUNK pages,
 * or all of it if the worker has not started: the worker's CPU may be busy,
 * or, in a virtual machine, not running while the host runs something
 * else, and a DMA engine does not need a CPU, so this one must not wait
 * for one.
 * Coherent device memory is CPU-addressable, so a copy is a page copy;
 * private device memory has struct pages the CPU cannot map, so the fake
 * keeps their contents in its "VRAM" (BAR2, or a vmalloc'ed buffer),
 * indexed by gm_dev_page_offset().
 */
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/dma-direct.h>
#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/random.h>
#include <linux/refcount.h>
#include <linux/memremap.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include "compat/gm_compat.h"
#include "fake.h"

/*
 * Fault injection, in /sys/kernel/debug/gmem_fake/, shared by every device:
 *   fail_submit_percent    requests refused at submission
 *   fail_mid_percent       requests that stop after half their pages and
 *                          complete with -EIO (a DMA error mid-transfer)
 *   fail_complete_percent  requests that copy everything, then report -EIO
 *   delay_us               each request stalls this long first
 *   engine_parked          the engine's worker takes no request: each runs
 *                          when gmem waits for it (gm_mmu.copy_wait)
 *   injected               failures injected so far
 *   inline_copies          requests run by gmem's waiting CPU, so far
 */
static struct dentry *gmem_fake_debugfs_dir;
static u32 fail_submit_percent;
static u32 fail_mid_percent;
static u32 fail_complete_percent;
static u32 delay_us;
static u32 engine_parked;
static atomic_t injected = ATOMIC_INIT(0);
static atomic_t inline_copies = ATOMIC_INIT(0);

static bool gmem_fake_inject(const u32 *percent)
{
	u32 p = READ_ONCE(*percent);

	if (!p || get_random_u32() % 100 >= p)
		return false;
	atomic_inc(&injected);
	return true;
}

void gmem_fake_debugfs_init(void)
{
	struct dentry *d = debugfs_create_dir("gmem_fake", NULL);

	gmem_fake_debugfs_dir = d;
	debugfs_create_u32("fail_submit_percent", 0600, d, &fail_submit_percent);
	debugfs_create_u32("fail_mid_percent", 0600, d, &fail_mid_percent);
	debugfs_create_u32("fail_complete_percent", 0600, d,
			   &fail_complete_percent);
	debugfs_create_u32("delay_us", 0600, d, &delay_us);
	debugfs_create_u32("engine_parked", 0600, d, &engine_parked);
	debugfs_create_atomic_t("injected", 0400, d, &injected);
	debugfs_create_atomic_t("inline_copies", 0400, d, &inline_copies);
}

void gmem_fake_debugfs_exit(void)
{
	debugfs_remove_recursive(gmem_fake_debugfs_dir);
}

/* Pages one engine thread claims at a time: gmem's wait may take the rest. */
#define GMEM_FAKE_COPY_CHUNK	32

/**
 * struct gmem_fake_copy - a request queued on the engine
 * @work: the engine's work item
 * @req: gmem's request
 * @fdev: the device copying
 * @npages: pages to copy: fewer than @req's when a failure is injected
 * @status: the injected outcome, 0 if none
 * @nchunks: chunks of GMEM_FAKE_COPY_CHUNK pages, at least one
 * @next_chunk: the next chunk to claim
 * @pending: chunks not copied yet: the one who copies the last completes
 *	the request, and @req is not touched after that
 * @err: the first copy that failed (an address leading nowhere)
 * @refs: the work item's and gmem's wait: the last to go frees @copy, so
 *	that gmem need not wait for a worker that has nothing left to do
 * @parked: not queued (engine_parked): gmem's wait runs it
 */
struct gmem_fake_copy {
	struct work_struct work;
	struct gm_copy_req *req;
	struct gmem_fake_dev *fdev;
	unsigned int npages;
	int status;
	unsigned int nchunks;
	atomic_t next_chunk;
	atomic_t pending;
	atomic_t err;
	refcount_t refs;
	bool parked;
};

/*
 * Where the device's DMA address @dma leads, in physical memory: through
 * its IOMMU if one translates (0 for an IOVA that is not mapped), as the
 * hardware would, so that a page gmem did not map, or unmapped too early,
 * is a failed copy.
 */
static phys_addr_t gmem_fake_dma_to_phys(struct gmem_fake_dev *fdev,
					 dma_addr_t dma)
{
	phys_addr_t phys;

	if (!fdev->iommu)
		return dma_to_phys(fdev->parent, dma);
	phys = iommu_iova_to_phys(fdev->iommu, dma);
	if (phys && phys != dma)
		atomic64_inc(&fdev->iova_pages);
	return phys ?: PHYS_ADDR_MAX;
}

/**
 * gmem_fake_map_addr() - where the device finds the memory behind an address
 * @fdev: the device
 * @a: an address gmem gave it (its first page)
 * @page: set to what gmem_fake_unmap_addr() needs
 *
 * Return: a kernel address of the page's contents, or NULL if @a leads
 * nowhere (which would be a bug in gmem: the tests see it as an error).
 */
void *gmem_fake_map_addr(struct gmem_fake_dev *fdev, const struct gm_addr *a,
			 struct page **page)
{
	phys_addr_t phys;

	*page = NULL;
	switch (a->kind) {
	case GM_ADDR_LOCAL:
		if (a->addr >= fdev->devmem_size)
			return NULL;
		if (fdev->mem_type == GM_MEM_PRIVATE)
			return fdev->vram + a->addr;
		phys = fdev->devmem_phys + a->addr;
		break;
	case GM_ADDR_SYSTEM:
		phys = gmem_fake_dma_to_phys(fdev, a->addr);
		break;
	default:
		return NULL;
	}
	if (phys == PHYS_ADDR_MAX || !pfn_valid(PHYS_PFN(phys)))
		return NULL;
	*page = pfn_to_page(PHYS_PFN(phys));
	return kmap_local_page(*page);
}

void gmem_fake_unmap_addr(struct page *page, void *addr)
{
	if (page)
		kunmap_local(addr);
}

/* Copy pages [@first, @end) of @copy's request; 0, or -EFAULT. */
static int gmem_fake_copy_pages(struct gmem_fake_copy *copy,
				unsigned int first, unsigned int end)
{
	struct gm_copy_req *req = copy->req;
	struct page *dpage, *spage;
	void *dst, *src;
	unsigned int i;
	int err = 0;

	for (i = first; i < end && !err; i++) {
		dst = gmem_fake_map_addr(copy->fdev, &req->dst[i], &dpage);
		if (!dst)
			return -EFAULT;
		if (req->src[i].kind == GM_ADDR_NONE) {
			memset(dst, 0, PAGE_SIZE);
		} else {
			src = gmem_fake_map_addr(copy->fdev, &req->src[i], &spage);
			if (src)
				memcpy(dst, src, PAGE_SIZE);
			else
				err = -EFAULT;
			gmem_fake_unmap_addr(spage, src);
		}
		gmem_fake_unmap_addr(dpage, dst);
	}
	return err;
}

/* A chunk is copied: the last one completes the request. */
static void gmem_fake_copy_chunk_done(struct gmem_fake_copy *copy)
{
	int err;

	if (!atomic_dec_and_test(&copy->pending))
		return;
	err = atomic_read(&copy->err);
	if (err)
		pr_err_ratelimited("gmem_fake: %s: a copy of %u pages: an address leads nowhere\n",
				   copy->fdev->name, copy->req->npages);
	gm_copy_complete(copy->req, copy->status ?: err);
}

/*
 * Claim chunks of @copy and copy them until none is left: the engine's
 * thread does, and so does gmem's waiting CPU, so that a request the
 * engine's CPU started and then lost (its vCPU descheduled by a busy host)
 * is finished by the waiter, but for the chunk in the worker's hands.
 */
static void gmem_fake_copy_chunks(struct gmem_fake_copy *copy)
{
	unsigned int c, first, end;
	int err;

	while ((c = atomic_inc_return(&copy->next_chunk) - 1) < copy->nchunks) {
		first = c * GMEM_FAKE_COPY_CHUNK;
		end = min(first + GMEM_FAKE_COPY_CHUNK, copy->npages);
		err = first < end ? gmem_fake_copy_pages(copy, first, end) : 0;
		if (err)
			atomic_cmpxchg(&copy->err, 0, err);
		gmem_fake_copy_chunk_done(copy);
	}
}

static void gmem_fake_copy_put(struct gmem_fake_copy *copy)
{
	if (refcount_dec_and_test(&copy->refs))
		kfree(copy);
}

static void gmem_fake_copy_work(struct work_struct *work)
{
	struct gmem_fake_copy *copy =
		container_of(work, struct gmem_fake_copy, work);

	if (READ_ONCE(delay_us))
		fsleep(READ_ONCE(delay_us));
	gmem_fake_copy_chunks(copy);
	gmem_fake_copy_put(copy);
}

/* The next online CPU after the current one, or the current one if alone. */
static int gmem_fake_engine_cpu(void)
{
	int cpu = cpumask_next(raw_smp_processor_id(), cpu_online_mask);

	return cpu < nr_cpu_ids ? cpu : cpumask_first(cpu_online_mask);
}

int gmem_fake_copy_submit(struct gm_dev *dev, struct gm_copy_req *req)
{
	struct gmem_fake_dev *fdev = gm_dev_drvdata(dev);
	struct gmem_fake_copy *copy;

	if (gmem_fake_inject(&fail_submit_percent))
		return -EIO;
	copy = kmalloc(sizeof(*copy), GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	INIT_WORK(&copy->work, gmem_fake_copy_work);
	copy->req = req;
	copy->fdev = fdev;
	copy->npages = req->npages;
	copy->status = 0;
	if (gmem_fake_inject(&fail_mid_percent)) {
		copy->npages /= 2;
		copy->status = -EIO;
	} else if (gmem_fake_inject(&fail_complete_percent)) {
		copy->status = -EIO;
	}
	copy->nchunks = max(DIV_ROUND_UP(copy->npages, GMEM_FAKE_COPY_CHUNK), 1U);
	atomic_set(&copy->next_chunk, 0);
	atomic_set(&copy->pending, copy->nchunks);
	atomic_set(&copy->err, 0);
	refcount_set(&copy->refs, 2);
	copy->parked = READ_ONCE(engine_parked);
	req->priv = copy;
	if (!copy->parked)
		queue_work_on(gmem_fake_engine_cpu(), fdev->engine, &copy->work);
	return 0;
}

/*
 * Run @req here if the engine has not started it, else copy the chunks it
 * has not claimed yet beside it.  gmem then waits for the completion, that
 * is for the chunk still in the worker's hands, if any, not for the
 * worker.
 */
void gmem_fake_copy_wait(struct gm_dev *dev, struct gm_copy_req *req)
{
	struct gmem_fake_copy *copy = req->priv;

	if (copy->parked || cancel_work(&copy->work)) {
		atomic_inc(&inline_copies);
		gmem_fake_copy_work(&copy->work);	/* the work item's ref */
	} else {
		gmem_fake_copy_chunks(copy);
	}
	gmem_fake_copy_put(copy);
}

int gmem_fake_engine_init(struct gmem_fake_dev *fdev)
{
	fdev->engine = alloc_workqueue("%s_engine", GM_WQ_PERCPU, 0, fdev->name);
	return fdev->engine ? 0 : -ENOMEM;
}

void gmem_fake_engine_fini(struct gmem_fake_dev *fdev)
{
	destroy_workqueue(fdev->engine);
}
