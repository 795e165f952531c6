#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# vddk-deps.sh ROOT: build, once, the libraries the VDDK directory
# bundles, inside the Debian 11 root ROOT (scripts/bullseye-root.sh),
# into ROOT/opt/vddk-deps:
#
#   libdeflate          VMDK grains (streamOptimized, compression)
#   OpenSSL             TLS for libcurl, and the thumbprint pin
#   curl (libcurl)      HTTPS to vSphere, HTTPS only, over OpenSSL
#   libxml2             the SOAP replies, without ICU, lzma or zlib
#
# Each comes from Debian 12's (bookworm) source package, the version
# Debian maintains with its security fixes ("apt-get source"), built
# with Debian 11's compiler against its glibc 2.31, with only what the
# library uses: the objects then need nothing newer than glibc 2.31 and
# no libstdc++ or libgcc_s.  ROOT/opt/vddk-deps/MANIFEST lists
# "soname package version licence" for each bundled library, and
# share/copyright/PACKAGE.copyright holds Debian's copyright files.
# A lock keeps parallel callers from building twice; .complete marks
# a finished build of this very script.
set -euo pipefail

root=${1:?usage: vddk-deps.sh ROOT}
root=$(cd "$root" && pwd)
prefix=/opt/vddk-deps
stamp=$(sha256sum "$0" | cut -d' ' -f1)

[ "$(cat "$root$prefix/.complete" 2>/dev/null)" = "$stamp" ] && exit 0
exec 9> "$root.deps.lock"
flock 9
[ "$(cat "$root$prefix/.complete" 2>/dev/null)" = "$stamp" ] && exit 0

start=$(date +%s)
echo "vddk-deps: building libdeflate, OpenSSL, libcurl, libxml2 in $root (log: $root.deps.log)"
if ! chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
       HOME=/root LC_ALL=C PREFIX="$prefix" \
       JOBS="$(nproc)" /bin/bash -s > "$root.deps.log" 2>&1 <<'EOF'
set -euo pipefail
set -x
rm -rf "$PREFIX" /build/vddk-deps
mkdir -p "$PREFIX/lib" "$PREFIX/include" "$PREFIX/share/copyright" /build/vddk-deps
cd /build/vddk-deps

# Debian's hardening flags; -fPIC for shared objects.
export CFLAGS="-O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIC"
export LDFLAGS="-L$PREFIX/lib -Wl,-z,relro -Wl,-z,now"
export CPPFLAGS="-I$PREFIX/include"
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
# configure runs test programs against the libraries built before.
export LD_LIBRARY_PATH="$PREFIX/lib"

# fetch PACKAGE: unpack the newest source package of bookworm (with
# Debian's patches applied) and cd into it; record its version and
# licence (the "Files: *" stanza of debian/copyright).
fetch ()
{
  local v
  # The newest version the mirror serves (a mirror may index a version
  # whose files it does not hold).
  for v in $(apt-cache showsrc "$1" | sed -n 's/^Version: //p' | sort -Vru); do
    apt-get source -qq "$1=$v" > /dev/null && break
    rm -rf ./"$1"[-_]*
  done
  cd "$(find . -maxdepth 1 -type d -name "$1-[0-9]*" | head -n 1)"
  version=$(dpkg-parsechangelog -S Version)
  licence=$(awk '/^Files: *\*[ \t]*$/ { m = 1; next }
                 m && /^License:/ { sub(/^License: */, ""); print; exit }
                 /^$/ { m = 0 }' debian/copyright)
  cp debian/copyright "$PREFIX/share/copyright/$1.copyright"
  # Every file the same age: Debian's patches must not make make think
  # autotools outputs are stale (the root has no autotools).
  find . -exec touch -h -d '2000-01-01 00:00' {} +
}
manifest () { echo "$1 $2 $version ${licence:-see-copyright}" >> "$PREFIX/MANIFEST"; }

fetch libdeflate
make -j"$JOBS" libdeflate.so.0 CFLAGS="$CFLAGS"
install -m 0644 libdeflate.h "$PREFIX/include/"
install -m 0755 libdeflate.so.0 "$PREFIX/lib/"
ln -sf libdeflate.so.0 "$PREFIX/lib/libdeflate.so"
manifest libdeflate.so.0 libdeflate
cd ..

# OpenSSL 3: libcurl's TLS and the library's pin check (which also asks
# for SSL_OP_CLEANSE_PLAINTEXT, new in 3.0).  No engines, no legacy
# provider, no test programs.  Its configuration file is looked up in
# Debian's /usr/lib/ssl (absent on RHEL-like importers, whose
# crypto-policies configuration is for their own patched OpenSSL).
fetch openssl
./Configure linux-x86_64 --prefix="$PREFIX" --libdir=lib \
  --openssldir=/usr/lib/ssl shared no-tests no-legacy no-engine \
  no-dynamic-engine $CFLAGS
# Only the shared libraries: "make build_libs" would compile libcrypto
# a second time for the static one, twice the time of this whole script.
make -j"$JOBS" build_generated
# (No .pc files either: their rule wants the static libraries; curl's
# configure finds OpenSSL in --with-openssl's directory without them.)
make -j"$JOBS" libcrypto.so libssl.so
cp -P libcrypto.so* libssl.so* "$PREFIX/lib/"
mkdir -p "$PREFIX/include/openssl"
cp include/openssl/*.h "$PREFIX/include/openssl/"
manifest libssl.so.3 openssl
manifest libcrypto.so.3 openssl
cd ..

# libcurl: HTTP and HTTPS only, TLS by OpenSSL; no other protocol, no
# HTTP/2, IDN, PSL, compression, GSSAPI, SSH or RTMP.  No CA bundle:
# the library pins the server's thumbprint instead.
fetch curl
./configure --prefix="$PREFIX" --disable-static --enable-shared \
  --with-openssl="$PREFIX" --enable-symbol-hiding --disable-manual \
  --disable-ftp --disable-file --disable-ldap --disable-ldaps \
  --disable-rtsp --disable-dict --disable-telnet --disable-tftp \
  --disable-pop3 --disable-imap --disable-smb --disable-smtp \
  --disable-gopher --disable-mqtt --disable-ntlm-wb \
  --without-zlib --without-brotli --without-zstd --without-libidn2 \
  --without-libpsl --without-nghttp2 --without-nghttp3 --without-ngtcp2 \
  --without-librtmp --without-libssh2 --without-libssh --without-gssapi \
  --without-ca-bundle --without-ca-path --without-ca-fallback
make -j"$JOBS" -C lib
make -C lib install
make -C include install
make install-pkgconfigDATA
manifest libcurl.so.4 curl
cd ..

# libxml2: the parser and tree only; no ICU (and so no libstdc++), no
# lzma or zlib, no HTTP/FTP fetching, no Python, no readline.
fetch libxml2
./configure --prefix="$PREFIX" --disable-static --enable-shared \
  --without-python --without-icu --without-lzma --without-zlib \
  --without-readline --without-history --without-http --without-ftp \
  --without-modules --without-legacy --without-debug
make -j"$JOBS" libxml2.la
make install-libLTLIBRARIES install-pkgconfigDATA
make -C include install
manifest libxml2.so.2 libxml2
cd ..

# (Not stripped here: Debian 11's strip crashes on one of them;
# scripts/vddk-distrib.sh strips the copies it bundles.)
rm -rf /build/vddk-deps
EOF
then
  tail -n 30 "$root.deps.log" >&2
  echo "vddk-deps: building the libraries failed (log: $root.deps.log)" >&2
  exit 1
fi
echo "$stamp" > "$root$prefix/.complete"
echo "vddk-deps: built in $(( $(date +%s) - start )) s"
