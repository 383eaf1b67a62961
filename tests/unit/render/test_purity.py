"""Decisions stay pure: builders never import Pulumi, read the clock, draw randomness or do I/O."""

import ast
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR

PURE_MODULES = sorted((PROJECT_DIR / "secure_flink" / "domain").glob("*.py")) + [
    PROJECT_DIR / "policy" / "guardrails.py",
    PROJECT_DIR / "policy" / "properties.py",
    PROJECT_DIR / "policy" / "restricted_profile.py",
]
FORBIDDEN_MODULES = {
    "pulumi",
    "pulumi_kubernetes",
    "pulumi_tls",
    "pulumi_random",
    "pulumi_policy",
    "random",
    "secrets",
    "time",
    "datetime",
    "os",
    "subprocess",
    "socket",
    "uuid",
    "pathlib",
    "shutil",
    "tempfile",
}
FORBIDDEN_CALLS = {"open", "input", "print"}


def impurities(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in FORBIDDEN_MODULES:
            found.append(node.module)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            found.append(f"{node.func.id}()")
    return found


@pytest.mark.parametrize("module", PURE_MODULES, ids=lambda p: str(p.relative_to(PROJECT_DIR)))
def test_decision_module_is_pure(module: Path):
    assert impurities(module.read_text()) == []


def test_impurity_detector_is_not_vacuous():
    source = "import pulumi\nfrom datetime import datetime\nimport os.path\nx = open('f')\n"
    assert impurities(source) == ["pulumi", "datetime", "os.path", "open()"]
