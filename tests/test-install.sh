# SPDX-License-Identifier: BSD-3-Clause
# make install's layout: the plugin where nbdkit finds it by name, the
# library as in VMware's distribution (lib64/libvixDiskLib.so.8 plus the
# unversioned link) at the plugin's compiled-in default libdir, the header,
# vixdisklib.pc and both man pages.  Installed into a staging DESTDIR with
# scripts/install.sh (what make install runs); the staged plugin must
# load the staged library when given that libdir, and a program compiled
# with the man page's command line must run against it.  Then make
# uninstall removes everything.  Also: where the plugin goes for other
# prefixes, and what an ordinary user is told.
source "$srcdir/tests/functions.sh"
set -e
set -x

# This test's installs must not replace the install log of the user's
# own "make install", which "make uninstall" reads.
log=$builddir/meson-logs/install-log.txt
if [ -f "$log" ]; then
  cp -p "$log" saved-install-log.txt
  cleanup_fn cp -p "$PWD/saved-install-log.txt" "$log"
else
  cleanup_fn rm -f "$log"
fi

# build_option NAME: the value of a meson option of the build tree.
build_option ()
{
  meson introspect --buildoptions "$builddir" |
    /usr/bin/python3 -c 'import json, sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]][0])' "$1"
}
prefix=$(build_option prefix)
libdir_opt=$(build_option libdir)

dest=$PWD/dest
DESTDIR=$dest "$srcdir/scripts/install.sh" install "$builddir"

# The plugin is where the system's nbdkit looks when the prefix is the
# default /usr/local or nbdkit's own (so "nbdkit vddk" finds it), else
# under the prefix.
case $prefix in
  /usr/local|"$(pkg-config --variable=prefix nbdkit)")
    plugindir=$(pkg-config --variable=plugindir nbdkit) ;;
  *)
    plugindir=$prefix/$libdir_opt/nbdkit/plugins ;;
esac
plugin=$dest$plugindir/nbdkit-vddk-plugin.so
test -f "$plugin"

libdir=$(nbdkit "$plugin" --dump-plugin | sed -n 's/^vddk_default_libdir=//p')
[ -n "$libdir" ]
case "$libdir" in /*) ;; *) echo "default libdir is not absolute"; exit 1 ;; esac
test -f "$dest$libdir/lib64/libvixDiskLib.so.8"
test -L "$dest$libdir/lib64/libvixDiskLib.so"
[ "$(readlink -f "$dest$libdir/lib64/libvixDiskLib.so")" = \
  "$(readlink -f "$dest$libdir/lib64/libvixDiskLib.so.8")" ]
test -f "$dest$libdir/include/vixDiskLib.h"
find "$dest" -name nbdkit-vddk-plugin.1 | grep -q .
find "$dest" -name libvixDiskLib.3 | grep -q .

# The library exports the VixDiskLib API, its own clearly named
# extensions, and nothing else.
nm -D --defined-only "$dest$libdir/lib64/libvixDiskLib.so.8" | awk '{print $3}' > syms
cat syms
refute grep -Ev '^(VixDiskLib|OpenVixDiskLib)_' syms
grep -q '^OpenVixDiskLib_GetPreferredIOSize$' syms
[ "$(wc -l < syms)" -ge 22 ]

# The staged plugin loads the staged library (version 8) and finds all
# 22 functions the plugin uses.
nbdkit "$plugin" --dump-plugin libdir="$dest$libdir" > dump
grep -qx 'vddk_library_version=8' dump
[ "$(grep -c '^VixDiskLib_.*=1$' dump)" -eq 22 ]

# The pkg-config file, and the man page's compile line exactly as
# written, against the staged library.
pcdir=$dest$prefix/$libdir_opt/pkgconfig
test -f "$pcdir/vixdisklib.pc"
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$dest
pkg-config --cflags --libs vixdisklib | grep -F -- "-Wl,-rpath,"
cat > prog.c <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <vixDiskLib.h>

static void logger (const char *fmt, va_list args) { (void) fmt; (void) args; }

int
main (int argc, char *argv[])
{
  VixDiskLibConnection conn;
  VixDiskLibHandle disk;
  VixDiskLibInfo *info;
  VixDiskLibConnectParams params = { 0 };
  unsigned char buf[512];

  if (argc != 2) return 2;
  if (VixDiskLib_InitEx (6, 5, logger, logger, logger, NULL, NULL) != VIX_OK ||
      VixDiskLib_ConnectEx (&params, 1, NULL, NULL, &conn) != VIX_OK ||
      VixDiskLib_Open (conn, argv[1], VIXDISKLIB_FLAG_OPEN_READ_ONLY, &disk) != VIX_OK ||
      VixDiskLib_GetInfo (disk, &info) != VIX_OK ||
      VixDiskLib_Read (disk, 0, 1, buf) != VIX_OK) {
    fprintf (stderr, "prog: VixDiskLib call failed\n");
    return 1;
  }
  printf ("capacity=%llu\n", (unsigned long long) info->capacity);
  VixDiskLib_FreeInfo (info);
  VixDiskLib_Close (disk);
  VixDiskLib_Disconnect (conn);
  VixDiskLib_Exit ();
  return 0;
}
EOF
line=$(sed -n 's/^ \(cc .*vixdisklib.*\)$/\1/p' "$srcdir/lib/libvixDiskLib.pod")
[ -n "$line" ]
sh -c "$line"
readelf -d prog | grep -E 'NEEDED.*libvixDiskLib\.so\.8'
runpath=$(readelf -d prog | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
# pkg-config puts the sysroot on the rpath too; without it the rpath
# would name the final place, which the staged files are not in.
case $runpath in
  "$dest$libdir/lib64") ./prog "$SAMPLES/monolithicSparse.vmdk" > prog.out ;;
  "$libdir/lib64") LD_LIBRARY_PATH=$dest$libdir/lib64 ./prog "$SAMPLES/monolithicSparse.vmdk" > prog.out ;;
  *) echo "unexpected RUNPATH '$runpath'"; exit 1 ;;
esac
cat prog.out
vsize=$(qemu-img info --output=json "$SAMPLES/monolithicSparse.vmdk" |
        /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["virtual-size"])')
grep -Fx "capacity=$((vsize / 512))" prog.out
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# make uninstall: everything the install put in DESTDIR is gone, and so
# are the directories it made (here all of them, DESTDIR included).
"$srcdir/scripts/install.sh" uninstall "$builddir"
[ ! -e "$dest" ] || { find "$dest"; echo "uninstall left files behind"; exit 1; }

# Other prefixes: the plugin goes under the prefix (nbdkit is then given
# its path), except for /usr/local and nbdkit's own prefix, where it goes
# to nbdkit's plugindir so that "nbdkit vddk" finds it.  Configured only:
# no build is needed to know where things go.
installed_plugin ()
{
  rm -rf cfg
  meson setup cfg "$srcdir" -Dprefix="$1" > cfg.log 2>&1 || { cat cfg.log; return 1; }
  meson introspect --installed cfg |
    /usr/bin/python3 -c 'import json, sys; print("\n".join(v for v in json.load(sys.stdin).values() if v.endswith("nbdkit-vddk-plugin.so")))'
}
nbdkit_plugindir=$(pkg-config --variable=plugindir nbdkit)
[ "$(installed_plugin /opt/ovdl)" = "/opt/ovdl/$libdir_opt/nbdkit/plugins/nbdkit-vddk-plugin.so" ]
[ "$(installed_plugin "$PWD/home/.local")" = "$PWD/home/.local/$libdir_opt/nbdkit/plugins/nbdkit-vddk-plugin.so" ]
[ "$(installed_plugin /usr/local)" = "$nbdkit_plugindir/nbdkit-vddk-plugin.so" ]
[ "$(installed_plugin "$(pkg-config --variable=prefix nbdkit)")" = "$nbdkit_plugindir/nbdkit-vddk-plugin.so" ]
rm -rf cfg

# An ordinary user running make install for the system is told what to
# do, and nothing is written.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
  chmod 0755 "$PWD"
  cfgdir=$PWD/nobody-cfg
  meson setup "$cfgdir" "$srcdir" -Dprefix=/usr/local > cfg.log 2>&1 || { cat cfg.log; exit 1; }
  chmod -R a+rX "$cfgdir"
  if out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
             env -u DESTDIR "$srcdir/scripts/install.sh" install "$cfgdir" 2>&1); then
    echo "$out"; echo "install as nobody succeeded"; exit 1
  fi
  echo "$out"
  grep -q "cannot write to" <<<"$out"
  grep -q "sudo make install" <<<"$out"
  grep -q "DESTDIR=" <<<"$out"
  grep -q "PREFIX=" <<<"$out"
  refute grep -q Traceback <<<"$out"
  test ! -e "$cfgdir/meson-logs/install-log.txt"
fi
