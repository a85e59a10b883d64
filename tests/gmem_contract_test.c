// SPDX-License-Identifier: GPL-2.0
/*
 * The contracts of a migration that gmem's own workloads seldom reach:
 * every page of a range accounted for when device memory runs out, memory
 * shared with other processes (fork, KSM) and locked memory left in host
 * RAM, swapped-out memory brought in and moved, the logical page table
 * following mremap(), and transparent huge
 * pages whose PMD mapping was split or that move into coherent memory.
 *
 * Every test starts and ends with both devices idle.
 */
#include <sys/resource.h>
#include <sys/syscall.h>
#include "gmem_test_util.h"
#include "kselftest_harness.h"

#define CT_TIMEOUT	600
#define THP_SIZE	GM_THP_SIZE

FIXTURE(contract) {
	struct gm_devs d;
	void *buf;
	size_t len;
	void *extra;
	size_t extra_len;
};

FIXTURE_SETUP(contract)
{
	char why[256] = "";

	self->buf = NULL;
	self->extra = NULL;
	ASSERT_EQ(0, gm_devs_open(&self->d, 0x3, why, sizeof(why)))
		TH_LOG("%s", why);
}

FIXTURE_TEARDOWN(contract)
{
	struct gmem_fake_info info;
	int i;

	if (self->buf)
		munmap(self->buf, self->len);
	if (self->extra)
		munmap(self->extra, self->extra_len);
	for (i = 0; i < GM_NR_DEVS; i++)
		EXPECT_EQ(0, gm_wait_idle(self->d.fd[i], &info, 5000))
			TH_LOG("device %d keeps %llu pages", i,
			       (unsigned long long)info.used_pages);
	gm_devs_close(&self->d);
}

static uint8_t dev_loc(FIXTURE_DATA(contract) *self, int dev)
{
	return GMEM_LOC_DEV(self->d.info[dev].gm_dev_id);
}

/* Pages of the range that /proc/self/pagemap places in device @dev. */
static long on_dev(FIXTURE_DATA(contract) *self, void *addr, size_t n, int dev)
{
	struct gm_pfns pf;
	int ret = gm_pfns_dev(addr, n, &self->d.info[dev], &pf);

	return ret ? ret : (long)pf.in_dev;
}

/*
 * Device memory runs out in the middle of a range: moved, not_moved and the
 * pages already there add up to the whole range.
 */
TEST_F_TIMEOUT(contract, exhausted_counts_every_page, CT_TIMEOUT)
{
	const size_t len = 8 * GM_MIB, n = gm_pages(len), early = 16;
	struct gmem_fake_migrate m;
	struct gmem_fake_info info;
	size_t fill;
	void *filler;

	ASSERT_NE(NULL, gm_map_aligned(len, THP_SIZE, &self->buf, &self->len));
	gm_fill(self->buf, 0, n, 11);
	/* A few pages of the range are on the device before it runs out. */
	ASSERT_EQ(0, gm_migrate(self->d.fd[0], self->buf, early * GM_PAGE_SIZE, 0, &m));
	ASSERT_EQ(early, m.moved);

	ASSERT_EQ(0, gm_info(self->d.fd[0], &info));
	ASSERT_LT(100, info.free_pages);
	fill = info.free_pages - 100;
	filler = gm_map_anon(fill * GM_PAGE_SIZE);
	ASSERT_NE(NULL, filler);
	self->extra = filler;
	self->extra_len = fill * GM_PAGE_SIZE;
	gm_fill(filler, 0, fill, 12);
	ASSERT_EQ(0, gm_migrate(self->d.fd[0], filler, fill * GM_PAGE_SIZE, 0, &m));
	ASSERT_EQ(fill, m.moved);
	ASSERT_EQ(0, gm_info(self->d.fd[0], &info));
	ASSERT_EQ(100, info.free_pages);

	ASSERT_EQ(0, gm_migrate(self->d.fd[0], self->buf, len, 0, &m));
	TH_LOG("moved %llu, not moved %llu, %zu already there",
	       (unsigned long long)m.moved, (unsigned long long)m.not_moved, early);
	EXPECT_EQ(100, m.moved);
	EXPECT_EQ(n - early, m.moved + m.not_moved);
	EXPECT_EQ((long)(early + m.moved), on_dev(self, self->buf, n, 0));
	EXPECT_EQ((long)(early + m.moved),
		  gm_query_count(self->d.fd[0], self->buf, n, dev_loc(self, 0)));
	EXPECT_EQ(-1, gm_check(self->buf, 0, n, 11));
	EXPECT_EQ(-1, gm_check(filler, 0, fill, 12));

	/* The way back counts the same way: what came home, nothing stayed. */
	ASSERT_EQ(0, gm_migrate(self->d.fd[0], self->buf, len, GMEM_FAKE_DEST_HOST, &m));
	EXPECT_EQ(early + 100, m.moved);
	EXPECT_EQ(0, m.not_moved);
}

/*
 * After fork, a child that attaches and migrates memory it still shares
 * copy-on-write with its parent moves none of it: the pages are the
 * parent's too.  A page the child wrote (its own copy) moves.
 */
static int shared_child(void *buf, size_t n, const struct gmem_fake_info *i0)
{
	struct gmem_fake_migrate m;
	struct gm_pfns pf;
	int fd = gm_open(0);

	if (fd < 0 || gm_attach(fd))
		return 10;
	if (gm_migrate(fd, buf, n * GM_PAGE_SIZE, 0, &m))
		return 11;
	if (m.moved || m.not_moved != n)
		return 12;
	/* The child's own copy of page 3 is its alone. */
	gm_fill(buf, 3, 1, 77);
	if (gm_migrate(fd, buf, n * GM_PAGE_SIZE, 0, &m))
		return 13;
	if (m.moved != 1 || m.not_moved != n - 1)
		return 14;
	if (gm_pfns_dev(buf, n, i0, &pf) || pf.in_dev != 1)
		return 15;
	if (gm_check(buf, 3, 1, 77) != -1 || gm_check(buf, 4, n - 4, 21) != -1)
		return 16;
	return 0;
}

TEST_F_TIMEOUT(contract, fork_shared_pages_stay, CT_TIMEOUT)
{
	const size_t len = 4 * GM_MIB, n = gm_pages(len);
	int status;
	pid_t pid;

	ASSERT_NE(NULL, gm_map_aligned(len, THP_SIZE, &self->buf, &self->len));
	gm_fill(self->buf, 0, n, 21);
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(shared_child(self->buf, n, &self->d.info[0]));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* The parent never attached a thing: all of it is still in its RAM. */
	EXPECT_EQ(0, on_dev(self, self->buf, n, 0));
	EXPECT_EQ(-1, gm_check(self->buf, 0, n, 21));

	/* Once the child is gone, the pages are the parent's alone. */
	{
		struct gmem_fake_migrate m;

		ASSERT_EQ(0, gm_migrate(self->d.fd[0], self->buf, len, 0, &m));
		EXPECT_EQ(n, m.moved);
		EXPECT_EQ(0, m.not_moved);
		EXPECT_EQ(-1, gm_check(self->buf, 0, n, 21));
	}
}

/* Pages KSM merged across two regions stay where they are. */
TEST_F_TIMEOUT(contract, ksm_merged_pages_stay, CT_TIMEOUT)
{
	const size_t n = 64, len = 2 * n * GM_PAGE_SIZE;
	struct gmem_fake_migrate m;
	char *a, *b;
	long merged = 0;
	int i;

	if (access("/sys/kernel/mm/ksm/run", W_OK))
		SKIP(return, "no KSM in this kernel");
	ASSERT_NE(NULL, gm_map_aligned(len, THP_SIZE, &self->buf, &self->len));
	a = self->buf;
	b = a + n * GM_PAGE_SIZE;
	/* Region B is what KSM merges region A's pages with, page by page. */
	gm_fill(a, 0, n, 31);
	memcpy(b, a, n * GM_PAGE_SIZE);
	ASSERT_EQ(0, madvise(a, len, MADV_MERGEABLE));
	ASSERT_EQ(0, gm_write_file("/sys/kernel/mm/ksm/pages_to_scan", "10000"));
	ASSERT_EQ(0, gm_write_file("/sys/kernel/mm/ksm/sleep_millisecs", "10"));
	ASSERT_EQ(0, gm_write_file("/sys/kernel/mm/ksm/run", "1"));
	/* Both regions' pages count as merged. */
	for (i = 0; i < 3000 && merged < (long)(2 * n); i++) {
		usleep(10000);
		merged = gm_read_long("/proc/self/ksm_merging_pages");
	}
	ASSERT_EQ((long)(2 * n), merged) TH_LOG("KSM merged %ld of %zu pages", merged, 2 * n);

	ASSERT_EQ(0, gm_migrate(self->d.fd[0], a, n * GM_PAGE_SIZE, 0, &m));
	EXPECT_EQ(0, m.moved);
	EXPECT_EQ(n, m.not_moved);
	EXPECT_EQ(0, on_dev(self, a, 2 * n, 0));
	EXPECT_EQ(0, gm_query_count(self->d.fd[0], b, n, dev_loc(self, 0)));
	EXPECT_EQ(-1, gm_check(a, 0, n, 31));
	EXPECT_EQ(0, memcmp(a, b, n * GM_PAGE_SIZE));

	/* Unmerged, region A is the process's own again and moves. */
	ASSERT_EQ(0, gm_write_file("/sys/kernel/mm/ksm/run", "2"));
	ASSERT_EQ(0, gm_write_file("/sys/kernel/mm/ksm/run", "0"));
	ASSERT_EQ(0, gm_migrate(self->d.fd[0], a, n * GM_PAGE_SIZE, 0, &m));
	EXPECT_EQ(n, m.moved);
	EXPECT_EQ(-1, gm_check(a, 0, n, 31));
}

/*
 * Mlocked lags behind in per-CPU batches that a CPU drains when it gets to
 * it, which an idle one may not do for seconds: move_pages() of a page to
 * the node it is on drains every CPU's (lru_cache_disable()).
 */
static void drain_cpu_batches(void)
{
	static char page[GM_PAGE_SIZE] __attribute__((aligned(GM_PAGE_SIZE)));
	void *p = page;
	int node, status;

	page[0] = 1;
	if (syscall(SYS_move_pages, 0, 1, &p, NULL, &status, 0) || status < 0)
		return;
	node = status;
	syscall(SYS_move_pages, 0, 1, &p, &node, &status, 0);
}

/* The Mlocked figure of /proc/meminfo, in kB, once it settles. */
static long mlocked_kb(long want)
{
	char line[128];
	long kb = -1;
	int tries;

	for (tries = 0; tries < 200; tries++) {
		FILE *f = fopen("/proc/meminfo", "r");

		if (!f)
			return -errno;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "Mlocked: %ld kB", &kb) == 1)
				break;
		fclose(f);
		if (kb == want)
			break;
		drain_cpu_batches();
		usleep(10000);
	}
	return kb;
}

/*
 * Locked memory stays in host RAM, counted as not moved, on a migration and
 * on a device's first touch; the Mlocked counter comes back to where it was.
 */
TEST_F_TIMEOUT(contract, mlocked_stays_in_ram, CT_TIMEOUT)
{
	const size_t len = 8 * GM_MIB, n = gm_pages(len);
	struct gmem_fake_migrate m;
	long base = mlocked_kb(-2);
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	char data[64];
	void *p;

	ASSERT_LE(0, base);
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	self->buf = p;
	self->len = len;
	gm_fill(p, 0, n, 41);
	EXPECT_EQ(base + (long)(len >> 10), mlocked_kb(base + (long)(len >> 10)));

	ASSERT_EQ(0, gm_migrate(self->d.fd[0], p, len, 0, &m));
	EXPECT_EQ(0, m.moved);
	EXPECT_EQ(n, m.not_moved);
	ASSERT_EQ(0, gm_migrate(self->d.fd[0], p, len, GMEM_FAKE_DEST_HOST, &m));
	EXPECT_EQ(0, m.moved);
	EXPECT_EQ(0, m.not_moved);
	ASSERT_EQ(0, gm_migrate(self->d.fd[0], p, len, 0, &m));
	EXPECT_EQ(n, m.not_moved);
	/* A device touch maps the pages where they are. */
	ASSERT_EQ(0, gm_dev_access(self->d.fd[0], p, sizeof(data), data, false, NULL));
	EXPECT_EQ(0, on_dev(self, p, n, 0));
	EXPECT_EQ(-1, gm_check(p, 0, n, 41));

	ASSERT_EQ(0, munlock(p, len));
	ASSERT_EQ(0, munmap(p, len));
	self->buf = NULL;
	EXPECT_EQ(base, mlocked_kb(base));
}

/*
 * Pages swapped out are brought in and moved, all of them, with their data;
 * a CPU access would bring them in the same way.
 */
TEST_F_TIMEOUT(contract, swapped_out_pages_move, CT_TIMEOUT)
{
	const size_t len = 4 * GM_MIB, n = gm_pages(len);
	struct gmem_fake_migrate m;
	size_t i, swapped = 0;
	uint64_t *ent;

	if (!gm_swap_active())
		SKIP(return, "no swap in this guest (the debug kernel has no CONFIG_SWAP)");
	ent = malloc(n * sizeof(*ent));
	ASSERT_NE(NULL, ent);
	self->buf = gm_map_anon(len);
	ASSERT_NE(NULL, self->buf);
	self->len = len;
	ASSERT_EQ(0, madvise(self->buf, len, MADV_NOHUGEPAGE));
	gm_fill(self->buf, 0, n, 43);
	ASSERT_EQ(0, madvise(self->buf, len, MADV_PAGEOUT));
	ASSERT_EQ(0, gm_pagemap_read(self->buf, n, ent));
	for (i = 0; i < n; i++)
		swapped += !!(ent[i] & GM_PM_SWAP);
	free(ent);
	TH_LOG("%zu of %zu pages swapped out", swapped, n);
	ASSERT_LT(0, swapped);

	ASSERT_EQ(0, gm_migrate(self->d.fd[0], self->buf, len, 0, &m));
	EXPECT_EQ(n, m.moved);
	EXPECT_EQ(0, m.not_moved);
	EXPECT_EQ((long)n, on_dev(self, self->buf, n, 0));
	EXPECT_EQ((long)n, gm_query_count(self->d.fd[0], self->buf, n,
					  dev_loc(self, 0)));
	EXPECT_EQ(-1, gm_check(self->buf, 0, n, 43));
}

/* mlock() of memory already on a device, then home again: no counter leaks. */
TEST_F_TIMEOUT(contract, mlock_after_migration, CT_TIMEOUT)
{
	const size_t len = 8 * GM_MIB, n = gm_pages(len);
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	struct gmem_fake_migrate m;
	long base = mlocked_kb(-2);

	ASSERT_LE(0, base);
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	ASSERT_NE(NULL, gm_map_aligned(len, THP_SIZE, &self->buf, &self->len));
	gm_fill(self->buf, 0, n, 42);
	ASSERT_EQ(0, gm_migrate(self->d.fd[0], self->buf, len, 0, &m));
	ASSERT_EQ(n, m.moved);
	ASSERT_EQ(0, mlock(self->buf, len));
	ASSERT_EQ(0, gm_migrate(self->d.fd[0], self->buf, len, GMEM_FAKE_DEST_HOST, &m));
	EXPECT_EQ(n, m.moved);
	EXPECT_EQ(0, on_dev(self, self->buf, n, 0));
	EXPECT_EQ(-1, gm_check(self->buf, 0, n, 42));
	ASSERT_EQ(0, gm_migrate(self->d.fd[0], self->buf, len, 0, &m));
	EXPECT_EQ(0, m.moved);
	ASSERT_EQ(0, munlock(self->buf, len));
	ASSERT_EQ(0, munmap(self->buf, len));
	self->buf = NULL;
	EXPECT_EQ(base, mlocked_kb(base));
}

/* A free destination of @len for mremap(MREMAP_FIXED). */
static void *free_range(size_t len)
{
	void *p = gm_map_anon(len);

	if (p)
		munmap(p, len);
	return p;
}

/* QUERY follows pages that mremap() moved, device pages above all. */
TEST_F_TIMEOUT(contract, mremap_query_follows, CT_TIMEOUT)
{
	const size_t len = GM_MIB, n = gm_pages(len);
	struct gmem_fake_migrate m;
	void *dst, *moved;

	ASSERT_NE(NULL, gm_map_aligned(len, THP_SIZE, &self->buf, &self->len));
	gm_fill(self->buf, 0, n, 51);
	ASSERT_EQ(0, gm_migrate(self->d.fd[0], self->buf, len, 0, &m));
	ASSERT_EQ(n, m.moved);

	dst = free_range(len);
	ASSERT_NE(NULL, dst);
	moved = mremap(self->buf, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	ASSERT_EQ(dst, moved);
	self->buf = moved;
	EXPECT_EQ((long)n, on_dev(self, moved, n, 0));
	EXPECT_EQ((long)n, gm_query_count(self->d.fd[0], moved, n, dev_loc(self, 0)));
	EXPECT_EQ(-1, gm_check(moved, 0, n, 51));

	/* MREMAP_DONTUNMAP: the old range stays mapped, empty. */
	dst = free_range(len);
	ASSERT_NE(NULL, dst);
	moved = mremap(self->buf, len, len,
		       MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, dst);
	ASSERT_EQ(dst, moved);
	self->extra = self->buf;
	self->extra_len = len;
	self->buf = moved;
	EXPECT_EQ((long)n, gm_query_count(self->d.fd[0], moved, n, dev_loc(self, 0)));
	EXPECT_EQ(0, gm_query_count(self->d.fd[0], self->extra, n, dev_loc(self, 0)));
	EXPECT_EQ((long)n, gm_query_count(self->d.fd[0], self->extra, n, GMEM_LOC_NONE));
	EXPECT_EQ(-1, gm_check(moved, 0, n, 51));
	EXPECT_EQ(-1, gm_check_zero(self->extra, 0, n));
}

/* A move that splits a huge page's mapping: the device pages are found. */
TEST_F_TIMEOUT(contract, mremap_split_huge_query_follows, CT_TIMEOUT)
{
	const size_t len = 2 * THP_SIZE, n = gm_pages(len), half = n / 2;
	struct gmem_fake_migrate m;
	void *dst, *moved;
	char *p;

	p = gm_map_aligned(len, THP_SIZE, &self->buf, &self->len);
	ASSERT_NE(NULL, p);
	madvise(p, len, MADV_HUGEPAGE);
	gm_fill(p, 0, n, 52);
	/* The first 2 MiB go to the device; the second stay a huge page. */
	ASSERT_EQ(0, gm_migrate(self->d.fd[0], p, THP_SIZE, 0, &m));
	ASSERT_EQ(half, m.moved);
	if (!gm_is_thp(p + THP_SIZE))
		TH_LOG("no transparent huge page here: the split is not exercised");

	/* Move [1 MiB, 3 MiB): half device pages, half of the huge page. */
	dst = free_range(THP_SIZE);
	ASSERT_NE(NULL, dst);
	moved = mremap(p + GM_MIB, THP_SIZE, THP_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	ASSERT_EQ(dst, moved);
	EXPECT_EQ((long)(half / 2), on_dev(self, moved, half, 0));
	EXPECT_EQ((long)(half / 2), gm_query_count(self->d.fd[0], moved, half,
						   dev_loc(self, 0)));
	EXPECT_EQ(0, gm_query_count(self->d.fd[0], (char *)moved + GM_MIB, half / 2,
				    dev_loc(self, 0)));
	EXPECT_EQ(-1, gm_check((char *)moved - 256 * GM_PAGE_SIZE, 256, half, 52));
	munmap(moved, THP_SIZE);
	EXPECT_EQ(-1, gm_check(p, 0, 256, 52));
	EXPECT_EQ(-1, gm_check(p, 768, 256, 52));
}

/*
 * A transparent huge page whose PMD mapping an mprotect() of half of it
 * split: every one of its pages is accounted for and its data stays; the
 * kernel moves them where migrate_vma splits such folios (v6.19).
 */
TEST_F_TIMEOUT(contract, pte_mapped_thp_accounted, CT_TIMEOUT)
{
	const size_t n = gm_pages(THP_SIZE);
	struct gmem_fake_migrate m;
	size_t moved;
	char *p;

	p = gm_map_aligned(THP_SIZE, THP_SIZE, &self->buf, &self->len);
	ASSERT_NE(NULL, p);
	madvise(p, THP_SIZE, MADV_HUGEPAGE);
	gm_fill(p, 0, n, 53);
	if (!gm_is_thp(p))
		SKIP(return, "no transparent huge page (THP disabled?)");
	ASSERT_EQ(0, mprotect(p, THP_SIZE / 2, PROT_READ));
	ASSERT_EQ(0, mprotect(p, THP_SIZE / 2, PROT_READ | PROT_WRITE));
	ASSERT_TRUE(gm_is_thp(p));	/* still one folio, mapped by 512 PTEs */

	ASSERT_EQ(0, gm_migrate(self->d.fd[0], p, THP_SIZE, 0, &m));
	EXPECT_EQ(n, m.moved + m.not_moved);
	EXPECT_EQ((long)m.moved, on_dev(self, p, n, 0));
	EXPECT_EQ(-1, gm_check(p, 0, n, 53));
	/* And again: what moved is there, the rest is counted again. */
	moved = m.moved;
	ASSERT_EQ(0, gm_migrate(self->d.fd[0], p, THP_SIZE, 0, &m));
	EXPECT_EQ(n, moved + m.moved + m.not_moved);
	EXPECT_EQ(-1, gm_check(p, 0, n, 53));
	TH_LOG("%s", on_dev(self, p, n, 0) == (long)n ?
	       "the kernel split the huge page and every page moved" :
	       "this kernel's migrate_vma skips PTE-mapped huge pages: none moved");
	ASSERT_EQ(0, gm_migrate(self->d.fd[0], p, THP_SIZE, GMEM_FAKE_DEST_HOST, &m));
	EXPECT_EQ(0, on_dev(self, p, n, 0));
	EXPECT_EQ(-1, gm_check(p, 0, n, 53));
}

/*
 * A transparent huge page moves into coherent memory as 4 KiB pages: the
 * kernel cannot split a coherent huge page, and a munmap of half of the
 * range, as here, would have it split.  The other half keeps its data on
 * the device, and the first half's device pages are freed (teardown).
 */
TEST_F_TIMEOUT(contract, thp_into_coherent_4k_pages, CT_TIMEOUT)
{
	const size_t n = gm_pages(THP_SIZE), half = n / 2;
	struct gmem_fake_migrate m;
	char *p;

	p = gm_map_aligned(THP_SIZE, THP_SIZE, &self->buf, &self->len);
	ASSERT_NE(NULL, p);
	madvise(p, THP_SIZE, MADV_HUGEPAGE);
	gm_fill(p, 0, n, 54);
	if (!gm_is_thp(p))
		SKIP(return, "no transparent huge page (THP disabled?)");
	ASSERT_EQ((long)(THP_SIZE >> 10), gm_anon_huge_kib(p));

	ASSERT_EQ(0, gm_migrate(self->d.fd[0], p, THP_SIZE, 0, &m));
	ASSERT_EQ(n, m.moved);
	EXPECT_EQ((long)n, on_dev(self, p, n, 0));
	EXPECT_EQ(0, gm_anon_huge_kib(p));
	EXPECT_EQ(-1, gm_check(p, 0, n, 54));

	ASSERT_EQ(0, munmap(p, THP_SIZE / 2));
	EXPECT_EQ((long)half, on_dev(self, p + THP_SIZE / 2, half, 0));
	EXPECT_EQ(-1, gm_check(p, half, half, 54));
	ASSERT_EQ(0, gm_migrate(self->d.fd[0], p + THP_SIZE / 2, THP_SIZE / 2,
				GMEM_FAKE_DEST_HOST, &m));
	EXPECT_EQ(half, m.moved);
	EXPECT_EQ(0, on_dev(self, p + THP_SIZE / 2, half, 0));
	EXPECT_EQ(-1, gm_check(p, half, half, 54));
}

TEST_HARNESS_MAIN
