"""Real Flink 2.2 from the rendered dev stack only: internal mTLS, REST TLS, and what each endpoint accepts.

Each cluster is one deployment of the rendered stack (Secrets laid out as their mounts, the rendered
flinkConfiguration), run as a JobManager and a TaskManager on 127.0.0.1, with `restAuthentication: tls`: REST
without client certificates, where FLINK-39969 shows. REST mTLS, the default, is test_real_native_mtls.py's.
"""

import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from offline.engine import RunResult
from secure_flink.domain import names
from tests.conftest import PROJECT_DIR, StackRunner, require_tool
from tests.integration.software.local_flink import (
    LocalFlinkCluster,
    lay_out_mounts,
    plain_http,
    require_flink,
    rest_ca_file,
    rest_get,
    write_pem_identity,
)
from tests.integration.software.tls_probe import handshake

pytestmark = pytest.mark.real
DEPLOYMENT, OTHER = "etl", "adhoc"
REST_NAME = names.rest_dns_names(DEPLOYMENT, "flink")[2]
MEASUREMENTS = PROJECT_DIR / "build" / "measurements"
# Until the rogue has tried to register (a JVM start and a Pekko handshake: seconds, more on a loaded machine).
ROGUE_WAIT_SECONDS = 120


@pytest.fixture(scope="module")
def tools() -> dict[str, str]:
    why = "the real-Flink proof runs Flink's JVMs and probes TLS"
    require_flink(why)
    return {name: require_tool(name, why) for name in ("java", "openssl")}


class RunningCluster:
    def __init__(self, result: RunResult, cluster: LocalFlinkCluster, ca_file: Path, startup: dict[str, float]):
        self.result, self.cluster, self.ca_file, self.startup = result, cluster, ca_file, startup
        conf = cluster.configuration
        self.identity = write_pem_identity(
            Path(conf["security.ssl.internal.keystore"]).read_bytes(),
            conf["security.ssl.internal.keystore-password"],
            cluster.workdir,
            "client",
        )


def start_cluster(result: RunResult, workdir: Path) -> RunningCluster:
    ca_file = rest_ca_file(result, DEPLOYMENT, workdir)
    cluster = LocalFlinkCluster.from_render(result, DEPLOYMENT, workdir)
    began = time.monotonic()
    cluster.start("jobmanager", "jm")
    try:
        rest_up = cluster.wait_for_taskmanagers(0, ca_file, REST_NAME)
        cluster.start("taskmanager", "tm")
        registered = cluster.wait_for_taskmanagers(1, ca_file, REST_NAME)
    except BaseException:
        cluster.stop()
        raise
    return RunningCluster(
        result,
        cluster,
        ca_file,
        {
            "jobmanager_rest_seconds": rest_up,
            "taskmanager_registered_seconds": registered,
            "total_seconds": time.monotonic() - began,
        },
    )


def run_and_measure(protocol: str, tmp_path_factory) -> Iterator[RunningCluster]:
    runner = StackRunner("dev")
    for item in runner.values["deployments"]:
        item["restAuthentication"] = "tls"
    result = runner.up(tlsProtocol=protocol)
    cluster = start_cluster(result, tmp_path_factory.mktemp(f"flink-{protocol}"))
    try:
        yield cluster
    finally:
        rss = {p.kind: round(p.peak_rss_mb()) for p in cluster.cluster.processes}
        cluster.cluster.stop()
        MEASUREMENTS.mkdir(parents=True, exist_ok=True)
        (MEASUREMENTS / f"real_flink_{protocol}.json").write_text(
            json.dumps({**{k: round(v, 1) for k, v in cluster.startup.items()}, "peak_rss_mb": rss}, indent=2)
        )


@pytest.fixture(scope="module")
def default_cluster(tools, tmp_path_factory) -> Iterator[RunningCluster]:
    """The dev stack as configured (TLS 1.3), but for REST client authentication."""
    yield from run_and_measure("TLSv1.3", tmp_path_factory)


@pytest.fixture(scope="module")
def tls12_cluster(tools, tmp_path_factory) -> Iterator[RunningCluster]:
    """The dev stack with tlsProtocol=TLSv1.2, where suite choices matter most."""
    yield from run_and_measure("TLSv1.2", tmp_path_factory)


@pytest.fixture(params=["default_cluster", "tls12_cluster"])
def running(request) -> RunningCluster:
    return request.getfixturevalue(request.param)


def test_taskmanager_registers_over_internal_mtls(running):
    overview = running.cluster.overview(running.ca_file, REST_NAME)
    assert overview["taskmanagers"] == 1
    log = running.cluster.processes[0].log()
    assert "pekko.ssl.tcp://flink@127.0.0.1" in log, "RPC runs over TLS"


def test_rest_answers_https_verified_with_the_deployments_rest_ca(running):
    body = json.loads(rest_get(running.cluster.rest_port, "/config", running.ca_file, REST_NAME))
    assert "flink-version" in body


def test_rest_certificate_fails_verification_for_other_names_and_cas(running, tmp_path):
    with pytest.raises(ssl.SSLCertVerificationError, match="match"):
        rest_get(running.cluster.rest_port, "/overview", running.ca_file, "etl-rest.other-namespace.svc")
    for other_ca in (
        rest_ca_file(StackRunner("dev").up(), DEPLOYMENT, tmp_path),  # another stack's
        rest_ca_file(running.result, OTHER, tmp_path),  # another deployment's
    ):
        with pytest.raises(ssl.SSLCertVerificationError):
            rest_get(running.cluster.rest_port, "/overview", other_ca, REST_NAME)


def test_plain_http_gets_no_json(running):
    status, body = plain_http(running.cluster.rest_port, "/overview")
    assert status != 200 and body.strip() == b"", (status, body[:200])


def test_taskmanager_with_another_deployments_material_never_registers(default_cluster, tmp_path):
    running = default_cluster
    other = lay_out_mounts(running.result, OTHER, tmp_path / "other-pod")
    other_conf = running.result.by_type("kubernetes:flink.apache.org/v1beta1:FlinkDeployment")
    other_spec = next(r for r in other_conf if r.name == OTHER).inputs["spec"]["flinkConfiguration"]
    local = other[names.INTERNAL_TLS_MOUNT]
    overrides = {
        "security.ssl.internal.keystore": str(local / names.KEYSTORE_FILE),
        "security.ssl.internal.truststore": str(local / names.TRUSTSTORE_FILE),
        **{
            f"security.ssl.internal.{k}": other_spec[f"security.ssl.internal.{k}"]
            for k in ("keystore-password", "key-password", "truststore-password")
        },
    }
    rogue = running.cluster.start("taskmanager", "rogue-tm", overrides)
    try:
        deadline = time.monotonic() + ROGUE_WAIT_SECONDS
        while time.monotonic() < deadline and "SSLHandshakeException" not in rogue.log():
            time.sleep(0.5)
        time.sleep(3)
        assert running.cluster.overview(running.ca_file, REST_NAME)["taskmanagers"] == 1
        assert "SSLHandshakeException" in rogue.log(), "the rogue TaskManager tried and was refused"
    finally:
        rogue.stop()
        running.cluster.processes.remove(rogue)


def configured(running) -> tuple[str, list[str]]:
    conf = running.cluster.configuration
    return conf["security.ssl.protocol"], conf["security.ssl.algorithms"].split(",")


OPENSSL_NAMES = {
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_AES_256_GCM_SHA384": "TLS_AES_256_GCM_SHA384",
    "TLS_AES_128_GCM_SHA256": "TLS_AES_128_GCM_SHA256",
}
UNCONFIGURED_PROBES = {
    "tls1_2": ["ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-RSA-AES128-SHA", "AES128-GCM-SHA256", "AES256-SHA"],
    "tls1_3": ["TLS_CHACHA20_POLY1305_SHA256"],
}
VERSIONS = {"TLSv1.2": "tls1_2", "TLSv1.3": "tls1_3"}


def accepted(tools, port: int, identity, version: str, cipher: str | None = None) -> bool:
    cert, key = identity
    return handshake(tools["openssl"], port, version=version, cipher=cipher, cert=cert, key=key).accepted


@pytest.mark.parametrize("endpoint", ["rpc", "blob"])
def test_internal_endpoints_negotiate_only_the_configured_protocol_and_suites(running, tools, endpoint):
    port = {"rpc": running.cluster.rpc_port, "blob": running.cluster.blob_port}[endpoint]
    protocol, suites = configured(running)
    version = VERSIONS[protocol]
    for suite in suites:
        assert accepted(tools, port, running.identity, version, OPENSSL_NAMES[suite]), suite
    for cipher in UNCONFIGURED_PROBES[version]:
        assert not accepted(tools, port, running.identity, version, cipher), cipher
    for other_version in {"tls1_1", "tls1_2", "tls1_3"} - {version}:
        assert not accepted(tools, port, running.identity, other_version), other_version


def test_rest_endpoint_ignores_the_configured_suites_as_flink_39969_reports(running, tools):
    # Characterises Flink 2.2's REST server (see README, security notes): it negotiates the JDK's
    # defaults, not security.ssl.protocol/algorithms. If this starts failing, Flink fixed it: update the README.
    port = running.cluster.rest_port
    protocol, _ = configured(running)
    outside = {
        f"{v} {c}"
        for v, ciphers in UNCONFIGURED_PROBES.items()
        for c in ciphers
        if accepted(tools, port, running.identity, v, c)
    }
    outside |= {
        v for v in ("tls1_2", "tls1_3") if v != VERSIONS[protocol] and accepted(tools, port, running.identity, v)
    }
    assert outside >= {"tls1_2 ECDHE-RSA-AES128-SHA", "tls1_2 AES128-GCM-SHA256"}, outside
    assert not accepted(tools, port, running.identity, "tls1_1"), "TLS 1.1 stays off (JDK default)"
    MEASUREMENTS.mkdir(parents=True, exist_ok=True)
    (MEASUREMENTS / f"rest_accepts_outside_config_{protocol}.json").write_text(json.dumps(sorted(outside)))
