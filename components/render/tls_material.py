"""Secret payloads holding TLS material, as the files Flink and its clients read."""

import base64
from collections.abc import Mapping, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from . import names
from .keystores import java_keystore, java_truststore


def b64(data: bytes | str) -> str:
    """Base64 text, as Secret `data` holds values."""
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def internal_tls_files(*, key_pem: str, cert_pem: str, password: str, alias: str) -> dict[str, str]:
    """Internal mTLS files (Secret `data`): the keystore, and a truststore that trusts only that same certificate.

    Trusting the one self-signed certificate, not a shared CA, is what keeps the trust domain per
    cluster: another deployment's internal certificate is simply not in this truststore.
    """
    return {
        names.KEYSTORE_FILE: b64(
            java_keystore(private_key_pem=key_pem, certificate_chain_pems=[cert_pem], password=password, alias=alias)
        ),
        names.TRUSTSTORE_FILE: b64(
            java_truststore(trusted_certificate_pems=[cert_pem], password=password, aliases=[alias])
        ),
    }


def rest_tls_files(
    *,
    key_pem: str,
    cert_pem: str,
    ca_pem: str,
    password: str,
    alias: str,
    caller_ca_pems: Sequence[str] = (),
    allowed_client_pems: Sequence[str] = (),
) -> dict[str, str]:
    """REST TLS files (Secret `data`): server keystore with its chain, truststore, the deployment's REST CA in PEM.

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
        names.KEYSTORE_FILE: b64(
            java_keystore(
                private_key_pem=key_pem, certificate_chain_pems=[cert_pem, ca_pem], password=password, alias=alias
            )
        ),
        names.TRUSTSTORE_FILE: b64(
            java_truststore(trusted_certificate_pems=trusted, password=password, aliases=aliases)
        ),
        names.CA_CERT_FILE: b64(ca_pem),
    }


def operator_tls_files(
    *, rest_ca_pems: Mapping[str, str], password: str, client_key_pem: str, client_cert_pem: str, client_ca_pem: str
) -> dict[str, str]:
    """The operator's truststore (every deployment's REST CA, by deployment name), and its keystore for
    deployments with REST mTLS (its identity and the CA that signed it). The Helm chart mounts them as
    truststore.jks and keystore.jks; Java's JKS loader reads the PKCS12 inside too."""
    deployments = sorted(rest_ca_pems)
    return {
        "truststore.jks": b64(
            java_truststore(
                trusted_certificate_pems=[rest_ca_pems[d] for d in deployments],
                password=password,
                aliases=[f"{d}-rest-ca" for d in deployments],
            )
        ),
        "keystore.jks": b64(
            java_keystore(
                private_key_pem=client_key_pem,
                certificate_chain_pems=[client_cert_pem, client_ca_pem],
                password=password,
                alias="flink-operator",
            )
        ),
    }


def sha1_fingerprint(cert_pem: str) -> str:
    """The certificate's SHA-1 fingerprint as nginx's `$ssl_client_fingerprint` prints it (lowercase hex)."""
    return x509.load_pem_x509_certificate(cert_pem.encode()).fingerprint(hashes.SHA1()).hex()


def client_pkcs12(*, key_pem: str, cert_pem: str, ca_pem: str, password: str, alias: str) -> str:
    """A password-protected PKCS12 (base64) with the client's key, certificate and CA, for browsers and curl."""
    return b64(
        java_keystore(
            private_key_pem=key_pem, certificate_chain_pems=[cert_pem, ca_pem], password=password, alias=alias
        )
    )


def tls_secret_files(*, cert_pem: str, ca_pem: str, key_pem: str) -> dict[str, str]:
    """A `kubernetes.io/tls` Secret's data: the chain (leaf then CA, so clients holding only the CA can
    build the path), the key, and `ca.crt`, which ingress-nginx reads to verify a backend."""
    return {"tls.crt": b64(cert_pem + ca_pem), "tls.key": b64(key_pem), "ca.crt": b64(ca_pem)}
