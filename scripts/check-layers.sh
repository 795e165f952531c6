#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Check that lib/ is built in layers: no file includes the header of a
# file in a higher layer (docs/architecture.md).  Calls that go upward
# without an include are checked on the objects by check-calls.py.
#
# Usage: scripts/check-layers.sh [SRCDIR]
#   SRCDIR   the source tree (default: the one this script is in)
# Exits 1, listing FILE:LINE and the include, when a file includes a
# header of a higher layer, or when a file of lib/ has no layer.
set -euo pipefail

# The layers, top to bottom, one folder of lib/ each: a file in
# lib/LAYER/ belongs to LAYER, a file directly in lib/ to none (an
# error).  A file may include the headers of its own layer and of the
# layers below it.  check-calls.py reads this list too.
LAYERS=(
  api      # the VixDiskLib_* entry points and their checks
  ops      # whole-disk operations: create, rebuild, pending
  chain    # a disk's chain of links
  vmdk     # the formats: extents, tables, descriptors, and each
           # kind's check, growth and creation
  io       # stores and files: where the bytes are
  remote   # the vSphere client
  base     # errors, logging, configuration, secrets, cancel
)

srcdir=${1:-$(cd "$(dirname "$0")/.." && pwd)}
lib="$srcdir/lib"
[ -d "$lib" ] || { echo "$0: no lib/ in $srcdir" >&2; exit 2; }

declare -A rank layer_of
for i in "${!LAYERS[@]}"; do rank[${LAYERS[$i]}]=$i; done

# Set $found to the layer of a file, by its path relative to lib/ (""
# if none).
layer () {
  found=""
  if [[ $1 == */* ]] && [ -n "${rank[${1%%/*}]:-}" ]; then
    found=${1%%/*}
  fi
}

status=0
files=()
while IFS= read -r rel; do
  files+=("$rel")
  layer "$rel"
  if [ -z "$found" ]; then
    echo "lib/$rel: no layer (put it in a folder of LAYERS in $0)"
    status=1
  fi
  layer_of[$rel]=$found
done < <(cd "$lib" && find . -name '*.[ch]' | sed 's|^\./||' | LC_ALL=C sort)

# Set $found to the lib/ file an include names, by path suffix ("" if
# not in lib/: public or common headers, allowed everywhere; "?" if
# more than one file matches).
resolve () {
  local inc=$1 rel
  found=""
  while [[ $inc == ./* || $inc == ../* ]]; do inc=${inc#*/}; done
  for rel in "${files[@]}"; do
    if [ "$rel" = "$inc" ] || [[ $rel == */"$inc" ]]; then
      if [ -n "$found" ]; then found="?"; return; fi
      found=$rel
    fi
  done
}

include_re='^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]*)"'
while IFS= read -r hit; do
  rel=${hit%%:*}; hit=${hit#*:}
  line=${hit%%:*}; text=${hit#*:}
  l=${layer_of[$rel]}
  [ -n "$l" ] || continue
  [[ $text =~ $include_re ]] || continue
  resolve "${BASH_REMATCH[1]}"
  if [ "$found" = "?" ]; then
    echo "lib/$rel:$line: $text: more than one file of lib/ has this name"
    status=1
    continue
  fi
  [ -n "$found" ] || continue
  t=${layer_of[$found]}
  [ -n "$t" ] || continue
  if [ "${rank[$t]}" -lt "${rank[$l]}" ]; then
    echo "lib/$rel:$line: $text ($l includes $t)"
    status=1
  fi
done < <(cd "$lib" &&
         { grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' \
             "${files[@]}" || true; })

if [ $status -eq 0 ]; then
  echo "lib/: ${#files[@]} files, no include goes up a layer"
fi
exit $status
