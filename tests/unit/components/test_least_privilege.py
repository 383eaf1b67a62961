"""What Flink pods may do and be: their ServiceAccount and Role, their pod template, their NetworkPolicies."""

import json

from secure_flink.domain.flink_deployment import FLINK_UID, MAIN_CONTAINER
from tests.conftest import StackRunner
from tests.unit.components.test_stack_graph import FLINK_DEPLOYMENT, children, one

ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
ACCOUNT = "kubernetes:core/v1:ServiceAccount"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
IMAGE = "flink:2.2.1-scala_2.12-java17"


def test_native_deployment_gets_its_own_account_bound_to_exactly_the_calls_flink_makes(dev):
    account = one(dev, "etl-service-account")
    assert account.inputs["metadata"]["name"] == "etl-flink" and account.inputs["automountServiceAccountToken"]
    rules = one(dev, "etl-role").inputs["rules"]
    assert rules == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "create", "delete"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["etl"], "verbs": ["get", "delete"]},
        {"apiGroups": ["apps"], "resources": ["deployments/finalizers"], "resourceNames": ["etl"], "verbs": ["update"]},
    ]
    binding = one(dev, "etl-role-binding").inputs
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": one(dev, "etl-role").outputs["metadata"]["name"],
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "etl-flink", "namespace": "flink"}]
    flink = one(dev, "etl")
    assert flink.inputs["spec"]["serviceAccount"] == "etl-flink"
    assert one(dev, "etl-role-binding").urn in flink.dependencies, "pods start only once their Role is bound"


def test_no_role_anywhere_grants_secrets_or_wildcards():
    for result in (StackRunner("dev").up(), StackRunner("ocp").up(restClients=[{"name": "ci"}])):
        text = json.dumps([r.inputs["rules"] for r in result.by_type(ROLE)])
        assert result.by_type(ROLE) and "*" not in text and "secrets" not in text


def test_standalone_session_cluster_gets_an_account_without_role_or_token(dev):
    assert children(dev, "adhoc") == {
        "adhoc": FLINK_DEPLOYMENT,
        "adhoc-service-account": ACCOUNT,
        "adhoc-pods": POLICY,
        "adhoc-jobmanager": POLICY,
    }
    assert one(dev, "adhoc-service-account").inputs["automountServiceAccountToken"] is False
    pod = one(dev, "adhoc").inputs["spec"]["podTemplate"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    egress = one(dev, "adhoc-pods").inputs["spec"]["egress"]
    assert egress == [{"to": [{"podSelector": {"matchLabels": {"app": "adhoc"}}}]}], "no way to the API server"


def test_standalone_with_kubernetes_ha_may_only_use_configmaps():
    result = StackRunner("dev").up(
        deployments=[
            {
                "name": "etl",
                "image": IMAGE,
                "mode": "standalone",
                "flinkConfiguration": {
                    "high-availability.type": "kubernetes",
                    "high-availability.storageDir": "s3://b/ha",
                },
            }
        ]
    )
    (rule,) = one(result, "etl-role").inputs["rules"]
    assert rule["resources"] == ["configmaps"] and "deletecollection" not in rule["verbs"]
    assert one(result, "etl-service-account").inputs["automountServiceAccountToken"] is True
    api = one(result, "etl-pods").inputs["spec"]["egress"][1]
    assert api == {
        "to": [{"ipBlock": {"cidr": "172.18.0.0/16"}}],
        "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}],
    }


def test_a_named_service_account_is_created_under_that_name():
    result = StackRunner("dev").up(deployments=[{"name": "etl", "image": IMAGE, "serviceAccount": "etl-runner"}])
    assert one(result, "etl-service-account").inputs["metadata"]["name"] == "etl-runner"
    assert one(result, "etl").inputs["spec"]["serviceAccount"] == "etl-runner"


def test_flink_pods_run_restricted_as_the_image_user_on_kubernetes(dev):
    pod = one(dev, "etl").inputs["spec"]["podTemplate"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": FLINK_UID,
        "runAsGroup": FLINK_UID,
        "fsGroup": FLINK_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    (main,) = pod["containers"]
    assert main["name"] == MAIN_CONTAINER
    assert main["securityContext"]["allowPrivilegeEscalation"] is False
    assert main["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_flink_pods_leave_uid_and_fs_group_to_openshifts_restricted_scc(ocp):
    for name in ("etl", "adhoc"):
        context = one(ocp, name).inputs["spec"]["podTemplate"]["spec"]["securityContext"]
        assert context == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def test_namespace_denies_everything_but_dns_at_the_platforms_resolver(dev, ocp):
    assert children(dev, "network-baseline") == {
        "network-baseline-default-deny": POLICY,
        "network-baseline-dns": POLICY,
    }
    deny = one(dev, "network-baseline-default-deny").inputs["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    dns = one(ocp, "network-baseline-dns").inputs["spec"]["egress"][0]
    ports = {(p["protocol"], p["port"]) for p in dns["ports"]}
    assert ports == {("UDP", 53), ("TCP", 53), ("UDP", 5353), ("TCP", 5353)}
    (peer,) = one(dev, "network-baseline-dns").inputs["spec"]["egress"][0]["to"]
    assert peer == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }
