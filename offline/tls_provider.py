"""pulumi-tls resources with the behaviour of the real provider: real keys, CSRs and signed certificates.

Mirrors terraform-provider-tls (which pulumi-tls wraps): PEM encodings per key type, SHA-256
(SHA-384 for P384) signatures, basic constraints on every certificate, key usages and extended key
usages from `allowedUses`, SANs, subject/authority key identifiers when asked, RFC 3339 validity.
"""

import base64
import concurrent.futures
import datetime
import functools
import hashlib
import ipaddress
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CURVES = {"P224": ec.SECP224R1, "P256": ec.SECP256R1, "P384": ec.SECP384R1, "P521": ec.SECP521R1}
# In the order Go writes a subject (crypto/x509/pkix Name.ToRDNSequence, which pulumi-tls uses): the CN
# comes after O and OU, so RFC 2253 (what nginx's $ssl_client_s_dn prints, last RDN first) starts with it.
SUBJECT_FIELDS = {
    "country": NameOID.COUNTRY_NAME,
    "province": NameOID.STATE_OR_PROVINCE_NAME,
    "locality": NameOID.LOCALITY_NAME,
    "postalCode": NameOID.POSTAL_CODE,
    "organization": NameOID.ORGANIZATION_NAME,
    "organizationalUnit": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "commonName": NameOID.COMMON_NAME,
    "serialNumber": NameOID.SERIAL_NUMBER,
    "emailAddress": NameOID.EMAIL_ADDRESS,
}
KEY_USAGES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "cert_signing",
    "crl_signing",
    "encipher_only",
    "decipher_only",
)
EXTENDED_USAGES = {
    "any_extended": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code_signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp_signing": ExtendedKeyUsageOID.OCSP_SIGNING,
}
SECRET_OUTPUTS = {
    "tls:index/privateKey:PrivateKey": {"privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"},
    "tls:index/selfSignedCert:SelfSignedCert": {"privateKeyPem"},
    "tls:index/certRequest:CertRequest": {"privateKeyPem"},
    "tls:index/locallySignedCert:LocallySignedCert": {"caPrivateKeyPem"},
}


_NO_ENCRYPTION = serialization.NoEncryption()


def _pem(data: bytes) -> str:
    return data.decode()


class RsaKeyRing:
    """RSA keys for the offline engine, a test double: generating one costs about 0.3 s (3072 bits), and a
    test session makes thousands. So each size has a ring of `size` distinct keys, handed out in turn: any two
    keys handed out fewer than `size` apart differ, which covers a stack's keys and the keys that replace them
    on the next run. Unrelated test stacks may share keys.

    The ring lives in `directory` (one PEM per slot), made as first needed and kept: every test process of
    this and later sessions on the machine reads it instead of generating. Two processes that make the same
    slot at once each keep their own key; within a process, slots never change."""

    def __init__(self, size: int, directory: Path) -> None:
        self.size = size
        self.directory = directory
        self._keys: dict[tuple[int, int], rsa.RSAPrivateKey] = {}
        self._handed_out: dict[int, int] = {}
        self._lock = threading.Lock()

    def next_key(self, bits: int) -> rsa.RSAPrivateKey:
        with self._lock:
            turn = self._handed_out.get(bits, 0)
            self._handed_out[bits] = turn + 1
            slot = (bits, turn % self.size)
            if slot not in self._keys:
                self._keys[slot] = self._stored_key(*slot)
            return self._keys[slot]

    def _stored_key(self, bits: int, index: int) -> rsa.RSAPrivateKey:
        path = _slot_path(self.directory, bits, index)
        if path.exists():
            key = _load_key(path.read_text())
            if isinstance(key, rsa.RSAPrivateKey) and key.key_size == bits:
                return key
        return _make_slot(self.directory, bits, index)

    def fill(self, bits: int, processes: int) -> int:
        """Makes every slot of `bits` not yet on disk, `processes` at a time (a cold run starts faster than one
        whose test processes make the keys as they need them, each the same ones). Returns how many it made."""
        missing = [index for index in range(self.size) if not _slot_path(self.directory, bits, index).exists()]
        if missing:
            with concurrent.futures.ProcessPoolExecutor(processes) as pool:
                list(pool.map(functools.partial(_fill_slot, self.directory, bits), missing))
        return len(missing)


def _slot_path(directory: Path, bits: int, index: int) -> Path:
    return directory / f"rsa-{bits}" / f"{index}.pem"


def _fill_slot(directory: Path, bits: int, index: int) -> None:
    # In a pool process: the key stays there (keys do not pickle); the file is the result.
    _make_slot(directory, bits, index)


def _make_slot(directory: Path, bits: int, index: int) -> rsa.RSAPrivateKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    path = _slot_path(directory, bits, index)
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, _NO_ENCRYPTION)
    # Written aside and renamed, so a process reading the slot never sees half a key.
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.write_bytes(pem)
    os.replace(partial, path)
    return key


RSA_KEYS = RsaKeyRing(size=128, directory=Path(__file__).resolve().parent.parent / ".cache" / "offline-rsa-keys")


def private_key(inputs: Mapping[str, Any]) -> dict[str, Any]:
    algorithm = inputs.get("algorithm", "RSA")
    if algorithm == "RSA":
        key: Any = RSA_KEYS.next_key(int(inputs.get("rsaBits", 2048)))
        traditional = serialization.PrivateFormat.TraditionalOpenSSL
    elif algorithm == "ECDSA":
        key = ec.generate_private_key(CURVES[inputs.get("ecdsaCurve", "P224")]())
        traditional = serialization.PrivateFormat.TraditionalOpenSSL
    elif algorithm == "ED25519":
        key = ed25519.Ed25519PrivateKey.generate()
        traditional = serialization.PrivateFormat.PKCS8
    else:
        raise ValueError(f"tls.PrivateKey: unsupported algorithm {algorithm!r}")
    enc = serialization.Encoding
    public = key.public_key()
    ssh_public = public.public_bytes(enc.OpenSSH, serialization.PublicFormat.OpenSSH)
    return {
        **inputs,
        "algorithm": algorithm,
        "privateKeyPem": _pem(key.private_bytes(enc.PEM, traditional, serialization.NoEncryption())),
        "privateKeyPemPkcs8": _pem(
            key.private_bytes(enc.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        ),
        "privateKeyOpenssh": _pem(
            key.private_bytes(enc.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
        ),
        "publicKeyPem": _pem(public.public_bytes(enc.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)),
        "publicKeyOpenssh": ssh_public.decode() + "\n",
        "publicKeyFingerprintSha256": "SHA256:"
        + base64.b64encode(hashlib.sha256(base64.b64decode(ssh_public.split()[1])).digest()).decode().rstrip("="),
    }


@functools.lru_cache(maxsize=1024)
def _load_key(pem: str) -> Any:
    # The keys are this provider's own, so the costly RSA consistency check (about 0.1 s for 3072 bits, on every
    # certificate a CA signs) proves nothing here; one parse per PEM serves every later signature.
    return serialization.load_pem_private_key(pem.encode(), password=None, unsafe_skip_rsa_key_validation=True)


def _hash_for(key: Any) -> hashes.HashAlgorithm | None:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def _algorithm_name(key: Any) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "RSA"
    return "ECDSA" if isinstance(key, ec.EllipticCurvePrivateKey) else "ED25519"


def _subject(subject: Mapping[str, Any] | None) -> x509.Name:
    attributes = [
        x509.NameAttribute(oid, str(subject[field]))
        for field, oid in SUBJECT_FIELDS.items()
        if subject and subject.get(field)
    ]
    return x509.Name(attributes)


def _sans(inputs: Mapping[str, Any]) -> list[x509.GeneralName]:
    return (
        [x509.DNSName(d) for d in inputs.get("dnsNames") or []]
        + [x509.IPAddress(ipaddress.ip_address(i)) for i in inputs.get("ipAddresses") or []]
        + [x509.UniformResourceIdentifier(u) for u in inputs.get("uris") or []]
    )


def _usages(builder: x509.CertificateBuilder, uses: list[str]) -> x509.CertificateBuilder:
    unknown = set(uses) - set(KEY_USAGES) - set(EXTENDED_USAGES)
    if unknown:
        raise ValueError(f"tls: unknown allowed_uses {sorted(unknown)}")
    if any(u in KEY_USAGES for u in uses):
        flags = {u: u in uses for u in KEY_USAGES}
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=flags["digital_signature"],
                content_commitment=flags["content_commitment"],
                key_encipherment=flags["key_encipherment"],
                data_encipherment=flags["data_encipherment"],
                key_agreement=flags["key_agreement"],
                key_cert_sign=flags["cert_signing"],
                crl_sign=flags["crl_signing"],
                encipher_only=flags["encipher_only"],
                decipher_only=flags["decipher_only"],
            ),
            critical=True,
        )
    extended = [EXTENDED_USAGES[u] for u in uses if u in EXTENDED_USAGES]
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    return builder


def _certificate(
    inputs: Mapping[str, Any],
    *,
    subject: x509.Name,
    public_key: Any,
    sans: list[x509.GeneralName],
    issuer: x509.Name,
    signing_key: Any,
    issuer_key_id: bytes | None,
) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    end = now + datetime.timedelta(hours=int(inputs["validityPeriodHours"]))
    is_ca = bool(inputs.get("isCaCertificate", False))
    max_path = inputs.get("maxPathLength")
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(end)
        .add_extension(
            x509.BasicConstraints(
                ca=is_ca, path_length=int(max_path) if is_ca and max_path is not None and int(max_path) >= 0 else None
            ),
            critical=True,
        )
    )
    builder = _usages(builder, list(inputs.get("allowedUses") or []))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if inputs.get("setSubjectKeyId"):
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    if issuer_key_id is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier(issuer_key_id, None, None), critical=False)
    cert = builder.sign(signing_key, _hash_for(signing_key))
    renewal = datetime.timedelta(hours=int(inputs.get("earlyRenewalHours") or 0))
    return {
        **inputs,
        "certPem": _pem(cert.public_bytes(serialization.Encoding.PEM)),
        "validityStartTime": now.isoformat().replace("+00:00", "Z"),
        "validityEndTime": end.isoformat().replace("+00:00", "Z"),
        "readyForRenewal": now >= end - renewal,
    }


def self_signed_cert(inputs: Mapping[str, Any]) -> dict[str, Any]:
    key = _load_key(inputs["privateKeyPem"])
    subject = _subject(inputs.get("subject"))
    key_id = x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest
    outputs = _certificate(
        inputs,
        subject=subject,
        public_key=key.public_key(),
        sans=_sans(inputs),
        issuer=subject,
        signing_key=key,
        issuer_key_id=key_id if inputs.get("setAuthorityKeyId") else None,
    )
    return {**outputs, "keyAlgorithm": _algorithm_name(key)}


def cert_request(inputs: Mapping[str, Any]) -> dict[str, Any]:
    key = _load_key(inputs["privateKeyPem"])
    builder = x509.CertificateSigningRequestBuilder().subject_name(_subject(inputs.get("subject")))
    sans = _sans(inputs)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    csr = builder.sign(key, _hash_for(key))
    return {
        **inputs,
        "certRequestPem": _pem(csr.public_bytes(serialization.Encoding.PEM)),
        "keyAlgorithm": _algorithm_name(key),
    }


def locally_signed_cert(inputs: Mapping[str, Any]) -> dict[str, Any]:
    csr = x509.load_pem_x509_csr(inputs["certRequestPem"].encode())
    if not csr.is_signature_valid:
        raise ValueError("tls.LocallySignedCert: the certificate request's signature is invalid")
    ca_cert = x509.load_pem_x509_certificate(inputs["caCertPem"].encode())
    ca_key = _load_key(inputs["caPrivateKeyPem"])
    try:
        sans = list(csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        sans = []
    try:
        ca_key_id: bytes | None = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        ca_key_id = None
    outputs = _certificate(
        inputs,
        subject=csr.subject,
        public_key=csr.public_key(),
        sans=sans,
        issuer=ca_cert.subject,
        signing_key=ca_key,
        issuer_key_id=ca_key_id,
    )
    return {**outputs, "caKeyAlgorithm": _algorithm_name(ca_key)}


CREATE = {
    "tls:index/privateKey:PrivateKey": private_key,
    "tls:index/selfSignedCert:SelfSignedCert": self_signed_cert,
    "tls:index/certRequest:CertRequest": cert_request,
    "tls:index/locallySignedCert:LocallySignedCert": locally_signed_cert,
}
