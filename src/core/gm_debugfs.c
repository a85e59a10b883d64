// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection for tests, in debugfs (/sys/kernel/debug/gmem/): stock
 * kernels have no CONFIG_FAULT_INJECTION, and a memory manager has to be
 * shown to lose nothing when its allocations fail.
 *
 *   fail_devmem_alloc_percent  share of device page allocations that fail
 *                              as if device memory were exhausted (0-100)
 *   devmem_alloc_injected      how many did
 *   invalidate_delay_us        after an invalidation released a context's
 *                              device mappings, it waits this long before
 *                              going on (where it may sleep)
 *   fault_delay_us             a device fault waits this long between its
 *                              read of the CPU page table and the mapping
 *                              lock
 * The two delays make the races between the notifiers of one invalidation
 * and the faults and migrations in flight wide enough for a test to hit.
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/random.h>
#include "gm_internal.h"

static struct dentry *gm_debugfs_dir;
static u32 gm_fail_devmem_alloc_percent;
static atomic_t gm_devmem_alloc_injected = ATOMIC_INIT(0);
static u32 gm_invalidate_delay_us;
static u32 gm_fault_delay_us;

/* Should this device page allocation fail? */
bool gm_inject_devmem_alloc_failure(void)
{
	u32 percent = READ_ONCE(gm_fail_devmem_alloc_percent);

	if (!percent || get_random_u32() % 100 >= percent)
		return false;
	atomic_inc(&gm_devmem_alloc_injected);
	return true;
}

static void gm_inject_delay(const u32 *knob)
{
	u32 us = READ_ONCE(*knob);

	if (us)
		fsleep(us);
}

/* Widen the window after an invalidation's device release; may sleep. */
void gm_inject_invalidate_delay(void)
{
	gm_inject_delay(&gm_invalidate_delay_us);
}

/* Widen the window between a fault's snapshot and its lock; may sleep. */
void gm_inject_fault_delay(void)
{
	gm_inject_delay(&gm_fault_delay_us);
}

void gm_debugfs_init(void)
{
	gm_debugfs_dir = debugfs_create_dir("gmem", NULL);
	debugfs_create_u32("fail_devmem_alloc_percent", 0600, gm_debugfs_dir,
			   &gm_fail_devmem_alloc_percent);
	debugfs_create_atomic_t("devmem_alloc_injected", 0400, gm_debugfs_dir,
				&gm_devmem_alloc_injected);
	debugfs_create_u32("invalidate_delay_us", 0600, gm_debugfs_dir,
			   &gm_invalidate_delay_us);
	debugfs_create_u32("fault_delay_us", 0600, gm_debugfs_dir,
			   &gm_fault_delay_us);
}

void gm_debugfs_exit(void)
{
	debugfs_remove_recursive(gm_debugfs_dir);
}
