"""The TLS keys of the stack config: key type, protocol, lifetimes, rotation."""

from collections.abc import Mapping

from secure_flink.domain.tls_policy import (
    MAX_VALIDITY_HOURS,
    CertificateLifetime,
    KeyAlgorithm,
    KeySpec,
    TlsProtocol,
    curve_problem,
    outlives_problem,
    renewal_problem,
    rotation_problem,
    rsa_bits_problem,
)
from secure_flink.settings.model import TlsSettings
from secure_flink.settings.reader import Reader

DEFAULT_HOURS = {"caValidityHours": 43800, "certValidityHours": 8760, "certEarlyRenewalHours": 720}


def read_tls(reader: Reader, raw: Mapping[str, str | None]) -> TlsSettings | None:
    before = len(reader.problems)
    algorithm = reader.enum("keyAlgorithm", raw["keyAlgorithm"], KeyAlgorithm, "pulumi config set keyAlgorithm RSA")
    protocol = reader.enum("tlsProtocol", raw["tlsProtocol"], TlsProtocol, "pulumi config set tlsProtocol TLSv1.3")
    rsa_bits = reader.integer("rsaBits", raw["rsaBits"], minimum=0, fix="pulumi config set rsaBits 3072")
    bits_problem = rsa_bits_problem(rsa_bits)
    if rsa_bits is not None and bits_problem is not None:
        reader.fail("rsaBits", raw["rsaBits"], bits_problem, "pulumi config set rsaBits 3072")
    curve = raw["ecdsaCurve"]
    curve_reason = curve_problem(curve)
    if curve_reason is not None:
        reader.fail("ecdsaCurve", curve, curve_reason, "pulumi config set ecdsaCurve P256")
    hours = {
        key: reader.integer(
            key, raw[key], minimum=1, maximum=MAX_VALIDITY_HOURS, fix=f"pulumi config set {key} {DEFAULT_HOURS[key]}"
        )
        for key in ("caValidityHours", "certValidityHours", "certEarlyRenewalHours")
    }
    _check_validity(reader, hours)
    rotation = raw["tlsRotation"] or ""
    rotation_reason = rotation_problem(rotation)
    if rotation_reason is not None:
        reader.fail("tlsRotation", rotation, rotation_reason, "pulumi config set tlsRotation 2026-11")
    ca, cert, renewal = hours["caValidityHours"], hours["certValidityHours"], hours["certEarlyRenewalHours"]
    if (
        len(reader.problems) > before
        or algorithm is None
        or protocol is None
        or rsa_bits is None
        or curve is None
        or ca is None
        or cert is None
        or renewal is None
    ):
        return None
    return TlsSettings(
        key=KeySpec(algorithm=algorithm, rsa_bits=rsa_bits, ecdsa_curve=curve),
        protocol=protocol,
        ca_lifetime=CertificateLifetime(validity_hours=ca, early_renewal_hours=renewal),
        cert_lifetime=CertificateLifetime(validity_hours=cert, early_renewal_hours=renewal),
        rotation=rotation,
    )


def _check_validity(reader: Reader, hours: Mapping[str, int | None]) -> None:
    ca, cert, renewal = hours["caValidityHours"], hours["certValidityHours"], hours["certEarlyRenewalHours"]
    if cert is not None and renewal is not None and (reason := renewal_problem(cert, renewal)) is not None:
        reader.fail(
            "certValidityHours",
            cert,
            reason,
            f"pulumi config set certValidityHours {min(max(renewal * 12, 8760), MAX_VALIDITY_HOURS)}"
            if renewal < MAX_VALIDITY_HOURS
            else "pulumi config set certEarlyRenewalHours 720",
        )
    if ca is not None and cert is not None and (reason := outlives_problem(ca, cert)) is not None:
        reader.fail(
            "caValidityHours",
            ca,
            reason,
            f"pulumi config set caValidityHours {min(cert * 5, MAX_VALIDITY_HOURS)}",
        )
