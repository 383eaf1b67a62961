"""The guardrails' decisions: a resource's type token and properties in, what is wrong with it out.

Pure, so each rule is tested on plain dicts; `policies.py` wires them into the policy pack. Properties
are the resource's inputs with Kubernetes field names (camelCase), as Pulumi hands them to a policy.
"""

import re
from collections.abc import Iterable, Mapping
from typing import Any

import restricted_profile
from properties import as_list, as_map

INGRESS_TYPES = frozenset(
    {
        "kubernetes:networking.k8s.io/v1:Ingress",
        "kubernetes:networking.k8s.io/v1beta1:Ingress",
        "kubernetes:extensions/v1beta1:Ingress",
    }
)
ROUTE = "kubernetes:route.openshift.io/v1:Route"
FLINK_DEPLOYMENT = "kubernetes:flink.apache.org/v1beta1:FlinkDeployment"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
POD_TEMPLATE_PATHS = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
INGRESS_NGINX = "nginx.ingress.kubernetes.io"
FLINK_MAIN_CONTAINER = "flink-main-container"
MERGE_BY_NAME = "kubernetes.operator.pod-template.merge-arrays-by-name"
PROXY_PASS = re.compile(r"^\s*proxy_pass\s+([^;\s]+)\s*;", re.MULTILINE)


def _at(props: Mapping[str, Any], path: Iterable[str]) -> Mapping[str, Any]:
    for key in path:
        props = as_map(props.get(key))
    return props


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def ingress_or_route_without_tls(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """An Ingress must terminate TLS for every host it routes and must not turn the HTTPS redirect off;
    a Route must have `spec.tls` and must not serve plain HTTP beside it."""
    if resource_type in INGRESS_TYPES:
        return _ingress_tls(props)
    if resource_type == ROUTE:
        tls = as_map(as_map(props.get("spec")).get("tls"))
        if not tls.get("termination"):
            return ["Route has no spec.tls.termination: it serves plain HTTP"]
        if tls.get("insecureEdgeTerminationPolicy") == "Allow":
            return ["Route sets insecureEdgeTerminationPolicy Allow: it also serves plain HTTP; use Redirect or None"]
    return []


def _ingress_tls(props: Mapping[str, Any]) -> list[str]:
    spec = as_map(props.get("spec"))
    tls = [as_map(entry) for entry in as_list(spec.get("tls"))]
    if not tls:
        return ["Ingress has no spec.tls: it serves plain HTTP"]
    covered = {host for entry in tls for host in as_list(entry.get("hosts"))}
    hosts = {as_map(rule).get("host") for rule in as_list(spec.get("rules"))} - {None}
    found = [f"Ingress host {host} is not in any spec.tls[].hosts" for host in sorted(hosts - covered)]
    annotations = as_map(as_map(props.get("metadata")).get("annotations"))
    if str(annotations.get(f"{INGRESS_NGINX}/ssl-redirect", "")).lower() == "false":
        found.append(f"Ingress sets {INGRESS_NGINX}/ssl-redirect false: it serves plain HTTP")
    return found


def flink_without_internal_ssl(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """A FlinkDeployment must encrypt and mutually authenticate RPC, blob and data traffic, and must not
    set `security.ssl.enabled`: Flink 2 removed it, and in Flink 1.x it silently turned on both
    sides with shared settings."""
    if resource_type != FLINK_DEPLOYMENT:
        return []
    configuration = as_map(as_map(props.get("spec")).get("flinkConfiguration"))
    found = []
    if not _is_true(configuration.get("security.ssl.internal.enabled")):
        found.append("FlinkDeployment does not set security.ssl.internal.enabled: true (RPC, blob, data in clear)")
    if "security.ssl.enabled" in configuration:
        found.append("FlinkDeployment sets security.ssl.enabled: use security.ssl.internal.* and security.ssl.rest.*")
    return found


def flink_without_rest_ssl(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """A FlinkDeployment's REST API (which runs code) must be served over TLS."""
    if resource_type != FLINK_DEPLOYMENT:
        return []
    configuration = as_map(as_map(props.get("spec")).get("flinkConfiguration"))
    if not _is_true(configuration.get("security.ssl.rest.enabled")):
        return ["FlinkDeployment does not set security.ssl.rest.enabled: true (its REST API runs code, in clear)"]
    return []


def proxy_not_verifying_upstream(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """A proxy must reach its upstream over TLS and verify it: nginx configurations in ConfigMaps
    (`proxy_ssl_verify on` and a trusted CA), and ingress-nginx Ingresses with an HTTPS backend."""
    if resource_type == CONFIG_MAP:
        found = []
        for file, text in as_map(props.get("data")).items():
            if isinstance(text, str) and PROXY_PASS.search(text):
                found += [f"ConfigMap {file}: {problem}" for problem in _nginx_upstream(text)]
        return found
    if resource_type in INGRESS_TYPES:
        annotations = as_map(as_map(props.get("metadata")).get("annotations"))
        backend = str(annotations.get(f"{INGRESS_NGINX}/backend-protocol", "HTTP")).upper()
        if backend in ("HTTPS", "GRPCS") and (
            str(annotations.get(f"{INGRESS_NGINX}/proxy-ssl-verify", "off")).lower() != "on"
            or not annotations.get(f"{INGRESS_NGINX}/proxy-ssl-secret")
        ):
            return [
                f"Ingress sends to an {backend} backend without {INGRESS_NGINX}/proxy-ssl-verify on "
                "and a proxy-ssl-secret CA"
            ]
    return []


def _nginx_upstream(text: str) -> list[str]:
    found = [
        f"proxy_pass {target} is not HTTPS" for target in PROXY_PASS.findall(text) if not target.startswith("https://")
    ]
    if not re.search(r"^\s*proxy_ssl_verify\s+on\s*;", text, re.MULTILINE) or re.search(
        r"^\s*proxy_ssl_verify\s+off\s*;", text, re.MULTILINE
    ):
        found.append("proxy_ssl_verify is not on: the upstream's certificate is not checked")
    if not re.search(r"^\s*proxy_ssl_trusted_certificate\s+\S+\s*;", text, re.MULTILINE):
        found.append("proxy_ssl_trusted_certificate is not set: nothing to verify the upstream against")
    return found


def pod_outside_restricted_profile(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Every pod a resource creates must fit the restricted Pod Security profile. For a FlinkDeployment
    those are the operator's JobManager and TaskManager pods, built from its pod templates: the
    container settings must be on the `flink-main-container` entry, which the operator merges into Flink's."""
    if resource_type == FLINK_DEPLOYMENT:
        return _flink_pods(as_map(props.get("spec")))
    path = POD_TEMPLATE_PATHS.get(resource_type)
    return restricted_profile.violations(_at(props, path)) if path else []


def _flink_pods(spec: Mapping[str, Any]) -> list[str]:
    shared = as_map(as_map(spec.get("podTemplate")).get("spec"))
    configuration = as_map(spec.get("flinkConfiguration"))
    by_name = _is_true(configuration.get(MERGE_BY_NAME, False))
    found = []
    for role in ("jobManager", "taskManager"):
        own = as_map(as_map(as_map(spec.get(role)).get("podTemplate")).get("spec"))
        pod = merge_pod_specs(shared, own, by_name=by_name)
        found += [f"{role} pods: {problem}" for problem in restricted_profile.violations(pod)]
    return found


def merge_pod_specs(base: Mapping[str, Any], override: Mapping[str, Any], *, by_name: bool) -> dict[str, Any]:
    """The operator's merge of the shared and a role's pod template, and the main container Flink adds
    when no template names one."""
    merged = _merge(base, override, by_name)
    names = [as_map(c).get("name") for c in as_list(merged.get("containers"))]
    if FLINK_MAIN_CONTAINER not in names:
        merged["containers"] = [*as_list(merged.get("containers")), {"name": FLINK_MAIN_CONTAINER}]
    return merged


def _merge(base: Any, override: Any, by_name: bool) -> Any:
    """Maps merge key by key. Lists of maps merge element by element: by position (the operator's
    default), or by `name` with `kubernetes.operator.pod-template.merge-arrays-by-name`. Anything else
    is replaced by the override."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base[key], value, by_name) if key in base else value
        return merged
    items = [*as_list(base), *as_list(override)]
    if not (as_list(base) and as_list(override) and all(isinstance(item, Mapping) for item in items)):
        return override if override is not None else base
    if by_name and all("name" in item for item in items):
        by_key = {item["name"]: item for item in base}
        for item in override:
            by_key[item["name"]] = _merge(by_key.get(item["name"], {}), item, by_name)
        return list(by_key.values())
    paired = [_merge(b, o, by_name) for b, o in zip(base, override, strict=False)]
    shorter = min(len(base), len(override))
    return paired + list(base[shorter:]) + list(override[shorter:])
