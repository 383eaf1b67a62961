"""RestMTLSIngress: the Flink REST API for holders of the stack's client certificates.

Kubernetes: ingress-nginx verifies the client certificates and calls Flink directly. OpenShift: its
router cannot verify client certificates per Route, so the stack's own proxy does it (FlinkRestProxy
in client-certificate mode) behind a passthrough Route.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from secure_flink.components.certificate_authority import CertificateAuthority
from secure_flink.components.flink_rest_proxy import (
    ClientCertificateAuth,
    FlinkRestProxy,
    FlinkRestProxyArgs,
    FlinkUpstream,
    PublicEndpoint,
)
from secure_flink.components.pki import identity_secret
from secure_flink.domain import exposure, names, tls_material
from secure_flink.domain.platform_profile import API_PROXY, Platform, PlatformProfile
from secure_flink.domain.problems import ArgumentChecks
from secure_flink.domain.proxy_workload import ProxyOptions
from secure_flink.domain.tls_policy import TlsProtocol

TYPE = "secureflink:index:RestMTLSIngress"


@dataclass(frozen=True, kw_only=True)
class ClientAllowList:
    """Who may call: the CA that signs REST clients, and the clients currently issued a certificate."""

    ca_pem: pulumi.Input[str]
    common_names: Sequence[pulumi.Input[str]]
    """For ingress-nginx (`auth-tls-match-cn`)."""
    fingerprints: pulumi.Input[Sequence[str]]
    """For the stack's proxy: the exact certificates (a removed client's still-valid certificate gets 403)."""


@dataclass(frozen=True, kw_only=True)
class RestMTLSIngressArgs:
    upstream: FlinkUpstream
    """The deployment whose REST API this opens; `identity` is the REST API's caller's under REST mTLS."""
    host: str
    """Public host of the REST API; ingress-nginx applies client-certificate checks per host."""
    issuer: CertificateAuthority
    """Signs the entry point's server certificate."""
    clients: ClientAllowList
    protocol: TlsProtocol
    """The one protocol Flink's REST API speaks: what ingress-nginx must offer it."""
    profile: PlatformProfile
    options: ProxyOptions

    def __post_init__(self) -> None:
        checks = ArgumentChecks(self)
        checks.check("host", self.host, names.host_problem(self.host), "host='etl-api.flink.example.com'")
        checks.raise_any()


class RestMTLSIngress(pulumi.ComponentResource):
    """Creates, for one FlinkDeployment, on Kubernetes: a Secret with the client CA (what ingress-nginx
    verifies client certificates against), a Secret with Flink's REST CA (what it verifies Flink
    against), a server certificate and TLS Secret for the host, and the Ingress to `<name>-rest`.
    On OpenShift: a FlinkRestProxy in client-certificate mode behind a passthrough Route.

    A client without a certificate, with one from another CA, expired, or not meant for client
    authentication gets 400; a valid certificate that is not on the allow-list gets 403.
    """

    url: pulumi.Output[str]

    def __init__(self, name: str, args: RestMTLSIngressArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.profile.platform is Platform.OPENSHIFT:
            self.url = self._proxy(name, args, child).url
        else:
            self.url = self._ingress(name, args, child)
        self.register_outputs({"url": self.url})

    @staticmethod
    def _proxy(name: str, args: RestMTLSIngressArgs, child: pulumi.ResourceOptions) -> FlinkRestProxy:
        return FlinkRestProxy(
            f"{name}-proxy",
            FlinkRestProxyArgs(
                upstream=args.upstream,
                role=API_PROXY,
                service_name=names.rest_api_service(args.upstream.deployment_name),
                auth=ClientCertificateAuth(client_ca_pem=args.clients.ca_pem, fingerprints=args.clients.fingerprints),
                issuer=args.issuer,
                # Passthrough: the client's TLS, and its certificate, reach the proxy untouched.
                endpoint=PublicEndpoint(
                    host=args.host, path_prefix="/", route_termination=exposure.Termination.PASSTHROUGH
                ),
                profile=args.profile,
                options=args.options,
            ),
            opts=child,
        )

    @staticmethod
    def _ingress(name: str, args: RestMTLSIngressArgs, child: pulumi.ResourceOptions) -> pulumi.Output[str]:
        upstream = args.upstream
        metadata = {"namespace": upstream.namespace, "labels": names.labels(upstream.deployment_name, "rest-mtls")}
        client_ca = _ca_secret(f"{name}-client-ca", args.clients.ca_pem, metadata, child)
        upstream_ca = _upstream_secret(f"{name}-upstream-ca", upstream, metadata, child)
        tls_secret = args.issuer.server_tls_secret(f"{name}-tls", dns_names=[args.host], metadata=metadata, opts=child)
        secret_names = pulumi.Output.all(
            client_ca.metadata.name,
            upstream_ca.metadata.name,
            tls_secret.metadata.name,
            pulumi.Output.all(*args.clients.common_names),
        )
        k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata={
                **metadata,
                "name": names.rest_api_service(upstream.deployment_name),
                "annotations": secret_names.apply(
                    lambda v: exposure.rest_mtls_ingress_annotations(
                        namespace=upstream.namespace,
                        deployment=upstream.deployment_name,
                        client_ca_secret=v[0],
                        upstream_ca_secret=v[1],
                        common_names=list(v[3]),
                        protocol=args.protocol,
                        key_algorithm=args.issuer.policy.key.algorithm,
                        max_body_size=args.options.max_body_size,
                    )
                ),
            },
            spec=secret_names.apply(
                lambda v: exposure.rest_mtls_ingress_spec(
                    deployment=upstream.deployment_name,
                    host=args.host,
                    ingress_class=args.options.ingress_class,
                    tls_secret=v[2],
                )
            ),
            opts=child,
        )
        return pulumi.Output.from_input(f"https://{args.host}/")


def _ca_secret(
    name: str, ca_pem: pulumi.Input[str], metadata: Mapping[str, object], opts: pulumi.ResourceOptions
) -> k8s.core.v1.Secret:
    """A Secret holding one CA under `ca.crt`, the key ingress-nginx reads."""
    return k8s.core.v1.Secret(
        name,
        metadata=metadata,
        type="Opaque",
        data=pulumi.Output.from_input(ca_pem).apply(lambda pem: {"ca.crt": tls_material.b64(pem)}),
        opts=opts,
    )


def _upstream_secret(
    name: str, upstream: FlinkUpstream, metadata: Mapping[str, object], opts: pulumi.ResourceOptions
) -> k8s.core.v1.Secret:
    """ingress-nginx's `proxy-ssl-secret`: Flink's CA (`ca.crt`), and under REST mTLS the client
    certificate the controller presents to Flink (`tls.crt`, `tls.key`)."""
    if upstream.identity is None:
        return _ca_secret(name, upstream.rest_ca_pem, metadata, opts)
    cert_pem, key_pem = upstream.identity
    return identity_secret(
        name,
        cert_pem=cert_pem,
        ca_pem=upstream.rest_ca_pem,
        key_pem=key_pem,
        secret_type="Opaque",
        metadata=metadata,
        opts=opts,
    )
