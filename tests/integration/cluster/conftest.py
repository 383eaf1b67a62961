"""The control plane the cluster tests share (one per session), with the CRDs and namespaces a cluster running
the Flink Kubernetes Operator (and, for the OpenShift stack, the Route API) has."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_DIR, unavailable
from tests.integration.cluster.control_plane import ControlPlane, missing_binaries, running_control_plane
from tests.integration.cluster.kube_api import KubeAPI, wait_for

CUSTOM_RESOURCE_DEFINITIONS = (
    PROJECT_DIR / "schemas" / "flinkdeployments.flink.apache.org-v1.yml",
    PROJECT_DIR / "schemas" / "route.openshift.io-v1.yaml",
)
# The stacks' namespaces, labelled as a platform team would label them: Pod Security `restricted`, enforced.
NAMESPACES = ("flink", "flink-operator")
RBAC = "rbac.authorization.k8s.io/v1"
POD_SECURITY = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}

# The operator's account and rules as its Helm chart (1.15.0, templates/rbac) installs them with
# `watchNamespaces={flink}` in the release namespace flink-operator: the shared core rule in each watched
# namespace, and only leases in its own.
OPERATOR_ACCOUNT = "flink-operator"
OPERATOR_METADATA = {"name": OPERATOR_ACCOUNT, "namespace": "flink-operator"}
OPERATOR = f"system:serviceaccount:flink-operator:{OPERATOR_ACCOUNT}"
OPERATOR_CHART_ROLES = (
    (
        "flink",
        [
            {
                "apiGroups": [""],
                "resources": ["pods", "services", "events", "configmaps", "secrets"],
                "verbs": ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"],
            }
        ],
    ),
    ("flink-operator", [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["*"]}]),
)


@pytest.fixture(scope="session")
def control_plane_bin() -> Path:
    configured = os.environ.get("KUBE_CONTROL_PLANE_BIN")
    directory = Path(configured) if configured else None
    missing = missing_binaries(directory)
    if missing:
        unavailable(f"KUBE_CONTROL_PLANE_BIN={configured!r} lacks {', '.join(missing)}: run `make engine`")
    return directory


@pytest.fixture(scope="session")
def control_plane(control_plane_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    with running_control_plane(control_plane_bin, tmp_path_factory.mktemp("control-plane")) as running:
        api = running.api()
        for path in CUSTOM_RESOURCE_DEFINITIONS:
            install_custom_resource_definition(api, yaml.safe_load(path.read_text()))
        for namespace in NAMESPACES:
            api.create(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": POD_SECURITY}}
            )
        install_operator_rbac(api)
        yield running


def install_operator_rbac(api: KubeAPI) -> None:
    """The operator's ServiceAccount, Roles and RoleBindings as its chart makes them (no operator runs)."""
    api.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": OPERATOR_METADATA})
    for namespace, rules in OPERATOR_CHART_ROLES:
        metadata = {"name": OPERATOR_ACCOUNT, "namespace": namespace}
        api.create({"apiVersion": RBAC, "kind": "Role", "metadata": metadata, "rules": rules})
        api.create(
            {
                "apiVersion": RBAC,
                "kind": "RoleBinding",
                "metadata": metadata,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": OPERATOR_ACCOUNT},
                "subjects": [{"kind": "ServiceAccount", **OPERATOR_METADATA}],
            }
        )


def install_custom_resource_definition(api: KubeAPI, definition: dict) -> None:
    """Creates the CRD and waits until the API server serves it (`Established`)."""
    api.create(definition)
    path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{definition['metadata']['name']}"

    def established() -> bool:
        conditions = api.get(path).get("status", {}).get("conditions") or []
        return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

    wait_for(established, f"CRD {definition['metadata']['name']} established", 30)
