"""REST clients' roles, called the way CI and operators call the REST API: real curl with each client's issued
certificate, through the Kubernetes entry point (nginx as ingress-nginx configures itself from the rendered Ingress,
then the rendered REST API proxy) to a real Flink session cluster running a real job. The same matrix as the UI
users' (test_real_roles.py): a viewer reads and changes nothing, an operator cancels, an admin uploads and runs."""

import json
import subprocess
from pathlib import Path

import pytest

from secure_flink.domain import names
from tests.conftest import StackRunner, require_tool
from tests.integration.software.client_certificates import issued_identity
from tests.integration.software.local_flink import flink_home, require_flink
from tests.integration.software.rest_gateway import running_rest_gateway
from tests.integration.software.session_cluster import SessionCluster, running_session_cluster
from tests.integration.software.writer_job import writer_job_jar

pytestmark = pytest.mark.real
DEPLOYMENT = "adhoc"
DOMAIN = "flink.example.com"
HOST = names.rest_api_host(DEPLOYMENT, DOMAIN)
CLIENTS = [
    {"name": "vera-bot", "role": "viewer"},
    {"name": "otto-bot", "role": "operator"},
    {"name": "ada-bot", "role": "admin"},
]
JDK_WHY = "the job the roles act on is compiled from Java"
CURL_SECONDS = 60


class RestApi:
    """The REST API's public host as curl reaches it, with each client's certificate; and Flink behind it."""

    def __init__(self, port: int, ca_file: Path, identities: dict[str, tuple[Path, Path]], workdir: Path, flink):
        self.port, self.ca_file, self.identities, self.workdir = port, ca_file, identities, workdir
        self.flink: SessionCluster = flink
        self.curl = require_tool("curl", "REST clients call the API with curl, as the README shows")

    def call(
        self, client: str, method: str, path: str, *, jar: Path | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """Status and body of curl's request; `--path-as-is` sends the path exactly as written."""
        cert, key = self.identities[client]
        out = self.workdir / "response"
        command = [
            self.curl,
            *("--silent", "--show-error", "--path-as-is", "--max-time", str(CURL_SECONDS)),
            *("--resolve", f"{HOST}:{self.port}:127.0.0.1", "--cacert", str(self.ca_file)),
            *("--cert", str(cert), "--key", str(key), "--request", method),
            *("--output", str(out), "--write-out", "%{http_code}"),
        ]
        for name, value in (headers or {}).items():
            command += ["--header", f"{name}: {value}"]
        if jar is not None:
            command += ["--form", f"jarfile=@{jar}"]
        done = subprocess.run(
            [*command, f"https://{HOST}:{self.port}{path}"], capture_output=True, text=True, timeout=CURL_SECONDS + 30
        )
        assert done.returncode == 0, done.stderr
        return int(done.stdout), out.read_bytes()

    def status(self, client: str, method: str, path: str, **kwargs) -> int:
        return self.call(client, method, path, **kwargs)[0]

    def run_jar(self, client: str, jar: Path) -> tuple[int, str | None]:
        """Upload and run the job as `client`: the upload's status, and the running job's id."""
        status, body = self.call(client, "POST", "/jars/upload", jar=jar)
        if status != 200:
            return status, None
        jar_id = json.loads(body)["filename"].rsplit("/", 1)[-1]
        status, body = self.call(client, "POST", f"/jars/{jar_id}/run")
        assert status == 200, body[:300]
        job = str(json.loads(body)["jobid"])
        self.flink.wait_for_state(job, "RUNNING")
        return status, job


@pytest.fixture(scope="module")
def jar(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("job")
    return writer_job_jar(flink_home(), workdir, require_tool("javac", JDK_WHY), require_tool("jar", JDK_WHY))


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    require_flink("REST clients' roles are proven in front of a real Flink session cluster")
    rendered = StackRunner("dev").up(domain=DOMAIN, restClients=CLIENTS)
    workdir = tmp_path_factory.mktemp("rest-roles")
    ca_file = workdir / "ca.crt"
    ca_file.write_text(rendered.outputs["caCertificate"])
    identities = {client["name"]: issued_identity(rendered, client["name"], workdir) for client in CLIENTS}
    with (
        running_session_cluster(rendered, DEPLOYMENT, workdir) as flink,
        running_rest_gateway(rendered, DEPLOYMENT, flink.cluster.rest_port) as gateway,
    ):
        yield RestApi(gateway.controller.port, ca_file, identities, workdir, flink)


@pytest.fixture(scope="module")
def job(api, jar) -> str:
    """A running job, started by the admin client."""
    status, job = api.run_jar("ada-bot", jar)
    assert status == 200 and job
    return job


def test_a_viewer_client_reads_jobs_metrics_logs_and_config(api, job):
    vertex = json.loads(api.call("vera-bot", "GET", f"/jobs/{job}")[1])["vertices"][0]["id"]
    for path in (
        "/overview",
        "/v1/overview",
        "/jobs/overview",
        f"/jobs/{job}",
        f"/jobs/{job}/vertices/{vertex}/metrics",
        "/jobmanager/config",
        "/jobmanager/log",
    ):
        assert api.status("vera-bot", "GET", path) == 200, path


def test_a_viewer_client_is_refused_every_change_and_the_job_keeps_running(api, job, jar):
    changes = [
        ("PATCH", f"/jobs/{job}"),
        ("PATCH", f"/jobs/{job}?mode=cancel"),
        ("GET", f"/jobs/{job}/yarn-cancel"),
        ("POST", f"/jobs/{job}/stop"),
        ("POST", f"/jobs/{job}/savepoints"),
        ("PUT", f"/jobs/{job}/resource-requirements"),
        ("DELETE", "/cluster"),
        # Flink's path quirks (it decodes twice; every route also answers under /v1), sent verbatim.
        ("GET", f"/jobs/{job}/yarn-c%2561ncel"),
        ("PATCH", f"/v1/jobs/{job}"),
        ("GET", f"/overview/../jobs/{job}/yarn-cancel"),
    ]
    for method, path in changes:
        assert api.status("vera-bot", method, path) in (400, 403), (method, path)
    assert api.run_jar("vera-bot", jar) == (403, None)
    assert api.flink.job_state(job) == "RUNNING"


def test_an_operator_client_cancels_a_job_but_cannot_run_code_or_stop_the_cluster(api, jar):
    assert api.run_jar("otto-bot", jar) == (403, None)
    assert api.status("otto-bot", "DELETE", "/cluster") == 403
    _, job = api.run_jar("ada-bot", jar)
    assert job
    assert api.status("otto-bot", "PATCH", f"/jobs/{job}?mode=cancel") == 202
    api.flink.wait_for_state(job, "CANCELED")
    assert api.status("otto-bot", "GET", "/overview") == 200, "the cluster is still up"


def test_an_admin_client_uploads_and_runs_a_jar(api, jar):
    status, job = api.run_jar("ada-bot", jar)
    assert status == 200 and job
    assert api.flink.job_state(job) == "RUNNING"
    api.flink.cancel(job)
