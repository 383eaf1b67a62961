"""`make render`: the offline render writes valid manifests, redacts secrets, and refuses bad config whole."""

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from offline import render
from tests.conftest import PROJECT_DIR, StackRunner
from tests.schema_validation import validation_errors


@pytest.fixture(scope="module", params=["dev", "ocp"])
def rendered(request, tmp_path_factory) -> tuple[str, Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp(f"render-{request.param}")
    completed = subprocess.run(
        [sys.executable, "-m", "offline.render", "--stack", request.param, "--out", str(out)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    return request.param, out, completed


def documents(out: Path) -> list[dict]:
    return list(yaml.safe_load_all((out / "manifests.yaml").read_text()))


def test_every_rendered_object_validates_strictly(rendered):
    _, out, _ = rendered
    docs = documents(out)
    kinds = {d["kind"] for d in docs}
    assert {"Secret", "FlinkDeployment"} <= kinds
    assert {d["kind"]: validation_errors(d) for d in docs if validation_errors(d)} == {}


def test_validation_rejects_what_the_api_server_would(rendered):
    # Negative controls: the validator is not vacuous for either kind of object.
    _, out, _ = rendered
    docs = documents(out)
    flink = next(d for d in docs if d["kind"] == "FlinkDeployment")
    flink["spec"]["taskManager"]["replicaz"] = 2
    flink["spec"]["flinkVersion"] = "v1_99"
    errors = validation_errors(flink)
    assert any("replicaz" in e for e in errors) and any("v1_99" in e for e in errors)
    secret = next(d for d in docs if d["kind"] == "Secret")
    secret["strinData"] = {"x": "y"}
    assert validation_errors(secret)


def test_manifests_come_in_dependency_order(rendered):
    _, out, _ = rendered
    docs = documents(out)
    position = {d["metadata"]["name"]: i for i, d in enumerate(docs)}
    for flink in (d for d in docs if d["kind"] == "FlinkDeployment"):
        for mount in flink["spec"]["flinkConfiguration"]["kubernetes.secrets"].split(","):
            assert position[mount.split(":")[0]] < position[flink["metadata"]["name"]]


def test_secret_values_are_redacted_by_default(rendered):
    _, out, _ = rendered
    text = (out / "manifests.yaml").read_text()
    assert "PRIVATE KEY" not in text
    for doc in documents(out):
        if doc["kind"] == "Secret":
            for value in (doc.get("data") or {}).values():
                assert base64.b64decode(value) == b"[secret]"
        if doc["kind"] == "FlinkDeployment":
            conf = doc["spec"]["flinkConfiguration"]
            assert conf["security.ssl.internal.keystore-password"] == "[secret]"
            assert conf["security.ssl.internal.keystore"].endswith("keystore.p12"), "only secrets are hidden"


def test_show_secrets_reveals_real_material(tmp_path):
    result = render.run_stack("dev")
    render.write_render(result, tmp_path, show_secrets=True)
    secret = next(d for d in documents(tmp_path) if d["kind"] == "Secret" and "data" in d and "ca.crt" in d["data"])
    assert base64.b64decode(secret["data"]["ca.crt"]).startswith(b"-----BEGIN CERTIFICATE-----")


def test_render_prints_the_resource_tree(rendered):
    stack, out, completed = rendered
    assert "pulumi:pulumi:Stack" in completed.stdout and f"secure-flink-{stack}" in completed.stdout
    assert "secureflink:index:FlinkInternalTLS" in completed.stdout
    assert "to create" in completed.stdout
    outputs = json.loads((out / "outputs.json").read_text())
    assert outputs["platform"] == {"dev": "kubernetes", "ocp": "openshift"}[stack]


def test_invalid_config_exits_non_zero_and_writes_nothing(tmp_path):
    stack_file = PROJECT_DIR / "Pulumi.badtest.yaml"
    stack_file.write_text("config:\n  secure-flink:platform: gke\n")
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "offline.render", "--stack", "badtest", "--out", str(tmp_path / "out")],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        stack_file.unlink()
    assert completed.returncode != 0
    assert "secure-flink:platform" in completed.stderr and "gke" in completed.stderr
    assert not (tmp_path / "out").exists()


VARIANTS = [
    ("dev", {"uiDomain": "flink.example.com"}),
    ("ocp", {"uiRouteTermination": "reencrypt", "uiDomain": ""}),
    ("dev", {"uiEnabled": False}),
    ("dev", {"keyAlgorithm": "ECDSA", "tlsProtocol": "TLSv1.2"}),
    ("dev", {"restClients": [{"name": "ci-bot"}], "uiDomain": "flink.example.com"}),
    ("ocp", {"restClients": [{"name": "ci-bot"}]}),
    ("ocp", {"restClients": [{"name": "ci-bot"}], "deployments": "mtls"}),
    ("dev", {"restClients": [{"name": "ci-bot"}], "uiDomain": "flink.example.com", "deployments": "mtls"}),
]


@pytest.mark.parametrize(
    "stack, overrides",
    VARIANTS,
    ids=[
        "ingress-with-host",
        "reencrypt-route",
        "no-ui",
        "ecdsa-tls12",
        "rest-mtls-ingress",
        "rest-mtls-proxy",
        "native-mtls-openshift",
        "native-mtls-kubernetes",
    ],
)
def test_every_exposure_variant_renders_valid_objects(stack, overrides):
    runner = StackRunner(stack)
    if overrides.get("deployments") == "mtls":
        overrides = {
            **overrides,
            "deployments": [{**d, "restAuthentication": "mtls"} for d in runner.values["deployments"]],
        }
    result = runner.up(**overrides)
    docs = [render.manifest(r) for r in render.kubernetes_objects(result)]
    errors = {f"{d['kind']}/{d['metadata']['name']}": validation_errors(d) for d in docs}
    assert {name: e for name, e in errors.items() if e} == {}
    kinds = {d["kind"] for d in docs}
    assert ("Route" in kinds) == (stack == "ocp" and overrides.get("uiEnabled", True))
