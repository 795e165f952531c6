#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Check that lib/ is built in layers: no file includes the header of a
# file in a higher layer (docs/architecture.md).  Calls that go upward
# without an include are checked on the objects by check-calls.py.
#
# Usage: scripts/check-layers.sh [--all] [SRCDIR]
#   SRCDIR   the source tree (default: the one this script is in)
#   --all    also list the known violations (KNOWN below) as failures
# Exits 1, listing FILE:LINE and the include, when a file includes a
# header of a higher layer, or when a file of lib/ has no layer.
set -euo pipefail

# The layers, top to bottom.  A file may include the headers of its own
# layer and of the layers below it.
LAYERS=(api ops chain vmdk io remote base)

# A file in lib/FOLDER/ belongs to FOLDER's layer; a file directly in
# lib/ belongs to none (an error).
FOLDERS=(
  api:api          # the VixDiskLib_* entry points and their checks
  ops:ops          # whole-disk operations: create, rebuild, pending
  chain:chain      # a disk's chain of links
  vmdk:vmdk        # the formats: extents, tables, descriptors, and
                   # each kind's check, growth and creation
  io:io            # stores and files: where the bytes are
  remote:remote    # the vSphere client
  base:base        # errors, logging, configuration, secrets, cancel
)

# Violations allowed for now, each "FILE HEADER" by their names without
# folders: reported, not failures.  Delete a line when its include is
# gone.
KNOWN=(
)

all=false
if [ "${1:-}" = --all ]; then all=true; shift; fi
srcdir=${1:-$(cd "$(dirname "$0")/.." && pwd)}
lib="$srcdir/lib"
[ -d "$lib" ] || { echo "$0: no lib/ in $srcdir" >&2; exit 2; }

declare -A rank layer_of
for i in "${!LAYERS[@]}"; do rank[${LAYERS[$i]}]=$i; done

# Set $found to the layer of a file, by its path relative to lib/ (""
# if none).
layer () {
  local rel=$1 name=${1##*/} entry
  found=""
  if [[ $rel == */* ]]; then
    for entry in "${FOLDERS[@]}"; do
      if [ "${rel%%/*}" = "${entry%%:*}" ]; then found=${entry#*:}; return; fi
    done
  fi
}

status=0
files=()
while IFS= read -r rel; do
  files+=("$rel")
  layer "$rel"
  if [ -z "$found" ]; then
    echo "lib/$rel: no layer (put it in a folder of FOLDERS in $0)"
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

declare -A seen_known
n_known=0
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
    key="${rel##*/} ${found##*/}"
    for k in "${KNOWN[@]}"; do
      if [ "$k" = "$key" ]; then seen_known[$key]=1; fi
    done
    if [ -n "${seen_known[$key]:-}" ] && ! $all; then
      echo "known: lib/$rel:$line: $text ($l includes $t)"
      n_known=$((n_known + 1))
    else
      echo "lib/$rel:$line: $text ($l includes $t)"
      status=1
    fi
  fi
done < <(cd "$lib" &&
         { grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' \
             "${files[@]}" || true; })

for k in "${KNOWN[@]}"; do
  [ -n "${seen_known[$k]:-}" ] ||
    echo "note: the known violation \"$k\" is gone: delete it from KNOWN in $0"
done
if [ $status -eq 0 ]; then
  echo "lib/: ${#files[@]} files, no include goes up a layer" \
       "(known: $n_known)"
fi
exit $status
