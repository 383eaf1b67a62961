"""Real nginx in front of real Flink, both configured from the rendered dev stack only.

The `adhoc` session cluster is used: its REST API takes jar uploads (application clusters switch
them off). Its proxy serves under /adhoc/ because the dev stack's Ingress has no host.
"""

import base64
import io
import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from secure_flink.domain import names
from tests.conftest import PROJECT_DIR, StackRunner, require_tool
from tests.integration.software.https_client import basic_authorization, exchange, jar_upload_form, request_bytes
from tests.integration.software.https_upstream import https_upstream
from tests.integration.software.local_flink import require_flink, running_jobmanager, write_pem_identity
from tests.integration.software.local_nginx import LocalNginx, free_port, scratch_dir
from tests.integration.software.proxy_from_render import ingress_identity, local_proxy_conf

pytestmark = pytest.mark.real
DEPLOYMENT = "adhoc"
PREFIX = f"/{DEPLOYMENT}"
PROXY_NAME = names.proxy_dns_names(names.ui_service(DEPLOYMENT), "flink", None)[2]
NGINX_WHY = "the proxy is proven on real nginx"
SSLYZE = PROJECT_DIR / ".cache" / "sslyze" / "bin" / "sslyze"


class Proxy:
    """The UI proxy as ingress-nginx calls it: with the controller's client certificate (`caller`)."""

    def __init__(self, port: int, ca_file: Path, user: str, password: str, caller: tuple[Path, Path] | None):
        self.port, self.ca_file, self.user, self.password, self.caller = port, ca_file, user, password, caller

    def request(
        self,
        method: str,
        path: str,
        *,
        credentials: tuple[str, str] | None = None,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        headers = dict(headers or {})
        if credentials:
            headers["Authorization"] = basic_authorization(*credentials)
        request = request_bytes(method, path, PROXY_NAME, body, headers)
        return exchange(self.port, self.ca_file, PROXY_NAME, request, identity=self.caller)

    def get(self, path: str, credentials: tuple[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", path, credentials=credentials)

    @property
    def login(self) -> tuple[str, str]:
        return self.user, self.password


@pytest.fixture(scope="module")
def rendered():
    return StackRunner("dev").up()


@pytest.fixture(scope="module")
def flink(rendered, tmp_path_factory):
    require_flink("the proxy is proven in front of a real Flink REST endpoint")
    with running_jobmanager(rendered, DEPLOYMENT, tmp_path_factory.mktemp("flink-ui")) as (cluster, _):
        yield cluster


@pytest.fixture(scope="module")
def proxy(rendered, flink):
    nginx = require_tool("nginx", NGINX_WHY)
    with scratch_dir() as root:
        ca_file = root / "ca.crt"
        ca_file.write_text(rendered.outputs["caCertificate"])
        port = free_port()
        conf = local_proxy_conf(rendered, f"{DEPLOYMENT}-ui", root, listen_port=port, upstream_port=flink.rest_port)
        with LocalNginx(nginx, conf, root, port) as server:
            password = rendered.outputs["uiGeneratedPasswords"][DEPLOYMENT]["admin"]
            yield Proxy(port, ca_file, "admin", password, ingress_identity(rendered, f"{DEPLOYMENT}-ui", root))
            assert "emerg" not in server.error_log()


def test_no_credentials_wrong_password_and_unknown_user_get_401(proxy):
    assert proxy.get(f"{PREFIX}/overview")[0] == 401
    assert proxy.get(f"{PREFIX}/overview", ("admin", proxy.password + "x"))[0] == 401
    assert proxy.get(f"{PREFIX}/overview", ("mallory", proxy.password))[0] == 401


def test_right_credentials_reach_flink_through_a_verified_upstream(proxy):
    status, headers, body = proxy.get(f"{PREFIX}/overview", proxy.login)
    assert status == 200, body[:300]
    assert "flink-version" in json.loads(body)
    assert headers["strict-transport-security"].startswith("max-age=")
    assert "nginx/" not in headers.get("server", ""), "no version in the Server header"


def test_health_path_is_open_and_nothing_else_is(proxy):
    status, _, body = proxy.get(names.HEALTH_PATH)
    assert status == 200 and b"flink" not in body.lower()
    for path in ("/", f"{PREFIX}/", f"{PREFIX}/jobs/overview", "/overview", "/other", f"{PREFIX}/jars"):
        assert proxy.get(path)[0] == 401, path


def test_ui_index_loads_with_and_without_the_trailing_slash(proxy):
    status, headers, _ = proxy.get(PREFIX)
    assert status == 301 and headers["location"] == f"{PREFIX}/"
    status, _, body = proxy.get(f"{PREFIX}/", proxy.login)
    assert status == 200 and b"<html" in body.lower()


def _jar(size: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        jar.writestr("payload.bin", bytes(range(256)) * (size // 256))
    return buffer.getvalue()


def test_a_50_mb_jar_uploads_through_the_proxy(proxy):
    body, headers = jar_upload_form(_jar(50 * 1024 * 1024))
    status, _, response = proxy.request(
        "POST", f"{PREFIX}/jars/upload", credentials=proxy.login, body=body, headers=headers
    )
    assert status == 200, response[:300]
    assert json.loads(response)["status"] == "success"
    listed = json.loads(proxy.get(f"{PREFIX}/jars", proxy.login)[2])
    assert any(f["name"] == "big.jar" for f in listed["files"])


def test_only_the_ingress_controllers_certificate_gets_a_request_through(proxy, rendered, tmp_path):
    """Without the controller's client certificate every path but health gets 400; with another proxy's
    controller certificate (the same stack CA, so it verifies) 403; only then do basic-auth users count."""
    alone = Proxy(proxy.port, proxy.ca_file, proxy.user, proxy.password, None)
    other = Proxy(proxy.port, proxy.ca_file, proxy.user, proxy.password, ingress_identity(rendered, "etl-ui", tmp_path))
    statuses = {
        "no caller certificate": alone.get(f"{PREFIX}/overview", proxy.login)[0],
        "no caller certificate, health": alone.get(names.HEALTH_PATH)[0],
        "another proxy's controller certificate": other.get(f"{PREFIX}/overview", proxy.login)[0],
        "the controller's certificate, no user": proxy.get(f"{PREFIX}/overview")[0],
        "the controller's certificate and a user": proxy.get(f"{PREFIX}/overview", proxy.login)[0],
    }
    assert statuses == {
        "no caller certificate": 400,
        "no caller certificate, health": 200,
        "another proxy's controller certificate": 403,
        "the controller's certificate, no user": 401,
        "the controller's certificate and a user": 200,
    }


def test_an_upstream_with_a_certificate_from_another_ca_gets_502(rendered, tmp_path):
    # A fresh nginx and its own upstream: nginx keeps verification state per upstream connection.
    other = StackRunner("dev").up()
    _, rest_password = _rest_password(other)
    chain, key = _rest_identity(other, rest_password, tmp_path)
    with https_upstream(chain, key) as rogue, scratch_dir() as root:
        port = free_port()
        conf = local_proxy_conf(rendered, f"{DEPLOYMENT}-ui", root, listen_port=port, upstream_port=rogue.port)
        ca_file = root / "ca.crt"
        ca_file.write_text(rendered.outputs["caCertificate"])
        with LocalNginx(require_tool("nginx", NGINX_WHY), conf, root, port) as server:
            password = rendered.outputs["uiGeneratedPasswords"][DEPLOYMENT]["admin"]
            caller = ingress_identity(rendered, f"{DEPLOYMENT}-ui", root)
            status, _, _ = Proxy(port, ca_file, "admin", password, caller).get(
                f"{PREFIX}/overview", ("admin", password)
            )
            assert status == 502
            assert "upstream SSL certificate verify error" in server.error_log()
        assert rogue.record.requests == [], "nothing reached the impostor"


def _rest_password(result) -> tuple[str, str]:
    spec = next(
        r for r in result.by_type("kubernetes:flink.apache.org/v1beta1:FlinkDeployment") if r.name == DEPLOYMENT
    ).inputs["spec"]["flinkConfiguration"]
    return spec["security.ssl.internal.keystore-password"], spec["security.ssl.rest.keystore-password"]


def _rest_identity(result, password: str, directory: Path) -> tuple[Path, Path]:
    """The other stack's REST certificate (same names, other CA) and key, as PEM files."""
    secret = next(r for r in result.by_type("kubernetes:core/v1:Secret") if r.name == f"{DEPLOYMENT}-tls-rest")
    return write_pem_identity(base64.b64decode(secret.inputs["data"]["keystore.p12"]), password, directory, "rogue")


def test_proxy_tls_passes_the_mozilla_intermediate_check(proxy):
    if not SSLYZE.exists():
        require_tool(str(SSLYZE), "sslyze checks the proxy against Mozilla's intermediate profile (make sslyze)")
    completed = subprocess.run(
        [
            str(SSLYZE),
            "--mozilla_config=intermediate",
            f"--certinfo_ca_file={proxy.ca_file}",
            f"{PROXY_NAME}:{proxy.port}{{127.0.0.1}}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert "Compliant" in completed.stdout
