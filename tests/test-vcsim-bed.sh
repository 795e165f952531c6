#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The remote test bed itself, checked with independent tools only (vcsim,
# qemu-img, curl, openssl, pyvmomi; no code of this project):
#  - vCenter and ESXi models start on 127.0.0.1 with an RSA-2048
#    self-signed certificate; the SHA-1/SHA-256 thumbprints from openssl
#    are what curl sees; pyvmomi pinned to the thumbprint connects, and
#    refuses a wrong one;
#  - monolithicSparse, monolithicFlat and streamOptimized VMDKs made by
#    qemu-img are put on the datastore (HTTP PUT and local copy), attached
#    to a VM, listed among its disks, and read back byte for byte through
#    /folder (whole, ranges);
#  - the VM's placeholder disk1.vmdk can be replaced by a real disk;
#  - cut-proxy.py cuts after exactly BYTES bytes, then passes through;
#    a range request resumes the cut download; stall and refuse modes;
#  - a snapshot lists the VM's disks; a delta made after it (qemu-img
#    child with a relative parentFileNameHint) replaces the VM's disk
#    with its parent chain while the snapshot keeps the base; a 3-link
#    chain is attached with its parents;
#  - sessions: fixed credentials, a cookie usable from another process
#    (raw SOAP with curl), logout;
#  - QueryChangedDiskAreas with changeId "*" (scripts/vcsim/cbt.go), in
#    both models: the areas of a thin monolithicFlat disk are exactly the
#    places written (rounded out to 64 KiB), also in answers cut short by
#    -cbt-span or -cbt-max-areas; a snapshot of a running VM answers for
#    its own disk; the faults (change tracking off, running VM without
#    a snapshot, unknown objects, bad device key, changeId, startOffset,
#    injected).
# With VCSIM_BED_BIG=1, also time 1 GiB uploads and downloads.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires qemu-img --version
requires qemu-io --version
vcsim_requires
# The simulator is built before the clock starts (once per build tree).
vcsim_build
SECONDS=0

M=$((1 << 20))
size=$((8 * M))

# --------------------------------------------------------------- vCenter
start_vcsim
vpx=$VCSIM_DIR
[ "$VCSIM_API" = VirtualCenter ]
[ "$VCSIM_VM" = vm-57 ] && [ "$VCSIM_VM_NAME" = DC0_H0_VM0 ]
[ "$VCSIM_DC" = DC0 ] && [ "$VCSIM_DS" = LocalDS_0 ] && [ -d "$VCSIM_DS_DIR" ]
[ "$VCSIM_HOST" = 127.0.0.1 ] && [ "$VCSIM_URL" = "https://127.0.0.1:$VCSIM_PORT/sdk" ]
vcsim_fixture vms | sort | tee vms.txt
grep -qFx $'vm-60\tDC0_H0_VM1' vms.txt
vcsim_fixture datastores

# Thumbprints: openssl on the served certificate (start_vcsim) = what curl
# sees = the certificate file; RSA-2048, self-signed, for 127.0.0.1.
hex='[0-9A-F]{2}'
[[ $VCSIM_THUMBPRINT =~ ^($hex:){19}$hex$ ]]
[[ $VCSIM_THUMBPRINT256 =~ ^($hex:){31}$hex$ ]]
curl -sS -k -o /dev/null -w '%{certs}' "https://$VCSIM_HOST:$VCSIM_PORT/about" > seen.pem
[ "$(openssl x509 -in seen.pem -noout -fingerprint -sha1 | sed 's/.*=//')" = "$VCSIM_THUMBPRINT" ]
[ "$(openssl x509 -in seen.pem -noout -fingerprint -sha256 | sed 's/.*=//')" = "$VCSIM_THUMBPRINT256" ]
openssl x509 -in seen.pem -noout -text > cert.txt
grep -q 'Public-Key: (2048 bit)' cert.txt
grep -q 'Issuer: CN = 127.0.0.1' cert.txt
grep -q 'IP Address:127.0.0.1' cert.txt
# not trusted by a CA check, as a real host's self-signed certificate
refute curl -sS -o /dev/null "https://$VCSIM_HOST:$VCSIM_PORT/about"
expect_failure 'wrong SHA1 thumbprint' env VCSIM_THUMBPRINT="${VCSIM_THUMBPRINT//[0-9A-F]/0}" \
  /usr/bin/python3 "$VCSIM_FIXTURE" vms

# ------------------------------------------------- disks made by qemu-img
make_pattern in.raw $size
qemu-img convert -f raw -O vmdk in.raw sparse.vmdk
qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat in.raw flat.vmdk
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized in.raw stream.vmdk
ls -ls ./*.vmdk
[ "$(ddb_value sparse.vmdk createType)" = monolithicSparse ]
[ "$(ddb_value flat.vmdk createType)" = monolithicFlat ]
[ "$(ddb_value stream.vmdk createType)" = streamOptimized ]

ds="[$VCSIM_DS]"
vcsim_put --http sparse.vmdk "$ds bed/sparse.vmdk"
vcsim_put flat.vmdk "$ds bed/flat.vmdk"
vcsim_put --http flat-flat.vmdk "$ds bed/flat-flat.vmdk"
vcsim_put stream.vmdk "$ds bed/stream.vmdk"
cmp sparse.vmdk "$(vcsim_ds_path "$ds bed/sparse.vmdk")"

for f in sparse flat stream; do
  out=$(vcsim_attach_disk "$VCSIM_VM" "$ds bed/$f.vmdk" $size)
  [ -z "$out" ]
done
vcsim_vm_disks "$VCSIM_VM" --long | tee disks.txt
grep -qFx "1048576	$ds $VCSIM_VM_NAME/disk1.vmdk" disks.txt
for f in sparse flat stream; do
  grep -qFx "$size	$ds bed/$f.vmdk" disks.txt
done
[ "$(wc -l < disks.txt)" -eq 4 ]
# attaching again edits the same disk instead of adding one
vcsim_attach_disk "$VCSIM_VM" "$ds bed/sparse.vmdk" $size
[ "$(vcsim_vm_disks "$VCSIM_VM" | wc -l)" -eq 4 ]
# the placeholders the simulator needs beside single-file disks
[ -f "$VCSIM_DS_DIR/bed/sparse-flat.vmdk" ] && [ ! -s "$VCSIM_DS_DIR/bed/sparse-flat.vmdk" ]
[ -f "$VCSIM_DS_DIR/bed/stream-flat.vmdk" ] && [ ! -s "$VCSIM_DS_DIR/bed/stream-flat.vmdk" ]
[ -s "$VCSIM_DS_DIR/bed/flat-flat.vmdk" ]
# clear errors
expect_failure 'no such file on the datastore' vcsim_attach_disk "$VCSIM_VM" "$ds bed/none.vmdk" $size
expect_failure 'no VM with moref vm-999' vcsim_attach_disk vm-999 "$ds bed/sparse.vmdk" $size
expect_failure 'not a datastore path' vcsim_attach_disk "$VCSIM_VM" "bed/sparse.vmdk" $size
expect_failure 'no datastore named' vcsim_attach_disk "$VCSIM_VM" "[nods] bed/sparse.vmdk" $size

# Read back over /folder: whole files, HEAD, ranges, a missing file.
mkdir dl
for f in sparse.vmdk flat.vmdk flat-flat.vmdk stream.vmdk; do
  vcsim_get "$ds bed/$f" "dl/$f"
  cmp "$f" "dl/$f"
done
qemu-img compare -f vmdk -F raw dl/flat.vmdk in.raw
qemu-img compare -f vmdk -F raw dl/sparse.vmdk in.raw
qemu-img compare -f vmdk -F raw dl/stream.vmdk in.raw
curl -sS -k -I "$(vcsim_folder_url "$ds bed/flat-flat.vmdk")" | tr -d '\r' > head.txt
grep -qiFx "content-length: $size" head.txt
grep -qiFx 'accept-ranges: bytes' head.txt
code=$(curl -sS -k -r 1000000-1065535 -o range.bin -w '%{http_code}' \
       "$(vcsim_folder_url "$ds bed/flat-flat.vmdk")")
[ "$code" = 206 ]
cmp range.bin <(tail -c +1000001 in.raw | head -c 65536)
code=$(curl -sS -k -o /dev/null -w '%{http_code}' "$(vcsim_folder_url "$ds bed/none.vmdk")")
[ "$code" = 404 ]

# Replace the VM's placeholder disk1.vmdk by a real disk, in place.
vcsim_put sparse.vmdk "$ds $VCSIM_VM_NAME/disk1.vmdk"
vcsim_attach_disk "$VCSIM_VM" "$ds $VCSIM_VM_NAME/disk1.vmdk" $size
vcsim_vm_disks "$VCSIM_VM" --long | grep -Fx "$size	$ds $VCSIM_VM_NAME/disk1.vmdk"
[ "$(vcsim_vm_disks "$VCSIM_VM" | wc -l)" -eq 4 ]
vcsim_get "$ds $VCSIM_VM_NAME/disk1.vmdk" dl/disk1.vmdk
cmp sparse.vmdk dl/disk1.vmdk

# ------------------------------------------------------------- cut-proxy
# Exact byte counts, against a plain HTTP server (no TLS, so the client
# sees every byte the proxy forwards: headers + body).
mkdir www
cp in.raw www/
/usr/bin/python3 -c '
import http.server, os, sys, functools
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory="www")
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
open("www.port.tmp", "w").write("%d\n" % s.server_address[1])
os.rename("www.port.tmp", "www.port")
s.serve_forever()' 2> www.log &
cleanup_fn _stop_pid $!
for (( i=0; i<50; i++ )); do [ -s www.port ] && break; sleep 0.1; done
wport=$(cat www.port)
rm -f plain.port
/usr/bin/python3 "$CUT_PROXY" plain.port 127.0.0.1 "$wport" --cut-after 5000 --cuts 2 \
  2> plain-proxy.log &
cleanup_fn _stop_pid $!
for (( i=0; i<50; i++ )); do [ -s plain.port ] && break; sleep 0.1; done
pport=$(cat plain.port)
for n in 1 2; do
  rc=0
  curl -sS -D hdr.txt -o body.bin "http://127.0.0.1:$pport/in.raw" || rc=$?
  [ "$rc" -eq 18 ]              # transfer closed with bytes remaining
  [ $(( $(stat -c %s hdr.txt) + $(stat -c %s body.bin) )) -eq 5000 ]
  cmp body.bin <(head -c "$(stat -c %s body.bin)" in.raw)
done
curl -sS -o body.bin "http://127.0.0.1:$pport/in.raw"     # 3rd: passes
cmp body.bin in.raw
cat plain-proxy.log
[ "$(grep -c 'cut after 5000 bytes from server' plain-proxy.log)" -eq 2 ]

# Over TLS in front of vcsim: the certificate passes through unchanged,
# the first download is cut after 1000000 bytes of TLS stream, the rest
# is fetched with a range request (as a client resuming would), the next
# connection passes through.
start_cut_proxy --cut-after 1000000 --cuts 1
purl="https://$VCSIM_HOST:$CUT_PROXY_PORT/folder/bed/flat-flat.vmdk?dcPath=$VCSIM_DC&dsName=$VCSIM_DS"
curl -sS -k -o /dev/null -w '%{certs}' "https://$VCSIM_HOST:$CUT_PROXY_PORT/about" |
  openssl x509 -noout -fingerprint -sha1 | grep -qFx "sha1 Fingerprint=$VCSIM_THUMBPRINT"
rc=0
got=$(curl -sS -k -o part1.bin -w '%{size_download}' "$purl") || rc=$?
[ "$rc" -eq 18 ] || [ "$rc" -eq 56 ]
grep -q 'cut after 1000000 bytes from server (cut 1 of 1)' "$CUT_PROXY_LOG"
[ "$got" -gt 900000 ] && [ "$got" -lt 1000000 ]
code=$(curl -sS -k -r "$got-" -o part2.bin -w '%{http_code}' "$purl")
[ "$code" = 206 ]
cat part1.bin part2.bin | cmp - in.raw
curl -sS -k -o whole.bin "$purl"
cmp whole.bin in.raw
# SOAP through the proxy, thumbprint-pinned (plugin tests point port= here)
VCSIM_URL="https://$VCSIM_HOST:$CUT_PROXY_PORT/sdk" vcsim_fixture vms | sort > vms-proxy.txt
cmp vms.txt vms-proxy.txt
cat "$CUT_PROXY_LOG"
[ "$(grep -c 'cut after' "$CUT_PROXY_LOG")" -eq 1 ]

# Stall: the first connection hangs after 200000 bytes (curl gives up),
# the next passes through.
start_cut_proxy --stall-after 200000 --stalls 1
purl="https://$VCSIM_HOST:$CUT_PROXY_PORT/folder/bed/flat-flat.vmdk?dcPath=$VCSIM_DC&dsName=$VCSIM_DS"
rc=0
start=$SECONDS
curl -sS -k --max-time 2 -o /dev/null "$purl" || rc=$?
[ "$rc" -eq 28 ]                # operation timed out
[ $((SECONDS - start)) -le 5 ]
grep -q 'stalled after 200000 bytes from server' "$CUT_PROXY_LOG"
curl -sS -k -o whole.bin "$purl"
cmp whole.bin in.raw

# Refuse: the first connection is reset at once.
start_cut_proxy --refuse 1 --rst
purl="https://$VCSIM_HOST:$CUT_PROXY_PORT/folder/bed/flat-flat.vmdk?dcPath=$VCSIM_DC&dsName=$VCSIM_DS"
refute curl -sS -k -o /dev/null "$purl"
curl -sS -k -o whole.bin "$purl"
cmp whole.bin in.raw
grep -q 'conn 1: refused' "$CUT_PROXY_LOG"

# Chaos: every connection cut within 100000 bytes (curl fails), or
# paused (curl gets the whole file, later); the same seed, the same
# fates.
chaos_fates ()
{
  sed -n 's/^cut-proxy: conn [0-9]*: \(cut after [0-9]* bytes\|paused [0-9.]* s after [0-9]*\).*/\1/p' \
    "$CUT_PROXY_LOG"
}
for run in 1 2; do
  start_cut_proxy --chaos 5 --chaos-cut 1 --chaos-bytes 100000
  purl="https://$VCSIM_HOST:$CUT_PROXY_PORT/folder/bed/flat-flat.vmdk?dcPath=$VCSIM_DC&dsName=$VCSIM_DS"
  refute curl -sS -k -o /dev/null "$purl"
  refute curl -sS -k -o /dev/null "$purl"
  chaos_fates > fates-$run.txt
  _stop_pid "$CUT_PROXY_PID"
done
cat fates-1.txt
[ "$(wc -l < fates-1.txt)" = 2 ]
cmp fates-1.txt fates-2.txt
start_cut_proxy --chaos 6 --chaos-pause 1 --chaos-bytes 100000 --chaos-pause-secs 1
purl="https://$VCSIM_HOST:$CUT_PROXY_PORT/folder/bed/flat-flat.vmdk?dcPath=$VCSIM_DC&dsName=$VCSIM_DS"
curl -sS -k -o whole.bin "$purl"
cmp whole.bin in.raw
grep -q 'conn 1: paused [0-9.]* s after [0-9]* bytes from server' "$CUT_PROXY_LOG"

# Blackhole after idle: a kept-alive connection's second request, sent
# after 2.5 s of quiet, gets no answer; a new connection is served.
start_cut_proxy --blackhole-idle 2
/usr/bin/python3 - "$CUT_PROXY_PORT" "/folder/bed/flat-flat.vmdk?dcPath=$VCSIM_DC&dsName=$VCSIM_DS" <<'EOT'
import http.client, socket, ssl, sys, time
port, path = int(sys.argv[1]), sys.argv[2]
ctx = ssl._create_unverified_context()
def get(c):
    c.request("GET", path, headers={"Range": "bytes=0-4095"})
    r = c.getresponse()
    return r.status, len(r.read())
c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=3)
assert get(c) == (206, 4096)
assert get(c) == (206, 4096)          # kept alive, not yet idle
time.sleep(2.5)
try:
    get(c)
except (socket.timeout, TimeoutError):
    pass
else:
    raise SystemExit("the stale connection answered")
c2 = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=3)
assert get(c2) == (206, 4096)
EOT
grep -q 'conn 1: blackholed: a request after [0-9.]* s idle' "$CUT_PROXY_LOG"

# -------------------------------------------------------------- snapshots
snap=$(vcsim_snapshot "$VCSIM_VM" bed-snapshot)
[[ $snap =~ ^snapshot-[0-9]+$ ]]
vcsim_vm_disks "$VCSIM_VM" > vm-disks.txt
vcsim_vm_disks "$VCSIM_VM" --snapshot "$snap" > snap-disks.txt
diff vm-disks.txt snap-disks.txt
grep -qFx "$ds bed/sparse.vmdk" snap-disks.txt

# What ESXi does to a disk when it takes a snapshot: the same device now
# writes to a delta whose parent is the old file.  The delta is made by
# qemu-img, with the relative parentFileNameHint ESXi writes.
qemu-img create -q -f vmdk -b "$PWD/sparse.vmdk" -F vmdk sparse-000001.vmdk
qemu-io -f vmdk -c 'write -P 0x5a 1M 64k' -c 'write -P 0xa5 7M 4k' sparse-000001.vmdk
[ "$(ddb_value sparse-000001.vmdk parentFileNameHint)" = "$PWD/sparse.vmdk" ]
vmdk_set_parent_hint sparse-000001.vmdk sparse.vmdk
[ "$(ddb_value sparse-000001.vmdk parentFileNameHint)" = sparse.vmdk ]
qemu-img check sparse-000001.vmdk
vcsim_put sparse-000001.vmdk "$ds bed/sparse-000001.vmdk"
vcsim_attach_disk --replace "$ds bed/sparse.vmdk" "$VCSIM_VM" \
  "$ds bed/sparse-000001.vmdk" $size "$ds bed/sparse.vmdk"
vcsim_vm_disks "$VCSIM_VM" --chain > vm-chain.txt
cat vm-chain.txt
grep -qFx "$ds bed/sparse-000001.vmdk	$ds bed/sparse.vmdk" vm-chain.txt
refute grep -qFx "$ds bed/sparse.vmdk" vm-chain.txt
[ "$(wc -l < vm-chain.txt)" -eq 4 ]
# the snapshot still has the base (the bed's vcsim copies snapshot configs)
vcsim_vm_disks "$VCSIM_VM" --snapshot "$snap" > snap-disks2.txt
diff snap-disks.txt snap-disks2.txt
expect_failure 'has no disk backed by' vcsim_attach_disk --replace "$ds bed/none.vmdk" \
  "$VCSIM_VM" "$ds bed/sparse-000001.vmdk" $size
# the chain read back decodes as qemu-img wrote it
mkdir dl2
vcsim_get "$ds bed/sparse-000001.vmdk" dl2/sparse-000001.vmdk
vcsim_get "$ds bed/sparse.vmdk" dl2/sparse.vmdk
qemu_to_raw dl2/sparse-000001.vmdk chain.raw
qemu_to_raw sparse-000001.vmdk want.raw
same_raw chain.raw want.raw
refute cmp -s chain.raw in.raw
rm -f chain.raw want.raw

# A 3-link chain (flat base, two sparse deltas) on another VM.
vm2=$(awk -F'\t' '$2 == "DC0_H0_VM1" {print $1}' vms.txt)
[ -n "$vm2" ]
mkdir chain
qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat in.raw chain/base.vmdk
qemu-img create -q -f vmdk -b "$PWD/chain/base.vmdk" -F vmdk chain/mid.vmdk
qemu-io -f vmdk -c 'write -P 0x11 0 64k' chain/mid.vmdk
qemu-img create -q -f vmdk -b "$PWD/chain/mid.vmdk" -F vmdk chain/top.vmdk
qemu-io -f vmdk -c 'write -P 0x22 64k 64k' chain/top.vmdk
qemu_to_raw chain/top.vmdk chain-want.raw
vmdk_set_parent_hint chain/mid.vmdk base.vmdk
vmdk_set_parent_hint chain/top.vmdk mid.vmdk
for f in base.vmdk base-flat.vmdk mid.vmdk top.vmdk; do
  vcsim_put "chain/$f" "$ds chain/$f"
done
vcsim_attach_disk "$vm2" "$ds chain/top.vmdk" $size "$ds chain/mid.vmdk" "$ds chain/base.vmdk"
vcsim_vm_disks "$vm2" --chain --long | tee vm2.txt
grep -qFx "$size	$ds chain/top.vmdk	$ds chain/mid.vmdk	$ds chain/base.vmdk" vm2.txt
mkdir dl3
for f in base.vmdk base-flat.vmdk mid.vmdk top.vmdk; do
  vcsim_get "$ds chain/$f" "dl3/$f"
done
qemu_to_raw dl3/top.vmdk chain-got.raw
same_raw chain-got.raw chain-want.raw
rm -f chain-got.raw chain-want.raw

# ------------------------------------------------------- vCenter sessions
cookie=$(vcsim_login anyone any-password)
[[ $cookie =~ ^[0-9a-f-]{36}$ ]]
[ "$(vcsim_fixture session "$cookie")" = anyone ]
expect_failure 'InvalidLogin' vcsim_login root ''

# -------------------------------------------------------------------- ESXi
start_vcsim --esx --user root --password 'bed pass word'
[ "$VCSIM_API" = HostAgent ]
[ "$VCSIM_VM" = vm-9 ] && [ "$VCSIM_VM_NAME" = ha-host_VM0 ]
[ "$VCSIM_DC" = ha-datacenter ] && [ "$VCSIM_DS" = LocalDS_0 ]
# shellcheck disable=SC1091
[ "$VCSIM_PORT" != "$(. "$vpx/env"; echo "$VCSIM_PORT")" ]
# shellcheck disable=SC1091
[ "$VCSIM_THUMBPRINT" != "$(. "$vpx/env"; echo "$VCSIM_THUMBPRINT")" ]
# every datastore the datacenter lists exists (the bed's vcsim drops the
# stale moref of the ESX template)
vcsim_fixture datastores | tee esx-ds.txt
[ "$(wc -l < esx-ds.txt)" -eq 1 ]
expect_failure 'InvalidLogin' vcsim_login root wrong
expect_failure 'InvalidLogin' vcsim_login admin 'bed pass word'
cookie=$(vcsim_login root 'bed pass word')
[[ $cookie =~ ^[0-9a-f-]{36}$ ]]
# The cookie works from another process: raw SOAP with curl.
soap ()
{
  curl -sS -k -H 'Content-Type: text/xml; charset=utf-8' \
    -H 'SOAPAction: "urn:vim25/6.5"' ${2:+-b "vmware_soap_session=$2"} \
    --data "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body>$1</soapenv:Body></soapenv:Envelope>" \
    "$VCSIM_URL"
}
sc=$(soap '<RetrieveServiceContent xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance</_this></RetrieveServiceContent>')
pc=$(sed -n 's|.*<propertyCollector type="PropertyCollector">\([^<]*\)<.*|\1|p' <<<"$sc")
sm=$(sed -n 's|.*<sessionManager type="SessionManager">\([^<]*\)<.*|\1|p' <<<"$sc")
[ "$pc" = ha-property-collector ] && [ "$sm" = ha-sessionmgr ]
q="<RetrieveProperties xmlns=\"urn:vim25\"><_this type=\"PropertyCollector\">$pc</_this><specSet><propSet><type>SessionManager</type><pathSet>currentSession</pathSet></propSet><objectSet><obj type=\"SessionManager\">$sm</obj></objectSet></specSet></RetrieveProperties>"
soap "$q" "$cookie" | grep -q '<userName>root</userName>'
# without the cookie: NotAuthenticated (inside the reply's missingSet)
soap "$q" | grep -q 'NotAuthenticated'
# logging out another process's session ends it
vcsim_logout "$cookie"
soap "$q" "$cookie" | grep -q 'NotAuthenticated'
expect_failure 'NotAuthenticated' vcsim_fixture session "$cookie"

# a disk on the ESXi model too
vcsim_put --http stream.vmdk "[$VCSIM_DS] $VCSIM_VM_NAME/bed.vmdk"
vcsim_attach_disk "$VCSIM_VM" "[$VCSIM_DS] $VCSIM_VM_NAME/bed.vmdk" $size
vcsim_vm_disks "$VCSIM_VM" | grep -qFx "[$VCSIM_DS] $VCSIM_VM_NAME/bed.vmdk"
vcsim_get "[$VCSIM_DS] $VCSIM_VM_NAME/bed.vmdk" dl/esx.vmdk
cmp stream.vmdk dl/esx.vmdk

# back to the vCenter model
vcsim_use "$vpx"
[ "$VCSIM_API" = VirtualCenter ] && [ "$VCSIM_VM" = vm-57 ]
vcsim_vm_disks "$VCSIM_VM" | grep -qFx "$ds bed/sparse-000001.vmdk"

# ------------------------------------------- QueryChangedDiskAreas ("*")
# A thin monolithicFlat disk with random bytes in known places
# (OFFSET:LENGTH): the first sector, across the 64 KiB boundary at 3 MiB,
# across 8 MiB (where an answer ends with -cbt-span 4 MiB), 200000 bytes
# at 40 MiB, the last byte.  A delta made after a snapshot adds 20 MiB.
cbt_size=$((64 * M))
writes="0:512 $((3 * M - 10)):20 $((8 * M - 4096)):8192 $((40 * M)):200000 $((cbt_size - 1)):1"
delta_writes="$((20 * M)):65536"
truncate -s $cbt_size cbt.raw
for w in $writes; do
  head -c "${w#*:}" /dev/urandom |
    dd of=cbt.raw bs=64K seek="${w%:*}" oflag=seek_bytes iflag=fullblock conv=notrunc status=none
done
qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat cbt.raw cbt.vmdk
qemu-img create -q -f vmdk -b "$PWD/cbt.vmdk" -F vmdk cbt-000001.vmdk
qemu-io -f vmdk -c "write -P 0x5a $((20 * M)) 64k" cbt-000001.vmdk
vmdk_set_parent_hint cbt-000001.vmdk cbt.vmdk

# want_areas OFFSET:LENGTH...: the places rounded out to 64 KiB and
# merged, "START LENGTH" a line (computed here, not by the bed).
want_areas ()
{
  local w s e b=$((64 << 10))
  for w in "$@"; do
    s=${w%:*} e=$((${w%:*} + ${w#*:}))
    echo $((s / b * b)) $(((e + b - 1) / b * b))
  done | sort -n | _merge_ends
}
# merge_areas: "START LENGTH" lines (areas split across answers) merged.
merge_areas ()
{
  awk '{ print $1, $1 + $2 }' | sort -n | _merge_ends
}
_merge_ends ()
{
  awk 'NR == 1 { s = $1; e = $2; next }
       $1 <= e { if ($2 > e) e = $2; next }
       { print s, e - s; s = $1; e = $2 }
       END { if (NR) print s, e - s }'
}

# cbt_disk: put the disk on the current simulator, attach it to VCSIM_VM,
# power the VM off (change tracking stays off) and set key to the disk's
# device key.
cbt_disk ()
{
  local flat
  vcsim_put cbt.vmdk "[$VCSIM_DS] cbt/cbt.vmdk"
  vcsim_put cbt-flat.vmdk "[$VCSIM_DS] cbt/cbt-flat.vmdk"
  flat=$(vcsim_ds_path "[$VCSIM_DS] cbt/cbt-flat.vmdk")
  [ "$(stat -c %s "$flat")" -eq $cbt_size ]
  du -k "$flat"
  [ "$(du -k "$flat" | cut -f1)" -lt 1024 ]        # thin: holes kept
  vcsim_attach_disk "$VCSIM_VM" "[$VCSIM_DS] cbt/cbt.vmdk" $cbt_size
  key=$(vcsim_vm_disks "$VCSIM_VM" --key |
        awk -F'\t' -v f="[$VCSIM_DS] cbt/cbt.vmdk" '$2 == f { print $1 }')
  [[ $key =~ ^-?[0-9]+$ ]]
  vcsim_fixture power "$VCSIM_VM" off
}

want_areas $writes | tee cbt-want.txt
[ "$(wc -l < cbt-want.txt)" -eq 5 ]
for model in vcenter esx; do
  : > cbt-faults
  start_vcsim_model $model -- -faults "$PWD/cbt-faults"
  cbt_disk
  # change tracking off: a fault (the client reads the whole disk)
  expect_failure 'FileFault' vcsim_changed_areas "$VCSIM_VM" "$key"
  vcsim_cbt "$VCSIM_VM" on
  vcsim_changed_areas "$VCSIM_VM" "$key" > cbt-got.txt 2> answers.txt
  grep -qx "answer 0 $cbt_size 5" answers.txt
  [ "$(grep -c '^answer ' answers.txt)" -eq 1 ]
  diff cbt-want.txt cbt-got.txt
  # one call from 40 MiB: the areas from there on
  vcsim_changed_areas "$VCSIM_VM" "$key" --start $((40 * M)) > cbt-got.txt 2> answers.txt
  grep -qx "answer $((40 * M)) $((cbt_size - 40 * M)) 2" answers.txt
  awk -v s=$((40 * M)) '$1 >= s' cbt-want.txt | diff - cbt-got.txt
  # what the bed refuses
  expect_failure 'InvalidArgument.*startOffset' \
    vcsim_changed_areas "$VCSIM_VM" "$key" --start $cbt_size
  expect_failure 'InvalidArgument.*deviceKey' vcsim_changed_areas "$VCSIM_VM" 999999
  expect_failure 'InvalidArgument.*changeId' \
    vcsim_changed_areas "$VCSIM_VM" "$key" --change-id '52 de 4f 6a 2e 0a 1b 3c-00 11 22 33 44 55 66 77/12'
  expect_failure 'ManagedObjectNotFound.*obj=vm-999999' vcsim_changed_areas vm-999999 "$key"
  expect_failure 'ManagedObjectNotFound.*obj=snapshot-999999' \
    vcsim_changed_areas "$VCSIM_VM" "$key" --snapshot snapshot-999999
  # an injected fault hits the call once
  echo 'fault:FileFault 1 QueryChangedDiskAreas' > cbt-faults
  expect_failure 'FileFault: injected by the test bed' \
    vcsim_changed_areas "$VCSIM_VM" "$key"
  grep -q 'vcsim-fault: SOAP fault FileFault' "$VCSIM_DIR/log"
  vcsim_changed_areas "$VCSIM_VM" "$key" | diff cbt-want.txt -
  # the answer on the wire; without a session, NotAuthenticated
  q="<QueryChangedDiskAreas xmlns=\"urn:vim25\"><_this type=\"VirtualMachine\">$VCSIM_VM</_this><deviceKey>$key</deviceKey><startOffset>0</startOffset><changeId>*</changeId></QueryChangedDiskAreas>"
  soap "$q" | grep -q NotAuthenticated
  cookie=$(vcsim_login "$VCSIM_USER" "$VCSIM_PASSWORD")
  soap "$q" "$cookie" | tr -d '\n' > cbt-answer.xml
  grep -q "<QueryChangedDiskAreasResponse xmlns=\"urn:vim25\"><returnval><startOffset>0</startOffset><length>$cbt_size</length><changedArea><start>0</start><length>65536</length></changedArea><changedArea>" cbt-answer.xml
  vcsim_logout "$cookie"
  # powered on: only with a snapshot
  vcsim_fixture power "$VCSIM_VM" on
  expect_failure 'InvalidState' vcsim_changed_areas "$VCSIM_VM" "$key"
  snap=$(vcsim_snapshot "$VCSIM_VM" cbt)
  # as ESXi does, the VM's disk now writes to a delta (with more data)
  vcsim_put cbt-000001.vmdk "[$VCSIM_DS] cbt/cbt-000001.vmdk"
  vcsim_attach_disk --replace "[$VCSIM_DS] cbt/cbt.vmdk" "$VCSIM_VM" \
    "[$VCSIM_DS] cbt/cbt-000001.vmdk" $cbt_size "[$VCSIM_DS] cbt/cbt.vmdk"
  vcsim_changed_areas "$VCSIM_VM" "$key" --snapshot "$snap" | diff cbt-want.txt -
  other=$(vcsim_fixture vms | awk -F'\t' -v vm="$VCSIM_VM" '$1 != vm { print $1; exit }')
  expect_failure '^vcsim-fixture changed-areas: NotFound' \
    vcsim_changed_areas "$other" "$key" --snapshot "$snap"
  expect_failure 'InvalidState' vcsim_changed_areas "$VCSIM_VM" "$key"
  vcsim_fixture power "$VCSIM_VM" off
  vcsim_changed_areas "$VCSIM_VM" "$key" | diff <(want_areas $writes $delta_writes) -
  grep -q 'vcsim-cbt: QueryChangedDiskAreas' "$VCSIM_DIR/log"
  stop_vcsim "$VCSIM_DIR"

  # Answers of 4 MiB: the client asks 16 times, the areas are the same
  # (the one across 8 MiB comes in two pieces).
  start_vcsim_model $model -- -cbt-span $((4 * M))
  cbt_disk
  # (a snapshot taken before tracking was on has none)
  early=$(vcsim_snapshot "$VCSIM_VM" early)
  vcsim_cbt "$VCSIM_VM" on
  expect_failure 'FileFault' vcsim_changed_areas "$VCSIM_VM" "$key" --snapshot "$early"
  vcsim_changed_areas "$VCSIM_VM" "$key" > cbt-got.txt 2> answers.txt
  [ "$(grep -c '^answer ' answers.txt)" -eq 16 ]
  grep '^answer ' answers.txt |
    awk -v m=$((4 * M)) '$2 != (NR - 1) * m || $3 != m { bad = 1 } END { exit bad }'
  [ "$(wc -l < cbt-got.txt)" -eq 6 ]
  merge_areas < cbt-got.txt | diff cbt-want.txt -
  stop_vcsim "$VCSIM_DIR"

  # At most 2 areas an answer (one model is enough: the code is shared),
  # each answer ending where its last area ends: 3 answers, one after
  # the other, the areas whole.
  if [ $model = vcenter ]; then
    start_vcsim_model $model -- -cbt-max-areas 2
    cbt_disk
    vcsim_cbt "$VCSIM_VM" on
    vcsim_changed_areas "$VCSIM_VM" "$key" > cbt-got.txt 2> answers.txt
    cat answers.txt
    [ "$(grep -c '^answer ' answers.txt)" -eq 3 ]
    grep '^answer ' answers.txt |
      awk -v size=$cbt_size '$2 != at || $4 > 2 { bad = 1 }
                             { at = $2 + $3 }
                             END { exit bad || at != size }'
    diff cbt-want.txt cbt-got.txt
    stop_vcsim "$VCSIM_DIR"
  fi
done
vcsim_use "$vpx"
echo "bed checks took $SECONDS s"

# ------------------------------------------------------- optional: timing
if [ -n "${VCSIM_BED_BIG:-}" ]; then
  # sync before each step: dirty pages of the previous one would slow it
  G=$((1 << 30))
  head -c $G /dev/urandom > big.raw
  truncate -s $G hole.raw
  t=()
  step () { sync; local s e; s=$(date +%s.%N); "$@"; e=$(date +%s.%N); t+=("$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f", e - s }')"); }
  step vcsim_put --http big.raw "$ds big/http.raw"
  step vcsim_put big.raw "$ds big/copy.raw"
  step vcsim_get "$ds big/http.raw" big.got
  cmp big.got big.raw
  rm -f big.got
  step vcsim_put hole.raw "$ds big/hole.raw"
  step vcsim_put --http hole.raw "$ds big/hole-http.raw"
  du -k "$(vcsim_ds_path "$ds big/hole.raw")" "$(vcsim_ds_path "$ds big/hole-http.raw")"
  echo "TIMING 1 GiB of data: vcsim_put --http ${t[0]} s, vcsim_put (copy) ${t[1]} s," \
       "vcsim_get ${t[2]} s; 1 GiB hole: vcsim_put (copy) ${t[3]} s, --http ${t[4]} s"
  rm -f big.raw hole.raw
fi
