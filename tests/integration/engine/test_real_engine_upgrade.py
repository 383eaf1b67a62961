"""What upgrading a live stack does, on the real engine: a stack made by an earlier secure-flink, then this one.

From the last version before the package (`secure_flink`, with SecureFlinkPlatform at the top): the platform
component is added, and every resource the stack parented before is found under it by its alias; the proxies
roll once for roles (their nginx.conf changes), and the REST API's Ingress gets a role-checking proxy of its own
between it and Flink; no Flink cluster restarts.

From the version that encoded keystores by hand: it wrote them with its own deterministic PKCS#12 writer;
this one encodes them with cryptography, once, into state (secure_flink/components/java_stores.py). The
upgrade re-encodes every store once: the store Secrets are replaced and the FlinkDeployments mount the new
ones (each cluster restarts once), while no key, certificate or password changes. After it, `pulumi up`
changes nothing again.
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
HAND_ENCODED_VERSION = "74a4fac"
# The last commit before the program became the package secure_flink with one top-level component.
BEFORE_PACKAGE_VERSION = "90c02ce"
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


# Roles (0.13): each proxy's nginx.conf gains the role maps. Its ConfigMap is auto-named, so it is replaced
# under a new name and the proxy Deployment mounts that: each proxy restarts once; Flink does not.
PROXY_CONFIGS_FOR_ROLES = {"etl-ui-proxy-config": "replace", "adhoc-ui-proxy-config": "replace"}
# REST clients' roles (0.13): on Kubernetes the REST API's Ingress now leads to a proxy of the stack's, which checks
# each client's role, instead of straight to Flink. The proxy is created; the Ingress stays the same resource (by
# its alias) and is pointed at the proxy; the Ingress's old certificate and Secrets go; each JobManager's
# NetworkPolicy admits the proxy instead of the controller. The proxy presents the certificate the controller held,
# so Flink's REST truststore stays as it is, and no cluster restarts.
API_PROXY_RESOURCES = (
    *("", "-client-ca", "-config", "-deployment", "-network-policy", "-service", "-upstream-identity"),
    *("-tls", "-tls-cert", "-tls-csr", "-tls-key"),
    *("-ingress-identity", "-ingress-client-cert", "-ingress-client-csr", "-ingress-client-key"),
)
RETIRED_INGRESS_RESOURCES = ("-client-ca", "-upstream-ca", "-tls", "-tls-cert", "-tls-csr", "-tls-key")
REST_API_PROXIES_FOR_ROLES = {
    **{f"{name}-api-proxy{part}": "create" for name in ("etl", "adhoc") for part in API_PROXY_RESOURCES},
    **{f"{name}-api{part}": "delete" for name in ("etl", "adhoc") for part in RETIRED_INGRESS_RESOURCES},
    **{f"{name}-api-proxy-ingress": "update" for name in ("etl", "adhoc")},
    **{f"{name}-jobmanager": "update" for name in ("etl", "adhoc")},
}


def earlier_program(target: Path, version: str) -> Path:
    """The program as it was at `version`, from this repository's history."""
    archive = subprocess.run(
        ["git", "-C", str(PROJECT_DIR), "archive", "--format=tar", version],
        capture_output=True,
        timeout=60,
    )
    if archive.returncode != 0:
        unavailable(
            f"commit {version} is not in this clone ({archive.stderr.decode().strip()}): "
            "the upgrade test needs the history (`git fetch --unshallow`)"
        )
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory, engine_bin: Path) -> Iterator[tuple[PulumiProject, dict]]:
    """A dev stack with a REST client, `pulumi up` by the earlier version; then this version's program in its
    place. Yields the project and the upgrade's plan, by resource name."""
    source = earlier_program(tmp_path_factory.mktemp("earlier-version"), HAND_ENCODED_VERSION)
    project = PulumiProject(tmp_path_factory.mktemp("upgrade"), "dev", engine_bin, source=source)
    project.set_config(restClients=CLIENTS, uiDomain="flink.example.com")
    project.up()
    project.install_program(PROJECT_DIR)
    plan = {urn.rsplit("::", 1)[1]: op for urn, op in project.plan().items()}
    yield project, plan


def assert_same_material_besides_the_rest_api_proxies(before: dict[str, dict], after: dict[str, dict]) -> None:
    """Every key, certificate and password that stays is unchanged; the REST Ingress's own certificate goes and the
    REST API proxies' come (REST_API_PROXIES_FOR_ROLES), nothing else."""
    created = {name for name, op in REST_API_PROXIES_FOR_ROLES.items() if op == "create"}
    deleted = {name for name, op in REST_API_PROXIES_FOR_ROLES.items() if op == "delete"}
    assert before and set(after) - set(before) <= created and set(before) - set(after) <= deleted
    assert {name: after[name] for name in set(before) & set(after)} == {
        name: before[name] for name in set(before) & set(after)
    }
    assert set(after) - set(before), "control: the proxies' material is new"


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
        # What the later versions change besides (see the tests below).
        "secure-flink": "create",
        "etl-ui-proxy-deployment": "update",
        "adhoc-ui-proxy-deployment": "update",
        **PROXY_CONFIGS_FOR_ROLES,
        **REST_API_PROXIES_FOR_ROLES,
    }


def test_after_the_upgrade_keys_and_passwords_are_the_same_and_a_second_up_changes_nothing(upgraded) -> None:
    project, _ = upgraded
    before = generated_material(project)
    project.up()
    assert_same_material_besides_the_rest_api_proxies(before, generated_material(project))
    project.preview("--expect-no-changes")


@pytest.fixture(scope="module")
def from_before_the_package(tmp_path_factory: pytest.TempPathFactory, engine_bin: Path) -> PulumiProject:
    """A dev stack with a REST client (every component there is), `pulumi up` by the last version before the
    package; then this version's program in its place."""
    source = earlier_program(tmp_path_factory.mktemp("before-package"), BEFORE_PACKAGE_VERSION)
    project = PulumiProject(tmp_path_factory.mktemp("package-upgrade"), "dev", engine_bin, source=source)
    project.set_config(restClients=CLIENTS, uiDomain="flink.example.com")
    project.up()
    project.install_program(PROJECT_DIR)
    return project


PLATFORM_URN = "urn:pulumi:dev::secure-flink::secureflink:index:SecureFlinkPlatform::secure-flink"


def test_the_upgrade_to_the_package_adds_the_platform_and_the_role_proxies_and_restarts_no_flink_cluster(
    from_before_the_package: PulumiProject,
) -> None:
    steps = {step["urn"].rsplit("::", 1)[1]: step for step in from_before_the_package.plan_steps()}
    assert {name: step["op"] for name, step in steps.items()} == {
        "secure-flink": "create",
        "etl-ui-proxy-deployment": "update",
        "adhoc-ui-proxy-deployment": "update",
        **PROXY_CONFIGS_FOR_ROLES,
        **REST_API_PROXIES_FOR_ROLES,
    }
    waiver = 'metadata.annotations["checkov.io/skip1"]'
    for name in ("etl-ui-proxy-deployment", "adhoc-ui-proxy-deployment"):
        changed = list(steps[name]["detailedDiff"])
        # The scanner waiver on each proxy Deployment names the image key, now proxyImage (the Deployment's own
        # annotation); and the pod template mounts the new nginx.conf ConfigMap: the proxy's pods roll once.
        assert waiver in changed, changed
        assert all(key == waiver or key.startswith("spec.template.spec.volumes") for key in changed), changed
        assert any(key.startswith("spec.template.spec.volumes") for key in changed), changed


def test_after_the_upgrade_to_the_package_the_same_material_sits_under_the_platform(
    from_before_the_package: PulumiProject,
) -> None:
    project = from_before_the_package
    before = generated_material(project)
    project.up()
    assert_same_material_besides_the_rest_api_proxies(before, generated_material(project))
    preview = project.preview("--expect-no-changes").stdout
    # The stack still sets uiDomain, which this version calls domain: it works, and says how to move it.
    assert "secure-flink:uiDomain" in preview and "renamed to domain" in preview
    resources = project.export()["deployment"]["resources"]
    stack_children = [
        r["urn"] for r in resources if r.get("parent", "").endswith("::pulumi:pulumi:Stack::secure-flink-dev")
    ]
    assert stack_children == [PLATFORM_URN]
    under_platform = {r["urn"].rsplit("::", 1)[1] for r in resources if r.get("parent") == PLATFORM_URN}
    assert {"stack-ca", "operator-client-ca", "rest-clients", "etl", "etl-tls", "etl-ui", "etl-api"} <= under_platform
