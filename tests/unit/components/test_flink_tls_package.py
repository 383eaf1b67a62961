"""FlinkTLS, the component package's TLS for a FlinkDeployment a program writes itself: FlinkInternalTLS from plain
values and PEM strings, with the stack config's TLS keys and its refusals."""

import re

import pulumi
import pytest
import trustme
from cryptography import x509

from offline.engine import Engine, RunResult
from secure_flink.domain.problems import ConfigError
from secure_flink.package.flink_tls import FlinkTLS, FlinkTLSArgs
from tests.conftest import PROJECT, PROJECT_DIR

OPERATOR_CA = trustme.CA().cert_pem.bytes().decode()


def built(args: FlinkTLSArgs, engine: Engine | None = None) -> RunResult:
    engine = engine or Engine(PROJECT_DIR, PROJECT, "package")

    def program() -> None:
        FlinkTLS("etl", args)

    return engine.run_program(program)


def test_with_only_a_name_and_namespace_it_issues_the_stack_defaults() -> None:
    result = built({"deployment_name": "etl", "namespace": "analytics"})
    (top,) = [r for r in result.resources if r.parent == result.stack_urn]
    assert top.type == "secureflink:index:FlinkTLS"
    (inner,) = [r for r in result.resources if r.parent == top.urn]
    assert inner.type == "secureflink:index:FlinkInternalTLS" and inner.name == "etl-tls"
    keys = [r for r in result.by_type("tls:index/privateKey:PrivateKey")]
    # The stack's defaults (Pulumi.yaml): RSA 3072.
    assert keys and {(k.inputs["algorithm"], k.inputs["rsaBits"]) for k in keys} == {("RSA", 3072)}
    secrets = {r.name for r in result.by_type("kubernetes:core/v1:Secret")}
    assert secrets == {"etl-tls-passwords", "etl-tls-internal", "etl-tls-rest"}
    assert {r.inputs["metadata"]["namespace"] for r in result.by_type("kubernetes:core/v1:Secret")} == {"analytics"}


def test_tls_keys_and_rest_callers_shape_what_it_issues_and_what_flink_is_told() -> None:
    engine = Engine(PROJECT_DIR, PROJECT, "package")

    def program() -> None:
        tls = FlinkTLS(
            "etl",
            {
                "deployment_name": "etl",
                "namespace": "analytics",
                "key_algorithm": "ECDSA",
                "ecdsa_curve": "P384",
                # Pulumi hands numbers over as floats.
                "cert_validity_hours": 2160.0,  # type: ignore[typeddict-item]
                "rest_client_identities": ["ci-deployer"],
                "rest_caller_ca_certificates": [OPERATOR_CA],
            },
        )
        pulumi.export("configuration", tls.flink_configuration)
        pulumi.export("certificates", tls.rest_client_certificates)
        pulumi.export("keys", tls.rest_client_private_keys)
        pulumi.export("restCa", tls.rest_ca_certificate)

    result = engine.run_program(program)
    assert {k.inputs["ecdsaCurve"] for k in result.by_type("tls:index/privateKey:PrivateKey")} == {"P384"}
    signed = {r.inputs["validityPeriodHours"] for r in result.by_type("tls:index/locallySignedCert:LocallySignedCert")}
    assert signed == {2160}
    configuration = result.outputs["configuration"]
    assert configuration["security.ssl.rest.authentication-enabled"] == "true"
    assert configuration["security.ssl.protocol"] == "TLSv1.3"
    assert {"configuration", "keys"} <= result.secret_outputs and "certificates" not in result.secret_outputs
    (client,) = result.outputs["certificates"].values()
    issuer = x509.load_pem_x509_certificate(result.outputs["restCa"].encode()).subject
    assert x509.load_pem_x509_certificate(client.encode()).issuer == issuer
    assert set(result.outputs["keys"]) == {"ci-deployer"}
    (stores,) = [r for r in result.resources if r.name == "etl-tls-rest-stores"]
    trusted = [c["pem"] for store in stores.inputs["stores"].values() for c in store.get("certificates", [])]
    assert OPERATOR_CA in trusted


def test_rest_tls_without_client_certificates_is_told_to_flink() -> None:
    def program() -> None:
        tls = FlinkTLS("etl", {"deployment_name": "etl", "namespace": "analytics", "rest_authentication": "tls"})
        pulumi.export("configuration", tls.flink_configuration)

    result = Engine(PROJECT_DIR, PROJECT, "package").run_program(program)
    configuration = result.outputs["configuration"]
    assert configuration["security.ssl.rest.enabled"] == "true"
    assert configuration.get("security.ssl.rest.authentication-enabled", "false") == "false"


def test_every_bad_argument_is_refused_in_one_report_in_the_packages_terms_before_anything_registers() -> None:
    engine = Engine(PROJECT_DIR, PROJECT, "package")
    args: FlinkTLSArgs = {
        "deployment_name": "ETL_1",
        "namespace": "analytics",
        "rsa_bits": 1024,
        "rest_authentication": "none",
        "rest_client_identities": ["ci", "ci"],
    }
    with pytest.raises(ConfigError) as refused:
        built(args, engine)
    report = str(refused.value)
    assert report.startswith("invalid FlinkTLS arguments:")
    assert 'FlinkTLS.rsaBits = "1024": must be one of 2048, 3072, 4096. Fix: set rsaBits: 3072' in report
    assert re.search(r'FlinkTLS\.deploymentName = "ETL_1": .*Fix: set deploymentName: \'etl\'', report), report
    assert 'FlinkTLS.restAuthentication = "none": must be one of tls, mtls. Fix: set restAuthentication: mtls' in report
    assert "FlinkTLS.restClientIdentities[1]" in report
    assert engine.state == {}


def test_good_arguments_of_the_same_shape_are_accepted() -> None:
    """Control for the refusal above: the same arguments, each made valid, build."""
    result = built(
        {
            "deployment_name": "etl-1",
            "namespace": "analytics",
            "rsa_bits": 2048,
            "rest_authentication": "mtls",
            "rest_client_identities": ["ci"],
        }
    )
    assert result.by_type("kubernetes:core/v1:Secret")
