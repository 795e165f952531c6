#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Remote connections: every way of giving the password (password=+FILE,
# password=-FD, password=- at a prompt) and cookie= connect; each mistake
# gets its own message within seconds (wrong password, wrong thumbprint
# (whose message shows the real one, as the man page's THUMBPRINTS section
# promises), unknown VM, unknown snapshot, a file that is not a disk of the
# VM, a missing file, an unreachable host, a refused connection, san/hotadd
# only); and neither the password nor the cookie appears in any output,
# even with every debug flag on.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires nbdinfo --version
requires expect -v
vcsim_requires
vcsim_build

secret="S3cret-$RANDOM-pw"
start_vcsim --user admin --password "$secret"
ds="[$VCSIM_DS]"
qemu-img create -q -f vmdk disk.vmdk 4M
qemu-img create -q -f vmdk other.vmdk 4M
vcsim_put disk.vmdk "$ds err/disk.vmdk"
vcsim_put other.vmdk "$ds err/other.vmdk"
vcsim_attach_disk "$VCSIM_VM" "$ds err/disk.vmdk" $((4 << 20))
printf %s "$secret" > pw
printf %s "wrong-$secret" > badpw

all_output=all.log
: > $all_output

# try EXPECT REGEX [PARAMS...]: EXPECT is ok (nbdinfo --size works) or
# fail (and the output matches REGEX); at most 20 s.
try ()
{
  local expect=$1 regex=$2 start=$SECONDS rc=0
  shift 2
  timeout 60 nbdkit -fv -U - "$VDDK_PLUGIN" -D vddk.diskinfo=1 \
    -D vddk.extents=1 -D vddk.datapath=1 -D vddk.stats=1 \
    server="$VCSIM_HOST" port="$VCSIM_PORT" vm=moref="$VCSIM_VM" "$@" \
    --run 'nbdinfo --size "$uri"' > out.log 2>&1 || rc=$?
  cat out.log >> $all_output
  [ $((SECONDS - start)) -le 20 ] || { echo "took $((SECONDS - start)) s"; return 1; }
  if [ $expect = ok ]; then
    [ $rc = 0 ] || { cat out.log; return 1; }
    grep -qx 4194304 out.log
  else
    [ $rc != 0 ] || { cat out.log; echo "succeeded: $*"; return 1; }
    grep -Eq -- "$regex" out.log || { cat out.log; echo "no /$regex/"; return 1; }
  fi
}

tp=thumbprint=$VCSIM_THUMBPRINT
try ok '' user=admin password=+pw $tp "$ds err/disk.vmdk"
try ok '' user=admin password=-3 $tp "$ds err/disk.vmdk" 3< pw
# A SHA-256 thumbprint, lower case without colons, works too.
try ok '' user=admin password=+pw \
  thumbprint="$(tr -d : <<<"$VCSIM_THUMBPRINT256" | tr A-F a-f)" "$ds err/disk.vmdk"

# password=- asks at the terminal.
cat > ask.sh <<EOS
#!/bin/bash
exec nbdkit -U - "$VDDK_PLUGIN" server=$VCSIM_HOST port=$VCSIM_PORT \\
  vm=moref=$VCSIM_VM user=admin password=- $tp "$ds err/disk.vmdk" \\
  --run 'nbdinfo --size "\$uri"'
EOS
chmod +x ask.sh
expect <<EOF
set timeout 30
spawn ./ask.sh
expect -re "password: ?"
send "$secret\r"
expect {
  "4194304" { }
  timeout { exit 1 }
}
expect eof
EOF

# cookie= (a session made elsewhere); it is not logged out at the end.
# The password is still required (the session key, as VDDK wants it).
# With cookie=+FILE or -FD the cookie stays out of nbdkit's own -v output.
cookie=$(vcsim_login admin "$secret")
printf %s "$cookie" > cookie
try ok '' cookie=+cookie user=admin password=+pw $tp "$ds err/disk.vmdk"
try ok '' cookie=-4 user=admin password=+pw $tp "$ds err/disk.vmdk" 4< cookie
vcsim_fixture session "$cookie"
# cookie=VALUE works too (without -v: nbdkit's -v prints every value).
nbdkit -U - "$VDDK_PLUGIN" server="$VCSIM_HOST" port="$VCSIM_PORT" \
  vm=moref="$VCSIM_VM" cookie="$cookie" user=admin password=+pw $tp \
  "$ds err/disk.vmdk" --run 'nbdinfo --size "$uri"' >> $all_output 2>&1
vcsim_fixture session "$cookie"

# Mistakes, each with its own message.
try fail "login to $VCSIM_HOST.* as admin failed|InvalidLogin|incorrect user name or password" \
  user=admin password=+badpw $tp "$ds err/disk.vmdk"
try fail "$VCSIM_THUMBPRINT" user=admin password=+pw thumbprint=12 "$ds err/disk.vmdk"
try fail "vm-999" user=admin password=+pw $tp vm=moref=vm-999 "$ds err/disk.vmdk"
try fail "snapshot-999" user=admin password=+pw $tp snapshot=snapshot-999 "$ds err/disk.vmdk"
try fail "other.vmdk.*(not a disk|disks of)" user=admin password=+pw $tp "$ds err/other.vmdk"
vcsim_attach_disk "$VCSIM_VM" "$ds err/missing.vmdk" $((4 << 20)) 2>/dev/null || true
try fail "(no|not found|missing|404).*(err/missing.vmdk|$VCSIM_HOST)|err/missing.vmdk.*(not found|404|does not exist)" \
  user=admin password=+pw $tp "$ds err/missing.vmdk"
try fail "transport|san|hotadd" user=admin password=+pw $tp transports=san:hotadd "$ds err/disk.vmdk"
try ok '' user=admin password=+pw $tp transports=file:nbdssl:nbd "$ds err/disk.vmdk"
# Nothing listens there / a host that does not answer.
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
VCSIM_PORT=$port try fail "refused|connect" user=admin password=+pw $tp "$ds err/disk.vmdk"
VCSIM_HOST=192.0.2.1 try fail "192.0.2.1.*(time|connect|unreachable)|(time|connect|unreachable).*192.0.2.1" \
  user=admin password=+pw $tp "$ds err/disk.vmdk"

# The secrets never appear.
refute grep -F -- "$secret" $all_output
refute grep -F -- "$cookie" $all_output
