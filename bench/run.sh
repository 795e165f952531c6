#!/bin/bash
# Benchmark: nbdkit vddk (this project's plugin + library) against peers
# measured in the same run on the same files:
#   qemu-nbd      serving the same VMDK (the reference open-source reader)
#   nbdkit file   serving the raw disk (upper bound: no VMDK decoding)
# Tests: sequential read (nbdcopy --no-extents to null:), random 4 KiB reads
# (Python libnbd loop, queue depth 1, fixed seed), extents listing
# (nbdinfo --map).  Images: monolithicSparse and streamOptimized, ~1 GiB.
# Prints a table with MB/s (or ops/s, seconds) and the ratio to qemu-nbd
# (>1 means faster than qemu-nbd).  Never fails because something is slow.
#
# Usage: bench/run.sh BUILDDIR        (env: BENCH_SIZE=1G, BENCH_RANDOM_OPS=20000)
set -u

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=$(cd "${1:?usage: bench/run.sh BUILDDIR}" && pwd)
size_h=${BENCH_SIZE:-1G}
random_ops=${BENCH_RANDOM_OPS:-20000}

for cmd in nbdkit nbdcopy nbdinfo qemu-img qemu-nbd python3; do
  command -v $cmd >/dev/null || { echo "bench: $cmd is required (make deps)" >&2; exit 1; }
done
/usr/bin/python3 -c 'import nbd' || { echo "bench: python3-libnbd is required" >&2; exit 1; }

# Same layout as tests/run-tests.sh: the test build of the plugin finds the
# build tree library through its compiled-in default libdir.
libdir="$builddir/tests/vddk-libdir"
mkdir -p "$libdir/lib64"
ln -sf "$builddir/lib/libvixDiskLib.so.8" "$libdir/lib64/libvixDiskLib.so.8"
ln -sf libvixDiskLib.so.8 "$libdir/lib64/libvixDiskLib.so"
plugin="$builddir/tests/nbdkit-vddk-plugin.so"
[ -f "$plugin" ] || { echo "bench: $plugin not built (make build)" >&2; exit 1; }

work=$(mktemp -d /tmp/vddk-bench.XXXXXX)
servers=()
cleanup ()
{
  local p
  for p in "${servers[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.2
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
cd "$work"

now () { date +%s.%N; }
elapsed () { /usr/bin/python3 -c "import sys; print('%.3f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }

# ---- make the images ------------------------------------------------------
size=$(/usr/bin/python3 -c '
import sys; s = sys.argv[1]; m = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
print(int(s[:-1]) * m[s[-1].upper()] if s[-1].upper() in m else int(s))' "$size_h")
echo "bench: making a $size-byte disk (3/8 compressible text, 3/8 random, 1/4 holes) ..."
q=$((size / 8))
truncate -s "$size" disk.raw
# compressible: base64 text; random: /dev/urandom; the last quarter stays a hole,
# plus holes scattered every 8 MiB in the text part.
head -c $((q * 3 / 4 * 3)) /dev/urandom | base64 -w 0 | head -c $((q * 3)) |
  dd of=disk.raw conv=notrunc,sparse bs=1M iflag=fullblock status=none
head -c $((q * 3)) /dev/urandom |
  dd of=disk.raw seek=$((q * 3)) oflag=seek_bytes conv=notrunc bs=1M iflag=fullblock status=none
for (( off = 0; off < q * 3; off += 8 << 20 )); do
  fallocate -p -o $off -l $((1 << 20)) disk.raw 2>/dev/null ||
    dd if=/dev/zero of=disk.raw seek=$off oflag=seek_bytes bs=1M count=1 conv=notrunc status=none
done
t0=$(now); qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse disk.raw sparse.vmdk
echo "bench: monolithicSparse made in $(elapsed $t0 $(now)) s"
t0=$(now); qemu-img convert -f raw -O vmdk -o subformat=streamOptimized disk.raw stream.vmdk
echo "bench: streamOptimized made in $(elapsed $t0 $(now)) s"
ls -ls disk.raw sparse.vmdk stream.vmdk

# ---- servers ----------------------------------------------------------------
# start_server NAME CMD...: start a server listening on $work/NAME.sock
start_server ()
{
  local name=$1 i
  shift
  rm -f "$name.sock"
  "$@" &
  servers+=($!)
  for (( i=0; i<100; i++ )); do [ -S "$name.sock" ] && return 0; sleep 0.1; done
  echo "bench: server $name did not start" >&2
  return 1
}
stop_servers ()
{
  local p
  for p in "${servers[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  servers=()
}

# ---- measurements -----------------------------------------------------------
# Each prints one number, or "n/a" on failure; best of two runs.
seq_read ()     # URI -> MB/s
{
  local best=0 t0 t1 s
  for _ in 1 2; do
    t0=$(now)
    nbdcopy --no-extents "$1" null: || { echo n/a; return; }
    t1=$(now)
    s=$(/usr/bin/python3 -c "print('%.1f' % ($size / 1e6 / (float('$t1') - float('$t0'))))")
    best=$(/usr/bin/python3 -c "print(max($best, $s))")
  done
  echo "$best"
}
random_read ()  # URI -> ops/s
{
  /usr/bin/python3 - "$1" "$random_ops" <<'PY' || echo n/a
import nbd, random, sys, time
h = nbd.NBD(); h.connect_uri(sys.argv[1])
n = int(sys.argv[2]); size = h.get_size()
best = 0
for run in range(2):
    r = random.Random(1234)
    offs = [r.randrange(0, size // 4096) * 4096 for _ in range(n)]
    t0 = time.perf_counter()
    for o in offs:
        h.pread(4096, o)
    best = max(best, n / (time.perf_counter() - t0))
h.shutdown()
print("%.0f" % best)
PY
}
map_time ()     # URI -> seconds (and number of extents)
{
  local best=999999 t0 t1 s
  for _ in 1 2; do
    t0=$(now)
    nbdinfo --map "$1" > map.out || { echo n/a; return; }
    t1=$(now)
    s=$(elapsed "$t0" "$t1")
    best=$(/usr/bin/python3 -c "print(min($best, $s))")
  done
  echo "$best"
}

declare -A R
measure ()      # PEER IMAGE-LABEL URI
{
  R[$1,$2,seq]=$(seq_read "$3")
  R[$1,$2,rand]=$(random_read "$3")
  R[$1,$2,map]=$(map_time "$3")
  echo "bench: $1 on $2: seq ${R[$1,$2,seq]} MB/s, random ${R[$1,$2,rand]} ops/s, map ${R[$1,$2,map]} s"
}

for img in sparse stream; do
  start_server vddk nbdkit -f -r -U "$work/vddk.sock" "$plugin" "$work/$img.vmdk" &&
    measure vddk $img "nbd+unix:///?socket=$work/vddk.sock"
  stop_servers
  start_server qemu qemu-nbd -r -f vmdk -e 8 -t -k "$work/qemu.sock" "$work/$img.vmdk" &&
    measure qemu $img "nbd+unix:///?socket=$work/qemu.sock"
  stop_servers
done
start_server file nbdkit -f -r -U "$work/file.sock" file "$work/disk.raw" &&
  measure file raw "nbd+unix:///?socket=$work/file.sock"
stop_servers

# ---- table ------------------------------------------------------------------
ratio ()        # OURS PEER higher-is-better(1)|lower-is-better(0)
{
  /usr/bin/python3 -c '
import sys
a, b, hib = sys.argv[1:]
try:
    a, b = float(a), float(b)
    print("%.2f" % ((a / b) if hib == "1" else (b / a)))
except (ValueError, ZeroDivisionError):
    print("n/a")' "$1" "$2" "$3"
}
echo
echo "nbdkit vddk vs qemu-nbd on a $size-byte disk ($(nproc) CPUs; ratio > 1 = vddk faster)"
printf '%-17s %-22s %12s %12s %14s %14s\n' image test vddk qemu-nbd "raw(file)" "vddk/qemu-nbd"
printf '%-17s %-22s %12s %12s %14s %14s\n' ----- ---- ---- -------- --------- -------------
for img in sparse stream; do
  label=$([ $img = sparse ] && echo monolithicSparse || echo streamOptimized)
  printf '%-17s %-22s %12s %12s %14s %14s\n' $label "seq read (MB/s)" \
    "${R[vddk,$img,seq]:-n/a}" "${R[qemu,$img,seq]:-n/a}" "${R[file,raw,seq]:-n/a}" \
    "$(ratio "${R[vddk,$img,seq]:-}" "${R[qemu,$img,seq]:-}" 1)"
  printf '%-17s %-22s %12s %12s %14s %14s\n' $label "random 4k (ops/s)" \
    "${R[vddk,$img,rand]:-n/a}" "${R[qemu,$img,rand]:-n/a}" "${R[file,raw,rand]:-n/a}" \
    "$(ratio "${R[vddk,$img,rand]:-}" "${R[qemu,$img,rand]:-}" 1)"
  printf '%-17s %-22s %12s %12s %14s %14s\n' $label "extents map (s)" \
    "${R[vddk,$img,map]:-n/a}" "${R[qemu,$img,map]:-n/a}" "${R[file,raw,map]:-n/a}" \
    "$(ratio "${R[vddk,$img,map]:-}" "${R[qemu,$img,map]:-}" 0)"
done
echo "(seq read: nbdcopy --no-extents to null:, whole disk; random: $random_ops reads, queue depth 1;"
echo " map: nbdinfo --map of the whole disk; best of 2 runs each; qemu-nbd may use multi-conn)"
exit 0
