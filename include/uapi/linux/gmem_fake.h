/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Ioctl ABI of the gmem fake accelerator (gmem_fake.ko), /dev/gmem_fakeN.
 *
 * Every command takes a fixed-size struct of __u32/__u64 fields; user
 * addresses travel as __u64.  Reserved fields and unknown flags must be
 * zero (-EINVAL otherwise).  A command whose encoded size does not match the
 * struct below is unknown (-ENOTTY).
 *
 * Errors, by command.  Every command that uses the attachment also fails
 * with -ENOTCONN if the fd has not attached an address space (ATTACH first)
 * and -EACCES if the caller's mm is not the one attached through this fd
 * (fd inherited over fork or passed over a socket); every command fails
 * with -EFAULT if its argument pointer is bad, with -ENOTTY if unknown,
 * and with -ENODEV once the device was removed under the open fd (its PCI
 * device hot-unplugged or removed through sysfs): the pages it held are
 * back in host RAM, and the fd is good only for close().
 *
 * INFO      nothing else.
 * ATTACH    -EBUSY this fd, or another fd of the same device, already
 *           attached the process; -ENODEV the device is going away;
 *           -ESRCH the process is exiting; -ENOMEM.
 * DETACH    nothing else.
 * MIGRATE   -EINVAL addr or length not page aligned, length zero, flags
 *           set; -EOVERFLOW addr + length wraps or ends above the user
 *           address space; -EFAULT part of the range is not mapped;
 *           -EOPNOTSUPP part of the range is a shared, hugetlb, DAX or
 *           special mapping (MAP_SHARED, hugetlbfs, VM_IO, VM_PFNMAP,
 *           VM_MIXEDMAP, VM_DONTEXPAND such as the vDSO), refused before
 *           any page moves; -ENOSPC the range is larger than the whole
 *           device memory; -ENODEV dest names no device; -ENXIO dest names
 *           a device this process has not attached; -ESRCH the process
 *           exited; -EINTR a fatal signal; -ENOMEM.  Pages that cannot
 *           move are not an error: see struct gmem_fake_migrate.
 * QUERY     -EINVAL npages zero or above GMEM_FAKE_QUERY_MAX, addr not
 *           page aligned; -EOVERFLOW the range wraps or leaves the user
 *           address space; -EFAULT locs is bad; -EBUSY the range kept
 *           changing while gmem checked it against the CPU page table;
 *           -ENOMEM.
 * DEV_READ, DEV_WRITE  (device loads and stores, through the device's MMU
 *           and TLB; a miss is a device fault that gmem resolves with
 *           gm_dev_fault())
 *           -EINVAL length zero or above GMEM_FAKE_ACCESS_MAX, flags set;
 *           -EFAULT part of the range is not mapped in the process, or buf
 *           is bad; -EPERM a store to memory the process may not write;
 *           -EBUSY the range kept being invalidated under the access (by
 *           other threads, on every one of many attempts); -ESRCH the
 *           process exited; -ENOMEM.
 * MMU_STATS nothing else.
 * UNMAP     -EINVAL bad nr, flags set, a range unaligned or empty;
 *           -EOVERFLOW a range wraps or leaves the user address space;
 *           -EFAULT ranges is bad; -ENOMEM.
 * PREFETCH  -EINVAL addr or length not page aligned, length zero, unknown
 *           flags or both placements; -EOVERFLOW the range wraps or leaves
 *           the user address space; -EFAULT part of the range is not
 *           mapped; -EPERM GMEM_FAKE_PREFETCH_WRITE on memory the process
 *           may not write; -EBUSY the range kept being invalidated; -ESRCH
 *           the process exited; -ENOMEM, also for GMEM_FAKE_PREFETCH_DEVICE
 *           when a page could not move into device memory.
 *
 * Which pages a migration moves: into device memory, only pages that the
 * process maps alone.  A page it shares copy-on-write with a parent or
 * child after fork(), or that KSM merged with another, stays in host RAM
 * (moving it would move another process's memory); so does locked memory
 * (mlock(), MAP_LOCKED), as mlock asks.  Back to host RAM, every device
 * page of the range moves, shared or not.
 */
#ifndef _UAPI_LINUX_GMEM_FAKE_H
#define _UAPI_LINUX_GMEM_FAKE_H

#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/gmem.h>

#define GMEM_FAKE_IOC_MAGIC		'g'

/**
 * struct gmem_fake_info - static and running figures of one fake device
 * @abi_version: GMEM_ABI_VERSION of the module answering
 * @index: N of /dev/gmem_fakeN
 * @gm_dev_id: the gmem device id, as found in GMEM_LOC_DEV(id)
 * @flags: GMEM_FAKE_INFO_* of how the device is built
 * @devmem_phys: physical base of the device memory (0 without CAP_SYS_ADMIN)
 * @devmem_size: size of the device memory in bytes
 * @total_pages: device pages
 * @free_pages: device pages the allocator can hand out now
 * @used_pages: device pages holding data (mapped or in flight)
 * @to_dev_pages: pages migrated host -> device since load
 * @to_host_pages: pages migrated device -> host since load
 * @evicted_pages: pages evicted to host when device memory was torn down
 * @copy_batches: copy requests completed by the engine
 * @copy_errors: copy requests that completed with an error
 * @iova_pages: host pages the device reached through a DMA address that
 *	its IOMMU translated to a different physical address
 */
struct gmem_fake_info {
	__u32 abi_version;
	__u32 index;
	__u32 gm_dev_id;
	__u32 flags;
	__u64 devmem_phys;
	__u64 devmem_size;
	__u64 total_pages;
	__u64 free_pages;
	__u64 used_pages;
	__u64 to_dev_pages;
	__u64 to_host_pages;
	__u64 evicted_pages;
	__u64 copy_batches;
	__u64 copy_errors;
	__u64 iova_pages;
};

/* The device is a PCI device whose BAR2 holds its memory. */
#define GMEM_FAKE_INFO_PCI		(1u << 0)
/* An IOMMU translates its DMA addresses (they are IOVAs). */
#define GMEM_FAKE_INFO_IOMMU		(1u << 1)

/* Destination meaning host RAM in struct gmem_fake_migrate. */
#define GMEM_FAKE_DEST_HOST		0xffffffffu

/**
 * struct gmem_fake_migrate - move a virtual range of the caller
 * @addr: page-aligned start
 * @length: page-aligned length in bytes, not zero
 * @dest: fake device index, or GMEM_FAKE_DEST_HOST
 * @flags: must be zero
 * @moved: out: pages that moved to @dest
 * @not_moved: out: pages of the range that stayed where they were (busy,
 *	pinned, on another device, shared with another process, locked, in a
 *	huge page the kernel cannot split, swapped out and not brought back
 *	in, or device memory exhausted); their data is intact and readable
 *	where it was
 *
 * Pages already at @dest count in neither field: for a range nobody else
 * changes meanwhile, @moved, @not_moved and the pages already at @dest add
 * up to the whole range, however the call ended.  A partial move is not an
 * error: the call returns 0 and @not_moved says how much stayed.
 */
struct gmem_fake_migrate {
	__u64 addr;
	__u64 length;
	__u32 dest;
	__u32 flags;
	__u64 moved;
	__u64 not_moved;
};

/**
 * struct gmem_fake_query - where do pages live, per gmem's logical page table
 * @addr: page-aligned start
 * @npages: number of pages, 1..GMEM_FAKE_QUERY_MAX
 * @locs: user pointer to @npages bytes, filled with GMEM_LOC_* codes
 */
struct gmem_fake_query {
	__u64 addr;
	__u64 npages;
	__u64 locs;
};

#define GMEM_FAKE_QUERY_MAX		(1u << 20)

/**
 * struct gmem_fake_access - a load or store by the device
 * @addr: first byte, any alignment
 * @length: bytes, 1..GMEM_FAKE_ACCESS_MAX
 * @buf: user pointer: where a load puts the data, where a store takes it
 * @flags: must be zero
 * @faults: out: device faults the access raised
 */
struct gmem_fake_access {
	__u64 addr;
	__u64 length;
	__u64 buf;
	__u32 flags;
	__u32 faults;
};

#define GMEM_FAKE_ACCESS_MAX		(64u << 20)

/**
 * struct gmem_fake_mmu_stats - the device MMU of this fd's attachment
 * @faults: device faults raised by loads and stores
 * @invalidations: invalidations of the CPU page table that reached the
 *	device (each one releases or write-protects a range and flushes the TLB)
 * @tlb_flushes: TLB flush requests received
 * @tlb_hits: translations found in the TLB
 * @tlb_misses: translations walked in the device page table
 * @mapped_pages: pages mapped in the device page table now
 * @huge_mappings: 2 MiB mappings among them (each counts 512 pages above)
 * @notifiers: gmem's interval notifiers for this attachment now, one per
 *	2 MiB of address space the device faulted on
 * @notifiers_created: notifiers inserted since attach
 * @fault_retries: times a device fault read the CPU page table again
 *	because an invalidation of its range ran meanwhile (see
 *	struct gm_ctx_stats for 7.x kernels)
 * @fast_faults: device faults (per 2 MiB piece) that found every page
 *	still mapped, with no CPU page table walk
 *
 * The last four are struct gm_ctx_stats of include/gmem/gmem.h.
 */
struct gmem_fake_mmu_stats {
	__u64 faults;
	__u64 invalidations;
	__u64 tlb_flushes;
	__u64 tlb_hits;
	__u64 tlb_misses;
	__u64 mapped_pages;
	__u64 huge_mappings;
	__u64 notifiers;
	__u64 notifiers_created;
	__u64 fault_retries;
	__u64 fast_faults;
};

/**
 * struct gmem_fake_range - a virtual range, for GMEM_FAKE_IOC_UNMAP
 * @addr: page-aligned start
 * @length: page-aligned length in bytes, not zero
 */
struct gmem_fake_range {
	__u64 addr;
	__u64 length;
};

/**
 * struct gmem_fake_unmap - drop device mappings, with one TLB flush
 * @ranges: user pointer to @nr struct gmem_fake_range
 * @nr: 1..GMEM_FAKE_UNMAP_MAX
 * @flags: must be zero
 *
 * Errors: -EINVAL for a bad @nr, @flags or an unaligned or empty range,
 * -EOVERFLOW for a range that wraps or ends above the user address space,
 * -EFAULT for a bad @ranges, and the attachment errors above.
 */
struct gmem_fake_unmap {
	__u64 ranges;
	__u32 nr;
	__u32 flags;
};

#define GMEM_FAKE_UNMAP_MAX		64

/**
 * struct gmem_fake_prefetch - map a range into the device before it runs
 * @addr: page-aligned start
 * @length: page-aligned length in bytes, not zero
 * @flags: GMEM_FAKE_PREFETCH_WRITE to map it writable (breaking
 *	copy-on-write, as a device store would); where the pages go:
 *	GMEM_FAKE_PREFETCH_IN_PLACE (nowhere: mapped where they are) or
 *	GMEM_FAKE_PREFETCH_DEVICE (all into this device's memory, -ENOMEM
 *	if one cannot move), not both; neither is the device's own policy
 *	(first touch, or in place for /dev/hmm_dmirrorN)
 * @reserved: zero
 *
 * The device faults the range in as gm_dev_fault() does, without loading
 * or storing anything.
 */
struct gmem_fake_prefetch {
	__u64 addr;
	__u64 length;
	__u32 flags;
	__u32 reserved;
};

#define GMEM_FAKE_PREFETCH_WRITE	0x1
#define GMEM_FAKE_PREFETCH_IN_PLACE	0x2
#define GMEM_FAKE_PREFETCH_DEVICE	0x4
#define GMEM_FAKE_PREFETCH_FLAGS	0x7

/* Fill struct gmem_fake_info. */
#define GMEM_FAKE_IOC_INFO	_IOR(GMEM_FAKE_IOC_MAGIC, 0x90, struct gmem_fake_info)
/* Attach the caller's address space to this device (-EBUSY if already attached). */
#define GMEM_FAKE_IOC_ATTACH	_IO(GMEM_FAKE_IOC_MAGIC, 0x91)
/* Detach it again (-ENOTCONN if not attached); closing the fd also detaches. */
#define GMEM_FAKE_IOC_DETACH	_IO(GMEM_FAKE_IOC_MAGIC, 0x92)
/* Migrate a range to a device or to host RAM. */
#define GMEM_FAKE_IOC_MIGRATE	_IOWR(GMEM_FAKE_IOC_MAGIC, 0x93, struct gmem_fake_migrate)
/* Read the logical page table for a range. */
#define GMEM_FAKE_IOC_QUERY	_IOW(GMEM_FAKE_IOC_MAGIC, 0x94, struct gmem_fake_query)
/* The device loads from the attached address space. */
#define GMEM_FAKE_IOC_DEV_READ	_IOWR(GMEM_FAKE_IOC_MAGIC, 0x95, struct gmem_fake_access)
/* The device stores into the attached address space. */
#define GMEM_FAKE_IOC_DEV_WRITE	_IOWR(GMEM_FAKE_IOC_MAGIC, 0x96, struct gmem_fake_access)
/* Read the figures of the device MMU of this attachment. */
#define GMEM_FAKE_IOC_MMU_STATS	_IOR(GMEM_FAKE_IOC_MAGIC, 0x97, struct gmem_fake_mmu_stats)
/* The device drops its mappings of some ranges (they fault back in later). */
#define GMEM_FAKE_IOC_UNMAP	_IOW(GMEM_FAKE_IOC_MAGIC, 0x98, struct gmem_fake_unmap)
/* Fault a range into the device's page table without accessing it. */
#define GMEM_FAKE_IOC_PREFETCH	_IOW(GMEM_FAKE_IOC_MAGIC, 0x99, struct gmem_fake_prefetch)

#endif /* _UAPI_LINUX_GMEM_FAKE_H */
