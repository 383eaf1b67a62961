"""The `deployments` list of the stack config: one FlinkDeployment per item."""

import math
import posixpath
import re
from collections.abc import Mapping

from secure_flink.domain import names
from secure_flink.domain.flink_conf import RestAuthentication
from secure_flink.domain.flink_deployment import (
    CRD_FLINK_VERSIONS,
    LOG_DIR,
    MIN_JOB_MANAGER_MEMORY,
    MIN_TASK_MANAGER_MEMORY,
    SUPPORTED_FLINK_VERSIONS,
    DeploymentMode,
    JobSpec,
    ProcessResources,
    UpgradeMode,
    memory_bytes,
)
from secure_flink.settings.flink_options import check_deployment_options, read_flink_configuration
from secure_flink.settings.model import DeploymentSettings
from secure_flink.settings.network import read_egress
from secure_flink.settings.reader import Reader, as_number, read_image, read_list, set_hint

JAR_URI = re.compile(r"^(local|file|https?|s3a?|gs|abfss?|hdfs|oss)://\S+$")


DEPLOYMENT_FIELDS = frozenset(
    {
        "name",
        "image",
        "flinkVersion",
        "mode",
        "serviceAccount",
        "jobManager",
        "taskManager",
        "job",
        "flinkConfiguration",
        "secretMounts",
        "restAuthentication",
        "egress",
    }
)


RESOURCE_FIELDS = frozenset({"cpu", "memory", "replicas"})


JOB_FIELDS = frozenset({"jarURI", "entryClass", "args", "parallelism", "upgradeMode"})


DEFAULT_JOB_MANAGER = {"cpu": 1, "memory": "1600m", "replicas": 1}


DEFAULT_TASK_MANAGER = {"cpu": 1, "memory": "1728m"}


# ServiceAccounts that other workloads of a namespace run as.
SHARED_ACCOUNTS = {
    "default": "every pod that names no ServiceAccount runs as it",
    "builder": "OpenShift creates it in every namespace for builds",
    "deployer": "OpenShift creates it in every namespace for DeploymentConfigs",
    "flink": "the operator's Helm chart creates it for every Flink pod of the namespace",
}


MIN_CPU = 0.001
"""One millicore, the smallest CPU amount Kubernetes expresses."""


def read_deployments(reader: Reader, text: str | None) -> tuple[DeploymentSettings, ...] | None:
    items = read_list(
        reader,
        "deployments",
        text,
        reason="must be a non-empty list of FlinkDeployment settings",
        fix="declare at least one item, see Pulumi.dev.yaml",
        non_empty=True,
    )
    if items is None:
        return None
    parsed = [_deployment(reader, f"deployments[{i}]", item) for i, item in enumerate(items)]
    _refuse_repeats(reader, parsed)
    if None in parsed:
        return None
    return tuple(d for d in parsed if d is not None)


def _refuse_repeats(reader: Reader, parsed: list[DeploymentSettings | None]) -> None:
    """Names and ServiceAccounts are one per deployment (a repeated name repeats its default account too),
    and no two deployments may derive the same object name (`a-rest` beside `a`, whose REST Service that is)."""
    seen_accounts: set[str] = set()
    owners: dict[tuple[str, str], str] = {}
    for i, deployment in enumerate(parsed):
        if deployment is None:
            continue
        derived = [(kind, name) for kind, of_kind in names.derived_names(deployment.name).items() for name in of_kind]
        clash = next((object_ for object_ in derived if object_ in owners), None)
        if clash is not None:
            (kind, name), owner = clash, owners[clash]
            reason = (
                "is used by an earlier deployment"
                if owner == deployment.name
                else f"derives the {kind} name {name}, which deployment {owner} also derives"
            )
            reader.fail(f"deployments[{i}].name", deployment.name, reason, _unique_name_hint(deployment.name, owners))
        elif deployment.service_account in seen_accounts:
            reader.fail(
                f"deployments[{i}].serviceAccount",
                deployment.service_account,
                "is used by an earlier deployment",
                "give every deployment its own ServiceAccount, or leave the field out",
            )
        seen_accounts.add(deployment.service_account)
        for object_ in derived:
            owners.setdefault(object_, deployment.name)


def _unique_name_hint(name: str, owners: Mapping[tuple[str, str], str]) -> str:
    """A rename that derives nothing already taken (object names are `<name>`, `<name>-rest`, `-ui`, `-api`,
    `-taskmanager`, ...)."""
    taken = {derived for _, derived in owners}
    for suffix in range(2, 100):
        candidate = f"{name[: names.MAX_DEPLOYMENT_NAME_LENGTH - 3]}-{suffix}"
        if not any(n in taken for derived in names.derived_names(candidate).values() for n in derived):
            return (
                f"give every deployment a unique name that is not another's plus -rest, -ui or -api, e.g. {candidate}"
            )
    return "give every deployment a unique name that is not another's plus -rest, -ui or -api"


def _deployment(reader: Reader, key: str, item: object) -> DeploymentSettings | None:
    if not isinstance(item, dict):
        reader.fail(key, item, "must be a map of deployment fields", "see Pulumi.dev.yaml for an example")
        return None
    before = len(reader.problems)
    reader.unknown_fields(key, item, DEPLOYMENT_FIELDS)
    name = reader.label(
        f"{key}.name",
        item.get("name"),
        max_length=names.MAX_DEPLOYMENT_NAME_LENGTH,
        fix=set_hint(f"{key}.name", "etl"),
    )
    image = read_image(reader, f"{key}.image", item.get("image"))
    version = _flink_version(reader, f"{key}.flinkVersion", item.get("flinkVersion", "v2_2"))
    mode = reader.enum(f"{key}.mode", item.get("mode", "native"), DeploymentMode, set_hint(f"{key}.mode", "native"))
    account = item.get("serviceAccount", names.flink_service_account(name) if name else None)
    if (account is not None or name is not None) and not (isinstance(account, str) and names.is_dns1123_label(account)):
        reader.fail(
            f"{key}.serviceAccount",
            account,
            "must be a DNS-1123 label (the stack creates this ServiceAccount)",
            set_hint(f"{key}.serviceAccount", "etl-flink"),
        )
    elif account in SHARED_ACCOUNTS:
        reader.fail(
            f"{key}.serviceAccount",
            account,
            f"is shared: {SHARED_ACCOUNTS[account]}; the stack binds its Role to this account, so every pod "
            "running as it would get the JobManager's API permissions",
            f"remove the key (the stack creates {names.flink_service_account(name or 'etl')})",
        )
    job_manager = _resources(
        reader,
        f"{key}.jobManager",
        item.get("jobManager", DEFAULT_JOB_MANAGER),
        DEFAULT_JOB_MANAGER,
        minimum_memory=MIN_JOB_MANAGER_MEMORY,
    )
    task_manager = _resources(
        reader,
        f"{key}.taskManager",
        item.get("taskManager", DEFAULT_TASK_MANAGER),
        DEFAULT_TASK_MANAGER,
        minimum_memory=MIN_TASK_MANAGER_MEMORY,
    )
    job = _job(reader, f"{key}.job", item.get("job"))
    configuration = read_flink_configuration(reader, f"{key}.flinkConfiguration", item.get("flinkConfiguration", {}))
    mounts = _secret_mounts(reader, f"{key}.secretMounts", item.get("secretMounts", {}))
    rest_authentication = reader.enum(
        f"{key}.restAuthentication",
        item.get("restAuthentication", RestAuthentication.MTLS.value),
        RestAuthentication,
        set_hint(f"{key}.restAuthentication", "mtls"),
    )
    egress = read_egress(reader, f"{key}.egress", item.get("egress", []))
    if (
        len(reader.problems) > before
        or name is None
        or image is None
        or version is None
        or mode is None
        or account is None
        or job_manager is None
        or task_manager is None
        or rest_authentication is None
        or egress is None
    ):
        return None
    check_deployment_options(reader, key, configuration, job=job, job_manager=job_manager)
    if len(reader.problems) > before:
        return None
    return DeploymentSettings(
        name=name,
        image=image,
        flink_version=version,
        mode=mode,
        service_account=account,
        job_manager=job_manager,
        task_manager=task_manager,
        job=job,
        flink_configuration=configuration,
        secret_mounts=mounts,
        rest_authentication=rest_authentication,
        rest_authentication_set="restAuthentication" in item,
        egress=egress,
    )


def _flink_version(reader: Reader, key: str, value: object) -> str | None:
    if value in SUPPORTED_FLINK_VERSIONS:
        return str(value)
    if value in CRD_FLINK_VERSIONS:
        reason = (
            f"is known to the operator but not supported here: the TLS keys this stack writes need Flink 1.20+; "
            f"supported: {', '.join(SUPPORTED_FLINK_VERSIONS)}"
        )
    else:
        reason = f"is not a flinkVersion the operator 1.15 CRD knows ({', '.join(CRD_FLINK_VERSIONS)})"
    reader.fail(key, value, reason, set_hint(key, "v2_2"))
    return None


def _resources(
    reader: Reader, key: str, value: object, defaults: Mapping[str, object], *, minimum_memory: int
) -> ProcessResources | None:
    if not isinstance(value, dict):
        reader.fail(
            key,
            value,
            "must be a map with cpu, memory (and replicas)",
            set_hint(f"{key}.memory", str(defaults["memory"])),
        )
        return None
    before = len(reader.problems)
    reader.unknown_fields(key, value, RESOURCE_FIELDS)
    merged = {**defaults, **value}
    cpu = as_number(merged["cpu"])
    if cpu is None or not math.isfinite(cpu) or cpu < MIN_CPU:
        reader.fail(f"{key}.cpu", merged["cpu"], f"must be a number of at least {MIN_CPU}", set_hint(f"{key}.cpu", "1"))
    memory = merged["memory"]
    size = memory_bytes(memory) if isinstance(memory, str) else None
    if size is None:
        reader.fail(
            f"{key}.memory",
            memory,
            "must be a Flink memory size such as 1600m or 2g",
            set_hint(f"{key}.memory", str(defaults["memory"])),
        )
    elif size < minimum_memory:
        reader.fail(
            f"{key}.memory",
            memory,
            f"is below {minimum_memory // 1024**2}m, the least that leaves a usable JVM heap after Flink's default "
            "metaspace, overhead and framework memory",
            set_hint(f"{key}.memory", str(defaults["memory"])),
        )
    replicas = None
    if merged.get("replicas") is not None:
        replicas = reader.integer(
            f"{key}.replicas", merged["replicas"], minimum=1, fix=set_hint(f"{key}.replicas", "1")
        )
    if len(reader.problems) > before or cpu is None:
        return None
    return ProcessResources(cpu=cpu, memory=memory, replicas=replicas)


def _job(reader: Reader, key: str, value: object) -> JobSpec | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        reader.fail(
            key,
            value,
            "must be a map with jarURI, parallelism, upgradeMode (entryClass, args)",
            set_hint(f"{key}.jarURI", "local:///opt/flink/usrlib/job.jar"),
        )
        return None
    reader.unknown_fields(key, value, JOB_FIELDS)
    jar = value.get("jarURI")
    if not isinstance(jar, str) or not JAR_URI.match(jar):
        reader.fail(
            f"{key}.jarURI",
            jar,
            "must be a URI such as local:///opt/flink/usrlib/job.jar",
            set_hint(f"{key}.jarURI", "local:///opt/flink/usrlib/job.jar"),
        )
    parallelism = reader.integer(
        f"{key}.parallelism", value.get("parallelism", 1), minimum=1, fix=set_hint(f"{key}.parallelism", "2")
    )
    upgrade = reader.enum(
        f"{key}.upgradeMode",
        value.get("upgradeMode", "stateless"),
        UpgradeMode,
        set_hint(f"{key}.upgradeMode", "stateless"),
    )
    entry = value.get("entryClass")
    if entry is not None and not (isinstance(entry, str) and re.fullmatch(r"[A-Za-z_$][\w$.]*", entry)):
        reader.fail(
            f"{key}.entryClass", entry, "must be a Java class name", set_hint(f"{key}.entryClass", "com.example.Job")
        )
    args = value.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        reader.fail(f"{key}.args", args, "must be a list of strings", set_hint(f"{key}.args[0]", "--input"))
        return None
    if not isinstance(jar, str) or not JAR_URI.match(jar) or parallelism is None or upgrade is None:
        return None
    return JobSpec(jar_uri=jar, parallelism=parallelism, upgrade_mode=upgrade, entry_class=entry, args=tuple(args))


# Paths in a Flink pod that a Secret may not be mounted on, above or below: the stack's TLS mounts and log
# volume, and the operator's configuration and pod-template volumes (Kubernetes refuses a mount path used
# twice; a mount inside another mount shadows it or cannot be created in a read-only volume).
RESERVED_MOUNTS = (
    names.INTERNAL_TLS_MOUNT,
    names.REST_TLS_MOUNT,
    LOG_DIR,
    "/opt/flink/conf",
    "/opt/flink/pod-template",
)
# Flink names the volume `<secret>-volume`, which must be a DNS-1123 label.
MAX_MOUNTED_SECRET_NAME_LENGTH = names.MAX_LABEL_LENGTH - len("-volume")


def _overlaps(path: str, other: str) -> bool:
    return path == other or path.startswith(other.rstrip("/") + "/") or other.startswith(path.rstrip("/") + "/")


def _free_path(secret: str, taken: list[str]) -> str:
    """A mount path for `secret` that overlaps none of `taken`."""
    candidates = (f"{names.SECRETS_ROOT}/{secret}", f"/opt/flink/user-secrets/{secret}", f"/var/run/secrets/{secret}")
    return next(path for path in candidates if not any(_overlaps(path, other) for other in taken))


def _secret_mounts(reader: Reader, key: str, value: object) -> dict[str, str]:
    example = set_hint(f"{key}.kafka-tls", "/opt/flink/secrets/kafka")
    if not isinstance(value, dict):
        reader.fail(key, value, "must be a map of Secret name to absolute mount path", example)
        return {}
    taken: dict[str, str] = {}
    for secret, path in value.items():
        item = f"{key}.{secret}"
        if not names.is_dns1123_label(str(secret)) or len(str(secret)) > MAX_MOUNTED_SECRET_NAME_LENGTH:
            reader.fail(
                item,
                path,
                f"needs a Secret name that is a DNS-1123 label of at most {MAX_MOUNTED_SECRET_NAME_LENGTH} characters "
                "(Flink names its volume <secret>-volume)",
                example,
            )
        elif not isinstance(path, str) or not path.startswith("/") or "," in path or ":" in path:
            reader.fail(item, path, "must be an absolute path without ',' or ':'", example)
        elif posixpath.normpath(path) != path or path.startswith("//"):
            normalized = posixpath.normpath("/" + path.lstrip("/"))
            occupied = [*RESERVED_MOUNTS, *taken]
            clash = next((other for other in occupied if _overlaps(normalized, other)), None)
            reader.fail(
                item,
                path,
                "must be a normalized path (no trailing '/', no '.', '..' or empty segments)"
                + (f"; normalized, it collides with {clash}" if clash else ""),
                set_hint(item, _free_path(str(secret), occupied) if clash else normalized),
            )
        else:
            clash = next((other for other in (*RESERVED_MOUNTS, *taken) if _overlaps(path, other)), None)
            if clash is None:
                taken[path] = str(secret)
                continue
            owner = f"the Secret {taken[clash]}" if clash in taken else "the stack or the operator"
            reader.fail(
                item,
                path,
                f"is, contains or lies inside {clash}, which {owner} mounts: Kubernetes refuses the pod "
                "or the mounts shadow each other",
                set_hint(item, _free_path(str(secret), [*RESERVED_MOUNTS, *taken])),
            )
    return {str(k): str(v) for k, v in value.items()}
