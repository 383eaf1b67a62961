"""The Web UI's Kubernetes Ingress as ingress-nginx runs it: real nginx configured as the controller (v1.14.5)
configures itself from the rendered UI Ingress, in front of the real UI proxy (nginx), in front of a real
Flink JobManager; everything from one render of the dev stack with a domain, the `adhoc` session cluster.
"""

import json
from pathlib import Path

import pytest

from secure_flink.domain import names
from secure_flink.domain.exposure import INGRESS_NGINX
from tests.conftest import StackRunner, require_tool
from tests.integration.software.https_client import basic_authorization, exchange, jar_upload_form, request_bytes
from tests.integration.software.ingress_nginx import controller_nginx_conf
from tests.integration.software.local_flink import require_flink, running_jobmanager
from tests.integration.software.local_nginx import LocalNginx, free_port, scratch_dir
from tests.integration.software.rest_gateway import running_gateway

pytestmark = pytest.mark.real
DEPLOYMENT = "adhoc"
DOMAIN = "flink.example.com"
HOST = names.ui_host(DEPLOYMENT, DOMAIN)
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
SECRET = "kubernetes:core/v1:Secret"
NGINX_WHY = "the UI Ingress is proven on the nginx ingress-nginx would configure, before the real proxy"


@pytest.fixture(scope="module")
def rendered():
    return StackRunner("dev").up(domain=DOMAIN)


def ui_ingress(result) -> dict:
    (ingress,) = [r for r in result.by_type(INGRESS) if r.outputs["metadata"]["name"] == names.ui_service(DEPLOYMENT)]
    return ingress.outputs


@pytest.fixture(scope="module")
def chain(rendered, tmp_path_factory):
    require_flink("the UI Ingress is proven in front of a real Flink JobManager")
    workdir = tmp_path_factory.mktemp("ui-ingress")
    ca_file = workdir / "ca.crt"
    ca_file.write_text(rendered.outputs["caCertificate"])
    with (
        running_jobmanager(rendered, DEPLOYMENT, workdir) as (cluster, _),
        running_gateway(rendered, f"{DEPLOYMENT}-ui", ui_ingress(rendered), cluster.rest_port) as gateway,
    ):
        yield gateway.controller, gateway.proxy, ca_file


def request(
    port: int,
    ca_file: Path,
    method: str,
    path: str,
    login: tuple[str, str] | None,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    headers = dict(headers or {})
    if login:
        headers["Authorization"] = basic_authorization(*login)
    status, _, payload = exchange(port, ca_file, HOST, request_bytes(method, path, HOST, body, headers))
    return status, payload


def upload(port: int, ca_file: Path, credentials: tuple[str, str], size: int) -> int:
    body, headers = jar_upload_form(b"PK" + bytes(size))
    return request(port, ca_file, "POST", "/jars/upload", credentials, body, headers)[0]


def login(rendered) -> tuple[str, str]:
    return "admin", rendered.outputs["uiGeneratedPasswords"][DEPLOYMENT]["admin"]


def test_a_ui_user_reaches_flink_through_the_controller_and_the_proxy(chain, rendered):
    controller, proxy, ca_file = chain
    status, body = request(controller.port, ca_file, "GET", "/overview", login(rendered))
    assert status == 200, controller.error_log()[-2000:] + proxy.error_log()[-2000:]
    assert "flink-version" in json.loads(body)
    assert request(controller.port, ca_file, "GET", "/overview", None)[0] == 401


def test_a_jar_larger_than_the_controllers_default_body_size_uploads(chain, rendered):
    """ingress-nginx allows 1m bodies unless told otherwise; the Ingress passes proxyMaxBodySize on."""
    controller, _, ca_file = chain
    assert upload(controller.port, ca_file, login(rendered), 3 * 1024 * 1024) == 200


def test_without_the_body_size_annotation_the_controller_refuses_the_jar(chain, rendered):
    """Control: the same Ingress without proxy-body-size gets the controller's 1m limit, and 413."""
    _, proxy, ca_file = chain
    ingress = ui_ingress(rendered)
    annotations = dict(ingress["metadata"]["annotations"])
    del annotations[f"{INGRESS_NGINX}/proxy-body-size"]
    secrets = {r.outputs["metadata"]["name"]: r.outputs for r in rendered.by_type(SECRET)}
    with scratch_dir() as root:
        port = free_port()
        conf = controller_nginx_conf(
            {**ingress, "metadata": {**ingress["metadata"], "annotations": annotations}},
            secrets,
            root,
            listen_port=port,
            upstream_port=proxy.port,
        )
        with LocalNginx(require_tool("nginx", NGINX_WHY), conf, root, port):
            assert upload(port, ca_file, login(rendered), 3 * 1024 * 1024) == 413
