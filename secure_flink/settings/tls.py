"""The TLS keys of the stack config: key type, protocol, lifetimes, rotation."""

import re
from collections.abc import Mapping

from secure_flink.domain.tls_policy import (
    ECDSA_CURVES,
    RSA_KEY_SIZES,
    CertificateLifetime,
    KeyAlgorithm,
    KeySpec,
    TlsProtocol,
)
from secure_flink.settings.model import TlsSettings
from secure_flink.settings.reader import Reader

MAX_VALIDITY_HOURS = 175200
"""20 years: longer lifetimes push certificate dates towards what X.509 tools and Python's dates overflow on."""
DEFAULT_HOURS = {"caValidityHours": 43800, "certValidityHours": 8760, "certEarlyRenewalHours": 720}


def read_tls(reader: Reader, raw: Mapping[str, str | None]) -> TlsSettings | None:
    before = len(reader.problems)
    algorithm = reader.enum("keyAlgorithm", raw["keyAlgorithm"], KeyAlgorithm, "pulumi config set keyAlgorithm RSA")
    protocol = reader.enum("tlsProtocol", raw["tlsProtocol"], TlsProtocol, "pulumi config set tlsProtocol TLSv1.3")
    rsa_bits = reader.integer("rsaBits", raw["rsaBits"], minimum=0, fix="pulumi config set rsaBits 3072")
    if rsa_bits is not None and rsa_bits not in RSA_KEY_SIZES:
        reader.fail(
            "rsaBits",
            raw["rsaBits"],
            f"must be one of {', '.join(map(str, RSA_KEY_SIZES))}",
            "pulumi config set rsaBits 3072",
        )
    curve = raw["ecdsaCurve"]
    if curve not in ECDSA_CURVES:
        reader.fail(
            "ecdsaCurve", curve, f"must be one of {', '.join(ECDSA_CURVES)}", "pulumi config set ecdsaCurve P256"
        )
    hours = {
        key: reader.integer(
            key, raw[key], minimum=1, maximum=MAX_VALIDITY_HOURS, fix=f"pulumi config set {key} {DEFAULT_HOURS[key]}"
        )
        for key in ("caValidityHours", "certValidityHours", "certEarlyRenewalHours")
    }
    _check_validity(reader, hours)
    rotation = raw["tlsRotation"] or ""
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,63}", rotation):
        reader.fail(
            "tlsRotation",
            rotation,
            "must be 1-63 letters, digits, '.', '_' or '-'",
            "pulumi config set tlsRotation 2026-11",
        )
    if len(reader.problems) > before:
        return None
    renewal = hours["certEarlyRenewalHours"]
    return TlsSettings(
        key=KeySpec(algorithm=algorithm, rsa_bits=rsa_bits, ecdsa_curve=curve),
        protocol=protocol,
        ca_lifetime=CertificateLifetime(validity_hours=hours["caValidityHours"], early_renewal_hours=renewal),
        cert_lifetime=CertificateLifetime(validity_hours=hours["certValidityHours"], early_renewal_hours=renewal),
        rotation=rotation,
    )


def _check_validity(reader: Reader, hours: Mapping[str, int | None]) -> None:
    ca, cert, renewal = hours["caValidityHours"], hours["certValidityHours"], hours["certEarlyRenewalHours"]
    if cert is not None and renewal is not None and cert <= renewal:
        reader.fail(
            "certValidityHours",
            cert,
            f"must be above certEarlyRenewalHours ({renewal}), "
            "or every certificate is due for renewal the moment it is issued",
            f"pulumi config set certValidityHours {min(max(renewal * 12, 8760), MAX_VALIDITY_HOURS)}"
            if renewal < MAX_VALIDITY_HOURS
            else "pulumi config set certEarlyRenewalHours 720",
        )
    if ca is not None and cert is not None and ca < cert:
        reader.fail(
            "caValidityHours",
            ca,
            f"must be at least certValidityHours ({cert}): a certificate cannot outlive the CA that signed it",
            f"pulumi config set caValidityHours {min(cert * 5, MAX_VALIDITY_HOURS)}",
        )
