"""Kubernetes names, DNS names and mount paths that several objects must agree on.

The FlinkDeployment, its certificates, the operator and later the proxy all refer to the same
strings (`<name>-rest.<namespace>.svc`, mount paths); they are computed here and nowhere else.
"""

import itertools
import re
from collections.abc import Callable, Collection, Iterator, Sequence

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")

MAX_LABEL_LENGTH = 63
# Flink's native Kubernetes integration refuses longer cluster ids
# (KubernetesUtils.checkClusterId, Constants.MAXIMUM_CHARACTERS_OF_CLUSTER_ID).
MAX_DEPLOYMENT_NAME_LENGTH = 45

REST_PORT = 8081
SECRETS_ROOT = "/opt/flink/secrets"
INTERNAL_TLS_MOUNT = f"{SECRETS_ROOT}/internal-tls"
REST_TLS_MOUNT = f"{SECRETS_ROOT}/rest-tls"

KEYSTORE_FILE = "keystore.p12"
TRUSTSTORE_FILE = "truststore.p12"
CA_CERT_FILE = "ca.crt"


def rest_service(deployment: str) -> str:
    """The ClusterIP Service the Flink operator creates for the REST endpoint."""
    return f"{deployment}-rest"


def rest_service_host(deployment: str, namespace: str) -> str:
    """Cluster-local FQDN of the REST Service: what proxies connect to and verify."""
    return f"{rest_service(deployment)}.{namespace}.svc.cluster.local"


def rest_url(deployment: str, namespace: str) -> str:
    return f"https://{rest_service_host(deployment, namespace)}:{REST_PORT}"


def rest_dns_names(deployment: str, namespace: str) -> list[str]:
    """SANs of the REST certificate.

    Every form a client in the cluster uses: the operator calls `<name>-rest.<namespace>`,
    proxies call the `.svc.cluster.local` form. A wildcard would not do: `*.ns.svc` does not
    match `x-rest.ns` because a wildcard covers exactly one label.
    """
    service = rest_service(deployment)
    return [
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.cluster.local",
    ]


def internal_dns_names(deployment: str, namespace: str) -> list[str]:
    """SANs of the internal certificate.

    Internal peers are pods addressed by IP, so no SAN list can name them; trust rests on the
    truststore holding only this deployment's own certificate. The names are informative.
    """
    return [
        deployment,
        f"{deployment}.{namespace}",
        f"{deployment}.{namespace}.svc",
        f"{deployment}.{namespace}.svc.cluster.local",
    ]


def secret_mount_list(mounts: dict[str, str]) -> str:
    """The `kubernetes.secrets` value: `name:path` pairs, in a stable order."""
    return ",".join(f"{name}:{path}" for name, path in sorted(mounts.items()))


def is_dns1123_label(value: str) -> bool:
    return len(value) <= MAX_LABEL_LENGTH and bool(DNS1123_LABEL.match(value))


def is_dns1035_label(value: str) -> bool:
    return len(value) <= MAX_LABEL_LENGTH and bool(DNS1035_LABEL.match(value))


DNS_DOMAIN = re.compile(r"^(?=.{1,200}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
MAX_CLIENT_NAME_LENGTH = 40


def numbered(base: str, max_length: int) -> Iterator[str]:
    """`base`, `base-2`, `base-3`, ...: endless, each cut to `max_length` by shortening `base`, so that a copy of a
    name stays recognisably its copy. Callers take the first that is valid and free: finitely many are taken."""
    yield base[:max_length].rstrip("-")
    for number in itertools.count(2):
        suffix = f"-{number}"
        yield base[: max_length - len(suffix)].rstrip("-") + suffix


def free_label(base: str, taken: Collection[str], max_length: int = MAX_LABEL_LENGTH) -> str:
    """The first of `base`, `base-2`, ... that is a DNS-1123 label of at most `max_length` and not in `taken`
    (a namespace, ServiceAccount or client name a fix may suggest); `base` must be such a label."""
    return next(name for name in numbered(base, max_length) if is_dns1123_label(name) and name not in taken)


def unique_names(
    listed: Sequence[object], *, valid: Callable[[object], bool], free: Callable[[object, set[str]], str]
) -> list[str]:
    """Per listed name, the one its item has once every suggested fix is applied: its own if valid and not listed
    before it, else `free(name, taken)`, free of every listed name and of the replacements before it, so that
    applying any of the fixes, or all of them, lists every name once."""
    taken = {name for name in listed if isinstance(name, str)}
    result: list[str] = []
    for index, name in enumerate(listed):
        if isinstance(name, str) and valid(name) and name not in listed[:index]:
            result.append(name)
        else:
            result.append(free(name, taken))
            taken.add(result[-1])
    return result


def label_like(value: object, max_length: int) -> str | None:
    """What `value` most likely meant as a DNS-1035 label of at most `max_length` (lower case, '-' for what a
    label cannot hold, cut to length), or None when nothing of it is left."""
    if not isinstance(value, str):
        return None
    label = re.sub(r"[^a-z0-9]+", "-", value.lower()).lstrip("-0123456789")[:max_length].rstrip("-")
    return label if is_dns1035_label(label) else None


def namespace_problem(value: object) -> str | None:
    """Why `value` cannot name a namespace, or None."""
    if isinstance(value, str) and is_dns1123_label(value):
        return None
    return "must be a DNS-1123 label (lowercase letters, digits and '-', at most 63)"


def dns1035_problem(value: object, max_length: int) -> str | None:
    """Why `value` cannot name what becomes a Service (a FlinkDeployment, a ServiceAccount's owner), or None."""
    if isinstance(value, str) and is_dns1035_label(value) and len(value) <= max_length:
        return None
    return (
        f"must be a DNS-1035 label of at most {max_length} characters "
        "(lowercase letters, digits and '-', starting with a letter, ending alphanumeric)"
    )


def deployment_name_problem(value: object) -> str | None:
    """Why `value` cannot name a FlinkDeployment (its Services and objects add suffixes up to 63), or None."""
    return dns1035_problem(value, MAX_DEPLOYMENT_NAME_LENGTH)


def client_name_problem(value: object) -> str | None:
    """Why `value` cannot name a REST client (it names its certificate and resources), or None."""
    if isinstance(value, str) and is_dns1123_label(value) and len(value) <= MAX_CLIENT_NAME_LENGTH:
        return None
    return (
        f"must be a DNS-1123 label of at most {MAX_CLIENT_NAME_LENGTH} characters "
        "(it names the certificate and its resources)"
    )


def is_client_name(value: object) -> bool:
    return client_name_problem(value) is None


def free_client_name(name: object, taken: Collection[str]) -> str:
    """What a fix suggests for a listed client `name` that is bad or repeated: a copy of a good one (`ci-2`), or
    what a bad one likely meant (`CI-Bot` -> `ci-bot`, else `ci-bot`), the first that is not in `taken`."""
    if client_name_problem(name) is None:
        base = str(name)
    else:
        base = label_like(name, MAX_CLIENT_NAME_LENGTH) or "ci-bot"
    return free_label(base, taken, MAX_CLIENT_NAME_LENGTH)


def host_problem(value: object) -> str | None:
    """Why `value` cannot be a public host or DNS domain (no scheme, port or path), or None."""
    if isinstance(value, str) and DNS_DOMAIN.match(value):
        return None
    return "must be a DNS name without scheme, port or path"


OPERATOR_TLS_SECRET = "flink-operator-cert"
OPERATOR_PASSWORD_SECRET = "operator-certificate-password"


def labels(instance: str, component: str) -> dict[str, str]:
    """Recommended Kubernetes labels: who made an object, for which deployment, in which role."""
    return {
        "app.kubernetes.io/name": "secure-flink",
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": "pulumi",
    }


PROXY_PORT = 8443
PROXY_ROOT = "/etc/nginx/secure-flink"
PROXY_CONFIG_MOUNT = f"{PROXY_ROOT}/config"
PROXY_TLS_MOUNT = f"{PROXY_ROOT}/tls"
PROXY_AUTH_MOUNT = f"{PROXY_ROOT}/auth"
PROXY_UPSTREAM_MOUNT = f"{PROXY_ROOT}/upstream"
PROXY_TEMP_DIR = "/tmp"
PROXY_SESSION_CACHE_DIR = f"{PROXY_TEMP_DIR}/sso-sessions"
"""A memory-backed volume of its own inside the temporary directory: nginx's copies of oauth2-proxy's answers."""
NGINX_CONF_FILE = "nginx.conf"
UPSTREAM_CA_FILE = "flink-ca.crt"
HTPASSWD_FILE = "htpasswd"
HEALTH_PATH = "/healthz"


def ui_service(deployment: str) -> str:
    """The proxy's Service (and its Route or Ingress)."""
    return f"{deployment}-ui"


def ui_host(deployment: str, domain: str | None) -> str | None:
    return f"{deployment}.{domain}" if domain else None


def ui_path_prefix(deployment: str, host: str | None) -> str:
    """Where the UI is served: at the root of its own host, or under `/<deployment>/` on a shared address."""
    return "/" if host else f"/{deployment}/"


def proxy_dns_names(service: str, namespace: str, host: str | None) -> list[str]:
    """SANs of a proxy certificate: its public host, and the Service names routers and ingresses verify."""
    cluster_names = [
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.cluster.local",
    ]
    return ([host] if host else []) + cluster_names


def flink_pod_labels(deployment: str) -> dict[str, str]:
    """Labels the Flink operator puts on a deployment's pods (both native and standalone mode)."""
    return {"app": deployment}


def flink_service_account(deployment: str) -> str:
    """The ServiceAccount the stack creates for a FlinkDeployment's pods, unless the user names one."""
    return f"{deployment}-flink"


def flink_jobmanager_labels(deployment: str) -> dict[str, str]:
    return {"app": deployment, "component": "jobmanager"}


SUBJECT_ORGANIZATION = "secure-flink"
"""The O of every certificate the stack issues."""


def client_common_name(client: str, issuance: str) -> str:
    """CN of a REST client certificate. The per-issuance id makes a re-added name a new identity, so an
    allow-list by CN (ingress-nginx `auth-tls-match-cn`) never accepts the certificate of a removed client."""
    return f"{client}.{issuance}"


def subject_dn(common_name: str) -> str:
    """The subject of a certificate the stack issued, as nginx prints it (`$ssl_client_s_dn`, RFC 2253: the last
    RDN, the CN, first) and ingress-nginx forwards it (`ssl-client-subject-dn`)."""
    return f"CN={common_name},O={SUBJECT_ORGANIZATION}"


def rest_api_service(deployment: str) -> str:
    """The RestMTLSIngress's objects."""
    return f"{deployment}-api"


def rest_api_host(deployment: str, domain: str) -> str:
    return f"{deployment}-api.{domain}"


def derived_names(deployment: str) -> dict[str, tuple[str, ...]]:
    """Per kind, the names of a namespace's objects that a deployment's name decides: the operator's and
    Flink's (JobManager Deployment and Services, standalone TaskManager Deployment, configuration, pod
    template and HA ConfigMaps) and the stack's own (proxy Services, Ingresses and Routes). Two deployments
    of one namespace must not share any; whether an object exists depends on other settings, so every
    name a deployment may ever use counts."""
    return {
        "Service": (deployment, rest_service(deployment), ui_service(deployment), rest_api_service(deployment)),
        "Deployment": (deployment, f"{deployment}-taskmanager"),
        "ConfigMap": (f"flink-config-{deployment}", f"pod-template-{deployment}", f"{deployment}-cluster-config-map"),
        "Ingress or Route": (ui_service(deployment), rest_api_service(deployment)),
    }


def derived_objects(deployment: str) -> set[tuple[str, str]]:
    """(kind, name) of every object `derived_names` gives: two deployments may share none."""
    return {(kind, name) for kind, of_kind in derived_names(deployment).items() for name in of_kind}


def free_deployment_name(base: str, taken: Collection[tuple[str, str]], accounts: Collection[str] = ()) -> str:
    """The first of `base`, `base-2`, ... that is a deployment name, derives no object in `taken`, and whose
    default ServiceAccount is none of `accounts`; `base` must be a DNS-1035 label."""
    taken = set(taken)
    return next(
        name
        for name in numbered(base, MAX_DEPLOYMENT_NAME_LENGTH)
        if deployment_name_problem(name) is None
        and not derived_objects(name) & taken
        and flink_service_account(name) not in accounts
    )


MAX_COMMON_NAME_LENGTH = 64
"""RFC 5280's upper bound for a certificate's CN; SANs carry the full names."""


def certificate_common_name(dns_names: list[str]) -> str:
    """The CN of a certificate for `dns_names`: the first name that fits in a CN, else the first label of the
    first name (a label is at most 63 characters). Clients verify the SANs, which keep every full name."""
    fitting = [name for name in dns_names if len(name) <= MAX_COMMON_NAME_LENGTH]
    return fitting[0] if fitting else dns_names[0].split(".", 1)[0]


def authority_common_name(scope: str, purpose: str) -> str:
    """`secure-flink <scope> <purpose>` (a stack or a deployment), the scope shortened to keep it within a CN
    (stack names may be longer than a CN holds)."""
    room = MAX_COMMON_NAME_LENGTH - len(f"secure-flink  {purpose}")
    shown = scope if len(scope) <= room else scope[: room - 3] + "..."
    return f"secure-flink {shown} {purpose}"
