#!/usr/bin/env bash
# Builds the Pulumi engine secure-flink is tested with, from published Go modules only: the CLI, the Python
# language host (and the scripts its module ships), the YAML language host, and the kubernetes, tls and
# random providers.
#
#   scripts/build-engine.sh DIR    binaries go to DIR/bin; DIR/.built records versions and build times
#
# Each binary has a wrapper module under engine/ (go.mod, go.sum, a few lines of our own); see
# engine/README.md. Go's module and build caches stay where Go keeps them (outside the checkout), so a
# second build, even from a fresh clone, only relinks.
set -euo pipefail

out=${1:?usage: scripts/build-engine.sh DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
engine=$root/engine
mkdir -p "$out/bin"
out=$(cd "$out" && pwd)

export CGO_ENABLED=0
# Two module versions the checksum database does not list (the language host's release commit and the
# Terraform random provider's commit): their hashes are pinned by our go.sum files instead.
export GONOSUMDB=github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python,github.com/terraform-providers/terraform-provider-random
export GOFLAGS=-mod=readonly

PULUMI_VERSION=v3.224.0
LANGUAGE_HOST_VERSION=v3.184.0
YAML_VERSION=v1.30.0
KUBERNETES_VERSION=4.25.0
TLS_VERSION=5.3.1
RANDOM_VERSION=4.19.2

stamp=$out/.built.partial
: >"$stamp"

timed() { # name, then the command that builds it
	local name=$1 start=$SECONDS
	shift
	echo "building $name" >&2
	"$@"
	echo "$name $((SECONDS - start))s" >>"$stamp"
}

module_dir() { # the module cache directory of a dependency of the wrapper module in $1 (downloaded first:
	# `go list -m` names no directory for a module that is not in the cache yet)
	local dir
	dir=$(cd "$1" && go mod download "$2" && go list -m -f '{{.Dir}}' "$2")
	[ -n "$dir" ] || { echo "no module directory for $2" >&2; exit 1; }
	echo "$dir"
}

build_cli() {
	cd "$engine/pulumi"
	go build -tags osusergo,grpcnotrace -o "$out/bin/pulumi" \
		-ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
		github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

build_language_python() {
	cd "$engine/language-python"
	go build -o "$out/bin/pulumi-language-python" \
		-ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$LANGUAGE_HOST_VERSION" \
		github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3
	# The host refuses to start without its exec script beside it; the CLI runs Python policy packs through
	# the analyzer script, and Python dynamic resources (secure_flink/components/java_stores.py) through the dynamic
	# provider script. All three ship in the host's sdk module; module-cache files carry no run bit.
	local sdk
	sdk=$(module_dir "$engine/language-python" github.com/pulumi/pulumi/sdk/v3)
	install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$out/bin/"
	install -m 0755 "$sdk/python/dist/pulumi-analyzer-policy-python" "$out/bin/"
	install -m 0755 "$sdk/python/dist/pulumi-resource-pulumi-python" "$out/bin/"
}

build_language_yaml() {
	cd "$engine/language-yaml"
	go build -o "$out/bin/pulumi-language-yaml" \
		-ldflags "-s -w -X github.com/pulumi/pulumi-yaml/pkg/version.Version=$YAML_VERSION" \
		github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml
}

build_kubernetes() {
	cd "$engine/kubernetes"
	local provider
	provider=$(module_dir "$engine/kubernetes" github.com/pulumi/pulumi-kubernetes/provider/v4)
	# What the provider's `go generate` writes: the committed schema with the version set, and the mapping.
	python3 "$root/scripts/embed_kubernetes_schema.py" "$provider/cmd/pulumi-resource-kubernetes" \
		"$KUBERNETES_VERSION" schema-embed.json terraform-mapping-embed.json
	go build -o "$out/bin/pulumi-resource-kubernetes" \
		-ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$KUBERNETES_VERSION" .
}

build_bridged() { # name, Terraform provider module, version
	cd "$engine/$1"
	go build -o "$out/bin/pulumi-resource-$1" -ldflags "-s -w -X $2/shim.Version=$3" "./cmd/pulumi-resource-$1"
}

timed pulumi build_cli
timed pulumi-language-python build_language_python
timed pulumi-language-yaml build_language_yaml
timed pulumi-resource-kubernetes build_kubernetes
timed pulumi-resource-tls build_bridged tls github.com/hashicorp/terraform-provider-tls "$TLS_VERSION"
timed pulumi-resource-random build_bridged random github.com/terraform-providers/terraform-provider-random "$RANDOM_VERSION"

{
	echo "pulumi $PULUMI_VERSION"
	echo "pulumi-language-python $LANGUAGE_HOST_VERSION"
	echo "pulumi-language-yaml $YAML_VERSION"
	echo "kubernetes $KUBERNETES_VERSION"
	echo "tls $TLS_VERSION"
	echo "random $RANDOM_VERSION"
	go version
	cat "$stamp"
} >"$out/.built"
rm -f "$stamp"
echo "engine ready in $out/bin" >&2
