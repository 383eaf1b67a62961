"""SecureFlinkUI: a hardened nginx proxy with basic auth and TLS in front of a Flink Web UI and REST API."""

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.certificate_authority import CertificateAuthority
from components.pki import server_certificate
from components.render import exposure, names, tls_material
from components.render.htpasswd import SALT_LENGTH, HashScheme, htpasswd_file, htpasswd_line
from components.render.nginx import ProxyConfig, nginx_conf
from components.render.proxy_workload import ProxyWorkload, proxy_deployment_spec, proxy_labels, proxy_service_spec
from components.render.tls_policy import CertificateLifetime, KeySpec

TYPE = "secureflink:index:SecureFlinkUI"
GENERATED_PASSWORD_LENGTH = 32
PROXY_WORKERS = 2


@dataclass(frozen=True, kw_only=True)
class ProxyUser:
    name: str
    password: pulumi.Input[str] | None = field(default=None, repr=False)
    """A password the user chose (pass it secret); None: the component generates one."""


@dataclass(frozen=True, kw_only=True)
class SecureFlinkUIArgs:
    deployment_name: str
    namespace: str
    ca: CertificateAuthority
    """Signs the proxy's certificate; clients (browsers, routers, ingress controllers) trust it."""
    flink_rest_ca_pem: pulumi.Input[str]
    """The CA of Flink's REST certificate: the proxy refuses an upstream it does not sign."""
    users: Sequence[ProxyUser]
    hash_scheme: HashScheme
    exposure: exposure.Exposure
    host: str | None
    """Public host of the UI; None: Route host assigned by OpenShift, or an Ingress without host."""
    route_termination: exposure.Termination
    ingress_class: str
    max_body_size: str
    image: str
    assign_uid: bool
    """Kubernetes: run as a fixed high UID. OpenShift: leave the UID to the restricted SCC."""
    key: KeySpec
    lifetime: CertificateLifetime
    rotation: str
    upstream: Sequence[pulumi.Resource] = ()
    """What serves the REST Service (the FlinkDeployment): nginx resolves the upstream name once, at
    start, so the proxy pods are created only after it is ready."""


class SecureFlinkUI(pulumi.ComponentResource):
    """Creates, for one FlinkDeployment: the proxy's key and CA-signed certificate, per-user salts and
    generated passwords, the htpasswd Secret, the TLS Secret, the nginx ConfigMap, a hardened
    Deployment, a Service on 8443, and a Route or an Ingress.

    The ConfigMap and Secrets are auto-named: when the configuration, a password or the
    certificate changes they are replaced under new names, the Deployment follows and its pods roll.
    """

    url: pulumi.Output[str]
    """Where a browser opens the UI."""
    user_names: list[str]
    generated_passwords: pulumi.Output[dict[str, str]]
    """User -> generated password, for users without a configured one (secret)."""
    service: k8s.core.v1.Service

    def __init__(self, name: str, args: SecureFlinkUIArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = proxy_labels(args.deployment_name)
        metadata = {"namespace": args.namespace, "labels": labels}
        tls_secret = self._tls_secret(name, args, metadata, child)
        passwords = self._passwords(name, args, child)
        htpasswd = k8s.core.v1.Secret(
            f"{name}-htpasswd",
            metadata=metadata,
            type="Opaque",
            data=self._htpasswd(name, args, passwords, child),
            opts=child,
        )
        config = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=metadata,
            data={
                names.NGINX_CONF_FILE: nginx_conf(_proxy_config(args)),
                names.UPSTREAM_CA_FILE: args.flink_rest_ca_pem,
            },
            opts=child,
        )
        workload = pulumi.Output.all(config.metadata.name, tls_secret.metadata.name, htpasswd.metadata.name).apply(
            lambda n: proxy_deployment_spec(
                ProxyWorkload(
                    deployment=args.deployment_name,
                    image=args.image,
                    config_map=n[0],
                    tls_secret=n[1],
                    htpasswd_secret=n[2],
                    assign_uid=args.assign_uid,
                )
            )
        )
        k8s.apps.v1.Deployment(
            f"{name}-proxy",
            metadata=metadata,
            spec=workload,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.upstream)),
        )
        service_name = names.ui_service(args.deployment_name)
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={**metadata, "name": service_name},
            spec=proxy_service_spec(args.deployment_name),
            opts=child,
        )
        self.url = self._expose(name, args, service_name, tls_secret, metadata, child)
        self.user_names = [user.name for user in args.users]
        generated = {user.name: passwords[user.name] for user in args.users if user.password is None}
        self.generated_passwords = pulumi.Output.secret(pulumi.Output.from_input(generated))
        self.register_outputs({"url": self.url, "generated_passwords": self.generated_passwords})

    @staticmethod
    def _tls_secret(name: str, args: SecureFlinkUIArgs, metadata: dict, child: pulumi.ResourceOptions):
        key, cert = server_certificate(
            f"{name}-tls",
            key_spec=args.key,
            rotation=args.rotation,
            dns_names=names.ui_dns_names(args.deployment_name, args.namespace, args.host),
            ca_cert_pem=args.ca.cert_pem,
            ca_private_key_pem=args.ca.private_key_pem,
            lifetime=args.lifetime,
            opts=child,
        )
        return k8s.core.v1.Secret(
            f"{name}-tls",
            metadata=metadata,
            type="kubernetes.io/tls",
            data=pulumi.Output.all(cert.cert_pem, args.ca.cert_pem, key.private_key_pem).apply(
                lambda v: tls_material.tls_secret_files(cert_pem=v[0], ca_pem=v[1], key_pem=v[2])
            ),
            opts=child,
        )

    @staticmethod
    def _passwords(name: str, args: SecureFlinkUIArgs, child: pulumi.ResourceOptions) -> dict[str, pulumi.Output]:
        passwords = {}
        for user in args.users:
            if user.password is not None:
                passwords[user.name] = pulumi.Output.secret(user.password)
                continue
            generated = random.RandomPassword(
                f"{name}-password-{user.name}",
                length=GENERATED_PASSWORD_LENGTH,
                special=False,
                keepers={"rotation": args.rotation},
                opts=child,
            )
            passwords[user.name] = generated.result
        return passwords

    @staticmethod
    def _htpasswd(
        name: str, args: SecureFlinkUIArgs, passwords: dict[str, pulumi.Output], child: pulumi.ResourceOptions
    ) -> pulumi.Output[dict[str, str]]:
        # Salts live in state (pulumi-random), so the same password hashes to the same line on every run.
        salts = [
            random.RandomString(
                f"{name}-salt-{user.name}",
                length=SALT_LENGTH,
                special=False,
                keepers={"rotation": args.rotation},
                opts=child,
            ).result
            for user in args.users
        ]
        users = [user.name for user in args.users]
        return pulumi.Output.all(pulumi.Output.all(*[passwords[u] for u in users]), pulumi.Output.all(*salts)).apply(
            lambda v: {
                names.HTPASSWD_FILE: tls_material.b64(
                    htpasswd_file(
                        htpasswd_line(user, password, salt=salt, scheme=args.hash_scheme)
                        for user, password, salt in zip(users, v[0], v[1], strict=True)
                    )
                )
            }
        )

    @staticmethod
    def _expose(
        name: str,
        args: SecureFlinkUIArgs,
        service_name: str,
        tls_secret: k8s.core.v1.Secret,
        metadata: dict,
        child: pulumi.ResourceOptions,
    ) -> pulumi.Output[str]:
        prefix = names.ui_path_prefix(args.deployment_name, args.host)
        if args.exposure is exposure.Exposure.ROUTE:
            route = k8s.apiextensions.CustomResource(
                f"{name}-route",
                api_version=exposure.ROUTE_API_VERSION,
                kind="Route",
                metadata={**metadata, "name": service_name},
                spec=pulumi.Output.from_input(args.ca.cert_pem).apply(
                    lambda ca: exposure.route_spec(
                        deployment=args.deployment_name, host=args.host, termination=args.route_termination, ca_pem=ca
                    )
                ),
                opts=child,
            )
            # OpenShift writes the host it assigned back into spec.host.
            return route.spec.apply(lambda spec: f"https://{(spec or {}).get('host', '<route host>')}{prefix}")
        ingress = k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata={
                **metadata,
                "name": service_name,
                "annotations": tls_secret.metadata.name.apply(
                    lambda secret: exposure.ingress_annotations(
                        namespace=args.namespace,
                        deployment=args.deployment_name,
                        tls_secret=secret,
                        max_body_size=args.max_body_size,
                    )
                ),
            },
            spec=tls_secret.metadata.name.apply(
                lambda secret: exposure.ingress_spec(
                    deployment=args.deployment_name, host=args.host, ingress_class=args.ingress_class, tls_secret=secret
                )
            ),
            opts=child,
        )
        if args.host:
            return pulumi.Output.from_input(f"https://{args.host}{prefix}")
        return ingress.status.apply(lambda status: f"https://{_ingress_address(status)}{prefix}")


def _ingress_address(status: object) -> str:
    balancer = getattr(status, "load_balancer", None)
    points = getattr(balancer, "ingress", None) or []
    for point in points:
        address = getattr(point, "ip", None) or getattr(point, "hostname", None)
        if address:
            return address
    return "<ingress address>"


def _proxy_config(args: SecureFlinkUIArgs) -> ProxyConfig:
    upstream = names.rest_service_host(args.deployment_name, args.namespace)
    return ProxyConfig(
        listen_port=names.PROXY_PORT,
        server_certificate=f"{names.PROXY_TLS_MOUNT}/tls.crt",
        server_key=f"{names.PROXY_TLS_MOUNT}/tls.key",
        upstream_host=upstream,
        upstream_port=names.REST_PORT,
        upstream_server_name=upstream,
        upstream_trusted_ca=f"{names.PROXY_CONFIG_MOUNT}/{names.UPSTREAM_CA_FILE}",
        htpasswd_file=f"{names.PROXY_AUTH_MOUNT}/{names.HTPASSWD_FILE}",
        max_body_size=args.max_body_size,
        path_prefix=names.ui_path_prefix(args.deployment_name, args.host),
        health_path=names.HEALTH_PATH,
        temp_dir=names.PROXY_TEMP_DIR,
        # "auto" would count the node's CPUs, not the pod's limit; each worker keeps its own upstream pool.
        worker_processes=PROXY_WORKERS,
    )
