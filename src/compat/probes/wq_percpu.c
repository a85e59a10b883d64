// SPDX-License-Identifier: GPL-2.0
/*
 * WQ_PERCPU and system_percpu_wq (v6.17, "workqueue: Add new WQ_PERCPU
 * flag", "workqueue: Add system_percpu_wq and system_dfl_wq"; Debian's 6.12
 * has them backported): from v7.x, alloc_workqueue() warns when a caller
 * names neither WQ_PERCPU nor WQ_UNBOUND, and system_wq is deprecated.
 */
#include <linux/workqueue.h>

struct workqueue_struct *gm_probe_wq_percpu(unsigned int *flags);
struct workqueue_struct *gm_probe_wq_percpu(unsigned int *flags)
{
	*flags = WQ_PERCPU;
	return system_percpu_wq;
}
