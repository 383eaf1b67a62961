"""The stacks deployed by the real Pulumi engine to a real kube-apiserver: what Kubernetes itself accepts,
admits and authorizes.

The Kubernetes provider talks to the API server on 127.0.0.1 (not render mode). Stand-ins write the statuses
of the kubelet, the ingress controller and the Flink operator (tests/integration/cluster/stand_ins.py), so `pulumi up`
waits for readiness exactly as it does on a cluster.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_stack.project import PulumiProject
from tests.conftest import OIDC
from tests.integration.cluster.conftest import NAMESPACES, OPERATOR, OPERATOR_ACCOUNT
from tests.integration.cluster.control_plane import ControlPlane
from tests.integration.cluster.kube_api import KubeAPI, KubeAPIError, collection_path, resources_path
from tests.integration.cluster.stand_ins import standing_in

pytestmark = pytest.mark.real

CLIENTS = [{"name": "ci-bot"}]
# Kubernetes HA for etl: its JobManager then also elects its leader in ConfigMaps.
HIGH_AVAILABILITY = {
    "high-availability.type": "kubernetes",
    "high-availability.storageDir": "file:///flink-data/ha",
}
# What is in a namespace before the stack: the controller-manager's default ServiceAccount and CA bundle, and
# the operator chart's account and RBAC.
PREEXISTING = {
    ("ServiceAccount", "default"),
    ("ConfigMap", "kube-root-ca.crt"),
    ("ServiceAccount", OPERATOR_ACCOUNT),
    ("Role", OPERATOR_ACCOUNT),
    ("RoleBinding", OPERATOR_ACCOUNT),
}
NAMESPACED_COLLECTIONS = (
    ("v1", "pods"),
    ("v1", "services"),
    ("v1", "secrets"),
    ("v1", "configmaps"),
    ("v1", "serviceaccounts"),
    ("apps/v1", "deployments"),
    ("apps/v1", "replicasets"),
    ("rbac.authorization.k8s.io/v1", "roles"),
    ("rbac.authorization.k8s.io/v1", "rolebindings"),
    ("networking.k8s.io/v1", "networkpolicies"),
    ("networking.k8s.io/v1", "ingresses"),
    ("route.openshift.io/v1", "routes"),
    ("flink.apache.org/v1beta1", "flinkdeployments"),
)


@pytest.fixture(scope="module", params=["dev-with-clients-and-ha", "ocp-with-clients", "dev-with-sign-on"])
def deployed(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    engine_bin: Path,
    control_plane: ControlPlane,
) -> Iterator[PulumiProject]:
    """A stack after `pulumi up` to the control plane; destroyed at the end if a test has not already."""
    stack = request.param.split("-")[0]
    project = PulumiProject(
        tmp_path_factory.mktemp(request.param), stack, engine_bin, kubeconfig=control_plane.kubeconfig
    )
    project.set_config(restClients=CLIENTS, domain=project.config().get("domain") or "flink.example.com")
    if "sign-on" in request.param:
        # oauth2-proxy beside each UI proxy: its pod is admitted as restricted and its objects accepted too.
        secret, *_ = (OIDC[key] for key in OIDC["secret_keys"])
        project.run("config", "set", "--secret", "oidcClientSecret", secret)
        project.set_config(**{k: v for k, v in OIDC.items() if k not in ("secret_keys", "oidcClientSecret")})
    if "ha" in request.param:
        deployments = project.config()["deployments"]
        deployments[0]["flinkConfiguration"] = {**deployments[0].get("flinkConfiguration", {}), **HIGH_AVAILABILITY}
        project.set_config(deployments=deployments)
    with standing_in(control_plane.api(), NAMESPACES, operator=True):
        project.up()
        yield project
        project.run("destroy", "--yes", "--skip-preview", "--suppress-progress")


def stack_objects(project: PulumiProject) -> list[dict[str, Any]]:
    """apiVersion, kind and metadata of every Kubernetes object in the stack's state."""
    resources = project.export()["deployment"].get("resources") or []
    return [
        {key: resource["outputs"][key] for key in ("apiVersion", "kind", "metadata")}
        for resource in resources
        if resource["type"].startswith("kubernetes:")
        and resource.get("custom")
        and "kind" in resource.get("outputs", {})
    ]


def test_up_creates_every_object_the_api_server_accepts(deployed: PulumiProject, control_plane: ControlPlane) -> None:
    api = control_plane.api()
    objects = stack_objects(deployed)
    kinds = {o["kind"] for o in objects}
    assert {"FlinkDeployment", "Deployment", "Secret", "NetworkPolicy", "Role", "ServiceAccount"} <= kinds
    missing = [f"{o['kind']}/{o['metadata']['name']}" for o in objects if not api.exists(object_path(o))]
    assert missing == []


def test_refresh_then_preview_expects_no_changes(deployed: PulumiProject) -> None:
    deployed.run("refresh", "--yes", "--skip-preview", "--suppress-progress")
    result = deployed.preview("--expect-no-changes", check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_proxy_pods_are_created_and_admitted_as_restricted(
    deployed: PulumiProject, control_plane: ControlPlane
) -> None:
    api = control_plane.api()
    deployments = api.items("/apis/apps/v1/namespaces/flink/deployments")
    assert deployments
    for deployment in deployments:
        status = deployment.get("status", {})
        assert status.get("readyReplicas") == deployment["spec"]["replicas"], deployment["metadata"]["name"]
    failures = [e["message"] for e in api.items("/api/v1/namespaces/flink/events") if e["reason"] == "FailedCreate"]
    assert failures == []


def test_pod_security_refuses_a_weakened_proxy_pod(deployed: PulumiProject, control_plane: ControlPlane) -> None:
    api = control_plane.api()
    (template, *_) = [d["spec"]["template"] for d in api.items("/apis/apps/v1/namespaces/flink/deployments")]
    assert dry_run_pod(api, template) is None
    weakened = {**template, "spec": {**template["spec"], "securityContext": {}}}
    weakened["spec"]["containers"] = [
        {**container, "securityContext": {"allowPrivilegeEscalation": True}}
        for container in template["spec"]["containers"]
    ]
    refusal = dry_run_pod(api, weakened)
    assert refusal is not None and "violates PodSecurity" in refusal


def dry_run_pod(api: KubeAPI, template: dict[str, Any]) -> str | None:
    """The API server's refusal of a Pod made from `template` in namespace flink, or None if admitted."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "admission-probe-", "namespace": "flink"}}
    pod["spec"] = template["spec"]
    try:
        api.request("POST", "/api/v1/namespaces/flink/pods?dryRun=All", pod)
    except KubeAPIError as error:
        return str(error)
    return None


def test_network_policies_are_accepted(deployed: PulumiProject, control_plane: ControlPlane) -> None:
    ours = {o["metadata"]["name"] for o in stack_objects(deployed) if o["kind"] == "NetworkPolicy"}
    served = {
        p["metadata"]["name"]
        for p in control_plane.api().items("/apis/networking.k8s.io/v1/namespaces/flink/networkpolicies")
    }
    assert ours and ours <= served


def object_path(document: dict[str, Any]) -> str:
    return f"{collection_path(document)}/{document['metadata']['name']}"


# The API calls Flink's JobManager makes in native mode (KubernetesResourceManagerDriver and the
# owner reference to its own Deployment); Kubernetes HA (KubernetesLeaderElectionHaServices) adds
# ConfigMaps. (namespace, verb, resource, subresource, name).
NATIVE_CALLS = [("flink", verb, "pods", "", "") for verb in ("get", "list", "watch", "create", "delete")] + [
    ("flink", "get", "deployments", "", "etl"),
    ("flink", "delete", "deployments", "", "etl"),
    ("flink", "update", "deployments", "finalizers", "etl"),
]
HA_CALLS = [("flink", verb, "configmaps", "", "") for verb in ("get", "list", "watch", "create", "update", "delete")]
# What no Flink pod needs: reading Secrets (Kubernetes mounts them), exec, other namespaces, the other
# deployment's Deployment, patching pods, creating Services or Deployments, leases.
NEVER = [
    ("flink", "get", "secrets", "", ""),
    ("flink", "list", "secrets", "", ""),
    ("flink-operator", "get", "secrets", "", "flink-operator-cert"),
    ("flink", "create", "pods", "exec", ""),
    ("flink", "patch", "pods", "", ""),
    ("default", "create", "pods", "", ""),
    ("flink", "get", "deployments", "", "adhoc"),
    ("flink", "create", "deployments", "", ""),
    ("flink", "create", "services", "", ""),
    ("flink", "create", "leases", "", ""),
]


def allowed(api: KubeAPI, user: str, call: tuple[str, str, str, str, str]) -> bool:
    """The API server's SubjectAccessReview answer for `user` (a ServiceAccount) making `call`."""
    namespace, verb, resource, subresource, name = call
    group = {"deployments": "apps", "leases": "coordination.k8s.io"}.get(resource, "")
    account_namespace = user.split(":")[2]
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "metadata": {},
        "spec": {
            "user": user,
            "groups": ["system:serviceaccounts", f"system:serviceaccounts:{account_namespace}", "system:authenticated"],
            "resourceAttributes": {
                "namespace": namespace,
                "verb": verb,
                "group": group,
                "resource": resource,
                "subresource": subresource,
                "name": name,
            },
        },
    }
    return api.create(review)["status"].get("allowed", False)


def service_accounts(project: PulumiProject) -> list[str]:
    return [
        f"system:serviceaccount:{o['metadata']['namespace']}:{o['metadata']['name']}"
        for o in stack_objects(project)
        if o["kind"] == "ServiceAccount"
    ]


def test_each_service_account_may_make_exactly_its_pods_calls(
    deployed: PulumiProject, control_plane: ControlPlane
) -> None:
    api = control_plane.api()
    high_availability = "ha" in deployed.root.name
    expected = {
        "system:serviceaccount:flink:etl-flink": NATIVE_CALLS + (HA_CALLS if high_availability else []),
        # Standalone, no HA: its pods make no API call, so the account may do nothing at all.
        "system:serviceaccount:flink:adhoc-flink": [],
    }
    assert sorted(service_accounts(deployed)) == sorted(expected)
    for account, calls in expected.items():
        assert [call for call in calls if not allowed(api, account, call)] == [], account
        denied = (
            NEVER
            + (HA_CALLS if not high_availability or account.endswith("adhoc-flink") else [])
            + [call for call in NATIVE_CALLS if call not in calls]
        )
        assert [call for call in denied if allowed(api, account, call)] == [], account


def test_only_the_operator_reads_the_flink_secrets(deployed: PulumiProject, control_plane: ControlPlane) -> None:
    api = control_plane.api()
    secrets = [o for o in stack_objects(deployed) if o["kind"] == "Secret"]
    readers = [OPERATOR, *service_accounts(deployed)]
    who_reads = {
        f"{s['metadata']['namespace']}/{s['metadata']['name']}": [
            account
            for account in readers
            if allowed(api, account, (s["metadata"]["namespace"], "get", "secrets", "", s["metadata"]["name"]))
        ]
        for s in secrets
    }
    # The chart's operator reads the watched namespace's Secrets; its own (the truststore, which its pod mounts
    # through the kubelet) it does not need to read through the API, and may not.
    expected = {name: [OPERATOR] if name.startswith("flink/") else [] for name in who_reads}
    assert who_reads == expected


def test_flink_pods_as_the_operator_builds_them_are_admitted(
    deployed: PulumiProject, control_plane: ControlPlane
) -> None:
    api = control_plane.api()
    deployments = api.items("/apis/flink.apache.org/v1beta1/namespaces/flink/flinkdeployments")
    assert deployments
    for deployment in deployments:
        pod = jobmanager_pod(deployment)
        assert dry_run_pod(api, pod) is None, deployment["metadata"]["name"]
    root = {**pod, "spec": {**pod["spec"], "securityContext": {"runAsUser": 0}}}
    refusal = dry_run_pod(api, root)
    assert refusal is not None and "runAsUser=0" in refusal


def jobmanager_pod(deployment: dict[str, Any]) -> dict[str, Any]:
    """The JobManager pod the operator asks for: `spec.podTemplate` and `jobManager.podTemplate` merged (maps
    key by key, lists item by item, the JobManager's winning), then what Flink sets on the main container and
    the pod: image, resources, service account, its configuration volume and the `kubernetes.secrets` mounts."""
    spec = deployment["spec"]
    template = merged(spec.get("podTemplate", {}), spec["jobManager"].get("podTemplate", {}))
    pod_spec = template["spec"]
    name = deployment["metadata"]["name"]
    resource = spec["jobManager"]["resource"]
    amounts = {"cpu": str(resource["cpu"]), "memory": resource["memory"]}
    secrets = [
        entry.split(":") for entry in spec["flinkConfiguration"].get("kubernetes.secrets", "").split(",") if entry
    ]
    (main, *sidecars) = pod_spec["containers"]
    main = {
        **main,
        "image": spec["image"],
        "resources": {"requests": amounts, "limits": amounts},
        "volumeMounts": [
            *main.get("volumeMounts", []),
            {"name": "flink-config-volume", "mountPath": "/opt/flink/conf"},
            *({"name": f"{secret}-volume", "mountPath": path} for secret, path in secrets),
        ],
    }
    volumes = [
        *pod_spec.get("volumes", []),
        {"name": "flink-config-volume", "configMap": {"name": f"flink-config-{name}"}},
        *({"name": f"{secret}-volume", "secret": {"secretName": secret}} for secret, _ in secrets),
    ]
    return {
        "spec": {
            **pod_spec,
            "serviceAccountName": spec["serviceAccount"],
            "containers": [main, *sidecars],
            "volumes": volumes,
        }
    }


def merged(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        return {key: merged(base.get(key), override[key]) if key in override else base[key] for key in base | override}
    if isinstance(base, list) and isinstance(override, list):
        longer = override if len(override) >= len(base) else base
        return [merged(b, o) for b, o in zip(base, override, strict=False)] + longer[min(len(base), len(override)) :]
    return base if override is None else override


# Last in the module: the stack is gone after it.
def test_destroy_removes_everything(deployed: PulumiProject, control_plane: ControlPlane) -> None:
    api = control_plane.api()
    deployed.run("destroy", "--yes", "--skip-preview", "--suppress-progress")
    left = [
        f"{namespace}/{item['kind']}/{item['metadata']['name']}"
        for namespace in NAMESPACES
        for group_version, plural in NAMESPACED_COLLECTIONS
        for item in namespace_items(api, group_version, plural, namespace)
    ]
    assert left == []


def namespace_items(api: KubeAPI, group_version: str, plural: str, namespace: str) -> list[dict[str, Any]]:
    """What the namespace holds of `plural` beyond what every namespace has, pods being deleted excluded."""
    listing = api.get(resources_path(group_version, plural, namespace))
    kind = listing["kind"].removesuffix("List")
    return [
        {**item, "kind": kind}
        for item in listing["items"]
        if (kind, item["metadata"]["name"]) not in PREEXISTING and "deletionTimestamp" not in item["metadata"]
    ]
