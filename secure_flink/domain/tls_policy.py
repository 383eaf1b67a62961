"""The TLS choices a stack makes: key type, protocol version and the cipher suites that fit them.

Flink takes one protocol (`security.ssl.protocol` is a single value) and a suite list in JSSE names.
A suite list must match the leaf key: ECDHE_RSA suites need RSA keys and ECDHE_ECDSA suites need
EC keys, otherwise no handshake succeeds. TLS 1.3 suites do not depend on the key type.
"""

import re
from dataclasses import dataclass
from enum import Enum

from .problems import ArgumentChecks


class KeyAlgorithm(str, Enum):
    RSA = "RSA"
    ECDSA = "ECDSA"


class TlsProtocol(str, Enum):
    TLS_1_2 = "TLSv1.2"
    TLS_1_3 = "TLSv1.3"


RSA_KEY_SIZES = (2048, 3072, 4096)
ECDSA_CURVES = ("P256", "P384")
MAX_VALIDITY_HOURS = 175200
"""20 years: longer lifetimes push certificate dates towards what X.509 tools and Python's dates overflow on."""
ROTATION = re.compile(r"[A-Za-z0-9._-]{1,63}")


def rsa_bits_problem(bits: object) -> str | None:
    return None if bits in RSA_KEY_SIZES else f"must be one of {', '.join(map(str, RSA_KEY_SIZES))}"


def curve_problem(curve: object) -> str | None:
    return None if curve in ECDSA_CURVES else f"must be one of {', '.join(ECDSA_CURVES)}"


def rotation_problem(rotation: object) -> str | None:
    if isinstance(rotation, str) and ROTATION.fullmatch(rotation):
        return None
    return "must be 1-63 letters, digits, '.', '_' or '-'"


def validity_problem(hours: object) -> str | None:
    if isinstance(hours, int) and not isinstance(hours, bool) and 1 <= hours <= MAX_VALIDITY_HOURS:
        return None
    return f"must be a whole number from 1 to {MAX_VALIDITY_HOURS}"


def renewal_problem(
    validity_hours: int, early_renewal_hours: int, renewal_name: str = "certEarlyRenewalHours"
) -> str | None:
    """A certificate must not be due for renewal the moment it is issued."""
    if validity_hours > early_renewal_hours:
        return None
    return (
        f"must be above {renewal_name} ({early_renewal_hours}), "
        "or every certificate is due for renewal the moment it is issued"
    )


def outlives_problem(
    ca_validity_hours: int, cert_validity_hours: int, cert_name: str = "certValidityHours"
) -> str | None:
    if ca_validity_hours >= cert_validity_hours:
        return None
    return f"must be at least {cert_name} ({cert_validity_hours}): a certificate cannot outlive the CA that signed it"


def fitting_validity(
    preferred: int, *, above: int = 0, at_least: int = 1, at_most: int = MAX_VALIDITY_HOURS
) -> int | None:
    """The validity nearest `preferred` that passes `validity_problem`, is above `above` (an early renewal:
    `renewal_problem`), at least `at_least` and at most `at_most` (what it must outlive, what must outlive it:
    `outlives_problem`); None when no validity is. What a fix suggests."""
    low, high = max(1, above + 1, at_least), min(MAX_VALIDITY_HOURS, at_most)
    return min(max(preferred, low), high) if low <= high else None


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


def _fits(lifetime: CertificateLifetime, at_least: int = 1) -> bool:
    hours = lifetime.validity_hours
    return validity_problem(hours) is None and hours > lifetime.early_renewal_hours and hours >= at_least


def lifetime_fixes(ca: CertificateLifetime, cert: CertificateLifetime) -> dict[str, str]:
    """Per lifetime (`ca_lifetime`, `cert_lifetime`), the fix of its validity: one above its renewal, the
    certificate's within the CA's where it can be, else the CA's rising with it (and the certificate's fix
    saying so), so that applying either fix, or both, leaves no lifetime problem."""
    cert_hours = cert.validity_hours if _fits(cert) else _fitting_cert_validity(cert, ca)
    # What the CA must outlive: the certificate's validity once fixed, or as it is while no fix exists.
    outlived = cert_hours or (cert.validity_hours if validity_problem(cert.validity_hours) is None else 1)
    ca_hours: int | None = ca.validity_hours
    if not _fits(ca, at_least=outlived):
        preferred = max(43800, outlived * 5)
        ca_hours = fitting_validity(preferred, above=ca.early_renewal_hours, at_least=outlived)
    ca_fix, cert_fix = _validity_fix(ca_hours, ca), _validity_fix(cert_hours, cert)
    if cert_hours not in (None, cert.validity_hours) and ca_hours != ca.validity_hours:
        cert_fix += f", and ca_lifetime's {ca_fix}"
    return {"ca_lifetime": ca_fix, "cert_lifetime": cert_fix}


def _fitting_cert_validity(cert: CertificateLifetime, ca: CertificateLifetime) -> int | None:
    preferred, renewal = max(cert.early_renewal_hours * 12, 8760), cert.early_renewal_hours
    within = ca.validity_hours if validity_problem(ca.validity_hours) is None else MAX_VALIDITY_HOURS
    return fitting_validity(preferred, above=renewal, at_most=within) or fitting_validity(preferred, above=renewal)


def _validity_fix(hours: int | None, lifetime: CertificateLifetime) -> str:
    if hours is None:
        return f"early_renewal_hours below {MAX_VALIDITY_HOURS} (no validity is above {lifetime.early_renewal_hours})"
    return f"validity_hours={hours}"


@dataclass(frozen=True, kw_only=True)
class IssuancePolicy:
    """How the stack issues every key and certificate: one value, carried by each issuer (CA)."""

    key: KeySpec
    ca_lifetime: CertificateLifetime
    cert_lifetime: CertificateLifetime
    rotation: str
    """A new value re-issues every key, certificate and password issued under this policy on the next `up`."""

    def __post_init__(self) -> None:
        checks = ArgumentChecks(self)
        key = self.key
        if key.algorithm is KeyAlgorithm.RSA:
            checks.check("key.rsa_bits", key.rsa_bits, rsa_bits_problem(key.rsa_bits), "rsa_bits=3072")
        else:
            checks.check("key.ecdsa_curve", key.ecdsa_curve, curve_problem(key.ecdsa_curve), "ecdsa_curve='P256'")
        fixes = lifetime_fixes(self.ca_lifetime, self.cert_lifetime)
        for field, lifetime in (("ca_lifetime", self.ca_lifetime), ("cert_lifetime", self.cert_lifetime)):
            hours, renewal = lifetime.validity_hours, lifetime.early_renewal_hours
            checks.check(f"{field}.validity_hours", hours, validity_problem(hours), fixes[field])
            if validity_problem(hours) is None:
                reason = renewal_problem(hours, renewal, "early_renewal_hours")
                checks.check(f"{field}.validity_hours", hours, reason, fixes[field])
        ca, cert = self.ca_lifetime.validity_hours, self.cert_lifetime.validity_hours
        if validity_problem(ca) is None and validity_problem(cert) is None:
            reason = outlives_problem(ca, cert, "cert_lifetime.validity_hours")
            checks.check("ca_lifetime.validity_hours", ca, reason, fixes["ca_lifetime"])
        checks.check("rotation", self.rotation, rotation_problem(self.rotation), "rotation='2026-11'")
        checks.raise_any()

    @property
    def keepers(self) -> dict[str, str]:
        """pulumi-random `keepers`: a generated password or id is drawn again exactly when the rotation changes."""
        return {"rotation": self.rotation}
