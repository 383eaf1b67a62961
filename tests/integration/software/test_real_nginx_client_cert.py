"""The rendered client-certificate nginx.conf in real nginx on 127.0.0.1: who gets in, who gets 400 or 403,
and what reaches Flink."""

import base64
import datetime
import http.client
import json
import re
import shutil
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from secure_flink.domain.nginx import ProxyConfig, nginx_conf
from tests.conftest import require_tool
from tests.integration.software.https_upstream import OVERVIEW, RunningUpstream, https_upstream
from tests.integration.software.local_nginx import LOOPBACK, LocalNginx, check_config, free_port, scratch_dir
from tests.unit.render.proxy_roles import every_caller_an_admin
from tests.unit.render.test_nginx_client_cert import CERTIFICATE_ERROR_PAGE, NO_CERTIFICATE_PAGE, UPSTREAM_NAME

CLIENTS = {
    "alice": ("client-ca", False),
    "bob": ("client-ca", False),
    "expired": ("client-ca", True),
    "rogue": ("rogue-ca", False),
    "proxy-upstream": ("upstream-client-ca", False),
}
# name -> the EKU of a client-ca leaf that trustme cannot issue (None: no EKU extension): _leaf_with_eku.
CLIENTS_WITH_OWN_EKU = {"server-purpose": [ExtendedKeyUsageOID.SERVER_AUTH], "no-eku": None}


def _leaf_with_eku(ca: trustme.CA, common_name: str, usages: list[x509.ObjectIdentifier] | None) -> tuple[bytes, bytes]:
    """Certificate and key (PEM) of a leaf of `ca` for `common_name` with the EKU `usages` (None: no EKU)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(x509.load_pem_x509_certificate(ca.cert_pem.bytes()).subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if usages is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    certificate = builder.sign(serialization.load_pem_private_key(ca.private_key_pem.bytes(), None), hashes.SHA256())
    no_encryption = serialization.NoEncryption()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, no_encryption)
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


@dataclass(frozen=True)
class Pki:
    """Certificate files in `files` (copied into each nginx's working dir) and each client's fingerprint."""

    scratch: Path
    files: Path
    fingerprints: dict[str, str]


@pytest.fixture(scope="module")
def pki() -> Iterator[Pki]:
    with scratch_dir() as scratch:
        files = scratch / "files"
        files.mkdir()
        cas = {name: trustme.CA() for name in ("server-ca", "client-ca", "rogue-ca", "upstream-client-ca")}
        for name, ca in cas.items():
            ca.cert_pem.write_to_path(files / f"{name}.pem")
        server = cas["server-ca"].issue_cert(UPSTREAM_NAME, "localhost", LOOPBACK)
        (files / "server.pem").write_bytes(server.cert_chain_pems[0].bytes() + cas["server-ca"].cert_pem.bytes())
        server.private_key_pem.write_to_path(files / "server.key")
        now = datetime.datetime.now(datetime.UTC)
        past = {"not_before": now - datetime.timedelta(days=2), "not_after": now - datetime.timedelta(days=1)}
        issued = {}
        for name, (ca_name, expired) in CLIENTS.items():
            client = cas[ca_name].issue_cert(common_name=name, **(past if expired else {}))
            issued[name] = client.cert_chain_pems[0].bytes(), client.private_key_pem.bytes()
        for name, usages in CLIENTS_WITH_OWN_EKU.items():
            issued[name] = _leaf_with_eku(cas["client-ca"], name, usages)
        fingerprints = {}
        for name, (certificate, key) in issued.items():
            (files / f"{name}.pem").write_bytes(certificate)
            (files / f"{name}.key").write_bytes(key)
            fingerprints[name] = x509.load_pem_x509_certificate(certificate).fingerprint(hashes.SHA1()).hex()
        yield Pki(scratch, files, fingerprints)


@pytest.fixture(scope="module")
def nginx_bin() -> str:
    return require_tool("nginx", "the client-certificate tests run the rendered nginx.conf in a real nginx")


@pytest.fixture(scope="module")
def upstream(pki) -> Iterator[RunningUpstream]:
    with https_upstream(pki.files / "server.pem", pki.files / "server.key") as running:
        yield running


@dataclass(frozen=True)
class Proxy:
    nginx: LocalNginx
    config: ProxyConfig
    pki: Pki


@contextmanager
def running_proxy(nginx_bin: str, pki: Pki, name: str, upstream_port: int, **overrides) -> Iterator[Proxy]:
    workdir = pki.scratch / name
    config = proxy_config(pki, workdir, upstream_port, **overrides)
    with LocalNginx(nginx_bin, nginx_conf(config), workdir, config.listen_port) as nginx:
        yield Proxy(nginx, config, pki)


def proxy_config(pki: Pki, workdir: Path, upstream_port: int, **overrides) -> ProxyConfig:
    """Client-certificate mode in a fresh copy of the PKI files at `workdir`, alice alone on the allow-list."""
    shutil.copytree(pki.files, workdir)
    (workdir / "tmp").mkdir()
    values = dict(
        listen_port=free_port(),
        server_certificate=str(workdir / "server.pem"),
        server_key=str(workdir / "server.key"),
        upstream_host=LOOPBACK,
        upstream_port=upstream_port,
        upstream_server_name=UPSTREAM_NAME,
        upstream_trusted_ca=str(workdir / "server-ca.pem"),
        client_ca_file=str(workdir / "client-ca.pem"),
        allowed_client_fingerprints=(pki.fingerprints["alice"],),
        max_body_size="1m",
        temp_dir=str(workdir / "tmp"),
        worker_processes=1,
    )
    return ProxyConfig(**every_caller_an_admin({**values, **overrides}, ("admin",)))


@pytest.fixture(scope="module")
def root_proxy(nginx_bin, pki, upstream) -> Iterator[Proxy]:
    with running_proxy(nginx_bin, pki, "root", upstream.port) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def etl_proxy(nginx_bin, pki, upstream) -> Iterator[Proxy]:
    with running_proxy(nginx_bin, pki, "etl", upstream.port, path_prefix="/etl/") as proxy:
        yield proxy


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


def get(proxy: Proxy, path: str, client: str | None) -> Response:
    """GET `path` on a fresh TLS connection, presenting `client`'s certificate (None: none), proxy verified."""
    context = ssl.create_default_context(cafile=proxy.pki.files / "server-ca.pem")
    if client is not None:
        context.load_cert_chain(proxy.pki.files / f"{client}.pem", proxy.pki.files / f"{client}.key")
    connection = http.client.HTTPSConnection(LOOPBACK, proxy.config.listen_port, context=context, timeout=20)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return Response(response.status, response.read())
    finally:
        connection.close()


def access_log_with(proxy: Proxy, marker: str) -> str:
    """The access log once it shows `marker` (it is buffered and flushed every second)."""
    deadline = time.monotonic() + 5
    while marker not in (log := proxy.nginx.access_log()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return log


# --- a real nginx -----------------------------------------------------------------------------------------


@pytest.mark.real
@pytest.mark.parametrize("prefix", ["/", "/etl/"])
def test_real_nginx_accepts_the_rendered_client_mode_config_as_a_non_root_user(nginx_bin, pki, prefix):
    workdir = pki.scratch / f"check{prefix.replace('/', '-')}"
    identity = {"upstream_client_certificate": "proxy-upstream.pem", "upstream_client_key": "proxy-upstream.key"}
    config = proxy_config(pki, workdir, 8081, path_prefix=prefix, **{k: str(workdir / v) for k, v in identity.items()})
    result = check_config(nginx_bin, nginx_conf(config), workdir)
    assert result.returncode == 0, result.stderr


@pytest.mark.real
def test_real_nginx_refuses_an_allow_list_naming_a_fingerprint_twice(nginx_bin, pki):
    workdir = pki.scratch / "check-duplicate"
    alice = pki.fingerprints["alice"]
    conf = nginx_conf(proxy_config(pki, workdir, 8081))
    doubled = conf.replace(f"{alice} 1;", f"{alice} 1;\n        {alice} 1;")
    assert check_config(nginx_bin, conf, workdir).returncode == 0  # control
    result = check_config(nginx_bin, doubled, workdir)
    assert result.returncode != 0 and "conflicting parameter" in result.stderr


@pytest.mark.real
def test_listed_client_gets_the_upstreams_json_without_its_certificate_forwarded(root_proxy, upstream):
    response = get(root_proxy, "/overview", "alice")
    assert (response.status, json.loads(response.body)) == (200, OVERVIEW)
    seen = upstream.record.requests[-1]
    assert seen.path == "/overview" and seen.client_common_name is None
    forwarded = json.dumps(seen.headers).lower()
    assert root_proxy.pki.fingerprints["alice"] not in forwarded and "certificate" not in forwarded
    assert "ssl" not in forwarded and "alice" not in forwarded


@pytest.mark.real
def test_request_without_a_client_certificate_gets_400_and_never_reaches_flink(root_proxy, upstream):
    before = len(upstream.record.requests)
    response = get(root_proxy, "/overview", None)
    assert response.status == 400 and NO_CERTIFICATE_PAGE in response.body
    assert len(upstream.record.requests) == before


@pytest.mark.real
@pytest.mark.parametrize(
    ("client", "reason"),
    [
        ("rogue", "unable to verify the first certificate"),
        ("expired", "certificate has expired"),
        # libssl verifies a client's chain for the "sslclient" purpose: an EKU without clientAuth fails it.
        ("server-purpose", "unsuitable certificate purpose"),
    ],
    ids=["another-ca", "expired", "server-auth-only-eku"],
)
def test_certificate_that_fails_verification_gets_400_and_never_reaches_flink(root_proxy, upstream, client, reason):
    before = len(upstream.record.requests)
    response = get(root_proxy, f"/overview?client={client}", client)
    assert response.status == 400 and CERTIFICATE_ERROR_PAGE in response.body
    assert len(upstream.record.requests) == before
    # The access log says why; at the rendered level (warn) the error log does not.
    line = [row for row in access_log_with(root_proxy, f"client={client}").splitlines() if f"client={client}" in row]
    # The role comes last: none, for a caller refused before any role is looked at.
    assert line and line[0].endswith(f'"FAILED:{reason}" role=')
    assert f"client={client}" not in root_proxy.nginx.error_log() and reason not in root_proxy.nginx.error_log()


@pytest.mark.real
def test_verified_client_missing_from_the_allow_list_gets_403(root_proxy, upstream):
    before = len(upstream.record.requests)
    assert get(root_proxy, "/overview", "bob").status == 403
    assert len(upstream.record.requests) == before
    assert get(root_proxy, "/overview", "alice").status == 200  # control: same request, listed client


@pytest.mark.real
def test_access_log_names_the_client_by_fingerprint_with_its_verify_result(root_proxy):
    for client in ("alice", "bob", None):
        get(root_proxy, f"/overview?who={client}", client)
    log = access_log_with(root_proxy, "who=None").splitlines()
    row = {client: next(r for r in log if f"who={client}" in r) for client in ("alice", "bob", "None")}
    # bob verifies but is off the allow-list, so no role names him.
    for client, role in (("alice", "admin"), ("bob", "")):
        assert f" - {root_proxy.pki.fingerprints[client]} [" in row[client]
        assert row[client].endswith(f'"SUCCESS" role={role}'), row[client]
    assert " - - [" in row["None"] and row["None"].endswith('"NONE" role=')


@pytest.mark.real
@pytest.mark.parametrize("client", [None, "alice", "bob"])
def test_health_answers_any_client_without_calling_flink(root_proxy, upstream, client):
    before = len(upstream.record.requests)
    response = get(root_proxy, "/healthz", client)
    assert (response.status, response.body) == (200, b"ok")
    assert len(upstream.record.requests) == before


@pytest.mark.real
def test_health_still_refuses_a_certificate_that_fails_verification(root_proxy):
    # nginx checks the verify result before it picks a location: a probe must send no certificate or a good one.
    assert get(root_proxy, "/healthz", "expired").status == 400
    assert get(root_proxy, "/healthz", None).status == 200  # control


HEALTH_ALIASES = ["/healthz", "//healthz", "/./healthz", "/x/../healthz", "/%68ealthz", "/healthz?x=1"]
ROOT_PATHS = {
    "/": 200,
    "/overview": 200,
    "/jobs/overview": 404,
    "/healthz/": 404,
    "/healthz/x": 404,
    "/healthz%2Fx": 404,
    # Matched as /overview, forwarded as sent: the upstream has no "/healthz/../overview".
    "/healthz/../overview": 404,
    "/HEALTHZ": 404,
    "/healthz.": 404,
    "/etl/overview": 404,
}
ETL_PATHS = {"/etl": 301, "/etl/": 200, "/etl/overview": 200, "/etl/../overview": 404, "/": 404, "/overview": 404}


@pytest.mark.real
@pytest.mark.parametrize(("proxy_name", "paths"), [("root_proxy", ROOT_PATHS), ("etl_proxy", ETL_PATHS)])
def test_no_path_but_health_is_served_without_a_verified_and_listed_certificate(request, upstream, proxy_name, paths):
    proxy = request.getfixturevalue(proxy_name)
    before = len(upstream.record.requests)
    outcomes = {path: (get(proxy, path, None).status, get(proxy, path, "bob").status) for path in paths}
    assert outcomes == {path: (400, 403) for path in paths}
    assert len(upstream.record.requests) == before
    # Controls: the listed client reaches each path (upstream status or the proxy's own 301/404) ...
    assert {path: get(proxy, path, "alice").status for path in paths} == paths
    # ... and every spelling of the health path is the health location, for anyone.
    for path in HEALTH_ALIASES:
        assert [get(proxy, path, client).body for client in (None, "bob")] == [b"ok", b"ok"], path


@pytest.fixture(scope="module")
def lenient_proxy(nginx_bin, pki, upstream) -> Iterator[Proxy]:
    """Lists every client certificate that should fail verification, plus the one without EKU; not alice."""
    listed = tuple(pki.fingerprints[name] for name in ("rogue", "expired", "server-purpose", "no-eku"))
    with running_proxy(nginx_bin, pki, "listed", upstream.port, allowed_client_fingerprints=listed) as proxy:
        yield proxy


@pytest.mark.real
def test_listing_a_fingerprint_admits_no_certificate_that_fails_verification(lenient_proxy):
    statuses = {name: get(lenient_proxy, "/overview", name).status for name in ("rogue", "expired", "server-purpose")}
    assert statuses == {"rogue": 400, "expired": 400, "server-purpose": 400}
    assert get(lenient_proxy, "/overview", "alice").status == 403  # control: this proxy's list is what decides


@pytest.mark.real
def test_certificate_without_any_eku_from_the_client_ca_passes_verification(lenient_proxy):
    # OpenSSL's "sslclient" purpose refuses an EKU that lacks clientAuth, not a missing EKU: the issuer must set it.
    response = get(lenient_proxy, "/overview", "no-eku")
    assert (response.status, json.loads(response.body)) == (200, OVERVIEW)


def _eventually(check, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)
    return check()


@pytest.mark.real
def test_upstream_requiring_client_certificates_refuses_a_proxy_without_its_own_with_502(nginx_bin, pki):
    chain, key = pki.files / "server.pem", pki.files / "server.key"
    with (
        https_upstream(chain, key, client_ca=pki.files / "upstream-client-ca.pem") as strict,
        running_proxy(nginx_bin, pki, "upstream-mtls-without", strict.port) as proxy,
    ):
        assert get(proxy, "/overview", "alice").status == 502
        assert strict.record.requests == []
        # Under TLS 1.3 nginx's handshake is done before the upstream judges its (empty) certificate, so the
        # refusal arrives as "connect() failed (32: Broken pipe)" or as "alert certificate required", by timing.
        refusal = r"Broken pipe\) while connecting to upstream|alert certificate required.* from upstream"
        assert re.search(refusal, proxy.nginx.error_log())
        assert _eventually(lambda: any("PEER_DID_NOT_RETURN_A_CERTIFICATE" in e for e in strict.record.errors))


@pytest.mark.real
def test_upstream_requiring_client_certificates_gets_the_proxys_own(nginx_bin, pki):
    chain, key = pki.files / "server.pem", pki.files / "server.key"
    workdir = pki.scratch / "upstream-mtls-with"
    identity = {
        "upstream_client_certificate": str(workdir / "proxy-upstream.pem"),
        "upstream_client_key": str(workdir / "proxy-upstream.key"),
    }
    with (
        https_upstream(chain, key, client_ca=pki.files / "upstream-client-ca.pem") as strict,
        running_proxy(nginx_bin, pki, workdir.name, strict.port, **identity) as proxy,
    ):
        response = get(proxy, "/overview", "alice")
        assert (response.status, json.loads(response.body)) == (200, OVERVIEW)
        # The proxy's identity upstream, never alice's: the client's certificate ends at the proxy.
        assert [r.client_common_name for r in strict.record.requests] == ["proxy-upstream"]
        assert strict.record.errors == []


@pytest.fixture(scope="module")
def gated_ui(nginx_bin, pki, upstream) -> Iterator[Proxy]:
    """Basic auth behind a caller certificate: a UI proxy that only its ingress controller (alice) may call."""
    (pki.files / "htpasswd").write_text("admin:{PLAIN}not-a-real-password\n")  # copied into the proxy's dir
    htpasswd = str(pki.scratch / "gated" / "htpasswd")
    with running_proxy(nginx_bin, pki, "gated", upstream.port, htpasswd_file=htpasswd) as proxy:
        yield proxy


def gated_get(proxy: Proxy, client: str | None, password: str | None) -> int:
    context = ssl.create_default_context(cafile=proxy.pki.files / "server-ca.pem")
    if client is not None:
        context.load_cert_chain(proxy.pki.files / f"{client}.pem", proxy.pki.files / f"{client}.key")
    headers = {"Authorization": "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()} if password else {}
    connection = http.client.HTTPSConnection(LOOPBACK, proxy.config.listen_port, context=context, timeout=20)
    try:
        connection.request("GET", "/overview", headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def test_with_both_checks_a_request_needs_the_callers_certificate_and_a_users_password(gated_ui):
    statuses = {
        "caller and user": gated_get(gated_ui, "alice", "not-a-real-password"),
        "caller, no user": gated_get(gated_ui, "alice", None),
        "caller, wrong password": gated_get(gated_ui, "alice", "wrong"),
        "user, no caller certificate": gated_get(gated_ui, None, "not-a-real-password"),
        "user, a verified caller not on the allow-list": gated_get(gated_ui, "bob", "not-a-real-password"),
    }
    assert statuses == {
        "caller and user": 200,
        "caller, no user": 401,
        "caller, wrong password": 401,
        "user, no caller certificate": 400,
        "user, a verified caller not on the allow-list": 403,
    }
