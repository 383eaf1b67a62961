"""The resource graph the program registers (Pulumi mocks, via the offline engine): types, parents, names, secrecy."""

import base64

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID

from offline.engine import RunResult
from secure_flink.domain import names
from tests.conftest import StackRunner

JAVA_STORES = "pulumi-python:dynamic:JavaStores"
FLINK_DEPLOYMENT = "kubernetes:flink.apache.org/v1beta1:FlinkDeployment"
SECRET = "kubernetes:core/v1:Secret"


def one(result: RunResult, name: str, custom: bool = True):
    (match,) = [r for r in result.resources if r.name == name and r.custom == custom]
    return match


def children(result: RunResult, parent_name: str) -> dict[str, str]:
    parent = one(result, parent_name, custom=False)
    return {r.name: r.type for r in result.resources if r.parent == parent.urn}


def test_each_deployment_gets_its_own_tls_component_and_custom_resource(dev):
    components = {(r.type, r.name) for r in dev.resources if not r.custom}
    assert components == {
        ("secureflink:index:SecureFlinkPlatform", "secure-flink"),
        ("secureflink:index:CertificateAuthority", "stack-ca"),
        ("secureflink:index:CertificateAuthority", "operator-client-ca"),
        ("secureflink:index:CertificateAuthority", "etl-tls-rest-ca"),
        ("secureflink:index:CertificateAuthority", "adhoc-tls-rest-ca"),
        ("secureflink:index:NetworkBaseline", "network-baseline"),
        ("secureflink:index:FlinkOperatorTrust", "operator-trust"),
        ("secureflink:index:FlinkInternalTLS", "etl-tls"),
        ("secureflink:index:FlinkInternalTLS", "adhoc-tls"),
        ("secureflink:index:SecureFlinkDeployment", "etl"),
        ("secureflink:index:SecureFlinkDeployment", "adhoc"),
        ("secureflink:index:SecureFlinkUI", "etl-ui"),
        ("secureflink:index:SecureFlinkUI", "adhoc-ui"),
        ("secureflink:index:FlinkRestProxy", "etl-ui-proxy"),
        ("secureflink:index:FlinkRestProxy", "adhoc-ui-proxy"),
    }
    (platform,) = [r for r in dev.resources if r.parent == dev.stack_urn]
    assert platform.name == "secure-flink"
    under_platform = {r.name for r in dev.resources if not r.custom and r.parent == platform.urn}
    nested = {"etl-ui-proxy", "adhoc-ui-proxy", "etl-tls-rest-ca", "adhoc-tls-rest-ca"}
    assert under_platform == {name for _, name in components} - nested - {"secure-flink"}


def test_flink_internal_tls_children_are_parented_and_named_from_it(dev):
    assert children(dev, "etl-tls") == {
        "etl-tls-internal-key": "tls:index/privateKey:PrivateKey",
        "etl-tls-internal-cert": "tls:index/selfSignedCert:SelfSignedCert",
        "etl-tls-rest-ca": "secureflink:index:CertificateAuthority",
        "etl-tls-rest-key": "tls:index/privateKey:PrivateKey",
        "etl-tls-rest-csr": "tls:index/certRequest:CertRequest",
        "etl-tls-rest-cert": "tls:index/locallySignedCert:LocallySignedCert",
        "etl-tls-rest-client-ui-proxy-key": "tls:index/privateKey:PrivateKey",
        "etl-tls-rest-client-ui-proxy-csr": "tls:index/certRequest:CertRequest",
        "etl-tls-rest-client-ui-proxy-cert": "tls:index/locallySignedCert:LocallySignedCert",
        "etl-tls-internal-password": "random:index/randomPassword:RandomPassword",
        "etl-tls-rest-password": "random:index/randomPassword:RandomPassword",
        "etl-tls-internal-stores": JAVA_STORES,
        "etl-tls-rest-stores": JAVA_STORES,
        "etl-tls-internal": SECRET,
        "etl-tls-rest": SECRET,
        "etl-tls-passwords": SECRET,
    }
    assert children(dev, "etl") == {
        "etl": FLINK_DEPLOYMENT,
        "etl-service-account": "kubernetes:core/v1:ServiceAccount",
        "etl-role": "kubernetes:rbac.authorization.k8s.io/v1:Role",
        "etl-role-binding": "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
        "etl-pods": "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "etl-jobmanager": "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    }
    assert all(r.parent for r in dev.resources if r.custom), "every resource belongs to a component"


def test_key_material_and_passwords_are_requested_secret(dev):
    for registration in dev.resources:
        if registration.type == "tls:index/privateKey:PrivateKey":
            assert {"privateKeyPem", "privateKeyPemPkcs8"} <= registration.requested_secret_outputs
        if registration.type == "random:index/randomPassword:RandomPassword":
            assert "result" in registration.requested_secret_outputs
        if registration.type == SECRET:
            payload = {"data", "stringData"} & set(registration.inputs)
            assert payload and payload <= registration.secret_inputs, registration.name


def test_flink_deployment_spec_and_status_are_secret(dev):
    flink = one(dev, "etl")
    assert flink.type == FLINK_DEPLOYMENT
    assert "spec" in flink.secret_inputs, "the spec holds keystore passwords"
    assert "status" in flink.requested_secret_outputs, "the operator copies the spec into status"


def test_ca_certificate_is_a_public_output_and_nothing_else_leaks(dev):
    assert "caCertificate" not in dev.secret_outputs
    ca = x509.load_pem_x509_certificate(dev.outputs["caCertificate"].encode())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert dev.outputs["restEndpoints"] == {
        "etl": "https://etl-rest.flink.svc.cluster.local:8081",
        "adhoc": "https://adhoc-rest.flink.svc.cluster.local:8081",
    }


def test_flink_configuration_merges_tls_fragment_user_options_and_mounts(dev):
    spec = next(r for r in dev.by_type(FLINK_DEPLOYMENT) if r.name == "etl").inputs["spec"]
    conf = spec["flinkConfiguration"]
    assert conf["security.ssl.internal.enabled"] == conf["security.ssl.rest.enabled"] == "true"
    assert "security.ssl.enabled" not in conf
    assert conf["taskmanager.numberOfTaskSlots"] == "2"
    assert conf["web.submit.enable"] == "false", "application clusters take no jar uploads"
    assert conf["security.ssl.internal.keystore-password"] == conf["security.ssl.internal.key-password"]
    secrets = {r.name: r.outputs["metadata"]["name"] for r in dev.by_type(SECRET)}
    assert conf["kubernetes.secrets"] == names.secret_mount_list(
        {secrets["etl-tls-internal"]: names.INTERNAL_TLS_MOUNT, secrets["etl-tls-rest"]: names.REST_TLS_MOUNT}
    )
    session = next(r for r in dev.by_type(FLINK_DEPLOYMENT) if r.name == "adhoc").inputs["spec"]
    assert "web.submit.enable" not in session["flinkConfiguration"], "session clusters need jar upload"
    assert "job" not in session


def test_flink_deployment_is_awaited_until_ready(dev):
    flink = next(r for r in dev.by_type(FLINK_DEPLOYMENT) if r.name == "etl")
    metadata = flink.inputs["metadata"]
    assert metadata["name"] == "etl" and metadata["namespace"] == "flink"
    assert metadata["annotations"]["pulumi.com/waitFor"] == "jsonpath={.status.jobManagerDeploymentStatus}=READY"


def _store(secret, file: str, password: str) -> tuple:
    data = base64.b64decode(secret.inputs["data"][file])
    return pkcs12.load_pkcs12(data, password.encode())


def _passwords(result: RunResult, component: str) -> tuple[str, str]:
    return (
        one(result, f"{component}-internal-password").outputs["result"],
        one(result, f"{component}-rest-password").outputs["result"],
    )


def test_internal_truststore_trusts_only_its_own_deployment(dev):
    stores = {}
    for deployment in ("etl", "adhoc"):
        internal_password, _ = _passwords(dev, f"{deployment}-tls")
        secret = one(dev, f"{deployment}-tls-internal")
        keystore = _store(secret, names.KEYSTORE_FILE, internal_password)
        truststore = _store(secret, names.TRUSTSTORE_FILE, internal_password)
        stores[deployment] = (keystore.cert.certificate, [c.certificate for c in truststore.additional_certs])
    for own_cert, trusted in stores.values():
        assert trusted == [own_cert]
    assert stores["etl"][0] != stores["adhoc"][0]


def test_rest_certificate_is_signed_by_the_deployments_rest_ca_for_every_service_name(dev):
    _, rest_password = _passwords(dev, "etl-tls")
    keystore = _store(one(dev, "etl-tls-rest"), names.KEYSTORE_FILE, rest_password)
    leaf = keystore.cert.certificate
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert sans == names.rest_dns_names("etl", "flink")
    # Under REST mTLS (the dev stack's) the pods' CLI presents it as its client certificate too.
    assert leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    ca = x509.load_pem_x509_certificate(dev.outputs["restCaCertificates"]["etl"].encode())
    leaf.verify_directly_issued_by(ca)
    assert [c.certificate for c in keystore.additional_certs] == [ca], "the chain is served with the leaf"


def test_operator_trust_lands_where_the_helm_chart_mounts_it(dev):
    truststore = one(dev, "operator-trust-truststore")
    assert truststore.inputs["metadata"]["name"] == "flink-operator-cert"
    assert truststore.inputs["metadata"]["namespace"] == "flink-operator"
    password = one(dev, "operator-trust-password")
    assert password.type == "random:index/randomPassword:RandomPassword"
    secret = one(dev, "operator-trust-password-secret")
    assert secret.inputs["metadata"]["name"] == "operator-certificate-password"
    store = pkcs12.load_pkcs12(
        base64.b64decode(truststore.inputs["data"]["truststore.jks"]), password.outputs["result"].encode()
    )
    rest_cas = [x509.load_pem_x509_certificate(dev.outputs["restCaCertificates"][d].encode()) for d in ("adhoc", "etl")]
    assert [c.certificate for c in store.additional_certs] == rest_cas


def test_openshift_stack_builds_the_same_graph_with_routes_for_ingresses():
    ocp = StackRunner("ocp").up()
    assert ocp.outputs["platform"] == "openshift"
    assert len(ocp.by_type(FLINK_DEPLOYMENT)) == 2
    exposure = {"kubernetes:route.openshift.io/v1:Route", "kubernetes:networking.k8s.io/v1:Ingress"}
    dev_types = {r.type for r in StackRunner("dev").up().resources}
    assert {r.type for r in ocp.resources} - exposure == dev_types - exposure
    assert "kubernetes:route.openshift.io/v1:Route" in {r.type for r in ocp.resources}


def test_ecdsa_keys_bring_ecdsa_cipher_suites():
    result = StackRunner("dev").up(keyAlgorithm="ECDSA", tlsProtocol="TLSv1.2")
    key = one(result, "etl-tls-rest-key")
    assert key.inputs["algorithm"] == "ECDSA" and key.inputs["ecdsaCurve"] == "P256"
    conf = next(r for r in result.by_type(FLINK_DEPLOYMENT) if r.name == "etl").inputs["spec"]["flinkConfiguration"]
    assert conf["security.ssl.algorithms"] == (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
    )
    assert conf["security.ssl.protocol"] == "TLSv1.2"
