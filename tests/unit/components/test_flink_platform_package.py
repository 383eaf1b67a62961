"""FlinkPlatform, the component package's entry point: configured like a stack, it builds what the stack builds."""

import re
from typing import Any

import pulumi
import pytest
import yaml

from offline.engine import Engine
from secure_flink.package.flink_platform import FlinkPlatform
from secure_flink.settings import ConfigError
from secure_flink.settings.defaults import DEFAULTS
from tests.conftest import PROJECT, PROJECT_DIR, StackRunner, stack_values


def snake_case(key: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), key)


def as_arguments(values: dict[str, Any]) -> dict[str, Any]:
    return {snake_case(key): value for key, value in values.items()}


def test_the_package_defaults_are_the_stack_defaults() -> None:
    declared = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]
    assert DEFAULTS == {key: declaration["default"] for key, declaration in declared.items()}


def test_configured_like_the_dev_stack_it_builds_the_dev_stacks_resources() -> None:
    stack = StackRunner("dev").up()
    package = Engine(PROJECT_DIR, PROJECT, "dev").run_program(
        lambda: FlinkPlatform("secure-flink", as_arguments(stack_values("dev")))  # type: ignore[arg-type]
    )
    custom = {(r.type, r.name) for r in stack.resources if r.custom}
    assert custom and {(r.type, r.name) for r in package.resources if r.custom} == custom
    (top,) = [r for r in package.resources if r.parent == package.stack_urn]
    assert top.type == "secureflink:index:FlinkPlatform"


def test_a_bad_value_is_refused_by_its_stack_key_before_anything_is_registered() -> None:
    engine = Engine(PROJECT_DIR, PROJECT, "dev")
    arguments = as_arguments({**stack_values("dev"), "rsaBits": 1024})
    expected = 'FlinkPlatform.rsaBits = "1024": must be one of 2048, 3072, 4096. Fix: set rsaBits: 3072'
    with pytest.raises(ConfigError, match=re.escape(expected)):
        engine.run_program(lambda: FlinkPlatform("secure-flink", arguments))  # type: ignore[arg-type]
    assert engine.state == {}


def test_a_value_not_known_yet_is_refused_with_why() -> None:
    engine = Engine(PROJECT_DIR, PROJECT, "dev")

    def program() -> None:
        arguments = {**as_arguments(stack_values("dev")), "namespace": pulumi.Output.from_input("flink")}
        FlinkPlatform("secure-flink", arguments)  # type: ignore[arg-type]

    with pytest.raises(ValueError, match="namespace must be known values"):
        engine.run_program(program)
    assert engine.state == {}


def test_numbers_arrive_as_floats_and_are_read_as_the_stack_config_has_them() -> None:
    from secure_flink.package.arguments import stack_config

    config = stack_config(
        "FlinkPlatform", {"rsa_bits": 3072.0, "deployments": [{"taskManager": {"cpu": 0.5, "replicas": 2.0}}]}
    )
    assert config["rsaBits"] == 3072 and isinstance(config["rsaBits"], int)
    assert config["deployments"] == [{"taskManager": {"cpu": 0.5, "replicas": 2}}]
