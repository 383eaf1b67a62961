"""`pip install .` gives the package secure-flink: every module of secure_flink, its version, its dependencies."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from secure_flink import __version__
from tests.conftest import PROJECT_DIR

pytestmark = pytest.mark.real


def test_the_wheel_holds_every_module_of_the_package_and_its_version(tmp_path: Path) -> None:
    # pip builds the wheel as `pip install .` does (an isolated build with the backend pyproject.toml names).
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(tmp_path), str(PROJECT_DIR)],
        check=True,
        timeout=300,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("secure_flink-*.whl")
    assert wheel.name.startswith(f"secure_flink-{__version__}-py3-none-any")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(f"secure_flink-{__version__}.dist-info/METADATA").decode()
    modules = {str(p.relative_to(PROJECT_DIR)) for p in (PROJECT_DIR / "secure_flink").rglob("*.py")}
    assert modules and modules <= names
    assert not any(name.startswith(("tests/", "offline/", "local_stack/")) for name in names)
    assert "Requires-Dist: pulumi<4,>=3.224" in metadata and "Requires-Dist: cryptography<51,>=45" in metadata
