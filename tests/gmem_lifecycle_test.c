// SPDX-License-Identifier: GPL-2.0
/*
 * gmem_fake lifecycles: fork, munmap and exit with pages on the device,
 * rmmod with pages mapped, removal of the PCI device under an open file,
 * repeated load/unload.
 *
 * The module tests need GMEM_FAKE_PARAMS (set by the VM harness) to load the
 * module again, and close every fd first: an open fd pins the module.
 */
#include <dirent.h>
#include "gmem_test_util.h"
#include "kselftest_harness.h"

#define LC_TIMEOUT	300
#define DEV0		"/dev/gmem_fake0"

FIXTURE(lifecycle) {
	struct gm_devs d;
	void *buf;
	size_t len;
};

FIXTURE_SETUP(lifecycle)
{
	char why[256] = "";

	self->buf = NULL;
	ASSERT_EQ(0, gm_devs_open(&self->d, 0x3, why, sizeof(why)))
		TH_LOG("%s", why);
}

FIXTURE_TEARDOWN(lifecycle)
{
	const char *params = getenv("GMEM_FAKE_PARAMS");

	if (self->buf)
		munmap(self->buf, self->len);
	gm_devs_close(&self->d);
	/* A module test that failed half way: leave the module loaded. */
	if (params && access(DEV0, F_OK))
		gm_modprobe(params);
}

static void *map_buf(FIXTURE_DATA(lifecycle) *self, size_t len)
{
	self->len = len;
	self->buf = gm_map_anon(len);
	return self->buf;
}

/* What the fork child checks; its exit status indexes this table. */
static const char *const child_errs[] = {
	[1] = "child read wrong data before writing",
	[2] = "child read back wrong data after writing its own",
	[3] = "child could not read /proc/self/pagemap",
	[4] = "child's written pages are not all present outside device memory",
};

static int fork_child(void *buf, size_t n, const struct gmem_fake_info *info)
{
	struct gm_pfns pf;

	if (gm_check(buf, 0, n, 1) != -1)
		return 1;
	gm_fill(buf, 0, n, 2);
	if (gm_check(buf, 0, n, 2) != -1)
		return 2;
	if (gm_pfns_dev(buf, n, info, &pf))
		return 3;
	if (pf.present != n || pf.in_dev)
		return 4;
	return 0;
}

/*
 * Required test 7: a child shares the parent's device pages after fork,
 * breaks CoW into host memory on write; the parent keeps its device pages.
 */
TEST_F_TIMEOUT(lifecycle, fork_while_on_device, LC_TIMEOUT)
{
	const size_t len = 4 * GM_MIB, n = gm_pages(len);
	const struct gmem_fake_info *i0 = &self->d.info[0];
	struct gmem_fake_migrate m;
	int fd = self->d.fd[0], status, code;
	struct gm_pfns pf;
	pid_t pid;

	ASSERT_NE(NULL, map_buf(self, len));
	gm_fill(self->buf, 0, n, 1);
	ASSERT_EQ(0, gm_migrate(fd, self->buf, len, 0, &m));
	ASSERT_EQ(n, m.moved);

	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(fork_child(self->buf, n, i0));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("child died, status %#x", status);
	code = WEXITSTATUS(status);
	ASSERT_EQ(0, code) TH_LOG("%s", code < 5 ? child_errs[code] : "?");

	ASSERT_EQ(-1, gm_check(self->buf, 0, n, 1)) TH_LOG("child's writes reached the parent");
	ASSERT_EQ(0, gm_pfns_dev(self->buf, n, i0, &pf));
	ASSERT_EQ(n, pf.present);
	ASSERT_EQ(n, pf.in_dev);
	ASSERT_EQ((long)n, gm_query_count(fd, self->buf, n, GMEM_LOC_DEV(i0->gm_dev_id)));
}

/* Required test 8: munmap hands every device page back, on both devices. */
TEST_F_TIMEOUT(lifecycle, munmap_returns_device_pages, LC_TIMEOUT)
{
	const size_t len = 16 * GM_MIB, n = gm_pages(len), half = n / 2;
	struct gmem_fake_info info;
	struct gmem_fake_migrate m;
	int i;

	ASSERT_NE(NULL, map_buf(self, len));
	gm_fill(self->buf, 0, n, 3);
	ASSERT_EQ(0, gm_migrate(self->d.fd[0], self->buf, len / 2, 0, &m));
	ASSERT_EQ(half, m.moved);
	ASSERT_EQ(0, gm_migrate(self->d.fd[1], gm_page_addr(self->buf, half), len / 2, 1, &m));
	ASSERT_EQ(n - half, m.moved);
	for (i = 0; i < GM_NR_DEVS; i++) {
		ASSERT_EQ(0, gm_info(self->d.fd[i], &info));
		ASSERT_EQ(half, info.used_pages);
		ASSERT_EQ(info.total_pages - half, info.free_pages);
	}

	ASSERT_EQ(0, munmap(self->buf, len));
	self->buf = NULL;
	for (i = 0; i < GM_NR_DEVS; i++) {
		ASSERT_EQ(0, gm_info(self->d.fd[i], &info));
		ASSERT_EQ(info.total_pages, info.free_pages) TH_LOG("device %d", i);
		ASSERT_EQ(0, info.used_pages) TH_LOG("device %d", i);
	}
}

/*
 * Required test 9: a child attaches its own fd, migrates 16 MiB and exits
 * without munmap or close; its pages must all come back.
 */
TEST_F_TIMEOUT(lifecycle, exit_returns_device_pages, LC_TIMEOUT)
{
	const size_t len = 16 * GM_MIB, n = gm_pages(len);
	int up[2], down[2], status;
	struct gmem_fake_info info;
	uint64_t moved = 0, t;
	char c;
	pid_t pid;

	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct gmem_fake_migrate m = { 0 };
		void *p = gm_map_anon(len);
		int fd = gm_open(0);

		close(up[0]);
		close(down[1]);
		if (p && fd >= 0 && !gm_attach(fd)) {
			gm_fill(p, 0, n, 4);
			if (!gm_migrate(fd, p, len, 0, &m))
				moved = m.moved;
		}
		if (write(up[1], &moved, sizeof(moved)) != sizeof(moved))
			_exit(2);
		/* Wait for the parent's look at INFO, then exit as is. */
		while (read(down[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	ASSERT_EQ((ssize_t)sizeof(moved), read(up[0], &moved, sizeof(moved)));
	ASSERT_EQ(n, moved) TH_LOG("the child failed to migrate its buffer");
	ASSERT_EQ(0, gm_info(self->d.fd[0], &info));
	ASSERT_EQ(n, info.used_pages);
	ASSERT_EQ(info.total_pages - n, info.free_pages);

	close(down[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	close(up[0]);

	t = gm_now_ns();
	ASSERT_EQ(0, gm_wait_idle(self->d.fd[0], &info, 2000))
		TH_LOG("free %llu of %llu, used %llu after the child was reaped",
		       (unsigned long long)info.free_pages,
		       (unsigned long long)info.total_pages,
		       (unsigned long long)info.used_pages);
	t = gm_now_ns() - t;
	if (t > 20 * 1000 * 1000)
		ksft_print_msg("device pages came back %.1f ms after waitpid()\n", gm_ms(t));
}

/*
 * Required test 10: rmmod while pages sit on the device (no fd open) must
 * evict them with their data; the module then loads again, idle.
 */
TEST_F_TIMEOUT(lifecycle, rmmod_with_pages_mapped, LC_TIMEOUT)
{
	const char *params = getenv("GMEM_FAKE_PARAMS");
	const size_t len = 8 * GM_MIB, n = gm_pages(len);
	const struct gmem_fake_info i0 = self->d.info[0];
	struct gmem_fake_migrate m;
	struct gmem_fake_info info;
	struct gm_pfns pf;
	int fd;

	if (!params)
		SKIP(return, "GMEM_FAKE_PARAMS not set: could not load gmem_fake again");
	gm_devs_close(&self->d);

	fd = gm_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, gm_attach(fd));
	ASSERT_NE(NULL, map_buf(self, len));
	gm_fill(self->buf, 0, n, 5);
	ASSERT_EQ(0, gm_migrate(fd, self->buf, len, 0, &m));
	ASSERT_EQ(n, m.moved);
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(0, gm_pfns_dev(self->buf, n, &i0, &pf));
	ASSERT_EQ(n, pf.in_dev) TH_LOG("close() took pages off the device: nothing left for rmmod");

	ASSERT_EQ(0, gm_rmmod());
	ASSERT_EQ(0, gm_wait_path(DEV0, false, 5000)) TH_LOG(DEV0 " still there after rmmod");
	ASSERT_EQ(0, gm_wait_path("/sys/class/gmem/gmem_fake0", false, 5000));
	ASSERT_EQ(-1, gm_check(self->buf, 0, n, 5));
	ASSERT_EQ(0, gm_pfns_dev(self->buf, n, &i0, &pf));
	ASSERT_EQ(n, pf.present);
	ASSERT_EQ(0, pf.in_dev);

	ASSERT_EQ(0, gm_modprobe(params)) TH_LOG("modprobe gmem_fake %s", params);
	ASSERT_EQ(0, gm_wait_path(DEV0, true, 5000));
	fd = gm_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, gm_info(fd, &info));
	ASSERT_EQ(i0.total_pages, info.total_pages);
	ASSERT_EQ(info.total_pages, info.free_pages);
	ASSERT_EQ(0, info.used_pages);
	ASSERT_EQ(0, info.to_dev_pages);
	/* gmem's page table must not remember the evicted pages as on a device. */
	ASSERT_EQ(0, gm_attach(fd));
	ASSERT_EQ(0, gm_query_count(fd, self->buf, n, GMEM_LOC_DEV(i0.gm_dev_id)));
	ASSERT_EQ(0, gm_query_count(fd, self->buf, n, GMEM_LOC_DEV(info.gm_dev_id)));
	close(fd);
	ASSERT_EQ(-1, gm_check(self->buf, 0, n, 5));
}

/*
 * The PCI device of gmem_fake0 goes (as in a hot unplug: sysfs "remove")
 * while a process has it open and attached, with pages in its memory and
 * host pages mapped by its MMU, and a second fd open unattached.  The
 * pages come back to host RAM with their data and the device's stores,
 * every ioctl on the open fds fails with -ENODEV, closing them is clean
 * (no leak, no DMA-API report: the debug lane checks), and a PCI rescan
 * brings the device back in its role, empty and usable.
 */
TEST_F_TIMEOUT(lifecycle, pci_remove_with_a_node_open, LC_TIMEOUT)
{
	const size_t len = 4 * GM_MIB, n = gm_pages(len);
	const struct gmem_fake_info i0 = self->d.info[0];
	struct gmem_fake_prefetch pre = { .flags = GMEM_FAKE_PREFETCH_IN_PLACE |
						   GMEM_FAKE_PREFETCH_WRITE };
	char fn[PATH_MAX], fn2[PATH_MAX], path[PATH_MAX + 16];
	const uint64_t mark = 0x64657673746f7265ull;	/* "devstore" */
	struct gmem_fake_mmu_stats st;
	struct gmem_fake_migrate m;
	struct gmem_fake_info info;
	struct gm_pfns pf;
	uint64_t word;
	char *buf;
	int fd, idle;

	if (!(i0.flags & GMEM_FAKE_INFO_PCI))
		SKIP(return, "gmem_fake0 runs on memmap= memory, not on a PCI device");
	gm_devs_close(&self->d);
	ASSERT_NE(NULL, realpath("/sys/class/gmem/gmem_fake0/device", fn));

	fd = gm_open(0);
	ASSERT_LE(0, fd);
	idle = gm_open(0);
	ASSERT_LE(0, idle);
	ASSERT_EQ(0, gm_attach(fd));
	buf = map_buf(self, 2 * len);
	ASSERT_NE(NULL, buf);
	gm_fill(buf, 0, 2 * n, 9);
	/* First half into device memory, second half mapped by the device. */
	ASSERT_EQ(0, gm_migrate(fd, buf, len, 0, &m));
	ASSERT_EQ(n, m.moved);
	pre.addr = (uintptr_t)buf + len;
	pre.length = len;
	ASSERT_EQ(0, gm_ioctl(fd, GMEM_FAKE_IOC_PREFETCH, &pre));
	ASSERT_EQ(0, gm_dev_access(fd, buf + len, sizeof(mark), (void *)&mark,
				   true, NULL));
	ASSERT_EQ(0, gm_mmu_stats(fd, &st));
	ASSERT_LE(n, st.mapped_pages);

	snprintf(path, sizeof(path), "%s/remove", fn);
	ASSERT_EQ(0, gm_write_file(path, "1")) TH_LOG("%s", path);
	ASSERT_EQ(0, gm_wait_path(DEV0, false, 5000));
	ASSERT_EQ(0, gm_wait_path("/sys/class/gmem/gmem_fake0", false, 5000));
	ASSERT_NE(0, access(fn, F_OK)) TH_LOG("%s still there", fn);

	EXPECT_EQ(-ENODEV, gm_info(fd, &info));
	EXPECT_EQ(-ENODEV, gm_info(idle, &info));
	EXPECT_EQ(-ENODEV, gm_attach(idle));
	EXPECT_EQ(-ENODEV, gm_migrate(fd, buf, len, 0, &m));
	EXPECT_EQ(-ENODEV, gm_dev_access(fd, buf, sizeof(word), &word, false, NULL));
	EXPECT_EQ(-ENODEV, gm_mmu_stats(fd, &st));
	EXPECT_EQ(-ENODEV, gm_detach(fd));

	/* Everything is in host RAM, with the data and the device's store. */
	ASSERT_EQ(0, gm_pfns_dev(buf, 2 * n, &i0, &pf));
	EXPECT_EQ(2 * n, pf.present);
	EXPECT_EQ(0, pf.in_dev);
	EXPECT_EQ(-1, gm_check(buf, 0, n, 9));
	EXPECT_EQ(0, memcmp(buf + len, &mark, sizeof(mark)));
	memcpy(buf + len, &(uint64_t){ gm_pat(9, n, 0) }, sizeof(mark));
	EXPECT_EQ(-1, gm_check(buf, n, n, 9));
	ASSERT_EQ(0, close(idle));
	ASSERT_EQ(0, close(fd));

	ASSERT_EQ(0, gm_write_file("/sys/bus/pci/rescan", "1"));
	ASSERT_EQ(0, gm_wait_path(DEV0, true, 5000)) TH_LOG("no " DEV0 " after a PCI rescan");
	ASSERT_NE(NULL, realpath("/sys/class/gmem/gmem_fake0/device", fn2));
	EXPECT_STREQ(fn, fn2);
	fd = gm_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, gm_info(fd, &info));
	EXPECT_EQ(i0.total_pages, info.total_pages);
	EXPECT_EQ(info.total_pages, info.free_pages);
	EXPECT_EQ(0, info.to_dev_pages);
	ASSERT_EQ(0, gm_attach(fd));
	ASSERT_EQ(0, gm_migrate(fd, buf, 2 * len, 0, &m));
	EXPECT_EQ(2 * n, m.moved);
	ASSERT_EQ(0, gm_dev_access(fd, buf, sizeof(word), &word, false, NULL));
	EXPECT_EQ(gm_pat(9, 0, 0), word);
	EXPECT_EQ(-1, gm_check(buf, 0, 2 * n, 9));
	ASSERT_EQ(0, close(fd));
}

/* Required test 11: 20 unload/load cycles, INFO works after each load. */
TEST_F_TIMEOUT(lifecycle, load_unload_20, 600)
{
	const char *params = getenv("GMEM_FAKE_PARAMS");
	struct gmem_fake_info info;
	uint64_t t = gm_now_ns();
	int i, dev, fd;

	if (!params)
		SKIP(return, "GMEM_FAKE_PARAMS not set: could not load gmem_fake again");
	gm_devs_close(&self->d);

	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, gm_rmmod()) TH_LOG("cycle %d", i);
		ASSERT_EQ(0, gm_wait_path(DEV0, false, 5000)) TH_LOG("cycle %d", i);
		ASSERT_EQ(0, gm_modprobe(params)) TH_LOG("cycle %d", i);
		for (dev = 0; dev < GM_NR_DEVS; dev++) {
			char path[32];

			snprintf(path, sizeof(path), "/dev/gmem_fake%d", dev);
			ASSERT_EQ(0, gm_wait_path(path, true, 5000)) TH_LOG("cycle %d", i);
			fd = gm_open(dev);
			ASSERT_LE(0, fd) TH_LOG("cycle %d device %d", i, dev);
			ASSERT_EQ(0, gm_info(fd, &info)) TH_LOG("cycle %d device %d", i, dev);
			close(fd);
			ASSERT_EQ(GMEM_ABI_VERSION, info.abi_version);
			ASSERT_EQ((unsigned int)dev, info.index);
			ASSERT_EQ(self->d.info[dev].total_pages, info.total_pages);
			ASSERT_EQ(info.total_pages, info.free_pages);
			ASSERT_EQ(0, info.used_pages);
		}
	}
	t = gm_now_ns() - t;
	ksft_print_msg("20 unload/load cycles: %.0f ms, %.1f ms per cycle\n",
		       gm_ms(t), gm_ms(t) / 20);
}

/*
 * The physical base of BAR2 of the first ivshmem-plain PCI device, memory
 * that is not System RAM, or 0x100000000 (the test VM's memmap= range)
 * without such a device.
 */
static unsigned long long first_bar2(void)
{
	char path[300], line[128];
	unsigned long long start = 0x100000000ull;
	struct dirent *e;
	DIR *d = opendir("/sys/bus/pci/devices");
	FILE *f;
	int i;

	while (d && (e = readdir(d))) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", e->d_name);
		if (gm_read_long(path) != 0x1af4)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", e->d_name);
		if (gm_read_long(path) != 0x1110)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", e->d_name);
		f = fopen(path, "r");
		for (i = 0; f && i <= 2 && fgets(line, sizeof(line), f); i++)
			if (i == 2)
				start = strtoull(line, NULL, 16);
		if (f)
			fclose(f);
		break;
	}
	if (d)
		closedir(d);
	return start;
}

/*
 * gmem_fake refuses device memory it cannot use, says why in the kernel log,
 * and leaves no device behind: missing or misaligned ranges, System RAM, a
 * range claimed twice, a BAR too small, a bad device count or device name.
 */
TEST_F_TIMEOUT(lifecycle, bad_module_params, LC_TIMEOUT)
{
	unsigned long long bar = first_bar2();
	char twice[160];
	const struct {
		const char *params;
		const char *reason;	/* in the kernel log */
	} bad[] = {
		{ "num_devices=1 devmem_base=0x100000000", "devmem_base needs devmem_size" },
		{ "num_devices=2 devmem_base=0x100000000 devmem_size=0x10000000",
		  "devmem_base needs 2 addresses" },
		{ "num_devices=9", "num_devices must be" },
		{ "num_devices=1 devmem_base=0x100001000 devmem_size=0x10000000",
		  "not 2 MiB aligned" },
		{ "num_devices=1 devmem_base=0x100000000 devmem_size=0",
		  "not 2 MiB aligned or empty" },
		{ "num_devices=1 devmem_base=0x1000000 devmem_size=0x10000000",
		  "System RAM" },
		{ twice, "claimed by a driver" },
		/* Every ivshmem-plain device of the VM has a BAR2 of 1 GiB. */
		{ "num_devices=1 devmem_size=0x80000000", "2048 MiB asked" },
		{ "dmirror=1 dmirror_name=a/b", "dmirror_name must be" },
		{ "dmirror=1 dmirror_name=seventeen_chars_x", "dmirror_name must be" },
	};
	const char *params = getenv("GMEM_FAKE_PARAMS");
	size_t i;

	if (!params)
		SKIP(return, "GMEM_FAKE_PARAMS not set: could not load gmem_fake again");
	snprintf(twice, sizeof(twice),
		 "num_devices=2 devmem_base=%#llx,%#llx devmem_size=0x10000000", bar, bar);
	gm_devs_close(&self->d);
	ASSERT_EQ(0, gm_rmmod());
	ASSERT_EQ(0, gm_wait_path(DEV0, false, 5000));

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_NE(0, gm_modprobe(bad[i].params)) TH_LOG("%s", bad[i].params);
		EXPECT_NE(0, access(DEV0, F_OK)) TH_LOG("%s", bad[i].params);
		EXPECT_EQ(0, gm_sh("dmesg | tail -n 8 | grep -q '%s'", bad[i].reason))
			TH_LOG("%s: no '%s' in the kernel log", bad[i].params, bad[i].reason);
		gm_sh("rmmod gmem_fake 2>/dev/null");
	}

	/* A good dmirror_name names the test_hmm devices, and only them. */
	ASSERT_EQ(0, gm_modprobe("num_devices=1 dmirror=1 dmirror_name=gm_mirror"));
	EXPECT_EQ(0, gm_wait_path("/dev/gm_mirror3", true, 5000));
	EXPECT_EQ(0, gm_wait_path(DEV0, true, 5000));
	EXPECT_NE(0, access("/dev/hmm_dmirror0", F_OK));
	ASSERT_EQ(0, gm_rmmod());
	ASSERT_EQ(0, gm_wait_path("/dev/gm_mirror3", false, 5000));

	ASSERT_EQ(0, gm_modprobe(params));
	ASSERT_EQ(0, gm_wait_path(DEV0, true, 5000));
}

TEST_HARNESS_MAIN
