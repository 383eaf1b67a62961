"""A stack several real-engine test modules share."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack.project import PulumiProject

OCP_CLIENTS = [{"name": "ci-bot"}, {"name": "alice-laptop"}]


@pytest.fixture(scope="session")
def ocp_with_clients(tmp_path_factory: pytest.TempPathFactory, engine_bin: Path) -> Iterator[PulumiProject]:
    """The OpenShift stack with two REST clients after its first `pulumi up`. Tests that change its stack
    file put it back: it stays the stack of OCP_CLIENTS."""
    project = PulumiProject(tmp_path_factory.mktemp("ocp-with-clients"), "ocp", engine_bin)
    project.set_config(restClients=OCP_CLIENTS)
    project.up()
    yield project
