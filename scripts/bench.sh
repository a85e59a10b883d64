#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# A benchmark, not a test: migration and device fault throughput of
# gmem_fake.ko dmirror=1
# side by side with the kernel's own lib/test_hmm.ko on the same ABI, in
# one boot of Debian 13's 7.x kernel (which has CONFIG_DEVICE_PRIVATE, so
# test_hmm builds unmodified from that kernel's source).  The two drivers
# are loaded side by side, test_hmm on /dev/hmm_dmirrorN and gmem_fake on
# /dev/gmem_dmirrorN, and measured repetition by repetition in turn on
# device 0 (device-private memory, 256 MiB each) and device 2
# (device-coherent memory, 256 MiB of memmap= RAM each).
# Buffers are THP-backed (MADV_HUGEPAGE, 2 MiB aligned) or 4 KiB
# (MADV_NOHUGEPAGE), under THP "always" and "madvise".
#
# usage: scripts/bench.sh [--sizes "64 128 230"] [--reps 5] [--rounds 2]
#        [--modes "always madvise"] [--bufs "thp 4k"] [--memory "private coherent"]
#        [--median] [--report]
# Sizes are MiB: by default 25%, 50% and 90% of a device's 256 MiB.  On
# coherent memory they are capped at 230 MiB, since test_hmm's coherent
# devices have 256 MiB and fail to fill all of it.
# Prints a table in microseconds per 4 KiB page (the best of the reps, or
# with --median their median; lower is better) of migrations both ways and, on coherent memory, of the device's
# READ, WRITE and SNAPSHOT of the buffer while it is on the device, and the
# ratio test_hmm / gmem (above 1: gmem is faster) of the round least
# favourable to gmem, then one
# of device first-touch faults in thousands of pages per second on
# /dev/hmm_dmirror2 (bench/dmirror_fault_bench.c), alone and while another
# thread unmaps unrelated memory.  Raw lines are kept in build/bench/;
# --report prints the tables of the last run again, without running.
set -euo pipefail

sizes="64 128 230" reps=5 rounds=2 modes="always madvise" bufs="thp 4k"
memory="private coherent" report='' stat=best
while [ $# -gt 0 ]; do
	case $1 in
	--sizes) sizes=$2; shift ;;
	--reps) reps=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--modes) modes=$2; shift ;;
	--bufs) bufs=$2; shift ;;
	--memory) memory=$2; shift ;;
	--median) stat=median ;;
	--report) report=1 ;;
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
out=$top/build/bench
if [ -n "$report" ]; then
	rel=$(cat "$out/release")
else
	scripts/install-deps.sh >/dev/null
	d13=$(scripts/debian13-root.sh | tail -n 1)
	rel=$(cat "$d13/release")
	series=$(cut -d. -f1,2 <<<"$rel")
	mods=$out/modules-$rel
	rm -rf "$out/guest" "$mods"
	mkdir -p "$out/guest" "$mods"
	echo "$rel" >"$out/release"

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

	# In the guest: both drivers loaded side by side for the whole run,
	# gmem_fake's test_hmm devices renamed /dev/gmem_dmirror0-3, and each
	# program takes turns between the two repetition by repetition, so that
	# a slow spell of the host (which comes and goes for seconds to minutes,
	# slowing both drivers alike) falls on both sides of a ratio; the order
	# is reversed every repetition, and each round starts with the other.
	# test_hmm's coherent devices get the 512 MiB of memmap= above
	# gmem_fake's (vm-run --memmap).
	# No swap: the guest's Normal zone (above the memmap= hole) runs low and
	# kswapd swaps out pieces of the buffers, which neither driver migrates
	# (pages that are not present stay), so a round would fail at random.
	cat >"$out/guest.sh" <<EOF
swapoff /dev/zram0 2>/dev/null; grep -c zram /proc/swaps | sed "s/^/swap devices left: /"
rmmod gmem_fake
modprobe test_hmm spm_addr_dev0=0x140000000 spm_addr_dev1=0x150000000
# 256 MiB of private memory, as test_hmm's first chunk.
modprobe gmem_fake \$GMEM_FAKE_PARAMS dmirror_private_size=0x10000000 dmirror_name=gmem_dmirror
# "CELL round N command...": the command with DEV replaced by both drivers'
# device N, in the round's order; its lines get the driver's name.
cell() {
	tag=\$1 round=\$2 n=\$3
	shift 3
	devs=/dev/hmm_dmirror\$n,/dev/gmem_dmirror\$n
	[ \$((round % 2)) = 1 ] || devs=/dev/gmem_dmirror\$n,/dev/hmm_dmirror\$n
	for arg; do
		shift
		[ "\$arg" != DEV ] || arg=\$devs
		set -- "\$@" "\$arg"
	done
	"\$@" | sed -e "s|^/dev/hmm_|test_hmm &|" -e "s|^/dev/gmem_|gmem &|" \
		-e "s|^|\$tag \$mode \$round |"
}
for mode in $modes; do
	echo \$mode >/sys/kernel/mm/transparent_hugepage/enabled
	for round in \$(seq $rounds); do
		for thp in $bufs; do
			case " $memory " in *" private "*)
			for mib in $sizes; do
				cell BENCH \$round 0 /tests/dmirror_bench DEV \$thp $reps \$mib
			done ;;
			esac
			case " $memory " in *" coherent "*)
			for mib in $csizes; do
				cell BENCH \$round 2 env DMIRROR_BENCH_ACCESS=1 \
					/tests/dmirror_bench DEV \$thp $reps \$mib
			done
			cell FAULT \$round 2 /tests/dmirror_fault_bench DEV \$thp $reps 16 ;;
			esac
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
fi

# BENCH mode round drv dev thp MiB op min med [op min med]...
#       (or ... MiB error what errno)
# A cell is the best of the rounds' figures (each round's best repetition,
# or median); a ratio is the lowest of the rounds' ratios, so one that is
# above 1 was above 1 in every round where both drivers gave a figure.  The
# repetitions of the two drivers alternate, so a slow spell of the host
# that is shorter than a cell slows some of each driver's repetitions and
# leaves the best ones alone; a median is moved by it.
# Both tables: the ratio of figure @k in the round least favourable to
# gmem, over the rounds where both drivers gave one (med[@k drv round]);
# "" if there is none.
worst_round='
	function worst(k, lower_is_better,   g, t, r, x, lo) {
		lo = ""
		for (r = 1; r <= rounds; r++) {
			g = k " gmem " r
			t = k " test_hmm " r
			if (!(g in med) || !(t in med) || !med[g] || !med[t])
				continue
			x = lower_is_better ? med[t] / med[g] : med[g] / med[t]
			if (lo == "" || x < lo) lo = x
		}
		return lo
	}'
med=$([ $stat = median ] && echo 1 || echo 0)
echo "gmem vs lib/test_hmm on $rel, us per 4 KiB page ($stat of $reps reps, best of $rounds rounds)"
awk -v rounds="$rounds" -v use_med="$med" "$worst_round"'
	{
		key = $2 " " ($5 ~ /dmirror0/ ? "private" : "coherent") " " $6 " " $7
		keys[key] = 1
		if ($8 == "error")
			next
		for (f = 8; f + 2 <= NF; f += 3) {
			ops[$f] = 1
			k = key " " $f " " $4
			v = $(f + 1 + use_med)
			if (!(k in best) || v < best[k]) best[k] = v
			med[k " " $3] = v
		}
	}
	function cell(k, op, drv,   key) {
		key = k " " op " " drv
		if (key in best)
			return sprintf("%8.2f", best[key])
		return sprintf("%8s", op ~ /^to_/ ? "failed" : "-")
	}
	function ratio(k, op,   lo) {
		lo = worst(k " " op, 1)
		return lo == "" ? sprintf("%5s", "-") : sprintf("%5.2f", lo)
	}
	END {
		n = split("to_dev to_sys read write snapshot", order, " ")
		line = sprintf("%-7s %-8s %-3s %3s", "THP", "memory", "buf", "MiB")
		sub2 = sprintf("%-7s %-8s %-3s %3s", "", "", "", "")
		for (i = 1; i <= n; i++) {
			if (!(order[i] in ops)) continue
			line = line sprintf(" | %-23s", order[i] ":")
			sub2 = sub2 sprintf(" | %8s %8s %5s", "gmem", "test_hmm", "ratio")
		}
		print line
		print sub2
		for (k in keys) {
			split(k, w, " ")
			line = sprintf("%-7s %-8s %-3s %3s", w[1], w[2], w[3], w[4])
			for (i = 1; i <= n; i++) {
				if (!(order[i] in ops)) continue
				line = line sprintf(" | %s %s %s", cell(k, order[i], "gmem"),
						    cell(k, order[i], "test_hmm"), ratio(k, order[i]))
			}
			print line | "sort -k1,1 -k2,2 -k3,3r -k4,4n"
		}
	}' "$out/raw"
echo "ratio: test_hmm / gmem in the round least favourable to gmem (of those where both"
echo "migrated everything), above 1 where gmem is faster;"
echo "failed: every round's migration was refused (-ENOENT: pages not placed)"
grep ' error ' "$out/raw" | sed 's/^BENCH /  failure: /' || true

# FAULT mode round drv dev thp MiB fault best med fault_unmap best med unmaps n
echo
echo "device first-touch faults on /dev/hmm_dmirror2, thousands of pages/s ($stat of $reps reps, best of $rounds rounds; higher is better)"
awk -v rounds="$rounds" -v use_med="$med" "$worst_round"'
	$8 == "error" { next }
	{
		key = $2 " " $6 " " $7
		keys[key] = 1
		for (d = 0; d < 2; d++) {
			v = d ? $(12 + use_med) : $(9 + use_med)
			k = key " " d " " $4
			if (!(k in best) || v > best[k]) best[k] = v
			med[k " " $3] = v
		}
	}
	function cell(k, d, drv,   key) {
		key = k " " d " " drv
		return key in best ? sprintf("%9d", best[key]) : sprintf("%9s", "failed")
	}
	function ratio(k, d,   lo) {
		lo = worst(k " " d, 0)
		return lo == "" ? sprintf("%6s", "-") : sprintf("%6.2f", lo)
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
echo "ratio: gmem / test_hmm in the round least favourable to gmem, above 1 where gmem is faster"
grep ' error ' "$out/raw-fault" | sed 's/^FAULT /  failure: /' || true
