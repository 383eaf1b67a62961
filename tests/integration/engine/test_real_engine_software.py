"""What `pulumi up` on the real engine gives a user works in real software: the UI password from
`pulumi stack output --show-secrets` opens the Web UI proxy, and a REST client's bundle opens the REST
API proxy, both nginx configured from the state, in front of a Flink JobManager started from it."""

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack.project import PulumiProject
from local_stack.state_view import state_view
from secure_flink.domain import names
from tests.conftest import require_tool
from tests.integration.software.client_certificates import issued_identity
from tests.integration.software.https_client import basic_authorization, exchange, request_bytes
from tests.integration.software.local_flink import require_flink, running_jobmanager
from tests.integration.software.local_nginx import LocalNginx, free_port, scratch_dir
from tests.integration.software.proxy_from_render import local_proxy_conf

pytestmark = pytest.mark.real

DEPLOYMENT = "adhoc"
DOMAIN = "flink.apps.ocp.example.com"


@pytest.fixture(scope="module")
def proxies(
    tmp_path_factory: pytest.TempPathFactory, ocp_with_clients: PulumiProject
) -> Iterator[tuple[dict, Path, dict]]:
    """The shared OpenShift stack's UI and REST API proxies on loopback in front of its JobManager, all
    from the real engine's state. Yields the proxies' ports, the stack CA file and the state."""
    require_flink("the proxies are proven in front of a real Flink REST endpoint")
    nginx = require_tool("nginx", "the proxies are proven on real nginx")
    workdir = tmp_path_factory.mktemp("engine-software")
    state = state_view(ocp_with_clients)
    ca_file = workdir / "ca.crt"
    ca_file.write_text(state.outputs["caCertificate"])
    with running_jobmanager(state, DEPLOYMENT, workdir) as (flink, _), scratch_dir() as root:
        ports = {}
        servers = []
        for role in ("ui", "api"):
            ports[role] = free_port()
            conf = local_proxy_conf(
                state, f"{DEPLOYMENT}-{role}", root / role, listen_port=ports[role], upstream_port=flink.rest_port
            )
            servers.append(LocalNginx(nginx, conf, root / role, ports[role]))
        with servers[0], servers[1]:
            yield ports, ca_file, {"state": state, "workdir": workdir, "root": root}


def request(
    port: int,
    ca_file: Path,
    host: str,
    path: str,
    *,
    identity: tuple[Path, Path] | None = None,
    credentials: tuple[str, str] | None = None,
) -> tuple[int, bytes]:
    headers = {} if credentials is None else {"Authorization": basic_authorization(*credentials)}
    status, _, body = exchange(
        port, ca_file, host, request_bytes("GET", path, host, headers=headers), identity=identity
    )
    return status, body


def test_the_generated_ui_password_opens_the_web_ui(proxies) -> None:
    ports, ca_file, context = proxies
    state = context["state"]
    host = names.ui_host(DEPLOYMENT, DOMAIN)
    password = state.outputs["uiGeneratedPasswords"][DEPLOYMENT]["admin"]
    # OpenShift's router re-encrypts to the UI proxy without a client certificate: basic auth decides.
    ok, body = request(ports["ui"], ca_file, host, "/overview", credentials=("admin", password))
    assert ok == 200 and "flink-version" in json.loads(body)
    wrong, _ = request(ports["ui"], ca_file, host, "/overview", credentials=("admin", password + "x"))
    assert wrong == 401


def test_a_rest_clients_bundle_opens_the_rest_api(proxies) -> None:
    ports, ca_file, context = proxies
    host = names.rest_api_host(DEPLOYMENT, DOMAIN)
    identity = issued_identity(context["state"], "ci-bot", context["workdir"])
    ok, body = request(ports["api"], ca_file, host, "/overview", identity=identity)
    assert ok == 200 and "flink-version" in json.loads(body)
    anonymous, _ = request(ports["api"], ca_file, host, "/overview")
    assert anonymous == 400


def curl_with_pkcs12(port: int, ca_file: Path, host: str, bundle: Path, password: str) -> subprocess.CompletedProcess:
    curl = require_tool("curl", "proves the REST client's PKCS#12 as users present it")
    command = [curl, "--silent", "--show-error", "--max-time", "20", "--write-out", "\n%{http_code}"]
    command += ["--cacert", str(ca_file), "--resolve", f"{host}:{port}:127.0.0.1"]
    command += ["--cert-type", "P12", "--cert", f"{bundle}:{password}", f"https://{host}:{port}/overview"]
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


def test_a_rest_clients_pkcs12_opens_the_rest_api_with_curl(proxies) -> None:
    ports, ca_file, context = proxies
    host = names.rest_api_host(DEPLOYMENT, DOMAIN)
    bundle = context["state"].outputs["restClients"]["ci-bot"]
    path = context["workdir"] / "ci-bot.p12"
    path.write_bytes(base64.b64decode(bundle["pkcs12"]))
    ok = curl_with_pkcs12(ports["api"], ca_file, host, path, bundle["pkcs12Password"])
    assert ok.returncode == 0 and ok.stdout.endswith("\n200"), ok.stderr
    assert "flink-version" in json.loads(ok.stdout.rsplit("\n", 1)[0])
    wrong = curl_with_pkcs12(ports["api"], ca_file, host, path, bundle["pkcs12Password"] + "x")
    assert wrong.returncode != 0 and not wrong.stdout.endswith("\n200")
