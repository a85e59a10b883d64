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
 * does gmem_fake's, as READ does: test_hmm through a bounce buffer as large
 * as the request, gmem_fake through one of 256 KiB.
 * With DMIRROR_BENCH_ACCESS set, each repetition also times the device's
 * accesses to the buffer between the two migrations, while it is in device
 * memory: HMM_DMIRROR_READ, HMM_DMIRROR_WRITE (of the same bytes) and
 * HMM_DMIRROR_SNAPSHOT, and the line ends with "read <min> <median> write
 * <min> <median> snapshot <min> <median>".  (test_hmm of v7.3 oopses
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
	static const unsigned long access_cmd[] = {
		HMM_DMIRROR_READ, HMM_DMIRROR_WRITE, HMM_DMIRROR_SNAPSHOT,
	};
	static const char *const access_name[] = { "read", "write", "snapshot" };
	int naccess = getenv("DMIRROR_BENCH_ACCESS") ? 3 : 0;
	const char *dev, *mode;
	int fd, reps, a, r, i;

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
		double dev_us[MAX_REPS], sys_us[MAX_REPS], acc_us[3][MAX_REPS], t;
		char *map, *buf, *mirror, *snap;

		map = mmap(NULL, len + THP_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		mirror = malloc(len);
		snap = malloc(npages);
		if (map == MAP_FAILED || !mirror || !snap) {
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
			/* WRITE stores what MIGRATE_TO_DEV and READ copied out. */
			for (i = 0; i < naccess; i++) {
				t = timed_cmd(fd, access_cmd[i], buf,
					      i == 2 ? snap : mirror, npages);
				if (t < 0)
					break;
				if (r >= 0)
					acc_us[i][r] = t;
			}
			if (i < naccess) {
				printf("%s %s %s error %s %d\n", dev, mode, argv[a],
				       access_name[i], (int)-t);
				break;
			}
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
			free(snap);
			continue;
		}
		qsort(dev_us, reps, sizeof(double), cmp_double);
		qsort(sys_us, reps, sizeof(double), cmp_double);
		for (i = 0; i < naccess; i++)
			qsort(acc_us[i], reps, sizeof(double), cmp_double);
		printf("%s %s %s to_dev %.2f %.2f to_sys %.2f %.2f", dev, mode,
		       argv[a], dev_us[0], dev_us[reps / 2], sys_us[0],
		       sys_us[reps / 2]);
		for (i = 0; i < naccess; i++)
			printf(" %s %.2f %.2f", access_name[i], acc_us[i][0],
			       acc_us[i][reps / 2]);
		printf("\n");
		fflush(stdout);
		munmap(map, len + THP_SIZE);
		free(mirror);
		free(snap);
	}
	return 0;
}
