"""What a second `pulumi up` does: nothing on an unchanged stack, exactly the right things on a changed one."""

import pytest
from pulumi.dynamic import DiffResult

from secure_flink.components.java_stores import JavaStoresProvider
from tests.conftest import StackRunner

SECRET = "kubernetes:core/v1:Secret"
FLINK_DEPLOYMENT = "kubernetes:flink.apache.org/v1beta1:FlinkDeployment"


def operations(result, type_: str) -> dict[str, str]:
    return {r.name: result.operations[r.urn] for r in result.by_type(type_)}


def test_unchanged_stack_changes_nothing_on_second_up():
    runner = StackRunner("dev")
    first = runner.up()
    second = runner.up()
    assert second.changes() == {}
    secrets = lambda result: {r.name: r.inputs.get("data") for r in result.by_type(SECRET)}  # noqa: E731
    assert secrets(second) == secrets(first), "keystore bytes are identical, not merely equivalent"


def test_stores_encoded_afresh_on_every_up_would_be_caught(monkeypatch):
    # Negative control for the test above: cryptography salts every encoding afresh, so a provider that
    # re-encoded on every `pulumi up` (instead of keeping the bytes in state) would replace the store
    # Secrets, and restart the clusters, each time.
    always = DiffResult(changes=True, replaces=["stores"], delete_before_replace=False)
    monkeypatch.setattr(JavaStoresProvider, "diff", lambda self, _id, olds, news: always)
    runner = StackRunner("dev")
    runner.up()
    second = runner.up()
    replaced = {name for name, op in operations(second, SECRET).items() if op == "replace"}
    assert {"etl-tls-internal", "etl-tls-rest", "adhoc-tls-internal", "adhoc-tls-rest"} <= replaced


def test_rotation_reissues_all_tls_material_and_rolls_the_deployments():
    runner = StackRunner("dev")
    first = runner.up()
    rotated = runner.up(tlsRotation="2026-12")
    changes = rotated.changes()
    for registration in rotated.resources:
        if registration.type.startswith(("tls:", "random:")):
            assert changes.get(registration.urn) == "replace", registration.name
    assert set(operations(rotated, SECRET).values()) == {"replace"}
    assert set(operations(rotated, FLINK_DEPLOYMENT).values()) == {"update"}
    names = lambda result: {r.outputs["metadata"]["name"] for r in result.by_type(SECRET)}  # noqa: E731
    autonamed = names(first) - {"flink-operator-cert", "operator-certificate-password"}
    assert not autonamed & names(rotated), "replaced Secrets get new names, so Flink pods mount new material"


def test_new_option_updates_only_that_deployment():
    runner = StackRunner("dev")
    runner.up()
    deployments = runner.values["deployments"]
    deployments[1]["flinkConfiguration"] = {"parallelism.default": "3"}
    second = runner.up(deployments=deployments)
    assert {name for name in (r.name for r in second.resources if r.urn in second.changes())} == {"adhoc"}
    assert operations(second, FLINK_DEPLOYMENT) == {"etl": "same", "adhoc": "update"}


def test_adding_a_deployment_creates_only_its_resources_and_removing_deletes_them():
    runner = StackRunner("dev")
    runner.up()
    deployments = runner.values["deployments"] + [{"name": "reports", "image": "flink:2.2.1-scala_2.12-java17"}]
    added = runner.up(deployments=deployments)
    changed = {r.name: added.operations[r.urn] for r in added.resources if r.urn in added.changes()}
    # The operator's truststore, which holds every deployment's REST CA, is the one shared object that changes.
    assert changed.pop("operator-trust-stores") == "replace"
    assert changed.pop("operator-trust-truststore") == "replace"
    assert set(changed.values()) == {"create"}
    assert {name.split("-")[0] for name in changed} == {"reports"}
    removed = runner.up()
    deleted = {r.name for r in removed.deleted}
    assert "reports" in deleted and "reports-tls-internal" in deleted
    kept = {r.name: removed.operations[r.urn] for r in removed.resources if r.urn in removed.changes()}
    assert kept == {"operator-trust-stores": "replace", "operator-trust-truststore": "replace"}
    assert all(removed.changes()[r.urn] == "delete" for r in removed.deleted)


@pytest.mark.parametrize("field, value", [("rsaBits", 4096), ("keyAlgorithm", "ECDSA")])
def test_new_key_parameters_replace_keys_and_stores(field, value):
    runner = StackRunner("dev")
    runner.up()
    second = runner.up(**{field: value})
    keys = {r.name: second.operations[r.urn] for r in second.by_type("tls:index/privateKey:PrivateKey")}
    assert set(keys.values()) == {"replace"}
    assert set(operations(second, SECRET).values()) >= {"replace"}
