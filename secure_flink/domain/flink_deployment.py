"""The FlinkDeployment custom resource (flink.apache.org/v1beta1, operator 1.15) as a plain dict."""

import re
from dataclasses import dataclass, field
from enum import Enum

from .names import REST_PORT

API_VERSION = "flink.apache.org/v1beta1"
KIND = "FlinkDeployment"

# What the operator 1.15 CRD accepts, and the subset this project supports: the TLS keys it writes
# (keystore-type, truststore-type, algorithms) exist from Flink 1.20 on.
CRD_FLINK_VERSIONS = (
    "v1_13",
    "v1_14",
    "v1_15",
    "v1_16",
    "v1_17",
    "v1_18",
    "v1_19",
    "v1_20",
    "v2_0",
    "v2_1",
    "v2_2",
)
SUPPORTED_FLINK_VERSIONS = ("v1_20", "v2_0", "v2_1", "v2_2")

# Pulumi does not await custom resources on its own (pulumi-kubernetes #1260). READY means the
# operator reached the JobManager, which over REST TLS only works when the operator trusts our CA.
WAIT_FOR = "jsonpath={.status.jobManagerDeploymentStatus}=READY"
WAIT_TIMEOUT_SECONDS = 900

# The operator runs Flink in the container of this name; a pod template entry of the same name is
# merged into it, which is the only way to set container-level security for Flink.
MAIN_CONTAINER = "flink-main-container"
# The `flink` user and group of the official image, which owns /opt/flink.
FLINK_UID = 9999
LOG_DIR = "/opt/flink/log"
# As the operator's own probe: wait as long as the JobManager takes (the operator watches the deployment).
STARTUP_PROBE_FAILURES = 2**31 - 1


class DeploymentMode(str, Enum):
    NATIVE = "native"
    STANDALONE = "standalone"


class UpgradeMode(str, Enum):
    STATELESS = "stateless"
    SAVEPOINT = "savepoint"
    LAST_STATE = "last-state"


@dataclass(frozen=True, kw_only=True)
class ProcessResources:
    """CPU and memory of a JobManager or TaskManager pod."""

    cpu: float
    memory: str
    """Flink memory size, e.g. `2048m` or `2g`: the pod's total process memory."""
    replicas: int | None = None
    """JobManager: 1 unless HA is configured. TaskManager: only honoured in standalone mode."""


@dataclass(frozen=True, kw_only=True)
class JobSpec:
    """An application-mode job; a FlinkDeployment without one is a session cluster."""

    jar_uri: str
    parallelism: int
    upgrade_mode: UpgradeMode = UpgradeMode.STATELESS
    entry_class: str | None = None
    args: tuple[str, ...] = field(default_factory=tuple)


_MEMORY = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)")
_BINARY_UNITS = {"": 0, "b": 0, "k": 1, "kb": 1, "m": 2, "mb": 2, "g": 3, "gb": 3, "t": 4, "tb": 4}


def memory_bytes(memory: str) -> int | None:
    """Bytes of a `resource.memory` value as the operator reads it (FlinkConfigBuilder.parseResourceMemoryString):
    Flink's MemorySize (whole numbers, binary units: 2g = 2 GiB) first, else a Kubernetes quantity, upper-cased
    (1.5g = 1.5 GB, decimal). None when neither reads it."""
    match = _MEMORY.fullmatch(memory.lower())
    if match is None or match.group(2) not in _BINARY_UNITS:
        return None
    number, unit = match.groups()
    if "." not in number:
        # `<< 10 * n` multiplies by 1024**n and stays int to a type checker (typeshed types int ** int as Any: a
        # negative exponent gives a float).
        return int(number) << 10 * _BINARY_UNITS[unit]
    return int(float(number) * 1000 ** _BINARY_UNITS[unit])


# Flink 2.2 with its default memory options refuses a JobManager process below 577 MiB and a TaskManager
# process below about 1000 MiB (measured with its BashJavaUtils); the floors leave the JVM a usable heap.
MIN_JOB_MANAGER_MEMORY = 768 * 1024**2
MIN_TASK_MANAGER_MEMORY = 1024 * 1024**2


def pod_template(*, assign_uid: bool, mount_api_token: bool) -> dict[str, object]:
    """The pod template that puts every JobManager and TaskManager pod in the Pod Security Standards'
    restricted profile: non-root, RuntimeDefault seccomp, no privilege escalation, no capabilities.

    `assign_uid` False leaves UID and fsGroup to OpenShift's restricted SCC, which assigns them from the
    namespace's range. The log directory is an emptyDir so that any such UID can write Flink's log files
    (the Web UI's log view reads them). Not readOnlyRootFilesystem: the image's entrypoint rewrites files
    under /opt/flink at start.
    """
    pod_security: dict[str, object] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    if assign_uid:
        pod_security.update(runAsUser=FLINK_UID, runAsGroup=FLINK_UID, fsGroup=FLINK_UID)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "spec": {
            "automountServiceAccountToken": mount_api_token,
            "securityContext": pod_security,
            "containers": [
                {
                    "name": MAIN_CONTAINER,
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "privileged": False,
                        "runAsNonRoot": True,
                        "capabilities": {"drop": ["ALL"]},
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "volumeMounts": [{"name": "flink-logs", "mountPath": LOG_DIR}],
                }
            ],
            "volumes": [{"name": "flink-logs", "emptyDir": {}}],
        },
    }


def jobmanager_pod_template() -> dict[str, object]:
    """What the JobManager pod adds to `pod_template`: a startup probe that only connects to the REST port.

    The operator otherwise gives the JobManager an HTTP startup probe of `/config` on that port
    (jm-deployment.startup.probe.enabled, FlinkUtils.addStartupProbe, only when the container has none).
    Flink answers the kubelet's plain HTTP with a redirect to HTTPS, which the kubelet follows without a
    client certificate: under REST mTLS the handshake fails, the probe never passes, and the JobManager
    never becomes ready. A TCP connection shows the same thing, the REST server listening, without one.
    """
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "spec": {
            "containers": [
                {
                    "name": MAIN_CONTAINER,
                    "startupProbe": {
                        "tcpSocket": {"port": REST_PORT},
                        "periodSeconds": 1,
                        "failureThreshold": STARTUP_PROBE_FAILURES,
                    },
                }
            ]
        },
    }


def _resources(process: ProcessResources) -> dict[str, object]:
    spec: dict[str, object] = {"resource": {"cpu": process.cpu, "memory": process.memory}}
    if process.replicas is not None:
        spec["replicas"] = process.replicas
    return spec


def _job(job: JobSpec) -> dict[str, object]:
    spec: dict[str, object] = {
        "jarURI": job.jar_uri,
        "parallelism": job.parallelism,
        "upgradeMode": job.upgrade_mode.value,
    }
    if job.entry_class:
        spec["entryClass"] = job.entry_class
    if job.args:
        spec["args"] = list(job.args)
    return spec


def flink_deployment_spec(
    *,
    image: str,
    flink_version: str,
    mode: DeploymentMode,
    service_account: str,
    job_manager: ProcessResources,
    task_manager: ProcessResources,
    job: JobSpec | None,
    flink_configuration: dict[str, str],
    pod_template: dict[str, object],
) -> dict[str, object]:
    """`spec` of a FlinkDeployment; flinkConfiguration values are strings, as Flink parses them."""
    spec: dict[str, object] = {
        "image": image,
        "flinkVersion": flink_version,
        "mode": mode.value,
        "serviceAccount": service_account,
        "flinkConfiguration": dict(sorted(flink_configuration.items())),
        "podTemplate": pod_template,
        "jobManager": {**_resources(job_manager), "podTemplate": jobmanager_pod_template()},
        "taskManager": _resources(task_manager),
    }
    if job is not None:
        spec["job"] = _job(job)
    return spec


def wait_annotations() -> dict[str, str]:
    return {"pulumi.com/waitFor": WAIT_FOR, "pulumi.com/timeoutSeconds": str(WAIT_TIMEOUT_SECONDS)}


def hardening_defaults(job: JobSpec | None) -> dict[str, str]:
    """Defaults a user may override in their own flinkConfiguration.

    An application cluster never needs jar upload through REST, and with it anyone who reaches the
    REST API can run code. Session clusters keep it: the operator submits FlinkSessionJobs that way.
    """
    return {"web.submit.enable": "false"} if job is not None else {}
