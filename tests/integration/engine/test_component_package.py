"""secure-flink from another Pulumi language: a Pulumi YAML program adds the component package (`provider/`) with
`pulumi package add` and deploys FlinkPlatform and FlinkTLS, on the real engine and its YAML language host
(rendering YAML)."""

import json
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from local_stack.project import RENDER_DIRECTORY_KEY, PulumiError, PulumiWorkspace
from tests.conftest import PROJECT_DIR, unavailable

pytestmark = pytest.mark.real

PROGRAM = {
    "name": "flink-from-yaml",
    "runtime": "yaml",
    "resources": {
        "flink": {
            "type": "secureflink:index:FlinkPlatform",
            "properties": {
                "namespace": "analytics",
                "operatorNamespace": "flink-operator",
                "keyAlgorithm": "ECDSA",
                "apiServerCidrs": ["172.18.0.0/16"],
                "deployments": [{"name": "etl", "image": "flink:2.2.1-scala_2.12-java17"}],
            },
        },
        # TLS for a FlinkDeployment the program writes itself, admitting the platform CA's certificate holders
        # (an output of the other component: certificates may be outputs).
        "reportsTls": {
            "type": "secureflink:index:FlinkTLS",
            "properties": {
                "deploymentName": "reports",
                "namespace": "analytics",
                "keyAlgorithm": "ECDSA",
                "restClientIdentities": ["ci"],
                "restCallerCaCertificates": ["${flink.caCertificate}"],
            },
        },
    },
    "outputs": {
        "caCertificate": "${flink.caCertificate}",
        "restEndpoints": "${flink.restEndpoints}",
        "reportsRestCa": "${reportsTls.restCaCertificate}",
        "reportsMounts": "${reportsTls.secretMounts}",
        "reportsClients": "${reportsTls.restClientCertificates}",
    },
}


def package_copy(target: Path) -> Path:
    """provider/ and the package beside it, as a user's checkout has them; its virtualenv sees the project's
    pinned packages (a .pth file), so `pulumi package add` installs nothing from the network."""
    shutil.copytree(PROJECT_DIR / "provider", target / "provider", ignore=shutil.ignore_patterns("venv"))
    shutil.copytree(PROJECT_DIR / "secure_flink", target / "secure_flink", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(PROJECT_DIR / "requirements.txt", target / "requirements.txt")
    venv = target / "provider" / "venv"
    # Without a pip of its own: the project's (new enough for the pulumi package) serves it too.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    # The project's pinned packages, and the package itself for the keystores' dynamic provider (below).
    (site / "secure-flink-project.pth").write_text(f"{sysconfig.get_paths()['purelib']}\n{target}\n")
    return target / "provider"


@pytest.fixture(scope="module")
def yaml_program(tmp_path_factory: pytest.TempPathFactory, engine_bin: Path) -> Iterator[PulumiWorkspace]:
    if not (engine_bin / "pulumi-language-yaml").exists():
        unavailable(f"no pulumi-language-yaml in {engine_bin}: run `make engine`")
    provider = package_copy(tmp_path_factory.mktemp("package"))
    workspace = PulumiWorkspace(tmp_path_factory.mktemp("yaml-program"), engine_bin)
    workspace.env["PIP_NO_INDEX"] = "1"
    # The keystores are a Python dynamic resource: the engine runs its provider with the program's Python, and a
    # YAML program has none, so it is told which (README: the component package).
    workspace.env["PULUMI_PYTHON_CMD"] = str(provider / "venv" / "bin" / "python")
    (workspace.project / "Pulumi.yaml").write_text(yaml.safe_dump(PROGRAM, sort_keys=False))
    workspace.run("package", "add", str(provider), timeout=300)
    workspace.run("stack", "init", "dev", "--secrets-provider", "passphrase")
    workspace.run("config", "set", RENDER_DIRECTORY_KEY, str(workspace.root / "rendered"))
    yield workspace
    workspace.run("destroy", "--yes", "--skip-preview", "--suppress-progress")


def rendered(workspace: PulumiWorkspace) -> list[dict]:
    documents = []
    for path in sorted((workspace.root / "rendered").rglob("*.yaml")):
        documents.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return documents


def test_package_add_registers_the_package_in_the_program(yaml_program: PulumiWorkspace) -> None:
    project = yaml.safe_load((yaml_program.project / "Pulumi.yaml").read_text())
    package = Path(project["packages"]["secureflink"])
    assert (package / "PulumiPlugin.yaml").exists() and package.name == "provider"


def test_a_yaml_program_previews_and_deploys_a_secure_flink(yaml_program: PulumiWorkspace) -> None:
    yaml_program.run("preview", "--suppress-progress")
    yaml_program.run("up", "--yes", "--skip-preview", "--suppress-progress")
    documents = rendered(yaml_program)
    (flink,) = [d for d in documents if d["kind"] == "FlinkDeployment"]
    configuration = flink["spec"]["flinkConfiguration"]
    assert flink["metadata"] == {**flink["metadata"], "name": "etl", "namespace": "analytics"}
    assert configuration["security.ssl.internal.enabled"] == "true"
    assert configuration["security.ssl.rest.authentication-enabled"] == "true"
    assert configuration["security.ssl.protocol"] == "TLSv1.3"
    policies = {d["metadata"]["name"] for d in documents if d["kind"] == "NetworkPolicy"}
    assert any("default-deny" in name for name in policies)
    outputs = json.loads(yaml_program.run("stack", "output", "--json").stdout)
    assert outputs["restEndpoints"] == {"etl": "https://etl-rest.analytics.svc.cluster.local:8081"}
    assert outputs["caCertificate"].startswith("-----BEGIN CERTIFICATE-----")
    assert outputs["reportsRestCa"].startswith("-----BEGIN CERTIFICATE-----")
    assert sorted(outputs["reportsMounts"].values()) == [
        "/opt/flink/secrets/internal-tls",
        "/opt/flink/secrets/rest-tls",
    ]
    assert list(outputs["reportsClients"]) == ["ci"]
    secrets = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Secret"}
    for name in outputs["reportsMounts"]:
        assert secrets[name]["metadata"]["namespace"] == "analytics"
    yaml_program.run("preview", "--expect-no-changes", "--suppress-progress")


def test_a_bad_property_fails_the_preview_naming_it_and_the_fix(yaml_program: PulumiWorkspace) -> None:
    program = yaml.safe_load((yaml_program.project / "Pulumi.yaml").read_text())
    good = yaml.safe_dump(program, sort_keys=False)
    program["resources"]["flink"]["properties"]["rsaBits"] = 1024
    program["resources"]["flink"]["properties"]["keyAlgorithm"] = "RSA"
    (yaml_program.project / "Pulumi.yaml").write_text(yaml.safe_dump(program, sort_keys=False))
    try:
        with pytest.raises(PulumiError) as failure:
            yaml_program.run("preview", "--suppress-progress")
    finally:
        (yaml_program.project / "Pulumi.yaml").write_text(good)
    assert 'FlinkPlatform.rsaBits = "1024": must be one of 2048, 3072, 4096. Fix: set rsaBits: 3072' in str(
        failure.value
    )
