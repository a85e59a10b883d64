// SPDX-License-Identifier: GPL-2.0
/*
 * Migrations racing with everything else, with no lock between them.
 *
 * The soak serialises every operation on a region, migrations included, so
 * it never sees a migration overlap a device fault or a CPU write of the
 * same pages.  Here two threads migrate random ranges of one buffer (often
 * all of it) to either device or to the host, through either device's fd,
 * without any locking, while two other threads each take a region at a time
 * and write it (CPU or device), read it back (CPU or device) and compare
 * every word with the pattern of the last write.  A variant adds a third
 * kind of pressure: mprotect read-only and back, MADV_PAGEOUT, or a fork
 * whose child checks its copy.
 *
 * A page that reads back the pattern of an older write means that a write
 * was lost, or that a device used a mapping that outlived the page's move:
 * the test names the page and how many writes ago its content was current.
 *
 * Races between the notifiers of one invalidation and the faults in flight
 * are a few instructions wide.  gmem's debugfs knobs widen them: every
 * invalidation waits invalidate_delay_us after it released a device's
 * mappings, and every device fault waits fault_delay_us between its read of
 * the CPU page table and its mapping lock, so that the two meet there far
 * more often than by chance.
 *
 *   GMEM_RACE_SECONDS   seconds per variant (default 10)
 *   GMEM_RACE_DELAY_US  both delays (default 500; 0: none)
 */
#include <pthread.h>
#include "gmem_test_util.h"
#include "kselftest_harness.h"

#define RACE_REGIONS		16
#define RACE_REGION_PAGES	64
#define RACE_PAGES		(RACE_REGIONS * RACE_REGION_PAGES)
#define RACE_LEN		(RACE_PAGES * GM_PAGE_SIZE)
#define RACE_REGION_LEN		(RACE_REGION_PAGES * GM_PAGE_SIZE)
#define RACE_TIMEOUT		1800
/* Retries of a device access that found its range invalidated (EBUSY). */
#define RACE_BUSY_RETRIES	100
#define RACE_INVALIDATE_KNOB	"/sys/kernel/debug/gmem/invalidate_delay_us"
#define RACE_FAULT_KNOB		"/sys/kernel/debug/gmem/fault_delay_us"

enum race_extra { EXTRA_NONE, EXTRA_MPROTECT, EXTRA_PAGEOUT, EXTRA_FORK };

struct race_region {
	pthread_mutex_t lock;
	uint64_t seed[RACE_REGION_PAGES];	/* 0: never written, reads zero */
};

struct race {
	int fd[GM_NR_DEVS];
	char *buf;
	enum race_extra extra;
	bool cpu_only;
	struct race_region region[RACE_REGIONS];
	uint64_t deadline_ns;
	uint64_t next_seed;		/* seeds in write order */
	pthread_mutex_t lock;		/* the figures below */
	uint64_t writes, checks, migrations, extras, busy;
	uint64_t mismatches, errors;
	char first[256];
};

static uint64_t race_seed(struct race *r)
{
	return __atomic_add_fetch(&r->next_seed, 1, __ATOMIC_RELAXED);
}

static void race_note(struct race *r, bool mismatch, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->lock);
	if (!r->mismatches && !r->errors) {
		va_start(ap, fmt);
		vsnprintf(r->first, sizeof(r->first), fmt, ap);
		va_end(ap);
	}
	if (mismatch)
		r->mismatches++;
	else
		r->errors++;
	pthread_mutex_unlock(&r->lock);
}

/* The seed whose pattern the first word of page @pg holds (see gm_pat()). */
static uint64_t race_seed_of(uint64_t word, size_t pg)
{
	uint64_t inv = 0x9e3779b97f4a7c15ULL, x = word ^ ((uint64_t)pg << 24) ^ 1;
	int i;

	/* The inverse of the odd multiplier modulo 2^64, by Newton's method. */
	for (i = 0; i < 5; i++)
		inv *= 2 - 0x9e3779b97f4a7c15ULL * inv;
	return x * inv - 1;
}

/* Compare region @ri as read into @data with its shadow. */
static void race_verify(struct race *r, int ri, const char *who,
			const char *data)
{
	struct race_region *rg = &r->region[ri];
	size_t i, pg;

	for (i = 0; i < RACE_REGION_PAGES; i++) {
		const char *page = data + i * GM_PAGE_SIZE;
		uint64_t want = rg->seed[i];
		long bad;

		pg = ri * RACE_REGION_PAGES + i;
		bad = want ? gm_check(page - pg * GM_PAGE_SIZE, pg, 1, want) :
			     gm_check_zero(page, 0, 1);
		if (bad == -1)
			continue;
		if (want && gm_check(page - pg * GM_PAGE_SIZE, pg, 1,
				     race_seed_of(*(const uint64_t *)page, pg)) == -1)
			race_note(r, true,
				  "%s read of page %zu: the pattern of write %llu, "
				  "%lld writes older than the last one (%llu)",
				  who, pg,
				  (unsigned long long)race_seed_of(*(const uint64_t *)page, pg),
				  (long long)(want - race_seed_of(*(const uint64_t *)page, pg)),
				  (unsigned long long)want);
		else
			race_note(r, true, "%s read of page %zu: not the pattern of write %llu",
				  who, pg, (unsigned long long)want);
	}
	pthread_mutex_lock(&r->lock);
	r->checks++;
	pthread_mutex_unlock(&r->lock);
}

static int race_dev_access(struct race *r, int dev, void *addr, size_t len,
			   void *buf, bool write)
{
	int ret, tries = 0;

	while ((ret = gm_dev_access(r->fd[dev], addr, len, buf, write, NULL)) == -EBUSY &&
	       ++tries < RACE_BUSY_RETRIES) {
		pthread_mutex_lock(&r->lock);
		r->busy++;
		pthread_mutex_unlock(&r->lock);
	}
	return ret;
}

/* A fork child's copy of region @ri is the parent's, page for page. */
static void race_child(struct race *r, int ri)
{
	const char *addr = r->buf + ri * RACE_REGION_LEN;
	size_t i, pg;

	for (i = 0; i < RACE_REGION_PAGES; i++) {
		uint64_t want = r->region[ri].seed[i];

		pg = ri * RACE_REGION_PAGES + i;
		if ((want ? gm_check(r->buf, pg, 1, want) :
			    gm_check_zero(addr + i * GM_PAGE_SIZE, 0, 1)) != -1)
			_exit(3);
	}
	_exit(0);
}

static void race_extra(struct race *r, int ri, char *data)
{
	char *addr = r->buf + ri * RACE_REGION_LEN;
	int status;
	pid_t pid;

	switch (r->extra) {
	case EXTRA_MPROTECT:
		if (mprotect(addr, RACE_REGION_LEN, PROT_READ)) {
			race_note(r, false, "mprotect: %s", strerror(errno));
			return;
		}
		/* Read-only now: a device store must be refused. */
		memset(data, 0, GM_PAGE_SIZE);
		status = race_dev_access(r, ri % GM_NR_DEVS, addr, GM_PAGE_SIZE,
					 data, true);
		if (status != -EPERM)
			race_note(r, false, "device store to read-only memory: %s",
				  strerror(-status));
		race_verify(r, ri, "read-only cpu", addr);
		if (mprotect(addr, RACE_REGION_LEN, PROT_READ | PROT_WRITE))
			race_note(r, false, "mprotect back: %s", strerror(errno));
		break;
	case EXTRA_PAGEOUT:
		/* Without swap (the debug kernel) nothing is paged out. */
		madvise(addr, RACE_REGION_LEN, MADV_PAGEOUT);
		break;
	case EXTRA_FORK:
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			race_note(r, false, "fork: %s", strerror(errno));
			return;
		}
		if (!pid)
			race_child(r, ri);
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			race_note(r, true, "fork child found region %d changed (status %#x)",
				  ri, status);
		break;
	case EXTRA_NONE:
		return;
	}
	pthread_mutex_lock(&r->lock);
	r->extras++;
	pthread_mutex_unlock(&r->lock);
}

/* One locked operation on one region: write, check, or the variant's extra. */
static void race_region_op(struct race *r, unsigned int *rs, char *data)
{
	int ri = rand_r(rs) % RACE_REGIONS, dev = rand_r(rs) % GM_NR_DEVS;
	struct race_region *rg = &r->region[ri];
	char *addr = r->buf + ri * RACE_REGION_LEN;
	int op = rand_r(rs) % 5, ret;

	/* CPU only: writes and checks through the CPU, migrations unchanged. */
	if (r->cpu_only && (op == 1 || op == 3))
		op--;
	size_t i, pg;

	pthread_mutex_lock(&rg->lock);
	switch (op) {
	case 0:	/* CPU write */
	case 1:	/* device write */
		for (i = 0; i < RACE_REGION_PAGES; i++) {
			uint64_t s = race_seed(r);

			pg = ri * RACE_REGION_PAGES + i;
			gm_fill(op ? data - pg * GM_PAGE_SIZE + i * GM_PAGE_SIZE :
				     r->buf, pg, 1, s);
			rg->seed[i] = s;
		}
		if (op) {
			ret = race_dev_access(r, dev, addr, RACE_REGION_LEN, data, true);
			if (ret)
				race_note(r, false, "device %d write: %s", dev,
					  strerror(-ret));
		}
		pthread_mutex_lock(&r->lock);
		r->writes++;
		pthread_mutex_unlock(&r->lock);
		break;
	case 2:	/* CPU check */
		race_verify(r, ri, "cpu", addr);
		break;
	case 3:	/* device check */
		ret = race_dev_access(r, dev, addr, RACE_REGION_LEN, data, false);
		if (ret)
			race_note(r, false, "device %d read: %s", dev, strerror(-ret));
		else
			race_verify(r, ri, dev ? "device 1" : "device 0", data);
		break;
	default:
		race_extra(r, ri, data);
		break;
	}
	pthread_mutex_unlock(&rg->lock);
}

static void *race_worker(void *arg)
{
	struct race *r = arg;
	unsigned int rs = (unsigned int)gm_now_ns();
	char *data = malloc(RACE_REGION_LEN);

	if (!data)
		return NULL;
	while (gm_now_ns() < r->deadline_ns)
		race_region_op(r, &rs, data);
	free(data);
	return NULL;
}

/* Migrations of random ranges, half of them of the whole buffer, unlocked. */
static void *race_migrator(void *arg)
{
	struct race *r = arg;
	unsigned int rs = (unsigned int)gm_now_ns() ^ 0x5bd1e995;
	struct gmem_fake_migrate m;

	while (gm_now_ns() < r->deadline_ns) {
		size_t first = 0, n = RACE_PAGES;
		int via = rand_r(&rs) % GM_NR_DEVS, dest = rand_r(&rs) % 3, ret;

		if (rand_r(&rs) % 2) {
			first = rand_r(&rs) % RACE_PAGES;
			n = 1 + rand_r(&rs) % (RACE_PAGES - first);
		}
		ret = gm_migrate(r->fd[via], r->buf + first * GM_PAGE_SIZE,
				 n * GM_PAGE_SIZE,
				 dest == 2 ? GMEM_FAKE_DEST_HOST : (__u32)dest, &m);
		if (ret)
			race_note(r, false, "migrate: %s", strerror(-ret));
		pthread_mutex_lock(&r->lock);
		r->migrations++;
		pthread_mutex_unlock(&r->lock);
	}
	return NULL;
}

FIXTURE(race) {
	struct gm_devs devs;
	struct race *r;
};

FIXTURE_VARIANT(race) {
	enum race_extra extra;
	bool cpu_only;
};

FIXTURE_VARIANT_ADD(race, plain) { .extra = EXTRA_NONE };
FIXTURE_VARIANT_ADD(race, cpu_only) { .extra = EXTRA_FORK, .cpu_only = true };
FIXTURE_VARIANT_ADD(race, mprotect) { .extra = EXTRA_MPROTECT };
FIXTURE_VARIANT_ADD(race, pageout) { .extra = EXTRA_PAGEOUT };
FIXTURE_VARIANT_ADD(race, fork) { .extra = EXTRA_FORK };

FIXTURE_SETUP(race)
{
	char why[256];
	int i;

	ASSERT_EQ(0, gm_devs_open(&self->devs, 3, why, sizeof(why))) TH_LOG("%s", why);
	self->r = calloc(1, sizeof(*self->r));
	ASSERT_NE(NULL, self->r);
	self->r->buf = gm_map_anon(RACE_LEN);
	ASSERT_NE(NULL, self->r->buf);
	for (i = 0; i < GM_NR_DEVS; i++)
		self->r->fd[i] = self->devs.fd[i];
	pthread_mutex_init(&self->r->lock, NULL);
	for (i = 0; i < RACE_REGIONS; i++)
		pthread_mutex_init(&self->r->region[i].lock, NULL);
	ASSERT_EQ(0, gm_write_file(RACE_INVALIDATE_KNOB, getenv("GMEM_RACE_DELAY_US") ?: "500"));
	ASSERT_EQ(0, gm_write_file(RACE_FAULT_KNOB, getenv("GMEM_RACE_DELAY_US") ?: "500"));
}

FIXTURE_TEARDOWN(race)
{
	gm_write_file(RACE_INVALIDATE_KNOB, "0");
	gm_write_file(RACE_FAULT_KNOB, "0");
	if (self->r) {
		if (self->r->buf)
			munmap(self->r->buf, RACE_LEN);
		free(self->r);
	}
	gm_devs_close(&self->devs);
}

TEST_F_TIMEOUT(race, migrations_unlocked, RACE_TIMEOUT)
{
	const char *secs = getenv("GMEM_RACE_SECONDS");
	uint64_t duration = (secs ? strtoull(secs, NULL, 10) : 10) * 1000000000ULL;
	struct race *r = self->r;
	struct gmem_fake_migrate m;
	struct gmem_fake_info info;
	pthread_t t[4];
	int i;

	r->extra = variant->extra;
	r->cpu_only = variant->cpu_only;
	r->deadline_ns = gm_now_ns() + duration;
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL,
					    i < 2 ? race_worker : race_migrator, r));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));

	for (i = 0; i < RACE_REGIONS; i++)
		race_verify(r, i, "final cpu", r->buf + i * RACE_REGION_LEN);
	ksft_print_msg("race: %llu writes, %llu checks, %llu migrations, %llu extras, %llu device accesses retried after EBUSY\n",
		       (unsigned long long)r->writes, (unsigned long long)r->checks,
		       (unsigned long long)r->migrations,
		       (unsigned long long)r->extras, (unsigned long long)r->busy);
	EXPECT_EQ(0, r->mismatches) TH_LOG("%llu mismatches, first: %s",
					   (unsigned long long)r->mismatches, r->first);
	EXPECT_EQ(0, r->errors) TH_LOG("%llu errors, first: %s",
				       (unsigned long long)r->errors, r->first);
	ASSERT_LT(0, r->writes);
	ASSERT_LT(0, r->migrations);

	/* Everything comes home, and no device page stays in use. */
	ASSERT_EQ(0, gm_migrate(r->fd[0], r->buf, RACE_LEN, GMEM_FAKE_DEST_HOST, &m));
	ASSERT_EQ(0, munmap(r->buf, RACE_LEN));
	r->buf = NULL;
	for (i = 0; i < GM_NR_DEVS; i++)
		ASSERT_EQ(0, gm_wait_idle(r->fd[i], &info, 10000))
			TH_LOG("device %d: %llu pages still used", i,
			       (unsigned long long)info.used_pages);
}

TEST_HARNESS_MAIN
