"""What ingress-nginx (controller v1.14.5) makes of one rendered Ingress: the nginx server it would run.

Our Ingresses are read by the controller, not by a person, so they are tested through what the controller
derives from them. This module follows the controller's source at tag controller-v1.14.5:
- annotation parsing, validation and defaults: internal/ingress/annotations/authtls/main.go (verify-client
  `on`, verify-depth 1, `auth-tls-match-cn` must start with `CN=` and compile as a regex) and
  internal/ingress/annotations/proxyssl/main.go (protocols `TLSv1.2`, ciphers `DEFAULT`, verify `off`,
  verify-depth 1, server-name `off`; protocols are filtered to TLSv1.2/TLSv1.3 and sorted);
- how a Secret becomes files: internal/ingress/controller/store/backend_ssl.go and internal/net/ssl/ssl.go
  (a Secret with `tls.crt`, `tls.key` and `ca.crt` becomes one file, certificate + key + CA, used both as
  the trusted CA file and as the client certificate and key);
- the server and location directives: rootfs/etc/nginx/template/nginx.tmpl (`SERVER` and `location`):
  the CN check at server level (`if ($ssl_client_s_dn !~ <pattern>) { return 403 }`, the pattern quoted
  with Go's %q, which nginx's parser unquotes), `ssl_client_certificate`/`ssl_verify_client`/
  `ssl_verify_depth`, the `ssl-client-*` headers it sets in the location (who the client is, for the
  backend), and the `proxy_ssl_*` set at server and location level, `proxy_pass https://` for
  `backend-protocol: HTTPS`; global defaults from internal/ingress/controller/config/config.go
  (`ssl-protocols` "TLSv1.2 TLSv1.3", its `ssl-ciphers`, `proxy_ssl_session_reuse on`).
Left out, because no behaviour under test depends on them: the Lua balancer (a static upstream stands in),
the plain-HTTP listener and its redirect, metrics, and the controller's other modules.
"""

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PREFIX = "nginx.ingress.kubernetes.io/"
CONTROLLER_VERSION = "v1.14.5"
# config.go: sslProtocols, sslCiphers.
SSL_PROTOCOLS = "TLSv1.2 TLSv1.3"
SSL_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256"
)
GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")
_ON_OFF = re.compile(r"^(on|off)$")
_VERIFY_CLIENT = re.compile(r"^(on|off|optional|optional_no_ca)$")
_PROTOCOLS = re.compile(r"^(TLSv1\.2|TLSv1\.3| )*$")
_CIPHERS = re.compile(r"^[A-Za-z0-9\+:\_\-!]*$")


class IngressRefused(ValueError):
    """The controller would not configure this Ingress (an annotation fails its validator)."""


@dataclass(frozen=True)
class ProxySSL:
    ca_file: Path
    client_pem: Path | None
    protocols: str
    ciphers: str
    verify: str
    verify_depth: int
    name: str
    server_name: str


@dataclass(frozen=True)
class CertificateAuth:
    ca_file: Path
    verify_client: str
    depth: int
    match_cn: str
    pass_certificate: bool


def _annotation(annotations: Mapping[str, str], name: str) -> str | None:
    return annotations.get(PREFIX + name)


def _int(annotations: Mapping[str, str], name: str, default: int) -> int:
    value = _annotation(annotations, name)
    parsed = int(value) if value is not None and re.fullmatch(r"-?[0-9]+", value) else 0
    return parsed or default


def _validated(annotations: Mapping[str, str], name: str, pattern: re.Pattern[str], default: str) -> str:
    value = _annotation(annotations, name)
    return value if value is not None and pattern.match(value) else default


def sorted_protocols(value: str) -> str:
    """proxyssl.sortProtocols: the known protocols of `value`, sorted; TLSv1.2 if none."""
    protocols = sorted(p for p in value.split(" ") if p.strip() and _PROTOCOLS.match(p.strip()))
    return " ".join(protocols) or "TLSv1.2"


def _secret_files(secret: Mapping[str, object], directory: Path, stem: str) -> tuple[Path, Path | None]:
    """(CA file, client PEM file) the controller writes for a Secret, as backend_ssl.go does."""
    data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    if "tls.crt" in data and "tls.key" in data:
        pem = directory / f"{stem}.pem"
        cert_and_key = data["tls.crt"] + b"\n" + data["tls.key"]
        pem.write_bytes(cert_and_key + (b"\n" + data["ca.crt"] if "ca.crt" in data else b""))
        return pem, pem
    if "ca.crt" not in data:
        raise IngressRefused(f"Secret {stem} contains no keypair or CA certificate")
    ca = directory / f"ca-{stem}.pem"
    ca.write_bytes(data["ca.crt"])
    return ca, None


def _secret(annotations: Mapping[str, str], name: str, namespace: str, secrets: Mapping[str, dict]) -> dict:
    reference = _annotation(annotations, name) or ""
    secret_namespace, _, secret_name = reference.rpartition("/")
    if (secret_namespace or namespace) != namespace:
        raise IngressRefused(f"{name}: cross namespace secrets are not supported")
    if secret_name not in secrets:
        raise IngressRefused(f"{name}: Secret {reference} not found")
    return secrets[secret_name]


def proxy_ssl(annotations: Mapping[str, str], namespace: str, secrets: Mapping[str, dict], directory: Path) -> ProxySSL:
    secret = _secret(annotations, "proxy-ssl-secret", namespace, secrets)
    ca_file, client_pem = _secret_files(secret, directory, "proxy-ssl")
    protocols = _annotation(annotations, "proxy-ssl-protocols")
    if protocols is not None and not _PROTOCOLS.match(protocols):
        raise IngressRefused(f"proxy-ssl-protocols {protocols!r} fails the controller's validator")
    ciphers = _annotation(annotations, "proxy-ssl-ciphers")
    if ciphers is not None and not _CIPHERS.match(ciphers):
        raise IngressRefused(f"proxy-ssl-ciphers {ciphers!r} fails the controller's validator")
    return ProxySSL(
        ca_file=ca_file,
        client_pem=client_pem,
        protocols=sorted_protocols(protocols) if protocols is not None else "TLSv1.2",
        ciphers=ciphers if ciphers is not None else "DEFAULT",
        verify=_validated(annotations, "proxy-ssl-verify", _ON_OFF, "off"),
        verify_depth=_int(annotations, "proxy-ssl-verify-depth", 1),
        name=_annotation(annotations, "proxy-ssl-name") or "",
        server_name=_validated(annotations, "proxy-ssl-server-name", _ON_OFF, "off"),
    )


def certificate_auth(
    annotations: Mapping[str, str], namespace: str, secrets: Mapping[str, dict], directory: Path
) -> CertificateAuth | None:
    if _annotation(annotations, "auth-tls-secret") is None:
        return None
    match_cn = _annotation(annotations, "auth-tls-match-cn") or ""
    if match_cn:
        # parser.CommonNameAnnotationValidator: the literal prefix, then a regex that compiles.
        if not match_cn.startswith("CN="):
            raise IngressRefused(f"auth-tls-match-cn {match_cn!r}: missing prefix 'CN='")
        try:
            re.compile(match_cn[3:])
        except re.error as error:
            raise IngressRefused(f"auth-tls-match-cn {match_cn!r} is not a valid regex: {error}") from error
    ca_file, _ = _secret_files(_secret(annotations, "auth-tls-secret", namespace, secrets), directory, "auth-tls")
    return CertificateAuth(
        ca_file=ca_file,
        verify_client=_validated(annotations, "auth-tls-verify-client", _VERIFY_CLIENT, "on"),
        depth=_int(annotations, "auth-tls-verify-depth", 1),
        match_cn=match_cn,
        # authtls/main.go: parser.GetBoolAnnotation (Go's strconv.ParseBool), false when absent or unparsable.
        pass_certificate=_annotation(annotations, "auth-tls-pass-certificate-to-upstream") in GO_TRUE,
    )


def go_quote(value: str) -> str:
    """Go's %q for the ASCII strings here; nginx's parser undoes the backslash escapes inside quotes."""
    return json.dumps(value)


def _proxy_ssl_lines(ssl: ProxySSL, *, server_level: bool) -> list[str]:
    lines = [
        f"proxy_ssl_trusted_certificate {ssl.ca_file};",
        f"proxy_ssl_ciphers {ssl.ciphers};",
        f"proxy_ssl_protocols {ssl.protocols};",
        f"proxy_ssl_verify {ssl.verify};",
        f"proxy_ssl_verify_depth {ssl.verify_depth};",
    ]
    if ssl.name:
        lines.append(f"proxy_ssl_name {ssl.name};")
        if server_level:
            lines.append(f"proxy_ssl_server_name {ssl.server_name};")
    if not server_level:
        lines.append(f"proxy_ssl_server_name {ssl.server_name};")
    if ssl.client_pem is not None:
        lines += [f"proxy_ssl_certificate {ssl.client_pem};", f"proxy_ssl_certificate_key {ssl.client_pem};"]
    return lines


def _client_certificate_headers(auth: CertificateAuth) -> list[str]:
    """nginx.tmpl's location: what the controller tells the backend about a client certificate, replacing any
    header of the same name the client sent (`ssl-client-cert` only with auth-tls-pass-certificate-to-upstream)."""
    lines = ["proxy_set_header ssl-client-cert $ssl_client_escaped_cert;"] if auth.pass_certificate else []
    return [
        *lines,
        "proxy_set_header ssl-client-verify $ssl_client_verify;",
        "proxy_set_header ssl-client-subject-dn $ssl_client_s_dn;",
        "proxy_set_header ssl-client-issuer-dn $ssl_client_i_dn;",
    ]


def _location_match(path: Mapping) -> str:
    """template.go buildLocation: `= "<path>"` for pathType Exact, `"<path>"` otherwise."""
    quoted = go_quote(path["path"])
    return f"= {quoted}" if path.get("pathType") == "Exact" else quoted


def _location(annotations: Mapping[str, str], ssl: ProxySSL | None, auth: CertificateAuth | None) -> list[str]:
    location = [
        f"proxy_pass {'https' if ssl is not None else 'http'}://upstream_balancer;",
        "proxy_http_version 1.1;",
        "proxy_set_header Host $host;",
        'proxy_set_header Connection "";',
    ]
    if ssl is not None:
        location += _proxy_ssl_lines(ssl, server_level=False)
    # config.go ProxyBodySize: 1m unless the annotation sets it.
    location.append(f"client_max_body_size {_annotation(annotations, 'proxy-body-size') or '1m'};")
    if auth is not None:
        location += _client_certificate_headers(auth)
    # annotations/log/main.go: enable-access-log (GetBoolAnnotation, true unless it parses false); the template's
    # location writes `access_log off` for false.
    if _annotation(annotations, "enable-access-log") in GO_FALSE:
        location.append("access_log off;")
    return location


def _tls_listener(ingress: Mapping, secrets: Mapping[str, dict], directory: Path) -> list[str]:
    (tls,) = ingress["spec"]["tls"]
    data = secrets[tls["secretName"]]["data"]
    chain, key = directory / "server.crt", directory / "server.key"
    chain.write_bytes(base64.b64decode(data["tls.crt"]))
    key.write_bytes(base64.b64decode(data["tls.key"]))
    return [f"ssl_certificate {chain};", f"ssl_certificate_key {key};"]


def controller_nginx_conf(
    ingress: Mapping,
    secrets: Mapping[str, dict],
    directory: Path,
    *,
    listen_port: int,
    upstream_port: int,
    also: Sequence[Mapping] = (),
) -> str:
    """nginx.conf for the Ingress's one host, as the controller would configure it, listening on 127.0.0.1
    and proxying to 127.0.0.1:`upstream_port`; Secret files are written to `directory`. Raises
    IngressRefused where the controller would refuse the Ingress. `also`: more Ingresses of the same host (same
    backend), each of whose paths becomes a location of its own with that Ingress's location annotations."""
    annotations = ingress["metadata"].get("annotations") or {}
    namespace = ingress["metadata"]["namespace"]
    backend_https = (_annotation(annotations, "backend-protocol") or "HTTP").upper() == "HTTPS"
    ssl = proxy_ssl(annotations, namespace, secrets, directory) if backend_https else None
    auth = certificate_auth(annotations, namespace, secrets, directory)
    server = [f"listen 127.0.0.1:{listen_port} ssl;", *_tls_listener(ingress, secrets, directory)]
    if auth is not None:
        if auth.match_cn:
            server += [
                f"if ( $ssl_client_s_dn !~ {go_quote(auth.match_cn)} ) {{",
                '    return 403 "client certificate unauthorized";',
                "}",
            ]
        server += [
            f"ssl_client_certificate {auth.ca_file};",
            f"ssl_verify_client {auth.verify_client};",
            f"ssl_verify_depth {auth.depth};",
        ]
    if ssl is not None:
        server += _proxy_ssl_lines(ssl, server_level=True)
    server += ["location / {", *(f"    {line}" for line in _location(annotations, ssl, auth)), "}"]
    for other in also:
        other_annotations = other["metadata"].get("annotations") or {}
        for rule in other["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                body = _location(other_annotations, ssl, auth)
                server += [f"location {_location_match(path)} {{", *(f"    {line}" for line in body), "}"]
    return "\n".join(
        [
            "worker_processes 1;",
            f"pid {directory}/nginx.pid;",
            "events { worker_connections 64; }",
            "http {",
            *(f"    {t}_temp_path {directory}/tmp-{t};" for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")),
            f"    access_log {directory}/access.log;",
            f"    ssl_protocols {SSL_PROTOCOLS};",
            f"    ssl_ciphers '{SSL_CIPHERS}';",
            "    proxy_ssl_session_reuse on;",
            f"    upstream upstream_balancer {{ server 127.0.0.1:{upstream_port}; keepalive 320; }}",
            "    server {",
            *(f"        {line}" for line in server),
            "    }",
            "}",
            "",
        ]
    )
