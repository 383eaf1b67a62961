"""JavaStores: PKCS#12 keystores and truststores encoded by cryptography, kept stable through Pulumi state.

cryptography's PKCS#12 serializers draw a fresh salt and IV on every call, so the stores are encoded once,
when the resource is created, and their bytes live in the stack's state (encrypted, like every secret
output). A `pulumi up` whose keys, certificates and password are unchanged reads them back and changes
nothing, so the Secrets that hold them stay byte-identical and no Flink pod restarts. Any change to what a
store holds, or to the password, replaces the resource: every store is encoded afresh.
"""

import base64
import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

import pulumi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider
from pulumi.output import contains_unknowns

from secure_flink.domain.java_stores import KeyEntry, TrustedEntries

# 10x Java 17's own PKCS12 default (10,000) and far below Java's 5,000,000 cap; each Flink start pays a few
# derivations, well under a second. The password is machine-generated, so more rounds would buy little.
KDF_ROUNDS = 100_000
# What the resource is recreated for. Its state keeps a digest of each (the engine hands a dynamic provider
# its old outputs, not its old inputs), so the key PEMs are not stored twice.
_INPUTS = ("stores", "password")


def encode_store(contents: KeyEntry | TrustedEntries, password: str) -> bytes:
    """One PKCS#12 file: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) for keys and certificates, an HMAC-SHA256 MAC,
    which Java 17, OpenSSL 3 and browsers read. Every call draws a new salt and IV."""
    if not password:
        raise ValueError("password must be a non-empty string")
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(KDF_ROUNDS)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password.encode())
    )
    if "privateKeyPem" in contents:
        # The key is the stack's own (pulumi-tls, never user input) and key_entry matched it to its leaf; OpenSSL's
        # RSA consistency check would add a tenth of a second per 3072-bit key to every store.
        key = serialization.load_pem_private_key(
            str(contents["privateKeyPem"]).encode(), password=None, unsafe_skip_rsa_key_validation=True
        )
        leaf, *chain = (x509.load_pem_x509_certificate(pem.encode()) for pem in contents["certificatePems"])
        alias = str(contents["alias"]).encode()
        return pkcs12.serialize_key_and_certificates(alias, key, leaf, chain, encryption)  # type: ignore[arg-type]
    # serialize_java_truststore marks each certificate trusted for any purpose (Oracle's trusted-key-usage
    # attribute): without it Java sees a key-less certificate as no entry at all.
    trusted = [
        pkcs12.PKCS12Certificate(x509.load_pem_x509_certificate(entry["pem"].encode()), entry["alias"].encode())
        for entry in contents["certificates"]
    ]
    return pkcs12.serialize_java_truststore(trusted, encryption)


class JavaStoresProvider(ResourceProvider):
    """Encodes on create; replaces when a store's contents or the password change; otherwise keeps the bytes."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        files = {
            name: base64.b64encode(encode_store(contents, props["password"])).decode()
            for name, contents in props["stores"].items()
        }
        return CreateResult(id_=uuid.uuid4().hex, outs={"digests": _digests(props), "files": files})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old_digests, new_digests = olds.get("digests") or {}, _digests(news)
        changed = [key for key in _INPUTS if old_digests.get(key) != new_digests[key]]
        return DiffResult(changes=bool(changed), replaces=changed, delete_before_replace=False)


def _digests(props: dict[str, Any]) -> dict[str, str | None]:
    # An input a preview does not know yet has no digest, so it reads as a change.
    return {
        key: None
        if contains_unknowns(props.get(key))
        else hashlib.sha256(json.dumps(props.get(key), sort_keys=True).encode()).hexdigest()
        for key in _INPUTS
    }


class JavaStores(Resource, name="JavaStores"):
    """Java stores protected by one password; `files` maps each file name to its base64 bytes (secret)."""

    files: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        name: str,
        *,
        stores: pulumi.Input[Mapping[str, KeyEntry | TrustedEntries]],
        password: pulumi.Input[str],
        opts: pulumi.ResourceOptions,
    ) -> None:
        secret = pulumi.ResourceOptions(additional_secret_outputs=["digests", "files"])
        super().__init__(
            JavaStoresProvider(),
            name,
            {"stores": stores, "password": password, "digests": None, "files": None},
            pulumi.ResourceOptions.merge(opts, secret),
        )
