"""FlinkRestProxy: the hardened nginx proxy in front of one Flink REST Service, and how it is exposed.

Shared by SecureFlinkUI (basic auth, or single sign-on through oauth2-proxy) and RestMTLSIngress (client
certificates; behind ingress-nginx the controller checks them and names the client). Behind an ingress-nginx
Ingress the proxy also requires the controller's own client certificate, issued here, so that nothing but the
controller can send it a request; OpenShift's router presents none (a Route has no field for one: passthrough
forwards the client's TLS, reencrypt opens TLS without a client certificate).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from secure_flink.components import custom_resources
from secure_flink.components.certificate_authority import CertificateAuthority
from secure_flink.components.pki import identity_secret
from secure_flink.domain import exposure, names, tls_material
from secure_flink.domain.network_policy import proxy_policy
from secure_flink.domain.nginx import ProxyConfig, SsoGate, nginx_conf
from secure_flink.domain.oauth2_proxy import session_cookie_name
from secure_flink.domain.platform_profile import PlatformProfile
from secure_flink.domain.problems import ArgumentChecks
from secure_flink.domain.proxy_workload import (
    ProxyOptions,
    ProxyWorkload,
    proxy_deployment_spec,
    proxy_labels,
    proxy_service_spec,
    scanner_waivers,
)
from secure_flink.domain.roles import Role

TYPE = "secureflink:index:FlinkRestProxy"
# "auto" would count the node's CPUs, not the pod's limit; each worker keeps its own upstream pool.
PROXY_WORKERS = 2
CLIENT_CA_FILE = "client-ca.crt"
SSO_CA_FILE = "sso-ca.crt"


@dataclass(frozen=True)
class BasicAuth:
    htpasswd: pulumi.Input[str]
    """The htpasswd file (secret)."""
    roles: tuple[tuple[str, Role], ...]
    """Each user of the htpasswd file, by name, and their role."""


@dataclass(frozen=True, kw_only=True)
class SsoAuth:
    """Users sign in at an identity provider through oauth2-proxy (a SingleSignOn), and hold their groups' roles."""

    host: str
    """oauth2-proxy's Service name, which its certificate (from the proxy's issuer) carries."""
    port: int
    labels: Mapping[str, str]
    """oauth2-proxy's pod labels: the proxy's NetworkPolicy lets it connect there."""
    group_roles: tuple[tuple[str, Role], ...]


@dataclass(frozen=True, kw_only=True)
class ClientCertificateAuth:
    """REST clients holding certificates of one CA, each with a role. Where the proxy sees the client's certificate
    (a passthrough Route) it admits the exact certificates; behind ingress-nginx, which checks the certificate and
    its CN and then names the subject, it takes the controller's word for who called."""

    ca_pem: pulumi.Input[str]
    fingerprints: pulumi.Input[Mapping[str, str]]
    """Client -> SHA-1 fingerprint of its current certificate: a removed client's still-valid certificate gets 403."""
    common_names: Mapping[str, pulumi.Input[str]]
    """Client -> CN of its current certificate (unique per issuance, so a removed client's CN is never re-listed)."""
    roles: Mapping[str, Role]
    """Client -> its role; every client has one."""

    def __post_init__(self) -> None:
        checks = ArgumentChecks(self)
        if set(self.roles) != set(self.common_names):
            checks.check(
                "roles",
                dict(self.roles),
                "must give each client of common_names a role",
                "roles={'ci-bot': Role.ADMIN}",
            )
        checks.raise_any()


@dataclass(frozen=True, kw_only=True)
class FlinkUpstream:
    """One FlinkDeployment's REST API, as a caller of it sees it."""

    deployment_name: str
    namespace: str
    rest_ca_pem: pulumi.Input[str]
    """The CA of Flink's REST certificate: a caller refuses a server it does not sign."""
    identity: tuple[pulumi.Input[str], pulumi.Input[str]] | None = None
    """(certificate, key) PEM the caller presents when the REST API requires client certificates."""
    serving: Sequence[pulumi.Resource] = ()
    """What serves the REST Service (the FlinkDeployment): nginx resolves the upstream name once, at start,
    so a proxy's pods are created only after it is ready."""

    def __post_init__(self) -> None:
        checks = ArgumentChecks(self)
        name = self.deployment_name
        checks.check("deployment_name", name, names.deployment_name_problem(name), "deployment_name='etl'")
        checks.check("namespace", self.namespace, names.namespace_problem(self.namespace), "namespace='flink'")
        checks.raise_any()


@dataclass(frozen=True, kw_only=True)
class PublicEndpoint:
    """Where outside clients reach a proxy: the platform's exposure (Route or Ingress) at `host` under
    `path_prefix`."""

    host: str | None
    """None: OpenShift assigns the Route's host; an Ingress without host answers on any."""
    path_prefix: str
    route_termination: exposure.Termination
    """On OpenShift: where the Route ends TLS (passthrough to the proxy, or reencrypt to it)."""

    def __post_init__(self) -> None:
        checks = ArgumentChecks(self)
        if self.host is not None:
            checks.check("host", self.host, names.host_problem(self.host), "host='etl.flink.example.com'")
        if not (self.path_prefix.startswith("/") and self.path_prefix.endswith("/")):
            checks.check("path_prefix", self.path_prefix, "must start and end with '/'", "path_prefix='/etl/'")
        checks.raise_any()


@dataclass(frozen=True, kw_only=True)
class FlinkRestProxyArgs:
    upstream: FlinkUpstream
    role: str
    """`ui-proxy` or `api-proxy`: labels, and the NetworkPolicy that admits the proxy to Flink."""
    service_name: str
    auth: BasicAuth | ClientCertificateAuth | SsoAuth
    issuer: CertificateAuthority
    """Signs the proxy's server certificate (and on Kubernetes the ingress controller's client certificate)."""
    endpoint: PublicEndpoint
    profile: PlatformProfile
    """The exposure, the UID policy and who forwards outside traffic to the proxy."""
    options: ProxyOptions
    exposure_aliases: Sequence[pulumi.Input[pulumi.Alias]] = ()
    """Earlier identities of the Ingress or Route, which has a fixed name: without them an upgrade that moved it
    would create the new one before deleting the old, and fail on the name."""


class FlinkRestProxy(pulumi.ComponentResource):
    """Creates the proxy's key and CA-signed certificate (TLS Secret), the htpasswd Secret (basic auth),
    the nginx ConfigMap, a hardened Deployment, a Service on 8443, a Route or an Ingress, and a
    NetworkPolicy: in from the callers on 8443 only, out to its own JobManager's REST port only.

    The ConfigMap and Secrets are auto-named: when the configuration, a password, the allow-list or the
    certificate changes they are replaced under new names, the Deployment follows and its pods roll.
    """

    url: pulumi.Output[str]
    service: k8s.core.v1.Service

    def __init__(self, name: str, args: FlinkRestProxyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        upstream = args.upstream
        metadata = {"namespace": upstream.namespace, "labels": proxy_labels(upstream.deployment_name, args.role)}
        tls_secret = args.issuer.server_tls_secret(
            f"{name}-tls",
            dns_names=names.proxy_dns_names(args.service_name, upstream.namespace, args.endpoint.host),
            metadata=metadata,
            opts=child,
        )
        htpasswd_name = self._htpasswd_secret(name, args, metadata, child)
        identity_name = self._identity_secret(name, args, metadata, child)
        ingress_caller = self._ingress_caller(name, args, metadata, child)
        config = k8s.core.v1.ConfigMap(
            f"{name}-config", metadata=metadata, data=_config_files(args, ingress_caller), opts=child
        )
        workload = pulumi.Output.all(
            config.metadata.name, tls_secret.metadata.name, htpasswd_name, identity_name
        ).apply(
            lambda n: proxy_deployment_spec(
                ProxyWorkload(
                    deployment=upstream.deployment_name,
                    role=args.role,
                    image=args.options.image,
                    config_map=n[0],
                    tls_secret=n[1],
                    htpasswd_secret=n[2],
                    upstream_identity_secret=n[3],
                    assign_uid=args.profile.assign_uid,
                    session_cache=isinstance(args.auth, SsoAuth),
                )
            )
        )
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={**metadata, "annotations": scanner_waivers(args.options.image, args.profile.assign_uid)},
            spec=workload,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(upstream.serving)),
        )
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={**metadata, "name": args.service_name},
            spec=proxy_service_spec(upstream.deployment_name, args.role),
            opts=child,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata=metadata,
            spec=proxy_policy(
                deployment=upstream.deployment_name,
                proxy_labels=proxy_labels(upstream.deployment_name, args.role),
                callers=args.profile.proxy_callers,
                also_to=[(args.auth.labels, args.auth.port)] if isinstance(args.auth, SsoAuth) else [],
            ),
            opts=child,
        )
        if ingress_caller is None:
            self.url = self._route(name, args, metadata, child)
        else:
            self.url = self._ingress(name, args, tls_secret, ingress_caller, metadata, child, deployment)
        self.register_outputs({"url": self.url})

    @staticmethod
    def _ingress_caller(
        name: str, args: FlinkRestProxyArgs, metadata: Mapping[str, object], child: pulumi.ResourceOptions
    ) -> "IngressCaller | None":
        """The client certificate ingress-nginx presents to this proxy (a client-auth certificate of the stack
        CA, which no Flink deployment trusts), in the Secret its `proxy-ssl-secret` names, with the stack CA
        the controller verifies the proxy against."""
        if args.profile.exposure is not exposure.Exposure.INGRESS:
            return None
        key, cert = args.issuer.issue_client_certificate(
            f"{name}-ingress-client", common_name=f"{args.service_name}-ingress", opts=child
        )
        secret = identity_secret(
            f"{name}-ingress-identity",
            cert_pem=cert.cert_pem,
            ca_pem=args.issuer.cert_pem,
            key_pem=key.private_key_pem,
            secret_type="Opaque",
            metadata=metadata,
            opts=child,
        )
        return IngressCaller(certificate_pem=cert.cert_pem, secret_name=secret.metadata.name)

    @staticmethod
    def _identity_secret(
        name: str, args: FlinkRestProxyArgs, metadata: Mapping[str, object], child: pulumi.ResourceOptions
    ) -> pulumi.Output[str | None]:
        if args.upstream.identity is None:
            return pulumi.Output.from_input(None)
        cert_pem, key_pem = args.upstream.identity
        secret = identity_secret(
            f"{name}-upstream-identity",
            cert_pem=cert_pem,
            ca_pem=args.upstream.rest_ca_pem,
            key_pem=key_pem,
            secret_type="kubernetes.io/tls",
            metadata=metadata,
            opts=child,
        )
        return secret.metadata.name

    @staticmethod
    def _htpasswd_secret(
        name: str, args: FlinkRestProxyArgs, metadata: Mapping[str, object], child: pulumi.ResourceOptions
    ) -> pulumi.Output[str | None]:
        if not isinstance(args.auth, BasicAuth):
            return pulumi.Output.from_input(None)
        secret = k8s.core.v1.Secret(
            f"{name}-htpasswd",
            metadata=metadata,
            type="Opaque",
            data=pulumi.Output.from_input(args.auth.htpasswd).apply(
                lambda text: {names.HTPASSWD_FILE: tls_material.b64(text)}
            ),
            opts=child,
        )
        return secret.metadata.name

    @staticmethod
    def _route(
        name: str, args: FlinkRestProxyArgs, metadata: Mapping[str, object], child: pulumi.ResourceOptions
    ) -> pulumi.Output[str]:
        endpoint = args.endpoint
        route = k8s.apiextensions.CustomResource(
            f"{name}-route",
            api_version=exposure.ROUTE_API_VERSION,
            kind="Route",
            metadata={**metadata, "name": args.service_name},
            spec=pulumi.Output.from_input(args.issuer.cert_pem).apply(
                lambda ca: exposure.route_spec(
                    service=args.service_name, host=endpoint.host, termination=endpoint.route_termination, ca_pem=ca
                )
            ),
            opts=child,
        )
        # OpenShift writes the host it assigned back into spec.host.
        return custom_resources.output(route, "spec").apply(
            lambda spec: f"https://{(spec or {}).get('host', '<route host>')}{endpoint.path_prefix}"
        )

    @staticmethod
    def _ingress(
        name: str,
        args: FlinkRestProxyArgs,
        tls_secret: k8s.core.v1.Secret,
        ingress_caller: "IngressCaller",
        metadata: Mapping[str, object],
        child: pulumi.ResourceOptions,
        deployment: k8s.apps.v1.Deployment,
    ) -> pulumi.Output[str]:
        endpoint, namespace = args.endpoint, args.upstream.namespace
        proxy_hop = ingress_caller.secret_name.apply(
            lambda secret: exposure.ingress_annotations(
                namespace=namespace,
                service=args.service_name,
                identity_secret=secret,
                max_body_size=args.options.max_body_size,
            )
        )
        annotations = pulumi.Output.all(proxy_hop, _client_check(name, args, metadata, child)).apply(
            lambda parts: {**parts[0], **parts[1]}
        )
        spec = tls_secret.metadata.name.apply(
            lambda secret: exposure.ingress_spec(
                service=args.service_name,
                path=endpoint.path_prefix,
                host=endpoint.host,
                ingress_class=args.options.ingress_class,
                tls_secret=secret,
            )
        )
        ingress = k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata={**metadata, "name": args.service_name, "annotations": annotations},
            spec=spec,
            # After the proxy is ready: an Ingress that moves to it from another backend (an upgrade) would send
            # requests to a proxy still starting.
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(aliases=list(args.exposure_aliases), depends_on=[deployment])
            ),
        )
        if isinstance(args.auth, SsoAuth):
            _unlogged_callback(name, args, tls_secret, annotations, metadata, child, deployment)
        if endpoint.host:
            return pulumi.Output.from_input(f"https://{endpoint.host}{endpoint.path_prefix}")
        return ingress.status.apply(lambda status: f"https://{_ingress_address(status)}{endpoint.path_prefix}")


def _unlogged_callback(
    name: str,
    args: FlinkRestProxyArgs,
    tls_secret: k8s.core.v1.Secret,
    annotations: pulumi.Output[dict[str, str]],
    metadata: Mapping[str, object],
    child: pulumi.ResourceOptions,
    deployment: k8s.apps.v1.Deployment,
) -> None:
    """The sign-on callback's own Ingress, the same but with the controller's access log off: its URL carries the
    authorization code and state, which the controller's default log line would keep."""
    endpoint = args.endpoint
    k8s.networking.v1.Ingress(
        f"{name}-callback-ingress",
        metadata={
            **metadata,
            "name": f"{args.service_name}-sso-callback",
            "annotations": annotations.apply(exposure.unlogged),
        },
        spec=tls_secret.metadata.name.apply(
            lambda secret: exposure.ingress_spec(
                service=args.service_name,
                path=f"{endpoint.path_prefix}oauth2/callback",
                host=endpoint.host,
                ingress_class=args.options.ingress_class,
                tls_secret=secret,
                exact=True,
            )
        ),
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[deployment])),
    )


def _client_check(
    name: str, args: FlinkRestProxyArgs, metadata: Mapping[str, object], child: pulumi.ResourceOptions
) -> pulumi.Output[dict[str, str]]:
    """With client certificates, the controller checks them (a Secret with their CA, `ca.crt`, and the CNs it
    admits) and names the caller to the proxy; with basic auth, nothing."""
    auth = args.auth
    if not isinstance(auth, ClientCertificateAuth):
        return pulumi.Output.from_input({})
    client_ca = k8s.core.v1.Secret(
        f"{name}-client-ca",
        metadata=metadata,
        type="Opaque",
        data=pulumi.Output.from_input(auth.ca_pem).apply(lambda pem: {"ca.crt": tls_material.b64(pem)}),
        opts=child,
    )
    return pulumi.Output.all(client_ca.metadata.name, pulumi.Output.all(*auth.common_names.values())).apply(
        lambda v: exposure.client_certificate_annotations(
            namespace=args.upstream.namespace, client_ca_secret=v[0], common_names=list(v[1])
        )
    )


def _ingress_address(status: object) -> str:
    balancer = getattr(status, "load_balancer", None)
    for point in getattr(balancer, "ingress", None) or []:
        address: str | None = getattr(point, "ip", None) or getattr(point, "hostname", None)
        if address:
            return address
    return "<ingress address>"


@dataclass(frozen=True)
class IngressCaller:
    certificate_pem: pulumi.Output[str]
    secret_name: pulumi.Output[str]


def _config_files(args: FlinkRestProxyArgs, ingress_caller: IngressCaller | None) -> pulumi.Output[dict[str, str]]:
    """nginx.conf and the CAs it names; all public (the htpasswd and the TLS key are Secrets)."""
    callers = _callers(args.auth, ingress_caller, args.issuer.cert_pem)
    return pulumi.Output.all(args.upstream.rest_ca_pem, callers, args.issuer.cert_pem).apply(
        lambda v: _render_config(args, v[0], v[1], v[2])
    )


@dataclass(frozen=True)
class Callers:
    """Who may connect (the CA and the exact certificates) and who holds which role, resolved."""

    client_ca: str | None
    fingerprints: tuple[str, ...]
    roles: tuple[tuple[str, Role], ...]
    named_by_gateway: bool = False


def _callers(
    auth: BasicAuth | ClientCertificateAuth | SsoAuth,
    ingress_caller: IngressCaller | None,
    issuer_pem: pulumi.Input[str],
) -> pulumi.Output[Callers]:
    gateway = (
        None
        if ingress_caller is None
        else ingress_caller.certificate_pem.apply(lambda pem: (tls_material.sha1_fingerprint(pem),))
    )
    if not isinstance(auth, ClientCertificateAuth):
        # Users (basic auth, or signed in): roles by user name, or by group (SsoGate).
        roles = auth.roles if isinstance(auth, BasicAuth) else ()
        if gateway is None:
            return pulumi.Output.from_input(Callers(None, (), roles))
        return pulumi.Output.all(issuer_pem, gateway).apply(lambda v: Callers(v[0], v[1], roles))
    if gateway is None:
        # The client's own TLS reaches the proxy: each exact certificate, and its role.
        return pulumi.Output.all(auth.ca_pem, pulumi.Output.from_input(auth.fingerprints)).apply(
            lambda v: Callers(
                v[0],
                tuple(sorted(v[1].values())),
                tuple(sorted((v[1][client], role) for client, role in auth.roles.items())),
            )
        )
    subjects = pulumi.Output.all(**auth.common_names)
    return pulumi.Output.all(issuer_pem, gateway, subjects).apply(
        lambda v: Callers(
            v[0],
            v[1],
            tuple(sorted((names.subject_dn(v[2][client]), role) for client, role in auth.roles.items())),
            named_by_gateway=True,
        )
    )


def _sso_gate(auth: BasicAuth | ClientCertificateAuth | SsoAuth, path_prefix: str) -> SsoGate | None:
    if not isinstance(auth, SsoAuth):
        return None
    return SsoGate(
        host=auth.host,
        port=auth.port,
        trusted_ca=f"{names.PROXY_CONFIG_MOUNT}/{SSO_CA_FILE}",
        proxy_prefix=f"{path_prefix}oauth2",
        group_roles=auth.group_roles,
        session_cookie=session_cookie_name(path_prefix),
        session_cache=names.PROXY_SESSION_CACHE_DIR,
    )


def _render_config(args: FlinkRestProxyArgs, flink_ca: str, callers: Callers, issuer_ca: str) -> dict[str, str]:
    upstream = names.rest_service_host(args.upstream.deployment_name, args.upstream.namespace)
    config = ProxyConfig(
        listen_port=names.PROXY_PORT,
        server_certificate=f"{names.PROXY_TLS_MOUNT}/tls.crt",
        server_key=f"{names.PROXY_TLS_MOUNT}/tls.key",
        upstream_host=upstream,
        upstream_port=names.REST_PORT,
        upstream_server_name=upstream,
        upstream_trusted_ca=f"{names.PROXY_CONFIG_MOUNT}/{names.UPSTREAM_CA_FILE}",
        htpasswd_file=f"{names.PROXY_AUTH_MOUNT}/{names.HTPASSWD_FILE}" if isinstance(args.auth, BasicAuth) else None,
        client_ca_file=f"{names.PROXY_CONFIG_MOUNT}/{CLIENT_CA_FILE}" if callers.client_ca else None,
        allowed_client_fingerprints=tuple(sorted(callers.fingerprints)),
        callers_named_by_gateway=callers.named_by_gateway,
        caller_roles=callers.roles,
        sso=_sso_gate(args.auth, args.endpoint.path_prefix),
        max_body_size=args.options.max_body_size,
        path_prefix=args.endpoint.path_prefix,
        health_path=names.HEALTH_PATH,
        temp_dir=names.PROXY_TEMP_DIR,
        worker_processes=PROXY_WORKERS,
        upstream_client_certificate=f"{names.PROXY_UPSTREAM_MOUNT}/tls.crt" if args.upstream.identity else None,
        upstream_client_key=f"{names.PROXY_UPSTREAM_MOUNT}/tls.key" if args.upstream.identity else None,
    )
    files = {names.NGINX_CONF_FILE: nginx_conf(config), names.UPSTREAM_CA_FILE: flink_ca}
    if callers.client_ca:
        files[CLIENT_CA_FILE] = callers.client_ca
    if isinstance(args.auth, SsoAuth):
        files[SSO_CA_FILE] = issuer_ca
    return files
