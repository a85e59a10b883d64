/* SPDX-License-Identifier: GPL-2.0 */
/* What the benchmarks on the lib/test_hmm ABI share. */
#ifndef GMEM_BENCH_UTIL_H
#define GMEM_BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

/* The kernel's own definition of the ABI, from its source (tests/Makefile). */
#include <lib/test_hmm_uapi.h>

#define THP_SIZE	(2UL << 20)
#define MAX_REPS	64
#define MAX_DEVS	4	/* drivers measured side by side */

static inline double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* For qsort() of doubles, ascending. */
static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The REPS argument: 1..MAX_REPS, 5 when out of range. */
static inline int bench_reps(const char *arg)
{
	int reps = atoi(arg);

	return reps < 1 || reps > MAX_REPS ? 5 : reps;
}

#endif /* GMEM_BENCH_UTIL_H */
