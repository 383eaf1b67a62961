"""RestClientCertificates: a dedicated client CA, client-auth-only certificates, and what removing a client changes."""

import base64
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.conftest import StackRunner

CLIENTS = [{"name": "ci-bot"}, {"name": "alice-laptop"}]
# On Kubernetes, clients come with a RestMTLSIngress, whose host needs a domain.
DOMAIN = "flink.example.com"


@pytest.fixture(scope="module")
def issued():
    runner = StackRunner("dev")
    return runner, runner.up(restClients=CLIENTS, domain=DOMAIN)


def certificate(result, client: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(result.outputs["restClients"][client]["certificate"].encode())


def test_each_client_gets_a_client_auth_only_certificate_from_a_dedicated_ca(issued):
    _, result = issued
    client_ca = x509.load_pem_x509_certificate(result.outputs["restClientCaCertificate"].encode())
    stack_ca = x509.load_pem_x509_certificate(result.outputs["caCertificate"].encode())
    assert client_ca.subject != stack_ca.subject and client_ca.public_key() != stack_ca.public_key()
    for client in ("ci-bot", "alice-laptop"):
        cert = certificate(result, client)
        cert.verify_directly_issued_by(client_ca)
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
        common_name = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        assert common_name.startswith(f"{client}.") and len(common_name) == len(client) + 9
        with pytest.raises(x509.ExtensionNotFound):
            cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)


def test_bundles_are_secret_and_the_pkcs12_opens_with_its_password(issued):
    _, result = issued
    assert "restClients" in result.secret_outputs
    assert {"restClientCaCertificate", "restClientFingerprints"}.isdisjoint(result.secret_outputs)
    bundle = result.outputs["restClients"]["ci-bot"]
    store = pkcs12.load_pkcs12(base64.b64decode(bundle["pkcs12"]), bundle["pkcs12Password"].encode())
    assert store.cert.certificate == certificate(result, "ci-bot")
    with pytest.raises(ValueError):
        pkcs12.load_pkcs12(base64.b64decode(bundle["pkcs12"]), b"wrong password")


def test_fingerprints_are_what_nginx_compares(issued):
    from cryptography.hazmat.primitives import hashes

    _, result = issued
    fingerprints = result.outputs["restClientFingerprints"]
    assert fingerprints["ci-bot"] == certificate(result, "ci-bot").fingerprint(hashes.SHA1()).hex()
    assert len(set(fingerprints.values())) == 2


def test_adding_a_client_issues_only_that_certificate_and_removing_one_deletes_only_it():
    runner = StackRunner("dev")
    first = runner.up(restClients=CLIENTS, domain=DOMAIN)
    added = runner.up(restClients=[*CLIENTS, {"name": "release-bot"}], domain=DOMAIN)
    changed = {r.name: added.operations[r.urn] for r in added.resources if r.urn in added.changes()}
    issued = {name for name, op in changed.items() if op == "create"}
    assert issued and all("release-bot" in name for name in issued), changed
    # Besides the new client's own resources, only the allow-lists change: the Ingresses' CNs, the proxies' roles
    # (a new ConfigMap their pods roll to), and under REST mTLS (the dev stack's) Flink's REST truststores, whose
    # new Secrets the FlinkDeployments mount.
    assert {name: op for name, op in changed.items() if name not in issued} == {
        "etl-api-proxy-ingress": "update",
        "adhoc-api-proxy-ingress": "update",
        "etl-api-proxy-config": "replace",
        "adhoc-api-proxy-config": "replace",
        "etl-api-proxy-deployment": "update",
        "adhoc-api-proxy-deployment": "update",
        "etl-tls-rest-stores": "replace",
        "adhoc-tls-rest-stores": "replace",
        "etl-tls-rest": "replace",
        "adhoc-tls-rest": "replace",
        "etl": "update",
        "adhoc": "update",
    }
    assert added.outputs["restClients"]["ci-bot"] == first.outputs["restClients"]["ci-bot"]
    removed = runner.up(restClients=[{"name": "ci-bot"}], domain=DOMAIN)
    assert {r.name for r in removed.deleted} >= {"rest-clients-alice-laptop-cert", "rest-clients-release-bot-cert"}
    assert all("ci-bot" not in r.name for r in removed.deleted)
    assert set(removed.outputs["restClientFingerprints"]) == {"ci-bot"}


def test_a_re_added_client_is_a_new_identity():
    runner = StackRunner("dev")
    first = runner.up(restClients=CLIENTS, domain=DOMAIN)
    runner.up(restClients=[{"name": "ci-bot"}], domain=DOMAIN)
    again = runner.up(restClients=CLIENTS, domain=DOMAIN)
    before, after = certificate(first, "alice-laptop"), certificate(again, "alice-laptop")
    assert before.subject != after.subject, "the old certificate's CN must not match the new allow-list"


def test_no_clients_no_client_ca():
    result = StackRunner("dev").up()
    assert "restClients" not in result.outputs
    assert not [r for r in result.resources if r.type == "secureflink:index:RestClientCertificates"]


INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"


@pytest.fixture(scope="module")
def exposed():
    return StackRunner("dev").up(restClients=CLIENTS, domain=DOMAIN)


def test_kubernetes_exposes_rest_to_certificate_holders_through_ingress_nginx_and_the_role_proxy(exposed):
    (ingress,) = [r for r in exposed.by_type(INGRESS) if r.name == "etl-api-proxy-ingress"]
    annotations = ingress.inputs["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    assert annotations[prefix + "auth-tls-verify-client"] == "on"
    assert annotations[prefix + "proxy-ssl-verify"] == "on"
    assert annotations[prefix + "proxy-ssl-name"] == "etl-api.flink.svc"
    secrets = {r.outputs["metadata"]["name"]: r for r in exposed.by_type("kubernetes:core/v1:Secret")}
    client_ca = secrets[annotations[prefix + "auth-tls-secret"].split("/")[1]]
    assert base64.b64decode(client_ca.inputs["data"]["ca.crt"]).decode() == exposed.outputs["restClientCaCertificate"]
    # The controller verifies the proxy with the stack CA and presents its own certificate, which the proxy pins.
    identity = secrets[annotations[prefix + "proxy-ssl-secret"].split("/")[1]]
    assert base64.b64decode(identity.inputs["data"]["ca.crt"]).decode() == exposed.outputs["caCertificate"]
    spec = ingress.inputs["spec"]
    assert spec["rules"][0]["host"] == "etl-api.flink.example.com" and spec["tls"][0]["hosts"] == [
        "etl-api.flink.example.com"
    ]
    assert spec["rules"][0]["http"]["paths"][0]["backend"]["service"] == {"name": "etl-api", "port": {"name": "https"}}
    assert exposed.outputs["restUrls"]["etl"] == "https://etl-api.flink.example.com/"


def test_behind_the_controller_the_proxy_takes_the_caller_from_the_subject_the_controller_names(exposed):
    (config,) = [r for r in exposed.by_type("kubernetes:core/v1:ConfigMap") if r.name == "etl-api-proxy-config"]
    conf = config.inputs["data"]["nginx.conf"]
    assert "map $http_ssl_client_subject_dn $caller_role" in conf
    for client in ("ci-bot", "alice-laptop"):
        dn = certificate(exposed, client).subject.rfc4514_string()
        (line,) = [
            line for line in conf.splitlines() if line.strip().startswith('"~^CN=') and client.split("-")[0] in line
        ]
        assert re.fullmatch(line.strip().split('"')[1][1:], dn), (line, dn)
        assert line.strip().endswith(" viewer;"), "no role given: the default"
    assert "auth_basic" not in conf


def test_the_cn_allow_list_holds_exactly_the_issued_clients(exposed):
    (ingress,) = [r for r in exposed.by_type(INGRESS) if r.name == "etl-api-proxy-ingress"]
    pattern = ingress.inputs["metadata"]["annotations"]["nginx.ingress.kubernetes.io/auth-tls-match-cn"]
    for client in ("ci-bot", "alice-laptop"):
        dn = certificate(exposed, client).subject.rfc4514_string()
        assert re.search(pattern, dn), dn
    assert not re.search(pattern, "CN=ci-bot.00000000,O=secure-flink"), "a retired issuance of the same name"


def test_the_rest_port_admits_the_api_proxy_never_the_ingress_controller(exposed):
    (policy,) = [
        r for r in exposed.by_type("kubernetes:networking.k8s.io/v1:NetworkPolicy") if r.name == "etl-jobmanager"
    ]
    rule = next(r for r in policy.inputs["spec"]["ingress"] if r.get("ports"))
    namespaces = [
        p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for p in rule["from"]
        if "namespaceSelector" in p
    ]
    roles = [p["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for p in rule["from"] if "podSelector" in p]
    assert namespaces == ["flink-operator"] and roles == ["ui-proxy", "api-proxy"]


def test_rest_clients_on_kubernetes_need_a_domain_for_the_ingress_host():
    from secure_flink.settings import ConfigError

    with pytest.raises(ConfigError, match="domain"):
        StackRunner("dev").up(restClients=CLIENTS)


@pytest.fixture(scope="module")
def openshift():
    return StackRunner("ocp").up(restClients=CLIENTS)


def test_openshift_serves_rest_through_a_client_certificate_proxy_behind_a_passthrough_route(openshift):
    (route,) = [
        r for r in openshift.by_type("kubernetes:route.openshift.io/v1:Route") if r.name == "etl-api-proxy-route"
    ]
    assert route.inputs["spec"]["tls"]["termination"] == "passthrough"
    assert route.inputs["spec"]["host"] == "etl-api.flink.apps.ocp.example.com"
    (config,) = [r for r in openshift.by_type("kubernetes:core/v1:ConfigMap") if r.name == "etl-api-proxy-config"]
    conf = config.inputs["data"]["nginx.conf"]
    assert "ssl_verify_client optional;" in conf and "auth_basic" not in conf
    for fingerprint in openshift.outputs["restClientFingerprints"].values():
        assert f"{fingerprint} 1;" in conf
    assert config.inputs["data"]["client-ca.crt"] == openshift.outputs["restClientCaCertificate"]
    assert not [r for r in openshift.resources if r.name == "etl-api-proxy-htpasswd"]
    assert openshift.outputs["restUrls"]["etl"] == "https://etl-api.flink.apps.ocp.example.com/"


def test_openshift_rest_port_admits_the_api_proxy_pods(openshift):
    (policy,) = [
        r for r in openshift.by_type("kubernetes:networking.k8s.io/v1:NetworkPolicy") if r.name == "etl-jobmanager"
    ]
    rule = next(r for r in policy.inputs["spec"]["ingress"] if r.get("ports"))
    roles = [p["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for p in rule["from"] if "podSelector" in p]
    assert roles == ["ui-proxy", "api-proxy"]
    (deployment,) = [
        r for r in openshift.by_type("kubernetes:apps/v1:Deployment") if r.name == "etl-api-proxy-deployment"
    ]
    assert deployment.inputs["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == "api-proxy"


def test_removing_a_client_takes_it_off_the_proxy_allow_list():
    runner = StackRunner("ocp")
    first = runner.up(restClients=CLIENTS)
    removed_fingerprint = first.outputs["restClientFingerprints"]["alice-laptop"]
    second = runner.up(restClients=[{"name": "ci-bot"}])
    (config,) = [r for r in second.by_type("kubernetes:core/v1:ConfigMap") if r.name == "etl-api-proxy-config"]
    assert removed_fingerprint not in config.inputs["data"]["nginx.conf"]
    assert second.operations[config.urn] == "replace", "a new ConfigMap name rolls the proxy pods"


def test_a_ready_curl_command_uses_the_exported_files(openshift):
    command = openshift.outputs["restCurl"]["etl"]
    assert "--cert ci-bot.crt --key ci-bot.key --cacert flink-ca.crt" in command
    assert "https://etl-api.flink.apps.ocp.example.com/jobs/" in command and "Writer" in command
    assert " -k" not in command and "--insecure" not in command
