"""oauth2-proxy's command line for single sign-on to the Web UI: an OIDC login whose session nginx checks on every
request (auth_request to `<prefix>oauth2/auth`, answered 202 with the user's email and groups, or 401 / 403).

Written for oauth2-proxy v7.15.6 (idp/oauth2-proxy); every flag below is one of its legacy flags. Secrets never
appear on the command line (a process's arguments are readable by anyone on the node who can list processes):
the client secret and the cookie secret are files, read verbatim, so they must not end in a newline.
"""

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from . import names
from .problems import ArgumentChecks

DEFAULT_SCOPES = ("openid", "email", "profile", "groups")
DEFAULT_GROUPS_CLAIM = "groups"

# One working shift: an operator logs in once per shift. The cookie session store cannot revoke a copied cookie
# (sign-out clears only the browser's copy), so this is also the longest a stolen cookie works.
COOKIE_EXPIRE = "8h"
# The first request on a session older than this renews it at the IdP with the refresh token (new groups, new
# tokens), so a user disabled there or removed from a group loses access within the hour, not at the end of the
# shift. Dex, Okta and Entra ID issue refresh tokens only for the `offline_access` scope; without one each request
# after the first hour checks the ID token instead (and oauth2-proxy logs that it could not refresh), so the
# session ends when the ID token expires.
COOKIE_REFRESH = "1h"
COOKIE_NAME = "flink-sso"
PING_PATH = "/ping"
"""Answered 200 without a session on oauth2-proxy's own port: for probes; not logged (--silence-ping-logging)."""

# pflag reads list flags as CSV and oauth2-proxy joins groups with commas: a comma or quote inside a group name
# would turn it into other groups.
_LIST_ITEM = re.compile(r"^[^\s,\"]+(?: [^\s,\"]+)*$")
_WORD = re.compile(r"^[^\s,\"]+$")
_EMAIL_DOMAIN = re.compile(r"^(\.|\*\.)?(?P<domain>[^*]+)$")


@dataclass(frozen=True, kw_only=True)
class OidcLogin:
    """Who may log in, and where: the OIDC provider, our client there, and the accounts that get a session."""

    issuer_url: str
    """The provider's issuer exactly as its ID tokens' `iss` says it (https). oauth2-proxy reads
    `<issuer>/.well-known/openid-configuration` at start and exits if it cannot."""
    client_id: str
    """Our client's id at the provider; its secret is a file (OAuth2ProxySite.client_secret_file)."""
    allowed_groups: tuple[str, ...] = ()
    """Only members of at least one of these groups get a session (403 at the callback otherwise): the union of
    the groups that have a role. Order and repeats do not matter. Empty: no group check (email_domains must then
    restrict)."""
    email_domains: tuple[str, ...] = ()
    """Only accounts whose email is in one of these domains get a session (`example.com`; `.example.com` for its
    subdomains). Empty: any domain. Checked together with allowed_groups: an account must pass both."""
    groups_claim: str = DEFAULT_GROUPS_CLAIM
    """The ID token claim that lists the user's groups."""
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    """What oauth2-proxy asks the provider for; must include `openid`. Add `offline_access` where the provider
    issues refresh tokens only for it (Dex, Okta, Entra ID), so the hourly refresh re-checks the user."""
    provider_ca_file: str | None = None
    """Absolute path, in the container, of the PEM CA bundle the provider's certificate must chain to (an IdP
    with a private CA); only these CAs are trusted then. None: the system's trust store."""

    def __post_init__(self) -> None:
        unguarded = None if self.allowed_groups or self.email_domains else _UNGUARDED
        ca_problem = None if self.provider_ca_file is None else _path_problem(self.provider_ca_file)
        _raise_problems(
            self,
            ("issuer_url", _https_url_problem(self.issuer_url), "'https://idp.example.com/dex'"),
            ("client_id", _word_problem(self.client_id), "'flink-ui'"),
            ("allowed_groups", _groups_problem(self.allowed_groups) or unguarded, "('flink-viewers',)"),
            ("email_domains", _domains_problem(self.email_domains), "('example.com',)"),
            ("groups_claim", _word_problem(self.groups_claim), f"{DEFAULT_GROUPS_CLAIM!r}"),
            ("scopes", _scopes_problem(self.scopes), f"{DEFAULT_SCOPES!r}"),
            ("provider_ca_file", ca_problem, "'/etc/oauth2-proxy/idp-ca/ca.crt'"),
        )


@dataclass(frozen=True, kw_only=True)
class OAuth2ProxySite:
    """Where oauth2-proxy runs and how browsers reach it: its TLS listener (nginx is its only client), the files it
    reads its secrets from, and the UI's public URL, which gives the callback URL, the paths and the cookie's scope."""

    ui_url: str
    """The UI's public URL with its path prefix, "/" or "/<name>/": `https://flink.example.com/etl/`. oauth2-proxy's
    endpoints live under `<prefix>oauth2/`, and its cookies are sent only for paths under the prefix."""
    https_address: str
    """`<address>:<port>` oauth2-proxy serves HTTPS on (`0.0.0.0:4443`); it serves nothing over plain HTTP."""
    tls_cert_file: str
    """Absolute path of its PEM certificate chain, which nginx verifies."""
    tls_key_file: str
    client_secret_file: str
    """Absolute path of the file holding our client's secret at the provider, without a trailing newline."""
    cookie_secret_file: str
    """Absolute path of the file holding the key that encrypts and signs the session cookie: 32 bytes, raw or
    URL-safe base64, without a trailing newline."""
    trusted_proxies: tuple[str, ...] = ()
    """IP addresses or CIDRs of the nginx proxies, the only callers whose X-Forwarded-* / X-Real-IP headers
    oauth2-proxy believes. Empty: any caller's (oauth2-proxy warns at start); then only a NetworkPolicy keeps
    other callers away."""

    def __post_init__(self) -> None:
        files = ("tls_cert_file", "tls_key_file", "client_secret_file", "cookie_secret_file")
        _raise_problems(
            self,
            ("ui_url", _ui_url_problem(self.ui_url), "'https://flink.example.com/etl/'"),
            ("https_address", _address_problem(self.https_address), "'0.0.0.0:4443'"),
            ("trusted_proxies", _networks_problem(self.trusted_proxies), "('10.128.0.0/14',)"),
            *((f, _path_problem(getattr(self, f)), f"'/etc/oauth2-proxy/{f.removesuffix('_file')}'") for f in files),
        )

    @property
    def path_prefix(self) -> str:
        """Where the UI is served: "/" or "/<name>/"."""
        return urlsplit(self.ui_url).path

    @property
    def proxy_prefix(self) -> str:
        """oauth2-proxy's endpoints: `<prefix>oauth2` (start, callback, auth, sign_out, userinfo)."""
        return f"{self.path_prefix}oauth2"

    @property
    def auth_path(self) -> str:
        """What nginx's auth_request asks: 202 with a session (X-Auth-Request-Email, -Preferred-Username, -Groups:
        comma-separated), 401 without one, 403 for a user in none of `?allowed_groups=a,b`."""
        return f"{self.proxy_prefix}/auth"

    @property
    def start_path(self) -> str:
        """Where a browser without a session is sent; `?rd=<path>` (or nginx's X-Auth-Request-Redirect header) is
        where it lands after the login. Without either oauth2-proxy sends it to `/`, outside a prefix's cookie."""
        return f"{self.proxy_prefix}/start"

    @property
    def sign_out_path(self) -> str:
        """Clears the browser's session cookie, then redirects to `?rd=<path>`, or to `/` without one."""
        return f"{self.proxy_prefix}/sign_out"

    @property
    def redirect_url(self) -> str:
        """The callback the provider sends the browser back to: register exactly this URL with the client."""
        parts = urlsplit(self.ui_url)
        return f"{parts.scheme}://{parts.netloc}{self.proxy_prefix}/callback"

    @property
    def cookie_path(self) -> str:
        """The prefix without its trailing slash, so that `/etl` itself is covered too (and `/etlx` is not)."""
        return self.path_prefix.rstrip("/") or "/"

    @property
    def cookie_name(self) -> str:
        return session_cookie_name(self.path_prefix)


def session_cookie_name(path_prefix: str) -> str:
    """The session cookie's name for the UI at `path_prefix` ("/" or "/<name>/"). `__Host-flink-sso` at the root:
    browsers keep a `__Host-` cookie only if it is Secure, for Path=/ and without a Domain, so a sibling host
    (another app under the same OpenShift apps domain) cannot plant or shadow it. Under a prefix that is impossible
    (Path is the prefix): `__Secure-flink-sso-<name>`, a name per prefix, because a browser sends the root UI's
    cookie along to the prefixed one's paths too."""
    name = path_prefix.strip("/")
    return f"__Host-{COOKIE_NAME}" if not name else f"__Secure-{COOKIE_NAME}-{name}"


def oauth2_proxy_args(login: OidcLogin, site: OAuth2ProxySite) -> tuple[str, ...]:
    """oauth2-proxy's arguments (after the program name), each `--flag=value`, in a fixed order.

    The same inputs always give the same tuple (groups and domains sorted), so a reordered role mapping does not
    roll the pod. No secret is an argument: the two secrets are named by file. The session is a Secure, HttpOnly,
    SameSite=Lax cookie scoped to the UI's prefix (Strict would keep the login's CSRF cookie, which takes the same
    SameSite, from the callback: the provider's redirect to it is a cross-site navigation). The callback's requests
    are not logged: their URL carries the authorization code and state.
    """
    return (
        *_provider_args(login),
        *_listener_args(site),
        *_cookie_args(site),
        "--reverse-proxy=true",
        *(f"--trusted-proxy-ip={network}" for network in site.trusted_proxies),
        "--set-xauthrequest=true",
        "--skip-provider-button=true",
        # Dex shows its consent page on every login for the default `force`, even with skipApprovalScreen.
        "--approval-prompt=auto",
        "--upstream=static://202",
        f"--exclude-logging-path={site.proxy_prefix}/callback",
        "--silence-ping-logging=true",
    )


def _provider_args(login: OidcLogin) -> tuple[str, ...]:
    trust = () if login.provider_ca_file is None else (f"--provider-ca-file={login.provider_ca_file}",)
    domains = sorted({d.lower() for d in login.email_domains}) or ["*"]
    return (
        "--provider=oidc",
        f"--oidc-issuer-url={login.issuer_url}",
        *trust,
        f"--client-id={login.client_id}",
        "--code-challenge-method=S256",
        f"--scope={' '.join(login.scopes)}",
        f"--oidc-groups-claim={login.groups_claim}",
        *(f"--email-domain={domain}" for domain in domains),
        *(f"--allowed-group={group}" for group in sorted(set(login.allowed_groups))),
    )


def _listener_args(site: OAuth2ProxySite) -> tuple[str, ...]:
    # With a certificate oauth2-proxy serves only HTTPS (its --http-address is then ignored).
    return (
        f"--https-address={site.https_address}",
        f"--tls-cert-file={site.tls_cert_file}",
        f"--tls-key-file={site.tls_key_file}",
        "--tls-min-version=TLS1.2",
        f"--client-secret-file={site.client_secret_file}",
        f"--redirect-url={site.redirect_url}",
        f"--proxy-prefix={site.proxy_prefix}",
    )


def _cookie_args(site: OAuth2ProxySite) -> tuple[str, ...]:
    return (
        f"--cookie-name={site.cookie_name}",
        f"--cookie-secret-file={site.cookie_secret_file}",
        f"--cookie-path={site.cookie_path}",
        "--cookie-secure=true",
        "--cookie-httponly=true",
        "--cookie-samesite=lax",
        f"--cookie-expire={COOKIE_EXPIRE}",
        f"--cookie-refresh={COOKIE_REFRESH}",
    )


_UNGUARDED = "with no email_domains either, every account the provider has would get in"


def _raise_problems(args: object, *rules: tuple[str, str | None, str]) -> None:
    """Each (field, problem or None, example value) as a problem of `args`' field, all raised together."""
    checks = ArgumentChecks(args)
    for field, problem, example in rules:
        checks.check(field, getattr(args, field), problem, f"{field}={example}")
    checks.raise_any()


def _https_url_problem(value: object) -> str | None:
    if not isinstance(value, str) or not _WORD.match(value):
        return "must be an https URL without spaces, commas or quotes"
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        return "must be an https URL with a host"
    if parts.query or parts.fragment or "@" in parts.netloc:
        return "must have no query, fragment or user info"
    return None


def _ui_url_problem(value: object) -> str | None:
    problem = _https_url_problem(value)
    if problem is not None or not isinstance(value, str):
        return problem
    path = urlsplit(value).path
    if path != "/" and not (path.startswith("/") and path.endswith("/") and names.is_dns1123_label(path[1:-1])):
        return 'must end in the UI\'s path prefix, "/" or "/<name>/" (a DNS label)'
    return None


def _word_problem(value: object) -> str | None:
    if isinstance(value, str) and _WORD.match(value):
        return None
    return "must be a non-empty string without spaces, commas or quotes"


def _groups_problem(value: object) -> str | None:
    if not isinstance(value, tuple) or not all(isinstance(g, str) and _LIST_ITEM.match(g) for g in value):
        return "must be a tuple of group names, none empty, none with a comma, a quote or surrounding spaces"
    return None


def _domains_problem(value: object) -> str | None:
    if not isinstance(value, tuple):
        return "must be a tuple of email domains"
    for domain in value:
        match = _EMAIL_DOMAIN.match(domain) if isinstance(domain, str) else None
        if match is None or names.host_problem(match["domain"].lower()) is not None:
            return f"{domain!r} is not an email domain (`example.com`, or `.example.com` for its subdomains)"
    return None


def _scopes_problem(value: object) -> str | None:
    if not isinstance(value, tuple) or not all(isinstance(s, str) and _WORD.match(s) for s in value):
        return "must be a tuple of scope names without spaces, commas or quotes"
    if "openid" not in value:
        return "must include `openid`: without it the provider issues no ID token"
    if len(set(value)) != len(value):
        return "must not repeat a scope"
    return None


def _path_problem(value: object) -> str | None:
    if isinstance(value, str) and value.startswith("/") and _WORD.match(value):
        return None
    return "must be an absolute path without spaces, commas or quotes"


def _networks_problem(value: object) -> str | None:
    if not isinstance(value, tuple):
        return "must be a tuple of IP addresses or CIDRs"
    for network in value:
        try:
            ipaddress.ip_network(network)
        except (TypeError, ValueError):
            return f"{network!r} is not an IP address or CIDR (host bits unset)"
    return None


def _address_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return "must be `<address>:<port>`"
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535 or not _WORD.match(host):
        return "must be `<address>:<port>` with a port from 1 to 65535"
    return None
