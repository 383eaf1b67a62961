"""Objects two engines rendered, made comparable.

Compared per object: kind, namespace and name (auto-names without the random suffix each engine draws),
and every field, after replacing what two independent runs cannot share: generated values (Secret
payloads, PEM blocks, fingerprints and digests of them, the random provider's results) and the auto-name
suffixes wherever they appear.
"""

import re
from typing import Any

from offline.engine import RunResult
from offline.render import kubernetes_objects, manifest
from tests.conftest import StackRunner

GENERATED = "<generated>"
PEM = re.compile(r"-----BEGIN [A-Z ]+-----[^-]*-----END [A-Z ]+-----")
DIGEST = re.compile(r"\b[0-9a-f]{40,128}\b")
AUTONAME_SUFFIX = re.compile(r"-[0-9a-f]{8}$")
# The outputs of RandomPassword, RandomString and RandomId that the program reads.
RANDOM_RESULTS = ("result", "hex")


def comparable(documents: list[dict[str, Any]], generated: set[str]) -> dict[tuple[str, str, str], Any]:
    """Objects by (kind, namespace, name), with what differs between any two runs replaced; `generated`
    holds the run's random strings (passwords, salts, ids)."""
    suffixed = {
        d["metadata"]["name"]: AUTONAME_SUFFIX.sub("", d["metadata"]["name"])
        for d in documents
        if d["metadata"].get("annotations", {}).get("pulumi.com/autonamed") == "true"
    }
    by_key = {}
    for document in documents:
        document = _scrubbed(document, suffixed, generated)
        if document["kind"] == "Secret":
            document["data"] = dict.fromkeys({**document.get("data", {}), **document.get("stringData", {})}, GENERATED)
            document.pop("stringData", None)
        metadata = document["metadata"]
        by_key[(document["kind"], metadata.get("namespace", ""), metadata["name"])] = document
    return by_key


def _scrubbed(value: Any, suffixed: dict[str, str], generated: set[str]) -> Any:
    if isinstance(value, dict):
        return {_scrubbed(k, suffixed, generated): _scrubbed(v, suffixed, generated) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v, suffixed, generated) for v in value]
    if isinstance(value, str):
        value = DIGEST.sub(GENERATED, PEM.sub(GENERATED, value))
        for random_value in generated:
            value = value.replace(random_value, GENERATED)
        for name, base in suffixed.items():
            value = value.replace(name, base)
    return value


def offline_render(stack: str, **overrides: Any) -> tuple[list[dict[str, Any]], set[str]]:
    """The objects the offline engine renders for the stack, and the random strings of that run."""
    result = StackRunner(stack).up(**overrides)
    return [manifest(registration) for registration in kubernetes_objects(result)], random_strings(result)


def random_strings(result: RunResult) -> set[str]:
    """The random provider's results in a run: the offline engine's, or the real one's (`state_view`)."""
    randoms = [r.outputs for r in result.resources if r.type.startswith("random:")]
    return {outputs[key] for outputs in randoms for key in RANDOM_RESULTS if key in outputs}
