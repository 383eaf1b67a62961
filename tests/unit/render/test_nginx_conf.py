"""The proxy's nginx.conf: what it promises as text, and what a real nginx does with it on 127.0.0.1."""

import re

import pytest

from secure_flink.domain.nginx import CIPHERS, ProxyConfig, SsoGate, nginx_conf
from secure_flink.domain.roles import Role
from tests.unit.render.proxy_roles import every_caller_an_admin

UPSTREAM_NAME = "etl-rest.flink.svc"
PASSWORD = "kQ3vN8pX2mR7tY4wZ6bC9dF1gH5jL0sA"
MAX_BODY = "64m"


def valid_config(**overrides) -> ProxyConfig:
    values = dict(
        listen_port=8443,
        server_certificate="/etc/proxy/tls/tls.crt",
        server_key="/etc/proxy/tls/tls.key",
        upstream_host="etl-rest.flink.svc.cluster.local",
        upstream_port=8081,
        upstream_server_name=UPSTREAM_NAME,
        upstream_trusted_ca="/etc/proxy/flink-ca/ca.crt",
        htpasswd_file="/etc/proxy/auth/htpasswd",
        max_body_size="256m",
    )
    return ProxyConfig(**every_caller_an_admin({**values, **overrides}, ("admin",)))


def block(conf: str, header: str) -> list[str]:
    """The directives directly inside the block opened by `header {` (nested blocks left out)."""
    lines = [line.strip() for line in conf.splitlines()]
    start = lines.index(header + " {")
    body, depth = [], 0
    for line in lines[start + 1 :]:
        if line == "}" and depth == 0:
            return body
        depth += line.endswith("{") - (line == "}")
        if depth == 0 and line != "}" and not line.startswith("#"):
            body.append(line)
    raise AssertionError(f"unclosed block {header}")


def headers_of(conf: str) -> list[str]:
    return [line.strip()[:-2] for line in conf.splitlines() if line.strip().endswith(" {")]


def proxied_blocks(conf: str) -> list[list[str]]:
    blocks = [block(conf, header) for header in headers_of(conf)]
    return [b for b in blocks if any(d.startswith("proxy_pass ") for d in b)]


# --- the text ---------------------------------------------------------------------------------------------


def test_writes_pid_and_every_temp_path_under_temp_dir_only():
    conf = nginx_conf(valid_config(temp_dir="/scratch/nginx"))
    assert "pid /scratch/nginx/nginx.pid;" in conf.splitlines()
    temp_paths = [d for d in block(conf, "http") if "_temp_path " in d]
    assert sorted(d.split()[0] for d in temp_paths) == sorted(
        f"{n}_temp_path" for n in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    assert all(d.split()[1].startswith("/scratch/nginx/") for d in temp_paths)
    assert "/tmp" not in conf


def test_logs_errors_to_stderr_and_requests_to_stdout_without_the_authorization_header():
    conf = nginx_conf(valid_config())
    assert "error_log stderr warn;" in conf.splitlines()
    (log_format,) = [d for d in block(conf, "http") if d.startswith("log_format ")]
    assert "access_log /dev/stdout proxy buffer=32k flush=1s;" in block(conf, "http")
    assert "authorization" not in log_format.lower()
    assert "$http_authorization" not in conf and "$http_" in log_format  # control: the check can see headers


def test_hides_the_version_and_defaults_to_an_opaque_content_type():
    http = block(nginx_conf(valid_config()), "http")
    assert "server_tokens off;" in http
    assert "default_type application/octet-stream;" in http


def test_serves_tls_1_2_and_1_3_with_ecdhe_aead_suites_only():
    server = block(nginx_conf(valid_config()), "server")
    assert "listen 8443 ssl;" in server
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in server
    assert f"ssl_ciphers {CIPHERS};" in server
    assert sorted(CIPHERS.split(":")) == [
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-RSA-CHACHA20-POLY1305",
    ]
    assert not any(d.startswith("ssl_dhparam") for d in server)
    for directive in (
        "ssl_ecdh_curve X25519:prime256v1:secp384r1;",
        "ssl_prefer_server_ciphers off;",
        "ssl_session_tickets off;",
        "ssl_session_timeout 1d;",
    ):
        assert directive in server
    assert any(d.startswith("ssl_session_cache shared:") for d in server)


def test_listens_on_ipv4_only():
    server = block(nginx_conf(valid_config(listen_port=9443)), "server")
    assert [d for d in server if d.startswith("listen ")] == ["listen 9443 ssl;"]


def test_sends_hsts_and_nosniff_on_every_response():
    server = block(nginx_conf(valid_config()), "server")
    assert 'add_header Strict-Transport-Security "max-age=63072000" always;' in server
    assert "add_header X-Content-Type-Options nosniff always;" in server


def test_keeps_upstream_connections_alive():
    conf = nginx_conf(valid_config(upstream_host="a-rest.ns.svc.cluster.local", upstream_port=8081))
    assert block(conf, "upstream flink_rest") == ["server a-rest.ns.svc.cluster.local:8081;", "keepalive 32;"]


@pytest.mark.parametrize("prefix", ["/", "/etl/"])
def test_a_user_with_a_role_costs_no_subrequest_and_the_route_rules_are_compiled(prefix):
    """Only a request without a role goes to the gate, where basic auth still answers before the 403."""
    conf = nginx_conf(valid_config(path_prefix=prefix))
    assert "pcre_jit on;" in conf.split("http {")[0]
    assert "auth_request" not in conf
    assert block(conf, 'if ($caller_role = "")') == ["rewrite ^ /_secure_flink_role_gate last;"]
    assert block(conf, "location = /_secure_flink_role_gate") == ["internal;", "try_files /.none =403;"]


@pytest.mark.parametrize("prefix", ["/", "/etl/"])
def test_every_proxied_block_clears_connection_and_authorization_itself(prefix):
    blocks = proxied_blocks(nginx_conf(valid_config(path_prefix=prefix)))
    assert len(blocks) == 1
    for directives in blocks:
        assert "proxy_http_version 1.1;" in directives
        assert 'proxy_set_header Connection "";' in directives
        assert 'proxy_set_header Authorization "";' in directives
        for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"):
            assert any(d.startswith(f"proxy_set_header {header} ") for d in directives)


@pytest.mark.parametrize("prefix", ["/", "/etl/"])
def test_proxy_verifies_the_flink_certificate_with_one_set_of_settings(prefix):
    conf = nginx_conf(valid_config(path_prefix=prefix, upstream_trusted_ca="/ca/flink.pem"))
    (directives,) = proxied_blocks(conf)
    expected = [
        "proxy_ssl_verify on;",
        "proxy_ssl_trusted_certificate /ca/flink.pem;",
        f"proxy_ssl_name {UPSTREAM_NAME};",
        "proxy_ssl_server_name on;",
        "proxy_ssl_verify_depth 2;",
        "proxy_ssl_session_reuse on;",
        "proxy_ssl_protocols TLSv1.2 TLSv1.3;",
    ]
    assert [d for d in directives if d.startswith("proxy_ssl_")] == expected
    assert len(re.findall(r"proxy_ssl_\w+ ", conf)) == len(expected)
    assert all(d.startswith("proxy_pass https://flink_rest") for d in directives if d.startswith("proxy_pass"))


def test_requires_basic_auth_everywhere_but_the_health_path():
    conf = nginx_conf(valid_config(health_path="/ready", htpasswd_file="/auth/users"))
    server = block(conf, "server")
    assert 'auth_basic "Flink";' in server and "auth_basic_user_file /auth/users;" in server
    health = block(conf, "location = /ready")
    assert health == ["auth_basic off;", "access_log off;", "default_type text/plain;", 'return 200 "ok";']
    others = [block(conf, h) for h in headers_of(conf) if h.startswith("location") and h != "location = /ready"]
    assert others and not any("auth_basic off;" in b for b in others)


def test_streams_uploads_up_to_the_configured_size():
    conf = nginx_conf(valid_config(max_body_size="512m"))
    assert "client_max_body_size 512m;" in block(conf, "server")
    (directives,) = proxied_blocks(conf)
    assert "proxy_request_buffering off;" in directives


def test_root_prefix_forwards_the_uri_unchanged():
    conf = nginx_conf(valid_config(path_prefix="/"))
    assert "proxy_pass https://flink_rest;" in block(conf, "location /")
    assert "location = " + "/etl" not in conf


def test_named_prefix_redirects_strips_and_proxies_nothing_else():
    conf = nginx_conf(valid_config(path_prefix="/etl/"))
    assert block(conf, "location = /etl") == ["return 301 /etl/;"]
    assert "proxy_pass https://flink_rest/;" in block(conf, "location /etl/")
    assert block(conf, "location /") == ["try_files /.none =404;"]
    assert "absolute_redirect off;" in block(conf, "server")


def test_worker_processes_default_to_auto():
    assert nginx_conf(valid_config()).startswith("worker_processes auto;\n")
    assert nginx_conf(valid_config(worker_processes=3)).startswith("worker_processes 3;\n")


def test_rendering_is_deterministic_and_braces_balance():
    conf = nginx_conf(valid_config(path_prefix="/etl/"))
    assert conf == nginx_conf(valid_config(path_prefix="/etl/"))
    assert conf.count("{") == conf.count("}") and conf.endswith("}\n")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("listen_port", 0),
        ("listen_port", 65536),
        ("listen_port", "8443"),
        ("listen_port", True),
        ("upstream_port", -1),
        ("server_certificate", "tls.crt"),
        ("server_key", "/etc/tls/my key"),
        ("upstream_trusted_ca", "/etc/ca.pem; include /etc/passwd"),
        ("htpasswd_file", "/etc/htpasswd\n"),
        ("htpasswd_file", '/etc/"htpasswd"'),
        ("htpasswd_file", "/etc/{x}"),
        ("htpasswd_file", "/etc/$host"),
        ("temp_dir", "/tmp/"),
        ("temp_dir", "/"),
        ("upstream_host", "Flink-Rest.svc"),
        ("upstream_host", "a-rest.ns.svc:8081"),
        ("upstream_host", "evil;}server{"),
        ("upstream_host", "-rest.ns"),
        ("upstream_server_name", "a" * 64 + ".svc"),
        ("upstream_server_name", "rest.ns\n"),
        ("max_body_size", "0"),
        ("max_body_size", "256mb"),
        ("max_body_size", "256m;"),
        ("path_prefix", "etl/"),
        ("path_prefix", "/etl"),
        ("path_prefix", "/ETL/"),
        ("path_prefix", "/a/b/"),
        ("path_prefix", "/etl/\n"),
        ("health_path", "healthz"),
        ("health_path", "/healthz;"),
        ("health_path", "/healthz/"),
        ("worker_processes", 0),
        ("worker_processes", "auto"),
    ],
)
def test_rejects_an_invalid_field_naming_it_and_its_value(field, value):
    with pytest.raises(ValueError, match=re.escape(f"ProxyConfig.{field} ")) as caught:
        valid_config(**{field: value})
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("listen_port", 1),
        ("listen_port", 65535),
        ("upstream_host", "127.0.0.1"),
        ("max_body_size", "1"),
        ("max_body_size", "10G"),
        ("path_prefix", "/flink-ui-2/"),
        ("temp_dir", "/var/cache/nginx.d/tmp_1"),
        ("worker_processes", 1),
    ],
)
def test_accepts_valid_edge_values(field, value):
    assert getattr(valid_config(**{field: value}), field) == value


def sso_gate(**overrides) -> SsoGate:
    values = dict(
        host="etl-sso.flink.svc",
        port=4443,
        trusted_ca="/etc/proxy/config/sso-ca.crt",
        proxy_prefix="/oauth2",
        group_roles=(("flink-viewers", Role.VIEWER),),
        session_cookie="__Host-flink-sso",
        session_cache="/tmp/sso-sessions",
    )
    return SsoGate(**{**values, **overrides})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("session_cookie", 'flink"sso'),
        ("session_cookie", "flink sso"),
        ("session_cookie", ""),
        ("session_cache", "tmp/sso-sessions"),
        ("session_cache", "/tmp/sso sessions"),
    ],
)
def test_a_sign_on_gate_refuses_a_cookie_name_or_cache_directory_nginx_would_misread(field, value):
    with pytest.raises(ValueError, match=re.escape(f"SsoGate.{field} ")) as caught:
        sso_gate(**{field: value})
    assert repr(value) in str(caught.value)
    assert getattr(sso_gate(), field) != value, "control: the default is valid"


def test_rejects_a_health_path_that_collides_with_the_prefix_redirect():
    with pytest.raises(ValueError, match="ProxyConfig.health_path"):
        valid_config(path_prefix="/etl/", health_path="/etl")
    assert valid_config(path_prefix="/", health_path="/etl").health_path == "/etl"


# --- a real nginx -----------------------------------------------------------------------------------------
