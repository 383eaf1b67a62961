"""Secret payloads holding TLS material, as the files Flink and its clients read."""

import base64
from collections.abc import Mapping, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from . import names
from .java_stores import KeyEntry, TrustedEntries, key_entry, trusted_entries


def b64(data: bytes | str) -> str:
    """Base64 text, as Secret `data` holds values."""
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def internal_stores(*, key_pem: str, cert_pem: str, alias: str) -> dict[str, KeyEntry | TrustedEntries]:
    """Internal mTLS stores, by file name: the keystore, and a truststore that trusts only that same certificate.

    Trusting the one self-signed certificate, not a shared CA, is what keeps the trust domain per
    cluster: another deployment's internal certificate is simply not in this truststore.
    """
    return {
        names.KEYSTORE_FILE: key_entry(alias=alias, private_key_pem=key_pem, certificate_chain_pems=[cert_pem]),
        names.TRUSTSTORE_FILE: trusted_entries(trusted_certificate_pems=[cert_pem], aliases=[alias]),
    }


def rest_stores(
    *,
    key_pem: str,
    cert_pem: str,
    ca_pem: str,
    alias: str,
    caller_ca_pems: Sequence[str] = (),
    allowed_client_pems: Sequence[str] = (),
) -> dict[str, KeyEntry | TrustedEntries]:
    """REST TLS stores, by file name: the server keystore with its chain, and the truststore.

    The truststore holds the deployment's own REST CA (`ca_pem`): REST clients in the pods verify the server
    with it, and under REST mTLS it admits the callers it issued (the pods' CLI, the proxies, the ingress),
    and nothing issued for another deployment. `caller_ca_pems` are CAs of callers from outside the
    deployment that sign nothing else (the operator's). They must be CAs, not leaves: Java's key manager
    presents a client certificate only when its issuer is among the CAs the server advertises.
    `allowed_client_pems` (issued REST clients, from their own CA) are trusted one by one, so a removed
    client's certificate no longer gets in.
    """
    trusted = [ca_pem, *caller_ca_pems, *allowed_client_pems]
    aliases = [
        "ca",
        *(f"caller-ca-{i}" for i in range(len(caller_ca_pems))),
        *(f"client-{i}" for i in range(len(allowed_client_pems))),
    ]
    return {
        names.KEYSTORE_FILE: key_entry(alias=alias, private_key_pem=key_pem, certificate_chain_pems=[cert_pem, ca_pem]),
        names.TRUSTSTORE_FILE: trusted_entries(trusted_certificate_pems=trusted, aliases=aliases),
    }


def operator_stores(
    *, rest_ca_pems: Mapping[str, str], client_key_pem: str, client_cert_pem: str, client_ca_pem: str
) -> dict[str, KeyEntry | TrustedEntries]:
    """The operator's truststore (every deployment's REST CA, by deployment name), and its keystore for
    deployments with REST mTLS (its identity and the CA that signed it). The Helm chart mounts them as
    truststore.jks and keystore.jks; Java's JKS loader reads the PKCS12 inside too."""
    deployments = sorted(rest_ca_pems)
    return {
        "truststore.jks": trusted_entries(
            trusted_certificate_pems=[rest_ca_pems[d] for d in deployments],
            aliases=[f"{d}-rest-ca" for d in deployments],
        ),
        "keystore.jks": key_entry(
            alias="flink-operator",
            private_key_pem=client_key_pem,
            certificate_chain_pems=[client_cert_pem, client_ca_pem],
        ),
    }


def sha1_fingerprint(cert_pem: str) -> str:
    """The certificate's SHA-1 fingerprint as nginx's `$ssl_client_fingerprint` prints it (lowercase hex)."""
    return x509.load_pem_x509_certificate(cert_pem.encode()).fingerprint(hashes.SHA1()).hex()


def client_store(*, key_pem: str, cert_pem: str, ca_pem: str, alias: str) -> KeyEntry:
    """A REST client's PKCS12, for browsers and curl: its key, its certificate and the CA that issued it."""
    return key_entry(alias=alias, private_key_pem=key_pem, certificate_chain_pems=[cert_pem, ca_pem])


def tls_secret_files(*, cert_pem: str, ca_pem: str, key_pem: str) -> dict[str, str]:
    """A `kubernetes.io/tls` Secret's data: the chain (leaf then CA, so clients holding only the CA can
    build the path), the key, and `ca.crt`, which ingress-nginx reads to verify a backend."""
    return {"tls.crt": b64(cert_pem + ca_pem), "tls.key": b64(key_pem), "ca.crt": b64(ca_pem)}
