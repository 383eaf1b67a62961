"""What a stack's configuration becomes: frozen, typed settings (and, from the domain, the error that lists every
problem)."""

from dataclasses import dataclass, field
from enum import Enum

from secure_flink.domain.deployment import DeploymentSettings
from secure_flink.domain.exposure import Termination
from secure_flink.domain.htpasswd import HashScheme
from secure_flink.domain.network_policy import EgressRule
from secure_flink.domain.oauth2_proxy import OidcLogin
from secure_flink.domain.platform_profile import Platform, PlatformProfile, platform_profile
from secure_flink.domain.problems import PROJECT, ConfigError, Problem
from secure_flink.domain.roles import DEFAULT_ROLE, Role
from secure_flink.domain.tls_policy import IssuancePolicy, TlsProtocol


@dataclass(frozen=True, kw_only=True)
class TlsSettings:
    issuance: IssuancePolicy
    """Keys, lifetimes and `tlsRotation` (a new value re-issues every key, certificate, keystore and password)."""
    protocol: TlsProtocol


@dataclass(frozen=True, kw_only=True)
class UiUser:
    name: str
    role: Role = DEFAULT_ROLE
    password: str | None = field(default=None, repr=False)
    """Set by the user as secret config, or None: the stack generates one."""


class UiAuth(str, Enum):
    BASIC = "basic"
    OIDC = "oidc"


@dataclass(frozen=True, kw_only=True)
class OidcSettings:
    """Single sign-on to every Web UI of the stack through one identity provider."""

    login: OidcLogin
    """Provider, client, who may sign in (the groups that hold a role, email domains), claims and scopes."""
    client_secret: str = field(repr=False)
    group_roles: tuple[tuple[str, Role], ...]
    """Each IdP group that holds a role; a user in several groups holds the highest of their roles."""
    provider_ca: str | None
    """PEM of the CA(s) the provider's certificate chains to, for a provider with a private CA."""
    egress: tuple[EgressRule, ...]
    """Where the provider is: the only addresses oauth2-proxy may connect to."""
    image: str


@dataclass(frozen=True, kw_only=True)
class RestClient:
    name: str
    role: Role = DEFAULT_ROLE


@dataclass(frozen=True, kw_only=True)
class UiSettings:
    enabled: bool
    users: tuple[UiUser, ...]
    hash_scheme: HashScheme
    domain: str | None
    """UI hosts are `<deployment>.<domain>`; None: OpenShift assigns Route hosts, an Ingress has no host."""
    route_termination: Termination
    ingress_class: str
    max_body_size: str
    proxy_image: str
    auth: UiAuth = UiAuth.BASIC
    oidc: OidcSettings | None = None
    """With auth OIDC: the provider; `users` are then not read."""


@dataclass(frozen=True, kw_only=True)
class StackSettings:
    rest_clients: tuple[RestClient, ...]
    """The REST clients the stack issues client certificates to, each with its role at the REST API's proxy."""
    ingress_controller_namespace: str
    """Where ingress-nginx runs: the REST NetworkPolicy admits it when a RestMTLSIngress exists."""
    api_server_cidrs: tuple[str, ...]
    """Where the Kubernetes API server is: Flink pods that call it may connect there (ports 443, 6443)."""
    platform: Platform
    namespace: str
    operator_namespace: str
    tls: TlsSettings
    deployments: tuple[DeploymentSettings, ...]
    ui: UiSettings
    warnings: tuple[Problem, ...] = ()
    """What works but should be said differently (keys under an earlier name, users without a role): say so on
    every `pulumi up` (`pulumi.log.warn`)."""

    @property
    def profile(self) -> PlatformProfile:
        return platform_profile(
            self.platform,
            ingress_controller_namespace=self.ingress_controller_namespace,
            ui_enabled=self.ui.enabled,
            rest_clients=bool(self.rest_clients),
        )


__all__ = [
    "PROJECT",
    "ConfigError",
    "DeploymentSettings",
    "Platform",
    "Problem",
    "RestClient",
    "StackSettings",
    "TlsSettings",
]
