#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run a command inside the Debian 13 root of scripts/debian13-root.sh, with
# this source tree at the same path as outside, so that what it builds lands
# in this tree's build/.  The mounts live in a private mount namespace and
# go with it.
#
# usage: debian13-run.sh LANE-DIR COMMAND...
set -eu

dir=$1
shift
top=$(cd "$(dirname "$0")/.." && pwd)
root=$dir/root
[ -d "$root/usr" ] || {
	echo "debian13-run: no Debian 13 root in $dir" >&2
	exit 1
}
mkdir -p "$root$top" "$root/proc" "$root/dev" "$root/var/lib/dkms" "$root/usr/src"
# shellcheck disable=SC2016 # expanded by the inner shell
exec unshare --mount --propagation private sh -c '
	set -e
	root=$1 top=$2
	shift 2
	mount --bind /dev "$root/dev"
	mount -t proc proc "$root/proc"
	mount --bind "$top" "$root$top"
	cd "$root$top"
	exec chroot "$root" /usr/bin/env PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root sh -c "cd \"\$0\" && exec \"\$@\"" "$top" "$@"
' debian13-run "$root" "$top" "$@"
