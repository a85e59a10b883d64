// SPDX-License-Identifier: GPL-2.0
/*
 * Device fault throughput on the lib/test_hmm ABI (/dev/hmm_dmirrorN), so
 * that the kernel's own test_hmm.ko and gmem_fake.ko dmirror=1 are measured
 * by the same program in the same boot (scripts/bench.sh).
 *
 * usage: dmirror_fault_bench DEVICE[,DEVICE...] THP REPS MIB
 *   THP   "thp": the buffer is madvise(MADV_HUGEPAGE) and 2 MiB aligned,
 *         "4k": madvise(MADV_NOHUGEPAGE)
 * Each repetition maps and fills a new buffer, then times one
 * HMM_DMIRROR_READ of all of it: the device has none of it mapped, so every
 * page is a device fault (both drivers map in place), and both copy the
 * bytes out to cmd.ptr (each through its bounce buffer, as dmirror_bench.c
 * says).  Then the same again while another thread
 * maps, touches and unmaps 2 MiB of unrelated memory in a loop.  Several
 * devices take turns repetition by repetition, as in dmirror_bench.c.
 * Prints, per device:
 *   <device> <thp> <MiB> fault <best> <median> fault_unmap <best> <median>
 *   unmaps <n>
 * where <n> counts the unmaps during that device's repetitions.
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
	volatile unsigned long *rounds = arg;

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

/* One device's figures. */
struct dev_run {
	const char *name;
	int fd;
	double plain[MAX_REPS], busy[MAX_REPS];
	unsigned long unmaps;
	int err;
	const char *what;
};

/*
 * @reps timed reads on each device, taking turns, into @plain or @busy
 * (sorted); a device that fails gets its errno and @what, and sits out.
 */
static void fault_reps(struct dev_run *devs, int ndevs, const char *mode,
		       size_t len, char *mirror, int reps, bool busy,
		       volatile unsigned long *unmaps)
{
	int r, i;

	for (r = -1; r < reps; r++) {
		for (i = 0; i < ndevs; i++) {
			struct dev_run *d = &devs[r & 1 ? ndevs - 1 - i : i];
			unsigned long before = *unmaps;
			double v;

			if (d->err)
				continue;
			v = fault_once(d->fd, mode, len, mirror);
			if (v < 0) {
				d->err = (int)-v;
				d->what = busy ? "fault_unmap" : "fault";
				continue;
			}
			if (r < 0)
				continue;
			(busy ? d->busy : d->plain)[r] = v;
			d->unmaps += *unmaps - before;
		}
	}
	for (i = 0; i < ndevs; i++)
		qsort(busy ? devs[i].busy : devs[i].plain, reps, sizeof(double),
		      cmp_double);
}

int main(int argc, char **argv)
{
	struct dev_run devs[MAX_DEVS] = { 0 };
	volatile unsigned long rounds = 0;
	int ndevs = 0, reps, i;
	const char *mode;
	char *mirror, *name;
	pthread_t t;
	size_t len;

	if (argc != 5) {
		fprintf(stderr, "usage: %s DEVICE[,DEVICE...] thp|4k REPS MIB\n",
			argv[0]);
		return 2;
	}
	mode = argv[2];
	reps = bench_reps(argv[3]);
	len = strtoul(argv[4], NULL, 10) << 20;
	mirror = malloc(len);
	for (name = strtok(argv[1], ","); name && ndevs < MAX_DEVS;
	     name = strtok(NULL, ",")) {
		devs[ndevs].name = name;
		devs[ndevs].fd = open(name, O_RDWR);
		if (devs[ndevs].fd < 0 || !mirror) {
			printf("%s %s %s error open %d\n", name, mode, argv[4], errno);
			return 1;
		}
		ndevs++;
	}

	fault_reps(devs, ndevs, mode, len, mirror, reps, false, &rounds);
	if (pthread_create(&t, NULL, unmapper, (void *)&rounds)) {
		printf("%s %s %s error thread %d\n", argv[1], mode, argv[4], errno);
		return 1;
	}
	fault_reps(devs, ndevs, mode, len, mirror, reps, true, &rounds);
	stop = true;
	pthread_join(t, NULL);
	for (i = 0; i < ndevs; i++) {
		struct dev_run *d = &devs[i];

		if (d->err)
			printf("%s %s %s error %s %d\n", d->name, mode, argv[4],
			       d->what, d->err);
		else
			printf("%s %s %s fault %.0f %.0f fault_unmap %.0f %.0f unmaps %lu\n",
			       d->name, mode, argv[4], d->plain[reps - 1],
			       d->plain[reps / 2], d->busy[reps - 1],
			       d->busy[reps / 2], d->unmaps);
	}
	return 0;
}
