"""The policy pack: each policy passes what the stack renders and rejects the misconfiguration it names."""

import copy
import re
from pathlib import Path
from typing import Any

import guardrails
import pytest
import yaml
from policies import POLICIES
from pulumi_policy import EnforcementLevel, PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs
from pulumi_policy.proxy import unknown_checking_proxy

from offline.render import manifest
from tests.conftest import OIDC, PROJECT_DIR, StackRunner

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"


def validate(resource_type: str, props: dict[str, Any], name: str = "subject") -> dict[str, list[str]]:
    """Every policy of the pack run as the Pulumi engine runs it: policy name -> violations."""
    options = PolicyResourceOptions(False, [], False, [], PolicyCustomTimeouts(0, 0, 0), [], None)
    args = ResourceValidationArgs(
        resource_type,
        unknown_checking_proxy(copy.deepcopy(props)),
        f"urn:pulumi:dev::secure-flink::{resource_type}::{name}",
        name,
        options,
        None,
    )
    found: dict[str, list[str]] = {}
    for policy in POLICIES:
        messages: list[str] = []
        policy.validate(args, lambda message, urn=None, into=messages: into.append(message))
        if messages:
            found[policy.name] = messages
    return found


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    variants = {
        "dev": StackRunner("dev").up(),
        "ocp": StackRunner("ocp").up(),
        "dev-rest-clients": StackRunner("dev").up(domain="flink.example.com", restClients=[{"name": "ci"}]),
        "dev-oidc": StackRunner("dev").up(**OIDC),
        "ocp-rest-mtls": StackRunner("ocp").up(
            restClients=[{"name": "ci"}],
            deployments=[
                {"name": "etl", "image": "flink:2.2.1-scala_2.12-java17", "restAuthentication": "mtls"},
            ],
        ),
    }
    return {
        name: [(r.type, manifest(r)) for r in result.resources if r.custom and r.type.startswith("kubernetes:")]
        for name, result in variants.items()
    }


def of_type(resources: list[tuple[str, dict[str, Any]]], resource_type: str) -> list[dict[str, Any]]:
    """Copies: a test breaks its own, never the module's rendering."""
    return [copy.deepcopy(props) for kind, props in resources if kind == resource_type]


def test_every_policy_is_mandatory_and_described():
    assert [p.name for p in POLICIES] == [
        "ingress-and-route-require-tls",
        "flink-internal-ssl",
        "flink-rest-ssl",
        "proxy-verifies-upstream",
        "pod-restricted-profile",
    ]
    assert all(p.enforcement_level is EnforcementLevel.MANDATORY and len(p.description) > 30 for p in POLICIES)


@pytest.mark.parametrize("variant", ["dev", "ocp", "dev-rest-clients", "ocp-rest-mtls"])
def test_the_pack_admits_every_resource_the_stack_renders(rendered, variant):
    resources = rendered[variant]
    violations = {props["metadata"]["name"]: v for kind, props in resources if (v := validate(kind, props))}
    assert violations == {}
    kinds = {kind for kind, _ in resources}
    # Not vacuous: every kind a policy governs is among what was checked.
    assert {guardrails.FLINK_DEPLOYMENT, DEPLOYMENT, guardrails.CONFIG_MAP} <= kinds
    assert kinds & ({guardrails.ROUTE} | guardrails.INGRESS_TYPES)


def test_ingress_without_tls_is_rejected(rendered):
    ingress = of_type(rendered["dev"], INGRESS)[0]
    del ingress["spec"]["tls"]
    assert validate(INGRESS, ingress) == {
        "ingress-and-route-require-tls": ["subject: Ingress has no spec.tls: it serves plain HTTP"]
    }


def test_ingress_host_outside_its_tls_hosts_or_without_redirect_is_rejected(rendered):
    ingress = of_type(rendered["dev-rest-clients"], INGRESS)[0]
    ingress["spec"]["rules"].append({"host": "plain.example.com"})
    ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/ssl-redirect"] = "false"
    problems = validate(INGRESS, ingress)["ingress-and-route-require-tls"]
    assert [re.sub(r"^subject: ", "", p) for p in problems] == [
        "Ingress host plain.example.com is not in any spec.tls[].hosts",
        "Ingress sets nginx.ingress.kubernetes.io/ssl-redirect false: it serves plain HTTP",
    ]


@pytest.mark.parametrize(
    "tls, expected",
    [
        (None, "Route has no spec.tls.termination"),
        ({"termination": "edge", "insecureEdgeTerminationPolicy": "Allow"}, "insecureEdgeTerminationPolicy Allow"),
    ],
    ids=["no-tls", "allow-plain-http"],
)
def test_route_without_tls_is_rejected(rendered, tls, expected):
    route = of_type(rendered["ocp"], guardrails.ROUTE)[0]
    route["spec"]["tls"] = tls
    (problem,) = validate(guardrails.ROUTE, route)["ingress-and-route-require-tls"]
    assert expected in problem


@pytest.mark.parametrize(
    "change, policy, expected",
    [
        ({"security.ssl.internal.enabled": "false"}, "flink-internal-ssl", "security.ssl.internal.enabled"),
        ({"security.ssl.internal.enabled": None}, "flink-internal-ssl", "security.ssl.internal.enabled"),
        ({"security.ssl.enabled": "true"}, "flink-internal-ssl", "sets security.ssl.enabled"),
        ({"security.ssl.rest.enabled": "false"}, "flink-rest-ssl", "security.ssl.rest.enabled"),
    ],
    ids=["internal-off", "internal-missing", "legacy-switch", "rest-off"],
)
def test_flink_deployment_without_ssl_or_with_the_legacy_switch_is_rejected(rendered, change, policy, expected):
    flink = of_type(rendered["dev"], guardrails.FLINK_DEPLOYMENT)[0]
    configuration = flink["spec"]["flinkConfiguration"]
    for key, value in change.items():
        if value is None:
            del configuration[key]
        else:
            configuration[key] = value
    found = validate(guardrails.FLINK_DEPLOYMENT, flink)
    assert list(found) == [policy] and expected in found[policy][0]


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda c: c.replace("proxy_ssl_verify on;", "proxy_ssl_verify off;"), ["proxy_ssl_verify is not on"]),
        (lambda c: re.sub(r"\n\s*proxy_ssl_trusted_certificate [^;]+;", "", c), ["proxy_ssl_trusted_certificate"]),
        (lambda c: re.sub(r"proxy_pass https://", "proxy_pass http://", c), ["is not HTTPS"]),
    ],
    ids=["verify-off", "no-trusted-ca", "plain-upstream"],
)
def test_proxy_that_does_not_verify_its_upstream_is_rejected(rendered, edit, expected):
    config_map = next(c for c in of_type(rendered["dev"], guardrails.CONFIG_MAP) if "nginx.conf" in c["data"])
    config_map["data"]["nginx.conf"] = edit(config_map["data"]["nginx.conf"])
    problems = validate(guardrails.CONFIG_MAP, config_map)["proxy-verifies-upstream"]
    assert problems and all(any(e in p for e in expected) for p in problems)


def test_ingress_to_an_https_backend_must_verify_it(rendered):
    ingress = of_type(rendered["dev-rest-clients"], INGRESS)
    api = next(i for i in ingress if i["metadata"]["annotations"].get("nginx.ingress.kubernetes.io/auth-tls-secret"))
    assert validate(INGRESS, api) == {}
    api["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-ssl-verify"] = "off"
    assert "proxy-ssl-verify on" in validate(INGRESS, api)["proxy-verifies-upstream"][0]


POD_BREAKS = {
    "root-user": (lambda pod, c: pod["securityContext"].update(runAsUser=0), "runAsUser must not be 0"),
    "may-run-as-root": (
        lambda pod, c: (pod["securityContext"].pop("runAsNonRoot"), c["securityContext"].pop("runAsNonRoot")),
        "runAsNonRoot",
    ),
    "escalation": (
        lambda pod, c: c["securityContext"].update(allowPrivilegeEscalation=True),
        "allowPrivilegeEscalation",
    ),
    "privileged": (lambda pod, c: c["securityContext"].update(privileged=True), "privileged must not be true"),
    "capabilities": (lambda pod, c: c["securityContext"].update(capabilities={"add": ["NET_ADMIN"]}), "capabilities"),
    "unconfined-seccomp": (
        lambda pod, c: (
            pod["securityContext"].update(seccompProfile={"type": "Unconfined"}),
            c["securityContext"].pop("seccompProfile"),
        ),
        "seccompProfile",
    ),
    "host-network": (lambda pod, c: pod.update(hostNetwork=True), "hostNetwork"),
    "host-path": (lambda pod, c: pod["volumes"].append({"name": "node", "hostPath": {"path": "/"}}), "hostPath"),
    "host-port": (lambda pod, c: c.setdefault("ports", []).append({"containerPort": 80, "hostPort": 80}), "hostPort"),
}


@pytest.mark.parametrize("case", POD_BREAKS)
def test_proxy_pod_outside_the_restricted_profile_is_rejected(rendered, case):
    deployment = of_type(rendered["dev"], DEPLOYMENT)[0]
    pod = deployment["spec"]["template"]["spec"]
    break_it, expected = POD_BREAKS[case]
    break_it(pod, pod["containers"][0])
    problems = validate(DEPLOYMENT, deployment)["pod-restricted-profile"]
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize("case", POD_BREAKS)
def test_flink_pod_template_outside_the_restricted_profile_is_rejected(rendered, case):
    flink = of_type(rendered["ocp"], guardrails.FLINK_DEPLOYMENT)[0]
    pod = flink["spec"]["podTemplate"]["spec"]
    break_it, expected = POD_BREAKS[case]
    break_it(pod, pod["containers"][0])
    problems = validate(guardrails.FLINK_DEPLOYMENT, flink)["pod-restricted-profile"]
    assert any(p.startswith("subject: jobManager pods: ") and expected in p for p in problems), problems
    assert any(p.startswith("subject: taskManager pods: ") and expected in p for p in problems), problems


def test_flink_main_container_gets_its_security_only_from_a_template_entry_of_its_name(rendered):
    flink = of_type(rendered["dev"], guardrails.FLINK_DEPLOYMENT)[0]
    flink["spec"]["podTemplate"]["spec"]["containers"][0]["name"] = "sidecar"
    problems = validate(guardrails.FLINK_DEPLOYMENT, flink)["pod-restricted-profile"]
    assert any("containers[flink-main-container]: securityContext.allowPrivilegeEscalation" in p for p in problems)


@pytest.mark.parametrize("by_name", [False, True], ids=["by-position", "by-name"])
def test_a_role_template_overrides_the_shared_one_as_the_operator_merges_them(rendered, by_name):
    flink = of_type(rendered["dev"], guardrails.FLINK_DEPLOYMENT)[0]
    flink["spec"]["flinkConfiguration"][guardrails.MERGE_BY_NAME] = str(by_name).lower()
    flink["spec"]["taskManager"]["podTemplate"] = {
        "spec": {"containers": [{"name": "flink-main-container", "securityContext": {"privileged": True}}]}
    }
    problems = validate(guardrails.FLINK_DEPLOYMENT, flink)["pod-restricted-profile"]
    assert problems == ["subject: taskManager pods: containers[flink-main-container]: privileged must not be true"]


def test_by_position_a_role_template_container_merges_into_the_first_shared_one_whatever_its_name(rendered):
    """The operator's default: a sidecar listed first in a role template lands on the main container."""
    flink = of_type(rendered["dev"], guardrails.FLINK_DEPLOYMENT)[0]
    flink["spec"]["jobManager"]["podTemplate"] = {
        "spec": {"containers": [{"name": "sidecar", "securityContext": {"allowPrivilegeEscalation": True}}]}
    }
    problems = validate(guardrails.FLINK_DEPLOYMENT, flink)["pod-restricted-profile"]
    assert any(p.startswith("subject: jobManager pods: containers[sidecar]: ") for p in problems), problems
    assert any("containers[flink-main-container]: securityContext.allowPrivilegeEscalation" in p for p in problems)
    assert not any(p.startswith("subject: taskManager") for p in problems)


def test_resources_no_policy_governs_pass():
    assert validate("kubernetes:core/v1:Service", {"spec": {"type": "NodePort"}}) == {}
    assert validate("tls:index/privateKey:PrivateKey", {"algorithm": "RSA"}) == {}


def test_pack_files_pin_what_the_tests_ran_with():
    pins = set((PROJECT_DIR / "policy" / "requirements.txt").read_text().split())
    dev_pins = {
        line
        for requirements in ("requirements.txt", "requirements-dev.txt")
        for line in (PROJECT_DIR / requirements).read_text().split()
        if "==" in line
    }
    assert pins <= dev_pins and {p.split("==")[0] for p in pins} == {"pulumi", "pulumi-policy"}
    project = yaml.safe_load((PROJECT_DIR / "policy" / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    assert Path(PROJECT_DIR / "policy" / "__main__.py").read_text().count("PolicyPack(") == 1
