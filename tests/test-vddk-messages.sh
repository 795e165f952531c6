#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The plugin's messages say what happened (issue 16, section 4):
# - a libdir= whose lib64/libvixDiskLib.so.8 is not a library is not
#   reported as a missing .so.9: each name tried says what went wrong;
# - transports=nbd on a local file is one clear sentence;
# - serving a disk that can only be read is a warning, not an error;
# - create-type= takes VMware's createType names (streamOptimized...),
#   in any case, besides upstream's, and an unknown one lists both;
# - a read of a grain whose table entry points past the end of the file
#   names the value in the file, not a placeholder.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdinfo --version
requires qemu-img --version
# fail MESSAGE: record a failed check and go on, so that one run shows
# every behaviour that is wrong; the test fails at the end.
failures=0
fail () { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# serve OUT [NBDKIT-ARGS...]: nbdkit with the plugin, nbdinfo as the
# client; nbdkit's and nbdinfo's output in OUT.  Returns nbdkit's status.
serve ()
{
  local out=$1 rc=0
  shift
  nbdkit -U - "$VDDK_PLUGIN" "$@" --run 'nbdinfo "$uri"' > "$out" 2>&1 || rc=$?
  cat "$out"
  return $rc
}

# ---- libdir= with a broken lib64/libvixDiskLib.so.8
mkdir -p broken/lib64
echo "this is not a shared library" > broken/lib64/libvixDiskLib.so.8
refute serve lib.out libdir=broken "$SAMPLES/monolithicSparse.vmdk"
grep -Eq 'lib64/libvixDiskLib\.so\.8: (.*file too short|.*invalid ELF header)' lib.out ||
  fail "the error does not say why lib64/libvixDiskLib.so.8 did not load"
grep -Eq 'lib64/libvixDiskLib\.so\.9(, libvixDiskLib\.so\.9)?: not found' lib.out ||
  fail "the error does not say that .so.9 is not there"
[ "$(grep -c 'error:' lib.out)" -eq 1 ] || fail "not one error line"
# Nothing there at all: still the reference plugin's message.
mkdir empty
refute serve empty.out libdir=empty "$SAMPLES/monolithicSparse.vmdk"
grep -F "lib64/libvixDiskLib.so.9: cannot open shared object file" empty.out ||
  fail "an empty libdir no longer gets the reference plugin's message"

# ---- transports=nbd on a local file: one sentence, no nested brackets
refute serve tr.out transports=nbd "$SAMPLES/monolithicSparse.vmdk"
grep -Fq 'the transport modes "nbd" cannot open a local disk: local disks are read with the mode "file" only' tr.out ||
  fail "transports=nbd on a local file is not told in one clear sentence"
grep 'transport modes' tr.out | refute grep -q ') (' ||
  fail "the transports message still stacks parentheses"
serve tr2.out transports=nbd:file "$SAMPLES/monolithicSparse.vmdk" ||
  fail "transports=nbd:file on a local file does not work"

# ---- a disk that can only be read: a warning, not an error
truncate -s 1M ro-flat.bin
cat > ro.vmdk <<EOT
# Disk DescriptorFile
version=1
CID=fffffffe
parentCID=ffffffff
createType="monolithicFlat"
RDONLY 2048 FLAT "ro-flat.bin" 0
ddb.adapterType = "lsilogic"
EOT
serve ro.out "$PWD/ro.vmdk"
grep -q "is_read_only: true" ro.out
grep -Eq "^nbdkit: vddk: warning: serving $PWD/ro.vmdk read-only: .*RDONLY" ro.out ||
  fail "serving read-only is not a warning line"
refute grep -q "error" ro.out || fail "a warning is logged as an error"

# ---- create-type: VMware's names make the disk upstream's names make
# create_type NAME: create c.vmdk with create-type=NAME, print its
# descriptor's createType and ddb lines.
create_type ()
{
  rm -f c.vmdk c-*.vmdk
  serve c.out "$PWD/c.vmdk" create=true create-type=$1 create-size=4M >&2 &&
    vmdk_descriptor c.vmdk | grep -E '^(createType|ddb\.thin)'
}
for pair in streamOptimized:stream-optimized STREAMOPTIMIZED:stream-optimized \
            monolithicFlat:monolithic-flat twoGbMaxExtentSparse:split-sparse \
            vmfsThin:vmfs-thin vmfs:vmfs-flat vmfssparse:vmfs-sparse; do
  want=$(create_type "${pair#*:}")
  got=$(create_type "${pair%%:*}") ||
    { fail "create-type=${pair%%:*} is refused"; continue; }
  [ "$got" = "$want" ] ||
    fail "create-type=${pair%%:*} made '$got', not what ${pair#*:} makes: '$want'"
done
rm -f c.vmdk
refute serve bad.out "$PWD/c.vmdk" create=true create-type=streamoptimised create-size=4M
grep -Fq "unknown create-type: streamoptimised (monolithic-sparse" bad.out ||
  fail "an unknown create-type does not list the names"
grep -Fq "streamOptimized" bad.out ||
  fail "an unknown create-type does not name VMware's spellings"
[ ! -e c.vmdk ]

# ---- a grain table entry past the end of the file, read through nbdkit
qemu-img create -q -f vmdk d.vmdk 8M
qemu-io -f vmdk -c 'write -P 0x33 0 1M' d.vmdk > /dev/null
eval "$(sparse_header d.vmdk)"
gt=$(get_le d.vmdk $((gd_offset * 512)) 4)
rgt=$(get_le d.vmdk $((rgd_offset * 512)) 4)
put_le d.vmdk $((gt * 512 + 4)) 4 $((0x7fffff00))
put_le d.vmdk $((rgt * 512 + 4)) 4 $((0x7fffff00))
nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/d.vmdk" \
  --run 'nbdcopy --synchronous "$uri" out.raw' > rd.out 2>&1 || true
cat rd.out
grep -q "points to sector 2147483392" rd.out ||
  fail "a read error names a placeholder, not the entry in the file"
refute grep -q 4294967295 rd.out || fail "a read error names the placeholder 4294967295"

# ---- the documentation's top agrees with the rest: the open library
# reads remote disks; the README's blocksize example warns of the abort.
sed -n '/^=head1 DESCRIPTION/,/^=head1 EXAMPLES/p' \
  "$srcdir/plugin/nbdkit-vddk-plugin.pod" | tr '\n' ' ' > desc.txt
refute grep -Eq "does not talk to VMware servers|with VMware's own library, a disk" desc.txt ||
  fail "the man page's DESCRIPTION says remote disks need VMware's library"
grep -Eq "reads the disks of VMs on ESXi and vCenter" desc.txt ||
  fail "the man page's DESCRIPTION does not say the open library reads remote disks"
grep -q -- '--filter=blocksize' "$srcdir/README.md"
grep -q -- '--filter=noextents' "$srcdir/README.md" ||
  fail "the README's blocksize example lacks the noextents warning"

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
