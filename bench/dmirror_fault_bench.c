// SPDX-License-Identifier: GPL-2.0
/*
 * Device fault throughput on the lib/test_hmm ABI (/dev/hmm_dmirrorN), so
 * that the kernel's own test_hmm.ko and gmem_fake.ko dmirror=1 are measured
 * by the same program in the same boot (scripts/bench.sh).
 *
 * usage: dmirror_fault_bench DEVICE THP REPS MIB
 *   THP   "thp": the buffer is madvise(MADV_HUGEPAGE) and 2 MiB aligned,
 *         "4k": madvise(MADV_NOHUGEPAGE)
 * Each repetition maps and fills a new buffer, then times one
 * HMM_DMIRROR_READ of all of it: the device has none of it mapped, so every
 * page is a device fault (both drivers map in place), and both copy the
 * bytes out to cmd.ptr (each through its bounce buffer, as dmirror_bench.c
 * says).  Then the same again while another thread
 * maps, touches and unmaps 2 MiB of unrelated memory in a loop.  Prints:
 *   <device> <thp> <MiB> fault <best> <median> fault_unmap <best> <median>
 *   unmaps <n>
 * in thousands of pages per second (higher is better), or
 * "<device> <thp> <MiB> error <what> <errno>".
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "bench_util.h"

static volatile bool stop;

/* Memory the device never sees: mapped, touched and unmapped, in a loop. */
static void *unmapper(void *arg)
{
	unsigned long *rounds = arg;

	while (!stop) {
		char *p = mmap(NULL, THP_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			break;
		memset(p, 1, THP_SIZE);
		munmap(p, THP_SIZE);
		(*rounds)++;
	}
	return NULL;
}

/* One device read of a fresh buffer; thousands of pages per second. */
static double fault_once(int fd, const char *mode, size_t len, char *mirror)
{
	size_t npages = len >> 12;
	struct hmm_dmirror_cmd cmd = { .ptr = (uintptr_t)mirror, .npages = npages };
	char *map, *buf;
	double t0, t;
	int err = 0;

	map = mmap(NULL, len + THP_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return -errno;
	buf = (char *)(((uintptr_t)map + THP_SIZE - 1) & ~(THP_SIZE - 1));
	madvise(buf, len, strcmp(mode, "thp") ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
	memset(buf, 0x5a, len);
	memset(mirror, 0, len);
	cmd.addr = (uintptr_t)buf;
	t0 = now_us();
	if (ioctl(fd, HMM_DMIRROR_READ, &cmd))
		err = -errno;
	t = now_us() - t0;
	if (!err && (mirror[0] != 0x5a || mirror[len - 1] != 0x5a ||
		     memchr(mirror, 0, len)))
		err = -EIO;
	munmap(map, len + THP_SIZE);
	return err ? err : npages / t * 1e3;
}

/* @reps timed reads into @res, sorted; 0 or a negative errno. */
static int fault_reps(int fd, const char *mode, size_t len, char *mirror,
		      int reps, double *res)
{
	int r;

	for (r = -1; r < reps; r++) {
		double v = fault_once(fd, mode, len, mirror);

		if (v < 0)
			return (int)v;
		if (r >= 0)
			res[r] = v;
	}
	qsort(res, reps, sizeof(double), cmp_double);
	return 0;
}

int main(int argc, char **argv)
{
	double plain[MAX_REPS], busy[MAX_REPS];
	unsigned long rounds = 0;
	const char *dev, *mode;
	int fd, reps, err;
	pthread_t t;
	char *mirror;
	size_t len;

	if (argc != 5) {
		fprintf(stderr, "usage: %s DEVICE thp|4k REPS MIB\n", argv[0]);
		return 2;
	}
	dev = argv[1];
	mode = argv[2];
	reps = bench_reps(argv[3]);
	len = strtoul(argv[4], NULL, 10) << 20;
	fd = open(dev, O_RDWR);
	mirror = malloc(len);
	if (fd < 0 || !mirror) {
		printf("%s %s %s error open %d\n", dev, mode, argv[4], errno);
		return 1;
	}

	err = fault_reps(fd, mode, len, mirror, reps, plain);
	if (err) {
		printf("%s %s %s error fault %d\n", dev, mode, argv[4], -err);
		return 1;
	}
	if (pthread_create(&t, NULL, unmapper, &rounds)) {
		printf("%s %s %s error thread %d\n", dev, mode, argv[4], errno);
		return 1;
	}
	err = fault_reps(fd, mode, len, mirror, reps, busy);
	stop = true;
	pthread_join(t, NULL);
	if (err) {
		printf("%s %s %s error fault_unmap %d\n", dev, mode, argv[4], -err);
		return 1;
	}
	printf("%s %s %s fault %.0f %.0f fault_unmap %.0f %.0f unmaps %lu\n",
	       dev, mode, argv[4], plain[reps - 1], plain[reps / 2],
	       busy[reps - 1], busy[reps / 2], rounds);
	return 0;
}
