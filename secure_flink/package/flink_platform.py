"""FlinkPlatform: SecureFlinkPlatform for any Pulumi language, configured like a stack."""

import dataclasses
import re
from typing import Any, TypedDict

import pulumi

from secure_flink.components.secure_flink_platform import SecureFlinkPlatform, SecureFlinkPlatformArgs
from secure_flink.settings import ConfigError, MappingConfig, Problem, read_settings
from secure_flink.settings.defaults import DEFAULTS

TYPE = "secureflink:index:FlinkPlatform"


# `X | None`, not NotRequired: what the SDK's schema inference reads as optional.
class FlinkPlatformArgs(TypedDict, total=False):
    """The stack configuration's keys (Pulumi.yaml documents each), in the package's camelCase; all but
    `deployments` optional. They are plain values: the whole configuration is validated before the component
    registers anything."""

    deployments: list[dict[str, Any]]
    """The FlinkDeployments, each a map with the fields of the stack config's `deployments` items."""
    platform: str | None
    namespace: str | None
    operator_namespace: str | None
    key_algorithm: str | None
    rsa_bits: int | None
    ecdsa_curve: str | None
    tls_protocol: str | None
    ca_validity_hours: int | None
    cert_validity_hours: int | None
    cert_early_renewal_hours: int | None
    tls_rotation: str | None
    ui_enabled: bool | None
    ui_users: list[dict[str, Any]] | None
    """Each `{name}`; a `password` given here is taken as secret, and must be strong."""
    ui_hash_scheme: str | None
    domain: str | None
    ui_route_termination: str | None
    ingress_class: str | None
    proxy_max_body_size: str | None
    proxy_image: str | None
    rest_clients: list[dict[str, Any]] | None
    ingress_controller_namespace: str | None
    api_server_cidrs: list[str] | None


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
        self.ca_certificate = platform.ca_cert_pem
        self.rest_endpoints = pulumi.Output.from_input(platform.rest_endpoints)
        self.rest_ca_certificates = _resolved(platform.rest_ca_pems)
        self.ui_urls = _resolved(platform.ui_urls)
        self.register_outputs(
            {
                "caCertificate": self.ca_certificate,
                "restEndpoints": self.rest_endpoints,
                "restCaCertificates": self.rest_ca_certificates,
                "uiUrls": self.ui_urls,
            }
        )


def _resolved(outputs: dict[str, pulumi.Output[str]]) -> pulumi.Output[dict[str, str]]:
    # Output.all of no outputs is an empty list, not an empty map.
    return pulumi.Output.all(**outputs) if outputs else pulumi.Output.from_input({})


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
    return {**DEFAULTS, **{key: _whole_numbers(value) for key, value in given.items()}}


def _whole_numbers(value: object) -> object:
    """Pulumi passes every number as a float: the whole ones become ints again, as the stack config has them."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    return value


# `pulumi config set [--secret] [--path] 'key' value`: what a stack user runs, and a program writes `key: value`.
_CONFIG_SET = re.compile(r"pulumi config set (?:--secret )?(?:--path )?'?(?P<key>[^' ]+)'? (?P<value>'[^']*'|\S+)")


def _as_argument(problem: Problem) -> Problem:
    """A stack config problem as one with the component's properties: same key, value and reason; the fix in a
    program's terms."""
    fix = _CONFIG_SET.sub(lambda m: f"set {m['key']}: {m['value']}", problem.fix)
    return dataclasses.replace(problem, scope="FlinkPlatform.", fix=fix)


def _camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)
