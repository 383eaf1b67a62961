"""REST client certificates on disk: the ones the stack issued (from its `restClients` output), and ones it did
not, signed with its client CA's key (or a CA of their own): what only the CA's holder could make, to show
which check refuses them."""

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from offline.engine import RunResult


def issued_identity(result: RunResult, client: str, directory: Path) -> tuple[Path, Path]:
    """`<client>.crt` and `<client>.key` in `directory`, from the stack's `restClients` output."""
    bundle = result.outputs["restClients"][client]
    cert, key = directory / f"{client}.crt", directory / f"{client}.key"
    cert.write_text(bundle["certificate"])
    key.write_text(bundle["privateKey"])
    return cert, key


def forged_identity(
    result: RunResult,
    directory: Path,
    stem: str,
    *,
    subject: x509.Name | None = None,
    usage: x509.ObjectIdentifier = ExtendedKeyUsageOID.CLIENT_AUTH,
    expired: bool = False,
    own_ca: bool = False,
    authority: str = "rest-clients-ca",
) -> tuple[Path, Path]:
    """`<stem>.crt` and `<stem>.key` in `directory`: a certificate for `subject` (default CN=<stem>) with one
    extended key usage, signed by the key of one of the stack's CertificateAuthority components (`authority`,
    by default the REST client CA), or by a key of its own with `own_ca`."""
    # cryptography, not trustme: trustme cannot set a whole subject DN or a single EKU (its leaves carry
    # clientAuth, serverAuth and codeSigning), nor give its own CA the stack CA's name, as own_ca does here.
    (ca_key,) = [r for r in result.resources if r.name == f"{authority}-key" and r.custom]
    (ca_cert,) = [r for r in result.resources if r.name == f"{authority}-cert" and r.custom]
    issuer_key = (
        ec.generate_private_key(ec.SECP256R1())
        if own_ca
        else serialization.load_pem_private_key(ca_key.outputs["privateKeyPem"].encode(), None)
    )
    issuer = x509.load_pem_x509_certificate(ca_cert.outputs["certPem"].encode()).subject
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    start, end = (
        (now - datetime.timedelta(days=10), now - datetime.timedelta(days=1))
        if expired
        else (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1))
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, stem)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file
