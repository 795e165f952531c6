# Thin wrapper around meson/ninja.  Every target installs what it needs.

BUILDDIR ?= build
MESON_OPTS ?=

.PHONY: all deps build check install demo bench clean asan tsan crash-loop fault-loop

all: build

deps:
	@scripts/install-deps.sh

$(BUILDDIR)/build.ninja:
	@scripts/install-deps.sh build
	meson setup $(BUILDDIR) $(MESON_OPTS)

build: $(BUILDDIR)/build.ninja
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

install: build
	meson install -C $(BUILDDIR) --no-rebuild
	ldconfig || true

demo: deps install
	scripts/demo.sh

bench: deps build
	bench/run.sh $(BUILDDIR)

clean:
	rm -rf $(BUILDDIR) $(ASAN_BUILDDIR) $(TSAN_BUILDDIR)
