// SPDX-License-Identifier: GPL-2.0
/*
 * gmem_fake bad inputs, table-driven: each row prepares what it needs, issues
 * one ioctl, expects one errno (as documented in uapi/linux/gmem_fake.h) and
 * then checks that nothing changed: device counters, the test buffer's data
 * and location, and that the fd is still attached.
 */
#include <lib/test_hmm_uapi.h>
#include "gmem_test_util.h"
#include "kselftest_harness.h"

#define BUF_LEN		GM_MIB
#define BUF_PAGES	(BUF_LEN / GM_PAGE_SIZE)
#define AREA_LEN	((__u64)-1)	/* len: the whole area the setup made */
#define PG		GM_PAGE_SIZE
#define TIB		(1ULL << 40)

#define MIGRATE		GMEM_FAKE_IOC_MIGRATE
#define QUERY		GMEM_FAKE_IOC_QUERY
#define ATTACH		GMEM_FAKE_IOC_ATTACH
#define DETACH		GMEM_FAKE_IOC_DETACH
#define DEV_READ	GMEM_FAKE_IOC_DEV_READ
#define DEV_WRITE	GMEM_FAKE_IOC_DEV_WRITE
#define MMU_STATS	GMEM_FAKE_IOC_MMU_STATS
#define UNMAP		GMEM_FAKE_IOC_UNMAP
#define PREFETCH	GMEM_FAKE_IOC_PREFETCH
/* Unknown command number, and known numbers with the wrong size. */
#define BAD_NR		_IOWR(GMEM_FAKE_IOC_MAGIC, 0x9f, struct gmem_fake_migrate)
#define MIGRATE_BIG	_IOC(_IOC_READ | _IOC_WRITE, GMEM_FAKE_IOC_MAGIC, 0x93, \
			     sizeof(struct gmem_fake_migrate) + 8)
#define MIGRATE_SMALL	_IOC(_IOC_READ | _IOC_WRITE, GMEM_FAKE_IOC_MAGIC, 0x93, \
			     sizeof(struct gmem_fake_migrate) - 8)
#define QUERY_BIG	_IOC(_IOC_WRITE, GMEM_FAKE_IOC_MAGIC, 0x94, \
			     sizeof(struct gmem_fake_query) + 8)
#define INFO_SMALL	_IOC(_IOC_READ, GMEM_FAKE_IOC_MAGIC, 0x90, \
			     sizeof(struct gmem_fake_info) - 8)

enum bi_setup {
	NONE,
	HOLE,		/* area: 1 MiB private anon with a 64 KiB hole in the middle */
	UNMAPPED,	/* area: 1 MiB that was mapped and unmapped again */
	SHARED,		/* area: 1 MiB MAP_SHARED anonymous, populated */
	PRIV_SHARED,	/* area: 1 MiB private anon followed by 1 MiB shared anon */
	FILE_SHARED,	/* area: 1 MiB MAP_SHARED of a file in /tmp, populated */
	HUGE,		/* area: private anon, 44 MiB more than device memory */
	FRESH_FD,	/* the ioctl goes to a new fd of device 0, never attached */
	CHILD,		/* a forked child issues it through the inherited fd */
	LOCS_UNMAPPED,	/* QUERY's locs points at an unmapped page */
	LOCS_RO,	/* QUERY's locs points at a read-only page */
	VDSO,		/* area: the process's [vdso] (VM_DONTEXPAND, special) */
	PRIV_MIXED,	/* area: 1 MiB private anon, then 1 MiB of a mixed map */
};

enum bi_at {
	AT_BUF,		/* addr = test buffer + off */
	AT_AREA,	/* addr = the setup's area + off */
	AT_ABS,		/* addr = off */
	AT_NULL,	/* dmirror: the argument pointer itself is NULL */
};

static const struct bi_case {
	const char *name;
	enum bi_setup setup;
	unsigned long cmd;
	enum bi_at at;
	__u64 off;
	__u64 len;		/* MIGRATE, DEV_*, UNMAP: bytes; QUERY: npages */
	__u32 dest;		/* MIGRATE: device; UNMAP: number of ranges;
				 * PREFETCH: the reserved field */
	__u32 flags;
	int err;		/* expected errno */
} cases[] = {
	/* name, setup, cmd, at, off, len, dest, flags, expected errno */
	{ "unaligned_addr", NONE, MIGRATE, AT_BUF, 1, PG, 0, 0, EINVAL },
	{ "unaligned_length", NONE, MIGRATE, AT_BUF, 0, PG + 1, 0, 0, EINVAL },
	{ "short_length", NONE, MIGRATE, AT_BUF, 0, 100, 0, 0, EINVAL },
	{ "zero_length", NONE, MIGRATE, AT_BUF, 0, 0, 0, 0, EINVAL },
	{ "addr_len_wraps", NONE, MIGRATE, AT_BUF, 0, -PG, 0, 0, EOVERFLOW },
	{ "top_page_wraps", NONE, MIGRATE, AT_ABS, -PG, 2 * PG, 0, 0, EOVERFLOW },
	{ "past_user_space", NONE, MIGRATE, AT_ABS, 0x7ffffffff000ULL, TIB, 0, 0, EOVERFLOW },
	{ "kernel_address", NONE, MIGRATE, AT_ABS, 0xffff888000000000ULL, PG, 0, 0, EOVERFLOW },
	{ "hole_in_range", HOLE, MIGRATE, AT_AREA, 0, AREA_LEN, 0, 0, EFAULT },
	{ "unmapped_range", UNMAPPED, MIGRATE, AT_AREA, 0, AREA_LEN, 0, 0, EFAULT },
	{ "shared_anon", SHARED, MIGRATE, AT_AREA, 0, AREA_LEN, 0, 0, EOPNOTSUPP },
	{ "private_then_shared", PRIV_SHARED, MIGRATE, AT_AREA, 0, AREA_LEN, 0, 0, EOPNOTSUPP },
	{ "file_shared", FILE_SHARED, MIGRATE, AT_AREA, 0, AREA_LEN, 0, 0, EOPNOTSUPP },
	{ "vdso_to_device", VDSO, MIGRATE, AT_AREA, 0, AREA_LEN, 0, 0, EOPNOTSUPP },
	{ "vdso_to_host", VDSO, MIGRATE, AT_AREA, 0, AREA_LEN, GMEM_FAKE_DEST_HOST, 0, EOPNOTSUPP },
	{ "private_then_mixedmap", PRIV_MIXED, MIGRATE, AT_AREA, 0, AREA_LEN, 0, 0, EOPNOTSUPP },
	{ "larger_than_device", HUGE, MIGRATE, AT_AREA, 0, AREA_LEN, 0, 0, ENOSPC },
	{ "dest_nonexistent", NONE, MIGRATE, AT_BUF, 0, BUF_LEN, 7, 0, ENODEV },
	{ "dest_bogus", NONE, MIGRATE, AT_BUF, 0, BUF_LEN, 0xfffffffe, 0, ENODEV },
	{ "dest_not_attached", NONE, MIGRATE, AT_BUF, 0, BUF_LEN, 1, 0, ENXIO },
	{ "flags_low", NONE, MIGRATE, AT_BUF, 0, BUF_LEN, 0, 1, EINVAL },
	{ "flags_high", NONE, MIGRATE, AT_BUF, 0, BUF_LEN, 0, 1u << 31, EINVAL },
	{ "migrate_no_attach", FRESH_FD, MIGRATE, AT_BUF, 0, BUF_LEN, 0, 0, ENOTCONN },
	{ "query_no_attach", FRESH_FD, QUERY, AT_BUF, 0, 1, 0, 0, ENOTCONN },
	{ "detach_no_attach", FRESH_FD, DETACH, AT_BUF, 0, 0, 0, 0, ENOTCONN },
	{ "attach_twice", NONE, ATTACH, AT_BUF, 0, 0, 0, 0, EBUSY },
	{ "query_npages_zero", NONE, QUERY, AT_BUF, 0, 0, 0, 0, EINVAL },
	{ "query_npages_max", NONE, QUERY, AT_BUF, 0, GMEM_FAKE_QUERY_MAX + 1ULL, 0, 0, EINVAL },
	{ "query_unaligned", NONE, QUERY, AT_BUF, 1, 1, 0, 0, EINVAL },
	{ "query_locs_unmapped", LOCS_UNMAPPED, QUERY, AT_BUF, 0, 16, 0, 0, EFAULT },
	{ "query_locs_readonly", LOCS_RO, QUERY, AT_BUF, 0, 16, 0, 0, EFAULT },
	{ "unknown_nr", NONE, BAD_NR, AT_BUF, 0, BUF_LEN, 0, 0, ENOTTY },
	{ "migrate_size_big", NONE, MIGRATE_BIG, AT_BUF, 0, BUF_LEN, 0, 0, ENOTTY },
	{ "migrate_size_small", NONE, MIGRATE_SMALL, AT_BUF, 0, BUF_LEN, 0, 0, ENOTTY },
	{ "query_size_big", NONE, QUERY_BIG, AT_BUF, 0, 16, 0, 0, ENOTTY },
	{ "info_size_small", NONE, INFO_SMALL, AT_BUF, 0, 0, 0, 0, ENOTTY },
	{ "child_migrate", CHILD, MIGRATE, AT_BUF, 0, BUF_LEN, 0, 0, EACCES },
	{ "child_query", CHILD, QUERY, AT_BUF, 0, 16, 0, 0, EACCES },
	{ "dev_read_zero_length", NONE, DEV_READ, AT_BUF, 0, 0, 0, 0, EINVAL },
	{ "dev_read_too_long", NONE, DEV_READ, AT_BUF, 0, GMEM_FAKE_ACCESS_MAX + 1ULL, 0, 0, EINVAL },
	{ "dev_write_flags", NONE, DEV_WRITE, AT_BUF, 0, 16, 0, 1, EINVAL },
	{ "dev_read_wraps", NONE, DEV_READ, AT_ABS, -16ULL, 32, 0, 0, EFAULT },
	{ "dev_read_kernel_address", NONE, DEV_READ, AT_ABS, 0xffff888000000000ULL, 16, 0, 0, EFAULT },
	{ "dev_read_unmapped", UNMAPPED, DEV_READ, AT_AREA, 0, 16, 0, 0, EFAULT },
	{ "dev_write_no_attach", FRESH_FD, DEV_WRITE, AT_BUF, 0, 16, 0, 0, ENOTCONN },
	{ "dev_read_child", CHILD, DEV_READ, AT_BUF, 0, 16, 0, 0, EACCES },
	{ "mmu_stats_no_attach", FRESH_FD, MMU_STATS, AT_BUF, 0, 0, 0, 0, ENOTCONN },
	{ "unmap_nr_zero", NONE, UNMAP, AT_BUF, 0, PG, 0, 0, EINVAL },
	{ "unmap_nr_too_many", NONE, UNMAP, AT_BUF, 0, PG, GMEM_FAKE_UNMAP_MAX + 1, 0, EINVAL },
	{ "unmap_unaligned", NONE, UNMAP, AT_BUF, 1, PG, 1, 0, EINVAL },
	{ "unmap_zero_length", NONE, UNMAP, AT_BUF, 0, 0, 1, 0, EINVAL },
	{ "unmap_wraps", NONE, UNMAP, AT_ABS, -PG, 2 * PG, 1, 0, EOVERFLOW },
	{ "unmap_kernel_address", NONE, UNMAP, AT_ABS, 0xffff888000000000ULL, PG, 1, 0, EOVERFLOW },
	{ "unmap_flags", NONE, UNMAP, AT_BUF, 0, PG, 1, 1, EINVAL },
	{ "unmap_no_attach", FRESH_FD, UNMAP, AT_BUF, 0, PG, 1, 0, ENOTCONN },
	{ "unmap_child", CHILD, UNMAP, AT_BUF, 0, PG, 1, 0, EACCES },
	{ "prefetch_unaligned", NONE, PREFETCH, AT_BUF, 1, PG, 0, 0, EINVAL },
	{ "prefetch_short_length", NONE, PREFETCH, AT_BUF, 0, 100, 0, 0, EINVAL },
	{ "prefetch_zero_length", NONE, PREFETCH, AT_BUF, 0, 0, 0, 0, EINVAL },
	{ "prefetch_flags", NONE, PREFETCH, AT_BUF, 0, PG, 0, 8, EINVAL },
	{ "prefetch_two_placements", NONE, PREFETCH, AT_BUF, 0, PG, 0, 6, EINVAL },
	{ "prefetch_reserved", NONE, PREFETCH, AT_BUF, 0, PG, 1, 0, EINVAL },
	{ "prefetch_wraps", NONE, PREFETCH, AT_ABS, -PG, 2 * PG, 0, 0, EOVERFLOW },
	{ "prefetch_kernel_address", NONE, PREFETCH, AT_ABS, 0xffff888000000000ULL, PG, 0, 0, EOVERFLOW },
	{ "prefetch_unmapped", UNMAPPED, PREFETCH, AT_AREA, 0, AREA_LEN, 0, 0, EFAULT },
	{ "prefetch_write_vdso", VDSO, PREFETCH, AT_AREA, 0, PG, 0, GMEM_FAKE_PREFETCH_WRITE, EPERM },
	{ "prefetch_no_attach", FRESH_FD, PREFETCH, AT_BUF, 0, PG, 0, 0, ENOTCONN },
	{ "prefetch_child", CHILD, PREFETCH, AT_BUF, 0, PG, 0, 0, EACCES },
};

FIXTURE(badinput) {
	struct gm_devs d;
	void *buf;		/* BUF_LEN, pattern seed 1, must never change */
	uint8_t *locs;		/* a valid QUERY buffer of BUF_PAGES bytes */
	/* per row */
	void *area;
	size_t area_len;
	bool area_borrowed;	/* not the test's to unmap */
	int fd;			/* the fd the row's ioctl goes to */
	int fresh_fd;
	uint8_t *bad_locs;
};

FIXTURE_SETUP(badinput)
{
	char why[256] = "";

	self->buf = NULL;
	self->locs = NULL;
	self->fresh_fd = -1;
	/* Device 1 stays unattached: dest 1 must fail with ENXIO. */
	ASSERT_EQ(0, gm_devs_open(&self->d, 0x1, why, sizeof(why)))
		TH_LOG("%s", why);
	self->buf = gm_map_anon(BUF_LEN);
	ASSERT_NE(NULL, self->buf);
	gm_fill(self->buf, 0, BUF_PAGES, 1);
	self->locs = malloc(BUF_PAGES);
	ASSERT_NE(NULL, self->locs);
}

FIXTURE_TEARDOWN(badinput)
{
	if (self->buf)
		munmap(self->buf, BUF_LEN);
	free(self->locs);
	gm_devs_close(&self->d);
}

static void *map_area(FIXTURE_DATA(badinput) *self, size_t len, int flags, int fd)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);

	if (p == MAP_FAILED)
		return NULL;
	self->area = p;
	self->area_len = len;
	return p;
}

static volatile uint64_t sink;

/* Where the [vdso] of this process is, from /proc/self/maps. */
static void *find_vdso(size_t *len)
{
	unsigned long start, end;
	char line[256];
	FILE *f = fopen("/proc/self/maps", "r");
	void *p = NULL;

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[vdso]") &&
		    sscanf(line, "%lx-%lx", &start, &end) == 2) {
			p = (void *)start;
			*len = end - start;
			break;
		}
	fclose(f);
	return p;
}

/* Prepare what the row needs; 0 or -errno. */
static int row_setup(FIXTURE_DATA(badinput) *self, const struct bi_case *c)
{
	const int priv = MAP_PRIVATE | MAP_ANONYMOUS, shared = MAP_SHARED | MAP_ANONYMOUS;
	char path[] = "/tmp/gmem_badinput.XXXXXX";
	size_t i, half = GM_MIB / 2;
	char *p;
	int fd;

	self->area = NULL;
	self->area_len = 0;
	self->fd = self->d.fd[0];
	self->bad_locs = NULL;

	switch (c->setup) {
	case NONE:
	case CHILD:
		return 0;
	case HOLE:
		p = map_area(self, GM_MIB, priv, -1);
		if (!p)
			return -errno;
		gm_fill(p, 0, gm_pages(GM_MIB), 2);
		return munmap(p + half - 8 * PG, 16 * PG) ? -errno : 0;
	case UNMAPPED:
		p = map_area(self, GM_MIB, priv, -1);
		if (!p || munmap(p, GM_MIB))
			return -errno;
		return 0;
	case SHARED:
		p = map_area(self, GM_MIB, shared, -1);
		if (!p)
			return -errno;
		gm_fill(p, 0, gm_pages(GM_MIB), 2);
		return 0;
	case PRIV_SHARED:
		p = map_area(self, 2 * GM_MIB, priv, -1);
		if (!p || mmap(p + GM_MIB, GM_MIB, PROT_READ | PROT_WRITE,
			       shared | MAP_FIXED, -1, 0) == MAP_FAILED)
			return -errno;
		gm_fill(p, 0, gm_pages(2 * GM_MIB), 2);
		return 0;
	case FILE_SHARED:
		mkdir("/tmp", 01777);
		fd = mkstemp(path);
		if (fd < 0)
			return -errno;
		unlink(path);
		if (ftruncate(fd, GM_MIB)) {
			close(fd);
			return -errno;
		}
		p = map_area(self, GM_MIB, MAP_SHARED, fd);
		close(fd);
		if (!p)
			return -errno;
		for (i = 0; i < GM_MIB; i += PG)
			sink += p[i];
		return 0;
	case HUGE:
		p = map_area(self, self->d.info[0].devmem_size + 44 * GM_MIB,
			     priv | MAP_NORESERVE, -1);
		return p ? 0 : -errno;
	case VDSO:
		self->area = find_vdso(&self->area_len);
		self->area_borrowed = true;
		return self->area ? 0 : -ENOENT;
	case PRIV_MIXED:
		p = map_area(self, 2 * GM_MIB, priv, -1);
		if (!p)
			return -errno;
		gm_fill(p, 0, gm_pages(GM_MIB), 2);
		fd = open("/dev/hmm_dmirror2", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		/* test_hmm's mmap: pages inserted one by one, VM_MIXEDMAP. */
		if (mmap(p + GM_MIB, GM_MIB, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED) {
			close(fd);
			return -errno;
		}
		close(fd);
		return 0;
	case FRESH_FD:
		self->fresh_fd = gm_open(0);
		if (self->fresh_fd < 0)
			return self->fresh_fd;
		self->fd = self->fresh_fd;
		return 0;
	case LOCS_UNMAPPED:
	case LOCS_RO:
		p = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		self->area = p;
		self->area_len = PG;
		self->bad_locs = (uint8_t *)p;
		if (c->setup == LOCS_UNMAPPED && munmap(p, PG))
			return -errno;
		return 0;
	}
	return -EINVAL;
}

static void row_cleanup(FIXTURE_DATA(badinput) *self)
{
	if (self->area && !self->area_borrowed)
		munmap(self->area, self->area_len);
	self->area_borrowed = false;
	if (self->fresh_fd >= 0)
		close(self->fresh_fd);
	self->area = NULL;
	self->fresh_fd = -1;
}

/* Issue the row's ioctl; 0 or the errno it failed with. */
static int row_ioctl(FIXTURE_DATA(badinput) *self, const struct bi_case *c)
{
	union {
		struct gmem_fake_migrate m;
		struct gmem_fake_query q;
		struct gmem_fake_access a;
		struct gmem_fake_unmap u;
		struct gmem_fake_prefetch p;
		char raw[512];
	} arg;
	static struct gmem_fake_range ranges[GMEM_FAKE_UNMAP_MAX + 1];
	__u64 addr = c->off;
	int status, ret;
	pid_t pid;

	if (c->at == AT_BUF)
		addr += (uintptr_t)self->buf;
	else if (c->at == AT_AREA)
		addr += (uintptr_t)self->area;

	memset(&arg, 0, sizeof(arg));
	if (_IOC_NR(c->cmd) == _IOC_NR(QUERY)) {
		arg.q.addr = addr;
		arg.q.npages = c->len;
		arg.q.locs = (uintptr_t)(self->bad_locs ? self->bad_locs : self->locs);
	} else if (c->cmd == UNMAP) {
		for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
			ranges[i].addr = addr;
			ranges[i].length = c->len;
		}
		arg.u.ranges = (uintptr_t)ranges;
		arg.u.nr = c->dest;
		arg.u.flags = c->flags;
	} else if (c->cmd == PREFETCH) {
		arg.p.addr = addr;
		arg.p.length = c->len == AREA_LEN ? self->area_len : c->len;
		arg.p.flags = c->flags;
		arg.p.reserved = c->dest;
	} else if (c->cmd == DEV_READ || c->cmd == DEV_WRITE) {
		arg.a.addr = addr;
		arg.a.length = c->len == AREA_LEN ? self->area_len : c->len;
		arg.a.buf = (uintptr_t)self->locs;
		arg.a.flags = c->flags;
	} else {
		arg.m.addr = addr;
		arg.m.length = c->len == AREA_LEN ? self->area_len : c->len;
		arg.m.dest = c->dest;
		arg.m.flags = c->flags;
	}

	if (c->setup != CHILD)
		return ioctl(self->fd, c->cmd, &arg) ? errno : 0;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		ret = ioctl(self->fd, c->cmd, &arg);
		_exit(ret ? errno : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -ECHILD;
	return WEXITSTATUS(status);
}

/* After each row: counters, buffer data and location as at the start. */
static void check_unchanged(struct __test_metadata *_metadata,
			    FIXTURE_DATA(badinput) *self, const struct bi_case *c,
			    const struct gmem_fake_info *before)
{
	struct gmem_fake_info now;
	struct gm_pfns pf;
	int i;

	for (i = 0; i < GM_NR_DEVS; i++) {
		EXPECT_EQ(0, gm_info(self->d.fd[i], &now)) TH_LOG("%s", c->name);
		EXPECT_EQ(before[i].free_pages, now.free_pages) TH_LOG("%s: dev %d", c->name, i);
		EXPECT_EQ(before[i].used_pages, now.used_pages) TH_LOG("%s: dev %d", c->name, i);
		EXPECT_EQ(before[i].to_dev_pages, now.to_dev_pages)
			TH_LOG("%s: dev %d", c->name, i);
		EXPECT_EQ(0, gm_pfns_dev(self->buf, BUF_PAGES, &now, &pf)) TH_LOG("%s", c->name);
		EXPECT_EQ(0, pf.in_dev) TH_LOG("%s: buffer pages on device %d", c->name, i);
	}
	EXPECT_EQ(-1, gm_check(self->buf, 0, BUF_PAGES, 1)) TH_LOG("%s: data", c->name);
	/* QUERY works: the fd is still attached; nothing is on device 0. */
	EXPECT_EQ(0, gm_query_count(self->d.fd[0], self->buf, BUF_PAGES,
				    GMEM_LOC_DEV(self->d.info[0].gm_dev_id)))
		TH_LOG("%s: QUERY after the row", c->name);
}

TEST_F_TIMEOUT(badinput, table, 120)
{
	struct gmem_fake_info before[GM_NR_DEVS];
	size_t i;
	int d, ret;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bi_case *c = &cases[i];

		for (d = 0; d < GM_NR_DEVS; d++)
			ASSERT_EQ(0, gm_info(self->d.fd[d], &before[d]));
		ret = row_setup(self, c);
		EXPECT_EQ(0, ret) TH_LOG("%s: setup: %s", c->name, strerror(-ret));
		if (!ret) {
			ret = row_ioctl(self, c);
			EXPECT_EQ(c->err, ret)
				TH_LOG("%s: expected %s, got %s", c->name, strerror(c->err),
				       ret ? strerror(abs(ret)) : "success");
			if (c->err == ret)
				ksft_print_msg("%-22s %s: ok\n", c->name, strerror(c->err));
		}
		row_cleanup(self);
		check_unchanged(_metadata, self, c, before);
	}
}

/* Reserve @n huge pages of the default size; 0 or -errno. */
static int reserve_hugepages(int n)
{
	char val[16];
	int fd, len, ret = 0;

	fd = open("/proc/sys/vm/nr_hugepages", O_WRONLY);
	if (fd < 0)
		return -errno;
	len = snprintf(val, sizeof(val), "%d", n);
	if (write(fd, val, len) != len)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * hugetlbfs memory cannot move: migrate_vma does not handle it, and gmem
 * says so up front.  Skipped where the kernel has no hugetlbfs.
 */
/*
 * The test_hmm ABI of /dev/hmm_dmirror2 (struct hmm_dmirror_cmd): every
 * field out of range, unknown commands, a foreign argument size.
 */
static const struct dm_case {
	const char *name;
	unsigned long cmd;
	enum bi_at at;
	__u64 off;
	__u64 npages;
	int err;
} dm_cases[] = {
	{ "dm_read_npages_zero", HMM_DMIRROR_READ, AT_BUF, 0, 0, EINVAL },
	{ "dm_read_unaligned", HMM_DMIRROR_READ, AT_BUF, 1, 1, EINVAL },
	{ "dm_read_too_many", HMM_DMIRROR_READ, AT_BUF, 0, 1ULL << 20, EINVAL },
	{ "dm_read_wraps", HMM_DMIRROR_READ, AT_ABS, -PG, 2, EINVAL },
	{ "dm_read_npages_huge", HMM_DMIRROR_READ, AT_BUF, 0, -1ULL, EINVAL },
	{ "dm_write_kernel_address", HMM_DMIRROR_WRITE, AT_ABS, 0xffff888000000000ULL, 1, EINVAL },
	{ "dm_read_unmapped", HMM_DMIRROR_READ, AT_ABS, PG, 1, EFAULT },
	{ "dm_migrate_unmapped", HMM_DMIRROR_MIGRATE_TO_DEV, AT_ABS, PG, 1, EINVAL },
	{ "dm_snapshot_wraps", HMM_DMIRROR_SNAPSHOT, AT_ABS, -PG, 2, EINVAL },
	{ "dm_unknown_nr", _IOWR('H', 0x3f, struct hmm_dmirror_cmd), AT_BUF, 0, 1, ENOTTY },
	{ "dm_foreign_type", _IOWR('x', 0x00, struct hmm_dmirror_cmd), AT_BUF, 0, 1, ENOTTY },
	/* Unknown whatever the argument holds: not even read. */
	{ "dm_unknown_bad_args", _IOWR('H', 0x3f, struct hmm_dmirror_cmd), AT_BUF, 1, 0, ENOTTY },
	{ "dm_read_size_big", _IOC(_IOC_READ | _IOC_WRITE, 'H', 0x00,
				   sizeof(struct hmm_dmirror_cmd) + 8), AT_BUF, 0, 0, ENOTTY },
	{ "dm_read_size_small", _IOC(_IOC_READ | _IOC_WRITE, 'H', 0x00,
				     sizeof(struct hmm_dmirror_cmd) - 8), AT_BUF, 0, 1, ENOTTY },
	{ "dm_unknown_null", _IOWR('H', 0x3e, struct hmm_dmirror_cmd), AT_NULL, 0, 0, ENOTTY },
};

TEST_F_TIMEOUT(badinput, dmirror_table, 120)
{
	uint8_t *mirror = malloc(BUF_LEN);
	struct gmem_fake_info before[GM_NR_DEVS];
	size_t i;
	int fd, d;

	ASSERT_NE(NULL, mirror);
	fd = open("/dev/hmm_dmirror2", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		free(mirror);
		SKIP(return, "no /dev/hmm_dmirror2 (gmem_fake without dmirror=1)");
	}
	for (i = 0; i < sizeof(dm_cases) / sizeof(dm_cases[0]); i++) {
		const struct dm_case *c = &dm_cases[i];
		const struct bi_case named = { .name = c->name };
		struct hmm_dmirror_cmd cmd = {
			.addr = c->off + (c->at == AT_BUF ? (uintptr_t)self->buf : 0),
			.ptr = (uintptr_t)mirror,
			.npages = c->npages,
		};
		int ret;

		for (d = 0; d < GM_NR_DEVS; d++)
			ASSERT_EQ(0, gm_info(self->d.fd[d], &before[d]));
		ret = ioctl(fd, c->cmd, c->at == AT_NULL ? NULL : &cmd) ? errno : 0;
		EXPECT_EQ(c->err, ret)
			TH_LOG("%s: expected %s, got %s", c->name, strerror(c->err),
			       ret ? strerror(ret) : "success");
		if (c->err == ret)
			ksft_print_msg("%-22s %s: ok\n", c->name, strerror(c->err));
		check_unchanged(_metadata, self, &named, before);
	}
	close(fd);
	free(mirror);
}

/* gmem_fake's bounce window for the test_hmm ABI (docs/design.rst). */
#define DM_WINDOW_PAGES	(256 * 1024 / GM_PAGE_SIZE)

/*
 * A bad buffer at cmd.ptr: -EFAULT.  The data moves a window at a time,
 * so a WRITE from a buffer whose second window is unmapped stores the
 * first window and nothing after it.
 */
TEST_F_TIMEOUT(badinput, dmirror_user_buffer, 60)
{
	const size_t npages = 3 * DM_WINDOW_PAGES, len = npages * PG;
	struct hmm_dmirror_cmd cmd = { .npages = npages };
	uint8_t *area, *src;
	int fd;

	fd = open("/dev/hmm_dmirror2", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		SKIP(return, "no /dev/hmm_dmirror2 (gmem_fake without dmirror=1)");
	area = gm_map_anon(len);
	src = gm_map_anon(len);
	ASSERT_NE(NULL, area);
	ASSERT_NE(NULL, src);
	gm_fill(area, 0, npages, 3);
	gm_fill(src, 0, npages, 5);
	cmd.addr = (uintptr_t)area;

	/* Nothing at cmd.ptr: a READ fails, and the memory read is intact. */
	ASSERT_EQ(0, munmap(src + DM_WINDOW_PAGES * PG, DM_WINDOW_PAGES * PG));
	cmd.ptr = (uintptr_t)src + DM_WINDOW_PAGES * PG;
	EXPECT_EQ(-1, ioctl(fd, HMM_DMIRROR_READ, &cmd));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, gm_check(area, 0, npages, 3));

	/* The source's second window is gone: the first one is stored. */
	cmd.ptr = (uintptr_t)src;
	EXPECT_EQ(-1, ioctl(fd, HMM_DMIRROR_WRITE, &cmd));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, gm_check(area, 0, DM_WINDOW_PAGES, 5));
	EXPECT_EQ(-1, gm_check(area, DM_WINDOW_PAGES, 2 * DM_WINDOW_PAGES, 3));

	munmap(src, DM_WINDOW_PAGES * PG);
	munmap(src + 2 * DM_WINDOW_PAGES * PG, DM_WINDOW_PAGES * PG);
	munmap(area, len);
	close(fd);
}

TEST_F_TIMEOUT(badinput, hugetlb, 60)
{
	const size_t len = 2 * GM_MIB;
	struct gmem_fake_info before, now;
	struct gmem_fake_migrate m;
	void *p;

	if (reserve_hugepages(2))
		SKIP(return, "no hugetlbfs in this kernel");
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED) {
		reserve_hugepages(0);
		SKIP(return, "no free huge page: %s", strerror(errno));
	}
	gm_fill(p, 0, gm_pages(len), 4);

	ASSERT_EQ(0, gm_info(self->d.fd[0], &before));
	ASSERT_EQ(-EOPNOTSUPP, gm_migrate(self->d.fd[0], p, len, 0, &m));
	ASSERT_EQ(0, gm_info(self->d.fd[0], &now));
	ASSERT_EQ(before.free_pages, now.free_pages);
	ASSERT_EQ(before.to_dev_pages, now.to_dev_pages);
	ASSERT_EQ(-1, gm_check(p, 0, gm_pages(len), 4));

	munmap(p, len);
	reserve_hugepages(0);
}

TEST_HARNESS_MAIN
