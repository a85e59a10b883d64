// SPDX-License-Identifier: GPL-2.0
/*
 * Un-addressable device memory (MEMORY_DEVICE_PRIVATE) only works where the
 * kernel was built with CONFIG_DEVICE_PRIVATE: memremap_pages() refuses it
 * otherwise.  Debian's stock kernels leave it off.
 */
#include <linux/ioport.h>
#include <linux/memremap.h>

#ifndef CONFIG_DEVICE_PRIVATE
#error "no CONFIG_DEVICE_PRIVATE"
#endif

struct resource *gm_probe_device_private(unsigned long size);
struct resource *gm_probe_device_private(unsigned long size)
{
	return request_free_mem_region(&iomem_resource, size, "probe");
}
