// SPDX-License-Identifier: GPL-2.0
/*
 * gmem_fake migrations and data: host <-> device moves, coherent CPU access
 * to device pages, unpopulated pages, partial ranges, two devices, and the
 * logical page table following what the CPU does to migrated pages.
 *
 * Every test starts with both devices idle (free == total, asserted in the
 * fixture) and leaves them idle: its buffers are unmapped in the teardown.
 */
#include "gmem_test_util.h"
#include "kselftest_harness.h"

#define MIG_TIMEOUT	300	/* seconds: TCG guests with debug kernels are slow */

FIXTURE(migrate) {
	struct gm_devs d;
	void *buf;
	size_t len;
};

FIXTURE_SETUP(migrate)
{
	char why[256] = "";

	self->buf = NULL;
	ASSERT_EQ(0, gm_devs_open(&self->d, 0x3, why, sizeof(why)))
		TH_LOG("%s", why);
}

FIXTURE_TEARDOWN(migrate)
{
	if (self->buf)
		munmap(self->buf, self->len);
	gm_devs_close(&self->d);
}

/* Map the test buffer; the teardown unmaps it. */
static void *map_buf(FIXTURE_DATA(migrate) *self, size_t len)
{
	self->len = len;
	self->buf = gm_map_anon(len);
	return self->buf;
}

static uint8_t dev_loc(FIXTURE_DATA(migrate) *self, int dev)
{
	return GMEM_LOC_DEV(self->d.info[dev].gm_dev_id);
}

/*
 * Leave stale data in device memory: migrate @len of patterned memory to
 * device 0 and unmap it, so that pages handed out next were used before.
 */
static int dirty_device(FIXTURE_DATA(migrate) *self, size_t len)
{
	struct gmem_fake_migrate m;
	struct gmem_fake_info info;
	void *p = gm_map_anon(len);
	int ret;

	if (!p)
		return -ENOMEM;
	gm_fill(p, 0, gm_pages(len), 99);
	ret = gm_migrate(self->d.fd[0], p, len, 0, &m);
	munmap(p, len);
	if (!ret && m.moved != gm_pages(len))
		ret = -EAGAIN;
	if (!ret)
		ret = gm_wait_idle(self->d.fd[0], &info, 0);
	return ret;
}

TEST_F(migrate, info_sane)
{
	const struct gmem_fake_info *a = &self->d.info[0], *b = &self->d.info[1];
	int i;

	for (i = 0; i < GM_NR_DEVS; i++) {
		const struct gmem_fake_info *in = &self->d.info[i];

		ASSERT_EQ(GMEM_ABI_VERSION, in->abi_version);
		ASSERT_EQ((unsigned int)i, in->index);
		ASSERT_LE(1, in->gm_dev_id);
		ASSERT_GE(GMEM_MAX_DEV_ID, in->gm_dev_id);
		ASSERT_EQ(0, in->flags & ~(GMEM_FAKE_INFO_PCI | GMEM_FAKE_INFO_IOMMU));
		ASSERT_NE(0, in->devmem_phys) TH_LOG("devmem_phys is 0: not root?");
		ASSERT_EQ(0, in->devmem_phys % (2 * GM_MIB));
		ASSERT_EQ(GM_DEVMEM_SIZE, in->devmem_size);
		ASSERT_EQ(in->devmem_size / GM_PAGE_SIZE, in->total_pages);
		ASSERT_EQ(in->total_pages, in->free_pages);
		ASSERT_EQ(0, in->used_pages);
		ASSERT_EQ(0, in->copy_errors);
	}
	ASSERT_NE(a->gm_dev_id, b->gm_dev_id);
	ASSERT_TRUE(a->devmem_phys + a->devmem_size <= b->devmem_phys ||
		    b->devmem_phys + b->devmem_size <= a->devmem_phys)
		TH_LOG("device memory ranges overlap");
}

/* An attribute of /sys/class/gmem/gmem_fake@i/, or -errno. */
static long sysfs_stat(int i, const char *attr)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/class/gmem/gmem_fake%d/%s", i, attr);
	return gm_read_long(path);
}

/*
 * Every device is in the gmem class, a child of its bus device, and its
 * attributes say what INFO says; a migration moves the counters by what
 * it moved.
 */
TEST_F(migrate, sysfs_class_matches_info)
{
	const size_t len = 64 * GM_PAGE_SIZE;
	struct gmem_fake_migrate m;
	struct gmem_fake_info in;
	char path[PATH_MAX + 16], link[PATH_MAX], buf2[PATH_MAX], buf[32] = "";
	long before;
	int i, fd;
	void *p;

	for (i = 0; i < GM_NR_DEVS; i++) {
		ASSERT_EQ(0, gm_info(self->d.fd[i], &in));
		EXPECT_EQ(in.gm_dev_id, sysfs_stat(i, "id"));
		EXPECT_EQ(in.total_pages, sysfs_stat(i, "total_pages"));
		EXPECT_EQ(in.free_pages, sysfs_stat(i, "free_pages"));
		EXPECT_EQ(in.used_pages, sysfs_stat(i, "used_pages"));
		EXPECT_EQ(in.to_dev_pages, sysfs_stat(i, "to_dev_pages"));
		EXPECT_EQ(in.to_host_pages, sysfs_stat(i, "to_host_pages"));
		EXPECT_EQ(in.evicted_pages, sysfs_stat(i, "evicted_pages"));
		EXPECT_EQ(in.copy_batches, sysfs_stat(i, "copy_batches"));
		EXPECT_EQ(in.copy_errors, sysfs_stat(i, "copy_errors"));

		snprintf(path, sizeof(path), "/sys/class/gmem/gmem_fake%d/mem_type", i);
		fd = open(path, O_RDONLY);
		ASSERT_LE(0, fd);
		ASSERT_LT(0, read(fd, buf, sizeof(buf) - 1));
		close(fd);
		EXPECT_STREQ("coherent\n", buf);

		snprintf(path, sizeof(path), "/sys/class/gmem/gmem_fake%d/device", i);
		ASSERT_NE(NULL, realpath(path, link)) TH_LOG("%s: %s", path, strerror(errno));
		if (in.flags & GMEM_FAKE_INFO_PCI) {
			/* The ivshmem-plain device the fake's PCI driver bound. */
			EXPECT_EQ(0, strncmp(link, "/sys/devices/pci", 16)) TH_LOG("%s", link);
			snprintf(path, sizeof(path), "%s/vendor", link);
			EXPECT_EQ(0x1af4, gm_read_long(path));
			snprintf(path, sizeof(path), "%s/device", link);
			EXPECT_EQ(0x1110, gm_read_long(path));
			snprintf(path, sizeof(path), "%s/driver", link);
			ASSERT_NE(NULL, realpath(path, buf2));
			EXPECT_STREQ("/sys/bus/pci/drivers/gmem_fake", buf2);
		} else {
			snprintf(path, sizeof(path), "/sys/devices/platform/gmem_fake%d", i);
			EXPECT_STREQ(path, link);
		}
	}

	p = gm_map_anon(len);
	ASSERT_NE(NULL, p);
	gm_fill(p, 0, gm_pages(len), 51);
	before = sysfs_stat(0, "to_dev_pages");
	ASSERT_EQ(0, gm_migrate(self->d.fd[0], p, len, 0, &m));
	EXPECT_EQ(before + (long)m.moved, sysfs_stat(0, "to_dev_pages"));
	EXPECT_EQ(gm_pages(len), m.moved + m.not_moved);
	ASSERT_EQ(0, gm_info(self->d.fd[0], &in));
	EXPECT_EQ(in.used_pages, sysfs_stat(0, "used_pages"));
	EXPECT_EQ(-1, gm_check(p, 0, gm_pages(len), 51));
	munmap(p, len);
}

/* Does the guest run with a translating IOMMU (the check's IOMMU lane)? */
static bool iommu_on_cmdline(void)
{
	char cmdline[1024] = "";
	FILE *f = fopen("/proc/cmdline", "r");

	if (!f)
		return false;
	if (!fgets(cmdline, sizeof(cmdline), f))
		cmdline[0] = 0;
	fclose(f);
	return strstr(cmdline, "intel_iommu=on") && !strstr(cmdline, "iommu=pt");
}

/*
 * Behind an IOMMU, every host page gmem hands the device is an IOVA that
 * the fake translates as the hardware would (an unmapped one leads
 * nowhere and fails the copy): the device's loads see what the CPU wrote,
 * the CPU sees what the device's engine copied back, and the fake counts
 * the pages it reached through IOVAs unlike their physical addresses.
 * Without an IOMMU, DMA addresses are physical and that count stays 0.
 */
TEST_F(migrate, dma_addresses_are_iovas_behind_an_iommu)
{
	const size_t n = 256, len = n * GM_PAGE_SIZE;
	struct gmem_fake_prefetch pf = {};
	struct gmem_fake_info in, out;
	struct gmem_fake_migrate m;
	bool iommu = iommu_on_cmdline();
	int fd = self->d.fd[0];
	uint64_t word;
	size_t i;

	ASSERT_EQ(0, gm_info(fd, &in));
	if (!(in.flags & GMEM_FAKE_INFO_PCI))
		SKIP(return, "gmem_fake0 is not a PCI device (memmap= memory)");
	ASSERT_EQ(iommu, !!(in.flags & GMEM_FAKE_INFO_IOMMU));

	ASSERT_NE(NULL, map_buf(self, len));
	gm_fill(self->buf, 0, n, 61);
	/* Device loads of host pages mapped where they are: SYSTEM addresses. */
	pf.addr = (uintptr_t)self->buf;
	pf.length = len;
	pf.flags = GMEM_FAKE_PREFETCH_IN_PLACE;
	ASSERT_EQ(0, gm_ioctl(fd, GMEM_FAKE_IOC_PREFETCH, &pf));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, gm_dev_access(fd, gm_page_addr(self->buf, i), sizeof(word),
					   &word, false, NULL));
		ASSERT_EQ(gm_pat(61, i, 0), word) TH_LOG("page %zu", i);
	}
	/* Its engine copies them in and back out: SYSTEM sources, then targets. */
	ASSERT_EQ(0, gm_migrate(fd, self->buf, len, 0, &m));
	ASSERT_EQ(n, m.moved);
	ASSERT_EQ(0, gm_migrate(fd, self->buf, len, GMEM_FAKE_DEST_HOST, &m));
	ASSERT_EQ(n, m.moved);
	ASSERT_EQ(-1, gm_check(self->buf, 0, n, 61));

	ASSERT_EQ(0, gm_info(fd, &out));
	ASSERT_EQ(in.copy_errors, out.copy_errors);
	if (iommu) {
		/* n device loads, n pages in, n pages out, at least. */
		ASSERT_LE(in.iova_pages + 3 * n, out.iova_pages);
	} else {
		ASSERT_EQ(0, out.iova_pages);
	}
}

/* Required test 1: 64 MiB to device 0 and back, with the timings. */
TEST_F_TIMEOUT(migrate, to_device_64m, MIG_TIMEOUT)
{
	const size_t len = 64 * GM_MIB, n = gm_pages(len);
	const struct gmem_fake_info *before = &self->d.info[0];
	struct gmem_fake_info on, back;
	struct gmem_fake_migrate m;
	int fd = self->d.fd[0];
	uint64_t t, t_dev, t_host;
	struct gm_pfns pf;

	ASSERT_NE(NULL, map_buf(self, len));
	gm_fill(self->buf, 0, n, 1);

	t = gm_now_ns();
	ASSERT_EQ(0, gm_migrate(fd, self->buf, len, 0, &m));
	t_dev = gm_now_ns() - t;
	ASSERT_EQ(n, m.moved);
	ASSERT_EQ(0, m.not_moved);

	ASSERT_EQ((long)n, gm_query_count(fd, self->buf, n, dev_loc(self, 0)));
	ASSERT_EQ(0, gm_pfns_dev(self->buf, n, before, &pf));
	ASSERT_EQ(n, pf.present);
	ASSERT_EQ(n, pf.in_dev) TH_LOG("first PFN %#llx", (unsigned long long)pf.first_pfn);

	ASSERT_EQ(0, gm_info(fd, &on));
	ASSERT_EQ(before->free_pages - n, on.free_pages);
	ASSERT_EQ(before->used_pages + n, on.used_pages);
	ASSERT_EQ(before->to_dev_pages + n, on.to_dev_pages);
	ASSERT_LT(before->copy_batches, on.copy_batches);
	ASSERT_EQ(before->copy_errors, on.copy_errors);
	ASSERT_EQ(-1, gm_check(self->buf, 0, n, 1));

	t = gm_now_ns();
	ASSERT_EQ(0, gm_migrate(fd, self->buf, len, GMEM_FAKE_DEST_HOST, &m));
	t_host = gm_now_ns() - t;
	ASSERT_EQ(n, m.moved);
	ASSERT_EQ(0, m.not_moved);

	ASSERT_EQ(0, gm_info(fd, &back));
	ASSERT_EQ(before->free_pages, back.free_pages);
	ASSERT_EQ(before->used_pages, back.used_pages);
	ASSERT_EQ(on.to_host_pages + n, back.to_host_pages);
	ASSERT_EQ(0, back.copy_errors);
	ASSERT_EQ(-1, gm_check(self->buf, 0, n, 1));

	ksft_print_msg("64 MiB (%zu pages) to device: %.1f ms, %.2f us/page, %.0f MiB/s\n",
		       n, gm_ms(t_dev), gm_us_per_page(t_dev, n), gm_mib_per_s(t_dev, n));
	ksft_print_msg("64 MiB (%zu pages) to host:   %.1f ms, %.2f us/page, %.0f MiB/s\n",
		       n, gm_ms(t_host), gm_us_per_page(t_host, n), gm_mib_per_s(t_host, n));
}

/*
 * Required test 2: the CPU reads and rewrites device pages in place (the
 * memory is coherent, nothing migrates back), then the range goes home.
 */
TEST_F_TIMEOUT(migrate, cpu_access_on_device, MIG_TIMEOUT)
{
	const size_t len = 64 * GM_MIB, n = gm_pages(len);
	const struct gmem_fake_info *before = &self->d.info[0];
	struct gmem_fake_info back;
	struct gmem_fake_migrate m;
	int fd = self->d.fd[0];
	struct gm_pfns pf;

	ASSERT_NE(NULL, map_buf(self, len));
	gm_fill(self->buf, 0, n, 1);
	ASSERT_EQ(0, gm_migrate(fd, self->buf, len, 0, &m));
	ASSERT_EQ(n, m.moved);

	/* Every byte read, then every byte rewritten, on the device. */
	ASSERT_EQ(-1, gm_check(self->buf, 0, n, 1));
	gm_fill(self->buf, 0, n, 2);
	ASSERT_EQ(-1, gm_check(self->buf, 0, n, 2));

	ASSERT_EQ(0, gm_pfns_dev(self->buf, n, before, &pf));
	ASSERT_EQ(n, pf.present);
	ASSERT_EQ(n, pf.in_dev) TH_LOG("CPU access moved pages off the device");
	ASSERT_EQ((long)n, gm_query_count(fd, self->buf, n, dev_loc(self, 0)));

	ASSERT_EQ(0, gm_migrate(fd, self->buf, len, GMEM_FAKE_DEST_HOST, &m));
	ASSERT_EQ(n, m.moved);
	ASSERT_EQ(0, m.not_moved);
	ASSERT_EQ(-1, gm_check(self->buf, 0, n, 2));
	ASSERT_EQ(0, gm_pfns_dev(self->buf, n, before, &pf));
	ASSERT_EQ(n, pf.present);
	ASSERT_EQ(0, pf.in_dev);
	ASSERT_EQ((long)n, gm_query_count(fd, self->buf, n, GMEM_LOC_HOST));
	ASSERT_EQ(0, gm_info(fd, &back));
	ASSERT_EQ(before->free_pages, back.free_pages);
	ASSERT_EQ(0, back.used_pages);
}

/*
 * A private file mapping: its copied-on-write pages are anonymous and move;
 * its page-cache pages belong to the file and stay (not moved); the file
 * itself never changes.
 */
TEST_F_TIMEOUT(migrate, file_private_moves_cow_pages, MIG_TIMEOUT)
{
	const size_t len = GM_MIB, n = gm_pages(len);
	char path[] = "/tmp/gmem_migrate.XXXXXX";
	struct gmem_fake_migrate m;
	int fd = self->d.fd[0], file;
	void *content = malloc(len);
	size_t i;

	ASSERT_NE(NULL, content);
	gm_fill(content, 0, n, 6);
	mkdir("/tmp", 01777);
	file = mkstemp(path);
	ASSERT_LE(0, file);
	unlink(path);
	ASSERT_EQ((ssize_t)len, pwrite(file, content, len, 0));
	self->len = len;
	self->buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, file, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	/* Even pages: copied on write; odd pages: read from the page cache. */
	for (i = 0; i < n; i++) {
		if (i % 2) {
			ASSERT_EQ(-1, gm_check(self->buf, i, 1, 6));
		} else {
			gm_fill(self->buf, i, 1, 7);
		}
	}

	ASSERT_EQ(0, gm_migrate(fd, self->buf, len, 0, &m));
	ASSERT_EQ(n / 2, m.moved);
	ASSERT_EQ(n / 2, m.not_moved);
	ASSERT_EQ((long)n / 2, gm_query_count(fd, self->buf, n, dev_loc(self, 0)));
	for (i = 0; i < n; i++)
		ASSERT_EQ(-1, gm_check(self->buf, i, 1, i % 2 ? 6 : 7)) TH_LOG("page %zu", i);

	ASSERT_EQ(0, gm_migrate(fd, self->buf, len, GMEM_FAKE_DEST_HOST, &m));
	ASSERT_EQ(n / 2, m.moved);
	for (i = 0; i < n; i++)
		ASSERT_EQ(-1, gm_check(self->buf, i, 1, i % 2 ? 6 : 7)) TH_LOG("page %zu", i);
	ASSERT_EQ((ssize_t)len, pread(file, content, len, 0));
	ASSERT_EQ(-1, gm_check(content, 0, n, 6));
	close(file);
	free(content);
}

/* Required test 3a: never-touched pages land on the device as zeroes. */
TEST_F_TIMEOUT(migrate, unpopulated_reads_zero, MIG_TIMEOUT)
{
	const size_t len = 16 * GM_MIB, n = gm_pages(len);
	struct gmem_fake_migrate m;
	int fd = self->d.fd[0];
	struct gm_pfns pf;

	ASSERT_EQ(0, dirty_device(self, 2 * len)) TH_LOG("leaving stale data on the device");
	ASSERT_NE(NULL, map_buf(self, len));

	ASSERT_EQ(0, gm_migrate(fd, self->buf, len, 0, &m));
	ASSERT_EQ(n, m.moved) TH_LOG("not_moved %llu", (unsigned long long)m.not_moved);
	ASSERT_EQ(0, m.not_moved);
	ASSERT_EQ((long)n, gm_query_count(fd, self->buf, n, dev_loc(self, 0)));

	ASSERT_EQ(-1, gm_check_zero(self->buf, 0, n)) TH_LOG("stale device data leaked");
	ASSERT_EQ(0, gm_pfns_dev(self->buf, n, &self->d.info[0], &pf));
	ASSERT_EQ(n, pf.present);
	ASSERT_EQ(n, pf.in_dev);
}

/* Required test 3b: every third page populated, the others untouched. */
TEST_F_TIMEOUT(migrate, mixed_populated_unpopulated, MIG_TIMEOUT)
{
	const size_t len = 8 * GM_MIB, n = gm_pages(len);
	struct gmem_fake_migrate m;
	int fd = self->d.fd[0];
	struct gm_pfns pf;
	size_t i;

	ASSERT_EQ(0, dirty_device(self, 2 * len)) TH_LOG("leaving stale data on the device");
	ASSERT_NE(NULL, map_buf(self, len));
	/* No THP here, or touching one page would populate 512. */
	ASSERT_EQ(0, madvise(self->buf, len, MADV_NOHUGEPAGE));
	for (i = 0; i < n; i += 3)
		gm_fill(self->buf, i, 1, 4);
	ASSERT_EQ(0, gm_pfns_dev(self->buf, n, &self->d.info[0], &pf));
	ASSERT_EQ((n + 2) / 3, pf.present);

	ASSERT_EQ(0, gm_migrate(fd, self->buf, len, 0, &m));
	ASSERT_EQ(n, m.moved);
	ASSERT_EQ(0, m.not_moved);
	ASSERT_EQ((long)n, gm_query_count(fd, self->buf, n, dev_loc(self, 0)));
	for (i = 0; i < n; i++) {
		long bad = i % 3 ? gm_check_zero(self->buf, i, 1) :
				   gm_check(self->buf, i, 1, 4);

		ASSERT_EQ(-1, bad) TH_LOG("page %zu", i);
	}
	ASSERT_EQ(0, gm_pfns_dev(self->buf, n, &self->d.info[0], &pf));
	ASSERT_EQ(n, pf.in_dev);

	ASSERT_EQ(0, gm_migrate(fd, self->buf, len, GMEM_FAKE_DEST_HOST, &m));
	ASSERT_EQ(n, m.moved);
	for (i = 0; i < n; i++) {
		long bad = i % 3 ? gm_check_zero(self->buf, i, 1) :
				   gm_check(self->buf, i, 1, 4);

		ASSERT_EQ(-1, bad) TH_LOG("page %zu", i);
	}
	ASSERT_EQ(0, gm_pfns_dev(self->buf, n, &self->d.info[0], &pf));
	ASSERT_EQ(0, pf.in_dev);
}

/* Required test 4: a hole in the range fails the call and moves nothing. */
TEST_F_TIMEOUT(migrate, partly_unmapped_efault, MIG_TIMEOUT)
{
	const size_t len = 8 * GM_MIB, n = gm_pages(len);
	const size_t hole = n / 2 - 8, hole_n = 16, tail = hole + hole_n;
	const struct gmem_fake_info *before = &self->d.info[0];
	uint8_t locs_head[n], locs_tail[n], locs[n];
	struct gmem_fake_info after;
	struct gmem_fake_migrate m;
	int fd = self->d.fd[0];
	struct gm_pfns pf;

	ASSERT_NE(NULL, map_buf(self, len));
	gm_fill(self->buf, 0, n, 5);
	ASSERT_EQ(0, munmap(gm_page_addr(self->buf, hole), hole_n * GM_PAGE_SIZE));
	ASSERT_EQ(0, gm_query(fd, self->buf, hole, locs_head));
	ASSERT_EQ(0, gm_query(fd, gm_page_addr(self->buf, tail), n - tail, locs_tail));

	ASSERT_EQ(-EFAULT, gm_migrate(fd, self->buf, len, 0, &m));

	ASSERT_EQ(0, gm_info(fd, &after));
	ASSERT_EQ(before->free_pages, after.free_pages);
	ASSERT_EQ(before->used_pages, after.used_pages);
	ASSERT_EQ(before->to_dev_pages, after.to_dev_pages);
	ASSERT_EQ(0, gm_query(fd, self->buf, hole, locs));
	ASSERT_EQ(0, memcmp(locs_head, locs, hole));
	ASSERT_EQ(0, gm_query(fd, gm_page_addr(self->buf, tail), n - tail, locs));
	ASSERT_EQ(0, memcmp(locs_tail, locs, n - tail));
	ASSERT_EQ(0, gm_pfns_dev(self->buf, n, before, &pf));
	ASSERT_EQ(0, pf.in_dev);
	ASSERT_EQ(-1, gm_check(self->buf, 0, hole, 5));
	ASSERT_EQ(-1, gm_check(self->buf, tail, n - tail, 5));
}

/* Required test 5: pages already at the destination are not counted. */
TEST_F_TIMEOUT(migrate, partly_on_device, MIG_TIMEOUT)
{
	const size_t len = 8 * GM_MIB, n = gm_pages(len), half = n / 2;
	const struct gmem_fake_info *before = &self->d.info[0];
	struct gmem_fake_info after;
	struct gmem_fake_migrate m;
	int fd = self->d.fd[0];
	struct gm_pfns pf;

	ASSERT_NE(NULL, map_buf(self, len));
	gm_fill(self->buf, 0, n, 6);

	ASSERT_EQ(0, gm_migrate(fd, gm_page_addr(self->buf, half), len - len / 2, 0, &m));
	ASSERT_EQ(n - half, m.moved);
	ASSERT_EQ(0, m.not_moved);
	ASSERT_EQ(0, gm_pfns_dev(self->buf, half, before, &pf));
	ASSERT_EQ(0, pf.in_dev);

	/* Only the first half moves; the second half is already there. */
	ASSERT_EQ(0, gm_migrate(fd, self->buf, len, 0, &m));
	ASSERT_EQ(half, m.moved);
	ASSERT_EQ(0, m.not_moved);

	ASSERT_EQ((long)n, gm_query_count(fd, self->buf, n, dev_loc(self, 0)));
	ASSERT_EQ(0, gm_pfns_dev(self->buf, n, before, &pf));
	ASSERT_EQ(n, pf.in_dev);
	ASSERT_EQ(0, gm_info(fd, &after));
	ASSERT_EQ(before->free_pages - n, after.free_pages);
	ASSERT_EQ(before->to_dev_pages + n, after.to_dev_pages);
	ASSERT_EQ(-1, gm_check(self->buf, 0, n, 6));
}

/*
 * Required test 6: pages on device 1 stay there when the range is sent to
 * device 0 (not_moved); a move to host collects pages from both devices.
 */
TEST_F_TIMEOUT(migrate, two_devices, MIG_TIMEOUT)
{
	const size_t len = 8 * GM_MIB, n = gm_pages(len), half = n / 2;
	const struct gmem_fake_info *i0 = &self->d.info[0], *i1 = &self->d.info[1];
	void *tail;
	struct gmem_fake_info info;
	struct gmem_fake_migrate m;
	struct gm_pfns pf;

	ASSERT_NE(NULL, map_buf(self, len));
	tail = gm_page_addr(self->buf, half);
	gm_fill(self->buf, 0, n, 7);

	ASSERT_EQ(0, gm_migrate(self->d.fd[1], tail, len / 2, 1, &m));
	ASSERT_EQ(n - half, m.moved);
	ASSERT_EQ(0, gm_migrate(self->d.fd[0], self->buf, len, 0, &m));
	ASSERT_EQ(half, m.moved);
	ASSERT_EQ(n - half, m.not_moved);

	ASSERT_EQ((long)half, gm_query_count(self->d.fd[0], self->buf, half, dev_loc(self, 0)));
	ASSERT_EQ((long)(n - half), gm_query_count(self->d.fd[0], tail, n - half,
						   dev_loc(self, 1)));
	ASSERT_EQ(0, gm_pfns_dev(self->buf, half, i0, &pf));
	ASSERT_EQ(half, pf.in_dev);
	ASSERT_EQ(0, gm_pfns_dev(tail, n - half, i1, &pf));
	ASSERT_EQ(n - half, pf.in_dev);
	ASSERT_EQ(0, gm_info(self->d.fd[0], &info));
	ASSERT_EQ(half, info.used_pages);
	ASSERT_EQ(0, gm_info(self->d.fd[1], &info));
	ASSERT_EQ(n - half, info.used_pages);
	ASSERT_EQ(-1, gm_check(self->buf, 0, n, 7));

	ASSERT_EQ(0, gm_migrate(self->d.fd[0], self->buf, len, GMEM_FAKE_DEST_HOST, &m));
	ASSERT_EQ(n, m.moved);
	ASSERT_EQ(0, m.not_moved);
	ASSERT_EQ((long)n, gm_query_count(self->d.fd[0], self->buf, n, GMEM_LOC_HOST));
	ASSERT_EQ(0, gm_pfns_dev(self->buf, n, i0, &pf));
	ASSERT_EQ(0, pf.in_dev);
	ASSERT_EQ(0, gm_pfns_dev(self->buf, n, i1, &pf));
	ASSERT_EQ(0, pf.in_dev);
	ASSERT_EQ(-1, gm_check(self->buf, 0, n, 7));
	ASSERT_EQ(0, gm_wait_idle(self->d.fd[0], &info, 0));
	ASSERT_EQ(0, gm_wait_idle(self->d.fd[1], &info, 0));
}


/*
 * The logical page table follows the CPU: pages dropped with
 * MADV_DONTNEED read as NONE, a copy-on-write that gives the parent a host
 * copy reads as HOST, and untouched device pages still read as on the
 * device (the invalidations that hit them did not move them).
 */
TEST_F_TIMEOUT(migrate, query_follows_cpu, MIG_TIMEOUT)
{
	const size_t len = 8 * GM_MIB, n = gm_pages(len), drop = 64;
	const struct gmem_fake_info *before = &self->d.info[0];
	struct gmem_fake_migrate m;
	int fd = self->d.fd[0], pipefd[2], status;
	uint8_t *locs;
	struct gm_pfns pf;
	char *cow;
	pid_t pid;
	size_t i;

	ASSERT_NE(NULL, map_buf(self, len));
	gm_fill(self->buf, 0, n, 3);
	ASSERT_EQ(0, gm_migrate(fd, self->buf, len, 0, &m));
	ASSERT_EQ(n, m.moved);

	/* Drop the first pages: the CPU has nothing there any more. */
	ASSERT_EQ(0, madvise(self->buf, drop * GM_PAGE_SIZE, MADV_DONTNEED));

	/* A child shares the rest; the parent writes one page: CoW. */
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char c;

		close(pipefd[1]);
		_exit(read(pipefd[0], &c, 1) == 1 ? 0 : 1);
	}
	close(pipefd[0]);
	cow = gm_page_addr(self->buf, drop);
	cow[0] = 0x5a;
	ASSERT_EQ(1, write(pipefd[1], "x", 1));
	close(pipefd[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);

	locs = malloc(n);
	ASSERT_NE(NULL, locs);
	ASSERT_EQ(0, gm_query(fd, self->buf, n, locs));
	for (i = 0; i < drop; i++)
		ASSERT_EQ(GMEM_LOC_NONE, locs[i]) TH_LOG("page %zu", i);
	ASSERT_EQ(GMEM_LOC_HOST, locs[drop]);
	for (i = drop + 1; i < n; i++)
		ASSERT_EQ(dev_loc(self, 0), locs[i]) TH_LOG("page %zu", i);
	free(locs);

	/* The CPU page table agrees, and no data was lost. */
	ASSERT_EQ(0, gm_pfns_dev(gm_page_addr(self->buf, drop + 1), n - drop - 1,
				 before, &pf));
	ASSERT_EQ(n - drop - 1, pf.in_dev);
	ASSERT_EQ(-1, gm_check_zero(self->buf, 0, drop));
	ASSERT_EQ(0x5a, cow[0]);
	ASSERT_EQ(-1, gm_check(self->buf, drop + 1, n - drop - 1, 3));
}

TEST_HARNESS_MAIN
