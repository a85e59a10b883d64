// SPDX-License-Identifier: GPL-2.0
/*
 * The seam between gmem and a driver's copy engine: requests go out through
 * gm_mmu.copy_submit and come back through gm_copy_complete(), possibly from
 * the engine's interrupt or worker.
 */
#include <linux/export.h>
#include <linux/jiffies.h>
#include "gm_internal.h"

/* How long a copy request may take before gmem says the engine is stuck. */
#define GM_COPY_STALL_MS	30000

int gm_copy_submit(struct gm_dev *dev, struct gm_copy_req *req)
{
	int ret;

	init_completion(&req->done);
	req->status = 0;
	ret = dev->mmu->copy_submit(dev, req);
	if (ret)
		atomic64_inc(&dev->copy_errors);
	return ret;
}

/*
 * The engine owns the request and its pages until it completes it, so
 * gmem cannot give up on it: a stuck engine is reported, every
 * GM_COPY_STALL_MS, and waited for.
 */
int gm_copy_wait(struct gm_dev *dev, struct gm_copy_req *req)
{
	unsigned int waited = 0;

	while (!wait_for_completion_timeout(&req->done,
					    msecs_to_jiffies(GM_COPY_STALL_MS)))
		dev_warn(&dev->dev, "copy engine has not completed a request of %u pages for %u s\n",
			 req->npages, ++waited * GM_COPY_STALL_MS / 1000);
	if (req->status)
		atomic64_inc(&dev->copy_errors);
	else
		atomic64_inc(&dev->copy_batches);
	return req->status;
}

/**
 * gm_copy_complete() - report the outcome of a copy request
 * @req: the request given to gm_mmu.copy_submit
 * @status: 0 if every page was copied, else a negative errno; gmem then
 *	leaves every page of the request where it was
 *
 * Call exactly once per accepted request.  The driver must not touch @req
 * or its pages afterwards.
 *
 * Context: any context that may take a spinlock.
 */
void gm_copy_complete(struct gm_copy_req *req, int status)
{
	req->status = status;
	complete(&req->done);
}
EXPORT_SYMBOL_GPL(gm_copy_complete);
