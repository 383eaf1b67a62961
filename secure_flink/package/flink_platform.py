"""FlinkPlatform: SecureFlinkPlatform for any Pulumi language, configured like a stack."""

from typing import Any

import pulumi

from secure_flink.components.secure_flink_platform import SecureFlinkPlatform, SecureFlinkPlatformArgs
from secure_flink.package.arguments import TlsArguments, as_argument, resolved_map, stack_config
from secure_flink.settings import ConfigError, MappingConfig, read_settings

TYPE = "secureflink:index:FlinkPlatform"


# `X | None`, not NotRequired: what the SDK's schema inference reads as optional.
class FlinkPlatformArgs(TlsArguments, total=False):
    """The stack configuration's keys (Pulumi.yaml documents each), in the package's camelCase; all but
    `deployments` optional. They are plain values: the whole configuration is validated before the component
    registers anything."""

    deployments: list[dict[str, Any]]
    """The FlinkDeployments, each a map with the fields of the stack config's `deployments` items."""
    platform: str | None
    namespace: str | None
    operator_namespace: str | None
    ui_enabled: bool | None
    ui_users: list[dict[str, Any]] | None
    """Each `{name, role}` (role: viewer, operator or admin); a `password` given here is taken as secret, and must be
    strong."""
    ui_hash_scheme: str | None
    domain: str | None
    ui_route_termination: str | None
    ingress_class: str | None
    proxy_max_body_size: str | None
    proxy_image: str | None
    ui_auth: str | None
    """`basic` (uiUsers) or `oidc` (single sign-on; the oidc* properties)."""
    oidc_issuer_url: str | None
    oidc_client_id: str | None
    oidc_client_secret: str | None
    """Taken as secret."""
    oidc_group_roles: list[dict[str, Any]] | None
    """Each `{group, role}`."""
    oidc_email_domains: list[str] | None
    oidc_groups_claim: str | None
    oidc_scopes: list[str] | None
    oidc_ca_certificate: str | None
    oidc_egress: list[dict[str, Any]] | None
    """Where the identity provider is, `[{cidr, ports}]`."""
    oauth2_proxy_image: str | None
    rest_clients: list[dict[str, Any]] | None
    """Each `{name, role}` (role: viewer, operator or admin, at the REST API's proxy)."""
    ingress_controller_namespace: str | None
    api_server_cidrs: list[str] | None


SECRET_ARGUMENTS = ("uiUsers", "oidcClientSecret")
"""Taken as secret config: they may hold passwords and the OIDC client secret."""


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
            config = MappingConfig(stack_config("FlinkPlatform", args), secret_keys=SECRET_ARGUMENTS)
            settings = read_settings(config)
        except ConfigError as error:
            raise ConfigError(
                [as_argument(p, "FlinkPlatform") for p in error.problems], "FlinkPlatform arguments"
            ) from None
        super().__init__(TYPE, name, None, opts)
        platform = SecureFlinkPlatform(
            f"{name}-platform", SecureFlinkPlatformArgs(settings=settings), pulumi.ResourceOptions(parent=self)
        )
        self.ca_certificate = platform.ca_cert_pem
        self.rest_endpoints = pulumi.Output.from_input(platform.rest_endpoints)
        self.rest_ca_certificates = resolved_map(platform.rest_ca_pems)
        self.ui_urls = resolved_map(platform.ui_urls)
        self.register_outputs(
            {
                "caCertificate": self.ca_certificate,
                "restEndpoints": self.rest_endpoints,
                "restCaCertificates": self.rest_ca_certificates,
                "uiUrls": self.ui_urls,
            }
        )
