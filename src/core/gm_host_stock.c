// SPDX-License-Identifier: GPL-2.0
/*
 * Host pages allocated ahead of a migration back to host RAM.
 *
 * Allocating (and, with init_on_alloc, zeroing) a batch of host pages costs
 * as much as a third of a migration back, and it would sit on the CPU that
 * runs migrate_vma_*, while the CPU of the copy engine waits.  So the pages
 * of the next batch are allocated by a worker on another CPU while the
 * current batch is set up, copied and committed.  It fills the stock a
 * chunk at a time, and a CPU that comes to take pages while it is still
 * at work fills the chunks it has not claimed beside it: the worker's
 * CPU may be busy, or, in a virtual machine, not running at all while the
 * host runs other work.
 */
#include <linux/cpumask.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/workqueue.h>
#include "gm_internal.h"

/* Slots of the stock filled at a time, and how many such chunks it has. */
#define GM_HOST_STOCK_CHUNK	64
#define GM_HOST_STOCK_CHUNKS	(GM_BATCH_PAGES / GM_HOST_STOCK_CHUNK)
static_assert(GM_BATCH_PAGES % GM_HOST_STOCK_CHUNK == 0);

/* Fill the chunks of the stock that nobody has claimed yet. */
static void gm_host_stock_fill_chunks(struct gm_host_stock *stock)
{
	int c;

	while ((c = atomic_inc_return(&stock->next_chunk) - 1) <
	       GM_HOST_STOCK_CHUNKS)
		/* Fills the NULL slots only: what is left over stays. */
		gm_host_pages_bulk(stock->nid,
				   &stock->pages[c * GM_HOST_STOCK_CHUNK],
				   GM_HOST_STOCK_CHUNK);
}

static void gm_host_stock_fill(struct work_struct *work)
{
	gm_host_stock_fill_chunks(container_of(work, struct gm_host_stock,
					       refill));
}

/* In the migrating task, whose node the pages are allocated on. */
void gm_host_stock_init(struct gm_host_stock *stock)
{
	memset(stock->pages, 0, sizeof(stock->pages));
	stock->nid = numa_node_id();
	atomic_set(&stock->next_chunk, GM_HOST_STOCK_CHUNKS);
	INIT_WORK(&stock->refill, gm_host_stock_fill);
}

/* Start refilling the stock, on another CPU than this one if there is one. */
void gm_host_stock_refill(struct gm_host_stock *stock)
{
	int cpu = cpumask_next(raw_smp_processor_id(), cpu_online_mask);

	if (cpu >= nr_cpu_ids)
		cpu = cpumask_first(cpu_online_mask);
	atomic_set(&stock->next_chunk, 0);
	queue_work_on(cpu, gm_system_percpu_wq, &stock->refill);
}

/*
 * Move up to @n pages into @pages (which need not be zeroed), finishing a
 * refill in progress with its worker and allocating here what the stock
 * lacks.  Returns the number of pages stored; fewer than @n only if memory
 * is short.
 *
 * A refill that has not started is not waited for, nor one that has for
 * longer than the chunk in its hands: this CPU, which would otherwise sleep
 * until the worker's CPU runs, allocates the pages itself.
 */
unsigned long gm_host_stock_take(struct gm_host_stock *stock,
				 struct page **pages, unsigned long n)
{
	unsigned long got = 0, i;

	if (cancel_work(&stock->refill)) {
		/* Not started: nobody fills the stock until the next refill. */
		atomic_set(&stock->next_chunk, GM_HOST_STOCK_CHUNKS);
	} else {
		gm_host_stock_fill_chunks(stock);
		flush_work(&stock->refill);
	}
	for (i = 0; i < GM_BATCH_PAGES && got < n; i++) {
		if (!stock->pages[i])
			continue;
		pages[got++] = stock->pages[i];
		stock->pages[i] = NULL;
	}
	if (got < n) {
		memset(&pages[got], 0, (n - got) * sizeof(*pages));
		got += gm_host_pages_bulk(stock->nid, &pages[got], n - got);
	}
	return got;
}

/* Stop the refill and give back whatever was not used. */
void gm_host_stock_drain(struct gm_host_stock *stock)
{
	unsigned long i;

	cancel_work_sync(&stock->refill);
	for (i = 0; i < GM_BATCH_PAGES; i++) {
		if (stock->pages[i])
			put_page(stock->pages[i]);
		stock->pages[i] = NULL;
	}
}
