#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Build scripts/vcsim/main.go into OUT (default build/vcsim) from Debian's
# golang-go and golang-github-vmware-govmomi-dev, offline (GOPATH mode).
set -e
src=$(cd "$(dirname "$0")" && pwd)
out=${1:-build/vcsim}
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
[ -x "$out" ] && [ "$out" -nt "$src/main.go" ] && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/vcsim"
cp "$src/main.go" "$work/src/vcsim/"
cd "$work/src/vcsim"
GOPATH="$work:/usr/share/gocode" GO111MODULE=off GOPROXY=off GOFLAGS= \
  CGO_ENABLED=0 GOCACHE="$work/cache" go build -o "$out" .
