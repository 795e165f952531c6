#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# vdiskmanager's command line: usage errors (exit 2), failures (exit 1,
# one line naming the file and the reason, a JSON object with --json),
# -q, the progress bar on a terminal and nowhere else, JSON progress.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/vdiskmanager-functions.sh"
set -e
set -x

vdm --help | grep -q '^Usage: vdiskmanager'
vdm --version | grep -q '^vdiskmanager'

# Usage errors.
vdm_fails 2 "no operation given" x.vmdk
vdm_fails 2 "only one operation" -k -d x.vmdk
vdm_fails 2 "exactly one disk name" -k
vdm_fails 2 "exactly one disk name" -k a.vmdk b.vmdk
vdm_fails 2 "unknown option -Z" -Z x.vmdk
vdm_fails 2 "unknown option --frobnicate" --frobnicate x.vmdk
vdm_fails 2 "option -s needs an argument" -c x.vmdk -s
vdm_fails 2 "remote hosts are not supported" -r a.vmdk -t 0 -h esx.example.com b.vmdk
vdm_fails 2 "bad hardware version" -c -s 1MB --hw-version 0 x.vmdk
[ ! -e x.vmdk ]

# Failures name the file.
vdm_fails 1 "nothere.vmdk.*No such file" -k nothere.vmdk
vdm_fails 1 "nothere.vmdk.*No such file" -d nothere.vmdk
vdm_fails 1 "nothere.vmdk.*No such file" -x 1GB nothere.vmdk
vdm_fails 1 "nothere.vmdk.*No such file" -D nothere.vmdk
vdm_fails 1 "nothere.vmdk.*No such file" -e nothere.vmdk
vdm_fails 1 "needs VMware's disk mounting" -p /mnt
echo "not a disk" > text.vmdk
vdm_fails 1 "text.vmdk" -k text.vmdk
vdm_fails 1 "text.vmdk" --info text.vmdk

# -q: nothing on success.
"$VDM" -q -c -s 64MB -t 0 q.vmdk > q.out 2>&1
[ ! -s q.out ]
qemu-io -f vmdk -c 'write -P 1 0 32M' q.vmdk

# -D marks the disk deletable.
vdm -q -D q.vmdk
[ "$(ddb_value q.vmdk ddb.deletable)" = true ]

# No progress bar when standard error is not a terminal...
"$VDM" -r q.vmdk -t 0 p1.vmdk 2> p1.err
[ ! -s p1.err ]
# ...and one on a terminal.
script -qec "$VDM -r q.vmdk -t 0 p2.vmdk" /dev/null > p2.tty
cat -v p2.tty
grep -q 'Converting \[#*\.*\] *100%' p2.tty
grep -q $'\r' p2.tty
script -qec "$VDM -q -r q.vmdk -t 0 p3.vmdk" /dev/null > p3.tty
refute grep -q Converting p3.tty

# JSON progress for each long operation, then "done".
json_ops () {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
pc = [e["percent"] for e in ev if e["event"] == "progress"]
assert pc == sorted(pc) and pc[-1] == 100, pc
assert all(e["operation"] == sys.argv[2] for e in ev), ev
assert ev[-1]["event"] == "done", ev[-1]
PY
}
vdm --json -x 128MB q.vmdk > grow.json && json_ops grow.json grow
vdm --json -k q.vmdk > shrink.json && json_ops shrink.json shrink
vdm --json -d q.vmdk > defrag.json && json_ops defrag.json defragment
vdm --json -c -s 1MB j.vmdk > create.json && json_ops create.json create

# Errors as JSON: the VIX code and the exit status.
"$VDM" --json -x 1MB q.vmdk > err.json 2> err.txt || [ $? -eq 1 ]
[ "$(wc -l < err.txt)" -eq 1 ]
/usr/bin/python3 -c '
import json
e = json.load(open("err.json"))
assert e["event"] == "error" and e["operation"] == "grow", e
assert e["code"] == 3 and e["exit"] == 1 and "only grow" in e["message"], e'
