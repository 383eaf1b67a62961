"""The proxy's Deployment and Service: a hardened nginx pod that runs under any non-root UID."""

from dataclasses import dataclass

from . import names
from .images import image_problem
from .nginx import body_size_problem
from .problems import ArgumentChecks

# A UID above 10000 is outside the ranges distributions give system users, so it owns nothing on
# the node (checkov CKV_K8S_40). OpenShift assigns its own UID, so there the field is left out.
KUBERNETES_UID = 10101
CONTAINER = "nginx"


@dataclass(frozen=True, kw_only=True)
class ProxyOptions:
    """What every nginx proxy of a stack shares: the image it runs, the largest request body it passes (jar
    uploads), and the IngressClass that exposes it on Kubernetes."""

    image: str
    max_body_size: str
    ingress_class: str

    def __post_init__(self) -> None:
        checks = ArgumentChecks(self)
        checks.check(
            "image", self.image, image_problem(self.image), "image='nginxinc/nginx-unprivileged:1.29.4-alpine'"
        )
        checks.check("max_body_size", self.max_body_size, body_size_problem(self.max_body_size), "max_body_size='256m'")
        checks.check(
            "ingress_class", self.ingress_class, names.namespace_problem(self.ingress_class), "ingress_class='nginx'"
        )
        checks.raise_any()


@dataclass(frozen=True, kw_only=True)
class ProxyWorkload:
    deployment: str
    """The FlinkDeployment the proxy fronts."""
    role: str
    """`ui-proxy` or `api-proxy`: one deployment may have both, and the NetworkPolicy names each."""
    image: str
    config_map: str
    tls_secret: str
    htpasswd_secret: str | None
    """None in client-certificate mode: nothing secret to mount besides the TLS key."""
    upstream_identity_secret: str | None = None
    """The certificate the proxy presents to Flink when Flink's REST API requires one (REST mTLS)."""
    assign_uid: bool
    """True on Kubernetes (a fixed high UID); False on OpenShift, whose restricted SCC assigns one."""
    replicas: int = 1
    session_cache: bool = False
    """Single sign-on: a memory-backed volume at PROXY_SESSION_CACHE_DIR for oauth2-proxy's recent answers, which
    name session signatures: kept off the node's disk."""


def is_digest_pinned(image: str) -> bool:
    return "@sha256:" in image


def pull_policy(image: str) -> str:
    """A tag can be moved to other content, so the kubelet re-resolves it on every start; that also keeps
    a pod from running a private image another tenant's pull left on the node. A digest cannot move."""
    return "IfNotPresent" if is_digest_pinned(image) else "Always"


def scanner_waivers(image: str, assign_uid: bool) -> dict[str, str]:
    """checkov suppressions, as annotations on the Deployment, each with the reason it does not apply."""
    reasons = []
    if not is_digest_pinned(image):
        reasons.append(
            "CKV_K8S_43=the image is pinned by version tag and pulled Always; "
            "set proxyImage to image@sha256:<digest> to pin its content"
        )
    if not assign_uid:
        reasons.append(
            "CKV_K8S_40=OpenShift's restricted SCC assigns the UID from the namespace's range (1000000000 and up)"
        )
    return {f"checkov.io/skip{i}": reason for i, reason in enumerate(reasons, start=1)}


def proxy_labels(deployment: str, role: str) -> dict[str, str]:
    return names.labels(deployment, role)


def _selector(deployment: str, role: str) -> dict[str, str]:
    labels = proxy_labels(deployment, role)
    return {k: labels[k] for k in ("app.kubernetes.io/instance", "app.kubernetes.io/component")}


def _probe(period: int, failures: int) -> dict[str, object]:
    return {
        "httpGet": {"path": names.HEALTH_PATH, "port": "https", "scheme": "HTTPS"},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": 2,
    }


def _container(workload: ProxyWorkload) -> dict[str, object]:
    return {
        "name": CONTAINER,
        "image": workload.image,
        "imagePullPolicy": pull_policy(workload.image),
        # Run nginx directly: the image's entrypoint scripts rewrite files under /etc/nginx,
        # which a read-only root filesystem refuses.
        "command": [
            "nginx",
            "-e",
            "stderr",
            "-c",
            f"{names.PROXY_CONFIG_MOUNT}/{names.NGINX_CONF_FILE}",
            "-g",
            "daemon off;",
        ],
        "ports": [{"name": "https", "containerPort": names.PROXY_PORT, "protocol": "TCP"}],
        "securityContext": container_security(),
        "resources": {
            "requests": {"cpu": "100m", "memory": "64Mi"},
            "limits": {"cpu": "2", "memory": "256Mi"},
        },
        "readinessProbe": _probe(period=5, failures=3),
        "livenessProbe": _probe(period=10, failures=6),
        "volumeMounts": [
            {"name": "config", "mountPath": names.PROXY_CONFIG_MOUNT, "readOnly": True},
            {"name": "tls", "mountPath": names.PROXY_TLS_MOUNT, "readOnly": True},
            *(
                [{"name": "auth", "mountPath": names.PROXY_AUTH_MOUNT, "readOnly": True}]
                if workload.htpasswd_secret
                else []
            ),
            *(
                [{"name": "upstream", "mountPath": names.PROXY_UPSTREAM_MOUNT, "readOnly": True}]
                if workload.upstream_identity_secret
                else []
            ),
            {"name": "tmp", "mountPath": names.PROXY_TEMP_DIR},
            *([{"name": "sessions", "mountPath": names.PROXY_SESSION_CACHE_DIR}] if workload.session_cache else []),
        ],
    }


def container_security() -> dict[str, object]:
    """A container of the stack's own pods: no privilege, no capability, nothing written outside its volumes."""
    return {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security(assign_uid: bool) -> dict[str, object]:
    """A pod of the stack's own: non-root, with a fixed high UID where the platform does not assign one."""
    context: dict[str, object] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    if assign_uid:
        context.update(runAsUser=KUBERNETES_UID, runAsGroup=KUBERNETES_UID, fsGroup=KUBERNETES_UID)
    return context


def proxy_deployment_spec(workload: ProxyWorkload) -> dict[str, object]:
    """Deployment `spec`. ConfigMap and Secrets are auto-named by Pulumi, so a new config, password or
    certificate means new names here, and the pods roll."""
    return {
        "replicas": workload.replicas,
        "selector": {"matchLabels": _selector(workload.deployment, workload.role)},
        "template": {
            "metadata": {"labels": proxy_labels(workload.deployment, workload.role)},
            "spec": {
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "securityContext": pod_security(workload.assign_uid),
                "containers": [_container(workload)],
                "volumes": [
                    {"name": "config", "configMap": {"name": workload.config_map}},
                    {"name": "tls", "secret": {"secretName": workload.tls_secret}},
                    *(
                        [{"name": "auth", "secret": {"secretName": workload.htpasswd_secret}}]
                        if workload.htpasswd_secret
                        else []
                    ),
                    *(
                        [{"name": "upstream", "secret": {"secretName": workload.upstream_identity_secret}}]
                        if workload.upstream_identity_secret
                        else []
                    ),
                    {"name": "tmp", "emptyDir": {"sizeLimit": "512Mi"}},
                    # nginx keeps it under 8 MiB (max_size), some 2 000 sessions and routes of the last minute.
                    *(
                        [{"name": "sessions", "emptyDir": {"medium": "Memory", "sizeLimit": "32Mi"}}]
                        if workload.session_cache
                        else []
                    ),
                ],
            },
        },
    }


def proxy_service_spec(deployment: str, role: str) -> dict[str, object]:
    return {
        "type": "ClusterIP",
        "selector": _selector(deployment, role),
        "ports": [{"name": "https", "port": names.PROXY_PORT, "targetPort": "https", "protocol": "TCP"}],
    }
