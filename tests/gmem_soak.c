// SPDX-License-Identifier: GPL-2.0
/*
 * Randomized soak: several processes with several threads each do, at
 * random, everything a workload does to memory that two devices use:
 * device loads and stores (device faults), migrations to either device and
 * back, CPU writes, fork, munmap and mmap again, mprotect, MADV_DONTNEED,
 * mremap and exit.  A shadow (the pattern seed of every page) says what
 * each byte must be; every device load and every CPU check compares whole
 * pages against it.  At the end no device page may be in use.
 *
 *   GMEM_SOAK_SECONDS  how long (default 30)
 *   GMEM_SOAK_SEED     the seed (default: from the clock); printed, so that
 *                      a failing run can be repeated
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include "gmem_test_util.h"
#include "kselftest_harness.h"

#define SOAK_PROCS		2
#define SOAK_THREADS		3
#define SOAK_REGIONS		6
#define SOAK_REGION_PAGES	256	/* 1 MiB */
#define SOAK_TIMEOUT		1800

enum soak_op {
	OP_CPU_WRITE, OP_CPU_CHECK, OP_DEV_READ, OP_DEV_WRITE, OP_MIGRATE,
	OP_MPROTECT, OP_DONTNEED, OP_REMAP, OP_MREMAP, OP_FORK, OP_NR,
};

static const char *const op_names[OP_NR] = {
	"cpu_write", "cpu_check", "dev_read", "dev_write", "migrate",
	"mprotect", "dontneed", "munmap_mmap", "mremap", "fork",
};

/* Counters of one process, sent to the test when it exits. */
struct soak_stats {
	uint64_t ops[OP_NR];
	uint64_t bytes_verified;
	uint64_t mismatches;
	uint64_t errors;
	uint64_t busy;
	char first_error[160];
};

struct soak_region {
	pthread_mutex_t lock;
	char *addr;
	uint64_t seed[SOAK_REGION_PAGES];	/* 0: the page reads zero */
	bool readonly;
};

struct soak_proc {
	int fd[GM_NR_DEVS];
	struct soak_region region[SOAK_REGIONS];
	pthread_mutex_t stats_lock;
	struct soak_stats st;
	uint64_t deadline_ns;
	unsigned int seed;
	uint64_t next_seed;
};

static void soak_error(struct soak_proc *p, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&p->stats_lock);
	if (!p->st.errors++ && !p->st.mismatches) {
		va_start(ap, fmt);
		vsnprintf(p->st.first_error, sizeof(p->st.first_error), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&p->stats_lock);
}

/* Compare @n pages of @buf (pages @first.. of region @r) with the shadow. */
static void soak_verify(struct soak_proc *p, struct soak_region *r,
			const char *what, const void *buf, size_t first,
			size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const void *pg = (const char *)buf + i * GM_PAGE_SIZE;
		uint64_t s = r->seed[first + i];
		long bad;

		/* The pattern is by page index within the region. */
		bad = s ? gm_check((const char *)pg - (first + i) * GM_PAGE_SIZE,
				   first + i, 1, s) :
			  gm_check_zero(pg, 0, 1);
		if (bad == -1)
			continue;
		pthread_mutex_lock(&p->stats_lock);
		if (!p->st.mismatches++ && !p->st.errors)
			snprintf(p->st.first_error, sizeof(p->st.first_error),
				 "%s: page %zu of region %ld: seed %llu expected",
				 what, first + i, (long)(r - p->region),
				 (unsigned long long)s);
		pthread_mutex_unlock(&p->stats_lock);
	}
	pthread_mutex_lock(&p->stats_lock);
	p->st.bytes_verified += n * GM_PAGE_SIZE;
	pthread_mutex_unlock(&p->stats_lock);
}

/*
 * A device access gives up with EBUSY when other threads keep invalidating
 * the range under it (a fork write-protects the whole address space); the
 * access is idempotent, so do it again, as a device replays a fault.
 */
static int soak_dev_access(struct soak_proc *p, int dev, void *addr,
			   size_t len, void *buf, bool write)
{
	int ret, tries = 0;

	while ((ret = gm_dev_access(p->fd[dev], addr, len, buf, write, NULL)) == -EBUSY &&
	       ++tries < 100) {
		pthread_mutex_lock(&p->stats_lock);
		p->st.busy++;
		pthread_mutex_unlock(&p->stats_lock);
	}
	return ret;
}

static uint64_t soak_new_seed(struct soak_proc *p)
{
	return __atomic_add_fetch(&p->next_seed, 1, __ATOMIC_RELAXED);
}

static int soak_map(struct soak_region *r)
{
	r->addr = gm_map_anon(SOAK_REGION_PAGES * GM_PAGE_SIZE);
	memset(r->seed, 0, sizeof(r->seed));
	r->readonly = false;
	return r->addr ? 0 : -ENOMEM;
}

/* A child of fork: its copy of the region is the parent's, on the CPU and
 * through its own attachment of a device. */
static int soak_child(struct soak_region *r)
{
	const size_t len = SOAK_REGION_PAGES * GM_PAGE_SIZE;
	void *buf = malloc(len);
	int fd = gm_open(0), ret, tries = 0;
	size_t i;

	if (!buf || fd < 0 || gm_attach(fd))
		_exit(2);
	for (i = 0; i < SOAK_REGION_PAGES; i++) {
		long bad = r->seed[i] ? gm_check(r->addr, i, 1, r->seed[i]) :
					gm_check_zero(r->addr, i, 1);

		if (bad != -1)
			_exit(3);
	}
	while ((ret = gm_dev_access(fd, r->addr, len, buf, false, NULL)) == -EBUSY &&
	       ++tries < 100)
		;
	if (ret) {
		fprintf(stderr, "# fork child: device read: %s\n", strerror(-ret));
		_exit(5);
	}
	for (i = 0; i < SOAK_REGION_PAGES; i++) {
		long bad = r->seed[i] ? gm_check((char *)buf, i, 1, r->seed[i]) :
					gm_check_zero(buf, i, 1);

		if (bad != -1)
			ret = 4;
	}
	/* The child's writes stay in the child. */
	if (!r->readonly)
		gm_fill(r->addr, 0, SOAK_REGION_PAGES, 999999);
	_exit(ret);
}

static void soak_op(struct soak_proc *p, unsigned int *rs, void *buf)
{
	struct soak_region *r = &p->region[rand_r(rs) % SOAK_REGIONS];
	const size_t len = SOAK_REGION_PAGES * GM_PAGE_SIZE;
	enum soak_op op = rand_r(rs) % OP_NR;
	size_t first = rand_r(rs) % SOAK_REGION_PAGES;
	size_t n = 1 + rand_r(rs) % (SOAK_REGION_PAGES - first);
	int dev = rand_r(rs) % GM_NR_DEVS, ret, status;
	struct gmem_fake_migrate m;
	uint64_t s;
	size_t i;
	pid_t pid;
	char *to;

	pthread_mutex_lock(&r->lock);
	switch (op) {
	case OP_CPU_WRITE:
		if (r->readonly)
			break;
		s = soak_new_seed(p);
		gm_fill(r->addr, first, n, s);
		for (i = first; i < first + n; i++)
			r->seed[i] = s;
		break;
	case OP_CPU_CHECK:
		soak_verify(p, r, "cpu", r->addr + first * GM_PAGE_SIZE, first, n);
		break;
	case OP_DEV_READ:
		ret = soak_dev_access(p, dev, r->addr + first * GM_PAGE_SIZE,
				      n * GM_PAGE_SIZE, buf, false);
		if (ret)
			soak_error(p, "device %d read: %s", dev, strerror(-ret));
		else
			soak_verify(p, r, "device", buf, first, n);
		break;
	case OP_DEV_WRITE:
		s = soak_new_seed(p);
		/* Build the pages as they must end up, then store them. */
		for (i = 0; i < n; i++)
			gm_fill((char *)buf - first * GM_PAGE_SIZE, first + i, 1, s);
		ret = soak_dev_access(p, dev, r->addr + first * GM_PAGE_SIZE,
				      n * GM_PAGE_SIZE, buf, true);
		if (r->readonly && ret != -EPERM)
			soak_error(p, "device write to read-only memory: %s",
				   strerror(-ret));
		else if (!r->readonly && ret)
			soak_error(p, "device %d write: %s", dev, strerror(-ret));
		else if (!ret)
			for (i = first; i < first + n; i++)
				r->seed[i] = s;
		break;
	case OP_MIGRATE:
		ret = gm_migrate(p->fd[0], r->addr + first * GM_PAGE_SIZE,
				 n * GM_PAGE_SIZE,
				 rand_r(rs) % 3 == 2 ? GMEM_FAKE_DEST_HOST : (__u32)dev,
				 &m);
		if (ret)
			soak_error(p, "migrate: %s", strerror(-ret));
		break;
	case OP_MPROTECT:
		if (!mprotect(r->addr, len, r->readonly ? PROT_READ | PROT_WRITE :
							  PROT_READ))
			r->readonly = !r->readonly;
		else
			soak_error(p, "mprotect: %s", strerror(errno));
		break;
	case OP_DONTNEED:
		if (r->readonly)
			break;
		if (madvise(r->addr + first * GM_PAGE_SIZE, n * GM_PAGE_SIZE,
			    MADV_DONTNEED))
			soak_error(p, "madvise: %s", strerror(errno));
		else
			for (i = first; i < first + n; i++)
				r->seed[i] = 0;
		break;
	case OP_REMAP:
		munmap(r->addr, len);
		if (soak_map(r))
			soak_error(p, "mmap failed");
		break;
	case OP_MREMAP:
		/* Grow into a fresh place, then shrink back: the pages move. */
		to = mremap(r->addr, len, 2 * len, MREMAP_MAYMOVE);
		if (to == MAP_FAILED) {
			soak_error(p, "mremap: %s", strerror(errno));
			break;
		}
		r->addr = mremap(to, 2 * len, len, 0);
		if (r->addr == MAP_FAILED)
			soak_error(p, "mremap back: %s", strerror(errno));
		break;
	case OP_FORK:
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			soak_error(p, "fork: %s", strerror(errno));
			break;
		}
		if (!pid)
			soak_child(r);
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			soak_error(p, "fork child: status %#x", status);
		/* And the parent still sees its own data. */
		soak_verify(p, r, "after fork", r->addr, 0, SOAK_REGION_PAGES);
		break;
	case OP_NR:
		break;
	}
	pthread_mutex_unlock(&r->lock);
	pthread_mutex_lock(&p->stats_lock);
	p->st.ops[op]++;
	pthread_mutex_unlock(&p->stats_lock);
}

static void *soak_thread(void *arg)
{
	struct soak_proc *p = arg;
	unsigned int rs = __atomic_add_fetch(&p->seed, 7919, __ATOMIC_RELAXED);
	void *buf = malloc(SOAK_REGION_PAGES * GM_PAGE_SIZE);

	if (!buf)
		return NULL;
	while (gm_now_ns() < p->deadline_ns)
		soak_op(p, &rs, buf);
	free(buf);
	return NULL;
}

/*
 * One worker process: attach both devices, run the threads until
 * @deadline_ns, check every region a last time, report on @out.  Workers
 * also exit early at random (a process exiting with device mappings and
 * device pages is part of the test); the test starts another.
 */
static void soak_proc(unsigned int seed, uint64_t deadline_ns, int out)
{
	static struct soak_proc p;
	pthread_t t[SOAK_THREADS];
	int i;

	memset(&p, 0, sizeof(p));
	pthread_mutex_init(&p.stats_lock, NULL);
	p.seed = seed;
	p.next_seed = (uint64_t)seed << 20;
	p.deadline_ns = deadline_ns;
	for (i = 0; i < GM_NR_DEVS; i++) {
		p.fd[i] = gm_open(i);
		if (p.fd[i] < 0 || gm_attach(p.fd[i]))
			_exit(2);
	}
	for (i = 0; i < SOAK_REGIONS; i++) {
		pthread_mutex_init(&p.region[i].lock, NULL);
		if (soak_map(&p.region[i]))
			_exit(3);
	}
	for (i = 0; i < SOAK_THREADS; i++)
		pthread_create(&t[i], NULL, soak_thread, &p);
	for (i = 0; i < SOAK_THREADS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < SOAK_REGIONS; i++)
		soak_verify(&p, &p.region[i], "final", p.region[i].addr, 0,
			    SOAK_REGION_PAGES);
	if (write(out, &p.st, sizeof(p.st)) != sizeof(p.st))
		_exit(4);
	_exit(0);
}

FIXTURE(soak) {
	int unused;
};

FIXTURE_SETUP(soak)
{
}

FIXTURE_TEARDOWN(soak)
{
}

TEST_F_TIMEOUT(soak, random_ops, SOAK_TIMEOUT)
{
	const char *secs = getenv("GMEM_SOAK_SECONDS"), *seed_env = getenv("GMEM_SOAK_SEED");
	uint64_t duration = (secs ? strtoull(secs, NULL, 10) : 30) * 1000000000ULL;
	unsigned int seed = seed_env ? strtoul(seed_env, NULL, 10) : (unsigned int)gm_now_ns();
	uint64_t end = gm_now_ns() + duration, total_ops = 0;
	struct soak_stats sum = { 0 }, st;
	struct gmem_fake_info info;
	int pipefd[2], procs = 0, status, i, fd;
	pid_t pid;

	ksft_print_msg("soak: seed %u, %llu s, %d processes x %d threads\n", seed,
		       (unsigned long long)(duration / 1000000000ULL), SOAK_PROCS,
		       SOAK_THREADS);
	ASSERT_EQ(0, pipe(pipefd));
	srand(seed);
	/* Keep SOAK_PROCS workers running; each lives for a random slice. */
	while (gm_now_ns() < end || procs) {
		while (procs < SOAK_PROCS && gm_now_ns() < end) {
			uint64_t left = end - gm_now_ns();
			uint64_t life = left / 4 + (uint64_t)rand() % (left / 2 + 1);

			fflush(NULL);
			pid = fork();
			ASSERT_LE(0, pid);
			if (!pid)
				soak_proc(rand() ^ procs, gm_now_ns() + life, pipefd[1]);
			rand();	/* different seeds for the next worker */
			procs++;
		}
		pid = wait(&status);
		ASSERT_LT(0, pid);
		procs--;
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(0, WEXITSTATUS(status));
		ASSERT_EQ((ssize_t)sizeof(st), read(pipefd[0], &st, sizeof(st)));
		for (i = 0; i < OP_NR; i++)
			sum.ops[i] += st.ops[i];
		sum.bytes_verified += st.bytes_verified;
		sum.mismatches += st.mismatches;
		sum.errors += st.errors;
		sum.busy += st.busy;
		if (!sum.first_error[0] && st.first_error[0])
			memcpy(sum.first_error, st.first_error, sizeof(st.first_error));
	}
	for (i = 0; i < OP_NR; i++) {
		total_ops += sum.ops[i];
		ksft_print_msg("soak: %-12s %llu\n", op_names[i],
			       (unsigned long long)sum.ops[i]);
	}
	ksft_print_msg("soak: %llu operations, %llu MiB verified, %llu mismatches, %llu errors, %llu device accesses retried after EBUSY\n",
		       (unsigned long long)total_ops,
		       (unsigned long long)(sum.bytes_verified / GM_MIB),
		       (unsigned long long)sum.mismatches,
		       (unsigned long long)sum.errors,
		       (unsigned long long)sum.busy);
	EXPECT_EQ(0, sum.mismatches) TH_LOG("%s", sum.first_error);
	EXPECT_EQ(0, sum.errors) TH_LOG("%s", sum.first_error);
	ASSERT_LT(0, total_ops);

	for (i = 0; i < GM_NR_DEVS; i++) {
		fd = gm_open(i);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, gm_wait_idle(fd, &info, 10000))
			TH_LOG("device %d: %llu pages still used", i,
			       (unsigned long long)info.used_pages);
		close(fd);
	}
}

TEST_HARNESS_MAIN
