"""flinkConfiguration fragments and the one way to combine them.

Every fragment owns its keys. Merging refuses a key set twice, because a silent overwrite of a
security key (a keystore path, a protocol) is exactly the misconfiguration this project prevents.
"""

from collections.abc import Mapping
from enum import Enum

from . import names
from .tls_policy import KeyAlgorithm, TlsProtocol, jsse_cipher_suites

STORE_TYPE = "PKCS12"

# Flink 2.x removed this switch; setting it turns nothing on, so a config carrying it is a mistake.
REMOVED_KEYS = frozenset({"security.ssl.enabled"})


class RestAuthentication(str, Enum):
    TLS = "tls"
    """REST clients are not authenticated by Flink; the proxies and the NetworkPolicy guard the port."""
    MTLS = "mtls"
    """Flink itself requires a client certificate on REST (and then also enforces the configured
    protocol and suites there, which it ignores otherwise: FLINK-39969)."""


class ConflictingKeysError(ValueError):
    """Two fragments set the same flinkConfiguration key."""

    def __init__(self, keys: set[str]) -> None:
        self.keys = sorted(keys)
        super().__init__(f"flinkConfiguration keys set twice: {', '.join(self.keys)}")


def _store_keys(scope: str, directory: str, password: str) -> dict[str, str]:
    # PKCS12 cannot protect a key with a password other than the store's (FLINK-12871).
    prefix = f"security.ssl.{scope}"
    return {
        f"{prefix}.enabled": "true",
        f"{prefix}.keystore": f"{directory}/{names.KEYSTORE_FILE}",
        f"{prefix}.keystore-type": STORE_TYPE,
        f"{prefix}.keystore-password": password,
        f"{prefix}.key-password": password,
        f"{prefix}.truststore": f"{directory}/{names.TRUSTSTORE_FILE}",
        f"{prefix}.truststore-type": STORE_TYPE,
        f"{prefix}.truststore-password": password,
    }


def tls_flink_configuration(
    *,
    internal_password: str,
    rest_password: str,
    key_algorithm: KeyAlgorithm,
    protocol: TlsProtocol,
    rest_authentication: RestAuthentication = RestAuthentication.TLS,
) -> dict[str, str]:
    """Internal mTLS and REST TLS (or REST mTLS) for one FlinkDeployment, with an explicit protocol and suite list.

    Flink's historic default suite (TLS_RSA_WITH_AES_128_CBC_SHA) is disabled by current JDKs,
    so the list is always written out.
    """
    configuration = {
        **_store_keys("internal", names.INTERNAL_TLS_MOUNT, internal_password),
        **_store_keys("rest", names.REST_TLS_MOUNT, rest_password),
        "security.ssl.protocol": protocol.value,
        "security.ssl.algorithms": ",".join(jsse_cipher_suites(key_algorithm, protocol)),
    }
    if rest_authentication is RestAuthentication.MTLS:
        configuration[REST_AUTHENTICATION_KEY] = "true"
    return configuration


REST_AUTHENTICATION_KEY = "security.ssl.rest.authentication-enabled"


TLS_KEYS = frozenset(
    tls_flink_configuration(
        internal_password="",
        rest_password="",
        key_algorithm=KeyAlgorithm.RSA,
        protocol=TlsProtocol.TLS_1_2,
        rest_authentication=RestAuthentication.MTLS,
    )
)
SECRET_MOUNTS_KEY = "kubernetes.secrets"
MANAGED_KEYS = TLS_KEYS | {SECRET_MOUNTS_KEY}


def merge_flink_configuration(*fragments: Mapping[str, str]) -> dict[str, str]:
    """Union of the fragments; raises ConflictingKeysError when two of them set the same key."""
    merged: dict[str, str] = {}
    for fragment in fragments:
        clash = merged.keys() & fragment.keys()
        if clash:
            raise ConflictingKeysError(set(clash))
        merged.update(fragment)
    return merged
