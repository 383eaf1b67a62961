"""Roles at the UI proxy, on real nginx in front of a real Flink session cluster running a real job: a viewer
reads and is refused every change (also through Flink's path quirks), an operator cancels, an admin uploads and
runs a jar. Everything is configured from the rendered dev stack only."""

import json
from pathlib import Path

import pytest

from secure_flink.domain import names
from tests.conftest import StackRunner, require_tool
from tests.integration.software.https_client import basic_authorization, exchange, jar_upload_form, request_bytes
from tests.integration.software.local_flink import flink_home, require_flink
from tests.integration.software.local_nginx import LocalNginx, free_port, scratch_dir
from tests.integration.software.proxy_from_render import ingress_identity, local_proxy_conf
from tests.integration.software.session_cluster import SessionCluster, running_session_cluster
from tests.integration.software.writer_job import writer_job_jar

pytestmark = pytest.mark.real
DEPLOYMENT = "adhoc"
PREFIX = f"/{DEPLOYMENT}"
PROXY_NAME = names.proxy_dns_names(names.ui_service(DEPLOYMENT), "flink", None)[2]
JDK_WHY = "the job the roles act on is compiled from Java"
USERS = [{"name": "vera", "role": "viewer"}, {"name": "otto", "role": "operator"}, {"name": "ada", "role": "admin"}]


class Site:
    """The proxy as ingress-nginx calls it, and the Flink behind it (asked directly, to see what really happened)."""

    def __init__(
        self, port: int, ca_file: Path, caller: tuple[Path, Path], passwords: dict[str, str], flink: SessionCluster
    ) -> None:
        self.port, self.ca_file, self.caller, self.passwords, self.flink = port, ca_file, caller, passwords, flink

    def call(
        self, user: str | None, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        headers = dict(headers or {})
        if user is not None:
            headers["Authorization"] = basic_authorization(user, self.passwords[user])
        request = request_bytes(method, f"{PREFIX}{path}", PROXY_NAME, body, headers)
        return exchange(self.port, self.ca_file, PROXY_NAME, request, identity=self.caller, timeout=60)

    def status(self, user: str | None, method: str, path: str, **kwargs) -> int:
        return self.call(user, method, path, **kwargs)[0]

    def job_state(self, job: str) -> str:
        return self.flink.job_state(job)

    def wait_for_state(self, job: str, state: str) -> None:
        self.flink.wait_for_state(job, state)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    require_flink("roles are proven in front of a real Flink session cluster")
    nginx = require_tool("nginx", "roles are enforced by real nginx")
    rendered = StackRunner("dev").up(uiUsers=USERS)
    workdir = tmp_path_factory.mktemp("roles")
    with running_session_cluster(rendered, DEPLOYMENT, workdir) as flink, scratch_dir() as root:
        ca_file = root / "ca.crt"
        ca_file.write_text(rendered.outputs["caCertificate"])
        port = free_port()
        conf = local_proxy_conf(
            rendered, f"{DEPLOYMENT}-ui", root, listen_port=port, upstream_port=flink.cluster.rest_port
        )
        with LocalNginx(nginx, conf, root, port) as server:
            passwords = rendered.outputs["uiGeneratedPasswords"][DEPLOYMENT]
            yield Site(port, ca_file, ingress_identity(rendered, f"{DEPLOYMENT}-ui", root), passwords, flink)
            assert "emerg" not in server.error_log()


@pytest.fixture(scope="module")
def jar(tmp_path_factory) -> bytes:
    workdir = tmp_path_factory.mktemp("job")
    path = writer_job_jar(flink_home(), workdir, require_tool("javac", JDK_WHY), require_tool("jar", JDK_WHY))
    return path.read_bytes()


def run_jar_as(site: Site, user: str, jar: bytes) -> tuple[int, str | None]:
    """Upload and run the job as `user`: the upload's status, and the running job's id."""
    body, headers = jar_upload_form(jar)
    status, _, response = site.call(user, "POST", "/jars/upload", body=body, headers=headers)
    if status != 200:
        return status, None
    jar_id = json.loads(response)["filename"].rsplit("/", 1)[-1]
    status, _, response = site.call(user, "POST", f"/jars/{jar_id}/run")
    assert status == 200, response[:300]
    job = json.loads(response)["jobid"]
    site.wait_for_state(job, "RUNNING")
    return status, job


@pytest.fixture(scope="module")
def job(site, jar) -> str:
    """A running job, started by the admin: an admin uploads and runs jars."""
    status, job = run_jar_as(site, "ada", jar)
    assert status == 200 and job
    return job


def test_a_viewer_reads_the_ui_overview_jobs_metrics_logs_and_config(site, job):
    for path in ("/", "/config", "/overview", "/jobs/overview", f"/jobs/{job}", f"/jobs/{job}/exceptions"):
        assert site.status("vera", "GET", path) == 200, path
    vertex = json.loads(site.call("vera", "GET", f"/jobs/{job}")[2])["vertices"][0]["id"]
    for path in (f"/jobs/{job}/vertices/{vertex}/metrics", "/jobmanager/config", "/jobmanager/log", "/v1/overview"):
        assert site.status("vera", "GET", path) == 200, path


def test_a_viewer_is_refused_every_change_and_the_job_keeps_running(site, job, jar):
    changes = [
        ("GET", f"/jobs/{job}/yarn-cancel"),
        ("PATCH", f"/jobs/{job}"),
        ("PATCH", f"/jobs/{job}?mode=cancel"),
        ("POST", f"/jobs/{job}/stop"),
        ("POST", f"/jobs/{job}/savepoints"),
        ("PUT", f"/jobs/{job}/resource-requirements"),
        ("GET", "/jars"),
        ("DELETE", "/cluster"),
        ("GET", "/jobmanager/thread-dump"),
    ]
    for method, path in changes:
        assert site.status("vera", method, path) == 403, (method, path)
    assert run_jar_as(site, "vera", jar) == (403, None)
    assert site.job_state(job) == "RUNNING"


def test_flinks_path_quirks_do_not_get_a_viewer_past_the_rules(site, job):
    """Flink decodes a path twice and splits at a decoded `/` or `?` (each of these reaches the cancel handler or
    the shutdown when sent to Flink directly); a method-override header changes nothing for Flink or nginx."""
    tricks = [
        ("GET", f"/jobs/{job}/yarn-c%2561ncel"),
        ("GET", f"/jobs/{job}/yarn-c%61ncel"),
        ("GET", f"/jobs/{job}%2Fyarn-cancel"),
        ("GET", f"/jobs/{job}/yarn-cancel%3Fx"),
        ("GET", f"/v1/jobs/{job}/yarn-cancel"),
        ("GET", f"/jobs/{job}/yarn-cancel/"),
        ("GET", f"/overview/../jobs/{job}/yarn-cancel"),
        ("GET", f"//jobs/{job}/yarn-cancel"),
        ("DELETE", "/cl%2575ster"),
        ("PATCH", f"/jobs%2F{job}"),
    ]
    for method, path in tricks:
        assert site.status("vera", method, path) in (400, 403), (method, path)
    status, _, body = site.call("vera", "GET", f"/jobs/{job}", headers={"X-HTTP-Method-Override": "PATCH"})
    assert status == 200 and json.loads(body)["state"] == "RUNNING"
    assert site.job_state(job) == "RUNNING"
    assert site.status("vera", "GET", "/overview") == 200, "the cluster is still up"


def test_credentials_come_before_roles(site, job):
    """No credentials or a wrong password is a 401 whatever the route: a role is only looked at for a user whose
    password then checks out."""
    assert site.status(None, "GET", "/overview") == 401
    assert site.status(None, "GET", f"/jobs/{job}/yarn-cancel") == 401
    wrong = Site(site.port, site.ca_file, site.caller, {"ada": site.passwords["ada"] + "x"}, site.flink)
    assert wrong.status("ada", "DELETE", "/cluster") == 401
    assert site.job_state(job) == "RUNNING"


def test_an_operator_cannot_upload_or_run_code_nor_stop_the_cluster(site, jar):
    assert run_jar_as(site, "otto", jar) == (403, None)
    assert site.status("otto", "DELETE", "/cluster") == 403
    assert site.status("otto", "POST", "/jobs") == 403
    assert site.status("otto", "GET", "/overview") == 200


def test_a_cancel_from_another_site_is_refused_even_for_an_operator(site, job):
    """Flink cancels on a GET and allows every origin: a page elsewhere could make a signed-in browser send it."""
    for fetch_site in ("cross-site", "same-site"):
        headers = {"Sec-Fetch-Site": fetch_site}
        assert site.status("otto", "GET", f"/jobs/{job}/yarn-cancel", headers=headers) == 403
    assert site.job_state(job) == "RUNNING"
    _, headers, _ = site.call("otto", "GET", "/overview")
    assert "access-control-allow-origin" not in headers


def test_an_operator_cancels_a_job_as_the_web_ui_does(site, jar):
    _, job = run_jar_as(site, "ada", jar)
    assert job
    status = site.status("otto", "GET", f"/jobs/{job}/yarn-cancel", headers={"Sec-Fetch-Site": "same-origin"})
    assert status == 202
    site.wait_for_state(job, "CANCELED")


def test_an_admin_uploads_and_runs_a_jar_and_cancels_by_patch(site, jar):
    status, job = run_jar_as(site, "ada", jar)
    assert status == 200 and job
    assert site.status("ada", "PATCH", f"/jobs/{job}") == 202
    site.wait_for_state(job, "CANCELED")
