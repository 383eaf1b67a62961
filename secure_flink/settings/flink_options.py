"""A deployment's own flinkConfiguration: options the stack owns, the operator forbids, or that weaken what
the stack secures, and the combinations the operator or Flink refuse at run time."""

import re
from collections.abc import Mapping

from secure_flink.domain import flink_conf
from secure_flink.domain.flink_conf import HighAvailability, first_set, ha_setting, high_availability
from secure_flink.domain.flink_deployment import JobSpec, ProcessResources, UpgradeMode
from secure_flink.settings.reader import Reader, path_key, set_hint

JAVA_CLASS = re.compile(r"[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)+")
SSL_PREFIX = "security.ssl."


def read_flink_configuration(reader: Reader, key: str, value: object) -> dict[str, str]:
    """The user's options as strings, after refusing each one the stack cannot accept."""
    if not isinstance(value, dict):
        example = set_hint(path_key(key, "parallelism.default"), "2")
        reader.fail(key, value, "must be a map of Flink option to value", example)
        return {}
    result: dict[str, str] = {}
    for option, setting in value.items():
        if isinstance(setting, (dict, list)) or setting is None:
            reader.fail(
                f"{key}.{option}", setting, "must be a string, number or boolean", "write the value as a string"
            )
            continue
        text = str(setting).lower() if isinstance(setting, bool) else str(setting)
        problem = _option_problem(f"{key}.{option}", str(option), text, value)
        if problem is None:
            result[str(option)] = text
        else:
            reader.fail(f"{key}.{option}", setting, *problem)
    return result


def _option_problem(key: str, option: str, value: str, options: Mapping[str, object]) -> tuple[str, str] | None:
    """(reason, fix) when `option: value` cannot be accepted among the deployment's `options`, else None."""
    if option in flink_conf.REMOVED_KEYS:
        return (
            "was removed in Flink 2.x and enables nothing; this stack already turns on internal and REST TLS",
            "remove the key",
        )
    if option in flink_conf.MANAGED_KEYS:
        return (
            "is set by this stack (TLS material and its mounts)",
            "remove the key; use tlsProtocol/keyAlgorithm for TLS and secretMounts to mount Secrets",
        )
    if option in flink_conf.STACK_OWNED_KEYS:
        return f"is decided by this stack: {flink_conf.STACK_OWNED_KEYS[option]}", "remove the key"
    if option in flink_conf.OPERATOR_FORBIDDEN_KEYS:
        return "is forbidden by the Flink Kubernetes Operator, which sets it from the FlinkDeployment", "remove the key"
    if option in flink_conf.REQUIRED_VALUES:
        allowed, why = flink_conf.REQUIRED_VALUES[option]
        if value.lower() not in {a.lower() for a in allowed}:
            return f"must be {' or '.join(allowed)}: {why}", f"remove the key (its default is {allowed[0]})"
    elif option.startswith(SSL_PREFIX) and option not in flink_conf.TUNABLE_SSL_KEYS:
        return (
            "is not an SSL option this stack lets you set",
            f"remove the key; settable: {', '.join(sorted(flink_conf.TUNABLE_SSL_KEYS))}",
        )
    if option in flink_conf.HA_MODE_KEYS and not _known_ha(value):
        return (
            "is not an HA type Flink knows: none, zookeeper, kubernetes (any case) or a factory class name",
            _ha_hint(key[: -len(option) - 1], options, option),
        )
    return None


def _known_ha(value: str) -> bool:
    mode = high_availability({"high-availability.type": value})
    return mode is not HighAvailability.FACTORY_CLASS or bool(JAVA_CLASS.fullmatch(value))


def _ha_hint(conf_key: str, options: Mapping[str, object], option: str = "high-availability.type") -> str:
    """Kubernetes HA through `option`, with the storage directory it needs unless one is set."""
    commands = [set_hint(path_key(conf_key, option), "kubernetes")]
    if not any(storage in options for storage in flink_conf.HA_STORAGE_KEYS):
        commands.append(set_hint(path_key(conf_key, "high-availability.storageDir"), "s3://bucket/flink/ha"))
    return " && ".join(commands)


def check_deployment_options(
    reader: Reader, key: str, options: Mapping[str, str], *, job: JobSpec | None, job_manager: ProcessResources
) -> None:
    """Combinations of options and deployment fields that the operator's validator (DefaultValidator, 1.15)
    or Flink at start-up refuses."""
    conf_key = f"{key}.flinkConfiguration"
    turn_on_ha = _ha_hint(conf_key, options)
    ha = high_availability(options)
    ha_key = next((k for k in flink_conf.HA_MODE_KEYS if k in options), "high-availability.type")
    if ha is not HighAvailability.NONE and first_set(options, flink_conf.HA_STORAGE_KEYS) is None:
        reader.fail(
            f"{conf_key}.{ha_key}",
            ha_setting(options),
            "turns on high availability, which needs high-availability.storageDir (Flink will not start without it)",
            set_hint(path_key(conf_key, "high-availability.storageDir"), "s3://bucket/flink/ha"),
        )
    if (job_manager.replicas or 1) > 1 and ha is HighAvailability.NONE:
        reader.fail(
            f"{key}.jobManager.replicas",
            job_manager.replicas,
            "is above 1, which the operator refuses without high availability "
            "(standby JobManagers need a leader election)",
            f"{set_hint(f'{key}.jobManager.replicas', '1')}, or turn on HA: {turn_on_ha}",
        )
    operator = "kubernetes.operator."
    if options.get(f"{operator}deployment.rollback.enabled", "").lower() == "true" and ha is HighAvailability.NONE:
        reader.fail(
            f"{conf_key}.{operator}deployment.rollback.enabled",
            "true",
            "needs high availability (the operator refuses rollbacks without it)",
            f"remove the key, or turn on HA: {turn_on_ha}",
        )
    if (
        options.get(f"{operator}cluster.health-check.enabled", "").lower() == "true"
        and options.get(f"{operator}jm-deployment-recovery.enabled", "true").lower() == "false"
    ):
        reader.fail(
            f"{conf_key}.{operator}cluster.health-check.enabled",
            "true",
            f"needs {operator}jm-deployment-recovery.enabled (the operator refuses the health check without it)",
            f"remove {operator}jm-deployment-recovery.enabled",
        )
    _check_snapshot_dirs(reader, key, options, job)


def _check_snapshot_dirs(reader: Reader, key: str, options: Mapping[str, str], job: JobSpec | None) -> None:
    conf_key, job_key = f"{key}.flinkConfiguration", f"{key}.job.upgradeMode"
    checkpoints = first_set(options, flink_conf.CHECKPOINT_DIR_KEYS)
    savepoints = first_set(options, flink_conf.SAVEPOINT_DIR_KEYS)
    dir_hint = set_hint(path_key(conf_key, "execution.checkpointing.dir"), "s3://bucket/flink/checkpoints")
    savepoint_hint = set_hint(
        path_key(conf_key, "execution.checkpointing.savepoint-dir"), "s3://bucket/flink/savepoints"
    )
    # One problem per key, whose fix sets every directory the mode lacks.
    missing = []
    if job is not None and job.upgrade_mode is not UpgradeMode.STATELESS and not (checkpoints or "").strip():
        missing.append(("a checkpoint directory (execution.checkpointing.dir)", dir_hint))
    if job is not None and job.upgrade_mode is UpgradeMode.SAVEPOINT and not (savepoints or "").strip():
        missing.append(("a savepoint directory (execution.checkpointing.savepoint-dir)", savepoint_hint))
    if job is not None and missing:
        reader.fail(
            job_key,
            job.upgrade_mode.value,
            f"needs {' and '.join(what for what, _ in missing)}; the operator refuses it without "
            + ("one" if len(missing) == 1 else "them"),
            " && ".join(hint for _, hint in missing),
        )
    interval = "kubernetes.operator.periodic.savepoint.interval"
    if interval in options and not (savepoints or "").strip():
        reader.fail(
            f"{conf_key}.{interval}",
            options[interval],
            "needs a savepoint directory (execution.checkpointing.savepoint-dir); the operator refuses it without one",
            savepoint_hint,
        )
