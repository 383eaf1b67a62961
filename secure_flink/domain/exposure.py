"""How a proxy is reached from outside: an OpenShift Route or a Kubernetes Ingress, TLS on every hop."""

import re
from enum import Enum

from . import names
from .nginx import CIPHERS as PROXY_CIPHERS
from .tls_policy import TlsProtocol

ROUTE_API_VERSION = "route.openshift.io/v1"
INGRESS_NGINX = "nginx.ingress.kubernetes.io"


class Exposure(str, Enum):
    ROUTE = "route"
    INGRESS = "ingress"


class Termination(str, Enum):
    PASSTHROUGH = "passthrough"
    REENCRYPT = "reencrypt"


def route_spec(*, service: str, host: str | None, termination: Termination, ca_pem: str) -> dict[str, object]:
    """Route `spec` to a proxy Service.

    passthrough: the router forwards TLS by SNI and the proxy serves its own certificate.
    reencrypt: the router terminates TLS with its own certificate and opens a new TLS connection
    to the proxy, verified against `ca_pem`; without destinationCACertificate it would verify
    against the service-serving CA and answer 503.
    """
    tls: dict[str, object] = {"termination": termination.value, "insecureEdgeTerminationPolicy": "Redirect"}
    if termination is Termination.REENCRYPT:
        tls["destinationCACertificate"] = ca_pem
    spec: dict[str, object] = {
        "to": {"kind": "Service", "name": service, "weight": 100},
        "port": {"targetPort": "https"},
        "tls": tls,
        "wildcardPolicy": "None",
    }
    if host:
        spec["host"] = host
    return spec


# What our own nginx proxies accept (secure_flink/domain/nginx.py serves exactly these).
PROXY_PROTOCOLS = (TlsProtocol.TLS_1_2, TlsProtocol.TLS_1_3)


def ingress_annotations(*, namespace: str, service: str, identity_secret: str, max_body_size: str) -> dict[str, str]:
    """ingress-nginx: HTTPS to the proxy with its certificate verified and the controller's own client certificate
    presented (`identity_secret`: `tls.crt`, `tls.key`, and the CA that signed the proxy as `ca.crt`),
    HTTPS-only for clients.

    The controller does not verify a backend unless asked (proxy-ssl-verify defaults to off), and its
    defaults for the rest do not fit a strict backend: proxy-ssl-protocols defaults to TLSv1.2 alone and
    proxy-ssl-ciphers to OpenSSL's DEFAULT (controller v1.14, internal/ingress/annotations/proxyssl), so every
    setting is written out. `proxy-ssl-name` is the SAN to verify.
    """
    return {
        f"{INGRESS_NGINX}/backend-protocol": "HTTPS",
        f"{INGRESS_NGINX}/proxy-ssl-secret": f"{namespace}/{identity_secret}",
        f"{INGRESS_NGINX}/proxy-ssl-verify": "on",
        f"{INGRESS_NGINX}/proxy-ssl-verify-depth": "2",
        f"{INGRESS_NGINX}/proxy-ssl-name": names.proxy_dns_names(service, namespace, None)[2],
        f"{INGRESS_NGINX}/proxy-ssl-server-name": "on",
        f"{INGRESS_NGINX}/proxy-ssl-protocols": " ".join(p.value for p in PROXY_PROTOCOLS),
        f"{INGRESS_NGINX}/proxy-ssl-ciphers": PROXY_CIPHERS,
        f"{INGRESS_NGINX}/force-ssl-redirect": "true",
        f"{INGRESS_NGINX}/proxy-body-size": max_body_size,
    }


def ingress_spec(
    *, service: str, path: str, host: str | None, ingress_class: str, tls_secret: str, exact: bool = False
) -> dict[str, object]:
    """Ingress `spec` to a proxy Service: at `path` of its host, or of the controller's address when
    there is no host (as in the seed article); `path` and below, or with `exact` that path only."""
    backend = {"service": {"name": service, "port": {"name": "https"}}}
    path_type = "Exact" if exact else "Prefix"
    rule: dict[str, object] = {"http": {"paths": [{"path": path, "pathType": path_type, "backend": backend}]}}
    tls: dict[str, object] = {"secretName": tls_secret}
    if host:
        rule["host"] = host
        tls["hosts"] = [host]
    return {"ingressClassName": ingress_class, "tls": [tls], "rules": [rule]}


def unlogged(annotations: dict[str, str]) -> dict[str, str]:
    """The same Ingress annotations with the controller's access log off for the Ingress's paths (its default log
    line holds the request's query string)."""
    return {**annotations, f"{INGRESS_NGINX}/enable-access-log": "false"}


# The controller refuses an `auth-tls-match-cn` that does not begin with the characters `CN=` (v1.14,
# parser.CommonNameAnnotationValidator), so `^` cannot come first, and RE2 (which it compiles the rest
# with) has no lookbehind. A first alternative that can never match (`CN=` then "no character") keeps
# the prefix; the second alternative is anchored at both ends.
NEVER_MATCHES = r"CN=[^\s\S]"


def client_cn_pattern(common_names: list[str]) -> str:
    """`auth-tls-match-cn` value: exactly the listed CNs. ingress-nginx searches the client's subject DN
    (RFC 2253 order, `CN=<cn>,O=secure-flink`: the CN, the last RDN, comes first) for it unanchored, so
    the pattern anchors both ends itself."""
    alternatives = "|".join(re.escape(name) for name in sorted(common_names))
    return f"{NEVER_MATCHES}|^CN=({alternatives})(,|$)"


def client_certificate_annotations(*, namespace: str, client_ca_secret: str, common_names: list[str]) -> dict[str, str]:
    """ingress-nginx: client certificates required, signed by the client CA (the Secret's `ca.crt`) and on the
    allow-list of CNs (a removed client's certificate stays valid until it expires, so the CN list is what retires
    it). The controller then tells the proxy behind it who called: `ssl-client-subject-dn`, set on every request
    (a client's own header of that name is replaced)."""
    return {
        f"{INGRESS_NGINX}/auth-tls-secret": f"{namespace}/{client_ca_secret}",
        f"{INGRESS_NGINX}/auth-tls-verify-client": "on",
        f"{INGRESS_NGINX}/auth-tls-verify-depth": "1",
        f"{INGRESS_NGINX}/auth-tls-match-cn": client_cn_pattern(common_names),
        f"{INGRESS_NGINX}/auth-tls-pass-certificate-to-upstream": "false",
    }
