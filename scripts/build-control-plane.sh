#!/usr/bin/env bash
# Builds the Kubernetes control plane the cluster tests run on 127.0.0.1, from published Go modules only:
# kube-apiserver and kube-controller-manager (k8s.io/kubernetes) and etcd (go.etcd.io/etcd/server/v3).
#
#   scripts/build-control-plane.sh DIR    binaries go to DIR/bin; DIR/.built records versions and build times
#
# The wrapper modules are engine/kubernetes-server and engine/etcd (see engine/README.md). Go's module and
# build caches stay where Go keeps them, so a second build, even from a fresh clone, only relinks.
set -euo pipefail

out=${1:?usage: scripts/build-control-plane.sh DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
engine=$root/engine
mkdir -p "$out/bin"
out=$(cd "$out" && pwd)

export CGO_ENABLED=0
export GOFLAGS=-mod=readonly

# OpenShift 4.21 runs Kubernetes 1.34.
KUBERNETES_VERSION=v1.34.4
ETCD_VERSION=v3.6.16

stamp=$out/.built.partial
: >"$stamp"

timed() { # name, then the command that builds it
	local name=$1 start=$SECONDS
	shift
	echo "building $name" >&2
	"$@"
	echo "$name $((SECONDS - start))s" >>"$stamp"
}

kubernetes_version_flags() {
	# Without these /version answers v0.0.0, and the Kubernetes provider refuses the cluster.
	local minor=${KUBERNETES_VERSION#v1.}
	minor=${minor%%.*}
	local package
	for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		printf -- '-X %s.gitVersion=%s -X %s.gitMajor=1 -X %s.gitMinor=%s -X %s.gitTreeState=clean ' \
			"$package" "$KUBERNETES_VERSION" "$package" "$package" "$minor" "$package"
	done
}

build_kubernetes() { # command
	cd "$engine/kubernetes-server"
	go build -o "$out/bin/$1" -ldflags "-s -w $(kubernetes_version_flags)" "k8s.io/kubernetes/cmd/$1"
}

build_etcd() {
	cd "$engine/etcd"
	go build -o "$out/bin/etcd" -ldflags "-s -w" go.etcd.io/etcd/server/v3
}

timed etcd build_etcd
timed kube-apiserver build_kubernetes kube-apiserver
timed kube-controller-manager build_kubernetes kube-controller-manager

{
	echo "kubernetes $KUBERNETES_VERSION"
	echo "etcd $ETCD_VERSION"
	go version
	cat "$stamp"
} >"$out/.built"
rm -f "$stamp"
echo "control plane ready in $out/bin" >&2
