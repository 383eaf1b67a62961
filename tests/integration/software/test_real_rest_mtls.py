"""The REST API behind the client-certificate proxy (RestMTLSIngress on OpenShift), on real nginx and real Flink.

Two `pulumi up`s of the ocp stack: the first issues certificates to ci-bot and alice, the second
removes alice. Flink and the proxy run from the second render; alice keeps her (still valid) files.
"""

import json
import subprocess
import time
from pathlib import Path

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

from secure_flink.domain import names
from secure_flink.domain.rest_access import CA_FILE, client_files
from tests.conftest import StackRunner, require_tool
from tests.integration.software.client_certificates import forged_identity, issued_identity
from tests.integration.software.https_client import exchange
from tests.integration.software.local_flink import LocalFlinkCluster, flink_home, require_flink, rest_ca_file
from tests.integration.software.local_nginx import LocalNginx, free_port, scratch_dir
from tests.integration.software.proxy_from_render import local_proxy_conf
from tests.integration.software.writer_job import writer_job_jar

pytestmark = pytest.mark.real
DEPLOYMENT = "adhoc"
HOST = names.rest_api_host(DEPLOYMENT, "flink.apps.ocp.example.com")
# The seed's CI uploads and runs the job it then reads: an admin's routes.
CI_BOT = {"name": "ci-bot", "role": "admin"}
CLIENTS = [CI_BOT, {"name": "alice", "role": "viewer"}]
JDK_WHY = "the seed flow compiles a small streaming job"


@pytest.fixture(scope="module")
def renders():
    runner = StackRunner("ocp")
    first = runner.up(restClients=CLIENTS)
    return first, runner.up(restClients=[CI_BOT])


@pytest.fixture(scope="module")
def gateway(renders, tmp_path_factory):
    _, current = renders
    require_flink("the REST API is proven on a real Flink JobManager")
    nginx = require_tool("nginx", "the client-certificate proxy is proven on real nginx")
    workdir = tmp_path_factory.mktemp("rest-mtls")
    # The proxy serves a certificate from the stack CA; Flink one from its deployment's REST CA.
    ca_file = workdir / "ca.crt"
    ca_file.write_text(current.outputs["caCertificate"])
    flink_ca = rest_ca_file(current, DEPLOYMENT, workdir)
    cluster = LocalFlinkCluster.from_render(current, DEPLOYMENT, workdir)
    cluster.start("jobmanager", "jm")
    try:
        rest_name = names.rest_dns_names(DEPLOYMENT, "flink")[2]
        cluster.wait_for_taskmanagers(0, flink_ca, rest_name)
        cluster.start("taskmanager", "tm")
        cluster.wait_for_taskmanagers(1, flink_ca, rest_name)
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
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()
    status, _, body = exchange(port, ca_file, HOST, request, identity=identity, timeout=10)
    return status, body


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
