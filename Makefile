# Thin wrapper around meson/ninja.  Every target installs what it needs.

BUILDDIR ?= build
MESON_OPTS ?=

.PHONY: all deps build check install demo bench clean asan fuzz fuzz-merge

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

check: deps build asan
	ASAN_BUILDDIR=$(CURDIR)/$(ASAN_BUILDDIR) tests/run-tests.sh $(BUILDDIR)

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

install: build
	meson install -C $(BUILDDIR) --no-rebuild
	ldconfig || true

demo: deps install
	scripts/demo.sh

bench: deps build
	bench/run.sh $(BUILDDIR)

clean:
	rm -rf $(BUILDDIR) $(ASAN_BUILDDIR) $(FUZZ_BUILDDIR)
