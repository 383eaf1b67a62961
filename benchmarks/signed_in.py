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
from tests.conftest import OIDC, StackRunner
from tests.integration.software.local_nginx import LOOPBACK, free_port, scratch_dir
from tests.integration.software.local_oidc import (
    CLIENT_ID,
    Browser,
    IdpUser,
    LocalDex,
    OAuthClient,
    idp_binaries,
    loopback_tls,
)
from tests.integration.software.sso_chain import oidc_overrides, running_sign_on_proxies

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
    host = names.ui_host(deployment, OIDC["domain"])
    port = free_port()
    with ExitStack() as running:
        workdir = running.enter_context(scratch_dir())
        dex_tls = loopback_tls(workdir)
        client = OAuthClient(CLIENT_ID, secrets.token_urlsafe(24), (f"https://{host}:{port}/oauth2/callback",))
        dex = running.enter_context(LocalDex(idp_binaries() / "dex", workdir, dex_tls, (USER,), client))
        rendered = runner.up(**oidc_overrides(dex.issuer, dex_tls.ca_file, client))
        proxies = running.enter_context(
            running_sign_on_proxies(
                rendered,
                deployment,
                runner.values["namespace"],
                workdir,
                nginx=nginx,
                proxy_port=port,
                public_port=port,
                upstream_port=rest_port,
            )
        )
        browser = Browser(proxies.stack_ca, dex_tls.ca_file, hosts=(host,))
        hops = browser.login(f"https://{host}:{port}/oauth2/start?rd=/", USER.email, USER.password)
        cookie = browser.cookie(proxies.cookie_name)
        if cookie is None or cookie.value is None:
            raise RuntimeError(f"no session cookie after signing in: {[(hop.method, hop.status) for hop in hops]}")
        sso, proxy = proxies.oauth2_proxy, proxies.proxy
        assert proxy.process is not None and sso.process is not None and dex.process is not None
        yield RunningProxy(
            url=f"https://{LOOPBACK}:{port}/overview",
            headers=(f"Host: {host}", f"Cookie: {proxies.cookie_name}={cookie.value}"),
            sessions={"nginx": proxy.process.pid, "oauth2-proxy": sso.process.pid, "Dex": dex.process.pid},
        )
