"""Python dynamic resources (`pulumi.dynamic.Resource`), run the way the engine's dynamic provider runs them:
the provider is unpickled from the resource's `__provider` input, and its own create and diff decide."""

import base64
from collections.abc import Mapping
from typing import Any

import dill
from pulumi.dynamic import ResourceProvider

PROVIDER_KEY = "__provider"


def is_dynamic(type_: str) -> bool:
    return type_.startswith("pulumi-python:dynamic")


def _provider(inputs: Mapping[str, Any]) -> ResourceProvider:
    return dill.loads(base64.b64decode(inputs[PROVIDER_KEY]))


def create(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The new resource's outputs; they carry `__provider` on, as the engine's dynamic provider does. (The
    offline engine names resources itself, so the id the provider chose is not kept.)"""
    result = _provider(inputs).create({k: v for k, v in inputs.items() if k != PROVIDER_KEY})
    return {**(result.outs or {}), PROVIDER_KEY: inputs[PROVIDER_KEY]}


def update(resource_id: str, old_outputs: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
    result = _provider(inputs).update(resource_id, dict(old_outputs), dict(inputs))
    return {**(result.outs or {}), PROVIDER_KEY: inputs[PROVIDER_KEY]}


def diff(resource_id: str, old_outputs: Mapping[str, Any], inputs: Mapping[str, Any]) -> str:
    """`same`, `update` or `replace`, as the provider's diff decides."""
    result = _provider(inputs).diff(resource_id, dict(old_outputs), dict(inputs))
    if result.changes is False:
        return "same"
    return "replace" if result.replaces else "update"
