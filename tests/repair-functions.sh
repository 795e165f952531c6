# SPDX-License-Identifier: BSD-3-Clause
# Helpers for tests/test-vdiskmanager-repair*.sh, sourced after
# functions.sh and vdiskmanager-functions.sh: disks with known data,
# damaged one metadata word at a time (tests/vmdk-poke.py).

requires nbdcopy --version
requires qemu-io --version

# poke FILE WHERE VALUE / peek FILE WHERE: see tests/vmdk-poke.py.
poke () { /usr/bin/python3 "$srcdir/tests/vmdk-poke.py" "$@"; }
peek () { /usr/bin/python3 "$srcdir/tests/vmdk-poke.py" "$1" "$2"; }

BAD=0x7fffff00                  # a sector far past the end of any file

# make_disk DISK TYPE SIZE: a new disk of vdiskmanager type TYPE, with
# 3 MiB of random data at 0 (every grain different) and 1 MiB of 0x55
# at 40 MiB (the second grain table), written through nbdkit.
make_disk ()
{
  head -c 3M /dev/urandom > rand.raw
  vdm -q -c -s "$3" -t "$2" "$1"
  nbdkit -U - "$VDDK_PLUGIN" "$PWD/$1" \
    --run 'nbdcopy rand.raw "$uri" &&
           qemu-io -f raw -c "write -P 0x55 40M 1M" "$uri"' > /dev/null
}

# copy_disk DISK DIR: copy DISK and its extent files into DIR (emptied).
copy_disk ()
{
  local f
  rm -rf "$2"
  mkdir "$2"
  cp "$1" "$2"/
  for f in "${1%.vmdk}"-s0*.vmdk; do
    [ ! -e "$f" ] || cp "$f" "$2"/
  done
}

# repaired ORIG DISK [REGEX]: vdiskmanager -R DISK succeeds (saying
# something that matches REGEX), and then DISK reads as ORIG does (qemu-img
# compare) and -e finds nothing.
repaired ()
{
  vdm -R "$2" > repair.out
  cat repair.out
  [ -z "${3:-}" ] || grep -Eq -- "$3" repair.out
  qemu-img compare "$1" "$2"
  vdm -q -e "$2"
}
