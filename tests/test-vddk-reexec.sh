#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The re-exec that puts the library's directory on LD_LIBRARY_PATH is
# invisible to --run commands: they see LD_LIBRARY_PATH as it was
# before nbdkit started.  It happens when other libraries are bundled
# beside libvixDiskLib (as in VMware's VDDK), not for a directory that
# holds only libvixDiskLib (this project's install layout).
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdinfo --version

disk="$SAMPLES/monolithicSparse.vmdk"

# A VDDK-like directory: our library plus a bundled library.
mkdir -p "$PWD/bundle/lib64"
ln -s "$builddir/lib/libvixDiskLib.so.8" "$PWD/bundle/lib64/libvixDiskLib.so.8"
ln -s "$(readlink -f /lib/x86_64-linux-gnu/libz.so.1)" "$PWD/bundle/lib64/libz.so.1"
libdir64="$PWD/bundle/lib64"

# Only libvixDiskLib in the default libdir: no re-exec at all.
unset LD_LIBRARY_PATH
nbdkit -v -r -U - "$VDDK_PLUGIN" "$disk" \
  --run 'echo "child LD_LIBRARY_PATH=${LD_LIBRARY_PATH-<unset>}"' > out 2>&1
cat out
grep -Fx "child LD_LIBRARY_PATH=<unset>" out
grep -F "not re-executing" out
if grep -E "re-executing with|cleaning up after re-exec" out; then
  echo "re-exec'd although no library is bundled beside libvixDiskLib"; exit 1
fi

# serve [ARGS...]: run nbdkit -v (re-exec messages) and a client that
# prints the environment it got; output in "out", the child's view of
# LD_LIBRARY_PATH on stdout.
serve ()
{
  nbdkit -v -r -U - "$VDDK_PLUGIN" libdir="$PWD/bundle" "$disk" "$@" \
    --run 'echo "child LD_LIBRARY_PATH=${LD_LIBRARY_PATH-<unset>}"
           nbdinfo --size "$uri"' > out 2>&1 || { cat out >&2; return 1; }
  cat out >&2
  # The server worked after the re-exec.
  grep -Fx 10485760 out >&2
  sed -n 's/^child //p' out
}

# Not set at all.
unset LD_LIBRARY_PATH
test "$(serve)" = "LD_LIBRARY_PATH=<unset>"
grep -Fx "nbdkit: debug: re-executing with updated LD_LIBRARY_PATH=$libdir64" out
grep -Fx "nbdkit: debug: adding reexeced_=" out
grep -F "cleaning up after re-exec" out

# Set: the library directory is prepended for nbdkit, not for --run.
export LD_LIBRARY_PATH=/nonexistent/a:/nonexistent/b
test "$(serve)" = "LD_LIBRARY_PATH=/nonexistent/a:/nonexistent/b"
grep -Fx "nbdkit: debug: re-executing with updated LD_LIBRARY_PATH=$libdir64:/nonexistent/a:/nonexistent/b" out
grep -Fx "nbdkit: debug: adding reexeced_=/nonexistent/a:/nonexistent/b" out

# Same as what nbdkit shows a --run command with another plugin.
zero=$(nbdkit -U - null --run 'echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH-<unset>}"')
test "$(serve)" = "$zero"

# Already there: no re-exec, and the environment is left alone.
export LD_LIBRARY_PATH="/nonexistent/a:$libdir64"
test "$(serve)" = "LD_LIBRARY_PATH=/nonexistent/a:$libdir64"
if grep -E "re-executing|cleaning up after re-exec" out; then
  echo "re-exec'd although LD_LIBRARY_PATH had the directory"; exit 1
fi

# The hidden noreexec=true turns it off.
export LD_LIBRARY_PATH=/nonexistent/a
test "$(serve noreexec=true)" = "LD_LIBRARY_PATH=/nonexistent/a"
if grep -E "re-executing|cleaning up after re-exec" out; then
  echo "re-exec'd despite noreexec=true"; exit 1
fi

# A re-exec'd nbdkit whose environment does not match is refused.
export LD_LIBRARY_PATH=/nonexistent/a
expect_failure "'reexeced_' set with garbled environment" \
  nbdkit -r -U - "$VDDK_PLUGIN" libdir="$PWD/bundle" "$disk" reexeced_=/x --run true
