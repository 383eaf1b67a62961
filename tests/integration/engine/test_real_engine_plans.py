"""What the real engine plans when a user changes the config of a running stack, and nothing else.

The shared OpenShift stack with two REST clients (conftest); each test changes its stack file, asks
`pulumi preview` for the plan and puts the file back.
"""

from typing import Any

import pytest

from local_stack.project import PulumiProject
from tests.integration.engine.conftest import OCP_CLIENTS as CLIENTS
from tests.integration.engine.test_real_engine import secret_values

pytestmark = pytest.mark.real

# Under REST mTLS every deployment's REST truststore lists the clients, and on OpenShift every REST proxy's
# nginx config holds their allow-list: a client change reaches exactly these.
ALLOW_LISTS = {
    "etl-tls-rest-stores": "replace",
    "adhoc-tls-rest-stores": "replace",
    "etl-tls-rest": "replace",
    "adhoc-tls-rest": "replace",
    "etl": "update",
    "adhoc": "update",
    "etl-api-proxy-config": "replace",
    "adhoc-api-proxy-config": "replace",
    "etl-api-proxy-deployment": "update",
    "adhoc-api-proxy-deployment": "update",
}
CLIENT_RESOURCES = ("cert", "csr", "id", "key", "pkcs12", "pkcs12-password")


@pytest.fixture
def running(ocp_with_clients: PulumiProject) -> PulumiProject:
    return ocp_with_clients


def planned(project: PulumiProject, **config: Any) -> dict[str, str]:
    """The plan for the stack with `config` changed, by resource name; the stack file is restored."""
    saved = project.config()
    project.set_config(**config)
    try:
        return {urn.rsplit("::", 1)[1]: op for urn, op in project.plan().items()}
    finally:
        project.set_config(**{key: saved.get(key) for key in config})


def test_unchanged_config_plans_nothing(running: PulumiProject) -> None:
    # The control for every plan below: a plan of {} is what "nothing changes" looks like here.
    assert planned(running, restClients=CLIENTS) == {}


def test_adding_a_client_issues_only_its_certificate_and_extends_the_allow_lists(running: PulumiProject) -> None:
    plan = planned(running, restClients=[*CLIENTS, {"name": "release-bot"}])
    issued = {f"rest-clients-release-bot-{part}": "create" for part in CLIENT_RESOURCES}
    assert plan == {**issued, **ALLOW_LISTS}


def test_removing_a_client_deletes_only_its_certificate_and_shrinks_the_allow_lists(running: PulumiProject) -> None:
    plan = planned(running, restClients=[{"name": "ci-bot"}])
    revoked = {f"rest-clients-alice-laptop-{part}": "delete" for part in CLIENT_RESOURCES}
    assert plan == {**revoked, **ALLOW_LISTS}


def test_a_new_hash_scheme_rewrites_only_the_htpasswd_secrets(running: PulumiProject) -> None:
    plan = planned(running, uiHashScheme="bcrypt")
    assert plan == {
        "etl-ui-proxy-htpasswd": "replace",
        "adhoc-ui-proxy-htpasswd": "replace",
        "etl-ui-proxy-deployment": "update",
        "adhoc-ui-proxy-deployment": "update",
    }


def test_rotation_replaces_every_key_certificate_store_and_password(running: PulumiProject) -> None:
    resources = running.export()["deployment"]["resources"]
    generated_types = ("tls:", "random:", "pulumi-python:dynamic:JavaStores")
    generated = {r["urn"].rsplit("::", 1)[1] for r in resources if r["type"].startswith(generated_types)}
    secrets = {r["urn"].rsplit("::", 1)[1] for r in resources if r["type"] == "kubernetes:core/v1:Secret"}
    plan = planned(running, tlsRotation="2026-12")
    assert generated and secrets
    assert {name: plan.get(name) for name in generated | secrets} == dict.fromkeys(generated | secrets, "replace")
    assert {plan[name] for name in ("etl", "adhoc")} == {"update"}
    assert "delete" not in plan.values() and "create" not in plan.values()


def test_diff_names_the_changed_keys_and_shows_no_secret(running: PulumiProject) -> None:
    saved = running.config()
    running.set_config(restClients=[*CLIENTS, {"name": "release-bot"}])
    try:
        diff = running.preview("--diff").stdout
    finally:
        running.set_config(restClients=saved["restClients"])
    assert "rest-clients-release-bot-key" in diff
    assert "nginx.conf" in diff, "the allow-list change is shown where it is: the proxy's nginx.conf"
    assert "[secret]" in diff
    assert [value for value in secret_values(running) if value in diff] == []
