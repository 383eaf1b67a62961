"""How a proxy is reached from outside: an OpenShift Route or a Kubernetes Ingress, TLS on every hop."""

import re
from enum import Enum

from . import names
from .nginx import CIPHERS as PROXY_CIPHERS
from .tls_policy import KeyAlgorithm, TlsProtocol, openssl_tls12_suites

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


def _upstream_tls(
    *, ca_secret: str, server_name: str, protocols: tuple[TlsProtocol, ...], ciphers: str
) -> dict[str, str]:
    """ingress-nginx's hop to an HTTPS backend, every setting written out.

    The controller does not verify a backend unless asked (proxy-ssl-verify defaults to off), and its
    defaults for the rest do not fit a strict backend: proxy-ssl-protocols defaults to TLSv1.2 alone and
    proxy-ssl-ciphers to OpenSSL's DEFAULT (controller v1.14, internal/ingress/annotations/proxyssl).
    Flink under REST mTLS speaks only the configured protocol, so a left-out protocols annotation is a 502.
    `proxy-ssl-secret` carries the CA (key ca.crt), and `proxy-ssl-name` the SAN to verify.
    """
    return {
        f"{INGRESS_NGINX}/backend-protocol": "HTTPS",
        f"{INGRESS_NGINX}/proxy-ssl-secret": ca_secret,
        f"{INGRESS_NGINX}/proxy-ssl-verify": "on",
        f"{INGRESS_NGINX}/proxy-ssl-verify-depth": "2",
        f"{INGRESS_NGINX}/proxy-ssl-name": server_name,
        f"{INGRESS_NGINX}/proxy-ssl-server-name": "on",
        f"{INGRESS_NGINX}/proxy-ssl-protocols": " ".join(p.value for p in protocols),
        f"{INGRESS_NGINX}/proxy-ssl-ciphers": ciphers,
    }


def ingress_annotations(*, namespace: str, service: str, identity_secret: str, max_body_size: str) -> dict[str, str]:
    """ingress-nginx: HTTPS to the proxy with its certificate verified and the controller's own client certificate
    presented (`identity_secret`: `tls.crt`, `tls.key`, and the CA that signed the proxy as `ca.crt`),
    HTTPS-only for clients."""
    return {
        **_upstream_tls(
            ca_secret=f"{namespace}/{identity_secret}",
            server_name=names.proxy_dns_names(service, namespace, None)[2],
            protocols=PROXY_PROTOCOLS,
            ciphers=PROXY_CIPHERS,
        ),
        f"{INGRESS_NGINX}/force-ssl-redirect": "true",
        f"{INGRESS_NGINX}/proxy-body-size": max_body_size,
    }


def ingress_spec(
    *, service: str, path: str, host: str | None, ingress_class: str, tls_secret: str
) -> dict[str, object]:
    """Ingress `spec` to a proxy Service: at `path` of its host, or of the controller's address when
    there is no host (as in the seed article)."""
    backend = {"service": {"name": service, "port": {"name": "https"}}}
    rule: dict[str, object] = {"http": {"paths": [{"path": path, "pathType": "Prefix", "backend": backend}]}}
    tls: dict[str, object] = {"secretName": tls_secret}
    if host:
        rule["host"] = host
        tls["hosts"] = [host]
    return {"ingressClassName": ingress_class, "tls": [tls], "rules": [rule]}


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


def rest_mtls_ingress_annotations(
    *,
    namespace: str,
    deployment: str,
    client_ca_secret: str,
    upstream_ca_secret: str,
    common_names: list[str],
    protocol: TlsProtocol,
    key_algorithm: KeyAlgorithm,
    max_body_size: str,
) -> dict[str, str]:
    """ingress-nginx: client certificates required, signed by the client CA and on the allow-list of
    CNs (a removed client's certificate stays valid until it expires, so the CN list is what retires it);
    HTTPS to Flink's REST Service with its certificate verified, over the one protocol Flink speaks."""
    return {
        f"{INGRESS_NGINX}/auth-tls-secret": f"{namespace}/{client_ca_secret}",
        f"{INGRESS_NGINX}/auth-tls-verify-client": "on",
        f"{INGRESS_NGINX}/auth-tls-verify-depth": "1",
        f"{INGRESS_NGINX}/auth-tls-match-cn": client_cn_pattern(common_names),
        f"{INGRESS_NGINX}/auth-tls-pass-certificate-to-upstream": "false",
        **_upstream_tls(
            ca_secret=f"{namespace}/{upstream_ca_secret}",
            server_name=names.rest_dns_names(deployment, namespace)[3],
            protocols=(protocol,),
            ciphers=":".join(openssl_tls12_suites(key_algorithm)),
        ),
        f"{INGRESS_NGINX}/force-ssl-redirect": "true",
        # The controller's default is 1m; jars are uploaded through this Ingress.
        f"{INGRESS_NGINX}/proxy-body-size": max_body_size,
    }


def rest_mtls_ingress_spec(*, deployment: str, host: str, ingress_class: str, tls_secret: str) -> dict[str, object]:
    """Ingress `spec`: the host, with TLS, to Flink's REST Service (ingress-nginx applies auth-tls per host)."""
    backend = {"service": {"name": names.rest_service(deployment), "port": {"number": names.REST_PORT}}}
    return {
        "ingressClassName": ingress_class,
        "tls": [{"hosts": [host], "secretName": tls_secret}],
        "rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}],
    }
