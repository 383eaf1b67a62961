"""nginx.conf for the proxy in front of Flink's REST endpoint (the Web UI): TLS, basic auth, verified TLS upstream.

Built for nginx-unprivileged: an arbitrary non-root UID on a read-only root filesystem, so the pid file
and every temp path live in `temp_dir`. Every field is validated before it is interpolated: no value can
end a directive or open a block. Unauthenticated callers see 401 everywhere except the health path and,
in prefix mode, the `/<name>` -> `/<name>/` redirect (which reveals only the prefix the Route already
publishes); authenticated requests outside the prefix get 404 and are never proxied.
"""

import re
from dataclasses import dataclass, fields

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
    htpasswd_file: str
    max_body_size: str
    """Largest request body, nginx size syntax ("256m"); jar uploads need more than nginx's 1m default."""
    path_prefix: str = "/"
    """Where the UI is served, "/" or "/<name>/"; the prefix is stripped before forwarding."""
    health_path: str = "/healthz"
    """Answered by nginx itself, without auth and without calling Flink."""
    temp_dir: str = "/tmp"
    """The only directory nginx writes: pid file and all temp paths."""
    worker_processes: int | None = None
    """None -> "auto" (one per CPU the node has, not per CPU the pod may use)."""

    def __post_init__(self) -> None:
        for field in fields(self):
            problem = _problem(field.name, getattr(self, field.name))
            if problem is not None:
                raise ValueError(f"ProxyConfig.{field.name} {problem}, got {getattr(self, field.name)!r}")
        if self.path_prefix != "/" and self.health_path == self.path_prefix.rstrip("/"):
            raise ValueError(f"ProxyConfig.health_path must differ from the prefix redirect, got {self.health_path!r}")


def _problem(name: str, value: object) -> str | None:
    if name in ("listen_port", "upstream_port"):
        ok = type(value) is int and 1 <= value <= 65535
        return None if ok else "must be an integer from 1 to 65535"
    if name == "worker_processes":
        return None if value is None or (type(value) is int and value >= 1) else "must be None or an integer >= 1"
    rules = {
        "upstream_host": (_DNS_NAME, "must be a lower-case DNS name"),
        "upstream_server_name": (_DNS_NAME, "must be a lower-case DNS name"),
        "max_body_size": (_SIZE, "must be an nginx size such as 256m"),
        "path_prefix": (_PREFIX, 'must be "/" or "/<lower-case letters, digits, ->/"'),
        "health_path": (_URI_PATH, "must be an absolute URI path of [a-z0-9._-] segments"),
    }
    pattern, reason = rules.get(name, (_PATH, "must be an absolute file path of [A-Za-z0-9._@+=,-] segments"))
    return None if isinstance(value, str) and pattern.fullmatch(value) else reason


def nginx_conf(config: ProxyConfig) -> str:
    """The complete nginx.conf (main context, no includes) for `config`."""
    workers = "auto" if config.worker_processes is None else config.worker_processes
    lines = [
        f"worker_processes {workers};",
        f"pid {config.temp_dir}/nginx.pid;",
        "error_log stderr warn;",
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
        'log_format proxy \'$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
        '$request_time "$http_user_agent"\';',
        # Buffered: a write per request costs the proxy ~15% of its throughput; a second of log delay costs nothing.
        f"access_log /dev/stdout proxy buffer={ACCESS_LOG_BUFFER} flush={ACCESS_LOG_FLUSH};",
        *_block(
            f"upstream {UPSTREAM}",
            [f"server {config.upstream_host}:{config.upstream_port};", f"keepalive {UPSTREAM_KEEPALIVE};"],
        ),
        *_block("server", _server(config)),
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
        'add_header Strict-Transport-Security "max-age=63072000" always;',
        "add_header X-Content-Type-Options nosniff always;",
        "# Redirects carry a path only: behind a Route the public port is not the listen port.",
        "absolute_redirect off;",
        f"client_max_body_size {config.max_body_size};",
        'auth_basic "Flink";',
        f"auth_basic_user_file {config.htpasswd_file};",
        *_block(
            f"location = {config.health_path}",
            ["auth_basic off;", "access_log off;", "default_type text/plain;", 'return 200 "ok";'],
        ),
        *_ui_locations(config),
    ]


def _ui_locations(config: ProxyConfig) -> list[str]:
    prefix = config.path_prefix
    if prefix == "/":
        return _block("location /", _proxy(config, f"https://{UPSTREAM}"))
    return [
        *_block(f"location = {prefix.rstrip('/')}", [f"return 301 {prefix};"]),
        *_block(f"location {prefix}", _proxy(config, f"https://{UPSTREAM}/")),
        *_block(
            "location /",
            ["# try_files runs after auth_basic, where `return 404` would run before it.", "try_files /.none =404;"],
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
        "proxy_request_buffering off;",
        "# One set of proxy_ssl_* per upstream: keepalive connections are shared by every block using it.",
        "proxy_ssl_verify on;",
        f"proxy_ssl_trusted_certificate {config.upstream_trusted_ca};",
        f"proxy_ssl_name {config.upstream_server_name};",
        "proxy_ssl_server_name on;",
        "proxy_ssl_verify_depth 2;",
        "proxy_ssl_session_reuse on;",
        "proxy_ssl_protocols TLSv1.2 TLSv1.3;",
    ]
