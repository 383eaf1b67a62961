"""Validation of rendered objects the way the API server would see them, without a cluster.

Built-in kinds: kubernetes-validate in strict mode (unknown fields are errors, as with
`kubectl apply --validate=strict`). Custom resources: jsonschema against the CRD's openAPIV3Schema
(schemas/, copied from the operator 1.15.0 and OpenShift releases), with structural defaults applied
and unknown fields rejected except where the CRD preserves them (spec.flinkConfiguration).
"""

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
KUBERNETES_VERSION = "1.30"
CRDS = {
    ("flink.apache.org/v1beta1", "FlinkDeployment"): ("flinkdeployments.flink.apache.org-v1.yml", "v1beta1"),
    ("route.openshift.io/v1", "Route"): ("route.openshift.io-v1.yaml", "v1"),
}


@functools.cache
def crd_schema(file: str, version: str) -> dict[str, Any]:
    crd = yaml.safe_load((SCHEMAS / file).read_text())
    served = next(v for v in crd["spec"]["versions"] if v["name"] == version)
    schema = copy.deepcopy(served["schema"]["openAPIV3Schema"])
    _make_strict(schema)
    schema.setdefault("properties", {}).update(
        apiVersion={"type": "string"}, kind={"type": "string"}, metadata={"type": "object"}
    )
    return schema


def _make_strict(node: Any) -> None:
    if isinstance(node, dict):
        for key in [k for k, v in node.items() if v is None]:
            del node[key]  # the Route CRD carries `anyOf: null`
        if (
            node.get("type") == "object"
            and "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False
        for value in node.values():
            _make_strict(value)
    elif isinstance(node, list):
        for value in node:
            _make_strict(value)


def _apply_defaults(document: Any, schema: dict[str, Any]) -> Any:
    if isinstance(document, dict):
        for name, sub in (schema.get("properties") or {}).items():
            if name not in document and "default" in sub:
                document[name] = copy.deepcopy(sub["default"])
            if name in document:
                _apply_defaults(document[name], sub)
    elif isinstance(document, list) and isinstance(schema.get("items"), dict):
        for item in document:
            _apply_defaults(item, schema["items"])
    return document


def validation_errors(document: dict[str, Any]) -> list[str]:
    """Every reason the API server would refuse `document`; empty when it is valid."""
    crd = CRDS.get((document.get("apiVersion"), document.get("kind")))
    if crd is not None:
        schema = crd_schema(*crd)
        validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
        defaulted = _apply_defaults(copy.deepcopy(document), schema)
        return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(defaulted)]
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'.'.join(map(str, error.path))}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [f"no schema for {document.get('apiVersion')} {document.get('kind')}: {error}"]
    return []
