"""The TLS choices a stack makes: key type, protocol version and the cipher suites that fit them.

Flink takes one protocol (`security.ssl.protocol` is a single value) and a suite list in JSSE names.
A suite list must match the leaf key: ECDHE_RSA suites need RSA keys and ECDHE_ECDSA suites need
EC keys, otherwise no handshake succeeds. TLS 1.3 suites do not depend on the key type.
"""

from dataclasses import dataclass
from enum import Enum


class KeyAlgorithm(str, Enum):
    RSA = "RSA"
    ECDSA = "ECDSA"


class TlsProtocol(str, Enum):
    TLS_1_2 = "TLSv1.2"
    TLS_1_3 = "TLSv1.3"


RSA_KEY_SIZES = (2048, 3072, 4096)
ECDSA_CURVES = ("P256", "P384")

_TLS12_SUITES = {
    KeyAlgorithm.RSA: (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    KeyAlgorithm.ECDSA: (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
}
_TLS13_SUITES = ("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256")


def jsse_cipher_suites(key_algorithm: KeyAlgorithm, protocol: TlsProtocol) -> tuple[str, ...]:
    """Forward-secret AEAD suites, in JSSE names, that a `key_algorithm` leaf can serve over `protocol`."""
    if protocol is TlsProtocol.TLS_1_3:
        return _TLS13_SUITES
    return _TLS12_SUITES[key_algorithm]


# The same TLS 1.2 suites in OpenSSL's names, for the nginx that calls Flink (ingress-nginx proxy-ssl-ciphers).
_OPENSSL_TLS12_SUITES = {
    KeyAlgorithm.RSA: ("ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256"),
    KeyAlgorithm.ECDSA: ("ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256"),
}


def openssl_tls12_suites(key_algorithm: KeyAlgorithm) -> tuple[str, ...]:
    """The TLS 1.2 suites of `jsse_cipher_suites` in OpenSSL names. TLS 1.3 suites are not set through
    an OpenSSL cipher list (nginx's `*_ciphers` directives govern TLS 1.2 and below only)."""
    return _OPENSSL_TLS12_SUITES[key_algorithm]


def key_usages(key_algorithm: KeyAlgorithm, *extended: str) -> list[str]:
    """pulumi-tls `allowed_uses` for a leaf: RSA keys also encipher, EC keys only sign."""
    base = ["digital_signature"]
    if key_algorithm is KeyAlgorithm.RSA:
        base.append("key_encipherment")
    return base + list(extended)


@dataclass(frozen=True, kw_only=True)
class KeySpec:
    """Which private keys the stack generates."""

    algorithm: KeyAlgorithm
    rsa_bits: int = 3072
    ecdsa_curve: str = "P256"


@dataclass(frozen=True, kw_only=True)
class CertificateLifetime:
    validity_hours: int
    early_renewal_hours: int


@dataclass(frozen=True, kw_only=True)
class IssuancePolicy:
    """How the stack issues every key and certificate: one value, carried by each issuer (CA)."""

    key: KeySpec
    ca_lifetime: CertificateLifetime
    cert_lifetime: CertificateLifetime
    rotation: str
    """A new value re-issues every key, certificate and password issued under this policy on the next `up`."""

    @property
    def keepers(self) -> dict[str, str]:
        """pulumi-random `keepers`: a generated password or id is drawn again exactly when the rotation changes."""
        return {"rotation": self.rotation}
