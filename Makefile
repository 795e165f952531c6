# SPDX-License-Identifier: BSD-3-Clause
# Thin wrapper around meson/ninja.  Every target installs what it needs.

BUILDDIR ?= build
MESON_OPTS ?=
# make install PREFIX=/some/dir: install everything under that prefix
# (the plugin too, see meson.build).  Empty: meson's default, /usr/local.
PREFIX ?=
DESTDIR ?=

.PHONY: all deps build check install uninstall demo bench clean asan deb check-deb vddk-distrib fuzz fuzz-merge tsan crash-loop fault-loop remote-chaos

all: build

deps:
	@scripts/install-deps.sh

$(BUILDDIR)/build.ninja:
	@scripts/install-deps.sh build
	meson setup $(BUILDDIR) $(MESON_OPTS) $(if $(PREFIX),-Dprefix=$(abspath $(PREFIX)))

build: $(BUILDDIR)/build.ninja
	$(if $(PREFIX),meson configure $(BUILDDIR) -Dprefix=$(abspath $(PREFIX)))
	ninja -C $(BUILDDIR)

ASAN_BUILDDIR ?= build-asan

$(ASAN_BUILDDIR)/build.ninja:
	@scripts/install-deps.sh build
	meson setup $(ASAN_BUILDDIR) -Dbuildtype=debug \
	  -Db_sanitize=address,undefined -Db_lundef=false

asan: $(ASAN_BUILDDIR)/build.ninja
	ninja -C $(ASAN_BUILDDIR)

# ThreadSanitizer: the library, the plugin and the test drivers
# (tests/test-tsan.sh).  -O1 keeps it quick enough for make check.
TSAN_BUILDDIR ?= build-tsan

$(TSAN_BUILDDIR)/build.ninja:
	@scripts/install-deps.sh build
	meson setup $(TSAN_BUILDDIR) -Dbuildtype=debug -Doptimization=1 \
	  -Db_sanitize=thread -Db_lundef=false

tsan: $(TSAN_BUILDDIR)/build.ninja
	ninja -C $(TSAN_BUILDDIR)

check: deps build asan tsan
	ASAN_BUILDDIR=$(CURDIR)/$(ASAN_BUILDDIR) \
	TSAN_BUILDDIR=$(CURDIR)/$(TSAN_BUILDDIR) tests/run-tests.sh $(BUILDDIR)

# The crash and fault loops at length (make check runs them briefly):
# SIGKILL during random writes, CRASH_ITERATIONS times per format; and
# a failure at every write, sync, truncation and allocation call.
CRASH_ITERATIONS ?= 100

crash-loop: deps build
	CRASH_ITERATIONS=$(CRASH_ITERATIONS) TEST_TIMEOUT=14400 \
	  tests/run-tests.sh $(BUILDDIR) test-crash-loop.sh

fault-loop: deps build
	FAULT_ALL=1 TEST_TIMEOUT=14400 tests/run-tests.sh $(BUILDDIR) test-fault-inject.sh

# Remote reads under random network and server faults, CHAOS_ITERATIONS
# runs from CHAOS_SEED (make check runs 12 from seed 1); half of them
# with the AddressSanitizer build of the library.
CHAOS_ITERATIONS ?= 200
CHAOS_SEED ?= $(shell date +%s)

remote-chaos: deps build asan
	ASAN_BUILDDIR=$(CURDIR)/$(ASAN_BUILDDIR) CHAOS_ITERATIONS=$(CHAOS_ITERATIONS) \
	  CHAOS_SEED=$(CHAOS_SEED) TEST_TIMEOUT=14400 \
	  tests/run-tests.sh $(BUILDDIR) test-remote-chaos.sh

# libFuzzer targets (tests/fuzz), built with clang, AddressSanitizer and
# UBSan; each runs for FUZZ_SECONDS from the committed corpus.  make check
# needs none of this: it replays the corpus with the normal builds.
FUZZ_BUILDDIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
FUZZ_CC ?= clang-14

$(FUZZ_BUILDDIR)/build.ninja:
	@scripts/install-deps.sh fuzz
	CC=$(FUZZ_CC) meson setup $(FUZZ_BUILDDIR) -Dfuzz=true \
	  -Dbuildtype=debugoptimized -Db_sanitize=address,undefined \
	  -Db_lundef=false

fuzz: $(FUZZ_BUILDDIR)/build.ninja
	ninja -C $(FUZZ_BUILDDIR)
	scripts/fuzz.sh run $(FUZZ_BUILDDIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Minimize the corpus and what the runs found back into tests/fuzz/corpus.
fuzz-merge: $(FUZZ_BUILDDIR)/build.ninja
	ninja -C $(FUZZ_BUILDDIR)
	scripts/fuzz.sh merge $(FUZZ_BUILDDIR) $(FUZZ_TARGETS)

# As an ordinary user: says what to do (sudo, DESTDIR= or PREFIX=)
# before touching anything.  See scripts/install.sh.
install: build
	DESTDIR="$(DESTDIR)" scripts/install.sh install $(BUILDDIR)

# Removes what the last "make install" from this build tree installed
# (meson's install log), with the DESTDIR it had.
uninstall:
	DESTDIR="$(DESTDIR)" scripts/install.sh uninstall $(BUILDDIR)

demo: deps install
	scripts/demo.sh

bench: build
	@scripts/install-deps.sh bench
	bench/run.sh $(BUILDDIR)

# Debian packages (debian/), built from a copy of the tree in
# $(DEB_BUILDDIR) and checked with lintian; the .deb files land there.
# Only this target installs the packaging tools (debhelper, lintian).
DEB_BUILDDIR ?= build-deb

deb:
	@scripts/install-deps.sh deb
	scripts/build-deb.sh $(DEB_BUILDDIR)

# tests/test-deb.sh: build, lintian, install, serve, compile, purge.  Not
# part of "make check": it installs and removes system packages.
check-deb: deps build
	@scripts/install-deps.sh deb
	DEB_TEST=1 tests/run-tests.sh $(BUILDDIR) test-deb.sh

# vmware-vix-disklib-distrib/ and its tarball, for CDI and Forklift
# (docs/cdi-forklift.md).
DISTRIB_DIR ?= $(BUILDDIR)/vddk-distrib

vddk-distrib: build
	scripts/vddk-distrib.sh $(BUILDDIR) $(DISTRIB_DIR)

clean:
	rm -rf $(BUILDDIR) $(ASAN_BUILDDIR) $(TSAN_BUILDDIR) $(FUZZ_BUILDDIR) $(DEB_BUILDDIR)
