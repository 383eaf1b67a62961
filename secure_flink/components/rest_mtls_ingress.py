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
from secure_flink.components.flink_rest_proxy import ClientCertificateAuth, FlinkRestProxy, FlinkRestProxyArgs
from secure_flink.components.pki import identity_secret, server_tls_secret
from secure_flink.domain import exposure, names, tls_material
from secure_flink.domain.tls_policy import CertificateLifetime, KeySpec, TlsProtocol

TYPE = "secureflink:index:RestMTLSIngress"


@dataclass(frozen=True, kw_only=True)
class RestMTLSIngressArgs:
    deployment_name: str
    namespace: str
    host: str
    """Public host of the REST API; ingress-nginx applies client-certificate checks per host."""
    ca: CertificateAuthority
    """Signs the Ingress's server certificate."""
    flink_rest_ca_pem: pulumi.Input[str]
    client_ca_pem: pulumi.Input[str]
    client_common_names: Sequence[pulumi.Input[str]]
    """The allow-list for ingress-nginx: CNs of the clients currently issued a certificate."""
    client_fingerprints: pulumi.Input[Sequence[str]]
    """The allow-list for the proxy: the exact certificates currently issued."""
    exposure: exposure.Exposure
    ingress_class: str
    proxy_image: str
    max_body_size: str
    key: KeySpec
    protocol: TlsProtocol
    """The one protocol Flink's REST API speaks: what ingress-nginx must offer it."""
    lifetime: CertificateLifetime
    rotation: str
    proxy_callers: Sequence[Mapping[str, object]]
    """NetworkPolicy peers that forward outside traffic to the proxy (routers, the ingress controller)."""
    upstream: Sequence[pulumi.Resource] = ()
    """What serves the REST Service (the FlinkDeployment); a proxy starts after it."""
    upstream_identity: tuple[pulumi.Input[str], pulumi.Input[str]] | None = None
    """(certificate, key) presented to Flink under REST mTLS: by the proxy, or by ingress-nginx."""


ROLE = "api-proxy"
INGRESS_CALLER = "ingress"
"""How ingress-nginx is named among Flink's REST callers (its client identity under REST mTLS)."""


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
        if args.exposure is exposure.Exposure.ROUTE:
            self.url = self._proxy(name, args, child).url
        else:
            self.url = self._ingress(name, args, child)
        self.register_outputs({"url": self.url})

    @staticmethod
    def _proxy(name: str, args: RestMTLSIngressArgs, child: pulumi.ResourceOptions) -> FlinkRestProxy:
        return FlinkRestProxy(
            f"{name}-proxy",
            FlinkRestProxyArgs(
                deployment_name=args.deployment_name,
                namespace=args.namespace,
                role=ROLE,
                service_name=names.rest_api_service(args.deployment_name),
                auth=ClientCertificateAuth(client_ca_pem=args.client_ca_pem, fingerprints=args.client_fingerprints),
                ca=args.ca,
                flink_rest_ca_pem=args.flink_rest_ca_pem,
                callers=args.proxy_callers,
                exposure=exposure.Exposure.ROUTE,
                host=args.host,
                path_prefix="/",
                route_termination=exposure.Termination.PASSTHROUGH,
                ingress_class=args.ingress_class,
                max_body_size=args.max_body_size,
                image=args.proxy_image,
                assign_uid=False,  # this path runs on OpenShift only, whose restricted SCC assigns the UID
                key=args.key,
                lifetime=args.lifetime,
                rotation=args.rotation,
                upstream=args.upstream,
                upstream_identity=args.upstream_identity,
            ),
            opts=child,
        )

    @staticmethod
    def _ingress(name: str, args: RestMTLSIngressArgs, child: pulumi.ResourceOptions) -> pulumi.Output[str]:
        metadata = {"namespace": args.namespace, "labels": names.labels(args.deployment_name, "rest-mtls")}
        client_ca = _ca_secret(f"{name}-client-ca", args.client_ca_pem, metadata, child)
        upstream_ca = _upstream_secret(f"{name}-upstream-ca", args, metadata, child)
        tls_secret = server_tls_secret(
            f"{name}-tls",
            key_spec=args.key,
            rotation=args.rotation,
            dns_names=[args.host],
            ca=args.ca,
            lifetime=args.lifetime,
            metadata=metadata,
            opts=child,
        )
        secret_names = pulumi.Output.all(
            client_ca.metadata.name,
            upstream_ca.metadata.name,
            tls_secret.metadata.name,
            pulumi.Output.all(*args.client_common_names),
        )
        k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata={
                **metadata,
                "name": names.rest_api_service(args.deployment_name),
                "annotations": secret_names.apply(
                    lambda v: exposure.rest_mtls_ingress_annotations(
                        namespace=args.namespace,
                        deployment=args.deployment_name,
                        client_ca_secret=v[0],
                        upstream_ca_secret=v[1],
                        common_names=list(v[3]),
                        protocol=args.protocol,
                        key_algorithm=args.key.algorithm,
                        max_body_size=args.max_body_size,
                    )
                ),
            },
            spec=secret_names.apply(
                lambda v: exposure.rest_mtls_ingress_spec(
                    deployment=args.deployment_name,
                    host=args.host,
                    ingress_class=args.ingress_class,
                    tls_secret=v[2],
                )
            ),
            opts=child,
        )
        return pulumi.Output.from_input(f"https://{args.host}/")


def _ca_secret(
    name: str, ca_pem: pulumi.Input[str], metadata: dict, opts: pulumi.ResourceOptions
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
    name: str, args: RestMTLSIngressArgs, metadata: dict, opts: pulumi.ResourceOptions
) -> k8s.core.v1.Secret:
    """ingress-nginx's `proxy-ssl-secret`: Flink's CA (`ca.crt`), and under REST mTLS the client
    certificate the controller presents to Flink (`tls.crt`, `tls.key`)."""
    if args.upstream_identity is None:
        return _ca_secret(name, args.flink_rest_ca_pem, metadata, opts)
    cert_pem, key_pem = args.upstream_identity
    return identity_secret(
        name,
        cert_pem=cert_pem,
        ca_pem=args.flink_rest_ca_pem,
        key_pem=key_pem,
        secret_type="Opaque",
        metadata=metadata,
        opts=opts,
    )
