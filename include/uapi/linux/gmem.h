/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * gmem user ABI shared by every gmem device driver.
 *
 * The location codes below are what a "where does this page live" query
 * returns, whichever driver answers it.  They are one byte wide so that the
 * kernel's logical page table and user space speak the same encoding.
 */
#ifndef _UAPI_LINUX_GMEM_H
#define _UAPI_LINUX_GMEM_H

#include <linux/types.h>

/* Version of the ABI in this directory; bumped on any incompatible change. */
#define GMEM_ABI_VERSION		3

/* gmem has no record of the page: never migrated by gmem, or the CPU took it back. */
#define GMEM_LOC_NONE			0
/* gmem placed the page in host (system) RAM. */
#define GMEM_LOC_HOST			1
/* The page lives in the memory of the gmem device with id @id (1..125). */
#define GMEM_LOC_DEV_BASE		2
#define GMEM_LOC_DEV(id)		(GMEM_LOC_DEV_BASE + (id))
#define GMEM_LOC_IS_DEV(loc)		((loc) >= GMEM_LOC_DEV_BASE)
#define GMEM_LOC_DEV_ID(loc)		((loc) - GMEM_LOC_DEV_BASE)
/* Codes stay below 0x80: the kernel keeps a flag of its own in the top bit. */
#define GMEM_MAX_DEV_ID			125

#endif /* _UAPI_LINUX_GMEM_H */
