"""Flink-native REST mTLS (`restAuthentication: mtls`, the default) on a real JobManager, from the rendered ocp
stack, with no NetworkPolicy in the way: who completes a TLS handshake with Flink's REST port.

Two `pulumi up`s: the first issues ci-bot and alice, the second removes alice. Flink, the UI proxy
(basic auth) and the REST proxy (client certificates) run from the second render. Refused: no certificate,
a removed client, and every identity issued for the other deployment or by the stack CA. Admitted: the
deployment's own UI and REST proxies, the operator (with its keystore, through Flink's own REST client, as the
operator calls it), Flink's CLI in the pod, and the issued REST clients.
"""

import base64
import json
import re
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
import yaml

from secure_flink.domain import names
from tests.conftest import StackRunner, require_tool
from tests.integration.software.client_certificates import forged_identity
from tests.integration.software.https_client import basic_authorization
from tests.integration.software.local_flink import require_flink, rest_get, running_jobmanager, write_pem_identity
from tests.integration.software.local_nginx import LocalNginx, free_port, scratch_dir
from tests.integration.software.proxy_from_render import local_proxy_conf
from tests.integration.software.tls_probe import handshake

pytestmark = pytest.mark.real
DEPLOYMENT, OTHER = "adhoc", "etl"
FLINK_DEPLOYMENT = "kubernetes:flink.apache.org/v1beta1:FlinkDeployment"
REST_NAME = names.rest_dns_names(DEPLOYMENT, "flink")[2]
DOMAIN = "flink.apps.ocp.example.com"
NGINX_WHY = "the proxies are proven on real nginx"
STACK_CA = "stack-ca.crt"


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
    # Proxies serve certificates from the stack CA; Flink one from its deployment's REST CA.
    (workdir / STACK_CA).write_text(current.outputs["caCertificate"])
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
    completed = flink_list(cluster, cluster.workdir / "conf-jm")
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
        headers += f"Authorization: {basic_authorization(*basic)}\r\n"
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
    cluster, _, workdir = flink
    host = names.proxy_dns_names(names.ui_service(DEPLOYMENT), "flink", None)[2]
    login = ("admin", current.outputs["uiGeneratedPasswords"][DEPLOYMENT]["admin"])
    with scratch_dir() as root:
        server, port = start_proxy(current, f"{DEPLOYMENT}-ui", cluster.rest_port, root, drop_identity=drop_identity)
        with server:
            assert proxied_status(port, workdir / STACK_CA, host, "/overview", basic=login) == expected


def test_the_rest_proxy_carries_a_client_certificate_on_both_hops(flink, renders):
    _, current = renders
    cluster, _, workdir = flink
    identity = pem_files(current.outputs["restClients"]["ci-bot"], workdir, "ci-bot-proxied")
    with scratch_dir() as root:
        server, port = start_proxy(current, f"{DEPLOYMENT}-api", cluster.rest_port, root)
        with server:
            host = names.rest_api_host(DEPLOYMENT, DOMAIN)
            assert proxied_status(port, workdir / STACK_CA, host, "/overview", identity=identity) == 200


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


def secret_data(result, name: str) -> dict[str, bytes]:
    (secret,) = [r for r in result.by_type("kubernetes:core/v1:Secret") if r.name == name]
    return {key: base64.b64decode(value) for key, value in secret.inputs["data"].items()}


def pem_pair(directory: Path, stem: str, cert: bytes, key: bytes) -> tuple[Path, Path]:
    paths = directory / f"{stem}.crt", directory / f"{stem}.key"
    paths[0].write_bytes(cert)
    paths[1].write_bytes(key)
    return paths


def flink_deployment_conf(result, deployment: str) -> dict[str, str]:
    (flink_deployment,) = [r for r in result.by_type(FLINK_DEPLOYMENT) if r.name == deployment]
    return flink_deployment.inputs["spec"]["flinkConfiguration"]


def rest_keystore_identity(result, deployment: str, directory: Path) -> tuple[Path, Path]:
    """The deployment's REST certificate and key, what its pods' CLI presents."""
    password = flink_deployment_conf(result, deployment)["security.ssl.rest.keystore-password"]
    keystore = secret_data(result, f"{deployment}-tls-rest")["keystore.p12"]
    return write_pem_identity(keystore, password, directory, f"{deployment}-rest")


def not_issued_for_this_deployment(result, directory: Path) -> dict[str, tuple[Path, Path]]:
    """Identities a caller could hold that were not issued for `adhoc`'s REST API."""
    other_ui = secret_data(result, f"{OTHER}-ui-proxy-upstream-identity")
    own_proxy_server = secret_data(result, f"{DEPLOYMENT}-ui-proxy-tls")
    return {
        "another deployment's ui proxy identity": pem_pair(
            directory, "other-ui", other_ui["tls.crt"], other_ui["tls.key"]
        ),
        "another deployment's REST certificate (its CLI's identity)": rest_keystore_identity(result, OTHER, directory),
        "a server certificate from the stack CA (this deployment's UI proxy's)": pem_pair(
            directory, "own-proxy-server", own_proxy_server["tls.crt"], own_proxy_server["tls.key"]
        ),
        "a client certificate signed by the stack CA": forged_identity(
            result, directory, "stack-ca-client", authority="stack-ca"
        ),
        "a client certificate signed by another deployment's REST CA": forged_identity(
            result, directory, "other-rest-ca-client", authority=f"{OTHER}-tls-rest-ca"
        ),
    }


def test_identities_not_issued_for_this_deployment_fail_the_handshake(flink, renders):
    _, current = renders
    _, _, workdir = flink
    admitted = {}
    for what, identity in not_issued_for_this_deployment(current, workdir).items():
        try:
            direct(flink, identity)
            admitted[what] = True
        except (ssl.SSLError, ConnectionError):
            admitted[what] = False
    assert admitted == dict.fromkeys(admitted, False)


def test_the_forgery_is_not_vacuous(flink, renders):
    """Control: the same forging with this deployment's REST CA key gets in."""
    _, current = renders
    _, _, workdir = flink
    identity = forged_identity(current, workdir, "own-rest-ca-client", authority=f"{DEPLOYMENT}-tls-rest-ca")
    assert "flink-version" in direct(flink, identity)


def operator_client_config(result, cluster, directory: Path) -> Path:
    """FLINK_CONF_DIR for Flink's REST client configured as the operator configures it from the deployment's
    configuration (AbstractFlinkService.getOperatorRestConfig, operator 1.15): the REST truststore, keystore
    and their password replaced by the Helm chart's mounted truststore.jks, keystore.jks and
    OPERATOR_KEYSTORE_PASSWORD."""
    files = secret_data(result, "operator-trust-truststore")
    (password,) = [
        r for r in result.resources if r.name == "operator-trust-password" and r.custom and r.type.startswith("random:")
    ]
    tls_cert = directory / "tls-cert"
    tls_cert.mkdir(exist_ok=True)
    for name in ("keystore.jks", "truststore.jks"):
        (tls_cert / name).write_bytes(files[name])
    secret = password.outputs["result"]
    conf_dir = directory / "operator-conf"
    conf_dir.mkdir(exist_ok=True)
    configuration = yaml.safe_load((cluster.workdir / "conf-jm" / "config.yaml").read_text())
    configuration.update(
        {
            "security.ssl.rest.truststore": str(tls_cert / "truststore.jks"),
            "security.ssl.rest.truststore-password": secret,
            "security.ssl.rest.keystore": str(tls_cert / "keystore.jks"),
            "security.ssl.rest.keystore-password": secret,
            "security.ssl.rest.key-password": secret,
        }
    )
    (conf_dir / "config.yaml").write_text(yaml.safe_dump(configuration))
    for name in ("log4j-cli.properties", "logback.xml"):
        if (cluster.home / "conf" / name).exists():
            (conf_dir / name).write_text((cluster.home / "conf" / name).read_text())
    return conf_dir


def flink_list(cluster, conf_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(cluster.home / "bin" / "flink"), "list"],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "FLINK_CONF_DIR": str(conf_dir),
            "PATH": "/usr/bin:/bin",
            "JAVA_HOME": str(Path(require_tool("java", "Flink's REST client")).resolve().parents[1]),
        },
    )


def test_the_operator_gets_in_through_flinks_java_rest_client(flink, renders):
    """Java presents a client certificate only when the server advertises its issuer: the operator's CA is in
    every deployment's truststore. Control: the same client without the keystore is refused."""
    _, current = renders
    cluster, _, workdir = flink
    conf_dir = operator_client_config(current, cluster, workdir)
    completed = flink_list(cluster, conf_dir)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    # Control: the same client presenting the other deployment's REST identity is refused.
    other_conf = flink_deployment_conf(current, OTHER)
    configuration = yaml.safe_load((conf_dir / "config.yaml").read_text())
    other_keystore = workdir / "other-keystore.p12"
    other_keystore.write_bytes(secret_data(current, f"{OTHER}-tls-rest")["keystore.p12"])
    configuration["security.ssl.rest.keystore"] = str(other_keystore)
    for key in ("security.ssl.rest.keystore-password", "security.ssl.rest.key-password"):
        configuration[key] = other_conf[key]
    # One attempt: the client would otherwise retry a refused handshake for a minute (rest.retry.*).
    configuration["rest.retry.max-attempts"] = "0"
    (conf_dir / "config.yaml").write_text(yaml.safe_dump(configuration))
    refused = flink_list(cluster, conf_dir)
    assert refused.returncode != 0
    assert "SSL" in refused.stdout + refused.stderr or "certificate" in (refused.stdout + refused.stderr).lower()


def kubelet_http_get(port: int, path: str) -> int | str:
    """An httpGet probe as the kubelet runs it (pkg/probe/http): plain HTTP, redirects to the same host followed,
    TLS without verification and without a client certificate. The status, or the error's name."""
    location = f"http://127.0.0.1:{port}{path}"
    for _ in range(10):
        scheme, _, rest = location.partition("://")
        host_port, _, target = rest.partition("/")
        host, _, port_text = host_port.partition(":")
        if host != "127.0.0.1":
            return "redirect to another host"
        request = f"GET /{target} HTTP/1.1\r\nHost: {host_port}\r\nConnection: close\r\n\r\n".encode()
        try:
            with socket.create_connection((host, int(port_text)), timeout=5) as raw:
                if scheme == "https":
                    context = ssl.create_default_context()
                    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
                    connection = context.wrap_socket(raw, server_hostname=host)
                else:
                    connection = raw
                connection.sendall(request)
                response = connection.recv(1 << 16)
        except OSError as error:
            return type(error).__name__
        if not response:
            return "connection closed"
        status = int(response.split()[1])
        if status not in (301, 302, 303, 307, 308):
            return status
        location = re.search(rb"(?i)location: *(\S+)", response).group(1).decode()
    return "too many redirects"


def test_the_operators_http_startup_probe_would_never_pass_so_the_jobmanager_probes_tcp(flink, renders):
    """The operator adds an httpGet startup probe of /config to the JobManager unless the pod template has one
    (FlinkUtils.addStartupProbe, operator 1.15); under REST mTLS it can never pass. The rendered JobManager
    template carries a tcpSocket probe on the REST port instead, which connects."""
    _, current = renders
    cluster, _, _ = flink
    outcome = kubelet_http_get(cluster.rest_port, "/config")
    assert not (isinstance(outcome, int) and 200 <= outcome < 400), outcome
    (flink_deployment,) = [r for r in current.by_type(FLINK_DEPLOYMENT) if r.name == DEPLOYMENT]
    (container,) = flink_deployment.inputs["spec"]["jobManager"]["podTemplate"]["spec"]["containers"]
    assert container["startupProbe"]["tcpSocket"] == {"port": names.REST_PORT}
    with socket.create_connection(("127.0.0.1", cluster.rest_port), timeout=5):
        pass  # the kubelet's tcpSocket probe: a connection is success
