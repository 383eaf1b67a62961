"""The rendered basic-auth nginx.conf in real nginx on 127.0.0.1: logins, prefixes, upstream verification,
limits and TLS."""

import base64
import http.client
import json
import shutil
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from secure_flink.domain import flink_routes
from secure_flink.domain.htpasswd import HashScheme, htpasswd_file, htpasswd_line
from secure_flink.domain.nginx import ProxyConfig, nginx_conf
from secure_flink.domain.roles import Role
from tests.conftest import require_tool
from tests.integration.software.https_upstream import INDEX_HTML, OVERVIEW, RunningUpstream, https_upstream
from tests.integration.software.local_nginx import LOOPBACK, LocalNginx, check_config, free_port, scratch_dir
from tests.unit.render.proxy_roles import every_caller_an_admin
from tests.unit.render.test_nginx_conf import MAX_BODY, PASSWORD, UPSTREAM_NAME
from tests.unit.render.test_roles import JOB, sample_path


def write_ca_and_leaf(
    directory: Path, name: str, *identities: str, key_type: trustme.KeyType = trustme.KeyType.ECDSA
) -> None:
    """`<name>-ca.pem`, `<name>-chain.pem` (leaf then CA) and `<name>.key` in `directory`, from a trustme CA of
    their own."""
    ca = trustme.CA()
    leaf = ca.issue_cert(*identities, key_type=key_type)
    ca.cert_pem.write_to_path(directory / f"{name}-ca.pem")
    (directory / f"{name}-chain.pem").write_bytes(leaf.cert_chain_pems[0].bytes() + ca.cert_pem.bytes())
    leaf.private_key_pem.write_to_path(directory / f"{name}.key")


@dataclass(frozen=True)
class Site:
    """Certificates and the htpasswd for one test run; `files` is copied into each nginx's working dir."""

    scratch: Path
    files: Path
    users: dict[HashScheme, str]


@pytest.fixture(scope="module")
def nginx_bin() -> str:
    return require_tool("nginx", "the proxy tests run the rendered nginx.conf in a real nginx")


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with scratch_dir() as scratch:
        files = scratch / "files"
        files.mkdir()
        # An RSA key: only the cipher list, not the key type, then refuses the TLS 1.2 test's RSA key exchange.
        write_ca_and_leaf(files, "proxy", "localhost", LOOPBACK, key_type=trustme.KeyType.RSA)
        for name in ("flink", "rogue"):
            write_ca_and_leaf(files, name, UPSTREAM_NAME)
        users = {scheme: f"user-{scheme.value}" for scheme in HashScheme}
        lines = [htpasswd_line(users[s], PASSWORD, salt=f"Salt{i:012d}", scheme=s) for i, s in enumerate(HashScheme)]
        (files / "htpasswd").write_text(htpasswd_file(lines))
        yield Site(scratch, files, users)


def proxy_config(workdir: Path, upstream_port: int, **overrides) -> ProxyConfig:
    values = dict(
        listen_port=free_port(),
        server_certificate=str(workdir / "proxy-chain.pem"),
        server_key=str(workdir / "proxy.key"),
        upstream_host=LOOPBACK,
        upstream_port=upstream_port,
        upstream_server_name=UPSTREAM_NAME,
        upstream_trusted_ca=str(workdir / "flink-ca.pem"),
        htpasswd_file=str(workdir / "htpasswd"),
        max_body_size=MAX_BODY,
        temp_dir=str(workdir / "tmp"),
        worker_processes=1,
    )
    return ProxyConfig(
        **every_caller_an_admin({**values, **overrides}, tuple(f"user-{scheme.value}" for scheme in HashScheme))
    )


def workdir_for(site: Site, name: str) -> Path:
    workdir = site.scratch / name
    shutil.copytree(site.files, workdir)
    (workdir / "tmp").mkdir()
    return workdir


@dataclass(frozen=True)
class Proxy:
    nginx: LocalNginx
    config: ProxyConfig
    site: Site

    @property
    def port(self) -> int:
        return self.config.listen_port


@contextmanager
def running_proxy(nginx_bin: str, site: Site, name: str, upstream_port: int, **overrides) -> Iterator[Proxy]:
    workdir = workdir_for(site, name)
    config = proxy_config(workdir, upstream_port, **overrides)
    with LocalNginx(nginx_bin, nginx_conf(config), workdir, config.listen_port) as nginx:
        yield Proxy(nginx, config, site)


@pytest.fixture(scope="module")
def upstream(site) -> Iterator[RunningUpstream]:
    with https_upstream(site.files / "flink-chain.pem", site.files / "flink.key") as running:
        yield running


@pytest.fixture(scope="module")
def root_proxy(nginx_bin, site, upstream) -> Iterator[Proxy]:
    with running_proxy(nginx_bin, site, "root", upstream.port) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def etl_proxy(nginx_bin, site, upstream) -> Iterator[Proxy]:
    with running_proxy(nginx_bin, site, "etl", upstream.port, path_prefix="/etl/") as proxy:
        yield proxy


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


def client_context(site: Site, **tls) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=site.files / "proxy-ca.pem")
    for name, value in tls.items():
        setattr(context, name, value)
    return context


def basic(user: str, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def request(proxy: Proxy, path: str, *, headers=None, method: str = "GET", body: bytes | None = None) -> Response:
    """One request on a fresh client connection to the proxy, verified against the proxy's test CA."""
    connection = http.client.HTTPSConnection(LOOPBACK, proxy.port, context=client_context(proxy.site), timeout=20)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def login(proxy: Proxy) -> dict[str, str]:
    """Right credentials of the SSHA user, the default scheme."""
    return basic(proxy.site.users[HashScheme.SSHA])


@pytest.mark.real
@pytest.mark.parametrize("prefix", ["/", "/etl/"])
def test_real_nginx_accepts_the_rendered_config_as_a_non_root_user(nginx_bin, site, prefix):
    workdir = workdir_for(site, f"check{prefix.replace('/', '-')}")
    result = check_config(nginx_bin, nginx_conf(proxy_config(workdir, 8081, path_prefix=prefix)), workdir)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


@pytest.mark.real
def test_real_nginx_check_fails_when_a_referenced_file_is_missing(nginx_bin, site):
    workdir = workdir_for(site, "check-missing-ca")
    config = proxy_config(workdir, 8081, upstream_trusted_ca=str(workdir / "absent-ca.pem"))
    result = check_config(nginx_bin, nginx_conf(config), workdir)
    assert result.returncode != 0 and "absent-ca.pem" in result.stderr


@pytest.mark.real
def test_request_without_credentials_gets_401_with_a_basic_challenge(root_proxy):
    response = request(root_proxy, "/overview")
    assert response.status == 401
    assert response.headers["www-authenticate"] == 'Basic realm="Flink"'


@pytest.mark.real
def test_unknown_user_gets_401(root_proxy):
    assert request(root_proxy, "/overview", headers=basic("mallory")).status == 401


@pytest.mark.real
@pytest.mark.parametrize("scheme", list(HashScheme))
def test_each_hash_scheme_admits_the_right_password_and_only_it(root_proxy, scheme):
    user = root_proxy.site.users[scheme]
    right = request(root_proxy, "/overview", headers=basic(user))
    assert (right.status, right.json()) == (200, OVERVIEW)
    assert request(root_proxy, "/overview", headers=basic(user, PASSWORD[:-1] + "x")).status == 401


@pytest.mark.real
def test_upstream_never_receives_the_credentials(root_proxy, upstream, site):
    assert request(root_proxy, "/overview", headers=login(root_proxy)).status == 200
    seen = upstream.record.requests
    assert seen and not any("authorization" in r.headers for r in seen)
    assert seen[-1].headers["x-forwarded-proto"] == "https"
    assert seen[-1].headers["x-forwarded-for"] == LOOPBACK
    # Control: the recorder does keep an Authorization header when one arrives.
    flink_ca = ssl.create_default_context(cafile=site.files / "flink-ca.pem")
    flink_ca.check_hostname = False
    direct = http.client.HTTPSConnection(LOOPBACK, upstream.port, context=flink_ca, timeout=20)
    direct.request("GET", "/overview", headers=basic("direct"))
    direct.getresponse().read()
    direct.close()
    assert "authorization" in upstream.record.requests[-1].headers


@pytest.mark.real
def test_health_answers_without_credentials_and_without_calling_flink(root_proxy, upstream):
    before = len(upstream.record.requests)
    response = request(root_proxy, "/healthz")
    assert (response.status, response.body) == (200, b"ok")
    assert len(upstream.record.requests) == before
    assert request(root_proxy, "/healthz/x").status == 401


@pytest.mark.real
def test_any_other_path_needs_credentials(root_proxy):
    assert request(root_proxy, "/jobs/overview").status == 401
    assert request(root_proxy, "/").status == 401
    assert request(root_proxy, "/", headers=login(root_proxy)).body == INDEX_HTML


@pytest.mark.real
def test_every_response_carries_hsts_and_nosniff_and_no_version(root_proxy):
    for response in (request(root_proxy, "/overview"), request(root_proxy, "/overview", headers=login(root_proxy))):
        assert response.headers["strict-transport-security"] == "max-age=63072000"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["server"] == "nginx"


@pytest.mark.real
def test_access_log_names_the_user_but_never_the_credentials(root_proxy):
    headers = login(root_proxy)
    assert request(root_proxy, "/overview?marker=access-log", headers=headers).status == 200
    deadline = time.monotonic() + 5  # the log is buffered and flushed every second
    while "marker=access-log" not in (log := root_proxy.nginx.access_log()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "marker=access-log" in log and root_proxy.site.users[HashScheme.SSHA] in log
    assert headers["Authorization"].split()[1] not in log and PASSWORD not in log


@pytest.mark.real
def test_prefix_redirects_the_bare_name_to_the_slash_form(etl_proxy):
    response = request(etl_proxy, "/etl")
    assert (response.status, response.headers["location"]) == (301, "/etl/")


@pytest.mark.real
def test_prefix_is_stripped_before_forwarding(etl_proxy, upstream):
    index = request(etl_proxy, "/etl/", headers=login(etl_proxy))
    assert (index.status, index.body, upstream.record.requests[-1].path) == (200, INDEX_HTML, "/")
    overview = request(etl_proxy, "/etl/overview", headers=login(etl_proxy))
    assert (overview.json(), upstream.record.requests[-1].path) == (OVERVIEW, "/overview")


@pytest.mark.real
def test_paths_outside_the_prefix_need_credentials_and_are_never_proxied(etl_proxy, upstream):
    before = len(upstream.record.requests)
    assert request(etl_proxy, "/overview").status == 401
    assert request(etl_proxy, "/overview", headers=login(etl_proxy)).status == 404
    assert request(etl_proxy, "/", headers=login(etl_proxy)).status == 404
    assert len(upstream.record.requests) == before
    assert request(etl_proxy, "/healthz").status == 200


@pytest.mark.real
@pytest.mark.parametrize(("upstream_name", "status"), [("flink", 200), ("rogue", 502)])
def test_upstream_certificate_from_another_ca_gets_502(nginx_bin, site, upstream_name, status):
    chain, key = site.files / f"{upstream_name}-chain.pem", site.files / f"{upstream_name}.key"
    with (
        https_upstream(chain, key) as other,
        running_proxy(nginx_bin, site, f"ca-{upstream_name}", other.port) as proxy,
    ):
        assert request(proxy, "/overview", headers=login(proxy)).status == status
        if status == 502:
            assert other.record.requests == []
            assert "upstream SSL certificate verify error" in proxy.nginx.error_log()


@pytest.mark.real
def test_large_upload_streams_through_to_flink(root_proxy, upstream):
    body = b"\0" * (50 << 20)
    response = request(root_proxy, "/jars/upload", method="POST", body=body, headers=login(root_proxy))
    assert (response.status, response.json()) == (200, {"received": len(body)})
    assert upstream.record.requests[-1].body_bytes == len(body)


@pytest.mark.real
def test_body_above_the_limit_gets_413_and_never_reaches_flink(root_proxy, upstream):
    before = len(upstream.record.requests)
    connection = http.client.HTTPSConnection(
        LOOPBACK, root_proxy.port, context=client_context(root_proxy.site), timeout=20
    )
    try:
        connection.putrequest("POST", "/jars/upload")
        for name, value in {**login(root_proxy), "Content-Length": str((64 << 20) + 1)}.items():
            connection.putheader(name, value)
        connection.endheaders()
        assert connection.getresponse().status == 413
    finally:
        connection.close()
    assert len(upstream.record.requests) == before


def _connections_for(proxy: Proxy, upstream: RunningUpstream, requests: int) -> int:
    before = upstream.record.connections
    for _ in range(requests):
        assert request(proxy, "/overview", headers=login(proxy)).status == 200
    return upstream.record.connections - before


@pytest.mark.real
def test_upstream_connections_are_reused(root_proxy, upstream):
    assert _connections_for(root_proxy, upstream, 6) <= 1


@pytest.mark.real
def test_without_its_own_connection_header_a_block_loses_keepalive(nginx_bin, site, upstream):
    workdir = workdir_for(site, "no-keepalive")
    config = proxy_config(workdir, upstream.port)
    text = nginx_conf(config)
    assert text.count('proxy_set_header Connection "";') == 1
    broken = text.replace('proxy_set_header Connection "";', "")
    with LocalNginx(nginx_bin, broken, workdir, config.listen_port) as nginx:
        assert _connections_for(Proxy(nginx, config, site), upstream, 6) == 6


@pytest.mark.real
def test_clients_get_tls_1_3_and_tls_1_2_only_with_ecdhe(root_proxy):
    def handshake(**tls) -> str:
        with ssl.create_connection((LOOPBACK, root_proxy.port), timeout=20) as raw:
            context = client_context(root_proxy.site, **tls)
            with context.wrap_socket(raw, server_hostname=LOOPBACK) as tls_socket:
                return tls_socket.version()

    assert handshake() == "TLSv1.3"
    tls12 = {"maximum_version": ssl.TLSVersion.TLSv1_2}
    assert handshake(**tls12) == "TLSv1.2"
    rsa_kx = client_context(root_proxy.site, **tls12)
    rsa_kx.set_ciphers("AES128-GCM-SHA256")
    with pytest.raises(ssl.SSLError), ssl.create_connection((LOOPBACK, root_proxy.port), timeout=20) as raw:
        rsa_kx.wrap_socket(raw, server_hostname=LOOPBACK)


ROLE_OF_SCHEME = {HashScheme.SSHA: Role.VIEWER, HashScheme.APR1: Role.OPERATOR, HashScheme.SHA512_CRYPT: Role.ADMIN}


@pytest.fixture(scope="module", params=["/", "/etl/"], ids=["root", "prefix"])
def role_proxy(request, nginx_bin, site, upstream) -> Iterator[Proxy]:
    roles = tuple((site.users[scheme], role) for scheme, role in ROLE_OF_SCHEME.items())
    name = "roles-root" if request.param == "/" else "roles-etl"
    with running_proxy(nginx_bin, site, name, upstream.port, caller_roles=roles, path_prefix=request.param) as proxy:
        yield proxy


def role_corpus(prefix: str) -> list[tuple[str, str]]:
    """Every listed route (sampled), under /v1 and with another method; the Web UI; Flink's path quirks."""
    base = prefix.rstrip("/")
    requests = []
    for route in flink_routes.API_ROUTES:
        path = sample_path(route)
        requests += [(route.method, base + path), (route.method, f"{base}/v1{path}?get=a")]
        requests.append(("DELETE" if route.method != "DELETE" else "GET", base + path))
    requests += [("GET", f"{base}/"), ("GET", f"{base}/main.6cd446413e0aff84.js"), ("POST", f"{base}/jars/upload")]
    requests += [
        ("GET", f"{base}/jobs/{JOB}/yarn-c%2561ncel"),
        ("GET", f"{base}/jobs/{JOB}%2Fyarn-cancel"),
        ("GET", f"{base}/jobs/{JOB}/yarn-cancel%3Fx"),
        ("DELETE", f"{base}/cl%2575ster"),
        ("GET", f"{base}/%6Fverview"),
        ("GET", f"{base}//overview"),
        ("GET", f"{base}/./overview"),
        ("GET", f"{base}/overview/../jobs/{JOB}/yarn-cancel"),
        ("HEAD", f"{base}/overview"),
    ]
    return requests


def test_nginx_refuses_exactly_what_the_route_rules_say(role_proxy, site):
    """The nginx maps and `needed_role` are two renderings of one table: for every user and request, nginx says
    403 exactly when the user's role may not call what the request needs (else the upstream answers)."""
    prefix = role_proxy.config.path_prefix
    disagreements = []
    for scheme, role in ROLE_OF_SCHEME.items():
        credentials = basic(site.users[scheme])
        for method, path in role_corpus(prefix):
            status = request(role_proxy, path, headers=credentials, method=method).status
            needed = flink_routes.needed_role(method, path, prefix)
            if (status == 403) == role.may_call(needed):
                disagreements.append((role.value, method, path, status, needed.value))
    assert not disagreements, disagreements[:20]


def test_a_user_without_a_role_is_refused_everything_after_logging_in(nginx_bin, site, upstream):
    """Control: with a role for no one, even the overview is refused to a user whose password is right."""
    roles = ((site.users[HashScheme.APR1], Role.ADMIN),)
    with running_proxy(nginx_bin, site, "roles-none", upstream.port, caller_roles=roles) as proxy:
        assert request(proxy, "/overview", headers=basic(site.users[HashScheme.SSHA])).status == 403
        assert request(proxy, "/overview", headers=basic(site.users[HashScheme.APR1])).status == 200
