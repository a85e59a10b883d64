// SPDX-License-Identifier: GPL-2.0
/*
 * gmem.ko: a shared memory manager for accelerators on stock kernels.
 */
#include <linux/module.h>
#include "gm_internal.h"

static int __init gm_init(void)
{
	int err;

	err = gm_devs_init();
	if (err)
		return err;
	pr_info("gmem: ABI %d, %s buddy allocator\n", GMEM_ABI_VERSION,
		GM_BUDDY_NAME);
	gm_debugfs_init();
	return 0;
}

static void __exit gm_exit(void)
{
	gm_debugfs_exit();
	gm_as_exit();
	gm_devs_exit();
}

module_init(gm_init);
module_exit(gm_exit);

MODULE_DESCRIPTION("gmem: shared memory manager for accelerators");
MODULE_LICENSE("GPL");
