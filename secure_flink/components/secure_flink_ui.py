"""SecureFlinkUI: a hardened nginx proxy with basic auth and TLS in front of a Flink Web UI and REST API."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import pulumi
import pulumi_random as random

from secure_flink.components.certificate_authority import CertificateAuthority
from secure_flink.components.flink_rest_proxy import (
    BasicAuth,
    FlinkRestProxy,
    FlinkRestProxyArgs,
    FlinkUpstream,
    PublicEndpoint,
    SsoAuth,
)
from secure_flink.components.single_sign_on import SignOn, SingleSignOn, SingleSignOnArgs
from secure_flink.domain import exposure, names
from secure_flink.domain.htpasswd import (
    SALT_LENGTH,
    HashScheme,
    free_username,
    htpasswd_file,
    htpasswd_line,
    is_username,
    password_problems,
    username_problem,
)
from secure_flink.domain.platform_profile import UI_PROXY, PlatformProfile
from secure_flink.domain.problems import ArgumentChecks
from secure_flink.domain.proxy_workload import ProxyOptions
from secure_flink.domain.roles import DEFAULT_ROLE, Role

TYPE = "secureflink:index:SecureFlinkUI"
GENERATED_PASSWORD_LENGTH = 32


@dataclass(frozen=True, kw_only=True)
class ProxyUser:
    name: str
    role: Role = DEFAULT_ROLE
    """What the user may do through the proxy (secure_flink/domain/roles.py)."""
    password: pulumi.Input[str] | None = field(default=None, repr=False)
    """A password the user chose (pass it secret); None: the component generates one."""


@dataclass(frozen=True, kw_only=True)
class SecureFlinkUIArgs:
    upstream: FlinkUpstream
    """The deployment whose UI this is; `identity` is the UI proxy's under REST mTLS."""
    issuer: CertificateAuthority
    """Signs the proxy's certificate; clients (browsers, routers, ingress controllers) trust it. Its policy also
    rotates the generated passwords and salts."""
    users: Sequence[ProxyUser]
    hash_scheme: HashScheme
    host: str | None
    """Public host of the UI; None: Route host assigned by OpenShift, or an Ingress without host."""
    route_termination: exposure.Termination
    profile: PlatformProfile
    options: ProxyOptions
    sign_on: SignOn | None = None
    """Single sign-on at an OIDC provider instead of basic auth (then `users` is empty, and `host` is required:
    the provider sends browsers back to it)."""

    def __post_init__(self) -> None:
        checks = ArgumentChecks(self)
        if self.sign_on is not None:
            if self.users:
                checks.check("users", [u.name for u in self.users], "must be empty with sign_on", "users=[]")
            if self.host is None:
                checks.check("host", None, "is required with sign_on", "host='etl.flink.example.com'")
        elif not self.users:
            checks.check("users", [], "must name at least one user", "users=[ProxyUser(name='admin')]")
        user_names = [user.name for user in self.users]
        fixed = names.unique_names(user_names, valid=is_username, free=free_username)
        for index, user in enumerate(self.users):
            field = f"users[{index}]"
            checks.check(f"{field}.name", user.name, username_problem(user.name), f"{field}.name='{fixed[index]}'")
            if user_names.index(user.name) != index:
                checks.check(f"{field}.name", user.name, "is listed twice", f"{field}.name='{fixed[index]}'")
            # A password known only later (an Output) is checked by whoever made it; a plain one here.
            if isinstance(user.password, str) and (weak := password_problems(user.name, user.password)):
                fix = f"a stronger {field}.password, or none: the component generates one"
                checks.check(f"{field}.password", "[secret]", "is too weak: " + " ".join(weak), fix)
        if self.host is not None:
            checks.check("host", self.host, names.host_problem(self.host), "host='etl.flink.example.com'")
        checks.raise_any()


class SecureFlinkUI(pulumi.ComponentResource):
    """Creates, for one FlinkDeployment: per-user salts and generated passwords, the htpasswd, and a
    FlinkRestProxy in basic-auth mode (certificate, Secrets, nginx ConfigMap, hardened Deployment,
    Service on 8443, Route or Ingress) serving the Web UI and the REST API. With `sign_on`: a SingleSignOn
    (oauth2-proxy) and the FlinkRestProxy in sign-on mode instead.
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
                upstream=args.upstream,
                role=UI_PROXY,
                service_name=names.ui_service(args.upstream.deployment_name),
                auth=self._auth(name, args, passwords, child),
                issuer=args.issuer,
                endpoint=PublicEndpoint(
                    host=args.host,
                    path_prefix=names.ui_path_prefix(args.upstream.deployment_name, args.host),
                    route_termination=args.route_termination,
                ),
                profile=args.profile,
                options=args.options,
            ),
            opts=child,
        )
        self.url = self.proxy.url
        self.user_names = [user.name for user in args.users]
        generated = {user.name: passwords[user.name] for user in args.users if user.password is None}
        # from_input resolves the Outputs a dict holds, which its signature cannot say: the value is dict[str, str].
        self.generated_passwords = pulumi.Output.secret(
            cast(pulumi.Output[dict[str, str]], pulumi.Output.from_input(generated))
        )
        self.register_outputs({"url": self.url, "generated_passwords": self.generated_passwords})

    @classmethod
    def _auth(
        cls, name: str, args: SecureFlinkUIArgs, passwords: dict[str, pulumi.Output[str]], child: pulumi.ResourceOptions
    ) -> BasicAuth | SsoAuth:
        if args.sign_on is None:
            return BasicAuth(
                htpasswd=cls._htpasswd(name, args, passwords, child),
                roles=tuple((user.name, user.role) for user in args.users),
            )
        upstream = args.upstream
        sso = SingleSignOn(
            f"{name}-sso",
            SingleSignOnArgs(
                deployment_name=upstream.deployment_name,
                namespace=upstream.namespace,
                ui_url=f"https://{args.host}{names.ui_path_prefix(upstream.deployment_name, args.host)}",
                sign_on=args.sign_on,
                issuer=args.issuer,
                profile=args.profile,
            ),
            opts=child,
        )
        return SsoAuth(host=sso.host, port=sso.port, labels=sso.labels, group_roles=args.sign_on.group_roles)

    @staticmethod
    def _passwords(name: str, args: SecureFlinkUIArgs, child: pulumi.ResourceOptions) -> dict[str, pulumi.Output[str]]:
        passwords: dict[str, pulumi.Output[str]] = {}
        for user in args.users:
            if user.password is not None:
                passwords[user.name] = pulumi.Output.secret(user.password)
                continue
            generated = random.RandomPassword(
                f"{name}-password-{user.name}",
                length=GENERATED_PASSWORD_LENGTH,
                special=False,
                keepers=args.issuer.policy.keepers,
                opts=child,
            )
            passwords[user.name] = generated.result
        return passwords

    @staticmethod
    def _htpasswd(
        name: str, args: SecureFlinkUIArgs, passwords: dict[str, pulumi.Output[str]], child: pulumi.ResourceOptions
    ) -> pulumi.Output[str]:
        # Salts live in state (pulumi-random), so the same password hashes to the same line on every run.
        salts = [
            random.RandomString(
                f"{name}-salt-{user.name}",
                length=SALT_LENGTH,
                special=False,
                keepers=args.issuer.policy.keepers,
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
