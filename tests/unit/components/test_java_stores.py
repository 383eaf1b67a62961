"""The Java stores: what the store descriptions accept, what cryptography encodes from them, what Java, OpenSSL
and the JavaStores provider make of the result."""

from __future__ import annotations

import base64
import datetime
import json
import shutil
from dataclasses import dataclass

import pulumi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from secure_flink.components.java_stores import JavaStoresProvider, encode_store
from secure_flink.domain.java_stores import key_entry, trusted_entries
from tests.conftest import require_tool

JAVA_WHY = "checks that Java reads and uses the stores"

PASSWORD = "correct horse battery staple"
ALGORITHMS = ["rsa", "ec-p256"]


@dataclass(frozen=True)
class Pki:
    ca_key: object
    ca_cert: x509.Certificate
    leaf_key: object
    leaf_cert: x509.Certificate

    @property
    def ca_pem(self) -> str:
        return _cert_pem(self.ca_cert)

    @property
    def leaf_pem(self) -> str:
        return _cert_pem(self.leaf_cert)

    @property
    def leaf_key_pem(self) -> str:
        return self.leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ).decode()


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _new_key(algorithm: str):
    if algorithm == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _issue(subject_cn, public_key, issuer_cn, issuer_key, *, is_ca: bool, rsa_leaf: bool = False) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    )
    usage = dict.fromkeys(
        ["content_commitment", "data_encipherment", "key_agreement", "encipher_only", "decipher_only"], False
    )
    if is_ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=False, key_encipherment=False, key_cert_sign=True, crl_sign=True, **usage),
            critical=True,
        )
    else:
        builder = (
            builder.add_extension(
                x509.KeyUsage(
                    digital_signature=True, key_encipherment=rsa_leaf, key_cert_sign=False, crl_sign=False, **usage
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _make_pki(algorithm: str, name: str) -> Pki:
    ca_key, leaf_key = _new_key(algorithm), _new_key(algorithm)
    ca_cert = _issue(f"{name} CA", ca_key.public_key(), f"{name} CA", ca_key, is_ca=True)
    leaf_cert = _issue(
        f"{name} leaf", leaf_key.public_key(), f"{name} CA", ca_key, is_ca=False, rsa_leaf=algorithm == "rsa"
    )
    return Pki(ca_key, ca_cert, leaf_key, leaf_cert)


@pytest.fixture(scope="session", params=ALGORITHMS)
def pki(request) -> Pki:
    return _make_pki(request.param, f"flink-{request.param}")


@pytest.fixture(scope="session")
def other_pki() -> Pki:
    return _make_pki("ec-p256", "unrelated")


def java_keystore(*, private_key_pem: str, certificate_chain_pems, password: str, alias: str) -> bytes:
    entry = key_entry(alias=alias, private_key_pem=private_key_pem, certificate_chain_pems=certificate_chain_pems)
    return encode_store(entry, password)


def java_truststore(*, trusted_certificate_pems, password: str, aliases=None) -> bytes:
    if aliases is None:
        aliases = [f"ca-{index}" for index in range(len(trusted_certificate_pems))]
    return encode_store(trusted_entries(trusted_certificate_pems=trusted_certificate_pems, aliases=aliases), password)


def _keystore(pki: Pki, *, password: str = PASSWORD, alias: str = "flink") -> bytes:
    return java_keystore(
        private_key_pem=pki.leaf_key_pem,
        certificate_chain_pems=[pki.leaf_pem, pki.ca_pem],
        password=password,
        alias=alias,
    )


# --- the provider keeps what it encoded ------------------------------------------------------------


def test_every_encoding_draws_fresh_salts_so_only_state_keeps_bytes_stable(pki):
    # Why the stores live in a resource's state: encoding the same inputs twice gives different bytes.
    assert _keystore(pki) != _keystore(pki)
    assert pkcs12.load_pkcs12(_keystore(pki), PASSWORD.encode()).cert.certificate == pki.leaf_cert


def _props(pki: Pki, *, password: str = PASSWORD) -> dict:
    entry = key_entry(alias="flink", private_key_pem=pki.leaf_key_pem, certificate_chain_pems=[pki.leaf_pem])
    trusted = trusted_entries(trusted_certificate_pems=[pki.ca_pem], aliases=["ca"])
    return {"stores": {"keystore.p12": entry, "truststore.p12": trusted}, "password": password}


def test_provider_creates_every_store_under_the_password(pki):
    created = JavaStoresProvider().create(_props(pki))
    files = {name: base64.b64decode(data) for name, data in created.outs["files"].items()}
    assert pkcs12.load_pkcs12(files["keystore.p12"], PASSWORD.encode()).cert.certificate == pki.leaf_cert
    trusted = pkcs12.load_pkcs12(files["truststore.p12"], PASSWORD.encode()).additional_certs
    assert [(c.certificate, c.friendly_name) for c in trusted] == [(pki.ca_cert, b"ca")]
    assert PASSWORD not in json.dumps(created.outs) and pki.leaf_key_pem not in json.dumps(created.outs)


def test_provider_reports_no_change_for_the_same_stores_and_password(pki):
    provider = JavaStoresProvider()
    olds = provider.create(_props(pki)).outs
    diff = provider.diff("id", olds, _props(pki))
    assert diff.changes is False and diff.replaces == []


def test_provider_replaces_when_a_store_or_the_password_changes(pki, other_pki):
    provider = JavaStoresProvider()
    olds = provider.create(_props(pki)).outs
    assert provider.diff("id", olds, _props(pki, password="another password")).replaces == ["password"]
    assert provider.diff("id", olds, _props(other_pki)).replaces == ["stores"]
    unknown = {**_props(pki), "stores": {"keystore.p12": pulumi.output.UNKNOWN}}  # what a preview cannot know yet
    assert provider.diff("id", olds, unknown).replaces == ["stores"]


# --- cryptography (OpenSSL) reads them -------------------------------------------------------


def test_cryptography_loads_keystore_key_leaf_and_chain(pki):
    loaded = pkcs12.load_pkcs12(_keystore(pki, alias="flink"), PASSWORD.encode())
    assert loaded.key.public_key().public_numbers() == pki.leaf_key.public_key().public_numbers()
    assert loaded.key.private_numbers() == pki.leaf_key.private_numbers()
    assert loaded.cert.certificate == pki.leaf_cert
    assert loaded.cert.friendly_name == b"flink"
    assert [c.certificate for c in loaded.additional_certs] == [pki.ca_cert]


def test_cryptography_rejects_keystore_with_wrong_password(pki):
    with pytest.raises(ValueError):
        pkcs12.load_pkcs12(_keystore(pki), b"wrong password")


def test_cryptography_loads_truststore_certificates_with_friendly_names(pki, other_pki):
    data = java_truststore(
        trusted_certificate_pems=[pki.ca_pem, other_pki.ca_pem], password=PASSWORD, aliases=["root-a", "root-b"]
    )
    loaded = pkcs12.load_pkcs12(data, PASSWORD.encode())
    assert loaded.key is None
    assert [(c.certificate, c.friendly_name) for c in loaded.additional_certs] == [
        (pki.ca_cert, b"root-a"),
        (other_pki.ca_cert, b"root-b"),
    ]


def test_truststore_default_aliases_are_numbered(pki, other_pki):
    data = java_truststore(trusted_certificate_pems=[pki.ca_pem, other_pki.ca_pem], password=PASSWORD)
    names = [c.friendly_name for c in pkcs12.load_pkcs12(data, PASSWORD.encode()).additional_certs]
    assert names == [b"ca-0", b"ca-1"]


# --- input validation --------------------------------------------------------------------------


def test_keystore_rejects_empty_password(pki):
    with pytest.raises(ValueError, match="password"):
        _keystore(pki, password="")


def test_keystore_rejects_empty_alias(pki):
    with pytest.raises(ValueError, match="alias"):
        _keystore(pki, alias="")


def test_keystore_rejects_empty_chain(pki):
    with pytest.raises(ValueError, match="certificate_chain_pems"):
        java_keystore(private_key_pem=pki.leaf_key_pem, certificate_chain_pems=[], password=PASSWORD, alias="a")


def test_keystore_rejects_key_that_does_not_match_leaf(pki, other_pki):
    with pytest.raises(ValueError, match="private_key_pem does not match"):
        java_keystore(
            private_key_pem=other_pki.leaf_key_pem,
            certificate_chain_pems=[pki.leaf_pem, pki.ca_pem],
            password=PASSWORD,
            alias="a",
        )


def test_keystore_rejects_unparsable_key_and_certificate(pki):
    with pytest.raises(ValueError, match="private_key_pem"):
        java_keystore(private_key_pem="garbage", certificate_chain_pems=[pki.leaf_pem], password=PASSWORD, alias="a")
    with pytest.raises(ValueError, match=r"certificate_chain_pems\[1\]"):
        java_keystore(
            private_key_pem=pki.leaf_key_pem, certificate_chain_pems=[pki.leaf_pem, "x"], password=PASSWORD, alias="a"
        )


def test_keystore_rejects_element_holding_several_certificates(pki):
    with pytest.raises(ValueError, match="exactly one"):
        java_keystore(
            private_key_pem=pki.leaf_key_pem,
            certificate_chain_pems=[pki.leaf_pem + pki.ca_pem],
            password=PASSWORD,
            alias="a",
        )


def test_keystore_rejects_single_string_instead_of_sequence(pki):
    with pytest.raises(TypeError, match="certificate_chain_pems"):
        java_keystore(
            private_key_pem=pki.leaf_key_pem, certificate_chain_pems=pki.leaf_pem, password=PASSWORD, alias="a"
        )


def test_truststore_rejects_empty_certificate_list():
    with pytest.raises(ValueError, match="trusted_certificate_pems"):
        java_truststore(trusted_certificate_pems=[], password=PASSWORD)


def test_truststore_rejects_empty_password(pki):
    with pytest.raises(ValueError, match="password"):
        java_truststore(trusted_certificate_pems=[pki.ca_pem], password="")


def test_truststore_rejects_duplicate_aliases_ignoring_case(pki, other_pki):
    pems = [pki.ca_pem, other_pki.ca_pem]
    with pytest.raises(ValueError, match="aliases contains duplicate"):
        java_truststore(trusted_certificate_pems=pems, password=PASSWORD, aliases=["root", "root"])
    with pytest.raises(ValueError, match="aliases contains duplicate"):
        java_truststore(trusted_certificate_pems=pems, password=PASSWORD, aliases=["Root", "root"])


def test_truststore_rejects_alias_count_mismatch(pki):
    with pytest.raises(ValueError, match="aliases has 2 entries"):
        java_truststore(trusted_certificate_pems=[pki.ca_pem], password=PASSWORD, aliases=["a", "b"])


# --- Java reads and uses them ------------------------------------------------------------------


def test_missing_java_skips_locally_and_fails_under_ci(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="keytool not found"):
        require_tool("keytool", JAVA_WHY)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="keytool not found"):
        require_tool("keytool", JAVA_WHY)
