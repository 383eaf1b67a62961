"""Flink-native REST mTLS (`restAuthentication: mtls`) on a real JobManager, from the rendered ocp stack.

Two `pulumi up`s: the first issues ci-bot and alice, the second removes alice. Flink, the UI proxy
(basic auth) and the REST proxy (client certificates) run from the second render.
"""

import base64
import json
import re
import ssl
import subprocess
from pathlib import Path

import pytest

from components.render import names
from tests.conftest import StackRunner, require_tool
from tests.integration.local_flink import require_flink, rest_get, running_jobmanager, write_pem_identity
from tests.integration.local_nginx import LocalNginx, free_port, scratch_dir
from tests.integration.proxy_from_render import local_proxy_conf
from tests.integration.tls_probe import handshake

pytestmark = pytest.mark.real
DEPLOYMENT = "adhoc"
REST_NAME = names.rest_dns_names(DEPLOYMENT, "flink")[2]
DOMAIN = "flink.apps.ocp.example.com"
NGINX_WHY = "the proxies are proven on real nginx"


def mtls_deployments(runner: StackRunner) -> list[dict]:
    deployments = runner.values["deployments"]
    for item in deployments:
        if item["name"] == DEPLOYMENT:
            item["restAuthentication"] = "mtls"
    return deployments


@pytest.fixture(scope="module")
def renders():
    runner = StackRunner("ocp")
    deployments = mtls_deployments(runner)
    first = runner.up(deployments=deployments, restClients=[{"name": "ci-bot"}, {"name": "alice"}])
    return first, runner.up(deployments=deployments, restClients=[{"name": "ci-bot"}])


def pem_files(bundle: dict, directory: Path, stem: str) -> tuple[Path, Path]:
    cert, key = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert.write_text(bundle["certificate"])
    key.write_text(bundle["privateKey"])
    return cert, key


@pytest.fixture(scope="module")
def flink(renders, tmp_path_factory):
    _, current = renders
    require_flink("REST mTLS is proven on a real Flink JobManager")
    workdir = tmp_path_factory.mktemp("native-mtls")
    with running_jobmanager(current, DEPLOYMENT, workdir) as (cluster, ca_file):
        yield cluster, ca_file, workdir


def direct(flink, identity: tuple[Path, Path] | None) -> dict:
    cluster, ca_file, _ = flink
    return json.loads(rest_get(cluster.rest_port, "/overview", ca_file, REST_NAME, identity=identity))


def test_flink_refuses_a_client_without_certificate(flink):
    with pytest.raises((ssl.SSLError, ConnectionError)):
        direct(flink, None)


def test_an_issued_client_certificate_gets_in(flink, renders):
    _, _, workdir = flink
    identity = pem_files(renders[1].outputs["restClients"]["ci-bot"], workdir, "ci-bot")
    assert "flink-version" in direct(flink, identity)


def test_a_removed_clients_certificate_is_refused_by_flink(flink, renders):
    _, _, workdir = flink
    identity = pem_files(renders[0].outputs["restClients"]["alice"], workdir, "alice")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        direct(flink, identity)


def test_the_operator_gets_in_with_its_keystore(flink, renders):
    _, current = renders
    _, _, workdir = flink
    (truststore,) = [r for r in current.by_type("kubernetes:core/v1:Secret") if r.name == "operator-trust-truststore"]
    (password,) = [
        r
        for r in current.resources
        if r.name == "operator-trust-password" and r.custom and r.type.startswith("random:")
    ]
    identity = write_pem_identity(
        base64.b64decode(truststore.inputs["data"]["keystore.jks"]), password.outputs["result"], workdir, "operator"
    )
    assert "flink-version" in direct(flink, identity)


def test_flinks_own_cli_uses_the_rest_keystore(flink):
    cluster, _, _ = flink
    conf_dir = cluster.workdir / "conf-jm"
    completed = subprocess.run(
        [str(cluster.home / "bin" / "flink"), "list"],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "FLINK_CONF_DIR": str(conf_dir),
            "PATH": "/usr/bin:/bin",
            "JAVA_HOME": str(Path(require_tool("java", "CLI")).resolve().parents[1]),
        },
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert "No running jobs" in completed.stdout or "Running/Restarting Jobs" in completed.stdout


def start_proxy(rendered, component: str, upstream_port: int, root: Path, *, drop_identity: bool = False):
    port = free_port()
    conf = local_proxy_conf(rendered, component, root, listen_port=port, upstream_port=upstream_port)
    if drop_identity:
        conf = re.sub(r"\s*proxy_ssl_certificate(_key)? [^;]+;", "", conf)
    return LocalNginx(require_tool("nginx", NGINX_WHY), conf, root, port), port


def proxied_status(
    port: int,
    ca_file: Path,
    host: str,
    path: str,
    *,
    basic: tuple[str, str] | None = None,
    identity: tuple[Path, Path] | None = None,
) -> int:
    context = ssl.create_default_context(cafile=str(ca_file))
    if identity:
        context.load_cert_chain(str(identity[0]), str(identity[1]))
    import socket

    headers = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
    if basic:
        headers += "Authorization: Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode() + "\r\n"
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall((headers + "\r\n").encode())
        response = tls.recv(1 << 16)
    return int(response.split()[1])


@pytest.mark.parametrize("drop_identity, expected", [(False, 200), (True, 502)], ids=["with-identity", "without"])
def test_the_ui_proxy_reaches_flink_only_with_its_own_certificate(flink, renders, drop_identity, expected):
    _, current = renders
    cluster, ca_file, _ = flink
    host = names.proxy_dns_names(names.ui_service(DEPLOYMENT), "flink", None)[2]
    login = ("admin", current.outputs["uiGeneratedPasswords"][DEPLOYMENT]["admin"])
    with scratch_dir() as root:
        server, port = start_proxy(current, f"{DEPLOYMENT}-ui", cluster.rest_port, root, drop_identity=drop_identity)
        with server:
            assert proxied_status(port, ca_file, host, "/overview", basic=login) == expected


def test_the_rest_proxy_carries_a_client_certificate_on_both_hops(flink, renders):
    _, current = renders
    cluster, ca_file, workdir = flink
    identity = pem_files(current.outputs["restClients"]["ci-bot"], workdir, "ci-bot-proxied")
    with scratch_dir() as root:
        server, port = start_proxy(current, f"{DEPLOYMENT}-api", cluster.rest_port, root)
        with server:
            host = names.rest_api_host(DEPLOYMENT, DOMAIN)
            assert proxied_status(port, ca_file, host, "/overview", identity=identity) == 200


def test_under_rest_mtls_flink_enforces_the_configured_protocol_and_suites_on_rest(flink, renders):
    # The counterpart of FLINK-39969 (see test_real_flink.py): with client authentication on, the REST
    # server applies security.ssl.protocol and security.ssl.algorithms like the internal endpoints do.
    cluster, _, workdir = flink
    openssl = require_tool("openssl", "probes what the REST endpoint negotiates")
    cert, key = pem_files(renders[1].outputs["restClients"]["ci-bot"], workdir, "ci-bot-probe")
    conf = cluster.configuration
    assert conf["security.ssl.protocol"] == "TLSv1.3"

    def accepted(version: str, cipher: str | None = None) -> bool:
        return handshake(openssl, cluster.rest_port, version=version, cipher=cipher, cert=cert, key=key).accepted

    for suite in conf["security.ssl.algorithms"].split(","):
        assert accepted("tls1_3", suite), suite
    assert not accepted("tls1_3", "TLS_CHACHA20_POLY1305_SHA256")
    for cipher in ("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-SHA", "AES128-GCM-SHA256"):
        assert not accepted("tls1_2", cipher), cipher
