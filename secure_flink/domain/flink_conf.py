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


# Keys the operator's validator refuses in flinkConfiguration (DefaultValidator.FORBIDDEN_CONF_KEYS, 1.15).
OPERATOR_FORBIDDEN_KEYS = frozenset({"kubernetes.namespace", "kubernetes.cluster-id", "high-availability.cluster-id"})

_TRUST = "trust is decided by the truststores this stack builds"
_POD = "the stack's restricted pod template and per-deployment ServiceAccount must apply"
# Keys a user may not set because the stack decides them, with the reason. Beyond TLS_KEYS: Flink's unscoped
# SSL fallbacks (read when a scoped key is missing), certificate pinning, what bypasses the pod template or
# the ServiceAccount, and the REST port the proxies, the operator and the NetworkPolicies use.
STACK_OWNED_KEYS = {
    **dict.fromkeys(
        (
            "security.ssl.keystore",
            "security.ssl.keystore-password",
            "security.ssl.key-password",
            "security.ssl.truststore",
            "security.ssl.truststore-password",
            "security.ssl.internal.cert.fingerprint",
            "security.ssl.rest.cert.fingerprint",
        ),
        _TRUST,
    ),
    **dict.fromkeys(
        (
            "kubernetes.pod-template-file",
            "kubernetes.pod-template-file.default",
            "kubernetes.pod-template-file.jobmanager",
            "kubernetes.pod-template-file.taskmanager",
            "kubernetes.service-account",
            "kubernetes.jobmanager.service-account",
            "kubernetes.taskmanager.service-account",
        ),
        _POD,
    ),
    **dict.fromkeys(
        ("rest.port", "rest.bind-port"),
        f"the proxies, the operator and the NetworkPolicies reach the REST API on {names.REST_PORT}",
    ),
}

# SSL options a user may tune: timeouts and session caches, which neither weaken nor break TLS.
TUNABLE_SSL_KEYS = frozenset(
    f"security.ssl.{scope}{option}"
    for scope in ("", "internal.")
    for option in ("handshake-timeout", "close-notify-flush-timeout", "session-cache-size", "session-timeout")
)

# Options whose other values weaken what the stack secures: (allowed values, case-insensitive; why).
REQUIRED_VALUES = {
    "security.ssl.verify-hostname": (("true",), "off, a client accepts any certificate of the CA for any host"),
    "security.ssl.provider": (("JDK",), "OPENSSL needs netty-tcnative, which the Flink image does not ship"),
    "kubernetes.hostnetwork.enabled": (
        ("false",),
        "host networking puts Flink's ports on the node, outside every NetworkPolicy and the restricted profile",
    ),
    "kubernetes.rest-service.exposed.type": (
        ("ClusterIP", "Headless_ClusterIP"),
        "a NodePort or LoadBalancer exposes the REST API (which runs code) around the authenticating proxies",
    ),
}


class HighAvailability(str, Enum):
    NONE = "none"
    ZOOKEEPER = "zookeeper"
    KUBERNETES = "kubernetes"
    FACTORY_CLASS = "factory-class"


# In the order Flink reads them: `high-availability.type`, then its deprecated names.
HA_MODE_KEYS = ("high-availability.type", "high-availability", "recovery.mode")
HA_STORAGE_KEYS = (
    "high-availability.storageDir",
    "high-availability.zookeeper.storageDir",
    "recovery.zookeeper.storageDir",
)
KUBERNETES_HA_FACTORY = "org.apache.flink.kubernetes.highavailability.KubernetesHaServicesFactory"
CHECKPOINT_DIR_KEYS = ("execution.checkpointing.dir", "state.checkpoints.dir")
SAVEPOINT_DIR_KEYS = ("execution.checkpointing.savepoint-dir", "state.savepoints.dir")


def first_set(flink_configuration: Mapping[str, str], keys: tuple[str, ...]) -> str | None:
    """The value of the first of `keys` that is set (Flink's fallback keys), or None."""
    return next((flink_configuration[key] for key in keys if key in flink_configuration), None)


def ha_setting(flink_configuration: Mapping[str, str]) -> str | None:
    return first_set(flink_configuration, HA_MODE_KEYS)


def high_availability(flink_configuration: Mapping[str, str]) -> HighAvailability:
    """The HA mode as Flink decides it (HighAvailabilityMode.fromConfig): `standalone` (any case) is none,
    a mode name in any case is that mode, anything else is a factory class to load."""
    value = ha_setting(flink_configuration)
    if value is None or value.lower() == "standalone":
        return HighAvailability.NONE
    by_name = {
        "NONE": HighAvailability.NONE,
        "ZOOKEEPER": HighAvailability.ZOOKEEPER,
        "KUBERNETES": HighAvailability.KUBERNETES,
    }
    if value.upper() in by_name:
        return by_name[value.upper()]
    return HighAvailability.KUBERNETES if value == KUBERNETES_HA_FACTORY else HighAvailability.FACTORY_CLASS


def merge_flink_configuration(*fragments: Mapping[str, str]) -> dict[str, str]:
    """Union of the fragments; raises ConflictingKeysError when two of them set the same key."""
    merged: dict[str, str] = {}
    for fragment in fragments:
        clash = merged.keys() & fragment.keys()
        if clash:
            raise ConflictingKeysError(set(clash))
        merged.update(fragment)
    return merged
