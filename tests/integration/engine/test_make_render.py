"""`make render` (local_stack.render) on the real engine: valid, redacted manifests; the stack kept in the
output directory, so the next render prints the real diff of a config change; bad config refused whole."""

import base64
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from subprocess import PIPE

import pytest
import yaml

from local_stack.project import PROGRAM, PROJECT_DIR, PulumiProject
from tests.integration.engine.test_real_engine import secret_values
from tests.schema_validation import validation_errors

pytestmark = pytest.mark.real

STACK = "dev"


def program_copy(target: Path) -> Path:
    """The program and the dev stack file, in a directory of their own: the tests edit its stack file."""
    target.mkdir(parents=True, exist_ok=True)
    for name in (*PROGRAM, f"Pulumi.{STACK}.yaml"):
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "venv"))
        else:
            shutil.copy2(source, target / name)
    return target


def make_render(source: Path, out: Path, engine_bin: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        **render_command(source, out, engine_bin, *extra), capture_output=True, text=True, timeout=600
    )


def render_command(source: Path, out: Path, engine_bin: Path, *extra: str) -> dict:
    command = [sys.executable, "-m", "local_stack.render", "--stack", STACK, "--out", str(out)]
    command += ["--project-dir", str(source), *extra]
    return {"args": command, "cwd": PROJECT_DIR, "env": {**os.environ, "PULUMI_ENGINE_BIN": str(engine_bin)}}


def make_render_watched(source: Path, out: Path, engine_bin: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """`make render`, and how many seconds before it ended the first resource of its update was printed."""
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(**render_command(source, out, engine_bin), stdout=PIPE, stderr=errors, text=True)
        lines, first_update = [], None
        for line in process.stdout:
            lines.append(line)
            if first_update is None and lines[-2:-1] == ["Updating (dev):\n"]:
                first_update = time.monotonic()
        process.wait(timeout=600)
        ended = time.monotonic()
        errors.seek(0)
        completed = subprocess.CompletedProcess(process.args, process.returncode, "".join(lines), errors.read())
    return completed, ended - first_update if first_update else 0.0


def documents(out: Path) -> list[dict]:
    return list(yaml.safe_load_all((out / "manifests.yaml").read_text()))


def set_stack_config(source: Path, **values: object) -> None:
    path = source / f"Pulumi.{STACK}.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"].update({f"secure-flink:{key}": value for key, value in values.items()})
    path.write_text(yaml.safe_dump(document, sort_keys=False))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, engine_bin: Path) -> tuple[Path, Path, str]:
    """The dev stack's first render: (its program copy, the output directory, what it printed, how long before
    the end it printed its first created resource)."""
    source = program_copy(tmp_path_factory.mktemp("render-source"))
    out = tmp_path_factory.mktemp("render") / STACK
    completed, progress_lead = make_render_watched(source, out, engine_bin)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return source, out, completed.stdout, progress_lead


def test_the_first_render_creates_the_stack_and_writes_valid_objects(rendered) -> None:
    _, out, printed, progress_lead = rendered
    assert re.search(r"\+ \d+ created", printed) and "secureflink:index:FlinkInternalTLS" in printed
    # Progress: each resource printed as the update creates it, well before the render ends.
    assert progress_lead > 5
    docs = documents(out)
    assert {"Secret", "FlinkDeployment", "Ingress"} <= {d["kind"] for d in docs}
    assert {f"{d['kind']}/{d['metadata']['name']}": validation_errors(d) for d in docs if validation_errors(d)} == {}
    assert json.loads((out / "outputs.json").read_text())["platform"] == "kubernetes"


def test_manifests_come_in_dependency_order(rendered) -> None:
    _, out, *_ = rendered
    docs = documents(out)
    position = {d["metadata"]["name"]: i for i, d in enumerate(docs)}
    flinks = [d for d in docs if d["kind"] == "FlinkDeployment"]
    assert flinks
    for flink in flinks:
        for mount in flink["spec"]["flinkConfiguration"]["kubernetes.secrets"].split(","):
            assert position[mount.split(":")[0]] < position[flink["metadata"]["name"]]


def test_secret_values_are_redacted_and_the_files_are_private(rendered, engine_bin: Path) -> None:
    _, out, *_ = rendered
    text = (out / "manifests.yaml").read_text()
    secrets = secret_values(PulumiProject(out / "pulumi", STACK, engine_bin))
    assert secrets and [value for value in secrets if value in text] == []
    assert "PRIVATE KEY" not in text
    for doc in documents(out):
        if doc["kind"] == "Secret":
            assert {base64.b64decode(v) for v in (doc.get("data") or {}).values()} <= {b"[secret]"}
        if doc["kind"] == "FlinkDeployment":
            conf = doc["spec"]["flinkConfiguration"]
            assert conf["security.ssl.internal.keystore-password"] == "[secret]"
            assert conf["security.ssl.internal.keystore"].endswith("keystore.p12"), "only secrets are hidden"
    assert json.loads((out / "outputs.json").read_text())["uiGeneratedPasswords"] == "[secret]"
    for path in (out / "manifests.yaml", out / "outputs.json", out / "pulumi" / "state"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_a_render_after_a_config_change_prints_exactly_that_change(rendered, engine_bin: Path) -> None:
    source, out, *_ = rendered
    set_stack_config(source, uiHashScheme="bcrypt")
    completed = make_render(source, out, engine_bin)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    changed = re.findall(r"^\s+[-+~]+\s*(\S+): \((\w+)\)$", completed.stdout, flags=re.MULTILINE)
    assert set(changed) == {("kubernetes:core/v1:Secret", "replace"), ("kubernetes:apps/v1:Deployment", "update")}
    assert "htpasswd: [secret] => [secret]" in completed.stdout
    secrets = secret_values(PulumiProject(out / "pulumi", STACK, engine_bin))
    assert secrets and [value for value in secrets if value in completed.stdout] == []


def test_an_unchanged_render_changes_nothing_and_can_show_secrets(rendered, engine_bin: Path) -> None:
    source, out, *_ = rendered
    completed = make_render(source, out, engine_bin, "--show-secrets")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert re.search(r"^\s+\d+ unchanged$", completed.stdout, flags=re.MULTILINE)
    assert not re.search(r"to (create|update|replace|delete)|\d+ (created|updated|replaced|deleted)", completed.stdout)
    secret = next(d for d in documents(out) if d["kind"] == "Secret" and "ca.crt" in (d.get("data") or {}))
    assert base64.b64decode(secret["data"]["ca.crt"]).startswith(b"-----BEGIN CERTIFICATE-----")


def test_invalid_config_exits_non_zero_names_the_key_and_writes_nothing(tmp_path: Path, engine_bin: Path) -> None:
    source = program_copy(tmp_path / "source")
    set_stack_config(source, platform="gke")
    out = tmp_path / "out"
    completed = make_render(source, out, engine_bin)
    assert completed.returncode == 2
    assert "secure-flink:platform" in completed.stderr and "gke" in completed.stderr
    assert not out.exists()
