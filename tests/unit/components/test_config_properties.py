"""No traceback, ever: generated stack configs either render objects that are all valid, or fail with problems
that each name a config key, before anything is registered.

Configs start from the dev and ocp stacks and are mutated key by key: wrong types, long and odd strings,
boundary numbers, duplicated, case-folded and derived-colliding deployment names, every top-level key and
every deployment field. The settings reader takes a few hundred of them; the whole program (the code `make
render` runs) a few dozen, with ECDSA keys mostly, so that key generation does not dominate the time.
"""

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offline.render import write_render
from secure_flink.domain import names
from secure_flink.settings import TOP_LEVEL_KEYS, ConfigError, MappingConfig, read_settings
from tests.conftest import PROJECT_DIR, StackRunner, stack_values
from tests.schema_validation import validation_errors

IMAGE = "flink:2.2.1-scala_2.12-java17"
NAMES = ["etl", "adhoc", "etl-rest", "etl-api", "etl-ui", "ETL", "Etl", "a" * 45, "a" * 46, "x-", "1etl", ""]
ODD_STRINGS = ["", " ", "ü", "a b", "a:b", "a/b", "../x", "\n", "${x}", "-", "x" * 300, "TLSv1.3 ", "None", "null"]
NUMBERS = [0, -1, 1, 2, 63, 64, 65535, 65536, 175200, 175201, 2**31, 2**63, 1e308, float("inf"), 0.0001, True]
SUFFIX = re.compile(r"^[a-zA-Z][a-zA-Z0-9]*")


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(ODD_STRINGS),
        st.sampled_from(NUMBERS),
        st.none(),
        st.text(max_size=80),
        st.lists(st.sampled_from(["a", 1, None]), max_size=3),
        st.dictionaries(st.sampled_from(["name", "x"]), st.sampled_from(["etl", 1]), max_size=2),
    )


VALID_ALTERNATIVES = {
    "platform": ["kubernetes", "openshift"],
    "keyAlgorithm": ["RSA", "ECDSA"],
    "tlsProtocol": ["TLSv1.2", "TLSv1.3"],
    "uiHashScheme": ["ssha", "apr1", "bcrypt"],
    "domain": [
        "",
        "flink.example.com",
        "a-very-long-subdomain-of-sixty-three-characters-for-this-test-x.example.com",
    ],
    "uiRouteTermination": ["passthrough", "reencrypt"],
    "restClients": [[], [{"name": "ci-bot"}], [{"name": "ci-bot"}, {"name": "CI-bot"}], [{"name": "c" * 41}]],
    "caValidityHours": [8760, 175200],
    "certValidityHours": [720, 8760],
    "uiUsers": [[{"name": "admin"}], [{"name": "admin"}, {"name": "Admin"}], [{"name": "admin"}, {"name": "admin"}]],
}

DEPLOYMENT_FIELD_VALUES = {
    "image": [IMAGE, "flink:", "flink", "Flink:2.2", "flink@sha256:" + "a" * 64, "registry:5000/flink:2.2.1"],
    "mode": ["native", "standalone", "Native"],
    "serviceAccount": ["default", "etl-flink", "flink", "x" * 64],
    "jobManager": [{"memory": "0m"}, {"memory": "1g", "replicas": 2}, {"cpu": "inf"}, {"memory": "1.5g"}],
    "taskManager": [{"memory": "512m"}, {"memory": "2g", "replicas": 3}],
    "flinkConfiguration": [
        {"high-availability.type": "Kubernetes", "high-availability.storageDir": "s3://b/ha"},
        {"high-availability.type": "KUBERNETES"},
        {"security.ssl.verify-hostname": "false"},
        {"kubernetes.cluster-id": "x"},
        {"rest.port": 1},
        {"web.submit.enable": True},
    ],
    "secretMounts": [
        {"kafka": "/opt/flink/secrets/internal-tls/"},
        {"kafka": "/opt/flink/log"},
        {"kafka": "/etc/kafka", "kafka-ca": "/etc/kafka/ca"},
        {"k" * 60: "/etc/k"},
        {"kafka": "/etc/kafka"},
    ],
    "restAuthentication": ["tls", "mtls", "MTLS"],
    "job": [
        {"jarURI": "local:///opt/job.jar", "parallelism": 1, "upgradeMode": "savepoint"},
        {"jarURI": "local:///opt/job.jar", "parallelism": 0},
    ],
    "egress": [[{"cidr": "10.0.0.0/8", "ports": [9093]}], [{"cidr": "10.0.0.1/8", "ports": [0]}]],
}


@st.composite
def deployment_items(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(scalars())
    item: dict[str, Any] = {"name": draw(st.sampled_from(NAMES)), "image": IMAGE}
    for field in draw(st.lists(st.sampled_from(sorted(DEPLOYMENT_FIELD_VALUES)), max_size=3, unique=True)):
        item[field] = draw(st.one_of(st.sampled_from(DEPLOYMENT_FIELD_VALUES[field]), scalars()))
    return item


@st.composite
def stack_configs(draw: st.DrawFn) -> dict[str, Any]:
    values = stack_values(draw(st.sampled_from(["dev", "ocp"])))
    values["keyAlgorithm"] = "ECDSA"
    for key in draw(st.lists(st.sampled_from(TOP_LEVEL_KEYS), max_size=4, unique=True)):
        if key == "deployments":
            values[key] = draw(st.one_of(st.lists(deployment_items(), max_size=3), scalars()))
        elif key in VALID_ALTERNATIVES and draw(st.booleans()):
            values[key] = draw(st.sampled_from(VALID_ALTERNATIVES[key]))
        else:
            values[key] = draw(scalars())
    if draw(st.booleans()):
        values[draw(st.sampled_from(["unknownKey", "Namespace", "ui-domain"]))] = "x"
    return values


def known_key(problem_key: str) -> bool:
    """`deployments[0].name` names the config key `deployments`; any problem must name a key a user can set."""
    match = SUFFIX.match(problem_key)
    return match is not None and (
        match.group(0) in TOP_LEVEL_KEYS or problem_key in {"unknownKey", "Namespace", "ui-domain"}
    )


def as_config(values: dict[str, Any]) -> MappingConfig:
    return MappingConfig(values)


def assert_problems_name_keys(error: ConfigError) -> None:
    assert error.problems, "a ConfigError lists at least one problem"
    for problem in error.problems:
        assert known_key(problem.key), str(problem)
        assert problem.fix and problem.reason, str(problem)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stack_configs())
def test_the_settings_reader_returns_settings_or_problems_that_name_keys(values):
    try:
        read_settings(as_config(values))
    except ConfigError as error:
        assert_problems_name_keys(error)


DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def assert_objects_valid(documents: list[dict]) -> None:
    identities = [
        (d["apiVersion"], d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in documents
    ]
    assert len(identities) == len(set(identities)), "two objects of one kind share a name"
    for document in documents:
        name = document["metadata"]["name"]
        assert len(name) <= 253 and DNS_SUBDOMAIN.match(name), name
        for value in (document["metadata"].get("labels") or {}).values():
            assert len(value) <= 63, value
    hosts = [rule["host"] for d in documents if d["kind"] == "Ingress" for rule in d["spec"]["rules"] if "host" in rule]
    hosts += [d["spec"]["host"] for d in documents if d["kind"] == "Route" and "host" in d["spec"]]
    assert len(hosts) == len(set(hosts)), f"a host is served twice: {hosts}"
    errors = {d["metadata"]["name"]: validation_errors(d) for d in documents}
    assert not {name: problems for name, problems in errors.items() if problems}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stack_configs())
def test_the_program_renders_valid_objects_or_registers_nothing(values):
    runner = StackRunner("dev")
    runner.values = {}
    try:
        result = runner.up(**values)
    except ConfigError as error:
        assert_problems_name_keys(error)
        assert runner.engine._registered == [] and runner.engine.state == {}
        return
    with tempfile.TemporaryDirectory() as out:
        write_render(result, Path(out), show_secrets=False)
        assert_objects_valid(list(yaml.safe_load_all((Path(out) / "manifests.yaml").read_text())))


def test_the_long_host_of_a_valid_config_keeps_its_san_and_gets_a_short_cn():
    """A deployment name and domain within their limits make a REST host longer than a CN may be (64)."""
    domain = "a-very-long-subdomain-of-sixty-three-characters-for-this-test-x.example.com"
    runner = StackRunner("dev")
    result = runner.up(domain=domain, restClients=[{"name": "ci-bot"}], keyAlgorithm="ECDSA")
    requests = [r for r in result.resources if r.type == "tls:index/certRequest:CertRequest"]
    host = names.rest_api_host("etl", domain)
    (api,) = [r for r in requests if host in (r.inputs.get("dnsNames") or [])]
    assert len(host) > names.MAX_COMMON_NAME_LENGTH
    assert api.inputs["subject"]["commonName"] == "etl-api" and host in api.inputs["dnsNames"]
    assert all(len(r.inputs["subject"]["commonName"]) <= names.MAX_COMMON_NAME_LENGTH for r in requests)


@pytest.mark.parametrize("stack", ["x" * 100, "dev"])
def test_authority_names_fit_a_common_name_for_any_stack_name(stack):
    for purpose in ("CA", "REST client CA"):
        common_name = names.authority_common_name(stack, purpose)
        assert len(common_name) <= names.MAX_COMMON_NAME_LENGTH and common_name.endswith(purpose)
    assert names.authority_common_name("dev", "CA") == "secure-flink dev CA", "short names are unchanged"


def test_hypothesis_is_not_vacuous():
    """Control: the generator produces both valid and invalid configs (a reader that refused everything, or
    accepted everything, would pass the properties above)."""
    outcomes = set()

    @settings(max_examples=200, deadline=None, database=None, derandomize=True)
    @given(stack_configs())
    def record(values):
        try:
            read_settings(as_config(values))
            outcomes.add("valid")
        except ConfigError:
            outcomes.add("invalid")

    record()
    assert outcomes == {"valid", "invalid"}


def test_a_stack_file_key_without_the_project_namespace_is_refused(tmp_path):
    from offline.stack_config import StackConfigError, load_stack_config

    project = PROJECT_DIR
    (tmp_path / "Pulumi.yaml").write_text((project / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.x.yaml").write_text("config:\n  namespace: flink\n")
    with pytest.raises(
        StackConfigError, match="namespace in Pulumi.x.yaml has no namespace: write it as secure-flink:namespace"
    ):
        load_stack_config(tmp_path, "x")
    (tmp_path / "Pulumi.x.yaml").write_text("config:\n  secure-flink:namespace: [flink\n")
    with pytest.raises(StackConfigError, match=r"^Pulumi.x.yaml:3:1: not valid YAML"):
        load_stack_config(tmp_path, "x")
