"""Shared fixtures: stack configs, the offline engine, and the rule that real components never quietly skip in CI."""

import copy
import json
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import pytest

from offline.engine import Engine, RunResult
from offline.stack_config import load_stack_config

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "secure-flink"


def stack_values(stack: str = "dev") -> dict[str, Any]:
    """The stack's config as plain values (`key` -> value), defaults from Pulumi.yaml included."""
    config = load_stack_config(PROJECT_DIR, stack)
    prefix = f"{PROJECT}:"
    return {k[len(prefix) :]: _decode(v) for k, v in config.values.items() if k.startswith(prefix)}


def _decode(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def as_pulumi_config(values: Mapping[str, Any]) -> dict[str, str]:
    return {f"{PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


class StackRunner:
    """Successive `pulumi up`s of one stack on the offline engine (state carried between runs)."""

    def __init__(self, stack: str = "dev") -> None:
        self.engine = Engine(PROJECT_DIR, PROJECT, stack)
        self.values = stack_values(stack)

    def up(self, secret_keys: tuple[str, ...] = (), **overrides: Any) -> RunResult:
        """One `pulumi up` with the stack's values changed by `overrides`; `secret_keys` were set with --secret."""
        values = {**copy.deepcopy(self.values), **overrides}
        return self.engine.run(as_pulumi_config(values), tuple(f"{PROJECT}:{k}" for k in secret_keys))


@pytest.fixture
def stack_runner() -> Callable[[str], StackRunner]:
    return StackRunner


def require_tool(name: str, why: str) -> str:
    """Path of `name`; skips without it, except under CI=true where a missing real component fails."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} not found: {why}. Run `make test`, which installs it.")
    return path


def unavailable(message: str) -> NoReturn:
    """Skips the test for want of a real component, or fails it under CI=true."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """Under CI=true a skipped real-component test is a failure: nothing quietly drops out."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI") == "true" and item.get_closest_marker("real"):
        report.outcome = "failed"
        report.longrepr = f"real-component test skipped under CI: {report.longrepr}"
