"""The render writer on offline runs: valid manifests in dependency order, secrets redacted unless asked for.
(`make render` itself, on the real engine: tests/integration/engine/test_make_render.py.)"""

import base64
from pathlib import Path

import pytest
import yaml

from offline import render
from tests.conftest import StackRunner
from tests.schema_validation import validation_errors


@pytest.fixture(scope="module", params=["dev", "ocp"])
def rendered(request, tmp_path_factory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp(f"render-{request.param}")
    render.write_render(StackRunner(request.param).up(), out, show_secrets=False)
    return request.param, out


def documents(out: Path) -> list[dict]:
    return list(yaml.safe_load_all((out / "manifests.yaml").read_text()))


def test_every_rendered_object_validates_strictly(rendered):
    _, out = rendered
    docs = documents(out)
    kinds = {d["kind"] for d in docs}
    assert {"Secret", "FlinkDeployment"} <= kinds
    assert {d["kind"]: validation_errors(d) for d in docs if validation_errors(d)} == {}


def test_validation_rejects_what_the_api_server_would(rendered):
    # Negative controls: the validator is not vacuous for either kind of object.
    _, out = rendered
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
    _, out = rendered
    docs = documents(out)
    position = {d["metadata"]["name"]: i for i, d in enumerate(docs)}
    for flink in (d for d in docs if d["kind"] == "FlinkDeployment"):
        for mount in flink["spec"]["flinkConfiguration"]["kubernetes.secrets"].split(","):
            assert position[mount.split(":")[0]] < position[flink["metadata"]["name"]]


def test_secret_values_are_redacted_by_default(rendered):
    _, out = rendered
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
    render.write_render(StackRunner("dev").up(), tmp_path, show_secrets=True)
    secret = next(d for d in documents(tmp_path) if d["kind"] == "Secret" and "data" in d and "ca.crt" in d["data"])
    assert base64.b64decode(secret["data"]["ca.crt"]).startswith(b"-----BEGIN CERTIFICATE-----")


VARIANTS = [
    ("dev", {"domain": "flink.example.com"}),
    ("ocp", {"uiRouteTermination": "reencrypt", "domain": ""}),
    ("dev", {"uiEnabled": False}),
    ("dev", {"keyAlgorithm": "ECDSA", "tlsProtocol": "TLSv1.2"}),
    ("dev", {"restClients": [{"name": "ci-bot"}], "domain": "flink.example.com"}),
    ("ocp", {"restClients": [{"name": "ci-bot"}]}),
    ("ocp", {"restClients": [{"name": "ci-bot"}], "deployments": "mtls"}),
    ("dev", {"restClients": [{"name": "ci-bot"}], "domain": "flink.example.com", "deployments": "mtls"}),
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
