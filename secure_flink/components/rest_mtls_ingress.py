"""RestMTLSIngress: the Flink REST API for holders of the stack's client certificates, each with a role.

The stack's own proxy (FlinkRestProxy with client certificates) stands between the clients and Flink and checks
each request against the client's role. Kubernetes: ingress-nginx verifies the client certificates (per host)
and names the client to the proxy. OpenShift: its router cannot verify client certificates per Route, so the
proxy does it, behind a passthrough Route.
"""

from dataclasses import dataclass

import pulumi

from secure_flink.components.certificate_authority import CertificateAuthority
from secure_flink.components.flink_rest_proxy import (
    ClientCertificateAuth,
    FlinkRestProxy,
    FlinkRestProxyArgs,
    FlinkUpstream,
    PublicEndpoint,
)
from secure_flink.domain import exposure, names
from secure_flink.domain.platform_profile import API_PROXY, Platform, PlatformProfile
from secure_flink.domain.problems import ArgumentChecks
from secure_flink.domain.proxy_workload import ProxyOptions

TYPE = "secureflink:index:RestMTLSIngress"


@dataclass(frozen=True, kw_only=True)
class RestMTLSIngressArgs:
    upstream: FlinkUpstream
    """The deployment whose REST API this opens; `identity` is what the proxy presents under REST mTLS."""
    host: str
    """Public host of the REST API; ingress-nginx applies client-certificate checks per host."""
    issuer: CertificateAuthority
    """Signs the proxy's server certificate (and, on Kubernetes, the controller's client certificate to it)."""
    clients: ClientCertificateAuth
    profile: PlatformProfile
    options: ProxyOptions

    def __post_init__(self) -> None:
        checks = ArgumentChecks(self)
        checks.check("host", self.host, names.host_problem(self.host), "host='etl-api.flink.example.com'")
        checks.raise_any()


class RestMTLSIngress(pulumi.ComponentResource):
    """Creates, for one FlinkDeployment, a FlinkRestProxy in client-certificate mode at `host`: behind an
    ingress-nginx Ingress that checks the client certificates on Kubernetes, behind a passthrough Route on
    OpenShift.

    A client without a certificate, with one from another CA, expired, or not meant for client authentication
    gets 400; a valid certificate that is not on the allow-list gets 403 (Kubernetes: a CN not on it); a listed
    client gets 403 for a route its role may not call.
    """

    url: pulumi.Output[str]

    def __init__(self, name: str, args: RestMTLSIngressArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        openshift = args.profile.platform is Platform.OPENSHIFT
        proxy = FlinkRestProxy(
            f"{name}-proxy",
            FlinkRestProxyArgs(
                upstream=args.upstream,
                role=API_PROXY,
                service_name=names.rest_api_service(args.upstream.deployment_name),
                auth=args.clients,
                issuer=args.issuer,
                # Passthrough: the client's TLS, and its certificate, reach the proxy untouched.
                endpoint=PublicEndpoint(
                    host=args.host, path_prefix="/", route_termination=exposure.Termination.PASSTHROUGH
                ),
                profile=args.profile,
                options=args.options,
                # Before 0.13 the Ingress was this component's own and went straight to Flink.
                exposure_aliases=() if openshift else (pulumi.Alias(name=f"{name}-ingress", parent=self),),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.url = proxy.url
        self.register_outputs({"url": self.url})
