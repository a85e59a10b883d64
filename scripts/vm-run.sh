#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot one kernel in QEMU (TCG) with a busybox initramfs holding gmem's
# modules and the static test binaries, run the tests in the guest and judge
# the result on the host.
#
# usage: vm-run.sh --kernel FILE --modules-tree DIR --kver RELEASE --out DIR
#                  [--kernel-modules-dir /lib/modules/RELEASE] [--tests DIR]
#                  [--skip NAME]... [--thp MODE[,MODE]]...
#                  [--cmd "GUEST COMMAND"] [--timeout S] [--test-timeout S]
#                  [--iommu] [--memmap]
#
#   --kernel              bzImage, /boot/vmlinuz-* or an ELF vmlinux (PVH)
#   --modules-tree        directory with our .ko files (build/<release>/)
#   --kernel-modules-dir  that kernel's module tree, to copy the in-tree
#                         modules ours depend on (drm_buddy on 6.1)
#   --tests               directory of static test binaries, copied to the
#                         guest's /tests and run in order
#   --skip                a binary of --tests not to run (e.g. a demo)
#   --thp                 THP modes to run the tests under (default: always)
#   --cmd                 run this guest shell command instead of the tests
#   --timeout             host-side limit for the whole VM (default 1500 s)
#   --test-timeout        guest-side limit per test binary (default 600 s)
#   --iommu               q35 with QEMU's intel-iommu in strict mode: every
#                         DMA address gmem hands the devices is an IOVA
#   --memmap              give gmem_fake reserved RAM (memmap=) instead of
#                         PCI devices, as the kernel's test_hmm needs: 1 GiB
#                         at 4 GiB for gmem_fake, and 512 MiB above it that
#                         test_hmm's coherent devices may take beside it
#
# The fake accelerators are six ivshmem-plain PCI devices, each with a 1 GiB
# BAR2 (that size puts it above 4 GiB, mapped write-back), in the roles of
# gmem_fake's module parameters: gmem_fake0-1 then hmm_dmirror0-3. The
# memory-backend-memfd behind each takes host memory only where touched.
#
# Serial ports: ttyS0 -> OUT/console.log, ttyS1 -> OUT/tap.log (tests),
# ttyS2 -> OUT/dmesg.log. OUT/summary gets "passed N failed N skipped N",
# one "FAIL <name>" line per failure and "boot_to_init_s S"; OUT/results
# has every PASS/FAIL/SKIP, OUT/times the seconds each test binary took
# ("<thp> <binary> <s>"). The exit status is 1 if anything failed.
set -euo pipefail

usage() {
	sed -n '/^# usage:/,/^# has every/s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

kernel='' modtree='' kver='' kmoddir='' tests='' out='' cmd='' iommu='' memmap=''
thp=()
skip=()
timeout_s=1500
test_timeout=600
while [ $# -gt 0 ]; do
	case $1 in
	--iommu) iommu=1 && shift && continue ;;
	--memmap) memmap=1 && shift && continue ;;
	esac
	[ $# -ge 2 ] || usage
	case $1 in
	--kernel) kernel=$2 ;;
	--modules-tree) modtree=$2 ;;
	--kver) kver=$2 ;;
	--kernel-modules-dir) kmoddir=$2 ;;
	--tests) tests=$2 ;;
	--out) out=$2 ;;
	--thp) IFS=, read -ra m <<<"$2" && thp+=("${m[@]}") ;;
	--skip) skip+=("$2") ;;
	--cmd) cmd=$2 ;;
	--timeout) timeout_s=$2 ;;
	--test-timeout) test_timeout=$2 ;;
	*) usage ;;
	esac
	shift 2
done
for v in "$kernel" "$modtree" "$kver" "$out"; do
	[ -n "$v" ] || usage
done
[ -n "$tests" ] || [ -n "$cmd" ] || usage
[ ${#thp[@]} -gt 0 ] || thp=(always)
cache=${GMEM_CACHE:-/var/cache/gmem}

die() {
	echo "vm-run: $*" >&2
	exit 1
}

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/initramfs" "$out"/*.log "$out/summary" "$out/results"

# --- initramfs -------------------------------------------------------------
root=$out/initramfs
mdir=$root/lib/modules/$kver
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,tests} "$mdir/extra"
cp /bin/busybox "$root/bin/busybox"
# lspci (busybox has none), with its libraries and the PCI id names, so that
# the guest can show its accelerators as a user would see them.
if [ -x /usr/bin/lspci ]; then
	for f in /usr/bin/lspci $(ldd /usr/bin/lspci | grep -o '/[^ ]*'); do
		mkdir -p "$root${f%/*}"
		cp -L "$f" "$root$f"
	done
	if [ -f /usr/share/misc/pci.ids ]; then
		mkdir -p "$root/usr/share/misc"
		cp /usr/share/misc/pci.ids "$root/usr/share/misc/"
	fi
fi

ls "$modtree"/*.ko >/dev/null 2>&1 || die "no .ko files in $modtree"
cp "$modtree"/*.ko "$mdir/extra/"

# Copy a module of the kernel's own tree, uncompressed since busybox's
# insmod reads only plain .ko files, then the modules it depends on.
declare -A copied=()
add_dep() {
	local name=$1 f dst dep
	[ -z "${copied[$name]:-}" ] || return 0
	copied[$name]=1
	[ -n "$kmoddir" ] || die "a module needs $name: pass --kernel-modules-dir"
	# Module names use '_', file names may use '-'.
	f=$(find "$kmoddir/kernel" \( -name "$name.ko*" -o -name "${name//_/-}.ko*" \) -print -quit)
	[ -n "$f" ] || die "module $name not found under $kmoddir/kernel"
	dst=$mdir/${f#"$kmoddir"/}
	mkdir -p "${dst%/*}"
	case $f in
	*.ko.xz) xz -dc "$f" >"${dst%.xz}" ;;
	*.ko.zst) zstd -qdc "$f" >"${dst%.zst}" ;;
	*.ko.gz) gzip -dc "$f" >"${dst%.gz}" ;;
	*) cp "$f" "$dst" ;;
	esac
	for dep in $(modinfo -F depends "$f" | tr , ' '); do
		add_dep "$dep"
	done
}
for ko in "$mdir"/extra/*.ko; do
	copied[$(modinfo -F name "$ko")]=1
done
for ko in "$mdir"/extra/*.ko; do
	for dep in $(modinfo -F depends "$ko" | tr , ' '); do
		add_dep "$dep"
	done
done
# zram, for swap in the guest, where the kernel has it as a module.
if [ -n "$kmoddir" ] && [ -n "$(find "$kmoddir/kernel" -name 'zram.ko*' -print -quit)" ]; then
	add_dep zram
fi
# modprobe must know what is built in, or it fails on those names.
for f in modules.builtin modules.builtin.modinfo; do
	[ -z "$kmoddir" ] || [ ! -f "$kmoddir/$f" ] || cp "$kmoddir/$f" "$mdir/"
done
# depmod wants an order file; ours lists what the image holds.
(cd "$mdir" && find . -name '*.ko' | sed 's,^\./,,' | sort >modules.order)
depmod -b "$root" "$kver"

if [ -n "$tests" ]; then
	[ -d "$tests" ] || die "no test directory $tests"
	find "$tests" -maxdepth 1 -type f -perm -u+x -exec cp {} "$root/tests/" \;
	# Helpers that tests run, not tests: the kernel's hmm-tests, run
	# through its wrapper (tests/hmm_tests.sh).
	if [ -d "$tests/bin" ]; then
		mkdir -p "$root/tests/bin"
		find "$tests/bin" -maxdepth 1 -type f -perm -u+x -exec cp {} "$root/tests/bin/" \;
	fi
	[ -n "$(ls "$root/tests")" ] || [ -n "$cmd" ] || die "no test binaries in $tests"
fi

# Guest configuration, read by /init.
{
	printf 'THP_MODES=%q\n' "${thp[*]}"
	printf 'TEST_TIMEOUT=%q\n' "$test_timeout"
	printf 'SKIP_TESTS=%q\n' "${skip[*]}"
	if [ -n "$memmap" ]; then
		printf 'GMEM_FAKE_PARAMS=%q\n' "num_devices=2 devmem_base=0x100000000,0x110000000 devmem_size=0x10000000,0x10000000 dmirror=1 dmirror_coherent_base=0x120000000,0x130000000 dmirror_coherent_size=0x10000000 dmirror_private_size=0x20000000"
	else
		printf 'GMEM_FAKE_PARAMS=%q\n' "num_devices=2 devmem_size=0x10000000 dmirror=1 dmirror_coherent_size=0x10000000 dmirror_private_size=0x20000000"
	fi
} >"$root/etc/gmem-vm.conf"
if [ -n "$cmd" ]; then
	printf '%s\n' "$cmd" >"$root/etc/gmem-cmd.sh"
fi

cat >"$root/init" <<'EOF'
#!/bin/busybox sh
# gmem test VM init, written by scripts/vm-run.sh. Protocol on ttyS1:
#   # RUN <thp> <binary> ... TAP ... # TIME <thp> <binary> <seconds>
#   # EXIT <thp> <binary> <status>
#   # CHECK ok|not ok <name>, # KMEMLEAK BEGIN/END, # GMEM END
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
echo "gmem-init: reached /init at $(cut -d' ' -f1 /proc/uptime) s uptime"
. /etc/gmem-vm.conf
export GMEM_FAKE_PARAMS

# Raw mode keeps the tty from turning \n into \r\n; fd 3 keeps it open.
exec 3>/dev/ttyS1
stty -F /dev/ttyS1 raw -echo
check() {
	name=$1
	shift
	if "$@" >&3 2>&3; then
		echo "# CHECK ok $name" >&3
	else
		echo "# CHECK not ok $name" >&3
	fi
}

kmemleak=/sys/kernel/debug/kmemleak
# GMEM_FAKE_PARAMS is split into separate parameters on purpose.
# Swap on compressed RAM, so that swap-out can reach the devices too.
if modprobe zram 2>/dev/null; then
	check "swap on zram" sh -c 'echo 512M >/sys/block/zram0/disksize && mkswap /dev/zram0 >/dev/null && swapon /dev/zram0'
fi
check "modprobe gmem_fake" modprobe gmem_fake $GMEM_FAKE_PARAMS
# Start kmemleak from a clean slate: boot-time reports are not ours.
[ ! -e $kmemleak ] || echo clear >$kmemleak

for mode in $THP_MODES; do
	check "thp=$mode" sh -c "echo $mode >/sys/kernel/mm/transparent_hugepage/enabled"
	if [ -f /etc/gmem-cmd.sh ]; then
		set -- /etc/gmem-cmd.sh
	else
		set -- /tests/*
	fi
	for t in "$@"; do
		# Only regular files: /tests/bin is a directory of helpers.
		[ -f "$t" ] && { [ -x "$t" ] || [ "$t" = /etc/gmem-cmd.sh ]; } || continue
		n=${t##*/}
		case " $SKIP_TESTS " in *" $n "*) continue ;; esac
		echo "gmem-init: $mode $n"
		echo "# RUN $mode $n" >&3
		t0=$(date +%s)
		if [ "$t" = /etc/gmem-cmd.sh ]; then
			sh "$t" </dev/null >&3 2>&3
		else
			timeout -k 10 "$TEST_TIMEOUT" "$t" </dev/null >&3 2>&3
		fi
		rc=$?
		echo "# TIME $mode $n $(($(date +%s) - t0))" >&3
		echo "# EXIT $mode $n $rc" >&3
	done
	[ ! -f /etc/gmem-cmd.sh ] || break
done

for m in gmem_fake gmem; do
	if grep -q "^$m " /proc/modules; then
		check "rmmod $m" rmmod $m
	fi
done

# CONFIG_DMA_API_DEBUG (the debug kernel): every misuse it found, and every
# mapping the modules left behind when they went, is an error.
dmaerr=/sys/kernel/debug/dma-api/error_count
if [ -e $dmaerr ]; then
	check "DMA-API debug: no errors" sh -c "test \"\$(cat $dmaerr)\" = 0"
fi

if [ -e $kmemleak ]; then
	# Objects younger than 5 s are never reported: scan twice.
	echo scan >$kmemleak
	sleep 6
	echo scan >$kmemleak
	echo "# KMEMLEAK BEGIN" >&3
	cat $kmemleak >&3
	echo "# KMEMLEAK END" >&3
fi
dmesg -s 8388608 >/dev/ttyS2
echo "# GMEM END" >&3
echo "gmem-init: done"
poweroff -f
EOF
chmod +x "$root/init"

# Uncompressed: unpacking is a memcpy, gzip would cost seconds under TCG.
initrd=$out/initramfs.cpio
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$initrd"

# --- kernel ----------------------------------------------------------------
is_elf() { [ "$(head -c4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }

# Uncompressed vmlinux out of a bzImage: QEMU boots it through PVH, which
# skips the in-guest decompression (slow under TCG). Same approach as the
# kernel's scripts/extract-vmlinux: try every compressor magic found.
extract_vmlinux() {
	local img=$1 dst=$2 tmp=$2.tmp magic tool off
	for pair in '\xfd7zXZ\x00:xz -dc' '\x28\xb5\x2f\xfd:zstd -qdc' '\x1f\x8b\x08:gzip -dc'; do
		magic=${pair%%:*} tool=${pair#*:}
		while read -r off; do
			# Trailing data after the payload makes the decompressor fail
			# after it wrote the kernel: judge by the output.
			tail -c +$((off + 1)) "$img" | $tool >"$tmp" 2>/dev/null || true
			if [ -s "$tmp" ] && is_elf "$tmp"; then
				mv "$tmp" "$dst"
				return 0
			fi
		done < <(LC_ALL=C grep -aboP "$magic" "$img" | cut -d: -f1)
	done
	rm -f "$tmp"
	return 1
}

if is_elf "$kernel"; then
	elf=$kernel
	fallback=$(dirname "$kernel")/arch/x86/boot/bzImage
else
	fallback=$kernel
	elf=$cache/vmlinux/$(sha256sum "$kernel" | cut -c1-16)/vmlinux
	if [ ! -f "$elf" ]; then
		mkdir -p "${elf%/*}"
		extract_vmlinux "$kernel" "$elf" || elf=
	fi
fi

machine=() accels=() cmdline=''
if [ -n "$iommu" ]; then
	# The IOMMU must exist before the devices behind it.
	machine=(-machine q35 -device intel-iommu)
	cmdline='intel_iommu=on iommu.strict=1'
fi
if [ -n "$memmap" ]; then
	cmdline="$cmdline memmap=1536M\$0x100000000"
else
	for i in 0 1 2 3 4 5; do
		accels+=(-object "memory-backend-memfd,id=vram$i,size=1G,share=on"
			-device "ivshmem-plain,memdev=vram$i")
	done
fi

qemu() {
	local k=$1
	rm -f "$out"/*.log
	echo "vm-run: booting $k ($kver, thp ${thp[*]})"
	local start rc=0
	start=$(date +%s)
	# qemu64: under TCG it runs the kernel about 3x faster than -cpu max
	# (measured on migrations), and it has no 5-level paging, so the user
	# address space is the same whether the kernel boots as vmlinux or bzImage.
	# Two NUMA nodes, so that page migration between nodes reaches the tests.
	timeout -k 10 "$timeout_s" qemu-system-x86_64 \
		-accel tcg,thread=multi -cpu qemu64 -smp 2,sockets=2,cores=1,threads=1 -m 5G \
		"${machine[@]}" \
		-object memory-backend-ram,id=ram0,size=2560M -numa node,nodeid=0,cpus=0,memdev=ram0 \
		-object memory-backend-ram,id=ram1,size=2560M -numa node,nodeid=1,cpus=1,memdev=ram1 \
		"${accels[@]}" \
		-no-reboot -display none -nodefaults \
		-kernel "$k" -initrd "$initrd" \
		-append "console=ttyS0 $cmdline panic=-1 panic_on_warn=0 transparent_hugepage=${thp[0]}" \
		-serial "file:$out/console.log" -serial "file:$out/tap.log" -serial "file:$out/dmesg.log" \
		</dev/null >"$out/qemu.log" 2>&1 || rc=$?
	echo "vm-run: qemu exited with $rc after $(($(date +%s) - start)) s"
	[ "$rc" != 124 ] || echo "vm-run: host timeout of $timeout_s s hit" >&2
}

if [ -n "$elf" ]; then
	qemu "$elf"
	# An ELF without a PVH note, or one that faults before the console is
	# up (the debug kernel: KASAN instruments the early PVH code), prints
	# nothing at all.
	if [ ! -s "$out/console.log" ] && [ -f "$fallback" ]; then
		echo "vm-run: no output from $elf through PVH, booting $fallback instead"
		qemu "$fallback"
	fi
else
	qemu "$fallback"
fi
[ -s "$out/console.log" ] || { echo "vm-run: the guest printed nothing; QEMU said:"; cat "$out/qemu.log"; } >&2
boot=$(sed -n 's/.*gmem-init: reached \/init at \([0-9.]*\) s.*/\1/p' "$out/console.log")
echo "vm-run: boot to /init: ${boot:-never} s (guest uptime)"

# --- verdict ---------------------------------------------------------------
res=$out/results
tr -d '\r' <"$out/tap.log" | awk -v cmdmode="${cmd:+1}" '
	function result(kind, name) { print kind " " name }
	function close_block(status) {
		if (status == "")
			result("FAIL", blk ": did not finish (guest crash or hang)")
		else if (status == 124 || status == 137 || status == 143)
			result("FAIL", blk ": timed out")
		else if (cmdmode)
			result(status == 0 ? "PASS" : "FAIL", blk ": exit status " status)
		else if (skipall && status == 4)
			result("SKIP", blk)
		else if (!totals)
			result("FAIL", blk ": no totals line (exit status " status ")")
		else if (status != 0 && status != 4 && !failed)
			result("FAIL", blk ": exit status " status)
		blk = ""
	}
	/^# RUN [^ ]+ [^ ]+$/ { if (blk != "") close_block(""); blk = $3 " " $4
		totals = failed = skipall = 0; next }
	/^# EXIT / { if (blk != "") close_block($5); next }
	/^# CHECK ok / { result("PASS", substr($0, 12)); next }
	/^# CHECK not ok / { result("FAIL", substr($0, 16)); next }
	/^# KMEMLEAK BEGIN/ { inleak = 1; next }
	/^# KMEMLEAK END/ { inleak = 0; next }
	inleak { leak = 1; next }
	/^# GMEM END/ { end = 1; next }
	blk == "" { next }
	/^1\.\.0 # SKIP/ { skipall = 1; next }
	/^# Totals:/ { totals = 1; next }
	/^not ok [0-9]+/ { failed = 1; sub(/^not ok [0-9]+ /, ""); result("FAIL", blk " " $0); next }
	/^ok [0-9]+/ {
		skip = ($0 ~ /# [Ss][Kk][Ii][Pp]/)
		sub(/^ok [0-9]+ /, ""); result(skip ? "SKIP" : "PASS", blk " " $0); next }
	END {
		if (blk != "") close_block("")
		result(end ? "PASS" : "FAIL", "guest reached the end marker")
	}
' >"$res"

if grep -q '^# KMEMLEAK BEGIN' "$out/tap.log"; then
	leaks=$(tr -d '\r' <"$out/tap.log" | sed -n '/^# KMEMLEAK BEGIN/,/^# KMEMLEAK END/p' | sed '1d;$d')
	if [ -z "$leaks" ]; then
		echo "PASS kmemleak report empty" >>"$res"
	else
		echo "FAIL kmemleak report empty" >>"$res"
		printf 'vm-run: kmemleak:\n%s\n' "$leaks" | head -n 60 >&2
	fi
else
	echo "SKIP kmemleak report empty (no kmemleak)" >>"$res"
fi

bad='Oops|Kernel panic|BUG:|WARNING:|KASAN|UBSAN|kernel BUG|general protection|possible circular locking|inconsistent lock state|possible recursive locking|suspicious RCU usage|Call Trace|DMA-API: debugging out of memory|DMA-API: .* (device driver|leaked)'
if grep -aEn "$bad" "$out/console.log" "$out/dmesg.log" >"$out/bad-lines"; then
	echo "FAIL kernel log free of oops/warnings/lockdep/KASAN reports" >>"$res"
	echo "vm-run: offending kernel log lines:" >&2
	head -n 40 "$out/bad-lines" >&2
else
	echo "PASS kernel log free of oops/warnings/lockdep/KASAN reports" >>"$res"
fi

tr -d '\r' <"$out/tap.log" | sed -n 's/^# TIME //p' >"$out/times"
passed=$(grep -c '^PASS' "$res" || true)
failed=$(grep -c '^FAIL' "$res" || true)
skipped=$(grep -c '^SKIP' "$res" || true)
{
	echo "passed $passed failed $failed skipped $skipped"
	grep '^FAIL' "$res" || true
	echo "boot_to_init_s ${boot:-never}"
} >"$out/summary"
echo "vm-run: $kver: passed $passed failed $failed skipped $skipped (logs in $out)"
grep '^FAIL' "$res" | sed 's/^/vm-run:   /' >&2 || true
[ "$failed" = 0 ]
