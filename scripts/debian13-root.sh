#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The newest stock kernel lane: Debian 13's backports kernel (Linux 7.x).
# Its headers need gcc-14 and Debian 13's kbuild tools, so gmem is built for
# it inside a Debian 13 root made with mmdebstrap from the trixie and
# trixie-backports suites of this machine's Debian mirror.  The root also
# holds the kernel's source package (hmm-tests and lib/test_hmm for this
# lane) and DKMS; the kernel image and its in-tree modules are unpacked
# beside it.  Everything is cached under ${GMEM_CACHE:-/var/cache/gmem},
# keyed by this script and the newest kernel package's name and version, as
# resolved now from the archive.
#
# usage: debian13-root.sh
# The last line printed is the lane's directory:
#   DIR/root                          the Debian 13 root
#   DIR/release                       the kernel release, e.g. 7.3.4+deb13-amd64
#   DIR/vmlinuz                       the kernel image (unsigned)
#   DIR/modules/lib/modules/RELEASE   its in-tree modules
set -eu

cache=${GMEM_CACHE:-/var/cache/gmem}
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

# The mirror this machine's own sources use, else Debian's.
mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\/*\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
	grep -v security | head -n 1)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb \(http[^ ]*debian\/*\) bookworm .*/\1/p' \
	/etc/apt/sources.list 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
mirror=${mirror%/}

# A private apt state for the trixie suites: the host's apt is untouched.
apt=$cache/apt-trixie
mkdir -p "$apt/lists/partial" "$apt/archives/partial"
printf 'deb %s trixie main\ndeb %s trixie-backports main\n' "$mirror" "$mirror" >"$apt/sources.list"
: >>"$apt/status"
aptq() {
	"$@" -o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$apt/lists" -o Dir::State::Status="$apt/status" \
		-o Dir::Cache="$apt" -o Dir::Cache::archives="$apt/archives" \
		-o APT::Get::List-Cleanup=0 -o Acquire::Languages=none
}
aptq apt-get update -qq >/dev/null
rel=$(aptq apt-cache search --names-only '^linux-headers-7\.[0-9.]+\+deb13-amd64$' |
	cut -d' ' -f1 | sed 's/^linux-headers-//' | sort -V | tail -n 1)
[ -n "$rel" ] || {
	echo "debian13-root: no linux-headers-7.*+deb13-amd64 in trixie-backports at $mirror" >&2
	exit 1
}
ver=$(aptq apt-cache show "linux-headers-$rel" | sed -n 's/^Version: //p' | sort -V | tail -n 1)
series=$(echo "$rel" | sed 's/^\([0-9]*\.[0-9]*\).*/\1/')

key=$({ cat "$self"; echo "$rel $ver"; } | sha256sum | cut -c1-16)
dir=$cache/debian13/$key
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if [ -f "$dir/.built" ]; then
	echo "debian13 root: cached ($rel $ver)"
	echo "$dir"
	exit 0
fi

start=$(date +%s)
echo "debian13 root: building for $rel ($ver) from $mirror"
rm -rf "$dir/root.tmp"
mmdebstrap --variant=apt --quiet \
	--include=gcc-14,make,libelf-dev,libc6-dev,ca-certificates,kmod,dkms,xz-utils,linux-headers-"$rel",linux-source-"$series" \
	--components=main trixie "$dir/root.tmp" \
	"deb $mirror trixie main" "deb $mirror trixie-backports main"
# The kernel image and modules, unpacked, never installed.
chroot "$dir/root.tmp" sh -c "cd /tmp && apt-get update -qq && \
	apt-get download -qq linux-binary-unsigned-$rel linux-modules-$rel"
rm -rf "$dir/unpack"
mkdir -p "$dir/unpack"
for deb in "$dir"/root.tmp/tmp/*.deb; do
	dpkg-deb -x "$deb" "$dir/unpack"
done
rm -f "$dir"/root.tmp/tmp/*.deb
rm -rf "$dir/modules"
mkdir -p "$dir/modules/lib/modules"
mv "$dir/unpack/usr/lib/modules/$rel" "$dir/modules/lib/modules/$rel"
find "$dir/unpack" "$dir/modules" -name 'vmlinuz*' -type f -exec mv {} "$dir/vmlinuz" \; -quit
rm -rf "$dir/unpack"
[ -s "$dir/vmlinuz" ] || {
	echo "debian13-root: no kernel image in linux-binary-unsigned-$rel" >&2
	exit 1
}
rm -rf "$dir/root"
mv "$dir/root.tmp" "$dir/root"
echo "$rel" >"$dir/release"
touch "$dir/.built"
echo "debian13 root: built $rel in $(($(date +%s) - start)) s"
echo "$dir"
