"""Single sign-on to the `adhoc` Web UI on 127.0.0.1, from one render of the dev stack pointed at a local Dex.

Dex (password users in groups, its own throw-away CA) is the identity provider; the stack is rendered with Dex's
issuer, CA and client (`oidcIssuerUrl`, `oidcCaCertificate`, `oidcClientId`, `oidcClientSecret`). Then, as in a
cluster: the `adhoc` Flink session cluster, the rendered oauth2-proxy (the real binary with the rendered pod's
arguments and files), the rendered UI proxy (real nginx), and nginx as ingress-nginx configures itself from the
rendered UI Ingress in front. A browser reaches the UI by its host name on the controller's port, the public port
(which the callback URL carries); Dex by 127.0.0.1. Every process's log is kept, for the tests to search.
"""

import secrets
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offline.engine import RunResult
from secure_flink.domain import names
from secure_flink.domain.sso_workload import service_host
from tests.conftest import OIDC, StackRunner, require_tool
from tests.integration.software.https_client import exchange, request_bytes
from tests.integration.software.local_flink import require_flink
from tests.integration.software.local_nginx import LOOPBACK, LocalNginx, free_port, scratch_dir
from tests.integration.software.local_oidc import (
    CLIENT_ID,
    Browser,
    IdpUser,
    LocalDex,
    OAuthClient,
    RenderedOAuth2Proxy,
    idp_binaries,
    loopback_tls,
)
from tests.integration.software.proxy_from_render import local_proxy_conf, local_sso_arguments
from tests.integration.software.rest_gateway import running_controller, secrets_by_name
from tests.integration.software.session_cluster import SessionCluster, running_session_cluster

DEPLOYMENT = "adhoc"
UI_HOST = names.ui_host(DEPLOYMENT, OIDC["domain"])
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
# The UI proxy's access log is buffered and flushed every second (nginx.py ACCESS_LOG_FLUSH).
LOG_FLUSH_SECONDS = 10


@dataclass(frozen=True)
class SsoChain:
    """The running chain: where the UI is, what to trust, the Flink behind it (asked directly, to see what really
    happened), each process (for its log), and every secret they were given."""

    url: str
    """The UI, `https://<host>:<public port>/`."""
    host: str
    port: int
    """The controller's: the public port."""
    stack_ca: Path
    """The stack's CA: it signed the UI's certificate."""
    dex_ca: Path
    cookie_name: str
    flink: SessionCluster
    dex: LocalDex
    oauth2_proxy: RenderedOAuth2Proxy
    proxy: LocalNginx
    controller: LocalNginx
    secrets: dict[str, str]
    """Every secret the chain holds, by what it is: the client secret, the cookie secret, the users' passwords."""

    def browser(self) -> Browser:
        """A fresh stdlib browser: trusts the stack's CA and Dex's, reaches the UI's host on 127.0.0.1."""
        return Browser(self.stack_ca, self.dex_ca, hosts=(self.host,))

    def call(
        self,
        method: str,
        path: str,
        *,
        session: str | None = None,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request to the UI's host on the public port, with the session cookie `session` if given: the
        status, the headers (lower-case names) and the body. The path is sent as written."""
        headers = dict(headers or {})
        if session is not None:
            headers["Cookie"] = f"{self.cookie_name}={session}"
        request = request_bytes(method, path, self.host, body, headers)
        return exchange(self.port, self.stack_ca, self.host, request, timeout=60)

    def logs(self) -> dict[str, str]:
        """Every log of the chain, by whose it is; first waits (bounded) until the UI proxy's buffered access log
        holds a request made now, so that it holds every request before it too."""
        marker = f"log-marker-{uuid.uuid4().hex}"
        self.call("GET", "/", headers={"User-Agent": marker})
        deadline = time.monotonic() + LOG_FLUSH_SECONDS
        while marker not in self.proxy.access_log():
            assert time.monotonic() < deadline, f"the UI proxy logged no request in {LOG_FLUSH_SECONDS} s"
            time.sleep(0.2)
        return {
            "controller access log": (self.controller.workdir / "access.log").read_text(errors="replace"),
            "controller error log": self.controller.error_log(),
            "UI proxy access log": self.proxy.access_log(),
            "UI proxy error log": self.proxy.error_log(),
            "oauth2-proxy log": self.oauth2_proxy.log(),
            "Dex log": self.dex.log(),
        }


def oidc_overrides(issuer: str, ca_file: Path, client: OAuthClient) -> dict[str, Any]:
    """The stack's single sign-on at the local Dex: conftest's OIDC with Dex's issuer, CA, client and address."""
    dex_port = urllib.parse.urlsplit(issuer).port
    return {
        **OIDC,
        "oidcIssuerUrl": issuer,
        "oidcCaCertificate": ca_file.read_text(),
        "oidcClientId": client.client_id,
        "oidcClientSecret": client.secret,
        "oidcEgress": [{"cidr": f"{LOOPBACK}/32", "ports": [dex_port]}],
    }


def ui_ingress(rendered: RunResult, suffix: str = "") -> dict[str, Any]:
    """The UI's Ingress; with `suffix` "-sso-callback", the one for the sign-on callback alone."""
    service = names.ui_service(DEPLOYMENT) + suffix
    (ingress,) = [r for r in rendered.by_type(INGRESS) if r.outputs["metadata"]["name"] == service]
    return dict(ingress.outputs)


@contextmanager
def running_sso_chain(users: Sequence[IdpUser], workdir: Path) -> Iterator[SsoChain]:
    """Dex with `users`, the stack rendered for it, and the chain above, each started once and stopped at exit;
    files and logs under `workdir`."""
    binaries = idp_binaries()
    require_flink("the Web UI signed in to is Flink's own, served by a real session cluster")
    nginx = require_tool("nginx", "single sign-on is enforced by the real UI proxy, behind nginx as ingress-nginx")
    public_port, proxy_port = free_port(), free_port()
    dex_tls = loopback_tls(workdir)
    callback = f"https://{UI_HOST}:{public_port}/oauth2/callback"
    client = OAuthClient(CLIENT_ID, secrets.token_urlsafe(24), (callback,))
    dex = LocalDex(binaries / "dex", workdir, dex_tls, users, client)
    rendered = StackRunner("dev").up(**oidc_overrides(dex.issuer, dex_tls.ca_file, client))
    ingress = ui_ingress(rendered)
    with ExitStack() as running:
        running.enter_context(dex)
        flink = running.enter_context(running_session_cluster(rendered, DEPLOYMENT, workdir))
        proxies = running.enter_context(
            running_sign_on_proxies(
                rendered,
                DEPLOYMENT,
                ingress["metadata"]["namespace"],
                workdir,
                nginx=nginx,
                proxy_port=proxy_port,
                public_port=public_port,
                upstream_port=flink.cluster.rest_port,
            )
        )
        controller = running.enter_context(
            running_controller(
                ingress,
                secrets_by_name(rendered),
                proxy_port,
                listen_port=public_port,
                also=[ui_ingress(rendered, "-sso-callback")],
            )
        )
        yield SsoChain(
            url=f"https://{UI_HOST}:{public_port}/",
            host=UI_HOST,
            port=public_port,
            stack_ca=proxies.stack_ca,
            dex_ca=dex_tls.ca_file,
            cookie_name=proxies.cookie_name,
            flink=flink,
            dex=dex,
            oauth2_proxy=proxies.oauth2_proxy,
            proxy=proxies.proxy,
            controller=controller,
            secrets={
                "client secret": client.secret,
                "cookie secret": Path(_argument(proxies.arguments, "--cookie-secret-file")).read_text(),
                **{f"password of {user.email}": user.password for user in users},
            },
        )
        assert "emerg" not in proxies.proxy.error_log()


@dataclass(frozen=True)
class SignOnProxies:
    """A signed-on stack's oauth2-proxy and UI proxy, running on 127.0.0.1."""

    oauth2_proxy: RenderedOAuth2Proxy
    proxy: LocalNginx
    arguments: list[str]
    """oauth2-proxy's rendered arguments, the pod's files laid out under the work directory."""
    stack_ca: Path
    """The stack's CA: it signed both proxies' certificates."""

    @property
    def cookie_name(self) -> str:
        return _argument(self.arguments, "--cookie-name")


@contextmanager
def running_sign_on_proxies(
    rendered: RunResult,
    deployment: str,
    namespace: str,
    workdir: Path,
    *,
    nginx: str,
    proxy_port: int,
    public_port: int,
    upstream_port: int,
) -> Iterator[SignOnProxies]:
    """`deployment`'s oauth2-proxy and UI proxy from `rendered` (the stack signed on at a local Dex): the UI proxy on
    `proxy_port`, forwarding to Flink's REST API on `upstream_port`, and browsers sent back to `public_port` after
    signing in; files and logs under `workdir`, both stopped at exit."""
    sso_port = free_port()
    stack_ca = workdir / "stack-ca.crt"
    stack_ca.write_text(rendered.outputs["caCertificate"])
    component = names.ui_service(deployment)
    arguments = local_sso_arguments(
        rendered, component, workdir / "oauth2-proxy-pod", listen_port=sso_port, public_port=public_port
    )
    with ExitStack() as running:
        sso = running.enter_context(
            RenderedOAuth2Proxy(
                idp_binaries() / "oauth2-proxy",
                workdir,
                arguments,
                port=sso_port,
                server_name=service_host(deployment, namespace),
                ca_file=stack_ca,
            )
        )
        proxy_root = running.enter_context(scratch_dir())
        conf = local_proxy_conf(
            rendered, component, proxy_root, listen_port=proxy_port, upstream_port=upstream_port, sso_port=sso_port
        )
        proxy = running.enter_context(LocalNginx(nginx, conf, proxy_root, proxy_port))
        yield SignOnProxies(oauth2_proxy=sso, proxy=proxy, arguments=arguments, stack_ca=stack_ca)


def _argument(args: Sequence[str], flag: str) -> str:
    (value,) = [argument.partition("=")[2] for argument in args if argument.partition("=")[0] == flag]
    return value
