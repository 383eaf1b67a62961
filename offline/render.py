"""What a run of the program applies, as files: <out>/manifests.yaml (every Kubernetes object, dependency
order, API-server field names) and <out>/outputs.json (stack outputs), secret values replaced by a
placeholder unless asked for. Written from a run of either engine (offline.engine, or the real engine's
state through local_stack.state_view): `make render` and the tests read the same files.
"""

import base64
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from offline import kubernetes_provider
from offline.engine import Registration, RunResult

PLACEHOLDER = "[secret]"


def kubernetes_objects(result: RunResult) -> list[Registration]:
    """Kubernetes objects in dependency order (a resource after everything it depends on)."""
    objects = [r for r in result.resources if r.custom and kubernetes_provider.is_kubernetes(r.type)]
    position = {r.urn: i for i, r in enumerate(result.resources)}
    ordered: list[Registration] = []
    placed: set[str] = set()

    def place(r: Registration) -> None:
        if r.urn in placed:
            return
        placed.add(r.urn)
        for dependency in sorted(r.dependencies, key=lambda u: position.get(u, -1)):
            match = next((o for o in objects if o.urn == dependency), None)
            if match is not None:
                place(match)
        ordered.append(r)

    for registration in objects:
        place(registration)
    return ordered


FIRST_KEYS = ("apiVersion", "kind", "metadata")


def manifest(registration: Registration) -> dict[str, Any]:
    """The object as the API server receives it: no nulls, whole numbers as integers, stable key order."""
    document = _normalized(registration.outputs)
    return {
        **{k: document[k] for k in FIRST_KEYS if k in document},
        **{k: v for k, v in document.items() if k not in FIRST_KEYS},
    }


def _normalized(value: Any) -> Any:
    # The Pulumi wire format carries every number as a float; JSON sent to the API server does not.
    if isinstance(value, dict):
        return {k: _normalized(value[k]) for k in sorted(value) if value[k] is not None}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def secret_strings(result: RunResult) -> set[str]:
    """The secret values the stack generates (keys, passwords): what must never appear in plain text.

    Kubernetes objects and components only carry them (a whole FlinkDeployment spec, or a component's
    Flink settings, is secret because it holds passwords), so their other strings are not secrets themselves.
    """
    found: set[str] = set()
    for registration in result.resources:
        if not registration.custom or kubernetes_provider.is_kubernetes(registration.type):
            continue
        for key in registration.secret_outputs:
            found.update(string_leaves(registration.outputs.get(key)))
    return {s for s in found if len(s) >= 8}


def string_leaves(value: Any) -> Iterable[str]:
    """Every string inside `value`, through dicts' values and lists."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from string_leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from string_leaves(v)


def redact(document: dict[str, Any], secrets: set[str]) -> dict[str, Any]:
    """A Secret's payload is replaced whole; elsewhere, any string holding a secret value is."""
    if document.get("kind") == "Secret":
        document = dict(document)
        if "data" in document:
            document["data"] = {k: base64.b64encode(PLACEHOLDER.encode()).decode() for k in document["data"]}
        if "stringData" in document:
            document["stringData"] = {k: PLACEHOLDER for k in document["stringData"]}
    return _redact_strings(document, secrets)


def _redact_strings(value: Any, secrets: set[str]) -> Any:
    if isinstance(value, str):
        return PLACEHOLDER if any(s in value for s in secrets) else value
    if isinstance(value, dict):
        return {k: _redact_strings(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_strings(v, secrets) for v in value]
    return value


def stack_outputs(result: RunResult, show_secrets: bool) -> dict[str, Any]:
    return {
        name: value if show_secrets or name not in result.secret_outputs else PLACEHOLDER
        for name, value in sorted(result.outputs.items())
    }


def write_render(
    result: RunResult, out: Path, show_secrets: bool, documents: list[dict[str, Any]] | None = None
) -> None:
    """Both files, or neither: their text is made before either is written. `documents` are the objects in
    the order to write them; by default, the run's Kubernetes objects as its state holds them."""
    secrets = secret_strings(result)
    if documents is None:
        documents = [manifest(r) for r in kubernetes_objects(result)]
    if not show_secrets:
        documents = [redact(d, secrets) for d in documents]
    files = {
        "manifests.yaml": yaml.safe_dump_all(documents, sort_keys=False),
        "outputs.json": json.dumps(stack_outputs(result, show_secrets), indent=2) + "\n",
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text)
