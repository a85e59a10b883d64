# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree build of gmem.ko and gmem_fake.ko, one output tree per kernel.
#
#   make                      the running kernel if its headers are installed,
#                             else every kernel under /lib/modules/*/build
#   make KVER=6.1.0-56-amd64  one installed kernel
#   make KDIR=/path/to/tree   a configured and built kernel tree
#   make C=2 W=1 ...          passed on to kbuild (sparse, extra warnings)
#   make tests                the user-space tests (static, for the VM)
#   make clean
#
# Modules for kernel release R land in build/R/{gmem,gmem_fake}.ko.

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

ifneq ($(KDIR),)
KTREES := $(abspath $(KDIR))
else ifneq ($(KVER),)
KTREES := /lib/modules/$(KVER)/build
else ifneq ($(wildcard /lib/modules/$(shell uname -r)/build),)
KTREES := /lib/modules/$(shell uname -r)/build
else
KTREES := $(wildcard /lib/modules/*/build)
endif

KBUILD_ARGS := $(if $(C),C=$(C)) $(if $(W),W=$(W)) $(if $(V),V=$(V))

.PHONY: all modules tests clean

all: modules

modules:
	@test -n "$(KTREES)" || { echo "no kernel headers found: install linux-headers-\$$(uname -r) or pass KVER=/KDIR=" >&2; exit 1; }
	@set -e; for k in $(KTREES); do \
		$(TOP)/scripts/build-modules.sh "$$k" $(KBUILD_ARGS); \
	done

tests:
	$(MAKE) -C $(TOP)/tests

clean:
	rm -rf $(TOP)/build
