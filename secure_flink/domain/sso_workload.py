"""oauth2-proxy for one Web UI: its Deployment, Service and NetworkPolicy, where its files are, and the arguments
it runs with (secure_flink/domain/oauth2_proxy.py). A hardened pod that only the UI proxy reaches and that reaches
only the identity provider."""

from collections.abc import Mapping
from dataclasses import dataclass

from . import names
from .network_policy import EGRESS, INGRESS, EgressRule
from .oauth2_proxy import OAuth2ProxySite, OidcLogin, oauth2_proxy_args
from .proxy_workload import container_security, pod_security, pull_policy

COMPONENT = "sso"
"""The pods' `app.kubernetes.io/component` label."""
CONTAINER = "oauth2-proxy"
PORT = 4443
IMAGE = "quay.io/oauth2-proxy/oauth2-proxy:v7.15.6"
"""The release the tests run (built from its Go module); its image runs as a non-root user with no shell."""
TLS_MOUNT = "/etc/oauth2-proxy/tls"
SECRETS_MOUNT = "/etc/oauth2-proxy/secrets"
PROVIDER_CA_MOUNT = "/etc/oauth2-proxy/provider-ca"
CLIENT_SECRET_FILE = "client-secret"
COOKIE_SECRET_FILE = "cookie-secret"
PROVIDER_CA_FILE = "ca.crt"


def service_name(deployment: str) -> str:
    return f"{deployment}-sso"


def service_host(deployment: str, namespace: str) -> str:
    """The name the UI proxy calls oauth2-proxy by, which its certificate carries."""
    return f"{service_name(deployment)}.{namespace}.svc"


def sso_labels(deployment: str) -> dict[str, str]:
    return names.labels(deployment, COMPONENT)


def _selector(deployment: str) -> dict[str, str]:
    labels = sso_labels(deployment)
    return {key: labels[key] for key in ("app.kubernetes.io/instance", "app.kubernetes.io/component")}


def sso_arguments(login: OidcLogin, ui_url: str) -> tuple[str, ...]:
    """oauth2-proxy's command line in the pod: `login` (whose provider CA, if any, is the mounted one) for the UI at
    `ui_url`, over HTTPS on PORT with the mounted certificate and secret files."""
    site = OAuth2ProxySite(
        ui_url=ui_url,
        https_address=f"0.0.0.0:{PORT}",
        tls_cert_file=f"{TLS_MOUNT}/tls.crt",
        tls_key_file=f"{TLS_MOUNT}/tls.key",
        client_secret_file=f"{SECRETS_MOUNT}/{CLIENT_SECRET_FILE}",
        cookie_secret_file=f"{SECRETS_MOUNT}/{COOKIE_SECRET_FILE}",
    )
    return oauth2_proxy_args(login, site)


@dataclass(frozen=True, kw_only=True)
class SsoWorkload:
    deployment: str
    """The FlinkDeployment whose UI this signs users in to."""
    image: str
    arguments: tuple[str, ...]
    tls_secret: str
    secrets_secret: str
    """Holds CLIENT_SECRET_FILE and COOKIE_SECRET_FILE."""
    provider_ca_config_map: str | None
    """Holds PROVIDER_CA_FILE, for an identity provider with a private CA; None: the image's trust store."""
    assign_uid: bool


def _probe(period: int, failures: int) -> dict[str, object]:
    return {
        "httpGet": {"path": "/ping", "port": "https", "scheme": "HTTPS"},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": 2,
    }


def _mounts(workload: SsoWorkload) -> list[dict[str, object]]:
    mounts: list[dict[str, object]] = [
        {"name": "tls", "mountPath": TLS_MOUNT, "readOnly": True},
        {"name": "secrets", "mountPath": SECRETS_MOUNT, "readOnly": True},
    ]
    if workload.provider_ca_config_map is not None:
        mounts.append({"name": "provider-ca", "mountPath": PROVIDER_CA_MOUNT, "readOnly": True})
    return mounts


def _volumes(workload: SsoWorkload) -> list[dict[str, object]]:
    volumes: list[dict[str, object]] = [
        {"name": "tls", "secret": {"secretName": workload.tls_secret}},
        {"name": "secrets", "secret": {"secretName": workload.secrets_secret}},
    ]
    if workload.provider_ca_config_map is not None:
        volumes.append({"name": "provider-ca", "configMap": {"name": workload.provider_ca_config_map}})
    return volumes


def sso_deployment_spec(workload: SsoWorkload) -> dict[str, object]:
    """Deployment `spec`; the Secrets and ConfigMap are auto-named, so a new secret or CA rolls the pod."""
    container = {
        "name": CONTAINER,
        "image": workload.image,
        "imagePullPolicy": pull_policy(workload.image),
        "args": list(workload.arguments),
        "ports": [{"name": "https", "containerPort": PORT, "protocol": "TCP"}],
        "securityContext": container_security(),
        "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"cpu": "1", "memory": "128Mi"}},
        "readinessProbe": _probe(period=5, failures=3),
        "livenessProbe": _probe(period=10, failures=6),
        "volumeMounts": _mounts(workload),
    }
    return {
        "replicas": 1,
        "selector": {"matchLabels": _selector(workload.deployment)},
        "template": {
            "metadata": {"labels": sso_labels(workload.deployment)},
            "spec": {
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "securityContext": pod_security(workload.assign_uid),
                "containers": [container],
                "volumes": _volumes(workload),
            },
        },
    }


def sso_service_spec(deployment: str) -> dict[str, object]:
    return {
        "type": "ClusterIP",
        "selector": _selector(deployment),
        "ports": [{"name": "https", "port": PORT, "targetPort": "https", "protocol": "TCP"}],
    }


def sso_policy(
    *, deployment: str, ui_proxy_labels: Mapping[str, str], provider: tuple[EgressRule, ...]
) -> dict[str, object]:
    """oauth2-proxy: in from its UI proxy only, on PORT; out to the identity provider's addresses only (DNS is the
    namespace baseline's)."""
    return {
        "podSelector": {"matchLabels": sso_labels(deployment)},
        "policyTypes": [INGRESS, EGRESS],
        "ingress": [
            {
                "from": [{"podSelector": {"matchLabels": dict(ui_proxy_labels)}}],
                "ports": [{"protocol": "TCP", "port": PORT}],
            }
        ],
        "egress": [
            {
                "to": [{"ipBlock": {"cidr": rule.cidr}}],
                "ports": [{"protocol": "TCP", "port": port} for port in rule.ports],
            }
            for rule in provider
        ],
    }
