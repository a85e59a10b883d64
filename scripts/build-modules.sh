#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Build gmem.ko and gmem_fake.ko for one kernel tree (headers or full build).
# usage: build-modules.sh KDIR [kbuild args...]
#
# Kbuild writes objects next to the sources of an external module, so each
# kernel gets its own copy of the tree under build/<release>/; copying only
# files that changed keeps incremental builds incremental.
set -eu

kdir=$1
shift
top=$(cd "$(dirname "$0")/.." && pwd)

# The release modules are built for (vermagic), not include/config/
# kernel.release, which Debian's 6.1 headers fill with the upstream version.
release=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' \
	"$kdir/include/generated/utsrelease.h" 2>/dev/null)
if [ -z "$release" ]; then
	echo "build-modules: $kdir is not a configured kernel tree" >&2
	exit 1
fi
out=$top/build/$release
mkdir -p "$out"
cp -ru "$top/Kbuild" "$top/src" "$top/include" "$out/"

"$top/scripts/conftest.sh" "$kdir" "$out/gm_conftest.h"
make -C "$kdir" M="$out" "$@" modules
echo "built $out/gmem.ko $out/gmem_fake.ko"
