#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# File names with control characters cannot forge log lines or drive
# the terminal: a local disk named with a newline and an escape sequence
# that fails to open gives one error line with them escaped (\n, \x1b),
# from the plugin's context and from the library's text alike, and the
# -v debug lines of the plugin and the library escape them too.  UTF-8
# stays as it is; C1 controls and bytes that are not UTF-8 are escaped.
# A name without control characters comes out unchanged.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdinfo --version

esc=$'\033'

# serve NAME [NBDKIT-ARGS...]: nbdkit serving NAME, a client that fails
# to open it; nbdkit's output (only: the client's goes to /dev/null) in
# "out".  The open must fail.
serve ()
{
  local name=$1 rc=0
  shift
  nbdkit "$@" -U - "$VDDK_PLUGIN" "$name" \
    --run 'nbdinfo --size "$uri" >/dev/null 2>&1' > out 2>&1 || rc=$?
  cat -A out
  [ $rc -ne 0 ] && [ $rc -lt 128 ]
}

# A newline and the start of a colour escape sequence.
bad=$'bad\nname\033[31m.vmdk'
shown='bad\nname\x1b[31m.vmdk'
serve "$PWD/$bad"
# One line, from the plugin's context and the library's text.
test "$(wc -l < out)" = 1
grep -Fx "nbdkit: vddk[1]: error: VixDiskLib_Open: $PWD/$shown: cannot open $PWD/$shown: No such file or directory" out
refute grep -q "$esc" out

# With -v: the plugin's "VDDK call" line and the library's debug line
# are escaped too.  nbdkit itself echoes the parameter unescaped
# ("config key=file, value=..."): that is nbdkit's, the only line
# allowed to hold the raw bytes.
serve "$PWD/$bad" -v
grep -F "VDDK call: VixDiskLib_Open (connection, $PWD/$shown, " out
grep -F "VixDiskLib: error 4: cannot open $PWD/$shown: No such file" out
grep -Fx "nbdkit: vddk[1]: error: VixDiskLib_Open: $PWD/$shown: cannot open $PWD/$shown: No such file or directory" out
grep -a -F -x "nbdkit: debug: vddk: config key=file, value=$PWD/bad" out
grep -a -x "name$esc\[31m\.vmdk" out
test "$(grep -c -a "$esc" out)" = 1

# Carriage return, tab, DEL, an OSC title sequence ending in BEL.
bad=$'cr\rtab\tdel\x7fosc\033]0;pwned\007.vmdk'
shown='cr\rtab\tdel\x7fosc\x1b]0;pwned\x07.vmdk'
serve "$PWD/$bad"
grep -Fx "nbdkit: vddk[1]: error: VixDiskLib_Open: $PWD/$shown: cannot open $PWD/$shown: No such file or directory" out

# UTF-8 is kept, a C1 control (U+009B, CSI) and a stray byte are not.
bad=$'caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac-\xc2\x9b31m-\xff.vmdk'
shown=$'caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac-''\xc2\x9b31m-\xff.vmdk'
serve "$PWD/$bad"
grep -Fx "nbdkit: vddk[1]: error: VixDiskLib_Open: $PWD/$shown: cannot open $PWD/$shown: No such file or directory" out

# A backslash or a plain name is not touched.
serve "$PWD/plain\\name.vmdk"
grep -Fx "nbdkit: vddk[1]: error: VixDiskLib_Open: $PWD/plain\\name.vmdk: cannot open $PWD/plain\\name.vmdk: No such file or directory" out

# Errors of the plugin's own, at start-up: a config= file that does
# not exist, and one that is not a configuration file.
bad=$'conf\nx\033[2J'
expect_failure "realpath: $PWD/conf\\\\nx\\\\x1b\\[2J: No such file" \
  nbdkit -U - "$VDDK_PLUGIN" config="$PWD/$bad" "$SAMPLES/monolithicSparse.vmdk" \
  --run true > out
refute grep -q "$esc" out
printf '\001\002 binary\n' > "$bad"
expect_failure "config: $PWD/conf\\\\nx\\\\x1b\\[2J line 1: not a" \
  nbdkit -U - "$VDDK_PLUGIN" config="$PWD/$bad" "$SAMPLES/monolithicSparse.vmdk" \
  --run true > out
refute grep -q "$esc" out
test "$(grep -c 'error:' out)" = 1
