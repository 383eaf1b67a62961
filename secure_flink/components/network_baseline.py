"""NetworkBaseline: the namespace's default: no traffic in or out, except name lookups at the cluster DNS."""

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from secure_flink.domain import names
from secure_flink.domain.network_policy import DnsService, default_deny, dns_egress
from secure_flink.domain.problems import ArgumentChecks

TYPE = "secureflink:index:NetworkBaseline"


@dataclass(frozen=True, kw_only=True)
class NetworkBaselineArgs:
    namespace: str
    dns: DnsService
    """The cluster DNS of the platform (CoreDNS in kube-system, or openshift-dns)."""

    def __post_init__(self) -> None:
        checks = ArgumentChecks(self)
        checks.check("namespace", self.namespace, names.namespace_problem(self.namespace), "namespace='flink'")
        checks.raise_any()


class NetworkBaseline(pulumi.ComponentResource):
    """Creates a NetworkPolicy that selects every pod of the namespace and allows nothing, and one that
    allows every pod DNS at the cluster DNS. Every other path is opened by the component that uses it.

    It governs every pod of the namespace, the stack's or not: give other workloads their own policies.
    Without a CNI that enforces NetworkPolicy the objects exist and nothing is filtered.
    """

    def __init__(self, name: str, args: NetworkBaselineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        metadata = {"namespace": args.namespace, "labels": names.labels(name, "network")}
        k8s.networking.v1.NetworkPolicy(f"{name}-default-deny", metadata=metadata, spec=default_deny(), opts=child)
        k8s.networking.v1.NetworkPolicy(f"{name}-dns", metadata=metadata, spec=dns_egress(args.dns), opts=child)
        self.register_outputs({})
