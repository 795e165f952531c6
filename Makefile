# Thin wrapper around meson/ninja.  Every target installs what it needs.

BUILDDIR ?= build
MESON_OPTS ?=

.PHONY: all deps build check install demo bench clean asan

all: build

deps:
	@scripts/install-deps.sh

$(BUILDDIR)/build.ninja:
	@scripts/install-deps.sh build
	meson setup $(BUILDDIR) $(MESON_OPTS)

build: $(BUILDDIR)/build.ninja
	ninja -C $(BUILDDIR)

check: deps build
	tests/run-tests.sh $(BUILDDIR)

install: build
	meson install -C $(BUILDDIR) --no-rebuild
	ldconfig || true

demo: deps install
	scripts/demo.sh

bench: deps build
	bench/run.sh $(BUILDDIR)

clean:
	rm -rf $(BUILDDIR) build-asan
