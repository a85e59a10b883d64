#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run the kernel's HMM selftest, hmm-tests (built by tests/Makefile from
# linux-source-6.12, or from the kernel's own series where its lane built
# one, into bin/ beside this script), against the /dev/hmm_dmirror0..3
# devices of gmem_fake.ko dmirror=1, and report kselftest TAP. Installed as
# build/tests/hmm_tests; the VM runs it with no arguments under busybox sh.
#
# Devices 0-1 are device-private, 2-3 device-coherent. Device-private
# memory needs CONFIG_DEVICE_PRIVATE, which Debian 12's kernels do not set;
# gmem_fake reports whether it has it in
# /sys/module/gmem_fake/parameters/dmirror_private:
#   Y  every variant runs.
#   N  only the device-coherent variants run.
# Tests that cannot pass here run as expected failures (reported as skips
# saying why; an unexpected pass is a failure):
#   - without device-private memory, the exclusive-access tests: their
#     make_device_exclusive() is built with CONFIG_DEVICE_PRIVATE only
#     (gmem_fake fails HMM_DMIRROR_EXCLUSIVE with EOPNOTSUPP);
#   - migrate_anon_huge_fault in the private variant (7.x hmm-tests), which
#     wants the huge page mapped by one device-private PMD, where gmem_fake
#     says its private memory holds no huge pages (dmirror_huge).
# Without /dev/hmm_dmirror0 everything is skipped (exit status 4).
#
# Environment:
#   HMM_TESTS_PRIVATE=Y|N  overrides the sysfs file, e.g. to drive the
#                          wrapper with the kernel's own lib/test_hmm.ko
#                          (then no gmem expected failures apply)
#   HMM_TESTS_BIN=PATH     the hmm-tests binary
#
# Exit status: 0 passed, 1 failed, 4 nothing to test (kselftest's skip).

param=/sys/module/gmem_fake/parameters/dmirror_private
huge=/sys/module/gmem_fake/parameters/dmirror_huge
series=$(uname -r | sed 's/^\([0-9]*\.[0-9]*\).*/\1/')
bin=$(dirname "$0")/bin/hmm-tests
[ ! -x "$bin-$series" ] || bin=$bin-$series
bin=${HMM_TESTS_BIN:-$bin}

# A whole-run verdict in kselftest form, for when hmm-tests cannot run.
broken() {
	printf 'TAP version 13\n1..1\nnot ok 1 hmm-tests # %s\n' "$1"
	echo "# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0"
	exit 1
}

if [ ! -e /dev/hmm_dmirror0 ]; then
	printf 'TAP version 13\n1..0 # SKIP no /dev/hmm_dmirror devices\n'
	exit 4
fi
[ -x "$bin" ] || broken "$bin is missing or not executable"

gmem=1
if [ -n "${HMM_TESTS_PRIVATE:-}" ]; then
	private=$HMM_TESTS_PRIVATE
	from="HMM_TESTS_PRIVATE"
	gmem=''
elif [ -r "$param" ]; then
	private=$(cat "$param")
	from=$param
else
	# The devices come from another driver: the kernel's lib/test_hmm.ko,
	# which only builds with CONFIG_DEVICE_PRIVATE.
	private=Y
	from="no gmem_fake dmirror_private parameter, so another dmirror driver"
	gmem=''
fi

# anon_write_hugetlbfs and compound need free huge pages, and the guest
# boots with none reserved: without them the two tests only skip.
hugepages=/proc/sys/vm/nr_hugepages
if [ -w "$hugepages" ] && [ "$(cat "$hugepages")" -lt 8 ]; then
	echo 8 >"$hugepages"
fi

# Some tests count device faults exactly (anon_write_child,
# anon_write_prot: one), and a page that the kernel migrates or collapses
# between a device fault and the device's access costs a second fault,
# with lib/test_hmm as with gmem.  The soak before this leaves compaction
# busy: compact once now, and keep proactive compaction off while the tests
# run.  Under THP "always", khugepaged may collapse a test's buffer with
# the VMA it merged into (anon_write_prot's, after its mprotect()): it
# sleeps for the run, and what it collapsed meanwhile is reported.
[ ! -w /proc/sys/vm/compact_memory ] || echo 1 >/proc/sys/vm/compact_memory
restore=''
proactive=/proc/sys/vm/compaction_proactiveness
if [ -w "$proactive" ]; then
	restore="echo $(cat "$proactive") >$proactive;"
	echo 0 >"$proactive"
fi
khugepaged=/sys/kernel/mm/transparent_hugepage/khugepaged
collapsed=$(cat "$khugepaged/pages_collapsed" 2>/dev/null || echo 0)
if [ -w "$khugepaged/scan_sleep_millisecs" ]; then
	restore="$restore echo $(cat "$khugepaged/scan_sleep_millisecs") >$khugepaged/scan_sleep_millisecs;"
	echo 3600000 >"$khugepaged/scan_sleep_millisecs"
fi
# shellcheck disable=SC2064 # the values to restore are known now
trap "$restore" EXIT

# The variants that run, and the expected failures among them: lines of
# "fixture.variant.test reason".
# hmm-tests -l prints a table per fixture: its variants and its tests, in
# columns of 20 and 25 characters; every variant runs every test.
tests=$("$bin" -l 2>&1 | awk '
	function flush(i, j) {
		for (i = 1; i <= nv; i++)
			for (j = 1; j <= nt; j++)
				print f "." v[i] "." t[j]
		nv = nt = 0
	}
	/^#/ { next }
	/^---/ { flush(); next }
	{
		name = substr($0, 1, 20); gsub(/ /, "", name)
		var = substr($0, 22, 25); gsub(/ /, "", var)
		test = substr($0, 48); gsub(/ /, "", test)
		if (name != "") f = name
		if (var != "") v[++nv] = var
		if (test != "") t[++nt] = test
	}
	END { flush() }')
has() { printf '%s\n' "$tests" | grep -qx "$1"; }
xfail=''
expect() {
	! has "$1" || xfail="$xfail$1 $2
"
}
case $private in
Y)
	echo "# hmm_tests: device-private memory available ($from): every variant"
	sel=''
	[ -z "$gmem" ] || [ "$(cat "$huge" 2>/dev/null)" = Y ] ||
		expect hmm.hmm_device_private.migrate_anon_huge_fault \
			"this kernel cannot migrate a huge page whole into device-private memory"
	;;
N)
	echo "# hmm_tests: no device-private memory ($from): coherent variants only"
	sel='-v hmm_device_coherent -v hmm2_device_coherent'
	for t in exclusive exclusive_mprotect exclusive_cow; do
		expect "hmm.hmm_device_coherent.$t" \
			"make_device_exclusive() is not built without CONFIG_DEVICE_PRIVATE"
	done
	;;
*) broken "dmirror_private is '$private' ($from), not Y or N" ;;
esac

# The harness tries its filters in command-line order and the first one
# that names a test decides: the -T exclusions of run 1 come before the -v
# inclusions.  -T excludes a test in every variant, so run 2 includes back,
# one by one, every variant of those tests that this run selects.
run1='' run2='' nrun2=0
for name in $(printf '%s' "$xfail" | cut -d' ' -f1 | sed 's/.*\.//' | sort -u); do
	run1="$run1-T $name "
	for full in $(printf '%s\n' "$tests" | grep "\.$name\$"); do
		v=$(echo "$full" | cut -d. -f2)
		[ -z "$sel" ] || case " $sel " in *" $v "*) ;; *) continue ;; esac
		run2="$run2-r $full "
		nrun2=$((nrun2 + 1))
	done
done
run1="$run1$sel"

echo "TAP version 13"
# Both runs feed one awk, which renumbers their results into one TAP
# stream, judges the second run against the expected failures, and gives
# the verdict. A marker line after each run carries its exit status, which
# a pipeline would otherwise lose.
{
	echo "@@hmm_tests run 1 $bin $run1"
	# shellcheck disable=SC2086 # one word per option or test name
	"$bin" $run1 2>&1 </dev/null
	echo "@@hmm_tests exit 1 $?"
	if [ -n "$run2" ]; then
		echo "@@hmm_tests run 2 $bin $run2"
		# shellcheck disable=SC2086
		"$bin" $run2 2>&1 </dev/null
		echo "@@hmm_tests exit 2 $?"
	fi
	now=$(cat "$khugepaged/pages_collapsed" 2>/dev/null || echo 0)
	echo "khugepaged collapsed $((now - collapsed)) huge pages during the runs"
	printf '%s' "$xfail" | sed 's/^/@@hmm_tests xfail /'
} | awk -v nrun2="$nrun2" -v private="$private" '
	function emit(line) { print line; fflush() }
	function result(ok, rest) { n++; emit((ok ? "ok " : "not ok ") n " " rest) }
	BEGIN {
		if (private != "Y") {
			result(1, "hmm_device_private and hmm2_device_private variants # SKIP kernel has no CONFIG_DEVICE_PRIVATE")
			skip++
		}
	}
	/^@@hmm_tests run / {
		run = $3; got = failed = 0
		sub(/^@@hmm_tests run [0-9]+ /, "")
		emit("# run " run ": " $0)
		next
	}
	/^@@hmm_tests exit / {
		status = $4
		emit("# run " run ": exit status " status)
		if (run == 1 && status != 0 && !failed) {
			result(0, "hmm-tests run 1: exit status " status " without a failed test")
			fail++
		}
		if (run == 1 && !got) {
			result(0, "hmm-tests run 1: no test ran")
			fail++
		}
		if (run == 2 && status != 0 && status != 1) {
			result(0, "hmm-tests run 2: exit status " status)
			fail++
		}
		if (run == 2 && got != nrun2) {
			result(0, "hmm-tests run 2: " got " of " nrun2 " tests reported")
			fail++
		}
		run = 0
		next
	}
	/^@@hmm_tests xfail / {
		why[$3] = $0
		sub(/^@@hmm_tests xfail [^ ]+ /, "", why[$3])
		next
	}
	run && /^(not )?ok [0-9]+ / {
		got++
		bad = /^not /
		rest = $0
		sub(/^(not )?ok [0-9]+ /, "", rest)
		if (run == 1) {
			if (bad) { fail++; failed = 1 }
			else if (rest ~ / # SKIP/) skip++
			else pass++
			result(!bad, rest)
			next
		}
		# Run 2: judged once the reasons are known.
		r2[++nr2] = rest
		r2bad[nr2] = bad
		next
	}
	{ emit("# " $0) }
	END {
		for (i = 1; i <= nr2; i++) {
			name = r2[i]
			sub(/ # .*/, "", name)
			if (name in why) {
				if (r2bad[i]) {
					skip++
					result(1, name " # SKIP expected failure: " why[name])
				} else {
					fail++
					result(0, name " # unexpectedly passed")
				}
			} else if (r2bad[i]) {
				fail++
				result(0, r2[i])
			} else {
				if (r2[i] ~ / # SKIP/) skip++; else pass++
				result(1, r2[i])
			}
		}
		emit("1.." n)
		emit("# Totals: pass:" pass+0 " fail:" fail+0 " xfail:0 xpass:0 skip:" skip+0 " error:0")
		exit fail ? 1 : 0
	}
'
