#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Build the debug 6.12 test kernel (KASAN, lockdep, kmemleak, ...) from
# Debian's linux-source-6.12 with scripts/debug-kernel.config, in a cache
# outside the repo. The last line printed is the kernel tree, to be used as
# `make KDIR=<tree>`; its in-tree modules are installed beside it, in
# <tree>/../install/lib/modules/<release>, for scripts/vm-run.sh.
#
# usage: build-debug-kernel.sh        (GMEM_CACHE overrides /var/cache/gmem)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
frag=$top/scripts/debug-kernel.config
srcpkg=linux-source-6.12
tarball=/usr/src/$srcpkg.tar.xz

pkgver=$(dpkg-query -W -f='${Version}' "$srcpkg") || {
	echo "build-debug-kernel: $srcpkg is not installed (run scripts/install-deps.sh)" >&2
	exit 1
}
# Anything that changes the result changes the key, so stale trees are never reused.
key=$({ cat "$frag" "$0"; echo "$pkgver"; } | sha256sum | cut -c1-16)
dir=${GMEM_CACHE:-/var/cache/gmem}/debug-kernel/$key
tree=$dir/$srcpkg

mkdir -p "$dir"
# Two concurrent checks must not build into the same tree.
exec 9>"$dir/.lock"
flock 9

if [ -f "$dir/.built" ]; then
	echo "debug kernel: cached"
	echo "$tree"
	exit 0
fi

start=$(date +%s)

# Each stage is atomic or restartable, so an interrupted run resumes safely.
if [ ! -d "$tree" ]; then
	echo "debug kernel: extracting $tarball"
	rm -rf "$dir/extract"
	mkdir "$dir/extract"
	tar -C "$dir/extract" -xf "$tarball"
	# gmem allocates device memory with the kernel's GPU buddy allocator.
	# GPU_BUDDY is a hidden bool that only DRM_BUDDY selects, and DRM would
	# add minutes to the build, so give it a prompt in this test tree only.
	perl -0pi -e 's/^config GPU_BUDDY\n\s*bool\n/config GPU_BUDDY\n\tbool "GPU buddy allocator (prompt added by gmem)"\n/m' \
		"$dir/extract/$srcpkg/drivers/gpu/Kconfig"
	grep -q 'bool "GPU buddy allocator' "$dir/extract/$srcpkg/drivers/gpu/Kconfig" || {
		echo "build-debug-kernel: could not add a prompt to GPU_BUDDY in drivers/gpu/Kconfig" >&2
		exit 1
	}
	mv "$dir/extract/$srcpkg" "$tree"
	rmdir "$dir/extract"
fi

cd "$tree"
if [ ! -f "$dir/.configured" ]; then
	echo "debug kernel: configuring"
	make -s tinyconfig
	scripts/kconfig/merge_config.sh -m .config "$frag" >/dev/null
	make -s olddefconfig
	# olddefconfig silently drops what it cannot satisfy: check every line.
	missing=0
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			grep -qxF "$line" .config || {
				echo "build-debug-kernel: wanted '$line', got '$(grep "^${line%%=*}=" .config || echo unset)'" >&2
				missing=1
			}
			;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }
			sym=${sym%% *}
			! grep -q "^$sym=" .config || {
				echo "build-debug-kernel: wanted $sym unset, got '$(grep "^$sym=" .config)'" >&2
				missing=1
			}
			;;
		esac
	done <"$frag"
	[ "$missing" = 0 ] || exit 1
	touch "$dir/.configured"
fi

echo "debug kernel: building in $tree"
make -j"$(nproc)" vmlinux bzImage modules
rm -rf "$dir/install"
make -s INSTALL_MOD_PATH="$dir/install" modules_install
touch "$dir/.built"
# Trees of older keys are dead weight (about 2 GiB each); skip busy ones.
for old in "${dir%/*}"/*/; do
	old=${old%/}
	[ "$old" != "$dir" ] || continue
	flock -n "$old/.lock" rm -rf "$old" || true
done
echo "debug kernel: built $(cat include/config/kernel.release) in $(($(date +%s) - start)) s"
echo "$tree"
