// SPDX-License-Identifier: GPL-2.0
/*
 * gmem demo: move a real buffer to accelerator memory and back.
 *
 *   gmem_demo [MiB] [device]      (default: 64 MiB on /dev/gmem_fake0)
 *
 * Fills an anonymous buffer, attaches it to the device, migrates it into
 * device memory, shows through /proc/self/pagemap that the pages now sit in
 * device memory, lets the CPU compute over them in place (the memory is
 * coherent: no fault, no copy), migrates back and verifies every word.
 * Exit status 0 when everything checked out.
 */
#include "gmem_test_util.h"

#define SEED	42

static struct gmem_fake_info info;
static int fd = -1;

static int fail(const char *what, int err)
{
	fprintf(stderr, "gmem_demo: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

static void show_device(const char *when)
{
	struct gmem_fake_info now;

	if (gm_info(fd, &now))
		return;
	printf("  device:   %-7s free %llu pages, used %llu pages\n", when,
	       (unsigned long long)now.free_pages, (unsigned long long)now.used_pages);
}

static int show_pfns(void *buf, size_t n, const char *what)
{
	struct gm_pfns pf;
	int ret = gm_pfns_dev(buf, n, &info, &pf);

	if (ret)
		return fail("pagemap", ret);
	printf("  pagemap:  %s%zu of %zu pages in device memory", what, pf.in_dev, n);
	if (pf.present)
		printf(" (first page: PFN %#llx, phys %#llx)",
		       (unsigned long long)pf.first_pfn,
		       (unsigned long long)pf.first_pfn << GM_PAGE_SHIFT);
	printf("\n");
	return 0;
}

static uint64_t migrate(void *buf, size_t len, __u32 dest, const char *label)
{
	struct gmem_fake_migrate m;
	uint64_t t = gm_now_ns();
	int ret = gm_migrate(fd, buf, len, dest, &m);

	t = gm_now_ns() - t;
	if (ret) {
		fail(label, ret);
		return 0;
	}
	printf("%-11s moved %llu pages (%.1f MiB), not moved %llu: "
	       "%.1f ms, %.2f us/page, %.0f MiB/s\n",
	       label, (unsigned long long)m.moved,
	       m.moved * (double)GM_PAGE_SIZE / GM_MIB, (unsigned long long)m.not_moved,
	       gm_ms(t), gm_us_per_page(t, m.moved), gm_mib_per_s(t, m.moved));
	if (m.moved != len / GM_PAGE_SIZE || m.not_moved) {
		fprintf(stderr, "gmem_demo: %s: expected %zu pages to move\n", label,
			len / GM_PAGE_SIZE);
		return 0;
	}
	return t ? t : 1;
}

/* The "kernel" run on the device data: checksum, then x = 3x + 1 in place. */
static uint64_t compute(uint64_t *w, size_t words)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < words; i++) {
		sum += w[i];
		w[i] = w[i] * 3 + 1;
	}
	return sum;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 64;
	unsigned int dev = argc > 2 ? strtoul(argv[2], NULL, 0) : 0;
	size_t len = mib * GM_MIB, n = len / GM_PAGE_SIZE, pg, w;
	struct gmem_fake_info start, end;
	uint64_t t, t_dev, t_host, sum, want = 0;
	uint64_t *buf;
	long bad = -1;
	int ret;

	if (!mib) {
		fprintf(stderr, "usage: %s [MiB] [device]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = gm_open(dev);
	if (fd < 0)
		return fail("open /dev/gmem_fakeN", fd);
	ret = gm_info(fd, &info);
	if (ret)
		return fail("INFO", ret);
	start = info;
	printf("gmem demo: %zu MiB anonymous buffer on /dev/gmem_fake%u (gmem device id %u)\n",
	       mib, dev, info.gm_dev_id);
	printf("  device memory: phys %#llx-%#llx, %llu MiB, %llu pages\n",
	       (unsigned long long)info.devmem_phys,
	       (unsigned long long)(info.devmem_phys + info.devmem_size - 1),
	       (unsigned long long)(info.devmem_size / GM_MIB),
	       (unsigned long long)info.total_pages);
	show_device("before");

	buf = gm_map_anon(len);
	if (!buf)
		return fail("mmap", -errno);
	t = gm_now_ns();
	gm_fill(buf, 0, n, SEED);
	printf("filled      %zu pages with a per-page pattern in %.1f ms\n", n,
	       gm_ms(gm_now_ns() - t));
	for (pg = 0; pg < n; pg++)
		for (w = 0; w < GM_WORDS_PER_PAGE; w++)
			want += gm_pat(SEED, pg, w);

	ret = gm_attach(fd);
	if (ret)
		return fail("ATTACH", ret);
	t_dev = migrate(buf, len, dev, "to device:");
	if (!t_dev || show_pfns(buf, n, ""))
		return 1;
	printf("  query:    %ld of %zu pages at GMEM_LOC_DEV(%u)\n",
	       gm_query_count(fd, buf, n, GMEM_LOC_DEV(info.gm_dev_id)), n, info.gm_dev_id);
	show_device("now");

	t = gm_now_ns();
	sum = compute(buf, len / sizeof(*buf));
	t = gm_now_ns() - t;
	printf("CPU compute in place on device memory: checksum %#llx (%s), x = 3x + 1, %.1f ms\n",
	       (unsigned long long)sum, sum == want ? "correct" : "WRONG", gm_ms(t));
	if (sum != want || show_pfns(buf, n, "still "))
		return 1;

	t_host = migrate(buf, len, GMEM_FAKE_DEST_HOST, "to host:");
	if (!t_host || show_pfns(buf, n, ""))
		return 1;
	for (pg = 0; pg < n && bad < 0; pg++)
		for (w = 0; w < GM_WORDS_PER_PAGE; w++)
			if (buf[pg * GM_WORDS_PER_PAGE + w] != gm_pat(SEED, pg, w) * 3 + 1)
				bad = pg;
	if (bad >= 0) {
		printf("  verify:   FAILED at page %ld\n", bad);
		return 1;
	}
	printf("  verify:   all %zu pages hold the computed data\n", n);
	show_device("after");

	if (gm_info(fd, &end))
		return 1;
	printf("counters:   to_dev +%llu, to_host +%llu, copy_batches +%llu, "
	       "copy_errors +%llu, evicted +%llu\n",
	       (unsigned long long)(end.to_dev_pages - start.to_dev_pages),
	       (unsigned long long)(end.to_host_pages - start.to_host_pages),
	       (unsigned long long)(end.copy_batches - start.copy_batches),
	       (unsigned long long)(end.copy_errors - start.copy_errors),
	       (unsigned long long)(end.evicted_pages - start.evicted_pages));
	printf("gmem_demo: %zu MiB (%zu pages): to device %.1f ms (%.0f MiB/s, %.2f us/page), "
	       "to host %.1f ms (%.0f MiB/s, %.2f us/page), verify OK\n",
	       mib, n, gm_ms(t_dev), gm_mib_per_s(t_dev, n), gm_us_per_page(t_dev, n),
	       gm_ms(t_host), gm_mib_per_s(t_host, n), gm_us_per_page(t_host, n));
	munmap(buf, len);
	close(fd);
	return end.copy_errors != start.copy_errors;
}
