"""Shared fixtures: stack configs, the offline engine, and the rule that real components never quietly skip in CI."""

import copy
import functools
import json
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import pytest

from offline import tls_provider
from offline.engine import Engine, RunResult
from offline.stack_config import load_stack_config

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "secure-flink"


def stack_values(stack: str = "dev") -> dict[str, Any]:
    """The stack's config as plain values (`key` -> value), defaults from Pulumi.yaml included; a copy of its own."""
    return copy.deepcopy(_stack_values(stack))


@functools.cache
def _stack_values(stack: str) -> dict[str, Any]:
    # Parsed once per process: the stack files do not change during a run, and parsing them cost 30 ms a call
    # (hundreds of hypothesis examples call this).
    config = load_stack_config(PROJECT_DIR, stack)
    prefix = f"{PROJECT}:"
    return {k[len(prefix) :]: _decode(v) for k, v in config.values.items() if k.startswith(prefix)}


def pytest_sessionstart(session: pytest.Session) -> None:
    """Before the test processes start (in the one that starts them): the offline engine's RSA keys of the size
    the stacks use, made in parallel once per machine (.cache/offline-rsa-keys/), so no test process waits for them."""
    if hasattr(session.config, "workerinput"):
        return
    tls_provider.RSA_KEYS.fill(3072, processes=os.cpu_count() or 1)


def _decode(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def as_pulumi_config(values: Mapping[str, Any]) -> dict[str, str]:
    return {f"{PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


OIDC = {
    "secret_keys": ("oidcClientSecret",),
    "domain": "flink.example.com",
    "uiAuth": "oidc",
    "oidcIssuerUrl": "https://login.example.com/realms/flink",
    "oidcClientId": "flink-ui",
    "oidcClientSecret": "the-client-secret-the-provider-issued",
    "oidcGroupRoles": [
        {"group": "flink-admins", "role": "admin"},
        {"group": "flink-operators", "role": "operator"},
        {"group": "flink-viewers", "role": "viewer"},
    ],
    "oidcEgress": [{"cidr": "203.0.113.10/32", "ports": [443]}],
}
"""Overrides for single sign-on at a provider outside the cluster (`StackRunner(...).up(**OIDC)`)."""


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


# Files whose tests share a session fixture run on one worker, so that it is set up once.
SHARED_SESSION = {
    "tests/integration/engine/test_real_engine_plans.py": "ocp-with-clients stack",
    "tests/integration/engine/test_real_engine_software.py": "ocp-with-clients stack",
    "tests/integration/cluster/test_cluster_stacks.py": "control plane",
    "tests/integration/cluster/test_operator_wait.py": "control plane",
}


# First: xdist reads the groups in its own collection hook.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`--dist loadgroup`, as `make test` runs) each file goes whole to one worker, in
    order: module fixtures are set up once and a module's last test (a destroy) runs last."""
    for item in items:
        path = item.path.relative_to(PROJECT_DIR).as_posix()
        item.add_marker(pytest.mark.xdist_group(SHARED_SESSION.get(path, path)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """Under CI=true a skipped real-component test is a failure: nothing quietly drops out."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI") == "true" and item.get_closest_marker("real"):
        report.outcome = "failed"
        report.longrepr = f"real-component test skipped under CI: {report.longrepr}"


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
