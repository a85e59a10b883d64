// SPDX-License-Identifier: GPL-2.0
/*
 * The seam between gmem and a driver's copy engine: requests go out through
 * gm_mmu.copy_submit and come back through gm_copy_complete(), possibly from
 * the engine's interrupt or worker.  gmem works in pages; the engine sees
 * addresses (struct gm_addr): offsets in its own memory, and host pages
 * mapped for its device with the DMA API for as long as the copy runs.
 */
#include <linux/dma-mapping.h>
#include <linux/export.h>
#include <linux/jiffies.h>
#include <linux/slab.h>
#include "gm_internal.h"

/* How long a copy request may take before gmem says the engine is stuck. */
#define GM_COPY_STALL_MS	30000

/**
 * gm_dev_addr() - the address by which @dev reaches a page, DMA-mapping it
 * @dev: the device
 * @page: a page of @dev's memory, of host RAM, or of another gmem device's
 *	coherent memory
 * @order: the entry's order (@page is its head)
 * @dir: the DMA direction, for a host page
 * @attrs: DMA_ATTR_* for a host page
 * @a: filled in
 *
 * Return: 0, or -ENOMEM if the DMA mapping failed.
 */
int gm_dev_addr(struct gm_dev *dev, struct page *page, unsigned int order,
		enum dma_data_direction dir, unsigned long attrs,
		struct gm_addr *a)
{
	struct device *dma_dev = gm_dev_dma_device(dev);
	dma_addr_t dma;

	a->order = order;
	if (gm_page_dev(page) == dev) {
		a->kind = GM_ADDR_LOCAL;
		a->addr = gm_dev_page_offset(dev, page);
		return 0;
	}
	dma = dma_map_page_attrs(dma_dev, page, 0, PAGE_SIZE << order, dir,
				 attrs);
	if (dma_mapping_error(dma_dev, dma))
		return -ENOMEM;
	a->kind = GM_ADDR_SYSTEM;
	a->addr = dma;
	return 0;
}

/* Undo gm_dev_addr(), with the same @dir and @attrs. */
void gm_dev_addr_release(struct gm_dev *dev, const struct gm_addr *a,
			 enum dma_data_direction dir, unsigned long attrs)
{
	if (a->kind == GM_ADDR_SYSTEM)
		dma_unmap_page_attrs(gm_dev_dma_device(dev), a->addr,
				     PAGE_SIZE << a->order, dir, attrs);
}

/* Host pages are read by the engine going to a device, written going back. */
static enum dma_data_direction gm_copy_dma_dir(enum gm_copy_dir dir)
{
	return dir == GM_COPY_TO_DEV ? DMA_TO_DEVICE : DMA_FROM_DEVICE;
}

/* Release the addresses of the first @n copies of @c. */
static void gm_copy_release_addrs(struct gm_dev *dev, struct gm_copy *c,
				  unsigned int n)
{
	enum dma_data_direction dir = gm_copy_dma_dir(c->req.dir);
	unsigned int i;

	for (i = 0; i < n; i++) {
		gm_dev_addr_release(dev, &c->addrs[i], dir, 0);
		gm_dev_addr_release(dev, &c->addrs[c->req.npages + i], dir, 0);
	}
	kvfree(c->addrs);
	c->addrs = NULL;
}

/**
 * gm_copy_submit() - hand @npages page copies to @dev's engine
 * @dev: the device whose engine copies
 * @c: the request, owned by the caller until gm_copy_wait() returns
 * @dir: direction
 * @spages: source pages; NULL entries ask for a zeroed destination
 * @dpages: destination pages
 * @npages: number of copies
 *
 * Return: 0 if the engine took the request (then call gm_copy_wait()), or
 * an error: the DMA mapping or the engine refused it, and nothing moved.
 */
int gm_copy_submit(struct gm_dev *dev, struct gm_copy *c, enum gm_copy_dir dir,
		   struct page **spages, struct page **dpages,
		   unsigned int npages)
{
	enum dma_data_direction dma_dir = gm_copy_dma_dir(dir);
	unsigned int i;
	int ret = 0;

	c->req.dir = dir;
	c->req.npages = npages;
	c->spages = spages;
	c->dpages = dpages;
	c->addrs = kvmalloc_array(2 * npages, sizeof(*c->addrs),
				  GM_GFP_MAY_FAIL);
	if (!c->addrs) {
		ret = -ENOMEM;
		goto err;
	}
	for (i = 0; i < npages && !ret; i++) {
		struct gm_addr *src = &c->addrs[i], *dst = &c->addrs[npages + i];

		*src = (struct gm_addr){ .kind = GM_ADDR_NONE };
		*dst = (struct gm_addr){ .kind = GM_ADDR_NONE };
		if (spages[i])
			ret = gm_dev_addr(dev, spages[i], 0, dma_dir, 0, src);
		if (!ret)
			ret = gm_dev_addr(dev, dpages[i], 0, dma_dir, 0, dst);
	}
	if (ret) {
		gm_copy_release_addrs(dev, c, i);
		goto err;
	}
	c->req.src = c->addrs;
	c->req.dst = c->addrs + npages;
	init_completion(&c->done);
	c->status = 0;
	ret = dev->mmu->copy_submit(dev, &c->req);
	if (!ret)
		return 0;
	gm_copy_release_addrs(dev, c, npages);
err:
	atomic64_inc(&dev->copy_errors);
	return ret;
}

/*
 * The engine owns the request and its pages until it completes it, so
 * gmem cannot give up on it: a stuck engine is reported, every
 * GM_COPY_STALL_MS, and waited for.  Then the DMA mappings go.
 */
int gm_copy_wait(struct gm_dev *dev, struct gm_copy *c)
{
	unsigned int waited = 0;

	might_sleep();
	if (dev->mmu->copy_wait)
		dev->mmu->copy_wait(dev, &c->req);
	while (!wait_for_completion_timeout(&c->done,
					    msecs_to_jiffies(GM_COPY_STALL_MS)))
		dev_warn(&dev->dev, "copy engine has not completed a request of %u pages for %u s\n",
			 c->req.npages, ++waited * GM_COPY_STALL_MS / 1000);
	gm_copy_release_addrs(dev, c, c->req.npages);
	if (c->status)
		atomic64_inc(&dev->copy_errors);
	else
		atomic64_inc(&dev->copy_batches);
	return c->status;
}

/**
 * gm_copy_complete() - report the outcome of a copy request
 * @req: the request given to gm_mmu.copy_submit
 * @status: 0 if every page was copied, else a negative errno; gmem then
 *	leaves every page of the request where it was
 *
 * Call exactly once per accepted request.  The driver must not touch @req
 * or its memory afterwards.
 *
 * Context: any context that may take a spinlock.
 */
void gm_copy_complete(struct gm_copy_req *req, int status)
{
	struct gm_copy *c = container_of(req, struct gm_copy, req);

	c->status = status;
	complete(&c->done);
}
EXPORT_SYMBOL_GPL(gm_copy_complete);
