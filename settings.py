"""The stack configuration, read once, validated whole, returned as frozen typed settings.

This is the only module that reads stack config. It takes a ConfigSource (`PulumiConfig` in the
program, `MappingConfig` in tests) so that validation runs, and fails, before the program registers a
single resource. Defaults of top-level keys live in `Pulumi.yaml` only; defaults of fields inside
`deployments` and `uiUsers` items live here.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol, TypeVar

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env, is_config_secret

from components.render import flink_conf, names
from components.render.exposure import Termination
from components.render.flink_deployment import (
    CRD_FLINK_VERSIONS,
    SUPPORTED_FLINK_VERSIONS,
    DeploymentMode,
    JobSpec,
    ProcessResources,
    UpgradeMode,
)
from components.render.htpasswd import HashScheme, password_problems, username_problem
from components.render.tls_policy import (
    ECDSA_CURVES,
    RSA_KEY_SIZES,
    CertificateLifetime,
    KeyAlgorithm,
    KeySpec,
    TlsProtocol,
)

PROJECT = "secure-flink"

E = TypeVar("E", bound=Enum)


class ConfigSource(Protocol):
    def get(self, key: str) -> str | None: ...

    def is_secret(self, key: str) -> bool: ...

    def keys(self) -> set[str]:
        """Every key set for this project (stack values and Pulumi.yaml defaults)."""
        ...


class PulumiConfig:
    """The stack's configuration as the Pulumi CLI hands it to the program."""

    def __init__(self) -> None:
        self._config = pulumi.Config()

    def get(self, key: str) -> str | None:
        return self._config.get(key)

    def is_secret(self, key: str) -> bool:
        return is_config_secret(self._config.full_key(key))

    def keys(self) -> set[str]:
        prefix = self._config.full_key("")
        every = {**get_config_env(), **CONFIG.get()}
        return {key[len(prefix) :] for key in every if key.startswith(prefix)}


class Platform(str, Enum):
    KUBERNETES = "kubernetes"
    OPENSHIFT = "openshift"


@dataclass(frozen=True)
class Problem:
    key: str
    value: object
    reason: str
    fix: str

    def __str__(self) -> str:
        return f"{PROJECT}:{self.key} = {json.dumps(self.value, default=str)}: {self.reason}. Fix: {self.fix}"


class ConfigError(ValueError):
    """Stack configuration that cannot work. Lists every problem: key, bad value, fix."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("invalid stack configuration:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True, kw_only=True)
class TlsSettings:
    key: KeySpec
    protocol: TlsProtocol
    ca_lifetime: CertificateLifetime
    cert_lifetime: CertificateLifetime
    rotation: str
    """Changing this value re-issues every key, certificate, keystore and password on the next `pulumi up`."""


@dataclass(frozen=True, kw_only=True)
class DeploymentSettings:
    name: str
    image: str
    flink_version: str
    mode: DeploymentMode
    service_account: str
    job_manager: ProcessResources
    task_manager: ProcessResources
    job: JobSpec | None
    flink_configuration: Mapping[str, str] = field(default_factory=dict)
    secret_mounts: Mapping[str, str] = field(default_factory=dict)
    """Extra Secrets to mount into Flink pods: Secret name -> absolute path."""


@dataclass(frozen=True, kw_only=True)
class UiUser:
    name: str
    password: str | None = field(default=None, repr=False)
    """Set by the user as secret config, or None: the stack generates one."""


@dataclass(frozen=True, kw_only=True)
class UiSettings:
    enabled: bool
    users: tuple[UiUser, ...]
    hash_scheme: HashScheme
    domain: str | None
    """UI hosts are `<deployment>.<domain>`; None: OpenShift assigns Route hosts, an Ingress has no host."""
    route_termination: Termination
    ingress_class: str
    max_body_size: str
    proxy_image: str


@dataclass(frozen=True, kw_only=True)
class StackSettings:
    rest_clients: tuple[str, ...]
    """Names of the REST clients the stack issues client certificates to."""
    ingress_controller_namespace: str
    """Where ingress-nginx runs: the REST NetworkPolicy admits it when a RestMTLSIngress exists."""
    platform: Platform
    namespace: str
    operator_namespace: str
    tls: TlsSettings
    deployments: tuple[DeploymentSettings, ...]
    ui: UiSettings


MEMORY_SIZE = re.compile(r"^[0-9]+(\.[0-9]+)?\s*(b|k|kb|m|mb|g|gb|t|tb)?$", re.IGNORECASE)
IMAGE_REFERENCE = re.compile(r"^[a-z0-9][a-z0-9._/:-]*(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$")
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
    }
)
RESOURCE_FIELDS = frozenset({"cpu", "memory", "replicas"})
JOB_FIELDS = frozenset({"jarURI", "entryClass", "args", "parallelism", "upgradeMode"})
DEFAULT_JOB_MANAGER = {"cpu": 1, "memory": "1600m", "replicas": 1}
DEFAULT_TASK_MANAGER = {"cpu": 1, "memory": "1728m"}


class _Reader:
    """Collects problems instead of stopping at the first, so one run reports them all."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, key: str, value: object, reason: str, fix: str) -> None:
        self.problems.append(Problem(key, value, reason, fix))

    def enum(self, key: str, value: object, enum: type[E], fix: str) -> E | None:
        for member in enum:
            if value == member.value:
                return member
        allowed = ", ".join(str(m.value) for m in enum)
        self.fail(key, value, f"must be one of {allowed}", fix)
        return None

    def integer(self, key: str, value: object, *, minimum: int, fix: str) -> int | None:
        parsed = _as_int(value)
        if parsed is None or parsed < minimum:
            self.fail(key, value, f"must be a whole number >= {minimum}", fix)
            return None
        return parsed

    def label(self, key: str, value: object, *, max_length: int, fix: str) -> str | None:
        if not isinstance(value, str) or not names.is_dns1035_label(value) or len(value) > max_length:
            self.fail(
                key,
                value,
                f"must be a DNS-1035 label of at most {max_length} characters "
                "(lowercase letters, digits and '-', starting with a letter, ending alphanumeric)",
                fix,
            )
            return None
        return value

    def unknown_fields(self, key: str, value: Mapping[str, Any], allowed: frozenset[str]) -> None:
        for extra in sorted(set(value) - allowed):
            self.fail(
                f"{key}.{extra}",
                value[extra],
                "is not a known field",
                f"remove it; known fields: {', '.join(sorted(allowed))}",
            )


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
        return int(value)
    return None


def _as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _set_hint(path: str, example: str) -> str:
    return f"pulumi config set --path '{path}' {example}"


def read_settings(config: ConfigSource) -> StackSettings:
    """Read and validate the whole stack configuration; raise ConfigError listing every problem."""
    reader = _Reader()
    for unknown in sorted(config.keys() - set(TOP_LEVEL_KEYS)):
        reader.fail(
            unknown,
            config.get(unknown),
            "is not a configuration key of this project",
            f"pulumi config rm {unknown}  (known keys: {', '.join(TOP_LEVEL_KEYS)})",
        )
    raw: dict[str, Any] = {key: config.get(key) for key in TOP_LEVEL_KEYS}
    raw[SECRET_USERS_MARK] = config.is_secret("uiUsers")
    for key, value in raw.items():
        if value is None:
            reader.fail(
                key,
                value,
                "is not set (Pulumi.yaml declares a default for it)",
                f"restore its declaration in Pulumi.yaml or run: pulumi config set {key} <value>",
            )
    if reader.problems:
        raise ConfigError(reader.problems)
    settings = _build(reader, raw)
    if reader.problems or settings is None:
        raise ConfigError(reader.problems)
    return settings


def _build(reader: _Reader, raw: Mapping[str, str | None]) -> StackSettings | None:
    platform = reader.enum("platform", raw["platform"], Platform, "pulumi config set platform kubernetes")
    namespace = _namespace(reader, "namespace", raw["namespace"])
    operator_namespace = _namespace(reader, "operatorNamespace", raw["operatorNamespace"])
    tls = _tls(reader, raw)
    deployments = _deployments(reader, raw["deployments"])
    ui = _ui(reader, raw, platform, deployments)
    rest_clients = _rest_clients(reader, raw["restClients"])
    controller_namespace = _namespace(reader, "ingressControllerNamespace", raw["ingressControllerNamespace"])
    if rest_clients and ui is not None and ui.domain is None:
        reader.fail(
            "uiDomain",
            raw["uiDomain"],
            "is required with restClients: the REST entry point checks client certificates "
            "per host (<deployment>-api.<uiDomain>)",
            "pulumi config set uiDomain flink.example.com",
        )
    if None in (platform, namespace, operator_namespace, tls, deployments, ui, rest_clients, controller_namespace):
        return None
    if reader.problems:
        return None
    return StackSettings(
        rest_clients=rest_clients,
        ingress_controller_namespace=controller_namespace,
        ui=ui,
        platform=platform,
        namespace=namespace,
        operator_namespace=operator_namespace,
        tls=tls,
        deployments=deployments,
    )


def _namespace(reader: _Reader, key: str, value: str | None) -> str | None:
    if value is None or not names.is_dns1123_label(value):
        reader.fail(
            key,
            value,
            "must be a DNS-1123 label (lowercase letters, digits and '-', at most 63)",
            f"pulumi config set {key} flink",
        )
        return None
    return value


def _tls(reader: _Reader, raw: Mapping[str, str | None]) -> TlsSettings | None:
    before = len(reader.problems)
    algorithm = reader.enum("keyAlgorithm", raw["keyAlgorithm"], KeyAlgorithm, "pulumi config set keyAlgorithm RSA")
    protocol = reader.enum("tlsProtocol", raw["tlsProtocol"], TlsProtocol, "pulumi config set tlsProtocol TLSv1.3")
    rsa_bits = reader.integer("rsaBits", raw["rsaBits"], minimum=0, fix="pulumi config set rsaBits 3072")
    if rsa_bits is not None and rsa_bits not in RSA_KEY_SIZES:
        reader.fail(
            "rsaBits",
            raw["rsaBits"],
            f"must be one of {', '.join(map(str, RSA_KEY_SIZES))}",
            "pulumi config set rsaBits 3072",
        )
    curve = raw["ecdsaCurve"]
    if curve not in ECDSA_CURVES:
        reader.fail(
            "ecdsaCurve", curve, f"must be one of {', '.join(ECDSA_CURVES)}", "pulumi config set ecdsaCurve P256"
        )
    hours = {
        key: reader.integer(key, raw[key], minimum=1, fix=f"pulumi config set {key} <hours>")
        for key in ("caValidityHours", "certValidityHours", "certEarlyRenewalHours")
    }
    _check_validity(reader, hours)
    rotation = raw["tlsRotation"] or ""
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,63}", rotation):
        reader.fail(
            "tlsRotation",
            rotation,
            "must be 1-63 letters, digits, '.', '_' or '-'",
            "pulumi config set tlsRotation 2026-11",
        )
    if len(reader.problems) > before:
        return None
    renewal = hours["certEarlyRenewalHours"]
    return TlsSettings(
        key=KeySpec(algorithm=algorithm, rsa_bits=rsa_bits, ecdsa_curve=curve),
        protocol=protocol,
        ca_lifetime=CertificateLifetime(validity_hours=hours["caValidityHours"], early_renewal_hours=renewal),
        cert_lifetime=CertificateLifetime(validity_hours=hours["certValidityHours"], early_renewal_hours=renewal),
        rotation=rotation,
    )


def _check_validity(reader: _Reader, hours: Mapping[str, int | None]) -> None:
    ca, cert, renewal = hours["caValidityHours"], hours["certValidityHours"], hours["certEarlyRenewalHours"]
    if cert is not None and renewal is not None and cert <= renewal:
        reader.fail(
            "certValidityHours",
            cert,
            f"must be above certEarlyRenewalHours ({renewal}), "
            "or every certificate is due for renewal the moment it is issued",
            f"pulumi config set certValidityHours {max(renewal * 12, 8760)}",
        )
    if ca is not None and cert is not None and ca < cert:
        reader.fail(
            "caValidityHours",
            ca,
            f"must be at least certValidityHours ({cert}): a certificate cannot outlive the CA that signed it",
            f"pulumi config set caValidityHours {cert * 5}",
        )


def _deployments(reader: _Reader, text: str | None) -> tuple[DeploymentSettings, ...] | None:
    items = _json(reader, "deployments", text)
    if not isinstance(items, list) or not items:
        reader.fail(
            "deployments",
            items,
            "must be a non-empty list of FlinkDeployment settings",
            "declare at least one item, see Pulumi.dev.yaml",
        )
        return None
    parsed = [_deployment(reader, f"deployments[{i}]", item) for i, item in enumerate(items)]
    seen: set[str] = set()
    for i, deployment in enumerate(parsed):
        if deployment is not None and deployment.name in seen:
            reader.fail(
                f"deployments[{i}].name",
                deployment.name,
                "is used by an earlier deployment",
                "give every deployment a unique name",
            )
        if deployment is not None:
            seen.add(deployment.name)
    if None in parsed:
        return None
    return tuple(d for d in parsed if d is not None)


def _json(reader: _Reader, key: str, text: str | None) -> Any:
    try:
        return json.loads(text) if text is not None else None
    except json.JSONDecodeError as error:
        reader.fail(key, text, f"is not valid JSON ({error.msg})", "set it as YAML in Pulumi.<stack>.yaml")
        return None


def _deployment(reader: _Reader, key: str, item: object) -> DeploymentSettings | None:
    if not isinstance(item, dict):
        reader.fail(key, item, "must be a map of deployment fields", "see Pulumi.dev.yaml for an example")
        return None
    before = len(reader.problems)
    reader.unknown_fields(key, item, DEPLOYMENT_FIELDS)
    name = reader.label(
        f"{key}.name",
        item.get("name"),
        max_length=names.MAX_DEPLOYMENT_NAME_LENGTH,
        fix=_set_hint(f"{key}.name", "etl"),
    )
    image = _image(reader, f"{key}.image", item.get("image"))
    version = _flink_version(reader, f"{key}.flinkVersion", item.get("flinkVersion", "v2_2"))
    mode = reader.enum(f"{key}.mode", item.get("mode", "native"), DeploymentMode, _set_hint(f"{key}.mode", "native"))
    account = item.get("serviceAccount", "flink")
    if not isinstance(account, str) or not names.is_dns1123_label(account):
        reader.fail(
            f"{key}.serviceAccount", account, "must be a DNS-1123 label", _set_hint(f"{key}.serviceAccount", "flink")
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
    )


def _image(reader: _Reader, key: str, value: object) -> str | None:
    pinned = (
        isinstance(value, str)
        and bool(IMAGE_REFERENCE.match(value))
        and ("@sha256:" in value or (":" in value.rsplit("/", 1)[-1] and not value.endswith(":latest")))
    )
    if not pinned:
        reader.fail(
            key,
            value,
            "must be an image reference pinned by a version tag (not latest) or a digest",
            _set_hint(key, "flink:2.2.1-scala_2.12-java17"),
        )
        return None
    return str(value)


def _flink_version(reader: _Reader, key: str, value: object) -> str | None:
    if value in SUPPORTED_FLINK_VERSIONS:
        return str(value)
    if value in CRD_FLINK_VERSIONS:
        reason = (
            f"is known to the operator but not supported here: the TLS keys this stack writes need Flink 1.20+; "
            f"supported: {', '.join(SUPPORTED_FLINK_VERSIONS)}"
        )
    else:
        reason = f"is not a flinkVersion the operator 1.15 CRD knows ({', '.join(CRD_FLINK_VERSIONS)})"
    reader.fail(key, value, reason, _set_hint(key, "v2_2"))
    return None


def _resources(reader: _Reader, key: str, value: object, defaults: Mapping[str, object]) -> ProcessResources | None:
    if not isinstance(value, dict):
        reader.fail(
            key,
            value,
            "must be a map with cpu, memory (and replicas)",
            _set_hint(f"{key}.memory", str(defaults["memory"])),
        )
        return None
    reader.unknown_fields(key, value, RESOURCE_FIELDS)
    merged = {**defaults, **value}
    cpu = _as_number(merged["cpu"])
    if cpu is None or cpu <= 0:
        reader.fail(f"{key}.cpu", merged["cpu"], "must be a number above 0", _set_hint(f"{key}.cpu", "1"))
    memory = merged["memory"]
    if not isinstance(memory, str) or not MEMORY_SIZE.match(memory):
        reader.fail(
            f"{key}.memory",
            memory,
            "must be a Flink memory size such as 1600m or 2g",
            _set_hint(f"{key}.memory", str(defaults["memory"])),
        )
    replicas = None
    if merged.get("replicas") is not None:
        replicas = reader.integer(
            f"{key}.replicas", merged["replicas"], minimum=1, fix=_set_hint(f"{key}.replicas", "1")
        )
    if cpu is None or cpu <= 0 or not isinstance(memory, str) or not MEMORY_SIZE.match(memory):
        return None
    return ProcessResources(cpu=cpu, memory=memory, replicas=replicas)


def _job(reader: _Reader, key: str, value: object) -> JobSpec | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        reader.fail(
            key,
            value,
            "must be a map with jarURI, parallelism, upgradeMode (entryClass, args)",
            _set_hint(f"{key}.jarURI", "local:///opt/flink/usrlib/job.jar"),
        )
        return None
    reader.unknown_fields(key, value, JOB_FIELDS)
    jar = value.get("jarURI")
    if not isinstance(jar, str) or not JAR_URI.match(jar):
        reader.fail(
            f"{key}.jarURI",
            jar,
            "must be a URI such as local:///opt/flink/usrlib/job.jar",
            _set_hint(f"{key}.jarURI", "local:///opt/flink/usrlib/job.jar"),
        )
    parallelism = reader.integer(
        f"{key}.parallelism", value.get("parallelism", 1), minimum=1, fix=_set_hint(f"{key}.parallelism", "2")
    )
    upgrade = reader.enum(
        f"{key}.upgradeMode",
        value.get("upgradeMode", "stateless"),
        UpgradeMode,
        _set_hint(f"{key}.upgradeMode", "stateless"),
    )
    entry = value.get("entryClass")
    if entry is not None and not (isinstance(entry, str) and re.fullmatch(r"[A-Za-z_$][\w$.]*", entry)):
        reader.fail(
            f"{key}.entryClass", entry, "must be a Java class name", _set_hint(f"{key}.entryClass", "com.example.Job")
        )
    args = value.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        reader.fail(f"{key}.args", args, "must be a list of strings", _set_hint(f"{key}.args[0]", "--input"))
        return None
    if not isinstance(jar, str) or not JAR_URI.match(jar) or parallelism is None or upgrade is None:
        return None
    return JobSpec(jar_uri=jar, parallelism=parallelism, upgrade_mode=upgrade, entry_class=entry, args=tuple(args))


def _flink_configuration(reader: _Reader, key: str, value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        reader.fail(
            key, value, "must be a map of Flink option to value", _set_hint(f"{key}.parallelism\\.default", "2")
        )
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


def _secret_mounts(reader: _Reader, key: str, value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        reader.fail(
            key,
            value,
            "must be a map of Secret name to absolute mount path",
            _set_hint(f"{key}.kafka-tls", "/opt/flink/secrets/kafka"),
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
                _set_hint(f"{key}.{secret}", "/opt/flink/secrets/kafka"),
            )
    return {str(k): str(v) for k, v in value.items()}


SECRET_USERS_MARK = "uiUsers (secret)"
USER_FIELDS = frozenset({"name", "password"})
DOMAIN = re.compile(r"^(?=.{1,200}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
NGINX_SIZE = re.compile(r"^[1-9][0-9]*[kKmMgG]?$")


def _ui(
    reader: _Reader,
    raw: Mapping[str, Any],
    platform: Platform | None,
    deployments: tuple[DeploymentSettings, ...] | None,
) -> UiSettings | None:
    before = len(reader.problems)
    enabled = raw["uiEnabled"]
    if enabled not in ("true", "false"):
        reader.fail("uiEnabled", enabled, "must be true or false", "pulumi config set uiEnabled true")
    users = _ui_users(reader, raw["uiUsers"], bool(raw[SECRET_USERS_MARK]))
    scheme = reader.enum("uiHashScheme", raw["uiHashScheme"], HashScheme, "pulumi config set uiHashScheme ssha")
    termination = reader.enum(
        "uiRouteTermination", raw["uiRouteTermination"], Termination, "pulumi config set uiRouteTermination passthrough"
    )
    domain = _ui_domain(reader, raw["uiDomain"] or None, deployments or ())
    if platform is Platform.OPENSHIFT and termination is Termination.PASSTHROUGH and domain is None:
        reader.fail(
            "uiDomain",
            raw["uiDomain"],
            "is required with a passthrough Route: the proxy serves the "
            "certificate itself, so it must know the host the router sends",
            "pulumi config set uiDomain apps.mycluster.example.com (or uiRouteTermination reencrypt)",
        )
    ingress_class = raw["uiIngressClass"]
    if not isinstance(ingress_class, str) or not names.is_dns1123_label(ingress_class):
        reader.fail(
            "uiIngressClass", ingress_class, "must be an IngressClass name", "pulumi config set uiIngressClass nginx"
        )
    body = raw["uiMaxBodySize"]
    if not isinstance(body, str) or not NGINX_SIZE.match(body):
        reader.fail("uiMaxBodySize", body, "must be an nginx size such as 256m", "pulumi config set uiMaxBodySize 256m")
    image = _image(reader, "uiProxyImage", raw["uiProxyImage"])
    if len(reader.problems) > before or users is None or scheme is None or termination is None or image is None:
        return None
    return UiSettings(
        enabled=enabled == "true",
        users=users,
        hash_scheme=scheme,
        domain=domain,
        route_termination=termination,
        ingress_class=ingress_class,
        max_body_size=body,
        proxy_image=image,
    )


def _ui_users(reader: _Reader, text: str | None, secret: bool) -> tuple[UiUser, ...] | None:
    items = _json(reader, "uiUsers", text)
    if not isinstance(items, list) or not items:
        reader.fail("uiUsers", items, "must be a non-empty list of users", _set_hint("uiUsers[0].name", "admin"))
        return None
    users, seen = [], set()
    for i, item in enumerate(items):
        key = f"uiUsers[{i}]"
        if not isinstance(item, dict):
            reader.fail(key, item, "must be a map with name (and password)", _set_hint(f"{key}.name", "admin"))
            continue
        reader.unknown_fields(key, item, USER_FIELDS)
        name, password = item.get("name"), item.get("password")
        problem = username_problem(name) if isinstance(name, str) else "must be a string"
        if problem:
            reader.fail(f"{key}.name", name, problem, _set_hint(f"{key}.name", "admin"))
        elif name in seen:
            reader.fail(f"{key}.name", name, "is listed twice", "give every user a unique name")
        seen.add(name)
        users.append(UiUser(name=str(name), password=_user_password(reader, key, name, password, secret)))
    return tuple(users)


def _user_password(reader: _Reader, key: str, name: object, password: object, secret: bool) -> str | None:
    if password is None:
        return None
    fix = f"pulumi config set --secret --path '{key}.password' <password>  (or remove it: the stack generates one)"
    if not secret:
        # The value is in plain text in Pulumi.<stack>.yaml: never echo it.
        reader.fail(f"{key}.password", "[not shown]", "is not encrypted", fix)
        return None
    problems = password_problems(str(name), password) if isinstance(password, str) else ["must be a string"]
    if problems:
        reader.fail(f"{key}.password", "[secret]", "is too weak: " + "; ".join(problems), fix)
        return None
    return password


def _ui_domain(reader: _Reader, domain: str | None, deployments: tuple[DeploymentSettings, ...]) -> str | None:
    if domain is None:
        return None
    longest = max((len(d.name) for d in deployments), default=0)
    if not DOMAIN.match(domain) or longest + 1 + len(domain) > 253:
        reader.fail(
            "uiDomain",
            domain,
            "must be a DNS domain without scheme, port or path (UI hosts are <deployment>.<uiDomain>)",
            "pulumi config set uiDomain flink.apps.example.com",
        )
        return None
    return domain


CLIENT_FIELDS = frozenset({"name"})
MAX_CLIENT_NAME_LENGTH = 40


def _rest_clients(reader: _Reader, text: str | None) -> tuple[str, ...] | None:
    items = _json(reader, "restClients", text)
    if not isinstance(items, list):
        reader.fail("restClients", items, "must be a list of clients", _set_hint("restClients[0].name", "ci-bot"))
        return None
    before, clients = len(reader.problems), []
    for i, item in enumerate(items):
        key = f"restClients[{i}]"
        if not isinstance(item, dict):
            reader.fail(key, item, "must be a map with name", _set_hint(f"{key}.name", "ci-bot"))
            continue
        reader.unknown_fields(key, item, CLIENT_FIELDS)
        name = item.get("name")
        if not isinstance(name, str) or not names.is_dns1123_label(name) or len(name) > MAX_CLIENT_NAME_LENGTH:
            reader.fail(
                f"{key}.name",
                name,
                f"must be a DNS-1123 label of at most {MAX_CLIENT_NAME_LENGTH} "
                "characters (it names the certificate and its resources)",
                _set_hint(f"{key}.name", "ci-bot"),
            )
        elif name in clients:
            reader.fail(f"{key}.name", name, "is listed twice", "give every client a unique name")
        else:
            clients.append(name)
    return tuple(clients) if len(reader.problems) == before else None


TOP_LEVEL_KEYS = (
    "platform",
    "namespace",
    "operatorNamespace",
    "keyAlgorithm",
    "rsaBits",
    "ecdsaCurve",
    "tlsProtocol",
    "caValidityHours",
    "certValidityHours",
    "certEarlyRenewalHours",
    "tlsRotation",
    "deployments",
    "uiEnabled",
    "uiUsers",
    "uiHashScheme",
    "uiDomain",
    "uiRouteTermination",
    "uiIngressClass",
    "uiMaxBodySize",
    "uiProxyImage",
    "restClients",
    "ingressControllerNamespace",
)


class MappingConfig:
    """A ConfigSource over plain values, handing them over as the Pulumi CLI does: as strings."""

    def __init__(self, values: Mapping[str, object], secret_keys: tuple[str, ...] = ()) -> None:
        self._values = values
        self._secret_keys = secret_keys

    def is_secret(self, key: str) -> bool:
        return key in self._secret_keys

    def keys(self) -> set[str]:
        return set(self._values)

    def get(self, key: str) -> str | None:
        value = self._values.get(key)
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value)
