"""nginx.conf for the proxy in front of Flink's REST endpoint (the Web UI): TLS, client auth, verified TLS upstream.

Built for nginx-unprivileged: an arbitrary non-root UID on a read-only root filesystem, so the pid file
and every temp path live in `temp_dir`. Every field is validated before it is interpolated: no value can
end a directive or open a block.

Two checks, at least one of them on:
- client certificates (`client_ca_file` + `allowed_client_fingerprints`), who may send a request at all: a REST
  client, or the ingress controller in front of the UI. Every location but the health path answers 400 unless
  the caller presented a certificate that verified against `client_ca_file` (nginx itself answers 400 on every
  path, health included, to a certificate that fails verification), then 403 unless the certificate's SHA-1
  fingerprint is on the allow-list. The allow-list exists because a removed client's certificate verifies
  until it expires.
- basic auth (`htpasswd_file`), who the user is: unauthenticated requests see 401 everywhere except the health
  path and, in prefix mode, the `/<name>` -> `/<name>/` redirect (which reveals only the prefix the Route
  already publishes).
Only then is a request served (404 outside the prefix) or proxied, and only if the caller's role (by user name
with basic auth, else by certificate fingerprint) may call the request's route (secure_flink/domain/flink_routes.py):
403 otherwise, and for an operator's or admin's route sent from another site.

Either way the proxy can present its own client certificate to Flink (`upstream_client_certificate`), for a
REST API that itself requires mTLS.
"""

import re
from dataclasses import dataclass, fields
from urllib.parse import quote

from secure_flink.domain import flink_routes
from secure_flink.domain.roles import Role

UPSTREAM = "flink_rest"
UPSTREAM_KEEPALIVE = 32
ACCESS_LOG_BUFFER = "32k"
ACCESS_LOG_FLUSH = "1s"
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
# Mozilla intermediate without the DHE suites: no dhparam file to ship.
CIPHERS = ":".join(
    f"ECDHE-{key}-{cipher}"
    for cipher in ("AES128-GCM-SHA256", "AES256-GCM-SHA384", "CHACHA20-POLY1305")
    for key in ("ECDSA", "RSA")
)

_PATH = re.compile(r"(/[A-Za-z0-9._@+=,-]+)+")
_DNS_NAME = re.compile(r"(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*")
_SIZE = re.compile(r"[1-9][0-9]*[kKmMgG]?")
_PREFIX = re.compile(r"/|/[a-z0-9-]+/")
_URI_PATH = re.compile(r"(/[a-z0-9._-]+)+")
_FINGERPRINT = re.compile(r"[0-9a-f]{40}")
# User names (htpasswd's rule), fingerprints and subject DNs: nothing that could end a map entry.
_CALLER = re.compile(r"[A-Za-z0-9._@=,-]{1,128}")
_COOKIE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SSO_PREFIX = re.compile(r"(/[a-z0-9-]+)?/oauth2")
# IdP group names: no quote, backslash, comma (oauth2-proxy's list separator) or space at either end.
_GROUP = re.compile(r"[^\s\",\\;{}$]+(?: [^\s\",\\;{}$]+)*")
_FILE = "must be an absolute file path of [A-Za-z0-9._@+=,-] segments"
_OPTIONAL_PATHS = ("htpasswd_file", "client_ca_file", "upstream_client_certificate", "upstream_client_key")
# Set by the client-certificate allow-list map; 1 only for a listed fingerprint.
CLIENT_ALLOWED = "$client_allowed"
# The caller's role, the role the request's route needs, and the verdicts the proxying location acts on.
CALLER_ROLE = "$caller_role"
ROUTE_ROLE = "$route_role"
ROLE_REFUSED = "$role_refused"
CROSS_SITE_CHANGE = "$cross_site_change"
ROLE_GATE = "/_secure_flink_role_gate"
SSO_GATE = "/_secure_flink_sso_gate"
SSO_UPSTREAM = "oauth2_proxy"
SSO_USER = "$sso_user"
SSO_GROUPS = "$sso_allowed_groups"
SIGN_IN = "@sso_sign_in"
SESSION_SIGNATURE = "$sso_session_signature"
UNSIGNED_SESSION = "$sso_session_unsigned"
SESSION_CACHE_ZONE = "sso_sessions"
SESSION_CACHE_VALID = "5s"
"""How long oauth2-proxy's yes (202) for a session and a route's groups is reused without asking it again: a UI
page load is some 20 requests and the UI polls every few seconds, and each question costs oauth2-proxy about 0.7 ms
of CPU (it decrypts and decodes the cookie). Also how long past its expiry a session's cookie still works."""
NO_GROUP = "-no-group-holds-this-role-"
SECURITY_HEADERS = (
    'add_header Strict-Transport-Security "max-age=63072000" always;',
    "add_header X-Content-Type-Options nosniff always;",
)
# Headers some frameworks read as the method; Flink reads none, and neither shall anything behind it.
METHOD_OVERRIDE_HEADERS = ("X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override")


@dataclass(frozen=True, kw_only=True)
class SsoGate:
    """Single sign-on through oauth2-proxy (secure_flink/domain/oauth2_proxy.py): its HTTPS endpoint, which the proxy
    verifies, and which IdP groups hold which role. Every request to Flink is an auth_request to it, with the groups
    whose role may call the request's route as `allowed_groups`: 401 (no session) sends the browser to sign in, 403
    (none of the groups) is the answer, and a 202 is kept for SESSION_CACHE_VALID per session and groups."""

    host: str
    """DNS name of oauth2-proxy's Service, also the name its certificate must carry."""
    port: int
    trusted_ca: str
    """Path of the CA PEM that signed oauth2-proxy's certificate."""
    proxy_prefix: str
    """Where oauth2-proxy's endpoints are, `<path_prefix>oauth2` (its `--proxy-prefix`)."""
    group_roles: tuple[tuple[str, Role], ...]
    """Each IdP group that holds a role, and the role; at least one."""
    session_cookie: str
    """oauth2-proxy's cookie name (`--cookie-name`)."""
    session_cache: str
    """Directory for oauth2-proxy's recent answers (SESSION_CACHE_VALID), one small file each; memory-backed."""

    def __post_init__(self) -> None:
        problems = {
            "host": None if isinstance(self.host, str) and _DNS_NAME.fullmatch(self.host) else "must be a DNS name",
            "port": None if type(self.port) is int and 1 <= self.port <= 65535 else "must be from 1 to 65535",
            "trusted_ca": None if isinstance(self.trusted_ca, str) and _PATH.fullmatch(self.trusted_ca) else _FILE,
            "proxy_prefix": None
            if isinstance(self.proxy_prefix, str) and _SSO_PREFIX.fullmatch(self.proxy_prefix)
            else 'must be "/oauth2" or "/<name>/oauth2"',
            "group_roles": _group_roles_problem(self.group_roles),
            "session_cookie": None
            if isinstance(self.session_cookie, str) and _COOKIE_NAME.fullmatch(self.session_cookie)
            else "must be a cookie name of [A-Za-z0-9_-]",
            "session_cache": None
            if isinstance(self.session_cache, str) and _PATH.fullmatch(self.session_cache)
            else _FILE.replace("file", "directory"),
        }
        for name, problem in problems.items():
            if problem is not None:
                raise ValueError(f"SsoGate.{name} {problem}, got {getattr(self, name)!r}")


@dataclass(frozen=True, kw_only=True)
class ProxyConfig:
    """What the proxy serves and where it forwards to; invalid values raise ValueError naming the field."""

    listen_port: int
    """TLS port for clients (IPv4 only: `[::]` fails to bind in a pod without IPv6)."""
    server_certificate: str
    """Path of the PEM chain nginx serves: leaf, then CA."""
    server_key: str
    upstream_host: str
    """DNS name of Flink's REST Service; resolved once, when nginx starts."""
    upstream_port: int
    upstream_server_name: str
    """Name nginx sends as SNI and requires in Flink's REST certificate (one of its SANs)."""
    upstream_trusted_ca: str
    """Path of the CA PEM that signed Flink's REST certificate: the only CA the proxy trusts upstream."""
    htpasswd_file: str | None = None
    """Basic auth: path of the htpasswd file."""
    client_ca_file: str | None = None
    """Client-certificate mode: path of the PEM bundle of the CA(s) that sign client certificates (leaf + CA only)."""
    allowed_client_fingerprints: tuple[str, ...] = ()
    """Client-certificate mode: the admitted certificates, as `$ssl_client_fingerprint` prints them (SHA-1 of the
    DER, 40 lower-case hex digits, no colons); at least one, none twice. Must be empty in basic-auth mode."""
    callers_named_by_gateway: bool = False
    """Behind ingress-nginx that checks the REST clients' certificates itself (`auth-tls-*`): the allowed client
    certificates are then the controller's own, and the caller is the subject DN the controller forwards in the
    `ssl-client-subject-dn` header, trusted because only the controller can connect. caller_roles name subject
    DNs (`CN=...,O=...`)."""
    sso: SsoGate | None = None
    """Single sign-on instead of basic auth or client certificates (the ingress controller's certificate may still
    be required, as with basic auth)."""
    upstream_client_certificate: str | None = None
    """Path of the PEM chain the proxy presents to Flink when Flink's REST API requires client certificates;
    set together with `upstream_client_key`. Independent of the client authentication mode."""
    upstream_client_key: str | None = None
    caller_roles: tuple[tuple[str, Role], ...]
    """Who holds which role (secure_flink/domain/roles.py): with htpasswd_file the users, by name; with
    callers_named_by_gateway the clients' subject DNs; with client certificates alone the allowed fingerprints,
    each exactly once. Every request to Flink is checked against the
    role its route needs (secure_flink/domain/flink_routes.py); a caller without a role may call nothing."""
    max_body_size: str
    """Largest request body, nginx size syntax ("256m"); jar uploads need more than nginx's 1m default."""
    path_prefix: str = "/"
    """Where the UI is served, "/" or "/<name>/"; the prefix is stripped before forwarding."""
    health_path: str = "/healthz"
    """Answered by nginx itself, without auth (no certificate needed) and without calling Flink."""
    temp_dir: str = "/tmp"
    """The only directory nginx writes: pid file and all temp paths."""
    worker_processes: int | None = None
    """None -> "auto" (one per CPU the node has, not per CPU the pod may use)."""

    def __post_init__(self) -> None:
        for field in fields(self):
            problem = _problem(field.name, getattr(self, field.name))
            if problem is not None:
                raise ValueError(f"ProxyConfig.{field.name} {problem}, got {getattr(self, field.name)!r}")
        problem = _combination_problem(self)
        if problem is not None:
            raise ValueError(problem)
        if self.path_prefix != "/" and self.health_path == self.path_prefix.rstrip("/"):
            raise ValueError(f"ProxyConfig.health_path must differ from the prefix redirect, got {self.health_path!r}")


def _problem(name: str, value: object) -> str | None:
    if name in ("listen_port", "upstream_port"):
        ok = type(value) is int and 1 <= value <= 65535
        return None if ok else "must be an integer from 1 to 65535"
    if name == "worker_processes":
        return None if value is None or (type(value) is int and value >= 1) else "must be None or an integer >= 1"
    if name == "sso":
        return None if value is None or isinstance(value, SsoGate) else "must be None or an SsoGate"
    if name == "callers_named_by_gateway":
        return None if type(value) is bool else "must be True or False"
    if name == "allowed_client_fingerprints":
        return _fingerprints_problem(value)
    if name == "caller_roles":
        return _caller_roles_problem(value)
    if name in _OPTIONAL_PATHS and value is None:
        return None
    rules = {
        "upstream_host": (_DNS_NAME, "must be a lower-case DNS name"),
        "upstream_server_name": (_DNS_NAME, "must be a lower-case DNS name"),
        "max_body_size": (_SIZE, "must be an nginx size such as 256m"),
        "path_prefix": (_PREFIX, 'must be "/" or "/<lower-case letters, digits, ->/"'),
        "health_path": (_URI_PATH, "must be an absolute URI path of [a-z0-9._-] segments"),
    }
    pattern, reason = rules.get(name, (_PATH, "must be an absolute file path of [A-Za-z0-9._@+=,-] segments"))
    return None if isinstance(value, str) and pattern.fullmatch(value) else reason


def _group_roles_problem(value: object) -> str | None:
    if not isinstance(value, tuple) or not value:
        return "must be a non-empty tuple of (group, Role) pairs"
    for pair in value:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[1], Role)):
            return "must be a non-empty tuple of (group, Role) pairs"
        if not (isinstance(pair[0], str) and _GROUP.fullmatch(pair[0])):
            return f"{pair[0]!r} is not a group name nginx and oauth2-proxy can carry (no quote, comma, $, ; or brace)"
    groups = [group for group, _ in value]
    return None if len(set(groups)) == len(groups) else "must not list a group twice"


def _fingerprints_problem(value: object) -> str | None:
    if not isinstance(value, tuple) or not all(isinstance(v, str) and _FINGERPRINT.fullmatch(v) for v in value):
        return "must be a tuple of SHA-1 fingerprints, 40 lower-case hex digits without colons"
    # nginx refuses to start on a map that lists a key twice ("conflicting parameter").
    return None if len(set(value)) == len(value) else "must not list a fingerprint twice"


def _caller_roles_problem(value: object) -> str | None:
    if not isinstance(value, tuple) or not all(
        isinstance(v, tuple)
        and len(v) == 2
        and isinstance(v[0], str)
        and _CALLER.fullmatch(v[0])
        and isinstance(v[1], Role)
        for v in value
    ):
        return "must be a tuple of (user name, subject DN or fingerprint, Role) pairs"
    callers = [caller for caller, _ in value]
    return None if len(set(callers)) == len(callers) else "must not list a caller twice"


def _combination_problem(config: ProxyConfig) -> str | None:
    """Why the fields, each valid alone, do not make one authentication mode and one upstream identity."""
    basic, certificates = config.htpasswd_file is not None, config.client_ca_file is not None
    if config.sso is not None:
        if basic or config.callers_named_by_gateway or config.caller_roles:
            return "ProxyConfig.sso takes no htpasswd_file, no callers_named_by_gateway and no caller_roles"
        basic = True  # who the user is comes from the sign-on, as from basic auth
    if not basic and not certificates:
        return "ProxyConfig.htpasswd_file or ProxyConfig.client_ca_file must be set: neither is set"
    if certificates and not config.allowed_client_fingerprints:
        return "ProxyConfig.allowed_client_fingerprints must list at least one fingerprint with client_ca_file"
    if not certificates and config.allowed_client_fingerprints:
        return "ProxyConfig.allowed_client_fingerprints must be empty without client_ca_file"
    if config.callers_named_by_gateway and (basic or not certificates):
        return "ProxyConfig.callers_named_by_gateway needs client_ca_file (the gateway's) and no htpasswd_file"
    if not basic and not config.callers_named_by_gateway:
        holders = {caller for caller, _ in config.caller_roles}
        if holders != set(config.allowed_client_fingerprints):
            return "ProxyConfig.caller_roles must give each of allowed_client_fingerprints a role, and no one else"
    if (config.upstream_client_certificate is None) != (config.upstream_client_key is None):
        missing = "upstream_client_key" if config.upstream_client_key is None else "upstream_client_certificate"
        return f"ProxyConfig.{missing} must be set together with the other upstream client field"
    return None


def nginx_conf(config: ProxyConfig) -> str:
    """The complete nginx.conf (main context, no includes) for `config`."""
    workers = "auto" if config.worker_processes is None else config.worker_processes
    lines = [
        f"worker_processes {workers};",
        f"pid {config.temp_dir}/nginx.pid;",
        "error_log stderr warn;",
        "# Each request runs the route rules, some 80 regular expressions tried in turn; compiled, they take up to a",
        "# quarter fewer instructions per request. With a PCRE library that has no JIT, nginx warns and interprets.",
        "pcre_jit on;",
        *_block("events", ["worker_connections 1024;"]),
        *_block("http", _http(config)),
    ]
    return "\n".join(lines) + "\n"


def _block(header: str, body: list[str]) -> list[str]:
    return [f"{header} {{", *(f"    {line}" for line in body), "}"]


def _http(config: ProxyConfig) -> list[str]:
    return [
        "server_tokens off;",
        "default_type application/octet-stream;",
        *(f"{name}_temp_path {config.temp_dir}/{name}_temp;" for name in TEMP_PATHS),
        "# No request headers in the log: the Authorization header must never reach it.",
        _log_format(config),
        # Buffered: a write per request costs the proxy ~15% of its throughput; a second of log delay costs nothing.
        f"access_log /dev/stdout proxy buffer={ACCESS_LOG_BUFFER} flush={ACCESS_LOG_FLUSH};",
        *_block(
            f"upstream {UPSTREAM}",
            [f"server {config.upstream_host}:{config.upstream_port};", f"keepalive {UPSTREAM_KEEPALIVE};"],
        ),
        *_sso_http(config.sso),
        *_allow_list(config),
        *_role_maps(config),
        *_block("server", _server(config)),
    ]


def _log_format(config: ProxyConfig) -> str:
    # Who called: the user, the subject the gateway names, or the fingerprint (what the allow-list names); the
    # verify result is why a 400 was sent, which the error log only says at level info. Behind a gateway or with
    # basic auth, the certificate (the gateway's) is named too.
    user = _caller(config)
    # With single sign-on the user's role is oauth2-proxy's verdict on their groups: the log names the role the
    # route needed.
    role = f"needs={ROUTE_ROLE}" if config.sso is not None else f"role={CALLER_ROLE}"
    caller = ""
    if config.client_ca_file is not None:
        caller = (
            ' "$ssl_client_verify"'
            if user == "$ssl_client_fingerprint"
            else ' "$ssl_client_fingerprint" "$ssl_client_verify"'
        )
    return (
        f'log_format proxy \'$remote_addr - {user} [$time_local] "$request" $status $body_bytes_sent '
        f'$request_time "$http_user_agent"{caller} {role}\';'
    )


def _allow_list(config: ProxyConfig) -> list[str]:
    if config.client_ca_file is None:
        return []
    # No certificate -> empty fingerprint -> default 0; the value is only trusted after verification passed.
    entries = ["default 0;", *(f"{fingerprint} 1;" for fingerprint in config.allowed_client_fingerprints)]
    return _block(f"map $ssl_client_fingerprint {CLIENT_ALLOWED}", entries)


def _caller(config: ProxyConfig) -> str:
    """The variable that names who calls: the basic-auth user, the gateway's word, or the certificate."""
    if config.htpasswd_file is not None:
        return "$remote_user"
    if config.sso is not None:
        return SSO_USER
    return "$http_ssl_client_subject_dn" if config.callers_named_by_gateway else "$ssl_client_fingerprint"


def _role_maps(config: ProxyConfig) -> list[str]:
    """The caller's role, the route's, and whether the one may call the other: evaluated in the rewrite phase of
    the proxying location, before basic auth checks the password (access phase). That is sound: the role is the
    one of the user whose password is then checked, on the same request; and a request with no user at all (no
    role yet) passes this check, so basic auth can ask for credentials (401) instead of a bare 403."""
    basic = config.htpasswd_file is not None
    caller = _caller(config)
    # Regular expressions, not strings: string keys of a map match regardless of case, user names do not.
    holders = [f'"~^{re.escape(name)}$" {role.value};' for name, role in config.caller_roles]
    routes = [
        *(f'"~{flink_routes.web_ui_pattern(f, config.path_prefix)}" viewer;' for f in flink_routes.WEB_UI_FILES),
        *(
            f'"~{flink_routes.request_pattern(route, config.path_prefix)}" {route.role.value};'
            for route in flink_routes.API_ROUTES
        ),
    ]
    permitted = [f'"{holder.value} {needed.value}" 0;' for holder in Role for needed in Role if holder.may_call(needed)]
    if basic:
        permitted.append('"~^ " 0;')
    callers = (
        _sso_groups(config.sso)
        if config.sso is not None
        else [
            *_block(f"map {caller} {CALLER_ROLE}", ['default "";', *holders]),
            *_block(f'map "{CALLER_ROLE} {ROUTE_ROLE}" {ROLE_REFUSED}', ["default 1;", *permitted]),
        ]
    )
    return [
        "# The raw request target: Flink decodes the path twice, so only what the rules list verbatim is admitted.",
        *_block(f'map "$request_method $request_uri" {ROUTE_ROLE}', ["default admin;", *routes]),
        *callers,
        "# A change (cancel is a GET in Flink) must come from the proxy's own pages or a non-browser client: a",
        "# browser sends cached credentials and cookies along with another site's request.",
        *_block(
            f'map "{ROUTE_ROLE} $http_sec_fetch_site" {CROSS_SITE_CHANGE}',
            ["default 0;", '"~^(operator|admin) (cross-site|same-site)$" 1;'],
        ),
    ]


def _sso_groups(sso: SsoGate) -> list[str]:
    """The IdP groups whose role may call the route: what oauth2-proxy's auth endpoint is asked to require."""
    # Percent-encoded: oauth2-proxy decodes the query, then splits the list at commas.
    allowed = {
        needed: ",".join(sorted(quote(group, safe="/") for group, role in sso.group_roles if role.may_call(needed)))
        for needed in Role
    }
    entries = [f'{needed.value} "{groups}";' for needed, groups in allowed.items() if groups]
    # A role no group holds: oauth2-proxy would read an empty list as "any group"; a name no IdP gives refuses all.
    entries += [f'{needed.value} "{NO_GROUP}";' for needed, groups in allowed.items() if not groups]
    return _block(f"map {ROUTE_ROLE} {SSO_GROUPS}", [f'default "{allowed[Role.ADMIN] or NO_GROUP}";', *entries])


def _sso_http(sso: SsoGate | None) -> list[str]:
    if sso is None:
        return []
    # oauth2-proxy signs `value|timestamp` with HMAC-SHA256 under the cookie secret and appends `|signature`. Keyed
    # on the signature, a cached yes answers only a request that carries the signature of a cookie oauth2-proxy
    # itself approved within SESSION_CACHE_VALID, which only a holder of that session's cookie has. The files hold
    # the signature, not the cookie, which would work for hours. Only a request with exactly one session cookie is
    # keyed: oauth2-proxy reads the first of several, and joins a session split into `<name>_0`, `<name>_1`, ...
    # (larger than a cookie may be), which are asked about every time instead.
    cookie = re.escape(sso.session_cookie)
    more_than_one = f"~(?:^|;)\\s*{cookie}(?:_[0-9]+)?=.*;\\s*{cookie}(?:_[0-9]+)?="
    signature = f"~(?:^|;)\\s*{cookie}=[^;|]*\\|[0-9]+\\|(?<sso_signature>[A-Za-z0-9_=-]+)\\s*(?:;|$)"
    return [
        *_block(f"upstream {SSO_UPSTREAM}", [f"server {sso.host}:{sso.port};", "keepalive 8;"]),
        f"proxy_cache_path {sso.session_cache} levels=1 keys_zone={SESSION_CACHE_ZONE}:1m max_size=8m inactive=1m "
        "use_temp_path=off;",
        "# The first regular expression that matches decides.",
        *_block(
            f"map $http_cookie {SESSION_SIGNATURE}",
            ['default "";', f'"{more_than_one}" "";', f'"{signature}" $sso_signature;'],
        ),
        "# No signature (no session cookie, several, or a format this proxy does not know): asked every time.",
        *_block(f"map {SESSION_SIGNATURE} {UNSIGNED_SESSION}", ['"" 1;', "default 0;"]),
    ]


def _server(config: ProxyConfig) -> list[str]:
    return [
        "# IPv4 only: `listen [::]:...` fails to start in a pod without IPv6.",
        f"listen {config.listen_port} ssl;",
        f"ssl_certificate {config.server_certificate};",
        f"ssl_certificate_key {config.server_key};",
        "ssl_protocols TLSv1.2 TLSv1.3;",
        f"ssl_ciphers {CIPHERS};",
        "ssl_ecdh_curve X25519:prime256v1:secp384r1;",
        "ssl_prefer_server_ciphers off;",
        "ssl_session_cache shared:TLS:10m;",
        "ssl_session_timeout 1d;",
        "ssl_session_tickets off;",
        *SECURITY_HEADERS,
        "# Redirects carry a path only: behind a Route the public port is not the listen port.",
        "absolute_redirect off;",
        f"client_max_body_size {config.max_body_size};",
        *_client_auth(config),
        *_block(f"location = {config.health_path}", _health(config)),
        *_ui_locations(config),
    ]


def _client_auth(config: ProxyConfig) -> list[str]:
    basic = ['auth_basic "Flink";', f"auth_basic_user_file {config.htpasswd_file};"] if config.htpasswd_file else []
    if config.client_ca_file is None:
        return basic
    return [
        *basic,
        f"ssl_client_certificate {config.client_ca_file};",
        "# optional, not on: `on` refuses a request without a certificate on every path, the health probe's too.",
        "# A certificate that fails verification still gets 400 from nginx on every path; every location but",
        "# the health path refuses a missing one itself (_client_checks).",
        "ssl_verify_client optional;",
        "# Leaf signed directly by the client CA: no intermediates.",
        "ssl_verify_depth 1;",
    ]


def _health(config: ProxyConfig) -> list[str]:
    body = ["access_log off;", "default_type text/plain;", 'return 200 "ok";']
    return body if config.htpasswd_file is None else ["auth_basic off;", *body]


def _client_checks(config: ProxyConfig) -> list[str]:
    """First in every location but the health path: rewrite-phase `if`+`return` runs before the location's
    own return, try_files or proxy_pass, and `if` holding only `return` is safe in a location."""
    if config.client_ca_file is None:
        return []
    return [
        "# 496: nginx's own no-certificate code, sent as 400 with the page `ssl_verify_client on` sends.",
        *_block("if ($ssl_client_verify != SUCCESS)", ["return 496;"]),
        *_block(f"if ({CLIENT_ALLOWED} = 0)", ["return 403;"]),
    ]


def _role_checks(config: ProxyConfig) -> list[str]:
    """After the client checks, in the location that proxies to Flink."""
    if config.sso is not None:
        return _sso_checks()
    gate = [
        "# No role (no user yet, or one no role names): to the gate, which asks for credentials, then refuses.",
        *_block(f'if ({CALLER_ROLE} = "")', [f"rewrite ^ {ROLE_GATE} last;"]),
    ]
    return [
        *_block(f"if ({ROLE_REFUSED})", ["return 403;"]),
        *_block(f"if ({CROSS_SITE_CHANGE})", ["return 403;"]),
        *(gate if config.htpasswd_file is not None else []),
    ]


def _sso_checks() -> list[str]:
    return [
        *_block(f"if ({CROSS_SITE_CHANGE})", ["return 403;"]),
        "# oauth2-proxy decides: 401 without a session (sign in), 403 for a user in none of the route's groups.",
        f"auth_request {SSO_GATE};",
        f"auth_request_set {SSO_USER} $upstream_http_x_auth_request_email;",
        "auth_request_set $sso_cookie $upstream_http_set_cookie;",
        f"error_page 401 = {SIGN_IN};",
        "# A session oauth2-proxy renewed comes back as a new cookie. A location's add_header replaces the server's,",
        "# so those are repeated.",
        "add_header Set-Cookie $sso_cookie;",
        *SECURITY_HEADERS,
    ]


def _sso_locations(config: ProxyConfig, sso: SsoGate) -> list[str]:
    """The gate (internal), oauth2-proxy's own endpoints (sign-in, callback, sign-out), and where a browser
    without a session is sent."""
    gate = [
        "internal;",
        f"proxy_pass https://{SSO_UPSTREAM}{sso.proxy_prefix}/auth?allowed_groups={SSO_GROUPS};",
        "proxy_pass_request_body off;",
        'proxy_set_header Content-Length "";',
        *_sso_proxy(sso),
        "# Only a yes is kept (nginx keeps no response that sets a cookie, so a renewed session is never",
        "# replayed): no session, an expired one or a missing group is asked again on every request.",
        f"proxy_cache {SESSION_CACHE_ZONE};",
        f'proxy_cache_key "{SSO_GROUPS} {SESSION_SIGNATURE}";',
        f"proxy_cache_valid 202 {SESSION_CACHE_VALID};",
        f"proxy_cache_bypass {UNSIGNED_SESSION};",
        f"proxy_no_cache {UNSIGNED_SESSION};",
    ]
    endpoints = [*_client_checks(config), f"proxy_pass https://{SSO_UPSTREAM};", *_sso_proxy(sso)]
    return [
        *_block(f"location = {SSO_GATE}", gate),
        *_block(f"location {sso.proxy_prefix}/", endpoints),
        *_block(
            f"location = {sso.proxy_prefix}/callback",
            ["# Its URL carries the authorization code and state.", "access_log off;", *endpoints],
        ),
        *_block(f"location {SIGN_IN}", [f"return 302 {sso.proxy_prefix}/start?rd=$request_uri;"]),
    ]


def _sso_proxy(sso: SsoGate) -> list[str]:
    return [
        "proxy_http_version 1.1;",
        'proxy_set_header Connection "";',
        "proxy_set_header Host $host;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header X-Forwarded-Host $host;",
        "proxy_set_header X-Forwarded-Uri $request_uri;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_ssl_verify on;",
        f"proxy_ssl_trusted_certificate {sso.trusted_ca};",
        f"proxy_ssl_name {sso.host};",
        "proxy_ssl_server_name on;",
        "proxy_ssl_session_reuse on;",
        "proxy_ssl_protocols TLSv1.2 TLSv1.3;",
    ]


def _role_gate(config: ProxyConfig) -> list[str]:
    """The rewrite-phase check passes a request without a role so that basic auth can ask for credentials, and
    sends it here instead of to Flink: basic auth (access phase) answers 401 unless the password checks out, and
    try_files (after it) 403, so a user the htpasswd file knows but no role names is refused. A user with a role
    never comes here (an auth_request subrequest on every request cost nginx 4% more instructions per request). With
    single sign-on, oauth2-proxy's."""
    if config.sso is not None:
        return _sso_locations(config, config.sso)
    if config.htpasswd_file is None:
        return []
    return _block(f"location = {ROLE_GATE}", ["internal;", "try_files /.none =403;"])


def _ui_locations(config: ProxyConfig) -> list[str]:
    prefix, checks = config.path_prefix, _client_checks(config)
    if prefix == "/":
        return [
            *_block("location /", [*checks, *_role_checks(config), *_proxy(config, f"https://{UPSTREAM}")]),
            *_role_gate(config),
        ]
    return [
        *_block(f"location = {prefix.rstrip('/')}", [*checks, f"return 301 {prefix};"]),
        *_block(f"location {prefix}", [*checks, *_role_checks(config), *_proxy(config, f"https://{UPSTREAM}/")]),
        *_role_gate(config),
        *_block(
            "location /",
            [
                *checks,
                "# try_files runs after auth_basic (access phase), where `return 404` would run before it.",
                "try_files /.none =404;",
            ],
        ),
    ]


def _proxy(config: ProxyConfig, target: str) -> list[str]:
    return [
        f"proxy_pass {target};",
        "proxy_http_version 1.1;",
        "# A block that sets any proxy_set_header inherits none: without Connection here, keepalive is lost.",
        'proxy_set_header Connection "";',
        'proxy_set_header Authorization "";',
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header X-Forwarded-Host $host;",
        *(f'proxy_set_header {header} "";' for header in METHOD_OVERRIDE_HEADERS),
        "# Flink allows every origin; the Web UI needs none but its own.",
        "proxy_hide_header Access-Control-Allow-Origin;",
        *(
            ["# The session cookie is oauth2-proxy's: Flink needs none.", 'proxy_set_header Cookie "";']
            if config.sso
            else []
        ),
        "proxy_request_buffering off;",
        "# One set of proxy_ssl_* per upstream: keepalive connections are shared by every block using it.",
        "proxy_ssl_verify on;",
        f"proxy_ssl_trusted_certificate {config.upstream_trusted_ca};",
        f"proxy_ssl_name {config.upstream_server_name};",
        "proxy_ssl_server_name on;",
        "proxy_ssl_verify_depth 2;",
        "proxy_ssl_session_reuse on;",
        "proxy_ssl_protocols TLSv1.2 TLSv1.3;",
        *_upstream_identity(config),
    ]


def _upstream_identity(config: ProxyConfig) -> list[str]:
    if config.upstream_client_certificate is None:
        return []
    return [
        "# Flink's REST API requires client certificates (security.ssl.rest.authentication-enabled).",
        f"proxy_ssl_certificate {config.upstream_client_certificate};",
        f"proxy_ssl_certificate_key {config.upstream_client_key};",
    ]


NGINX_SIZE = re.compile(r"^[1-9][0-9]*[kKmMgG]?$")


def body_size_problem(value: object) -> str | None:
    """Why `value` is not an nginx size for `client_max_body_size` (e.g. 256m), or None."""
    if isinstance(value, str) and NGINX_SIZE.match(value):
        return None
    return "must be an nginx size such as 256m"
