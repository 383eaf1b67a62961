"""The two stacks most component tests read: one offline `pulumi up` of each per test module."""

import pytest

from offline.engine import RunResult
from tests.conftest import StackRunner


@pytest.fixture(scope="module")
def dev() -> RunResult:
    return StackRunner("dev").up()


@pytest.fixture(scope="module")
def ocp() -> RunResult:
    return StackRunner("ocp").up()
