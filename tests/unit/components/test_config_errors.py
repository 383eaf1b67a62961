"""Bad configuration stops the program before it registers anything, on a new stack and on an existing one."""

import pytest

from secure_flink.settings import ConfigError
from tests.conftest import StackRunner

BAD = [
    {"platform": "gke"},
    {"certValidityHours": 24, "certEarlyRenewalHours": 48},
    {"deployments": [{"name": "Not_A_Label", "image": "flink:2.2.1-scala_2.12-java17"}]},
    {"deployments": [{"name": "etl", "image": "flink:2.2.1-scala_2.12-java17", "flinkVersion": "v9_9"}]},
]


@pytest.mark.parametrize("overrides", BAD, ids=["platform", "validity", "name", "flinkVersion"])
def test_bad_config_registers_nothing(overrides):
    runner = StackRunner("dev")
    with pytest.raises(ConfigError):
        runner.up(**overrides)
    assert runner.engine._registered == [] and runner.engine.state == {}


def test_bad_config_on_an_existing_stack_changes_nothing():
    runner = StackRunner("dev")
    first = runner.up()
    with pytest.raises(ConfigError):
        runner.up(platform="gke")
    assert runner.engine._registered == []
    assert runner.engine.state.keys() == {r.urn for r in first.resources}
    assert runner.up().changes() == {}, "the failed run left the stack state as it was"


def test_conflict_with_a_stack_owned_key_is_a_config_error_not_an_overwrite():
    runner = StackRunner("dev")
    deployments = runner.values["deployments"]
    deployments[0]["flinkConfiguration"]["security.ssl.protocol"] = "TLSv1"
    with pytest.raises(ConfigError, match=r"deployments\[0\]\.flinkConfiguration\.security\.ssl\.protocol"):
        runner.up(deployments=deployments)
    assert runner.engine._registered == []
