"""A Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver and kube-controller-manager, as `make engine`
builds them (or from KUBE_CONTROL_PLANE_BIN).

Set up as a kubeadm cluster is, minus the nodes: TLS everywhere (etcd included) from a CA made here, the admin
authenticated by a client certificate in `system:masters`, the controller-manager by its own certificate
(`system:kube-controller-manager`, bound by the API server's bootstrap RBAC), ServiceAccount tokens signed by a
key of the cluster's, the Node and RBAC authorizers, and the default admission plugins plus NodeRestriction
(PodSecurity is among the defaults). No scheduler and no kubelet: pods are created and admitted, never run.
"""

import base64
import ctypes
import ipaddress
import os
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import trustme
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.integration.cluster.kube_api import KubeAPI, KubeAPIError
from tests.integration.software.local_nginx import LOOPBACK, free_port

BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager")
START_SECONDS = 90
STOP_SECONDS = 15
SERVICE_CIDR = "10.96.0.0/16"
PR_SET_PDEATHSIG = 1
# The issuer and audience a kubeadm cluster uses.
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"


@dataclass(frozen=True)
class Credentials:
    """A client certificate and key (PEM files) and the CA that signed the server's certificate."""

    ca: Path
    certificate: Path
    key: Path


@dataclass(frozen=True)
class ControlPlane:
    """A running control plane: its URL, the admin's kubeconfig and credentials, and its log directory."""

    server: str
    kubeconfig: Path
    admin: Credentials
    logs: Path

    def api(self) -> KubeAPI:
        return KubeAPI(self.server, self.admin.ca, self.admin.certificate, self.admin.key)


class _Authority:
    """The cluster's one CA (kubeadm has three; one is enough on loopback): a trustme CA that signs every serving
    and client certificate here."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ca = trustme.CA()
        self.path = directory / "ca.crt"
        self.ca.cert_pem.write_to_path(self.path)

    def issue(self, stem: str, common_name: str, *, organization: str = "") -> Credentials:
        """A key and certificate for `common_name` (and group `organization`, else trustme's), as STEM.crt/STEM.key.
        Each serves and authenticates clients alike (trustme's EKU), valid for 127.0.0.1, localhost and the
        in-cluster names: without a name its critical SAN is empty, an extension Go refuses."""
        names = [LOOPBACK, str(ipaddress.ip_network(SERVICE_CIDR)[1]), "localhost", *_in_cluster_names()]
        leaf = self.ca.issue_cert(*names, common_name=common_name, organization_name=organization)
        credentials = Credentials(self.path, self.directory / f"{stem}.crt", self.directory / f"{stem}.key")
        leaf.cert_chain_pems[0].write_to_path(credentials.certificate)
        leaf.private_key_pem.write_to_path(credentials.key)
        credentials.key.chmod(0o600)
        return credentials


def _in_cluster_names() -> list[str]:
    names = ["kubernetes", "kubernetes.default", "kubernetes.default.svc"]
    return [*names, "kubernetes.default.svc.cluster.local"]


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    # A bare key, for ServiceAccount tokens (trustme makes keys only with certificates), in SEC 1
    # ("EC PRIVATE KEY"): kube-apiserver reads ServiceAccount keys in that form, not in PKCS#8.
    sec1 = serialization.PrivateFormat.TraditionalOpenSSL
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, sec1, serialization.NoEncryption()))
    path.chmod(0o600)


def kubeconfig(server: str, user: str, credentials: Credentials) -> dict:
    """A kubeconfig for `user` with its client certificate, the certificates and key inline so that the file
    stands alone."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "local", "cluster": {"server": server, "certificate-authority-data": _b64(credentials.ca)}}
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": _b64(credentials.certificate),
                    "client-key-data": _b64(credentials.key),
                },
            }
        ],
        "contexts": [{"name": user, "context": {"cluster": "local", "user": user}}],
        "current-context": user,
    }


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


@contextmanager
def running_control_plane(binaries: Path, root: Path) -> Iterator[ControlPlane]:
    """Starts etcd, kube-apiserver and kube-controller-manager under `root` and yields once the API server is
    ready and the controller-manager has made the default ServiceAccount; stops all three at exit."""
    pki = root / "pki"
    logs = root / "logs"
    for directory in (pki, logs):
        directory.mkdir(parents=True)
    authority = _Authority(pki)
    ports = {name: free_port() for name in ("etcd-client", "etcd-peer", "apiserver")}
    server = f"https://{LOOPBACK}:{ports['apiserver']}"
    admin = authority.issue("admin", "secure-flink-test-admin", organization="system:masters")
    controller_manager = authority.issue("controller-manager", "system:kube-controller-manager")
    admin_config = root / "admin.kubeconfig"
    admin_config.write_text(yaml.safe_dump(kubeconfig(server, "admin", admin)))
    manager_config = root / "controller-manager.kubeconfig"
    manager_config.write_text(yaml.safe_dump(kubeconfig(server, "controller-manager", controller_manager)))
    service_account_key = pki / "service-account.key"
    _write_key(service_account_key, ec.generate_private_key(ec.SECP256R1()))

    with ExitStack() as processes:
        etcd_url = f"https://{LOOPBACK}:{ports['etcd-client']}"
        etcd_server = authority.issue("etcd", "etcd")
        etcd_client = authority.issue("apiserver-etcd-client", "kube-apiserver-etcd-client")
        processes.enter_context(
            _process(
                logs / "etcd.log",
                binaries / "etcd",
                "--name=default",
                f"--data-dir={root / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls=http://{LOOPBACK}:{ports['etcd-peer']}",
                f"--initial-advertise-peer-urls=http://{LOOPBACK}:{ports['etcd-peer']}",
                f"--initial-cluster=default=http://{LOOPBACK}:{ports['etcd-peer']}",
                f"--cert-file={etcd_server.certificate}",
                f"--key-file={etcd_server.key}",
                f"--trusted-ca-file={authority.path}",
                "--client-cert-auth=true",
                "--listen-metrics-urls=",
                "--log-level=warn",
            )
        )
        apiserver_serving = authority.issue("apiserver", "kube-apiserver")
        apiserver = processes.enter_context(
            _process(
                logs / "kube-apiserver.log",
                binaries / "kube-apiserver",
                f"--etcd-servers={etcd_url}",
                f"--etcd-cafile={authority.path}",
                f"--etcd-certfile={etcd_client.certificate}",
                f"--etcd-keyfile={etcd_client.key}",
                f"--bind-address={LOOPBACK}",
                f"--advertise-address={LOOPBACK}",
                f"--secure-port={ports['apiserver']}",
                f"--tls-cert-file={apiserver_serving.certificate}",
                f"--tls-private-key-file={apiserver_serving.key}",
                f"--client-ca-file={authority.path}",
                "--anonymous-auth=false",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                f"--service-account-key-file={service_account_key}",
                f"--service-account-signing-key-file={service_account_key}",
                f"--cert-dir={root / 'apiserver'}",
                "--profiling=false",
            )
        )
        control_plane = ControlPlane(server, admin_config, admin, logs)
        api = control_plane.api()
        _wait(api.ready, "kube-apiserver /readyz", apiserver, logs / "kube-apiserver.log")
        controller_manager_process = processes.enter_context(
            _process(
                logs / "kube-controller-manager.log",
                binaries / "kube-controller-manager",
                f"--kubeconfig={manager_config}",
                f"--service-account-private-key-file={service_account_key}",
                f"--root-ca-file={authority.path}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--leader-elect=false",
                # Each controller as its own ServiceAccount, bound by the bootstrap RBAC (as kubeadm runs it).
                "--use-service-account-credentials=true",
                "--secure-port=0",
                "--profiling=false",
            )
        )
        _wait(
            lambda: api.exists("/api/v1/namespaces/default/serviceaccounts/default"),
            "the controller-manager's default ServiceAccount",
            controller_manager_process,
            logs / "kube-controller-manager.log",
        )
        yield control_plane


def _wait(ready: Callable[[], bool], what: str, process: subprocess.Popen, log: Path) -> None:
    """Returns once `ready()`; raises with the end of `log` if `process` exits or START_SECONDS pass first."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if ready():
                return
        except (OSError, ssl.SSLError, KubeAPIError):
            pass
        time.sleep(0.5)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:]) if log.exists() else "(no log)"
    state = f"exited {process.returncode}" if process.poll() is not None else f"not ready within {START_SECONDS} s"
    raise RuntimeError(f"{what}: {state}; {log.name} ends:\n{tail}")


@contextmanager
def _process(log: Path, *command: str | Path) -> Iterator[subprocess.Popen]:
    """`command` with stdout and stderr to `log`, in a session of its own; SIGTERM, then SIGKILL at exit."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(part) for part in command],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_stop_with_parent,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _stop_with_parent() -> None:
    """In the child before exec: SIGTERM when the test process dies, so that a killed pytest (which runs no
    finalizer) leaves no control plane behind."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def missing_binaries(directory: Path | None) -> list[str]:
    return [name for name in BINARIES if directory is None or shutil.which(name, path=str(directory)) is None]
