// SPDX-License-Identifier: GPL-2.0
/*
 * hmm_range_fault_unlocked_timeout() (7.x, "mm/hmm: add
 * hmm_range_fault_unlocked_timeout() for mmap lock-drop support"): faults
 * a range without the caller holding the mmap lock, so that faults that
 * drop it (userfaultfd, a lock-dropping swap-in) complete instead of
 * failing.
 */
#include <linux/hmm.h>

int gm_probe_hmm_range_fault_unlocked(struct hmm_range *range);
int gm_probe_hmm_range_fault_unlocked(struct hmm_range *range)
{
	return hmm_range_fault_unlocked_timeout(range, 0);
}
