"""A stack of this program under the real Pulumi engine on this machine: a local file backend, the
passphrase secrets provider, the Kubernetes provider rendering YAML. `make render` and the real-engine
tests run it."""
