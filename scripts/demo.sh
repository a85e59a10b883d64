#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The README's demo: build gmem for the stock Debian 6.12 kernel, boot it in
# QEMU and run tests/gmem_demo there, then show what it printed and what the
# kernel logged about gmem.
#
# usage: scripts/demo.sh      (logs in build/demo/)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/install-deps.sh
kver=$(find /lib/modules -mindepth 1 -maxdepth 1 -name '6.12.*+deb12-amd64' -printf '%f\n' | sort -V | tail -n 1)
make KVER="$kver"
make tests
[ -x build/tests/gmem_demo ] || {
	echo "demo: build/tests/gmem_demo was not built (tests/gmem_demo.c missing?)" >&2
	exit 1
}

out=build/demo
rc=0
# Twice: the first pass also pays for QEMU touching the guest's device range
# on the host for the first time; the second shows the steady state.
# Then the accelerators as lspci shows them (QEMU's ivshmem-plain devices,
# bound by gmem_fake), and as sysfs shows them: the gmem class, each device
# a child of its PCI device, with its counters.
# shellcheck disable=SC2016 # expanded in the guest
demo='echo "--- first pass (cold device memory) ---" && /tests/gmem_demo &&
echo "--- second pass (warm) ---" && /tests/gmem_demo &&
echo "--- lspci -d 1af4:1110 -k (the accelerators) ---" &&
lspci -nn -k -d 1af4:1110 -v | grep -E "^[0-9a-f]|Region 2|Kernel driver" &&
echo "--- /sys/class/gmem ---" &&
for d in /sys/class/gmem/*; do
	echo "$d -> $(readlink -f "$d/device")" &&
	for a in id mem_type total_pages free_pages used_pages to_dev_pages to_host_pages copy_batches copy_errors; do
		echo "  $a: $(cat "$d/$a")"
	done
done'

scripts/vm-run.sh --kernel "/boot/vmlinuz-$kver" --modules-tree "build/$kver" --kver "$kver" \
	--kernel-modules-dir "/lib/modules/$kver" --tests build/tests \
	--cmd "$demo" --out "$out" || rc=$?

echo
echo "=== gmem_demo output (guest, $kver) ==="
tr -d '\r' <"$out/tap.log" | sed -n '/^# RUN /,/^# EXIT /{/^# \(RUN\|EXIT\) /!p}'
echo "=== kernel log lines about gmem ==="
tr -d '\r' <"$out/dmesg.log" | grep -i gmem || true
echo "=== $(head -n 1 "$out/summary") (logs in $out) ==="
exit "$rc"
