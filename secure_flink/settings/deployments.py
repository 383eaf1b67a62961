"""The `deployments` list of the stack config: one FlinkDeployment per item."""

import itertools
import math
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
from secure_flink.settings.network import API_SERVER_HINT, read_egress
from secure_flink.settings.reader import Reader, as_number, path_key, read_image, read_list, set_hint

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


FLINK_IMAGE = "flink:2.2.1-scala_2.12-java17"
"""What an image fix suggests."""


MIN_CPU = 0.001
"""One millicore, the smallest CPU amount Kubernetes expresses."""


def read_deployments(
    reader: Reader, text: str | None, *, api_server_known: bool = True
) -> tuple[DeploymentSettings, ...] | None:
    """`api_server_known`: apiServerCidrs names the API server, which native mode calls."""
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
    identities = _identities(items)
    parsed = [
        _deployment(reader, f"deployments[{i}]", item, identity, api_server_known=api_server_known)
        for i, (item, identity) in enumerate(zip(items, identities, strict=True))
    ]
    _refuse_repeats(reader, items, identities)
    if None in parsed:
        return None
    return tuple(d for d in parsed if d is not None)


@dataclass(frozen=True)
class _Identity:
    """An item's name and ServiceAccount once the fixes suggested for it are applied: its own where they are valid
    and free, else the first free ones (every hint about either suggests these)."""

    name: str
    account: str
    name_clash: str | None = None
    """Why its name, valid, cannot stay: it or an object it derives is an earlier deployment's."""
    account_repeated: bool = False
    """Its ServiceAccount, valid, is an earlier deployment's (and not only because its name repeats one)."""


def _own_name(item: object) -> str | None:
    """The item's name, if it is a valid one (whatever else is wrong with the item)."""
    name = item.get("name") if isinstance(item, dict) else None
    valid = isinstance(name, str) and names.deployment_name_problem(name) is None
    return name if valid else None


def _own_account(item: object, name: str | None) -> str | None:
    """The ServiceAccount the item's pods run as, if it is one the stack may create."""
    if not isinstance(item, dict):
        return None
    if "serviceAccount" not in item:
        return names.flink_service_account(name) if name else None
    account = item["serviceAccount"]
    valid = isinstance(account, str) and names.is_dns1123_label(account) and account not in SHARED_ACCOUNTS
    return account if valid else None


def _clash(name: str, owners: Mapping[tuple[str, str], str]) -> str | None:
    """Why `name` cannot stay beside the deployments that own `owners` (object -> deployment), or None."""
    derived = [(kind, object_) for kind, of_kind in names.derived_names(name).items() for object_ in of_kind]
    clash = next((object_ for object_ in derived if object_ in owners), None)
    if clash is None:
        return None
    (kind, object_name), owner = clash, owners[clash]
    if owner == name:
        return "is used by an earlier deployment"
    return f"derives the {kind} name {object_name}, which deployment {owner} also derives"


def _identities(items: list[Any]) -> list[_Identity]:
    """Names and ServiceAccounts are one per deployment, and no two deployments may derive the same object name
    (`a-rest` beside `a`, whose REST Service that is): the later of two is refused. A replacement is free of
    every item's own name and account and of the replacements before it, so applying any of the suggested
    fixes, or all, leaves nothing shared."""
    own_names = [_own_name(item) for item in items]
    own_accounts = [_own_account(item, name) for item, name in zip(items, own_names, strict=True)]
    taken_objects = {object_ for name in own_names if name for object_ in names.derived_objects(name)}
    taken_accounts = {account for account in own_accounts if account} | set(SHARED_ACCOUNTS)
    owners: dict[tuple[str, str], str] = {}
    seen_accounts: set[str] = set()
    identities = []
    for item, name, account in zip(items, own_names, own_accounts, strict=True):
        explicit = isinstance(item, dict) and "serviceAccount" in item
        clash = _clash(name, owners) if name else None
        if name is not None and clash is None:
            final_name = name
        else:
            typed = item.get("name") if isinstance(item, dict) else None
            base = names.label_like(typed, names.MAX_DEPLOYMENT_NAME_LENGTH)
            final_name = names.free_deployment_name(base or "etl", taken_objects, () if explicit else taken_accounts)
        # A repeated name repeats its default account too: renaming fixes both.
        repeated = account is not None and account in seen_accounts and (explicit or clash is None)
        default = names.flink_service_account(final_name)
        if account is None or repeated:
            final_account = names.free_label(default, taken_accounts)
        else:
            final_account = account if explicit else default
        identities.append(_Identity(final_name, final_account, clash, repeated))
        taken_objects |= names.derived_objects(final_name)
        taken_accounts.add(final_account)
        if name is not None:
            for object_ in names.derived_objects(name):
                owners.setdefault(object_, name)
        if account is not None:
            seen_accounts.add(account)
    return identities


def _refuse_repeats(reader: Reader, items: list[Any], identities: list[_Identity]) -> None:
    for i, (item, identity) in enumerate(zip(items, identities, strict=True)):
        key = f"deployments[{i}]"
        if identity.name_clash is not None:
            reader.fail(
                f"{key}.name",
                item["name"],
                identity.name_clash,
                "give every deployment a unique name that is not another's plus -rest, -ui or -api: "
                + set_hint(f"{key}.name", identity.name),
            )
        if identity.account_repeated:
            reader.fail(
                f"{key}.serviceAccount",
                _own_account(item, _own_name(item)),
                "is used by an earlier deployment",
                _account_fix(key, identity),
            )


def _account_fix(key: str, identity: _Identity) -> str:
    """Back to the default account, when that is the free one; else a free one."""
    if identity.account == names.flink_service_account(identity.name):
        return f"remove the key: pulumi config rm --path '{key}.serviceAccount' (the stack creates {identity.account})"
    return set_hint(f"{key}.serviceAccount", identity.account)


def _deployment(
    reader: Reader, key: str, item: object, identity: _Identity, *, api_server_known: bool
) -> DeploymentSettings | None:
    if not isinstance(item, dict):
        reader.fail(key, item, "must be a map of deployment fields", "see Pulumi.dev.yaml for an example")
        return None
    before = len(reader.problems)
    reader.unknown_fields(key, item, DEPLOYMENT_FIELDS)
    name = reader.label(
        f"{key}.name",
        item.get("name"),
        max_length=names.MAX_DEPLOYMENT_NAME_LENGTH,
        fix=set_hint(f"{key}.name", identity.name),
    )
    image = read_image(reader, f"{key}.image", item.get("image"), FLINK_IMAGE)
    version = _flink_version(reader, f"{key}.flinkVersion", item.get("flinkVersion", "v2_2"))
    # Native mode calls the API server: without its address, the fix says where to find it.
    mode_fix = set_hint(f"{key}.mode", "native") + ("" if api_server_known else f" && {API_SERVER_HINT}")
    mode = reader.enum(f"{key}.mode", item.get("mode", "native"), DeploymentMode, mode_fix)
    account = item.get("serviceAccount", names.flink_service_account(name) if name else None)
    named = "serviceAccount" in item or name is not None
    if named and not (isinstance(account, str) and names.is_dns1123_label(account)):
        reader.fail(
            f"{key}.serviceAccount",
            account,
            "must be a DNS-1123 label (the stack creates this ServiceAccount)",
            _account_fix(key, identity),
        )
    elif account in SHARED_ACCOUNTS:
        reader.fail(
            f"{key}.serviceAccount",
            account,
            f"is shared: {SHARED_ACCOUNTS[account]}; the stack binds its Role to this account, so every pod "
            "running as it would get the JobManager's API permissions",
            _account_fix(key, identity),
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


def _free_path(secret: str, occupied: list[str], wanted: str | None = None) -> str:
    """`wanted` if it overlaps none of `occupied`, else the first of /opt/flink/secrets/<secret>, <secret>-2, ...
    that does (none of `occupied` lies above /opt/flink/secrets: that would overlap the stack's own mounts)."""
    candidates = (f"{names.SECRETS_ROOT}/{name}" for name in names.numbered(secret, names.MAX_LABEL_LENGTH))
    return next(
        path
        for path in itertools.chain([wanted] if wanted else [], candidates)
        if not any(_overlaps(path, other) for other in occupied)
    )


def _mountable(secret: str) -> bool:
    return names.is_dns1123_label(secret) and len(secret) <= MAX_MOUNTED_SECRET_NAME_LENGTH


def _path_problem(path: object, kept: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(why no Secret can be mounted on `path` beside the `kept` mounts (path -> Secret) and the reserved ones, or
    None; the path a fix should suggest where that is free: `path` normalized, or None)."""
    if not isinstance(path, str) or not path.startswith("/") or "," in path or ":" in path:
        return "must be an absolute path without ',' or ':'", None
    normalized = posixpath.normpath("/" + path.lstrip("/"))
    clash = next((other for other in (*RESERVED_MOUNTS, *kept) if _overlaps(normalized, other)), None)
    if normalized != path:
        return (
            "must be a normalized path (no trailing '/', no '.', '..' or empty segments)"
            + (f"; normalized, it collides with {clash}" if clash else ""),
            normalized,
        )
    return (_overlap_reason(clash, kept) if clash else None), path


def _overlap_reason(clash: str, kept: Mapping[str, str]) -> str:
    owner = f"the Secret {kept[clash]}" if clash in kept else "the stack or the operator"
    return (
        f"is, contains or lies inside {clash}, which {owner} mounts: Kubernetes refuses the pod "
        "or the mounts shadow each other"
    )


def _secret_mounts(reader: Reader, key: str, value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        example = set_hint(f"{key}.kafka-tls", "/opt/flink/secrets/kafka")
        reader.fail(key, value, "must be a map of Secret name to absolute mount path", example)
        return {}
    kept: dict[str, str] = {}
    refused: list[tuple[str, object, str, str | None]] = []
    for secret, path in value.items():
        reason, wanted = _path_problem(path, kept)
        if not _mountable(str(secret)):
            reason = (
                f"needs a Secret name that is a DNS-1123 label of at most {MAX_MOUNTED_SECRET_NAME_LENGTH} "
                "characters (Flink names its volume <secret>-volume)"
            )
        if reason is None:
            kept[str(path)] = str(secret)
        else:
            refused.append((str(secret), path, reason, wanted))
    # Each suggested path is free of every kept mount and of the paths suggested before it, so applying any
    # of the fixes, or all, leaves no two mounts overlapping.
    occupied, secrets = [*RESERVED_MOUNTS, *kept], {str(secret) for secret in value}
    for secret, path, reason, wanted in refused:
        item = path_key(key, secret)
        if _mountable(secret):
            suggestion = _free_path(secret, occupied, wanted)
            fix = set_hint(item, suggestion)
        else:
            base = names.label_like(secret, MAX_MOUNTED_SECRET_NAME_LENGTH) or "kafka-tls"
            renamed = names.free_label(base, secrets, MAX_MOUNTED_SECRET_NAME_LENGTH)
            secrets.add(renamed)
            suggestion = _free_path(renamed, occupied, wanted)
            fix = (
                "copy the Secret to a name that fits and mount that instead: "
                f"pulumi config rm --path '{item}' && {set_hint(f'{key}.{renamed}', suggestion)}"
            )
        occupied.append(suggestion)
        reader.fail(f"{key}.{secret}", path, reason, fix)
    return {str(k): str(v) for k, v in value.items()}
