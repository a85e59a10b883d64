// SPDX-License-Identifier: GPL-2.0
/*
 * WQ_PERCPU (v6.17, "workqueue: Add new WQ_PERCPU flag"; Debian's 6.12 has
 * it backported): from v7.x, alloc_workqueue() warns when a caller names
 * neither WQ_PERCPU nor WQ_UNBOUND.
 */
#include <linux/workqueue.h>

unsigned int gm_probe_wq_percpu(void);
unsigned int gm_probe_wq_percpu(void)
{
	return WQ_PERCPU;
}
