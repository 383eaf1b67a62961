#!/usr/bin/env bash
# Builds the single-sign-on pair the OIDC tests run on 127.0.0.1, from published Go modules only: Dex (the
# OIDC provider, users in groups) and oauth2-proxy (the login proxy nginx asks on each request).
#
#   scripts/build-idp.sh DIR    binaries go to DIR/bin; DIR/.built records versions and build times
#
# Each binary has a wrapper module under idp/ (go.mod and go.sum only: a `tool` directive names the main
# package); see idp/README.md. Go's module and build caches stay where Go keeps them (outside the checkout),
# so a second build, even from a fresh clone, only relinks.
set -euo pipefail

out=${1:?usage: scripts/build-idp.sh DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
idp=$root/idp
mkdir -p "$out/bin"
out=$(cd "$out" && pwd)

export CGO_ENABLED=0
export GOFLAGS=-mod=readonly

# Dex's module path has no /v2, so its release tags are not module versions: idp/dex/go.mod requires the
# commit tagged v2.45.1 by its pseudo-version (v0.0.0-20260303133905-11d2eeb52b42).
DEX_VERSION=v2.45.1
OAUTH2_PROXY_VERSION=v7.15.6

stamp=$out/.built.partial
: >"$stamp"

timed() { # name, then the command that builds it
	local name=$1 start=$SECONDS
	shift
	echo "building $name" >&2
	"$@"
	echo "$name $((SECONDS - start))s" >>"$stamp"
}

build_dex() {
	cd "$idp/dex"
	# Without cgo Dex has no SQLite storage; the tests use its memory storage.
	go build -o "$out/bin/dex" -ldflags "-s -w -X main.version=$DEX_VERSION" github.com/dexidp/dex/cmd/dex
}

build_oauth2_proxy() {
	cd "$idp/oauth2-proxy"
	go build -o "$out/bin/oauth2-proxy" \
		-ldflags "-s -w -X github.com/oauth2-proxy/oauth2-proxy/v7/pkg/version.VERSION=$OAUTH2_PROXY_VERSION" \
		github.com/oauth2-proxy/oauth2-proxy/v7
}

timed dex build_dex
timed oauth2-proxy build_oauth2_proxy

{
	echo "dex $DEX_VERSION"
	echo "oauth2-proxy $OAUTH2_PROXY_VERSION"
	go version
	cat "$stamp"
} >"$out/.built"
rm -f "$stamp"
echo "dex and oauth2-proxy ready in $out/bin" >&2
