"""NetworkPolicies of the stack: deny by default, then open exactly the paths the stack uses.

Policies add up: a pod selected by several is reachable by the union of what they allow, and a pod
selected by none of a direction is unrestricted in it, hence the namespace-wide default deny.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import names
from .exposure import Exposure

INGRESS = "Ingress"
EGRESS = "Egress"
# The `kubernetes` Service is translated to the API server's own address and port before policies
# apply: 6443 on kubeadm and OpenShift, 443 on many managed control planes.
API_SERVER_PORTS = (443, 6443)
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
# OpenShift labels the namespaces of its ingress controllers (routers) with this, host network included.
OPENSHIFT_ROUTER_NAMESPACES = {"policy-group.network.openshift.io/ingress": ""}


@dataclass(frozen=True, kw_only=True)
class DnsService:
    namespace: str
    pod_labels: Mapping[str, str]
    ports: tuple[int, ...]
    """Every port the DNS pods answer on: OpenShift's Service maps 53 to 5353, and egress rules see 5353."""


KUBERNETES_DNS = DnsService(namespace="kube-system", pod_labels={"k8s-app": "kube-dns"}, ports=(53,))
OPENSHIFT_DNS = DnsService(
    namespace="openshift-dns", pod_labels={"dns.operator.openshift.io/daemonset-dns": "default"}, ports=(53, 5353)
)


@dataclass(frozen=True, kw_only=True)
class EgressRule:
    """Egress a FlinkDeployment's jobs need: an address range and the TCP ports on it."""

    cidr: str
    ports: tuple[int, ...]


def namespace_peer(namespace: str) -> dict[str, object]:
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}}}


def _pods(labels: Mapping[str, str]) -> dict[str, object]:
    return {"podSelector": {"matchLabels": dict(labels)}}


def _tcp(*ports: int) -> list[dict[str, object]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def default_deny() -> dict[str, object]:
    """Every pod of the namespace: nothing in, nothing out, until another policy allows it."""
    return {"podSelector": {}, "policyTypes": [INGRESS, EGRESS]}


def dns_egress(dns: DnsService) -> dict[str, object]:
    """Every pod of the namespace may resolve names, at the cluster DNS only."""
    peer = {**namespace_peer(dns.namespace), **_pods(dns.pod_labels)}
    ports = [{"protocol": protocol, "port": port} for port in dns.ports for protocol in ("UDP", "TCP")]
    return {"podSelector": {}, "policyTypes": [EGRESS], "egress": [{"to": [peer], "ports": ports}]}


def proxy_callers(exposure: Exposure, ingress_controller_namespace: str) -> list[dict[str, object]]:
    """Who forwards outside traffic to a proxy: OpenShift's routers or the ingress controller's namespace."""
    if exposure is Exposure.ROUTE:
        return [{"namespaceSelector": {"matchLabels": dict(OPENSHIFT_ROUTER_NAMESPACES)}, "podSelector": {}}]
    return [namespace_peer(ingress_controller_namespace)]


def flink_pods_policy(
    *, deployment: str, api_server_cidrs: Sequence[str], egress: Sequence[EgressRule]
) -> dict[str, object]:
    """A FlinkDeployment's pods: every port among themselves (RPC, blob, the TaskManagers' data
    ports), nothing from other pods; out to the API server when given CIDRs (the pods call it) and
    to the job's own endpoints. Pods of another FlinkDeployment are not peers."""
    peers = [_pods(names.flink_pod_labels(deployment))]
    rules: list[dict[str, object]] = [{"to": peers}]
    if api_server_cidrs:
        rules.append(
            {"to": [{"ipBlock": {"cidr": cidr}} for cidr in api_server_cidrs], "ports": _tcp(*API_SERVER_PORTS)}
        )
    rules += [{"to": [{"ipBlock": {"cidr": rule.cidr}}], "ports": _tcp(*rule.ports)} for rule in egress]
    return {
        "podSelector": {"matchLabels": names.flink_pod_labels(deployment)},
        "policyTypes": [INGRESS, EGRESS],
        "ingress": [{"from": peers}],
        "egress": rules,
    }


def jobmanager_ingress_policy(
    *,
    deployment: str,
    operator_namespace: str,
    rest_client_labels: Sequence[Mapping[str, str]],
    rest_client_namespaces: Sequence[str] = (),
) -> dict[str, object]:
    """The JobManager's REST port, for the given client pods, the operator's namespace and the given
    client namespaces (an ingress controller that calls Flink directly).

    The operator strips `rest.bind-address`, so REST cannot be bound to loopback behind a sidecar;
    this policy is what keeps port 8081 private.
    """
    rest_peers = [_pods(labels) for labels in rest_client_labels]
    rest_peers += [namespace_peer(namespace) for namespace in (operator_namespace, *rest_client_namespaces)]
    return {
        "podSelector": {"matchLabels": names.flink_jobmanager_labels(deployment)},
        "policyTypes": [INGRESS],
        "ingress": [{"from": rest_peers, "ports": _tcp(names.REST_PORT)}],
    }


def proxy_policy(
    *,
    deployment: str,
    proxy_labels: Mapping[str, str],
    callers: Sequence[Mapping[str, object]],
    also_to: Sequence[tuple[Mapping[str, str], int]] = (),
) -> dict[str, object]:
    """A proxy: HTTPS in from the callers only; out to its own JobManager's REST port, and to the pods (by labels)
    and ports of `also_to` (its sign-on service), only."""
    return {
        "podSelector": {"matchLabels": dict(proxy_labels)},
        "policyTypes": [INGRESS, EGRESS],
        "ingress": [{"from": [dict(caller) for caller in callers], "ports": _tcp(names.PROXY_PORT)}],
        "egress": [
            {"to": [_pods(names.flink_jobmanager_labels(deployment))], "ports": _tcp(names.REST_PORT)},
            *({"to": [_pods(labels)], "ports": _tcp(port)} for labels, port in also_to),
        ],
    }
