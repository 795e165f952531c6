#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# config= names a VDDK configuration file ("key = value" lines and #
# comments).  It is checked when nbdkit starts, so that a wrong file - a
# directory, a device, a FIFO (which must not hang the check), binary data,
# a line that is no setting - is reported at once, naming the file and the
# line, instead of being accepted silently.  A good file (relative names
# too) reaches VixDiskLib_InitEx as an absolute path.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdinfo --version

disk="$SAMPLES/monolithicSparse.vmdk"

# bad REGEX CONFIG: nbdkit refuses config=CONFIG with REGEX.
bad ()
{
  ECF_FILTER='^nbdkit: .*error' expect_clean_failure "$1" \
    nbdkit -r -U - "$VDDK_PLUGIN" "$disk" config="$2" --run 'nbdinfo --size "$uri"'
}

# ---- Good files are accepted and passed on.
printf '\xef\xbb\xbf# VDDK settings\r\n\r\n' > good.conf
cat >> good.conf <<'EOF'
  # indented comment
vixDiskLib.transport.LogLevel = 4
tempDirectory="/tmp/vmware-root"
vixDiskLib.nfc.AcceptTimeoutMs=180000
vixDiskLib.linuxSSL.verifyCertificates = "0"   # trailing comment
vixDiskLib.nfcAio.Session.BufSizeIn64KB = 16
empty.value =
EOF
: > empty.conf
for c in good.conf ./good.conf "$PWD/good.conf" empty.conf; do
  out=$(nbdkit -v -r -U - "$VDDK_PLUGIN" "$disk" config="$c" \
          --run 'nbdinfo --size "$uri"' 2>&1)
  grep -x 10485760 <<<"$out"
  grep -F "VixDiskLib_InitEx (6, 5, " <<<"$out" |
    grep -F ", $PWD/$(basename "$c"))"
done

# ---- Bad files.
mkdir confdir
bad "config: $PWD/confdir is a directory, not a VDDK configuration file" confdir
bad 'config: /dev/null is not a regular file, not a VDDK configuration file' /dev/null
mkfifo fifo.conf
bad "config: $PWD/fifo.conf is not a regular file" fifo.conf
head -c $((2 << 20)) /dev/zero | tr '\0' '#' > huge.conf
bad "config: $PWD/huge.conf is too large, not a VDDK configuration file" huge.conf
bad 'realpath: /nonexistent/vddk.conf: No such file or directory' /nonexistent/vddk.conf

line ()
{
  printf 'a = 1\n# comment\n%s\nb = 2\n' "$1" > bad.conf
  bad "config: $PWD/bad.conf line 3: not a \"key = value\" setting or a # comment" bad.conf
}
line 'just some words'
line '= value without key'
line 'key value'
line 'key = "unterminated'
line 'key = "quoted" trailing'
line 'bad key = 1'
line $'binary\x01data = 1'
# binary files: a disk (its first 64 KiB), all zeros
head -c 65536 "$disk" > disk.conf
bad "config: $PWD/disk.conf line 1: not a \"key = value\"" disk.conf
head -c 4096 /dev/zero > zero.conf
bad "config: $PWD/zero.conf line 1: not a \"key = value\"" zero.conf
