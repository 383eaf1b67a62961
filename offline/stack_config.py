"""Stack configuration as the Pulumi CLI assembles it: project defaults from Pulumi.yaml, overridden
by `config:` of Pulumi.<stack>.yaml, type-checked against the project's declarations, handed to the
program as `<project>:<key>` -> string (JSON for arrays and objects)."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TYPES = {"string": str, "integer": int, "boolean": bool, "array": list, "object": dict}


class StackConfigError(ValueError):
    pass


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    values: dict[str, str]
    secret_keys: tuple[str, ...]


def _check_type(key: str, value: Any, declaration: dict[str, Any], stack: str) -> None:
    expected = declaration.get("type")
    if expected is None:
        return
    python_type = TYPES[expected]
    if not isinstance(value, python_type) or (python_type is int and isinstance(value, bool)):
        raise StackConfigError(f"Stack '{stack}' with configuration key '{key}' must be of type '{expected}'")
    item_type = (declaration.get("items") or {}).get("type")
    if expected == "array" and item_type and not all(isinstance(v, TYPES[item_type]) for v in value):
        raise StackConfigError(f"Stack '{stack}' with configuration key '{key}' must be of type 'array<{item_type}>'")


def _encode(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path.name}:{mark.line + 1}:{mark.column + 1}" if mark else path.name
        raise StackConfigError(f"{where}: not valid YAML ({getattr(error, 'problem', None) or error})") from None


def load_stack_config(project_dir: Path, stack: str) -> StackConfig:
    project_file = _load_yaml(Path(project_dir) / "Pulumi.yaml")
    project = project_file["name"]
    declarations: dict[str, dict[str, Any]] = project_file.get("config") or {}
    stack_path = Path(project_dir) / f"Pulumi.{stack}.yaml"
    if not stack_path.exists():
        raise StackConfigError(f"no stack file {stack_path.name}: create it or pick a stack with STACK=<name>")
    stack_values = (_load_yaml(stack_path) or {}).get("config") or {}
    values: dict[str, str] = {}
    for full_key, value in stack_values.items():
        namespace, _, key = str(full_key).rpartition(":")
        if not namespace:
            # The Pulumi CLI refuses such a key in a stack file; dropping it would hide a setting the user made.
            raise StackConfigError(
                f"{full_key} in {stack_path.name} has no namespace: write it as {project}:{full_key} "
                f"(keys of this project) or <provider>:{full_key}"
            )
        if namespace != project:
            values[full_key] = _encode(value)
            continue
        if key not in declarations:
            raise StackConfigError(
                f"{full_key} is not declared in Pulumi.yaml: remove it from {stack_path.name} "
                f"or declare it (known keys: {', '.join(sorted(declarations))})"
            )
        if isinstance(value, dict) and "secure" in value:
            raise StackConfigError(f"{full_key} is encrypted (secure:) and cannot be decrypted without the Pulumi CLI")
        _check_type(full_key, value, declarations[key], stack)
        values[full_key] = _encode(value)
    for key, declaration in declarations.items():
        full_key = f"{project}:{key}"
        if full_key not in values:
            if "default" not in declaration:
                raise StackConfigError(f"Stack '{stack}' is missing configuration value '{full_key}'")
            values[full_key] = _encode(declaration["default"])
    secret_keys = tuple(f"{project}:{k}" for k, d in declarations.items() if d.get("secret"))
    return StackConfig(project=project, stack=stack, values=values, secret_keys=secret_keys)
