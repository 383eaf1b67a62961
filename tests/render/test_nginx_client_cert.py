"""Client-certificate mode of the proxy's nginx.conf: what it promises as text, and what a real nginx does with it.

The real tests run nginx on 127.0.0.1 in front of a Python HTTPS upstream, with a PKI made here: one server CA
(whose leaf serves both the upstream and the proxy), the client CA that signs REST clients, a rogue CA, and an
upstream-client CA that signs the proxy's own certificate towards an upstream requiring mTLS.
"""

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
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from secure_flink.domain.nginx import ProxyConfig, nginx_conf
from tests.conftest import require_tool
from tests.integration.https_upstream import OVERVIEW, RunningUpstream, https_upstream
from tests.integration.local_nginx import LOOPBACK, LocalNginx, check_config, free_port, scratch_dir

UPSTREAM_NAME = "etl-rest.flink.svc"
ALICE = "a1" * 20
BOB = "b2" * 20
GUARD = [
    ("if ($ssl_client_verify != SUCCESS)", ["return 496;"]),
    ("if ($client_allowed = 0)", ["return 403;"]),
]
NO_CERTIFICATE_PAGE = b"No required SSL certificate was sent"
CERTIFICATE_ERROR_PAGE = b"The SSL certificate error"


def valid_config(**overrides) -> ProxyConfig:
    """Client-certificate mode with alice and bob listed."""
    values = dict(
        listen_port=8443,
        server_certificate="/etc/proxy/tls/tls.crt",
        server_key="/etc/proxy/tls/tls.key",
        upstream_host="etl-rest.flink.svc.cluster.local",
        upstream_port=8081,
        upstream_server_name=UPSTREAM_NAME,
        upstream_trusted_ca="/etc/proxy/flink-ca/ca.crt",
        client_ca_file="/etc/proxy/client-ca/ca.crt",
        allowed_client_fingerprints=(ALICE, BOB),
        max_body_size="256m",
    )
    return ProxyConfig(**{**values, **overrides})


def basic_config(**overrides) -> ProxyConfig:
    return valid_config(**{"client_ca_file": None, "allowed_client_fingerprints": (), **overrides}, htpasswd_file="/h")


# --- the text as a tree -------------------------------------------------------------------------------------


@dataclass
class Block:
    """One `header { ... }`: its own directives and nested blocks, in order, comments left out."""

    header: str
    items: list["str | Block"] = field(default_factory=list)

    @property
    def directives(self) -> list[str]:
        return [item for item in self.items if isinstance(item, str)]

    @property
    def blocks(self) -> list["Block"]:
        return [item for item in self.items if isinstance(item, Block)]

    def walk(self) -> Iterator["Block"]:
        yield self
        for child in self.blocks:
            yield from child.walk()

    def shape(self) -> tuple[str, list]:
        return (self.header, [item if isinstance(item, str) else item.shape() for item in self.items])


def parse(conf: str) -> Block:
    """The rendered text as nested blocks; the renderer puts each `{` and `}` at the end of its own line."""
    stack = [Block("main")]
    for line in (raw.strip() for raw in conf.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.endswith(" {"):
            child = Block(line[:-2])
            stack[-1].items.append(child)
            stack.append(child)
        elif line == "}":
            stack.pop()
        else:
            stack[-1].items.append(line)
    assert len(stack) == 1, "unbalanced braces"
    return stack[0]


def only(tree: Block, header: str) -> Block:
    (found,) = [b for b in tree.walk() if b.header == header]
    return found


def locations(tree: Block) -> list[Block]:
    return [b for b in tree.walk() if b.header.startswith("location ")]


def unguarded(conf: str, health_path: str) -> list[str]:
    """Headers of the locations, health path aside, that do not start with both client checks, in order."""
    expected = [Block(header, list(body)).shape() for header, body in GUARD]
    return [
        b.header
        for b in locations(parse(conf))
        if b.header != f"location = {health_path}"
        and [item.shape() if isinstance(item, Block) else item for item in b.items[:2]] != expected
    ]


# --- the text ---------------------------------------------------------------------------------------------


def test_client_mode_verifies_certificates_optionally_against_the_client_ca_leaf_plus_ca_only():
    server = only(parse(nginx_conf(valid_config(client_ca_file="/ca/clients.pem"))), "server").directives
    assert "ssl_client_certificate /ca/clients.pem;" in server
    assert "ssl_verify_client optional;" in server
    assert "ssl_verify_depth 1;" in server


def all_directives(conf: str) -> list[str]:
    """Every directive and block header in `conf`, comments left out."""
    return [item for b in parse(conf).walk() for item in (b.header, *b.directives)]


def test_client_mode_has_no_basic_auth_and_basic_mode_no_client_certificates():
    client, basic = all_directives(nginx_conf(valid_config())), all_directives(nginx_conf(basic_config()))
    words = (
        "auth_basic ",
        "auth_basic_user_file ",
        "ssl_client_certificate ",
        "ssl_verify_client ",
        "ssl_verify_depth ",
    )
    assert [w for w in words if any(d.startswith(w) for d in basic)] == list(words[:2])
    assert [w for w in words if any(d.startswith(w) for d in client)] == list(words[2:])
    assert not any("$client_allowed" in d or d.startswith("if ") for d in basic)
    assert any("$client_allowed" in d for d in client) and any(d.startswith("if ") for d in client)


def test_allow_list_maps_each_listed_fingerprint_to_1_and_anything_else_to_0():
    tree = parse(nginx_conf(valid_config(allowed_client_fingerprints=(BOB, ALICE))))
    allow = only(tree, "map $ssl_client_fingerprint $client_allowed")
    assert allow.items == ["default 0;", f"{BOB} 1;", f"{ALICE} 1;"]
    assert allow in only(tree, "http").blocks


@pytest.mark.parametrize("prefix", ["/", "/etl/"])
def test_every_location_but_health_refuses_unverified_then_unlisted_clients_before_anything_else(prefix):
    conf = nginx_conf(valid_config(path_prefix=prefix))
    tree = parse(conf)
    assert len(locations(tree)) == (2 if prefix == "/" else 4)
    assert unguarded(conf, "/healthz") == []
    # The checks sit in locations, not at server level, where they would catch the health probe too.
    assert not [b for b in only(tree, "server").blocks if b.header.startswith("if ")]


def test_the_guard_check_spots_a_location_without_its_checks():
    conf = nginx_conf(valid_config(path_prefix="/etl/"))
    stripped = re.sub(r" *if \(\$client_allowed = 0\) \{\n *return 403;\n *\}\n", "", conf, count=1)
    assert stripped != conf
    assert unguarded(stripped, "/healthz") == ["location = /etl"]
    assert unguarded(nginx_conf(basic_config()), "/healthz") == ["location /"]


def test_health_path_answers_itself_with_no_client_check():
    health = only(parse(nginx_conf(valid_config(health_path="/ready"))), "location = /ready")
    assert health.items == ["access_log off;", "default_type text/plain;", 'return 200 "ok";']


def test_access_log_names_the_client_fingerprint_and_verify_result_instead_of_a_user():
    (client,) = [d for d in only(parse(nginx_conf(valid_config())), "http").directives if d.startswith("log_format ")]
    (basic,) = [d for d in only(parse(nginx_conf(basic_config())), "http").directives if d.startswith("log_format ")]
    assert "$ssl_client_fingerprint" in client and '"$ssl_client_verify"' in client and "$remote_user" not in client
    assert "$remote_user" in basic and "$ssl_client" not in basic


@pytest.mark.parametrize("make", [valid_config, basic_config], ids=["client-mode", "basic-mode"])
def test_proxy_presents_its_own_client_certificate_upstream_only_when_given_one(make):
    given = make(upstream_client_certificate="/up/tls.crt", upstream_client_key="/up/tls.key")
    (proxied,) = [b for b in parse(nginx_conf(given)).walk() if any(d.startswith("proxy_pass ") for d in b.directives)]
    assert proxied.directives[-2:] == ["proxy_ssl_certificate /up/tls.crt;", "proxy_ssl_certificate_key /up/tls.key;"]
    assert nginx_conf(given).count("proxy_ssl_certificate") == 2
    assert "proxy_ssl_certificate" not in nginx_conf(make())


def test_rendering_is_deterministic_and_braces_balance():
    conf = nginx_conf(valid_config(path_prefix="/etl/"))
    assert conf == nginx_conf(valid_config(path_prefix="/etl/"))
    assert conf.count("{") == conf.count("}") and conf.endswith("}\n")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"client_ca_file": None}, "ProxyConfig.htpasswd_file or ProxyConfig.client_ca_file must be set: neither"),
        ({"client_ca_file": None, "htpasswd_file": "/h"}, "allowed_client_fingerprints must be empty without"),
        ({"allowed_client_fingerprints": ()}, "ProxyConfig.allowed_client_fingerprints must list at least one"),
        ({"upstream_client_certificate": "/up/tls.crt"}, "ProxyConfig.upstream_client_key must be set together"),
        ({"upstream_client_key": "/up/tls.key"}, "ProxyConfig.upstream_client_certificate must be set together"),
    ],
    ids=["no-check", "allow-list-without-ca", "empty-allow-list", "certificate-without-key", "key-without-certificate"],
)
def test_rejects_a_combination_that_checks_nothing_or_half_naming_the_field(overrides, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        valid_config(**overrides)


def test_rejects_fingerprints_without_a_client_ca():
    with pytest.raises(ValueError, match=re.escape("ProxyConfig.allowed_client_fingerprints must be empty")):
        basic_config(allowed_client_fingerprints=(ALICE,))


def test_both_checks_render_the_caller_check_first_and_basic_auth_with_the_health_path_open():
    conf = nginx_conf(valid_config(htpasswd_file="/auth/htpasswd"))
    server = only(parse(conf), "server").directives
    assert {'auth_basic "Flink";', "auth_basic_user_file /auth/htpasswd;", "ssl_verify_client optional;"} <= set(server)
    assert unguarded(conf, "/healthz") == []
    assert "auth_basic off;" in only(parse(conf), "location = /healthz").directives


@pytest.mark.parametrize(
    ("field_name", "value"),
    [
        ("allowed_client_fingerprints", (ALICE.upper(),)),
        ("allowed_client_fingerprints", (":".join(re.findall("..", ALICE)),)),
        ("allowed_client_fingerprints", (ALICE[:-1],)),
        ("allowed_client_fingerprints", ("ab" * 32,)),
        ("allowed_client_fingerprints", (ALICE + " 1; default",)),
        ("allowed_client_fingerprints", [ALICE]),
        ("allowed_client_fingerprints", ALICE),
        ("allowed_client_fingerprints", (ALICE, ALICE)),
        ("client_ca_file", "ca.pem"),
        ("client_ca_file", "/etc/ca.pem; ssl_verify_client off"),
        ("upstream_client_certificate", "/up/tls crt"),
        ("upstream_client_key", "/up/{key}"),
    ],
)
def test_rejects_an_invalid_field_naming_it_and_its_value(field_name, value):
    pair = {"upstream_client_certificate": "/up/tls.crt", "upstream_client_key": "/up/tls.key"}
    overrides = {**(pair if field_name in pair else {}), field_name: value}
    with pytest.raises(ValueError, match=re.escape(f"ProxyConfig.{field_name} ")) as caught:
        valid_config(**overrides)
    assert repr(value) in str(caught.value)


def test_accepts_one_fingerprint_and_an_upstream_identity_in_either_mode():
    assert valid_config(allowed_client_fingerprints=(ALICE,)).allowed_client_fingerprints == (ALICE,)
    pair = {"upstream_client_certificate": "/up/tls.crt", "upstream_client_key": "/up/tls.key"}
    assert basic_config(**pair).upstream_client_key == "/up/tls.key"
    assert valid_config(**pair).upstream_client_certificate == "/up/tls.crt"


# --- certificates -------------------------------------------------------------------------------------------


# name -> (issuing CA, expired): trustme leaves for CN=<name>, with its EKU (clientAuth, serverAuth, codeSigning).
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
    return ProxyConfig(**{**values, **overrides})


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
    assert line and line[0].endswith(f'"FAILED:{reason}"')
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
    for client in ("alice", "bob"):
        assert f" - {root_proxy.pki.fingerprints[client]} [" in row[client] and row[client].endswith('"SUCCESS"')
    assert " - - [" in row["None"] and row["None"].endswith('"NONE"')


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
