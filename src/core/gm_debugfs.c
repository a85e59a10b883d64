// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection for tests, in debugfs (/sys/kernel/debug/gmem/): stock
 * kernels have no CONFIG_FAULT_INJECTION, and a memory manager has to be
 * shown to lose nothing when its allocations fail.
 *
 *   fail_devmem_alloc_percent  share of device page allocations that fail
 *                              as if device memory were exhausted (0-100)
 *   devmem_alloc_injected      how many did
 */
#include <linux/debugfs.h>
#include <linux/random.h>
#include "gm_internal.h"

static struct dentry *gm_debugfs_dir;
static u32 gm_fail_devmem_alloc_percent;
static atomic_t gm_devmem_alloc_injected = ATOMIC_INIT(0);

/* Should this device page allocation fail? */
bool gm_inject_devmem_alloc_failure(void)
{
	u32 percent = READ_ONCE(gm_fail_devmem_alloc_percent);

	if (!percent || get_random_u32() % 100 >= percent)
		return false;
	atomic_inc(&gm_devmem_alloc_injected);
	return true;
}

void gm_debugfs_init(void)
{
	gm_debugfs_dir = debugfs_create_dir("gmem", NULL);
	debugfs_create_u32("fail_devmem_alloc_percent", 0600, gm_debugfs_dir,
			   &gm_fail_devmem_alloc_percent);
	debugfs_create_atomic_t("devmem_alloc_injected", 0400, gm_debugfs_dir,
				&gm_devmem_alloc_injected);
}

void gm_debugfs_exit(void)
{
	debugfs_remove_recursive(gm_debugfs_dir);
}
