"""The TLS keys of the stack config: key type, protocol, lifetimes, rotation."""

import itertools
from collections.abc import Mapping

from secure_flink.domain.tls_policy import (
    MAX_VALIDITY_HOURS,
    CertificateLifetime,
    IssuancePolicy,
    KeyAlgorithm,
    KeySpec,
    TlsProtocol,
    curve_problem,
    fitting_validity,
    outlives_problem,
    renewal_problem,
    rotation_problem,
    rsa_bits_problem,
    validity_problem,
)
from secure_flink.settings.model import TlsSettings
from secure_flink.settings.reader import Reader, as_int

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
    given = {key: _hours(raw[key]) for key in DEFAULT_HOURS}
    target = _fitting_hours(given)
    hours = {
        key: reader.integer(key, raw[key], minimum=1, maximum=MAX_VALIDITY_HOURS, fix=_hours_fix(key, given, target))
        for key in DEFAULT_HOURS
    }
    _check_validity(reader, hours, target)
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
        issuance=IssuancePolicy(
            key=KeySpec(algorithm=algorithm, rsa_bits=rsa_bits, ecdsa_curve=curve),
            ca_lifetime=CertificateLifetime(validity_hours=ca, early_renewal_hours=renewal),
            cert_lifetime=CertificateLifetime(validity_hours=cert, early_renewal_hours=renewal),
            rotation=rotation,
        ),
        protocol=protocol,
    )


def _check_validity(reader: Reader, hours: Mapping[str, int | None], target: Mapping[str, int]) -> None:
    ca, cert, renewal = hours["caValidityHours"], hours["certValidityHours"], hours["certEarlyRenewalHours"]
    if cert is not None and renewal is not None and (reason := renewal_problem(cert, renewal)) is not None:
        reader.fail("certValidityHours", cert, reason, _hours_fix("certValidityHours", hours, target))
    if ca is not None and cert is not None and (reason := outlives_problem(ca, cert)) is not None:
        reader.fail("caValidityHours", ca, reason, _hours_fix("caValidityHours", hours, target))


def _hours(value: object) -> int | None:
    hours = as_int(value)
    return hours if hours is not None and validity_problem(hours) is None else None


def _fitting_hours(given: Mapping[str, int | None]) -> dict[str, int]:
    """Lifetimes that pass every rule together, changing as few of the `given` valid ones (None: invalid) as
    they can, a CA's validity before a certificate's before the renewal: what every hours fix suggests, so that
    applying any of the fixes, or all, leaves them consistent."""
    valid = [key for key in DEFAULT_HOURS if given[key] is not None]
    for size in range(len(valid) + 1):
        for changed in itertools.combinations(valid, size):
            hours = _fill({key: None if key in changed else value for key, value in given.items()})
            if hours is not None:
                return hours
    raise AssertionError("changing every lifetime always fits")  # pragma: no cover


def _fill(kept: Mapping[str, int | None]) -> dict[str, int] | None:
    """The `kept` hours, the others (None) chosen to fit them, or None when none fit."""
    ca, cert, renewal = kept["caValidityHours"], kept["certValidityHours"], kept["certEarlyRenewalHours"]
    if cert is None:
        preferred = max((renewal or 0) * 12, DEFAULT_HOURS["certValidityHours"])
        cert = fitting_validity(preferred, above=renewal or 1, at_most=ca or MAX_VALIDITY_HOURS)
    if cert is None:
        return None
    if renewal is None:
        renewal = min(DEFAULT_HOURS["certEarlyRenewalHours"], cert - 1)
    if ca is None:
        ca = fitting_validity(max(DEFAULT_HOURS["caValidityHours"], cert * 5), at_least=cert)
    if ca is None or renewal < 1 or renewal_problem(cert, renewal) or outlives_problem(ca, cert):
        return None
    return {"caValidityHours": ca, "certValidityHours": cert, "certEarlyRenewalHours": renewal}


def _hours_fix(key: str, hours: Mapping[str, int | None], target: Mapping[str, int]) -> str:
    """Sets `key` to its target, and each other valid lifetime that must change with it (an invalid one has a
    fix of its own)."""
    changed = [key] + [other for other in DEFAULT_HOURS if other != key and hours[other] not in (None, target[other])]
    return " && ".join(f"pulumi config set {name} {target[name]}" for name in changed if hours[name] != target[name])
