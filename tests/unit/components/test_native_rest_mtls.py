"""Flink-native REST mTLS (`restAuthentication: mtls`, the default): the settings it writes, the identities it
hands out, and the trust each deployment keeps to itself. The fixture sets `adhoc` to mtls and `etl` to tls."""

import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.conftest import StackRunner

FLINK_DEPLOYMENT = "kubernetes:flink.apache.org/v1beta1:FlinkDeployment"
SECRET = "kubernetes:core/v1:Secret"
CLIENTS = [{"name": "ci-bot"}]
DOMAIN = "flink.example.com"


def with_mtls(values: dict, deployment: str = "adhoc") -> list[dict]:
    """`deployment` under REST mTLS, the others under REST TLS."""
    deployments = values["deployments"]
    for item in deployments:
        item["restAuthentication"] = "mtls" if item["name"] == deployment else "tls"
    return deployments


@pytest.fixture(scope="module", params=["dev", "ocp"])
def mtls(request):
    runner = StackRunner(request.param)
    return request.param, runner.up(deployments=with_mtls(runner.values), restClients=CLIENTS, domain=DOMAIN)


def one(result, name: str, type_: str):
    (match,) = [r for r in result.resources if r.name == name and r.type == type_]
    return match


def flink_conf(result, deployment: str) -> dict[str, str]:
    return one(result, deployment, FLINK_DEPLOYMENT).inputs["spec"]["flinkConfiguration"]


def rest_truststore(result, deployment: str) -> list[x509.Certificate]:
    conf = flink_conf(result, deployment)
    data = one(result, f"{deployment}-tls-rest", SECRET).inputs["data"]["truststore.p12"]
    store = pkcs12.load_pkcs12(base64.b64decode(data), conf["security.ssl.rest.truststore-password"].encode())
    return [c.certificate for c in store.additional_certs]


def pem_cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def test_only_the_mtls_deployment_requires_client_certificates(mtls):
    _, result = mtls
    assert flink_conf(result, "adhoc")["security.ssl.rest.authentication-enabled"] == "true"
    assert "security.ssl.rest.authentication-enabled" not in flink_conf(result, "etl")


def rest_ca(result, deployment: str) -> x509.Certificate:
    return pem_cert(result.outputs["restCaCertificates"][deployment])


def operator_ca(result) -> x509.Certificate:
    return pem_cert(
        one(result, "operator-client-ca-cert", "tls:index/selfSignedCert:SelfSignedCert").outputs["certPem"]
    )


def test_the_rest_truststore_holds_the_deployments_ca_the_operators_and_exactly_the_issued_clients(mtls):
    _, result = mtls
    issued = pem_cert(result.outputs["restClients"]["ci-bot"]["certificate"])
    assert rest_truststore(result, "adhoc") == [rest_ca(result, "adhoc"), operator_ca(result), issued]
    client_ca = pem_cert(result.outputs["restClientCaCertificate"])
    assert client_ca not in rest_truststore(result, "adhoc"), "the client CA would admit removed clients too"
    stack_ca = pem_cert(result.outputs["caCertificate"])
    assert stack_ca not in rest_truststore(result, "adhoc"), "the stack CA signs the proxies' server certificates"
    assert rest_truststore(result, "etl") == [rest_ca(result, "etl")], "the TLS-only deployment trusts its CA alone"


def test_every_deployment_has_a_rest_ca_of_its_own_that_signs_its_rest_certificate(mtls):
    _, result = mtls
    cas = {name: rest_ca(result, name) for name in ("etl", "adhoc")}
    assert len({ca.subject for ca in cas.values()} | {pem_cert(result.outputs["caCertificate"]).subject}) == 3
    for name, ca in cas.items():
        conf = flink_conf(result, name)
        data = one(result, f"{name}-tls-rest", SECRET).inputs["data"]["keystore.p12"]
        store = pkcs12.load_pkcs12(base64.b64decode(data), conf["security.ssl.rest.keystore-password"].encode())
        store.cert.certificate.verify_directly_issued_by(ca)


def test_the_rest_certificate_is_also_a_client_certificate_under_mtls(mtls):
    _, result = mtls
    conf = flink_conf(result, "adhoc")
    data = one(result, "adhoc-tls-rest", SECRET).inputs["data"]["keystore.p12"]
    store = pkcs12.load_pkcs12(base64.b64decode(data), conf["security.ssl.rest.keystore-password"].encode())
    usage = store.cert.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usage) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}


def test_the_ui_proxy_presents_its_identity_to_flink(mtls):
    _, result = mtls
    identity = one(result, "adhoc-ui-proxy-upstream-identity", SECRET).inputs["data"]
    leaf = x509.load_pem_x509_certificate(base64.b64decode(identity["tls.crt"]))
    leaf.verify_directly_issued_by(rest_ca(result, "adhoc"))
    conf = one(result, "adhoc-ui-proxy-config", "kubernetes:core/v1:ConfigMap").inputs["data"]["nginx.conf"]
    assert "proxy_ssl_certificate /etc/nginx/secure-flink/upstream/tls.crt;" in conf
    pod = one(result, "adhoc-ui-proxy-deployment", "kubernetes:apps/v1:Deployment").inputs["spec"]["template"]
    mounts = [m["mountPath"] for m in pod["spec"]["containers"][0]["volumeMounts"]]
    assert "/etc/nginx/secure-flink/upstream" in mounts
    etl_conf = one(result, "etl-ui-proxy-config", "kubernetes:core/v1:ConfigMap").inputs["data"]["nginx.conf"]
    assert "proxy_ssl_certificate" not in etl_conf


def test_the_operator_gets_a_keystore_with_its_client_certificate(mtls):
    _, result = mtls
    truststore = one(result, "operator-trust-truststore", SECRET)
    password = one(result, "operator-trust-password", "random:index/randomPassword:RandomPassword")
    store = pkcs12.load_pkcs12(
        base64.b64decode(truststore.inputs["data"]["keystore.jks"]), password.outputs["result"].encode()
    )
    operator = store.cert.certificate
    operator.verify_directly_issued_by(operator_ca(result))
    usage = operator.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    trusted = pkcs12.load_pkcs12(
        base64.b64decode(truststore.inputs["data"]["truststore.jks"]), password.outputs["result"].encode()
    )
    assert [c.certificate for c in trusted.additional_certs] == [rest_ca(result, "adhoc"), rest_ca(result, "etl")]


def test_the_rest_api_proxy_presents_its_identity_to_an_mtls_deployment():
    runner = StackRunner("dev")
    result = runner.up(deployments=with_mtls(runner.values), restClients=CLIENTS, domain=DOMAIN)
    secret = one(result, "adhoc-api-proxy-upstream-identity", SECRET)
    assert {"tls.crt", "tls.key", "ca.crt"} <= set(secret.inputs["data"])
    leaf = x509.load_pem_x509_certificate(base64.b64decode(secret.inputs["data"]["tls.crt"]))
    leaf.verify_directly_issued_by(rest_ca(result, "adhoc"))
    (config,) = [r for r in result.by_type("kubernetes:core/v1:ConfigMap") if r.name == "adhoc-api-proxy-config"]
    assert "proxy_ssl_certificate " in config.inputs["data"]["nginx.conf"]


def test_removing_a_client_takes_it_out_of_the_truststore():
    runner = StackRunner("ocp")
    deployments = with_mtls(runner.values)
    first = runner.up(deployments=deployments, restClients=[*CLIENTS, {"name": "alice"}], domain=DOMAIN)
    alice = pem_cert(first.outputs["restClients"]["alice"]["certificate"])
    assert alice in rest_truststore(first, "adhoc")
    second = runner.up(deployments=deployments, restClients=CLIENTS, domain=DOMAIN)
    assert alice not in rest_truststore(second, "adhoc")
    assert second.operations[one(second, "adhoc-tls-rest", SECRET).urn] == "replace"


def test_rest_authentication_defaults_to_mtls_and_says_so():
    from secure_flink.settings import MappingConfig, read_settings
    from tests.conftest import stack_values

    values = stack_values("dev")
    values["deployments"] = [{"name": "etl", "image": "flink:2.2.1-scala_2.12-java17", "mode": "standalone"}]
    (unset,) = read_settings(MappingConfig(values)).deployments
    assert unset.rest_authentication.value == "mtls" and not unset.rest_authentication_set
    values["deployments"][0]["restAuthentication"] = "tls"
    (chosen,) = read_settings(MappingConfig(values)).deployments
    assert chosen.rest_authentication.value == "tls" and chosen.rest_authentication_set
