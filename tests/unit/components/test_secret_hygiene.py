"""No secret travels in plain text: every private key, password, keystore and htpasswd is marked secret
wherever it appears (resource inputs, resource outputs, stack outputs), and none sits in a ConfigMap."""

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from offline.engine import RunResult
from tests.conftest import OIDC, StackRunner

VARIANTS = {
    "dev": ("dev", {}),
    "ocp": ("ocp", {}),
    "dev-rest-clients-mtls": (
        "dev",
        {"restClients": [{"name": "ci-bot"}], "domain": "flink.example.com", "deployments": "mtls"},
    ),
    "ocp-rest-clients-mtls": ("ocp", {"restClients": [{"name": "ci-bot"}], "deployments": "mtls"}),
    "dev-oidc": ("dev", OIDC),
}
# What a generator of secrets hands out: these values must be secret wherever they are copied to.
SECRET_SOURCES = {
    "tls:index/privateKey:PrivateKey": ("privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"),
    "random:index/randomPassword:RandomPassword": ("result", "bcryptHash"),
}


@pytest.fixture(scope="module", params=list(VARIANTS))
def stack(request) -> RunResult:
    name, overrides = VARIANTS[request.param]
    runner = StackRunner(name)
    if overrides.get("deployments") == "mtls":
        overrides = {
            **overrides,
            "deployments": [{**d, "restAuthentication": "mtls"} for d in runner.values["deployments"]],
        }
    return runner.up(**overrides)


def secret_values(result: RunResult) -> set[str]:
    """What the stack generated, and what the config set as secret (the OIDC client secret)."""
    values = {OIDC["oidcClientSecret"]}
    for registration in result.resources:
        for key in SECRET_SOURCES.get(registration.type, ()):
            value = registration.outputs.get(key)
            if isinstance(value, str) and value:
                values.add(value.strip())
    return values


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
        try:  # Secret `data` and other base64 payloads hide what they carry
            yield base64.b64decode(value, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            pass
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def leaks(value: Any, secrets: set[str]) -> list[str]:
    found = []
    for text in strings(value):
        if "PRIVATE KEY-----" in text:
            found.append("a PEM private key")
        found += [f"a secret value ({secret[:4]}…)" for secret in secrets if secret in text]
    return found


def test_resource_inputs_carrying_secrets_are_marked_secret(stack):
    secrets = secret_values(stack)
    assert secrets, "negative control: the stack generates secrets"
    problems = {}
    for registration in stack.resources:
        for key, value in registration.inputs.items():
            if key not in registration.secret_inputs and (found := leaks(value, secrets)):
                problems[f"{registration.type} {registration.name} input {key}"] = found
    assert problems == {}


def test_resource_outputs_carrying_secrets_are_marked_secret(stack):
    secrets = secret_values(stack)
    problems = {}
    for registration in stack.resources:
        for key, value in registration.outputs.items():
            if key not in registration.secret_outputs and (found := leaks(value, secrets)):
                problems[f"{registration.type} {registration.name} output {key}"] = found
    assert problems == {}


def test_stack_outputs_carrying_secrets_are_marked_secret(stack):
    secrets = secret_values(stack)
    problems = {
        name: leaks(value, secrets)
        for name, value in stack.outputs.items()
        if name not in stack.secret_outputs and leaks(value, secrets)
    }
    assert problems == {}


def test_no_key_material_or_password_sits_in_a_config_map(stack):
    secrets = secret_values(stack)
    for config_map in stack.by_type("kubernetes:core/v1:ConfigMap"):
        assert leaks(config_map.inputs.get("data"), secrets) == [], config_map.name
        assert "{SSHA}" not in str(config_map.inputs), "htpasswd belongs in a Secret"


def test_the_detector_finds_an_unmarked_private_key():
    # Negative control: the same walk over a planted leak reports it.
    secrets = {"s3cr3t-value-for-the-control"}
    planted = {
        "data": {"k": base64.b64encode(b"-----BEGIN PRIVATE KEY-----\n...").decode()},
        "note": "password: s3cr3t-value-for-the-control",
    }
    assert leaks(planted, secrets) == ["a PEM private key", "a secret value (s3cr…)"]
