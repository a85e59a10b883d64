// SPDX-License-Identifier: GPL-2.0
/*
 * Device faults through the fake device's MMU and TLB: the device reads
 * what the CPU wrote and the other way round, first touch pulls pages into
 * device memory, every CPU page-table change reaches the device (a stale
 * TLB entry would return old bytes), write permission is honoured, and
 * faults from several threads and racing munmap stay correct.
 */
#include <pthread.h>
#include <sys/syscall.h>
#include <linux/mempolicy.h>
#include "gmem_test_util.h"
#include "kselftest_harness.h"

#define FAULT_TIMEOUT	300

#define NUMA_BALANCING	"/proc/sys/kernel/numa_balancing"

FIXTURE(fault) {
	struct gm_devs d;
	void *buf;
	size_t len;
	int fd;
	long numa_balancing;	/* to restore, or -1 */
};

FIXTURE_SETUP(fault)
{
	char why[256] = "";

	self->buf = NULL;
	self->numa_balancing = -1;
	ASSERT_EQ(0, gm_devs_open(&self->d, 0x1, why, sizeof(why)))
		TH_LOG("%s", why);
	self->fd = self->d.fd[0];
}

FIXTURE_TEARDOWN(fault)
{
	char val[24];

	if (self->buf)
		munmap(self->buf, self->len);
	gm_devs_close(&self->d);
	if (self->numa_balancing >= 0) {
		snprintf(val, sizeof(val), "%ld", self->numa_balancing);
		gm_write_file(NUMA_BALANCING, val);
	}
}

/*
 * NUMA balancing write-protects memory it samples, which is an
 * invalidation: off for tests that count them.
 */
static void numa_balancing_off(FIXTURE_DATA(fault) *self)
{
	long nb = gm_read_long(NUMA_BALANCING);

	if (nb > 0 && !gm_write_file(NUMA_BALANCING, "0"))
		self->numa_balancing = nb;
}

static void *map_buf(FIXTURE_DATA(fault) *self, size_t len)
{
	self->len = len;
	self->buf = gm_map_anon(len);
	return self->buf;
}

/* The device reads the CPU's data; first touch moves it to device memory. */
TEST_F_TIMEOUT(fault, device_reads_cpu_data, FAULT_TIMEOUT)
{
	const size_t len = 4 * GM_MIB, n = gm_pages(len);
	struct gmem_fake_mmu_stats st;
	unsigned int faults;
	void *copy;

	ASSERT_NE(NULL, map_buf(self, len));
	gm_fill(self->buf, 0, n, 11);
	copy = malloc(len);
	ASSERT_NE(NULL, copy);

	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, copy, false, &faults));
	ASSERT_LT(0, faults);
	ASSERT_EQ(-1, gm_check(copy, 0, n, 11));
	ASSERT_EQ((long)n, gm_query_count(self->fd, self->buf, n,
					  GMEM_LOC_DEV(self->d.info[0].gm_dev_id)));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &st));
	ASSERT_EQ(n, st.mapped_pages);
	ASSERT_EQ(faults, st.faults);

	/* Mapped now: reading again raises no fault. */
	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, copy, false, &faults));
	ASSERT_EQ(0, faults);
	free(copy);
}

/* The CPU reads what the device wrote, and the device what the CPU wrote. */
TEST_F_TIMEOUT(fault, cpu_and_device_see_each_other, FAULT_TIMEOUT)
{
	const size_t len = 2 * GM_MIB, n = gm_pages(len);
	void *src, *back;

	ASSERT_NE(NULL, map_buf(self, len));
	src = malloc(len);
	back = malloc(len);
	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, back);
	gm_fill(src, 0, n, 12);

	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, src, true, NULL));
	ASSERT_EQ(-1, gm_check(self->buf, 0, n, 12));

	gm_fill(self->buf, 0, n, 13);
	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, back, false, NULL));
	ASSERT_EQ(-1, gm_check(back, 0, n, 13));

	/* An unaligned access across pages. */
	ASSERT_EQ(0, gm_dev_access(self->fd, (char *)self->buf + 100, 3 * GM_PAGE_SIZE,
				   (char *)back + 100, false, NULL));
	ASSERT_EQ(0, memcmp((char *)self->buf + 100, (char *)back + 100,
			    3 * GM_PAGE_SIZE));
	free(src);
	free(back);
}

/*
 * MADV_DONTNEED reaches the device: it reads zeroes afterwards, not the
 * old bytes through its TLB, and the mappings are gone.
 */
TEST_F_TIMEOUT(fault, dontneed_reaches_device, FAULT_TIMEOUT)
{
	const size_t len = 2 * GM_MIB, n = gm_pages(len), drop = 16;
	struct gmem_fake_mmu_stats before, after;
	void *copy;

	ASSERT_NE(NULL, map_buf(self, len));
	gm_fill(self->buf, 0, n, 14);
	copy = malloc(len);
	ASSERT_NE(NULL, copy);
	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, copy, false, NULL));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &before));

	ASSERT_EQ(0, madvise(self->buf, drop * GM_PAGE_SIZE, MADV_DONTNEED));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &after));
	ASSERT_LT(before.invalidations, after.invalidations);
	ASSERT_LT(before.tlb_flushes, after.tlb_flushes);
	ASSERT_EQ(before.mapped_pages - drop, after.mapped_pages);

	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, copy, false, NULL));
	ASSERT_EQ(-1, gm_check_zero(copy, 0, drop));
	ASSERT_EQ(-1, gm_check(copy, drop, n - drop, 14));
	free(copy);
}

/* A read-only mapping refuses device stores; reads still work. */
TEST_F_TIMEOUT(fault, readonly_refuses_device_write, FAULT_TIMEOUT)
{
	const size_t len = GM_MIB, n = gm_pages(len);
	void *data;

	ASSERT_NE(NULL, map_buf(self, len));
	gm_fill(self->buf, 0, n, 15);
	data = malloc(len);
	ASSERT_NE(NULL, data);

	/* Mapped writable first, then write-protected by the CPU. */
	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, data, false, NULL));
	ASSERT_EQ(0, mprotect(self->buf, len, PROT_READ));
	gm_fill(data, 0, n, 16);
	ASSERT_EQ(-EPERM, gm_dev_access(self->fd, self->buf, len, data, true, NULL));
	ASSERT_EQ(-1, gm_check(self->buf, 0, n, 15));
	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, data, false, NULL));
	ASSERT_EQ(-1, gm_check(data, 0, n, 15));
	free(data);
}

/*
 * The permission answer does not depend on how busy the machine is: a
 * store to read-only memory is -EPERM even when the device's first touch
 * of it (a migration through a copy engine that stalls 1.5 s a request)
 * took longer than the time gmem gives a range to stop changing.
 */
TEST_F_TIMEOUT(fault, readonly_eperm_after_slow_first_touch, FAULT_TIMEOUT)
{
	const char *knob = "/sys/kernel/debug/gmem_fake/delay_us";
	const size_t len = 16 * GM_PAGE_SIZE;
	char data[64] = "";
	volatile char *p;
	size_t i;
	int ret;

	ASSERT_NE(NULL, map_buf(self, len));
	ASSERT_EQ(0, mprotect(self->buf, len, PROT_READ));
	for (p = self->buf, i = 0; i < len; i += GM_PAGE_SIZE)
		(void)p[i];
	ASSERT_EQ(0, gm_write_file(knob, "1500000"));
	ret = gm_dev_access(self->fd, self->buf, sizeof(data), data, true, NULL);
	ASSERT_EQ(0, gm_write_file(knob, "0"));
	ASSERT_EQ(-EPERM, ret);
	ASSERT_EQ(-1, gm_check_zero(self->buf, 0, gm_pages(len)));
}

/* Unmapped memory: the device fault fails cleanly. */
TEST_F_TIMEOUT(fault, unmapped_is_efault, FAULT_TIMEOUT)
{
	char data[64];
	void *p = gm_map_anon(GM_MIB);

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, munmap(p, GM_MIB));
	ASSERT_EQ(-EFAULT, gm_dev_access(self->fd, p, sizeof(data), data, false, NULL));
	ASSERT_EQ(-EINVAL, gm_dev_access(self->fd, p, 0, data, false, NULL));
}

/*
 * fork with device mappings: after the parent's device store (which breaks
 * copy-on-write for the parent), the child still sees its own data.
 */
TEST_F_TIMEOUT(fault, fork_then_device_write, FAULT_TIMEOUT)
{
	const size_t len = GM_MIB, n = gm_pages(len);
	int go[2], status;
	void *data;
	pid_t pid;

	ASSERT_NE(NULL, map_buf(self, len));
	gm_fill(self->buf, 0, n, 17);
	data = malloc(len);
	ASSERT_NE(NULL, data);
	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, data, false, NULL));
	ASSERT_EQ(0, pipe(go));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char c;

		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(gm_check(self->buf, 0, n, 17) == -1 ? 0 : 1);
	}
	close(go[0]);
	gm_fill(data, 0, n, 18);
	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, data, true, NULL));
	ASSERT_EQ(1, write(go[1], "x", 1));
	close(go[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status) TH_LOG("child saw the parent's device store");
	ASSERT_EQ(-1, gm_check(self->buf, 0, n, 18));
	free(data);
}

struct racer {
	int fd;
	char *buf;
	size_t len;
	uint64_t seed;
	int err;
};

static void *device_writer(void *arg)
{
	struct racer *r = arg;
	void *src = malloc(r->len);

	if (!src) {
		r->err = -ENOMEM;
		return NULL;
	}
	gm_fill(src, 0, gm_pages(r->len), r->seed);
	r->err = gm_dev_access(r->fd, r->buf, r->len, src, true, NULL);
	free(src);
	return NULL;
}

/* Two threads fault their own halves and the same page concurrently. */
TEST_F_TIMEOUT(fault, two_threads, FAULT_TIMEOUT)
{
	const size_t len = 4 * GM_MIB, half = len / 2;
	struct racer r[2];
	pthread_t t[2];
	char a[64], b[64];
	int i;

	ASSERT_NE(NULL, map_buf(self, len));
	for (i = 0; i < 2; i++) {
		r[i] = (struct racer){ self->fd, (char *)self->buf + i * half,
				       half, 20 + i, 0 };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, device_writer, &r[i]));
	}
	/* Meanwhile the main thread reads the first page through the device. */
	for (i = 0; i < 50; i++)
		ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, sizeof(a), a, false, NULL));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, pthread_join(t[i], NULL));
		ASSERT_EQ(0, r[i].err);
	}
	ASSERT_EQ(-1, gm_check(self->buf, 0, gm_pages(half), 20));
	ASSERT_EQ(-1, gm_check((char *)self->buf + half, 0, gm_pages(half), 21));
	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, sizeof(b), b, false, NULL));
	ASSERT_EQ(0, memcmp(self->buf, b, sizeof(b)));
}

/*
 * Unmaps and maps the range again, 200 rounds.  After each mapping it
 * waits until the device has read the range once with no unmap running
 * (struct unmap_race): the accesses in between race munmap freely.
 */
struct unmap_race {
	int fd;
	char *buf;
	size_t len;
	int err;
	unsigned int mapped;	/* rounds mapped and filled */
	unsigned int checked;	/* rounds the device read in full */
	bool done;
};

#define UNMAP_RACE_ROUNDS	200

static void *unmapper(void *arg)
{
	struct unmap_race *u = arg;
	unsigned int i;

	for (i = 1; i <= UNMAP_RACE_ROUNDS && !u->err; i++) {
		munmap(u->buf, u->len);
		if (mmap(u->buf, u->len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != u->buf) {
			u->err = -errno;
			break;
		}
		memset(u->buf, i, u->len);
		__atomic_store_n(&u->mapped, i, __ATOMIC_RELEASE);
		while (__atomic_load_n(&u->checked, __ATOMIC_ACQUIRE) < i &&
		       !__atomic_load_n(&u->err, __ATOMIC_RELAXED))
			sched_yield();
	}
	__atomic_store_n(&u->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Device faults racing munmap: each access succeeds or says -EFAULT, and
 * one access per round, which no unmap overlaps, must succeed and read
 * what the CPU wrote in that round: a fault path that fails on a mapped
 * range, or never recovers after an unmap, fails here, however the two
 * threads are scheduled.
 */
TEST_F_TIMEOUT(fault, fault_races_munmap, FAULT_TIMEOUT)
{
	const size_t len = 256 * 1024;
	struct unmap_race u = { 0 };
	unsigned int round, i = 0, checked = 0, ok = 0, gone = 0;
	unsigned char data[4096];
	pthread_t t;
	int ret;

	ASSERT_NE(NULL, map_buf(self, len));
	memset(self->buf, 0, len);
	u.fd = self->fd;
	u.buf = self->buf;
	u.len = len;
	ASSERT_EQ(0, pthread_create(&t, NULL, unmapper, &u));
	while (!__atomic_load_n(&u.done, __ATOMIC_ACQUIRE)) {
		round = __atomic_load_n(&u.mapped, __ATOMIC_ACQUIRE);
		ret = gm_dev_access(self->fd, (char *)self->buf + (i++ % 64) * 4096,
				    sizeof(data), data, false, NULL);
		if (!ret)
			ok++;
		else if (ret == -EFAULT)
			gone++;
		if (round <= checked)
			continue;
		/* The unmapper waits for this access: the range stayed mapped. */
		if (ret || data[0] != (unsigned char)round ||
		    memcmp(data, data + 1, sizeof(data) - 1))
			__atomic_store_n(&u.err, ret ? ret : -EIO, __ATOMIC_RELAXED);
		checked = round;
		__atomic_store_n(&u.checked, round, __ATOMIC_RELEASE);
		if (u.err)
			break;
	}
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, u.err) TH_LOG("round %u: the device read of a mapped range failed or read wrong bytes",
				   checked);
	ASSERT_EQ(UNMAP_RACE_ROUNDS, checked);
	TH_LOG("%u accesses succeeded, %u found the range unmapped", ok, gone);
}

/* munmap releases the device's mappings of the range. */
TEST_F_TIMEOUT(fault, munmap_releases_mappings, FAULT_TIMEOUT)
{
	const size_t len = GM_MIB, n = gm_pages(len);
	struct gmem_fake_mmu_stats before, after;
	void *data = malloc(len);

	ASSERT_NE(NULL, data);
	ASSERT_NE(NULL, map_buf(self, len));
	gm_fill(self->buf, 0, n, 30);
	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, data, false, NULL));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &before));
	ASSERT_EQ(n, before.mapped_pages);

	ASSERT_EQ(0, munmap(self->buf, len));
	self->buf = NULL;
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &after));
	ASSERT_EQ(0, after.mapped_pages);
	ASSERT_LT(before.invalidations, after.invalidations);
	free(data);
}

/*
 * mremap moves the pages: the device finds them at the new address and
 * nothing at the old one.
 */
TEST_F_TIMEOUT(fault, mremap_moves_device_view, FAULT_TIMEOUT)
{
	const size_t len = GM_MIB, n = gm_pages(len);
	struct gmem_fake_mmu_stats before, after;
	void *data = malloc(len), *dst, *moved;

	ASSERT_NE(NULL, data);
	ASSERT_NE(NULL, map_buf(self, len));
	gm_fill(self->buf, 0, n, 31);
	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, data, false, NULL));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &before));

	/* A free destination: map then unmap a range of the same size. */
	dst = gm_map_anon(len);
	ASSERT_NE(NULL, dst);
	ASSERT_EQ(0, munmap(dst, len));
	moved = mremap(self->buf, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	ASSERT_EQ(dst, moved);
	self->buf = moved;

	ASSERT_EQ(0, gm_mmu_stats(self->fd, &after));
	ASSERT_LT(before.invalidations, after.invalidations);
	ASSERT_EQ(0, after.mapped_pages);
	memset(data, 0, len);
	ASSERT_EQ(0, gm_dev_access(self->fd, moved, len, data, false, NULL));
	ASSERT_EQ(-1, gm_check(data, 0, n, 31));
	free(data);
}

/*
 * gmem's own migration moves pages under the device's mappings: the device
 * must follow them (no read through a mapping of the freed device page).
 */
TEST_F_TIMEOUT(fault, device_follows_migration, FAULT_TIMEOUT)
{
	const size_t len = 2 * GM_MIB, n = gm_pages(len);
	const struct gmem_fake_info *info = &self->d.info[0];
	struct gmem_fake_migrate m;
	struct gm_pfns pf;
	void *data = malloc(len);

	ASSERT_NE(NULL, data);
	ASSERT_NE(NULL, map_buf(self, len));
	gm_fill(self->buf, 0, n, 32);
	/* First touch maps device pages; then move them back to host. */
	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, data, false, NULL));
	ASSERT_EQ(0, gm_migrate(self->fd, self->buf, len, GMEM_FAKE_DEST_HOST, &m));
	ASSERT_EQ(n, m.moved);
	ASSERT_EQ(0, gm_pfns_dev(self->buf, n, info, &pf));
	ASSERT_EQ(0, pf.in_dev);

	/* The CPU writes new data to the host pages; the device must see it. */
	gm_fill(self->buf, 0, n, 33);
	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, data, false, NULL));
	ASSERT_EQ(-1, gm_check(data, 0, n, 33));
	/* Pages gmem placed on the host stay there when the device maps them. */
	ASSERT_EQ(0, gm_pfns_dev(self->buf, n, info, &pf));
	ASSERT_EQ(0, pf.in_dev);
	free(data);
}

/* MADV_FREE reaches the device: it reads the old bytes or zeroes, no others. */
TEST_F_TIMEOUT(fault, madv_free_reaches_device, FAULT_TIMEOUT)
{
	const size_t len = GM_MIB, n = gm_pages(len);
	struct gmem_fake_mmu_stats before, after;
	void *data = malloc(len);
	size_t i;

	ASSERT_NE(NULL, data);
	ASSERT_NE(NULL, map_buf(self, len));
	gm_fill(self->buf, 0, n, 34);
	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, data, false, NULL));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &before));
	ASSERT_EQ(0, madvise(self->buf, len, MADV_FREE));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &after));
	ASSERT_LT(before.invalidations, after.invalidations);

	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, data, false, NULL));
	for (i = 0; i < n; i++)
		ASSERT_TRUE(gm_check((char *)data, i, 1, 34) == -1 ||
			    gm_check_zero(data, i, 1) == -1) TH_LOG("page %zu", i);
	free(data);
}

/*
 * Invalidation counts match what the test did: on a range the device has
 * mapped, each of mprotect, MADV_DONTNEED and munmap of one page raises one
 * invalidation, one TLB flush, and unmaps exactly that page.
 */
TEST_F_TIMEOUT(fault, invalidation_counts_match, FAULT_TIMEOUT)
{
	const size_t len = 64 * GM_PAGE_SIZE, n = gm_pages(len);
	struct gmem_fake_mmu_stats st[4];
	char *p;
	void *data = malloc(len);

	ASSERT_NE(NULL, data);
	ASSERT_NE(NULL, map_buf(self, len));
	p = self->buf;
	ASSERT_EQ(0, madvise(p, len, MADV_NOHUGEPAGE));
	gm_fill(p, 0, n, 35);
	ASSERT_EQ(0, gm_dev_access(self->fd, p, len, data, false, NULL));

	ASSERT_EQ(0, gm_mmu_stats(self->fd, &st[0]));
	ASSERT_EQ(n, st[0].mapped_pages);
	ASSERT_EQ(0, mprotect(p + 10 * GM_PAGE_SIZE, GM_PAGE_SIZE, PROT_READ));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &st[1]));
	ASSERT_EQ(0, madvise(p + 20 * GM_PAGE_SIZE, GM_PAGE_SIZE, MADV_DONTNEED));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &st[2]));
	ASSERT_EQ(0, munmap(p + 30 * GM_PAGE_SIZE, GM_PAGE_SIZE));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &st[3]));

	for (int i = 1; i < 4; i++) {
		ASSERT_EQ(st[i - 1].invalidations + 1, st[i].invalidations) TH_LOG("step %d", i);
		ASSERT_EQ(st[i - 1].tlb_flushes + 1, st[i].tlb_flushes) TH_LOG("step %d", i);
		ASSERT_EQ(st[i - 1].mapped_pages - 1, st[i].mapped_pages) TH_LOG("step %d", i);
	}
	/* The rest is still mapped and reads the same bytes without a fault. */
	{
		unsigned int faults;

		ASSERT_EQ(0, gm_dev_access(self->fd, p, 10 * GM_PAGE_SIZE, data, false,
					   &faults));
		ASSERT_EQ(0, faults);
		ASSERT_EQ(-1, gm_check(data, 0, 10, 35));
	}
	free(data);
}

/*
 * Map @len of the buffer, filled with @seed, into the device as host pages:
 * a round trip through device memory makes gmem place them on the host,
 * where the device then maps them in place rather than pulling them in.
 */
static int map_host_pages(FIXTURE_DATA(fault) *self, size_t len, uint64_t seed,
			  struct gmem_fake_mmu_stats *st)
{
	struct gmem_fake_migrate m;
	void *data = malloc(len);
	int ret;

	if (!data)
		return -ENOMEM;
	if (!map_buf(self, len) || madvise(self->buf, len, MADV_NOHUGEPAGE)) {
		free(data);
		return -ENOMEM;
	}
	gm_fill(self->buf, 0, gm_pages(len), seed);
	ret = gm_migrate(self->fd, self->buf, len, 0, &m);
	if (!ret)
		ret = gm_migrate(self->fd, self->buf, len, GMEM_FAKE_DEST_HOST, &m);
	if (!ret)
		ret = gm_dev_access(self->fd, self->buf, len, data, false, NULL);
	if (!ret && gm_check(data, 0, gm_pages(len), seed) != -1)
		ret = -EIO;
	if (!ret)
		ret = gm_mmu_stats(self->fd, st);
	if (!ret && st->mapped_pages != gm_pages(len))
		ret = -EAGAIN;
	free(data);
	return ret;
}

/*
 * A translation cached read-only (after fork write-protected the page)
 * must not outlive the write fault that upgrades it: the store succeeds
 * after exactly one fault.  (A device whose TLB kept the old entry would
 * fault forever; the soak found it.)
 */
TEST_F_TIMEOUT(fault, write_fault_upgrades_cached_translation, FAULT_TIMEOUT)
{
	const size_t len = 4 * GM_PAGE_SIZE;
	uint64_t word = 0x1234, back;
	unsigned int faults;
	int status;
	pid_t pid;

	ASSERT_NE(NULL, map_buf(self, len));
	gm_fill(self->buf, 0, 4, 41);
	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, 8, &back, false, NULL));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(0);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	/* Read through the write-protected entry: the TLB caches it. */
	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, 8, &back, false, &faults));
	ASSERT_EQ(gm_pat(41, 0, 0), back);
	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, 8, &word, true, &faults));
	ASSERT_EQ(1, faults);
	ASSERT_EQ(0x1234ULL, *(uint64_t *)self->buf);
}

/* Swap-out takes the pages from under the device; it reads them back. */
TEST_F_TIMEOUT(fault, swap_out_reaches_device, FAULT_TIMEOUT)
{
	const size_t len = GM_MIB, n = gm_pages(len);
	struct gmem_fake_mmu_stats before, after;
	uint64_t *ent = malloc(n * sizeof(*ent));
	void *data = malloc(len);
	unsigned int faults;
	size_t i, swapped = 0;

	ASSERT_NE(NULL, ent);
	ASSERT_NE(NULL, data);
	if (!gm_swap_active())
		SKIP(goto out, "no swap in this guest (the debug kernel has no CONFIG_SWAP)");
	ASSERT_EQ(0, map_host_pages(self, len, 38, &before));

	ASSERT_EQ(0, madvise(self->buf, len, MADV_PAGEOUT));
	ASSERT_EQ(0, gm_pagemap_read(self->buf, n, ent));
	for (i = 0; i < n; i++)
		swapped += !!(ent[i] & GM_PM_SWAP);
	ASSERT_LT(0, swapped) TH_LOG("MADV_PAGEOUT swapped nothing out");
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &after));
	ASSERT_LT(before.invalidations, after.invalidations);
	ASSERT_GE(n - swapped, after.mapped_pages);

	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, data, false, &faults));
	ASSERT_LT(0, faults);
	ASSERT_EQ(-1, gm_check(data, 0, n, 38));
	ASSERT_EQ(-1, gm_check(self->buf, 0, n, 38));
out:
	free(data);
	free(ent);
}

/*
 * KSM merges identical pages the device has mapped: the device loses them,
 * and its next write breaks the sharing instead of writing the shared page.
 */
TEST_F_TIMEOUT(fault, ksm_merge_reaches_device, FAULT_TIMEOUT)
{
	const size_t n = 64, len = n * GM_PAGE_SIZE;
	struct gmem_fake_mmu_stats before, after;
	char *p, page[GM_PAGE_SIZE];
	long merged = 0;
	int i;

	if (access("/sys/kernel/mm/ksm/run", W_OK))
		SKIP(return, "no KSM in this kernel");
	ASSERT_EQ(0, map_host_pages(self, len, 39, &before));
	p = self->buf;
	memset(p, 0x5a, len);
	ASSERT_EQ(0, madvise(p, len, MADV_MERGEABLE));
	ASSERT_EQ(0, gm_write_file("/sys/kernel/mm/ksm/pages_to_scan", "10000"));
	ASSERT_EQ(0, gm_write_file("/sys/kernel/mm/ksm/sleep_millisecs", "10"));
	ASSERT_EQ(0, gm_write_file("/sys/kernel/mm/ksm/run", "1"));
	for (i = 0; i < 3000 && merged < (long)n; i++) {
		usleep(10000);
		merged = gm_read_long("/proc/self/ksm_merging_pages");
	}
	EXPECT_EQ((long)n, merged);
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &after));
	EXPECT_LT(before.invalidations, after.invalidations);
	EXPECT_EQ(0, after.mapped_pages);

	/* The device writes page 5: only page 5 changes. */
	memset(page, 0xa5, sizeof(page));
	EXPECT_EQ(0, gm_dev_access(self->fd, p + 5 * GM_PAGE_SIZE, GM_PAGE_SIZE,
				   page, true, NULL));
	EXPECT_EQ((char)0xa5, p[5 * GM_PAGE_SIZE + 100]);
	EXPECT_EQ(0x5a, p[4 * GM_PAGE_SIZE + 100]);
	EXPECT_EQ(0x5a, p[6 * GM_PAGE_SIZE + 100]);
	/* Unmerge everything and stop ksmd. */
	ASSERT_EQ(0, gm_write_file("/sys/kernel/mm/ksm/run", "2"));
	ASSERT_EQ(0, gm_write_file("/sys/kernel/mm/ksm/run", "0"));
}

/*
 * move_pages() to another NUMA node reaches the device: every page that
 * moved is unmapped from it (a page already on that node stays mapped).
 */
TEST_F_TIMEOUT(fault, numa_move_pages_reaches_device, FAULT_TIMEOUT)
{
	const size_t n = 64, len = n * GM_PAGE_SIZE;
	struct gmem_fake_mmu_stats before, after;
	int nodes[64], status[64], was[64], target;
	void *pages[64], *data = malloc(len);
	unsigned int faults;
	size_t i, moved = 0;

	ASSERT_NE(NULL, data);
	if (access("/sys/devices/system/node/node1", F_OK))
		SKIP(goto out, "one NUMA node only");
	numa_balancing_off(self);
	ASSERT_EQ(0, map_host_pages(self, len, 40, &before));
	for (i = 0; i < n; i++)
		pages[i] = gm_page_addr(self->buf, i);
	ASSERT_EQ(0, syscall(SYS_move_pages, 0, n, pages, NULL, was, 0));
	target = was[0] == 0 ? 1 : 0;
	for (i = 0; i < n; i++)
		nodes[i] = target;
	ASSERT_EQ(0, syscall(SYS_move_pages, 0, n, pages, nodes, status,
			     MPOL_MF_MOVE));
	for (i = 0; i < n; i++)
		moved += was[i] != target && status[i] == target;
	ASSERT_LT(0, moved);
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &after));
	ASSERT_LT(before.invalidations, after.invalidations);
	ASSERT_GE(n - moved, after.mapped_pages);

	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, data, false, &faults));
	ASSERT_LT(0, faults);
	ASSERT_EQ(-1, gm_check(data, 0, n, 40));
out:
	free(data);
}

/*
 * Pages migrated back to host RAM land on the node of the CPU that asked,
 * as the CPU's own fault would put them, although gmem allocates most of
 * them ahead on the other CPU: run from each CPU in turn.
 */
TEST_F_TIMEOUT(fault, migrate_back_lands_on_local_node, FAULT_TIMEOUT)
{
	const size_t len = 8 * GM_MIB, n = gm_pages(len);
	unsigned int cpu, node, c;
	int *status = calloc(n, sizeof(int));
	void **pages = calloc(n, sizeof(void *));
	struct gmem_fake_migrate m;
	cpu_set_t all, one;
	size_t i, local;

	ASSERT_NE(NULL, status);
	ASSERT_NE(NULL, pages);
	if (access("/sys/devices/system/node/node1", F_OK))
		SKIP(goto out, "one NUMA node only");
	numa_balancing_off(self);
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(all), &all));
	ASSERT_NE(NULL, map_buf(self, len));
	ASSERT_EQ(0, madvise(self->buf, len, MADV_NOHUGEPAGE));
	for (i = 0; i < n; i++)
		pages[i] = gm_page_addr(self->buf, i);
	for (c = 0; c < 2; c++) {
		CPU_ZERO(&one);
		CPU_SET(c, &one);
		ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
		ASSERT_EQ(0, syscall(SYS_getcpu, &cpu, &node, NULL));
		ASSERT_EQ(c, cpu);
		gm_fill(self->buf, 0, n, 41 + c);
		ASSERT_EQ(0, gm_migrate(self->fd, self->buf, len, 0, &m));
		ASSERT_EQ(n, m.moved);
		ASSERT_EQ(0, gm_migrate(self->fd, self->buf, len,
					GMEM_FAKE_DEST_HOST, &m));
		ASSERT_EQ(n, m.moved);
		ASSERT_EQ(0, syscall(SYS_move_pages, 0, n, pages, NULL, status, 0));
		for (i = 0, local = 0; i < n; i++)
			local += status[i] == (int)node;
		EXPECT_EQ(n, local) TH_LOG("cpu %u: %zu of %zu pages on node %u",
					   c, local, n, node);
		EXPECT_EQ(-1, gm_check(self->buf, 0, n, 41 + c));
	}
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(all), &all));
out:
	free(status);
	free(pages);
}

/*
 * The device drops its mappings of three ranges with one TLB flush; its
 * next access to them faults (a translation left in its TLB would not),
 * and the pages it kept are still mapped.
 */
TEST_F_TIMEOUT(fault, unmap_ranges_one_flush, FAULT_TIMEOUT)
{
	const size_t len = GM_MIB, n = gm_pages(len);
	struct gmem_fake_range r[3] = {
		{ 0, 16 * GM_PAGE_SIZE },
		{ 100 * GM_PAGE_SIZE, 50 * GM_PAGE_SIZE },
		{ 200 * GM_PAGE_SIZE, 56 * GM_PAGE_SIZE },
	};
	struct gmem_fake_unmap u = { .ranges = (uintptr_t)r, .nr = 3 };
	struct gmem_fake_mmu_stats before, after;
	void *data = malloc(len);
	unsigned int faults;
	int i;

	ASSERT_NE(NULL, data);
	ASSERT_NE(NULL, map_buf(self, len));
	ASSERT_EQ(0, madvise(self->buf, len, MADV_NOHUGEPAGE));
	gm_fill(self->buf, 0, n, 36);
	/* The last 64 pages read stay in the 64-entry TLB. */
	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, data, false, NULL));
	for (i = 0; i < 3; i++)
		r[i].addr += (uintptr_t)self->buf;

	ASSERT_EQ(0, gm_mmu_stats(self->fd, &before));
	ASSERT_EQ(n, before.mapped_pages);
	ASSERT_EQ(0, gm_ioctl(self->fd, GMEM_FAKE_IOC_UNMAP, &u));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &after));
	ASSERT_EQ(before.tlb_flushes + 1, after.tlb_flushes);
	ASSERT_EQ(before.invalidations, after.invalidations);
	ASSERT_EQ(n - 16 - 50 - 56, after.mapped_pages);

	ASSERT_EQ(0, gm_dev_access(self->fd, gm_page_addr(self->buf, 200),
				   56 * GM_PAGE_SIZE, data, false, &faults));
	ASSERT_LT(0, faults) TH_LOG("a translation survived the flush");
	ASSERT_EQ(0, memcmp(data, gm_page_addr(self->buf, 200), 56 * GM_PAGE_SIZE));
	ASSERT_EQ(0, gm_dev_access(self->fd, gm_page_addr(self->buf, 20),
				   80 * GM_PAGE_SIZE, data, false, &faults));
	ASSERT_EQ(0, faults);
	free(data);
}

/*
 * Memory the device never mapped costs it nothing when the CPU unmaps it:
 * not in the 2 MiB the device works in (its notifier's bitmap says which
 * pages it has), not in the 2 MiB next to it (no notifier there), not
 * anywhere else.  Counted as device invalidations and TLB flushes.
 *
 * Inside the device's 2 MiB only calls that keep the VMA whole qualify: a
 * munmap or mprotect that splits a VMA there makes the kernel invalidate
 * the whole aligned 2 MiB around the split point (__split_huge_pmd()
 * announces the range before it looks for a huge PMD), which no notifier
 * can tell from a real invalidation.
 */
TEST_F_TIMEOUT(fault, untouched_memory_costs_device_nothing, FAULT_TIMEOUT)
{
	const size_t len = 2 * GM_THP_SIZE;
	struct gmem_fake_mmu_stats before, after;
	void *data = malloc(64 * GM_PAGE_SIZE);
	char *p, *q, *other;
	int i;

	numa_balancing_off(self);
	ASSERT_NE(NULL, data);
	ASSERT_NE(NULL, gm_map_aligned(len, GM_THP_SIZE, &self->buf, &self->len));
	p = self->buf;
	ASSERT_EQ(0, madvise(p, len, MADV_NOHUGEPAGE));
	gm_fill(p, 0, gm_pages(len), 41);
	ASSERT_EQ(0, gm_dev_access(self->fd, p, 64 * GM_PAGE_SIZE, data, false, NULL));
	other = gm_map_anon(GM_THP_SIZE);
	ASSERT_NE(NULL, other);
	memset(other, 1, GM_THP_SIZE);
	q = p + GM_THP_SIZE;

	ASSERT_EQ(0, gm_mmu_stats(self->fd, &before));
	ASSERT_EQ(64, before.mapped_pages);
	for (i = 0; i < 7; i++) {
		switch (i) {
		case 0:	/* the same 2 MiB, pages the device never mapped */
			ASSERT_EQ(0, madvise(p + 100 * GM_PAGE_SIZE, 100 * GM_PAGE_SIZE,
					     MADV_DONTNEED));
			break;
		case 1:
			ASSERT_EQ(0, madvise(p + 300 * GM_PAGE_SIZE, 10 * GM_PAGE_SIZE,
					     MADV_FREE));
			break;
		case 2:
			ASSERT_EQ(0, madvise(p + 400 * GM_PAGE_SIZE, 10 * GM_PAGE_SIZE,
					     MADV_PAGEOUT));
			break;
		case 3:	/* the next 2 MiB: no notifier */
			ASSERT_EQ(0, madvise(q, GM_THP_SIZE / 2, MADV_DONTNEED));
			break;
		case 4:
			ASSERT_EQ(0, munmap(q + GM_THP_SIZE / 2, GM_THP_SIZE / 2));
			break;
		case 5:	/* elsewhere */
			ASSERT_EQ(0, madvise(other, GM_THP_SIZE, MADV_DONTNEED));
			break;
		case 6:
			ASSERT_EQ(0, munmap(other, GM_THP_SIZE));
			break;
		}
		ASSERT_EQ(0, gm_mmu_stats(self->fd, &after));
		EXPECT_EQ(before.invalidations, after.invalidations) TH_LOG("step %d", i);
		EXPECT_EQ(before.tlb_flushes, after.tlb_flushes) TH_LOG("step %d", i);
		EXPECT_EQ(64, after.mapped_pages) TH_LOG("step %d", i);
	}
	/* The same calls on what the device mapped do reach it. */
	ASSERT_EQ(0, madvise(p, GM_PAGE_SIZE, MADV_DONTNEED));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &after));
	EXPECT_EQ(before.invalidations + 1, after.invalidations);
	EXPECT_EQ(before.tlb_flushes + 1, after.tlb_flushes);
	EXPECT_EQ(63, after.mapped_pages);
	free(data);
}

/* Wait until the context has @want notifiers; returns what it has. */
static unsigned long wait_notifiers(int fd, unsigned long want)
{
	struct gmem_fake_mmu_stats st;
	int i;

	for (i = 0; i < 200; i++) {
		if (gm_mmu_stats(fd, &st))
			return -1UL;
		if (st.notifiers == want)
			break;
		usleep(10000);
	}
	return st.notifiers;
}

/*
 * Notifiers follow the memory the device works on, not the number of
 * faults: faulting the same 4 MiB in 100 times creates two notifiers, once;
 * unmapping the memory removes them.
 */
TEST_F_TIMEOUT(fault, notifiers_bounded_by_ranges, FAULT_TIMEOUT)
{
	const size_t len = 2 * GM_THP_SIZE;
	struct gmem_fake_mmu_stats before, after;
	void *data = malloc(len);
	unsigned int faults, total = 0;
	int i;

	ASSERT_NE(NULL, data);
	ASSERT_NE(NULL, gm_map_aligned(len, GM_THP_SIZE, &self->buf, &self->len));
	gm_fill(self->buf, 0, gm_pages(len), 42);
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &before));
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, gm_dev_unmap(self->fd, self->buf, len));
		ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, data, false,
					   &faults));
		total += faults;
	}
	ASSERT_EQ(-1, gm_check(data, 0, gm_pages(len), 42));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &after));
	EXPECT_LE(100, total);
	EXPECT_EQ(before.notifiers + 2, after.notifiers);
	EXPECT_EQ(before.notifiers_created + 2, after.notifiers_created);

	/* Unmapped, the range's notifiers go (a worker removes them). */
	ASSERT_EQ(0, munmap(self->buf, len));
	self->buf = NULL;
	EXPECT_EQ(before.notifiers, wait_notifiers(self->fd, before.notifiers));
	free(data);
}

struct unmapper {
	volatile bool stop;
	unsigned long rounds;
};

/* Map, touch and unmap memory the device never sees, until told to stop. */
static void *unmap_loop(void *arg)
{
	struct unmapper *u = arg;

	while (!u->stop) {
		char *p = gm_map_anon(GM_THP_SIZE);

		if (!p)
			break;
		memset(p, 2, GM_THP_SIZE);
		madvise(p, GM_THP_SIZE / 2, MADV_DONTNEED);
		munmap(p, GM_THP_SIZE);
		u->rounds++;
	}
	return NULL;
}

/*
 * A thread faulting on the device is not disturbed by another one that
 * unmaps unrelated memory in a loop: no fault reads the CPU page table
 * twice, and the device sees no invalidation.
 */
TEST_F_TIMEOUT(fault, unrelated_unmap_causes_no_retries, FAULT_TIMEOUT)
{
	const size_t len = 2 * GM_THP_SIZE;
	struct gmem_fake_mmu_stats before, after;
	struct gmem_fake_migrate m;
	struct unmapper u = { 0 };
	void *data = malloc(len);
	pthread_t t;
	int i;

	numa_balancing_off(self);
	ASSERT_NE(NULL, data);
	ASSERT_NE(NULL, gm_map_aligned(len, GM_THP_SIZE, &self->buf, &self->len));
	gm_fill(self->buf, 0, gm_pages(len), 43);
	/*
	 * Settle the buffer in device memory first: a page that first touch
	 * could not move (busy in another CPU's LRU batch) would move at a
	 * later fault, and that migration is an invalidation of the range.
	 */
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, gm_migrate(self->fd, self->buf, len, 0, &m));
		if (!m.not_moved)
			break;
	}
	ASSERT_EQ(0, m.not_moved);
	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, data, false, NULL));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &before));
	ASSERT_EQ(0, pthread_create(&t, NULL, unmap_loop, &u));
	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, gm_dev_unmap(self->fd, self->buf, len));
		ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, data, false,
					   NULL));
	}
	u.stop = true;
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &after));
	ASSERT_EQ(-1, gm_check(data, 0, gm_pages(len), 43));
	EXPECT_LT(0, u.rounds);
	EXPECT_EQ(before.fault_retries, after.fault_retries)
		TH_LOG("%lu unmaps", u.rounds);
	EXPECT_EQ(before.invalidations, after.invalidations);
	free(data);
}

/*
 * A fault on pages the device still has mapped is answered from the
 * notifier's bitmaps, without a CPU page table walk: a second prefetch of
 * the same range is all fast; after a write-protect (fork), a write
 * prefetch is not, and maps the range writable again.
 */
TEST_F_TIMEOUT(fault, prefetch_fast_path, FAULT_TIMEOUT)
{
	const size_t len = 2 * GM_THP_SIZE;
	struct gmem_fake_mmu_stats st[3];
	pid_t pid;
	int status;

	ASSERT_NE(NULL, gm_map_aligned(len, GM_THP_SIZE, &self->buf, &self->len));
	gm_fill(self->buf, 0, gm_pages(len), 44);
	ASSERT_EQ(0, gm_prefetch(self->fd, self->buf, len, true));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &st[0]));
	ASSERT_EQ(gm_pages(len), st[0].mapped_pages);
	ASSERT_EQ(0, gm_prefetch(self->fd, self->buf, len, true));
	ASSERT_EQ(0, gm_prefetch(self->fd, self->buf, len, false));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &st[1]));
	EXPECT_EQ(st[0].fast_faults + 4, st[1].fast_faults);

	/* fork write-protects the range in the CPU and so in the device. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(0);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, gm_prefetch(self->fd, self->buf, len, false));
	ASSERT_EQ(0, gm_prefetch(self->fd, self->buf, len, true));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &st[2]));
	EXPECT_EQ(st[1].fast_faults + 2, st[2].fast_faults);
	EXPECT_LT(st[1].invalidations, st[2].invalidations);
	/* The device writes, the CPU reads it. */
	{
		uint64_t v = 0x4d4952524f52ULL;

		ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, sizeof(v), &v, true, NULL));
		ASSERT_EQ(v, *(uint64_t *)self->buf);
	}
}

static int prefetch_placed(int fd, void *addr, size_t len, bool write,
			   __u32 placement)
{
	struct gmem_fake_prefetch p = {
		.addr = (uintptr_t)addr,
		.length = len,
		.flags = (write ? GMEM_FAKE_PREFETCH_WRITE : 0) | placement,
	};

	return gm_ioctl(fd, GMEM_FAKE_IOC_PREFETCH, &p);
}

/*
 * Where the CPU maps a transparent huge page, the device gets one 2 MiB
 * entry; when the CPU splits the huge mapping, the device's entry goes
 * whole and comes back as 4 KiB entries.
 */
TEST_F_TIMEOUT(fault, thp_maps_with_2m_entries, FAULT_TIMEOUT)
{
	const size_t len = 2 * GM_THP_SIZE, n = gm_pages(len), half = n / 2;
	struct gmem_fake_mmu_stats st;
	uint64_t v = 0x2d4d4942ULL;
	void *data = malloc(len);
	char *p;

	ASSERT_NE(NULL, data);
	ASSERT_NE(NULL, gm_map_aligned(len, GM_THP_SIZE, &self->buf, &self->len));
	p = self->buf;
	ASSERT_EQ(0, madvise(p, len, MADV_HUGEPAGE));
	gm_fill(p, 0, n, 45);
	if (!gm_is_thp(p) || !gm_is_thp(p + GM_THP_SIZE))
		SKIP(free(data); return, "no transparent huge pages for the buffer");

	ASSERT_EQ(0, prefetch_placed(self->fd, p, len, true, GMEM_FAKE_PREFETCH_IN_PLACE));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &st));
	EXPECT_EQ(2, st.huge_mappings);
	EXPECT_EQ(n, st.mapped_pages);
	EXPECT_EQ(0, gm_query_count(self->fd, p, n, GMEM_LOC_DEV(self->d.info[0].gm_dev_id)));
	/* The device reads and writes through the 2 MiB entries. */
	ASSERT_EQ(0, gm_dev_access(self->fd, p, len, data, false, NULL));
	EXPECT_EQ(-1, gm_check(data, 0, n, 45));
	ASSERT_EQ(0, gm_dev_access(self->fd, p + len - GM_PAGE_SIZE, sizeof(v), &v, true, NULL));
	EXPECT_EQ(v, *(uint64_t *)(p + len - GM_PAGE_SIZE));

	/* Zapping one page splits the first huge mapping: its entry goes. */
	ASSERT_EQ(0, madvise(p + 7 * GM_PAGE_SIZE, GM_PAGE_SIZE, MADV_DONTNEED));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &st));
	EXPECT_EQ(1, st.huge_mappings);
	EXPECT_EQ(n - half, st.mapped_pages);
	ASSERT_EQ(0, gm_dev_access(self->fd, p, GM_THP_SIZE, data, false, NULL));
	EXPECT_EQ(7, gm_check(data, 0, half, 45));
	EXPECT_EQ(-1, gm_check_zero((char *)data + 7 * GM_PAGE_SIZE, 0, 1));
	EXPECT_EQ(-1, gm_check(data, 8, half - 8, 45));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &st));
	EXPECT_EQ(1, st.huge_mappings);
	EXPECT_EQ(n, st.mapped_pages);
	free(data);
}

/* Small pages get small entries. */
TEST_F_TIMEOUT(fault, small_pages_map_with_4k_entries, FAULT_TIMEOUT)
{
	const size_t len = GM_THP_SIZE, n = gm_pages(len);
	struct gmem_fake_mmu_stats st;

	ASSERT_NE(NULL, gm_map_aligned(len, GM_THP_SIZE, &self->buf, &self->len));
	ASSERT_EQ(0, madvise(self->buf, len, MADV_NOHUGEPAGE));
	gm_fill(self->buf, 0, n, 46);
	ASSERT_EQ(0, prefetch_placed(self->fd, self->buf, len, false,
				     GMEM_FAKE_PREFETCH_IN_PLACE));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &st));
	EXPECT_EQ(0, st.huge_mappings);
	EXPECT_EQ(n, st.mapped_pages);
	EXPECT_EQ(0, gm_query_count(self->fd, self->buf, n,
				    GMEM_LOC_DEV(self->d.info[0].gm_dev_id)));
}

/*
 * GMEM_FAKE_PREFETCH_DEVICE: every page ends in this device's memory,
 * those already on the other device too, and is mapped there.
 */
TEST_F_TIMEOUT(fault, prefetch_device_places_every_page, FAULT_TIMEOUT)
{
	const size_t len = 256 * GM_PAGE_SIZE, n = gm_pages(len);
	uint8_t here = GMEM_LOC_DEV(self->d.info[0].gm_dev_id);
	struct gmem_fake_mmu_stats st;
	void *data = malloc(len);
	char why[256] = "";
	struct gmem_fake_migrate m;

	ASSERT_NE(NULL, data);
	gm_devs_close(&self->d);
	ASSERT_EQ(0, gm_devs_open(&self->d, 0x3, why, sizeof(why))) TH_LOG("%s", why);
	self->fd = self->d.fd[0];
	ASSERT_NE(NULL, map_buf(self, len));
	gm_fill(self->buf, 0, n, 47);
	/* A quarter on the other device, a quarter mapped in host RAM. */
	ASSERT_EQ(0, gm_migrate(self->d.fd[1], self->buf, len / 4, 1, &m));
	ASSERT_EQ(0, prefetch_placed(self->fd, (char *)self->buf + len / 4, len / 4,
				     false, GMEM_FAKE_PREFETCH_IN_PLACE));
	EXPECT_EQ(0, gm_query_count(self->fd, self->buf, n, here));

	ASSERT_EQ(0, prefetch_placed(self->fd, self->buf, len, true,
				     GMEM_FAKE_PREFETCH_DEVICE));
	EXPECT_EQ((long)n, gm_query_count(self->fd, self->buf, n, here));
	ASSERT_EQ(0, gm_mmu_stats(self->fd, &st));
	EXPECT_EQ(n, st.mapped_pages);
	ASSERT_EQ(0, gm_dev_access(self->fd, self->buf, len, data, false, NULL));
	EXPECT_EQ(-1, gm_check(data, 0, n, 47));
	EXPECT_EQ(-1, gm_check(self->buf, 0, n, 47));
	free(data);
}

TEST_HARNESS_MAIN
