"""What pulumi-kubernetes does to an object before the API server sees it, and how it diffs one.

Auto-naming: an object without `metadata.name` gets `<logical name>-<8 hex>` and the annotation
`pulumi.com/autonamed` (provider/pkg/metadata/naming.go, AssignNameIfAutonamable); a replacement
draws a new name, which is what makes consumers of a replaced Secret roll.
Replacement: Secret and ConfigMap contents are immutable to the provider (a change replaces the
object, pulumi-kubernetes #1567); a new name, namespace, apiVersion or kind replaces anything.
"""

import copy
import secrets
from collections.abc import Mapping
from typing import Any

AUTONAMED = "pulumi.com/autonamed"
REPLACE_ON_CONTENT = {
    "kubernetes:core/v1:Secret": ("data", "stringData", "type", "immutable"),
    "kubernetes:core/v1:ConfigMap": ("data", "binaryData", "immutable"),
}


def is_kubernetes(type_: str) -> bool:
    return type_.startswith("kubernetes:") and not type_.startswith("pulumi:providers:")


def create(type_: str, name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    outputs = copy.deepcopy(dict(inputs))
    metadata = outputs.setdefault("metadata", {})
    if not metadata.get("name"):
        metadata["name"] = f"{name}-{secrets.token_hex(4)}"
        metadata.setdefault("annotations", {})[AUTONAMED] = "true"
    return outputs


def update(old_outputs: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
    outputs = copy.deepcopy(dict(inputs))
    old_metadata = old_outputs.get("metadata") or {}
    metadata = outputs.setdefault("metadata", {})
    if not metadata.get("name") and (old_metadata.get("annotations") or {}).get(AUTONAMED):
        metadata["name"] = old_metadata["name"]
        metadata.setdefault("annotations", {})[AUTONAMED] = "true"
    return outputs


def needs_replacement(type_: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    old_meta, new_meta = old.get("metadata") or {}, new.get("metadata") or {}
    if any(old.get(k) != new.get(k) for k in ("apiVersion", "kind")):
        return True
    if any(old_meta.get(k) != new_meta.get(k) for k in ("name", "namespace")):
        return True
    return any(old.get(field) != new.get(field) for field in REPLACE_ON_CONTENT.get(type_, ()))
