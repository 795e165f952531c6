#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# vdiskmanager's output a script can trust (issue 16, section 4):
# - its own words (the "Creating disk" banner, results, --info, the
#   prefix of errors) escape control characters in file names, as the
#   library's part does, and an error stays one line on standard error
#   when a name holds a newline;
# - a read error on a damaged grain table names the value in the file
#   (the one -e reports), not a placeholder;
# - with --json a command-line mistake (exit 2) is a JSON error object
#   on standard output, and a failed convert names its source and its
#   destination in their own fields.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/vdiskmanager-functions.sh"
set -e
set -x

esc=$'\033'
# fail MESSAGE: record a failed check and go on, so that one run shows
# every behaviour that is wrong; the test fails at the end.
failures=0
fail () { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# ---- control characters in names, in the tool's own words
bad=$'tab\there\033[31m.vmdk'
shown='tab\there\x1b[31m.vmdk'
vdm -c -s 1MB "$bad" > create.out
cat -A create.out
grep -Fxq "Creating disk '$shown'" create.out ||
  fail "the -c banner does not escape the name"
vdm -e "$bad" > check.out
cat -A check.out
grep -Fq "the virtual disk, '$shown', has no problems" check.out ||
  fail "the -e result does not escape the name"
vdm --info "$bad" > info.out
cat -A info.out
grep -Fxq "disk:             $shown" info.out ||
  fail "--info does not escape the disk's name"
grep -Fxq "  [0] $PWD/$shown" info.out || grep -Fxq "  [0] $shown" info.out ||
  fail "--info does not escape the chain's file names"
for f in create.out check.out info.out; do
  refute grep -q "$esc" $f || fail "$f holds a raw escape character"
done

# A newline in the destination of a failed convert, or in a bad size:
# still one line on standard error (vdm_fails checks that).
nl=$'new\nline\033[2J.vmdk'
nl_shown='new\nline\x1b[2J.vmdk'
vdm_fails 1 "convert nothere.vmdk to $(sed 's/[][\\.]/\\&/g' <<<"$nl_shown") failed" \
  -r nothere.vmdk -t 0 "$nl" ||
  fail "a failed convert to a name with a newline is not one escaped line"
vdm_fails 2 "bad size '1\\\\nMB'" -c -s $'1\nMB' x.vmdk ||
  fail "a bad size holding a newline is not one escaped line"
vdm_fails 2 "unknown disk type 'a\\\\x1b\\[2Jb'" -c -s 1MB -t $'a\033[2Jb' x.vmdk ||
  fail "a bad type holding an escape is not escaped"
refute grep -q "$esc" fails.err || fail "an error holds a raw escape character"

# ---- a damaged grain table entry: the error names the value in the file
vdm -q -c -s 100MB -t 0 d.vmdk
qemu-io -f vmdk -c 'write -P 0x33 0 5M' d.vmdk > /dev/null
eval "$(sparse_header d.vmdk)"
gt=$(get_le d.vmdk $((gd_offset * 512)) 4)
rgt=$(get_le d.vmdk $((rgd_offset * 512)) 4)
put_le d.vmdk $((gt * 512 + 4)) 4 $((0x7fffff00))
put_le d.vmdk $((rgt * 512 + 4)) 4 $((0x7fffff00))
"$VDM" -e d.vmdk > e.out || [ $? -eq 3 ]
cat e.out
grep -q "points to sector 2147483392" e.out    # what -e sees
vdm_fails 1 "points to sector 2147483392" -r d.vmdk -t 0 c.vmdk ||
  fail "a read error names a placeholder, not the entry in the file"
refute grep -q 4294967295 fails.err || fail "an error names the placeholder 4294967295"

# ---- --json: command-line errors as JSON objects
# json_error FILE OPERATION: FILE holds exactly one JSON error object
# with exit 2 and no VIX code.
json_error ()
{
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, "expected one JSON line on stdout, got %r" % lines
e = json.loads(lines[0])
want_op = None if sys.argv[2] == "null" else sys.argv[2]
assert e["event"] == "error" and e["exit"] == 2 and e["code"] is None, e
assert e["operation"] == want_op, e
assert e["message"], e
print("ok", e)
PY
}
usage_json ()
{
  local op=$1 rc=0
  shift
  "$VDM" "$@" > u.out 2> u.err || rc=$?
  cat u.out u.err
  [ $rc -eq 2 ] || fail "exit $rc, not 2: $*"
  [ "$(wc -l < u.err)" -eq 1 ] || fail "not one line on stderr: $*"
  json_error u.out "$op" || fail "no JSON error object on stdout for: $*"
}
usage_json null --json x.vmdk                      # no operation
usage_json null -Z --json x.vmdk                   # before --json
usage_json create --json -c -s 1MB -t nosuch x.vmdk
usage_json create -c -s 1MB --js x.vmdk y.vmdk     # abbreviated
usage_json convert --json -r a.vmdk b.vmdk         # no -t
# Without --json, nothing on stdout.
"$VDM" -Z x.vmdk > plain.out 2>/dev/null || true
[ ! -s plain.out ]

# ---- --json: a failed convert has a source and a destination
vdm -q -c -s 1MB small.vmdk
vdm -q -c -s 1MB exists.vmdk
rc=0
"$VDM" --json -r small.vmdk -t 0 exists.vmdk > conv.out 2>/dev/null || rc=$?
cat conv.out
[ $rc -eq 1 ]
/usr/bin/python3 - conv.out <<'PY' || fail "a failed convert's JSON event has no source and destination fields"
import json, sys
e = [json.loads(l) for l in open(sys.argv[1])][-1]
assert e["event"] == "error" and e["operation"] == "convert", e
assert e["source"] == "small.vmdk" and e["destination"] == "exists.vmdk", e
assert "file" not in e, e
PY
"$VDM" --json -r small.vmdk -t 0 new.vmdk > done.out
/usr/bin/python3 - done.out <<'PY' || fail "a convert's done event has no source and destination fields"
import json, sys
e = [json.loads(l) for l in open(sys.argv[1])][-1]
assert e == {"event": "done", "operation": "convert",
             "source": "small.vmdk", "destination": "new.vmdk"}, e
PY
# Single-file events keep "file".
"$VDM" --json -x 2MB small.vmdk | tail -n1 | grep -F '"file": "small.vmdk"' ||
  fail "a single-file event has no \"file\""

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
