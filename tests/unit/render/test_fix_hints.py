"""Fix hints never suggest a value that is itself invalid or taken: applying the `pulumi config set` (or `rm`) a
problem's fix names clears that problem and brings no new one, and applying every fix at once leaves a config
that reads.

Configs start from the dev and ocp stacks and get the mistakes whose fixes must choose a free value: repeated
deployment names, names at and past the length limit, names deriving another's objects (`etl-rest` beside
`etl`), repeated or shared ServiceAccounts, namespaces that must differ, overlapping or malformed secret mounts,
repeated or bad REST clients and UI users, certificate lifetimes that contradict each other.
"""

import copy
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secure_flink.domain import names
from secure_flink.domain.tls_policy import CertificateLifetime, IssuancePolicy, KeyAlgorithm, KeySpec
from secure_flink.settings import ConfigError, MappingConfig, Problem, read_settings
from tests.conftest import stack_values

IMAGE = "flink:2.2.1-scala_2.12-java17"

# `pulumi config set [--secret] [--path] 'KEY' VALUE` or `pulumi config rm [--path] 'KEY'`.
COMMAND = re.compile(
    r"pulumi config (?P<op>set|rm)(?: --secret)?(?P<path> --path)? (?:'(?P<quoted>[^']+)'|(?P<bare>\S+))"
    r"(?: (?P<value>'[^']*'|[^\s,;()]+))?"
)
# A Pulumi property path: `name` up to the next '.' or '[', `[0]`, or `["quoted \\" name"]` (ParsePropertyPath).
SEGMENT = re.compile(r'\[(\d+)\]|\["((?:\\"|[^"])*)"\]|([^.\[]+)')


def commands(fix: str) -> list[tuple[str, str, bool, str | None]]:
    """(set or rm, key, whether --path, value) of each command of the fix's first alternative (`X, or Y`:
    X); none when a command holds a placeholder (`<address>`), which no test can fill in."""
    first = re.split(r", or | \(or ", fix)[0]
    found = []
    for match in COMMAND.finditer(first):
        value = match["value"] if match["op"] == "set" else None
        if (value is None and match["op"] == "set") or "<" in (value or ""):
            return []
        found.append((match["op"], match["quoted"] or match["bare"], bool(match["path"]), value and value.strip("'")))
    return found


def path_segments(path: str) -> list[str | int]:
    """`deployments[0].flinkConfiguration["high-availability.type"]` -> deployments, 0, flinkConfiguration,
    high-availability.type; as the CLI reads it (a backslash escapes nothing but a quote)."""
    return [
        int(index) if index else quoted.replace('\\"', '"') if quoted else bare
        for index, quoted, bare in SEGMENT.findall(path)
    ]


def typed(value: str | None, path: bool) -> object:
    """What the CLI stores: under --path, `true`, `false` and integers typed, all else (and top-level keys) strings."""
    if path and value in ("true", "false"):
        return value == "true"
    return int(value) if path and value is not None and re.fullmatch(r"-?[0-9]+", value) else value


def apply_command(values: dict[str, Any], op: str, key: str, path: bool, text: str | None) -> None:
    """What the Pulumi CLI does to the stack config."""
    segments, value = path_segments(key) if path else [key], typed(text, path)
    parent: Any = values
    for segment, following in zip(segments, segments[1:], strict=False):
        empty: Any = [] if isinstance(following, int) else {}
        if isinstance(parent, list):
            while len(parent) <= int(segment):
                parent.append(copy.copy(empty))
            if not isinstance(parent[int(segment)], (list, dict)):
                parent[int(segment)] = empty
        elif not isinstance(parent.get(segment), (list, dict)):
            parent[segment] = empty
        parent = parent[segment]
    last = segments[-1]
    if op == "rm":
        parent.pop(last, None)
    elif isinstance(parent, list) and last == len(parent):
        parent.append(value)
    else:
        parent[last] = value


def applied(values: dict[str, Any], *fixes: str) -> dict[str, Any]:
    result = copy.deepcopy(values)
    for fix in fixes:
        for command in commands(fix):
            apply_command(result, *command)
    return result


def problems(values: dict[str, Any]) -> list[Problem]:
    try:
        read_settings(MappingConfig(values))
    except ConfigError as error:
        return error.problems
    return []


def assert_fixes_work(values: dict[str, Any]) -> None:
    """Each problem's fix, applied alone, clears its key and brings no problem under a key that had none; all
    fixes applied together (when every problem has one) leave a config that reads."""
    before = problems(values)
    before_keys = {p.key for p in before}
    applicable = [p for p in before if commands(p.fix)]
    for problem in applicable:
        after = problems(applied(values, problem.fix))
        assert problem.key not in {p.key for p in after}, f"{problem}\nstill: {[str(p) for p in after]}"
        new = [str(p) for p in after if p.key not in before_keys]
        assert not new, f"{problem}\nbrings: {new}"
    if applicable and len(applicable) == len(before):
        left = problems(applied(values, *(p.fix for p in before)))
        assert not left, f"every fix of {[str(p) for p in before]}\nleaves: {[str(p) for p in left]}"


DEPLOYMENT_NAMES = ["etl", "adhoc", "etl-2", "a" * 45, "a" * 43 + "-2", "a" * 46, "ETL", "Not_A_Label", "1etl", ""]
DERIVED = [
    "{}-rest",
    "{}-ui",
    "{}-api",
    "{}-taskmanager",
    "flink-config-{}",
    "pod-template-{}",
    "{}-cluster-config-map",
]
ACCOUNTS = ["default", "flink", "etl-flink", "etl-2-flink", "adhoc-flink", "shared", "x" * 64, None]
MOUNT_PATHS = [
    "/opt/flink/secrets/kafka",
    "/opt/flink/secrets/kafka-2",
    "/opt/flink/secrets/rest-tls/",
    "/opt/flink/log",
    "/opt/flink",
    "/etc/kafka",
    "/etc/kafka/",
    "/etc/kafka/ca",
    "//etc/kafka",
    "etc/kafka",
    "/",
]
SECRETS = ["kafka", "kafka-ca", "kafka-2", "Kafka", "k" * 57, "internal-tls"]
CLIENTS = ["ci", "ci", "ci-2", "CI-Bot", "ci-bot", "c" * 40, "c" * 41, ""]
USERS = ["admin", "admin", "admin-2", "a:b", "ci-bot", "", "x" * 65]
NAMESPACES = ["flink", "flink-operator", "ingress-nginx", "flink-2", "Flink", "o" * 64]
HOURS = [0, 1, 2, 100, 720, 721, 8760, 43800, 175200, 175201]


@st.composite
def deployment(draw: st.DrawFn, taken: list[str]) -> dict[str, Any]:
    if taken and draw(st.booleans()):
        other = draw(st.sampled_from(taken))
        name: Any = draw(st.sampled_from([other, *(pattern.format(other) for pattern in DERIVED)]))
    else:
        name = draw(st.sampled_from(DEPLOYMENT_NAMES))
    item: dict[str, Any] = {"name": name, "image": IMAGE, "mode": "standalone"}
    if draw(st.integers(0, 2)) == 0:
        item["serviceAccount"] = draw(st.sampled_from(ACCOUNTS))
    if draw(st.integers(0, 2)) == 0:
        secrets = draw(st.lists(st.sampled_from(SECRETS), min_size=1, max_size=3, unique=True))
        item["secretMounts"] = {secret: draw(st.sampled_from(MOUNT_PATHS)) for secret in secrets}
    return item


@st.composite
def bad_configs(draw: st.DrawFn) -> dict[str, Any]:
    values = stack_values(draw(st.sampled_from(["dev", "ocp"])))
    values["keyAlgorithm"] = "ECDSA"
    families = draw(
        st.lists(
            st.sampled_from(["deployments", "namespaces", "clients", "users", "hours", "mounts"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    if "deployments" in families:
        for _ in range(draw(st.integers(1, 3))):
            values["deployments"].append(draw(deployment([d["name"] for d in values["deployments"]])))
    if "mounts" in families:
        index = draw(st.integers(0, len(values["deployments"]) - 1))
        secrets = draw(st.lists(st.sampled_from(SECRETS), min_size=2, max_size=4, unique=True))
        values["deployments"][index]["secretMounts"] = {s: draw(st.sampled_from(MOUNT_PATHS)) for s in secrets}
    if "namespaces" in families:
        for key in draw(st.lists(st.sampled_from(["namespace", "operatorNamespace", "ingressControllerNamespace"]))):
            values[key] = draw(st.sampled_from(NAMESPACES))
    if "clients" in families:
        # Clients need a domain (their entry point's host): a requirement of their own, not of any fix.
        values["domain"] = values.get("domain") or "flink.example.com"
        values["restClients"] = [{"name": n} for n in draw(st.lists(st.sampled_from(CLIENTS), min_size=1, max_size=4))]
    if "users" in families:
        values["uiUsers"] = [{"name": n} for n in draw(st.lists(st.sampled_from(USERS), min_size=1, max_size=4))]
    if "hours" in families:
        for key in draw(st.lists(st.sampled_from(["caValidityHours", "certValidityHours", "certEarlyRenewalHours"]))):
            values[key] = draw(st.sampled_from(HOURS))
    return values


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bad_configs())
def test_a_fix_clears_its_problem_brings_none_and_all_fixes_together_leave_a_valid_config(values):
    assert_fixes_work(values)


def test_the_generator_makes_the_mistakes_whose_fixes_choose_a_value():
    """Control: the configs carry every kind of mistake the property is about, each with a fix it applies."""
    seen: set[str] = set()

    # Derandomized: a control must not hinge on the draw, and a fixed seed still fails when the generator
    # stops making a kind of mistake.
    @settings(max_examples=200, deadline=None, database=None, derandomize=True)
    @given(bad_configs())
    def record(values):
        for problem in problems(values):
            if commands(problem.fix):
                key = re.sub(r"\[\d+\]", "", problem.key)
                seen.add("secretMounts" if ".secretMounts." in key else key)

    record()
    expected = {
        "deployments.name",
        "deployments.serviceAccount",
        "secretMounts",
        "namespace",
        "operatorNamespace",
        "ingressControllerNamespace",
        "restClients.name",
        "uiUsers.name",
        "caValidityHours",
        "certValidityHours",
        "certEarlyRenewalHours",
    }
    assert expected <= seen, expected - seen


# The negative control: each helper made to suggest a taken value (the repeated client, the repeated
# deployment name, Flink's own namespace for the operator's), and the property catches it.
TAKEN_CASES = [
    (
        "free_client_name",
        lambda name, taken: str(name),
        {"domain": "flink.example.com", "restClients": [{"name": "ci"}, {"name": "ci"}]},
    ),
    (
        "free_deployment_name",
        lambda base, taken, accounts=(): base,
        {"deployments": [{"name": "etl", "image": IMAGE}, {"name": "etl", "image": IMAGE}]},
    ),
    ("free_label", lambda base, taken, max_length=63: min(taken), {"operatorNamespace": "flink"}),
]


@pytest.mark.parametrize("helper, taken_value, overrides", TAKEN_CASES, ids=[case[0] for case in TAKEN_CASES])
def test_a_hint_that_suggests_a_taken_value_is_caught(monkeypatch, helper, taken_value, overrides):
    values = {**stack_values("dev"), **overrides}
    assert_fixes_work(values)
    monkeypatch.setattr(names, helper, taken_value)
    with pytest.raises(AssertionError, match="still: "):
        assert_fixes_work(values)


def test_commands_are_read_back_as_the_cli_applies_them():
    values: dict[str, Any] = {"deployments": [{"name": "etl", "secretMounts": {"Kafka": "/x"}}], "namespace": "a"}
    fix = (
        "copy the Secret: pulumi config rm --path 'deployments[0].secretMounts.Kafka' && "
        "pulumi config set --path 'deployments[0].secretMounts.kafka' /opt/flink/secrets/kafka"
    )
    assert applied(values, fix)["deployments"][0]["secretMounts"] == {"kafka": "/opt/flink/secrets/kafka"}
    ha = """pulumi config set --path 'deployments[0].flinkConfiguration["high-availability.type"]' kubernetes"""
    assert applied(values, ha)["deployments"][0]["flinkConfiguration"] == {"high-availability.type": "kubernetes"}
    # A backslash escapes no '.': the CLI would nest a map under `high-availability\`.
    escaped = "pulumi config set --path 'deployments[0].flinkConfiguration.high-availability\\.type' kubernetes"
    configuration = applied(values, escaped)["deployments"][0]["flinkConfiguration"]
    assert configuration == {"high-availability\\": {"type": "kubernetes"}}
    assert applied(values, "pulumi config set --path 'deployments[0].job.parallelism' 2")["deployments"][0]["job"] == {
        "parallelism": 2
    }
    assert applied(values, "pulumi config set namespace flink-2, or something else")["namespace"] == "flink-2"
    assert applied(values, "pulumi config set --path 'deployments[1].name' etl-2 (unique)")["deployments"][1] == {
        "name": "etl-2"
    }
    assert commands("pulumi config set --path 'apiServerCidrs[0]' <address>/32") == []
    assert commands("give every user a unique name") == []


LIFETIMES = st.builds(
    CertificateLifetime,
    validity_hours=st.sampled_from([-1, 0, 1, 2, 100, 720, 8760, 43800, 175200, 175201]),
    early_renewal_hours=st.sampled_from([-1, 0, 1, 100, 720, 8760, 175199, 175200]),
)


@settings(max_examples=300, deadline=None)
@given(LIFETIMES, LIFETIMES)
def test_issuance_policy_lifetime_fixes_leave_no_lifetime_problem(ca, cert):
    def build(ca: CertificateLifetime, cert: CertificateLifetime) -> list[Problem]:
        try:
            IssuancePolicy(
                key=KeySpec(algorithm=KeyAlgorithm.ECDSA, ecdsa_curve="P256"),
                ca_lifetime=ca,
                cert_lifetime=cert,
                rotation="initial",
            )
        except ConfigError as error:
            return error.problems
        return []

    lifetimes = {"ca_lifetime": ca, "cert_lifetime": cert}
    before = build(ca, cert)
    every = dict(lifetimes)
    for problem in before:
        field = problem.key.split(".")[0]
        fixed = dict(lifetimes)
        for target, hours in re.findall(r"(?:(ca_lifetime)'s )?validity_hours=(\d+)", problem.fix):
            name = target or field
            fixed[name] = every[name] = CertificateLifetime(
                validity_hours=int(hours), early_renewal_hours=lifetimes[name].early_renewal_hours
            )
        if fixed == lifetimes:
            # No validity is above a renewal of 175200 or more: the fix says to lower the renewal.
            assert "early_renewal_hours below" in problem.fix and lifetimes[field].early_renewal_hours >= 175200
            continue
        after = build(fixed["ca_lifetime"], fixed["cert_lifetime"])
        assert problem.key not in {p.key for p in after}, (problem, after)
        assert {p.key for p in after} <= {p.key for p in before}, (problem, after)
    if all(lifetime.early_renewal_hours < 175200 for lifetime in lifetimes.values()):
        assert not build(every["ca_lifetime"], every["cert_lifetime"]), (before, every)
