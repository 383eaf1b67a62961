"""The `deployments` list of the stack config: one FlinkDeployment per item."""

import re
from collections.abc import Mapping

from components.render import flink_conf, names
from components.render.flink_conf import RestAuthentication
from components.render.flink_deployment import (
    CRD_FLINK_VERSIONS,
    SUPPORTED_FLINK_VERSIONS,
    DeploymentMode,
    JobSpec,
    ProcessResources,
    UpgradeMode,
)
from settings.model import DeploymentSettings
from settings.network import read_egress
from settings.reader import Reader, as_number, read_image, read_list, set_hint

MEMORY_SIZE = re.compile(r"^[0-9]+(\.[0-9]+)?\s*(b|k|kb|m|mb|g|gb|t|tb)?$", re.IGNORECASE)


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
    """Names and ServiceAccounts are one per deployment (a repeated name repeats its default account too)."""
    seen_names: set[str] = set()
    seen_accounts: set[str] = set()
    for i, deployment in enumerate(parsed):
        if deployment is None:
            continue
        if deployment.name in seen_names:
            reader.fail(
                f"deployments[{i}].name",
                deployment.name,
                "is used by an earlier deployment",
                "give every deployment a unique name",
            )
        elif deployment.service_account in seen_accounts:
            reader.fail(
                f"deployments[{i}].serviceAccount",
                deployment.service_account,
                "is used by an earlier deployment",
                "give every deployment its own ServiceAccount, or leave the field out",
            )
        seen_names.add(deployment.name)
        seen_accounts.add(deployment.service_account)


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
    job_manager = _resources(
        reader, f"{key}.jobManager", item.get("jobManager", DEFAULT_JOB_MANAGER), DEFAULT_JOB_MANAGER
    )
    task_manager = _resources(
        reader, f"{key}.taskManager", item.get("taskManager", DEFAULT_TASK_MANAGER), DEFAULT_TASK_MANAGER
    )
    job = _job(reader, f"{key}.job", item.get("job"))
    configuration = _flink_configuration(reader, f"{key}.flinkConfiguration", item.get("flinkConfiguration", {}))
    mounts = _secret_mounts(reader, f"{key}.secretMounts", item.get("secretMounts", {}))
    rest_authentication = reader.enum(
        f"{key}.restAuthentication",
        item.get("restAuthentication", "tls"),
        RestAuthentication,
        set_hint(f"{key}.restAuthentication", "mtls"),
    )
    egress = read_egress(reader, f"{key}.egress", item.get("egress", []))
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


def _resources(reader: Reader, key: str, value: object, defaults: Mapping[str, object]) -> ProcessResources | None:
    if not isinstance(value, dict):
        reader.fail(
            key,
            value,
            "must be a map with cpu, memory (and replicas)",
            set_hint(f"{key}.memory", str(defaults["memory"])),
        )
        return None
    reader.unknown_fields(key, value, RESOURCE_FIELDS)
    merged = {**defaults, **value}
    cpu = as_number(merged["cpu"])
    if cpu is None or cpu <= 0:
        reader.fail(f"{key}.cpu", merged["cpu"], "must be a number above 0", set_hint(f"{key}.cpu", "1"))
    memory = merged["memory"]
    if not isinstance(memory, str) or not MEMORY_SIZE.match(memory):
        reader.fail(
            f"{key}.memory",
            memory,
            "must be a Flink memory size such as 1600m or 2g",
            set_hint(f"{key}.memory", str(defaults["memory"])),
        )
    replicas = None
    if merged.get("replicas") is not None:
        replicas = reader.integer(
            f"{key}.replicas", merged["replicas"], minimum=1, fix=set_hint(f"{key}.replicas", "1")
        )
    if cpu is None or cpu <= 0 or not isinstance(memory, str) or not MEMORY_SIZE.match(memory):
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


def _flink_configuration(reader: Reader, key: str, value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        reader.fail(key, value, "must be a map of Flink option to value", set_hint(f"{key}.parallelism\\.default", "2"))
        return {}
    result: dict[str, str] = {}
    for option, setting in value.items():
        if option in flink_conf.REMOVED_KEYS:
            reader.fail(
                f"{key}.{option}",
                setting,
                "was removed in Flink 2.x and enables nothing; this stack already turns on internal and REST TLS",
                "remove the key",
            )
        elif option in flink_conf.MANAGED_KEYS:
            reader.fail(
                f"{key}.{option}",
                setting,
                "is set by this stack (TLS material and its mounts)",
                "remove the key; use tlsProtocol/keyAlgorithm for TLS and secretMounts to mount Secrets",
            )
        elif isinstance(setting, (dict, list)) or setting is None:
            reader.fail(
                f"{key}.{option}", setting, "must be a string, number or boolean", "write the value as a string"
            )
        else:
            result[option] = str(setting).lower() if isinstance(setting, bool) else str(setting)
    return result


def _secret_mounts(reader: Reader, key: str, value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        reader.fail(
            key,
            value,
            "must be a map of Secret name to absolute mount path",
            set_hint(f"{key}.kafka-tls", "/opt/flink/secrets/kafka"),
        )
        return {}
    reserved = (names.INTERNAL_TLS_MOUNT, names.REST_TLS_MOUNT)
    for secret, path in value.items():
        if (
            not names.is_dns1123_label(str(secret))
            or not isinstance(path, str)
            or not path.startswith("/")
            or "," in path
            or ":" in path
            or path in reserved
        ):
            reader.fail(
                f"{key}.{secret}",
                path,
                "needs a DNS-1123 Secret name and an absolute path without ',' or ':' "
                f"that is not one of this stack's own mounts ({', '.join(reserved)})",
                set_hint(f"{key}.{secret}", "/opt/flink/secrets/kafka"),
            )
    return {str(k): str(v) for k, v in value.items()}
