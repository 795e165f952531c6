# SPDX-License-Identifier: BSD-3-Clause
# Helpers for tests/test-vdiskmanager-*.sh, sourced after functions.sh.
# The tool is checked with qemu-img, an independent VMDK implementation.

VDM="$builddir/tools/vdiskmanager"
requires test -x "$VDM"
requires qemu-img --version

# The raw sha256 of the 10 MiB VMware samples (PROVENANCE.md).
SAMPLE_SHA=a3bcf05f07a1c06a3380eeca8571f0efb2b85afafa1e21662b8cad436d1f7727

vdm () { "$VDM" "$@"; }

# vdm_fails STATUS REGEX ARGS...: vdiskmanager ARGS must exit with
# STATUS, print exactly one line on standard error, and that line must
# match the extended regular expression REGEX.
vdm_fails ()
{
  local status=$1 regex=$2 rc=0
  shift 2
  "$VDM" "$@" > fails.out 2> fails.err || rc=$?
  echo "---- vdiskmanager $* (exit $rc)"; cat fails.out fails.err
  [ "$rc" -eq "$status" ] ||
    { echo "expected exit $status, got $rc" >&2; return 1; }
  [ "$(wc -l < fails.err)" -eq 1 ] ||
    { echo "expected one error line" >&2; return 1; }
  grep -Eq -- "$regex" fails.err ||
    { echo "error does not match /$regex/" >&2; return 1; }
}

# copy_sample NAME DIR: copy the VMware sample NAME (descriptor and its
# extents) into DIR.
copy_sample ()
{
  mkdir -p "$2"
  case $1 in
    4) cp "$SAMPLES"/vdiskmanager-t4-vmfs/4*.vmdk "$2"/ ;;
    *) for f in "$SAMPLES/$1.vmdk" "$SAMPLES/$1"-*.vmdk; do
         [ ! -e "$f" ] || cp "$f" "$2"/
       done ;;
  esac
}

# vdm_sha DISK: sha256 of the virtual disk as the library reads it,
# through a clone to a flat disk decoded by qemu-img (so that disks qemu
# cannot open, like VMware's vmfs with an extent offset, are covered).
vdm_sha ()
{
  local d
  d=$(mktemp -d sha.XXXXXX)
  "$VDM" -q -r "$1" -t monolithic-flat "$d/x.vmdk"
  raw_sha256 "$d/x.vmdk"
  rm -rf "$d"
}

# data_bytes IMAGE: bytes qemu-img map reports as data.
data_bytes ()
{
  qemu-img map --output=json "$1" | /usr/bin/python3 -c '
import json, sys
print(sum(e["length"] for e in json.load(sys.stdin) if e["data"]))'
}

# ddb_lines FILE: the descriptor's DDB lines, sorted.
ddb_lines ()
{
  vmdk_descriptor "$1" | grep '^ddb\.' | sort
}

# on_disk FILE...: bytes the files take on the filesystem.
on_disk ()
{
  du -B1 -c "$@" | tail -n1 | cut -f1
}
