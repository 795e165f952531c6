# SPDX-License-Identifier: BSD-3-Clause
# Helpers sourced by every tests/test-*.sh script.
# The runner (tests/run-tests.sh) exports srcdir, builddir, SAMPLES,
# VDDK_PLUGIN (the build tree plugin, whose default libdir is VDDK_LIBDIR)
# and runs each script in its own empty temporary directory.

: "${VDDK_PLUGIN:?run tests through tests/run-tests.sh}"

# A pipeline fails if any command in it fails: "check | tee out" must
# not hide a failing check behind tee's success.
set -o pipefail

# requires CMD...: skip the test (exit 77) unless each command works.
requires ()
{
  if ! "$@" >/dev/null 2>&1; then
    echo "SKIP: requires $*"
    exit 77
  fi
}

# refute CMD...: fail if CMD succeeds.  (Under set -e a plain "! CMD"
# never stops the script: bash ignores the status of negated commands.)
refute ()
{
  if "$@"; then
    echo "refute: this should have failed: $*" >&2
    return 1
  fi
  return 0
}

# cleanup_fn CMD ARGS...: run CMD ARGS when the script exits.
_cleanup_cmds=()
cleanup_fn ()
{
  local q
  printf -v q '%q ' "$@"
  _cleanup_cmds+=("$q")
}
_run_cleanups ()
{
  local status=$? i
  for (( i=${#_cleanup_cmds[@]}-1; i>=0; i-- )); do
    eval "${_cleanup_cmds[$i]}" || true
  done
  exit $status
}
trap _run_cleanups EXIT INT TERM

# start_nbdkit -P PIDFILE [ARGS...]: start nbdkit in the background (it
# forks itself), wait until the pidfile appears and kill it at exit.
start_nbdkit ()
{
  local pidfile=$2 i
  [ "$1" = "-P" ] || { echo "start_nbdkit: first arg must be -P" >&2; return 1; }
  nbdkit "$@"
  for (( i=0; i<100; i++ )); do
    [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && break
    sleep 0.1
  done
  [ -s "$pidfile" ] || { echo "start_nbdkit: nbdkit did not start" >&2; return 1; }
  cleanup_fn kill_nbdkit "$pidfile"
}

# kill_nbdkit PIDFILE: stop nbdkit and wait until it has exited, so that
# everything it wrote has been flushed and closed.
kill_nbdkit ()
{
  local pid i
  [ -s "$1" ] || return 0
  pid=$(cat "$1")
  kill "$pid" 2>/dev/null || return 0
  for (( i=0; i<100; i++ )); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$1"; return 0; }
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null
  rm -f "$1"
}

# start_qemu_nbd -P PIDFILE [QEMU-NBD-ARGS...]: start qemu-nbd as a
# daemon (--fork returns once it serves), wait for its pidfile and stop it
# at exit, so no qemu-nbd outlives the test.
start_qemu_nbd ()
{
  local pidfile=$2 i
  [ "$1" = "-P" ] || { echo "start_qemu_nbd: first arg must be -P" >&2; return 1; }
  shift 2
  cleanup_fn kill_nbdkit "$pidfile"
  qemu-nbd --fork --pid-file="$pidfile" "$@" || return 1
  for (( i=0; i<100; i++ )); do
    [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "start_qemu_nbd: qemu-nbd did not start" >&2
  return 1
}

# hold URI NAME: keep a connection to URI open in the background until the
# file NAME.release exists; NAME.ready appears once it has read sector 0.
# (The plugin opens the disk per connection: without a client, nbdkit
# holds no file open and no lock.)
hold ()
{
  /usr/bin/python3 -c '
import nbd, os, sys, time
h = nbd.NBD(); h.connect_uri(sys.argv[1]); h.pread(512, 0)
open(sys.argv[2] + ".ready", "w").close()
for _ in range(1200):
    if os.path.exists(sys.argv[2] + ".release"): break
    time.sleep(0.05)
h.shutdown()' "$1" "$2" &
  cleanup_fn kill $!
  local i
  for (( i=0; i<100; i++ )); do [ -e "$2.ready" ] && return 0; sleep 0.1; done
  echo "hold: could not connect to $1" >&2
  return 1
}

# vmware_samples: one line per VMware-made sample in $SAMPLES, "IMAGE
# SHA256 QEMU", where SHA256 is the disk's checksum as PROVENANCE.md
# gives it (the only hard-coded expected data) and QEMU is 1 if qemu-img
# can read the image too.  Fails if a checksum is not in PROVENANCE.md.
vmware_samples ()
{
  local ten_mib=a3bcf05f07a1c06a3380eeca8571f0efb2b85afafa1e21662b8cad436d1f7727
  local markers=92c0f8b4280377437056f57c51ef51a5f8aeb1462ac630ef0633febcbfc3db4e
  local thick=8d43c795d24bce01b49f92744f934c1072210dcac170bb1c83a5aa56df46ab7d
  local sum
  for sum in $ten_mib $markers $thick; do
    grep -qF "$sum" "$SAMPLES/PROVENANCE.md" || {
      echo "vmware_samples: $sum is not in $SAMPLES/PROVENANCE.md" >&2
      return 1
    }
  done
  cat <<EOF
monolithicSparse.vmdk            $ten_mib 1
twoGbMaxExtentSparse.vmdk        $ten_mib 1
monolithicFlat.vmdk              $ten_mib 1
twoGbMaxExtentFlat.vmdk          $ten_mib 1
streamOptimized.vmdk             $ten_mib 1
streamOptimizedWithMarkers.vmdk  $markers 1
vdiskmanager-t4-vmfs/4.vmdk      $ten_mib 0
vmfs_thick.vmdk                  $thick 1
EOF
}

# raw_sha256 FILE [FORMAT]: sha256 of the virtual disk as qemu-img decodes it.
raw_sha256 ()
{
  local tmp
  tmp=$(mktemp raw.XXXXXX)
  qemu-img convert -f "${2:-vmdk}" -O raw "$1" "$tmp"
  sha256sum < "$tmp" | cut -d' ' -f1
  rm -f "$tmp"
}

# nbd_sha256 URI: sha256 of the whole export, read with nbdcopy.
nbd_sha256 ()
{
  nbdcopy "$1" - | sha256sum | cut -d' ' -f1
}

# expect_failure REGEX CMD...: CMD must fail, and its output (stdout and
# stderr together) must match the extended regular expression REGEX.
expect_failure ()
{
  local regex=$1 out
  shift
  if out=$("$@" 2>&1); then
    echo "expected failure, but command succeeded: $*" >&2
    echo "$out" >&2
    return 1
  fi
  echo "$out"
  if ! grep -Eq -- "$regex" <<<"$out"; then
    echo "error output does not match /$regex/" >&2
    return 1
  fi
}

# make_pattern FILE SIZE: a file whose every 512-byte sector is distinct
# (sector number + a fixed text), with some all-zero regions, so that
# misplaced sectors and lost holes are both detected.
make_pattern ()
{
  /usr/bin/python3 - "$1" "$2" <<'PY'
import sys
path, size = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    f.truncate(size)
    for off in range(0, size, 512):
        s = off // 512
        # leave a 1 MiB hole every 4 MiB, and a single zero sector every 37
        if (off // (1 << 20)) % 4 == 3 or s % 37 == 5:
            continue
        f.seek(off)
        f.write((b"sector %012d pattern " % s).ljust(512, bytes([s % 251 + 1])))
PY
}

# sesparse_descriptor PARENT.vmdk EXTENT SIZE: print the descriptor of a
# seSparse delta (ESXi's snapshot format) of SIZE bytes stored in the
# extent file EXTENT (relative), over the local disk PARENT.vmdk, as ESXi
# writes it: the parent's CID and its name as the hint.
sesparse_descriptor ()
{
  cat <<EOT
# Disk DescriptorFile
version=1
CID=12345678
parentCID=$(sed -n 's/^CID=//p' "$1")
createType="seSparse"
parentFileNameHint="$(basename "$1")"
RW $(($3 / 512)) SESPARSE "$2"
EOT
}

# ---------------------------------------------------------------------------
# Helpers for the end-to-end tests (test-sample-*, test-qemu-*, test-create-*,
# test-malformed-*, test-lock, test-chain*).  qemu-img is used throughout as
# the independent peer decoding the same images.

# vddk_to_raw OUT [NBDKIT-OPTS...] FILE [PARAMS...]: serve FILE (an absolute
# path) with nbdkit vddk and copy the whole export to the local file OUT.
# NBDKIT-OPTS are the leading arguments starting with "-" (e.g. -r).
vddk_to_raw ()
{
  local out=$1 opts=()
  shift
  while [ $# -gt 0 ] && [[ $1 == -* ]]; do opts+=("$1"); shift; done
  rm -f "$out"
  timeout -k 5 "${VDDK_TEST_TIMEOUT:-300}" \
    nbdkit "${opts[@]}" -U - "$VDDK_PLUGIN" "$@" \
      --run "nbdcopy \"\$uri\" $(printf %q "$out")"
}

# vddk_sha256 [NBDKIT-OPTS...] FILE [PARAMS...]: sha256 of the export.
# Fails (prints nothing) if serving or copying fails.
vddk_sha256 ()
{
  local tmp
  tmp=$(mktemp vddkraw.XXXXXX)
  if ! vddk_to_raw "$tmp" "$@" >&2; then
    rm -f "$tmp"
    echo "vddk_sha256: serving $* failed" >&2
    return 1
  fi
  sha256sum < "$tmp" | cut -d' ' -f1
  rm -f "$tmp"
}

# libvmdk_to_raw IMAGE OUT: decode IMAGE with libvmdk (a second
# independent VMDK reader, Debian's python3-libvmdk).
libvmdk_to_raw ()
{
  /usr/bin/python3 - "$1" "$2" <<'PY'
import pyvmdk, sys
h = pyvmdk.handle()
h.open(sys.argv[1])
h.open_extent_data_files()
size = h.get_media_size()
with open(sys.argv[2], "wb") as out:
    for off in range(0, size, 1 << 20):
        out.write(h.read_buffer_at_offset(min(1 << 20, size - off), off))
h.close()
PY
}

# qemu_to_raw IN OUT [FORMAT]: decode IN to a raw file with qemu-img.
qemu_to_raw ()
{
  rm -f "$2"
  qemu-img convert -f "${3:-vmdk}" -O raw "$1" "$2"
}

# same_raw A B: the two raw files must be byte-identical.  On a difference,
# print the first differing bytes to help debugging.
same_raw ()
{
  if cmp "$1" "$2"; then return 0; fi
  echo "FAIL: $1 and $2 differ ($(stat -c %s "$1") vs $(stat -c %s "$2") bytes)" >&2
  cmp -l "$1" "$2" 2>/dev/null | head -n 5 >&2 || true
  return 1
}

# pattern_region FILE OFFSET LENGTH: write make_pattern-style data (every
# 512-byte sector distinct, labelled with its ABSOLUTE sector number, with
# the same holes as make_pattern) into [OFFSET, OFFSET+LENGTH) of FILE,
# which is extended (sparsely) if needed.  Used for large disks where
# make_pattern on the whole disk would be slow.
pattern_region ()
{
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import os, sys
path, start, length = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
assert start % 512 == 0 and length % 512 == 0
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
with os.fdopen(fd, "r+b") as f:
    for off in range(start, start + length, 512):
        s = off // 512
        if (off // (1 << 20)) % 4 == 3 or s % 37 == 5:
            f.seek(off); f.write(bytes(512))
            continue
        f.seek(off)
        f.write((b"sector %012d pattern " % s).ljust(512, bytes([s % 251 + 1])))
PY
}

# nbd_write_mirror URI REF SPEC...: through NBD, write distinct data at each
# SPEC = OFFSET:LENGTH (or OFFSET:LENGTH:zero to write an all-zero buffer,
# OFFSET:LENGTH:wzero to send NBD_CMD_WRITE_ZEROES) and apply the same
# change to the raw reference file REF.  Each write is read back through the
# same connection at once, then the connection is flushed.
nbd_write_mirror ()
{
  /usr/bin/python3 - "$@" <<'PY'
import sys, nbd
uri, ref, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
h = nbd.NBD()
h.connect_uri(uri)
size = h.get_size()
with open(ref, "r+b") as f:
    for i, spec in enumerate(specs):
        parts = spec.split(":")
        off, ln = int(parts[0]), int(parts[1])
        kind = parts[2] if len(parts) > 2 else "data"
        assert off % 512 == 0 and ln % 512 == 0 and off + ln <= size, spec
        if kind == "data":
            unit = (b"nbd-write %d off %d len %d " % (i, off, ln)).ljust(509, b"#")
            buf = b"".join(unit + b"%03d" % (k % 1000) for k in range(ln // 512))
            h.pwrite(buf, off)
        elif kind == "zero":
            buf = bytes(ln)
            h.pwrite(buf, off)
        elif kind == "wzero":
            buf = bytes(ln)
            h.zero(ln, off)
        else:
            raise SystemExit("bad spec " + spec)
        got = h.pread(ln, off)
        if got != buf:
            raise SystemExit("read-after-write mismatch at %s" % spec)
        f.seek(off)
        f.write(buf)
        print("wrote %s" % spec)
h.flush()
h.shutdown()
PY
}

# random_write_specs SEED COUNT SIZE: COUNT random write specs for
# nbd_write_mirror on a disk of SIZE bytes: data, zero bytes and zero
# requests, inside a grain, across grains, over whole grains, large.
random_write_specs ()
{
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import random, sys
r = random.Random(int(sys.argv[1]))
count, size = int(sys.argv[2]), int(sys.argv[3])
grain = 65536
for _ in range(count):
    shape = r.choice(["in-grain", "across", "whole", "large"])
    if shape == "in-grain":
        n = r.randrange(1, 128) * 512
        off = r.randrange(0, size // grain) * grain + r.randrange(0, (grain - n) // 512 + 1) * 512
    elif shape == "across":
        n = r.randrange(2, 300) * 512
        off = r.randrange(1, size // grain) * grain - r.randrange(1, n // 512) * 512
    elif shape == "whole":
        n = r.randrange(1, 4) * grain
        off = r.randrange(0, size // grain - 3) * grain
    else:
        n = r.randrange(1, 2048) * 512
        off = r.randrange(0, (size - n) // 512 + 1) * 512
    off = max(0, min(off, size - n))
    print("%d:%d:%s" % (off, n, r.choice(["data", "data", "zero", "wzero"])))
PY
}

# random_writes DISK REF: two rounds of 150 random writes into DISK (a
# new server each, so the second reopens what the first left), mirrored
# into REF; then qemu-img must find DISK clean and decode it (with its
# chain) as REF, and so must a new server.  The seed is printed and may
# be set with TEST_SEED.
random_writes ()
{
  local disk=$1 ref=$2 half ops seed=${TEST_SEED:-$RANDOM}
  echo "random_writes $disk: seed $seed (TEST_SEED=$seed to repeat)"
  for half in 1 2; do
    rm -f w.pid w.sock
    start_nbdkit -P w.pid -U "$PWD/w.sock" "$VDDK_PLUGIN" "$PWD/$disk"
    mapfile -t ops < <(random_write_specs $((seed * 2 + half)) 150 \
                       "$(stat -c %s "$ref")")
    nbd_write_mirror "nbd+unix:///?socket=$PWD/w.sock" "$ref" "${ops[@]}" \
      > "writes-$half.log" ||
      { echo "random_writes: failed with seed $seed" >&2; return 1; }
    kill_nbdkit w.pid
  done
  qemu-img check "$disk" &&
  qemu-img compare -f vmdk -F raw "$disk" "$ref" ||
    { echo "random_writes: qemu-img disagrees, seed $seed" >&2; return 1; }
  nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/$disk" --run 'nbdcopy "$uri" nbd.raw'
  same_raw nbd.raw "$ref"
}

# grain_map_json JSON [GRAIN]: from "nbdinfo --map --json" output in the
# file JSON, print one character per GRAIN bytes (default 64 KiB): D if any
# byte of the grain is reported as data (extent type without the HOLE bit),
# "." otherwise.
grain_map_json ()
{
  /usr/bin/python3 -c '
import json, sys
g = int(sys.argv[2]); ext = json.load(open(sys.argv[1]))
end = max(e["offset"] + e["length"] for e in ext)
m = bytearray(b"." * ((end + g - 1) // g))
for e in ext:
    if not (e["type"] & 1):
        for i in range(e["offset"] // g, (e["offset"] + e["length"] + g - 1) // g):
            m[i] = ord("D")
print(m.decode())' "$1" "${2:-65536}"
}

# grain_map_nbd URI [GRAIN]: grain map of an NBD export.
grain_map_nbd ()
{
  nbdinfo --map --json "$1" > nbdmap.json || return 1
  grain_map_json nbdmap.json "${2:-65536}"
}

# grain_map_vddk [NBDKIT-OPTS...] IMAGE [PARAMS...]: grain map of IMAGE as
# served (read-only) by nbdkit vddk.
grain_map_vddk ()
{
  local opts=()
  while [ $# -gt 0 ] && [[ $1 == -* ]]; do opts+=("$1"); shift; done
  nbdkit -r "${opts[@]}" -U - "$VDDK_PLUGIN" "$@" \
    --run 'nbdinfo --map --json "$uri" > vddkmap.json' >&2 || return 1
  grain_map_json vddkmap.json
}

# grain_map_qemu IMAGE [GRAIN]: the same map from "qemu-img map" (data:true).
# IMAGE may be a json: pseudo-filename.
grain_map_qemu ()
{
  qemu-img map --output=json "$1" | /usr/bin/python3 -c '
import json, sys
g = int(sys.argv[1]); ext = json.load(sys.stdin)
end = max(e["start"] + e["length"] for e in ext)
m = bytearray(b"." * ((end + g - 1) // g))
for e in ext:
    if e["data"]:
        for i in range(e["start"] // g, (e["start"] + e["length"] + g - 1) // g):
            m[i] = ord("D")
print(m.decode())' "${2:-65536}"
}

# same_map NAME MAP1 MAP2: compare two grain maps, printing a run-length
# summary of both when they differ.
same_map ()
{
  [ "$2" = "$3" ] && return 0
  echo "FAIL: $1: allocation maps differ" >&2
  /usr/bin/python3 - "$2" "$3" <<'PY' >&2
import sys, itertools
for name, m in (("nbd/first ", sys.argv[1]), ("qemu/second", sys.argv[2])):
    print(name, " ".join("%s*%d" % (k, len(list(g))) for k, g in itertools.groupby(m))[:2000])
a, b = sys.argv[1], sys.argv[2]
d = [i for i in range(min(len(a), len(b))) if a[i] != b[i]]
print("lengths", len(a), len(b), "first differing grains", d[:20])
PY
  return 1
}

# vmdk_descriptor FILE: print the text descriptor of FILE (the embedded
# one if FILE is a KDMV sparse extent).
vmdk_descriptor ()
{
  /usr/bin/python3 - "$1" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
if data[:4] == b"KDMV":
    off, size = struct.unpack_from("<QQ", data, 28)
    data = data[off * 512:(off + size) * 512]
sys.stdout.write(data.split(b"\0", 1)[0].decode("utf-8", "replace"))
PY
}

# ddb_value FILE KEY: value of a descriptor header or DDB key (quotes
# stripped), e.g. ddb_value x.vmdk createType, ddb_value x.vmdk ddb.adapterType
ddb_value ()
{
  vmdk_descriptor "$1" | /usr/bin/python3 -c '
import re, sys
key = sys.argv[1].lower()
for line in sys.stdin:
    m = re.match(r"\s*([A-Za-z0-9_.]+)\s*=\s*\"?([^\"]*)\"?\s*$", line)
    if m and m.group(1).lower() == key:
        print(m.group(2)); break' "$2"
}

# expect_clean_failure REGEX CMD...: CMD must fail within 120 s, must not
# crash (killed by a signal, sanitizer report, assertion), and its output
# (stdout+stderr) must match the extended regex REGEX (case-insensitive).
# If ECF_FILTER is set (e.g. ECF_FILTER='^nbdkit: .*error'), only the output
# lines matching it are searched, so that client messages cannot match.
# The output is always printed so the actual messages can be read in the log.
expect_clean_failure ()
{
  local regex=$1 out rc
  shift
  out=$(timeout -k 5 120 "$@" 2>&1) && rc=0 || rc=$?
  echo "---- output of: $* (exit $rc)"
  echo "$out"
  echo "----"
  grep -E 'error' <<<"$out" | sed 's/^/ERROR-MESSAGE: /' || true
  if [ "$rc" -eq 0 ]; then
    echo "FAIL: expected failure, but command succeeded" >&2; return 1
  fi
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "FAIL: command hung (timed out)" >&2; return 1
  fi
  if [ "$rc" -ge 128 ]; then
    echo "FAIL: command crashed (signal $((rc - 128)))" >&2; return 1
  fi
  if grep -Eq 'Segmentation fault|core dumped|Aborted|AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:|Assertion .* failed|double free|stack smashing|malloc\(\)' <<<"$out"; then
    echo "FAIL: output shows a crash" >&2; return 1
  fi
  if ! grep -E -- "${ECF_FILTER:-.}" <<<"$out" | grep -Eiq -- "$regex"; then
    echo "FAIL: error output${ECF_FILTER:+ (lines matching /$ECF_FILTER/)} does not match /$regex/ (case-insensitive)" >&2
    return 1
  fi
}

# vddk_serve_fails REGEX [NBDKIT-OPTS...] FILE [PARAMS...]: serving FILE and
# reading the whole export must fail cleanly with an error from nbdkit (not
# from the client) matching REGEX.
# (nbdcopy --synchronous: nbdkit 1.32.5 itself can abort with "raw_send_socket:
# Assertion `sock >= 0' failed" when a client disconnects while replies to
# other in-flight requests are still being sent.)
vddk_serve_fails ()
{
  local regex=$1 opts=()
  shift
  while [ $# -gt 0 ] && [[ $1 == -* ]]; do opts+=("$1"); shift; done
  rm -f serve-fails.out
  ECF_FILTER='^nbdkit: .*error' expect_clean_failure "$regex" \
    nbdkit "${opts[@]}" -U - "$VDDK_PLUGIN" "$@" \
      --run 'nbdcopy --synchronous "$uri" serve-fails.out' || return 1
  # The same file through the AddressSanitizer/UBSan build of the library
  # (make check builds it): the same message, and no sanitizer report.
  if [ -n "${ASAN_BUILDDIR:-}" ] && [ $# -eq 1 ]; then
    ECF_FILTER='^vdl-driver: ' expect_clean_failure "$regex" \
      env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 \
        "$ASAN_BUILDDIR/tests/vdl-driver" cat "$1" ||
      return 1
  fi
}

# default_write_specs SIZE: nbd_write_mirror specs for a disk of SIZE bytes
# (>= 8 MiB) filled by make_pattern/pattern_region from offset 0: partial
# grains, writes into unallocated grains (make_pattern leaves [3M,4M) empty),
# grain-crossing and allocated/unallocated-crossing writes, zero writes, a
# large unaligned write and the last sector.
default_write_specs ()
{
  local size=$1 M=$((1<<20)) G=65536
  echo "0:512" \
       "$((3*G + 1536)):4096" \
       "$((3*M + G + 512)):1024" \
       "$((3*M + 5*G - 2048)):8192" \
       "$((4*M - 4096)):8192" \
       "$((5*M + 512)):$M" \
       "$((2*M)):$G:zero" \
       "$((2*M + 2*G + 512)):$((G + 1024)):wzero" \
       "$((size - 512)):512"
}

# qemu_roundtrip IMAGE MODE [SPEC...]: the common body of test-qemu-*.sh.
# IMAGE (absolute path) was made by qemu-img.  MODE is a comma list of
#   ro     only serve read-only (no write phase)
#   map    compare nbdinfo --map with qemu-img map at 64 KiB granularity
# Checks: the bytes served (with -r and without) equal qemu-img's decoding;
# then (unless ro) SPEC writes are done through NBD and mirrored on a raw
# reference; after nbdkit exits qemu-img check is clean, qemu-img compare
# finds the image equal to the reference, and nbdkit serves the same bytes.
qemu_roundtrip ()
{
  local img=$1 mode=$2 uri m1 m2
  shift 2
  qemu-img info "$img"
  qemu_to_raw "$img" qemu.raw
  vddk_to_raw nbd.raw -r "$img"
  same_raw nbd.raw qemu.raw
  m1=$(grain_map_vddk "$img")
  holes_read_zero "$m1" qemu.raw
  if [[ $mode != *ro* ]]; then
    # opening read-write but only reading must give the same bytes
    vddk_to_raw nbd.raw "$img"
    same_raw nbd.raw qemu.raw
  fi
  rm -f nbd.raw
  if [[ $mode == *map* ]]; then
    m2=$(grain_map_qemu "$img")
    same_map "map of $img" "$m1" "$m2"
  fi
  [[ $mode == *ro* ]] && { rm -f qemu.raw; return 0; }

  mv qemu.raw ref.raw
  rm -f rt.sock
  start_nbdkit -P rt.pid -U "$PWD/rt.sock" "$VDDK_PLUGIN" "$img"
  uri="nbd+unix:///?socket=$PWD/rt.sock"
  nbd_write_mirror "$uri" ref.raw "$@"
  kill_nbdkit rt.pid

  qemu-img check "$img"
  qemu-img compare -f vmdk -F raw "$img" ref.raw
  vddk_to_raw nbd.raw -r "$img"
  same_raw nbd.raw ref.raw
  m1=$(grain_map_vddk "$img")
  holes_read_zero "$m1" nbd.raw
  rm -f nbd.raw
  if [[ $mode == *map* ]]; then
    m2=$(grain_map_qemu "$img")
    same_map "map of $img after writes" "$m1" "$m2"
  fi
  rm -f ref.raw
}

# vmdk_extents FILE: print "ACCESS<TAB>SECTORS<TAB>TYPE<TAB>FILENAME<TAB>OFFSET"
# for every extent line of FILE's descriptor.
vmdk_extents ()
{
  vmdk_descriptor "$1" | /usr/bin/python3 -c '
import re, sys
for line in sys.stdin:
    m = re.match(r"\s*(RW|RDONLY|NOACCESS)\s+(\d+)\s+([A-Za-z]+)(?:\s+\"([^\"]*)\")?(?:\s+(\d+))?", line)
    if m:
        print("\t".join(x or "" for x in m.groups()))'
}

# flat_concat DESCRIPTOR OUT: concatenate the FLAT/VMFS extents of a flat
# descriptor into the raw file OUT (a reference independent of qemu-img for
# types it cannot open).
flat_concat ()
{
  local dir
  dir=$(dirname "$1")
  vmdk_extents "$1" | /usr/bin/python3 -c '
import os, sys
d, out = sys.argv[1], sys.argv[2]
with open(out, "wb") as o:
    for line in sys.stdin:
        acc, n, typ, name, off = line.rstrip("\n").split("\t")
        n = int(n) * 512; off = int(off or 0) * 512
        assert typ.upper() in ("FLAT", "VMFS"), typ
        with open(os.path.join(d, name), "rb") as f:
            f.seek(off); data = f.read(n)
        o.write(data + bytes(n - len(data)))' "$dir" "$2"
}

# create_roundtrip TYPE CREATETYPE-REGEX SIZE [PARAMS...]: the body of
# test-create-*.sh.  Makes input.qcow2 from in.raw (SIZE bytes, made by the
# caller), then as in the man page
#   nbdkit -U - vddk /abs/out.vmdk create=true create-type=TYPE
#          create-size=SIZE PARAMS --run 'qemu-img convert input.qcow2 $uri'
# and checks: the descriptor's createType matches ^(CREATETYPE-REGEX)$,
# the extent files exist and add up to SIZE, qemu-img check accepts it and
# qemu-img compare finds it equal to the input (if qemu can open the
# createType, else the concatenated flat extents must equal in.raw), and
# nbdkit vddk serves the input's bytes (-r and read-write).
# Sets CREATED to the absolute path of the new descriptor.
create_roundtrip ()
{
  local type=$1 ctre=$2 size=$3 out ct want total
  shift 3
  out="$PWD/out-$type.vmdk"
  CREATED=$out
  [ "$(stat -c %s in.raw)" -eq "$size" ]
  qemu-img convert -f raw -O qcow2 in.raw input.qcow2
  want=$(sha256sum < in.raw | cut -d' ' -f1)
  [ ! -e "$out" ]

  nbdkit -U - "$VDDK_PLUGIN" "$out" create=true create-type="$type" \
    create-size="$size" "$@" --run 'qemu-img convert input.qcow2 "$uri"'

  ls -ls out-"$type"*
  vmdk_descriptor "$out"
  ct=$(ddb_value "$out" createType)
  echo "createType=$ct"
  if ! [[ $ct =~ ^($ctre)$ ]]; then
    echo "FAIL: createType '$ct' does not match /^($ctre)\$/" >&2; return 1
  fi
  vmdk_extents "$out" > extents.txt
  cat extents.txt
  [ -s extents.txt ] || { echo "FAIL: no extent lines" >&2; return 1; }
  total=0
  while IFS=$'\t' read -r _acc n _typ name _off; do
    total=$((total + n * 512))
    if [ -n "$name" ] && [ ! -f "$(dirname "$out")/$name" ]; then
      echo "FAIL: extent file $name missing" >&2; return 1
    fi
  done < extents.txt
  if [ "$total" -ne "$size" ]; then
    echo "FAIL: extents add up to $total bytes, not $size" >&2; return 1
  fi

  case "$ct" in
    monolithicSparse|monolithicFlat|twoGbMaxExtentSparse|twoGbMaxExtentFlat|vmfs|vmfsSparse|streamOptimized)
      qemu-img info "$out"
      qemu-img check "$out"
      qemu-img compare -f vmdk -F qcow2 "$out" input.qcow2
      ;;
    *)
      echo "qemu-img cannot open createType=$ct; checking the flat extents instead"
      flat_concat "$out" concat.raw
      same_raw concat.raw in.raw
      rm -f concat.raw
      ;;
  esac

  local got
  got=$(vddk_sha256 -r "$out")
  [ "$got" = "$want" ] || { echo "FAIL: re-served (-r) sha256 $got != $want" >&2; return 1; }
  got=$(vddk_sha256 "$out")
  [ "$got" = "$want" ] || { echo "FAIL: re-served (rw) sha256 $got != $want" >&2; return 1; }
}

# get_le FILE BYTE-OFFSET SIZE: read a little-endian unsigned integer.
get_le ()
{
  /usr/bin/python3 -c '
import sys
with open(sys.argv[1], "rb") as f:
    f.seek(int(sys.argv[2])); b = f.read(int(sys.argv[3]))
assert len(b) == int(sys.argv[3]), "short read"
print(int.from_bytes(b, "little"))' "$@"
}

# put_le FILE BYTE-OFFSET SIZE VALUE: overwrite a little-endian integer.
put_le ()
{
  /usr/bin/python3 -c '
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); f.write(int(sys.argv[4]).to_bytes(int(sys.argv[3]), "little"))' "$@"
}

# sparse_header FILE: print the KDMV header fields as shell assignments
# (eval them): version flags capacity grain_size desc_offset desc_size
# num_gtes rgd_offset gd_offset overhead compress.
sparse_header ()
{
  /usr/bin/python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read(512)
assert d[:4] == b"KDMV", "not a KDMV file"
v, fl, cap, gs, do, ds, ng, rgd, gd, oh = struct.unpack_from("<IIQQQQIQQQ", d, 4)
comp, = struct.unpack_from("<H", d, 77)
print("version=%d flags=%d capacity=%d grain_size=%d desc_offset=%d desc_size=%d "
      "num_gtes=%d rgd_offset=%d gd_offset=%d overhead=%d compress=%d"
      % (v, fl, cap, gs, do, ds, ng, rgd, gd, oh, comp))' "$1"
}

# single_link_name IMAGE: a qemu json: filename opening only IMAGE's own
# link (backing chain cut), the qemu-img equivalent of single-link=true.
single_link_name ()
{
  printf 'json:{"driver":"vmdk","file":{"driver":"file","filename":"%s"},"backing":null}' "$1"
}

# holes_read_zero MAP RAW [GRAIN]: every grain that MAP (from grain_map_*)
# does not mark as data must be all zeroes in the raw file RAW - a hole is
# advertised with the NBD "zero" flag, so clients skip reading it.
holes_read_zero ()
{
  /usr/bin/python3 - "$1" "$2" "${3:-65536}" <<'PY'
import sys
m, raw, g = sys.argv[1], sys.argv[2], int(sys.argv[3])
bad = []
with open(raw, "rb") as f:
    for i, c in enumerate(m):
        if c != "D":
            f.seek(i * g)
            if f.read(g).strip(b"\0"):
                bad.append(i)
if bad:
    sys.exit("FAIL: grains reported as holes but holding data: %r" % bad[:20])
PY
}

# make_vddk_distrib OUT: build the VDDK directory into OUT with
# scripts/vddk-distrib.sh (in the Debian 11 root it keeps in the build
# tree) and set $dist to OUT/vmware-vix-disklib-distrib.  Skips the test
# where that root cannot be made: not root, no mmdebstrap/debootstrap,
# or the Debian archive out of reach (the script's exit status 3).
make_vddk_distrib ()
{
  local rc=0
  if [ "$(id -u)" != 0 ]; then
    echo "SKIP: building in the Debian 11 root needs root (chroot)"
    exit 77
  fi
  if ! command -v mmdebstrap >/dev/null && ! command -v debootstrap >/dev/null; then
    echo "SKIP: neither mmdebstrap nor debootstrap is installed"
    exit 77
  fi
  "$srcdir/scripts/vddk-distrib.sh" "$builddir" "$1" || rc=$?
  if [ "$rc" = 3 ]; then
    echo "SKIP: no Debian 11 root: debootstrap cannot reach the Debian archive"
    exit 77
  fi
  [ "$rc" = 0 ] || { echo "make_vddk_distrib: vddk-distrib.sh failed ($rc)" >&2; return 1; }
  dist=$1/vmware-vix-disklib-distrib
}
