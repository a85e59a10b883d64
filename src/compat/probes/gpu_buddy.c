// SPDX-License-Identifier: GPL-2.0
/*
 * The buddy allocator moved out of DRM as gpu_buddy (linux/gpu_buddy.h,
 * exported from vmlinux); Debian backported it to its 6.12 kernels.
 * Older kernels only have drm_buddy (drm_buddy.ko, drm/drm_buddy.h).
 */
#include <linux/gpu_buddy.h>

int gm_probe_gpu_buddy(struct gpu_buddy *mm);
int gm_probe_gpu_buddy(struct gpu_buddy *mm)
{
	return gpu_buddy_init(mm, 1ULL << 21, 4096);
}
