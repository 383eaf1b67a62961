"""SingleSignOn: oauth2-proxy for one Web UI, signing users in at an OIDC identity provider."""

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from secure_flink.components.certificate_authority import CertificateAuthority
from secure_flink.domain import names, tls_material
from secure_flink.domain.network_policy import EgressRule
from secure_flink.domain.oauth2_proxy import OidcLogin
from secure_flink.domain.platform_profile import UI_PROXY, PlatformProfile
from secure_flink.domain.proxy_workload import proxy_labels, scanner_waivers
from secure_flink.domain.roles import Role
from secure_flink.domain.sso_workload import (
    CLIENT_SECRET_FILE,
    COOKIE_SECRET_FILE,
    IMAGE,
    PORT,
    PROVIDER_CA_FILE,
    PROVIDER_CA_MOUNT,
    SsoWorkload,
    service_host,
    service_name,
    sso_arguments,
    sso_deployment_spec,
    sso_labels,
    sso_policy,
    sso_service_spec,
)

TYPE = "secureflink:index:SingleSignOn"
# oauth2-proxy takes a cookie secret of 16, 24 or 32 bytes; 32 alphanumerics are 32 bytes (AES-256).
COOKIE_SECRET_LENGTH = 32


@dataclass(frozen=True, kw_only=True)
class SignOn:
    """How users sign in to the Web UIs of a stack: one OIDC provider and client, and the roles of its groups."""

    login: OidcLogin
    """Without provider_ca_file: SingleSignOn mounts `provider_ca` and names it."""
    client_secret: pulumi.Input[str] = field(repr=False)
    group_roles: tuple[tuple[str, Role], ...]
    """Each IdP group that holds a role; a user in several holds the highest."""
    provider_ca: str | None = None
    """PEM of the CA(s) of a provider with a private CA."""
    egress: tuple[EgressRule, ...]
    """Where the provider is: the only addresses oauth2-proxy may connect to."""
    image: str = IMAGE


@dataclass(frozen=True, kw_only=True)
class SingleSignOnArgs:
    deployment_name: str
    namespace: str
    ui_url: str
    """The UI's public URL, `https://<host>/`: the provider sends browsers back to `<ui_url>oauth2/callback`."""
    sign_on: SignOn
    issuer: CertificateAuthority
    """Signs oauth2-proxy's certificate, which the UI proxy verifies; its policy rotates the cookie secret."""
    profile: PlatformProfile


class SingleSignOn(pulumi.ComponentResource):
    """Creates oauth2-proxy for one Web UI: its certificate (TLS Secret), a Secret with the client secret and a
    generated cookie secret, a ConfigMap with the provider's CA (if private), a hardened Deployment, a Service on
    4443 and a NetworkPolicy (in from the UI proxy only, out to the provider only)."""

    host: str
    """Where the UI proxy calls it; its certificate carries this name."""
    port: int
    labels: dict[str, str]
    """Its pods' labels."""

    def __init__(self, name: str, args: SingleSignOnArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        deployment, namespace = args.deployment_name, args.namespace
        metadata = {"namespace": namespace, "labels": sso_labels(deployment)}
        self.host, self.port, self.labels = service_host(deployment, namespace), PORT, sso_labels(deployment)
        tls_secret = args.issuer.server_tls_secret(
            f"{name}-tls",
            dns_names=names.proxy_dns_names(service_name(deployment), namespace, None),
            metadata=metadata,
            opts=child,
        )
        cookie_secret = random.RandomPassword(
            f"{name}-cookie-secret",
            length=COOKIE_SECRET_LENGTH,
            special=False,
            keepers=args.issuer.policy.keepers,
            opts=child,
        )
        client_secret: pulumi.Output[str] = pulumi.Output.secret(pulumi.Output.from_input(args.sign_on.client_secret))
        secrets = k8s.core.v1.Secret(
            f"{name}-secrets",
            metadata=metadata,
            type="Opaque",
            data=pulumi.Output.all(client_secret, cookie_secret.result).apply(
                lambda v: {CLIENT_SECRET_FILE: tls_material.b64(v[0]), COOKIE_SECRET_FILE: tls_material.b64(v[1])}
            ),
            opts=child,
        )
        sign_on = args.sign_on
        provider_ca = self._provider_ca(name, sign_on.provider_ca, metadata, child)
        login = sign_on.login
        if sign_on.provider_ca is not None:
            login = dataclasses.replace(login, provider_ca_file=f"{PROVIDER_CA_MOUNT}/{PROVIDER_CA_FILE}")
        arguments = sso_arguments(login, args.ui_url)
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={**metadata, "annotations": scanner_waivers(sign_on.image, args.profile.assign_uid)},
            spec=pulumi.Output.all(tls_secret.metadata.name, secrets.metadata.name, provider_ca).apply(
                lambda n: sso_deployment_spec(
                    SsoWorkload(
                        deployment=deployment,
                        image=sign_on.image,
                        arguments=arguments,
                        tls_secret=n[0],
                        secrets_secret=n[1],
                        provider_ca_config_map=n[2],
                        assign_uid=args.profile.assign_uid,
                    )
                )
            ),
            opts=child,
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata={**metadata, "name": service_name(deployment)},
            spec=sso_service_spec(deployment),
            opts=child,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata=metadata,
            spec=sso_policy(
                deployment=deployment, ui_proxy_labels=proxy_labels(deployment, UI_PROXY), provider=sign_on.egress
            ),
            opts=child,
        )
        self.register_outputs({"host": self.host})

    @staticmethod
    def _provider_ca(
        name: str, pem: str | None, metadata: Mapping[str, object], child: pulumi.ResourceOptions
    ) -> pulumi.Output[str | None]:
        if pem is None:
            return pulumi.Output.from_input(None)
        config = k8s.core.v1.ConfigMap(
            f"{name}-provider-ca", metadata=metadata, data={PROVIDER_CA_FILE: pem}, opts=child
        )
        return config.metadata.name
