# SPDX-License-Identifier: BSD-3-Clause
# Helpers for the remote (ESXi / vCenter) tests, sourced after
# functions.sh.  The "server" is vcsim, govmomi's vSphere simulator, built
# from scripts/vcsim (see docs/testing-remote.md for what it can and
# cannot do).  Every helper works on the simulator last started (or
# selected with vcsim_use) through these exported variables:
#
#   VCSIM_URL            https://127.0.0.1:PORT/sdk
#   VCSIM_HOST           127.0.0.1 (::1 with --ipv6: as given to server=)
#   VCSIM_PORT           PORT
#   VCSIM_THUMBPRINT     SHA-1 thumbprint XX:XX:... (20 pairs), from openssl
#   VCSIM_THUMBPRINT256  SHA-256 thumbprint XX:XX:... (32 pairs)
#   VCSIM_USER, VCSIM_PASSWORD   credentials that log in
#   VCSIM_API            VirtualCenter (default) or HostAgent (--esx)
#   VCSIM_DC             datacenter name (DC0, ha-datacenter); the dcPath
#   VCSIM_DS             datastore name (LocalDS_0)
#   VCSIM_DS_DIR         the local directory holding that datastore
#   VCSIM_VM, VCSIM_VM_NAME   default VM: vm-57 DC0_H0_VM0 / vm-9 ha-host_VM0
#   VCSIM_DIR            this simulator's directory (cert, key, log, env)
#   VCSIM_CERT           its certificate (PEM)
#   VCSIM_FOLDER_DECODES how many times /folder decodes dcPath and dsName:
#                        2 for the vCenter model, 1 for ESXi (or as
#                        -folder-decoding says)

VCSIM_FIXTURE="$srcdir/tests/vcsim-fixture.py"
CUT_PROXY="$srcdir/tests/cut-proxy.py"
_vcsim_count=0 _cut_proxy_count=0

# vcsim_requires: skip the test (exit 77) unless the simulator can be
# built (or is built) and the fixtures can run.
vcsim_requires ()
{
  requires openssl version
  requires curl --version
  requires /usr/bin/python3 -c 'import pyVmomi'
  if [ ! -x "$builddir/vcsim" ]; then
    requires go version
    if [ ! -d /usr/share/gocode/src/github.com/vmware/govmomi/simulator ]; then
      echo "SKIP: requires golang-github-vmware-govmomi-dev"
      exit 77
    fi
  fi
}

# vcsim_build: build the simulator into $builddir/vcsim unless it is
# newer than every scripts/vcsim/*.go (once per build tree; a lock keeps
# tests run in parallel from building it twice at once).
vcsim_build ()
{
  flock "$builddir/.vcsim.lock" "$srcdir/scripts/vcsim/build.sh" "$builddir/vcsim" ||
    { echo "vcsim_build: building the simulator failed" >&2; return 1; }
}

# start_vcsim [--esx] [--ipv6] [--user U --password P] [-- SIMULATOR-FLAGS...]:
# start a simulator in the
# background (vCenter model, or ESXi with --esx) on 127.0.0.1 (::1 with
# --ipv6), with a new RSA-2048 self-signed certificate for that address,
# wait until it serves,
# stop it when the test exits, and export the VCSIM_* variables above.
# With --user/--password only that pair logs in; otherwise any non-empty
# user and password do (VCSIM_USER=root, VCSIM_PASSWORD=vcsim).  Flags
# after "--" go to the simulator as they are (the bed's features in
# scripts/vcsim/*.go each have their own).
start_vcsim ()
{
  local esx=() user='' pass='' expect=DC0_H0_VM0 dir i pid url fp creds=()
  local extra=() addr=127.0.0.1 urlhost=127.0.0.1
  local timeout=${VCSIM_START_TIMEOUT:-30}
  while [ $# -gt 0 ]; do
    case $1 in
      --esx) esx=(-esx); expect=ha-host_VM0; shift ;;
      --ipv6) addr=::1 urlhost='[::1]'; shift ;;
      --user) user=$2; shift 2 ;;
      --password) pass=$2; shift 2 ;;
      --) shift; extra=("$@"); break ;;
      *) echo "start_vcsim: unknown option $1" >&2; return 1 ;;
    esac
  done
  if [ -n "$user" ] && [ -z "$pass" ]; then
    echo "start_vcsim: --user needs --password" >&2; return 1
  fi
  [ -n "$user" ] && creds=(-username "$user" -password "$pass")
  # How /folder will decode its query (scripts/vcsim/folder_decoding.go).
  VCSIM_FOLDER_DECODES=2
  [ ${#esx[@]} -gt 0 ] && VCSIM_FOLDER_DECODES=1
  for (( i=0; i<${#extra[@]}; i++ )); do
    case ${extra[i]} in
      -folder-decoding=once|--folder-decoding=once) VCSIM_FOLDER_DECODES=1 ;;
      -folder-decoding=twice|--folder-decoding=twice) VCSIM_FOLDER_DECODES=2 ;;
      -folder-decoding|--folder-decoding)
        case ${extra[i+1]} in
          once) VCSIM_FOLDER_DECODES=1 ;;
          twice) VCSIM_FOLDER_DECODES=2 ;;
        esac ;;
    esac
  done
  export VCSIM_FOLDER_DECODES
  vcsim_requires
  vcsim_build || return 1

  _vcsim_count=$((_vcsim_count + 1))
  dir="$PWD/vcsim-$_vcsim_count"
  mkdir -p "$dir/tmp"
  # Real ESXi hosts have a self-signed RSA-2048 certificate (rui.crt).
  if ! openssl req -x509 -newkey rsa:2048 -nodes -days 30 \
       -subj "/CN=$addr" -addext "subjectAltName=IP:$addr" \
       -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>"$dir/openssl.log"; then
    cat "$dir/openssl.log" >&2
    echo "start_vcsim: cannot make a certificate" >&2; return 1
  fi

  # TMPDIR: the datastores (govcsim-*) are made in the test's directory,
  # so nothing is left behind even if the simulator is killed.
  TMPDIR="$dir/tmp" "$builddir/vcsim" "${esx[@]}" -listen "$urlhost:0" \
    -cert "$dir/cert.pem" -key "$dir/key.pem" -urlfile "$dir/url" \
    "${creds[@]}" "${extra[@]}" \
    > "$dir/log" 2>&1 &
  pid=$!
  echo "$pid" > "$dir/pid"
  cleanup_fn stop_vcsim "$dir"
  for (( i=0; i<timeout*10; i++ )); do
    [ -s "$dir/url" ] && break
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "start_vcsim: the simulator exited at start; its log:" >&2
      cat "$dir/log" >&2
      return 1
    fi
    sleep 0.1
  done
  if [ ! -s "$dir/url" ]; then
    echo "start_vcsim: no URL from the simulator after $timeout s; its log:" >&2
    cat "$dir/log" >&2
    return 1
  fi

  url=$(cat "$dir/url")
  if [ "${url%:*}" != "https://$urlhost" ] ||
     ! [[ ${url##*:} =~ ^([0-9]+)/sdk$ ]]; then
    echo "start_vcsim: unexpected URL '$url'" >&2; return 1
  fi
  export VCSIM_URL=$url VCSIM_HOST=$addr VCSIM_PORT=${BASH_REMATCH[1]}
  export VCSIM_DIR=$dir VCSIM_CERT=$dir/cert.pem VCSIM_PID=$pid

  # The thumbprint as a client sees it, the way the man page says to get
  # it; it must be the one of the certificate we made.
  fp=$(openssl s_client -connect "$urlhost:$VCSIM_PORT" </dev/null 2>/dev/null |
       openssl x509 -noout -fingerprint -sha1 2>/dev/null) || fp=
  fp=${fp#*=}
  if [ "$fp" != "$(openssl x509 -in "$dir/cert.pem" -noout -fingerprint -sha1 | sed 's/.*=//')" ]; then
    echo "start_vcsim: the server's SHA-1 thumbprint '$fp' is not its certificate's" >&2
    return 1
  fi
  export VCSIM_THUMBPRINT=$fp
  VCSIM_THUMBPRINT256=$(openssl x509 -in "$dir/cert.pem" -noout -fingerprint -sha256)
  export VCSIM_THUMBPRINT256=${VCSIM_THUMBPRINT256#*=}
  export VCSIM_USER=${user:-root} VCSIM_PASSWORD=${pass:-vcsim}

  # Names and morefs as the server reports them.
  local envtext
  envtext=$(vcsim_fixture env "$expect") || return 1
  eval "$envtext"
  export VCSIM_API VCSIM_DC VCSIM_DC_MOREF VCSIM_DS VCSIM_DS_DIR VCSIM_DS_URL \
         VCSIM_VM VCSIM_VM_NAME
  if [ "$VCSIM_VM_NAME" != "$expect" ]; then
    echo "start_vcsim: warning: no VM named $expect; default VM is $VCSIM_VM $VCSIM_VM_NAME" >&2
  fi
  declare -p VCSIM_URL VCSIM_HOST VCSIM_PORT VCSIM_DIR VCSIM_CERT VCSIM_PID \
    VCSIM_THUMBPRINT VCSIM_THUMBPRINT256 VCSIM_USER VCSIM_PASSWORD VCSIM_API \
    VCSIM_DC VCSIM_DC_MOREF VCSIM_DS VCSIM_DS_DIR VCSIM_DS_URL VCSIM_VM \
    VCSIM_VM_NAME VCSIM_FOLDER_DECODES | sed 's/^declare -[a-z]* /export /' > "$dir/env"
  echo "start_vcsim: $VCSIM_API at $VCSIM_URL, thumbprint $VCSIM_THUMBPRINT," \
       "datacenter $VCSIM_DC, datastore $VCSIM_DS, VM $VCSIM_VM ($VCSIM_VM_NAME)," \
       "dir $dir"
}

# start_vcsim_model MODEL [START_VCSIM-ARGS...]: start_vcsim in the
# vCenter model (MODEL vcenter) or the ESXi one (esx), for tests that
# run in both: for model in vcenter esx; do start_vcsim_model $model ...
start_vcsim_model ()
{
  local model=$1
  shift
  case $model in
    vcenter) start_vcsim "$@" ;;
    esx) start_vcsim --esx "$@" ;;
    *) echo "start_vcsim_model: unknown model $model" >&2; return 1 ;;
  esac
}

# vcsim_use DIR: make the simulator started in DIR (its VCSIM_DIR) the
# current one again, e.g. after starting a second one.
vcsim_use ()
{
  [ -s "$1/env" ] || { echo "vcsim_use: no simulator in $1" >&2; return 1; }
  # shellcheck disable=SC1091
  . "$1/env"
}

# stop_vcsim DIR: SIGTERM the simulator started in DIR and wait until it
# has exited (it removes its datastores on the way out).
stop_vcsim ()
{
  local pid i
  [ -s "$1/pid" ] || return 0
  pid=$(cat "$1/pid")
  rm -f "$1/pid"
  kill -TERM "$pid" 2>/dev/null || return 0
  for (( i=0; i<100; i++ )); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    sleep 0.1
  done
  echo "stop_vcsim: simulator $pid ignored SIGTERM; killing it" >&2
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

# vcsim_fixture SUBCOMMAND ARGS...: run tests/vcsim-fixture.py (pyvmomi).
vcsim_fixture ()
{
  /usr/bin/python3 "$VCSIM_FIXTURE" "$@"
}

# _vcsim_split "[ds] dir/file": set _ds and _rel, or fail.
_vcsim_split ()
{
  if ! [[ $1 =~ ^\[([^]]+)\]\ (.+)$ ]]; then
    echo "not a datastore path \"[ds] dir/file\": '$1'" >&2; return 1
  fi
  _ds=${BASH_REMATCH[1]} _rel=${BASH_REMATCH[2]}
}

# _vcsim_enc STRING: percent-encode for a URL path (slashes kept).
# _vcsim_url_host: HOST:PORT of the simulator for a URL ([::1]:PORT).
_vcsim_url_host ()
{
  case $VCSIM_HOST in
    *:*) echo "[$VCSIM_HOST]:$VCSIM_PORT" ;;
    *) echo "$VCSIM_HOST:$VCSIM_PORT" ;;
  esac
}

_vcsim_enc ()
{
  /usr/bin/python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="/"))' "$1"
}

# _vcsim_query_enc STRING: a /folder query value, percent-encoded as
# many times as the simulator decodes it (VCSIM_FOLDER_DECODES).
_vcsim_query_enc ()
{
  /usr/bin/python3 -c '
import sys, urllib.parse
s = sys.argv[1]
for _ in range(int(sys.argv[2])):
    s = urllib.parse.quote(s, safe="")
print(s)' "$1" "${VCSIM_FOLDER_DECODES:-1}"
}

# vcsim_folder_url "[ds] dir/file": the https://.../folder/... URL of a
# datastore file, as ESXi and vCenter serve it (VCSIM_DC is the dcPath:
# set it to "Folder/DC" for a datacenter in a folder).
vcsim_folder_url ()
{
  local _ds _rel
  _vcsim_split "$1" || return 1
  echo "https://$(_vcsim_url_host)/folder/$(_vcsim_enc "$_rel")?dcPath=$(_vcsim_query_enc "$VCSIM_DC")&dsName=$(_vcsim_query_enc "$_ds")"
}

# vcsim_ds_path "[ds] dir/file": the local path of a datastore file.
vcsim_ds_path ()
{
  local _ds _rel dir
  _vcsim_split "$1" || return 1
  if [ "$_ds" = "$VCSIM_DS" ]; then
    dir=$VCSIM_DS_DIR
  else
    dir=$(vcsim_fixture dsdir "$_ds") || return 1
  fi
  echo "$dir/$_rel"
}

# vcsim_put [--http] LOCALFILE "[ds] dir/file": put a file on the
# datastore, replacing any file of that name (e.g. a VM's placeholder
# disk1.vmdk).  By default the file is copied into the datastore's
# directory (holes kept: fast even for sparse 1 GiB files); with --http
# it is uploaded with curl (PUT /folder/...) and its size checked after,
# since the simulator answers 200 even when the upload broke off.
vcsim_put ()
{
  local http='' src dst size got
  [ "$1" = "--http" ] && { http=1; shift; }
  src=$1
  [ -f "$src" ] || { echo "vcsim_put: no such file: $src" >&2; return 1; }
  size=$(stat -c %s "$src")
  if [ -n "$http" ]; then
    curl -sS -k --fail -T "$src" "$(vcsim_folder_url "$2")" -o /dev/null ||
      { echo "vcsim_put: uploading $src to $2 failed" >&2; return 1; }
    got=$(curl -sS -k --fail -I "$(vcsim_folder_url "$2")" |
          tr -d '\r' | sed -n 's/^[Cc]ontent-[Ll]ength: *//p')
    if [ "$got" != "$size" ]; then
      echo "vcsim_put: $2 has ${got:-no} Content-Length after the upload, not $size" >&2
      return 1
    fi
    return 0
  fi
  dst=$(vcsim_ds_path "$2") || return 1
  if ! { mkdir -p "$(dirname "$dst")" &&
         cp --sparse=always "$src" "$dst.vcsim-put.$$" &&
         mv -f "$dst.vcsim-put.$$" "$dst"; }; then
    rm -f "$dst.vcsim-put.$$"
    echo "vcsim_put: copying $src to $2 failed" >&2
    return 1
  fi
}

# vcsim_get "[ds] dir/file" OUT [CURL-ARGS...]: download a datastore file
# over /folder with curl (-k: the bed's certificate is self-signed).
vcsim_get ()
{
  local url
  url=$(vcsim_folder_url "$1") || return 1
  curl -sS -k --fail -o "$2" "${@:3}" "$url"
}

# vcsim_attach_disk [--replace OLD] VM "[ds] dir/f.vmdk" CAPACITY_BYTES
#                   [PARENT...]
# Make the datastore file (already put there) a VirtualDisk of VM with
# ReconfigVM_Task: its backing fileName, with the backing.parent chain
# PARENT... (nearest first).  The disk already backed by the file (or by
# OLD with --replace, as ESXi does when a snapshot turns a disk into a
# delta) is edited, otherwise a disk is added.  An empty "<name>-flat.vmdk"
# placeholder is put beside the file if missing (the simulator looks for
# it).  Prints nothing on success.
vcsim_attach_disk ()
{
  vcsim_fixture attach "$@"
}

# vcsim_snapshot VM NAME: CreateSnapshot_Task; prints the snapshot moref.
vcsim_snapshot ()
{
  vcsim_fixture snapshot "$@"
}

# vcsim_login USER PASSWORD: log in, print the vmware_soap_session cookie
# value (the session stays logged in, for cookie= tests).
vcsim_login ()
{
  vcsim_fixture login "$@"
}

# vcsim_logout COOKIE: end the session of that cookie.
vcsim_logout ()
{
  vcsim_fixture logout "$@"
}

# vcsim_vm_disks VM [--snapshot SNAP] [--chain] [--long] [--key]: backing
# fileNames of the VM's (or the snapshot's) disks, one a line; --chain
# adds the parents' fileNames (tab separated), --long prefixes capacity
# in bytes, --key the device key (before the capacity).
vcsim_vm_disks ()
{
  vcsim_fixture disks "$@"
}

# vcsim_cbt VM on|off: turn changed block tracking of the VM on or off
# (config.changeTrackingEnabled, which QueryChangedDiskAreas needs).
vcsim_cbt ()
{
  vcsim_fixture cbt "$@"
}

# vcsim_changed_areas VM DEVICEKEY [--snapshot SNAP] [--start N]
#                     [--change-id ID]
# QueryChangedDiskAreas with changeId "*" over the whole disk (calls
# again from startOffset + length until the capacity is covered; with
# --start, one call at N): "START LENGTH" of each area answered, one a
# line; each answer's "answer STARTOFFSET LENGTH AREAS" on stderr.  A
# fault fails with its type on stderr (FileFault, InvalidArgument...).
vcsim_changed_areas ()
{
  vcsim_fixture changed-areas "$@"
}

# vcsim_put_flat RAW SIZE "[ds] dir/NAME.vmdk": write SIZE random bytes
# to RAW, convert them with qemu-img to a monolithicFlat NAME.vmdk (and
# its extent NAME-flat.vmdk) in the current directory, put both files in
# dir/ on the datastore and attach NAME.vmdk to VCSIM_VM with capacity
# SIZE.  RAW and the two local VMDK files stay, to compare reads with.
vcsim_put_flat ()
{
  local raw=$1 size=$2 dst=$3 name
  name=$(basename "$dst" .vmdk)
  head -c "$size" /dev/urandom > "$raw"
  qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat "$raw" "$name.vmdk" ||
    return 1
  vcsim_put "$name.vmdk" "$dst" || return 1
  vcsim_put "$name-flat.vmdk" "${dst%.vmdk}-flat.vmdk" || return 1
  vcsim_attach_disk "$VCSIM_VM" "$dst" "$size"
}

# vcsim_fetched NAME LOG: "BYTES GETS" that the library's GETs of the
# datastore file NAME (its last component, e.g. base-flat.vmdk) brought,
# from its closing line in LOG (nbdkit -v's debug output).
vcsim_fetched ()
{
  sed -n "s/.*closing .*[/ ]$1: \([0-9]*\) bytes read in \([0-9]*\) GETs.*/\1 \2/p" \
    "$2" | tail -n 1
}

# vcsim_nbdkit [--timeout SECS] [NBDKIT-OPTIONS...] "[ds] dir/f.vmdk" [ARGS...]:
# nbdkit -U - with the plugin serving that disk of the current simulator,
# with the usual connection parameters: user=$VCSIM_USER, password=+pw
# (the file pw, written here with $VCSIM_PASSWORD), server=$VCSIM_HOST,
# port=$VCSIM_PORT, thumbprint=$VCSIM_THUMBPRINT, vm=moref=$VCSIM_VM.
# Leading words starting with "-" are nbdkit's options (one word each:
# -fv, --filter=retry) and go before the plugin; ARGS (more parameters,
# then --run COMMAND) go after the disk.  --timeout (ours, not nbdkit's)
# kills it after SECS.  To go through a proxy or to another VM, set the
# variable for the one call: VCSIM_PORT=$CUT_PROXY_PORT vcsim_nbdkit ...
vcsim_nbdkit ()
{
  local opts=() wrap=()
  while [[ $1 == -* ]]; do
    if [ "$1" = --timeout ]; then
      wrap=(timeout -k 10 "$2"); shift 2
    else
      opts+=("$1"); shift
    fi
  done
  vcsim_plugin_params
  "${wrap[@]}" nbdkit -U - "${opts[@]}" "$VDDK_PLUGIN" \
    "${VCSIM_PLUGIN_PARAMS[@]}" "$@"
}

# vcsim_plugin_params: set the array VCSIM_PLUGIN_PARAMS to the plugin's
# connection parameters for the current simulator, as vcsim_nbdkit
# passes them (and write the password file pw they name).
vcsim_plugin_params ()
{
  printf %s "$VCSIM_PASSWORD" > pw
  VCSIM_PLUGIN_PARAMS=(user="$VCSIM_USER" password=+pw server="$VCSIM_HOST"
                       port="$VCSIM_PORT" thumbprint="$VCSIM_THUMBPRINT"
                       vm=moref="$VCSIM_VM")
}

# _start_proxy NAME SCRIPT [OPTIONS...]: start a proxy script of ours
# (its first three arguments are a file for its port, the host and the
# port it forwards to) in front of the current simulator, wait for its
# port, stop it at exit.  Sets _proxy_port, _proxy_log and _proxy_pid.
_start_proxy ()
{
  local name=$1 script=$2 n dir=$PWD i pid
  shift 2
  _proxy_count=$((${_proxy_count:-0} + 1))
  n=$name-$_proxy_count
  rm -f "$dir/$n.port"
  /usr/bin/python3 "$script" "$dir/$n.port" "$VCSIM_HOST" "$VCSIM_PORT" \
    --log "$dir/$n.log" "$@" 2> "$dir/$n.err" &
  pid=$!
  cleanup_fn _stop_pid "$pid"
  for (( i=0; i<300; i++ )); do
    [ -s "$dir/$n.port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ ! -s "$dir/$n.port" ]; then
    echo "start_$name: the proxy did not start:" >&2
    cat "$dir/$n.err" >&2
    return 1
  fi
  _proxy_port=$(cat "$dir/$n.port") _proxy_log=$dir/$n.log _proxy_pid=$pid
}

# start_cut_proxy [OPTIONS...]: start tests/cut-proxy.py in front of the
# current simulator (see that script for --cut-after, --cuts,
# --stall-after, --stalls, --refuse, --rst) and stop it at exit.  Exports
# CUT_PROXY_PORT (connect there instead of VCSIM_PORT: the thumbprint is
# the same) and CUT_PROXY_LOG (its event log).
start_cut_proxy ()
{
  _start_proxy cut_proxy "$CUT_PROXY" "$@" || return 1
  export CUT_PROXY_PORT=$_proxy_port CUT_PROXY_LOG=$_proxy_log \
         CUT_PROXY_PID=$_proxy_pid
}

# start_wan_proxy [OPTIONS...]: start tests/wan-proxy.py in front of the
# current simulator: a modelled wide-area network (by default 50 MB/s
# per connection and 2 ms each way; see that script for --rate, --delay,
# --reset-after, --reset-from, --resets) and stop it at exit.  Exports
# WAN_PROXY_PORT (connect there instead of VCSIM_PORT: the thumbprint is
# the same) and WAN_PROXY_LOG (its event log, with the connections open
# at once: "conn 3: open (2 open, peak 3)").
start_wan_proxy ()
{
  _start_proxy wan_proxy "$srcdir/tests/wan-proxy.py" "$@" || return 1
  export WAN_PROXY_PORT=$_proxy_port WAN_PROXY_LOG=$_proxy_log \
         WAN_PROXY_PID=$_proxy_pid
}

# wan_proxy_peak [LOG]: the most connections the proxy had open at once.
wan_proxy_peak ()
{
  sed -n 's/.*open, peak \([0-9]*\)).*/\1/p' "${1:-$WAN_PROXY_LOG}" | sort -n | tail -n 1
}

# _stop_pid PID: SIGTERM a background process of this test and reap it.
_stop_pid ()
{
  kill -TERM "$1" 2>/dev/null || return 0
  wait "$1" 2>/dev/null || true         # its status is the TERM's
}

# vmdk_set_parent_hint FILE HINT: rewrite the parentFileNameHint of a
# VMDK (text descriptor, or the descriptor embedded in a sparse extent)
# in place, e.g. to the relative name of the parent as ESXi writes it,
# or to "/vmfs/volumes/DATASTORE/dir/parent.vmdk".
vmdk_set_parent_hint ()
{
  /usr/bin/python3 - "$1" "$2" <<'PY'
import re, struct, sys
path, hint = sys.argv[1], sys.argv[2]
with open(path, "r+b") as f:
    head = f.read(512)
    if head[:4] == b"KDMV":
        off, size = struct.unpack_from("<QQ", head, 28)
        if off == 0:
            sys.exit("vmdk_set_parent_hint: %s has no embedded descriptor" % path)
        start, room = off * 512, size * 512
    else:
        start, room = 0, None
    f.seek(start)
    data = f.read(room) if room else f.read()
    text = data.split(b"\0", 1)[0]
    new, n = re.subn(rb'(?m)^parentFileNameHint\s*=\s*"[^"]*"',
                     b'parentFileNameHint="' + hint.encode() + b'"', text)
    if n != 1:
        sys.exit("vmdk_set_parent_hint: %s has %d parentFileNameHint lines" % (path, n))
    if room is not None:
        if len(new) > room:
            sys.exit("vmdk_set_parent_hint: the descriptor no longer fits")
        new = new.ljust(room, b"\0")
        f.seek(start); f.write(new)
    else:
        f.seek(0); f.truncate(); f.write(new)
PY
}
