// SPDX-License-Identifier: GPL-2.0
/*
 * Nothing is lost when things fail: with the fake copy engine refusing,
 * aborting or failing requests, stalling, and with gmem's device page
 * allocations failing, every migration either moves pages or leaves them
 * where they were, and every byte of the buffer stays right (checked after
 * each step, by the CPU and by the device); at the end every device page
 * is free again.  Knobs: /sys/kernel/debug/gmem{,_fake}/ (see
 * src/core/gm_debugfs.c and src/fake/fake_copy.c).
 */
#include "gmem_test_util.h"
#include "kselftest_harness.h"

#define INJ_TIMEOUT	600
#define INJ_LEN		(16 * GM_MIB)
#define INJ_ROUNDS	24

#define FAKE_DBG	"/sys/kernel/debug/gmem_fake/"
#define GMEM_DBG	"/sys/kernel/debug/gmem/"

static const char *const knobs[] = {
	FAKE_DBG "fail_submit_percent",
	FAKE_DBG "fail_mid_percent",
	FAKE_DBG "fail_complete_percent",
	FAKE_DBG "delay_us",
	GMEM_DBG "fail_devmem_alloc_percent",
	FAKE_DBG "engine_parked",
};

static int write_knob(const char *path, unsigned int val)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", val);
	return gm_write_file(path, buf);
}

static long injected(void)
{
	return gm_read_long(FAKE_DBG "injected") +
	       gm_read_long(GMEM_DBG "devmem_alloc_injected");
}

static void knobs_off(void)
{
	size_t i;

	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		write_knob(knobs[i], 0);
}

FIXTURE(inject) {
	struct gm_devs d;
	void *buf;
	void *copy;
};

/* Each variant turns some knobs on: { knob index, value } pairs. */
FIXTURE_VARIANT(inject) {
	int knob[3];
	unsigned int val[3];
	int nknobs;
	bool expect_injected;
	bool expect_inline;	/* gmem's wait ran requests (copy_wait) */
};

FIXTURE_VARIANT_ADD(inject, submit_fails) {
	.knob = { 0 }, .val = { 30 }, .nknobs = 1, .expect_injected = true,
};

FIXTURE_VARIANT_ADD(inject, mid_batch_fails) {
	.knob = { 1 }, .val = { 30 }, .nknobs = 1, .expect_injected = true,
};

FIXTURE_VARIANT_ADD(inject, completion_fails) {
	.knob = { 2 }, .val = { 30 }, .nknobs = 1, .expect_injected = true,
};

FIXTURE_VARIANT_ADD(inject, engine_stalls) {
	.knob = { 3 }, .val = { 3000 }, .nknobs = 1, .expect_injected = false,
};

/* The engine's CPU never runs: every copy runs in gmem's wait. */
FIXTURE_VARIANT_ADD(inject, engine_parked) {
	.knob = { 5 }, .val = { 1 }, .nknobs = 1, .expect_inline = true,
};

FIXTURE_VARIANT_ADD(inject, devmem_alloc_fails) {
	.knob = { 4 }, .val = { 30 }, .nknobs = 1, .expect_injected = true,
};

FIXTURE_VARIANT_ADD(inject, everything_at_once) {
	.knob = { 1, 3, 4 }, .val = { 15, 500, 15 }, .nknobs = 3,
	.expect_injected = true,
};

FIXTURE_SETUP(inject)
{
	char why[256] = "";
	int i;

	self->buf = NULL;
	self->copy = NULL;
	if (access(FAKE_DBG "injected", R_OK) || access(GMEM_DBG "devmem_alloc_injected", R_OK))
		SKIP(return, "no gmem debugfs knobs (debugfs not mounted?)");
	ASSERT_EQ(0, gm_devs_open(&self->d, 0x3, why, sizeof(why)))
		TH_LOG("%s", why);
	self->buf = gm_map_anon(INJ_LEN);
	ASSERT_NE(NULL, self->buf);
	self->copy = malloc(INJ_LEN);
	ASSERT_NE(NULL, self->copy);
	for (i = 0; i < variant->nknobs; i++)
		ASSERT_EQ(0, write_knob(knobs[variant->knob[i]], variant->val[i]));
}

FIXTURE_TEARDOWN(inject)
{
	knobs_off();
	if (self->buf)
		munmap(self->buf, INJ_LEN);
	free(self->copy);
	gm_devs_close(&self->d);
}

/*
 * Migrate the buffer around (device 0, device 1, host) with the knobs on,
 * rewriting it between rounds; after each migration the CPU, and every
 * other round the device, must read exactly what was written last.
 */
TEST_F_TIMEOUT(inject, nothing_is_lost, INJ_TIMEOUT)
{
	const size_t n = gm_pages(INJ_LEN);
	uint64_t moved = 0, not_moved = 0, verified = 0;
	struct gmem_fake_info info;
	struct gmem_fake_migrate m;
	long before = injected(), after;
	long inl = gm_read_long(FAKE_DBG "inline_copies");
	int round, i;

	for (round = 0; round < INJ_ROUNDS; round++) {
		const uint64_t seed = 100 + round;
		const __u32 dest[3] = { 0, 1, GMEM_FAKE_DEST_HOST };

		gm_fill(self->buf, 0, n, seed);
		ASSERT_EQ(0, gm_migrate(self->d.fd[0], self->buf, INJ_LEN,
					dest[round % 3], &m)) TH_LOG("round %d", round);
		moved += m.moved;
		not_moved += m.not_moved;
		ASSERT_EQ(-1, gm_check(self->buf, 0, n, seed)) TH_LOG("round %d", round);
		verified += INJ_LEN;
		if (round % 2)
			continue;
		/* The device's view, through its MMU and device faults. */
		ASSERT_EQ(0, gm_dev_access(self->d.fd[0], self->buf, INJ_LEN,
					   self->copy, false, NULL)) TH_LOG("round %d", round);
		ASSERT_EQ(-1, gm_check(self->copy, 0, n, seed)) TH_LOG("round %d", round);
		verified += INJ_LEN;
	}
	after = injected();
	if (variant->expect_injected)
		ASSERT_LT(before, after) TH_LOG("no failure was injected");
	inl = gm_read_long(FAKE_DBG "inline_copies") - inl;
	if (variant->expect_inline) {
		/* Pages moved, and only gmem's wait copied them. */
		ASSERT_LT(0, inl);
		ASSERT_LT(0, moved);
	}

	/* Knobs off: everything comes home, intact, and no page leaks. */
	knobs_off();
	ASSERT_EQ(0, gm_migrate(self->d.fd[0], self->buf, INJ_LEN,
				GMEM_FAKE_DEST_HOST, &m));
	ASSERT_EQ(0, m.not_moved);
	ASSERT_EQ(-1, gm_check(self->buf, 0, n, 100 + INJ_ROUNDS - 1));
	verified += INJ_LEN;
	ASSERT_EQ(0, munmap(self->buf, INJ_LEN));
	self->buf = NULL;
	for (i = 0; i < GM_NR_DEVS; i++) {
		ASSERT_EQ(0, gm_wait_idle(self->d.fd[i], &info, 5000))
			TH_LOG("device %d: %llu of %llu pages free, %llu used", i,
			       (unsigned long long)info.free_pages,
			       (unsigned long long)info.total_pages,
			       (unsigned long long)info.used_pages);
	}
	ksft_print_msg("%ld failures injected, %ld copies run by gmem's wait, %llu pages moved, %llu not moved, %llu MiB verified\n",
		       after - before, inl, (unsigned long long)moved,
		       (unsigned long long)not_moved,
		       (unsigned long long)(verified / GM_MIB));
}

/*
 * The kernel's own fault injection (debug kernel): failslab and
 * fail_page_alloc fail 10% of the allocations made from gmem.ko's code
 * (the stack-trace filter's require-start/require-end set to the module),
 * except inside the kernel's GPU buddy allocator (reject-start/reject-end):
 * its out-of-memory unwind in this kernel frees a block that is still in
 * its free tree (KASAN: slab-use-after-free in rb_last(), then BUG in
 * __gpu_buddy_alloc_blocks()), which this test found and gmem cannot fix.
 * Calls may fail with ENOMEM; nothing else may go wrong.
 */
static const char *const kfail[] = { "failslab", "fail_page_alloc" };

static int kfail_set(const char *attr, const char *file, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/kernel/debug/%s/%s", attr, file);
	return gm_write_file(path, val);
}

/* [start, end) of gmem.ko's code, from /proc/modules. */
static int gmem_module_range(unsigned long long *start, unsigned long long *end)
{
	char line[256], name[64];
	unsigned long long size, addr;
	FILE *f = fopen("/proc/modules", "r");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %llu %*d %*s %*s %llx", name, &size, &addr) == 3 &&
		    !strcmp(name, "gmem") && addr) {
			*start = addr;
			*end = addr + size;
			ret = 0;
		}
	}
	fclose(f);
	return ret;
}

/* The span of the buddy allocator's code (gpu_buddy or drm_buddy). */
static int buddy_code_range(unsigned long long *start, unsigned long long *end)
{
	char line[256], type, name[128];
	unsigned long long addr;
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return -errno;
	*start = ~0ULL;
	*end = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %127s", &addr, &type, name) != 3 ||
		    (type != 't' && type != 'T') || !addr)
			continue;
		if (!strstr(name, "gpu_buddy_") && !strstr(name, "drm_buddy_"))
			continue;
		/* Its init function lives with the rest of .init.text. */
		if (strstr(name, "module_init"))
			continue;
		if (addr < *start)
			*start = addr;
		if (addr > *end)
			*end = addr;
	}
	fclose(f);
	if (!*end)
		return -ENOENT;
	*end += 4096;	/* past the last function's start */
	return 0;
}

#define KFAIL_TIMES	1000000

static void kfail_off(void)
{
	size_t i;

	for (i = 0; i < 2; i++)
		kfail_set(kfail[i], "probability", "0");
}

FIXTURE(kinject) {
	struct gm_devs d;
	unsigned long long start, end, rstart, rend;
};

FIXTURE_SETUP(kinject)
{
	unsigned long long start = 0, end = 0, rstart = 0, rend = 0;
	char why[256] = "", val[32];
	size_t i;

	if (access("/sys/kernel/debug/failslab/require-start", W_OK) ||
	    access("/sys/kernel/debug/fail_page_alloc/require-start", W_OK))
		SKIP(return, "no failslab/fail_page_alloc with a stack-trace filter (stock kernels)");
	/* Not attached: the test's child attaches its own address space. */
	ASSERT_EQ(0, gm_devs_open(&self->d, 0, why, sizeof(why)))
		TH_LOG("%s", why);

	ASSERT_EQ(0, gmem_module_range(&start, &end));
	ASSERT_EQ(0, buddy_code_range(&rstart, &rend));
	ASSERT_GT(1ULL << 20, rend - rstart) TH_LOG("buddy allocator code spans %#llx-%#llx",
						    rstart, rend);
	self->start = start;
	self->end = end;
	self->rstart = rstart;
	self->rend = rend;
	for (i = 0; i < 2; i++) {
		const struct { const char *file; unsigned long long v; } r[] = {
			{ "require-start", start }, { "require-end", end },
			{ "reject-start", rstart }, { "reject-end", rend },
		};
		size_t k;

		for (k = 0; k < 4; k++) {
			snprintf(val, sizeof(val), "%llu", r[k].v);
			ASSERT_EQ(0, kfail_set(kfail[i], r[k].file, val));
		}
		ASSERT_EQ(0, kfail_set(kfail[i], "stacktrace-depth", "32"));
		ASSERT_EQ(0, kfail_set(kfail[i], "task-filter", "N"));
		ASSERT_EQ(0, kfail_set(kfail[i], "verbose", "0"));
		ASSERT_EQ(0, kfail_set(kfail[i], "interval", "1"));
		snprintf(val, sizeof(val), "%d", KFAIL_TIMES);
		ASSERT_EQ(0, kfail_set(kfail[i], "times", val));
		ASSERT_EQ(0, kfail_set(kfail[i], "ignore-gfp-wait", "N"));
	}
	ASSERT_EQ(0, kfail_set("fail_page_alloc", "ignore-gfp-highmem", "N"));
	ASSERT_EQ(0, kfail_set("fail_page_alloc", "min-order", "0"));
}

FIXTURE_TEARDOWN(kinject)
{
	kfail_off();
	gm_devs_close(&self->d);
}

/*
 * The rounds, in a child with its own attachments and buffer: the parent
 * turns injection off whatever happens to it.  Calls either work or fail
 * with ENOMEM (EFAULT for a device access whose page-table allocation
 * failed under hmm_range_fault()); the data is right regardless, before and
 * after injection stops.  Exit status: 0, or what went wrong.
 */
static int kinject_rounds(int out)
{
	const size_t n = gm_pages(INJ_LEN);
	struct gmem_fake_migrate m;
	struct gm_devs d;
	void *buf = gm_map_anon(INJ_LEN), *copy = malloc(INJ_LEN);
	char why[256];
	long failed = 0;
	int round, ret;
	size_t i;

	if (!buf || !copy || gm_devs_open(&d, 0x3, why, sizeof(why)))
		return 100;
	gm_fill(buf, 0, n, 200);
	for (i = 0; i < 2; i++)
		if (kfail_set(kfail[i], "probability", "10"))
			return 101;
	for (round = 0; round < INJ_ROUNDS; round++) {
		const __u32 dest[3] = { 0, 1, GMEM_FAKE_DEST_HOST };

		ret = gm_migrate(d.fd[0], buf, INJ_LEN, dest[round % 3], &m);
		if (ret && ret != -ENOMEM) {
			fprintf(stderr, "# round %d: migrate: %s\n", round, strerror(-ret));
			return 1;
		}
		failed += !!ret;
		if (gm_check(buf, 0, n, 200) != -1) {
			fprintf(stderr, "# round %d: CPU reads wrong data\n", round);
			return 2;
		}
		ret = gm_dev_access(d.fd[1], buf, INJ_LEN, copy, false, NULL);
		if (ret && ret != -ENOMEM && ret != -EFAULT) {
			fprintf(stderr, "# round %d: device read: %s\n", round, strerror(-ret));
			return 3;
		}
		failed += !!ret;
		if (!ret && gm_check(copy, 0, n, 200) != -1) {
			fprintf(stderr, "# round %d: device reads wrong data\n", round);
			return 4;
		}
	}
	kfail_off();
	ret = gm_migrate(d.fd[0], buf, INJ_LEN, GMEM_FAKE_DEST_HOST, &m);
	if (ret || m.not_moved || gm_check(buf, 0, n, 200) != -1) {
		fprintf(stderr, "# after injection: migrate home: %s, %llu not moved\n",
			strerror(-ret), (unsigned long long)m.not_moved);
		return 5;
	}
	if (write(out, &failed, sizeof(failed)) != sizeof(failed))
		return 102;
	return 0;
}

TEST_F_TIMEOUT(kinject, kernel_fault_injection, INJ_TIMEOUT)
{
	struct gmem_fake_info info;
	long left[2], failed_calls = 0;
	int pipefd[2], status, i;
	pid_t pid;

	ASSERT_EQ(0, pipe(pipefd));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(kinject_rounds(pipefd[1]));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	kfail_off();
	for (i = 0; i < 2; i++) {
		char path[96];

		snprintf(path, sizeof(path), "/sys/kernel/debug/%s/times", kfail[i]);
		left[i] = gm_read_long(path);
	}
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("killed by signal %d", WTERMSIG(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ((ssize_t)sizeof(failed_calls), read(pipefd[0], &failed_calls,
						      sizeof(failed_calls)));

	/* The child exited: every device page it had is free again. */
	for (i = 0; i < GM_NR_DEVS; i++)
		ASSERT_EQ(0, gm_wait_idle(self->d.fd[i], &info, 5000));
	ksft_print_msg("aimed at %#llx-%#llx, sparing %#llx-%#llx\n", self->start,
		       self->end, self->rstart, self->rend);
	ksft_print_msg("failslab injected %ld, fail_page_alloc injected %ld; %ld calls failed with ENOMEM or EFAULT\n",
		       KFAIL_TIMES - left[0], KFAIL_TIMES - left[1], failed_calls);
	ASSERT_LT(0, KFAIL_TIMES - left[0] + KFAIL_TIMES - left[1]);
}

TEST_HARNESS_MAIN
