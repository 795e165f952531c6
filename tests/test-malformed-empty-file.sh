#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# An empty file: opening fails cleanly (read-only and read-write) with an
# error about the empty/truncated file or missing descriptor.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version

: > empty.vmdk
vddk_serve_fails 'empty|truncat|too small|not a (valid )?(vmdk|virtual disk)' \
  -r "$PWD/empty.vmdk"
vddk_serve_fails 'empty|truncat|too small|not a (valid )?(vmdk|virtual disk)' \
  "$PWD/empty.vmdk"
[ ! -s empty.vmdk ]
