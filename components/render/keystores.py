"""Deterministic PKCS#12 keystores and truststores for Java (Flink) TLS.

Equal inputs give byte-identical output, so a Secret rendered from them changes only
when a key, certificate, password or alias changes. The encoding is OpenSSL 3's default
(PBES2: PBKDF2-HMAC-SHA256 + AES-256-CBC; HMAC-SHA256 MAC), which Java 17 reads.
Pure: no clock, no randomness, no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, hmac, padding, serialization
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

__all__ = ["java_keystore", "java_truststore"]

# 10x Java 17's own PKCS12 default (10,000) and far below Java's 5,000,000 cap;
# each render and each Flink start pays ~3 derivations, keeping both well under 1 s.
# The password is machine-generated, so more iterations would buy little.
_PBES2_ITERATIONS = 100_000
# OpenSSL's PKCS12_DEFAULT_ITER; the MAC only guards integrity, encryption uses PBES2.
_MAC_ITERATIONS = 2048
_SALT_BYTES = 16

_OID_DATA = "1.2.840.113549.1.7.1"
_OID_ENCRYPTED_DATA = "1.2.840.113549.1.7.6"
_OID_PBES2 = "1.2.840.113549.1.5.13"
_OID_PBKDF2 = "1.2.840.113549.1.5.12"
_OID_HMAC_SHA256 = "1.2.840.113549.2.9"
_OID_AES256_CBC = "2.16.840.1.101.3.4.1.42"
_OID_SHA256 = "2.16.840.1.101.3.4.2.1"
_OID_SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2"
_OID_CERT_BAG = "1.2.840.113549.1.12.10.1.3"
_OID_X509_CERT = "1.2.840.113549.1.9.22.1"
_OID_FRIENDLY_NAME = "1.2.840.113549.1.9.20"
_OID_LOCAL_KEY_ID = "1.2.840.113549.1.9.21"
_OID_ORACLE_TRUSTED_KEY_USAGE = "2.16.840.1.113894.746875.1.1"
_OID_ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0"
_DER_NULL = b"\x05\x00"


def _tlv(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + body


def _seq(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def _set(*items: bytes) -> bytes:
    # DER orders SET OF elements by their encodings.
    return _tlv(0x31, b"".join(sorted(items)))


def _int(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _octets(value: bytes) -> bytes:
    return _tlv(0x04, value)


def _bmp(text: str) -> bytes:
    return _tlv(0x1E, text.encode("utf-16-be"))


def _explicit0(inner: bytes) -> bytes:
    return _tlv(0xA0, inner)


def _oid(dotted: str) -> bytes:
    arcs = [int(arc) for arc in dotted.split(".")]
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            chunk.append(0x80 | (arc & 0x7F))
        body.extend(reversed(chunk))
    return _tlv(0x06, bytes(body))


def _pkcs12_kdf(password: str, salt: bytes, purpose: int, iterations: int) -> bytes:
    """RFC 7292 Appendix B.2 with SHA-256, first 32-byte block only (all an HMAC-SHA256 key needs)."""
    block_size = 64

    def fill(data: bytes) -> bytes:
        target = block_size * -(-len(data) // block_size)
        return (data * (target // len(data) + 1))[:target]

    # BMPString form of the password, NUL-terminated, as RFC 7292 B.1 prescribes.
    digest = bytes([purpose]) * block_size + fill(salt) + fill(password.encode("utf-16-be") + b"\x00\x00")
    for _ in range(iterations):
        digest = hashlib.sha256(digest).digest()
    return digest


def _salt_seed(password: bytes, public_der: bytes) -> bytes:
    # Salts and IVs are stored in clear; keying them with the bare password would give an
    # offline guesser a one-HMAC check on (public) certificates, so stretch it like PBES2,
    # salted with the certificates so guesses cannot be precomputed across stores.
    salt = hashlib.sha256(b"secure-flink/pkcs12/salt-seed/v1\x00" + public_der).digest()
    return PBKDF2HMAC(hashes.SHA256(), 32, salt, _PBES2_ITERATIONS).derive(password)


def _derive(seed: bytes, purpose: bytes, content: bytes) -> bytes:
    mac = hmac.HMAC(seed, hashes.SHA256())
    mac.update(purpose + b"\x00" + content)
    return mac.finalize()[:_SALT_BYTES]


def _pbes2_encrypt(plaintext: bytes, password: bytes, seed: bytes, purpose: bytes) -> tuple[bytes, bytes]:
    """Return (PBES2 AlgorithmIdentifier DER, ciphertext) for AES-256-CBC under PBKDF2-HMAC-SHA256."""
    salt = _derive(seed, purpose + b"/salt", plaintext)
    iv = _derive(seed, purpose + b"/iv", plaintext)
    key = PBKDF2HMAC(hashes.SHA256(), 32, salt, _PBES2_ITERATIONS).derive(password)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padder.update(plaintext) + padder.finalize()) + encryptor.finalize()
    kdf = _seq(_oid(_OID_PBKDF2), _seq(_octets(salt), _int(_PBES2_ITERATIONS), _seq(_oid(_OID_HMAC_SHA256), _DER_NULL)))
    scheme = _seq(_oid(_OID_AES256_CBC), _octets(iv))
    return _seq(_oid(_OID_PBES2), _seq(kdf, scheme)), ciphertext


def _attr(oid: str, value: bytes) -> bytes:
    return _seq(_oid(oid), _set(value))


def _safe_bag(bag_oid: str, value: bytes, attributes: Sequence[bytes]) -> bytes:
    return _seq(_oid(bag_oid), _explicit0(value), _set(*attributes) if attributes else b"")


def _cert_bag(cert_der: bytes, attributes: Sequence[bytes]) -> bytes:
    return _safe_bag(_OID_CERT_BAG, _seq(_oid(_OID_X509_CERT), _explicit0(_octets(cert_der))), attributes)


def _data_content_info(content: bytes) -> bytes:
    return _seq(_oid(_OID_DATA), _explicit0(_octets(content)))


def _encrypted_content_info(safe_contents: bytes, password: bytes, seed: bytes) -> bytes:
    algorithm, ciphertext = _pbes2_encrypt(safe_contents, password, seed, b"certificates")
    encrypted = _seq(_oid(_OID_DATA), algorithm, _tlv(0x80, ciphertext))
    return _seq(_oid(_OID_ENCRYPTED_DATA), _explicit0(_seq(_int(0), encrypted)))


def _pfx(content_infos: Sequence[bytes], password: str, seed: bytes) -> bytes:
    auth_safe = _seq(*content_infos)
    salt = _derive(seed, b"mac/salt", auth_safe)
    mac = hmac.HMAC(_pkcs12_kdf(password, salt, 3, _MAC_ITERATIONS), hashes.SHA256())
    mac.update(auth_safe)
    digest_info = _seq(_seq(_oid(_OID_SHA256), _DER_NULL), _octets(mac.finalize()))
    mac_data = _seq(digest_info, _octets(salt), _int(_MAC_ITERATIONS))
    return _seq(_int(3), _data_content_info(auth_safe), mac_data)


def _require_password(password: str) -> None:
    if not isinstance(password, str) or not password:
        raise ValueError("password must be a non-empty string")


def _require_aliases(aliases: Sequence[str], argument: str) -> None:
    seen: set[str] = set()
    for alias in aliases:
        if not isinstance(alias, str) or not alias:
            raise ValueError(f"{argument} must be non-empty strings, got {alias!r}")
        # Java's PKCS12 KeyStore lower-cases aliases, so "CA" and "ca" would collide silently.
        if alias.lower() in seen:
            raise ValueError(f"{argument} contains duplicate alias {alias!r} (Java ignores alias case)")
        seen.add(alias.lower())


def _load_certs(pems: Sequence[str], argument: str) -> list[x509.Certificate]:
    if isinstance(pems, (str, bytes)):
        raise TypeError(f"{argument} must be a sequence of PEM strings, not a single string")
    certs: list[x509.Certificate] = []
    for index, pem in enumerate(pems):
        try:
            loaded = x509.load_pem_x509_certificates(pem.encode())
        except (ValueError, AttributeError) as exc:
            raise ValueError(f"{argument}[{index}] is not a PEM certificate: {exc}") from exc
        if len(loaded) != 1:
            raise ValueError(f"{argument}[{index}] must hold exactly one PEM certificate, found {len(loaded)}")
        certs.append(loaded[0])
    if not certs:
        raise ValueError(f"{argument} must contain at least one certificate")
    return certs


def _load_matching_key(private_key_pem: str, leaf: x509.Certificate) -> bytes:
    """Return the key as unencrypted PKCS#8 DER after checking it belongs to ``leaf``."""
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"private_key_pem is not an unencrypted PEM private key: {exc}") from exc
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != leaf.public_key().public_bytes(*spki):
        raise ValueError("private_key_pem does not match the public key of certificate_chain_pems[0]")
    pkcs8 = serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    return key.private_bytes(*pkcs8)


def java_keystore(*, private_key_pem: str, certificate_chain_pems: Sequence[str], password: str, alias: str) -> bytes:
    """PKCS12 keystore holding one PrivateKeyEntry: the key, its leaf certificate (first PEM) and the rest of the chain.

    Output is a pure function of the arguments: byte-identical for equal inputs, different
    if any input changes. One PEM certificate per chain element, leaf first; the key
    (unencrypted PEM, PKCS#1/SEC1/PKCS#8) must match the leaf. ``password`` protects both
    store and key, as Flink expects. ValueError (naming the argument) for an empty password
    or alias, empty chain, unparsable PEM or key/leaf mismatch; TypeError for a bare str chain.
    """
    _require_password(password)
    _require_aliases([alias], "alias")
    certs = _load_certs(certificate_chain_pems, "certificate_chain_pems")
    pkcs8 = _load_matching_key(private_key_pem, certs[0])
    ders = [cert.public_bytes(serialization.Encoding.DER) for cert in certs]
    secret = password.encode()
    seed = _salt_seed(secret, b"".join(ders))
    # Java pairs the key with its certificate through localKeyId; SHA-1 of the leaf is OpenSSL's choice.
    local_key_id = certs[0].fingerprint(hashes.SHA1())
    names = [_attr(_OID_FRIENDLY_NAME, _bmp(alias)), _attr(_OID_LOCAL_KEY_ID, _octets(local_key_id))]
    cert_bags = [_cert_bag(ders[0], names), *(_cert_bag(der, []) for der in ders[1:])]
    algorithm, ciphertext = _pbes2_encrypt(pkcs8, secret, seed, b"private-key")
    key_bag = _safe_bag(_OID_SHROUDED_KEY_BAG, _seq(algorithm, _octets(ciphertext)), names)
    contents = [_encrypted_content_info(_seq(*cert_bags), secret, seed), _data_content_info(_seq(key_bag))]
    return _pfx(contents, password, seed)


def java_truststore(
    *, trusted_certificate_pems: Sequence[str], password: str, aliases: Sequence[str] | None = None
) -> bytes:
    """PKCS12 truststore Java reads as trustedCertEntry items.

    Each certificate bag carries the Oracle trusted-key-usage attribute (2.16.840.1.113894.746875.1.1
    with anyExtendedKeyUsage 2.5.29.37.0): without it Java sees a key-less certificate as no entry at all.

    Output is a pure function of the arguments. One PEM certificate per element;
    ``aliases`` (default ``ca-0``, ``ca-1``, ...) become friendly names: non-empty, one per
    certificate, unique ignoring case (Java lower-cases aliases). ValueError (naming the
    argument) for an empty password or list, unparsable PEM or bad aliases; TypeError for
    a bare str where a sequence is expected.
    """
    _require_password(password)
    certs = _load_certs(trusted_certificate_pems, "trusted_certificate_pems")
    if isinstance(aliases, (str, bytes)):
        raise TypeError("aliases must be a sequence of strings, not a single string")
    names = list(aliases) if aliases is not None else [f"ca-{index}" for index in range(len(certs))]
    if len(names) != len(certs):
        raise ValueError(f"aliases has {len(names)} entries but trusted_certificate_pems has {len(certs)}")
    _require_aliases(names, "aliases")
    ders = [cert.public_bytes(serialization.Encoding.DER) for cert in certs]
    secret = password.encode()
    seed = _salt_seed(secret, b"".join(ders))
    # Without this attribute Java ignores key-less certificate bags entirely.
    trusted = _attr(_OID_ORACLE_TRUSTED_KEY_USAGE, _oid(_OID_ANY_EXTENDED_KEY_USAGE))
    bags = [
        _cert_bag(der, [_attr(_OID_FRIENDLY_NAME, _bmp(name)), trusted]) for der, name in zip(ders, names, strict=True)
    ]
    return _pfx([_encrypted_content_info(_seq(*bags), secret, seed)], password, seed)
