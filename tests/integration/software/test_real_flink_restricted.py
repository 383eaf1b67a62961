"""Real Flink under the pod template's restrictions: the rendered user, no capabilities, no privilege gain.

Per platform the JobManager and a TaskManager of the rendered `etl` deployment run as the pod would:
the UID and fsGroup its pod template sets (Kubernetes), or ones from an OpenShift namespace range where
the template leaves them to the restricted SCC; every capability dropped from the bounding and
inheritable sets; no_new_privs. Their Secrets and configuration are read-only to that user, as Secret and
ConfigMap volumes are; the log directory, the template's emptyDir, is writable only through the fsGroup.
Flink must still form its cluster over internal mTLS and serve REST over TLS.
"""

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from offline.engine import RunResult
from secure_flink.domain import names
from secure_flink.domain.flink_deployment import LOG_DIR
from tests.conftest import StackRunner, require_tool
from tests.integration.software.local_flink import (
    LocalFlinkCluster,
    deployment_spec,
    require_flink,
    rest_ca_file,
    running,
)
from tests.integration.software.local_nginx import scratch_dir

pytestmark = pytest.mark.real

DEPLOYMENT = "etl"
REST_NAME = names.rest_dns_names(DEPLOYMENT, "flink")[2]
# What OpenShift's restricted SCC hands out: a UID and fsGroup from the namespace's range, root group.
OPENSHIFT_RANGE_START = 1000680000


def pod_identity(result: RunResult) -> tuple[int, int, int]:
    """(uid, gid, fsGroup) the pods run with, read from the rendered pod template."""
    context = deployment_spec(result, DEPLOYMENT)["podTemplate"]["spec"]["securityContext"]
    if "runAsUser" in context:
        return int(context["runAsUser"]), int(context["runAsGroup"]), int(context["fsGroup"])
    return OPENSHIFT_RANGE_START, 0, OPENSHIFT_RANGE_START


def restricted_launcher(uid: int, gid: int, fs_group: int) -> tuple[str, ...]:
    setpriv = require_tool("setpriv", "the restricted-pod proof drops user, capabilities and privilege gain")
    return (
        setpriv,
        f"--reuid={uid}",
        f"--regid={gid}",
        f"--groups={fs_group}",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
    )


def process_status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {key: value.strip() for key, _, value in (line.partition(":") for line in lines)}


@pytest.fixture(scope="module", params=["dev", "ocp"])
def restricted(request) -> Iterator[tuple[LocalFlinkCluster, tuple[int, int, int], Path, dict]]:
    require_flink("the restricted-pod proof runs Flink's JVMs")
    if os.geteuid() != 0:
        pytest.skip("dropping to the pod's user needs root (CI containers and this machine run as root)")
    result = StackRunner(request.param).up()
    identity = pod_identity(result)
    uid, gid, fs_group = identity
    with scratch_dir() as workdir:
        ca_file = rest_ca_file(result, DEPLOYMENT, workdir)
        cluster = LocalFlinkCluster.from_render(result, DEPLOYMENT, workdir)
        cluster.launcher = restricted_launcher(uid, gid, fs_group)
        for name in ("jm", "tm"):
            # The template's log emptyDir: root's, writable through the fsGroup (setgid, as kubelet makes it).
            log_dir = workdir / f"log-{name}"
            log_dir.mkdir()
            os.chown(log_dir, 0, fs_group)
            log_dir.chmod(0o2770)
        with running(cluster):
            cluster.start("jobmanager", "jm")
            cluster.wait_for_taskmanagers(0, ca_file, REST_NAME)
            cluster.start("taskmanager", "tm")
            cluster.wait_for_taskmanagers(1, ca_file, REST_NAME)
            yield cluster, identity, workdir, deployment_spec(result, DEPLOYMENT)["podTemplate"]["spec"]


def test_flink_forms_its_mtls_cluster_as_the_pod_user_without_capabilities(restricted):
    cluster, (uid, gid, fs_group), workdir, _ = restricted
    assert cluster.overview(workdir / f"{DEPLOYMENT}-rest-ca.crt", REST_NAME)["taskmanagers"] == 1
    for process in cluster.processes:
        status = process_status(process.process.pid)
        assert status["Uid"].split() == [str(uid)] * 4 and status["Gid"].split() == [str(gid)] * 4
        assert status["Groups"].split() == [str(fs_group)]
        assert int(status["CapEff"], 16) == 0 and int(status["CapBnd"], 16) == 0 and int(status["CapPrm"], 16) == 0
        assert status["NoNewPrivs"] == "1"


def test_flink_logs_into_the_log_volume_through_the_fs_group(restricted):
    cluster, (uid, _, fs_group), _, pod = restricted
    (main,) = pod["containers"]
    (mount,) = [m for m in main["volumeMounts"] if m["mountPath"] == LOG_DIR]
    assert {"name": mount["name"], "emptyDir": {}} in pod["volumes"]
    for process in cluster.processes:
        logs = list(process.log_dir.glob("*.log"))
        assert logs and all(p.stat().st_uid == uid and p.stat().st_gid == fs_group for p in logs)
        assert "Starting" in process.log()


def test_the_pod_user_cannot_write_flink_home_or_read_root_only_files(restricted):
    """The control: the dropped identity really is unprivileged, so the passing tests above mean something."""
    cluster, _, workdir, _ = restricted
    secret = workdir / "root-only.key"
    secret.write_text("not for the pod")
    secret.chmod(0o600)
    launcher = list(cluster.launcher)
    touch = subprocess.run([*launcher, "touch", str(cluster.home / "written-by-pod")], capture_output=True, timeout=30)
    read = subprocess.run([*launcher, "cat", str(secret)], capture_output=True, timeout=30)
    assert touch.returncode != 0 and b"Permission denied" in touch.stderr
    assert read.returncode != 0 and b"Permission denied" in read.stderr
    assert not (cluster.home / "written-by-pod").exists() and shutil.which("setpriv")
