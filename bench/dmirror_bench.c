// SPDX-License-Identifier: GPL-2.0
/*
 * Migration throughput on the lib/test_hmm ABI (/dev/hmm_dmirrorN), so that
 * the kernel's own test_hmm.ko and gmem_fake.ko dmirror=1 are measured by
 * the same program in the same boot (scripts/bench.sh).
 *
 * usage: dmirror_bench DEVICE[,DEVICE...] THP REPS MIB...
 *   THP   "thp": the buffer is madvise(MADV_HUGEPAGE) and 2 MiB aligned,
 *         "4k": madvise(MADV_NOHUGEPAGE)
 * For each size: one warm-up round trip, then REPS times MIGRATE_TO_DEV and
 * MIGRATE_TO_SYS, each timed.  With several devices (the same ABI served
 * by different drivers, loaded side by side), each has a buffer of its
 * own and they take turns repetition by repetition, the order reversed
 * each time, so that a slow spell of the host (which comes and goes for
 * seconds to minutes) falls on all of them alike.  Prints one line per size
 * and device:
 *   <device> <thp> <MiB> to_dev <min> <median> to_sys <min> <median>
 * in microseconds per 4 KiB page, or, when a migration fails (the driver
 * could not place every page), "<device> <thp> <MiB> error <what> <errno>
 * rep <r> left <n> first <i> [snap <s> pagemap <p> kpageflags <f>]"
 * (repetition -1 is the warm-up; after a failed MIGRATE_TO_DEV, SNAPSHOT
 * found <n> pages not in device memory, the first at page <i>, which
 * SNAPSHOT reported as <s> and /proc/self/pagemap and /proc/kpageflags
 * (Documentation/admin-guide/mm/pagemap.rst) describe as <p> and <f>, to
 * say why it stayed), and that device sits out the rest of the size.
 * MIGRATE_TO_DEV of test_hmm also copies the buffer out to cmd.ptr, and so
 * does gmem_fake's, as READ does: test_hmm through a bounce buffer as large
 * as the request, gmem_fake through one of 256 KiB.
 * With DMIRROR_BENCH_ACCESS set, each repetition also times the device's
 * accesses to the buffer between the two migrations, while it is in device
 * memory: HMM_DMIRROR_READ, HMM_DMIRROR_WRITE (of the same bytes) and
 * HMM_DMIRROR_SNAPSHOT, and the line ends with "read <min> <median> write
 * <min> <median> snapshot <min> <median>".  (test_hmm of v7.3 oopses
 * reading its device-private pages this way: set it for coherent devices.)
 * With DMIRROR_BENCH_EACH set in the environment, each repetition is
 * printed too: "<device> rep <r> to_dev <us> to_sys <us>".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "bench_util.h"

/*
 * After a MIGRATE_TO_DEV that failed: how many pages SNAPSHOT does not find
 * in the device's own memory, and the first of them (@first).
 */
static long pages_left(int fd, char *buf, unsigned char *snap, size_t npages,
		       long *first)
{
	struct hmm_dmirror_cmd cmd = {
		.addr = (uintptr_t)buf,
		.ptr = (uintptr_t)snap,
		.npages = npages,
	};
	long left = 0;
	size_t i;

	*first = -1;
	if (ioctl(fd, HMM_DMIRROR_SNAPSHOT, &cmd))
		return -errno;
	for (i = 0; i < npages; i++) {
		unsigned char where = snap[i] & 0xf0;

		if (where == HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL ||
		    where == HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL)
			continue;
		if (!left++)
			*first = i;
	}
	return left;
}

/*
 * The pagemap entry of the page at @addr and the kpageflags of its frame,
 * or all ones where they cannot be read.
 */
static void page_state(const void *addr, uint64_t *pm, uint64_t *flags)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	off_t off = (uintptr_t)addr / 4096 * 8;

	*pm = *flags = ~0ULL;
	if (fd < 0)
		return;
	if (pread(fd, pm, 8, off) != 8)
		*pm = ~0ULL;
	close(fd);
	/* Present (bit 63), with its frame number in bits 0-54. */
	if (*pm == ~0ULL || !(*pm >> 63))
		return;
	fd = open("/proc/kpageflags", O_RDONLY);
	if (fd < 0)
		return;
	if (pread(fd, flags, 8, (*pm & ((1ULL << 55) - 1)) * 8) != 8)
		*flags = ~0ULL;
	close(fd);
}

/* One command on the buffer; its time in us per page, or a negative errno. */
static double timed_cmd(int fd, unsigned long cmdno, char *buf, char *mirror,
			size_t npages)
{
	struct hmm_dmirror_cmd cmd = {
		.addr = (uintptr_t)buf,
		.ptr = (uintptr_t)mirror,
		.npages = npages,
	};
	double t0 = now_us();

	if (ioctl(fd, cmdno, &cmd))
		return -errno;
	return (now_us() - t0) / npages;
}

/* One device's buffers and figures for one size. */
struct dev_run {
	const char *name;
	int fd;
	char *map, *buf, *mirror, *snap;
	double dev_us[MAX_REPS], sys_us[MAX_REPS], acc_us[3][MAX_REPS];
	bool failed;
};

static const unsigned long access_cmd[] = {
	HMM_DMIRROR_READ, HMM_DMIRROR_WRITE, HMM_DMIRROR_SNAPSHOT,
};
static const char *const access_name[] = { "read", "write", "snapshot" };

/*
 * Repetition @r (-1: the warm-up) of @d: to the device, @naccess device
 * accesses, back.  Prints the error line and marks @d failed on an error.
 */
static void one_rep(struct dev_run *d, const char *mode, const char *mib,
		    size_t npages, int naccess, int r)
{
	long first, left;
	double t;
	int i;

	t = timed_cmd(d->fd, HMM_DMIRROR_MIGRATE_TO_DEV, d->buf, d->mirror, npages);
	if (t < 0) {
		left = pages_left(d->fd, d->buf, (unsigned char *)d->snap,
				  npages, &first);
		printf("%s %s %s error to_dev %d rep %d left %ld first %ld",
		       d->name, mode, mib, (int)-t, r, left, first);
		if (first >= 0) {
			uint64_t pm, flags;

			page_state(d->buf + first * 4096, &pm, &flags);
			printf(" snap 0x%02x pagemap 0x%llx kpageflags 0x%llx",
			       (unsigned char)d->snap[first],
			       (unsigned long long)pm,
			       (unsigned long long)flags);
		}
		printf("\n");
		d->failed = true;
		return;
	}
	if (r >= 0)
		d->dev_us[r] = t;
	/* WRITE stores what MIGRATE_TO_DEV and READ copied out. */
	for (i = 0; i < naccess; i++) {
		t = timed_cmd(d->fd, access_cmd[i], d->buf,
			      i == 2 ? d->snap : d->mirror, npages);
		if (t < 0) {
			printf("%s %s %s error %s %d rep %d\n", d->name, mode,
			       mib, access_name[i], (int)-t, r);
			d->failed = true;
			return;
		}
		if (r >= 0)
			d->acc_us[i][r] = t;
	}
	t = timed_cmd(d->fd, HMM_DMIRROR_MIGRATE_TO_SYS, d->buf, d->mirror, npages);
	if (t < 0) {
		printf("%s %s %s error to_sys %d rep %d\n", d->name, mode, mib,
		       (int)-t, r);
		d->failed = true;
		return;
	}
	if (r >= 0)
		d->sys_us[r] = t;
	if (r >= 0 && getenv("DMIRROR_BENCH_EACH"))
		printf("%s rep %d to_dev %.2f to_sys %.2f\n", d->name, r,
		       d->dev_us[r], t);
	/* Back on the CPU as THP where the kernel collapses it. */
	if (!strcmp(mode, "thp"))
		madvise(d->buf, npages << 12, MADV_HUGEPAGE);
}

/* The figures of @d, sorted, as one line; or nothing if it failed. */
static void report(struct dev_run *d, const char *mode, const char *mib,
		   int reps, int naccess)
{
	int i;

	if (d->failed)
		return;
	qsort(d->dev_us, reps, sizeof(double), cmp_double);
	qsort(d->sys_us, reps, sizeof(double), cmp_double);
	for (i = 0; i < naccess; i++)
		qsort(d->acc_us[i], reps, sizeof(double), cmp_double);
	printf("%s %s %s to_dev %.2f %.2f to_sys %.2f %.2f", d->name, mode, mib,
	       d->dev_us[0], d->dev_us[reps / 2], d->sys_us[0],
	       d->sys_us[reps / 2]);
	for (i = 0; i < naccess; i++)
		printf(" %s %.2f %.2f", access_name[i], d->acc_us[i][0],
		       d->acc_us[i][reps / 2]);
	printf("\n");
}

int main(int argc, char **argv)
{
	int naccess = getenv("DMIRROR_BENCH_ACCESS") ? 3 : 0;
	struct dev_run devs[MAX_DEVS];
	int ndevs = 0, reps, a, r, i, k;
	const char *mode;
	char *list, *name;

	if (argc < 5) {
		fprintf(stderr, "usage: %s DEVICE[,DEVICE...] thp|4k REPS MIB...\n",
			argv[0]);
		return 2;
	}
	list = argv[1];
	mode = argv[2];
	reps = bench_reps(argv[3]);
	for (name = strtok(list, ","); name && ndevs < MAX_DEVS;
	     name = strtok(NULL, ",")) {
		devs[ndevs].name = name;
		devs[ndevs].fd = open(name, O_RDWR);
		if (devs[ndevs].fd < 0) {
			printf("%s error open %d\n", name, errno);
			return 1;
		}
		ndevs++;
	}
	for (a = 4; a < argc; a++) {
		size_t len = strtoul(argv[a], NULL, 10) << 20, npages = len >> 12;

		for (k = 0; k < ndevs; k++) {
			struct dev_run *d = &devs[k];

			d->failed = false;
			d->map = mmap(NULL, len + THP_SIZE, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			d->mirror = malloc(len);
			d->snap = malloc(npages);
			if (d->map == MAP_FAILED || !d->mirror || !d->snap) {
				printf("error memory %d\n", errno);
				return 1;
			}
			d->buf = (char *)(((uintptr_t)d->map + THP_SIZE - 1) &
					  ~(THP_SIZE - 1));
			madvise(d->buf, len, strcmp(mode, "thp") ?
				MADV_NOHUGEPAGE : MADV_HUGEPAGE);
		}
		/*
		 * Filled 2 MiB at a time in turn, so that no buffer gets the
		 * huge pages that were easy to find and another what is left.
		 */
		for (i = 0; (size_t)i < len / THP_SIZE; i++)
			for (k = 0; k < ndevs; k++)
				memset(devs[k].buf + i * THP_SIZE, 0x5a, THP_SIZE);
		for (k = 0; k < ndevs; k++)
			memset(devs[k].buf + len / THP_SIZE * THP_SIZE, 0x5a,
			       len % THP_SIZE);
		for (r = -1; r < reps; r++) {
			for (i = 0; i < ndevs; i++) {
				/* Every other repetition in the reverse order. */
				struct dev_run *d = &devs[r & 1 ? ndevs - 1 - i : i];

				if (!d->failed)
					one_rep(d, mode, argv[a], npages, naccess, r);
			}
		}
		for (k = 0; k < ndevs; k++) {
			struct dev_run *d = &devs[k];

			if (memchr(d->buf, 0, len) || d->buf[len - 1] != 0x5a) {
				printf("%s %s %s error data 0\n", d->name, mode, argv[a]);
				return 1;
			}
			/* Failed: the data is back in host RAM all the same. */
			if (d->failed)
				timed_cmd(d->fd, HMM_DMIRROR_MIGRATE_TO_SYS, d->buf,
					  d->mirror, npages);
			report(d, mode, argv[a], reps, naccess);
			munmap(d->map, len + THP_SIZE);
			free(d->mirror);
			free(d->snap);
		}
		fflush(stdout);
	}
	return 0;
}
