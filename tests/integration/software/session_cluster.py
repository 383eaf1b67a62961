"""A rendered deployment as a Flink session cluster on 127.0.0.1 (a JobManager and one TaskManager), and the calls
tests make to Flink directly, as the pods' own CLI would: to set jobs up, and to see what really happened to them
behind a proxy."""

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from offline.engine import RunResult
from secure_flink.domain import names
from tests.integration.software.https_client import exchange, jar_upload_form, request_bytes
from tests.integration.software.local_flink import FLINK_DEPLOYMENT, LocalFlinkCluster, rest_ca_file

STATE_SECONDS = 60
# The JobManager and the TaskManager start together; on 2 busy cores (load 10) they took 28 s.
START_SECONDS = 120


@dataclass(frozen=True)
class SessionCluster:
    cluster: LocalFlinkCluster
    ca_file: Path
    """The deployment's REST CA, which verifies Flink's REST endpoint."""
    server_name: str
    """The REST certificate's cluster-local name, as proxies verify it."""

    def call(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
        """The body of Flink's answer; AssertionError unless 2xx."""
        request = request_bytes(method, path, self.server_name, body, headers)
        status, _, response = exchange(
            self.cluster.rest_port, self.ca_file, self.server_name, request, identity=self.cluster.client_identity
        )
        assert 200 <= status < 300, f"{method} {path}: {status} {response[:300]!r}"
        return response

    def job_state(self, job: str) -> str:
        return str(json.loads(self.call("GET", f"/jobs/{job}/status"))["status"])

    def wait_for_state(self, job: str, state: str, seconds: float = STATE_SECONDS) -> None:
        deadline = time.monotonic() + seconds
        while self.job_state(job) != state:
            assert time.monotonic() < deadline, f"job {job} never reached {state}: {self.job_state(job)}"
            time.sleep(0.5)

    def upload_jar(self, jar: bytes) -> str:
        """The id Flink gives the uploaded jar."""
        body, headers = jar_upload_form(jar)
        return str(json.loads(self.call("POST", "/jars/upload", body, headers))["filename"]).rsplit("/", 1)[-1]

    def run_jar(self, jar_id: str) -> str:
        """The id of the job the jar's main() submits, once it runs."""
        job = str(json.loads(self.call("POST", f"/jars/{jar_id}/run"))["jobid"])
        self.wait_for_state(job, "RUNNING")
        return job

    def cancel(self, job: str) -> None:
        """Cancel the job unless it has ended, and wait until it has."""
        if self.job_state(job) in ("CANCELED", "FINISHED", "FAILED"):
            return
        self.call("PATCH", f"/jobs/{job}")
        self.wait_for_state(job, "CANCELED")


@contextmanager
def running_session_cluster(result: RunResult, deployment: str, workdir: Path) -> Iterator[SessionCluster]:
    """The rendered deployment's JobManager and one TaskManager, until both serve; stops them at exit."""
    ca_file = rest_ca_file(result, deployment, workdir)
    (flink,) = [r for r in result.by_type(FLINK_DEPLOYMENT) if r.name == deployment]
    server_name = names.rest_dns_names(deployment, flink.inputs["metadata"]["namespace"])[2]
    cluster = LocalFlinkCluster.from_render(result, deployment, workdir)
    try:
        # Both at once: the TaskManager retries until the JobManager listens (their JVMs start in parallel).
        cluster.start("jobmanager", "jm")
        cluster.start("taskmanager", "tm")
        cluster.wait_for_taskmanagers(1, ca_file, server_name, timeout=START_SECONDS)
        yield SessionCluster(cluster, ca_file, server_name)
    finally:
        cluster.stop()
