"""Roles in the real Flink Web UI, used by headless Chromium as a person uses it: a viewer finds the running job and
presses Cancel Job, and the proxy refuses (403, the job runs on); an operator does the same and the job is cancelled;
an admin uploads the job's jar on the Submit New Job page and runs it. Behind the browser: nginx configured as
ingress-nginx configures itself from the rendered UI Ingress, the real UI proxy, and a Flink session cluster; all
from one render of the dev stack with a domain. The browser trusts the stack's CA and nothing else, and reaches the
UI by its host name. Each test saves a screenshot to build/screenshots/<test name>.png."""

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from secure_flink.domain import names
from tests.conftest import StackRunner, require_tool
from tests.integration.software.browser import BrowserTools, Chromium, goto, require_browser, screenshot_path
from tests.integration.software.flink_ui_steps import (
    JOB_PAGE,
    assert_screenshot,
    cancel_in_the_ui,
    shown,
    submit_in_the_ui,
)
from tests.integration.software.local_flink import flink_home, require_flink
from tests.integration.software.rest_gateway import ingress_named, running_gateway
from tests.integration.software.session_cluster import SessionCluster, running_session_cluster
from tests.integration.software.writer_job import writer_job_jar

pytestmark = pytest.mark.real
DEPLOYMENT = "adhoc"
DOMAIN = "flink.example.com"
HOST = names.ui_host(DEPLOYMENT, DOMAIN)
USERS = [{"name": "vera", "role": "viewer"}, {"name": "otto", "role": "operator"}, {"name": "ada", "role": "admin"}]
WHY = "the roles are shown in the real Flink Web UI, in a real browser"
JDK_WHY = "the job the roles act on is compiled from Java"


@dataclass(frozen=True)
class WebUI:
    url: str
    """The UI's address, by its public host name, on the local ingress."""
    ca_file: Path
    passwords: dict[str, str]
    flink: SessionCluster

    def login(self, user: str) -> tuple[str, str]:
        return user, self.passwords[user]


@pytest.fixture(scope="module")
def tools() -> BrowserTools:
    return require_browser(WHY)


@pytest.fixture(scope="module")
def ui(tools, tmp_path_factory) -> Iterator[WebUI]:
    require_flink("the Web UI is Flink's own, served by a real session cluster")
    rendered = StackRunner("dev").up(uiUsers=USERS, domain=DOMAIN)
    workdir = tmp_path_factory.mktemp("ui-roles")
    ca_file = workdir / "ca.crt"
    ca_file.write_text(rendered.outputs["caCertificate"])
    ingress = ingress_named(rendered, names.ui_service(DEPLOYMENT))
    with (
        running_session_cluster(rendered, DEPLOYMENT, workdir) as flink,
        running_gateway(rendered, f"{DEPLOYMENT}-ui", ingress, flink.cluster.rest_port) as gateway,
    ):
        passwords = rendered.outputs["uiGeneratedPasswords"][DEPLOYMENT]
        yield WebUI(f"https://{HOST}:{gateway.controller.port}/", ca_file, passwords, flink)


@pytest.fixture(scope="module")
def browser(tools, ui) -> Iterator[Chromium]:
    with Chromium(tools, trusted=[ui.ca_file], hosts=[HOST]) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def jar(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("job")
    return writer_job_jar(flink_home(), workdir, require_tool("javac", JDK_WHY), require_tool("jar", JDK_WHY))


@pytest.fixture(scope="module")
def jar_id(ui, jar) -> str:
    return ui.flink.upload_jar(jar.read_bytes())


@pytest.fixture
def job(ui, jar_id) -> Iterator[str]:
    """A running job of the test's own, started at Flink directly: the only one in the UI's running list."""
    job = ui.flink.run_jar(jar_id)
    yield job
    ui.flink.cancel(job)


def test_a_viewer_sees_the_running_job_and_the_ui_cannot_cancel_it(ui, browser, job, request):
    shot = screenshot_path(request.node.name)
    outcome = browser.run(
        [*cancel_in_the_ui(ui.url, job), *shown("RUNNING", shot)],
        login=ui.login("vera"),
        failure_screenshot=shot,
    )
    assert outcome.ok, outcome
    assert outcome.statuses(f"/jobs/{job}/yarn-cancel$") == [403]
    assert ui.flink.job_state(job) == "RUNNING"
    assert_screenshot(shot)


def test_an_operator_cancels_the_job_in_the_ui(ui, browser, job, request):
    """The browser marks the UI's own requests same-origin, which the proxy's cross-site rule lets through."""
    shot = screenshot_path(request.node.name)
    outcome = browser.run(
        [*cancel_in_the_ui(ui.url, job), *shown("CANCELED", shot)],
        login=ui.login("otto"),
        failure_screenshot=shot,
    )
    assert outcome.ok, outcome
    assert outcome.statuses(f"/jobs/{job}/yarn-cancel$") == [202]
    assert ui.flink.job_state(job) == "CANCELED"
    assert_screenshot(shot)


def test_an_admin_uploads_and_runs_a_jar_in_the_ui(ui, browser, jar, request, tmp_path):
    shot = screenshot_path(request.node.name)
    named = tmp_path / "uploaded-in-the-ui.jar"
    shutil.copy(jar, named)
    outcome = browser.run(
        [*submit_in_the_ui(ui.url, named), *shown("RUNNING", shot)],
        login=ui.login("ada"),
        failure_screenshot=shot,
    )
    assert outcome.ok, outcome
    assert outcome.statuses("/jars/upload$", "POST") == [200]
    assert outcome.statuses("/jars/[^/]+/run$", "POST") == [200]
    job = re.search(JOB_PAGE, outcome.url or "")
    assert job, outcome.url
    try:
        assert ui.flink.job_state(job.group(1)) == "RUNNING"
    finally:
        ui.flink.cancel(job.group(1))
    assert_screenshot(shot)


def test_the_browser_verifies_the_ui_certificate(tools, ui):
    """Controls: a browser that trusts no CA of ours cannot open the UI, nor can one that trusts the stack's CA by a
    name the certificate does not carry; so the tests above verified the UI's certificate for its host name."""
    with Chromium(tools, hosts=[HOST]) as untrusting:
        outcome = untrusting.run([goto(ui.url)], login=ui.login("vera"))
    assert "ERR_CERT_AUTHORITY_INVALID" in (outcome.error or ""), outcome
    other = f"other.{DOMAIN}"
    with Chromium(tools, trusted=[ui.ca_file], hosts=[other]) as misnamed:
        outcome = misnamed.run([goto(ui.url.replace(HOST, other))], login=ui.login("vera"))
    assert "ERR_CERT_COMMON_NAME_INVALID" in (outcome.error or ""), outcome
