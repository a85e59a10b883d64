// SPDX-License-Identifier: GPL-2.0
/*
 * Migration throughput on the lib/test_hmm ABI (/dev/hmm_dmirrorN), so that
 * the kernel's own test_hmm.ko and gmem_fake.ko dmirror=1 are measured by
 * the same program in the same boot (scripts/bench.sh).
 *
 * usage: dmirror_bench DEVICE THP REPS MIB...
 *   THP   "thp": the buffer is madvise(MADV_HUGEPAGE) and 2 MiB aligned,
 *         "4k": madvise(MADV_NOHUGEPAGE)
 * For each size: one warm-up round trip, then REPS times MIGRATE_TO_DEV and
 * MIGRATE_TO_SYS, each timed.  Prints one line per size:
 *   <device> <thp> <MiB> to_dev <min> <median> to_sys <min> <median>
 * in microseconds per 4 KiB page, or, when a migration fails (the driver
 * could not place every page), "<device> <thp> <MiB> error <what> <errno>"
 * and the next size.
 * MIGRATE_TO_DEV of test_hmm also copies the buffer out to cmd.ptr, and so
 * does gmem_fake's: both pay for it alike.
 * With DMIRROR_BENCH_READ set, each repetition also times HMM_DMIRROR_READ
 * of the buffer between the two migrations, while it is in device memory,
 * and the line ends with "read <min> <median>".  (test_hmm of v7.3 oopses
 * reading its device-private pages this way: set it for coherent devices.)
 * With DMIRROR_BENCH_EACH set in the environment, each repetition is
 * printed too: "rep <r> to_dev <us> to_sys <us>".
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

int main(int argc, char **argv)
{
	bool do_read = getenv("DMIRROR_BENCH_READ");
	const char *dev, *mode;
	int fd, reps, a, r;

	if (argc < 5) {
		fprintf(stderr, "usage: %s DEVICE thp|4k REPS MIB...\n", argv[0]);
		return 2;
	}
	dev = argv[1];
	mode = argv[2];
	reps = bench_reps(argv[3]);
	fd = open(dev, O_RDWR);
	if (fd < 0) {
		printf("error open %d\n", errno);
		return 1;
	}
	for (a = 4; a < argc; a++) {
		size_t len = strtoul(argv[a], NULL, 10) << 20, npages = len >> 12;
		double dev_us[MAX_REPS], sys_us[MAX_REPS], rd_us[MAX_REPS], t;
		char *map, *buf, *mirror;

		map = mmap(NULL, len + THP_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		mirror = malloc(len);
		if (map == MAP_FAILED || !mirror) {
			printf("error memory %d\n", errno);
			return 1;
		}
		buf = (char *)(((uintptr_t)map + THP_SIZE - 1) & ~(THP_SIZE - 1));
		madvise(buf, len, strcmp(mode, "thp") ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
		memset(buf, 0x5a, len);
		for (r = -1; r < reps; r++) {
			t = timed_cmd(fd, HMM_DMIRROR_MIGRATE_TO_DEV, buf, mirror, npages);
			if (t < 0) {
				printf("%s %s %s error to_dev %d\n", dev, mode, argv[a], (int)-t);
				break;
			}
			if (r >= 0)
				dev_us[r] = t;
			t = do_read ? timed_cmd(fd, HMM_DMIRROR_READ, buf, mirror, npages) : 0;
			if (t < 0) {
				printf("%s %s %s error read %d\n", dev, mode, argv[a], (int)-t);
				break;
			}
			if (r >= 0)
				rd_us[r] = t;
			t = timed_cmd(fd, HMM_DMIRROR_MIGRATE_TO_SYS, buf, mirror, npages);
			if (t < 0) {
				printf("%s %s %s error to_sys %d\n", dev, mode, argv[a], (int)-t);
				break;
			}
			if (r >= 0)
				sys_us[r] = t;
			if (r >= 0 && getenv("DMIRROR_BENCH_EACH"))
				printf("rep %d to_dev %.2f to_sys %.2f\n", r, dev_us[r], t);
			/* Back on the CPU as THP where the kernel collapses it. */
			if (!strcmp(mode, "thp"))
				madvise(buf, len, MADV_HUGEPAGE);
		}
		if (memchr(buf, 0, len) || buf[len - 1] != 0x5a) {
			printf("%s %s %s error data 0\n", dev, mode, argv[a]);
			return 1;
		}
		if (r < reps) {
			/* Failed: the data is back in host RAM all the same. */
			timed_cmd(fd, HMM_DMIRROR_MIGRATE_TO_SYS, buf, mirror, npages);
			munmap(map, len + THP_SIZE);
			free(mirror);
			continue;
		}
		qsort(dev_us, reps, sizeof(double), cmp_double);
		qsort(sys_us, reps, sizeof(double), cmp_double);
		qsort(rd_us, reps, sizeof(double), cmp_double);
		printf("%s %s %s to_dev %.2f %.2f to_sys %.2f %.2f", dev, mode,
		       argv[a], dev_us[0], dev_us[reps / 2], sys_us[0],
		       sys_us[reps / 2]);
		if (do_read)
			printf(" read %.2f %.2f", rd_us[0], rd_us[reps / 2]);
		printf("\n");
		fflush(stdout);
		munmap(map, len + THP_SIZE);
		free(mirror);
	}
	return 0;
}
