"""`pulumi up` waits for the Flink operator to report a FlinkDeployment's JobManager READY (our
`pulumi.com/waitFor` annotation, as the Kubernetes provider reads it), and fails with a readable message when
that never comes.

No operator runs here: the operator 1.15 release is not among the artifacts our machines reach (1.7 is, and
its CRD refuses flinkVersion v2_2), and building it from source is not ours to do. The stand-in writes the
status the operator writes (tests/integration/cluster/stand_ins.py).
"""

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack.project import PulumiError, PulumiProject
from tests.integration.cluster.conftest import NAMESPACES
from tests.integration.cluster.control_plane import ControlPlane
from tests.integration.cluster.stand_ins import standing_in

pytestmark = pytest.mark.real

# The program's wait, shortened in this test's copy of the program so that "never" takes seconds.
WAIT_SECONDS = 10
WAIT_CONSTANT = re.compile(r"^WAIT_TIMEOUT_SECONDS = \d+$", re.MULTILINE)


@pytest.fixture(scope="module")
def one_deployment(
    tmp_path_factory: pytest.TempPathFactory, engine_bin: Path, control_plane: ControlPlane
) -> Iterator[PulumiProject]:
    project = PulumiProject(
        tmp_path_factory.mktemp("operator-wait"), "dev", engine_bin, kubeconfig=control_plane.kubeconfig
    )
    project.set_config(deployments=project.config()["deployments"][:1])
    module = project.project / "secure_flink" / "domain" / "flink_deployment.py"
    source = module.read_text()
    assert WAIT_CONSTANT.search(source), "the program's wait constant moved: update this test"
    module.write_text(WAIT_CONSTANT.sub(f"WAIT_TIMEOUT_SECONDS = {WAIT_SECONDS}", source))
    yield project
    with standing_in(control_plane.api(), NAMESPACES, operator=True):
        project.run("destroy", "--yes", "--skip-preview", "--suppress-progress")


def test_up_fails_readably_when_the_operator_never_reports_ready(
    one_deployment: PulumiProject, control_plane: ControlPlane
) -> None:
    started = time.monotonic()
    with standing_in(control_plane.api(), NAMESPACES, operator=False), pytest.raises(PulumiError) as failure:
        one_deployment.up()
    assert time.monotonic() - started >= WAIT_SECONDS
    message = str(failure.value)
    # The provider names the resource and the wait; its progress line names the field it found empty.
    assert "FlinkDeployment::etl" in message and "timed out waiting for the condition" in message, message
    assert "{.status.jobManagerDeploymentStatus} selected nothing" in message, message


def test_up_completes_once_the_operator_reports_ready(
    one_deployment: PulumiProject, control_plane: ControlPlane
) -> None:
    with standing_in(control_plane.api(), NAMESPACES, operator=True):
        one_deployment.up()
    api = control_plane.api()
    status = api.get("/apis/flink.apache.org/v1beta1/namespaces/flink/flinkdeployments/etl")["status"]
    assert status["jobManagerDeploymentStatus"] == "READY"
    assert one_deployment.preview("--expect-no-changes", check=False).returncode == 0
