#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Build scripts/vcsim/*.go into OUT (default build/vcsim) from Debian's
# golang-go and golang-github-vmware-govmomi-dev, offline (GOPATH mode).
set -e
src=$(cd "$(dirname "$0")" && pwd)
out=${1:-build/vcsim}
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
if [ -x "$out" ]; then
  newer=$(find "$src" -name '*.go' -newer "$out" | head -n 1)
  [ -z "$newer" ] && exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/vcsim"
cp "$src"/*.go "$work/src/vcsim/"
cd "$work/src/vcsim"
GOPATH="$work:/usr/share/gocode" GO111MODULE=off GOPROXY=off GOFLAGS= \
  CGO_ENABLED=0 GOCACHE="$work/cache" go build -o "$out" .
