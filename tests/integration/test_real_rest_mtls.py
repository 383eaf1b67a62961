"""The REST API behind the client-certificate proxy (RestMTLSIngress on OpenShift), on real nginx and real Flink.

Two `pulumi up`s of the ocp stack: the first issues certificates to ci-bot and alice, the second
removes alice. Flink and the proxy run from the second render; alice keeps her (still valid) files.
"""

import datetime
import json
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from components.render import names
from components.render.rest_access import CA_FILE, client_files
from tests.conftest import StackRunner, require_tool
from tests.integration.local_flink import LocalFlinkCluster, flink_home, require_flink, unchunk
from tests.integration.local_nginx import LocalNginx, free_port, scratch_dir
from tests.integration.proxy_from_render import local_proxy_conf
from tests.integration.writer_job import writer_job_jar

pytestmark = pytest.mark.real
DEPLOYMENT = "adhoc"
HOST = names.rest_api_host(DEPLOYMENT, "flink.apps.ocp.example.com")
CLIENTS = [{"name": "ci-bot"}, {"name": "alice"}]
JDK_WHY = "the seed flow compiles a small streaming job"


@pytest.fixture(scope="module")
def renders():
    runner = StackRunner("ocp")
    first = runner.up(restClients=CLIENTS)
    return first, runner.up(restClients=[{"name": "ci-bot"}])


@pytest.fixture(scope="module")
def gateway(renders, tmp_path_factory):
    _, current = renders
    require_flink("the REST API is proven on a real Flink JobManager")
    nginx = require_tool("nginx", "the client-certificate proxy is proven on real nginx")
    workdir = tmp_path_factory.mktemp("rest-mtls")
    ca_file = workdir / "ca.crt"
    ca_file.write_text(current.outputs["caCertificate"])
    cluster = LocalFlinkCluster.from_render(current, DEPLOYMENT, workdir)
    cluster.start("jobmanager", "jm")
    try:
        rest_name = names.rest_dns_names(DEPLOYMENT, "flink")[2]
        cluster.wait_for_taskmanagers(0, ca_file, rest_name)
        cluster.start("taskmanager", "tm")
        cluster.wait_for_taskmanagers(1, ca_file, rest_name)
        with scratch_dir() as root:
            port = free_port()
            conf = local_proxy_conf(
                current, f"{DEPLOYMENT}-api", root, listen_port=port, upstream_port=cluster.rest_port
            )
            with LocalNginx(nginx, conf, root, port):
                yield port, ca_file, workdir
    finally:
        cluster.stop()


def get(port: int, ca_file: Path, path: str, identity: tuple[Path, Path] | None = None) -> tuple[int, bytes]:
    context = ssl.create_default_context(cafile=str(ca_file))
    if identity:
        context.load_cert_chain(str(identity[0]), str(identity[1]))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=HOST) as tls,
    ):
        tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
        response = b""
        while chunk := tls.recv(1 << 16):
            response += chunk
    head, _, body = response.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = unchunk(body)
    return int(head.split()[1]), body


def issued_identity(result, client: str, directory: Path) -> tuple[Path, Path]:
    bundle = result.outputs["restClients"][client]
    cert, key = directory / f"{client}.crt", directory / f"{client}.key"
    cert.write_text(bundle["certificate"])
    key.write_text(bundle["privateKey"])
    return cert, key


def forged_identity(
    result, directory: Path, stem: str, *, usage, expired: bool = False, own_ca: bool = False
) -> tuple[Path, Path]:
    """A certificate signed by the stack's client CA key (or a CA of its own), with the given usage and age."""
    (ca_key_resource,) = [r for r in result.resources if r.name == "rest-clients-ca-key"]
    issuer_key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if own_ca
        else serialization.load_pem_private_key(ca_key_resource.outputs["privateKeyPem"].encode(), None)
    )
    issuer = x509.load_pem_x509_certificate(result.outputs["restClientCaCertificate"].encode()).subject
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.UTC)
    start, end = (
        (now - datetime.timedelta(days=10), now - datetime.timedelta(days=1))
        if expired
        else (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1))
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, stem)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def test_an_issued_client_gets_flinks_json(gateway, renders):
    port, ca_file, workdir = gateway
    status, body = get(port, ca_file, "/overview", issued_identity(renders[1], "ci-bot", workdir))
    assert status == 200 and "flink-version" in json.loads(body)


def test_a_removed_clients_still_valid_certificate_gets_403(gateway, renders):
    port, ca_file, workdir = gateway
    assert get(port, ca_file, "/overview", issued_identity(renders[0], "alice", workdir))[0] == 403


def test_no_client_certificate_gets_400_but_the_health_path_answers(gateway):
    port, ca_file, _ = gateway
    assert get(port, ca_file, "/overview")[0] == 400
    assert get(port, ca_file, names.HEALTH_PATH)[0] == 200


@pytest.mark.parametrize(
    "stem, usage, expired, own_ca",
    [
        ("other-ca", ExtendedKeyUsageOID.CLIENT_AUTH, False, True),
        ("expired", ExtendedKeyUsageOID.CLIENT_AUTH, True, False),
        ("server-only", ExtendedKeyUsageOID.SERVER_AUTH, False, False),
    ],
    ids=["certificate-from-another-ca", "expired-certificate", "server-auth-only-certificate"],
)
def test_a_certificate_that_fails_verification_gets_400(gateway, renders, stem, usage, expired, own_ca):
    port, ca_file, workdir = gateway
    identity = forged_identity(renders[1], workdir, stem, usage=usage, expired=expired, own_ca=own_ca)
    assert get(port, ca_file, "/overview", identity)[0] == 400


def test_the_forging_is_not_vacuous(gateway, renders):
    # Control: a certificate forged the same way, valid and for client auth, passes verification and
    # is then refused only by the allow-list (403, not 400).
    port, ca_file, workdir = gateway
    identity = forged_identity(renders[1], workdir, "valid-forgery", usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    assert get(port, ca_file, "/overview", identity)[0] == 403


def exported_files(result, client: str, directory: Path) -> Path:
    """The files a user writes from the stack outputs, as the README shows."""
    directory.mkdir(exist_ok=True)
    bundle = result.outputs["restClients"][client]
    cert_name, key_name = client_files(client)
    (directory / CA_FILE).write_text(result.outputs["caCertificate"])
    (directory / cert_name).write_text(bundle["certificate"])
    (directory / key_name).write_text(bundle["privateKey"])
    return directory


def test_the_seed_curl_flow_reads_a_running_jobs_writer_metrics(gateway, renders, tmp_path):
    port, _, workdir = gateway
    current = renders[1]
    files = exported_files(current, "ci-bot", tmp_path / "exported")
    jar = writer_job_jar(flink_home(), tmp_path / "job", require_tool("javac", JDK_WHY), require_tool("jar", JDK_WHY))
    curl = [
        "curl",
        "--silent",
        "--fail",
        "--connect-to",
        f"{HOST}:443:127.0.0.1:{port}",
        "--cert",
        "ci-bot.crt",
        "--key",
        "ci-bot.key",
        "--cacert",
        CA_FILE,
    ]
    uploaded = json.loads(
        subprocess.run(
            [*curl, "-F", f"jarfile=@{jar}", f"https://{HOST}/jars/upload"],
            cwd=files,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    )
    jar_id = uploaded["filename"].rsplit("/", 1)[-1]
    started = json.loads(
        subprocess.run(
            [*curl, "-X", "POST", f"https://{HOST}/jars/{jar_id}/run"],
            cwd=files,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    )
    job_id = started["jobid"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = json.loads(
            subprocess.run(
                [*curl, f"https://{HOST}/jobs/{job_id}"],
                cwd=files,
                capture_output=True,
                text=True,
                check=True,
                timeout=30,
            ).stdout
        )
        if job["state"] == "RUNNING" and all(v["status"] == "RUNNING" for v in job["vertices"]):
            break
        time.sleep(1)
    # The exported command, unchanged but for where the connection goes (SNI and verification keep the host).
    command = current.outputs["restCurl"][DEPLOYMENT].replace(
        "curl ", f"curl --connect-to {HOST}:443:127.0.0.1:{port} "
    )
    completed = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", command], cwd=files, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    metrics = json.loads(completed.stdout)
    assert set(metrics) == {"write-records", "write-records-complete"}
    assert completed.stdout.count('write-records"') == 1, "exactly one Writer vertex was read"
