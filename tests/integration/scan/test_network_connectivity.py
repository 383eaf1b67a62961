"""Who may reach whom: the rendered NetworkPolicies, analysed by IBM's network-config-analyzer (nca).

The analyzer gets the stack's NetworkPolicies and proxy Deployments, plus the pods the Flink operator
creates (with its labels) and stand-ins for the operator, the ingress controller or router, the
cluster DNS, an unrelated pod in the Flink namespace and one outside. Its connectivity map, for every
connection that starts or ends in the Flink namespace, must be exactly the expected one.
"""

import ipaddress
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.render import manifest
from tests.conftest import OIDC, PROJECT_DIR, StackRunner, require_tool

pytestmark = pytest.mark.real

NCA = PROJECT_DIR / ".cache" / "nca" / "bin" / "nca"
ALL = "All connections"
REST = "{protocols:TCP,dst_ports:8081}"
HTTPS = "{protocols:TCP,dst_ports:8443}"
API_SERVER = "{protocols:TCP,dst_ports:443,6443}"
DNS = {"kubernetes": "{protocols:TCP, UDP,dst_ports:53}", "openshift": "{protocols:TCP, UDP,dst_ports:53,5353}"}
OPERATOR = "flink-operator/operator"
OUTSIDER = "other/outsider"
INTRUDER = "flink/intruder"
PLATFORM = {
    "kubernetes": {
        "caller": "ingress-nginx/controller",
        "dns": "kube-system/coredns",
        "namespaces": {"ingress-nginx": {}, "kube-system": {}},
        "pods": {
            "ingress-nginx/controller": {"app.kubernetes.io/name": "ingress-nginx"},
            "kube-system/coredns": {"k8s-app": "kube-dns"},
            "kube-system/metrics-server": {"k8s-app": "metrics-server"},
        },
    },
    "openshift": {
        "caller": "openshift-ingress/router",
        "dns": "openshift-dns/dns",
        "namespaces": {
            "openshift-ingress": {"policy-group.network.openshift.io/ingress": ""},
            "openshift-dns": {},
        },
        "pods": {
            "openshift-ingress/router": {
                "ingresscontroller.operator.openshift.io/deployment-ingresscontroller": "default"
            },
            "openshift-dns/dns": {"dns.operator.openshift.io/daemonset-dns": "default"},
        },
    },
}
EMPTY_LABEL_STAND_IN = "empty"
LABEL_KEYS_WITH_EMPTY_VALUES = {"policy-group.network.openshift.io/ingress"}
VARIANTS = {
    "dev": ("dev", {}),
    "ocp": ("ocp", {}),
    "dev-rest-clients": ("dev", {"domain": "flink.example.com", "restClients": [{"name": "ci-bot"}]}),
    "ocp-rest-clients": ("ocp", {"restClients": [{"name": "ci-bot"}]}),
    "dev-oidc": ("dev", OIDC),
    "dev-job-egress": (
        "dev",
        {
            "uiEnabled": False,
            "deployments": [
                {
                    "name": "etl",
                    "image": "flink:2.2.1-scala_2.12-java17",
                    "mode": "standalone",
                    "egress": [{"cidr": "10.20.0.0/16", "ports": [443, 9093]}],
                }
            ],
        },
    ),
}


def _namespace(name: str, labels: dict[str, str]) -> dict[str, Any]:
    metadata = {"name": name, "labels": {"kubernetes.io/metadata.name": name, **labels}}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def _pod(path: str, labels: dict[str, str]) -> dict[str, Any]:
    namespace, name = path.split("/")
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"containers": [{"name": "main", "image": "example:1"}]},
    }


def flink_pods(deployment: str, mode: str) -> dict[str, dict[str, str]]:
    """A JobManager and two TaskManagers, labelled as the operator labels them."""
    kind = {"native": "flink-native-kubernetes", "standalone": "flink-standalone-kubernetes"}[mode]
    roles = {"jm": "jobmanager", "tm-0": "taskmanager", "tm-1": "taskmanager"}
    return {f"flink/{deployment}-{p}": {"app": deployment, "component": c, "type": kind} for p, c in roles.items()}


def world(result: Any, platform: str, deployments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    objects = [manifest(r) for r in result.resources if r.custom and r.type.startswith("kubernetes:")]
    stack = [o for o in objects if o["kind"] in ("NetworkPolicy", "Deployment")]
    environment = PLATFORM[platform]
    namespaces = {"flink": {}, "flink-operator": {}, "other": {}, **environment["namespaces"]}
    pods = {OPERATOR: {"app.kubernetes.io/name": "flink-kubernetes-operator"}, OUTSIDER: {"app": "outsider"}}
    pods |= {INTRUDER: {"app": "intruder"}, **environment["pods"]}
    for deployment in deployments:
        pods |= flink_pods(deployment["name"], deployment.get("mode", "native"))
    objects = [
        *(_namespace(name, labels) for name, labels in namespaces.items()),
        *stack,
        *(_pod(path, labels) for path, labels in pods.items()),
    ]
    return [_without_empty_label_values(o) for o in objects]


def _without_empty_label_values(value: Any) -> Any:
    """nca 2.1.0 reads a selector's empty label value (OpenShift's router label is `...ingress: ""`) as a
    wildcard, unlike Kubernetes. The same non-empty stand-in on labels and selectors keeps the meaning."""
    if isinstance(value, dict):
        return {
            k: EMPTY_LABEL_STAND_IN if v == "" and k in LABEL_KEYS_WITH_EMPTY_VALUES else _without_empty_label_values(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_without_empty_label_values(v) for v in value]
    return value


def connectivity(directory: Path) -> set[tuple[str, str, str]]:
    """nca's connectivity map as (source, destination, connection), for everything touching namespace flink."""
    if not NCA.exists():
        require_tool(str(NCA), "network-config-analyzer maps what the NetworkPolicies allow (make nca)")
    completed = subprocess.run(
        [str(NCA), "--connectivity", "--resource_list", str(directory / "world.yaml"), "-o", "txt_no_fw_rules"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    found = set()
    for line in completed.stdout.splitlines():
        match = re.fullmatch(r"(\S+) => (\S+) : (.+)", line.strip())
        if match:
            source, destination = (_endpoint(match[i]) for i in (1, 2))
            if source.startswith("flink/") or destination.startswith("flink/"):
                found.add((source, destination, match[3]))
    return found


def _endpoint(text: str) -> str:
    # Proxy Deployments carry Pulumi's random suffix; the others are the stand-in pods.
    return re.sub(r"(-deployment-[0-9a-f]{8})?\[(Pod|Deployment)\]$", "", text)


def expected(platform: str, overrides: dict[str, Any], deployments: list[dict[str, Any]], cidr: str):
    environment = PLATFORM[platform]
    ui = overrides.get("uiEnabled", True)
    clients = bool(overrides.get("restClients"))
    allowed: set[tuple[str, str, str]] = set()
    in_namespace = [INTRUDER]
    for deployment in deployments:
        name, mode = deployment["name"], deployment.get("mode", "native")
        pods = list(flink_pods(name, mode))
        jobmanager = pods[0]
        in_namespace += pods
        allowed |= {(a, b, ALL) for a in pods for b in pods if a != b}
        allowed.add((OPERATOR, jobmanager, REST))
        proxies = [f"flink/{name}-ui-proxy"] if ui else []
        if clients:
            proxies.append(f"flink/{name}-api-proxy")
        if ui and overrides.get("uiAuth") == "oidc":
            sso = f"flink/{name}-ui-sso"
            in_namespace.append(sso)
            allowed.add((f"flink/{name}-ui-proxy", sso, "{protocols:TCP,dst_ports:4443}"))
            allowed |= {(sso, _range(rule["cidr"]), _tcp(rule["ports"])) for rule in overrides["oidcEgress"]}
        for proxy in proxies:
            in_namespace.append(proxy)
            allowed |= {(proxy, jobmanager, REST), (environment["caller"], proxy, HTTPS)}
        if mode == "native":
            allowed |= {(pod, cidr, API_SERVER) for pod in pods}
        for rule in deployment.get("egress", []):
            allowed |= {(pod, _range(rule["cidr"]), _tcp(rule["ports"])) for pod in pods}
    allowed |= {(pod, environment["dns"], DNS[platform]) for pod in in_namespace}
    return allowed


def _tcp(ports: list[int]) -> str:
    return f"{{protocols:TCP,dst_ports:{','.join(str(p) for p in ports)}}}"


def _range(cidr: str) -> str:
    network = ipaddress.ip_network(cidr)
    # nca names a one-address block by its address.
    return str(network[0]) if network.num_addresses == 1 else f"{network[0]}-{network[-1]}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_network_policies_allow_exactly_the_stacks_own_paths(variant, tmp_path):
    stack, overrides = VARIANTS[variant]
    runner = StackRunner(stack)
    result = runner.up(**overrides)
    values = {**runner.values, **overrides}
    platform, deployments = values["platform"], values["deployments"]
    (tmp_path / "world.yaml").write_text(yaml.safe_dump_all(world(result, platform, deployments)))
    cidr = _range(values["apiServerCidrs"][0])
    assert connectivity(tmp_path) == expected(platform, overrides, deployments, cidr)


def test_without_the_default_deny_unselected_pods_are_open_again(tmp_path):
    """The analysis is not vacuous: drop one policy and the map changes as Kubernetes semantics say."""
    result = StackRunner("dev").up()
    objects = [
        o
        for o in world(result, "kubernetes", StackRunner("dev").values["deployments"])
        if not (o["kind"] == "NetworkPolicy" and o["metadata"]["name"].startswith("network-baseline-default-deny"))
    ]
    (tmp_path / "world.yaml").write_text(yaml.safe_dump_all(objects))
    found = connectivity(tmp_path)
    # In: nothing selects the unrelated pod for ingress any more. Out: the DNS policy still selects it.
    assert (OUTSIDER, INTRUDER, ALL) in found and (INTRUDER, OUTSIDER, ALL) not in found
    assert (OUTSIDER, "flink/etl-jm", REST) not in found, "the JobManager's own policy still guards port 8081"
