#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# vdiskmanager --info and --info --json: type, capacity in bytes,
# adapter, hardware version, the chain with its CIDs, the extents and
# the allocated bytes, checked against the files and against qemu-img.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/vdiskmanager-functions.sh"
set -e
set -x

check_json () {
  /usr/bin/python3 - "$@" <<'PY'
import json, os, sys
path, want_type, want_vt, want_cap, want_adapter, want_links, data = sys.argv[1:]
i = json.load(open(path + ".json"))
assert i["type"] == want_type, i["type"]
assert i["vmware-type"] == int(want_vt), i["vmware-type"]
assert i["capacity"] == int(want_cap) and i["sectors"] * 512 == i["capacity"]
assert i["adapter"] == want_adapter, i["adapter"]
assert isinstance(i["hardware-version"], int)
assert len(i["chain"]) == int(want_links), i["chain"]
assert i["allocated-bytes"] == int(data), (i["allocated-bytes"], data)
g = i["geometry"]
assert g["cylinders"] > 0 and g["heads"] > 0 and g["sectors"] > 0
top = i["chain"][0]
assert os.path.samefile(top["file"], path)
assert len(top["cid"]) == 8 and int(top["cid"], 16) >= 0
for link in i["chain"]:
    assert sum(x["sectors"] for x in link["extents"]) == link["sectors"]
    for x in link["extents"]:
        assert x["file-bytes"] == os.stat(x["file"]).st_size
        assert x["allocated-bytes"] == os.stat(x["file"]).st_blocks * 512
# the chain: each parent's CID is the child's parent CID
for child, parent in zip(i["chain"], i["chain"][1:]):
    assert child["parent-cid"] == parent["cid"], (child, parent)
assert i["chain"][-1]["parent-cid"] == "ffffffff"
assert i["disk-bytes"] > 0
PY
}

copy_sample monolithicSparse ms
vdm --info --json ms/monolithicSparse.vmdk > ms/monolithicSparse.vmdk.json
cat ms/monolithicSparse.vmdk.json
check_json ms/monolithicSparse.vmdk monolithic-sparse 0 $((10 << 20)) \
  buslogic 1 "$(data_bytes ms/monolithicSparse.vmdk)"

copy_sample twoGbMaxExtentFlat sf
vdm --info --json sf/twoGbMaxExtentFlat.vmdk > sf/twoGbMaxExtentFlat.vmdk.json
check_json sf/twoGbMaxExtentFlat.vmdk split-flat 3 $((10 << 20)) \
  "$(ddb_value sf/twoGbMaxExtentFlat.vmdk ddb.adapterType)" 1 \
  "$(/usr/bin/python3 -c 'import json; print(json.load(open("sf/twoGbMaxExtentFlat.vmdk.json"))["allocated-bytes"])')"

copy_sample 4 v4
vdm --info --json v4/4.vmdk > v4/4.vmdk.json
/usr/bin/python3 -c '
import json; i = json.load(open("v4/4.vmdk.json"))
assert i["create-type"] == "vmfs" and i["type"] == "vmfs-flat"
x = i["chain"][0]["extents"][0]
assert x["type"] == "VMFS" and x["sectors"] == 20480 and x["offset"] == 0'

# A chain of three links made by qemu-img.
vdm -q -c -s 16MB -a lsilogic -t 0 base.vmdk
qemu-io -f vmdk -c 'write -P 1 0 1M' base.vmdk
qemu-img create -q -f vmdk -b base.vmdk -F vmdk mid.vmdk
qemu-io -f vmdk -c 'write -P 2 4M 1M' mid.vmdk
qemu-img create -q -f vmdk -b mid.vmdk -F vmdk top.vmdk
qemu-io -f vmdk -c 'write -P 3 8M 64k' top.vmdk
vdm --info --json top.vmdk > top.vmdk.json
cat top.vmdk.json
# (qemu-img writes its children with adapterType ide; the newest wins)
check_json top.vmdk monolithic-sparse 0 $((16 << 20)) ide 3 \
  $(( (2 << 20) + (64 << 10) ))
/usr/bin/python3 -c '
import json; i = json.load(open("top.vmdk.json"))
assert [l["parent"] for l in i["chain"]] == ["mid.vmdk", "base.vmdk", None]'

# The text form says the same things.
vdm --info top.vmdk > info.txt
cat info.txt
grep -q '^type: *monolithicSparse (monolithic-sparse, -t 0)' info.txt
grep -q "^capacity: *$((16 << 20)) bytes (32768 sectors)" info.txt
grep -q '^adapter: *ide' info.txt
grep -q '^chain: *3 links' info.txt
# qemu-img writes the CID without leading zeros; --info prints 8 digits.
grep -q "CID $(printf %08x "0x$(ddb_value base.vmdk CID)")" info.txt
grep -q "allocated: *$(( (2 << 20) + (64 << 10) )) bytes" info.txt

# Stream-optimized and thin.
vdm -q -r top.vmdk -t 5 st.vmdk
vdm --info --json st.vmdk > st.vmdk.json
check_json st.vmdk stream-optimized 5 $((16 << 20)) ide 1 \
  $(( (2 << 20) + (64 << 10) ))
vdm -q -r top.vmdk -t 6 th.vmdk
vdm --info --json th.vmdk > th.vmdk.json
check_json th.vmdk vmfs-thin 6 $((16 << 20)) ide 1 \
  "$(/usr/bin/python3 -c 'import json; print(json.load(open("th.vmdk.json"))["allocated-bytes"])')"

# Errors are one line, with --json also a JSON object.
vdm_fails 1 "nothere.vmdk" --info nothere.vmdk
vdm_fails 1 "nothere.vmdk" --info --json nothere.vmdk
/usr/bin/python3 -c '
import json; e = json.load(open("fails.out"))
assert e["event"] == "error" and e["file"] == "nothere.vmdk" and e["code"] == 4, e'
