"""RestClientCertificates: a dedicated client CA, client-auth-only certificates, and what removing a client changes."""

import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.conftest import StackRunner

CLIENTS = [{"name": "ci-bot"}, {"name": "alice-laptop"}]


@pytest.fixture(scope="module")
def issued():
    runner = StackRunner("dev")
    return runner, runner.up(restClients=CLIENTS)


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
    first = runner.up(restClients=CLIENTS)
    added = runner.up(restClients=[*CLIENTS, {"name": "release-bot"}])
    changed = {r.name for r in added.resources if r.urn in added.changes()}
    assert changed and all("release-bot" in name for name in changed), changed
    assert added.outputs["restClients"]["ci-bot"] == first.outputs["restClients"]["ci-bot"]
    removed = runner.up(restClients=[{"name": "ci-bot"}])
    assert {r.name for r in removed.deleted} >= {"rest-clients-alice-laptop-cert", "rest-clients-release-bot-cert"}
    assert all("ci-bot" not in r.name for r in removed.deleted)
    assert set(removed.outputs["restClientFingerprints"]) == {"ci-bot"}


def test_a_re_added_client_is_a_new_identity():
    runner = StackRunner("dev")
    first = runner.up(restClients=CLIENTS)
    runner.up(restClients=[{"name": "ci-bot"}])
    again = runner.up(restClients=CLIENTS)
    before, after = certificate(first, "alice-laptop"), certificate(again, "alice-laptop")
    assert before.subject != after.subject, "the old certificate's CN must not match the new allow-list"


def test_no_clients_no_client_ca():
    result = StackRunner("dev").up()
    assert "restClients" not in result.outputs
    assert not [r for r in result.resources if r.type == "secureflink:index:RestClientCertificates"]
