"""A stack's real-engine state in the shape the offline engine's runs have (offline.engine.RunResult).

Built from `pulumi stack export --show-secrets` and `pulumi stack output --show-secrets`, with what the
state holds secret marked as such: `make render` writes it with the offline render's writer, and the tests
that start nginx and Flink from a render start them from what the real engine and providers produced.
"""

import json
from typing import Any

from local_stack.project import PulumiProject
from offline.engine import Registration, RunResult

# How the state marks a secret value; `--show-secrets` adds its plaintext, JSON-encoded.
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"


def state_view(project: PulumiProject) -> RunResult:
    """Every resource of the stack with its inputs and outputs in plain values, and the stack outputs."""
    exported = project.export(show_secrets=True)["deployment"]
    resources = [_registration(resource) for resource in exported.get("resources") or []]
    (stack,) = [r for r in resources if r.type == "pulumi:pulumi:Stack"]
    plain, shown = project.outputs(), project.outputs(show_secrets=True)
    return RunResult(
        stack_urn=stack.urn,
        resources=resources,
        operations={},
        deleted=[],
        outputs=shown,
        secret_outputs={name for name, value in shown.items() if plain.get(name) != value},
    )


def _registration(resource: dict[str, Any]) -> Registration:
    outputs = resource.get("outputs", {})
    return Registration(
        urn=resource["urn"],
        type=resource["type"],
        name=resource["urn"].rsplit("::", 1)[1],
        parent=resource.get("parent", ""),
        custom=resource.get("custom", False),
        id=resource.get("id", ""),
        inputs=_plain(resource.get("inputs", {})),
        outputs=_plain(outputs),
        secret_outputs={key for key, value in outputs.items() if _holds_secret(value)},
        dependencies=list(resource.get("dependencies", [])),
    )


def _holds_secret(value: Any) -> bool:
    if isinstance(value, dict):
        return value.get(SECRET_SIGNATURE) is not None or any(_holds_secret(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_secret(item) for item in value)
    return False


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(SECRET_SIGNATURE) is not None and "plaintext" in value:
            return _plain(json.loads(value["plaintext"]))
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
