"""The engine the real-engine tests run (`make engine`'s build, or the directory PULUMI_ENGINE_BIN names),
and a stack several modules share."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack.project import PulumiProject
from tests.conftest import unavailable

ENGINE_BINARIES = (
    "pulumi",
    "pulumi-language-python",
    "pulumi-language-python-exec",
    "pulumi-analyzer-policy-python",
    "pulumi-resource-pulumi-python",
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
        unavailable(f"PULUMI_ENGINE_BIN={configured!r} lacks {', '.join(missing)}: run `make engine` (or `make test`)")
    return directory


OCP_CLIENTS = [{"name": "ci-bot"}, {"name": "alice-laptop"}]


@pytest.fixture(scope="session")
def ocp_with_clients(tmp_path_factory: pytest.TempPathFactory, engine_bin: Path) -> Iterator[PulumiProject]:
    """The OpenShift stack with two REST clients after its first `pulumi up`. Tests that change its stack
    file put it back: it stays the stack of OCP_CLIENTS."""
    project = PulumiProject(tmp_path_factory.mktemp("ocp-with-clients"), "ocp", engine_bin)
    project.set_config(restClients=OCP_CLIENTS)
    project.up()
    yield project
