"""A rendered SecureFlinkUI laid out for a local nginx: its Deployment's volumes become directories.

The ConfigMap and Secrets are written where the Deployment mounts them (under a scratch root), and
the rendered nginx.conf is used with only what a pod and a laptop differ in rewritten: the mount
prefix, the listen address and the upstream's address (its verified name, proxy_ssl_name, stays).
"""

import base64
import re
from pathlib import Path
from typing import Any

from offline.engine import RunResult
from secure_flink.domain import names
from secure_flink.domain.sso_workload import PORT

DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def _object(result: RunResult, type_: str, name: str) -> dict:
    (match,) = [r for r in result.by_type(type_) if r.outputs["metadata"]["name"] == name]
    return match.inputs


def lay_out_proxy(result: RunResult, component: str, root: Path) -> Path:
    """Write the pod files of `component`'s proxy (a SecureFlinkUI or RestMTLSIngress) under `root`;
    returns the local nginx.conf path."""
    lay_out_pod(result, f"{component}-proxy-deployment", root)
    return root / names.PROXY_CONFIG_MOUNT.lstrip("/") / names.NGINX_CONF_FILE


def lay_out_pod(result: RunResult, deployment_name: str, root: Path) -> dict[str, Any]:
    """Write the ConfigMap and Secret volumes of the rendered Deployment `deployment_name` (its resource name) where
    its first container mounts them, under `root`; returns that container."""
    (deployment,) = [r for r in result.by_type(DEPLOYMENT) if r.name == deployment_name]
    pod = deployment.inputs["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    container: dict[str, Any] = pod["containers"][0]
    for mount in container["volumeMounts"]:
        directory = root / mount["mountPath"].lstrip("/")
        directory.mkdir(parents=True, exist_ok=True)
        volume = volumes[mount["name"]]
        if "configMap" in volume:
            for key, text in _object(result, "kubernetes:core/v1:ConfigMap", volume["configMap"]["name"])[
                "data"
            ].items():
                (directory / key).write_text(text)
        elif "secret" in volume:
            for key, data in _object(result, "kubernetes:core/v1:Secret", volume["secret"]["secretName"])[
                "data"
            ].items():
                (directory / key).write_bytes(base64.b64decode(data))
    return container


def localized_nginx_conf(
    conf: str, *, root: Path, listen_port: int, upstream_port: int, sso_port: int | None = None
) -> str:
    """The rendered nginx.conf pointed at local files, a loopback listener and a loopback upstream (and, with single
    sign-on, oauth2-proxy on loopback at `sso_port`)."""
    # One pass, so a scratch root that itself lies under /tmp is not rewritten twice.
    prefixes = "|".join(re.escape(p) for p in (names.PROXY_ROOT, names.PROXY_TEMP_DIR))
    conf = re.sub(rf"(?<=\s)({prefixes})(?=[/;])", lambda m: f"{root}{m.group(1)}", conf)
    conf = re.sub(rf"listen {names.PROXY_PORT}\b", f"listen 127.0.0.1:{listen_port}", conf)
    if sso_port is not None:
        conf = re.sub(rf"server [a-z0-9-]+-sso\.[a-z0-9-]+\.svc:{PORT};", f"server 127.0.0.1:{sso_port};", conf)
    return re.sub(r"server [a-z0-9.-]+\.svc\.cluster\.local:\d+", f"server 127.0.0.1:{upstream_port}", conf)


def local_proxy_conf(
    result: RunResult, component: str, root: Path, *, listen_port: int, upstream_port: int, sso_port: int | None = None
) -> str:
    """`component`'s proxy laid out under `root`, and its nginx.conf pointed at loopback."""
    conf = lay_out_proxy(result, component, root).read_text()
    return localized_nginx_conf(
        conf, root=root, listen_port=listen_port, upstream_port=upstream_port, sso_port=sso_port
    )


def local_sso_arguments(
    result: RunResult, component: str, root: Path, *, listen_port: int, public_port: int
) -> list[str]:
    """`component`'s (a SecureFlinkUI's) oauth2-proxy laid out under `root`, and its rendered arguments with only
    what a pod and a laptop differ in rewritten: the files under `root`, a loopback listener, and the public port
    (the UI's, behind which the tests run it) in the callback URL."""
    container = lay_out_pod(result, f"{component}-sso-deployment", root)
    local = []
    for argument in container["args"]:
        flag, _, value = argument.partition("=")
        if value.startswith("/etc/"):
            value = f"{root}{value}"
        elif flag == "--https-address":
            value = f"127.0.0.1:{listen_port}"
        elif flag == "--redirect-url":
            scheme, rest = value.split("://", 1)
            host, _, path = rest.partition("/")
            value = f"{scheme}://{host}:{public_port}/{path}"
        local.append(f"{flag}={value}")
    return local


def ingress_identity(result: RunResult, component: str, directory: Path) -> tuple[Path, Path]:
    """The client certificate and key ingress-nginx presents to `component`'s proxy (its `proxy-ssl-secret`),
    as files in `directory`."""
    data = _secret_data(result, f"{component}-proxy-ingress-identity")
    cert, key = directory / f"{component}-ingress.crt", directory / f"{component}-ingress.key"
    cert.write_bytes(data["tls.crt"])
    key.write_bytes(data["tls.key"])
    return cert, key


def _secret_data(result: RunResult, resource_name: str) -> dict[str, bytes]:
    (secret,) = [r for r in result.by_type("kubernetes:core/v1:Secret") if r.name == resource_name]
    return {key: base64.b64decode(value) for key, value in secret.inputs["data"].items()}
