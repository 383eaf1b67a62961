"""The engine the real-engine tests run: `make engine`'s build, or the directory PULUMI_ENGINE_BIN names."""

import os
from pathlib import Path

import pytest

ENGINE_BINARIES = (
    "pulumi",
    "pulumi-language-python",
    "pulumi-language-python-exec",
    "pulumi-analyzer-policy-python",
    "pulumi-resource-kubernetes",
    "pulumi-resource-tls",
    "pulumi-resource-random",
)


@pytest.fixture(scope="session")
def engine_bin() -> Path:
    """A directory holding the CLI, the Python language host and the three providers; skips without one,
    except under CI=true, where a missing engine fails."""
    configured = os.environ.get("PULUMI_ENGINE_BIN")
    directory = Path(configured) if configured else None
    missing = [name for name in ENGINE_BINARIES if directory is None or not (directory / name).exists()]
    if missing:
        message = f"PULUMI_ENGINE_BIN={configured!r} lacks {', '.join(missing)}: run `make engine` (or `make test`)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return directory
