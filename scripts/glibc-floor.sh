#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# glibc-floor.sh [--max VERSION] [--number] PATH...: the oldest glibc
# (and C++ runtime) the ELF objects under PATH can load with.
#
# Reads the version needs (readelf -V) of every ELF object under PATH
# (symbolic links skipped) and prints, for the newest needs:
#   glibc 2.28 lib64/libcrypto.so.3       (the object needing it)
#   glibcxx none                          (GLIBCXX_ of libstdc++)
#   gcc none                              (GCC_ of libgcc_s)
#   c++ runtime none                      (libstdc++/libgcc_s needed)
# --number prints only the glibc version.  With --max VERSION it fails
# (exit 1, naming the objects) when any object needs a GLIBC_ version
# newer than VERSION, or needs libstdc++ or libgcc_s at all: the VDDK
# directory must load where the C++ runtime is missing or older.
set -euo pipefail

max= number=
while [ $# -gt 0 ]; do
  case $1 in
    --max) max=$2; shift 2 ;;
    --number) number=1; shift ;;
    --) shift; break ;;
    -*) echo "glibc-floor: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: glibc-floor.sh [--max VERSION] [--number] PATH..." >&2; exit 2; }

# One line per need: "KIND VERSION OBJECT", KIND glibc, glibcxx, libgcc.
needs=$(mktemp)
trap 'rm -f "$needs"' EXIT
objects=0
while IFS= read -r -d '' f; do
  [ "$(head -c 4 "$f" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] || continue
  objects=$((objects + 1))
  readelf -V -W "$f" |
    sed -n 's/.*Name: \(GLIBC\|GLIBCXX\|CXXABI\|GCC\)_\([0-9.]*\) .*/\1 \2/p' |
    while read -r kind v; do
      case $kind in
        GLIBC) echo "glibc $v $f" ;;
        GLIBCXX) echo "glibcxx $v $f" ;;
        CXXABI) echo "cxx CXXABI_$v $f" ;;
        GCC) echo "libgcc $v $f" ;;
      esac
    done >> "$needs"
  readelf -d -W "$f" | sed -n 's/.*(NEEDED).*\[\(libstdc++\|libgcc_s\)\(\.so[^]]*\)\]/\1\2/p' |
    while read -r so; do
      echo "cxx $so $f"
    done >> "$needs"
done < <(find -H "$@" -type f -print0)

if [ "$objects" = 0 ]; then
  echo "glibc-floor: no ELF object under $*" >&2; exit 2
fi

# newest KIND: "VERSION OBJECT" of the newest need of that kind.
newest () { awk -v k="$1" '$1 == k { print $2, $3 }' "$needs" | sort -V -k1,1 | tail -n 1; }
glibc=$(newest glibc); cxx=$(newest glibcxx); gcc=$(newest libgcc)
runtime=$(awk '$1 == "cxx" { print $2 }' "$needs" | sort -u | tr '\n' ' ')

if [ -n "$number" ]; then
  echo "${glibc%% *}"
else
  echo "glibc ${glibc:-none}"
  echo "glibcxx ${cxx:-none}"
  echo "gcc ${gcc:-none}"
  echo "c++ runtime ${runtime:-none}"
fi

if [ -n "$max" ]; then
  bad=$(awk -v max="$max" '
          function newer(a, b,   x, y, i, n) {
            n = split(a, x, "."); split(b, y, ".")
            for (i = 1; i <= (n > length(y) ? n : length(y)); i++)
              if (x[i] + 0 != y[i] + 0) return x[i] + 0 > y[i] + 0
            return 0
          }
          $1 == "glibc" && newer($2, max) { print $3 ": GLIBC_" $2 }
          $1 == "glibcxx" { print $3 ": GLIBCXX_" $2 }
          $1 == "libgcc" { print $3 ": GCC_" $2 }
          $1 == "cxx" { print $3 ": " $2 }' "$needs" | sort -u)
  if [ -n "$bad" ]; then
    echo "glibc-floor: above the goal of glibc $max with no C++ runtime:" >&2
    echo "$bad" >&2
    exit 1
  fi
fi
