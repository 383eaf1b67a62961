"""The stack configuration, read once, validated whole, returned as frozen typed settings.

`read_settings` is the only code that reads stack config; the modules of this package each parse one
concern (tls, deployments, ui, clients) from raw values. It takes a ConfigSource (`PulumiConfig` in the
program, `MappingConfig` in tests) so that validation runs, and fails, before the program registers a
single resource. Defaults of top-level keys live in `Pulumi.yaml` only; defaults of fields inside
`deployments` and `uiUsers` items live here.
"""

import dataclasses
import json
from collections.abc import Mapping
from typing import Any, Protocol

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env, is_config_secret

from secure_flink.domain import names
from secure_flink.settings.clients import read_rest_clients
from secure_flink.settings.defaults import DEFAULTS
from secure_flink.settings.deployments import read_deployments
from secure_flink.settings.model import (
    PROJECT,
    ConfigError,
    DeploymentSettings,
    Platform,
    Problem,
    StackSettings,
    TlsSettings,
    UiSettings,
    UiUser,
)
from secure_flink.settings.network import API_SERVER_HINT, read_api_server_cidrs
from secure_flink.settings.reader import Reader, closest_name, read_namespace
from secure_flink.settings.sso import SECRET_CLIENT_SECRET_MARK
from secure_flink.settings.tls import read_tls
from secure_flink.settings.ui import SECRET_USERS_MARK, read_ui

__all__ = [
    "PROJECT",
    "ConfigError",
    "ConfigSource",
    "DeploymentSettings",
    "MappingConfig",
    "Platform",
    "Problem",
    "PulumiConfig",
    "StackSettings",
    "TlsSettings",
    "UiSettings",
    "UiUser",
    "read_settings",
]


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


def read_settings(config: ConfigSource) -> StackSettings:
    """Read and validate the whole stack configuration; raise ConfigError listing every problem. Keys that were
    renamed are still read, each with a deprecation in `StackSettings.warnings`."""
    reader = Reader()
    known = set(TOP_LEVEL_KEYS) | set(RENAMED_KEYS)
    for unknown in sorted(config.keys() - known):
        intended = closest_name(unknown, TOP_LEVEL_KEYS)
        rename = f"did you mean {intended}? Move the value there, then " if intended else ""
        reader.fail(
            unknown,
            config.get(unknown),
            "is not a configuration key of this project",
            f"{rename}pulumi config rm {unknown}  (known keys: {', '.join(TOP_LEVEL_KEYS)})",
        )
    raw: dict[str, Any] = {key: config.get(key) for key in TOP_LEVEL_KEYS}
    raw[SECRET_USERS_MARK] = config.is_secret("uiUsers")
    raw[SECRET_CLIENT_SECRET_MARK] = config.is_secret("oidcClientSecret")
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
    deprecations = _read_renamed_keys(config, raw)
    settings = _build(reader, raw)
    if reader.problems or settings is None:
        raise ConfigError([_through_earlier_key(problem, deprecations) for problem in reader.problems])
    return dataclasses.replace(settings, warnings=(*deprecations, *reader.warnings))


RENAMED_KEYS = {
    "uiDomain": "domain",
    "uiIngressClass": "ingressClass",
    "uiMaxBodySize": "proxyMaxBodySize",
    "uiProxyImage": "proxyImage",
}
"""Earlier name -> current name: each also configures the REST API's entry point, not only the UI's."""


def _through_earlier_key(problem: Problem, deprecations: tuple[Problem, ...]) -> Problem:
    """A problem with a value that came from an earlier key: its fix must also remove that key, which is read in
    place of the current one while it is set."""
    for deprecation in deprecations:
        current = RENAMED_KEYS[deprecation.key]
        if problem.key == current:
            return dataclasses.replace(
                problem,
                reason=f"{problem.reason} (the value is {deprecation.key}'s, read in place of {current})",
                fix=f"{problem.fix}, then pulumi config rm {deprecation.key}",
            )
    return problem


def _read_renamed_keys(config: ConfigSource, raw: dict[str, Any]) -> tuple[Problem, ...]:
    """Takes each earlier key that is still set in place of its current name (a stack keeps working unchanged
    after the upgrade), and says how to move it. Problems about the value name the earlier key's new name."""
    deprecations = []
    for earlier, current in RENAMED_KEYS.items():
        value = config.get(earlier)
        if value is None:
            continue
        raw[current] = value
        secret = config.is_secret(earlier)
        move = f"pulumi config set --secret {current} <value>" if secret else f"pulumi config set {current} '{value}'"
        deprecations.append(
            Problem(
                earlier,
                "[secret]" if secret else value,
                f"is deprecated: it was renamed to {current}, and while it is set it is read in place of {current}",
                f"{move} && pulumi config rm {earlier}",
            )
        )
    return tuple(deprecations)


def _build(reader: Reader, raw: Mapping[str, str | None]) -> StackSettings | None:
    platform = reader.enum("platform", raw["platform"], Platform, "pulumi config set platform kubernetes")
    namespace = read_namespace(reader, "namespace", raw["namespace"], _free_namespace("namespace", raw))
    operator_namespace = read_namespace(
        reader, "operatorNamespace", raw["operatorNamespace"], _free_namespace("operatorNamespace", raw)
    )
    tls = read_tls(reader, raw)
    deployments = read_deployments(reader, raw["deployments"], api_server_known=_names_api_server(raw))
    ui = read_ui(reader, raw, platform, deployments)
    rest_clients = read_rest_clients(reader, raw["restClients"])
    controller_namespace = read_namespace(
        reader,
        "ingressControllerNamespace",
        raw["ingressControllerNamespace"],
        _free_namespace("ingressControllerNamespace", raw),
    )
    if rest_clients and ui is not None and ui.domain is None:
        reader.fail(
            "domain",
            raw["domain"],
            "is required with restClients: the REST entry point checks client certificates "
            "per host (<deployment>-api.<domain>)",
            "pulumi config set domain flink.example.com",
        )
    _refuse_shared_namespaces(reader, raw, namespace, operator_namespace, controller_namespace)
    api_server_cidrs = read_api_server_cidrs(reader, raw["apiServerCidrs"])
    _require_api_server(reader, deployments, api_server_cidrs)
    if (
        platform is None
        or namespace is None
        or operator_namespace is None
        or tls is None
        or deployments is None
        or ui is None
        or rest_clients is None
        or controller_namespace is None
        or api_server_cidrs is None
    ):
        return None
    if reader.problems:
        return None
    return StackSettings(
        api_server_cidrs=api_server_cidrs,
        rest_clients=rest_clients,
        ingress_controller_namespace=controller_namespace,
        ui=ui,
        platform=platform,
        namespace=namespace,
        operator_namespace=operator_namespace,
        tls=tls,
        deployments=deployments,
    )


def _refuse_shared_namespaces(
    reader: Reader,
    raw: Mapping[str, str | None],
    namespace: str | None,
    operator_namespace: str | None,
    controller_namespace: str | None,
) -> None:
    """The namespace's NetworkPolicies admit the operator and the ingress controller by namespace: in Flink's own
    namespace that would admit every pod there to the REST port, while the default deny cut the operator off."""
    admitted = (
        ("operatorNamespace", operator_namespace, "the operator"),
        ("ingressControllerNamespace", controller_namespace, "the ingress controller"),
    )
    for key, other, who in admitted:
        if namespace is not None and other == namespace:
            reader.fail(
                key,
                raw[key],
                f"equals namespace: the REST port would open to every pod of {namespace}, and its default-deny "
                f"policies would cut {who} off; it needs a namespace of its own",
                _own_namespace_hint(key, raw),
            )


# The namespaces Flink's must differ from: the NetworkPolicies admit them by namespace.
ADMITTED_NAMESPACES = ("operatorNamespace", "ingressControllerNamespace")


def _free_namespace(key: str, raw: Mapping[str, str | None]) -> str:
    """The key's default, or the first of `<default>-2`, ... that differs from the namespaces it must differ from
    (Flink's from the admitted ones, an admitted one from Flink's)."""
    others = ADMITTED_NAMESPACES if key == "namespace" else ("namespace",)
    return names.free_label(str(DEFAULTS[key]), {str(raw[other]) for other in others if raw[other]})


def _own_namespace_hint(key: str, raw: Mapping[str, str | None]) -> str:
    """For an admitted namespace equal to Flink's: move it to its default, unless Flink's is that default; then
    move Flink."""
    if raw["namespace"] != DEFAULTS[key]:
        return f"pulumi config set {key} {_free_namespace(key, raw)}"
    return f"put Flink in a namespace of its own: pulumi config set namespace {_free_namespace('namespace', raw)}"


def _names_api_server(raw: Mapping[str, str | None]) -> bool:
    """Whether apiServerCidrs names at least one network (valid or not: its own check says which)."""
    try:
        return bool(json.loads(raw["apiServerCidrs"] or "[]"))
    except json.JSONDecodeError:
        return True


def _require_api_server(
    reader: Reader, deployments: tuple[DeploymentSettings, ...] | None, cidrs: tuple[str, ...] | None
) -> None:
    """Native mode and Kubernetes HA call the API server; under default-deny egress they need its address."""
    callers = [d.name for d in deployments or () if d.api_access.needed]
    if callers and cidrs == ():
        reader.fail(
            "apiServerCidrs",
            [],
            f"is empty, but the pods of {', '.join(callers)} call the Kubernetes API "
            "(native mode or Kubernetes HA) and the namespace denies all other egress",
            API_SERVER_HINT,
        )


TOP_LEVEL_KEYS = tuple(DEFAULTS)
"""Every key of the stack config, in the order Pulumi.yaml declares them."""


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
