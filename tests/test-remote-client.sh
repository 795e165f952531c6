#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The vSphere client module (lib/remote/remote.h) against the simulator, through
# tests/remote-driver, in both of vcsim's models:
#  - vCenter (govmomi's RSA-1024 test certificate, any login accepted):
#    a file uploaded over a VM's disk placeholder reads back identical
#    (parallel readers, tiny reads served by read-ahead, large direct
#    reads, a snapshot's disk, /vmfs/volumes and local datastore paths,
#    a datacenter inside nested folders); the thumbprint may be SHA-1 in
#    any spelling or SHA-256; a wrong one is refused naming the server's
#    real SHA-1; a session cookie can be reused (and is not logged out);
#    an invalid cookie logs in again when a password is there; wrong VM,
#    wrong snapshot, a file that is no disk of the VM, a missing file
#    and a closed port each fail fast with their own message; connections
#    dropped mid-transfer are resumed, and a network that keeps dropping
#    them gives an error naming the host and the file.
#  - ESXi (our own RSA-2048 certificate, one fixed user and password):
#    a wrong password is refused, the right one reads the file.
# Neither the password nor the session cookie ever appears in the
# driver's output, debug log included.
source "$srcdir/tests/functions.sh"
set -e
set -o pipefail

requires curl --version
requires openssl version
requires /usr/bin/python3 -c 'import pyVmomi'
requires go version
if ! "$srcdir/scripts/vcsim/build.sh" "$builddir/vcsim"; then
  echo "SKIP: cannot build the simulator (scripts/vcsim/build.sh)"
  exit 77
fi
driver="$builddir/tests/remote-driver"
[ -x "$driver" ]
export VDL_TEST_DEBUG=1
unset VDL_TEST_USER VDL_TEST_PASSWORD VDL_TEST_COOKIE
default_sha1=2C:11:ED:D7:13:87:7D:B5:74:18:B8:1C:42:C2:56:1F:0D:B9:5B:B9

# start_vcsim NAME ARGS...: start the simulator with its datastores
# under ./NAME.tmp; sets URL, HOSTPORT and PORT; stopped at exit.
start_vcsim ()
{
  local name=$1 i
  shift
  mkdir -p "$name.tmp"
  rm -f "$name.url"
  TMPDIR=$PWD/$name.tmp "$builddir/vcsim" -urlfile "$name.url" "$@" \
    > "$name.log" 2>&1 &
  cleanup_fn stop_pid $!
  for (( i=0; i<100; i++ )); do [ -s "$name.url" ] && break; sleep 0.1; done
  URL=$(cat "$name.url")
  HOSTPORT=${URL#https://}
  HOSTPORT=${HOSTPORT%/sdk}
  PORT=${HOSTPORT#*:}
}

# stop_pid PID: SIGTERM (vcsim then removes its datastores), wait.
stop_pid ()
{
  local i
  kill "$1" 2>/dev/null || return 0
  for (( i=0; i<50; i++ )); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$1" 2>/dev/null || true
}

# upload FILE DCPATH DIR/NAME: replace a datastore file of the simulator.
upload ()
{
  curl -skf -X PUT --data-binary @"$1" \
    "https://$HOSTPORT/folder/$3?dcPath=$2&dsName=LocalDS_0" -o /dev/null
}

# drv ARGS...: run the driver, its output also kept in outputs.log.
drv ()
{
  echo "+ remote-driver $*"
  "$driver" "$@" 2>&1 | tee -a outputs.log
}

# reads ARGS...: the driver must copy the file; same_raw then compares.
reads ()
{
  rm -f out.bin
  drv "$@" out.bin
}

# fails REGEX ARGS...: the driver must fail cleanly within 15 seconds
# with a message matching REGEX.
fails ()
{
  local regex=$1 start=$SECONDS
  shift
  echo "+ remote-driver $* (must fail: /$regex/)"
  expect_clean_failure "$regex" "$driver" "$@" out.bin | tee -a outputs.log
  if (( SECONDS - start > 15 )); then
    echo "FAIL: took $((SECONDS - start)) s" >&2
    return 1
  fi
}

# soap_login USER PASSWORD: log in with curl, print the session cookie.
soap_login ()
{
  curl -sk -D - -o /dev/null -H 'Content-Type: text/xml' \
    --data-binary @- "$URL" <<EOF | sed -n 's/^Set-Cookie: vmware_soap_session=\([^;]*\);.*/\1/p' | tr -d '\r'
<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>$1</userName><password>$2</password></Login></soapenv:Body></soapenv:Envelope>
EOF
}

# pyvim CODE: run python with "si" connected to the simulator.
pyvim ()
{
  /usr/bin/python3 - "$HOSTPORT" "$1" <<'PY'
import ssl, sys
from pyVim.connect import SmartConnect
from pyVim.task import WaitForTask
from pyVmomi import vim
host, port = sys.argv[1].split(":")
si = SmartConnect(host=host, port=int(port), user="u", pwd="p",
                  sslContext=ssl._create_unverified_context())
exec(sys.argv[2])
PY
}

# free_port: a port nothing listens on.
free_port ()
{
  /usr/bin/python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

password="pw-$$-$RANDOM-secret"

echo "=== vCenter model"
start_vcsim vpx
disk0='[LocalDS_0] DC0_H0_VM0/disk1.vmdk'
disk1='[LocalDS_0] DC0_H0_VM1/disk1.vmdk'
head -c $(( 5 * 1024 * 1024 + 12345 )) /dev/urandom > data.bin
upload data.bin DC0 DC0_H0_VM0/disk1.vmdk
export VDL_TEST_USER=alice VDL_TEST_PASSWORD=$password

reads "$URL" "$default_sha1" vm-57 "$disk0"
same_raw out.bin data.bin
grep -q 'Login' outputs.log
grep -q 'logged out' outputs.log
# many tiny reads (read-ahead), huge ones (direct), other thread counts
VDL_TEST_CHUNK=4096 VDL_TEST_THREADS=8 reads "$URL" "$default_sha1" vm-57 "$disk0"
same_raw out.bin data.bin
VDL_TEST_CHUNK=$((8 << 20)) VDL_TEST_THREADS=1 reads "$HOSTPORT" "$default_sha1" vm-57 "$disk0"
same_raw out.bin data.bin

echo "--- thumbprint spellings"
lower=$(tr -d : <<<"$default_sha1" | tr A-F a-f)
reads "$HOSTPORT" "$lower" vm-57 "$disk0"
same_raw out.bin data.bin
sha256=$(openssl s_client -connect "$HOSTPORT" </dev/null 2>/dev/null |
         openssl x509 -noout -fingerprint -sha256 | cut -d= -f2)
[ ${#sha256} -eq 95 ]
reads "$URL" "$sha256" vm-57 "$disk0"
same_raw out.bin data.bin
fails "does not match the thumbprint.*expected 2C:11:ED:D7:13:87:7D:B5:74:18:B8:1C:42:C2:56:1F:0D:B9:5B:B8.*SHA-1 fingerprint is $default_sha1" \
  "$URL" "${default_sha1%B9}B8" vm-57 "$disk0"
fails "expected SHA-256 .*SHA-256 fingerprint is $sha256 \(SHA-1 $default_sha1\)" \
  "$URL" "${sha256%??}00" vm-57 "$disk0"
fails "thumbprint \"2C:11:ED\" given for $HOSTPORT is not a SHA-1 or SHA-256 fingerprint.*server's SHA-1 fingerprint is $default_sha1" "$URL" 2C:11:ED vm-57 "$disk0"
fails 'no thumbprint given' "$URL" "" vm-57 "$disk0"

echo "--- which VM, which snapshot, which disk"
fails "VM vm-999 not found on $HOSTPORT" "$URL" "$default_sha1" vm-999 "$disk0"
snap=$(pyvim '
vm = vim.VirtualMachine("vm-57", si._stub)
t = vm.CreateSnapshot_Task(name="backup", memory=False, quiesce=False)
WaitForTask(t)
print(t.info.result._moId)')
echo "snapshot: $snap"
reads "$URL" "$default_sha1" vm-57 "$snap" "$disk0"
same_raw out.bin data.bin
fails "snapshot snapshot-999 is not a snapshot of VM vm-57 \(DC0_H0_VM0\) on $HOSTPORT; its snapshots: $snap \(backup\)" \
  "$URL" "$default_sha1" vm-57 snapshot-999 "$disk0"
fails "snapshot $snap is not a snapshot of VM vm-60" \
  "$URL" "$default_sha1" vm-60 "$snap" "$disk1"
fails "\[LocalDS_0\] DC0_H0_VM0/disk1.vmdk is not a disk of VM vm-60 \(DC0_H0_VM1\) on $HOSTPORT; its disks: \[LocalDS_0\] DC0_H0_VM1/disk1.vmdk" \
  "$URL" "$default_sha1" vm-60 "$disk0"
fails "is not a disk of snapshot $snap of VM vm-57" \
  "$URL" "$default_sha1" vm-57 "$snap" '[LocalDS_0] DC0_H0_VM0/other.vmdk'

echo "--- datastore paths"
dsdir=$(echo "$PWD"/vpx.tmp/govcsim-DC0-LocalDS_0-*)
[ -d "$dsdir" ]
# the simulator's summary.url is this local directory
reads "$URL" "$default_sha1" vm-57 "$dsdir/DC0_H0_VM0/disk1.vmdk"
same_raw out.bin data.bin
reads "$URL" "$default_sha1" vm-57 /vmfs/volumes/LocalDS_0/DC0_H0_VM0/disk1.vmdk
same_raw out.bin data.bin
fails '/vmfs/volumes/Nowhere/DC0_H0_VM0/disk1.vmdk is on no datastore of' \
  "$URL" "$default_sha1" vm-57 /vmfs/volumes/Nowhere/DC0_H0_VM0/disk1.vmdk
rm "$dsdir/DC0_H0_VM1/disk1.vmdk"
fails "\[LocalDS_0\] DC0_H0_VM1/disk1.vmdk not found on $HOSTPORT" \
  "$URL" "$default_sha1" vm-60 "$disk1"
fails "cannot connect to 127.0.0.1:[0-9]+ .*" \
  "127.0.0.1:$(free_port)" "$default_sha1" vm-57 "$disk0"

echo "--- session cookies"
cookie=$(soap_login bob "$password")
[ -n "$cookie" ]
unset VDL_TEST_USER VDL_TEST_PASSWORD
VDL_TEST_COOKIE=$cookie reads "$URL" "$default_sha1" vm-57 "$disk0"
same_raw out.bin data.bin
VDL_TEST_COOKIE=vmware_soap_session=$cookie \
  reads "$URL" "$default_sha1" vm-57 "$disk0" > cookie.out
refute grep 'logged out' cookie.out
same_raw out.bin data.bin
VDL_TEST_COOKIE=0000-not-a-session fails \
  'not authenticated: the session cookie given \(cookie=\) was rejected \(not or no longer valid\)' \
  "$URL" "$default_sha1" vm-57 "$disk0"
VDL_TEST_COOKIE=0000-not-a-session VDL_TEST_USER=alice VDL_TEST_PASSWORD=$password \
  reads "$URL" "$default_sha1" vm-57 "$disk0" | tee relogin.out
grep -q 'logging in again' relogin.out
same_raw out.bin data.bin
export VDL_TEST_USER=alice VDL_TEST_PASSWORD=$password

echo "--- connections dropped mid-transfer"
rm -f cut.port
/usr/bin/python3 "$srcdir/tests/tcp-cutter.py" cut.port "$PORT" 700000 &
cleanup_fn stop_pid $!
for (( i=0; i<50; i++ )); do [ -s cut.port ] && break; sleep 0.1; done
reads "127.0.0.1:$(cat cut.port)" "$default_sha1" vm-57 "$disk0" | tee cut.out
same_raw out.bin data.bin
grep -q 'retrying on a new connection' cut.out
rm -f cut2.port
/usr/bin/python3 "$srcdir/tests/tcp-cutter.py" cut2.port "$PORT" 100000 &
cleanup_fn stop_pid $!
for (( i=0; i<50; i++ )); do [ -s cut2.port ] && break; sleep 0.1; done
VDL_TEST_CHUNK=$((4 << 20)) fails \
  "failed \(reading \[LocalDS_0\] DC0_H0_VM0/disk1.vmdk at offset [0-9]+, after retrying on new connections\)" \
  "127.0.0.1:$(cat cut2.port)" "$default_sha1" vm-57 "$disk0"

echo "--- a datacenter in nested folders"
pyvim '
root = si.content.rootFolder
dc = [e for e in root.childEntity if isinstance(e, vim.Datacenter)][0]
WaitForTask(root.CreateFolder("F 1").CreateFolder("G&2").MoveIntoFolder_Task([dc]))'
reads "$URL" "$default_sha1" vm-57 "$disk0" | tee nested.out
grep -q 'datastore LocalDS_0 in datacenter F 1/G&2/DC0' nested.out
same_raw out.bin data.bin

vpx_url=$URL cut_port=$(cat cut.port)

echo "=== ESXi model, RSA-2048 certificate, fixed user"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 2 \
  -keyout esx.key -out esx.crt 2>/dev/null
esx_sha1=$(openssl x509 -in esx.crt -noout -fingerprint -sha1 | cut -d= -f2)
start_vcsim esx -esx -cert esx.crt -key esx.key -username root -password "$password"
esxdisk='[LocalDS_0] ha-host_VM0/disk1.vmdk'
head -c $(( 3 * 1024 * 1024 + 512 )) /dev/urandom > esx.bin
upload esx.bin ha-datacenter ha-host_VM0/disk1.vmdk
export VDL_TEST_USER=root
VDL_TEST_PASSWORD="wrong-$password" fails \
  "login to $HOSTPORT as root failed: wrong user name or password" \
  "$URL" "$esx_sha1" vm-9 "$esxdisk"
export VDL_TEST_PASSWORD=$password
reads "$URL" "$esx_sha1" vm-9 "$esxdisk"
same_raw out.bin esx.bin
fails "SHA-1 fingerprint is $esx_sha1" "$URL" "$default_sha1" vm-9 "$esxdisk"
fails "is not a disk of VM vm-12 \(ha-host_VM1\)" "$URL" "$esx_sha1" vm-12 "$esxdisk"

echo "--- the pin is checked before any request byte is sent"
rm -f tls.port tls.log
/usr/bin/python3 "$srcdir/tests/tls-listener.py" tls.port esx.crt esx.key tls.log &
cleanup_fn stop_pid $!
for (( i=0; i<50; i++ )); do [ -s tls.port ] && break; sleep 0.1; done
fails "SHA-1 fingerprint is $esx_sha1" "127.0.0.1:$(cat tls.port)" "$default_sha1" vm-9 "$esxdisk"
for (( i=0; i<50; i++ )); do [ -s tls.log ] && break; sleep 0.1; done
cat tls.log
grep -q 'handshake failed' tls.log
refute grep -q 'received' tls.log

# The same under the sanitizers, when that build exists.
if [ -x "${ASAN_BUILDDIR:-/nonexistent}/tests/remote-driver" ]; then
  echo "--- AddressSanitizer build"
  driver="$ASAN_BUILDDIR/tests/remote-driver"
  export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1
  reads "$URL" "$esx_sha1" vm-9 "$esxdisk"
  same_raw out.bin esx.bin
  fails "SHA-1 fingerprint is $esx_sha1" "$URL" "$default_sha1" vm-9 "$esxdisk"
  VDL_TEST_PASSWORD=wrong fails "login to $HOSTPORT as root failed" \
    "$URL" "$esx_sha1" vm-9 "$esxdisk"
  # read-ahead windows shared by many threads, resumed ranges, a new login
  VDL_TEST_CHUNK=4096 VDL_TEST_THREADS=8 \
    reads "$vpx_url" "$default_sha1" vm-57 "$disk0"
  same_raw out.bin data.bin
  reads "127.0.0.1:$cut_port" "$default_sha1" vm-57 "$disk0"
  same_raw out.bin data.bin
  VDL_TEST_COOKIE=0000-not-a-session VDL_TEST_USER=alice \
    reads "$vpx_url" "$default_sha1" vm-57 "$disk0"
  same_raw out.bin data.bin
  fails "VM vm-999 not found" "$vpx_url" "$default_sha1" vm-999 "$disk0"
fi

echo "=== secrets"
[ -s outputs.log ]
if grep -F -e "$password" -e "$cookie" outputs.log; then
  echo "FAIL: the password or a session cookie appears in the output" >&2
  exit 1
fi
echo "PASS"
