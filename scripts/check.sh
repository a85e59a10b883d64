#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The project's test command: builds gmem for the stock Debian 12 6.1 and
# 6.12 kernels, a debug 6.12 kernel and Debian 13's newest backports kernel
# (7.x, built in a Debian 13 root), runs the static checks (checkpatch,
# sparse, W=1, kernel-doc, DKMS, shellcheck) and the tests in a QEMU guest of
# each kernel, whose fake accelerators are PCI devices; the 7.x guest has
# an IOMMU in front of them. Every check counts as one test; the last line printed is
# "N passed, N failed" and the exit status is non-zero iff something failed.
#
# usage: scripts/check.sh [--kernels 6.1,6.12,debug,7.x] [--no-static] [--quick]
#   --kernels    the kernels to build for and boot (default: all four)
#   --no-static  skip checkpatch, sparse, W=1, kernel-doc, DKMS and shellcheck
#   --quick      run the VM tests under THP=always only (the debug kernel
#                always does)
#
# Logs go to build/check/; the debug kernel and the Debian 13 root are
# cached under ${GMEM_CACHE:-/var/cache/gmem}.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

kernels=6.1,6.12,debug,7.x
static=1
# Both THP modes on the stock kernels; the debug kernel, several times
# slower, runs under THP=always only (every buffer huge, the harder case for
# the locking it checks), which keeps a warm check under 35 minutes.
thp=always,madvise
while [ $# -gt 0 ]; do
	case $1 in
	--kernels) kernels=${2:?--kernels needs a list}; shift ;;
	--no-static) static='' ;;
	--quick) thp=always ;;
	*) sed -n '/^# usage:/,/--quick/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
	shift
done
want() { [[ ",$kernels," == *",$1,"* ]]; }
for k in ${kernels//,/ }; do
	case $k in 6.1 | 6.12 | debug | 7.x) ;; *) echo "check: unknown kernel '$k'" >&2; exit 2 ;; esac
done

logs=$top/build/check
rm -rf "$logs"
mkdir -p "$logs"
results=$logs/results
: >"$results"
t0=$(date +%s)

say() { echo "$*" | tee -a "$logs/check.log"; }

# record GROUP PASS|FAIL|SKIP NAME
record() {
	echo "$2 [$1] $3" >>"$results"
	[ "$2" != FAIL ] || say "  FAIL [$1] $3"
}

# step GROUP NAME LOG CMD...: run CMD with its output in LOG, count it.
step() {
	local group=$1 name=$2 log=$logs/$3.log start rc=0
	shift 3
	start=$(date +%s)
	"$@" >"$log" 2>&1 || rc=$?
	if [ $rc = 0 ]; then
		record "$group" PASS "$name"
		say "ok   [$group] $name ($(($(date +%s) - start)) s)"
	else
		record "$group" FAIL "$name"
		say "     see $log:"
		tail -n 15 "$log" | sed 's/^/     | /' | tee -a "$logs/check.log"
	fi
	return $rc
}

# Warnings (compiler, sparse, modpost) that are not about the kernel's
# own headers: ours are the ones we must fix.
our_warnings() {
	grep -E 'warning:|WARNING:|error:' "$1" | grep -vE "^(/usr/src|/lib/modules|$2)/" || true
}

# clean_build GROUP NAME LOG: pass iff LOG has no warnings of ours.
clean_build() {
	local w
	w=$(our_warnings "$logs/$3.log" "${4:-/nonexistent}")
	if [ -z "$w" ]; then
		record "$1" PASS "$2"
	else
		record "$1" FAIL "$2"
		printf '%s\n' "$w" | head -n 20 | sed 's/^/     | /' | tee -a "$logs/check.log"
	fi
}

# The newest installed generic (not cloud, not rt) flavour of a series.
newest() {
	find /lib/modules -mindepth 1 -maxdepth 1 -name "$1" ! -name '*-cloud-amd64' ! -name '*-rt-amd64' \
		-printf '%f\n' | sort -V | tail -n 1
}

# --- dependencies and builds -------------------------------------------------
say "== gmem check: kernels $kernels, THP $thp${static:+, static checks}"
step all "install dependencies" install-deps scripts/install-deps.sh || {
	say "0 passed, 1 failed"
	exit 1
}

k61=$(newest '6.1.*-amd64')
k612=$(newest '6.12.*+deb12-amd64')
stock=()
for k in "$k61" "$k612"; do
	[ -d "/lib/modules/$k/build" ] || { say "check: no headers for kernel '$k'"; exit 1; }
done
label() { case $1 in "$k61") echo 6.1 ;; "$k612") echo 6.12 ;; esac; }
# The static checks build for both stock kernels whatever --kernels says.
for k in "$k61" "$k612"; do
	if want "$(label "$k")" || [ -n "$static" ]; then
		stock+=("$k")
	fi
done

step all "build tests" tests make tests || true
testbins=$(find build/tests -maxdepth 1 -type f -perm -u+x ! -name gmem_demo 2>/dev/null | sort)
if [ -z "$testbins" ]; then
	record all FAIL "test binaries present in build/tests"
	say "check: 'make tests' left no test binaries in build/tests: the VMs only load and unload the modules"
fi

# W=1 on every build: the same build then also serves as the W=1 check.
built=()
for k in "${stock[@]}"; do
	if step "$(label "$k")" "build modules for $k (W=1)" "build-$k" make KVER="$k" W=1; then
		built+=("$k")
		[ -z "$static" ] || clean_build "$(label "$k")" "no W=1 warnings on $k" "build-$k"
	fi
done

dtree='' drel=''
if want debug; then
	if step debug "build debug kernel" debug-kernel scripts/build-debug-kernel.sh; then
		dtree=$(tail -n 1 "$logs/debug-kernel.log")
		drel=$(cat "$dtree/include/config/kernel.release")
		say "     $(grep -E 'debug kernel: (built|cached)' "$logs/debug-kernel.log")"
		step debug "build modules for $drel" build-debug make KDIR="$dtree" || dtree=''
	fi
fi

# The newest stock kernel: Debian 13's backports 7.x, whose headers need
# Debian 13's gcc and kbuild tools, so everything for it is built in a
# Debian 13 root; its hmm-tests come from its own source package there.
d13='' rel7=''
if want 7.x; then
	if step 7.x "Debian 13 root for the newest 7.x kernel" debian13-root scripts/debian13-root.sh; then
		d13=$(tail -n 1 "$logs/debian13-root.log")
		rel7=$(cat "$d13/release")
		say "     $(grep -E 'debian13 root: (built|cached)' "$logs/debian13-root.log")"
		if step 7.x "build modules for $rel7 (W=1)" "build-$rel7" \
			scripts/debian13-run.sh "$d13" make KDIR="/usr/src/linux-headers-$rel7" W=1; then
			[ -z "$static" ] || clean_build 7.x "no W=1 warnings on $rel7" "build-$rel7"
		else
			d13=''
		fi
		series7=$(cut -d. -f1,2 <<<"$rel7")
		step 7.x "build hmm-tests of linux-source-$series7" hmm-tests-7 \
			scripts/debian13-run.sh "$d13" make -C tests "hmm-tests-$series7" CC=gcc-14 || true
	fi
fi

# --- static checks -----------------------------------------------------------
if [ -n "$static" ]; then
	say "== static checks"
	# checkpatch from the packaged 6.12 source, cached by package version.
	srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
	cpdir=${GMEM_CACHE:-/var/cache/gmem}/checkpatch/$srcver
	if [ ! -f "$cpdir/checkpatch.pl" ] || [ ! -f "$cpdir/kernel-doc" ]; then
		mkdir -p "$cpdir.tmp"
		tar -xJf /usr/src/linux-source-6.12.tar.xz -C "$cpdir.tmp" --strip-components=2 \
			linux-source-6.12/scripts/checkpatch.pl linux-source-6.12/scripts/spelling.txt \
			linux-source-6.12/scripts/const_structs.checkpatch \
			linux-source-6.12/scripts/kernel-doc
		rm -rf "$cpdir"
		mv "$cpdir.tmp" "$cpdir"
	fi
	while read -r f; do
		step all "checkpatch $f" "checkpatch-${f//\//_}" \
			"$cpdir/checkpatch.pl" --strict --no-tree --show-types -q -f "$f" || true
	done < <(find src include -name '*.[ch]' | sort)

	# kernel-doc warns on stderr but exits 0: any output is a failure.
	kerneldoc_clean() {
		local out
		out=$(perl "$cpdir/kernel-doc" -none -Wall "$@" 2>&1)
		[ -z "$out" ] || { echo "$out"; return 1; }
	}
	# shellcheck disable=SC2046 # one word per file
	step all "kernel-doc" kernel-doc kerneldoc_clean $(find src include -name '*.[ch]' | sort) || true

	if [[ " ${built[*]} " == *" $k612 "* ]]; then
		step 6.12 "sparse build on $k612" sparse make KVER="$k612" C=2 &&
			clean_build 6.12 "no sparse warnings on $k612" sparse "/usr/src/linux-headers-$k612"
	else
		record 6.12 FAIL "sparse (no module build for $k612)"
	fi

	step all "shellcheck" shellcheck shellcheck scripts/*.sh tests/*.sh .ci/run || true

	# DKMS, as a user would install the package; leftovers of an earlier
	# run are removed first so that a failed run does not poison the next.
	if [ -f dkms.conf ]; then
		name=$(sed -n 's/^PACKAGE_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' dkms.conf)
		ver=$(sed -n 's/^PACKAGE_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' dkms.conf)
		# Every version, in case PACKAGE_VERSION changed since that run.
		dkms_clean() {
			local v
			for v in $(find "/var/lib/dkms/$name" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null) "$ver"; do
				dkms remove -m "$name" -v "$v" --all >/dev/null 2>&1 || true
				rm -rf "/usr/src/$name-$v" "/var/lib/dkms/$name/$v"
			done
		}
		dkms_clean
		mkdir -p "/usr/src/$name-$ver"
		tar -C "$top" --exclude=./.git --exclude=./build -cf - . | tar -C "/usr/src/$name-$ver" -xf -
		if step all "dkms add $name/$ver" dkms-add dkms add -m "$name" -v "$ver"; then
			for k in "$k61" "$k612"; do
				if step "$(label "$k")" "dkms build on $k" "dkms-build-$k" dkms build -m "$name" -v "$ver" -k "$k"; then
					step "$(label "$k")" "dkms install on $k" "dkms-install-$k" dkms install -m "$name" -v "$ver" -k "$k" || true
				fi
			done
			step all "dkms remove --all" dkms-remove dkms remove -m "$name" -v "$ver" --all || true
		fi
		dkms_clean
		# The same inside the Debian 13 root, for its kernel.
		if [ -n "$d13" ]; then
			rm -rf "$d13/root/usr/src/$name-$ver" "$d13/root/var/lib/dkms/$name"
			mkdir -p "$d13/root/usr/src/$name-$ver"
			tar -C "$top" --exclude=./.git --exclude=./build -cf - . | tar -C "$d13/root/usr/src/$name-$ver" -xf -
			step 7.x "dkms add, build, install and remove on $rel7" dkms-7 \
				scripts/debian13-run.sh "$d13" sh -c "dkms add -m $name -v $ver &&
					dkms build -m $name -v $ver -k $rel7 &&
					dkms install -m $name -v $ver -k $rel7 &&
					dkms remove -m $name -v $ver --all" || true
			rm -rf "$d13/root/usr/src/$name-$ver" "$d13/root/var/lib/dkms/$name"
		fi
	else
		record all FAIL "dkms.conf present"
	fi
fi

# --- tests in QEMU ---------------------------------------------------------
if [ -n "$testbins" ]; then
	vmtests=(--tests build/tests --skip gmem_demo)
else
	vmtests=(--cmd true)
fi
# vm GROUP KVER MODULES-TREE KERNEL THP-MODES [vm-run args]
vm() {
	local group=$1 kver=$2 mods=$3 kernel=$4 modes=$5 out=$logs/vm-$1 start
	shift 5
	say "== VM $group ($kver)"
	if [ ! -f "$mods/gmem.ko" ]; then
		record "$group" FAIL "VM run (no modules built)"
		return
	fi
	start=$(date +%s)
	scripts/vm-run.sh --kernel "$kernel" --modules-tree "$mods" --kver "$kver" \
		--out "$out" --thp "$modes" "${vmtests[@]}" "$@" >"$logs/vm-$group.log" 2>&1 || true
	if [ -f "$out/results" ]; then
		while read -r res name; do
			record "$group" "$res" "$name"
		done <"$out/results"
	else
		record "$group" FAIL "VM run (see $logs/vm-$group.log)"
		tail -n 15 "$logs/vm-$group.log" | sed 's/^/     | /' | tee -a "$logs/check.log"
	fi
	echo "$(($(date +%s) - start)) $(sed -n 's/^boot_to_init_s //p' "$out/summary" 2>/dev/null)" >"$logs/vm-$group.time"
}
for k in "$k61" "$k612"; do
	if want "$(label "$k")"; then
		vm "$(label "$k")" "$k" "build/$k" "/boot/vmlinuz-$k" "$thp" --kernel-modules-dir "/lib/modules/$k"
	fi
done
if want 7.x; then
	if [ -n "$d13" ]; then
		# The IOMMU lane: q35 and intel-iommu in strict mode, so every
		# host page gmem hands the devices is an IOVA they translate.
		vm 7.x "$rel7" "build/$rel7" "$d13/vmlinuz" "$thp" --iommu \
			--kernel-modules-dir "$d13/modules/lib/modules/$rel7"
	else
		record 7.x FAIL "VM run (no modules for the 7.x kernel)"
	fi
fi
if want debug; then
	if [ -n "$dtree" ]; then
		# KASAN, lockdep and kmemleak make the debug guest several times slower.
		vm debug "$drel" "build/$drel" "$dtree/vmlinux" always --timeout 2400 --test-timeout 1200 \
			--kernel-modules-dir "${dtree%/*}/install/lib/modules/$drel"
	else
		record debug FAIL "VM run (no debug kernel)"
	fi
fi

# --- report ----------------------------------------------------------------
say ""
say "$(printf '%-6s %7s %7s %8s %13s %8s' kernel passed failed skipped boot-to-init vm-time)"
for g in all 6.1 6.12 7.x debug; do
	grep -q "^[A-Z]* \[$g\]" "$results" || continue
	p=$(grep -c "^PASS \[$g\]" "$results" || true)
	f=$(grep -c "^FAIL \[$g\]" "$results" || true)
	s=$(grep -c "^SKIP \[$g\]" "$results" || true)
	read -r vmt boot 2>/dev/null <"$logs/vm-$g.time" || vmt='' boot=''
	say "$(printf '%-6s %7s %7s %8s %13s %8s' "$g" "$p" "$f" "$s" "${boot:+${boot} s}" "${vmt:+${vmt} s}")"
done
passed=$(grep -c '^PASS' "$results" || true)
failed=$(grep -c '^FAIL' "$results" || true)
skipped=$(grep -c '^SKIP' "$results" || true)
if [ "$failed" != 0 ]; then
	say ""
	say "failed:"
	grep '^FAIL' "$results" | sed 's/^FAIL /  /' | tee -a "$logs/check.log"
fi
say "skipped: $skipped; total time $(($(date +%s) - t0)) s; logs in $logs"
say "$passed passed, $failed failed"
[ "$failed" = 0 ]
