"""The stacks under the real Pulumi engine: what `pulumi up`, `preview`, `stack export` and `destroy` do.

Each stack runs in a directory of its own with a file backend and the passphrase secrets provider; the
Kubernetes provider renders YAML instead of calling a cluster (`kubernetes:renderYamlToDirectory`).
"""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack.project import PulumiProject
from local_stack.state_view import state_view
from offline.render import string_leaves
from tests.integration.engine.render_comparison import comparable, offline_render, random_strings
from tests.schema_validation import validation_errors

pytestmark = pytest.mark.real

CLIENTS = [{"name": "ci-bot"}, {"name": "alice-laptop"}]
WEAKENED_INGRESS = """
import pulumi_kubernetes as weakened_k8s

weakened_k8s.networking.v1.Ingress(
    "weakened",
    metadata={"namespace": "flink"},
    spec={"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix",
        "backend": {"service": {"name": "etl-rest", "port": {"number": 8081}}}}]}}]},
)
"""


@pytest.fixture(scope="module", params=["dev", "ocp-with-clients"])
def deployed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, engine_bin: Path
) -> Iterator[PulumiProject]:
    """A stack after its first `pulumi up`: dev as committed, ocp with two REST clients."""
    stack = request.param.split("-")[0]
    project = PulumiProject(tmp_path_factory.mktemp(request.param), stack, engine_bin)
    if request.param == "ocp-with-clients":
        project.set_config(restClients=CLIENTS)
    project.up()
    yield project


def secret_values(project: PulumiProject) -> list[str]:
    """Every string inside the stack's secret outputs, as `stack output --show-secrets` prints them."""
    plain, shown = project.outputs(), project.outputs(show_secrets=True)
    secret = [value for key, value in shown.items() if plain.get(key) != value]
    return [value for value in string_leaves(secret) if len(value) >= 8]


def test_up_renders_objects_that_pass_strict_validation(deployed: PulumiProject) -> None:
    documents = deployed.rendered_documents()
    kinds = {document["kind"] for document in documents}
    assert {"FlinkDeployment", "Secret", "NetworkPolicy", "Deployment"} <= kinds
    errors = {f"{d['kind']}/{d['metadata']['name']}": validation_errors(d) for d in documents}
    assert {name: problems for name, problems in errors.items() if problems} == {}


def test_a_second_preview_expects_no_changes(deployed: PulumiProject) -> None:
    deployed.preview("--expect-no-changes")


def test_state_holds_secrets_only_as_ciphertext(deployed: PulumiProject) -> None:
    state = json.dumps(deployed.export())
    secrets = secret_values(deployed)
    assert secrets, "the stack exports secret outputs: generated UI passwords at least"
    assert "PRIVATE KEY" not in state
    assert [value for value in secrets if value in state] == []
    assert '"ciphertext"' in state


def test_policy_pack_passes_the_stack(deployed: PulumiProject) -> None:
    result = deployed.preview("--policy-pack", "policy")
    assert "secure-flink-guardrails" in result.stdout
    assert "mandatory" not in result.stdout.lower()


def test_policy_pack_refuses_a_weakened_ingress(deployed: PulumiProject) -> None:
    program = deployed.project / "__main__.py"
    original = program.read_text()
    # An Ingress without TLS, beside the stack's own resources.
    program.write_text(original + WEAKENED_INGRESS)
    try:
        result = deployed.preview("--policy-pack", "policy", check=False)
    finally:
        program.write_text(original)
    assert result.returncode != 0
    assert "[mandatory]" in result.stdout and "ingress-and-route-require-tls" in result.stdout
    assert "weakened" in result.stdout


def test_offline_engine_renders_what_the_real_engine_renders(deployed: PulumiProject) -> None:
    # The unit tests run the program on the offline engine (Pulumi's mocks and our imitations of the
    # providers): this proves it renders what the real engine and providers render.
    overrides = {"restClients": deployed.config()["restClients"]} if "restClients" in deployed.config() else {}
    offline_objects, offline_random = offline_render(deployed.stack, **overrides)
    offline = comparable(offline_objects, offline_random)
    real = comparable(deployed.rendered_documents(), random_strings(state_view(deployed)))
    assert sorted(offline) == sorted(real)
    assert {key: doc for key, doc in offline.items() if doc != real[key]} == {}


def test_the_comparison_sees_a_changed_field(deployed: PulumiProject) -> None:
    # Negative control: what the comparison replaces must not hide a real difference.
    documents = deployed.rendered_documents()
    generated = random_strings(state_view(deployed))
    changed = [dict(d) for d in documents]
    target = next(i for i, d in enumerate(changed) if d["kind"] == "FlinkDeployment")
    changed[target] = {**changed[target], "spec": {**changed[target]["spec"], "image": "flink:1.17"}}
    assert comparable(changed, generated) != comparable(documents, generated)


def test_destroy_and_stack_rm_leave_nothing_behind(deployed: PulumiProject) -> None:
    secrets = secret_values(deployed)
    deployed.run("destroy", "--yes", "--skip-preview", "--suppress-progress")
    assert deployed.export()["deployment"].get("resources") in (None, [])
    assert deployed.rendered_documents() == []
    deployed.run("stack", "rm", "--yes")
    assert json.loads(deployed.run("stack", "ls", "--json").stdout) == []
    checkpoint = deployed.state / ".pulumi" / "stacks" / "secure-flink" / f"{deployed.stack}.json"
    assert not checkpoint.exists()
    # The file backend keeps dated backups of every checkpoint: they hold secrets as ciphertext too.
    backups = [p for p in (deployed.state / ".pulumi").rglob("*") if p.is_file()]
    assert [p for p in backups if any(secret in p.read_text(errors="replace") for secret in secrets)] == []
