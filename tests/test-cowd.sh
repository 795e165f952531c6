#!/bin/bash
# vmfsSparse ("COWD") snapshot deltas, as ESXi writes them: a delta is
# made for the sample vmfs_thick.vmdk (whose real delta file is not in
# the samples) from VMware's format description, with grain tables only
# where data was written.  Served through the plugin, the child must read
# exactly as qemu-img decodes it (parent data where the delta has none);
# single-link=true and the bare delta file show only the delta's grains;
# writes are refused clearly (COWD is read-only so far).
source "$srcdir/tests/functions.sh"
set -e
set -x

requires qemu-img --version
cp "$SAMPLES/vmfs_thick.vmdk" "$SAMPLES/vmfs_thick-flat.vmdk" \
   "$SAMPLES/vmfs_thick-000001.vmdk" .

for grain in 1 16; do
  rm -f vmfs_thick-000001-delta.vmdk expected*.raw
  /usr/bin/python3 "$srcdir/tests/make-cowd.py" vmfs_thick-flat.vmdk $grain \
    vmfs_thick-000001-delta.vmdk expected.raw expected-single.raw
  # qemu-img, an independent reader, agrees with the delta's content.
  qemu-img convert -O raw vmfs_thick-000001.vmdk qemu.raw
  cmp qemu.raw expected.raw

  nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/vmfs_thick-000001.vmdk" \
         --run 'nbdcopy "$uri" chain.raw'
  cmp chain.raw expected.raw
  nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/vmfs_thick-000001.vmdk" single-link=true \
         --run 'nbdcopy "$uri" single.raw'
  cmp single.raw expected-single.raw
  nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/vmfs_thick-000001-delta.vmdk" \
         --run 'nbdcopy "$uri" bare.raw'
  cmp bare.raw expected-single.raw
done

# Writes are refused with a message that says why; the files stay as they were.
sum_before=$(cat vmfs_thick-000001* | sha256sum)
nbdkit -U - "$VDDK_PLUGIN" "$PWD/vmfs_thick-000001.vmdk" \
       --run 'nbdsh -u "$uri" -c "
try:
    h.pwrite(b\"x\" * 512, 0)
except nbd.Error as e:
    print(\"refused:\", e)
else:
    raise SystemExit(\"write to a COWD delta succeeded\")
"' 2> write.err
cat write.err
grep -q "vmfsSparse (COWD) delta, which can only be read" write.err
[ "$(cat vmfs_thick-000001* | sha256sum)" = "$sum_before" ]
