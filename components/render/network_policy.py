"""NetworkPolicy for a FlinkDeployment's JobManager: who may reach its ports."""

from collections.abc import Mapping, Sequence

from . import names


def jobmanager_ingress_policy(
    *,
    deployment: str,
    operator_namespace: str,
    rest_client_labels: Sequence[Mapping[str, str]],
    rest_client_namespaces: Sequence[str] = (),
) -> dict[str, object]:
    """NetworkPolicy `spec`: the REST port only for the given client pods, the operator's namespace and
    the given client namespaces (an ingress controller that calls Flink directly).

    The operator strips `rest.bind-address`, so REST cannot be bound to loopback behind a sidecar;
    this policy is what keeps port 8081 private. Selecting the JobManager denies everything not
    listed, so the deployment's own pods keep every port (RPC, blob, and the TaskManagers' random ones).
    """
    rest_peers: list[dict[str, object]] = [
        {"podSelector": {"matchLabels": dict(labels)}} for labels in rest_client_labels
    ]
    rest_peers += [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
        for namespace in (operator_namespace, *rest_client_namespaces)
    ]
    return {
        "podSelector": {"matchLabels": names.flink_jobmanager_labels(deployment)},
        "policyTypes": ["Ingress"],
        "ingress": [
            {"from": [{"podSelector": {"matchLabels": names.flink_pod_labels(deployment)}}]},
            {"from": rest_peers, "ports": [{"protocol": "TCP", "port": names.REST_PORT}]},
        ],
    }
