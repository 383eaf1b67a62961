"""The rendered stacks pass checkov, a widely used Kubernetes misconfiguration scanner, run offline.

Every check either passes or is waived by an annotation on the object that says why it does not apply;
a weakened copy of the same manifests fails, so the scan is not vacuous.
"""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.render import write_render
from tests.conftest import OIDC, PROJECT_DIR, StackRunner, require_tool

pytestmark = pytest.mark.real

CHECKOV = PROJECT_DIR / ".cache" / "checkov" / "bin" / "checkov"
# No guideline download and no update check: the scan never touches the network.
OFFLINE = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}
WAIVABLE = {"CKV_K8S_43", "CKV_K8S_40"}
"""The only checks the stack waives: image digest (a tag is pinned instead) and high UID (OpenShift assigns it)."""
DIGEST = "nginxinc/nginx-unprivileged@sha256:" + "0" * 64

VARIANTS = {
    "dev": ("dev", {}),
    "ocp": ("ocp", {}),
    "dev-rest-clients": ("dev", {"domain": "flink.example.com", "restClients": [{"name": "ci-bot"}]}),
    "ocp-rest-clients": ("ocp", {"restClients": [{"name": "ci-bot"}]}),
    "dev-oidc": ("dev", OIDC),
}


def render(directory: Path, stack: str, **overrides: Any) -> list[dict[str, Any]]:
    write_render(StackRunner(stack).up(**overrides), directory, show_secrets=False)
    return list(yaml.safe_load_all((directory / "manifests.yaml").read_text()))


def scan(directory: Path) -> dict[str, Any]:
    if not CHECKOV.exists():
        require_tool(str(CHECKOV), "checkov scans the rendered manifests (make checkov)")
    completed = subprocess.run(
        [str(CHECKOV), "-d", str(directory), "--framework", "kubernetes", "-o", "json", "--skip-download"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **OFFLINE},
    )
    assert completed.returncode in (0, 1), completed.stderr[-2000:]
    report = json.loads(completed.stdout)
    return report[0] if isinstance(report, list) else report


def waivers(documents: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """checkov waivers per object, as `Kind.namespace.name` -> check id -> reason."""
    found: dict[str, dict[str, str]] = {}
    for document in documents:
        metadata = document["metadata"]
        for key, value in (metadata.get("annotations") or {}).items():
            if key.startswith("checkov.io/skip"):
                check, reason = value.split("=", 1)
                found.setdefault(f"{document['kind']}.{metadata['namespace']}.{metadata['name']}", {})[check] = reason
    return found


@pytest.mark.parametrize("variant", VARIANTS)
def test_rendered_stack_passes_checkov_and_every_waiver_is_an_annotation_with_its_reason(variant, tmp_path):
    stack, overrides = VARIANTS[variant]
    documents = render(tmp_path, stack, **overrides)
    report = scan(tmp_path)
    summary, results = report["summary"], report["results"]
    failed = [(r["check_id"], r["resource"], r["check_name"]) for r in results["failed_checks"]]
    assert failed == [] and summary["parsing_errors"] == 0, failed
    assert summary["resource_count"] >= 30 and summary["passed"] >= 190, summary
    annotated = waivers(documents)
    for skipped in results["skipped_checks"]:
        assert skipped["check_id"] in WAIVABLE
        reason = annotated[skipped["resource"]][skipped["check_id"]]
        assert skipped["check_result"]["suppress_comment"] == reason and len(reason) > 40


def test_digest_pinned_proxy_image_needs_no_waiver(tmp_path):
    documents = render(tmp_path, "dev", proxyImage=DIGEST)
    report = scan(tmp_path)
    assert report["summary"]["failed"] == 0 and report["summary"]["skipped"] == 0
    assert waivers(documents) == {}


def test_checkov_fails_a_proxy_stripped_of_its_hardening_and_network_policy(tmp_path):
    documents = render(tmp_path, "dev")
    weakened = []
    for document in documents:
        if document["kind"] == "NetworkPolicy":
            continue
        if document["kind"] == "Deployment":
            pod = document["spec"]["template"]["spec"]
            pod.pop("securityContext")
            pod.pop("automountServiceAccountToken")
            for container in pod["containers"]:
                container.pop("securityContext")
        weakened.append(document)
    (tmp_path / "manifests.yaml").write_text(yaml.safe_dump_all(weakened, sort_keys=False))
    failed = {r["check_id"] for r in scan(tmp_path)["results"]["failed_checks"]}
    assert {"CKV_K8S_20", "CKV_K8S_23", "CKV_K8S_28", "CKV_K8S_31", "CKV_K8S_37", "CKV_K8S_38", "CKV2_K8S_6"} <= failed
