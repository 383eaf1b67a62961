"""What upgrading a live stack does, on the real engine: a stack made by an earlier secure-flink, then this one.

The earlier version encoded its keystores with its own deterministic PKCS#12 writer; this one encodes them
with cryptography, once, into state (secure_flink/components/java_stores.py). The upgrade re-encodes every store once:
the store Secrets are replaced and the FlinkDeployments mount the new ones (each cluster restarts once),
while no key, certificate or password changes. After it, `pulumi up` changes nothing again.
"""

import subprocess
import tarfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest

from local_stack.project import PROJECT_DIR, PulumiProject
from tests.conftest import unavailable

pytestmark = pytest.mark.real

# The last commit whose program wrote keystores with the hand-written encoder.
EARLIER_VERSION = "74a4fac"
CLIENTS = [{"name": "ci-bot"}]
STORE_SECRETS = (
    "etl-tls-internal",
    "etl-tls-rest",
    "adhoc-tls-internal",
    "adhoc-tls-rest",
    "operator-trust-truststore",
)
NEW_STORES = (
    "etl-tls-internal-stores",
    "etl-tls-rest-stores",
    "adhoc-tls-internal-stores",
    "adhoc-tls-rest-stores",
    "operator-trust-stores",
    "rest-clients-ci-bot-pkcs12",
)


def earlier_program(target: Path) -> Path:
    """The program as it was at EARLIER_VERSION, from this repository's history."""
    archive = subprocess.run(
        ["git", "-C", str(PROJECT_DIR), "archive", "--format=tar", EARLIER_VERSION],
        capture_output=True,
        timeout=60,
    )
    if archive.returncode != 0:
        unavailable(
            f"commit {EARLIER_VERSION} is not in this clone ({archive.stderr.decode().strip()}): "
            "the upgrade test needs the history (`git fetch --unshallow`)"
        )
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory, engine_bin: Path) -> Iterator[tuple[PulumiProject, dict]]:
    """A dev stack with a REST client, `pulumi up` by the earlier version; then this version's program in its
    place. Yields the project and the upgrade's plan, by resource name."""
    source = earlier_program(tmp_path_factory.mktemp("earlier-version"))
    project = PulumiProject(tmp_path_factory.mktemp("upgrade"), "dev", engine_bin, source=source)
    project.set_config(restClients=CLIENTS, uiDomain="flink.example.com")
    project.up()
    project.install_program(PROJECT_DIR)
    plan = {urn.rsplit("::", 1)[1]: op for urn, op in project.plan().items()}
    yield project, plan


def generated_material(project: PulumiProject) -> dict[str, dict]:
    """Every key, certificate and password in the state, by resource name: their outputs."""
    resources = project.export(show_secrets=True)["deployment"]["resources"]
    generated = [r for r in resources if r["type"].startswith(("tls:", "random:"))]
    return {r["urn"].rsplit("::", 1)[1]: r.get("outputs") for r in generated}


def test_the_upgrade_re_encodes_every_store_once_and_nothing_else(upgraded) -> None:
    _, plan = upgraded
    assert plan == {
        **dict.fromkeys(NEW_STORES, "create"),
        **dict.fromkeys(STORE_SECRETS, "replace"),
        # New Secret names in `podTemplate` volumes: the operator restarts each cluster once.
        "etl": "update",
        "adhoc": "update",
    }


def test_after_the_upgrade_keys_and_passwords_are_the_same_and_a_second_up_changes_nothing(upgraded) -> None:
    project, _ = upgraded
    before = generated_material(project)
    project.up()
    assert before and generated_material(project) == before
    project.preview("--expect-no-changes")
