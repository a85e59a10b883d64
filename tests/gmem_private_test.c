// SPDX-License-Identifier: GPL-2.0
/*
 * Device-private memory as gmem tracks it: pages migrated into the private
 * memory of /dev/hmm_dmirror0 are gone from the CPU page table, the logical
 * page table places them on that device, and whoever touches them next
 * gets them back with their data: the CPU through a fault (migrate_to_ram),
 * another device through its own device fault, an explicit migration to
 * host.  Skipped where the kernel has no CONFIG_DEVICE_PRIVATE.
 *
 * The dmirror device speaks lib/test_hmm's ABI (test_hmm_uapi.h, taken
 * from linux-source-6.12 at build time); /dev/gmem_fake0 is attached to
 * the same address space for gmem's QUERY and for the other device.
 */
#include <lib/test_hmm_uapi.h>
#include "gmem_test_util.h"
#include "kselftest_harness.h"

#define PRIV_TIMEOUT	300
#define PRIV_LEN	(2 * GM_MIB)

/* A Y/N parameter of gmem_fake. */
static bool fake_param(const char *name)
{
	char path[96], c = 'N';
	int fd;

	snprintf(path, sizeof(path), "/sys/module/gmem_fake/parameters/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	if (read(fd, &c, 1) != 1)
		c = 'N';
	close(fd);
	return c == 'Y';
}

static bool private_memory(void)
{
	return fake_param("dmirror_private");
}

FIXTURE(priv) {
	struct gm_devs d;
	int mirror;
	void *buf;
	size_t n;
	uint8_t *locs;
};

FIXTURE_SETUP(priv)
{
	char why[256] = "";

	self->mirror = -1;
	self->buf = NULL;
	self->locs = NULL;
	if (!private_memory())
		SKIP(return, "no device-private memory (kernel without CONFIG_DEVICE_PRIVATE, or gmem_fake without dmirror=1)");
	ASSERT_EQ(0, gm_devs_open(&self->d, 0x1, why, sizeof(why)))
		TH_LOG("%s", why);
	self->mirror = open("/dev/hmm_dmirror0", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->mirror);
	self->n = gm_pages(PRIV_LEN);
	self->buf = gm_map_anon(PRIV_LEN);
	ASSERT_NE(NULL, self->buf);
	/* 4 KiB pages: device huge pages have a test of their own. */
	ASSERT_EQ(0, madvise(self->buf, PRIV_LEN, MADV_NOHUGEPAGE));
	self->locs = malloc(self->n);
	ASSERT_NE(NULL, self->locs);
	gm_fill(self->buf, 0, self->n, 77);
}

FIXTURE_TEARDOWN(priv)
{
	free(self->locs);
	if (self->buf)
		munmap(self->buf, PRIV_LEN);
	if (self->mirror >= 0)
		close(self->mirror);
	gm_devs_close(&self->d);
}

/* Move the buffer into dmirror0's private memory; the code of its pages. */
static int to_private(FIXTURE_DATA(priv) *self, uint8_t *loc)
{
	struct hmm_dmirror_cmd cmd = {
		.addr = (uintptr_t)self->buf,
		.npages = self->n,
	};
	void *mirror = malloc(PRIV_LEN);
	size_t i;
	int ret;

	if (!mirror)
		return -ENOMEM;
	cmd.ptr = (uintptr_t)mirror;
	ret = ioctl(self->mirror, HMM_DMIRROR_MIGRATE_TO_DEV, &cmd) ? -errno : 0;
	if (!ret && cmd.cpages != self->n)
		ret = -EAGAIN;
	/* What the device read back from its own memory. */
	if (!ret && gm_check(mirror, 0, self->n, 77) >= 0)
		ret = -EIO;
	free(mirror);
	if (!ret)
		ret = gm_query(self->d.fd[0], self->buf, self->n, self->locs);
	for (i = 1; !ret && i < self->n; i++)
		if (self->locs[i] != self->locs[0])
			ret = -EPROTO;
	*loc = self->locs[0];
	return ret;
}

/* Pages in device-private memory are not present for the CPU. */
static long cpu_present(void *addr, size_t npages)
{
	uint64_t *ent = malloc(npages * sizeof(*ent));
	long present = 0;
	size_t i;
	int ret;

	if (!ent)
		return -ENOMEM;
	ret = gm_pagemap_read(addr, npages, ent);
	for (i = 0; !ret && i < npages; i++)
		present += !!(ent[i] & GM_PM_PRESENT);
	free(ent);
	return ret ? ret : present;
}

TEST_F_TIMEOUT(priv, migrate_places_pages_on_the_device, PRIV_TIMEOUT)
{
	uint8_t loc;

	ASSERT_EQ(0, to_private(self, &loc));
	ASSERT_NE(GMEM_LOC_HOST, loc);
	ASSERT_NE(GMEM_LOC_NONE, loc);
	ASSERT_NE(GMEM_LOC_DEV(self->d.info[0].gm_dev_id), loc);
	ASSERT_EQ(0, cpu_present(self->buf, self->n));
}

/* A CPU touch brings the page (and its aligned neighbours) back. */
TEST_F_TIMEOUT(priv, cpu_fault_brings_pages_back, PRIV_TIMEOUT)
{
	const size_t mid = self->n / 2;
	volatile uint64_t *p;
	uint8_t loc;

	ASSERT_EQ(0, to_private(self, &loc));

	p = gm_page_addr(self->buf, mid);
	ASSERT_EQ(gm_pat(77, mid, 0), p[0]);
	ASSERT_EQ(0, gm_query(self->d.fd[0], self->buf, self->n, self->locs));
	ASSERT_EQ(GMEM_LOC_HOST, self->locs[mid]);
	/* Only a small window came back: the rest stays on the device. */
	ASSERT_EQ(loc, self->locs[0]);
	ASSERT_EQ(loc, self->locs[self->n - 1]);
	ASSERT_LT(0, cpu_present(self->buf, self->n));

	/* Reading everything brings everything back, intact. */
	ASSERT_EQ(-1, gm_check(self->buf, 0, self->n, 77));
	ASSERT_EQ((long)self->n, gm_query_count(self->d.fd[0], self->buf,
						self->n, GMEM_LOC_HOST));
}

/*
 * Where private memory holds huge pages, a THP moves into one device huge
 * page that the CPU maps with one PMD; a CPU touch brings that whole huge
 * page back, and only it, and a migration brings a device huge page back
 * into a host huge page.
 */
TEST_F_TIMEOUT(priv, huge_page_moves_whole, PRIV_TIMEOUT)
{
	const size_t huge = 2 * GM_MIB, len = 2 * huge, n = gm_pages(len);
	struct hmm_dmirror_cmd cmd = { 0 };
	uint8_t *snap = malloc(n), *locs = malloc(n);
	char *map, *p;
	size_t i;

	if (!fake_param("dmirror_huge"))
		SKIP(return, "private memory without huge pages on this kernel");
	ASSERT_NE(NULL, snap);
	ASSERT_NE(NULL, locs);
	map = mmap(NULL, len + huge, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	p = (char *)(((uintptr_t)map + huge - 1) & ~(uintptr_t)(huge - 1));
	ASSERT_EQ(0, madvise(p, len, MADV_HUGEPAGE));
	gm_fill(p, 0, n, 78);

	cmd.addr = (uintptr_t)p;
	cmd.ptr = (uintptr_t)malloc(len);
	cmd.npages = n;
	ASSERT_NE(0, cmd.ptr);
	ASSERT_EQ(0, ioctl(self->mirror, HMM_DMIRROR_MIGRATE_TO_DEV, &cmd));
	ASSERT_EQ(n, cmd.cpages);
	free((void *)(uintptr_t)cmd.ptr);
	/* Every page is in this device's memory, mapped by a PMD. */
	cmd = (struct hmm_dmirror_cmd){ .addr = (uintptr_t)p,
					.ptr = (uintptr_t)snap, .npages = n };
	ASSERT_EQ(0, ioctl(self->mirror, HMM_DMIRROR_SNAPSHOT, &cmd));
	for (i = 0; i < n; i++)
		ASSERT_EQ(HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | HMM_DMIRROR_PROT_WRITE |
			  HMM_DMIRROR_PROT_PMD, snap[i]) TH_LOG("page %zu", i);
	ASSERT_EQ(0, cpu_present(p, n));

	/* The CPU reads the second huge page: it comes back whole. */
	ASSERT_EQ(gm_pat(78, n - 1, 0), *(volatile uint64_t *)gm_page_addr(p, n - 1));
	ASSERT_EQ((long)n / 2, cpu_present(p + huge, n / 2));
	ASSERT_EQ(0, cpu_present(p, n / 2));
	ASSERT_EQ(0, gm_query(self->d.fd[0], p, n, locs));
	for (i = 0; i < n; i++)
		ASSERT_EQ(i < n / 2 ? locs[0] : GMEM_LOC_HOST, locs[i]) TH_LOG("page %zu", i);
	ASSERT_NE(GMEM_LOC_HOST, locs[0]);

	/* A migration brings the first back whole too: both are host THPs. */
	cmd = (struct hmm_dmirror_cmd){ .addr = (uintptr_t)p, .npages = n };
	ASSERT_EQ(0, ioctl(self->mirror, HMM_DMIRROR_MIGRATE_TO_SYS, &cmd));
	ASSERT_EQ(n / 2, cmd.cpages);
	ASSERT_EQ((long)n, cpu_present(p, n));
	ASSERT_EQ((long)(len >> 10), gm_anon_huge_kib(p));
	/* And everything reads back right. */
	ASSERT_EQ(-1, gm_check(p, 0, n, 78));
	munmap(map, len + huge);
	free(snap);
	free(locs);
}

/* A CPU write to a private page: the data of the other words survives. */
TEST_F_TIMEOUT(priv, cpu_write_after_private, PRIV_TIMEOUT)
{
	uint64_t *p = gm_page_addr(self->buf, 3);
	uint8_t loc;

	ASSERT_EQ(0, to_private(self, &loc));
	p[1] = 0xdeadbeef;
	ASSERT_EQ(gm_pat(77, 3, 0), p[0]);
	ASSERT_EQ(0xdeadbeefULL, p[1]);
	ASSERT_EQ(gm_pat(77, 3, 2), p[2]);
	ASSERT_EQ(-1, gm_check(self->buf, 4, self->n - 4, 77));
}

/*
 * Another device cannot reach dmirror0's private memory: its fault brings
 * the pages back to host RAM first, and it reads the right bytes.
 */
TEST_F_TIMEOUT(priv, other_device_reads_private_pages, PRIV_TIMEOUT)
{
	void *copy = malloc(PRIV_LEN);
	unsigned int faults;
	uint8_t loc;

	ASSERT_NE(NULL, copy);
	ASSERT_EQ(0, to_private(self, &loc));
	ASSERT_EQ(0, gm_dev_access(self->d.fd[0], self->buf, PRIV_LEN, copy,
				   false, &faults));
	EXPECT_EQ(-1, gm_check(copy, 0, self->n, 77));
	EXPECT_EQ(0, gm_query_count(self->d.fd[0], self->buf, self->n, loc));
	free(copy);
}

/* An explicit migration to host empties the range out of private memory. */
TEST_F_TIMEOUT(priv, migrate_to_host, PRIV_TIMEOUT)
{
	struct gmem_fake_migrate m;
	uint8_t loc;

	ASSERT_EQ(0, to_private(self, &loc));
	ASSERT_EQ(0, gm_migrate(self->d.fd[0], self->buf, PRIV_LEN,
				GMEM_FAKE_DEST_HOST, &m));
	ASSERT_EQ(self->n, m.moved);
	ASSERT_EQ(0, m.not_moved);
	ASSERT_EQ((long)self->n, cpu_present(self->buf, self->n));
	ASSERT_EQ(-1, gm_check(self->buf, 0, self->n, 77));
}

/* Private pages go to a fork child read-only; both see their own data. */
TEST_F_TIMEOUT(priv, fork_shares_then_copies, PRIV_TIMEOUT)
{
	uint64_t *p = gm_page_addr(self->buf, 5);
	int status;
	uint8_t loc;
	pid_t pid;

	ASSERT_EQ(0, to_private(self, &loc));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		p[0] = 1;
		_exit(gm_check(self->buf, 6, self->n - 6, 77) == -1 && p[0] == 1 ?
		      0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(-1, gm_check(self->buf, 0, self->n, 77));
}

TEST_HARNESS_MAIN
