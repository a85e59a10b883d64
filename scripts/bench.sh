#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# A benchmark, not a test: migration and device fault throughput of
# gmem_fake.ko dmirror=1
# side by side with the kernel's own lib/test_hmm.ko on the same ABI, in
# one boot of Debian 13's 7.x kernel (which has CONFIG_DEVICE_PRIVATE, so
# test_hmm builds unmodified from that kernel's source).  The two drivers
# are loaded in turn, each for every round, and drive the same devices:
# /dev/hmm_dmirror0 (device-private memory) and /dev/hmm_dmirror2
# (device-coherent memory on the same reserved physical range for both).
# Buffers are THP-backed (MADV_HUGEPAGE, 2 MiB aligned) or 4 KiB
# (MADV_NOHUGEPAGE), under THP "always" and "madvise".
#
# usage: scripts/bench.sh [--sizes "64 128 230"] [--reps 5] [--rounds 2]
#        [--modes "always madvise"] [--bufs "thp 4k"] [--memory "private coherent"]
# Sizes are MiB: by default 25%, 50% and 90% of a device's 256 MiB.  On
# coherent memory they are capped at 230 MiB, since test_hmm's coherent
# devices have 256 MiB and fail to fill all of it.
# Prints a table in microseconds per 4 KiB page (median of the reps; lower is
# better) of migrations both ways and, on coherent memory, of HMM_DMIRROR_READ
# of the buffer while it is on the device, and the ratio test_hmm / gmem
# (above 1: gmem is faster), then one
# of device first-touch faults in thousands of pages per second on
# /dev/hmm_dmirror2 (bench/dmirror_fault_bench.c), alone and while another
# thread unmaps unrelated memory.  Raw lines are kept in build/bench/.
set -euo pipefail

sizes="64 128 230" reps=5 rounds=2 modes="always madvise" bufs="thp 4k"
memory="private coherent"
while [ $# -gt 0 ]; do
	case $1 in
	--sizes) sizes=$2; shift ;;
	--reps) reps=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--modes) modes=$2; shift ;;
	--bufs) bufs=$2; shift ;;
	--memory) memory=$2; shift ;;
	*) sed -n '/^# usage:/s/^# //p' "$0" >&2; exit 2 ;;
	esac
	shift
done

csizes=''
for s in $sizes; do
	csizes="$csizes $((s > 230 ? 230 : s))"
done
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/install-deps.sh >/dev/null
d13=$(scripts/debian13-root.sh | tail -n 1)
rel=$(cat "$d13/release")
series=$(cut -d. -f1,2 <<<"$rel")
out=$top/build/bench
mods=$out/modules-$rel
rm -rf "$out/guest" "$mods"
mkdir -p "$out/guest" "$mods"

# gmem, and the kernel's test_hmm built out of tree from its own source.
scripts/debian13-run.sh "$d13" make KDIR="/usr/src/linux-headers-$rel" >/dev/null
thm=$out/test_hmm-$rel
rm -rf "$thm"
mkdir -p "$thm"
scripts/debian13-run.sh "$d13" tar -xJf "/usr/src/linux-source-$series.tar.xz" \
	-C "$thm" --strip-components=2 \
	"linux-source-$series/lib/test_hmm.c" "linux-source-$series/lib/test_hmm_uapi.h"
echo 'obj-m := test_hmm.o' >"$thm/Kbuild"
scripts/debian13-run.sh "$d13" make -C "/usr/src/linux-headers-$rel" M="$thm" modules >/dev/null
cp "build/$rel/gmem.ko" "build/$rel/gmem_fake.ko" "$thm/test_hmm.ko" "$mods/"
make tests >/dev/null	# extracts the kernel's test_hmm_uapi.h too
gcc -static -O2 -Wall -Wextra -Werror -isystem build/ksrc -o "$out/guest/dmirror_bench" \
	bench/dmirror_bench.c
gcc -static -O2 -Wall -Wextra -Werror -isystem build/ksrc -o "$out/guest/dmirror_fault_bench" \
	bench/dmirror_fault_bench.c -lpthread

# In the guest: vm-run loaded gmem_fake; each round loads one driver, then
# the other.  test_hmm's coherent devices get the ranges gmem_fake's use
# (memmap=, as test_hmm needs: vm-run --memmap).
# No swap: the guest's Normal zone (above the memmap= hole) runs low and
# kswapd swaps out pieces of the buffers, which neither driver migrates
# (pages that are not present stay), so a round would fail at random.
cat >"$out/guest.sh" <<EOF
swapoff /dev/zram0 2>/dev/null; grep -c zram /proc/swaps | sed "s/^/swap devices left: /"
rmmod gmem_fake
for mode in $modes; do
	echo \$mode >/sys/kernel/mm/transparent_hugepage/enabled
	for round in \$(seq $rounds); do
		for drv in test_hmm gmem; do
			if [ \$drv = test_hmm ]; then
				modprobe test_hmm spm_addr_dev0=0x120000000 spm_addr_dev1=0x130000000
			else
				# 256 MiB of private memory, as test_hmm's first chunk.
				modprobe gmem_fake \$GMEM_FAKE_PARAMS dmirror_private_size=0x10000000
			fi
			for thp in $bufs; do
				case " $memory " in *" private "*)
				/tests/dmirror_bench /dev/hmm_dmirror0 \$thp $reps $sizes |
					sed "s|^|BENCH \$mode \$round \$drv |" ;;
				esac
				case " $memory " in *" coherent "*)
				DMIRROR_BENCH_READ=1 /tests/dmirror_bench /dev/hmm_dmirror2 \$thp $reps $csizes |
					sed "s|^|BENCH \$mode \$round \$drv |"
				/tests/dmirror_fault_bench /dev/hmm_dmirror2 \$thp $reps 16 |
					sed "s|^|FAULT \$mode \$round \$drv |" ;;
				esac
			done
			if [ \$drv = test_hmm ]; then rmmod test_hmm; else rmmod gmem_fake; fi
		done
	done
done
EOF
scripts/vm-run.sh --kernel "$d13/vmlinuz" --modules-tree "$mods" --kver "$rel" --memmap \
	--kernel-modules-dir "$d13/modules/lib/modules/$rel" --tests "$out/guest" \
	--cmd "$(cat "$out/guest.sh")" --out "$out/vm" --timeout 3000 >"$out/vm.log" 2>&1 || true
tr -d '\r' <"$out/vm/tap.log" | grep '^BENCH ' >"$out/raw" || true
tr -d '\r' <"$out/vm/tap.log" | grep '^FAULT ' >"$out/raw-fault" || true
if [ ! -s "$out/raw" ] || grep -q ' error data ' "$out/raw"; then
	echo "bench: no figures, or wrong data; see $out/raw and $out/vm/" >&2
	exit 1
fi

# BENCH mode round drv dev thp MiB to_dev min med to_sys min med read min med
#       (or ... MiB error what errno)
echo "gmem vs lib/test_hmm on $rel, us per 4 KiB page (median of $reps, best of $rounds rounds)"
awk '
	{
		key = $2 " " ($5 ~ /dmirror0/ ? "private" : "coherent") " " $6 " " $7
		keys[key] = 1
		if ($8 == "error") { failed[key " " $4] = $9 " " $10; next }
		for (d = 0; d < (NF >= 16 ? 3 : 2); d++) {
			v = d == 2 ? $16 : d ? $13 : $10
			k = key " " d " " $4
			if (!(k in best) || v < best[k]) best[k] = v
		}
	}
	function cell(k, d, drv,   key) {
		key = k " " d " " drv
		if (key in best)
			return sprintf("%9.2f", best[key])
		return sprintf("%9s", d == 2 ? "-" : "failed")
	}
	function ratio(k, d,   g, t) {
		g = k " " d " gmem"
		t = k " " d " test_hmm"
		if (!(g in best) || !(t in best))
			return sprintf("%6s", "-")
		return sprintf("%6.2f", best[t] / best[g])
	}
	END {
		printf "%-8s %-9s %-4s %5s | %9s %9s %6s | %9s %9s %6s | %9s %9s %6s\n", "THP",
		       "memory", "buf", "MiB", "to dev:", "", "", "to host:", "", "",
		       "read:", "", ""
		printf "%-8s %-9s %-4s %5s | %9s %9s %6s | %9s %9s %6s | %9s %9s %6s\n", "", "",
		       "", "", "gmem", "test_hmm", "ratio", "gmem", "test_hmm", "ratio",
		       "gmem", "test_hmm", "ratio"
		for (k in keys) {
			split(k, f, " ")
			printf "%-8s %-9s %-4s %5s | %s %s %s | %s %s %s | %s %s %s\n", f[1], f[2], f[3], f[4],
			       cell(k, 0, "gmem"), cell(k, 0, "test_hmm"), ratio(k, 0),
			       cell(k, 1, "gmem"), cell(k, 1, "test_hmm"), ratio(k, 1),
			       cell(k, 2, "gmem"), cell(k, 2, "test_hmm"), ratio(k, 2) | "sort -k1,1 -k2,2 -k3,3r -k4,4n"
		}
	}' "$out/raw"
echo "ratio: test_hmm / gmem, above 1 where gmem is faster; failed: every round's migration was refused (-ENOENT: pages not placed)"
grep ' error ' "$out/raw" | sed 's/^BENCH /  failure: /' || true

# FAULT mode round drv dev thp MiB fault best med fault_unmap best med unmaps n
echo
echo "device first-touch faults on /dev/hmm_dmirror2, thousands of pages/s (median of $reps, best of $rounds rounds; higher is better)"
awk '
	$8 == "error" { failed[$2 " " $6 " " $7 " " $4] = $9 " " $10; next }
	{
		key = $2 " " $6 " " $7
		keys[key] = 1
		for (d = 0; d < 2; d++) {
			v = d ? $13 : $10
			k = key " " d " " $4
			if (!(k in best) || v > best[k]) best[k] = v
		}
	}
	function cell(k, d, drv,   key) {
		key = k " " d " " drv
		return key in best ? sprintf("%9d", best[key]) : sprintf("%9s", "failed")
	}
	function ratio(k, d,   g, t) {
		g = k " " d " gmem"
		t = k " " d " test_hmm"
		if (!(g in best) || !(t in best) || !best[t])
			return sprintf("%6s", "-")
		return sprintf("%6.2f", best[g] / best[t])
	}
	END {
		printf "%-8s %-4s %5s | %9s %9s %6s | %9s %9s %6s\n", "THP", "buf", "MiB",
		       "fault:", "", "", "+unmaps:", "", ""
		printf "%-8s %-4s %5s | %9s %9s %6s | %9s %9s %6s\n", "", "", "",
		       "gmem", "test_hmm", "ratio", "gmem", "test_hmm", "ratio"
		for (k in keys) {
			split(k, f, " ")
			printf "%-8s %-4s %5s | %s %s %s | %s %s %s\n", f[1], f[2], f[3],
			       cell(k, 0, "gmem"), cell(k, 0, "test_hmm"), ratio(k, 0),
			       cell(k, 1, "gmem"), cell(k, 1, "test_hmm"), ratio(k, 1) | "sort -k1,1 -k2,2r"
		}
	}' "$out/raw-fault"
echo "ratio: gmem / test_hmm, above 1 where gmem is faster"
grep ' error ' "$out/raw-fault" | sed 's/^FAULT /  failure: /' || true
