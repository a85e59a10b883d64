#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run the kernel's HMM selftest, hmm-tests (built by tests/Makefile from
# linux-source-6.12 into bin/ beside this script), against the
# /dev/hmm_dmirror0..3 devices of gmem_fake.ko dmirror=1, and report
# kselftest TAP. Installed as build/tests/hmm_tests; the VM runs it with no
# arguments under busybox sh.
#
# Devices 0-1 are device-private, 2-3 device-coherent. Device-private
# memory needs CONFIG_DEVICE_PRIVATE, which Debian's kernels do not set;
# gmem_fake reports whether it has it in
# /sys/module/gmem_fake/parameters/dmirror_private:
#   Y  hmm-tests runs whole; its output and exit status are passed through.
#   N  only the device-coherent variants run. Their exclusive-access tests
#      need make_device_exclusive_range(), which such kernels do not export
#      (gmem_fake then fails HMM_DMIRROR_EXCLUSIVE with EOPNOTSUPP): those
#      run separately as expected failures, reported as skips, and an
#      unexpected pass as a failure.
# Without /dev/hmm_dmirror0 everything is skipped (exit status 4).
#
# Environment:
#   HMM_TESTS_PRIVATE=Y|N  overrides the sysfs file, e.g. to drive the
#                          wrapper with the kernel's own lib/test_hmm.ko
#   HMM_TESTS_BIN=PATH     the hmm-tests binary (default: bin/hmm-tests
#                          beside this script)
#
# Exit status: 0 passed, 1 failed, 4 nothing to test (kselftest's skip).

param=/sys/module/gmem_fake/parameters/dmirror_private
bin=${HMM_TESTS_BIN:-$(dirname "$0")/bin/hmm-tests}

# Tests that need make_device_exclusive_range() (fixture hmm).
exclusive="exclusive exclusive_mprotect exclusive_cow"

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

if [ -n "${HMM_TESTS_PRIVATE:-}" ]; then
	private=$HMM_TESTS_PRIVATE
	from="HMM_TESTS_PRIVATE"
elif [ -r "$param" ]; then
	private=$(cat "$param")
	from=$param
else
	# The devices come from another driver: the kernel's lib/test_hmm.ko,
	# which only builds with CONFIG_DEVICE_PRIVATE.
	private=Y
	from="no gmem_fake dmirror_private parameter, so another dmirror driver"
fi

# anon_write_hugetlbfs and compound need free huge pages, and the guest
# boots with none reserved: without them the two tests only skip.
hugepages=/proc/sys/vm/nr_hugepages
if [ -w "$hugepages" ] && [ "$(cat "$hugepages")" -lt 8 ]; then
	echo 8 >"$hugepages"
fi

case $private in
Y)
	echo "# hmm_tests: device-private memory available ($from): every variant"
	# One stream, as in the other mode: hmm-tests reports some errors on stderr.
	exec "$bin" 2>&1
	;;
N) ;;
*) broken "dmirror_private is '$private' ($from), not Y or N" ;;
esac

# The harness's filters are tried in command-line order and the first one
# that names a test decides: the -T exclusions must come before the -v
# inclusions, or the coherent variants' exclusive tests would run too.
run1='' run2=''
for t in $exclusive; do
	run1="$run1-T $t "
	run2="$run2-r hmm.hmm_device_coherent.$t "
done
run1="$run1-v hmm_device_coherent -v hmm2_device_coherent"
run2=${run2% }

echo "TAP version 13"
echo "# hmm_tests: no device-private memory ($from): coherent variants only"
# Both runs feed one awk, which renumbers their results into one TAP
# stream, translates the second run, and judges. A marker line after each
# run carries its exit status, which a pipeline would otherwise lose.
{
	echo "@@hmm_tests run 1 $bin $run1"
	# shellcheck disable=SC2086 # one word per option or test name
	"$bin" $run1 2>&1 </dev/null
	echo "@@hmm_tests exit 1 $?"
	echo "@@hmm_tests run 2 $bin $run2"
	# shellcheck disable=SC2086 # one word per option or test name
	"$bin" $run2 2>&1 </dev/null
	echo "@@hmm_tests exit 2 $?"
} | awk -v nexcl="$(echo "$exclusive" | wc -w)" '
	function emit(line) { print line; fflush() }
	function result(ok, rest) { n++; emit((ok ? "ok " : "not ok ") n " " rest) }
	BEGIN {
		result(1, "hmm_device_private and hmm2_device_private variants # SKIP kernel has no CONFIG_DEVICE_PRIVATE")
		skip++
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
			result(0, "hmm-tests run 1: no test matched the coherent variants")
			fail++
		}
		# Run 2 fails on purpose: 1 is its normal status.
		if (run == 2 && status != 0 && status != 1) {
			result(0, "hmm-tests run 2: exit status " status)
			fail++
		}
		if (run == 2 && got != nexcl) {
			result(0, "hmm-tests run 2: " got " of " nexcl " exclusive tests reported")
			fail++
		}
		run = 0
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
			else if (rest ~ / # XFAIL/) xfail++
			else if (rest ~ / # XPASS/) xpass++
			else pass++
			result(!bad, rest)
			next
		}
		name = rest
		sub(/ # .*/, "", name)
		if (bad) {
			skip++
			result(1, name " # SKIP expected failure: make_device_exclusive_range is not exported by this kernel (no CONFIG_DEVICE_PRIVATE)")
		} else if (rest ~ / # SKIP/) {
			skip++
			result(1, rest)
		} else {
			fail++
			result(0, name " # unexpectedly passed")
		}
		next
	}
	{ emit("# " $0) }
	END {
		emit("1.." n)
		emit("# Totals: pass:" pass+0 " fail:" fail+0 " xfail:" xfail+0 " xpass:" xpass+0 " skip:" skip+0 " error:0")
		exit fail ? 1 : 0
	}
'
