# Helpers sourced by every tests/test-*.sh script.
# The runner (tests/run-tests.sh) exports srcdir, builddir, SAMPLES,
# VDDK_PLUGIN (the build tree plugin, whose default libdir is VDDK_LIBDIR)
# and runs each script in its own empty temporary directory.

: "${VDDK_PLUGIN:?run tests through tests/run-tests.sh}"

# requires CMD...: skip the test (exit 77) unless each command works.
requires ()
{
  if ! "$@" >/dev/null 2>&1; then
    echo "SKIP: requires $*"
    exit 77
  fi
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
