"""SecureFlinkUI: a hardened nginx proxy with basic auth and TLS in front of a Flink Web UI and REST API."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_random as random

from secure_flink.components.certificate_authority import CertificateAuthority
from secure_flink.components.flink_rest_proxy import BasicAuth, FlinkRestProxy, FlinkRestProxyArgs
from secure_flink.domain import exposure, names
from secure_flink.domain.htpasswd import SALT_LENGTH, HashScheme, htpasswd_file, htpasswd_line
from secure_flink.domain.tls_policy import CertificateLifetime, KeySpec

TYPE = "secureflink:index:SecureFlinkUI"
GENERATED_PASSWORD_LENGTH = 32
ROLE = "ui-proxy"


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
    proxy_callers: Sequence[Mapping[str, object]]
    """NetworkPolicy peers that forward outside traffic to the proxy (routers, the ingress controller)."""
    upstream: Sequence[pulumi.Resource] = ()
    """What serves the REST Service (the FlinkDeployment); the proxy starts after it."""
    upstream_identity: tuple[pulumi.Input[str], pulumi.Input[str]] | None = None
    """(certificate, key) the proxy presents to Flink under REST mTLS."""


class SecureFlinkUI(pulumi.ComponentResource):
    """Creates, for one FlinkDeployment: per-user salts and generated passwords, the htpasswd, and a
    FlinkRestProxy in basic-auth mode (certificate, Secrets, nginx ConfigMap, hardened Deployment,
    Service on 8443, Route or Ingress) serving the Web UI and the REST API.
    """

    url: pulumi.Output[str]
    """Where a browser opens the UI."""
    user_names: list[str]
    generated_passwords: pulumi.Output[dict[str, str]]
    """User -> generated password, for users without a configured one (secret)."""
    proxy: FlinkRestProxy

    def __init__(self, name: str, args: SecureFlinkUIArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        passwords = self._passwords(name, args, child)
        self.proxy = FlinkRestProxy(
            f"{name}-proxy",
            FlinkRestProxyArgs(
                deployment_name=args.deployment_name,
                namespace=args.namespace,
                role=ROLE,
                service_name=names.ui_service(args.deployment_name),
                auth=BasicAuth(htpasswd=self._htpasswd(name, args, passwords, child)),
                ca=args.ca,
                flink_rest_ca_pem=args.flink_rest_ca_pem,
                callers=args.proxy_callers,
                exposure=args.exposure,
                host=args.host,
                path_prefix=names.ui_path_prefix(args.deployment_name, args.host),
                route_termination=args.route_termination,
                ingress_class=args.ingress_class,
                max_body_size=args.max_body_size,
                image=args.image,
                assign_uid=args.assign_uid,
                key=args.key,
                lifetime=args.lifetime,
                rotation=args.rotation,
                upstream=args.upstream,
                upstream_identity=args.upstream_identity,
            ),
            opts=child,
        )
        self.url = self.proxy.url
        self.user_names = [user.name for user in args.users]
        generated = {user.name: passwords[user.name] for user in args.users if user.password is None}
        self.generated_passwords = pulumi.Output.secret(pulumi.Output.from_input(generated))
        self.register_outputs({"url": self.url, "generated_passwords": self.generated_passwords})

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
    ) -> pulumi.Output[str]:
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
        return pulumi.Output.secret(
            pulumi.Output.all(pulumi.Output.all(*[passwords[u] for u in users]), pulumi.Output.all(*salts)).apply(
                lambda v: htpasswd_file(
                    htpasswd_line(user, password, salt=salt, scheme=args.hash_scheme)
                    for user, password, salt in zip(users, v[0], v[1], strict=True)
                )
            )
        )
