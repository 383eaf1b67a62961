"""The benchmark's single-sign-on path: the stack rendered with `uiAuth: oidc` at a local Dex, the UI's oauth2-proxy
and UI proxy on 127.0.0.1, and a session cookie from one real sign-in, which wrk then sends on every request.

The stack is rendered the way the basic-auth runs render it (an OpenShift reencrypt Route in front, which presents
no client certificate, so wrk calls the UI proxy itself), plus Dex's issuer, CA and client
(tests/integration/software/sso_chain.py's oidc_overrides). With a domain the UI is at the root of `adhoc.<domain>`:
the sign-in reaches that name on 127.0.0.1, and wrk sends it as the Host header.
"""

import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from secure_flink.domain import names
from secure_flink.domain.sso_workload import service_host
from tests.conftest import OIDC, StackRunner
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
from tests.integration.software.sso_chain import oidc_overrides

USER = IdpUser("vera@example.com", "vera-Tq8mZ2wK5pX9", ("flink-viewers",))
"""A viewer: GET /overview is a viewer's route."""


@dataclass(frozen=True)
class RunningProxy:
    """A way in, running: where wrk calls it, what it sends, and the sessions (process groups) of its servers
    (nginx; and oauth2-proxy for single sign-on), whose CPU the benchmark counts and whose cores it chooses."""

    url: str
    headers: tuple[str, ...]
    sessions: dict[str, int]


@contextmanager
def signed_in_proxy(runner: StackRunner, deployment: str, nginx: str, rest_port: int) -> Iterator[RunningProxy]:
    """Dex, then `deployment`'s oauth2-proxy and UI proxy (forwarding to Flink's REST API on `rest_port`) from
    `runner`'s stack rendered for single sign-on at that Dex, and USER signed in; everything stopped at exit."""
    binaries = idp_binaries()
    host = f"{deployment}.{OIDC['domain']}"  # the UI's host in a stack with a domain (names.ui_host)
    port, sso_port = free_port(), free_port()
    with ExitStack() as running:
        workdir = running.enter_context(scratch_dir())
        dex_tls = loopback_tls(workdir)
        client = OAuthClient(CLIENT_ID, secrets.token_urlsafe(24), (f"https://{host}:{port}/oauth2/callback",))
        dex = running.enter_context(LocalDex(binaries / "dex", workdir, dex_tls, (USER,), client))
        rendered = runner.up(**oidc_overrides(dex.issuer, dex_tls.ca_file, client))
        stack_ca = workdir / "stack-ca.crt"
        stack_ca.write_text(rendered.outputs["caCertificate"])
        component = names.ui_service(deployment)
        arguments = local_sso_arguments(
            rendered, component, workdir / "oauth2-proxy", listen_port=sso_port, public_port=port
        )
        sso = running.enter_context(
            RenderedOAuth2Proxy(
                binaries / "oauth2-proxy",
                workdir,
                arguments,
                port=sso_port,
                server_name=service_host(deployment, runner.values["namespace"]),
                ca_file=stack_ca,
            )
        )
        proxy_root = running.enter_context(scratch_dir())
        conf = local_proxy_conf(
            rendered, component, proxy_root, listen_port=port, upstream_port=rest_port, sso_port=sso_port
        )
        proxy = running.enter_context(LocalNginx(nginx, conf, proxy_root, port))
        browser = Browser(stack_ca, dex_tls.ca_file, hosts=(host,))
        hops = browser.login(f"https://{host}:{port}/oauth2/start?rd=/", USER.email, USER.password)
        (cookie_name,) = [a.partition("=")[2] for a in arguments if a.startswith("--cookie-name=")]
        cookie = browser.cookie(cookie_name)
        if cookie is None or cookie.value is None:
            raise RuntimeError(f"no session cookie after signing in: {[(hop.method, hop.status) for hop in hops]}")
        assert proxy.process is not None and sso.process is not None
        yield RunningProxy(
            url=f"https://{LOOPBACK}:{port}/overview",
            headers=(f"Host: {host}", f"Cookie: {cookie_name}={cookie.value}"),
            sessions={"nginx": proxy.process.pid, "oauth2-proxy": sso.process.pid, "Dex": dex.process.pid},
        )
