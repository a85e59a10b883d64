// SPDX-License-Identifier: GPL-2.0
/*
 * The fake copy engine: a request runs on a workqueue, on another CPU than
 * the one that submitted it, so copies proceed while gmem prepares the
 * next batch, as with a DMA engine.  (Queued on the submitting CPU, the
 * worker would preempt the submitter and the copy would run inline.)
 * Device memory here is CPU-addressable, so a copy is a page copy.
 */
#include <linux/cpumask.h>
#include <linux/highmem.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include "fake.h"

/**
 * struct gmem_fake_copy - a request queued on the engine
 * @work: the engine's work item
 * @req: gmem's request
 */
struct gmem_fake_copy {
	struct work_struct work;
	struct gm_copy_req *req;
};

static void gmem_fake_copy_work(struct work_struct *work)
{
	struct gmem_fake_copy *copy =
		container_of(work, struct gmem_fake_copy, work);
	struct gm_copy_req *req = copy->req;
	unsigned int i;

	for (i = 0; i < req->npages; i++) {
		if (req->src[i])
			copy_highpage(req->dst[i], req->src[i]);
		else
			clear_highpage(req->dst[i]);
	}
	kfree(copy);
	gm_copy_complete(req, 0);
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

	copy = kmalloc(sizeof(*copy), GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	INIT_WORK(&copy->work, gmem_fake_copy_work);
	copy->req = req;
	queue_work_on(gmem_fake_engine_cpu(), fdev->engine, &copy->work);
	return 0;
}

int gmem_fake_engine_init(struct gmem_fake_dev *fdev)
{
	fdev->engine = alloc_workqueue("%s_engine", 0, 0, fdev->name);
	return fdev->engine ? 0 : -ENOMEM;
}

void gmem_fake_engine_fini(struct gmem_fake_dev *fdev)
{
	destroy_workqueue(fdev->engine);
}
