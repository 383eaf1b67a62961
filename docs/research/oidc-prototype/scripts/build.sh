#!/usr/bin/env bash
# Builds Dex, oauth2-proxy and the bcrypt helper from published Go modules only (no release downloads),
# into /tmp/oidc-proto/bin, in the style of /work/main/scripts/build-engine.sh: one wrapper module per tool
# (go.mod + go.sum pin every version), CGO_ENABLED=0, GOFLAGS=-mod=readonly, -s -w, version ldflags.
# Go 1.26.8 as installed; no GOTOOLCHAIN needed (Dex needs go >= 1.25.0, oauth2-proxy v7.15.6 go >= 1.26.0).
set -euo pipefail
base=/tmp/oidc-proto
export CGO_ENABLED=0
export GOFLAGS=-mod=readonly
DEX_VERSION=v2.45.1                                  # the release; its module version is the pseudo-version below
DEX_MODULE_VERSION=v0.0.0-20260303133905-11d2eeb52b42
OAUTH2_PROXY_VERSION=v7.15.6
mkdir -p "$base/bin"
stamp=$base/bin/.built
: >"$stamp"
timed() { local name=$1 start=$SECONDS; shift; echo "building $name" >&2; nice -n 19 "$@"; echo "$name $((SECONDS - start))s" >>"$stamp"; }

(cd "$base/dex" && timed dex go build -o "$base/bin/dex" -ldflags "-s -w -X main.version=$DEX_VERSION" \
	github.com/dexidp/dex/cmd/dex)
(cd "$base/oauth2-proxy" && timed oauth2-proxy go build -o "$base/bin/oauth2-proxy" \
	-ldflags "-s -w -X github.com/oauth2-proxy/oauth2-proxy/v7/pkg/version.VERSION=$OAUTH2_PROXY_VERSION" \
	github.com/oauth2-proxy/oauth2-proxy/v7)
(cd "$base/bcrypt-hash" && timed bcrypt-hash go build -o "$base/bin/bcrypt-hash" -ldflags "-s -w" .)
{ echo "dex $DEX_VERSION ($DEX_MODULE_VERSION)"; echo "oauth2-proxy $OAUTH2_PROXY_VERSION"; go version; } >>"$stamp"
cat "$stamp"
