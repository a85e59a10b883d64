#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Install (as root, Debian 12) everything gmem's build, tests and VM runs
# need: both Debian 12 kernels with headers, the 6.12 source for the debug
# kernel, QEMU, busybox, DKMS, the lint tools, and mmdebstrap for the Debian
# 13 root of the 7.x lane (scripts/debian13-root.sh). Idempotent; returns at
# once when everything is already there.
set -eu

tools="build-essential bc bison flex libelf-dev libssl-dev cpio kmod perl
	xz-utils zstd gzip openssl dkms sparse shellcheck qemu-system-x86 busybox-static pciutils
	mmdebstrap
	linux-source-6.12 linux-image-amd64 linux-headers-amd64"

installed() {
	for p in "$@"; do
		[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || return 1
	done
}

# A 6.12 kernel counts as present only with its headers.
have_612() {
	for img in $(dpkg-query -W -f='${db:Status-Status} ${Package}\n' 'linux-image-6.12.*+deb12-amd64' 2>/dev/null |
		sed -n 's/^installed //p'); do
		installed "linux-headers-${img#linux-image-}" && return 0
	done
	return 1
}

# shellcheck disable=SC2086 # word splitting of the list is wanted
if installed $tools && have_612; then
	echo "install-deps: all installed"
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# The 6.12 ABI name moves with point releases: take the newest signed
# generic flavour (not -unsigned, -dbg, cloud or rt).
img612=$(apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64$' |
	cut -d' ' -f1 | sort -V | tail -n1)
[ -n "$img612" ] || {
	echo "install-deps: no linux-image-6.12.*+deb12-amd64 in the apt sources" >&2
	exit 1
}
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $tools \
	"$img612" "linux-headers-${img612#linux-image-}"
echo "install-deps: installed $img612"
