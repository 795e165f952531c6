#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# "make install" and "make uninstall".
#   scripts/install.sh install BUILDDIR
#   scripts/install.sh uninstall BUILDDIR
# DESTDIR (environment) stages the install under another root, as usual.
#
# install: check first that every directory it would write to is
# writable, so that an ordinary user gets a sentence saying what to do
# instead of meson's traceback halfway through; then meson install.
#
# uninstall: meson has no uninstall.  meson install writes the list of
# what it installed - files, links and the directories it had to create -
# to BUILDDIR/meson-logs/install-log.txt (with DESTDIR included), so
# uninstall removes exactly that: the files and links of the last
# "make install" from this build tree, then those directories if they
# are empty.
set -euo pipefail

action=${1:?usage: install.sh install|uninstall BUILDDIR}
builddir=${2:?usage: install.sh install|uninstall BUILDDIR}
log=$builddir/meson-logs/install-log.txt
destdir=${DESTDIR:-}

# The nearest directory at or above PATH that exists.
existing_parent ()
{
  local p=$1
  while [ ! -e "$p" ] && [ "$p" != / ]; do p=$(dirname "$p"); done
  echo "$p"
}

# refuse DIR: say what to do when DIR cannot be written, and exit.
refuse ()
{
  local what=$1 dir=$2
  {
    echo "make $what: cannot write to $dir (you are $(id -un), not root)."
    echo "Either:"
    echo "  sudo make $what                          # system-wide, as root"
    echo "  make $what DESTDIR=/tmp/stage            # staged under another root"
    echo "  make $what PREFIX=\$HOME/.local           # everything under a prefix you own"
    if [ "$what" = install ]; then
      echo "With PREFIX the plugin is installed under the prefix too: run it as"
      echo "  nbdkit PREFIX/lib/<arch>/nbdkit/plugins/nbdkit-vddk-plugin.so ..."
    fi
  } >&2
  exit 1
}

# check_writable WHAT PATH...: every PATH (a destination) must be
# creatable: its nearest existing parent must be a writable directory.
check_writable ()
{
  local what=$1 p dir
  shift
  for p in "$@"; do
    dir=$(existing_parent "$(dirname "$p")")
    if [ ! -d "$dir" ] || [ ! -w "$dir" ]; then
      refuse "$what" "$dir"
    fi
  done
}

# owned_by PATH: the Debian package that owns PATH, if any.  (Only for a
# real install: a staged one cannot clash with the package manager.)
owned_by ()
{
  [ -z "$destdir" ] || return 1
  command -v dpkg-query >/dev/null || return 1
  dpkg-query -S "$1" 2>/dev/null | sed -n 's/: .*//p' | head -n 1 | grep .
}

case $action in
install)
  [ -f "$builddir/build.ninja" ] || { echo "make install: $builddir is not configured (run make)" >&2; exit 1; }
  mapfile -t dests < <(meson introspect --installed "$builddir" |
    python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin).values()))')
  targets=()
  for d in "${dests[@]}"; do targets+=("$destdir$d"); done
  check_writable install "${targets[@]}"
  for t in "${targets[@]}"; do
    if [ -e "$t" ] && pkg=$(owned_by "$t"); then
      echo "make install: $t belongs to the Debian package $pkg;" >&2
      echo "remove that package first (apt-get remove $pkg), or install elsewhere with PREFIX= or DESTDIR=." >&2
      exit 1
    fi
  done
  exec meson install -C "$builddir" --no-rebuild
  ;;

uninstall)
  if [ ! -f "$log" ]; then
    echo "make uninstall: $log not found: nothing was installed from $builddir" >&2
    echo "(uninstall removes what the last \"make install\" from this build tree installed)" >&2
    exit 1
  fi
  mapfile -t entries < <(grep -v '^#' "$log" | sed '/^$/d')
  files=() dirs=()
  for e in "${entries[@]}"; do
    if [ -d "$e" ] && [ ! -L "$e" ]; then dirs+=("$e"); else files+=("$e"); fi
  done
  [ ${#files[@]} -gt 0 ] && check_writable uninstall "${files[@]}"
  for f in "${files[@]}"; do
    if pkg=$(owned_by "$f"); then
      echo "Kept $f: it now belongs to the Debian package $pkg"
      continue
    fi
    if [ -e "$f" ] || [ -L "$f" ]; then
      rm -f -- "$f"
      echo "Removed $f"
    fi
  done
  # Deepest first, so that a directory is empty once its children are gone.
  if [ ${#dirs[@]} -gt 0 ]; then
    printf '%s\n' "${dirs[@]}" | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2- |
    while IFS= read -r d; do
      rmdir -- "$d" 2>/dev/null && echo "Removed $d/" || true
    done
  fi
  ;;

*)
  echo "usage: install.sh install|uninstall BUILDDIR" >&2
  exit 2
  ;;
esac
