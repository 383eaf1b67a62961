"""Real Flink on 127.0.0.1, configured from a rendered stack only.

The rendered Secrets are laid out as files where their `kubernetes.secrets` mounts would put them
(under a scratch root), and the rendered flinkConfiguration is used as is except for what a pod
and a laptop differ in: host addresses, ports and the file-path prefix of the mounts. Memory sizes
come from the FlinkDeployment's resources, as the operator derives them.
"""

import base64
import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from offline.engine import RunResult
from secure_flink.domain import names
from tests.conftest import PROJECT_DIR, require_tool
from tests.integration.software.https_client import exchange, unchunk  # noqa: F401 (unchunk: re-exported)

FLINK_DEPLOYMENT = "kubernetes:flink.apache.org/v1beta1:FlinkDeployment"
SECRET = "kubernetes:core/v1:Secret"
LOOPBACK = "127.0.0.1"
STARTUP_SECONDS = 60


def flink_home() -> Path:
    return Path(os.environ.get("FLINK_HOME", PROJECT_DIR / ".cache/flink-2.2.1/pyflink"))


def require_flink(why: str) -> Path:
    """Java and the Flink distribution, or a skip (a failure under CI=true); returns FLINK_HOME."""
    require_tool("java", why)
    require_tool(str(flink_home() / "bin" / "jobmanager.sh"), "the Flink 2.2 distribution from PyPI (make flink)")
    return flink_home()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def deployment_spec(result: RunResult, deployment: str) -> dict[str, Any]:
    (flink,) = [r for r in result.by_type(FLINK_DEPLOYMENT) if r.name == deployment]
    return flink.inputs["spec"]


def lay_out_mounts(result: RunResult, deployment: str, root: Path) -> dict[str, Path]:
    """Write each mounted Secret's keys as files under `root`; returns mount path -> local directory."""
    secrets = {r.outputs["metadata"]["name"]: r.inputs for r in result.by_type(SECRET)}
    mounts = {}
    for entry in deployment_spec(result, deployment)["flinkConfiguration"]["kubernetes.secrets"].split(","):
        name, path = entry.split(":")
        local = root / path.lstrip("/")
        local.mkdir(parents=True, exist_ok=True)
        for key, value in (secrets[name].get("data") or {}).items():
            (local / key).write_bytes(base64.b64decode(value))
        for key, value in (secrets[name].get("stringData") or {}).items():
            (local / key).write_text(value)
        mounts[path] = local
    return mounts


def localized_configuration(configuration: dict[str, str], mounts: dict[str, Path]) -> dict[str, str]:
    """The rendered configuration with mount-path prefixes pointing at the local copies."""

    def localize(value: str) -> str:
        for path, local in mounts.items():
            if value.startswith(path + "/"):
                return str(local) + value[len(path) :]
        return value

    return {key: localize(value) for key, value in configuration.items()}


def java_options(home: Path) -> str:
    """The distribution's own JVM flags (module opens Flink needs on Java 17)."""
    config = yaml.safe_load((home / "conf" / "config.yaml").read_text())
    return config["env"]["java"]["opts"]["all"]


@dataclass
class FlinkProcess:
    kind: str
    process: subprocess.Popen
    log_dir: Path

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))

    def peak_rss_mb(self) -> float:
        with contextlib.suppress(FileNotFoundError):
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@dataclass
class LocalFlinkCluster:
    """A JobManager and TaskManagers of one rendered deployment; stop() ends every process it started."""

    workdir: Path
    configuration: dict[str, str]
    home: Path = field(default_factory=flink_home)
    processes: list[FlinkProcess] = field(default_factory=list)
    client_identity: tuple[Path, Path] | None = None
    """Certificate and key presented when polling REST (when Flink requires client certificates); from a
    render, the pods' own (the REST keystore's)."""
    launcher: tuple[str, ...] = ()
    """A command that runs Flink's scripts, e.g. `setpriv` with a pod's user and capabilities."""

    @property
    def rest_port(self) -> int:
        return int(self.configuration["rest.port"])

    @property
    def rpc_port(self) -> int:
        return int(self.configuration["jobmanager.rpc.port"])

    @property
    def blob_port(self) -> int:
        return int(self.configuration["blob.server.port"])

    @classmethod
    def from_render(cls, result: RunResult, deployment: str, workdir: Path) -> "LocalFlinkCluster":
        spec = deployment_spec(result, deployment)
        mounts = lay_out_mounts(result, deployment, workdir / "pod")
        configuration = localized_configuration(spec["flinkConfiguration"], mounts)
        configuration.update(
            {
                "jobmanager.rpc.address": LOOPBACK,
                "jobmanager.bind-host": LOOPBACK,
                "taskmanager.host": LOOPBACK,
                "taskmanager.bind-host": LOOPBACK,
                "rest.address": LOOPBACK,
                "rest.bind-address": LOOPBACK,
                "rest.port": str(free_port()),
                "jobmanager.rpc.port": str(free_port()),
                "blob.server.port": str(free_port()),
                "jobmanager.memory.process.size": spec["jobManager"]["resource"]["memory"],
                "taskmanager.memory.process.size": spec["taskManager"]["resource"]["memory"],
            }
        )
        cluster = cls(workdir=workdir, configuration=configuration)
        use_pod_rest_identity(cluster, workdir)
        return cluster

    def _conf_dir(self, name: str, overrides: dict[str, str]) -> Path:
        conf_dir = self.workdir / f"conf-{name}"
        conf_dir.mkdir(parents=True, exist_ok=True)
        settings = {**self.configuration, **overrides, "env.java.opts.all": java_options(self.home)}
        (conf_dir / "config.yaml").write_text(yaml.safe_dump(settings, default_flow_style=False))
        for logging_file in ("log4j-console.properties", "logback-console.xml"):
            (conf_dir / logging_file).write_text((self.home / "conf" / logging_file).read_text())
        return conf_dir

    def start(self, kind: str, name: str, overrides: dict[str, str] | None = None) -> FlinkProcess:
        """Start `jobmanager` or `taskmanager` in the foreground (the JVM is the child process)."""
        conf_dir = self._conf_dir(name, overrides or {})
        log_dir = self.workdir / f"log-{name}"
        log_dir.mkdir(exist_ok=True)
        env = {
            **os.environ,
            "FLINK_CONF_DIR": str(conf_dir),
            "FLINK_LOG_DIR": str(log_dir),
            "FLINK_PID_DIR": str(self.workdir),
        }
        with open(log_dir / "console.out", "wb") as console:
            process = subprocess.Popen(
                [*self.launcher, str(self.home / "bin" / f"{kind}.sh"), "start-foreground"],
                env=env,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started = FlinkProcess(kind, process, log_dir)
        self.processes.append(started)
        return started

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def overview(self, ca_file: Path, server_name: str) -> dict[str, Any]:
        return json.loads(rest_get(self.rest_port, "/overview", ca_file, server_name, identity=self.client_identity))

    def wait_for_taskmanagers(
        self, count: int, ca_file: Path, server_name: str, timeout: float = STARTUP_SECONDS
    ) -> float:
        """Seconds until the REST API reports `count` TaskManagers; raises TimeoutError otherwise."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            with contextlib.suppress(OSError, ValueError):
                if self.overview(ca_file, server_name)["taskmanagers"] >= count:
                    return time.monotonic() - start
            if any(p.process.poll() is not None for p in self.processes):
                raise RuntimeError("a Flink process exited:\n" + "\n".join(p.log()[-3000:] for p in self.processes))
            time.sleep(0.25)
        raise TimeoutError(f"{count} TaskManager(s) not registered within {timeout}s")


def tls_context(ca_file: Path, *, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_file))
    if cert is not None:
        context.load_cert_chain(str(cert), str(key) if key else None)
    return context


def rest_get(
    port: int,
    path: str,
    ca_file: Path,
    server_name: str,
    timeout: float = 5,
    identity: tuple[Path, Path] | None = None,
) -> str:
    """The body of a GET over HTTPS to 127.0.0.1, verified against `ca_file` for `server_name`, presenting
    `identity` (certificate, key) when given; ValueError unless 200."""
    request = f"GET {path} HTTP/1.1\r\nHost: {server_name}\r\nConnection: close\r\n\r\n".encode()
    status, _, body = exchange(port, ca_file, server_name, request, identity=identity, timeout=timeout)
    if status != 200:
        raise ValueError(f"HTTP {status}")
    return body.decode()


def plain_http(port: int, path: str) -> tuple[int, bytes]:
    """Status and body of a plain-HTTP GET (no TLS) against the REST port."""
    request = urllib.request.Request(f"http://{LOOPBACK}:{port}{path}")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@contextlib.contextmanager
def running(cluster: LocalFlinkCluster) -> Iterator[LocalFlinkCluster]:
    try:
        yield cluster
    finally:
        cluster.stop()


def write_pem_identity(pkcs12_data: bytes, password: str, directory: Path, stem: str) -> tuple[Path, Path]:
    """The certificate and key inside a PKCS12 keystore, as PEM files (`<stem>.crt`, `<stem>.key`)."""
    store = pkcs12.load_pkcs12(pkcs12_data, password.encode())
    cert, key = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert.write_bytes(store.cert.certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        store.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert, key


def use_pod_rest_identity(cluster: LocalFlinkCluster, directory: Path) -> tuple[Path, Path]:
    """Poll REST as the pods' own CLI does: with the REST keystore's certificate (a client identity under REST
    mTLS, ignored otherwise); returns its PEM files."""
    conf = cluster.configuration
    cluster.client_identity = write_pem_identity(
        Path(conf["security.ssl.rest.keystore"]).read_bytes(),
        conf["security.ssl.rest.keystore-password"],
        directory,
        "pod",
    )
    return cluster.client_identity


@contextlib.contextmanager
def running_jobmanager(result: RunResult, deployment: str, workdir: Path) -> Iterator[tuple[LocalFlinkCluster, Path]]:
    """The rendered deployment's JobManager, polled as its pods would, until its REST API answers; yields the
    cluster and its REST CA's file (`rest_ca_file`); stops it at exit."""
    ca_file = rest_ca_file(result, deployment, workdir)
    cluster = LocalFlinkCluster.from_render(result, deployment, workdir)
    cluster.start("jobmanager", "jm")
    try:
        cluster.wait_for_taskmanagers(0, ca_file, _rest_name(result, deployment))
        yield cluster, ca_file
    finally:
        cluster.stop()


def rest_ca_file(result: RunResult, deployment: str, directory: Path) -> Path:
    """`<deployment>-rest-ca.crt` in `directory`: the deployment's REST CA, what verifies its REST endpoint."""
    path = directory / f"{deployment}-rest-ca.crt"
    path.write_text(result.outputs["restCaCertificates"][deployment])
    return path


def _rest_name(result: RunResult, deployment: str) -> str:
    """The REST certificate's cluster-local name, as proxies verify it."""
    (flink,) = [r for r in result.by_type(FLINK_DEPLOYMENT) if r.name == deployment]
    return names.rest_dns_names(deployment, flink.inputs["metadata"]["namespace"])[2]
