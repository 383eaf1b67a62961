"""FlinkPlatform: SecureFlinkPlatform for any Pulumi language, configured like a stack."""

import dataclasses
import re
from typing import Any, NotRequired, TypedDict

import pulumi

from secure_flink.components.secure_flink_platform import SecureFlinkPlatform, SecureFlinkPlatformArgs
from secure_flink.settings import ConfigError, MappingConfig, Problem, read_settings
from secure_flink.settings.defaults import DEFAULTS

TYPE = "secureflink:index:FlinkPlatform"


class FlinkPlatformArgs(TypedDict):
    """The stack configuration's keys (Pulumi.yaml documents each), in the package's camelCase. They are plain
    values: the whole configuration is validated before the component registers anything."""

    deployments: list[dict[str, Any]]
    """The FlinkDeployments, each a map with the fields of the stack config's `deployments` items."""
    platform: NotRequired[str]
    namespace: NotRequired[str]
    operator_namespace: NotRequired[str]
    key_algorithm: NotRequired[str]
    rsa_bits: NotRequired[int]
    ecdsa_curve: NotRequired[str]
    tls_protocol: NotRequired[str]
    ca_validity_hours: NotRequired[int]
    cert_validity_hours: NotRequired[int]
    cert_early_renewal_hours: NotRequired[int]
    tls_rotation: NotRequired[str]
    ui_enabled: NotRequired[bool]
    ui_users: NotRequired[list[dict[str, Any]]]
    """Each `{name}`; a `password` given here is taken as secret, and must be strong."""
    ui_hash_scheme: NotRequired[str]
    domain: NotRequired[str]
    ui_route_termination: NotRequired[str]
    ingress_class: NotRequired[str]
    proxy_max_body_size: NotRequired[str]
    proxy_image: NotRequired[str]
    rest_clients: NotRequired[list[dict[str, Any]]]
    ingress_controller_namespace: NotRequired[str]
    api_server_cidrs: NotRequired[list[str]]


class FlinkPlatform(pulumi.ComponentResource):
    """Apache Flink on Kubernetes or OpenShift with internal mTLS, REST mTLS, an authenticating proxy in front of
    the Web UI and REST API, and least-privilege NetworkPolicies and RBAC: one SecureFlinkPlatform."""

    ca_certificate: pulumi.Output[str]
    """The stack CA: what browsers and curl trust for the UI and REST entry points."""
    rest_endpoints: pulumi.Output[dict[str, str]]
    """Deployment -> its in-cluster REST URL."""
    rest_ca_certificates: pulumi.Output[dict[str, str]]
    """Deployment -> the CA of its REST certificate."""
    ui_urls: pulumi.Output[dict[str, str]]
    """Deployment -> where its Web UI is served (empty with the UI disabled)."""

    def __init__(self, name: str, args: FlinkPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        try:
            settings = read_settings(MappingConfig(stack_config(args), secret_keys=("uiUsers",)))
        except ConfigError as error:
            raise ConfigError([_as_argument(p) for p in error.problems], "FlinkPlatform arguments") from None
        super().__init__(TYPE, name, None, opts)
        platform = SecureFlinkPlatform(
            f"{name}-platform", SecureFlinkPlatformArgs(settings=settings), pulumi.ResourceOptions(parent=self)
        )
        outputs = platform.stack_outputs
        self.ca_certificate = pulumi.Output.from_input(outputs["caCertificate"])  # type: ignore[arg-type]
        self.rest_endpoints = pulumi.Output.from_input(outputs["restEndpoints"])  # type: ignore[arg-type]
        self.rest_ca_certificates = pulumi.Output.from_input(outputs["restCaCertificates"])  # type: ignore[arg-type]
        self.ui_urls = pulumi.Output.from_input(outputs.get("uiUrls", {}))  # type: ignore[arg-type]
        self.register_outputs(
            {
                "caCertificate": self.ca_certificate,
                "restEndpoints": self.rest_endpoints,
                "restCaCertificates": self.rest_ca_certificates,
                "uiUrls": self.ui_urls,
            }
        )


def stack_config(args: FlinkPlatformArgs | dict[str, Any]) -> dict[str, object]:
    """The arguments as stack config values (camelCase keys, defaults for what is not given). A value that is
    not known yet (an Output) cannot be validated, so it is refused."""
    given = {_camel_case(key): value for key, value in dict(args).items() if value is not None}
    unknown = [key for key, value in given.items() if isinstance(value, pulumi.Output)]
    if unknown:
        raise ValueError(
            f"FlinkPlatform arguments {', '.join(unknown)} must be known values (literals or stack config), "
            "not outputs of other resources: the whole configuration is validated before anything is registered"
        )
    return {**DEFAULTS, **given}


# `pulumi config set [--secret] [--path] 'key' value`: what a stack user runs, and a program writes `key: value`.
_CONFIG_SET = re.compile(r"pulumi config set (?:--secret )?(?:--path )?'?(?P<key>[^' ]+)'? (?P<value>.+)")


def _as_argument(problem: Problem) -> Problem:
    """A stack config problem as one with the component's properties: same key, value and reason; the fix in a
    program's terms."""
    fix = _CONFIG_SET.sub(lambda m: f"set {m['key']}: {m['value']}", problem.fix)
    return dataclasses.replace(problem, scope="FlinkPlatform.", fix=fix)


def _camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)
