"""What goes into the PKCS#12 keystores and truststores Java (Flink, the operator) and browsers load.

A store is described here as plain data, checked when it is built: the JavaStores resource
(secure_flink/components/java_stores.py) takes these descriptions as inputs and encodes them with cryptography's
PKCS#12 serializers, once, keeping the bytes in Pulumi state. Pure: no clock, no randomness, no I/O.
"""

from collections.abc import Sequence
from typing import TypedDict, final

from cryptography import x509
from cryptography.hazmat.primitives import serialization

__all__ = ["KeyEntry", "TrustedCertificate", "TrustedEntries", "key_entry", "trusted_entries"]


# KeyEntry and TrustedEntries are final: no value of one can carry the other's keys, so a type checker reads
# `"privateKeyPem" in store` as telling them apart.
@final
class KeyEntry(TypedDict):
    """One PrivateKeyEntry."""

    alias: str
    privateKeyPem: str
    certificatePems: list[str]
    """Leaf first, then its chain."""


class TrustedCertificate(TypedDict):
    """One trustedCertEntry."""

    alias: str
    pem: str


@final
class TrustedEntries(TypedDict):
    """The trustedCertEntry items of a truststore."""

    certificates: list[TrustedCertificate]


def key_entry(*, alias: str, private_key_pem: str, certificate_chain_pems: Sequence[str]) -> KeyEntry:
    """A keystore holding one PrivateKeyEntry: the key, its leaf certificate (first PEM) and the rest of the chain.

    One PEM certificate per chain element, leaf first; the key (unencrypted PEM, PKCS#1/SEC1/PKCS#8) must
    match the leaf. ValueError (naming the argument) for an empty alias or chain, unparsable PEM or a
    key/leaf mismatch; TypeError for a bare str chain.
    """
    _require_aliases([alias], "alias")
    certificates = _load_certificates(certificate_chain_pems, "certificate_chain_pems")
    _require_matching_key(private_key_pem, certificates[0])
    return {"alias": alias, "privateKeyPem": private_key_pem, "certificatePems": list(certificate_chain_pems)}


def trusted_entries(*, trusted_certificate_pems: Sequence[str], aliases: Sequence[str]) -> TrustedEntries:
    """A truststore Java reads as one trustedCertEntry per certificate, under the alias at the same position.

    Aliases must be non-empty, one per certificate, and unique ignoring case (Java lower-cases them).
    ValueError (naming the argument) for an empty list, unparsable PEM or bad aliases; TypeError for a
    bare str where a sequence is expected.
    """
    _load_certificates(trusted_certificate_pems, "trusted_certificate_pems")
    if isinstance(aliases, (str, bytes)):
        raise TypeError("aliases must be a sequence of strings, not a single string")
    if len(aliases) != len(trusted_certificate_pems):
        raise ValueError(
            f"aliases has {len(aliases)} entries but trusted_certificate_pems has {len(trusted_certificate_pems)}"
        )
    _require_aliases(aliases, "aliases")
    return {
        "certificates": [
            {"alias": alias, "pem": pem} for alias, pem in zip(aliases, trusted_certificate_pems, strict=True)
        ]
    }


def _require_aliases(aliases: Sequence[str], argument: str) -> None:
    seen: set[str] = set()
    for alias in aliases:
        if not isinstance(alias, str) or not alias:
            raise ValueError(f"{argument} must be non-empty strings, got {alias!r}")
        # Java's PKCS12 KeyStore lower-cases aliases, so "CA" and "ca" would collide silently.
        if alias.lower() in seen:
            raise ValueError(f"{argument} contains duplicate alias {alias!r} (Java ignores alias case)")
        seen.add(alias.lower())


def _load_certificates(pems: Sequence[str], argument: str) -> list[x509.Certificate]:
    if isinstance(pems, (str, bytes)):
        raise TypeError(f"{argument} must be a sequence of PEM strings, not a single string")
    certificates: list[x509.Certificate] = []
    for index, pem in enumerate(pems):
        try:
            loaded = x509.load_pem_x509_certificates(pem.encode())
        except (ValueError, AttributeError) as exc:
            raise ValueError(f"{argument}[{index}] is not a PEM certificate: {exc}") from exc
        if len(loaded) != 1:
            raise ValueError(f"{argument}[{index}] must hold exactly one PEM certificate, found {len(loaded)}")
        certificates.append(loaded[0])
    if not certificates:
        raise ValueError(f"{argument} must contain at least one certificate")
    return certificates


def _require_matching_key(private_key_pem: str, leaf: x509.Certificate) -> None:
    try:
        # Only the public half is compared here, so OpenSSL's RSA consistency check (a tenth of a second per
        # 3072-bit key) would prove nothing.
        key = serialization.load_pem_private_key(
            private_key_pem.encode(), password=None, unsafe_skip_rsa_key_validation=True
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"private_key_pem is not an unencrypted PEM private key: {exc}") from exc
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != leaf.public_key().public_bytes(*spki):
        raise ValueError("private_key_pem does not match the public key of certificate_chain_pems[0]")
