#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# make deb: build the Debian packages (debian/) from a copy of this tree
# and check them with lintian.
#   scripts/build-deb.sh OUTDIR
# The packages, .changes and .buildinfo land in OUTDIR; the build itself
# happens in OUTDIR/open-vixdisklib-VERSION (dpkg-buildpackage writes
# its results beside the tree it builds, so the work tree stays clean).
# Installs nothing: the build dependencies must be there already
# (scripts/install-deps.sh deb); dpkg-buildpackage checks them.
# Fails if lintian reports an error; its other tags are printed.
set -euo pipefail

srcdir=$(cd "$(dirname "$0")/.." && pwd)
outdir=${1:?usage: build-deb.sh OUTDIR}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

source=$(sed -n '1s/^\([^ ]*\) .*/\1/p' "$srcdir/debian/changelog")
version=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$srcdir/debian/changelog")
tree=$outdir/$source-$version

# The source as a developer has it: tracked and new files, not what
# .gitignore leaves out (build trees); a copy without git: everything
# but build trees.
rm -rf "$tree"
mkdir -p "$tree"
if git -C "$srcdir" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$srcdir" && git ls-files -z --cached --others --exclude-standard |
     xargs -0 sh -c 'for f; do [ -e "$f" ] || [ -L "$f" ] && printf "%s\0" "$f"; done' sh |
     tar --null -T - -cf -) | tar -C "$tree" -xf -
else
  (cd "$srcdir" && tar --exclude='./build*' --exclude='./obj-*' -cf - .) | tar -C "$tree" -xf -
fi

rm -f "$outdir"/*.deb "$outdir"/*.changes "$outdir"/*.buildinfo
(cd "$tree" && dpkg-buildpackage -us -uc -b)

changes=$outdir/${source}_${version}_$(dpkg --print-architecture).changes
echo
echo "==> lintian $changes"
lintian --fail-on error --display-info --tag-display-limit 0 "$changes"
echo
echo "Packages:"
ls -1 "$outdir"/*.deb
