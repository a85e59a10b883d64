/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the gmem_fake tests and the demo: device access, ioctl
 * wrappers, /proc/self/pagemap lookups, data patterns, module load/unload.
 *
 * Everything returns 0 (or a count) on success and -errno on failure, so
 * that the harness-free demo can use it too; tests ASSERT on the result.
 */
#ifndef GMEM_TEST_UTIL_H
#define GMEM_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/gmem.h>
#include <linux/gmem_fake.h>

#define GM_PAGE_SIZE		4096UL
#define GM_PAGE_SHIFT		12
#define GM_MIB			(1024UL * 1024)
/* A transparent huge page, and the piece of address space one gmem notifier watches. */
#define GM_THP_SIZE		(2 * GM_MIB)
#define GM_NR_DEVS		2
#define GM_DEVMEM_SIZE		(256 * GM_MIB)	/* per device, set by the VM harness */
#define GM_WORDS_PER_PAGE	(GM_PAGE_SIZE / sizeof(uint64_t))

#define GM_PM_PFN_MASK		((1ULL << 55) - 1)
#define GM_PM_PRESENT		(1ULL << 63)
#define GM_PM_SWAP		(1ULL << 62)

/* ------------------------------------------------------------------ */
/* Device access                                                       */

static inline int gm_open(unsigned int index)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/dev/gmem_fake%u", index);
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static inline int gm_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static inline int gm_info(int fd, struct gmem_fake_info *info)
{
	memset(info, 0, sizeof(*info));
	return gm_ioctl(fd, GMEM_FAKE_IOC_INFO, info);
}

static inline int gm_attach(int fd)
{
	return gm_ioctl(fd, GMEM_FAKE_IOC_ATTACH, NULL);
}

static inline int gm_detach(int fd)
{
	return gm_ioctl(fd, GMEM_FAKE_IOC_DETACH, NULL);
}

/* Migrate [addr, addr + len) to @dest; @m receives moved/not_moved. */
static inline int gm_migrate(int fd, void *addr, size_t len, __u32 dest,
			     struct gmem_fake_migrate *m)
{
	memset(m, 0, sizeof(*m));
	m->addr = (uintptr_t)addr;
	m->length = len;
	m->dest = dest;
	return gm_ioctl(fd, GMEM_FAKE_IOC_MIGRATE, m);
}

static inline int gm_query(int fd, void *addr, size_t npages, uint8_t *locs)
{
	struct gmem_fake_query q = {
		.addr = (uintptr_t)addr,
		.npages = npages,
		.locs = (uintptr_t)locs,
	};

	return gm_ioctl(fd, GMEM_FAKE_IOC_QUERY, &q);
}

/* The device loads (@write false) or stores @len bytes at @addr via @buf. */
static inline int gm_dev_access(int fd, void *addr, size_t len, void *buf,
				bool write, unsigned int *faults)
{
	struct gmem_fake_access a = {
		.addr = (uintptr_t)addr,
		.length = len,
		.buf = (uintptr_t)buf,
	};
	int ret;

	ret = gm_ioctl(fd, write ? GMEM_FAKE_IOC_DEV_WRITE : GMEM_FAKE_IOC_DEV_READ, &a);
	if (faults)
		*faults = a.faults;
	return ret;
}

static inline int gm_mmu_stats(int fd, struct gmem_fake_mmu_stats *st)
{
	memset(st, 0, sizeof(*st));
	return gm_ioctl(fd, GMEM_FAKE_IOC_MMU_STATS, st);
}

/* The device maps [@addr, +@len) ahead of use (GMEM_FAKE_IOC_PREFETCH). */
static inline int gm_prefetch(int fd, void *addr, size_t len, bool write)
{
	struct gmem_fake_prefetch p = {
		.addr = (uintptr_t)addr,
		.length = len,
		.flags = write ? GMEM_FAKE_PREFETCH_WRITE : 0,
	};

	return gm_ioctl(fd, GMEM_FAKE_IOC_PREFETCH, &p);
}

/* The device drops its mappings of [@addr, +@len) (GMEM_FAKE_IOC_UNMAP). */
static inline int gm_dev_unmap(int fd, void *addr, size_t len)
{
	struct gmem_fake_range r = { .addr = (uintptr_t)addr, .length = len };
	struct gmem_fake_unmap u = { .ranges = (uintptr_t)&r, .nr = 1 };

	return gm_ioctl(fd, GMEM_FAKE_IOC_UNMAP, &u);
}

/* Number of pages in the range whose location is @loc, or -errno. */
static inline long gm_query_count(int fd, void *addr, size_t npages, uint8_t loc)
{
	uint8_t *locs = malloc(npages);
	long n = 0;
	size_t i;
	int ret;

	if (!locs)
		return -ENOMEM;
	memset(locs, 0xee, npages);
	ret = gm_query(fd, addr, npages, locs);
	for (i = 0; !ret && i < npages; i++)
		n += locs[i] == loc;
	free(locs);
	return ret ? ret : n;
}

/* Poll INFO until the device holds no pages (free == total, used == 0). */
static inline int gm_wait_idle(int fd, struct gmem_fake_info *info, int timeout_ms)
{
	int ret;

	for (;;) {
		ret = gm_info(fd, info);
		if (ret)
			return ret;
		if (info->free_pages == info->total_pages && !info->used_pages)
			return 0;
		if (timeout_ms <= 0)
			return -ETIMEDOUT;
		usleep(10000);
		timeout_ms -= 10;
	}
}

/* Both devices, opened (and optionally attached) with their idle INFO. */
struct gm_devs {
	int fd[GM_NR_DEVS];
	struct gmem_fake_info info[GM_NR_DEVS];
};

static inline void gm_devs_close(struct gm_devs *d)
{
	int i;

	for (i = 0; i < GM_NR_DEVS; i++) {
		if (d->fd[i] >= 0)
			close(d->fd[i]);
		d->fd[i] = -1;
	}
}

/*
 * Open both devices, check they are idle (every earlier test cleaned up),
 * attach the ones in the @attach bit mask.  On failure @why says what.
 */
static inline int gm_devs_open(struct gm_devs *d, unsigned int attach,
			       char *why, size_t whylen)
{
	int i, ret;

	for (i = 0; i < GM_NR_DEVS; i++)
		d->fd[i] = -1;
	for (i = 0; i < GM_NR_DEVS; i++) {
		ret = gm_open(i);
		if (ret < 0) {
			snprintf(why, whylen, "open /dev/gmem_fake%d: %s", i,
				 strerror(-ret));
			goto fail;
		}
		d->fd[i] = ret;
		ret = gm_wait_idle(d->fd[i], &d->info[i], 2000);
		if (ret) {
			snprintf(why, whylen,
				 "device %d not idle at test start (%s): "
				 "free %llu total %llu used %llu",
				 i, strerror(-ret),
				 (unsigned long long)d->info[i].free_pages,
				 (unsigned long long)d->info[i].total_pages,
				 (unsigned long long)d->info[i].used_pages);
			goto fail;
		}
		if (!(attach & (1u << i)))
			continue;
		ret = gm_attach(d->fd[i]);
		if (ret) {
			snprintf(why, whylen, "ATTACH device %d: %s", i,
				 strerror(-ret));
			goto fail;
		}
	}
	return 0;
fail:
	gm_devs_close(d);
	return ret ? ret : -EIO;
}

/* ------------------------------------------------------------------ */
/* Memory                                                              */

static inline void *gm_map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* @len bytes of anonymous memory at an address aligned to @align, a power of 2. */
static inline void *gm_map_aligned(size_t len, size_t align, void **base,
				   size_t *base_len)
{
	char *p = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a;

	if (p == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	if (a > p)
		munmap(p, a - p);
	if (a + len < p + len + align)
		munmap(a + len, p + len + align - (a + len));
	*base = a;
	*base_len = len;
	return a;
}

static inline size_t gm_pages(size_t len)
{
	return len / GM_PAGE_SIZE;
}

static inline void *gm_page_addr(void *buf, size_t page)
{
	return (char *)buf + page * GM_PAGE_SIZE;
}

/*
 * Per-page-distinct pattern: every 8-byte word depends on the seed, the
 * page index (relative to the buffer) and the word index, never zero.
 */
static inline uint64_t gm_pat(uint64_t seed, size_t page, size_t word)
{
	return ((seed + 1) * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)page << 24) ^
	       (word << 1) ^ 1;
}

static inline void gm_fill(void *buf, size_t first, size_t count, uint64_t seed)
{
	size_t pg, w;

	for (pg = first; pg < first + count; pg++) {
		uint64_t *p = gm_page_addr(buf, pg);

		for (w = 0; w < GM_WORDS_PER_PAGE; w++)
			p[w] = gm_pat(seed, pg, w);
	}
}

/* First page of [first, first + count) not holding the pattern, or -1. */
static inline long gm_check(const void *buf, size_t first, size_t count,
			    uint64_t seed)
{
	size_t pg, w;

	for (pg = first; pg < first + count; pg++) {
		const uint64_t *p = gm_page_addr((void *)buf, pg);

		for (w = 0; w < GM_WORDS_PER_PAGE; w++)
			if (p[w] != gm_pat(seed, pg, w))
				return pg;
	}
	return -1;
}

/* First page of [first, first + count) with a nonzero byte, or -1. */
static inline long gm_check_zero(const void *buf, size_t first, size_t count)
{
	size_t pg, w;

	for (pg = first; pg < first + count; pg++) {
		const uint64_t *p = gm_page_addr((void *)buf, pg);

		for (w = 0; w < GM_WORDS_PER_PAGE; w++)
			if (p[w])
				return pg;
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* /proc/self/pagemap (PFNs need CAP_SYS_ADMIN: the tests run as root)  */

/* Read the raw pagemap entries of @npages pages starting at @addr. */
static inline int gm_pagemap_read(void *addr, size_t npages, uint64_t *ent)
{
	off_t off = ((uintptr_t)addr >> GM_PAGE_SHIFT) * sizeof(uint64_t);
	size_t want = npages * sizeof(uint64_t), done = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	while (done < want) {
		ssize_t n = pread(fd, (char *)ent + done, want - done, off + done);

		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		done += n;
	}
	close(fd);
	return ret;
}

struct gm_pfns {
	size_t present;		/* pages with the present bit */
	size_t in_dev;		/* present pages whose PFN is in the device range */
	uint64_t first_pfn;	/* PFN of the first present page */
};

/* The AnonHugePages of the mapping holding @addr, in KiB, or -1. */
static inline long gm_anon_huge_kib(void *addr)
{
	unsigned long start, end, a = (uintptr_t)addr;
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[256];
	long kib = -1;
	bool in = false;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			in = start <= a && a < end;
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

/* Is a swap device on (zram, where the kernel has it: scripts/vm-run.sh)? */
static inline bool gm_swap_active(void)
{
	char line[256];
	FILE *f = fopen("/proc/swaps", "r");
	int lines = 0;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		lines++;
	fclose(f);
	return lines > 1;
}

/* Is the 2 MiB at @p backed by one transparent huge page? */
static inline bool gm_is_thp(void *p)
{
	uint64_t ent[2];

	/* The pfns of its first and last page are 511 apart. */
	if (gm_pagemap_read(p, 1, &ent[0]) ||
	    gm_pagemap_read((char *)p + GM_THP_SIZE - GM_PAGE_SIZE, 1, &ent[1]))
		return false;
	return (ent[0] & GM_PM_PRESENT) && (ent[1] & GM_PM_PRESENT) &&
	       (ent[1] & GM_PM_PFN_MASK) - (ent[0] & GM_PM_PFN_MASK) == 511 &&
	       !((ent[0] & GM_PM_PFN_MASK) & 511);
}

/*
 * Count the present pages of the range and those inside the physical range
 * [phys, phys + size).  -EPERM if a present page reads PFN 0 (not root).
 */
static inline int gm_pfns(void *addr, size_t npages, uint64_t phys,
			  uint64_t size, struct gm_pfns *st)
{
	uint64_t lo = phys >> GM_PAGE_SHIFT, hi = (phys + size) >> GM_PAGE_SHIFT;
	uint64_t *ent = malloc(npages * sizeof(*ent));
	size_t i;
	int ret;

	memset(st, 0, sizeof(*st));
	if (!ent)
		return -ENOMEM;
	ret = gm_pagemap_read(addr, npages, ent);
	for (i = 0; !ret && i < npages; i++) {
		uint64_t pfn = ent[i] & GM_PM_PFN_MASK;

		if (!(ent[i] & GM_PM_PRESENT))
			continue;
		if (!pfn)
			ret = -EPERM;
		if (!st->present++)
			st->first_pfn = pfn;
		st->in_dev += pfn >= lo && pfn < hi;
	}
	free(ent);
	return ret;
}

/* Same, against the device memory described by @info. */
static inline int gm_pfns_dev(void *addr, size_t npages,
			      const struct gmem_fake_info *info, struct gm_pfns *st)
{
	return gm_pfns(addr, npages, info->devmem_phys, info->devmem_size, st);
}

/* ------------------------------------------------------------------ */
/* Time                                                                */

static inline uint64_t gm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static inline double gm_ms(uint64_t ns)
{
	return ns / 1e6;
}

static inline double gm_us_per_page(uint64_t ns, uint64_t pages)
{
	return pages ? ns / 1e3 / pages : 0;
}

static inline double gm_mib_per_s(uint64_t ns, uint64_t pages)
{
	return ns ? pages * (double)GM_PAGE_SIZE / GM_MIB / (ns / 1e9) : 0;
}

/* ------------------------------------------------------------------ */
/* Module load/unload (the VM harness exports GMEM_FAKE_PARAMS)         */

/* Run a shell command; its exit status, or -1 if it did not exit. */
static inline __attribute__((format(printf, 1, 2))) int gm_sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(NULL);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Wait until @path exists (@present) or is gone; 0 or -ETIMEDOUT. */
static inline int gm_wait_path(const char *path, bool present, int timeout_ms)
{
	for (;;) {
		if ((access(path, F_OK) == 0) == present)
			return 0;
		if (timeout_ms <= 0)
			return -ETIMEDOUT;
		usleep(10000);
		timeout_ms -= 10;
	}
}

/* Write @val into a sysfs or debugfs file; 0 or -errno. */
static inline int gm_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The number a sysfs, debugfs or proc file holds, or -errno. */
static inline long gm_read_long(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	/* Base 0: sysfs prints some numbers in hex (PCI ids). */
	return n > 0 ? strtol(buf, NULL, 0) : -EIO;
}

static inline int gm_rmmod(void)
{
	return gm_sh("rmmod gmem_fake");
}

/* Parameters are word-split by the shell, as on a command line. */
static inline int gm_modprobe(const char *params)
{
	return gm_sh("modprobe gmem_fake %s", params);
}

#endif /* GMEM_TEST_UTIL_H */
